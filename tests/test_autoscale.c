/* The autoscalers' decisions step by step, against sequences worked out by hand from the
 * Kubernetes and Knative algorithms (the arithmetic is in the comments). */
#include <stdint.h>

#include "autoscale.h"
#include "harness.h"

#define S(x) ((fs_time)(x) * FS_NS_PER_S)

static hpa_sample pods(double sum, int32_t reported, int32_t missing, int32_t unready)
{
    return (hpa_sample){.sum = sum, .reported = reported, .missing = missing, .unready = unready};
}

/* ---- HPA ---- */

/* Target 10 per pod, max 16. Scale-up policies: max(+4 pods, +100 %) per 15 s, measured from the
 * count at the start of the period (the current count less what was added within it). */
static void test_hpa_scale_up_policies(void)
{
    hpa_config c = hpa_defaults(AS_CONCURRENCY, 10, 16);
    hpa h;
    hpa_init(&h, &c);
    hpa_sample s;
    /* t=0: 1 pod at 100: ratio 10, wants ceil(10 x 1) = 10; limit max(1 + 4, ceil(1 x 2)) = 5. */
    s = pods(100, 1, 0, 0);
    CHECK_INT(hpa_sync(&h, S(0), 1, &s), 5);
    /* t=15: 5 pods averaging 20: ratio 2, wants 10; the +4 at t=0 is not after 15 - 15, so the
     * period starts at 5: limit max(5 + 4, 5 x 2) = 10. */
    s = pods(100, 5, 0, 0);
    CHECK_INT(hpa_sync(&h, S(15), 5, &s), 10);
    /* t=20: 10 pods at 40: wants 40; the +5 at t=15 is within (5, 20], so the period starts at 5:
     * limit max(9, 10) = 10, no growth before the period ends. */
    s = pods(400, 10, 0, 0);
    CHECK_INT(hpa_sync(&h, S(20), 10, &s), 10);
    /* t=30: the period starts at 10: limit max(14, 20) = 20, clamped to max 16. */
    CHECK_INT(hpa_sync(&h, S(30), 10, &s), 16);
    /* t=45: 16 pods at 40 want 64: held at max 16. */
    s = pods(640, 16, 0, 0);
    CHECK_INT(hpa_sync(&h, S(45), 16, &s), 16);
    hpa_fini(&h);

    /* A policy of +1 pod per 60 s with Min selection beside +100 %: the smaller change wins. */
    c.up.select = HPA_SELECT_MIN;
    c.up.policy[0] = (hpa_policy){HPA_PODS, 1, S(60)};
    hpa_init(&h, &c);
    s = pods(100, 2, 0, 0);
    CHECK_INT(hpa_sync(&h, S(0), 2, &s), 3);   /* min(2 + 1, 4) = 3 */
    s = pods(150, 3, 0, 0);
    CHECK_INT(hpa_sync(&h, S(15), 3, &s), 3);  /* the +1 at 0 is within 60 s: min(2 + 1, ...) */
    CHECK_INT(hpa_sync(&h, S(60), 3, &s), 4);  /* 0 is not after 60 - 60: min(3 + 1, 6) = 4 */
    hpa_fini(&h);
}

/* Target 10, 4 pods: no change while the ratio lies in [0.9, 1.1], bounds included; the average
 * is taken in milli-units with integer division. */
