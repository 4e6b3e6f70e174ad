#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define INTERRUPT_CHECK_EVERY 4096

/* A source's requests are scheduled as arrival events when pulled: an open-loop source has one
 * such request ahead at a time (pulled again when it arrives); a closed-loop one (it once said
 * WL_WAIT) is pulled after each of its completions until it waits again. */
typedef struct source_slot {
    wl_source *src;
    bool done, closed;
    uint64_t pending, inflight; /* scheduled but not arrived; arrived, not finished */
    bool waking;                /* a wake-up is scheduled (the source's last WL_WAIT asked for one) */
    evq_handle wake;
} source_slot;

typedef struct deployment_rt {
    uint32_t same_model;  /* bit e: deployment e serves the same model (itself included) */
    uint32_t region;      /* its first pool's region; 0: none */
    uint64_t inflight;    /* its requests entered and not yet left */
    replica **replicas;   /* into sim.replicas: its slots (NULL until a slot first starts) */
    uint32_t first, nslots; /* global index of slot 0, and how many */
    router *router;       /* where requests arrive (the prefill pool when disaggregated) */
    router *decode;       /* the decode pool of a disaggregated deployment, else NULL */
    fs_rng *service;      /* service demands, drawn in arrival order */
} deployment_rt;

struct sim {
    sim_config cfg;
    sim_sink sink;
    evq *q;
    fs_time now;
    fs_error err;
    bool failed, stopped;

    source_slot *sources;
    uint32_t nsources, sources_live;
    uint64_t arrived, npending;  /* arrived; scheduled to arrive */
    bool capped;                 /* max_requests have arrived */

    replica **replicas;   /* every slot of every deployment; NULL: never started */
    uint32_t nreplicas;
    deployment_rt dep[SIM_MAX_DEPLOYMENTS];
    fleet *fleet;

    sim_req *free_reqs;   /* pool free list */
    sim_req *inflight;    /* doubly linked through prev/next_inflight */
    size_t ninflight;

    /* measurement */
    fs_sample ttft, e2e, queue, tpot; /* ms, of measured requests in completion order */
    fs_hist itl;                      /* ns, every inter-token gap of measured requests */
    uint64_t measured_arrived, completed, good, unfinished, rejected;
    uint64_t in_tokens, out_tokens, cached_tokens, preemptions;
    uint64_t llm_in_tokens, llm_out_tokens; /* of requests served by llm deployments */
    bool any_llm;
    uint64_t interval_arrivals, interval_done;
    /* admission: each limit's bucket, and the 429s */
    double bucket[SIM_MAX_LIMITS];
    fs_time refilled[SIM_MAX_LIMITS];
    uint64_t rate_limited, throttled_dropped;
    uint64_t remote, residency_refused; /* served in another region than their own; no allowed region */
    uint64_t abandoned;          /* measured requests whose client gave up (admission.timeout) */
    uint64_t held;               /* measured requests that waited for a first ready replica */
    fs_time held_ns, held_max;
    double sampled_j;            /* energy at the last sample, for the power series */
    fs_time sampled_at;
    /* per tenant (index 0: requests without one), measured requests */
    struct tenant_stats {
        uint64_t arrived, completed, good, unfinished, rejected, rate_limited;
        double ttft_ms, e2e_ms; /* sums */
    } *tenants;
    uint32_t ntenants;
    fs_time end;
};

evq *sim_queue(struct sim *s) { return s->q; }
fs_time sim_now(const struct sim *s) { return s->now; }

/* ---- request objects ---- */

/* A request object for r (its chain copied into the object's own buffer), on the list of
 * requests the simulation holds; not yet arrived. */
static sim_req *req_alloc(sim *s, const wl_request *r)
{
    sim_req *q = s->free_reqs;
    uint64_t *chain = NULL;
    int32_t cap = 0;
    if (q) {
        s->free_reqs = q->next;
        chain = q->chain_buf;
        cap = q->chain_cap;
    } else {
        q = fs_xmalloc(sizeof *q);
    }
    memset(q, 0, sizeof *q);
    q->r = *r;
    if (r->nchain > 0) {
        if (r->nchain > cap) {
            size_t c = (size_t)cap;
            chain = fs_xgrow(chain, &c, (size_t)r->nchain, sizeof *chain);
            cap = (int32_t)c;
        }
        memcpy(chain, r->chain, (size_t)r->nchain * sizeof *chain);
        q->r.chain = chain;
    } else {
        q->r.chain = NULL;
        q->r.nchain = 0;
    }
    q->chain_buf = chain;
    q->chain_cap = cap;
    q->start = q->first_token = -1;
    q->replica = SIM_NO_REPLICA;
    q->next_inflight = s->inflight;
    if (s->inflight) s->inflight->prev_inflight = q;
    s->inflight = q;
    return q;
}

static void req_release(sim *s, sim_req *q)
{
    if (q->prev_inflight) q->prev_inflight->next_inflight = q->next_inflight;
    else s->inflight = q->next_inflight;
    if (q->next_inflight) q->next_inflight->prev_inflight = q->prev_inflight;
    if (q->arrived) s->ninflight--;
    q->next = s->free_reqs;
    s->free_reqs = q;
}

static void fail(sim *s, const fs_error *err)
{
    if (!s->failed) s->err = *err;
    s->failed = true;
}

static void emit_row(sim *s, const sim_req *q, fs_time done)
{
    if (!s->sink.request) return;
    sim_request_row row = {
        .id = q->seq, .deployment = q->r.target, .replica = q->replica,
        .arrival = q->r.arrival, .start = q->start, .first_token = q->first_token < 0 ? -1 : q->first_token + q->back,
        .done = done < 0 ? -1 : done + q->back, .input_tokens = q->r.input_tokens, .output_tokens = q->r.output_tokens,
        .preemptions = q->preemptions, .cached_tokens = q->cached_tokens,
        .finished = done >= 0, .measured = q->r.arrival >= s->cfg.warmup,
    };
    fs_error e;
    if (s->sink.request(s->sink.ctx, &row, &e) != 0) fail(s, &e);
}

