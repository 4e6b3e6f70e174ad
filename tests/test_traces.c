/*
 * Trace readers (wl_trace_open and friends): every format on good files, exact requests and
 * stats; malformed input as a user sees it (the message names file:line, the column or key and
 * the offending value); the JSON scanner against jansson on every JSON-lines case; the CSV fast
 * path against libcsv; gzip from files and memory; the sort window; skipping bad rows; rewind.
 */
#define _POSIX_C_SOURCE 200809L
#define ZLIB_CONST
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <csv.h>
#include <zlib.h>

#include "harness.h"
#include "rng.h"
#include "wl.h"
#include "wl_json.h"

#define TRACES FS_TEST_DATA "/traces"
#define MAXREQ 512
#define MAXCHAIN 16384
#define S INT64_C(1000000000)

/* ---- reading a trace whole ---- */

typedef struct result {
    int rc;      /* 0: read to the end; -1: failed (at open when !opened) */
    bool opened;
    int n;       /* requests given */
    wl_request r[MAXREQ];
    uint64_t chains[MAXCHAIN];
    size_t nchains;
    wl_trace_stats st;
    char msg[1024];
} result;

static void drain(wl_source *s, result *res)
{
    fs_error err;
    wl_request q;
    int rc;
    while ((rc = wl_next(s, &q, &err)) == 1) {
        if (res->n < MAXREQ) {
            wl_request *d = &res->r[res->n];
            *d = q;
            d->chain = NULL;
            if (q.nchain > 0 && res->nchains + (size_t)q.nchain <= MAXCHAIN) {
                memcpy(res->chains + res->nchains, q.chain, (size_t)q.nchain * sizeof *q.chain);
                d->chain = res->chains + res->nchains;
                res->nchains += (size_t)q.nchain;
            }
        }
        res->n++;
    }
    res->rc = rc;
    if (rc < 0) fs_error_format(&err, res->msg, sizeof res->msg);
    wl_stats(s, &res->st);
}

/* From a file (path) or from memory (named "T" in messages). */
static void read_trace(const char *path, const void *data, size_t len, const wl_trace_opts *o, result *res)
{
    fs_error err;
    res->rc = res->n = 0;
    res->nchains = 0;
    res->msg[0] = '\0';
    memset(&res->st, 0, sizeof res->st);
    wl_source *s = path ? wl_trace_open(path, o, &err) : wl_trace_open_buffer("T", data, len, o, &err);
    res->opened = s != NULL;
    if (!s) {
        res->rc = -1;
        fs_error_format(&err, res->msg, sizeof res->msg);
        return;
    }
    drain(s, res);
    wl_free(s);
}

static bool is_json(enum wl_format f) { return f == WL_FMT_MOONCAKE || f == WL_FMT_VLLM || f == WL_FMT_JSONL; }

static bool same_request(const wl_request *a, const wl_request *b)
{
    if (a->id != b->id || a->arrival != b->arrival || a->input_tokens != b->input_tokens ||
        a->output_tokens != b->output_tokens || a->target != b->target || a->priority != b->priority ||
        a->prefix_key != b->prefix_key || a->prefix_tokens != b->prefix_tokens || a->nchain != b->nchain ||
        a->chain_tokens != b->chain_tokens || a->tenant != b->tenant || a->region != b->region ||
        a->session != b->session)
        return false;
    for (int i = 0; i < a->nchain; i++)
        if (!a->chain || !b->chain || a->chain[i] != b->chain[i]) return false;
    return true;
}

/* Two reads gave the same requests, stats and message. */
static void check_same(const result *a, const result *b, const char *what)
{
    int bad = a->rc != b->rc || a->n != b->n || strcmp(a->msg, b->msg) != 0 || a->st.rows != b->st.rows ||
              a->st.bad != b->st.bad || a->st.failed != b->st.failed || a->st.filtered != b->st.filtered;
    for (int i = 0; !bad && i < a->n && i < MAXREQ; i++)
        if (!same_request(&a->r[i], &b->r[i])) {
            fprintf(stderr, "  %s: request %d differs\n", what, i);
            bad = 1;
        }
    if (bad)
        fprintf(stderr, "  %s: rc %d/%d, %d/%d requests, \"%s\" / \"%s\"\n", what, a->rc, b->rc, a->n, b->n, a->msg,
                b->msg);
    CHECK(!bad);
}

static result res_a, res_b, res_c;

/* A trace in memory; a JSON-lines one is read with the scanner and with jansson, which must
 * agree in everything. Returns the (scanner's) result. */
static result *read_text(const char *text, size_t len, wl_trace_opts o)
{
    o.json_slow = false;
    read_trace(NULL, text, len, &o, &res_a);
    if (is_json(o.format)) {
        o.json_slow = true;
        read_trace(NULL, text, len, &o, &res_b);
        check_same(&res_a, &res_b, "scanner vs jansson");
    }
    return &res_a;
}

static result *read_str(const char *text, wl_trace_opts o) { return read_text(text, strlen(text), o); }

/* A file, read both ways for JSON lines. */
static result *read_file(const char *path, wl_trace_opts o)
{
    o.json_slow = false;
    read_trace(path, NULL, 0, &o, &res_a);
    if (is_json(o.format)) {
        o.json_slow = true;
        read_trace(path, NULL, 0, &o, &res_b);
        check_same(&res_a, &res_b, path);
    }
    return &res_a;
}

static const char *write_tmp(const void *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/fleetsim-traces-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
    return path;
}

static size_t gzip_bytes(const void *data, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    z.next_in = data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t k = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? k : 0;
}

/* ---- names in rows: a table the tests can read back ---- */

typedef struct names_tab {
    char s[3][64][48];
    int n[3];
} names_tab;

static uint32_t tab_add(names_tab *t, int kind, const char *name, size_t len)
{
    for (int i = 0; i < t->n[kind]; i++)
        if (strlen(t->s[kind][i]) == len && memcmp(t->s[kind][i], name, len) == 0) return (uint32_t)i + 1;
    if (t->n[kind] == 64 || len >= 48) return 0;
    memcpy(t->s[kind][t->n[kind]], name, len);
    t->s[kind][t->n[kind]][len] = '\0';
    return (uint32_t)++t->n[kind];
}

static uint32_t t_intern(void *ctx, int kind, const char *name, size_t len) { return tab_add(ctx, kind, name, len); }

/* Models: "unknown" maps to nothing; others to deployment 100 + their index. */
static int t_model(void *ctx, const char *name, size_t len, uint32_t *target, char *why, size_t why_len)
{
    if (len == 7 && memcmp(name, "unknown", 7) == 0) {
        snprintf(why, why_len, "no deployment is named '%.*s' or serves that model", (int)len, name);
        return -1;
    }
    *target = 100 + tab_add(ctx, 2, name, len);
    return 0;
}

static const char *tab_name(const names_tab *t, int kind, uint32_t i) { return i ? t->s[kind][i - 1] : ""; }

/* ---- malformed input, table-driven ---- */

typedef struct bad_case {
    const char *text;
    int before;        /* requests given before the error */
    const char *want;  /* what the message must contain */
    double sort;       /* opts.sort_window */
} bad_case;

static int run_bad(const wl_trace_opts *base, const bad_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        wl_trace_opts o = *base;
        o.sort_window = c[i].sort;
        result *res = read_str(c[i].text, o);
        if (res->rc != -1 || res->n != c[i].before || !strstr(res->msg, c[i].want))
            fprintf(stderr, "  %s case %zu: rc %d, %d requests, \"%s\"\n", wl_format_name(o.format), i, res->rc,
                    res->n, res->msg);
        CHECK_INT(res->rc, -1);
        CHECK_INT(res->n, c[i].before);
        CHECK_CONTAINS(res->msg, c[i].want);
    }
    return (int)n;
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
static int ncases[WL_FMT_COUNT];

/* ---- Azure ---- */

#define AZ "TIMESTAMP,ContextTokens,GeneratedTokens\n"

static void test_azure_2024_sample(void)
{
    wl_trace_opts o = {.format = WL_FMT_AZURE};
    result *res = read_file(TRACES "/azure2024_code_1week_head_tail.csv", o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 10);
    CHECK_INT(res->st.rows, 10);
    CHECK_INT(res->r[0].arrival, 0);
    CHECK_INT(res->r[0].input_tokens, 2162);
    CHECK_INT(res->r[0].output_tokens, 5);
    CHECK_INT(res->r[1].arrival, INT64_C(7405000)); /* .017335 - .009930 */
    CHECK_INT(res->r[9].arrival, INT64_C(604799919571000)); /* 6 d 23:59:59.919571 later */
    CHECK_INT(res->r[9].input_tokens, 4725);
    CHECK_INT(res->r[9].output_tokens, 8);
    CHECK_INT(res->r[9].id, 9);
}

