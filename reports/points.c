/* Sweep points read back: replications grouped per point, mean and 95% CI per metric. */
#define _POSIX_C_SOURCE 200809L
#include "points.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_cdf.h>
#include <sqlite3.h>

const point_metric point_headline[] = {
    {"request_throughput", "value", "req/s"},
    {"request_goodput", "value", "goodput req/s"},
    {"slo_attainment", "value", "SLO %"},
    {"ttft", "p99", "p99 TTFT ms"},
    {"e2el", "p99", "p99 E2E ms"},
    {"tpot", "p99", "p99 TPOT ms"},
    {"cost_per_1k_requests", "value", "USD/1k req"},
    {"cost_per_1m_output_tokens", "value", "USD/1M out tok"},
    {"energy_per_token", "value", "J/token"},
    {NULL, NULL, NULL},
};

double point_t975(int dof)
{
    return dof < 1 ? NAN : gsl_cdf_tdist_Pinv(0.975, (double)dof);
}

static int db_fail(sqlite3 *db, const char *path, fs_error *err, const char *what)
{
    return fs_error_set(err, path, 0, 0, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* Open read-only and make sure it is a results database; returns NULL with err filled. */
static sqlite3 *open_results(const char *path, bool *has_points, fs_error *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        db_fail(db, path, err, "cannot open results database");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    int runs = -1, points = 0;
    if (sqlite3_prepare_v2(db, "SELECT sum(name = 'runs'), sum(name = 'points') FROM sqlite_master WHERE type = 'table'",
                           -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW) {
            runs = sqlite3_column_int(s, 0);
            points = sqlite3_column_int(s, 1);
        }
        sqlite3_finalize(s);
    }
    if (runs < 0) {
        db_fail(db, path, err, "not a results database");
        sqlite3_close(db);
        return NULL;
    }
    if (runs == 0) {
        fs_error_set(err, path, 0, 0, "not a results database (no table 'runs')");
        sqlite3_close(db);
        return NULL;
    }
    *has_points = points > 0;
    return db;
}

static char *dup_col(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? fs_xstrdup((const char *)t) : NULL;
}

static bool same_point(const point_row *r, const char *sweep, int64_t point)
{
    if (!r) return false;
    if (!r->sweep || !sweep) return !r->sweep && !sweep && r->point == point;
    return r->point == point && strcmp(r->sweep, sweep) == 0;
}

/* mean, sd and half width of the n values in x (n may be 0) */
static void aggregate(point_stat *st, const double *x, size_t n)
{
    st->n = (int)n;
    st->mean = st->sd = st->half_width = NAN;
    if (n == 0) return;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += x[i];
    st->mean = sum / (double)n;
    if (n < 2) return;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - st->mean) * (x[i] - st->mean);
    st->sd = sqrt(ss / (double)(n - 1));
    st->half_width = point_t975((int)n - 1) * st->sd / sqrt((double)n);
}

/* The WHERE clause both queries share: ?1 the sweep (or NULL for all), ?2 a point (or NULL). */
#define POINT_FILTER "(?1 IS NULL OR p.sweep = ?1) AND (?2 IS NULL OR p.point = ?2)"

static void bind_filter(sqlite3_stmt *s, const char *sweep, bool one_point, int64_t point)
{
    if (sweep) sqlite3_bind_text(s, 1, sweep, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 1);
    if (one_point) sqlite3_bind_int64(s, 2, point);
    else sqlite3_bind_null(s, 2);
}

/* The rows and their runs; then the metrics of the 'ok' runs, in the same row order. */
static int load_points(sqlite3 *db, const char *path, const char *sweep, bool one_point, int64_t point,
                       point_table *t, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT p.sweep, p.point, p.params, r.id, r.name, r.status FROM points p "
                           "JOIN runs r ON r.id = p.run_id WHERE " POINT_FILTER
                           " ORDER BY p.sweep, p.point, p.seed_index, r.id", -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, path, err, "cannot read the points");
    bind_filter(s, sweep, one_point, point);
    size_t cap = 0, *run_cap = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *sw = (const char *)sqlite3_column_text(s, 0);
        int64_t pt = sqlite3_column_int64(s, 1);
        point_row *r = t->n ? &t->rows[t->n - 1] : NULL;
        if (!same_point(r, sw, pt)) {
            size_t old = cap;
            t->rows = fs_xgrow(t->rows, &cap, t->n + 1, sizeof *t->rows);
            run_cap = fs_xrealloc(run_cap, cap * sizeof *run_cap);
            for (size_t i = old; i < cap; i++) run_cap[i] = 0;
            r = &t->rows[t->n++];
            memset(r, 0, sizeof *r);
            r->sweep = dup_col(s, 0);
            r->point = pt;
            r->params = dup_col(s, 2);
            r->name = dup_col(s, 4);
        }
        const char *status = (const char *)sqlite3_column_text(s, 5);
        if (status && strcmp(status, "ok") == 0) {
            r->run_ids = fs_xgrow(r->run_ids, &run_cap[t->n - 1], r->nruns + 1, sizeof *r->run_ids);
            r->run_ids[r->nruns++] = sqlite3_column_int64(s, 3);
        } else {
            r->nfailed++;
        }
    }
    free(run_cap);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return db_fail(db, path, err, "cannot read the points");

    if (sqlite3_prepare_v2(db, "SELECT p.sweep, p.point, m.name, m.stat, m.unit, m.value FROM points p "
                           "JOIN runs r ON r.id = p.run_id JOIN metrics m ON m.run_id = r.id "
                           "WHERE r.status = 'ok' AND " POINT_FILTER
                           " ORDER BY p.sweep, p.point, m.name, m.stat, p.seed_index, r.id", -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, path, err, "cannot read the metrics of the points");
    bind_filter(s, sweep, one_point, point);
    size_t row = 0, scap = 0, vcap = 0, nv = 0;
    double *v = NULL;
    point_stat *cur = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *sw = (const char *)sqlite3_column_text(s, 0);
        int64_t pt = sqlite3_column_int64(s, 1);
        const char *name = (const char *)sqlite3_column_text(s, 2);
        const char *stat = (const char *)sqlite3_column_text(s, 3);
        const char *unit = (const char *)sqlite3_column_text(s, 4);
        if (!same_point(&t->rows[row], sw, pt)) {
            if (cur) aggregate(cur, v, nv);
            cur = NULL;
            while (row < t->n && !same_point(&t->rows[row], sw, pt)) row++;
            FS_ASSERT(row < t->n); /* both queries walk the points in the same order */
            scap = 0;
        }
        point_row *r = &t->rows[row];
        if (!cur || strcmp(cur->name, name ? name : "") != 0 || strcmp(cur->stat, stat ? stat : "") != 0) {
            if (cur) aggregate(cur, v, nv);
            r->stats = fs_xgrow(r->stats, &scap, r->nstats + 1, sizeof *r->stats);
            cur = &r->stats[r->nstats++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->name, sizeof cur->name, "%s", name ? name : "");
            snprintf(cur->stat, sizeof cur->stat, "%s", stat ? stat : "");
            snprintf(cur->unit, sizeof cur->unit, "%s", unit ? unit : "");
            nv = 0;
        }
        if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
            double x = sqlite3_column_double(s, 5);
            if (!isnan(x)) {
                v = fs_xgrow(v, &vcap, nv + 1, sizeof *v);
                v[nv++] = x;
            }
        }
    }
    if (cur) aggregate(cur, v, nv);
    free(v);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return db_fail(db, path, err, "cannot read the metrics of the points");
    return 0;
}

