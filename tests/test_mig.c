/*
 * test_mig.c — MIG geometry and layouts (gpu/mig.h), time-slicing and MPS (gpu/share.h).
 *
 * Every valid layout of each GPU type is enumerated and checked against a brute force written
 * here independently (every set of non-overlapping (profile, start slot) placements), and the
 * configurations NVIDIA's mig-parted ships for these GPUs must all be among them. Invalid layouts
 * are checked with their exact messages, the resources of instances against the step-time model
 * that consumes them, and the sharing rules against worked numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fs_error.h"
#include "harness.h"
#include "mig.h"
#include "share.h"
#include "steptime.h"

#define GIB (1024.0 * 1024 * 1024)
#define MIB (1024.0 * 1024)

static catalog *cat;
static mig_table *mt;

static const char *const gpu_names[] = {"A100-SXM4-40GB", "A100-SXM4-80GB", "H100-SXM", "H100-PCIe", "H200-SXM"};
#define NGPUS (int)(sizeof gpu_names / sizeof gpu_names[0])

static const mig_gpu *gpu(const char *name)
{
    const mig_gpu *g = mig_gpu_find(mt, name);
    if (!g) {
        fprintf(stderr, "no MIG geometry for %s\n", name);
        exit(1);
    }
    return g;
}

static const mig_profile *profile(const mig_gpu *g, const char *name)
{
    const mig_profile *p = mig_profile_find(g, name);
    if (!p) {
        fprintf(stderr, "no profile %s on %s\n", name, g->name);
        exit(1);
    }
    return p;
}

/* ---- the data ------------------------------------------------------------------------------ */

/* The shapes of NVIDIA's MIG User Guide (the same on every GPU here): compute and memory slices,
 * maximum instances, allowed start slots. */
static const struct shape {
    int compute, memory, max;
    unsigned starts;
} shapes[] = {
    {1, 1, 7, 0x7f}, /* 1g: 0-6 */
    {1, 1, 1, 0x7f}, /* 1g+me */
    {1, 2, 4, 0x55}, /* 1g, double memory: 0, 2, 4, 6 */
    {2, 2, 3, 0x15}, /* 2g: 0, 2, 4 */
    {3, 4, 2, 0x11}, /* 3g: 0, 4 */
    {4, 4, 1, 0x01}, /* 4g: 0 */
    {7, 8, 1, 0x01}, /* 7g: 0 */
};

static void test_data(void)
{
    CHECK(mig_gpu_find(mt, "B200") == NULL);
    CHECK(mig_gpu_find(mt, "L4") == NULL);
    CHECK(mig_gpu_find(mt, "a100-sxm4-80gb") == gpu("A100-SXM4-80GB"));
    CHECK(mig_profile_find(gpu("H100-SXM"), "3G.40GB") == profile(gpu("H100-SXM"), "3g.40gb"));
    for (int i = 0; i < NGPUS; i++) {
        const mig_gpu *g = gpu(gpu_names[i]);
        const gpu_spec *spec = catalog_gpu(cat, g->name);
        CHECK(spec != NULL);
        if (!spec) continue;
        CHECK(spec->mig);
        CHECK_INT(g->sm_count, spec->sm_count);
        CHECK_INT(g->nprofiles, 7);
        int me = 0;
        for (int k = 0; k < g->nprofiles; k++) {
            const mig_profile *p = &g->profiles[k];
            bool plus_me = strstr(p->name, "+me") != NULL;
            me += plus_me;
            size_t s = 0;
            while (s < sizeof shapes / sizeof shapes[0] &&
                   !(shapes[s].compute == p->compute_slices && shapes[s].memory == p->memory_slices &&
                     shapes[s].max == p->max_instances && shapes[s].starts == p->starts))
                s++;
            CHECK(s < sizeof shapes / sizeof shapes[0]);
            CHECK(plus_me == (s == 1));
            CHECK(p->sms >= 1 && p->sms <= g->sm_count);
            CHECK(p->memory_bytes > 0 && p->memory_bytes <= spec->memory_bytes);
            /* more slices never mean less */
            for (int j = 0; j < g->nprofiles; j++) {
                const mig_profile *q = &g->profiles[j];
                if (q->compute_slices >= p->compute_slices && q->memory_slices >= p->memory_slices) {
                    CHECK(q->sms >= p->sms);
                    CHECK(q->memory_bytes >= p->memory_bytes);
                }
            }
        }
        CHECK_INT(me, 1);
    }
    /* figures from nvidia-smi mig -lgip (see gpu/data/mig.json) */
    CHECK_INT(profile(gpu("A100-SXM4-80GB"), "1g.10gb")->sms, 14);
    CHECK_INT(profile(gpu("A100-SXM4-80GB"), "7g.80gb")->sms, 98);
    CHECK_NEAR(profile(gpu("A100-SXM4-80GB"), "1g.10gb")->memory_bytes / GIB, 9.50, 1e-9);
    CHECK_INT(profile(gpu("A100-SXM4-40GB"), "1g.10gb")->memory_slices, 2); /* double memory on the 40GB */
    CHECK_INT(profile(gpu("A100-SXM4-80GB"), "1g.10gb")->memory_slices, 1);
    CHECK_INT(profile(gpu("H100-SXM"), "7g.80gb")->sms, 132);
    CHECK_INT(profile(gpu("H100-SXM"), "1g.20gb")->sms, 26);
    CHECK_INT(profile(gpu("H100-PCIe"), "7g.80gb")->sms, 114);
    CHECK_NEAR(profile(gpu("H100-PCIe"), "1g.10gb")->memory_bytes / MIB, 9984, 1e-9); /* its nvidia-smi */
    CHECK_INT(profile(gpu("H200-SXM"), "3g.71gb")->sms, 60);
}

