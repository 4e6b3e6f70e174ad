/* MIG profiles and layouts: see mig.h. */
#include "mig.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jsonv.h"

/* The shipped data, compiled in by gpu/embed.cmake. */
extern const unsigned char fs_catalog_mig_json[];
extern const size_t fs_catalog_mig_json_len;

#define DATA_FILE "gpu/data/mig.json"
#define GIB (1024.0 * 1024 * 1024)
#define MAX_ITEMS 64 /* items of a written layout; more cannot fit anyway */

struct mig_table {
    mig_gpu *gpus;
    size_t ngpus;
};

const mig_gpu *mig_gpu_find(const mig_table *t, const char *gpu)
{
    for (size_t i = 0; i < t->ngpus; i++)
        if (strcasecmp(t->gpus[i].name, gpu) == 0) return &t->gpus[i];
    return NULL;
}

const mig_profile *mig_profile_find(const mig_gpu *g, const char *name)
{
    for (int i = 0; i < g->nprofiles; i++)
        if (strcasecmp(g->profiles[i].name, name) == 0) return &g->profiles[i];
    return NULL;
}

/* ---- placement ---- */

static unsigned span(int start, int len) { return ((1u << len) - 1) << start; }

/* Instances in search order, and the start found for each. */
typedef struct search {
    int n;
    const mig_profile *p[MIG_MAX_INSTANCES];
    int from[MIG_MAX_INSTANCES]; /* index in the layout */
    int start[MIG_MAX_INSTANCES];
} search;

/* Depth first over instances, each at its allowed starts in ascending order. Copies of one
 * profile are adjacent in the search order and take ascending starts: any placement can be
 * reordered so, and it saves trying the copies' permutations. */
static bool dfs(search *s, int k, unsigned cmask, unsigned mmask)
{
    if (k == s->n) return true;
    const mig_profile *p = s->p[k];
    int lo = k > 0 && s->p[k - 1] == p ? s->start[k - 1] + 1 : 0;
    for (int st = lo; st < MIG_MEMORY_SLICES; st++) {
        if (!(p->starts >> st & 1u)) continue;
        unsigned c = span(st, p->compute_slices), m = span(st, p->memory_slices);
        if ((c & cmask) || (m & mmask)) continue;
        s->start[k] = st;
        if (dfs(s, k + 1, cmask | c, mmask | m)) return true;
    }
    return false;
}

/* Search order: more memory slices first, then more compute slices, then the GPU's profile
 * order (so copies are adjacent), then the order written. */
static bool before(const mig_profile *a, int ia, const mig_profile *b, int ib)
{
    if (a->memory_slices != b->memory_slices) return a->memory_slices > b->memory_slices;
    if (a->compute_slices != b->compute_slices) return a->compute_slices > b->compute_slices;
    if (a != b) return a < b; /* both in one mig_gpu's array */
    return ia < ib;
}

/* Assign starts to l's instances without checks or messages; false when none fits. */
static bool place(mig_layout *l)
{
    search s = {.n = l->n};
    for (int i = 0; i < l->n; i++) { /* insertion sort: n <= 7 */
        int j = i;
        while (j > 0 && before(l->inst[i], i, s.p[j - 1], s.from[j - 1])) {
            s.p[j] = s.p[j - 1];
            s.from[j] = s.from[j - 1];
            j--;
        }
        s.p[j] = l->inst[i];
        s.from[j] = i;
    }
    if (!dfs(&s, 0, 0, 0)) return false;
    for (int k = 0; k < s.n; k++) l->start[s.from[k]] = s.start[k];
    return true;
}

/* "3g.40gb, 2g.20gb, 1g.10gb" */
static void list_profiles(char *buf, size_t size, const mig_profile *const *v, int n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++) {
        int k = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", v[i]->name);
        if (k > 0) len += (size_t)k;
    }
}

