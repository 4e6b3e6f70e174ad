/* The LLM serving engine: hand-checked iterations, chunked prefill, KV capacity, preemption,
 * prefix caching, rejection, and the fast path's equivalence with one event per iteration. */
#include <stdint.h>

#include "catalog.h"
#include "harness.h"
#include "rng.h"
#include "rows.h"
#include "sim.h"
#include "steptime.h"
#include "wl.h"
#include "wl_synth.h"

static catalog *cat;

static sim_config llm_config(const char *model, const char *gpu, int32_t blocks)
{
    sim_config c = one_deployment_config(gpu);
    c.fleet[0].count = 8;
    sim_deployment *d = &c.deployments[0];
    snprintf(d->name, sizeof d->name, "llm");
    snprintf(d->model, sizeof d->model, "%s", model);
    d->kind = SIM_KIND_LLM;
    d->replicas = 1;
    d->gpus_per_replica = 1;
    d->router = SIM_ROUTER_ROUND_ROBIN;
    sim_llm *l = &d->llm;
    l->model = catalog_model(cat, model);
    l->gpu = catalog_gpu(cat, gpu);
    l->tp = 1;
    l->max_num_seqs = 256;
    l->max_num_batched_tokens = 2048;
    l->max_model_len = 32768;
    l->block_size = 16;
    l->num_gpu_blocks = blocks;
    l->prefix_caching = l->chunked_prefill = l->async_scheduling = l->cuda_graphs = l->fast_forward = true;
    l->weights = l->kv = ST_BF16;
    return c;
}

static rows run_list(const sim_config *c, const wl_request *reqs, size_t n, fs_metrics *m)
{
    rows r = {0};
    sim *s = run_capture(c, wl_list_open(reqs, n), &r);
    if (m) sim_metrics(s, m);
    sim_free(s);
    qsort(r.v, r.n, sizeof *r.v, by_id);
    return r;
}

static st_model model_of(const sim_config *c)
{
    const sim_llm *l = &c->deployments[0].llm;
    st_config sc = {.model = l->model, .gpu = l->gpu, .tp = l->tp, .weights = l->weights, .kv = l->kv,
                    .cuda_graphs = l->cuda_graphs, .async_scheduling = l->async_scheduling,
                    .max_capture = l->max_num_seqs * 2 < 512 ? l->max_num_seqs * 2 : 512};
    if (sc.max_capture > l->max_num_batched_tokens) sc.max_capture = l->max_num_batched_tokens;
    st_model m;
    st_model_init(&m, &sc);
    return m;
}

static st_batch prefill(double o, double c, bool samples)
{
    st_batch b = {.prefill_tokens = (int32_t)c, .seqs = 1, .logits = samples, .prefill_pairs = c * o + c * (c + 1) / 2,
                  .prefill_kv = o + c};
    return b;
}

static st_batch decode(double ctx)
{
    st_batch b = {.decodes = 1, .seqs = 1, .logits = 1, .decode_ctx = ctx};
    return b;
}

/* A replica's exact clock: whole nanoseconds and the fx carried from one iteration to the next
 * (an idle replica starts on the nanosecond). */
typedef struct clock_fx {
    fs_time ns;
    int64_t frac;
} clock_fx;

static fs_time advance(clock_fx *c, const st_model *m, st_batch b)
{
    st_prepared p;
    st_prepare(m, &b, &p);
    int64_t R = c->frac + st_step_fx(&p, (int64_t)b.decode_ctx);
    c->ns += R >> ST_FRAC;
    c->frac = R & (((int64_t)1 << ST_FRAC) - 1);
    return c->ns;
}

/* One request alone: the first token ends the prefill iteration; each later token one decode
 * iteration over a context one longer. Times are exactly the model's step times. */
static void test_single_request_hand_checked(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    st_model m = model_of(&c);
    wl_request r = {.arrival = 1000, .input_tokens = 100, .output_tokens = 5};
    for (int ff = 0; ff < 2; ff++) {
        c.deployments[0].llm.fast_forward = ff;
        fs_metrics met = {0};
        rows out = run_list(&c, &r, 1, &met);
        CHECK_INT(out.n, 1);
        clock_fx clk = {1000, 0};
        fs_time t = advance(&clk, &m, prefill(0, 100, true));
        CHECK_INT(out.v[0].start, 1000);
        CHECK_INT(out.v[0].first_token, t);
        for (int k = 0; k < 4; k++) t = advance(&clk, &m, decode(101 + k));
        CHECK_INT(out.v[0].done, t);
        CHECK_INT(out.v[0].output_tokens, 5);
        const fs_metric *tpot = fs_metrics_find(&met, "tpot", "mean");
        CHECK(tpot && fabs(tpot->value - fs_time_to_ms(t - out.v[0].first_token) / 4) < 1e-9);
        fs_metrics_fini(&met);
        free(out.v);
    }
}

