/*
 * `fleetsim calibrate` and `fleetsim validate`: the step-time model against measured operators.
 *
 * calibrate reads profiles (gpu/profile.h), fits the GPU entry's perf parameters
 * (gpu/calibrate.h) on the rows not held out, writes the entry as a catalog file, reads that file
 * back and reports the model's error before and after on the held-out rows. With --from it fits
 * nothing and carries another GPU's calibration over to this GPU's specs.
 *
 * validate predicts every row with one GPU entry and reports the error per operator, on stdout
 * and as a run with metrics in the results database.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calibrate.h"
#include "cli_internal.h"
#include "profile.h"
#include "store.h"

static const char usage_calibrate[] =
    "usage: fleetsim calibrate PROFILE... --gpu NAME -o FILE [options]\n"
    "       fleetsim calibrate --from FILE --gpu NAME -o FILE\n"
    "\n"
    "Fit the step-time model's parameters of one GPU (GEMM efficiency against m, n and k, prefill\n"
    "and decode attention efficiencies and costs, bandwidth efficiency, fixed costs per kernel and\n"
    "all-reduce, link efficiency) to measured operator times, and write the calibrated GPU entry as\n"
    "a catalog file that `run --catalog FILE`, `replay --catalog FILE` and a scenario's \"catalogs\"\n"
    "load in place of the shipped entry of the same name. Rows are fitted on the log of\n"
    "model / measured, each operator family weighing the same; with attention rows, both attention\n"
    "models are fitted (closed form, or FlashAttention's tiles, splits and waves: attn_waves) and\n"
    "the better kept. The error on held-out rows is printed before and after.\n"
    "\n"
    "PROFILE is a CSV file whose format is told by its header (columns that must be present):\n"
    "%s"
    "\n"
    "options:\n"
    "  --gpu NAME        the GPU the profiles were measured on (catalog name or alias); its specs\n"
    "                    stay and the fit starts from its parameters\n"
    "  -o, --output FILE the calibrated entry (written whole or not at all)\n"
    "  --holdout K       hold 1 in K rows out of the fit, chosen by a hash of the shape, and report\n"
    "                    the error on them (default 5); 0 fits every row and reports on them all\n"
    "  --exclude NAME    leave out the rows of an operator (allreduce.custom) or a family (gemm,\n"
    "                    attn_decode, attn_prefill, allreduce, elementwise); repeatable\n"
    "  --keep KEY        do not fit the perf parameter KEY (attn_eff, ..., attn_waves,\n"
    "                    attn_split_mha): it keeps --gpu's value, e.g. one carried from another\n"
    "                    GPU's calibration with --catalog FILE; repeatable\n"
    "  --from FILE       fit nothing: take the parameters of the one GPU entry in FILE (another\n"
    "                    GPU's calibration) over to --gpu's peak FLOP/s, bandwidth and SM count\n"
    "  --catalog FILE    add GPUs from FILE first (repeatable)\n"
    "  --json            print the report as one JSON object\n"
    "  -h, --help        this text\n"
    "\n"
    "exit status: 0 done; 1 the fit failed or FILE could not be written; 2 bad usage or input.\n";

static const char usage_validate[] =
    "usage: fleetsim validate --gpu NAME[:FILE] --profile FILE... [options]\n"
    "\n"
    "Predict every measured row with the step-time model and print, per operator family and\n"
    "operator, the rows, the median and p90 absolute percentage error |model - measured| /\n"
    "measured and the bias (the median signed error: < 0 means the model is too fast). The result\n"
    "is stored as a run named \"validate\" with metrics validate.<family> and validate.op.<operator>\n"
    "(stats median_ape, p90_ape and bias in %%, rows).\n"
    "\n"
    "options:\n"
    "  --gpu NAME[:FILE]  the GPU entry NAME: from the catalog, or from FILE (a calibrated entry)\n"
    "  --profile FILE...  profiles (formats: fleetsim calibrate --help); takes every argument up to\n"
    "                     the next option; repeatable\n"
    "  --holdout K        only the rows `fleetsim calibrate --holdout K` held out of its fit\n"
    "  --exclude NAME     leave out the rows of an operator or a family; repeatable\n"
    "  --catalog FILE     add GPUs from FILE first (repeatable)\n"
    "  --json             print the report as one JSON object\n"
    "  --db FILE          results database (default results.db; created if missing)\n"
    "  --no-db            do not store the result\n"
    "  -h, --help         this text\n"
    "\n"
    "exit status: 0 done; 1 the results database failed; 2 bad usage or input.\n";

/* ---- shared pieces ---- */

