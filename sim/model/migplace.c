/*
 * MIG instances on a pool of GPUs; see migplace.h for the stages, the policies, mig_aware's loss
 * and the fragmentation figure. This file holds each GPU's instances (by start slot), the fit
 * test, the per-layout score cache, and the checks.
 */
#include "migplace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A start slot is also the instance's first compute slice, so starts are 0..6 and at most one
 * instance starts at each. */
#define NSTART MIG_COMPUTE_SLICES
#define ALL_COMPUTE ((1u << MIG_COMPUTE_SLICES) - 1)
#define KEY_BITS 5 /* per start: profile index + 1, up to MIG_MAX_PROFILES */

static const char *const policy_names[MP_POLICY_COUNT] = {"first_fit", "best_fit", "mig_aware"};

typedef struct gpu_state {
    signed char prof[NSTART];  /* profile index of the instance starting at s, or -1 */
    unsigned char cmask, mmask; /* compute and memory slices held by instances */
    unsigned char used;        /* bit s: the instance at s is in use */
    unsigned char ninst;
    unsigned char busy;        /* compute slices of the instances in use */
    uint64_t key;              /* the layout: prof[s] + 1 in KEY_BITS bits per start */
} gpu_state;

typedef struct node_state {
    int used; /* instances in use */
    bool down;
} node_state;

/* What one layout offers one profile (the create stage's facts, cached). */
typedef struct score {
    uint64_t key;      /* ((layout key << 4) | profile) + 1; 0: empty cache slot */
    signed char first; /* lowest fitting start, -1 when none fits */
    signed char best;  /* mig_aware's start: smallest loss, then lowest */
    int loss;          /* its loss */
} score;

struct mp_cluster {
    const mig_gpu *g;
    int nodes, per_node;
    gpu_state *gpus; /* node-major: GPU k of node n at n * per_node + k */
    node_state *node;
    bool repartition;
    int nfree[MIG_MAX_PROFILES];                 /* free instances per profile, pool-wide */
    int nlarger[MIG_MAX_PROFILES];               /* profiles larger than each (migplace.h) */
    int larger[MIG_MAX_PROFILES][MIG_MAX_PROFILES];
    int weight[MIG_MAX_PROFILES];                /* w_q = compute x memory slices */
    int largest;                                 /* most compute, then memory slices */
    score *cache;                                /* open addressing, linear probing */
    size_t cache_cap, cache_n;
};

const char *mp_policy_name(enum mp_policy p) { return (unsigned)p < MP_POLICY_COUNT ? policy_names[p] : NULL; }

int mp_policy_from_name(const char *name)
{
    for (int i = 0; i < MP_POLICY_COUNT; i++)
        if (strcmp(policy_names[i], name) == 0) return i;
    return -1;
}

/* ---- geometry ---- */

static unsigned span(int start, int len) { return ((1u << len) - 1) << start; }

static int profile_index(const mp_cluster *c, const mig_profile *p)
{
    FS_ASSERT(p >= c->g->profiles && p < c->g->profiles + c->g->nprofiles);
    return (int)(p - c->g->profiles);
}

static int count_of(const gpu_state *s, int pi)
{
    int n = 0;
    for (int k = 0; k < NSTART; k++) n += s->prof[k] == pi;
    return n;
}

/* Whether p fits at start st beside instances holding cmask / mmask, `have` of p existing: the
 * rules of mig_layout_place for one added instance. */
static bool fits(const mig_profile *p, int have, unsigned cmask, unsigned mmask, int st)
{
    return have < p->max_instances && (p->starts >> st & 1u) && !(span(st, p->compute_slices) & cmask) &&
           !(span(st, p->memory_slices) & mmask);
}

/* How many new instances of q fit beside cmask / mmask, `have` existing. Two instances of one
 * profile at starts s < t clash exactly when t < s + max(compute, memory slices): intervals of one
 * length, so taking every free start in ascending order is optimal (earliest end first). */
static int cap(const mig_profile *q, int have, unsigned cmask, unsigned mmask)
{
    int n = 0;
    for (int st = 0; st < NSTART && have + n < q->max_instances; st++)
        if (fits(q, 0, cmask, mmask, st)) {
            cmask |= span(st, q->compute_slices);
            mmask |= span(st, q->memory_slices);
            n++;
        }
    return n;
}