/* ---- enumeration against a brute force ----------------------------------------------------- */

/* A multiset of profiles as a number: count of profile k in octal digit k (7 profiles, <= 7). */
#define SIG_SPACE (1u << 21)

static unsigned sig_of(const mig_layout *l)
{
    unsigned sig = 0;
    for (int i = 0; i < l->n; i++) sig += 1u << (3 * (l->inst[i] - l->gpu->profiles));
    return sig;
}

typedef struct brute {
    const mig_gpu *g;
    int nopt;
    int prof[64], start[64]; /* every (profile, allowed start) */
    int count[MIG_MAX_PROFILES];
    unsigned char *seen;     /* SIG_SPACE flags */
    size_t distinct;
} brute;

/* Take or skip each option in turn, keeping instances disjoint and within max_instances. */
static void brute_walk(brute *b, int i, unsigned cmask, unsigned mmask, unsigned sig, int n)
{
    if (i == b->nopt) {
        if (n > 0 && !b->seen[sig]) {
            b->seen[sig] = 1;
            b->distinct++;
        }
        return;
    }
    brute_walk(b, i + 1, cmask, mmask, sig, n);
    const mig_profile *p = &b->g->profiles[b->prof[i]];
    unsigned c = ((1u << p->compute_slices) - 1) << b->start[i], m = ((1u << p->memory_slices) - 1) << b->start[i];
    if ((c & cmask) || (m & mmask) || b->count[b->prof[i]] == p->max_instances || b->start[i] + p->compute_slices > 7 ||
        b->start[i] + p->memory_slices > 8)
        return;
    b->count[b->prof[i]]++;
    brute_walk(b, i + 1, cmask | c, mmask | m, sig + (1u << (3 * b->prof[i])), n + 1);
    b->count[b->prof[i]]--;
}

typedef struct visited {
    unsigned char *seen; /* the brute force's multisets */
    size_t missing, bad_placement, maximal;
    unsigned char *mine; /* mig_enumerate's multisets */
} visited;

static void visit(const mig_layout *l, void *arg)
{
    visited *v = arg;
    unsigned sig = sig_of(l);
    if (!v->seen[sig]) v->missing++;
    v->mine[sig] = 1;
    /* the placement returned is disjoint and at allowed starts */
    unsigned cm = 0, mm = 0;
    for (int i = 0; i < l->n; i++) {
        const mig_profile *p = l->inst[i];
        unsigned c = ((1u << p->compute_slices) - 1) << l->start[i], m = ((1u << p->memory_slices) - 1) << l->start[i];
        if (!(p->starts >> l->start[i] & 1u) || (c & cm) || (m & mm) || c >> 7 || m >> 8) v->bad_placement++;
        cm |= c;
        mm |= m;
    }
    /* maximal: no profile can be added */
    bool more = false;
    for (int k = 0; k < l->gpu->nprofiles && !more && l->n < MIG_MAX_INSTANCES; k++) {
        mig_layout x = *l;
        x.inst[x.n++] = &l->gpu->profiles[k];
        more = mig_layout_place(&x, NULL) == 0;
    }
    v->maximal += !more;
}

/* NVIDIA mig-parted's config-default.yaml (Apache-2.0, licence in gpu/data/), the configurations
 * whose device filter or comment names these GPUs: name, then "profile:count" items. */
