/*
 * placement.h — GPU nodes, the pods (or replicas) placed on them, and the policies that choose
 * where each one goes.
 *
 * A cluster is a fixed list of nodes. A node has CPU (milli-cores), memory (MiB) and up to
 * PL_MAX_GPUS GPUs of one model; each GPU is shared in thousandths (PL_MILLI = one whole GPU), the
 * way Alibaba's GPU-sharing clusters and the openb traces count it. A pod asks for CPU, memory and
 * either nothing on GPUs, a share of one GPU (num_gpu 1, gpu_milli < 1000), or num_gpu GPUs with
 * gpu_milli each free (whole GPUs when gpu_milli is 1000), optionally on some GPU models only.
 * CPU, memory, GPU share and the model constraint are all enforced: a pod goes to a node only if
 * every one fits. In a placement replay pods never leave; a simulation gives a replica's place back
 * when it stops (pl_unplace) and takes nodes down and up as its pools change.
 *
 * Policies. Every policy considers only the nodes where the pod fits, gives each a key (lower is
 * better) and takes the node with the smallest key. Nodes are visited in the cluster's order
 * (list order, or a seeded permutation after pl_cluster_shuffle) and a tie goes to the first
 * node visited. That is how the paper's simulator behaves: it names nodes with a random prefix
 * per seed, its FirstFit scores every node alike and counts on the scheduler (a patched
 * kube-scheduler 1.20) taking the first in that order, and its published FGD and BestFit runs
 * place every pod up to 90% load, which ties drawn at random (upstream kube-scheduler) would
 * not: spread over empty nodes, 8-GPU pods fail from 56% on. Within the chosen node, a pod
 * asking for several GPUs or for whole GPUs takes the fitting GPUs with the least free share,
 * lowest index first (for whole GPUs: the lowest-index free ones); a pod asking for a share of
 * one GPU takes the GPU named per policy.
 * Only `random` draws from the RNG, so a seed (through the order and random's draws) fixes
 * every choice.
 *
 *   first_fit    the first node in order where the pod fits; the lowest-index GPU that fits.
 *   best_fit     the ATC'23 paper's BestFit: key = cpu_left / max_cpu + gpu_left / max_gpu after
 *                placement, where *_left is the node's free CPU and total free GPU share and
 *                max_* the largest node's capacity (128 cores and 8 GPUs in openb); the tightest
 *                GPU (least free share that fits).
 *   bin_pack     most allocated first: key = -(allocated fraction after placement), the fraction
 *                being the mean of the GPU share fraction (nodes with GPUs) and the CPU fraction;
 *                the tightest GPU.
 *   spread       least allocated first: key = +(the same fraction); the GPU with the most free
 *                share.
 *   gpu_memory_best_fit
 *                best fit on GPU memory. Nodes here carry no GPU memory size (openb gives none),
 *                so a pod's GPU share stands for the same share of the GPU's memory. Key for a
 *                GPU pod: free share left on the GPUs it takes (the tightest ones), then the
 *                node's total free GPU share; for a CPU-only pod: CPU left. The tightest GPU.
 *   random       a node drawn uniformly among those that fit (reservoir sampling over the
 *                visit); for a share of one GPU, a GPU drawn uniformly among those that fit.
 *   fgd          Fragmentation Gradient Descent (Weng et al., ATC'23), scored as the paper's
 *                scheduler scores it: with d the increase of the node's fragmentation (below)
 *                that placing the pod causes, in GPUs, score = floor(100 / (1 + e^d)) (a sigmoid
 *                of the decrease, cut to an integer 0..100) and key = -score. For a share of one
 *                GPU, the GPU with the best score (lowest index among equals). Near d = 0 the
 *                score moves by 1 per 0.04 GPU, so nodes whose increases are that close tie and
 *                go to the first in order. That matters: taking the exact smallest increase
 *                instead allocates about 1 point less of the GPUs at 130% load on openb
 *                gpushare40 (93.1% vs 94.2%, seeds 42..51; the paper reports 94.15%), the ties
 *                being what packs pods onto the nodes visited first.
 *
 * Fragmentation (FGD's measure). The target workload is a list of task types (cpu, gpu_milli,
 * num_gpu, models) with their popularity, taken from a pod list by pl_cluster_set_workload: the
 * most frequent types until they cover 95% of the pods (CPU-only pods included), as the paper's
 * simulator does. For a node with free GPU shares L_1..L_g and free CPU c, and a task type m:
 *   - m asks for no GPU, or the node's model is not allowed to m: all of sum(L) is fragmented;
 *   - else if at least num_gpu GPUs have L_i >= gpu_milli and c >= cpu: the GPUs with
 *     L_i < gpu_milli are fragmented (they cannot host m), the rest can;
 *   - else m does not fit at all and all of sum(L) is fragmented.
 * The node's fragmentation is the popularity-weighted sum over the types; the cluster's is the
 * sum over nodes. Memory is enforced for placement but, as in the paper, not part of this
 * measure. Weights are pod counts, so fragmentation is kept as an exact integer
 * (count x milli); pl_totals reports it in GPU milli.
 *
 * Cost: placing a pod is O(nodes x GPUs per node). FGD keeps each node's fragmentation and, per
 * node and pod shape (cpu, gpu_milli, num_gpu), the last computed score, stamped with the
 * node's version: a placement changes one node, so only that node is recomputed for the next
 * pod of each shape (a full recomputation would cost nodes x task types per pod). On openb
 * (1213 nodes, 11.7k pods) a replay takes 0.03 s of CPU (first_fit) to 0.16 s (spread), fgd
 * 0.1 s.
 *
 * Ownership: pl_cluster_new copies the node specs; the caller owns the cluster and frees it
 * with pl_cluster_free. pl_place never allocates except to grow FGD's cache when a new pod
 * shape appears.
 */
