/*
 * test_synth.c — synthetic load against theory.
 *
 * Arrival processes: long-run rates, gap laws (CV, Kolmogorov-Smirnov against GSL's CDFs),
 * the non-homogeneous ones per time or phase bin against the integral of their rate, the MMPP's
 * mean rate and count dispersion. Lengths: moments, KS against GSL's CDFs (of the rounded,
 * clamped law), Zipf against brute-force sums, empirical histograms against the trace. The
 * copula's correlation. Closed-loop users and sessions driven through wl_next / wl_complete by
 * a small event loop that follows wl_synth.h's contract. Same seed, same stream; sources and
 * seeds independent. Scenario keys, good and bad.
 *
 * Every statistical check prints what it measured and what theory says. Tolerances sit at about
 * five standard errors (or a 0.1% critical value), so the fixed seeds pass, and a wrong law,
 * rate or phase fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>

#include "harness.h"
#include "rng.h"
#include "scenario.h"
#include "wl.h"
#include "wl_synth.h"

/* ---- helpers ---- */

static const wl_len_spec ONE = {.dist = WL_DIST_FIXED, .value = 1};

/* Print a measured figure beside its theory and check it within tol. */
#define FIGURE(what, got, want, tol)                                                                    \
    do {                                                                                                \
        double f_g = (got), f_w = (want), f_t = (tol);                                                  \
        fprintf(stderr, "  %-44s %12.6g  expected %12.6g  (tol %.3g)\n", what, f_g, f_w, f_t);          \
        CHECK_NEAR(f_g, f_w, f_t);                                                                      \
    } while (0)

typedef struct moments {
    double n, sum, sum2;
} moments;

static void add(moments *m, double x)
{
    m->n++;
    m->sum += x;
    m->sum2 += x * x;
}
static double mean_of(const moments *m) { return m->sum / m->n; }
static double sd_of(const moments *m)
{
    double mu = mean_of(m), v = (m->sum2 - m->n * mu * mu) / (m->n - 1);
    return v > 0 ? sqrt(v) : 0;
}

static int cmp_int32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* KS statistic of an integer sample (token counts, or times in ns, which are rounded draws)
 * against cdf(k) = P(X <= k), over every integer. Sorts x. */
static double ks_int(int64_t *x, size_t n, double (*cdf)(double, const double *), const double *p)
{
    qsort(x, n, sizeof *x, cmp_int64);
    double d = cdf((double)x[0] - 1, p); /* below the first value the sample's CDF is 0 */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && x[j] == x[i]) j++;
        double fn = (double)j / (double)n; /* on [x_i, next value) */
        double next = j < n ? (double)x[j] : (double)x[i] + 1;
        double a = fabs(fn - cdf((double)x[i], p)), b = fabs(fn - cdf(next - 1, p));
        if (a > d) d = a;
        if (b > d) d = b;
        i = j;
    }
    double tail = 1 - cdf((double)x[n - 1], p);
    return tail > d ? tail : d;
}

/* 0.1% critical value of the KS statistic (conservative for discrete laws). */
static double ks_crit(size_t n) { return 1.949 / sqrt((double)n); }

#define KS_CHECK(what, d, n)                                                                        \
    do {                                                                                            \
        double k_d = (d), k_c = ks_crit(n);                                                         \
        fprintf(stderr, "  %-44s D = %.5f  (0.1%% critical %.5f, n = %zu)\n", what, k_d, k_c, (size_t)(n)); \
        CHECK(k_d < k_c);                                                                           \
    } while (0)

/* Chi-square of observed counts against expected ones, checked at the 0.1% level. */
static void chi2_check(const char *what, const double *obs, const double *exp, size_t k)
{
    double x2 = 0;
    for (size_t i = 0; i < k; i++) x2 += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i];
    double crit = gsl_cdf_chisq_Qinv(0.001, (double)(k - 1));
    fprintf(stderr, "  %-44s chi2 = %.1f  (df %zu, 0.1%% critical %.1f)\n", what, x2, k - 1, crit);
    CHECK(x2 < crit);
}

static wl_synth_spec open_spec(enum wl_arrival kind, double rate)
{
    return (wl_synth_spec){.arrival = kind, .rate = rate, .input = ONE, .output = ONE};
}

/* ---- arrival processes ---- */

/* CDFs of draws in seconds rounded to whole nanoseconds, at k ns: F((k + 1/2) ns). */
static double cdf_exp(double k, const double *p) { return k < 0 ? 0 : gsl_cdf_exponential_P((k + 0.5) * 1e-9, p[0]); }
static double cdf_gamma(double k, const double *p) { return k < 0 ? 0 : gsl_cdf_gamma_P((k + 0.5) * 1e-9, p[0], p[1]); }
static double cdf_weibull(double k, const double *p)
{
    return k < 0 ? 0 : gsl_cdf_weibull_P((k + 0.5) * 1e-9, p[0], p[1]);
}

/* n gaps of an open source: rate and CV against theory, and KS when a CDF is given. */
static void check_gaps(const char *name, const wl_synth_spec *sp, double want_cv, double cv_tol,
                       double (*cdf)(double, const double *), const double *p)
{
    const size_t n = 200000;
    int64_t *gaps = malloc(n * sizeof *gaps);
    wl_source *s = wl_synth_open(sp, 11, 0);
    fs_error err;
    wl_request r;
    fs_time prev = 0;
    moments m = {0};
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(wl_next(s, &r, &err), 1);
        gaps[i] = r.arrival - prev;
        prev = r.arrival;
        add(&m, fs_time_to_s(gaps[i]));
    }
    char what[96];
    fprintf(stderr, " %s\n", name);
    double sem = (want_cv > 0 ? want_cv : 1e-9) / sqrt((double)n);
    FIGURE("rate (req/s)", 1 / mean_of(&m), sp->rate, sp->rate * 5 * sem + 1e-9);
    snprintf(what, sizeof what, "CV of the gaps");
    FIGURE(what, sd_of(&m) / mean_of(&m), want_cv, cv_tol);
    if (cdf) KS_CHECK("KS of the gaps", ks_int(gaps, n, cdf, p), n);
    wl_free(s);
    free(gaps);
}

static void test_renewal_arrivals(void)
{
    wl_synth_spec sp = open_spec(WL_ARRIVAL_CONSTANT, 40);
    check_gaps("constant 40/s", &sp, 0, 1e-6, NULL, NULL);
    sp = open_spec(WL_ARRIVAL_POISSON, 40);
    check_gaps("poisson 40/s", &sp, 1, 0.02, cdf_exp, (const double[]){1.0 / 40});
    sp = open_spec(WL_ARRIVAL_GAMMA, 40);
    sp.cv = 3;
    check_gaps("gamma 40/s cv 3", &sp, 3, 0.12, cdf_gamma, (const double[]){1.0 / 9, 9.0 / 40});
    sp = open_spec(WL_ARRIVAL_GAMMA, 7);
    sp.cv = 0.5;
    check_gaps("gamma 7/s cv 0.5", &sp, 0.5, 0.01, cdf_gamma, (const double[]){4, 1.0 / 28});
    for (double k = 0.5; k <= 2; k += 1.5) {
        sp = open_spec(WL_ARRIVAL_WEIBULL, 25);
        sp.shape = k;
        double g1 = gsl_sf_gamma(1 + 1 / k), g2 = gsl_sf_gamma(1 + 2 / k);
        double cv = sqrt(g2 / (g1 * g1) - 1), scale = 1 / (25 * g1);
        char name[64];
        snprintf(name, sizeof name, "weibull 25/s shape %g", k);
        check_gaps(name, &sp, cv, cv * (k < 1 ? 0.06 : 0.02), cdf_weibull, (const double[]){scale, k});
    }
}

/* Arrivals of s in [0, end) counted in nbins equal bins of `width` s, after shifting by phase
 * and folding by period (0: no folding). Returns how many arrivals there were. */
static size_t bin_arrivals(wl_source *s, fs_time end, double width, double period, double phase, double *bins,
                           size_t nbins)
{
    fs_error err;
    wl_request r;
    size_t n = 0;
    memset(bins, 0, nbins * sizeof *bins);
    while (wl_next(s, &r, &err) == 1 && r.arrival < end) {
        double t = fs_time_to_s(r.arrival) + phase;
        if (period > 0) t = fmod(t, period);
        size_t b = (size_t)(t / width);
        if (b < nbins) bins[b]++;
        n++;
    }
    return n;
}

