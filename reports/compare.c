/* Comparison of two sets of stored runs: loading sides, pairing cases and metrics, thresholds,
 * replication statistics and verdicts, and the three printed forms. See compare.h. */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <sqlite3.h>

#include "readfile.h"

/* ---- a side: runs with their metrics, grouped into cases ---- */

typedef struct cmetric {
    char *name, *stat, *unit;
    double value; /* NaN for NULL */
} cmetric;

typedef struct crun {
    int64_t id;
    char *name;
    char *status;
    uint64_t seed;
    bool has_point;
    char *sweep;
    int64_t point, seed_index;
    char *params;     /* canonical JSON of the point's params, or NULL */
    cmetric *m;       /* in stored order */
    size_t nm, mcap;
    cmetric **by_key; /* sorted by (name, stat) for lookups */
} crun;

typedef struct ccase {
    char *name;
    char *params;
    size_t *runs; /* indices into side->runs, by increasing id */
    size_t nruns, cap;
    int64_t first_id, last_id;
} ccase;

struct compare_side {
    char *spec;
    crun *runs;
    size_t nruns, cap;
    ccase *cases;
    size_t ncases;
};

static void run_fini(crun *r)
{
    for (size_t i = 0; i < r->nm; i++) {
        free(r->m[i].name);
        free(r->m[i].stat);
        free(r->m[i].unit);
    }
    free(r->m);
    free(r->by_key);
    free(r->name);
    free(r->status);
    free(r->sweep);
    free(r->params);
}

void compare_side_free(compare_side *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nruns; i++) run_fini(&s->runs[i]);
    for (size_t i = 0; i < s->ncases; i++) {
        free(s->cases[i].name);
        free(s->cases[i].params);
        free(s->cases[i].runs);
    }
    free(s->runs);
    free(s->cases);
    free(s->spec);
    free(s);
}

size_t compare_side_run_count(const compare_side *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ncases; i++) n += s->cases[i].nruns;
    return n;
}

size_t compare_side_case_count(const compare_side *s) { return s->ncases; }

static crun *add_run(compare_side *s)
{
    s->runs = fs_xgrow(s->runs, &s->cap, s->nruns + 1, sizeof *s->runs);
    crun *r = &s->runs[s->nruns++];
    memset(r, 0, sizeof *r);
    return r;
}

static void add_metric(crun *r, const char *name, const char *stat, double value, const char *unit)
{
    r->m = fs_xgrow(r->m, &r->mcap, r->nm + 1, sizeof *r->m);
    cmetric *m = &r->m[r->nm++];
    m->name = fs_xstrdup(name);
    m->stat = fs_xstrdup(stat);
    m->unit = fs_xstrdup(unit ? unit : "");
    m->value = value;
}

static int cmp_metric_ptr(const void *a, const void *b)
{
    const cmetric *x = *(const cmetric *const *)a, *y = *(const cmetric *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->stat, y->stat);
}

static void index_run(crun *r)
{
    r->by_key = fs_xmalloc((r->nm ? r->nm : 1) * sizeof *r->by_key);
    for (size_t i = 0; i < r->nm; i++) r->by_key[i] = &r->m[i];
    qsort(r->by_key, r->nm, sizeof *r->by_key, cmp_metric_ptr);
}

static const cmetric *run_find(const crun *r, const char *name, const char *stat)
{
    cmetric key = {(char *)name, (char *)stat, NULL, 0};
    const cmetric *kp = &key;
    const cmetric *const *hit = bsearch(&kp, r->by_key, r->nm, sizeof *r->by_key, cmp_metric_ptr);
    return hit ? *hit : NULL;
}

static int cmp_run_id(const void *a, const void *b)
{
    const crun *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Canonical JSON of a params value: compact, keys sorted, so two sweeps' points compare equal.
 * No parameters ({}: a sweep of the scenario as it is) is NULL, as for a run outside a sweep, so
 * the two pair up. */
static char *canonical_params(const json_t *v)
{
    if (json_is_object(v) && json_object_size(v) == 0) return NULL;
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s) fs_oom(0);
    char *out = fs_xstrdup(s);
    free(s);
    return out;
}

static char *canonical_params_text(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) return fs_xstrdup(text);
    char *out = canonical_params(v);
    json_decref(v);
    return out;
}

/*
 * Selection and grouping. The ok runs (sorted by id) are grouped: the replications of one sweep
 * point (same sweep, same point) form one group, any other run a group of its own. `select` keeps
 * the group of the last ok run ("last"), of one run (an id) or, for "all", per case key (name +
 * params) the group whose newest run is newest.
 */
static int group_runs(compare_side *s, const char *source, const char *select, fs_error *err)
{
    qsort(s->runs, s->nruns, sizeof *s->runs, cmp_run_id);
    for (size_t i = 1; i < s->nruns; i++)
        if (s->runs[i].id == s->runs[i - 1].id)
            return fs_error_set(err, source, 0, 0, "run id %lld appears twice", (long long)s->runs[i].id);

    size_t nok = 0;
    for (size_t i = 0; i < s->nruns; i++) nok += strcmp(s->runs[i].status, "ok") == 0;
    if (nok == 0) return fs_error_set(err, source, 0, 0, "no ok run to compare (%zu runs, none with status ok)", s->nruns);

    /* groups, in order of their first run */
    size_t *group_of = fs_xmalloc(s->nruns * sizeof *group_of);
    ccase *g = fs_xcalloc(s->nruns, sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < s->nruns; i++) {
        crun *r = &s->runs[i];
        group_of[i] = SIZE_MAX;
        if (strcmp(r->status, "ok") != 0) continue;
        size_t k = ng;
        if (r->has_point)
            for (k = 0; k < ng; k++) {
                const crun *f = &s->runs[g[k].runs[0]];
                if (f->has_point && f->point == r->point && strcmp(f->sweep, r->sweep) == 0) break;
            }
        if (k == ng) {
            g[ng].name = fs_xstrdup(r->name);
            g[ng].params = r->params ? fs_xstrdup(r->params) : NULL;
            g[ng].first_id = r->id;
            ng++;
        }
        g[k].runs = fs_xgrow(g[k].runs, &g[k].cap, g[k].nruns + 1, sizeof *g[k].runs);
        g[k].runs[g[k].nruns++] = i;
        g[k].last_id = r->id;
        group_of[i] = k;
    }

    bool *keep = fs_xcalloc(ng, sizeof *keep);
    int rc = 0;
    if (!select || strcmp(select, "all") == 0) {
        for (size_t k = 0; k < ng; k++) {
            keep[k] = true;
            for (size_t j = 0; j < ng; j++) {
                if (j == k || strcmp(g[j].name, g[k].name) != 0) continue;
                bool same = (!g[j].params && !g[k].params) ||
                            (g[j].params && g[k].params && strcmp(g[j].params, g[k].params) == 0);
                if (same && g[j].last_id > g[k].last_id) keep[k] = false;
            }
        }
    } else {
        size_t anchor = SIZE_MAX;
        if (strcmp(select, "last") == 0) {
            for (size_t i = s->nruns; i-- > 0;)
                if (group_of[i] != SIZE_MAX) {
                    anchor = i;
                    break;
                }
        } else {
            char *end;
            errno = 0;
            long long id = strtoll(select, &end, 10);
            if (!isdigit((unsigned char)select[0]) || *end || errno) {
                rc = fs_error_set(err, source, 0, 0, "expected a run id, 'last' or 'all' after ':', got '%s'", select);
                goto done;
            }
            for (size_t i = 0; i < s->nruns; i++) {
                if (s->runs[i].id != id) continue;
                if (group_of[i] == SIZE_MAX) {
                    rc = fs_error_set(err, source, 0, 0, "run %lld has status '%s', not ok: nothing to compare", id,
                                      s->runs[i].status);
                    goto done;
                }
                anchor = i;
            }
            if (anchor == SIZE_MAX) {
                rc = fs_error_set(err, source, 0, 0, "no run with id %lld (its run ids go from %lld to %lld)", id,
                                  (long long)s->runs[0].id, (long long)s->runs[s->nruns - 1].id);
                goto done;
            }
        }
        keep[group_of[anchor]] = true;
    }
    s->cases = fs_xcalloc(ng, sizeof *s->cases);
    for (size_t k = 0; k < ng; k++) {
        if (keep[k]) {
            s->cases[s->ncases++] = g[k];
            memset(&g[k], 0, sizeof g[k]);
        }
    }
done:
    for (size_t k = 0; k < ng; k++) {
        free(g[k].name);
        free(g[k].params);
        free(g[k].runs);
    }
    free(g);
    free(keep);
    free(group_of);
    return rc;
}

