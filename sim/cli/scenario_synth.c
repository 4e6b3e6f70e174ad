/*
 * One synthetic source of a scenario's workload: its arrival process, its length distributions,
 * the input-output correlation, shared prefixes, closed-loop users and sessions. The reference
 * is scenarios/REFERENCE.md ("Synthetic sources").
 */
#include <math.h>
#include <string.h>

#include "scenario_internal.h"

/* In the order of enum wl_arrival. */
const char *const scenario_synth_arrivals[] = {"constant", "poisson", "gamma", "weibull", "stages",
                                               "diurnal",  "mmpp",    "closed", NULL};
/* 19 keys: scenario_workload.c's table of source keys holds 31 in all. */
const char *const scenario_synth_keys[] = {
    "rate", "cv", "shape", "stages", "amplitude", "peak_to_trough", "profile", "interpolate", "period_s", "phase_s",
    "on", "off", "users", "think_time_s", "input", "output", "correlation", "session", "prefix", NULL};

/* The keys that belong to some arrival kinds only, and which. */
#define KIND(a) (1u << WL_ARRIVAL_##a)
static const struct {
    const char *key;
    unsigned kinds;
} kind_keys[] = {
    {"rate", KIND(CONSTANT) | KIND(POISSON) | KIND(GAMMA) | KIND(WEIBULL) | KIND(DIURNAL)},
    {"cv", KIND(GAMMA)},
    {"shape", KIND(WEIBULL)},
    {"stages", KIND(STAGES)},
    {"amplitude", KIND(DIURNAL)},
    {"peak_to_trough", KIND(DIURNAL)},
    {"profile", KIND(DIURNAL)},
    {"interpolate", KIND(DIURNAL)},
    {"period_s", KIND(DIURNAL)},
    {"phase_s", KIND(DIURNAL)},
    {"on", KIND(MMPP)},
    {"off", KIND(MMPP)},
    {"users", KIND(CLOSED)},
    {"think_time_s", KIND(CLOSED)},
};

static const char *const prefix_keys[] = {"tokens", "groups", NULL};
static const char *const stage_keys[] = {"rate", "duration_s", "ramp", NULL};
static const char *const state_keys[] = {"rate", "mean_s", NULL};
static const char *const session_keys[] = {"turns", "think_time_s", NULL};

static const char *const len_keys[] = {"dist",     "value", "min",    "max",     "mean",   "cv",      "sd",
                                       "exponent", "trace", "format", "columns", "values", "weights", NULL};
static const char *const time_keys[] = {"dist", "value", "mean", "cv", "min", "max", NULL};
/* In the order of enum wl_dist and enum wl_time_dist. */
static const char *const len_dists[] = {"fixed", "uniform", "normal", "lognormal", "zipf", "empirical", NULL};
static const char *const time_dists[] = {"fixed", "exponential", "lognormal", "uniform", NULL};
#define MAX_TOKENS 1e9
#define MAX_RATE 1e9

/* ---- lengths ---- */

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

/* An empirical histogram written in the scenario: values (integers) and optional weights. */
static int get_histogram(jv_ctx *c, json_t *o, const char *p, wl_len_spec *out, scenario *sc)
{
    char pk[JV_PATH_MAX], pi[JV_PATH_MAX];
    json_t *v = json_object_get(o, "values"), *w = json_object_get(o, "weights");
    jv_join(pk, p, "values");
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 10000000)
        return jv_bad(c, pk, "an array of 1 to 10000000 lengths", v);
    size_t n = json_array_size(v);
    int32_t *values = fs_xmalloc(n * sizeof *values);
    scenario_own(sc, values);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        double d = json_is_number(x) ? json_number_value(x) : 0;
        if (!json_is_number(x) || d != floor(d) || d < 1 || d > MAX_TOKENS) {
            jv_join_index(pi, pk, i);
            return jv_bad(c, pi, "an integer in 1..1000000000", x);
        }
        values[i] = (int32_t)d;
    }
    out->values = values;
    out->nvalues = n;
    if (!w) return 0;
    jv_join(pk, p, "weights");
    if (!json_is_array(w) || json_array_size(w) != n) {
        char want[64];
        snprintf(want, sizeof want, "an array of %zu weights (one per value)", n);
        return jv_bad(c, pk, want, w);
    }
    double *counts = fs_xmalloc(n * sizeof *counts), sum = 0;
    scenario_own(sc, counts);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(w, i);
        double d = json_is_number(x) ? json_number_value(x) : -1;
        if (!(d >= 0 && d <= 1e15)) {
            jv_join_index(pi, pk, i);
            return jv_bad(c, pi, "a number >= 0 and <= 1e+15", x);
        }
        sum += counts[i] = d;
    }
    out->counts = counts;
    if (sum > 0) return 0;
    return fs_error_at(c->err, c->file, pk, "expected some weight > 0, got all 0");
}

