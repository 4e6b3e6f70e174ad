/*
 * `fleetsim size SCENARIO --load RATE --slo ... --gpus LIST`: the cheapest fleet for the
 * scenario's one LLM deployment that meets the SLO at a given load.
 *
 * Candidates: each GPU type of --gpus x each partitioning x TP 1, 2, 4, 8 where it divides the
 * model's heads (partitioned: TP 1 only). Partitionings: whole GPUs; each MIG profile of the
 * type's geometry in gpu/data/mig.json, every GPU cut into as many instances of it as fit
 * (`all-<profile>`); time-slicing with N = 2 or 4 replicas per GPU (the pool's `sharing`), each
 * engine's gpu_memory_utilization lowered to what co-tenants can hold together
 * (1/N - a CUDA context's share of the GPU, rounded down to 0.001; MPS is left out). Time-slicing
 * isolates nothing: a replica alone on its GPU runs at the whole GPU's speed, so a fleet with
 * empty shares billed 1/N per replica would price a whole GPU's throughput at a fraction. Its
 * unit is therefore a whole GPU holding N replicas of the deployment, billed whole. A candidate
 * is feasible when the scenario loads with it: the model's weights per GPU must fit with room for
 * the KV cache of at least one max_model_len sequence, vLLM's start-up rule, which the loader
 * applies; its error is the reason given for an infeasible one.
 *
 * Search (not the whole product): per candidate, the fewest units (replicas; time-sliced GPUs)
 * that pass (probe_run.h's rule), assuming more never do worse. Branch and bound over candidates
 * in increasing lower bound on $/hour (lb x $/unit-hour; lb = 1 until measured), a candidate
 * whose bound is above the third-cheapest fleet found so far being pruned:
 *   1. one probe at 1 unit, which, overloaded, measures its saturated throughput x1 (completed
 *      requests / measured window), and settles the candidate when it passes;
 *   2. when the load is a rate in req/s (the rate key ends in "rate"), lb = ceil(0.8 x load /
 *      x1) (20% slack for an overloaded replica's preemption waste) and a first guess
 *      ceil(load / x1); otherwise lb = 1 and the guess 2;
 *   3. probe the guess, gallop upward (steps doubling from a quarter of the last failing count)
 *      until a count passes, step once below the pass, then bisect between the highest failing
 *      and the lowest passing count. A candidate still failing at 8 x ceil(load / x1) units is
 *      given up ("unreachable": its latency at light load misses the SLO), and one at --max-gpus
 *      too ("over_max_gpus").
 * The run budget (--budget-runs) stops the search; what is settled is ranked, the rest reported.
 * Cost: whole GPUs at the catalog's price_per_hour x GPUs; a MIG replica is billed its compute
 * slices / 7 of a GPU (as the simulator bills it: instances are isolated, so the rest of the GPU
 * can serve others); time-sliced GPUs whole (above). $/1M output tokens: that hourly cost over the
 * output tokens served per hour at the load. Ranked by $/hour, then fewer GPUs, then the order
 * the candidates were listed. Probes, seeds and order are fixed by the input, so the answer is
 * the same for the same seed.
 *
 * Each ranked fleet is backed by one stored run: the first replication of the probe that settled it
 * at its fewest passing units (the table's "run" column, "run_id" in --json). --report FILE writes
 * the HTML report (reports/report.h) of those runs, the winner first and the runners-up in rank
 * order, at most REPORT_MAX_RUNS, so its overlays and its cost vs p99 chart compare the options;
 * with it every probe's first replication keeps its request rows (the report's latency CDFs). It
 * needs the database and is checked (gnuplot, the output folder) before the first probe.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "catalog.h"
#include "cli_internal.h"
#include "mig.h"
#include "probe_run.h"
#include "report.h"
#include "share.h"

#define LB_SLACK 0.8       /* lower bound: load x this / saturated throughput of one replica */
#define EXACT_TOP 3        /* candidates never pruned below this many finished ones */
#define LIGHT_FACTOR 8     /* a candidate that fails at 8x the replicas its throughput needs is given up */
#define MAX_CANDIDATES 512

static const int tps[] = {1, 2, 4, 8};
static const int time_slices[] = {2, 4};