static const struct config {
    const char *gpu, *name, *devices;
} configs[] = {
    {"A100-SXM4-40GB", "all-1g.5gb", "1g.5gb:7"},
    {"A100-SXM4-40GB", "all-1g.5gb.me", "1g.5gb+me:1"},
    {"A100-SXM4-40GB", "all-1g.10gb", "1g.10gb:4"},
    {"A100-SXM4-40GB", "all-2g.10gb", "2g.10gb:3"},
    {"A100-SXM4-40GB", "all-3g.20gb", "3g.20gb:2"},
    {"A100-SXM4-40GB", "all-4g.20gb", "4g.20gb:1"},
    {"A100-SXM4-40GB", "all-7g.40gb", "7g.40gb:1"},
    {"A100-SXM4-40GB", "all-balanced", "1g.5gb:2,2g.10gb:1,3g.20gb:1"},
    /* A100-80GB and H100-80GB (SXM and PCIe) share their device filter */
    {"A100-SXM4-80GB", "all-1g.10gb", "1g.10gb:7"},
    {"A100-SXM4-80GB", "all-1g.10gb.me", "1g.10gb+me:1"},
    {"A100-SXM4-80GB", "all-1g.20gb", "1g.20gb:4"},
    {"A100-SXM4-80GB", "all-2g.20gb", "2g.20gb:3"},
    {"A100-SXM4-80GB", "all-3g.40gb", "3g.40gb:2"},
    {"A100-SXM4-80GB", "all-4g.40gb", "4g.40gb:1"},
    {"A100-SXM4-80GB", "all-7g.80gb", "7g.80gb:1"},
    {"A100-SXM4-80GB", "all-balanced", "1g.10gb:2,2g.20gb:1,3g.40gb:1"},
    {"H100-SXM", "all-1g.10gb", "1g.10gb:7"},
    {"H100-SXM", "all-1g.10gb.me", "1g.10gb+me:1"},
    {"H100-SXM", "all-1g.20gb", "1g.20gb:4"},
    {"H100-SXM", "all-2g.20gb", "2g.20gb:3"},
    {"H100-SXM", "all-3g.40gb", "3g.40gb:2"},
    {"H100-SXM", "all-4g.40gb", "4g.40gb:1"},
    {"H100-SXM", "all-7g.80gb", "7g.80gb:1"},
    {"H100-SXM", "all-balanced", "1g.10gb:2,2g.20gb:1,3g.40gb:1"},
    {"H100-PCIe", "all-1g.10gb", "1g.10gb:7"},
    {"H100-PCIe", "all-1g.10gb.me", "1g.10gb+me:1"},
    {"H100-PCIe", "all-1g.20gb", "1g.20gb:4"},
    {"H100-PCIe", "all-2g.20gb", "2g.20gb:3"},
    {"H100-PCIe", "all-3g.40gb", "3g.40gb:2"},
    {"H100-PCIe", "all-4g.40gb", "4g.40gb:1"},
    {"H100-PCIe", "all-7g.80gb", "7g.80gb:1"},
    {"H100-PCIe", "all-balanced", "1g.10gb:2,2g.20gb:1,3g.40gb:1"},
    {"H200-SXM", "all-1g.18gb", "1g.18gb:7"},
    {"H200-SXM", "all-1g.18gb.me", "1g.18gb+me:1"},
    {"H200-SXM", "all-1g.35gb", "1g.35gb:4"},
    {"H200-SXM", "all-2g.35gb", "2g.35gb:3"},
    {"H200-SXM", "all-3g.71gb", "3g.71gb:2"},
    {"H200-SXM", "all-4g.71gb", "4g.71gb:1"},
    {"H200-SXM", "all-7g.141gb", "7g.141gb:1"},
    {"H200-SXM", "all-balanced", "1g.18gb:2,2g.35gb:1,3g.71gb:1"},
};

/* "1g.10gb:2,2g.20gb:1" -> "1g.10gb,1g.10gb,2g.20gb" */
static void expand(const char *devices, char *out, size_t size)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", devices);
    out[0] = '\0';
    for (char *item = strtok(buf, ","); item; item = strtok(NULL, ",")) {
        char *colon = strchr(item, ':');
        *colon = '\0';
        for (int k = atoi(colon + 1); k > 0; k--) {
            if (out[0]) strncat(out, ",", size - strlen(out) - 1);
            strncat(out, item, size - strlen(out) - 1);
        }
    }
}

