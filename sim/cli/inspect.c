/*
 * `fleetsim inspect TRACE`: what a request trace holds, before anyone simulates it.
 *
 * One pass over the trace through the ordinary reader (workloads/wl.h), so a trace that inspects
 * cleanly also loads in a scenario with the same options, and a bad row is reported the same way.
 * What is measured, and how:
 *
 *   duration       first to last arrival (the reader makes arrivals relative to the earliest);
 *   rate           requests / duration, and per calendar minute of the trace (minute k holds the
 *                  arrivals in [60k, 60k + 60) s): min, mean and max over the full minutes. The
 *                  minute holding the last arrival is always cut short by the end of the trace,
 *                  so it is left out of those three and reported on its own;
 *   burstiness     the coefficient of variation of inter-arrival gaps (sample standard deviation
 *                  / mean, Welford's update): 1 for Poisson arrivals, above 1 for bursts;
 *   lengths        input and output tokens in fs_hist histograms (exact mean, min and max;
 *                  percentiles within 0.2%);
 *   prefix reuse   for requests with hash chains (wl_request.chain), a block counts as reused
 *                  when it and every block before it in its chain were seen in an earlier
 *                  request: what an unbounded prefix cache would hit. (With true chain hashes a
 *                  seen block implies its whole prefix was seen, so this is every seen block.)
 *
 * Memory stays flat in the trace length except for the set of distinct chain hashes.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "cli_internal.h"
#include "wl.h"

static const char usage_inspect[] =
    "usage: fleetsim inspect TRACE [options]\n"
    "\n"
    "Read a request trace (plain or gzip) and print what it holds: request count, duration (first\n"
    "to last arrival), arrival rate overall and per minute (min, mean and max over the full minutes;\n"
    "the last, partial minute is shown apart), burstiness (coefficient of variation of the\n"
    "inter-arrival gaps: 1 for Poisson arrivals), input and output length distributions (mean,\n"
    "min, p50, p90, p99, max; percentiles within 0.2%), the share of prefix blocks seen earlier\n"
    "in the trace when it has hash chains (Mooncake's hash_ids), and the reader's row counts.\n"
    "\n"
    "options:\n"
    "  --format NAME        azure, burstgpt, mooncake, vllm, csv or jsonl (default: guessed from\n"
    "                       the first line: Azure or BurstGPT CSV header, Mooncake or vLLM JSON keys)\n"
    "  --column KEY=NAME    csv and jsonl: the column (CSV header name or JSON key) of KEY, one of\n"
    "                       arrival, input, output (required), model, tenant, session, priority,\n"
    "                       region; repeatable. Without --format, picks csv or jsonl by the first byte\n"
    "  --arrival-unit UNIT  csv and jsonl: s (default), ms, us or datetime\n"
    "  --model NAME         burstgpt: only rows of this Model\n"
    "  --log-type NAME      burstgpt: only rows of this Log Type\n"
    "  --keep-failed        burstgpt: keep failed requests (Response tokens 0) as 1-token outputs\n"
    "  --skip-bad-rows      skip malformed rows and count them, instead of stopping\n"
    "  --sort SECONDS       let rows come up to SECONDS out of time order\n"
    "  --json               print one JSON object (keys in README.md, \"fleetsim inspect\")\n"
    "  -h, --help           this text\n"
    "\n"
    "exit status: 0 done; 2 bad usage or input (the reader's file:line:column on stderr).\n";

/* ---- options ---- */

typedef struct inspect_args {
    const char *path;
    int format; /* enum wl_format, or -1: guess */
    bool guessed, json, generic_opts, burstgpt_opts;
    wl_trace_opts o;
} inspect_args;

static const char *const column_keys[] = {"arrival", "input", "output", "model", "tenant", "session", "priority",
                                          "region"};

static int set_column(wl_columns *c, const char *spec)
{
    const char **slots[] = {&c->arrival, &c->input, &c->output, &c->model, &c->tenant, &c->session, &c->priority,
                            &c->region};
    const char *eq = strchr(spec, '=');
    for (size_t i = 0; eq && eq[1] && i < sizeof slots / sizeof *slots; i++) {
        if (strlen(column_keys[i]) == (size_t)(eq - spec) && memcmp(column_keys[i], spec, (size_t)(eq - spec)) == 0) {
            *slots[i] = eq + 1;
            return 0;
        }
    }
    return usage_error("--column: expected KEY=NAME with KEY one of arrival, input, output, model, tenant, "
                       "session, priority, region, got '%s'", spec);
}

