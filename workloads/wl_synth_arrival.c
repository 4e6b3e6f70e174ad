/*
 * Open-loop arrival processes: the times at which requests (or sessions) start.
 *
 * Renewal kinds (Poisson, gamma, Weibull) add a gap to the last arrival in nanoseconds, so the
 * gaps are exactly the rounded draws. The non-homogeneous kinds keep their clock in seconds (a
 * double holds 1e9 s to a microsecond's millionth) and round each arrival to the nanosecond:
 *   - piecewise-linear rates (stages, a diurnal profile) by inversion: each arrival is where the
 *     integrated rate since the last one reaches an Exp(1) draw, solved per segment in closed
 *     form (x = 2e / (r + sqrt(r^2 + 2 b e)), which has no cancellation);
 *   - the sinusoid by thinning: candidates at the peak rate, each kept with probability
 *     rate(t) / peak, which is exact because the peak bounds the rate. It costs 1 + amplitude
 *     candidates an arrival;
 *   - the MMPP by racing each gap against the end of the current state's exponential sojourn
 *     (memoryless, so a gap cut short is redrawn in the next state).
 * All draws come from the one arrival stream, in order, so the process is fixed by the seed.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_sf_gamma.h>

#include "wl_synth_internal.h"

#define TWO_PI 6.283185307179586

static void add_seg(wl_arr *a, size_t *cap, double start, double end, double rate0, double rate1)
{
    if (end <= start) return;
    a->segs = fs_xgrow(a->segs, cap, a->nsegs + 1, sizeof *a->segs);
    a->segs[a->nsegs++] = (wl_seg){start, end, rate0, (rate1 - rate0) / (end - start)};
}

static void stages_init(wl_arr *a, const wl_synth_spec *sp)
{
    size_t cap = 0;
    double t = 0;
    for (size_t i = 0; i < sp->stages.n; i++) {
        const wl_stage *g = &sp->stages.v[i];
        FS_ASSERT(g->rate >= 0 && g->duration_s > 0 && (!g->ramp || i + 1 < sp->stages.n));
        add_seg(a, &cap, t, t + g->duration_s, g->rate, g->ramp ? sp->stages.v[i + 1].rate : g->rate);
        t += g->duration_s;
    }
    a->done = a->nsegs == 0;
}

/* The profile as segments over one period [0, P): stepped, one per interval; interpolated,
 * lines between the interval midpoints, the first and last halves joining across the wrap. */
static void profile_init(wl_arr *a, const wl_synth_spec *sp)
{
    size_t n = sp->diurnal.nprofile, cap = 0;
    double sum = 0, P = sp->diurnal.period_s, w = P / (double)n;
    for (size_t i = 0; i < n; i++) sum += sp->diurnal.profile[i];
    FS_ASSERT(sum > 0 && P > 0);
    double scale = sp->rate * (double)n / sum; /* the points' mean becomes `rate` */
#define PT(i) (sp->diurnal.profile[(i) % n] * scale)
    if (!sp->diurnal.interpolate) {
        for (size_t i = 0; i < n; i++) add_seg(a, &cap, (double)i * w, (double)(i + 1) * w, PT(i), PT(i));
    } else {
        double wrap = (PT(n - 1) + PT(0)) / 2; /* the rate at 0 and at P */
        add_seg(a, &cap, 0, w / 2, wrap, PT(0));
        for (size_t i = 0; i + 1 < n; i++)
            add_seg(a, &cap, ((double)i + 0.5) * w, ((double)i + 1.5) * w, PT(i), PT(i + 1));
        add_seg(a, &cap, P - w / 2, P, PT(n - 1), wrap);
    }
#undef PT
    a->period = P;
    a->cycle_mass = sp->rate * P;
    a->pos = fmod(sp->diurnal.phase_s, P);
    a->cycle_start = -a->pos;
    while (a->cur + 1 < a->nsegs && a->segs[a->cur].end <= a->pos) a->cur++;
}

void wl_arr_init(wl_arr *a, const wl_synth_spec *sp, fs_rng *rng)
{
    *a = (wl_arr){.kind = sp->arrival, .rng = rng, .rate = sp->rate, .cv = sp->cv};
    switch (sp->arrival) {
    case WL_ARRIVAL_CONSTANT:
    case WL_ARRIVAL_POISSON:
        FS_ASSERT(sp->rate > 0);
        break;
    case WL_ARRIVAL_GAMMA:
        FS_ASSERT(sp->rate > 0 && sp->cv > 0);
        break;
    case WL_ARRIVAL_WEIBULL: /* mean gap = scale x Gamma(1 + 1/k) = 1 / rate */
        FS_ASSERT(sp->rate > 0 && sp->shape > 0);
        a->shape = sp->shape;
        a->scale = 1 / (sp->rate * gsl_sf_gamma(1 + 1 / sp->shape));
        break;
    case WL_ARRIVAL_STAGES:
        stages_init(a, sp);
        break;
    case WL_ARRIVAL_DIURNAL:
        FS_ASSERT(sp->rate > 0 && sp->diurnal.period_s > 0);
        if (sp->diurnal.nprofile) {
            profile_init(a, sp);
        } else {
            FS_ASSERT(sp->diurnal.amplitude >= 0 && sp->diurnal.amplitude <= 1);
            a->amplitude = sp->diurnal.amplitude;
            a->period_s = sp->diurnal.period_s;
            a->phase_s = sp->diurnal.phase_s;
        }
        break;
    case WL_ARRIVAL_MMPP:
        for (int i = 0; i < 2; i++) {
            FS_ASSERT(sp->mmpp.rate[i] >= 0 && sp->mmpp.mean_s[i] > 0);
            a->mrate[i] = sp->mmpp.rate[i];
            a->mmean[i] = sp->mmpp.mean_s[i];
        }
        FS_ASSERT(a->mrate[0] + a->mrate[1] > 0);
        /* start in the stationary law; an exponential sojourn's residual is the same exponential */
        a->state = gsl_rng_uniform(rng) < a->mmean[0] / (a->mmean[0] + a->mmean[1]) ? 0 : 1;
        a->state_end = gsl_ran_exponential(rng, a->mmean[a->state]);
        break;
    case WL_ARRIVAL_CLOSED:
        a->done = true; /* no open-loop arrivals */
        break;
    }
}