/* Each bin within 5 Poisson standard errors of its expectation, plus a chi-square overall. */
static void check_bins(const char *what, const double *obs, const double *exp, size_t k)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < k; i++) {
        double z = fabs(obs[i] - exp[i]) / sqrt(exp[i] > 1 ? exp[i] : 1);
        if (z > worst) worst = z, at = i;
    }
    fprintf(stderr, "  %-44s worst bin %zu: %.0f vs %.1f (%.2f sd)\n", what, at, obs[at], exp[at], worst);
    CHECK(worst < 5);
    size_t m = 0;
    double o[512], e[512];
    for (size_t i = 0; i < k && m < 512; i++)
        if (exp[i] > 0) o[m] = obs[i], e[m++] = exp[i];
        else CHECK_INT(obs[i], 0);
    chi2_check(what, o, e, m);
}

static void test_stages(void)
{
    /* steps: 20/s, 80/s, a pause, then a ramp from 10/s up to 100/s and back down to 0 */
    const wl_stage st[] = {{20, 200, false}, {80, 100, false}, {0, 100, false},
                           {10, 200, true},  {100, 200, true}, {0, 100, false}};
    wl_synth_spec sp = open_spec(WL_ARRIVAL_STAGES, 0);
    sp.stages.v = st;
    sp.stages.n = 6;
    wl_source *s = wl_synth_open(&sp, 3, 0);
    double bins[90], exp[90];
    /* the rate, integrated exactly over 10 s bins (it is linear inside each) */
    for (int b = 0; b < 90; b++) {
        double t0 = b * 10, t1 = t0 + 10, mid = (t0 + t1) / 2, rate;
        if (mid < 200) rate = 20;
        else if (mid < 300) rate = 80;
        else if (mid < 400) rate = 0;
        else if (mid < 600) rate = 10 + 90 * (mid - 400) / 200;
        else if (mid < 800) rate = 100 - 100 * (mid - 600) / 200;
        else rate = 0;
        exp[b] = rate * 10;
    }
    size_t n = bin_arrivals(s, FS_TIME_MAX, 10, 0, 0, bins, 90);
    fs_error err;
    wl_request r;
    fprintf(stderr, " stages: %zu arrivals\n", n);
    FIGURE("arrivals in all", n, 4000 + 8000 + 11000 + 10000, 5 * sqrt(33000));
    check_bins("per 10 s bin", bins, exp, 90);
    CHECK_INT(wl_next(s, &r, &err), 0); /* the process ends with the last stage */
    wl_free(s);
}

static double sinusoid_mass(double rate, double a, double P, double t0, double t1)
{
    /* integral of rate (1 - a cos(2 pi tau / P)) */
    double w = 2 * 3.141592653589793 / P;
    return rate * ((t1 - t0) - a * (sin(w * t1) - sin(w * t0)) / w);
}

static void test_diurnal_sinusoid(void)
{
    const double P = 1000, rate = 100, a = 0.6;
    wl_synth_spec sp = open_spec(WL_ARRIVAL_DIURNAL, rate);
    sp.diurnal.amplitude = a;
    sp.diurnal.period_s = P;
    sp.diurnal.phase_s = 250; /* the run starts a quarter into the cycle: at the mean, rising */
    wl_source *s = wl_synth_open(&sp, 5, 0);
    const int periods = 20, nb = 24;
    double bins[24], exp[24];
    /* fold by cycle position tau = t + phase; whole periods of t only, so each tau bin is covered `periods` times */
    size_t n = bin_arrivals(s, fs_time_from_s(periods * P), P / nb, P, 250, bins, nb);
    for (int b = 0; b < nb; b++) exp[b] = periods * sinusoid_mass(rate, a, P, b * P / nb, (b + 1) * P / nb);
    fprintf(stderr, " diurnal sinusoid: rate %g, amplitude %g, period %g s, %d periods\n", rate, a, P, periods);
    FIGURE("mean rate (req/s)", n / (periods * P), rate, 5 * sqrt(n) / (periods * P));
    FIGURE("trough bin / expected", bins[0] / exp[0], 1, 5 / sqrt(exp[0]));
    FIGURE("peak bin / expected", bins[12] / exp[12], 1, 5 / sqrt(exp[12]));
    FIGURE("peak / trough bins", bins[12] / bins[0], exp[12] / exp[0], 0.1 * exp[12] / exp[0]);
    check_bins("per phase bin", bins, exp, nb);
    wl_free(s);
}

/* The profile's rate at cycle time tau, written independently of the source. */
static double profile_rate(const double *pts, int n, double P, double rate, bool interp, double tau)
{
    double sum = 0, w = P / n;
    for (int i = 0; i < n; i++) sum += pts[i];
    double scale = rate * n / sum;
    if (!interp) return pts[(int)(tau / w) % n] * scale;
    double x = tau / w - 0.5;
    int i = (int)floor(x);
    double f = x - i;
    return (pts[(i + n) % n] * (1 - f) + pts[(i + 1) % n] * f) * scale;
}

static void test_diurnal_profile(void)
{
    const double pts[24] = {3, 2, 1.5, 1, 1, 1.5, 3, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 8, 7, 6, 6, 5, 4, 3.5};
    const double P = 2400, rate = 40;
    for (int interp = 0; interp < 2; interp++) {
        wl_synth_spec sp = open_spec(WL_ARRIVAL_DIURNAL, rate);
        sp.diurnal.profile = pts;
        sp.diurnal.nprofile = 24;
        sp.diurnal.interpolate = interp;
        sp.diurnal.period_s = P;
        sp.diurnal.phase_s = 700;
        wl_source *s = wl_synth_open(&sp, 8, 0);
        const int periods = 25, nb = 96;
        double bins[96], exp[96], w = P / nb;
        size_t n = bin_arrivals(s, fs_time_from_s(periods * P), w, P, 700, bins, nb);
        /* the rate is linear inside each bin (kinks and steps fall on bin edges): the midpoint rule is exact */
        for (int b = 0; b < nb; b++) exp[b] = periods * w * profile_rate(pts, 24, P, rate, interp, (b + 0.5) * w);
        fprintf(stderr, " diurnal profile, %s: %zu arrivals\n", interp ? "interpolated" : "stepped", n);
        FIGURE("mean rate (req/s)", n / (periods * P), rate, 5 * sqrt(n) / (periods * P));
        check_bins("per 25 s bin of the cycle", bins, exp, nb);
        wl_free(s);
    }
}

static void test_mmpp(void)
{
    /* on: 100/s for 2 s on average; off: 5/s for 8 s */
    wl_synth_spec sp = open_spec(WL_ARRIVAL_MMPP, 0);
    sp.mmpp.rate[0] = 100, sp.mmpp.mean_s[0] = 2;
    sp.mmpp.rate[1] = 5, sp.mmpp.mean_s[1] = 8;
    double mean = (100 * 2 + 5 * 8) / 10.0;
    double r1 = 0.5, r2 = 0.125, dl = 95;
    const double T = 100000, w = 100;
    /* index of dispersion of counts in windows of w s (Fischer & Meier-Hellstern, 1993) */
    double dinf = 2 * dl * dl * r1 * r2 / (pow(r1 + r2, 3) * mean);
    double dw = 1 + dinf * (1 - (1 - exp(-(r1 + r2) * w)) / ((r1 + r2) * w));
    wl_source *s = wl_synth_open(&sp, 21, 0);
    static double bins[1000];
    size_t n = bin_arrivals(s, fs_time_from_s(T), w, 0, 0, bins, 1000);
    moments m = {0};
    for (int i = 0; i < 1000; i++) add(&m, bins[i]);
    fprintf(stderr, " mmpp: on 100/s for 2 s, off 5/s for 8 s, %g s\n", T);
    FIGURE("mean rate (req/s)", n / T, mean, 5 * sqrt(dw * mean * T) / T);
    FIGURE("variance / mean of counts in 100 s", sd_of(&m) * sd_of(&m) / mean_of(&m), dw, 0.25 * dw);
    wl_free(s);
}

/* ---- lengths ---- */

typedef struct lenlaw {
    const char *name;
    wl_len_spec spec;
    double mean, sd;                 /* theory of the rounded, clamped law (sd 0: skip) */
    double (*cdf)(double, const double *);
    double p[4];
} lenlaw;

static double clampc(double k, const double *p) { return k < p[2] ? 0 : k >= p[3] ? 1 : k; }
static double cdf_normal_int(double k, const double *p)
{
    double c = clampc(k, p);
    return c == 0 || c == 1 ? c : gsl_cdf_gaussian_P(k + 0.5 - p[0], p[1]);
}
static double cdf_lognormal_int(double k, const double *p)
{
    double c = clampc(k, p);
    return c == 0 || c == 1 ? c : gsl_cdf_lognormal_P(k + 0.5, p[0], p[1]);
}
static double cdf_uniform_int(double k, const double *p)
{
    double c = clampc(k, p);
    return c == 0 || c == 1 ? c : (floor(k) - p[2] + 1) / (p[3] - p[2] + 1);
}

