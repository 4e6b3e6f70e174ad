/*
 * The openb trace reader and its replay; see openb.h for the format and what a replay measures.
 *
 * The lists are small (a few thousand rows), so each file is read whole and read a line per
 * record (sim/base/csvlines.h), which keeps line numbers exact. A record may not span lines:
 * openb has none, and a line with an unclosed quote is reported.
 */
#define _POSIX_C_SOURCE 200809L
#include "openb.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvlines.h"
#include "readfile.h"
#include "rng.h"

/* ---- CSV lines (sim/base/csvlines.h) ---- */

typedef struct csv_in {
    const char *path;
    char *data;          /* the whole file */
    csv_lines r;
} csv_in;

static const char *field(const csv_in *in, int i) { return csv_lines_field(&in->r, i); }
static int next_record(csv_in *in, fs_error *err) { return csv_lines_next(&in->r, err); }

static int csv_open(csv_in *in, const char *path, fs_error *err)
{
    *in = (csv_in){.path = path};
    size_t len = 0;
    int rc = fs_read_file(path, &in->data, &len, err);
    csv_lines_init(&in->r, path, in->data ? in->data : "", len);
    return rc;
}

static void csv_close(csv_in *in)
{
    csv_lines_fini(&in->r);
    free(in->data);
}

/* Header: the index of each wanted column (-1 when absent and optional). */
static int header(csv_in *in, const char *const *names, const bool *required, int n, int *col, fs_error *err)
{
    int rc = next_record(in, err);
    if (rc < 0) return -1;
    if (rc == 0) return fs_error_set(err, in->path, 0, 0, "the file is empty (expected a header line)");
    for (int k = 0; k < n; k++) {
        col[k] = -1;
        for (int i = 0; i < in->r.nf && col[k] < 0; i++)
            if (strcmp(field(in, i), names[k]) == 0) col[k] = i;
        if (col[k] < 0 && required[k]) {
            char list[200] = "";
            for (int i = 0; i < in->r.nf; i++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", field(in, i));
            }
            return fs_error_set(err, in->path, in->r.line, 0, "expected a column named '%s' in the header, found: %s",
                                names[k], list);
        }
    }
    return 0;
}

static int check_width(const csv_in *in, int width, fs_error *err)
{
    if (in->r.nf != width)
        return fs_error_set(err, in->path, in->r.line, 0, "expected %d fields as in the header, found %d", width,
                            in->r.nf);
    return 0;
}

/* Field i as an integer in lo..hi (the whole field, decimal digits only). */
static int field_int(const csv_in *in, int i, const char *name, int64_t lo, int64_t hi, int64_t *out, fs_error *err)
{
    const char *s = field(in, i);
    char *end;
    errno = 0;
    long long v = (*s >= '0' && *s <= '9') ? strtoll(s, &end, 10) : 0;
    if (!(*s >= '0' && *s <= '9') || errno || *end || v < lo || v > hi)
        return fs_error_set(err, in->path, in->r.line, i + 1, "column '%s': expected an integer %lld..%lld, got '%s'",
                            name, (long long)lo, (long long)hi, s);
    *out = v;
    return 0;
}

static bool is_nan_text(const char *s) { return *s == '\0' || strcasecmp(s, "nan") == 0; }

#define MAX_AMOUNT INT64_C(1000000000000) /* CPU milli-cores or MiB: far above any node */

/* ---- the lists ---- */

enum { N_SN, N_CPU, N_MEM, N_GPU, N_MODEL, N_COLS };
enum { P_NAME, P_CPU, P_MEM, P_NUM, P_MILLI, P_SPEC, P_COLS };

static int model_id(openb_trace *t, const csv_in *in, int col, const char *name, fs_error *err)
{
    for (int m = 0; m < t->nmodels; m++)
        if (strcmp(t->models[m], name) == 0) return m;
    if (t->nmodels == PL_MAX_MODELS)
        return fs_error_set(err, in->path, in->r.line, col + 1, "column 'model': more than %d GPU models (at '%s')",
                            PL_MAX_MODELS, name);
    t->models[t->nmodels] = fs_xstrdup(name);
    return t->nmodels++;
}

