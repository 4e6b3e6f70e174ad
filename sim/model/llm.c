/*
 * The LLM serving engine: one replica behaving as vLLM V1 does.
 *
 * Each iteration the scheduler forms a batch within max_num_batched_tokens (the token budget)
 * and max_num_seqs: first the running requests in order (a decode takes one token; a partially
 * prefilled prompt takes what is left of it, up to the budget), then waiting requests in order
 * (FCFS, or by priority). A waiting request is admitted only when blocks for its whole sequence
 * are free (vLLM's scheduler_reserve_full_isl); after a prefix-cache hit it computes only the
 * rest. When a running request needs a block and none is free, the newest running request is
 * preempted (its blocks freed, its progress dropped, back to the front of the waiting queue) until
 * the block can be had; a step that preempted admits nobody. Tokens are emitted at the end of
 * the iteration that produced them; the iteration that finishes a prompt emits the first token.
 *
 * Speed: a decode-only batch that admits nobody stays the same until a request finishes, a block
 * runs out or a request arrives. Such a run of iterations is computed in closed form
 * (decoderun.h), with one wake-up event at its end; an arrival cuts the run at the iteration
 * boundary after it. Iteration times are exact (fx, steptime.h) and the replica's clock carries
 * the fraction of a nanosecond from one iteration to the next, so a run and the same iterations
 * stepped one event at a time give the same integer-nanosecond timestamps (fast_forward = false
 * forces the latter; tests compare the two).
 *
 * Power: every iteration adds its activity-weighted GPU seconds (u x step, gpu/power.h) to the
 * replica's active_s, a step as it starts, a run's iterations when they are applied. Nothing
 * reads them back: timing does not depend on them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kvcache.h"
#include "power.h"
#include "sim_internal.h"

#define LLM_MAX_BLOCK 256 /* largest block_size (vLLM offers 8 to 128) */
#define FX_S (1e-9 / (double)((int64_t)1 << ST_FRAC)) /* seconds per fx (steptime.h) */

typedef struct seq {
    sim_req *q;
    int32_t prompt, out;        /* prompt tokens; tokens to generate (clamped to the context) */
    int32_t generated;          /* tokens emitted so far */
    int32_t computed;           /* tokens whose KV is in the cache */
    int32_t sched;              /* tokens scheduled in the current iteration */
    int32_t nblocks;            /* KV blocks held */
    int32_t nids;               /* the leading ones with an identity (ids[]): shared content, or
                                   its own blocks taken back after a preemption; the rest are
                                   anonymous (see kvcache.h) */
    int32_t *ids;               /* ids[i] of block i; after a preemption, handles (ids, gens) to */
    uint32_t *gens;             /* the blocks it may take back, for i < nkept (-1: none) */
    int32_t cap, nkept;
    int32_t nshared;            /* leading blocks of shared content (0 without prefix caching) */
    int32_t hashed;             /* those registered in the prefix cache */
    fs_time last_token;
    struct seq *prev, *next;    /* waiting queue, or the free list */
} seq;

enum state { IDLE, STEP, RUN };

typedef struct llm {
    replica base;
    sim_llm p;
    enum llm_role role;
    st_model model;
    kv_pool kv;
    int32_t usable_blocks;      /* all but vLLM's reserved null block */

    seq **running;
    int32_t nrun, run_cap;
    seq *wait_head, *wait_tail;
    uint32_t nwait;
    seq *free_seqs;

    enum state state;
    fs_time iter_start;
    uint32_t frac, end_frac;    /* the exact clock's fx past the current ns: at the start of the
                                   iteration (or run) in progress, and at the end of a STEP */
    evq_handle wake;
    bool preempted_this_step;
    fs_time step_end;           /* the end of the STEP in progress */

    /* a run of decode-only iterations: the first run_len of those planned */
    decode_run run;
    int32_t run_len, run_D;
    double run_ctx;                       /* its total decode context in its first iteration */
    pw_prepared run_power;                /* its work for the power model */
    int32_t residue_head[LLM_MAX_BLOCK];  /* per residue of computed mod block_size: */
    int32_t *residue_next, residue_cap;   /* running indices, in running order */
    bool new_head;                        /* the last submitted request heads the waiting queue */
    st_prepared prep;                     /* the last decode-only shape prepared, for prep_D decodes */
    int32_t prep_D;
    pw_weights power_w;                   /* the power model's activity weights */
    pw_prepared power_last;               /* its work of the last decode-only shape, for power_D decodes */
    int32_t power_D;
    pw_model power;                       /* the power model: work per unit of a batch */
} llm;

static inline int32_t num_tokens(const seq *s) { return s->prompt + s->generated; }
static inline int32_t blocks_for(const llm *e, int32_t tokens) { return (tokens + e->p.block_size - 1) / e->p.block_size; }

