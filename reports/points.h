/*
 * points.h — sweep points read back from a results database: per point and per metric, the
 * mean over the point's replications with a 95% confidence interval.
 *
 * A sweep (fleetsim sweep, or any command that writes `points` rows: see store.h) runs each
 * point of a parameter grid N times, replication k with the point's seed + k (common random
 * numbers: replication k of every point sees the same arrivals and lengths). point_summary
 * groups the runs of each point that ended 'ok' and, for every (metric, stat) row they hold,
 * returns over the n runs whose value is not NULL/NaN:
 *
 *     mean       = sum(x) / n
 *     sd         = sqrt(sum((x - mean)^2) / (n - 1))                 sample standard deviation
 *     half_width = t(0.975, n - 1) * sd / sqrt(n)                    Student t, GSL's
 *                                                                    gsl_cdf_tdist_Pinv
 *
 * so the interval mean ± half_width covers the point's true mean 95% of the time if its runs'
 * values are independent and roughly normal. With n < 2, sd and half_width are NaN; with
 * n = 0 (every value NULL), mean is NaN too. Replications of different points share seeds, so
 * the difference between two points is better judged run by run (paired) than by overlapping
 * intervals; the run ids, in seed_index order, are here for that.
 *
 * Ownership: point_summary fills a caller-provided point_table that point_table_fini releases
 * (every string and array in it). The database is opened read-only and closed before return.
 */
#ifndef FS_POINTS_H
#define FS_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "fs_error.h"

/* One metric row of a point, aggregated over its replications. */
typedef struct point_stat {
    char name[40];      /* metrics.name: "ttft"; sizes as fs_metric's */
    char stat[80];      /* metrics.stat: "p99", "value", or what the row is about */
    char unit[16];
    double mean;        /* NaN when n = 0 */
    double sd;          /* sample standard deviation; NaN when n < 2 */
    double half_width;  /* of the 95% confidence interval; NaN when n < 2 */
    int n;              /* replications with a value */
} point_stat;

/* One point of a sweep. */
typedef struct point_row {
    char *sweep;        /* points.sweep; NULL for a run outside any sweep (see point_summary) */
    int64_t point;      /* points.point; -1 outside any sweep */
    char *params;       /* points.params, a JSON object ("{}" outside any sweep) */
    char *name;         /* runs.name of its first run */
    int64_t *run_ids;   /* its 'ok' runs in seed_index order; nruns of them */
    size_t nruns;
    size_t nfailed;     /* its runs that ended 'failed', 'interrupted' or never ended */
    point_stat *stats;  /* sorted by (name, stat) as bytes; nstats of them */
    size_t nstats;
} point_row;

typedef struct point_table {
    point_row *rows;    /* by (sweep, point) */
    size_t n;
} point_table;

/*
 * Read the points of database `db`:
 *   - sweep != NULL: every point of that sweep (none: an empty table, not an error);
 *   - else run_id > 0: the point that run belongs to, all its replications; a run that is no
 *     sweep point makes a row of its own (sweep NULL, point -1, its one run if it is 'ok');
 *   - else every point of every sweep in the database.
 * Returns 0, or -1 with err filled: the file cannot be opened or is not a results database, or
 * run_id names no run. A database from before the points table holds no points.
 */
int point_summary(const char *db, const char *sweep, int64_t run_id, point_table *out, fs_error *err);
void point_table_fini(point_table *t);

/* The row's aggregate of (name, stat), or NULL. O(log nstats). */
const point_stat *point_row_find(const point_row *r, const char *name, const char *stat);

/* The metrics a sweep's table shows, in order, NULL-terminated: what a user weighs first
 * (throughput, goodput, SLO attainment, p99 latencies, cost and energy per unit of work). */
typedef struct point_metric {
    const char *name, *stat;
    const char *label;  /* a short column heading: "p99 TTFT ms" */
} point_metric;
extern const point_metric point_headline[];

/* t(0.975, dof): the factor of a 95% two-sided interval; NaN for dof < 1. */
double point_t975(int dof);

/* One stored replication of a sweep. */
typedef struct point_key {
    int64_t point, seed_index;
} point_key;
/* The replications of `sweep` stored with status 'ok' in `db`, by (point, seed_index), into *out
 * (caller frees; NULL when none). A missing database file holds none. Returns 0 or -1 (err). */
int point_stored(const char *db, const char *sweep, point_key **out, size_t *n, fs_error *err);

#endif
