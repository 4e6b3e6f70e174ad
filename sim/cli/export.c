/* fleetsim export: runs and their metrics as JSON, long-format CSV or github-action-benchmark input. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli_internal.h"
#include "jsonv.h"
#include "points.h"

static const char usage_export[] =
    "usage: fleetsim export DB --format json|csv|bench [--run ID]... [--sweep NAME]... [-o FILE]\n"
    "\n"
    "Write runs of a results database (all of them, or those --run and --sweep pick) to FILE\n"
    "(default stdout):\n"
    "  json   {\"runs\": [{id, name, status, seed, ..., point, scenario, metrics: [{name, stat,\n"
    "         value, unit}]}], \"points\": [per sweep point: params, runs, and per metric mean,\n"
    "         half_width (95% CI), sd, n over its 'ok' replications]}; NaN is null\n"
    "  csv    one row per metric row: run_id,run_name,status,sweep,point,seed_index,params,\n"
    "         name,stat,value,unit (RFC 4180 quoting; NULL/NaN empty)\n"
    "  bench  github-action-benchmark's customSmallerIsBetter: [{\"name\": \"RUN/KEY\", \"unit\",\n"
    "         \"value\"}] for each 'ok' run's latencies (mean, median, p90, p99 of ttft, tpot,\n"
    "         itl, e2el, queue: KEY as in run --json, e.g. p99_ttft_ms) and unit costs and\n"
    "         energies; RUN is the run's name, with a sweep point's [parameters] and, when its\n"
    "         sweep has several seeds, seed_index=K; a repeated RUN gets \" (run ID)\"\n"
    "\n"
    "exit status: 0 written; 1 writing failed; 2 bad usage, or DB is not a results database,\n"
    "or a --run or --sweep it does not hold.\n";

enum { FMT_NONE, FMT_JSON, FMT_CSV, FMT_BENCH };

typedef struct run_row {
    int64_t id, seed;
    char *name, *scenario, *version, *commit, *started, *ended, *status, *error;
    char *sweep, *params;   /* sweep NULL: not a sweep point */
    int64_t point, seed_index;
} run_row;

typedef struct export_ctx {
    const char *db_path;
    sqlite3 *db;
    bool has_points;
    run_row *runs;
    size_t nruns;
} export_ctx;

static int db_error(export_ctx *x, const char *what)
{
    fprintf(stderr, "fleetsim: %s: %s: %s\n", x->db_path, what, sqlite3_errmsg(x->db));
    return EXIT_INPUT;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? fs_xstrdup((const char *)t) : NULL;
}

