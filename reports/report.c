/* The HTML report: the database and its runs checked and loaded, the page, the scenario summary
 * and the metric tables; the plots are report_plot.c's. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"
#include "report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gnuplot.h"
#include "store.h"

/* ---- small helpers ---- */

void report_html(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Formatted, then escaped: text only, never markup. */
static void htmlf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void htmlf(FILE *f, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    report_html(f, buf);
}

/* Digits of an integer part with thousands separated by commas. */
static void group_thousands(char *buf, size_t size, const char *digits)
{
    size_t len = strlen(digits), n = 0;
    for (size_t i = 0; i < len && n + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0 && digits[i - 1] != '-') buf[n++] = ',';
        buf[n++] = digits[i];
    }
    buf[n] = '\0';
}

void report_number(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "n/a");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, "%s", v > 0 ? "∞" : "−∞");
        return;
    }
    double a = fabs(v);
    if (a >= 1e15 || (a < 1e-3 && a > 0)) {
        snprintf(buf, size, "%.3g", v);
        return;
    }
    int decimals = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
    if (v == floor(v) && a < 1e15) decimals = 0;
    char raw[64];
    snprintf(raw, sizeof raw, "%.*f", decimals, v);
    char *dot = strchr(raw, '.');
    char intpart[64], grouped[96];
    snprintf(intpart, sizeof intpart, "%.*s", dot ? (int)(dot - raw) : (int)strlen(raw), raw);
    group_thousands(grouped, sizeof grouped, intpart);
    snprintf(buf, size, "%s%s", grouped, dot ? dot : "");
}

static int db_fail(report *r, fs_error *err, const char *what)
{
    return fs_error_set(err, r->db_path, 0, 0, "%s: %s", what, sqlite3_errmsg(r->db));
}

int report_metric(report *r, const report_run *run, const char *name, const char *stat, double *v, fs_error *err)
{
    sqlite3_stmt *s = r->metric;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, run->id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, stat, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_type(s, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 0);
        sqlite3_reset(s);
        return 1;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_fail(r, err, "cannot read the metrics");
}

/* ---- the database and its runs ---- */

static int open_db(report *r, const char *path, fs_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fs_error_set(err, path, 0, 0, "cannot read the results database: %s", strerror(errno));
    if (!S_ISREG(st.st_mode)) return fs_error_set(err, path, 0, 0, "not a results database: not a regular file");
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fs_error_set(err, path, 0, 0, "cannot open the results database: %s",
                            r->db ? sqlite3_errmsg(r->db) : "out of memory");
    sqlite3_busy_timeout(r->db, 5000);
    sqlite3_stmt *s;
    int version = -1, tables = 0;
    if (sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return db_fail(r, err, "not a results database");
    if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(r->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                           "('runs', 'metrics', 'requests', 'timeseries')", -1, &s, NULL) != SQLITE_OK)
        return db_fail(r, err, "not a results database");
    if (sqlite3_step(s) == SQLITE_ROW) tables = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version < 1 || tables != 4)
        return fs_error_set(err, path, 0, 0, "not a results database: a SQLite file without fleetsim's tables "
                            "(runs, metrics, requests, timeseries) and schema version");
    if (version > STORE_SCHEMA_VERSION)
        return fs_error_set(err, path, 0, 0, "results database has schema version %d; this fleetsim reads up to "
                            "%d (upgrade fleetsim)", version, STORE_SCHEMA_VERSION);
    if (sqlite3_prepare_v2(r->db, "SELECT value FROM metrics WHERE run_id = ? AND name = ? AND stat = ?", -1,
                           &r->metric, NULL) != SQLITE_OK)
        return db_fail(r, err, "cannot read the metrics");
    return 0;
}

/* The last run with status 'ok' whose scenario has a fleet (a `validate` run has none). */
static int default_run(report *r, int64_t *id, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, "SELECT id FROM runs WHERE status = 'ok' AND CASE WHEN json_valid(scenario_json) "
                           "THEN json_type(scenario_json, '$.fleet') END = 'array' ORDER BY id DESC LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return db_fail(r, err, "cannot read the runs");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW) return 0;
    if (rc != SQLITE_DONE) return db_fail(r, err, "cannot read the runs");
    return fs_error_set(err, r->db_path, 0, 0, "no simulation run with status 'ok' to report (see: sqlite3 %s "
                        "\"select id, name, status, error from runs\")", r->db_path);
}

static char *column_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return fs_xstrdup(t ? (const char *)t : "");
}

