/*
 * Placement policies on small hand-checked clusters, FGD's fragmentation on a hand-computed
 * example, the openb reader (good lists and every kind of bad row), the arrivals (shuffle and
 * inflation, deterministic per seed) and the replay.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "openb.h"
#include "placement.h"

#define ANY PL_ANY_MODEL

static pl_pod share(int64_t cpu, int milli) { return (pl_pod){cpu, 1000, 1, milli, ANY}; }
static pl_pod whole(int64_t cpu, int n) { return (pl_pod){cpu, 1000, n, PL_MILLI, ANY}; }
static pl_pod cpu_only(int64_t cpu) { return (pl_pod){cpu, 1000, 0, 0, ANY}; }

/* n0: 8 cores, 2 GPUs; n1: 16 cores, 4 GPUs; n2: 4 cores, no GPU (all model 0). */
static pl_cluster *small(void)
{
    pl_node_spec n[3] = {{8000, 16000, 2, 0}, {16000, 32000, 4, 0}, {4000, 8000, 0, -1}};
    return pl_cluster_new(n, 3);
}

/* Place and check node and GPU set. */
#define PLACE(c, policy, pod, want_node, want_gpus)                               \
    do {                                                                          \
        pl_pod p_ = (pod);                                                        \
        pl_spot s_ = {-1, 0};                                                     \
        CHECK_INT(pl_place((c), (policy), &p_, NULL, &s_), 0);                    \
        CHECK_INT(s_.node, (want_node));                                          \
        CHECK_INT(s_.gpus, (want_gpus));                                          \
    } while (0)

static void test_names(void)
{
    for (int p = 0; p < PL_POLICY_COUNT; p++) CHECK_INT(pl_policy_from_name(pl_policy_name((enum pl_policy)p)), p);
    CHECK_INT(pl_policy_from_name("worst_fit"), -1);
    CHECK(pl_policy_name(PL_POLICY_COUNT) == NULL);
    CHECK_STR(pl_policy_name(PL_GPU_MEMORY_BEST_FIT), "gpu_memory_best_fit");
}

static void test_first_fit(void)
{
    pl_cluster *c = small();
    PLACE(c, PL_FIRST_FIT, share(1000, 300), 0, 1);    /* n0 GPU 0 */
    PLACE(c, PL_FIRST_FIT, share(1000, 600), 0, 1);    /* GPU 0 still fits (700 free) */
    CHECK_INT(pl_node_gpu_free(c, 0, 0), 100);
    PLACE(c, PL_FIRST_FIT, share(1000, 200), 0, 2);    /* GPU 0 has 100: GPU 1 */
    PLACE(c, PL_FIRST_FIT, whole(1000, 2), 1, 3);      /* n0 has no 2 free GPUs: n1 GPUs 0, 1 */
    PLACE(c, PL_FIRST_FIT, cpu_only(5000), 0, 0);      /* n0 has 8000 - 3000 = 5000 cores left */
    PLACE(c, PL_FIRST_FIT, cpu_only(5000), 1, 0);
    pl_totals t;
    pl_cluster_totals(c, &t);
    CHECK_INT(t.gpu_milli, 6000);
    CHECK_INT(t.gpu_milli_used, 300 + 600 + 200 + 2000);
    CHECK_INT(t.cpu_milli_used, 14000);
    CHECK_INT(t.memory_mib_used, 6000);
    pl_cluster_free(c);
}

static void test_best_fit(void)
{
    pl_cluster *c = small();
    /* key = cpu_left x 4000 + gpu_left x 16000: n0 7000x4000 + 1500x16000 = 52e6 < n1 116e6 */
    PLACE(c, PL_BEST_FIT, share(1000, 500), 0, 1);
    /* 600 does not fit on GPU 0 (500 free): n0 GPU 1 (key 38.4e6 < 114.4e6) */
    PLACE(c, PL_BEST_FIT, share(1000, 600), 0, 2);
    /* 400 fits both GPUs (500, 400 free): the tightest, GPU 1 */
    PLACE(c, PL_BEST_FIT, share(1000, 400), 0, 2);
    CHECK_INT(pl_node_gpu_free(c, 0, 0), 500);
    CHECK_INT(pl_node_gpu_free(c, 0, 1), 0);
    /* a CPU-only pod: n2 leaves 0 cores of 4000 (key 0) */
    PLACE(c, PL_BEST_FIT, cpu_only(4000), 2, 0);
    pl_cluster_free(c);
}