/* ---- arrivals ---- */

static void on_arrival(void *ctx, void *obj, uint64_t arg);
static void on_source_wake(void *ctx, void *obj, uint64_t arg);
static bool admit(sim *s, sim_req *q);
static void on_timeout(void *ctx, void *obj, uint64_t arg);
static void abandon_now(sim *s, sim_req *q);

static void source_done(sim *s, source_slot *sl)
{
    if (sl->done) return;
    sl->done = true;
    s->sources_live--;
}

/* Schedule source i's next requests, unless its arrivals have ended: one for an open-loop source,
 * all it has ready for a closed-loop one. */
static void pull(sim *s, uint32_t i)
{
    source_slot *sl = &s->sources[i];
    while (!sl->done && !s->capped) {
        wl_request r = {.arrival = FS_TIME_MAX}; /* fields a source leaves alone: 0, and no wake-up */
        fs_error e;
        int rc = wl_next(sl->src, &r, &e);
        if (rc < 0) fail(s, &e);
        if (rc == WL_WAIT) {
            sl->closed = true;
            /* one wake-up per source, moved by each wait */
            if (sl->waking) evq_cancel(s->q, sl->wake);
            sl->waking = r.arrival < s->cfg.duration;
            if (sl->waking) sl->wake = evq_push(s->q, r.arrival < s->now ? s->now : r.arrival, on_source_wake, sl, i);
            if (!sl->waking && sl->pending == 0 && sl->inflight == 0) source_done(s, sl); /* nothing to wait for */
            return;
        }
        if (rc == 1 && r.arrival >= s->cfg.duration && sl->closed) continue; /* past the end: that user stops */
        if (rc != 1 || r.arrival >= s->cfg.duration) {
            source_done(s, sl);
            return;
        }
        sim_req *q = req_alloc(s, &r);
        q->source = i;
        sl->pending++;
        s->npending++;
        evq_push(s->q, r.arrival < s->now ? s->now : r.arrival, on_arrival, q, 0);
        if (!sl->closed) return;
    }
}

/* A request is done with (finished or refused): a closed-loop source may now have more. */
static struct tenant_stats *tenant_of(sim *s, const sim_req *q)
{
    uint32_t t = q->r.tenant;
    if (t >= s->ntenants) {
        uint32_t n = t + 1 > 2 * s->ntenants ? t + 1 : 2 * s->ntenants;
        s->tenants = fs_xrealloc(s->tenants, n * sizeof *s->tenants);
        memset(s->tenants + s->ntenants, 0, (n - s->ntenants) * sizeof *s->tenants);
        s->ntenants = n;
    }
    return &s->tenants[t];
}

static void leave(sim *s, sim_req *q)
{
    if (q->timed) evq_cancel(s->q, q->timer);
    if (q->entered) {
        fleet_request_out(s->fleet, q->r.target);
        s->dep[q->r.target].inflight--;
    }
    uint32_t i = q->source;
    source_slot *sl = &s->sources[i];
    sl->inflight--;
    req_release(s, q);
    if (sl->closed) pull(s, i);
}

/* A waiting source's wake-up: its arrival process has the next session to start. */
static void on_source_wake(void *ctx, void *obj, uint64_t arg)
{
    sim *s = ctx;
    source_slot *sl = obj;
    sl->waking = false;
    pull(s, (uint32_t)arg);
}

static fs_time draw_service(sim *s, uint32_t d)
{
    const sim_deployment *dp = &s->cfg.deployments[d];
    double x;
    switch (dp->service) {
    case SIM_SERVICE_EXPONENTIAL:
        x = gsl_ran_exponential(s->dep[d].service, dp->service_mean_s);
        break;
    case SIM_SERVICE_LOGNORMAL: {
        double s2 = log1p(dp->service_cv * dp->service_cv);
        x = gsl_ran_lognormal(s->dep[d].service, log(dp->service_mean_s) - s2 / 2, sqrt(s2));
        break;
    }
    default:
        x = dp->service_mean_s;
    }
    return fs_time_from_s(x);
}

/* Requests in flight per ready replica (infinite with none ready). */
static double dep_load(const sim *s, uint32_t d)
{
    uint32_t ready = router_ready(s->dep[d].router);
    return ready ? (double)s->dep[d].inflight / ready : HUGE_VAL;
}

/* The deployment that serves q by the region policy (sim.h), or -1 when no allowed region has one. */
static int32_t pick_region(const sim *s, const sim_req *q)
{
    const sim_regions *rg = &s->cfg.regions;
    uint32_t from = q->r.region, allowed = rg->allowed[from], group = s->dep[q->r.target].same_model;
    int32_t local = -1, best = -1;
    double best_load = 0;
    fs_time best_lat = 0;
    for (uint32_t d = 0; d < s->cfg.ndeployments; d++) {
        if (!((group >> d) & 1)) continue;
        uint32_t reg = s->dep[d].region;
        if (allowed && !((allowed >> reg) & 1)) continue; /* a deployment without a region: never under residency */
        if (reg == from && local < 0) local = (int32_t)d;
        double load = dep_load(s, d);
        fs_time lat = rg->latency[from][reg];
        bool better;
        if (best < 0) better = true;
        else if (rg->policy == SIM_REGION_LOCAL) better = lat < best_lat || (lat == best_lat && load < best_load);
        else better = load < best_load || (load == best_load && lat < best_lat);
        if (better) best = (int32_t)d, best_load = load, best_lat = lat;
    }
    if (local >= 0 && (rg->policy == SIM_REGION_LOCAL ||
                       (rg->policy == SIM_REGION_SPILLOVER && dep_load(s, (uint32_t)local) < rg->spill_load)))
        return local;
    return best;
}

static void on_remote(void *ctx, void *obj, uint64_t arg)
{
    (void)arg;
    sim *s = ctx;
    sim_req *q = obj;
    q->in_transit = false;
    if (q->abandoned) abandon_now(s, q);
    else router_route(s->dep[q->r.target].router, q);
}

/* An admitted request goes to its deployment's router: the one its region policy picks, after
 * the trip there when that is in another region. */
