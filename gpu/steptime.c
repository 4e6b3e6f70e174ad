#include "steptime.h"

#include <math.h>
#include <string.h>

#define ACT_BYTES 2.0 /* activations stay bf16 whatever the weights */

static double dtype_bytes(enum st_dtype d) { return d == ST_BF16 ? 2.0 : d == ST_FP8 ? 1.0 : 0.5; }

void st_model_init(st_model *m, const st_config *cfg)
{
    const model_spec *md = cfg->model;
    const gpu_spec *g = cfg->gpu;
    double tp = cfg->tp;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (m->cfg.compute_share <= 0) m->cfg.compute_share = 1;
    if (m->cfg.bandwidth_share <= 0) m->cfg.bandwidth_share = 1;
    m->layers = md->layers;
    m->q_heads = md->heads / tp;
    m->kv_heads = md->kv_heads / cfg->tp >= 1 ? md->kv_heads / tp : 1; /* replicated below TP */
    m->head_dim = md->head_dim;
    m->hidden = md->hidden;
    m->qkv_n = (m->q_heads + 2 * m->kv_heads) * m->head_dim;
    m->o_k = m->q_heads * m->head_dim;
    m->inter = md->intermediate / tp;
    m->vocab = md->vocab / tp;
    m->experts = md->experts;
    m->topk = md->experts_per_token;
    m->moe_inter = md->moe_intermediate / tp;
    m->w_bytes = dtype_bytes(cfg->weights);
    m->kv_bytes = dtype_bytes(cfg->kv);
    /* fp8 weights run on fp8 tensor cores where the GPU has them; int4 weights are dequantised
     * to bf16 (W4A16): fewer bytes, the bf16 rate */
    double peak = cfg->weights == ST_FP8 && g->fp8_flops > 0 ? g->fp8_flops : g->bf16_flops;
    m->peak = peak * m->cfg.compute_share;
    m->attn_peak = g->bf16_flops * m->cfg.compute_share;
    m->bw = g->mem_bw * m->cfg.bandwidth_share;
    m->link_bw = g->nvlink_bw > 0 ? g->nvlink_bw : g->pcie_bw;
    m->sms = (g->sm_count > 0 ? g->sm_count : 100) * m->cfg.compute_share;
}

int st_capture_size(int tokens, int max_capture)
{
    if (tokens <= 0 || tokens > max_capture) return tokens;
    if (tokens <= 2) return tokens;
    if (tokens <= 4) return 4;
    int size = tokens <= 256 ? (tokens + 7) / 8 * 8 : (tokens + 15) / 16 * 16;
    return size < max_capture ? size : max_capture;
}

static double kernel_s(const st_model *m) { return m->cfg.gpu->perf.kernel_us * 1e-6; }

/* A streaming (memory-bound) kernel over `bytes`. */
static double stream(const st_model *m, double bytes)
{
    return bytes / (m->bw * m->cfg.gpu->perf.mem_eff) + kernel_s(m);
}

static double roofline_at(const st_model *m, double flops, double peak, double eff, double bytes, double mem_eff)
{
    double c = flops / (peak * eff), b = bytes / (m->bw * mem_eff);
    return (c > b ? c : b) + kernel_s(m);
}

static double roofline(const st_model *m, double flops, double peak, double eff, double bytes)
{
    return roofline_at(m, flops, peak, eff, bytes, m->cfg.gpu->perf.mem_eff);
}

/* The bandwidth efficiency of attention's KV and query traffic. */
static double attn_mem_eff(const gpu_perf *p) { return p->attn_mem_eff > 0 ? p->attn_mem_eff : p->mem_eff; }

/* GEMM efficiency against the shape: a saturating curve in each of m, n and k (a half-size of 0
 * leaves that dimension out). */
static double gemm_eff(const st_model *m, double rows, double n, double k)
{
    const gpu_perf *p = &m->cfg.gpu->perf;
    return p->gemm_eff * rows / (rows + p->gemm_m_half) * n / (n + p->gemm_n_half) * k / (k + p->gemm_k_half);
}

