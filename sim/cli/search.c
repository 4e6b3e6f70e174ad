/*
 * `fleetsim search SCENARIO --slo ...`: the highest arrival rate at which SLO attainment stays at
 * or above a target, by bisection on the rate key, and the throughput-latency knee.
 *
 * Bracket: with neither --lo nor --hi, the scenario's own rate is probed first; from a pass the
 * rate doubles until a probe fails, from a failure it halves until one passes (at most 40 steps
 * each way; rates stay within 1e9, the scenario's bound). --lo must pass and --hi must fail, else
 * the answer is "below --lo" or "at least --hi". Bisection at the midpoint then narrows
 * [pass, fail] until fail - pass <= precision x pass; the answer is the highest rate that passed.
 * It assumes attainment does not rise with the rate (a queue only gets longer); with seed noise
 * near the target, --seeds N makes the verdicts robust (probe_run.h).
 *
 * The knee: seven more probes at 0.1, 0.3, 0.5, 0.6, 0.7, 0.8 and 0.9 x the answer; over the
 * probes from 0.1 x the answer up, in rate order, the knee is the lowest rate at which p99 TTFT
 * reaches twice its value at 0.1 x the answer (the low-load value), interpolated linearly between
 * the two probes around the crossing; null when no probe reaches it.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "probe_run.h"

#define MAX_STEPS 40      /* doublings or halvings while bracketing */
#define RATE_MAX 1e9      /* the scenario's bound on rates, speed-ups and mean rates */
#define KNEE_FACTOR 2.0   /* the knee: p99 TTFT at this many times its low-load value */

static const double knee_fractions[] = {0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9};

static const char usage_search[] =
    "usage: fleetsim search SCENARIO [--slo KEY=MS[,KEY=MS]...] [options]\n"
    "\n"
    "The highest arrival rate at which the SLO attainment of SCENARIO stays at or above the\n"
    "target: the rate key is bisected, each probe a stored run (points rows, sweep\n"
    "\"search-...\"), to a relative precision. Then the throughput-latency knee: the lowest rate\n"
    "at which p99 TTFT reaches twice its value at 0.1 x that rate (seven more probes below it).\n"
    "\n"
    "options:\n"
    "  --lo R             a rate that must pass (default: found from the scenario's rate)\n"
    "  --hi R             a rate that must fail (default: found by doubling)\n"
    "  --precision PCT    stop when (failing - passing) <= PCT % of the passing rate (default 2)\n";
