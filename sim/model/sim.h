/*
 * sim.h — one simulation run: requests from workload sources, routed to the replicas of
 * deployments, served, measured.
 *
 * Flow: each source has one pending arrival event; an arrival takes a request object from a
 * free list, hands it to its deployment's router, and pulls the source's next request. A replica
 * serves and calls back on first token and completion; the completion records the metrics,
 * streams a row to the sink, tells the source (closed-loop load needs it), lets the router pull
 * queued work, and recycles the request object. Nothing is allocated per event once pools have
 * grown.
 *
 * Stop: arrivals end at `duration` or after `max_requests`; requests in flight then drain, for
 * at most `drain_timeout` when set. Whatever is still in flight then is reported as unfinished
 * (counted, streamed to the sink, and failing every SLO) — never dropped silently.
 *
 * Ownership: sim_new copies the config; it takes ownership of the sources (freed by sim_free).
 * The sink's ctx stays the caller's.
 */
#ifndef FS_SIM_H
#define FS_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "autoscale.h"
#include "catalog.h"
#include "fs_error.h"
#include "fs_time.h"
#include "stats.h"
#include "steptime.h"
#include "wl.h"

enum sim_router { SIM_ROUTER_ROUND_ROBIN, SIM_ROUTER_RANDOM, SIM_ROUTER_LEAST_OUTSTANDING,
                  SIM_ROUTER_CENTRAL_QUEUE, SIM_ROUTER_LEAST_TOKENS, SIM_ROUTER_POWER_OF_TWO,
                  SIM_ROUTER_KV_UTILIZATION, SIM_ROUTER_SCORED, SIM_ROUTER_SESSION_AFFINITY };

/* What the routers see and weigh (see router.c). */
typedef struct sim_router_params {
    fs_time scrape_interval;     /* replica metrics (queue, KV use) are scraped this often; 0: live */
    double w_queue, w_kv, w_prefix; /* SIM_ROUTER_SCORED: weights of the three scorers */
    int32_t prefix_block;        /* tokens per block in the router's prefix index */
    uint32_t prefix_index_blocks; /* entries in that index (an approximate, overwriting cache) */
} sim_router_params;

enum sim_service { SIM_SERVICE_CONSTANT, SIM_SERVICE_EXPONENTIAL, SIM_SERVICE_LOGNORMAL };

enum sim_kind { SIM_KIND_FIXED, SIM_KIND_LLM };

#define SIM_NAME_MAX 64

/* An LLM serving engine (vLLM V1 semantics; see llm.c). The catalog entries must outlive the
 * simulation. num_gpu_blocks is resolved by the caller (given, or computed from memory). */
typedef struct sim_llm {
    const model_spec *model;
    const gpu_spec *gpu;
    int32_t tp;
    int32_t max_num_seqs, max_num_batched_tokens, max_model_len;
    int32_t block_size, num_gpu_blocks;
    bool prefix_caching, chunked_prefill, async_scheduling, cuda_graphs, priority;
    bool fast_forward;        /* advance decode-only runs in one event (results are identical) */
    enum st_dtype weights, kv;
    /* Prefill/decode disaggregation: the first prefill_replicas of the deployment only prefill
     * (and emit the first token); the KV cache then moves over a link of kv_link_bw bytes/s and
     * kv_link_latency to a decode replica. 0: every replica does both. */
    uint32_t prefill_replicas;
    double kv_link_bw;
    fs_time kv_link_latency;
    /* A replica on part of a GPU (a MIG instance): its shares of the GPU's compute (SMs) and
     * memory bandwidth; 0 means the whole GPU. */
    double compute_share, bandwidth_share;
    /* The power model's activity weights of compute and of memory traffic (gpu/power.h); 0 means
     * the default (1 and 0.6). */
    double power_w_compute, power_w_memory;
} sim_llm;

/* Autoscaling of a deployment's replicas (autoscale.h holds the controllers' rules). */
enum sim_scaler { SIM_SCALE_NONE, SIM_SCALE_HPA, SIM_SCALE_KPA };
typedef struct sim_autoscale {
    enum sim_scaler kind;
    hpa_config hpa;           /* SIM_SCALE_HPA: metric, target, bounds, behaviors, sync period */
    kpa_config kpa;           /* SIM_SCALE_KPA */
    fs_time scrape_interval;  /* the HPA's metrics are scraped this often (it sees the last scrape) */
} sim_autoscale;

#define SIM_MAX_FLEET 16