/* ---- block hashes: a request's blocks share a chain with others for its shared prefix, then
 * are its own ---- */

/* Block i of a sequence holds tokens [i x bs, (i + 1) x bs). Within the shared part its content
 * is named by the prefix key, or by the chain hash that covers its last token (a chain hash
 * stands for everything before it too); past it, by the request itself. */
static uint64_t block_hash(const llm *e, const seq *s, int32_t i)
{
    const wl_request *r = &s->q->r;
    uint64_t h;
    if (i >= s->nshared) h = fs_hash64(sim_req_uid(s->q), (uint64_t)i);
    else if (r->nchain > 0) h = fs_hash64(r->chain[((int64_t)(i + 1) * e->p.block_size - 1) / r->chain_tokens], (uint64_t)i);
    else h = fs_hash64(r->prefix_key, (uint64_t)i);
    return h ? h : 1; /* 0 means "no hash" */
}

/* Leading blocks of shared content: whole blocks within the prefix or the chain. */
static int32_t shared_blocks(const llm *e, const wl_request *r)
{
    if (!e->p.prefix_caching) return 0;
    if (r->nchain > 0) {
        int64_t covered = (int64_t)r->nchain * r->chain_tokens;
        return (int32_t)((covered < r->input_tokens ? covered : r->input_tokens) / e->p.block_size);
    }
    return r->prefix_key ? r->prefix_tokens / e->p.block_size : 0;
}

/* The block holding the content of a sequence's block i, or -1: shared content through the
 * table, its own content in the block it had before a preemption. */
static int32_t cached_block(const llm *e, const seq *s, int32_t i)
{
    uint64_t h = block_hash(e, s, i);
    if (i < s->nshared) return kv_lookup(&e->kv, h);
    return i < s->nkept && s->ids[i] >= 0 && kv_holds(&e->kv, s->ids[i], s->gens[i], h) ? s->ids[i] : -1;
}

/* Register the shared blocks that are now full of computed tokens. (Private blocks get their tag
 * only if the request is preempted: before that nobody could ask for them.) */
static inline void register_full(llm *e, seq *s)
{
    if (s->hashed >= s->nshared) return;
    int32_t full = s->computed / e->p.block_size, ns = s->nshared;
    if (full > ns) full = ns;
    if (full > s->nids) full = s->nids;
    for (; s->hashed < full; s->hashed++) kv_register(&e->kv, s->ids[s->hashed], block_hash(e, s, s->hashed), true);
}

static void reserve_ids(seq *s, int32_t n)
{
    if (n <= s->cap) return;
    size_t cap = (size_t)s->cap;
    s->ids = fs_xgrow(s->ids, &cap, (size_t)n, sizeof *s->ids);
    s->gens = fs_xrealloc(s->gens, cap * sizeof *s->gens);
    s->cap = (int32_t)cap;
}

/* Take blocks from the pool until the sequence holds `upto`: identified ones for its shared
 * positions, anonymous ones after (taken in index order, as vLLM takes them). */
static void grow_blocks(llm *e, seq *s, int32_t upto)
{
    int32_t ns = s->nshared;
    if (s->nblocks < ns && s->nblocks < upto) {
        int32_t last = upto < ns ? upto : ns;
        reserve_ids(s, last);
        for (; s->nblocks < last; s->nblocks++) s->ids[s->nids++] = kv_take_id(&e->kv);
    }
    if (upto > s->nblocks) {
        kv_take(&e->kv, upto - s->nblocks);
        s->nblocks = upto;
    }
}

/* Free a sequence's blocks, tail first (so its tail is evicted first), as vLLM does. A finished
 * request's private content is dead; a preempted one names its full private blocks and keeps
 * handles to them, to take them back if they are still there when it returns. */
static void free_blocks(llm *e, seq *s, bool preempted)
{
    int32_t ns = s->nshared, full = preempted && e->p.prefix_caching ? s->computed / e->p.block_size : 0;
    if (preempted) reserve_ids(s, s->nblocks);
    int32_t anon = 0, i = s->nblocks;
    if (full <= s->nids) { /* the anonymous tail holds no content worth a name: one run */
        anon = s->nblocks - s->nids;
        if (preempted)
            for (int32_t k = s->nids; k < s->nblocks; k++) s->ids[k] = -1;
        i = s->nids;
    }
    while (i-- > 0) {
        if (i >= s->nids) {
            if (i < full) { /* its own content: give it a name, keep a handle */
                kv_put(&e->kv, anon);
                anon = 0;
                int32_t id = kv_name(&e->kv, block_hash(e, s, i));
                s->ids[i] = id;
                s->gens[i] = e->kv.blocks[id].gen;
                kv_put_id(&e->kv, id);
            } else {
                if (preempted) s->ids[i] = -1;
                anon++;
            }
            continue;
        }
        kv_put(&e->kv, anon);
        anon = 0;
        if (preempted) s->gens[i] = e->kv.blocks[s->ids[i]].gen;
        if (i < ns || preempted) kv_put_id(&e->kv, s->ids[i]);
        else kv_put_id_dead(&e->kv, s->ids[i]);
    }
    kv_put(&e->kv, anon);
    s->nkept = preempted ? s->nblocks : 0;
    s->nblocks = s->nids = s->hashed = 0;
}

