/* The fleetsim command line: argument parsing and the `run` orchestration. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "cli_internal.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "scenario.h"
#include "sim.h"
#include "report.h"
#include "store.h"


static const char usage_main[] =
    "usage: fleetsim <command> [options]\n"
    "\n"
    "A discrete-event simulator of inference fleets: traffic from traces or synthetic load,\n"
    "served by modelled GPU replicas behind a router, measured against latency SLOs, with every\n"
    "result stored in SQLite.\n"
    "\n"
    "commands:\n"
    "  run SCENARIO     simulate a scenario file; print the summary, store the run\n"
    "  replay DIR       replay a measured vLLM run and report the simulator's error per metric\n"
    "  inspect TRACE    summarise a request trace: counts, rate, burstiness, lengths, prefix reuse\n"
    "  place NODES PODS replay a GPU-sharing pod trace (openb) with a placement policy; report\n"
    "                   GPU allocation and fragmentation against the arrived load\n"
    "  calibrate PROFILE... --gpu NAME -o FILE\n"
    "                   fit the step-time model of a GPU to measured operator times (our CUDA\n"
    "                   probe, aiconfigurator, Vidur); write a calibrated GPU entry\n"
    "  validate --gpu NAME[:FILE] --profile FILE...\n"
    "                   the step-time model's error per operator on measured times; store it\n"
    "  search SCENARIO --slo ...\n"
    "                   the highest arrival rate that meets the SLO (bisection), and the knee\n"
    "  size SCENARIO --load RATE --slo ... --gpus LIST\n"
    "                   the cheapest fleet (GPU type, count, MIG or time-slicing, TP) meeting the SLO\n"
    "  sweep SCENARIO --grid PATH=V1,V2,... [--seeds N] [-j N] [--shard I/N]\n"
    "                   run every point of a parameter grid (N seeds each, in parallel\n"
    "                   processes) into one database; means and 95% intervals per point\n"
    "  merge OUT IN...  merge results databases (the shards of a sweep) into OUT\n"
    "  export DB --format json|csv|bench\n"
    "                   runs and metrics as JSON, long-format CSV or github-action-benchmark\n"
    "  compare BASE CAND [--threshold METRIC:+N%]...\n"
    "                   compare two runs, sweeps or exports metric by metric; exit 1 on a\n"
    "                   regression beyond a threshold (the CI gate: scenarios/ci/gate.sh)\n"
    "  report DB [--run ID]... [-o FILE]\n"
    "                   one self-contained HTML report of stored runs (plots drawn by gnuplot)\n"
    "  catalog          list the GPUs and models scenarios may name\n"
    "  version          print the version\n"
    "\n"
    "`fleetsim <command> --help` describes a command. Scenario keys: scenarios/REFERENCE.md.\n";

static const char usage_run[] =
    "usage: fleetsim run SCENARIO [options]\n"
    "\n"
    "Simulate SCENARIO (a JSON file), print a summary on stdout and store the run in a SQLite\n"
    "database (tables runs, metrics, requests, timeseries).\n"
    "\n"
    "options:\n"
    "  --set PATH=VALUE   override a scenario key, e.g. --set workload.rate=40 or\n"
    "                     --set deployments[0].replicas=8 (VALUE is JSON, else a string);\n"
    "                     repeatable, applied in order\n"
    "  --seed N           override the scenario's seed\n"
    "  --catalog FILE     add GPUs and models from FILE (repeatable; see fleetsim catalog)\n"
    "  --db FILE          results database (default results.db; created if missing)\n"
    "  --no-db            do not store the run\n"
    "  --requests         also store one row per request (same as output.requests=true)\n"
    "  --report FILE      also write the HTML report of the run to FILE, as fleetsim report\n"
    "                     does (stores the request rows; needs gnuplot and a database, so\n"
    "                     not --no-db)\n"
    "  --skip-bad-rows    skip malformed trace rows and count them, instead of stopping\n"
    "  --sort SECONDS     let trace rows come up to SECONDS out of time order (reordered\n"
    "                     within that window; memory stays bounded by it)\n"
    "  --json             print the summary as one JSON object (vLLM benchmark key names)\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done; 1 the results database failed; 2 bad usage or input (nothing is\n"
    "stored for a rejected scenario); 130 interrupted (the run is marked 'interrupted').\n";

typedef struct run_args {
    const char *scenario;
    const char *db;
    const char **sets;
    int nsets;
    const char **catalogs;
    int ncatalogs;
    const char *report; /* --report FILE */
    bool has_seed, json, requests, skip_bad_rows;
    uint64_t seed;
    double sort_window;
} run_args;

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fleetsim: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see fleetsim <command> --help)\n");
    va_end(ap);
    return EXIT_INPUT;
}

