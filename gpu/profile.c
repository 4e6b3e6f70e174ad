/*
 * Profile import; see profile.h for the formats and what a row holds.
 *
 * Profiles are small (the largest public one, 9,240 GEMMs, is 0.8 MB), so a file is read whole
 * and read a line per record (sim/base/csvlines.h), which keeps line numbers exact. A record may
 * not span lines: no profile format has one.
 */
#define _POSIX_C_SOURCE 200809L
#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvlines.h"
#include "readfile.h"

/* ---- lines and fields (sim/base/csvlines.h) ---- */

typedef csv_lines reader;

static const char *field(const reader *rd, int i) { return csv_lines_field(rd, i); }

/* ---- the header ---- */

#define MAX_COLS 128

typedef struct header {
    int n;
    char *names[MAX_COLS]; /* owned */
} header;

static void header_fini(header *h)
{
    for (int i = 0; i < h->n; i++) free(h->names[i]);
    h->n = 0;
}

static int col_of(const header *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0) return i;
    return -1;
}

/* ---- cells ---- */

/* What a number cell must be. */
enum range { POS, NONNEG };

static int num_cell(const reader *rd, const header *h, int col, enum range r, double *out, fs_error *err)
{
    const char *s = field(rd, col);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    const char *want = r == POS ? "a number > 0" : "a number >= 0";
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return fs_error_set(err, rd->label, rd->line, col + 1, "column '%s': expected %s, got '%s'", h->names[col],
                            want, s);
    if (r == POS ? !(v > 0) : !(v >= 0))
        return fs_error_set(err, rd->label, rd->line, col + 1, "column '%s': expected %s, got '%s'", h->names[col],
                            want, s);
    *out = v;
    return 0;
}

/* A count (batch, heads, ranks): an integer >= lo. */
static int int_cell(const reader *rd, const header *h, int col, int lo, double *out, fs_error *err)
{
    const char *s = field(rd, col);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !(v >= lo) || v > 1e15 || v != floor(v))
        return fs_error_set(err, rd->label, rd->line, col + 1, "column '%s': expected an integer >= %d, got '%s'",
                            h->names[col], lo, s);
    *out = v;
    return 0;
}

/* bf16 and fp16 run the same tensor-core path in the model; fp8 its own. -1: not modelled. */
static int dtype_of(const char *s)
{
    static const char *const half[] = {"bf16", "bfloat16", "fp16", "float16", "half", NULL};
    static const char *const fp8[] = {"fp8", "float8", "float8_e4m3fn", "e4m3", NULL};
    for (int i = 0; half[i]; i++)
        if (strcasecmp(s, half[i]) == 0) return ST_BF16;
    for (int i = 0; fp8[i]; i++)
        if (strcasecmp(s, fp8[i]) == 0) return ST_FP8;
    return -1;
}

/* ---- one file's import ---- */

typedef struct import {
    prof_set *s;
    reader rd;
    header h;
    size_t file;      /* index of the file record */
    size_t first_row; /* the set's row count before this file, for all-or-nothing */
    char group[48];   /* prof_row.group of its rows */
} import;

static prof_row *new_row(import *im, prof_op op, const char *name, double seconds)
{
    prof_set *s = im->s;
    s->rows = fs_xgrow(s->rows, &s->cap, s->n + 1, sizeof *s->rows);
    prof_row *r = &s->rows[s->n++];
    memset(r, 0, sizeof *r);
    r->op = op;
    snprintf(r->name, sizeof r->name, "%s", name ? name : prof_op_name(op));
    r->dtype = ST_BF16;
    r->seconds = seconds;
    snprintf(r->group, sizeof r->group, "%s", im->group);
    r->file = im->file;
    r->line = im->rd.line;
    s->files[im->file].rows++;
    return r;
}

