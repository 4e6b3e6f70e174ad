/*
 * fuzz_trace.c — libFuzzer target for one trace reader. CMakeLists.txt builds this file once per
 * format with FUZZ_FORMAT set (fuzz_azure, fuzz_burstgpt, fuzz_mooncake, fuzz_vllm, fuzz_csv,
 * fuzz_jsonl).
 *
 * Input: one option byte, then the trace bytes (plain or gzip), read through
 * wl_trace_open_buffer and wl_next to the end or to the first error. The option byte:
 *   bit 0     skip_bad_rows
 *   bit 1     sort_window of 5 s
 *   bit 2     JSON-line formats: json_slow (jansson for every line); csv: map t, in, out only
 *   bit 3     burstgpt: keep_failed;               csv, jsonl: arrival unit, low bit
 *   bit 4     no names callbacks (opts.names NULL) and no model column
 *   bit 5     burstgpt: model and log_type filter;  csv, jsonl: arrival unit, high bit
 *   bits 6-7  rewind once: never, or after 1, 4 or 16 requests (or at the end, if it comes first)
 * csv and jsonl read the columns (keys) t, in, out, model, tenant, session, priority, region (a
 * csv header must hold every column mapped). The names callbacks take any name, except that a
 * model name starting with '#' is refused, so the reader's path for an unknown model runs too.
 *
 * Beyond the sanitizers, the target aborts when the reader breaks its contract (wl.h): a failed
 * open or a -1 without a message; a return value other than -1, 0, 1; ids not 0, 1, 2, ...;
 * arrivals negative or out of order; fewer than one token; a target or name index the callbacks
 * never gave; stats counting fewer rows than requests returned; or, after a rewind, requests
 * that differ from the first ones.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl.h"

#ifndef FUZZ_FORMAT
#error "FUZZ_FORMAT must name a trace format (WL_FMT_AZURE, ...)"
#endif

enum {
    OPT_SKIP_BAD = 1 << 0,
    OPT_SORT = 1 << 1,
    OPT_JSON_SLOW = 1 << 2, /* csv: the t, in, out columns only */
    OPT_FMT_LOW = 1 << 3,
    OPT_NO_NAMES = 1 << 4,
    OPT_FMT_HIGH = 1 << 5,
    OPT_REWIND_SHIFT = 6,
};

#define NTARGETS 4   /* the model callback maps names onto deployments 0 .. NTARGETS-1 */
#define NNAMES 1000  /* and tenant and region names onto 1 .. NNAMES */
#define NRECORDED 16 /* requests kept to compare after a rewind (the largest rewind point) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_trace (%s): ", wl_format_name(FUZZ_FORMAT));
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* FNV-1a: reads every byte it is given, so ASan checks the spans the reader hands out. */
static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV_BASIS 0xcbf29ce484222325ULL

static int model_cb(void *ctx, const char *name, size_t len, uint32_t *target, char *why, size_t why_len)
{
    (void)ctx;
    uint64_t h = fnv(name, len, FNV_BASIS);
    if (len > 0 && name[0] == '#') {
        snprintf(why, why_len, "no deployment serves '%.*s'", (int)(len < 40 ? len : 40), name);
        return -1;
    }
    *target = (uint32_t)(h % NTARGETS);
    return 0;
}

static uint32_t intern_cb(void *ctx, int kind, const char *name, size_t len)
{
    (void)ctx;
    if (kind != 0 && kind != 1) fail("intern called with kind %d", kind);
    return 1 + (uint32_t)(fnv(name, len, FNV_BASIS + (uint64_t)kind) % NNAMES);
}

/* What a request was, to compare it with its replay after a rewind. */
typedef struct seen {
    wl_request r; /* chain pointer excluded from comparisons */
    uint64_t chain_hash;
} seen;

static bool same(const seen *a, const seen *b)
{
    const wl_request *x = &a->r, *y = &b->r;
    return x->id == y->id && x->arrival == y->arrival && x->input_tokens == y->input_tokens &&
           x->output_tokens == y->output_tokens && x->target == y->target && x->priority == y->priority &&
           x->prefix_key == y->prefix_key && x->prefix_tokens == y->prefix_tokens && x->nchain == y->nchain &&
           x->chain_tokens == y->chain_tokens && x->tenant == y->tenant && x->region == y->region &&
           x->session == y->session && a->chain_hash == b->chain_hash;
}