typedef struct sim_deployment {
    char name[SIM_NAME_MAX];
    char model[SIM_NAME_MAX];
    enum sim_kind kind;
    sim_llm llm;              /* kind LLM */
    uint32_t replicas;
    uint32_t gpus_per_replica;
    uint32_t gpu;             /* index into sim_config.fleet */
    /* "fixed" service kind: a service time per request; a batch of up to max_batch waiting
     * requests starts together and ends when its longest member is done. */
    enum sim_service service;
    double service_mean_s;
    double service_cv;        /* lognormal only */
    uint32_t max_batch;
    enum sim_router router;
    sim_router_params routing;
    double gpu_share;         /* GPUs a replica holds, for billing, when not whole: a MIG instance's
                                 compute slices / 7, a share of a shared GPU 1 / shares;
                                 0: gpus_per_replica */
    /* Node pools the replicas may go to, in order of preference (pools[0] == gpu); all of one
     * GPU type. `replicas` start ready at time 0; more start (cold) when an autoscaler asks or a
     * replica is lost. */
    uint32_t pools[SIM_MAX_FLEET];
    uint32_t npools;
    sim_autoscale autoscale;
    /* Cold start, after the node is ready and the image pulled: the container starts, the
     * weights load (weight_bytes / the pool's storage_bw), the engine warms up (CUDA graphs,
     * profiling runs); then the replica takes requests. */
    fs_time container_start, warmup;
    double weight_bytes;
    double mem_fraction;      /* llm: its engine's gpu_memory_utilization (what it holds of a shared GPU) */
    const struct mig_profile *mig_profile; /* the MIG instance a replica takes; NULL: whole GPUs */
} sim_deployment;

/* A node pool: nodes of one GPU type, billed per GPU-hour from the moment a node is asked for
 * until it is removed, as clouds bill. A pool whose node count may move (min_nodes < max_nodes)
 * grows when replicas cannot be placed and sheds nodes left empty for unneeded_time, as Cluster
 * Autoscaler does; otherwise it keeps the nodes it starts with. */
typedef struct sim_fleet_entry {
    char gpu[SIM_NAME_MAX];   /* canonical catalog name */
    char name[SIM_NAME_MAX];  /* the pool's name (deployments' "pools"); default the GPU type */
    uint32_t region;          /* 1-based index into the scenario's region names; 0: none given */
    char cluster[SIM_NAME_MAX]; /* the Kubernetes cluster it belongs to, within its region ("": none) */
    uint32_t count;           /* GPUs provisioned at the start */
    uint32_t gpus_per_node;   /* the GPUs come in nodes of this many (the last may have fewer) */
    uint32_t min_nodes, max_nodes; /* both the starting node count unless given */
    double price_per_hour;    /* USD per GPU-hour */
    double idle_w, tdp_w;     /* power of one GPU idle and at full activity (gpu/power.h) */
    /* Sharing GPUs without partitioning them (gpu/share.h): each GPU holds `shares` replicas
     * (the device plugin's `replicas: N`; 0: a replica takes whole GPUs). Time-slicing runs
     * busy co-tenants in turn (slower by share_slowdown with switch_overhead); MPS runs them
     * at once, each on 1/shares of the SMs. */
    uint32_t shares;
    bool mps;
    bool mig;                 /* partitioned into MIG instances by a fixed layout (placed by the scenario) */
    /* MIG instances made on demand (sim/model/migplace.h): a replica's instance is reused, created
     * in free slices, or (mig_repartition) made by repartitioning a GPU whose instances are all
     * free, after mig_reconfigure, draining the node as Kubernetes' mig-manager does. */
    const struct mig_gpu *mig_dynamic; /* its geometry; NULL when not */
    int mig_policy;           /* enum mp_policy */
    bool mig_repartition;
    fs_time mig_reconfigure;
    double switch_overhead;
    bool spot;                /* spot capacity: reclaimed with a notice */
    double reclaims_per_hour; /* spot: reclaims per node-hour (exponential gaps) */
    fs_time reclaim_notice;   /* spot: warning before a node goes (replicas drain meanwhile) */
    double mtbf_hours;        /* node failures: mean hours between failures per node; 0: none */
    fs_time mttr;             /* a failed node serves again this long after it failed */
    fs_time provision;        /* a new node is ready this long after it was asked for */
    fs_time image_pull;       /* the first replica of a deployment on a node pulls its image */
    double storage_bw;        /* bytes/s at which a node loads a replica's weights */
    fs_time unneeded_time;    /* an empty node goes after this long (min_nodes kept) */
} sim_fleet_entry;

#define SIM_MAX_DEPLOYMENTS 32
#define SIM_MAX_REGIONS 16

/* Which region serves a request. Requests and pools carry regions (1-based indexes into the
 * scenario's names); a deployment is in its first pool's region. A request with a region may go
 * to any deployment serving the same model in a region its residency allows; across regions it
 * pays a one-way latency on the way there and again on the way back (in TTFT and E2E). */
enum sim_region_policy {
    SIM_REGION_NONE,          /* requests go where their source sends them */
    SIM_REGION_LOCAL,         /* the request's own region when allowed and present, else the nearest */
    SIM_REGION_SPILLOVER,     /* local until its load reaches spill_load, then the least loaded allowed */
    SIM_REGION_LEAST_LOADED   /* the least loaded allowed deployment, wherever it is */
};
typedef struct sim_regions {
    enum sim_region_policy policy;
    double spill_load;        /* requests in flight per ready replica */
    uint32_t allowed[SIM_MAX_REGIONS + 1]; /* by request region: bit k = region k may serve it; 0: any */
    fs_time latency[SIM_MAX_REGIONS + 1][SIM_MAX_REGIONS + 1]; /* one way, by (request, serving) region */
} sim_regions;
#define SIM_MAX_LIMITS 64

