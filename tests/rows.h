/*
 * rows.h — collecting a simulation's request rows in tests: a sim_sink that appends every row to
 * a growable array, and an ordering by request id. The caller frees rows.v.
 */
#ifndef FS_TEST_ROWS_H
#define FS_TEST_ROWS_H

#include <stdint.h>
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

#endif