/* ---- queues ---- */

static seq *seq_new(llm *e, sim_req *q)
{
    seq *s = e->free_seqs;
    if (s) e->free_seqs = s->next;
    else s = fs_xcalloc(1, sizeof *s);
    int32_t *ids = s->ids, cap = s->cap;
    uint32_t *gens = s->gens;
    memset(s, 0, sizeof *s);
    s->ids = ids;
    s->gens = gens;
    s->cap = cap;
    s->q = q;
    s->prompt = q->r.input_tokens;
    s->out = q->r.output_tokens;
    s->nshared = shared_blocks(e, &q->r);
    if (s->prompt + s->out > e->p.max_model_len) s->out = e->p.max_model_len - s->prompt; /* stops at the context */
    q->r.output_tokens = s->out;
    s->generated = q->generated;   /* a decode replica continues after the prefill replica's token */
    s->last_token = q->last_token;
    return s;
}

static void seq_free(llm *e, seq *s)
{
    s->next = e->free_seqs;
    e->free_seqs = s;
}

static bool before(const llm *e, const seq *a, const seq *b)
{
    if (!e->p.priority) return false;
    if (a->q->r.priority != b->q->r.priority) return a->q->r.priority < b->q->r.priority;
    return a->q->r.arrival < b->q->r.arrival;
}

/* Append in FCFS order, or insert by (priority, arrival) under the priority policy. */
static void wait_add(llm *e, seq *s)
{
    seq *at = e->wait_tail;
    while (at && before(e, s, at)) at = at->prev;
    s->prev = at;
    s->next = at ? at->next : e->wait_head;
    if (s->next) s->next->prev = s;
    else e->wait_tail = s;
    if (at) at->next = s;
    else e->wait_head = s;
    e->nwait++;
}

static void wait_prepend(llm *e, seq *s)
{
    s->prev = NULL;
    s->next = e->wait_head;
    if (e->wait_head) e->wait_head->prev = s;
    else e->wait_tail = s;
    e->wait_head = s;
    e->nwait++;
}

static seq *wait_pop(llm *e)
{
    seq *s = e->wait_head;
    e->wait_head = s->next;
    if (e->wait_head) e->wait_head->prev = NULL;
    else e->wait_tail = NULL;
    e->nwait--;
    return s;
}

static void run_push(llm *e, seq *s)
{
    if (e->nrun == e->run_cap) {
        size_t cap = (size_t)e->run_cap;
        e->running = fs_xgrow(e->running, &cap, (size_t)e->nrun + 1, sizeof *e->running);
        e->run_cap = (int32_t)cap;
    }
    e->running[e->nrun++] = s;
}

/* ---- scheduling one iteration ---- */

/* Take running[i] out of the running set, keeping the others in order, and free its blocks. */
static seq *run_remove(llm *e, int32_t i, bool preempted)
{
    seq *s = e->running[i];
    memmove(&e->running[i], &e->running[i + 1], (size_t)(e->nrun - i - 1) * sizeof *e->running);
    e->nrun--;
    free_blocks(e, s, preempted);
    return s;
}

static void preempt(llm *e, int32_t victim)
{
    seq *s = run_remove(e, victim, true);
    s->computed = 0;
    s->sched = 0;
    s->q->preemptions++;
    wait_prepend(e, s);
    e->preempted_this_step = true;
}

/* Which running request to preempt: the last one (FCFS), or the lowest priority, latest arrival. */
static int32_t victim_index(const llm *e)
{
    if (!e->p.priority) return e->nrun - 1;
    int32_t v = 0;
    for (int32_t i = 1; i < e->nrun; i++) {
        const wl_request *a = &e->running[i]->q->r, *b = &e->running[v]->q->r;
        if (a->priority > b->priority || (a->priority == b->priority && a->arrival >= b->arrival)) v = i;
    }
    return v;
}

/* The prefix-cache hit of a waiting sequence: whole blocks, at most num_tokens - 1 tokens. */
static int32_t cache_hit_blocks(const llm *e, const seq *s)
{
    if (!e->p.prefix_caching) return 0;
    int32_t max = (num_tokens(s) - 1) / e->p.block_size, n = 0;
    while (n < max && cached_block(e, s, n) >= 0) n++;
    return n;
}