static void test_enumerate(void)
{
    unsigned char *seen = calloc(SIG_SPACE, 1), *mine = calloc(SIG_SPACE, 1);
    for (int i = 0; i < NGPUS; i++) {
        const mig_gpu *g = gpu(gpu_names[i]);
        CHECK(g->nprofiles <= 7); /* the signature's room */
        if (g->nprofiles > 7) continue;
        memset(seen, 0, SIG_SPACE);
        memset(mine, 0, SIG_SPACE);
        brute b = {.g = g, .seen = seen};
        for (int k = 0; k < g->nprofiles; k++)
            for (int s = 0; s < 8; s++)
                if (g->profiles[k].starts >> s & 1u) {
                    b.prof[b.nopt] = k;
                    b.start[b.nopt++] = s;
                }
        brute_walk(&b, 0, 0, 0, 0, 0);
        visited v = {.seen = seen, .mine = mine};
        size_t n = mig_enumerate(g, visit, &v);
        fprintf(stderr, "  %s: %zu valid layouts (%zu maximal); brute force over start slots: %zu\n", g->name, n,
                v.maximal, b.distinct);
        CHECK_INT(n, b.distinct);
        CHECK_INT(v.missing, 0);
        CHECK_INT(v.bad_placement, 0);
        CHECK_INT(n, 127); /* the same geometry on every GPU here */
        CHECK_INT(v.maximal, 44);
        CHECK_INT(mig_enumerate(g, NULL, NULL), n);
        /* every configuration mig-parted ships for this GPU is among them */
        for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
            if (strcmp(configs[c].gpu, g->name) != 0) continue;
            char list[256];
            fs_error err;
            mig_layout l;
            expand(configs[c].devices, list, sizeof list);
            int rc = mig_layout_parse(g, list, &l, &err);
            if (rc) fprintf(stderr, "  %s %s (%s): %s\n", g->name, configs[c].name, list, err.msg);
            CHECK_INT(rc, 0);
            CHECK(rc == 0 && mine[sig_of(&l)]);
            /* mig-parted's all-<profile> name parses to the same instances */
            if (strcmp(configs[c].name, "all-balanced") != 0) {
                mig_layout a;
                CHECK_INT(mig_layout_parse(g, configs[c].name, &a, &err), 0);
                CHECK_INT(a.n, l.n);
                CHECK(a.n > 0 && a.inst[0] == l.inst[0]);
            }
        }
    }
    free(seen);
    free(mine);
}

/* ---- placement ----------------------------------------------------------------------------- */

static void test_mixed_example(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    mig_layout l;
    fs_error err;
    CHECK_INT(mig_layout_parse(g, "3g.40gb,2g.20gb,1g.10gb,1g.10gb", &l, &err), 0);
    CHECK_INT(l.n, 4);
    CHECK_STR(l.inst[0]->name, "3g.40gb");
    CHECK_STR(l.inst[1]->name, "2g.20gb");
    CHECK_INT(l.start[0], 4);
    CHECK_INT(l.start[1], 0);
    CHECK_INT(l.start[2], 2);
    CHECK_INT(l.start[3], 3);
    /* every assignment of start slots, by brute force: the 3g sits at slot 4 in all of them */
    int valid = 0, three_at_4 = 0;
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++)
            for (int c = 0; c < 8; c++)
                for (int d = 0; d < 8; d++) {
                    int s[4] = {a, b, c, d};
                    unsigned cm = 0, mm = 0;
                    bool ok = true;
                    for (int i = 0; i < 4 && ok; i++) {
                        const mig_profile *p = l.inst[i];
                        unsigned cs = ((1u << p->compute_slices) - 1) << s[i], ms = ((1u << p->memory_slices) - 1) << s[i];
                        ok = (p->starts >> s[i] & 1u) && !(cs & cm) && !(ms & mm);
                        cm |= cs;
                        mm |= ms;
                    }
                    valid += ok;
                    three_at_4 += ok && a == 4;
                }
    CHECK(valid > 0);
    CHECK_INT(three_at_4, valid); /* at slot 0 it would hold memory slice 3, which the 1g.10gb pair needs */
    fprintf(stderr, "  %d start-slot assignments fit, all with 3g.40gb at slot 4\n", valid);

    /* order written does not matter; spaces and case are ignored */
    CHECK_INT(mig_layout_parse(g, " 1G.10GB , 1g.10gb,2g.20gb , 3g.40gb ", &l, &err), 0);
    CHECK_INT(l.start[3], 4);
    CHECK_INT(mig_layout_parse(g, "all-1g.10gb", &l, &err), 0);
    CHECK_INT(l.n, 7);
    for (int i = 0; i < 7; i++) CHECK_INT(l.start[i], i);
    CHECK_INT(mig_layout_parse(gpu("A100-SXM4-40GB"), "all-1g.10gb", &l, &err), 0);
    CHECK_INT(l.n, 4);
    for (int i = 0; i < 4; i++) CHECK_INT(l.start[i], 2 * i);
    CHECK_INT(mig_layout_parse(g, "all-1g.10gb.me", &l, &err), 0);
    CHECK_INT(l.n, 1);
    CHECK_STR(l.inst[0]->name, "1g.10gb+me");
    CHECK_INT(mig_layout_parse(gpu("H100-SXM"), "4g.40gb,1g.20gb,1g.10gb,1g.10gb", &l, &err), 0);
    CHECK_INT(l.start[0], 0);
    CHECK_INT(l.start[1], 6); /* slot 4 would strand the last 1g.10gb at slot 7, which no 1g may use */
    CHECK_INT(l.start[2], 4);
    CHECK_INT(l.start[3], 5);
}