typedef struct args {
    const char **profiles;
    int nprofiles;
    const char **excludes; /* NULL-terminated */
    int nexcludes;
    const char **catalogs;
    int ncatalogs;
    const char **keeps; /* NULL-terminated */
    int nkeeps;
    const char *gpu, *output, *from, *db;
    unsigned holdout;
    bool json;
} args;

static void args_init(args *a, int argc)
{
    memset(a, 0, sizeof *a);
    a->profiles = fs_xcalloc((size_t)argc + 1, sizeof *a->profiles);
    a->excludes = fs_xcalloc((size_t)argc + 1, sizeof *a->excludes);
    a->catalogs = fs_xcalloc((size_t)argc + 1, sizeof *a->catalogs);
    a->keeps = fs_xcalloc((size_t)argc + 1, sizeof *a->keeps);
}

static void args_fini(args *a)
{
    free(a->profiles);
    free(a->excludes);
    free(a->catalogs);
    free(a->keeps);
}

static int parse_holdout(const char *v, unsigned *out)
{
    uint64_t k;
    if (cli_parse_u64(v, &k) || k == 1 || k > 1000000)
        return usage_error("--holdout: expected 0 (no held-out rows) or an integer from 2 to 1000000, got '%s'", v);
    *out = (unsigned)k;
    return 0;
}

/* An option shared by both commands: 1 when arg is one (i advanced past its value), 0 when not,
 * EXIT_INPUT on a bad value. */
static int common_option(int argc, char **argv, int *i, args *a)
{
    const char *arg = argv[*i];
    static const char *const valued[] = {"--gpu", "--holdout", "--exclude", "--catalog", NULL};
    for (int k = 0; valued[k]; k++) {
        if (strcmp(arg, valued[k]) != 0) continue;
        if (*i + 1 >= argc) return usage_error("option %s needs a value", arg);
        const char *v = argv[++*i];
        if (k == 0) a->gpu = v;
        else if (k == 1) return parse_holdout(v, &a->holdout) ? EXIT_INPUT : 1;
        else if (k == 2) a->excludes[a->nexcludes++] = v;
        else a->catalogs[a->ncatalogs++] = v;
        return 1;
    }
    if (strcmp(arg, "--json") == 0) {
        a->json = true;
        return 1;
    }
    return 0;
}

/* The shipped catalog plus the --catalog files, or NULL having printed why. */
static catalog *open_catalog(const args *a)
{
    fs_error err;
    catalog *cat = catalog_new(&err);
    if (!cat) {
        print_error(&err);
        return NULL;
    }
    for (int i = 0; i < a->ncatalogs; i++) {
        if (catalog_add_file(cat, a->catalogs[i], &err)) {
            print_error(&err);
            catalog_free(cat);
            return NULL;
        }
    }
    return cat;
}

static const gpu_spec *find_gpu(const catalog *cat, const char *name, const char *where)
{
    const gpu_spec *g = catalog_gpu(cat, name);
    if (!g) {
        char names[2048];
        catalog_gpu_names(cat, names, sizeof names);
        fprintf(stderr, "fleetsim: --gpu: expected a known GPU%s%s, got '%s' (known: %s)\n", where ? " in " : "",
                where ? where : "", name, names);
    }
    return g;
}

/* The one GPU entry of a catalog file of its own, or the one named `name` in it (when not NULL);
 * copied to *out. Prints why not and returns -1. */
