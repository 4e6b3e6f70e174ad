/* Replicas that come and go: cold starts timed by hand, an HPA scale-up that grows its node pool,
 * a KPA scale from zero with requests held meanwhile, node failures with retries or failures,
 * billing by provisioned node time. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mig.h"
#include "migplace.h"
#include "rows.h"
#include "sim.h"
#include "wl.h"
#include "wl_synth.h"

#define S(x) ((fs_time)((x) * 1e9))

/* One fixed-service deployment (1 s per request, one at a time) on a pool of 1-GPU nodes: node
 * provisioning 100 s, image pull 20 s, container start 5 s, 4 GB of weights at 2 GB/s, warm-up
 * 3 s. A cold start on a new node thus takes 100 + 20 + 5 + 2 + 3 = 130 s, on a ready node
 * without the image 30 s. */
static sim_config pool_config(void)
{
    sim_config c = one_deployment_config("L4");
    sim_fleet_entry *fe = &c.fleet[0];
    snprintf(fe->name, sizeof fe->name, "l4");
    fe->count = 1;
    fe->gpus_per_node = 1;
    fe->min_nodes = 1;
    fe->max_nodes = 3;
    fe->price_per_hour = 1.0;
    fe->provision = S(100);
    fe->image_pull = S(20);
    fe->storage_bw = 2e9;
    fe->unneeded_time = S(600);
    fe->mttr = S(60);
    sim_deployment *d = &c.deployments[0];
    snprintf(d->name, sizeof d->name, "svc");
    snprintf(d->model, sizeof d->model, "m");
    d->replicas = 1;
    d->gpus_per_replica = 1;
    d->service = SIM_SERVICE_CONSTANT;
    d->service_mean_s = 1.0;
    d->max_batch = 1;
    d->router = SIM_ROUTER_LEAST_OUTSTANDING;
    d->container_start = S(5);
    d->warmup = S(3);
    d->weight_bytes = 4e9;
    return c;
}

static wl_source *constant_source(double rate)
{
    wl_synth_spec sp = {.arrival = WL_ARRIVAL_CONSTANT, .rate = rate,
                        .input = {.dist = WL_DIST_FIXED, .value = 10}, .output = {.dist = WL_DIST_FIXED, .value = 1}};
    return wl_synth_open(&sp, 1, 0);
}

static double metric(const fs_metrics *m, const char *name, const char *stat)
{
    const fs_metric *x = fs_metrics_find(m, name, stat);
    return x ? x->value : NAN;
}

/* Time series captured by name. */
typedef struct series {
    const char *name;
    double t[4096], v[4096];
    size_t n;
} series;

static int capture_sample(void *ctx, fs_time t, const char *name, double value, fs_error *err)
{
    (void)err;
    series *s = ctx;
    if (strcmp(name, s->name) == 0 && s->n < 4096) {
        s->t[s->n] = fs_time_to_s(t);
        s->v[s->n++] = value;
    }
    return 0;
}

/* 3 requests a second on one replica that serves 1: the backlog grows. At 15 s the HPA (target 1
 * request in flight per pod) wants max(2 x 1, 1 + 4) = 5 capped at max_replicas 3; the two new
 * replicas find no room (one 1-GPU node) and wait. Cluster Autoscaler's scan at 20 s asks for 2
 * nodes, ready at 120 s; each replica pulls its image (to 140), starts (145), loads (147), warms
 * up (150): ready 135 s after the HPA asked. The nodes are billed from 20 s. */
