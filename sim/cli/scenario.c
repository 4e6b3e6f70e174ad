/*
 * Scenario validation. Every object is checked the same way: first its keys against the list
 * of known ones (an unknown key is an error that names the nearest known key), then each value
 * with a typed getter that writes the default back into the JSON when the key is absent, so the
 * tree that remains is the resolved scenario. The reference for users is
 * scenarios/REFERENCE.md; keep the two in step.
 */
#include "scenario.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gpu.h"

typedef struct vctx {
    const char *file;
    fs_error *err;
} vctx;

#define PATH_MAX_LEN 256

/* Append s to the path in out, cutting it short at PATH_MAX_LEN: paths only label messages. */
static void append(char *out, const char *s)
{
    size_t n = strlen(out), k = strlen(s);
    if (k > PATH_MAX_LEN - 1 - n) k = PATH_MAX_LEN - 1 - n;
    memcpy(out + n, s, k);
    out[n + k] = '\0';
}

static void join(char *out, const char *path, const char *key)
{
    out[0] = '\0';
    append(out, path);
    if (path[0]) append(out, ".");
    append(out, key);
}

static void join_index(char *out, const char *path, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof idx, "[%zu]", i);
    out[0] = '\0';
    append(out, path);
    append(out, idx);
}

/* A short rendering of a JSON value for messages: -2, "abc", an object, an array. */
static const char *show(const json_t *v, char *buf, size_t size)
{
    if (json_is_object(v)) return "an object";
    if (json_is_array(v)) return json_array_size(v) ? "an array" : "an empty array";
    if (json_is_null(v)) return "null";
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) return "a value";
    if (strlen(s) > 60) snprintf(buf, size, "%.57s...", s);
    else snprintf(buf, size, "%s", s);
    free(s);
    return buf;
}

static int bad(vctx *c, const char *path, const char *expected, const json_t *got)
{
    char buf[80];
    return fs_error_at(c->err, c->file, path, "expected %s, got %s", expected, show(got, buf, sizeof buf));
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* Every key of obj must be in `known` (NULL-terminated). */
static int check_keys(vctx *c, const json_t *obj, const char *path, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++) ok = strcmp(*k, key) == 0;
        if (ok) continue;
        const char *best = NULL;
        size_t bd = SIZE_MAX, len = strlen(key);
        for (const char *const *k = known; *k; k++) {
            /* "ttft" for "ttft_ms": a known key that is the unknown one plus a unit suffix */
            size_t d = strncmp(*k, key, len) == 0 && (*k)[len] == '_' ? 0 : edit_distance(key, *k);
            if (d < bd) {
                bd = d;
                best = *k;
            }
        }
        char p[PATH_MAX_LEN];
        join(p, path, key);
        if (best && bd <= (len < 6 ? 2 : len / 3 + 1) && bd < len)
            return fs_error_at(c->err, c->file, p, "unknown key '%s'; did you mean '%s'?", key, best);
        char list[512] = "";
        for (const char *const *k = known; *k; k++) {
            strncat(list, *k, sizeof list - strlen(list) - 1);
            if (k[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        return fs_error_at(c->err, c->file, p, "unknown key '%s'; known keys here: %s", key, list);
    }
    return 0;
}

/* After check_keys: keys that exist but mean nothing for the chosen `dist` are errors too, since
 * a user who writes them expects an effect. `used` lists the keys that apply. */
static int check_used(vctx *c, const json_t *obj, const char *path, const char *dist, const char *const *used)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *k = used; *k && !ok; k++) ok = strcmp(*k, key) == 0;
        if (ok) continue;
        char p[PATH_MAX_LEN], list[256] = "";
        for (const char *const *k = used; *k; k++) {
            strncat(list, *k, sizeof list - strlen(list) - 1);
            if (k[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        join(p, path, key);
        return fs_error_at(c->err, c->file, p, "not used with dist \"%s\" (its keys: %s); remove it", dist, list);
    }
    return 0;
}

/* An object member that must be an object (created empty when absent and !required). */
static int get_obj(vctx *c, json_t *parent, const char *path, const char *key, bool required, json_t **out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing (expected an object)");
        v = json_object();
        json_object_set_new(parent, key, v);
    }
    if (!json_is_object(v)) return bad(c, p, "an object", v);
    *out = v;
    return 0;
}

/* A number in [min, max] (min exclusive when min_open). Absent: `def` when !required. */
static int get_num(vctx *c, json_t *parent, const char *path, const char *key, bool required,
                   double def, double min, bool min_open, double max, double *out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing");
        *out = def;
        json_object_set_new(parent, key, json_real(def));
        return 0;
    }
    char want[96];
    if (max < INFINITY) snprintf(want, sizeof want, "a number %s %g and <= %g", min_open ? ">" : ">=", min, max);
    else snprintf(want, sizeof want, "a number %s %g", min_open ? ">" : ">=", min);
    if (!json_is_number(v)) return bad(c, p, want, v);
    double x = json_number_value(v);
    if (!isfinite(x) || (min_open ? x <= min : x < min) || x > max) return bad(c, p, want, v);
    *out = x;
    return 0;
}