/* 0, 1 after --help, or EXIT_INPUT. */
static int parse_args(int argc, char **argv, inspect_args *a)
{
    a->format = -1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_inspect, stdout);
            return 1;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--skip-bad-rows") == 0) {
            a->o.skip_bad_rows = true;
        } else if (strcmp(arg, "--keep-failed") == 0) {
            a->o.keep_failed = a->burstgpt_opts = true;
        } else if (strcmp(arg, "--format") == 0 || strcmp(arg, "--column") == 0 || strcmp(arg, "--arrival-unit") == 0 ||
                   strcmp(arg, "--model") == 0 || strcmp(arg, "--log-type") == 0 || strcmp(arg, "--sort") == 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", arg);
            const char *v = argv[++i];
            if (strcmp(arg, "--format") == 0) {
                if ((a->format = wl_format_from_name(v)) < 0)
                    return usage_error("--format: expected azure, burstgpt, mooncake, vllm, csv or jsonl, got '%s'", v);
            } else if (strcmp(arg, "--column") == 0) {
                if (set_column(&a->o.columns, v)) return EXIT_INPUT;
                a->generic_opts = true;
            } else if (strcmp(arg, "--arrival-unit") == 0) {
                size_t u = 0;
                while (wl_time_unit_names[u] && strcmp(wl_time_unit_names[u], v) != 0) u++;
                if (!wl_time_unit_names[u])
                    return usage_error("--arrival-unit: expected s, ms, us or datetime, got '%s'", v);
                a->o.columns.arrival_unit = (enum wl_time_unit)u;
                a->generic_opts = true;
            } else if (strcmp(arg, "--model") == 0) {
                a->o.model = v;
                a->burstgpt_opts = true;
            } else if (strcmp(arg, "--log-type") == 0) {
                a->o.log_type = v;
                a->burstgpt_opts = true;
            } else if (cli_parse_sort(v, &a->o.sort_window)) {
                return EXIT_INPUT;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option '%s'", arg);
        } else if (!a->path) {
            a->path = arg;
        } else {
            return usage_error("inspect: unexpected argument '%s' (one trace at a time)", arg);
        }
    }
    if (!a->path) return usage_error("%s", "inspect needs a trace file");
    return 0;
}

/* Options that only some formats take, checked once the format is known. */
static int check_args(const inspect_args *a)
{
    const char *name = wl_format_name((enum wl_format)a->format);
    bool generic = a->format == WL_FMT_CSV || a->format == WL_FMT_JSONL;
    if (a->generic_opts && !generic)
        return usage_error("--column and --arrival-unit apply to --format csv or jsonl, not to %s%s", name,
                           a->guessed ? " (guessed from the first line)" : "");
    if (generic && (!a->o.columns.arrival || !a->o.columns.input || !a->o.columns.output))
        return usage_error("--format %s needs --column arrival=NAME, --column input=NAME and --column output=NAME",
                           name);
    if (a->burstgpt_opts && a->format != WL_FMT_BURSTGPT)
        return usage_error("--model, --log-type and --keep-failed apply to burstgpt traces, not to %s%s", name,
                           a->guessed ? " (guessed from the first line)" : "");
    return 0;
}

/* ---- format guessing ---- */

#define GUESS_BYTES 65536 /* enough for a Mooncake line's keys ahead of a long hash_ids list */

/* The format from the first line of `path` (gzip read through): the Azure header, a BurstGPT
 * header, or a JSON object with Mooncake's or vLLM's keys. With `generic` (columns given) only
 * CSV or JSON lines are told apart. -1 with err when the line says nothing known. */
