/*
 * autoscale.h — the decision logic of the autoscalers, as pure state machines: the Kubernetes
 * HPA (autoscaling/v2 with its default behaviors), the Knative KPA, and a node pool grown and
 * shrunk the way Cluster Autoscaler does.
 *
 * None of them schedules anything. The simulation loop calls them at the instants the real
 * controllers run (hpa_sync every sync_period, kpa_tick every tick, ca_* every scan_interval)
 * with the time and the metrics that controller would see, and applies what they return. They
 * use exactly the sample they are given: the scrape lag of a metrics pipeline is the caller's to
 * model (pass what the controller would have at that instant). Times are fs_time; calls on one
 * object must come in nondecreasing time. No randomness: equal inputs give equal outputs.
 *
 * Sources followed (see autoscale.c for the details kept and left out):
 *   HPA: kubernetes pkg/controller/podautoscaler/replica_calculator.go (calcPlainMetricReplicas)
 *        and horizontal.go (reconcileAutoscaler, normalizeDesiredReplicasWithBehaviors,
 *        stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate,
 *        calculateScale{Up,Down}Limit*, storeScaleEvent).
 *   KPA: knative serving pkg/autoscaler/scaling/autoscaler.go (Scale), aggregation/bucketing.go
 *        (TimedFloat64Buckets), metrics/collector.go, reconciler/autoscaling/kpa/scaler.go
 *        (applyBounds, handleScaleToZero) and kpa.go (computeActiveCondition).
 *
 * Ownership: each object embeds its config (copied by *_init) and owns its arrays; *_fini frees
 * them. Fields are the object's state, readable by the caller, written only through the API.
 */
#ifndef FS_AUTOSCALE_H
#define FS_AUTOSCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_time.h"

/* The per-pod metrics the simulator supplies. The HPA averages one of the first four per pod;
 * the KPA scales on concurrency or requests per second. */
enum as_metric { AS_UTILIZATION, AS_QUEUE, AS_CONCURRENCY, AS_KV_USAGE, AS_RPS };

/* ---- Kubernetes HPA --------------------------------------------------------------------- */

/* A target of type AverageValue on a Pods metric: desired = ceil(current × average / target),
 * averaged in milli-units with integer division as the controller does (GetMetricUsageRatio),
 * kept when the ratio average / target lies in [1 − tolerance, 1 + tolerance] (Tolerances.isWithin,
 * bounds included). Then the behaviors: stabilization (the lowest recommendation of the scale-up
 * window, the highest of the scale-down window), and the rate policies per period.
 * `metric` and `sync_period` are the caller's: what to sample, how often to call hpa_sync. */

#define HPA_MAX_POLICIES 4

enum hpa_policy_type { HPA_PODS, HPA_PERCENT };
enum hpa_select { HPA_SELECT_MAX, HPA_SELECT_MIN, HPA_SELECT_DISABLED };

typedef struct hpa_policy {
    enum hpa_policy_type type;
    int32_t value;             /* pods, or percent of the replicas at the start of the period */
    fs_time period;
} hpa_policy;

typedef struct hpa_rules {
    fs_time stabilization;     /* stabilizationWindowSeconds */
    enum hpa_select select;    /* which policy wins: the largest change (Max) or smallest (Min) */
    int32_t npolicies;
    hpa_policy policy[HPA_MAX_POLICIES];
} hpa_rules;

typedef struct hpa_config {
    enum as_metric metric;     /* AS_UTILIZATION, AS_QUEUE, AS_CONCURRENCY or AS_KV_USAGE */
    double target;             /* average value per pod, in the metric's unit, >= 0.001 */
    double tolerance;          /* 0.1 */
    int32_t min_replicas;      /* >= 1 (Kubernetes' default 1; HPAScaleToZero is not modelled) */
    int32_t max_replicas;      /* >= min_replicas */
    fs_time sync_period;       /* 15 s (--horizontal-pod-autoscaler-sync-period) */
    hpa_rules up, down;
} hpa_config;

/* Kubernetes' defaults around a target: min 1, tolerance 0.1, sync 15 s; scale up by
 * max(100 %, 4 pods) per 15 s with no stabilization; scale down by 100 % per 15 s after a
 * 300 s stabilization window. */
hpa_config hpa_defaults(enum as_metric metric, double target, int32_t max_replicas);