static const char usage_search_tail[] =
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done (also when no rate passes: \"max_rate\" is null); 1 the results database\n"
    "failed; 2 bad usage or input; 130 interrupted.\n";

typedef struct probe_rec {
    double rate;
    const char *phase;       /* "bracket", "bisect" or "knee" */
    int64_t point;
    probe_result r;
} probe_rec;

typedef struct search {
    probe_ctx ctx;
    const char *key;
    probe_rec *v;
    size_t n, cap;
    bool tty;
} search;

/* Probe the scenario at `rate`; 0 with the verdict in *pass, or an exit status. */
static int probe_at(search *s, double rate, const char *phase, bool *pass)
{
    json_t *params = json_object();
    json_object_set_new(params, s->key, json_real(rate));
    int nsets;
    char **sets = probe_sets_from_params(params, &nsets);
    probe_rec rec = {.rate = rate, .phase = phase, .point = s->ctx.next_point};
    int code = probe_point(&s->ctx, NULL, (const char *const *)sets, nsets, params, &rec.r);
    for (int i = 0; i < nsets; i++) free(sets[i]);
    free(sets);
    json_decref(params);
    if (code) return code;
    s->v = fs_xgrow(s->v, &s->cap, s->n + 1, sizeof *s->v);
    s->v[s->n++] = rec;
    if (s->tty)
        fprintf(stderr, "fleetsim: probe %lld: %s = %.6g: attainment %.3f%% (95%% CI low %.3f%%): %s\n",
                (long long)rec.point, s->key, rate, rec.r.attain_mean, rec.r.ci_low, rec.r.pass ? "pass" : "fail");
    *pass = rec.r.pass;
    return 0;
}

static int by_rate(const void *a, const void *b)
{
    double x = ((const probe_rec *)a)->rate, y = ((const probe_rec *)b)->rate;
    return x < y ? -1 : x > y;
}

typedef struct knee {
    bool found;
    double rate, ref_rate, ref_p99, level;
} knee;

/* The knee over the probes sorted by rate, from the one at the reference rate (0.1 x the
 * answer; probes below it, from a --lo or the bracket, are left out). See the top of the file. */
static knee find_knee(const probe_rec *v, size_t n, double ref_rate)
{
    knee k = {0};
    size_t first = 0;
    while (first < n && v[first].rate < ref_rate) first++;
    v += first;
    n -= first;
    if (n == 0 || !(v[0].r.p99_ttft_ms > 0)) return k;
    k.ref_rate = v[0].rate;
    k.ref_p99 = v[0].r.p99_ttft_ms;
    k.level = KNEE_FACTOR * k.ref_p99;
    for (size_t i = 1; i < n; i++) {
        double p = v[i].r.p99_ttft_ms;
        if (isnan(p) || p < k.level) continue;
        /* the previous probe with a figure is below the level (else the loop had stopped there) */
        size_t j = i - 1;
        while (j > 0 && isnan(v[j].r.p99_ttft_ms)) j--;
        double p0 = v[j].r.p99_ttft_ms, r0 = v[j].rate;
        k.rate = p > p0 ? r0 + (k.level - p0) * (v[i].rate - r0) / (p - p0) : v[i].rate;
        k.found = true;
        return k;
    }
    return k;
}

static json_t *probe_json(const probe_rec *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "point", json_integer(p->point));
    json_object_set_new(o, "phase", json_string(p->phase));
    json_object_set_new(o, "rate", json_real(p->rate));
    json_object_set_new(o, "pass", json_boolean(p->r.pass));
    json_object_set_new(o, "slo_attainment_pct", probe_json_real(p->r.attain_mean));
    json_object_set_new(o, "ci_low_pct", probe_json_real(p->r.ci_low));
    json_object_set_new(o, "ci_high_pct", probe_json_real(p->r.ci_high));
    json_object_set_new(o, "p99_ttft_ms", probe_json_real(p->r.p99_ttft_ms));
    json_object_set_new(o, "p99_tpot_ms", probe_json_real(p->r.p99_tpot_ms));
    json_object_set_new(o, "request_throughput", probe_json_real(p->r.request_throughput));
    json_object_set_new(o, "output_throughput", probe_json_real(p->r.output_throughput));
    json_object_set_new(o, "measured_requests", probe_json_real(p->r.arrived));
    json_object_set_new(o, "too_few", json_boolean(p->r.too_few));
    return o;
}

typedef struct outcome {
    const char *bound;   /* "found", "below_lo", "at_least_hi", "too_few_requests" */
    double max_rate;     /* NaN when none passed */
    double fail_rate;    /* the lowest failing rate above it (NaN: none) */
} outcome;

static void print_json(const search *s, const scenario *sc, const probe_opts *o, double precision,
                       const outcome *out, const knee *k)
{
    json_t *root = json_object();
    json_object_set_new(root, "scenario", json_string(o->scenario));
    json_object_set_new(root, "name", json_string(sc->name));
    json_object_set_new(root, "rate_key", json_string(s->key));
    json_object_set_new(root, "slo", probe_slo_json(sc));
    json_object_set_new(root, "target_pct", json_real(o->target));
    json_object_set_new(root, "precision_pct", json_real(precision));
    json_object_set_new(root, "seeds", json_integer(o->seeds));
    json_object_set_new(root, "first_seed", json_integer((json_int_t)s->ctx.first_seed));
    json_object_set_new(root, "bound", json_string(out->bound));
    json_object_set_new(root, "max_rate", probe_json_real(out->max_rate));
    json_object_set_new(root, "fail_rate", probe_json_real(out->fail_rate));
    json_t *kj = json_object();
    json_object_set_new(kj, "rate", k->found ? json_real(k->rate) : json_null());
    json_object_set_new(kj, "rule", json_string("lowest rate where p99 TTFT reaches 2x its value at 0.1 x max_rate, "
                                                "linear between probes"));
    json_object_set_new(kj, "reference_rate", k->ref_p99 > 0 ? json_real(k->ref_rate) : json_null());
    json_object_set_new(kj, "reference_p99_ttft_ms", k->ref_p99 > 0 ? json_real(k->ref_p99) : json_null());
    json_object_set_new(root, "knee", kj);
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n; i++) json_array_append_new(arr, probe_json(&s->v[i]));
    json_object_set_new(root, "probes", arr);
    json_object_set_new(root, "runs", json_integer(s->ctx.runs));
    json_object_set_new(root, "sweep", s->ctx.st ? json_string(s->ctx.sweep) : json_null());
    char *text = json_dumps(root, JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) fs_oom(0);
    puts(text);
    free(text);
}