#ifndef FS_PLACEMENT_H
#define FS_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define PL_MILLI 1000          /* one whole GPU, in the share unit */
#define PL_MAX_GPUS 64         /* GPUs per node */
#define PL_MAX_MODELS 63       /* distinct GPU models in one cluster */
#define PL_ANY_MODEL UINT64_MAX
#define PL_TYPICAL_PCT 95      /* FGD's target workload covers this share of the pods */

enum pl_policy {
    PL_FIRST_FIT,
    PL_BEST_FIT,
    PL_BIN_PACK,
    PL_SPREAD,
    PL_GPU_MEMORY_BEST_FIT,
    PL_RANDOM,
    PL_FGD,
    PL_POLICY_COUNT
};

/* "first_fit", ... as above; NULL for a value out of range. */
const char *pl_policy_name(enum pl_policy p);
/* The policy named `name`, or -1. */
int pl_policy_from_name(const char *name);

typedef struct pl_node_spec {
    int64_t cpu_milli;  /* >= 0 */
    int64_t memory_mib; /* >= 0 */
    int gpus;           /* 0..PL_MAX_GPUS */
    int model;          /* 0..PL_MAX_MODELS-1 when gpus > 0, else -1 */
} pl_node_spec;

typedef struct pl_pod {
    int64_t cpu_milli;  /* >= 0 */
    int64_t memory_mib; /* >= 0 */
    int num_gpu;        /* 0 (CPU only) .. PL_MAX_GPUS */
    int gpu_milli;      /* 1..PL_MILLI per GPU when num_gpu > 0, else 0 */
    uint64_t models;    /* bit m: may run on model m; PL_ANY_MODEL: any. Ignored when num_gpu is 0 */
} pl_pod;

/* Where a pod went: the node's index and its GPUs (bit i = GPU i). */
typedef struct pl_spot {
    int node;
    uint64_t gpus;
} pl_spot;

typedef struct pl_totals {
    int64_t gpu_milli, gpu_milli_used;   /* capacity and allocated, in GPU milli */
    int64_t cpu_milli, cpu_milli_used;
    int64_t memory_mib, memory_mib_used;
    double frag_milli;                   /* fragmentation (above) in GPU milli; 0 without a workload */
} pl_totals;

typedef struct pl_cluster pl_cluster;

/* A cluster of n >= 1 empty nodes (specs copied; asserts they are in range). */
pl_cluster *pl_cluster_new(const pl_node_spec *nodes, int n);
void pl_cluster_free(pl_cluster *c);
/* Empty every node; the target workload and the order stay. */
void pl_cluster_reset(pl_cluster *c);
/* Visit the nodes in an order drawn from rng from now on (list order until then). */
void pl_cluster_shuffle(pl_cluster *c, fs_rng *rng);

/* Take FGD's target workload from pods[0..n) (see above) and recompute every node's
 * fragmentation. Until it is called fragmentation is 0 everywhere and fgd ties everywhere. */
void pl_cluster_set_workload(pl_cluster *c, const pl_pod *pods, size_t n);
/* The target workload's task types, and the pods they stand for (for reports and tests). */
size_t pl_cluster_workload_types(const pl_cluster *c, size_t *pods_covered);

/* Place `pod` by `policy`: 0 with *out filled and the cluster updated, or -1 when it fits on no
 * node (nothing changes). `rng` is drawn from by `random` only (NULL is fine for the others). */
int pl_place(pl_cluster *c, enum pl_policy policy, const pl_pod *pod, fs_rng *rng, pl_spot *out);

/* For clusters whose pods come and go (replicas in a simulation): give back what a pod placed
 * at `spot` took; mark a node down (it takes no new pods: not provisioned, failed, cordoned
 * before removal; what it holds stays until unplaced) or up again; and whether a node holds
 * nothing. */
void pl_unplace(pl_cluster *c, const pl_pod *pod, const pl_spot *spot);
void pl_node_set_down(pl_cluster *c, int node, bool down);
bool pl_node_empty(const pl_cluster *c, int node);

void pl_cluster_totals(const pl_cluster *c, pl_totals *t);
/* One node's free share of GPU `gpu`, and its fragmentation in GPU milli. */
int pl_node_gpu_free(const pl_cluster *c, int node, int gpu);
double pl_node_frag(const pl_cluster *c, int node);

#endif