/* Cost per token: a lone request's prefill iteration is all prefill, its decode iterations all
 * decode; the bill splits by that GPU time. */
static void test_cost_split(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    c.fleet[0].count = 1;
    c.fleet[0].price_per_hour = 3.6;
    wl_request r = {.arrival = 0, .input_tokens = 1000, .output_tokens = 50};
    fs_metrics m = {0};
    rows out = run_list(&c, &r, 1, &m);
    double pre = fs_time_to_s(out.v[0].first_token), dec = fs_time_to_s(out.v[0].done - out.v[0].first_token);
    double cost = 3.6 * fs_time_to_s(out.v[0].done) / 3600;
    const fs_metric *in = fs_metrics_find(&m, "cost_per_1m_input_tokens", "value"),
                    *outt = fs_metrics_find(&m, "cost_per_1m_output_tokens", "value");
    CHECK(in && fabs(in->value - cost * pre / (pre + dec) * 1e6 / 1000) < 1e-9);
    CHECK(outt && fabs(outt->value - cost * dec / (pre + dec) * 1e6 / 50) < 1e-9);
    fs_metrics_fini(&m);
    free(out.v);
}

/* A 5000-token prompt with a 2048-token budget: chunks of 2048, 2048 and 904 tokens, each over
 * the context the earlier chunks left; the first token comes with the last chunk. */
static void test_chunked_prefill(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    st_model m = model_of(&c);
    wl_request r = {.arrival = 0, .input_tokens = 5000, .output_tokens = 2};
    rows out = run_list(&c, &r, 1, NULL);
    clock_fx clk = {0, 0};
    advance(&clk, &m, prefill(0, 2048, false));
    advance(&clk, &m, prefill(2048, 2048, false));
    CHECK_INT(out.v[0].first_token, advance(&clk, &m, prefill(4096, 904, true)));
    CHECK_INT(out.v[0].done, advance(&clk, &m, decode(5001)));
    free(out.v);

    /* without chunked prefill the whole prompt goes in one iteration */
    c.deployments[0].llm.chunked_prefill = false;
    c.deployments[0].llm.max_num_batched_tokens = 32768;
    m = model_of(&c);
    out = run_list(&c, &r, 1, NULL);
    clk = (clock_fx){0, 0};
    CHECK_INT(out.v[0].first_token, advance(&clk, &m, prefill(0, 5000, true)));
    free(out.v);
}

/* Two requests sharing a 512-token prefix: the second, arriving after the first finished, hits
 * 32 cached blocks. A prompt that is all cached recomputes its last block (hits <= len - 1). */
static void test_prefix_cache_hits(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    wl_request r[3] = {
        {.arrival = 0, .input_tokens = 700, .output_tokens = 3, .prefix_key = 42, .prefix_tokens = 512},
        {.arrival = 10 * FS_NS_PER_S, .input_tokens = 900, .output_tokens = 3, .prefix_key = 42, .prefix_tokens = 512},
        {.arrival = 20 * FS_NS_PER_S, .input_tokens = 512, .output_tokens = 3, .prefix_key = 42, .prefix_tokens = 512},
    };
    rows out = run_list(&c, r, 3, NULL);
    CHECK_INT(out.v[0].cached_tokens, 0);
    CHECK_INT(out.v[1].cached_tokens, 512);
    CHECK_INT(out.v[2].cached_tokens, 496);
    /* a cached prefix shortens the prefill */
    CHECK(out.v[1].first_token - out.v[1].arrival < out.v[0].first_token - out.v[0].arrival);
    free(out.v);
    c.deployments[0].llm.prefix_caching = false;
    out = run_list(&c, r, 3, NULL);
    CHECK_INT(out.v[1].cached_tokens, 0);
    CHECK_INT(out.v[2].cached_tokens, 0);
    free(out.v);
}

