/*
 * fleet.c — node pools and the life of replicas during a run: placement at run time, cold
 * starts, draining, autoscalers (HPA, KPA) and Cluster Autoscaler, node failures and spot
 * reclaims, and billing by provisioned node time.
 *
 * Replicas live in slots, fixed per deployment (sim.c creates the slot array; a slot's replica
 * object is made the first time it starts). A slot is
 *   OFF       holding nothing;
 *   PENDING   wanted, but no node of its pools has room: it waits for the pool to grow;
 *   STARTING  placed on a node, in its cold start: node provisioning (when the node is new),
 *             image pull (the first replica of its deployment on the node; later ones wait for
 *             that pull, then find the image cached), container start, weight load (weight
 *             bytes / the pool's storage bandwidth) and engine warm-up, in that order;
 *   READY     routed to;
 *   DRAINING  scaled down or its node is being reclaimed: no new requests, in-flight ones
 *             finish; then OFF (a lost node turns it OFF at once, its requests retried or failed).
 * Each deployment has a desired replica count (its `replicas`, then what its autoscaler says);
 * reconcile() starts OFF slots or stops the newest ones until PENDING + STARTING + READY equals it,
 * as a ReplicaSet does (stopping unscheduled, then starting, then ready ones, newest first).
 *
 * A pool is a placement cluster of max_nodes nodes, the ones not provisioned marked down. Its
 * size follows Cluster Autoscaler (autoscale.h) when min_nodes < max_nodes: every scan it asks
 * for the nodes that the pending replicas need, and removes nodes empty for unneeded_time. A
 * node is billed from when it is asked for until it is removed (provisioning included), at the
 * pool's price per GPU-hour.
 *
 * Randomness: failures and reclaims draw from the FS_STREAM_FAILURES stream of each pool, and
 * placement by `random` from FS_STREAM_PLACEMENT, so they do not shift arrivals or routing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "migplace.h"
#include "placement.h"
#include "sim_internal.h"

enum slot_state { SLOT_OFF, SLOT_PENDING, SLOT_STARTING, SLOT_READY, SLOT_DRAINING };
enum node_state { NODE_DOWN, NODE_UP, NODE_FAILED, NODE_RECLAIMING };

typedef struct slot {
    enum slot_state state;
    uint32_t pool;             /* while placed */
    pl_spot spot;              /* its node (and, on whole or shared GPUs, its GPUs) */
    mp_where mig;              /* on a dynamic MIG pool: its instance */
    evq_handle ev;             /* STARTING: the end of the cold start */
    fs_time asked;             /* when it was last wanted (cold-start latency counts from here) */
    fs_time placed;            /* when it took its GPUs (billing share of its deployment) */
    fs_time ready_at;          /* when it became ready (newest first on scale-down) */
    double held_gpu_s;         /* GPU-seconds it held GPUs over the run */
} slot;

typedef struct node {
    enum node_state state;
    int32_t ca_id;             /* its id in the autoscaler's pool */
    fs_time billed_from, ready_at;
    fs_time pulled[SIM_MAX_DEPLOYMENTS]; /* when each deployment's image is (or will be) on it */
    uint32_t has_image;        /* bit d: deployment d's image is there or being pulled */
    evq_handle fault;          /* the next failure or reclaim notice, or the repair or reclaim, */
    bool armed;                /* while one is pending */
    uint32_t replicas;         /* slots placed on it */
    int gpus;
} node;

typedef struct pool {
    const sim_fleet_entry *fe;
    uint32_t index;
    pl_cluster *cl;
    mp_cluster *mig;           /* "mig": "dynamic": the instances on its GPUs, else NULL */
    share_group *groups;       /* time-slicing pools: one per GPU (node x gpus_per_node + GPU) */
    node *nodes;
    int32_t nnodes;            /* max_nodes */
    int32_t *pl_of_id;         /* autoscaler id -> node index */
    size_t ids_cap;
    ca_pool ca;
    bool scaling;              /* min_nodes < max_nodes: Cluster Autoscaler scans it */
    fs_rng *rng;               /* failures and reclaims */
    double billed_gpu_s;       /* of nodes already removed */
    uint64_t failures, reclaims, nodes_added, nodes_removed, repartitions;
    int32_t peak_nodes;
} pool;

typedef struct dep_fleet {
    slot *slots;
    uint32_t nslots;
    int32_t desired;
    hpa hpa;
    kpa kpa;
    bool has_hpa, has_kpa;
    double *scraped;           /* HPA: each slot's metric at the last scrape (NAN: none) */
    fs_time *busy_at_scrape;   /* utilisation: busy time at the scrape before */
    fs_time last_scrape;
    /* KPA: time-weighted concurrency of the second in progress, and its arrivals */
    double conc_area;
    fs_time conc_t;
    uint32_t concurrency, arrivals;
    /* measurements */
    uint64_t cold_starts, scale_ups, scale_downs;
    fs_sample cold_start_s;
} dep_fleet;

struct fleet {
    struct sim *sim;
    const sim_config *cfg;
    pool pools[SIM_MAX_FLEET];
    dep_fleet dep[SIM_MAX_DEPLOYMENTS];
    enum pl_policy policy;
    fs_rng *place_rng;
    uint64_t lost_retried, lost_failed;
};

static evq *Q(const fleet *f) { return sim_queue(f->sim); }
static fs_time NOW(const fleet *f) { return sim_now(f->sim); }

static bool is_disaggregated(const sim_deployment *d) { return d->kind == SIM_KIND_LLM && d->llm.prefill_replicas > 0; }

