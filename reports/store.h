/*
 * store.h — the results store: one SQLite file holding every run.
 *
 * Schema (PRAGMA user_version = STORE_SCHEMA_VERSION):
 *   runs(id, name, scenario_json, seed, version, git_commit, started_at, ended_at, status, error)
 *       status: 'running' while a run is in progress, then 'ok', 'failed' or 'interrupted'
 *   metrics(run_id, name, stat, value, unit)        long format: ('ttft', 'p99', 812.5, 'ms')
 *   requests(run_id, id, deployment, replica, arrival_s, start_s, first_token_s, done_s,
 *            input_tokens, output_tokens, preemptions, cached_tokens, finished, rejected,
 *            measured)                                 only when asked for
 *   timeseries(run_id, t_s, name, value)
 *   points(run_id, sweep, point, seed_index, params)  a run that is one replication of one point
 *       of a sweep (or search, or sizing): `sweep` names it (e.g. "sweep-2026-11-23T02:30:00Z-ab12"),
 *       `point` numbers its parameter combinations from 0, `seed_index` its replications from 0
 *       (replication k of every point uses the same seed: common random numbers), `params` the
 *       JSON object of the point's settings ({"router.policy": "random", ...}).
 *
 * Transactions: store_run_begin commits the run's row ('running') on its own, then opens one
 * transaction for everything the run writes. store_run_end commits it and marks the run 'ok';
 * store_run_abort rolls it back and marks the run failed or interrupted, in a transaction of its
 * own. So a failed, interrupted or killed run never leaves half its rows, and never touches
 * earlier runs. (A run killed outright stays 'running', with no rows.)
 *
 * Ownership: store_open returns a handle released by store_close. Strings passed in are copied
 * by SQLite.
 */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <stdint.h>

#include "fs_error.h"
#include "stats.h"

#define STORE_SCHEMA_VERSION 2 /* 2: the points table */

typedef struct store store;

typedef struct store_run_info {
    const char *name;
    const char *scenario_json;
    uint64_t seed;
    const char *version;
    const char *git_commit; /* "" when unknown */
} store_run_info;

typedef struct store_request {
    uint64_t id;
    uint32_t deployment;
    int64_t replica; /* -1 when never routed to a replica (stored as NULL) */
    double arrival_s, start_s, first_token_s, done_s; /* NaN when it never happened */
    int32_t input_tokens, output_tokens, preemptions, cached_tokens;
    int finished, rejected, measured;
} store_request;

store *store_open(const char *path, fs_error *err);
void store_close(store *st);

int store_run_begin(store *st, const store_run_info *info, int64_t *run_id, fs_error *err);
int store_request_add(store *st, int64_t run_id, const store_request *r, fs_error *err);
int store_sample_add(store *st, int64_t run_id, double t_s, const char *name, double value, fs_error *err);
int store_metrics_add(store *st, int64_t run_id, const fs_metrics *m, fs_error *err);

typedef struct store_point {
    const char *sweep;
    int64_t point, seed_index;
    const char *params;       /* JSON object text */
} store_point;
/* Inside the run's transaction, like the other rows. */
int store_point_add(store *st, int64_t run_id, const store_point *p, fs_error *err);
int store_run_end(store *st, int64_t run_id, fs_error *err);
/* status: "failed" or "interrupted"; message may be NULL. */
int store_run_abort(store *st, int64_t run_id, const char *status, const char *message, fs_error *err);

#endif