static int open_db(export_ctx *x)
{
    if (sqlite3_open_v2(x->db_path, &x->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return db_error(x, "cannot open results database");
    sqlite3_busy_timeout(x->db, 5000);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, "SELECT sum(name = 'runs'), sum(name = 'metrics'), sum(name = 'points') "
                           "FROM sqlite_master WHERE type = 'table'", -1, &s, NULL) != SQLITE_OK)
        return db_error(x, "not a results database");
    int runs = 0, metrics = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        runs = sqlite3_column_int(s, 0);
        metrics = sqlite3_column_int(s, 1);
        x->has_points = sqlite3_column_int(s, 2) > 0;
    }
    sqlite3_finalize(s);
    if (!runs || !metrics) {
        fprintf(stderr, "fleetsim: %s: not a results database (no table '%s')\n", x->db_path, runs ? "metrics" : "runs");
        return EXIT_INPUT;
    }
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The runs picked (all when neither --run nor --sweep is given), by id. */
static int load_runs(export_ctx *x, int64_t *ids, size_t nids, const char **sweeps, size_t nsweeps)
{
    const char *sql = x->has_points
        ? "SELECT r.id, r.name, r.scenario_json, r.seed, r.version, r.git_commit, r.started_at, r.ended_at, r.status, "
          "r.error, p.sweep, p.point, p.seed_index, p.params FROM runs r LEFT JOIN points p ON p.run_id = r.id ORDER BY r.id"
        : "SELECT id, name, scenario_json, seed, version, git_commit, started_at, ended_at, status, error, NULL, NULL, "
          "NULL, NULL FROM runs ORDER BY id";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, sql, -1, &s, NULL) != SQLITE_OK) return db_error(x, "cannot read the runs");
    bool all = nids == 0 && nsweeps == 0;
    if (nids) qsort(ids, nids, sizeof *ids, cmp_id);
    bool *id_seen = fs_xcalloc(nids + 1, sizeof *id_seen), *sweep_seen = fs_xcalloc(nsweeps + 1, sizeof *sweep_seen);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        const char *sweep = (const char *)sqlite3_column_text(s, 10);
        bool pick = all;
        int64_t *hit = nids ? bsearch(&id, ids, nids, sizeof *ids, cmp_id) : NULL;
        if (hit) {
            pick = true;
            for (size_t i = 0; i < nids; i++) id_seen[i] |= ids[i] == id;
        }
        for (size_t i = 0; sweep && i < nsweeps; i++)
            if (strcmp(sweeps[i], sweep) == 0) pick = sweep_seen[i] = true;
        if (!pick) continue;
        x->runs = fs_xgrow(x->runs, &cap, x->nruns + 1, sizeof *x->runs);
        run_row *r = &x->runs[x->nruns++];
        memset(r, 0, sizeof *r);
        r->id = id;
        r->name = col_dup(s, 1);
        r->scenario = col_dup(s, 2);
        r->seed = sqlite3_column_int64(s, 3);
        r->version = col_dup(s, 4);
        r->commit = col_dup(s, 5);
        r->started = col_dup(s, 6);
        r->ended = col_dup(s, 7);
        r->status = col_dup(s, 8);
        r->error = col_dup(s, 9);
        r->sweep = col_dup(s, 10);
        r->point = sqlite3_column_int64(s, 11);
        r->seed_index = sqlite3_column_int64(s, 12);
        r->params = col_dup(s, 13);
    }
    sqlite3_finalize(s);
    int code = rc == SQLITE_DONE ? 0 : db_error(x, "cannot read the runs");
    for (size_t i = 0; code == 0 && i < nids; i++)
        if (!id_seen[i]) {
            fprintf(stderr, "fleetsim: %s: no run %lld\n", x->db_path, (long long)ids[i]);
            code = EXIT_INPUT;
        }
    for (size_t i = 0; code == 0 && i < nsweeps; i++)
        if (!sweep_seen[i]) {
            fprintf(stderr, "fleetsim: %s: no sweep '%s'\n", x->db_path, sweeps[i]);
            code = EXIT_INPUT;
        }
    free(id_seen);
    free(sweep_seen);
    return code;
}

static void ctx_fini(export_ctx *x)
{
    for (size_t i = 0; i < x->nruns; i++) {
        run_row *r = &x->runs[i];
        free(r->name);
        free(r->scenario);
        free(r->version);
        free(r->commit);
        free(r->started);
        free(r->ended);
        free(r->status);
        free(r->error);
        free(r->sweep);
        free(r->params);
    }
    free(x->runs);
    sqlite3_close(x->db);
}

/* ---- json ---- */

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }
static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *parse_or_string(const char *text)
{
    json_error_t je;
    json_t *v = text ? json_loads(text, 0, &je) : NULL;
    return v ? v : str_or_null(text);
}

static int json_metrics(export_ctx *x, sqlite3_stmt *s, int64_t id, json_t *arr)
{
    sqlite3_bind_int64(s, 1, id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        double v = sqlite3_column_type(s, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 2);
        json_array_append_new(arr, json_pack("{s:s?, s:s?, s:o, s:s?}", "name", (const char *)sqlite3_column_text(s, 0),
                                             "stat", (const char *)sqlite3_column_text(s, 1), "value", num_or_null(v),
                                             "unit", (const char *)sqlite3_column_text(s, 3)));
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_error(x, "cannot read the metrics");
}

static bool point_picked(const export_ctx *x, const char *sweep, int64_t point)
{
    for (size_t i = 0; i < x->nruns; i++)
        if (x->runs[i].sweep && x->runs[i].point == point && strcmp(x->runs[i].sweep, sweep) == 0) return true;
    return false;
}

/* The sweep points the picked runs belong to, each with every replication stored. */
static int json_points(export_ctx *x, json_t *arr)
{
    for (size_t i = 0; i < x->nruns; i++) {
        const char *sweep = x->runs[i].sweep;
        if (!sweep) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = x->runs[j].sweep && strcmp(x->runs[j].sweep, sweep) == 0;
        if (seen) continue;
        point_table t;
        fs_error err;
        if (point_summary(x->db_path, sweep, 0, &t, &err)) {
            print_error(&err);
            return EXIT_INPUT;
        }
        for (size_t r = 0; r < t.n; r++) {
            const point_row *row = &t.rows[r];
            if (!point_picked(x, sweep, row->point)) continue;
            json_t *runs = json_array(), *mets = json_array();
            for (size_t k = 0; k < row->nruns; k++) json_array_append_new(runs, json_integer(row->run_ids[k]));
            for (size_t k = 0; k < row->nstats; k++) {
                const point_stat *st = &row->stats[k];
                json_array_append_new(mets, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i}", "name", st->name, "stat",
                                                      st->stat, "unit", st->unit, "mean", num_or_null(st->mean),
                                                      "half_width", num_or_null(st->half_width), "sd",
                                                      num_or_null(st->sd), "n", st->n));
            }
            json_array_append_new(arr, json_pack("{s:s, s:I, s:o, s:o, s:I, s:o}", "sweep", row->sweep, "point",
                                                 (json_int_t)row->point, "params", parse_or_string(row->params), "runs",
                                                 runs, "failed", (json_int_t)row->nfailed, "metrics", mets));
        }
        point_table_fini(&t);
    }
    return 0;
}