static void test_hpa_tolerance(void)
{
    hpa_config c = hpa_defaults(AS_QUEUE, 10, 20);
    static const struct { double sum; int32_t want; } cases[] = {
        {42, 4},      /* 10500m / 10000m = 1.05: inside */
        {38, 4},      /* 0.95: inside */
        {44, 4},      /* 1.1: on the bound, inside */
        {36, 4},      /* 0.9: on the bound, inside */
        {44.003, 4},  /* 44003m / 4 = 11000m (truncated): 1.1, inside */
        {44.004, 5},  /* 11001m: 1.1001, ceil(4.4004) = 5 */
        {46, 5},      /* 1.15: ceil(4.6) = 5 */
        {30, 3},      /* 0.75: ceil(3.0) = 3 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hpa_sample s = pods(cases[i].sum, 4, 0, 0);
        CHECK_INT(hpa_calc(&c, 4, &s), cases[i].want);
    }
    /* Through a sync: inside the band nothing changes. */
    hpa h;
    hpa_init(&h, &c);
    hpa_sample s = pods(43, 4, 0, 0);
    CHECK_INT(hpa_sync(&h, S(0), 4, &s), 4);
    hpa_fini(&h);
}

/* Target 10, 10 pods: a scale-down waits for the 300 s window and takes the highest
 * recommendation in it. A recommendation made at t leaves the window at t + 300. */
static void test_hpa_scale_down_window(void)
{
    hpa_config c = hpa_defaults(AS_CONCURRENCY, 10, 20);
    hpa h;
    hpa_init(&h, &c);
    hpa_sample s = pods(100, 10, 0, 0); /* ratio 1: keeps 10 */
    CHECK_INT(hpa_sync(&h, S(0), 10, &s), 10);
    s = pods(45, 10, 0, 0);             /* ratio 0.45: ceil(4.5) = 5, held by the 10 at t=0 */
    CHECK_INT(hpa_sync(&h, S(15), 10, &s), 10);
    s = pods(35, 10, 0, 0);             /* ceil(3.5) = 4: held */
    CHECK_INT(hpa_sync(&h, S(30), 10, &s), 10);
    s = pods(25, 10, 0, 0);             /* ceil(2.5) = 3: held while t=0 is in the window */
    for (int t = 45; t <= 285; t += 15) CHECK_INT(hpa_sync(&h, S(t), 10, &s), 10);
    /* t=300: the two 10s of t=0 are out; the window (0, 300] holds 5, 4, 3...: 5. The rate allows
     * down to 10 x (1 - 100 %) = 0, and min 1. */
    CHECK_INT(hpa_sync(&h, S(300), 10, &s), 5);
    /* t=315: 5 pods with the same load 25: ratio 0.5, ceil(2.5) = 3; the window (15, 315]
     * holds 4 (t=30) and 3s: 4. */
    s = pods(25, 5, 0, 0);
    CHECK_INT(hpa_sync(&h, S(315), 5, &s), 4);
    /* t=330: 4 pods: 6250m, ratio 0.625, ceil(2.5) = 3; the window (30, 330] holds only 3s. */
    s = pods(25, 4, 0, 0);
    CHECK_INT(hpa_sync(&h, S(330), 4, &s), 3);
    hpa_fini(&h);
}

/* Pods not ready count as 0 on a scale-up and are left out on a scale-down; pods without a
 * sample count as 0 on a scale-up and as the target on a scale-down; if the rebalanced ratio is
 * within tolerance or points the other way, nothing changes. Target 10, current 4. */
static void test_hpa_unready_and_missing(void)
{
    hpa_config c = hpa_defaults(AS_KV_USAGE, 10, 20);
    static const struct { double sum; int32_t reported, missing, unready, want; } cases[] = {
        {42, 2, 0, 2, 4},  /* 2.1 up; with 2 unready at 0: 42000m / 4 = 1.05, inside: keep 4 */
        {42, 2, 0, 0, 5},  /* the same two pods alone: ceil(2.1 x 2) = 5 */
        {15, 1, 0, 3, 4},  /* 1.5 up; 15000m / 4 = 0.375 points down: keep 4 */
        {15, 1, 0, 0, 2},  /* alone: ceil(1.5) = 2 */
        {60, 2, 0, 2, 6},  /* 3.0 up; 60000m / 4 = 1.5: ceil(1.5 x 4) = 6 */
        {10, 2, 0, 2, 1},  /* 0.5 down: unready pods left out, ceil(0.5 x 2) = 1 */
        {10, 2, 2, 0, 3},  /* 0.5 down; 2 missing at 10: 30000m / 4 = 0.75, ceil(3) = 3 */
        {50, 2, 2, 0, 5},  /* 2.5 up; 2 missing at 0: 50000m / 4 = 1.25, ceil(5) = 5 */
        {15, 1, 3, 0, 4},  /* 1.5 up; 3 missing at 0: 0.375 points down: keep 4 */
        {0, 0, 2, 2, -1},  /* no ready pod has a sample: the sync fails */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hpa_sample s = pods(cases[i].sum, cases[i].reported, cases[i].missing, cases[i].unready);
        CHECK_INT(hpa_calc(&c, 4, &s), cases[i].want);
    }

    /* In the loop: pods started by a scale-up do not count until ready. */
    hpa h;
    hpa_init(&h, &c);
    hpa_sample s = pods(60, 2, 0, 0);  /* 2 pods at 30: ceil(3 x 2) = 6; limit max(2 + 4, 4) = 6 */
    CHECK_INT(hpa_sync(&h, S(0), 2, &s), 6);
    s = pods(66, 2, 0, 4);             /* 3.3 up; 66000m / 6 = 1.1: inside, keep 6 (alone: 7) */
    CHECK_INT(hpa_sync(&h, S(15), 6, &s), 6);
    s = pods(0, 0, 0, 6);              /* nobody ready: nothing changes */
    CHECK_INT(hpa_sync(&h, S(30), 6, &s), 6);
    hpa_fini(&h);
}

static void test_hpa_clamps(void)
{
    hpa_config c = hpa_defaults(AS_UTILIZATION, 0.6, 16);
    c.min_replicas = 2;
    hpa h;
    hpa_init(&h, &c);
    hpa_sample none = pods(0, 0, 0, 0);
    CHECK_INT(hpa_sync(&h, S(0), 20, &none), 16); /* above max: to max, metrics unread */
    CHECK_INT(hpa_sync(&h, S(15), 1, &none), 2);  /* below min: to min */
    CHECK_INT(hpa_sync(&h, S(30), 0, &none), 0);  /* at 0: autoscaling disabled */
    hpa_fini(&h);

    /* Idle pods want 0 replicas; after the window the rate allows 0, min keeps 2. */
    hpa_init(&h, &c);
    hpa_sample idle = pods(0, 3, 0, 0);
    for (int t = 0; t <= 285; t += 15) CHECK_INT(hpa_sync(&h, S(t), 3, &idle), 3); /* the 3 at t=0 */
    CHECK_INT(hpa_sync(&h, S(300), 3, &idle), 2);
    hpa_fini(&h);

    /* Utilization 0.6 target: 3 pods at 0.9 busy: 900m / 600m = 1.5, ceil(4.5) = 5. */
    hpa_init(&h, &c);
    hpa_sample busy = pods(2.7, 3, 0, 0);
    CHECK_INT(hpa_sync(&h, S(0), 3, &busy), 5);
    hpa_fini(&h);
}

static void test_hpa_config_check(void)
{
    char msg[256];
    hpa_config c = hpa_defaults(AS_CONCURRENCY, 8, 10);
    CHECK_INT(hpa_config_check(&c, msg, sizeof msg), 0);
    c.min_replicas = 0;
    CHECK_INT(hpa_config_check(&c, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "expected min_replicas >= 1, got 0");
    c = hpa_defaults(AS_RPS, 8, 10);
    CHECK_INT(hpa_config_check(&c, msg, sizeof msg), -1);
    c = hpa_defaults(AS_CONCURRENCY, 8, 10);
    c.down.policy[0].period = 0;
    CHECK_INT(hpa_config_check(&c, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "scale-down policy 0 period");
}

/* ---- KPA ---- (target 10 per pod x 70 % = 7 throughout) */

static kpa_config kpa_cfg(void)
{
    kpa_config c = kpa_defaults();
    c.target = 10;
    return c;
}

/* One value a second for the seconds from..to. */
static void record(kpa *k, int from, int to, double v)
{
    for (int t = from; t <= to; t++) kpa_record(k, S(t), v, v);
}

static void test_kpa_stable_averaging(void)
{
    kpa_config c = kpa_cfg();
    kpa k;
    kpa_init(&k, &c, 0, 1);
    CHECK_INT(kpa_tick(&k, 0, 1, 1), 1); /* no data yet: no decision */
    record(&k, 0, 29, 7);
    record(&k, 30, 59, 21);
    /* t=59: stable (30 x 7 + 30 x 21) / 60 = 14, ceil(14 / 7) = 2; panic 21 -> 3 pods, 3 / 2 ready
     * = 1.5 < 2: no panic, the stable count rules. */
    CHECK_INT(kpa_tick(&k, S(59), 2, 2), 2);
    CHECK(!k.panicking);
    /* t=61: the window is seconds 2..61: (28 x 7 + 32 x 21) / 60 = 14.466666, ceil(2.07) = 3. */
    record(&k, 60, 61, 21);
    CHECK_INT(kpa_tick(&k, S(61), 2, 2), 3);
    CHECK(!k.panicking);
    kpa_fini(&k);

    /* Before a window has passed, the average is over the seconds since the first write:
     * 70 at t=5 after five zeros is 70 / 6 = 11.67 -> 2 pods (over 60 s it would be 1). */
    kpa_init(&k, &c, 0, 1);
    record(&k, 0, 4, 0);
    kpa_record(&k, S(5), 70, 70);
    CHECK_INT(kpa_tick(&k, S(5), 2, 2), 2);
    kpa_fini(&k);

    /* A revision created with more than one pod starts in panic mode. */
    kpa_init(&k, &c, 0, 3);
    CHECK(k.panicking);
    CHECK_INT(k.max_panic_pods, 3);
    kpa_fini(&k);
}

static void test_kpa_panic(void)
{
    kpa_config c = kpa_cfg();
    kpa k;
    kpa_init(&k, &c, 0, 1);
    record(&k, 0, 10, 14);
    CHECK_INT(kpa_tick(&k, S(10), 2, 2), 2); /* 14 / 7 = 2 pods, 2 / 2 ready = 1 */
    CHECK(!k.panicking);
    /* t=12: the panic window (seconds 7..12) holds 14, 14, 14, 14, 50, 50: 156 / 6 = 26,
     * ceil(26 / 7) = 4 pods, 4 / 2 ready = 2 >= 200 %: panic. Stable 0..12:
     * (11 x 14 + 2 x 50) / 13 = 19.538461 -> 3. Panic takes the larger: 4. */
    record(&k, 11, 12, 50);
    CHECK_INT(kpa_tick(&k, S(12), 2, 2), 4);
    CHECK(k.panicking);
    CHECK(k.panic_time == S(12));
    /* The surge is over (7 a second from t=13) and 4 pods are ready. t=14: panic
     * (14 + 14 + 50 + 50 + 7 + 7) / 6 = 23.67 -> 4 pods, 4 / 4 = 1: not over, still panicking.
     * From t=20 the panic window is all 7 -> 1 pod (2 with the 2x scale-down floor) and the
     * stable window wants 3 (t=20: 310 / 21 = 14.76): no scale-down in panic, 4 stays. The last
     * tick over the threshold was t=12, so panic ends at the first tick after 12 + 60 = 72. */
    int t;
    for (t = 13; t <= 74; t++) {
        kpa_record(&k, S(t), 7, 7);
        if (t % 2) continue;
        int32_t want = kpa_tick(&k, S(t), 4, 4);
        if (t <= 72) {
            CHECK_INT(want, 4);
            CHECK(k.panicking);
        } else {
            /* t=74: stable seconds 15..74 are all 7 -> 1 pod, floored at 4 / 2 = 2. */
            CHECK_INT(want, 2);
            CHECK(!k.panicking);
            CHECK_INT(k.max_panic_pods, 0);
        }
    }
    kpa_fini(&k);
}

static void test_kpa_rates(void)
{
    kpa_config c = kpa_cfg();
    kpa k;
    /* Up: 70000 in flight wants 10000 pods; 1 ready pod may grow to ceil(1000 x 1) = 1000. */
    kpa_init(&k, &c, 0, 1);
    kpa_record(&k, 0, 70000, 0);
    CHECK_INT(kpa_tick(&k, 0, 1, 1), 1000);
    kpa_fini(&k);
    c.max_scale = 500;
    kpa_init(&k, &c, 0, 1);
    kpa_record(&k, 0, 70000, 0);
    CHECK_INT(kpa_tick(&k, 0, 1, 1), 500); /* max scale */
    kpa_fini(&k);

    /* Down: 7 in flight wants 1 pod; each tick may halve the ready pods: floor(10 / 2) = 5,
     * floor(5 / 2) = 2, floor(2 / 2) = 1. */
    c = kpa_cfg();
    kpa_init(&k, &c, 0, 1);
    static const int32_t ready[] = {10, 5, 2, 1}, want[] = {5, 2, 1, 1};
    for (int t = 0; t <= 8; t++) {
        kpa_record(&k, S(t), 7, 7);
        if (t >= 2 && t % 2 == 0)
            CHECK_INT(kpa_tick(&k, S(t), ready[t / 2 - 1], ready[t / 2 - 1]), want[t / 2 - 1]);
    }
    kpa_fini(&k);
    c.min_scale = 3;
    kpa_init(&k, &c, 0, 1);
    record(&k, 0, 6, 7);
    CHECK_INT(kpa_tick(&k, S(6), 4, 4), 3); /* wants max(1, 4 / 2) = 2: min scale 3 */
    kpa_fini(&k);

    /* RPS: 200 per pod x 70 % = 140; 300 requests a second want ceil(2.14) = 3. */
    c = kpa_defaults();
    c.metric = AS_RPS;
    c.target = 200;
    kpa_init(&k, &c, 0, 1);
    for (int t = 0; t <= 4; t++) kpa_record(&k, S(t), 1, 300);
    CHECK_INT(kpa_tick(&k, S(4), 2, 2), 3);
    kpa_fini(&k);
}

static void test_kpa_scale_to_zero_and_back(void)
{
    kpa_config c = kpa_cfg();
    kpa k;
    kpa_init(&k, &c, 0, 1);
    CHECK(k.state == KPA_ACTIVE);
    /* 3.5 in flight until t=99 (one pod), then nothing. The stable window is all zeros from
     * t=159 on (seconds 100..159); the first tick there is t=160. Active since t=0, so at t=160
     * the PA wants 0 and turns inactive (the pod stays); 30 s later, t=190, it goes to zero. */
    record(&k, 0, 99, 3.5);
    int32_t cur = 1;
    for (int t = 100; t <= 249; t++) {
        CHECK(!kpa_record(&k, S(t), 0, 0)); /* no requests, no poke (even once the answer is 0) */
        if (t % 2) continue;
        cur = kpa_tick(&k, S(t), cur, cur);
        if (t <= 158) {
            CHECK_INT(cur, 1); /* t=158: seconds 99..158 hold one 3.5: 0.058333 / 7 -> 1 */
            CHECK(k.state == KPA_ACTIVE);
        } else if (t < 190) {
            CHECK_INT(cur, 1);
            CHECK(k.state == KPA_INACTIVE);
            CHECK(k.state_since == S(160));
        } else {
            CHECK_INT(cur, 0);
        }
    }
    CHECK_INT(cur, 0);
    CHECK_INT(k.last_desired, 0);
    /* A request at the activator: the poke, and a tick at once. Stable 1 / 60, panic 1 / 6:
     * 1 pod either way; 1 / max(1, 0 ready) < 2, no panic. */
    CHECK(kpa_record(&k, S(250), 1, 1));
    cur = kpa_tick(&k, S(250), 0, cur);
    CHECK_INT(cur, 1);
    CHECK(k.state == KPA_ACTIVATING);
    CHECK(!kpa_record(&k, S(251), 1, 0)); /* the answer is 1 now: no poke */
    kpa_record(&k, S(252), 1, 0);
    CHECK_INT(kpa_tick(&k, S(252), 0, 1), 1);
    CHECK(k.state == KPA_ACTIVATING);
    kpa_record(&k, S(254), 1, 0);
    CHECK_INT(kpa_tick(&k, S(254), 1, 1), 1);
    CHECK(k.state == KPA_ACTIVE);
    CHECK(k.state_since == S(254));
    kpa_fini(&k);

    /* No traffic from the start: the PA must be active for a stable window before it may turn
     * inactive (t=60), and inactive for the grace period before going to zero (t=90). */
    kpa_init(&k, &c, 0, 1);
    cur = 1;
    for (int t = 0; t <= 90; t++) {
        kpa_record(&k, S(t), 0, 0);
        if (t == 0 || t % 2) continue;
        cur = kpa_tick(&k, S(t), cur, cur);
        CHECK_INT(cur, t < 90 ? 1 : 0);
        CHECK(k.state == (t < 60 ? KPA_ACTIVE : KPA_INACTIVE));
    }
    kpa_fini(&k);

    /* With scale to zero disabled the last pod stays. */
    c.scale_to_zero = false;
    kpa_init(&k, &c, 0, 1);
    record(&k, 0, 200, 0);
    CHECK_INT(kpa_tick(&k, S(200), 1, 1), 1);
    kpa_fini(&k);
}

static void test_kpa_config_check(void)
{
    char msg[256];
    kpa_config c = kpa_defaults();
    CHECK_INT(kpa_config_check(&c, msg, sizeof msg), 0);
    c.panic_window_pct = 1; /* 0.6 s: under a bucket */
    CHECK_INT(kpa_config_check(&c, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "panic_window_pct");
    c = kpa_defaults();
    c.max_scale_down_rate = 1;
    CHECK_INT(kpa_config_check(&c, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "got 1");
}

/* ---- node pool ---- */

static void test_ca_scale_down(void)
{
    ca_config c = ca_defaults(1, 5);
    CHECK(c.unneeded_time == S(600));
    ca_pool p;
    ca_init(&p, &c, 3, 0);
    int32_t removed[4];
    ca_mark(&p, 1, S(100), true);
    ca_mark(&p, 2, S(200), true);
    ca_mark(&p, 2, S(300), false); /* needed again: the timer restarts at the next report */
    ca_mark(&p, 2, S(400), true);
    ca_mark(&p, 1, S(500), true);  /* still unneeded: keeps t=100 */
    CHECK_INT(ca_scale_down(&p, S(700) - 1, removed, 4), 0);
    CHECK_INT(ca_scale_down(&p, S(700), removed, 4), 1); /* exactly 10 min after t=100 */
    CHECK_INT(removed[0], 1);
    CHECK_INT(p.n, 2);
    CHECK_INT(ca_scale_down(&p, S(1000) - 1, removed, 4), 0);
    CHECK_INT(ca_scale_down(&p, S(1000), removed, 4), 1);
    CHECK_INT(removed[0], 2);
    ca_mark(&p, 0, S(1000), true);
    CHECK_INT(ca_scale_down(&p, S(2000), removed, 4), 0); /* min 1 */
    CHECK_INT(p.n, 1);
    CHECK_INT(p.node[0].id, 0);
    ca_fini(&p);
}

static void test_ca_scale_up(void)
{
    ca_config c = ca_defaults(1, 3);
    ca_pool p;
    ca_init(&p, &c, 1, 0);
    /* A pending pod needs a node at t=10; the provider takes 90 s. */
    CHECK_INT(ca_scale_up(&p, S(10), 1, S(90)), 1);
    CHECK_INT(p.n, 2);
    CHECK_INT(p.node[1].id, 1);
    CHECK_INT(ca_ready(&p, S(100) - 1), 1);
    CHECK_INT(ca_scale_up(&p, S(20), 1, S(90)), 0); /* the node coming covers it */
    CHECK_INT(ca_scale_up(&p, S(30), 5, S(90)), 1); /* 5 - 1 coming = 4, capped by max 3 */
    CHECK_INT(ca_ready(&p, S(100)), 2);
    CHECK_INT(ca_ready(&p, S(120)), 3);
    ca_mark(&p, 1, S(100), true); /* ready nodes can be marked */
    ca_fini(&p);

    char msg[256];
    c = ca_defaults(4, 3);
    CHECK_INT(ca_config_check(&c, msg, sizeof msg), -1);
    CHECK_CONTAINS(msg, "got 4 and 3");
}

int main(void)
{
    RUN(test_hpa_scale_up_policies);
    RUN(test_hpa_tolerance);
    RUN(test_hpa_scale_down_window);
    RUN(test_hpa_unready_and_missing);
    RUN(test_hpa_clamps);
    RUN(test_hpa_config_check);
    RUN(test_kpa_stable_averaging);
    RUN(test_kpa_panic);
    RUN(test_kpa_rates);
    RUN(test_kpa_scale_to_zero_and_back);
    RUN(test_kpa_config_check);
    RUN(test_ca_scale_down);
    RUN(test_ca_scale_up);
    return DONE();
}
