#include "catalog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jsonv.h"

/* The shipped data, compiled in by gpu/embed.cmake. */
extern const unsigned char fs_catalog_gpus_json[];
extern const size_t fs_catalog_gpus_json_len;
extern const unsigned char fs_catalog_models_json[];
extern const size_t fs_catalog_models_json_len;

struct catalog {
    gpu_spec *gpus;
    size_t ngpus, gpus_cap;
    model_spec *models;
    size_t nmodels, models_cap;
};

/* Generic defaults of the step-time model's parameters (see steptime.c for how each is used).
 * mem_eff and kernel_us follow what vendor tools assume for every GPU (aiconfigurator scales
 * memory bandwidth by 0.8 and adds about 3 us per kernel). gemm_eff is the share of peak cuBLAS
 * reaches on large bf16 GEMMs (0.92 x m / (m + 64) matches the median of the A100 profile's
 * GEMMs with n, k >= 4096 at every m from 512 to 8192 within 0.02); no parameter is fitted to a
 * replayed serving run. The decode-attention terms (attn_us, attn_seq_us, attn_sm_share) were
 * chosen on the A100 profile's decode-attention rows, leaving out the rows copied into tests/
 * (held-out median error 18%); a calibration of the GPU at hand replaces them. */
static const gpu_perf default_perf = {
    .gemm_eff = 0.92, .gemm_m_half = 64, .gemm_n_half = 0, .gemm_k_half = 0, .mem_eff = 0.80, .attn_eff = 0.50,
    .attn_pad = 0, .attn_prefill_us = 0, .attn_query_us = 0, .attn_mem_eff = 0, .attn_us = 14.0, .attn_seq_us = 0.1,
    .attn_unit_us = 0, .attn_sm_share = 0.5, .attn_split_mha = true, .attn_waves = false, .attn_combine_us = 0,
    .attn_copy_us = 0,
    .kernel_us = 3.0, .allreduce_us = 8.0, .link_eff = 1.0, .cpu_step_us = 1500, .cpu_seq_us = 10,
};

static bool names_match(const char *name, const char *aliases, const char *query)
{
    if (strcasecmp(name, query) == 0) return true;
    size_t n = strlen(query);
    for (const char *p = aliases; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncasecmp(p, query, n) == 0) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

const gpu_spec *catalog_gpu(const catalog *c, const char *name)
{
    for (size_t i = 0; i < c->ngpus; i++)
        if (names_match(c->gpus[i].name, c->gpus[i].aliases, name)) return &c->gpus[i];
    return NULL;
}

const model_spec *catalog_model(const catalog *c, const char *name)
{
    for (size_t i = 0; i < c->nmodels; i++)
        if (names_match(c->models[i].name, c->models[i].aliases, name)) return &c->models[i];
    return NULL;
}

size_t catalog_gpu_count(const catalog *c) { return c->ngpus; }
const gpu_spec *catalog_gpu_at(const catalog *c, size_t i) { return i < c->ngpus ? &c->gpus[i] : NULL; }
size_t catalog_model_count(const catalog *c) { return c->nmodels; }
const model_spec *catalog_model_at(const catalog *c, size_t i) { return i < c->nmodels ? &c->models[i] : NULL; }

static void names(char *buf, size_t size, size_t n, const char *(*at)(const catalog *, size_t), const catalog *c)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(buf, at(c, i), size - strlen(buf) - 1);
        if (i + 1 < n) strncat(buf, ", ", size - strlen(buf) - 1);
    }
}

static const char *gpu_name_at(const catalog *c, size_t i) { return c->gpus[i].name; }
static const char *model_name_at(const catalog *c, size_t i) { return c->models[i].name; }
void catalog_gpu_names(const catalog *c, char *buf, size_t size) { names(buf, size, c->ngpus, gpu_name_at, c); }
void catalog_model_names(const catalog *c, char *buf, size_t size) { names(buf, size, c->nmodels, model_name_at, c); }

/* ---- loading ---- */