/* A KV cache too small for everyone: requests are preempted and recomputed, and all finish. */
static void test_preemption_under_kv_pressure(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 200); /* 199 usable blocks, 3184 tokens */
    wl_request r[12];
    for (int i = 0; i < 12; i++) r[i] = (wl_request){.arrival = i * 1000000, .input_tokens = 400, .output_tokens = 300};
    fs_metrics m = {0};
    rows out = run_list(&c, r, 12, &m);
    CHECK_INT(out.n, 12);
    int preempted = 0, finished = 0;
    for (size_t i = 0; i < out.n; i++) {
        preempted += out.v[i].preemptions;
        finished += out.v[i].finished;
        CHECK_INT(out.v[i].output_tokens, 300);
    }
    CHECK_INT(finished, 12);
    CHECK(preempted > 0);
    const fs_metric *p = fs_metrics_find(&m, "preemptions", "value");
    CHECK(p && p->value == preempted);
    fs_metrics_fini(&m);
    free(out.v);
}

/* Prompts that can never fit are rejected at once, counted, and fail the SLO; outputs stop at
 * max_model_len. */
static void test_rejection_and_context_limit(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    c.deployments[0].llm.max_model_len = 1000;
    wl_request r[3] = {
        {.arrival = 0, .input_tokens = 1000, .output_tokens = 10},      /* prompt fills the context */
        {.arrival = 1, .input_tokens = 900, .output_tokens = 500},      /* output clipped to 100 */
        {.arrival = 2, .input_tokens = 10, .output_tokens = 10},
    };
    fs_metrics m = {0};
    rows out = run_list(&c, r, 3, &m);
    CHECK_INT(out.n, 3);
    CHECK(out.v[0].rejected && !out.v[0].finished);
    CHECK_INT(out.v[1].output_tokens, 100);
    CHECK(out.v[2].finished);
    const fs_metric *rej = fs_metrics_find(&m, "rejected", "value"), *slo = fs_metrics_find(&m, "slo_attainment", "value");
    CHECK(rej && rej->value == 1);
    CHECK(slo && fabs(slo->value - 100.0 * 2 / 3) < 1e-9);
    fs_metrics_fini(&m);
    free(out.v);
    c.deployments[0].llm.num_gpu_blocks = 20; /* 304 tokens of KV: a 400-token prompt never fits */
    wl_request big = {.arrival = 0, .input_tokens = 400, .output_tokens = 1};
    out = run_list(&c, &big, 1, NULL);
    CHECK(out.v[0].rejected);
    free(out.v);
}

/* The fast path (a run of decode iterations in one event) must give exactly the timestamps of
 * one event per iteration, on varied workloads: preemption, prefix sharing, priorities, TP,
 * CUDA graphs and async scheduling off, chunked prefill off. */
/* The same workload run with and without runs: every row and metric identical. A NULL list
 * means synthetic Poisson load with the given means; else the list's requests. */
