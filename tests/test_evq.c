/* The event queue against a reference: every pop in exact (time, insertion) order. */
#include <stdint.h>
#include <stdlib.h>

#include "evq.h"
#include "harness.h"
#include "rng.h"

/* Reference: arrays of (time, seq) pushed; the expected pop is the live minimum. */
typedef struct ref {
    fs_time *t;
    uint64_t *seq;
    evq_handle *h;
    char *live;
    size_t n;
} ref;

static void record(void *ctx, void *obj, uint64_t arg)
{
    (void)ctx;
    (void)obj;
    (void)arg;
}

static size_t ref_min(const ref *r)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < r->n; i++)
        if (r->live[i] && (best == SIZE_MAX || r->t[i] < r->t[best] ||
                           (r->t[i] == r->t[best] && r->seq[i] < r->seq[best])))
            best = i;
    return best;
}

/* Random pushes (with many equal times and far outliers), cancels and pops, checked against the
 * reference after every pop. `spread` shapes the times. */
static void run_random(uint64_t seed, size_t ops, int spread, uint64_t start_seq)
{
    fs_rng *rng = fs_rng_new(seed, FS_STREAM_ARRIVALS, 0);
    evq *q = evq_new();
    if (start_seq) evq_test_set_next_seq(q, start_seq);
    ref r = {0};
    r.t = calloc(ops, sizeof *r.t);
    r.seq = calloc(ops, sizeof *r.seq);
    r.h = calloc(ops, sizeof *r.h);
    r.live = calloc(ops, 1);
    fs_time now = 0;
    uint64_t seq = 0;
    size_t mismatches = 0, live = 0;
    for (size_t k = 0; k < ops; k++) {
        double u = gsl_rng_uniform(rng);
        if (u < 0.55 || live == 0) {
            fs_time dt;
            switch (spread) {
            case 0: dt = (fs_time)gsl_rng_uniform_int(rng, 4); break;           /* heavy ties */
            case 1: dt = (fs_time)(gsl_rng_uniform(rng) * 1e6); break;          /* smooth */
            default: dt = gsl_rng_uniform(rng) < 0.01 ? (fs_time)1e15 : (fs_time)gsl_rng_uniform_int(rng, 1000);
            }
            size_t i = r.n++;
            r.t[i] = now + dt;
            r.seq[i] = seq++;
            r.live[i] = 1;
            r.h[i] = evq_push(q, r.t[i], record, NULL, i);
            live++;
        } else if (u < 0.65) {
            size_t i = (size_t)gsl_rng_uniform_int(rng, r.n);
            bool was = r.live[i];
            CHECK_INT(evq_cancel(q, r.h[i]), was);
            if (was) live--;
            r.live[i] = 0;
        } else {
            size_t want = ref_min(&r);
            evq_event ev;
            CHECK(evq_peek_time(q) == r.t[want]);
            CHECK(evq_pop(q, &ev));
            if (ev.arg != want || ev.time != r.t[want]) mismatches++;
            r.live[ev.arg] = 0;
            live--;
            now = ev.time;
        }
        CHECK_INT(evq_size(q), live);
    }
    /* drain */
    evq_event ev;
    while (live > 0) {
        size_t want = ref_min(&r);
        CHECK(evq_pop(q, &ev));
        if (ev.arg != want) mismatches++;
        r.live[ev.arg] = 0;
        live--;
    }
    CHECK(!evq_pop(q, &ev));
    CHECK(evq_peek_time(q) == FS_TIME_MAX);
    CHECK_INT(mismatches, 0);
    free(r.t);
    free(r.seq);
    free(r.h);
    free(r.live);
    evq_free(q);
    fs_rng_free(rng);
}

static void test_order_with_ties(void) { run_random(1, 20000, 0, 0); }
static void test_order_smooth(void) { run_random(2, 20000, 1, 0); }
static void test_order_outliers(void) { run_random(3, 20000, 2, 0); }

/* Crossing the seq limit renumbers pending events; the order must not change. */
static void test_renumbering_keeps_order(void)
{
    run_random(4, 20000, 0, (UINT64_C(1) << 37) - 5000);
}

/* At one time, late events pop after all others, each class in push order; renumbering keeps it. */
static int late_seen[8], late_n;
static void note(void *ctx, void *obj, uint64_t arg)
{
    (void)ctx;
    (void)obj;
    late_seen[late_n++] = (int)arg;
}

static void test_late_class(void)
{
    for (int pass = 0; pass < 2; pass++) {
        evq *q = evq_new();
        if (pass) evq_test_set_next_seq(q, (UINT64_C(1) << 37) - 2); /* renumbers mid-way */
        late_n = 0;
        evq_push_late(q, 10, note, NULL, 0);
        evq_push(q, 10, note, NULL, 1);
        evq_push_late(q, 10, note, NULL, 2);
        evq_push(q, 5, note, NULL, 3);
        evq_push(q, 10, note, NULL, 4);
        evq_event ev;
        while (evq_pop(q, &ev)) ev.fn(NULL, ev.obj, ev.arg);
        int want[5] = {3, 1, 4, 0, 2};
        CHECK_INT(late_n, 5);
        for (int i = 0; i < 5; i++) CHECK_INT(late_seen[i], want[i]);
        evq_free(q);
    }
}

static void test_equal_times_fifo(void)
{
    evq *q = evq_new();
    for (uint64_t i = 0; i < 1000; i++) evq_push(q, 42, record, NULL, i);
    evq_event ev;
    for (uint64_t i = 0; i < 1000; i++) {
        CHECK(evq_pop(q, &ev));
        CHECK_INT(ev.arg, i);
        CHECK_INT(ev.time, 42);
    }
    evq_free(q);
}

static void test_stale_handle(void)
{
    evq *q = evq_new();
    evq_handle h = evq_push(q, 5, record, NULL, 1);
    evq_event ev;
    CHECK(evq_pop(q, &ev));
    evq_handle h2 = evq_push(q, 6, record, NULL, 2); /* reuses the slot */
    CHECK(!evq_cancel(q, h));                          /* the old handle must not hit it */
    CHECK(evq_pop(q, &ev));
    CHECK_INT(ev.arg, 2);
    CHECK(!evq_cancel(q, h2));
    evq_free(q);
}

int main(void)
{
    RUN(test_order_with_ties);
    RUN(test_order_smooth);
    RUN(test_order_outliers);
    RUN(test_renumbering_keeps_order);
    RUN(test_equal_times_fifo);
    RUN(test_late_class);
    RUN(test_stale_handle);
    return DONE();
}