/* 0 when the config is usable; else -1 with "expected ..., got ..." in msg. */
int hpa_config_check(const hpa_config *c, char *msg, size_t size);

/* What the metrics pipeline holds for the target's pods at sync time. A pod is in exactly one
 * group; the sum covers the `reported` pods only. */
typedef struct hpa_sample {
    double sum;                /* the metric summed over the reported pods */
    int32_t reported;          /* ready pods with a sample */
    int32_t missing;           /* ready pods without a sample yet (scrape lag) */
    int32_t unready;           /* pods not ready (starting, loading weights): their samples are
                                  dropped; on a scale-up they count as 0 */
} hpa_sample;

/* The replica calculator alone (calcPlainMetricReplicas): the proposal for `current` replicas
 * (the scale target's spec.replicas), or -1 when no ready pod has a sample (the controller then
 * fails the sync and changes nothing). Stateless. */
int32_t hpa_calc(const hpa_config *c, int32_t current, const hpa_sample *s);

typedef struct hpa_rec { int32_t replicas; fs_time t; } hpa_rec;
typedef struct hpa_event { int32_t change; fs_time t; bool outdated; } hpa_event;

typedef struct hpa {
    hpa_config cfg;
    hpa_rec *rec;              /* unstabilized recommendations, reused once older than both windows */
    size_t nrec, rec_cap;
    hpa_event *up, *down;      /* scale events (absolute changes), reused once outdated */
    size_t nup, up_cap, ndown, down_cap;
} hpa;

/* The config must pass hpa_config_check (asserted). */
void hpa_init(hpa *h, const hpa_config *c);
void hpa_fini(hpa *h);

/* One reconcile at `now` with the target at `current` replicas: returns the replica count to
 * set (== current when nothing changes). current 0 means autoscaling is disabled (returns 0). */
int32_t hpa_sync(hpa *h, fs_time now, int32_t current, const hpa_sample *s);

/* ---- Knative KPA ------------------------------------------------------------------------ */

/* Observed concurrency (or RPS) is recorded once a second into one-second buckets; each tick the
 * decider averages the stable window (60 s) and the panic window (10 % of it, 6 s), wants
 * ceil(average / (target × utilization)) pods within [ready / max_scale_down_rate,
 * ready × max_scale_up_rate], panics when the panic count is >= panic_threshold × ready, never
 * scales down while panicking, and stops panicking a stable window after the last tick over the
 * threshold. Around it, the PA reconciler: min/max scale, and scale to zero only once the PA
 * has been active for a stable window (it is then marked inactive) and inactive for
 * scale_to_zero_grace. A new revision starts at Knative's initial-scale 1: the caller creates
 * it with one replica (initial scale > 1 is not modelled). `tick` is for the caller. */
typedef struct kpa_config {
    enum as_metric metric;     /* AS_CONCURRENCY (default) or AS_RPS */
    double target;             /* per pod: container-concurrency-target-default 100 (or the
                                  revision's containerConcurrency), requests-per-second 200 */
    double utilization;        /* container-concurrency-target-percentage 70 % -> 0.7 */
    fs_time stable_window;     /* 60 s; whole seconds, at least 6 s */
    double panic_window_pct;   /* 10: the panic window is this % of the stable window rounded to
                                  the second; it must come to between 1 s and the stable window */
    double panic_threshold;    /* panic-threshold-percentage 200 % -> 2.0 */
    double max_scale_up_rate;  /* 1000 */
    double max_scale_down_rate;/* 2 */
    fs_time tick;              /* 2 s */
    bool scale_to_zero;        /* enable-scale-to-zero: true */
    fs_time scale_to_zero_grace; /* 30 s */
    int32_t min_scale;         /* 0 */
    int32_t max_scale;         /* 0: unbounded */
    int32_t activation_scale;  /* 1: the smallest non-zero scale */
} kpa_config;

kpa_config kpa_defaults(void);
int kpa_config_check(const kpa_config *c, char *msg, size_t size);

/* One-second buckets over a window, as TimedFloat64Buckets. */
typedef struct kpa_window {
    double *bucket;            /* ring: second s lives in bucket[s % n] */
    int32_t n;                 /* ceil(window / 1 s) */
    fs_time window;
    int64_t first, last;       /* seconds of the first and the last write; last < 0: none yet */
} kpa_window;

/* The PA's Active condition. */
enum kpa_state { KPA_ACTIVATING, KPA_ACTIVE, KPA_INACTIVE };