static void test_hpa_scale_up_cold_start(void)
{
    sim_config c = pool_config();
    c.duration = S(200);
    c.sample_interval = S(10);
    sim_deployment *d = &c.deployments[0];
    d->autoscale.kind = SIM_SCALE_HPA;
    d->autoscale.hpa = hpa_defaults(AS_CONCURRENCY, 1, 3);
    d->autoscale.scrape_interval = S(15);
    series ready = {.name = "replicas_ready"};
    sim_sink sink = {&ready, NULL, capture_sample};
    wl_source *src = constant_source(3);
    sim *s = sim_new(&c, &src, 1, &sink);
    fs_error err;
    CHECK_INT(sim_run(s, &err), 0);
    fs_metrics m = {0};
    sim_metrics(s, &m);
    CHECK_NEAR(metric(&m, "cold_starts", "svc"), 2, 0);
    CHECK_NEAR(metric(&m, "cold_start_mean", "svc"), 135, 1e-9);
    CHECK_NEAR(metric(&m, "cold_start_max", "svc"), 135, 1e-9);
    CHECK_NEAR(metric(&m, "nodes_added", "l4"), 2, 0);
    /* every request served: 599 arrive before 200 s, from 1/3 s on */
    CHECK_NEAR(metric(&m, "completed", "value"), 599, 0);
    double end = metric(&m, "duration", "value");
    CHECK_NEAR(metric(&m, "gpu_hours", "value"), (end + 2 * (end - 20)) / 3600, 1e-9);
    CHECK_NEAR(metric(&m, "cost", "value"), (end + 2 * (end - 20)) / 3600, 1e-9);
    /* one replica ready until 150 s, three from then on */
    for (size_t i = 0; i < ready.n; i++) CHECK_NEAR(ready.v[i], ready.t[i] < 150 ? 1 : 3, 0);
    CHECK(ready.n >= 17);
    fs_metrics_fini(&m);
    sim_free(s);
}

/* KPA from zero replicas: the first request (0.1 s) is held until a replica is ready. The
 * autoscaler has made no decision yet (so no activator poke): its first tick, at 2 s, wants one
 * pod; the node is ready, so the cold start is the image pull and the rest: 30 s, to 32 s. */
static void test_kpa_from_zero_holds_requests(void)
{
    sim_config c = pool_config();
    c.max_requests = 1;
    sim_deployment *d = &c.deployments[0];
    d->replicas = 0;
    d->autoscale.kind = SIM_SCALE_KPA;
    d->autoscale.kpa = kpa_defaults();
    rows r = {0};
    sim *s = run_capture(&c, constant_source(10), &r);
    CHECK_INT(r.n, 1);
    CHECK_INT(r.v[0].arrival, S(0.1));
    CHECK_INT(r.v[0].start, S(32));
    CHECK_INT(r.v[0].done, S(33));
    fs_metrics m = {0};
    sim_metrics(s, &m);
    CHECK_NEAR(metric(&m, "cold_start_mean", "svc"), 30, 1e-9);
    CHECK_NEAR(metric(&m, "held_for_replica", "requests"), 1, 0);
    CHECK_NEAR(metric(&m, "held_for_replica", "mean"), 31900, 1e-9); /* 0.1 s to 32 s */
    fs_metrics_fini(&m);
    sim_free(s);
    free(r.v);
}

/* Nodes failing every few minutes on average: with retries every request finishes, some of
 * them twice started; without, the lost ones are reported unfinished. Same seed, same result. */
static void failures(bool retry, fs_metrics *m)
{
    sim_config c = pool_config();
    c.duration = S(1200);
    c.failure_retry = retry;
    c.fleet[0].count = 3;
    c.fleet[0].min_nodes = c.fleet[0].max_nodes = 3;
    c.fleet[0].mtbf_hours = 0.05;
    c.deployments[0].replicas = 3;
    sim *s = sim_new(&c, (wl_source *[]){constant_source(1.5)}, 1, NULL);
    fs_error err;
    CHECK_INT(sim_run(s, &err), 0);
    sim_metrics(s, m);
    sim_free(s);
}