/* What a replica of d takes on pool p: whole GPUs, or one share of one GPU of a shared pool. */
static pl_pod pod_for(const pool *p, const sim_deployment *d)
{
    int milli = p->fe->shares ? PL_MILLI / (int)p->fe->shares : PL_MILLI;
    return (pl_pod){0, 0, (int)d->gpus_per_replica, milli, PL_ANY_MODEL};
}

/* A replica placed at `spot` joins the time-slicing group of its GPU (when the pool time-slices),
 * and leaves it when unplaced. */
static void join_group(pool *p, const pl_spot *spot, replica *r)
{
    if (!p->groups) return;
    share_group *g = &p->groups[(size_t)spot->node * p->fe->gpus_per_node + (size_t)__builtin_ctzll(spot->gpus)];
    FS_ASSERT(g->members < SHARE_MAX);
    g->member[g->members++] = r;
    r->share = g;
}

static void leave_group(replica *r)
{
    if (!r || !r->share) return;
    share_group *g = r->share;
    FS_ASSERT(!r->share_busy); /* a replica leaves idle: drained or evicted */
    for (int i = 0; i < g->members; i++)
        if (g->member[i] == r) g->member[i] = g->member[--g->members];
    r->share = NULL;
}

double share_change(share_group *g, replica *self, int delta)
{
    double from = share_slowdown(g->busy, g->overhead);
    g->busy += delta;
    self->share_busy = delta > 0;
    double to = share_slowdown(g->busy, g->overhead);
    if (to != from)
        for (int i = 0; i < g->members; i++)
            if (g->member[i] != self && g->member[i]->share_busy) g->member[i]->ops->reshare(g->member[i], from, to);
    return to;
}

/* ---- nodes ---- */

/* A node takes new replicas (down false) or not: not provisioned, failed, being reclaimed. */
static void node_cordon(pool *p, int32_t i, bool down)
{
    pl_node_set_down(p->cl, i, down);
    if (p->mig) mp_node_set_down(p->mig, i, down);
}

static void on_fault(void *ctx, void *obj, uint64_t arg);

/* The next failure or reclaim notice of an up node, if the pool has either. */
static void arm_fault(fleet *f, pool *p, int32_t i)
{
    double rate = 0; /* per hour */
    if (p->fe->mtbf_hours > 0) rate += 1 / p->fe->mtbf_hours;
    if (p->fe->spot) rate += p->fe->reclaims_per_hour;
    if (rate <= 0) return;
    double h = gsl_ran_exponential(p->rng, 1 / rate);
    fs_time at = NOW(f) + fs_time_from_s(h * 3600);
    if (at < NOW(f)) return; /* past the end of time */
    p->nodes[i].fault = evq_push(Q(f), at, on_fault, p, (uint64_t)i);
    p->nodes[i].armed = true;
}

static void node_up(fleet *f, pool *p, int32_t i, int32_t ca_id, fs_time ready_at)
{
    node *n = &p->nodes[i];
    n->state = NODE_UP;
    n->ca_id = ca_id;
    n->billed_from = NOW(f);
    n->ready_at = ready_at;
    n->has_image = 0;
    n->replicas = 0;
    p->pl_of_id = fs_xgrow(p->pl_of_id, &p->ids_cap, (size_t)ca_id + 1, sizeof *p->pl_of_id);
    p->pl_of_id[ca_id] = i;
    node_cordon(p, i, false);
    p->nodes_added++;
    int32_t up = 0;
    for (int32_t k = 0; k < p->nnodes; k++) up += p->nodes[k].state != NODE_DOWN;
    if (up > p->peak_nodes) p->peak_nodes = up;
    arm_fault(f, p, i);
}

/* A node leaves the pool (removed, or reclaimed): billing stops. It must hold no replica. */
static void node_down(fleet *f, pool *p, int32_t i)
{
    node *n = &p->nodes[i];
    FS_ASSERT(n->replicas == 0 && n->state != NODE_DOWN);
    if (n->armed) evq_cancel(Q(f), n->fault);
    n->armed = false;
    p->billed_gpu_s += fs_time_to_s(NOW(f) - n->billed_from) * n->gpus;
    n->state = NODE_DOWN;
    node_cordon(p, i, true);
    p->nodes_removed++;
}

/* ---- slots ---- */

static replica *slot_replica(fleet *f, uint32_t d, uint32_t k)
{
    replica **reps = sim_dep_replicas(f->sim, d);
    if (!reps[k]) reps[k] = sim_make_replica(f->sim, d, k);
    return reps[k];
}

static void on_ready(void *ctx, void *obj, uint64_t arg);

/* Take slot k's GPUs at (pool p, spot) and plan its cold start from now (after `delay`: a MIG
 * reconfiguration). */
static void start_on(fleet *f, uint32_t d, uint32_t k, pool *p, const pl_spot *spot, fs_time delay)
{
    const sim_deployment *dp = &f->cfg->deployments[d];
    slot *sl = &f->dep[d].slots[k];
    node *n = &p->nodes[spot->node];
    fs_time now = NOW(f) + delay, t = n->ready_at > now ? n->ready_at : now;
    if (!((n->has_image >> d) & 1)) { /* this replica pulls the image */
        n->has_image |= UINT32_C(1) << d;
        n->pulled[d] = t + p->fe->image_pull;
    }
    if (n->pulled[d] > t) t = n->pulled[d]; /* (or waits for the pull under way) */
    double load = p->fe->storage_bw > 0 ? dp->weight_bytes / p->fe->storage_bw : 0;
    t += dp->container_start + fs_time_from_s(load) + dp->warmup;
    sl->state = SLOT_STARTING;
    sl->pool = p->index;
    sl->spot = *spot;
    sl->placed = NOW(f);
    n->replicas++;
    sl->ev = evq_push(Q(f), t, on_ready, f, (uint64_t)d << 32 | k);
    join_group(p, spot, slot_replica(f, d, k));
}