static int gpu_from_file(const char *path, const char *name, gpu_spec *out)
{
    fs_error err;
    catalog *c = catalog_new_empty();
    int rc = catalog_add_file(c, path, &err);
    if (rc) {
        print_error(&err);
    } else if (name) {
        const gpu_spec *g = find_gpu(c, name, path);
        if (g) *out = *g;
        else rc = -1;
    } else if (catalog_gpu_count(c) != 1) {
        char names[2048];
        catalog_gpu_names(c, names, sizeof names);
        fprintf(stderr, "fleetsim: --from: expected one GPU entry in '%s', found %zu%s%s\n", path,
                catalog_gpu_count(c), catalog_gpu_count(c) ? ": " : "", names);
        rc = -1;
    } else {
        *out = *catalog_gpu_at(c, 0);
    }
    catalog_free(c);
    return rc;
}

/* Read the profiles; notes about rows left out go to stderr. Returns 0 or EXIT_INPUT. */
static int read_profiles(const args *a, prof_set *s)
{
    for (int i = 0; i < a->nprofiles; i++) {
        fs_error err;
        if (prof_read_file(s, a->profiles[i], &err)) {
            print_error(&err);
            return EXIT_INPUT;
        }
        const prof_file *f = &s->files[s->nfiles - 1];
        if (f->skipped)
            fprintf(stderr, "fleetsim: %s: %s, %zu rows; %zu rows left out, the first at %s\n", f->path, f->format,
                    f->rows, f->skipped, f->skip_note);
    }
    return 0;
}

static size_t count_rows(const prof_set *s, unsigned every, cal_part part, const char *const *exclude)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) n += cal_selected(&s->rows[i], every, part, exclude);
    return n;
}

/* "file:line" of a report line's worst row. */
static void worst_at(const prof_set *s, const cal_stat *st, char *buf, size_t size)
{
    const prof_row *r = &s->rows[st->worst];
    snprintf(buf, size, "%s:%d", s->files[r->file].path, r->line);
}

static json_t *stat_json(const prof_set *s, const cal_stat *st)
{
    char at[600];
    worst_at(s, st, at, sizeof at);
    return json_pack("{s:s, s:s, s:b, s:I, s:f, s:f, s:f, s:f, s:s}", "name", st->name, "family", prof_op_name(st->op),
                     "is_family", st->family, "rows", (json_int_t)st->n, "median_ape_pct", 100 * st->median_ape,
                     "p90_ape_pct", 100 * st->p90_ape, "bias_pct", 100 * st->bias, "worst_ape_pct",
                     100 * st->worst_ape, "worst_at", at);
}

static void print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    fputc('\n', stdout);
    json_decref(o);
}

/* ---- calibrate ---- */

/* The perf parameters as name/value pairs, for the before/after table. */
typedef struct named {
    const char *key;
    double v;
} named;

static size_t perf_values(const gpu_perf *p, named *out)
{
    const named v[] = {
        {"gemm_eff", p->gemm_eff}, {"gemm_m_half", p->gemm_m_half}, {"gemm_n_half", p->gemm_n_half},
        {"gemm_k_half", p->gemm_k_half}, {"mem_eff", p->mem_eff}, {"kernel_us", p->kernel_us},
        {"attn_eff", p->attn_eff}, {"attn_pad", p->attn_pad}, {"attn_prefill_us", p->attn_prefill_us},
        {"attn_query_us", p->attn_query_us}, {"attn_mem_eff", p->attn_mem_eff}, {"attn_us", p->attn_us},
        {"attn_seq_us", p->attn_seq_us},
        {"attn_unit_us", p->attn_unit_us}, {"attn_sm_share", p->attn_sm_share},
        {"attn_split_mha", p->attn_split_mha}, {"attn_waves", p->attn_waves}, {"attn_combine_us", p->attn_combine_us},
        {"attn_copy_us", p->attn_copy_us}, {"allreduce_us", p->allreduce_us}, {"link_eff", p->link_eff},
    };
    memcpy(out, v, sizeof v);
    return sizeof v / sizeof *v;
}