int cli_parse_sort(const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    if (end == v || *end || !(*out > 0 && *out <= 1e9))
        return usage_error("--sort: expected a window in seconds (> 0), got '%s'", v);
    return 0;
}

static int parse_run_args(int argc, char **argv, run_args *a)
{
    a->db = "results.db";
    a->sets = fs_xcalloc((size_t)argc + 1, sizeof *a->sets);
    a->catalogs = fs_xcalloc((size_t)argc + 1, sizeof *a->catalogs);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_run, stdout);
            return -1;
        } else if (strcmp(arg, "--set") == 0 || strcmp(arg, "--seed") == 0 || strcmp(arg, "--db") == 0 ||
                   strcmp(arg, "--catalog") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            const char *v = argv[++i];
            if (strcmp(arg, "--set") == 0) a->sets[a->nsets++] = v;
            else if (strcmp(arg, "--catalog") == 0) a->catalogs[a->ncatalogs++] = v;
            else if (strcmp(arg, "--db") == 0) a->db = v;
            else if (cli_parse_u64(v, &a->seed)) return usage_error("--seed: expected a non-negative integer, got '%s'", v);
            else a->has_seed = true;
        } else if (strncmp(arg, "--set=", 6) == 0) {
            a->sets[a->nsets++] = arg + 6;
        } else if (strcmp(arg, "--sort") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            if (cli_parse_sort(argv[++i], &a->sort_window)) return EXIT_INPUT;
        } else if (strcmp(arg, "--report") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            a->report = argv[++i];
        } else if (strcmp(arg, "--skip-bad-rows") == 0) {
            a->skip_bad_rows = true;
        } else if (strcmp(arg, "--no-db") == 0) {
            a->db = NULL;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--requests") == 0) {
            a->requests = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option '%s'", arg);
        } else if (!a->scenario) {
            a->scenario = arg;
        } else {
            return usage_error("unexpected argument '%s' (one scenario per run)", arg);
        }
    }
    if (!a->scenario) return usage_error("%s", "run needs a scenario file");
    if (a->report && !a->db)
        return usage_error("%s", "--report reads the run back from the results database: drop --no-db, or give --db FILE");
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_run_args(argc, argv, &a);
    if (rc != 0) {
        free(a.sets);
        free(a.catalogs);
        return rc < 0 ? 0 : rc;
    }
    fs_error err;
    scenario sc;
    scenario_opts so = {a.sets, a.nsets, a.has_seed, a.seed, a.catalogs, a.ncatalogs, a.skip_bad_rows, a.sort_window};
    rc = scenario_load(a.scenario, &so, &sc, &err);
    free(a.sets);
    free(a.catalogs);
    if (rc) {
        print_error(&err);
        return EXIT_INPUT;
    }
    if (a.report && report_check(a.report, &err)) { /* before the run, not after it */
        print_error(&err);
        scenario_fini(&sc);
        return EXIT_INPUT;
    }
    /* the report's latency CDFs need the request rows */
    cli_run o = {.db = a.db, .store_requests = a.requests || sc.store_requests || a.report};
    fs_metrics m = {0};
    int code = cli_execute(&sc, &o, &m);
    if (code == 0) {
        if (a.json) cli_print_json(stdout, &m);
        else cli_print_summary(stdout, sc.name, (unsigned long long)sc.cfg.seed, &m);
        fflush(stdout);
        if (a.db) fprintf(stderr, "fleetsim: run %lld stored in %s\n", (long long)o.run_id, a.db);
        if (a.report) { /* as `fleetsim report DB --run ID -o FILE` would */
            char id[24], run_opt[] = "--run", out_opt[] = "-o";
            snprintf(id, sizeof id, "%lld", (long long)o.run_id);
            char *report_argv[] = {(char *)a.db, run_opt, id, out_opt, (char *)a.report};
            code = cmd_report(5, report_argv);
        }
    }
    fs_metrics_fini(&m);
    scenario_fini(&sc);
    return code;
}