static int get_aliases(jv_ctx *jc, json_t *o, const char *path, char *out, size_t size)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, "aliases");
    json_t *a = json_object_get(o, "aliases");
    out[0] = '\0';
    if (!a) return 0;
    if (!json_is_array(a)) return jv_bad(jc, p, "an array of strings", a);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        char pi[JV_PATH_MAX];
        jv_join_index(pi, p, i);
        if (!json_is_string(v) || json_string_length(v) == 0 || strchr(json_string_value(v), ','))
            return jv_bad(jc, pi, "a non-empty string without commas", v);
        if (strlen(out) + json_string_length(v) + 2 > size)
            return fs_error_at(jc->err, jc->file, pi, "aliases too long (at most %zu bytes in all)", size - 1);
        if (i) strcat(out, ",");
        strcat(out, json_string_value(v));
    }
    return 0;
}

static int get_name(jv_ctx *jc, json_t *o, const char *path, char *out, size_t size)
{
    const char *s;
    if (jv_get_str(jc, o, path, "name", true, NULL, NULL, &s)) return -1;
    if (strlen(s) >= size) {
        char p[JV_PATH_MAX];
        jv_join(p, path, "name");
        return fs_error_at(jc->err, jc->file, p, "expected at most %zu bytes, got %zu", size - 1, strlen(s));
    }
    snprintf(out, size, "%s", s);
    return 0;
}

static const char *const gpu_keys[] = {"name", "aliases", "memory_bytes", "mem_bw_gbs", "bf16_tflops", "fp8_tflops",
                                       "int8_tops", "tdp_w", "idle_w", "sm_count", "nvlink_gbs", "pcie_gbs", "mig",
                                       "price_per_hour", "price_source", "price_date", "perf", NULL};
static const char *const perf_keys[] = {"gemm_eff", "gemm_m_half", "gemm_n_half", "gemm_k_half", "mem_eff",
                                        "attn_eff", "attn_pad", "attn_prefill_us", "attn_query_us", "attn_mem_eff", "attn_us",
                                        "attn_seq_us", "attn_unit_us", "attn_sm_share", "attn_split_mha",
                                        "attn_waves", "attn_combine_us", "attn_copy_us", "kernel_us", "allreduce_us", "link_eff", "cpu_step_us", "cpu_seq_us", NULL};

static int load_perf(jv_ctx *jc, json_t *o, const char *path, gpu_perf *out)
{
    json_t *p;
    char pp[JV_PATH_MAX];
    jv_join(pp, path, "perf");
    *out = default_perf;
    if (jv_get_obj(jc, o, path, "perf", false, &p) || jv_check_keys(jc, p, pp, perf_keys)) return -1;
    return jv_get_num(jc, p, pp, "gemm_eff", false, out->gemm_eff, 0, true, 1, &out->gemm_eff) ||
           jv_get_num(jc, p, pp, "gemm_m_half", false, out->gemm_m_half, 0, false, 1e6, &out->gemm_m_half) ||
           jv_get_num(jc, p, pp, "gemm_n_half", false, out->gemm_n_half, 0, false, 1e6, &out->gemm_n_half) ||
           jv_get_num(jc, p, pp, "gemm_k_half", false, out->gemm_k_half, 0, false, 1e6, &out->gemm_k_half) ||
           jv_get_num(jc, p, pp, "mem_eff", false, out->mem_eff, 0, true, 1, &out->mem_eff) ||
           jv_get_num(jc, p, pp, "attn_eff", false, out->attn_eff, 0, true, 1, &out->attn_eff) ||
           jv_get_num(jc, p, pp, "attn_pad", false, out->attn_pad, 0, false, 1e5, &out->attn_pad) ||
           jv_get_num(jc, p, pp, "attn_prefill_us", false, out->attn_prefill_us, 0, false, 1e6, &out->attn_prefill_us) ||
           jv_get_num(jc, p, pp, "attn_query_us", false, out->attn_query_us, 0, false, 1e6, &out->attn_query_us) ||
           jv_get_num(jc, p, pp, "attn_mem_eff", false, out->attn_mem_eff, 0, false, 1, &out->attn_mem_eff) ||
           jv_get_num(jc, p, pp, "attn_us", false, out->attn_us, 0, false, 1e6, &out->attn_us) ||
           jv_get_num(jc, p, pp, "attn_seq_us", false, out->attn_seq_us, 0, false, 1e6, &out->attn_seq_us) ||
           jv_get_num(jc, p, pp, "attn_unit_us", false, out->attn_unit_us, 0, false, 1e6, &out->attn_unit_us) ||
           jv_get_num(jc, p, pp, "attn_sm_share", false, out->attn_sm_share, 0, true, 1e3, &out->attn_sm_share) ||
           jv_get_bool(jc, p, pp, "attn_split_mha", out->attn_split_mha, &out->attn_split_mha) ||
           jv_get_bool(jc, p, pp, "attn_waves", out->attn_waves, &out->attn_waves) ||
           jv_get_num(jc, p, pp, "attn_combine_us", false, out->attn_combine_us, 0, false, 1e6, &out->attn_combine_us) ||
           jv_get_num(jc, p, pp, "attn_copy_us", false, out->attn_copy_us, 0, false, 1e6, &out->attn_copy_us) ||
           jv_get_num(jc, p, pp, "kernel_us", false, out->kernel_us, 0, false, 1e6, &out->kernel_us) ||
           jv_get_num(jc, p, pp, "allreduce_us", false, out->allreduce_us, 0, false, 1e6, &out->allreduce_us) ||
           jv_get_num(jc, p, pp, "link_eff", false, out->link_eff, 0, true, 1, &out->link_eff) ||
           jv_get_num(jc, p, pp, "cpu_step_us", false, out->cpu_step_us, 0, false, 1e7, &out->cpu_step_us) ||
           jv_get_num(jc, p, pp, "cpu_seq_us", false, out->cpu_seq_us, 0, false, 1e6, &out->cpu_seq_us)
               ? -1
               : 0;
}

