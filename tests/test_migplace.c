/*
 * test_migplace.c — MIG instances placed one by one (sim/model/migplace.h).
 *
 * Hand-checked sequences per GPU type (A100-SXM4-40GB, A100-SXM4-80GB, H100-SXM, H200-SXM, from
 * gpu/data/mig.json): each policy's GPU and start slot, reuse of a free instance, repartitioning
 * only when allowed and nothing else fits, refusals, mig_aware keeping a larger profile
 * placeable where first_fit does not, the counters and the fragmentation figure. Then thousands
 * of seeded random operations, each checked against a reference written here independently of
 * the module (brute-force capacities, every candidate scored) and every state against gpu/mig.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_error.h"
#include "harness.h"
#include "mig.h"
#include "migplace.h"
#include "rng.h"

static mig_table *mt;

static const mig_gpu *gpu(const char *name)
{
    const mig_gpu *g = mig_gpu_find(mt, name);
    if (!g) {
        fprintf(stderr, "no MIG geometry for %s\n", name);
        exit(1);
    }
    return g;
}

static const mig_profile *prof(const mig_gpu *g, const char *name)
{
    const mig_profile *p = mig_profile_find(g, name);
    if (!p) {
        fprintf(stderr, "no profile %s on %s\n", name, g->name);
        exit(1);
    }
    return p;
}

/* Place and check the action, node, GPU and start slot. */
#define PLACE(c, g, name, policy, want_action, want_node, want_gpu, want_start)   \
    do {                                                                          \
        mp_placement o_;                                                          \
        CHECK_INT(mp_place((c), prof((g), (name)), (policy), &o_), 0);            \
        CHECK_INT(o_.action, (want_action));                                      \
        CHECK_INT(o_.where.node, (want_node));                                    \
        CHECK_INT(o_.where.gpu, (want_gpu));                                      \
        CHECK_INT(o_.where.start, (want_start));                                  \
    } while (0)

#define REFUSE(c, g, name, policy)                                                \
    do {                                                                          \
        mp_placement o_;                                                          \
        CHECK_INT(mp_place((c), prof((g), (name)), (policy), &o_), -1);           \
    } while (0)

#define VALID(c)                                                                  \
    do {                                                                          \
        fs_error e_;                                                              \
        int rc_ = mp_check((c), &e_);                                             \
        CHECK_INT(rc_, 0);                                                        \
        if (rc_) fprintf(stderr, "  %s\n", e_.msg);                               \
    } while (0)

/* Place `name` n times on node 0 GPU 0 of c and check the start slots in order. */
static void sequence(mp_cluster *c, const mig_gpu *g, const char *name, enum mp_policy policy, const int *starts,
                     int n)
{
    for (int i = 0; i < n; i++) PLACE(c, g, name, policy, MP_CREATE, 0, 0, starts[i]);
    VALID(c);
}

static mp_cluster *pool(const mig_gpu *g, int nodes, int gpus)
{
    return mp_cluster_new(g, nodes, gpus);
}

static int set_layout(mp_cluster *c, int node, int k, const char *text)
{
    mig_layout l;
    fs_error err;
    if (mig_layout_parse(mp_cluster_gpu(c), text, &l, &err)) {
        fprintf(stderr, "bad test layout '%s': %s\n", text, err.msg);
        exit(1);
    }
    return mp_gpu_set_layout(c, node, k, &l, &err);
}

/* ---- names ---- */

static void test_names(void)
{
    for (int i = 0; i < MP_POLICY_COUNT; i++) CHECK_INT(mp_policy_from_name(mp_policy_name(i)), i);
    CHECK_STR(mp_policy_name(MP_MIG_AWARE), "mig_aware");
    CHECK(mp_policy_name(MP_POLICY_COUNT) == NULL);
    CHECK_INT(mp_policy_from_name("fgd"), -1);
}

/* ---- hand-checked sequences ---- */

/*
 * A100-SXM4-80GB, one GPU, 1g.10gb (1 compute, 1 memory slice, starts 0-6) one by one.
 * Larger profiles and weights (compute x memory slices): 1g.20gb 2 (starts 0,2,4,6), 2g.20gb 4
 * (0,2,4), 3g.40gb 12 (0,4), 4g.40gb 16 (0), 7g.80gb 56 (0). An empty GPU holds
 * 4x2 + 3x4 + 2x12 + 1x16 + 1x56 = 116.
 *   1st: slot 0-3 leave 3 1g.20gb + 2 2g + one 3g (at 4) = 6+8+12 = 26 (loss 90); slot 4 or 5
 *        keep the 4g too: 42 (loss 74); slot 6 keeps 3 1g.20gb, 3 2g, 3g at 0, 4g: 6+12+12+16 =
 *        46 (loss 70) -> slot 6.
 *   2nd: 46 before; slot 4: 1g.20gb 0,2 + 2g 0,2 + 3g 0 + 4g = 4+8+12+16 = 40 (loss 6), slot 5
 *        the same; slots 0-3 lose the 4g and the 3g -> slot 4.
 *   3rd: slot 5 takes nothing more (memory slice 5 sits in the 1g.20gb at 4, already lost): loss 0.
 *   4th: slots 0-3 all lose the 4g and the 3g (40 -> 6, loss 34): the lowest, 0.
 *   5th-7th: slot 1 keeps 1g.20gb and 2g at 2 (loss 0), then 2 and 3.
 * first_fit takes 0, 1, 2, ...: after three, the 4g.40gb (start 0 only) is refused and only a
 * 3g.40gb at slot 4 fits; after mig_aware's three the 4g fits at 0.
 */