static void test_length_laws(void)
{
    const double s2 = log1p(0.25), mu = log(500) - s2 / 2, s2c = log1p(4), muc = log(500) - s2c / 2;
    const lenlaw laws[] = {
        {"uniform 10..20", {.dist = WL_DIST_UNIFORM, .min = 10, .max = 20}, 15, sqrt(120 / 12.0), cdf_uniform_int,
         {0, 0, 10, 20}},
        {"normal 500, sd 100", {.dist = WL_DIST_NORMAL, .mean = 500, .sd = 100, .min = 1, .max = 1e9}, 500,
         sqrt(100 * 100 + 1 / 12.0), cdf_normal_int, {500, 100, 1, 1e9}},
        {"lognormal 500, cv 0.5", {.dist = WL_DIST_LOGNORMAL, .mean = 500, .cv = 0.5, .min = 1, .max = 1e9}, 500,
         sqrt(250 * 250 + 1 / 12.0), cdf_lognormal_int, {mu, sqrt(s2), 1, 1e9}},
        {"lognormal 500, cv 2, clamped 100..600",
         {.dist = WL_DIST_LOGNORMAL, .mean = 500, .cv = 2, .min = 100, .max = 600}, 0, 0, cdf_lognormal_int,
         {muc, sqrt(s2c), 100, 600}},
    };
    const size_t n = 200000;
    int64_t *x = malloc(n * sizeof *x);
    fs_rng *r = fs_rng_new(9, FS_STREAM_LENGTHS, 0);
    for (size_t l = 0; l < sizeof laws / sizeof laws[0]; l++) {
        wl_len *d = wl_len_new(&laws[l].spec);
        moments m = {0};
        for (size_t i = 0; i < n; i++) add(&m, x[i] = wl_len_draw(d, r));
        fprintf(stderr, " %s\n", laws[l].name);
        if (laws[l].sd > 0) {
            FIGURE("mean", mean_of(&m), laws[l].mean, 5 * laws[l].sd / sqrt(n));
            FIGURE("sd", sd_of(&m), laws[l].sd, laws[l].sd * (laws[l].spec.dist == WL_DIST_LOGNORMAL ? 0.03 : 0.01));
        }
        KS_CHECK("KS against the GSL CDF", ks_int(x, n, laws[l].cdf, laws[l].p), n);
        if (laws[l].spec.dist == WL_DIST_LOGNORMAL && laws[l].spec.min == 100)
            CHECK(x[0] >= 100 && x[n - 1] <= 600); /* sorted by the KS */
        wl_len_free(d);
    }
    /* fixed, and uniform counts */
    wl_len *fixed = wl_len_new(&(wl_len_spec){.dist = WL_DIST_FIXED, .value = 128});
    wl_len *uni = wl_len_new(&(wl_len_spec){.dist = WL_DIST_UNIFORM, .min = 10, .max = 12});
    double counts[3] = {0}, exp[3] = {n / 3.0, n / 3.0, n / 3.0};
    int fixed_ok = 1;
    for (size_t i = 0; i < n; i++) {
        fixed_ok &= wl_len_draw(fixed, r) == 128;
        int u = wl_len_draw(uni, r);
        if (u >= 10 && u <= 12) counts[u - 10]++;
    }
    CHECK(fixed_ok);
    chi2_check("uniform 10..12 counts", counts, exp, 3);
    wl_len_free(fixed);
    wl_len_free(uni);
    fs_rng_free(r);
    free(x);
}

/* Zipf, checked draw by draw: the sampler uses one uniform per draw, so a clone of the stream
 * gives the same uniform to a brute-force inversion of Kahan-summed k^-s. */
static void test_zipf(void)
{
    const struct {
        double s, n;
    } cases[] = {{1.0, 1e6}, {0.7, 1e6}, {2.5, 1e5}, {1.2, 50}};
    const size_t draws = 100000;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = (size_t)cases[c].n;
        double *cum = malloc((n + 1) * sizeof *cum), sum = 0, comp = 0, m1 = 0;
        cum[0] = 0;
        for (size_t k = 1; k <= n; k++) {
            double y = pow((double)k, -cases[c].s) - comp, t = sum + y;
            comp = (t - sum) - y;
            cum[k] = sum = t;
            m1 += (double)k * pow((double)k, -cases[c].s);
        }
        wl_len *d = wl_len_new(&(wl_len_spec){.dist = WL_DIST_ZIPF, .exponent = cases[c].s, .max = cases[c].n});
        fs_rng *r = fs_rng_new(4, FS_STREAM_LENGTHS, c), *twin = gsl_rng_clone(r);
        size_t mismatches = 0;
        moments m = {0};
        double freq[10] = {0};
        for (size_t i = 0; i < draws; i++) {
            int32_t k = wl_len_draw(d, r);
            double y = gsl_rng_uniform(twin) * cum[n];
            size_t lo = 0, hi = n; /* smallest k with cum[k] >= y */
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (cum[mid] >= y) hi = mid;
                else lo = mid;
            }
            mismatches += (size_t)k != hi;
            add(&m, k);
            if (k <= 10) freq[k - 1]++;
        }
        fprintf(stderr, " zipf exponent %g, support 1..%zu\n", cases[c].s, n);
        FIGURE("draws differing from brute-force inversion", mismatches, 0, 0);
        double mean = m1 / cum[n], p1 = 1 / cum[n];
        FIGURE("P(1)", freq[0] / draws, p1, 5 * sqrt(p1 * (1 - p1) / draws));
        if (cases[c].s > 2 || n < 1000) {
            double v = 0;
            for (size_t k = 1; k <= n; k++) v += pow((double)k, 2 - cases[c].s);
            double sd = sqrt(v / cum[n] - mean * mean);
            FIGURE("mean", mean_of(&m), mean, 5 * sd / sqrt(draws));
        }
        double obs[11], exp[11], rest = draws;
        for (int k = 0; k < 10; k++) {
            obs[k] = freq[k];
            exp[k] = draws * pow(k + 1, -cases[c].s) / cum[n];
            rest -= freq[k];
        }
        obs[10] = rest;
        exp[10] = draws * (1 - cum[n < 10 ? n : 10] / cum[n]);
        chi2_check("frequencies of 1..10 and the rest", obs, exp, exp[10] > 1 ? 11 : 10);
        wl_len_free(d);
        fs_rng_free(r);
        fs_rng_free(twin);
        free(cum);
    }
}

/* An empirical histogram built from a trace's rows reproduces their frequencies. */
static void test_empirical(void)
{
    fs_error err;
    wl_source *t = wl_azure_open(FS_TEST_DATA "/azure_conv_head100.csv", 0, &err);
    CHECK(t != NULL);
    if (!t) return;
    int32_t rows[100];
    size_t nrows = 0;
    wl_request r;
    while (nrows < 100 && wl_next(t, &r, &err) == 1) rows[nrows++] = r.output_tokens > 0 ? r.output_tokens : 1;
    wl_free(t);
    CHECK_INT(nrows, 100);
    wl_len *d = wl_len_new(&(wl_len_spec){.dist = WL_DIST_EMPIRICAL, .values = rows, .nvalues = nrows});
    int32_t sorted[100];
    memcpy(sorted, rows, sizeof rows);
    qsort(sorted, nrows, sizeof *sorted, cmp_int32);
    int32_t vals[100];
    double want[100], got[100] = {0};
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++) {
        if (k && vals[k - 1] == sorted[i]) {
            want[k - 1]++;
            continue;
        }
        vals[k] = sorted[i];
        want[k++] = 1;
    }
    const size_t draws = 400000;
    fs_rng *g = fs_rng_new(2, FS_STREAM_LENGTHS, 0);
    size_t stray = 0;
    for (size_t i = 0; i < draws; i++) {
        int32_t x = wl_len_draw(d, g);
        int32_t *at = bsearch(&x, vals, k, sizeof *vals, cmp_int32);
        if (at) got[at - vals]++;
        else stray++;
    }
    for (size_t i = 0; i < k; i++) want[i] *= (double)draws / (double)nrows;
    fprintf(stderr, " empirical from 100 trace rows: %zu distinct output lengths\n", k);
    FIGURE("draws outside the trace's values", stray, 0, 0);
    chi2_check("frequencies vs the trace's", got, want, k);
    wl_len_free(d);
    /* weights, repeated values adding up, a zero weight, and clamps: 5 (1), 50 (2 + 4, clamped to 40) */
    const int32_t v[] = {5, 50, 500, 50};
    const double w[] = {1, 2, 0, 4};
    d = wl_len_new(&(wl_len_spec){.dist = WL_DIST_EMPIRICAL, .values = v, .counts = w, .nvalues = 4, .max = 40});
    double c[2] = {0};
    for (size_t i = 0; i < draws; i++) {
        int32_t x = wl_len_draw(d, g);
        c[x == 40] += x == 5 || x == 40;
    }
    chi2_check("weights 1 (5) : 6 (50 -> max 40)", c, (double[]){draws / 7.0, draws * 6 / 7.0}, 2);
    wl_len_free(d);
    fs_rng_free(g);
}

