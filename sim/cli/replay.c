/*
 * `fleetsim replay DIR`: replay a measured vLLM run and say how far the simulation is from it.
 *
 * DIR holds vllm/meta.json (engine settings, hardware), vllm/requests.jsonl (one request per
 * line with queued_ts, scheduled_ts, first_token_ts, last_token_ts) and optionally
 * vllm/timeseries.csv (running, waiting, kv_cache_pct per tick). The same requests arrive at the
 * same engine times (queued_ts differences: the client's arrival_time lags by its send delay)
 * into one replica with the same limits; measured and simulated TTFT, TPOT, E2E and
 * scheduled-to-first-token (TTFT without queueing: compute error apart from throughput error) are
 * compared by mean, median, p90 and p99, and the engine's series against the simulated ones.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli_internal.h"

static const char usage_replay[] =
    "usage: fleetsim replay DIR [options]\n"
    "\n"
    "Replay a measured vLLM run (DIR/vllm/meta.json, requests.jsonl, timeseries.csv) on the\n"
    "simulated engine and print measured vs simulated mean, median, p90 and p99 of TTFT, TPOT,\n"
    "E2E and scheduled-to-first-token, with the error of each, and the engine's running, waiting\n"
    "and KV-use series against the simulated ones. The run is stored like any other.\n"
    "\n"
    "options:\n"
    "  --gpu NAME         the catalog GPU (when meta.json has no hardware section, or to override it)\n"
    "  --set PATH=VALUE   override a key of the scenario the replay builds (e.g.\n"
    "                     --set 'deployments[0].engine.async_scheduling=false')\n"
    "  --catalog FILE     add GPUs and models from FILE (e.g. a calibrated GPU entry)\n"
    "  --db FILE          results database (default results.db); --no-db to store nothing\n"
    "  --json             print {\"mean_ttft_ms\": {\"measured\": .., \"simulated\": .., \"error_pct\": ..}, ...}\n";

/* ---- the measured run ---- */

enum { M_TTFT, M_TPOT, M_E2E, M_S2F, M_COUNT };
static const char *const metric_names[M_COUNT] = {"ttft", "tpot", "e2el", "sched_to_first_token"};
static const char *const metric_labels[M_COUNT] = {"TTFT", "TPOT", "E2E", "scheduled to first token"};
enum { S_RUNNING, S_WAITING, S_KV, S_COUNT };
static const char *const series_names[S_COUNT] = {"running", "waiting", "kv_usage"};

typedef struct series {
    double *t, *v;
    size_t n, cap;
} series;

typedef struct replay {
    fs_sample measured[M_COUNT], simulated[M_COUNT];
    series meas_ts[S_COUNT], sim_ts[S_COUNT];
    size_t nrequests;
} replay;

static void series_push(series *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap;
        s->t = fs_xgrow(s->t, &cap, s->n + 1, sizeof *s->t);
        s->v = fs_xrealloc(s->v, cap * sizeof *s->v);
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
}