/* ---- the score cache ---- */

static void compute_score(const mp_cluster *c, const gpu_state *s, int pi, score *sc)
{
    const mig_gpu *g = c->g;
    const mig_profile *p = &g->profiles[pi];
    int have[MIG_MAX_PROFILES] = {0}, before[MIG_MAX_PROFILES] = {0};
    for (int k = 0; k < NSTART; k++)
        if (s->prof[k] >= 0) have[s->prof[k]]++;
    sc->first = sc->best = -1;
    sc->loss = 0;
    for (int j = 0; j < c->nlarger[pi]; j++) {
        int q = c->larger[pi][j];
        before[q] = cap(&g->profiles[q], have[q], s->cmask, s->mmask);
    }
    for (int st = 0; st < NSTART; st++) {
        if (!fits(p, have[pi], s->cmask, s->mmask, st)) continue;
        if (sc->first < 0) sc->first = (signed char)st;
        unsigned cm = s->cmask | span(st, p->compute_slices), mm = s->mmask | span(st, p->memory_slices);
        int loss = 0;
        for (int j = 0; j < c->nlarger[pi]; j++) {
            int q = c->larger[pi][j];
            loss += c->weight[q] * (before[q] - cap(&g->profiles[q], have[q], cm, mm));
        }
        if (sc->best < 0 || loss < sc->loss) {
            sc->best = (signed char)st;
            sc->loss = loss;
        }
    }
}

static size_t slot_of(uint64_t key, size_t cap_)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap_ - 1);
}

/* Rare: double the table and rehash. */
static void cache_grow(mp_cluster *c)
{
    size_t ncap = c->cache_cap ? 2 * c->cache_cap : 256;
    score *t = fs_xcalloc(ncap, sizeof *t);
    for (size_t i = 0; i < c->cache_cap; i++) {
        if (!c->cache[i].key) continue;
        size_t h = slot_of(c->cache[i].key, ncap);
        while (t[h].key) h = (h + 1) & (ncap - 1);
        t[h] = c->cache[i];
    }
    free(c->cache);
    c->cache = t;
    c->cache_cap = ncap;
}

/* The score of layout s for profile pi, computed the first time the pair is seen. */
static const score *lookup(mp_cluster *c, const gpu_state *s, int pi)
{
    uint64_t key = ((s->key << 4) | (uint64_t)pi) + 1;
    size_t h = slot_of(key, c->cache_cap);
    while (c->cache[h].key) {
        if (c->cache[h].key == key) return &c->cache[h];
        h = (h + 1) & (c->cache_cap - 1);
    }
    if (2 * (c->cache_n + 1) > c->cache_cap) {
        cache_grow(c);
        h = slot_of(key, c->cache_cap);
        while (c->cache[h].key) h = (h + 1) & (c->cache_cap - 1);
    }
    score *sc = &c->cache[h];
    sc->key = key;
    compute_score(c, s, pi, sc);
    c->cache_n++;
    return sc;
}

/* ---- the pool ---- */

/* mig_aware's order of sizes: q larger than p (migplace.h). */
static bool larger(const mig_profile *q, const mig_profile *p)
{
    return q->compute_slices >= p->compute_slices && q->memory_slices >= p->memory_slices &&
           (q->compute_slices > p->compute_slices || q->memory_slices > p->memory_slices);
}

static void clear_gpu(gpu_state *s)
{
    memset(s, 0, sizeof *s);
    memset(s->prof, -1, sizeof s->prof);
}