/* A span of time: a number in seconds (scale 1e9) or milliseconds (scale 1e6) that must be > 0
 * (or >= 0 when zero_ok) and at least 1 ns after rounding, so that a tiny positive value never
 * turns into 0, which means "none" for SLOs and sampling. Absent: def (in the same unit). */
static int get_span(vctx *c, json_t *parent, const char *path, const char *key, bool required, double def,
                    bool zero_ok, double scale, fs_time *out)
{
    double x = 0, max = FS_TIME_INPUT_MAX_S * 1e9 / scale;
    if (get_num(c, parent, path, key, required, def, 0, !zero_ok, max, &x)) return -1;
    fs_time t = (fs_time)llround(x * scale);
    if (t == 0 && x > 0) {
        char p[PATH_MAX_LEN];
        join(p, path, key);
        return fs_error_at(c->err, c->file, p, "expected at least 1 ns (%g %s), got %g", 1e9 / scale * 1e-9,
                           scale == 1e9 ? "s" : "ms", x);
    }
    *out = t;
    return 0;
}

/* An integer in [min, max]. */
static int get_int(vctx *c, json_t *parent, const char *path, const char *key, bool required,
                   long long def, long long min, long long max, long long *out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing (expected an integer >= %lld)", min);
        *out = def;
        json_object_set_new(parent, key, json_integer(def));
        return 0;
    }
    char want[96];
    if (max < LLONG_MAX) snprintf(want, sizeof want, "an integer in %lld..%lld", min, max);
    else snprintf(want, sizeof want, "an integer >= %lld", min);
    long long x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        x = (long long)json_real_value(v); /* 4.0 is accepted as 4 */
    } else {
        return bad(c, p, want, v);
    }
    if (x < min || x > max) return bad(c, p, want, v);
    *out = x;
    return 0;
}

/* A string; with `choices` (NULL-terminated) one of them. Returns a pointer into the JSON. */
static int get_str(vctx *c, json_t *parent, const char *path, const char *key, bool required,
                   const char *def, const char *const *choices, const char **out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing (expected a string)");
        json_object_set_new(parent, key, json_string(def));
        v = json_object_get(parent, key);
    }
    char want[256] = "a string";
    if (choices) {
        snprintf(want, sizeof want, "one of ");
        for (const char *const *k = choices; *k; k++) {
            strncat(want, "\"", sizeof want - strlen(want) - 1);
            strncat(want, *k, sizeof want - strlen(want) - 1);
            strncat(want, k[1] ? "\", " : "\"", sizeof want - strlen(want) - 1);
        }
    }
    if (!json_is_string(v)) return bad(c, p, want, v);
    const char *s = json_string_value(v);
    if (choices) {
        bool ok = false;
        for (const char *const *k = choices; *k && !ok; k++) ok = strcmp(*k, s) == 0;
        if (!ok) return bad(c, p, want, v);
    } else if (s[0] == '\0') {
        return bad(c, p, "a non-empty string", v);
    }
    *out = s;
    return 0;
}

