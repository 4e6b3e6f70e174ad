/*
 * mig.h — Multi-Instance GPU: the profiles each GPU type offers, and which layouts of them fit.
 *
 * Geometry (NVIDIA's MIG User Guide): a GPU has 7 compute slices and 8 memory slices. A
 * profile such as 3g.40gb takes 3 compute and 4 memory slices, may start only at its allowed
 * start slots (3g: 0 or 4), and fits at most max_instances times. Start slots index memory
 * slices (NVML's placement start); the compute slices taken begin at the same index, so a 3g at
 * slot 4 holds compute slices 4-6 and memory slices 4-7. Instances of a layout may not share a
 * slice. Each GPU type names its own profiles: 1g.10gb is one memory slice on an A100-SXM4-80GB
 * and two on an A100-SXM4-40GB. `+me` profiles add the media engines and fit once per GPU.
 *
 * The facts (slices, start slots, maximum instances, memory and SMs per profile, with their
 * sources) live in gpu/data/mig.json, compiled into the binary; mig_table_new reads and checks
 * them. GPU types are named as in the catalog (catalog.h); a type absent from the table has no
 * MIG geometry here, whatever its catalog entry says.
 *
 * Instances have no peer-to-peer link: one replica cannot span instances (mig_check_tp).
 *
 * Ownership: a mig_table owns its GPU and profile entries; every pointer it hands out (mig_gpu,
 * mig_profile, and those inside a mig_layout) stays valid until mig_table_free. A mig_layout is
 * plain caller-owned data.
 */
#ifndef FS_MIG_H
#define FS_MIG_H

#include <stddef.h>

#include "fs_error.h"
#include "share.h"

#define MIG_COMPUTE_SLICES 7
#define MIG_MEMORY_SLICES 8
#define MIG_MAX_INSTANCES 7 /* one per compute slice */
#define MIG_MAX_PROFILES 16 /* per GPU type */

typedef struct mig_profile {
    char name[24];        /* "3g.40gb", "1g.10gb+me" */
    int compute_slices;   /* of MIG_COMPUTE_SLICES */
    int memory_slices;    /* of MIG_MEMORY_SLICES */
    int max_instances;    /* how many fit on an otherwise empty GPU */
    unsigned starts;      /* bit s set: the profile may start at slot s */
    double memory_bytes;  /* what the instance's device reports (nvidia-smi mig -lgip) */
    int sms;              /* streaming multiprocessors of the instance */
} mig_profile;

typedef struct mig_gpu {
    char name[64];        /* the catalog's canonical name: "A100-SXM4-80GB" */
    int sm_count;         /* SMs of the whole GPU with MIG off */
    int nprofiles;
    mig_profile profiles[MIG_MAX_PROFILES];
} mig_gpu;

typedef struct mig_table mig_table;

/* The shipped table. Returns NULL only if the embedded data is broken (a build bug). */
mig_table *mig_table_new(fs_error *err);
void mig_table_free(mig_table *t);

/* The MIG geometry of a GPU type by catalog name (case-insensitive), or NULL if none is known. */
const mig_gpu *mig_gpu_find(const mig_table *t, const char *gpu);
/* A profile of a GPU type by name (case-insensitive), or NULL. */
const mig_profile *mig_profile_find(const mig_gpu *g, const char *name);

/* Instances on one GPU and, once placed, the start slot of each. */
typedef struct mig_layout {
    const mig_gpu *gpu;
    int n;
    const mig_profile *inst[MIG_MAX_INSTANCES];
    int start[MIG_MAX_INSTANCES]; /* set by mig_layout_place */
} mig_layout;

/*
 * Parse and place a layout: `all-<profile>` (as many as fit alone, mig-parted's spelling
 * `all-1g.10gb.me` for 1g.10gb+me included) or a comma-separated list of profiles in any order,
 * `3g.40gb,2g.20gb,1g.10gb,1g.10gb`. Names match case-insensitively; spaces around items are
 * ignored. Instances keep the order written. Returns 0 with the placement in *out, or -1 with err
 * saying why (see mig_layout_place, and: an empty layout or item, an unknown profile with the
 * GPU's profiles listed).
 */
int mig_layout_parse(const mig_gpu *g, const char *text, mig_layout *out, fs_error *err);

/*
 * Place l->n instances (l->gpu and l->inst set): check, in this order, that no profile exceeds
 * its max_instances, that the compute and then the memory slices suffice, and that start slots
 * exist for all without overlap. Returns 0 with l->start filled, or -1 with err naming the rule
 * that failed and the numbers. The placement found is the first in a fixed order (largest
 * profiles first, each at its lowest free allowed slot), so equal layouts place equally.
 */
int mig_layout_place(mig_layout *l, fs_error *err);

/*
 * Every valid non-empty layout of a GPU type, as multisets of profiles: calls visit once per
 * multiset with a placed layout whose instances are in the order of the GPU's profiles (0 to
 * max_instances of each), and returns how many there were. visit may be NULL (just count).
 */
typedef void mig_visit_fn(const mig_layout *l, void *arg);
size_t mig_enumerate(const mig_gpu *g, mig_visit_fn *visit, void *arg);

/* What an instance of profile p on GPU type g gives a replica: its memory and SMs, compute
 * share = SMs / the whole GPU's SMs, bandwidth share = memory slices / 8. */
gpu_slice mig_slice(const mig_gpu *g, const mig_profile *p);

/* A replica on MIG instances must run with tensor parallelism 1: instances have no
 * peer-to-peer link. Returns 0 for tp == 1, else -1 with err saying so. */
int mig_check_tp(const mig_profile *p, int tp, fs_error *err);

#endif