static double corr(const double *x, const double *y, size_t n)
{
    moments a = {0}, b = {0};
    double sxy = 0;
    for (size_t i = 0; i < n; i++) {
        add(&a, x[i]);
        add(&b, y[i]);
        sxy += x[i] * y[i];
    }
    return (sxy / n - mean_of(&a) * mean_of(&b)) / (sd_of(&a) * sd_of(&b)) * n / (n - 1);
}

static int cmp_pair(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* Ranks 1..n, ties given their average. */
static void ranks(const double *v, size_t n, double *rank)
{
    double *p = malloc(2 * n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[2 * i] = v[i], p[2 * i + 1] = (double)i;
    qsort(p, n, 2 * sizeof *p, cmp_pair);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[2 * j] == p[2 * i]) j++;
        for (size_t k = i; k < j; k++) rank[(size_t)p[2 * k + 1]] = (double)(i + j + 1) / 2;
        i = j;
    }
    free(p);
}

static double spearman(const double *x, const double *y, size_t n)
{
    double *rx = malloc(n * sizeof *rx), *ry = malloc(n * sizeof *ry);
    ranks(x, n, rx);
    ranks(y, n, ry);
    double c = corr(rx, ry, n);
    free(rx);
    free(ry);
    return c;
}

static void test_correlation(void)
{
    const size_t n = 100000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    const double rhos[] = {0.7, -0.5, 0};
    for (size_t c = 0; c < 3; c++) {
        for (int lognormal = 0; lognormal < 2; lognormal++) {
            wl_synth_spec sp = open_spec(WL_ARRIVAL_POISSON, 10);
            sp.correlation = rhos[c];
            if (lognormal) {
                sp.input = (wl_len_spec){.dist = WL_DIST_LOGNORMAL, .mean = 2000, .cv = 1};
                sp.output = (wl_len_spec){.dist = WL_DIST_LOGNORMAL, .mean = 300, .cv = 0.8};
            } else {
                sp.input = (wl_len_spec){.dist = WL_DIST_NORMAL, .mean = 3000, .sd = 500};
                sp.output = (wl_len_spec){.dist = WL_DIST_NORMAL, .mean = 400, .sd = 80};
            }
            wl_source *s = wl_synth_open(&sp, 13, 0);
            fs_error err;
            wl_request r;
            moments in = {0};
            for (size_t i = 0; i < n; i++) {
                wl_next(s, &r, &err);
                x[i] = lognormal ? log(r.input_tokens) : r.input_tokens;
                y[i] = lognormal ? log(r.output_tokens) : r.output_tokens;
                add(&in, r.input_tokens);
            }
            char what[80];
            snprintf(what, sizeof what, "rho %g, %s: correlation of %s", rhos[c], lognormal ? "lognormal" : "normal",
                     lognormal ? "logs" : "lengths");
            double rho = rhos[c], tol = 5 * (1 - rho * rho) / sqrt(n) + 0.002; /* + rounding to integers */
            FIGURE(what, corr(x, y, n), rho, tol);
            double m = lognormal ? 2000 : 3000, sd = lognormal ? 2000 : 500;
            FIGURE("  input mean (the marginal is kept)", mean_of(&in), m, 5 * sd / sqrt(n) * (lognormal ? 2 : 1));
            wl_free(s);
        }
    }
    /* Discrete marginals go through their quantile functions: the rank correlation is
     * 6/pi asin(rho/2) (ties in the Zipf lower it by a factor of about 0.9998), and rho = 1 makes
     * the output a non-decreasing function of the input. */
    for (int c = 0; c < 2; c++) {
        wl_synth_spec sp = open_spec(WL_ARRIVAL_POISSON, 10);
        sp.correlation = c ? 1 : 0.8;
        sp.input = (wl_len_spec){.dist = WL_DIST_ZIPF, .exponent = 0.9, .max = 5000};
        sp.output = (wl_len_spec){.dist = WL_DIST_UNIFORM, .min = 1, .max = 1000};
        wl_source *s = wl_synth_open(&sp, 13, 1);
        fs_error err;
        wl_request r;
        for (size_t i = 0; i < n; i++) {
            wl_next(s, &r, &err);
            x[i] = r.input_tokens;
            y[i] = r.output_tokens;
        }
        if (c == 0) {
            double want = 6 / 3.141592653589793 * asin(0.4);
            FIGURE("zipf-uniform, rho 0.8: rank correlation", spearman(x, y, n), want, 0.01);
        } else {
            size_t disorder = 0;
            double *xy = malloc(2 * n * sizeof *xy);
            for (size_t i = 0; i < n; i++) xy[2 * i] = x[i], xy[2 * i + 1] = y[i];
            qsort(xy, n, 2 * sizeof *xy, cmp_pair);
            for (size_t i = 1; i < n; i++) disorder += xy[2 * i + 1] < xy[2 * i - 1];
            FIGURE("zipf-uniform, rho 1: outputs out of input order", disorder, 0, 0);
            free(xy);
        }
        wl_free(s);
    }
    free(x);
    free(y);
}

/* ---- a tiny simulation that drives sources that wait ---- */

typedef struct rec {
    wl_request r;
    fs_time given, done; /* when wl_next gave it; when it completed (-1: not yet) */
} rec;

/* Infinite servers with exponential service of mean svc_s; every request of the source is
 * recorded by id. Follows wl_synth.h: pull until WL_WAIT at the start, after each completion,
 * and at the wake-up time. */
typedef struct driver {
    wl_source *src;
    fs_rng *svc;
    double svc_s;
    rec *recs;
    size_t nrecs, cap;
    size_t *pend, npend; /* ids handed out, not arrived */
    size_t *busy, nbusy; /* ids arrived, not completed */
    fs_time now, wake;
    size_t inflight, max_inflight, late, bursts_not_one, completions;
    bool stuck; /* a wake-up gave nothing and asked for the same time again */
    bool closed_loop;
} driver;

static void burst(driver *d)
{
    fs_error err;
    wl_request r;
    int rc;
    size_t given = 0;
    while ((rc = wl_next(d->src, &r, &err)) == 1) {
        if (d->nrecs == d->cap) {
            d->cap = d->cap ? 2 * d->cap : 1024;
            d->recs = realloc(d->recs, d->cap * sizeof *d->recs);
            d->pend = realloc(d->pend, d->cap * sizeof *d->pend);
            d->busy = realloc(d->busy, d->cap * sizeof *d->busy);
        }
        CHECK_INT(r.id, d->nrecs);
        d->late += r.arrival < d->now;
        d->recs[d->nrecs] = (rec){r, d->now, -1};
        d->pend[d->npend++] = d->nrecs++;
        if (++d->inflight > d->max_inflight) d->max_inflight = d->inflight;
        given++;
    }
    if (rc == WL_WAIT) d->wake = r.arrival;
    if (d->closed_loop && d->completions && given != 1) d->bursts_not_one++;
}

static void drive(driver *d, size_t completions)
{
    d->wake = FS_TIME_MAX;
    burst(d);
    while (d->completions < completions) {
        fs_time best = FS_TIME_MAX;
        int kind = -1;
        size_t at = 0;
        for (size_t i = 0; i < d->nbusy; i++)
            if (d->recs[d->busy[i]].done < best) best = d->recs[d->busy[i]].done, kind = 0, at = i;
        for (size_t i = 0; i < d->npend; i++)
            if (d->recs[d->pend[i]].r.arrival < best) best = d->recs[d->pend[i]].r.arrival, kind = 1, at = i;
        if (d->wake < best) best = d->wake, kind = 2;
        if (kind < 0) break;
        d->now = best;
        if (kind == 0) {
            rec *q = &d->recs[d->busy[at]];
            d->busy[at] = d->busy[--d->nbusy];
            d->inflight--;
            d->completions++;
            wl_complete(d->src, &q->r, d->now);
            burst(d);
        } else if (kind == 1) {
            size_t id = d->pend[at];
            d->pend[at] = d->pend[--d->npend];
            d->recs[id].done = d->now + fs_time_from_s(gsl_ran_exponential(d->svc, d->svc_s));
            d->busy[d->nbusy++] = id;
        } else {
            size_t before = d->nrecs;
            d->wake = FS_TIME_MAX;
            burst(d);
            if (d->nrecs == before && d->wake == d->now) {
                d->stuck = true;
                break;
            }
        }
    }
    CHECK(!d->stuck);
}

