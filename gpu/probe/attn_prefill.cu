/*
 * attn_prefill.cu — causal prefill attention, GQA, bf16 in memory, a tiled kernel with an online
 * softmax ("flash_tiled", FlashAttention-2's loop order) on the tensor cores through WMMA. Layouts
 * (a batch of equal-length prompts):
 *
 *   q, out [batch][seq][heads][HD]     k, v [batch][seq][kv_heads][HD]
 *
 * A CTA of 4 warps takes 64 query rows of one head (16 rows a warp) and walks the key tiles of 64
 * up to the diagonal: S = Q K^T on the tensor cores (fp32), the online softmax on S in shared
 * memory (P rounded to bf16, as FlashAttention does), O += P V on the tensor cores. The WMMA
 * accumulator's layout is opaque, so O lives in shared memory (fp32) where the softmax rescales
 * its rows. It is far from FlashAttention's speed (about 97 TFLOP/s on an H100); it shows what
 * plain tiling reaches.
 *
 * Counted work (causal: query i sees keys 0..i, so s(s+1)/2 pairs a head):
 *   flops       = 4 batch heads HD s(s+1)/2                 (q.k and p.v, 2 FLOPs a multiply-add)
 *   moved_bytes = batch s HD 2 (2 heads + 2 kv_heads)       (q, k, v read once, out written once)
 *
 * Check: every output finite, and 16 (sequence, head, query position) samples — the first and the
 * last position and random ones — against a double-precision causal softmax(q K^T / sqrt(HD)) V.
 * Tolerance 1e-2 (bf16 output and bf16 P: ~2e-3).
 */
#include <math.h>
#include <stdlib.h>

#include <mma.h>

#include "probe.h"

#define HD 128
#define PT 64           /* query rows and key columns a tile */
#define LDK (HD + 8)    /* bf16 row stride of the K and V tiles */
#define LDS (PT + 4)    /* float row stride of S; P overwrites S's rows as bf16, stride 2 LDS */
#define LDO (HD + 4)    /* float row stride of O */
#define THREADS 128
#define TOL 1e-2
#define SAMPLES 16

/* Dynamic shared memory: K, V tiles (the Q tile passes through K's), S / P, O. */
#define SMEM_K 0
#define SMEM_V (SMEM_K + PT * LDK * 2)
#define SMEM_S (SMEM_V + PT * LDK * 2)
#define SMEM_O (SMEM_S + PT * LDS * 4)
#define SMEM_BYTES (SMEM_O + PT * LDO * 4)

static const struct {
    int batch, seq;
} full_shapes[] = {{1, 128},  {128, 128}, {1, 256},  {64, 256}, {1, 512},  {32, 512}, {1, 1024},
                   {16, 1024}, {1, 2048}, {8, 2048}, {1, 4096}, {4, 4096}, {1, 8192}, {2, 8192}},
  quick_shapes[] = {{2, 256}, {1, 1024}};
static const struct {
    int heads, kv_heads;
} head_cfgs[] = {{32, 8}, {64, 8}};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

namespace wmma = nvcuda::wmma;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> frag_a;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> frag_bt; /* K^T from K rows */
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> frag_b;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> frag_c;

/* A 64 x HD tile of rows `stride` elements apart into shared memory (row stride LDK): 8 chunks of 16
 * bytes a thread, all loaded before any is stored. */
static __device__ __forceinline__ void load_tile(__nv_bfloat16 *dst, const __nv_bfloat16 *src, size_t stride)
{
    uint4 r[PT * HD / 8 / THREADS];
    for (int i = 0; i < PT * HD / 8 / THREADS; i++) {
        int e = threadIdx.x + THREADS * i, row = e >> 4, ch = e & 15;
        r[i] = *(const uint4 *)(src + row * stride + ch * 8);
    }
    for (int i = 0; i < PT * HD / 8 / THREADS; i++) {
        int e = threadIdx.x + THREADS * i, row = e >> 4, ch = e & 15;
        *(uint4 *)(dst + row * LDK + ch * 8) = r[i];
    }
}