double st_gemm(const st_model *m, double rows, double n, double k)
{
    if (rows <= 0) return 0;
    double bytes = n * k * m->w_bytes + (rows * k + rows * n) * ACT_BYTES;
    return roofline(m, 2 * rows * n * k, m->peak, gemm_eff(m, rows, n, k), bytes);
}

double st_elementwise(const st_model *m, double bytes) { return stream(m, bytes); }

double st_allreduce(const st_model *m, double bytes)
{
    int tp = m->cfg.tp;
    if (tp <= 1) return 0;
    const gpu_perf *p = &m->cfg.gpu->perf;
    return 2.0 * (tp - 1) / tp * bytes / (m->link_bw * p->link_eff) + p->allreduce_us * 1e-6;
}

/* Prefill attention over `chunks` chunks: `pairs` causal query-key pairs, `kv_tokens` of KV read
 * (each chunk's earlier context and itself) and `q_tokens` queries, for heads/kv_heads/head_dim
 * per GPU. The kernel works on blocks of queries: padding each chunk's c queries to c + P (P =
 * attn_pad) adds P (o + c) + P (P + 1) / 2 pairs to a chunk after o earlier tokens, so P x
 * kv_tokens + chunks x P (P + 1) / 2 in all. On top of the roofline: a fixed cost per call
 * (attn_prefill_us) and one per query token and head, spread over the SMs (attn_query_us). */
static double wave_prefill(const st_model *m, double chunks, double kv_tokens, double q_tokens, double heads,
                           double kv_heads, double head_dim);

static double attention(const st_model *m, double chunks, double pairs, double kv_tokens, double q_tokens,
                        double heads, double kv_heads, double head_dim)
{
    const gpu_perf *p = &m->cfg.gpu->perf;
    if (p->attn_waves) return wave_prefill(m, chunks, kv_tokens, q_tokens, heads, kv_heads, head_dim);
    pairs += p->attn_pad * kv_tokens + chunks * p->attn_pad * (p->attn_pad + 1) / 2;
    double flops = 4 * heads * head_dim * pairs;
    double bytes = kv_tokens * 2 * kv_heads * head_dim * m->kv_bytes + q_tokens * 2 * heads * head_dim * ACT_BYTES;
    return roofline_at(m, flops, m->attn_peak, p->attn_eff, bytes, attn_mem_eff(p)) +
           (p->attn_prefill_us + p->attn_query_us * q_tokens * heads / m->sms) * 1e-6;
}

/* Decode attention in the closed-form model (attn_waves false; the wave model is further down).
 * Flash-decoding: each sequence's KV is split into chunks of up to 512 tokens
 * (at most 32 splits, vLLM's limit under CUDA graphs), one work unit per sequence, KV head and
 * split. Without attn_split_mha, a model whose heads are not grouped (as many KV heads as query
 * heads per GPU) is never split, as FlashAttention 2 splits the KV only when it folds a group of
 * query heads into one work unit. Bandwidth needs attn_sm_share units per SM to saturate; fewer
 * reach proportionally less. A fixed cost per call and per sequence covers the split-combine
 * kernel and block tables. The SMs' side of the roofline is the FLOPs plus each sequence and KV
 * head's start and end (attn_unit_us of SM time, spread over the SMs), which overlap the memory
 * traffic rather than add to it. */
#define ATTN_SPLIT_TOKENS 512.0
#define ATTN_NO_SPLIT (INT64_MAX / 64) /* per_split when never split: 32 x it cannot overflow */

/* The constants of one decode-attention call over `batch` sequences (heads, KV heads and head
 * size per GPU), so that a call over a total context ctx costs attn_eval(a, ctx). The split count
 * is an integer function of the integer total context. */
