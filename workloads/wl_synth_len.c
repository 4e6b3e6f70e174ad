/*
 * Length distributions (tokens, turns) and think times.
 *
 * Independent draws use GSL's samplers: gsl_rng_uniform_int, gsl_ran_gaussian,
 * gsl_ran_lognormal, and gsl_ran_discrete (Walker's alias table, O(1) a draw) for empirical
 * histograms. A correlated pair (the copula) needs each marginal's quantile function instead:
 * the normal and lognormal ones are closed forms of the score, the others take Phi(z) through
 * GSL's gsl_cdf_ugaussian_P and invert their CDF: a binary search of the cumulative weights for
 * an empirical histogram.
 *
 * Zipf is drawn by inversion in both cases. GSL has no Zipf sampler, and a gsl_ran_discrete table
 * over the support 1 .. max costs 16 bytes per possible length (16 GB at max 1e9); inverting the
 * generalised harmonic numbers H(k) = sum_{i<=k} i^-s costs O(1) memory: exact sums for
 * k <= ZIPF_HEAD, Euler-Maclaurin beyond (error below 1e-15 relative), and a search started
 * from the integral's closed-form inverse and one Newton step: 3 or 4 evaluations of H, 0.15 to
 * 0.4 us a draw (measured at max 1e6 and 1e9; a lognormal draw takes 0.05 us). Where H(k) grows by less
 * than a double's resolution (k above about 1e8 with s = 2), neighbouring lengths merge; the
 * mass concerned is below 1e-7.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "wl_synth_internal.h"

#define ZIPF_HEAD 64

struct wl_len {
    enum wl_dist dist;
    double value;            /* fixed */
    double lo, hi;           /* clamps: -inf / +inf when none */
    double min, count;       /* uniform: first value and how many */
    double mean, sd;         /* normal */
    double mu, sigma;        /* lognormal: of the log */
    double s, n, hn;         /* zipf: exponent, support 1 .. n, H(n) */
    double head[ZIPF_HEAD + 1]; /* zipf: H(0 .. ZIPF_HEAD) */
    double tail0, c1, c3, c5; /* zipf: the N-terms of the sum beyond the head (N = ZIPF_HEAD), the
                               * Euler-Maclaurin coefficients */
    double n1s;              /* zipf: N^(1 - s) */
    int32_t *values;         /* empirical: distinct values, ascending */
    double *cum;             /* their cumulative weights */
    size_t k;
    gsl_ran_discrete_t *table;
};

static int32_t finish(const wl_len *d, double x)
{
    if (x < d->lo) x = d->lo;
    if (x > d->hi) x = d->hi;
    x = nearbyint(x);
    if (!(x >= 1)) x = 1; /* NaN too */
    if (x > INT32_MAX) x = INT32_MAX;
    return (int32_t)x;
}

/* ---- Zipf ---- */

/* H(k) for k > N = ZIPF_HEAD: H(N) - f(N) + the sum of f(i) = i^-s over i = N .. k, which
 * Euler-Maclaurin gives as the integral of f over [N, k] + (f(N) + f(k)) / 2 + sum over j of
 * B2j / (2j)! (f^(2j-1)(k) - f^(2j-1)(N)), with B2/2! = 1/12, B4/4! = -1/720, B6/6! = 1/30240.
 * The terms at N are constants (tail0); three transcendental calls remain. */
static void zipf_init(wl_len *d)
{
    const double N = ZIPF_HEAD, s = d->s, fn = pow(N, -s), p = s * (s + 1) * (s + 2);
    d->c1 = -s / 12;                         /* f'(x) = -s x^-(s+1) */
    d->c3 = p / 720;                         /* f'''(x) = -p x^-(s+3) */
    d->c5 = -p * (s + 3) * (s + 4) / 30240;  /* f^(5)(x) = -p (s+3)(s+4) x^-(s+5) */
    d->n1s = pow(N, 1 - s);
    d->tail0 = d->head[ZIPF_HEAD] - fn + fn / 2 - fn * (d->c1 / N + d->c3 / (N * N * N) + d->c5 / pow(N, 5));
}

static double zipf_h(const wl_len *d, double k)
{
    if (k <= ZIPF_HEAD) return d->head[(int)k];
    double lr = log(k / ZIPF_HEAD), x = (1 - d->s) * lr;
    double integral = d->n1s * lr * (x == 0 ? 1 : expm1(x) / x); /* of t^-s over [N, k] */
    double fk = pow(k, -d->s), k2 = k * k;
    return d->tail0 + integral + fk / 2 + fk * (d->c1 / k + d->c3 / (k2 * k) + d->c5 / (k2 * k2 * k));
}