/* "0,2,4" */
static void list_starts(char *buf, size_t size, unsigned starts)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int s = 0; s < MIG_MEMORY_SLICES && len < size; s++)
        if (starts >> s & 1u) {
            int k = snprintf(buf + len, size - len, "%s%d", len ? "," : "", s);
            if (k > 0) len += (size_t)k;
        }
}

/* The rules that need no placement: instances per profile, then compute, then memory slices. */
static int check_counts(const mig_gpu *g, const mig_profile *const *v, int n, fs_error *err)
{
    int count[MIG_MAX_PROFILES] = {0}, compute = 0, memory = 0;
    for (int i = 0; i < n; i++) {
        FS_ASSERT(v[i] >= g->profiles && v[i] < g->profiles + g->nprofiles);
        count[v[i] - g->profiles]++;
        compute += v[i]->compute_slices;
        memory += v[i]->memory_slices;
    }
    for (int i = 0; i < g->nprofiles; i++)
        if (count[i] > g->profiles[i].max_instances)
            return fs_error_set(err, NULL, 0, 0, "too many %s instances on %s: %d requested, at most %d fit",
                                g->profiles[i].name, g->name, count[i], g->profiles[i].max_instances);
    char list[512];
    list_profiles(list, sizeof list, v, n);
    if (compute > MIG_COMPUTE_SLICES)
        return fs_error_set(err, NULL, 0, 0, "compute slices exhausted on %s: %s need %d of %d", g->name, list,
                            compute, MIG_COMPUTE_SLICES);
    if (memory > MIG_MEMORY_SLICES)
        return fs_error_set(err, NULL, 0, 0, "memory slices exhausted on %s: %s need %d of %d", g->name, list, memory,
                            MIG_MEMORY_SLICES);
    return 0;
}

int mig_layout_place(mig_layout *l, fs_error *err)
{
    FS_ASSERT(l->gpu && l->n <= MIG_MAX_INSTANCES);
    if (l->n < 1) return fs_error_set(err, NULL, 0, 0, "empty MIG layout for %s: expected at least one instance", l->gpu->name);
    if (check_counts(l->gpu, l->inst, l->n, err)) return -1;
    if (place(l)) return 0;
    char list[512], slots[256] = "";
    list_profiles(list, sizeof list, l->inst, l->n);
    size_t len = 0;
    for (int i = 0; i < l->n && len < sizeof slots; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++) seen = seen || l->inst[j] == l->inst[i];
        if (seen) continue;
        char s[32];
        list_starts(s, sizeof s, l->inst[i]->starts);
        int k = snprintf(slots + len, sizeof slots - len, "%s%s at %s", len ? "; " : "", l->inst[i]->name, s);
        if (k > 0) len += (size_t)k;
    }
    return fs_error_set(err, NULL, 0, 0,
                        "no start-slot assignment fits %s on %s: the slices suffice in number, but not at the "
                        "allowed start slots (%s)",
                        list, l->gpu->name, slots);
}

/* ---- parsing ---- */

static int unknown_profile(const mig_gpu *g, const char *name, fs_error *err)
{
    char names[512];
    size_t len = 0;
    names[0] = '\0';
    for (int i = 0; i < g->nprofiles && len < sizeof names; i++) {
        int k = snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", g->profiles[i].name);
        if (k > 0) len += (size_t)k;
    }
    return fs_error_set(err, NULL, 0, 0, "unknown MIG profile '%s' for %s: expected one of %s", name, g->name, names);
}

/* Copy s[0..n) without surrounding spaces into out (cut at size - 1). */
static void trimmed(char *out, size_t size, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n > size - 1) n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* `all-<profile>`, mig-parted's `.me` suffix read as `+me`. */
static const mig_profile *find_all(const mig_gpu *g, const char *name)
{
    const mig_profile *p = mig_profile_find(g, name);
    char alt[sizeof p->name];
    size_t n = strlen(name);
    if (p || n < 3 || n >= sizeof alt || strcasecmp(name + n - 3, ".me") != 0) return p;
    snprintf(alt, sizeof alt, "%.*s+me", (int)(n - 3), name);
    return mig_profile_find(g, alt);
}

