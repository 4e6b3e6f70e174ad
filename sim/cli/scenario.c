/*
 * Scenario validation. Every object is checked the same way: first its keys against the list
 * of known ones (an unknown key is an error that names the nearest known key), then each value
 * with a typed getter that writes the default back into the JSON when the key is absent, so the
 * tree that remains is the resolved scenario. The reference for users is
 * scenarios/REFERENCE.md; keep the two in step.
 */
#include "scenario.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "catalog.h"
#include "migplace.h"
#include "placement.h"
#include "scenario_internal.h"
#include "share.h"

/* ---- sections ---- */

static const char *const fleet_keys[] = {"gpu", "name", "region", "cluster", "count", "price_per_hour", "mig", "gpus_per_node",
                                         "min_nodes", "max_nodes", "provision_s", "image_pull_s", "storage_gbs",
                                         "unneeded_s", "spot", "reclaims_per_hour", "reclaim_notice_s", "mtbf_hours",
                                         "mttr_s", "sharing", "mig_policy", "mig_repartition", "mig_reconfigure_s",
                                         NULL};
static const char *const mig_policies[] = {"first_fit", "best_fit", "mig_aware", NULL}; /* enum mp_policy */
static const char *const sharing_keys[] = {"mode", "replicas", "switch_overhead", NULL};
static const char *const sharing_modes[] = {"time_slicing", "mps", NULL};

/* A path-less error from a module, rewritten at the scenario's JSON path. */
static int at_path(jv_ctx *c, const char *p, const char *key)
{
    char pk[JV_PATH_MAX], msg[sizeof c->err->msg];
    jv_join(pk, p, key);
    snprintf(msg, sizeof msg, "%s", c->err ? c->err->msg : "");
    return fs_error_at(c->err, c->file, pk, "%s", msg);
}

/* An integer in 1..max, or 0 where the caller allows 0 for a reason it checks itself (*out 0):
 * the messages for every other value keep the usual range. */
static int get_int_or_zero(jv_ctx *c, json_t *o, const char *p, const char *key, bool required, long long def,
                           long long max, long long *out)
{
    json_t *v = json_object_get(o, key);
    if (v && json_is_number(v) && json_number_value(v) == 0) {
        *out = 0;
        return 0;
    }
    return jv_get_int(c, o, p, key, required, def, 1, max, out);
}

/* A span in seconds within [min_s, max_s] (min_s excluded when min_open), with a default. */
static int get_secs_in(jv_ctx *c, json_t *o, const char *p, const char *key, double def, double min_s, bool min_open,
                       double max_s, fs_time *out)
{
    double x;
    if (jv_get_num(c, o, p, key, false, def, min_s, min_open, max_s, &x)) return -1;
    return jv_get_span(c, o, p, key, true, 0, true, 1e9, out); /* whole ns; a tiny positive value is an error */
}

/* A span in seconds within [0, max_s] (> 0 unless zero_ok), with a default. */
static int get_secs(jv_ctx *c, json_t *o, const char *p, const char *key, double def, bool zero_ok, double max_s,
                    fs_time *out)
{
    return get_secs_in(c, o, p, key, def, 0, !zero_ok, max_s, out);
}

/* A string of at most SIM_NAME_MAX - 1 bytes (the error names its path). */
static int check_name_len(jv_ctx *c, const char *p, const char *key, const char *s)
{
    if (strlen(s) < SIM_NAME_MAX) return 0;
    char pk[JV_PATH_MAX];
    jv_join(pk, p, key);
    return fs_error_at(c->err, c->file, pk, "expected at most %d bytes, got %zu", SIM_NAME_MAX - 1, strlen(s));
}

/* A fleet entry's "mig" layout, checked against the GPU type's geometry. */
/* A fleet entry's "mig": a fixed layout checked against the GPU type's geometry, or "dynamic"
 * (instances made as replicas come: fe->mig_dynamic). */
static int load_mig_layout(jv_ctx *c, json_t *o, const char *p, const gpu_spec *g, scenario *sc, mig_layout *out,
                           sim_fleet_entry *fe)
{
    const char *text;
    if (jv_get_str(c, o, p, "mig", true, NULL, NULL, &text)) return -1;
    if (!sc->mig && !(sc->mig = mig_table_new(c->err))) return -1;
    const mig_gpu *mg = mig_gpu_find(sc->mig, g->name);
    if (!mg) {
        char pk[JV_PATH_MAX];
        jv_join(pk, p, "mig");
        return fs_error_at(c->err, c->file, pk, "no MIG geometry is known for %s (MIG layouts exist for the A100, "
                           "H100 and H200 types)", g->name);
    }
    if (strcasecmp(text, "dynamic") == 0) {
        out->gpu = mg;
        out->n = 0;
        fe->mig_dynamic = mg;
        return 0;
    }
    return mig_layout_parse(mg, text, out, c->err) ? at_path(c, p, "mig") : 0;
}

/* A dynamic MIG pool's policy for new instances, and whether it may repartition. */
static int load_mig_dynamic(jv_ctx *c, json_t *o, const char *p, sim_fleet_entry *fe)
{
    static const char *const keys[] = {"mig_policy", "mig_repartition", "mig_reconfigure_s"};
    if (!fe->mig_dynamic) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (json_object_get(o, keys[k])) {
                char pk[JV_PATH_MAX];
                jv_join(pk, p, keys[k]);
                return fs_error_at(c->err, c->file, pk, "applies to a pool with \"mig\": \"dynamic\" only");
            }
        return 0;
    }
    if (fe->count % fe->gpus_per_node != 0)
        return fs_error_at(c->err, c->file, p, "a pool with \"mig\": \"dynamic\" has whole nodes: expected count to "
                           "be a multiple of gpus_per_node (%u), got %u", fe->gpus_per_node, fe->count);
    const char *policy;
    if (jv_get_str(c, o, p, "mig_policy", false, "mig_aware", mig_policies, &policy) ||
        jv_get_bool(c, o, p, "mig_repartition", false, &fe->mig_repartition) ||
        jv_get_span(c, o, p, "mig_reconfigure_s", false, 60, true, 1e9, &fe->mig_reconfigure))
        return -1;
    fe->mig_policy = jv_choice_index(mig_policies, policy);
    return 0;
}

/* Nodes a pool starts with: its GPUs in nodes of gpus_per_node (the last may have fewer). */
static uint32_t start_nodes(const sim_fleet_entry *fe)
{
    return (fe->count + fe->gpus_per_node - 1) / fe->gpus_per_node;
}

/* The node bounds of a pool: min_nodes <= starting nodes <= max_nodes, max_nodes >= 1; a pool
 * of MIG-partitioned nodes keeps the nodes it starts with. */
static int load_node_bounds(jv_ctx *c, json_t *o, const char *p, sim_fleet_entry *out, bool mig)
{
    long long lo, hi, n = start_nodes(out);
    char pk[JV_PATH_MAX];
    bool has_min = json_object_get(o, "min_nodes") != NULL;
    if (jv_get_int(c, o, p, "min_nodes", false, n, 0, 1000000, &lo)) return -1;
    if (jv_get_int(c, o, p, "max_nodes", false, n > lo ? n : lo, 1, 1000000, &hi)) return -1;
    if (out->count == 0 && hi < 1) {
        jv_join(pk, p, "count");
        return fs_error_at(c->err, c->file, pk, "expected an integer in 1..1000000, got 0 (a pool starts with no "
                           "GPUs only when it may grow: set max_nodes >= 1)");
    }
    if (has_min && hi < lo) {
        jv_join(pk, p, "max_nodes");
        return fs_error_at(c->err, c->file, pk, "expected at least min_nodes (%lld), got %lld", lo, hi);
    }
    if (lo > n || hi < n) {
        jv_join(pk, p, lo > n ? "min_nodes" : "max_nodes");
        return fs_error_at(c->err, c->file, pk, "expected %s the starting node count (%lld: count %u in nodes of "
                           "%u GPUs), got %lld", lo > n ? "at most" : "at least", n, out->count, out->gpus_per_node,
                           lo > n ? lo : hi);
    }
    if (mig && (lo != n || hi != n)) {
        jv_join(pk, p, lo != n ? "min_nodes" : "max_nodes");
        return fs_error_at(c->err, c->file, pk, "expected the starting node count (%lld), got %lld: a pool with a "
                           "\"mig\" layout keeps its nodes (partitioned nodes are not added or removed)", n,
                           lo != n ? lo : hi);
    }
    out->min_nodes = (uint32_t)lo;
    out->max_nodes = (uint32_t)hi;
    return 0;
}

/* Spot capacity, node failures, and how fast a node (and a replica on it) comes up. Defaults:
 * a cloud GPU VM is Ready about 3 min after it is asked for; an inference image pulls in about
 * a minute; weights load at 2 GB/s; Cluster Autoscaler removes a node unneeded for 10 min; a
 * spot reclaim comes with AWS's two-minute notice; a failed node is back after 10 min. */
static int load_pool_dynamics(jv_ctx *c, json_t *o, const char *p, sim_fleet_entry *out)
{
    double gbs;
    if (get_secs(c, o, p, "provision_s", 180, true, 86400, &out->provision) ||
        get_secs(c, o, p, "image_pull_s", 60, true, 86400, &out->image_pull) ||
        jv_get_num(c, o, p, "storage_gbs", false, 2, 0, true, 1e6, &gbs) ||
        get_secs(c, o, p, "unneeded_s", 600, true, 86400 * 365.25, &out->unneeded_time) ||
        jv_get_bool(c, o, p, "spot", false, &out->spot) ||
        jv_get_num(c, o, p, "reclaims_per_hour", false, 0, 0, false, 3600, &out->reclaims_per_hour) ||
        get_secs(c, o, p, "reclaim_notice_s", 120, true, 86400, &out->reclaim_notice) ||
        jv_get_num(c, o, p, "mtbf_hours", false, 0, 0, false, 1e9, &out->mtbf_hours) ||
        get_secs(c, o, p, "mttr_s", 600, true, 86400 * 365.25, &out->mttr))
        return -1;
    out->storage_bw = gbs * 1e9;
    if (out->reclaims_per_hour > 0 && !out->spot) {
        char pk[JV_PATH_MAX];
        jv_join(pk, p, "reclaims_per_hour");
        return fs_error_at(c->err, c->file, pk, "expected 0 unless \"spot\" is true (only spot capacity is "
                           "reclaimed), got %g", out->reclaims_per_hour);
    }
    return 0;
}

/* A pool's "sharing": time-slicing or MPS, `replicas` per GPU (gpu/share.h). */
static int load_sharing(jv_ctx *c, json_t *o, const char *p, sim_fleet_entry *out, bool mig)
{
    json_t *sh = json_object_get(o, "sharing");
    if (!sh) return 0;
    char ps[JV_PATH_MAX];
    jv_join(ps, p, "sharing");
    const char *mode;
    long long n;
    if (!json_is_object(sh)) return jv_bad(c, ps, "an object with mode and replicas", sh);
    if (mig) return fs_error_at(c->err, c->file, ps, "a pool is either partitioned by MIG or shared, not both");
    if (jv_check_keys(c, sh, ps, sharing_keys) ||
        jv_get_str(c, sh, ps, "mode", false, "time_slicing", sharing_modes, &mode) ||
        jv_get_int(c, sh, ps, "replicas", true, 0, 2, 48, &n))
        return -1;
    out->shares = (uint32_t)n;
    out->mps = strcmp(mode, "mps") == 0;
    if (out->mps && json_object_get(sh, "switch_overhead"))
        return fs_error_at(c->err, c->file, ps, "switch_overhead applies to time_slicing only: MPS clients run at "
                           "the same time");
    return out->mps ? 0 : jv_get_num(c, sh, ps, "switch_overhead", false, 0, 0, false, 10, &out->switch_overhead);
}

