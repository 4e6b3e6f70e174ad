/*
 * gemm.cu — the linear layers: C[m][n] = A[m][k] · W[n][k]^T, row-major, as y = x W^T in a model
 * (m tokens, W the weight). bf16 and fp16 through cuBLAS (fp32 accumulate, 16-bit output), and a
 * hand-written shared-memory tiled kernel (bf16 in, fp32 accumulate) as a cross-check of cuBLAS.
 *
 * Counted work:  flops = 2 m n k;  moved_bytes = (m k + n k + m n) x element size
 * (A and W read once, C written once).
 *
 * Check: every output finite, and 8 rows x 32 columns of C (the first and last of each among
 * them) against a double-precision dot product of the same 16-bit inputs. Tolerance 1e-2 for bf16
 * (its rounding of the output alone is ~1e-3), 2e-3 for fp16 (~3e-4). The tiled kernel is also
 * compared over its whole output with cuBLAS's on the same inputs (bf16: 1e-2).
 */
#include <stdlib.h>

#include "probe.h"

#define TOL_BF16 1e-2
#define TOL_FP16 2e-3

/* Shapes: tokens m, and (n, k) of real models' layers. */
static const int full_ms[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
static const int quick_ms[] = {1, 32, 512};
static const struct {
    int n, k;
} full_nk[] = {
    {6144, 4096},  /* Llama-3-8B QKV (32 + 2x8 heads of 128) */
    {4096, 4096},  /* Llama-3-8B O */
    {28672, 4096}, /* Llama-3-8B gate_up (2 x 14336) */
    {4096, 14336}, /* Llama-3-8B down */
    {1280, 8192},  /* Llama-2-70B at TP8: QKV shard ((64 + 2x8) x 128 / 8) */
    {8192, 1024},  /* O shard */
    {7168, 8192},  /* gate_up shard (2 x 28672 / 8) */
    {8192, 3584},  /* down shard */
    {8192, 8192},  /* square */
}, quick_nk[] = {{6144, 4096}, {4096, 4096}};
static const struct {
    int m, n, k;
} full_tiled[] = {{1, 4096, 4096}, {100, 1280, 8192}, {1024, 4096, 4096}}, quick_tiled[] = {{100, 1280, 8192}};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- the tiled kernel ---- */

/* A 64x64 block of C per 256 threads, each thread a 4x4 patch; k in steps of 16 through shared
 * memory, stored k-major so the inner loop reads rows of A and W as broadcasts. k % 16 == 0. */
#define TILE 64
#define TK 16
static __global__ void __launch_bounds__(256) tiled_gemm_kernel(const __nv_bfloat16 *a, const __nv_bfloat16 *w,
                                                                __nv_bfloat16 *c, int m, int n, int k)
{
    __shared__ float as[TK][TILE + 1], ws[TK][TILE + 1];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += TK) {
        for (int r = 0; r < TILE * TK / 256; r++) {
            int e = threadIdx.x + 256 * r, i = e / TK, kk = e % TK;
            as[kk][i] = row0 + i < m ? __bfloat162float(a[(size_t)(row0 + i) * k + k0 + kk]) : 0.0f;
            ws[kk][i] = col0 + i < n ? __bfloat162float(w[(size_t)(col0 + i) * k + k0 + kk]) : 0.0f;
        }
        __syncthreads();
        for (int kk = 0; kk < TK; kk++) {
            float ar[4], wr[4];
            for (int i = 0; i < 4; i++) {
                ar[i] = as[kk][ty * 4 + i];
                wr[i] = ws[kk][tx * 4 + i];
            }
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i][j] += ar[i] * wr[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int r = row0 + ty * 4 + i, col = col0 + tx * 4 + j;
            if (r < m && col < n)
                c[(size_t)r * n + col] = __float2bfloat16(acc[i][j]);
        }
}

/* ---- one shape ---- */

typedef struct gemm_job {
    probe *p;
    enum probe_dtype dt;
    int m, n, k;
    bool tiled;
    int nsets;
    void *a[PROBE_MAX_SETS], *w[PROBE_MAX_SETS], *c[PROBE_MAX_SETS];
} gemm_job;

/* Row-major C = A W^T is column-major C^T = W^T(as stored, transposed) A: cuBLAS's "TN". */
static void cublas_gemm(const gemm_job *j, const void *a, const void *w, void *c)
{
    const float alpha = 1.0f, beta = 0.0f;
    cudaDataType t = j->dt == DT_BF16 ? CUDA_R_16BF : CUDA_R_16F;
    CUBLAS_CHECK(cublasGemmEx(j->p->blas, CUBLAS_OP_T, CUBLAS_OP_N, j->n, j->m, j->k, &alpha, w, t, j->k, a, t, j->k,
                              &beta, c, t, j->n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static void launch_gemm(void *arg, int set, cudaStream_t s)
{
    const gemm_job *j = (const gemm_job *)arg;
    if (j->tiled) {
        dim3 grid((unsigned)(j->n + TILE - 1) / TILE, (unsigned)(j->m + TILE - 1) / TILE);
        tiled_gemm_kernel<<<grid, 256, 0, s>>>((const __nv_bfloat16 *)j->a[set], (const __nv_bfloat16 *)j->w[set],
                                               (__nv_bfloat16 *)j->c[set], j->m, j->n, j->k);
        LAUNCH_CHECK();
    } else {
        cublas_gemm(j, j->a[set], j->w[set], j->c[set]); /* the handle is bound to p->stream, which is s */
    }
}

/* Sampled rows x columns of set 0's output against a double-precision reference. */
static double check_sampled(const gemm_job *j)
{
    probe *p = j->p;
    size_t es = dtype_size(j->dt), k = (size_t)j->k;
    long long rows[8], cols[32];
    int nr = probe_sample(p, j->m, 8, rows), nc = probe_sample(p, j->n, 32, cols);
    char *a = (char *)malloc(nr * k * es), *w = (char *)malloc(nc * k * es), *c = (char *)malloc((size_t)j->n * es);
    if (!a || !w || !c)
        probe_die("out of host memory");
    for (int i = 0; i < nr; i++)
        CUDA_CHECK(cudaMemcpy(a + i * k * es, (const char *)j->a[0] + rows[i] * k * es, k * es, cudaMemcpyDeviceToHost));
    for (int q = 0; q < nc; q++)
        CUDA_CHECK(cudaMemcpy(w + q * k * es, (const char *)j->w[0] + cols[q] * k * es, k * es, cudaMemcpyDeviceToHost));
    double *ad = dtype_to_double(a, j->dt, nr * k), *wd = dtype_to_double(w, j->dt, nc * k);
    probe_err err = {};
    for (int i = 0; i < nr; i++) {
        CUDA_CHECK(cudaMemcpy(c, (const char *)j->c[0] + rows[i] * j->n * es, (size_t)j->n * es, cudaMemcpyDeviceToHost));
        for (int q = 0; q < nc; q++) {
            double ref = 0;
            for (size_t x = 0; x < k; x++)
                ref += ad[i * k + x] * wd[q * k + x];
            err_add(&err, dtype_get(c, j->dt, (size_t)cols[q]), ref);
        }
    }
    free(a);
    free(w);
    free(c);
    free(ad);
    free(wd);
    return err_rel(&err);
}

/* The tiled kernel's whole output (set 0) against cuBLAS's on the same inputs. */
static void cross_check_cublas(const gemm_job *j)
{
    size_t bytes = (size_t)j->m * j->n * dtype_size(j->dt);
    void *ref = probe_malloc(bytes);
    probe_poison(j->p, ref, bytes);
    cublas_gemm(j, j->a[0], j->w[0], ref);
    probe_expect_written(j->p, ref, j->dt, (size_t)j->m * j->n, "cuBLAS output for the cross-check");
    void *hr = probe_to_host(ref, bytes), *ht = probe_to_host(j->c[0], bytes);
    probe_err err = {};
    for (size_t i = 0; i < (size_t)j->m * j->n; i++)
        err_add(&err, dtype_get(ht, j->dt, i), dtype_get(hr, j->dt, i));
    double rel = err_rel(&err);
    fprintf(stderr, "       tiled vs cuBLAS over all %d x %d outputs: relative difference %.2e (tol %.0e)\n", j->m,
            j->n, rel, TOL_BF16);
    if (!(rel <= TOL_BF16))
        probe_die("check failed: the tiled GEMM (m %d, n %d, k %d) differs from cuBLAS by %.3e relative, over %.0e",
                  j->m, j->n, j->k, rel, TOL_BF16);
    free(hr);
    free(ht);
    probe_free(ref);
}

static void measure(probe *p, enum probe_dtype dt, int m, int n, int k, bool tiled)
{
    if (tiled && k % TK)
        probe_die("internal: the tiled GEMM needs k %% %d == 0 (k %d)", TK, k);
    gemm_job j = {};
    j.p = p;
    j.dt = dt;
    j.m = m;
    j.n = n;
    j.k = k;
    j.tiled = tiled;
    size_t es = dtype_size(dt), na = (size_t)m * k, nw = (size_t)n * k, nc = (size_t)m * n;
    j.nsets = probe_nsets(p, (double)(na + nw + nc) * es);
    for (int s = 0; s < j.nsets; s++) {
        j.a[s] = probe_malloc(na * es);
        j.w[s] = probe_malloc(nw * es);
        j.c[s] = probe_malloc(nc * es);
        probe_fill(p, j.a[s], dt, na, -1.0f, 1.0f);
        probe_fill(p, j.w[s], dt, nw, -1.0f, 1.0f);
    }

    probe_row r = {};
    r.op = "gemm";
    r.impl = tiled ? "tiled" : "cublas";
    r.dtype = dt;
    r.m = m;
    r.n = n;
    r.k = k;
    r.tol = dt == DT_BF16 ? TOL_BF16 : TOL_FP16;
    probe_poison(p, j.c[0], nc * es);
    launch_gemm(&j, 0, p->stream);
    probe_expect_written(p, j.c[0], dt, nc, "GEMM output");
    r.rel_err = check_sampled(&j);
    probe_check(&r, "C (8 rows x 32 columns sampled)");
    if (tiled)
        cross_check_cublas(&j);

    r.time_us = probe_time_us(p, launch_gemm, &j, j.nsets);
    r.flops = 2.0 * m * n * k;
    r.moved_bytes = (double)(na + nw + nc) * es;
    probe_emit(p, &r);
    for (int s = 0; s < j.nsets; s++) {
        probe_free(j.a[s]);
        probe_free(j.w[s]);
        probe_free(j.c[s]);
    }
}

void probe_gemm(probe *p)
{
    bool q = p->opt.quick;
    const int *ms = q ? quick_ms : full_ms;
    int nms = q ? N_OF(quick_ms) : N_OF(full_ms);
    int nnk = q ? N_OF(quick_nk) : N_OF(full_nk);
    for (int d = 0; d < 2; d++) {
        enum probe_dtype dt = d == 0 ? DT_BF16 : DT_FP16;
        for (int s = 0; s < nnk; s++) {
            int n = q ? quick_nk[s].n : full_nk[s].n, k = q ? quick_nk[s].k : full_nk[s].k;
            for (int i = 0; i < nms; i++)
                if (!q || dt == DT_BF16 || (s == 0 && i == nms - 1)) /* quick: one fp16 shape */
                    measure(p, dt, ms[i], n, k, false);
        }
    }
    int nt = q ? N_OF(quick_tiled) : N_OF(full_tiled);
    for (int t = 0; t < nt; t++) {
        int m = q ? quick_tiled[t].m : full_tiled[t].m;
        int n = q ? quick_tiled[t].n : full_tiled[t].n;
        int k = q ? quick_tiled[t].k : full_tiled[t].k;
        measure(p, DT_BF16, m, n, k, true);
    }
}