static double num(json_t *o, const char *key)
{
    json_t *x = json_object_get(o, key);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

static int read_measured(const char *path, replay *rp, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fs_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (rc == 0) {
        ssize_t n = getline(&line, &cap, f);
        if (n < 0) break;
        lineno++;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, 0, &je);
        if (!o) {
            bool blank = true;
            for (ssize_t i = 0; i < n; i++) blank &= isspace((unsigned char)line[i]) != 0;
            if (!blank) rc = fs_error_set(err, path, (int)lineno, je.column, "invalid JSON: %s", je.text);
            continue;
        }
        double q = num(o, "queued_ts"), sch = num(o, "scheduled_ts"), first = num(o, "first_token_ts"),
               last = num(o, "last_token_ts"), out = num(o, "output_toks");
        if (isnan(q) || isnan(sch) || isnan(first) || isnan(last) || isnan(out) || out < 1) {
            rc = fs_error_set(err, path, (int)lineno, 0, "expected queued_ts, scheduled_ts, first_token_ts, "
                              "last_token_ts (s) and output_toks (>= 1)");
        } else {
            fs_sample_push(&rp->measured[M_TTFT], (first - q) * 1e3);
            fs_sample_push(&rp->measured[M_E2E], (last - q) * 1e3);
            fs_sample_push(&rp->measured[M_S2F], (first - sch) * 1e3);
            if (out > 1) fs_sample_push(&rp->measured[M_TPOT], (last - first) * 1e3 / (out - 1));
            rp->nrequests++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (rc == 0 && rp->nrequests == 0) rc = fs_error_set(err, path, 0, 0, "no requests");
    return rc;
}

/* timeseries.csv: a header naming t, running, waiting and kv_cache_pct, then numbers. A missing
 * file is fine (nothing to compare); a malformed one is an error. */
static int read_series(const char *path, replay *rp, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : fs_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
    char line[4096];
    int col[4] = {-1, -1, -1, -1}; /* t, running, waiting, kv_cache_pct */
    static const char *const want[4] = {"t", "running", "waiting", "kv_cache_pct"};
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        char *save = NULL;
        double v[4] = {NAN, NAN, NAN, NAN};
        int i = 0;
        for (char *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
            for (int k = 0; k < 4; k++) {
                if (lineno == 1 && strcmp(tok, want[k]) == 0) col[k] = i;
                if (lineno > 1 && col[k] == i) {
                    char *end;
                    v[k] = strtod(tok, &end);
                    if (*end) rc = fs_error_set(err, path, (int)lineno, i + 1, "expected a number, got '%s'", tok);
                }
            }
        }
        if (lineno == 1) {
            for (int k = 0; k < 4; k++)
                if (col[k] < 0) rc = fs_error_set(err, path, 1, 0, "expected a column '%s' in the header", want[k]);
            continue;
        }
        if (rc == 0 && (isnan(v[0]) || isnan(v[1]) || isnan(v[2]) || isnan(v[3])))
            rc = fs_error_set(err, path, (int)lineno, 0, "expected values for t, running, waiting and kv_cache_pct");
        if (rc == 0) {
            series_push(&rp->meas_ts[S_RUNNING], v[0], v[1]);
            series_push(&rp->meas_ts[S_WAITING], v[0], v[2]);
            series_push(&rp->meas_ts[S_KV], v[0], v[3]);
        }
    }
    fclose(f);
    return rc;
}

/* ---- meta.json to a scenario ---- */

static json_t *get_path(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return b ? json_object_get(x, b) : x;
}

static void copy_int(json_t *dst, const char *key, json_t *src)
{
    if (json_is_integer(src)) json_object_set_new(dst, key, json_integer(json_integer_value(src)));
}

static void copy_bool(json_t *dst, const char *key, json_t *src)
{
    if (json_is_boolean(src)) json_object_set_new(dst, key, json_boolean(json_is_true(src)));
}

static int build_scenario(const char *dir, const char *gpu_arg, json_t **out, char **meta_path, fs_error *err)
{
    size_t n = strlen(dir) + 32;
    *meta_path = fs_xmalloc(n);
    snprintf(*meta_path, n, "%s/vllm/meta.json", dir);
    json_error_t je;
    json_t *meta = json_load_file(*meta_path, 0, &je);
    if (!meta) return fs_error_set(err, *meta_path, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0, "%s", je.text);
    if (!json_is_object(meta)) {
        json_decref(meta);
        return fs_error_set(err, *meta_path, 0, 0, "expected a JSON object");
    }
    json_t *kw = json_object_get(meta, "engine_kwargs"), *kv = json_object_get(meta, "kv_cache");
    json_t *model = json_object_get(meta, "model");
    if (!json_is_string(model)) model = json_object_get(kw, "model");
    const char *gpu = gpu_arg;
    json_t *dev = get_path(meta, "hardware", "device_name");
    char devname[128] = "";
    if (!gpu && json_is_string(dev)) {
        /* "NVIDIA GeForce RTX 4090": the catalog knows it without the vendor prefix */
        const char *d = json_string_value(dev);
        if (strncasecmp(d, "NVIDIA ", 7) == 0) d += 7;
        snprintf(devname, sizeof devname, "%s", d);
        gpu = devname;
    }
    if (!json_is_string(model) || !gpu) {
        json_decref(meta);
        if (!gpu)
            return fs_error_set(err, *meta_path, 0, 0, "hardware.device_name is missing: name the GPU with --gpu");
        return fs_error_set(err, *meta_path, 0, 0, "expected \"model\" (a string)");
    }
    json_t *tp = json_object_get(kw, "tensor_parallel_size");
    long long tpn = json_is_integer(tp) ? json_integer_value(tp) : 1;
    json_t *sched = get_path(get_path(meta, "resolved_config", NULL), "scheduler_config", NULL);
    json_t *mcfg = get_path(get_path(meta, "resolved_config", NULL), "model_config", NULL);

    json_t *engine = json_object();
    copy_int(engine, "max_num_seqs", json_object_get(kw, "max_num_seqs"));
    copy_int(engine, "max_num_batched_tokens", json_object_get(kw, "max_num_batched_tokens"));
    copy_int(engine, "max_model_len", json_object_get(kw, "max_model_len"));
    copy_int(engine, "block_size", json_object_get(kv, "block_size"));
    copy_int(engine, "num_gpu_blocks", json_object_get(kv, "num_gpu_blocks"));
    json_t *util = json_object_get(kv, "gpu_memory_utilization");
    if (json_is_number(util)) json_object_set_new(engine, "gpu_memory_utilization", json_real(json_number_value(util)));
    copy_bool(engine, "enable_prefix_caching", json_object_get(kv, "enable_prefix_caching"));
    copy_bool(engine, "enable_chunked_prefill", json_object_get(sched, "enable_chunked_prefill"));
    copy_bool(engine, "async_scheduling", json_object_get(sched, "async_scheduling"));
    json_t *eager = json_object_get(mcfg, "enforce_eager");
    if (json_is_boolean(eager)) json_object_set_new(engine, "cuda_graphs", json_boolean(!json_is_true(eager)));
    json_t *pol = json_object_get(sched, "policy");
    if (json_is_string(pol)) json_object_set_new(engine, "policy", json_string(json_string_value(pol)));
    json_t *kvd = json_object_get(kw, "kv_cache_dtype");
    if (json_is_string(kvd) && strncmp(json_string_value(kvd), "fp8", 3) == 0)
        json_object_set_new(engine, "kv_cache_dtype", json_string("fp8"));

    json_t *dep = json_pack("{s:s, s:s, s:s, s:I, s:o}", "name", "vllm", "model", json_string_value(model), "kind",
                            "llm", "tp", (json_int_t)tpn, "engine", engine);
    double tick = num(meta, "tick_seconds");
    json_t *root = json_pack("{s:s, s:i, s:[{s:s, s:I}], s:[o], s:{s:s, s:{s:s, s:s}}, s:{s:f, s:b}}",
                             "name", "replay", "seed", 1, "fleet", "gpu", gpu, "count", (json_int_t)tpn,
                             "deployments", dep, "workload", "arrival", "trace", "trace", "path", "requests.jsonl",
                             "format", "vllm", "output", "timeseries_interval", isnan(tick) || tick <= 0 ? 1.0 : tick,
                             "requests", 1);
    char name[256];
    const char *base = strrchr(dir, '/');
    snprintf(name, sizeof name, "replay %s", base && base[1] ? base + 1 : dir);
    json_object_set_new(root, "name", json_string(name));
    json_decref(meta);
    *out = root;
    return 0;
}

/* ---- observing the simulation ---- */

static int observe_request(void *ctx, const sim_request_row *r, fs_error *err)
{
    (void)err;
    replay *rp = ctx;
    if (!r->finished) return 0;
    double ttft = fs_time_to_ms(r->first_token - r->arrival), e2e = fs_time_to_ms(r->done - r->arrival);
    fs_sample_push(&rp->simulated[M_TTFT], ttft);
    fs_sample_push(&rp->simulated[M_E2E], e2e);
    fs_sample_push(&rp->simulated[M_S2F], fs_time_to_ms(r->first_token - r->start));
    if (r->output_tokens > 1) fs_sample_push(&rp->simulated[M_TPOT], (e2e - ttft) / (r->output_tokens - 1));
    return 0;
}

static int observe_sample(void *ctx, fs_time t, const char *name, double value, fs_error *err)
{
    (void)err;
    replay *rp = ctx;
    for (int k = 0; k < S_COUNT; k++)
        if (strcmp(name, series_names[k]) == 0) series_push(&rp->sim_ts[k], fs_time_to_s(t), value);
    return 0;
}

/* Simulated value at time t: the sample at the same tick (or 0 after the run ended). */
static double sim_at(const series *s, double t)
{
    for (size_t i = 0; i < s->n; i++)
        if (fabs(s->t[i] - t) < 1e-6) return s->v[i];
    return 0;
}

static void add_comparisons(void *ctx, fs_metrics *m)
{
    replay *rp = ctx;
    static const char *const stats[] = {"mean", "median", "p90", "p99"};
    for (int k = 0; k < M_COUNT; k++) {
        fs_summary a, b;
        fs_sample_summarize(&rp->measured[k], &a);
        fs_sample_summarize(&rp->simulated[k], &b);
        const double av[] = {a.mean, a.p50, a.p90, a.p99}, bv[] = {b.mean, b.p50, b.p90, b.p99};
        for (int s = 0; s < 4; s++) {
            char name[40];
            snprintf(name, sizeof name, "replay_%s", metric_names[k]);
            char st[16];
            snprintf(st, sizeof st, "%s_meas", stats[s]);
            fs_metrics_add(m, name, st, av[s], "ms");
            snprintf(st, sizeof st, "%s_sim", stats[s]);
            fs_metrics_add(m, name, st, bv[s], "ms");
            snprintf(st, sizeof st, "%s_err", stats[s]);
            fs_metrics_add(m, name, st, 100 * (bv[s] - av[s]) / av[s], "%");
        }
    }
    for (int k = 0; k < S_COUNT; k++) {
        const series *ms = &rp->meas_ts[k];
        if (ms->n == 0) continue;
        double mm = 0, sm = 0, mae = 0;
        for (size_t i = 0; i < ms->n; i++) {
            double sv = sim_at(&rp->sim_ts[k], ms->t[i]);
            mm += ms->v[i];
            sm += sv;
            mae += fabs(sv - ms->v[i]);
        }
        char name[40];
        snprintf(name, sizeof name, "replay_series_%s", series_names[k]);
        const char *unit = k == S_KV ? "%" : "requests";
        fs_metrics_add(m, name, "mean_meas", mm / (double)ms->n, unit);
        fs_metrics_add(m, name, "mean_sim", sm / (double)ms->n, unit);
        fs_metrics_add(m, name, "mae", mae / (double)ms->n, unit);
    }
}

static double get(const fs_metrics *m, const char *name, const char *stat)
{
    const fs_metric *x = fs_metrics_find(m, name, stat);
    return x ? x->value : NAN;
}

static void print_replay(const fs_metrics *m, const scenario *sc, const replay *rp, bool json)
{
    static const char *const stats[] = {"mean", "median", "p90", "p99"};
    const sim_llm *l = &sc->cfg.deployments[0].llm;
    if (json) {
        printf("{");
        const char *sep = "";
        for (int k = 0; k < M_COUNT; k++)
            for (int s = 0; s < 4; s++) {
                char name[40], a[24], b[24], e[24];
                snprintf(name, sizeof name, "replay_%s", metric_names[k]);
                snprintf(a, sizeof a, "%s_meas", stats[s]);
                snprintf(b, sizeof b, "%s_sim", stats[s]);
                snprintf(e, sizeof e, "%s_err", stats[s]);
                printf("%s\"%s_%s_ms\": {\"measured\": %.6g, \"simulated\": %.6g, \"error_pct\": %.4g}", sep, stats[s],
                       metric_names[k], get(m, name, a), get(m, name, b), get(m, name, e));
                sep = ", ";
            }
        for (int k = 0; k < S_COUNT; k++) {
            char name[40];
            snprintf(name, sizeof name, "replay_series_%s", series_names[k]);
            if (!fs_metrics_find(m, name, "mae")) continue;
            printf(", \"%s\": {\"measured_mean\": %.6g, \"simulated_mean\": %.6g, \"mae\": %.6g}", series_names[k],
                   get(m, name, "mean_meas"), get(m, name, "mean_sim"), get(m, name, "mae"));
        }
        printf(", \"requests\": %zu}\n", rp->nrequests);
        return;
    }
    printf("%s: %zu requests, %s on %s (tp %d), %d KV blocks of %d tokens, max_num_seqs %d,\n"
           "max_num_batched_tokens %d, prefix caching %s, chunked prefill %s, async scheduling %s\n\n",
           sc->name, rp->nrequests, l->model->name, l->gpu->name, l->tp, l->num_gpu_blocks, l->block_size,
           l->max_num_seqs, l->max_num_batched_tokens, l->prefix_caching ? "on" : "off",
           l->chunked_prefill ? "on" : "off", l->async_scheduling ? "on" : "off");
    printf("%-34s %12s %12s %9s\n", "metric (ms)", "measured", "simulated", "error");
    for (int k = 0; k < M_COUNT; k++) {
        for (int s = 0; s < 4; s++) {
            char name[40], a[24], b[24], e[24], label[64];
            snprintf(name, sizeof name, "replay_%s", metric_names[k]);
            snprintf(a, sizeof a, "%s_meas", stats[s]);
            snprintf(b, sizeof b, "%s_sim", stats[s]);
            snprintf(e, sizeof e, "%s_err", stats[s]);
            snprintf(label, sizeof label, "%s %s", stats[s], metric_labels[k]);
            printf("%-34s %12.2f %12.2f %+8.1f%%\n", label, get(m, name, a), get(m, name, b), get(m, name, e));
        }
    }
    bool header = false;
    for (int k = 0; k < S_COUNT; k++) {
        char name[40];
        snprintf(name, sizeof name, "replay_series_%s", series_names[k]);
        if (!fs_metrics_find(m, name, "mae")) continue;
        if (!header) printf("\n%-34s %12s %12s %9s\n", "engine series (per tick)", "meas. mean", "sim. mean", "MAE");
        header = true;
        printf("%-34s %12.2f %12.2f %9.2f\n", k == S_KV ? "KV cache use (%)" : series_names[k],
               get(m, name, "mean_meas"), get(m, name, "mean_sim"), get(m, name, "mae"));
    }
}

int cmd_replay(int argc, char **argv)
{
    const char *dir = NULL, *gpu = NULL, *db = "results.db";
    bool json = false;
    const char **sets = fs_xcalloc((size_t)argc + 1, sizeof *sets), **cats = fs_xcalloc((size_t)argc + 1, sizeof *cats);
    int nsets = 0, ncats = 0, rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_replay, stdout);
            rc = -1;
        } else if (strcmp(a, "--gpu") == 0 || strcmp(a, "--set") == 0 || strcmp(a, "--db") == 0 ||
                   strcmp(a, "--catalog") == 0) {
            if (i + 1 >= argc) rc = usage_error("option %s needs a value", a);
            else if (strcmp(a, "--gpu") == 0) gpu = argv[++i];
            else if (strcmp(a, "--set") == 0) sets[nsets++] = argv[++i];
            else if (strcmp(a, "--db") == 0) db = argv[++i];
            else cats[ncats++] = argv[++i];
        } else if (strcmp(a, "--no-db") == 0) {
            db = NULL;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] == '-') {
            rc = usage_error("unknown option '%s'", a);
        } else if (!dir) {
            dir = a;
        } else {
            rc = usage_error("unexpected argument '%s'", a);
        }
    }
    if (rc == 0 && !dir) rc = usage_error("%s", "replay needs a run folder (DIR/vllm/meta.json)");
    if (rc != 0) {
        free(sets);
        free(cats);
        return rc < 0 ? 0 : rc;
    }

    fs_error err;
    json_t *root = NULL;
    char *meta_path = NULL;
    replay rp;
    memset(&rp, 0, sizeof rp);
    scenario sc;
    memset(&sc, 0, sizeof sc);
    int code = 0;
    size_t n = strlen(dir) + 40;
    char *req_path = fs_xmalloc(n), *ts_path = fs_xmalloc(n);
    snprintf(req_path, n, "%s/vllm/requests.jsonl", dir);
    snprintf(ts_path, n, "%s/vllm/timeseries.csv", dir);
    scenario_opts so = {sets, nsets, false, 0, cats, ncats, false, 0};
    if (build_scenario(dir, gpu, &root, &meta_path, &err) || scenario_load_json(root, meta_path, &so, &sc, &err) ||
        read_measured(req_path, &rp, &err) || read_series(ts_path, &rp, &err)) {
        print_error(&err);
        code = EXIT_INPUT;
    } else {
        sim_sink observer = {&rp, observe_request, observe_sample};
        cli_run o = {.db = db, .store_requests = true, .observer = &observer, .finish = add_comparisons, .ctx = &rp};
        fs_metrics m = {0};
        code = cli_execute(&sc, &o, &m);
        if (code == 0) {
            print_replay(&m, &sc, &rp, json);
            fflush(stdout);
            if (db) fprintf(stderr, "fleetsim: run %lld stored in %s\n", (long long)o.run_id, db);
        }
        fs_metrics_fini(&m);
    }
    for (int k = 0; k < M_COUNT; k++) {
        fs_sample_fini(&rp.measured[k]);
        fs_sample_fini(&rp.simulated[k]);
    }
    for (int k = 0; k < S_COUNT; k++) {
        free(rp.meas_ts[k].t);
        free(rp.meas_ts[k].v);
        free(rp.sim_ts[k].t);
        free(rp.sim_ts[k].v);
    }
    scenario_fini(&sc);
    free(meta_path);
    free(req_path);
    free(ts_path);
    free(sets);
    free(cats);
    return code;
}