static const char usage_size[] =
    "usage: fleetsim size SCENARIO --load RATE --gpus GPU[,GPU]... [--slo KEY=MS,...] [options]\n"
    "\n"
    "The cheapest fleet for SCENARIO's one llm deployment that meets the SLO at the load RATE (set\n"
    "at the rate key): GPU type x partitioning (whole GPUs, or a MIG profile on GPUs with MIG\n"
    "geometry, or time-slicing 2 or 4 replicas per GPU) x tensor parallelism (1, 2, 4, 8 where\n"
    "the model fits), each with its fewest replicas found by a throughput estimate and a local\n"
    "search, ranked by $/hour (catalog price_per_hour x GPUs; a MIG instance billed as its compute\n"
    "slices / 7 of a GPU; time-sliced GPUs, each full with N replicas, billed whole). Every probe is\n"
    "a stored run (points rows, sweep \"size-...\"). The scenario's fleet is replaced; its pools,\n"
    "gpus_per_replica, mig_profile, autoscale and engine.num_gpu_blocks are dropped.\n"
    "\n"
    "options:\n"
    "  --load RATE        the load, > 0 (req/s for workload.rate)\n"
    "  --gpus LIST        GPU types to consider, catalog names or aliases, comma-separated\n"
    "  --max-gpus N       at most N GPUs per fleet (default 64)\n"
    "  --budget-runs N    at most N runs in all (default 300); candidates left are reported\n"
    "  --report FILE      also write the HTML report (as fleetsim report) of the ranked fleets' runs,\n"
    "                     the cheapest first, at most 16; each probe's first replication keeps its\n"
    "                     request rows for it. Needs the database and gnuplot\n";