static long equivalence_of(const char *what, sim_config c, double rate, double in_mean, double out_mean, int prefix,
                           uint32_t replicas, const wl_request *list, size_t nlist)
{
    c.deployments[0].replicas = replicas;
    c.duration = 60 * FS_NS_PER_S;
    wl_synth_spec sp = {.arrival = WL_ARRIVAL_POISSON, .rate = rate,
                        .input = {.dist = WL_DIST_LOGNORMAL, .mean = in_mean, .cv = 1, .min = 1, .max = 6000},
                        .output = {.dist = WL_DIST_LOGNORMAL, .mean = out_mean, .cv = 1, .min = 1, .max = 3000},
                        .prefix_tokens = prefix, .prefix_groups = 3};
    rows res[2];
    fs_metrics met[2] = {{0}, {0}};
    double active[2][4] = {{0}}; /* each replica's activity-weighted seconds (power.h) */
    FS_ASSERT(replicas <= 4);
    for (int ff = 0; ff < 2; ff++) {
        c.deployments[0].llm.fast_forward = ff;
        rows r = {0};
        sim *s = run_capture(&c, list ? wl_list_open(list, nlist) : wl_synth_open(&sp, 5, 0), &r);
        sim_metrics(s, &met[ff]);
        for (uint32_t i = 0; i < replicas; i++) active[ff][i] = sim_replica_active_s(s, i);
        sim_free(s);
        qsort(r.v, r.n, sizeof *r.v, by_id);
        res[ff] = r;
    }
    size_t differ = 0;
    CHECK_INT(res[0].n, res[1].n);
    for (size_t i = 0; i < res[0].n && i < res[1].n; i++)
        differ += memcmp(&res[0].v[i], &res[1].v[i], sizeof res[0].v[i]) != 0;
    int preempt = 0;
    long cached = 0;
    for (size_t i = 0; i < res[0].n; i++) preempt += res[0].v[i].preemptions, cached += res[0].v[i].cached_tokens;
    fprintf(stderr, "  %-28s %5zu requests, %4d preemptions, %7ld cached tokens, %zu rows differ\n", what, res[0].n,
            preempt, cached, differ);
    CHECK_INT(differ, 0);
    CHECK(res[0].n > 100);
    CHECK_INT(met[0].n, met[1].n);
    CHECK(met[0].n == met[1].n && memcmp(met[0].v, met[1].v, met[0].n * sizeof *met[0].v) == 0);
    /* a run's activity is summed in closed form: the same as stepping's up to rounding */
    for (uint32_t i = 0; i < replicas; i++) {
        CHECK(active[0][i] > 0);
        CHECK_NEAR(active[1][i], active[0][i], 1e-9 * active[0][i]);
    }
    for (int ff = 0; ff < 2; ff++) {
        free(res[ff].v);
        fs_metrics_fini(&met[ff]);
    }
    return cached;
}

static void equivalence(const char *what, sim_config c, double rate, double in_mean, double out_mean, int prefix,
                        uint32_t replicas)
{
    equivalence_of(what, c, rate, in_mean, out_mean, prefix, replicas, NULL, 0);
}

/* Requests whose prompts share prefixes through hash chains (Mooncake-style: one hash per 512
 * tokens, chained), and multi-turn sessions whose turns share the previous turn's prompt and
 * output (prefix_tokens past the prompt). */
#define NLIST 700
static wl_request chained[NLIST], sessions[NLIST];
static uint64_t chains[NLIST][16];

static void make_lists(void)
{
    uint64_t x = 12345;
    fs_time t = 0;
    for (int i = 0; i < NLIST; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        t += (fs_time)((x >> 40) % 120) * FS_NS_PER_MS;
        int32_t units = 1 + (int32_t)((x >> 20) % 12), shared = (int32_t)((x >> 8) % (uint64_t)(units + 1));
        uint64_t group = (x >> 50) % 6, h = 0;
        for (int32_t k = 0; k < units; k++) {
            h = fs_hash64(h, k < shared ? group * 1000 + (uint64_t)k : (uint64_t)i * 1000 + (uint64_t)k + 7);
            chains[i][k] = h;
        }
        chained[i] = (wl_request){.arrival = t, .input_tokens = units * 512 - (int32_t)((x >> 30) % 300),
                                  .output_tokens = 1 + (int32_t)((x >> 12) % 300), .chain = chains[i],
                                  .nchain = units, .chain_tokens = 512};
        /* sessions: 100 sessions of 7 turns, interleaved in time */
        int sess = i % 100, turn = i / 100;
        wl_request *prev = turn > 0 ? &sessions[i - 100] : NULL;
        int32_t in = (prev ? prev->input_tokens + prev->output_tokens : 0) + 50 + (int32_t)((x >> 16) % 200);
        int32_t out = 1 + (int32_t)((x >> 24) % 200);
        sessions[i] = (wl_request){.arrival = (fs_time)i * 40 * FS_NS_PER_MS, .input_tokens = in, .output_tokens = out,
                                   .prefix_key = 1000 + (uint64_t)sess, .prefix_tokens = in + out};
    }
}

