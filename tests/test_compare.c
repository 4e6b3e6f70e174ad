/* fleetsim compare's logic (reports/compare.h): threshold parsing, verdicts both ways, relative
 * and absolute thresholds, defaults and overrides, missing metrics and cases, sides from exports
 * and databases (selection by id, last, all; sweep points with replications, Welch's t-test),
 * bad input with its messages, and the three printed forms. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "harness.h"
#include "stats.h"
#include "store.h"

static char tmpdir[64];

/* ---- sides from exports written here ---- */

/* One run of an export: "name" with metrics given as "key=value" pairs where key is name:stat:unit. */
typedef struct mrow {
    const char *name, *stat, *unit;
    double value; /* NaN: null */
} mrow;

static json_t *run_json(int64_t id, const char *name, const mrow *rows, size_t n, json_t *point)
{
    json_t *m = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(m, json_pack("{s:s, s:s, s:o, s:s}", "name", rows[i].name, "stat", rows[i].stat, "value",
                                           isfinite(rows[i].value) ? json_real(rows[i].value) : json_null(), "unit",
                                           rows[i].unit));
    return json_pack("{s:I, s:s, s:I, s:{}, s:o, s:o}", "id", (json_int_t)id, "name", name, "seed", (json_int_t)1,
                     "scenario", "metrics", m, "point", point ? point : json_null());
}

/* A typical run: latencies, goodput, throughput, SLO, cost. Scale factors move each family. */
typedef struct knobs {
    double ttft, goodput, slo, cost;
} knobs;

static json_t *typical_run(int64_t id, const char *name, knobs k)
{
    mrow rows[] = {
        {"completed", "value", "requests", 1000},
        {"ttft", "median", "ms", 50 * k.ttft},
        {"ttft", "p99", "ms", 100 * k.ttft},
        {"e2el", "median", "ms", 80},
        {"e2el", "p99", "ms", 300},
        {"request_throughput", "value", "req/s", 10},
        {"output_throughput", "value", "tok/s", 2000},
        {"request_goodput", "value", "req/s", 10 * k.goodput},
        {"slo_attainment", "value", "%", k.slo},
        {"cost_per_1k_requests", "value", "USD", 0.2 * k.cost},
        {"replica_utilization", "value", "%", 70},
    };
    return run_json(id, name, rows, sizeof rows / sizeof rows[0], NULL);
}

static compare_side *side_of(json_t *runs_array, const char *source, const char *select)
{
    json_t *root = json_pack("{s:o}", "runs", runs_array);
    char *text = json_dumps(root, JSON_COMPACT);
    fs_error err;
    compare_side *s = compare_side_from_json(text, source, select, &err);
    if (!s) fprintf(stderr, "  side_of: %s\n", err.msg);
    free(text);
    json_decref(root);
    return s;
}

static compare_side *one(const char *name, knobs k)
{
    return side_of(json_pack("[o]", typical_run(1, name, k)), name, NULL);
}

static const knobs base_k = {1, 1, 99, 1};

/* Compare two single-run sides with the given user thresholds; NULL on error (message in err). */
static compare_result *cmp(knobs b, knobs c, const char *const *th, bool no_defaults, fs_error *err)
{
    compare_threshold t[8];
    size_t n = 0;
    for (; th && th[n]; n++) FS_ASSERT(compare_threshold_parse(th[n], &t[n], NULL) == 0);
    compare_side *sb = one("base", b), *sc = one("cand", c);
    compare_options o = {t, n, no_defaults};
    compare_result *r = compare_run(sb, sc, &o, err);
    compare_side_free(sb);
    compare_side_free(sc);
    return r;
}

static compare_verdict verdict(const compare_result *r, const char *key)
{
    const compare_row *w = compare_result_find(r, NULL, key);
    return w ? w->verdict : (compare_verdict)-1;
}

/* ---- threshold parsing ---- */

