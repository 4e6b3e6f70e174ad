/* The power model (gpu/power.h): an iteration's FLOPs and bytes checked by hand, the closed-form
 * sums over decode runs against the iterations one by one, the activity's clamp and where it lands
 * for memory- and compute-bound batches, and MIG shares. */
#include <stdint.h>

#include "catalog.h"
#include "harness.h"
#include "power.h"
#include "steptime.h"

static catalog *cat;

#define NEAR_REL(a, b, rel) CHECK_NEAR(a, b, (rel) * fabs((double)(b)))

static st_model model_of(const char *model, const char *gpu, bool graphs, double compute_share,
                         double bandwidth_share)
{
    st_config c = {.model = catalog_model(cat, model), .gpu = catalog_gpu(cat, gpu), .tp = 1, .weights = ST_BF16,
                   .kv = ST_BF16, .cuda_graphs = graphs, .max_capture = 512, .async_scheduling = true,
                   .compute_share = compute_share, .bandwidth_share = bandwidth_share};
    st_model m;
    st_model_init(&m, &c);
    return m;
}

static pw_model power_of(const st_model *m)
{
    pw_model pm;
    pw_model_init(&pm, m);
    return pm;
}

static st_batch decodes(int32_t D, double ctx)
{
    return (st_batch){.decodes = D, .seqs = D, .logits = D, .decode_ctx = ctx};
}

/* One prompt chunk of c tokens after o computed ones, sampling when it ends the prompt. */
static st_batch chunk(double o, double c)
{
    return (st_batch){.prefill_tokens = (int32_t)c, .seqs = 1, .logits = 1, .prefill_pairs = c * o + c * (c + 1) / 2,
                      .prefill_kv = o + c};
}

/*
 * Llama-3.1-8B on one H100-SXM (989 TFLOP/s bf16, 3.35 TB/s), bf16 weights and KV, no CUDA
 * graphs. Per GPU: hidden 4096, 32 query heads and 8 KV heads of 128, so QKV is 6144 x 4096 and
 * O 4096 x 4096; MLP 14336 (gate+up 28672 x 4096, down 4096 x 14336); 32 layers; vocab 128256.
 * Weight parameters per layer: 25,165,824 + 16,777,216 + 117,440,512 + 58,720,256 = 218,103,808;
 * LM head 128256 x 4096 = 525,336,576.
 */