/* Blocks the hit would take out of the free queue (cached blocks nobody uses). */
static int32_t hits_in_free_queue(const llm *e, const seq *s, int32_t hit)
{
    int32_t n = 0;
    for (int32_t i = 0; i < hit; i++) n += e->kv.blocks[cached_block(e, s, i)].ref == 0;
    return n;
}

/* Form the next batch; fills b. Returns false when there is nothing to run. */
static bool schedule(llm *e, st_batch *b)
{
    int32_t budget = e->p.max_num_batched_tokens, bs = e->p.block_size;
    memset(b, 0, sizeof *b);
    e->preempted_this_step = false;
    for (int32_t i = 0; i < e->nrun && budget > 0; i++) {
        seq *s = e->running[i];
        int32_t n = num_tokens(s) - s->computed;
        if (n > budget) n = budget;
        int32_t need = blocks_for(e, s->computed + n) - s->nblocks;
        bool self = false;
        while (need > kv_free_count(&e->kv)) {
            int32_t v = victim_index(e);
            self = v == i;
            if (e->running[v]->sched > 0) budget += e->running[v]->sched; /* give its tokens back */
            preempt(e, v);
            if (self) break;
            if (v < i) i--;
        }
        if (self) break;
        grow_blocks(e, s, s->nblocks + need);
        s->sched = n;
        budget -= n;
    }
    if (!e->preempted_this_step) {
        while (e->wait_head && budget > 0 && e->nrun < e->p.max_num_seqs) {
            seq *s = e->wait_head;
            int32_t hit = cache_hit_blocks(e, s);
            int32_t need = blocks_for(e, num_tokens(s)) - hit + hits_in_free_queue(e, s, hit);
            if (need > kv_free_count(&e->kv)) break; /* the whole sequence must fit */
            int32_t n = num_tokens(s) - (s->q->kv_tokens > hit * bs ? s->q->kv_tokens : hit * bs);
            if (n > budget) {
                if (!e->p.chunked_prefill) break;
                n = budget;
            }
            wait_pop(e);
            reserve_ids(s, hit);
            for (int32_t k = 0; k < hit; k++) { /* writes ids[k]: handles past k are still read */
                int32_t blk = cached_block(e, s, k);
                kv_touch(&e->kv, blk);
                s->ids[k] = blk;
            }
            s->nblocks = s->nids = hit;
            s->nkept = 0;
            s->hashed = hit < s->nshared ? hit : s->nshared;
            s->computed = hit * bs;
            if (s->q->kv_tokens > s->computed) { /* KV that came from a prefill replica */
                s->computed = s->q->kv_tokens;
                s->q->kv_tokens = 0;
            }
            if (s->q->start < 0) s->q->start = sim_now(e->base.sim);
            if (s->q->preemptions == 0) s->q->cached_tokens = hit * bs;
            grow_blocks(e, s, blocks_for(e, s->computed + n));
            s->sched = n;
            budget -= n;
            run_push(e, s);
        }
    }
    /* summarise the batch */
    for (int32_t i = 0; i < e->nrun; i++) {
        seq *s = e->running[i];
        if (s->sched == 0) continue;
        b->seqs++;
        if (s->computed + s->sched == num_tokens(s)) b->logits++;
        if (s->sched == 1 && s->computed + 1 == num_tokens(s)) {
            b->decodes++;
            b->decode_ctx += s->computed + 1;
        } else {
            double c = s->sched, o = s->computed;
            b->prefill_tokens += s->sched;
            b->prefill_pairs += c * o + c * (c + 1) / 2;
            b->prefill_kv += o + c;
        }
    }
    return b->seqs > 0;
}

/* ---- the end of an iteration ---- */

static void finish(llm *e, int32_t i, fs_time t)
{
    seq *s = run_remove(e, i, false);
    sim_req *q = s->q;
    seq_free(e, s);
    sim_done(e->base.sim, q, t);
}

/* A prefill replica hands a request on once its first token is out. */
static void hand_off(llm *e, int32_t i, fs_time t)
{
    seq *s = run_remove(e, i, false);
    sim_req *q = s->q;
    q->generated = s->generated;
    q->last_token = s->last_token;
    seq_free(e, s);
    sim_handoff(e->base.sim, q, t);
}

/* A request whose client gave up is aborted at the iteration boundary, as vLLM aborts a request
 * whose client disconnected: its blocks are freed (shared ones stay cached). */
static void drop_abandoned(llm *e, int32_t i, fs_time t)
{
    seq *s = run_remove(e, i, false);
    sim_req *q = s->q;
    seq_free(e, s);
    sim_abandon(e->base.sim, q, t);
}

/* Finish, in running order, the requests that have emitted all their tokens (and, on a prefill
 * replica, hand on those that emitted their first); drop those whose client gave up. */