static void test_threshold_parse(void)
{
    static const struct {
        const char *in, *metric;
        int dir;
        compare_threshold_kind kind;
        double amount;
        const char *unit;
    } good[] = {
        {"p99_ttft_ms:+10%", "p99_ttft_ms", 1, COMPARE_RELATIVE, 10, ""},
        {"request_goodput:-5%", "request_goodput", -1, COMPARE_RELATIVE, 5, ""},
        {"slo_attainment:-1pt", "slo_attainment", -1, COMPARE_ABSOLUTE, 1, "pt"},
        {"slo_attainment:-0.5pp", "slo_attainment", -1, COMPARE_ABSOLUTE, 0.5, "pt"},
        {"p99_ttft_ms:+10ms", "p99_ttft_ms", 1, COMPARE_ABSOLUTE, 10, "ms"},
        {"cost:+2.5", "cost", 1, COMPARE_ABSOLUTE, 2.5, ""},
        {"ttft:p99:+5%", "ttft:p99", 1, COMPARE_RELATIVE, 5, ""},
        {"p50_ttft_ms:+10%", "median_ttft_ms", 1, COMPARE_RELATIVE, 10, ""},
        {"ttft:p50:+1%", "ttft:median", 1, COMPARE_RELATIVE, 1, ""},
        {"cost_per_1k_requests:off", "cost_per_1k_requests", 0, COMPARE_OFF, 0, ""},
        {"x:+0%", "x", 1, COMPARE_RELATIVE, 0, ""},
        {"x:+.5%", "x", 1, COMPARE_RELATIVE, 0.5, ""},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        compare_threshold t;
        fs_error err;
        int rc = compare_threshold_parse(good[i].in, &t, &err);
        CHECK_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "  %s: %s\n", good[i].in, err.msg);
            continue;
        }
        CHECK_STR(t.metric, good[i].metric);
        CHECK_INT(t.dir, good[i].dir);
        CHECK_INT(t.kind, good[i].kind);
        CHECK_NEAR(t.amount, good[i].amount, 1e-12);
        if (t.kind == COMPARE_ABSOLUTE) CHECK_STR(t.unit, good[i].unit);
    }
    static const struct {
        const char *in, *msg;
    } badv[] = {
        {"p99_ttft_ms", "expected METRIC:+N%"},
        {"p99_ttft_ms:", "expected METRIC:+N%"},
        {":+5%", "expected METRIC:+N%"},
        {"p99_ttft_ms:10%", "expected a sign"},
        {"p99_ttft_ms:+%", "expected METRIC:+N%"},
        {"p99_ttft_ms:+abc", "expected METRIC:+N%"},
        {"p99_ttft_ms:+5%%", "expected METRIC:+N%"},
        {"p99_ttft_ms:+inf", "expected METRIC:+N%"},
        {"p99_ttft_ms:+1e999%", "finite"},
        {"p99 ttft:+5%", "no spaces"},
        {"ttft::+5%", "NAME:STAT"},
    };
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
        compare_threshold t;
        fs_error err;
        CHECK_INT(compare_threshold_parse(badv[i].in, &t, &err), -1);
        CHECK_CONTAINS(err.msg, badv[i].msg);
        CHECK_CONTAINS(err.msg, badv[i].in);
    }
    /* every default parses */
    for (const char *const *d = compare_default_thresholds(); *d; d++) {
        compare_threshold t;
        CHECK_INT(compare_threshold_parse(*d, &t, NULL), 0);
    }
}

/* ---- verdicts ---- */

static void test_identical_passes(void)
{
    fs_error err;
    compare_result *r = cmp(base_k, base_k, NULL, false, &err);
    CHECK(r != NULL);
    if (!r) return;
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(r->regressions, 0);
    CHECK_INT(r->ncases, 1);
    CHECK_INT(r->cases[0].nrows, 11);
    for (size_t i = 0; i < r->cases[0].nrows; i++) CHECK_INT(r->cases[0].rows[i].verdict, COMPARE_OK);
    CHECK(compare_result_find(r, NULL, "p99_ttft_ms")->threshold != NULL);
    CHECK(compare_result_find(r, NULL, "replica_utilization")->threshold == NULL);
    compare_result_free(r);
}

static void test_latency_rise(void)
{
    fs_error err;
    compare_result *r = cmp(base_k, (knobs){1.15, 1, 99, 1}, NULL, false, &err); /* +15% > +10% */
    CHECK_INT(compare_result_status(r), 1);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_REGRESSION);
    CHECK_INT(verdict(r, "median_ttft_ms"), COMPARE_REGRESSION);
    CHECK_INT(verdict(r, "ttft:p99"), COMPARE_REGRESSION);
    CHECK_INT(r->regressions, 2);
    const compare_row *w = compare_result_find(r, NULL, "p99_ttft_ms");
    CHECK_NEAR(w->old_mean, 100, 1e-9);
    CHECK_NEAR(w->new_mean, 115, 1e-9);
    CHECK_NEAR(w->delta, 15, 1e-9);
    CHECK_NEAR(w->pct, 15, 1e-9);
    CHECK(w->fails);
    compare_result_free(r);

    r = cmp(base_k, (knobs){1.09, 1, 99, 1}, NULL, false, &err); /* +9%: within */
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_OK);
    compare_result_free(r);

    r = cmp(base_k, (knobs){0.8, 1, 99, 1}, NULL, false, &err); /* -20%: better */
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_BETTER);
    compare_result_free(r);
}

static void test_goodput_fall(void)
{
    fs_error err;
    compare_result *r = cmp(base_k, (knobs){1, 0.94, 99, 1}, NULL, false, &err); /* -6% < -5% */
    CHECK_INT(compare_result_status(r), 1);
    CHECK_INT(verdict(r, "request_goodput"), COMPARE_REGRESSION);
    CHECK_INT(r->regressions, 1);
    compare_result_free(r);

    r = cmp(base_k, (knobs){1, 0.96, 99, 1}, NULL, false, &err); /* -4%: within */
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(verdict(r, "request_goodput"), COMPARE_OK);
    compare_result_free(r);

    r = cmp(base_k, (knobs){1, 1.2, 99, 1}, NULL, false, &err); /* a rise of goodput is better */
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(verdict(r, "request_goodput"), COMPARE_BETTER);
    compare_result_free(r);
}