static void driver_fini(driver *d)
{
    wl_free(d->src);
    fs_rng_free(d->svc);
    free(d->recs);
    free(d->pend);
    free(d->busy);
}

static driver run(const wl_synth_spec *sp, uint64_t seed, uint64_t svc_seed, double svc_s, size_t completions)
{
    driver d = {.src = wl_synth_open(sp, seed, 0), .svc = fs_rng_new(svc_seed, FS_STREAM_SERVICE, 0), .svc_s = svc_s,
                .closed_loop = sp->arrival == WL_ARRIVAL_CLOSED && !sp->sessions.enabled};
    drive(&d, completions);
    return d;
}

static void test_closed_loop(void)
{
    wl_synth_spec sp = {.arrival = WL_ARRIVAL_CLOSED, .closed = {8, {.dist = WL_TIME_EXPONENTIAL, .mean = 2}},
                        .input = {.dist = WL_DIST_UNIFORM, .min = 100, .max = 200}, .output = ONE};
    /* the start: every user at time 0, then a wait that only a completion ends */
    wl_source *s = wl_synth_open(&sp, 1, 0);
    fs_error err;
    wl_request r;
    for (int u = 0; u < 8; u++) {
        CHECK_INT(wl_next(s, &r, &err), 1);
        CHECK_INT(r.arrival, 0);
    }
    CHECK_INT(wl_next(s, &r, &err), WL_WAIT);
    CHECK(r.arrival == FS_TIME_MAX);
    wl_free(s);

    const size_t n = 40000;
    driver d = run(&sp, 1, 2, 1.0, n);
    int64_t *think = malloc(d.nrecs * sizeof *think);
    size_t nt = 0, negative = 0;
    moments m = {0};
    for (size_t i = 8; i < d.nrecs; i++) { /* each later request came from the completion at its `given` time */
        think[nt] = d.recs[i].r.arrival - d.recs[i].given;
        negative += think[nt] < 0;
        add(&m, fs_time_to_s(think[nt++]));
    }
    fs_time end = d.now;
    fprintf(stderr, " closed loop: 8 users, think exp(2 s), service exp(1 s), %zu completions\n", d.completions);
    FIGURE("most requests in flight", d.max_inflight, 8, 0);
    FIGURE("bursts after a completion not giving 1 request", d.bursts_not_one, 0, 0);
    FIGURE("requests given with a past arrival time", d.late, 0, 0);
    FIGURE("negative think times", negative, 0, 0);
    FIGURE("mean think time (s)", mean_of(&m), 2, 5 * 2 / sqrt(nt));
    KS_CHECK("KS of think times vs exp(2 s)", ks_int(think, nt, cdf_exp, (const double[]){2}), nt);
    /* each user cycles think + service: throughput N / (E[think] + E[service]) */
    FIGURE("throughput (req/s)", d.completions / fs_time_to_s(end), 8 / 3.0, 8 / 3.0 * 0.02);
    driver_fini(&d);
    free(think);

    /* a fixed think time is kept to the nanosecond */
    sp.closed.users = 3;
    sp.closed.think = (wl_time_spec){.dist = WL_TIME_FIXED, .value = 0.5};
    d = run(&sp, 1, 3, 0.2, 2000);
    size_t off = 0;
    for (size_t i = 3; i < d.nrecs; i++) off += d.recs[i].r.arrival - d.recs[i].given != 500000000;
    FIGURE("fixed 0.5 s think times not exact", off, 0, 0);
    FIGURE("most requests in flight (3 users)", d.max_inflight, 3, 0);
    driver_fini(&d);
}

/* Sessions: each turn's prompt is the last one's prompt and output plus 10..20 new tokens, its
 * key is the session's, it comes think_s after the last turn completed; a closed-loop user's
 * next session comes user_think_s after the last one's final turn. */
static void check_sessions(const driver *d, double think_s, size_t users, double user_think_s)
{
    size_t turn_err = 0, key_err = 0, think_err = 0, user_think_err = 0, starts = 0;
    moments news = {0};
    for (size_t i = 0; i < d->nrecs; i++) {
        const wl_request *r = &d->recs[i].r;
        key_err += r->session == 0 || r->prefix_key != r->session ||
                   r->prefix_tokens != r->input_tokens + r->output_tokens;
        size_t last = SIZE_MAX;
        for (size_t j = i; j-- > 0;)
            if (d->recs[j].r.session == r->session) {
                last = j;
                break;
            }
        if (last == SIZE_MAX) { /* a session's first turn */
            starts++;
            add(&news, r->input_tokens);
            turn_err += r->input_tokens < 10 || r->input_tokens > 20;
            if (users && i >= users) /* given in the burst of the completion that ended the user's last session */
                user_think_err += r->arrival - d->recs[i].given != fs_time_from_s(user_think_s);
            continue;
        }
        const rec *p = &d->recs[last];
        int32_t added = r->input_tokens - p->r.input_tokens - p->r.output_tokens;
        turn_err += added < 10 || added > 20;
        add(&news, added);
        think_err += p->done < 0 || r->arrival - p->done != fs_time_from_s(think_s);
    }
    fprintf(stderr, "  (%zu sessions, %zu requests)\n", starts, d->nrecs);
    FIGURE("turns whose new tokens are outside 10..20", turn_err, 0, 0);
    FIGURE("mean new tokens per turn", mean_of(&news), 15, 5 * sqrt(10.0) / sqrt(news.n));
    FIGURE("turns with a wrong key or prefix length", key_err, 0, 0);
    FIGURE("turns not think_time after the last", think_err, 0, 0);
    if (users) FIGURE("sessions not user think after the last", user_think_err, 0, 0);
    FIGURE("requests given with a past arrival time", d->late, 0, 0);
}

static void test_sessions(void)
{
    /* open: 2 sessions/s, 1..6 turns, 3 s between a turn's completion and the next */
    wl_synth_spec sp = open_spec(WL_ARRIVAL_POISSON, 2);
    sp.input = (wl_len_spec){.dist = WL_DIST_UNIFORM, .min = 10, .max = 20};
    sp.output = (wl_len_spec){.dist = WL_DIST_UNIFORM, .min = 5, .max = 9};
    sp.sessions.enabled = true;
    sp.sessions.turns = (wl_len_spec){.dist = WL_DIST_UNIFORM, .min = 1, .max = 6};
    sp.sessions.think = (wl_time_spec){.dist = WL_TIME_FIXED, .value = 3};
    driver d = run(&sp, 4, 5, 1.0, 30000);
    fprintf(stderr, " open sessions: 2/s, turns uniform 1..6, think 3 s, service exp(1 s)\n");
    check_sessions(&d, 3, 0, 0);
    /* the session process: its starts are a Poisson process of rate 2, given on time */
    moments turns = {0};
    size_t starts = 0, early = 0;
    fs_time last_start = 0;
    uint64_t *keys = malloc(d.nrecs * sizeof *keys);
    for (size_t i = 0; i < d.nrecs; i++) {
        bool first = true;
        for (size_t j = 0; j < starts && first; j++) first = keys[j] != d.recs[i].r.session;
        if (!first) continue;
        keys[starts++] = d.recs[i].r.session;
        last_start = d.recs[i].r.arrival;
        early += i > 0 && d.recs[i].given != d.recs[i].r.arrival; /* given at its wake-up */
        size_t k = 0;
        for (size_t j = i; j < d.nrecs; j++) k += d.recs[j].r.session == d.recs[i].r.session;
        if (d.recs[i].r.arrival < d.now - 100 * 1000000000LL) add(&turns, (double)k);
    }
    double span = fs_time_to_s(last_start);
    FIGURE("session starts per second", starts / span, 2, 5 * sqrt(starts) / span);
    FIGURE("starts not given at their own time", early, 0, 0);
    FIGURE("mean turns per session", mean_of(&turns), 3.5, 5 * sqrt(35 / 12.0) / sqrt(turns.n));
    free(keys);
    driver_fini(&d);

    /* closed: 4 users running 3-turn sessions, 1 s between turns, 10 s between sessions */
    sp.arrival = WL_ARRIVAL_CLOSED;
    sp.closed.users = 4;
    sp.closed.think = (wl_time_spec){.dist = WL_TIME_FIXED, .value = 10};
    sp.sessions.turns = (wl_len_spec){.dist = WL_DIST_FIXED, .value = 3};
    sp.sessions.think = (wl_time_spec){.dist = WL_TIME_FIXED, .value = 1};
    d = run(&sp, 4, 6, 0.5, 3000);
    fprintf(stderr, " closed sessions: 4 users, 3 turns, think 1 s, user think 10 s\n");
    check_sessions(&d, 1, 4, 10);
    FIGURE("most requests in flight", d.max_inflight, 4, 0);
    driver_fini(&d);
}