static void drain(fleet *f, uint32_t d, uint32_t k);
static void lose(fleet *f, uint32_t d, uint32_t k);
static void on_reconcile(void *ctx, void *obj, uint64_t arg);

/* A MIG instance for slot k on a dynamic pool: reused, made in free slices, or made by
 * repartitioning a GPU, which drains its node first (mig-manager) and takes mig_reconfigure. */
static bool place_mig(fleet *f, uint32_t d, uint32_t k, pool *p)
{
    const sim_deployment *dp = &f->cfg->deployments[d];
    mp_placement pl;
    if (mp_place(p->mig, dp->mig_profile, (enum mp_policy)p->fe->mig_policy, &pl) != 0) return false;
    slot *sl = &f->dep[d].slots[k];
    sl->mig = pl.where;
    fs_time delay = 0;
    if (pl.action == MP_REPARTITION) {
        p->repartitions++;
        delay = p->fe->mig_reconfigure;
        for (uint32_t e = 0; e < f->cfg->ndeployments; e++) /* the node's replicas go elsewhere */
            for (uint32_t j = 0; j < f->dep[e].nslots; j++) {
                slot *o = &f->dep[e].slots[j];
                if (o->pool != p->index || o->spot.node != pl.drain_node) continue;
                if (o->state == SLOT_READY) drain(f, e, j);
                else if (o->state == SLOT_STARTING) lose(f, e, j);
            }
        evq_push(Q(f), NOW(f), on_reconcile, f, 0); /* their replacements */
    }
    start_on(f, d, k, p, &(pl_spot){pl.where.node, 0}, delay);
    return true;
}

/* Place slot k in the first of its deployment's pools with room: true when placed. */
static bool try_place(fleet *f, uint32_t d, uint32_t k)
{
    const sim_deployment *dp = &f->cfg->deployments[d];
    for (uint32_t x = 0; x < dp->npools; x++) {
        pool *p = &f->pools[dp->pools[x]];
        if (p->mig) {
            if (place_mig(f, d, k, p)) return true;
            continue;
        }
        pl_pod pod = pod_for(p, dp);
        pl_spot spot;
        if (pl_place(p->cl, f->policy, &pod, f->place_rng, &spot) == 0) {
            start_on(f, d, k, p, &spot, 0);
            return true;
        }
    }
    return false;
}

/* Slot k gives its GPUs (or GPU share) back. */
static void slot_off(fleet *f, uint32_t d, uint32_t k)
{
    slot *sl = &f->dep[d].slots[k];
    pool *p = &f->pools[sl->pool];
    pl_pod pod = pod_for(p, &f->cfg->deployments[d]);
    if (p->mig) mp_release(p->mig, &sl->mig); /* the instance stays, free */
    else pl_unplace(p->cl, &pod, &sl->spot);
    p->nodes[sl->spot.node].replicas--;
    sl->held_gpu_s += fs_time_to_s(NOW(f) - sl->placed) * pod.num_gpu; /* whole GPUs; fleet_held_gpu_s applies shares */
    leave_group(sim_dep_replicas(f->sim, d)[k]);
    sl->state = SLOT_OFF;
}

static void on_ready(void *ctx, void *obj, uint64_t arg)
{
    (void)ctx;
    fleet *f = obj;
    uint32_t d = (uint32_t)(arg >> 32), k = (uint32_t)arg;
    dep_fleet *df = &f->dep[d];
    slot *sl = &df->slots[k];
    sl->state = SLOT_READY;
    sl->ready_at = NOW(f);
    df->cold_starts++;
    fs_sample_push(&df->cold_start_s, fs_time_to_s(NOW(f) - sl->asked));
    if (df->scraped) df->scraped[k] = NAN; /* no sample yet: "missing" to the HPA */
    replica *r = slot_replica(f, d, k);
    if (df->busy_at_scrape) df->busy_at_scrape[k] = r->busy_ns;
    router_set_ready(sim_dep_router(f->sim, d), r, true);
}

/* A drained slot whose last request left stops. */
void fleet_replica_idle(fleet *f, replica *r)
{
    uint32_t d = r->deployment, k = r->index - sim_dep_first(f->sim, d);
    slot *sl = &f->dep[d].slots[k];
    if (sl->state != SLOT_DRAINING || r->outstanding > 0) return;
    req_fifo none = {0};
    r->ops->evict(r, &none); /* nothing is left: this clears its caches for a later start */
    FS_ASSERT(none.n == 0);
    slot_off(f, d, k);
}

static void drain(fleet *f, uint32_t d, uint32_t k)
{
    slot *sl = &f->dep[d].slots[k];
    replica *r = slot_replica(f, d, k);
    router_set_ready(sim_dep_router(f->sim, d), r, false);
    sl->state = SLOT_DRAINING;
    fleet_replica_idle(f, r);
}

