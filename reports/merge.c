/* Merging results databases: validate every input, order the runs, copy them in one transaction. */
#define _POSIX_C_SOURCE 200809L
#include "merge.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

/* The tables copied per run, and the column that holds the run's id. `points` is written from
 * what was read (see entry), not copied. */
enum { T_RUNS, T_METRICS, T_REQUESTS, T_TIMESERIES, T_POINTS, NTABLES };
static const char *const table_name[NTABLES] = {"runs", "metrics", "requests", "timeseries", "points"};
static const char *const table_key[NTABLES] = {"id", "run_id", "run_id", "run_id", "run_id"};

#define MAX_COLS 32

typedef struct columns {
    int n;
    char *name[MAX_COLS];
} columns;

typedef struct input {
    const char *path;
    sqlite3 *db;
    bool has_points;
    sqlite3_stmt *sel[T_POINTS]; /* one run's rows of each copied table, prepared when first needed */
} input;

/* One run to merge. */
typedef struct entry {
    size_t src;              /* index into the inputs */
    int64_t old_id, new_id;
    char *sweep, *params;    /* sweep NULL: not a sweep point */
    int64_t point, seed_index;
    bool ok;
} entry;

static int sql_fail(sqlite3 *db, const char *path, fs_error *err, const char *what)
{
    fs_error_set(err, path, 0, 0, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return -1;
}

static void columns_fini(columns *c)
{
    for (int i = 0; i < c->n; i++) free(c->name[i]);
    c->n = 0;
}

/* The columns of a table, in order; n = 0 when the table is missing. */
static int table_columns(sqlite3 *db, const char *path, const char *table, columns *out, fs_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *s;
    out->n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return sql_fail(db, path, err, "not a results database");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n == MAX_COLS) {
            sqlite3_finalize(s);
            columns_fini(out);
            return fs_error_set(err, path, 0, 0, "not a results database (table '%s' has over %d columns)", table, MAX_COLS);
        }
        out->name[out->n++] = fs_xstrdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        columns_fini(out);
        return sql_fail(db, path, err, "not a results database");
    }
    return 0;
}

static void format_columns(const columns *c, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < c->n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", c->name[i]);
}

/* user_version no newer than ours; a `runs` table. */
static int check_version(sqlite3 *db, const char *path, fs_error *err)
{
    sqlite3_stmt *s;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    if (version < 0) return sql_fail(db, path, err, "not a results database");
    if (version > STORE_SCHEMA_VERSION)
        return fs_error_set(err, path, 0, 0, "results database has schema version %d; this fleetsim understands up to "
                            "%d (upgrade fleetsim)", version, STORE_SCHEMA_VERSION);
    return 0;
}

/* Every table as in `ref` (the output's); points may be missing (schema 1). */
static int check_schema(sqlite3 *db, const char *path, const columns *ref, const char *ref_path, bool *has_points,
                        fs_error *err)
{
    if (check_version(db, path, err)) return -1;
    *has_points = true;
    for (int t = 0; t < NTABLES; t++) {
        columns c;
        if (table_columns(db, path, table_name[t], &c, err)) return -1;
        if (c.n == 0) {
            if (t == T_POINTS) {
                *has_points = false;
                continue;
            }
            return fs_error_set(err, path, 0, 0, "not a results database (no table '%s')", table_name[t]);
        }
        bool same = c.n == ref[t].n;
        for (int i = 0; same && i < c.n; i++) same = strcmp(c.name[i], ref[t].name[i]) == 0;
        if (!same) {
            char have[512], want[512];
            format_columns(&c, have, sizeof have);
            format_columns(&ref[t], want, sizeof want);
            columns_fini(&c);
            return fs_error_set(err, path, 0, 0, "conflicting schema: table '%s' has columns (%s), %s has (%s)",
                                table_name[t], have, ref_path, want);
        }
        columns_fini(&c);
    }
    return 0;
}

static int cmp_str(const char *a, const char *b)
{
    if (!a || !b) return (a != NULL) - (b != NULL); /* runs outside sweeps first */
    return strcmp(a, b);
}

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int c = cmp_str(a->sweep, b->sweep);
    if (c == 0 && a->sweep) c = cmp_i64(a->point, b->point);
    if (c == 0 && a->sweep) c = cmp_i64(a->seed_index, b->seed_index);
    if (c == 0) c = cmp_i64((int64_t)a->src, (int64_t)b->src);
    if (c == 0) c = cmp_i64(a->old_id, b->old_id);
    return c;
}

