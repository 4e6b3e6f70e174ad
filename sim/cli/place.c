/*
 * `fleetsim place NODES.csv PODS.csv --policy P`: replay an openb GPU-sharing pod trace over a
 * node list with one placement policy, as the ATC'23 FGD paper's simulator does, and print the
 * GPU allocation ratio, unallocated GPUs and fragmentation against the arrived load
 * (sim/model/openb.h says what is measured and how; sim/model/placement.h how each policy scores).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "openb.h"

#define DEFAULT_SEED 42 /* the paper's first seed */
#define MAX_SEEDS 100000
#define LOAD_PCT 130    /* arrivals up to 130% of GPU capacity, as in the paper */

static const char usage_place[] =
    "usage: fleetsim place NODES.csv PODS.csv --policy POLICY [options]\n"
    "\n"
    "Replay a GPU-sharing pod trace in Alibaba's openb format (the ATC'23 \"Beware of\n"
    "Fragmentation\" traces) over a node list, as the paper's simulator does: the pods in an order\n"
    "shuffled by the seed, then pods drawn from the list until their GPU demand reaches 130% of\n"
    "the cluster's GPU capacity; each pod placed by POLICY with CPU, memory, GPU share and\n"
    "gpu_spec enforced (a pod that fits nowhere fails); pods never leave. Prints, at every 10% of\n"
    "arrived load (GPU demand of the pods so far, % of capacity) and at the end: the GPU\n"
    "allocation ratio, the unallocated GPUs (capacity minus allocated share) and FGD's\n"
    "fragmentation (idle GPU share the typical pods cannot use), in GPUs and in % of the idle share.\n"
    "\n"
    "NODES.csv: sn,cpu_milli,memory_mib,gpu,model. PODS.csv: name,cpu_milli,memory_mib,num_gpu,\n"
    "gpu_milli,gpu_spec,... (gpu_milli: share of each GPU, 1000 = whole; gpu_spec: models, '|').\n"
    "\n"
    "policies (how each scores nodes and GPUs and breaks ties: sim/model/placement.h):\n"
    "  first_fit            first node in the list where the pod fits\n"
    "  best_fit             least CPU and GPU share left after placement (the paper's BestFit)\n"
    "  bin_pack             most allocated node first\n"
    "  spread               least allocated node first\n"
    "  gpu_memory_best_fit  least GPU share (standing for GPU memory) left on the GPUs taken\n"
    "  random               a node drawn uniformly among those that fit\n"
    "  fgd                  least increase of fragmentation (Fragmentation Gradient Descent)\n"
    "\n"
    "options:\n"
    "  --policy POLICY   required\n"
    "  --seed N          first seed (default 42, the paper's first)\n"
    "  --seeds K         average over the seeds N .. N+K-1 (default 1)\n"
    "  --json            one JSON object (keys in README.md, \"fleetsim place\")\n"
    "  -h, --help        this text\n"
    "\n"
    "exit status: 0 done; 2 bad usage or input (file:line:column and the value on stderr).\n";

typedef struct place_args {
    const char *nodes, *pods;
    int policy;
    uint64_t seed, seeds;
    bool json;
} place_args;

/* 0, 1 after --help, or EXIT_INPUT. */
static int parse_args(int argc, char **argv, place_args *a)
{
    *a = (place_args){.policy = -1, .seed = DEFAULT_SEED, .seeds = 1};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_place, stdout);
            return 1;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--policy") == 0 || strcmp(arg, "--seed") == 0 || strcmp(arg, "--seeds") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            const char *v = argv[++i];
            if (strcmp(arg, "--policy") == 0) {
                if ((a->policy = pl_policy_from_name(v)) < 0)
                    return usage_error("--policy: expected first_fit, best_fit, bin_pack, spread, "
                                       "gpu_memory_best_fit, random or fgd, got '%s'", v);
            } else if (strcmp(arg, "--seed") == 0) {
                if (cli_parse_u64(v, &a->seed))
                    return usage_error("--seed: expected a non-negative integer, got '%s'", v);
            } else if (cli_parse_u64(v, &a->seeds) || a->seeds < 1 || a->seeds > MAX_SEEDS) {
                return usage_error("--seeds: expected an integer 1..%d, got '%s'", MAX_SEEDS, v);
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option '%s'", arg);
        } else if (!a->nodes) {
            a->nodes = arg;
        } else if (!a->pods) {
            a->pods = arg;
        } else {
            return usage_error("unexpected argument '%s' (place takes a node list and a pod list)", arg);
        }
    }
    if (!a->pods) return usage_error("%s", "place needs a node list and a pod list (NODES.csv PODS.csv)");
    if (a->policy < 0) return usage_error("%s", "place needs --policy");
    return 0;
}

