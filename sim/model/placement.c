/*
 * Nodes, GPUs and placement policies; see placement.h for what each policy does and for FGD's
 * fragmentation measure. This file holds the state (free CPU, memory and per-GPU shares of each
 * node), the fit test, the policies' keys and the per-node fragmentation with its cache.
 */
#include "placement.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

static const char *const policy_names[PL_POLICY_COUNT] = {
    "first_fit", "best_fit", "bin_pack", "spread", "gpu_memory_best_fit", "random", "fgd",
};

typedef struct node {
    int64_t cpu_cap, cpu_free, mem_cap, mem_free;
    int gpus, model;
    int gpu_free_sum;  /* sum of free[] */
    int *free;         /* free share of each GPU, in c->free_pool */
    int64_t frag;      /* fragmentation, scaled: sum of weight x milli */
    uint64_t version;  /* bumped at every change; FGD cache entries carry the version they saw */
    bool down;         /* takes no pods (pl_node_set_down) */
} node;

/* A task type of the target workload that a model may host. */
typedef struct task {
    int64_t cpu, w;
    int milli, num;
} task;

/* The target workload as nodes of one model see it: the types it may host, sorted by gpu_milli
 * descending, and the weight of the types that leave all of its free GPU share fragmented
 * (CPU-only types, types not allowed on the model). */
typedef struct task_group {
    task *t;
    int n;
    int64_t w_full;
} task_group;

/* A type while the workload is counted. */
typedef struct type_count {
    int64_t cpu;
    int milli, num;
    uint64_t models;
    int64_t count;
} type_count;

typedef struct shape {
    int64_t cpu;
    int milli, num;
} shape;

typedef struct cache_entry {
    uint64_t version; /* the node's version when computed; 0: never */
    int score;        /* FGD's score, 0..100 (placement.h) */
    uint64_t gpus;    /* the GPUs that give it */
} cache_entry;

struct pl_cluster {
    node *nodes;
    int n;
    int *order;                 /* the scan order: node indices */
    int *free_pool;
    int64_t max_cpu, max_gpu;   /* the largest node's CPU and GPU share, for best_fit */
    int64_t gpu_cap, gpu_used, cpu_cap, cpu_used, mem_cap, mem_used;
    /* target workload */
    task_group groups[PL_MAX_MODELS];
    size_t ntypes, covered;
    int64_t weight;             /* sum of the chosen types' pod counts; 0: no workload */
    int64_t frag_sum;           /* sum of the nodes' frag */
    /* FGD's cache: one row of n entries per pod shape. Shapes are few (88 in openb), so a
     * linear search per pod costs less than the scan of the nodes that follows it. */
    shape *shapes;
    size_t nshapes, shapes_cap;
    cache_entry *cache;
};

const char *pl_policy_name(enum pl_policy p) { return (unsigned)p < PL_POLICY_COUNT ? policy_names[p] : NULL; }

int pl_policy_from_name(const char *name)
{
    for (int i = 0; i < PL_POLICY_COUNT; i++)
        if (strcmp(policy_names[i], name) == 0) return i;
    return -1;
}

/* ---- fragmentation ---- */

/* A node state's fragmentation, scaled. s[0..ng) are the free shares in descending order, sum
 * their total. Along the group's tasks gpu_milli falls, so the GPUs that can host a task (a
 * prefix of s) only grow: one pass over tasks and GPUs together. */
static int64_t frag_sorted(const task_group *g, const int *s, int ng, int sum, int64_t cpu_free)
{
    int64_t f = g->w_full * sum;
    int k = 0, ge = 0;
    for (int i = 0; i < g->n; i++) {
        const task *t = &g->t[i];
        while (k < ng && s[k] >= t->milli) ge += s[k++];
        f += t->w * (k >= t->num && cpu_free >= t->cpu ? sum - ge : sum);
    }
    return f;
}