static int choice_index(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0) return i;
    return -1;
}

static int get_bool(vctx *c, json_t *parent, const char *path, const char *key, bool def, bool *out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        *out = def;
        json_object_set_new(parent, key, json_boolean(def));
        return 0;
    }
    if (!json_is_boolean(v)) return bad(c, p, "true or false", v);
    *out = json_is_true(v);
    return 0;
}

/* ---- sections ---- */

static const char *const len_keys[] = {"dist", "value", "min", "max", "mean", "cv", NULL};
static const char *const len_dists[] = {"fixed", "uniform", "lognormal", NULL};
#define MAX_TOKENS 1e9

static int load_len(vctx *c, json_t *wl, const char *path, const char *key, wl_len_spec *out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    json_t *o = NULL;
    if (get_obj(c, wl, path, key, false, &o) || check_keys(c, o, p, len_keys)) return -1;
    const char *dist;
    if (get_str(c, o, p, "dist", false, "fixed", len_dists, &dist)) return -1;
    memset(out, 0, sizeof *out);
    out->dist = (enum wl_dist)choice_index(len_dists, dist);
    static const char *const used[][6] = {{"dist", "value", NULL}, {"dist", "min", "max", NULL},
                                          {"dist", "mean", "cv", "min", "max", NULL}};
    if (check_used(c, o, p, dist, used[out->dist])) return -1;
    switch (out->dist) {
    case WL_DIST_FIXED:
        return get_num(c, o, p, "value", false, 1, 1, false, MAX_TOKENS, &out->value);
    case WL_DIST_UNIFORM:
        if (get_num(c, o, p, "min", true, 0, 1, false, MAX_TOKENS, &out->min) ||
            get_num(c, o, p, "max", true, 0, 1, false, MAX_TOKENS, &out->max))
            return -1;
        if (out->max < out->min) {
            char pm[PATH_MAX_LEN];
            join(pm, p, "max");
            return fs_error_at(c->err, c->file, pm, "expected a number >= min (%g), got %g", out->min, out->max);
        }
        return 0;
    case WL_DIST_LOGNORMAL:
        if (get_num(c, o, p, "mean", true, 0, 0, true, MAX_TOKENS, &out->mean) ||
            get_num(c, o, p, "cv", false, 1, 0, true, 100, &out->cv) ||
            get_num(c, o, p, "min", false, 1, 1, false, MAX_TOKENS, &out->min) ||
            get_num(c, o, p, "max", false, MAX_TOKENS, 1, false, MAX_TOKENS, &out->max))
            return -1;
        if (out->max < out->min) {
            char pm[PATH_MAX_LEN];
            join(pm, p, "max");
            return fs_error_at(c->err, c->file, pm, "expected a number >= min (%g), got %g", out->min, out->max);
        }
        return 0;
    }
    return 0;
}

static const char *const fleet_keys[] = {"gpu", "count", "price_per_hour", NULL};

