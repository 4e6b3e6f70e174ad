/*
 * calibrate.h — the step-time model against measured operators: predictions, errors, fitting.
 *
 * Prediction: cal_predict runs the model's single operator (steptime.h: st_gemm,
 * st_attention_decode_op, st_attention_prefill_op, st_allreduce, st_elementwise) on a profile
 * row's shape with a GPU entry, so a fitted entry predicts the same in `run` as here.
 *
 * Held-out split: a row is held out of a fit when a hash of its shape (operator, name, group,
 * dtype and every shape field; not its time or where it was read) is 0 modulo `every`. The same
 * shape measured twice falls on the same side; the split does not depend on the order or the
 * number of files, so calibrate and validate given the same `every` agree on it.
 *
 * Errors: per operator family and per operator name within a family, the absolute percentage
 * error |pred - meas| / meas (median, p90) and the bias, the median of (pred - meas) / meas
 * (< 0: the model is too fast).
 *
 * Fitting (cal_fit): the parameters of gpu_perf that the rows constrain, by nonlinear least
 * squares (GSL's multifit_nlinear, Levenberg-Marquardt with a finite-difference Jacobian) on
 * log(pred / meas), each family weighted equally whatever its row count. Fractions are fitted
 * through a logistic map and positive values through exp, so every fitted value is in range.
 * The attention model is a choice, not a number: with attention rows both are fitted (the closed
 * form, with decode rows both ways of attn_split_mha; the wave model, attn_waves) and the one of
 * lowest cost kept. Parameters named in `keep` (perf keys, attn_waves and attn_split_mha
 * included) stay at the entry's values: to fit some operators of a GPU and carry the rest from
 * another GPU's calibration (cal_carry first). Deterministic: a fixed starting point, a fixed
 * iteration budget, no randomness.
 *
 * Ownership: cal_errors fills a caller-owned cal_report, released by cal_report_fini; nothing
 * else allocates for the caller.
 */
#ifndef FS_CALIBRATE_H
#define FS_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "fs_error.h"
#include "profile.h"

/* Which rows of a split to use. */
typedef enum cal_part {
    CAL_ALL,  /* every row */
    CAL_FIT,  /* the rows a fit uses: not held out */
    CAL_HELD  /* the held-out rows */
} cal_part;

/* Whether row r is held out of a fit with 1 in `every` held out (never when every is 0). */
bool cal_held_out(const prof_row *r, unsigned every);
/* Whether row r is in `part` of that split. */
bool cal_in_part(const prof_row *r, unsigned every, cal_part part);
/* Whether row r is in `part` and not left out by `exclude` (NULL-terminated names of operators
 * or families; may be NULL): the rows every function below works on. */
bool cal_selected(const prof_row *r, unsigned every, cal_part part, const char *const *exclude);

/* The model's time of one call of r's operator on GPU g, in seconds. */
double cal_predict(const gpu_spec *g, const prof_row *r);

typedef struct cal_stat {
    char name[32];     /* a family ("gemm") or an operator within one ("mlp_up_proj") */
    prof_op op;
    bool family;       /* true for a family's line, false for an operator within it */
    size_t n;
    double median_ape, p90_ape, bias; /* fractions (0.1 = 10%) */
    double worst_ape;
    size_t worst;      /* index of that row in the set */
} cal_stat;

typedef struct cal_report {
    cal_stat *v;       /* families in prof_op order, each followed by its operators when it has
                          more than one name or a name other than the family's */
    size_t n, cap;
} cal_report;

/* The errors of GPU g on the rows of s in `part` of the split 1 in `every`. Rows whose name is
 * in `exclude` (NULL-terminated, may be NULL) are left out. */
void cal_errors(const gpu_spec *g, const prof_set *s, unsigned every, cal_part part, const char *const *exclude,
                cal_report *out);
void cal_report_fini(cal_report *r);

/* What a fit did. */
typedef struct cal_fit_info {
    size_t rows[PROF_NOPS];     /* rows fitted per family */
    char fitted[400];           /* the perf keys fitted, comma-separated */
    double cost_before, cost_after; /* weighted sum of squared log errors */
    int iterations;
} cal_fit_info;

/* Fit g->perf to the rows of s not held out (1 in `every`; 0: every row), leaving out rows
 * named in `exclude` and keeping the parameters named in `keep` (NULL-terminated, may be NULL).
 * Parameters no family of rows constrains keep their values; a family needs at least
 * CAL_MIN_ROWS rows to be fitted. Returns 0, or with err filled CAL_NO_ROWS when no family has
 * enough rows (bad input), CAL_BAD_KEEP when `keep` names no parameter (bad input) or
 * CAL_FAILED when the solver fails; g is then as it was. */
#define CAL_MIN_ROWS 8
#define CAL_NO_ROWS (-1)
#define CAL_FAILED (-2)
#define CAL_BAD_KEEP (-3)
int cal_fit(gpu_spec *g, const prof_set *s, unsigned every, const char *const *exclude, const char *const *keep,
            cal_fit_info *info, fs_error *err);

/* 0 when every name in `keep` (NULL-terminated, may be NULL) is a parameter cal_fit can keep;
 * else CAL_BAD_KEEP with err naming the first that is not and listing those that are. */
int cal_check_keep(const char *const *keep, fs_error *err);

/* Carry a calibration to another GPU: `to` keeps its own specs (peak FLOP/s, bandwidth, SM
 * count, links) and takes every perf parameter of `from`, which are shares of those specs, per-SM
 * or per-call figures, so they scale with the new GPU by construction. */
void cal_carry(gpu_spec *to, const gpu_spec *from);

#endif