static void test_dense_hand_checked(void)
{
    st_model m = model_of("llama-3.1-8b", "H100-SXM", false, 1, 1);
    pw_model pm = power_of(&m);
    pw_work w;

    /* 8 decodes, total context 8000, all sampling.
     * FLOPs: GEMMs 2 x 8 x 218,103,808 x 32 = 111,669,149,696; LM head 2 x 8 x 525,336,576 =
     * 8,405,385,216; attention 4 x 32 x 128 x 8000 x 32 = 4,194,304,000. In all 124,268,838,912.
     * Bytes per layer: weights 218,103,808 x 2 = 436,207,616; GEMM inputs and outputs
     * 8 x 2 x ((4096 + 6144) + (4096 + 4096) + (4096 + 28672) + (14336 + 4096)) = 1,114,112;
     * elementwise 8 x 2 x (4096 x 2 norm + 40 x 128 x 2 rotary + 2 x 8 x 128 x 2 KV write +
     * 4096 x 3 residual and norm + 14336 x 3 SiLU) = 1,245,184; attention KV 8000 x 2 x 8 x 128
     * x 2 = 32,768,000, queries and outputs 8 x 2 x 32 x 128 x 2 = 131,072. Per layer
     * 471,465,984, x 32 = 15,086,911,488. Embedding and final norm 2 x 8 x 4096 x 4 = 262,144; LM
     * head 1,050,673,152 + 8 x (4096 + 128256) x 2 = 2,117,632; sampling 8 x 128256 x 4 =
     * 4,104,192. In all 16,144,068,608 bytes. */
    st_batch d = decodes(8, 8000);
    pw_batch(&pm, &d, &w);
    CHECK_NEAR(w.flops, 124268838912.0, 0);
    CHECK_NEAR(w.bytes, 16144068608.0, 0);
    NEAR_REL(w.compute_s, 124268838912.0 / 989e12, 1e-12); /* 0.126 ms */
    NEAR_REL(w.memory_s, 16144068608.0 / 3350e9, 1e-12);   /* 4.82 ms */

    /* A 512-token prompt in one chunk: 512 x 513 / 2 = 131,328 causal pairs, one sample.
     * FLOPs: GEMMs 2 x 512 x 218,103,808 x 32 = 7,146,825,580,544; LM head 1,050,673,152;
     * attention 4 x 32 x 128 x 131,328 x 32 = 68,853,694,464. In all 7,216,729,948,160.
     * Bytes per layer: weights 436,207,616; GEMM inputs and outputs 512 x 2 x 69,632 =
     * 71,303,168; elementwise 512 x 155,648 = 79,691,776; attention KV 512 x 2 x 8 x 128 x 2 =
     * 2,097,152, queries and outputs 512 x 2 x 32 x 128 x 2 = 8,388,608. Per layer 597,688,320,
     * x 32 = 19,126,026,240. Embedding and final norm 16,777,216; LM head 1,050,673,152 +
     * 264,704; sampling 513,024. In all 20,194,254,336 bytes. */
    st_batch p = chunk(0, 512);
    pw_batch(&pm, &p, &w);
    CHECK_NEAR(w.flops, 7216729948160.0, 0);
    CHECK_NEAR(w.bytes, 20194254336.0, 0);
    NEAR_REL(w.compute_s, 7216729948160.0 / 989e12, 1e-12); /* 7.30 ms */
    NEAR_REL(w.memory_s, 20194254336.0 / 3350e9, 1e-12);    /* 6.03 ms */

    /* Under CUDA graphs 5 decodes run the layers' GEMMs over 8 rows (the capture size); the LM
     * head still samples 5: 3 rows x 2 x 525,336,576 fewer FLOPs than 8 decodes. */
    st_model g = model_of("llama-3.1-8b", "H100-SXM", true, 1, 1);
    pw_model pg = power_of(&g);
    st_batch d5 = decodes(5, 8000);
    pw_batch(&pg, &d5, &w);
    CHECK_NEAR(w.flops, 124268838912.0 - 3 * 2 * 525336576.0, 0);
}

/*
 * Qwen3-30B-A3B on one H100-SXM, bf16: hidden 2048, 32 query heads and 4 KV heads of 128 (QKV
 * 5120 x 2048, O 2048 x 4096), 128 experts of 768 with top-8 (router 128 x 2048; each expert
 * gate+up 1536 x 2048 and down 2048 x 768: 3 x 768 x 2048 x 2 = 9,437,184 bytes), 48 layers,
 * vocab 151936. A batch of T tokens touches 128 (1 - (15/16)^T) experts on average.
 */