static void test_thresholds_both_ways(void)
{
    fs_error err;
    /* -5% on a latency: a fall fails (a suspicious speed-up, say); a rise is fine */
    const char *const fall[] = {"p99_ttft_ms:-5%", NULL};
    compare_result *r = cmp(base_k, (knobs){0.9, 1, 99, 1}, fall, false, &err);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_REGRESSION);
    CHECK_INT(compare_result_status(r), 1);
    compare_result_free(r);
    r = cmp(base_k, (knobs){1.3, 1, 99, 1}, fall, false, &err);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_BETTER);
    CHECK_INT(verdict(r, "median_ttft_ms"), COMPARE_REGRESSION); /* the default still holds there */
    compare_result_free(r);

    /* +5% on goodput: a rise fails */
    const char *const rise[] = {"request_goodput:+5%", NULL};
    r = cmp(base_k, (knobs){1, 1.1, 99, 1}, rise, false, &err);
    CHECK_INT(verdict(r, "request_goodput"), COMPARE_REGRESSION);
    compare_result_free(r);
    r = cmp(base_k, (knobs){1, 0.5, 99, 1}, rise, false, &err);
    CHECK_INT(verdict(r, "request_goodput"), COMPARE_BETTER);
    CHECK_INT(compare_result_status(r), 0);
    compare_result_free(r);

    /* absolute: +10ms, and the same in seconds */
    const char *const ms[] = {"p99_ttft_ms:+10ms", "median_ttft_ms:off", NULL};
    const char *const s[] = {"ttft:p99:+0.01s", "median_ttft_ms:off", NULL};
    for (int k = 0; k < 2; k++) {
        r = cmp(base_k, (knobs){1.11, 1, 99, 1}, k ? s : ms, false, &err);
        CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_REGRESSION);
        compare_result_free(r);
        r = cmp(base_k, (knobs){1.09, 1, 99, 1}, k ? s : ms, false, &err);
        CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_OK);
        CHECK_INT(compare_result_status(r), 0);
        compare_result_free(r);
    }

    /* the default SLO threshold, -1 point */
    r = cmp(base_k, (knobs){1, 1, 97.9, 1}, NULL, false, &err);
    CHECK_INT(verdict(r, "slo_attainment"), COMPARE_REGRESSION);
    compare_result_free(r);
    r = cmp(base_k, (knobs){1, 1, 98.2, 1}, NULL, false, &err);
    CHECK_INT(verdict(r, "slo_attainment"), COMPARE_OK);
    compare_result_free(r);

    /* cost +5% */
    r = cmp(base_k, (knobs){1, 1, 99, 1.06}, NULL, false, &err);
    CHECK_INT(verdict(r, "cost_per_1k_requests"), COMPARE_REGRESSION);
    compare_result_free(r);

    /* a user threshold replaces the default; off removes it */
    const char *const loose[] = {"p99_ttft_ms:+20%", "median_ttft_ms:+20%", NULL};
    r = cmp(base_k, (knobs){1.15, 1, 99, 1}, loose, false, &err);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_OK);
    CHECK_INT(compare_result_status(r), 0);
    compare_result_free(r);
    const char *const off[] = {"p99_ttft_ms:off", "median_ttft_ms:off", NULL};
    r = cmp(base_k, (knobs){1.5, 1, 99, 1}, off, false, &err);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_WORSE); /* no threshold: shown, never fails */
    CHECK_INT(compare_result_status(r), 0);
    compare_result_free(r);

    /* no defaults: nothing fails */
    r = cmp(base_k, (knobs){2, 0.5, 50, 2}, NULL, true, &err);
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_WORSE);
    CHECK_INT(verdict(r, "request_goodput"), COMPARE_WORSE);
    CHECK_INT(verdict(r, "replica_utilization"), COMPARE_OK);
    compare_result_free(r);
}