/* ---- the results database ---- */

static int db_fail(sqlite3 *db, const char *path, fs_error *err, const char *what)
{
    return fs_error_set(err, path, 0, 0, "%s: %s", what, sqlite3_errmsg(db));
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int load_db(compare_side *s, const char *path, const char *select, fs_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fs_error_set(err, path, 0, 0, "cannot open results database: %s", db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    bool has_runs = false, has_metrics = false, has_points = false;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, NULL) != SQLITE_OK) {
        db_fail(db, path, err, "not a results database");
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = col_text(st, 0);
        has_runs |= strcmp(t, "runs") == 0;
        has_metrics |= strcmp(t, "metrics") == 0;
        has_points |= strcmp(t, "points") == 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!has_runs || !has_metrics) {
        fs_error_set(err, path, 0, 0, "not a results database: expected tables runs and metrics, found %s",
                     has_runs ? "runs only" : has_metrics ? "metrics only" : "neither");
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT id, name, seed, status FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        db_fail(db, path, err, "cannot read runs");
        goto out;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        crun *r = add_run(s);
        r->id = sqlite3_column_int64(st, 0);
        r->name = fs_xstrdup(col_text(st, 1));
        r->seed = (uint64_t)sqlite3_column_int64(st, 2);
        r->status = fs_xstrdup(col_text(st, 3));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (step != SQLITE_DONE) {
        db_fail(db, path, err, "cannot read runs");
        goto out;
    }
    if (s->nruns == 0) {
        fs_error_set(err, path, 0, 0, "no runs stored: nothing to compare");
        goto out;
    }
    if (has_points) {
        if (sqlite3_prepare_v2(db, "SELECT run_id, sweep, point, seed_index, params FROM points", -1, &st, NULL) !=
            SQLITE_OK) {
            db_fail(db, path, err, "cannot read points");
            goto out;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            crun key = {.id = sqlite3_column_int64(st, 0)};
            crun *r = bsearch(&key, s->runs, s->nruns, sizeof *s->runs, cmp_run_id);
            if (!r || r->has_point) continue;
            r->has_point = true;
            r->sweep = fs_xstrdup(col_text(st, 1));
            r->point = sqlite3_column_int64(st, 2);
            r->seed_index = sqlite3_column_int64(st, 3);
            r->params = canonical_params_text(col_text(st, 4));
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (group_runs(s, path, select, err)) goto out;

    if (sqlite3_prepare_v2(db, "SELECT name, stat, value, unit FROM metrics WHERE run_id = ? ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK) {
        db_fail(db, path, err, "cannot read metrics");
        goto out;
    }
    for (size_t c = 0; c < s->ncases; c++)
        for (size_t k = 0; k < s->cases[c].nruns; k++) {
            crun *r = &s->runs[s->cases[c].runs[k]];
            sqlite3_bind_int64(st, 1, r->id);
            while ((step = sqlite3_step(st)) == SQLITE_ROW)
                add_metric(r, col_text(st, 0), col_text(st, 1),
                           sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2),
                           col_text(st, 3));
            sqlite3_reset(st);
            if (step != SQLITE_DONE) {
                db_fail(db, path, err, "cannot read metrics");
                goto out;
            }
        }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* ---- an export ---- */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static int bad(fs_error *err, const char *source, const char *path, const char *want, const json_t *got)
{
    return fs_error_at(err, source, path, "expected %s, got %s", want, got ? json_kind(got) : "nothing (missing)");
}

static int parse_export_run(compare_side *s, const json_t *jr, size_t i, const char *src, fs_error *err)
{
    char p[96];
    snprintf(p, sizeof p, "runs[%zu]", i);
    if (!json_is_object(jr)) return bad(err, src, p, "an object", jr);
    const json_t *id = json_object_get(jr, "id"), *name = json_object_get(jr, "name"),
                 *seed = json_object_get(jr, "seed"), *status = json_object_get(jr, "status"),
                 *metrics = json_object_get(jr, "metrics"), *point = json_object_get(jr, "point");
    snprintf(p, sizeof p, "runs[%zu].id", i);
    if (!json_is_integer(id)) return bad(err, src, p, "an integer (the run id)", id);
    snprintf(p, sizeof p, "runs[%zu].name", i);
    if (!json_is_string(name)) return bad(err, src, p, "a string", name);
    snprintf(p, sizeof p, "runs[%zu].seed", i);
    if (seed && !json_is_integer(seed) && !json_is_null(seed)) return bad(err, src, p, "an integer", seed);
    snprintf(p, sizeof p, "runs[%zu].status", i);
    if (status && !json_is_string(status)) return bad(err, src, p, "a string", status);
    snprintf(p, sizeof p, "runs[%zu].metrics", i);
    if (!json_is_array(metrics)) return bad(err, src, p, "an array of {\"name\", \"stat\", \"value\", \"unit\"}", metrics);

    crun *r = add_run(s);
    r->id = json_integer_value(id);
    r->name = fs_xstrdup(json_string_value(name));
    r->seed = json_is_integer(seed) ? (uint64_t)json_integer_value(seed) : 0;
    r->status = fs_xstrdup(status ? json_string_value(status) : "ok");
    if (point && !json_is_null(point)) {
        const json_t *sw = json_object_get(point, "sweep"), *pt = json_object_get(point, "point"),
                     *si = json_object_get(point, "seed_index"), *params = json_object_get(point, "params");
        snprintf(p, sizeof p, "runs[%zu].point", i);
        if (!json_is_object(point)) return bad(err, src, p, "null or an object {\"sweep\", \"point\", ...}", point);
        snprintf(p, sizeof p, "runs[%zu].point.sweep", i);
        if (!json_is_string(sw)) return bad(err, src, p, "a string", sw);
        snprintf(p, sizeof p, "runs[%zu].point.point", i);
        if (!json_is_integer(pt)) return bad(err, src, p, "an integer", pt);
        snprintf(p, sizeof p, "runs[%zu].point.seed_index", i);
        if (si && !json_is_integer(si)) return bad(err, src, p, "an integer", si);
        r->has_point = true;
        r->sweep = fs_xstrdup(json_string_value(sw));
        r->point = json_integer_value(pt);
        r->seed_index = si ? json_integer_value(si) : 0;
        if (json_is_string(params)) r->params = canonical_params_text(json_string_value(params));
        else if (params && !json_is_null(params)) r->params = canonical_params(params);
    }
    size_t k;
    const json_t *m;
    json_array_foreach(metrics, k, m) {
        snprintf(p, sizeof p, "runs[%zu].metrics[%zu]", i, k);
        if (!json_is_object(m)) return bad(err, src, p, "an object {\"name\", \"stat\", \"value\", \"unit\"}", m);
        const json_t *mn = json_object_get(m, "name"), *ms = json_object_get(m, "stat"),
                     *mv = json_object_get(m, "value"), *mu = json_object_get(m, "unit");
        snprintf(p, sizeof p, "runs[%zu].metrics[%zu].name", i, k);
        if (!json_is_string(mn)) return bad(err, src, p, "a string", mn);
        snprintf(p, sizeof p, "runs[%zu].metrics[%zu].stat", i, k);
        if (!json_is_string(ms)) return bad(err, src, p, "a string", ms);
        snprintf(p, sizeof p, "runs[%zu].metrics[%zu].value", i, k);
        if (!json_is_number(mv) && !json_is_null(mv)) return bad(err, src, p, "a number or null", mv);
        snprintf(p, sizeof p, "runs[%zu].metrics[%zu].unit", i, k);
        if (mu && !json_is_string(mu) && !json_is_null(mu)) return bad(err, src, p, "a string", mu);
        add_metric(r, json_string_value(mn), json_string_value(ms), json_is_number(mv) ? json_number_value(mv) : NAN,
                   json_is_string(mu) ? json_string_value(mu) : "");
    }
    return 0;
}

static int load_json(compare_side *s, const char *text, size_t len, const char *src, const char *select, fs_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root) return fs_error_set(err, src, je.line, je.column, "invalid JSON: %s", je.text);
    int rc = 0;
    const json_t *runs = json_object_get(root, "runs");
    if (!json_is_object(root) || !json_is_array(runs)) {
        rc = fs_error_set(err, src, 0, 0, "expected an export, {\"runs\": [...]} (fleetsim export --format json), got %s%s",
                          json_kind(root), json_is_object(root) ? " without a \"runs\" array" : "");
    } else if (json_array_size(runs) == 0) {
        rc = fs_error_set(err, src, 0, 0, "no runs in the export: nothing to compare");
    } else {
        size_t i;
        const json_t *jr;
        json_array_foreach(runs, i, jr) if ((rc = parse_export_run(s, jr, i, src, err))) break;
    }
    json_decref(root);
    if (rc) return rc;
    return group_runs(s, src, select, err);
}

static void index_side(compare_side *s)
{
    for (size_t i = 0; i < s->nruns; i++) index_run(&s->runs[i]);
}

compare_side *compare_side_from_json(const char *text, const char *source, const char *select, fs_error *err)
{
    compare_side *s = fs_xcalloc(1, sizeof *s);
    s->spec = fs_xstrdup(source);
    if (load_json(s, text, strlen(text), source, select, err)) {
        compare_side_free(s);
        return NULL;
    }
    index_side(s);
    return s;
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

compare_side *compare_side_load(const char *spec, fs_error *err)
{
    char *path = fs_xstrdup(spec);
    const char *select = NULL;
    if (!is_file(path)) {
        char *colon = strrchr(path, ':');
        if (colon && colon != path) {
            *colon = '\0';
            if (is_file(path)) select = colon + 1;
            else *colon = ':';
        }
    }
    compare_side *s = NULL;
    size_t len;
    char *buf;
    if (fs_read_file(path, &buf, &len, err)) goto out;
    s = fs_xcalloc(1, sizeof *s);
    s->spec = fs_xstrdup(spec);
    size_t skip = 0;
    while (skip < len && isspace((unsigned char)buf[skip])) skip++;
    int rc;
    if (len >= 16 && memcmp(buf, "SQLite format 3", 16) == 0) {
        rc = load_db(s, path, select ? select : "last", err);
    } else if (skip < len && (buf[skip] == '{' || buf[skip] == '[')) {
        rc = load_json(s, buf, len, path, select, err);
    } else {
        rc = fs_error_set(err, path, 0, 0, "expected a results database (SQLite) or an export (JSON, from fleetsim "
                          "export --format json), got %s", len == 0 ? "an empty file" : "neither");
    }
    free(buf);
    if (rc) {
        compare_side_free(s);
        s = NULL;
    } else {
        index_side(s);
    }
out:
    free(path);
    return s;
}

/* ---- thresholds ---- */

static const char *const default_thresholds[] = {
    "median_ttft_ms:+10%", "p99_ttft_ms:+10%",   "median_tpot_ms:+10%",  "p99_tpot_ms:+10%",
    "median_e2el_ms:+10%", "p99_e2el_ms:+10%",   "request_goodput:-5%",  "request_throughput:-5%",
    "output_throughput:-5%", "slo_attainment:-1pt", "cost_per_1k_requests:+5%", "cost_per_1m_input_tokens:+5%",
    "cost_per_1m_output_tokens:+5%", "energy_per_token:+10%", NULL};

const char *const *compare_default_thresholds(void) { return default_thresholds; }

static const char threshold_help[] = "expected METRIC:+N%, METRIC:-N%, METRIC:+Npt, METRIC:+N<unit> or METRIC:off "
                                     "(e.g. p99_ttft_ms:+10%, request_goodput:-5%, slo_attainment:-1pt)";

int compare_threshold_parse(const char *s, compare_threshold *t, fs_error *err)
{
    memset(t, 0, sizeof *t);
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return fs_error_set(err, "", 0, 0, "threshold '%s': %s", s, threshold_help);
    size_t mlen = (size_t)(colon - s);
    if (mlen >= sizeof t->metric || strlen(colon + 1) >= sizeof t->text)
        return fs_error_set(err, "", 0, 0, "threshold '%s': too long", s);
    /* p50 is what the stores call median */
    if (mlen > 4 && strncmp(s, "p50_", 4) == 0) snprintf(t->metric, sizeof t->metric, "median_%.*s", (int)mlen - 4, s + 4);
    else snprintf(t->metric, sizeof t->metric, "%.*s", (int)mlen, s);
    char *c2 = strchr(t->metric, ':');
    if (c2 && strcmp(c2 + 1, "p50") == 0) {
        if (strlen(t->metric) + 3 >= sizeof t->metric) return fs_error_set(err, "", 0, 0, "threshold '%s': too long", s);
        strcpy(c2 + 1, "median");
    }
    if (c2 && (c2 == t->metric || !c2[1]))
        return fs_error_set(err, "", 0, 0, "threshold '%s': expected NAME:STAT before the change, got '%s'", s, t->metric);
    for (const char *p = t->metric; *p; p++)
        if (isspace((unsigned char)*p))
            return fs_error_set(err, "", 0, 0, "threshold '%s': a metric name has no spaces", s);
    const char *ch = colon + 1;
    snprintf(t->text, sizeof t->text, "%s", ch);
    if (strcmp(ch, "off") == 0) {
        t->kind = COMPARE_OFF;
        return 0;
    }
    if (ch[0] != '+' && ch[0] != '-')
        return fs_error_set(err, "", 0, 0, "threshold '%s': expected a sign before the amount (+N fails a rise of "
                            "more than N, -N a fall), got '%s'", s, ch);
    t->dir = ch[0] == '+' ? 1 : -1;
    const char *num = ch + 1;
    if (!isdigit((unsigned char)num[0]) && !(num[0] == '.' && isdigit((unsigned char)num[1])))
        return fs_error_set(err, "", 0, 0, "threshold '%s': %s", s, threshold_help);
    char *end;
    errno = 0;
    t->amount = strtod(num, &end);
    if (errno || !isfinite(t->amount))
        return fs_error_set(err, "", 0, 0, "threshold '%s': expected a finite amount, got '%s'", s, num);
    if (strcmp(end, "%") == 0) {
        t->kind = COMPARE_RELATIVE;
        return 0;
    }
    t->kind = COMPARE_ABSOLUTE;
    const char *unit = end;
    if (strcmp(unit, "pp") == 0 || strcmp(unit, "points") == 0 || strcmp(unit, "point") == 0) unit = "pt";
    if (strlen(unit) >= sizeof t->unit) return fs_error_set(err, "", 0, 0, "threshold '%s': unknown unit '%s'", s, unit);
    for (const char *p = unit; *p; p++)
        if (isspace((unsigned char)*p) || *p == '%' || *p == '+' || *p == '-' || *p == ':')
            return fs_error_set(err, "", 0, 0, "threshold '%s': %s", s, threshold_help);
    snprintf(t->unit, sizeof t->unit, "%s", unit);
    return 0;
}

static bool distribution_stat(const char *stat)
{
    if (stat[0] == 'p' && isdigit((unsigned char)stat[1])) return true;
    static const char *const names[] = {"mean", "median", "std", "min", "max", "count", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, stat) == 0) return true;
    return false;
}

/* The flat key `fleetsim run --json` writes: name; stat_name_unit; name_stat. */
static char *flat_key(const char *name, const char *stat, const char *unit)
{
    size_t n = strlen(name) + strlen(stat) + strlen(unit) + 3;
    char *k = fs_xmalloc(n);
    if (strcmp(stat, "value") == 0) snprintf(k, n, "%s", name);
    else if (distribution_stat(stat)) snprintf(k, n, unit[0] ? "%s_%s_%s" : "%s_%s", stat, name, unit);
    else snprintf(k, n, "%s_%s", name, stat);
    return k;
}

static bool threshold_matches(const compare_threshold *t, const char *name, const char *stat, const char *unit)
{
    const char *c = strchr(t->metric, ':');
    if (c) {
        size_t n = (size_t)(c - t->metric);
        return strncmp(t->metric, name, n) == 0 && name[n] == '\0' && strcmp(c + 1, stat) == 0;
    }
    char *k = flat_key(name, stat, unit);
    bool hit = strcmp(k, t->metric) == 0;
    free(k);
    if (!hit && distribution_stat(stat) && unit[0]) { /* the unit left out: p99_ttft */
        k = flat_key(name, stat, "");
        hit = strcmp(k, t->metric) == 0;
        free(k);
    }
    return hit;
}

static double time_unit_s(const char *u)
{
    if (strcmp(u, "ns") == 0) return 1e-9;
    if (strcmp(u, "us") == 0) return 1e-6;
    if (strcmp(u, "ms") == 0) return 1e-3;
    if (strcmp(u, "s") == 0) return 1;
    return 0;
}

/* The threshold's amount in the metric's unit (absolute), or -1 with err filled. */
static int absolute_limit(const compare_threshold *t, const char *key, const char *unit, double *out, fs_error *err)
{
    if (!t->unit[0] || strcmp(t->unit, unit) == 0) {
        *out = t->amount;
        return 0;
    }
    if (strcmp(t->unit, "pt") == 0) {
        if (strcmp(unit, "%") == 0) {
            *out = t->amount;
            return 0;
        }
        return fs_error_set(err, "", 0, 0, "threshold '%s:%s': 'pt' (percentage points) is for metrics in %%, and %s "
                            "is in '%s'", t->metric, t->text, key, unit);
    }
    double a = time_unit_s(t->unit), b = time_unit_s(unit);
    if (a > 0 && b > 0) {
        *out = t->amount * a / b;
        return 0;
    }
    return fs_error_set(err, "", 0, 0, "threshold '%s:%s': unit '%s' does not fit %s, which is in '%s' (use %% or '%s')",
                        t->metric, t->text, t->unit, key, unit[0] ? unit : "(none)", unit);
}

/* Which way is bad for a metric without a threshold: +1 a rise, -1 a fall, 0 unknown. */
static int bad_direction(const char *name)
{
    static const char *const lower_better[] = {"ttft", "tpot", "itl", "e2el", "queue", "cost", "cost_per_1k_requests",
        "cost_per_1m_input_tokens", "cost_per_1m_output_tokens", "idle_capacity_cost", "gpu_hours", "energy",
        "energy_per_token", "energy_per_output_token", "mean_power", "preemptions", "rejected", "unfinished",
        "lost_requests", "cold_start_mean", "cold_start_max", "rate_limited", "rate_limited_dropped",
        "residency_refused", "tenant_mean_ttft", "tenant_mean_e2el", NULL};
    static const char *const higher_better[] = {"request_throughput", "input_throughput", "output_throughput",
        "request_goodput", "slo_attainment", "completed", "prefix_cache_hit_rate", "tenant_slo_attainment",
        "tenant_fairness", "tenant_completed", NULL};
    for (const char *const *n = lower_better; *n; n++)
        if (strcmp(*n, name) == 0) return 1;
    for (const char *const *n = higher_better; *n; n++)
        if (strcmp(*n, name) == 0) return -1;
    return 0;
}

/* ---- statistics ---- */

typedef struct side_stats {
    size_t n;
    double mean, var, ci; /* var: sample variance (n - 1); ci: 95% half-width (NaN for n < 2) */
} side_stats;

static side_stats collect(const compare_side *s, const ccase *c, const char *name, const char *stat,
                          const char **unit)
{
    side_stats st = {0, NAN, NAN, NAN};
    double sum = 0;
    for (size_t k = 0; k < c->nruns; k++) {
        const cmetric *m = run_find(&s->runs[c->runs[k]], name, stat);
        if (!m) continue;
        if (!*unit || !(*unit)[0]) *unit = m->unit;
        if (isfinite(m->value)) {
            sum += m->value;
            st.n++;
        }
    }
    if (st.n == 0) return st;
    st.mean = sum / (double)st.n;
    if (st.n < 2) return st;
    double ss = 0;
    for (size_t k = 0; k < c->nruns; k++) {
        const cmetric *m = run_find(&s->runs[c->runs[k]], name, stat);
        if (m && isfinite(m->value)) ss += (m->value - st.mean) * (m->value - st.mean);
    }
    st.var = ss / (double)(st.n - 1);
    st.ci = gsl_cdf_tdist_Pinv(0.975, (double)(st.n - 1)) * sqrt(st.var / (double)st.n);
    return st;
}

/*
 * The paired differences new - old, run by run, when both sides ran the same seeds (each seed
 * once per side, as the replications of a sweep point: seed + k): common random numbers, so a
 * change of the code shows in every pair while the seed-to-seed spread cancels. False (use
 * Welch) when the seeds differ or fewer than 2 pairs both have a number.
 */
static bool paired_diffs(const compare_side *bs, const ccase *bc, const compare_side *ns, const ccase *nc,
                         const char *name, const char *stat, side_stats *d)
{
    if (bc->nruns < 2 || bc->nruns != nc->nruns) return false;
    double *x = fs_xmalloc(bc->nruns * sizeof *x);
    size_t n = 0;
    bool ok = true;
    for (size_t k = 0; k < bc->nruns && ok; k++) {
        const crun *rb = &bs->runs[bc->runs[k]], *rn = NULL;
        for (size_t j = 0; j < k; j++)
            if (bs->runs[bc->runs[j]].seed == rb->seed) ok = false; /* a seed twice */
        for (size_t j = 0; j < nc->nruns; j++) {
            const crun *c = &ns->runs[nc->runs[j]];
            if (c->seed != rb->seed) continue;
            if (rn) ok = false;
            rn = c;
        }
        if (!rn) ok = false;
        if (!ok) break;
        const cmetric *mb = run_find(rb, name, stat), *mn = run_find(rn, name, stat);
        if (mb && mn && isfinite(mb->value) && isfinite(mn->value)) x[n++] = mn->value - mb->value;
    }
    if (ok && n >= 2) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < n; i++) sum += x[i];
        d->n = n;
        d->mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) ss += (x[i] - d->mean) * (x[i] - d->mean);
        d->var = ss / (double)(n - 1);
        d->ci = NAN;
    }
    free(x);
    return ok && n >= 2;
}