int mig_layout_parse(const mig_gpu *g, const char *text, mig_layout *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    out->gpu = g;
    char all[256];
    trimmed(all, sizeof all, text, strlen(text));
    if (!all[0])
        return fs_error_set(err, NULL, 0, 0,
                            "empty MIG layout for %s: expected all-<profile> or a comma-separated list of profiles",
                            g->name);
    const mig_profile *v[MAX_ITEMS] = {0}; /* zeroed: gcc -O2 cannot see that n items are set */
    int n = 0;
    if (strncasecmp(all, "all-", 4) == 0) {
        const mig_profile *p = find_all(g, all + 4);
        if (!p) return unknown_profile(g, all + 4, err);
        for (n = 0; n < p->max_instances; n++) v[n] = p;
    } else {
        for (const char *s = text;;) {
            const char *comma = strchr(s, ',');
            char name[64];
            trimmed(name, sizeof name, s, comma ? (size_t)(comma - s) : strlen(s));
            if (!name[0])
                return fs_error_set(err, NULL, 0, 0, "empty item %d in MIG layout '%s': expected a profile name", n + 1,
                                    all);
            if (n == MAX_ITEMS)
                return fs_error_set(err, NULL, 0, 0, "MIG layout '%.60s...' lists more than %d instances", all,
                                    MAX_ITEMS);
            if (!(v[n++] = mig_profile_find(g, name))) return unknown_profile(g, name, err);
            if (!comma) break;
            s = comma + 1;
        }
    }
    if (check_counts(g, v, n, err)) return -1;
    FS_ASSERT(n <= MIG_MAX_INSTANCES); /* every profile takes a compute slice */
    out->n = n;
    memcpy(out->inst, v, (size_t)n * sizeof v[0]);
    return mig_layout_place(out, err);
}

/* ---- enumeration ---- */

static void walk(const mig_gpu *g, int i, int *count, int compute, int memory, mig_visit_fn *visit, void *arg,
                 size_t *found)
{
    if (i == g->nprofiles) {
        mig_layout l = {.gpu = g};
        for (int k = 0; k < g->nprofiles; k++)
            for (int c = 0; c < count[k]; c++) l.inst[l.n++] = &g->profiles[k];
        if (l.n == 0 || !place(&l)) return;
        (*found)++;
        if (visit) visit(&l, arg);
        return;
    }
    const mig_profile *p = &g->profiles[i];
    for (int k = 0; k <= p->max_instances; k++) {
        int c = compute + k * p->compute_slices, m = memory + k * p->memory_slices;
        if (c > MIG_COMPUTE_SLICES || m > MIG_MEMORY_SLICES) break;
        count[i] = k;
        walk(g, i + 1, count, c, m, visit, arg, found);
    }
    count[i] = 0;
}

size_t mig_enumerate(const mig_gpu *g, mig_visit_fn *visit, void *arg)
{
    int count[MIG_MAX_PROFILES] = {0};
    size_t found = 0;
    walk(g, 0, count, 0, 0, visit, arg, &found);
    return found;
}

/* ---- resources ---- */

gpu_slice mig_slice(const mig_gpu *g, const mig_profile *p)
{
    return (gpu_slice){.memory_bytes = p->memory_bytes, .sms = p->sms, .compute_share = (double)p->sms / g->sm_count,
                       .bandwidth_share = (double)p->memory_slices / MIG_MEMORY_SLICES};
}

int mig_check_tp(const mig_profile *p, int tp, fs_error *err)
{
    if (tp < 1) return fs_error_set(err, NULL, 0, 0, "expected tensor parallelism >= 1, got %d", tp);
    if (tp == 1) return 0;
    return fs_error_set(err, NULL, 0, 0,
                        "tensor parallelism %d needs %d GPUs linked peer to peer, but MIG instances (here %s) have "
                        "no peer-to-peer link: use tp 1 on a MIG instance, or whole GPUs",
                        tp, tp, p->name);
}

