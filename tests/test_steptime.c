/*
 * test_steptime.c — the step-time model's single operators against measured A100 kernels.
 *
 * The data are slices of public profiles measured on an A100-SXM4-80GB (tests/data/profiles-a100,
 * see its README): NVIDIA aiconfigurator's vLLM 0.14.0 tables (bf16 GEMMs, decode and prefill
 * flash attention, NCCL and vLLM custom all-reduce) and Vidur's per-operator times of three
 * Llamas. They are read by the profile importer (gpu/profile.h, tested on its own in
 * test_calibrate.c), and every row is predicted with the A100-SXM4-80GB catalog entry's default
 * parameters (nothing fitted to these rows). The absolute percentage error |pred - meas| / meas
 * is summarised per operator on stderr:
 *
 *     gemm                         770 rows  median  20.2%  p90  43.1%  bias  -20.2%  worst 56% at ...
 *
 * (bias: the median of the signed error (pred - meas) / meas: < 0 means the model is too fast).
 * Only the aiconfigurator GEMMs and decode attention are held to a target (median below 25%);
 * the other operators are printed for the record. How far a calibration gets is
 * test_calibrate.c's business.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "calibrate.h"
#include "catalog.h"
#include "harness.h"
#include "profile.h"
#include "steptime.h"

#define PROFILES FS_TEST_DATA "/profiles-a100"
#define AIC PROFILES "/aiconfigurator_a100_sxm"
#define GPU_NAME "A100-SXM4-80GB"
#define TARGET 0.25 /* median absolute percentage error, GEMM and decode attention */

static catalog *cat;

/* Read `paths` (NULL-terminated) into s; a file that fails fails the test with its message. */
static int load(prof_set *s, const char *const *paths)
{
    prof_set_init(s);
    for (int i = 0; paths[i]; i++) {
        fs_error err;
        if (prof_read_file(s, paths[i], &err)) {
            char buf[1400];
            fprintf(stderr, "  error: %s\n", fs_error_format(&err, buf, sizeof buf));
            CHECK(!"a profile slice could not be read");
            return -1;
        }
    }
    return 0;
}

static void print_stat(const prof_set *s, const cal_stat *st)
{
    const prof_row *w = &s->rows[st->worst];
    fprintf(stderr, "  %s%-26s %5zu rows  median %5.1f%%  p90 %5.1f%%  bias %+6.1f%%  worst %.0f%% at %s:%d\n",
            st->family ? "" : "  ", st->name, st->n, 100 * st->median_ape, 100 * st->p90_ape, 100 * st->bias,
            100 * st->worst_ape, s->files[w->file].path + strlen(PROFILES) + 1, w->line);
}

/* The report's line for `name`, or NULL. */
static const cal_stat *find(const cal_report *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0) return &r->v[i];
    return NULL;
}

/* The shipped A100 entry against the aiconfigurator slices: GEMM and decode attention within the
 * target, the rest printed. */
static void test_aiconfigurator(void)
{
    static const char *const paths[] = {AIC "/gemm/vllm/0.14.0/gemm_perf.csv",
                                        AIC "/attention/vllm/0.14.0/generation_attention_perf.csv",
                                        AIC "/attention/vllm/0.14.0/context_attention_perf.csv",
                                        AIC "/comm/nccl/2.27.3/nccl_perf.csv",
                                        AIC "/comm/vllm/0.14.0/custom_allreduce_perf.csv", NULL};
    prof_set s;
    const gpu_spec *gpu = catalog_gpu(cat, GPU_NAME);
    CHECK(gpu != NULL);
    if (!gpu || load(&s, paths)) {
        prof_set_fini(&s);
        return;
    }
    cal_report r;
    cal_errors(gpu, &s, 0, CAL_ALL, NULL, &r);
    for (size_t i = 0; i < r.n; i++) print_stat(&s, &r.v[i]);
    const cal_stat *gemm = find(&r, "gemm"), *decode = find(&r, "attn_decode"), *prefill = find(&r, "attn_prefill"),
                   *nccl = find(&r, "allreduce.nccl"), *custom = find(&r, "allreduce.custom");
    CHECK(gemm && gemm->n >= 500 && gemm->median_ape < TARGET);
    CHECK(decode && decode->n >= 300 && decode->median_ape < TARGET);
    CHECK(prefill && prefill->n >= 100);
    CHECK(nccl && nccl->n >= 20);
    CHECK(custom && custom->n >= 20);
    cal_report_fini(&r);
    prof_set_fini(&s);
}

/* Row of `name` in group `group` with the largest m, then the largest n x k (TP 1). */
static const prof_row *largest(const prof_set *s, const char *group, const char *name)
{
    const prof_row *best = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const prof_row *r = &s->rows[i];
        if (strcmp(r->group, group) != 0 || strcmp(r->name, name) != 0) continue;
        if (!best || r->m > best->m || (r->m == best->m && r->n * r->k > best->n * best->k)) best = r;
    }
    return best;
}