/* Without wake-ups the open process still goes on, at completions: late, but not stuck. */
static void test_sessions_without_wakeups(void)
{
    wl_synth_spec sp = open_spec(WL_ARRIVAL_CONSTANT, 1);
    sp.sessions.enabled = true;
    sp.sessions.turns = (wl_len_spec){.dist = WL_DIST_FIXED, .value = 2};
    wl_source *s = wl_synth_open(&sp, 1, 0);
    fs_error err;
    wl_request r, first;
    CHECK_INT(wl_next(s, &first, &err), 1); /* the first session at once, for its time (1 s) */
    CHECK_INT(first.arrival, 1000000000);
    CHECK_INT(wl_next(s, &r, &err), WL_WAIT); /* the next start is at 2 s */
    CHECK_INT(r.arrival, 2000000000);
    CHECK_INT(wl_next(s, &r, &err), 1); /* asked again with no completion: the wake-up call */
    CHECK_INT(r.arrival, 2000000000);
    CHECK_INT(wl_next(s, &r, &err), WL_WAIT);
    CHECK_INT(r.arrival, 3000000000);
    wl_complete(s, &first, 3500000000); /* a completion after the 3 s start gives both */
    int got = 0;
    while (wl_next(s, &r, &err) == 1) got++;
    CHECK_INT(got, 2);
    wl_free(s);
}

/* ---- determinism and independence ---- */

static bool same_request(const wl_request *a, const wl_request *b)
{
    return a->id == b->id && a->arrival == b->arrival && a->input_tokens == b->input_tokens &&
           a->output_tokens == b->output_tokens && a->target == b->target && a->priority == b->priority &&
           a->prefix_key == b->prefix_key && a->prefix_tokens == b->prefix_tokens && a->session == b->session &&
           a->tenant == b->tenant && a->region == b->region && a->chain == b->chain && a->nchain == b->nchain;
}

static size_t count_same(const wl_request *a, const wl_request *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += same_request(&a[i], &b[i]);
    return k;
}

static void pull_n(wl_source *s, int n, wl_request *out)
{
    fs_error err;
    for (int i = 0; i < n; i++) CHECK_INT(wl_next(s, &out[i], &err), 1);
}

static void test_deterministic(void)
{
    wl_synth_spec sp = {.arrival = WL_ARRIVAL_POISSON, .rate = 10,
                        .input = {.dist = WL_DIST_LOGNORMAL, .mean = 300, .cv = 1, .min = 1, .max = 4096},
                        .output = {.dist = WL_DIST_UNIFORM, .min = 5, .max = 9}};
    static wl_request ra[2000], rb[2000], rc[2000];
    const enum wl_arrival kinds[] = {WL_ARRIVAL_POISSON, WL_ARRIVAL_WEIBULL, WL_ARRIVAL_DIURNAL, WL_ARRIVAL_MMPP};
    for (size_t k = 0; k < 4; k++) {
        sp.arrival = kinds[k];
        sp.shape = 0.7;
        sp.diurnal.amplitude = 0.5, sp.diurnal.period_s = 100;
        sp.mmpp.rate[0] = 30, sp.mmpp.rate[1] = 1, sp.mmpp.mean_s[0] = 1, sp.mmpp.mean_s[1] = 3;
        sp.correlation = k == 3 ? 0.5 : 0;
        wl_source *a = wl_synth_open(&sp, 5, 0), *b = wl_synth_open(&sp, 5, 0), *c = wl_synth_open(&sp, 6, 0);
        pull_n(a, 2000, ra);
        pull_n(b, 2000, rb);
        pull_n(c, 2000, rc);
        CHECK_INT(count_same(ra, rb, 2000), 2000);
        CHECK(count_same(ra, rc, 2000) < 10);
        int in_range = 1;
        for (int i = 0; i < 2000; i++)
            in_range &= ra[i].output_tokens >= 5 && ra[i].output_tokens <= 9 && ra[i].input_tokens >= 1 &&
                        ra[i].input_tokens <= 4096 && (i == 0 || ra[i].arrival >= ra[i - 1].arrival);
        CHECK(in_range);
        wl_free(a);
        wl_free(b);
        wl_free(c);
    }
    /* sources that wait: the same seed and completion times give the same requests */
    wl_synth_spec ss = open_spec(WL_ARRIVAL_POISSON, 2);
    ss.input = (wl_len_spec){.dist = WL_DIST_UNIFORM, .min = 10, .max = 20};
    ss.output = (wl_len_spec){.dist = WL_DIST_LOGNORMAL, .mean = 50, .cv = 1};
    ss.sessions.enabled = true;
    ss.sessions.turns = (wl_len_spec){.dist = WL_DIST_ZIPF, .exponent = 1.5, .max = 10};
    ss.sessions.think = (wl_time_spec){.dist = WL_TIME_EXPONENTIAL, .mean = 2};
    driver d1 = run(&ss, 7, 1, 1.0, 3000), d2 = run(&ss, 7, 1, 1.0, 3000), d3 = run(&ss, 7, 2, 0.3, 3000);
    bool same = d1.nrecs == d2.nrecs;
    for (size_t i = 0; same && i < d1.nrecs; i++)
        same = same_request(&d1.recs[i].r, &d2.recs[i].r) && d1.recs[i].given == d2.recs[i].given &&
               d1.recs[i].done == d2.recs[i].done;
    CHECK(same);
    /* common random numbers: other service times move the times, not what each session holds */
    size_t compared = 0, differ = 0;
    for (size_t i = 0; i < d1.nrecs && compared < 500; i++) {
        uint64_t key = d1.recs[i].r.session;
        size_t a = i, b = 0, ka = 0;
        for (size_t j = 0; j < i; j++) ka += d1.recs[j].r.session == key;
        for (b = 0; b < d3.nrecs; b++) { /* the same turn of the same session in the other run */
            if (d3.recs[b].r.session != key) continue;
            if (ka-- == 0) break;
        }
        if (b == d3.nrecs) continue;
        compared++;
        differ += d1.recs[a].r.input_tokens != d3.recs[b].r.input_tokens ||
                  d1.recs[a].r.output_tokens != d3.recs[b].r.output_tokens;
    }
    fprintf(stderr, " common random numbers across service times\n");
    fprintf(stderr, "  %zu session turns compared\n", compared);
    CHECK(compared > 400);
    FIGURE("turns whose lengths differ", differ, 0, 0);
    driver_fini(&d1);
    driver_fini(&d2);
    driver_fini(&d3);
}

static void test_sources_independent(void)
{
    wl_synth_spec sp = {.arrival = WL_ARRIVAL_POISSON, .rate = 10,
                        .input = {.dist = WL_DIST_LOGNORMAL, .mean = 300, .cv = 1},
                        .output = {.dist = WL_DIST_LOGNORMAL, .mean = 100, .cv = 1}};
    const size_t n = 100000;
    wl_source *a = wl_synth_open(&sp, 5, 0), *b = wl_synth_open(&sp, 5, 1);
    double *ga = malloc(n * sizeof *ga), *gb = malloc(n * sizeof *gb), *ia = malloc(n * sizeof *ia),
           *ib = malloc(n * sizeof *ib);
    fs_error err;
    wl_request ra, rb;
    fs_time pa = 0, pb = 0;
    size_t equal = 0;
    for (size_t i = 0; i < n; i++) {
        wl_next(a, &ra, &err);
        wl_next(b, &rb, &err);
        ga[i] = fs_time_to_s(ra.arrival - pa), gb[i] = fs_time_to_s(rb.arrival - pb);
        pa = ra.arrival, pb = rb.arrival;
        ia[i] = log(ra.input_tokens), ib[i] = log(rb.input_tokens);
        equal += ra.arrival == rb.arrival;
    }
    fprintf(stderr, " sources 0 and 1 of one seed\n");
    FIGURE("correlation of their gaps", corr(ga, gb, n), 0, 5 / sqrt(n));
    FIGURE("correlation of their log input lengths", corr(ia, ib, n), 0, 5 / sqrt(n));
    FIGURE("equal arrival times", equal, 0, 0);
    wl_free(a);
    wl_free(b);
    free(ga), free(gb), free(ia), free(ib);
}