static void test_moe_hand_checked(void)
{
    st_model m = model_of("qwen3-30b-a3b", "H100-SXM", false, 1, 1);
    pw_model pm = power_of(&m);
    pw_work w;

    /* 4 decodes, total context 8000. Touched experts 128 (1 - (15/16)^4) = 14911/512 =
     * 29.123046875.
     * FLOPs per layer: QKV 2 x 4 x 5120 x 2048 = 83,886,080; O 2 x 4 x 2048 x 4096 = 67,108,864;
     * router 2 x 4 x 128 x 2048 = 2,097,152; experts 4 x 8 x 2 x (2048 x 1536 + 768 x 2048) =
     * 301,989,888. Per layer 455,081,984, x 48 = 21,843,935,232; LM head 2 x 4 x 151936 x 2048 =
     * 2,489,319,424; attention 4 x 32 x 128 x 8000 x 48 = 6,291,456,000. In all 30,624,710,656.
     * Bytes per layer: weights 20,971,520 + 16,777,216 + 524,288 + 29.123046875 x 9,437,184 =
     * 313,112,576; GEMM inputs and outputs 4 x 2 x ((2048 + 5120) + (4096 + 2048) + (2048 + 128))
     * + 4 x 8 x 2 x ((2048 + 1536) + (768 + 2048)) = 533,504; elementwise 4 x 2 x (4096 + 36 x
     * 128 x 2 + 2 x 4 x 128 x 2 + 6144) = 172,032; attention 8000 x 2 x 4 x 128 x 2 + 4 x 2 x 32 x
     * 128 x 2 = 16,449,536. Per layer 330,267,648, x 48 = 15,852,847,104. Embedding and final norm
     * 65,536; LM head 622,329,856 + 1,231,872; sampling 2,430,976. In all 16,478,905,344 bytes. */
    st_batch d = decodes(4, 8000);
    pw_batch(&pm, &d, &w);
    CHECK_NEAR(w.flops, 30624710656.0, 0);
    NEAR_REL(w.bytes, 16478905344.0, 1e-15);

    /* A 256-token prompt: 32,896 causal pairs; all but 128 (15/16)^256 = 8.5e-6 experts touched.
     * FLOPs per layer: QKV 5,368,709,120; O 4,294,967,296; router 134,217,728; experts 256 x
     * 75,497,472 = 19,327,352,832. Per layer 29,125,246,976, x 48 = 1,398,011,854,848; LM head
     * 622,329,856; attention 16384 x 32,896 x 48 = 25,870,467,072. In all 1,424,504,651,776.
     * Bytes per layer: dense weights 38,273,024 and the touched experts' x 9,437,184; GEMM inputs
     * and outputs 256 x 133,376 and elementwise 256 x 43,008 = 45,154,304; attention 524,288 +
     * 4,194,304. Outside the layers 4,194,304 + 622,329,856 + 307,968 + 607,744 = 627,439,872.
     * About 62.84 GB: the experts' weights, not the FLOPs, dominate a small MoE prefill. */
    st_batch p = chunk(0, 256);
    pw_batch(&pm, &p, &w);
    double touched = 128 * (1 - pow(15.0 / 16, 256));
    CHECK_NEAR(w.flops, 1424504651776.0, 0);
    NEAR_REL(w.bytes, 48 * (38273024 + touched * 9437184 + 45154304 + 4718592) + 627439872.0, 1e-15);
    CHECK(w.memory_s > 10 * w.compute_s);
}

/* The prepared lines give pw_batch's figures at any context. */
static void test_prepared_matches_batch(void)
{
    st_model m = model_of("llama-3.1-8b", "H100-SXM", true, 1, 1);
    pw_model pm = power_of(&m);
    st_batch mixed = chunk(300, 200);
    mixed.decodes = 20, mixed.seqs += 20, mixed.logits += 20, mixed.decode_ctx = 20 * 3000;
    const st_batch shapes[] = {decodes(1, 100), decodes(64, 64 * 2000), chunk(0, 2048), mixed};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        pw_prepared p;
        pw_work w;
        pw_prepare(&pm, &shapes[i], &p);
        pw_batch(&pm, &shapes[i], &w);
        double ctx = shapes[i].decode_ctx;
        NEAR_REL(p.compute0 + p.compute1 * ctx, w.compute_s, 1e-14);
        NEAR_REL(p.memory0 + p.memory1 * ctx, w.memory_s, 1e-14);
        CHECK(shapes[i].decodes > 0 ? p.compute1 > 0 && p.memory1 > 0 : p.compute1 == 0 && p.memory1 == 0);
    }
}