static int load_fleet_entry(jv_ctx *c, scenario *sc, json_t *o, const char *p, sim_fleet_entry *out, mig_layout *mig)
{
    const catalog *cat = sc->cat;
    const char *gpu, *name;
    long long count;
    if (!json_is_object(o)) return jv_bad(c, p, "an object with gpu and count", o);
    if (jv_check_keys(c, o, p, fleet_keys) || jv_get_str(c, o, p, "gpu", true, NULL, NULL, &gpu)) return -1;
    const gpu_spec *g = catalog_gpu(cat, gpu);
    if (!g) {
        char list[1024], pg[JV_PATH_MAX];
        catalog_gpu_names(cat, list, sizeof list);
        jv_join(pg, p, "gpu");
        return fs_error_at(c->err, c->file, pg, "expected a known GPU (%s; see fleetsim catalog), got \"%s\"", list, gpu);
    }
    if (get_int_or_zero(c, o, p, "count", true, 0, 1000000, &count) ||
        jv_get_num(c, o, p, "price_per_hour", false, g->price_per_hour, 0, false, 1e6, &out->price_per_hour) ||
        jv_get_str(c, o, p, "name", false, g->name, NULL, &name) || check_name_len(c, p, "name", name))
        return -1;
    snprintf(out->gpu, sizeof out->gpu, "%s", g->name);
    out->idle_w = g->idle_w;
    out->tdp_w = g->tdp_w;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->count = (uint32_t)count;
    out->region = 0;
    out->cluster[0] = '\0';
    if (json_object_get(o, "cluster")) { /* a label for reports */
        const char *cluster;
        if (jv_get_str(c, o, p, "cluster", true, NULL, NULL, &cluster) || check_name_len(c, p, "cluster", cluster))
            return -1;
        snprintf(out->cluster, sizeof out->cluster, "%s", cluster);
    }
    if (json_object_get(o, "region")) {
        const char *region;
        if (jv_get_str(c, o, p, "region", true, NULL, NULL, &region)) return -1;
        out->region = scenario_intern(sc, 1, region, strlen(region));
    }
    long long per_node;
    if (jv_get_int(c, o, p, "gpus_per_node", false, 8, 1, PL_MAX_GPUS, &per_node)) return -1;
    out->gpus_per_node = (uint32_t)per_node;
    mig->n = 0;
    out->mig_dynamic = NULL;
    if (json_object_get(o, "mig") && load_mig_layout(c, o, p, g, sc, mig, out)) return -1;
    bool partitioned = mig->n > 0 || out->mig_dynamic;
    if (load_sharing(c, o, p, out, partitioned) || load_mig_dynamic(c, o, p, out)) return -1;
    out->mig = mig->n > 0;
    return load_node_bounds(c, o, p, out, partitioned) || load_pool_dynamics(c, o, p, out) ? -1 : 0;
}

static int load_fleet(jv_ctx *c, scenario *sc, json_t *root)
{
    sim_config *cfg = &sc->cfg;
    json_t *f = json_object_get(root, "fleet");
    if (!f) return fs_error_at(c->err, c->file, "fleet", "required key is missing (expected an array of {gpu, count})");
    if (json_is_object(f)) { /* one entry may be written without the array */
        json_t *arr = json_array();
        json_array_append(arr, f);
        json_object_set_new(root, "fleet", arr);
        f = arr;
    }
    if (!json_is_array(f) || json_array_size(f) == 0) return jv_bad(c, "fleet", "a non-empty array of {gpu, count}", f);
    if (json_array_size(f) > SIM_MAX_FLEET)
        return fs_error_at(c->err, c->file, "fleet", "expected at most %d entries, got %zu", SIM_MAX_FLEET, json_array_size(f));
    size_t i;
    json_t *o = NULL;
    json_array_foreach(f, i, o) {
        char p[JV_PATH_MAX];
        jv_join_index(p, "fleet", i);
        if (load_fleet_entry(c, sc, o, p, &cfg->fleet[i], &sc->fleet_mig[i])) return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cfg->fleet[k].name, cfg->fleet[i].name) == 0)
                return fs_error_at(c->err, c->file, p, "pool name \"%s\" already appears in fleet[%zu]; give each "
                                   "pool a \"name\"", cfg->fleet[i].name, k);
    }
    cfg->nfleet = (uint32_t)i;
    return 0;
}

static const char *const dep_keys[] = {"name", "model", "kind", "gpu", "pools", "gpus_per_replica", "replicas",
                                       "max_batch", "service", "tp", "engine", "disaggregation", "mig_profile",
                                       "autoscale", "cold_start", NULL};
static const char *const kinds[] = {"fixed", "llm", NULL};
static const char *const fixed_used[] = {"name", "model", "kind", "gpu", "pools", "gpus_per_replica", "replicas",
                                         "max_batch", "service", "mig_profile", "autoscale", "cold_start", NULL};
static const char *const llm_used[] = {"name", "model", "kind", "gpu", "pools", "gpus_per_replica", "replicas", "tp",
                                       "engine", "disaggregation", "mig_profile", "autoscale", "cold_start", NULL};
static const char *const disagg_keys[] = {"prefill_replicas", "decode_replicas", "link_gbs", "latency_ms", NULL};
static const char *const service_keys[] = {"dist", "mean_ms", "cv", NULL};
static const char *const service_dists[] = {"constant", "exponential", "lognormal", NULL};
static const char *const routers[] = {"round_robin",  "random",         "least_outstanding", "central_queue",
                                      "least_tokens", "power_of_two",   "kv_utilization",    "scored",
                                      "session_affinity", NULL};
static const char *const engine_keys[] = {"max_num_seqs", "max_num_batched_tokens", "max_model_len", "block_size",
                                          "gpu_memory_utilization", "num_gpu_blocks", "enable_prefix_caching",
                                          "enable_chunked_prefill", "async_scheduling", "cuda_graphs", "dtype",
                                          "kv_cache_dtype", "policy", "fast_forward", NULL};
static const char *const weight_dtypes[] = {"bf16", "fp8", "int4", NULL};
static const char *const kv_dtypes[] = {"auto", "bf16", "fp8", NULL};
static const char *const policies[] = {"fcfs", "priority", NULL};

static int load_fixed(jv_ctx *c, json_t *o, const char *p, sim_deployment *d)
{
    const char *dist;
    long long n;
    json_t *svc = NULL;
    if (jv_check_used(c, o, p, "kind", "fixed", fixed_used)) return -1;
    if (jv_get_int(c, o, p, "gpus_per_replica", false, 1, 1, 64, &n)) return -1;
    d->gpus_per_replica = (uint32_t)n;
    if (jv_get_int(c, o, p, "max_batch", false, 1, 1, 1000000, &n)) return -1;
    d->max_batch = (uint32_t)n;
    char ps[JV_PATH_MAX];
    jv_join(ps, p, "service");
    if (jv_get_obj(c, o, p, "service", true, &svc) || jv_check_keys(c, svc, ps, service_keys) ||
        jv_get_str(c, svc, ps, "dist", false, "exponential", service_dists, &dist))
        return -1;
    d->service = (enum sim_service)jv_choice_index(service_dists, dist);
    static const char *const svc_used[][4] = {{"dist", "mean_ms", NULL}, {"dist", "mean_ms", NULL},
                                              {"dist", "mean_ms", "cv", NULL}};
    if (jv_check_used(c, svc, ps, "dist", dist, svc_used[d->service])) return -1;
    fs_time mean;
    if (jv_get_span(c, svc, ps, "mean_ms", true, 0, false, 1e6, &mean)) return -1;
    d->service_mean_s = fs_time_to_s(mean);
    if (d->service == SIM_SERVICE_LOGNORMAL && jv_get_num(c, svc, ps, "cv", false, 1, 0, true, 100, &d->service_cv))
        return -1;
    return 0;
}

/* vLLM's defaults when the user sets none (EngineArgs.get_batch_defaults, OpenAI API server):
 * GPUs with at least 70 GiB that are not A100s get 8192 tokens and 1024 sequences, others 2048
 * and 256. */
static void engine_defaults(const gpu_spec *g, long long *tokens, long long *seqs)
{
    char lower[64];
    size_t i = 0;
    for (; g->name[i] && i + 1 < sizeof lower; i++) lower[i] = (char)tolower((unsigned char)g->name[i]);
    lower[i] = '\0';
    bool big = g->memory_bytes >= 70.0 * 1073741824.0 && !strstr(lower, "a100");
    *tokens = big ? 8192 : 2048;
    *seqs = big ? 1024 : 256;
}