static void test_fast_path_is_exact(void)
{
    make_lists();
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 6000);
    equivalence("H100, plenty of KV", c, 20, 800, 200, 0, 2);
    equivalence("H100, shared prefixes", c, 20, 800, 200, 600, 2);
    sim_config u = c; /* activity weights so high that most decode iterations clamp at u = 1 */
    u.deployments[0].llm.power_w_compute = u.deployments[0].llm.power_w_memory = 1.5;
    equivalence("activity clamped", u, 20, 800, 200, 0, 2);
    equivalence("H100, KV pressure", llm_config("llama-3.1-8b", "H100-SXM", 900), 15, 800, 300, 0, 1);
    sim_config p = llm_config("llama-3.1-8b", "H100-SXM", 900);
    p.deployments[0].llm.priority = true;
    equivalence("priority policy", p, 15, 800, 300, 0, 1);
    sim_config t = llm_config("llama-3.1-70b", "H100-SXM", 4000);
    t.deployments[0].llm.tp = 4;
    equivalence("70B, tp 4", t, 5, 1500, 300, 0, 1);
    sim_config e = llm_config("llama-3.1-8b", "L4", 1500);
    e.deployments[0].llm.cuda_graphs = e.deployments[0].llm.async_scheduling = false;
    equivalence("L4, eager, sync", e, 2, 500, 150, 0, 1);
    sim_config pd = llm_config("llama-3.1-8b", "H100-SXM", 3000);
    pd.deployments[0].llm.prefill_replicas = 1;
    pd.deployments[0].llm.kv_link_bw = 50e9;
    pd.deployments[0].llm.kv_link_latency = FS_NS_PER_MS;
    equivalence("prefill/decode pools", pd, 15, 1500, 200, 0, 3);
    sim_config n = llm_config("qwen3-30b-a3b", "A100-SXM4-80GB", 8000);
    n.deployments[0].llm.chunked_prefill = false;
    n.deployments[0].llm.max_num_batched_tokens = 8192;
    equivalence("MoE, no chunked prefill", n, 10, 1000, 200, 0, 1);
    /* both must hit the prefix cache, or they test nothing */
    CHECK(equivalence_of("hash chains", llm_config("llama-3.1-8b", "H100-SXM", 2500), 0, 0, 0, 0, 2, chained, NLIST) >
          100000);
    CHECK(equivalence_of("sessions", llm_config("llama-3.1-8b", "H100-SXM", 12000), 0, 0, 0, 0, 1, sessions, NLIST) >
          100000);
}

/* Prefill/decode disaggregation: the prefill replica emits the first token; the KV moves over
 * the link (bytes / bandwidth + latency); the decode replica continues from there. */
static void test_disaggregation_hand_checked(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    c.deployments[0].replicas = 2;
    c.deployments[0].llm.prefill_replicas = 1;
    c.deployments[0].llm.kv_link_bw = 10e9;
    c.deployments[0].llm.kv_link_latency = 2 * FS_NS_PER_MS;
    st_model m = model_of(&c);
    wl_request r = {.arrival = 0, .input_tokens = 1000, .output_tokens = 3};
    rows out = run_list(&c, &r, 1, NULL);
    clock_fx pre = {0, 0};
    fs_time first = advance(&pre, &m, prefill(0, 1000, true));
    CHECK_INT(out.v[0].first_token, first);
    fs_time kv = (fs_time)llround(1000 * 131072.0 / 10e9 * 1e9) + 2 * FS_NS_PER_MS;
    clock_fx dec = {first + kv, 0}; /* the decode replica was idle */
    fs_time t = 0;
    for (int k = 0; k < 2; k++) t = advance(&dec, &m, decode(1001 + k));
    CHECK_INT(out.v[0].done, t);
    CHECK_INT(out.v[0].replica, 1); /* finished on the decode replica */
    free(out.v);
    /* one output token: done on the prefill replica, nothing moves */
    r.output_tokens = 1;
    out = run_list(&c, &r, 1, NULL);
    CHECK_INT(out.v[0].done, first);
    CHECK_INT(out.v[0].replica, 0);
    free(out.v);
}

/* KV capacity as vLLM sizes it, against the measured run's 2588 blocks (Llama-3.1-8B, RTX 4090,
 * utilisation 0.9, 2048 batched tokens, 256 sequences). */
