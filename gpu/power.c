#include "power.h"

#include <math.h>

#define ACT_BYTES 2.0 /* activations stay bf16 whatever the weights (as in steptime.c) */

/* A GEMM of an n x k weight in every layer: per row 2 n k FLOPs and its input and output; the
 * weight read once. (Per layer here; pw_model_init multiplies by the layers.) */
static void layer_gemm(pw_model *pm, double w_bytes, double n, double k)
{
    pm->gemm_row += 2 * n * k;
    pm->weights += n * k * w_bytes;
    pm->row_bytes += (k + n) * ACT_BYTES;
}

/* The operators of steptime.c's step (st_step_fixed and decode attention), each counted once. */
void pw_model_init(pw_model *pm, const st_model *m)
{
    double h = m->hidden, qh = m->q_heads, kvh = m->kv_heads, d = m->head_dim, wb = m->w_bytes;
    *pm = (pw_model){.experts = m->experts, .topk = m->topk, .inv_peak = 1 / m->peak, .inv_attn_peak = 1 / m->attn_peak,
                     .inv_bw = 1 / m->bw, .cuda_graphs = m->cfg.cuda_graphs, .max_capture = m->cfg.max_capture};
    /* one layer */
    pm->token_bytes = h * 2 * ACT_BYTES                    /* input RMSNorm */
                      + (qh + kvh) * d * 2 * ACT_BYTES     /* rotary */
                      + 2 * kvh * d * (ACT_BYTES + m->kv_bytes) /* KV write */
                      + 2 * qh * d * ACT_BYTES             /* attention's query in, output out */
                      + h * 3 * ACT_BYTES;                 /* residual + RMSNorm */
    layer_gemm(pm, wb, m->qkv_n, h);                       /* QKV */
    layer_gemm(pm, wb, h, m->o_k);                         /* O */
    if (m->experts > 0) {
        double k = m->topk, f = m->moe_inter;
        layer_gemm(pm, wb, m->experts, h);                 /* router */
        /* each row through its top-k experts' gate+up (2f x h) and down (h x f); the weights read
         * are those of the experts the batch touches (count) */
        pm->gemm_row += k * (2 * 2 * f * h + 2 * f * h);
        pm->row_bytes += k * ((h + 2 * f) + (f + h)) * ACT_BYTES;
        pm->expert = 3 * f * h * wb;
    } else {
        layer_gemm(pm, wb, 2 * m->inter, h);               /* gate + up */
        pm->token_bytes += m->inter * 3 * ACT_BYTES;       /* SiLU and mul */
        layer_gemm(pm, wb, h, m->inter);                   /* down */
    }
    pm->attn_pair = 4 * qh * d;                            /* scores and weighted sum */
    pm->kv_token = 2 * kvh * d * m->kv_bytes;              /* K and V */
    /* all layers, then the ends of the model */
    double L = m->layers;
    pm->gemm_row *= L, pm->weights *= L, pm->row_bytes *= L, pm->token_bytes *= L;
    pm->attn_pair *= L, pm->kv_token *= L, pm->expert *= L;
    pm->token_bytes += 2 * h * 2 * ACT_BYTES;              /* embedding lookup, final norm */
    pm->head_row = 2 * m->vocab * h;                       /* LM head */
    pm->head = m->vocab * h * wb;
    pm->sample_bytes = (h + m->vocab) * ACT_BYTES + m->vocab * 4.0; /* its rows; sampling over fp32 logits */
}

/* A batch's work as lines in the total decode context ctx: GEMM FLOPs (at the tensor rate of the
 * weights' dtype), attention FLOPs attn0 + attn1 x ctx (at the bf16 rate) and bytes bytes0 +
 * bytes1 x ctx. */
typedef struct work_lines {
    double gemm, attn0, attn1, bytes0, bytes1;
} work_lines;

