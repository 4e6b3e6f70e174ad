#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ins_request, *ins_sample, *ins_metric;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  scenario_json TEXT NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  version TEXT NOT NULL,"
    "  git_commit TEXT,"
    "  started_at TEXT NOT NULL,"
    "  ended_at TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),"
    "  error TEXT);"
    "CREATE TABLE IF NOT EXISTS metrics ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id),"
    "  name TEXT NOT NULL, stat TEXT NOT NULL, value REAL, unit TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, name, stat));"
    "CREATE TABLE IF NOT EXISTS requests ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id),"
    "  id INTEGER NOT NULL, deployment INTEGER NOT NULL, replica INTEGER,"
    "  arrival_s REAL NOT NULL, start_s REAL, first_token_s REAL, done_s REAL,"
    "  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,"
    "  preemptions INTEGER NOT NULL, cached_tokens INTEGER NOT NULL,"
    "  finished INTEGER NOT NULL, rejected INTEGER NOT NULL, measured INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, id));"
    "CREATE TABLE IF NOT EXISTS timeseries ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id),"
    "  t_s REAL NOT NULL, name TEXT NOT NULL, value REAL);"
    "CREATE INDEX IF NOT EXISTS timeseries_run ON timeseries(run_id, name, t_s);"
    "CREATE TABLE IF NOT EXISTS points ("
    "  run_id INTEGER PRIMARY KEY REFERENCES runs(id),"
    "  sweep TEXT NOT NULL, point INTEGER NOT NULL, seed_index INTEGER NOT NULL, params TEXT NOT NULL);";

static int db_error(store *st, fs_error *err, const char *what)
{
    return fs_error_set(err, st->path, 0, 0, "%s: %s", what, sqlite3_errmsg(st->db));
}