static int guess_format(const char *path, bool generic, int *format, fs_error *err)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) return fs_error_set(err, path, 0, 0, "cannot open trace: %s", errno ? strerror(errno) : "out of memory");
    char *buf = fs_xmalloc(GUESS_BYTES + 1);
    int n = gzread(gz, buf, GUESS_BYTES);
    int zerr = Z_OK;
    const char *zmsg = n < 0 ? gzerror(gz, &zerr) : "";
    int rc = 0;
    if (n < 0) {
        rc = fs_error_set(err, path, 0, 0, "cannot read trace: %s", zerr == Z_ERRNO ? strerror(errno) : zmsg);
        goto out;
    }
    buf[n] = '\0';
    if (n == 0) {
        rc = fs_error_set(err, path, 0, 0, "empty file: no line to guess the format from (give --format NAME)");
        goto out;
    }
    char *line = buf;
    if (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) line += 3; /* UTF-8 byte order mark */
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0]) {
        rc = fs_error_set(err, path, 1, 0, "cannot guess the format from an empty first line: give --format NAME");
    } else if (generic) {
        *format = line[0] == '{' ? WL_FMT_JSONL : WL_FMT_CSV;
    } else if (line[0] == '{') {
        if (strstr(line, "\"hash_ids\"") || strstr(line, "\"input_length\"")) *format = WL_FMT_MOONCAKE;
        else if (strstr(line, "\"input_toks\"")) *format = WL_FMT_VLLM;
        else rc = fs_error_set(err, path, 1, 0, "cannot guess the format: a JSON line without \"hash_ids\", "
                               "\"input_length\" (mooncake) or \"input_toks\" (vllm); for other JSON lines give "
                               "--format jsonl --column arrival=KEY --column input=KEY --column output=KEY");
    } else if (strncmp(line, "TIMESTAMP,ContextTokens,GeneratedTokens", 39) == 0) {
        *format = WL_FMT_AZURE;
    } else if (strstr(line, "Request tokens") && strstr(line, "Response tokens")) {
        *format = WL_FMT_BURSTGPT;
    } else {
        rc = fs_error_set(err, path, 1, 0, "cannot guess the format from the first line '%.60s%s': give --format "
                          "azure, burstgpt, mooncake or vllm, or --format csv (jsonl) with --column arrival=NAME "
                          "--column input=NAME --column output=NAME", line, strlen(line) > 60 ? "..." : "");
    }
out:
    free(buf);
    gzclose(gz);
    return rc;
}

/* ---- the set of chain hashes seen ---- */

/* Open addressing with linear probing, at most half full. 0 is a valid hash (Mooncake's ids
 * start there), so it is kept apart and 0 marks an empty slot. */
typedef struct hash_set {
    uint64_t *slot;
    size_t cap, n; /* cap a power of two (0 before the first add); n slots in use */
    bool has_zero;
} hash_set;

static size_t home(const hash_set *s, uint64_t k)
{
    k ^= k >> 30; /* splitmix64's finalizer: sequential ids spread over the table */
    k *= UINT64_C(0xbf58476d1ce4e5b9);
    k ^= k >> 27;
    k *= UINT64_C(0x94d049bb133111eb);
    k ^= k >> 31;
    return (size_t)k & (s->cap - 1);
}

static bool set_has(const hash_set *s, uint64_t k)
{
    if (k == 0) return s->has_zero;
    if (s->cap == 0) return false;
    for (size_t i = home(s, k);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == k) return true;
        if (s->slot[i] == 0) return false;
    }
}

static void set_put(hash_set *s, uint64_t k) /* k != 0, room guaranteed */
{
    size_t i = home(s, k);
    while (s->slot[i] != 0 && s->slot[i] != k) i = (i + 1) & (s->cap - 1);
    if (s->slot[i] == 0) s->n++;
    s->slot[i] = k;
}

/* Rare: double the table and place every key again. */
static void set_grow(hash_set *s)
{
    size_t cap = s->cap ? 2 * s->cap : 1024;
    hash_set g = {fs_xcalloc(cap, sizeof *g.slot), cap, 0, s->has_zero};
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) set_put(&g, s->slot[i]);
    free(s->slot);
    *s = g;
}

static void set_add(hash_set *s, uint64_t k)
{
    if (k == 0) {
        s->has_zero = true;
        return;
    }
    if (2 * (s->n + 1) > s->cap) set_grow(s);
    set_put(s, k);
}

/* ---- one pass ---- */

#define MINUTE (60 * FS_NS_PER_S)