static void skip(import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void skip(import *im, const char *fmt, ...)
{
    prof_file *f = &im->s->files[im->file];
    if (f->skipped++ == 0) {
        int k = snprintf(f->skip_note, sizeof f->skip_note, "line %d: ", im->rd.line);
        va_list ap;
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < sizeof f->skip_note) vsnprintf(f->skip_note + k, sizeof f->skip_note - (size_t)k, fmt, ap);
        va_end(ap);
    }
}

/* Columns of a format, found by name in the header. */
#define MAX_FMT_COLS 16

typedef struct format {
    const char *name;
    const char *const *cols;  /* every one required; the first ones identify the format */
    int signature;            /* how many of cols identify it */
    int (*row)(import *im, const int *c, fs_error *err);
    bool group_from_name;     /* the rows' group is the model in the file name (Vidur) */
} format;

/* -- fleetsim-probe -- */

enum { PB_OP, PB_IMPL, PB_DTYPE, PB_TIME, PB_MOVED, PB_BATCH, PB_M, PB_N, PB_K, PB_SEQ, PB_CTX, PB_HEADS,
       PB_KV, PB_HD };
static const char *const probe_cols[] = {"op", "impl", "dtype", "time_us", "moved_bytes", "batch", "m", "n", "k",
                                         "seq", "ctx", "heads", "kv_heads", "head_dim", NULL};

static int attn_shape(import *im, const int *c, prof_row *r, fs_error *err)
{
    const reader *rd = &im->rd;
    const header *h = &im->h;
    return int_cell(rd, h, c[PB_BATCH], 1, &r->batch, err) || int_cell(rd, h, c[PB_HEADS], 1, &r->heads, err) ||
           int_cell(rd, h, c[PB_KV], 1, &r->kv_heads, err) || int_cell(rd, h, c[PB_HD], 1, &r->head_dim, err);
}

static int probe_row(import *im, const int *c, fs_error *err)
{
    const reader *rd = &im->rd;
    const header *h = &im->h;
    const char *op = field(rd, c[PB_OP]), *impl = field(rd, c[PB_IMPL]), *dt = field(rd, c[PB_DTYPE]);
    static const char *const elementwise[] = {"rmsnorm", "silu_mul", "rope", "copy", NULL};
    double us;
    if (num_cell(rd, h, c[PB_TIME], POS, &us, err)) return -1;
    int dtype = dtype_of(dt);
    if (strcmp(op, "gemm") == 0) {
        if (strncasecmp(impl, "cublas", 6) != 0) {
            skip(im, "gemm impl '%s': only cuBLAS GEMMs are what serving engines run", impl);
            return 0;
        }
        if (dtype < 0) {
            skip(im, "gemm dtype '%s': the model has bf16/fp16 and fp8 GEMMs", dt);
            return 0;
        }
        double batch, m, n, k;
        if (num_cell(rd, h, c[PB_BATCH], NONNEG, &batch, err) || int_cell(rd, h, c[PB_M], 1, &m, err) ||
            int_cell(rd, h, c[PB_N], 1, &n, err) || int_cell(rd, h, c[PB_K], 1, &k, err))
            return -1;
        if (batch > 1) {
            skip(im, "batched gemm (batch %g): the model has single GEMMs", batch);
            return 0;
        }
        prof_row *r = new_row(im, PROF_GEMM, NULL, us * 1e-6);
        r->dtype = (enum st_dtype)dtype;
        r->m = m;
        r->n = n;
        r->k = k;
        return 0;
    }
    if (strcmp(op, "attn_decode") == 0 || strcmp(op, "attn_prefill") == 0) {
        bool decode = op[5] == 'd';
        if (dtype < 0) {
            skip(im, "%s dtype '%s': the model has bf16/fp16 and fp8 KV caches", op, dt);
            return 0;
        }
        prof_row tmp = {0};
        double seq = 1, ctx;
        if (attn_shape(im, c, &tmp, err) || num_cell(rd, h, c[PB_CTX], decode ? POS : NONNEG, &ctx, err) ||
            (!decode && int_cell(rd, h, c[PB_SEQ], 1, &seq, err)))
            return -1;
        if (!decode && ctx > 0 && ctx < seq)
            return fs_error_set(err, rd->label, rd->line, c[PB_CTX] + 1, "column 'ctx': expected 0 or the KV length "
                                "of each sequence, at least seq (%g), got '%s'", seq, field(rd, c[PB_CTX]));
        prof_row *r = new_row(im, decode ? PROF_ATTN_DECODE : PROF_ATTN_PREFILL, NULL, us * 1e-6);
        r->batch = tmp.batch;
        r->heads = tmp.heads;
        r->kv_heads = tmp.kv_heads;
        r->head_dim = tmp.head_dim;
        r->dtype = (enum st_dtype)dtype;
        r->q_len = seq;
        r->kv_len = ctx > 0 ? ctx : seq;
        return 0;
    }
    for (int i = 0; elementwise[i]; i++) {
        if (strcmp(op, elementwise[i]) != 0) continue;
        double bytes;
        if (num_cell(rd, h, c[PB_MOVED], POS, &bytes, err)) return -1;
        new_row(im, PROF_ELEMENTWISE, op, us * 1e-6)->bytes = bytes;
        return 0;
    }
    return fs_error_set(err, rd->label, rd->line, c[PB_OP] + 1, "column 'op': expected one of gemm, attn_decode, "
                        "attn_prefill, rmsnorm, silu_mul, rope, copy, got '%s'", op);
}