/* The length spec at path.key; `what` says what it measures ("input", "output", "turns"). */
static int load_len(jv_ctx *c, json_t *parent, const char *path, const char *key, const char *what,
                    wl_len_spec *out, scenario *sc)
{
    char p[JV_PATH_MAX], pk[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *o = NULL;
    if (jv_get_obj(c, parent, path, key, false, &o) || jv_check_keys(c, o, p, len_keys)) return -1;
    const char *dist;
    if (jv_get_str(c, o, p, "dist", false, "fixed", len_dists, &dist)) return -1;
    memset(out, 0, sizeof *out);
    out->dist = (enum wl_dist)jv_choice_index(len_dists, dist);
    static const char *const used[][9] = {
        {"dist", "value", NULL},
        {"dist", "min", "max", NULL},
        {"dist", "mean", "sd", "min", "max", NULL},
        {"dist", "mean", "cv", "min", "max", NULL},
        {"dist", "exponent", "min", "max", NULL},
        {"dist", "trace", "format", "columns", "values", "weights", "min", "max", NULL}};
    if (jv_check_used(c, o, p, "dist", dist, used[out->dist])) return -1;
    switch (out->dist) {
    case WL_DIST_FIXED:
        return jv_get_num(c, o, p, "value", false, 1, 1, false, MAX_TOKENS, &out->value);
    case WL_DIST_UNIFORM:
        return get_bounds(c, o, p, true, out);
    case WL_DIST_NORMAL:
        return jv_get_num(c, o, p, "mean", true, 0, 0, true, MAX_TOKENS, &out->mean) ||
                       jv_get_num(c, o, p, "sd", true, 0, 0, true, MAX_TOKENS, &out->sd) ||
                       get_bounds(c, o, p, false, out)
                   ? -1
                   : 0;
    case WL_DIST_LOGNORMAL:
        return jv_get_num(c, o, p, "mean", true, 0, 0, true, MAX_TOKENS, &out->mean) ||
                       jv_get_num(c, o, p, "cv", false, 1, 0, true, 100, &out->cv) || get_bounds(c, o, p, false, out)
                   ? -1
                   : 0;
    case WL_DIST_ZIPF:
        if (!json_object_get(o, "max")) {
            jv_join(pk, p, "max");
            return fs_error_at(c->err, c->file, pk, "required key is missing (zipf draws from 1 .. max)");
        }
        return jv_get_num(c, o, p, "exponent", true, 0, 0, true, 100, &out->exponent) ||
                       get_bounds(c, o, p, false, out)
                   ? -1
                   : 0;
    case WL_DIST_EMPIRICAL: {
        bool trace = json_object_get(o, "trace") != NULL, values = json_object_get(o, "values") != NULL;
        if (trace == values) {
            jv_join(pk, p, trace ? "values" : "trace");
            return fs_error_at(c->err, c->file, pk, trace ? "give trace or values, not both"
                                                          : "required key is missing (give trace or values)");
        }
        if (trace && strcmp(what, "turns") == 0) {
            jv_join(pk, p, "trace");
            return fs_error_at(c->err, c->file, pk, "a trace holds token lengths, not turns: give values");
        }
        if (!trace) {
            for (const char *const *k = (const char *const[]){"format", "columns", NULL}; *k; k++)
                if (json_object_get(o, *k)) {
                    jv_join(pk, p, *k);
                    return fs_error_at(c->err, c->file, pk, "only used with trace; remove it");
                }
        } else if (json_object_get(o, "weights")) {
            jv_join(pk, p, "weights");
            return fs_error_at(c->err, c->file, pk, "only used with values (a trace's rows weigh 1 each); remove it");
        }
        if (get_bounds(c, o, p, false, out)) return -1;
        if (values) return get_histogram(c, o, p, out, sc);
        return scenario_trace_lengths(c, o, p, strcmp(what, "input") == 0, sc, &out->values, &out->counts,
                                      &out->nvalues);
    }
    }
    return 0;
}

/* ---- think times ---- */

static int load_time(jv_ctx *c, json_t *parent, const char *path, const char *key, wl_time_spec *out)
{
    char p[JV_PATH_MAX], pk[JV_PATH_MAX];
    const double max = FS_TIME_INPUT_MAX_S;
    jv_join(p, path, key);
    json_t *o = NULL;
    const char *dist;
    if (jv_get_obj(c, parent, path, key, false, &o) || jv_check_keys(c, o, p, time_keys) ||
        jv_get_str(c, o, p, "dist", false, "fixed", time_dists, &dist))
        return -1;
    memset(out, 0, sizeof *out);
    out->dist = (enum wl_time_dist)jv_choice_index(time_dists, dist);
    static const char *const used[][6] = {{"dist", "value", NULL},
                                          {"dist", "mean", "min", "max", NULL},
                                          {"dist", "mean", "cv", "min", "max", NULL},
                                          {"dist", "min", "max", NULL}};
    if (jv_check_used(c, o, p, "dist", dist, used[out->dist])) return -1;
    switch (out->dist) {
    case WL_TIME_FIXED:
        return jv_get_num(c, o, p, "value", false, 0, 0, false, max, &out->value);
    case WL_TIME_UNIFORM:
        if (jv_get_num(c, o, p, "min", true, 0, 0, false, max, &out->min) ||
            jv_get_num(c, o, p, "max", true, 0, 0, false, max, &out->max))
            return -1;
        break;
    case WL_TIME_LOGNORMAL:
        if (jv_get_num(c, o, p, "cv", false, 1, 0, true, 100, &out->cv)) return -1;
        /* fall through */
    case WL_TIME_EXPONENTIAL:
        if (jv_get_num(c, o, p, "mean", true, 0, 0, true, max, &out->mean) ||
            jv_get_num(c, o, p, "min", false, 0, 0, false, max, &out->min))
            return -1;
        if (!json_object_get(o, "max")) return 0; /* no upper bound */
        if (jv_get_num(c, o, p, "max", true, 0, 0, true, max, &out->max)) return -1;
        break;
    }
    if (out->max >= out->min) return 0;
    jv_join(pk, p, "max");
    return fs_error_at(c->err, c->file, pk, "expected a number >= min (%g), got %g", out->min, out->max);
}

/* ---- arrival processes ---- */

static int load_stages(jv_ctx *c, json_t *w, const char *p, wl_synth_spec *s, scenario *sc)
{
    char pk[JV_PATH_MAX], pi[JV_PATH_MAX];
    json_t *a = json_object_get(w, "stages");
    jv_join(pk, p, "stages");
    if (!a) return fs_error_at(c->err, c->file, pk, "required key is missing (expected an array of stages)");
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 10000)
        return jv_bad(c, pk, "an array of 1 to 10000 stages", a);
    size_t n = json_array_size(a);
    wl_stage *v = fs_xcalloc(n, sizeof *v);
    scenario_own(sc, v);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        json_t *g = json_array_get(a, i);
        jv_join_index(pi, pk, i);
        if (!json_is_object(g)) return jv_bad(c, pi, "an object", g);
        if (jv_check_keys(c, g, pi, stage_keys) ||
            jv_get_num(c, g, pi, "rate", true, 0, 0, false, MAX_RATE, &v[i].rate) ||
            jv_get_num(c, g, pi, "duration_s", true, 0, 0, true, FS_TIME_INPUT_MAX_S, &v[i].duration_s) ||
            jv_get_bool(c, g, pi, "ramp", false, &v[i].ramp))
            return -1;
        if (v[i].ramp && i + 1 == n) {
            char pr[JV_PATH_MAX];
            jv_join(pr, pi, "ramp");
            return fs_error_at(c->err, c->file, pr, "the last stage has no next rate to ramp to");
        }
        any |= v[i].rate > 0;
    }
    if (!any) return fs_error_at(c->err, c->file, pk, "expected some stage with rate > 0, got none");
    s->stages.v = v;
    s->stages.n = n;
    return 0;
}

