/*
 * copy.cu — device-to-device copies, the memory-bandwidth ceiling the other ops are read against:
 * cudaMemcpyAsync ("memcpy") and a grid-stride kernel of 16-byte loads and stores ("kernel"), over
 * 1 MiB .. 4 GiB.
 *
 * Counted work: flops = 0; moved_bytes = 2 bytes (every byte read once and written once).
 *
 * Check: the destination is poisoned, the copy runs once, and the whole destination must equal the
 * source bit for bit (rel_err 0, tol 0).
 */
#include "probe.h"

static const double full_mib[] = {1, 4, 16, 64, 256, 1024, 4096};
static const double quick_mib[] = {1, 64};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define UNROLL 4

/* n 16-byte words; each thread moves UNROLL words a step, all loaded before any is stored. */
static __global__ void copy_kernel(const uint4 *__restrict__ src, uint4 *__restrict__ dst, size_t n)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += UNROLL * stride) {
        uint4 r[UNROLL];
        for (int u = 0; u < UNROLL; u++)
            if (i + u * stride < n)
                r[u] = src[i + u * stride];
        for (int u = 0; u < UNROLL; u++)
            if (i + u * stride < n)
                dst[i + u * stride] = r[u];
    }
}

/* Counts the 16-byte words where a and b differ. */
static __global__ void mismatch_kernel(const uint4 *a, const uint4 *b, size_t n, unsigned long long *count)
{
    unsigned long long c = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint4 x = a[i], y = b[i];
        c += x.x != y.x || x.y != y.y || x.z != y.z || x.w != y.w;
    }
    if (c)
        atomicAdd(count, c);
}

typedef struct copy_job {
    const probe *p;
    bool kernel;
    size_t bytes;
    int nsets;
    void *src[PROBE_MAX_SETS], *dst[PROBE_MAX_SETS];
} copy_job;

static void launch_copy(void *arg, int set, cudaStream_t s)
{
    const copy_job *j = (const copy_job *)arg;
    if (j->kernel) {
        size_t n = j->bytes / 16;
        copy_kernel<<<probe_grid(j->p, (n + UNROLL - 1) / UNROLL), 256, 0, s>>>((const uint4 *)j->src[set],
                                                                              (uint4 *)j->dst[set], n);
        LAUNCH_CHECK();
    } else {
        CUDA_CHECK(cudaMemcpyAsync(j->dst[set], j->src[set], j->bytes, cudaMemcpyDeviceToDevice, s));
    }
}

static void measure(probe *p, size_t bytes, bool kernel)
{
    copy_job j = {};
    j.p = p;
    j.kernel = kernel;
    j.bytes = bytes;
    j.nsets = probe_nsets(p, 2.0 * bytes);
    for (int s = 0; s < j.nsets; s++) {
        j.src[s] = probe_malloc(bytes);
        j.dst[s] = probe_malloc(bytes);
        probe_fill(p, j.src[s], DT_FP32, bytes / 4, -1.0f, 1.0f);
    }

    probe_row r = {};
    r.op = "copy";
    r.impl = kernel ? "kernel" : "memcpy";
    r.dtype = DT_NONE;
    r.bytes = (long long)bytes;
    probe_poison(p, j.dst[0], bytes);
    launch_copy(&j, 0, p->stream);
    unsigned long long bad = 0;
    CUDA_CHECK(cudaMemsetAsync(p->scratch, 0, sizeof *p->scratch, p->stream));
    mismatch_kernel<<<probe_grid(p, bytes / 16), 256, 0, p->stream>>>((const uint4 *)j.src[0], (const uint4 *)j.dst[0],
                                                                     bytes / 16, p->scratch);
    LAUNCH_CHECK();
    CUDA_CHECK(cudaMemcpyAsync(&bad, p->scratch, sizeof bad, cudaMemcpyDeviceToHost, p->stream));
    CUDA_CHECK(cudaStreamSynchronize(p->stream));
    if (bad)
        probe_die("check failed: copy %s of %zu bytes: %llu of %zu 16-byte words differ from the source", r.impl, bytes,
                  bad, bytes / 16);
    r.rel_err = 0;
    r.tol = 0;

    r.time_us = probe_time_us(p, launch_copy, &j, j.nsets);
    r.moved_bytes = 2.0 * bytes;
    probe_emit(p, &r);
    for (int s = 0; s < j.nsets; s++) {
        probe_free(j.src[s]);
        probe_free(j.dst[s]);
    }
}

void probe_copy(probe *p)
{
    bool q = p->opt.quick;
    int n = q ? N_OF(quick_mib) : N_OF(full_mib);
    for (int i = 0; i < n; i++)
        for (int kernel = 0; kernel < 2; kernel++)
            measure(p, (size_t)((q ? quick_mib[i] : full_mib[i]) * 1048576.0), kernel);
}
