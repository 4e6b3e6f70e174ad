/* What a replica gets of one GPU; time-slicing and MPS: see share.h. */
#include "share.h"

#include <math.h>
#include <stdio.h>

#define GIB (1024.0 * 1024 * 1024)
#define MIB (1024.0 * 1024)

gpu_slice share_whole(const gpu_spec *g)
{
    return (gpu_slice){.memory_bytes = g->memory_bytes, .sms = g->sm_count, .compute_share = 1, .bandwidth_share = 1};
}

int share_check(const gpu_spec *g, int replicas, const double *fractions, int n, double context_bytes,
                fs_error *err)
{
    if (replicas < 1) return fs_error_set(err, NULL, 0, 0, "expected replicas >= 1 for shared %s, got %d", g->name, replicas);
    if (n > replicas)
        return fs_error_set(err, NULL, 0, 0, "%d co-tenants on %s shared into %d replicas: at most %d fit", n, g->name,
                            replicas, replicas);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (!(fractions[i] > 0 && fractions[i] <= 1))
            return fs_error_set(err, NULL, 0, 0,
                                "expected a gpu_memory_utilization in (0, 1] for co-tenant %d of shared %s, got %g",
                                i + 1, g->name, fractions[i]);
        sum += fractions[i];
    }
    double need = sum * g->memory_bytes + n * context_bytes;
    if (need > g->memory_bytes) {
        char list[256] = "";
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof list; i++) {
            int k = snprintf(list + len, sizeof list - len, "%s%.2f", i ? " + " : "", fractions[i]);
            if (k > 0) len += (size_t)k;
        }
        return fs_error_set(err, NULL, 0, 0,
                            "co-tenants of shared %s do not fit in its %.1f GiB (sharing does not isolate memory): "
                            "gpu_memory_utilization %s = %.2f of it (%.1f GiB) plus %d CUDA context%s of %.0f MiB "
                            "make %.1f GiB",
                            g->name, g->memory_bytes / GIB, list, sum, sum * g->memory_bytes / GIB, n, n == 1 ? "" : "s",
                            context_bytes / MIB, need / GIB);
    }
    return 0;
}

gpu_slice share_timesliced(const gpu_spec *g, double fraction)
{
    FS_ASSERT(fraction > 0 && fraction <= 1);
    return (gpu_slice){.memory_bytes = fraction * g->memory_bytes, .sms = g->sm_count, .compute_share = 1,
                       .bandwidth_share = 1};
}

double share_slowdown(int busy, double overhead)
{
    FS_ASSERT(busy >= 0 && overhead >= 0);
    return busy <= 1 ? 1.0 : busy * (1 + overhead);
}

fs_time share_step(fs_time alone, int busy, double overhead)
{
    FS_ASSERT(alone >= 0);
    if (busy <= 1) return alone;
    double t = (double)alone * share_slowdown(busy, overhead);
    FS_ASSERT(t < 9.2e18); /* inside int64 nanoseconds */
    return (fs_time)llround(t);
}

gpu_slice share_mps(const gpu_spec *g, double fraction, double sm_share)
{
    FS_ASSERT(fraction > 0 && fraction <= 1 && sm_share > 0 && sm_share <= 1);
    return (gpu_slice){.memory_bytes = fraction * g->memory_bytes, .sms = sm_share * g->sm_count,
                       .compute_share = sm_share, .bandwidth_share = 1};
}