/* Whether new - old differs from 0 at 95% (two-sided); *half gets the difference's half-width.
 * `pairs`: the paired differences, or NULL. */
static bool significant(const side_stats *a, const side_stats *b, const side_stats *pairs, double *half)
{
    double d = b->mean - a->mean;
    *half = NAN;
    if (pairs) {
        if (!(pairs->var > 0)) {
            *half = 0;
            return pairs->mean != 0;
        }
        *half = gsl_cdf_tdist_Pinv(0.975, (double)(pairs->n - 1)) * sqrt(pairs->var / (double)pairs->n);
        return fabs(pairs->mean) > *half;
    }
    if (a->n < 2 && b->n < 2) return d != 0; /* nothing to tell noise by: every change counts */
    double se2, df;
    if (a->n >= 2 && b->n >= 2) { /* Welch */
        double qa = a->var / (double)a->n, qb = b->var / (double)b->n;
        se2 = qa + qb;
        df = se2 > 0 ? se2 * se2 / (qa * qa / (double)(a->n - 1) + qb * qb / (double)(b->n - 1)) : 1;
    } else { /* one run against the other side's spread, as a new observation */
        const side_stats *r = a->n >= 2 ? a : b;
        se2 = r->var * (1 + 1 / (double)r->n);
        df = (double)(r->n - 1);
    }
    if (!(se2 > 0)) {
        *half = 0;
        return d != 0;
    }
    *half = gsl_cdf_tdist_Pinv(0.975, df) * sqrt(se2);
    return fabs(d) > *half;
}

