/*
 * compare.h — two sets of stored runs compared metric by metric, against thresholds: what
 * `fleetsim compare` prints and the CI regression gate (scenarios/ci/gate.sh) fails on.
 *
 * A side is a set of ok runs read from a results database or from an export
 * (`fleetsim export --format json`), grouped into cases. A case is one scenario configuration:
 * the runs of one name, or the replications of one sweep point (points table: same sweep, same
 * point). Side specs (compare_side_load):
 *
 *   FILE.db        the last ok run, with the other replications of its sweep point if it is one
 *   FILE.db:ID     run ID, likewise (ID as in runs.id)
 *   FILE.db:last   the same as FILE.db
 *   FILE.db:all    every case: for each run name, the latest ok run, and for each sweep point
 *                  (name + params), the replications of the latest sweep that has it
 *   FILE.json      an export: every run in it, grouped as with :all; FILE.json:ID, :last too
 *
 * The file's kind is told by its first bytes (SQLite's header, or JSON's '{'), not its name.
 * An export is {"runs": [{"id", "name", "seed", "scenario": {...}, "metrics": [{"name", "stat",
 * "value", "unit"}], "point": {"sweep", "point", "seed_index", "params": {...}} or null}]}; a
 * run with a "status" other than "ok" is left out, keys not named here are ignored, "value"
 * null is NaN (as NULL is in the database).
 *
 * Cases are paired by name and sweep-point params (compared as JSON with sorted keys; {} is no
 * params, so a one-point sweep of a scenario pairs with a plain run of it); when each side
 * holds exactly one case they are paired whatever their names (so `compare a.db:3 b.db:7`
 * compares two variants). Metrics are paired by (name, stat). Per metric, each side's value is
 * the mean over its runs with a number (NaN runs left out), with a 95% confidence half-width
 * t(0.975, n-1) s / sqrt(n) when n >= 2 (the formulas of points.h's point_summary, computed
 * here because an export is no database). A difference below 1e-9 of the value is rounding (an
 * export's decimal digits) and counts as none.
 *
 * Verdicts, per metric (enum below):
 *   - tolerance: the metric's threshold when it has one, else 1% of |old| (a change smaller
 *     than that is "ok");
 *   - significance, only when a side has replications, at 95% (two-sided):
 *       paired: both sides ran the same seeds (each once; a sweep's replication k of a point
 *         runs with the point's seed + k): a paired t-test on the run-by-run differences,
 *         df = pairs - 1. Common random numbers cancel the seed-to-seed spread, so a change of
 *         the code is told from noise with far fewer replications;
 *       welch: other seeds: Welch's t-test on the difference of means, df by
 *         Welch-Satterthwaite;
 *       single: one run against replications: that run tested against the other side's
 *         spread as a new observation (se^2 = s^2 (1 + 1/n), df = n - 1).
 *     A change beyond the tolerance that is not significant is "noise" and never fails. With
 *     one run on each side every change counts (the simulator is deterministic for a seed;
 *     replications are what tell seed noise from a change);
 *   - a thresholded metric beyond its threshold the bad way: REGRESSION; the good way: better;
 *   - a metric without a threshold beyond 1%: better or worse where the direction is known
 *     (latencies and costs lower, throughputs and SLO attainment higher), else changed;
 *   - missing: a number on one side only (NaN or absent on the other).
 * The comparison fails (status 1) on any REGRESSION, on a thresholded metric BASE has and CAND
 * lacks, and on a BASE case CAND lacks.
 *
 * Thresholds: "METRIC:CHANGE". METRIC is a flat key as `fleetsim run --json` writes it
 * (p99_ttft_ms, request_goodput, gpu_hours_by_type_H100-SXM; the unit may be left out:
 * p99_ttft) or NAME:STAT (ttft:p99); p50 means median. CHANGE is +N or -N followed by "%"
 * (relative to the old value), "pt" (absolute, for metrics in %: slo_attainment:-1pt), a unit
 * (absolute: +10ms; ns, us, ms and s convert into one another, another unit must be the
 * metric's own) or nothing (absolute in the metric's unit); +N fails a rise of more than N, -N a
 * fall of more than N. "off" removes a default threshold. Later thresholds for the same metric
 * replace earlier ones and the defaults (compare_default_thresholds).
 *
 * Ownership: compare_side_load / compare_side_from_json return a side freed by
 * compare_side_free; compare_run returns a result freed by compare_result_free, which holds
 * copies of everything it shows (the sides may be freed first). Errors fill a caller-owned
 * fs_error and return NULL or -1.
 */
#ifndef FS_COMPARE_H
#define FS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_error.h"

typedef struct compare_side compare_side;

compare_side *compare_side_load(const char *spec, fs_error *err);
/* An export already in memory; `source` names it in messages, `select` is NULL (every case),
 * "all", "last" or a run id. */
compare_side *compare_side_from_json(const char *text, const char *source, const char *select, fs_error *err);
void compare_side_free(compare_side *s);
size_t compare_side_run_count(const compare_side *s);
size_t compare_side_case_count(const compare_side *s);

typedef enum compare_threshold_kind {
    COMPARE_RELATIVE, /* amount in % of |old| */
    COMPARE_ABSOLUTE, /* amount in `unit` ("" or "pt": the metric's own unit) */
    COMPARE_OFF       /* no threshold for this metric (removes a default) */
} compare_threshold_kind;

