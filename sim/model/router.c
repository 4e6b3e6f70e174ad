/*
 * Routers: which replica of a deployment serves a request. A router sees what a real one sees:
 * its own bookkeeping (what it routed and what came back, with prompt lengths but never output
 * lengths) and replica metrics as last scraped (every scrape_interval; 0: live).
 *
 *   round_robin        replicas in turn;
 *   random             uniform, from the routing RNG stream;
 *   least_outstanding  fewest requests routed and not done; ties go to the first such replica
 *                      after the one chosen last (so equal replicas share load in turn);
 *   central_queue      one FCFS queue for the deployment; a replica with room takes the head
 *                      (an idle replica is found by scanning after the one chosen last). This is
 *                      the M/M/c discipline.
 *   least_tokens       join the shortest queue by tokens: fewest prompt tokens routed and not
 *                      done (ties as least_outstanding);
 *   power_of_two       two distinct replicas drawn uniformly, the one with fewer outstanding
 *                      requests (the first drawn on a tie);
 *   kv_utilization     lowest scraped KV-cache use, then fewest scraped waiting, then in turn;
 *   scored             llm-d style weighted scorers, the highest total wins (ties in turn):
 *                        queue  (max - waiting) / (max - min) over the scraped waiting counts
 *                               (1 when all are equal),
 *                        kv     1 - scraped KV-cache use,
 *                        prefix share of the request's leading prefix blocks that this router
 *                               sent to the replica before, from an approximate index (a
 *                               fixed-size table that overwrites on collision and remembers the
 *                               last 4 replicas per block, as llm-d's approximate prefix scorer);
 *   session_affinity   a request of a session (or, lacking one, of a shared prefix) goes where
 *                      the session's first request went; the first goes as least_outstanding.
 * Every choice is a function of the state and the routing stream only: deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* least_outstanding in O(n/64): level c holds a bitset of the replicas with c requests
 * outstanding; the pick is the first set bit of the lowest non-empty level at or after `next`. */
typedef struct levels {
    uint64_t *bits;    /* nlevels rows of `words` words */
    uint32_t *count;   /* replicas per level */
    uint32_t nlevels, words, min;
    uint32_t total;    /* replicas in some level (the ready ones) */
} levels;

#define PREFIX_WAYS 4
#define PREFIX_MAX_BLOCKS 256

typedef struct prefix_entry {
    uint64_t hash;
    uint32_t rep[PREFIX_WAYS]; /* most recent first; UINT32_MAX: none */
} prefix_entry;

typedef struct scraped {
    uint32_t waiting;
    double kv;                 /* used / total, 0 without a KV cache */
} scraped;

typedef struct session_slot {
    uint64_t key;              /* 0: empty */
    uint32_t rep;
} session_slot;

struct router {
    enum sim_router kind;
    sim_router_params p;
    struct sim *sim;
    replica **replicas;        /* every slot of the pool, ready or not (NULL: never started) */
    uint32_t first;            /* the global index of replicas[0] */
    uint32_t n;
    uint32_t *ready;           /* the slots that take requests, densely (order changes as they come and go) */
    uint32_t *pos;             /* each slot's place in ready[], UINT32_MAX when not ready */
    uint32_t nready;
    req_fifo held;             /* requests that came while no slot was ready (not central_queue) */
    uint32_t next;             /* round-robin position in ready[] / tie-break start slot */
    fs_rng *rng;               /* owned */
    req_fifo queue;            /* central queue */
    levels lv;                 /* least_outstanding, session_affinity */
    int64_t *tokens;           /* least_tokens: prompt tokens outstanding per replica */
    scraped *seen;             /* kv_utilization, scored: the last scrape */
    double *score;             /* scored: scratch */
    prefix_entry *prefix;      /* scored: the prefix index */
    uint64_t prefix_mask;
    session_slot *sessions;    /* session_affinity: open addressing */
    uint64_t nsessions, session_cap;
};

static void level_grow(levels *lv, uint32_t need)
{
    uint32_t n = lv->nlevels ? lv->nlevels : 8;
    while (n <= need) n *= 2;
    lv->bits = fs_xrealloc(lv->bits, (size_t)n * lv->words * sizeof *lv->bits);
    lv->count = fs_xrealloc(lv->count, n * sizeof *lv->count);
    memset(lv->bits + (size_t)lv->nlevels * lv->words, 0, (size_t)(n - lv->nlevels) * lv->words * sizeof *lv->bits);
    memset(lv->count + lv->nlevels, 0, (n - lv->nlevels) * sizeof *lv->count);
    lv->nlevels = n;
}