static int load_run(report *r, report_run *run, int64_t id, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, "SELECT name, scenario_json, seed, version, git_commit, started_at, ended_at, "
                           "status, error, EXISTS (SELECT 1 FROM requests WHERE run_id = runs.id) FROM runs "
                           "WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
        return db_fail(r, err, "cannot read the runs");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) return db_fail(r, err, "cannot read the runs");
        long long lo = 0, hi = 0;
        if (sqlite3_prepare_v2(r->db, "SELECT min(id), max(id) FROM runs", -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW) {
            lo = sqlite3_column_int64(s, 0);
            hi = sqlite3_column_int64(s, 1);
        }
        sqlite3_finalize(s);
        if (hi == 0) return fs_error_set(err, r->db_path, 0, 0, "no run %lld: the database holds no runs", (long long)id);
        return fs_error_set(err, r->db_path, 0, 0, "no run %lld (its runs are numbered %lld to %lld)", (long long)id,
                            lo, hi);
    }
    run->id = id;
    run->name = column_text(s, 0);
    const char *json = (const char *)sqlite3_column_text(s, 1);
    run->seed = (uint64_t)sqlite3_column_int64(s, 2);
    run->version = column_text(s, 3);
    run->git_commit = column_text(s, 4);
    run->started_at = column_text(s, 5);
    run->ended_at = column_text(s, 6);
    const char *status = (const char *)sqlite3_column_text(s, 7);
    const char *error = (const char *)sqlite3_column_text(s, 8);
    run->has_requests = sqlite3_column_int(s, 9) != 0;
    snprintf(run->label, sizeof run->label, "run %lld: %s", (long long)id, run->name);
    if (!status || strcmp(status, "ok") != 0) {
        fs_error_set(err, r->db_path, 0, 0, "run %lld ('%s') %s%s%s%s%s: only a run with status 'ok' has results "
                     "to report", (long long)id, run->name, status && strcmp(status, "running") == 0 ? "is still " : "",
                     status ? status : "has no status", error ? " (" : "", error ? error : "", error ? ")" : "");
        sqlite3_finalize(s);
        return -1;
    }
    json_error_t jerr;
    run->sc = json ? json_loads(json, 0, &jerr) : NULL;
    sqlite3_finalize(s);
    if (!json_is_array(json_object_get(run->sc, "fleet")))
        return fs_error_set(err, r->db_path, 0, 0, "run %lld ('%s') is not a simulation run: its stored scenario has "
                            "no fleet", (long long)id, run->name);
    json_t *d;
    size_t i;
    json_array_foreach(json_object_get(run->sc, "deployments"), i, d) {
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (kind && strcmp(kind, "llm") == 0) run->llm = true;
    }
    return 0;
}

static void report_fini(report *r)
{
    for (size_t i = 0; i < r->nruns; i++) {
        report_run *run = &r->runs[i];
        free(run->name);
        free(run->version);
        free(run->git_commit);
        free(run->started_at);
        free(run->ended_at);
        json_decref(run->sc);
    }
    free(r->runs);
    sqlite3_finalize(r->metric);
    sqlite3_close(r->db);
}

/* ---- the scenario, in words ---- */

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A JSON value briefly: strings bare, numbers as %g, containers compact (cut at 120 bytes). */
static void brief(char *buf, size_t size, json_t *v)
{
    if (json_is_string(v)) snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, size, "%g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
    else if (!v || json_is_null(v)) snprintf(buf, size, "none");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        if (s && strlen(s) > 120) snprintf(buf, size, "%.117s...", s);
        else snprintf(buf, size, "%s", s ? s : "?");
        free(s);
    }
}

static bool listed(const char *key, const char *const *keys)
{
    for (; keys && *keys; keys++)
        if (strcmp(key, *keys) == 0) return true;
    return false;
}

/* "key value, key value" over an object's keys (in stored order), leaving out `skip`. */
static void key_values(FILE *f, json_t *o, const char *const *skip)
{
    const char *key;
    json_t *v;
    int n = 0;
    json_object_foreach(o, key, v) {
        if (listed(key, skip)) continue;
        char val[256];
        brief(val, sizeof val, v);
        htmlf(f, "%s%s %s", n++ ? ", " : "", key, val);
    }
}

/* A length or time distribution: "lognormal (mean 1000, cv 1, max 8000)". */
static void distribution(FILE *f, json_t *d)
{
    if (!json_is_object(d)) {
        char val[256];
        brief(val, sizeof val, d);
        report_html(f, val);
        return;
    }
    static const char *const skip[] = {"dist", NULL};
    report_html(f, jstr(d, "dist") ? jstr(d, "dist") : "distribution");
    if (json_object_size(d) > (jstr(d, "dist") ? 1u : 0u)) {
        fputs(" (", f);
        key_values(f, d, skip);
        fputs(")", f);
    }
}