static void count(const pw_model *pm, const st_batch *b, work_lines *w)
{
    *w = (work_lines){0};
    double T = b->prefill_tokens + b->decodes;
    if (T <= 0) return;
    double G = T; /* rows the GEMM kernels run over */
    if (pm->cuda_graphs) G = st_capture_size((int)T, pm->max_capture);
    w->gemm = G * pm->gemm_row;
    w->bytes0 = pm->weights + G * pm->row_bytes + T * pm->token_bytes;
    if (pm->experts > 0) /* a batch of G rows touches E (1 - (1 - k/E)^G) experts on average */
        w->bytes0 += pm->experts * (1 - pow(1 - pm->topk / pm->experts, G)) * pm->expert;
    w->attn0 = b->prefill_pairs * pm->attn_pair;
    w->bytes0 += b->prefill_kv * pm->kv_token;
    if (b->decodes > 0) w->attn1 = pm->attn_pair, w->bytes1 = pm->kv_token;
    if (b->logits > 0) {
        w->gemm += b->logits * pm->head_row;
        w->bytes0 += pm->head + b->logits * pm->sample_bytes;
    }
}

void pw_prepare(const pw_model *pm, const st_batch *b, pw_prepared *p)
{
    work_lines w;
    count(pm, b, &w);
    p->compute0 = w.gemm * pm->inv_peak + w.attn0 * pm->inv_attn_peak;
    p->compute1 = w.attn1 * pm->inv_attn_peak;
    p->memory0 = w.bytes0 * pm->inv_bw;
    p->memory1 = w.bytes1 * pm->inv_bw;
}

void pw_batch(const pw_model *pm, const st_batch *b, pw_work *out)
{
    work_lines w;
    count(pm, b, &w);
    double ctx = b->decode_ctx;
    out->flops = w.gemm + w.attn0 + w.attn1 * ctx;
    out->bytes = w.bytes0 + w.bytes1 * ctx;
    out->compute_s = w.gemm * pm->inv_peak + (w.attn0 + w.attn1 * ctx) * pm->inv_attn_peak;
    out->memory_s = out->bytes * pm->inv_bw;
}

/* The sum of a + d x i over i = lo .. hi - 1 (0 when hi <= lo). */
static double series(double a, double d, int64_t lo, int64_t hi)
{
    double n = hi > lo ? (double)(hi - lo) : 0;
    return n * (a + d * ((double)lo + (double)hi - 1) / 2);
}

void pw_run_sum(const pw_prepared *p, double ctx1, double dctx, int64_t n, double *compute_s, double *memory_s)
{
    double N = n > 0 ? (double)n : 0, ctx = series(ctx1, dctx, 0, n); /* the contexts' sum */
    *compute_s = N * p->compute0 + p->compute1 * ctx;
    *memory_s = N * p->memory0 + p->memory1 * ctx;
}

/* x rounded down (up) into 0 .. n. */
static int64_t index_floor(double x, int64_t n) { return x <= 0 ? 0 : x >= (double)n ? n : (int64_t)floor(x); }
static int64_t index_ceil(double x, int64_t n) { return x <= 0 ? 0 : x >= (double)n ? n : (int64_t)ceil(x); }

double pw_run_active(const pw_prepared *p, pw_weights w, double ctx1, double dctx, int64_t n, double step0,
                     double dstep)
{
    if (n <= 0) return 0;
    /* activity minus step at iteration i: d0 + dd x i; the iterations where it is > 0 are clamped */
    double a0 = w.compute * p->compute0 + w.memory * p->memory0, a1 = w.compute * p->compute1 + w.memory * p->memory1;
    double d0 = a0 + a1 * ctx1 - step0, dd = a1 * dctx - dstep, dn = d0 + dd * (double)(n - 1);
    int64_t lo = 0, hi = n; /* the unclamped iterations: lo .. hi - 1 */
    if (d0 > 0 && dn > 0)
        hi = 0;
    else if (d0 > 0) /* falling (dd < 0): clamped up to the last i < -d0 / dd */
        lo = index_ceil(-d0 / dd, n);
    else if (dn > 0) /* rising: clamped from the first i > -d0 / dd on */
        hi = index_floor(-d0 / dd + 1, n);
    double C, M;
    pw_run_sum(p, ctx1 + dctx * (double)lo, dctx, hi - lo, &C, &M);
    return w.compute * C + w.memory * M + series(step0, dstep, 0, lo) + series(step0, dstep, hi, n);
}