/* -- aiconfigurator (latencies in ms) -- */

enum { AG_M, AG_N, AG_K, AG_LAT, AG_DTYPE };
static const char *const aic_gemm_cols[] = {"m", "n", "k", "latency", "gemm_dtype", NULL};

static int aic_gemm_row(import *im, const int *c, fs_error *err)
{
    const reader *rd = &im->rd;
    double m, n, k, ms;
    if (int_cell(rd, &im->h, c[AG_M], 1, &m, err) || int_cell(rd, &im->h, c[AG_N], 1, &n, err) ||
        int_cell(rd, &im->h, c[AG_K], 1, &k, err) || num_cell(rd, &im->h, c[AG_LAT], POS, &ms, err))
        return -1;
    int dtype = dtype_of(field(rd, c[AG_DTYPE]));
    if (dtype < 0) {
        skip(im, "gemm_dtype '%s': the model has bf16/fp16 and fp8 GEMMs", field(rd, c[AG_DTYPE]));
        return 0;
    }
    prof_row *r = new_row(im, PROF_GEMM, NULL, ms * 1e-3);
    r->dtype = (enum st_dtype)dtype;
    r->m = m;
    r->n = n;
    r->k = k;
    return 0;
}

enum { AA_OP, AA_BATCH, AA_ISL, AA_HEADS, AA_KV, AA_HD, AA_STEP, AA_LAT, AA_ADT, AA_KVDT };
static const char *const aic_attn_cols[] = {"op_name", "batch_size", "isl", "num_heads", "num_key_value_heads",
                                            "head_dim", "step", "latency", "attn_dtype", "kv_cache_dtype", NULL};

/*
 * context_attention: batch prompts of isl tokens (after `step` earlier ones, 0 in the public
 * tables). generation_attention: one token per sequence after a KV history of `step` tokens, so
 * the kernel reads step + isl KV tokens (isl is 1).
 */