static void finish_done(llm *e, fs_time t)
{
    for (int32_t i = 0; i < e->nrun;) {
        seq *s = e->running[i];
        if (s->q->abandoned) drop_abandoned(e, i, t);
        else if (s->generated >= s->out) finish(e, i, t);
        else if (e->role == LLM_PREFILL && s->generated > 0) hand_off(e, i, t);
        else i++;
    }
}

/* Apply the results of the iteration that ends at t: computed tokens, emitted tokens,
 * finished requests. */
static void complete_iteration(llm *e, fs_time t)
{
    for (int32_t i = 0; i < e->nrun; i++) {
        seq *s = e->running[i];
        if (s->sched == 0) continue;
        s->computed += s->sched;
        s->sched = 0;
        register_full(e, s);
        if (s->computed < num_tokens(s) || s->q->abandoned) continue; /* a prompt chunk: no token yet */
        if (s->generated == 0) sim_first_token(e->base.sim, s->q, t);
        else sim_itl(e->base.sim, t - s->last_token, 1);
        s->generated++;
        s->last_token = t;
    }
    finish_done(e, t);
}

/* ---- runs of decode-only iterations ---- */

static void on_wake(void *ctx, void *obj, uint64_t arg);

/* Can the batch just scheduled repeat unchanged? Decode-only, nobody admitted or preempted, and
 * every shared block full already: the blocks a run takes are private (anonymous), and no shared
 * block gets its name in the middle of a run (a step names it in the iteration that fills it,
 * before later iterations' evictions). A session turn whose shared content runs into its output
 * is stepped until it is past it. */
static bool can_run(const llm *e, const st_batch *b, bool admitted)
{
    /* time-sliced: each step's speed depends on the co-tenants busy when it starts */
    if (!(e->p.fast_forward && !e->base.share && e->role != LLM_PREFILL && !admitted && !e->preempted_this_step &&
          b->prefill_tokens == 0 && b->decodes == e->nrun && b->decodes > 0))
        return false;
    for (int32_t i = 0; i < e->nrun; i++) /* and no shared block still filling: it is named when full */
        if (e->running[i]->nshared > e->running[i]->computed / e->p.block_size) return false;
    return true;
}

static void residue_index(llm *e)
{
    int32_t bs = e->p.block_size;
    for (int32_t r = 0; r < bs; r++) e->residue_head[r] = -1;
    for (int32_t i = e->nrun; i-- > 0;) { /* build lists in running order */
        int32_t r = e->running[i]->computed % bs;
        e->residue_next[i] = e->residue_head[r];
        e->residue_head[r] = i;
    }
}

static int32_t residue_count(const llm *e, int32_t r)
{
    int32_t n = 0;
    for (int32_t i = e->residue_head[r]; i >= 0; i = e->residue_next[i]) n++;
    return n;
}

/* The power model's work of a batch. A decode-only batch's depends on its size alone: the last
 * one is kept, so that stepping decode after decode costs a comparison. */
static pw_prepared power_shape(llm *e, const st_batch *b)
{
    if (b->prefill_tokens > 0) {
        pw_prepared p;
        pw_prepare(&e->power, b, &p);
        return p;
    }
    if (e->power_D != b->decodes) {
        pw_prepare(&e->power, b, &e->power_last);
        e->power_D = b->decodes;
    }
    return e->power_last;
}

/* Plan the run that starts with the iteration just scheduled (its blocks allocated) at t0:
 * iteration k+1 decodes one more token for each sequence; it needs a new block for the
 * sequences whose computed count (before it) is a multiple of the block size. The run ends with
 * the iteration in which the first sequence finishes, or before one whose blocks run out. */
static void plan_run(llm *e, const st_batch *b, fs_time t0)
{
    int32_t D = b->decodes, bs = e->p.block_size, left = INT32_MAX;
    for (int32_t i = 0; i < e->nrun; i++) {
        int32_t l = e->running[i]->out - e->running[i]->generated;
        if (l < left) left = l;
    }
    if (left < 1) left = 1;
    if (e->nrun > e->residue_cap) {
        size_t cap = (size_t)e->residue_cap;
        e->residue_next = fs_xgrow(e->residue_next, &cap, (size_t)e->nrun, sizeof *e->residue_next);
        e->residue_cap = (int32_t)cap;
    }
    residue_index(e);
    /* iterations 2, 3, ... take the blocks of residues -1, -2, ... (mod bs): each period of bs
     * iterations one block per sequence, D in all */
    int64_t free_left = kv_free_count(&e->kv), periods = free_left / D, k = periods * bs;
    free_left -= periods * D;
    for (;;) {
        int64_t need = residue_count(e, (int32_t)((bs - (k + 1) % bs) % bs));
        if (need > free_left) break;
        free_left -= need;
        k++;
    }
    int32_t n = k + 1 < left ? (int32_t)(k + 1) : left;
    e->run_D = D;
    if (n < 2) {
        e->run_len = n;
        return;
    }
    /* a run's batch is decode-only: its shape depends on D alone, so reuse the last one */
    if (e->prep_D != D) {
        st_prepare(&e->model, b, &e->prep);
        e->prep_D = D;
    }
    e->run_ctx = b->decode_ctx;
    e->run_power = power_shape(e, b);
    e->run_len = dr_plan(&e->run, &e->prep, (int64_t)b->decode_ctx, D, t0, e->frac, n);
}