static const struct bad {
    const char *gpu, *layout, *msg;
} bad[] = {
    {"A100-SXM4-80GB", "1g.5gb",
     "unknown MIG profile '1g.5gb' for A100-SXM4-80GB: expected one of 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, "
     "3g.40gb, 4g.40gb, 7g.80gb"},
    {"A100-SXM4-80GB", "1g.20gb,1g.20gb,1g.20gb,1g.20gb,1g.20gb",
     "too many 1g.20gb instances on A100-SXM4-80GB: 5 requested, at most 4 fit"},
    {"A100-SXM4-80GB", "1g.10gb+me,1g.10gb,1g.10gb+me", "too many 1g.10gb+me instances on A100-SXM4-80GB: 2 requested, at most 1 fit"},
    {"A100-SXM4-80GB", "3g.40gb,3g.40gb,2g.20gb",
     "compute slices exhausted on A100-SXM4-80GB: 3g.40gb, 3g.40gb, 2g.20gb need 8 of 7"},
    {"A100-SXM4-80GB", "4g.40gb,1g.20gb,1g.20gb,1g.10gb",
     "memory slices exhausted on A100-SXM4-80GB: 4g.40gb, 1g.20gb, 1g.20gb, 1g.10gb need 9 of 8"},
    {"A100-SXM4-80GB", "  ",
     "empty MIG layout for A100-SXM4-80GB: expected all-<profile> or a comma-separated list of profiles"},
    {"A100-SXM4-80GB", "1g.10gb,,2g.20gb", "empty item 2 in MIG layout '1g.10gb,,2g.20gb': expected a profile name"},
    {"A100-SXM4-80GB", "all-balanced",
     "unknown MIG profile 'balanced' for A100-SXM4-80GB: expected one of 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, "
     "3g.40gb, 4g.40gb, 7g.80gb"},
    {"A100-SXM4-40GB", "1g.20gb",
     "unknown MIG profile '1g.20gb' for A100-SXM4-40GB: expected one of 1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, "
     "3g.20gb, 4g.20gb, 7g.40gb"},
    {"A100-SXM4-40GB", "1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb",
     "too many 1g.10gb instances on A100-SXM4-40GB: 5 requested, at most 4 fit"},
    {"A100-SXM4-40GB", "7g.40gb,1g.5gb", "compute slices exhausted on A100-SXM4-40GB: 7g.40gb, 1g.5gb need 8 of 7"},
    {"A100-SXM4-40GB", "3g.20gb,3g.20gb,1g.5gb",
     "memory slices exhausted on A100-SXM4-40GB: 3g.20gb, 3g.20gb, 1g.5gb need 9 of 8"},
    {"H100-SXM", "1g.18gb",
     "unknown MIG profile '1g.18gb' for H100-SXM: expected one of 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, "
     "4g.40gb, 7g.80gb"},
    {"H100-SXM", "all-4g.40gb,4g.40gb",
     "unknown MIG profile '4g.40gb,4g.40gb' for H100-SXM: expected one of 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, "
     "3g.40gb, 4g.40gb, 7g.80gb"},
    {"H100-SXM", "4g.40gb,4g.40gb", "too many 4g.40gb instances on H100-SXM: 2 requested, at most 1 fit"},
    {"H100-SXM", "2g.20gb,2g.20gb,2g.20gb,1g.20gb,1g.10gb",
     "compute slices exhausted on H100-SXM: 2g.20gb, 2g.20gb, 2g.20gb, 1g.20gb, 1g.10gb need 8 of 7"},
    {"H100-PCIe", "3g.40gb,3g.40gb,3g.40gb", "too many 3g.40gb instances on H100-PCIe: 3 requested, at most 2 fit"},
    {"H100-PCIe", "4g.40gb,2g.20gb,1g.20gb,1g.10gb",
     "compute slices exhausted on H100-PCIe: 4g.40gb, 2g.20gb, 1g.20gb, 1g.10gb need 8 of 7"},
    {"H200-SXM", "1g.10gb",
     "unknown MIG profile '1g.10gb' for H200-SXM: expected one of 1g.18gb, 1g.18gb+me, 1g.35gb, 2g.35gb, 3g.71gb, "
     "4g.71gb, 7g.141gb"},
    {"H200-SXM", "1g.35gb,1g.35gb,1g.35gb,1g.35gb,1g.35gb",
     "too many 1g.35gb instances on H200-SXM: 5 requested, at most 4 fit"},
    {"H200-SXM", "3g.71gb,3g.71gb,1g.18gb",
     "memory slices exhausted on H200-SXM: 3g.71gb, 3g.71gb, 1g.18gb need 9 of 8"},
};

