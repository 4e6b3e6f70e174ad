/* The step-time model against measured operators; see calibrate.h. */
#include "calibrate.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "stats.h"

/* ---- prediction ---- */

/*
 * The single-operator functions of steptime.h take an st_model, made for a GPU, a model, a TP
 * degree and dtypes. Only the GPU, the TP degree (all-reduce) and the dtypes matter to them, so a
 * predictor keeps one st_model per (tp, dtype) over a placeholder model shape, all pointing at
 * its own copy of the GPU entry: a fit changes that copy's perf in place and predicts again
 * without making the models anew. A predictor is heap-allocated and never moved, since the
 * models point into it.
 */
typedef struct keyed_model {
    int tp;
    enum st_dtype dtype;
    st_model m;
} keyed_model;

typedef struct predictor {
    gpu_spec gpu;
    model_spec shape;
    keyed_model *models;
    size_t nmodels, cap;
} predictor;

static predictor *predictor_new(const gpu_spec *g)
{
    predictor *p = fs_xcalloc(1, sizeof *p);
    p->gpu = *g;
    p->shape = (model_spec){.name = "operator", .layers = 1, .hidden = 128, .heads = 1, .kv_heads = 1,
                            .head_dim = 128, .intermediate = 128, .vocab = 128, .dtype_bytes = 2};
    return p;
}

static void predictor_free(predictor *p)
{
    if (!p) return;
    free(p->models);
    free(p);
}

static const st_model *model_for(predictor *p, int tp, enum st_dtype dtype)
{
    for (size_t i = 0; i < p->nmodels; i++)
        if (p->models[i].tp == tp && p->models[i].dtype == dtype) return &p->models[i].m;
    p->models = fs_xgrow(p->models, &p->cap, p->nmodels + 1, sizeof *p->models);
    keyed_model *k = &p->models[p->nmodels++];
    k->tp = tp;
    k->dtype = dtype;
    st_config c = {.model = &p->shape, .gpu = &p->gpu, .tp = tp, .weights = dtype, .kv = dtype,
                   .compute_share = 1, .bandwidth_share = 1};
    st_model_init(&k->m, &c);
    return &k->m;
}

static double predict(predictor *p, const prof_row *r)
{
    const st_model *m = model_for(p, r->op == PROF_ALLREDUCE ? r->gpus : 1, r->dtype);
    switch (r->op) {
    case PROF_GEMM: return st_gemm(m, r->m, r->n, r->k);
    case PROF_ATTN_DECODE: return st_attention_decode_op(m, r->batch, r->kv_len, r->heads, r->kv_heads, r->head_dim);
    case PROF_ATTN_PREFILL:
        return st_attention_prefill_op(m, r->batch, r->q_len, r->kv_len - r->q_len, r->heads, r->kv_heads,
                                       r->head_dim);
    case PROF_ALLREDUCE: return st_allreduce(m, r->bytes);
    case PROF_ELEMENTWISE: return st_elementwise(m, r->bytes);
    case PROF_NOPS: break;
    }
    FS_ASSERT(!"a profile row with no operator");
    return 0;
}

double cal_predict(const gpu_spec *g, const prof_row *r)
{
    predictor *p = predictor_new(g);
    double t = predict(p, r);
    predictor_free(p);
    return t;
}

/* ---- the held-out split ---- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

bool cal_held_out(const prof_row *r, unsigned every)
{
    if (every == 0) return false;
    char key[512];
    snprintf(key, sizeof key, "%d|%s|%s|%d|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%d", (int)r->op,
             r->name, r->group, (int)r->dtype, r->m, r->n, r->k, r->batch, r->q_len, r->kv_len, r->heads, r->kv_heads,
             r->head_dim, r->bytes, r->gpus);
    return fnv1a(key) % every == 0;
}

bool cal_in_part(const prof_row *r, unsigned every, cal_part part)
{
    return part == CAL_ALL || cal_held_out(r, every) == (part == CAL_HELD);
}

static bool excluded(const prof_row *r, const char *const *exclude)
{
    for (size_t i = 0; exclude && exclude[i]; i++)
        if (strcmp(r->name, exclude[i]) == 0 || strcmp(prof_op_name(r->op), exclude[i]) == 0) return true;
    return false;
}

bool cal_selected(const prof_row *r, unsigned every, cal_part part, const char *const *exclude)
{
    return cal_in_part(r, every, part) && !excluded(r, exclude);
}

/* ---- errors ---- */