static int load_nodes(openb_trace *t, const char *path, fs_error *err)
{
    static const char *const names[N_COLS] = {"sn", "cpu_milli", "memory_mib", "gpu", "model"};
    static const bool required[N_COLS] = {false, true, true, true, true};
    csv_in in;
    int col[N_COLS], width, rc = csv_open(&in, path, err);
    if (rc == 0) rc = header(&in, names, required, N_COLS, col, err);
    width = in.r.nf;
    size_t cap = 0;
    while (rc == 0 && (rc = next_record(&in, err)) == 1) {
        int64_t cpu, mem, gpus;
        rc = -1;
        if (check_width(&in, width, err) || field_int(&in, col[N_CPU], "cpu_milli", 0, MAX_AMOUNT, &cpu, err) ||
            field_int(&in, col[N_MEM], "memory_mib", 0, MAX_AMOUNT, &mem, err) ||
            field_int(&in, col[N_GPU], "gpu", 0, PL_MAX_GPUS, &gpus, err))
            break;
        int model = -1;
        if (gpus > 0) {
            const char *name = field(&in, col[N_MODEL]);
            if (is_nan_text(name)) {
                fs_error_set(err, path, in.r.line, col[N_MODEL] + 1, "column 'model': expected the GPU model of a "
                             "node with %lld GPUs, got '%s'", (long long)gpus, name);
                break;
            }
            if ((model = model_id(t, &in, col[N_MODEL], name, err)) < 0) break;
        }
        if (t->nnodes == INT32_MAX) {
            fs_error_set(err, path, in.r.line, 0, "too many nodes");
            break;
        }
        t->nodes = fs_xgrow(t->nodes, &cap, (size_t)t->nnodes + 1, sizeof *t->nodes);
        t->nodes[t->nnodes++] = (pl_node_spec){cpu, mem, (int)gpus, model};
        t->gpu_milli += gpus * PL_MILLI;
        rc = 0;
    }
    if (rc == 0 && t->nnodes == 0) rc = fs_error_set(err, path, in.r.line, 0, "no nodes after the header");
    if (rc == 0 && t->gpu_milli == 0)
        rc = fs_error_set(err, path, 0, 0, "no node has a GPU (the load is measured against GPU capacity)");
    csv_close(&in);
    return rc < 0 ? -1 : 0;
}

/* gpu_spec: model names separated by '|'; names not in the node list are left out. */
static uint64_t spec_models(const openb_trace *t, const char *spec)
{
    if (is_nan_text(spec)) return PL_ANY_MODEL;
    uint64_t set = 0;
    for (const char *s = spec; *s;) {
        const char *e = strchr(s, '|');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        while (n && (*s == ' ' || *s == '\t')) s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
        for (int m = 0; m < t->nmodels && n; m++)
            if (strlen(t->models[m]) == n && memcmp(t->models[m], s, n) == 0) set |= UINT64_C(1) << m;
        if (!e) break;
        s = e + 1;
    }
    return set;
}

static int load_pods(openb_trace *t, const char *path, fs_error *err)
{
    static const char *const names[P_COLS] = {"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec"};
    static const bool required[P_COLS] = {false, true, true, true, true, false};
    csv_in in;
    int col[P_COLS], width, rc = csv_open(&in, path, err);
    if (rc == 0) rc = header(&in, names, required, P_COLS, col, err);
    width = in.r.nf;
    size_t cap = 0;
    while (rc == 0 && (rc = next_record(&in, err)) == 1) {
        int64_t cpu, mem, num, milli;
        rc = -1;
        if (check_width(&in, width, err) || field_int(&in, col[P_CPU], "cpu_milli", 0, MAX_AMOUNT, &cpu, err) ||
            field_int(&in, col[P_MEM], "memory_mib", 0, MAX_AMOUNT, &mem, err) ||
            field_int(&in, col[P_NUM], "num_gpu", 0, PL_MAX_GPUS, &num, err) ||
            field_int(&in, col[P_MILLI], "gpu_milli", 0, PL_MILLI, &milli, err))
            break;
        if (num > 0 && milli == 0) {
            fs_error_set(err, path, in.r.line, col[P_MILLI] + 1, "column 'gpu_milli': expected 1..%d for a pod with "
                         "num_gpu %lld, got '%s'", PL_MILLI, (long long)num, field(&in, col[P_MILLI]));
            break;
        }
        if (num == 0 && milli > 0) {
            fs_error_set(err, path, in.r.line, col[P_MILLI] + 1, "column 'gpu_milli': expected 0 for a pod with "
                         "num_gpu 0, got '%s'", field(&in, col[P_MILLI]));
            break;
        }
        uint64_t models = col[P_SPEC] >= 0 ? spec_models(t, field(&in, col[P_SPEC])) : PL_ANY_MODEL;
        t->pods = fs_xgrow(t->pods, &cap, t->npods + 1, sizeof *t->pods);
        t->pods[t->npods++] = (pl_pod){cpu, mem, (int)num, (int)milli, num > 0 ? models : PL_ANY_MODEL};
        t->demand_milli += num * milli;
        rc = 0;
    }
    if (rc == 0 && t->npods == 0) rc = fs_error_set(err, path, in.r.line, 0, "no pods after the header");
    if (rc == 0 && t->demand_milli == 0)
        rc = fs_error_set(err, path, 0, 0, "no pod asks for a GPU (the load is GPU demand over GPU capacity)");
    csv_close(&in);
    return rc < 0 ? -1 : 0;
}