/* Move replica i from level `from` to level `to` (UINT32_MAX: in none, as a replica that is
 * not ready). */
static void level_move(levels *lv, uint32_t i, uint32_t from, uint32_t to)
{
    if (to != UINT32_MAX && to >= lv->nlevels) level_grow(lv, to);
    uint64_t bit = UINT64_C(1) << (i & 63);
    if (from != UINT32_MAX) {
        lv->bits[(size_t)from * lv->words + i / 64] &= ~bit;
        lv->count[from]--;
        lv->total--;
    }
    if (to != UINT32_MAX) {
        lv->bits[(size_t)to * lv->words + i / 64] |= bit;
        lv->count[to]++;
        lv->total++;
        if (to < lv->min) lv->min = to;
    }
    if (lv->total == 0) {
        lv->min = 0;
        return;
    }
    while (lv->count[lv->min] == 0) lv->min++;
}

/* The first replica of the lowest level at or after position `start`, wrapping around. */
static uint32_t level_pick(const levels *lv, uint32_t start, uint32_t n)
{
    const uint64_t *row = lv->bits + (size_t)lv->min * lv->words;
    uint32_t w = start / 64;
    uint64_t first = row[w] & (~UINT64_C(0) << (start & 63));
    if (first) return w * 64 + (uint32_t)__builtin_ctzll(first);
    for (uint32_t k = 1; k <= lv->words; k++) {
        uint32_t ww = (w + k) % lv->words;
        if (row[ww]) {
            uint32_t i = ww * 64 + (uint32_t)__builtin_ctzll(row[ww]);
            if (i < n) return i;
        }
    }
    FS_ASSERT(0);
    return 0;
}

static bool uses_levels(enum sim_router k)
{
    return k == SIM_ROUTER_LEAST_OUTSTANDING || k == SIM_ROUTER_SESSION_AFFINITY;
}

static bool uses_metrics(enum sim_router k) { return k == SIM_ROUTER_KV_UTILIZATION || k == SIM_ROUTER_SCORED; }

static void scrape_now(router *rt)
{
    for (uint32_t k = 0; k < rt->nready; k++) {
        uint32_t i = rt->ready[k];
        replica *r = rt->replicas[i];
        uint64_t used = 0, total = 0;
        r->ops->kv_usage(r, &used, &total);
        rt->seen[i].waiting = r->ops->waiting(r);
        rt->seen[i].kv = total ? (double)used / (double)total : 0;
    }
}

static void on_scrape(void *ctx, void *obj, uint64_t arg)
{
    (void)ctx;
    (void)arg;
    router *rt = obj;
    scrape_now(rt);
    if (sim_active(rt->sim)) evq_push(sim_queue(rt->sim), sim_now(rt->sim) + rt->p.scrape_interval, on_scrape, rt, 0);
}

router *router_new(enum sim_router kind, const sim_router_params *p, struct sim *s, replica **replicas,
                   uint32_t first, uint32_t n, uint32_t nready, fs_rng *rng)
{
    router *rt = fs_xcalloc(1, sizeof *rt);
    rt->kind = kind;
    rt->p = *p;
    rt->sim = s;
    rt->replicas = replicas;
    rt->first = first;
    rt->n = n;
    rt->rng = rng;
    rt->ready = fs_xmalloc((n ? n : 1) * sizeof *rt->ready);
    rt->pos = fs_xmalloc((n ? n : 1) * sizeof *rt->pos);
    for (uint32_t i = 0; i < n; i++) {
        rt->ready[i] = i;
        rt->pos[i] = i < nready ? i : UINT32_MAX;
    }
    rt->nready = nready;
    if (uses_levels(kind)) {
        rt->lv.words = (n + 63) / 64;
        level_grow(&rt->lv, 0);
        for (uint32_t i = 0; i < nready; i++) level_move(&rt->lv, i, UINT32_MAX, replicas[i]->outstanding);
    }
    if (kind == SIM_ROUTER_LEAST_TOKENS) rt->tokens = fs_xcalloc(n ? n : 1, sizeof *rt->tokens);
    if (uses_metrics(kind)) {
        rt->seen = fs_xcalloc(n ? n : 1, sizeof *rt->seen);
        rt->score = fs_xcalloc(n ? n : 1, sizeof *rt->score);
        scrape_now(rt);
        if (rt->p.scrape_interval > 0) evq_push(sim_queue(s), rt->p.scrape_interval, on_scrape, rt, 0);
    }
    if (kind == SIM_ROUTER_SCORED && rt->p.w_prefix > 0) {
        uint64_t size = 1024;
        while (size < rt->p.prefix_index_blocks) size *= 2;
        rt->prefix = fs_xmalloc(size * sizeof *rt->prefix);
        for (uint64_t i = 0; i < size; i++) {
            rt->prefix[i].hash = 0;
            for (int w = 0; w < PREFIX_WAYS; w++) rt->prefix[i].rep[w] = UINT32_MAX;
        }
        rt->prefix_mask = size - 1;
    }
    return rt;
}

