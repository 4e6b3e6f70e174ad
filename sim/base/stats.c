#include "stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>

#include "fs_error.h"

void fs_sample_init(fs_sample *s)
{
    s->v = NULL;
    s->n = s->cap = 0;
}

void fs_sample_fini(fs_sample *s)
{
    free(s->v);
    fs_sample_init(s);
}

void fs_sample_push(fs_sample *s, double x)
{
    if (__builtin_expect(s->n == s->cap, 0)) s->v = fs_xgrow(s->v, &s->cap, s->n + 1, sizeof *s->v);
    s->v[s->n++] = x;
}

double fs_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0) return NAN;
    return gsl_stats_quantile_from_sorted_data(sorted, 1, n, q);
}

/*
 * Sorting: an LSD radix sort on the doubles' bit patterns (mapped so that unsigned order is
 * numeric order), 11 bits a pass, skipping passes where every key has the same digit. GSL's
 * gsl_sort is a heapsort: on 2 x 10^6 latencies it took 74% of a whole simulation run, the
 * radix sort takes a few percent. NaNs sort after +inf (they never occur in latencies).
 */
static inline uint64_t sort_key(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return (b >> 63) ? ~b : b | (UINT64_C(1) << 63);
}

static inline double key_value(uint64_t k)
{
    uint64_t b = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

#define RADIX_BITS 11
#define RADIX (1u << RADIX_BITS)

void fs_sort_doubles(double *v, size_t n)
{
    if (n < 2) return;
    uint64_t *a = fs_xmalloc(n * sizeof *a), *b = fs_xmalloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) a[i] = sort_key(v[i]);
    size_t *count = fs_xmalloc(RADIX * sizeof *count);
    for (int shift = 0; shift < 64; shift += RADIX_BITS) {
        memset(count, 0, RADIX * sizeof *count);
        for (size_t i = 0; i < n; i++) count[(a[i] >> shift) & (RADIX - 1)]++;
        if (count[(a[0] >> shift) & (RADIX - 1)] == n) continue; /* one digit: nothing moves */
        size_t sum = 0;
        for (size_t d = 0; d < RADIX; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) b[count[(a[i] >> shift) & (RADIX - 1)]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++) v[i] = key_value(a[i]);
    free(count);
    free(a);
    free(b);
}

void fs_sample_summarize(fs_sample *s, fs_summary *out)
{
    out->count = s->n;
    if (s->n == 0) {
        out->mean = out->std = out->min = out->max = NAN;
        out->p50 = out->p90 = out->p95 = out->p99 = out->p999 = NAN;
        return;
    }
    fs_sort_doubles(s->v, s->n);
    out->mean = gsl_stats_mean(s->v, 1, s->n);
    out->std = s->n > 1 ? gsl_stats_sd_m(s->v, 1, s->n, out->mean) : 0.0;
    out->min = s->v[0];
    out->max = s->v[s->n - 1];
    out->p50 = fs_quantile_sorted(s->v, s->n, 0.50);
    out->p90 = fs_quantile_sorted(s->v, s->n, 0.90);
    out->p95 = fs_quantile_sorted(s->v, s->n, 0.95);
    out->p99 = fs_quantile_sorted(s->v, s->n, 0.99);
    out->p999 = fs_quantile_sorted(s->v, s->n, 0.999);
}

int fs_batch_means(const double *data, size_t n, size_t batches, double *mean, double *se)
{
    if (batches < 2 || n < batches) return -1;
    size_t per = n / batches;
    double *bm = fs_xmalloc(batches * sizeof *bm);
    for (size_t b = 0; b < batches; b++) bm[b] = gsl_stats_mean(data + b * per, 1, per);
    *mean = gsl_stats_mean(bm, 1, batches);
    *se = gsl_stats_sd_m(bm, 1, batches, *mean) / sqrt((double)batches);
    free(bm);
    return 0;
}

void fs_metrics_add(fs_metrics *m, const char *name, const char *stat, double value, const char *unit)
{
    m->v = fs_xgrow(m->v, &m->cap, m->n + 1, sizeof *m->v);
    fs_metric *x = &m->v[m->n++];
    memset(x, 0, sizeof *x); /* rows compare byte for byte in determinism checks */
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->stat, sizeof x->stat, "%s", stat);
    snprintf(x->unit, sizeof x->unit, "%s", unit);
    x->value = value;
}

void fs_metrics_add_summary(fs_metrics *m, const char *name, const fs_summary *s, const char *unit)
{
    fs_metrics_add(m, name, "mean", s->mean, unit);
    fs_metrics_add(m, name, "median", s->p50, unit);
    fs_metrics_add(m, name, "std", s->std, unit);
    fs_metrics_add(m, name, "p90", s->p90, unit);
    fs_metrics_add(m, name, "p95", s->p95, unit);
    fs_metrics_add(m, name, "p99", s->p99, unit);
    fs_metrics_add(m, name, "p99.9", s->p999, unit);
    fs_metrics_add(m, name, "max", s->max, unit);
}