static int64_t frag_of(const pl_cluster *c, int model, const int *free, int ng, int64_t cpu_free)
{
    if (c->weight == 0 || ng == 0) return 0;
    int s[PL_MAX_GPUS], sum = 0;
    for (int i = 0; i < ng; i++) { /* insertion sort, descending: ng is 8 or fewer in practice */
        int v = free[i], j = i;
        sum += v;
        while (j > 0 && s[j - 1] < v) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = v;
    }
    if (sum == 0) return 0;
    return frag_sorted(&c->groups[model], s, ng, sum, cpu_free);
}

static int64_t node_frag(const pl_cluster *c, const node *nd)
{
    return frag_of(c, nd->model, nd->free, nd->gpus, nd->cpu_free);
}

static void refresh_frag(pl_cluster *c)
{
    c->frag_sum = 0;
    for (int i = 0; i < c->n; i++) {
        node *nd = &c->nodes[i];
        nd->frag = node_frag(c, nd);
        nd->version++;
        c->frag_sum += nd->frag;
    }
}

/* ---- the cluster ---- */

pl_cluster *pl_cluster_new(const pl_node_spec *nodes, int n)
{
    FS_ASSERT(n >= 1);
    pl_cluster *c = fs_xcalloc(1, sizeof *c);
    c->n = n;
    c->nodes = fs_xcalloc((size_t)n, sizeof *c->nodes);
    c->order = fs_xmalloc((size_t)n * sizeof *c->order);
    size_t ngpus = 0;
    for (int i = 0; i < n; i++) {
        const pl_node_spec *s = &nodes[i];
        FS_ASSERT(s->cpu_milli >= 0 && s->memory_mib >= 0 && s->gpus >= 0 && s->gpus <= PL_MAX_GPUS);
        FS_ASSERT(s->gpus == 0 ? s->model == -1 : s->model >= 0 && s->model < PL_MAX_MODELS);
        ngpus += (size_t)s->gpus;
    }
    c->free_pool = fs_xcalloc(ngpus ? ngpus : 1, sizeof *c->free_pool);
    for (int i = 0, off = 0; i < n; i++) {
        const pl_node_spec *s = &nodes[i];
        node *nd = &c->nodes[i];
        c->order[i] = i;
        nd->cpu_cap = s->cpu_milli;
        nd->mem_cap = s->memory_mib;
        nd->gpus = s->gpus;
        nd->model = s->model;
        nd->free = c->free_pool + off;
        off += s->gpus;
        if (s->cpu_milli > c->max_cpu) c->max_cpu = s->cpu_milli;
        if ((int64_t)s->gpus * PL_MILLI > c->max_gpu) c->max_gpu = (int64_t)s->gpus * PL_MILLI;
        c->cpu_cap += s->cpu_milli;
        c->mem_cap += s->memory_mib;
        c->gpu_cap += (int64_t)s->gpus * PL_MILLI;
    }
    if (c->max_cpu == 0) c->max_cpu = 1;
    if (c->max_gpu == 0) c->max_gpu = 1;
    pl_cluster_reset(c);
    return c;
}

static void free_groups(pl_cluster *c)
{
    for (int m = 0; m < PL_MAX_MODELS; m++) {
        free(c->groups[m].t);
        c->groups[m] = (task_group){0};
    }
}

void pl_cluster_free(pl_cluster *c)
{
    if (!c) return;
    free_groups(c);
    free(c->shapes);
    free(c->cache);
    free(c->free_pool);
    free(c->order);
    free(c->nodes);
    free(c);
}

void pl_cluster_reset(pl_cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        node *nd = &c->nodes[i];
        nd->cpu_free = nd->cpu_cap;
        nd->mem_free = nd->mem_cap;
        for (int g = 0; g < nd->gpus; g++) nd->free[g] = PL_MILLI;
        nd->gpu_free_sum = nd->gpus * PL_MILLI;
    }
    c->gpu_used = c->cpu_used = c->mem_used = 0;
    refresh_frag(c);
}