static int load_gpu(jv_ctx *jc, json_t *o, const char *path, gpu_spec *g)
{
    double bw, bf16, fp8, int8, nvl, pcie;
    long long sms;
    const char *src = "", *date = "";
    memset(g, 0, sizeof *g);
    if (!json_is_object(o)) return jv_bad(jc, path, "an object", o);
    if (jv_check_keys(jc, o, path, gpu_keys) || get_name(jc, o, path, g->name, sizeof g->name) ||
        get_aliases(jc, o, path, g->aliases, sizeof g->aliases) ||
        jv_get_num(jc, o, path, "memory_bytes", true, 0, 0, true, 1e15, &g->memory_bytes) ||
        jv_get_num(jc, o, path, "mem_bw_gbs", true, 0, 0, true, 1e6, &bw) ||
        jv_get_num(jc, o, path, "bf16_tflops", true, 0, 0, true, 1e6, &bf16) ||
        jv_get_num(jc, o, path, "fp8_tflops", false, 0, 0, false, 1e6, &fp8) ||
        jv_get_num(jc, o, path, "int8_tops", false, 0, 0, false, 1e6, &int8) ||
        jv_get_num(jc, o, path, "tdp_w", true, 0, 0, true, 1e5, &g->tdp_w) ||
        jv_get_num(jc, o, path, "idle_w", false, g->tdp_w * 0.1, 0, false, g->tdp_w, &g->idle_w) ||
        jv_get_int(jc, o, path, "sm_count", false, 0, 0, 100000, &sms) ||
        jv_get_num(jc, o, path, "nvlink_gbs", false, 0, 0, false, 1e6, &nvl) ||
        jv_get_num(jc, o, path, "pcie_gbs", false, 32, 0, true, 1e6, &pcie) ||
        jv_get_bool(jc, o, path, "mig", false, &g->mig) ||
        jv_get_num(jc, o, path, "price_per_hour", false, 0, 0, false, 1e6, &g->price_per_hour) ||
        (json_object_get(o, "price_source") && jv_get_str(jc, o, path, "price_source", true, NULL, NULL, &src)) ||
        (json_object_get(o, "price_date") && jv_get_str(jc, o, path, "price_date", true, NULL, NULL, &date)) ||
        load_perf(jc, o, path, &g->perf))
        return -1;
    g->mem_bw = bw * 1e9;
    g->bf16_flops = bf16 * 1e12;
    g->fp8_flops = fp8 * 1e12;
    g->int8_ops = int8 * 1e12;
    g->nvlink_bw = nvl * 1e9;
    g->pcie_bw = pcie * 1e9;
    g->sm_count = (int)sms;
    snprintf(g->price_source, sizeof g->price_source, "%s", src);
    snprintf(g->price_date, sizeof g->price_date, "%s", date);
    return 0;
}