void router_free(router *rt)
{
    if (!rt) return;
    fs_rng_free(rt->rng);
    free(rt->ready);
    free(rt->pos);
    free(rt->lv.bits);
    free(rt->lv.count);
    free(rt->tokens);
    free(rt->seen);
    free(rt->score);
    free(rt->prefix);
    free(rt->sessions);
    free(rt);
}

/* Replica r is one of this router's: its position in rt->replicas. */
static uint32_t local_index(const router *rt, const replica *r) { return r->index - rt->first; }

static bool is_ready(const router *rt, uint32_t i) { return rt->pos[i] != UINT32_MAX; }

static void count_change(router *rt, replica *r, uint32_t from)
{
    uint32_t i = local_index(rt, r);
    if (uses_levels(rt->kind) && is_ready(rt, i)) level_move(&rt->lv, i, from, r->outstanding);
}

/* Hand q to replica r's local queue (the caller kicks r). */
static void assign(router *rt, replica *r, sim_req *q)
{
    q->replica = r->index;
    r->outstanding++;
    count_change(rt, r, r->outstanding - 1);
    if (rt->tokens) rt->tokens[local_index(rt, r)] += q->r.input_tokens;
    r->ops->submit(r, q);
}

void router_release(router *rt, replica *r, const sim_req *q)
{
    r->outstanding--;
    count_change(rt, r, r->outstanding + 1);
    if (rt->tokens) rt->tokens[local_index(rt, r)] -= q->r.input_tokens;
}

/* ---- the policies that look at every replica ---- */

/* The ready replica with the least key; ties go to the first at or after slot rt->next. */
static uint32_t least_by(const router *rt, double (*key)(const router *, uint32_t))
{
    uint32_t best = UINT32_MAX;
    double kb = 0;
    for (uint32_t k = 0; k < rt->n; k++) {
        uint32_t i = (rt->next + k) % rt->n;
        if (!is_ready(rt, i)) continue;
        double v = key(rt, i);
        if (best == UINT32_MAX || v < kb) best = i, kb = v;
    }
    return best;
}

static double key_tokens(const router *rt, uint32_t i) { return (double)rt->tokens[i]; }
/* kv_utilization: the lowest KV use, then the fewest waiting, then the first at or after next */
static uint32_t least_kv(const router *rt)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t k = 0; k < rt->n; k++) {
        uint32_t i = (rt->next + k) % rt->n;
        if (!is_ready(rt, i)) continue;
        const scraped *a = &rt->seen[i];
        if (best == UINT32_MAX) {
            best = i;
            continue;
        }
        const scraped *b = &rt->seen[best];
        if (a->kv < b->kv || (a->kv == b->kv && a->waiting < b->waiting)) best = i;
    }
    return best;
}
static double key_score(const router *rt, uint32_t i) { return -rt->score[i]; }

/* The request's leading prefix blocks: its chain, or its shared prefix in prefix_block tokens. */
static int32_t prefix_blocks(const router *rt, const wl_request *r, uint64_t *out)
{
    int32_t n = 0;
    if (r->nchain > 0) {
        for (; n < r->nchain && n < PREFIX_MAX_BLOCKS; n++) out[n] = r->chain[n];
    } else if (r->prefix_key && rt->p.prefix_block > 0) { /* within the prompt: the output is unknown */
        int32_t m = (r->prefix_tokens < r->input_tokens ? r->prefix_tokens : r->input_tokens) / rt->p.prefix_block;
        for (; n < m && n < PREFIX_MAX_BLOCKS; n++) out[n] = fs_hash64(r->prefix_key, (uint64_t)n) | 1;
    }
    return n;
}

static prefix_entry *prefix_slot(const router *rt, uint64_t h) { return &rt->prefix[fs_hash64(h, 0) & rt->prefix_mask]; }

