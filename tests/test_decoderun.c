/*
 * test_decoderun.c — a run of decode iterations in closed form against the same iterations
 * summed one at a time: end times to the fx, the iteration at or after any time, the histogram
 * of gaps bucket by bucket, over random step-time shapes (regime switches, split-count changes,
 * steps below a nanosecond per iteration of growth, constant steps, the ceiling).
 */
#include <stdint.h>

#include "decoderun.h"
#include "harness.h"
#include "rng.h"

static uint64_t draw_state;
static double uniform(double lo, double hi)
{
    draw_state++;
    return lo + (hi - lo) * (double)(fs_hash64(draw_state, 7) >> 11) / 9007199254740992.0;
}
static double log_uniform(double lo, double hi) { return exp(uniform(log(lo), log(hi))); }

typedef struct brute {
    int32_t n;
    dr_fx R[4096];
} brute;

/* R(0..n) by stepping: each iteration's st_step_fx added to the carried clock */
static void brute_run(brute *b, const st_prepared *p, int64_t ctx1, int32_t D, uint32_t frac0, int32_t n)
{
    b->n = n;
    b->R[0] = frac0;
    for (int32_t k = 1; k <= n; k++) b->R[k] = b->R[k - 1] + st_step_fx(p, ctx1 + (int64_t)(k - 1) * D);
}

static fs_time brute_end(const brute *b, fs_time t0, int32_t k) { return t0 + (fs_time)(b->R[k] >> ST_FRAC); }

static bool same_hist(const fs_hist *a, const fs_hist *b)
{
    if (a->total != b->total || a->sum != b->sum || a->max != b->max || a->min != b->min) return false;
    for (size_t i = 0; i < FS_HIST_BUCKETS; i++)
        if (a->w[i] != b->w[i]) return false;
    return true;
}

static st_prepared random_shape(int32_t D, int kind)
{
    st_prepared p = {0};
    p.decodes = D;
    p.layers = (double)(int)uniform(1, 96);
    p.fixed = log_uniform(1e-6, 0.05);
    p.cpu = uniform(0, 1) < 0.3 ? 0 : log_uniform(1e-5, 0.02);
    p.async = uniform(0, 1) < 0.5;
    p.attn.kc = kind == 1 ? 0 : log_uniform(1e-16, 1e-10);
    p.attn.kb1 = kind == 1 ? 0 : kind == 2 ? log_uniform(1e-20, 1e-16) : log_uniform(1e-14, 1e-9);
    p.attn.kb0 = uniform(0, 1e-5);
    p.attn.per = log_uniform(0.01, 3);
    p.attn.per_split = (int64_t)D * (uniform(0, 1) < 0.5 ? 512 : (int64_t)uniform(1, 40));
    p.attn.call = uniform(0, 2e-5);
    return p;
}

static void check_against_brute(const st_prepared *p, int64_t ctx1, int32_t D, fs_time t0, uint32_t frac0, int32_t n,
                                int *bad)
{
    static brute b;
    decode_run r = {0};
    int32_t planned = dr_plan(&r, p, ctx1, D, t0, frac0, n);
    brute_run(&b, p, ctx1, D, frac0, n);
    /* planned up to the ceiling: every planned step below it, the next one at it */
    int32_t expect = n;
    for (int32_t k = 1; k <= n; k++)
        if (b.R[k] - b.R[k - 1] >= ST_FX_MAX) {
            expect = k - 1;
            break;
        }
    if (planned != expect) {
        (*bad)++;
        dr_fini(&r);
        return;
    }
    for (int32_t k = 0; k <= planned; k++)
        if (dr_elapsed(&r, k) != b.R[k]) {
            (*bad)++;
            break;
        }
    if (planned == 0) {
        dr_fini(&r);
        return;
    }
    /* the first iteration ending at or after t, for times around the run */
    fs_time end = brute_end(&b, t0, planned);
    for (int i = 0; i < 40; i++) {
        fs_time t = i < 4 ? (i == 0 ? t0 - 5 : i == 1 ? t0 : i == 2 ? end : end + 1)
                          : t0 + (fs_time)uniform(0, (double)(end - t0) + 1);
        int32_t k = 1;
        while (k <= planned && brute_end(&b, t0, k) < t) k++;
        if (dr_first_ending_at(&r, t) != k) {
            (*bad)++;
            break;
        }
    }
    /* gaps of iterations 1..j, weighted */
    for (int i = 0; i < 3; i++) {
        int32_t j = i == 0 ? planned : 1 + (int32_t)uniform(0, planned);
        if (j > planned) j = planned;
        uint64_t w = (uint64_t)D;
        fs_hist got, want;
        fs_hist_init(&got);
        fs_hist_init(&want);
        dr_add_gaps(&r, j, &got, w);
        for (int32_t k = 2; k <= j; k++) fs_hist_add(&want, brute_end(&b, t0, k) - brute_end(&b, t0, k - 1), w);
        if (!same_hist(&got, &want)) (*bad)++;
        fs_hist_fini(&got);
        fs_hist_fini(&want);
    }
    dr_fini(&r);
}

static void test_random_shapes(void)
{
    int bad = 0, cases = 0;
    const int32_t Ds[] = {1, 2, 7, 32, 256};
    for (int kind = 0; kind < 3; kind++) {
        for (int i = 0; i < 300; i++) {
            int32_t D = Ds[i % 5];
            st_prepared p = random_shape(D, kind);
            int64_t ctx1 = (int64_t)D * (int64_t)uniform(1, 8000);
            int32_t n = 1 + (int32_t)uniform(0, 3000);
            check_against_brute(&p, ctx1, D, (fs_time)uniform(0, 1e12), (uint32_t)uniform(0, 65536), n, &bad);
            cases++;
        }
    }
    printf("  %d random runs, %d differ\n", cases, bad);
    CHECK_INT(bad, 0);
}

/* A step that grows to the ceiling (ST_FX_MAX) about 150 iterations in: the run stops before. */
static void test_ceiling(void)
{
    int bad = 0;
    for (int32_t D = 1; D <= 64; D *= 4) {
        st_prepared p = {0};
        p.decodes = D;
        p.layers = 1;
        p.fixed = 0.01;
        p.attn.kb1 = ldexp(1.0, 62 - ST_FRAC) * 1e-9 / (150.0 * D);
        p.attn.per = 2; /* the bandwidth share saturates: the memory line is the steepest */
        p.attn.per_split = (int64_t)D * 512;
        check_against_brute(&p, D, D, 0, 0, 1000, &bad);
        decode_run r = {0};
        int32_t planned = dr_plan(&r, &p, D, D, 0, 0, 1000);
        CHECK(planned > 100 && planned < 160);
        dr_fini(&r);
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    RUN(test_random_shapes);
    RUN(test_ceiling);
    return DONE();
}