static size_t stat_index(cal_report *rep, prof_op op, const char *name, bool family)
{
    for (size_t i = 0; i < rep->n; i++)
        if (rep->v[i].op == op && rep->v[i].family == family && strcmp(rep->v[i].name, name) == 0) return i;
    rep->v = fs_xgrow(rep->v, &rep->cap, rep->n + 1, sizeof *rep->v);
    cal_stat *s = &rep->v[rep->n];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->op = op;
    s->family = family;
    return rep->n++;
}

/* Fill one line from its rows' signed errors (sorted here). */
static void summarize(cal_stat *s, double *sgn, size_t n)
{
    double *ape = fs_xmalloc((n ? n : 1) * sizeof *ape);
    for (size_t i = 0; i < n; i++) ape[i] = fabs(sgn[i]);
    fs_sort_doubles(ape, n);
    fs_sort_doubles(sgn, n);
    s->n = n;
    s->median_ape = fs_quantile_sorted(ape, n, 0.5);
    s->p90_ape = fs_quantile_sorted(ape, n, 0.9);
    s->bias = fs_quantile_sorted(sgn, n, 0.5);
    free(ape);
}

/* Families in prof_op order, each followed by its operators in the order they were first read,
 * the operators shown only where they say more than the family's line. */
static void order_report(cal_report *rep)
{
    cal_stat *sorted = fs_xmalloc((rep->n ? rep->n : 1) * sizeof *sorted);
    size_t k = 0;
    for (int op = 0; op < PROF_NOPS; op++) {
        size_t names = 0, fam = SIZE_MAX;
        for (size_t i = 0; i < rep->n; i++) {
            if (rep->v[i].op != (prof_op)op) continue;
            if (rep->v[i].family) fam = i;
            else names++;
        }
        if (fam == SIZE_MAX) continue;
        sorted[k++] = rep->v[fam];
        for (size_t i = 0; i < rep->n; i++) {
            const cal_stat *s = &rep->v[i];
            if (s->op != (prof_op)op || s->family) continue;
            if (names > 1 || strcmp(s->name, prof_op_name((prof_op)op)) != 0) sorted[k++] = *s;
        }
    }
    free(rep->v);
    rep->v = sorted;
    rep->n = rep->cap = k;
}

void cal_errors(const gpu_spec *g, const prof_set *s, unsigned every, cal_part part, const char *const *exclude,
                cal_report *out)
{
    memset(out, 0, sizeof *out);
    predictor *p = predictor_new(g);
    /* each selected row's signed error, and the two lines (family, operator) it counts in */
    double *sgn = fs_xmalloc((s->n ? s->n : 1) * sizeof *sgn);
    size_t *fam = fs_xmalloc((s->n ? s->n : 1) * sizeof *fam), *name = fs_xmalloc((s->n ? s->n : 1) * sizeof *name);
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const prof_row *r = &s->rows[i];
        if (!cal_selected(r, every, part, exclude)) continue;
        sgn[n] = (predict(p, r) - r->seconds) / r->seconds;
        fam[n] = stat_index(out, r->op, prof_op_name(r->op), true);
        name[n] = stat_index(out, r->op, r->name, false);
        for (int j = 0; j < 2; j++) {
            cal_stat *st = &out->v[j ? name[n] : fam[n]];
            if (st->n++ == 0 || fabs(sgn[n]) > st->worst_ape) {
                st->worst_ape = fabs(sgn[n]);
                st->worst = i;
            }
        }
        n++;
    }
    double *buf = fs_xmalloc((n ? n : 1) * sizeof *buf);
    for (size_t g_i = 0; g_i < out->n; g_i++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (fam[i] == g_i || name[i] == g_i) buf[m++] = sgn[i];
        summarize(&out->v[g_i], buf, m);
    }
    free(buf);
    free(sgn);
    free(fam);
    free(name);
    predictor_free(p);
    order_report(out);
}

