/*
 * rows.h — helpers shared by the simulation tests: a one-deployment config, a sim_sink that
 * appends every request row to a growable array, a run that captures them, and an ordering by
 * request id. The caller frees rows.v and the returned sim. Include after harness.h.
 */
#ifndef FS_TEST_ROWS_H
#define FS_TEST_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

typedef struct rows {
    sim_request_row *v;
    size_t n, cap;
} rows;

static inline int capture(void *ctx, const sim_request_row *row, fs_error *err)
{
    (void)err;
    rows *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        if (!r->v) abort();
    }
    r->v[r->n++] = *row;
    return 0;
}

static inline int by_id(const void *a, const void *b)
{
    uint64_t x = ((const sim_request_row *)a)->id, y = ((const sim_request_row *)b)->id;
    return (x > y) - (x < y);
}

/* One deployment on one fleet entry of `gpu`, no time limit, no drain cap; kind and shape are
 * the caller's to fill. */
static inline sim_config one_deployment_config(const char *gpu)
{
    sim_config c = {0};
    c.seed = 1;
    c.duration = FS_TIME_MAX;
    c.drain_timeout = -1;
    c.ndeployments = 1;
    c.nfleet = 1;
    snprintf(c.fleet[0].gpu, sizeof c.fleet[0].gpu, "%s", gpu);
    return c;
}

/* Simulate c over src (taken over), capturing every request row into *r; checks that the run
 * completes. Returns the finished sim for sim_metrics. */
static inline sim *run_capture(const sim_config *c, wl_source *src, rows *r)
{
    sim_sink sink = {r, capture, NULL};
    sim *s = sim_new(c, &src, 1, &sink);
    fs_error err;
    CHECK_INT(sim_run(s, &err), 0);
    return s;
}

#endif