/* attn_consts (declared in steptime.h): kc, compute seconds per context token; kb1 and kb0,
 * memory seconds per context token and for the queries and outputs; per_split, context tokens
 * per split over the whole batch (batch x split size); per, work units per SM and split (the
 * bandwidth share with k splits is min(1, k x per)); call, fixed seconds per call; unit, the
 * SM-side seconds of the work units, beside the compute. The wave model fills kb1, kb0,
 * per_split, call and its own fields (wave_prepare); attn_prepare zeroes the rest. */

static void wave_prepare(const st_model *m, double batch, double heads, double kv_heads, double head_dim,
                         attn_consts *a);
static double wave_eval(const attn_consts *a, double ctx);

static void attn_prepare(const st_model *m, double batch, double heads, double kv_heads, double head_dim,
                         attn_consts *a)
{
    const gpu_perf *p = &m->cfg.gpu->perf;
    memset(a, 0, sizeof *a);
    if (p->attn_waves) {
        wave_prepare(m, batch, heads, kv_heads, head_dim, a);
        return;
    }
    double bw = m->bw * attn_mem_eff(p);
    a->kc = 4 * heads * head_dim / (m->attn_peak * p->attn_eff);
    a->kb1 = 2 * kv_heads * head_dim * m->kv_bytes / bw;
    a->kb0 = batch * 2 * heads * head_dim * ACT_BYTES / bw;
    a->per_split = p->attn_split_mha || heads != kv_heads ? (int64_t)(batch * ATTN_SPLIT_TOKENS) : ATTN_NO_SPLIT;
    a->per = batch * kv_heads / (m->sms * p->attn_sm_share);
    a->call = (p->attn_us + p->attn_seq_us * batch) * 1e-6;
    a->unit = p->attn_unit_us * batch * kv_heads / m->sms * 1e-6;
}

/* 1 / the bandwidth share reached with k splits per sequence (k < 1 counts as 1). */
static double inv_share(const attn_consts *a, int64_t k)
{
    double units = (double)(k < 1 ? 1 : k) * a->per;
    return units < 1 ? 1 / units : 1.0; /* saturated at 1 */
}

/* One call's time at total context ctx (seconds). */
static double attn_eval(const attn_consts *a, double ctx)
{
    if (a->waves) return wave_eval(a, ctx);
    double inv = inv_share(a, st_splits(a, (int64_t)ctx));
    double c = ctx * a->kc + a->unit, b = (ctx * a->kb1 + a->kb0) * inv;
    return (c > b ? c : b) + a->call;
}

/*
 * ---- The wave model (attn_waves): FlashAttention 2's tiles, split heuristic and waves ----
 *
 * What vLLM runs on Ampere is FlashAttention 2's split-KV kernel (it is used whenever the KV
 * cache is paged): CTAs of 128 threads on tiles of FA_BLOCK_M query rows x fa_block_n keys. The
 * constants below are that kernel's; the efficiencies and fixed costs are the GPU entry's (see
 * steptime.h for the formulas). Everything a decode call needs that does not depend on the
 * context is prepared once (wave_prepare); the split key of a context then gives the split
 * count, the waves and two lines in the context (wave_lines), as st_lines needs them.
 */
#define FA_BLOCK_M 64.0   /* query rows of a tile (the split-KV kernel's kBlockM) */
#define FA_MAX_SPLITS 128 /* FlashAttention's upper bound on splits */

/* Keys of a tile: kBlockN of the split-KV kernel for this head size. */
static double fa_block_n(double head_dim) { return head_dim <= 64 ? 256 : head_dim <= 128 ? 128 : 64; }

/* Rows of the combine kernel's CTAs (its kBlockM). */
static double fa_combine_rows(double head_dim)
{
    return fmod(head_dim, 128) == 0 ? 4 : fmod(head_dim, 64) == 0 ? 8 : 16;
}

/* FlashAttention 2's num_splits_heuristic for `units` work units on `slots` CTA slots (it counts
 * 2 per SM) when every split count is eligible (a KV of at least 128 blocks, where its rule that
 * each split count must shorten the splits always holds): none when the units fill 80% of the
 * slots, else the smallest count whose last wave is at least 85% as full as the best count's.
 * Single precision, as FlashAttention computes it. */