static int write_json(export_ctx *x, FILE *out)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, "SELECT name, stat, value, unit FROM metrics WHERE run_id = ? ORDER BY rowid", -1, &s,
                           NULL) != SQLITE_OK)
        return db_error(x, "cannot read the metrics");
    json_t *root = json_object(), *runs = json_array(), *points = json_array();
    int rc = 0;
    for (size_t i = 0; i < x->nruns && rc == 0; i++) {
        const run_row *r = &x->runs[i];
        json_t *mets = json_array();
        rc = json_metrics(x, s, r->id, mets);
        json_t *pt = r->sweep ? json_pack("{s:s, s:I, s:I, s:o}", "sweep", r->sweep, "point", (json_int_t)r->point,
                                          "seed_index", (json_int_t)r->seed_index, "params", parse_or_string(r->params))
                              : json_null();
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "name", str_or_null(r->name));
        json_object_set_new(o, "status", str_or_null(r->status));
        json_object_set_new(o, "seed", json_integer(r->seed));
        json_object_set_new(o, "version", str_or_null(r->version));
        json_object_set_new(o, "git_commit", str_or_null(r->commit));
        json_object_set_new(o, "started_at", str_or_null(r->started));
        json_object_set_new(o, "ended_at", str_or_null(r->ended));
        json_object_set_new(o, "error", str_or_null(r->error));
        json_object_set_new(o, "point", pt);
        json_object_set_new(o, "scenario", parse_or_string(r->scenario));
        json_object_set_new(o, "metrics", mets);
        json_array_append_new(runs, o);
    }
    sqlite3_finalize(s);
    if (rc == 0) rc = json_points(x, points);
    json_object_set_new(root, "database", json_string(x->db_path));
    json_object_set_new(root, "runs", runs);
    json_object_set_new(root, "points", points);
    if (rc == 0) {
        json_dumpf(root, out, JSON_INDENT(2));
        fputc('\n', out);
    }
    json_decref(root);
    return rc;
}

/* ---- csv ---- */

static void csv_field(FILE *out, const char *s)
{
    if (!s) return;
    if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' && (s[0] == '\0' || s[strlen(s) - 1] != ' ')) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int write_csv(export_ctx *x, FILE *out)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, "SELECT name, stat, value, unit FROM metrics WHERE run_id = ? ORDER BY rowid", -1, &s,
                           NULL) != SQLITE_OK)
        return db_error(x, "cannot read the metrics");
    fputs("run_id,run_name,status,sweep,point,seed_index,params,name,stat,value,unit\r\n", out);
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < x->nruns && rc == SQLITE_DONE; i++) {
        const run_row *r = &x->runs[i];
        sqlite3_bind_int64(s, 1, r->id);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            fprintf(out, "%lld,", (long long)r->id);
            csv_field(out, r->name);
            fputc(',', out);
            csv_field(out, r->status);
            fputc(',', out);
            if (r->sweep) {
                csv_field(out, r->sweep);
                fprintf(out, ",%lld,%lld,", (long long)r->point, (long long)r->seed_index);
                csv_field(out, r->params);
            } else {
                fputs(",,,", out);
            }
            fputc(',', out);
            csv_field(out, (const char *)sqlite3_column_text(s, 0));
            fputc(',', out);
            csv_field(out, (const char *)sqlite3_column_text(s, 1));
            fputc(',', out);
            if (sqlite3_column_type(s, 2) != SQLITE_NULL && isfinite(sqlite3_column_double(s, 2)))
                fprintf(out, "%.17g", sqlite3_column_double(s, 2));
            fputc(',', out);
            csv_field(out, (const char *)sqlite3_column_text(s, 3));
            fputs("\r\n", out);
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_error(x, "cannot read the metrics");
}