/* The smallest k in 1 .. n with H(k) >= u H(n), for u in [0, 1). */
static double zipf_quantile(const wl_len *d, double u)
{
    double y = u * d->hn;
    if (d->n <= ZIPF_HEAD || y <= d->head[ZIPF_HEAD]) {
        int lo = 0, hi = d->n < ZIPF_HEAD ? (int)d->n : ZIPF_HEAD; /* head[lo] < y <= head[hi] */
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (d->head[mid] >= y) hi = mid;
            else lo = mid;
        }
        return hi < 1 ? 1 : hi;
    }
    /* A first guess inverts H(N) - f(N)/2 + the integral of t^-s over [N, k]; one Newton step
     * on H, whose slope is about f(k), lands within a step of the answer. */
    const double N = ZIPF_HEAD, s = d->s;
    double mass = y - d->head[ZIPF_HEAD] + pow(N, -s) / 2, g;
    if (s == 1) {
        g = N * exp(mass);
    } else {
        double base = d->n1s + (1 - s) * mass;
        g = base > 0 ? pow(base, 1 / (1 - s)) : d->n;
    }
    if (!(g > N)) g = N + 1;
    if (g > d->n) g = d->n;
    g = floor(g + (y - zipf_h(d, g)) * pow(g, s) + 0.5);
    if (!(g > N)) g = N + 1;
    if (g > d->n) g = d->n;
    /* bracket: H(lo) < y <= H(hi), widening by doubling steps from the guess */
    double lo = N, hi = d->n, step = 1;
    if (zipf_h(d, g) >= y) {
        hi = g;
        for (double k = g - step; k > N; k = hi - step) {
            if (zipf_h(d, k) < y) {
                lo = k;
                break;
            }
            hi = k;
            step *= 2;
        }
    } else {
        lo = g;
        for (double k = g + step; k < d->n; k = lo + step) {
            if (zipf_h(d, k) >= y) {
                hi = k;
                break;
            }
            lo = k;
            step *= 2;
        }
    }
    while (hi - lo > 1) {
        double mid = floor((lo + hi) / 2);
        if (zipf_h(d, mid) >= y) hi = mid;
        else lo = mid;
    }
    return hi;
}

/* ---- empirical histograms ---- */

typedef struct pair {
    int32_t value;
    double count;
} pair;

static int by_value(const void *a, const void *b)
{
    int32_t x = ((const pair *)a)->value, y = ((const pair *)b)->value;
    return (x > y) - (x < y);
}

/* Merge the rows into distinct ascending values with cumulative weights and an alias table. */
static void empirical_init(wl_len *d, const wl_len_spec *sp)
{
    FS_ASSERT(sp->nvalues > 0 && sp->values);
    pair *p = fs_xmalloc(sp->nvalues * sizeof *p);
    for (size_t i = 0; i < sp->nvalues; i++) {
        p[i].value = sp->values[i];
        p[i].count = sp->counts ? sp->counts[i] : 1;
        FS_ASSERT(p[i].count >= 0 && isfinite(p[i].count));
    }
    qsort(p, sp->nvalues, sizeof *p, by_value);
    size_t k = 0;
    for (size_t i = 0; i < sp->nvalues; i++) {
        if (p[i].count == 0) continue;
        if (k > 0 && p[k - 1].value == p[i].value) p[k - 1].count += p[i].count;
        else p[k++] = p[i];
    }
    FS_ASSERT(k > 0);
    d->k = k;
    d->values = fs_xmalloc(k * sizeof *d->values);
    d->cum = fs_xmalloc(k * sizeof *d->cum);
    double *w = fs_xmalloc(k * sizeof *w), total = 0;
    for (size_t i = 0; i < k; i++) {
        d->values[i] = p[i].value;
        w[i] = p[i].count;
        d->cum[i] = total += p[i].count;
    }
    d->table = gsl_ran_discrete_preproc(k, w);
    if (!d->table) fs_oom(k * 16);
    free(w);
    free(p);
}

/* The smallest i with cum[i] > u x total. */
static int32_t empirical_quantile(const wl_len *d, double u)
{
    double y = u * d->cum[d->k - 1];
    size_t lo = 0, hi = d->k - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->cum[mid] > y) hi = mid;
        else lo = mid + 1;
    }
    return d->values[lo];
}

/* ---- the distributions ---- */

