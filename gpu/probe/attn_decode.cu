/*
 * attn_decode.cu — decode attention over a paged KV cache: one query token per sequence, GQA,
 * bf16 everywhere in memory, fp32 arithmetic. The layouts are vLLM's:
 *
 *   q        [batch][heads][HD]
 *   k_cache  [num_blocks][BS][kv_heads][HD]   (v_cache alike; BS = 16 tokens a block)
 *   block_table [batch][max_blocks] int32: the physical block of each sequence's i-th 16 tokens
 *   ctx_lens [batch] int32
 *   out      [batch][heads][HD]
 *
 * Query head h reads KV head h / (heads / kv_heads). The kernel ("paged_split") is split-KV
 * (flash-decoding): a CTA takes one sequence, one KV head with its group of G query heads, and one
 * split of the context; it streams the split's K and V through shared memory in tiles of 32 tokens
 * (cp.async, double-buffered), so every K and V byte is read from memory once for all G heads,
 * and keeps an online softmax. With several splits a second kernel combines the partial results.
 * It is no FlashAttention, but it is evidence of the bandwidth decode attention can reach: on an
 * H100, 80% of the copy bandwidth with 4 query heads a KV head and 57% with 8, where shared-memory
 * traffic and FP32 issue, not DRAM, bound it.
 *
 * Counted work (every K and V of every context read once, q read and out written once):
 *   flops       = 4 batch heads ctx HD                      (q.k and p.v, 2 FLOPs a multiply-add)
 *   moved_bytes = batch ctx kv_heads HD 2 (K and V) 2 (bf16) + 2 batch heads HD 2 (q, out)
 *
 * Check: every output finite, and one random sequence's one random KV group (all its G query heads)
 * against a double-precision softmax(q K^T / sqrt(HD)) V over its whole context. Tolerance 1e-2
 * (the bf16 output's rounding alone is ~1e-3).
 */
#include <math.h>
#include <stdlib.h>

#include <cuda_pipeline.h>

#include "probe.h"

#define HD 128     /* head_dim */
#define BS 16      /* block_size */
#define TILE 32    /* tokens per shared-memory tile */
#define MAXG 8     /* query heads per KV head, at most */
#define THREADS 128
#define MAX_SPLITS 64
#define TOL 1e-2
static_assert(THREADS == HD, "a thread per head dimension");
static_assert(MAXG == 8, "p is read as two float4 a token");
#define MAX_KV_BYTES (8.0 * 1073741824.0) /* shapes whose cache exceeds this are skipped */

static const int full_batches[] = {1, 8, 32, 64, 128, 256};
static const int full_ctxs[] = {128, 512, 1024, 2048, 4096, 8192, 16384, 32768};
static const int quick_batches[] = {1, 8};
static const int quick_ctxs[] = {128, 1024};
static const struct {
    int heads, kv_heads;
} head_cfgs[] = {{32, 8}, {64, 8}}; /* Llama-3-8B; Llama-2/3-70B */

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- kernels ---- */

/* One tile into shared memory: 32 tokens x 16 chunks of 16 bytes for K and for V, 4 chunks of each
 * per thread, 16 consecutive threads reading one token's 256 contiguous bytes; cp.async, committed
 * as one group. Tokens from `end` on are zeros. */
static __device__ __forceinline__ void load_tile(__nv_bfloat16 (*ks)[HD + 8], __nv_bfloat16 (*vs)[HD + 8],
                                                 const __nv_bfloat16 *k_cache, const __nv_bfloat16 *v_cache,
                                                 const int *table, int kv_heads, int g, int tile0, int end)
{
    for (int i = 0; i < TILE * HD / 8 / THREADS; i++) {
        int e = threadIdx.x + THREADS * i, row = e >> 4, ch = e & 15, tok = tile0 + row;
        if (tok < end) {
            size_t off = (((size_t)table[tok / BS] * BS + tok % BS) * kv_heads + g) * HD + ch * 8;
            __pipeline_memcpy_async(&ks[row][ch * 8], k_cache + off, 16);
            __pipeline_memcpy_async(&vs[row][ch * 8], v_cache + off, 16);
        } else {
            *(uint4 *)&ks[row][ch * 8] = make_uint4(0, 0, 0, 0);
            *(uint4 *)&vs[row][ch * 8] = make_uint4(0, 0, 0, 0);
        }
    }
    __pipeline_commit();
}

/* Grid (kv_heads, batch, splits). Split s covers tokens [s per_split, (s + 1) per_split) of the
 * sequence. Scores are kept in log2 units (q is pre-scaled by log2(e) / sqrt(HD)) so that exp2f
 * does the softmax. splits == 1 writes out; otherwise part_acc [batch][heads][splits][HD] gets the
 * unnormalised sum of p v and part_ml [..][splits][2] the running max and sum of p. */