/* The runs of input i, placed by its points rows or by the given point. */
static int read_runs(input *in, size_t i, const store_point *point, entry **e, size_t *n, size_t *cap, fs_error *err)
{
    const char *sql = in->has_points
        ? "SELECT r.id, r.status = 'ok', p.sweep, p.point, p.seed_index, p.params FROM runs r "
          "LEFT JOIN points p ON p.run_id = r.id ORDER BY r.id"
        : "SELECT id, status = 'ok', NULL, NULL, NULL, NULL FROM runs ORDER BY id";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(in->db, sql, -1, &s, NULL) != SQLITE_OK) return sql_fail(in->db, in->path, err, "cannot read the runs");
    size_t first = *n;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (point && *n > first) {
            sqlite3_finalize(s);
            return fs_error_set(err, in->path, 0, 0, "holds more than one run; expected the one run of sweep '%s' point "
                                "%lld seed_index %lld", point->sweep, (long long)point->point,
                                (long long)point->seed_index);
        }
        *e = fs_xgrow(*e, cap, *n + 1, sizeof **e);
        entry *x = &(*e)[(*n)++];
        memset(x, 0, sizeof *x);
        x->src = i;
        x->old_id = sqlite3_column_int64(s, 0);
        x->ok = sqlite3_column_int(s, 1) != 0;
        if (point) {
            x->sweep = fs_xstrdup(point->sweep);
            x->params = fs_xstrdup(point->params);
            x->point = point->point;
            x->seed_index = point->seed_index;
        } else if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
            x->sweep = fs_xstrdup((const char *)sqlite3_column_text(s, 2));
            x->point = sqlite3_column_int64(s, 3);
            x->seed_index = sqlite3_column_int64(s, 4);
            const unsigned char *p = sqlite3_column_text(s, 5);
            x->params = fs_xstrdup(p ? (const char *)p : "{}");
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(in->db, in->path, err, "cannot read the runs");
}

/* Two 'ok' runs of one replication: among the inputs (sorted), or one already in the output. */
static int check_duplicates(sqlite3 *out, const char *out_path, const input *in, const entry *e, size_t n, fs_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!e[i].sweep || !e[i].ok) continue;
        for (size_t j = i + 1; j < n && e[j].sweep && strcmp(e[j].sweep, e[i].sweep) == 0 &&
                               e[j].point == e[i].point && e[j].seed_index == e[i].seed_index; j++)
            if (e[j].ok)
                return fs_error_set(err, in[e[j].src].path, 0, 0, "sweep '%s' point %lld seed_index %lld is also in %s "
                                    "(run %lld); merging the same shard twice?", e[i].sweep, (long long)e[i].point,
                                    (long long)e[i].seed_index, in[e[i].src].path, (long long)e[i].old_id);
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(out, "SELECT r.id FROM points p JOIN runs r ON r.id = p.run_id WHERE p.sweep = ? AND "
                           "p.point = ? AND p.seed_index = ? AND r.status = 'ok'", -1, &s, NULL) != SQLITE_OK)
        return sql_fail(out, out_path, err, "cannot read the points");
    for (size_t i = 0; i < n; i++) {
        if (!e[i].sweep || !e[i].ok) continue;
        sqlite3_bind_text(s, 1, e[i].sweep, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, e[i].point);
        sqlite3_bind_int64(s, 3, e[i].seed_index);
        int rc = sqlite3_step(s);
        int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        if (rc == SQLITE_ROW) {
            sqlite3_finalize(s);
            return fs_error_set(err, in[e[i].src].path, 0, 0, "sweep '%s' point %lld seed_index %lld is already in %s "
                                "(run %lld)", e[i].sweep, (long long)e[i].point, (long long)e[i].seed_index, out_path,
                                (long long)id);
        }
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(s);
            return sql_fail(out, out_path, err, "cannot read the points");
        }
    }
    sqlite3_finalize(s);
    return 0;
}

/* "SELECT a, b FROM t WHERE key = ? ORDER BY rowid" or "INSERT INTO t (a, b) VALUES (?, ?)" */
static char *table_sql(int t, const columns *c, bool insert)
{
    size_t size = 320;
    for (int i = 0; i < c->n; i++) size += strlen(c->name[i]) + 8;
    char *sql = fs_xmalloc(size);
    size_t len = (size_t)snprintf(sql, size, insert ? "INSERT INTO %s (" : "SELECT ", table_name[t]);
    for (int i = 0; i < c->n; i++) len += (size_t)snprintf(sql + len, size - len, "%s\"%s\"", i ? ", " : "", c->name[i]);
    if (insert) {
        len += (size_t)snprintf(sql + len, size - len, ") VALUES (");
        for (int i = 0; i < c->n; i++) len += (size_t)snprintf(sql + len, size - len, "%s?", i ? ", " : "");
        snprintf(sql + len, size - len, ")");
    } else {
        /* A run's rows were written in one go, so their rowids are (nearly always) one range: scan
         * it in rowid order (the + keeps SQLite off the index, whose lookups cost 5 to 20 times
         * more than the scan for a run of 10^5 samples); the bounds come from the index. */
        snprintf(sql + len, size - len, " FROM %s WHERE rowid BETWEEN (SELECT min(rowid) FROM %s WHERE \"%s\" = ?1) "
                 "AND (SELECT max(rowid) FROM %s WHERE \"%s\" = ?1) AND +\"%s\" = ?1 ORDER BY rowid", table_name[t],
                 table_name[t], table_key[t], table_name[t], table_key[t], table_key[t]);
    }
    return sql;
}