static void test_kv_capacity(void)
{
    const model_spec *m = catalog_model(cat, "llama-3.1-8b");
    const gpu_spec *g = catalog_gpu(cat, "rtx-4090");
    long long blocks = st_kv_blocks(m, g, 1, ST_BF16, ST_BF16, 0.9, 16, 2048, 256);
    fprintf(stderr, "  RTX 4090, Llama-3.1-8B: %lld blocks computed, 2588 measured (%+.1f%%)\n", blocks,
            100.0 * (double)(blocks - 2588) / 2588);
    CHECK(blocks > 2588 * 0.85 && blocks < 2588 * 1.15);
    /* KV bytes per token per GPU: 2 x layers x kv heads held x head_dim x bytes */
    CHECK_NEAR(model_kv_bytes_per_token(m, 1, 2), 2.0 * 32 * 8 * 128 * 2, 0);
    CHECK_NEAR(model_kv_bytes_per_token(m, 8, 2), 2.0 * 32 * 1 * 128 * 2, 0);
    CHECK_NEAR(model_kv_bytes_per_token(m, 16, 2), 2.0 * 32 * 1 * 128 * 2, 0); /* replicated */
    CHECK_NEAR(model_kv_bytes_per_token(m, 1, 1), 2.0 * 32 * 8 * 128, 0);      /* fp8 */
    /* a model that does not fit leaves no blocks */
    CHECK(st_kv_blocks(catalog_model(cat, "llama-3.1-70b"), catalog_gpu(cat, "L4"), 1, ST_BF16, ST_BF16, 0.9, 16,
                       2048, 256) <= 0);
    /* fp8 KV doubles the blocks of the same memory, less rounding */
    long long b8 = st_kv_blocks(m, g, 1, ST_BF16, ST_FP8, 0.9, 16, 2048, 256);
    CHECK(b8 >= 2 * blocks && b8 <= 2 * blocks + 1);
}

/* Properties of the step-time model a user relies on. */
static void test_step_time_properties(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 1000);
    st_model m = model_of(&c);
    /* decode cost grows with context and with batch; prefill cost with tokens */
    CHECK(st_step(&m, &(st_batch){.decodes = 8, .seqs = 8, .logits = 8, .decode_ctx = 8 * 1000}) <
          st_step(&m, &(st_batch){.decodes = 8, .seqs = 8, .logits = 8, .decode_ctx = 8 * 8000}));
    CHECK(st_step(&m, &(st_batch){.decodes = 8, .seqs = 8, .logits = 8, .decode_ctx = 8000}) <
          st_step(&m, &(st_batch){.decodes = 64, .seqs = 64, .logits = 64, .decode_ctx = 64000}));
    st_batch p1 = prefill(0, 512, true), p2 = prefill(0, 4096, true);
    CHECK(st_step(&m, &p1) < st_step(&m, &p2));
    /* one decode of an 8B model on H100 reads ~16 GB of weights: 5 to 10 ms */
    fs_time d1 = st_step(&m, &(st_batch){.decodes = 1, .seqs = 1, .logits = 1, .decode_ctx = 100});
    CHECK(d1 > 5 * FS_NS_PER_MS && d1 < 10 * FS_NS_PER_MS);
    /* vLLM's capture sizes */
    CHECK_INT(st_capture_size(1, 512), 1);
    CHECK_INT(st_capture_size(3, 512), 4);
    CHECK_INT(st_capture_size(9, 512), 16);
    CHECK_INT(st_capture_size(250, 512), 256);
    CHECK_INT(st_capture_size(257, 512), 272);
    CHECK_INT(st_capture_size(600, 512), 600); /* past the largest graph: not padded */
    /* async scheduling hides the CPU time under the GPU step; synchronous adds it */
    st_batch b = decode(100);
    fs_time async = st_step(&m, &b);
    m.cfg.async_scheduling = false;
    CHECK(st_step(&m, &b) > async);
    /* fp8 weights halve the weight bytes: a memory-bound decode gets faster */
    sim_config f = c;
    f.deployments[0].llm.weights = ST_FP8;
    st_model m8 = model_of(&f);
    CHECK(st_step(&m8, &b) < async * 0.75);
    /* TP 2 halves each GPU's share of the weights but adds all-reduces */
    CHECK(st_allreduce(&m, 1e6) == 0);
}

/* kv_utilization sees KV use as last scraped: live, requests avoid the replica holding a long
 * prompt; with a 1 s scrape interval, the first second's requests all see the empty start and
 * go in turn. */