/* A number for the table, or "-" when it is NaN. */
static void cell(char *buf, size_t size, int decimals, double v)
{
    if (isnan(v)) snprintf(buf, size, "-");
    else snprintf(buf, size, "%.*f", decimals, v);
}

static void print_table(const search *s, const scenario *sc, const probe_opts *o, double precision,
                        const outcome *out, const knee *k)
{
    char slo[160];
    probe_describe_slo(sc, slo, sizeof slo);
    printf("search %s: %s for SLO %s at attainment >= %g%% (%d seed%s from %llu per probe)\n", sc->name, s->key,
           slo, o->target, o->seeds, o->seeds == 1 ? "" : "s", (unsigned long long)s->ctx.first_seed);
    if (strcmp(out->bound, "below_lo") == 0)
        printf("no rate passes: %s = %.6g (--lo) already fails\n", s->key, out->fail_rate);
    else if (strcmp(out->bound, "too_few_requests") == 0)
        printf("no rate passes down to %s = %.6g, where a run measures fewer than %.0f requests (too few for a "
               "verdict at %g%%: lengthen the run with duration or requests)\n", s->key, out->fail_rate,
               probe_min_requests(o->target), o->target);
    else if (isnan(out->max_rate))
        printf("no rate passes down to %s = %.6g\n", s->key, out->fail_rate);
    else if (strcmp(out->bound, "at_least_hi") == 0)
        printf("max rate: at least %s = %.6g (the highest rate probed)\n", s->key, out->max_rate);
    else
        printf("max rate: %s = %.6g (%.6g fails; within %g%%)\n", s->key, out->max_rate, out->fail_rate, precision);
    if (k->found)
        printf("knee: %s = %.6g (p99 TTFT reaches 2 x %.4g ms, its value at %.6g)\n", s->key, k->rate, k->ref_p99,
               k->ref_rate);
    else if (k->ref_p99 > 0)
        printf("knee: not reached (p99 TTFT stays below 2 x %.4g ms, its value at %.6g)\n", k->ref_p99, k->ref_rate);
    printf("\n%5s %14s %8s %12s %10s %5s %12s %12s %10s\n", "point", s->key, "phase", "attainment %", "CI low %",
           "pass", "p99 TTFT ms", "p99 TPOT ms", "req/s");
    for (size_t i = 0; i < s->n; i++) {
        const probe_rec *p = &s->v[i];
        char att[32], low[32], ttft[32], tpot[32], rps[32];
        cell(att, sizeof att, 3, p->r.attain_mean);
        cell(low, sizeof low, 3, p->r.ci_low);
        cell(ttft, sizeof ttft, 2, p->r.p99_ttft_ms);
        cell(tpot, sizeof tpot, 2, p->r.p99_tpot_ms);
        cell(rps, sizeof rps, 3, p->r.request_throughput);
        printf("%5lld %14.6g %8s %12s %10s %5s %12s %12s %10s%s\n", (long long)p->point, p->rate, p->phase, att, low,
               p->r.pass ? "yes" : "no", ttft, tpot, rps, p->r.too_few ? "  (too few requests)" : "");
    }
}

