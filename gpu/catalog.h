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
    double gemm_n_half;   /* likewise for the GEMM's output columns n (0: no such loss) */
    double gemm_k_half;   /* likewise for its inner size k: short K loops (0: no such loss) */
    double mem_eff;       /* fraction of memory bandwidth that streaming kernels reach */
    double attn_eff;      /* fraction of peak FLOP/s that prefill (flash) attention reaches */
    double attn_pad;      /* prefill attention works on query blocks: each chunk's queries count
                             as this many more (0: exact causal pairs) */
    double attn_prefill_us; /* fixed cost per prefill-attention call, besides kernel_us */
    double attn_query_us; /* prefill attention: SM time per query token and head */
    double attn_mem_eff;  /* fraction of memory bandwidth that attention's KV and query traffic
                             reaches (decode: with enough work units); 0: mem_eff */
    double attn_us;       /* fixed cost per decode-attention call (split-KV kernel and combine) */
    double attn_seq_us;   /* plus this much per sequence in the call (block tables, scheduling) */
    double attn_unit_us;  /* SM time per sequence and KV head (a work unit's start and end),
                             overlapping the KV reads */
    double attn_sm_share; /* work units (sequence x KV head x KV split) per SM that saturate
                             memory bandwidth; fewer units reach proportionally less */
    bool attn_split_mha;  /* decode splits the KV of models without grouped heads too */
    bool attn_waves;      /* attention as FlashAttention 2 runs it: 64-query x 128-key tiles,
                             its split-KV heuristic and waves of CTAs over the SMs (steptime.h);
                             false: the closed-form model above. In the wave model attn_eff is
                             the tensor efficiency of a tile, attn_sm_share the CTAs an SM runs
                             at once, attn_unit_us a decode CTA's fixed time, attn_query_us the
                             prefill's per query token and head; attn_pad and attn_split_mha are
                             not used */
    double attn_combine_us; /* wave model: fixed cost of the split-KV combine kernel */
    double attn_copy_us;  /* wave model: fixed cost of the query and output layout copies that
                             grouped-query decode makes with several sequences and KV heads */
    double kernel_us;     /* fixed cost per kernel: launch, ramp-up and tail */
    double allreduce_us;  /* fixed latency per tensor-parallel all-reduce */
    double link_eff;      /* fraction of the link bandwidth that all-reduce reaches */
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
/* A catalog with nothing in it, to read a user file on its own. */
catalog *catalog_new_empty(void);
void catalog_free(catalog *c);

/* Add (or replace) entries from a user file. On error nothing is added. */
int catalog_add_file(catalog *c, const char *path, fs_error *err);

/* Write GPU entries as a catalog file, {"_comment": comment, "gpus": [...]}, with every perf
 * parameter spelled out, that catalog_add_file reads back (numbers to 10 significant digits).
 * The file is written whole or not at all (a temporary file renamed over `path`). */
int catalog_write_gpus(const char *path, const gpu_spec *const *gpus, size_t n, const char *comment, fs_error *err);

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
