/*
 * sim_internal.h — the pieces of a simulation that see each other: request objects, the
 * replica interface, routers. Private to sim/model/.
 */
#ifndef FS_SIM_INTERNAL_H
#define FS_SIM_INTERNAL_H

#include "decoderun.h"
#include "evq.h"
#include "rng.h"
#include "sim.h"

/* A request in flight. Owned by the simulation's pool; replicas and routers link it into their
 * queues through `next` while they hold it. */
typedef struct sim_req {
    wl_request r;
    uint32_t source;
    uint32_t replica;          /* global replica index once routed, else SIM_NO_REPLICA */
    fs_time service;           /* fixed-service demand, drawn at arrival */
    fs_time start, first_token; /* -1 until they happen */
    int32_t preemptions, cached_tokens;
    int32_t generated;         /* tokens emitted before it reached its current replica (P/D) */
    int32_t kv_tokens;         /* tokens whose KV arrives with it from a prefill replica */
    fs_time last_token;
    bool arrived;              /* else scheduled to arrive */
    bool throttled;            /* given up after 429s */
    uint32_t attempts;         /* 429s received so far */
    uint64_t seq;              /* arrival number in the run (0, 1, ...): the id of its stored row */
    uint64_t *chain_buf;       /* r.chain's storage, kept with the object when it is reused */
    int32_t chain_cap;
    struct sim_req *next;
    struct sim_req *prev_inflight, *next_inflight; /* the list of all requests in flight */
} sim_req;

/* FIFO of requests, intrusive through sim_req.next. */
typedef struct req_fifo {
    sim_req *head, *tail;
    size_t n;
} req_fifo;

static inline void fifo_push(req_fifo *f, sim_req *q)
{
    q->next = NULL;
    if (f->tail) f->tail->next = q;
    else f->head = q;
    f->tail = q;
    f->n++;
}

static inline sim_req *fifo_pop(req_fifo *f)
{
    sim_req *q = f->head;
    if (q) {
        f->head = q->next;
        if (!f->head) f->tail = NULL;
        f->n--;
    }
    return q;
}

/*
 * The replica interface: one serving instance of a deployment. The fixed-service model and the
 * LLM engine both implement it.
 *   submit      a routed request joins the replica's local queue (nothing starts yet);
 *   kick        start whatever the replica can start now (after one or more submits);
 *   free_slots  how many more requests it would start at once if they were queued now
 *               (a central queue hands that many over, then kicks);
 *   waiting / running   for time series.
 * The replica reports progress through sim_first_token() and sim_done().
 */
typedef struct replica replica;
typedef struct replica_ops {
    void (*submit)(replica *r, sim_req *q);
    void (*kick)(replica *r);
    uint32_t (*free_slots)(const replica *r);
    uint32_t (*waiting)(const replica *r);
    uint32_t (*running)(const replica *r);
    /* KV blocks in use and in all (0 and 0 for models without a KV cache), at the current time */
    void (*kv_usage)(replica *r, uint64_t *used, uint64_t *total);
    void (*free)(replica *r);
} replica_ops;

struct replica {
    const replica_ops *ops;
    struct sim *sim;
    uint32_t index;        /* global, over all deployments */
    uint32_t deployment;
    uint32_t outstanding;  /* routed here and not done: queued + in service */
    fs_time busy_ns;       /* time spent serving, for utilisation */
    double prefill_ns;     /* the part of busy_ns attributed to prefill (LLM: each iteration split by
                              its prompt tokens' share of the tokens it computes) */
};

replica *fixed_replica_new(struct sim *s, const sim_deployment *d, uint32_t index, uint32_t dep);
enum llm_role { LLM_BOTH, LLM_PREFILL, LLM_DECODE };
replica *llm_replica_new(struct sim *s, const sim_deployment *d, uint32_t index, uint32_t dep, enum llm_role role);

/* Routers, one per deployment. */
typedef struct router router;
router *router_new(enum sim_router kind, const sim_router_params *p, replica **replicas, uint32_t n, fs_rng *rng);
void router_free(router *rt);
void router_route(router *rt, sim_req *q);
/* Request q, routed to r, left it (done, refused or handed on). */
void router_release(router *rt, replica *r, const sim_req *q);
/* A replica of this router finished work and may have room: let it pull queued requests. */
void router_on_capacity(router *rt, replica *r);
uint32_t router_queued(const router *rt);

/* Called by replicas. */
evq *sim_queue(struct sim *s);
void sim_first_token(struct sim *s, sim_req *q, fs_time t);
void sim_done(struct sim *s, sim_req *q, fs_time t);
/* The engine refused the request (it can never fit): it leaves the simulation now. */
void sim_reject(struct sim *s, sim_req *q, fs_time t);
/* Inter-token gaps: `weight` tokens each emitted `gap` after the previous one of its request. */
void sim_itl(struct sim *s, fs_time gap, uint64_t weight);
/* The gaps between the ends of a decode run's iterations 1..j, each for `weight` tokens. */
void sim_itl_run(struct sim *s, const decode_run *r, int32_t j, uint64_t weight);
/* A prefill replica is done with q (its first token emitted at t): move its KV to the decode pool. */
void sim_handoff(struct sim *s, sim_req *q, fs_time t);
/* A stable 64-bit identity of a request, for its private KV block hashes. */
uint64_t sim_req_uid(const sim_req *q);

#endif