/* An LLM deployment on whole GPUs of type `whole`, or on MIG instances of profile mp (of mg). */
static int load_llm(jv_ctx *c, const catalog *cat, json_t *o, const char *p, sim_deployment *d, const gpu_spec *whole,
                    const mig_gpu *mg, const mig_profile *mp, bool has_replicas)
{
    sim_llm *l = &d->llm;
    gpu_spec part; /* what the engine sees of its device: the instance's memory on MIG */
    const gpu_spec *g = whole;
    if (mp) {
        gpu_slice sl = mig_slice(mg, mp);
        part = *whole;
        part.memory_bytes = sl.memory_bytes;
        g = &part;
        l->compute_share = sl.compute_share;
        l->bandwidth_share = sl.bandwidth_share;
    }
    long long tp, n, tokens, seqs, maxlen, bs, blocks = 0;
    double util;
    const char *wd, *kd, *policy;
    json_t *e = NULL;
    char pe[JV_PATH_MAX];
    jv_join(pe, p, "engine");
    if (jv_check_used(c, o, p, "kind", "llm", llm_used)) return -1;
    l->model = catalog_model(cat, d->model);
    if (!l->model) {
        char list[2048], pm[JV_PATH_MAX];
        catalog_model_names(cat, list, sizeof list);
        jv_join(pm, p, "model");
        return fs_error_at(c->err, c->file, pm, "expected a model of the catalog (%s; see fleetsim catalog), got \"%s\"",
                           list, d->model);
    }
    l->gpu = whole;
    if (jv_get_int(c, o, p, "tp", false, 1, 1, 64, &tp)) return -1;
    if (mp && mig_check_tp(mp, (int)tp, c->err)) return at_path(c, p, "tp");
    if (tp & (tp - 1) || l->model->heads % tp) {
        char pt[JV_PATH_MAX];
        jv_join(pt, p, "tp");
        return fs_error_at(c->err, c->file, pt, "expected a power of two that divides the model's %d attention "
                           "heads, got %lld", l->model->heads, tp);
    }
    if (jv_get_int(c, o, p, "gpus_per_replica", false, tp, tp, tp, &n)) return -1;
    d->gpus_per_replica = (uint32_t)tp;
    l->tp = (int32_t)tp;
    engine_defaults(g, &tokens, &seqs);
    if (jv_get_obj(c, o, p, "engine", false, &e) || jv_check_keys(c, e, pe, engine_keys) ||
        jv_get_int(c, e, pe, "max_num_seqs", false, seqs, 1, 1 << 20, &seqs) ||
        jv_get_int(c, e, pe, "max_model_len", false, l->model->max_position, 2, 1 << 30, &maxlen) ||
        jv_get_bool(c, e, pe, "enable_chunked_prefill", true, &l->chunked_prefill))
        return -1;
    if (!l->chunked_prefill && tokens < maxlen) tokens = maxlen; /* as vLLM: a whole prompt per step */
    if (jv_get_int(c, e, pe, "max_num_batched_tokens", false, tokens, 1, 1 << 30, &tokens) ||
        jv_get_int(c, e, pe, "block_size", false, 16, 1, 256, &bs) ||
        jv_get_num(c, e, pe, "gpu_memory_utilization", false, 0.9, 0, true, 1, &util) ||
        (json_object_get(e, "num_gpu_blocks") && jv_get_int(c, e, pe, "num_gpu_blocks", true, 0, 2, 1LL << 31, &blocks)) ||
        jv_get_bool(c, e, pe, "enable_prefix_caching", true, &l->prefix_caching) ||
        jv_get_bool(c, e, pe, "async_scheduling", true, &l->async_scheduling) ||
        jv_get_bool(c, e, pe, "cuda_graphs", true, &l->cuda_graphs) ||
        jv_get_bool(c, e, pe, "fast_forward", true, &l->fast_forward) ||
        jv_get_str(c, e, pe, "dtype", false, "bf16", weight_dtypes, &wd) ||
        jv_get_str(c, e, pe, "kv_cache_dtype", false, "auto", kv_dtypes, &kd) ||
        jv_get_str(c, e, pe, "policy", false, "fcfs", policies, &policy))
        return -1;
    if (!l->chunked_prefill && tokens < maxlen) {
        char pt[JV_PATH_MAX];
        jv_join(pt, pe, "max_num_batched_tokens");
        return fs_error_at(c->err, c->file, pt, "expected at least max_model_len (%lld) when enable_chunked_prefill "
                           "is false (a longer prompt could never be scheduled; vLLM refuses this), got %lld",
                           maxlen, tokens);
    }
    l->max_num_seqs = (int32_t)seqs;
    l->max_num_batched_tokens = (int32_t)tokens;
    l->max_model_len = (int32_t)maxlen;
    l->block_size = (int32_t)bs;
    l->weights = jv_choice_index(weight_dtypes, wd) == 0 ? ST_BF16 : jv_choice_index(weight_dtypes, wd) == 1 ? ST_FP8 : ST_INT4;
    l->kv = strcmp(kd, "fp8") == 0 ? ST_FP8 : ST_BF16;
    l->priority = strcmp(policy, "priority") == 0;
    if (blocks == 0) {
        blocks = st_kv_blocks(l->model, g, l->tp, l->weights, l->kv, util, l->block_size, l->max_num_batched_tokens,
                              l->max_num_seqs);
        if (blocks < 2) {
            char pm[JV_PATH_MAX];
            jv_join(pm, p, "model");
            return fs_error_at(c->err, c->file, pm, "%s does not fit on %s%s%s%s with tp %d: %.1f GiB of weights per GPU, "
                               "%.1f GiB usable at gpu_memory_utilization %g; %s",
                               l->model->name, mp ? "a MIG instance " : "", mp ? mp->name : "", mp ? " of " : "", g->name, l->tp,
                               st_weight_bytes_per_gpu(l->model, l->weights, l->tp) / 1073741824.0,
                               g->memory_bytes * util / 1073741824.0, util,
                               mp ? "use a larger profile or whole GPUs" : "raise tp or use a larger GPU");
        }
    }
    l->num_gpu_blocks = (int32_t)blocks;
    d->mem_fraction = util;
    if (json_object_get(o, "disaggregation")) {
        json_t *dg = NULL;
        char pd[JV_PATH_MAX];
        long long np, nd;
        double gbs;
        jv_join(pd, p, "disaggregation");
        if (jv_get_obj(c, o, p, "disaggregation", true, &dg) || jv_check_keys(c, dg, pd, disagg_keys) ||
            jv_get_int(c, dg, pd, "prefill_replicas", true, 0, 1, 100000, &np) ||
            jv_get_int(c, dg, pd, "decode_replicas", true, 0, 1, 100000, &nd) ||
            jv_get_num(c, dg, pd, "link_gbs", false, 50, 0, true, 1e6, &gbs) ||
            jv_get_span(c, dg, pd, "latency_ms", false, 0.5, true, 1e6, &l->kv_link_latency))
            return -1;
        if (has_replicas && (long long)d->replicas != np + nd) {
            char pr[JV_PATH_MAX];
            jv_join(pr, p, "replicas");
            return fs_error_at(c->err, c->file, pr, "expected prefill_replicas + decode_replicas (%lld) with "
                               "disaggregation, got %u (or leave replicas out)", np + nd, d->replicas);
        }
        d->replicas = (uint32_t)(np + nd);
        json_object_set_new(o, "replicas", json_integer(np + nd));
        l->prefill_replicas = (uint32_t)np;
        l->kv_link_bw = gbs * 1e9;
    }
    long long kv_tokens = (blocks - 1) * bs;
    if (kv_tokens < maxlen) {
        char pm[JV_PATH_MAX];
        jv_join(pm, pe, "max_model_len");
        return fs_error_at(c->err, c->file, pm, "the KV cache holds %lld tokens (%lld blocks of %lld), less than "
                           "max_model_len %lld (vLLM refuses to start so); set a smaller engine.max_model_len",
                           kv_tokens, blocks - 1, bs, maxlen);
    }
    return 0;
}

/* The fleet's pool names, quoted, for messages. */
static void pool_names(const sim_config *cfg, char *out, size_t size)
{
    out[0] = '\0';
    for (uint32_t f = 0; f < cfg->nfleet; f++)
        snprintf(out + strlen(out), size - strlen(out), "%s\"%s\"", f ? ", " : "", cfg->fleet[f].name);
}

/* The node pools a deployment's replicas may use, in order of preference (d->pools; d->gpu is
 * the first), and their GPU type (*gout). Without "pools": the first pool of the deployment's
 * "gpu" type (default fleet[0]'s), written back; without "gpu": the first pool's type. */
static int load_pools(jv_ctx *c, scenario *sc, json_t *o, const char *p, sim_deployment *d, const gpu_spec **gout)
{
    const sim_config *cfg = &sc->cfg;
    const gpu_spec *g = NULL;
    char pk[JV_PATH_MAX], pp[JV_PATH_MAX];
    jv_join(pp, p, "pools");
    json_t *pv = json_object_get(o, "pools");
    bool has_gpu = json_object_get(o, "gpu") != NULL;
    d->npools = 0;
    if (!pv || has_gpu) {
        const char *gpu;
        if (jv_get_str(c, o, p, "gpu", false, cfg->fleet[0].gpu, NULL, &gpu)) return -1;
        g = catalog_gpu(sc->cat, gpu);
        d->gpu = UINT32_MAX;
        for (uint32_t f = cfg->nfleet; g && f-- > 0;)
            if (strcmp(cfg->fleet[f].gpu, g->name) == 0) d->gpu = f;
        if (d->gpu == UINT32_MAX) {
            jv_join(pk, p, "gpu");
            return fs_error_at(c->err, c->file, pk, "expected a GPU type of the fleet, got \"%s\"", gpu);
        }
    }
    if (!pv) {
        d->pools[d->npools++] = d->gpu;
        json_t *a = json_array();
        json_array_append_new(a, json_string(cfg->fleet[d->gpu].name));
        json_object_set_new(o, "pools", a);
        *gout = g;
        return 0;
    }
    bool one = json_is_string(pv);
    size_t n = one ? 1 : json_is_array(pv) ? json_array_size(pv) : 0;
    if (n == 0) return jv_bad(c, pp, "a pool name or a non-empty array of pool names", pv);
    for (size_t i = 0; i < n; i++) {
        json_t *v = one ? pv : json_array_get(pv, i);
        if (one) snprintf(pk, sizeof pk, "%s", pp);
        else jv_join_index(pk, pp, i);
        if (!json_is_string(v)) return jv_bad(c, pk, "a pool name", v);
        const char *s = json_string_value(v);
        uint32_t f = 0;
        while (f < cfg->nfleet && strcmp(cfg->fleet[f].name, s) != 0) f++;
        if (f == cfg->nfleet) {
            char list[1024];
            pool_names(cfg, list, sizeof list);
            return fs_error_at(c->err, c->file, pk, "expected the name of a pool of the fleet (%s), got \"%s\"", list, s);
        }
        for (uint32_t k = 0; k < d->npools; k++)
            if (d->pools[k] == f)
                return fs_error_at(c->err, c->file, pk, "expected each pool once, got \"%s\" again (also pools[%u])", s, k);
        if (!g) g = catalog_gpu(sc->cat, cfg->fleet[f].gpu);
        if (strcmp(cfg->fleet[f].gpu, g->name) != 0)
            return fs_error_at(c->err, c->file, pk, "expected a pool of GPU type %s (%s), got \"%s\" of %s: a "
                               "deployment's replicas are all of one GPU type", g->name,
                               has_gpu ? "the deployment's gpu" : "as its first pool", s, cfg->fleet[f].gpu);
        d->pools[d->npools++] = f;
    }
    d->gpu = d->pools[0];
    if (!has_gpu) json_object_set_new(o, "gpu", json_string(g->name));
    for (uint32_t k = 0; k < d->npools && d->npools > 1; k++)
        if (sc->fleet_mig[d->pools[k]].n > 0 || cfg->fleet[d->pools[k]].mig_dynamic)
            return fs_error_at(c->err, c->file, pp, "expected a single pool when one has a \"mig\" layout (fleet[%u] "
                               "\"%s\": replicas on MIG instances stay on their pool), got %u pools", d->pools[k],
                               cfg->fleet[d->pools[k]].name, d->npools);
    *gout = g;
    return 0;
}

static const char *const scalers[] = {"hpa", "kpa", NULL};
static const char *const autoscale_keys[] = {"policy", "metric", "target", "min_replicas", "max_replicas",
                                             "tolerance", "sync_period_s", "scrape_interval_s",
                                             "scale_down_stabilization_s", "scale_up_stabilization_s",
                                             "target_utilization_pct", "stable_window_s", "panic_window_pct",
                                             "panic_threshold_pct", "max_scale_up_rate", "max_scale_down_rate",
                                             "tick_s", "scale_to_zero", "scale_to_zero_grace_s", NULL};
static const char *const hpa_used[] = {"policy", "metric", "target", "min_replicas", "max_replicas", "tolerance",
                                       "sync_period_s", "scrape_interval_s", "scale_down_stabilization_s",
                                       "scale_up_stabilization_s", NULL};
