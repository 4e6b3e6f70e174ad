#include "decoderun.h"

#include <math.h>
#include <stdlib.h>

#include "fs_error.h"

#define ONE ((dr_fx)1 << ST_FRAC)

/* R after the first m iterations of a segment (0 <= m <= n). */
static inline dr_fx seg_R(const dr_seg *s, int64_t m)
{
    return s->R0 + (dr_fx)m * s->A + (dr_fx)s->B * m * (m - 1) / 2;
}

/* Whole nanoseconds after t0 at the end of iteration i of the segment (first - 1 <= i). */
static inline int64_t seg_ns(const dr_seg *s, int64_t i) { return (int64_t)(seg_R(s, i - s->first + 1) >> ST_FRAC); }

static inline int64_t seg_step(const dr_seg *s, int64_t i) { return s->A + s->B * (i - s->first); }

static int32_t push_seg(decode_run *r, dr_seg s)
{
    if (r->nseg == r->cap) {
        size_t cap = (size_t)r->cap;
        r->seg = fs_xgrow(r->seg, &cap, (size_t)r->nseg + 1, sizeof *r->seg);
        r->cap = (int32_t)cap;
    }
    r->seg[r->nseg++] = s;
    return s.n;
}

/* Iterations (>= 1) from context c until a line reaches value x or more: ceil((x - c) / D). */
static int64_t steps_until(dr_fx x, int64_t c, int32_t D) { return (int64_t)((x - c + D - 1) / D); }

int32_t dr_plan(decode_run *r, const st_prepared *p, int64_t ctx1, int32_t D, fs_time t0, uint32_t frac0, int32_t n)
{
    FS_ASSERT(D >= 1 && p->decodes == D);
    r->t0 = t0;
    r->nseg = 0;
    dr_fx R = frac0;
    int64_t c = ctx1;
    int32_t k = 1;
    while (k <= n) {
        int64_t splits = st_splits(&p->attn, c);
        st_line l[3];
        int nl = st_lines(p, splits, l), b = 0;
        int64_t vb = st_line_at(l[0], c);
        for (int i = 1; i < nl; i++) { /* the line at the maximum; of equals, the steepest */
            int64_t v = st_line_at(l[i], c);
            if (v > vb || (v == vb && l[i].q > l[b].q)) b = i, vb = v;
        }
        if (vb >= ST_FX_MAX) break;
        int64_t m = n - k + 1, last = st_splits_last(&p->attn, splits);
        if (last != INT64_MAX && (last - c) / D + 1 < m) m = (last - c) / D + 1;
        if (st_line_at(l[b], c + (m - 1) * D) >= ST_FX_MAX) { /* the ceiling, from ctx (ST_FX_MAX - p) / q */
            dr_fx x = ((dr_fx)ST_FX_MAX - l[b].p + l[b].q - 1) / l[b].q;
            int64_t s = steps_until(x, c, D);
            if (s < m) m = s;
        }
        /* another line can pass line b only if it is steeper, and then only once: where it does
         * not lead at the last context (b is below the ceiling there), it does not before */
        for (int i = 0; i < nl; i++) {
            if (l[i].q <= l[b].q || st_line_at(l[i], c + (m - 1) * D) <= st_line_at(l[b], c + (m - 1) * D)) continue;
            /* line i passes line b at the first context x with (q_i - q_b) x > p_b - p_i (>= 0 here) */
            dr_fx x = ((dr_fx)l[b].p - l[i].p) / (l[i].q - l[b].q) + 1;
            int64_t s = steps_until(x, c, D);
            if (s < m) m = s;
        }
        /* within the segment every step is below ST_FX_MAX, so B fits when there are two */
        int64_t B = m > 1 ? l[b].q * D : 0;
        push_seg(r, (dr_seg){k, (int32_t)m, vb, B, R});
        R = seg_R(&r->seg[r->nseg - 1], m);
        k += (int32_t)m;
        c += m * D;
    }
    if (r->nseg == 0) push_seg(r, (dr_seg){1, 0, 0, 0, R}); /* keeps frac0 for R(0) */
    r->n = k - 1;
    return r->n;
}

static const dr_seg *seg_of(const decode_run *r, int32_t k)
{
    int32_t i = r->nseg - 1;
    while (i > 0 && r->seg[i].first > k) i--;
    return &r->seg[i];
}

dr_fx dr_elapsed(const decode_run *r, int32_t k)
{
    FS_ASSERT(k >= 0 && k <= r->n);
    const dr_seg *s = seg_of(r, k);
    return seg_R(s, k - s->first + 1 > 0 ? k - s->first + 1 : 0);
}

