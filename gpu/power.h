/*
 * power.h — a GPU's power draw from the work an engine iteration does: the power model.
 *
 * An iteration's physical work is counted from the model shape alone, as steptime.h counts it
 * but before any efficiency, fixed cost or overlap: per GPU, the FLOPs of the GEMMs (2 x rows x
 * params of each weight matrix, over the rows the kernels run: padded to the CUDA-graph size
 * when graphs are on; MoE: the router, and the experts by top-k), of prefill attention (4 x heads
 * x head size per causal query-key pair) and decode attention (the same per context token), and
 * of the LM head for the sequences that sample; and the bytes that must cross device memory: the
 * weights once per iteration (MoE: the experts a batch touches), the KV read by attention and
 * written for the new tokens, and activations roughly (each operator's inputs and outputs once).
 * Tensor-parallel all-reduces are left out: their bytes cross the link, and the GPU mostly
 * waits on them. From these, at the datasheet ceilings of the replica's share of the GPU:
 *
 *     compute_s = GEMM FLOPs / peak + attention FLOPs / attn_peak     (st_model: after MIG shares)
 *     memory_s  = bytes / bw
 *
 * The activity of an iteration lasting `step` seconds, and the power of each GPU meanwhile:
 *
 *     u = min(1, (w_c x compute_s + w_m x memory_s) / step)
 *     P = idle_w + (tdp_w - idle_w) x u
 *
 * Why two weights and not the busy fraction: an engine is busy all through a decode iteration,
 * but a memory-bound iteration leaves the tensor cores, the largest consumer of dynamic power,
 * mostly idle. A tensor-core GEMM running at peak draws about TDP: w_c = 1. Streaming device
 * memory at full bandwidth keeps HBM, its controllers and the load path busy but little else:
 * w_m = 0.6 by default, a judgement rather than a fit to one GPU. Published measurements put
 * memory-bound decode well below TDP: Splitwise (Patel et al., ISCA 2024, arXiv:2311.18677)
 * finds that token generation underuses compute and can run at lower power than prompt
 * computation; Ma et al. (arXiv:2605.11999) measure decode on a 700 W H200 at 137-300 W, never
 * reaching a power cap. Those are averages over whole iterations, which also hold fixed costs and
 * less than full bandwidth, as u does here: 8 decodes of an 8B model on H100 stream at about
 * mem_eff of the bandwidth for part of their step, u = 0.41 (330 W of 700). Against datasheet
 * ceilings an operator reaching a fraction of peak counts as that fraction: a 2048-token prefill,
 * its GEMMs near gemm_eff of peak, gets u = 0.92; flash attention at attn_eff counts at that.
 * Both weights are parameters (sim_llm.power_w_compute, power_w_memory); calibrate them against
 * measured power where you have it. The busy fraction alone would put every iteration at TDP.
 *
 * Energy: a GPU over a span of T seconds in which its iterations sum to A = sum of u x step
 * (activity-weighted seconds, what the engine accumulates) draws idle_w x T + (tdp_w - idle_w) x A
 * joules.
 *
 * Cost: the work is linear in a batch's shape (rows, tokens, pairs, context, samples; MoE: the
 * experts touched), so pw_model_init folds the model into per-unit figures once, and a batch
 * costs a few multiplications (pw_prepare). compute_s and memory_s are affine in the total
 * decode context (only decode attention depends on it): a prepared shape holds their two lines.
 *
 * Decode-only runs (sim/model/decoderun.h): a batch of D decodes repeated with the total decode
 * context growing by D per iteration. Sums over a run are arithmetic series (pw_run_sum). Where
 * the steps are affine in the iteration too (a decode run's segment), the clamp min(step,
 * activity) can only change sides once, so the sum of u x step has a closed form as well
 * (pw_run_active).
 *
 * Ownership: plain data and pure functions; nothing is allocated. A pw_model copies what it needs
 * from the st_model: it does not point into it.
 */
#ifndef FS_POWER_H
#define FS_POWER_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "steptime.h"