static const char *const kpa_used[] = {"policy", "metric", "target", "min_replicas", "max_replicas",
                                       "target_utilization_pct", "stable_window_s", "panic_window_pct",
                                       "panic_threshold_pct", "max_scale_up_rate", "max_scale_down_rate", "tick_s",
                                       "scale_to_zero", "scale_to_zero_grace_s", NULL};
/* in the order of enum as_metric */
static const char *const hpa_metrics[] = {"utilization", "queue", "concurrency", "kv_usage", NULL};
static const char *const kpa_metrics[] = {"concurrency", "rps", NULL};

/* A Kubernetes HPA (autoscaling/v2 with its default behaviors) over the object a at path pa.
 * utilization and kv_usage targets are percentages. */
static int load_hpa(jv_ctx *c, json_t *a, const char *pa, sim_autoscale *as)
{
    const char *metric;
    double target, tol;
    long long lo, hi;
    if (jv_get_str(c, a, pa, "metric", false, "utilization", hpa_metrics, &metric)) return -1;
    enum as_metric m = (enum as_metric)jv_choice_index(hpa_metrics, metric);
    bool pct = m == AS_UTILIZATION || m == AS_KV_USAGE;
    if (jv_get_num(c, a, pa, "target", !pct, 70, 0.001, false, pct ? 100 : 1e12, &target) ||
        jv_get_int(c, a, pa, "min_replicas", false, 1, 1, 100000, &lo) ||
        jv_get_int(c, a, pa, "max_replicas", true, 0, 1, 100000, &hi))
        return -1;
    if (hi < lo) {
        char pk[JV_PATH_MAX];
        jv_join(pk, pa, "max_replicas");
        return fs_error_at(c->err, c->file, pk, "expected at least min_replicas (%lld), got %lld", lo, hi);
    }
    hpa_config *h = &as->hpa;
    *h = hpa_defaults(m, target, (int32_t)hi);
    h->min_replicas = (int32_t)lo;
    if (jv_get_num(c, a, pa, "tolerance", false, 0.1, 0, false, 1, &tol) ||
        get_secs(c, a, pa, "sync_period_s", 15, false, 86400, &h->sync_period) ||
        get_secs(c, a, pa, "scrape_interval_s", 15, true, 86400, &as->scrape_interval) ||
        get_secs(c, a, pa, "scale_down_stabilization_s", 300, true, 3600, &h->down.stabilization) ||
        get_secs(c, a, pa, "scale_up_stabilization_s", 0, true, 3600, &h->up.stabilization))
        return -1;
    h->tolerance = tol;
    char msg[256];
    if (hpa_config_check(h, msg, sizeof msg)) return fs_error_at(c->err, c->file, pa, "%s", msg);
    as->kind = SIM_SCALE_HPA;
    return 0;
}

/* A Knative KPA (the autoscaler ConfigMap's keys, per revision). */
static int load_kpa(jv_ctx *c, json_t *a, const char *pa, sim_autoscale *as)
{
    const char *metric;
    double util, panic;
    long long lo, hi, stable;
    kpa_config *k = &as->kpa;
    *k = kpa_defaults();
    if (jv_get_str(c, a, pa, "metric", false, "concurrency", kpa_metrics, &metric)) return -1;
    k->metric = strcmp(metric, "rps") == 0 ? AS_RPS : AS_CONCURRENCY;
    if (jv_get_num(c, a, pa, "target", false, k->metric == AS_RPS ? 200 : 100, 0, true, 1e9, &k->target) ||
        jv_get_num(c, a, pa, "target_utilization_pct", false, 70, 0, true, 100, &util) ||
        jv_get_int(c, a, pa, "min_replicas", false, 0, 0, 100000, &lo) ||
        jv_get_int(c, a, pa, "max_replicas", false, 0, 0, 100000, &hi))
        return -1;
    if (hi > 0 && hi < lo) {
        char pk[JV_PATH_MAX];
        jv_join(pk, pa, "max_replicas");
        return fs_error_at(c->err, c->file, pk, "expected 0 (unbounded) or at least min_replicas (%lld), got %lld", lo, hi);
    }
    if (jv_get_int(c, a, pa, "stable_window_s", false, 60, 6, 3600, &stable) ||
        jv_get_num(c, a, pa, "panic_window_pct", false, 10, 0, true, 100, &k->panic_window_pct) ||
        jv_get_num(c, a, pa, "panic_threshold_pct", false, 200, 110, false, 1000, &panic) ||
        jv_get_num(c, a, pa, "max_scale_up_rate", false, 1000, 1, true, 1e9, &k->max_scale_up_rate) ||
        jv_get_num(c, a, pa, "max_scale_down_rate", false, 2, 1, true, 1e9, &k->max_scale_down_rate) ||
        get_secs(c, a, pa, "tick_s", 2, false, 3600, &k->tick) ||
        jv_get_bool(c, a, pa, "scale_to_zero", true, &k->scale_to_zero) ||
        get_secs_in(c, a, pa, "scale_to_zero_grace_s", 30, 6, false, 86400, &k->scale_to_zero_grace))
        return -1;
    k->utilization = util / 100;
    k->panic_threshold = panic / 100;
    k->stable_window = (fs_time)stable * FS_NS_PER_S;
    k->min_scale = (int32_t)lo;
    k->max_scale = (int32_t)hi;
    char msg[256];
    if (kpa_config_check(k, msg, sizeof msg)) return fs_error_at(c->err, c->file, pa, "%s", msg);
    as->kind = SIM_SCALE_KPA;
    return 0;
}

static int load_autoscale(jv_ctx *c, json_t *o, const char *p, sim_autoscale *as)
{
    json_t *a;
    const char *policy;
    char pa[JV_PATH_MAX];
    jv_join(pa, p, "autoscale");
    if (jv_get_obj(c, o, p, "autoscale", true, &a) || jv_check_keys(c, a, pa, autoscale_keys) ||
        jv_get_str(c, a, pa, "policy", true, NULL, scalers, &policy))
        return -1;
    bool is_hpa = strcmp(policy, "hpa") == 0;
    if (jv_check_used(c, a, pa, "policy", policy, is_hpa ? hpa_used : kpa_used)) return -1;
    return is_hpa ? load_hpa(c, a, pa, as) : load_kpa(c, a, pa, as);
}

/* The autoscaler's replica bounds (max 0: unbounded). */
static void scale_bounds(const sim_autoscale *as, long long *lo, long long *hi)
{
    *lo = as->kind == SIM_SCALE_HPA ? as->hpa.min_replicas : as->kpa.min_scale;
    *hi = as->kind == SIM_SCALE_HPA ? as->hpa.max_replicas : as->kpa.max_scale;
}

/* Initial replicas: 1 by default (with an autoscaler, max(1, min_replicas)); 0 only with a KPA
 * that may scale to zero. */
static int load_replicas(jv_ctx *c, json_t *o, const char *p, sim_deployment *d)
{
    const sim_autoscale *as = &d->autoscale;
    long long lo = 1, hi = 0, n;
    if (as->kind != SIM_SCALE_NONE) scale_bounds(as, &lo, &hi);
    if (get_int_or_zero(c, o, p, "replicas", false, lo > 1 ? lo : 1, 100000, &n)) return -1;
    d->replicas = (uint32_t)n;
    char pk[JV_PATH_MAX];
    jv_join(pk, p, "replicas");
    if (n == 0 && as->kind != SIM_SCALE_KPA)
        return fs_error_at(c->err, c->file, pk, "expected an integer in 1..100000, got 0 (a deployment starts with "
                           "no replicas only under autoscale policy \"kpa\" with min_replicas 0%s)",
                           as->kind == SIM_SCALE_HPA ? "; the HPA keeps at least min_replicas >= 1" : "");
    if (n == 0 && !as->kpa.scale_to_zero)
        return fs_error_at(c->err, c->file, pk, "expected at least 1 with autoscale.scale_to_zero false, got 0");
    if (as->kind != SIM_SCALE_NONE && (n < lo || (hi > 0 && n > hi))) {
        char bound[32] = "unbounded";
        if (hi > 0) snprintf(bound, sizeof bound, "%lld", hi);
        return fs_error_at(c->err, c->file, pk, "expected a count within the autoscaler's bounds (min_replicas %lld, "
                           "max_replicas %s), got %lld", lo, bound, n);
    }
    return 0;
}

/* Replicas of gpr GPUs, each on one node, that the pools hold at max_nodes (the starting nodes as
 * they are, full nodes after them), whatever else runs there; also those nodes and GPUs. */
static uint64_t reachable_replicas(const sim_config *cfg, const sim_deployment *d, uint64_t *nodes, uint64_t *gpus)
{
    uint64_t n = 0, gpr = d->gpus_per_replica;
    uint64_t per_gpu = d->mig_profile ? (uint64_t)d->mig_profile->max_instances : 1; /* instances a GPU holds */
    *nodes = *gpus = 0;
    for (uint32_t i = 0; i < d->npools; i++) {
        const sim_fleet_entry *fe = &cfg->fleet[d->pools[i]];
        uint64_t per = fe->gpus_per_node, rest = fe->count % per, full = fe->max_nodes - (rest ? 1 : 0);
        n += (full * (per / gpr) + rest / gpr) * per_gpu;
        *nodes += fe->max_nodes;
        *gpus += full * per + rest;
    }
    return n;
}

/* A deployment on a shared pool (time-slicing or MPS): one share of one GPU per replica, every
 * pool shared alike, no autoscaling; under MPS its compute is its share of the SMs. */
static int load_shared(jv_ctx *c, scenario *sc, const char *p, sim_deployment *d)
{
    const sim_fleet_entry *first = &sc->cfg.fleet[d->pools[0]];
    for (uint32_t k = 1; k < d->npools; k++) {
        const sim_fleet_entry *fe = &sc->cfg.fleet[d->pools[k]];
        if (fe->shares != first->shares || fe->mps != first->mps) {
            char pp[JV_PATH_MAX];
            jv_join(pp, p, "pools");
            return fs_error_at(c->err, c->file, pp, "expected pools shared alike, got \"%s\" (%u shares%s) and \"%s\" "
                               "(%u shares%s)", first->name, first->shares, first->mps ? ", MPS" : "", fe->name,
                               fe->shares, fe->mps ? ", MPS" : "");
        }
    }
    if (first->shares == 0) return 0;
    if (d->gpus_per_replica != 1 || (d->kind == SIM_KIND_LLM && d->llm.tp != 1))
        return fs_error_at(c->err, c->file, p, "a replica on a shared pool (\"%s\": %u per GPU) takes one share of "
                           "one GPU: expected gpus_per_replica 1 and tp 1, got %u and %d", first->name, first->shares,
                           d->gpus_per_replica, d->kind == SIM_KIND_LLM ? d->llm.tp : 1);
    if (d->autoscale.kind != SIM_SCALE_NONE) {
        char pa[JV_PATH_MAX];
        jv_join(pa, p, "autoscale");
        return fs_error_at(c->err, c->file, pa, "autoscaling replicas on a shared pool is not modelled (co-tenants' "
                           "memory is checked once, at placement); remove autoscale or use whole GPUs");
    }
    if (first->mps && d->kind == SIM_KIND_LLM) d->llm.compute_share = 1.0 / first->shares;
    d->gpu_share = 1.0 / first->shares;
    return 0;
}