typedef struct search_args {
    probe_opts o;
    bool has_lo, has_hi;
    double lo, hi, precision;
} search_args;

/* 0, 1 after --help, or EXIT_INPUT. */
static int parse_args(int argc, char **argv, search_args *a)
{
    probe_opts_init(&a->o, argc);
    a->precision = 2;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int rc = probe_opt(&a->o, argc, argv, &i);
        if (rc == 1) continue;
        if (rc) return rc;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_search, stdout);
            fputs(probe_opts_help, stdout);
            fputs(usage_search_tail, stdout);
            return 1;
        } else if (strcmp(arg, "--lo") == 0 || strcmp(arg, "--hi") == 0 || strcmp(arg, "--precision") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            const char *v = argv[++i];
            char *end;
            double x = strtod(v, &end);
            bool bad = end == v || *end || !isfinite(x);
            if (strcmp(arg, "--precision") == 0) {
                if (bad || !(x > 0 && x < 100))
                    return usage_error("--precision: expected a percentage above 0 and below 100, got '%s'", v);
                a->precision = x;
            } else {
                if (bad || !(x > 0 && x <= RATE_MAX))
                    return usage_error("%s: expected a rate above 0 and at most 1e9, got '%s'", arg, v);
                if (arg[2] == 'l') a->lo = x, a->has_lo = true;
                else a->hi = x, a->has_hi = true;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("search: unknown option '%s'", arg);
        } else if (!a->o.scenario) {
            a->o.scenario = arg;
        } else {
            return usage_error("search: unexpected argument '%s' (one scenario)", arg);
        }
    }
    if (!a->o.scenario) return usage_error("%s", "search needs a scenario file");
    if (a->has_lo && a->has_hi && !(a->lo < a->hi))
        return usage_error("--lo %g must be below --hi %g", a->lo, a->hi);
    return 0;
}

/* Bracket and bisect; fills *out. 0 or an exit status. */
static int run_search(search *s, const search_args *a, double r0, outcome *out)
{
    double lo = NAN, hi = NAN; /* passing and failing rates */
    bool pass;
    int code;
    *out = (outcome){"found", NAN, NAN};
    if (a->has_lo) {
        if ((code = probe_at(s, a->lo, "bracket", &pass))) return code;
        if (!pass) {
            out->bound = "below_lo";
            out->fail_rate = a->lo;
            return 0;
        }
        lo = a->lo;
    }
    if (a->has_hi) {
        if ((code = probe_at(s, a->hi, "bracket", &pass))) return code;
        if (pass) {
            out->bound = "at_least_hi";
            out->max_rate = a->hi;
            return 0;
        }
        hi = a->hi;
    }
    if (isnan(lo) && isnan(hi)) {
        if ((code = probe_at(s, r0, "bracket", &pass))) return code;
        if (pass) lo = r0;
        else hi = r0;
    }
    for (int step = 0; isnan(lo); step++) {
        double r = hi / 2;
        if (step == MAX_STEPS || s->v[s->n - 1].r.too_few) {
            /* nothing passes (max_rate stays NaN); lower rates only measure fewer requests */
            out->fail_rate = hi;
            if (s->v[s->n - 1].r.too_few) out->bound = "too_few_requests";
            return 0;
        }
        if ((code = probe_at(s, r, "bracket", &pass))) return code;
        if (pass) lo = r;
        else hi = r;
    }
    for (int step = 0; isnan(hi); step++) {
        double r = fmin(lo * 2, RATE_MAX);
        if (step == MAX_STEPS || r <= lo) {
            out->bound = "at_least_hi";
            out->max_rate = lo;
            return 0;
        }
        if ((code = probe_at(s, r, "bracket", &pass))) return code;
        if (pass) lo = r;
        else hi = r;
    }
    while (hi - lo > a->precision / 100 * lo) {
        double mid = (lo + hi) / 2;
        if ((code = probe_at(s, mid, "bisect", &pass))) return code;
        if (pass) lo = mid;
        else hi = mid;
    }
    out->max_rate = lo;
    out->fail_rate = hi;
    return 0;
}