_Static_assert(REPORT_MAX_RUNS == 16, "usage_size says the report shows at most 16 fleets");
static const char usage_size_tail[] =
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done (also when no fleet meets the SLO: \"winner\" is null, and no report is\n"
    "written); 1 the results database failed; 2 bad usage or input (the report's included);\n"
    "130 interrupted.\n";

enum cand_status { C_PENDING, C_OK, C_INFEASIBLE, C_TOO_MANY, C_UNREACHABLE, C_PRUNED, C_BUDGET };
static const char *const status_names[] = {"pending", "ok", "infeasible", "over_max_gpus", "unreachable", "pruned",
                                           "budget"};

typedef struct cand {
    int index;                /* in listing order */
    const gpu_spec *gpu;
    const mig_profile *mig;   /* NULL: whole GPUs */
    int shares;               /* time-slicing: replicas per GPU (0: not shared) */
    double mem_util;          /* time-slicing: each engine's gpu_memory_utilization */
    int per_gpu;              /* MIG instances per GPU (all-<profile>); else 1 */
    int unit;                 /* replicas per unit of the search: N for time-slicing (a unit is one
                                 GPU holding N replicas), else 1. Counts below are in units. */
    int tp;
    double share;             /* GPUs billed per unit: tp, compute slices / 7, or 1 (time-slicing) */
    double usd_unit;          /* $/hour of one unit */
    int max_units;            /* within --max-gpus */
    enum cand_status status;
    char reason[400];
    double x1;                /* saturated throughput of one unit, req/s */
    int lb;                   /* lower bound on replicas */
    int fail_max;             /* the highest count that failed (0: none probed) */
    int pass_min;             /* the lowest count that passed (0: none) */
    probe_result best;        /* at pass_min */
    int probes;
} cand;

typedef struct sizer {
    probe_ctx ctx;
    const probe_opts *o;
    const json_t *base;       /* the scenario file, with the deployment's placement keys dropped */
    const char *key;
    double load;
    int budget;
    bool tty, rate_like;
    const char *dep_name;
} sizer;

static int gpus_of(const cand *c, int units)
{
    return c->mig ? (units + c->per_gpu - 1) / c->per_gpu : units * c->tp;
}

static int replicas_of(const cand *c, int units) { return units * c->unit; }

/* The overrides of a candidate at `units`: the params object (the caller releases it). */
static json_t *cand_params(const sizer *z, const cand *c, int units)
{
    json_t *params = json_object(), *fleet = json_array(), *pool = json_object();
    json_object_set_new(pool, "gpu", json_string(c->gpu->name));
    json_object_set_new(pool, "count", json_integer(gpus_of(c, units)));
    if (c->mig) {
        char layout[48];
        snprintf(layout, sizeof layout, "all-%s", c->mig->name);
        json_object_set_new(pool, "mig", json_string(layout));
    }
    if (c->shares) {
        json_t *sh = json_object();
        json_object_set_new(sh, "mode", json_string("time_slicing"));
        json_object_set_new(sh, "replicas", json_integer(c->shares));
        json_object_set_new(pool, "sharing", sh);
    }
    json_array_append_new(fleet, pool);
    json_object_set_new(params, "fleet", fleet);
    json_object_set_new(params, "deployments[0].gpu", json_string(c->gpu->name));
    json_object_set_new(params, "deployments[0].tp", json_integer(c->tp));
    json_object_set_new(params, "deployments[0].replicas", json_integer(replicas_of(c, units)));
    if (c->mig) json_object_set_new(params, "deployments[0].mig_profile", json_string(c->mig->name));
    if (c->shares)
        json_object_set_new(params, "deployments[0].engine.gpu_memory_utilization", json_real(c->mem_util));
    json_object_set_new(params, z->key, json_real(z->load));
    return params;
}

/* Whether the scenario loads with the candidate (at one replica); the reason when not. */
static bool cand_loads(const sizer *z, cand *c)
{
    json_t *params = cand_params(z, c, 1);
    int nsets;
    char **sets = probe_sets_from_params(params, &nsets);
    fs_error err;
    scenario sc;
    bool ok = probe_load(z->o, z->base, (const char *const *)sets, nsets, NULL, &sc, &err) == 0;
    if (ok) {
        scenario_fini(&sc);
    } else {
        err.source[0] = '\0'; /* the file is the user's scenario: the path and message say enough */
        fs_error_format(&err, c->reason, sizeof c->reason);
    }
    for (int i = 0; i < nsets; i++) free(sets[i]);
    free(sets);
    json_decref(params);
    return ok;
}

static void cand_label(const cand *c, char *buf, size_t size)
{
    if (c->mig) snprintf(buf, size, "%s MIG %s", c->gpu->name, c->mig->name);
    else if (c->shares) snprintf(buf, size, "%s time-sliced 1/%d", c->gpu->name, c->shares);
    else snprintf(buf, size, "%s tp %d", c->gpu->name, c->tp);
}

/* The partition column: "whole", the MIG profile, or "ts 1/N". */
static void cand_partition(const cand *c, char *buf, size_t size)
{
    if (c->mig) snprintf(buf, size, "%s", c->mig->name);
    else if (c->shares) snprintf(buf, size, "ts 1/%d", c->shares);
    else snprintf(buf, size, "whole");
}

#define BUDGET_SPENT (-1) /* not an exit status: the run budget is spent */

/* Probe a candidate at `units`; records the verdict. 0 with *pass, BUDGET_SPENT (status
 * C_BUDGET), or an exit status. */
static int probe_cand(sizer *z, cand *c, int units, bool *pass)
{
    if (z->ctx.runs + z->o->seeds > z->budget) {
        c->status = C_BUDGET;
        if (c->pass_min)
            snprintf(c->reason, sizeof c->reason, "the run budget (--budget-runs %d) was spent while settling it: "
                     "%d replicas pass, %d fail, the counts between untried", z->budget, replicas_of(c, c->pass_min),
                     replicas_of(c, c->fail_max));
        else
            snprintf(c->reason, sizeof c->reason, "the run budget (--budget-runs %d) was spent before it was settled",
                     z->budget);
        return BUDGET_SPENT;
    }
    json_t *params = cand_params(z, c, units);
    int nsets;
    char **sets = probe_sets_from_params(params, &nsets);
    probe_result r;
    int64_t point = z->ctx.next_point;
    int code = probe_point(&z->ctx, z->base, (const char *const *)sets, nsets, params, &r);
    for (int i = 0; i < nsets; i++) free(sets[i]);
    free(sets);
    json_decref(params);
    if (code) return code;
    if (r.too_few) /* every candidate sees the same arrivals: more replicas cannot fix it */
        return usage_error("size: a run at %s = %g measures %.0f requests; a verdict at %g%% needs %.0f: lengthen "
                           "the run (duration or requests)", z->key, z->load, r.arrived, z->o->target,
                           probe_min_requests(z->o->target));
    c->probes++;
    if (units == 1) c->x1 = r.request_throughput;
    if (r.pass && (!c->pass_min || units < c->pass_min)) {
        c->pass_min = units;
        c->best = r;
    }
    if (!r.pass && units > c->fail_max) c->fail_max = units;
    if (z->tty) {
        char label[128];
        cand_label(c, label, sizeof label);
        fprintf(stderr, "fleetsim: probe %lld: %s x %d: attainment %.3f%% (95%% CI low %.3f%%): %s\n",
                (long long)point, label, replicas_of(c, units), r.attain_mean, r.ci_low, r.pass ? "pass" : "fail");
    }
    *pass = r.pass;
    return 0;
}

/* The fewest passing units of a candidate whose 1-unit probe failed. 0, BUDGET_SPENT or an exit
 * status. */
static int settle(sizer *z, cand *c, int guess, int light)
{
    bool pass;
    int code;
    int n = guess < 2 ? 2 : guess;
    int step = 0;
    while (!c->pass_min) { /* gallop up */
        if (c->fail_max >= c->max_units) {
            c->status = C_TOO_MANY;
            snprintf(c->reason, sizeof c->reason, "fails at %d replicas (%d GPUs), the most --max-gpus allows",
                     replicas_of(c, c->fail_max), gpus_of(c, c->fail_max));
            return 0;
        }
        if (light && c->fail_max >= light) {
            c->status = C_UNREACHABLE;
            snprintf(c->reason, sizeof c->reason, "fails at %d replicas, %d times what its saturated throughput "
                     "needs: latency at light load misses the SLO", replicas_of(c, c->fail_max), LIGHT_FACTOR);
            return 0;
        }
        if (light && n > light) n = light;
        if (n > c->max_units) n = c->max_units;
        if ((code = probe_cand(z, c, n, &pass))) return code;
        if (!pass) {
            step = step ? step * 2 : (c->fail_max / 4 > 1 ? c->fail_max / 4 : 1);
            n = c->fail_max + step;
        }
    }
    if (c->pass_min - 1 > c->fail_max) { /* one step below the first pass: usually settles it */
        if ((code = probe_cand(z, c, c->pass_min - 1, &pass))) return code;
    }
    while (c->pass_min - c->fail_max > 1) {
        int mid = c->fail_max + (c->pass_min - c->fail_max) / 2;
        if ((code = probe_cand(z, c, mid, &pass))) return code;
    }
    c->status = C_OK;
    return 0;
}

static double cand_usd(const cand *c) { return c->pass_min * c->usd_unit; }

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Finished candidates first, by $/hour, GPUs, listing order; then the rest in listing order. */
static int by_rank(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    bool ox = x->status == C_OK, oy = y->status == C_OK;
    if (ox != oy) return ox ? -1 : 1;
    if (ox) {
        double ux = cand_usd(x), uy = cand_usd(y);
        if (ux != uy) return ux < uy ? -1 : 1;
        int gx = gpus_of(x, x->pass_min), gy = gpus_of(y, y->pass_min);
        if (gx != gy) return gx < gy ? -1 : 1;
    }
    return x->index - y->index;
}

static int by_bound(const void *a, const void *b)
{
    const cand *x = *(const cand *const *)a, *y = *(const cand *const *)b;
    double ux = x->lb * x->usd_unit, uy = y->lb * y->usd_unit;
    if (ux != uy) return ux < uy ? -1 : 1;
    return x->index - y->index;
}

/* Prune c (status C_PRUNED) when its bound is above the EXACT_TOP-th cheapest finished fleet so
 * far; `found` is scratch room for ncand costs. */
static bool over_bound(const cand *v, int ncand, cand *c, double *found)
{
    int nfound = 0;
    for (int j = 0; j < ncand; j++)
        if (v[j].status == C_OK) found[nfound++] = cand_usd(&v[j]);
    qsort(found, (size_t)nfound, sizeof *found, by_double);
    if (nfound < EXACT_TOP || !(c->lb * c->usd_unit > found[EXACT_TOP - 1])) return false;
    c->status = C_PRUNED;
    return true;
}

static double usd_per_1m_out(const cand *c)
{
    double tph = c->best.output_throughput * 3600;
    return tph > 0 ? cand_usd(c) * 1e6 / tph : NAN;
}

static json_t *cand_json(const cand *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "gpu", json_string(c->gpu->name));
    json_object_set_new(o, "partition", json_string(c->mig ? "mig" : c->shares ? "time_slicing" : "whole"));
    json_object_set_new(o, "mig_profile", c->mig ? json_string(c->mig->name) : json_null());
    json_object_set_new(o, "shares", c->shares ? json_integer(c->shares) : json_null());
    json_object_set_new(o, "gpu_memory_utilization", c->shares ? json_real(c->mem_util) : json_null());
    json_object_set_new(o, "tp", json_integer(c->tp));
    json_object_set_new(o, "status", json_string(status_names[c->status]));
    bool ok = c->status == C_OK;
    json_object_set_new(o, "replicas", ok ? json_integer(replicas_of(c, c->pass_min)) : json_null());
    json_object_set_new(o, "gpus", ok ? json_integer(gpus_of(c, c->pass_min)) : json_null());
    json_object_set_new(o, "billed_gpus", ok ? json_real(c->pass_min * c->share) : json_null());
    json_object_set_new(o, "usd_per_hour", ok ? json_real(cand_usd(c)) : json_null());
    json_object_set_new(o, "usd_per_1m_output_tokens", ok ? probe_json_real(usd_per_1m_out(c)) : json_null());
    json_object_set_new(o, "p99_ttft_ms", ok ? probe_json_real(c->best.p99_ttft_ms) : json_null());
    json_object_set_new(o, "p99_tpot_ms", ok ? probe_json_real(c->best.p99_tpot_ms) : json_null());
    json_object_set_new(o, "slo_attainment_pct", ok ? probe_json_real(c->best.attain_mean) : json_null());
    json_object_set_new(o, "ci_low_pct", ok ? probe_json_real(c->best.ci_low) : json_null());
    json_object_set_new(o, "usd_per_replica_hour", json_real(c->usd_unit / c->unit));
    json_object_set_new(o, "saturated_throughput", probe_json_real(c->x1));
    json_object_set_new(o, "lower_bound_replicas", c->lb ? json_integer(replicas_of(c, c->lb)) : json_null());
    json_object_set_new(o, "highest_failing_replicas",
                        c->fail_max ? json_integer(replicas_of(c, c->fail_max)) : json_null());
    json_object_set_new(o, "probes", json_integer(c->probes));
    json_object_set_new(o, "run_id", ok && c->best.run_id ? json_integer((json_int_t)c->best.run_id) : json_null());
    json_object_set_new(o, "reason", c->reason[0] ? json_string(c->reason) : json_null());
    return o;
}