static void test_kv_routing_and_staleness(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 4000);
    c.deployments[0].replicas = 2;
    c.fleet[0].count = 2;
    c.deployments[0].router = SIM_ROUTER_KV_UTILIZATION;
    wl_request v[6];
    for (int i = 0; i < 6; i++)
        v[i] = (wl_request){.arrival = (fs_time)i * 10 * FS_NS_PER_MS, .input_tokens = i == 0 ? 8000 : 100,
                            .output_tokens = 400};
    c.deployments[0].routing = (sim_router_params){.scrape_interval = 0};
    rows live = run_list(&c, v, 6, NULL);
    c.deployments[0].routing = (sim_router_params){.scrape_interval = FS_NS_PER_S};
    rows stale = run_list(&c, v, 6, NULL);
    CHECK_INT(live.n, 6);
    CHECK_INT(stale.n, 6);
    for (size_t i = 0; i < live.n && i < stale.n; i++) {
        CHECK_INT(live.v[i].replica, i == 0 ? 0 : 1);
        CHECK_INT(stale.v[i].replica, i % 2);
    }
    free(live.v);
    free(stale.v);
}

/* A replica on a MIG instance runs with the instance's shares: a lone decode, memory-bound, takes
 * about 1 / bandwidth share as long as on the whole GPU. */
static void test_mig_instance_speed(void)
{
    sim_config c = llm_config("llama-3.1-8b", "A100-SXM4-80GB", 4000);
    wl_request r = {.arrival = 0, .input_tokens = 500, .output_tokens = 200};
    rows whole = run_list(&c, &r, 1, NULL);
    c.deployments[0].llm.compute_share = 42.0 / 108; /* 3g.40gb */
    c.deployments[0].llm.bandwidth_share = 0.5;
    rows part = run_list(&c, &r, 1, NULL);
    double tw = (double)(whole.v[0].done - whole.v[0].first_token), tp = (double)(part.v[0].done - part.v[0].first_token);
    fprintf(stderr, "  decode of 199 tokens: %.1f ms whole A100-80GB, %.1f ms on 3g.40gb (x%.2f)\n", tw / 1e6, tp / 1e6,
            tp / tw);
    CHECK(tp / tw > 1.7 && tp / tw < 2.3);
    free(whole.v);
    free(part.v);
}

/* Two exact-instant cases where stepping and runs once disagreed (both found in review):
 * a request arriving exactly at the end of a run's iteration, with another event pushed just
 * before it (engine wake-ups now come after everything else at their time); and a shared block
 * that fills in a run's first iteration while an older copy of it is evicted later in the run
 * (runs now wait until every shared block is full and named). */
static void same_rows(const char *what, sim_config c, const wl_request *r, size_t n)
{
    rows out[2];
    for (int ff = 0; ff < 2; ff++) {
        c.deployments[0].llm.fast_forward = ff;
        out[ff] = run_list(&c, r, n, NULL);
    }
    CHECK_INT(out[0].n, out[1].n);
    size_t differ = 0;
    for (size_t i = 0; i < out[0].n && i < out[1].n; i++) differ += memcmp(&out[0].v[i], &out[1].v[i], sizeof out[0].v[i]) != 0;
    fprintf(stderr, "  %-40s %zu rows differ\n", what, differ);
    CHECK_INT(differ, 0);
    free(out[0].v);
    free(out[1].v);
}

static void test_fast_path_exact_instants(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 10000);
    c.deployments[0].replicas = 2;
    st_model m = model_of(&c);
    clock_fx clk = {0, 0};
    advance(&clk, &m, prefill(0, 100, true));
    fs_time T = 0;
    for (int k = 0; k < 50; k++) T = advance(&clk, &m, decode(101 + k));
    wl_request tie[3] = {{.arrival = 0, .input_tokens = 100, .output_tokens = 200},
                         {.arrival = T - 1, .input_tokens = 50, .output_tokens = 5},
                         {.arrival = T, .input_tokens = 50, .output_tokens = 5}};
    same_rows("arrival at an iteration's end", c, tie, 3);

    sim_config k = llm_config("llama-3.1-8b", "H100-SXM", 41);
    k.deployments[0].llm.max_num_batched_tokens = 15;
    k.deployments[0].llm.max_model_len = 640;
    wl_request fill[3] = {
        {.arrival = 0, .input_tokens = 528, .output_tokens = 1, .prefix_key = 99, .prefix_tokens = 528},
        {.arrival = 10 * FS_NS_PER_S, .input_tokens = 528, .output_tokens = 100, .prefix_key = 99, .prefix_tokens = 528},
        {.arrival = 30 * FS_NS_PER_S, .input_tokens = 600, .output_tokens = 5, .prefix_key = 99, .prefix_tokens = 528}};
    same_rows("shared block filled in a run", k, fill, 3);
}

