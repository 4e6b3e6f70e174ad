/*
 * The scenario's workload: one source (the "workload" object itself) or several ("sources": [...],
 * merged by arrival time, e.g. one per tenant). A source is a trace ("arrival": "trace" with a
 * "trace" object) or synthetic (scenario_synth.c); every source may carry tags (deployment,
 * tenant, region, priority) and a request limit; a trace source also takes transforms (window,
 * sample, speedup or mean_rate, loop). The reference is scenarios/REFERENCE.md ("Workload").
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

static const char *const common_keys[] = {"arrival", "deployment", "tenant", "region", "priority", "limit",
                                          "trace",   "window",     "sample", "speedup", "mean_rate", "loop", NULL};
static const char *const trace_only[] = {"trace", "window", "sample", "speedup", "mean_rate", "loop", NULL};
static const char *const trace_keys[] = {"path",     "format",        "columns",     "model",
                                         "log_type", "keep_failed",   "skip_bad_rows", "sort_window", NULL};
static const char *const column_keys[] = {"arrival", "arrival_unit", "input",  "output", "model",
                                          "tenant",  "session",      "priority", "region", NULL};
static const char *const window_keys[] = {"start", "end", NULL};

char *scenario_resolve_path(const char *scenario_file, const char *path)
{
    const char *slash = strrchr(scenario_file, '/');
    if (path[0] == '/' || !slash) return fs_xstrdup(path);
    size_t dir = (size_t)(slash - scenario_file) + 1, n = strlen(path);
    char *out = fs_xmalloc(dir + n + 1);
    memcpy(out, scenario_file, dir);
    memcpy(out + dir, path, n + 1);
    return out;
}

/* ---- names in rows ---- */

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* A hash table over the names keeps this constant-time whatever their number. */
static uint32_t intern(void *ctx, int kind, const char *name, size_t len)
{
    scenario *sc = ctx;
    char ***v = kind == 0 ? &sc->tenants : &sc->regions;
    uint32_t *n = kind == 0 ? &sc->ntenants : &sc->nregions;
    uint32_t **slots = &sc->name_slots[kind], *cap = &sc->name_cap[kind];
    if (2 * (*n + 1) > *cap) { /* grow and rehash */
        uint32_t nc = *cap ? *cap * 2 : 64, *ns = fs_xcalloc(nc, sizeof *ns);
        for (uint32_t i = 0; i < *n; i++) {
            uint64_t j = name_hash((*v)[i], strlen((*v)[i])) & (nc - 1);
            while (ns[j]) j = (j + 1) & (nc - 1);
            ns[j] = i + 1;
        }
        free(*slots);
        *slots = ns;
        *cap = nc;
    }
    uint64_t j = name_hash(name, len) & (*cap - 1);
    for (; (*slots)[j]; j = (j + 1) & (*cap - 1)) {
        const char *s = (*v)[(*slots)[j] - 1];
        if (strlen(s) == len && memcmp(s, name, len) == 0) return (*slots)[j];
    }
    *v = fs_xrealloc(*v, (*n + 1) * sizeof **v);
    char *s = fs_xmalloc(len + 1);
    memcpy(s, name, len);
    s[len] = '\0';
    (*v)[(*n)++] = s;
    (*slots)[j] = *n;
    return *n;
}

uint32_t scenario_intern(scenario *sc, int kind, const char *name, size_t len) { return intern(sc, kind, name, len); }

/* A model column's value: the deployment of that name, else the one serving that model. */
static int model_target(void *ctx, const char *name, size_t len, uint32_t *target, char *why, size_t why_len)
{
    const scenario *sc = ctx;
    char buf[SIM_NAME_MAX + 1];
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    for (uint32_t d = 0; d < sc->cfg.ndeployments; d++)
        if (strcmp(sc->cfg.deployments[d].name, buf) == 0) {
            *target = d;
            return 0;
        }
    const model_spec *m = catalog_model(sc->cat, buf);
    for (uint32_t d = 0; m && d < sc->cfg.ndeployments; d++)
        if (strcmp(sc->cfg.deployments[d].model, m->name) == 0) {
            *target = d;
            return 0;
        }
    snprintf(why, why_len, "no deployment is named '%s' or serves that model", buf);
    return -1;
}

/* ---- one source ---- */

static int get_name(jv_ctx *c, json_t *o, const char *p, const char *key, scenario *sc, int kind, bool *set,
                    uint32_t *out)
{
    const char *s;
    *set = json_object_get(o, key) != NULL;
    if (!*set) return 0;
    if (jv_get_str(c, o, p, key, true, NULL, NULL, &s)) return -1;
    *out = intern(sc, kind, s, strlen(s));
    return 0;
}