static void print_json(const sizer *z, const scenario *sc, const cand *v, int n)
{
    json_t *root = json_object();
    json_object_set_new(root, "scenario", json_string(z->o->scenario));
    json_object_set_new(root, "name", json_string(sc->name));
    json_object_set_new(root, "deployment", json_string(z->dep_name));
    json_object_set_new(root, "model", json_string(sc->cfg.deployments[0].llm.model->name));
    json_object_set_new(root, "rate_key", json_string(z->key));
    json_object_set_new(root, "load", json_real(z->load));
    json_object_set_new(root, "slo", probe_slo_json(sc));
    json_object_set_new(root, "target_pct", json_real(z->o->target));
    json_object_set_new(root, "seeds", json_integer(z->o->seeds));
    json_object_set_new(root, "first_seed", json_integer((json_int_t)z->ctx.first_seed));
    json_object_set_new(root, "winner", n > 0 && v[0].status == C_OK ? cand_json(&v[0]) : json_null());
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(arr, cand_json(&v[i]));
    json_object_set_new(root, "candidates", arr);
    json_object_set_new(root, "runs", json_integer(z->ctx.runs));
    json_object_set_new(root, "budget_runs", json_integer(z->budget));
    json_object_set_new(root, "sweep", z->ctx.st ? json_string(z->ctx.sweep) : json_null());
    char *text = json_dumps(root, JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) fs_oom(0);
    puts(text);
    free(text);
}

