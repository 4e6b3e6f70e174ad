/* One probe of a capacity question (search, size): see probe_run.h. */
#define _POSIX_C_SOURCE 200809L
#include "probe_run.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>

#include "cli_internal.h"

const char probe_opts_help[] =
    "  --slo KEY=MS[,KEY=MS]...  the SLO, replacing the scenario's: ttft_ms, tpot_ms, e2e_ms\n"
    "                     (default: the scenario's slo)\n"
    "  --target PCT       SLO attainment a probe must reach, % (default 99)\n"
    "  --seeds N          replications per probe, seeds S..S+N-1 (default 1); with N >= 2 a probe\n"
    "                     passes when the lower end of the 95% confidence interval of its mean\n"
    "                     attainment is >= the target\n"
    "  --rate-key PATH    the scenario key that carries the load (default: workload.rate; a trace's\n"
    "                     workload.mean_rate when set, else workload.speedup)\n"
    "  --set PATH=VALUE   override a scenario key first, as for run (repeatable)\n"
    "  --seed N           the first seed S (default: the scenario's seed)\n"
    "  --catalog FILE     add GPUs and models from FILE (repeatable)\n"
    "  --db FILE          results database (default results.db); every probe run is stored\n"
    "  --no-db            store nothing\n"
    "  --json             print one JSON object instead of the table\n";

void probe_opts_init(probe_opts *o, int argc)
{
    *o = (probe_opts){.db = "results.db", .target = 99, .seeds = 1};
    o->sets = fs_xcalloc((size_t)argc + 1, sizeof *o->sets);
    o->catalogs = fs_xcalloc((size_t)argc + 1, sizeof *o->catalogs);
}

void probe_opts_fini(probe_opts *o)
{
    free(o->sets);
    free(o->catalogs);
    free(o->slo_set);
    o->sets = o->catalogs = NULL;
    o->slo_set = NULL;
}

/* A finite number filling the whole string. */
static int parse_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end == s || *end || errno || !isfinite(*out) ? -1 : 0;
}

int probe_opt(probe_opts *o, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--set=", 6) == 0) {
        o->sets[o->nsets++] = arg + 6;
        return 1;
    }
    if (strcmp(arg, "--no-db") == 0) {
        o->db = NULL;
        return 1;
    }
    if (strcmp(arg, "--json") == 0) {
        o->json = true;
        return 1;
    }
    static const char *const valued[] = {"--set", "--seed", "--catalog", "--db", "--slo", "--target", "--seeds",
                                         "--rate-key", NULL};
    int k = 0;
    while (valued[k] && strcmp(arg, valued[k]) != 0) k++;
    if (!valued[k]) return 0;
    if (*i + 1 >= argc) return usage_error("option %s needs a value", arg);
    const char *v = argv[++*i];
    double x;
    uint64_t u;
    switch (k) {
    case 0: o->sets[o->nsets++] = v; break;
    case 1:
        if (cli_parse_u64(v, &o->seed)) return usage_error("--seed: expected a non-negative integer, got '%s'", v);
        o->has_seed = true;
        break;
    case 2: o->catalogs[o->ncatalogs++] = v; break;
    case 3: o->db = v; break;
    case 4:
        free(o->slo_set);
        if (!(o->slo_set = probe_parse_slo(v))) return EXIT_INPUT;
        break;
    case 5:
        if (parse_num(v, &x) || !(x > 0 && x <= 100))
            return usage_error("--target: expected an attainment in %% above 0 and at most 100, got '%s'", v);
        o->target = x;
        break;
    case 6:
        if (cli_parse_u64(v, &u) || u < 1 || u > PROBE_MAX_SEEDS)
            return usage_error("--seeds: expected an integer 1..%d, got '%s'", PROBE_MAX_SEEDS, v);
        o->seeds = (int)u;
        break;
    default:
        if (!*v) return usage_error("%s", "--rate-key: expected a scenario key such as workload.rate, got ''");
        o->rate_key = v;
        break;
    }
    return 1;
}