static void test_failures_retry_or_fail(void)
{
    fs_metrics a = {0}, b = {0}, a2 = {0};
    failures(true, &a);
    failures(true, &a2);
    failures(false, &b);
    double fails = metric(&a, "node_failures", "l4");
    fprintf(stderr, "  %g node failures in 1200 s over 3 nodes (MTBF 180 s); retried %g, then failed %g\n", fails,
            metric(&a, "lost_requests", "retried"), metric(&b, "lost_requests", "failed"));
    CHECK(fails >= 3);
    CHECK(metric(&a, "lost_requests", "retried") > 0);
    CHECK_NEAR(metric(&a, "completed", "value"), metric(&a, "arrived", "value"), 0);
    CHECK_NEAR(metric(&a, "unfinished", "value"), 0, 0);
    CHECK_NEAR(metric(&b, "lost_requests", "failed"), metric(&b, "unfinished", "value"), 0);
    CHECK(metric(&b, "unfinished", "value") > 0);
    CHECK_NEAR(metric(&a, "completed", "value") - metric(&b, "completed", "value"), metric(&b, "unfinished", "value"), 0);
    for (size_t i = 0; i < a.n; i++) CHECK_NEAR(a.v[i].value, a2.v[i].value, 0);
    fs_metrics_fini(&a);
    fs_metrics_fini(&a2);
    fs_metrics_fini(&b);
}

/* One model in two regions (one 1-s replica each, 50 ms apart); four requests from region 1,
 * 100 ms apart. */
static sim *two_regions(enum sim_region_policy policy, uint32_t allowed, rows *r)
{
    sim_config c = one_deployment_config("L4");
    c.nfleet = 2;
    c.fleet[1] = c.fleet[0];
    c.ndeployments = 2;
    c.regions.policy = policy;
    c.regions.spill_load = 2;
    c.regions.latency[1][2] = c.regions.latency[2][1] = S(0.05);
    c.regions.allowed[1] = allowed;
    for (uint32_t k = 0; k < 2; k++) {
        sim_fleet_entry *fe = &c.fleet[k];
        snprintf(fe->name, sizeof fe->name, "pool%u", k);
        fe->region = k + 1;
        fe->count = fe->gpus_per_node = 1;
        sim_deployment *d = &c.deployments[k];
        snprintf(d->name, sizeof d->name, "m-%u", k);
        snprintf(d->model, sizeof d->model, "m");
        d->gpu = k;
        d->replicas = d->gpus_per_replica = 1;
        d->service = SIM_SERVICE_CONSTANT;
        d->service_mean_s = 1.0;
        d->max_batch = 1;
        d->router = SIM_ROUTER_LEAST_OUTSTANDING;
    }
    wl_request reqs[4];
    for (int i = 0; i < 4; i++)
        reqs[i] = (wl_request){.arrival = S(0.1 * i), .input_tokens = 10, .output_tokens = 1, .region = 1};
    return run_capture(&c, wl_list_open(reqs, 4), r);
}

static void test_regions(void)
{
    rows r = {0};
    /* local: all four in region 1, one after the other */
    sim *s = two_regions(SIM_REGION_LOCAL, 0, &r);
    CHECK_INT(r.n, 4);
    for (size_t i = 0; i < r.n; i++) CHECK_INT(r.v[i].done, S(i + 1));
    sim_free(s);
    /* spillover at 2 in flight per replica: the third and fourth go to region 2, 50 ms away, and
     * the client sees their answers 50 ms later again: done at 0.2 + 0.05 + 1 + 0.05 = 1.3 s and
     * (queued behind it) 2.3 s */
    r.n = 0;
    s = two_regions(SIM_REGION_SPILLOVER, 0, &r);
    const fs_time want[] = {S(1), S(2), S(1.3), S(2.3)};
    for (size_t i = 0; i < r.n; i++) {
        CHECK_INT(r.v[i].done, want[r.v[i].id]);
        CHECK_INT(r.v[i].deployment, r.v[i].id < 2 ? 0 : 1);
    }
    fs_metrics m = {0};
    sim_metrics(s, &m);
    CHECK_NEAR(metric(&m, "region_remote", "value"), 2, 0);
    CHECK_NEAR(metric(&m, "ttft", "max"), 2300 - 300, 1e-9);
    fs_metrics_fini(&m);
    sim_free(s);
    /* residency: region 1's requests may be served only in region 2 */
    r.n = 0;
    s = two_regions(SIM_REGION_LOCAL, 1u << 2, &r);
    for (size_t i = 0; i < r.n; i++) CHECK_INT(r.v[i].deployment, 1);
    sim_free(s);
    /* ... or only in region 3, where nothing serves the model: refused */
    r.n = 0;
    s = two_regions(SIM_REGION_LOCAL, 1u << 3, &r);
    m = (fs_metrics){0};
    sim_metrics(s, &m);
    CHECK_NEAR(metric(&m, "residency_refused", "value"), 4, 0);
    CHECK_NEAR(metric(&m, "completed", "value"), 0, 0);
    for (size_t i = 0; i < r.n; i++) CHECK(r.v[i].rejected);
    fs_metrics_fini(&m);
    sim_free(s);
    free(r.v);
}