static const char *owned_str(scenario *sc, const char *s)
{
    char *d = fs_xstrdup(s);
    scenario_own(sc, d);
    return d;
}

static int load_columns(jv_ctx *c, json_t *t, const char *p, wl_columns *out, scenario *sc)
{
    char pc[JV_PATH_MAX];
    json_t *o = NULL;
    jv_join(pc, p, "columns");
    if (jv_get_obj(c, t, p, "columns", true, &o) || jv_check_keys(c, o, pc, column_keys)) return -1;
    const char **slots[] = {&out->arrival, &out->input, &out->output, &out->model, &out->tenant,
                            &out->session, &out->priority, &out->region};
    static const char *const names[] = {"arrival", "input", "output", "model", "tenant", "session", "priority", "region"};
    for (int i = 0; i < 8; i++) {
        const char *s = NULL;
        if (i < 3 || json_object_get(o, names[i])) {
            if (jv_get_str(c, o, pc, names[i], true, NULL, NULL, &s)) return -1;
            *slots[i] = owned_str(sc, s);
        }
    }
    const char *unit;
    if (jv_get_str(c, o, pc, "arrival_unit", false, "s", wl_time_unit_names, &unit)) return -1;
    out->arrival_unit = (enum wl_time_unit)jv_choice_index(wl_time_unit_names, unit);
    return 0;
}

/* The "trace" object of a source into opts and path; or, for an empirical length distribution
 * (path_key "trace"), the trace that the distribution object names. */
static int load_trace(jv_ctx *c, json_t *o, const char *p, const char *path_key, const scenario_opts *opts,
                      wl_trace_opts *out, const char **path, scenario *sc)
{
    const char *file, *fmt, *formats[WL_FMT_COUNT + 1] = {NULL}; /* the readers' names, in enum order */
    for (int f = 0; f < WL_FMT_COUNT; f++) formats[f] = wl_format_name((enum wl_format)f);
    memset(out, 0, sizeof *out);
    if (jv_get_str(c, o, p, path_key, true, NULL, NULL, &file) ||
        jv_get_str(c, o, p, "format", false, "azure", formats, &fmt))
        return -1;
    out->format = (enum wl_format)jv_choice_index(formats, fmt);
    static const char *const used[][9] = {
        {"path", "format", "skip_bad_rows", "sort_window", NULL},
        {"path", "format", "model", "log_type", "keep_failed", "skip_bad_rows", "sort_window", NULL},
        {"path", "format", "skip_bad_rows", "sort_window", NULL},
        {"path", "format", "skip_bad_rows", "sort_window", NULL},
        {"path", "format", "columns", "skip_bad_rows", "sort_window", NULL},
        {"path", "format", "columns", "skip_bad_rows", "sort_window", NULL}};
    if (strcmp(path_key, "path") == 0 && jv_check_used(c, o, p, "format", fmt, used[out->format])) return -1;
    char *full = scenario_resolve_path(c->file, file);
    scenario_own(sc, full);
    *path = full;
    if (out->format == WL_FMT_CSV || out->format == WL_FMT_JSONL) {
        if (load_columns(c, o, p, &out->columns, sc)) return -1;
    }
    if (out->format == WL_FMT_BURSTGPT) {
        const char *s;
        if (json_object_get(o, "model")) {
            if (jv_get_str(c, o, p, "model", true, NULL, NULL, &s)) return -1;
            out->model = owned_str(sc, s);
        }
        if (json_object_get(o, "log_type")) {
            if (jv_get_str(c, o, p, "log_type", true, NULL, NULL, &s)) return -1;
            out->log_type = owned_str(sc, s);
        }
        if (jv_get_bool(c, o, p, "keep_failed", false, &out->keep_failed)) return -1;
    }
    if (jv_get_bool(c, o, p, "skip_bad_rows", false, &out->skip_bad_rows) ||
        jv_get_num(c, o, p, "sort_window", false, 0, 0, false, 1e9, &out->sort_window))
        return -1;
    if (opts && opts->skip_bad_rows) out->skip_bad_rows = true;
    if (opts && opts->sort_window > out->sort_window) out->sort_window = opts->sort_window;
    out->names = &sc->names;
    return 0;
}

