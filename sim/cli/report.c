/* `fleetsim report DB [--run ID]... [-o FILE]`: the HTML report of stored runs (reports/report.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "report.h"

static const char usage_report[] =
    "usage: fleetsim report DB [--run ID]... [-o FILE]\n"
    "\n"
    "Write one self-contained HTML file (inline CSS and SVG, no scripts, opens offline) about runs\n"
    "stored in the results database DB: what was simulated (fleet, deployments, router, workload,\n"
    "SLOs, seed, fleetsim version), the headline metrics and latency percentiles, and plots drawn\n"
    "by gnuplot: TTFT, TPOT and E2E CDFs and p50/p99 over time (from the request rows: store them\n"
    "with run --requests or --report), arrivals and completions, queue and KV use, replicas and\n"
    "utilisation, cost and power over time. With several --run, one line per run on every plot\n"
    "and a chart of cost against p99 latency with the SLO and the Pareto front.\n"
    "\n"
    "options:\n"
    "  --run ID           a run to show (repeatable, in this order; at most 16); default: the last\n"
    "                     run with status 'ok'\n"
    "  -o, --output FILE  the HTML file (default report.html); written as FILE.tmp, then renamed\n"
    "  -h, --help         this text\n"
    "\n"
    "Needs gnuplot (Debian: gnuplot-nox). The same database and runs give the same file.\n"
    "exit status: 0 written; 2 bad usage or input (no such database or run, a run that did not\n"
    "finish 'ok', gnuplot missing or failing, FILE not writable); nothing is written then.\n";

int cmd_report(int argc, char **argv)
{
    const char *db = NULL, *out = "report.html";
    int64_t *runs = fs_xcalloc((size_t)argc + 1, sizeof *runs);
    size_t nruns = 0;
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_report, stdout);
            free(runs);
            return 0;
        } else if (strcmp(arg, "--run") == 0 || strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            if (i + 1 >= argc) rc = usage_error("option %s needs a value", arg);
            else if (strcmp(arg, "--run") != 0) out = argv[++i];
            else {
                uint64_t id;
                const char *v = argv[++i];
                if (cli_parse_u64(v, &id) || id == 0 || id > INT64_MAX)
                    rc = usage_error("--run: expected a run id (a positive integer), got '%s'", v);
                else runs[nruns++] = (int64_t)id;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            rc = usage_error("unknown option '%s'", arg);
        } else if (!db) {
            db = arg;
        } else {
            rc = usage_error("unexpected argument '%s' (one database per report)", arg);
        }
    }
    if (!rc && !db) rc = usage_error("%s", "report needs a results database (e.g. results.db)");
    if (!rc && nruns > REPORT_MAX_RUNS)
        rc = usage_error("at most %d runs in one report, got %zu", REPORT_MAX_RUNS, nruns);
    if (rc) {
        free(runs);
        return rc;
    }
    fs_error err;
    report_opts o = {db, runs, nruns, out};
    int64_t first = 0;
    long bytes = 0;
    rc = report_write(&o, &first, &bytes, &err);
    free(runs);
    if (rc) {
        print_error(&err);
        return EXIT_INPUT;
    }
    if (nruns > 1) fprintf(stderr, "fleetsim: report of %zu runs written to %s (%ld KiB)\n", nruns, out, (bytes + 1023) / 1024);
    else fprintf(stderr, "fleetsim: report of run %lld written to %s (%ld KiB)\n", (long long)first, out, (bytes + 1023) / 1024);
    return 0;
}