static __global__ void __launch_bounds__(THREADS)
    decode_split_kernel(const __nv_bfloat16 *q, const __nv_bfloat16 *k_cache, const __nv_bfloat16 *v_cache,
                        const int *block_table, const int *ctx_lens, int max_blocks, int heads, int kv_heads,
                        int per_split, int splits, float scale_log2, __nv_bfloat16 *out, float *part_acc,
                        float *part_ml)
{
    __shared__ __align__(16) float q_s[MAXG][HD];
    __shared__ __align__(16) __nv_bfloat16 k_s[2][TILE][HD + 8]; /* +8: rows 272 bytes apart, no bank conflicts */
    __shared__ __align__(16) __nv_bfloat16 v_s[2][TILE][HD + 8];
    __shared__ __align__(16) float p_s[TILE][MAXG]; /* scores, then probabilities; read as float4 */
    __shared__ float alpha_s[MAXG], ml_s[MAXG][2];

    const int g = blockIdx.x, b = blockIdx.y, s = blockIdx.z, t = threadIdx.x;
    const int lane = t & 31, warp = t >> 5;
    const int G = heads / kv_heads;
    const int start = s * per_split, end = min(ctx_lens[b], start + per_split);
    const size_t head0 = (size_t)b * heads + (size_t)g * G; /* first query head of the group */

    if (start >= end) { /* an empty split (a sequence shorter than the longest): nothing to add */
        for (int h = 0; h < G; h++) {
            size_t row = (head0 + h) * splits + s;
            part_acc[row * HD + t] = 0.0f;
            if (t == 0) {
                part_ml[row * 2] = -INFINITY;
                part_ml[row * 2 + 1] = 0.0f;
            }
        }
        return;
    }

    for (int i = t; i < G * HD; i += THREADS)
        q_s[i / HD][i % HD] = __bfloat162float(q[head0 * HD + i]) * scale_log2;

    float acc[MAXG] = {};                 /* thread t owns dimension t of every head in the group */
    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f}; /* warp w: heads w and w + 4 */
    const int ntiles = (end - start + TILE - 1) / TILE;
    const int *table = block_table + (size_t)b * max_blocks;
    load_tile(k_s[0], v_s[0], k_cache, v_cache, table, kv_heads, g, start, end);
    for (int it = 0; it < ntiles; it++) {
        const int buf = it & 1, tile0 = start + it * TILE;
        if (it + 1 < ntiles) {
            load_tile(k_s[buf ^ 1], v_s[buf ^ 1], k_cache, v_cache, table, kv_heads, g, tile0 + TILE, end);
            __pipeline_wait_prior(1);
        } else {
            __pipeline_wait_prior(0);
        }
        __syncthreads();

        /* Scores: thread (token lane, heads warp and warp + 4) reads its token's K row once. */
        {
            float sc[2] = {0.0f, 0.0f};
            const uint4 *krow = (const uint4 *)&k_s[buf][lane][0];
            for (int c = 0; c < HD / 8; c++) {
                float kf[8];
                bf16x8_to_float(krow[c], kf);
                for (int h2 = 0; h2 < 2; h2++) {
                    int h = warp + 4 * h2;
                    if (h < G) {
                        float4 q0 = *(const float4 *)&q_s[h][c * 8], q1 = *(const float4 *)&q_s[h][c * 8 + 4];
                        sc[h2] += kf[0] * q0.x + kf[1] * q0.y + kf[2] * q0.z + kf[3] * q0.w + kf[4] * q1.x +
                                  kf[5] * q1.y + kf[6] * q1.z + kf[7] * q1.w;
                    }
                }
            }
            for (int h2 = 0; h2 < 2; h2++) {
                int h = warp + 4 * h2;
                if (h < G)
                    p_s[lane][h] = tile0 + lane < end ? sc[h2] : -INFINITY;
            }
        }
        __syncthreads();

        /* Online softmax: warp w updates heads w and w + 4 over the tile's 32 tokens, one a lane. */
        for (int h2 = 0; h2 < 2; h2++) {
            int h = warp + 4 * h2;
            if (h >= G)
                continue;
            float x = p_s[lane][h], mx = x;
            for (int o = 16; o; o >>= 1)
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
            float m_new = fmaxf(m_run[h2], mx); /* finite: the tile has at least one token */
            float pr = exp2f(x - m_new), sum = pr;
            for (int o = 16; o; o >>= 1)
                sum += __shfl_xor_sync(0xffffffffu, sum, o);
            float alpha = exp2f(m_run[h2] - m_new);
            l_run[h2] = l_run[h2] * alpha + sum;
            m_run[h2] = m_new;
            p_s[lane][h] = pr;
            if (lane == 0)
                alpha_s[h] = alpha;
        }
        __syncthreads();

        /* acc = acc alpha + sum_j p_j v_j for dimension t. */
        for (int h = 0; h < MAXG; h++)
            if (h < G)
                acc[h] *= alpha_s[h];
        for (int j = 0; j < TILE; j++) {
            float v = __bfloat162float(v_s[buf][j][t]);
            float4 p0 = *(const float4 *)&p_s[j][0];
            float4 p1 = G > 4 ? *(const float4 *)&p_s[j][4] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            const float pj[MAXG] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
            for (int h = 0; h < MAXG; h++)
                if (h < G)
                    acc[h] += pj[h] * v;
        }
        __syncthreads(); /* the next iteration's prefetch overwrites this buffer */
    }

    if (lane == 0)
        for (int h2 = 0; h2 < 2; h2++) {
            int h = warp + 4 * h2;
            if (h < G) {
                ml_s[h][0] = m_run[h2];
                ml_s[h][1] = l_run[h2];
            }
        }
    __syncthreads();
    for (int h = 0; h < MAXG; h++) {
        if (h >= G)
            break;
        if (splits == 1) {
            out[(head0 + h) * HD + t] = __float2bfloat16(acc[h] / ml_s[h][1]);
        } else {
            size_t row = (head0 + h) * splits + s;
            part_acc[row * HD + t] = acc[h];
            if (t == 0) {
                part_ml[row * 2] = ml_s[h][0];
                part_ml[row * 2 + 1] = ml_s[h][1];
            }
        }
    }
}