/* Grid (seq / PT, heads, batch); seq % PT == 0. Query tiles run heaviest first. */
static __global__ void __launch_bounds__(THREADS)
    prefill_kernel(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, __nv_bfloat16 *out,
                   int seq, int heads, int kv_heads, float scale_log2)
{
    extern __shared__ __align__(128) unsigned char smem[];
    __nv_bfloat16 *ks = (__nv_bfloat16 *)(smem + SMEM_K), *vs = (__nv_bfloat16 *)(smem + SMEM_V);
    float *ss = (float *)(smem + SMEM_S), *os = (float *)(smem + SMEM_O);

    const int qt = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int kvh = h / (heads / kv_heads);
    const size_t qstride = (size_t)heads * HD, kvstride = (size_t)kv_heads * HD;
    const __nv_bfloat16 *qb = q + (size_t)b * seq * qstride + (size_t)h * HD;
    const __nv_bfloat16 *kb = k + (size_t)b * seq * kvstride + (size_t)kvh * HD;
    const __nv_bfloat16 *vb = v + (size_t)b * seq * kvstride + (size_t)kvh * HD;

    /* The warp's 16 query rows stay in registers as A fragments. */
    load_tile(ks, qb + (size_t)qt * PT * qstride, qstride);
    for (int i = threadIdx.x; i < PT * LDO; i += THREADS)
        os[i] = 0.0f;
    __syncthreads();
    frag_a qf[HD / 16];
    for (int c = 0; c < HD / 16; c++)
        wmma::load_matrix_sync(qf[c], ks + warp * 16 * LDK + c * 16, LDK);
    __syncthreads();

    /* Softmax state of row r = lane / 2 of the warp's 16; lanes 2r and 2r + 1 split its 64 columns
     * (and O's HD). Rows are 4 banks apart, so each lane starts its sweep at its own offset `rot`:
     * at every step the warp's 32 lanes then read 32 different banks. */
    const int r = lane >> 1, half = lane & 1, qrow = warp * 16 + r, rot = (r >> 3) + 2 * half;
    float *srow = ss + qrow * LDS, *orow = os + qrow * LDO;
    __nv_bfloat16 *prow = (__nv_bfloat16 *)srow;
    float m_run = -INFINITY, l_run = 0.0f;

    for (int kt = 0; kt <= qt; kt++) {
        load_tile(ks, kb + (size_t)kt * PT * kvstride, kvstride);
        load_tile(vs, vb + (size_t)kt * PT * kvstride, kvstride);
        __syncthreads();

        for (int n0 = 0; n0 < PT / 16; n0++) {
            frag_c sf;
            wmma::fill_fragment(sf, 0.0f);
            for (int c = 0; c < HD / 16; c++) {
                frag_bt kf;
                wmma::load_matrix_sync(kf, ks + n0 * 16 * LDK + c * 16, LDK);
                wmma::mma_sync(sf, qf[c], kf, sf);
            }
            wmma::store_matrix_sync(ss + warp * 16 * LDS + n0 * 16, sf, LDS, wmma::mem_row_major);
        }
        __syncwarp();

        /* Online softmax of this row's 32 columns; keys after the query (diagonal tile) masked. */
        float x[PT / 2], mx = -INFINITY;
        for (int i = 0; i < PT / 2; i++) {
            int col = half * (PT / 2) + (i + rot) % (PT / 2);
            x[i] = kt == qt && col > qrow ? -INFINITY : srow[col] * scale_log2;
            mx = fmaxf(mx, x[i]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float m_new = fmaxf(m_run, mx); /* finite: key 0 of the diagonal tile is always visible */
        const float alpha = exp2f(m_run - m_new);
        __syncwarp(); /* the whole row is read before P overwrites its first half */
        float sum = 0.0f;
        for (int i = 0; i < PT / 2; i++) {
            float pr = exp2f(x[i] - m_new);
            sum += pr;
            prow[half * (PT / 2) + (i + rot) % (PT / 2)] = __float2bfloat16(pr);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l_run = l_run * alpha + sum;
        m_run = m_new;
        for (int i = 0; i < HD / 2; i++)
            orow[half * (HD / 2) + (i + rot) % (HD / 2)] *= alpha;
        __syncwarp();

        frag_a pf[PT / 16];
        for (int c = 0; c < PT / 16; c++)
            wmma::load_matrix_sync(pf[c], (const __nv_bfloat16 *)(ss + warp * 16 * LDS) + c * 16, 2 * LDS);
        for (int d0 = 0; d0 < HD / 16; d0++) {
            frag_c of;
            wmma::load_matrix_sync(of, os + warp * 16 * LDO + d0 * 16, LDO, wmma::mem_row_major);
            for (int c = 0; c < PT / 16; c++) {
                frag_b vf;
                wmma::load_matrix_sync(vf, vs + c * 16 * LDK + d0 * 16, LDK);
                wmma::mma_sync(of, pf[c], vf, of);
            }
            wmma::store_matrix_sync(os + warp * 16 * LDO + d0 * 16, of, LDO, wmma::mem_row_major);
        }
        __syncthreads(); /* K and V are read before the next tile overwrites them */
    }

    const float inv = 1.0f / l_run;
    __nv_bfloat16 *orow_g = out + ((size_t)b * seq + (size_t)qt * PT + qrow) * qstride + (size_t)h * HD;
    for (int c = 0; c < HD / 2 / 8; c++) {
        float f[8];
        for (int e = 0; e < 8; e++)
            f[e] = orow[half * (HD / 2) + c * 8 + e] * inv;
        *(uint4 *)(orow_g + half * (HD / 2) + c * 8) = float_to_bf16x8(f);
    }
}

/* ---- one shape ---- */

typedef struct prefill_set {
    __nv_bfloat16 *q, *k, *v, *out;
} prefill_set;

typedef struct prefill_job {
    int batch, seq, heads, kv_heads;
    int nsets;
    prefill_set sets[PROBE_MAX_SETS];
} prefill_job;

static void launch_prefill(void *arg, int set, cudaStream_t s)
{
    const prefill_job *j = (const prefill_job *)arg;
    const prefill_set *d = &j->sets[set];
    const float scale_log2 = 1.4426950408889634f / sqrtf((float)HD);
    dim3 grid((unsigned)(j->seq / PT), (unsigned)j->heads, (unsigned)j->batch);
    prefill_kernel<<<grid, THREADS, SMEM_BYTES, s>>>(d->q, d->k, d->v, d->out, j->seq, j->heads, j->kv_heads,
                                                     scale_log2);
    LAUNCH_CHECK();
}

/* Rows 0..t of one sequence's one head (row stride `heads` heads) to the host. */
static __nv_bfloat16 *rows_to_host(const __nv_bfloat16 *base, int heads, int t)
{
    __nv_bfloat16 *h = (__nv_bfloat16 *)malloc((size_t)(t + 1) * HD * 2);
    if (!h)
        probe_die("out of host memory");
    CUDA_CHECK(cudaMemcpy2D(h, HD * 2, base, (size_t)heads * HD * 2, HD * 2, (size_t)t + 1, cudaMemcpyDeviceToHost));
    return h;
}

static double check_sampled(probe *p, const prefill_job *j)
{
    const prefill_set *d = &j->sets[0];
    const int G = j->heads / j->kv_heads;
    probe_err err = {};
    double *sc = (double *)malloc((size_t)j->seq * sizeof *sc);
    if (!sc)
        probe_die("out of host memory");
    for (int i = 0; i < SAMPLES; i++) {
        int b = (int)probe_rand_below(p, j->batch), h = (int)probe_rand_below(p, j->heads);
        int t = i == 0 ? 0 : i == 1 ? j->seq - 1 : (int)probe_rand_below(p, j->seq);
        size_t qoff = ((size_t)b * j->seq + t) * j->heads * HD + (size_t)h * HD;
        size_t kvoff = (size_t)b * j->seq * j->kv_heads * HD + (size_t)(h / G) * HD;
        __nv_bfloat16 *qh = rows_to_host(d->q + qoff, j->heads, 0), *oh = rows_to_host(d->out + qoff, j->heads, 0);
        __nv_bfloat16 *kh = rows_to_host(d->k + kvoff, j->kv_heads, t), *vh = rows_to_host(d->v + kvoff, j->kv_heads, t);
        double *qd = dtype_to_double(qh, DT_BF16, HD), *kd = dtype_to_double(kh, DT_BF16, (size_t)(t + 1) * HD);
        double *vd = dtype_to_double(vh, DT_BF16, (size_t)(t + 1) * HD);
        double mx = -INFINITY, sum = 0;
        for (int key = 0; key <= t; key++) {
            double dot = 0;
            for (int x = 0; x < HD; x++)
                dot += qd[x] * kd[(size_t)key * HD + x];
            sc[key] = dot / sqrt((double)HD);
            mx = fmax(mx, sc[key]);
        }
        for (int key = 0; key <= t; key++) {
            sc[key] = exp(sc[key] - mx);
            sum += sc[key];
        }
        for (int x = 0; x < HD; x++) {
            double o = 0;
            for (int key = 0; key <= t; key++)
                o += sc[key] * vd[(size_t)key * HD + x];
            err_add(&err, dtype_get(oh, DT_BF16, x), o / sum);
        }
        free(qd);
        free(kd);
        free(vd);
        free(qh);
        free(oh);
        free(kh);
        free(vh);
    }
    free(sc);
    return err_rel(&err);
}

static void measure(probe *p, int batch, int seq, int heads, int kv_heads)
{
    if (seq % PT || heads % kv_heads)
        probe_die("internal: prefill attention needs seq %% %d == 0 and heads %% kv_heads == 0 (%d, %d / %d)", PT, seq,
                  heads, kv_heads);
    prefill_job j = {};
    j.batch = batch;
    j.seq = seq;
    j.heads = heads;
    j.kv_heads = kv_heads;
    const size_t nq = (size_t)batch * seq * heads * HD, nkv = (size_t)batch * seq * kv_heads * HD;
    j.nsets = probe_nsets(p, (2.0 * nq + 2.0 * nkv) * 2);
    for (int s = 0; s < j.nsets; s++) {
        prefill_set *d = &j.sets[s];
        d->q = (__nv_bfloat16 *)probe_malloc(nq * 2);
        d->out = (__nv_bfloat16 *)probe_malloc(nq * 2);
        d->k = (__nv_bfloat16 *)probe_malloc(nkv * 2);
        d->v = (__nv_bfloat16 *)probe_malloc(nkv * 2);
        probe_fill(p, d->q, DT_BF16, nq, -2.0f, 2.0f); /* wider than K so the softmax is not flat */
        probe_fill(p, d->k, DT_BF16, nkv, -1.0f, 1.0f);
        probe_fill(p, d->v, DT_BF16, nkv, -1.0f, 1.0f);
    }

    probe_row r = {};
    r.op = "attn_prefill";
    r.impl = "flash_tiled";
    r.dtype = DT_BF16;
    r.batch = batch;
    r.seq = seq;
    r.heads = heads;
    r.kv_heads = kv_heads;
    r.head_dim = HD;
    r.tol = TOL;
    probe_poison(p, j.sets[0].out, nq * 2);
    launch_prefill(&j, 0, p->stream);
    probe_expect_written(p, j.sets[0].out, DT_BF16, nq, "prefill attention output");
    r.rel_err = check_sampled(p, &j);
    probe_check(&r, "16 sampled query rows");

    r.time_us = probe_time_us(p, launch_prefill, &j, j.nsets);
    r.flops = 4.0 * batch * heads * HD * ((double)seq * (seq + 1) / 2);
    r.moved_bytes = (double)batch * seq * HD * 2 * (2.0 * heads + 2.0 * kv_heads);
    probe_emit(p, &r);
    for (int s = 0; s < j.nsets; s++) {
        prefill_set *d = &j.sets[s];
        probe_free(d->q);
        probe_free(d->out);
        probe_free(d->k);
        probe_free(d->v);
    }
}

void probe_attn_prefill(probe *p)
{
    if (p->smem_optin < SMEM_BYTES)
        probe_die("prefill attention needs %d bytes of shared memory a block; this device allows %zu", SMEM_BYTES,
                  p->smem_optin);
    CUDA_CHECK(cudaFuncSetAttribute(prefill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES));
    bool q = p->opt.quick;
    int n = q ? N_OF(quick_shapes) : N_OF(full_shapes);
    for (int h = 0; h < N_OF(head_cfgs); h++)
        for (int i = 0; i < n; i++) {
            if (q && i != h) /* quick: one shape a head configuration */
                continue;
            measure(p, q ? quick_shapes[i].batch : full_shapes[i].batch, q ? quick_shapes[i].seq : full_shapes[i].seq,
                    head_cfgs[h].heads, head_cfgs[h].kv_heads);
        }
}