static void test_azure_bad(void)
{
    static const bad_case c[] = {
        {"", 0, "T: empty file: expected a azure header row", 0},
        {"\n\n", 0, "T: empty file", 0},
        {"2023-11-16 18:15:46.6,1,1\n", 0, "T:1:1: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, "
         "got '2023-11-16 18:15:46.6' in column 1", 0},
        {"time,in,out\n2023-11-16 18:15:46.6,1,1\n", 0, "T:1:1: expected the header TIMESTAMP,ContextTokens,"
         "GeneratedTokens, got 'time' in column 1", 0},
        {"TIMESTAMP,ContextTokens\n", 0, "T:1:3: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, "
         "got only 2 columns", 0},
        {AZ "2023-11-16 18:15:46.6,1\n", 0, "T:2: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 2", 0},
        {AZ "2023-11-16 18:15:46.6,1,1,1\n", 0, "T:2: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 4", 0},
        {AZ "2023-11-16 18:15:46.6,1,1\nyesterday,1,1\n", 1, "T:3:1: column TIMESTAMP: expected a date and time such as "
         "'2023-11-16 18:15:46.6805900', got 'yesterday'", 0},
        {AZ "2023-02-30 18:15:46.6,1,1\n", 0, "T:2:1: column TIMESTAMP: expected a date and time such as "
         "'2023-11-16 18:15:46.6805900', got '2023-02-30 18:15:46.6'", 0},
        {AZ "2023-11-16 18:15:46.6,abc,1\n", 0, "T:2:2: column ContextTokens: expected a token count, got 'abc'", 0},
        {AZ "2023-11-16 18:15:46.6,10,-3\n", 0, "T:2:3: column GeneratedTokens: expected a token count in 0..1000000000, "
         "got '-3'", 0},
        {AZ "2023-11-16 18:15:46.6,1000000001,1\n", 0, "T:2:2: column ContextTokens: expected a token count in "
         "0..1000000000, got '1000000001'", 0},
        {AZ "2023-11-16 18:15:46.6,99999999999,1\n", 0, "T:2:2: column ContextTokens: expected a token count in 0..1000000000, got "
         "'99999999999'", 0},
        {AZ "2023-11-16 18:15:46.6,,1\n", 0, "T:2:2: column ContextTokens: expected a token count, got ''", 0},
        {AZ "2023-11-16 18:15:47.0,1,1\n2023-11-16 18:15:46.0,1,1\n", 1, "T:3: time goes backwards (1.000000 s before "
         "the previous row)", 0},
        {AZ "2023-11-16 18:15:50,1,1\n2023-11-16 18:15:51,1,1\n2023-11-16 18:15:48,1,1\n", 1, "T:4: arrives 2.000000 s "
         "before a request already passed on: more out of order than the sort window (0.5 s) allows", 0.5},
        {AZ "2023-11-16 18:15:46.6,1,1\n2023-11-16 18:15:4", 1, "T:3: expected 3 columns (TIMESTAMP,ContextTokens,"
         "GeneratedTokens), found 1 (the last line has no line end: is the file truncated?)", 0},
        {AZ "2023-11-16 18:15:46.6,1,1\n2023-11-16 18:15:47.6,1,", 1, "T:3:3: column GeneratedTokens: expected a token "
         "count, got '' (the last line has no line end: is the file truncated?)", 0},
        {AZ "2023-11-16 18:15:46.6,\"1\"x,1\n", 0, "T:2: malformed CSV at 'x,1': a double quote must open a field, "
         "close it, or be doubled inside a quoted one", 0},
        {AZ "2023-11-16 18:15:46.6,1,x\"y\"\n", 0, "T:2: malformed CSV at '\"y\"'", 0},
        {AZ "2023-11-16 18:15:46.6,1,1\n2023-11-16 18:15:47.6,1,\"1\n\n", 1, "T:3: malformed CSV at the end of the file: "
         "a quoted field is not closed (is the file truncated?)", 0},
        {AZ "2023-11-16 18:15:46.6,1,1\r2023-11-16 18:15:47.6,1,1\n", 0, "T:2: a carriage return ends a CSV record in "
         "the middle of the line (expected \\n or \\r\\n line ends)", 0},
        {AZ "1900-01-01 00:00:00,1,1\n2023-11-16 18:15:47.6,1,1\n", 1, "T:3: arrives 123.9 years after the first row: a "
         "trace may span at most 100 years (is the time unit right?)", 0},
        {AZ "2023-11-16 18:15:46.6,1,1\n\n2023-11-16 18:15:47.6,x,1\n", 1, "T:4:2: column ContextTokens: expected a "
         "token count, got 'x'", 0},
    };
    wl_trace_opts o = {.format = WL_FMT_AZURE};
    ncases[WL_FMT_AZURE] += run_bad(&o, c, NCASES(c));
}

/* ---- BurstGPT ---- */

#define B11 "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
#define B12 "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n"

static void check_req(const wl_request *r, int64_t arrival, int32_t in, int32_t out)
{
    CHECK_INT(r->arrival, arrival);
    CHECK_INT(r->input_tokens, in);
    CHECK_INT(r->output_tokens, out);
}

static void test_burstgpt_v11(void)
{
    const char *path = TRACES "/burstgpt_v11_sample.csv";
    wl_trace_opts o = {.format = WL_FMT_BURSTGPT, .target = 3};
    result *res = read_file(path, o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 6);
    CHECK_INT(res->st.rows, 8);
    CHECK_INT(res->st.failed, 2);
    CHECK_INT(res->st.filtered, 0);
    check_req(&res->r[0], 0, 472, 18);
    check_req(&res->r[1], 40 * S, 1087, 230);
    check_req(&res->r[2], 113 * S, 417, 276);
    check_req(&res->r[3], 126 * S, 35, 80);
    check_req(&res->r[4], 195 * S, 2048, 512);
    check_req(&res->r[5], 196 * S + S / 4, 1, 12); /* 0 request tokens are served as 1 */
    CHECK_INT(res->r[5].id, 5);
    CHECK_INT(res->r[0].target, 3);
    CHECK_INT(res->r[0].session, 0);

    o.model = "GPT-4";
    res = read_file(path, o);
    CHECK_INT(res->n, 2);
    CHECK_INT(res->st.filtered, 5);
    CHECK_INT(res->st.failed, 1);
    check_req(&res->r[0], 0, 417, 276);
    check_req(&res->r[1], 82 * S, 2048, 512);

    o.model = NULL;
    o.log_type = "API log";
    res = read_file(path, o);
    CHECK_INT(res->n, 2);
    CHECK_INT(res->st.filtered, 5);
    CHECK_INT(res->st.failed, 1);
    check_req(&res->r[1], 69 * S, 2048, 512);

    o.model = "GPT-4";
    res = read_file(path, o);
    CHECK_INT(res->n, 1);
    CHECK_INT(res->st.filtered, 6);
    CHECK_INT(res->st.failed, 1);

    o.model = "gpt-4"; /* exact text */
    res = read_file(path, o);
    CHECK_INT(res->n, 0);
    CHECK_INT(res->st.filtered, 8);

    o.model = o.log_type = NULL;
    o.keep_failed = true;
    res = read_file(path, o);
    CHECK_INT(res->n, 8);
    CHECK_INT(res->st.failed, 0);
    check_req(&res->r[3], 125 * S + S / 2, 1200, 1); /* failed, served with 1 output token */
    check_req(&res->r[7], 255 * S, 990, 1);
}

static void test_burstgpt_v12(void)
{
    wl_trace_opts o = {.format = WL_FMT_BURSTGPT};
    result *res = read_file(TRACES "/burstgpt_v12_sample.csv", o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 4);
    CHECK_INT(res->st.rows, 5);
    CHECK_INT(res->st.failed, 1);
    check_req(&res->r[0], 0, 472, 18);
    check_req(&res->r[2], 113 * S, 417, 276);
    check_req(&res->r[3], 126 * S, 35, 80);
    CHECK(res->r[0].session != 0);
    CHECK(res->r[0].session == res->r[1].session);
    CHECK(res->r[2].session != 0 && res->r[2].session != res->r[0].session);
    CHECK_INT(res->r[3].session, 0); /* empty Session ID */
    static result first;
    first = *res;
    /* the same rows with the columns in another order: found by name */
    const char *perm = "Log Type,Model,Total tokens,Response tokens,Request tokens,Elapsed time,Session ID,Timestamp\n"
                       "Conversation log,ChatGPT,490,18,472,1.2,1001,5\n"
                       "Conversation log,ChatGPT,1317,230,1087,9.8,1001,45\n"
                       "Conversation log,GPT-4,693,276,417,14.1,2002,118\n"
                       "API log,ChatGPT,115,80,35,3.0,,131\n"
                       "Conversation log,GPT-4,500,0,500,0,2002,140\n";
    res = read_str(perm, o);
    check_same(&first, res, "burstgpt v1.2, columns permuted");
}

