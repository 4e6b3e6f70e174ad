/*
 * fuzz_wl_json.c — libFuzzer target: the JSON-line scanner against jansson. wl_json.h promises
 * that the two parsers behind its getters answer alike; this target holds it to that.
 *
 * Input: lines (split at '\n'). Each line is parsed twice, with slow = false (the scanner, which
 * hands what it does not take to jansson) and slow = true (jansson only), into two wl_json that
 * are reused from line to line as a trace reader reuses its own. The outcome, the message and
 * column of a failure, and the answer of every getter (wl_json_num, _int, _str, _uints, _show)
 * for a fixed set of keys plus every quoted string of the line and every key jansson found must
 * be the same, or the target aborts.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl_json.h"

#define KEY_MAX 64 /* longer quoted strings are not tried as keys */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_keys[] = {"", "t", "in", "out", "model", "tenant", "session", "priority", "region",
                                         "timestamp", "input_length", "output_length", "hash_ids", "input_toks",
                                         "output_toks", "queued_ts", "arrival_time", NULL};

static void fail(const char *line, size_t n, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
static void fail(const char *line, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_wl_json: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  line (%zu bytes): %.*s\n", n, (int)(n < 400 ? n : 400), line);
    abort();
}

/* Every getter's answer for key from the scanner (a) and from jansson (b). */
static void compare_key(wl_json *a, wl_json *b, const char *key, const char *line, size_t n)
{
    double da = 0, db = 0;
    int ra = wl_json_num(a, key, &da), rb = wl_json_num(b, key, &db);
    if (ra != rb || (ra == 1 && memcmp(&da, &db, sizeof da) != 0))
        fail(line, n, "wl_json_num(\"%s\"): scanner %d (%.17g), jansson %d (%.17g)", key, ra, da, rb, db);

    int64_t ia = 0, ib = 0;
    ra = wl_json_int(a, key, &ia);
    rb = wl_json_int(b, key, &ib);
    if (ra != rb || (ra == 1 && ia != ib))
        fail(line, n, "wl_json_int(\"%s\"): scanner %d (%lld), jansson %d (%lld)", key, ra, (long long)ia, rb,
             (long long)ib);

    const char *sa = NULL, *sb = NULL;
    size_t la = 0, lb = 0;
    ra = wl_json_str(a, key, &sa, &la);
    rb = wl_json_str(b, key, &sb, &lb);
    if (ra != rb || (ra == 1 && (la != lb || memcmp(sa, sb, la) != 0)))
        fail(line, n, "wl_json_str(\"%s\"): scanner %d (%zu bytes: %.*s), jansson %d (%zu bytes: %.*s)", key, ra,
             la, ra == 1 ? (int)(la < 80 ? la : 80) : 0, sa ? sa : "", rb, lb, rb == 1 ? (int)(lb < 80 ? lb : 80) : 0,
             sb ? sb : "");

    const uint64_t *ua = NULL, *ub = NULL;
    la = lb = 0;
    ra = wl_json_uints(a, key, &ua, &la);
    rb = wl_json_uints(b, key, &ub, &lb);
    if (ra != rb || (ra == 1 && (la != lb || (la && memcmp(ua, ub, la * sizeof *ua) != 0))))
        fail(line, n, "wl_json_uints(\"%s\"): scanner %d (%zu integers), jansson %d (%zu integers)", key, ra, la, rb,
             lb);

    char wa[64], wb[64];
    wl_json_show(a, key, wa, sizeof wa);
    wl_json_show(b, key, wb, sizeof wb);
    if (strcmp(wa, wb) != 0) fail(line, n, "wl_json_show(\"%s\"): scanner %s, jansson %s", key, wa, wb);
}

static void compare_line(wl_json *a, wl_json *b, const char *line, size_t n)
{
    char why_a[160] = "", why_b[160] = "";
    int col_a = -1, col_b = -1;
    int ra = wl_json_parse(a, line, n, false, why_a, sizeof why_a, &col_a);
    int rb = wl_json_parse(b, line, n, true, why_b, sizeof why_b, &col_b);
    if (ra != rb) fail(line, n, "wl_json_parse: scanner %d (%s), jansson %d (%s)", ra, why_a, rb, why_b);
    if (ra != 0) {
        if (strcmp(why_a, why_b) != 0 || col_a != col_b)
            fail(line, n, "wl_json_parse: scanner says column %d: %s; jansson column %d: %s", col_a, why_a, col_b,
                 why_b);
        return;
    }
    if (!b->root) fail(line, n, "wl_json_parse with slow set left no jansson tree");
    for (const char *const *k = fixed_keys; *k; k++) compare_key(a, b, *k, line, n);
    /* every quoted span of the line, taken as a key as it stands (escapes and all) */
    char key[KEY_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        if (line[i] != '"') continue;
        size_t e = i + 1;
        while (e < n && line[e] != '"' && e - i <= KEY_MAX) e++;
        if (e < n && line[e] == '"' && !memchr(line + i + 1, '\0', e - i - 1)) {
            memcpy(key, line + i + 1, e - i - 1);
            key[e - i - 1] = '\0';
            compare_key(a, b, key, line, n);
        }
        i = e < n && line[e] == '"' ? e : i;
    }
    /* and every key jansson decoded */
    const char *jk;
    json_t *v;
    json_object_foreach(b->root, jk, v) compare_key(a, b, jk, line, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wl_json a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        compare_line(&a, &b, p, n);
        p += n + (nl ? 1 : 0);
    }
    wl_json_fini(&a);
    wl_json_fini(&b);
    return 0;
}