/* Activity-weighted seconds of the run's first j iterations. Within a segment of the run the
 * step and the activity are both affine in the iteration, so each iteration's clamp (u <= 1) is
 * applied exactly in closed form (pw_run_active): the sum is the one stepping would add, up to
 * rounding. */
static double run_active(const llm *e, int32_t j)
{
    double sum = 0;
    for (int32_t i = 0; i < e->run.nseg && e->run.seg[i].first <= j; i++) {
        const dr_seg *s = &e->run.seg[i];
        int32_t n = j - s->first + 1 < s->n ? j - s->first + 1 : s->n;
        sum += pw_run_active(&e->run_power, e->power_w, e->run_ctx + (double)(s->first - 1) * e->run_D, e->run_D, n,
                             (double)s->A * FX_S, (double)s->B * FX_S);
    }
    return sum;
}

/* The run's activity up to `now`, when it is cut between iteration ends (an eviction): its whole
 * iterations, and the share of the one in progress that has elapsed. */
static double run_active_until(const llm *e, fs_time now)
{
    int32_t k = dr_first_ending_at(&e->run, now); /* the iteration in progress */
    if (k > e->run_len) k = e->run_len;
    double whole = run_active(e, k - 1), current = run_active(e, k) - whole;
    fs_time t0 = dr_end(&e->run, k - 1), t1 = dr_end(&e->run, k);
    return whole + (t1 > t0 ? current * (double)(now - t0) / (double)(t1 - t0) : 0);
}

/* Apply the first j iterations of the run (j <= run_len): allocate their blocks in order,
 * advance every sequence by j tokens, account inter-token gaps, busy time and activity. */
static void apply_run(llm *e, int32_t j)
{
    /* iterations 2..j took blocks for decode tokens: private, so anonymous, and in one go */
    int32_t taken = 0;
    for (int32_t i = 0; i < e->nrun; i++) {
        seq *s = e->running[i];
        int32_t more = blocks_for(e, s->computed + j) - s->nblocks;
        s->nblocks += more;
        taken += more;
    }
    kv_take(&e->kv, taken);
    fs_time first = dr_end(&e->run, 1), last = dr_end(&e->run, j);
    for (int32_t i = 0; i < e->nrun; i++) {
        seq *s = e->running[i];
        /* a prompt whose last token was left for this run emits its first token now */
        if (s->generated == 0) sim_first_token(e->base.sim, s->q, first);
        else sim_itl(e->base.sim, first - s->last_token, 1);
        s->computed += j;
        s->generated += j;
        s->sched = 0;
        s->last_token = last;
        register_full(e, s);
    }
    sim_itl_run(e->base.sim, &e->run, j, (uint64_t)e->run_D);
    e->base.busy_ns += last - e->iter_start;
    e->base.active_s += run_active(e, j);
}

/* ---- the event loop of a replica ---- */

/* Time-slicing (sim_internal.h share_group): how much slower the step starting now runs. The
 * replica counts as busy in its group from its first step until it goes idle. */
static double share_factor(llm *e)
{
    share_group *g = e->base.share;
    if (!g) return 1;
    if (!e->base.share_busy) return share_change(g, &e->base, 1);
    return share_slowdown(g->busy, g->overhead);
}

static void share_idle(llm *e)
{
    if (e->base.share_busy) share_change(e->base.share, &e->base, -1);
}

static double llm_activity(replica *r)
{
    llm *e = (llm *)r;
    return r->active_s + (e->state == RUN ? run_active_until(e, sim_now(r->sim)) : 0);
}

/* A co-tenant started or stopped: the step in progress (never a run: runs are off when shared)
 * ends sooner or later. */
static void llm_reshare(replica *r, double from, double to)
{
    llm *e = (llm *)r;
    FS_ASSERT(e->state == STEP);
    fs_time now = sim_now(r->sim), left = e->step_end - now, now_left = (fs_time)llround((double)left * to / from);
    evq_cancel(sim_queue(r->sim), e->wake);
    e->step_end = now + now_left;
    e->base.busy_ns += now_left - left;
    e->wake = evq_push_late(sim_queue(r->sim), e->step_end, on_wake, e, 0);
}