static void print_table(const sizer *z, const scenario *sc, const cand *v, int n)
{
    char slo[160];
    probe_describe_slo(sc, slo, sizeof slo);
    printf("size %s: %s (%s) at %s = %g for SLO %s at attainment >= %g%% (%d seed%s from %llu per probe)\n",
           sc->name, z->dep_name, sc->cfg.deployments[0].llm.model->name, z->key, z->load, slo, z->o->target,
           z->o->seeds, z->o->seeds == 1 ? "" : "s", (unsigned long long)z->ctx.first_seed);
    if (n > 0 && v[0].status == C_OK) {
        char label[128];
        cand_label(&v[0], label, sizeof label);
        printf("cheapest: %d x %s: %d GPU%s, $%.2f/hour\n", replicas_of(&v[0], v[0].pass_min), label,
               gpus_of(&v[0], v[0].pass_min),
               gpus_of(&v[0], v[0].pass_min) == 1 ? "" : "s", cand_usd(&v[0]));
    } else {
        printf("no candidate meets the SLO within --max-gpus and the run budget\n");
    }
    printf("\n%4s %-24s %-11s %3s %8s %5s %9s %12s %12s %12s %10s %6s %6s\n", "rank", "GPU", "partition", "tp",
           "replicas", "GPUs", "$/hour", "$/1M out tok", "p99 TTFT ms", "p99 TPOT ms", "attain %", "probes", "run");
    int rank = 0;
    for (int i = 0; i < n && v[i].status == C_OK; i++) {
        const cand *c = &v[i];
        char part[32];
        cand_partition(c, part, sizeof part);
        char run[24] = "-"; /* --no-db: nothing stored */
        if (c->best.run_id) snprintf(run, sizeof run, "%lld", (long long)c->best.run_id);
        printf("%4d %-24s %-11s %3d %8d %5d %9.2f %12.3f %12.2f %12.2f %10.3f %6d %6s\n", ++rank, c->gpu->name,
               part, c->tp, replicas_of(c, c->pass_min), gpus_of(c, c->pass_min), cand_usd(c),
               usd_per_1m_out(c), c->best.p99_ttft_ms, c->best.p99_tpot_ms, c->best.attain_mean, c->probes, run);
    }
    bool head = false;
    for (int i = 0; i < n; i++) {
        const cand *c = &v[i];
        if (c->status == C_OK) continue;
        if (!head) printf("\nnot ranked:\n");
        head = true;
        char label[128];
        cand_label(c, label, sizeof label);
        if (c->status == C_PRUNED && c->probes == 0)
            printf("  %-30s pruned unprobed: %s costs $%.2f/hour, above the third-cheapest fleet\n", label,
                   c->shares ? "one GPU" : "one replica", c->usd_unit);
        else if (c->status == C_PRUNED)
            printf("  %-30s pruned: %.3g req/s per %s at saturation needs at least %d replica%s ($%.2f/hour), "
                   "above the third-cheapest fleet\n", label, c->x1, c->shares ? "GPU" : "replica",
                   replicas_of(c, c->lb), replicas_of(c, c->lb) == 1 ? "" : "s", c->lb * c->usd_unit);
        else
            printf("  %-30s %s: %s\n", label, status_names[c->status], c->reason);
    }
}

/* The report of the ranked fleets' runs (v ranked), cheapest first. 0, or EXIT_INPUT after
 * printing why; no fleet ranked: nothing written, 0 (the answer "none" is not an error). */
