/* fleetsim compare: the command line over reports/compare.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "compare.h"

static const char usage_compare[] =
    "usage: fleetsim compare BASE CAND [options]\n"
    "\n"
    "Compare the metrics of CAND (candidate) with those of BASE (baseline): per metric the old\n"
    "and new value, the change and a verdict; exit 1 when a metric crossed its threshold the bad\n"
    "way. BASE and CAND are each:\n"
    "  FILE.db          a results database: its last ok run (with the other replications of\n"
    "                   its sweep point, if it is one)\n"
    "  FILE.db:ID       run ID of the database (likewise)\n"
    "  FILE.db:all      every scenario in it: the latest ok run of each run name, and each\n"
    "                   sweep point's replications\n"
    "  FILE.json        an export (fleetsim export --format json): every run in it, grouped as\n"
    "                   with :all (FILE.json:ID picks one run)\n"
    "Runs are paired by name (and sweep-point params); one run or point on each side is paired\n"
    "whatever the names.\n"
    "\n"
    "options:\n"
    "  --threshold METRIC:CHANGE\n"
    "                   fail when METRIC changes by more than CHANGE the bad way (repeatable;\n"
    "                   replaces a default for the same metric). METRIC: a flat key as\n"
    "                   `fleetsim run --json` prints it (p99_ttft_ms, request_goodput) or\n"
    "                   NAME:STAT (ttft:p99); p50 means median. CHANGE: +N% fails a rise of more\n"
    "                   than N%, -N% a fall; +Nms, -N (the metric's unit), -Npt (percentage\n"
    "                   points, for metrics in %) are absolute; off drops the threshold\n"
    "  --no-default-thresholds\n"
    "                   only the --threshold ones (defaults below)\n"
    "  --format F       text (default), md (Markdown, for CI summaries) or json\n"
    "  --all            list every metric, not only the thresholded ones and those that changed\n"
    "  -h, --help       this text\n"
    "\n"
    "default thresholds: median and p99 of TTFT, TPOT and E2E +10%; request goodput, request\n"
    "and output throughput -5%; SLO attainment -1pt; cost per 1k requests and per 1M input and\n"
    "output tokens +5%; energy per token +10%.\n"
    "\n"
    "verdicts: ok (within the threshold, or 1% for a metric without one); better; worse (no\n"
    "threshold, beyond 1% the bad way); changed (no known direction); REGRESSION (beyond the\n"
    "threshold the bad way); missing (a number on one side only); noise: beyond the threshold\n"
    "but not significant at 95%, judged when a side has replications (several runs of one sweep\n"
    "point): Welch's t-test on the means; noise never fails. With one run per side every change\n"
    "counts.\n"
    "\n"
    "exit status: 0 pass; 1 regression (or a thresholded metric, or a scenario, of BASE missing\n"
    "in CAND); 2 bad usage or input.\n";

int cmd_compare(int argc, char **argv)
{
    const char *spec[2] = {NULL, NULL};
    int nspec = 0;
    compare_format fmt = COMPARE_TEXT;
    bool all = false, no_defaults = false;
    compare_threshold *th = fs_xcalloc((size_t)argc + 1, sizeof *th);
    size_t nth = 0;
    fs_error err;
    int code = EXIT_INPUT;
    compare_side *base = NULL, *cand = NULL;
    compare_result *res = NULL;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_compare, stdout);
            code = 0;
            goto out;
        } else if (strcmp(a, "--threshold") == 0 || strncmp(a, "--threshold=", 12) == 0) {
            const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                usage_error("option %s needs a value (METRIC:CHANGE, e.g. p99_ttft_ms:+10%%)", a);
                goto out;
            }
            if (compare_threshold_parse(v, &th[nth], &err)) {
                usage_error("--threshold: %s", err.msg);
                goto out;
            }
            nth++;
        } else if (strcmp(a, "--format") == 0 || strncmp(a, "--format=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                usage_error("option %s needs a value (text, md or json)", a);
                goto out;
            }
            if (strcmp(v, "text") == 0) fmt = COMPARE_TEXT;
            else if (strcmp(v, "md") == 0 || strcmp(v, "markdown") == 0) fmt = COMPARE_MARKDOWN;
            else if (strcmp(v, "json") == 0) fmt = COMPARE_JSON;
            else {
                usage_error("--format: expected text, md or json, got '%s'", v);
                goto out;
            }
        } else if (strcmp(a, "--all") == 0) {
            all = true;
        } else if (strcmp(a, "--no-default-thresholds") == 0) {
            no_defaults = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            usage_error("compare: unknown option '%s'", a);
            goto out;
        } else if (nspec < 2) {
            spec[nspec++] = a;
        } else {
            usage_error("compare: unexpected argument '%s' (BASE and CAND only)", a);
            goto out;
        }
    }
    if (nspec < 2) {
        usage_error("compare needs BASE and CAND (results databases, FILE.db:RUN or JSON exports)");
        goto out;
    }
    if (!(base = compare_side_load(spec[0], &err)) || !(cand = compare_side_load(spec[1], &err))) {
        print_error(&err);
        goto out;
    }
    compare_options opt = {th, nth, no_defaults};
    if (!(res = compare_run(base, cand, &opt, &err))) {
        print_error(&err);
        goto out;
    }
    compare_print(stdout, res, fmt, all);
    fflush(stdout);
    code = compare_result_status(res);
out:
    compare_result_free(res);
    compare_side_free(base);
    compare_side_free(cand);
    free(th);
    return code;
}
