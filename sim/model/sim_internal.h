/*
 * sim_internal.h — the pieces of a simulation that see each other: request objects, the
 * replica interface, routers. Private to sim/model/.
 */
#ifndef FS_SIM_INTERNAL_H
#define FS_SIM_INTERNAL_H

#include "decoderun.h"
#include "evq.h"
#include "rng.h"
#include "share.h"
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
    bool entered;              /* admitted to its deployment (counted in the KPA's concurrency) */
    bool refused_region;       /* no region its residency allows serves its model */
    bool abandoned;            /* its client gave up waiting for the first token */
    bool retrying, in_transit; /* waiting to retry after a 429; travelling to another region */
    bool timed;                /* `timer` is pending */
    fs_time held_since;        /* when its router held it for want of a ready replica */
    evq_handle timer;          /* the client's patience (admission.timeout) */
    fs_time back;              /* the response's trip back from another region */
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

/* Take q out of f wherever it is (O(n)); false when it is not there. */
static inline bool fifo_remove(req_fifo *f, sim_req *q)
{
    sim_req *prev = NULL;
    for (sim_req *x = f->head; x; prev = x, x = x->next) {
        if (x != q) continue;
        if (prev) prev->next = x->next;
        else f->head = x->next;
        if (f->tail == x) f->tail = prev;
        f->n--;
        return true;
    }
    return false;
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
 *   waiting / running   for time series;
 *   evict       a lost replica gives back what it holds (see below);
 *   abandon     a request's client gave up.
 * The replica reports progress through sim_first_token() and sim_done().
 */
/* Replicas time-slicing one GPU (a pool's `sharing`, gpu/share.h): while `busy` of them have work,
 * each runs at 1 / share_slowdown(busy, overhead) of its speed alone, as processor sharing: when
 * one starts or stops, the steps in progress of the others stretch or shrink to the new rate.
 * Owned by the fleet (one per GPU of a time-sliced pool); members point to it. */
#define SHARE_MAX 48
typedef struct replica replica;
typedef struct share_group {
    int members, busy;
    double overhead;
    replica *member[SHARE_MAX];
} share_group;
/* A member starts having work (delta 1) or stops (-1): the rate changes for every busy member;
 * the others' steps in progress are rescaled (replica_ops.reshare). Returns the new slowdown. */
double share_change(share_group *g, replica *self, int delta);


typedef struct replica_ops {
    void (*submit)(replica *r, sim_req *q);
    void (*kick)(replica *r);
    uint32_t (*free_slots)(const replica *r);
    uint32_t (*waiting)(const replica *r);
    uint32_t (*running)(const replica *r);
    /* KV blocks in use and in all (0 and 0 for models without a KV cache), at the current time */
    void (*kv_usage)(replica *r, uint64_t *used, uint64_t *total);
    /* The replica is lost or restarts cold: every request it holds is appended to `out`, and it
     * is left empty and idle as a new one (caches cleared). */
    void (*evict)(replica *r, req_fifo *out);
    /* q's client gave up (q->abandoned is set): true when the replica let it go at once (it was
     * queued; the caller finishes it), false when it is in service and the replica calls
     * sim_abandon() once it stops working on it. */
    bool (*abandon)(replica *r, sim_req *q);
    /* Activity-weighted GPU seconds (gpu/power.h) up to now: active_s plus the elapsed part of a
     * decode run in progress, whose activity is added to active_s when the run ends. */
    double (*activity)(replica *r);
    /* Time-slicing: the step (or batch) in progress, begun at slowdown `from`, now runs at slowdown
     * `to`: what remains of it takes to / from as long. */
    void (*reshare)(replica *r, double from, double to);
    void (*free)(replica *r);
} replica_ops;

struct replica {
    const replica_ops *ops;
    struct sim *sim;
    uint32_t index;        /* global, over all deployments */
    uint32_t deployment;
    uint32_t outstanding;  /* routed here and not done: queued + in service */
    fs_time busy_ns;       /* time spent serving, for utilisation */
    share_group *share;    /* the GPU's time-slicing group, NULL when it has the GPU (or slice) alone */
    bool share_busy;       /* counted among the group's busy members */
    double prefill_ns;     /* the part of busy_ns attributed to prefill (LLM: each iteration split by
                              its prompt tokens' share of the tokens it computes) */
    double active_s;       /* activity-weighted GPU seconds: sum over its iterations of u x step (power.h) */
};

replica *fixed_replica_new(struct sim *s, const sim_deployment *d, uint32_t index, uint32_t dep);
enum llm_role { LLM_BOTH, LLM_PREFILL, LLM_DECODE };
replica *llm_replica_new(struct sim *s, const sim_deployment *d, uint32_t index, uint32_t dep, enum llm_role role);

/* Routers, one per deployment (two when disaggregated). A router serves the n replica slots at
 * `replicas` (global indexes first .. first + n - 1; a slot's replica object may be NULL until it
 * first starts); the first `nready` are ready at the start. */
typedef struct router router;
router *router_new(enum sim_router kind, const sim_router_params *p, struct sim *s, replica **replicas,
                   uint32_t first, uint32_t n, uint32_t nready, fs_rng *rng);
void router_free(router *rt);
void router_route(router *rt, sim_req *q);
/* Request q, routed to r, left it (done, refused or handed on). */
void router_release(router *rt, replica *r, const sim_req *q);
/* A replica of this router finished work and may have room: let it pull queued requests. */
void router_on_capacity(router *rt, replica *r);
uint32_t router_queued(const router *rt);  /* in its central queue or held for want of a ready replica */
/* Replicas come and go: only ready ones are routed to. A replica made ready takes the requests
 * held meanwhile (routed in arrival order); one made not ready keeps what it has (the caller
 * drains or evicts it). All are ready at router_new. */
void router_set_ready(router *rt, replica *r, bool ready);
uint32_t router_ready(const router *rt);
/* Take q out of the router's held or central queue: false when it is in neither. */
bool router_withdraw(router *rt, sim_req *q);

/* Called by replicas. */
evq *sim_queue(struct sim *s);
void sim_first_token(struct sim *s, sim_req *q, fs_time t);
void sim_done(struct sim *s, sim_req *q, fs_time t);
/* The engine refused the request (it can never fit): it leaves the simulation now. */
void sim_reject(struct sim *s, sim_req *q, fs_time t);
/* A request held for want of a ready replica (a cold start under way) was routed after `waited`. */
void sim_held(struct sim *s, const sim_req *q, fs_time waited);
/* A request whose client gave up leaves the replica that was serving it at t. */
void sim_abandon(struct sim *s, sim_req *q, fs_time t);
/* Inter-token gaps: `weight` tokens each emitted `gap` after the previous one of its request. */
void sim_itl(struct sim *s, fs_time gap, uint64_t weight);
/* The gaps between the ends of a decode run's iterations 1..j, each for `weight` tokens. */
void sim_itl_run(struct sim *s, const decode_run *r, int32_t j, uint64_t weight);
/* A prefill replica is done with q (its first token emitted at t): move its KV to the decode pool. */
void sim_handoff(struct sim *s, sim_req *q, fs_time t);
/* A stable 64-bit identity of a request, for its private KV block hashes. */
uint64_t sim_req_uid(const sim_req *q);

/* ---- the fleet (fleet.c): node pools, replica life cycles, autoscalers, faults ---- */
typedef struct fleet fleet;
typedef struct fleet_count { int32_t desired, pending, starting, ready, draining; } fleet_count;

/* Fill what a config made without the scenario loader leaves out (tests, replays): one node of
 * `count` GPUs per entry when gpus_per_node is 0, a fixed node count, a deployment's pool. */
void fleet_normalize(sim_config *cfg);
/* Replica slots a deployment needs: its replicas, or room to scale and replace them. */
uint32_t fleet_slots(const sim_config *cfg, uint32_t d);
bool fleet_has_faults(const sim_config *cfg, uint32_t d);
/* After sim.c has made the slots, routers and starting replicas: pools, placement, timers. */
fleet *fleet_new(struct sim *s, const sim_config *cfg);
void fleet_free(fleet *f);
/* A replica's last request left (a draining one then stops). */
void fleet_replica_idle(fleet *f, replica *r);
/* A request of deployment d enters (routed or held) and leaves (KPA's concurrency). */
void fleet_request_in(fleet *f, uint32_t d);
void fleet_request_out(fleet *f, uint32_t d);
/* GPU-seconds billed by pool x up to `end`, and held by deployment d's replicas. */
double fleet_billed_gpu_s(const fleet *f, uint32_t x, fs_time end);
double fleet_held_gpu_s(const fleet *f, uint32_t d, fs_time end);
void fleet_counts(const fleet *f, uint32_t d, fleet_count *out);
uint32_t fleet_nodes_up(const fleet *f, uint32_t x);
void fleet_metrics(fleet *f, fs_metrics *m);

/* sim.c's services to the fleet. */
fleet *sim_fleet(void *sim_ctx);            /* from an event's ctx */
bool sim_active(const struct sim *s);       /* requests may still arrive or are in flight */
router *sim_dep_router(struct sim *s, uint32_t d);
replica **sim_dep_replicas(struct sim *s, uint32_t d);
uint32_t sim_dep_first(const struct sim *s, uint32_t d); /* global index of its slot 0 */
replica *sim_make_replica(struct sim *s, uint32_t d, uint32_t k);
/* Requests a lost replica held (already out of it): routed again from the start, or failed. */
void sim_requeue(struct sim *s, req_fifo *lost, bool retry);

#endif