static const char *const model_keys[] = {"name", "aliases", "layers", "hidden", "heads", "kv_heads", "head_dim",
                                         "intermediate", "vocab", "experts", "experts_per_token", "moe_intermediate",
                                         "max_position", "tie_embeddings", "dtype", NULL};
static const char *const dtypes[] = {"bf16", "fp16", "fp8", "int4", NULL};

static int load_model(jv_ctx *jc, json_t *o, const char *path, model_spec *m)
{
    long long layers, hidden, heads, kv, hd, inter, vocab, experts, topk, moe, maxpos;
    const char *dtype;
    memset(m, 0, sizeof *m);
    if (!json_is_object(o)) return jv_bad(jc, path, "an object", o);
    if (jv_check_keys(jc, o, path, model_keys) || get_name(jc, o, path, m->name, sizeof m->name) ||
        get_aliases(jc, o, path, m->aliases, sizeof m->aliases) ||
        jv_get_int(jc, o, path, "layers", true, 0, 1, 10000, &layers) ||
        jv_get_int(jc, o, path, "hidden", true, 0, 1, 1 << 20, &hidden) ||
        jv_get_int(jc, o, path, "heads", true, 0, 1, 1 << 14, &heads) ||
        jv_get_int(jc, o, path, "kv_heads", false, heads, 1, heads, &kv) ||
        jv_get_int(jc, o, path, "head_dim", false, hidden / heads, 1, 1 << 14, &hd) ||
        jv_get_int(jc, o, path, "intermediate", true, 0, 1, 1 << 22, &inter) ||
        jv_get_int(jc, o, path, "vocab", true, 0, 1, 1 << 24, &vocab) ||
        jv_get_int(jc, o, path, "experts", false, 0, 0, 1 << 16, &experts) ||
        jv_get_int(jc, o, path, "experts_per_token", false, experts ? 1 : 0, 0, experts, &topk) ||
        jv_get_int(jc, o, path, "moe_intermediate", false, experts ? inter : 0, 0, 1 << 22, &moe) ||
        jv_get_int(jc, o, path, "max_position", false, 4096, 1, 1 << 30, &maxpos) ||
        jv_get_bool(jc, o, path, "tie_embeddings", false, &m->tie_embeddings) ||
        jv_get_str(jc, o, path, "dtype", false, "bf16", dtypes, &dtype))
        return -1;
    if (heads % kv != 0) {
        char p[JV_PATH_MAX];
        jv_join(p, path, "kv_heads");
        return fs_error_at(jc->err, jc->file, p, "expected a divisor of heads (%lld), got %lld", heads, kv);
    }
    if (experts && topk < 1) {
        char p[JV_PATH_MAX];
        jv_join(p, path, "experts_per_token");
        return fs_error_at(jc->err, jc->file, p, "expected an integer in 1..%lld for a model with experts, got %lld",
                           experts, topk);
    }
    m->layers = (int)layers;
    m->hidden = (int)hidden;
    m->heads = (int)heads;
    m->kv_heads = (int)kv;
    m->head_dim = (int)hd;
    m->intermediate = (int)inter;
    m->vocab = (int)vocab;
    m->experts = (int)experts;
    m->experts_per_token = (int)topk;
    m->moe_intermediate = (int)moe;
    m->max_position = (int)maxpos;
    m->dtype_bytes = strcmp(dtype, "fp8") == 0 ? 1 : strcmp(dtype, "int4") == 0 ? 1 : 2;
    return 0;
}

#define GROW(arr, n, cap) ((arr) = fs_xgrow((arr), &(cap), (n) + 1, sizeof *(arr)))

/* Load one document into c; entries that match an existing name replace it. All or nothing:
 * the document is validated whole before anything is added. */
