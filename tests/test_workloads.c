/* Workload sources: the Azure trace reader (good and bad files), timestamps. Synthetic load: test_synth.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "wl.h"

static void test_datetime(void)
{
    int64_t ns;
    CHECK_INT(wl_parse_datetime("1970-01-01 00:00:00", 19, &ns), 0);
    CHECK_INT(ns, 0);
    const char *a = "2023-11-16 18:15:46.6805900";
    CHECK_INT(wl_parse_datetime(a, strlen(a), &ns), 0);
    CHECK_INT(ns, INT64_C(1700158546680590000));
    const char *b = "2024-05-10 00:00:00.009930+00:00";
    CHECK_INT(wl_parse_datetime(b, strlen(b), &ns), 0);
    CHECK_INT(ns, INT64_C(1715299200009930000));
    const char *c = "2024-05-10T02:00:00.009930+02:00"; /* same instant */
    CHECK_INT(wl_parse_datetime(c, strlen(c), &ns), 0);
    CHECK_INT(ns, INT64_C(1715299200009930000));
    const char *z = "2024-02-29 12:00:00Z";
    CHECK_INT(wl_parse_datetime(z, strlen(z), &ns), 0);
    const char *bad[] = {"", "2023-11-16", "2023-13-01 00:00:00", "2023-11-16 25:00:00", "2023-11-16 18:15:46.",
                         "2023-11-16 18:15:46x", "2023/11/16 18:15:46", "2023-11-16 18:15:46+0", "abc",
                         "2023-02-29 00:00:00", "1900-02-29 00:00:00", "1600-01-01 00:00:00", "4046-01-01 00:00:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(wl_parse_datetime(bad[i], strlen(bad[i]), &ns), -1);
}

static void test_azure_reads_the_trace(void)
{
    fs_error err;
    wl_source *s = wl_azure_open(FS_TEST_DATA "/azure_conv_head100.csv", 0, &err);
    CHECK(s != NULL);
    if (!s) return;
    wl_request r;
    int n = 0;
    long long in = 0, out = 0;
    fs_time last = -1;
    while (wl_next(s, &r, &err) == 1) {
        if (n == 0) {
            CHECK_INT(r.arrival, 0);
            CHECK_INT(r.input_tokens, 374);
            CHECK_INT(r.output_tokens, 44);
        }
        if (n == 1) CHECK_INT(r.arrival, INT64_C(4314579000)); /* 50.9951690 - 46.6805900 */
        CHECK(r.arrival >= last);
        CHECK_INT(r.id, n);
        last = r.arrival;
        in += r.input_tokens;
        out += r.output_tokens;
        n++;
    }
    CHECK_INT(n, 100);
    CHECK_INT(in, 80197);
    CHECK_INT(out, 17052);
    CHECK_INT(last, INT64_C(42685223000)); /* 18:16:29.3658130 - 18:15:46.6805900 */
    CHECK_INT(wl_next(s, &r, &err), 0);   /* stays exhausted */
    wl_free(s);
}

/* Write text to a temporary file; returns its path (static buffer). */
static const char *tmpfile_with(const char *text, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/fleetsim-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
    return path;
}

/* Read a whole file; returns rows read, or -1 with the formatted error in msg. */
static int read_all(const char *text, char *msg, size_t size, int *rows)
{
    const char *path = tmpfile_with(text, strlen(text));
    fs_error err;
    *rows = 0;
    msg[0] = '\0';
    wl_source *s = wl_azure_open(path, 0, &err);
    int rc = -1;
    if (s) {
        wl_request r;
        while ((rc = wl_next(s, &r, &err)) == 1) (*rows)++;
        wl_free(s);
    }
    if (rc < 0) {
        fs_error_format(&err, msg, size);
        /* replace the random temp name for stable comparisons */
        char *p = strstr(msg, path);
        if (p) {
            size_t n = strlen(path);
            memmove(p + 5, p + n, strlen(p + n) + 1);
            memcpy(p, "TRACE", 5);
        }
    }
    unlink(path);
    return rc;
}