static const cal_stat *same_line(const cal_report *r, const cal_stat *st)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].op == st->op && r->v[i].family == st->family && strcmp(r->v[i].name, st->name) == 0)
            return &r->v[i];
    return NULL;
}

static void report_calibration(const args *a, const prof_set *s, const gpu_spec *before, const gpu_spec *after,
                               const cal_fit_info *info)
{
    cal_part part = a->holdout ? CAL_HELD : CAL_ALL;
    cal_report rb, ra;
    cal_errors(before, s, a->holdout, part, a->excludes, &rb);
    cal_errors(after, s, a->holdout, part, a->excludes, &ra);
    named pb[32], pa[32];
    size_t np = perf_values(&before->perf, pb);
    perf_values(&after->perf, pa);
    size_t fit_rows = 0;
    for (int op = 0; op < PROF_NOPS; op++) fit_rows += info->rows[op];
    size_t held = count_rows(s, a->holdout, part, a->excludes);
    if (a->json) {
        json_t *params = json_object(), *errs = json_array(), *files = json_array();
        for (size_t i = 0; i < np; i++)
            json_object_set_new(params, pb[i].key, json_pack("{s:f, s:f}", "before", pb[i].v, "after", pa[i].v));
        for (size_t i = 0; i < ra.n; i++) {
            json_t *e = stat_json(s, &ra.v[i]);
            const cal_stat *b = same_line(&rb, &ra.v[i]);
            if (b) json_object_set_new(e, "before", stat_json(s, b));
            json_array_append_new(errs, e);
        }
        for (size_t i = 0; i < s->nfiles; i++)
            json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:I}", "path", s->files[i].path, "format",
                                                   s->files[i].format, "rows", (json_int_t)s->files[i].rows,
                                                   "skipped", (json_int_t)s->files[i].skipped));
        print_json(json_pack("{s:s, s:s, s:o, s:i, s:I, s:I, s:s, s:f, s:f, s:o, s:o}", "gpu", after->name, "output",
                             a->output, "files", files, "holdout", (int)a->holdout, "fit_rows", (json_int_t)fit_rows,
                             "report_rows", (json_int_t)held, "fitted", info->fitted, "cost_before",
                             info->cost_before, "cost_after", info->cost_after, "parameters", params, "errors", errs));
    } else {
        printf("calibrated %s on %zu rows of %zu file%s; fitted: %s\n", after->name, fit_rows, s->nfiles,
               s->nfiles == 1 ? "" : "s", info->fitted);
        printf("\n%-16s %12s %12s\n", "parameter", "before", "after");
        for (size_t i = 0; i < np; i++)
            printf("%-16s %12.5g %12.5g%s\n", pb[i].key, pb[i].v, pa[i].v, pb[i].v != pa[i].v ? "" : "  (kept)");
        if (a->holdout) printf("\nerror on the %zu held-out rows (1 in %u, by shape):\n", held, a->holdout);
        else printf("\nerror on all %zu rows (nothing held out):\n", held);
        printf("%-28s %6s  %21s  %21s\n", "", "", "before", "after");
        printf("%-28s %6s  %6s %6s %7s  %6s %6s %7s\n", "operator", "rows", "median", "p90", "bias", "median", "p90",
               "bias");
        for (size_t i = 0; i < ra.n; i++) {
            const cal_stat *x = &ra.v[i], *b = same_line(&rb, x);
            char name[40];
            snprintf(name, sizeof name, "%s%s", x->family ? "" : "  ", x->name);
            printf("%-28s %6zu  %5.1f%% %5.1f%% %+6.1f%%  %5.1f%% %5.1f%% %+6.1f%%\n", name, x->n,
                   b ? 100 * b->median_ape : 0, b ? 100 * b->p90_ape : 0, b ? 100 * b->bias : 0, 100 * x->median_ape,
                   100 * x->p90_ape, 100 * x->bias);
        }
        printf("\nwrote %s\n", a->output);
    }
    cal_report_fini(&rb);
    cal_report_fini(&ra);
}

/* The fitted or carried entry goes to a.output; it is then read back, so what is reported is
 * what `run --catalog` will use. */