static int load_transforms(jv_ctx *c, json_t *o, const char *p, wl_xform_spec *x)
{
    char pk[JV_PATH_MAX];
    long long loop;
    if (json_object_get(o, "window")) {
        json_t *w = NULL;
        jv_join(pk, p, "window");
        if (jv_get_obj(c, o, p, "window", true, &w) || jv_check_keys(c, w, pk, window_keys) ||
            jv_get_num(c, w, pk, "start", false, 0, 0, false, 1e9, &x->window_start))
            return -1;
        if (json_object_get(w, "end")) {
            if (jv_get_num(c, w, pk, "end", true, 0, 0, true, 1e9, &x->window_end)) return -1;
            if (x->window_end <= x->window_start) {
                char pe[JV_PATH_MAX];
                jv_join(pe, pk, "end");
                return fs_error_at(c->err, c->file, pe, "expected more than start (%g s), got %g s", x->window_start,
                                   x->window_end);
            }
        }
    }
    if (jv_get_num(c, o, p, "sample", false, 1, 0, true, 1, &x->sample) ||
        jv_get_int(c, o, p, "loop", false, 1, 1, 1 << 30, &loop))
        return -1;
    x->loop = (uint32_t)loop;
    if (json_object_get(o, "speedup") && json_object_get(o, "mean_rate")) {
        jv_join(pk, p, "mean_rate");
        return fs_error_at(c->err, c->file, pk, "give speedup or mean_rate, not both: both set the time scale");
    }
    if (json_object_get(o, "mean_rate")) return jv_get_num(c, o, p, "mean_rate", true, 0, 0, true, 1e9, &x->mean_rate);
    return jv_get_num(c, o, p, "speedup", false, 1, 0, true, 1e9, &x->speedup);
}

static int load_source(jv_ctx *c, json_t *o, const char *p, const scenario_opts *opts, scenario_source *src,
                       scenario *sc)
{
    static const char *all_keys[64];
    if (!all_keys[0]) { /* the union of the common and the synthetic keys */
        size_t n = 0;
        for (const char *const *k = common_keys; *k; k++) all_keys[n++] = *k;
        for (const char *const *k = scenario_synth_keys; *k; k++) {
            FS_ASSERT(n < sizeof all_keys / sizeof *all_keys - 1);
            all_keys[n++] = *k;
        }
    }
    if (!json_is_object(o)) return jv_bad(c, p, "an object", o);
    const char *arrival, *dep;
    bool named = json_object_get(o, "deployment") != NULL; /* else rows may name theirs (model column) */
    if (jv_check_keys(c, o, p, all_keys) ||
        jv_get_str(c, o, p, "arrival", false, "poisson", NULL, &arrival) ||
        jv_get_str(c, o, p, "deployment", false, sc->cfg.deployments[0].name, NULL, &dep))
        return -1;
    char pk[JV_PATH_MAX];
    wl_xform_spec *x = &src->xf;
    x->set_target = named;
    x->target = UINT32_MAX;
    for (uint32_t d = 0; d < sc->cfg.ndeployments; d++)
        if (strcmp(sc->cfg.deployments[d].name, dep) == 0) x->target = d;
    if (x->target == UINT32_MAX) {
        jv_join(pk, p, "deployment");
        return fs_error_at(c->err, c->file, pk, "expected the name of a deployment, got \"%s\"", dep);
    }
    long long limit = 0, prio = 0;
    if (get_name(c, o, p, "tenant", sc, 0, &x->set_tenant, &x->tenant) ||
        get_name(c, o, p, "region", sc, 1, &x->set_region, &x->region) ||
        jv_get_int(c, o, p, "limit", false, 0, 0, LLONG_MAX, &limit))
        return -1;
    x->limit = (uint64_t)limit;
    if ((x->set_priority = json_object_get(o, "priority") != NULL)) {
        if (jv_get_int(c, o, p, "priority", true, 0, -1000000, 1000000, &prio)) return -1;
        x->priority = (int32_t)prio;
    }
    if (strcmp(arrival, "trace") == 0) {
        src->is_trace = true;
        json_t *t = NULL;
        jv_join(pk, p, "trace");
        for (const char *const *k = scenario_synth_keys; *k; k++)
            if (json_object_get(o, *k)) {
                jv_join(pk, p, *k);
                return fs_error_at(c->err, c->file, pk, "not used with arrival \"trace\" (the trace gives "
                                   "arrival times and lengths); remove it");
            }
        jv_join(pk, p, "trace");
        return jv_get_obj(c, o, p, "trace", true, &t) || jv_check_keys(c, t, pk, trace_keys) ||
                       load_trace(c, t, pk, "path", opts, &src->trace, &src->trace_path, sc) ||
                       load_transforms(c, o, p, x)
                   ? -1
                   : (src->trace.target = x->target, 0);
    }
    for (const char *const *k = trace_only; *k; k++)
        if (json_object_get(o, *k)) {
            jv_join(pk, p, *k);
            return fs_error_at(c->err, c->file, pk, "only used with \"arrival\": \"trace\"");
        }
    bool known = false;
    for (const char *const *a = scenario_synth_arrivals; *a; a++) known |= strcmp(*a, arrival) == 0;
    if (!known) {
        char list[256] = "\"trace\"";
        for (const char *const *a = scenario_synth_arrivals; *a; a++)
            snprintf(list + strlen(list), sizeof list - strlen(list), ", \"%s\"", *a);
        jv_join(pk, p, "arrival");
        return fs_error_at(c->err, c->file, pk, "expected one of %s, got \"%s\"", list, arrival);
    }
    if (scenario_load_synth(c, o, p, arrival, &src->synth, sc)) return -1;
    src->synth.target = x->target;
    return 0;
}