char *probe_parse_slo(const char *spec)
{
    static const char *const keys[] = {"ttft_ms", "tpot_ms", "e2e_ms", NULL};
    json_t *slo = json_object();
    const char *p = spec;
    for (;;) {
        size_t n = strcspn(p, ",");
        char item[128];
        if (n == 0 || n >= sizeof item) {
            json_decref(slo);
            usage_error("--slo: expected KEY=MS[,KEY=MS]... (keys ttft_ms, tpot_ms, e2e_ms), got '%s'", spec);
            return NULL;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        char *eq = strchr(item, '=');
        double ms;
        if (eq) *eq = '\0';
        int k = 0;
        while (keys[k] && strcmp(item, keys[k]) != 0) k++;
        if (!eq || !keys[k]) {
            json_decref(slo);
            usage_error("--slo: unknown SLO key '%s' in '%s'; expected ttft_ms, tpot_ms or e2e_ms", item, spec);
            return NULL;
        }
        if (parse_num(eq + 1, &ms) || !(ms > 0 && ms <= 3.15576e12)) {
            json_decref(slo);
            usage_error("--slo: %s: expected a number of ms above 0, got '%s'", item, eq + 1);
            return NULL;
        }
        if (json_object_get(slo, item)) {
            json_decref(slo);
            usage_error("--slo: %s given twice in '%s'", item, spec);
            return NULL;
        }
        json_object_set_new(slo, item, json_real(ms));
        p += n;
        if (!*p) break;
        p++;
    }
    char *text = json_dumps(slo, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(slo);
    if (!text) fs_oom(0);
    size_t len = strlen(text) + 5;
    char *set = fs_xmalloc(len);
    snprintf(set, len, "slo=%s", text);
    free(text);
    return set;
}

/* The value at a --set path, or NULL. */
static json_t *json_at(json_t *root, const char *path)
{
    json_t *cur = root;
    const char *p = path;
    while (cur && *p) {
        size_t n = strcspn(p, ".[");
        if (n == 0 || n >= 256 || !json_is_object(cur)) return NULL;
        char key[256];
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        p += n;
        while (cur && *p == '[') {
            char *end;
            if (!isdigit((unsigned char)p[1])) return NULL;
            unsigned long long i = strtoull(p + 1, &end, 10);
            if (*end != ']' || !json_is_array(cur)) return NULL;
            cur = json_array_get(cur, (size_t)i);
            p = end + 1;
        }
        if (*p == '.') p++;
        else if (*p) return NULL;
    }
    return *p ? NULL : cur;
}

int probe_json_number(const char *json_text, const char *path, double *out)
{
    json_t *root = json_loads(json_text, 0, NULL);
    json_t *v = root ? json_at(root, path) : NULL;
    int rc = json_is_number(v) ? 0 : -1;
    if (rc == 0) *out = json_number_value(v);
    json_decref(root);
    return rc;
}

const char *probe_default_rate_key(const char *resolved_json, char *why, size_t size)
{
    json_t *root = json_loads(resolved_json, 0, NULL);
    json_t *w = root ? json_object_get(root, "workload") : NULL;
    const char *key = NULL;
    if (!json_is_object(w)) {
        snprintf(why, size, "the scenario has no workload object");
    } else if (json_object_get(w, "sources")) {
        snprintf(why, size, "the workload has several sources; name the key to vary with --rate-key "
                 "(e.g. workload.sources[0].rate)");
    } else {
        const char *arrival = json_string_value(json_object_get(w, "arrival"));
        if (arrival && strcmp(arrival, "trace") == 0)
            key = json_object_get(w, "mean_rate") ? "workload.mean_rate" : "workload.speedup";
        else if (json_is_number(json_object_get(w, "rate")))
            key = "workload.rate";
        else
            snprintf(why, size, "workload.arrival \"%s\" has no rate; name the key to vary with --rate-key",
                     arrival ? arrival : "?");
    }
    json_decref(root);
    return key;
}

int probe_ctx_init(probe_ctx *c, const probe_opts *o, const char *prefix, uint64_t first_seed)
{
    *c = (probe_ctx){.o = o, .first_seed = first_seed};
    if (!o->db) return 0;
    fs_error err;
    if (!(c->st = store_open(o->db, &err))) {
        print_error(&err);
        return EXIT_RUN_FAILED;
    }
    /* a name people can read, unique enough for one database: the start time and 16 bits of the
     * process id and clock (two searches started in the same second get different tails) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    unsigned tail = ((unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec) & 0xffffu;
    snprintf(c->sweep, sizeof c->sweep, "%s-%s-%04x", prefix, when, tail);
    return 0;
}

void probe_ctx_fini(probe_ctx *c)
{
    store_close(c->st);
    c->st = NULL;
}

int probe_load(const probe_opts *o, const json_t *base, const char *const *extra, int nextra, const uint64_t *seed,
               scenario *sc, fs_error *err)
{
    int n = 0;
    const char **sets = fs_xcalloc((size_t)(o->nsets + nextra + 1), sizeof *sets);
    for (int i = 0; i < o->nsets; i++) sets[n++] = o->sets[i];
    for (int i = 0; i < nextra; i++) sets[n++] = extra[i];
    if (o->slo_set) sets[n++] = o->slo_set;
    scenario_opts so = {sets, n, seed || o->has_seed, seed ? *seed : o->seed, o->catalogs, o->ncatalogs, false, 0};
    int rc;
    if (base) rc = scenario_load_json(json_deep_copy(base), o->scenario, &so, sc, err);
    else rc = scenario_load(o->scenario, &so, sc, err);
    free(sets);
    return rc;
}

static double metric(const fs_metrics *m, const char *name, const char *stat)
{
    const fs_metric *x = fs_metrics_find(m, name, stat);
    return x ? x->value : NAN;
}

/* Mean over the values that are numbers; NaN when none is. */
static double mean_of(const double *v, int n)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) s += v[i], k++;
    return k ? s / k : NAN;
}

double probe_min_requests(double target)
{
    double n = target < 100 ? ceil(100 / (100 - target) - 1e-9) : 1e6;
    return fmin(1e6, fmax(100, n));
}

int probe_point(probe_ctx *c, const json_t *base, const char *const *extra, int nextra, const json_t *params,
                probe_result *r)
{
    const probe_opts *o = c->o;
    int n = o->seeds;
    double *att = fs_xcalloc((size_t)n * 6, sizeof *att);
    double *ttft = att + n, *tpot = ttft + n, *rps = tpot + n, *tps = rps + n, *arrived = tps + n;
    char *params_text = json_dumps(params, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!params_text) fs_oom(0);
    int64_t point = c->next_point++;
    int code = 0;
    *r = (probe_result){0};
    for (int k = 0; k < n && code == 0; k++) {
        fs_error err;
        scenario sc;
        uint64_t seed = c->first_seed + (uint64_t)k;
        if (probe_load(o, base, extra, nextra, &seed, &sc, &err)) {
            print_error(&err);
            code = EXIT_INPUT;
            break;
        }
        cli_run run = {.db = o->db, .store_requests = sc.store_requests || (o->keep_requests && k == 0)};
        fs_metrics m = {0};
        code = cli_execute(&sc, &run, &m);
        c->runs++;
        if (code == 0 && c->st) {
            if (k == 0) r->run_id = run.run_id;
            store_point p = {c->sweep, point, k, params_text};
            if (store_point_add(c->st, run.run_id, &p, &err)) {
                print_error(&err);
                code = EXIT_RUN_FAILED;
            }
        }
        if (code == 0) {
            att[k] = metric(&m, "slo_attainment", "value");
            ttft[k] = metric(&m, "ttft", "p99");
            tpot[k] = metric(&m, "tpot", "p99");
            rps[k] = metric(&m, "request_throughput", "value");
            tps[k] = metric(&m, "output_throughput", "value");
            arrived[k] = metric(&m, "arrived", "value");
            r->runs++;
        }
        fs_metrics_fini(&m);
        scenario_fini(&sc);
    }
    if (code == 0) {
        double s = 0, ss = 0;
        for (int k = 0; k < n; k++) s += att[k];
        r->attain_mean = s / n; /* NaN when any replication measured nothing: it fails */
        for (int k = 0; k < n; k++) ss += (att[k] - r->attain_mean) * (att[k] - r->attain_mean);
        r->attain_sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
        double half = n > 1 ? gsl_cdf_tdist_Pinv(0.975, n - 1) * r->attain_sd / sqrt(n) : 0;
        r->ci_low = r->attain_mean - half;
        r->ci_high = r->attain_mean + half;
        r->arrived = arrived[0];
        for (int k = 1; k < n; k++) r->arrived = fmin(r->arrived, arrived[k]);
        r->too_few = !(r->arrived >= probe_min_requests(o->target));
        r->pass = r->ci_low >= o->target && !r->too_few; /* false for NaN */
        r->p99_ttft_ms = mean_of(ttft, n);
        r->p99_tpot_ms = mean_of(tpot, n);
        r->request_throughput = mean_of(rps, n);
        r->output_throughput = mean_of(tps, n);
    }
    free(params_text);
    free(att);
    return code;
}

char **probe_sets_from_params(const json_t *params, int *n)
{
    char **sets = fs_xcalloc(json_object_size(params) + 1, sizeof *sets);
    const char *key;
    json_t *v;
    *n = 0;
    json_object_foreach((json_t *)params, key, v) {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        if (!text) fs_oom(0);
        size_t len = strlen(key) + strlen(text) + 2;
        sets[*n] = fs_xmalloc(len);
        snprintf(sets[*n], len, "%s=%s", key, text);
        free(text);
        (*n)++;
    }
    return sets;
}

json_t *probe_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

void probe_describe_slo(const scenario *sc, char *buf, size_t size)
{
    const fs_time t[3] = {sc->cfg.slo_ttft, sc->cfg.slo_tpot, sc->cfg.slo_e2e};
    static const char *const names[3] = {"ttft_ms", "tpot_ms", "e2e_ms"};
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (t[i] <= 0) continue;
        int w = snprintf(buf + used, size - used, "%s%s <= %g", used ? ", " : "", names[i], t[i] / 1e6);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
    }
    if (!used) snprintf(buf, size, "none");
}

json_t *probe_slo_json(const scenario *sc)
{
    json_t *o = json_object();
    if (sc->cfg.slo_ttft > 0) json_object_set_new(o, "ttft_ms", json_real(sc->cfg.slo_ttft / 1e6));
    if (sc->cfg.slo_tpot > 0) json_object_set_new(o, "tpot_ms", json_real(sc->cfg.slo_tpot / 1e6));
    if (sc->cfg.slo_e2e > 0) json_object_set_new(o, "e2e_ms", json_real(sc->cfg.slo_e2e / 1e6));
    return o;
}