static int load_profile(jv_ctx *c, json_t *w, const char *p, wl_synth_spec *s, scenario *sc)
{
    char pk[JV_PATH_MAX], pi[JV_PATH_MAX];
    json_t *a = json_object_get(w, "profile");
    jv_join(pk, p, "profile");
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 100000)
        return jv_bad(c, pk, "an array of 1 to 100000 relative rates", a);
    size_t n = json_array_size(a);
    double *v = fs_xmalloc(n * sizeof *v), sum = 0;
    scenario_own(sc, v);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(a, i);
        double d = json_is_number(x) ? json_number_value(x) : -1;
        if (!(d >= 0 && d <= MAX_RATE)) {
            jv_join_index(pi, pk, i);
            return jv_bad(c, pi, "a number >= 0 and <= 1e+09", x);
        }
        sum += v[i] = d;
    }
    if (sum == 0) return fs_error_at(c->err, c->file, pk, "expected some point > 0, got all 0");
    s->diurnal.profile = v;
    s->diurnal.nprofile = n;
    return jv_get_bool(c, w, p, "interpolate", true, &s->diurnal.interpolate);
}

static int load_diurnal(jv_ctx *c, json_t *w, const char *p, wl_synth_spec *s, scenario *sc)
{
    char pk[JV_PATH_MAX];
    static const char *const shapes[] = {"amplitude", "peak_to_trough", "profile", NULL};
    const char *given = NULL;
    for (const char *const *k = shapes; *k; k++) {
        if (!json_object_get(w, *k)) continue;
        if (given) {
            jv_join(pk, p, *k);
            return fs_error_at(c->err, c->file, pk, "give one of amplitude, peak_to_trough and profile (%s is given)",
                               given);
        }
        given = *k;
    }
    if (!given) {
        jv_join(pk, p, "amplitude");
        return fs_error_at(c->err, c->file, pk, "required key is missing (or give peak_to_trough or profile)");
    }
    if (strcmp(given, "profile") != 0 && json_object_get(w, "interpolate")) {
        jv_join(pk, p, "interpolate");
        return fs_error_at(c->err, c->file, pk, "only used with profile; remove it");
    }
    if (jv_get_num(c, w, p, "rate", true, 0, 0, true, MAX_RATE, &s->rate) ||
        jv_get_num(c, w, p, "period_s", false, 86400, 0, true, FS_TIME_INPUT_MAX_S, &s->diurnal.period_s) ||
        jv_get_num(c, w, p, "phase_s", false, 0, 0, false, FS_TIME_INPUT_MAX_S, &s->diurnal.phase_s))
        return -1;
    if (strcmp(given, "profile") == 0) return load_profile(c, w, p, s, sc);
    if (strcmp(given, "amplitude") == 0)
        return jv_get_num(c, w, p, "amplitude", true, 0, 0, false, 1, &s->diurnal.amplitude);
    double ratio;
    if (jv_get_num(c, w, p, "peak_to_trough", true, 0, 1, false, 1e9, &ratio)) return -1;
    s->diurnal.amplitude = (ratio - 1) / (ratio + 1); /* (1 + a) / (1 - a) = ratio */
    return 0;
}