static void test_bin_pack_and_spread(void)
{
    pl_cluster *c = small();
    /* allocated after: n0 (1/8 + 500/2000) / 2 = 0.1875, n1 (1/16 + 500/4000) / 2 = 0.09375 */
    PLACE(c, PL_BIN_PACK, share(1000, 500), 0, 1);
    /* a CPU pod: n0 (3/8 + 1/4) / 2 = 0.3125, n1 0.0625, n2 (no GPU) 2/4 = 0.5: most allocated n2 */
    PLACE(c, PL_BIN_PACK, cpu_only(2000), 2, 0);
    pl_cluster_free(c);

    c = small();
    PLACE(c, PL_SPREAD, share(1000, 500), 1, 1);
    /* n0 and n1 both 0.1875 after: a tie, the first in order */
    PLACE(c, PL_SPREAD, share(1000, 500), 0, 1);
    /* n1 0.1625 < n0 0.325: n1, its GPU with the most free share (GPU 1, 1000) */
    PLACE(c, PL_SPREAD, share(1000, 300), 1, 2);
    pl_cluster_free(c);
}

static void test_gpu_memory_best_fit(void)
{
    pl_cluster *c = small();
    /* 700 left on the GPU either way; then the node's free share: n0 1700 < n1 3700 */
    PLACE(c, PL_GPU_MEMORY_BEST_FIT, share(1000, 300), 0, 1);
    /* n0 GPU 0 leaves 100, n1 leaves 400 */
    PLACE(c, PL_GPU_MEMORY_BEST_FIT, share(1000, 600), 0, 1);
    /* a CPU pod: least CPU left, n2 (1000) */
    PLACE(c, PL_GPU_MEMORY_BEST_FIT, cpu_only(3000), 2, 0);
    pl_cluster_free(c);
}

static void test_constraints(void)
{
    pl_cluster *c = small();
    pl_spot s;
    pl_pod p = share(1000, 500);
    p.models = UINT64_C(1) << 1; /* model 1 only: no such node */
    for (int pol = 0; pol < PL_POLICY_COUNT; pol++) {
        fs_rng *rng = fs_rng_new(1, FS_STREAM_PLACEMENT, 0);
        CHECK_INT(pl_place(c, (enum pl_policy)pol, &p, rng, &s), -1);
        fs_rng_free(rng);
    }
    p = cpu_only(20000); /* more cores than any node */
    CHECK_INT(pl_place(c, PL_BEST_FIT, &p, NULL, &s), -1);
    p = (pl_pod){0, 40000, 0, 0, ANY}; /* more memory than any node */
    CHECK_INT(pl_place(c, PL_BEST_FIT, &p, NULL, &s), -1);
    p = (pl_pod){1000, 20000, 0, 0, ANY}; /* memory only n1 has */
    PLACE(c, PL_FIRST_FIT, p, 1, 0);
    p = whole(1000, 4);
    PLACE(c, PL_FIRST_FIT, p, 1, 15);
    p = whole(1000, 3); /* 4-GPU node taken, 2-GPU node too small */
    CHECK_INT(pl_place(c, PL_FIRST_FIT, &p, NULL, &s), -1);
    pl_totals t;
    pl_cluster_totals(c, &t); /* failures changed nothing */
    CHECK_INT(t.gpu_milli_used, 4000);
    CHECK_INT(t.cpu_milli_used, 2000);
    CHECK_INT(t.memory_mib_used, 21000);
    pl_cluster_reset(c);
    pl_cluster_totals(c, &t);
    CHECK_INT(t.gpu_milli_used + t.cpu_milli_used + t.memory_mib_used, 0);
    pl_cluster_free(c);
}

