/*
 * scenario.h — scenario files: JSON in, a validated run configuration out.
 *
 * Loading reads the file (jansson), applies `--set path=value` overrides and `--seed`, checks
 * every key against the reference (scenarios/REFERENCE.md), fills in defaults, and keeps the
 * resolved JSON (overrides and defaults included) for the results store. Any error leaves
 * nothing behind: it fills err with file:line:column (parse errors) or the JSON path, what was
 * expected and what was found (semantic errors), and an unknown key names the nearest known one.
 *
 * Ownership: scenario_load fills a caller-provided scenario; scenario_fini releases what it
 * holds (the resolved JSON text, sources, names and the catalog that the config points into).
 */
#ifndef FS_SCENARIO_H
#define FS_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "catalog.h"
#include "fs_error.h"
#include "mig.h"
#include "sim.h"
#include "wl.h"
#include "wl_synth.h"

/* One request source of the workload. */
typedef struct scenario_source {
    bool is_trace;
    wl_synth_spec synth;      /* when !is_trace */
    const char *trace_path;   /* when is_trace: resolved against the scenario's folder */
    wl_trace_opts trace;      /* format, columns, filters (strings owned by the scenario) */
    wl_xform_spec xf;         /* window, sampling, time scale, loop, limit, tags */
} scenario_source;

typedef struct scenario {
    char name[128];
    sim_config cfg;
    scenario_source *sources;
    uint32_t nsources;
    char **tenants, **regions; /* tag names: requests carry 1-based indexes into these (regions
                                  also hold the fleet pools' regions: sim_fleet_entry.region) */
    uint32_t ntenants, nregions;
    uint32_t *name_slots[2];  /* hash tables over tenants and regions: 1-based indexes, 0 empty */
    uint32_t name_cap[2];
    bool store_requests;      /* output.requests */
    char *resolved_json;      /* the scenario as run, compact JSON */
    catalog *cat;             /* GPUs and models; cfg's deployments point into it */
    void **owned;             /* what the specs point into (empirical lengths, paths, names) */
    size_t nowned;
    wl_names names;           /* model, tenant and region names in trace rows */
    /* GPU partitioning as loaded: each fleet pool's MIG layout (n 0: whole GPUs), each
     * deployment's MIG profile (NULL: whole GPUs; such a deployment has that one pool) */
    mig_table *mig;
    mig_layout fleet_mig[SIM_MAX_FLEET];
    const mig_profile *dep_mig[SIM_MAX_DEPLOYMENTS];
} scenario;

typedef struct scenario_opts {
    const char *const *sets;  /* "path=value" overrides, applied in order */
    int nsets;
    bool has_seed;
    uint64_t seed;
    const char *const *catalogs; /* extra catalog files (--catalog) */
    int ncatalogs;
    bool skip_bad_rows;       /* --skip-bad-rows: for every trace */
    double sort_window;       /* --sort SECONDS: for every trace (0: none) */
} scenario_opts;

int scenario_load(const char *path, const scenario_opts *opts, scenario *out, fs_error *err);
/* The same from a JSON tree (taken over: released here). `path` labels messages and anchors
 * relative file names. */
int scenario_load_json(json_t *root, const char *path, const scenario_opts *opts, scenario *out, fs_error *err);
void scenario_fini(scenario *sc);

/* Open the workload sources the scenario describes, sc->nsources of them (the caller owns
 * them). Trace rows may add tenant and region names to sc while they are read. */
int scenario_open_sources(scenario *sc, wl_source **out, fs_error *err);

#endif