static void test_burstgpt_bad(void)
{
    static const bad_case c[] = {
        {"", 0, "T: empty file: expected a burstgpt header row", 0},
        {"Time,Model,Request tokens,Response tokens,Total tokens,Log Type\n", 0, "T:1: expected a BurstGPT header, "
         "'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type' (v1.1) or 'Timestamp,Session ID,"
         "Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type' (v1.2 and later); got 6 columns "
         "('Time', 'Model', 'Request tokens', 'Response tokens', 'Total tokens', 'Log Type'), no column 'Timestamp'", 0},
        {"5,ChatGPT,472,18,490,Conversation log\n", 0, "T:1: expected a BurstGPT header, 'Timestamp,Model,", 0},
        {"5,ChatGPT,472,18,490,Conversation log\n", 0, "got 6 columns ('5', 'ChatGPT', '472', '18', '490', "
         "'Conversation log'), no column 'Timestamp'", 0},
        {"Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type,Extra\n", 0, "T:1: expected a BurstGPT "
         "header", 0},
        {"Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Type\n", 0, "got 8 columns "
         "('Timestamp', 'Session ID', 'Elapsed time', 'Model', 'Request tokens', 'Response tokens', 'Total tokens', "
         "'Type'), no column 'Log Type'", 0},
        {B11 "5,ChatGPT,472,18,490\n", 0, "T:2: expected 6 columns (BurstGPT v1.1), found 5", 0},
        {B12 "5,ChatGPT,472,18,490,Conversation log\n", 0, "T:2: expected 8 columns (BurstGPT v1.2), found 6", 0},
        {B11 "abc,ChatGPT,472,18,490,Conversation log\n", 0, "T:2:1: column Timestamp: expected a number, got 'abc'", 0},
        {B11 ",ChatGPT,472,18,490,Conversation log\n", 0, "T:2:1: column Timestamp: expected a number, got ''", 0},
        {B11 "-5,ChatGPT,472,18,490,Conversation log\n", 0, "T:2:1: column Timestamp: expected a time >= 0 in seconds, "
         "got '-5'", 0},
        {B11 "1e400,ChatGPT,472,18,490,Conversation log\n", 0, "T:2:1: column Timestamp: expected a number, got "
         "'1e400'", 0},
        {B11 "5,ChatGPT,many,18,490,Conversation log\n", 0, "T:2:3: column Request tokens: expected a token count, got "
         "'many'", 0},
        {B11 "5,ChatGPT,472,-18,490,Conversation log\n", 0, "T:2:4: column Response tokens: expected a token count in "
         "0..1000000000, got '-18'", 0},
        {B11 "5,ChatGPT,2000000000,18,490,Conversation log\n", 0, "T:2:3: column Request tokens: expected a token count "
         "in 0..1000000000, got '2000000000'", 0},
        {B12 "5,s1,1.0,ChatGPT,472,18.5,490,Conversation log\n", 0, "T:2:6: column Response tokens: expected a token "
         "count, got '18.5'", 0},
        {B11 "45,ChatGPT,1,1,2,API log\n5,ChatGPT,1,1,2,API log\n", 1, "T:3: time goes backwards (40.000000 s before "
         "the previous row)", 0},
        {B11 "45,ChatGPT,1,1,2,API log\n50,ChatGPT,1,1,2,API log\n30,ChatGPT,1,1,2,API log\n", 1, "T:4: arrives 15.000000 "
         "s before a request already passed on: more out of order than the sort window (2 s) allows", 2},
        {B11 "45,ChatGPT,1,1,2,API log\n5s,ChatGPT,1,1,2,API log\n", 1, "T:3:1: column Timestamp: expected a number, "
         "got '5s'", 0},
        {B11 "45,ChatGPT,1,1,2,API log\n46,ChatGPT,1,1", 1, "T:3: expected 6 columns (BurstGPT v1.1), found 4 (the last "
         "line has no line end: is the file truncated?)", 0},
        {B11 "45,\"Chat\"GPT,1,1,2,API log\n", 0, "T:2: malformed CSV at 'GPT,1,1,2,API log'", 0},
    };
    wl_trace_opts o = {.format = WL_FMT_BURSTGPT};
    ncases[WL_FMT_BURSTGPT] += run_bad(&o, c, NCASES(c));
    /* a cut last line that is still a whole row is read (the filter drops it here: 'API l') */
    o.log_type = "API log";
    result *res = read_str(B11 "45,ChatGPT,1,1,2,API log\n46,ChatGPT,1,1,2,API l", o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 1);
    CHECK_INT(res->st.filtered, 1);
}

/* ---- Mooncake ---- */

static int agree(const wl_request *a, const wl_request *b)
{
    int k = 0;
    while (k < a->nchain && k < b->nchain && a->chain[k] == b->chain[k]) k++;
    return k;
}

static void test_mooncake_sample(void)
{
    wl_trace_opts o = {.format = WL_FMT_MOONCAKE, .target = 2};
    result *res = read_file(TRACES "/mooncake_synthetic_head62.jsonl", o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 62);
    CHECK_INT(res->st.rows, 62);
    long long in = 0, out = 0, blocks = 0;
    int ok = 1;
    for (int i = 0; i < res->n; i++) {
        in += res->r[i].input_tokens;
        out += res->r[i].output_tokens;
        blocks += res->r[i].nchain;
        ok &= res->r[i].chain_tokens == 512 && res->r[i].nchain == (res->r[i].input_tokens + 511) / 512 &&
              res->r[i].chain != NULL && res->r[i].target == 2;
    }
    CHECK(ok);
    CHECK_INT(in, 780331);
    CHECK_INT(out, 11443);
    CHECK_INT(blocks, 1564);
    check_req(&res->r[0], 0, 40160, 6);
    check_req(&res->r[1], 0, 36640, 4);
    check_req(&res->r[61], INT64_C(17317) * 1000000, 15151, 5);
    /* lines 43 and 50 share their first 57 ids; 16 and 59 their first 5; 58 and 62 their first 28 */
    CHECK_INT(agree(&res->r[42], &res->r[49]), 57);
    CHECK_INT(agree(&res->r[15], &res->r[58]), 5);
    CHECK_INT(agree(&res->r[57], &res->r[61]), 28);
    CHECK_INT(agree(&res->r[15], &res->r[1]), 0);
    CHECK_INT(agree(&res->r[0], &res->r[1]), 0);
    /* chain[i] = H(chain[i-1], id_i): line 1's ids are 0, 1, 2, ... */
    CHECK(res->r[0].chain[1] == fs_hash64(res->r[0].chain[0], 1));
    CHECK(res->r[0].chain[78] == fs_hash64(res->r[0].chain[77], 78));
}

static void test_mooncake_ids(void)
{
    wl_trace_opts o = {.format = WL_FMT_MOONCAKE};
    const char *text =
        "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [7, 8, 9, 10]}\n"  /* 2 used */
        "{\"timestamp\": 1, \"input_length\": 2000, \"output_length\": 1, \"hash_ids\": [7]}\n"           /* fewer */
        "{\"timestamp\": 2, \"input_length\": 512, \"output_length\": 1}\n"                                  /* none */
        "{\"timestamp\": 3, \"input_length\": 513, \"output_length\": 1, \"hash_ids\": []}\n"
        "{\"timestamp\": 4, \"input_length\": 1024, \"output_length\": 0, \"hash_ids\": null}\n"
        "{\"timestamp\": 5.5, \"input_length\": 1025, \"output_length\": 2, \"hash_ids\": [7, 9, 11]}\n"
        "{\"hash_ids\": [8, 8], \"output_length\": 2, \"input_length\": 1024, \"timestamp\": 6, \"extra\": \"x\"}\n";
    result *res = read_str(text, o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 7);
    CHECK_INT(res->r[0].nchain, 2);
    CHECK_INT(res->r[1].nchain, 1);
    CHECK_INT(res->r[2].nchain, 0);
    CHECK(res->r[2].chain == NULL);
    CHECK_INT(res->r[3].nchain, 0);
    CHECK_INT(res->r[4].nchain, 0);
    CHECK_INT(res->r[4].output_tokens, 1); /* 0 served as 1 */
    CHECK_INT(res->r[5].arrival, 5500000);
    CHECK_INT(res->r[5].nchain, 3);
    CHECK_INT(agree(&res->r[0], &res->r[1]), 1);
    CHECK_INT(agree(&res->r[0], &res->r[5]), 1);
    CHECK_INT(agree(&res->r[0], &res->r[6]), 0); /* 8 at position 0 is not 8 at position 1 */
    CHECK(res->r[6].chain[0] != res->r[0].chain[1]);
}

static void test_mooncake_bad(void)
{
    static const bad_case c[] = {
        {"{\"timestamp\": 0, \"input_length\": 1,\n", 0, "T:1:", 0},
        {"{\"timestamp\": 0, \"input_length\": 1,\n", 0, "invalid JSON: ", 0},
        {"timestamp,input_length,output_length\n", 0, "T:1:9: invalid JSON: invalid token near 'timestamp'", 0},
        {"[0, 1, 2]\n", 0, "T:1:1: expected a JSON object per line, got an array", 0},
        {"17\n", 0, "T:1:1: expected a JSON object per line, got a number", 0},
        {"{\"input_length\": 1, \"output_length\": 1}\n", 0, "T:1: missing \"timestamp\" (expected a time)", 0},
        {"{\"timestamp\": \"0\", \"input_length\": 1, \"output_length\": 1}\n", 0, "T:1: \"timestamp\": expected a time "
         ">= 0 in ms, got \"0\"", 0},
        {"{\"timestamp\": -5, \"input_length\": 1, \"output_length\": 1}\n", 0, "T:1: \"timestamp\": expected a time >= 0 "
         "in ms, got -5", 0},
        {"{\"timestamp\": true, \"input_length\": 1, \"output_length\": 1}\n", 0, "T:1: \"timestamp\": expected a time >= "
         "0 in ms, got true", 0},
        {"{\"timestamp\": 0, \"input_length\": 1.5, \"output_length\": 1}\n", 0, "T:1: \"input_length\": expected a token "
         "count in 0..1000000000, got 1.5", 0},
        {"{\"timestamp\": 0, \"input_length\": -1, \"output_length\": 1}\n", 0, "T:1: \"input_length\": expected a token "
         "count in 0..1000000000, got -1", 0},
        {"{\"timestamp\": 0, \"input_length\": 10000000000, \"output_length\": 1}\n", 0, "T:1: \"input_length\": expected "
         "a token count in 0..1000000000, got 10000000000", 0},
        {"{\"timestamp\": 0, \"input_length\": 12345678901234567890123, \"output_length\": 1}\n", 0, "T:1:", 0},
        {"{\"timestamp\": 0, \"input_length\": 1}\n", 0, "T:1: missing \"output_length\" (expected a token count)", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": null}\n", 0, "T:1: missing \"output_length\"", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": 5}\n", 0, "T:1: \"hash_ids\": "
         "expected an array of integers >= 0, got 5", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1, -2]}\n", 0, "T:1: \"hash_ids\": "
         "expected an array of integers >= 0, got an array holding more than integers >= 0", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1, \"2\"]}\n", 0, "T:1: "
         "\"hash_ids\": expected an array of integers >= 0, got an array holding more than integers >= 0", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [[1]]}\n", 0, "T:1: \"hash_ids\": "
         "expected an array of integers >= 0", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": {\"a\": 1}}\n", 0, "T:1: "
         "\"hash_ids\": expected an array of integers >= 0, got an object", 0},
        {"{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 9, \"input_length\": 1, "
         "\"output_length\": 1}\n", 1, "T:2: time goes backwards (0.001000 s before the previous row)", 0},
        {"{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 5000, \"input_length\": 1, "
         "\"output_length\": 1}\n{\"timestamp\": 9, \"input_length\": 1, \"output_length\": 1}\n", 1, "T:3: arrives "
         "0.001000 s before a request already passed on: more out of order than the sort window (1 s) allows", 1},
        {"{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 11, \"input_len", 1, "T:2:",
         0},
        {"{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 11, \"input_len", 1, "(the last "
         "line has no line end: is the file truncated?)", 0},
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 1, \"input_length\": 1,, "
         "\"output_length\": 1}\n", 1, "T:2:", 0},
    };
    wl_trace_opts o = {.format = WL_FMT_MOONCAKE};
    ncases[WL_FMT_MOONCAKE] += run_bad(&o, c, NCASES(c));
}