static int fa_splits(double units, int slots)
{
    if (units >= 0.8f * (float)slots) return 1;
    int top = slots < FA_MAX_SPLITS ? slots : FA_MAX_SPLITS, u = (int)units;
    float eff[FA_MAX_SPLITS], best = 0;
    for (int s = 1; s <= top; s++) {
        float waves = (float)(u * s) / (float)slots;
        eff[s - 1] = waves / ceilf(waves);
        if (eff[s - 1] > best) best = eff[s - 1];
    }
    for (int s = 1; s <= top; s++)
        if (eff[s - 1] >= 0.85f * best) return s;
    return 1;
}

/* fa_splits for this model's GPU, remembered per unit count (a cache: the same either way). */
static int model_splits(const st_model *m, double units)
{
    int sms = (int)(m->sms + 0.5), slots = 2 * (sms < 1 ? 1 : sms);
    size_t i = (size_t)units;
    if (units != (double)i || i >= sizeof m->splits_memo / sizeof *m->splits_memo) return fa_splits(units, slots);
    if (m->splits_memo[i] == 0) ((st_model *)m)->splits_memo[i] = (int16_t)fa_splits(units, slots);
    return m->splits_memo[i];
}

/* The CTA slots of the wave model (SMs x attn_sm_share) and a CTA's seconds per tile there. */
static double wave_slots(const st_model *m) { return m->sms * m->cfg.gpu->perf.attn_sm_share; }
static double wave_tile(const st_model *m, double block_n, double head_dim)
{
    return 4 * FA_BLOCK_M * block_n * head_dim * wave_slots(m) / (m->attn_peak * m->cfg.gpu->perf.attn_eff);
}

static void wave_prepare(const st_model *m, double batch, double heads, double kv_heads, double head_dim,
                         attn_consts *a)
{
    const gpu_perf *p = &m->cfg.gpu->perf;
    double bw = m->bw * attn_mem_eff(p), block_n = fa_block_n(head_dim);
    bool grouped = heads > kv_heads; /* FlashAttention folds the group into the query rows */
    a->waves = true;
    a->units = grouped ? batch * kv_heads * ceil(heads / kv_heads / FA_BLOCK_M) : batch * heads;
    a->max_splits = grouped ? model_splits(m, a->units) : 1;
    a->max_key = a->max_splits > 2 ? a->max_splits : 2; /* keys below it: one block per CTA */
    a->per_split = (int64_t)(batch * block_n);
    if (a->per_split < 1) a->per_split = 1;
    a->slots = wave_slots(m);
    a->tile = wave_tile(m, block_n, head_dim);
    a->cta = p->attn_unit_us * 1e-6;
    a->kb1 = 2 * kv_heads * head_dim * m->kv_bytes / bw;
    a->kb0 = batch * 2 * heads * head_dim * ACT_BYTES / bw;
    a->call = (p->attn_us + p->attn_seq_us * batch) * 1e-6;
    if (grouped && batch >= 2 && kv_heads >= 2) /* queries in, outputs back: each read and written */
        a->call += p->attn_copy_us * 1e-6 + batch * heads * head_dim * 4 * ACT_BYTES / bw;
    double combine_ctas = ceil(batch * heads / fa_combine_rows(head_dim));
    a->comb = p->attn_combine_us * 1e-6;
    a->comb_split = batch * heads * head_dim * 4.0 / bw * (a->slots > combine_ctas ? a->slots / combine_ctas : 1);
}

/* The two lines of a call with split key `key` (seconds, and seconds per context token): the
 * SMs' (waves of CTAs, each its fixed time and its KV blocks) and the memory's, both with the
 * fixed costs of the call. Below the top key every CTA has one block; at the top key a CTA's
 * blocks are ceil(n / splits), counted as (ctx / per_split + 1/2) / splits. */