static int load_mmpp(jv_ctx *c, json_t *w, const char *p, wl_synth_spec *s)
{
    static const char *const names[] = {"on", "off"};
    for (int i = 0; i < 2; i++) {
        char pk[JV_PATH_MAX];
        json_t *o = NULL;
        jv_join(pk, p, names[i]);
        if (jv_get_obj(c, w, p, names[i], true, &o) || jv_check_keys(c, o, pk, state_keys) ||
            jv_get_num(c, o, pk, "rate", true, 0, 0, false, MAX_RATE, &s->mmpp.rate[i]) ||
            jv_get_num(c, o, pk, "mean_s", true, 0, 0, true, FS_TIME_INPUT_MAX_S, &s->mmpp.mean_s[i]))
            return -1;
    }
    if (s->mmpp.rate[0] + s->mmpp.rate[1] > 0) return 0;
    char pr[JV_PATH_MAX];
    jv_join(pr, p, "on.rate");
    return fs_error_at(c->err, c->file, pr, "expected on.rate or off.rate > 0, got both 0");
}

/* Keys of the source object that belong to other arrival kinds. */
static int check_kind_keys(jv_ctx *c, json_t *w, const char *p, enum wl_arrival kind)
{
    for (size_t i = 0; i < sizeof kind_keys / sizeof kind_keys[0]; i++) {
        if (kind_keys[i].kinds & (1u << kind) || !json_object_get(w, kind_keys[i].key)) continue;
        char pk[JV_PATH_MAX], list[160] = "";
        for (int a = 0; scenario_synth_arrivals[a]; a++) {
            if (!(kind_keys[i].kinds & (1u << a))) continue;
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s\"%s\"", n ? ", " : "", scenario_synth_arrivals[a]);
        }
        jv_join(pk, p, kind_keys[i].key);
        return fs_error_at(c->err, c->file, pk, "only used with \"arrival\": %s, not \"%s\"; remove it", list,
                           scenario_synth_arrivals[kind]);
    }
    return 0;
}