int scenario_load_workload(jv_ctx *c, json_t *root, const scenario_opts *opts, scenario *sc)
{
    json_t *w = NULL;
    sc->names = (wl_names){sc, model_target, intern};
    if (jv_get_obj(c, root, "", "workload", true, &w)) return -1;
    json_t *list = json_object_get(w, "sources");
    if (!list) {
        sc->sources = fs_xcalloc(1, sizeof *sc->sources);
        sc->nsources = 1;
        return load_source(c, w, "workload", opts, &sc->sources[0], sc);
    }
    if (json_object_size(w) != 1) {
        const char *key;
        json_t *v;
        json_object_foreach(w, key, v) {
            if (strcmp(key, "sources") == 0) continue;
            char pk[JV_PATH_MAX];
            jv_join(pk, "workload", key);
            return fs_error_at(c->err, c->file, pk, "with \"sources\", every key belongs to a source: move it into "
                               "one");
        }
    }
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 4096)
        return jv_bad(c, "workload.sources", "an array of 1 to 4096 sources", list);
    sc->nsources = (uint32_t)json_array_size(list);
    sc->sources = fs_xcalloc(sc->nsources, sizeof *sc->sources);
    for (uint32_t i = 0; i < sc->nsources; i++) {
        char p[JV_PATH_MAX];
        jv_join_index(p, "workload.sources", i);
        if (load_source(c, json_array_get(list, i), p, opts, &sc->sources[i], sc)) return -1;
    }
    return 0;
}

bool scenario_never_ends(const scenario *sc)
{
    for (uint32_t i = 0; i < sc->nsources; i++)
        if (!sc->sources[i].is_trace && sc->sources[i].xf.limit == 0) return true;
    return false;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int scenario_trace_lengths(jv_ctx *c, json_t *o, const char *p, bool input, scenario *sc, const int32_t **values,
                           const double **counts, size_t *n)
{
    wl_trace_opts opts;
    const char *path;
    if (load_trace(c, o, p, "trace", NULL, &opts, &path, sc)) return -1;
    opts.unordered = true; /* only lengths are wanted */
    wl_source *src = wl_trace_open(path, &opts, c->err);
    if (!src) return -1;
    int32_t *v = NULL;
    size_t k = 0, cap = 0;
    wl_request r;
    int rc;
    while ((rc = wl_next(src, &r, c->err)) == 1) {
        v = fs_xgrow(v, &cap, k + 1, sizeof *v);
        v[k++] = input ? r.input_tokens : r.output_tokens;
    }
    wl_free(src);
    if (rc < 0 || k == 0) {
        free(v);
        if (rc < 0) return -1;
        char pt[JV_PATH_MAX];
        jv_join(pt, p, "trace");
        return fs_error_at(c->err, c->file, pt, "the trace has no requests to take lengths from");
    }
    /* kept as a histogram: each distinct length once, with its count */
    qsort(v, k, sizeof *v, cmp_i32);
    double *w = fs_xmalloc(k * sizeof *w);
    size_t d = 0;
    for (size_t i = 0; i < k; i++) {
        if (d > 0 && v[d - 1] == v[i]) {
            w[d - 1] += 1;
        } else {
            v[d] = v[i];
            w[d++] = 1;
        }
    }
    v = fs_xrealloc(v, d * sizeof *v);
    w = fs_xrealloc(w, d * sizeof *w);
    scenario_own(sc, v);
    scenario_own(sc, w);
    *values = v;
    *counts = w;
    *n = d;
    return 0;
}

int scenario_open_sources(scenario *sc, wl_source **out, fs_error *err)
{
    for (uint32_t i = 0; i < sc->nsources; i++) {
        const scenario_source *s = &sc->sources[i];
        wl_source *src = s->is_trace ? wl_trace_open(s->trace_path, &s->trace, err)
                                     : wl_synth_open(&s->synth, sc->cfg.seed, i);
        if (src) src = wl_xform_open(src, &s->xf, sc->cfg.seed, i, err);
        if (!src) {
            for (uint32_t k = 0; k < i; k++) wl_free(out[k]);
            return -1;
        }
        out[i] = src;
    }
    return 0;
}