/* ---- the comparison ---- */

typedef struct key_list {
    const cmetric **v;
    size_t n, cap;
} key_list;

static void key_add(key_list *l, const cmetric *m)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i]->name, m->name) == 0 && strcmp(l->v[i]->stat, m->stat) == 0) return;
    l->v = fs_xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = m;
}

static const compare_threshold *threshold_for(const compare_result *r, const char *name, const char *stat,
                                              const char *unit)
{
    for (size_t i = r->nthresholds; i-- > 0;)
        if (threshold_matches(&r->thresholds[i], name, stat, unit))
            return r->thresholds[i].kind == COMPARE_OFF ? NULL : &r->thresholds[i];
    return NULL;
}

static int compare_metric(compare_result *res, compare_case *cc, const compare_side *base, const ccase *bc,
                          const compare_side *cand, const ccase *nc, const cmetric *m, fs_error *err)
{
    const char *unit = NULL;
    side_stats a = collect(base, bc, m->name, m->stat, &unit);
    side_stats b = collect(cand, nc, m->name, m->stat, &unit);
    if (a.n == 0 && b.n == 0) return 0; /* NaN or absent on both sides: nothing to say */
    if (!unit) unit = "";
    compare_row row = {0};
    row.name = fs_xstrdup(m->name);
    row.stat = fs_xstrdup(m->stat);
    row.unit = fs_xstrdup(unit);
    row.key = flat_key(m->name, m->stat, unit);
    row.old_mean = a.mean;
    row.new_mean = b.mean;
    row.old_ci = a.ci;
    row.new_ci = b.ci;
    row.old_n = a.n;
    row.new_n = b.n;
    row.delta = b.mean - a.mean;
    /* below 1e-9 of the value: rounding (an export's decimal digits), not a change */
    if (fabs(row.delta) <= 1e-9 * fmax(fabs(a.mean), fabs(b.mean))) row.delta = 0;
    row.pct = a.n && b.n && a.mean != 0 ? 100 * row.delta / fabs(a.mean) : (a.n && b.n && row.delta == 0 ? 0 : NAN);
    row.diff_ci = NAN;
    row.threshold = threshold_for(res, m->name, m->stat, unit);
    const compare_threshold *t = row.threshold;
    if (a.n == 0 || b.n == 0) {
        row.verdict = COMPARE_MISSING;
        row.fails = t && a.n > 0;
    } else {
        side_stats pairs;
        bool paired = paired_diffs(base, bc, cand, nc, m->name, m->stat, &pairs);
        row.test = paired ? COMPARE_TEST_PAIRED
                   : a.n >= 2 && b.n >= 2 ? COMPARE_TEST_WELCH
                   : a.n >= 2 || b.n >= 2 ? COMPARE_TEST_SINGLE
                                          : COMPARE_TEST_NONE;
        row.significant = significant(&a, &b, paired ? &pairs : NULL, &row.diff_ci);
        double limit = 0;
        int bad_dir;
        if (t) {
            bad_dir = t->dir;
            if (t->kind == COMPARE_RELATIVE) limit = t->amount / 100 * fabs(a.mean);
            else if (absolute_limit(t, row.key, unit, &limit, err)) {
                free(row.name), free(row.stat), free(row.unit), free(row.key);
                return -1;
            }
        } else {
            bad_dir = bad_direction(m->name);
            limit = 0.01 * fabs(a.mean);
        }
        if (!(fabs(row.delta) > limit)) row.verdict = COMPARE_OK;
        else if (!row.significant) row.verdict = COMPARE_NOISE;
        else if (!bad_dir) row.verdict = COMPARE_CHANGED;
        else if (bad_dir * row.delta > 0) row.verdict = t ? COMPARE_REGRESSION : COMPARE_WORSE;
        else row.verdict = COMPARE_BETTER;
        row.fails = row.verdict == COMPARE_REGRESSION;
    }
    if (row.verdict == COMPARE_REGRESSION) cc->regressions++, res->regressions++;
    if (row.verdict == COMPARE_NOISE) cc->noise++, res->noise++;
    if (row.verdict == COMPARE_MISSING && row.fails) res->missing_fails++;
    cc->rows = fs_xrealloc(cc->rows, (cc->nrows + 1) * sizeof *cc->rows);
    cc->rows[cc->nrows++] = row;
    return 0;
}

