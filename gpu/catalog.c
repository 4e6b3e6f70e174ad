#include "gpu.h"

#include <string.h>
#include <strings.h>

/* Memory, bandwidth, bf16 FLOP/s and power from gpu_specs.csv (aiconfigurator, Apache-2.0).
 * Prices: a round on-demand figure per GPU-hour as seen on cloud list prices in 2025-2026; they
 * vary by provider and region, so every scenario can set its own. */
#define PRICE_NOTE "fleetsim default (round cloud on-demand list price, 2026-11); override per scenario"

static const gpu_spec catalog[] = {
    {"A100-SXM4-40GB", "a100_40gb,a100-40gb", 42949672960.0, 1555e9, 312e12, 400, 2.50, PRICE_NOTE},
    {"A100-SXM4-80GB", "a100_sxm,a100_80gb,a100-80gb,a100", 85899345920.0, 2039e9, 312e12, 400, 3.00, PRICE_NOTE},
    {"H100-SXM", "h100_sxm,h100-sxm5,h100", 85899345920.0, 3350e9, 989e12, 700, 4.00, PRICE_NOTE},
    {"H100-PCIe", "h100_pcie", 85899345920.0, 2000e9, 756.5e12, 350, 3.20, PRICE_NOTE},
    {"H200-SXM", "h200_sxm,h200", 151397597184.0, 4800e9, 989e12, 700, 5.00, PRICE_NOTE},
    {"B200", "b200_sxm,b200-sxm", 193273528320.0, 7700e9, 2250e12, 1000, 7.00, PRICE_NOTE},
    {"L4", "l4", 25769803776.0, 300e9, 121e12, 72, 0.80, PRICE_NOTE},
    {"L40S", "l40s", 48305799168.0, 864e9, 362.05e12, 350, 1.60, PRICE_NOTE},
};

size_t gpu_count(void) { return sizeof catalog / sizeof catalog[0]; }

const gpu_spec *gpu_at(size_t i) { return i < gpu_count() ? &catalog[i] : NULL; }

static int alias_match(const char *aliases, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = aliases; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

const gpu_spec *gpu_find(const char *name)
{
    for (size_t i = 0; i < gpu_count(); i++)
        if (strcasecmp(catalog[i].name, name) == 0 || alias_match(catalog[i].aliases, name))
            return &catalog[i];
    return NULL;
}