static void enter(sim *s, sim_req *q)
{
    fs_time trip = 0;
    if (s->cfg.regions.policy != SIM_REGION_NONE && q->r.region > 0 && q->r.region <= SIM_MAX_REGIONS) {
        int32_t d = pick_region(s, q);
        if (d < 0) {
            q->refused_region = true;
            sim_reject(s, q, s->now);
            return;
        }
        q->r.target = (uint32_t)d;
        if (s->dep[d].region != q->r.region) {
            trip = s->cfg.regions.latency[q->r.region][s->dep[d].region];
            q->back = trip;
            s->remote += q->r.arrival >= s->cfg.warmup;
        }
    }
    q->entered = true;
    s->dep[q->r.target].inflight++;
    fleet_request_in(s->fleet, q->r.target);
    if (trip > 0) {
        evq_push(s->q, s->now + trip, on_remote, q, 0);
        q->in_transit = true;
    }
    else router_route(s->dep[q->r.target].router, q);
}

static void on_arrival(void *ctx, void *obj, uint64_t arg)
{
    (void)arg;
    sim *s = ctx;
    sim_req *q = obj;
    uint32_t i = q->source;
    source_slot *sl = &s->sources[i];
    sl->pending--;
    if (s->capped) { /* past the request cap: arrivals have ended */
        req_release(s, q);
        return;
    }
    s->npending--;
    sl->inflight++;
    q->arrived = true;
    q->seq = s->arrived++; /* the run's own numbering, in arrival order over all sources */
    s->ninflight++;
    q->service = draw_service(s, q->r.target);
    s->interval_arrivals++;
    if (q->r.arrival >= s->cfg.warmup) {
        s->measured_arrived++;
        tenant_of(s, q)->arrived++;
    }
    if (s->cfg.max_requests && s->arrived >= s->cfg.max_requests) {
        /* the cap counts arrivals in time order over all sources: what is scheduled after this
         * one will not arrive */
        s->capped = true;
        s->npending = 0;
        for (uint32_t k = 0; k < s->nsources; k++) source_done(s, &s->sources[k]);
    }
    if (s->cfg.admission.timeout > 0) {
        q->timer = evq_push(s->q, q->r.arrival + s->cfg.admission.timeout, on_timeout, q, 0);
        q->timed = true;
    }
    if (admit(s, q)) enter(s, q); /* may finish q at once (refused) */
    if (!sl->closed) pull(s, i);
}

static void on_retry(void *ctx, void *obj, uint64_t arg)
{
    (void)arg;
    sim *s = ctx;
    sim_req *q = obj;
    q->retrying = false;
    if (q->abandoned) abandon_now(s, q);
    else if (admit(s, q)) enter(s, q);
}

/* The tenant's token bucket takes the request, or it gets a 429: retried after backoff, or,
 * out of retries, given up. */
static bool admit(sim *s, sim_req *q)
{
    const sim_admission *a = &s->cfg.admission;
    for (uint32_t k = 0; k < a->nlimits; k++) {
        if (a->limits[k].tenant != q->r.tenant) continue;
        double b = s->bucket[k] + a->limits[k].rps * fs_time_to_s(s->now - s->refilled[k]);
        s->bucket[k] = b < a->limits[k].burst ? b : a->limits[k].burst;
        s->refilled[k] = s->now;
        if (s->bucket[k] >= 1) {
            s->bucket[k] -= 1;
            return true;
        }
        s->rate_limited++;
        if (q->r.arrival >= s->cfg.warmup) tenant_of(s, q)->rate_limited++;
        if (q->attempts++ < a->retries) {
            fs_time wait = (fs_time)llround((double)a->backoff * pow(a->backoff_multiplier, q->attempts - 1));
            evq_push(s->q, s->now + wait, on_retry, q, 0);
            q->retrying = true;
        } else {
            q->throttled = true;
            sim_reject(s, q, s->now);
        }
        return false;
    }
    return true;
}

static router *router_of(sim *s, const replica *r)
{
    deployment_rt *d = &s->dep[r->deployment];
    return d->decode && r->index - d->first >= s->cfg.deployments[r->deployment].llm.prefill_replicas ? d->decode
                                                                                                        : d->router;
}

/* Request q leaves replica r (done, refused, handed on): the router's books, then room for
 * queued work, or the end of a draining replica. */
static void release(sim *s, replica *r, const sim_req *q, bool capacity)
{
    router *rt = router_of(s, r);
    router_release(rt, r, q);
    if (capacity) router_on_capacity(rt, r);
    if (r->outstanding == 0) fleet_replica_idle(s->fleet, r);
}

static void on_kv_arrived(void *ctx, void *obj, uint64_t arg)
{
    (void)arg;
    sim *s = ctx;
    sim_req *q = obj;
    router_route(s->dep[q->r.target].decode, q);
}

void sim_handoff(struct sim *s, sim_req *q, fs_time t)
{
    const sim_llm *l = &s->cfg.deployments[q->r.target].llm;
    replica *r = s->replicas[q->replica];
    release(s, r, q, true);
    q->replica = SIM_NO_REPLICA;
    q->kv_tokens = q->r.input_tokens;
    double bytes = model_kv_bytes_per_token(l->model, l->tp, l->kv == ST_FP8 ? 1 : 2) * q->kv_tokens;
    fs_time transfer = (fs_time)llround(bytes / l->kv_link_bw * 1e9) + l->kv_link_latency;
    evq_push(s->q, t + transfer, on_kv_arrived, q, 0);
}

/* ---- progress reported by replicas ---- */

void sim_first_token(struct sim *s, sim_req *q, fs_time t)
{
    if (q->first_token < 0) q->first_token = t;
    if (q->timed) { /* the client has its first token: it waits for the rest */
        evq_cancel(s->q, q->timer);
        q->timed = false;
    }
}

void sim_itl(struct sim *s, fs_time gap, uint64_t weight)
{
    fs_hist_add(&s->itl, gap, weight);
}

void sim_itl_run(struct sim *s, const decode_run *r, int32_t j, uint64_t weight)
{
    dr_add_gaps(r, j, &s->itl, weight);
}