/* ---- vLLM ---- */

static void test_vllm_run(void)
{
    wl_trace_opts o = {.format = WL_FMT_VLLM};
    result *res = read_file(FS_TEST_DATA "/replays/vllm-rtx4090-llama3.1-8b/vllm/requests.jsonl", o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 300);
    check_req(&res->r[0], 0, 2358, 531);
    CHECK_INT(res->r[1].arrival, INT64_C(386902482)); /* queued_ts 27537.047603549 - 27536.660701067 */
    const char *text = "{\"request_id\": \"a\", \"input_toks\": 10, \"output_toks\": 0, \"arrival_time\": 100.25}\n"
                       "{\"request_id\": \"b\\u00e9\", \"input_toks\": 11, \"output_toks\": 3, \"arrival_time\": 101}\n";
    res = read_str(text, o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 2);
    check_req(&res->r[0], 0, 10, 1);
    check_req(&res->r[1], 750000000, 11, 3);
}

static void test_vllm_bad(void)
{
    static const bad_case c[] = {
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 1\n", 0, "T:1:", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 1\n", 0, "invalid JSON:", 0},
        {"[{\"input_toks\": 1}]\n", 0, "T:1:1: expected a JSON object per line, got an array", 0},
        {"\"row\"\n", 0, "T:1:1: expected a JSON object per line, got a string", 0},
        {"{\"output_toks\": 1, \"arrival_time\": 1}\n", 0, "T:1: missing \"input_toks\" (expected a token count)", 0},
        {"{\"input_toks\": \"12\", \"output_toks\": 1, \"arrival_time\": 1}\n", 0, "T:1: \"input_toks\": expected a token "
         "count in 0..1000000000, got \"12\"", 0},
        {"{\"input_toks\": true, \"output_toks\": 1, \"arrival_time\": 1}\n", 0, "T:1: \"input_toks\": expected a token "
         "count in 0..1000000000, got true", 0},
        {"{\"input_toks\": 1, \"output_toks\": -7, \"arrival_time\": 1}\n", 0, "T:1: \"output_toks\": expected a token "
         "count in 0..1000000000, got -7", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1000000001, \"arrival_time\": 1}\n", 0, "T:1: \"output_toks\": expected a "
         "token count in 0..1000000000, got 1000000001", 0},
        {"{\"input_toks\": 2.0, \"output_toks\": 1, \"arrival_time\": 1}\n", 0, "T:1: \"input_toks\": expected a token "
         "count in 0..1000000000, got 2.0", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1}\n", 0, "T:1: missing \"arrival_time\" (expected a time)", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"queued_ts\": 5}\n{\"input_toks\": 1, \"output_toks\": 1, "
         "\"arrival_time\": 6}\n", 1, "T:2: missing \"queued_ts\" (expected a time)", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": -1}\n", 0, "T:1: \"arrival_time\": expected a time >= 0 "
         "in seconds, got -1", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": \"noon\"}\n", 0, "T:1: \"arrival_time\": expected a "
         "time >= 0 in seconds, got \"noon\"", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 1e300}\n", 0, "T:1: \"arrival_time\": expected a time "
         ">= 0 in seconds, got 1.0000000000000001e+300", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 5}\n\n{\"input_toks\": 1, \"output_toks\": 1, "
         "\"arrival_time\": 4.5}\n", 1, "T:3: time goes backwards (0.500000 s before the previous row)", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 5}\n{\"input_toks\": 1, \"output_toks\": 1, "
         "\"arrival_time\": 9}\n{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 4}\n", 1, "T:3: arrives "
         "1.000000 s before a request already passed on: more out of order than the sort window (3 s) allows", 3},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 5}\n{\"input_toks\": 1, \"outp", 1, "T:2:", 0},
        {"{\"input_toks\": 1, \"output_toks\": 1, \"arrival_time\": 5}\n{\"input_toks\": 1, \"outp", 1,
         "(the last line has no line end: is the file truncated?)", 0},
    };
    wl_trace_opts o = {.format = WL_FMT_VLLM};
    ncases[WL_FMT_VLLM] += run_bad(&o, c, NCASES(c));
}

/* ---- generic CSV and JSON lines ---- */

static const wl_columns gen_cols = {.arrival = "t", .input = "in", .output = "out", .arrival_unit = WL_UNIT_MS,
                                    .model = "model", .tenant = "tenant", .session = "session", .priority = "prio",
                                    .region = "region"};

static void test_generic_good(void)
{
    const char *csv = "id,t,in,out,model,tenant,session,prio,region\n"
                      "a,1000,100,10,llama,acme,s1,0,eu\n"
                      "b,1500.5,200,0,,\"globex, inc\",s2,-3,us\n"
                      "c,2000,300,30,mistral,acme,s1,,\n"
                      "d,2000,400,40,llama,42,,7,eu\n";
    const char *jsonl = "{\"id\": \"a\", \"t\": 1000, \"in\": 100, \"out\": 10, \"model\": \"llama\", \"tenant\": "
                        "\"acme\", \"session\": \"s1\", \"prio\": 0, \"region\": \"eu\"}\n"
                        "{\"id\": \"b\", \"t\": 1500.5, \"in\": 200, \"out\": 0, \"tenant\": \"globex, inc\", "
                        "\"session\": \"s2\", \"prio\": -3, \"region\": \"us\"}\n"
                        "{\"id\": \"c\", \"t\": 2000, \"in\": 300, \"out\": 30, \"model\": \"mistral\", \"tenant\": "
                        "\"acme\", \"session\": \"s1\", \"prio\": null}\n"
                        "{\"id\": \"d\", \"t\": 2000, \"in\": 400, \"out\": 40, \"model\": \"llama\", \"tenant\": 42, "
                        "\"prio\": 7, \"region\": \"eu\"}\n";
    names_tab tab;
    memset(&tab, 0, sizeof tab);
    wl_names names = {&tab, t_model, t_intern};
    wl_trace_opts o = {.format = WL_FMT_CSV, .columns = gen_cols, .names = &names, .target = 9};
    result *res = read_str(csv, o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, 4);
    check_req(&res->r[0], 0, 100, 10);
    check_req(&res->r[1], 500500000, 200, 1);
    check_req(&res->r[3], 1000 * 1000000, 400, 40);
    CHECK_INT(res->r[0].target, 101);
    CHECK_INT(res->r[1].target, 9); /* empty model: the default */
    CHECK_INT(res->r[2].target, 102);
    CHECK_INT(res->r[3].target, 101);
    CHECK_STR(tab_name(&tab, 0, res->r[0].tenant), "acme");
    CHECK_STR(tab_name(&tab, 0, res->r[1].tenant), "globex, inc");
    CHECK_STR(tab_name(&tab, 0, res->r[3].tenant), "42");
    CHECK_INT(res->r[2].tenant, res->r[0].tenant);
    CHECK_STR(tab_name(&tab, 1, res->r[0].region), "eu");
    CHECK_STR(tab_name(&tab, 1, res->r[1].region), "us");
    CHECK_INT(res->r[2].region, 0);
    CHECK_INT(res->r[0].priority, 0);
    CHECK_INT(res->r[1].priority, -3);
    CHECK_INT(res->r[2].priority, 0);
    CHECK_INT(res->r[3].priority, 7);
    CHECK(res->r[0].session != 0 && res->r[0].session == res->r[2].session);
    CHECK(res->r[1].session != 0 && res->r[1].session != res->r[0].session);
    CHECK_INT(res->r[3].session, 0);
    static result csv_res;
    csv_res = *res;
    /* the same rows as JSON lines give the same requests (names are interned in the same order) */
    memset(&tab, 0, sizeof tab);
    o.format = WL_FMT_JSONL;
    res = read_str(jsonl, o);
    check_same(&csv_res, res, "csv vs jsonl");

    /* without names: tenants and regions stay 0 */
    wl_trace_opts p = {.format = WL_FMT_CSV, .columns = gen_cols};
    p.columns.model = NULL;
    res = read_str(csv, p);
    CHECK_INT(res->n, 4);
    CHECK_INT(res->r[0].tenant, 0);
    CHECK_INT(res->r[0].region, 0);
    CHECK(res->r[0].session != 0);

    /* units: seconds, microseconds, date and time */
    p.columns = (wl_columns){.arrival = "t", .input = "in", .output = "out", .arrival_unit = WL_UNIT_US};
    res = read_str("t,in,out\n5,1,1\n7.5,1,1\n", p);
    CHECK_INT(res->r[1].arrival, 2500);
    p.columns.arrival_unit = WL_UNIT_S;
    res = read_str("t,in,out\n5,1,1\n7.5,1,1\n", p);
    CHECK_INT(res->r[1].arrival, 2500000000);
    p.columns.arrival_unit = WL_UNIT_DATETIME;
    res = read_str("t,in,out\n2024-05-10 00:00:00.5Z,1,1\n2024-05-10T02:00:01+02:00,1,1\n", p);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->r[1].arrival, 500000000);
    p.format = WL_FMT_JSONL;
    res = read_str("{\"t\": \"2024-05-10 00:00:00.5Z\", \"in\": 1, \"out\": 1}\n"
                   "{\"t\": \"2024-05-10T02:00:01+02:00\", \"in\": 1, \"out\": 1}\n", p);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->r[1].arrival, 500000000);
}