/* ---- bench ---- */

/* Smaller is better: latency distributions, and cost and energy per unit of work. */
static bool bench_metric(const char *name, const char *stat)
{
    static const char *const dists[] = {"ttft", "tpot", "itl", "e2el", "queue", NULL};
    static const char *const dist_stats[] = {"mean", "median", "p90", "p99", NULL};
    static const char *const values[] = {"cost_per_1k_requests", "cost_per_1m_input_tokens", "cost_per_1m_output_tokens",
                                         "energy_per_token", "energy_per_output_token", NULL};
    if (strcmp(stat, "value") == 0) return jv_choice_index(values, name) >= 0;
    return jv_choice_index(dists, name) >= 0 && jv_choice_index(dist_stats, stat) >= 0;
}

/* A JSON value as compact text, a number with the fewest digits that give it back. */
static char *value_text(const json_t *v)
{
    int d = 17;
    if (json_is_real(v))
        for (d = 1; d < 17; d++) {
            char buf[40];
            snprintf(buf, sizeof buf, "%.*g", d, json_real_value(v));
            if (strtod(buf, NULL) == json_real_value(v)) break;
        }
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(d));
    if (!t) fs_oom(0);
    return t;
}

/* "name [k=v, k=v] seed_index=K" */
static char *run_label(export_ctx *x, const run_row *r, sqlite3_stmt *maxseed)
{
    size_t size = strlen(r->name ? r->name : "") + (r->params ? strlen(r->params) : 0) + 64;
    char *buf = fs_xmalloc(size);
    size_t len = (size_t)snprintf(buf, size, "%s", r->name ? r->name : "");
    if (!r->sweep) return buf;
    json_error_t je;
    json_t *o = r->params ? json_loads(r->params, 0, &je) : NULL;
    const char *k;
    json_t *v;
    bool first = true;
    len += (size_t)snprintf(buf + len, size - len, " [");
    if (o) json_object_foreach(o, k, v) {
            char *t = json_is_string(v) ? NULL : value_text(v);
            size_t need = len + strlen(k) + (t ? strlen(t) : strlen(json_string_value(v))) + 64;
            if (need > size) buf = fs_xrealloc(buf, size = need);
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", first ? "" : ", ", k, t ? t : json_string_value(v));
            free(t);
            first = false;
        }
    json_decref(o);
    len += (size_t)snprintf(buf + len, size - len, "]");
    sqlite3_bind_text(maxseed, 1, r->sweep, -1, SQLITE_STATIC);
    int64_t max = sqlite3_step(maxseed) == SQLITE_ROW ? sqlite3_column_int64(maxseed, 0) : 0;
    sqlite3_reset(maxseed);
    if (max > 0) snprintf(buf + len, size - len, " seed_index=%lld", (long long)r->seed_index);
    (void)x;
    return buf;
}