static bool same_case(const ccase *a, const ccase *b)
{
    if (strcmp(a->name, b->name) != 0) return false;
    if (!a->params || !b->params) return !a->params && !b->params;
    return strcmp(a->params, b->params) == 0;
}

static int64_t *run_ids(const compare_side *s, const ccase *c)
{
    int64_t *ids = fs_xmalloc((c->nruns ? c->nruns : 1) * sizeof *ids);
    for (size_t k = 0; k < c->nruns; k++) ids[k] = s->runs[c->runs[k]].id;
    return ids;
}

static compare_case *add_case(compare_result *r, const ccase *bc, const ccase *nc, const compare_side *base,
                              const compare_side *cand)
{
    r->cases = fs_xrealloc(r->cases, (r->ncases + 1) * sizeof *r->cases);
    compare_case *c = &r->cases[r->ncases++];
    memset(c, 0, sizeof *c);
    const ccase *any = bc ? bc : nc;
    c->name = fs_xstrdup(any->name);
    c->cand_name = fs_xstrdup(nc ? nc->name : any->name);
    c->params = any->params ? fs_xstrdup(any->params) : NULL;
    if (bc) {
        c->base_runs = run_ids(base, bc);
        c->base_nruns = bc->nruns;
    }
    if (nc) {
        c->cand_runs = run_ids(cand, nc);
        c->cand_nruns = nc->nruns;
    }
    return c;
}

