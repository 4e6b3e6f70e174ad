/*
 * report_internal.h — what the report's two files share. Private to reports/.
 *
 * report.c opens the database, checks and loads the runs, writes the page and its tables;
 * report_plot.c queries the series and request rows, builds one gnuplot script per plot and
 * writes each plot's section. Both write to r->out; r owns the runs and the database handle.
 */
#ifndef FS_REPORT_INTERNAL_H
#define FS_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <sqlite3.h>

#include "fs_error.h"

typedef struct report_run {
    int64_t id;
    char *name, *version, *git_commit, *started_at, *ended_at; /* git_commit, ended_at: "" when NULL */
    uint64_t seed;
    json_t *sc;        /* the resolved scenario (runs.scenario_json), owned */
    char label[200];   /* "run 3: name" (plain text; escape it for HTML) */
    bool has_requests; /* request rows were stored */
    bool llm;          /* some deployment is of kind "llm" */
} report_run;

typedef struct report {
    sqlite3 *db;
    const char *db_path;
    report_run *runs;
    size_t nruns;
    FILE *out;
    int nplots;            /* plots drawn so far: their SVG ids get the prefix "pN-" */
    sqlite3_stmt *metric;  /* SELECT value FROM metrics WHERE run_id = ? AND name = ? AND stat = ? */
} report;

/* Text with & < > " ' escaped, for element content and quoted attributes. */
void report_html(FILE *f, const char *s);

/* A stored metric: 1 and *v (NaN for a stored NULL) when the run has it, 0 when not, -1 on a
 * database error (err filled). */
int report_metric(report *r, const report_run *run, const char *name, const char *stat, double *v, fs_error *err);

/* A number for people: "n/a" for NaN, thousands grouped, decimals by magnitude. */
void report_number(char *buf, size_t size, double v);

/* The plot sections, in order: latency distributions, latency over time, load, capacity, cost
 * and power, and with several runs cost against tail latency. A plot whose data is absent is
 * replaced by a note saying why. */
int report_plots(report *r, fs_error *err);

#endif