static int aic_attn_row(import *im, const int *c, fs_error *err)
{
    const reader *rd = &im->rd;
    const header *h = &im->h;
    const char *op = field(rd, c[AA_OP]);
    bool decode = strcmp(op, "generation_attention") == 0;
    if (!decode && strcmp(op, "context_attention") != 0)
        return fs_error_set(err, rd->label, rd->line, c[AA_OP] + 1, "column 'op_name': expected context_attention "
                            "or generation_attention, got '%s'", op);
    double batch, isl, heads, kv, hd, step, ms;
    if (int_cell(rd, h, c[AA_BATCH], 1, &batch, err) || int_cell(rd, h, c[AA_ISL], 1, &isl, err) ||
        int_cell(rd, h, c[AA_HEADS], 1, &heads, err) || int_cell(rd, h, c[AA_KV], 1, &kv, err) ||
        int_cell(rd, h, c[AA_HD], 1, &hd, err) || int_cell(rd, h, c[AA_STEP], 0, &step, err) ||
        num_cell(rd, h, c[AA_LAT], POS, &ms, err))
        return -1;
    const char *adt = field(rd, c[AA_ADT]), *kvdt = field(rd, c[AA_KVDT]);
    int kvd = dtype_of(kvdt);
    if (dtype_of(adt) != ST_BF16 || kvd < 0) {
        skip(im, "attn_dtype '%s', kv_cache_dtype '%s': the model has bf16/fp16 attention over a bf16/fp16 or fp8 "
             "KV cache", adt, kvdt);
        return 0;
    }
    if (decode && isl != 1) {
        skip(im, "generation_attention with isl %g: the model decodes one token per sequence", isl);
        return 0;
    }
    prof_row *r = new_row(im, decode ? PROF_ATTN_DECODE : PROF_ATTN_PREFILL, NULL, ms * 1e-3);
    r->dtype = (enum st_dtype)kvd;
    r->batch = batch;
    r->heads = heads;
    r->kv_heads = kv;
    r->head_dim = hd;
    r->q_len = isl;
    r->kv_len = step + isl;
    return 0;
}

enum { AN_OP, AN_DTYPE, AN_GPUS, AN_SIZE, AN_LAT };
static const char *const aic_nccl_cols[] = {"op_name", "nccl_dtype", "num_gpus", "message_size", "latency", NULL};

static int allreduce_row(import *im, const int *c, const char *name, fs_error *err)
{
    const reader *rd = &im->rd;
    double gpus, size, ms;
    if (int_cell(rd, &im->h, c[AN_GPUS], 1, &gpus, err) || int_cell(rd, &im->h, c[AN_SIZE], 1, &size, err) ||
        num_cell(rd, &im->h, c[AN_LAT], POS, &ms, err))
        return -1;
    if (gpus < 2 || gpus > 1024) {
        skip(im, "num_gpus %g: the model's all-reduce runs over 2 to 1024 ranks", gpus);
        return 0;
    }
    prof_row *r = new_row(im, PROF_ALLREDUCE, name, ms * 1e-3);
    r->gpus = (int)gpus;
    r->bytes = size * 2; /* elements of a 2-byte dtype (the only ones kept) */
    return 0;
}

static int aic_nccl_row(import *im, const int *c, fs_error *err)
{
    const char *op = field(&im->rd, c[AN_OP]), *dt = field(&im->rd, c[AN_DTYPE]);
    if (strcmp(op, "all_reduce") != 0) {
        skip(im, "op_name '%s': the model's only collective is all_reduce", op);
        return 0;
    }
    if (dtype_of(dt) != ST_BF16) {
        skip(im, "nccl_dtype '%s': the model all-reduces 2-byte activations", dt);
        return 0;
    }
    return allreduce_row(im, c, "allreduce.nccl", err);
}

enum { AC_BACKEND, AC_DTYPE, AC_GPUS, AC_SIZE, AC_LAT };
static const char *const aic_custom_cols[] = {"backend", "allreduce_dtype", "num_gpus", "message_size", "latency",
                                              NULL};

static int aic_custom_row(import *im, const int *c, fs_error *err)
{
    const char *backend = field(&im->rd, c[AC_BACKEND]), *dt = field(&im->rd, c[AC_DTYPE]);
    if (strcmp(backend, "vllm_graph") != 0) {
        skip(im, "backend '%s': the model's all-reduce is the CUDA-graph one (vllm_graph)", backend);
        return 0;
    }
    if (dtype_of(dt) != ST_BF16) {
        skip(im, "allreduce_dtype '%s': the model all-reduces 2-byte activations", dt);
        return 0;
    }
    /* same layout from num_gpus on as NCCL's: shift the column indices */
    int cc[5] = {-1, -1, c[AC_GPUS], c[AC_SIZE], c[AC_LAT]};
    return allreduce_row(im, cc, "allreduce.custom", err);
}