typedef struct inspect {
    uint64_t requests;
    fs_time last; /* arrival of the latest request (ns from the first) */
    /* per minute: the one being counted, and the full minutes before it */
    int64_t minute;
    uint64_t in_minute, full_minutes, minute_min, minute_max;
    /* inter-arrival gaps in seconds (Welford) */
    uint64_t gaps;
    double gap_mean, gap_m2;
    /* lengths */
    fs_hist in, out;
    int32_t in_min, out_min;
    /* prefix chains */
    hash_set seen;
    uint64_t chained, blocks, reused_blocks, reused_tokens;
    int32_t block_tokens; /* of the first chain; -1 when chains differ */
} inspect;

static void minute_done(inspect *s, uint64_t count)
{
    if (s->full_minutes == 0 || count < s->minute_min) s->minute_min = count;
    if (count > s->minute_max) s->minute_max = count;
    s->full_minutes++;
}

/* An arrival in minute m, after the one counted: close it and any empty minutes between. */
static void next_minute(inspect *s, int64_t m)
{
    minute_done(s, s->in_minute);
    uint64_t empty = (uint64_t)(m - s->minute - 1);
    if (empty) {
        s->minute_min = 0;
        s->full_minutes += empty;
    }
    s->minute = m;
    s->in_minute = 0;
}

static void add_chain(inspect *s, const wl_request *r)
{
    int32_t n = r->nchain, ct = r->chain_tokens, hit = 0;
    while (hit < n && set_has(&s->seen, r->chain[hit])) hit++;
    for (int32_t i = hit; i < n; i++) set_add(&s->seen, r->chain[i]);
    int64_t covered = (int64_t)hit * ct;
    s->chained++;
    s->blocks += (uint64_t)n;
    s->reused_blocks += (uint64_t)hit;
    s->reused_tokens += (uint64_t)(covered < r->input_tokens ? covered : r->input_tokens);
    if (s->chained == 1) s->block_tokens = ct;
    else if (ct != s->block_tokens) s->block_tokens = -1;
}

static void add_request(inspect *s, const wl_request *r)
{
    FS_ASSERT(s->requests == 0 || r->arrival >= s->last); /* wl_next yields arrival order */
    if (s->requests > 0) {
        double gap = fs_time_to_s(r->arrival - s->last), d = gap - s->gap_mean;
        s->gaps++;
        s->gap_mean += d / (double)s->gaps;
        s->gap_m2 += d * (gap - s->gap_mean);
    }
    int64_t m = r->arrival / MINUTE;
    if (m > s->minute) next_minute(s, m);
    s->in_minute++;
    s->last = r->arrival;
    fs_hist_add(&s->in, r->input_tokens, 1);
    fs_hist_add(&s->out, r->output_tokens, 1);
    if (s->requests == 0 || r->input_tokens < s->in_min) s->in_min = r->input_tokens;
    if (s->requests == 0 || r->output_tokens < s->out_min) s->out_min = r->output_tokens;
    if (r->nchain > 0) add_chain(s, r);
    s->requests++;
}

/* ---- printing ---- */

/* What both printers show, derived once; NaN where a figure does not exist (no requests, no
 * full minute, fewer than two gaps). */
typedef struct figures {
    double duration_s, rate_rps;
    double minute_min, minute_mean, minute_max; /* req/s over full minutes */
    double last_minute_s;
    double gap_mean_s, cv;
    fs_summary in, out;
    double reused_block_share, reused_token_share;
} figures;

static void derive(const inspect *s, figures *f)
{
    f->duration_s = s->requests ? fs_time_to_s(s->last) : NAN;
    f->rate_rps = f->duration_s > 0 ? (double)s->requests / f->duration_s : NAN;
    bool full = s->full_minutes > 0;
    f->minute_min = full ? (double)s->minute_min / 60 : NAN;
    f->minute_max = full ? (double)s->minute_max / 60 : NAN;
    f->minute_mean = full ? (double)(s->requests - s->in_minute) / (double)s->full_minutes / 60 : NAN;
    f->last_minute_s = s->requests ? fs_time_to_s(s->last - s->minute * MINUTE) : NAN;
    f->gap_mean_s = s->gaps ? s->gap_mean : NAN;
    f->cv = s->gaps > 1 && s->gap_mean > 0 ? sqrt(s->gap_m2 / (double)(s->gaps - 1)) / s->gap_mean : NAN;
    fs_hist_summarize(&s->in, &f->in);
    fs_hist_summarize(&s->out, &f->out);
    if (s->requests) {
        f->in.min = s->in_min; /* the histogram knows only its bucket */
        f->out.min = s->out_min;
    }
    f->reused_block_share = s->blocks ? (double)s->reused_blocks / (double)s->blocks : NAN;
    f->reused_token_share = s->in.sum > 0 ? (double)s->reused_tokens / (double)s->in.sum : NAN;
}

