/*
 * migplace.h — MIG instances on a pool of GPUs, placed one replica at a time.
 *
 * A pool is nodes x GPUs of one MIG-capable type (a mig_gpu of gpu/mig.h). Each GPU holds a set
 * of instances, each a profile at a start slot, and each either in use by one replica or free.
 * An instance is named by (node, gpu, start): no two instances of a GPU share a start slot,
 * since each takes the compute slice at its start. Instances outlive replicas, as MIG instances
 * outlive pods: mp_release marks an instance free and leaves it in place, and only a
 * repartition (below) or mp_gpu_set_layout destroys instances.
 *
 * Invariant: every GPU's instances form a valid layout of gpu/mig.h: each at one of its
 * profile's start slots, no two holding a common compute or memory slice, no profile beyond its
 * max_instances. mp_check verifies it with mig_layout_place, so the rules live in one place;
 * the fit test used while placing (a start slot allowed, its compute and memory slices free of
 * instances, fewer than max_instances of the profile) is those rules for one added instance.
 *
 * Placing (mp_place). Three stages, each tried only when the one before finds nothing, for
 * every policy: reuse a free instance of the exact profile asked for (no reconfiguration);
 * create a new instance in slices no instance holds (no instance is touched); when the pool
 * allows it (mp_cluster_set_repartition), repartition a GPU whose instances are all free:
 * destroy them all, then create the new one. The caller applies the reconfiguration delay and,
 * as Kubernetes' mig-manager does, drains the node named in the result. Nodes marked down take
 * nothing. Within a stage the policy chooses, visiting nodes and GPUs in index order, a tie
 * going to the first visited and then to the lowest start slot:
 *
 *   first_fit   reuse: the first free instance; create: the first GPU where the profile fits,
 *               at its lowest fitting start slot.
 *   best_fit    reuse: the GPU with the fewest idle compute slices (slices not in an instance
 *               in use), packing replicas so whole GPUs stay free; create: the GPU with the
 *               fewest unallocated compute slices (in no instance) among those where it fits,
 *               then the fewest idle, at the lowest fitting start slot.
 *   mig_aware   keeps large profiles placeable. reuse: as best_fit. create: every fitting
 *               (GPU, start) gets a loss, and the smallest loss wins, then the fewest idle
 *               compute slices after placement (a GPU already partly used before an empty one),
 *               then GPU order, then the lowest start. With cap_q(G) the number of instances of
 *               profile q that could still be created on GPU G (q's allowed starts, slices in no
 *               instance, no overlap among them, q's existing instances counted against its
 *               max_instances), and "q larger than p" meaning q has at least p's compute and
 *               memory slices and more of one of them:
 *                   loss(G, p at s) = sum over q larger than p of
 *                                     w_q * (cap_q(G) - cap_q(G with p at s)),
 *                   w_q = q's compute slices x q's memory slices (its area on the 7 x 8 grid).
 *               Other GPUs do not change, so the loss is also the drop of the pool-wide sum of
 *               w_q * cap_q. The weights make large profiles count: unweighted counts would
 *               open an empty GPU (losing a 7g, a 3g and a 1g.20gb: 3) rather than give a fourth
 *               1g.10gb to a GPU holding three at 4-6 (losing the 4g, the 3g at 0, a 1g.20gb and
 *               a 2g: 4); weighted, that costs 34 against 70, and the partly used GPU takes it.
 *               On the GPU types shipped, weights of compute slices alone choose the same.
 *               Example (A100-SXM4-80GB, one empty GPU, 1g.10gb one by one): the first goes to
 *               slot 6 (loss 70: the 7g is lost wherever it goes, slot 6 also costs one 3g and
 *               one 1g.20gb but no 4g and no 2g), the second to 4, the third to 5 (loss 0), and
 *               the 4g.40gb and a 3g.40gb at slot 0 stay placeable; first_fit takes 0, 1, 2 and
 *               only a 3g.40gb at slot 4 is left. Greedy has its price: the fourth 1g.10gb must
 *               then go to slots 0-3 and takes the last 3g, where first_fit's 0-3 keep 3g at 4.
 *
 * Repartitioning is chosen alike by every policy: among the GPUs whose instances are all free
 * (at least one), the one on the node with the fewest instances in use (the replicas a drain
 * disturbs), then in index order; the new instance takes the start the policy would take on an
 * empty GPU (first_fit and best_fit: the lowest; mig_aware: the smallest loss).
 *
 * Fragmentation (mp_frag) for a profile p: the share of the unallocated compute slices that
 * cannot be put into new instances of p, after creating as many as fit on every GPU
 * (1 - p's compute slices x sum of cap_p / unallocated compute slices), over all nodes, down
 * ones included; 0 when no slice is unallocated. For the largest profile (7g) it is the share of
 * unallocated slices on GPUs that hold any instance.
 *
 * Cost: mp_place is O(nodes x GPUs) plus, for create, one lookup per GPU in a cache keyed by
 * (the GPU's layout, profile) that holds the fitting slots and mig_aware's best loss, so a
 * layout is scored once (O(starts x profiles x starts)) however many GPUs share it. The cache
 * grows only when a GPU reaches a layout not seen before (at most the number of valid placed
 * layouts x profiles, a few thousand entries); nothing else allocates after mp_cluster_new.
 * mp_release is O(1); the counters are O(nodes x GPUs). No RNG: equal calls give equal results.
 *
 * Ownership: the caller owns the cluster (mp_cluster_new / mp_cluster_free) and the mig_table the
 * mig_gpu comes from, which must outlive the cluster; profiles passed in must be that
 * mig_gpu's own entries (a bug otherwise).
 */