/* A user threshold must name a metric some run of either side has. */
static int check_user_threshold(const compare_threshold *t, const compare_side *const sides[2], fs_error *err)
{
    for (int k = 0; k < 2; k++)
        for (size_t c = 0; c < sides[k]->ncases; c++)
            for (size_t j = 0; j < sides[k]->cases[c].nruns; j++) {
                const crun *r = &sides[k]->runs[sides[k]->cases[c].runs[j]];
                for (size_t i = 0; i < r->nm; i++)
                    if (threshold_matches(t, r->m[i].name, r->m[i].stat, r->m[i].unit)) return 0;
            }
    return fs_error_set(err, "", 0, 0, "threshold '%s:%s': no metric '%s' in BASE or CAND (a flat key as fleetsim run "
                        "--json prints it, such as p99_ttft_ms, or NAME:STAT as in the metrics table, such as ttft:p99)",
                        t->metric, t->text, t->metric);
}

compare_result *compare_run(const compare_side *base, const compare_side *cand, const compare_options *opt,
                            fs_error *err)
{
    compare_result *r = fs_xcalloc(1, sizeof *r);
    r->base_spec = fs_xstrdup(base->spec);
    r->cand_spec = fs_xstrdup(cand->spec);
    r->base_runs = compare_side_run_count(base);
    r->cand_runs = compare_side_run_count(cand);
    size_t ndef = 0;
    if (!opt || !opt->no_defaults)
        while (default_thresholds[ndef]) ndef++;
    size_t nuser = opt ? opt->nthresholds : 0;
    r->thresholds = fs_xcalloc(ndef + nuser + 1, sizeof *r->thresholds);
    for (size_t i = 0; i < ndef; i++) FS_ASSERT(compare_threshold_parse(default_thresholds[i], &r->thresholds[i], NULL) == 0);
    const compare_side *const sides[2] = {base, cand};
    for (size_t i = 0; i < nuser; i++) {
        r->thresholds[ndef + i] = opt->thresholds[i];
        if (check_user_threshold(&opt->thresholds[i], sides, err)) goto fail;
    }
    r->nthresholds = ndef + nuser;

    bool one_each = base->ncases == 1 && cand->ncases == 1;
    bool *cand_used = fs_xcalloc(cand->ncases + 1, sizeof *cand_used);
    int rc = 0;
    for (size_t i = 0; i < base->ncases && !rc; i++) {
        const ccase *bc = &base->cases[i], *nc = NULL;
        for (size_t j = 0; j < cand->ncases && !nc; j++)
            if (!cand_used[j] && (one_each || same_case(bc, &cand->cases[j]))) {
                nc = &cand->cases[j];
                cand_used[j] = true;
            }
        compare_case *cc = add_case(r, bc, nc, base, cand);
        if (!nc) {
            r->missing_fails++;
            continue;
        }
        key_list keys = {0};
        for (size_t k = 0; k < bc->nruns; k++) {
            const crun *run = &base->runs[bc->runs[k]];
            for (size_t q = 0; q < run->nm; q++) key_add(&keys, &run->m[q]);
        }
        for (size_t k = 0; k < nc->nruns; k++) {
            const crun *run = &cand->runs[nc->runs[k]];
            for (size_t q = 0; q < run->nm; q++) key_add(&keys, &run->m[q]);
        }
        for (size_t q = 0; q < keys.n && !rc; q++) rc = compare_metric(r, cc, base, bc, cand, nc, keys.v[q], err);
        free(keys.v);
    }
    for (size_t j = 0; j < cand->ncases && !rc; j++)
        if (!cand_used[j]) add_case(r, NULL, &cand->cases[j], base, cand);
    free(cand_used);
    if (rc) goto fail;
    return r;
fail:
    compare_result_free(r);
    return NULL;
}

void compare_result_free(compare_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->ncases; i++) {
        compare_case *c = &r->cases[i];
        for (size_t k = 0; k < c->nrows; k++) {
            free(c->rows[k].name);
            free(c->rows[k].stat);
            free(c->rows[k].unit);
            free(c->rows[k].key);
        }
        free(c->rows);
        free(c->name);
        free(c->cand_name);
        free(c->params);
        free(c->base_runs);
        free(c->cand_runs);
    }
    free(r->cases);
    free(r->thresholds);
    free(r->base_spec);
    free(r->cand_spec);
    free(r);
}

int compare_result_status(const compare_result *r) { return r->regressions || r->missing_fails ? 1 : 0; }

const compare_row *compare_result_find(const compare_result *r, const char *case_name, const char *key)
{
    compare_threshold t = {0};
    snprintf(t.metric, sizeof t.metric, "%s", key);
    for (size_t i = 0; i < r->ncases; i++) {
        const compare_case *c = &r->cases[i];
        if (case_name && strcmp(c->name, case_name) != 0) continue;
        for (size_t k = 0; k < c->nrows; k++)
            if (threshold_matches(&t, c->rows[k].name, c->rows[k].stat, c->rows[k].unit)) return &c->rows[k];
        if (!case_name) return NULL;
    }
    return NULL;
}

const char *compare_test_name(compare_test t)
{
    switch (t) {
    case COMPARE_TEST_NONE: return "none";
    case COMPARE_TEST_PAIRED: return "paired";
    case COMPARE_TEST_WELCH: return "welch";
    case COMPARE_TEST_SINGLE: return "single";
    }
    return "?";
}

const char *compare_verdict_name(compare_verdict v)
{
    switch (v) {
    case COMPARE_OK: return "ok";
    case COMPARE_BETTER: return "better";
    case COMPARE_WORSE: return "worse";
    case COMPARE_CHANGED: return "changed";
    case COMPARE_NOISE: return "noise";
    case COMPARE_REGRESSION: return "REGRESSION";
    case COMPARE_MISSING: return "missing";
    }
    return "?";
}

/* ---- printing ---- */

static void fmt_num(char *buf, size_t n, double v)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.6g", v);
}