/* Grid (heads, batch), HD threads: out = sum_s w_s acc_s / sum_s w_s l_s with w_s = 2^(m_s - max m). */
static __global__ void __launch_bounds__(HD)
    decode_combine_kernel(const float *part_acc, const float *part_ml, int heads, int splits, __nv_bfloat16 *out)
{
    const size_t row0 = ((size_t)blockIdx.y * heads + blockIdx.x) * splits;
    float mx = -INFINITY;
    for (int s = 0; s < splits; s++)
        mx = fmaxf(mx, part_ml[(row0 + s) * 2]);
    float num = 0.0f, den = 0.0f;
    for (int s = 0; s < splits; s++) {
        float w = exp2f(part_ml[(row0 + s) * 2] - mx);
        den += w * part_ml[(row0 + s) * 2 + 1];
        num += w * part_acc[(row0 + s) * HD + threadIdx.x];
    }
    out[((size_t)blockIdx.y * heads + blockIdx.x) * HD + threadIdx.x] = __float2bfloat16(num / den);
}

/* ---- one shape ---- */

typedef struct decode_set {
    __nv_bfloat16 *q, *k_cache, *v_cache, *out;
    int *block_table, *ctx_lens;
    float *part_acc, *part_ml;
} decode_set;

typedef struct decode_job {
    int batch, ctx, heads, kv_heads, max_blocks, splits, per_split;
    int nsets;
    decode_set sets[PROBE_MAX_SETS];
} decode_job;

static void launch_decode(void *arg, int set, cudaStream_t s)
{
    const decode_job *j = (const decode_job *)arg;
    const decode_set *d = &j->sets[set];
    const float scale_log2 = 1.4426950408889634f / sqrtf((float)HD);
    dim3 grid((unsigned)j->kv_heads, (unsigned)j->batch, (unsigned)j->splits);
    decode_split_kernel<<<grid, THREADS, 0, s>>>(d->q, d->k_cache, d->v_cache, d->block_table, d->ctx_lens,
                                                 j->max_blocks, j->heads, j->kv_heads, j->per_split, j->splits,
                                                 scale_log2, d->out, d->part_acc, d->part_ml);
    LAUNCH_CHECK();
    if (j->splits > 1) {
        decode_combine_kernel<<<dim3((unsigned)j->heads, (unsigned)j->batch), HD, 0, s>>>(d->part_acc, d->part_ml,
                                                                                         j->heads, j->splits, d->out);
        LAUNCH_CHECK();
    }
}

/* Splits: enough CTAs for about four per SM (ceil(4 SMs / (batch kv_heads))), each split at least
 * 64 tokens, at most MAX_SPLITS; a split is whole tiles. */