/* Autoscaling is for whole-GPU replicas that all do the same work. */
static int refuse_autoscale(jv_ctx *c, const char *p, bool mig)
{
    char pa[JV_PATH_MAX];
    jv_join(pa, p, "autoscale");
    if (mig)
        return fs_error_at(c->err, c->file, pa, "autoscaling replicas on MIG instances of a fixed layout is not "
                           "modelled (its partitions never change); use \"mig\": \"dynamic\" on the pool, or whole GPUs");
    return fs_error_at(c->err, c->file, pa, "autoscaling a disaggregated deployment is not modelled (its prefill "
                       "and decode replicas would each need their own autoscaler); remove autoscale or "
                       "disaggregation");
}

/* The deployment's pools, at max_nodes, must have room for max_replicas of its replicas (for an
 * unbounded KPA, for one), whatever else runs there. */
static int check_autoscale_room(jv_ctx *c, const scenario *sc, const char *p, const sim_deployment *d)
{
    long long lo, hi;
    uint64_t nodes, gpus, room = reachable_replicas(&sc->cfg, d, &nodes, &gpus);
    scale_bounds(&d->autoscale, &lo, &hi);
    if ((hi == 0 || (uint64_t)hi <= room) && room > 0) return 0;
    char pa[JV_PATH_MAX], pk[JV_PATH_MAX], why[256];
    jv_join(pa, p, "autoscale");
    jv_join(pk, pa, "max_replicas");
    snprintf(why, sizeof why, "a replica takes %u GPUs of one node, and the deployment's pools reach %llu nodes (%llu "
             "GPUs) at max_nodes", d->gpus_per_replica, (unsigned long long)nodes, (unsigned long long)gpus);
    if (hi == 0)
        return fs_error_at(c->err, c->file, pa, "expected room for at least one replica, got none: %s; raise the "
                           "pools' max_nodes or gpus_per_node", why);
    return fs_error_at(c->err, c->file, pk, "expected at most %llu (the replicas that fit), got %lld: %s; raise the "
                       "pools' max_nodes or lower max_replicas", (unsigned long long)room, hi, why);
}

static const char *const cold_keys[] = {"container_start_s", "warmup_s", "weights_gb", NULL};

/* What a replica does once its node is ready and its image pulled: start the container, load
 * the weights (weight_bytes at the pool's storage bandwidth), warm up (vLLM: memory profiling and
 * CUDA-graph capture, about half a minute). */
static int load_cold_start(jv_ctx *c, json_t *o, const char *p, sim_deployment *d)
{
    json_t *cs;
    char pc[JV_PATH_MAX];
    double gb, def_gb = 0;
    bool llm = d->kind == SIM_KIND_LLM;
    jv_join(pc, p, "cold_start");
    if (llm) /* whole bytes, so that the stored GB give back the same bytes */
        def_gb = round(st_weight_bytes_per_gpu(d->llm.model, d->llm.weights, d->llm.tp) * d->llm.tp) / 1e9;
    if (jv_get_obj(c, o, p, "cold_start", false, &cs) || jv_check_keys(c, cs, pc, cold_keys) ||
        get_secs(c, cs, pc, "container_start_s", 10, true, 86400, &d->container_start) ||
        get_secs(c, cs, pc, "warmup_s", llm ? 30 : 0, true, 86400, &d->warmup) ||
        jv_get_num(c, cs, pc, "weights_gb", false, def_gb, 0, false, 1e6, &gb))
        return -1;
    d->weight_bytes = round(gb * 1e9);
    return 0;
}

static int load_deployment(jv_ctx *c, scenario *sc, json_t *o, const char *p, size_t index)
{
    const catalog *cat = sc->cat;
    sim_config *cfg = &sc->cfg;
    sim_deployment *d = &cfg->deployments[index];
    const char *model, *name, *kind;
    if (!json_is_object(o)) return jv_bad(c, p, "an object", o);
    if (jv_check_keys(c, o, p, dep_keys) || jv_get_str(c, o, p, "model", true, NULL, NULL, &model) ||
        jv_get_str(c, o, p, "name", false, model, NULL, &name) ||
        jv_get_str(c, o, p, "kind", false, "fixed", kinds, &kind))
        return -1;
    const char *too_long = strlen(model) >= SIM_NAME_MAX ? "model" : strlen(name) >= SIM_NAME_MAX ? "name" : NULL;
    if (too_long) {
        char pn[JV_PATH_MAX];
        jv_join(pn, p, too_long);
        return fs_error_at(c->err, c->file, pn, "expected at most %d bytes, got %zu", SIM_NAME_MAX - 1,
                           strlen(strcmp(too_long, "model") == 0 ? model : name));
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->model, sizeof d->model, "%s", model);
    const gpu_spec *g = NULL;
    if (load_pools(c, sc, o, p, d, &g)) return -1;
    d->kind = strcmp(kind, "llm") == 0 ? SIM_KIND_LLM : SIM_KIND_FIXED;
    bool has_replicas = json_object_get(o, "replicas") != NULL;
    if ((json_object_get(o, "autoscale") && load_autoscale(c, o, p, &d->autoscale)) || load_replicas(c, o, p, d))
        return -1;
    /* on a partitioned fleet entry a replica takes one MIG instance of its profile */
    const mig_layout *lay = &sc->fleet_mig[d->gpu];
    const mig_profile *mp = NULL;
    char pk[JV_PATH_MAX];
    jv_join(pk, p, "mig_profile");
    const mig_gpu *dyn = cfg->fleet[d->gpu].mig_dynamic;
    if (json_object_get(o, "mig_profile") && dyn) { /* instances made on demand: any profile of the type */
        const char *prof;
        if (jv_get_str(c, o, p, "mig_profile", true, NULL, NULL, &prof)) return -1;
        if (!(mp = mig_profile_find(dyn, prof))) {
            char list[512] = "";
            for (int i = 0; i < dyn->nprofiles; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", dyn->profiles[i].name);
            return fs_error_at(c->err, c->file, pk, "expected a MIG profile of %s (%s), got \"%s\"", dyn->name, list,
                               prof);
        }
    } else if (json_object_get(o, "mig_profile")) {
        const char *prof;
        if (jv_get_str(c, o, p, "mig_profile", true, NULL, NULL, &prof)) return -1;
        if (lay->n == 0)
            return fs_error_at(c->err, c->file, pk, "the fleet's %s GPUs are whole (fleet[%u] has no \"mig\" "
                               "layout), got a MIG profile \"%s\"", g->name, d->gpu, prof);
        for (int i = 0; i < lay->n && !mp; i++)
            if (strcasecmp(lay->inst[i]->name, prof) == 0) mp = lay->inst[i];
        if (!mp) {
            char list[256] = "";
            for (int i = 0; i < lay->n; i++) {
                bool seen = false;
                for (int k = 0; k < i; k++) seen |= lay->inst[k] == lay->inst[i];
                if (!seen)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "",
                             lay->inst[i]->name);
            }
            return fs_error_at(c->err, c->file, pk, "expected a profile of fleet[%u]'s MIG layout (%s), got \"%s\"",
                               d->gpu, list, prof);
        }
    } else if (lay->n > 0 || dyn) {
        return fs_error_at(c->err, c->file, pk, "required key is missing: fleet[%u]'s %s GPUs are partitioned into "
                           "MIG instances; name the profile each replica takes", d->gpu, g->name);
    }
    sc->dep_mig[index] = mp;
    d->mig_profile = mp;
    if (mp) {
        long long gpr = 1;
        if (jv_get_int(c, o, p, "gpus_per_replica", false, 1, 1, 1, &gpr)) return -1; /* one instance each */
        d->gpu_share = mp->compute_slices / (double)MIG_COMPUTE_SLICES;
    }
    bool scaled = d->autoscale.kind != SIM_SCALE_NONE;
    if (scaled && ((mp && !dyn) || (d->kind == SIM_KIND_LLM && json_object_get(o, "disaggregation"))))
        return refuse_autoscale(c, p, mp != NULL);
    if (d->kind == SIM_KIND_LLM ? load_llm(c, cat, o, p, d, g, lay->gpu, mp, has_replicas) : load_fixed(c, o, p, d))
        return -1;
    if (load_shared(c, sc, p, d) || (scaled && check_autoscale_room(c, sc, p, d))) return -1;
    return load_cold_start(c, o, p, d);
}

/* GPUs of the pools in `set` (a bit per fleet entry) at the start, and the GPUs that the initial
 * replicas of the deployments confined to those pools need. */
static void need_and_have(const sim_config *cfg, uint32_t set, uint64_t *need, uint64_t *have)
{
    *need = *have = 0;
    for (uint32_t f = 0; f < cfg->nfleet; f++)
        if (set >> f & 1) *have += (uint64_t)cfg->fleet[f].count * (cfg->fleet[f].shares ? cfg->fleet[f].shares : 1);
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        const sim_deployment *dp = &cfg->deployments[d];
        uint32_t mine = 0;
        for (uint32_t k = 0; k < dp->npools; k++) mine |= 1u << dp->pools[k];
        if ((mine & ~set) == 0) *need += (uint64_t)dp->replicas * dp->gpus_per_replica;
    }
}

/* The initial replicas on whole GPUs must fit the GPUs their pools start with: for each pool, and
 * then for each deployment's set of pools, the deployments that may only use those pools need
 * at most the GPUs there (a necessary condition; placement on nodes is checked later). */
static int check_whole_gpus(jv_ctx *c, const sim_config *cfg, const mig_layout *mig)
{
    uint64_t need, have;
    char p[JV_PATH_MAX];
    for (uint32_t f = 0; f < cfg->nfleet; f++) {
        if (mig[f].n > 0 || cfg->fleet[f].mig_dynamic) continue; /* counted per MIG profile, placed below */
        need_and_have(cfg, 1u << f, &need, &have);
        bool named = strcmp(cfg->fleet[f].name, cfg->fleet[f].gpu) != 0;
        if (need > have) {
            jv_join_index(p, "fleet", f);
            return fs_error_at(c->err, c->file, p, "deployments need %llu GPUs of type %s (replicas x "
                               "gpus_per_replica), %s%s%s has %u", (unsigned long long)need, cfg->fleet[f].gpu,
                               named ? "pool \"" : "the fleet", named ? cfg->fleet[f].name : "", named ? "\"" : "",
                               cfg->fleet[f].count);
        }
    }
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        const sim_deployment *dp = &cfg->deployments[d];
        if (dp->npools < 2) continue;
        uint32_t set = 0;
        char names[512] = "";
        for (uint32_t k = 0; k < dp->npools; k++) {
            set |= 1u << dp->pools[k];
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s\"%s\"", k ? ", " : "",
                     cfg->fleet[dp->pools[k]].name);
        }
        need_and_have(cfg, set, &need, &have);
        if (need > have) {
            jv_join_index(p, "deployments", d);
            return fs_error_at(c->err, c->file, p, "deployments need %llu GPUs of type %s (replicas x "
                               "gpus_per_replica) on pools %s, which have %llu at the start",
                               (unsigned long long)need, cfg->fleet[dp->gpu].gpu, names, (unsigned long long)have);
        }
    }
    return 0;
}