int openb_load(openb_trace *t, const char *nodes_path, const char *pods_path, fs_error *err)
{
    *t = (openb_trace){0};
    if (load_nodes(t, nodes_path, err) || load_pods(t, pods_path, err)) {
        openb_fini(t);
        return -1;
    }
    return 0;
}

void openb_fini(openb_trace *t)
{
    for (int m = 0; m < t->nmodels; m++) free(t->models[m]);
    free(t->nodes);
    free(t->pods);
    *t = (openb_trace){0};
}

/* ---- arrivals ---- */

static int64_t demand(const pl_pod *p) { return (int64_t)p->num_gpu * p->gpu_milli; }

size_t openb_arrivals(const openb_trace *t, uint64_t seed, int load_pct, size_t **seq)
{
    FS_ASSERT(load_pct >= 1 && load_pct <= OPENB_MAX_LOAD_PCT && t->npods > 0);
    fs_rng *rng = fs_rng_new(seed, FS_STREAM_SAMPLING, 0);
    if (!rng) fs_oom(sizeof(gsl_rng));
    size_t n = t->npods, cap = n;
    size_t *s = fs_xmalloc(cap * sizeof *s);
    for (size_t i = 0; i < n; i++) s[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = gsl_rng_uniform_int(rng, i + 1), x = s[i];
        s[i] = s[j];
        s[j] = x;
    }
    /* compare demand x 100 with capacity x load_pct: exact in integers */
    int64_t d = t->demand_milli, target = t->gpu_milli * load_pct;
    if (d * 100 > target) {
        while (d * 100 > target) {
            size_t j = gsl_rng_uniform_int(rng, n);
            d -= demand(&t->pods[s[j]]);
            memmove(s + j, s + j + 1, (n - j - 1) * sizeof *s);
            n--;
        }
    } else {
        for (;;) {
            size_t j = gsl_rng_uniform_int(rng, t->npods);
            if ((d + demand(&t->pods[j])) * 100 > target) break;
            d += demand(&t->pods[j]);
            s = fs_xgrow(s, &cap, n + 1, sizeof *s);
            s[n++] = j;
        }
    }
    fs_rng_free(rng);
    *seq = s;
    return n;
}

/* ---- replay ---- */

typedef struct bucket {
    double alloc, frag, ratio;
    long n;
} bucket;

static void figures(const pl_totals *tot, int64_t arrived, openb_figures *f)
{
    double cap = (double)tot->gpu_milli, idle = (double)(tot->gpu_milli - tot->gpu_milli_used);
    f->arrived_pct = 100.0 * (double)arrived / cap;
    f->gpu_alloc_pct = 100.0 * (double)tot->gpu_milli_used / cap;
    f->unalloc_gpus = idle / PL_MILLI;
    f->frag_gpus = tot->frag_milli / PL_MILLI;
    f->frag_ratio_pct = idle > 0 ? 100.0 * tot->frag_milli / idle : 0.0;
}