uint64_t sim_req_uid(const sim_req *q) { return fs_hash64(q->r.id, (uint64_t)q->source + 1); }

void sim_done(struct sim *s, sim_req *q, fs_time t)
{
    const sim_config *c = &s->cfg;
    s->interval_done++;
    if (q->r.arrival >= c->warmup) { /* as the client sees them: the response's trip back included */
        fs_time ttft = q->first_token + q->back - q->r.arrival, e2e = t + q->back - q->r.arrival;
        double tpot = q->r.output_tokens > 1 ? (double)(e2e - ttft) / (q->r.output_tokens - 1) : 0;
        s->completed++;
        s->in_tokens += (uint64_t)q->r.input_tokens;
        s->out_tokens += (uint64_t)q->r.output_tokens;
        if (s->cfg.deployments[q->r.target].kind == SIM_KIND_LLM) {
            s->llm_in_tokens += (uint64_t)q->r.input_tokens;
            s->llm_out_tokens += (uint64_t)q->r.output_tokens;
        }
        s->cached_tokens += (uint64_t)q->cached_tokens;
        s->preemptions += (uint64_t)q->preemptions;
        fs_sample_push(&s->ttft, fs_time_to_ms(ttft));
        fs_sample_push(&s->e2e, fs_time_to_ms(e2e));
        fs_sample_push(&s->queue, fs_time_to_ms(q->start - q->r.arrival));
        if (s->cfg.deployments[q->r.target].kind == SIM_KIND_LLM && q->r.output_tokens > 1)
            fs_sample_push(&s->tpot, tpot / 1e6);
        bool good = (!c->slo_ttft || ttft <= c->slo_ttft) && (!c->slo_e2e || e2e <= c->slo_e2e) &&
                    (!c->slo_tpot || tpot <= (double)c->slo_tpot);
        s->good += good;
        struct tenant_stats *ts = tenant_of(s, q);
        ts->completed++;
        ts->good += good;
        ts->ttft_ms += fs_time_to_ms(ttft);
        ts->e2e_ms += fs_time_to_ms(e2e);
    }
    emit_row(s, q, t);
    wl_complete(s->sources[q->source].src, &q->r, t + q->back);
    release(s, s->replicas[q->replica], q, true);
    leave(s, q);
}

void sim_reject(struct sim *s, sim_req *q, fs_time t)
{
    if (q->r.arrival >= s->cfg.warmup) { /* refused by an engine or for residency, or given up after 429s */
        s->rejected += !q->throttled && !q->refused_region;
        s->throttled_dropped += q->throttled;
        s->residency_refused += q->refused_region;
        tenant_of(s, q)->rejected++;
    }
    if (s->sink.request) {
        sim_request_row row = {
            .id = q->seq, .deployment = q->r.target, .replica = q->replica, .arrival = q->r.arrival,
            .start = -1, .first_token = -1, .done = t, .input_tokens = q->r.input_tokens,
            .output_tokens = q->r.output_tokens, .rejected = true, .measured = q->r.arrival >= s->cfg.warmup,
        };
        fs_error e;
        if (s->sink.request(s->sink.ctx, &row, &e) != 0) fail(s, &e);
    }
    wl_complete(s->sources[q->source].src, &q->r, t);
    if (q->replica != SIM_NO_REPLICA) release(s, s->replicas[q->replica], q, false);
    leave(s, q);
}

void sim_held(struct sim *s, const sim_req *q, fs_time waited)
{
    if (q->r.arrival < s->cfg.warmup) return;
    s->held++;
    s->held_ns += waited;
    if (waited > s->held_max) s->held_max = waited;
}

/* The client gave up: counted, streamed as unfinished, out of its replica (or queue). */
void sim_abandon(struct sim *s, sim_req *q, fs_time t)
{
    if (q->r.arrival >= s->cfg.warmup) {
        s->abandoned++;
        tenant_of(s, q)->unfinished++;
    }
    emit_row(s, q, -1);
    wl_complete(s->sources[q->source].src, &q->r, t);
    if (q->replica != SIM_NO_REPLICA) release(s, s->replicas[q->replica], q, true);
    leave(s, q);
}

static void abandon_now(sim *s, sim_req *q) { sim_abandon(s, q, s->now); }

/* No first token within admission.timeout: the client gives up wherever the request is. */
static void on_timeout(void *ctx, void *obj, uint64_t arg)
{
    (void)arg;
    sim *s = ctx;
    sim_req *q = obj;
    q->timed = false;
    q->abandoned = true;
    if (q->retrying || q->in_transit) return; /* on_retry or on_remote finishes it */
    if (q->replica == SIM_NO_REPLICA) {        /* held or in a central queue */
        if (router_withdraw(s->dep[q->r.target].router, q)) abandon_now(s, q);
        return;
    }
    replica *r = s->replicas[q->replica];
    if (r->ops->abandon(r, q)) abandon_now(s, q); /* else its replica drops it when it can */
}

/* ---- services to the fleet ---- */

fleet *sim_fleet(void *sim_ctx) { return ((sim *)sim_ctx)->fleet; }
bool sim_active(const sim *s) { return !(s->sources_live == 0 && s->ninflight == 0 && s->npending == 0); }
router *sim_dep_router(sim *s, uint32_t d) { return s->dep[d].router; }
replica **sim_dep_replicas(sim *s, uint32_t d) { return s->dep[d].replicas; }
uint32_t sim_dep_first(const sim *s, uint32_t d) { return s->dep[d].first; }

replica *sim_make_replica(sim *s, uint32_t d, uint32_t k)
{
    const sim_deployment *dp = &s->cfg.deployments[d];
    uint32_t np = dp->kind == SIM_KIND_LLM ? dp->llm.prefill_replicas : 0, idx = s->dep[d].first + k;
    return dp->kind != SIM_KIND_LLM ? fixed_replica_new(s, dp, idx, d)
                                    : llm_replica_new(s, dp, idx, d, np == 0 ? LLM_BOTH : k < np ? LLM_PREFILL : LLM_DECODE);
}