static void test_random_and_order(void)
{
    pl_node_spec n[2] = {{1000000, 1000000, 0, -1}, {1000000, 1000000, 0, -1}};
    int count[2] = {0, 0}, seq1[50], seq2[50];
    for (int run = 0; run < 2; run++) {
        pl_cluster *c = pl_cluster_new(n, 2);
        fs_rng *rng = fs_rng_new(7, FS_STREAM_PLACEMENT, 0);
        for (int i = 0; i < 400; i++) {
            pl_pod p = cpu_only(1);
            pl_spot s;
            CHECK_INT(pl_place(c, PL_RANDOM, &p, rng, &s), 0);
            if (i < 50) (run ? seq2 : seq1)[i] = s.node;
            if (run == 0) count[s.node]++;
        }
        fs_rng_free(rng);
        pl_cluster_free(c);
    }
    CHECK(memcmp(seq1, seq2, sizeof seq1) == 0); /* same seed, same choices */
    CHECK(count[0] > 140 && count[1] > 140);     /* both nodes drawn (binomial(400, 1/2)) */

    /* a shuffled order decides ties: the first node visited wins */
    pl_node_spec m[4] = {{8000, 8000, 1, 0}, {8000, 8000, 1, 0}, {8000, 8000, 1, 0}, {8000, 8000, 1, 0}};
    pl_cluster *c = pl_cluster_new(m, 4);
    fs_rng *rng = fs_rng_new(3, FS_STREAM_PLACEMENT, 0);
    pl_cluster_shuffle(c, rng);
    pl_spot a, b;
    pl_pod p = whole(1000, 1);
    CHECK_INT(pl_place(c, PL_FIRST_FIT, &p, NULL, &a), 0);
    pl_cluster_reset(c); /* the order stays */
    CHECK_INT(pl_place(c, PL_BEST_FIT, &p, NULL, &b), 0);
    CHECK_INT(a.node, b.node);
    fs_rng_free(rng);
    pl_cluster_free(c);
}

/* The workload: 2 pods asking for half a GPU, 1 for a whole GPU, 1 for CPU only (all 1 core but
 * the CPU pod, 2 cores): 3 types, weights 2, 1, 1 of 4. */
static void fgd_workload(pl_cluster *c)
{
    pl_pod w[4] = {share(1000, 500), share(1000, 500), whole(1000, 1), cpu_only(2000)};
    pl_cluster_set_workload(c, w, 4);
    size_t covered = 0;
    CHECK_INT(pl_cluster_workload_types(c, &covered), 3);
    CHECK_INT(covered, 4);
}

static void test_fgd_fragmentation(void)
{
    /* A and B: 8 cores, 2 GPUs; C: half a core, 2 GPUs */
    pl_node_spec n[3] = {{8000, 16000, 2, 0}, {8000, 16000, 2, 0}, {500, 16000, 2, 0}};
    pl_cluster *c = pl_cluster_new(n, 3);
    CHECK_NEAR(pl_node_frag(c, 0), 0, 0); /* no workload yet */
    fgd_workload(c);
    /* Empty A: the CPU type cannot use GPUs (2000 x 1); both GPU types fit, leaving nothing
     * fragmented: (2000 x 1) / 4 = 500. C: no GPU type gets a core: (2000 x 4) / 4 = 2000. */
    CHECK_NEAR(pl_node_frag(c, 0), 500, 1e-9);
    CHECK_NEAR(pl_node_frag(c, 2), 2000, 1e-9);
    pl_totals t;
    pl_cluster_totals(c, &t);
    CHECK_NEAR(t.frag_milli, 3000, 1e-9);
    /* Half a GPU on empty A or B: L = [500, 1000]: CPU type 1500; half-GPU type fits, 0; the
     * whole-GPU type fits on GPU 1 and cannot use GPU 0's 500: 500. (1500 + 500) / 4 = 500,
     * no increase either way (score 50): the first node, the first of two equal GPUs. */
    PLACE(c, PL_FGD, share(1000, 500), 0, 1);
    CHECK_NEAR(pl_node_frag(c, 0), 500, 1e-9);
    /* Another half: on A's GPU 0, L = [0, 1000] gives 1000 / 4 = 250 (decrease 0.25 GPU, score
     * floor(100 / (1 + e^-0.25)) = 56); on A's GPU 1, L = [500, 500] leaves no whole GPU:
     * (1000 + 1000) / 4 = 500 (score 50); on B, 500 (score 50). FGD takes A, GPU 0. */
    PLACE(c, PL_FGD, share(1000, 500), 0, 1);
    CHECK_NEAR(pl_node_frag(c, 0), 250, 1e-9);
    CHECK_INT(pl_node_gpu_free(c, 0, 0), 0);
    pl_cluster_totals(c, &t);
    CHECK_NEAR(t.frag_milli, 250 + 500 + 2000, 1e-9);
    pl_cluster_free(c);

    /* a type restricted to a model the node is not: all the node's idle share is fragmented */
    pl_node_spec one = {8000, 16000, 2, 0};
    c = pl_cluster_new(&one, 1);
    pl_pod w = share(1000, 500);
    w.models = UINT64_C(1) << 1;
    pl_cluster_set_workload(c, &w, 1);
    CHECK_NEAR(pl_node_frag(c, 0), 2000, 1e-9);
    pl_cluster_free(c);
}