static void wave_lines(const attn_consts *a, int64_t key, double sm[2], double mem[2])
{
    int64_t k = key < 1 ? 1 : key, top = a->max_key > 0 ? a->max_key : 32;
    double s = (double)(k < a->max_splits ? k : a->max_splits);
    double waves = a->units * s / a->slots;
    if (waves < 1) waves = 1;
    double fixed = a->call + (s > 1 ? a->comb + s * a->comb_split : 0);
    if (k < top) {
        sm[0] = waves * (a->cta + a->tile) + fixed;
        sm[1] = 0;
    } else {
        sm[0] = waves * (a->cta + 0.5 * a->tile / s) + fixed;
        sm[1] = waves * a->tile / (s * (double)a->per_split);
    }
    mem[0] = a->kb0 + fixed;
    mem[1] = a->kb1;
}

static double wave_eval(const attn_consts *a, double ctx)
{
    double sm[2], mem[2];
    wave_lines(a, st_splits(a, (int64_t)ctx), sm, mem);
    return fmax(sm[0] + sm[1] * ctx, mem[0] + mem[1] * ctx);
}

/* The KV blocks the CTAs of one prefill chunk read: c queries after o earlier tokens, one CTA per
 * 64 queries, the i-th reading up to query min(64 (i + 1), c). Past 4096 CTAs, the sum's smooth
 * part (each ceiling counted as its argument plus one half). */
static double chunk_tiles(double c, double o, double block_n)
{
    double ctas = ceil(c / FA_BLOCK_M), t = 0;
    if (ctas > 4096) return ctas * (o / block_n + 0.5) + FA_BLOCK_M * ctas * (ctas + 1) / (2 * block_n);
    for (double i = 0; i < ctas; i++) t += ceil((o + fmin((i + 1) * FA_BLOCK_M, c)) / block_n);
    return t;
}

/* Prefill attention in the wave model over `chunks` chunks of q_tokens queries and kv_tokens KV
 * tokens in all, counted as that many average chunks; see steptime.h. */
static double wave_prefill(const st_model *m, double chunks, double kv_tokens, double q_tokens, double heads,
                           double kv_heads, double head_dim)
{
    const gpu_perf *p = &m->cfg.gpu->perf;
    if (chunks <= 0 || q_tokens <= 0) return 0;
    double c = q_tokens / chunks, o = kv_tokens / chunks - c;
    if (o < 0) o = 0;
    if (c == 1) { /* one query each: FlashAttention's decode path */
        attn_consts a;
        attn_prepare(m, chunks, heads, kv_heads, head_dim, &a);
        return attn_eval(&a, kv_tokens);
    }
    double block_n = fa_block_n(head_dim), tile = wave_tile(m, block_n, head_dim);
    double tiles = heads * chunks * chunk_tiles(c, o, block_n), longest = ceil((o + c) / block_n);
    double sm = fmax(tiles * tile / wave_slots(m), longest * tile);
    double kv = kv_tokens * 2 * kv_heads * head_dim * m->kv_bytes / (m->bw * attn_mem_eff(p));
    return sm + kv + (p->attn_prefill_us + p->attn_query_us * q_tokens * heads / m->sms) * 1e-6 + kernel_s(m);
}

double st_attention_decode_op(const st_model *m, double batch, double ctx, double heads, double kv_heads,
                              double head_dim)
{
    attn_consts a;
    attn_prepare(m, batch, heads, kv_heads, head_dim, &a);
    return attn_eval(&a, batch * ctx);
}

double st_attention_prefill_op(const st_model *m, double batch, double len, double past, double heads,
                               double kv_heads, double head_dim)
{
    return attention(m, batch, batch * (len * past + len * (len + 1) / 2), batch * (past + len), batch * len, heads,
                     kv_heads, head_dim);
}

/* The MoE feed-forward of one layer for `tokens` tokens: a router GEMM, then grouped expert
 * GEMMs (gate+up, down). Of E experts, a batch of T tokens choosing k each touches
 * E (1 - (1 - k/E)^T) of them on average: only those weights are read. */
