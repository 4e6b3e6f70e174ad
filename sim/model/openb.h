/*
 * openb.h — Alibaba's openb GPU-sharing cluster traces (Weng et al., "Beware of Fragmentation:
 * Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", ATC'23), replayed the
 * way the paper's simulator (hkust-adsl/kubernetes-scheduler-simulator) replays them.
 *
 * Input: a node list (CSV header with sn,cpu_milli,memory_mib,gpu,model) and a pod list (CSV
 * header with name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,...; gpu_spec optional;
 * other columns, the times included, are read past). Columns are found by name, in any order.
 * A pod's gpu_milli is its share of each of its num_gpu GPUs (1..1000; 1000 = whole GPUs) and 0
 * for a CPU-only pod; gpu_spec lists the GPU models it may use, separated by '|' (empty or "nan":
 * any; model names absent from the node list are ignored, so a pod naming only such models fits
 * nowhere).
 *
 * The replay, for one seed:
 *   1. arrivals: the pod list in an order shuffled by the seed; then, as the paper's workload
 *      "tuning", pods drawn uniformly with replacement from the list are appended while the
 *      total GPU demand stays within load_pct (130) percent of the cluster's GPU capacity: the
 *      first draw that would pass it ends the list (a list already above it loses pods drawn at
 *      random instead). Pods never leave.
 *   2. every pod in turn is placed by the policy (placement.h), CPU, memory, GPU share and
 *      gpu_spec enforced; a pod that fits nowhere is counted as failed and dropped.
 *   3. after each pod: the arrived load (GPU demand of the pods so far, placed or not, in % of
 *      capacity), the GPU allocation ratio (allocated GPU share / capacity), FGD's
 *      fragmentation of the cluster (placement.h) and its ratio to the idle GPU share.
 * FGD's target workload is taken from the pod list as read (not the inflated one), as the paper
 * does. Two RNG streams per seed, both from fs_rng: FS_STREAM_SAMPLING for the shuffle and the
 * draws, FS_STREAM_PLACEMENT for the order nodes are visited in (ties go to the first,
 * placement.h) and the random policy, so every policy sees the same arrivals and node order
 * for a seed.
 *
 * Points, as the paper's analysis scripts compute them: an event counts for point x when its
 * arrived load rounds to x (half to even); the point's value is the mean over those events,
 * or over the events that round to x-1..x+1 when none does; a seed without either has no value
 * there. Points are x = 10, 20, ... load_pct, averaged over the seeds that have them.
 * "Unallocated GPUs" is the paper's y axis of Fig. 9: capacity minus allocated share, in GPUs.
 *
 * Ownership: openb_load fills a caller-owned openb_trace that openb_fini releases; an
 * openb_result is plain storage.
 */
#ifndef FS_OPENB_H
#define FS_OPENB_H

#include <stddef.h>
#include <stdint.h>

#include "fs_error.h"
#include "placement.h"

#define OPENB_STEP_PCT 10
#define OPENB_MAX_LOAD_PCT 1000
#define OPENB_MAX_POINTS (OPENB_MAX_LOAD_PCT / OPENB_STEP_PCT)

typedef struct openb_trace {
    pl_node_spec *nodes;
    int nnodes;
    char *models[PL_MAX_MODELS]; /* model names; pl_node_spec.model indexes them */
    int nmodels;
    pl_pod *pods;
    size_t npods;
    int64_t gpu_milli;           /* the cluster's GPU capacity (> 0) */
    int64_t demand_milli;        /* the pods' total GPU demand (> 0) */
} openb_trace;

/* Read both lists. 0, or -1 with err naming file:line:column and the value (a missing column,
 * a bad number, a GPU count above PL_MAX_GPUS, no node with GPUs, no pod asking for a GPU ...). */
int openb_load(openb_trace *t, const char *nodes_path, const char *pods_path, fs_error *err);
void openb_fini(openb_trace *t);

/* Step 1 for one seed: *seq (malloc'd, the caller frees) gets indices into t->pods; returns
 * their number. 1 <= load_pct <= OPENB_MAX_LOAD_PCT. */
size_t openb_arrivals(const openb_trace *t, uint64_t seed, int load_pct, size_t **seq);

typedef struct openb_figures {
    double arrived_pct;    /* load: arrived GPU demand, % of capacity */
    double gpu_alloc_pct;  /* allocated GPU share, % of capacity */
    double unalloc_gpus;   /* capacity - allocated share, in GPUs */
    double frag_gpus;      /* FGD's fragmentation, in GPUs */
    double frag_ratio_pct; /* fragmentation, % of the idle GPU share */
} openb_figures;

typedef struct openb_point {
    int seeds;             /* seeds with a value here; 0: none (the rest is 0) */
    openb_figures f;       /* f.arrived_pct is the point, 10, 20, ... */
} openb_point;

typedef struct openb_opts {
    enum pl_policy policy;
    uint64_t seed;         /* the first seed */
    int seeds;             /* seeds seed .. seed + seeds - 1 (>= 1) */
    int load_pct;          /* arrivals up to this % of GPU capacity: 130 in the paper */
} openb_opts;

typedef struct openb_result {
    int npoints;
    openb_point points[OPENB_MAX_POINTS];
    openb_figures final;   /* after the last pod; all figures are means over the seeds */
    double pods, failed;   /* arrivals and pods that fit nowhere, per seed */
    double failed_gpu_pods;
    size_t types, types_covered; /* FGD's target workload: task types, pods they stand for */
} openb_result;

void openb_replay(const openb_trace *t, const openb_opts *o, openb_result *r);

#endif