static int write_report(const char *db, const char *out, const cand *v, int n)
{
    int64_t runs[REPORT_MAX_RUNS];
    size_t nruns = 0;
    int ranked = 0;
    for (int i = 0; i < n && v[i].status == C_OK; i++, ranked++)
        if (nruns < REPORT_MAX_RUNS) runs[nruns++] = v[i].best.run_id;
    if (nruns == 0) {
        fprintf(stderr, "fleetsim: size: no fleet meets the SLO, so there is no run to report: '%s' not written\n", out);
        return 0;
    }
    if (ranked > REPORT_MAX_RUNS)
        fprintf(stderr, "fleetsim: size: the report shows the %d cheapest of %d ranked fleets (at most %d runs in one "
                "report)\n", REPORT_MAX_RUNS, ranked, REPORT_MAX_RUNS);
    report_opts ro = {db, runs, nruns, out};
    fs_error err;
    long bytes = 0;
    if (report_write(&ro, NULL, &bytes, &err)) {
        print_error(&err);
        return EXIT_INPUT;
    }
    char ids[REPORT_MAX_RUNS * 22] = "";
    size_t used = 0;
    for (size_t i = 0; i < nruns; i++)
        used += (size_t)snprintf(ids + used, sizeof ids - used, "%s%lld", i ? ", " : "", (long long)runs[i]);
    fprintf(stderr, "fleetsim: report of %zu fleet%s (run%s %s) written to %s (%ld KiB)\n", nruns, nruns == 1 ? "" : "s",
            nruns == 1 ? "" : "s", ids, out, (bytes + 1023) / 1024);
    return 0;
}

typedef struct size_args {
    probe_opts o;
    const char *gpus;
    const char *report;       /* --report FILE, or NULL */
    bool has_load;
    double load;
    uint64_t max_gpus, budget;
} size_args;

/* 0, 1 after --help, or EXIT_INPUT. */
static int parse_args(int argc, char **argv, size_args *a)
{
    probe_opts_init(&a->o, argc);
    a->max_gpus = 64;
    a->budget = 300;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int rc = probe_opt(&a->o, argc, argv, &i);
        if (rc == 1) continue;
        if (rc) return rc;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_size, stdout);
            fputs(probe_opts_help, stdout);
            fputs(usage_size_tail, stdout);
            return 1;
        } else if (strcmp(arg, "--load") == 0 || strcmp(arg, "--gpus") == 0 || strcmp(arg, "--max-gpus") == 0 ||
                   strcmp(arg, "--budget-runs") == 0 || strcmp(arg, "--report") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            const char *v = argv[++i];
            if (strcmp(arg, "--gpus") == 0) {
                a->gpus = v;
            } else if (strcmp(arg, "--report") == 0) {
                a->report = v;
            } else if (strcmp(arg, "--load") == 0) {
                char *end;
                a->load = strtod(v, &end);
                if (end == v || *end || !isfinite(a->load) || !(a->load > 0) || a->load > 1e9)
                    return usage_error("--load: expected a rate above 0 and at most 1e9, got '%s'", v);
                a->has_load = true;
            } else if (strcmp(arg, "--max-gpus") == 0) {
                if (cli_parse_u64(v, &a->max_gpus) || a->max_gpus < 1 || a->max_gpus > 100000)
                    return usage_error("--max-gpus: expected an integer 1..100000, got '%s'", v);
            } else if (cli_parse_u64(v, &a->budget) || a->budget < 1 || a->budget > 1000000) {
                return usage_error("--budget-runs: expected an integer 1..1000000, got '%s'", v);
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("size: unknown option '%s'", arg);
        } else if (!a->o.scenario) {
            a->o.scenario = arg;
        } else {
            return usage_error("size: unexpected argument '%s' (one scenario)", arg);
        }
    }
    if (!a->o.scenario) return usage_error("%s", "size needs a scenario file");
    if (!a->has_load) return usage_error("%s", "size needs --load RATE (the load to size for, > 0)");
    if (!a->gpus) return usage_error("%s", "size needs --gpus GPU[,GPU]... (the GPU types to consider)");
    if (a->report && !a->o.db)
        return usage_error("%s", "--report reads the runs back from the results database: drop --no-db, or give --db FILE");
    a->o.keep_requests = a->report != NULL; /* the report's latency CDFs read the request rows */
    return 0;
}

/* The deployment must be one llm deployment, not disaggregated. 0 or a usage error. */
static int check_deployment(const scenario *sc)
{
    if (sc->cfg.ndeployments != 1) {
        char names[512] = "";
        size_t used = 0;
        for (uint32_t i = 0; i < sc->cfg.ndeployments && used < sizeof names - 80; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s\"%s\"", i ? ", " : "",
                                     sc->cfg.deployments[i].name);
        return usage_error("size sizes one llm deployment; the scenario has %u (%s): keep one", sc->cfg.ndeployments,
                           names);
    }
    const sim_deployment *d = &sc->cfg.deployments[0];
    if (d->kind != SIM_KIND_LLM)
        return usage_error("size sizes an llm deployment; \"%s\" is of kind \"fixed\" (its service time does not "
                           "depend on the GPU)", d->name);
    if (d->llm.prefill_replicas)
        return usage_error("size does not size disaggregated deployments; \"%s\" has \"disaggregation\"", d->name);
    return 0;
}

