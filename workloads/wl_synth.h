/*
 * wl_synth.h — synthetic load: an arrival process, token-length distributions, shared prefixes,
 * closed-loop users and multi-turn sessions. Every draw goes through GSL from the source's own
 * xoshiro streams (rng.h), so a source is a pure function of (seed, index, spec) and, for the
 * kinds that wait on completions, of the completion times the simulation reports.
 *
 * Open-loop arrival kinds give request (or session) start times without looking at the fleet:
 * constant, Poisson, renewal processes with gamma or Weibull gaps, and non-homogeneous Poisson
 * processes (stages, diurnal, a two-state MMPP), which are exact: inversion of the integrated
 * rate for piecewise-linear rates, thinning under the peak for the sinusoid, and exponential
 * sojourns drawn alongside the gaps for the MMPP.
 *
 * Closed loop (WL_ARRIVAL_CLOSED): `users` users each send a request at time 0, wait for its
 * completion, think (a draw from `think`), and send the next. Sessions (sessions.enabled): each
 * start of the arrival process (or each closed-loop job) begins a session of `turns` turns;
 * turn k + 1 comes a `think` draw after turn k completes, and its prompt is turn k's prompt +
 * turn k's output + new user tokens (a draw from `input`). Every turn carries the session's id in
 * request.session and prefix_key, with prefix_tokens = its prompt + output, so an engine with
 * prefix caching finds the earlier turns' blocks.
 *
 * Driving a source that waits (closed loop, sessions): call wl_next until it returns WL_WAIT at
 * the start, after each wl_complete (every request then given arrives at or after the
 * completion), and at the wake-up time: the time the latest WL_WAIT left in out->arrival
 * (FS_TIME_MAX: none), when the arrival process starts its next session. Keeping one wake-up per
 * source, moved by each WL_WAIT, does it. The source takes a call that follows a WL_WAIT with no
 * completion in between as that wake-up; a caller that never wakes it still gets each session,
 * late, at the first completion after its start. Closed-loop sources only wait for completions,
 * and open-loop sources without sessions never wait. wl_complete recognises a request by its
 * id, so whatever wraps the source must hand back the ids that wl_next gave.
 *
 * Common random numbers: arrival-process draws come from the source's arrival stream and, for
 * open-loop requests, lengths from its length stream in arrival order. A closed-loop user's
 * j-th request and a session's k-th turn draw their think time and lengths from a stream
 * seeded by (source, user or session, j or k), so they are the same whatever the completion
 * order, and a fleet change moves only the times of requests that wait on completions.
 *
 * Ownership: wl_synth_open copies the spec and every array it points to; the caller may free
 * them once it returns. wl_len_new likewise. Invalid specs are bugs (asserts): the scenario
 * loader validates what users write.
 */
#ifndef FS_WL_SYNTH_H
#define FS_WL_SYNTH_H

#include "rng.h"
#include "wl.h"

enum wl_arrival {
    WL_ARRIVAL_CONSTANT, /* request i (0-based) at (i + 1) / rate */
    WL_ARRIVAL_POISSON,  /* exponential gaps, mean 1 / rate */
    WL_ARRIVAL_GAMMA,    /* gamma gaps, mean 1 / rate, coefficient of variation cv */
    WL_ARRIVAL_WEIBULL,  /* Weibull gaps of shape `shape`, mean 1 / rate */
    WL_ARRIVAL_STAGES,   /* Poisson with a rate that steps (or ramps) through stages, then stops */
    WL_ARRIVAL_DIURNAL,  /* Poisson with a periodic rate: a sinusoid or a profile of points */
    WL_ARRIVAL_MMPP,     /* Poisson whose rate switches between two states (on/off bursts) */
    WL_ARRIVAL_CLOSED,   /* closed loop: users that wait for completions */
};

enum wl_dist { WL_DIST_FIXED, WL_DIST_UNIFORM, WL_DIST_NORMAL, WL_DIST_LOGNORMAL, WL_DIST_ZIPF, WL_DIST_EMPIRICAL };

/* A token-length distribution (also a session's number of turns). Draws are rounded to the
 * nearest integer, then clamped to [min, max] where those are > 0 (0: no bound), and are always
 * in 1 .. INT32_MAX.
 *   fixed: value.
 *   uniform: integers min .. max, each equally likely.
 *   normal: mean and sd.
 *   lognormal: mean and cv of the distribution itself (not of its log).
 *   zipf: P(k) proportional to k^-exponent on the support 1 .. max.
 *   empirical: a histogram: values[i] with weight counts[i] (counts NULL: 1 each); repeated
 *     values add up, so rows of a trace can be passed as they are. Memory is the number of
 *     distinct values. */