static void add_figures(openb_figures *sum, const openb_figures *f, double w)
{
    sum->arrived_pct += w * f->arrived_pct;
    sum->gpu_alloc_pct += w * f->gpu_alloc_pct;
    sum->unalloc_gpus += w * f->unalloc_gpus;
    sum->frag_gpus += w * f->frag_gpus;
    sum->frag_ratio_pct += w * f->frag_ratio_pct;
}

/* One seed: its points (per-seed means) into sums, its final figures into r. */
static void replay_seed(const openb_trace *t, pl_cluster *c, const openb_opts *o, uint64_t seed, openb_result *r,
                        bucket *b)
{
    size_t *seq, n = openb_arrivals(t, seed, o->load_pct, &seq);
    fs_rng *rng = fs_rng_new(seed, FS_STREAM_PLACEMENT, 0);
    if (!rng) fs_oom(sizeof(gsl_rng));
    pl_cluster_reset(c);
    pl_cluster_shuffle(c, rng);
    memset(b, 0, (size_t)(o->load_pct + 1) * sizeof *b);
    int64_t arrived = 0;
    pl_totals tot;
    pl_cluster_totals(c, &tot);
    openb_figures f;
    figures(&tot, arrived, &f);
    for (size_t i = 0; i < n; i++) {
        const pl_pod *p = &t->pods[seq[i]];
        pl_spot spot;
        arrived += demand(p);
        if (pl_place(c, o->policy, p, rng, &spot) != 0) {
            r->failed += 1;
            r->failed_gpu_pods += p->num_gpu > 0;
        }
        pl_cluster_totals(c, &tot);
        figures(&tot, arrived, &f);
        long k = lrint(f.arrived_pct); /* half to even, as Python's round */
        FS_ASSERT(k >= 0 && k <= o->load_pct);
        b[k].alloc += f.gpu_alloc_pct;
        b[k].frag += f.frag_gpus;
        b[k].ratio += f.frag_ratio_pct;
        b[k].n++;
    }
    r->pods += (double)n;
    add_figures(&r->final, &f, 1.0);
    for (int i = 0; i < r->npoints; i++) {
        int x = (i + 1) * OPENB_STEP_PCT;
        bucket s = b[x];
        if (s.n == 0)
            for (int k = x - 1; k <= x + 1; k++) {
                if (k < 0 || k > o->load_pct) continue;
                s.alloc += b[k].alloc;
                s.frag += b[k].frag;
                s.ratio += b[k].ratio;
                s.n += b[k].n;
            }
        if (s.n == 0) continue;
        openb_figures pf = {0, s.alloc / s.n, 0, s.frag / s.n, s.ratio / s.n};
        pf.unalloc_gpus = (double)t->gpu_milli / PL_MILLI * (1 - pf.gpu_alloc_pct / 100);
        add_figures(&r->points[i].f, &pf, 1.0);
        r->points[i].seeds++;
    }
    fs_rng_free(rng);
    free(seq);
}

void openb_replay(const openb_trace *t, const openb_opts *o, openb_result *r)
{
    FS_ASSERT(o->seeds >= 1 && o->load_pct >= OPENB_STEP_PCT && o->load_pct <= OPENB_MAX_LOAD_PCT);
    *r = (openb_result){.npoints = o->load_pct / OPENB_STEP_PCT};
    pl_cluster *c = pl_cluster_new(t->nodes, t->nnodes);
    pl_cluster_set_workload(c, t->pods, t->npods);
    r->types = pl_cluster_workload_types(c, &r->types_covered);
    bucket *b = fs_xcalloc((size_t)o->load_pct + 1, sizeof *b);
    for (int s = 0; s < o->seeds; s++) replay_seed(t, c, o, o->seed + (uint64_t)s, r, b);
    double w = 1.0 / o->seeds;
    openb_figures sum = r->final;
    r->final = (openb_figures){0};
    add_figures(&r->final, &sum, w);
    r->pods *= w;
    r->failed *= w;
    r->failed_gpu_pods *= w;
    for (int i = 0; i < r->npoints; i++) {
        openb_point *p = &r->points[i];
        if (p->seeds) {
            sum = p->f;
            p->f = (openb_figures){0};
            add_figures(&p->f, &sum, 1.0 / p->seeds);
        }
        p->f.arrived_pct = (i + 1) * OPENB_STEP_PCT;
    }
    free(b);
    pl_cluster_free(c);
}