static int load_fleet_entry(vctx *c, json_t *o, const char *p, sim_fleet_entry *out)
{
    const char *gpu;
    long long count;
    if (!json_is_object(o)) return bad(c, p, "an object with gpu and count", o);
    if (check_keys(c, o, p, fleet_keys) || get_str(c, o, p, "gpu", true, NULL, NULL, &gpu)) return -1;
    const gpu_spec *g = gpu_find(gpu);
    if (!g) {
        char list[512] = "", pg[PATH_MAX_LEN];
        for (size_t i = 0; i < gpu_count(); i++) {
            strncat(list, gpu_at(i)->name, sizeof list - strlen(list) - 1);
            if (i + 1 < gpu_count()) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        join(pg, p, "gpu");
        return fs_error_at(c->err, c->file, pg, "expected a known GPU (%s), got \"%s\"", list, gpu);
    }
    if (get_int(c, o, p, "count", true, 0, 1, 1000000, &count) ||
        get_num(c, o, p, "price_per_hour", false, g->price_per_hour, 0, false, 1e6, &out->price_per_hour))
        return -1;
    snprintf(out->gpu, sizeof out->gpu, "%s", g->name);
    out->count = (uint32_t)count;
    return 0;
}

static int load_fleet(vctx *c, json_t *root, sim_config *cfg)
{
    json_t *f = json_object_get(root, "fleet");
    if (!f) return fs_error_at(c->err, c->file, "fleet", "required key is missing (expected an array of {gpu, count})");
    if (json_is_object(f)) { /* one entry may be written without the array */
        json_t *arr = json_array();
        json_array_append(arr, f);
        json_object_set_new(root, "fleet", arr);
        f = arr;
    }
    if (!json_is_array(f) || json_array_size(f) == 0) return bad(c, "fleet", "a non-empty array of {gpu, count}", f);
    if (json_array_size(f) > SIM_MAX_FLEET)
        return fs_error_at(c->err, c->file, "fleet", "expected at most %d entries, got %zu", SIM_MAX_FLEET, json_array_size(f));
    size_t i;
    json_t *o = NULL;
    json_array_foreach(f, i, o) {
        char p[PATH_MAX_LEN];
        join_index(p, "fleet", i);
        if (load_fleet_entry(c, o, p, &cfg->fleet[i])) return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cfg->fleet[k].gpu, cfg->fleet[i].gpu) == 0)
                return fs_error_at(c->err, c->file, p, "GPU type %s already appears in fleet[%zu]; "
                                   "add the counts into one entry", cfg->fleet[i].gpu, k);
    }
    cfg->nfleet = (uint32_t)i;
    return 0;
}

static const char *const dep_keys[] = {"name", "model", "kind", "gpu", "gpus_per_replica", "replicas",
                                       "max_batch", "service", NULL};
static const char *const kinds[] = {"fixed", NULL};
static const char *const service_keys[] = {"dist", "mean_ms", "cv", NULL};
static const char *const service_dists[] = {"constant", "exponential", "lognormal", NULL};
static const char *const routers[] = {"round_robin", "random", "least_outstanding", "central_queue", NULL};