/* Score every replica; the prefix scorer gives each the share of leading blocks it holds. */
static void score_all(router *rt, const wl_request *r, const uint64_t *blocks, int32_t nb)
{
    uint32_t minq = UINT32_MAX, maxq = 0;
    if (rt->p.scrape_interval == 0) scrape_now(rt);
    for (uint32_t k = 0; k < rt->nready; k++) {
        uint32_t i = rt->ready[k];
        if (rt->seen[i].waiting < minq) minq = rt->seen[i].waiting;
        if (rt->seen[i].waiting > maxq) maxq = rt->seen[i].waiting;
    }
    for (uint32_t k = 0; k < rt->nready; k++) {
        uint32_t i = rt->ready[k];
        double q = maxq == minq ? 1 : (double)(maxq - rt->seen[i].waiting) / (double)(maxq - minq);
        rt->score[i] = rt->p.w_queue * q + rt->p.w_kv * (1 - rt->seen[i].kv);
    }
    (void)r;
    if (!rt->prefix || nb == 0) return;
    /* candidates: the replicas holding block 0, kept while they hold each next block */
    uint32_t cand[PREFIX_WAYS];
    int32_t depth[PREFIX_WAYS], nc = 0;
    const prefix_entry *e = prefix_slot(rt, blocks[0]);
    if (e->hash != blocks[0]) return;
    for (int w = 0; w < PREFIX_WAYS; w++)
        if (e->rep[w] != UINT32_MAX) cand[nc] = e->rep[w], depth[nc++] = 1;
    for (int32_t k = 1; k < nb; k++) {
        e = prefix_slot(rt, blocks[k]);
        bool any = false;
        for (int c = 0; c < nc; c++) {
            if (depth[c] != k) continue;
            for (int w = 0; e->hash == blocks[k] && w < PREFIX_WAYS; w++)
                if (e->rep[w] == cand[c]) depth[c]++, any = true;
        }
        if (!any) break;
    }
    for (int c = 0; c < nc; c++) rt->score[cand[c]] += rt->p.w_prefix * depth[c] / nb;
}

/* Remember that the request's blocks went to replica pick. */
static void prefix_record(router *rt, const uint64_t *blocks, int32_t nb, uint32_t pick)
{
    for (int32_t k = 0; k < nb; k++) {
        prefix_entry *e = prefix_slot(rt, blocks[k]);
        if (e->hash != blocks[k]) { /* a new block overwrites whatever was there */
            e->hash = blocks[k];
            for (int w = 0; w < PREFIX_WAYS; w++) e->rep[w] = UINT32_MAX;
        }
        int w = 0;
        while (w < PREFIX_WAYS - 1 && e->rep[w] != pick && e->rep[w] != UINT32_MAX) w++;
        for (; w > 0; w--) e->rep[w] = e->rep[w - 1];
        e->rep[0] = pick;
    }
}

/* session_affinity: the replica a session went to, or UINT32_MAX (and a slot to fill). */
static session_slot *session_find(router *rt, uint64_t key)
{
    if (rt->nsessions * 2 >= rt->session_cap) { /* grow, rehashing */
        uint64_t cap = rt->session_cap ? rt->session_cap * 2 : 1024;
        session_slot *old = rt->sessions, *nw = fs_xcalloc(cap, sizeof *nw);
        for (uint64_t i = 0; i < rt->session_cap; i++) {
            if (!old[i].key) continue;
            uint64_t j = fs_hash64(old[i].key, 1) & (cap - 1);
            while (nw[j].key) j = (j + 1) & (cap - 1);
            nw[j] = old[i];
        }
        free(old);
        rt->sessions = nw;
        rt->session_cap = cap;
    }
    uint64_t j = fs_hash64(key, 1) & (rt->session_cap - 1);
    while (rt->sessions[j].key && rt->sessions[j].key != key) j = (j + 1) & (rt->session_cap - 1);
    return &rt->sessions[j];
}