void sim_requeue(sim *s, req_fifo *lost, bool retry)
{
    sim_req *q;
    while ((q = fifo_pop(lost)) != NULL) {
        replica *r = s->replicas[q->replica];
        router_release(router_of(s, r), r, q);
        q->replica = SIM_NO_REPLICA;
        if (q->abandoned) { /* its client had already given up */
            abandon_now(s, q);
            continue;
        }
        if (retry) {
            router_route(s->dep[q->r.target].router, q);
            continue;
        }
        if (q->r.arrival >= s->cfg.warmup) { /* failed with its replica: unfinished, as the client sees it */
            s->unfinished++;
            tenant_of(s, q)->unfinished++;
        }
        emit_row(s, q, -1);
        wl_complete(s->sources[q->source].src, &q->r, s->now);
        leave(s, q);
    }
}

/* ---- time series ---- */

static void sample_replica(sim *s, uint32_t i, uint32_t run, uint32_t wait, uint64_t used, uint64_t total)
{
    static const char *const names[] = {"running", "waiting", "kv_usage", "busy"};
    const double v[] = {run, wait, total ? 100.0 * (double)used / (double)total : 0, run > 0};
    for (size_t k = 0; k < 4; k++) {
        char name[48];
        snprintf(name, sizeof name, "replica[%u].%s", i, names[k]);
        fs_error e;
        if (s->sink.sample(s->sink.ctx, s->now, name, v[k], &e) != 0) fail(s, &e);
    }
}

static double energy_j(const sim *s, fs_time end);

static void on_sample(void *ctx, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    sim *s = ctx;
    if (s->sink.sample) {
        uint64_t waiting = 0, running = 0, busy = 0, kv_used = 0, kv_total = 0;
        for (uint32_t d = 0; d < s->cfg.ndeployments; d++)
            waiting += router_queued(s->dep[d].router) + (s->dep[d].decode ? router_queued(s->dep[d].decode) : 0);
        for (uint32_t i = 0; i < s->nreplicas; i++) {
            replica *r = s->replicas[i];
            if (!r) continue;
            uint32_t run = r->ops->running(r), wait = r->ops->waiting(r);
            uint64_t u, t;
            r->ops->kv_usage(r, &u, &t);
            waiting += wait;
            running += run;
            busy += run > 0;
            kv_used += u;
            kv_total += t;
            if (s->cfg.per_replica_series) sample_replica(s, i, run, wait, u, t);
        }
        double per_s = 1.0 / fs_time_to_s(s->cfg.sample_interval), cost = 0;
        fleet_count all = {0}, one;
        for (uint32_t d = 0; d < s->cfg.ndeployments; d++) {
            fleet_counts(s->fleet, d, &one);
            all.desired += one.desired, all.starting += one.starting + one.pending, all.ready += one.ready;
            all.draining += one.draining;
        }
        uint32_t nodes = 0;
        for (uint32_t x = 0; x < s->cfg.nfleet; x++) {
            nodes += fleet_nodes_up(s->fleet, x);
            cost += fleet_billed_gpu_s(s->fleet, x, s->now) / 3600 * s->cfg.fleet[x].price_per_hour;
        }
        double joules = energy_j(s, s->now);
        const struct { const char *name; double v; } pts[] = {
            {"power", (joules - s->sampled_j) / fs_time_to_s(s->now - s->sampled_at)},
            {"waiting", (double)waiting},
            {"running", (double)running},
            {"busy_replicas", (double)busy},
            {"busy_fraction", all.ready + all.draining ? (double)busy / (all.ready + all.draining) : 0},
            {"replicas_ready", (double)all.ready},
            {"replicas_starting", (double)all.starting},
            {"replicas_desired", (double)all.desired},
            {"nodes", (double)nodes},
            {"cost", cost},
            {"arrival_rate", (double)s->interval_arrivals * per_s},
            {"completion_rate", (double)s->interval_done * per_s},
            {"kv_usage", kv_total ? 100.0 * (double)kv_used / (double)kv_total : 0},
        };
        for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
            fs_error e;
            if (s->sink.sample(s->sink.ctx, s->now, pts[k].name, pts[k].v, &e) != 0) fail(s, &e);
        }
    }
    s->interval_arrivals = s->interval_done = 0;
    s->sampled_j = energy_j(s, s->now);
    s->sampled_at = s->now;
    if (evq_size(s->q) > 0) evq_push(s->q, s->now + s->cfg.sample_interval, on_sample, s, 0);
}

static void on_drain_deadline(void *ctx, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    ((sim *)ctx)->stopped = true;
}

/* ---- life cycle ---- */

sim *sim_new(const sim_config *cfg, wl_source **sources, uint32_t nsources, const sim_sink *sink)
{
    sim *s = fs_xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    if (sink) s->sink = *sink;
    s->q = evq_new();
    s->nsources = nsources;
    s->sources = fs_xcalloc(nsources ? nsources : 1, sizeof *s->sources);
    for (uint32_t k = 0; k < cfg->admission.nlimits; k++) s->bucket[k] = cfg->admission.limits[k].burst; /* full */
    for (uint32_t i = 0; i < nsources; i++) s->sources[i].src = sources[i];

    fleet_normalize(&s->cfg);
    cfg = &s->cfg;
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        s->dep[d].first = s->nreplicas;
        s->dep[d].nslots = fleet_slots(cfg, d);
        s->nreplicas += s->dep[d].nslots;
    }
    s->replicas = fs_xcalloc(s->nreplicas ? s->nreplicas : 1, sizeof *s->replicas);
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        const sim_deployment *dp = &cfg->deployments[d];
        deployment_rt *dr = &s->dep[d];
        dr->replicas = &s->replicas[dr->first];
        uint32_t np = dp->kind == SIM_KIND_LLM ? dp->llm.prefill_replicas : 0;
        for (uint32_t k = 0; k < dp->replicas; k++) dr->replicas[k] = sim_make_replica(s, d, k);
        s->any_llm |= dp->kind == SIM_KIND_LLM;
        /* a disaggregated deployment never scales: its slots are its replicas */
        dr->router = router_new(dp->router, &dp->routing, s, dr->replicas, dr->first, np ? np : dr->nslots,
                                np ? np : dp->replicas, fs_rng_new(cfg->seed, FS_STREAM_ROUTING, d));
        if (np)
            dr->decode = router_new(dp->router, &dp->routing, s, dr->replicas + np, dr->first + np, dp->replicas - np,
                                    dp->replicas - np, fs_rng_new(cfg->seed, FS_STREAM_ROUTING, SIM_MAX_DEPLOYMENTS + d));
        dr->service = fs_rng_new(cfg->seed, FS_STREAM_SERVICE, d);
        dr->region = cfg->fleet[dp->pools[0]].region;
        for (uint32_t e = 0; e < cfg->ndeployments; e++)
            if (strcmp(cfg->deployments[e].model, dp->model) == 0 && cfg->deployments[e].kind == dp->kind)
                dr->same_model |= UINT32_C(1) << e;
    }
    s->fleet = fleet_new(s, &s->cfg);
    fs_sample_init(&s->ttft);
    fs_sample_init(&s->e2e);
    fs_sample_init(&s->queue);
    fs_sample_init(&s->tpot);
    fs_hist_init(&s->itl);
    return s;
}