/* Lost with its node: what it holds is retried or failed, its GPUs given back. */
static void lose(fleet *f, uint32_t d, uint32_t k)
{
    slot *sl = &f->dep[d].slots[k];
    if (sl->state == SLOT_STARTING) evq_cancel(Q(f), sl->ev);
    if (sl->state == SLOT_READY || sl->state == SLOT_DRAINING) {
        replica *r = slot_replica(f, d, k);
        router_set_ready(sim_dep_router(f->sim, d), r, false);
        req_fifo lost = {0};
        r->ops->evict(r, &lost);
        uint64_t n = lost.n;
        if (f->cfg->failure_retry) f->lost_retried += n;
        else f->lost_failed += n;
        sim_requeue(f->sim, &lost, f->cfg->failure_retry);
    }
    slot_off(f, d, k);
}

static int32_t active(const dep_fleet *df)
{
    int32_t n = 0;
    for (uint32_t k = 0; k < df->nslots; k++)
        n += df->slots[k].state == SLOT_PENDING || df->slots[k].state == SLOT_STARTING ||
             df->slots[k].state == SLOT_READY;
    return n;
}

/* Which active slot goes first on a scale-down: pending, then starting, then ready; newest first. */
static int stop_rank(const slot *s)
{
    return s->state == SLOT_PENDING ? 0 : s->state == SLOT_STARTING ? 1 : 2;
}

static void reconcile(fleet *f, uint32_t d)
{
    dep_fleet *df = &f->dep[d];
    int32_t have = active(df);
    for (uint32_t k = 0; k < df->nslots && have < df->desired; k++) {
        slot *sl = &df->slots[k];
        if (sl->state != SLOT_OFF) continue;
        sl->asked = NOW(f);
        if (!try_place(f, d, k)) sl->state = SLOT_PENDING;
        have++;
        df->scale_ups++;
    }
    while (have > df->desired) {
        uint32_t pick = UINT32_MAX;
        for (uint32_t k = 0; k < df->nslots; k++) {
            const slot *sl = &df->slots[k];
            if (sl->state != SLOT_PENDING && sl->state != SLOT_STARTING && sl->state != SLOT_READY) continue;
            if (pick == UINT32_MAX) {
                pick = k;
                continue;
            }
            const slot *b = &df->slots[pick];
            int ra = stop_rank(sl), rb = stop_rank(b);
            fs_time ta = sl->state == SLOT_READY ? sl->ready_at : sl->asked;
            fs_time tb = b->state == SLOT_READY ? b->ready_at : b->asked;
            if (ra < rb || (ra == rb && ta >= tb)) pick = k;
        }
        slot *sl = &df->slots[pick];
        if (sl->state == SLOT_PENDING) sl->state = SLOT_OFF;
        else if (sl->state == SLOT_STARTING) {
            evq_cancel(Q(f), sl->ev);
            slot_off(f, d, pick);
        } else {
            drain(f, d, pick);
        }
        have--;
        df->scale_downs++;
    }
}

static void on_reconcile(void *ctx, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    fleet *f = sim_fleet(ctx);
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++) reconcile(f, d);
}

/* Pending slots try again (a node came, or GPUs were given back). */
static void place_pending(fleet *f)
{
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++)
        for (uint32_t k = 0; k < f->dep[d].nslots; k++)
            if (f->dep[d].slots[k].state == SLOT_PENDING) try_place(f, d, k);
}

/* ---- node faults: failures (MTBF/MTTR) and spot reclaims (notice, then gone) ---- */

static void on_repaired(void *ctx, void *obj, uint64_t arg);
static void on_reclaimed(void *ctx, void *obj, uint64_t arg);

/* Every slot on node i of pool p: lost now, or draining until the node goes. (Disaggregated
 * deployments, whose two pools are fixed, are not placed on nodes here and never lost.) */
static void node_slots(fleet *f, pool *p, int32_t i, bool lost)
{
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++) {
        dep_fleet *df = &f->dep[d];
        if (is_disaggregated(&f->cfg->deployments[d])) continue;
        for (uint32_t k = 0; k < df->nslots; k++) {
            slot *sl = &df->slots[k];
            if (sl->state == SLOT_OFF || sl->state == SLOT_PENDING || sl->pool != p->index || sl->spot.node != i) continue;
            if (lost) lose(f, d, k);
            else if (sl->state == SLOT_READY) drain(f, d, k);
            else if (sl->state == SLOT_STARTING) lose(f, d, k);
        }
    }
}

/* A failure or a reclaim notice (drawn as one process: which one by the two rates). */
static void on_fault(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    pool *p = obj;
    int32_t i = (int32_t)arg;
    node *n = &p->nodes[i];
    n->armed = false;
    double fail = p->fe->mtbf_hours > 0 ? 1 / p->fe->mtbf_hours : 0, reclaim = p->fe->spot ? p->fe->reclaims_per_hour : 0;
    node_cordon(p, i, true); /* cordoned: nothing new goes there */
    if (gsl_rng_uniform(p->rng) * (fail + reclaim) < fail) {
        p->failures++;
        n->state = NODE_FAILED;
        node_slots(f, p, i, true);
        n->fault = evq_push(Q(f), NOW(f) + p->fe->mttr, on_repaired, p, (uint64_t)i);
        n->armed = true;
    } else {
        p->reclaims++;
        n->state = NODE_RECLAIMING;
        node_slots(f, p, i, false);
        n->fault = evq_push(Q(f), NOW(f) + p->fe->reclaim_notice, on_reclaimed, p, (uint64_t)i);
        n->armed = true;
    }
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++) reconcile(f, d); /* replacements */
}