static void test_a100_80_sequences(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    static const int aware[7] = {6, 4, 5, 0, 1, 2, 3}, first[7] = {0, 1, 2, 3, 4, 5, 6};

    mp_cluster *ff = pool(g, 1, 1), *ma = pool(g, 1, 1);
    sequence(ff, g, "1g.10gb", MP_FIRST_FIT, first, 3);
    sequence(ma, g, "1g.10gb", MP_MIG_AWARE, aware, 3);
    CHECK_NEAR(mp_frag(ff, prof(g, "4g.40gb")), 1.0, 0); /* 4 free slices, no 4g */
    CHECK_NEAR(mp_frag(ma, prof(g, "4g.40gb")), 0.0, 0); /* the 4g takes all four */
    REFUSE(ff, g, "4g.40gb", MP_FIRST_FIT);
    PLACE(ma, g, "4g.40gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
    mp_cluster_free(ma);

    /* mig_aware's three also keep a 3g.40gb at slot 0; first_fit's keep one at slot 4 */
    ma = pool(g, 1, 1);
    sequence(ma, g, "1g.10gb", MP_MIG_AWARE, aware, 3);
    PLACE(ma, g, "3g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 0);
    PLACE(ff, g, "3g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 4);
    mp_cluster_free(ma);
    mp_cluster_free(ff);

    /* The price of greed: after four, first_fit's 0-3 still hold a 3g at 4, mig_aware's 6,4,5,0
     * none. */
    ff = pool(g, 1, 1);
    ma = pool(g, 1, 1);
    sequence(ff, g, "1g.10gb", MP_FIRST_FIT, first, 4);
    sequence(ma, g, "1g.10gb", MP_MIG_AWARE, aware, 4);
    PLACE(ff, g, "3g.40gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 4);
    REFUSE(ma, g, "3g.40gb", MP_MIG_AWARE);
    mp_cluster_free(ff);
    mp_cluster_free(ma);

    /* all seven, then the eighth refused; best_fit on one GPU is first_fit */
    for (int pol = 0; pol < MP_POLICY_COUNT; pol++) {
        mp_cluster *c = pool(g, 1, 1);
        sequence(c, g, "1g.10gb", pol, pol == MP_MIG_AWARE ? aware : first, 7);
        REFUSE(c, g, "1g.10gb", pol);
        REFUSE(c, g, "1g.10gb+me", pol);
        mp_cluster_free(c);
    }
}

/*
 * Two GPUs: mig_aware fills one before opening the other. The 4th 1g.10gb costs 34 on GPU 0
 * (above) and 70 on the empty GPU 1, so it goes to GPU 0 slot 0; all seven go to GPU 0, and the
 * eighth opens GPU 1 at slot 6. first_fit does the same here, best_fit too (fewest unallocated).
 * With a 1g.10gb at GPU 0 slot 6 and a 4g.40gb wanted, mig_aware takes GPU 0 slot 0 (loss 0: the
 * 7g is gone there already) where it would cost 56 on GPU 1.
 */
static void test_a100_80_two_gpus(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    static const int aware[7] = {6, 4, 5, 0, 1, 2, 3};
    mp_cluster *c = pool(g, 1, 2);
    sequence(c, g, "1g.10gb", MP_MIG_AWARE, aware, 7);
    PLACE(c, g, "1g.10gb", MP_MIG_AWARE, MP_CREATE, 0, 1, 6);
    mp_cluster_free(c);

    c = pool(g, 1, 2);
    PLACE(c, g, "1g.10gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 6);
    PLACE(c, g, "4g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 0);
    PLACE(c, g, "7g.80gb", MP_MIG_AWARE, MP_CREATE, 0, 1, 0);
    /* GPU 0 has compute slices 4 and 5 left: a 1g at either loses the 1g.20gb and the 2g.20gb
     * at 4 (loss 2 + 4): the lower, 4; then 5, then nothing */
    PLACE(c, g, "1g.10gb+me", MP_MIG_AWARE, MP_CREATE, 0, 0, 4);
    PLACE(c, g, "1g.10gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 5);
    REFUSE(c, g, "1g.10gb", MP_MIG_AWARE);
    VALID(c);
    mp_cluster_free(c);
}

/*
 * A100-SXM4-40GB: its 1g.10gb takes two memory slices (starts 0,2,4,6, at most 4). Larger:
 * 2g.10gb (w 4, starts 0,2,4), 3g.20gb (12), 4g.20gb (16), 7g.40gb (56); empty: 12+24+16+56 = 108.
 *   1st: slot 0 or 2 leave 2 2g + 3g at 4 = 20; slot 4: 2g 0,2 + 3g 0 + 4g = 36; slot 6: 3 2g
 *        (the 2g at 4 holds compute 4-5, memory 4-5) + 3g 0 + 4g = 40 -> 6 (loss 68).
 *   2nd: slot 4: 36 (loss 4); 0 or 2 lose the 4g and the 3g -> 4.
 *   3rd: slot 0 or 2: 2g at the other one = 4 (loss 32) -> 0; 4th: 2. The 5th: refused (max 4).
 * 1g.5gb (one memory slice) follows the A100-80GB's 1g.10gb: 6,4,5,0,1,2,3.
 */
static void test_a100_40(void)
{
    const mig_gpu *g = gpu("A100-SXM4-40GB");
    static const int aware[4] = {6, 4, 0, 2}, first[4] = {0, 2, 4, 6};
    static const int aware5[7] = {6, 4, 5, 0, 1, 2, 3};
    mp_cluster *ff = pool(g, 1, 1), *ma = pool(g, 1, 1);
    sequence(ff, g, "1g.10gb", MP_FIRST_FIT, first, 1);
    sequence(ma, g, "1g.10gb", MP_MIG_AWARE, aware, 2);
    REFUSE(ff, g, "4g.20gb", MP_FIRST_FIT);   /* one 1g.10gb at 0 and the 4g is gone */
    PLACE(ma, g, "4g.20gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
    mp_cluster_free(ff);
    mp_cluster_free(ma);
    for (int pol = 0; pol < MP_POLICY_COUNT; pol++) {
        mp_cluster *c = pool(g, 1, 1);
        sequence(c, g, "1g.10gb", pol, pol == MP_MIG_AWARE ? aware : first, 4);
        REFUSE(c, g, "1g.10gb", pol); /* max_instances 4 */
        /* compute slices 1, 3 and 5 are free, but every memory slice is taken */
        REFUSE(c, g, "1g.5gb", pol);
        mp_cluster_free(c);
    }
    mp_cluster *c = pool(g, 1, 1);
    sequence(c, g, "1g.5gb", MP_MIG_AWARE, aware5, 7);
    mp_cluster_free(c);
}

/*
 * H100-SXM (the A100-80GB's geometry). 3g.40gb: larger are 4g.40gb (w 16) and 7g.80gb (56); at
 * slot 0 it loses both (72), at slot 4 only the 7g (56) -> slot 4, and the 4g then fits at 0;
 * first_fit takes slot 0 and refuses the 4g.
 * 2g.20gb: larger are 3g (12), 4g (16), 7g (56), empty 96. Slot 0 or 2: the 3g at 4 is left, 12
 * (loss 84); slot 4: 3g at 0 and the 4g, 28 (loss 68) -> 4; then 0 (both lose 28) and 2.
 */
static void test_h100(void)
{
    const mig_gpu *g = gpu("H100-SXM");
    mp_cluster *ff = pool(g, 1, 1), *ma = pool(g, 1, 1);
    PLACE(ff, g, "3g.40gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
    PLACE(ma, g, "3g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 4);
    REFUSE(ff, g, "4g.40gb", MP_MIG_AWARE);
    PLACE(ma, g, "4g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 0);
    VALID(ma);
    mp_cluster_free(ff);
    mp_cluster_free(ma);

    static const int aware[3] = {4, 0, 2}, first[3] = {0, 2, 4};
    ff = pool(g, 1, 1);
    ma = pool(g, 1, 1);
    sequence(ff, g, "2g.20gb", MP_FIRST_FIT, first, 3);
    sequence(ma, g, "2g.20gb", MP_MIG_AWARE, aware, 3);
    REFUSE(ff, g, "2g.20gb", MP_FIRST_FIT);
    REFUSE(ma, g, "2g.20gb", MP_MIG_AWARE);
    PLACE(ff, g, "1g.10gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 6);
    mp_cluster_free(ff);
    mp_cluster_free(ma);

    ma = pool(g, 1, 1);
    PLACE(ma, g, "2g.20gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 4);
    PLACE(ma, g, "4g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 0);
    mp_cluster_free(ma);
}

/* H200-SXM: 1g.18gb as the A100-80GB's 1g.10gb; its +me variant fits once per GPU, then is
 * reused after a release, and a second +me goes to the other GPU. */
static void test_h200(void)
{
    const mig_gpu *g = gpu("H200-SXM");
    static const int aware[7] = {6, 4, 5, 0, 1, 2, 3};
    mp_cluster *c = pool(g, 1, 1);
    sequence(c, g, "1g.18gb", MP_MIG_AWARE, aware, 7);
    REFUSE(c, g, "1g.18gb", MP_MIG_AWARE);
    mp_cluster_free(c);

    c = pool(g, 1, 2);
    PLACE(c, g, "1g.18gb+me", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
    PLACE(c, g, "1g.18gb+me", MP_FIRST_FIT, MP_CREATE, 0, 1, 0); /* max_instances 1 per GPU */
    REFUSE(c, g, "1g.18gb+me", MP_FIRST_FIT);
    PLACE(c, g, "1g.18gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 1);
    mp_release(c, &(mp_where){0, 1, 0});
    PLACE(c, g, "1g.18gb+me", MP_MIG_AWARE, MP_REUSE, 0, 1, 0);
    /* 3g.71gb: both GPUs hold a +me at 0, so slot 4 only, at loss 0 (4g.71gb and 7g.141gb are gone
     * on both); GPU 0 (1g.18gb at 1 too) has fewer idle slices */
    PLACE(c, g, "3g.71gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 4);
    VALID(c);
    mp_cluster_free(c);
}

/*
 * best_fit against first_fit. Creation: GPU 0 holds a 1g.10gb at 0 (6 unallocated), GPU 1 a
 * 4g.40gb (3 unallocated); a 2g.20gb goes to GPU 0 slot 2 by first_fit and to GPU 1 slot 4 by
 * best_fit. mig_aware agrees with first_fit here, for its own reason: GPU 0 slot 2 keeps GPU 0's
 * 3g.40gb at 4 (loss 0), where GPU 0 slot 4 or GPU 1 slot 4 would lose a 3g (12). Reuse: GPU 0 has a free 1g.10gb at 0 (7 idle slices), GPU 1 a 3g.40gb in use at 0
 * and a free 1g.10gb at 4 (4 idle): first_fit reuses GPU 0's, best_fit and mig_aware GPU 1's.
 */
static void test_best_fit(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    for (int pol = 0; pol < MP_POLICY_COUNT; pol++) {
        mp_cluster *c = pool(g, 1, 2);
        PLACE(c, g, "1g.10gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
        PLACE(c, g, "4g.40gb", MP_FIRST_FIT, MP_CREATE, 0, 1, 0);
        if (pol != MP_BEST_FIT) PLACE(c, g, "2g.20gb", pol, MP_CREATE, 0, 0, 2);
        else PLACE(c, g, "2g.20gb", pol, MP_CREATE, 0, 1, 4);
        mp_cluster_free(c);

        c = pool(g, 1, 2);
        CHECK_INT(set_layout(c, 0, 0, "1g.10gb"), 0);
        CHECK_INT(set_layout(c, 0, 1, "1g.10gb,3g.40gb"), 0); /* 3g at 0, 1g at 4 */
        PLACE(c, g, "3g.40gb", pol, MP_REUSE, 0, 1, 0);
        if (pol == MP_FIRST_FIT) PLACE(c, g, "1g.10gb", pol, MP_REUSE, 0, 0, 0);
        else PLACE(c, g, "1g.10gb", pol, MP_REUSE, 0, 1, 4);
        VALID(c);
        mp_cluster_free(c);
    }
}

/* A released instance stays and is reused, before any creation; an instance of another
 * profile is not. */
static void test_reuse(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    mp_cluster *c = pool(g, 1, 1);
    PLACE(c, g, "2g.20gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 4);
    PLACE(c, g, "2g.20gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 0);
    mp_release(c, &(mp_where){0, 0, 4});
    mig_layout l;
    unsigned used;
    CHECK_INT(mp_gpu_layout(c, 0, 0, &l, &used), 2);
    CHECK_INT(used, 1u); /* the 2g at 0 (first in start order) */
    CHECK_INT(mp_node_used(c, 0), 1);
    for (int pol = 0; pol < MP_POLICY_COUNT; pol++) {
        PLACE(c, g, "2g.20gb", pol, MP_REUSE, 0, 0, 4);
        mp_release(c, &(mp_where){0, 0, 4});
    }
    /* a 1g.20gb does not take the free 2g: it is created at 2 (first_fit) */
    PLACE(c, g, "1g.20gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 2);
    PLACE(c, g, "1g.10gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 6);
    REFUSE(c, g, "1g.10gb", MP_FIRST_FIT); /* compute slice 3 is free, its memory slice is not */
    CHECK_INT(mp_gpu_layout(c, 0, 0, &l, &used), 4);
    VALID(c);
    mp_cluster_free(c);
}

/*
 * Repartitioning: only when allowed, only a GPU with every instance free, only when neither a
 * free instance nor unallocated slices fit; the node to drain, the instances destroyed and the
 * replicas disturbed are reported; the node with the fewest instances in use goes first.
 */
static void test_repartition(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    mp_cluster *c = pool(g, 1, 1);
    PLACE(c, g, "3g.40gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
    mp_release(c, &(mp_where){0, 0, 0});
    /* slot 3's memory slice is the free 3g's: 4 is the first fit */
    PLACE(c, g, "1g.10gb", MP_FIRST_FIT, MP_CREATE, 0, 0, 4);
    REFUSE(c, g, "4g.40gb", MP_FIRST_FIT);
    mp_cluster_set_repartition(c, true);
    REFUSE(c, g, "4g.40gb", MP_FIRST_FIT); /* the 1g.10gb is in use */
    mp_release(c, &(mp_where){0, 0, 4});
    mp_placement o;
    CHECK_INT(mp_place(c, prof(g, "4g.40gb"), MP_FIRST_FIT, &o), 0);
    CHECK_INT(o.action, MP_REPARTITION);
    CHECK_INT(o.drain_node, 0);
    CHECK_INT(o.disturbed, 0);
    CHECK_INT(o.where.start, 0);
    CHECK_INT(o.destroyed.n, 2);
    CHECK(o.destroyed.inst[0] == prof(g, "3g.40gb") && o.destroyed.start[0] == 0);
    CHECK(o.destroyed.inst[1] == prof(g, "1g.10gb") && o.destroyed.start[1] == 4);
    mig_layout l;
    unsigned used;
    CHECK_INT(mp_gpu_layout(c, 0, 0, &l, &used), 1);
    CHECK(l.inst[0] == prof(g, "4g.40gb") && used == 1u);
    VALID(c);
    mp_cluster_free(c);

    /* Not while creation fits elsewhere. GPU 0: seven free 1g.10gb; GPU 1 bare. */
    c = pool(g, 1, 2);
    mp_cluster_set_repartition(c, true);
    CHECK_INT(set_layout(c, 0, 0, "all-1g.10gb"), 0);
    PLACE(c, g, "4g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 1, 0);
    PLACE(c, g, "3g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 1, 4);
    /* now a 2g.20gb only fits by repartitioning GPU 0; mig_aware puts it at 4 on the empty GPU,
     * and the drain disturbs GPU 1's two replicas */
    CHECK_INT(mp_place(c, prof(g, "2g.20gb"), MP_MIG_AWARE, &o), 0);
    CHECK_INT(o.action, MP_REPARTITION);
    CHECK_INT(o.where.gpu, 0);
    CHECK_INT(o.where.start, 4);
    CHECK_INT(o.destroyed.n, 7);
    CHECK_INT(o.disturbed, 2);
    VALID(c);
    mp_cluster_free(c);

    /* The node with the fewest instances in use first, then index order; down nodes never. */
    c = pool(g, 2, 2);
    mp_cluster_set_repartition(c, true);
    CHECK_INT(set_layout(c, 0, 0, "all-1g.10gb"), 0);
    CHECK_INT(set_layout(c, 0, 1, "7g.80gb"), 0);
    CHECK_INT(set_layout(c, 1, 0, "all-1g.10gb"), 0);
    CHECK_INT(set_layout(c, 1, 1, "all-1g.10gb"), 0);
    PLACE(c, g, "7g.80gb", MP_FIRST_FIT, MP_REUSE, 0, 1, 0);
    CHECK_INT(mp_place(c, prof(g, "7g.80gb"), MP_FIRST_FIT, &o), 0);
    CHECK(o.action == MP_REPARTITION && o.where.node == 1 && o.where.gpu == 0 && o.disturbed == 0);
    /* node 0 and node 1 now have one in use each: node 0 first */
    CHECK_INT(mp_place(c, prof(g, "7g.80gb"), MP_BEST_FIT, &o), 0);
    CHECK(o.action == MP_REPARTITION && o.where.node == 0 && o.where.gpu == 0 && o.disturbed == 1);
    mp_node_set_down(c, 1, true);
    REFUSE(c, g, "7g.80gb", MP_MIG_AWARE);
    REFUSE(c, g, "1g.10gb", MP_MIG_AWARE); /* node 1's free 1g.10gb are not offered either */
    mp_node_set_down(c, 1, false);
    PLACE(c, g, "1g.10gb", MP_MIG_AWARE, MP_REUSE, 1, 1, 0);
    CHECK_INT(mp_place(c, prof(g, "7g.80gb"), MP_MIG_AWARE, &o), -1); /* n1g1 has one in use now */
    CHECK_INT(o.where.node, -1);
    VALID(c);
    mp_cluster_free(c);
}

/*
 * Counters. A100-80GB, 1 node x 2 GPUs; a 1g.10gb by mig_aware at GPU 0 slot 6:
 *   unallocated 6 + 7 = 13; frag(7g) = (13 - 7) / 13 (only GPU 1 takes one); frag(3g): GPU 0 takes
 *   one (slot 0), GPU 1 two: 13 - 9 = 4 -> 4/13; frag(1g.10gb) = 0.
 * Released, then a 4g.40gb: at GPU 0 slot 0 (loss 0 there, 56 on GPU 1); GPU 0 has 2 unallocated
 *   slices (4, 5), 9 in all; frag(3g): none fits GPU 0, two fit GPU 1: (9 - 6) / 9.
 */
static void test_counters(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    mp_cluster *c = pool(g, 1, 2);
    mp_totals t;
    mp_cluster_totals(c, &t);
    CHECK(t.gpus == 2 && t.gpus_bare == 2 && t.gpus_free == 2 && t.instances == 0);
    CHECK_NEAR(t.frag, 0.0, 0);
    PLACE(c, g, "1g.10gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 6);
    mp_cluster_totals(c, &t);
    CHECK_INT(t.gpus, 2);
    CHECK_INT(t.gpus_bare, 1);
    CHECK_INT(t.gpus_free, 1);
    CHECK_INT(mp_free_gpus(c), 1);
    CHECK_INT(t.instances, 1);
    CHECK_INT(t.instances_used, 1);
    CHECK_INT(t.per_profile[prof(g, "1g.10gb") - g->profiles], 1);
    CHECK_INT(t.per_profile_used[prof(g, "1g.10gb") - g->profiles], 1);
    CHECK_INT(t.compute_slices, 14);
    CHECK_INT(t.compute_unallocated, 13);
    CHECK_INT(t.compute_used, 1);
    CHECK_NEAR(t.frag, 6.0 / 13, 1e-12);
    CHECK_NEAR(mp_frag(c, prof(g, "7g.80gb")), 6.0 / 13, 1e-12);
    CHECK_NEAR(mp_frag(c, prof(g, "3g.40gb")), 4.0 / 13, 1e-12);
    CHECK_NEAR(mp_frag(c, prof(g, "1g.10gb")), 0.0, 0);
    /* a +me instance fits once per GPU: one slice of each GPU's free ones serves it */
    CHECK_NEAR(mp_frag(c, prof(g, "1g.10gb+me")), 11.0 / 13, 1e-12);

    PLACE(c, g, "1g.10gb+me", MP_FIRST_FIT, MP_CREATE, 0, 0, 0);
    CHECK_NEAR(mp_frag(c, prof(g, "1g.10gb+me")), 11.0 / 12, 1e-12); /* 5 + 7 free, GPU 1 takes one */
    mp_release(c, &(mp_where){0, 0, 0});
    CHECK_INT(set_layout(c, 0, 0, "1g.10gb"), -1); /* the 1g.10gb at 6 is in use */
    mp_release(c, &(mp_where){0, 0, 6});
    CHECK_INT(set_layout(c, 0, 0, "1g.10gb"), 0);   /* the +me at 0 goes, a 1g.10gb at 0 comes */
    CHECK_INT(set_layout(c, 0, 0, "all-1g.10gb"), 0);
    mig_layout bare = {.gpu = g};
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bare, NULL), 0);
    PLACE(c, g, "1g.10gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 6);
    mp_release(c, &(mp_where){0, 0, 6});
    CHECK_INT(mp_free_gpus(c), 2);
    PLACE(c, g, "4g.40gb", MP_MIG_AWARE, MP_CREATE, 0, 0, 0);
    mp_cluster_totals(c, &t);
    CHECK_INT(t.gpus_bare, 1);
    CHECK_INT(t.gpus_free, 1);
    CHECK_INT(t.instances, 2);
    CHECK_INT(t.instances_used, 1);
    CHECK_INT(t.per_profile[prof(g, "1g.10gb") - g->profiles], 1);
    CHECK_INT(t.per_profile_used[prof(g, "1g.10gb") - g->profiles], 0);
    CHECK_INT(t.per_profile_used[prof(g, "4g.40gb") - g->profiles], 1);
    CHECK_INT(t.compute_unallocated, 9);
    CHECK_INT(t.compute_used, 4);
    CHECK_NEAR(mp_frag(c, prof(g, "3g.40gb")), 3.0 / 9, 1e-12);
    CHECK_NEAR(t.frag, 2.0 / 9, 1e-12); /* GPU 0's two slices */
    mp_cluster_free(c);
}

/* Layouts set from mig-parted's spelling, and what is refused. */
static void test_set_layout(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    mp_cluster *c = pool(g, 1, 1);
    fs_error err;
    /* mig_layout_place puts it as 2g at 0, 1g at 2 and 3, 3g at 4 */
    CHECK_INT(set_layout(c, 0, 0, "3g.40gb,2g.20gb,1g.10gb,1g.10gb"), 0);
    mig_layout l;
    unsigned used;
    CHECK_INT(mp_gpu_layout(c, 0, 0, &l, &used), 4);
    CHECK_INT(used, 0u);
    CHECK(l.inst[0] == prof(g, "2g.20gb") && l.start[0] == 0 && l.inst[3] == prof(g, "3g.40gb") && l.start[3] == 4);
    VALID(c);
    PLACE(c, g, "2g.20gb", MP_FIRST_FIT, MP_REUSE, 0, 0, 0);
    CHECK_INT(set_layout(c, 0, 0, "all-1g.10gb"), -1);
    mig_layout bad = {.gpu = g, .n = 2, .inst = {prof(g, "3g.40gb"), prof(g, "2g.20gb")}, .start = {0, 2}};
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bad, &err), -1);
    CHECK_CONTAINS(err.msg, "in use");
    mp_release(c, &(mp_where){0, 0, 0});
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bad, &err), -1);
    CHECK_CONTAINS(err.msg, "2g.20gb at slot 2 shares a compute slice");
    bad = (mig_layout){.gpu = g, .n = 1, .inst = {prof(g, "3g.40gb")}, .start = {2}};
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bad, &err), -1);
    CHECK_CONTAINS(err.msg, "3g.40gb cannot start at slot 2");
    bad = (mig_layout){.gpu = g, .n = 2, .inst = {prof(g, "1g.10gb+me"), prof(g, "1g.10gb+me")}, .start = {0, 1}};
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bad, &err), -1);
    CHECK_CONTAINS(err.msg, "too many 1g.10gb+me instances");
    bad = (mig_layout){.gpu = gpu("H100-SXM"), .n = 0};
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bad, &err), -1);
    CHECK_CONTAINS(err.msg, "layout for H100-SXM given to a pool of A100-SXM4-80GB");
    CHECK_INT(mp_gpu_layout(c, 0, 0, &l, &used), 4); /* unchanged */
    bad = (mig_layout){.gpu = g, .n = 0};
    CHECK_INT(mp_gpu_set_layout(c, 0, 0, &bad, &err), 0);
    CHECK_INT(mp_gpu_layout(c, 0, 0, &l, &used), 0);
    VALID(c);
    mp_cluster_free(c);
}

/* ---- the reference: every candidate scored from the layouts alone ---------------------------- */

typedef struct ref_gpu {
    mig_layout l;
    unsigned used;
} ref_gpu;

typedef struct ref_pool {
    const mig_gpu *g;
    int nodes, per;
    ref_gpu *gp;
    bool *down;
    bool repart;
} ref_pool;

static unsigned rspan(int s, int n) { return ((1u << n) - 1) << s; }

/* Masks of a layout, optionally with one more instance. */
static void masks(const mig_layout *l, unsigned *cm, unsigned *mm)
{
    *cm = *mm = 0;
    for (int i = 0; i < l->n; i++) {
        *cm |= rspan(l->start[i], l->inst[i]->compute_slices);
        *mm |= rspan(l->start[i], l->inst[i]->memory_slices);
    }
}

static int count_in(const mig_layout *l, const mig_profile *p)
{
    int n = 0;
    for (int i = 0; i < l->n; i++) n += l->inst[i] == p;
    return n;
}

static bool ref_fits(const mig_layout *l, const mig_profile *p, int s)
{
    if (s + p->compute_slices > MIG_COMPUTE_SLICES || s + p->memory_slices > MIG_MEMORY_SLICES) return false;
    if (!(p->starts >> s & 1u) || count_in(l, p) >= p->max_instances) return false;
    unsigned cm, mm;
    masks(l, &cm, &mm);
    return !(cm & rspan(s, p->compute_slices)) && !(mm & rspan(s, p->memory_slices));
}

/* The most new instances of q: every subset of its starts, by brute force. */
static int ref_cap(const mig_layout *l, const mig_profile *q)
{
    unsigned cm0, mm0;
    masks(l, &cm0, &mm0);
    int best = 0, room = q->max_instances - count_in(l, q);
    for (unsigned set = 1; set < 256; set++) {
        if ((set & q->starts) != set) continue;
        unsigned cm = cm0, mm = mm0;
        int n = 0;
        bool ok = true;
        for (int s = 0; s < 8 && ok; s++) {
            if (!(set >> s & 1u)) continue;
            unsigned c = rspan(s, q->compute_slices), m = rspan(s, q->memory_slices);
            if ((c & cm) || (m & mm) || s + q->compute_slices > MIG_COMPUTE_SLICES) ok = false;
            cm |= c, mm |= m, n++;
        }
        if (ok && n <= room && n > best) best = n;
    }
    return best;
}

static int ref_loss(const mig_layout *l, const mig_profile *p, int s)
{
    const mig_gpu *g = l->gpu;
    mig_layout after = *l;
    after.inst[after.n] = p;
    after.start[after.n++] = s;
    int loss = 0;
    for (int i = 0; i < g->nprofiles; i++) {
        const mig_profile *q = &g->profiles[i];
        bool bigger = q->compute_slices >= p->compute_slices && q->memory_slices >= p->memory_slices &&
                      (q->compute_slices > p->compute_slices || q->memory_slices > p->memory_slices);
        if (bigger) loss += q->compute_slices * q->memory_slices * (ref_cap(l, q) - ref_cap(&after, q));
    }
    return loss;
}

static int ref_idle(const ref_gpu *r)
{
    int busy = 0;
    for (int i = 0; i < r->l.n; i++)
        if (r->used >> i & 1u) busy += r->l.inst[i]->compute_slices;
    return MIG_COMPUTE_SLICES - busy;
}

static int ref_unalloc(const ref_gpu *r)
{
    unsigned cm, mm;
    masks(&r->l, &cm, &mm);
    return MIG_COMPUTE_SLICES - __builtin_popcount(cm);
}

static void ref_load(ref_pool *rp, const mp_cluster *c)
{
    for (int n = 0; n < rp->nodes; n++)
        for (int k = 0; k < rp->per; k++) mp_gpu_layout(c, n, k, &rp->gp[n * rp->per + k].l, &rp->gp[n * rp->per + k].used);
}

/* What the rules of migplace.h choose: 0 with action and where, or -1. */
static int ref_choose(const ref_pool *rp, const mig_profile *p, enum mp_policy pol, int *action, mp_where *w)
{
    /* reuse */
    int best = -1;
    long bkey = 0;
    for (int n = 0; n < rp->nodes; n++) {
        if (rp->down[n]) continue;
        for (int k = 0; k < rp->per; k++) {
            const ref_gpu *r = &rp->gp[n * rp->per + k];
            for (int i = 0; i < r->l.n; i++) {
                if (r->l.inst[i] != p || (r->used >> i & 1u)) continue;
                long key = pol == MP_FIRST_FIT ? 0 : ref_idle(r);
                if (best < 0 || key < bkey) best = 1, bkey = key, *w = (mp_where){n, k, r->l.start[i]};
            }
        }
    }
    if (best >= 0) {
        *action = MP_REUSE;
        return 0;
    }
    /* create: keys (a, b) lower first, then visit order */
    long ka = 0, kb = 0;
    for (int n = 0; n < rp->nodes; n++) {
        if (rp->down[n]) continue;
        for (int k = 0; k < rp->per; k++) {
            const ref_gpu *r = &rp->gp[n * rp->per + k];
            for (int s = 0; s < 8; s++) {
                if (!ref_fits(&r->l, p, s)) continue;
                long a = 0, b = 0;
                if (pol == MP_BEST_FIT) a = ref_unalloc(r), b = ref_idle(r);
                if (pol == MP_MIG_AWARE) a = ref_loss(&r->l, p, s), b = ref_idle(r) - p->compute_slices;
                if (best < 0 || a < ka || (a == ka && b < kb)) best = 1, ka = a, kb = b, *w = (mp_where){n, k, s};
            }
        }
    }
    if (best >= 0) {
        *action = MP_CREATE;
        return 0;
    }
    if (!rp->repart) return -1;
    /* repartition: fewest in use on the node, then order */
    long bused = 0;
    for (int n = 0; n < rp->nodes; n++) {
        if (rp->down[n]) continue;
        int used = 0;
        for (int k = 0; k < rp->per; k++) used += __builtin_popcount(rp->gp[n * rp->per + k].used);
        for (int k = 0; k < rp->per; k++) {
            const ref_gpu *r = &rp->gp[n * rp->per + k];
            if (r->l.n == 0 || r->used) continue;
            if (best < 0 || used < bused) best = 1, bused = used, *w = (mp_where){n, k, -1};
        }
    }
    if (best < 0) return -1;
    mig_layout empty = {.gpu = rp->g};
    int bs = -1, bl = 0;
    for (int s = 0; s < 8; s++) {
        if (!ref_fits(&empty, p, s)) continue;
        int loss = pol == MP_MIG_AWARE ? ref_loss(&empty, p, s) : 0;
        if (bs < 0 || loss < bl) bs = s, bl = loss;
    }
    w->start = bs;
    *action = MP_REPARTITION;
    return 0;
}

/* Each GPU a valid layout by gpu/mig.h, checked here without the module's masks. */
static int layouts_valid(const ref_pool *rp)
{
    for (int i = 0; i < rp->nodes * rp->per; i++) {
        const mig_layout *l = &rp->gp[i].l;
        unsigned cm = 0, mm = 0;
        for (int j = 0; j < l->n; j++) {
            const mig_profile *p = l->inst[j];
            int s = l->start[j];
            if (!(p->starts >> s & 1u)) return 0;
            unsigned c = rspan(s, p->compute_slices), m = rspan(s, p->memory_slices);
            if ((c & cm) || (m & mm) || c >= 1u << MIG_COMPUTE_SLICES || m >= 1u << MIG_MEMORY_SLICES) return 0;
            cm |= c, mm |= m;
        }
        mig_layout copy = *l;
        fs_error err;
        if (l->n > 0 && mig_layout_place(&copy, &err)) return 0;
    }
    return 1;
}

typedef struct held {
    mp_where w;
    const mig_profile *p;
} held;

typedef struct layouts {
    mig_layout *v;
    size_t n;
} layouts;

static void collect(const mig_layout *l, void *arg)
{
    layouts *ls = arg;
    ls->v[ls->n++] = *l;
}

/*
 * Thousands of random operations on a small pool (2 nodes x 3 GPUs, so it fills and
 * repartitions): place a random profile by a random policy, release a random replica, now and
 * then set an all-free GPU to a random valid layout, take a node down or up, allow or forbid
 * repartitioning. Every result must match the reference, every state be valid, and what the
 * test holds match what the pool marks in use.
 */
static void random_run(const mig_gpu *g, uint64_t seed, int ops, uint64_t *digest)
{
    enum { NODES = 2, PER = 3 };
    fs_rng *r = fs_rng_new(seed, FS_STREAM_PLACEMENT, 1);
    mp_cluster *c = pool(g, NODES, PER);
    ref_gpu gp[NODES * PER];
    bool down[NODES] = {false, false};
    ref_pool rp = {g, NODES, PER, gp, down, false};
    held h[NODES * PER * MIG_MAX_INSTANCES];
    int nh = 0, mismatches = 0, invalid = 0, counts[3] = {0}, refused = 0;
    layouts ls = {fs_xcalloc(mig_enumerate(g, NULL, NULL), sizeof(mig_layout)), 0};
    mig_enumerate(g, collect, &ls);
    *digest = 1469598103934665603ull;
    for (int op = 0; op < ops; op++) {
        if (op % 500 == 250) {
            rp.repart = !rp.repart;
            mp_cluster_set_repartition(c, rp.repart);
        }
        double u = fs_rng_uniform(r);
        if (u < 0.01) {
            int n = (int)gsl_rng_uniform_int(r, NODES);
            down[n] = !down[n];
            mp_node_set_down(c, n, down[n]);
        } else if (u < 0.03) {
            int n = (int)gsl_rng_uniform_int(r, NODES), k = (int)gsl_rng_uniform_int(r, PER);
            const mig_layout *l = &ls.v[gsl_rng_uniform_int(r, ls.n)];
            bool busy = false;
            for (int i = 0; i < nh; i++) busy = busy || (h[i].w.node == n && h[i].w.gpu == k);
            fs_error err;
            CHECK_INT(mp_gpu_set_layout(c, n, k, l, &err), busy ? -1 : 0);
        } else if (u < 0.53 && nh > 0) {
            int i = (int)gsl_rng_uniform_int(r, (unsigned long)nh);
            mp_release(c, &h[i].w);
            h[i] = h[--nh];
        } else {
            const mig_profile *p = &g->profiles[gsl_rng_uniform_int(r, (unsigned long)g->nprofiles)];
            enum mp_policy pol = (enum mp_policy)gsl_rng_uniform_int(r, MP_POLICY_COUNT);
            ref_load(&rp, c);
            int want_action = -1;
            mp_where want = {-1, -1, -1};
            int want_rc = ref_choose(&rp, p, pol, &want_action, &want);
            mig_layout before = gp[0].l; /* replaced below when the choice is known */
            if (want_rc == 0) before = gp[want.node * PER + want.gpu].l;
            mp_placement o;
            int rc = mp_place(c, p, pol, &o);
            bool same = rc == want_rc && (rc < 0 || ((int)o.action == want_action && o.where.node == want.node &&
                                                     o.where.gpu == want.gpu && o.where.start == want.start));
            if (rc == 0 && o.action == MP_REPARTITION) {
                same = same && o.drain_node == o.where.node && o.destroyed.n == before.n;
                for (int i = 0; i < before.n && i < o.destroyed.n; i++)
                    same = same && o.destroyed.inst[i] == before.inst[i] && o.destroyed.start[i] == before.start[i];
            }
            if (!same && mismatches++ < 5)
                fprintf(stderr, "  op %d: %s by %s: got rc %d action %d at %d/%d/%d, reference rc %d action %d at %d/%d/%d\n",
                        op, p->name, mp_policy_name(pol), rc, o.action, o.where.node, o.where.gpu, o.where.start,
                        want_rc, want_action, want.node, want.gpu, want.start);
            if (rc == 0) {
                h[nh++] = (held){o.where, p};
                counts[o.action]++;
                *digest = (*digest ^ (uint64_t)(o.action * 1000 + o.where.node * 100 + o.where.gpu * 10 + o.where.start)) *
                          1099511628211ull;
            } else {
                refused++;
            }
        }
        /* the state: valid, and in use exactly where the test holds replicas */
        ref_load(&rp, c);
        fs_error err;
        if (mp_check(c, &err) || !layouts_valid(&rp)) {
            if (invalid++ < 5) fprintf(stderr, "  op %d: invalid state: %s\n", op, err.msg);
        }
        int in_use = 0;
        for (int i = 0; i < NODES * PER; i++) in_use += __builtin_popcount(gp[i].used);
        if (in_use != nh && invalid++ < 5) fprintf(stderr, "  op %d: %d in use, %d held\n", op, in_use, nh);
        for (int i = 0; i < nh; i++) {
            const ref_gpu *rg = &gp[h[i].w.node * PER + h[i].w.gpu];
            bool found = false;
            for (int j = 0; j < rg->l.n; j++)
                found = found || (rg->l.start[j] == h[i].w.start && rg->l.inst[j] == h[i].p && (rg->used >> j & 1u));
            if (!found && invalid++ < 5) fprintf(stderr, "  op %d: held instance not in use\n", op);
        }
    }
    CHECK_INT(mismatches, 0);
    CHECK_INT(invalid, 0);
    /* the run visited every stage */
    CHECK(counts[MP_REUSE] > 0 && counts[MP_CREATE] > 0 && counts[MP_REPARTITION] > 0 && refused > 0);
    fprintf(stderr, "  %s: %d reuse, %d create, %d repartition, %d refused\n", g->name, counts[MP_REUSE],
            counts[MP_CREATE], counts[MP_REPARTITION], refused);
    free(ls.v);
    mp_cluster_free(c);
    fs_rng_free(r);
}

static void test_random(void)
{
    static const char *const names[] = {"A100-SXM4-40GB", "A100-SXM4-80GB", "H100-SXM", "H100-PCIe", "H200-SXM"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t d1, d2;
        random_run(gpu(names[i]), 42 + i, 4000, &d1);
        random_run(gpu(names[i]), 42 + i, 4000, &d2);
        CHECK(d1 == d2); /* same seed, same choices */
    }
}

/*
 * A large pool (1,000 nodes x 8 GPUs): mixed placements and releases by mig_aware stay valid and
 * take little time; the cache holds few layouts however many GPUs share them.
 */
static void test_large_pool(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    mp_cluster *c = pool(g, 1000, 8);
    fs_rng *r = fs_rng_new(7, FS_STREAM_PLACEMENT, 2);
    static mp_where held_w[20000];
    int nh = 0, placed = 0, refused = 0;
    static const char *const mix[] = {"1g.10gb", "1g.10gb", "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb",
                                      "7g.80gb"};
    clock_t t0 = clock();
    for (int op = 0; op < 6000; op++) {
        if (nh > 0 && fs_rng_uniform(r) < 0.3) {
            int i = (int)gsl_rng_uniform_int(r, (unsigned long)nh);
            mp_release(c, &held_w[i]);
            held_w[i] = held_w[--nh];
            continue;
        }
        mp_placement o;
        const mig_profile *p = prof(g, mix[gsl_rng_uniform_int(r, sizeof mix / sizeof mix[0])]);
        if (mp_place(c, p, MP_MIG_AWARE, &o) == 0) held_w[nh++] = o.where, placed++;
        else refused++;
    }
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    mp_totals t;
    mp_cluster_totals(c, &t);
    CHECK_INT(t.instances_used, nh);
    CHECK_INT(refused, 0); /* the pool is far from full */
    VALID(c);
    fprintf(stderr, "  %d placements on 8000 GPUs in %.3f s of CPU; %d GPUs free, frag(7g) %.3f\n", placed, s,
            t.gpus_free, t.frag);
    mp_cluster_free(c);
    fs_rng_free(r);
}

int main(void)
{
    fs_error err;
    mt = mig_table_new(&err);
    if (!mt) {
        char buf[1024];
        fprintf(stderr, "%s\n", fs_error_format(&err, buf, sizeof buf));
        return 1;
    }
    RUN(test_names);
    RUN(test_a100_80_sequences);
    RUN(test_a100_80_two_gpus);
    RUN(test_a100_40);
    RUN(test_h100);
    RUN(test_h200);
    RUN(test_best_fit);
    RUN(test_reuse);
    RUN(test_repartition);
    RUN(test_counters);
    RUN(test_set_layout);
    RUN(test_random);
    RUN(test_large_pool);
    mig_table_free(mt);
    return DONE();
}
