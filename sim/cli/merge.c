/* fleetsim merge: results databases (the shards of a sweep) into one. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "merge.h"

static const char usage_merge[] =
    "usage: fleetsim merge OUT.db IN.db...\n"
    "\n"
    "Append every run of the IN databases (with its metrics, requests, time series and sweep\n"
    "points) to OUT, created if missing, in one transaction. Runs outside sweeps come first, in\n"
    "the order of the INs; then sweep runs by sweep name, point and seed_index, so merging the\n"
    "shards of a sweep (fleetsim sweep --shard I/N) into a new file gives the rows, run ids\n"
    "included, that the whole sweep would have written in one go; only runs.started_at and\n"
    "runs.ended_at differ.\n"
    "\n"
    "Refused (nothing written): an IN that is not a results database, has a schema that differs\n"
    "from OUT's or is newer than this fleetsim; OUT among the INs; an IN given twice; the same\n"
    "replication of a sweep point stored 'ok' twice (e.g. a shard merged twice).\n"
    "\n"
    "exit status: 0 merged; 1 the database failed while writing; 2 bad usage or input.\n";

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char **ins = fs_xcalloc((size_t)argc + 1, sizeof *ins);
    size_t nin = 0;
    bool dashdash = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage_merge, stdout);
            free(ins);
            return 0;
        }
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (!dashdash && a[0] == '-' && a[1]) {
            free(ins);
            return usage_error("merge: unknown option '%s'", a);
        }
        if (!out) out = a;
        else ins[nin++] = a;
    }
    if (!out || nin == 0) {
        free(ins);
        return usage_error("%s", "merge needs an output database and at least one input (fleetsim merge OUT.db IN.db...)");
    }
    store_merge_input *in = fs_xcalloc(nin, sizeof *in);
    for (size_t i = 0; i < nin; i++) in[i].path = ins[i];
    fs_error err;
    store_merge_result res;
    int rc = store_merge(out, in, nin, &res, &err);
    free(in);
    free(ins);
    if (rc != STORE_MERGE_OK) {
        print_error(&err);
        return rc == STORE_MERGE_BAD_INPUT ? EXIT_INPUT : EXIT_RUN_FAILED;
    }
    if (res.runs)
        fprintf(stderr, "fleetsim: merged %zu runs from %zu databases into %s (runs %lld..%lld)\n", res.runs, nin, out,
                (long long)res.first_id, (long long)res.last_id);
    else
        fprintf(stderr, "fleetsim: the %zu databases hold no runs; %s unchanged\n", nin, out);
    return 0;
}