static int key_column(const columns *c, int t)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->name[i], table_key[t]) == 0) return i;
    return -1;
}

/* Copy one run's rows of table t from its input, its id replaced. */
static int copy_rows(sqlite3 *out, const char *out_path, input *in, sqlite3_stmt *ins, int t, const columns *c,
                     const entry *e, fs_error *err)
{
    if (!in->sel[t]) {
        char *sql = table_sql(t, c, false);
        int rc = sqlite3_prepare_v2(in->db, sql, -1, &in->sel[t], NULL);
        free(sql);
        if (rc != SQLITE_OK) return sql_fail(in->db, in->path, err, "cannot read the runs");
    }
    sqlite3_stmt *sel = in->sel[t];
    int key = key_column(c, t);
    sqlite3_bind_int64(sel, 1, e->old_id);
    int rc;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        for (int i = 0; i < c->n; i++) {
            if (i == key) sqlite3_bind_int64(ins, i + 1, e->new_id);
            else sqlite3_bind_value(ins, i + 1, sqlite3_column_value(sel, i));
        }
        int w = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (w != SQLITE_DONE) {
            sqlite3_reset(sel);
            return sql_fail(out, out_path, err, "cannot write the merged runs");
        }
    }
    sqlite3_reset(sel);
    return rc == SQLITE_DONE ? 0 : sql_fail(in->db, in->path, err, "cannot read the runs");
}