static int load_deployment(vctx *c, json_t *o, const char *p, size_t index, sim_config *cfg)
{
    sim_deployment *d = &cfg->deployments[index];
    const char *model, *name, *kind, *gpu, *dist;
    long long n;
    json_t *svc = NULL;
    if (!json_is_object(o)) return bad(c, p, "an object", o);
    if (check_keys(c, o, p, dep_keys) || get_str(c, o, p, "model", true, NULL, NULL, &model) ||
        get_str(c, o, p, "name", false, model, NULL, &name) ||
        get_str(c, o, p, "kind", false, "fixed", kinds, &kind) ||
        get_str(c, o, p, "gpu", false, cfg->fleet[0].gpu, NULL, &gpu))
        return -1;
    const char *too_long = strlen(model) >= SIM_NAME_MAX ? "model" : strlen(name) >= SIM_NAME_MAX ? "name" : NULL;
    if (too_long) {
        char pn[PATH_MAX_LEN];
        join(pn, p, too_long);
        return fs_error_at(c->err, c->file, pn, "expected at most %d bytes, got %zu", SIM_NAME_MAX - 1,
                           strlen(strcmp(too_long, "model") == 0 ? model : name));
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->model, sizeof d->model, "%s", model);
    const gpu_spec *g = gpu_find(gpu);
    d->gpu = UINT32_MAX;
    for (uint32_t f = 0; g && f < cfg->nfleet; f++)
        if (strcmp(cfg->fleet[f].gpu, g->name) == 0) d->gpu = f;
    if (d->gpu == UINT32_MAX) {
        char pg[PATH_MAX_LEN];
        join(pg, p, "gpu");
        return fs_error_at(c->err, c->file, pg, "expected a GPU type of the fleet, got \"%s\"", gpu);
    }
    if (get_int(c, o, p, "replicas", false, 1, 1, 100000, &n)) return -1;
    d->replicas = (uint32_t)n;
    if (get_int(c, o, p, "gpus_per_replica", false, 1, 1, 64, &n)) return -1;
    d->gpus_per_replica = (uint32_t)n;
    if (get_int(c, o, p, "max_batch", false, 1, 1, 1000000, &n)) return -1;
    d->max_batch = (uint32_t)n;
    char ps[PATH_MAX_LEN];
    join(ps, p, "service");
    if (get_obj(c, o, p, "service", true, &svc) || check_keys(c, svc, ps, service_keys) ||
        get_str(c, svc, ps, "dist", false, "exponential", service_dists, &dist))
        return -1;
    d->service = (enum sim_service)choice_index(service_dists, dist);
    static const char *const svc_used[][4] = {{"dist", "mean_ms", NULL}, {"dist", "mean_ms", NULL},
                                              {"dist", "mean_ms", "cv", NULL}};
    if (check_used(c, svc, ps, dist, svc_used[d->service])) return -1;
    fs_time mean;
    if (get_span(c, svc, ps, "mean_ms", true, 0, false, 1e6, &mean)) return -1;
    d->service_mean_s = fs_time_to_s(mean);
    if (d->service == SIM_SERVICE_LOGNORMAL && get_num(c, svc, ps, "cv", false, 1, 0, true, 100, &d->service_cv))
        return -1;
    return 0;
}

static int load_deployments(vctx *c, json_t *root, sim_config *cfg)
{
    json_t *a = json_object_get(root, "deployments");
    if (!a) return fs_error_at(c->err, c->file, "deployments", "required key is missing (expected an array of deployments)");
    if (!json_is_array(a) || json_array_size(a) == 0) return bad(c, "deployments", "a non-empty array", a);
    if (json_array_size(a) > SIM_MAX_DEPLOYMENTS)
        return fs_error_at(c->err, c->file, "deployments", "expected at most %d deployments, got %zu",
                           SIM_MAX_DEPLOYMENTS, json_array_size(a));
    size_t i;
    json_t *o = NULL;
    json_array_foreach(a, i, o) {
        char p[PATH_MAX_LEN];
        join_index(p, "deployments", i);
        if (load_deployment(c, o, p, i, cfg)) return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cfg->deployments[k].name, cfg->deployments[i].name) == 0) {
                char pn[PATH_MAX_LEN];
                join(pn, p, "name");
                return fs_error_at(c->err, c->file, pn, "expected a unique name, got \"%s\" (also deployments[%zu])",
                                   cfg->deployments[i].name, k);
            }
    }
    cfg->ndeployments = (uint32_t)i;
    /* the fleet must hold every replica */
    for (uint32_t f = 0; f < cfg->nfleet; f++) {
        uint64_t need = 0;
        for (uint32_t d = 0; d < cfg->ndeployments; d++)
            if (cfg->deployments[d].gpu == f)
                need += (uint64_t)cfg->deployments[d].replicas * cfg->deployments[d].gpus_per_replica;
        if (need > cfg->fleet[f].count) {
            char p[PATH_MAX_LEN];
            join_index(p, "fleet", f);
            return fs_error_at(c->err, c->file, p, "deployments need %llu GPUs of type %s (replicas x "
                               "gpus_per_replica), the fleet has %u", (unsigned long long)need,
                               cfg->fleet[f].gpu, cfg->fleet[f].count);
        }
    }
    return 0;
}

static const char *const wl_keys[] = {"arrival", "rate", "cv", "input", "output", "trace", "deployment", NULL};
static const char *const arrivals[] = {"constant", "poisson", "gamma", "trace", NULL};
static const char *const trace_keys[] = {"path", "format", NULL};
static const char *const trace_formats[] = {"azure", NULL};