static void test_invalid(void)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fs_error err;
        mig_layout l;
        fs_error_clear(&err);
        CHECK_INT(mig_layout_parse(gpu(bad[i].gpu), bad[i].layout, &l, &err), -1);
        CHECK_STR(err.msg, bad[i].msg);
    }
    fs_error err;
    char many[65 * 8 + 1] = "";
    for (int i = 0; i < 65; i++) strcat(many, i ? ",1g.10gb" : "1g.10gb");
    mig_layout l;
    CHECK_INT(mig_layout_parse(gpu("H100-SXM"), many, &l, &err), -1);
    CHECK_STR(err.msg, "MIG layout '1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.1...' lists more "
                       "than 64 instances");
    l = (mig_layout){.gpu = gpu("H100-SXM")};
    CHECK_INT(mig_layout_place(&l, &err), -1);
    CHECK_STR(err.msg, "empty MIG layout for H100-SXM: expected at least one instance");

    /* No layout of NVIDIA's shapes has enough slices yet no start slots (the enumeration shows
     * it: every multiset within the slice counts places). A made-up GPU whose two 1g profiles
     * may only start at slot 0 exercises the rule. */
    mig_gpu toy = {.name = "toy", .sm_count = 7, .nprofiles = 2};
    toy.profiles[0] = (mig_profile){"1g.1gb", 1, 1, 1, 0x01, GIB, 1};
    toy.profiles[1] = (mig_profile){"1g.2gb", 1, 2, 1, 0x03, 2 * GIB, 1};
    CHECK_INT(mig_layout_parse(&toy, "1g.1gb,1g.2gb", &l, &err), 0);
    CHECK_INT(l.start[0], 0); /* found by backtracking: 1g.2gb, placed first, is tried at 0 first */
    CHECK_INT(l.start[1], 1);
    fs_error_clear(&err);
    toy.profiles[1].starts = 0x01;
    CHECK_INT(mig_layout_parse(&toy, "1g.1gb,1g.2gb", &l, &err), -1);
    CHECK_STR(err.msg, "no start-slot assignment fits 1g.1gb, 1g.2gb on toy: the slices suffice in number, but not "
                       "at the allowed start slots (1g.1gb at 0; 1g.2gb at 0)");
}

/* ---- resources ----------------------------------------------------------------------------- */