static double moe(const st_model *m, double tokens)
{
    double E = m->experts, k = m->topk, h = m->hidden, f = m->moe_inter;
    double touched = E * (1 - pow(1 - k / E, tokens));
    double rows = tokens * k / touched; /* per touched expert */
    double t = st_gemm(m, tokens, E, h);
    double up_flops = 2 * tokens * k * h * 2 * f, down_flops = 2 * tokens * k * f * h;
    double up_bytes = touched * 2 * f * h * m->w_bytes + tokens * k * (h + 2 * f) * ACT_BYTES;
    double down_bytes = touched * f * h * m->w_bytes + tokens * k * (f + h) * ACT_BYTES;
    t += roofline(m, up_flops, m->peak, gemm_eff(m, rows, 2 * f, h), up_bytes);
    t += roofline(m, down_flops, m->peak, gemm_eff(m, rows, h, f), down_bytes);
    return t;
}

double st_step_fixed(const st_model *m, const st_batch *b)
{
    double T = b->prefill_tokens + b->decodes;
    if (T <= 0) return 0;
    double G = T; /* rows the GEMMs run over: padded to a CUDA-graph size */
    if (m->cfg.cuda_graphs) G = st_capture_size((int)T, m->cfg.max_capture);
    double h = m->hidden;
    double layer = stream(m, T * h * 2 * ACT_BYTES)                                  /* input RMSNorm */
                   + st_gemm(m, G, m->qkv_n, h)                                      /* QKV */
                   + stream(m, T * (m->q_heads + m->kv_heads) * m->head_dim * 2 * ACT_BYTES) /* rotary */
                   + stream(m, T * 2 * m->kv_heads * m->head_dim * (ACT_BYTES + m->kv_bytes)) /* KV write */
                   + st_gemm(m, G, h, m->o_k)                                        /* O */
                   + st_allreduce(m, T * h * ACT_BYTES)
                   + stream(m, T * h * 3 * ACT_BYTES);                               /* residual + RMSNorm */
    if (m->experts > 0) {
        layer += moe(m, G);
    } else {
        layer += st_gemm(m, G, 2 * m->inter, h)                 /* gate + up */
                 + stream(m, T * m->inter * 3 * ACT_BYTES)      /* SiLU and mul */
                 + st_gemm(m, G, h, m->inter);                  /* down */
    }
    layer += st_allreduce(m, T * h * ACT_BYTES);
    if (b->prefill_tokens > 0)
        layer += attention(m, b->seqs - b->decodes, b->prefill_pairs, b->prefill_kv, b->prefill_tokens, m->q_heads,
                           m->kv_heads, m->head_dim);
    double t = m->layers * layer;
    t += stream(m, T * h * 2 * ACT_BYTES);           /* embedding lookup */
    t += stream(m, T * h * 2 * ACT_BYTES);           /* final norm */
    if (b->logits > 0) t += st_gemm(m, b->logits, m->vocab, h) + stream(m, b->logits * m->vocab * 4.0); /* LM head, sampling */
    return t;
}

void st_prepare(const st_model *m, const st_batch *b, st_prepared *p)
{
    const gpu_perf *g = &m->cfg.gpu->perf;
    /* a decode-only batch's fixed part depends only on its size: remembered per size */
    bool plain = b->prefill_tokens == 0 && b->logits == b->decodes && b->seqs == b->decodes && b->decodes > 0 &&
                 b->decodes < ST_MEMO;
    if (plain && m->memo[b->decodes] != 0) {
        p->fixed = m->memo[b->decodes];
    } else {
        p->fixed = st_step_fixed(m, b);
        if (plain) ((st_model *)m)->memo[b->decodes] = p->fixed;
    }
    p->layers = m->layers;
    p->decodes = b->decodes;
    p->cpu = (g->cpu_step_us + g->cpu_seq_us * b->seqs) * 1e-6;
    p->async = m->cfg.async_scheduling;
    attn_prepare(m, b->decodes > 0 ? b->decodes : 1, m->q_heads, m->kv_heads, m->head_dim, &p->attn);
}