int32_t dr_first_ending_at(const decode_run *r, fs_time t)
{
    dr_fx X = (dr_fx)(t - r->t0) * ONE;
    for (int32_t i = 0; i < r->nseg; i++) {
        const dr_seg *s = &r->seg[i];
        if (s->n == 0 || seg_R(s, s->n) < X) continue;
        /* the least m >= 1 with A m + B m (m - 1) / 2 >= X - R0, from the quadratic's root */
        double d = (double)(X - s->R0), a = (double)s->A - (double)s->B / 2;
        double est = d <= 0 ? 1 : 2 * d / (a + sqrt(a * a + 2 * (double)s->B * d));
        int64_t m = est < 1 ? 1 : est > s->n ? s->n : (int64_t)ceil(est);
        while (m > 1 && seg_R(s, m - 1) >= X) m--;
        while (seg_R(s, m) < X) m++;
        return s->first + (int32_t)m - 1;
    }
    return r->n + 1;
}

/* The first iteration in [lo, hi) of the segment whose step is at least v; hi if none. Steps
 * grow with the iteration. */
static int64_t first_step_at_least(const dr_seg *s, int64_t v, int64_t lo, int64_t hi)
{
    if (lo >= hi || seg_step(s, lo) >= v) return lo;
    if (s->B == 0) return hi;
    int64_t i = s->first + (v - s->A + s->B - 1) / s->B;
    return i < lo ? lo : i > hi ? hi : i;
}

/*
 * The gap ending iteration i is floor(R(i) / 2^F) - floor(R(i-1) / 2^F): the step's whole
 * nanoseconds, plus one when the step's fraction and the carried one pass a nanosecond. So a
 * step in [v, v + 1) ns gives a gap of v or v + 1, and over a stretch of iterations the number of
 * plus-ones is the stretch's telescoped time minus the sum of the steps' whole nanoseconds. Steps
 * grow along a segment; the histogram is filled one bucket at a time: the iterations whose step is
 * at most end - 1 ns fall in the bucket whatever the carry; those with a step in [end - 1, end) ns
 * give end - 1 or end, counted from the telescoped time.
 */
static void seg_gaps(const dr_seg *s, int64_t lo, int64_t hi, fs_hist *h, uint64_t w)
{
    for (int64_t i = lo; i < hi;) {
        int64_t whole = seg_step(s, i) >> ST_FRAC, end = fs_hist_bucket_end(whole);
        int64_t i1 = first_step_at_least(s, (end - 1) << ST_FRAC, i, hi);
        if (i1 > i) {
            /* the largest gap: the top whole value among these, plus one if any of those carried
             * (worked out only when it could be a new maximum) */
            int64_t top = seg_step(s, i1 - 1) >> ST_FRAC, max = top, min = whole;
            if (top >= h->max) {
                int64_t it = first_step_at_least(s, top << ST_FRAC, i, i1);
                max += seg_ns(s, i1 - 1) - seg_ns(s, it - 1) > (i1 - it) * top;
            }
            if (whole <= h->min) { /* the smallest: the bottom whole value, plus one if all of those carried */
                int64_t ib = first_step_at_least(s, (whole + 1) << ST_FRAC, i, i1);
                min += seg_ns(s, ib - 1) - seg_ns(s, i - 1) == (ib - i) * (whole + 1);
            }
            fs_hist_add_many(h, whole, (uint64_t)(i1 - i) * w, (seg_ns(s, i1 - 1) - seg_ns(s, i - 1)) * (int64_t)w,
                             min, max);
        }
        int64_t i2 = first_step_at_least(s, end << ST_FRAC, i1, hi);
        if (i2 > i1) {
            int64_t n = i2 - i1, up = seg_ns(s, i2 - 1) - seg_ns(s, i1 - 1) - n * (end - 1);
            if (n > up) fs_hist_add(h, end - 1, (uint64_t)(n - up) * w);
            if (up > 0) fs_hist_add(h, end, (uint64_t)up * w);
        }
        i = i2;
    }
}

void dr_add_gaps(const decode_run *r, int32_t j, fs_hist *h, uint64_t weight)
{
    FS_ASSERT(j <= r->n);
    for (int32_t i = 0; i < r->nseg; i++) {
        const dr_seg *s = &r->seg[i];
        int64_t lo = s->first < 2 ? 2 : s->first, hi = (int64_t)s->first + s->n;
        if (hi > (int64_t)j + 1) hi = (int64_t)j + 1;
        if (lo < hi) seg_gaps(s, lo, hi, h, weight);
    }
}

void dr_fini(decode_run *r)
{
    free(r->seg);
    r->seg = NULL;
    r->nseg = r->cap = 0;
}
