/*
 * One synthetic source of a scenario's workload: its arrival process, its length distributions
 * and its shared prefixes. The reference is scenarios/REFERENCE.md ("Synthetic load").
 */
#include <string.h>

#include "scenario_internal.h"

const char *const scenario_synth_arrivals[] = {"constant", "poisson", "gamma", NULL};
const char *const scenario_synth_keys[] = {"rate", "cv", "input", "output", "prefix", NULL};
static const char *const prefix_keys[] = {"tokens", "groups", NULL};

static const char *const len_keys[] = {"dist", "value", "min", "max", "mean", "cv", "trace", "format", "columns", NULL};
static const char *const len_dists[] = {"fixed", "uniform", "lognormal", "empirical", NULL};
#define MAX_TOKENS 1e9

/* A length spec's min and max (required, or 1 and MAX_TOKENS by default), max >= min. */
static int get_bounds(jv_ctx *c, json_t *o, const char *p, bool required, wl_len_spec *out)
{
    if (jv_get_num(c, o, p, "min", required, 1, 1, false, MAX_TOKENS, &out->min) ||
        jv_get_num(c, o, p, "max", required, MAX_TOKENS, 1, false, MAX_TOKENS, &out->max))
        return -1;
    if (out->max >= out->min) return 0;
    char pm[JV_PATH_MAX];
    jv_join(pm, p, "max");
    return fs_error_at(c->err, c->file, pm, "expected a number >= min (%g), got %g", out->min, out->max);
}

static int load_len(jv_ctx *c, json_t *wl, const char *path, const char *key, wl_len_spec *out, scenario *sc)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *o = NULL;
    if (jv_get_obj(c, wl, path, key, false, &o) || jv_check_keys(c, o, p, len_keys)) return -1;
    const char *dist;
    if (jv_get_str(c, o, p, "dist", false, "fixed", len_dists, &dist)) return -1;
    memset(out, 0, sizeof *out);
    out->dist = (enum wl_dist)jv_choice_index(len_dists, dist);
    static const char *const used[][7] = {{"dist", "value", NULL}, {"dist", "min", "max", NULL},
                                          {"dist", "mean", "cv", "min", "max", NULL},
                                          {"dist", "trace", "format", "columns", "min", "max", NULL}};
    if (jv_check_used(c, o, p, "dist", dist, used[out->dist])) return -1;
    switch (out->dist) {
    case WL_DIST_FIXED:
        return jv_get_num(c, o, p, "value", false, 1, 1, false, MAX_TOKENS, &out->value);
    case WL_DIST_UNIFORM:
        return get_bounds(c, o, p, true, out);
    case WL_DIST_EMPIRICAL:
        return get_bounds(c, o, p, false, out) ||
               scenario_trace_lengths(c, o, p, strcmp(key, "input") == 0, sc, &out->values, &out->nvalues);
    case WL_DIST_LOGNORMAL:
        return jv_get_num(c, o, p, "mean", true, 0, 0, true, MAX_TOKENS, &out->mean) ||
                       jv_get_num(c, o, p, "cv", false, 1, 0, true, 100, &out->cv) || get_bounds(c, o, p, false, out)
                   ? -1
                   : 0;
    }
    return 0;
}

int scenario_load_synth(jv_ctx *c, json_t *w, const char *p, const char *arrival, wl_synth_spec *s, scenario *sc)
{
    char pk[JV_PATH_MAX];
    s->arrival = (enum wl_arrival)jv_choice_index(scenario_synth_arrivals, arrival);
    if (jv_get_num(c, w, p, "rate", true, 0, 0, true, 1e9, &s->rate)) return -1;
    if (s->arrival == WL_ARRIVAL_GAMMA && jv_get_num(c, w, p, "cv", false, 1, 0, true, 100, &s->cv)) return -1;
    if (s->arrival != WL_ARRIVAL_GAMMA && json_object_get(w, "cv")) {
        jv_join(pk, p, "cv");
        return fs_error_at(c->err, c->file, pk, "only used with \"arrival\": \"gamma\"");
    }
    if (json_object_get(w, "prefix")) {
        json_t *px = NULL;
        long long tokens, groups;
        jv_join(pk, p, "prefix");
        if (jv_get_obj(c, w, p, "prefix", true, &px) || jv_check_keys(c, px, pk, prefix_keys) ||
            jv_get_int(c, px, pk, "tokens", true, 0, 1, 1 << 24, &tokens) ||
            jv_get_int(c, px, pk, "groups", false, 1, 1, 1 << 30, &groups))
            return -1;
        s->prefix_tokens = (int32_t)tokens;
        s->prefix_groups = (uint32_t)groups;
    }
    return load_len(c, w, p, "input", &s->input, sc) || load_len(c, w, p, "output", &s->output, sc);
}
