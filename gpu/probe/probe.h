/*
 * probe.h — fleetsim-probe's shared pieces: error checks, the run context, random inputs, checks
 * against CPU references, timing, and output rows.
 *
 * fleetsim-probe runs the kernels an LLM iteration is made of (GEMM, paged decode attention,
 * causal prefill attention, RMSNorm, SiLU-and-mul, rotary embedding, device copy) over grids of
 * shapes on one NVIDIA GPU, and writes one CSV (or JSON) row per measurement for the step-time
 * calibration. It links only the CUDA runtime, cuBLAS and libc, so it builds on a bare GPU node.
 *
 * Every shape is checked before it is timed: inputs are drawn fresh (never zero), the output is
 * poisoned with NaN, the kernel runs once, every output element must be finite (written), and a
 * sample of the outputs must match a CPU reference in double within the op's tolerance. Then it is
 * timed (probe_time_us): a CUDA graph of back-to-back launches rotating among input/output sets so
 * that the L2 cache does not flatter small shapes; the median over replays.
 *
 * Errors: any failed CUDA or cuBLAS call and any failed check print what failed, where and with
 * which numbers on stderr and end the process with exit code 1 (probe_die): a probe with a wrong
 * kernel must write no numbers, so rows are kept in memory and written only at the end.
 *
 * Ownership: main owns the probe context (probe_init .. probe_fini). Each op's driver
 * (probe_gemm, ...) allocates the device buffers of one shape, checks and times it, emits its row
 * (probe_emit copies it) and frees the buffers before the next shape.
 */
#ifndef FS_PROBE_H
#define FS_PROBE_H

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ---- */

[[noreturn]] void probe_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void probe_cuda_fail(const char *file, int line, const char *expr, const char *msg);

/* Check a CUDA runtime call, a cuBLAS call, and the last kernel launch. */
#define CUDA_CHECK(call)                                                                           \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            probe_cuda_fail(__FILE__, __LINE__, #call, cudaGetErrorString(e_));                    \
    } while (0)
#define CUBLAS_CHECK(call)                                                                         \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                           \
            probe_cuda_fail(__FILE__, __LINE__, #call, cublasGetStatusString(s_));                 \
    } while (0)
#define LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

/* ---- element types ---- */

enum probe_dtype { DT_NONE, DT_BF16, DT_FP16, DT_FP32 };

size_t dtype_size(enum probe_dtype dt);
const char *dtype_name(enum probe_dtype dt); /* "" for DT_NONE */
/* Element i of a host array of type dt, as a double. */
double dtype_get(const void *host, enum probe_dtype dt, size_t i);
/* n elements of a host array of type dt as doubles (malloc'd; the caller frees them). */
double *dtype_to_double(const void *host, enum probe_dtype dt, size_t n);

/* ---- the run ---- */

#define PROBE_MAX_SETS 64 /* input/output sets rotated while timing */

typedef struct probe_opts {
    bool quick;         /* the small grid (seconds), for tests */
    bool json;          /* JSON array instead of CSV */
    unsigned ops;       /* bit i: op i of probe.cu's table */
    int repeats;        /* timed replays per measurement (at most; fewer for slow shapes) */
    int device;
    uint64_t seed;      /* base of every random draw */
    const char *output; /* NULL: stdout */
} probe_opts;

/* One output row: a measurement and the check it passed. Shape fields are 0 where they do not
 * apply; the CSV columns are listed in report.cu. */
typedef struct probe_row {
    const char *op, *impl; /* static strings */
    enum probe_dtype dtype;
    long long batch, m, n, k, seq, ctx, heads, kv_heads, head_dim, block_size, bytes;
    double time_us;     /* median per launch */
    double flops;       /* counted minimum work */
    double moved_bytes; /* counted minimum device-memory traffic: inputs read once, outputs written once */
    double rel_err, tol;
} probe_row;

typedef struct probe {
    probe_opts opt;
    /* the device, as the rows report it */
    char name[256];
    int cc_major, cc_minor, sm_count, sm_clock_mhz, mem_clock_mhz;
    int driver, runtime;       /* e.g. 13000 */
    size_t l2_bytes, smem_optin;
    /* resources */
    cudaStream_t stream;       /* all device work runs on it, so it can be captured into graphs; a blocking
                                  stream, so the synchronous cudaMemcpy of the checks waits for it */
    cublasHandle_t blas;
    void *blas_ws;
    unsigned long long *scratch; /* one device counter for checks */
    /* state */
    uint64_t draws;            /* random draws so far: each gets its own seed */
    uint64_t rng;              /* host generator for sampled check positions */
    probe_row *rows;
    size_t nrows, cap;
} probe;