static int write_bench(export_ctx *x, FILE *out)
{
    sqlite3_stmt *s, *maxseed = NULL;
    if (sqlite3_prepare_v2(x->db, "SELECT name, stat, value, unit FROM metrics WHERE run_id = ? ORDER BY rowid", -1, &s,
                           NULL) != SQLITE_OK)
        return db_error(x, "cannot read the metrics");
    if (x->has_points &&
        sqlite3_prepare_v2(x->db, "SELECT max(seed_index) FROM points WHERE sweep = ?", -1, &maxseed, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return db_error(x, "cannot read the points");
    }
    json_t *arr = json_array();
    char **labels = fs_xcalloc(x->nruns + 1, sizeof *labels);
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < x->nruns && rc == SQLITE_DONE; i++) {
        const run_row *r = &x->runs[i];
        if (!r->status || strcmp(r->status, "ok") != 0) continue;
        labels[i] = run_label(x, r, maxseed);
        for (size_t j = 0; j < i; j++)
            if (labels[j] && strcmp(labels[j], labels[i]) == 0) {
                size_t n = strlen(labels[i]) + 32;
                labels[i] = fs_xrealloc(labels[i], n);
                snprintf(labels[i] + strlen(labels[i]), n - strlen(labels[i]), " (run %lld)", (long long)r->id);
                break;
            }
        sqlite3_bind_int64(s, 1, r->id);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(s, 0), *stat = (const char *)sqlite3_column_text(s, 1);
            const char *unit = (const char *)sqlite3_column_text(s, 3);
            if (!name || !stat || !bench_metric(name, stat) || sqlite3_column_type(s, 2) == SQLITE_NULL) continue;
            double v = sqlite3_column_double(s, 2);
            if (!isfinite(v)) continue;
            char key[256];
            if (strcmp(stat, "value") == 0) snprintf(key, sizeof key, "%s/%s", labels[i], name);
            else snprintf(key, sizeof key, "%s/%s_%s_%s", labels[i], stat, name, unit ? unit : "");
            json_array_append_new(arr, json_pack("{s:s, s:s, s:f}", "name", key, "unit", unit ? unit : "", "value", v));
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_finalize(maxseed);
    for (size_t i = 0; i < x->nruns; i++) free(labels[i]);
    free(labels);
    if (rc == SQLITE_DONE) {
        json_dumpf(arr, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12)); /* for charts: 12 digits */
        fputc('\n', out);
    }
    json_decref(arr);
    return rc == SQLITE_DONE ? 0 : db_error(x, "cannot read the metrics");
}

int cmd_export(int argc, char **argv)
{
    const char *db = NULL, *outpath = NULL;
    int format = FMT_NONE;
    int64_t *ids = fs_xcalloc((size_t)argc + 1, sizeof *ids);
    const char **sweeps = fs_xcalloc((size_t)argc + 1, sizeof *sweeps);
    size_t nids = 0, nsweeps = 0;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_export, stdout);
            rc = -1;
        } else if (strcmp(a, "--run") == 0 || strcmp(a, "--format") == 0 || strcmp(a, "-o") == 0 ||
                   strcmp(a, "--output") == 0 || strcmp(a, "--sweep") == 0) {
            if (i + 1 >= argc) {
                rc = usage_error("option %s needs a value", a);
                break;
            }
            const char *v = argv[++i];
            uint64_t id;
            if (strcmp(a, "--run") == 0) {
                if (cli_parse_u64(v, &id) || id == 0 || id > INT64_MAX) rc = usage_error("--run: expected a run id (>= 1), got '%s'", v);
                else ids[nids++] = (int64_t)id;
            } else if (strcmp(a, "--sweep") == 0) {
                sweeps[nsweeps++] = v;
            } else if (strcmp(a, "--format") == 0) {
                format = strcmp(v, "json") == 0 ? FMT_JSON : strcmp(v, "csv") == 0 ? FMT_CSV
                       : strcmp(v, "bench") == 0 ? FMT_BENCH : FMT_NONE;
                if (format == FMT_NONE) rc = usage_error("--format: expected json, csv or bench, got '%s'", v);
            } else {
                outpath = v;
            }
        } else if (a[0] == '-' && a[1]) {
            rc = usage_error("export: unknown option '%s'", a);
        } else if (!db) {
            db = a;
        } else {
            rc = usage_error("export: unexpected argument '%s' (one database)", a);
        }
    }
    if (rc == 0 && !db) rc = usage_error("%s", "export needs a results database");
    if (rc == 0 && format == FMT_NONE) rc = usage_error("%s", "export needs --format json, csv or bench");
    export_ctx x = {.db_path = db};
    if (rc == 0) rc = open_db(&x);
    if (rc == 0) rc = load_runs(&x, ids, nids, sweeps, nsweeps);
    free(ids);
    free(sweeps);
    FILE *out = stdout;
    if (rc == 0 && outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "fleetsim: cannot write '%s': %s\n", outpath, strerror(errno));
        rc = EXIT_INPUT;
        out = stdout;
    }
    if (rc == 0) {
        rc = format == FMT_JSON ? write_json(&x, out) : format == FMT_CSV ? write_csv(&x, out) : write_bench(&x, out);
        bool bad = fflush(out) != 0 || ferror(out);
        if (out != stdout && fclose(out) != 0) bad = true;
        if (rc == 0 && bad) {
            fprintf(stderr, "fleetsim: writing '%s' failed\n", outpath ? outpath : "stdout");
            rc = EXIT_RUN_FAILED;
        }
    } else if (out != stdout) {
        fclose(out);
    }
    ctx_fini(&x);
    return rc < 0 ? 0 : rc;
}