static int add_doc(catalog *c, json_t *root, const char *file, fs_error *err)
{
    jv_ctx jc = {file, err};
    static const char *const top[] = {"_comment", "gpus", "models", NULL};
    if (!json_is_object(root)) return jv_bad(&jc, "(top level)", "an object with \"gpus\" and/or \"models\"", root);
    if (jv_check_keys(&jc, root, "", top)) return -1;
    json_t *gs = json_object_get(root, "gpus"), *ms = json_object_get(root, "models");
    if (gs && !json_is_array(gs)) return jv_bad(&jc, "gpus", "an array", gs);
    if (ms && !json_is_array(ms)) return jv_bad(&jc, "models", "an array", ms);
    if (!gs && !ms) return fs_error_at(err, file, "(top level)", "expected \"gpus\" and/or \"models\", found neither");
    size_t ng = gs ? json_array_size(gs) : 0, nm = ms ? json_array_size(ms) : 0;
    gpu_spec *g = fs_xcalloc(ng ? ng : 1, sizeof *g);
    model_spec *m = fs_xcalloc(nm ? nm : 1, sizeof *m);
    int rc = 0;
    for (size_t i = 0; i < ng && rc == 0; i++) {
        char p[JV_PATH_MAX];
        jv_join_index(p, "gpus", i);
        rc = load_gpu(&jc, json_array_get(gs, i), p, &g[i]);
    }
    for (size_t i = 0; i < nm && rc == 0; i++) {
        char p[JV_PATH_MAX];
        jv_join_index(p, "models", i);
        rc = load_model(&jc, json_array_get(ms, i), p, &m[i]);
    }
    for (size_t i = 0; i < ng && rc == 0; i++) {
        gpu_spec *old = (gpu_spec *)catalog_gpu(c, g[i].name);
        if (old) {
            *old = g[i];
        } else {
            GROW(c->gpus, c->ngpus, c->gpus_cap);
            c->gpus[c->ngpus++] = g[i];
        }
    }
    for (size_t i = 0; i < nm && rc == 0; i++) {
        model_spec *old = (model_spec *)catalog_model(c, m[i].name);
        if (old) {
            *old = m[i];
        } else {
            GROW(c->models, c->nmodels, c->models_cap);
            c->models[c->nmodels++] = m[i];
        }
    }
    free(g);
    free(m);
    return rc;
}

static int add_buffer(catalog *c, const unsigned char *data, size_t len, const char *label, fs_error *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return fs_error_set(err, label, je.line, je.column, "%s", je.text);
    int rc = add_doc(c, root, label, err);
    json_decref(root);
    return rc;
}

catalog *catalog_new(fs_error *err)
{
    catalog *c = fs_xcalloc(1, sizeof *c);
    if (add_buffer(c, fs_catalog_gpus_json, fs_catalog_gpus_json_len, "gpu/data/gpus.json", err) ||
        add_buffer(c, fs_catalog_models_json, fs_catalog_models_json_len, "gpu/data/models.json", err)) {
        catalog_free(c);
        return NULL;
    }
    return c;
}

catalog *catalog_new_empty(void) { return fs_xcalloc(1, sizeof(catalog)); }

int catalog_add_file(catalog *c, const char *path, fs_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line <= 0) return fs_error_set(err, path, 0, 0, "%s", je.text);
        return fs_error_set(err, path, je.line, je.column, "%s", je.text);
    }
    int rc = add_doc(c, root, path, err);
    json_decref(root);
    return rc;
}

/* ---- writing ---- */