static int load_arrival(jv_ctx *c, json_t *w, const char *p, wl_synth_spec *s, scenario *sc)
{
    switch (s->arrival) {
    case WL_ARRIVAL_CONSTANT:
    case WL_ARRIVAL_POISSON:
        return jv_get_num(c, w, p, "rate", true, 0, 0, true, MAX_RATE, &s->rate);
    case WL_ARRIVAL_GAMMA:
        return jv_get_num(c, w, p, "rate", true, 0, 0, true, MAX_RATE, &s->rate) ||
                       jv_get_num(c, w, p, "cv", false, 1, 0, true, 100, &s->cv)
                   ? -1
                   : 0;
    case WL_ARRIVAL_WEIBULL:
        return jv_get_num(c, w, p, "rate", true, 0, 0, true, MAX_RATE, &s->rate) ||
                       jv_get_num(c, w, p, "shape", true, 0, 0.05, false, 100, &s->shape)
                   ? -1
                   : 0;
    case WL_ARRIVAL_STAGES:
        return load_stages(c, w, p, s, sc);
    case WL_ARRIVAL_DIURNAL:
        return load_diurnal(c, w, p, s, sc);
    case WL_ARRIVAL_MMPP:
        return load_mmpp(c, w, p, s);
    case WL_ARRIVAL_CLOSED: {
        long long users;
        if (jv_get_int(c, w, p, "users", true, 0, 1, 1000000, &users)) return -1;
        s->closed.users = (uint32_t)users;
        return load_time(c, w, p, "think_time_s", &s->closed.think);
    }
    }
    return 0;
}

/* ---- the source ---- */

static int load_session(jv_ctx *c, json_t *w, const char *p, wl_synth_spec *s, scenario *sc)
{
    char pk[JV_PATH_MAX];
    json_t *o = NULL;
    jv_join(pk, p, "session");
    if (jv_get_obj(c, w, p, "session", true, &o) || jv_check_keys(c, o, pk, session_keys)) return -1;
    if (json_object_get(w, "prefix")) {
        jv_join(pk, p, "prefix");
        return fs_error_at(c->err, c->file, pk, "not used with session (every turn carries its session's prefix "
                           "key, which covers the whole conversation); remove it");
    }
    if (!json_object_get(o, "turns")) {
        char pt[JV_PATH_MAX];
        jv_join(pt, pk, "turns");
        return fs_error_at(c->err, c->file, pt, "required key is missing (expected a length spec)");
    }
    s->sessions.enabled = true;
    return load_len(c, o, pk, "turns", "turns", &s->sessions.turns, sc) ||
                   load_time(c, o, pk, "think_time_s", &s->sessions.think)
               ? -1
               : 0;
}

int scenario_load_synth(jv_ctx *c, json_t *w, const char *p, const char *arrival, wl_synth_spec *s, scenario *sc)
{
    char pk[JV_PATH_MAX];
    s->arrival = (enum wl_arrival)jv_choice_index(scenario_synth_arrivals, arrival);
    if (check_kind_keys(c, w, p, s->arrival) || load_arrival(c, w, p, s, sc)) return -1;
    if (json_object_get(w, "session") && load_session(c, w, p, s, sc)) return -1;
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
    if (load_len(c, w, p, "input", "input", &s->input, sc) || load_len(c, w, p, "output", "output", &s->output, sc) ||
        jv_get_num(c, w, p, "correlation", false, 0, -1, false, 1, &s->correlation))
        return -1;
    if (s->correlation != 0 && (s->input.dist == WL_DIST_FIXED || s->output.dist == WL_DIST_FIXED)) {
        jv_join(pk, p, "correlation");
        return fs_error_at(c->err, c->file, pk, "has no effect with a fixed %s length; remove it",
                           s->input.dist == WL_DIST_FIXED ? "input" : "output");
    }
    return 0;
}
