/*
 * gpu.h — the GPU catalog: what a scenario's `fleet[].gpu` may name.
 *
 * Entries are static data (facts from NVIDIA's datasheets as collected in aiconfigurator's
 * gpu_specs.csv); lookups return pointers into that table, valid for the whole program.
 * Names match case-insensitively, on the canonical name or an alias ("H100-SXM", "h100_sxm",
 * "h100"). Prices are ballpark on-demand $/GPU-hour for a default bill; scenarios override them
 * with `fleet[].price_per_hour`.
 */
#ifndef FS_GPU_H
#define FS_GPU_H

#include <stddef.h>

typedef struct gpu_spec {
    const char *name;       /* canonical, e.g. "H100-SXM" */
    const char *aliases;    /* comma-separated */
    double memory_bytes;
    double mem_bw;          /* bytes/s */
    double bf16_flops;      /* dense tensor FLOP/s */
    double tdp_w;
    double price_per_hour;  /* USD per GPU-hour, on demand */
    const char *price_source;
} gpu_spec;

const gpu_spec *gpu_find(const char *name);
size_t gpu_count(void);
const gpu_spec *gpu_at(size_t i);

#endif