void pl_cluster_shuffle(pl_cluster *c, fs_rng *rng)
{
    for (int i = 0; i < c->n; i++) c->order[i] = i;
    for (int i = c->n - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)gsl_rng_uniform_int(rng, (unsigned long)i + 1), x = c->order[i];
        c->order[i] = c->order[j];
        c->order[j] = x;
    }
}

/* Most popular first; among equals the larger type first (the paper's order, reversed Less). */
static int by_popularity(const void *pa, const void *pb)
{
    const type_count *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    if (a->cpu != b->cpu) return a->cpu > b->cpu ? -1 : 1;
    if (a->milli != b->milli) return a->milli > b->milli ? -1 : 1;
    if (a->num != b->num) return a->num > b->num ? -1 : 1;
    return a->models == b->models ? 0 : a->models > b->models ? -1 : 1;
}

static int by_type(const void *pa, const void *pb)
{
    const type_count *a = pa, *b = pb;
    if (a->cpu != b->cpu) return a->cpu < b->cpu ? -1 : 1;
    if (a->milli != b->milli) return a->milli < b->milli ? -1 : 1;
    if (a->num != b->num) return a->num < b->num ? -1 : 1;
    return a->models == b->models ? 0 : a->models < b->models ? -1 : 1;
}

static int by_milli_desc(const void *pa, const void *pb)
{
    const task *a = pa, *b = pb;
    if (a->milli != b->milli) return a->milli > b->milli ? -1 : 1;
    if (a->num != b->num) return a->num < b->num ? -1 : 1;
    return a->cpu < b->cpu ? -1 : a->cpu > b->cpu;
}

void pl_cluster_set_workload(pl_cluster *c, const pl_pod *pods, size_t n)
{
    free_groups(c);
    c->ntypes = c->covered = 0;
    c->weight = 0;
    type_count *types = fs_xcalloc(n ? n : 1, sizeof *types);
    for (size_t i = 0; i < n; i++) {
        const pl_pod *p = &pods[i];
        bool gpu = p->num_gpu > 0;
        types[i] = (type_count){p->cpu_milli, gpu ? p->gpu_milli : 0, p->num_gpu, gpu ? p->models : PL_ANY_MODEL, 1};
    }
    qsort(types, n, sizeof *types, by_type);
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (nt > 0 && by_type(&types[nt - 1], &types[i]) == 0) types[nt - 1].count++;
        else types[nt++] = types[i];
    }
    qsort(types, nt, sizeof *types, by_popularity);
    /* the most popular types until they cover PL_TYPICAL_PCT of the pods */
    int64_t cum = 0;
    size_t k = 0;
    while (k < nt && cum * 100 < (int64_t)PL_TYPICAL_PCT * (int64_t)n) cum += types[k++].count;
    c->ntypes = k;
    c->covered = (size_t)cum;
    c->weight = cum;
    for (int m = 0; m < PL_MAX_MODELS; m++) {
        task_group *g = &c->groups[m];
        g->t = fs_xcalloc(k ? k : 1, sizeof *g->t);
        for (size_t i = 0; i < k; i++) {
            const type_count *t = &types[i];
            if (t->num == 0 || !((t->models >> m) & 1)) g->w_full += t->count;
            else g->t[g->n++] = (task){t->cpu, t->count, t->milli, t->num};
        }
        qsort(g->t, (size_t)g->n, sizeof *g->t, by_milli_desc);
    }
    free(types);
    refresh_frag(c);
}

size_t pl_cluster_workload_types(const pl_cluster *c, size_t *pods_covered)
{
    if (pods_covered) *pods_covered = c->covered;
    return c->ntypes;
}

void pl_cluster_totals(const pl_cluster *c, pl_totals *t)
{
    *t = (pl_totals){c->gpu_cap, c->gpu_used, c->cpu_cap, c->cpu_used, c->mem_cap, c->mem_used,
                     c->weight ? (double)c->frag_sum / (double)c->weight : 0.0};
}

int pl_node_gpu_free(const pl_cluster *c, int i, int gpu)
{
    FS_ASSERT(i >= 0 && i < c->n && gpu >= 0 && gpu < c->nodes[i].gpus);
    return c->nodes[i].free[gpu];
}

