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
 * curve in the shape: gemm_eff x m / (m + gemm_m_half) x n / (n + gemm_n_half) x k / (k +
 * gemm_k_half), m the rows (tokens). Prefill attention counts causal query-key pairs with each
 * chunk's queries padded by attn_pad (the kernel's query blocks).
 *
 * With attn_waves the attention operators are modelled as FlashAttention 2 runs them (its
 * split-KV kernel, which vLLM uses over a paged KV cache), from its own geometry: a CTA works on
 * tiles of 64 query rows x BN keys (BN = 256, 128, 64 for head sizes up to 64, 128, larger), each
 * tile taking t = 4 x 64 x BN x head_dim x SMs x attn_sm_share / (peak x attn_eff) of the CTA's
 * time, and an SM runs attn_sm_share CTAs at once, so that CTAs run in W = CTAs / (SMs x
 * attn_sm_share) waves (at least one).
 *   Decode: with grouped heads FlashAttention folds each KV head's group of query heads into the
 * query rows, so a sequence has kv_heads work units (heads without grouping: heads units, never
 * split), and splits each unit's KV into s parts by its heuristic: none when the units fill 80%
 * of 2 x SMs, else the s that fills those slots best (within 85%), never more than the KV
 * blocks n = ceil(ctx / BN). A CTA (unit x split) costs attn_unit_us plus its blocks x t; the
 * call takes max(W x (attn_unit_us + blocks x t), KV and query bytes / (bandwidth x
 * attn_mem_eff)) plus attn_us, attn_seq_us per sequence, the combine kernel when split
 * (attn_combine_us plus the fp32 partial outputs read by its CTAs of 4 rows) and, with grouped
 * heads, several KV heads and several sequences, the two layout copies of the queries and outputs
 * (attn_copy_us plus their bytes).
 *   Prefill: chunks of c queries after o earlier tokens run ceil(c / 64) CTAs per head, the i-th
 * reading ceil((o + min(64 (i + 1), c)) / BN) KV blocks (the causal triangle in whole tiles); the
 * call takes max(tiles x t / (SMs x attn_sm_share), the longest CTA's blocks x t) plus the KV
 * bytes / (bandwidth x attn_mem_eff), attn_query_us of SM time per query token and head over
 * the SMs, attn_prefill_us and kernel_us. A batch's chunks count as its average chunk; a call
 * whose chunks are all one token is the decode path (FlashAttention's, for max_seqlen_q = 1).
 *
 * With CUDA graphs the token
 * count is padded up to the next capture size (vLLM's list: 1, 2, 4, 8, 16, ... 256, 272, ...),
 * as vLLM pads it. CPU scheduling time per iteration overlaps the GPU step with async scheduling
 * (the step is max(GPU, CPU)), else it adds.
 *
 * st_prepare computes everything that depends on the batch's shape; st_step_fx then gives the
 * exact iteration time at a decode context (see below), so a caller advancing many decode-only
 * iterations of one shape prepares once.
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
    int16_t splits_memo[512]; /* attn_waves: FlashAttention's split count by work units (0: not yet) */
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
        double call, unit;
        int64_t max_key;          /* the largest split key (0: 32) */
        bool waves;               /* the wave model (attn_waves); below, its terms */
        int64_t max_splits;       /* FlashAttention's split count at long contexts */
        double units, slots;      /* work units (CTAs per split), CTAs the SMs run at once */
        double tile, cta;         /* seconds of a CTA per KV block, and fixed per CTA */
        double comb, comb_split;  /* combine kernel: fixed seconds, and per split */
    } attn;
} st_prepared;

void st_prepare(const st_model *m, const st_batch *b, st_prepared *p);

/*
 * Exact iteration times. The step time is kept in integer units of 2^-ST_FRAC ns ("fx") and is
 * the maximum of a few lines in the total decode context ctx: p + q x ctx, one per regime
 * (attention compute-bound (wave model: SM-bound), attention memory-bound, CPU-bound under async
 * scheduling), the attention lines depending on the split key. Being exact and piecewise affine, the time of
 * many decode iterations has a closed form (sim/model/decoderun.h) that equals the sum of the
 * single iterations to the last fx. A step never exceeds ST_FX_MAX (about 19.5 hours).
 */
#define ST_FRAC 16
#define ST_FX_MAX ((int64_t)1 << 62)
__extension__ typedef __int128 st_i128;
typedef struct st_line {
    int64_t p, q; /* fx, and fx per context token; 0 <= p, q <= ST_FX_MAX */
} st_line;

/* The split key at total decode context ctx: the ceiling of ctx / per_split, at most max_key
 * (32 when 0). It is the split count per sequence in the closed-form model (splits of 512 tokens);
 * in the wave model, the KV blocks per sequence (per_split = sequences x BN) up to the first count
 * at which FlashAttention's split count stops growing, which sets the split count (min(key,
 * max_splits)) and whether each CTA has one block. A step function of ctx, nondecreasing. */
static inline int64_t st_splits(const struct attn_consts *a, int64_t ctx)
{
    int64_t s = (ctx + a->per_split - 1) / a->per_split, top = a->max_key > 0 ? a->max_key : 32;
    return s > top ? top : s;
}
/* The largest context with split key `splits` (INT64_MAX at the top). */
static inline int64_t st_splits_last(const struct attn_consts *a, int64_t splits)
{
    return splits < (a->max_key > 0 ? a->max_key : 32) ? splits * a->per_split : INT64_MAX;
}

/* The lines (1 to 3, returned count) whose maximum is the step of the prepared batch at any
 * context with split key `splits`. */
int st_lines(const st_prepared *p, int64_t splits, st_line out[3]);

/* A line's value at ctx, saturated at ST_FX_MAX. */
static inline int64_t st_line_at(st_line l, int64_t ctx)
{
    st_i128 v = (st_i128)l.q * ctx + l.p;
    return v > ST_FX_MAX ? ST_FX_MAX : (int64_t)v;
}

/* The step of a prepared batch at total decode context ctx, in fx: the largest of its lines (at
 * least 1). */
int64_t st_step_fx(const st_prepared *p, int64_t ctx);

/* st_step_fx of a batch, rounded to nanoseconds (for single iterations and operator checks). */
fs_time st_step(const st_model *m, const st_batch *b);
double st_step_fixed(const st_model *m, const st_batch *b); /* GPU seconds, all but decode attention */

/* Single operators on raw shapes (for validating against measured kernels and calibrating).
 * Seconds. Decode: `batch` sequences of ctx KV tokens each (the new token included). Prefill:
 * `batch` chunks of len tokens, each after `past` earlier tokens. Elementwise: a kernel moving
 * `bytes` (read plus written). All-reduce: `bytes` per rank over the config's tp ranks. */
double st_gemm(const st_model *m, double rows, double n, double k);
double st_attention_decode_op(const st_model *m, double batch, double ctx, double heads, double kv_heads,
                              double head_dim);
double st_attention_prefill_op(const st_model *m, double batch, double len, double past, double heads,
                               double kv_heads, double head_dim);
double st_elementwise(const st_model *m, double bytes);
double st_allreduce(const st_model *m, double bytes);

/* Weight bytes per GPU of a model at a dtype and TP degree. */
double st_weight_bytes_per_gpu(const model_spec *model, enum st_dtype weights, int tp);

/* KV-cache blocks as vLLM sizes them when not told: (memory x gpu_memory_utilization - weights -
 * peak activations of a max_num_batched_tokens forward pass and of sampling max_num_seqs
 * sequences - memory outside PyTorch) / bytes per block. May be <= 0 (the model does not fit). */
long long st_kv_blocks(const model_spec *model, const gpu_spec *gpu, int tp, enum st_dtype weights, enum st_dtype kv,
                       double util, int block_size, int max_batched_tokens, int max_seqs);

#endif