void cal_report_fini(cal_report *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* ---- fitting ---- */

/*
 * The parameters a fit may change, the families of rows that shape each (in the closed-form
 * attention model and in the wave model: attn_waves), and its range: a fraction in (0, 1) through
 * a logistic map, anything else in (lo, hi) through a logistic map of its logarithm (hi is what
 * the catalog accepts). A fit starts from the entry's own value, or from `start` where the entry
 * has 0: a term it leaves out (gemm_n_half, attn_pad, ...) or, for attn_mem_eff, "as mem_eff".
 */
#define FAM(op) (1u << (op))
#define ATTN (FAM(PROF_ATTN_DECODE) | FAM(PROF_ATTN_PREFILL))
typedef struct param {
    const char *key;
    size_t off;
    bool fraction;
    double lo, hi, start;
    unsigned families, wave_families;
} param;

static const param params[] = {
    {"gemm_eff", offsetof(gpu_perf, gemm_eff), true, 0, 1, 0.9, FAM(PROF_GEMM), FAM(PROF_GEMM)},
    {"gemm_m_half", offsetof(gpu_perf, gemm_m_half), false, 1e-3, 1e6, 64, FAM(PROF_GEMM), FAM(PROF_GEMM)},
    {"gemm_n_half", offsetof(gpu_perf, gemm_n_half), false, 1e-3, 1e6, 64, FAM(PROF_GEMM), FAM(PROF_GEMM)},
    {"gemm_k_half", offsetof(gpu_perf, gemm_k_half), false, 1e-3, 1e6, 64, FAM(PROF_GEMM), FAM(PROF_GEMM)},
    {"mem_eff", offsetof(gpu_perf, mem_eff), true, 0, 1, 0.8, FAM(PROF_GEMM) | FAM(PROF_ELEMENTWISE),
     FAM(PROF_GEMM) | FAM(PROF_ELEMENTWISE)},
    {"attn_mem_eff", offsetof(gpu_perf, attn_mem_eff), true, 0, 1, 0.8, ATTN, ATTN},
    {"kernel_us", offsetof(gpu_perf, kernel_us), false, 1e-3, 1e6, 3, FAM(PROF_GEMM) | FAM(PROF_ELEMENTWISE),
     FAM(PROF_GEMM) | FAM(PROF_ELEMENTWISE)},
    {"attn_eff", offsetof(gpu_perf, attn_eff), true, 0, 1, 0.5, ATTN, ATTN},
    {"attn_pad", offsetof(gpu_perf, attn_pad), false, 1e-3, 1e5, 64, FAM(PROF_ATTN_PREFILL), 0},
    {"attn_prefill_us", offsetof(gpu_perf, attn_prefill_us), false, 1e-3, 1e6, 10, FAM(PROF_ATTN_PREFILL),
     FAM(PROF_ATTN_PREFILL)},
    {"attn_query_us", offsetof(gpu_perf, attn_query_us), false, 1e-6, 1e6, 0.05, FAM(PROF_ATTN_PREFILL),
     FAM(PROF_ATTN_PREFILL)},
    {"attn_us", offsetof(gpu_perf, attn_us), false, 1e-3, 1e6, 14, FAM(PROF_ATTN_DECODE), FAM(PROF_ATTN_DECODE)},
    {"attn_seq_us", offsetof(gpu_perf, attn_seq_us), false, 1e-4, 1e6, 0.1, FAM(PROF_ATTN_DECODE),
     FAM(PROF_ATTN_DECODE)},
    {"attn_unit_us", offsetof(gpu_perf, attn_unit_us), false, 1e-4, 1e6, 3, FAM(PROF_ATTN_DECODE),
     FAM(PROF_ATTN_DECODE)},
    {"attn_sm_share", offsetof(gpu_perf, attn_sm_share), false, 1e-3, 1e3, 0.5, FAM(PROF_ATTN_DECODE), ATTN},
    {"attn_combine_us", offsetof(gpu_perf, attn_combine_us), false, 1e-3, 1e6, 5, 0, FAM(PROF_ATTN_DECODE)},
    {"attn_copy_us", offsetof(gpu_perf, attn_copy_us), false, 1e-3, 1e6, 5, 0, FAM(PROF_ATTN_DECODE)},
    {"allreduce_us", offsetof(gpu_perf, allreduce_us), false, 1e-3, 1e6, 8, FAM(PROF_ALLREDUCE), FAM(PROF_ALLREDUCE)},
    {"link_eff", offsetof(gpu_perf, link_eff), true, 0, 1, 0.8, FAM(PROF_ALLREDUCE), FAM(PROF_ALLREDUCE)},
};
#define NPARAMS (sizeof params / sizeof *params)

static double get(const gpu_perf *p, const param *q)
{
    double v;
    memcpy(&v, (const char *)p + q->off, sizeof v);
    return v;
}

static void put(gpu_perf *p, const param *q, double v) { memcpy((char *)p + q->off, &v, sizeof v); }

static double logistic(double x) { return 1 / (1 + exp(-x)); }

static double to_value(const param *q, double x)
{
    if (q->fraction) return logistic(x);
    return exp(log(q->lo) + (log(q->hi) - log(q->lo)) * logistic(x));
}

static double to_free(const param *q, double v)
{
    double u = q->fraction ? v : (log(v) - log(q->lo)) / (log(q->hi) - log(q->lo));
    /* keep clear of the ends, where the map is flat */
    if (u < 1e-6) u = 1e-6;
    if (u > 1 - 1e-6) u = 1 - 1e-6;
    return log(u / (1 - u));
}

typedef struct fit_data {
    predictor *p;
    const prof_row **rows;
    double *weight;
    size_t n;
    const param **free; /* the parameters being fitted, in the order of the vector */
    size_t nfree;
} fit_data;

static void set_params(fit_data *d, const gsl_vector *x)
{
    for (size_t j = 0; j < d->nfree; j++) put(&d->p->gpu.perf, d->free[j], to_value(d->free[j], gsl_vector_get(x, j)));
}

/* Residual i: weight x log(pred / meas), pred kept in a range where the log is finite. */
static int residuals(const gsl_vector *x, void *ctx, gsl_vector *f)
{
    fit_data *d = ctx;
    set_params(d, x);
    for (size_t i = 0; i < d->n; i++) {
        double t = predict(d->p, d->rows[i]);
        if (!(t > 1e-12)) t = 1e-12;
        if (!(t < 1e6)) t = 1e6;
        gsl_vector_set(f, i, d->weight[i] * log(t / d->rows[i]->seconds));
    }
    return GSL_SUCCESS;
}

static double cost_at(fit_data *d, const gsl_vector *x, gsl_vector *f)
{
    residuals(x, d, f);
    double c;
    gsl_blas_ddot(f, f, &c);
    return c;
}

/* Levenberg-Marquardt from x; x becomes the end point (or stays, where that is no better).
 * Returns the cost at x, or -1 when the solver fails (err filled). */
static double solve(fit_data *d, gsl_vector *x, int *iterations, fs_error *err)
{
    gsl_vector *f = gsl_vector_alloc(d->n);
    double start = cost_at(d, x, f);
    gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
    fp.trs = gsl_multifit_nlinear_trs_lm;
    gsl_multifit_nlinear_fdf fdf = {.f = residuals, .df = NULL, .fvv = NULL, .n = d->n, .p = d->nfree, .params = d};
    gsl_multifit_nlinear_workspace *w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, d->n, d->nfree);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int info = 0;
    int status = gsl_multifit_nlinear_init(x, &fdf, w);
    if (status == GSL_SUCCESS) status = gsl_multifit_nlinear_driver(200, 1e-8, 1e-8, 1e-10, NULL, NULL, &info, w);
    gsl_set_error_handler(old);
    double cost = -1;
    /* running out of iterations, or of progress, still leaves the best point found so far */
    if (status != GSL_SUCCESS && status != GSL_EMAXITER && status != GSL_ENOPROG) {
        fs_error_set(err, "", 0, 0, "the fit failed: %s", gsl_strerror(status));
    } else {
        *iterations += (int)gsl_multifit_nlinear_niter(w);
        cost = cost_at(d, w->x, f);
        if (cost < start) gsl_vector_memcpy(x, w->x);
        else cost = start;
    }
    gsl_multifit_nlinear_free(w);
    gsl_vector_free(f);
    return cost;
}