static double jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void fleet_table(FILE *f, json_t *fleet)
{
    fputs("<h4>Fleet</h4>\n<table><thead><tr><th>pool</th><th>region</th><th>GPU</th><th>GPUs</th>"
          "<th>GPUs per node</th><th>nodes (min to max)</th><th>USD per GPU-hour</th><th>also</th></tr></thead><tbody>\n",
          f);
    json_t *p;
    size_t i;
    double gpus = 0;
    json_array_foreach(fleet, i, p) {
        char nodes[64], price[32], count[32];
        double mn = jnum(p, "min_nodes"), mx = jnum(p, "max_nodes");
        if (mn == mx) snprintf(nodes, sizeof nodes, "%g (fixed)", mn);
        else snprintf(nodes, sizeof nodes, "%g to %g (Cluster Autoscaler)", mn, mx);
        snprintf(price, sizeof price, "%.2f", jnum(p, "price_per_hour"));
        report_number(count, sizeof count, jnum(p, "count"));
        if (!isnan(jnum(p, "count"))) gpus += jnum(p, "count");
        fputs("<tr><td>", f);
        report_html(f, jstr(p, "name"));
        fputs("</td><td>", f);
        report_html(f, jstr(p, "region") ? jstr(p, "region") : "–");
        fputs("</td><td>", f);
        report_html(f, jstr(p, "gpu"));
        fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%g</td><td>%s</td><td class=\"n\">%s</td><td>", count,
              jnum(p, "gpus_per_node"), nodes, price);
        int also = 0;
        if (jstr(p, "mig")) htmlf(f, "%sMIG %s", also++ ? "; " : "", jstr(p, "mig"));
        if (json_is_true(json_object_get(p, "spot")))
            htmlf(f, "%sspot, %g reclaims per node-hour", also++ ? "; " : "", jnum(p, "reclaims_per_hour"));
        if (jnum(p, "mtbf_hours") > 0)
            htmlf(f, "%snode MTBF %g h, MTTR %g s", also++ ? "; " : "", jnum(p, "mtbf_hours"), jnum(p, "mttr_s"));
        if (mn != mx)
            htmlf(f, "%snew node ready after %g s", also++ ? "; " : "", jnum(p, "provision_s"));
        if (!also) fputs("–", f);
        fputs("</td></tr>\n", f);
    }
    char total[32];
    report_number(total, sizeof total, gpus);
    fprintf(f, "</tbody></table>\n<p class=\"note\">%s GPU%s at the start in %zu pool%s. Every provisioned node is "
            "billed per GPU-hour, busy or not.</p>\n", total, gpus == 1 ? "" : "s", json_array_size(fleet),
            json_array_size(fleet) == 1 ? "" : "s");
}

static void autoscale_text(FILE *f, json_t *a)
{
    if (!json_is_object(a)) {
        fputs("none (fixed count)", f);
        return;
    }
    const char *policy = jstr(a, "policy");
    htmlf(f, "%s on %s, target %g; %g to ", policy && strcmp(policy, "kpa") == 0 ? "Knative KPA" : "Kubernetes HPA",
          jstr(a, "metric") ? jstr(a, "metric") : "?", jnum(a, "target"), jnum(a, "min_replicas"));
    double mx = jnum(a, "max_replicas");
    if (mx == 0 && policy && strcmp(policy, "kpa") == 0) fputs("unbounded", f);
    else htmlf(f, "%g", mx);
    fputs(" replicas", f);
}

static void serving_text(FILE *f, json_t *d)
{
    const char *kind = jstr(d, "kind");
    if (kind && strcmp(kind, "llm") == 0) {
        json_t *e = json_object_get(d, "engine");
        htmlf(f, "vLLM-like engine: max_num_seqs %g, max_num_batched_tokens %g, max_model_len %g, weights %s, KV %s, "
              "prefix caching %s, chunked prefill %s", jnum(e, "max_num_seqs"), jnum(e, "max_num_batched_tokens"),
              jnum(e, "max_model_len"), jstr(e, "dtype") ? jstr(e, "dtype") : "?",
              jstr(e, "kv_cache_dtype") ? jstr(e, "kv_cache_dtype") : "?",
              json_is_true(json_object_get(e, "enable_prefix_caching")) ? "on" : "off",
              json_is_true(json_object_get(e, "enable_chunked_prefill")) ? "on" : "off");
        if (json_is_number(json_object_get(e, "num_gpu_blocks")))
            htmlf(f, ", %g KV blocks", jnum(e, "num_gpu_blocks"));
        json_t *dis = json_object_get(d, "disaggregation");
        if (json_is_object(dis))
            htmlf(f, "; disaggregated: %g prefill + %g decode replicas, KV moved at %g GB/s",
                  jnum(dis, "prefill_replicas"), jnum(dis, "decode_replicas"), jnum(dis, "link_gbs"));
    } else {
        fputs("a service time per request, ", f);
        distribution(f, json_object_get(d, "service"));
        htmlf(f, "; batches of up to %g", jnum(d, "max_batch"));
    }
    if (jstr(d, "mig_profile")) htmlf(f, "; on MIG %s instances", jstr(d, "mig_profile"));
}

