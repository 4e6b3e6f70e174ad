/*
 * Validation against queueing theory. The fixed-service model with Poisson arrivals behind a
 * central FCFS queue is an M/M/c (exponential service) or M/D/1 (constant service) queue; its
 * mean wait in queue Wq must match Erlang C and Pollaczek-Khinchine within max(2%, 3 standard
 * errors), the standard error from batch means (30 batches) after a warm-up.
 *
 * Without arguments: utilisations 0.5 to 0.8 with about 10^6 customers each. With --long: the
 * rho = 0.9 cases, about 10^7 customers each (labelled `long` in ctest: CI runs them once, in
 * the Release build). Seeds are fixed; no seed was picked for luck.
 */
#include <stdint.h>

#include "harness.h"
#include "sim.h"
#include "wl.h"
#include "wl_synth.h"

/* Erlang C: probability that an arrival waits in M/M/c with offered load a = lambda / mu. */
static double erlang_c(int c, double a)
{
    double term = 1, sum = 0; /* a^k / k! */
    for (int k = 0; k < c; k++) {
        sum += term;
        term *= a / (k + 1);
    }
    double rho = a / c, top = term / (1 - rho);
    return top / (sum + top);
}

typedef struct point {
    const char *what;
    double lambda, mean_service_s;
    int servers;
    enum sim_service service;
    double customers;
    uint64_t seed;
} point;

static double theory_wq(const point *p)
{
    double mu = 1 / p->mean_service_s, a = p->lambda / mu, rho = a / p->servers;
    if (p->service == SIM_SERVICE_CONSTANT) /* M/D/1, Pollaczek-Khinchine: rho S / (2 (1 - rho)) */
        return rho * p->mean_service_s / (2 * (1 - rho));
    return erlang_c(p->servers, a) / (p->servers * mu - p->lambda);
}

static void check_point(const point *p)
{
    sim_config c = {0};
    c.seed = p->seed;
    double horizon = p->customers / p->lambda;
    c.duration = fs_time_from_s(horizon);
    c.warmup = fs_time_from_s(horizon * 0.02);
    c.drain_timeout = -1;
    c.ndeployments = 1;
    c.nfleet = 1;
    snprintf(c.fleet[0].gpu, sizeof c.fleet[0].gpu, "L4");
    c.fleet[0].count = (uint32_t)p->servers;
    sim_deployment *d = &c.deployments[0];
    snprintf(d->name, sizeof d->name, "q");
    d->replicas = (uint32_t)p->servers;
    d->gpus_per_replica = 1;
    d->service = p->service;
    d->service_mean_s = p->mean_service_s;
    d->max_batch = 1;
    d->router = SIM_ROUTER_CENTRAL_QUEUE;
    wl_synth_spec sp = {.arrival = WL_ARRIVAL_POISSON, .rate = p->lambda,
                        .input = {.dist = WL_DIST_FIXED, .value = 1}, .output = {.dist = WL_DIST_FIXED, .value = 1}};
    wl_source *src = wl_synth_open(&sp, p->seed, 0);
    sim *s = sim_new(&c, &src, 1, NULL);
    fs_error err;
    CHECK_INT(sim_run(s, &err), 0);
    const fs_sample *wq = sim_queue_delays(s);
    double mean, se;
    CHECK_INT(fs_batch_means(wq->v, wq->n, 30, &mean, &se), 0);
    mean /= 1e3; /* ms -> s */
    se /= 1e3;
    double want = theory_wq(p), tol = fmax(0.02 * want, 3 * se);
    double rho = p->lambda * p->mean_service_s / p->servers;
    fprintf(stderr, "  %-6s rho %.2f c %2d: Wq sim %.6f s, theory %.6f s, error %+.2f%%, 3 SE %.2f%%, %zu customers\n",
            p->what, rho, p->servers, mean, want, 100 * (mean - want) / want, 300 * se / want, wq->n);
    CHECK_NEAR(mean, want, tol);
    fs_metrics m = {0};
    sim_metrics(s, &m);
    const fs_metric *u = fs_metrics_find(&m, "replica_utilization", "value");
    CHECK(u != NULL);
    if (u) CHECK_NEAR(u->value / 100, rho, 0.01);
    fs_metrics_fini(&m);
    sim_free(s);
}

static const point short_points[] = {
    {"M/M/1", 5, 0.1, 1, SIM_SERVICE_EXPONENTIAL, 1e6, 1},
    {"M/M/c", 14, 0.2, 4, SIM_SERVICE_EXPONENTIAL, 1e6, 2},
    {"M/M/c", 60, 0.1, 8, SIM_SERVICE_EXPONENTIAL, 1e6, 3},
    {"M/M/c", 0.8 * 32 / 0.05, 0.05, 32, SIM_SERVICE_EXPONENTIAL, 1e6, 4},
    {"M/D/1", 7, 0.1, 1, SIM_SERVICE_CONSTANT, 1e6, 5},
};

static const point long_points[] = {
    {"M/M/1", 9, 0.1, 1, SIM_SERVICE_EXPONENTIAL, 1e7, 11},
    {"M/M/c", 18, 0.2, 4, SIM_SERVICE_EXPONENTIAL, 1e7, 12},
    {"M/M/c", 0.9 * 16 / 0.05, 0.05, 16, SIM_SERVICE_EXPONENTIAL, 1e7, 13},
    {"M/D/1", 9, 0.1, 1, SIM_SERVICE_CONSTANT, 1e7, 14},
};

static void test_erlang_c_formula(void)
{
    /* known values: C(1, a) = a; C(2, 1) = 1/3 */
    CHECK_NEAR(erlang_c(1, 0.7), 0.7, 1e-12);
    CHECK_NEAR(erlang_c(2, 1.0), 1.0 / 3, 1e-12);
}

static void test_short_points(void)
{
    for (size_t i = 0; i < sizeof short_points / sizeof short_points[0]; i++) check_point(&short_points[i]);
}

static void test_long_points(void)
{
    for (size_t i = 0; i < sizeof long_points / sizeof long_points[0]; i++) check_point(&long_points[i]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--long") == 0) {
        RUN(test_long_points);
    } else {
        RUN(test_erlang_c_formula);
        RUN(test_short_points);
    }
    return DONE();
}