/* Energy by hand: one 1-GPU replica (idle 100 W, 300 W at full activity) serving three 1-s
 * requests back to back from 0 s (a fixed service counts as fully active while busy): 3 s of idle
 * power plus 3 s at 200 W more, 900 J, over 33 tokens. */
static void test_energy_hand_checked(void)
{
    sim_config c = pool_config();
    c.fleet[0].max_nodes = 1;
    c.fleet[0].idle_w = 100;
    c.fleet[0].tdp_w = 300;
    wl_request reqs[3];
    for (int i = 0; i < 3; i++) reqs[i] = (wl_request){.arrival = S(0.1 * i), .input_tokens = 10, .output_tokens = 1};
    rows r = {0};
    sim *s = run_capture(&c, wl_list_open(reqs, 3), &r);
    fs_metrics m = {0};
    sim_metrics(s, &m);
    CHECK_NEAR(metric(&m, "duration", "value"), 3, 1e-12);
    CHECK_NEAR(metric(&m, "energy", "value"), 900 / 3.6e6, 1e-15);
    CHECK_NEAR(metric(&m, "mean_power", "value"), 0.3, 1e-12);
    CHECK_NEAR(metric(&m, "energy_per_token", "value"), 900.0 / 33, 1e-9);
    CHECK_NEAR(metric(&m, "energy_per_output_token", "value"), 300, 1e-9);
    fs_metrics_fini(&m);
    sim_free(s);
    free(r.v);
}

/* Time-slicing as processor sharing: two 1-s requests on two replicas sharing one GPU (switch
 * overhead 10%), the second arriving at 0.5 s. Alone until then, the first has 0.5 s of work
 * left; both busy, each runs at 1 / (2 x 1.1): the first ends at 0.5 + 0.5 x 2.2 = 1.6 s, having
 * given the second 1.1 / 2.2 = 0.5 s of its work; alone again, the second ends at 2.1 s. */
static void test_time_slicing_hand_checked(void)
{
    sim_config c = one_deployment_config("L4");
    sim_fleet_entry *fe = &c.fleet[0];
    fe->count = fe->gpus_per_node = 1;
    fe->shares = 2;
    fe->switch_overhead = 0.1;
    sim_deployment *d = &c.deployments[0];
    snprintf(d->name, sizeof d->name, "svc");
    snprintf(d->model, sizeof d->model, "m");
    d->replicas = 2;
    d->gpus_per_replica = 1;
    d->gpu_share = 0.5;
    d->service = SIM_SERVICE_CONSTANT;
    d->service_mean_s = 1.0;
    d->max_batch = 1;
    d->router = SIM_ROUTER_ROUND_ROBIN;
    wl_request v[2] = {{.arrival = 0, .input_tokens = 1, .output_tokens = 1},
                       {.arrival = S(0.5), .input_tokens = 1, .output_tokens = 1}};
    rows r = {0};
    sim *s = run_capture(&c, wl_list_open(v, 2), &r);
    CHECK_INT(r.n, 2);
    for (size_t i = 0; i < r.n; i++) CHECK_INT(r.v[i].done, r.v[i].id == 0 ? S(1.6) : S(2.1));
    fs_metrics m = {0};
    sim_metrics(s, &m);
    /* busy replica time: 1.6 + 1.6 s of 2 x 2.1 s */
    CHECK_NEAR(metric(&m, "replica_utilization", "value"), 100 * 3.2 / 4.2, 1e-9);
    /* one GPU billed for 2.1 s */
    CHECK_NEAR(metric(&m, "gpu_hours", "value"), 2.1 / 3600, 1e-12);
    fs_metrics_fini(&m);
    sim_free(s);
    free(r.v);
}