/* -- Vidur per-operator profiles (ms per tensor-parallel shard) -- */

/* the columns a Vidur file must have, in this order in cols[] */
enum { VD_PRE, VD_POST, VD_UP, VD_DOWN, VD_TOKENS, VD_TP, VD_EMBD, VD_HEADS, VD_KV, VD_INTER, VD_GATED };
static const char *const vidur_cols[] = {"time_stats.attn_pre_proj.median", "time_stats.attn_post_proj.median",
                                         "time_stats.mlp_up_proj.median", "time_stats.mlp_down_proj.median",
                                         "num_tokens", "num_tensor_parallel_workers", "n_embd", "n_head", "n_kv_head",
                                         "n_expanded_embd", "use_gated_mlp", NULL};

static const char *const vidur_ops[] = {"attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj",
                                        "emb", "input_layernorm", "post_attention_layernorm", "attn_rope",
                                        "mlp_act", "add", NULL};
#define VIDUR_GEMMS 4

/*
 * One Vidur row is one layer's operators for num_tokens tokens on one tensor-parallel shard, with
 * head_dim = n_embd / n_head and KV heads replicated when TP exceeds them (as vLLM does):
 *   attn_pre_proj (QKV):  n = (heads + 2 kv_heads) x head_dim / tp,  k = n_embd
 *   attn_post_proj (O):   n = n_embd,                               k = heads x head_dim / tp
 *   mlp_up_proj:          n = 2 x n_expanded_embd / tp when gated (gate and up fused), k = n_embd
 *   mlp_down_proj:        n = n_embd,                               k = n_expanded_embd / tp
 * and the elementwise kernels move, in 2-byte values per token (read plus written), as the
 * step-time model counts them: emb, input_layernorm and post_attention_layernorm 2 n_embd; add
 * 3 n_embd; attn_rope 2 (heads + kv_heads) head_dim / tp; mlp_act 3 n_expanded_embd / tp.
 */
static int vidur_row(import *im, const int *c, fs_error *err)
{
    const reader *rd = &im->rd;
    const header *h = &im->h;
    double v[VD_GATED];
    for (int i = VD_TOKENS; i < VD_GATED; i++)
        if (int_cell(rd, h, c[i], 1, &v[i], err)) return -1;
    const char *gated_s = field(rd, c[VD_GATED]);
    bool gated = strcmp(gated_s, "True") == 0 || strcmp(gated_s, "true") == 0;
    if (!gated && strcmp(gated_s, "False") != 0 && strcmp(gated_s, "false") != 0)
        return fs_error_set(err, rd->label, rd->line, c[VD_GATED] + 1,
                            "column 'use_gated_mlp': expected True or False, got '%s'", gated_s);
    double heads = v[VD_HEADS], kv = v[VD_KV], hidden = v[VD_EMBD], inter = v[VD_INTER], tokens = v[VD_TOKENS],
           tp = v[VD_TP];
    double hd = hidden / heads, q_tp = heads / tp, kv_tp = kv / tp >= 1 ? kv / tp : 1;
    double gemm[VIDUR_GEMMS][2] = {
        {(q_tp + 2 * kv_tp) * hd, hidden},
        {hidden, q_tp * hd},
        {(gated ? 2 : 1) * inter / tp, hidden},
        {hidden, inter / tp},
    };
    double per_token[] = {2 * hidden, 2 * hidden, 2 * hidden, 2 * (q_tp + kv_tp) * hd, 3 * inter / tp, 3 * hidden};
    for (int o = 0; vidur_ops[o]; o++) {
        char col[80];
        snprintf(col, sizeof col, "time_stats.%s.median", vidur_ops[o]);
        int ci = col_of(h, col);
        if (ci < 0) continue; /* an operator this profile lacks (the GEMMs are checked with the header) */
        double ms;
        if (num_cell(rd, h, ci, POS, &ms, err)) return -1;
        if (o < VIDUR_GEMMS) {
            prof_row *r = new_row(im, PROF_GEMM, vidur_ops[o], ms * 1e-3);
            r->m = tokens;
            r->n = gemm[o][0];
            r->k = gemm[o][1];
        } else {
            new_row(im, PROF_ELEMENTWISE, vidur_ops[o], ms * 1e-3)->bytes = tokens * per_token[o - VIDUR_GEMMS] * 2;
        }
    }
    return 0;
}