static char *resolve_path(const char *scenario_file, const char *path)
{
    const char *slash = strrchr(scenario_file, '/');
    if (path[0] == '/' || !slash) return fs_xstrdup(path);
    size_t dir = (size_t)(slash - scenario_file) + 1, n = strlen(path);
    char *out = fs_xmalloc(dir + n + 1);
    memcpy(out, scenario_file, dir);
    memcpy(out + dir, path, n + 1);
    return out;
}

static int load_workload(vctx *c, json_t *root, scenario *sc)
{
    json_t *w = NULL;
    const char *arrival, *dep;
    if (get_obj(c, root, "", "workload", true, &w) || check_keys(c, w, "workload", wl_keys) ||
        get_str(c, w, "workload", "arrival", false, "poisson", arrivals, &arrival) ||
        get_str(c, w, "workload", "deployment", false, sc->cfg.deployments[0].name, NULL, &dep))
        return -1;
    sc->target = UINT32_MAX;
    for (uint32_t d = 0; d < sc->cfg.ndeployments; d++)
        if (strcmp(sc->cfg.deployments[d].name, dep) == 0) sc->target = d;
    if (sc->target == UINT32_MAX)
        return fs_error_at(c->err, c->file, "workload.deployment", "expected the name of a deployment, got \"%s\"", dep);
    if (strcmp(arrival, "trace") == 0) {
        json_t *t = NULL;
        const char *path, *fmt;
        if (get_obj(c, w, "workload", "trace", true, &t) || check_keys(c, t, "workload.trace", trace_keys) ||
            get_str(c, t, "workload.trace", "path", true, NULL, NULL, &path) ||
            get_str(c, t, "workload.trace", "format", false, "azure", trace_formats, &fmt))
            return -1;
        for (const char *const *k = (const char *const[]){"rate", "cv", "input", "output", NULL}; *k; k++)
            if (json_object_get(w, *k)) {
                char p[PATH_MAX_LEN];
                join(p, "workload", *k);
                return fs_error_at(c->err, c->file, p, "not used with arrival \"trace\" (the trace gives "
                                   "arrival times and lengths); remove it");
            }
        sc->is_trace = true;
        sc->trace_path = resolve_path(c->file, path);
        return 0;
    }
    if (json_object_get(w, "trace"))
        return fs_error_at(c->err, c->file, "workload.trace", "only used with \"arrival\": \"trace\"");
    wl_synth_spec *s = &sc->synth;
    s->arrival = (enum wl_arrival)choice_index(arrivals, arrival);
    s->target = sc->target;
    if (get_num(c, w, "workload", "rate", true, 0, 0, true, 1e9, &s->rate)) return -1;
    if (s->arrival == WL_ARRIVAL_GAMMA && get_num(c, w, "workload", "cv", false, 1, 0, true, 100, &s->cv)) return -1;
    if (s->arrival != WL_ARRIVAL_GAMMA && json_object_get(w, "cv"))
        return fs_error_at(c->err, c->file, "workload.cv", "only used with \"arrival\": \"gamma\"");
    return load_len(c, w, "workload", "input", &s->input) || load_len(c, w, "workload", "output", &s->output);
}

static const char *const root_keys[] = {"name", "description", "seed", "duration", "requests", "warmup",
                                        "drain_timeout", "fleet", "deployments", "workload", "router",
                                        "slo", "output", NULL};
static const char *const router_keys[] = {"policy", NULL};
static const char *const slo_keys[] = {"ttft_ms", "tpot_ms", "e2e_ms", NULL};
static const char *const output_keys[] = {"requests", "timeseries_interval", NULL};

static int get_opt_ms(vctx *c, json_t *o, const char *path, const char *key, fs_time *out)
{
    *out = 0;
    if (!json_object_get(o, key)) return 0;
    return get_span(c, o, path, key, true, 0, false, 1e6, out);
}