static int write_entry(const args *a, const gpu_spec *g, const char *comment, gpu_spec *reread)
{
    fs_error err;
    if (catalog_write_gpus(a->output, &g, 1, comment, &err)) {
        print_error(&err);
        return EXIT_RUN_FAILED;
    }
    return gpu_from_file(a->output, g->name, reread) ? EXIT_RUN_FAILED : 0;
}

static int carry(const args *a, const gpu_spec *target)
{
    gpu_spec from, out = *target, reread;
    if (gpu_from_file(a->from, NULL, &from)) return EXIT_INPUT;
    cal_carry(&out, &from);
    char comment[1024];
    snprintf(comment, sizeof comment, "fleetsim calibrate --from: the perf parameters of %s (from %s) on the specs "
             "of %s (%.0f bf16 TFLOP/s, %.0f GB/s, %d SMs)", from.name, a->from, target->name,
             target->bf16_flops / 1e12, target->mem_bw / 1e9, target->sm_count);
    int rc = write_entry(a, &out, comment, &reread);
    if (rc) return rc;
    if (a->json) {
        print_json(json_pack("{s:s, s:s, s:s, s:s}", "gpu", reread.name, "from", from.name, "from_file", a->from,
                             "output", a->output));
    } else {
        printf("carried the perf parameters of %s (%s) to %s\nwrote %s\n", from.name, a->from, reread.name, a->output);
    }
    return 0;
}

static int parse_calibrate(int argc, char **argv, args *a)
{
    a->holdout = 5;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int c = common_option(argc, argv, &i, a);
        if (c == EXIT_INPUT) return EXIT_INPUT;
        if (c) continue;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            printf(usage_calibrate, prof_formats_help());
            return -1;
        } else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0 || strcmp(arg, "--from") == 0 ||
                   strcmp(arg, "--keep") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            if (strcmp(arg, "--from") == 0) a->from = argv[++i];
            else if (strcmp(arg, "--keep") == 0) a->keeps[a->nkeeps++] = argv[++i];
            else a->output = argv[++i];
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("calibrate: unknown option '%s'", arg);
        } else {
            a->profiles[a->nprofiles++] = arg;
        }
    }
    if (!a->gpu) return usage_error("%s", "calibrate needs --gpu NAME (the GPU the profiles were measured on)");
    if (!a->output) return usage_error("%s", "calibrate needs -o FILE (where to write the calibrated entry)");
    if (a->from && a->nprofiles)
        return usage_error("calibrate --from fits nothing: drop the profiles ('%s', ...), or drop --from",
                           a->profiles[0]);
    if (!a->from && !a->nprofiles) return usage_error("%s", "calibrate needs profile files (or --from FILE)");
    if (a->from && a->nkeeps) return usage_error("calibrate --from fits nothing: drop --keep %s", a->keeps[0]);
    fs_error err;
    if (cal_check_keep(a->keeps, &err)) return usage_error("%s", err.msg);
    return 0;
}

int cmd_calibrate(int argc, char **argv)
{
    args a;
    args_init(&a, argc);
    int rc = parse_calibrate(argc, argv, &a);
    if (rc) {
        args_fini(&a);
        return rc < 0 ? 0 : rc;
    }
    catalog *cat = open_catalog(&a);
    const gpu_spec *g = cat ? find_gpu(cat, a.gpu, NULL) : NULL;
    if (!g) {
        rc = EXIT_INPUT;
    } else if (a.from) {
        rc = carry(&a, g);
    } else {
        prof_set s;
        prof_set_init(&s);
        rc = read_profiles(&a, &s);
        gpu_spec fitted = *g, reread;
        cal_fit_info info;
        fs_error err;
        int fit = rc == 0 ? cal_fit(&fitted, &s, a.holdout, a.excludes, a.keeps, &info, &err) : 0;
        if (fit) {
            print_error(&err);
            rc = fit == CAL_FAILED ? EXIT_RUN_FAILED : EXIT_INPUT;
        }
        if (rc == 0) {
            char comment[1024];
            char held[64] = "nothing held out";
            if (a.holdout) snprintf(held, sizeof held, "1 in %u held out", a.holdout);
            char keeps[256] = "";
            for (int k = 0; k < a.nkeeps; k++) {
                size_t used = strlen(keeps);
                snprintf(keeps + used, sizeof keeps - used, "%s%s", k ? ", " : "; kept from the entry: ", a.keeps[k]);
            }
            snprintf(comment, sizeof comment, "fleetsim calibrate: %s fitted on %zu profile rows of %s%s, %s; "
                     "parameters fitted: %s%s", g->name, count_rows(&s, a.holdout, CAL_FIT, a.excludes),
                     s.files[0].path, s.nfiles > 1 ? " and more files" : "", held, info.fitted, keeps);
            rc = write_entry(&a, &fitted, comment, &reread);
        }
        if (rc == 0) report_calibration(&a, &s, g, &reread, &info);
        prof_set_fini(&s);
    }
    catalog_free(cat);
    args_fini(&a);
    return rc;
}