static bool is_kept(const char *const *keep, const char *key)
{
    for (size_t i = 0; keep && keep[i]; i++)
        if (strcmp(keep[i], key) == 0) return true;
    return false;
}

int cal_check_keep(const char *const *keep, fs_error *err)
{
    for (size_t i = 0; keep && keep[i]; i++) {
        bool known = strcmp(keep[i], "attn_waves") == 0 || strcmp(keep[i], "attn_split_mha") == 0;
        for (size_t j = 0; j < NPARAMS && !known; j++) known = strcmp(keep[i], params[j].key) == 0;
        if (known) continue;
        char names[600] = "attn_waves, attn_split_mha";
        for (size_t j = 0; j < NPARAMS; j++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, ", %s", params[j].key);
        }
        fs_error_set(err, "", 0, 0, "--keep: expected a fitted parameter (%s), got '%s'", names, keep[i]);
        return CAL_BAD_KEEP;
    }
    return 0;
}

static void add_name(cal_fit_info *info, const char *key)
{
    size_t used = strlen(info->fitted);
    snprintf(info->fitted + used, sizeof info->fitted - used, "%s%s", used ? ", " : "", key);
}

static int too_few(const cal_fit_info *info, fs_error *err)
{
    fs_error_set(err, "", 0, 0, "nothing to fit: an operator family needs at least %d rows (gemm %zu, attn_decode %zu, attn_prefill %zu, allreduce %zu, elementwise %zu)",
                 CAL_MIN_ROWS, info->rows[PROF_GEMM], info->rows[PROF_ATTN_DECODE], info->rows[PROF_ATTN_PREFILL],
                 info->rows[PROF_ALLREDUCE], info->rows[PROF_ELEMENTWISE]);
    return CAL_NO_ROWS;
}