mp_cluster *mp_cluster_new(const mig_gpu *g, int nodes, int gpus_per_node)
{
    FS_ASSERT(g && g->nprofiles >= 1 && g->nprofiles <= MIG_MAX_PROFILES);
    FS_ASSERT(nodes >= 1 && gpus_per_node >= 1);
    mp_cluster *c = fs_xcalloc(1, sizeof *c);
    c->g = g;
    c->nodes = nodes;
    c->per_node = gpus_per_node;
    c->gpus = fs_xcalloc((size_t)nodes * (size_t)gpus_per_node, sizeof *c->gpus);
    c->node = fs_xcalloc((size_t)nodes, sizeof *c->node);
    for (size_t i = 0; i < (size_t)nodes * (size_t)gpus_per_node; i++) clear_gpu(&c->gpus[i]);
    for (int i = 0; i < g->nprofiles; i++) {
        const mig_profile *p = &g->profiles[i], *big = &g->profiles[c->largest];
        c->weight[i] = p->compute_slices * p->memory_slices;
        for (int j = 0; j < g->nprofiles; j++)
            if (larger(&g->profiles[j], p)) c->larger[i][c->nlarger[i]++] = j;
        if (p->compute_slices > big->compute_slices ||
            (p->compute_slices == big->compute_slices && p->memory_slices > big->memory_slices))
            c->largest = i;
    }
    cache_grow(c);
    return c;
}

void mp_cluster_free(mp_cluster *c)
{
    if (!c) return;
    free(c->gpus);
    free(c->node);
    free(c->cache);
    free(c);
}

const mig_gpu *mp_cluster_gpu(const mp_cluster *c) { return c->g; }

void mp_cluster_set_repartition(mp_cluster *c, bool allow) { c->repartition = allow; }

static gpu_state *gpu_at(const mp_cluster *c, int node, int gpu)
{
    FS_ASSERT(node >= 0 && node < c->nodes && gpu >= 0 && gpu < c->per_node);
    return &c->gpus[(size_t)node * (size_t)c->per_node + (size_t)gpu];
}

static void add_instance(mp_cluster *c, int node, gpu_state *s, int pi, int st, bool used)
{
    const mig_profile *p = &c->g->profiles[pi];
    FS_ASSERT(s->prof[st] < 0);
    s->prof[st] = (signed char)pi;
    s->cmask |= (unsigned char)span(st, p->compute_slices);
    s->mmask |= (unsigned char)span(st, p->memory_slices);
    s->ninst++;
    s->key |= (uint64_t)(pi + 1) << (KEY_BITS * st);
    if (used) {
        s->used |= (unsigned char)(1u << st);
        s->busy += (unsigned char)p->compute_slices;
        c->node[node].used++;
    } else {
        c->nfree[pi]++;
    }
}

/* Destroy every instance of a GPU with none in use. */
static void destroy_all(mp_cluster *c, gpu_state *s)
{
    FS_ASSERT(s->used == 0);
    for (int k = 0; k < NSTART; k++)
        if (s->prof[k] >= 0) c->nfree[s->prof[k]]--;
    clear_gpu(s);
}

static void mark_used(mp_cluster *c, int node, gpu_state *s, int st)
{
    int pi = s->prof[st];
    FS_ASSERT(pi >= 0 && !(s->used >> st & 1u));
    s->used |= (unsigned char)(1u << st);
    s->busy += (unsigned char)c->g->profiles[pi].compute_slices;
    c->node[node].used++;
    c->nfree[pi]--;
}

int mp_gpu_set_layout(mp_cluster *c, int node, int gpu, const mig_layout *l, fs_error *err)
{
    gpu_state *s = gpu_at(c, node, gpu);
    if (s->used)
        return fs_error_set(err, NULL, 0, 0, "cannot set the layout of node %d GPU %d: %d of its %d instances are in use",
                            node, gpu, __builtin_popcount(s->used), s->ninst);
    if (l->gpu != c->g)
        return fs_error_set(err, NULL, 0, 0, "layout for %s given to a pool of %s (node %d GPU %d)",
                            l->gpu ? l->gpu->name : "(no GPU)", c->g->name, node, gpu);
    if (l->n < 0 || l->n > MIG_MAX_INSTANCES)
        return fs_error_set(err, NULL, 0, 0, "layout of %d instances for node %d GPU %d: expected 0 to %d", l->n, node,
                            gpu, MIG_MAX_INSTANCES);
    unsigned cm = 0, mm = 0;
    for (int i = 0; i < l->n; i++) {
        const mig_profile *p = l->inst[i];
        int st = l->start[i];
        profile_index(c, p);
        if (st < 0 || st >= NSTART || !(p->starts >> st & 1u))
            return fs_error_set(err, NULL, 0, 0, "%s cannot start at slot %d on %s (node %d GPU %d)", p->name, st,
                                c->g->name, node, gpu);
        unsigned pc = span(st, p->compute_slices), pm = span(st, p->memory_slices);
        if ((pc & cm) || (pm & mm))
            return fs_error_set(err, NULL, 0, 0,
                                "%s at slot %d shares a %s slice with another instance on node %d GPU %d", p->name, st,
                                (pc & cm) ? "compute" : "memory", node, gpu);
        cm |= pc;
        mm |= pm;
    }
    if (l->n > 0) {
        mig_layout copy = *l; /* the count rules, from gpu/mig.h */
        fs_error e;
        if (mig_layout_place(&copy, &e))
            return fs_error_set(err, NULL, 0, 0, "node %d GPU %d: %s", node, gpu, e.msg);
    }
    destroy_all(c, s);
    for (int i = 0; i < l->n; i++) add_instance(c, node, s, profile_index(c, l->inst[i]), l->start[i], false);
    return 0;
}