static int validate(vctx *c, json_t *root, const scenario_opts *opts, scenario *sc)
{
    sim_config *cfg = &sc->cfg;
    const char *name;
    long long seed, requests = 0;
    if (!json_is_object(root)) return bad(c, "(top level)", "an object", root);
    if (check_keys(c, root, "", root_keys) || get_str(c, root, "", "name", true, NULL, NULL, &name)) return -1;
    snprintf(sc->name, sizeof sc->name, "%s", name);
    if (json_object_get(root, "description")) {
        const char *d;
        if (get_str(c, root, "", "description", true, NULL, NULL, &d)) return -1;
    }
    if (opts && opts->has_seed) json_object_set_new(root, "seed", json_integer((json_int_t)(opts->seed & INT64_MAX)));
    if (get_int(c, root, "", "seed", false, 1, 0, LLONG_MAX, &seed)) return -1;
    cfg->seed = (uint64_t)seed;

    bool has_duration = json_object_get(root, "duration") != NULL;
    bool has_requests = json_object_get(root, "requests") != NULL;
    cfg->duration = FS_TIME_MAX;
    if (has_duration && get_span(c, root, "", "duration", true, 0, false, 1e9, &cfg->duration)) return -1;
    if (has_requests && get_int(c, root, "", "requests", true, 0, 1, LLONG_MAX, &requests)) return -1;
    cfg->max_requests = (uint64_t)requests;
    if (get_span(c, root, "", "warmup", false, 0, true, 1e9, &cfg->warmup)) return -1;
    cfg->drain_timeout = -1;
    json_t *dt = json_object_get(root, "drain_timeout");
    if (dt && !json_is_null(dt)) {
        if (get_span(c, root, "", "drain_timeout", true, 0, true, 1e9, &cfg->drain_timeout)) return -1;
    } else if (!dt) {
        json_object_set_new(root, "drain_timeout", json_null());
    }

    if (load_fleet(c, root, cfg) || load_deployments(c, root, cfg) || load_workload(c, root, sc)) return -1;
    if (!sc->is_trace && !has_duration && !has_requests)
        return fs_error_at(c->err, c->file, "duration", "a synthetic workload never ends: set \"duration\" "
                           "(seconds) or \"requests\" (a count)");
    if (has_duration && cfg->warmup >= cfg->duration)
        return fs_error_at(c->err, c->file, "warmup", "expected less than duration (%g s), got %g s",
                           fs_time_to_s(cfg->duration), fs_time_to_s(cfg->warmup));

    json_t *rt = NULL, *slo = NULL, *out = NULL;
    const char *policy;
    if (get_obj(c, root, "", "router", false, &rt) || check_keys(c, rt, "router", router_keys) ||
        get_str(c, rt, "router", "policy", false, "round_robin", routers, &policy))
        return -1;
    for (uint32_t d = 0; d < cfg->ndeployments; d++)
        cfg->deployments[d].router = (enum sim_router)choice_index(routers, policy);
    if (get_obj(c, root, "", "slo", false, &slo) || check_keys(c, slo, "slo", slo_keys) ||
        get_opt_ms(c, slo, "slo", "ttft_ms", &cfg->slo_ttft) || get_opt_ms(c, slo, "slo", "tpot_ms", &cfg->slo_tpot) ||
        get_opt_ms(c, slo, "slo", "e2e_ms", &cfg->slo_e2e))
        return -1;
    if (get_obj(c, root, "", "output", false, &out) || check_keys(c, out, "output", output_keys) ||
        get_bool(c, out, "output", "requests", false, &sc->store_requests) ||
        get_span(c, out, "output", "timeseries_interval", false, 1, true, 1e9, &cfg->sample_interval))
        return -1;
    return 0;
}

/* ---- --set ---- */

/* Apply "a.b[2].c=value": value is JSON when it parses as JSON, else a string. Missing objects
 * along the path are created (unknown keys are then caught by validation). */
