/*
 * report.h — the HTML report: one self-contained file, drawn from a results database.
 *
 * What it shows, for one run or several side by side: what was simulated (fleet, deployments,
 * router and placement, workload, SLOs, seed, the fleetsim version and commit: all from the
 * runs table), the headline metrics and latency percentiles, and plots drawn by gnuplot as SVG
 * (latency CDFs and percentiles over time from the request rows; load, queue, KV use, replicas,
 * utilisation, cost and power from the time series; with several runs, cost against p99 latency
 * with the SLO and the Pareto front). A plot whose data the run did not store is replaced by a
 * note. The page has no script and no external reference: CSS and SVG are inline, so it opens
 * offline. The same database and runs give the same bytes (nothing depends on when the report
 * was made).
 *
 * Failure leaves no partial file: the page is written to OUT.tmp and renamed to OUT only when
 * complete; on any error OUT.tmp is removed and an existing OUT is left as it was.
 *
 * Ownership: the caller owns every string and array passed in; nothing is kept after return.
 */
#ifndef FS_REPORT_H
#define FS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fs_error.h"

#define REPORT_MAX_RUNS 16

typedef struct report_opts {
    const char *db;       /* results database, opened read-only */
    const int64_t *runs;  /* run ids to show, in this order; none: the last run with status 'ok' */
    size_t nruns;         /* at most REPORT_MAX_RUNS */
    const char *out;      /* the HTML file to write */
} report_opts;

/* Checks that cost nothing and can be made before a long simulation: OUT's folder exists and
 * gnuplot is on PATH. 0, or -1 with err saying what is missing. */
int report_check(const char *out, fs_error *err);

/* Write the report. Errors (the database missing or not a results database, an unknown run, a
 * run that did not finish 'ok' or is not a simulation, gnuplot missing or failing, OUT not
 * writable) return -1 with err filled. On success *first_run (when not NULL) is the first run
 * shown and *bytes (when not NULL) the size of the file. */
int report_write(const report_opts *o, int64_t *first_run, long *bytes, fs_error *err);

#endif