/* A span as people read it: " (58.4 min)", " (7.00 days)"; nothing under a minute. */
static const char *human_span(double s, char *buf, size_t n)
{
    if (s >= 2 * 86400) snprintf(buf, n, " (%.2f days)", s / 86400);
    else if (s >= 3600) snprintf(buf, n, " (%.2f h)", s / 3600);
    else if (s >= 60) snprintf(buf, n, " (%.1f min)", s / 60);
    else buf[0] = '\0';
    return buf;
}

static void print_text(const inspect_args *a, const wl_trace_stats *st, const inspect *s, const figures *f)
{
    char buf[64];
    printf("trace         %s (%s%s)\n", a->path, wl_format_name((enum wl_format)a->format),
           a->guessed ? ", guessed from the first line" : "");
    printf("rows          %llu read; left out: %llu malformed (skipped), %llu failed, %llu filtered\n",
           (unsigned long long)st->rows, (unsigned long long)st->bad, (unsigned long long)st->failed,
           (unsigned long long)st->filtered);
    printf("requests      %llu\n", (unsigned long long)s->requests);
    if (s->requests == 0) return;
    printf("duration      %.3f s%s, first to last arrival\n", f->duration_s, human_span(f->duration_s, buf, sizeof buf));
    if (isfinite(f->rate_rps)) printf("rate          %.4g req/s (requests / duration)\n", f->rate_rps);
    if (s->full_minutes)
        printf("per minute    %.4g min, %.4g mean, %.4g max req/s over %llu full minute%s\n"
               "              (not counted: the last minute, cut at %.1f s, with %llu request%s)\n", f->minute_min,
               f->minute_mean, f->minute_max, (unsigned long long)s->full_minutes, s->full_minutes == 1 ? "" : "s",
               f->last_minute_s,
               (unsigned long long)s->in_minute, s->in_minute == 1 ? "" : "s");
    else
        printf("per minute    none: the trace spans less than one full minute\n");
    if (isfinite(f->cv))
        printf("burstiness    %.3f: CV of inter-arrival gaps (mean gap %.4g s; Poisson arrivals give 1)\n", f->cv,
               f->gap_mean_s);
    printf("\n%-14s %10s %10s %10s %10s %10s %10s\n", "tokens", "mean", "min", "p50", "p90", "p99", "max");
    const fs_summary *rows[2] = {&f->in, &f->out};
    for (int i = 0; i < 2; i++)
        printf("%-14s %10.1f %10.0f %10.0f %10.0f %10.0f %10.0f\n", i ? "output" : "input", rows[i]->mean,
               rows[i]->min, rows[i]->p50, rows[i]->p90, rows[i]->p99, rows[i]->max);
    printf("(percentiles within 0.2%%)\n\n");
    if (s->chained == 0) {
        printf("prefix reuse  none measured: no request has a hash chain\n");
        return;
    }
    if (s->block_tokens >= 0) snprintf(buf, sizeof buf, "%d", s->block_tokens);
    else snprintf(buf, sizeof buf, "varying");
    printf("prefix reuse  %.1f%% of %llu chain blocks seen earlier (%s tokens each, %llu distinct),\n"
           "              covering %.1f%% of prompt tokens (%llu of %lld)\n", 100 * f->reused_block_share,
           (unsigned long long)s->blocks, buf, (unsigned long long)(s->seen.n + s->seen.has_zero),
           100 * f->reused_token_share, (unsigned long long)s->reused_tokens, (long long)s->in.sum);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *count(uint64_t v) { return json_integer((json_int_t)v); }

static json_t *lengths(const fs_hist *h, const fs_summary *x)
{
    if (h->total == 0) return json_null();
    return json_pack("{s:I, s:o, s:I, s:o, s:o, s:o, s:I}", "total", (json_int_t)h->sum, "mean", num(x->mean),
                     "min", (json_int_t)x->min, "p50", num(x->p50), "p90", num(x->p90), "p99", num(x->p99), "max",
                     (json_int_t)h->max);
}

static void print_json(const inspect_args *a, const wl_trace_stats *st, const inspect *s, const figures *f)
{
    json_t *o = json_pack("{s:s, s:s, s:b, s:{s:o, s:o, s:o, s:o}, s:o, s:o, s:o}", "trace", a->path, "format",
                          wl_format_name((enum wl_format)a->format), "format_guessed", a->guessed, "rows", "read",
                          count(st->rows), "bad_skipped", count(st->bad), "failed_dropped", count(st->failed),
                          "filtered", count(st->filtered), "requests", count(s->requests), "duration_s",
                          num(f->duration_s), "rate_rps", num(f->rate_rps));
    json_object_set_new(o, "per_minute", s->requests == 0 ? json_null() :
                        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "full_minutes", count(s->full_minutes),
                                  "min_rps", num(f->minute_min), "mean_rps", num(f->minute_mean), "max_rps",
                                  num(f->minute_max), "last_minute_s", num(f->last_minute_s),
                                  "last_minute_requests", count(s->in_minute)));
    json_object_set_new(o, "interarrival_mean_s", num(f->gap_mean_s));
    json_object_set_new(o, "interarrival_cv", num(f->cv));
    json_object_set_new(o, "input_tokens", lengths(&s->in, &f->in));
    json_object_set_new(o, "output_tokens", lengths(&s->out, &f->out));
    json_object_set_new(o, "prefix_reuse", s->chained == 0 ? json_null() :
                        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "requests", count(s->chained),
                                  "block_tokens", s->block_tokens >= 0 ? json_integer(s->block_tokens) : json_null(),
                                  "blocks", count(s->blocks), "distinct_blocks",
                                  count(s->seen.n + s->seen.has_zero), "reused_blocks", count(s->reused_blocks),
                                  "reused_block_share", num(f->reused_block_share), "reused_prompt_tokens",
                                  count(s->reused_tokens), "reused_prompt_token_share", num(f->reused_token_share)));
    char *text = json_dumps(o, JSON_REAL_PRECISION(10));
    FS_ASSERT(text);
    puts(text);
    free(text);
    json_decref(o);
}