static json_t *gpu_json(const gpu_spec *g)
{
    json_t *o = json_object(), *perf = json_object();
    json_object_set_new(o, "name", json_string(g->name));
    if (g->aliases[0]) {
        json_t *a = json_array();
        for (const char *p = g->aliases; *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            json_array_append_new(a, json_stringn(p, len));
            p = comma ? comma + 1 : p + len;
        }
        json_object_set_new(o, "aliases", a);
    }
    bool whole = g->memory_bytes == floor(g->memory_bytes) && g->memory_bytes < 9007199254740992.0; /* 2^53 */
    json_object_set_new(o, "memory_bytes", whole ? json_integer((json_int_t)g->memory_bytes) : json_real(g->memory_bytes));
    json_object_set_new(o, "mem_bw_gbs", json_real(g->mem_bw / 1e9));
    json_object_set_new(o, "bf16_tflops", json_real(g->bf16_flops / 1e12));
    json_object_set_new(o, "fp8_tflops", json_real(g->fp8_flops / 1e12));
    json_object_set_new(o, "int8_tops", json_real(g->int8_ops / 1e12));
    json_object_set_new(o, "tdp_w", json_real(g->tdp_w));
    json_object_set_new(o, "idle_w", json_real(g->idle_w));
    json_object_set_new(o, "sm_count", json_integer(g->sm_count));
    json_object_set_new(o, "nvlink_gbs", json_real(g->nvlink_bw / 1e9));
    json_object_set_new(o, "pcie_gbs", json_real(g->pcie_bw / 1e9));
    json_object_set_new(o, "mig", json_boolean(g->mig));
    json_object_set_new(o, "price_per_hour", json_real(g->price_per_hour));
    if (g->price_source[0]) json_object_set_new(o, "price_source", json_string(g->price_source));
    if (g->price_date[0]) json_object_set_new(o, "price_date", json_string(g->price_date));
    const gpu_perf *p = &g->perf;
    const struct { const char *key; double v; } nums[] = {
        {"gemm_eff", p->gemm_eff}, {"gemm_m_half", p->gemm_m_half}, {"gemm_n_half", p->gemm_n_half},
        {"gemm_k_half", p->gemm_k_half}, {"mem_eff", p->mem_eff}, {"attn_eff", p->attn_eff},
        {"attn_pad", p->attn_pad}, {"attn_prefill_us", p->attn_prefill_us}, {"attn_query_us", p->attn_query_us},
        {"attn_mem_eff", p->attn_mem_eff}, {"attn_us", p->attn_us}, {"attn_seq_us", p->attn_seq_us}, {"attn_unit_us", p->attn_unit_us},
        {"attn_sm_share", p->attn_sm_share}, {"attn_combine_us", p->attn_combine_us},
        {"attn_copy_us", p->attn_copy_us}, {"kernel_us", p->kernel_us}, {"allreduce_us", p->allreduce_us},
        {"link_eff", p->link_eff}, {"cpu_step_us", p->cpu_step_us}, {"cpu_seq_us", p->cpu_seq_us},
    };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) json_object_set_new(perf, nums[i].key, json_real(nums[i].v));
    json_object_set_new(perf, "attn_split_mha", json_boolean(p->attn_split_mha));
    json_object_set_new(perf, "attn_waves", json_boolean(p->attn_waves));
    json_object_set_new(o, "perf", perf);
    return o;
}

int catalog_write_gpus(const char *path, const gpu_spec *const *gpus, size_t n, const char *comment, fs_error *err)
{
    json_t *root = json_object(), *arr = json_array();
    if (comment && comment[0]) json_object_set_new(root, "_comment", json_string(comment));
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, gpu_json(gpus[i]));
    json_object_set_new(root, "gpus", arr);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) fs_oom(0);
    size_t len = strlen(path) + 8;
    char *tmp = fs_xmalloc(len);
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) {
        rc = fs_error_set(err, path, 0, 0, "cannot write: %s", strerror(errno));
    } else {
        bool bad = fputs(text, f) == EOF || fputc('\n', f) == EOF;
        if (fclose(f) != 0) bad = true;
        if (bad || rename(tmp, path) != 0) {
            rc = fs_error_set(err, path, 0, 0, "cannot write: %s", strerror(errno));
            remove(tmp);
        }
    }
    free(tmp);
    free(text);
    return rc;
}

void catalog_free(catalog *c)
{
    if (!c) return;
    free(c->gpus);
    free(c->models);
    free(c);
}

/* ---- derived quantities ---- */

double model_weight_params(const model_spec *m)
{
    double h = m->hidden, q = (double)m->heads * m->head_dim, kv = (double)m->kv_heads * m->head_dim;
    double attn = h * q + 2 * h * kv + q * h;
    double mlp = m->experts ? (double)m->experts * 3 * h * m->moe_intermediate + h * m->experts
                            : 3 * h * m->intermediate;
    double embed = (double)m->vocab * h * (m->tie_embeddings ? 1 : 2);
    return m->layers * (attn + mlp + 2 * h) + embed + h;
}

double model_kv_bytes_per_token(const model_spec *m, int tp, double kv_dtype_bytes)
{
    int kv_per_gpu = m->kv_heads / tp;
    if (kv_per_gpu < 1) kv_per_gpu = 1; /* vLLM replicates KV heads when TP exceeds their number */
    return 2.0 * m->layers * kv_per_gpu * m->head_dim * kv_dtype_bytes;
}
