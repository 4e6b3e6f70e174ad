/*
 * scenario_internal.h — what the scenario loader's files share (private to sim/cli/).
 *
 * scenario.c: the top level, fleet (node pools), deployments (with their pools, autoscalers and
 *   cold start), initial placement, failures, router, SLOs, output, --set.
 * scenario_workload.c: the workload: its sources (traces with their formats, synthetic ones),
 *   transforms and tags; opening the sources for a run.
 * scenario_synth.c: one synthetic source's keys (arrival process, lengths, prefixes, sessions).
 */
#ifndef FS_SCENARIO_INTERNAL_H
#define FS_SCENARIO_INTERNAL_H

#include "jsonv.h"
#include "scenario.h"
#include "wl_synth.h"

/* The "workload" section (scenario_workload.c). */
int scenario_load_workload(jv_ctx *c, json_t *root, const scenario_opts *opts, scenario *sc);
/* Whether some source of the workload never runs out (synthetic, or a trace looped forever). */
bool scenario_never_ends(const scenario *sc);

/* A path in the scenario, relative to its folder (allocated). */
char *scenario_resolve_path(const char *scenario_file, const char *path);

/* A tenant (kind 0) or region (1) name's 1-based index, added when new. */
uint32_t scenario_intern(scenario *sc, int kind, const char *name, size_t len);

/* Keep p (malloc'd) until scenario_fini. */
void scenario_own(scenario *sc, void *p);

/* The keys of a synthetic source object (NULL-terminated), besides the ones every source has
 * (scenario_workload.c checks the union). */
extern const char *const scenario_synth_keys[];

/* Read a synthetic source: the object o at JSON path p, whose "arrival" is `arrival` (not
 * "trace"). Fills out (target is set by the caller). Keys of other arrival kinds are errors. */
int scenario_load_synth(jv_ctx *c, json_t *o, const char *p, const char *arrival, wl_synth_spec *out, scenario *sc);

/* The arrival kinds scenario_load_synth knows (NULL-terminated; "trace" is not among them). */
extern const char *const scenario_synth_arrivals[];

/* The input (or output) lengths of the requests of the trace that o names with its "trace"
 * (path) and "format" keys (plus "columns" for the generic formats), for empirical
 * distributions: the n distinct lengths and how often each occurs. Rows may be in any order.
 * The arrays are owned by sc. */
int scenario_trace_lengths(jv_ctx *c, json_t *o, const char *p, bool input, scenario *sc, const int32_t **values,
                           const double **counts, size_t *n);

#endif