/* FGD keeps its per-node cache right as nodes change: compare each placement with a fresh
 * cluster that replays the same placements before (no cache carried over). */
static void test_fgd_cache(void)
{
    pl_node_spec n[4] = {{16000, 64000, 4, 0}, {16000, 64000, 4, 0}, {8000, 32000, 2, 0}, {4000, 16000, 0, -1}};
    pl_pod pods[12] = {share(1000, 500), share(2000, 250), whole(1000, 1), cpu_only(3000), share(1000, 500),
                       whole(2000, 2), share(1000, 750), cpu_only(1000), share(1000, 250), share(2000, 500),
                       whole(1000, 1), share(1000, 500)};
    pl_cluster *c = pl_cluster_new(n, 4);
    pl_cluster_set_workload(c, pods, 12);
    for (int i = 0; i < 12; i++) {
        pl_cluster *fresh = pl_cluster_new(n, 4);
        pl_cluster_set_workload(fresh, pods, 12);
        pl_spot s, f;
        for (int k = 0; k < i; k++) CHECK_INT(pl_place(fresh, PL_FGD, &pods[k], NULL, &f), 0);
        int a = pl_place(c, PL_FGD, &pods[i], NULL, &s), b = pl_place(fresh, PL_FGD, &pods[i], NULL, &f);
        CHECK_INT(a, b);
        CHECK_INT(s.node, f.node);
        CHECK_INT(s.gpus, f.gpus);
        pl_cluster_free(fresh);
    }
    pl_cluster_free(c);
}

/* ---- openb ---- */

static void test_openb_load(void)
{
    openb_trace t;
    fs_error err;
    int rc = openb_load(&t, FS_TEST_DATA "/cluster/nodes.csv", FS_TEST_DATA "/cluster/pods.csv", &err);
    CHECK_INT(rc, 0);
    if (rc) return;
    CHECK_INT(t.nnodes, 6);
    CHECK_INT(t.nmodels, 2);
    CHECK_STR(t.models[0], "A100");
    CHECK_STR(t.models[1], "T4");
    CHECK_INT(t.gpu_milli, 23000);
    CHECK_INT(t.nodes[5].gpus, 0);
    CHECK_INT(t.nodes[5].model, -1);
    CHECK_INT(t.nodes[2].model, 1);
    CHECK_INT(t.npods, 16);
    CHECK_INT(t.demand_milli, 19750);
    CHECK(t.pods[0].models == ANY);
    CHECK_INT(t.pods[5].models, 1);  /* A100 */
    CHECK_INT(t.pods[6].models, 2);  /* T4 */
    CHECK_INT(t.pods[11].models, 3); /* A100|T4 */
    CHECK_INT(t.pods[15].num_gpu, 8);
    CHECK_INT(t.pods[3].num_gpu, 0);
    openb_fini(&t);
}

static int64_t seq_demand(const openb_trace *t, const size_t *s, size_t n)
{
    int64_t d = 0;
    for (size_t i = 0; i < n; i++) d += (int64_t)t->pods[s[i]].num_gpu * t->pods[s[i]].gpu_milli;
    return d;
}