void sim_free(sim *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->nsources; i++) wl_free(s->sources[i].src);
    free(s->sources);
    for (uint32_t d = 0; d < s->cfg.ndeployments; d++) {
        router_free(s->dep[d].router);
        router_free(s->dep[d].decode);
        fs_rng_free(s->dep[d].service);
    }
    for (uint32_t i = 0; i < s->nreplicas; i++)
        if (s->replicas[i]) s->replicas[i]->ops->free(s->replicas[i]);
    free(s->replicas);
    fleet_free(s->fleet);
    while (s->inflight) req_release(s, s->inflight);
    for (sim_req *q = s->free_reqs, *n; q; q = n) {
        n = q->next;
        free(q->chain_buf);
        free(q);
    }
    fs_sample_fini(&s->ttft);
    fs_sample_fini(&s->e2e);
    fs_sample_fini(&s->queue);
    fs_sample_fini(&s->tpot);
    fs_hist_fini(&s->itl);
    free(s->tenants);
    evq_free(s->q);
    free(s);
}

int sim_run(sim *s, fs_error *err)
{
    s->sources_live = s->nsources;
    for (uint32_t i = 0; i < s->nsources && !s->failed; i++) pull(s, i);
    if (s->cfg.sample_interval > 0) evq_push(s->q, s->cfg.sample_interval, on_sample, s, 0);

    bool deadline_set = false, interrupted = false;
    uint64_t n = 0;
    evq_event ev;
    while (!s->failed && !s->stopped && evq_pop(s->q, &ev)) {
        s->now = ev.time;
        ev.fn(s, ev.obj, ev.arg);
        /* all served, nothing still to arrive: the run ends here */
        if (s->sources_live == 0 && s->ninflight == 0 && s->npending == 0) break;
        if (!deadline_set && s->sources_live == 0 && s->npending == 0 && s->cfg.drain_timeout >= 0) {
            fs_time end = s->cfg.duration != FS_TIME_MAX && s->cfg.duration > s->now ? s->cfg.duration : s->now;
            evq_push(s->q, end + s->cfg.drain_timeout, on_drain_deadline, s, 0);
            deadline_set = true;
        }
        if (++n % INTERRUPT_CHECK_EVERY == 0 && s->cfg.interrupt && *s->cfg.interrupt) {
            interrupted = true;
            break;
        }
    }
    s->end = s->now; /* the last completion, or the drain deadline */
    if (s->failed) {
        if (err) *err = s->err;
        return -1;
    }
    if (interrupted) return 1;
    /* whatever is still in flight is reported, not dropped */
    for (sim_req *q = s->inflight; q; q = q->next_inflight) {
        if (!q->arrived) continue;
        if (q->r.arrival >= s->cfg.warmup) {
            s->unfinished++;
            tenant_of(s, q)->unfinished++;
        }
        emit_row(s, q, -1);
    }
    if (s->failed) {
        if (err) *err = s->err;
        return -1;
    }
    return 0;
}

static void summarize_copy(const fs_sample *src, fs_summary *out)
{
    fs_sample tmp = {0};
    if (src->n) {
        tmp.v = fs_xmalloc(src->n * sizeof *tmp.v);
        memcpy(tmp.v, src->v, src->n * sizeof *tmp.v);
        tmp.n = tmp.cap = src->n;
    }
    fs_sample_summarize(&tmp, out);
    fs_sample_fini(&tmp);
}

/* Per-tenant results when requests carry tenants, and Jain's fairness index over the tenants'
 * SLO attainment: (sum x)^2 / (n sum x^2), 1 when all attain alike, 1/n when one gets all. */
static void tenant_metrics(const sim *s, fs_metrics *m)
{
    uint32_t n = 0;
    double sx = 0, sxx = 0;
    for (uint32_t t = 1; t < s->ntenants; t++) {
        const struct tenant_stats *ts = &s->tenants[t];
        uint64_t judged = ts->completed + ts->unfinished + ts->rejected;
        if (ts->arrived == 0) continue;
        char name[96];
        const char *nm = s->cfg.tenant_name ? s->cfg.tenant_name(s->cfg.tenant_ctx, t) : NULL;
        if (nm) snprintf(name, sizeof name, "%s", nm);
        else snprintf(name, sizeof name, "tenant %u", t);
        double slo = judged ? 100.0 * (double)ts->good / (double)judged : NAN;
        fs_metrics_add(m, "tenant_arrived", name, (double)ts->arrived, "requests");
        fs_metrics_add(m, "tenant_completed", name, (double)ts->completed, "requests");
        fs_metrics_add(m, "tenant_mean_ttft", name, ts->completed ? ts->ttft_ms / (double)ts->completed : NAN, "ms");
        fs_metrics_add(m, "tenant_mean_e2el", name, ts->completed ? ts->e2e_ms / (double)ts->completed : NAN, "ms");
        fs_metrics_add(m, "tenant_slo_attainment", name, slo, "%");
        if (s->cfg.admission.nlimits > 0) fs_metrics_add(m, "tenant_rate_limited", name, (double)ts->rate_limited, "responses");
        if (judged) {
            n++;
            sx += slo;
            sxx += slo * slo;
        }
    }
    if (n > 0) fs_metrics_add(m, "tenant_fairness", "value", sxx > 0 ? sx * sx / (n * sxx) : 1, "index");
}