/* Clients that give up under overload: 400 long prompts at once on one replica, each client
 * waiting at most 2 s for its first token. Those waiting are dropped from the queue, those in
 * prefill at the end of the iteration; none of them has a first token, every one is counted, and
 * the engine ends empty (its blocks all given back). */
static void test_abandonment(void)
{
    sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 3000);
    c.admission.timeout = 2000000000;
    wl_request v[400];
    for (int i = 0; i < 400; i++)
        v[i] = (wl_request){.arrival = (fs_time)i * 1000000, .input_tokens = 4000, .output_tokens = 50};
    fs_metrics m = {0};
    rows r = run_list(&c, v, 400, &m);
    CHECK_INT(r.n, 400);
    size_t done = 0, gave_up = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].finished) {
            done++;
            CHECK(r.v[i].first_token - r.v[i].arrival <= 2000000000);
        } else {
            gave_up++;
            CHECK_INT(r.v[i].first_token, -1);
        }
    }
    const fs_metric *ab = fs_metrics_find(&m, "abandoned", "value"), *cp = fs_metrics_find(&m, "completed", "value");
    CHECK(ab && cp && ab->value == (double)gave_up && cp->value == (double)done);
    CHECK(gave_up > 100 && done > 10);
    fprintf(stderr, "  400 prompts of 4000 tokens at once, 2 s patience: %zu answered, %zu gave up\n", done, gave_up);
    fs_metrics_fini(&m);
    free(r.v);
}

/* Two engines time-slicing one GPU, both busy throughout with the same work: each step takes
 * twice as long as alone (no switch overhead), so TPOT doubles; with 20% overhead, 2.4 times. */
static void test_time_slicing(void)
{
    wl_request v[16];
    for (int i = 0; i < 16; i++) v[i] = (wl_request){.arrival = 0, .input_tokens = 100, .output_tokens = 200};
    sim_config alone = llm_config("llama-3.1-8b", "H100-SXM", 5000);
    fs_metrics m1 = {0};
    rows r1 = run_list(&alone, v, 8, &m1);
    double tpot1 = fs_metrics_find(&m1, "tpot", "mean")->value;
    const double overheads[] = {0, 0.2};
    for (int k = 0; k < 2; k++) {
        sim_config c = llm_config("llama-3.1-8b", "H100-SXM", 5000);
        c.fleet[0].count = c.fleet[0].gpus_per_node = 1;
        c.fleet[0].shares = 2;
        c.fleet[0].switch_overhead = overheads[k];
        c.deployments[0].replicas = 2;
        c.deployments[0].gpu_share = 0.5;
        fs_metrics m2 = {0};
        rows r2 = run_list(&c, v, 16, &m2);
        double tpot2 = fs_metrics_find(&m2, "tpot", "mean")->value, want = 2 * (1 + overheads[k]);
        fprintf(stderr, "  two engines on one H100, overhead %.0f%%: TPOT %.3f ms vs %.3f ms alone (x%.4f, %.1f expected)\n",
                100 * overheads[k], tpot2, tpot1, tpot2 / tpot1, want);
        CHECK_NEAR(tpot2 / tpot1, want, 0.01 * want);
        fs_metrics_fini(&m2);
        free(r2.v);
    }
    fs_metrics_fini(&m1);
    free(r1.v);
}

int main(void)
{
    fs_error err;
    cat = catalog_new(&err);
    if (!cat) {
        fprintf(stderr, "catalog: %s\n", err.msg);
        return 1;
    }
    RUN(test_single_request_hand_checked);
    RUN(test_chunked_prefill);
    RUN(test_prefix_cache_hits);
    RUN(test_preemption_under_kv_pressure);
    RUN(test_rejection_and_context_limit);
    RUN(test_fast_path_is_exact);
    RUN(test_fast_path_exact_instants);
    RUN(test_disaggregation_hand_checked);
    RUN(test_kv_capacity);
    RUN(test_step_time_properties);
    RUN(test_kv_routing_and_staleness);
    RUN(test_mig_instance_speed);
    RUN(test_cost_split);
    RUN(test_abandonment);
    RUN(test_time_slicing);
    catalog_free(cat);
    return DONE();
}