static int load_deployments(jv_ctx *c, scenario *sc, json_t *root)
{
    sim_config *cfg = &sc->cfg;
    json_t *a = json_object_get(root, "deployments");
    if (!a) return fs_error_at(c->err, c->file, "deployments", "required key is missing (expected an array of deployments)");
    if (!json_is_array(a) || json_array_size(a) == 0) return jv_bad(c, "deployments", "a non-empty array", a);
    if (json_array_size(a) > SIM_MAX_DEPLOYMENTS)
        return fs_error_at(c->err, c->file, "deployments", "expected at most %d deployments, got %zu",
                           SIM_MAX_DEPLOYMENTS, json_array_size(a));
    size_t i;
    json_t *o = NULL;
    json_array_foreach(a, i, o) {
        char p[JV_PATH_MAX];
        jv_join_index(p, "deployments", i);
        if (load_deployment(c, sc, o, p, i)) return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(cfg->deployments[k].name, cfg->deployments[i].name) == 0) {
                char pn[JV_PATH_MAX];
                jv_join(pn, p, "name");
                return fs_error_at(c->err, c->file, pn, "expected a unique name, got \"%s\" (also deployments[%zu])",
                                   cfg->deployments[i].name, k);
            }
    }
    cfg->ndeployments = (uint32_t)i;
    /* the fleet must hold every replica: whole GPUs, or MIG instances of each profile */
    for (uint32_t f = 0; f < cfg->nfleet; f++) {
        const mig_layout *lay = &sc->fleet_mig[f];
        for (int x = 0; x < lay->n; x++) {
            uint64_t need = 0, have = 0;
            for (int k = 0; k < lay->n; k++) have += lay->inst[k] == lay->inst[x] ? cfg->fleet[f].count : 0;
            for (uint32_t d = 0; d < cfg->ndeployments; d++)
                if (cfg->deployments[d].gpu == f && sc->dep_mig[d] == lay->inst[x]) need += cfg->deployments[d].replicas;
            if (need > have) {
                char p[JV_PATH_MAX];
                jv_join_index(p, "fleet", f);
                return fs_error_at(c->err, c->file, p, "deployments need %llu MIG instances %s, the fleet has %llu "
                                   "(%u GPUs of %s)", (unsigned long long)need, lay->inst[x]->name,
                                   (unsigned long long)have, cfg->fleet[f].count, cfg->fleet[f].gpu);
            }
        }
    }
    return check_whole_gpus(c, cfg, sc->fleet_mig);
}

static const char *const root_keys[] = {"name", "description", "seed", "duration", "requests", "warmup",
                                        "drain_timeout", "catalogs", "fleet", "deployments", "workload", "router",
                                        "placement", "admission", "regions", "failures", "energy", "sweep", "slo",
                                        "output", NULL};
static const char *const failure_keys[] = {"retry", NULL};
static const char *const placement_keys[] = {"policy", NULL};
static const char *const admission_keys[] = {"rate_limits", "retries", "backoff_ms", "backoff_multiplier", "timeout_s",
                                             NULL};
static const char *const limit_keys[] = {"rps", "burst", NULL};

static const char *const energy_keys[] = {"compute_weight", "memory_weight", NULL};

/* "energy": the power model's weights of compute and memory activity (gpu/power.h), for every
 * llm deployment. */
static int load_energy(jv_ctx *c, json_t *root, scenario *sc)
{
    json_t *o = NULL;
    double wc, wm;
    if (jv_get_obj(c, root, "", "energy", false, &o) || jv_check_keys(c, o, "energy", energy_keys) ||
        jv_get_num(c, o, "energy", "compute_weight", false, 1, 0, true, 10, &wc) ||
        jv_get_num(c, o, "energy", "memory_weight", false, 0.6, 0, true, 10, &wm))
        return -1;
    for (uint32_t d = 0; d < sc->cfg.ndeployments; d++) {
        sc->cfg.deployments[d].llm.power_w_compute = wc;
        sc->cfg.deployments[d].llm.power_w_memory = wm;
    }
    return 0;
}

static const char *const region_keys[] = {"policy", "spill_load", "latency_ms", "default_latency_ms", "residency", NULL};
static const char *const region_policies[] = {"local", "spillover", "least_loaded", NULL};

/* A region's index by name (interned: pools, sources and trace rows name the same regions). */
static int region_index(jv_ctx *c, scenario *sc, const char *path, const char *name, uint32_t *out)
{
    *out = scenario_intern(sc, 1, name, strlen(name));
    if (*out > SIM_MAX_REGIONS)
        return fs_error_at(c->err, c->file, path, "expected at most %d regions in a scenario, got a region \"%s\" "
                           "beyond them", SIM_MAX_REGIONS, name);
    return 0;
}

/* "regions": where requests with a region are served (sim.h sim_regions). Absent: where their
 * source sends them. */
static int load_regions(jv_ctx *c, json_t *root, scenario *sc)
{
    sim_regions *rg = &sc->cfg.regions;
    json_t *o = json_object_get(root, "regions"), *lat = NULL, *res = NULL, *v;
    if (!o) return 0;
    const char *policy;
    double def_ms;
    if (!json_is_object(o)) return jv_bad(c, "regions", "an object", o);
    if (jv_check_keys(c, o, "regions", region_keys) ||
        jv_get_str(c, o, "regions", "policy", false, "local", region_policies, &policy) ||
        jv_get_num(c, o, "regions", "spill_load", false, 8, 0, true, 1e9, &rg->spill_load) ||
        jv_get_num(c, o, "regions", "default_latency_ms", false, 50, 0, false, 1e6, &def_ms) ||
        jv_get_obj(c, o, "regions", "latency_ms", false, &lat) || jv_get_obj(c, o, "regions", "residency", false, &res))
        return -1;
    rg->policy = (enum sim_region_policy)(SIM_REGION_LOCAL + jv_choice_index(region_policies, policy));
    fs_time def = (fs_time)llround(def_ms * 1e6);
    for (uint32_t a = 1; a <= SIM_MAX_REGIONS; a++)
        for (uint32_t b = 1; b <= SIM_MAX_REGIONS; b++) rg->latency[a][b] = a == b ? 0 : def;
    /* "latency_ms": {"a": {"b": ms}}: both ways unless b -> a is given too */
    bool given[SIM_MAX_REGIONS + 1][SIM_MAX_REGIONS + 1] = {{false}};
    const char *from, *to;
    json_object_foreach(lat, from, v) {
        char p[JV_PATH_MAX];
        jv_join(p, "regions.latency_ms", from);
        uint32_t a, b;
        if (region_index(c, sc, p, from, &a)) return -1;
        if (!json_is_object(v)) return jv_bad(c, p, "an object of region: milliseconds", v);
        json_t *ms;
        json_object_foreach(v, to, ms) {
            char pk[JV_PATH_MAX];
            jv_join(pk, p, to);
            if (region_index(c, sc, pk, to, &b)) return -1;
            if (!json_is_number(ms) || json_number_value(ms) < 0 || json_number_value(ms) > 1e6)
                return jv_bad(c, pk, "milliseconds in 0..1e6", ms);
            if (a == b && json_number_value(ms) != 0) return jv_bad(c, pk, "0 within one region", ms);
            fs_time t = (fs_time)llround(json_number_value(ms) * 1e6);
            rg->latency[a][b] = t;
            given[a][b] = true;
            if (!given[b][a]) rg->latency[b][a] = t;
        }
    }
    /* "residency": {"eu-west": ["eu-west", "eu-central"]}: where requests from a region may be served */
    json_object_foreach(res, from, v) {
        char p[JV_PATH_MAX];
        jv_join(p, "regions.residency", from);
        uint32_t a, b;
        if (region_index(c, sc, p, from, &a)) return -1;
        if (!json_is_array(v) || json_array_size(v) == 0) return jv_bad(c, p, "a non-empty array of region names", v);
        size_t i;
        json_t *name;
        json_array_foreach(v, i, name) {
            char pi[JV_PATH_MAX];
            jv_join_index(pi, p, i);
            if (!json_is_string(name)) return jv_bad(c, pi, "a region name", name);
            if (region_index(c, sc, pi, json_string_value(name), &b)) return -1;
            rg->allowed[a] |= UINT32_C(1) << b;
        }
    }
    return 0;
}

/* "admission": per-tenant rate limits (token buckets) and the clients' retries after a 429. */
static int load_admission(jv_ctx *c, json_t *root, scenario *sc)
{
    sim_admission *a = &sc->cfg.admission;
    json_t *o = NULL, *lim = NULL, *v;
    long long retries;
    double backoff_ms;
    if (jv_get_obj(c, root, "", "admission", false, &o) || jv_check_keys(c, o, "admission", admission_keys) ||
        jv_get_obj(c, o, "admission", "rate_limits", false, &lim) ||
        jv_get_int(c, o, "admission", "retries", false, 0, 0, 100, &retries) ||
        jv_get_num(c, o, "admission", "backoff_ms", false, 1000, 0, false, 1e9, &backoff_ms) ||
        jv_get_num(c, o, "admission", "backoff_multiplier", false, 2, 1, false, 100, &a->backoff_multiplier) ||
        jv_get_span(c, o, "admission", "timeout_s", false, 0, true, 1e9, &a->timeout))
        return -1;
    a->retries = (uint32_t)retries;
    a->backoff = (fs_time)llround(backoff_ms * 1e6);
    const char *tenant;
    json_object_foreach(lim, tenant, v) {
        char p[JV_PATH_MAX];
        jv_join(p, "admission.rate_limits", tenant);
        if (a->nlimits == SIM_MAX_LIMITS)
            return fs_error_at(c->err, c->file, p, "expected at most %d rate limits", SIM_MAX_LIMITS);
        struct sim_rate_limit *l = &a->limits[a->nlimits++];
        if (!json_is_object(v)) return jv_bad(c, p, "an object with rps and burst", v);
        if (jv_check_keys(c, v, p, limit_keys) || jv_get_num(c, v, p, "rps", true, 0, 0, true, 1e9, &l->rps) ||
            jv_get_num(c, v, p, "burst", false, l->rps > 1 ? l->rps : 1, 1, false, 1e9, &l->burst))
            return -1;
        l->tenant = scenario_intern(sc, 0, tenant, strlen(tenant));
    }
    return 0;
}

/* Place every initial replica on whole-GPU pools onto their starting nodes, deployment by
 * deployment, each in the first of its pools where it fits, by the chosen policy
 * (sim/model/placement.h): a replica's GPUs must share one node (tensor parallelism runs over
 * NVLink). A replica that fits nowhere is an error saying why. Each pool draws from its own
 * random stream, so a pool's placement does not depend on the others. */
/* The replicas on one GPU of a shared pool (deployment indexes). */
typedef struct cotenants {
    int n;
    uint32_t dep[48];
} cotenants;

static void cotenant_add(cotenants *g, uint32_t d)
{
    if (g->n < 48) g->dep[g->n++] = d;
}

/* Nothing isolates memory on a shared GPU: the co-tenants' engines reserve their
 * gpu_memory_utilization each, plus a CUDA context each (gpu/share.h share_check). */