static uint64_t rng_state = 88172645463325252ULL;
static double uniform(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Over random decode runs (D decodes, context growing by D) the closed forms equal the sums of
 * the iterations one at a time (pw_batch at each context), to 1e-9. The steps are lines in the
 * iteration placed to cross the activity somewhere (before, inside or after the run, either
 * way), or parallel to it, so that the clamp changes sides mid-run in many of them. */
static void test_run_sums_closed_form(void)
{
    st_model dense_st = model_of("llama-3.1-8b", "H100-SXM", true, 1, 1);
    st_model moe_st = model_of("qwen3-30b-a3b", "A100-SXM4-80GB", true, 1, 1);
    pw_model dense = power_of(&dense_st), moe = power_of(&moe_st);
    int crossed = 0;
    for (int t = 0; t < 300; t++) {
        const pw_model *m = t % 2 ? &moe : &dense;
        int32_t D = 1 + (int32_t)(uniform() * 300);
        double ctx1 = D * (1 + floor(uniform() * 4000));
        int64_t n = 1 + (int64_t)(uniform() * 2000);
        pw_weights wt = {0.5 + uniform(), 0.3 + 0.7 * uniform()};
        st_batch b = decodes(D, ctx1);
        pw_prepared p;
        pw_prepare(m, &b, &p);
        /* activity at iteration i: alpha + beta i; the steps cross it at x */
        double alpha = wt.compute * (p.compute0 + p.compute1 * ctx1) + wt.memory * (p.memory0 + p.memory1 * ctx1);
        double beta = (wt.compute * p.compute1 + wt.memory * p.memory1) * D;
        double dstep = beta * 2 * uniform(), x = (double)n * (2 * uniform() - 0.5);
        double step0 = alpha + (beta - dstep) * x;
        if (t % 10 == 0) dstep = beta, step0 = alpha * (t % 20 ? 0.9 : 1.1); /* parallel: all or none clamped */
        if (step0 <= 0) step0 = alpha * uniform();
        double C = 0, M = 0, A = 0;
        int clamped = 0;
        for (int64_t i = 0; i < n; i++) {
            pw_work w;
            b.decode_ctx = ctx1 + (double)(i * D);
            pw_batch(m, &b, &w);
            double step = step0 + dstep * (double)i, a = pw_active(wt, w.compute_s, w.memory_s, step);
            C += w.compute_s, M += w.memory_s, A += a;
            clamped += a == step;
        }
        crossed += clamped > 0 && clamped < n;
        double Cr, Mr;
        pw_run_sum(&p, ctx1, D, n, &Cr, &Mr);
        NEAR_REL(Cr, C, 1e-9);
        NEAR_REL(Mr, M, 1e-9);
        NEAR_REL(pw_run_active(&p, wt, ctx1, D, n, step0, dstep), A, 1e-9);
    }
    fprintf(stderr, "  %d of 300 runs clamped part of the way\n", crossed);
    CHECK(crossed > 100);
    pw_prepared p;
    pw_prepare(&dense, &(st_batch){.decodes = 4, .seqs = 4, .logits = 4}, &p);
    CHECK_NEAR(pw_run_active(&p, (pw_weights){1, 0.6}, 400, 4, 0, 1e-3, 0), 0, 0); /* an empty run */
}

/* u = min(1, (w_c C + w_m M) / step) and P = idle + (TDP - idle) u; where real batches land. */
static void test_activity_and_power(void)
{
    pw_weights w = pw_weights_or_default(0, 0);
    CHECK_NEAR(w.compute, 1.0, 0);
    CHECK_NEAR(w.memory, 0.6, 0);
    w = pw_weights_or_default(0.9, 0.5);
    CHECK(w.compute == 0.9 && w.memory == 0.5);
    w = pw_weights_or_default(0, 0);
    /* clamped at 1: 2 ms of compute and 2 ms of streaming in a 3 ms step */
    CHECK_NEAR(pw_active(w, 2e-3, 2e-3, 3e-3), 3e-3, 0);
    CHECK_NEAR(pw_active(w, 1e-3, 1e-3, 3e-3), 1.6e-3, 1e-18);
    const gpu_spec *h100 = catalog_gpu(cat, "H100-SXM"); /* 75 W idle, 700 W TDP */
    CHECK_NEAR(pw_power_w(h100, 0), 75, 0);
    CHECK_NEAR(pw_power_w(h100, 1), 700, 0);
    CHECK_NEAR(pw_power_w(h100, 0.5), 387.5, 1e-12);

    st_model m = model_of("llama-3.1-8b", "H100-SXM", true, 1, 1);
    pw_model pm = power_of(&m);
    pw_work k;
    /* 8 decodes of an 8B model: memory-bound. Streaming at the full bandwidth (step = memory_s)
     * u is w_m plus the little compute (0.126 ms in 4.82 ms: + 0.026); at the step the model
     * gives (bandwidth at mem_eff, fixed costs) it is lower still: well below TDP. */
    st_batch d = decodes(8, 8000);
    pw_batch(&pm, &d, &k);
    double u_ideal = pw_active(w, k.compute_s, k.memory_s, k.memory_s) / k.memory_s;
    double step = fs_time_to_s(st_step(&m, &d)), u = pw_active(w, k.compute_s, k.memory_s, step) / step;
    fprintf(stderr, "  decode of 8: u %.3f at full bandwidth, %.3f at its %.2f ms step: %.0f W of %.0f\n", u_ideal, u,
            step * 1e3, pw_power_w(h100, u), h100->tdp_w);
    CHECK(u_ideal > 0.6 && u_ideal < 0.63);
    CHECK(u > 0.3 && u < 0.55);
    CHECK(pw_power_w(h100, u) < 0.6 * h100->tdp_w);
    /* a 2048-token prompt: compute-bound, its GEMMs at the calibrated H100 efficiency (gemm_eff
     * 0.79 and the m, n, k terms: about 0.73 of the datasheet peak, as our probe measured cuBLAS),
     * so u about 0.75 at the modelled step */
    st_batch p = chunk(0, 2048);
    pw_batch(&pm, &p, &k);
    step = fs_time_to_s(st_step(&m, &p));
    u = pw_active(w, k.compute_s, k.memory_s, step) / step;
    fprintf(stderr, "  prefill of 2048: u %.3f at its %.2f ms step: %.0f W\n", u, step * 1e3,
            pw_power_w(h100, u));
    CHECK(u > 0.7 && u <= 1);
    /* at the datasheet ceiling (step = compute_s) it is clamped */
    CHECK_NEAR(pw_active(w, k.compute_s, k.memory_s, k.compute_s), k.compute_s, 0);
}

/* A MIG instance (A100 3g.40gb: 42 of 108 SMs, half the memory bandwidth) does the same work at
 * its shares of the ceilings: compute_s x 108/42, memory_s x 2. */
static void test_mig_shares(void)
{
    st_model whole_st = model_of("llama-3.1-8b", "A100-SXM4-80GB", false, 1, 1);
    st_model part_st = model_of("llama-3.1-8b", "A100-SXM4-80GB", false, 42.0 / 108, 0.5);
    pw_model whole = power_of(&whole_st), part = power_of(&part_st);
    const st_batch shapes[] = {decodes(8, 8000), chunk(0, 512)};
    for (size_t i = 0; i < 2; i++) {
        pw_work a, b;
        pw_batch(&whole, &shapes[i], &a);
        pw_batch(&part, &shapes[i], &b);
        CHECK(a.flops == b.flops && a.bytes == b.bytes);
        NEAR_REL(b.compute_s, a.compute_s * 108 / 42, 1e-12);
        NEAR_REL(b.memory_s, a.memory_s * 2, 1e-12);
    }
}

int main(void)
{
    fs_error err;
    cat = catalog_new(&err);
    if (!cat) {
        fprintf(stderr, "catalog: %s\n", err.msg);
        return 1;
    }
    RUN(test_dense_hand_checked);
    RUN(test_moe_hand_checked);
    RUN(test_prepared_matches_batch);
    RUN(test_run_sums_closed_form);
    RUN(test_activity_and_power);
    RUN(test_mig_shares);
    catalog_free(cat);
    return DONE();
}