#define HDR "TIMESTAMP,ContextTokens,GeneratedTokens\n"

static void test_azure_variants_accepted(void)
{
    char msg[512];
    int rows;
    /* CRLF line ends, a BOM, no final newline, 2024 timestamps with offsets, blank trailing line */
    CHECK_INT(read_all("\xEF\xBB\xBF" HDR "2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:47.0,1,2", msg,
                       sizeof msg, &rows), 0);
    CHECK_INT(rows, 2);
    CHECK_INT(read_all("TIMESTAMP,ContextTokens,GeneratedTokens\r\n2024-05-10 00:00:00.009930+00:00,2162,5\r\n"
                       "2024-05-10 00:00:00.017335+00:00,2399,0\r\n\r\n", msg, sizeof msg, &rows), 0);
    CHECK_INT(rows, 2);
    CHECK_INT(read_all(HDR, msg, sizeof msg, &rows), 0); /* header only: no requests, no error */
    CHECK_INT(rows, 0);
}

static void test_azure_bad_rows(void)
{
    static const struct {
        const char *text;
        int rows_before;
        const char *want;
    } cases[] = {
        {"", 0, "TRACE: empty file"},
        {"\n\n", 0, "TRACE: empty file"},
        {"time,in,out\n2023-11-16 18:15:46.6,1,1\n", 0, "TRACE:1:1: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, got 'time'"},
        {"TIMESTAMP,ContextTokens\n", 0, "TRACE:1:3: expected the header"},
        {HDR "2023-11-16 18:15:46.6,1\n", 0, "TRACE:2: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 2"},
        {HDR "2023-11-16 18:15:46.6,1,1,1\n", 0, "TRACE:2: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 4"},
        {HDR "2023-11-16 18:15:46.6,1,1\nyesterday,1,1\n", 1, "TRACE:3:1: column TIMESTAMP: expected a date and time such as '2023-11-16 18:15:46.6805900', got 'yesterday'"},
        {HDR "2023-11-16 18:15:46.6,abc,1\n", 0, "TRACE:2:2: column ContextTokens: expected a token count, got 'abc'"},
        {HDR "2023-11-16 18:15:46.6,10,-3\n", 0, "TRACE:2:3: column GeneratedTokens: expected a token count in 0..1000000000, got '-3'"},
        {HDR "2023-11-16 18:15:46.6,99999999999,1\n", 0, "TRACE:2:2: column ContextTokens: expected a token count in 0..1000000000, got '99999999999'"},
        {HDR "2023-11-16 18:15:46.6,1.5,1\n", 0, "TRACE:2:2: column ContextTokens: expected a token count, got '1.5'"},
        {HDR "2023-11-16 18:15:46.6,,1\n", 0, "TRACE:2:2: column ContextTokens: expected a token count, got ''"},
        {HDR "2023-11-16 18:15:47.0,1,1\n2023-11-16 18:15:46.0,1,1\n", 1, "TRACE:3: time goes backwards"},
        {HDR "2023-11-16 18:15:46.6,1,1\n\n2023-11-16 18:15:47.6,x,1\n", 1, "TRACE:4:2: column ContextTokens"},
        {HDR "2023-11-16 18:15:46.6,1,\"1\n", 0, "malformed CSV at the end of the file"},
        {HDR "2023-11-16 18:15:46.6,\"1\"x,1\n", 0, "TRACE:2: malformed CSV"},
        {HDR "2023-11-16 18:15:46.6,1,1\n2023-11-16 18:15:4", 1, "TRACE:3: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 1 (the last line has no line end: is the file truncated?)"},
        {HDR "2023-11-16 18:15:46.6,1,1\n2023-11-16 18:15:47.6,1,", 1, "TRACE:3:3: column GeneratedTokens: expected a token count, got '' (the last line has no line end"},
        {HDR "2023-11-16 18:15:46.6,12345678901234567890123456789012345678901234567890123456789012345678901234567890,1\n", 0,
         "TRACE:2:2: column ContextTokens: expected a token count in 0..1000000000, got '1234567890123456789012345678901234567890...'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[512];
        int rows;
        int rc = read_all(cases[i].text, msg, sizeof msg, &rows);
        if (rc != -1 || rows != cases[i].rows_before || !strstr(msg, cases[i].want))
            fprintf(stderr, "  case %zu: rc %d rows %d msg \"%s\"\n", i, rc, rows, msg);
        CHECK_INT(rc, -1);
        CHECK_INT(rows, cases[i].rows_before);
        CHECK_CONTAINS(msg, cases[i].want);
    }
}

static void test_azure_missing_file(void)
{
    fs_error err;
    char msg[512];
    CHECK(wl_azure_open("/nonexistent/trace.csv", 0, &err) == NULL);
    CHECK_CONTAINS(fs_error_format(&err, msg, sizeof msg), "/nonexistent/trace.csv: cannot open trace: No such file");
}

/* ---- transforms ---- */

/* n requests, one per second from 0, lengths 10 + i */
static wl_source *seconds(int n)
{
    static wl_request v[20000];
    for (int i = 0; i < n; i++)
        v[i] = (wl_request){.arrival = (fs_time)i * FS_NS_PER_S, .input_tokens = 10 + i, .output_tokens = 1};
    return wl_list_open(v, (size_t)n);
}

/* Run a transform over `seconds(n)`: arrivals (ns) and inputs into the arrays; returns the count. */
static int through(int n, const wl_xform_spec *x, uint64_t seed, fs_time *at, int32_t *in, int cap)
{
    fs_error err;
    wl_source *s = wl_xform_open(seconds(n), x, seed, 0, &err);
    if (!s) return -1;
    wl_request r;
    int k = 0, rc;
    while ((rc = wl_next(s, &r, &err)) == 1) {
        if (k < cap) {
            at[k] = r.arrival;
            in[k] = r.input_tokens;
        }
        CHECK_INT(r.id, k);
        k++;
    }
    CHECK_INT(rc, 0);
    wl_free(s);
    return k;
}

static void test_transforms(void)
{
    static fs_time at[20000], at2[20000];
    static int32_t in[20000], in2[20000];
    /* window [2, 5): the requests at 2, 3, 4 s, moved to 0, 1, 2 s */
    wl_xform_spec x = {.window_start = 2, .window_end = 5};
    CHECK_INT(through(10, &x, 1, at, in, 20000), 3);
    CHECK_INT(at[0], 0);
    CHECK_INT(at[2], 2 * FS_NS_PER_S);
    CHECK_INT(in[0], 12);
    /* speedup 4: a quarter of the time */
    x = (wl_xform_spec){.speedup = 4};
    CHECK_INT(through(10, &x, 1, at, in, 20000), 10);
    CHECK_INT(at[9], 9 * FS_NS_PER_S / 4);
    /* mean rate: 101 requests over 100 s (1.01 req/s) to 10 req/s */
    x = (wl_xform_spec){.mean_rate = 10};
    CHECK_INT(through(101, &x, 1, at, in, 20000), 101);
    CHECK_INT(at[100], (fs_time)llround(100e9 * 1.01 / 10));
    /* loop 3 over 0..9 s: each pass one mean gap after the last arrival, so 0..29 s */
    x = (wl_xform_spec){.loop = 3};
    CHECK_INT(through(10, &x, 1, at, in, 20000), 30);
    for (int i = 0; i < 30; i++) CHECK_INT(at[i], (fs_time)i * FS_NS_PER_S);
    CHECK_INT(in[29], 19);
    /* loop with a window: passes one window length apart */
    x = (wl_xform_spec){.window_start = 1, .window_end = 4, .loop = 2};
    CHECK_INT(through(10, &x, 1, at, in, 20000), 6);
    CHECK_INT(at[3], 3 * FS_NS_PER_S);
    CHECK_INT(in[3], 11);
    /* limit */
    x = (wl_xform_spec){.limit = 7, .loop = 5};
    CHECK_INT(through(10, &x, 1, at, in, 20000), 7);
    /* sampling: about the fraction, the same requests for the same seed, others for another */
    x = (wl_xform_spec){.sample = 0.3};
    int n1 = through(20000, &x, 9, at, in, 20000), n2 = through(20000, &x, 9, at2, in2, 20000);
    double sd = sqrt(20000 * 0.3 * 0.7);
    fprintf(stderr, "  sample 0.3 of 20000: kept %d (expected 6000 +- %.0f)\n", n1, sd);
    CHECK(fabs((double)n1 - 6000) < 4 * sd);
    CHECK_INT(n1, n2);
    CHECK(memcmp(in, in2, (size_t)n1 * sizeof *in) == 0);
    int n3 = through(20000, &x, 10, at2, in2, 20000);
    CHECK(n3 != n1 || memcmp(in, in2, (size_t)n1 * sizeof *in) != 0);
    /* tags replace the request's own */
    x = (wl_xform_spec){.set_target = true, .target = 2, .set_tenant = true, .tenant = 3, .set_region = true,
                        .region = 4, .set_priority = true, .priority = -5};
    fs_error err;
    wl_source *s = wl_xform_open(seconds(3), &x, 1, 0, &err);
    wl_request r;
    CHECK_INT(wl_next(s, &r, &err), 1);
    CHECK(r.target == 2 && r.tenant == 3 && r.region == 4 && r.priority == -5);
    wl_free(s);
    /* a speed-up that pushes times past 100 years is an error, not a wrapped clock */
    x = (wl_xform_spec){.speedup = 1e-9};
    s = wl_xform_open(seconds(10), &x, 1, 0, &err);
    int rc;
    while ((rc = wl_next(s, &r, &err)) == 1) {}
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(err.msg, "a transformed arrival time passes 100 years");
    wl_free(s);
    /* looping a trace counts the rows of every pass */
    static const char az[] = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,10,2\n"
                             "2023-11-16 18:15:46.2,x,2\n2023-11-16 18:15:47.2,11,3\n";
    wl_trace_opts to = {.format = WL_FMT_AZURE, .skip_bad_rows = true};
    s = wl_xform_open(wl_trace_open_buffer("az", az, sizeof az - 1, &to, &err), &(wl_xform_spec){.loop = 3}, 1, 0, &err);
    int got = 0;
    while ((rc = wl_next(s, &r, &err)) == 1) got++;
    CHECK_INT(rc, 0);
    CHECK_INT(got, 6);
    wl_trace_stats st;
    wl_stats(s, &st);
    CHECK_INT(st.rows, 9);
    CHECK_INT(st.bad, 3);
    wl_free(s);
    /* numbers are decimal: hex and inf are not times */
    static const char hexcsv[] = "t,in,out\n0x10,5,5\n";
    wl_trace_opts co = {.format = WL_FMT_CSV, .columns = {.arrival = "t", .input = "in", .output = "out"}};
    s = wl_trace_open_buffer("g.csv", hexcsv, sizeof hexcsv - 1, &co, &err);
    CHECK(s && wl_next(s, &r, &err) == -1);
    CHECK_CONTAINS(err.msg, "column t: expected a number, got '0x10'");
    CHECK_INT(err.line, 2);
    wl_free(s);
    /* mean rate over an empty window is an error, not a division by zero */
    x = (wl_xform_spec){.window_start = 100, .mean_rate = 5};
    CHECK(wl_xform_open(seconds(10), &x, 1, 0, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no requests");
}

int main(void)
{
    RUN(test_datetime);
    RUN(test_azure_reads_the_trace);
    RUN(test_azure_variants_accepted);
    RUN(test_azure_bad_rows);
    RUN(test_azure_missing_file);
    RUN(test_transforms);
    return DONE();
}