#ifndef FS_MIGPLACE_H
#define FS_MIGPLACE_H

#include <stdbool.h>

#include "fs_error.h"
#include "mig.h"

enum mp_policy {
    MP_FIRST_FIT,
    MP_BEST_FIT,
    MP_MIG_AWARE,
    MP_POLICY_COUNT
};

/* "first_fit", "best_fit", "mig_aware"; NULL for a value out of range. */
const char *mp_policy_name(enum mp_policy p);
/* The policy named `name`, or -1. */
int mp_policy_from_name(const char *name);

/* One instance: node, GPU of the node, start slot. */
typedef struct mp_where {
    int node, gpu, start;
} mp_where;

enum mp_action {
    MP_REUSE,       /* a free instance of the profile, as it was */
    MP_CREATE,      /* a new instance in unallocated slices; no other instance changed */
    MP_REPARTITION  /* the GPU's free instances destroyed (see destroyed), then the new one created */
};

typedef struct mp_placement {
    mp_where where;            /* the instance the replica now holds */
    const mig_profile *profile;
    enum mp_action action;
    /* MP_REPARTITION only (else drain_node -1, destroyed.n 0, disturbed 0): the node to drain
     * (where.node), the instances destroyed with their starts, and how many instances are in use
     * on the node's other GPUs (the replicas the drain disturbs). */
    int drain_node;
    mig_layout destroyed;
    int disturbed;
} mp_placement;

typedef struct mp_totals {
    int gpus;                               /* all nodes' GPUs */
    int gpus_bare;                          /* GPUs with no instance */
    int gpus_free;                          /* GPUs with no instance in use (bare ones included) */
    int instances, instances_used;
    int per_profile[MIG_MAX_PROFILES];      /* instances of mig_gpu.profiles[i] */
    int per_profile_used[MIG_MAX_PROFILES]; /* those in use */
    int compute_slices;                     /* gpus x MIG_COMPUTE_SLICES */
    int compute_unallocated;                /* in no instance */
    int compute_used;                       /* in instances in use */
    double frag;                            /* mp_frag of the largest profile (most compute, then memory slices) */
} mp_totals;

typedef struct mp_cluster mp_cluster;

/* A pool of nodes x gpus_per_node bare GPUs of type g (nodes >= 1, gpus_per_node >= 1: asserted),
 * all up, repartitioning not allowed. */
mp_cluster *mp_cluster_new(const mig_gpu *g, int nodes, int gpus_per_node);
void mp_cluster_free(mp_cluster *c);
const mig_gpu *mp_cluster_gpu(const mp_cluster *c);
/* Whether mp_place may repartition a GPU whose instances are all free (default: no). */
void mp_cluster_set_repartition(mp_cluster *c, bool allow);

/*
 * Set a GPU's instances to the placed layout l (l->gpu the pool's type, l->start filled, as
 * mig_layout_parse returns it), all free; l->n == 0 leaves the GPU bare. Returns 0, or -1 with
 * err when the GPU has an instance in use or l is not a valid layout at its starts (nothing
 * changes then).
 */
int mp_gpu_set_layout(mp_cluster *c, int node, int gpu, const mig_layout *l, fs_error *err);
/* A GPU's instances as a layout (in start order, starts filled), and *used (may be NULL) with bit
 * i set when l->inst[i] is in use. Returns the number of instances. */
int mp_gpu_layout(const mp_cluster *c, int node, int gpu, mig_layout *out, unsigned *used);

/* Place a replica on an instance of profile p by `policy` (see above): 0 with *out filled and the
 * pool updated, or -1 when no stage finds room (nothing changes). */
int mp_place(mp_cluster *c, const mig_profile *p, enum mp_policy policy, mp_placement *out);
/* The replica on instance w left: the instance stays, free (asserts it exists and is in use). */
void mp_release(mp_cluster *c, const mp_where *w);

/* A down node takes nothing new (draining, reconfiguring, not provisioned); what it holds stays. */
void mp_node_set_down(mp_cluster *c, int node, bool down);
/* Instances in use on a node. */
int mp_node_used(const mp_cluster *c, int node);

/* GPUs with no instance in use (bare or all free): those a scale-down or repartition can take. */
int mp_free_gpus(const mp_cluster *c);
void mp_cluster_totals(const mp_cluster *c, mp_totals *t);
/* Fragmentation for profile p (see above), in [0, 1]. */
double mp_frag(const mp_cluster *c, const mig_profile *p);

/* Check every GPU against gpu/mig.h (valid starts, no shared slice, mig_layout_place accepts its
 * profiles) and the pool's own counters: 0, or -1 with err naming the node, GPU and rule. */
int mp_check(const mp_cluster *c, fs_error *err);

#endif