typedef struct wl_len_spec {
    enum wl_dist dist;
    double value;           /* fixed */
    double mean, cv, sd;    /* normal: mean, sd; lognormal: mean, cv */
    double exponent;        /* zipf, > 0 */
    double min, max;        /* uniform: the range; zipf: max is the support's top; else clamps */
    const int32_t *values;  /* empirical */
    const double *counts;
    size_t nvalues;
} wl_len_spec;

enum wl_time_dist { WL_TIME_FIXED, WL_TIME_EXPONENTIAL, WL_TIME_LOGNORMAL, WL_TIME_UNIFORM };

/* A span of time in seconds (think times). fixed: value (>= 0). exponential: mean. lognormal:
 * mean and cv. uniform: min .. max. exponential and lognormal draws are clamped to [min, max]
 * (max 0: no upper bound). */
typedef struct wl_time_spec {
    enum wl_time_dist dist;
    double value, mean, cv, min, max;
} wl_time_spec;

/* One stage: `rate` req/s for `duration_s` seconds; with ramp, the rate moves linearly from
 * this stage's rate to the next one's over this stage (the last stage cannot ramp). */
typedef struct wl_stage {
    double rate, duration_s;
    bool ramp;
} wl_stage;

typedef struct wl_synth_spec {
    enum wl_arrival arrival;
    double rate;  /* req/s (sessions/s with sessions), > 0: constant, poisson, gamma, weibull; diurnal: the mean */
    double cv;    /* gamma: coefficient of variation of the gaps, > 0 */
    double shape; /* weibull: shape k > 0 (1 is Poisson; < 1 burstier) */
    struct {
        const wl_stage *v;
        size_t n;
    } stages;
    /* The rate at time t is rate x f(tau), tau = (t + phase_s) mod period_s, f averaging 1
     * over a period. Sinusoid (nprofile 0): f = 1 - amplitude x cos(2 pi tau / period_s):
     * trough at tau = 0, peak at period_s / 2, amplitude in [0, 1]. Profile: point i is the
     * relative rate at the middle of the i-th of nprofile equal intervals of the period; with
     * interpolate, f is linear between the points (wrapping from the last to the first),
     * otherwise constant over each interval; f = points / their mean. */
    struct {
        double amplitude;
        const double *profile;
        size_t nprofile;
        bool interpolate;
        double period_s, phase_s;
    } diurnal;
    /* Two states, 0 (on) and 1 (off): Poisson at rate[i] while in state i, which lasts an
     * exponential time of mean mean_s[i]. The first state is drawn from the stationary law, so
     * the mean rate is (rate[0] mean_s[0] + rate[1] mean_s[1]) / (mean_s[0] + mean_s[1]). */
    struct {
        double rate[2], mean_s[2];
    } mmpp;
    struct {
        uint32_t users;     /* >= 1 */
        wl_time_spec think; /* between a completion and the user's next request (or session) */
    } closed;
    wl_len_spec input, output;
    /* Input-output correlation through a Gaussian copula: (z_in, z_out) is standard bivariate
     * normal with correlation `correlation` (in [-1, 1]); input = F_in^-1(Phi(z_in)), output =
     * F_out^-1(Phi(z_out)), then rounded and clamped. The marginals stay as specified; rho is the
     * correlation of the normal scores (of the logs for two lognormals; the rank correlation is
     * 6/pi asin(rho/2)). 0: independent draws. */
    double correlation;
    struct {
        bool enabled;
        wl_len_spec turns;  /* turns per session, >= 1 */
        wl_time_spec think; /* between a turn's completion and the next turn */
    } sessions;
    /* Shared prefixes (a system prompt): each request starts with prefix_tokens tokens shared
     * with the requests of one of prefix_groups groups, drawn uniformly; its input length is
     * prefix_tokens plus a draw from `input`. 0 tokens: no sharing. Not with sessions (a request
     * carries one prefix key: the session's). */
    int32_t prefix_tokens;
    uint32_t prefix_groups;
    uint32_t target;
} wl_synth_spec;

/* `index` tells sources apart in the RNG stream derivation (the first source is 0). */
wl_source *wl_synth_open(const wl_synth_spec *spec, uint64_t seed, uint64_t index);

/* A length distribution, ready to draw from (exposed for tests of the distributions). */
typedef struct wl_len wl_len;
wl_len *wl_len_new(const wl_len_spec *spec);
int32_t wl_len_draw(const wl_len *d, fs_rng *r);
void wl_len_free(wl_len *d);

#endif