static const char usage_catalog[] =
    "usage: fleetsim catalog [--catalog FILE]...\n"
    "\n"
    "List the GPUs and models fleetsim knows: the shipped catalog plus FILEs of your own\n"
    "(JSON: {\"gpus\": [...], \"models\": [...]}, the shape of gpu/data/*.json; an entry with a known\n"
    "name replaces it). Scenarios add files with their \"catalogs\" key or --catalog.\n";

static int cmd_catalog(int argc, char **argv)
{
    fs_error err;
    catalog *cat = catalog_new(&err);
    if (!cat) {
        print_error(&err);
        return EXIT_RUN_FAILED;
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_catalog, stdout);
            catalog_free(cat);
            return 0;
        }
        if (strcmp(argv[i], "--catalog") == 0 && i + 1 < argc) {
            if (catalog_add_file(cat, argv[++i], &err)) {
                print_error(&err);
                catalog_free(cat);
                return EXIT_INPUT;
            }
            continue;
        }
        catalog_free(cat);
        return usage_error("catalog: unexpected argument '%s'", argv[i]);
    }
    printf("GPUs\n%-30s %8s %9s %11s %10s %6s %8s %4s %8s  %s\n", "name", "mem GiB", "HBM GB/s", "bf16 TFLOP/s",
           "fp8 TFLOP/s", "TDP W", "link GB/s", "MIG", "$/GPU-h", "price source");
    for (size_t i = 0; i < catalog_gpu_count(cat); i++) {
        const gpu_spec *g = catalog_gpu_at(cat, i);
        printf("%-30s %8.1f %9.0f %11.1f %10.1f %6.0f %8.0f %4s %8.2f  %s %s\n", g->name,
               g->memory_bytes / 1073741824.0, g->mem_bw / 1e9, g->bf16_flops / 1e12, g->fp8_flops / 1e12, g->tdp_w,
               (g->nvlink_bw > 0 ? g->nvlink_bw : g->pcie_bw) / 1e9, g->mig ? "yes" : "no", g->price_per_hour,
               g->price_source, g->price_date);
    }
    printf("\nModels\n%-32s %6s %6s %5s %4s %6s %6s %7s %11s %9s\n", "name", "layers", "hidden", "heads", "kv",
           "inter", "vocab", "experts", "params (B)", "KV KiB/tok");
    for (size_t i = 0; i < catalog_model_count(cat); i++) {
        const model_spec *m = catalog_model_at(cat, i);
        char experts[32] = "-";
        if (m->experts) snprintf(experts, sizeof experts, "%d/%d", m->experts_per_token, m->experts);
        printf("%-32s %6d %6d %5d %4d %6d %6d %7s %11.2f %9.0f\n", m->name, m->layers, m->hidden, m->heads,
               m->kv_heads, m->experts ? m->moe_intermediate : m->intermediate, m->vocab, experts,
               model_weight_params(m) / 1e9, model_kv_bytes_per_token(m, 1, 2) / 1024);
    }
    catalog_free(cat);
    return 0;
}


int fleetsim_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_INPUT : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "catalog") == 0) return cmd_catalog(argc - 2, argv + 2);
    if (strcmp(cmd, "replay") == 0) return cmd_replay(argc - 2, argv + 2);
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc - 2, argv + 2);
    if (strcmp(cmd, "place") == 0) return cmd_place(argc - 2, argv + 2);
    if (strcmp(cmd, "calibrate") == 0) return cmd_calibrate(argc - 2, argv + 2);
    if (strcmp(cmd, "validate") == 0) return cmd_validate(argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0) return cmd_report(argc - 2, argv + 2);
    if (strcmp(cmd, "sweep") == 0) return cmd_sweep(argc - 2, argv + 2);
    if (strcmp(cmd, "merge") == 0) return cmd_merge(argc - 2, argv + 2);
    if (strcmp(cmd, "export") == 0) return cmd_export(argc - 2, argv + 2);
    if (strcmp(cmd, "search") == 0) return cmd_search(argc - 2, argv + 2);
    if (strcmp(cmd, "size") == 0) return cmd_size(argc - 2, argv + 2);
    if (strcmp(cmd, "compare") == 0) return cmd_compare(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("fleetsim %s%s%s\n", FLEETSIM_VERSION, FLEETSIM_GIT_COMMIT[0] ? " " : "", FLEETSIM_GIT_COMMIT);
        return 0;
    }
    fprintf(stderr, "fleetsim: unknown command '%s'\n\n%s", cmd, usage_main);
    return EXIT_INPUT;
}