/* ---- validate ---- */

static int parse_validate(int argc, char **argv, args *a)
{
    a->db = "results.db";
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int c = common_option(argc, argv, &i, a);
        if (c == EXIT_INPUT) return EXIT_INPUT;
        if (c) continue;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            printf(usage_validate);
            return -1;
        } else if (strcmp(arg, "--profile") == 0) {
            int before = a->nprofiles;
            while (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] != '\0')) a->profiles[a->nprofiles++] = argv[++i];
            if (a->nprofiles == before) return usage_error("%s", "option --profile needs at least one file");
        } else if (strcmp(arg, "--db") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            a->db = argv[++i];
        } else if (strcmp(arg, "--no-db") == 0) {
            a->db = NULL;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("validate: unknown option '%s'", arg);
        } else {
            return usage_error("validate: unexpected argument '%s' (profiles follow --profile)", arg);
        }
    }
    if (!a->gpu) return usage_error("%s", "validate needs --gpu NAME[:FILE]");
    if (!a->nprofiles) return usage_error("%s", "validate needs --profile FILE...");
    return 0;
}

/* What was validated, as the run's scenario_json. */
static char *inputs_json(const args *a, const char *gpu, const char *file)
{
    json_t *p = json_array(), *x = json_array();
    for (int i = 0; i < a->nprofiles; i++) json_array_append_new(p, json_string(a->profiles[i]));
    for (int i = 0; i < a->nexcludes; i++) json_array_append_new(x, json_string(a->excludes[i]));
    json_t *o = json_pack("{s:s, s:s, s:s?, s:o, s:i, s:o}", "command", "validate", "gpu", gpu, "gpu_file", file,
                          "profiles", p, "holdout", (int)a->holdout, "exclude", x);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) fs_oom(0);
    return s;
}

static void metrics_of(const cal_report *r, fs_metrics *m)
{
    for (size_t i = 0; i < r->n; i++) {
        const cal_stat *st = &r->v[i];
        char name[64];
        snprintf(name, sizeof name, "validate.%s%s", st->family ? "" : "op.", st->name);
        fs_metrics_add(m, name, "median_ape", 100 * st->median_ape, "%");
        fs_metrics_add(m, name, "p90_ape", 100 * st->p90_ape, "%");
        fs_metrics_add(m, name, "bias", 100 * st->bias, "%");
        fs_metrics_add(m, name, "rows", (double)st->n, "count");
    }
}

static int store_validation(const args *a, const char *inputs, const cal_report *r)
{
    fs_error err;
    store *st = store_open(a->db, &err);
    int64_t id = 0;
    store_run_info info = {"validate", inputs, 0, FLEETSIM_VERSION, FLEETSIM_GIT_COMMIT};
    if (!st || store_run_begin(st, &info, &id, &err)) {
        print_error(&err);
        store_close(st);
        return EXIT_RUN_FAILED;
    }
    fs_metrics m = {0};
    metrics_of(r, &m);
    int rc = 0;
    if (store_metrics_add(st, id, &m, &err) || store_run_end(st, id, &err)) {
        print_error(&err);
        store_run_abort(st, id, "failed", err.msg, NULL);
        rc = EXIT_RUN_FAILED;
    } else {
        fprintf(stderr, "fleetsim: validation stored as run %lld in %s\n", (long long)id, a->db);
    }
    fs_metrics_fini(&m);
    store_close(st);
    return rc;
}