/* Sets up the device (opt.device must exist), stream and cuBLAS; probe_fini releases them. */
void probe_init(probe *p, const probe_opts *opt);
void probe_fini(probe *p);

/* ---- memory and random inputs ---- */

void *probe_malloc(size_t bytes); /* device memory; dies when there is none */
void probe_free(void *dev);       /* NULL is fine */
/* A host copy of device bytes (malloc'd; the caller frees it). */
void *probe_to_host(const void *dev, size_t bytes);

uint64_t probe_rand(probe *p);                       /* host draws */
long long probe_rand_below(probe *p, long long n);   /* uniform in [0, n) */
/* n elements of type dt, uniform in [lo, hi) from a fresh seed, never exactly zero when lo < 0 < hi. */
void probe_fill(probe *p, void *dev, enum probe_dtype dt, size_t n, float lo, float hi);
void probe_poison(probe *p, void *dev, size_t bytes); /* all ones: NaN in every float type */

/* ---- checks ---- */

/* Dies unless all n elements are finite (the kernel wrote every element over the poison). */
void probe_expect_written(probe *p, const void *dev, enum probe_dtype dt, size_t n, const char *what);

/* ||got - ref|| / ||ref|| over the sampled elements, accumulated in double. */
typedef struct probe_err {
    double diff2, ref2;
    long long n, bad; /* elements, and non-finite ones among them */
} probe_err;
void err_add(probe_err *e, double got, double ref);
double err_rel(const probe_err *e); /* +inf when anything was non-finite */

/* Dies with the row's shape when !(r->rel_err <= r->tol); `what` says what was compared. */
void probe_check(const probe_row *r, const char *what);

/* `count` distinct-ish sample positions in [0, n): 0 and n-1 first, then random ones; all of them
 * when n <= count. Returns how many were written to out. */
int probe_sample(probe *p, long long n, int count, long long *out);

/* ---- timing ---- */

/* Enqueues one unit of measured work on `stream`, using input/output set `set`. */
typedef void (*probe_launch_fn)(void *arg, int set, cudaStream_t stream);

/* How many sets of `set_bytes` to rotate: enough that together they are 4x the L2 cache, at most
 * PROBE_MAX_SETS. */
int probe_nsets(const probe *p, double set_bytes);

/* Median time of one launch in microseconds; see bench.cu for the method. */
double probe_time_us(probe *p, probe_launch_fn fn, void *arg, int nsets);

/* ---- output ---- */

/* Keeps a copy of a finished row (time_us, flops and moved_bytes set; TFLOP/s and GB/s are derived
 * when written) and prints a progress line on stderr. */
void probe_emit(probe *p, const probe_row *r);
/* Writes the kept rows (CSV with its header, or JSON) to f, which main opened for opt.output (or
 * stdout) before any measurement. 0, or -1 with a message on stderr. */
int probe_write(const probe *p, FILE *f);
/* The CSV header line (no newline). */
extern const char probe_csv_header[];

/* ---- the ops (one file each) ---- */

void probe_gemm(probe *p);         /* gemm.cu */
void probe_attn_decode(probe *p);  /* attn_decode.cu */
void probe_attn_prefill(probe *p); /* attn_prefill.cu */
void probe_rmsnorm(probe *p);      /* elementwise.cu */
void probe_silu_mul(probe *p);     /* elementwise.cu */
void probe_rope(probe *p);         /* elementwise.cu */
void probe_copy(probe *p);         /* copy.cu */

/* ---- device helpers shared by the kernels ---- */

/* 8 bf16 in a 16-byte word, to floats and back. */
static __device__ __forceinline__ void bf16x8_to_float(uint4 raw, float f[8])
{
    const __nv_bfloat162 *h = (const __nv_bfloat162 *)&raw;
    for (int i = 0; i < 4; i++) {
        float2 v = __bfloat1622float2(h[i]);
        f[2 * i] = v.x;
        f[2 * i + 1] = v.y;
    }
}
static __device__ __forceinline__ uint4 float_to_bf16x8(const float f[8])
{
    uint4 raw;
    __nv_bfloat162 *h = (__nv_bfloat162 *)&raw;
    for (int i = 0; i < 4; i++)
        h[i] = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
    return raw;
}

/* Grid size for a grid-stride loop over n items with 256 threads a block. */
int probe_grid(const probe *p, size_t n);

#endif
