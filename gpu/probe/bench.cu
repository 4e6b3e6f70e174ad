/*
 * bench.cu — the probe's machinery shared by every op: errors, the device context, memory, random
 * inputs, checks and timing. See probe.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

/* ---- errors ---- */

void probe_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fleetsim-probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void probe_cuda_fail(const char *file, int line, const char *expr, const char *msg)
{
    const char *base = strrchr(file, '/');
    probe_die("%s:%d: %s failed: %s", base ? base + 1 : file, line, expr, msg);
}

/* ---- element types ---- */

size_t dtype_size(enum probe_dtype dt)
{
    switch (dt) {
    case DT_BF16:
    case DT_FP16: return 2;
    case DT_FP32: return 4;
    case DT_NONE: break;
    }
    return 1;
}

const char *dtype_name(enum probe_dtype dt)
{
    switch (dt) {
    case DT_BF16: return "bf16";
    case DT_FP16: return "fp16";
    case DT_FP32: return "fp32";
    case DT_NONE: break;
    }
    return "";
}

double dtype_get(const void *host, enum probe_dtype dt, size_t i)
{
    switch (dt) {
    case DT_BF16: return (double)__bfloat162float(((const __nv_bfloat16 *)host)[i]);
    case DT_FP16: return (double)__half2float(((const __half *)host)[i]);
    case DT_FP32: return (double)((const float *)host)[i];
    case DT_NONE: break;
    }
    return (double)((const unsigned char *)host)[i];
}

double *dtype_to_double(const void *host, enum probe_dtype dt, size_t n)
{
    double *d = (double *)malloc((n ? n : 1) * sizeof *d);
    if (!d)
        probe_die("out of host memory (%zu doubles)", n);
    for (size_t i = 0; i < n; i++)
        d[i] = dtype_get(host, dt, i);
    return d;
}

/* ---- the device context ---- */

#define CUBLAS_WORKSPACE (32u << 20) /* set explicitly so cuBLAS allocates nothing inside a graph capture */

void probe_init(probe *p, const probe_opts *opt)
{
    memset(p, 0, sizeof *p);
    p->opt = *opt;
    p->rng = opt->seed ^ 0x5851f42d4c957f2dull;
    CUDA_CHECK(cudaSetDevice(opt->device));
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, opt->device));
    snprintf(p->name, sizeof p->name, "%s", prop.name);
    p->cc_major = prop.major;
    p->cc_minor = prop.minor;
    p->sm_count = prop.multiProcessorCount;
    p->l2_bytes = (size_t)prop.l2CacheSize;
    p->smem_optin = prop.sharedMemPerBlockOptin;
    int khz = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, opt->device)); /* peak SM clock */
    p->sm_clock_mhz = khz / 1000;
    CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, opt->device));
    p->mem_clock_mhz = khz / 1000;
    CUDA_CHECK(cudaDriverGetVersion(&p->driver));
    CUDA_CHECK(cudaRuntimeGetVersion(&p->runtime));
    CUDA_CHECK(cudaStreamCreate(&p->stream));
    CUBLAS_CHECK(cublasCreate(&p->blas));
    CUBLAS_CHECK(cublasSetStream(p->blas, p->stream));
    p->blas_ws = probe_malloc(CUBLAS_WORKSPACE);
    CUBLAS_CHECK(cublasSetWorkspace(p->blas, p->blas_ws, CUBLAS_WORKSPACE));
    p->scratch = (unsigned long long *)probe_malloc(sizeof *p->scratch);
}

void probe_fini(probe *p)
{
    CUBLAS_CHECK(cublasDestroy(p->blas));
    probe_free(p->blas_ws);
    probe_free(p->scratch);
    CUDA_CHECK(cudaStreamDestroy(p->stream));
    free(p->rows);
    memset(p, 0, sizeof *p);
}

int probe_grid(const probe *p, size_t n)
{
    size_t blocks = (n + 255) / 256, most = (size_t)p->sm_count * 16;
    return (int)(blocks < 1 ? 1 : blocks > most ? most : blocks);
}

/* ---- memory ---- */

void *probe_malloc(size_t bytes)
{
    void *d = NULL;
    cudaError_t e = cudaMalloc(&d, bytes);
    if (e != cudaSuccess)
        probe_die("cannot allocate %.1f MiB of device memory: %s", bytes / 1048576.0, cudaGetErrorString(e));
    return d;
}

void probe_free(void *dev)
{
    if (dev)
        CUDA_CHECK(cudaFree(dev));
}