/* ---- loading ---- */

static const char *const top_keys[] = {"_comment", "gpus", NULL};
static const char *const gpu_keys[] = {"gpu", "sm_count", "source", "profiles", NULL};
static const char *const profile_keys[] = {"name", "compute_slices", "memory_slices", "max_instances", "starts",
                                           "memory_gib", "sms", "note", NULL};

static int load_starts(jv_ctx *jc, json_t *o, const char *path, mig_profile *p)
{
    char pp[JV_PATH_MAX];
    jv_join(pp, path, "starts");
    json_t *a = json_object_get(o, "starts");
    if (!json_is_array(a) || json_array_size(a) == 0) return jv_bad(jc, pp, "a non-empty array of start slots", a);
    size_t i;
    json_t *v;
    int last = -1;
    json_array_foreach(a, i, v) {
        char pi[JV_PATH_MAX], want[96];
        jv_join_index(pi, pp, i);
        /* the instance must end inside the GPU: memory_slices and compute_slices from the start */
        int hi = MIG_MEMORY_SLICES - p->memory_slices;
        if (MIG_COMPUTE_SLICES - p->compute_slices < hi) hi = MIG_COMPUTE_SLICES - p->compute_slices;
        snprintf(want, sizeof want, "an integer in %d..%d, above the previous start", last + 1, hi);
        if (!json_is_integer(v) || json_integer_value(v) <= last || json_integer_value(v) > hi)
            return jv_bad(jc, pi, want, v);
        last = (int)json_integer_value(v);
        p->starts |= 1u << last;
    }
    return 0;
}

/* "3g.40gb" or "1g.10gb+me" whose leading number is the compute slices. */
static bool name_ok(const char *name, long long compute)
{
    char *end;
    if (!isdigit((unsigned char)name[0]) || strtol(name, &end, 10) != compute || strncmp(end, "g.", 2) != 0) return false;
    const char *gb = end + 2;
    if (!isdigit((unsigned char)gb[0]) || strtol(gb, &end, 10) <= 0 || strncmp(end, "gb", 2) != 0) return false;
    return end[2] == '\0' || strcmp(end + 2, "+me") == 0;
}