static void test_generic_csv_bad(void)
{
    static const bad_case c[] = {
        {"", 0, "T: empty file: expected a csv header row", 0},
        {"time,in,out\n1,1,1\n", 0, "T:1: no column 't' (columns.arrival) in the header; its columns are 'time', "
         "'in', 'out'", 0},
        {"t,input,out\n1,1,1\n", 0, "T:1: no column 'in' (columns.input) in the header; its columns are 't', "
         "'input', 'out'", 0},
        {"1,2,3\n", 0, "T:1: no column 't' (columns.arrival) in the header; its columns are '1', '2', '3'", 0},
        {"t,in,out,prio\n1,1,1,1\n", 0, "no column 'model' (columns.model)", 0},
        {"t,in,out\n1,1\n", 0, "T:2: expected 3 columns (as in the header), found 2", 0},
        {"t,in,out\n1,1,1,\n", 0, "T:2: expected 3 columns (as in the header), found 4", 0},
        {"t,in,out\nsoon,1,1\n", 0, "T:2:1: column t: expected a number, got 'soon'", 0},
        {"t,in,out\n-1,1,1\n", 0, "T:2:1: column t: expected a time >= 0 in ms, got '-1'", 0},
        {"t,in,out\n1,1.5,1\n", 0, "T:2:2: column in: expected a token count, got '1.5'", 0},
        {"t,in,out\n1,-1,1\n", 0, "T:2:2: column in: expected a token count in 0..1000000000, got '-1'", 0},
        {"t,in,out\n1,1,1000000001\n", 0, "T:2:3: column out: expected a token count in 0..1000000000, got "
         "'1000000001'", 0},
        {"t,in,out\n1,1,1\n\n0.5,1,1\n", 1, "T:4: time goes backwards (0.000500 s before the previous row)", 0},
        {"t,in,out\n1000,1,1\n3000,1,1\n500,1,1\n", 1, "T:4: arrives 0.500000 s before a request already passed on: "
         "more out of order than the sort window (1 s) allows", 1},
        {"t,in,out\n1,1,1\n2,1", 1, "T:3: expected 3 columns (as in the header), found 2 (the last line has no line "
         "end: is the file truncated?)", 0},
        {"t,in,out\n1,\"1,1\n", 0, "T:2: malformed CSV at the end of the file: a quoted field is not closed", 0},
        {"t,in,out\n\"1\" ,1,\"1\"\"\n", 0, "T:2: malformed CSV at the end of the file", 0},
    };
    wl_trace_opts o = {.format = WL_FMT_CSV, .columns = {.arrival = "t", .input = "in", .output = "out",
                                                         .arrival_unit = WL_UNIT_MS}};
    ncases[WL_FMT_CSV] += run_bad(&o, c, 4);
    o.columns.model = "model";
    ncases[WL_FMT_CSV] += run_bad(&o, c + 4, 1);
    o.columns.model = NULL;
    ncases[WL_FMT_CSV] += run_bad(&o, c + 5, NCASES(c) - 5);

    static const bad_case d[] = {
        {"t,in,out,model,prio\n1,1,1,llama,high\n", 0, "T:2:5: column prio: expected an integer in -1000000..1000000, "
         "got 'high'", 0},
        {"t,in,out,model,prio\n1,1,1,llama,2000000\n", 0, "T:2:5: column prio: expected an integer in "
         "-1000000..1000000, got '2000000'", 0},
        {"t,in,out,model,prio\n1,1,1,llama,1.0\n", 0, "T:2:5: column prio: expected an integer in -1000000..1000000, "
         "got '1.0'", 0},
        {"t,in,out,model,prio\n1,1,1,llama,1\n2,1,1,unknown,1\n", 1, "T:3:4: column model: no deployment is named "
         "'unknown' or serves that model", 0},
    };
    names_tab tab;
    memset(&tab, 0, sizeof tab);
    wl_names names = {&tab, t_model, t_intern};
    o.columns.model = "model";
    o.columns.priority = "prio";
    o.names = &names;
    ncases[WL_FMT_CSV] += run_bad(&o, d, NCASES(d));
    /* a model column needs names to map models */
    o.names = NULL;
    result *res = read_str("t,in,out,model,prio\n1,1,1,llama,1\n", o);
    CHECK(!res->opened);
    CHECK_CONTAINS(res->msg, "T:1:4: column 'model' (columns.model) names models, but this trace is read without "
                   "deployments to map them to");
    ncases[WL_FMT_CSV]++;
    o.columns.input = NULL;
    res = read_str("t,in,out\n1,1,1\n", o);
    CHECK_CONTAINS(res->msg, "T: a csv trace needs columns.input");
    ncases[WL_FMT_CSV]++;
}

static void test_generic_jsonl_bad(void)
{
    static const bad_case c[] = {
        {"{\"in\": 1, \"out\": 1}\n", 0, "T:1: missing \"t\" (expected a time)", 0},
        {"{\"t\": \"1\", \"in\": 1, \"out\": 1}\n", 0, "T:1: \"t\": expected a time >= 0 in ms, got \"1\"", 0},
        {"{\"t\": [1], \"in\": 1, \"out\": 1}\n", 0, "T:1: \"t\": expected a time >= 0 in ms, got an array of 1 "
         "integers", 0},
        {"{\"t\": 1, \"out\": 1}\n", 0, "T:1: missing \"in\" (expected a token count)", 0},
        {"{\"t\": 1, \"in\": 1e2, \"out\": 1}\n", 0, "T:1: \"in\": expected a token count in 0..1000000000, got 100.0", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": -4}\n", 0, "T:1: \"out\": expected a token count in 0..1000000000, got -4", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"prio\": \"high\"}\n", 0, "T:1: \"prio\": expected an integer in "
         "-1000000..1000000, got \"high\"", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"prio\": -1000001}\n", 0, "T:1: \"prio\": expected an integer in "
         "-1000000..1000000, got -1000001", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"tenant\": [1, 2]}\n", 0, "T:1: \"tenant\": expected a string or an "
         "integer, got an array of 2 integers", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"session\": {\"id\": 1}}\n", 0, "T:1: \"session\": expected a string or an "
         "integer, got an object", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"region\": 1.5}\n", 0, "T:1: \"region\": expected a string or an integer, "
         "got 1.5", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"model\": \"unknown\"}\n", 0, "T:1: \"model\": no deployment is named "
         "'unknown' or serves that model", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"model\": false}\n", 0, "T:1: \"model\": expected a string or an integer, "
         "got false", 0},
        {"{\"t\": 1, \"in\": 1 \"out\": 1}\n", 0, "T:1:", 0},
        {"{\"t\": 1, \"in\": 1 \"out\": 1}\n", 0, "invalid JSON: ", 0},
        {"null\n", 0, "T:1:1: expected a JSON object per line, got null", 0},
        {"{\"t\": 0, \"in\": 1, \"out\": 1}\n{\"t\": 4000000000000, \"in\": 1, \"out\": 1}\n", 1, "T:2: arrives 126.8 "
         "years after the first row: a trace may span at most 100 years (is the time unit right?)", 0},
        {"{\"t\": 4000000000000, \"in\": 1, \"out\": 1}\n{\"t\": 0, \"in\": 1, \"out\": 1}\n", 0, "T:2: arrives 126.8 "
         "years before the first row", 5},
        {"{\"t\": 5, \"in\": 1, \"out\": 1}\n{\"t\": 4, \"in\": 1, \"out\": 1}\n", 1, "T:2: time goes backwards "
         "(0.001000 s before the previous row)", 0},
        {"{\"t\": 5, \"in\": 1, \"out\": 1}\n{\"t\": 2000, \"in\": 1, \"out\": 1}\n{\"t\": 4, \"in\": 1, \"out\": 1}\n", 1,
         "T:3: arrives 0.001000 s before a request already passed on: more out of order than the sort window (1 s) "
         "allows", 1},
        {"{\"t\": 5, \"in\": 1, \"out\": 1}\n{\"t\": 6, \"in\": 1, \"out\":", 1, "T:2:", 0},
        {"{\"t\": 5, \"in\": 1, \"out\": 1}\n{\"t\": 6, \"in\": 1, \"out\":", 1, "(the last line has no line end: is the "
         "file truncated?)", 0},
        {"{\"t\": 1, \"in\": 1, \"out\": 1, \"tenant\": \"caf\xc3\xa9\"}\n{\"t\": 1, \"in\": 1, \"out\": \"\xff\"}\n", 1,
         "T:2:", 0},
    };
    names_tab tab;
    memset(&tab, 0, sizeof tab);
    wl_names names = {&tab, t_model, t_intern};
    wl_trace_opts o = {.format = WL_FMT_JSONL, .columns = gen_cols, .names = &names};
    ncases[WL_FMT_JSONL] += run_bad(&o, c, NCASES(c));
    o.columns.arrival_unit = WL_UNIT_DATETIME;
    static const bad_case d[] = {
        {"{\"t\": 5, \"in\": 1, \"out\": 1}\n", 0, "T:1: \"t\": expected a date and time such as "
         "'2023-11-16 18:15:46.6805900', got 5", 0},
        {"{\"t\": \"2024-05-10 25:00:00\", \"in\": 1, \"out\": 1}\n", 0, "T:1: \"t\": expected a date and time such as "
         "'2023-11-16 18:15:46.6805900', got \"2024-05-10 25:00:00\"", 0},
    };
    ncases[WL_FMT_JSONL] += run_bad(&o, d, NCASES(d));
    o.names = NULL;
    result *res = read_str("{\"t\": 1, \"in\": 1, \"out\": 1}\n", o);
    CHECK(!res->opened);
    CHECK_CONTAINS(res->msg, "T: key \"model\" (columns.model) names models, but this trace is read without "
                   "deployments to map them to");
    ncases[WL_FMT_JSONL]++;
}