static void print_table(const place_args *a, const openb_trace *t, const openb_result *r)
{
    printf("policy %s: %d nodes, %lld GPUs; %zu pods (GPU demand %.1f%% of capacity) shuffled and drawn up to "
           "%d%%; seed%s %llu",
           pl_policy_name((enum pl_policy)a->policy), t->nnodes, (long long)(t->gpu_milli / PL_MILLI), t->npods,
           100.0 * (double)t->demand_milli / (double)t->gpu_milli, LOAD_PCT, a->seeds > 1 ? "s" : "",
           (unsigned long long)a->seed);
    if (a->seeds > 1) printf("..%llu", (unsigned long long)(a->seed + a->seeds - 1));
    printf("\nfragmentation against FGD's typical pods: %zu task types covering %zu of the %zu listed pods\n\n",
           r->types, r->types_covered, t->npods);
    printf("%9s %12s %13s %10s %15s\n", "arrived %", "GPU alloc %", "unalloc GPUs", "frag GPUs", "frag % of idle");
    for (int i = 0; i < r->npoints; i++) {
        const openb_point *p = &r->points[i];
        if (!p->seeds) {
            printf("%9.0f %12s %13s %10s %15s\n", p->f.arrived_pct, "-", "-", "-", "-");
            continue;
        }
        printf("%9.0f %12.2f %13.1f %10.1f %15.2f\n", p->f.arrived_pct, p->f.gpu_alloc_pct, p->f.unalloc_gpus,
               p->f.frag_gpus, p->f.frag_ratio_pct);
    }
    const openb_figures *f = &r->final;
    printf("%9s %12s %13s %10s %15s\n", "final", "", "", "", "");
    printf("%9.2f %12.2f %13.1f %10.1f %15.2f\n", f->arrived_pct, f->gpu_alloc_pct, f->unalloc_gpus, f->frag_gpus,
           f->frag_ratio_pct);
    printf("\npods per seed: %.1f arrived, %.1f failed (%.1f of them asking for GPUs)\n", r->pods, r->failed,
           r->failed_gpu_pods);
}

static json_t *figures_json(const openb_figures *f, double gpus, bool have)
{
    json_t *o = json_object();
    json_object_set_new(o, "arrived_pct", json_real(f->arrived_pct));
    json_object_set_new(o, "gpu_alloc_pct", have ? json_real(f->gpu_alloc_pct) : json_null());
    json_object_set_new(o, "unallocated_gpus", have ? json_real(f->unalloc_gpus) : json_null());
    json_object_set_new(o, "unallocated_pct", have ? json_real(100.0 * f->unalloc_gpus / gpus) : json_null());
    json_object_set_new(o, "frag_gpus", have ? json_real(f->frag_gpus) : json_null());
    json_object_set_new(o, "frag_pct", have ? json_real(100.0 * f->frag_gpus / gpus) : json_null());
    json_object_set_new(o, "frag_ratio_pct", have ? json_real(f->frag_ratio_pct) : json_null());
    return o;
}

static void print_json(const place_args *a, const openb_trace *t, const openb_result *r)
{
    double gpus = (double)t->gpu_milli / PL_MILLI;
    json_t *root = json_object(), *points = json_array();
    for (int i = 0; i < r->npoints; i++)
        json_array_append_new(points, figures_json(&r->points[i].f, gpus, r->points[i].seeds > 0));
    json_t *final = figures_json(&r->final, gpus, true);
    json_object_set_new(final, "pods", json_real(r->pods));
    json_object_set_new(final, "failed_pods", json_real(r->failed));
    json_object_set_new(final, "failed_gpu_pods", json_real(r->failed_gpu_pods));
    json_object_set_new(root, "policy", json_string(pl_policy_name((enum pl_policy)a->policy)));
    json_object_set_new(root, "seeds", json_integer((json_int_t)a->seeds));
    json_object_set_new(root, "first_seed", json_integer((json_int_t)a->seed));
    json_object_set_new(root, "load_pct", json_integer(LOAD_PCT));
    json_object_set_new(root, "nodes", json_integer(t->nnodes));
    json_object_set_new(root, "gpus", json_real(gpus));
    json_object_set_new(root, "pods_listed", json_integer((json_int_t)t->npods));
    json_object_set_new(root, "typical_types", json_integer((json_int_t)r->types));
    json_object_set_new(root, "points", points);
    json_object_set_new(root, "final", final);
    char *text = json_dumps(root, JSON_REAL_PRECISION(10));
    if (!text) fs_oom(0);
    puts(text);
    free(text);
    json_decref(root);
}

int cmd_place(int argc, char **argv)
{
    place_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc == 1 ? 0 : rc;
    openb_trace t;
    fs_error err;
    if (openb_load(&t, a.nodes, a.pods, &err)) {
        print_error(&err);
        return EXIT_INPUT;
    }
    openb_opts o = {(enum pl_policy)a.policy, a.seed, (int)a.seeds, LOAD_PCT};
    openb_result r;
    openb_replay(&t, &o, &r);
    if (a.json) print_json(&a, &t, &r);
    else print_table(&a, &t, &r);
    openb_fini(&t);
    return 0;
}