static void choose_splits(const probe *p, decode_job *j)
{
    int want = (4 * p->sm_count + j->batch * j->kv_heads - 1) / (j->batch * j->kv_heads);
    int most = (j->ctx + 63) / 64;
    int splits = want < 1 ? 1 : want;
    if (splits > most)
        splits = most;
    if (splits > MAX_SPLITS)
        splits = MAX_SPLITS;
    int per = (j->ctx + splits - 1) / splits;
    j->per_split = (per + TILE - 1) / TILE * TILE;
    j->splits = (j->ctx + j->per_split - 1) / j->per_split;
}

/* Blocks are handed out in a random order, as a long-running cache would have them. */
static int *random_block_table(probe *p, int batch, int max_blocks)
{
    size_t n = (size_t)batch * max_blocks;
    int *t = (int *)malloc(n * sizeof *t);
    if (!t)
        probe_die("out of host memory");
    for (size_t i = 0; i < n; i++)
        t[i] = (int)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t r = (size_t)probe_rand_below(p, (long long)i + 1);
        int x = t[i];
        t[i] = t[r];
        t[r] = x;
    }
    return t;
}

/* One random sequence and KV group of set 0 against double precision. */
static double check_sampled(probe *p, const decode_job *j, const int *table)
{
    const decode_set *d = &j->sets[0];
    const int G = j->heads / j->kv_heads, ctx = j->ctx;
    const int b = (int)probe_rand_below(p, j->batch), g = (int)probe_rand_below(p, j->kv_heads);
    /* the sequence's K and V rows of head g, in token order, from its blocks */
    const size_t nb = (size_t)(ctx + BS - 1) / BS;
    __nv_bfloat16 *kh = (__nv_bfloat16 *)malloc(nb * BS * HD * 2), *vh = (__nv_bfloat16 *)malloc(nb * BS * HD * 2);
    double *sc = (double *)malloc((size_t)ctx * sizeof *sc);
    if (!kh || !vh || !sc)
        probe_die("out of host memory");
    const size_t pitch = (size_t)j->kv_heads * HD * 2; /* bytes from one token's head g to the next's */
    for (size_t i = 0; i < nb; i++) {
        size_t first = ((size_t)table[(size_t)b * j->max_blocks + i] * BS * j->kv_heads + g) * HD;
        CUDA_CHECK(cudaMemcpy2D(kh + i * BS * HD, HD * 2, d->k_cache + first, pitch, HD * 2, BS, cudaMemcpyDeviceToHost));
        CUDA_CHECK(cudaMemcpy2D(vh + i * BS * HD, HD * 2, d->v_cache + first, pitch, HD * 2, BS, cudaMemcpyDeviceToHost));
    }
    double *kd = dtype_to_double(kh, DT_BF16, (size_t)ctx * HD), *vd = dtype_to_double(vh, DT_BF16, (size_t)ctx * HD);
    const size_t head0 = (size_t)b * j->heads + (size_t)g * G;
    __nv_bfloat16 *qh = (__nv_bfloat16 *)probe_to_host(d->q + head0 * HD, (size_t)G * HD * 2);
    __nv_bfloat16 *oh = (__nv_bfloat16 *)probe_to_host(d->out + head0 * HD, (size_t)G * HD * 2);
    double *qd = dtype_to_double(qh, DT_BF16, (size_t)G * HD);
    probe_err err = {};
    for (int h = 0; h < G; h++) {
        double mx = -INFINITY, sum = 0;
        for (int tok = 0; tok < ctx; tok++) {
            double dot = 0;
            for (int x = 0; x < HD; x++)
                dot += qd[h * HD + x] * kd[(size_t)tok * HD + x];
            sc[tok] = dot / sqrt((double)HD);
            mx = fmax(mx, sc[tok]);
        }
        for (int tok = 0; tok < ctx; tok++) {
            sc[tok] = exp(sc[tok] - mx);
            sum += sc[tok];
        }
        for (int x = 0; x < HD; x++) {
            double o = 0;
            for (int tok = 0; tok < ctx; tok++)
                o += sc[tok] * vd[(size_t)tok * HD + x];
            err_add(&err, dtype_get(oh, DT_BF16, (size_t)h * HD + x), o / sum);
        }
    }
    free(kh);
    free(vh);
    free(kd);
    free(vd);
    free(sc);
    free(qh);
    free(oh);
    free(qd);
    return err_rel(&err);
}

