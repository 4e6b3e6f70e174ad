/*
 * The "fixed service" model: vision, embedding or any service whose time per request does not
 * depend on tokens. A replica serves one batch at a time: up to max_batch requests from the head
 * of its FIFO start together and all finish when the longest demand among them has elapsed.
 * With max_batch 1 and exponential demands, c replicas behind a central queue form an M/M/c
 * queue (tests/validation checks that against Erlang C).
 */
#include <math.h>
#include <stdlib.h>

#include "sim_internal.h"

typedef struct fixed {
    replica base;
    req_fifo queue;      /* waiting, FCFS */
    req_fifo batch;      /* in service */
    uint32_t max_batch;
    evq_handle done;     /* the batch's end, while one is in service */
    fs_time done_at;
} fixed;

static void fixed_submit(replica *r, sim_req *q)
{
    fixed *f = (fixed *)r;
    fifo_push(&f->queue, q);
}

static void batch_done(void *ctx, void *obj, uint64_t arg);

static void fixed_kick(replica *r)
{
    fixed *f = (fixed *)r;
    if (f->batch.n > 0 || f->queue.n == 0) return;
    fs_time now = sim_now(r->sim), longest = 0;
    while (f->batch.n < f->max_batch && f->queue.n > 0) {
        sim_req *q = fifo_pop(&f->queue);
        q->start = now;
        if (q->service > longest) longest = q->service;
        fifo_push(&f->batch, q);
    }
    /* u = 1 for the work itself: nothing models a fixed service's kernels (time-sliced, its turns
     * add up to the work; the waits between them are the co-tenants') */
    r->active_s += fs_time_to_s(longest);
    if (r->share) { /* time-sliced: slower while co-tenants are busy */
        double slow = share_change(r->share, r, 1);
        longest = (fs_time)llround((double)longest * slow);
    }
    r->busy_ns += longest;
    f->done_at = now + longest;
    f->done = evq_push(sim_queue(r->sim), f->done_at, batch_done, f, 0);
}

static void batch_done(void *ctx, void *obj, uint64_t arg)
{
    (void)ctx;
    (void)arg;
    fixed *f = obj;
    fs_time now = sim_now(f->base.sim);
    /* detach the finished batch first: a completion lets a central queue hand this replica new
     * work, which starts a new batch at once */
    req_fifo finished = f->batch;
    f->batch = (req_fifo){0};
    if (f->base.share) share_change(f->base.share, &f->base, -1);
    sim_req *q;
    while ((q = fifo_pop(&finished)) != NULL) {
        if (q->abandoned) { /* its client left while it was served: the work was wasted */
            sim_abandon(f->base.sim, q, now);
            continue;
        }
        sim_first_token(f->base.sim, q, now);
        sim_done(f->base.sim, q, now);
    }
    fixed_kick(&f->base);
}

static uint32_t fixed_free_slots(const replica *r)
{
    const fixed *f = (const fixed *)r;
    if (f->batch.n > 0 || f->queue.n >= f->max_batch) return 0;
    return f->max_batch - (uint32_t)f->queue.n;
}

static uint32_t fixed_waiting(const replica *r) { return (uint32_t)((const fixed *)r)->queue.n; }
static uint32_t fixed_running(const replica *r) { return (uint32_t)((const fixed *)r)->batch.n; }
static void fixed_kv_usage(replica *r, uint64_t *used, uint64_t *total)
{
    (void)r;
    *used = *total = 0;
}

/* Lost: the batch in service (its busy time given back from now on), then the queue, go to out. */
static void fixed_evict(replica *r, req_fifo *out)
{
    fixed *f = (fixed *)r;
    if (f->batch.n > 0) {
        if (r->share) share_change(r->share, r, -1);
        evq_cancel(sim_queue(r->sim), f->done);
        r->busy_ns -= f->done_at - sim_now(r->sim);
        r->active_s -= fs_time_to_s(f->done_at - sim_now(r->sim));
    }
    sim_req *q;
    while ((q = fifo_pop(&f->batch)) != NULL) fifo_push(out, q);
    while ((q = fifo_pop(&f->queue)) != NULL) fifo_push(out, q);
}

/* A batch's activity is counted when it starts (its whole length: a small lead at most). */
static double fixed_activity(replica *r) { return r->active_s; }

/* A co-tenant started or stopped: the batch in service ends sooner or later. */
static void fixed_reshare(replica *r, double from, double to)
{
    fixed *f = (fixed *)r;
    fs_time now = sim_now(r->sim), left = f->done_at - now, now_left = (fs_time)llround((double)left * to / from);
    evq_cancel(sim_queue(r->sim), f->done);
    f->done_at = now + now_left;
    r->busy_ns += now_left - left;
    f->done = evq_push(sim_queue(r->sim), f->done_at, batch_done, f, 0);
}

/* A queued request leaves at once; one in the batch in service stays until the batch ends. */
static bool fixed_abandon(replica *r, sim_req *q) { return fifo_remove(&((fixed *)r)->queue, q); }

static void fixed_free(replica *r) { free(r); }

static const replica_ops fixed_ops = {fixed_submit, fixed_kick, fixed_free_slots, fixed_waiting,
                                      fixed_running, fixed_kv_usage, fixed_evict, fixed_abandon, fixed_activity, fixed_reshare,
                                      fixed_free};

replica *fixed_replica_new(struct sim *s, const sim_deployment *d, uint32_t index, uint32_t dep)
{
    fixed *f = fs_xcalloc(1, sizeof *f);
    f->base.ops = &fixed_ops;
    f->base.sim = s;
    f->base.index = index;
    f->base.deployment = dep;
    f->max_batch = d->max_batch ? d->max_batch : 1;
    return &f->base;
}