static void test_threshold_errors(void)
{
    fs_error err;
    const char *const unknown[] = {"p99_ttfx_ms:+5%", NULL};
    CHECK(cmp(base_k, base_k, unknown, false, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no metric 'p99_ttfx_ms'");
    const char *const unit[] = {"request_goodput:+5ms", NULL};
    CHECK(cmp(base_k, base_k, unit, false, &err) == NULL);
    CHECK_CONTAINS(err.msg, "unit 'ms' does not fit request_goodput");
    const char *const pt[] = {"p99_ttft_ms:+1pt", NULL};
    CHECK(cmp(base_k, base_k, pt, false, &err) == NULL);
    CHECK_CONTAINS(err.msg, "'pt' (percentage points) is for metrics in %");
    /* the unit may be left out of a flat key */
    const char *const nounit[] = {"p99_ttft:+1%", NULL};
    compare_result *r = cmp(base_k, (knobs){1.05, 1, 99, 1}, nounit, false, &err);
    CHECK(r != NULL);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_REGRESSION);
    compare_result_free(r);
}

static void test_missing_metrics_and_cases(void)
{
    fs_error err;
    mrow b[] = {{"ttft", "p99", "ms", 100}, {"request_goodput", "value", "req/s", 10}, {"extra", "value", "", 1}};
    mrow c[] = {{"ttft", "p99", "ms", NAN}, {"request_goodput", "value", "req/s", 10}, {"newone", "value", "", 2}};
    compare_side *sb = side_of(json_pack("[o]", run_json(1, "a", b, 3, NULL)), "b", NULL);
    compare_side *sc = side_of(json_pack("[o]", run_json(1, "a", c, 3, NULL)), "c", NULL);
    compare_result *r = compare_run(sb, sc, NULL, &err);
    CHECK_INT(verdict(r, "p99_ttft_ms"), COMPARE_MISSING);
    CHECK(compare_result_find(r, NULL, "p99_ttft_ms")->fails); /* thresholded, gone from CAND */
    CHECK_INT(verdict(r, "extra"), COMPARE_MISSING);
    CHECK(!compare_result_find(r, NULL, "extra")->fails);
    CHECK_INT(verdict(r, "newone"), COMPARE_MISSING);
    CHECK_INT(compare_result_status(r), 1);
    CHECK_INT(r->missing_fails, 1);
    compare_result_free(r);
    /* the other way round: a metric new in CAND never fails */
    r = compare_run(sc, sb, NULL, &err);
    CHECK_INT(compare_result_status(r), 0);
    compare_result_free(r);
    compare_side_free(sb);
    compare_side_free(sc);

    /* cases by name: BASE has a and b, CAND has b and c */
    sb = side_of(json_pack("[o,o]", typical_run(1, "a", base_k), typical_run(2, "b", base_k)), "b", NULL);
    sc = side_of(json_pack("[o,o]", typical_run(7, "b", (knobs){1.5, 1, 99, 1}), typical_run(8, "c", base_k)), "c",
                 NULL);
    r = compare_run(sb, sc, NULL, &err);
    CHECK_INT(r->ncases, 3);
    CHECK_STR(r->cases[0].name, "a");
    CHECK_INT(r->cases[0].cand_nruns, 0);
    CHECK_STR(r->cases[1].name, "b");
    CHECK_INT(r->cases[1].base_runs[0], 2);
    CHECK_INT(r->cases[1].cand_runs[0], 7);
    CHECK_STR(r->cases[2].name, "c");
    CHECK_INT(r->cases[2].base_nruns, 0);
    CHECK_INT(compare_result_find(r, "b", "p99_ttft_ms")->verdict, COMPARE_REGRESSION);
    CHECK_INT(r->missing_fails, 1); /* case a */
    CHECK_INT(compare_result_status(r), 1);
    compare_result_free(r);
    compare_side_free(sc);
    /* one case a side: paired whatever the names */
    sc = one("renamed", base_k);
    compare_side *sa = side_of(json_pack("[o,o]", typical_run(1, "a", base_k), typical_run(2, "b", base_k)), "b", "2");
    CHECK_INT(compare_side_case_count(sa), 1);
    r = compare_run(sa, sc, NULL, &err);
    CHECK_INT(r->ncases, 1);
    CHECK_STR(r->cases[0].name, "b");
    CHECK_STR(r->cases[0].cand_name, "renamed");
    CHECK_INT(compare_result_status(r), 0);
    compare_result_free(r);
    compare_side_free(sa);
    compare_side_free(sb);
    compare_side_free(sc);
}

/* A one-point sweep without parameters is the scenario as it is: it pairs with a plain run. */
static void test_empty_params_pair_with_plain_runs(void)
{
    fs_error err;
    json_t *pa = json_pack("{s:s, s:i, s:i, s:{}}", "sweep", "s1", "point", 0, "seed_index", 0, "params");
    json_t *pb = json_pack("{s:s, s:i, s:i, s:{s:i}}", "sweep", "s1", "point", 1, "seed_index", 0, "params", "x", 2);
    mrow m[] = {{"ttft", "p99", "ms", 100}};
    compare_side *sb = side_of(json_pack("[o,o,o]", run_json(1, "a", m, 1, pa), run_json(2, "a", m, 1, pb),
                                         typical_run(3, "b", base_k)), "b", NULL);
    compare_side *sc = side_of(json_pack("[o,o]", run_json(1, "a", m, 1, NULL), typical_run(2, "b", base_k)), "c", NULL);
    compare_result *r = compare_run(sb, sc, NULL, &err);
    CHECK_INT(r->ncases, 3);
    CHECK_STR(r->cases[0].name, "a");
    CHECK(r->cases[0].params == NULL);
    CHECK_INT(r->cases[0].cand_nruns, 1);
    CHECK_STR(r->cases[1].params, "{\"x\":2}");
    CHECK_INT(r->cases[1].cand_nruns, 0); /* missing in CAND */
    CHECK_INT(r->cases[2].cand_nruns, 1);
    compare_result_free(r);
    compare_side_free(sb);
    compare_side_free(sc);
}

/* ---- exports: selection and errors ---- */

static void test_export_selection(void)
{
    json_t *runs = json_pack("[o,o,o,o]", typical_run(1, "a", base_k), typical_run(2, "b", base_k),
                             typical_run(3, "a", (knobs){2, 1, 99, 1}), typical_run(4, "b", base_k));
    json_object_set_new(json_array_get(runs, 3), "status", json_string("failed"));
    json_t *root = json_pack("{s:o}", "runs", runs);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    fs_error err;
    compare_side *s = compare_side_from_json(text, "x.json", NULL, &err); /* all: latest ok per name */
    CHECK_INT(compare_side_case_count(s), 2);
    CHECK_INT(compare_side_run_count(s), 2);
    compare_side *t = compare_side_from_json(text, "x.json", "1", &err);
    compare_result *r = compare_run(t, s, NULL, &err);
    CHECK_INT(r->ncases, 2); /* a (run 1 vs 3), b only in CAND */
    CHECK_INT(r->cases[0].base_runs[0], 1);
    CHECK_INT(r->cases[0].cand_runs[0], 3);
    CHECK_INT(r->cases[1].cand_runs[0], 2);
    CHECK_INT(compare_result_status(r), 1); /* ttft doubled in a */
    compare_result_free(r);
    compare_side_free(t);
    t = compare_side_from_json(text, "x.json", "last", &err); /* run 4 failed: the last ok is 3 */
    CHECK_INT(compare_side_case_count(t), 1);
    compare_side_free(t);
    CHECK(compare_side_from_json(text, "x.json", "9", &err) == NULL);
    CHECK_CONTAINS(err.msg, "no run with id 9");
    CHECK(compare_side_from_json(text, "x.json", "4", &err) == NULL);
    CHECK_CONTAINS(err.msg, "run 4 has status 'failed'");
    CHECK(compare_side_from_json(text, "x.json", "abc", &err) == NULL);
    CHECK_CONTAINS(err.msg, "expected a run id, 'last' or 'all'");
    compare_side_free(s);
    free(text);
}

static void test_export_errors(void)
{
    static const struct {
        const char *text, *msg;
        int line;
    } cases[] = {
        {"{\"runs\": [\n  {\"id\": 1,,}]}", "invalid JSON", 2},
        {"[1, 2]", "expected an export, {\"runs\": [...]}", 0},
        {"{\"run\": []}", "without a \"runs\" array", 0},
        {"{\"runs\": []}", "no runs in the export", 0},
        {"{\"runs\": [5]}", "expected an object, got an integer", 0},
        {"{\"runs\": [{\"name\": \"a\", \"metrics\": []}]}", "expected an integer (the run id), got nothing", 0},
        {"{\"runs\": [{\"id\": 1, \"name\": \"a\"}]}", "expected an array of", 0},
        {"{\"runs\": [{\"id\": 1, \"name\": \"a\", \"metrics\": [{\"name\": \"x\", \"stat\": \"value\", \"value\": \"1\"}]}]}",
         "expected a number or null, got a string", 0},
        {"{\"runs\": [{\"id\": 1, \"name\": \"a\", \"metrics\": [], \"point\": 3}]}", "null or an object", 0},
        {"{\"runs\": [{\"id\": 1, \"name\": \"a\", \"metrics\": []}, {\"id\": 1, \"name\": \"a\", \"metrics\": []}]}",
         "run id 1 appears twice", 0},
        {"{\"runs\": [{\"id\": 1, \"name\": \"a\", \"status\": \"failed\", \"metrics\": []}]}", "no ok run", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_error err;
        compare_side *s = compare_side_from_json(cases[i].text, "e.json", NULL, &err);
        CHECK(s == NULL);
        compare_side_free(s);
        char buf[1200];
        fs_error_format(&err, buf, sizeof buf);
        CHECK_CONTAINS(buf, cases[i].msg);
        CHECK_CONTAINS(buf, "e.json");
        if (cases[i].line) CHECK_INT(err.line, cases[i].line);
    }
    fs_error err;
    compare_side *s = compare_side_from_json(
        "{\"runs\": [{\"id\": 1, \"name\": \"a\", \"metrics\": [{\"name\": \"x\", \"stat\": \"value\", \"value\": true}]}]}",
        "e.json", NULL, &err);
    CHECK(s == NULL);
    CHECK_STR(err.path, "runs[0].metrics[0].value");
}

/* ---- databases: replications of sweep points ---- */

static void write_run(store *st, const char *name, const char *sweep, int64_t point, uint64_t seed,
                      int64_t seed_index, double p99_ttft, double goodput, const char *status)
{
    fs_error err;
    int64_t id;
    store_run_info info = {name, "{}", seed + (uint64_t)seed_index, "test", ""};
    FS_ASSERT(store_run_begin(st, &info, &id, &err) == 0);
    fs_metrics m = {0};
    fs_metrics_add(&m, "ttft", "p99", p99_ttft, "ms");
    fs_metrics_add(&m, "request_goodput", "value", goodput, "req/s");
    fs_metrics_add(&m, "slo_attainment", "value", NAN, "%");
    FS_ASSERT(store_metrics_add(st, id, &m, &err) == 0);
    fs_metrics_fini(&m);
    if (sweep) {
        store_point p = {sweep, point, seed_index, "{\"workload.rate\": 10, \"router.policy\": \"random\"}"};
        FS_ASSERT(store_point_add(st, id, &p, &err) == 0);
    }
    if (status) FS_ASSERT(store_run_abort(st, id, status, "boom", &err) == 0);
    else FS_ASSERT(store_run_end(st, id, &err) == 0);
}

/* A database with one sweep point of replications (p99 TTFT values given; replication k runs
 * with seed + k), goodput 10 each. */
static void make_db(const char *path, const char *sweep, uint64_t seed, const double *ttft, size_t n)
{
    unlink(path);
    fs_error err;
    store *st = store_open(path, &err);
    FS_ASSERT(st);
    write_run(st, "other", NULL, 0, 1, 0, 1, 1, NULL);                  /* run 1: another scenario */
    for (size_t i = 0; i < n; i++) write_run(st, "sw", sweep, 0, seed, (int64_t)i, ttft[i], 10, NULL);
    write_run(st, "sw", sweep, 1, seed, 0, 1, 10, "failed");            /* another point, failed */
    store_close(st);
}

static compare_result *cmp_specs(const char *b, const char *c, fs_error *err)
{
    compare_side *sb = compare_side_load(b, err);
    compare_side *sc = sb ? compare_side_load(c, err) : NULL;
    compare_result *r = sc ? compare_run(sb, sc, NULL, err) : NULL;
    compare_side_free(sb);
    compare_side_free(sc);
    return r;
}

static const compare_row *p99_of(const char *b, const char *c, compare_result **r)
{
    fs_error err;
    *r = cmp_specs(b, c, &err);
    if (!*r) fprintf(stderr, "  %s vs %s: %s\n", b, c, err.msg);
    return *r ? compare_result_find(*r, NULL, "p99_ttft_ms") : NULL;
}

static void test_replications(void)
{
    char bp[128], cp[128], spec_b[160], spec_c[160];
    snprintf(bp, sizeof bp, "%s/base.db", tmpdir);
    snprintf(cp, sizeof cp, "%s/cand.db", tmpdir);
    static const double base[] = {80, 90, 100, 110, 120};            /* mean 100, sd 15.81 */
    static const double shifted[] = {92, 101, 112, 122.5, 132.5};    /* mean 112 (+12%): base + 11 .. 12.5 */
    static const double scattered[] = {70, 130, 100, 140, 120};      /* mean 112: base - 10 .. + 40 */
    static const double far[] = {140, 145, 150, 155, 160};           /* mean 150 (+50%) */
    make_db(bp, "sweep-a", 1, base, 5);
    fs_error err;
    compare_result *r;
    const compare_row *w;

    /* the last ok run is replication 4 of point 0 of sweep-a: the side is the 5 replications */
    compare_side *s = compare_side_load(bp, &err);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_INT(compare_side_run_count(s), 5);
    compare_side_free(s);

    /* the same seeds (common random numbers), every pair 11 to 12.5 higher: paired, significant */
    make_db(cp, "sweep-b", 1, shifted, 5);
    w = p99_of(bp, cp, &r);
    if (!w) return;
    CHECK_INT(w->test, COMPARE_TEST_PAIRED);
    CHECK_INT(w->verdict, COMPARE_REGRESSION);
    CHECK_NEAR(w->old_mean, 100, 1e-9);
    CHECK_NEAR(w->new_mean, 112, 1e-9);
    CHECK_NEAR(w->old_ci, 2.7764451 * sqrt(250.0 / 5), 1e-5); /* t(0.975, 4) s / sqrt(n) */
    /* differences 12, 11, 12, 12.5, 12.5: sd 0.6124, half-width t(0.975, 4) 0.6124 / sqrt(5) */
    CHECK_NEAR(w->diff_ci, 2.7764451 * sqrt(0.375 / 5), 1e-5);
    CHECK_INT(compare_result_status(r), 1);
    CHECK_STR(r->cases[0].params, "{\"router.policy\":\"random\",\"workload.rate\":10}");
    CHECK(compare_result_find(r, NULL, "slo_attainment") == NULL); /* NaN on both sides: left out */
    compare_result_free(r);

    /* the same values under other seeds: Welch, and +12% is within the noise */
    make_db(cp, "sweep-b", 101, shifted, 5);
    w = p99_of(bp, cp, &r);
    if (!w) return;
    CHECK_INT(w->test, COMPARE_TEST_WELCH);
    CHECK_INT(w->verdict, COMPARE_NOISE);
    CHECK(!w->significant);
    /* Welch: se^2 = 250/5 + 262.875/5 = 102.575; df = 102.575^2 / ((50^2 + 52.575^2) / 4) = 7.995 */
    CHECK_NEAR(w->diff_ci, 2.3062 * sqrt(102.575), 0.01);
    CHECK_INT(compare_result_status(r), 0);
    CHECK_INT(r->noise, 1);
    compare_result_free(r);

    /* the same seeds but scattered pairs (-10 .. +40): paired, noise */
    make_db(cp, "sweep-b", 1, scattered, 5);
    w = p99_of(bp, cp, &r);
    if (!w) return;
    CHECK_INT(w->test, COMPARE_TEST_PAIRED);
    CHECK_INT(w->verdict, COMPARE_NOISE);
    CHECK_INT(compare_result_status(r), 0);
    compare_result_free(r);

    /* +50%: a regression under either test */
    for (uint64_t seed = 1; seed <= 101; seed += 100) {
        make_db(cp, "sweep-b", seed, far, 5);
        w = p99_of(bp, cp, &r);
        if (!w) return;
        CHECK_INT(w->test, seed == 1 ? COMPARE_TEST_PAIRED : COMPARE_TEST_WELCH);
        CHECK_INT(w->verdict, COMPARE_REGRESSION);
        CHECK(w->significant);
        CHECK_INT(compare_result_status(r), 1);
        compare_result_free(r);
    }

    /* one run against replications: tested against their spread (se^2 = s^2 (1 + 1/n)) */
    make_db(cp, "sweep-b", 101, scattered, 5);          /* variance 770 */
    snprintf(spec_b, sizeof spec_b, "%s/single.db", tmpdir);
    static const double single[] = {100};
    make_db(spec_b, "sweep-c", 7, single, 1);
    snprintf(spec_c, sizeof spec_c, "%s:3", cp);         /* run 3: replication 1 of point 0 */
    w = p99_of(spec_b, spec_c, &r);
    if (!w) return;
    CHECK_INT(w->old_n, 1);
    CHECK_INT(w->new_n, 5);
    CHECK_INT(w->test, COMPARE_TEST_SINGLE);
    CHECK_INT(w->verdict, COMPARE_NOISE);
    CHECK_NEAR(w->diff_ci, 2.7764451 * sqrt(770 * 1.2), 1e-3);
    compare_result_free(r);

    /* :all holds run 1 (scenario "other") and the point; paired by name and params */
    snprintf(spec_b, sizeof spec_b, "%s:all", bp);
    snprintf(spec_c, sizeof spec_c, "%s:all", cp);
    r = cmp_specs(spec_b, spec_c, &err);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->ncases, 2);
        CHECK_STR(r->cases[0].name, "other");
        CHECK_INT(r->cases[1].base_nruns, 5);
        CHECK_INT(compare_result_status(r), 0);
        compare_result_free(r);
    }

    /* selection errors */
    snprintf(spec_b, sizeof spec_b, "%s:99", bp);
    CHECK(compare_side_load(spec_b, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no run with id 99");
    snprintf(spec_b, sizeof spec_b, "%s:7", bp);
    CHECK(compare_side_load(spec_b, &err) == NULL);
    CHECK_CONTAINS(err.msg, "run 7 has status 'failed'");
    snprintf(spec_b, sizeof spec_b, "%s:x1", bp);
    CHECK(compare_side_load(spec_b, &err) == NULL);
    CHECK_CONTAINS(err.msg, "expected a run id");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    FS_ASSERT(f);
    fputs(text, f);
    fclose(f);
}

static void test_files(void)
{
    char p[160];
    fs_error err;
    snprintf(p, sizeof p, "%s/none.db", tmpdir);
    CHECK(compare_side_load(p, &err) == NULL);
    CHECK_CONTAINS(err.msg, "cannot open");
    snprintf(p, sizeof p, "%s/text.db", tmpdir);
    write_file(p, "hello, not a database\n");
    CHECK(compare_side_load(p, &err) == NULL);
    CHECK_CONTAINS(err.msg, "expected a results database (SQLite) or an export");
    snprintf(p, sizeof p, "%s/empty.db", tmpdir);
    write_file(p, "");
    CHECK(compare_side_load(p, &err) == NULL);
    CHECK_CONTAINS(err.msg, "an empty file");
    /* a SQLite file of some other program */
    snprintf(p, sizeof p, "%s/other.db", tmpdir);
    unlink(p);
    {
        store *st = store_open(p, &err); /* then drop the tables to make it someone else's */
        store_close(st);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'DROP TABLE metrics' 2>/dev/null", p);
        if (system(cmd) == 0) {
            CHECK(compare_side_load(p, &err) == NULL);
            CHECK_CONTAINS(err.msg, "not a results database: expected tables runs and metrics");
        }
    }
    /* a results database with no runs */
    snprintf(p, sizeof p, "%s/norun.db", tmpdir);
    unlink(p);
    store_close(store_open(p, &err));
    CHECK(compare_side_load(p, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no runs stored");
    /* an export file, with ':ID' */
    snprintf(p, sizeof p, "%s/x.json", tmpdir);
    write_file(p, "{\"runs\": [{\"id\": 4, \"name\": \"a\", \"metrics\": [{\"name\": \"ttft\", \"stat\": \"p99\", "
                  "\"value\": 3, \"unit\": \"ms\"}], \"point\": null}]}");
    compare_side *s = compare_side_load(p, &err);
    CHECK(s != NULL);
    compare_side_free(s);
    char spec[200];
    snprintf(spec, sizeof spec, "%s:4", p);
    s = compare_side_load(spec, &err);
    CHECK(s != NULL);
    compare_side_free(s);
    snprintf(p, sizeof p, "%s/bad.json", tmpdir);
    write_file(p, "{\"runs\": [\n{\"id\": 1\n");
    CHECK(compare_side_load(p, &err) == NULL);
    CHECK_CONTAINS(err.msg, "invalid JSON");
    CHECK_INT(err.line, 3);
}

/* ---- printing ---- */

static char *printed(const compare_result *r, compare_format f, bool all)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    compare_print(out, r, f, all);
    fclose(out);
    return buf;
}

static void test_print(void)
{
    fs_error err;
    compare_result *r = cmp(base_k, (knobs){1.15, 0.9, 99, 1}, NULL, false, &err);
    char *t = printed(r, COMPARE_TEXT, false);
    CHECK_CONTAINS(t, "case base vs cand: BASE run 1, CAND run 1");
    CHECK_CONTAINS(t, "p99_ttft_ms");
    CHECK_CONTAINS(t, "+15.00%");
    CHECK_CONTAINS(t, "REGRESSION");
    CHECK_CONTAINS(t, "base vs cand p99_ttft_ms: 100 -> 115 ms (+15.00%, threshold +10%)");
    CHECK_CONTAINS(t, "result: REGRESSION (3 regressions, 0 missing, 0 within noise; 1 case, 11 metrics compared)");
    CHECK(strstr(t, "replica_utilization") == NULL); /* unchanged, no threshold: only with --all */
    free(t);
    t = printed(r, COMPARE_TEXT, true);
    CHECK_CONTAINS(t, "replica_utilization");
    free(t);
    t = printed(r, COMPARE_MARKDOWN, false);
    CHECK_CONTAINS(t, "## fleetsim compare: REGRESSION");
    CHECK_CONTAINS(t, "| metric | old | new | delta | % | threshold | verdict |");
    CHECK_CONTAINS(t, "| `p99_ttft_ms` | 100 | 115 | +15 | +15.00% | +10% | **REGRESSION** |");
    free(t);
    t = printed(r, COMPARE_JSON, false);
    json_error_t je;
    json_t *j = json_loads(t, 0, &je);
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "result")), "regression");
    CHECK_INT(json_integer_value(json_object_get(j, "regressions")), 3);
    json_t *rows = json_object_get(json_array_get(json_object_get(j, "cases"), 0), "metrics");
    CHECK_INT(json_array_size(rows), 11);
    json_t *p99 = NULL;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) if (strcmp(json_string_value(json_object_get(row, "key")), "p99_ttft_ms") == 0) p99 = row;
    CHECK(p99 != NULL);
    if (p99) {
        CHECK_NEAR(json_real_value(json_object_get(p99, "new")), 115, 1e-9);
        CHECK_STR(json_string_value(json_object_get(p99, "verdict")), "REGRESSION");
        CHECK_STR(json_string_value(json_object_get(p99, "threshold")), "+10%");
        CHECK(json_is_null(json_object_get(p99, "old_ci95")));
    }
    json_decref(j);
    free(t);
    compare_result_free(r);

    r = cmp(base_k, base_k, NULL, false, &err);
    t = printed(r, COMPARE_TEXT, false);
    CHECK_CONTAINS(t, "result: PASS (0 regressions");
    free(t);
    compare_result_free(r);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fs_test_compare_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_threshold_parse);
    RUN(test_identical_passes);
    RUN(test_latency_rise);
    RUN(test_goodput_fall);
    RUN(test_thresholds_both_ways);
    RUN(test_threshold_errors);
    RUN(test_missing_metrics_and_cases);
    RUN(test_empty_params_pair_with_plain_runs);
    RUN(test_export_selection);
    RUN(test_export_errors);
    RUN(test_replications);
    RUN(test_files);
    RUN(test_print);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return DONE();
}