int cmd_search(int argc, char **argv)
{
    search_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        probe_opts_fini(&a.o);
        return rc == 1 ? 0 : rc;
    }
    /* the scenario as the user gave it (their --set and --slo): rejected here, nothing is stored */
    fs_error err;
    scenario sc;
    if (probe_load(&a.o, NULL, NULL, 0, NULL, &sc, &err)) {
        print_error(&err);
        probe_opts_fini(&a.o);
        return EXIT_INPUT;
    }
    int code = 0;
    search s = {.tty = isatty(2)};
    char why[256] = "";
    double r0 = NAN;
    if (!sc.cfg.slo_ttft && !sc.cfg.slo_tpot && !sc.cfg.slo_e2e) {
        code = usage_error("search needs an SLO: --slo ttft_ms=MS,tpot_ms=MS or the scenario's \"slo\"");
    } else if (!(s.key = a.o.rate_key ? a.o.rate_key : probe_default_rate_key(sc.resolved_json, why, sizeof why))) {
        code = usage_error("search: %s", why);
    } else if (probe_json_number(sc.resolved_json, s.key, &r0) && !a.has_lo && !a.has_hi) {
        code = usage_error("--rate-key: the scenario has no number at '%s'; give --lo or --hi to start from", s.key);
    } else if (!isnan(r0) && !(r0 > 0)) {
        code = usage_error("--rate-key: '%s' is %g in the scenario; expected a rate above 0", s.key, r0);
    }
    if (code) {
        scenario_fini(&sc);
        probe_opts_fini(&a.o);
        return code;
    }
    /* the first rate must load (a misspelt --rate-key is rejected before anything is stored) */
    {
        double first = a.has_lo ? a.lo : a.has_hi ? a.hi : r0;
        json_t *params = json_object();
        json_object_set_new(params, s.key, json_real(first));
        int nsets;
        char **sets = probe_sets_from_params(params, &nsets);
        scenario probe_sc;
        if (probe_load(&a.o, NULL, (const char *const *)sets, nsets, NULL, &probe_sc, &err)) {
            print_error(&err);
            code = EXIT_INPUT;
        } else {
            scenario_fini(&probe_sc);
        }
        for (int i = 0; i < nsets; i++) free(sets[i]);
        free(sets);
        json_decref(params);
    }
    if (code || (code = probe_ctx_init(&s.ctx, &a.o, "search", sc.cfg.seed))) {
        scenario_fini(&sc);
        probe_opts_fini(&a.o);
        return code;
    }

    outcome out;
    code = run_search(&s, &a, r0, &out);
    if (code == 0 && !isnan(out.max_rate)) {
        bool pass;
        for (size_t i = 0; i < sizeof knee_fractions / sizeof knee_fractions[0] && code == 0; i++) {
            double r = knee_fractions[i] * out.max_rate;
            bool seen = false;
            for (size_t j = 0; j < s.n; j++) seen |= s.v[j].rate == r;
            if (!seen) code = probe_at(&s, r, "knee", &pass);
        }
    }
    if (code == 0) {
        probe_rec *sorted = fs_xmalloc((s.n ? s.n : 1) * sizeof *sorted);
        if (s.n) memcpy(sorted, s.v, s.n * sizeof *sorted);
        qsort(sorted, s.n, sizeof *sorted, by_rate);
        knee k = isnan(out.max_rate) ? (knee){0} : find_knee(sorted, s.n, knee_fractions[0] * out.max_rate);
        free(s.v);
        s.v = sorted; /* the table and the JSON list the probes by rate */
        if (a.o.json) print_json(&s, &sc, &a.o, a.precision, &out, &k);
        else print_table(&s, &sc, &a.o, a.precision, &out, &k);
        fflush(stdout);
        if (s.ctx.st)
            fprintf(stderr, "fleetsim: %d runs stored in %s as sweep %s\n", s.ctx.runs, a.o.db, s.ctx.sweep);
    }
    probe_ctx_fini(&s.ctx);
    free(s.v);
    scenario_fini(&sc);
    probe_opts_fini(&a.o);
    return code;
}