static void start_next(llm *e, fs_time now)
{
    st_batch b;
    int32_t nrun_before = e->nrun;
    uint32_t nwait_before = e->nwait;
    if (!schedule(e, &b)) {
        e->state = IDLE;
        share_idle(e);
        return;
    }
    bool admitted = e->nwait < nwait_before || e->nrun > nrun_before;
    e->iter_start = now;
    if (can_run(e, &b, admitted)) {
        plan_run(e, &b, now);
        if (e->run_len > 1) {
            e->state = RUN;
            e->wake = evq_push_late(sim_queue(e->base.sim), dr_end(&e->run, e->run_len), on_wake, e, 0);
            return;
        }
    }
    e->state = STEP;
    st_prepared p;
    st_prepare(&e->model, &b, &p);
    int64_t step = st_step_fx(&p, (int64_t)b.decode_ctx);
    double slow = share_factor(e);
    if (slow != 1) step = (double)step * slow >= (double)ST_FX_MAX ? ST_FX_MAX : (int64_t)llround((double)step * slow);
    int64_t R = (int64_t)e->frac + step;
    fs_time end = now + (R >> ST_FRAC);
    e->end_frac = (uint32_t)(R & (((int64_t)1 << ST_FRAC) - 1));
    e->base.busy_ns += end - now;
    pw_prepared pw = power_shape(e, &b);
    e->base.active_s += pw_active_at(&pw, e->power_w, b.decode_ctx, (double)step * FX_S);
    if (b.prefill_tokens > 0)
        e->base.prefill_ns += (double)(end - now) * b.prefill_tokens / (double)(b.prefill_tokens + b.decodes);
    e->step_end = end;
    e->wake = evq_push_late(sim_queue(e->base.sim), end, on_wake, e, 0);
}

static void on_wake(void *ctx, void *obj, uint64_t arg)
{
    (void)ctx;
    (void)arg;
    llm *e = obj;
    fs_time now = sim_now(e->base.sim);
    if (e->state == RUN) {
        apply_run(e, e->run_len);
        e->frac = dr_frac(&e->run, e->run_len);
        finish_done(e, now); /* the last iteration may finish requests */
    } else {
        e->frac = e->end_frac;
        complete_iteration(e, now);
    }
    start_next(e, now);
}

/* ---- the replica interface ---- */

static void llm_submit(replica *r, sim_req *q)
{
    llm *e = (llm *)r;
    if (q->r.input_tokens >= e->p.max_model_len || blocks_for(e, q->r.input_tokens + 1) > e->usable_blocks) {
        sim_reject(r->sim, q, sim_now(r->sim));
        return;
    }
    seq *s = seq_new(e, q);
    wait_add(e, s);
    e->new_head = e->wait_head == s;
}

/* An arrival that heads the waiting queue cuts a run at the first iteration boundary at or after
 * now: the scheduler sees the new request there. (Behind a waiting request that could not be
 * admitted when the run started, it could not be admitted during the run either: free blocks only
 * shrink and the running set does not change.) */
static void cut_run(llm *e, fs_time now)
{
    int32_t k = dr_first_ending_at(&e->run, now);
    if (k >= e->run_len) return; /* the run ends there anyway */
    evq_cancel(sim_queue(e->base.sim), e->wake);
    e->run_len = k;
    e->wake = evq_push_late(sim_queue(e->base.sim), dr_end(&e->run, k), on_wake, e, 0);
}

static void llm_kick(replica *r)
{
    llm *e = (llm *)r;
    if (e->state == IDLE) {
        e->frac = 0; /* an idle replica starts on the nanosecond */
        start_next(e, sim_now(r->sim));
    }
    else if (e->state == RUN && e->new_head) cut_run(e, sim_now(r->sim));
    e->new_head = false;
}

static uint32_t llm_free_slots(const replica *r)
{
    const llm *e = (const llm *)r;
    int64_t room = (int64_t)e->p.max_num_seqs - e->nrun - (int64_t)e->nwait;
    return room > 0 ? (uint32_t)room : 0;
}

static uint32_t llm_waiting(const replica *r) { return ((const llm *)r)->nwait; }
static uint32_t llm_running(const replica *r) { return (uint32_t)((const llm *)r)->nrun; }

/* Blocks in use now. Inside a run: those of the iteration in progress (as at a step, whose blocks
 * are taken when it starts), so that the value does not depend on where runs begin. */
static void llm_kv_usage(replica *r, uint64_t *used, uint64_t *total)
{
    llm *e = (llm *)r;
    uint64_t u = (uint64_t)(e->kv.n - kv_free_count(&e->kv));
    if (e->state == RUN) {
        /* the iteration in progress: one ending now has not been applied yet (wake-ups come
         * after everything else at their time) */
        int32_t bs = e->p.block_size, j = dr_first_ending_at(&e->run, sim_now(r->sim));
        if (j > e->run_len) j = e->run_len;
        for (int32_t res = 0; j > 1 && res < bs; res++) /* iterations 2..j allocate per residue */
            u += (uint64_t)residue_count(e, res) * (uint64_t)((res + j - 1) / bs);
    }
    *used = u;
    *total = (uint64_t)e->usable_blocks;
}