/* Joules the fleet drew up to `end`: every provisioned GPU at idle power, plus each replica's
 * activity-weighted seconds (gpu/power.h) at TDP - idle for the GPUs (or MIG slices) it holds. */
static double energy_j(const sim *s, fs_time end)
{
    const sim_config *c = &s->cfg;
    double j = 0;
    for (uint32_t f = 0; f < c->nfleet; f++) j += fleet_billed_gpu_s(s->fleet, f, end) * c->fleet[f].idle_w;
    for (uint32_t i = 0; i < s->nreplicas; i++) {
        const replica *r = s->replicas[i];
        if (!r) continue;
        const sim_deployment *d = &c->deployments[r->deployment];
        const sim_fleet_entry *fe = &c->fleet[d->gpu];
        /* a time-sliced replica's activity is of the whole GPU (it runs alone in its turns) */
        double gpus = fe->shares && !fe->mps ? 1 : d->gpu_share > 0 ? d->gpu_share : d->gpus_per_replica;
        j += r->ops->activity((replica *)r) * gpus * (fe->tdp_w - fe->idle_w);
    }
    return j;
}

/* Energy over the run, mean power, and per token of the completed requests (joules per input +
 * output token). */
static void energy_metrics(const sim *s, fs_metrics *m, double span)
{
    double j = energy_j(s, s->end);
    fs_metrics_add(m, "energy", "value", j / 3.6e6, "kWh");
    fs_metrics_add(m, "mean_power", "value", span > 0 ? j / span / 1e3 : NAN, "kW");
    uint64_t tokens = s->in_tokens + s->out_tokens;
    double measured = span > fs_time_to_s(s->cfg.warmup) && span > 0 ? (span - fs_time_to_s(s->cfg.warmup)) / span : 0;
    fs_metrics_add(m, "energy_per_token", "value", tokens ? j * measured / (double)tokens : NAN, "J");
    fs_metrics_add(m, "energy_per_output_token", "value", s->out_tokens ? j * measured / (double)s->out_tokens : NAN,
                   "J");
}