static int copy_all(sqlite3 *out, const char *out_path, input *in, entry *e, size_t n, const columns *ref,
                    store_merge_result *res, fs_error *err)
{
    sqlite3_stmt *max, *ins[NTABLES] = {0};
    if (sqlite3_prepare_v2(out, "SELECT coalesce(max(id), 0) FROM runs", -1, &max, NULL) != SQLITE_OK)
        return sql_fail(out, out_path, err, "cannot read the runs");
    int64_t base = sqlite3_step(max) == SQLITE_ROW ? sqlite3_column_int64(max, 0) : -1;
    sqlite3_finalize(max);
    if (base < 0) return sql_fail(out, out_path, err, "cannot read the runs");
    int rc = 0;
    for (int t = 0; t < T_POINTS && rc == 0; t++) {
        char *sql = table_sql(t, &ref[t], true);
        if (sqlite3_prepare_v2(out, sql, -1, &ins[t], NULL) != SQLITE_OK) rc = sql_fail(out, out_path, err, "cannot write the merged runs");
        free(sql);
    }
    if (rc == 0 && sqlite3_prepare_v2(out, "INSERT INTO points (run_id, sweep, point, seed_index, params) VALUES (?,?,?,?,?)",
                                      -1, &ins[T_POINTS], NULL) != SQLITE_OK)
        rc = sql_fail(out, out_path, err, "cannot write the merged runs");
    for (size_t i = 0; i < n && rc == 0; i++) {
        e[i].new_id = base + 1 + (int64_t)i;
        for (int t = 0; t < T_POINTS && rc == 0; t++)
            rc = copy_rows(out, out_path, &in[e[i].src], ins[t], t, &ref[t], &e[i], err);
        if (rc == 0 && e[i].sweep) {
            sqlite3_stmt *p = ins[T_POINTS];
            sqlite3_bind_int64(p, 1, e[i].new_id);
            sqlite3_bind_text(p, 2, e[i].sweep, -1, SQLITE_STATIC);
            sqlite3_bind_int64(p, 3, e[i].point);
            sqlite3_bind_int64(p, 4, e[i].seed_index);
            sqlite3_bind_text(p, 5, e[i].params, -1, SQLITE_STATIC);
            if (sqlite3_step(p) != SQLITE_DONE) rc = sql_fail(out, out_path, err, "cannot write the merged runs");
            sqlite3_reset(p);
        }
    }
    for (int t = 0; t < NTABLES; t++) sqlite3_finalize(ins[t]);
    if (rc == 0) {
        res->runs = n;
        res->first_id = n ? base + 1 : 0;
        res->last_id = n ? base + (int64_t)n : 0;
    }
    return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int store_merge(const char *out_path, const store_merge_input *inputs, size_t nin, store_merge_result *res,
                fs_error *err)
{
    memset(res, 0, sizeof *res);
    int code = STORE_MERGE_BAD_INPUT;
    struct stat out_st, *in_st = fs_xcalloc(nin + 1, sizeof *in_st);
    bool out_exists = stat(out_path, &out_st) == 0;
    bool created = false; /* made here: removed again if the merge is refused or fails */
    input *in = fs_xcalloc(nin + 1, sizeof *in);
    entry *e = NULL;
    size_t n = 0, cap = 0;
    columns ref[NTABLES] = {0};
    sqlite3 *out = NULL;

    /* an existing output must already be a results database: never add tables to another file */
    if (out_exists && out_st.st_size > 0) {
        if (sqlite3_open_v2(out_path, &out, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sql_fail(out, out_path, err, "cannot open results database");
            goto done;
        }
        columns runs;
        if (check_version(out, out_path, err) || table_columns(out, out_path, "runs", &runs, err)) goto done;
        bool has_runs = runs.n > 0;
        columns_fini(&runs);
        if (!has_runs) {
            fs_error_set(err, out_path, 0, 0, "not a results database (no table 'runs'); refusing to merge into it");
            goto done;
        }
        sqlite3_close(out);
        out = NULL;
    }
    created = !out_exists;
    store *st = store_open(out_path, err); /* creates or upgrades the schema */
    if (!st) goto done;
    store_close(st);
    if (stat(out_path, &out_st) != 0) {
        fs_error_set(err, out_path, 0, 0, "cannot find the results database just opened");
        goto done;
    }
    if (sqlite3_open_v2(out_path, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sql_fail(out, out_path, err, "cannot open results database");
        goto done;
    }
    sqlite3_busy_timeout(out, 60000);
    sqlite3_exec(out, "PRAGMA cache_size = -65536", NULL, NULL, NULL); /* 64 MiB: index pages of big time series */
    for (int t = 0; t < NTABLES; t++)
        if (table_columns(out, out_path, table_name[t], &ref[t], err)) goto done;

    for (size_t i = 0; i < nin; i++) {
        in[i].path = inputs[i].path;
        if (stat(in[i].path, &in_st[i]) != 0) {
            fs_error_set(err, in[i].path, 0, 0, "no such results database");
            goto done;
        }
        if (same_file(&in_st[i], &out_st)) {
            fs_error_set(err, in[i].path, 0, 0, "is the output database; merge into a new file");
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (same_file(&in_st[i], &in_st[j])) {
                fs_error_set(err, in[i].path, 0, 0, "given twice (also as '%s')", in[j].path);
                goto done;
            }
        if (sqlite3_open_v2(in[i].path, &in[i].db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            sql_fail(in[i].db, in[i].path, err, "cannot open results database");
            goto done;
        }
        sqlite3_busy_timeout(in[i].db, 5000);
        if (check_schema(in[i].db, in[i].path, ref, out_path, &in[i].has_points, err) ||
            read_runs(&in[i], i, inputs[i].point, &e, &n, &cap, err))
            goto done;
    }
    if (n) qsort(e, n, sizeof *e, entry_cmp);
    if (check_duplicates(out, out_path, in, e, n, err)) goto done;

    code = STORE_MERGE_FAILED;
    char *msg = NULL;
    if (sqlite3_exec(out, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
        fs_error_set(err, out_path, 0, 0, "cannot write the merged runs: %s", msg ? msg : sqlite3_errmsg(out));
        sqlite3_free(msg);
        goto done;
    }
    int rc = copy_all(out, out_path, in, e, n, ref, res, err);
    if (rc == 0 && sqlite3_exec(out, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(out, out_path, err, "cannot commit the merged runs");
    if (rc) {
        sqlite3_exec(out, "ROLLBACK", NULL, NULL, NULL);
        memset(res, 0, sizeof *res);
        goto done;
    }
    code = STORE_MERGE_OK;
done:
    for (size_t i = 0; i < nin; i++) {
        for (int t = 0; t < T_POINTS; t++) sqlite3_finalize(in[i].sel[t]);
        sqlite3_close(in[i].db);
    }
    for (size_t i = 0; i < n; i++) {
        free(e[i].sweep);
        free(e[i].params);
    }
    for (int t = 0; t < NTABLES; t++) columns_fini(&ref[t]);
    free(e);
    free(in);
    free(in_st);
    sqlite3_close(out);
    if (code != STORE_MERGE_OK && created) {
        unlink(out_path);
        size_t size = strlen(out_path) + 16;
        char *journal = fs_xmalloc(size);
        snprintf(journal, size, "%s-journal", out_path);
        unlink(journal);
        free(journal);
    }
    return code;
}