/* A run outside any sweep as a point of its own. */
static int load_lone_run(sqlite3 *db, const char *path, int64_t run_id, point_table *t, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT name, status FROM runs WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, path, err, "cannot read the runs");
    sqlite3_bind_int64(s, 1, run_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        if (rc == SQLITE_DONE) return fs_error_set(err, path, 0, 0, "no run %lld in the database", (long long)run_id);
        return db_fail(db, path, err, "cannot read the runs");
    }
    t->rows = fs_xcalloc(1, sizeof *t->rows);
    t->n = 1;
    point_row *r = &t->rows[0];
    r->point = -1;
    r->params = fs_xstrdup("{}");
    r->name = dup_col(s, 0);
    const char *status = (const char *)sqlite3_column_text(s, 1);
    bool ok = status && strcmp(status, "ok") == 0;
    sqlite3_finalize(s);
    if (!ok) {
        r->nfailed = 1;
        return 0;
    }
    r->run_ids = fs_xmalloc(sizeof *r->run_ids);
    r->run_ids[0] = run_id;
    r->nruns = 1;
    if (sqlite3_prepare_v2(db, "SELECT name, stat, unit, value FROM metrics WHERE run_id = ? ORDER BY name, stat", -1,
                           &s, NULL) != SQLITE_OK)
        return db_fail(db, path, err, "cannot read the metrics");
    sqlite3_bind_int64(s, 1, run_id);
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r->stats = fs_xgrow(r->stats, &cap, r->nstats + 1, sizeof *r->stats);
        point_stat *st = &r->stats[r->nstats++];
        memset(st, 0, sizeof *st);
        snprintf(st->name, sizeof st->name, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(st->stat, sizeof st->stat, "%s", (const char *)sqlite3_column_text(s, 1));
        snprintf(st->unit, sizeof st->unit, "%s", (const char *)sqlite3_column_text(s, 2));
        double x = sqlite3_column_type(s, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 3);
        aggregate(st, &x, isnan(x) ? 0 : 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_fail(db, path, err, "cannot read the metrics");
}

int point_summary(const char *dbpath, const char *sweep, int64_t run_id, point_table *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    bool has_points;
    sqlite3 *db = open_results(dbpath, &has_points, err);
    if (!db) return -1;
    int rc = 0;
    if (!sweep && run_id > 0) {
        char *sw = NULL;
        int64_t pt = -1;
        if (has_points) {
            sqlite3_stmt *s;
            if (sqlite3_prepare_v2(db, "SELECT sweep, point FROM points WHERE run_id = ?", -1, &s, NULL) != SQLITE_OK) {
                rc = db_fail(db, dbpath, err, "cannot read the points");
            } else {
                sqlite3_bind_int64(s, 1, run_id);
                if (sqlite3_step(s) == SQLITE_ROW) {
                    sw = dup_col(s, 0);
                    pt = sqlite3_column_int64(s, 1);
                }
                sqlite3_finalize(s);
            }
        }
        if (rc == 0) rc = sw ? load_points(db, dbpath, sw, true, pt, out, err) : load_lone_run(db, dbpath, run_id, out, err);
        free(sw);
    } else if (has_points) {
        rc = load_points(db, dbpath, sweep, false, 0, out, err);
    }
    sqlite3_close(db);
    if (rc) point_table_fini(out);
    return rc;
}

void point_table_fini(point_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        point_row *r = &t->rows[i];
        free(r->sweep);
        free(r->params);
        free(r->name);
        free(r->run_ids);
        free(r->stats);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

const point_stat *point_row_find(const point_row *r, const char *name, const char *stat)
{
    size_t lo = 0, hi = r->nstats;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->stats[mid].name, name);
        if (c == 0) c = strcmp(r->stats[mid].stat, stat);
        if (c == 0) return &r->stats[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int point_stored(const char *dbpath, const char *sweep, point_key **out, size_t *n, fs_error *err)
{
    *out = NULL;
    *n = 0;
    struct stat sb;
    if (stat(dbpath, &sb) != 0) return 0; /* not created yet */
    bool has_points;
    sqlite3 *db = open_results(dbpath, &has_points, err);
    if (!db) return -1;
    if (!has_points) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT p.point, p.seed_index FROM points p JOIN runs r ON r.id = p.run_id "
                           "WHERE p.sweep = ? AND r.status = 'ok' ORDER BY p.point, p.seed_index", -1, &s, NULL) != SQLITE_OK) {
        db_fail(db, dbpath, err, "cannot read the points");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_bind_text(s, 1, sweep, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = fs_xgrow(*out, &cap, *n + 1, sizeof **out);
        (*out)[*n].point = sqlite3_column_int64(s, 0);
        (*out)[(*n)++].seed_index = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        db_fail(db, dbpath, err, "cannot read the points");
        sqlite3_close(db);
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    sqlite3_close(db);
    return 0;
}