wl_len *wl_len_new(const wl_len_spec *sp)
{
    wl_len *d = fs_xcalloc(1, sizeof *d);
    d->dist = sp->dist;
    d->lo = sp->min > 0 ? sp->min : -INFINITY;
    d->hi = sp->max > 0 ? sp->max : INFINITY;
    switch (sp->dist) {
    case WL_DIST_FIXED:
        d->value = sp->value;
        d->lo = -INFINITY;
        d->hi = INFINITY;
        break;
    case WL_DIST_UNIFORM:
        FS_ASSERT(sp->max >= sp->min);
        d->min = sp->min;
        d->count = floor(sp->max - sp->min) + 1;
        break;
    case WL_DIST_NORMAL:
        FS_ASSERT(sp->sd >= 0);
        d->mean = sp->mean;
        d->sd = sp->sd;
        break;
    case WL_DIST_LOGNORMAL: {
        FS_ASSERT(sp->mean > 0 && sp->cv > 0);
        double s2 = log1p(sp->cv * sp->cv);
        d->mu = log(sp->mean) - s2 / 2;
        d->sigma = sqrt(s2);
        break;
    }
    case WL_DIST_ZIPF:
        FS_ASSERT(sp->exponent > 0 && sp->max >= 1);
        d->s = sp->exponent;
        d->n = floor(sp->max);
        for (int i = 1; i <= ZIPF_HEAD; i++) d->head[i] = d->head[i - 1] + pow(i, -d->s);
        zipf_init(d);
        d->hn = zipf_h(d, d->n);
        break;
    case WL_DIST_EMPIRICAL:
        empirical_init(d, sp);
        break;
    }
    return d;
}

void wl_len_free(wl_len *d)
{
    if (!d) return;
    if (d->table) gsl_ran_discrete_free(d->table);
    free(d->values);
    free(d->cum);
    free(d);
}

int32_t wl_len_draw(const wl_len *d, fs_rng *r)
{
    switch (d->dist) {
    case WL_DIST_FIXED:
        return finish(d, d->value);
    case WL_DIST_UNIFORM:
        return finish(d, d->min + (double)gsl_rng_uniform_int(r, (unsigned long)d->count));
    case WL_DIST_NORMAL:
        return finish(d, d->mean + gsl_ran_gaussian(r, d->sd));
    case WL_DIST_LOGNORMAL:
        return finish(d, gsl_ran_lognormal(r, d->mu, d->sigma));
    case WL_DIST_ZIPF:
        return finish(d, zipf_quantile(d, gsl_rng_uniform(r)));
    case WL_DIST_EMPIRICAL:
        return finish(d, d->values[gsl_ran_discrete(r, d->table)]);
    }
    return 1;
}

int32_t wl_len_at_score(const wl_len *d, double z)
{
    switch (d->dist) {
    case WL_DIST_FIXED:
        return finish(d, d->value);
    case WL_DIST_NORMAL:
        return finish(d, d->mean + d->sd * z);
    case WL_DIST_LOGNORMAL:
        return finish(d, exp(d->mu + d->sigma * z));
    default:
        break;
    }
    double u = gsl_cdf_ugaussian_P(z);
    if (u >= 1) u = nextafter(1, 0);
    switch (d->dist) {
    case WL_DIST_UNIFORM: {
        double k = floor(u * d->count);
        return finish(d, d->min + (k < d->count ? k : d->count - 1));
    }
    case WL_DIST_ZIPF:
        return finish(d, zipf_quantile(d, u));
    case WL_DIST_EMPIRICAL:
        return finish(d, empirical_quantile(d, u));
    default:
        return 1;
    }
}

double wl_time_draw(const wl_time_spec *t, fs_rng *r)
{
    double x;
    switch (t->dist) {
    case WL_TIME_FIXED:
        return t->value > 0 ? t->value : 0;
    case WL_TIME_UNIFORM:
        return t->max > t->min ? gsl_ran_flat(r, t->min, t->max) : t->min;
    case WL_TIME_EXPONENTIAL:
        x = gsl_ran_exponential(r, t->mean);
        break;
    case WL_TIME_LOGNORMAL: {
        double s2 = log1p(t->cv * t->cv);
        x = gsl_ran_lognormal(r, log(t->mean) - s2 / 2, sqrt(s2));
        break;
    }
    default:
        x = 0;
    }
    if (x < t->min) x = t->min;
    if (t->max > 0 && x > t->max) x = t->max;
    return x > 0 ? x : 0;
}
