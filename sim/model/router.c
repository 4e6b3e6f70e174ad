/*
 * Routers: which replica of a deployment serves a request.
 *
 *   round_robin        replicas in turn;
 *   random             uniform, from the routing RNG stream;
 *   least_outstanding  fewest requests routed and not done; ties go to the first such replica
 *                      after the one chosen last (so equal replicas share load in turn);
 *   central_queue      one FCFS queue for the deployment; a replica with room takes the head
 *                      (an idle replica is found by scanning after the one chosen last). This is
 *                      the M/M/c discipline.
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
} levels;

struct router {
    enum sim_router kind;
    replica **replicas;
    uint32_t n;
    uint32_t next;   /* round-robin position / tie-break start */
    fs_rng *rng;     /* owned */
    req_fifo queue;  /* central queue */
    levels lv;       /* least_outstanding */
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

/* Move replica i from level `from` to level `to` (from = UINT32_MAX: not yet in any). */
static void level_move(levels *lv, uint32_t i, uint32_t from, uint32_t to)
{
    if (to >= lv->nlevels) level_grow(lv, to);
    uint64_t bit = UINT64_C(1) << (i & 63);
    if (from != UINT32_MAX) {
        lv->bits[(size_t)from * lv->words + i / 64] &= ~bit;
        lv->count[from]--;
    }
    lv->bits[(size_t)to * lv->words + i / 64] |= bit;
    lv->count[to]++;
    if (to < lv->min) lv->min = to;
    while (lv->count[lv->min] == 0) lv->min++; /* some level is non-empty: every replica is in one */
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

router *router_new(enum sim_router kind, replica **replicas, uint32_t n, fs_rng *rng)
{
    router *rt = fs_xcalloc(1, sizeof *rt);
    rt->kind = kind;
    rt->replicas = replicas;
    rt->n = n;
    rt->rng = rng;
    if (kind == SIM_ROUTER_LEAST_OUTSTANDING) {
        rt->lv.words = (n + 63) / 64;
        for (uint32_t i = 0; i < n; i++) level_move(&rt->lv, i, UINT32_MAX, replicas[i]->outstanding);
    }
    return rt;
}

void router_free(router *rt)
{
    if (!rt) return;
    fs_rng_free(rt->rng);
    free(rt->lv.bits);
    free(rt->lv.count);
    free(rt);
}

/* Replica r is one of this router's: its position in rt->replicas. */
static uint32_t local_index(const router *rt, const replica *r) { return (uint32_t)(r->index - rt->replicas[0]->index); }

static void count_change(router *rt, replica *r, uint32_t from)
{
    if (rt->kind == SIM_ROUTER_LEAST_OUTSTANDING) level_move(&rt->lv, local_index(rt, r), from, r->outstanding);
}

/* Hand q to replica r's local queue (the caller kicks r). */
static void assign(router *rt, replica *r, sim_req *q)
{
    q->replica = r->index;
    r->outstanding++;
    count_change(rt, r, r->outstanding - 1);
    r->ops->submit(r, q);
}

void router_release(router *rt, replica *r)
{
    r->outstanding--;
    count_change(rt, r, r->outstanding + 1);
}

void router_route(router *rt, sim_req *q)
{
    uint32_t n = rt->n, pick = 0;
    switch (rt->kind) {
    case SIM_ROUTER_ROUND_ROBIN:
        pick = rt->next;
        rt->next = (rt->next + 1) % n;
        break;
    case SIM_ROUTER_RANDOM:
        pick = (uint32_t)gsl_rng_uniform_int(rt->rng, n);
        break;
    case SIM_ROUTER_LEAST_OUTSTANDING:
        pick = level_pick(&rt->lv, rt->next, n);
        rt->next = (pick + 1) % n;
        break;
    case SIM_ROUTER_CENTRAL_QUEUE:
        if (rt->queue.n == 0) {
            for (uint32_t k = 0; k < n; k++) {
                uint32_t i = (rt->next + k) % n;
                if (rt->replicas[i]->ops->free_slots(rt->replicas[i]) > 0) {
                    rt->next = (i + 1) % n;
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
    if (rt->kind != SIM_ROUTER_CENTRAL_QUEUE || rt->queue.n == 0) return;
    uint32_t room = r->ops->free_slots(r);
    if (room == 0) return;
    while (room-- > 0 && rt->queue.n > 0) assign(rt, r, fifo_pop(&rt->queue));
    r->ops->kick(r);
}

uint32_t router_queued(const router *rt) { return (uint32_t)rt->queue.n; }