/* The scenario file with what the candidates replace or that would contradict them dropped. */
static json_t *base_tree(const char *path, fs_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fs_error_set(err, path, je.line > 0 ? je.line : 0, je.line > 0 ? je.column : 0, "%s", je.text);
        return NULL;
    }
    json_t *d = json_array_get(json_object_get(root, "deployments"), 0);
    if (json_is_object(d)) {
        static const char *const drop[] = {"pools", "gpus_per_replica", "mig_profile", "gpu", NULL};
        for (int i = 0; drop[i]; i++) json_object_del(d, drop[i]);
        if (json_object_get(d, "autoscale")) {
            fprintf(stderr, "fleetsim: size: the deployment's autoscale is dropped (sizing a fixed replica count)\n");
            json_object_del(d, "autoscale");
        }
        json_t *engine = json_object_get(d, "engine");
        if (json_is_object(engine) && json_object_get(engine, "num_gpu_blocks")) {
            fprintf(stderr, "fleetsim: size: engine.num_gpu_blocks is dropped (the KV cache is sized per GPU)\n");
            json_object_del(engine, "num_gpu_blocks");
        }
    }
    return root;
}

/* Split --gpus into catalog entries, each once, in order. -1 after a usage error. */
static int resolve_gpus(const scenario *sc, const char *list, const gpu_spec **out, int *n)
{
    *n = 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        char name[128];
        if (len == 0 || len >= sizeof name) {
            usage_error("--gpus: expected GPU[,GPU]... (catalog names or aliases), got '%s'", list);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        const gpu_spec *g = catalog_gpu(sc->cat, name);
        if (!g) {
            char known[2048];
            catalog_gpu_names(sc->cat, known, sizeof known);
            usage_error("--gpus: unknown GPU '%s'; expected one of %s", name, known);
            return -1;
        }
        bool dup = false;
        for (int i = 0; i < *n; i++) dup |= out[i] == g;
        if (!dup && *n < 64) out[(*n)++] = g;
        p += len;
        if (!*p) return 0;
        p++;
    }
}