typedef struct compare_threshold {
    char metric[160];  /* as given, p50 spelt median: "p99_ttft_ms" or "ttft:p99" */
    int dir;           /* +1: a rise fails; -1: a fall fails; 0 with COMPARE_OFF */
    compare_threshold_kind kind;
    double amount;     /* >= 0 */
    char unit[16];     /* COMPARE_ABSOLUTE: as written ("ms", "pt", "") */
    char text[200];    /* as written after the metric: "+10%" */
} compare_threshold;

/* Parse "METRIC:CHANGE" (see above). */
int compare_threshold_parse(const char *s, compare_threshold *out, fs_error *err);
/* The defaults, as threshold strings, NULL-terminated: latency p99 and median of TTFT, TPOT and
 * E2E +10%; goodput and throughput (requests, output tokens) -5%; SLO attainment -1pt; cost per
 * 1k requests and per 1M input and output tokens +5%; energy per token +10%. */
const char *const *compare_default_thresholds(void);

typedef enum compare_verdict {
    COMPARE_OK,
    COMPARE_BETTER,
    COMPARE_WORSE,      /* a metric without a threshold, beyond 1% the bad way */
    COMPARE_CHANGED,    /* a metric without a threshold or known direction, beyond 1% */
    COMPARE_NOISE,      /* beyond the tolerance, not significant at 95% */
    COMPARE_REGRESSION,
    COMPARE_MISSING
} compare_verdict;

/* "ok", "better", "worse", "changed", "noise", "REGRESSION", "missing" */
const char *compare_verdict_name(compare_verdict v);

/* How significance was judged (see above). */
typedef enum compare_test {
    COMPARE_TEST_NONE,   /* one run a side: every change counts */
    COMPARE_TEST_PAIRED,
    COMPARE_TEST_WELCH,
    COMPARE_TEST_SINGLE
} compare_test;
/* "none", "paired", "welch", "single" */
const char *compare_test_name(compare_test t);

typedef struct compare_row {
    char *name, *stat, *unit, *key; /* key: the flat key (p99_ttft_ms) */
    double old_mean, new_mean;      /* NaN where the side has no number */
    double old_ci, new_ci;          /* 95% half-widths; NaN for fewer than 2 runs */
    size_t old_n, new_n;            /* runs with a number */
    double delta, pct;              /* new - old; 100 delta / |old| (NaN when old is 0) */
    double diff_ci;                 /* 95% half-width of the difference; NaN without replications */
    compare_test test;
    bool significant;
    const compare_threshold *threshold; /* points into the result (NULL: none) */
    compare_verdict verdict;
    bool fails;                     /* counts against the gate */
} compare_row;

typedef struct compare_case {
    char *name;        /* the case's run name (BASE's when the names differ) */
    char *cand_name;   /* CAND's run name */
    char *params;      /* sweep-point params (compact JSON, keys sorted), or NULL (none, or {}) */
    int64_t *base_runs, *cand_runs; /* run ids */
    size_t base_nruns, cand_nruns;  /* 0 on the side that lacks the case */
    compare_row *rows;
    size_t nrows;
    size_t regressions, noise;
} compare_case;

typedef struct compare_result {
    char *base_spec, *cand_spec;
    size_t base_runs, cand_runs;
    compare_case *cases;
    size_t ncases;
    compare_threshold *thresholds; /* in effect: the defaults then the user's */
    size_t nthresholds;
    size_t regressions;    /* REGRESSION rows */
    size_t missing_fails;  /* thresholded metrics BASE has and CAND lacks, BASE cases CAND lacks */
    size_t noise;
} compare_result;

typedef struct compare_options {
    const compare_threshold *thresholds; /* the user's, in order */
    size_t nthresholds;
    bool no_defaults;                    /* only the user's thresholds */
} compare_options;

/* Compare; fails (NULL) on a user threshold that names no metric of either side, or whose unit
 * does not fit its metric's. */
compare_result *compare_run(const compare_side *base, const compare_side *cand, const compare_options *opt,
                            fs_error *err);
void compare_result_free(compare_result *r);
/* 0: pass; 1: regression (see above). */
int compare_result_status(const compare_result *r);
/* The row of metric `key` (flat key or NAME:STAT) in the case named `case_name` (NULL: the first
 * case), or NULL. */
const compare_row *compare_result_find(const compare_result *r, const char *case_name, const char *key);

typedef enum compare_format { COMPARE_TEXT, COMPARE_MARKDOWN, COMPARE_JSON } compare_format;

/* Print the comparison. Text and Markdown list the thresholded metrics and every other metric
 * whose verdict is not ok (every metric with `all`); JSON lists every metric:
 * {"base": {"spec", "runs"}, "cand": {...}, "result": "pass"|"regression", "regressions",
 *  "noise", "missing", "thresholds": ["p99_ttft_ms:+10%", ...], "cases": [{"name", "cand_name",
 *  "params", "base_runs": [ids], "cand_runs": [ids], "metrics": [{"key", "name", "stat", "unit",
 *  "old", "new", "old_ci95", "new_ci95", "old_n", "new_n", "delta", "pct", "diff_ci95",
 *  "significant", "test", "threshold", "verdict"}]}]}   (numbers null where NaN). */
void compare_print(FILE *out, const compare_result *r, compare_format fmt, bool all);

#endif
