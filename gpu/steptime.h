/*
 * steptime.h — how long one engine iteration takes on a GPU: the step-time model.
 *
 * An iteration runs the model once over a batch: chunks of prompts being prefilled (each with
 * its context offset) and sequences decoding one token (each with its context length). Its GPU
 * time is summed per operator and layer: QKV, O and MLP GEMMs (MoE: the experts' FLOPs by top-k
 * and the expert weights actually touched), prefill and decode attention, norms, rotary
 * embedding and activations, the embedding and LM head, and two tensor-parallel all-reduces per
 * layer. Each operator costs
 *
 *     max(FLOPs / (peak x compute efficiency), bytes / (bandwidth x memory efficiency)) + fixed
 *
 * with the efficiencies and fixed costs taken from the GPU entry (gpu_perf). GEMM efficiency is a
 * curve in the number of rows m: gemm_eff x m / (m + gemm_m_half). With CUDA graphs the token
 * count is padded up to the next capture size (vLLM's list: 1, 2, 4, 8, 16, ... 256, 272, ...),
 * as vLLM pads it. CPU scheduling time per iteration overlaps the GPU step with async scheduling
 * (the step is max(GPU, CPU)), else it adds.
 *
 * The whole iteration time is an integer number of nanoseconds. st_step is st_prepare (everything
 * that depends on the batch's shape) followed by st_step_at (the part that depends on the decode
 * contexts), so a caller advancing many decode-only iterations of one shape prepares once and
 * gets bit-identical results: st_step_at(&p, ctx) == st_step(m, batch with decode_ctx = ctx).
 *
 * Ownership: st_model holds pointers to the catalog entries it was made from; they must outlive
 * it. It is plain data (no allocation), initialised by st_model_init; st_prepare fills its memo
 * of decode-only batches (a cache of st_step_fixed: results are the same with or without it).
 */
#ifndef FS_STEPTIME_H
#define FS_STEPTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "fs_time.h"

enum st_dtype { ST_BF16, ST_FP8, ST_INT4 };

typedef struct st_config {
    const model_spec *model;
    const gpu_spec *gpu;
    int tp;                    /* tensor-parallel degree: 1, 2, 4, 8 */
    enum st_dtype weights;     /* bf16, fp8, int4 (W4A16) */
    enum st_dtype kv;          /* bf16 or fp8 */
    bool cuda_graphs;
    int max_capture;           /* largest CUDA-graph capture size (tokens) */
    bool async_scheduling;
    double compute_share;      /* fraction of the GPU's compute this replica gets (1: whole GPU) */
    double bandwidth_share;    /* likewise for memory bandwidth */
} st_config;

typedef struct st_model {
    st_config cfg;
    /* per-GPU shapes */
    double q_heads, kv_heads, head_dim, hidden, qkv_n, o_k, inter, vocab;
    double experts, topk, moe_inter;
    double w_bytes, kv_bytes;
    double peak, attn_peak, bw, link_bw; /* FLOP/s, B/s after shares */
    double sms;                          /* streaming multiprocessors this replica gets */
    int layers;
#define ST_MEMO 1025
    double memo[ST_MEMO]; /* st_step_fixed of decode-only batches by size (0: not yet) */
} st_model;

/* One iteration's batch, summarised. */
typedef struct st_batch {
    int32_t prefill_tokens;     /* tokens of prompt chunks */
    int32_t decodes;            /* sequences decoding one token */
    int32_t seqs;               /* sequences in the batch (prefilling + decoding) */
    int32_t logits;             /* sequences sampling a token at the end of this iteration */
    double prefill_pairs;       /* causal query-key pairs: sum over chunks of c*o + c(c+1)/2 */
    double prefill_kv;          /* KV tokens read by prefill: sum of o + c */
    double decode_ctx;          /* sum of decode context lengths */
} st_batch;

void st_model_init(st_model *m, const st_config *cfg);

/* vLLM's CUDA-graph capture sizes: [1, 2, 4] + steps of 8 to 256 + steps of 16 to max. */
int st_capture_size(int tokens, int max_capture);

/* A batch shape prepared for repeated evaluation at growing decode contexts. */
typedef struct attn_consts attn_consts;
typedef struct st_prepared {
    double fixed;                 /* GPU seconds of everything but decode attention */
    double layers, cpu;
    int32_t decodes;
    bool async;
    struct attn_consts {          /* decode attention per layer (see steptime.c) */
        double kc, kb1, kb0, per;
        int64_t per_split;
        double inv_share[33];
        double call;
    } attn;
} st_prepared;

fs_time st_step(const st_model *m, const st_batch *b);
void st_prepare(const st_model *m, const st_batch *b, st_prepared *p);

/* Splits per sequence for a total decode context ctx (an integer held in a double): the ceiling of
 * ctx / per_split, at most 32. A caller stepping ctx up may track it incrementally instead. */
static inline int64_t st_splits(const struct attn_consts *a, double ctx)
{
    int64_t s = ((int64_t)ctx + a->per_split - 1) / a->per_split;
    return s > 32 ? 32 : s;
}

/* Decode attention of one layer at total context ctx with `splits` splits per sequence. */
static inline double st_attn_eval(const struct attn_consts *a, double ctx, int64_t splits)
{
    double c = ctx * a->kc, b = (ctx * a->kb1 + a->kb0) * a->inv_share[splits];
    return (c > b ? c : b) + a->call;
}

/* The iteration time at total decode context ctx (splits = st_splits(&p->attn, ctx)). */
static inline fs_time st_step_at_splits(const st_prepared *p, double decode_ctx, int64_t splits)
{
    double gpu = p->fixed;
    if (p->decodes > 0) gpu += p->layers * st_attn_eval(&p->attn, decode_ctx, splits);
    double step = p->async ? (gpu > p->cpu ? gpu : p->cpu) : gpu + p->cpu;
    return (fs_time)(step * 1e9 + 0.5); /* step > 0: rounds half up */
}

static inline fs_time st_step_at(const st_prepared *p, double decode_ctx)
{
    return st_step_at_splits(p, decode_ctx, p->decodes > 0 ? st_splits(&p->attn, decode_ctx) : 0);
}
double st_step_fixed(const st_model *m, const st_batch *b); /* GPU seconds, all but decode attention */

/* Single operators on raw shapes (for validating against measured kernels). Seconds. */
double st_gemm(const st_model *m, double rows, double n, double k);
double st_attention_decode_op(const st_model *m, double batch, double ctx, double heads, double kv_heads,
                              double head_dim);
double st_attention_prefill_op(const st_model *m, double batch, double len, double heads, double kv_heads,
                               double head_dim);
double st_allreduce(const st_model *m, double bytes);

/* Weight bytes per GPU of a model at a dtype and TP degree. */
double st_weight_bytes_per_gpu(const model_spec *model, enum st_dtype weights, int tp);

/* KV-cache blocks as vLLM sizes them when not told: (memory x gpu_memory_utilization - weights -
 * peak activations of a max_num_batched_tokens forward pass and of sampling max_num_seqs
 * sequences - memory outside PyTorch) / bytes per block. May be <= 0 (the model does not fit). */
long long st_kv_blocks(const model_spec *model, const gpu_spec *gpu, int tp, enum st_dtype weights, enum st_dtype kv,
                       double util, int block_size, int max_batched_tokens, int max_seqs);

#endif