static void print_validation(const args *a, const prof_set *s, const gpu_spec *g, const char *file,
                             const cal_report *r)
{
    size_t n = count_rows(s, a->holdout, a->holdout ? CAL_HELD : CAL_ALL, a->excludes);
    if (a->json) {
        json_t *ops = json_array();
        for (size_t i = 0; i < r->n; i++) json_array_append_new(ops, stat_json(s, &r->v[i]));
        print_json(json_pack("{s:s, s:s, s:I, s:i, s:o}", "gpu", g->name, "gpu_source", file ? file : "catalog",
                             "rows", (json_int_t)n, "holdout", (int)a->holdout, "operators", ops));
        return;
    }
    printf("validate %s (%s) on %zu rows of %zu file%s", g->name, file ? file : "catalog", n, s->nfiles,
           s->nfiles == 1 ? "" : "s");
    if (a->holdout) printf(", the 1 in %u held out by calibrate --holdout %u", a->holdout, a->holdout);
    printf("\n%-28s %6s %7s %7s %8s  %s\n", "operator", "rows", "median", "p90", "bias", "worst");
    for (size_t i = 0; i < r->n; i++) {
        const cal_stat *st = &r->v[i];
        char name[40], at[600];
        snprintf(name, sizeof name, "%s%s", st->family ? "" : "  ", st->name);
        worst_at(s, st, at, sizeof at);
        printf("%-28s %6zu %6.1f%% %6.1f%% %+7.1f%%  %.0f%% at %s\n", name, st->n, 100 * st->median_ape,
               100 * st->p90_ape, 100 * st->bias, 100 * st->worst_ape, at);
    }
}

int cmd_validate(int argc, char **argv)
{
    args a;
    args_init(&a, argc);
    int rc = parse_validate(argc, argv, &a);
    if (rc) {
        args_fini(&a);
        return rc < 0 ? 0 : rc;
    }
    /* --gpu NAME:FILE names an entry of FILE; a plain NAME one of the catalog */
    char name[256];
    snprintf(name, sizeof name, "%s", a.gpu);
    char *colon = strchr(name, ':');
    const char *file = colon ? a.gpu + (colon - name) + 1 : NULL;
    if (colon) *colon = '\0';
    gpu_spec g;
    catalog *cat = NULL;
    if (file) {
        rc = !*name || !*file ? usage_error("--gpu: expected NAME or NAME:FILE, got '%s'", a.gpu)
                              : gpu_from_file(file, name, &g) ? EXIT_INPUT : 0;
    } else {
        cat = open_catalog(&a);
        const gpu_spec *found = cat ? find_gpu(cat, name, NULL) : NULL;
        if (found) g = *found;
        else rc = EXIT_INPUT;
    }
    prof_set s;
    prof_set_init(&s);
    if (rc == 0) rc = read_profiles(&a, &s);
    if (rc == 0 && count_rows(&s, a.holdout, a.holdout ? CAL_HELD : CAL_ALL, a.excludes) == 0) {
        fprintf(stderr, "fleetsim: validate: no rows left to predict (%zu read; --holdout and --exclude left none)\n",
                s.n);
        rc = EXIT_INPUT;
    }
    if (rc == 0) {
        cal_report r;
        cal_errors(&g, &s, a.holdout, a.holdout ? CAL_HELD : CAL_ALL, a.excludes, &r);
        print_validation(&a, &s, &g, file, &r);
        fflush(stdout);
        if (a.db) {
            char *inputs = inputs_json(&a, g.name, file);
            rc = store_validation(&a, inputs, &r);
            free(inputs);
        }
        cal_report_fini(&r);
    }
    prof_set_fini(&s);
    catalog_free(cat);
    args_fini(&a);
    return rc;
}
