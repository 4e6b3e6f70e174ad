/*
 * elementwise.cu — the memory-bound per-token ops of a layer, bf16 in memory, fp32 arithmetic,
 * 16-byte accesses:
 *
 *   rmsnorm   y = x / sqrt(mean(x^2) + eps) * w       x, y [tokens][hidden], w [hidden]; a CTA a token
 *             flops = 4 T H;  moved_bytes = 2 T H 2 + H 2
 *   silu_mul  out = silu(gate) * up, silu(g) = g / (1 + e^-g)   in [tokens][2 d] = gate | up, out [tokens][d]
 *             flops = 5 T d;  moved_bytes = 3 T d 2
 *   rope      neox-style rotary embedding of q [tokens][heads][HD] and k [tokens][kv_heads][HD] at
 *             positions pos [tokens] from a cos|sin cache [max_pos][HD] (fp32): with x1, x2 the halves
 *             of a head, out1 = x1 cos - x2 sin, out2 = x2 cos + x1 sin. Written out of place, so
 *             the output can be poisoned and checked; the traffic is that of vLLM's in-place kernel.
 *             flops = 3 T (heads + kv_heads) HD;
 *             moved_bytes = 2 T (heads + kv_heads) HD 2 + T HD 4 (cache rows) + T 4 (positions)
 *
 * (T tokens, H hidden.) Token counts 1..16384, hidden 4096 and 8192 (rope: 32 and 64 query heads
 * of 128, 8 KV heads; silu_mul: d = hidden).
 *
 * Check: every output finite, and 8 tokens (the first, the last and random ones) against double
 * precision from the same inputs. Tolerance 5e-3: the bf16 output's rounding alone is ~1e-3.
 */
#include <math.h>
#include <stdlib.h>

#include "probe.h"

#define HD 128
#define TOL 5e-3
#define EPS 1e-6f
#define ROPE_MAX_POS 32768
#define ROPE_THETA 500000.0 /* Llama 3 */
#define SAMPLES 8

static const int full_tokens[] = {1, 4, 16, 64, 256, 1024, 4096, 16384};
static const int quick_tokens[] = {1, 1024};
static const int full_hidden[] = {4096, 8192};
static const int quick_hidden[] = {4096};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- kernels ---- */

/* A CTA of 256 threads a token: the sum of squares, then the scaled row. hidden % 8 == 0. */
static __global__ void __launch_bounds__(256)
    rmsnorm_kernel(const __nv_bfloat16 *x, const __nv_bfloat16 *w, __nv_bfloat16 *y, int hidden, float eps)
{
    __shared__ float part[8];
    const uint4 *xr = (const uint4 *)(x + (size_t)blockIdx.x * hidden), *wr = (const uint4 *)w;
    uint4 *yr = (uint4 *)(y + (size_t)blockIdx.x * hidden);
    const int chunks = hidden / 8;
    float ss = 0.0f, f[8], g[8];
    for (int c = threadIdx.x; c < chunks; c += blockDim.x) {
        bf16x8_to_float(xr[c], f);
        for (int e = 0; e < 8; e++)
            ss += f[e] * f[e];
    }
    for (int o = 16; o; o >>= 1)
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if ((threadIdx.x & 31) == 0)
        part[threadIdx.x >> 5] = ss;
    __syncthreads();
    ss = 0.0f;
    for (int i = 0; i < (int)blockDim.x / 32; i++)
        ss += part[i];
    const float inv = rsqrtf(ss / hidden + eps);
    for (int c = threadIdx.x; c < chunks; c += blockDim.x) {
        bf16x8_to_float(xr[c], f);
        bf16x8_to_float(wr[c], g);
        for (int e = 0; e < 8; e++)
            f[e] = f[e] * inv * g[e];
        yr[c] = float_to_bf16x8(f);
    }
}

/* A thread per 8 outputs, grid-stride. d % 8 == 0. */
static __global__ void silu_mul_kernel(const __nv_bfloat16 *in, __nv_bfloat16 *out, size_t tokens, int d)
{
    const size_t per = (size_t)d / 8, n = tokens * per;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        size_t t = i / per, c = i % per;
        const uint4 *row = (const uint4 *)(in + t * 2 * d);
        float gate[8], up[8];
        bf16x8_to_float(row[c], gate);
        bf16x8_to_float(row[per + c], up);
        for (int e = 0; e < 8; e++)
            gate[e] = gate[e] / (1.0f + __expf(-gate[e])) * up[e];
        ((uint4 *)out)[i] = float_to_bf16x8(gate);
    }
}

