/* Synthetic open-loop load: an arrival process and two length distributions. */
#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "wl_internal.h"
#include "wl_synth.h"

typedef struct synth {
    wl_source base;
    wl_synth_spec spec;
    fs_rng *arrivals, *lengths, *prefixes;
    uint64_t seed;
    uint64_t next_id;
    double t_s;     /* constant arrivals: exact time in seconds, so no rounding drift */
    fs_time t;      /* time of the last arrival */
} synth;

int32_t wl_len_draw(const wl_len_spec *spec, void *rng)
{
    double x;
    switch (spec->dist) {
    case WL_DIST_FIXED:
        x = spec->value;
        break;
    case WL_DIST_UNIFORM:
        /* integers min..max inclusive, each equally likely */
        x = spec->min + (double)gsl_rng_uniform_int(rng, (unsigned long)(spec->max - spec->min) + 1);
        break;
    case WL_DIST_LOGNORMAL: {
        double s2 = log1p(spec->cv * spec->cv);
        x = gsl_ran_lognormal(rng, log(spec->mean) - s2 / 2, sqrt(s2));
        if (spec->min > 0 && x < spec->min) x = spec->min;
        if (spec->max > 0 && x > spec->max) x = spec->max;
        break;
    }
    case WL_DIST_EMPIRICAL:
        x = spec->nvalues ? spec->values[gsl_rng_uniform_int(rng, spec->nvalues)] : 1;
        if (spec->min > 0 && x < spec->min) x = spec->min;
        if (spec->max > 0 && x > spec->max) x = spec->max;
        break;
    default:
        x = 1;
    }
    x = nearbyint(x);
    if (x < 1) x = 1;
    if (x > INT32_MAX) x = INT32_MAX;
    return (int32_t)x;
}

static int synth_next(wl_source *src, wl_request *out, fs_error *err)
{
    (void)err;
    synth *s = (synth *)src;
    const wl_synth_spec *sp = &s->spec;
    fs_time t;
    switch (sp->arrival) {
    case WL_ARRIVAL_CONSTANT:
        s->t_s = (double)(s->next_id + 1) / sp->rate;
        t = fs_time_from_s(s->t_s);
        break;
    case WL_ARRIVAL_POISSON:
        t = s->t + fs_time_from_s(gsl_ran_exponential(s->arrivals, 1.0 / sp->rate));
        break;
    case WL_ARRIVAL_GAMMA: {
        double k = 1.0 / (sp->cv * sp->cv); /* shape; mean k * theta = 1 / rate */
        t = s->t + fs_time_from_s(gsl_ran_gamma(s->arrivals, k, 1.0 / (sp->rate * k)));
        break;
    }
    default:
        return 0;
    }
    if (t < s->t) t = s->t; /* only rounding could do this; keep arrivals monotone */
    s->t = t;
    out->id = s->next_id++;
    out->arrival = t;
    out->input_tokens = wl_len_draw(&sp->input, s->lengths);
    out->output_tokens = wl_len_draw(&sp->output, s->lengths);
    out->target = sp->target;
    out->priority = 0;
    out->prefix_key = 0;
    out->prefix_tokens = 0;
    if (sp->prefix_tokens > 0) {
        uint64_t group = sp->prefix_groups > 1 ? gsl_rng_uniform_int(s->prefixes, sp->prefix_groups) : 0;
        out->prefix_key = fs_hash64(s->seed, group + 1) | 1;
        out->prefix_tokens = sp->prefix_tokens;
        out->input_tokens = out->input_tokens > INT32_MAX - sp->prefix_tokens ? INT32_MAX
                                                                              : out->input_tokens + sp->prefix_tokens;
    }
    return 1;
}

static void synth_free(wl_source *src)
{
    synth *s = (synth *)src;
    fs_rng_free(s->arrivals);
    fs_rng_free(s->lengths);
    fs_rng_free(s->prefixes);
    free(s);
}

static const wl_source_ops synth_ops = {synth_next, NULL, synth_free, NULL, NULL};

wl_source *wl_synth_open(const wl_synth_spec *spec, uint64_t seed, uint64_t index)
{
    synth *s = fs_xcalloc(1, sizeof *s);
    s->base.ops = &synth_ops;
    s->spec = *spec;
    s->arrivals = fs_rng_new(seed, FS_STREAM_ARRIVALS, index);
    s->lengths = fs_rng_new(seed, FS_STREAM_LENGTHS, index);
    s->prefixes = fs_rng_new(seed, FS_STREAM_PREFIXES, index);
    s->seed = fs_hash64(seed, index);
    if (!s->arrivals || !s->lengths || !s->prefixes) fs_oom(sizeof(gsl_rng));
    return &s->base;
}