/*
 * Vidur's Llama projections as GEMMs (the importer maps each operator to its shape, profile.c).
 * mlp_up_proj is the fused gate+up projection: with use_gated_mlp it takes about twice
 * mlp_down_proj on large batches (Llama-2-7B, 4096 tokens, TP 1: 3.37 ms against 1.60 ms; the
 * same FLOPs apart from the factor 2), checked on the data themselves, which is what makes the
 * reading n = 2 x intermediate / tp right.
 */
static void test_vidur(void)
{
    static const char *const paths[] = {PROFILES "/vidur_a100/Llama-2-7b-hf_mlp.csv",
                                        PROFILES "/vidur_a100/Meta-Llama-3-8B_mlp.csv",
                                        PROFILES "/vidur_a100/Llama-2-70b-hf_mlp.csv", NULL};
    static const char *const groups[] = {"Llama-2-7b-hf", "Meta-Llama-3-8B", "Llama-2-70b-hf"};
    prof_set s;
    const gpu_spec *gpu = catalog_gpu(cat, GPU_NAME);
    CHECK(gpu != NULL);
    if (!gpu || load(&s, paths)) {
        prof_set_fini(&s);
        return;
    }
    cal_report r;
    cal_errors(gpu, &s, 0, CAL_ALL, NULL, &r);
    for (size_t i = 0; i < r.n; i++) print_stat(&s, &r.v[i]);
    static const char *const gemms[] = {"attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj"};
    for (int i = 0; i < 4; i++) {
        const cal_stat *st = find(&r, gemms[i]);
        CHECK(st && st->n >= 100);
    }
    for (int g = 0; g < 3; g++) {
        const prof_row *up = largest(&s, groups[g], "mlp_up_proj"), *down = largest(&s, groups[g], "mlp_down_proj");
        CHECK(up && down);
        if (!up || !down) continue;
        double ratio = up->seconds / down->seconds;
        if (!(ratio > 1.7 && ratio < 2.4))
            fprintf(stderr, "  %s: mlp_up_proj / mlp_down_proj at %g tokens = %.2f\n", groups[g], up->m, ratio);
        CHECK(ratio > 1.7 && ratio < 2.4);
        CHECK(up->n == 2 * down->k && up->k == down->n); /* gate and up fused, TP 1 */
    }
    cal_report_fini(&r);
    prof_set_fini(&s);
}

/* The defaults of the new shape terms leave the model as it was: an entry without them gives the
 * same GEMM time as the m-only curve, and prefill attention the exact causal pairs. */
static void test_neutral_defaults(void)
{
    const gpu_spec *gpu = catalog_gpu(cat, GPU_NAME);
    const model_spec *model = catalog_model(cat, "meta-llama/Llama-3.1-8B");
    CHECK(gpu && model);
    if (!gpu || !model) return;
    st_config c = {.model = model, .gpu = gpu, .tp = 1, .weights = ST_BF16, .kv = ST_BF16, .compute_share = 1,
                   .bandwidth_share = 1};
    st_model m;
    st_model_init(&m, &c);
    const gpu_perf *p = &gpu->perf;
    double rows = 512, n = 4096, k = 4096;
    double eff = p->gemm_eff * rows / (rows + p->gemm_m_half);
    double want = fmax(2 * rows * n * k / (gpu->bf16_flops * eff),
                       (n * k * 2 + (rows * k + rows * n) * 2) / (gpu->mem_bw * p->mem_eff)) + p->kernel_us * 1e-6;
    CHECK_NEAR(st_gemm(&m, rows, n, k), want, want * 1e-12);
    double len = 2048, heads = 32, kvh = 8, hd = 128;
    double flops = 4 * heads * hd * len * (len + 1) / 2;
    double bytes = len * 2 * kvh * hd * 2 + len * 2 * heads * hd * 2;
    want = fmax(flops / (gpu->bf16_flops * p->attn_eff), bytes / (gpu->mem_bw * p->mem_eff)) + p->kernel_us * 1e-6;
    CHECK_NEAR(st_attention_prefill_op(&m, 1, len, 0, heads, kvh, hd), want, want * 1e-12);
    /* decode: 8 sequences of 4096 tokens, 8 splits of 512, enough work units to saturate */
    double batch = 8, ctx = 4096, bw = gpu->mem_bw * p->mem_eff;
    double compute = 4 * heads * hd * batch * ctx / (gpu->bf16_flops * p->attn_eff);
    double memory = (batch * ctx * 2 * kvh * hd * 2 + batch * 2 * heads * hd * 2) / bw;
    want = fmax(compute, memory) + (p->attn_us + p->attn_seq_us * batch) * 1e-6;
    CHECK_NEAR(st_attention_decode_op(&m, batch, ctx, heads, kvh, hd), want, want * 1e-12);
}

int main(void)
{
    fs_error err;
    cat = catalog_new(&err);
    if (!cat) {
        fprintf(stderr, "catalog: %s\n", err.msg);
        return 1;
    }
    RUN(test_aiconfigurator);
    RUN(test_vidur);
    RUN(test_neutral_defaults);
    catalog_free(cat);
    return DONE();
}