static void test_resources(void)
{
    const mig_gpu *g = gpu("A100-SXM4-80GB");
    const gpu_spec *full = catalog_gpu(cat, g->name);
    const model_spec *model = catalog_model(cat, "meta-llama/Llama-3.1-8B");
    if (!full || !model) SKIP("catalog entries missing");

    gpu_slice s = mig_slice(g, profile(g, "1g.10gb"));
    CHECK_INT(s.sms, 14);
    CHECK_NEAR(s.compute_share, 14.0 / 108, 1e-12);
    CHECK_NEAR(s.bandwidth_share, 1.0 / 8, 1e-12);
    CHECK_NEAR(s.memory_bytes, 9.5 * GIB, 1);
    CHECK_NEAR(s.memory_bytes / 10e9, 1, 0.03); /* "10gb" */

    s = mig_slice(g, profile(g, "7g.80gb"));
    CHECK_NEAR(s.compute_share, 98.0 / 108, 1e-12);
    CHECK_NEAR(s.bandwidth_share, 1, 1e-12);
    s = mig_slice(gpu("H100-SXM"), profile(gpu("H100-SXM"), "3g.40gb"));
    CHECK_INT(s.sms, 60);
    CHECK_NEAR(s.bandwidth_share, 0.5, 1e-12);
    s = mig_slice(gpu("H100-SXM"), profile(gpu("H100-SXM"), "7g.80gb"));
    CHECK_NEAR(s.compute_share, 1, 1e-12);

    /* as share.h tells a caller to use it: the step-time model sees the instance's SMs and a
     * bandwidth share, the KV cache its memory */
    s = mig_slice(g, profile(g, "1g.10gb"));
    st_config c = {.model = model, .gpu = full, .tp = 1, .weights = ST_BF16, .kv = ST_BF16, .cuda_graphs = true,
                   .max_capture = 512, .async_scheduling = true, .compute_share = s.compute_share,
                   .bandwidth_share = s.bandwidth_share};
    st_model *m = malloc(sizeof *m);
    st_model_init(m, &c);
    CHECK_NEAR(m->sms, 14, 1e-9);
    CHECK_NEAR(m->bw, full->mem_bw / 8, 1);
    free(m);
    gpu_spec inst = *full;
    inst.memory_bytes = s.memory_bytes;
    long long whole = st_kv_blocks(model, full, 1, ST_BF16, ST_BF16, 0.9, 16, 2048, 256);
    long long small = st_kv_blocks(model, &inst, 1, ST_BF16, ST_BF16, 0.9, 16, 2048, 256);
    CHECK(whole > 0);
    CHECK(small <= 0); /* 16 GB of Llama-3.1-8B weights do not fit in 9.5 GiB */
    s = mig_slice(g, profile(g, "3g.40gb"));
    inst.memory_bytes = s.memory_bytes;
    small = st_kv_blocks(model, &inst, 1, ST_BF16, ST_BF16, 0.9, 16, 2048, 256);
    CHECK(small > 0 && small < whole / 2);
}

static void test_tp(void)
{
    const mig_profile *p = profile(gpu("H100-SXM"), "3g.40gb");
    fs_error err;
    CHECK_INT(mig_check_tp(p, 1, &err), 0);
    CHECK_INT(mig_check_tp(p, 2, &err), -1);
    CHECK_STR(err.msg, "tensor parallelism 2 needs 2 GPUs linked peer to peer, but MIG instances (here 3g.40gb) "
                       "have no peer-to-peer link: use tp 1 on a MIG instance, or whole GPUs");
    CHECK_INT(mig_check_tp(p, 0, &err), -1);
    CHECK_STR(err.msg, "expected tensor parallelism >= 1, got 0");
}

/* ---- time-slicing and MPS ------------------------------------------------------------------ */

static void test_timeslicing(void)
{
    const gpu_spec *g = catalog_gpu(cat, "H100-SXM"); /* 80 GiB */
    const model_spec *model = catalog_model(cat, "meta-llama/Llama-3.1-8B");
    if (!g || !model) SKIP("catalog entries missing");
    fs_error err;

    double ok2[] = {0.45, 0.45};
    CHECK_INT(share_check(g, 2, ok2, 2, SHARE_CONTEXT_BYTES, &err), 0); /* 72 GiB + 2 x 500 MiB */
    double ok4[] = {0.2, 0.2, 0.2, 0.2};
    CHECK_INT(share_check(g, 4, ok4, 4, SHARE_CONTEXT_BYTES, &err), 0);

    double full2[] = {0.5, 0.5};
    CHECK_INT(share_check(g, 2, full2, 2, 0, &err), 0); /* exactly the memory */
    CHECK_INT(share_check(g, 2, full2, 2, 1, &err), -1); /* one byte more */
    CHECK_INT(share_check(g, 2, full2, 2, SHARE_CONTEXT_BYTES, &err), -1);
    CHECK_STR(err.msg, "co-tenants of shared H100-SXM do not fit in its 80.0 GiB (sharing does not isolate memory): "
                       "gpu_memory_utilization 0.50 + 0.50 = 1.00 of it (80.0 GiB) plus 2 CUDA contexts of 500 MiB "
                       "make 81.0 GiB");
    double three[] = {0.3, 0.3, 0.3};
    CHECK_INT(share_check(g, 2, three, 3, SHARE_CONTEXT_BYTES, &err), -1);
    CHECK_STR(err.msg, "3 co-tenants on H100-SXM shared into 2 replicas: at most 2 fit");
    CHECK_INT(share_check(g, 4, three, 3, SHARE_CONTEXT_BYTES, &err), 0);
    double one[] = {0.995};
    CHECK_INT(share_check(g, 1, one, 1, SHARE_CONTEXT_BYTES, &err), -1); /* 79.6 GiB + 0.5 GiB */
    CHECK_CONTAINS(err.msg, "plus 1 CUDA context of 500 MiB");
    double zero[] = {0.5, 0};
    CHECK_INT(share_check(g, 2, zero, 2, SHARE_CONTEXT_BYTES, &err), -1);
    CHECK_STR(err.msg, "expected a gpu_memory_utilization in (0, 1] for co-tenant 2 of shared H100-SXM, got 0");
    CHECK_INT(share_check(g, 0, zero, 0, SHARE_CONTEXT_BYTES, &err), -1);
    CHECK_STR(err.msg, "expected replicas >= 1 for shared H100-SXM, got 0");

    gpu_slice s = share_timesliced(g, 0.45);
    CHECK_NEAR(s.memory_bytes, 0.45 * g->memory_bytes, 1);
    CHECK_NEAR(s.sms, 132, 0);
    CHECK_NEAR(s.compute_share, 1, 0);
    CHECK_NEAR(s.bandwidth_share, 1, 0);
    s = share_whole(g);
    CHECK_NEAR(s.memory_bytes, g->memory_bytes, 0);
    CHECK_NEAR(s.sms, 132, 0);

    /* the KV cache of a share: vLLM applies the fraction to the whole device, which is the same
     * as the share's memory used whole */
    s = share_timesliced(g, 0.45);
    gpu_spec mem = *g;
    mem.memory_bytes = s.memory_bytes;
    CHECK_INT(st_kv_blocks(model, g, 1, ST_BF16, ST_BF16, 0.45, 16, 2048, 256),
              st_kv_blocks(model, &mem, 1, ST_BF16, ST_BF16, 1.0, 16, 2048, 256));
}