/* A failed node is back, empty; it was billed meanwhile (the instance is still held). */
static void on_repaired(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    pool *p = obj;
    int32_t i = (int32_t)arg;
    node *n = &p->nodes[i];
    n->armed = false;
    n->state = NODE_UP;
    n->has_image = 0;
    n->ready_at = NOW(f);
    node_cordon(p, i, false);
    arm_fault(f, p, i);
    place_pending(f);
}

/* The notice is over: the node goes with whatever still runs there. */
static void on_reclaimed(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    pool *p = obj;
    int32_t i = (int32_t)arg;
    node *n = &p->nodes[i];
    n->armed = false;
    node_slots(f, p, i, true);
    ca_remove(&p->ca, n->ca_id);
    node_down(f, p, i);
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++) reconcile(f, d);
}

/* ---- Cluster Autoscaler ---- */

/* Every scan: nodes for the pending replicas that may use this pool (their GPUs packed into
 * whole nodes, as CA's estimator bin-packs), then removal of nodes empty for unneeded_time. */
static void on_scan(void *ctx, void *obj, uint64_t arg)
{
    (void)arg;
    fleet *f = sim_fleet(ctx);
    pool *p = obj;
    fs_time now = NOW(f);
    uint64_t gpus = 0;
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++) {
        const sim_deployment *dp = &f->cfg->deployments[d];
        bool mine = false;
        for (uint32_t x = 0; x < dp->npools; x++) mine |= dp->pools[x] == p->index;
        for (uint32_t k = 0; mine && k < f->dep[d].nslots; k++)
            gpus += f->dep[d].slots[k].state == SLOT_PENDING ? dp->gpus_per_replica : 0;
    }
    if (gpus > 0) {
        int32_t coming = p->ca.n - ca_ready(&p->ca, now);
        int32_t want = coming + (int32_t)((gpus + p->fe->gpus_per_node - 1) / p->fe->gpus_per_node);
        int32_t added = ca_scale_up(&p->ca, now, want, p->fe->provision);
        for (int32_t a = 0; a < added; a++) {
            int32_t i = 0;
            while (i < p->nnodes && p->nodes[i].state != NODE_DOWN) i++;
            FS_ASSERT(i < p->nnodes);
            node_up(f, p, i, p->ca.node[p->ca.n - added + a].id, now + p->fe->provision);
        }
        if (added > 0) place_pending(f);
    }
    for (int32_t x = 0; x < p->ca.n; x++) {
        const ca_node *cn = &p->ca.node[x];
        if (cn->ready_at > now) continue;
        const node *n = &p->nodes[p->pl_of_id[cn->id]];
        ca_mark(&p->ca, cn->id, now, n->state == NODE_UP && n->replicas == 0);
    }
    int32_t removed[64], m;
    while ((m = ca_scale_down(&p->ca, now, removed, 64)) > 0)
        for (int32_t x = 0; x < m; x++) node_down(f, p, p->pl_of_id[removed[x]]);
    if (sim_active(f->sim)) evq_push(Q(f), now + p->ca.cfg.scan_interval, on_scan, p, 0);
}

/* ---- autoscalers ---- */

/* A ready replica's HPA metric at a scrape (utilisation: its busy share since the last one). */
static double hpa_metric(dep_fleet *df, enum as_metric m, replica *r, uint32_t k, fs_time dt)
{
    switch (m) {
    case AS_UTILIZATION: {
        fs_time busy = r->busy_ns - df->busy_at_scrape[k];
        df->busy_at_scrape[k] = r->busy_ns;
        double u = dt > 0 ? 100.0 * (double)busy / (double)dt : 0;
        return u > 100 ? 100 : u < 0 ? 0 : u; /* a step counts as busy from when it begins */
    }
    case AS_QUEUE:
        return r->ops->waiting(r);
    case AS_CONCURRENCY:
        return r->outstanding;
    case AS_KV_USAGE: {
        uint64_t used, total;
        r->ops->kv_usage(r, &used, &total);
        return total ? 100.0 * (double)used / (double)total : 0;
    }
    case AS_RPS:
        break;
    }
    return 0;
}

static void on_scrape(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    (void)obj;
    uint32_t d = (uint32_t)arg;
    dep_fleet *df = &f->dep[d];
    const sim_autoscale *as = &f->cfg->deployments[d].autoscale;
    fs_time dt = NOW(f) - df->last_scrape;
    for (uint32_t k = 0; k < df->nslots; k++)
        df->scraped[k] = df->slots[k].state == SLOT_READY ? hpa_metric(df, as->hpa.metric, slot_replica(f, d, k), k, dt)
                                                           : NAN;
    df->last_scrape = NOW(f);
    if (sim_active(f->sim)) evq_push(Q(f), NOW(f) + as->scrape_interval, on_scrape, f, d);
}

static void set_desired(fleet *f, uint32_t d, int32_t want)
{
    if (want == f->dep[d].desired) return;
    f->dep[d].desired = want;
    reconcile(f, d);
}

static void on_hpa(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    (void)obj;
    uint32_t d = (uint32_t)arg;
    dep_fleet *df = &f->dep[d];
    hpa_sample smp = {0};
    for (uint32_t k = 0; k < df->nslots; k++) {
        const slot *sl = &df->slots[k];
        if (sl->state == SLOT_READY) {
            if (isnan(df->scraped[k])) smp.missing++;
            else smp.reported++, smp.sum += df->scraped[k];
        } else if (sl->state == SLOT_PENDING || sl->state == SLOT_STARTING) {
            smp.unready++;
        }
    }
    set_desired(f, d, hpa_sync(&df->hpa, NOW(f), df->desired, &smp));
    if (sim_active(f->sim)) evq_push(Q(f), NOW(f) + df->hpa.cfg.sync_period, on_hpa, f, d);
}