static void fmt_value(char *buf, size_t n, double mean, double ci, size_t count)
{
    if (count == 0) snprintf(buf, n, "-");
    else if (isfinite(ci) && ci >= 10) snprintf(buf, n, "%.6g ±%.0f", mean, ci);
    else if (isfinite(ci)) snprintf(buf, n, "%.6g ±%.2g", mean, ci);
    else snprintf(buf, n, "%.6g", mean);
}

static void fmt_delta(char *buf, size_t n, const compare_row *w)
{
    if (!w->old_n || !w->new_n) snprintf(buf, n, "-");
    else if (w->delta == 0) snprintf(buf, n, "0");
    else if (isfinite(w->diff_ci) && w->diff_ci > 0) snprintf(buf, n, "%+.4g ±%.2g", w->delta, w->diff_ci);
    else snprintf(buf, n, "%+.4g", w->delta);
}

static void fmt_pct(char *buf, size_t n, double pct)
{
    if (!isfinite(pct)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%+.2f%%", pct);
}

/* Columns by characters, not bytes ("±" is two bytes of UTF-8). */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void put_cell(FILE *out, const char *s, size_t width, bool left, bool last)
{
    size_t pad = width - display_width(s);
    fputc(' ', out);
    if (!left)
        for (size_t i = 0; i < pad; i++) fputc(' ', out);
    fputs(s, out);
    if (left && !last)
        for (size_t i = 0; i < pad; i++) fputc(' ', out);
}

static bool shown(const compare_row *w, bool all)
{
    return all || w->threshold || w->verdict != COMPARE_OK;
}

static void fmt_runs(char *buf, size_t n, const int64_t *ids, size_t count)
{
    if (count == 0) snprintf(buf, n, "none");
    else if (count == 1) snprintf(buf, n, "run %lld", (long long)ids[0]);
    else {
        bool consecutive = true;
        for (size_t i = 1; i < count; i++) consecutive &= ids[i] == ids[i - 1] + 1;
        if (consecutive) snprintf(buf, n, "runs %lld-%lld (%zu replications)", (long long)ids[0], (long long)ids[count - 1], count);
        else snprintf(buf, n, "runs %lld, ... %lld (%zu replications)", (long long)ids[0], (long long)ids[count - 1], count);
    }
}

static void case_title(char *buf, size_t n, const compare_case *c)
{
    int k = snprintf(buf, n, "%s", c->name);
    if (k >= 0 && (size_t)k < n && strcmp(c->name, c->cand_name) != 0)
        k += snprintf(buf + k, n - (size_t)k, " vs %s", c->cand_name);
    if (k >= 0 && (size_t)k < n && c->params && strcmp(c->params, "{}") != 0)
        snprintf(buf + k, n - (size_t)k, " %s", c->params);
}

static const char *result_word(const compare_result *r)
{
    return compare_result_status(r) ? "REGRESSION" : "PASS";
}

static size_t total_rows(const compare_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; i++) n += r->cases[i].nrows;
    return n;
}

static void print_failures(FILE *out, const compare_result *r, bool md)
{
    for (size_t i = 0; i < r->ncases; i++) {
        const compare_case *c = &r->cases[i];
        char title[512];
        case_title(title, sizeof title, c);
        if (c->base_nruns && !c->cand_nruns)
            fprintf(out, md ? "- `%s`: no such case in CAND\n" : "  %s: no such case in CAND\n", title);
        for (size_t k = 0; k < c->nrows; k++) {
            const compare_row *w = &c->rows[k];
            if (!w->fails) continue;
            char o[64], nw[64], p[32];
            fmt_num(o, sizeof o, w->old_mean);
            fmt_num(nw, sizeof nw, w->new_mean);
            fmt_pct(p, sizeof p, w->pct);
            if (w->verdict == COMPARE_MISSING)
                fprintf(out, md ? "- `%s` `%s`: %s %s in BASE, missing in CAND (threshold %s)\n"
                                : "  %s %s: %s %s in BASE, missing in CAND (threshold %s)\n",
                        title, w->key, o, w->unit, w->threshold->text);
            else
                fprintf(out, md ? "- `%s` `%s`: %s → %s %s (%s, threshold %s)\n" : "  %s %s: %s -> %s %s (%s, threshold %s)\n",
                        title, w->key, o, nw, w->unit, p, w->threshold->text);
        }
    }
}

static void print_text(FILE *out, const compare_result *r, bool all)
{
    fprintf(out, "BASE %s (%zu run%s)\nCAND %s (%zu run%s)\n", r->base_spec, r->base_runs, r->base_runs == 1 ? "" : "s",
            r->cand_spec, r->cand_runs, r->cand_runs == 1 ? "" : "s");
    for (size_t i = 0; i < r->ncases; i++) {
        const compare_case *c = &r->cases[i];
        char title[512], br[96], nr[96];
        case_title(title, sizeof title, c);
        fmt_runs(br, sizeof br, c->base_runs, c->base_nruns);
        fmt_runs(nr, sizeof nr, c->cand_runs, c->cand_nruns);
        fprintf(out, "\ncase %s: BASE %s, CAND %s\n", title, br, nr);
        for (size_t k = 0; k < c->nrows; k++)
            if (c->rows[k].test != COMPARE_TEST_NONE) {
                static const char *const how[] = {"", "paired t-test over the runs of the same seeds",
                                                  "Welch's t-test", "the single run against the other side's spread"};
                fprintf(out, "  (noise judged at 95%%: %s)\n", how[c->rows[k].test]);
                break;
            }
        if (!c->cand_nruns) {
            fprintf(out, "  missing in CAND\n");
            continue;
        }
        if (!c->base_nruns) {
            fprintf(out, "  only in CAND: not compared\n");
            continue;
        }
        /* the cells first, for the column widths */
        enum { NCOL = 7 };
        typedef char cell[96];
        cell *cells = fs_xcalloc((c->nrows + 1) * NCOL, sizeof *cells);
        static const char *const head[NCOL] = {"metric", "old", "new", "delta", "%", "threshold", "verdict"};
        for (int j = 0; j < NCOL; j++) snprintf(cells[j], sizeof cells[j], "%s", head[j]);
        size_t nshown = 0;
        for (size_t k = 0; k < c->nrows; k++) {
            const compare_row *w = &c->rows[k];
            if (!shown(w, all)) continue;
            cell *row = &cells[++nshown * NCOL];
            snprintf(row[0], sizeof row[0], "%s", w->key);
            fmt_value(row[1], sizeof row[1], w->old_mean, w->old_ci, w->old_n);
            fmt_value(row[2], sizeof row[2], w->new_mean, w->new_ci, w->new_n);
            fmt_delta(row[3], sizeof row[3], w);
            fmt_pct(row[4], sizeof row[4], w->pct);
            snprintf(row[5], sizeof row[5], "%.80s", w->threshold ? w->threshold->text : "-");
            snprintf(row[6], sizeof row[6], "%s", compare_verdict_name(w->verdict));
        }
        if (!nshown) {
            fprintf(out, "  %zu metrics, all ok\n", c->nrows);
            free(cells);
            continue;
        }
        size_t width[NCOL] = {0};
        for (size_t k = 0; k <= nshown; k++)
            for (int j = 0; j < NCOL; j++)
                if (display_width(cells[k * NCOL + j]) > width[j]) width[j] = display_width(cells[k * NCOL + j]);
        for (size_t k = 0; k <= nshown; k++) {
            fputs(" ", out);
            for (int j = 0; j < NCOL; j++) /* metric, threshold, verdict to the left; numbers to the right */
                put_cell(out, cells[k * NCOL + j], width[j], j == 0 || j >= 5, j == NCOL - 1);
            fputc('\n', out);
        }
        free(cells);
        if (!all && nshown < c->nrows) fprintf(out, "  (%zu more metrics ok; --all lists them)\n", c->nrows - nshown);
    }
    fprintf(out, "\n");
    if (compare_result_status(r)) {
        fprintf(out, "failed:\n");
        print_failures(out, r, false);
    }
    fprintf(out, "result: %s (%zu regression%s, %zu missing, %zu within noise; %zu case%s, %zu metrics compared)\n",
            result_word(r), r->regressions, r->regressions == 1 ? "" : "s", r->missing_fails, r->noise, r->ncases,
            r->ncases == 1 ? "" : "s", total_rows(r));
}

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else fputc(*s, out);
    }
}