static int check_cotenants(jv_ctx *c, const scenario *sc, uint32_t f, const cotenants *co, size_t ngpus)
{
    const sim_fleet_entry *fe = &sc->cfg.fleet[f];
    const gpu_spec *g = catalog_gpu(sc->cat, fe->gpu);
    for (size_t i = 0; i < ngpus; i++) {
        double fr[48];
        int n = 0;
        for (int k = 0; k < co[i].n; k++) { /* fixed-service replicas: no memory model, left out */
            const sim_deployment *d = &sc->cfg.deployments[co[i].dep[k]];
            if (d->kind == SIM_KIND_LLM) fr[n++] = d->mem_fraction;
        }
        fs_error e;
        if (n == 0 || share_check(g, (int)fe->shares, fr, n, SHARE_CONTEXT_BYTES, &e) == 0) continue;
        char p[JV_PATH_MAX], who[256] = "";
        for (int k = 0; k < co[i].n; k++)
            snprintf(who + strlen(who), sizeof who - strlen(who), "%s%s", k ? ", " : "",
                     sc->cfg.deployments[co[i].dep[k]].name);
        jv_join_index(p, "fleet", f);
        return fs_error_at(c->err, c->file, p, "GPU %zu of node %zu holds replicas of %s, which do not fit together: "
                           "%s (lower their engine.gpu_memory_utilization, or use fewer shares per GPU)",
                           i % fe->gpus_per_node, i / fe->gpus_per_node, who, e.msg);
    }
    return 0;
}

/* On a pool with "mig": "dynamic", the initial replicas' instances are made one by one by the
 * pool's mig_policy (sim/model/migplace.h), as the run will make them: each must find room. */
static int place_dynamic_mig(jv_ctx *c, scenario *sc)
{
    const sim_config *cfg = &sc->cfg;
    for (uint32_t f = 0; f < cfg->nfleet; f++) {
        const sim_fleet_entry *fe = &cfg->fleet[f];
        if (!fe->mig_dynamic) continue;
        mp_cluster *mc = mp_cluster_new(fe->mig_dynamic, (int)start_nodes(fe), (int)fe->gpus_per_node);
        int rc = 0;
        for (uint32_t d = 0; d < cfg->ndeployments && rc == 0; d++) {
            const sim_deployment *dp = &cfg->deployments[d];
            if (dp->gpu != f) continue;
            for (uint32_t r = 0; r < dp->replicas && rc == 0; r++) {
                mp_placement pl;
                if (mp_place(mc, dp->mig_profile, (enum mp_policy)fe->mig_policy, &pl) == 0) continue;
                char p[JV_PATH_MAX];
                jv_join_index(p, "deployments", d);
                rc = fs_error_at(c->err, c->file, p, "replica %u of %s needs a MIG instance %s, and no GPU of fleet[%u] "
                                 "(%u GPUs) has room for one once the replicas before it are placed by %s",
                                 r + 1, dp->name, dp->mig_profile->name, f, fe->count,
                                 mp_policy_name((enum mp_policy)fe->mig_policy));
            }
        }
        mp_cluster_free(mc);
        if (rc) return -1;
    }
    return 0;
}

static int place_replicas(jv_ctx *c, json_t *root, scenario *sc)
{
    sim_config *cfg = &sc->cfg;
    json_t *o = NULL;
    const char *name;
    if (jv_get_obj(c, root, "", "placement", false, &o) || jv_check_keys(c, o, "placement", placement_keys) ||
        jv_get_str(c, o, "placement", "policy", false, "spread", NULL, &name))
        return -1;
    int policy = pl_policy_from_name(name);
    if (policy < 0) {
        char list[256] = "";
        for (int k = 0; k < PL_POLICY_COUNT; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", k ? ", " : "", pl_policy_name(k));
        return fs_error_at(c->err, c->file, "placement.policy", "expected one of %s, got \"%s\"", list, name);
    }
    pl_node_spec *spec[SIM_MAX_FLEET] = {0};
    pl_cluster *cl[SIM_MAX_FLEET] = {0};
    cotenants *co[SIM_MAX_FLEET] = {0}; /* shared pools: who holds each GPU */
    fs_rng *rng[SIM_MAX_FLEET] = {0};
    int nodes[SIM_MAX_FLEET] = {0}, widest[SIM_MAX_FLEET] = {0};
    for (uint32_t f = 0; f < cfg->nfleet; f++) {
        const sim_fleet_entry *fe = &cfg->fleet[f];
        /* MIG instances are counted per profile instead; a pool may start with no nodes */
        if (sc->fleet_mig[f].n > 0 || fe->count == 0) continue;
        nodes[f] = (int)start_nodes(fe);
        spec[f] = fs_xcalloc((size_t)nodes[f], sizeof *spec[f]);
        for (int k = 0; k < nodes[f]; k++) {
            uint32_t left = fe->count - (uint32_t)k * fe->gpus_per_node;
            spec[f][k] = (pl_node_spec){0, 0, (int)(left < fe->gpus_per_node ? left : fe->gpus_per_node), 0};
        }
        cl[f] = pl_cluster_new(spec[f], nodes[f]);
        rng[f] = fs_rng_new(cfg->seed, FS_STREAM_PLACEMENT, f);
        if (fe->shares) co[f] = fs_xcalloc((size_t)nodes[f] * fe->gpus_per_node, sizeof *co[f]);
    }
    int rc = 0;
    for (uint32_t d = 0; d < cfg->ndeployments && rc == 0; d++) {
        const sim_deployment *dp = &cfg->deployments[d];
        if (sc->dep_mig[d]) continue;
        for (uint32_t k = 0; k < dp->npools; k++)
            if ((int)dp->gpus_per_replica > widest[dp->pools[k]]) widest[dp->pools[k]] = (int)dp->gpus_per_replica;
        for (uint32_t r = 0; r < dp->replicas && rc == 0; r++) {
            bool placed = false;
            for (uint32_t k = 0; k < dp->npools && !placed; k++) {
                uint32_t f = dp->pools[k];
                const sim_fleet_entry *fe = &cfg->fleet[f];
                pl_pod pod = {0, 0, (int)dp->gpus_per_replica, fe->shares ? PL_MILLI / (int)fe->shares : PL_MILLI,
                              PL_ANY_MODEL};
                pl_spot spot;
                placed = cl[f] && pod.num_gpu <= (int)fe->gpus_per_node &&
                         pl_place(cl[f], (enum pl_policy)policy, &pod, rng[f], &spot) == 0;
                if (placed && co[f]) cotenant_add(&co[f][(size_t)spot.node * fe->gpus_per_node + (size_t)__builtin_ctzll(spot.gpus)], d);
            }
            if (placed) continue;
            char p[JV_PATH_MAX], where[512];
            jv_join_index(p, "deployments", d);
            if (dp->npools == 1) {
                const sim_fleet_entry *fe = &cfg->fleet[dp->gpu];
                snprintf(where, sizeof where, "fleet[%u] (%u GPUs per node)", dp->gpu, fe->gpus_per_node);
            } else {
                snprintf(where, sizeof where, "its pools (");
                for (uint32_t k = 0; k < dp->npools; k++) {
                    const sim_fleet_entry *fe = &cfg->fleet[dp->pools[k]];
                    snprintf(where + strlen(where), sizeof where - strlen(where), "%sfleet[%u] \"%s\": %u GPUs per "
                             "node", k ? ", " : "", dp->pools[k], fe->name, fe->gpus_per_node);
                }
                snprintf(where + strlen(where), sizeof where - strlen(where), ")");
            }
            rc = fs_error_at(c->err, c->file, p, "replica %u of %s needs %u GPUs on one node, and no node of %s has "
                             "that many free once the replicas before it are placed by %s: use fewer GPUs per "
                             "replica, more GPUs per node, or another placement policy (placement.policy)",
                             r + 1, dp->name, dp->gpus_per_replica, where, name);
        }
    }
    for (uint32_t f = 0; f < cfg->nfleet && rc == 0; f++)
        if (co[f]) rc = check_cotenants(c, sc, f, co[f], (size_t)nodes[f] * cfg->fleet[f].gpus_per_node);
    for (uint32_t f = 0; f < cfg->nfleet; f++) {
        free(co[f]);
        if (rc == 0 && cl[f]) { /* what the placement left */
            cfg->nodes += (uint32_t)nodes[f];
            for (int k = 0; k < nodes[f]; k++) {
                int freeg = 0;
                for (int g = 0; g < spec[f][k].gpus; g++) freeg += pl_node_gpu_free(cl[f], k, g) == PL_MILLI;
                if (freeg == spec[f][k].gpus) continue;
                cfg->nodes_used++;
                cfg->gpus_free_on_used += (uint32_t)freeg;
                if (freeg < widest[f]) cfg->gpus_stranded += (uint32_t)freeg;
            }
        }
        fs_rng_free(rng[f]);
        pl_cluster_free(cl[f]);
        free(spec[f]);
    }
    return rc ? -1 : 0;
}

/* The shipped catalog, plus --catalog files, plus the scenario's own (relative to it). */
static int load_catalogs(jv_ctx *c, json_t *root, const scenario_opts *opts, scenario *sc)
{
    sc->cat = catalog_new(c->err);
    if (!sc->cat) return -1;
    for (int i = 0; opts && i < opts->ncatalogs; i++)
        if (catalog_add_file(sc->cat, opts->catalogs[i], c->err)) return -1;
    json_t *a = json_object_get(root, "catalogs");
    if (!a) return 0;
    if (!json_is_array(a)) return jv_bad(c, "catalogs", "an array of file names", a);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        char p[JV_PATH_MAX];
        jv_join_index(p, "catalogs", i);
        if (!json_is_string(v) || json_string_length(v) == 0) return jv_bad(c, p, "a file name", v);
        char *path = scenario_resolve_path(c->file, json_string_value(v));
        int rc = catalog_add_file(sc->cat, path, c->err);
        free(path);
        if (rc && c->err && c->err->line == 0 && c->err->path[0] == '\0') { /* could not read it */
            char msg[sizeof c->err->msg];
            snprintf(msg, sizeof msg, "%s", c->err->msg);
            return fs_error_at(c->err, c->file, p, "cannot load the catalog file: %s", msg);
        }
        if (rc) return -1;
    }
    return 0;
}
static const char *const router_keys[] = {"policy", "scrape_interval_ms", "weights", "prefix_block_tokens", NULL};
static const char *const weight_keys[] = {"queue", "kv", "prefix", NULL};
static const char *const slo_keys[] = {"ttft_ms", "tpot_ms", "e2e_ms", NULL};
static const char *const output_keys[] = {"requests", "timeseries_interval", "per_replica", NULL};

/* A span in milliseconds, >= 0 (0 allowed), with a default. */
static int jv_get_span_ms(jv_ctx *c, json_t *o, const char *path, const char *key, double def_ms, fs_time *out)
{
    double ms;
    if (jv_get_num(c, o, path, key, false, def_ms, 0, false, 1e9, &ms)) return -1;
    *out = (fs_time)llround(ms * 1e6);
    return 0;
}

static int get_opt_ms(jv_ctx *c, json_t *o, const char *path, const char *key, fs_time *out)
{
    *out = 0;
    if (!json_object_get(o, key)) return 0;
    return jv_get_span(c, o, path, key, true, 0, false, 1e6, out);
}

