/*
 * bench_evq — events per second of the event queue on the classic hold model: N events
 * pending; repeatedly pop the earliest and push one at an exponential offset from it.
 *
 * The offsets are drawn beforehand (a table of 2^16 exponential variates, mean 1 ms, cycled),
 * so the figure is the queue's cost, not the RNG's. Run: build/tests/bench/fleetsim-bench-evq
 * [ops] — prints one line per N.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "evq.h"
#include "rng.h"

static void noop(void *ctx, void *obj, uint64_t arg) { (void)ctx; (void)obj; (void)arg; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define TABLE (1u << 16)

int main(int argc, char **argv)
{
    long long ops = argc > 1 ? atoll(argv[1]) : 20000000LL;
    static fs_time offset[TABLE];
    fs_rng *rng = fs_rng_new(1, FS_STREAM_ARRIVALS, 0);
    for (unsigned i = 0; i < TABLE; i++) offset[i] = fs_time_from_s(fs_rng_exponential(rng, 1e-3));
    fs_rng_free(rng);

    const size_t sizes[] = {1000, 100000, 1000000};
    printf("%-10s %14s %12s\n", "pending", "events/s", "ns/event");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        evq *q = evq_new();
        unsigned k = 0;
        for (size_t i = 0; i < n; i++) evq_push(q, offset[k++ % TABLE] * (fs_time)(i % 97 + 1), noop, NULL, 0);
        evq_event ev;
        /* warm up: reach the steady-state distribution of pending times */
        for (size_t i = 0; i < 2 * n; i++) {
            evq_pop(q, &ev);
            evq_push(q, ev.time + offset[k++ & (TABLE - 1)], noop, NULL, 0);
        }
        double t0 = now_s();
        for (long long i = 0; i < ops; i++) {
            evq_pop(q, &ev);
            evq_push(q, ev.time + offset[k++ & (TABLE - 1)], noop, NULL, 0);
        }
        double dt = now_s() - t0;
        printf("%-10zu %14.0f %12.2f\n", n, (double)ops / dt, dt * 1e9 / (double)ops);
        evq_free(q);
    }
    return 0;
}
