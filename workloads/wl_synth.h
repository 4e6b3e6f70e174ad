/*
 * wl_synth.h — synthetic load: arrival processes and length distributions (GSL draws from the
 * source's own xoshiro streams, see rng.h).
 *
 * Ownership: wl_synth_open copies the spec; arrays it points to (empirical values) are not
 * owned and must outlive the source.
 */
#ifndef FS_WL_SYNTH_H
#define FS_WL_SYNTH_H

#include "wl.h"

enum wl_arrival { WL_ARRIVAL_CONSTANT, WL_ARRIVAL_POISSON, WL_ARRIVAL_GAMMA };
enum wl_dist { WL_DIST_FIXED, WL_DIST_UNIFORM, WL_DIST_LOGNORMAL, WL_DIST_EMPIRICAL };

/* A token-length distribution. fixed: value. uniform: integers in [min, max]. lognormal: mean
 * and cv of the distribution itself (not of its log), then clamped to [min, max]. empirical: one
 * of `values` (lengths taken from a trace) chosen uniformly, then clamped. Draws are
 * rounded to integers and are at least 1. */
typedef struct wl_len_spec {
    enum wl_dist dist;
    double value, mean, cv;
    double min, max;
    const int32_t *values;  /* empirical: not owned, must outlive the source */
    size_t nvalues;
} wl_len_spec;

typedef struct wl_synth_spec {
    enum wl_arrival arrival;
    double rate; /* requests per second, > 0 */
    double cv;   /* gamma: coefficient of variation of inter-arrival times, > 0 */
    wl_len_spec input, output;
    /* Shared prefixes (a system prompt): each request starts with prefix_tokens tokens shared
     * with the requests of one of prefix_groups groups, drawn uniformly; its input length is
     * prefix_tokens plus a draw from `input`. 0 tokens: no sharing. */
    int32_t prefix_tokens;
    uint32_t prefix_groups;
    uint32_t target;
} wl_synth_spec;

/* `index` tells sources apart in the RNG stream derivation (the first source is 0). */
wl_source *wl_synth_open(const wl_synth_spec *spec, uint64_t seed, uint64_t index);

/* Draw one length (exposed for tests of the distributions). */
int32_t wl_len_draw(const wl_len_spec *spec, void *gsl_rng);

#endif