/* ---- the command ---- */

/* A model, tenant or region column is read and checked, but inspect has no deployments or names
 * to map its values to: every model is deployment 0 and names stay unindexed. */
static int any_model(void *ctx, const char *name, size_t len, uint32_t *target, char *why, size_t why_len)
{
    (void)ctx;
    (void)name;
    (void)len;
    (void)why;
    (void)why_len;
    *target = 0;
    return 0;
}

static uint32_t no_index(void *ctx, int kind, const char *name, size_t len)
{
    (void)ctx;
    (void)kind;
    (void)name;
    (void)len;
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    inspect_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc == 1 ? 0 : rc;
    fs_error err;
    if (a.format < 0) {
        if (guess_format(a.path, a.generic_opts, &a.format, &err)) {
            print_error(&err);
            return EXIT_INPUT;
        }
        a.guessed = true;
    }
    if (check_args(&a)) return EXIT_INPUT;
    a.o.format = (enum wl_format)a.format;
    const wl_names names = {NULL, any_model, no_index};
    a.o.names = &names;
    wl_source *src = wl_trace_open(a.path, &a.o, &err);
    if (!src) {
        print_error(&err);
        return EXIT_INPUT;
    }
    inspect s = {0};
    fs_hist_init(&s.in);
    fs_hist_init(&s.out);
    wl_request r;
    while ((rc = wl_next(src, &r, &err)) == 1) add_request(&s, &r);
    if (rc == 0) {
        wl_trace_stats st;
        figures f;
        wl_stats(src, &st);
        derive(&s, &f);
        if (a.json) print_json(&a, &st, &s, &f);
        else print_text(&a, &st, &s, &f);
        fflush(stdout);
    } else {
        FS_ASSERT(rc == -1); /* a trace never waits */
        print_error(&err);
    }
    wl_free(src);
    fs_hist_fini(&s.in);
    fs_hist_fini(&s.out);
    free(s.seen.slot);
    return rc == 0 ? 0 : EXIT_INPUT;
}
