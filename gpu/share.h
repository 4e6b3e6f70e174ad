/*
 * share.h — what a replica gets of one GPU, and the rules of sharing a GPU without partitioning
 * it: time-slicing and MPS.
 *
 * A gpu_slice holds what the step-time model and the KV-cache sizing need: memory, SMs, and the
 * shares of the whole GPU's compute and memory bandwidth. A caller builds its step-time model
 * and KV cache from one as follows (full is the catalog entry of the whole GPU):
 *
 *     st_config c = {..., .gpu = full, .compute_share = s.compute_share,
 *                    .bandwidth_share = s.bandwidth_share};
 *     whole GPU or MIG instance (mig.h):   gpu_spec g = *full; g.memory_bytes = s.memory_bytes;
 *                                          st_kv_blocks(model, &g, ..., util, ...)
 *     time-sliced or MPS share:            st_kv_blocks(model, full, ..., fraction, ...)
 *
 * The engine of a MIG instance sees the instance as its device and applies its own
 * gpu_memory_utilization to it; the engine of a time-sliced or MPS share sees the whole GPU, and
 * its gpu_memory_utilization is the share's fraction (vLLM reserves fraction x device memory).
 *
 * Time-slicing as NVIDIA's Kubernetes device plugin does it (sharing.timeSlicing.resources[]
 * with `replicas: N`): each GPU is advertised as N allocatable shares; the processes on it take
 * turns on the whole GPU (every SM, all the bandwidth) and nothing isolates their memory. So the
 * co-tenants' memory must fit together (share_check), and a step runs slower while others are
 * busy (share_slowdown).
 *
 * MPS (sharing.mps, or CUDA_MPS_ACTIVE_THREAD_PERCENTAGE per client): clients run at the same
 * time, each on at most its share of the SMs. The SM share scales compute, not memory
 * bandwidth, which the clients share; no time-slicing slowdown applies. Contention for
 * bandwidth among busy clients is not modelled. Memory is not isolated either: share_check
 * applies as for time-slicing.
 *
 * Everything here is plain data and pure functions: no allocation, no state.
 */
#ifndef FS_SHARE_H
#define FS_SHARE_H

#include "catalog.h"
#include "fs_error.h"
#include "fs_time.h"

typedef struct gpu_slice {
    double memory_bytes;    /* memory the replica may fill */
    double sms;             /* streaming multiprocessors it runs on */
    double compute_share;   /* sms / the whole GPU's SMs: st_config.compute_share */
    double bandwidth_share; /* fraction of the GPU's memory bandwidth: st_config.bandwidth_share */
} gpu_slice;

/* The whole GPU: its memory and SMs, shares 1. */
gpu_slice share_whole(const gpu_spec *g);

/* Memory each process holds outside its gpu_memory_utilization budget: the CUDA context that
 * exists before the engine measures the device (vLLM charges to the budget only the non-torch
 * memory added after its first snapshot, init_snapshot). PyTorch's context alone takes about 300 to
 * 430 MiB with lazy module loading (CUDA >= 11.7): ~300 MB and ~400 MB in NVIDIA's answers on
 * pytorch/pytorch#107667 and #109888, 426 MiB measured in unsloth-zoo#1053 (PyTorch 2.10,
 * CUDA 13); a serving engine loads more kernels, hence 500 MiB. */
#define SHARE_CONTEXT_BYTES (500.0 * 1024 * 1024)

/*
 * Check that n co-tenants fit on one GPU shared into `replicas` shares (the device plugin's
 * `replicas: N`): n <= replicas, each fraction (its gpu_memory_utilization) in (0, 1], and
 *
 *     sum(fractions[i]) x g->memory_bytes + n x context_bytes <= g->memory_bytes
 *
 * since sharing does not isolate memory. Returns 0, or -1 with err saying which rule failed and
 * the numbers (source, line and path left empty for the caller to fill).
 */
int share_check(const gpu_spec *g, int replicas, const double *fractions, int n, double context_bytes,
                fs_error *err);

/* A time-sliced share: fraction x the GPU's memory; while it runs, every SM and all the
 * bandwidth (shares 1); scale its step time with share_slowdown. fraction in (0, 1]. */
gpu_slice share_timesliced(const gpu_spec *g, double fraction);

/*
 * The factor by which time-slicing stretches a step: with `busy` co-tenants that have work at
 * the moment (this replica included) each runs at 1/busy speed and pays `overhead` (a fraction,
 * >= 0) for the context switches:
 *
 *     factor = 1                          when busy <= 1 (alone: no switching)
 *     factor = busy x (1 + overhead)      otherwise
 *
 * No measured switch overhead was found to ship as a default: 0 is ideal sharing; calibrate it
 * against a measured co-located run.
 */
double share_slowdown(int busy, double overhead);

/* A step time stretched by share_slowdown, rounded to the nanosecond (exactly `alone` when
 * busy <= 1). */
fs_time share_step(fs_time alone, int busy, double overhead);

/* An MPS client: fraction x the GPU's memory, sm_share x its SMs (compute_share = sm_share),
 * the whole bandwidth (bandwidth_share 1). fraction and sm_share in (0, 1]. */
gpu_slice share_mps(const gpu_spec *g, double fraction, double sm_share);

#endif