typedef struct kpa {
    kpa_config cfg;
    double target;             /* max(0.01, target × utilization): TargetValue of the decider */
    kpa_window stable, panic;
    bool panicking;
    fs_time panic_time;        /* the last tick over the threshold */
    int32_t max_panic_pods;    /* the most pods wanted since panicking began */
    int32_t last_desired;      /* the decider's last answer; -1 before it has data */
    enum kpa_state state;
    fs_time state_since;       /* when `state` was entered */
} kpa;

/* A revision's autoscaler created at `now` with `ready` pods; with more than one it starts in
 * panic mode (Knative does, to keep the scale until it has data). The config must pass
 * kpa_config_check (asserted). */
void kpa_init(kpa *k, const kpa_config *c, fs_time now, int32_t ready);
void kpa_fini(kpa *k);

/* Record what the revision's pods (and the activator, for requests it holds) report at `now`:
 * the average concurrency over the last second and the requests of that second. Values recorded
 * in the same second add up (as the pods' and the activator's stats do). Record once a second,
 * and before kpa_tick at the same instant; at zero scale with no traffic it may be skipped, as
 * Knative records nothing then. Returns true when Knative would tick at once (the activator's
 * poke: the last decision was 0 and requests are now in flight). */
bool kpa_record(kpa *k, fs_time now, double concurrency, double rps);

/* One tick at `now` with `ready` pods and the revision at `current` replicas: returns the
 * replica count to set (== current when nothing is to be applied). */
int32_t kpa_tick(kpa *k, fs_time now, int32_t ready, int32_t current);

/* ---- Cluster-Autoscaler-like node pool -------------------------------------------------- */

/* A pool grows when pods are pending: the caller says how many nodes they need (its bin
 * packing, as CA's estimator does); nodes already coming count against that, and the pool never
 * exceeds max_nodes. A new node is ready `delay` after the request (the caller supplies the
 * provisioning delay). A ready node the caller reports unneeded (e.g. empty) for
 * unneeded_time (scale-down-unneeded-time, 10 min) is removed at the next scale-down, never
 * below min_nodes (nodes still coming count toward the size). Not modelled: utilization
 * thresholds, scale-down-delay-after-add, per-scan removal limits, node groups of several
 * shapes. */
typedef struct ca_config {
    int32_t min_nodes, max_nodes;
    fs_time unneeded_time;     /* 10 min */
    fs_time scan_interval;     /* 10 s: how often the caller runs ca_scale_up / ca_scale_down */
} ca_config;

ca_config ca_defaults(int32_t min_nodes, int32_t max_nodes);
int ca_config_check(const ca_config *c, char *msg, size_t size);

typedef struct ca_node {
    int32_t id;                /* handed out in increasing order, never reused */
    fs_time ready_at;
    fs_time unneeded_since;    /* FS_TIME_MAX while needed */
} ca_node;

typedef struct ca_pool {
    ca_config cfg;
    ca_node *node;             /* in id order */
    int32_t n;
    size_t cap;
    int32_t next_id;
} ca_pool;

/* A pool of `nodes` nodes, ready at `now`, ids 0 .. nodes - 1 (asserted within the bounds). */
void ca_init(ca_pool *p, const ca_config *c, int32_t nodes, fs_time now);
void ca_fini(ca_pool *p);

/* Nodes ready at `now`. */
int32_t ca_ready(const ca_pool *p, fs_time now);

/* Pending pods need `needed` new nodes: request what is not already coming, up to max_nodes;
 * returns the number requested (their ids are the last ones in p->node). */
int32_t ca_scale_up(ca_pool *p, fs_time now, int32_t needed, fs_time delay);

/* Tell whether ready node `id` is unneeded at `now`; the timer starts at the first report and
 * restarts after a report that it is needed. */
void ca_mark(ca_pool *p, int32_t id, fs_time now, bool unneeded);

/* Remove the nodes unneeded for at least unneeded_time, lowest id first, keeping min_nodes and
 * at most `cap` of them; their ids go to `removed`. Returns how many. */
int32_t ca_scale_down(ca_pool *p, fs_time now, int32_t *removed, int32_t cap);

/* A node went away outside the autoscaler (a spot reclaim): forget it. False if no such id. */
bool ca_remove(ca_pool *p, int32_t id);

#endif