#define PW_W_COMPUTE 1.0 /* activity weight of compute at peak (default) */
#define PW_W_MEMORY 0.6  /* activity weight of memory traffic at full bandwidth (default) */

typedef struct pw_weights {
    double compute, memory;
} pw_weights;

/* The weights given, a value <= 0 meaning its default. */
static inline pw_weights pw_weights_or_default(double compute, double memory)
{
    return (pw_weights){compute > 0 ? compute : PW_W_COMPUTE, memory > 0 ? memory : PW_W_MEMORY};
}

/* A model on a GPU (or a share of one) as the power model sees it: the work per unit of a batch's
 * shape, per GPU and over all layers. */
typedef struct pw_model {
    double gemm_row;     /* FLOPs of the layers' GEMMs per row they run over */
    double weights;      /* bytes of the layers' weights read every iteration (MoE: but the experts') */
    double row_bytes;    /* bytes of the layers' GEMM inputs and outputs per row */
    double token_bytes;  /* bytes of elementwise operators, the KV write and attention's queries and
                            outputs per token, embedding and final norm included */
    double attn_pair;    /* attention FLOPs per causal pair (prefill) or context token (decode) */
    double kv_token;     /* bytes of KV read per KV token (prefill: context and chunk; decode: context) */
    double experts, topk, expert; /* MoE: experts, chosen per token, bytes of one over all layers */
    double head_row;     /* LM head FLOPs per sampling sequence */
    double head;         /* bytes of the LM head's weights, read when any sequence samples */
    double sample_bytes; /* its input and output and sampling's bytes per sampling sequence */
    double inv_peak, inv_attn_peak, inv_bw; /* 1 / the ceilings (st_model: after shares) */
    bool cuda_graphs;    /* GEMM rows padded to the capture size, up to max_capture */
    int max_capture;
} pw_model;

void pw_model_init(pw_model *pm, const st_model *m);

/* One iteration's physical work, per GPU. */
typedef struct pw_work {
    double flops;     /* GEMM and attention FLOPs */
    double bytes;     /* bytes through device memory */
    double compute_s; /* seconds at the compute ceilings (see above) */
    double memory_s;  /* bytes / bandwidth */
} pw_work;

void pw_batch(const pw_model *pm, const st_batch *b, pw_work *out);

/* A batch shape at any total decode context ctx: compute_s = compute0 + compute1 x ctx, and
 * likewise memory_s (the per-token parts are decode attention's; 0 without decodes). */
typedef struct pw_prepared {
    double compute0, compute1;
    double memory0, memory1;
} pw_prepared;

void pw_prepare(const pw_model *pm, const st_batch *b, pw_prepared *p);

/* Activity-weighted seconds of an iteration of `step` seconds: u x step, that is
 * min(step, w_c x compute_s + w_m x memory_s). */
static inline double pw_active(pw_weights w, double compute_s, double memory_s, double step)
{
    double a = w.compute * compute_s + w.memory * memory_s;
    return a < step ? a : step;
}

/* pw_active of a prepared shape at total decode context ctx: a few multiplications. */
static inline double pw_active_at(const pw_prepared *p, pw_weights w, double ctx, double step)
{
    return pw_active(w, p->compute0 + p->compute1 * ctx, p->memory0 + p->memory1 * ctx, step);
}

/* Sums of compute_s and memory_s over n iterations of a prepared shape whose total decode
 * context is ctx1 in the first and grows by dctx per iteration. O(1). */
void pw_run_sum(const pw_prepared *p, double ctx1, double dctx, int64_t n, double *compute_s, double *memory_s);

/* The sum of pw_active over the same n iterations when iteration i (0-based) lasts
 * step0 + dstep x i seconds. Exact per-iteration clamping, O(1): activity minus step is affine
 * in i, so the clamped iterations are a prefix or a suffix of the run. */
double pw_run_active(const pw_prepared *p, pw_weights w, double ctx1, double dctx, int64_t n, double step0,
                     double dstep);

/* Watts of one GPU at activity u (0 <= u <= 1). */
static inline double pw_power_w(const gpu_spec *g, double u) { return g->idle_w + (g->tdp_w - g->idle_w) * u; }

#endif