/* seconds to fx, saturated */
static int64_t to_fx(double seconds)
{
    double v = seconds * 1e9 * (double)((int64_t)1 << ST_FRAC);
    if (!(v > 0)) return 0;
    return v >= (double)ST_FX_MAX ? ST_FX_MAX : (int64_t)(v + 0.5);
}

int st_lines(const st_prepared *p, int64_t splits, st_line out[3])
{
    double cpu_add = p->async ? 0 : p->cpu;
    int n = 0;
    if (p->decodes > 0 && p->attn.waves) {
        double sm[2], mem[2];
        wave_lines(&p->attn, splits, sm, mem);
        out[n++] = (st_line){to_fx(p->fixed + p->layers * sm[0] + cpu_add), to_fx(p->layers * sm[1])};
        out[n++] = (st_line){to_fx(p->fixed + p->layers * mem[0] + cpu_add), to_fx(p->layers * mem[1])};
    } else if (p->decodes > 0) {
        const attn_consts *a = &p->attn;
        double inv = inv_share(a, splits);
        out[n++] = (st_line){to_fx(p->fixed + p->layers * (a->call + a->unit) + cpu_add), to_fx(p->layers * a->kc)};
        out[n++] = (st_line){to_fx(p->fixed + p->layers * (a->kb0 * inv + a->call) + cpu_add),
                             to_fx(p->layers * a->kb1 * inv)};
    } else {
        out[n++] = (st_line){to_fx(p->fixed + cpu_add), 0};
    }
    if (out[0].p < 1) out[0].p = 1; /* a step takes time */
    if (p->async) out[n++] = (st_line){to_fx(p->cpu), 0};
    return n;
}

int64_t st_step_fx(const st_prepared *p, int64_t ctx)
{
    st_line l[3];
    int n = st_lines(p, p->decodes > 0 ? st_splits(&p->attn, ctx) : 0, l);
    int64_t best = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = st_line_at(l[i], ctx);
        if (v > best) best = v;
    }
    return best;
}

fs_time st_step(const st_model *m, const st_batch *b)
{
    st_prepared p;
    st_prepare(m, b, &p);
    int64_t fx = st_step_fx(&p, (int64_t)b->decode_ctx);
    return (fx + ((int64_t)1 << (ST_FRAC - 1))) >> ST_FRAC;
}

double st_weight_bytes_per_gpu(const model_spec *model, enum st_dtype weights, int tp)
{
    /* embeddings and norms stay in bf16; everything is sharded over TP ranks */
    double embed = (double)model->vocab * model->hidden * (model->tie_embeddings ? 1 : 2);
    double rest = model_weight_params(model) - embed;
    return (rest * dtype_bytes(weights) + embed * 2.0) / tp;
}

/* Memory outside PyTorch's allocator that vLLM's profiling counts against the KV cache: NCCL and
 * cuBLAS workspaces, CUDA graphs. A generic figure, not measured per GPU. */
#define NON_TORCH_BYTES (512.0 * 1048576.0)

long long st_kv_blocks(const model_spec *model, const gpu_spec *gpu, int tp, enum st_dtype weights, enum st_dtype kv,
                       double util, int block_size, int max_batched_tokens, int max_seqs)
{
    double T = max_batched_tokens, h = model->hidden;
    double inter = (model->experts ? (double)model->moe_intermediate * model->experts_per_token : model->intermediate) / tp;
    /* the widest point of the forward pass: residual, MLP input, gate+up output, activation */
    double act = T * (2 * h + 3 * inter) * ACT_BYTES;
    double logits = (double)max_seqs * model->vocab * 4.0 * 2; /* fp32 logits and probabilities */
    double avail = gpu->memory_bytes * util - st_weight_bytes_per_gpu(model, weights, tp) - act - logits - NON_TORCH_BYTES;
    double per_block = model_kv_bytes_per_token(model, tp, dtype_bytes(kv)) * block_size;
    return avail <= 0 ? 0 : (long long)floor(avail / per_block);
}