/* The model a Vidur profile was measured on, from its file name: "Llama-2-7b-hf_mlp.csv". */
static void vidur_group(const char *label, char *out, size_t size)
{
    const char *base = strrchr(label, '/');
    base = base ? base + 1 : label;
    size_t n = strlen(base);
    const char *suffix = strstr(base, "_mlp");
    if (suffix) n = (size_t)(suffix - base);
    else if (n > 4 && strcmp(base + n - 4, ".csv") == 0) n -= 4;
    snprintf(out, size, "%.*s", (int)n, base);
}

static const format formats[] = {
    {"fleetsim-probe", probe_cols, 5, probe_row, false},
    {"aiconfigurator GEMM", aic_gemm_cols, 5, aic_gemm_row, false},
    {"aiconfigurator attention", aic_attn_cols, 3, aic_attn_row, false},
    {"aiconfigurator NCCL", aic_nccl_cols, 2, aic_nccl_row, false},
    {"aiconfigurator custom all-reduce", aic_custom_cols, 2, aic_custom_row, false},
    {"Vidur MLP", vidur_cols, 5, vidur_row, true},
};
#define NFORMATS (sizeof formats / sizeof *formats)

const char *prof_formats_help(void)
{
    return "  fleetsim-probe                    op,impl,dtype,time_us,moved_bytes,batch,m,n,k,seq,ctx,heads,kv_heads,\n"
           "                                    head_dim (the CUDA probe's CSV)\n"
           "  aiconfigurator GEMM               m,n,k,latency,gemm_dtype\n"
           "  aiconfigurator attention          op_name,batch_size,isl,num_heads,num_key_value_heads,head_dim,\n"
           "                                    step,latency,attn_dtype,kv_cache_dtype\n"
           "  aiconfigurator NCCL               op_name,nccl_dtype,num_gpus,message_size,latency\n"
           "  aiconfigurator custom all-reduce  backend,allreduce_dtype,num_gpus,message_size,latency\n"
           "  Vidur MLP                         time_stats.<op>.median for attn_pre_proj, attn_post_proj,\n"
           "                                    mlp_up_proj, mlp_down_proj, then num_tokens,\n"
           "                                    num_tensor_parallel_workers, n_embd, n_head, n_kv_head,\n"
           "                                    n_expanded_embd, use_gated_mlp\n";
}

/* The format whose identifying columns the header has; then every column it needs. */
static int detect(import *im, const format **fmt, int *cols, fs_error *err)
{
    const header *h = &im->h;
    for (size_t f = 0; f < NFORMATS; f++) {
        int i;
        for (i = 0; i < formats[f].signature; i++)
            if (col_of(h, formats[f].cols[i]) < 0) break;
        if (i < formats[f].signature) continue;
        for (i = 0; formats[f].cols[i]; i++) {
            FS_ASSERT(i < MAX_FMT_COLS);
            cols[i] = col_of(h, formats[f].cols[i]);
            if (cols[i] < 0)
                return fs_error_set(err, im->rd.label, im->rd.line, 0, "a %s header needs a column named '%s'",
                                    formats[f].name, formats[f].cols[i]);
        }
        *fmt = &formats[f];
        return 0;
    }
    char list[300] = "";
    for (int i = 0; i < h->n; i++) {
        size_t used = strlen(list);
        if (used + 8 >= sizeof list) {
            snprintf(list + used, sizeof list - used, ", ...");
            break;
        }
        snprintf(list + used, sizeof list - used, "%s%s", i ? "," : "", h->names[i]);
    }
    return fs_error_set(err, im->rd.label, im->rd.line, 0, "unknown profile format: the header is '%s'; known "
                        "formats (columns that must be present):\n%s", list, prof_formats_help());
}