/* ---- scenario keys ---- */

#define SCN(w)                                                                                             \
    "{\"name\": \"t\", \"duration\": 60, \"fleet\": [{\"gpu\": \"L4\", \"count\": 4}], \"deployments\": " \
    "[{\"name\": \"embed\", \"model\": \"m\", \"service\": {\"mean_ms\": 50}}], \"workload\": " w "}"

static int load_at(const char *text, const char *path, scenario *sc, char *msg, size_t size)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root) {
        snprintf(msg, size, "bad test JSON: %s at %d:%d", je.text, je.line, je.column);
        return -1;
    }
    fs_error err;
    fs_error_clear(&err);
    msg[0] = '\0';
    int rc = scenario_load_json(root, path, NULL, sc, &err);
    if (rc) fs_error_format(&err, msg, size);
    return rc;
}

static int load(const char *text, scenario *sc, char *msg, size_t size)
{
    return load_at(text, "s.json", sc, msg, size);
}

static void test_scenario_keys(void)
{
    scenario sc;
    char msg[1024];
    const char *text = SCN("{\"sources\": ["
        "{\"arrival\": \"weibull\", \"rate\": 5, \"shape\": 0.5, \"correlation\": 0.4,"
        " \"input\": {\"dist\": \"normal\", \"mean\": 800, \"sd\": 200, \"min\": 10},"
        " \"output\": {\"dist\": \"zipf\", \"exponent\": 1.1, \"max\": 2048}},"
        "{\"arrival\": \"stages\", \"stages\": [{\"rate\": 1, \"duration_s\": 60, \"ramp\": true},"
        " {\"rate\": 9, \"duration_s\": 30}]},"
        "{\"arrival\": \"diurnal\", \"rate\": 3, \"peak_to_trough\": 3, \"period_s\": 3600, \"phase_s\": 900},"
        "{\"arrival\": \"diurnal\", \"rate\": 4, \"profile\": [1, 2, 3], \"interpolate\": false},"
        "{\"arrival\": \"mmpp\", \"on\": {\"rate\": 50, \"mean_s\": 5}, \"off\": {\"rate\": 1, \"mean_s\": 60}},"
        "{\"arrival\": \"closed\", \"users\": 16,"
        " \"think_time_s\": {\"dist\": \"exponential\", \"mean\": 4, \"max\": 30},"
        " \"session\": {\"turns\": {\"dist\": \"empirical\", \"values\": [1, 2, 8], \"weights\": [5, 3, 1]},"
        "  \"think_time_s\": {\"dist\": \"lognormal\", \"mean\": 8, \"cv\": 0.5}},"
        " \"input\": {\"dist\": \"empirical\", \"values\": [100, 200]}},"
        "{\"arrival\": \"gamma\", \"rate\": 2, \"cv\": 2,"
        " \"session\": {\"turns\": {\"dist\": \"uniform\", \"min\": 1, \"max\": 4},"
        "  \"think_time_s\": {\"dist\": \"uniform\", \"min\": 1, \"max\": 3}}},"
        "{\"arrival\": \"diurnal\", \"rate\": 3, \"amplitude\": 0.25}"
        "]}");
    int rc = load(text, &sc, msg, sizeof msg);
    if (rc) fprintf(stderr, "  %s\n", msg);
    CHECK_INT(rc, 0);
    if (rc) return;
    const wl_synth_spec *s = &sc.sources[0].synth;
    CHECK_INT(s->arrival, WL_ARRIVAL_WEIBULL);
    CHECK_NEAR(s->shape, 0.5, 0);
    CHECK_NEAR(s->correlation, 0.4, 0);
    CHECK_INT(s->input.dist, WL_DIST_NORMAL);
    CHECK_NEAR(s->input.mean, 800, 0);
    CHECK_NEAR(s->input.sd, 200, 0);
    CHECK_NEAR(s->input.min, 10, 0);
    CHECK_INT(s->output.dist, WL_DIST_ZIPF);
    CHECK_NEAR(s->output.exponent, 1.1, 0);
    CHECK_NEAR(s->output.max, 2048, 0);
    s = &sc.sources[1].synth;
    CHECK_INT(s->arrival, WL_ARRIVAL_STAGES);
    CHECK_INT(s->stages.n, 2);
    CHECK(s->stages.v[0].ramp && !s->stages.v[1].ramp);
    CHECK_NEAR(s->stages.v[1].rate, 9, 0);
    CHECK_NEAR(s->stages.v[0].duration_s, 60, 0);
    s = &sc.sources[2].synth;
    CHECK_INT(s->arrival, WL_ARRIVAL_DIURNAL);
    CHECK_NEAR(s->diurnal.amplitude, 0.5, 1e-15); /* peak / trough 3: (1 + a) / (1 - a) = 3 */
    CHECK_NEAR(s->diurnal.period_s, 3600, 0);
    CHECK_NEAR(s->diurnal.phase_s, 900, 0);
    s = &sc.sources[3].synth;
    CHECK_INT(s->diurnal.nprofile, 3);
    CHECK_NEAR(s->diurnal.profile[2], 3, 0);
    CHECK(!s->diurnal.interpolate);
    CHECK_NEAR(s->diurnal.period_s, 86400, 0);
    s = &sc.sources[4].synth;
    CHECK_INT(s->arrival, WL_ARRIVAL_MMPP);
    CHECK_NEAR(s->mmpp.rate[0], 50, 0);
    CHECK_NEAR(s->mmpp.mean_s[1], 60, 0);
    s = &sc.sources[5].synth;
    CHECK_INT(s->arrival, WL_ARRIVAL_CLOSED);
    CHECK_INT(s->closed.users, 16);
    CHECK_INT(s->closed.think.dist, WL_TIME_EXPONENTIAL);
    CHECK_NEAR(s->closed.think.mean, 4, 0);
    CHECK_NEAR(s->closed.think.max, 30, 0);
    CHECK(s->sessions.enabled);
    CHECK_INT(s->sessions.turns.dist, WL_DIST_EMPIRICAL);
    CHECK_INT(s->sessions.turns.nvalues, 3);
    CHECK_NEAR(s->sessions.turns.counts[0], 5, 0);
    CHECK_INT(s->sessions.think.dist, WL_TIME_LOGNORMAL);
    CHECK_NEAR(s->sessions.think.cv, 0.5, 0);
    CHECK_INT(s->input.values[1], 200);
    s = &sc.sources[6].synth;
    CHECK_INT(s->sessions.think.dist, WL_TIME_UNIFORM);
    CHECK_NEAR(s->sessions.think.max, 3, 0);
    CHECK_NEAR(sc.sources[7].synth.diurnal.amplitude, 0.25, 0);
    CHECK(sc.sources[7].synth.diurnal.nprofile == 0);
    /* defaults are written into the resolved scenario */
    CHECK_CONTAINS(sc.resolved_json, "\"correlation\":0");
    CHECK_CONTAINS(sc.resolved_json, "\"period_s\":86400");
    /* and every kind opens and gives requests */
    wl_source *src[8];
    fs_error err;
    CHECK_INT(scenario_open_sources(&sc, src, &err), 0);
    for (int i = 0; i < 8; i++) {
        wl_request r;
        CHECK_INT(wl_next(src[i], &r, &err), 1);
        wl_free(src[i]);
    }
    scenario_fini(&sc);
}