static void test_slowdown(void)
{
    CHECK_NEAR(share_slowdown(0, 0.1), 1, 0);
    CHECK_NEAR(share_slowdown(1, 0.1), 1, 0); /* alone: no switching */
    CHECK_NEAR(share_slowdown(2, 0), 2, 0);
    CHECK_NEAR(share_slowdown(3, 0.05), 3.15, 1e-12);
    CHECK_NEAR(share_slowdown(7, 0.2), 8.4, 1e-12);
    CHECK_INT(share_step(10 * FS_NS_PER_MS, 1, 0.5), 10 * FS_NS_PER_MS);
    CHECK_INT(share_step(10 * FS_NS_PER_MS, 4, 0.1), 44 * FS_NS_PER_MS);
    CHECK_INT(share_step(3, 2, 0.25), 8); /* 7.5 ns rounds half away from zero */
    CHECK_INT(share_step(0, 5, 0.25), 0);
}

static void test_mps(void)
{
    const gpu_spec *g = catalog_gpu(cat, "H100-SXM");
    const model_spec *model = catalog_model(cat, "meta-llama/Llama-3.1-8B");
    if (!g || !model) SKIP("catalog entries missing");
    gpu_slice s = share_mps(g, 0.3, 0.25);
    CHECK_NEAR(s.memory_bytes, 0.3 * g->memory_bytes, 1);
    CHECK_NEAR(s.sms, 33, 1e-12);
    CHECK_NEAR(s.compute_share, 0.25, 0);
    CHECK_NEAR(s.bandwidth_share, 1, 0); /* MPS limits SMs, not bandwidth */
    st_config c = {.model = model, .gpu = g, .tp = 1, .weights = ST_BF16, .kv = ST_BF16, .cuda_graphs = true,
                   .max_capture = 512, .async_scheduling = true, .compute_share = s.compute_share,
                   .bandwidth_share = s.bandwidth_share};
    st_model *m = malloc(sizeof *m), *w = malloc(sizeof *w);
    st_model_init(m, &c);
    c.compute_share = c.bandwidth_share = 1;
    st_model_init(w, &c);
    CHECK_NEAR(m->peak, w->peak * 0.25, 1);
    CHECK_NEAR(m->bw, w->bw, 0);
    CHECK_NEAR(m->sms, 33, 1e-9);
    free(m);
    free(w);
}

int main(void)
{
    fs_error err;
    cat = catalog_new(&err);
    mt = mig_table_new(&err);
    if (!cat || !mt) {
        char buf[1024];
        fprintf(stderr, "%s\n", fs_error_format(&err, buf, sizeof buf));
        return 1;
    }
    RUN(test_data);
    RUN(test_enumerate);
    RUN(test_mixed_example);
    RUN(test_invalid);
    RUN(test_resources);
    RUN(test_tp);
    RUN(test_timeslicing);
    RUN(test_slowdown);
    RUN(test_mps);
    mig_table_free(mt);
    catalog_free(cat);
    return DONE();
}
