/*
 * catalog.h — what GPUs and models fleetsim knows: shipped data plus the user's own files.
 *
 * The shipped catalog (gpu/data/gpus.json, gpu/data/models.json) is compiled into the binary,
 * so fleetsim runs from any folder. Users add or override entries with their own JSON files of
 * the same shape (`{"gpus": [...], "models": [...]}`), without recompiling; an entry whose name
 * matches an existing one (case-insensitive, name or alias) replaces it.
 *
 * Names match case-insensitively on the canonical name or any alias. Every entry is validated on
 * load with the JSON path of a bad value (gpus[3].mem_bw_gbs: expected a number > 0, got -1).
 *
 * Ownership: a catalog owns its entries; pointers returned by lookups stay valid until
 * catalog_free (adding a file may move entries: look them up again after catalog_add_file).
 */
#ifndef FS_CATALOG_H
#define FS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "fs_error.h"

/* Parameters of the step-time model that belong to a GPU (see steptime.h). Entries may leave
 * any out; the defaults are generic, not fitted to one GPU. */
typedef struct gpu_perf {
    double gemm_eff;      /* fraction of peak tensor FLOP/s that large GEMMs reach */
    double gemm_m_half;   /* GEMM rows (tokens) at which half of gemm_eff is reached */
    double mem_eff;       /* fraction of memory bandwidth that streaming kernels reach */
    double attn_eff;      /* fraction of peak FLOP/s that prefill (flash) attention reaches */
    double attn_us;       /* fixed cost per decode-attention call (split-KV kernel and combine) */
    double attn_seq_us;   /* plus this much per sequence in the call (block tables, scheduling) */
    double attn_sm_share; /* work units (sequence x KV head x KV split) per SM that saturate
                             memory bandwidth; fewer units reach proportionally less */
    double kernel_us;     /* fixed cost per kernel: launch, ramp-up and tail */
    double allreduce_us;  /* fixed latency per tensor-parallel all-reduce */
    double cpu_step_us;   /* CPU time per engine iteration: scheduling, input preparation */
    double cpu_seq_us;    /* plus this much per sequence in the batch */
} gpu_perf;

typedef struct gpu_spec {
    char name[64];
    char aliases[256];      /* comma-separated */
    double memory_bytes;
    double mem_bw;          /* bytes/s */
    double bf16_flops;      /* dense FLOP/s */
    double fp8_flops;       /* 0 when the GPU has no fp8 tensor cores */
    double int8_ops;
    double tdp_w, idle_w;
    double nvlink_bw;       /* bytes/s per direction; 0 without NVLink */
    double pcie_bw;         /* bytes/s per direction */
    int sm_count;
    bool mig;
    double price_per_hour;  /* USD per GPU-hour, on demand */
    char price_source[128];
    char price_date[16];
    gpu_perf perf;
} gpu_spec;

typedef struct model_spec {
    char name[96];
    char aliases[256];
    int layers, hidden, heads, kv_heads, head_dim, intermediate, vocab;
    int experts, experts_per_token, moe_intermediate; /* 0 for dense models */
    int max_position;
    bool tie_embeddings;
    int dtype_bytes;        /* of the published weights: 2 for bf16/fp16 */
} model_spec;

typedef struct catalog catalog;

/* The shipped catalog. Returns NULL only if the embedded data is broken (a build bug). */
catalog *catalog_new(fs_error *err);
void catalog_free(catalog *c);

/* Add (or replace) entries from a user file. On error nothing is added. */
int catalog_add_file(catalog *c, const char *path, fs_error *err);

const gpu_spec *catalog_gpu(const catalog *c, const char *name);
const model_spec *catalog_model(const catalog *c, const char *name);
size_t catalog_gpu_count(const catalog *c);
const gpu_spec *catalog_gpu_at(const catalog *c, size_t i);
size_t catalog_model_count(const catalog *c);
const model_spec *catalog_model_at(const catalog *c, size_t i);

/* Comma-separated canonical names, for "expected one of ..." messages. */
void catalog_gpu_names(const catalog *c, char *buf, size_t size);
void catalog_model_names(const catalog *c, char *buf, size_t size);

/* Derived model quantities. */
double model_weight_params(const model_spec *m);        /* all weights, embeddings included */
double model_kv_bytes_per_token(const model_spec *m, int tp, double kv_dtype_bytes); /* per GPU */

#endif