static void test_openb_arrivals(void)
{
    openb_trace t;
    fs_error err;
    if (openb_load(&t, FS_TEST_DATA "/cluster/nodes.csv", FS_TEST_DATA "/cluster/pods.csv", &err)) {
        CHECK(!"fixtures load");
        return;
    }
    size_t *a, *b, *c;
    size_t na = openb_arrivals(&t, 1, 130, &a), nb = openb_arrivals(&t, 1, 130, &b), nc = openb_arrivals(&t, 2, 130, &c);
    CHECK_INT(na, nb);
    CHECK(memcmp(a, b, na * sizeof *a) == 0); /* same seed, same arrivals */
    CHECK(na != nc || memcmp(a, c, na * sizeof *a) != 0);
    /* the listed pods first, each once, in shuffled order; then draws up to 130% of 23 GPUs */
    int seen[16] = {0}, moved = 0;
    for (size_t i = 0; i < 16; i++) {
        CHECK(a[i] < 16);
        seen[a[i] % 16]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 16; i++) CHECK_INT(seen[i], 1);
    CHECK(moved > 0);
    CHECK(na > 16);
    for (size_t i = 16; i < na; i++) CHECK(a[i] < 16);
    int64_t d = seq_demand(&t, a, na);
    CHECK(d * 100 <= 23000 * 130);
    CHECK(d * 100 > 23000 * 130 - 8000 * 100); /* stopped by a draw that would pass it */
    free(a);
    free(b);
    free(c);
    /* above the load: pods leave at random until the demand fits */
    size_t nd = openb_arrivals(&t, 1, 40, &a);
    CHECK(nd < 16);
    CHECK(seq_demand(&t, a, nd) * 100 <= 23000 * 40);
    free(a);
    openb_fini(&t);
}

static void test_openb_replay(void)
{
    openb_trace t;
    fs_error err;
    if (openb_load(&t, FS_TEST_DATA "/cluster/nodes.csv", FS_TEST_DATA "/cluster/pods.csv", &err)) {
        CHECK(!"fixtures load");
        return;
    }
    for (int pol = 0; pol < PL_POLICY_COUNT; pol++) {
        openb_opts o = {(enum pl_policy)pol, 5, 4, 130};
        openb_result r1, r2;
        openb_replay(&t, &o, &r1);
        openb_replay(&t, &o, &r2);
        CHECK_INT(r1.npoints, 13);
        CHECK(r1.final.gpu_alloc_pct == r2.final.gpu_alloc_pct && r1.final.frag_gpus == r2.final.frag_gpus);
        CHECK(r1.final.arrived_pct <= 130 && r1.final.arrived_pct > 130 - 100.0 * 8 / 23);
        CHECK(r1.final.gpu_alloc_pct <= r1.final.arrived_pct + 1e-9);
        CHECK_NEAR(r1.final.unalloc_gpus, 23 * (1 - r1.final.gpu_alloc_pct / 100), 1e-9);
        CHECK(r1.final.frag_gpus <= r1.final.unalloc_gpus + 1e-9);
        CHECK(r1.failed >= r1.failed_gpu_pods);
        for (int i = 0; i < r1.npoints; i++) {
            CHECK_NEAR(r1.points[i].f.arrived_pct, 10 * (i + 1), 0);
            CHECK(r1.points[i].seeds == r2.points[i].seeds && r1.points[i].f.gpu_alloc_pct == r2.points[i].f.gpu_alloc_pct);
            if (r1.points[i].seeds) CHECK(r1.points[i].f.gpu_alloc_pct <= 10 * (i + 1) + 1.5);
        }
    }
    openb_fini(&t);
}