static void measure(probe *p, int batch, int ctx, int heads, int kv_heads)
{
    decode_job j = {};
    j.batch = batch;
    j.ctx = ctx;
    j.heads = heads;
    j.kv_heads = kv_heads;
    j.max_blocks = (ctx + BS - 1) / BS;
    if (heads % kv_heads || heads / kv_heads > MAXG)
        probe_die("internal: decode attention needs heads / kv_heads a whole number up to %d (%d / %d)", MAXG, heads,
                  kv_heads);
    choose_splits(p, &j);
    const size_t nblocks = (size_t)batch * j.max_blocks, cache = nblocks * BS * kv_heads * HD;
    const size_t nq = (size_t)batch * heads * HD, parts = nq * j.splits;
    const double kv_bytes = (double)batch * ctx * kv_heads * HD * 2 * 2;
    j.nsets = probe_nsets(p, 2.0 * cache * 2 + 2.0 * nq * 2);

    int *lens = (int *)malloc((size_t)batch * sizeof *lens), *table0 = NULL;
    if (!lens)
        probe_die("out of host memory");
    for (int i = 0; i < batch; i++)
        lens[i] = ctx;
    for (int s = 0; s < j.nsets; s++) {
        decode_set *d = &j.sets[s];
        d->q = (__nv_bfloat16 *)probe_malloc(nq * 2);
        d->out = (__nv_bfloat16 *)probe_malloc(nq * 2);
        d->k_cache = (__nv_bfloat16 *)probe_malloc(cache * 2);
        d->v_cache = (__nv_bfloat16 *)probe_malloc(cache * 2);
        d->block_table = (int *)probe_malloc(nblocks * sizeof(int));
        d->ctx_lens = (int *)probe_malloc((size_t)batch * sizeof(int));
        d->part_acc = (float *)probe_malloc(parts * sizeof(float));
        d->part_ml = (float *)probe_malloc(parts / HD * 2 * sizeof(float));
        probe_fill(p, d->q, DT_BF16, nq, -2.0f, 2.0f); /* wider than K so the softmax is not flat */
        probe_fill(p, d->k_cache, DT_BF16, cache, -1.0f, 1.0f);
        probe_fill(p, d->v_cache, DT_BF16, cache, -1.0f, 1.0f);
        int *table = random_block_table(p, batch, j.max_blocks);
        CUDA_CHECK(cudaMemcpy(d->block_table, table, nblocks * sizeof(int), cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(d->ctx_lens, lens, (size_t)batch * sizeof(int), cudaMemcpyHostToDevice));
        if (s == 0)
            table0 = table;
        else
            free(table);
    }

    probe_row r = {};
    r.op = "attn_decode";
    r.impl = "paged_split";
    r.dtype = DT_BF16;
    r.batch = batch;
    r.ctx = ctx;
    r.heads = heads;
    r.kv_heads = kv_heads;
    r.head_dim = HD;
    r.block_size = BS;
    r.tol = TOL;
    probe_poison(p, j.sets[0].out, nq * 2);
    probe_poison(p, j.sets[0].part_acc, parts * sizeof(float));
    launch_decode(&j, 0, p->stream);
    probe_expect_written(p, j.sets[0].out, DT_BF16, nq, "decode attention output");
    r.rel_err = check_sampled(p, &j, table0);
    probe_check(&r, "one sequence's KV group (all its query heads)");

    r.time_us = probe_time_us(p, launch_decode, &j, j.nsets);
    r.flops = 4.0 * batch * heads * (double)ctx * HD;
    r.moved_bytes = kv_bytes + 2.0 * nq * 2;
    probe_emit(p, &r);
    fprintf(stderr, "       (%d splits of %d tokens, %d sets rotated)\n", j.splits, j.per_split, j.nsets);

    free(lens);
    free(table0);
    for (int s = 0; s < j.nsets; s++) {
        decode_set *d = &j.sets[s];
        probe_free(d->q);
        probe_free(d->out);
        probe_free(d->k_cache);
        probe_free(d->v_cache);
        probe_free(d->block_table);
        probe_free(d->ctx_lens);
        probe_free(d->part_acc);
        probe_free(d->part_ml);
    }
}

void probe_attn_decode(probe *p)
{
    bool q = p->opt.quick;
    int nb = q ? N_OF(quick_batches) : N_OF(full_batches), nc = q ? N_OF(quick_ctxs) : N_OF(full_ctxs);
    for (int h = 0; h < N_OF(head_cfgs); h++)
        for (int i = 0; i < nb; i++)
            for (int c = 0; c < nc; c++) {
                int batch = q ? quick_batches[i] : full_batches[i], ctx = q ? quick_ctxs[c] : full_ctxs[c];
                if ((double)batch * ctx * head_cfgs[h].kv_heads * HD * 4 > MAX_KV_BYTES)
                    continue;
                measure(p, batch, ctx, head_cfgs[h].heads, head_cfgs[h].kv_heads);
            }
}