double pl_node_frag(const pl_cluster *c, int i)
{
    FS_ASSERT(i >= 0 && i < c->n);
    return c->weight ? (double)c->nodes[i].frag / (double)c->weight : 0.0;
}

/* ---- placing ---- */

static bool fits(const node *nd, const pl_pod *p)
{
    if (nd->down) return false;
    if (nd->cpu_free < p->cpu_milli || nd->mem_free < p->memory_mib) return false;
    if (p->num_gpu == 0) return true;
    if (nd->model < 0 || !((p->models >> nd->model) & 1) || nd->gpu_free_sum < p->num_gpu * p->gpu_milli) return false;
    int k = 0;
    for (int g = 0; g < nd->gpus && k < p->num_gpu; g++) k += nd->free[g] >= p->gpu_milli;
    return k == p->num_gpu;
}

/* The pod's num_gpu GPUs with the least free share that still fits, lowest index first. */
static uint64_t pick_tightest(const node *nd, const pl_pod *p)
{
    uint64_t set = 0;
    for (int k = 0; k < p->num_gpu; k++) {
        int best = -1;
        for (int g = 0; g < nd->gpus; g++)
            if (!((set >> g) & 1) && nd->free[g] >= p->gpu_milli && (best < 0 || nd->free[g] < nd->free[best])) best = g;
        FS_ASSERT(best >= 0);
        set |= UINT64_C(1) << best;
    }
    return set;
}

/* The GPU for a share of one GPU (num_gpu 1, gpu_milli < 1000) under first_fit, spread or
 * random; the other policies take pick_tightest (fgd chooses in fgd_entry). */
static uint64_t pick_share(enum pl_policy policy, const node *nd, const pl_pod *p, fs_rng *rng)
{
    int best = -1, seen = 0;
    for (int g = 0; g < nd->gpus; g++) {
        if (nd->free[g] < p->gpu_milli) continue;
        if (policy == PL_FIRST_FIT) return UINT64_C(1) << g;
        if (policy == PL_SPREAD) {
            if (best < 0 || nd->free[g] > nd->free[best]) best = g;
        } else if (gsl_rng_uniform_int(rng, (unsigned long)++seen) == 0) { /* random: reservoir */
            best = g;
        }
    }
    FS_ASSERT(best >= 0);
    return UINT64_C(1) << best;
}

static bool is_share(const pl_pod *p) { return p->num_gpu == 1 && p->gpu_milli < PL_MILLI; }

/* The mean allocated fraction of the node's CPU and (when it has any) GPU share after p. */
static double allocated_after(const node *nd, const pl_pod *p)
{
    double sum = 0;
    int terms = 0;
    if (nd->cpu_cap > 0) {
        sum += (double)(nd->cpu_cap - nd->cpu_free + p->cpu_milli) / (double)nd->cpu_cap;
        terms++;
    }
    if (nd->gpus > 0) {
        int64_t cap = (int64_t)nd->gpus * PL_MILLI;
        sum += (double)(cap - nd->gpu_free_sum + (int64_t)p->num_gpu * p->gpu_milli) / (double)cap;
        terms++;
    }
    return terms ? sum / terms : 0.0;
}

/* The paper's score of a fragmentation increase (scaled): the decrease in GPUs through a
 * sigmoid, scaled to 0..100 and cut to an integer (its int64 conversion). */
static int fgd_score(const pl_cluster *c, int64_t increase)
{
    double x = -(double)increase / (double)(c->weight ? c->weight : 1) / PL_MILLI;
    return (int)(100.0 / (1.0 + exp(-x)));
}