/* Check request number `n` (counted from the start or the rewind) against the contract. */
static seen check_request(const wl_request *r, uint64_t n, fs_time prev)
{
    if (r->id != n) fail("request %llu has id %llu", (unsigned long long)n, (unsigned long long)r->id);
    if (r->arrival < 0 || r->arrival < prev)
        fail("request %llu arrives at %lld ns, after one at %lld ns", (unsigned long long)n, (long long)r->arrival,
             (long long)prev);
    if (r->input_tokens < 1 || r->output_tokens < 1)
        fail("request %llu has %d input and %d output tokens", (unsigned long long)n, r->input_tokens,
             r->output_tokens);
    if (r->target >= NTARGETS) fail("request %llu has target %u", (unsigned long long)n, r->target);
    if (r->tenant > NNAMES || r->region > NNAMES)
        fail("request %llu has tenant %u, region %u", (unsigned long long)n, r->tenant, r->region);
    if (r->nchain < 0 || (r->nchain > 0 && !r->chain))
        fail("request %llu has a chain of %d at %p", (unsigned long long)n, r->nchain, (const void *)r->chain);
    seen s = {*r, fnv(r->chain, (size_t)r->nchain * sizeof *r->chain, FNV_BASIS)};
    s.r.chain = NULL;
    return s;
}

static void check_error(const fs_error *err, const char *what)
{
    char buf[2048];
    if (!err->msg[0]) fail("%s failed without a message", what);
    fs_error_format(err, buf, sizeof buf);
}

static void check_stats(wl_source *s, uint64_t returned, bool skip_bad)
{
    wl_trace_stats st;
    wl_stats(s, &st);
    if (st.rows < returned)
        fail("stats count %llu rows, %llu requests were returned", (unsigned long long)st.rows,
             (unsigned long long)returned);
    if (!skip_bad && st.bad) fail("stats count %llu bad rows without skip_bad_rows", (unsigned long long)st.bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    unsigned flags = data[0];
    static const unsigned rewind_points[4] = {0, 1, 4, 16};
    unsigned rewind_at = rewind_points[flags >> OPT_REWIND_SHIFT];
    static const wl_names names = {NULL, model_cb, intern_cb};
    enum wl_time_unit unit = (enum wl_time_unit)((flags & OPT_FMT_LOW ? 1 : 0) + (flags & OPT_FMT_HIGH ? 2 : 0));
    wl_trace_opts o = {
        .format = FUZZ_FORMAT,
        .columns = {"t", "in", "out", unit, "model", "tenant", "session", "priority", "region"},
        .model = flags & OPT_FMT_HIGH ? "ChatGPT" : NULL,
        .log_type = flags & OPT_FMT_HIGH ? "Conversation log" : NULL,
        .keep_failed = flags & OPT_FMT_LOW,
        .skip_bad_rows = flags & OPT_SKIP_BAD,
        .sort_window = flags & OPT_SORT ? 5.0 : 0,
        .target = 0,
        .names = flags & OPT_NO_NAMES ? NULL : &names,
        .json_slow = flags & OPT_JSON_SLOW,
    };
    if (flags & OPT_NO_NAMES) o.columns.model = NULL; /* a model column needs the callbacks */
    if (FUZZ_FORMAT == WL_FMT_CSV && (flags & OPT_JSON_SLOW))
        o.columns.model = o.columns.tenant = o.columns.session = o.columns.priority = o.columns.region = NULL;
    fs_error err;
    fs_error_clear(&err);
    wl_source *s = wl_trace_open_buffer("fuzz", data + 1, size - 1, &o, &err);
    if (!s) {
        check_error(&err, "wl_trace_open_buffer");
        return 0;
    }
    seen rec[NRECORDED];
    uint64_t n = 0, before = 0; /* requests since the start or the rewind; how many came before it */
    bool rewound = false, ended_before = false;
    fs_time prev = 0;
    for (;;) {
        wl_request r;
        fs_error_clear(&err);
        int rc = wl_next(s, &r, &err);
        if (rc != 1 && rc != 0 && rc != -1) fail("wl_next returned %d", rc);
        if (rc == 1) {
            seen x = check_request(&r, n, prev);
            prev = r.arrival;
            if (!rewound && n < NRECORDED) rec[n] = x;
            if (rewound && n < before && n < NRECORDED && !same(&x, &rec[n]))
                fail("request %llu differs after the rewind", (unsigned long long)n);
            n++;
        }
        if (rc < 0) check_error(&err, "wl_next");
        if (rc != 1 && rewound && (n < before || (ended_before && (rc != 0 || n != before))))
            fail("the replay %s after %llu requests, the first reading gave %llu%s", rc ? "failed" : "ended",
                 (unsigned long long)n, (unsigned long long)before, ended_before ? " and ended" : "");
        if (rc < 0 || (rc == 0 && (rewind_at == 0 || rewound))) {
            check_stats(s, n, o.skip_bad_rows);
            break;
        }
        if (!rewound && rewind_at && (rc == 0 || n == rewind_at)) {
            check_stats(s, n, o.skip_bad_rows);
            if (wl_rewind(s, &err)) {
                check_error(&err, "wl_rewind");
                break;
            }
            rewound = true;
            ended_before = rc == 0;
            before = n;
            n = 0;
            prev = 0;
        }
    }
    wl_free(s);
    return 0;
}
