/*
 * cli.h — the fleetsim command line: the one place that ties scenarios, workloads, models and
 * the results store together. main() only calls fleetsim_main.
 *
 * Exit codes: 0 success; 1 a run that could not be completed for reasons other than its input
 * (the results database failed); 2 usage or input error (bad scenario, bad trace row); 130
 * interrupted (Ctrl-C), with the run marked 'interrupted' in the database.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stdio.h>

#include "stats.h"

int fleetsim_main(int argc, char **argv);

/* The run summary as a table (what `fleetsim run` prints) and as one JSON object with vLLM
 * benchmark key names (`--json`). Both print only figures that are in `m`. */
void cli_print_summary(FILE *out, const char *name, unsigned long long seed, const fs_metrics *m);
void cli_print_json(FILE *out, const fs_metrics *m);

#endif