/* ---- what every format accepts ---- */

typedef struct fmt_text {
    enum wl_format f;
    const char *header;     /* CSV formats */
    const char *row[5];     /* five good rows in time order; row[2] has the later of two equal times */
    const char *bad;        /* a malformed row */
} fmt_text;

static const fmt_text fmts[] = {
    {WL_FMT_AZURE, "TIMESTAMP,ContextTokens,GeneratedTokens",
     {"2024-05-10 00:00:01+00:00,11,1", "2024-05-10 00:00:02+00:00,12,2", "2024-05-10 00:00:02+00:00,13,3",
      "2024-05-10 00:00:04.5+00:00,14,4", "2024-05-10 00:00:05+00:00,15,5"},
     "2024-05-10 00:00:03+00:00,x,1"},
    {WL_FMT_BURSTGPT, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
     {"1,ChatGPT,11,1,12,Conversation log", "2,ChatGPT,12,2,14,Conversation log", "2,GPT-4,13,3,16,API log",
      "4.5,ChatGPT,14,4,18,Conversation log", "5,ChatGPT,15,5,20,Conversation log"},
     "3,ChatGPT,11,1"},
    {WL_FMT_MOONCAKE, NULL,
     {"{\"timestamp\": 1000, \"input_length\": 11, \"output_length\": 1, \"hash_ids\": [1]}",
      "{\"timestamp\": 2000, \"input_length\": 12, \"output_length\": 2, \"hash_ids\": [2]}",
      "{\"timestamp\": 2000, \"input_length\": 13, \"output_length\": 3, \"hash_ids\": [1]}",
      "{\"timestamp\": 4500, \"input_length\": 14, \"output_length\": 4}",
      "{\"timestamp\": 5000, \"input_length\": 15, \"output_length\": 5, \"hash_ids\": [3]}"},
     "{\"timestamp\": 3000, \"input_length\": 11}"},
    {WL_FMT_VLLM, NULL,
     {"{\"input_toks\": 11, \"output_toks\": 1, \"arrival_time\": 1}",
      "{\"input_toks\": 12, \"output_toks\": 2, \"arrival_time\": 2}",
      "{\"input_toks\": 13, \"output_toks\": 3, \"arrival_time\": 2.0}",
      "{\"input_toks\": 14, \"output_toks\": 4, \"arrival_time\": 4.5}",
      "{\"input_toks\": 15, \"output_toks\": 5, \"arrival_time\": 5}"},
     "{\"input_toks\": 11, \"output_toks\": 1, \"arrival_time\": 3"},
    {WL_FMT_CSV, "t,in,out",
     {"1,11,1", "2,12,2", "2,13,3", "4.5,14,4", "5,15,5"},
     "3,11,1,1"},
    {WL_FMT_JSONL, NULL,
     {"{\"t\": 1, \"in\": 11, \"out\": 1}", "{\"t\": 2, \"in\": 12, \"out\": 2}", "{\"t\": 2, \"in\": 13, \"out\": 3}",
      "{\"t\": 4.5, \"in\": 14, \"out\": 4}", "{\"t\": 5, \"in\": 15, \"out\": 5}"},
     "[3, 11, 1]"},
};

static wl_trace_opts fmt_opts(enum wl_format f)
{
    wl_trace_opts o = {.format = f};
    o.columns = (wl_columns){.arrival = "t", .input = "in", .output = "out", .arrival_unit = WL_UNIT_S};
    return o;
}

/* The rows in the given order, each ended by `eol`, after `pre` (and the header for CSV). */
static size_t build(char *buf, size_t cap, const fmt_text *t, const char *pre, const char *eol, const int *order,
                    int n, const char *bad, int bad_after)
{
    size_t k = (size_t)snprintf(buf, cap, "%s", pre);
    if (t->header) k += (size_t)snprintf(buf + k, cap - k, "%s%s", t->header, eol);
    for (int i = 0; i < n; i++) {
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", t->row[order[i]], eol);
        if (bad && i == bad_after) k += (size_t)snprintf(buf + k, cap - k, "%s%s", bad, eol);
    }
    return k;
}

/* The five good rows as requests: arrivals 0, 1, 1, 3.5, 4 s; inputs 11..15, outputs 1..5. */
static void check_five(const result *res, const char *what)
{
    static const int64_t at[5] = {0, S, S, 3 * S + S / 2, 4 * S};
    int ok = res->rc == 0 && res->n == 5;
    for (int i = 0; ok && i < 5; i++)
        ok = res->r[i].id == (uint64_t)i && res->r[i].arrival == at[i] && res->r[i].input_tokens == 11 + i &&
             res->r[i].output_tokens == 1 + i;
    if (!ok) fprintf(stderr, "  %s: rc %d, %d requests, \"%s\"\n", what, res->rc, res->n, res->msg);
    CHECK(ok);
}

static void test_variants_accepted(void)
{
    static char buf[4096];
    static const int inorder[5] = {0, 1, 2, 3, 4};
    for (size_t i = 0; i < NCASES(fmts); i++) {
        const fmt_text *t = &fmts[i];
        wl_trace_opts o = fmt_opts(t->f);
        char what[64];
        snprintf(what, sizeof what, "%s plain", wl_format_name(t->f));
        build(buf, sizeof buf, t, "", "\n", inorder, 5, NULL, 0);
        check_five(read_str(buf, o), what);
        snprintf(what, sizeof what, "%s CRLF", wl_format_name(t->f));
        build(buf, sizeof buf, t, "", "\r\n", inorder, 5, NULL, 0);
        check_five(read_str(buf, o), what);
        snprintf(what, sizeof what, "%s BOM", wl_format_name(t->f));
        build(buf, sizeof buf, t, "\xEF\xBB\xBF", "\n", inorder, 5, NULL, 0);
        check_five(read_str(buf, o), what);
        snprintf(what, sizeof what, "%s blank lines", wl_format_name(t->f));
        build(buf, sizeof buf, t, "", "\n\n \t\r\n", inorder, 5, NULL, 0);
        check_five(read_str(buf, o), what);
        snprintf(what, sizeof what, "%s no final line end", wl_format_name(t->f));
        size_t k = build(buf, sizeof buf, t, "", "\n", inorder, 5, NULL, 0);
        check_five(read_text(buf, k - 1, o), what);
        /* the header alone, or blank lines for JSON lines: no requests, no error */
        snprintf(buf, sizeof buf, "%s\n \n", t->header ? t->header : "");
        result *res = read_str(buf, o);
        CHECK_INT(res->rc, 0);
        CHECK_INT(res->n, 0);
    }
}

static void test_skip_bad_rows(void)
{
    static char buf[4096];
    static const int inorder[5] = {0, 1, 2, 3, 4};
    for (size_t i = 0; i < NCASES(fmts); i++) {
        const fmt_text *t = &fmts[i];
        wl_trace_opts o = fmt_opts(t->f);
        build(buf, sizeof buf, t, "", "\n", inorder, 5, t->bad, 1);
        result *res = read_str(buf, o);
        char want[32];
        snprintf(want, sizeof want, "T:%d", t->header ? 4 : 3);
        CHECK_INT(res->rc, -1);
        CHECK_INT(res->n, 2);
        CHECK_CONTAINS(res->msg, want);
        o.skip_bad_rows = true;
        res = read_str(buf, o);
        check_five(res, wl_format_name(t->f));
        CHECK_INT(res->st.bad, 1);
        CHECK_INT(res->st.rows, 6);
        /* two bad rows, one the last line, cut */
        size_t k = build(buf, sizeof buf, t, "", "\n", inorder, 5, t->bad, 4);
        res = read_text(buf, k - 1, o);
        check_five(res, wl_format_name(t->f));
        CHECK_INT(res->st.bad, 1);
    }
    /* a malformed CSV record is skipped too, and reading goes on at the next line */
    wl_trace_opts o = fmt_opts(WL_FMT_CSV);
    o.skip_bad_rows = true;
    result *res = read_str("t,in,out\n1,11,1\n2,\"x\"y,1\n2,12,2\n2,13,3\n4.5,14,4\n5,15,5\n6,\"1,1\n", o);
    CHECK_INT(res->n, 5);
    CHECK_INT(res->st.bad, 2);
    CHECK_INT(res->st.rows, 7);
}