/* Admission: per-tenant token buckets in front of the routers. A request over its tenant's rate
 * gets a 429; the client retries after backoff x multiplier^(attempt - 1), up to `retries`
 * times, then gives up (counted as rate_limited_dropped). */
typedef struct sim_admission {
    uint32_t nlimits;
    struct sim_rate_limit {
        uint32_t tenant;          /* 1-based tenant index */
        double rps, burst;        /* refill rate, bucket size (>= 1) */
    } limits[SIM_MAX_LIMITS];
    uint32_t retries;
    fs_time backoff;
    double backoff_multiplier;
    fs_time timeout;          /* a client gives up on a request with no first token this long after
                                 it arrived (counted as abandoned); 0: never */
} sim_admission;

typedef struct sim_config {
    uint64_t seed;
    fs_time duration;         /* arrivals stop at this time; FS_TIME_MAX for none */
    uint64_t max_requests;    /* arrivals stop after this many; 0 for none */
    fs_time drain_timeout;    /* cap on draining after arrivals end; -1 for none */
    fs_time warmup;           /* requests arriving earlier are not measured */
    fs_time sample_interval;  /* time-series period; 0 for none */
    bool per_replica_series;  /* also sample each replica (names like "replica[3].kv_usage") */
    fs_time slo_ttft, slo_tpot, slo_e2e; /* 0 when not set */
    sim_admission admission;
    sim_regions regions;
    bool failure_retry;       /* requests on a replica that is lost start over elsewhere (else fail) */
    /* where the replicas went (whole-GPU fleet entries): nodes in the fleet and holding a
     * replica, and GPUs left free on nodes that hold some (stranded for a replica of the
     * widest tensor-parallel size when fewer than it) */
    int placement_policy;     /* enum pl_policy (placement.h): where replicas go, at the start and later */
    uint32_t nodes, nodes_used;
    uint32_t gpus_free_on_used, gpus_stranded;
    uint32_t ndeployments, nfleet;
    sim_deployment deployments[SIM_MAX_DEPLOYMENTS];
    sim_fleet_entry fleet[SIM_MAX_FLEET];
    volatile sig_atomic_t *interrupt; /* when non-NULL and set, the run stops early */
    /* Names of the tenants requests carry (1-based indexes), for per-tenant metrics; may be
     * NULL (the metrics then say "tenant 3"). Asked only by sim_metrics. */
    const char *(*tenant_name)(void *ctx, uint32_t tenant);
    void *tenant_ctx;
} sim_config;

/* One request as it left the simulation (finished or not). Times are ns; -1 when it never got
 * that far. */
#define SIM_NO_REPLICA UINT32_MAX /* a request still in a central queue */

typedef struct sim_request_row {
    uint64_t id;
    uint32_t deployment, replica; /* replica: SIM_NO_REPLICA when never routed to one */
    fs_time arrival, start, first_token, done;
    int32_t input_tokens, output_tokens; /* output: tokens produced (requested, when unfinished) */
    int32_t preemptions;      /* times its KV was dropped and recomputed */
    int32_t cached_tokens;    /* prompt tokens served from the prefix cache */
    bool finished;
    bool rejected;            /* refused by the engine (prompt longer than the context or the KV cache) */
    bool measured; /* arrived after the warm-up */
} sim_request_row;

/* Where rows go while the run proceeds (e.g. into SQLite). Either callback may be NULL. A
 * non-zero return stops the run with the error the callback filled. */
typedef struct sim_sink {
    void *ctx;
    int (*request)(void *ctx, const sim_request_row *row, fs_error *err);
    int (*sample)(void *ctx, fs_time t, const char *name, double value, fs_error *err);
} sim_sink;

typedef struct sim sim;

sim *sim_new(const sim_config *cfg, wl_source **sources, uint32_t nsources, const sim_sink *sink);
void sim_free(sim *s);

/* Run to the end. 0 when it ran to completion, 1 when interrupted, -1 on an error (err). */
int sim_run(sim *s, fs_error *err);

/* The simulated clock: the time of the event being (or last) handled. */
fs_time sim_now(const sim *s);

/* The results of a finished run as metric rows (see stats.h); the caller owns *out. */
void sim_metrics(sim *s, fs_metrics *out);

/* Measured samples for validation tests: queueing delay (ms) of each measured finished request,
 * in order of completion. Valid until sim_free. */
const fs_sample *sim_queue_delays(const sim *s);

/* A replica's activity-weighted seconds per GPU so far (gpu/power.h), by global index; 0 for a
 * slot never started. For tests. */
double sim_replica_active_s(const sim *s, uint32_t index);

#endif