static int read_header(import *im, fs_error *err)
{
    int rc = csv_lines_next(&im->rd, err);
    if (rc < 0) return -1;
    if (rc == 0) return fs_error_set(err, im->rd.label, 0, 0, "the file is empty (expected a header line)");
    if (im->rd.nf > MAX_COLS)
        return fs_error_set(err, im->rd.label, im->rd.line, 0, "expected at most %d columns, found %d", MAX_COLS,
                            im->rd.nf);
    for (int i = 0; i < im->rd.nf; i++) {
        const char *name = field(&im->rd, i);
        if (col_of(&im->h, name) >= 0)
            return fs_error_set(err, im->rd.label, im->rd.line, i + 1, "column '%s' appears twice in the header",
                                name);
        im->h.names[im->h.n++] = fs_xstrdup(name);
    }
    return 0;
}

static int import_rows(import *im, fs_error *err)
{
    const format *fmt = NULL;
    int cols[MAX_FMT_COLS];
    if (read_header(im, err) || detect(im, &fmt, cols, err)) return -1;
    prof_file *f = &im->s->files[im->file];
    f->format = fmt->name;
    if (fmt->group_from_name) vidur_group(im->rd.label, im->group, sizeof im->group);
    int rc;
    while ((rc = csv_lines_next(&im->rd, err)) == 1) {
        if (im->rd.nf != im->h.n)
            return fs_error_set(err, im->rd.label, im->rd.line, 0, "expected %d fields as in the header, found %d",
                                im->h.n, im->rd.nf);
        if (fmt->row(im, cols, err)) return -1;
    }
    if (rc < 0) return -1;
    if (f->rows == 0) {
        if (f->skipped)
            return fs_error_set(err, im->rd.label, 0, 0, "no row the model describes (%zu left out; the first at %s)",
                                f->skipped, f->skip_note);
        return fs_error_set(err, im->rd.label, 0, 0, "no rows after the header");
    }
    return 0;
}

/* ---- the set ---- */

void prof_set_init(prof_set *s) { memset(s, 0, sizeof *s); }

void prof_set_fini(prof_set *s)
{
    for (size_t i = 0; i < s->nfiles; i++) free(s->files[i].path);
    free(s->files);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

int prof_read_buffer(prof_set *s, const char *label, const char *data, size_t len, fs_error *err)
{
    s->files = fs_xgrow(s->files, &s->files_cap, s->nfiles + 1, sizeof *s->files);
    prof_file *f = &s->files[s->nfiles];
    memset(f, 0, sizeof *f);
    f->path = fs_xstrdup(label);
    import im = {.s = s, .file = s->nfiles++, .first_row = s->n};
    csv_lines_init(&im.rd, f->path, data, len);
    int rc = import_rows(&im, err);
    csv_lines_fini(&im.rd);
    header_fini(&im.h);
    if (rc) { /* all or nothing: forget the file and its rows (err was formatted with its name first) */
        s->n = im.first_row;
        free(s->files[--s->nfiles].path);
    }
    return rc;
}

int prof_read_file(prof_set *s, const char *path, fs_error *err)
{
    char *data;
    size_t len;
    if (fs_read_file(path, &data, &len, err)) return -1;
    int rc = prof_read_buffer(s, path, data, len, err);
    free(data);
    return rc;
}

const char *prof_op_name(prof_op op)
{
    static const char *const names[PROF_NOPS] = {"gemm", "attn_decode", "attn_prefill", "allreduce", "elementwise"};
    return op < PROF_NOPS ? names[op] : "?";
}