const fs_metric *fs_metrics_find(const fs_metrics *m, const char *name, const char *stat)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].name, name) == 0 && strcmp(m->v[i].stat, stat) == 0) return &m->v[i];
    return NULL;
}

void fs_metrics_fini(fs_metrics *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

/* ---- histogram ---- */

void fs_hist_init(fs_hist *h)
{
    h->w = fs_xcalloc(FS_HIST_BUCKETS, sizeof *h->w);
    h->total = 0;
    h->sum = h->max = 0;
    h->min = INT64_MAX;
    h->lo = h->hi = 0;
    h->last = 0;
}

void fs_hist_fini(fs_hist *h)
{
    free(h->w);
    h->w = NULL;
}

static inline size_t hist_index(uint64_t v)
{
    if (v < FS_HIST_SUB) return (size_t)v;
    int e = 63 - __builtin_clzll(v); /* >= 8 */
    return (size_t)(e - 7) * FS_HIST_SUB + (size_t)((v >> (e - 8)) & (FS_HIST_SUB - 1));
}

/* The middle of bucket i's value range. */
static double hist_mid(size_t i)
{
    if (i < FS_HIST_SUB) return (double)i;
    size_t e = i / FS_HIST_SUB + 7, sub = i % FS_HIST_SUB;
    double lo = ldexp((double)(FS_HIST_SUB + sub), (int)e - 8);
    return lo + ldexp(1.0, (int)e - 8) / 2;
}

void fs_hist_add_slow(fs_hist *h, int64_t v, uint64_t weight)
{
    if (v < 0) v = 0;
    size_t i = hist_index((uint64_t)v);
    h->w[i] += weight;
    h->total += weight;
    h->sum += v * (int64_t)weight;
    if (v > h->max) h->max = v;
    if (v < h->min) h->min = v;
    /* the bucket's range, for the fast path */
    if (i < FS_HIST_SUB) {
        h->lo = (int64_t)i;
        h->hi = (int64_t)i + 1;
    } else {
        int e = (int)(i / FS_HIST_SUB) + 7;
        h->lo = (int64_t)((FS_HIST_SUB + i % FS_HIST_SUB) << (e - 8));
        h->hi = h->lo + ((int64_t)1 << (e - 8));
    }
    h->last = i;
}

int64_t fs_hist_bucket_end(int64_t v)
{
    if (v < FS_HIST_SUB) return v + 1;
    int e = 63 - __builtin_clzll((uint64_t)v);
    int64_t width = (int64_t)1 << (e - 8);
    return (v & ~(width - 1)) + width;
}

void fs_hist_add_many(fs_hist *h, int64_t v, uint64_t count, int64_t sum, int64_t min, int64_t max)
{
    if (count == 0) return;
    size_t i = hist_index(v < 0 ? 0 : (uint64_t)v);
    h->w[i] += count;
    h->total += count;
    h->sum += sum;
    if (max > h->max) h->max = max;
    if (min < h->min) h->min = min;
}

/* The value at rank r (0-based); a fractional rank interpolates between neighbours. */
static double hist_rank(const fs_hist *h, double r)
{
    double r0 = floor(r), frac = r - r0, below = 0, v0 = 0;
    bool have = false;
    for (size_t i = 0; i < FS_HIST_BUCKETS; i++) {
        if (h->w[i] == 0) continue;
        double upto = below + (double)h->w[i];
        if (have) return v0 + frac * (hist_mid(i) - v0);
        if (upto > r0) {
            v0 = hist_mid(i);
            have = true;
            if (frac == 0 || upto > r0 + 1) return v0;
        }
        below = upto;
    }
    return v0;
}

double fs_hist_quantile(const fs_hist *h, double q)
{
    if (h->total == 0) return NAN;
    double v = hist_rank(h, (double)(h->total - 1) * q); /* a bucket's middle may pass the extremes */
    return v < (double)h->min ? (double)h->min : v > (double)h->max ? (double)h->max : v;
}

void fs_hist_summarize(const fs_hist *h, fs_summary *out)
{
    out->count = (size_t)h->total;
    if (h->total == 0) {
        out->mean = out->std = out->min = out->max = NAN;
        out->p50 = out->p90 = out->p95 = out->p99 = out->p999 = NAN;
        return;
    }
    out->mean = (double)h->sum / (double)h->total;
    double var = 0;
    for (size_t i = 0; i < FS_HIST_BUCKETS; i++) {
        if (h->w[i] == 0) continue;
        double d = hist_mid(i) - out->mean;
        var += (double)h->w[i] * d * d;
    }
    out->min = (double)h->min;
    out->std = h->total > 1 ? sqrt(var / (double)(h->total - 1)) : 0;
    out->max = (double)h->max;
    out->p50 = fs_hist_quantile(h, 0.50);
    out->p90 = fs_hist_quantile(h, 0.90);
    out->p95 = fs_hist_quantile(h, 0.95);
    out->p99 = fs_hist_quantile(h, 0.99);
    out->p999 = fs_hist_quantile(h, 0.999);
}