int cmd_size(int argc, char **argv)
{
    size_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        probe_opts_fini(&a.o);
        return rc == 1 ? 0 : rc;
    }
    fs_error err;
    scenario sc;
    if (probe_load(&a.o, NULL, NULL, 0, NULL, &sc, &err)) {
        print_error(&err);
        probe_opts_fini(&a.o);
        return EXIT_INPUT;
    }
    if (a.report && report_check(a.report, &err)) { /* before the first probe, not after the last */
        print_error(&err);
        scenario_fini(&sc);
        probe_opts_fini(&a.o);
        return EXIT_INPUT;
    }
    sizer z = {.o = &a.o, .load = a.load, .budget = (int)a.budget, .tty = isatty(2)};
    char why[256];
    const gpu_spec *gpus[64];
    int ngpus = 0, code = 0, ncand = 0;
    cand *v = NULL;
    mig_table *mig = NULL;
    json_t *base = NULL;
    if ((code = check_deployment(&sc))) goto out;
    if (!sc.cfg.slo_ttft && !sc.cfg.slo_tpot && !sc.cfg.slo_e2e) {
        code = usage_error("size needs an SLO: --slo ttft_ms=MS,tpot_ms=MS or the scenario's \"slo\"");
        goto out;
    }
    if (!(z.key = a.o.rate_key ? a.o.rate_key : probe_default_rate_key(sc.resolved_json, why, sizeof why))) {
        code = usage_error("size: %s", why);
        goto out;
    }
    {
        const char *last = strrchr(z.key, '.');
        last = last ? last + 1 : z.key;
        size_t ll = strlen(last);
        z.rate_like = ll >= 4 && strcmp(last + ll - 4, "rate") == 0;
    }
    z.dep_name = sc.cfg.deployments[0].name;
    if (resolve_gpus(&sc, a.gpus, gpus, &ngpus)) {
        code = EXIT_INPUT;
        goto out;
    }
    if (!(base = base_tree(a.o.scenario, &err)) || !(mig = mig_table_new(&err))) {
        print_error(&err);
        code = EXIT_INPUT;
        goto out;
    }

    /* the candidates, in listing order */
    v = fs_xcalloc(MAX_CANDIDATES, sizeof *v);
    const model_spec *model = sc.cfg.deployments[0].llm.model;
    for (int g = 0; g < ngpus; g++) {
        for (size_t t = 0; t < sizeof tps / sizeof tps[0]; t++) {
            if (model->heads % tps[t] || ncand >= MAX_CANDIDATES) continue;
            cand *c = &v[ncand];
            *c = (cand){.index = ncand, .gpu = gpus[g], .per_gpu = 1, .unit = 1, .tp = tps[t], .share = tps[t]};
            ncand++;
        }
        const mig_gpu *mg = mig_gpu_find(mig, gpus[g]->name);
        for (int p = 0; mg && p < mg->nprofiles && ncand < MAX_CANDIDATES; p++) {
            const mig_profile *mp = &mg->profiles[p];
            if (strchr(mp->name, '+')) continue; /* +me: the same slices plus media engines */
            char text[48];
            mig_layout l;
            snprintf(text, sizeof text, "all-%s", mp->name);
            if (mig_layout_parse(mg, text, &l, &err)) continue;
            v[ncand] = (cand){.index = ncand, .gpu = gpus[g], .mig = mp, .per_gpu = l.n, .unit = 1, .tp = 1,
                              .share = mp->compute_slices / (double)MIG_COMPUTE_SLICES};
            ncand++;
        }
        for (size_t t = 0; t < sizeof time_slices / sizeof time_slices[0] && ncand < MAX_CANDIDATES; t++) {
            /* co-tenants' gpu_memory_utilization plus a CUDA context each must fit the GPU */
            int k = time_slices[t];
            double u = floor(1000 * (1.0 / k - SHARE_CONTEXT_BYTES / gpus[g]->memory_bytes)) / 1000;
            u = fmin(u, sc.cfg.deployments[0].mem_fraction);
            if (!(u > 0)) continue;
            v[ncand] = (cand){.index = ncand, .gpu = gpus[g], .shares = k, .mem_util = u, .per_gpu = 1, .unit = k,
                              .tp = 1, .share = 1};
            ncand++;
        }
    }
    for (int i = 0; i < ncand; i++) {
        cand *c = &v[i];
        c->usd_unit = c->share * c->gpu->price_per_hour;
        c->max_units = (int)a.max_gpus * c->per_gpu / c->tp;
        if (c->max_units < 1) {
            c->status = C_TOO_MANY;
            snprintf(c->reason, sizeof c->reason, "a replica takes %d GPUs, more than --max-gpus %llu", c->tp,
                     (unsigned long long)a.max_gpus);
        } else if (!cand_loads(&z, c)) {
            c->status = C_INFEASIBLE;
        }
    }
    if ((code = probe_ctx_init(&z.ctx, &a.o, "size", sc.cfg.seed))) goto out;
    z.base = base;

    /* Branch and bound, in increasing lower bound on cost (lb x $/replica-hour; lb is 1 until a
     * candidate's one-replica probe gives its throughput bound), pruning a candidate whose bound
     * is above the EXACT_TOP-th cheapest fleet found so far.
     * 1. one replica each: the saturated throughput, and a pass settles it */
    for (int i = 0; i < ncand; i++) v[i].lb = 1;
    cand **order = fs_xcalloc((size_t)ncand + 1, sizeof *order);
    double *found = fs_xcalloc((size_t)ncand + 1, sizeof *found);
    int norder = 0;
    for (int i = 0; i < ncand; i++)
        if (v[i].status == C_PENDING) order[norder++] = &v[i];
    qsort(order, (size_t)norder, sizeof *order, by_bound);
    for (int i = 0; i < norder && code == 0; i++) {
        cand *c = order[i];
        bool pass;
        if (over_bound(v, ncand, c, found)) continue;
        if ((code = probe_cand(&z, c, 1, &pass))) continue;
        if (pass) {
            c->status = C_OK;
        } else if (z.rate_like && c->x1 > 0) {
            c->lb = (int)fmin(INT32_MAX / 2, fmax(1, ceil(LB_SLACK * z.load / c->x1)));
        }
    }
    /* 2. the fewest replicas of the others */
    norder = 0;
    for (int i = 0; i < ncand; i++)
        if (v[i].status == C_PENDING) order[norder++] = &v[i];
    qsort(order, (size_t)norder, sizeof *order, by_bound);
    for (int i = 0; i < norder && code == 0; i++) {
        cand *c = order[i];
        if (over_bound(v, ncand, c, found)) continue;
        int guess = 2, light = 0;
        if (z.rate_like && c->x1 > 0) {
            double need = ceil(z.load / c->x1);
            guess = (int)fmin(c->max_units, fmax(2, need));
            light = (int)fmin(INT32_MAX / 2, LIGHT_FACTOR * fmax(1, need));
        }
        code = settle(&z, c, guess, light);
    }
    free(order);
    free(found);
    if (code == BUDGET_SPENT) code = 0; /* what is settled is reported, the rest marked */
    if (code == 0) {
        for (int i = 0; i < ncand; i++)
            if (v[i].status == C_PENDING) {
                v[i].status = C_BUDGET;
                snprintf(v[i].reason, sizeof v[i].reason, "the run budget (--budget-runs %d) was spent first", z.budget);
            }
        qsort(v, (size_t)ncand, sizeof *v, by_rank);
        if (a.o.json) print_json(&z, &sc, v, ncand);
        else print_table(&z, &sc, v, ncand);
        fflush(stdout);
        if (z.ctx.st) fprintf(stderr, "fleetsim: %d runs stored in %s as sweep %s\n", z.ctx.runs, a.o.db, z.ctx.sweep);
        if (a.report) code = write_report(a.o.db, a.report, v, ncand);
    }
out:
    probe_ctx_fini(&z.ctx);
    free(v);
    mig_table_free(mig);
    json_decref(base);
    scenario_fini(&sc);
    probe_opts_fini(&a.o);
    return code;
}