/* A CTA a token, (heads + kv_heads) x 8 threads: thread (head, c) rotates the 8 pairs
 * (c 8 + e, 64 + c 8 + e) of one head. */
static __global__ void rope_kernel(const int *pos, const float *cos_sin, const __nv_bfloat16 *q, const __nv_bfloat16 *k,
                                   __nv_bfloat16 *q_out, __nv_bfloat16 *k_out, int heads, int kv_heads)
{
    const int t = blockIdx.x, head = threadIdx.x / 8, c = threadIdx.x % 8;
    const float *cs = cos_sin + (size_t)pos[t] * HD;
    const bool is_q = head < heads;
    const size_t off = is_q ? ((size_t)t * heads + head) * HD : ((size_t)t * kv_heads + head - heads) * HD;
    const __nv_bfloat16 *src = (is_q ? q : k) + off;
    __nv_bfloat16 *dst = (is_q ? q_out : k_out) + off;
    float x1[8], x2[8], o1[8], o2[8];
    bf16x8_to_float(*(const uint4 *)(src + c * 8), x1);
    bf16x8_to_float(*(const uint4 *)(src + HD / 2 + c * 8), x2);
    for (int e = 0; e < 8; e++) {
        float co = cs[c * 8 + e], si = cs[HD / 2 + c * 8 + e];
        o1[e] = x1[e] * co - x2[e] * si;
        o2[e] = x2[e] * co + x1[e] * si;
    }
    *(uint4 *)(dst + c * 8) = float_to_bf16x8(o1);
    *(uint4 *)(dst + HD / 2 + c * 8) = float_to_bf16x8(o2);
}

/* ---- shared driver ---- */

enum ew_op { EW_RMSNORM, EW_SILU_MUL, EW_ROPE };

/* Per set: in (x | gate_up | q), in2 (rmsnorm: w; rope: k), out (y | out | q_out), out2 (rope:
 * k_out), pos (rope). The rope cache is shared by all sets. */
typedef struct ew_set {
    __nv_bfloat16 *in, *in2, *out, *out2;
    int *pos;
} ew_set;

typedef struct ew_job {
    probe *p;
    enum ew_op op;
    int tokens, width; /* width: hidden (rmsnorm), d (silu_mul), heads HD (rope) */
    int heads, kv_heads;
    float *cos_sin;
    int nsets;
    ew_set sets[PROBE_MAX_SETS];
} ew_job;

static void launch_ew(void *arg, int set, cudaStream_t s)
{
    const ew_job *j = (const ew_job *)arg;
    const ew_set *d = &j->sets[set];
    switch (j->op) {
    case EW_RMSNORM:
        rmsnorm_kernel<<<j->tokens, 256, 0, s>>>(d->in, d->in2, d->out, j->width, EPS);
        break;
    case EW_SILU_MUL:
        silu_mul_kernel<<<probe_grid(j->p, (size_t)j->tokens * j->width / 8), 256, 0, s>>>(d->in, d->out,
                                                                                         (size_t)j->tokens, j->width);
        break;
    case EW_ROPE:
        rope_kernel<<<j->tokens, (j->heads + j->kv_heads) * 8, 0, s>>>(d->pos, j->cos_sin, d->in, d->in2, d->out,
                                                                       d->out2, j->heads, j->kv_heads);
        break;
    }
    LAUNCH_CHECK();
}

/* Element counts of each buffer of a set. */
static void ew_sizes(const ew_job *j, size_t *in, size_t *in2, size_t *out, size_t *out2)
{
    size_t t = (size_t)j->tokens, w = (size_t)j->width;
    *in = j->op == EW_SILU_MUL ? 2 * t * w : t * w;
    *in2 = j->op == EW_RMSNORM ? w : j->op == EW_ROPE ? t * j->kv_heads * HD : 0;
    *out = t * w;
    *out2 = j->op == EW_ROPE ? t * j->kv_heads * HD : 0;
}

/* The rotation angle of pair i at a position: pos theta^(-2i / HD). */
static double rope_angle(int pos, int i)
{
    return pos * pow(ROPE_THETA, -2.0 * i / HD);
}