void *probe_to_host(const void *dev, size_t bytes)
{
    void *h = malloc(bytes ? bytes : 1);
    if (!h)
        probe_die("out of host memory (%zu bytes)", bytes);
    CUDA_CHECK(cudaMemcpy(h, dev, bytes, cudaMemcpyDeviceToHost));
    return h;
}

/* ---- random inputs ---- */

/* splitmix64's finaliser: a counter-based generator, the same on host and device. */
static __host__ __device__ uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t probe_rand(probe *p)
{
    p->rng += 0x9e3779b97f4a7c15ull;
    return mix64(p->rng);
}

long long probe_rand_below(probe *p, long long n)
{
    return n <= 1 ? 0 : (long long)(probe_rand(p) % (uint64_t)n);
}

/* Element i is lo + (hi - lo) u with u = (2j + 1) / 2^24 for a 23-bit hash j: u is exact in float
 * and never 1/2, so a symmetric range [-a, a) never yields zero. */
static __global__ void fill_kernel(void *buf, enum probe_dtype dt, size_t n, float lo, float span, uint64_t seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t j = (uint32_t)(mix64(seed + i * 0x9e3779b97f4a7c15ull) >> 41);
        float v = lo + span * ((float)(2 * j + 1) * (1.0f / 16777216.0f));
        if (dt == DT_BF16)
            ((__nv_bfloat16 *)buf)[i] = __float2bfloat16(v);
        else if (dt == DT_FP16)
            ((__half *)buf)[i] = __float2half(v);
        else
            ((float *)buf)[i] = v;
    }
}

void probe_fill(probe *p, void *dev, enum probe_dtype dt, size_t n, float lo, float hi)
{
    uint64_t seed = mix64(p->opt.seed + 0x632be59bd9b4e019ull * ++p->draws);
    fill_kernel<<<probe_grid(p, n), 256, 0, p->stream>>>(dev, dt, n, lo, hi - lo, seed);
    LAUNCH_CHECK();
}

void probe_poison(probe *p, void *dev, size_t bytes)
{
    CUDA_CHECK(cudaMemsetAsync(dev, 0xff, bytes, p->stream));
}

/* ---- checks ---- */

/* Counts elements whose exponent bits are all ones (inf or NaN). */
static __global__ void nonfinite_kernel(const void *buf, enum probe_dtype dt, size_t n, unsigned long long *count)
{
    unsigned long long c = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        if (dt == DT_FP32)
            c += (((const uint32_t *)buf)[i] & 0x7f800000u) == 0x7f800000u;
        else {
            uint16_t mask = dt == DT_BF16 ? 0x7f80 : 0x7c00;
            c += (((const uint16_t *)buf)[i] & mask) == mask;
        }
    }
    if (c)
        atomicAdd(count, c);
}

void probe_expect_written(probe *p, const void *dev, enum probe_dtype dt, size_t n, const char *what)
{
    unsigned long long bad = 0;
    CUDA_CHECK(cudaMemsetAsync(p->scratch, 0, sizeof *p->scratch, p->stream));
    nonfinite_kernel<<<probe_grid(p, n), 256, 0, p->stream>>>(dev, dt, n, p->scratch);
    LAUNCH_CHECK();
    CUDA_CHECK(cudaMemcpyAsync(&bad, p->scratch, sizeof bad, cudaMemcpyDeviceToHost, p->stream));
    CUDA_CHECK(cudaStreamSynchronize(p->stream));
    if (bad)
        probe_die("check failed: %llu of %zu elements of the %s are not finite (unwritten over the NaN poison, or "
                  "overflowed)", bad, n, what);
}

void err_add(probe_err *e, double got, double ref)
{
    e->n++;
    if (!isfinite(got)) {
        e->bad++;
        return;
    }
    e->diff2 += (got - ref) * (got - ref);
    e->ref2 += ref * ref;
}

double err_rel(const probe_err *e)
{
    if (e->bad || e->n == 0)
        return INFINITY;
    return e->ref2 > 0 ? sqrt(e->diff2 / e->ref2) : sqrt(e->diff2);
}

void probe_check(const probe_row *r, const char *what)
{
    if (r->rel_err <= r->tol)
        return;
    probe_die("check failed: %s %s %s (batch %lld, m %lld, n %lld, k %lld, seq %lld, ctx %lld, heads %lld/%lld, "
              "bytes %lld): %s has relative error %.3e, over the tolerance %.1e",
              r->op, r->impl, dtype_name(r->dtype), r->batch, r->m, r->n, r->k, r->seq, r->ctx, r->heads,
              r->kv_heads, r->bytes, what, r->rel_err, r->tol);
}