void router_route(router *rt, sim_req *q)
{
    uint32_t n = rt->n, pick = 0;
    if (rt->nready == 0 && rt->kind != SIM_ROUTER_CENTRAL_QUEUE) { /* held until a replica is ready */
        q->held_since = sim_now(rt->sim);
        fifo_push(&rt->held, q);
        return;
    }
    switch (rt->kind) {
    case SIM_ROUTER_ROUND_ROBIN:
        if (rt->next >= rt->nready) rt->next = 0;
        pick = rt->ready[rt->next];
        rt->next = (rt->next + 1) % rt->nready;
        break;
    case SIM_ROUTER_RANDOM:
        pick = rt->ready[gsl_rng_uniform_int(rt->rng, rt->nready)];
        break;
    case SIM_ROUTER_LEAST_OUTSTANDING:
        pick = level_pick(&rt->lv, rt->next, n);
        rt->next = (pick + 1) % n;
        break;
    case SIM_ROUTER_LEAST_TOKENS:
        pick = least_by(rt, key_tokens);
        rt->next = (pick + 1) % n;
        break;
    case SIM_ROUTER_POWER_OF_TWO: {
        uint32_t m = rt->nready;
        if (m == 1) {
            pick = rt->ready[0];
            break;
        }
        uint32_t a = (uint32_t)gsl_rng_uniform_int(rt->rng, m), b = (uint32_t)gsl_rng_uniform_int(rt->rng, m - 1);
        if (b >= a) b++;
        a = rt->ready[a], b = rt->ready[b];
        pick = rt->replicas[b]->outstanding < rt->replicas[a]->outstanding ? b : a;
        break;
    }
    case SIM_ROUTER_KV_UTILIZATION:
        if (rt->p.scrape_interval == 0) scrape_now(rt);
        pick = least_kv(rt);
        rt->next = (pick + 1) % n;
        break;
    case SIM_ROUTER_SCORED: {
        uint64_t blocks[PREFIX_MAX_BLOCKS];
        int32_t nb = prefix_blocks(rt, &q->r, blocks);
        score_all(rt, &q->r, blocks, nb);
        pick = least_by(rt, key_score);
        rt->next = (pick + 1) % n;
        if (rt->prefix) prefix_record(rt, blocks, nb, pick);
        break;
    }
    case SIM_ROUTER_SESSION_AFFINITY: {
        uint64_t key = q->r.session ? q->r.session : q->r.prefix_key;
        session_slot *slot = key ? session_find(rt, key) : NULL;
        if (slot && slot->key && is_ready(rt, slot->rep)) {
            pick = slot->rep;
            break;
        }
        pick = level_pick(&rt->lv, rt->next, n); /* new, or its replica is gone: pick again */
        rt->next = (pick + 1) % n;
        if (slot) {
            rt->nsessions += !slot->key;
            slot->key = key;
            slot->rep = pick;
        }
        break;
    }
    case SIM_ROUTER_CENTRAL_QUEUE:
        if (rt->queue.n == 0) {
            for (uint32_t k = 0; k < rt->nready; k++) {
                uint32_t j = (rt->next + k) % rt->nready, i = rt->ready[j];
                if (rt->replicas[i]->ops->free_slots(rt->replicas[i]) > 0) {
                    rt->next = (j + 1) % rt->nready;
                    pick = i;
                    goto dispatch;
                }
            }
        }
        fifo_push(&rt->queue, q);
        return;
    }
dispatch:
    assign(rt, rt->replicas[pick], q);
    rt->replicas[pick]->ops->kick(rt->replicas[pick]);
}

void router_on_capacity(router *rt, replica *r)
{
    if (rt->kind != SIM_ROUTER_CENTRAL_QUEUE || rt->queue.n == 0 || !is_ready(rt, local_index(rt, r))) return;
    uint32_t room = r->ops->free_slots(r);
    if (room == 0) return;
    while (room-- > 0 && rt->queue.n > 0) assign(rt, r, fifo_pop(&rt->queue));
    r->ops->kick(r);
}

uint32_t router_queued(const router *rt) { return (uint32_t)(rt->queue.n + rt->held.n); }

uint32_t router_ready(const router *rt) { return rt->nready; }

bool router_withdraw(router *rt, sim_req *q) { return fifo_remove(&rt->held, q) || fifo_remove(&rt->queue, q); }

void router_set_ready(router *rt, replica *r, bool ready)
{
    uint32_t i = local_index(rt, r);
    if (ready == is_ready(rt, i)) return;
    if (ready) {
        rt->pos[i] = rt->nready;
        rt->ready[rt->nready++] = i;
        if (uses_levels(rt->kind)) level_move(&rt->lv, i, UINT32_MAX, r->outstanding);
        if (rt->seen) { /* what a scrape would show of a replica that just started */
            rt->seen[i].waiting = r->ops->waiting(r);
            rt->seen[i].kv = 0;
        }
        /* what waited for a replica goes now, in arrival order */
        req_fifo held = rt->held;
        rt->held = (req_fifo){0};
        sim_req *q;
        while ((q = fifo_pop(&held)) != NULL) {
            sim_held(rt->sim, q, sim_now(rt->sim) - q->held_since);
            router_route(rt, q);
        }
        router_on_capacity(rt, r);
    } else {
        uint32_t k = rt->pos[i], last = rt->ready[--rt->nready];
        rt->ready[k] = last;
        rt->pos[last] = k;
        rt->pos[i] = UINT32_MAX;
        if (uses_levels(rt->kind)) level_move(&rt->lv, i, r->outstanding, UINT32_MAX);
    }
}