static int validate(jv_ctx *c, json_t *root, const scenario_opts *opts, scenario *sc)
{
    sim_config *cfg = &sc->cfg;
    const char *name;
    long long seed, requests = 0;
    if (!json_is_object(root)) return jv_bad(c, "(top level)", "an object", root);
    if (jv_check_keys(c, root, "", root_keys) || jv_get_str(c, root, "", "name", true, NULL, NULL, &name)) return -1;
    snprintf(sc->name, sizeof sc->name, "%s", name);
    json_object_del(root, "sweep"); /* `fleetsim sweep` reads it; a single run is the scenario as written */
    if (json_object_get(root, "description")) {
        const char *d;
        if (jv_get_str(c, root, "", "description", true, NULL, NULL, &d)) return -1;
    }
    if (opts && opts->has_seed) json_object_set_new(root, "seed", json_integer((json_int_t)(opts->seed & INT64_MAX)));
    if (jv_get_int(c, root, "", "seed", false, 1, 0, LLONG_MAX, &seed)) return -1;
    cfg->seed = (uint64_t)seed;

    bool has_duration = json_object_get(root, "duration") != NULL;
    bool has_requests = json_object_get(root, "requests") != NULL;
    cfg->duration = FS_TIME_MAX;
    if (has_duration && jv_get_span(c, root, "", "duration", true, 0, false, 1e9, &cfg->duration)) return -1;
    if (has_requests && jv_get_int(c, root, "", "requests", true, 0, 1, LLONG_MAX, &requests)) return -1;
    cfg->max_requests = (uint64_t)requests;
    if (jv_get_span(c, root, "", "warmup", false, 0, true, 1e9, &cfg->warmup)) return -1;
    cfg->drain_timeout = -1;
    json_t *dt = json_object_get(root, "drain_timeout");
    if (dt && !json_is_null(dt)) {
        if (jv_get_span(c, root, "", "drain_timeout", true, 0, true, 1e9, &cfg->drain_timeout)) return -1;
    } else if (!dt) {
        json_object_set_new(root, "drain_timeout", json_null());
    }

    if (load_catalogs(c, root, opts, sc) || load_fleet(c, sc, root) || load_deployments(c, sc, root) ||
        place_replicas(c, root, sc) || place_dynamic_mig(c, sc) || scenario_load_workload(c, root, opts, sc) ||
        load_admission(c, root, sc) || load_regions(c, root, sc) || load_energy(c, root, sc))
        return -1;
    json_t *fl = NULL; /* what happens to the requests of a replica that is lost */
    if (jv_get_obj(c, root, "", "failures", false, &fl) || jv_check_keys(c, fl, "failures", failure_keys) ||
        jv_get_bool(c, fl, "failures", "retry", true, &cfg->failure_retry))
        return -1;
    if (scenario_never_ends(sc) && !has_duration && !has_requests)
        return fs_error_at(c->err, c->file, "duration", "a synthetic workload never ends: set \"duration\" "
                           "(seconds) or \"requests\" (a count)");
    if (has_duration && cfg->warmup >= cfg->duration)
        return fs_error_at(c->err, c->file, "warmup", "expected less than duration (%g s), got %g s",
                           fs_time_to_s(cfg->duration), fs_time_to_s(cfg->warmup));

    json_t *rt = NULL, *slo = NULL, *out = NULL;
    const char *policy;
    if (jv_get_obj(c, root, "", "router", false, &rt) || jv_check_keys(c, rt, "router", router_keys) ||
        jv_get_str(c, rt, "router", "policy", false, "round_robin", routers, &policy))
        return -1;
    enum sim_router kind = (enum sim_router)jv_choice_index(routers, policy);
    /* llm-d's defaults: metrics refreshed every 50 ms; scorer weights queue 2, KV 2, prefix 3;
     * prefix blocks of 64 tokens */
    sim_router_params rp = {.w_queue = 2, .w_kv = 2, .w_prefix = 3, .prefix_block = 64, .prefix_index_blocks = 1 << 20};
    long long pb = 64;
    if (jv_get_span_ms(c, rt, "router", "scrape_interval_ms", 50, &rp.scrape_interval)) return -1;
    if (kind == SIM_ROUTER_SCORED) {
        json_t *w = NULL;
        if (jv_get_obj(c, rt, "router", "weights", false, &w) || jv_check_keys(c, w, "router.weights", weight_keys) ||
            jv_get_num(c, w, "router.weights", "queue", false, 2, 0, false, 1e6, &rp.w_queue) ||
            jv_get_num(c, w, "router.weights", "kv", false, 2, 0, false, 1e6, &rp.w_kv) ||
            jv_get_num(c, w, "router.weights", "prefix", false, 3, 0, false, 1e6, &rp.w_prefix) ||
            jv_get_int(c, rt, "router", "prefix_block_tokens", false, 64, 1, 1 << 20, &pb))
            return -1;
        rp.prefix_block = (int32_t)pb;
    } else if (jv_check_used(c, rt, "router", "policy", policy,
                             (const char *const[]){"policy", "scrape_interval_ms", NULL})) {
        return -1;
    }
    for (uint32_t d = 0; d < cfg->ndeployments; d++) {
        cfg->deployments[d].router = kind;
        cfg->deployments[d].routing = rp;
    }
    if (jv_get_obj(c, root, "", "slo", false, &slo) || jv_check_keys(c, slo, "slo", slo_keys) ||
        get_opt_ms(c, slo, "slo", "ttft_ms", &cfg->slo_ttft) || get_opt_ms(c, slo, "slo", "tpot_ms", &cfg->slo_tpot) ||
        get_opt_ms(c, slo, "slo", "e2e_ms", &cfg->slo_e2e))
        return -1;
    if (jv_get_obj(c, root, "", "output", false, &out) || jv_check_keys(c, out, "output", output_keys) ||
        jv_get_bool(c, out, "output", "requests", false, &sc->store_requests) ||
        jv_get_span(c, out, "output", "timeseries_interval", false, 1, true, 1e9, &cfg->sample_interval) ||
        jv_get_bool(c, out, "output", "per_replica", false, &cfg->per_replica_series))
        return -1;
    return 0;
}

/* ---- --set ---- */

/* Apply "a.b[2].c=value": value is JSON when it parses as JSON, else a string. Missing objects
 * along the path are created (unknown keys are then caught by validation). */
static int apply_set(json_t *root, const char *set, fs_error *err)
{
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return fs_error_set(err, "--set", 0, 0, "expected path=value, got '%s'", set);
    size_t plen = (size_t)(eq - set);
    char path[JV_PATH_MAX];
    if (plen >= sizeof path) return fs_error_set(err, "--set", 0, 0, "path too long in '%s'", set);
    memcpy(path, set, plen);
    path[plen] = '\0';
    json_error_t je;
    json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, &je);
    if (!val) val = json_string(eq + 1);

    json_t *cur = root;
    char *p = path;
    for (;;) {
        size_t n = strcspn(p, ".[");
        char key[JV_PATH_MAX];
        memcpy(key, p, n);
        key[n] = '\0';
        p += n;
        if (n == 0 || !json_is_object(cur)) {
            json_decref(val);
            return fs_error_set(err, "--set", 0, 0, "'%s': '%.*s' is not an object key", set, (int)(p - path), path);
        }
        /* indexes that follow the key */
        json_t *child = json_object_get(cur, key);
        json_t *holder = cur;
        const char *holder_key = key;
        size_t idx = 0;
        bool indexed = false;
        while (*p == '[') {
            char *end = p + 1;
            unsigned long long i = 0;
            if (isdigit((unsigned char)p[1])) i = strtoull(p + 1, &end, 10);
            if (end == p + 1 || *end != ']') {
                json_decref(val);
                return fs_error_set(err, "--set", 0, 0, "'%s': expected [index] after '%.*s'", set, (int)(p - path), path);
            }
            json_t *arr = indexed ? json_array_get(holder, idx) : child;
            if (!json_is_array(arr) || i >= json_array_size(arr)) {
                json_decref(val);
                return fs_error_set(err, "--set", 0, 0, "'%s': '%.*s' is not an array with an element %llu",
                                    set, (int)(p - path), path, i);
            }
            holder = arr;
            idx = (size_t)i;
            indexed = true;
            child = json_array_get(arr, idx);
            p = end + 1;
        }
        if (*p == '\0') {
            if (indexed) json_array_set_new(holder, idx, val);
            else json_object_set_new(holder, holder_key, val);
            return 0;
        }
        if (*p != '.') {
            json_decref(val);
            return fs_error_set(err, "--set", 0, 0, "'%s': unexpected '%c' in the path", set, *p);
        }
        p++;
        if (!child) {
            child = json_object();
            if (indexed) json_array_set_new(holder, idx, child);
            else json_object_set_new(holder, holder_key, child);
        }
        cur = child;
    }
}

/* Whether every real in v prints back exactly with `digits` significant digits. */
static bool reals_round_trip(const json_t *v, int digits)
{
    if (json_is_real(v)) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.*g", digits, json_real_value(v));
        return strtod(buf, NULL) == json_real_value(v);
    }
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) if (!reals_round_trip(x, digits)) return false;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x) if (!reals_round_trip(x, digits)) return false;
    }
    return true;
}

static int round_trip_digits(const json_t *root)
{
    for (int d = 15; d < 17; d++)
        if (reals_round_trip(root, d)) return d;
    return 17;
}

int scenario_load_json(json_t *root, const char *path, const scenario_opts *opts, scenario *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; opts && i < opts->nsets; i++)
        if (apply_set(root, opts->sets[i], err)) {
            json_decref(root);
            return -1;
        }
    jv_ctx c = {path, err};
    if (validate(&c, root, opts, out)) {
        json_decref(root);
        scenario_fini(out);
        return -1;
    }
    /* the fewest significant digits (15 to 17) that give back every number exactly: what a
     * person typed prints as written, and a re-run from the stored scenario is the same run */
    int digits = round_trip_digits(root);
    out->resolved_json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(digits));
    json_decref(root);
    if (!out->resolved_json) fs_oom(0);
    return 0;
}

int scenario_load(const char *path, const scenario_opts *opts, scenario *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line <= 0) return fs_error_set(err, path, 0, 0, "%s", je.text);
        return fs_error_set(err, path, je.line, je.column, "%s", je.text);
    }
    return scenario_load_json(root, path, opts, out, err);
}

void scenario_fini(scenario *sc)
{
    free(sc->resolved_json);
    catalog_free(sc->cat);
    for (size_t i = 0; i < sc->nowned; i++) free(sc->owned[i]);
    free(sc->owned);
    for (uint32_t i = 0; i < sc->ntenants; i++) free(sc->tenants[i]);
    for (uint32_t i = 0; i < sc->nregions; i++) free(sc->regions[i]);
    free(sc->tenants);
    free(sc->regions);
    free(sc->name_slots[0]);
    free(sc->name_slots[1]);
    free(sc->sources);
    mig_table_free(sc->mig);
    memset(sc, 0, sizeof *sc);
}

void scenario_own(scenario *sc, void *p)
{
    sc->owned = fs_xrealloc(sc->owned, (sc->nowned + 1) * sizeof *sc->owned);
    sc->owned[sc->nowned++] = p;
}