static int load_profile(jv_ctx *jc, json_t *o, const char *path, int sm_count, mig_profile *p)
{
    const char *name, *note;
    long long compute, memory, max, sms;
    double gib;
    memset(p, 0, sizeof *p);
    if (!json_is_object(o)) return jv_bad(jc, path, "an object", o);
    if (jv_check_keys(jc, o, path, profile_keys) || jv_get_str(jc, o, path, "name", true, NULL, NULL, &name) ||
        jv_get_int(jc, o, path, "compute_slices", true, 0, 1, MIG_COMPUTE_SLICES, &compute) ||
        jv_get_int(jc, o, path, "memory_slices", true, 0, 1, MIG_MEMORY_SLICES, &memory) ||
        jv_get_int(jc, o, path, "max_instances", true, 0, 1, MIG_MAX_INSTANCES, &max) ||
        jv_get_num(jc, o, path, "memory_gib", true, 0, 0, true, 1e4, &gib) ||
        jv_get_int(jc, o, path, "sms", true, 0, 1, sm_count, &sms) ||
        (json_object_get(o, "note") && jv_get_str(jc, o, path, "note", true, NULL, NULL, &note)))
        return -1;
    if (strlen(name) >= sizeof p->name || !name_ok(name, compute)) {
        char pn[JV_PATH_MAX];
        jv_join(pn, path, "name");
        return fs_error_at(jc->err, jc->file, pn,
                           "expected a profile name <compute slices>g.<GB>gb, optionally with +me, and %lld compute "
                           "slices, got \"%s\"",
                           compute, name);
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    p->compute_slices = (int)compute;
    p->memory_slices = (int)memory;
    p->max_instances = (int)max;
    p->memory_bytes = gib * GIB;
    p->sms = (int)sms;
    return load_starts(jc, o, path, p);
}

static int load_gpu(jv_ctx *jc, json_t *o, const char *path, const mig_table *t, mig_gpu *g)
{
    const char *name, *source;
    long long sms;
    json_t *ps;
    char pp[JV_PATH_MAX];
    memset(g, 0, sizeof *g);
    if (!json_is_object(o)) return jv_bad(jc, path, "an object", o);
    if (jv_check_keys(jc, o, path, gpu_keys) || jv_get_str(jc, o, path, "gpu", true, NULL, NULL, &name) ||
        jv_get_int(jc, o, path, "sm_count", true, 0, 1, 100000, &sms) ||
        jv_get_str(jc, o, path, "source", true, NULL, NULL, &source))
        return -1;
    jv_join(pp, path, "gpu");
    if (strlen(name) >= sizeof g->name) return fs_error_at(jc->err, jc->file, pp, "expected at most %zu bytes", sizeof g->name - 1);
    if (mig_gpu_find(t, name)) return fs_error_at(jc->err, jc->file, pp, "GPU \"%s\" is listed twice", name);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->sm_count = (int)sms;
    jv_join(pp, path, "profiles");
    ps = json_object_get(o, "profiles");
    if (!json_is_array(ps) || json_array_size(ps) == 0 || json_array_size(ps) > MIG_MAX_PROFILES) {
        char want[64];
        snprintf(want, sizeof want, "an array of 1 to %d profiles", MIG_MAX_PROFILES);
        return jv_bad(jc, pp, want, ps);
    }
    size_t i;
    json_t *v;
    json_array_foreach(ps, i, v) {
        char pi[JV_PATH_MAX];
        jv_join_index(pi, pp, i);
        mig_profile *p = &g->profiles[i];
        if (load_profile(jc, v, pi, g->sm_count, p)) return -1;
        if (mig_profile_find(g, p->name)) return fs_error_at(jc->err, jc->file, pi, "profile \"%s\" is listed twice", p->name);
        g->nprofiles++;
        /* max_instances copies must fit alone; fewer than geometry allows is fine (+me: the media
         * engines exist once) */
        mig_layout l = {.gpu = g, .n = p->max_instances};
        for (int k = 0; k < l.n; k++) l.inst[k] = p;
        if (!place(&l))
            return fs_error_at(jc->err, jc->file, pi, "max_instances %d of \"%s\" do not fit at its start slots",
                               p->max_instances, p->name);
    }
    return 0;
}

mig_table *mig_table_new(fs_error *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)fs_catalog_mig_json, fs_catalog_mig_json_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fs_error_set(err, DATA_FILE, je.line, je.column, "%s", je.text);
        return NULL;
    }
    jv_ctx jc = {DATA_FILE, err};
    mig_table *t = fs_xcalloc(1, sizeof *t);
    json_t *gs = json_object_get(root, "gpus");
    int rc = 0;
    if (!json_is_object(root)) rc = jv_bad(&jc, "(top level)", "an object with \"gpus\"", root);
    else if (jv_check_keys(&jc, root, "", top_keys)) rc = -1;
    else if (!json_is_array(gs) || json_array_size(gs) == 0) rc = jv_bad(&jc, "gpus", "a non-empty array", gs);
    if (rc == 0) {
        t->gpus = fs_xcalloc(json_array_size(gs), sizeof *t->gpus);
        for (size_t i = 0; i < json_array_size(gs) && rc == 0; i++) {
            char p[JV_PATH_MAX];
            jv_join_index(p, "gpus", i);
            rc = load_gpu(&jc, json_array_get(gs, i), p, t, &t->gpus[i]);
            if (rc == 0) t->ngpus++;
        }
    }
    json_decref(root);
    if (rc) {
        mig_table_free(t);
        return NULL;
    }
    return t;
}

void mig_table_free(mig_table *t)
{
    if (!t) return;
    free(t->gpus);
    free(t);
}