int probe_sample(probe *p, long long n, int count, long long *out)
{
    if (n <= count) {
        for (long long i = 0; i < n; i++)
            out[i] = i;
        return (int)n;
    }
    out[0] = 0;
    out[1] = n - 1;
    for (int i = 2; i < count; i++)
        out[i] = probe_rand_below(p, n);
    return count;
}

/* ---- timing ---- */

/*
 * The method. (1) Warm up: one launch on every set (module load, cuBLAS heuristics, first touch of
 * every page). (2) Estimate one launch from a pass over the sets. (3) Capture a CUDA graph of
 * `count` back-to-back launches cycling through the sets, count a multiple of nsets making a
 * replay last about REPLAY_US (at most MAX_LAUNCHES launches): the graph removes the host's launch
 * gaps that would otherwise dominate microsecond kernels, and the rotation makes each launch find
 * its inputs out of L2 as it would in a model's forward pass. (4) One untimed replay, then `reps`
 * replays back to back, each between two events; a launch's time is a replay's over count, and the
 * result is the median over the replays. reps is opt.repeats unless the replays would take over
 * BUDGET_US, then fewer (at least MIN_REPEATS).
 */
#define REPLAY_US 2000.0
#define BUDGET_US 150000.0
#define MIN_REPEATS 5
#define MAX_LAUNCHES 1024

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int probe_nsets(const probe *p, double set_bytes)
{
    double want = 4.0 * (double)p->l2_bytes / (set_bytes > 1 ? set_bytes : 1);
    int n = (int)ceil(want);
    return n < 1 ? 1 : n > PROBE_MAX_SETS ? PROBE_MAX_SETS : n;
}

double probe_time_us(probe *p, probe_launch_fn fn, void *arg, int nsets)
{
    cudaStream_t s = p->stream;
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    for (int i = 0; i < nsets; i++)
        fn(arg, i, s);
    CUDA_CHECK(cudaEventRecord(e0, s));
    for (int i = 0; i < nsets; i++)
        fn(arg, i, s);
    CUDA_CHECK(cudaEventRecord(e1, s));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    double est = ms * 1000.0 / nsets; /* an overestimate for tiny kernels: it includes launch gaps */
    if (!(est > 0.01))
        est = 0.01;

    int rounds = (int)ceil(REPLAY_US / (est * nsets));
    if (rounds < 1)
        rounds = 1;
    if (rounds * nsets > MAX_LAUNCHES)
        rounds = MAX_LAUNCHES / nsets > 0 ? MAX_LAUNCHES / nsets : 1;
    int count = rounds * nsets;

    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    for (int i = 0; i < count; i++)
        fn(arg, i % nsets, s);
    CUDA_CHECK(cudaStreamEndCapture(s, &graph));
    CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));

    int reps = p->opt.repeats;
    double fit = BUDGET_US / (est * count);
    if (fit < reps)
        reps = fit > MIN_REPEATS ? (int)fit : MIN_REPEATS;
    if (reps > p->opt.repeats)
        reps = p->opt.repeats;

    cudaEvent_t *ev = (cudaEvent_t *)malloc((size_t)(reps + 1) * sizeof *ev);
    double *t = (double *)malloc((size_t)reps * sizeof *t);
    if (!ev || !t)
        probe_die("out of host memory");
    for (int i = 0; i <= reps; i++)
        CUDA_CHECK(cudaEventCreate(&ev[i]));
    CUDA_CHECK(cudaGraphLaunch(exec, s));
    CUDA_CHECK(cudaEventRecord(ev[0], s));
    for (int i = 0; i < reps; i++) {
        CUDA_CHECK(cudaGraphLaunch(exec, s));
        CUDA_CHECK(cudaEventRecord(ev[i + 1], s));
    }
    CUDA_CHECK(cudaEventSynchronize(ev[reps]));
    for (int i = 0; i < reps; i++) {
        CUDA_CHECK(cudaEventElapsedTime(&ms, ev[i], ev[i + 1]));
        t[i] = ms * 1000.0 / count;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double median = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);

    for (int i = 0; i <= reps; i++)
        CUDA_CHECK(cudaEventDestroy(ev[i]));
    free(ev);
    free(t);
    CUDA_CHECK(cudaGraphExecDestroy(exec));
    CUDA_CHECK(cudaGraphDestroy(graph));
    CUDA_CHECK(cudaEventDestroy(e0));
    CUDA_CHECK(cudaEventDestroy(e1));
    return median;
}
