/*
 * cli_internal.h — what the command-line files share. Private to sim/cli/.
 */
#ifndef FS_CLI_INTERNAL_H
#define FS_CLI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "scenario.h"
#include "sim.h"

#define EXIT_RUN_FAILED 1
#define EXIT_INPUT 2
#define EXIT_INTERRUPTED 130

/* "fleetsim: <formatted error>" on stderr. */
void print_error(const fs_error *err);
/* "fleetsim: <message>" and a pointer to --help on stderr; returns EXIT_INPUT. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_parse_u64(const char *s, uint64_t *out);
/* --sort's window in seconds, > 0: 0, or a usage error (EXIT_INPUT). */
int cli_parse_sort(const char *v, double *out);

/* How to run a loaded scenario. */
typedef struct cli_run {
    const char *db;             /* results database, or NULL for none */
    bool store_requests;        /* one row per request in the database */
    const sim_sink *observer;   /* also sees every request row and sample (may be NULL) */
    void (*finish)(void *ctx, fs_metrics *m); /* adds metrics before they are stored (may be NULL) */
    void *ctx;
    int64_t run_id;             /* out: the stored run's id */
} cli_run;

/* Open the sources, store and simulate; on success *m holds the metrics (caller frees). Returns
 * the exit status, having printed any error. Ctrl-C stops the run (status 130). */
int cli_execute(scenario *sc, cli_run *o, fs_metrics *m);

/* the commands besides run (replay.c, inspect.c, place.c) */
int cmd_replay(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_place(int argc, char **argv);
/* calibrate.c */
int cmd_calibrate(int argc, char **argv);
int cmd_validate(int argc, char **argv);
/* sweep.c, merge.c, export.c: sweeps over a parameter grid, shard merging, exports */
int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* search.c, size.c: capacity questions (probe_run.h holds what they share) */
int cmd_search(int argc, char **argv);
int cmd_size(int argc, char **argv);
/* compare.c: fleetsim compare (the CI regression gate's verdict) */
int cmd_compare(int argc, char **argv);
/* report.c: fleetsim report (the HTML report) */
int cmd_report(int argc, char **argv);

#endif