/* MIG instances made on demand, with a repartition: one A100-80GB (dynamic MIG, mig_aware,
 * repartitioning allowed, 60 s to reconfigure). Deployment a (1g.10gb) starts with one replica
 * (its instance at slot 6, where mig_aware puts a 1g), serves one request at 0.1 s and is
 * scaled to zero by its KPA; its instance stays, free. Deployment b (7g.80gb) starts at zero; its
 * request at 200 s is held and, b's autoscaler having decided 0 before, the activator pokes it:
 * it asks for a replica at once. The 7g fits only by repartitioning the GPU (all its instances
 * free): 60 s, then the cold start on a node without b's image (20 s pull, 5 s container, 2 s
 * weights, 3 s warm-up): ready at 290 s, the request done at 291 s. */
static void test_dynamic_mig(void)
{
    fs_error err;
    mig_table *mt = mig_table_new(&err);
    CHECK(mt != NULL);
    const mig_gpu *g = mig_gpu_find(mt, "A100-SXM4-80GB");
    sim_config c = pool_config();
    snprintf(c.fleet[0].gpu, sizeof c.fleet[0].gpu, "A100-SXM4-80GB");
    c.fleet[0].max_nodes = 1;
    c.fleet[0].mig_dynamic = g;
    c.fleet[0].mig_policy = MP_MIG_AWARE;
    c.fleet[0].mig_repartition = true;
    c.fleet[0].mig_reconfigure = S(60);
    c.ndeployments = 2;
    c.deployments[1] = c.deployments[0];
    snprintf(c.deployments[1].name, sizeof c.deployments[1].name, "b");
    c.deployments[1].replicas = 0;
    const char *prof[2] = {"1g.10gb", "7g.80gb"};
    for (int k = 0; k < 2; k++) {
        sim_deployment *d = &c.deployments[k];
        d->mig_profile = mig_profile_find(g, prof[k]);
        d->gpu_share = d->mig_profile->compute_slices / 7.0;
        d->autoscale.kind = SIM_SCALE_KPA;
        d->autoscale.kpa = kpa_defaults();
    }
    wl_request v[2] = {{.arrival = S(0.1), .input_tokens = 1, .output_tokens = 1, .target = 0},
                       {.arrival = S(200), .input_tokens = 1, .output_tokens = 1, .target = 1}};
    rows r = {0};
    sim *s = run_capture(&c, wl_list_open(v, 2), &r);
    CHECK_INT(r.n, 2);
    for (size_t i = 0; i < r.n; i++) CHECK_INT(r.v[i].done, r.v[i].id == 0 ? S(1.1) : S(291));
    fs_metrics m = {0};
    sim_metrics(s, &m);
    CHECK_NEAR(metric(&m, "mig_repartitions", "l4"), 1, 0);
    CHECK_NEAR(metric(&m, "mig_instances", "l4"), 1, 0);
    CHECK_NEAR(metric(&m, "cold_start_mean", "b"), 90, 1e-9);
    fs_metrics_fini(&m);
    sim_free(s);
    free(r.v);
    mig_table_free(mt);
}

int main(void)
{
    RUN(test_hpa_scale_up_cold_start);
    RUN(test_kpa_from_zero_holds_requests);
    RUN(test_failures_retry_or_fail);
    RUN(test_regions);
    RUN(test_energy_hand_checked);
    RUN(test_time_slicing_hand_checked);
    RUN(test_dynamic_mig);
    return DONE();
}