/* KPA's concurrency: the deployment's requests in flight (held ones included, as the activator
 * reports them), averaged over each second. */
static void conc_advance(fleet *f, dep_fleet *df)
{
    df->conc_area += (double)df->concurrency * fs_time_to_s(NOW(f) - df->conc_t);
    df->conc_t = NOW(f);
}

void fleet_request_in(fleet *f, uint32_t d)
{
    dep_fleet *df = &f->dep[d];
    if (!df->has_kpa) return;
    conc_advance(f, df);
    df->concurrency++;
    df->arrivals++;
    /* at zero scale the activator pokes the autoscaler at once */
    if (df->desired == 0 && kpa_record(&df->kpa, NOW(f), 1, 0)) set_desired(f, d, kpa_tick(&df->kpa, NOW(f), 0, 0));
}

void fleet_request_out(fleet *f, uint32_t d)
{
    dep_fleet *df = &f->dep[d];
    if (!df->has_kpa) return;
    conc_advance(f, df);
    df->concurrency--;
}

static void on_kpa_second(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    (void)obj;
    uint32_t d = (uint32_t)arg;
    dep_fleet *df = &f->dep[d];
    conc_advance(f, df);
    double conc = df->conc_area; /* over exactly one second */
    if (conc > 0 || df->arrivals > 0 || df->desired > 0) kpa_record(&df->kpa, NOW(f), conc, df->arrivals);
    df->conc_area = 0;
    df->arrivals = 0;
    if (sim_active(f->sim)) evq_push(Q(f), NOW(f) + FS_NS_PER_S, on_kpa_second, f, d);
}

static void on_kpa_tick(void *ctx, void *obj, uint64_t arg)
{
    fleet *f = sim_fleet(ctx);
    (void)obj;
    uint32_t d = (uint32_t)arg;
    dep_fleet *df = &f->dep[d];
    int32_t ready = 0;
    for (uint32_t k = 0; k < df->nslots; k++) ready += df->slots[k].state == SLOT_READY;
    set_desired(f, d, kpa_tick(&df->kpa, NOW(f), ready, df->desired));
    if (sim_active(f->sim)) evq_push(Q(f), NOW(f) + df->kpa.cfg.tick, on_kpa_tick, f, d);
}

/* ---- life cycle ---- */

void fleet_normalize(sim_config *cfg)
{
    for (uint32_t x = 0; x < cfg->nfleet; x++) {
        sim_fleet_entry *fe = &cfg->fleet[x];
        if (fe->gpus_per_node == 0) fe->gpus_per_node = fe->count > 0 ? fe->count : 1;
        uint32_t start = (fe->count + fe->gpus_per_node - 1) / fe->gpus_per_node;
        if (fe->max_nodes == 0) fe->min_nodes = fe->max_nodes = start; /* not given: a fixed pool */
        if (!fe->name[0]) memcpy(fe->name, fe->gpu, sizeof fe->name); /* both SIM_NAME_MAX */
    }
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        sim_deployment *dp = &cfg->deployments[d];
        if (dp->npools == 0) dp->pools[dp->npools++] = dp->gpu;
        if (dp->gpus_per_replica == 0) dp->gpus_per_replica = 1;
    }
}

bool fleet_has_faults(const sim_config *cfg, uint32_t d)
{
    const sim_deployment *dp = &cfg->deployments[d];
    for (uint32_t x = 0; x < dp->npools; x++) {
        const sim_fleet_entry *fe = &cfg->fleet[dp->pools[x]];
        if (fe->mtbf_hours > 0 || (fe->spot && fe->reclaims_per_hour > 0)) return true;
    }
    return false;
}

uint32_t fleet_slots(const sim_config *cfg, uint32_t d)
{
    const sim_deployment *dp = &cfg->deployments[d];
    if (is_disaggregated(dp) || (dp->autoscale.kind == SIM_SCALE_NONE && !fleet_has_faults(cfg, d))) return dp->replicas;
    /* as many as its pools could ever hold, and at most twice its maximum plus one (draining
     * replicas and their replacements side by side) */
    uint64_t cap = 0;
    for (uint32_t x = 0; x < dp->npools; x++) {
        const sim_fleet_entry *fe = &cfg->fleet[dp->pools[x]];
        uint32_t nodes = fe->max_nodes > 0 ? fe->max_nodes : 1;
        uint32_t per_gpu = dp->mig_profile ? (uint32_t)dp->mig_profile->max_instances : fe->shares ? fe->shares : 1;
        cap += (uint64_t)nodes * (fe->gpus_per_node / dp->gpus_per_replica) * per_gpu;
    }
    uint64_t max = dp->replicas;
    if (dp->autoscale.kind == SIM_SCALE_HPA) max = (uint64_t)dp->autoscale.hpa.max_replicas;
    if (dp->autoscale.kind == SIM_SCALE_KPA)
        max = dp->autoscale.kpa.max_scale > 0 ? (uint64_t)dp->autoscale.kpa.max_scale : cap;
    if (max < dp->replicas) max = dp->replicas;
    uint64_t n = 2 * max + 1;
    if (n > cap) n = cap;
    if (n < dp->replicas) n = dp->replicas;
    return (uint32_t)n;
}