static int exec(store *st, const char *sql, fs_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fs_error_set(err, st->path, 0, 0, "database error: %s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static void now_iso(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void store_close(store *st)
{
    if (!st) return;
    sqlite3_finalize(st->ins_request);
    sqlite3_finalize(st->ins_sample);
    sqlite3_finalize(st->ins_metric);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

store *store_open(const char *path, fs_error *err)
{
    store *st = fs_xcalloc(1, sizeof *st);
    st->path = fs_xstrdup(path);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fs_error_set(err, path, 0, 0, "cannot open results database: %s",
                     st->db ? sqlite3_errmsg(st->db) : "out of memory");
        store_close(st);
        return NULL;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_stmt *v;
    int version = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW) version = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    if (version < 0) {
        db_error(st, err, "not a results database");
        store_close(st);
        return NULL;
    }
    if (version > STORE_SCHEMA_VERSION) {
        fs_error_set(err, path, 0, 0, "results database has schema version %d; this fleetsim "
                     "understands up to %d (upgrade fleetsim)", version, STORE_SCHEMA_VERSION);
        store_close(st);
        return NULL;
    }
    char sql[sizeof schema + 128];
    snprintf(sql, sizeof sql, "BEGIN; %s PRAGMA user_version = %d; COMMIT;", schema, STORE_SCHEMA_VERSION);
    if (exec(st, sql, err)) {
        exec(st, "ROLLBACK", NULL);
        store_close(st);
        return NULL;
    }
    if (sqlite3_prepare_v2(st->db, "INSERT INTO requests VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                           &st->ins_request, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT INTO timeseries VALUES (?,?,?,?)", -1, &st->ins_sample, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT INTO metrics VALUES (?,?,?,?,?)", -1, &st->ins_metric, NULL) != SQLITE_OK) {
        db_error(st, err, "cannot prepare statements");
        store_close(st);
        return NULL;
    }
    return st;
}

int store_run_begin(store *st, const store_run_info *info, int64_t *run_id, fs_error *err)
{
    sqlite3_stmt *s;
    char ts[32];
    now_iso(ts, sizeof ts);
    if (sqlite3_prepare_v2(st->db, "INSERT INTO runs (name, scenario_json, seed, version, git_commit, "
                           "started_at, status) VALUES (?,?,?,?,?,?,'running')", -1, &s, NULL) != SQLITE_OK)
        return db_error(st, err, "cannot record the run");
    sqlite3_bind_text(s, 1, info->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, info->scenario_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)info->seed);
    sqlite3_bind_text(s, 4, info->version, -1, SQLITE_TRANSIENT);
    if (info->git_commit && info->git_commit[0]) sqlite3_bind_text(s, 5, info->git_commit, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, 5);
    sqlite3_bind_text(s, 6, ts, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return db_error(st, err, "cannot record the run");
    *run_id = sqlite3_last_insert_rowid(st->db);
    return exec(st, "BEGIN", err);
}

static void bind_time(sqlite3_stmt *s, int i, double v)
{
    if (isnan(v)) sqlite3_bind_null(s, i);
    else sqlite3_bind_double(s, i, v);
}

static int step_reset(store *st, sqlite3_stmt *s, fs_error *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_error(st, err, what);
}

int store_request_add(store *st, int64_t run_id, const store_request *r, fs_error *err)
{
    sqlite3_stmt *s = st->ins_request;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)r->id);
    sqlite3_bind_int(s, 3, (int)r->deployment);
    if (r->replica < 0) sqlite3_bind_null(s, 4);
    else sqlite3_bind_int64(s, 4, r->replica);
    bind_time(s, 5, r->arrival_s);
    bind_time(s, 6, r->start_s);
    bind_time(s, 7, r->first_token_s);
    bind_time(s, 8, r->done_s);
    sqlite3_bind_int(s, 9, r->input_tokens);
    sqlite3_bind_int(s, 10, r->output_tokens);
    sqlite3_bind_int(s, 11, r->preemptions);
    sqlite3_bind_int(s, 12, r->cached_tokens);
    sqlite3_bind_int(s, 13, r->finished);
    sqlite3_bind_int(s, 14, r->rejected);
    sqlite3_bind_int(s, 15, r->measured);
    return step_reset(st, s, err, "cannot store a request");
}

int store_sample_add(store *st, int64_t run_id, double t_s, const char *name, double value, fs_error *err)
{
    sqlite3_stmt *s = st->ins_sample;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_double(s, 2, t_s);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    bind_time(s, 4, value);
    return step_reset(st, s, err, "cannot store a time-series point");
}

int store_point_add(store *st, int64_t run_id, const store_point *p, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO points VALUES (?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
        return db_error(st, err, "cannot prepare statements");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_text(s, 2, p->sweep, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, p->point);
    sqlite3_bind_int64(s, 4, p->seed_index);
    sqlite3_bind_text(s, 5, p->params, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_error(st, err, "cannot store a sweep point");
    sqlite3_finalize(s);
    return rc;
}

int store_metrics_add(store *st, int64_t run_id, const fs_metrics *m, fs_error *err)
{
    sqlite3_stmt *s = st->ins_metric;
    for (size_t i = 0; i < m->n; i++) {
        sqlite3_bind_int64(s, 1, run_id);
        sqlite3_bind_text(s, 2, m->v[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, m->v[i].stat, -1, SQLITE_STATIC);
        bind_time(s, 4, m->v[i].value);
        sqlite3_bind_text(s, 5, m->v[i].unit, -1, SQLITE_STATIC);
        if (step_reset(st, s, err, "cannot store a metric")) return -1;
    }
    return 0;
}

static int set_status(store *st, int64_t run_id, const char *status, const char *message, fs_error *err)
{
    sqlite3_stmt *s;
    char ts[32];
    now_iso(ts, sizeof ts);
    if (sqlite3_prepare_v2(st->db, "UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(st, err, "cannot update the run");
    sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
    if (message) sqlite3_bind_text(s, 3, message, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, 3);
    sqlite3_bind_int64(s, 4, run_id);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_error(st, err, "cannot update the run");
}

int store_run_end(store *st, int64_t run_id, fs_error *err)
{
    if (set_status(st, run_id, "ok", NULL, err) || exec(st, "COMMIT", err)) {
        exec(st, "ROLLBACK", NULL);
        return -1;
    }
    return 0;
}

int store_run_abort(store *st, int64_t run_id, const char *status, const char *message, fs_error *err)
{
    if (!sqlite3_get_autocommit(st->db)) exec(st, "ROLLBACK", NULL);
    return set_status(st, run_id, status, message, err);
}