static void print_markdown(FILE *out, const compare_result *r, bool all)
{
    fprintf(out, "## fleetsim compare: %s\n\n", result_word(r));
    fprintf(out, "BASE `%s` (%zu runs), CAND `%s` (%zu runs): %zu regressions, %zu missing, %zu within noise.\n",
            r->base_spec, r->base_runs, r->cand_spec, r->cand_runs, r->regressions, r->missing_fails, r->noise);
    if (compare_result_status(r)) {
        fputc('\n', out);
        print_failures(out, r, true);
    }
    for (size_t i = 0; i < r->ncases; i++) {
        const compare_case *c = &r->cases[i];
        char title[512], br[96], nr[96];
        case_title(title, sizeof title, c);
        fmt_runs(br, sizeof br, c->base_runs, c->base_nruns);
        fmt_runs(nr, sizeof nr, c->cand_runs, c->cand_nruns);
        fprintf(out, "\n### ");
        md_cell(out, title);
        fprintf(out, "\n\nBASE %s, CAND %s.\n\n", br, nr);
        for (size_t k = 0; k < c->nrows; k++)
            if (c->rows[k].test != COMPARE_TEST_NONE) {
                fprintf(out, "Noise judged at 95%% (%s test).\n\n", compare_test_name(c->rows[k].test));
                break;
            }
        if (!c->cand_nruns || !c->base_nruns) {
            fprintf(out, "%s\n", !c->cand_nruns ? "**Missing in CAND.**" : "Only in CAND: not compared.");
            continue;
        }
        fprintf(out, "| metric | old | new | delta | %% | threshold | verdict |\n|---|---:|---:|---:|---:|---|---|\n");
        size_t nshown = 0;
        for (size_t k = 0; k < c->nrows; k++) {
            const compare_row *w = &c->rows[k];
            if (!shown(w, all)) continue;
            nshown++;
            char o[64], nw[64], d[64], p[32];
            fmt_value(o, sizeof o, w->old_mean, w->old_ci, w->old_n);
            fmt_value(nw, sizeof nw, w->new_mean, w->new_ci, w->new_n);
            fmt_delta(d, sizeof d, w);
            fmt_pct(p, sizeof p, w->pct);
            fputs("| `", out);
            md_cell(out, w->key);
            fprintf(out, "` | %s | %s | %s | %s | %s | %s%s%s |\n", o, nw, d, p, w->threshold ? w->threshold->text : "",
                    w->fails ? "**" : "", compare_verdict_name(w->verdict), w->fails ? "**" : "");
        }
        if (!all && nshown < c->nrows) fprintf(out, "\n%zu more metrics ok.\n", c->nrows - nshown);
    }
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *jids(const int64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
    return a;
}

static void print_json(FILE *out, const compare_result *r)
{
    json_t *root = json_object();
    json_object_set_new(root, "base", json_pack("{s:s, s:I}", "spec", r->base_spec, "runs", (json_int_t)r->base_runs));
    json_object_set_new(root, "cand", json_pack("{s:s, s:I}", "spec", r->cand_spec, "runs", (json_int_t)r->cand_runs));
    json_object_set_new(root, "result", json_string(compare_result_status(r) ? "regression" : "pass"));
    json_object_set_new(root, "regressions", json_integer((json_int_t)r->regressions));
    json_object_set_new(root, "noise", json_integer((json_int_t)r->noise));
    json_object_set_new(root, "missing", json_integer((json_int_t)r->missing_fails));
    json_t *th = json_array();
    for (size_t i = 0; i < r->nthresholds; i++) {
        char buf[400];
        snprintf(buf, sizeof buf, "%s:%s", r->thresholds[i].metric, r->thresholds[i].text);
        json_array_append_new(th, json_string(buf));
    }
    json_object_set_new(root, "thresholds", th);
    json_t *cases = json_array();
    for (size_t i = 0; i < r->ncases; i++) {
        const compare_case *c = &r->cases[i];
        json_t *jc = json_object();
        json_object_set_new(jc, "name", json_string(c->name));
        json_object_set_new(jc, "cand_name", json_string(c->cand_name));
        json_t *params = c->params ? json_loads(c->params, JSON_DECODE_ANY, NULL) : NULL;
        json_object_set_new(jc, "params", params ? params : json_null());
        json_object_set_new(jc, "base_runs", jids(c->base_runs, c->base_nruns));
        json_object_set_new(jc, "cand_runs", jids(c->cand_runs, c->cand_nruns));
        json_t *rows = json_array();
        for (size_t k = 0; k < c->nrows; k++) {
            const compare_row *w = &c->rows[k];
            json_t *jw = json_object();
            json_object_set_new(jw, "key", json_string(w->key));
            json_object_set_new(jw, "name", json_string(w->name));
            json_object_set_new(jw, "stat", json_string(w->stat));
            json_object_set_new(jw, "unit", json_string(w->unit));
            json_object_set_new(jw, "old", jnum(w->old_mean));
            json_object_set_new(jw, "new", jnum(w->new_mean));
            json_object_set_new(jw, "old_ci95", jnum(w->old_ci));
            json_object_set_new(jw, "new_ci95", jnum(w->new_ci));
            json_object_set_new(jw, "old_n", json_integer((json_int_t)w->old_n));
            json_object_set_new(jw, "new_n", json_integer((json_int_t)w->new_n));
            json_object_set_new(jw, "delta", jnum(w->old_n && w->new_n ? w->delta : NAN));
            json_object_set_new(jw, "pct", jnum(w->pct));
            json_object_set_new(jw, "diff_ci95", jnum(w->diff_ci));
            json_object_set_new(jw, "significant", json_boolean(w->significant));
            json_object_set_new(jw, "test", json_string(compare_test_name(w->test)));
            json_object_set_new(jw, "threshold", w->threshold ? json_string(w->threshold->text) : json_null());
            json_object_set_new(jw, "verdict", json_string(compare_verdict_name(w->verdict)));
            json_array_append_new(rows, jw);
        }
        json_object_set_new(jc, "metrics", rows);
        json_array_append_new(cases, jc);
    }
    json_object_set_new(root, "cases", cases);
    char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!s) fs_oom(0);
    fputs(s, out);
    fputc('\n', out);
    free(s);
    json_decref(root);
}

void compare_print(FILE *out, const compare_result *r, compare_format fmt, bool all)
{
    if (fmt == COMPARE_JSON) print_json(out, r);
    else if (fmt == COMPARE_MARKDOWN) print_markdown(out, r, all);
    else print_text(out, r, all);
}