int mp_gpu_layout(const mp_cluster *c, int node, int gpu, mig_layout *out, unsigned *used)
{
    const gpu_state *s = gpu_at(c, node, gpu);
    memset(out, 0, sizeof *out);
    out->gpu = c->g;
    unsigned u = 0;
    for (int k = 0; k < NSTART; k++) {
        if (s->prof[k] < 0) continue;
        if (s->used >> k & 1u) u |= 1u << out->n;
        out->inst[out->n] = &c->g->profiles[s->prof[k]];
        out->start[out->n++] = k;
    }
    if (used) *used = u;
    return out->n;
}

/* ---- placing ---- */

static int idle_of(const gpu_state *s) { return MIG_COMPUTE_SLICES - s->busy; }
static int unallocated_of(const gpu_state *s) { return MIG_COMPUTE_SLICES - __builtin_popcount(s->cmask); }

static void set_where(mp_placement *out, int node, int gpu, int st)
{
    out->where = (mp_where){node, gpu, st};
}

/* Stage 1: a free instance of profile pi. */
static bool reuse(mp_cluster *c, int pi, enum mp_policy policy, mp_placement *out)
{
    int bn = -1, bg = -1, bs = -1, bkey = 0;
    for (int n = 0; n < c->nodes; n++) {
        if (c->node[n].down) continue;
        for (int k = 0; k < c->per_node; k++) {
            const gpu_state *s = gpu_at(c, n, k);
            if (bn >= 0 && (policy == MP_FIRST_FIT || idle_of(s) >= bkey)) continue;
            for (int st = 0; st < NSTART; st++)
                if (s->prof[st] == pi && !(s->used >> st & 1u)) {
                    bn = n, bg = k, bs = st, bkey = idle_of(s);
                    break;
                }
        }
        if (bn >= 0 && policy == MP_FIRST_FIT) break;
    }
    if (bn < 0) return false;
    mark_used(c, bn, gpu_at(c, bn, bg), bs);
    set_where(out, bn, bg, bs);
    out->action = MP_REUSE;
    return true;
}

/* Stage 2: a new instance in unallocated slices. Keys compare lexicographically, lower first. */
static bool create(mp_cluster *c, int pi, enum mp_policy policy, mp_placement *out)
{
    int bn = -1, bg = -1, bs = -1, k1 = 0, k2 = 0;
    for (int n = 0; n < c->nodes; n++) {
        if (c->node[n].down) continue;
        for (int k = 0; k < c->per_node; k++) {
            const gpu_state *s = gpu_at(c, n, k);
            if (s->cmask == ALL_COMPUTE) continue;
            const score *sc = lookup(c, s, pi);
            if (sc->first < 0) continue;
            int a, b, st;
            switch (policy) {
            case MP_FIRST_FIT:
                add_instance(c, n, gpu_at(c, n, k), pi, sc->first, true);
                set_where(out, n, k, sc->first);
                out->action = MP_CREATE;
                return true;
            case MP_BEST_FIT: a = unallocated_of(s), b = idle_of(s), st = sc->first; break;
            default: a = sc->loss, b = idle_of(s), st = sc->best; break;
            }
            if (bn < 0 || a < k1 || (a == k1 && b < k2)) bn = n, bg = k, bs = st, k1 = a, k2 = b;
        }
    }
    if (bn < 0) return false;
    add_instance(c, bn, gpu_at(c, bn, bg), pi, bs, true);
    set_where(out, bn, bg, bs);
    out->action = MP_CREATE;
    return true;
}