static void test_scenario_errors(void)
{
    static const struct {
        const char *workload, *path, *want;
    } cases[] = {
        {"{\"arrival\": \"poisson\", \"rate\": 1, \"shape\": 2}", "workload.shape",
         "only used with \"arrival\": \"weibull\", not \"poisson\""},
        {"{\"arrival\": \"closed\", \"users\": 4, \"rate\": 3}", "workload.rate",
         "only used with \"arrival\": \"constant\", \"poisson\", \"gamma\", \"weibull\", \"diurnal\""},
        {"{\"arrival\": \"weibull\", \"rate\": 1}", "workload.shape", "required key is missing"},
        {"{\"arrival\": \"stages\", \"stages\": []}", "workload.stages", "expected an array of 1 to 10000 stages"},
        {"{\"arrival\": \"stages\", \"stages\": [{\"rate\": 1, \"duration_s\": 5, \"ramp\": true}]}",
         "workload.stages[0].ramp", "the last stage has no next rate to ramp to"},
        {"{\"arrival\": \"stages\", \"stages\": [{\"rate\": 1, \"duration\": 5}]}", "workload.stages[0].duration",
         "unknown key 'duration'; did you mean 'duration_s'?"},
        {"{\"arrival\": \"stages\", \"stages\": [{\"rate\": 0, \"duration_s\": 5}]}", "workload.stages",
         "expected some stage with rate > 0"},
        {"{\"arrival\": \"diurnal\", \"rate\": 5}", "workload.amplitude", "required key is missing"},
        {"{\"arrival\": \"diurnal\", \"rate\": 5, \"amplitude\": 0.5, \"profile\": [1, 2]}", "workload.profile",
         "give one of amplitude, peak_to_trough and profile"},
        {"{\"arrival\": \"diurnal\", \"rate\": 5, \"amplitude\": 1.5}", "workload.amplitude",
         "expected a number >= 0 and <= 1, got 1.5"},
        {"{\"arrival\": \"diurnal\", \"rate\": 5, \"profile\": [1, -2]}", "workload.profile[1]",
         "expected a number >= 0 and <= 1e+09, got -2"},
        {"{\"arrival\": \"diurnal\", \"rate\": 5, \"amplitude\": 0.2, \"interpolate\": true}", "workload.interpolate",
         "only used with profile"},
        {"{\"arrival\": \"mmpp\", \"on\": {\"rate\": 10, \"mean_s\": 1}}", "workload.off", "required key is missing"},
        {"{\"arrival\": \"mmpp\", \"on\": {\"rate\": 0, \"mean_s\": 1}, \"off\": {\"rate\": 0, \"mean_s\": 1}}",
         "workload.on.rate", "expected on.rate or off.rate > 0"},
        {"{\"arrival\": \"mmpp\", \"on\": {\"rate\": 1, \"mean\": 1}, \"off\": {\"rate\": 0, \"mean_s\": 1}}",
         "workload.on.mean", "unknown key 'mean'; did you mean 'mean_s'?"},
        {"{\"arrival\": \"closed\", \"users\": 0}", "workload.users", "expected an integer in 1..1000000, got 0"},
        {"{\"arrival\": \"closed\", \"users\": 2, \"think_time_s\": {\"dist\": \"exponential\"}}",
         "workload.think_time_s.mean", "required key is missing"},
        {"{\"arrival\": \"closed\", \"users\": 2, \"think_time_s\": {\"value\": 2, \"mean\": 1}}",
         "workload.think_time_s.mean", "not used with dist \"fixed\" (its keys: dist, value); remove it"},
        {"{\"arrival\": \"closed\", \"users\": 2, \"think_time_s\": {\"dist\": \"uniform\", \"min\": 5, \"max\": 1}}",
         "workload.think_time_s.max", "expected a number >= min (5), got 1"},
        {"{\"rate\": 1, \"session\": {\"think_time_s\": {\"value\": 1}}}", "workload.session.turns",
         "required key is missing"},
        {"{\"rate\": 1, \"session\": {\"turns\": {\"value\": 2}}, \"prefix\": {\"tokens\": 100}}", "workload.prefix",
         "not used with session"},
        {"{\"rate\": 1, \"session\": {\"turns\": {\"dist\": \"empirical\", \"trace\": \"a.csv\"}}}",
         "workload.session.turns.trace", "a trace holds token lengths, not turns"},
        {"{\"rate\": 1, \"correlation\": 1.5, \"input\": {\"dist\": \"uniform\", \"min\": 1, \"max\": 9}}",
         "workload.correlation", "expected a number >= -1 and <= 1, got 1.5"},
        {"{\"rate\": 1, \"correlation\": 0.5, \"output\": {\"dist\": \"uniform\", \"min\": 1, \"max\": 9}}",
         "workload.correlation", "has no effect with a fixed input length"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"zipf\", \"exponent\": 1}}", "workload.input.max",
         "required key is missing (zipf draws from 1 .. max)"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"zipf\", \"exponent\": 0, \"max\": 10}}", "workload.input.exponent",
         "expected a number > 0 and <= 100, got 0"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"normal\", \"mean\": 10, \"cv\": 1}}", "workload.input.cv",
         "not used with dist \"normal\" (its keys: dist, mean, sd, min, max); remove it"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"empirical\"}}", "workload.input.trace",
         "required key is missing (give trace or values)"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"empirical\", \"values\": [3, 2.5]}}", "workload.input.values[1]",
         "expected an integer in 1..1000000000, got 2.5"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"empirical\", \"values\": [3, 4], \"weights\": [1]}}",
         "workload.input.weights", "expected an array of 2 weights (one per value)"},
        {"{\"rate\": 1, \"input\": {\"dist\": \"empirical\", \"values\": [3], \"format\": \"vllm\"}}",
         "workload.input.format", "only used with trace"},
        {"{\"sources\": [{\"rate\": 1}, {\"arrival\": \"gamma\", \"rate\": 1, \"shape\": 1}]}",
         "workload.sources[1].shape",
         "only used with \"arrival\": \"weibull\", not \"gamma\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048], msg[1024], want[512];
        scenario sc;
        snprintf(text, sizeof text, SCN("%s"), cases[i].workload);
        snprintf(want, sizeof want, "s.json: %s: %s", cases[i].path, cases[i].want);
        int rc = load(text, &sc, msg, sizeof msg);
        int before = h_failed_checks;
        CHECK_INT(rc, -1);
        CHECK_CONTAINS(msg, want);
        if (h_failed_checks != before) fprintf(stderr, "  case %zu: %s\n", i, cases[i].workload);
        if (rc == 0) scenario_fini(&sc);
    }
    fprintf(stderr, "  %zu bad workloads rejected with their JSON path\n", sizeof cases / sizeof cases[0]);
}

/* The synthetic examples of scenarios/REFERENCE.md load, and so does the example scenario. */
static void test_reference_examples(void)
{
    FILE *f = fopen(FS_SOURCE_DIR "/scenarios/REFERENCE.md", "rb");
    CHECK(f != NULL);
    if (!f) return;
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    const char *mark = strstr(text, "Examples (each a `workload`, or one of its `sources`):");
    const char *b = mark ? strstr(mark, "```json\n") : NULL, *end = b ? strstr(b + 8, "```") : NULL;
    CHECK(end != NULL);
    if (!end) return;
    int loaded = 0;
    for (const char *p = b + 8; p < end;) {
        const char *q = strstr(p, "\n\n");
        if (!q || q > end) q = end;
        char obj[4096], scn[8192], msg[1024];
        snprintf(obj, sizeof obj, "%.*s", (int)(q - p), p);
        snprintf(scn, sizeof scn, SCN("%s"), obj);
        scenario sc;
        /* relative traces resolve against scenarios/, as for a scenario written there */
        int rc = load_at(scn, FS_SOURCE_DIR "/scenarios/reference-example.json", &sc, msg, sizeof msg);
        if (rc) fprintf(stderr, "  %s\n  in: %s\n", msg, obj);
        CHECK_INT(rc, 0);
        if (rc == 0) loaded++, scenario_fini(&sc);
        p = q + 2;
    }
    fprintf(stderr, "  %d examples of REFERENCE.md loaded\n", loaded);
    CHECK(loaded >= 5);
    scenario sc;
    fs_error err;
    int rc = scenario_load(FS_SOURCE_DIR "/scenarios/llama8b-diurnal.json", NULL, &sc, &err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_INT(sc.sources[0].synth.arrival, WL_ARRIVAL_DIURNAL);
        CHECK_INT(sc.sources[1].synth.arrival, WL_ARRIVAL_MMPP);
        scenario_fini(&sc);
    }
}

int main(void)
{
    RUN(test_renewal_arrivals);
    RUN(test_stages);
    RUN(test_diurnal_sinusoid);
    RUN(test_diurnal_profile);
    RUN(test_mmpp);
    RUN(test_length_laws);
    RUN(test_zipf);
    RUN(test_empirical);
    RUN(test_correlation);
    RUN(test_closed_loop);
    RUN(test_sessions);
    RUN(test_sessions_without_wakeups);
    RUN(test_deterministic);
    RUN(test_sources_independent);
    RUN(test_scenario_keys);
    RUN(test_scenario_errors);
    RUN(test_reference_examples);
    return DONE();
}
