/*
 * probe_run.h — what `fleetsim search` and `fleetsim size` share: their common options, one
 * probe (a scenario run with extra --set overrides, replicated over seeds, every replication a
 * stored run with its `points` row), and the pass/fail rule on SLO attainment. Private to sim/cli/.
 *
 * A probe of N replications runs the scenario with seeds S, S+1, ..., S+N-1 (S: --seed, else the
 * scenario's seed): common random numbers, so two probes differ by their settings, not by their
 * draws. The verdict: with one replication, attainment >= target; with N >= 2, the lower end of
 * the two-sided 95% Student-t confidence interval of the mean attainment >= target (a probe whose
 * interval straddles the target fails, so a "pass" is never seed noise; the answer is
 * conservative by about t * sd / sqrt(N)). A replication that measured fewer than
 * probe_min_requests(target) requests cannot tell the target from 100% (at 99%: 100 requests,
 * where one miss is 1%): its probe fails and says so (too_few). NaN attainment fails.
 *
 * Storage: each replication is stored by cli_execute as an ordinary run, then its points row
 * (sweep, point, seed_index, params) is added at once through a second connection. The row is
 * written just after the run commits, not inside its transaction (cli_execute offers no hook for
 * it): a process killed between the two leaves one run without its points row. A probe's result
 * carries the id of its first replication's run (seed S), the run that stands for the probe where
 * one is shown (size --report); with keep_requests that run also keeps its request rows.
 *
 * Ownership: probe_ctx_init/probe_ctx_fini pair up; the ctx holds the store handle, the sweep name
 * and copies of what it is given. probe_opts_fini releases what probe_opt allocated.
 */
#ifndef FS_PROBE_RUN_H
#define FS_PROBE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "scenario.h"
#include "stats.h"
#include "store.h"

#define PROBE_MAX_SEEDS 1000

/* The options both commands take. */
typedef struct probe_opts {
    const char *scenario;
    const char **sets;        /* the user's --set, in order */
    int nsets;
    const char **catalogs;    /* --catalog */
    int ncatalogs;
    bool has_seed;
    uint64_t seed;
    const char *db;           /* NULL: --no-db */
    bool json;
    char *slo_set;            /* "slo={...}" from --slo (owned), or NULL: the scenario's slo */
    double target;            /* attainment target, % (default 99) */
    int seeds;                /* replications per probe (default 1) */
    const char *rate_key;     /* --rate-key, or NULL: the workload's own (probe_default_rate_key) */
    bool keep_requests;       /* store the request rows of each probe's first replication (a report's
                                 CDFs read them); the other replications keep the scenario's choice */
} probe_opts;

/* Defaults, with room for argc option pointers. */
void probe_opts_init(probe_opts *o, int argc);
void probe_opts_fini(probe_opts *o);
/* If argv[*i] is a common option, consume it (and its value): 1. Not one: 0. A bad value or a
 * missing one: EXIT_INPUT after a usage error. */
int probe_opt(probe_opts *o, int argc, char **argv, int *i);
/* The common options' help lines. */
extern const char probe_opts_help[];

/* Parse "ttft_ms=500,tpot_ms=50" into the --set "slo={"ttft_ms":500,"tpot_ms":50}" (caller
 * frees). Returns NULL after a usage error (unknown key, bad number, empty). */
char *probe_parse_slo(const char *spec);

/* The rate key a scenario's workload answers to, from its resolved JSON: `workload.rate` for a
 * one-source synthetic workload with a rate, `workload.mean_rate` for a trace with one,
 * `workload.speedup` for another trace. NULL (with why in `why`) when there is none to take
 * (several sources, or an arrival process without a rate). */
const char *probe_default_rate_key(const char *resolved_json, char *why, size_t size);
/* The number at a --set path ("a.b[2].c") in a JSON text; 0 when found, -1 when absent or not a
 * number. */
int probe_json_number(const char *json_text, const char *path, double *out);

/* The figures of one probe: means over its replications. */
typedef struct probe_result {
    int runs;                 /* replications that ran */
    double attain_mean;       /* SLO attainment, % */
    double attain_sd;         /* sample standard deviation over replications (0 with one) */
    double ci_low, ci_high;   /* 95% interval of the mean (the mean itself with one replication) */
    bool pass;
    double p99_ttft_ms, p99_tpot_ms;
    double request_throughput, output_throughput; /* req/s, tok/s */
    double arrived;           /* measured requests, the fewest of any replication */
    bool too_few;             /* arrived < probe_min_requests: the verdict is a failure */
    int64_t run_id;           /* the stored run of the first replication (seed S); 0 with --no-db */
} probe_result;

/* The fewest measured requests a replication needs for a verdict at `target` %:
 * max(100, ceil(100 / (100 - target))), at most 10^6. */
double probe_min_requests(double target);

typedef struct probe_ctx {
    const probe_opts *o;
    store *st;                /* the points rows go through it (NULL: --no-db) */
    char sweep[96];           /* "search-2026-11-23T02:30:00Z-1a2b", or "" without a database */
    uint64_t first_seed;
    int64_t next_point;       /* points numbered in the order probed */
    int runs;                 /* stored or not, every replication run so far */
} probe_ctx;

/* Open the store (when o->db) and name the sweep `prefix-<UTC time>-<4 hex>`. first_seed: the
 * seed of replication 0. Returns 0, or EXIT_RUN_FAILED after printing why. */
int probe_ctx_init(probe_ctx *c, const probe_opts *o, const char *prefix, uint64_t first_seed);
void probe_ctx_fini(probe_ctx *c);

/*
 * Load the scenario for one replication: `base` (a JSON tree to start from instead of the file;
 * borrowed, copied) or the file, then the user's --set, then `extra` (nextra "path=value"
 * overrides), then the --slo; the seed is *seed, or with seed NULL the user's --seed or the
 * scenario's own. 0, or -1 with err filled (nothing to release).
 */
int probe_load(const probe_opts *o, const json_t *base, const char *const *extra, int nextra, const uint64_t *seed,
               scenario *sc, fs_error *err);

/*
 * Run one probe: o->seeds replications, each stored with a points row (the next point number,
 * params = `params` as compact JSON). Returns 0 with *r filled, or the exit status of the first
 * replication that failed (its error printed). The caller checks beforehand that the overrides
 * load (probe_load), so a failure here is a run that failed, not a scenario that was rejected.
 */
int probe_point(probe_ctx *c, const json_t *base, const char *const *extra, int nextra, const json_t *params,
                probe_result *r);

/* The overrides of a params object: "key=<compact JSON of value>" per key, in the object's
 * order (jansson keeps insertion order). Caller frees each string and the array. */
char **probe_sets_from_params(const json_t *params, int *n);

/* A number for JSON output: the value, or null when it is NaN or infinite. */
json_t *probe_json_real(double v);
/* "ttft_ms <= 500, tpot_ms <= 50" from a loaded scenario's SLO ("none" when there is none). */
void probe_describe_slo(const scenario *sc, char *buf, size_t size);
/* The SLO of a loaded scenario as a JSON object ({"ttft_ms": 500, ...}). */
json_t *probe_slo_json(const scenario *sc);

#endif