int cal_fit(gpu_spec *g, const prof_set *s, unsigned every, const char *const *exclude, const char *const *keep,
            cal_fit_info *info, fs_error *err)
{
    memset(info, 0, sizeof *info);
    if (cal_check_keep(keep, err)) return CAL_BAD_KEEP;
    fit_data d = {0};
    d.rows = fs_xmalloc((s->n ? s->n : 1) * sizeof *d.rows);
    d.weight = fs_xmalloc((s->n ? s->n : 1) * sizeof *d.weight);
    for (size_t i = 0; i < s->n; i++) {
        const prof_row *r = &s->rows[i];
        if (!cal_selected(r, every, CAL_FIT, exclude)) continue;
        d.rows[d.n++] = r;
        info->rows[r->op]++;
    }
    unsigned active = 0;
    for (int op = 0; op < PROF_NOPS; op++)
        if (info->rows[op] >= CAL_MIN_ROWS) active |= FAM(op);
    size_t kept = 0; /* rows of families too small to fit are left out of the cost */
    for (size_t i = 0; i < d.n; i++) {
        const prof_row *r = d.rows[i];
        if (!(active & FAM(r->op))) continue;
        d.rows[kept] = r;
        /* every family weighs the same, whatever its row count */
        d.weight[kept++] = 1 / sqrt((double)info->rows[r->op]);
    }
    d.n = kept;
    if (active == 0) {
        free(d.rows);
        free(d.weight);
        return too_few(info, err);
    }
    /* the attention model is a choice, not a number: with attention rows, fit the closed-form
     * model (with decode rows: splitting heads without groups or not) and the wave model, and
     * keep the best (the entry's own first, which wins a tie) */
    typedef struct choice {
        bool waves, split_mha;
    } choice;
    choice choices[3];
    int nchoices = 0;
    bool own_waves = g->perf.attn_waves, mha = g->perf.attn_split_mha;
    bool pick_model = (active & ATTN) && !is_kept(keep, "attn_waves");
    bool pick_mha = (active & FAM(PROF_ATTN_DECODE)) && !is_kept(keep, "attn_split_mha");
    choices[nchoices++] = (choice){own_waves, mha};
    if (pick_mha && !own_waves) choices[nchoices++] = (choice){false, !mha};
    if (pick_model) choices[nchoices++] = (choice){!own_waves, mha};
    if (pick_mha && own_waves && pick_model) choices[nchoices++] = (choice){false, !mha};

    d.p = predictor_new(g);
    gsl_vector *f = gsl_vector_alloc(d.n);
    const param *chosen[NPARAMS];
    gpu_perf fitted = g->perf;
    int rc = 0, winner = -1;
    double best = INFINITY;
    for (int c = 0; c < nchoices && rc == 0; c++) {
        d.nfree = 0;
        for (size_t j = 0; j < NPARAMS; j++)
            if (((choices[c].waves ? params[j].wave_families : params[j].families) & active) &&
                !is_kept(keep, params[j].key))
                chosen[d.nfree++] = &params[j];
        d.free = chosen;
        if (d.nfree == 0 || d.n <= d.nfree) continue;
        d.p->gpu.perf = g->perf;
        d.p->gpu.perf.attn_waves = choices[c].waves;
        d.p->gpu.perf.attn_split_mha = choices[c].split_mha;
        gsl_vector *x = gsl_vector_alloc(d.nfree);
        for (size_t j = 0; j < d.nfree; j++) {
            double v = get(&g->perf, d.free[j]);
            gsl_vector_set(x, j, to_free(d.free[j], v > 0 ? v : d.free[j]->start));
        }
        if (c == 0) info->cost_before = cost_at(&d, x, f);
        double cost = solve(&d, x, &info->iterations, err);
        if (cost < 0) {
            rc = CAL_FAILED;
        } else if (cost < best) {
            best = cost;
            winner = c;
            set_params(&d, x);
            fitted = d.p->gpu.perf;
            info->fitted[0] = '\0';
            for (size_t j = 0; j < d.nfree; j++) add_name(info, d.free[j]->key);
        }
        gsl_vector_free(x);
    }
    if (rc == 0 && winner < 0) rc = too_few(info, err);
    if (rc == 0) {
        g->perf = fitted;
        info->cost_after = best;
        if (pick_model) add_name(info, "attn_waves");
        if (pick_mha && !choices[winner].waves) add_name(info, "attn_split_mha");
    }
    gsl_vector_free(f);
    predictor_free(d.p);
    free(d.rows);
    free(d.weight);
    return rc;
}

void cal_carry(gpu_spec *to, const gpu_spec *from) { to->perf = from->perf; }
