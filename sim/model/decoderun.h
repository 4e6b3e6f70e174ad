/*
 * decoderun.h — a run of decode-only iterations of one batch, in closed form.
 *
 * A replica whose batch is D decodes and nothing else repeats the same batch, each iteration at a
 * total decode context D tokens larger, until a request finishes, blocks run out or a request
 * arrives. The step of each iteration is the maximum of a few lines in the context
 * (steptime.h), exact in fx (2^-ST_FRAC ns); over the iterations where one line is the maximum
 * and the split count holds (a segment) the steps form an arithmetic sequence A, A + B, A + 2B...,
 * so the time at the end of any iteration is a quadratic in its index. A run is a handful of
 * segments, planned in O(segments) and queried in O(1) per segment, whatever its length.
 *
 * The clock is exact: a run starts at t0 ns plus frac0 fx, and iteration k ends at
 * R(k) = frac0 + step_1 + ... + step_k fx after t0, that is at t0 + floor(R(k) / 2^ST_FRAC) ns
 * with R(k) mod 2^ST_FRAC carried into the next iteration. Stepping the same iterations one at a
 * time with st_step_fx and the same carry gives the same nanoseconds.
 *
 * Ownership: a decode_run owns its segment array; dr_plan reuses it, dr_fini frees it.
 */
#ifndef FS_DECODERUN_H
#define FS_DECODERUN_H

#include <stdint.h>

#include "fs_time.h"
#include "stats.h"
#include "steptime.h"

typedef st_i128 dr_fx; /* fx sums over many iterations */

typedef struct dr_seg {
    int32_t first, n;  /* iterations first .. first + n - 1 (1-based) */
    int64_t A, B;      /* their steps: A + B x (k - first), fx */
    dr_fx R0;          /* R(first - 1) */
} dr_seg;

typedef struct decode_run {
    fs_time t0;
    int32_t n;         /* iterations planned */
    dr_seg *seg;
    int32_t nseg, cap;
} decode_run;

/* Plan up to n iterations of the prepared batch (D decodes, total context ctx1 in the first
 * iteration, growing by D per iteration), starting at t0 ns + frac0 fx. Stops early before an
 * iteration whose step would reach ST_FX_MAX. Returns the iterations planned (r->n), 0 if even the
 * first would. */
int32_t dr_plan(decode_run *r, const st_prepared *p, int64_t ctx1, int32_t D, fs_time t0, uint32_t frac0, int32_t n);

/* R(k), 0 <= k <= r->n. */
dr_fx dr_elapsed(const decode_run *r, int32_t k);

static inline fs_time dr_end(const decode_run *r, int32_t k)
{
    return r->t0 + (fs_time)(dr_elapsed(r, k) >> ST_FRAC);
}
static inline uint32_t dr_frac(const decode_run *r, int32_t k)
{
    return (uint32_t)(dr_elapsed(r, k) & (((dr_fx)1 << ST_FRAC) - 1));
}

/* The first iteration (1..n) ending at or after t; n + 1 if none does. */
int32_t dr_first_ending_at(const decode_run *r, fs_time t);

/* Add the gaps between the ends of iterations 1..j (j - 1 gaps) to h, each `weight` times. */
void dr_add_gaps(const decode_run *r, int32_t j, fs_hist *h, uint64_t weight);

void dr_fini(decode_run *r);

#endif