static void test_sort_window(void)
{
    static char buf[4096];
    static const int shuffled[5] = {1, 0, 3, 2, 4}, inorder[5] = {0, 1, 2, 3, 4};
    for (size_t i = 0; i < NCASES(fmts); i++) {
        const fmt_text *t = &fmts[i];
        wl_trace_opts o = fmt_opts(t->f);
        build(buf, sizeof buf, t, "", "\n", shuffled, 5, NULL, 0);
        result *res = read_str(buf, o);
        CHECK_INT(res->rc, -1);
        CHECK_CONTAINS(res->msg, "time goes backwards (1.000000 s before the previous row)");
        o.sort_window = 2.5;
        res = read_str(buf, o);
        /* rows 0 and 1 swapped, and 3 and 2: in order again, arrivals relative to the earliest (not the
         * first) row; rows 1 and 2 have equal times and keep the file's order */
        check_five(res, "sorted");
        if (t->f == WL_FMT_MOONCAKE) { /* chains come through the heap intact */
            static result plain;
            wl_trace_opts q = fmt_opts(t->f);
            build(buf, sizeof buf, t, "", "\n", inorder, 5, NULL, 0);
            plain = *read_str(buf, q);
            check_same(&plain, res, "mooncake sorted vs in order");
        }
    }
}

static void test_rewind(void)
{
    wl_trace_opts o = {.format = WL_FMT_MOONCAKE, .sort_window = 1};
    fs_error err;
    wl_source *s = wl_trace_open(TRACES "/mooncake_synthetic_head62.jsonl", &o, &err);
    CHECK(s != NULL);
    if (!s) return;
    read_trace(TRACES "/mooncake_synthetic_head62.jsonl", NULL, 0, &o, &res_c);
    for (int pass = 0; pass < 3; pass++) {
        memset(&res_b, 0, sizeof res_b);
        if (pass) CHECK_INT(wl_rewind(s, &err), 0);
        drain(s, &res_b);
        check_same(&res_c, &res_b, "after rewind");
    }
    wl_free(s);
    o = (wl_trace_opts){.format = WL_FMT_BURSTGPT, .model = "ChatGPT"};
    s = wl_trace_open(TRACES "/burstgpt_v12_sample.csv", &o, &err);
    read_trace(TRACES "/burstgpt_v12_sample.csv", NULL, 0, &o, &res_c);
    for (int pass = 0; s && pass < 2; pass++) {
        memset(&res_b, 0, sizeof res_b);
        if (pass) CHECK_INT(wl_rewind(s, &err), 0);
        drain(s, &res_b);
        check_same(&res_c, &res_b, "burstgpt after rewind");
    }
    wl_free(s);
}

/* ---- gzip ---- */

static unsigned char gzbuf[1 << 21];

static void test_gzip(void)
{
    static char text[1 << 20];
    static const int inorder[5] = {0, 1, 2, 3, 4};
    for (size_t i = 0; i < NCASES(fmts); i++) {
        const fmt_text *t = &fmts[i];
        wl_trace_opts o = fmt_opts(t->f);
        size_t n = build(text, sizeof text, t, "", "\n", inorder, 5, NULL, 0);
        size_t z = gzip_bytes(text, n, gzbuf, sizeof gzbuf);
        CHECK(z > 0);
        check_five(read_text((char *)gzbuf, z, o), "gzip buffer");
        const char *path = write_tmp(gzbuf, z);
        check_five(read_file(path, o), "gzip file");
        unlink(path);
        /* two members back to back, then bytes that are not gzip (ignored, as gzip -d does) */
        size_t half = n / 2;
        size_t z1 = gzip_bytes(text, half, gzbuf, sizeof gzbuf);
        size_t z2 = gzip_bytes(text + half, n - half, gzbuf + z1, sizeof gzbuf - z1);
        memcpy(gzbuf + z1 + z2, "\0\0\0\0", 4);
        check_five(read_text((char *)gzbuf, z1 + z2, o), "gzip members");
        check_five(read_text((char *)gzbuf, z1 + z2 + 4, o), "gzip and trailing zeros");
        path = write_tmp(gzbuf, z1 + z2 + 4);
        check_five(read_file(path, o), "gzip members file");
        unlink(path);
    }

    /* a larger trace: lines cross block boundaries; plain and gzip, memory and file, all agree */
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "t,in,out,tenant\n");
    for (int i = 0; i < 30000; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%d.%03d,%d,%d,tenant-%d\n", i / 7, i % 7, 1 + i % 4000,
                              1 + i % 300, i % 5);
    wl_trace_opts o = fmt_opts(WL_FMT_CSV);
    o.columns.tenant = "tenant";
    static result plain;
    plain = *read_text(text, n, o);
    CHECK_INT(plain.rc, 0);
    CHECK_INT(plain.n, 30000);
    CHECK_INT(plain.r[MAXREQ - 1].arrival, (int64_t)((MAXREQ - 1) / 7) * S + (MAXREQ - 1) % 7 * 1000000);
    size_t z = gzip_bytes(text, n, gzbuf, sizeof gzbuf);
    check_same(&plain, read_text((char *)gzbuf, z, o), "gzip buffer, 30000 rows");
    const char *path = write_tmp(gzbuf, z);
    check_same(&plain, read_file(path, o), "gzip file, 30000 rows");
    unlink(path);

    /* corrupt: the trailer's checksum, or the header's flags (bytes inside the data often decode
     * to garbage rows first, which the row checks report); truncated: cut short */
    gzbuf[z - 8] ^= 0xff;
    result *res = read_text((char *)gzbuf, z, o);
    CHECK_INT(res->rc, -1);
    CHECK(res->n > 20000 && res->n <= 30000);
    CHECK_CONTAINS(res->msg, "T:");
    CHECK_CONTAINS(res->msg, ": gzip data is corrupt: incorrect data check");
    path = write_tmp(gzbuf, z);
    res = read_file(path, o);
    CHECK_INT(res->rc, -1);
    CHECK_CONTAINS(res->msg, path);
    CHECK_CONTAINS(res->msg, ": gzip data is corrupt: incorrect data check");
    unlink(path);
    gzbuf[z - 8] ^= 0xff;
    gzbuf[3] = 0xe0;
    res = read_text((char *)gzbuf, z, o);
    CHECK_INT(res->n, 0);
    CHECK_CONTAINS(res->msg, "T:1: gzip data is corrupt: unknown header flags set");
    path = write_tmp(gzbuf, z);
    res = read_file(path, o);
    CHECK_INT(res->n, 0);
    CHECK_CONTAINS(res->msg, ":1: gzip data is corrupt: unknown header flags set");
    unlink(path);
    z = gzip_bytes(text, n, gzbuf, sizeof gzbuf);
    res = read_text((char *)gzbuf, z * 2 / 3, o);
    CHECK_INT(res->rc, -1);
    CHECK(res->n > 10000 && res->n < 30000);
    CHECK_CONTAINS(res->msg, ": gzip data ends early (is the file truncated?)");
    char want[64];
    snprintf(want, sizeof want, "T:%d: gzip", res->n + 2); /* the line being read: after the header and the rows */
    CHECK_CONTAINS(res->msg, want);
    int n_mem = res->n;
    path = write_tmp(gzbuf, z * 2 / 3);
    res = read_file(path, o);
    CHECK_INT(res->rc, -1);
    CHECK_INT(res->n, n_mem);
    CHECK_CONTAINS(res->msg, ": gzip data ends early (is the file truncated?)");
    unlink(path);
    /* just the magic bytes */
    res = read_text("\x1f\x8b", 2, o);
    CHECK_INT(res->rc, -1);
    CHECK_CONTAINS(res->msg, "T:1: gzip data ends early");
    res = read_text("\x1f\x8bxxxxxxxxxxxxxxxxxxxxxxxx", 26, o);
    CHECK_CONTAINS(res->msg, "T:1: gzip data is corrupt: ");
    /* a missing file */
    res = read_file("/nonexistent/trace.csv.gz", o);
    CHECK(!res->opened);
    CHECK_CONTAINS(res->msg, "/nonexistent/trace.csv.gz: cannot open trace: No such file");
}

/* ---- the CSV fast path against libcsv ---- */

typedef struct csv_rec {
    int nrec, nf[64];
    char f[64][8][48];
} csv_rec;

static void rec_field(void *s, size_t len, void *ctx)
{
    csv_rec *c = ctx;
    if (c->nrec < 64 && c->nf[c->nrec] < 8) {
        size_t k = len < 47 ? len : 47;
        memcpy(c->f[c->nrec][c->nf[c->nrec]], s, k);
        c->f[c->nrec][c->nf[c->nrec]][k] = '\0';
    }
    if (c->nrec < 64) c->nf[c->nrec]++;
}

static void rec_row(int ch, void *ctx)
{
    (void)ch;
    ((csv_rec *)ctx)->nrec++;
}