static void llm_free(replica *r)
{
    llm *e = (llm *)r;
    for (int32_t i = 0; i < e->nrun; i++) {
        free(e->running[i]->ids);
        free(e->running[i]->gens);
        free(e->running[i]);
    }
    for (seq *s = e->wait_head, *n; s; s = n) {
        n = s->next;
        free(s->ids);
        free(s->gens);
        free(s);
    }
    for (seq *s = e->free_seqs, *n; s; s = n) {
        n = s->next;
        free(s->ids);
        free(s->gens);
        free(s);
    }
    free(e->running);
    dr_fini(&e->run);
    free(e->residue_next);
    kv_fini(&e->kv);
    free(e);
}

/* The replica is lost or restarts: every request it holds goes to `out` (running ones first, in
 * order, then the waiting queue) with its progress here forgotten, and the engine is left as
 * new, its KV and prefix cache empty. The iteration in progress, cut short, counts as busy up to
 * now when it was part of a run (a single step was counted in full when it began). */
static void llm_evict(replica *r, req_fifo *out)
{
    llm *e = (llm *)r;
    if (e->state != IDLE) {
        evq_cancel(sim_queue(r->sim), e->wake);
        if (e->state == RUN) {
            e->base.busy_ns += sim_now(r->sim) - e->iter_start;
            e->base.active_s += run_active_until(e, sim_now(r->sim));
        }
    }
    for (int32_t i = 0; i < e->nrun; i++) {
        fifo_push(out, e->running[i]->q);
        seq_free(e, e->running[i]);
    }
    e->nrun = 0;
    while (e->wait_head) {
        seq *s = wait_pop(e);
        fifo_push(out, s->q);
        seq_free(e, s);
    }
    for (sim_req *q = out->head; q; q = q->next) q->generated = q->kv_tokens = 0;
    e->state = IDLE;
    share_idle(e);
    e->frac = 0;
    e->run_len = 0;
    e->new_head = false;
    kv_fini(&e->kv);
    kv_init(&e->kv, e->usable_blocks, e->p.prefix_caching);
}

/* Waiting: it leaves the queue now. Running (its prompt in prefill): it is dropped at the end of
 * the iteration in progress (finish_done). */
static bool llm_abandon(replica *r, sim_req *q)
{
    llm *e = (llm *)r;
    for (seq *s = e->wait_head; s; s = s->next) {
        if (s->q != q) continue;
        if (s->prev) s->prev->next = s->next;
        else e->wait_head = s->next;
        if (s->next) s->next->prev = s->prev;
        else e->wait_tail = s->prev;
        e->nwait--;
        seq_free(e, s); /* a waiting sequence holds no blocks (a preempted one only handles) */
        return true;
    }
    return false;
}

static const replica_ops llm_ops = {llm_submit, llm_kick, llm_free_slots, llm_waiting, llm_running, llm_kv_usage,
                                    llm_evict, llm_abandon, llm_activity, llm_reshare, llm_free};

replica *llm_replica_new(struct sim *s, const sim_deployment *d, uint32_t index, uint32_t dep, enum llm_role role)
{
    llm *e = fs_xcalloc(1, sizeof *e);
    e->role = role;
    e->base.ops = &llm_ops;
    e->base.sim = s;
    e->base.index = index;
    e->base.deployment = dep;
    e->p = d->llm;
    e->power_w = pw_weights_or_default(d->llm.power_w_compute, d->llm.power_w_memory);
    st_config sc = {
        .model = d->llm.model, .gpu = d->llm.gpu, .tp = d->llm.tp, .weights = d->llm.weights, .kv = d->llm.kv,
        .cuda_graphs = d->llm.cuda_graphs, .async_scheduling = d->llm.async_scheduling,
        .max_capture = d->llm.max_num_seqs * 2 < 512 ? d->llm.max_num_seqs * 2 : 512,
        .compute_share = d->llm.compute_share, .bandwidth_share = d->llm.bandwidth_share,
    };
    if (sc.max_capture > d->llm.max_num_batched_tokens) sc.max_capture = d->llm.max_num_batched_tokens;
    st_model_init(&e->model, &sc);
    pw_model_init(&e->power, &e->model);
    e->usable_blocks = d->llm.num_gpu_blocks - 1; /* vLLM keeps block 0 as its null block */
    kv_init(&e->kv, e->usable_blocks, d->llm.prefix_caching);
    FS_ASSERT(d->llm.block_size >= 1 && d->llm.block_size <= LLM_MAX_BLOCK);
    return &e->base;
}