/* Rows of `width` elements, token t, to the host. */
static __nv_bfloat16 *row_to_host(const __nv_bfloat16 *base, size_t width, long long t)
{
    return (__nv_bfloat16 *)probe_to_host(base + (size_t)t * width, width * 2);
}

static double check_sampled(probe *p, const ew_job *j)
{
    const ew_set *d = &j->sets[0];
    long long toks[SAMPLES];
    int nt = probe_sample(p, j->tokens, SAMPLES, toks);
    const size_t w = (size_t)j->width;
    probe_err err = {};
    __nv_bfloat16 *wh = j->op == EW_RMSNORM ? row_to_host(d->in2, w, 0) : NULL;
    int *pos = j->op == EW_ROPE ? (int *)probe_to_host(d->pos, (size_t)j->tokens * sizeof(int)) : NULL;
    for (int i = 0; i < nt; i++) {
        long long t = toks[i];
        if (j->op == EW_RMSNORM) {
            __nv_bfloat16 *x = row_to_host(d->in, w, t), *y = row_to_host(d->out, w, t);
            double ss = 0;
            for (size_t e = 0; e < w; e++)
                ss += dtype_get(x, DT_BF16, e) * dtype_get(x, DT_BF16, e);
            double inv = 1.0 / sqrt(ss / w + EPS);
            for (size_t e = 0; e < w; e++)
                err_add(&err, dtype_get(y, DT_BF16, e), dtype_get(x, DT_BF16, e) * inv * dtype_get(wh, DT_BF16, e));
            free(x);
            free(y);
        } else if (j->op == EW_SILU_MUL) {
            __nv_bfloat16 *x = row_to_host(d->in, 2 * w, t), *y = row_to_host(d->out, w, t);
            for (size_t e = 0; e < w; e++) {
                double g = dtype_get(x, DT_BF16, e), u = dtype_get(x, DT_BF16, w + e);
                err_add(&err, dtype_get(y, DT_BF16, e), g / (1.0 + exp(-g)) * u);
            }
            free(x);
            free(y);
        } else {
            /* the cache holds float(cos), float(sin): the reference uses the same rounded values */
            for (int which = 0; which < 2; which++) {
                size_t rw = (size_t)(which ? j->kv_heads : j->heads) * HD;
                __nv_bfloat16 *x = row_to_host(which ? d->in2 : d->in, rw, t);
                __nv_bfloat16 *y = row_to_host(which ? d->out2 : d->out, rw, t);
                for (size_t hb = 0; hb < rw; hb += HD)
                    for (int e = 0; e < HD / 2; e++) {
                        double a = rope_angle(pos[t], e), co = (float)cos(a), si = (float)sin(a);
                        double x1 = dtype_get(x, DT_BF16, hb + e), x2 = dtype_get(x, DT_BF16, hb + HD / 2 + e);
                        err_add(&err, dtype_get(y, DT_BF16, hb + e), x1 * co - x2 * si);
                        err_add(&err, dtype_get(y, DT_BF16, hb + HD / 2 + e), x2 * co + x1 * si);
                    }
                free(x);
                free(y);
            }
        }
    }
    free(wh);
    free(pos);
    return err_rel(&err);
}