/* FGD's entry for node i and the pod's shape: computed when the node changed since. */
static const cache_entry *fgd_entry(pl_cluster *c, cache_entry *row, int i, const pl_pod *p)
{
    node *nd = &c->nodes[i];
    cache_entry *e = &row[i];
    if (e->version == nd->version) return e;
    int tmp[PL_MAX_GPUS];
    memcpy(tmp, nd->free, (size_t)nd->gpus * sizeof *tmp);
    int64_t cpu_after = nd->cpu_free - p->cpu_milli;
    int best = -1;
    uint64_t gpus = 0;
    if (is_share(p)) {
        /* every GPU that fits, each free value once (equal GPUs give equal states); the first
         * best score wins, as in the paper */
        for (int g = 0; g < nd->gpus; g++) {
            if (nd->free[g] < p->gpu_milli) continue;
            bool dup = false;
            for (int h = 0; h < g && !dup; h++) dup = nd->free[h] == nd->free[g];
            if (dup) continue;
            tmp[g] -= p->gpu_milli;
            int s = fgd_score(c, frag_of(c, nd->model, tmp, nd->gpus, cpu_after) - nd->frag);
            tmp[g] += p->gpu_milli;
            if (s > best) {
                best = s;
                gpus = UINT64_C(1) << g;
            }
        }
    } else {
        if (p->num_gpu > 0) gpus = pick_tightest(nd, p);
        for (int g = 0; g < nd->gpus; g++)
            if ((gpus >> g) & 1) tmp[g] -= p->gpu_milli;
        best = fgd_score(c, frag_of(c, nd->model, tmp, nd->gpus, cpu_after) - nd->frag);
    }
    *e = (cache_entry){nd->version, best, gpus};
    return e;
}

/* FGD's cache row for the pod's shape, added (zeroed) on first sight. */
static cache_entry *fgd_row(pl_cluster *c, const pl_pod *p)
{
    size_t s = 0;
    while (s < c->nshapes && !(c->shapes[s].cpu == p->cpu_milli && c->shapes[s].milli == p->gpu_milli &&
                               c->shapes[s].num == p->num_gpu))
        s++;
    if (s == c->nshapes) {
        if (s == c->shapes_cap) {
            size_t cap = c->shapes_cap;
            c->shapes = fs_xgrow(c->shapes, &cap, s + 1, sizeof *c->shapes);
            c->cache = fs_xrealloc(c->cache, cap * (size_t)c->n * sizeof *c->cache);
            memset(c->cache + c->shapes_cap * (size_t)c->n, 0, (cap - c->shapes_cap) * (size_t)c->n * sizeof *c->cache);
            c->shapes_cap = cap;
        }
        c->shapes[s] = (shape){p->cpu_milli, p->gpu_milli, p->num_gpu};
        c->nshapes++;
    }
    return c->cache + s * (size_t)c->n;
}

/* Node i's key under `policy` (lower is better); *gpus is set when the key depends on them. */
static double node_key(pl_cluster *c, enum pl_policy policy, int i, const pl_pod *p, cache_entry *row,
                       uint64_t *gpus)
{
    const node *nd = &c->nodes[i];
    int64_t gpu_left = nd->gpu_free_sum - (int64_t)p->num_gpu * p->gpu_milli;
    switch (policy) {
    case PL_BEST_FIT:
        return (double)((nd->cpu_free - p->cpu_milli) * c->max_gpu + gpu_left * c->max_cpu);
    case PL_BIN_PACK:
        return -allocated_after(nd, p);
    case PL_SPREAD:
        return allocated_after(nd, p);
    case PL_GPU_MEMORY_BEST_FIT: {
        if (p->num_gpu == 0) return (double)(nd->cpu_free - p->cpu_milli);
        *gpus = pick_tightest(nd, p);
        int64_t left = 0;
        for (int g = 0; g < nd->gpus; g++)
            if ((*gpus >> g) & 1) left += nd->free[g] - p->gpu_milli;
        return (double)left * 65536.0 + (double)gpu_left; /* gpu_left < 65536 */
    }
    case PL_FGD: {
        const cache_entry *e = fgd_entry(c, row, i, p);
        *gpus = e->gpus;
        return -(double)e->score;
    }
    case PL_RANDOM:
    case PL_FIRST_FIT:
    case PL_POLICY_COUNT:
        break;
    }
    FS_ASSERT(!"no key for this policy");
    return 0.0;
}