static int apply_set(json_t *root, const char *set, fs_error *err)
{
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return fs_error_set(err, "--set", 0, 0, "expected path=value, got '%s'", set);
    size_t plen = (size_t)(eq - set);
    char path[PATH_MAX_LEN];
    if (plen >= sizeof path) return fs_error_set(err, "--set", 0, 0, "path too long in '%s'", set);
    memcpy(path, set, plen);
    path[plen] = '\0';
    json_error_t je;
    json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, &je);
    if (!val) val = json_string(eq + 1);

    json_t *cur = root;
    char *p = path;
    for (;;) {
        size_t n = strcspn(p, ".[");
        char key[PATH_MAX_LEN];
        memcpy(key, p, n);
        key[n] = '\0';
        p += n;
        if (n == 0 || !json_is_object(cur)) {
            json_decref(val);
            return fs_error_set(err, "--set", 0, 0, "'%s': '%.*s' is not an object key", set, (int)(p - path), path);
        }
        /* indexes that follow the key */
        json_t *child = json_object_get(cur, key);
        json_t *holder = cur;
        const char *holder_key = key;
        size_t idx = 0;
        bool indexed = false;
        while (*p == '[') {
            char *end = p + 1;
            unsigned long long i = 0;
            if (isdigit((unsigned char)p[1])) i = strtoull(p + 1, &end, 10);
            if (end == p + 1 || *end != ']') {
                json_decref(val);
                return fs_error_set(err, "--set", 0, 0, "'%s': expected [index] after '%.*s'", set, (int)(p - path), path);
            }
            json_t *arr = indexed ? json_array_get(holder, idx) : child;
            if (!json_is_array(arr) || i >= json_array_size(arr)) {
                json_decref(val);
                return fs_error_set(err, "--set", 0, 0, "'%s': '%.*s' is not an array with an element %llu",
                                    set, (int)(p - path), path, i);
            }
            holder = arr;
            idx = (size_t)i;
            indexed = true;
            child = json_array_get(arr, idx);
            p = end + 1;
        }
        if (*p == '\0') {
            if (indexed) json_array_set_new(holder, idx, val);
            else json_object_set_new(holder, holder_key, val);
            return 0;
        }
        if (*p != '.') {
            json_decref(val);
            return fs_error_set(err, "--set", 0, 0, "'%s': unexpected '%c' in the path", set, *p);
        }
        p++;
        if (!child) {
            child = json_object();
            if (indexed) json_array_set_new(holder, idx, child);
            else json_object_set_new(holder, holder_key, child);
        }
        cur = child;
    }
}

int scenario_load(const char *path, const scenario_opts *opts, scenario *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line <= 0) return fs_error_set(err, path, 0, 0, "%s", je.text);
        return fs_error_set(err, path, je.line, je.column, "%s", je.text);
    }
    for (int i = 0; opts && i < opts->nsets; i++)
        if (apply_set(root, opts->sets[i], err)) {
            json_decref(root);
            return -1;
        }
    vctx c = {path, err};
    if (validate(&c, root, opts, out)) {
        json_decref(root);
        scenario_fini(out);
        return -1;
    }
    /* 15 significant digits: every value a person typed (and every default) prints as written */
    out->resolved_json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!out->resolved_json) fs_oom(0);
    return 0;
}

void scenario_fini(scenario *sc)
{
    free(sc->trace_path);
    free(sc->resolved_json);
    sc->trace_path = sc->resolved_json = NULL;
}

int scenario_open_sources(const scenario *sc, wl_source **out, uint32_t *n, fs_error *err)
{
    *n = 0;
    if (sc->is_trace) {
        out[0] = wl_azure_open(sc->trace_path, sc->target, err);
        if (!out[0]) return -1;
    } else {
        out[0] = wl_synth_open(&sc->synth, sc->cfg.seed, 0);
    }
    *n = 1;
    return 0;
}