static void measure(probe *p, enum ew_op op, int tokens, int hidden, float *cos_sin)
{
    ew_job j = {};
    j.p = p;
    j.op = op;
    j.tokens = tokens;
    j.width = hidden;
    j.heads = hidden / HD;
    j.kv_heads = 8;
    j.cos_sin = cos_sin;
    size_t nin, nin2, nout, nout2;
    ew_sizes(&j, &nin, &nin2, &nout, &nout2);
    j.nsets = probe_nsets(p, (double)(nin + nin2 + nout + nout2) * 2);
    int *pos = NULL;
    if (op == EW_ROPE && !(pos = (int *)malloc((size_t)tokens * sizeof *pos)))
        probe_die("out of host memory");
    for (int s = 0; s < j.nsets; s++) {
        ew_set *d = &j.sets[s];
        d->in = (__nv_bfloat16 *)probe_malloc(nin * 2);
        d->out = (__nv_bfloat16 *)probe_malloc(nout * 2);
        probe_fill(p, d->in, DT_BF16, nin, -1.0f, 1.0f);
        if (nin2) {
            d->in2 = (__nv_bfloat16 *)probe_malloc(nin2 * 2);
            if (op == EW_RMSNORM)
                probe_fill(p, d->in2, DT_BF16, nin2, 0.5f, 1.5f); /* weights around 1, as trained ones are */
            else
                probe_fill(p, d->in2, DT_BF16, nin2, -1.0f, 1.0f);
        }
        if (nout2)
            d->out2 = (__nv_bfloat16 *)probe_malloc(nout2 * 2);
        if (op == EW_ROPE) {
            for (int t = 0; t < tokens; t++)
                pos[t] = (int)probe_rand_below(p, ROPE_MAX_POS);
            d->pos = (int *)probe_malloc((size_t)tokens * sizeof(int));
            CUDA_CHECK(cudaMemcpy(d->pos, pos, (size_t)tokens * sizeof(int), cudaMemcpyHostToDevice));
        }
    }

    static const char *names[] = {"rmsnorm", "silu_mul", "rope"};
    probe_row r = {};
    r.op = names[op];
    r.impl = "kernel";
    r.dtype = DT_BF16;
    r.m = tokens;
    r.n = hidden;
    if (op == EW_ROPE) {
        r.heads = j.heads;
        r.kv_heads = j.kv_heads;
        r.head_dim = HD;
    }
    r.tol = TOL;
    probe_poison(p, j.sets[0].out, nout * 2);
    if (nout2)
        probe_poison(p, j.sets[0].out2, nout2 * 2);
    launch_ew(&j, 0, p->stream);
    probe_expect_written(p, j.sets[0].out, DT_BF16, nout, "output");
    if (nout2)
        probe_expect_written(p, j.sets[0].out2, DT_BF16, nout2, "rotated k");
    r.rel_err = check_sampled(p, &j);
    probe_check(&r, "8 sampled tokens");

    r.time_us = probe_time_us(p, launch_ew, &j, j.nsets);
    double t = tokens, h = hidden;
    switch (op) {
    case EW_RMSNORM:
        r.flops = 4 * t * h;
        r.moved_bytes = 2 * t * h * 2 + h * 2;
        break;
    case EW_SILU_MUL:
        r.flops = 5 * t * h;
        r.moved_bytes = 3 * t * h * 2;
        break;
    case EW_ROPE:
        r.flops = 3 * t * (j.heads + j.kv_heads) * HD;
        r.moved_bytes = 2 * t * (j.heads + j.kv_heads) * HD * 2 + t * HD * 4 + t * 4;
        break;
    }
    probe_emit(p, &r);
    free(pos);
    for (int s = 0; s < j.nsets; s++) {
        ew_set *d = &j.sets[s];
        probe_free(d->in);
        probe_free(d->in2);
        probe_free(d->out);
        probe_free(d->out2);
        probe_free(d->pos);
    }
}

static void run_grid(probe *p, enum ew_op op)
{
    bool q = p->opt.quick;
    float *cos_sin = NULL;
    if (op == EW_ROPE) {
        /* row pos: cos of the HD / 2 angles, then their sin */
        size_t n = (size_t)ROPE_MAX_POS * HD;
        float *h = (float *)malloc(n * sizeof *h);
        if (!h)
            probe_die("out of host memory");
        for (int pos = 0; pos < ROPE_MAX_POS; pos++)
            for (int i = 0; i < HD / 2; i++) {
                h[(size_t)pos * HD + i] = (float)cos(rope_angle(pos, i));
                h[(size_t)pos * HD + HD / 2 + i] = (float)sin(rope_angle(pos, i));
            }
        cos_sin = (float *)probe_malloc(n * sizeof *h);
        CUDA_CHECK(cudaMemcpy(cos_sin, h, n * sizeof *h, cudaMemcpyHostToDevice));
        free(h);
    }
    int nt = q ? N_OF(quick_tokens) : N_OF(full_tokens), nh = q ? N_OF(quick_hidden) : N_OF(full_hidden);
    for (int hi = 0; hi < nh; hi++)
        for (int ti = 0; ti < nt; ti++)
            measure(p, op, q ? quick_tokens[ti] : full_tokens[ti], q ? quick_hidden[hi] : full_hidden[hi], cos_sin);
    probe_free(cos_sin);
}

void probe_rmsnorm(probe *p)
{
    run_grid(p, EW_RMSNORM);
}
void probe_silu_mul(probe *p)
{
    run_grid(p, EW_SILU_MUL);
}
void probe_rope(probe *p)
{
    run_grid(p, EW_ROPE);
}