/* Stage 3: destroy a GPU's free instances and create the new one there. */
static bool repartition(mp_cluster *c, int pi, enum mp_policy policy, mp_placement *out)
{
    int bn = -1, bg = -1;
    for (int n = 0; n < c->nodes; n++) {
        if (c->node[n].down || (bn >= 0 && c->node[n].used >= c->node[bn].used)) continue;
        for (int k = 0; k < c->per_node; k++) {
            const gpu_state *s = gpu_at(c, n, k);
            if (s->ninst > 0 && s->used == 0) {
                bn = n, bg = k;
                break;
            }
        }
        if (bn >= 0 && c->node[bn].used == 0) break;
    }
    if (bn < 0) return false;
    gpu_state *s = gpu_at(c, bn, bg);
    mp_gpu_layout(c, bn, bg, &out->destroyed, NULL);
    destroy_all(c, s);
    const score *sc = lookup(c, s, pi); /* the empty layout */
    int st = policy == MP_MIG_AWARE ? sc->best : sc->first;
    FS_ASSERT(st >= 0); /* mig_table_new checked that every profile fits an empty GPU */
    add_instance(c, bn, s, pi, st, true);
    set_where(out, bn, bg, st);
    out->action = MP_REPARTITION;
    out->drain_node = bn;
    out->disturbed = c->node[bn].used - 1;
    return true;
}

int mp_place(mp_cluster *c, const mig_profile *p, enum mp_policy policy, mp_placement *out)
{
    FS_ASSERT((unsigned)policy < MP_POLICY_COUNT);
    int pi = profile_index(c, p);
    memset(out, 0, sizeof *out);
    out->profile = p;
    out->drain_node = -1;
    out->destroyed.gpu = c->g;
    if (c->nfree[pi] > 0 && reuse(c, pi, policy, out)) return 0;
    if (create(c, pi, policy, out)) return 0;
    if (c->repartition && repartition(c, pi, policy, out)) return 0;
    out->where = (mp_where){-1, -1, -1};
    return -1;
}

void mp_release(mp_cluster *c, const mp_where *w)
{
    gpu_state *s = gpu_at(c, w->node, w->gpu);
    FS_ASSERT(w->start >= 0 && w->start < NSTART);
    int pi = s->prof[w->start];
    FS_ASSERT(pi >= 0 && (s->used >> w->start & 1u));
    s->used &= (unsigned char)~(1u << w->start);
    s->busy -= (unsigned char)c->g->profiles[pi].compute_slices;
    c->node[w->node].used--;
    c->nfree[pi]++;
}

void mp_node_set_down(mp_cluster *c, int node, bool down)
{
    FS_ASSERT(node >= 0 && node < c->nodes);
    c->node[node].down = down;
}

int mp_node_used(const mp_cluster *c, int node)
{
    FS_ASSERT(node >= 0 && node < c->nodes);
    return c->node[node].used;
}

/* ---- counters ---- */

int mp_free_gpus(const mp_cluster *c)
{
    int n = 0;
    for (size_t i = 0; i < (size_t)c->nodes * (size_t)c->per_node; i++) n += c->gpus[i].used == 0;
    return n;
}

double mp_frag(const mp_cluster *c, const mig_profile *p)
{
    int pi = profile_index(c, p);
    long unalloc = 0, usable = 0;
    for (size_t i = 0; i < (size_t)c->nodes * (size_t)c->per_node; i++) {
        const gpu_state *s = &c->gpus[i];
        unalloc += unallocated_of(s);
        usable += (long)p->compute_slices * cap(p, count_of(s, pi), s->cmask, s->mmask);
    }
    return unalloc ? (double)(unalloc - usable) / (double)unalloc : 0.0;
}