static void deployments_table(FILE *f, json_t *deps)
{
    fputs("<h4>Deployments</h4>\n<table><thead><tr><th>name</th><th>model</th><th>GPU</th>"
          "<th>replicas at start</th><th>GPUs per replica</th><th>autoscaling</th><th>serving</th></tr></thead><tbody>\n", f);
    json_t *d;
    size_t i;
    json_array_foreach(deps, i, d) {
        fputs("<tr><td>", f);
        report_html(f, jstr(d, "name"));
        fputs("</td><td>", f);
        report_html(f, jstr(d, "model"));
        fputs("</td><td>", f);
        report_html(f, jstr(d, "gpu"));
        json_t *pools = json_object_get(d, "pools"), *pool;
        size_t k;
        const char *first = json_string_value(json_array_get(pools, 0));
        if (json_array_size(pools) > 1 || (first && jstr(d, "gpu") && strcmp(first, jstr(d, "gpu")) != 0)) {
            fputs(json_array_size(pools) > 1 ? " on pools " : " on pool ", f);
            json_array_foreach(pools, k, pool) htmlf(f, "%s%s", k ? ", " : "", json_string_value(pool));
        }
        fprintf(f, "</td><td class=\"n\">%g</td><td class=\"n\">%g%s</td><td>", jnum(d, "replicas"),
              jnum(d, "gpus_per_replica"), json_is_number(json_object_get(d, "tp")) && jnum(d, "tp") > 1 ? " (TP)" : "");
        autoscale_text(f, json_object_get(d, "autoscale"));
        fputs("</td><td>", f);
        serving_text(f, d);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

static void workload_list(FILE *f, json_t *w)
{
    json_t *sources = json_object_get(w, "sources");
    json_t *one = json_array();
    if (!json_is_array(sources)) {
        json_array_append(one, w);
        sources = one;
    }
    static const char *const skip[] = {"arrival", "deployment", "input", "output", "tenant", "region", "priority",
                                       "limit", "correlation", "trace", "prefix", NULL};
    fputs("<h4>Workload</h4>\n<ul>\n", f);
    json_t *s;
    size_t i;
    json_array_foreach(sources, i, s) {
        const char *arrival = jstr(s, "arrival") ? jstr(s, "arrival") : "poisson";
        fputs("<li>", f);
        if (json_array_size(sources) > 1) htmlf(f, "Source %zu: ", i + 1);
        if (strcmp(arrival, "trace") == 0) {
            json_t *t = json_object_get(s, "trace");
            htmlf(f, "requests replayed from the trace %s, format %s", jstr(t, "path") ? jstr(t, "path") : "?",
                  jstr(t, "format") ? jstr(t, "format") : "azure");
        } else if (json_is_number(json_object_get(s, "rate"))) {
            htmlf(f, "%s arrivals at %g req/s", arrival, jnum(s, "rate"));
        } else {
            htmlf(f, "%s arrivals", arrival);
        }
        static const char *const skip_rate[] = {"arrival", "deployment", "input", "output", "tenant", "region",
                                                "priority", "limit", "correlation", "trace", "prefix", "rate",
                                                "stages", NULL};
        json_t *rest = json_object();
        const char *key;
        json_t *v;
        json_object_foreach(s, key, v)
            if (!listed(key, strcmp(arrival, "trace") == 0 ? skip : skip_rate)) json_object_set(rest, key, v);
        if (json_object_size(rest)) {
            fputs(" (", f);
            key_values(f, rest, NULL);
            fputs(")", f);
        }
        json_decref(rest);
        json_t *stage;
        size_t k;
        json_array_foreach(json_object_get(s, "stages"), k, stage)
            htmlf(f, "%s%g req/s for %g s%s", k ? ", then " : ": ", jnum(stage, "rate"), jnum(stage, "duration_s"),
                  json_is_true(json_object_get(stage, "ramp")) ? " (ramped)" : "");
        htmlf(f, ", to deployment %s", jstr(s, "deployment") ? jstr(s, "deployment") : "?");
        if (json_object_get(s, "input")) {
            fputs(". Prompt tokens: ", f);
            distribution(f, json_object_get(s, "input"));
            fputs("; output tokens: ", f);
            distribution(f, json_object_get(s, "output"));
        }
        json_t *prefix = json_object_get(s, "prefix");
        if (json_is_object(prefix)) {
            fputs("; prompts open with a shared prefix (", f);
            key_values(f, prefix, NULL);
            fputs(")", f);
        }
        if (jnum(s, "correlation") != 0 && !isnan(jnum(s, "correlation")))
            htmlf(f, "; correlation %g", jnum(s, "correlation"));
        if (jstr(s, "tenant")) htmlf(f, "; tenant %s", jstr(s, "tenant"));
        if (jstr(s, "region")) htmlf(f, "; region %s", jstr(s, "region"));
        if (jnum(s, "limit") > 0) htmlf(f, "; at most %g requests", jnum(s, "limit"));
        fputs(".</li>\n", f);
    }
    fputs("</ul>\n", f);
    json_decref(one);
}

static void run_length(FILE *f, json_t *sc)
{
    double duration = jnum(sc, "duration"), requests = jnum(sc, "requests"), warmup = jnum(sc, "warmup");
    if (!isnan(duration) && !isnan(requests)) htmlf(f, "arrivals for %g s or %g requests, whichever comes first", duration, requests);
    else if (!isnan(duration)) htmlf(f, "arrivals for %g s", duration);
    else if (!isnan(requests)) htmlf(f, "%g requests", requests);
    else fputs("the whole trace", f);
    if (warmup > 0) htmlf(f, "; the first %g s are warm-up, not measured", warmup);
    json_t *drain = json_object_get(sc, "drain_timeout");
    if (json_is_number(drain)) htmlf(f, "; then in-flight requests drain for at most %g s", json_number_value(drain));
    else fputs("; then in-flight requests drain until done", f);
}

static void slo_text(FILE *f, json_t *slo)
{
    static const char *const keys[][2] = {{"ttft_ms", "TTFT"}, {"tpot_ms", "TPOT"}, {"e2e_ms", "E2E"}};
    int n = 0;
    for (size_t i = 0; i < 3; i++)
        if (json_is_number(json_object_get(slo, keys[i][0])))
            htmlf(f, "%s%s ≤ %g ms", n++ ? ", " : "", keys[i][1], jnum(slo, keys[i][0]));
    if (!n) fputs("none set (goodput counts every completed request)", f);
    else fputs(" (a request is good when it meets every target)", f);
}

static void scenario_section(report *r, const report_run *run)
{
    FILE *f = r->out;
    json_t *sc = run->sc;
    fputs("<details open class=\"run\"><summary>", f);
    report_html(f, run->label);
    fputs("</summary>\n", f);
    if (jstr(sc, "description")) {
        fputs("<p class=\"lede\">", f);
        report_html(f, jstr(sc, "description"));
        fputs("</p>\n", f);
    }
    fputs("<dl class=\"facts\">\n<dt>Length</dt><dd>", f);
    run_length(f, sc);
    fputs("</dd>\n<dt>Latency targets (SLO)</dt><dd>", f);
    slo_text(f, json_object_get(sc, "slo"));
    fprintf(f, "</dd>\n<dt>Seed</dt><dd>%llu</dd>\n<dt>Simulated by</dt><dd>", (unsigned long long)run->seed);
    htmlf(f, "fleetsim %s", run->version);
    if (run->git_commit[0]) htmlf(f, " (commit %s)", run->git_commit);
    htmlf(f, ", %s to %s (UTC)", run->started_at, run->ended_at[0] ? run->ended_at : "?");
    fputs("</dd>\n</dl>\n", f);
    fleet_table(f, json_object_get(sc, "fleet"));
    deployments_table(f, json_object_get(sc, "deployments"));
    fputs("<h4>Routing and placement</h4>\n<p>Router: ", f);
    json_t *router = json_object_get(sc, "router");
    report_html(f, jstr(router, "policy") ? jstr(router, "policy") : "?");
    static const char *const skip_policy[] = {"policy", NULL};
    if (json_object_size(router) > 1) {
        fputs(" (", f);
        key_values(f, router, skip_policy);
        fputs(")", f);
    }
    fputs(". Placement of replicas on nodes: ", f);
    report_html(f, jstr(json_object_get(sc, "placement"), "policy") ? jstr(json_object_get(sc, "placement"), "policy") : "?");
    fputs(".", f);
    json_t *limits = json_object_get(json_object_get(sc, "admission"), "rate_limits");
    if (json_object_size(limits)) {
        fputs(" Rate limits per tenant: ", f);
        key_values(f, limits, NULL);
        fputs(".", f);
    }
    json_t *regions = json_object_get(sc, "regions");
    if (json_is_object(regions)) {
        fputs(" Regions: ", f);
        key_values(f, regions, NULL);
        fputs(".", f);
    }
    fputs("</p>\n", f);
    workload_list(f, json_object_get(sc, "workload"));
    char *pretty = json_dumps(sc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    fputs("<details><summary>The resolved scenario (JSON, defaults filled in)</summary>\n<pre>", f);
    report_html(f, pretty);
    fputs("</pre></details>\n</details>\n", f);
    free(pretty);
}

/* ---- the metric tables ---- */

typedef struct metric_row {
    const char *label, *name, *stat;
} metric_row;

static const metric_row headline[] = {
    {"Requests arrived", "arrived", "value"},
    {"Requests completed", "completed", "value"},
    {"Requests unfinished at the end", "unfinished", "value"},
    {"Requests rejected", "rejected", "value"},
    {"Measurement window (s)", "duration", "value"},
    {"Throughput (req/s)", "request_throughput", "value"},
    {"Input tokens per second", "input_throughput", "value"},
    {"Output tokens per second", "output_throughput", "value"},
    {"Goodput (req/s meeting every SLO)", "request_goodput", "value"},
    {"SLO attainment (%)", "slo_attainment", "value"},
    {"Replica utilisation (%)", "replica_utilization", "value"},
    {"Prefix-cache hit rate (%)", "prefix_cache_hit_rate", "value"},
    {"Preemptions", "preemptions", "value"},
    {"GPU-hours", "gpu_hours", "value"},
    {"Cost (USD)", "cost", "value"},
    {"Cost of idle capacity (USD)", "idle_capacity_cost", "value"},
    {"Cost per 1k requests (USD)", "cost_per_1k_requests", "value"},
    {"Cost per 1M input tokens (USD)", "cost_per_1m_input_tokens", "value"},
    {"Cost per 1M output tokens (USD)", "cost_per_1m_output_tokens", "value"},
    {"Energy (kWh)", "energy", "value"},
    {"Mean power (kW)", "mean_power", "value"},
    {"Energy per token (J)", "energy_per_token", "value"},
    {"Energy per output token (J)", "energy_per_output_token", "value"},
};

static void run_heads(report *r)
{
    for (size_t k = 0; k < r->nruns; k++) {
        fputs("<th>", r->out);
        report_html(r->out, r->runs[k].label);
        fputs("</th>", r->out);
    }
}

/* One row of a run-per-column table; nothing when no run has the metric. */
static int metric_line(report *r, const char *label, const char *name, const char *stat, fs_error *err)
{
    double v[REPORT_MAX_RUNS];
    bool any = false;
    for (size_t k = 0; k < r->nruns; k++) {
        int rc = report_metric(r, &r->runs[k], name, stat, &v[k], err);
        if (rc < 0) return -1;
        if (rc == 0) v[k] = INFINITY; /* marks "not stored" */
        else any = true;
    }
    if (!any) return 0;
    fputs("<tr><td>", r->out);
    report_html(r->out, label);
    fputs("</td>", r->out);
    for (size_t k = 0; k < r->nruns; k++) {
        char num[64];
        if (v[k] == INFINITY) snprintf(num, sizeof num, "–");
        else report_number(num, sizeof num, v[k]);
        fprintf(r->out, "<td class=\"n\">%s</td>", num);
    }
    fputs("</tr>\n", r->out);
    return 0;
}

static const struct {
    const char *name, *label;
} latency_metrics[] = {
    {"ttft", "TTFT: time to first token"},
    {"tpot", "TPOT: time per output token after the first"},
    {"itl", "ITL: gap between tokens (all requests)"},
    {"e2el", "E2E: arrival to last token"},
    {"queue", "Queueing delay: arrival to start of service"},
};
static const char *const latency_stats[] = {"mean", "median", "p90", "p95", "p99", "p99.9", "max"};

static int latency_table(report *r, fs_error *err)
{
    FILE *f = r->out;
    fputs("<h3>Latency (ms)</h3>\n<table><thead><tr>", f);
    if (r->nruns > 1) fputs("<th>run</th>", f);
    fputs("<th>metric</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th>"
          "</tr></thead><tbody>\n", f);
    for (size_t m = 0; m < sizeof latency_metrics / sizeof *latency_metrics; m++) {
        for (size_t k = 0; k < r->nruns; k++) {
            double v[7];
            bool any = false;
            for (size_t s = 0; s < 7; s++) {
                int rc = report_metric(r, &r->runs[k], latency_metrics[m].name, latency_stats[s], &v[s], err);
                if (rc < 0) return -1;
                if (rc == 0) v[s] = NAN;
                else any = true;
            }
            if (!any) continue;
            fputs("<tr>", f);
            if (r->nruns > 1) {
                fputs("<td>", f);
                report_html(f, r->runs[k].label);
                fputs("</td>", f);
            }
            fputs("<td>", f);
            report_html(f, latency_metrics[m].label);
            fputs("</td>", f);
            for (size_t s = 0; s < 7; s++) {
                char num[64];
                report_number(num, sizeof num, v[s]);
                fprintf(f, "<td class=\"n\">%s</td>", num);
            }
            fputs("</tr>\n", f);
        }
    }
    fputs("</tbody></table>\n<p class=\"note\">Percentiles interpolate linearly between order statistics (numpy's "
          "default); ITL percentiles come from a histogram, within 0.2%.</p>\n", f);
    return 0;
}

/* Every stored metric, for what the tables above leave out (tenants, cold starts, placement). */
static int all_metrics(report *r, fs_error *err)
{
    char ids[REPORT_MAX_RUNS * 24] = "";
    for (size_t k = 0; k < r->nruns; k++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%lld", k ? "," : "", (long long)r->runs[k].id);
    char sql[sizeof ids + 128];
    snprintf(sql, sizeof sql, "SELECT DISTINCT name, stat, unit FROM metrics WHERE run_id IN (%s) ORDER BY name, stat", ids);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK) return db_fail(r, err, "cannot read the metrics");
    fputs("<details><summary>Every stored metric</summary>\n<table><thead><tr><th>name</th><th>stat</th><th>unit</th>", r->out);
    run_heads(r);
    fputs("</tr></thead><tbody>\n", r->out);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0), *stat = (const char *)sqlite3_column_text(s, 1),
                   *unit = (const char *)sqlite3_column_text(s, 2);
        fputs("<tr><td>", r->out);
        report_html(r->out, name);
        fputs("</td><td>", r->out);
        report_html(r->out, stat);
        fputs("</td><td>", r->out);
        report_html(r->out, unit);
        fputs("</td>", r->out);
        for (size_t k = 0; k < r->nruns; k++) {
            double v;
            int found = report_metric(r, &r->runs[k], name, stat, &v, err);
            if (found < 0) {
                sqlite3_finalize(s);
                return -1;
            }
            char num[64];
            if (found) report_number(num, sizeof num, v);
            else snprintf(num, sizeof num, "–");
            fprintf(r->out, "<td class=\"n\">%s</td>", num);
        }
        fputs("</tr>\n", r->out);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return db_fail(r, err, "cannot read the metrics");
    fputs("</tbody></table></details>\n", r->out);
    return 0;
}

static int results_section(report *r, fs_error *err)
{
    FILE *f = r->out;
    fputs("<section id=\"results\"><h2>Results</h2>\n<table><thead><tr><th>metric</th>", f);
    run_heads(r);
    fputs("</tr></thead><tbody>\n", f);
    for (size_t i = 0; i < sizeof headline / sizeof *headline; i++)
        if (metric_line(r, headline[i].label, headline[i].name, headline[i].stat, err)) return -1;
    fputs("</tbody></table>\n<p class=\"note\">Counts, rates and latencies cover the measured requests (those arriving "
          "after the warm-up); GPU-hours, cost and energy cover the whole run, and the per-request and per-token costs "
          "the measured window's share of it. –: not stored for that run.</p>\n", f);
    if (latency_table(r, err) || all_metrics(r, err)) return -1;
    fputs("</section>\n", f);
    return 0;
}

/* ---- the page ---- */

static const char css[] =
    "body{font:15px/1.45 system-ui,\"DejaVu Sans\",\"Segoe UI\",Roboto,sans-serif;color:#1b1b1b;background:#fff;"
    "margin:0}\n"
    "main{max-width:960px;margin:0 auto;padding:12px 24px 48px}\n"
    "h1{font-size:26px;margin:14px 0 4px}\n"
    "h2{font-size:21px;border-bottom:2px solid #0072b2;padding-bottom:3px;margin:36px 0 10px}\n"
    "h3{font-size:17px;margin:26px 0 6px}\n"
    "h4{font-size:15px;margin:16px 0 4px}\n"
    "nav{margin:10px 0;font-size:14px}\nnav a{margin-right:14px;color:#0060a0}\n"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:14px}\n"
    "th,td{border:1px solid #d4d4d4;padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#eef3f8;font-weight:600}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    ".note,.meta{color:#555;font-size:14px}\n"
    ".lede{font-size:16px}\n"
    "details.run{border:1px solid #d4d4d4;border-radius:4px;padding:4px 14px 10px;margin:12px 0}\n"
    "details.run>summary{font-size:17px;font-weight:600;cursor:pointer;padding:4px 0}\n"
    "dl.facts{display:grid;grid-template-columns:max-content auto;gap:3px 16px;margin:8px 0}\n"
    "dl.facts dt{font-weight:600}\ndl.facts dd{margin:0}\n"
    "pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:420px;font-size:12px}\n"
    "section.plot,section.plot-skipped{margin:16px 0 30px}\n"
    "section.plot svg{display:block;max-width:100%;height:auto;border:1px solid #e4e4e4}\n"
    "section.plot-skipped p.note{border-left:4px solid #e69f00;padding:4px 10px;background:#fdf6e9}\n";

static int write_page(report *r, fs_error *err)
{
    FILE *f = r->out;
    const report_run *first = &r->runs[0];
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>fleetsim report: ", f);
    if (r->nruns == 1) report_html(f, first->label);
    else htmlf(f, "%zu runs compared", r->nruns);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header>\n<h1>", css);
    if (r->nruns == 1) {
        report_html(f, first->name);
        fprintf(f, "</h1>\n<p class=\"meta\">fleetsim report of run %lld in ", (long long)first->id);
        report_html(f, r->db_path);
    } else {
        fprintf(f, "%zu runs compared</h1>\n<p class=\"meta\">fleetsim report of runs ", r->nruns);
        for (size_t k = 0; k < r->nruns; k++) fprintf(f, "%s%lld", k ? ", " : "", (long long)r->runs[k].id);
        htmlf(f, " in %s", r->db_path);
    }
    fputs(". A discrete-event simulation of an inference fleet: requests arrive, a router sends them to model "
          "replicas on GPUs, and every latency, cost and utilisation figure below is what the simulated fleet did.</p>\n"
          "</header>\n<nav><a href=\"#scenario\">What was simulated</a><a href=\"#results\">Results</a>"
          "<a href=\"#latency\">Latency</a><a href=\"#over-time\">Load over time</a><a href=\"#capacity\">Capacity and cost</a>",
          f);
    if (r->nruns > 1) fputs("<a href=\"#tradeoff\">Cost against latency</a>", f);
    fputs("</nav>\n<section id=\"scenario\"><h2>What was simulated</h2>\n", f);
    for (size_t k = 0; k < r->nruns; k++) scenario_section(r, &r->runs[k]);
    fputs("</section>\n", f);
    if (results_section(r, err) || report_plots(r, err)) return -1;
    fputs("<footer class=\"note\"><p>Written by <code>fleetsim report</code>; plots drawn by gnuplot. This file is "
          "self-contained: no scripts, fonts or images are fetched.</p></footer>\n</main>\n</body>\n</html>\n", f);
    return 0;
}

/* ---- checks and the file ---- */

static int check_folder(const char *out, fs_error *err)
{
    const char *slash = strrchr(out, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == out) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
    struct stat st;
    if (!*out || (slash && !slash[1])) return fs_error_set(err, out, 0, 0, "expected a file name for the report");
    if (stat(dir, &st) != 0) return fs_error_set(err, out, 0, 0, "cannot write the report: folder '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fs_error_set(err, out, 0, 0, "cannot write the report: '%s' is not a folder", dir);
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return fs_error_set(err, out, 0, 0, "cannot write the report: it is a folder");
    return 0;
}

int report_check(const char *out, fs_error *err)
{
    return check_folder(out, err) || gnuplot_find(err) ? -1 : 0;
}

int report_write(const report_opts *o, int64_t *first_run, long *bytes, fs_error *err)
{
    if (o->nruns > REPORT_MAX_RUNS)
        return fs_error_set(err, "", 0, 0, "at most %d runs in one report, got %zu", REPORT_MAX_RUNS, o->nruns);
    for (size_t i = 0; i < o->nruns; i++)
        for (size_t j = 0; j < i; j++)
            if (o->runs[i] == o->runs[j]) return fs_error_set(err, "", 0, 0, "run %lld given twice", (long long)o->runs[i]);
    report r = {.db_path = o->db};
    r.runs = fs_xcalloc(o->nruns ? o->nruns : 1, sizeof *r.runs);
    int rc = open_db(&r, o->db, err);
    int64_t only = 0;
    if (!rc && o->nruns == 0) rc = default_run(&r, &only, err);
    for (size_t i = 0; !rc && i < (o->nruns ? o->nruns : 1); i++) {
        rc = load_run(&r, &r.runs[i], o->nruns ? o->runs[i] : only, err);
        r.nruns = i + 1;
    }
    if (!rc) rc = report_check(o->out, err);
    struct stat db_st, out_st;
    if (!rc && stat(o->db, &db_st) == 0 && stat(o->out, &out_st) == 0 && db_st.st_dev == out_st.st_dev &&
        db_st.st_ino == out_st.st_ino)
        rc = fs_error_set(err, o->out, 0, 0, "the report would replace the results database it is drawn from");
    if (rc) {
        report_fini(&r);
        return -1;
    }
    size_t n = strlen(o->out) + 5;
    char *tmp = fs_xmalloc(n);
    snprintf(tmp, n, "%s.tmp", o->out);
    r.out = fopen(tmp, "we"); /* e: close-on-exec, so gnuplot does not inherit it */
    if (!r.out) {
        fs_error_set(err, o->out, 0, 0, "cannot write the report: %s: %s", tmp, strerror(errno));
        free(tmp);
        report_fini(&r);
        return -1;
    }
    rc = write_page(&r, err);
    if (!rc && fflush(r.out) != 0) rc = fs_error_set(err, o->out, 0, 0, "cannot write the report: %s", strerror(errno));
    if (!rc && ferror(r.out)) rc = fs_error_set(err, o->out, 0, 0, "cannot write the report: write error");
    long size = ftell(r.out);
    if (fclose(r.out) != 0 && !rc) rc = fs_error_set(err, o->out, 0, 0, "cannot write the report: %s", strerror(errno));
    if (!rc && rename(tmp, o->out) != 0)
        rc = fs_error_set(err, o->out, 0, 0, "cannot write the report: rename from %s: %s", tmp, strerror(errno));
    if (rc) unlink(tmp);
    else {
        if (first_run) *first_run = r.runs[0].id;
        if (bytes) *bytes = size;
    }
    free(tmp);
    report_fini(&r);
    return rc ? -1 : 0;
}