fleet *fleet_new(struct sim *s, const sim_config *cfg)
{
    fleet *f = fs_xcalloc(1, sizeof *f);
    f->sim = s;
    f->cfg = cfg;
    f->policy = (enum pl_policy)cfg->placement_policy;
    f->place_rng = fs_rng_new(cfg->seed, FS_STREAM_PLACEMENT, SIM_MAX_FLEET);
    for (uint32_t x = 0; x < cfg->nfleet; x++) {
        pool *p = &f->pools[x];
        const sim_fleet_entry *fe = &cfg->fleet[x];
        p->fe = fe;
        p->index = x;
        int32_t start_nodes = (int32_t)((fe->count + fe->gpus_per_node - 1) / fe->gpus_per_node);
        p->nnodes = (int32_t)fe->max_nodes > start_nodes ? (int32_t)fe->max_nodes : start_nodes;
        if (p->nnodes < 1) p->nnodes = 1;
        pl_node_spec *spec = fs_xcalloc((size_t)p->nnodes, sizeof *spec);
        p->nodes = fs_xcalloc((size_t)p->nnodes, sizeof *p->nodes);
        for (int32_t i = 0; i < p->nnodes; i++) {
            uint32_t left = i < start_nodes ? fe->count - (uint32_t)i * fe->gpus_per_node : fe->gpus_per_node;
            p->nodes[i].gpus = (int)(left < fe->gpus_per_node ? left : fe->gpus_per_node);
            spec[i] = (pl_node_spec){0, 0, p->nodes[i].gpus, 0};
        }
        p->cl = pl_cluster_new(spec, p->nnodes);
        free(spec);
        if (fe->mig_dynamic) {
            p->mig = mp_cluster_new(fe->mig_dynamic, p->nnodes, (int)fe->gpus_per_node);
            mp_cluster_set_repartition(p->mig, fe->mig_repartition);
        }
        if (fe->shares && !fe->mps) {
            p->groups = fs_xcalloc((size_t)p->nnodes * fe->gpus_per_node, sizeof *p->groups);
            for (size_t g = 0; g < (size_t)p->nnodes * fe->gpus_per_node; g++) p->groups[g].overhead = fe->switch_overhead;
        }
        p->rng = fs_rng_new(cfg->seed, FS_STREAM_FAILURES, x);
        p->scaling = fe->min_nodes < fe->max_nodes;
        ca_config cc = ca_defaults((int32_t)fe->min_nodes, p->nnodes);
        cc.unneeded_time = fe->unneeded_time;
        ca_init(&p->ca, &cc, start_nodes, 0);
        for (int32_t i = 0; i < p->nnodes; i++) {
            if (i < start_nodes) node_up(f, p, i, p->ca.node[i].id, 0);
            else node_cordon(p, i, true);
        }
        p->nodes_added = 0;
        if (p->scaling) evq_push(Q(f), cc.scan_interval, on_scan, p, 0);
    }
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        const sim_deployment *dp = &cfg->deployments[d];
        dep_fleet *df = &f->dep[d];
        df->nslots = fleet_slots(cfg, d);
        df->slots = fs_xcalloc(df->nslots ? df->nslots : 1, sizeof *df->slots);
        df->desired = (int32_t)dp->replicas;
        fs_sample_init(&df->cold_start_s);
        /* the starting replicas are ready at time 0, placed in order as the scenario placed them */
        for (uint32_t k = 0; k < dp->replicas; k++) {
            slot *sl = &df->slots[k];
            sl->state = SLOT_READY;
            sl->pool = UINT32_MAX; /* a MIG instance: the scenario counted those, they never move */
            for (uint32_t x = 0; x < dp->npools && sl->pool == UINT32_MAX; x++) {
                pool *p = &f->pools[dp->pools[x]];
                pl_pod pod = pod_for(p, dp);
                mp_placement mpl;
                if (p->mig) { /* made one by one, as the scenario checked they fit */
                    if (mp_place(p->mig, dp->mig_profile, (enum mp_policy)p->fe->mig_policy, &mpl) != 0) continue;
                    sl->mig = mpl.where;
                    sl->spot = (pl_spot){mpl.where.node, 0};
                } else if (p->fe->mig || pl_place(p->cl, f->policy, &pod, f->place_rng, &sl->spot) != 0) {
                    continue;
                }
                sl->pool = p->index;
                p->nodes[sl->spot.node].replicas++;
                p->nodes[sl->spot.node].has_image |= UINT32_C(1) << d; /* it was running there: pulled at 0 */
                join_group(p, &sl->spot, slot_replica(f, d, k));
            }
        }
        if (dp->autoscale.kind == SIM_SCALE_HPA) {
            hpa_init(&df->hpa, &dp->autoscale.hpa);
            df->has_hpa = true;
            df->scraped = fs_xmalloc(df->nslots * sizeof *df->scraped);
            df->busy_at_scrape = fs_xcalloc(df->nslots, sizeof *df->busy_at_scrape);
            for (uint32_t k = 0; k < df->nslots; k++) df->scraped[k] = NAN;
            evq_push(Q(f), dp->autoscale.scrape_interval, on_scrape, f, d);
            evq_push(Q(f), dp->autoscale.hpa.sync_period, on_hpa, f, d);
        } else if (dp->autoscale.kind == SIM_SCALE_KPA) {
            kpa_init(&df->kpa, &dp->autoscale.kpa, 0, (int32_t)dp->replicas);
            df->has_kpa = true;
            evq_push(Q(f), FS_NS_PER_S, on_kpa_second, f, d);
            evq_push(Q(f), dp->autoscale.kpa.tick, on_kpa_tick, f, d);
        }
    }
    return f;
}