void mp_cluster_totals(const mp_cluster *c, mp_totals *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < (size_t)c->nodes * (size_t)c->per_node; i++) {
        const gpu_state *s = &c->gpus[i];
        t->gpus++;
        t->gpus_bare += s->ninst == 0;
        t->gpus_free += s->used == 0;
        t->instances += s->ninst;
        t->instances_used += __builtin_popcount(s->used);
        for (int k = 0; k < NSTART; k++) {
            if (s->prof[k] < 0) continue;
            t->per_profile[s->prof[k]]++;
            t->per_profile_used[s->prof[k]] += s->used >> k & 1u;
        }
        t->compute_unallocated += unallocated_of(s);
        t->compute_used += s->busy;
    }
    t->compute_slices = t->gpus * MIG_COMPUTE_SLICES;
    t->frag = mp_frag(c, &c->g->profiles[c->largest]);
}

/* ---- checks ---- */

static int check_gpu(const mp_cluster *c, int n, int k, int *nfree, fs_error *err)
{
    const gpu_state *s = gpu_at(c, n, k);
    gpu_state r;
    clear_gpu(&r);
    mig_layout l = {.gpu = c->g};
    int busy = 0;
    for (int st = 0; st < NSTART; st++) {
        int pi = s->prof[st];
        if (pi < 0) continue;
        if (pi >= c->g->nprofiles)
            return fs_error_set(err, NULL, 0, 0, "node %d GPU %d: profile index %d at slot %d", n, k, pi, st);
        const mig_profile *p = &c->g->profiles[pi];
        if (!(p->starts >> st & 1u))
            return fs_error_set(err, NULL, 0, 0, "node %d GPU %d: %s at slot %d, not one of its start slots", n, k,
                                p->name, st);
        unsigned pc = span(st, p->compute_slices), pm = span(st, p->memory_slices);
        if ((pc & r.cmask) || (pm & r.mmask) || pc > ALL_COMPUTE || pm > 0xffu)
            return fs_error_set(err, NULL, 0, 0, "node %d GPU %d: %s at slot %d overlaps another instance or the GPU's end",
                                n, k, p->name, st);
        r.cmask |= (unsigned char)pc;
        r.mmask |= (unsigned char)pm;
        r.key |= (uint64_t)(pi + 1) << (KEY_BITS * st);
        if (s->used >> st & 1u) busy += p->compute_slices;
        else nfree[pi]++;
        l.inst[l.n] = p;
        l.start[l.n++] = st;
    }
    fs_error e;
    if (l.n > 0 && mig_layout_place(&l, &e))
        return fs_error_set(err, NULL, 0, 0, "node %d GPU %d: not a valid layout: %s", n, k, e.msg);
    if (r.cmask != s->cmask || r.mmask != s->mmask || r.key != s->key || l.n != s->ninst || busy != s->busy)
        return fs_error_set(err, NULL, 0, 0,
                            "node %d GPU %d: counters disagree with the instances (masks %#x/%#x vs %#x/%#x, "
                            "%d vs %d instances, %d vs %d busy slices)",
                            n, k, s->cmask, s->mmask, r.cmask, r.mmask, s->ninst, l.n, s->busy, busy);
    for (int st = 0; st < 8; st++)
        if ((s->used >> st & 1u) && (st >= NSTART || s->prof[st] < 0))
            return fs_error_set(err, NULL, 0, 0, "node %d GPU %d: slot %d marked in use holds no instance", n, k, st);
    return 0;
}

int mp_check(const mp_cluster *c, fs_error *err)
{
    int nfree[MIG_MAX_PROFILES] = {0};
    for (int n = 0; n < c->nodes; n++) {
        int used = 0;
        for (int k = 0; k < c->per_node; k++) {
            if (check_gpu(c, n, k, nfree, err)) return -1;
            used += __builtin_popcount(gpu_at(c, n, k)->used);
        }
        if (used != c->node[n].used)
            return fs_error_set(err, NULL, 0, 0, "node %d: %d instances in use, counted %d", n, used, c->node[n].used);
    }
    for (int i = 0; i < c->g->nprofiles; i++)
        if (nfree[i] != c->nfree[i])
            return fs_error_set(err, NULL, 0, 0, "%s: %d free instances, counted %d", c->g->profiles[i].name, nfree[i],
                                c->nfree[i]);
    return 0;
}