void sim_metrics(sim *s, fs_metrics *m)
{
    const sim_config *c = &s->cfg;
    double window = fs_time_to_s(s->end - c->warmup);
    if (window <= 0) window = NAN;
    fs_summary sm;
    fs_metrics_add(m, "arrived", "value", (double)s->measured_arrived, "requests");
    fs_metrics_add(m, "completed", "value", (double)s->completed, "requests");
    fs_metrics_add(m, "unfinished", "value", (double)s->unfinished, "requests");
    fs_metrics_add(m, "rejected", "value", (double)s->rejected, "requests");
    if (s->cfg.admission.nlimits > 0) {
        fs_metrics_add(m, "rate_limited", "value", (double)s->rate_limited, "responses");
        fs_metrics_add(m, "rate_limited_dropped", "value", (double)s->throttled_dropped, "requests");
    }
    /* trace rows: read, and left out (malformed and skipped, failed requests, filtered) */
    wl_trace_stats t = {0}, one;
    for (uint32_t i = 0; i < s->nsources; i++) {
        wl_stats(s->sources[i].src, &one);
        t.rows += one.rows, t.bad += one.bad, t.failed += one.failed, t.filtered += one.filtered;
    }
    if (t.rows > 0) {
        fs_metrics_add(m, "trace_rows", "read", (double)t.rows, "rows");
        fs_metrics_add(m, "trace_rows", "bad_skipped", (double)t.bad, "rows");
        fs_metrics_add(m, "trace_rows", "failed_dropped", (double)t.failed, "rows");
        fs_metrics_add(m, "trace_rows", "filtered", (double)t.filtered, "rows");
    }
    fs_metrics_add(m, "duration", "value", window, "s");
    fs_metrics_add(m, "request_throughput", "value", (double)s->completed / window, "req/s");
    fs_metrics_add(m, "total_input_tokens", "value", (double)s->in_tokens, "tokens");
    fs_metrics_add(m, "total_output_tokens", "value", (double)s->out_tokens, "tokens");
    fs_metrics_add(m, "input_throughput", "value", (double)s->in_tokens / window, "tok/s");
    fs_metrics_add(m, "output_throughput", "value", (double)s->out_tokens / window, "tok/s");
    summarize_copy(&s->ttft, &sm);
    fs_metrics_add_summary(m, "ttft", &sm, "ms");
    summarize_copy(&s->e2e, &sm);
    fs_metrics_add_summary(m, "e2el", &sm, "ms");
    if (s->any_llm) {
        summarize_copy(&s->tpot, &sm);
        fs_metrics_add_summary(m, "tpot", &sm, "ms");
        fs_hist_summarize(&s->itl, &sm);
        sm.mean /= 1e6, sm.std /= 1e6, sm.max /= 1e6, sm.p50 /= 1e6, sm.p90 /= 1e6;
        sm.p95 /= 1e6, sm.p99 /= 1e6, sm.p999 /= 1e6;
        fs_metrics_add_summary(m, "itl", &sm, "ms");
        fs_metrics_add(m, "preemptions", "value", (double)s->preemptions, "count");
        fs_metrics_add(m, "prefix_cache_hit_rate", "value",
                       s->in_tokens ? 100.0 * (double)s->cached_tokens / (double)s->in_tokens : 0, "%");
    }
    summarize_copy(&s->queue, &sm);
    fs_metrics_add_summary(m, "queue", &sm, "ms");
    if (c->regions.policy != SIM_REGION_NONE) {
        fs_metrics_add(m, "region_remote", "value", (double)s->remote, "requests");
        fs_metrics_add(m, "residency_refused", "value", (double)s->residency_refused, "requests");
    }
    if (c->admission.timeout > 0) fs_metrics_add(m, "abandoned", "value", (double)s->abandoned, "requests");
    if (s->held > 0) { /* the latency cold starts added where no replica was ready */
        fs_metrics_add(m, "held_for_replica", "requests", (double)s->held, "requests");
        fs_metrics_add(m, "held_for_replica", "mean", fs_time_to_ms(s->held_ns) / (double)s->held, "ms");
        fs_metrics_add(m, "held_for_replica", "max", fs_time_to_ms(s->held_max), "ms");
    }
    uint64_t judged = s->completed + s->unfinished + s->rejected + s->throttled_dropped + s->residency_refused +
                      s->abandoned;
    fs_metrics_add(m, "slo_attainment", "value", judged ? 100.0 * (double)s->good / (double)judged : NAN, "%");
    fs_metrics_add(m, "request_goodput", "value", (double)s->good / window, "req/s");

    /* busy GPU time: a replica's busy time times the GPUs it occupies (a MIG instance: its
     * compute share of one GPU) */
    fs_time busy = 0;
    double busy_gpu_s = 0, prefill_s = 0, llm_busy_s = 0;
    for (uint32_t i = 0; i < s->nreplicas; i++) {
        const replica *r = s->replicas[i];
        if (!r) continue;
        const sim_deployment *d = &c->deployments[r->deployment];
        double gpus = d->gpu_share > 0 ? d->gpu_share : d->gpus_per_replica;
        busy += r->busy_ns;
        busy_gpu_s += fs_time_to_s(r->busy_ns) * gpus;
        if (d->kind == SIM_KIND_LLM) {
            llm_busy_s += fs_time_to_s(r->busy_ns) * gpus;
            prefill_s += r->prefill_ns * 1e-9 * gpus;
        }
    }
    double span = fs_time_to_s(s->end);
    /* replica time: from placement (or the start) to stop (or the end), per deployment */
    double replica_s = 0, llm_held = 0;
    for (uint32_t d = 0; d < c->ndeployments; d++) {
        const sim_deployment *dp = &c->deployments[d];
        double held = fleet_held_gpu_s(s->fleet, d, s->end);
        replica_s += held / (dp->gpu_share > 0 ? dp->gpu_share : dp->gpus_per_replica);
        if (dp->kind == SIM_KIND_LLM) llm_held += held * c->fleet[dp->gpu].price_per_hour;
    }
    fs_metrics_add(m, "replica_utilization", "value",
                   replica_s > 0 ? 100.0 * fs_time_to_s(busy) / replica_s : NAN, "%");
    /* billing follows provisioned nodes, from when each was asked for to its removal, busy or not */
    double gpu_hours = 0, cost = 0;
    for (uint32_t f = 0; f < c->nfleet; f++) {
        double h = fleet_billed_gpu_s(s->fleet, f, s->end) / 3600.0;
        gpu_hours += h;
        cost += h * c->fleet[f].price_per_hour;
        uint32_t same = 0; /* by GPU type: pools of one type add up */
        for (uint32_t g = 0; g < f; g++) same += strcmp(c->fleet[g].gpu, c->fleet[f].gpu) == 0;
        if (same) continue;
        for (uint32_t g = f + 1; g < c->nfleet; g++)
            if (strcmp(c->fleet[g].gpu, c->fleet[f].gpu) == 0) h += fleet_billed_gpu_s(s->fleet, g, s->end) / 3600.0;
        fs_metrics_add(m, "gpu_hours_by_type", c->fleet[f].gpu, h, "GPU-h");
    }
    tenant_metrics(s, m);
    fleet_metrics(s->fleet, m);
    if (c->nodes > 0) {
        fs_metrics_add(m, "placement", "nodes", c->nodes, "nodes");
        fs_metrics_add(m, "placement", "nodes_used", c->nodes_used, "nodes");
        fs_metrics_add(m, "placement", "gpus_free_on_used_nodes", c->gpus_free_on_used, "GPUs");
        fs_metrics_add(m, "placement", "gpus_stranded", c->gpus_stranded, "GPUs");
    }
    fs_metrics_add(m, "gpu_hours", "value", gpu_hours, "GPU-h");
    energy_metrics(s, m, span);
    fs_metrics_add(m, "cost", "value", cost, "USD");
    /* per request and per token: the cost of the measured window over the work measured in it */
    double measured = span > fs_time_to_s(c->warmup) && span > 0 ? (span - fs_time_to_s(c->warmup)) / span : 0;
    double window_cost = cost * measured;
    fs_metrics_add(m, "cost_per_1k_requests", "value",
                   s->completed ? window_cost * 1e3 / (double)s->completed : NAN, "USD");
    /* what the idle GPU time cost: the share of provisioned GPU time nobody used */
    double idle = gpu_hours > 0 ? 1 - busy_gpu_s / 3600.0 / gpu_hours : NAN;
    fs_metrics_add(m, "idle_capacity_cost", "value", idle >= 0 ? cost * idle : 0, "USD");
    if (s->any_llm && llm_busy_s > 0) {
        /* input vs output tokens of llm deployments: the share of the window's cost that their
         * replicas held GPUs for, split by prefill vs decode GPU time */
        double llm_cost = cost > 0 ? window_cost * (llm_held / 3600.0) / cost : 0, pre = prefill_s / llm_busy_s;
        fs_metrics_add(m, "cost_per_1m_input_tokens", "value",
                       s->llm_in_tokens ? llm_cost * pre * 1e6 / (double)s->llm_in_tokens : NAN, "USD");
        fs_metrics_add(m, "cost_per_1m_output_tokens", "value",
                       s->llm_out_tokens ? llm_cost * (1 - pre) * 1e6 / (double)s->llm_out_tokens : NAN, "USD");
    }
}

const fs_sample *sim_queue_delays(const sim *s) { return &s->queue; }

double sim_replica_active_s(const sim *s, uint32_t index)
{
    return index < s->nreplicas && s->replicas[index] ? s->replicas[index]->active_s : 0;
}