void fleet_free(fleet *f)
{
    if (!f) return;
    for (uint32_t x = 0; x < f->cfg->nfleet; x++) {
        pool *p = &f->pools[x];
        pl_cluster_free(p->cl);
        mp_cluster_free(p->mig);
        free(p->groups);
        free(p->nodes);
        free(p->pl_of_id);
        ca_fini(&p->ca);
        fs_rng_free(p->rng);
    }
    for (uint32_t d = 0; d < f->cfg->ndeployments; d++) {
        dep_fleet *df = &f->dep[d];
        if (df->has_hpa) hpa_fini(&df->hpa);
        if (df->has_kpa) kpa_fini(&df->kpa);
        free(df->slots);
        free(df->scraped);
        free(df->busy_at_scrape);
        fs_sample_fini(&df->cold_start_s);
    }
    fs_rng_free(f->place_rng);
    free(f);
}

/* ---- what it cost ---- */

double fleet_billed_gpu_s(const fleet *f, uint32_t x, fs_time end)
{
    const pool *p = &f->pools[x];
    double s = p->billed_gpu_s;
    for (int32_t i = 0; i < p->nnodes; i++)
        if (p->nodes[i].state != NODE_DOWN) s += fs_time_to_s(end - p->nodes[i].billed_from) * p->nodes[i].gpus;
    return s;
}

double fleet_held_gpu_s(const fleet *f, uint32_t d, fs_time end)
{
    const dep_fleet *df = &f->dep[d];
    const sim_deployment *dp = &f->cfg->deployments[d];
    double gpus = dp->gpu_share > 0 ? dp->gpu_share : dp->gpus_per_replica, s = 0;
    for (uint32_t k = 0; k < df->nslots; k++) {
        const slot *sl = &df->slots[k];
        s += sl->held_gpu_s / dp->gpus_per_replica * gpus;
        if (sl->state != SLOT_OFF && sl->state != SLOT_PENDING) s += fs_time_to_s(end - sl->placed) * gpus;
    }
    return s;
}

void fleet_counts(const fleet *f, uint32_t d, fleet_count *out)
{
    const dep_fleet *df = &f->dep[d];
    *out = (fleet_count){0};
    for (uint32_t k = 0; k < df->nslots; k++) {
        switch (df->slots[k].state) {
        case SLOT_PENDING: out->pending++; break;
        case SLOT_STARTING: out->starting++; break;
        case SLOT_READY: out->ready++; break;
        case SLOT_DRAINING: out->draining++; break;
        case SLOT_OFF: break;
        }
    }
    out->desired = df->desired;
}

uint32_t fleet_nodes_up(const fleet *f, uint32_t x)
{
    const pool *p = &f->pools[x];
    uint32_t n = 0;
    for (int32_t i = 0; i < p->nnodes; i++) n += p->nodes[i].state != NODE_DOWN;
    return n;
}

void fleet_metrics(fleet *f, fs_metrics *m)
{
    const sim_config *c = f->cfg;
    for (uint32_t d = 0; d < c->ndeployments; d++) {
        dep_fleet *df = &f->dep[d];
        const char *name = c->deployments[d].name;
        if (!df->has_hpa && !df->has_kpa && df->cold_starts == 0) continue;
        fs_metrics_add(m, "cold_starts", name, (double)df->cold_starts, "replicas");
        fs_metrics_add(m, "scale_ups", name, (double)df->scale_ups, "replicas");
        fs_metrics_add(m, "scale_downs", name, (double)df->scale_downs, "replicas");
        if (df->cold_start_s.n > 0) {
            fs_summary sm;
            fs_sample_summarize(&df->cold_start_s, &sm);
            fs_metrics_add(m, "cold_start_mean", name, sm.mean, "s");
            fs_metrics_add(m, "cold_start_max", name, sm.max, "s");
        }
    }
    bool any_faults = false;
    for (uint32_t x = 0; x < c->nfleet; x++) {
        const pool *p = &f->pools[x];
        any_faults |= p->failures + p->reclaims > 0 || p->fe->mtbf_hours > 0 || p->fe->spot;
        if (p->scaling) {
            fs_metrics_add(m, "nodes_added", p->fe->name, (double)p->nodes_added, "nodes");
            fs_metrics_add(m, "nodes_removed", p->fe->name, (double)p->nodes_removed, "nodes");
            fs_metrics_add(m, "nodes_peak", p->fe->name, (double)p->peak_nodes, "nodes");
        }
        if (p->fe->mtbf_hours > 0) fs_metrics_add(m, "node_failures", p->fe->name, (double)p->failures, "nodes");
        if (p->fe->spot) fs_metrics_add(m, "spot_reclaims", p->fe->name, (double)p->reclaims, "nodes");
        if (p->mig) { /* the instances at the end */
            mp_totals t;
            mp_cluster_totals(p->mig, &t);
            fs_metrics_add(m, "mig_instances", p->fe->name, t.instances, "instances");
            fs_metrics_add(m, "mig_repartitions", p->fe->name, (double)p->repartitions, "GPUs");
            fs_metrics_add(m, "mig_fragmentation", p->fe->name, 100 * t.frag, "%");
        }
    }
    if (any_faults) {
        fs_metrics_add(m, "lost_requests", "retried", (double)f->lost_retried, "requests");
        fs_metrics_add(m, "lost_requests", "failed", (double)f->lost_failed, "requests");
    }
}