static void test_csv_fast_path_is_libcsv(void)
{
    /* lines without a quote go the fast path, the others through libcsv; all must split as libcsv
     * does on the whole text */
    const char *text = "t,in,out,a,b,c\n"
                       "1,1,1,x,y,z\n"
                       " 2 , 2 ,\t2\t, x , y y ,\tz\t\n"
                       "3,3,3,,,\n"
                       "4,4,4,a b,  ,c\r\n"
                       "5,5,5,\"q,uoted\", \"sp\" ,z\n"
                       "6,6,6,\xc3\xa9,\xc3\xbc\xc3\xbc,z\n"
                       "   \t\n"
                       "\n"
                       "7,7,7,x ,y\t ,z  \r\n"
                       "8,8,8,\"\",\"a\"\"b\",\" z \"\n"
                       "9,9,9,\"multi\nline\",y,z\n"
                       "10,10,10,\t\t,y,z\n"
                       " 11,11,11,x,y,\tlast ";
    csv_rec want;
    memset(&want, 0, sizeof want);
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    CHECK(csv_parse(&p, text, strlen(text), rec_field, rec_row, &want) == strlen(text));
    CHECK_INT(csv_fini(&p, rec_field, rec_row, &want), 0);
    csv_free(&p);
    CHECK_INT(want.nrec, 12);

    names_tab tab;
    memset(&tab, 0, sizeof tab);
    wl_names names = {&tab, t_model, t_intern};
    wl_trace_opts o = {.format = WL_FMT_CSV, .names = &names, .target = 7,
                       .columns = {.arrival = "t", .input = "in", .output = "out", .tenant = "a", .region = "b",
                                   .model = "c"}};
    result *res = read_str(text, o);
    CHECK_INT(res->rc, 0);
    CHECK_INT(res->n, want.nrec - 1);
    for (int i = 1; i < want.nrec && i - 1 < res->n; i++) {
        const wl_request *r = &res->r[i - 1];
        CHECK_INT(want.nf[i], 6);
        CHECK_INT(r->arrival, (atoll(want.f[i][0]) - 1) * S);
        CHECK_INT(r->input_tokens, atoi(want.f[i][1]));
        CHECK_INT(r->output_tokens, atoi(want.f[i][2]));
        CHECK_STR(tab_name(&tab, 0, r->tenant), want.f[i][3]);
        CHECK_STR(tab_name(&tab, 1, r->region), want.f[i][4]);
        CHECK_STR(r->target == 7 ? "" : tab_name(&tab, 2, r->target - 100), want.f[i][5]);
    }
    /* and the same through gzip and with a byte order mark */
    static result plain;
    plain = *res;
    size_t z = gzip_bytes(text, strlen(text), gzbuf, sizeof gzbuf);
    check_same(&plain, read_text((char *)gzbuf, z, o), "csv fast path, gzip");
    static char bom[1024];
    snprintf(bom, sizeof bom, "\xEF\xBB\xBF%s", text);
    check_same(&plain, read_str(bom, o), "csv fast path, BOM");
}

/* ---- the JSON scanner against jansson, getter by getter ---- */

static void test_json_scanner_vs_jansson(void)
{
    static const char *const lines[] = {
        "{\"a\": 0, \"b\": -0, \"c\": 1.5, \"d\": 0.1, \"e\": -2.25, \"f\": 123456789012345678}",
        "{\"a\": 1234567890123456789, \"b\": 1e3, \"c\": 1E-2, \"d\": 5.0e0}",
        "{\"a\": 1787267980.0827403, \"b\": 27536.660701067, \"c\": 0.30000000000000004, \"d\": 9007199254740993.5}",
        "{\"a\": 123456789012345678901234567890.5, \"b\": 0.000000000000000000000001, \"c\": 4.35}",
        "{\"a\": \"text\", \"b\": \"\", \"c\": \"esc\\\"aped\", \"d\": \"\\u00e9\", \"e\": \"caf\xc3\xa9\"}",
        "{\"a\": [], \"b\": [0, 1, 2], \"c\": [ 3 , 4 ], \"d\": [-1, 2], \"e\": [-0], \"f\": [1.5], \"g\": [[1]]}",
        "{\"a\": true, \"b\": false, \"c\": null, \"d\": {\"x\": 1}, \"e\": [\"s\"]}",
        "{\"a\": 1, \"a\": 2, \"b\": \"x\", \"b\": 3}",
        "  {  \"a\"  :  7  ,  \"b\":[1,2]  }  ",
        "{}",
        "{\"a\": 01}",
        "{\"a\": 1,}",
        "{\"a\": .5}",
        "{\"a\": 1.}",
        "{\"a\": -}",
        "{\"a\": tru}",
        "{\"a\": 1} x",
        "{\"a\": [1, 2,]}",
        "{\"a\": [1 2]}",
        "{\"a\": \"unterminated}",
        "{\"a\": [123456789012345678, 1234567890123456789]}",
        "{\"a\": [1, 12345678, 123456789, 99999999999, 0, 7, 1234567890123456, 123456789012345678, 87654321], "
        "\"b\": [00000001, 2], \"c\": [12345678901234567, -12345678, 12345678,1,22,333,4444,55555,666666,7777777]}",
        "{\"a\": [12345678123456781234], \"b\": [1]}",
        "{\"a\": [1234567,12345678,123456789,1234567890,12345678901]}",
        "{\"a\": [1234567a, 2]}",
        "{\"a\": [123456789 ]}",
        "{\"m1\":1,\"m2\":2,\"m3\":3,\"m4\":4,\"m5\":5,\"m6\":6,\"m7\":7,\"m8\":8,\"m9\":9,\"m10\":10,\"m11\":11,"
        "\"m12\":12,\"m13\":13,\"m14\":14,\"m15\":15,\"m16\":16,\"m17\":17,\"m18\":18,\"m19\":19,\"m20\":20,\"m21\":21,"
        "\"m22\":22,\"m23\":23,\"m24\":24,\"m25\":25,\"m26\":26,\"m27\":27,\"m28\":28,\"m29\":29,\"m30\":30,\"m31\":31,"
        "\"m32\":32,\"a\":33}",
        "[1]",
        "\"a\"",
        "{\"a\": 1}\t\r",
    };
    static const char *const keys[] = {"a", "b", "c", "d", "e", "f", "g", "m1", "m32", "zz"};
    wl_json fast, slow;
    memset(&fast, 0, sizeof fast);
    memset(&slow, 0, sizeof slow);
    for (size_t i = 0; i < NCASES(lines); i++) {
        char wf[200] = "", ws[200] = "";
        int cf = 0, cs = 0;
        size_t n = strlen(lines[i]);
        int rf = wl_json_parse(&fast, lines[i], n, false, wf, sizeof wf, &cf);
        int rs = wl_json_parse(&slow, lines[i], n, true, ws, sizeof ws, &cs);
        if (rf != rs || strcmp(wf, ws) != 0 || cf != cs)
            fprintf(stderr, "  line %zu: %d \"%s\" col %d vs %d \"%s\" col %d\n", i, rf, wf, cf, rs, ws, cs);
        CHECK(rf == rs && strcmp(wf, ws) == 0 && cf == cs);
        if (rf) continue;
        for (size_t k = 0; k < NCASES(keys); k++) {
            double df = 0, ds = 0;
            int64_t xf = 0, xs = 0;
            const char *sf = NULL, *ss = NULL;
            size_t lf = 0, ls = 0;
            const uint64_t *af = NULL, *as = NULL;
            char shf[64], shs[64];
            int a1 = wl_json_num(&fast, keys[k], &df), b1 = wl_json_num(&slow, keys[k], &ds);
            int a2 = wl_json_int(&fast, keys[k], &xf), b2 = wl_json_int(&slow, keys[k], &xs);
            int a3 = wl_json_str(&fast, keys[k], &sf, &lf), b3 = wl_json_str(&slow, keys[k], &ss, &ls);
            int a4 = wl_json_uints(&fast, keys[k], &af, &lf), b4 = wl_json_uints(&slow, keys[k], &as, &ls);
            wl_json_show(&fast, keys[k], shf, sizeof shf);
            wl_json_show(&slow, keys[k], shs, sizeof shs);
            int same = a1 == b1 && a2 == b2 && a3 == b3 && a4 == b4 && strcmp(shf, shs) == 0 &&
                       (a1 != 1 || memcmp(&df, &ds, sizeof df) == 0) && (a2 != 1 || xf == xs);
            if (a3 == 1 && b3 == 1) {
                wl_json_str(&fast, keys[k], &sf, &lf);
                wl_json_str(&slow, keys[k], &ss, &ls);
                same &= lf == ls && memcmp(sf, ss, lf) == 0;
            }
            if (a4 == 1 && b4 == 1) {
                wl_json_uints(&fast, keys[k], &af, &lf);
                wl_json_uints(&slow, keys[k], &as, &ls);
                same &= lf == ls && (lf == 0 || memcmp(af, as, lf * sizeof *af) == 0);
            }
            if (!same)
                fprintf(stderr, "  line %zu key %s: num %d/%d %.17g/%.17g int %d/%d str %d/%d uints %d/%d show "
                        "%s/%s\n", i, keys[k], a1, b1, df, ds, a2, b2, a3, b3, a4, b4, shf, shs);
            CHECK(same);
        }
    }
    wl_json_fini(&fast);
    wl_json_fini(&slow);
}

static void test_long_line(void)
{
    size_t n = 17u << 20;
    char *big = malloc(n);
    if (!big) SKIP("no memory");
    memset(big, ' ', n);
    memcpy(big, "{\"t\": 1, \"in\": 1, \"out\": 1}\n{", 29);
    wl_trace_opts o = fmt_opts(WL_FMT_JSONL);
    result *res = read_text(big, n, o);
    CHECK_INT(res->n, 1);
    CHECK_CONTAINS(res->msg, "T:2: line longer than 16 MiB: is this a jsonl trace?");
    free(big);
}

int main(void)
{
    RUN(test_azure_2024_sample);
    RUN(test_azure_bad);
    RUN(test_burstgpt_v11);
    RUN(test_burstgpt_v12);
    RUN(test_burstgpt_bad);
    RUN(test_mooncake_sample);
    RUN(test_mooncake_ids);
    RUN(test_mooncake_bad);
    RUN(test_vllm_run);
    RUN(test_vllm_bad);
    RUN(test_generic_good);
    RUN(test_generic_csv_bad);
    RUN(test_generic_jsonl_bad);
    RUN(test_variants_accepted);
    RUN(test_skip_bad_rows);
    RUN(test_sort_window);
    RUN(test_rewind);
    RUN(test_gzip);
    RUN(test_csv_fast_path_is_libcsv);
    RUN(test_json_scanner_vs_jansson);
    RUN(test_long_line);
    fprintf(stderr, "malformed-input cases:");
    for (int f = 0; f < WL_FMT_COUNT; f++) fprintf(stderr, " %s %d", wl_format_name((enum wl_format)f), ncases[f]);
    fprintf(stderr, "\n");
    return DONE();
}
