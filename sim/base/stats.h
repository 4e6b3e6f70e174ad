/*
 * stats.h — sample storage and summary statistics.
 *
 * fs_sample keeps every value (one double per finished request per latency metric: exact
 * percentiles need them all). Percentiles interpolate linearly between order statistics, as
 * numpy's default and GSL's gsl_stats_quantile_from_sorted_data do: for a fraction q of n sorted
 * values, position (n - 1) q.
 *
 * Ownership: an fs_sample owns its array; fs_sample_fini releases it. fs_sample_summarize sorts
 * the values in place (the insertion order is lost).
 */
#ifndef FS_STATS_H
#define FS_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fs_sample {
    double *v;
    size_t n, cap;
} fs_sample;

typedef struct fs_summary {
    size_t count;
    double mean, std, min, max;
    double p50, p90, p95, p99, p999;
} fs_summary;

void fs_sample_init(fs_sample *s);
void fs_sample_fini(fs_sample *s);
void fs_sample_push(fs_sample *s, double x);

/* Sort and summarise; an empty sample gives count 0 and NaN elsewhere. std is the sample
 * standard deviation (n - 1). */
void fs_sample_summarize(fs_sample *s, fs_summary *out);

/* Sort ascending (a radix sort: O(n), see stats.c for why not gsl_sort). */
void fs_sort_doubles(double *v, size_t n);

/* Quantile of sorted data, linear interpolation (numpy's default). */
double fs_quantile_sorted(const double *sorted, size_t n, double q);

/* Batch means over data in time order: split into `batches` equal consecutive batches (a
 * remainder at the end is dropped), return the grand mean and its standard error
 * sd(batch means) / sqrt(batches). Returns -1 when n < batches or batches < 2. */
int fs_batch_means(const double *data, size_t n, size_t batches, double *mean, double *se);

/*
 * fs_hist: a log-linear histogram of non-negative integers (nanoseconds) with weights, for
 * distributions too large to keep whole (inter-token latencies: one value per token). Values
 * below 256 are exact; above, each power of two is split into 256 buckets, so a percentile is
 * within 0.2% of the exact one (the bucket midpoint is returned). The mean is exact. Fixed size
 * (~114 KiB), no allocation after init. Percentiles use the same linear interpolation rule as
 * fs_quantile_sorted, between bucket midpoints.
 */
#define FS_HIST_SUB 256
#define FS_HIST_BUCKETS (FS_HIST_SUB * 57)

typedef struct fs_hist {
    uint64_t *w;     /* count per bucket */
    uint64_t total;
    int64_t sum;     /* exact, so adding a value k times or once with weight k agree */
    int64_t min, max; /* exact; percentiles are clamped to them */
    int64_t lo, hi;  /* value range of the last bucket added to (consecutive values usually share it) */
    size_t last;
} fs_hist;

void fs_hist_init(fs_hist *h);
void fs_hist_fini(fs_hist *h);
void fs_hist_add_slow(fs_hist *h, int64_t v, uint64_t weight);
static inline void fs_hist_add(fs_hist *h, int64_t v, uint64_t weight)
{
    if (v >= h->lo && v < h->hi) { /* the same bucket as last time: skip the index computation */
        h->w[h->last] += weight;
        h->total += weight;
        h->sum += v * (int64_t)weight;
        if (v > h->max) h->max = v;
        if (v < h->min) h->min = v;
        return;
    }
    fs_hist_add_slow(h, v, weight);
}
/* Add `count` values that all fall in the bucket of v, summing to `sum`, the smallest `min` and
 * the largest `max`. */
void fs_hist_add_many(fs_hist *h, int64_t v, uint64_t count, int64_t sum, int64_t min, int64_t max);
/* The first value past the bucket of v (v >= 0). */
int64_t fs_hist_bucket_end(int64_t v);
double fs_hist_quantile(const fs_hist *h, double q);
/* Summary with mean, percentiles and max (count = total weight, rounded). */
void fs_hist_summarize(const fs_hist *h, fs_summary *out);

/*
 * A named result, in the long format the results store keeps: ("ttft", "p99", 812.5, "ms"),
 * ("request_throughput", "value", 39.8, "req/s"). fs_metrics owns its array; the strings are
 * copied in (truncated to the field sizes, which every name fleetsim makes fits).
 */
typedef struct fs_metric {
    char name[40];
    char stat[80];      /* "p99", or what the row is about: a deployment, pool, tenant or GPU name */
    char unit[16];
    double value;
} fs_metric;

typedef struct fs_metrics {
    fs_metric *v;
    size_t n, cap;
} fs_metrics;

void fs_metrics_add(fs_metrics *m, const char *name, const char *stat, double value, const char *unit);
/* Add mean, median, std, p90, p95, p99, p99.9 and max of a summary under one name. */
void fs_metrics_add_summary(fs_metrics *m, const char *name, const fs_summary *s, const char *unit);
const fs_metric *fs_metrics_find(const fs_metrics *m, const char *name, const char *stat);
void fs_metrics_fini(fs_metrics *m);

#endif