void wl_arr_fini(wl_arr *a)
{
    free(a->segs);
    a->segs = NULL;
}

/* The next point of the Poisson process with the piecewise-linear rate: where the rate's
 * integral from the last arrival reaches an Exp(1) draw. 0 when the last segment ends first. */
static int pwl_next(wl_arr *a, double *t)
{
    double e = gsl_ran_exponential(a->rng, 1);
    if (a->period > 0 && e > a->cycle_mass) { /* whole periods hold exactly cycle_mass each */
        double k = floor(e / a->cycle_mass);
        a->cycle_start += k * a->period;
        e -= k * a->cycle_mass;
    }
    for (;;) {
        const wl_seg *g = &a->segs[a->cur];
        double r = g->rate + g->slope * (a->pos - g->start), len = g->end - a->pos;
        if (r < 0) r = 0;
        double mass = (r + g->slope * len / 2) * len;
        if (e <= mass && mass > 0) {
            double disc = r * r + 2 * g->slope * e;
            double x = e > 0 ? 2 * e / (r + sqrt(disc > 0 ? disc : 0)) : 0;
            a->pos += x < len ? x : len;
            *t = a->cycle_start + a->pos;
            return 1;
        }
        if (mass > 0) e -= mass;
        a->pos = g->end;
        if (++a->cur == a->nsegs) {
            if (a->period == 0) return 0;
            a->cur = 0;
            a->cycle_start += a->period;
            a->pos = 0;
        }
    }
}

static double sinusoid_next(wl_arr *a)
{
    double peak = a->rate * (1 + a->amplitude);
    for (;;) {
        a->now += gsl_ran_exponential(a->rng, 1 / peak);
        double tau = fmod(a->now + a->phase_s, a->period_s);
        double rate = a->rate * (1 - a->amplitude * cos(TWO_PI * tau / a->period_s));
        if (gsl_rng_uniform(a->rng) * peak < rate) return a->now;
    }
}

static double mmpp_next(wl_arr *a)
{
    for (;;) {
        double r = a->mrate[a->state];
        double gap = r > 0 ? gsl_ran_exponential(a->rng, 1 / r) : INFINITY;
        if (a->now + gap < a->state_end) return a->now += gap;
        a->now = a->state_end;
        a->state ^= 1;
        a->state_end = a->now + gsl_ran_exponential(a->rng, a->mmean[a->state]);
    }
}

int wl_arr_next(wl_arr *a, fs_time *out)
{
    if (a->done) return 0;
    fs_time t;
    double s;
    switch (a->kind) {
    case WL_ARRIVAL_CONSTANT: /* exact from the count, so no rounding drift */
        t = fs_time_from_s((double)(a->n + 1) / a->rate);
        break;
    case WL_ARRIVAL_POISSON:
        t = a->t + fs_time_from_s(gsl_ran_exponential(a->rng, 1.0 / a->rate));
        break;
    case WL_ARRIVAL_GAMMA: {
        double k = 1.0 / (a->cv * a->cv); /* shape; mean k x theta = 1 / rate */
        t = a->t + fs_time_from_s(gsl_ran_gamma(a->rng, k, 1.0 / (a->rate * k)));
        break;
    }
    case WL_ARRIVAL_WEIBULL:
        t = a->t + fs_time_from_s(gsl_ran_weibull(a->rng, a->scale, a->shape));
        break;
    case WL_ARRIVAL_STAGES:
    case WL_ARRIVAL_DIURNAL:
        if (a->segs) {
            if (!pwl_next(a, &s)) {
                a->done = true;
                return 0;
            }
        } else {
            s = sinusoid_next(a);
        }
        t = fs_time_from_s(s);
        break;
    case WL_ARRIVAL_MMPP:
        t = fs_time_from_s(mmpp_next(a));
        break;
    default:
        a->done = true;
        return 0;
    }
    if (t < a->t) t = a->t; /* only rounding could do this; keep arrivals monotone */
    a->t = t;
    a->n++;
    *out = t;
    return 1;
}