/* Take the pod's resources on node i and GPUs `gpus` (sign 1), or give them back (sign -1). */
static void apply(pl_cluster *c, int i, const pl_pod *p, uint64_t gpus, int sign)
{
    node *nd = &c->nodes[i];
    nd->cpu_free -= sign * p->cpu_milli;
    nd->mem_free -= sign * p->memory_mib;
    for (int g = 0; g < nd->gpus; g++) {
        if (!((gpus >> g) & 1)) continue;
        nd->free[g] -= sign * p->gpu_milli;
        nd->gpu_free_sum -= sign * p->gpu_milli;
        FS_ASSERT(nd->free[g] >= 0 && nd->free[g] <= PL_MILLI);
    }
    FS_ASSERT(nd->cpu_free >= 0 && nd->cpu_free <= nd->cpu_cap && nd->mem_free >= 0 && nd->mem_free <= nd->mem_cap);
    c->cpu_used += sign * p->cpu_milli;
    c->mem_used += sign * p->memory_mib;
    c->gpu_used += sign * (int64_t)p->num_gpu * p->gpu_milli;
    int64_t f = node_frag(c, nd);
    c->frag_sum += f - nd->frag;
    nd->frag = f;
    nd->version++;
}

int pl_place(pl_cluster *c, enum pl_policy policy, const pl_pod *p, fs_rng *rng, pl_spot *out)
{
    FS_ASSERT((unsigned)policy < PL_POLICY_COUNT && (rng || policy != PL_RANDOM));
    FS_ASSERT(p->cpu_milli >= 0 && p->memory_mib >= 0 && p->num_gpu >= 0 && p->num_gpu <= PL_MAX_GPUS);
    FS_ASSERT(p->num_gpu == 0 ? p->gpu_milli == 0 : p->gpu_milli >= 1 && p->gpu_milli <= PL_MILLI);
    cache_entry *row = policy == PL_FGD ? fgd_row(c, p) : NULL;
    int best = -1;
    unsigned long ties = 0;
    double best_key = 0;
    uint64_t best_gpus = 0;
    for (int k = 0; k < c->n; k++) {
        int i = c->order[k];
        if (!fits(&c->nodes[i], p)) continue;
        if (policy == PL_FIRST_FIT) {
            best = i;
            break;
        }
        if (policy == PL_RANDOM) { /* reservoir sampling: each fitting node equally likely */
            if (gsl_rng_uniform_int(rng, ++ties) == 0) best = i;
            continue;
        }
        uint64_t gpus = 0;
        double key = node_key(c, policy, i, p, row, &gpus);
        if (best < 0 || key < best_key) {
            best = i;
            best_key = key;
            best_gpus = gpus;
        }
    }
    if (best < 0) return -1;
    const node *nd = &c->nodes[best];
    if (p->num_gpu > 0 && !best_gpus) {
        bool own = is_share(p) && (policy == PL_FIRST_FIT || policy == PL_SPREAD || policy == PL_RANDOM);
        best_gpus = own ? pick_share(policy, nd, p, rng) : pick_tightest(nd, p);
    }
    apply(c, best, p, best_gpus, 1);
    *out = (pl_spot){best, best_gpus};
    return 0;
}

void pl_unplace(pl_cluster *c, const pl_pod *pod, const pl_spot *spot)
{
    FS_ASSERT(spot->node >= 0 && spot->node < c->n);
    apply(c, spot->node, pod, spot->gpus, -1);
}

void pl_node_set_down(pl_cluster *c, int i, bool down)
{
    FS_ASSERT(i >= 0 && i < c->n);
    node *nd = &c->nodes[i];
    nd->down = down;
    nd->version++;
}

bool pl_node_empty(const pl_cluster *c, int i)
{
    FS_ASSERT(i >= 0 && i < c->n);
    const node *nd = &c->nodes[i];
    return nd->gpu_free_sum == nd->gpus * PL_MILLI && nd->cpu_free == nd->cpu_cap && nd->mem_free == nd->mem_cap;
}