/* ---- bad input ---- */

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[2][128];
    static int k;
    char *p = path[k++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static const char good_nodes[] = "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16000,2,T4\n";
static const char good_pods[] = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,1000,1,500,\n";

/* Load nodes/pods text; expect failure at file `which` (0 nodes, 1 pods), line, column and a
 * message holding `msg`. */
static void bad(const char *nodes, const char *pods, int which, int line, int col, const char *msg)
{
    const char *np = write_file("nodes.csv", nodes), *pp = write_file("pods.csv", pods);
    openb_trace t;
    fs_error err;
    fs_error_clear(&err);
    int rc = openb_load(&t, np, pp, &err);
    CHECK_INT(rc, -1);
    if (rc == 0) {
        openb_fini(&t);
        return;
    }
    CHECK_STR(err.source, which ? pp : np);
    CHECK_INT(err.line, line);
    CHECK_INT(err.column, col);
    CHECK_CONTAINS(err.msg, msg);
}

static void test_openb_errors(void)
{
    snprintf(dir, sizeof dir, "/tmp/fs_test_place_XXXXXX");
    if (!mkdtemp(dir)) SKIP("no temporary folder");
    bad("sn,cpu_milli,mem,gpu,model\nn1,1,1,1,T4\n", good_pods, 0, 1, 0,
        "expected a column named 'memory_mib' in the header, found: sn, cpu_milli, mem, gpu, model");
    bad("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16000,2,T4\nn2,8000,abc,2,T4\n", good_pods, 0, 3, 3,
        "column 'memory_mib': expected an integer 0..1000000000000, got 'abc'");
    bad("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16000,65,T4\n", good_pods, 0, 2, 4,
        "column 'gpu': expected an integer 0..64, got '65'");
    bad("sn,cpu_milli,memory_mib,gpu,model\nn1,-8000,16000,2,T4\n", good_pods, 0, 2, 2, "got '-8000'");
    bad("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16000,2,nan\n", good_pods, 0, 2, 5,
        "expected the GPU model of a node with 2 GPUs, got 'nan'");
    bad("sn,cpu_milli,memory_mib,gpu,model\n\nn1,8000,16000\n", good_pods, 0, 3, 0,
        "expected 5 fields as in the header, found 3");
    bad("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16000,0,\n", good_pods, 0, 0, 0, "no node has a GPU");
    bad("sn,cpu_milli,memory_mib,gpu,model\n", good_pods, 0, 1, 0, "no nodes after the header");
    bad("", good_pods, 0, 0, 0, "the file is empty");
    bad("sn,cpu_milli,memory_mib,gpu,model\n\"n1,8000,16000,2,T4\n", good_pods, 0, 2, 1, "malformed CSV");
    bad(good_nodes, "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,1000,1,1500\n", 1, 2, 5,
        "column 'gpu_milli': expected an integer 0..1000, got '1500'");
    bad(good_nodes, "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,1000,1,0\n", 1, 2, 5,
        "expected 1..1000 for a pod with num_gpu 1, got '0'");
    bad(good_nodes, "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,1000,0,300\n", 1, 2, 5,
        "expected 0 for a pod with num_gpu 0, got '300'");
    bad(good_nodes, "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1.5,1000,0,0\n", 1, 2, 2,
        "column 'cpu_milli': expected an integer 0..1000000000000, got '1.5'");
    bad(good_nodes, "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,1000,0,0\n", 1, 0, 0,
        "no pod asks for a GPU");
    bad(good_nodes, "name,cpu_milli,num_gpu,gpu_milli\n", 1, 1, 0, "expected a column named 'memory_mib'");
    /* a missing file */
    openb_trace t;
    fs_error err;
    CHECK_INT(openb_load(&t, "/nonexistent/nodes.csv", "/nonexistent/pods.csv", &err), -1);
    CHECK_STR(err.source, "/nonexistent/nodes.csv");
    CHECK_CONTAINS(err.msg, "cannot open: ");
    /* the good pair loads; CRLF, a byte order mark, quotes and "nan" are fine */
    const char *np = write_file("nodes.csv", "\xEF\xBB\xBFsn,cpu_milli,memory_mib,gpu,model\r\n\"n,1\",8000,16000,2,T4\r\n");
    const char *pp = write_file("pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,1000,1,500,nan\n"
                                            "p2,1000,1000,1,500,V100|T4\np3,1000,1000,1,500,V100\n");
    CHECK_INT(openb_load(&t, np, pp, &err), 0);
    CHECK(t.pods[0].models == ANY);
    CHECK_INT(t.pods[1].models, 1);
    CHECK_INT(t.pods[2].models, 0); /* only a model absent from the node list: fits nowhere */
    openb_fini(&t);
    unlink(np);
    unlink(pp);
    rmdir(dir);
}

int main(void)
{
    RUN(test_names);
    RUN(test_first_fit);
    RUN(test_best_fit);
    RUN(test_bin_pack_and_spread);
    RUN(test_gpu_memory_best_fit);
    RUN(test_constraints);
    RUN(test_random_and_order);
    RUN(test_fgd_fragmentation);
    RUN(test_fgd_cache);
    RUN(test_openb_load);
    RUN(test_openb_arrivals);
    RUN(test_openb_replay);
    RUN(test_openb_errors);
    return DONE();
}
