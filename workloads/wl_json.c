/*
 * JSON lines: the scanner for flat trace rows, jansson for everything else (see wl_json.h).
 */
#include "wl_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

/* ---- the scanner: returns NULL (or false) whenever jansson should decide ---- */

static inline bool digit(char c) { return c >= '0' && c <= '9'; }

static const uint64_t pow10_u64[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

/* The decimal digits that start the 8 bytes at p: how many (0..8), their value in *val. Eight
 * bytes at a time (SWAR): a byte is a digit when its high nibble is 3 and adding 6 keeps it 3; a
 * carry out of a non-digit byte only disturbs bytes after the first non-digit, which are not
 * used. The digits, moved to the top and masked to their values, are summed pairwise. */
static inline int digits8(const char *p, uint64_t *val)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0);
    uint64_t bad = ((x & hi) | (((x + UINT64_C(0x0606060606060606)) & hi) >> 4)) ^ UINT64_C(0x3333333333333333);
    int n = bad ? __builtin_ctzll(bad) / 8 : 8;
    if (n == 0) {
        *val = 0;
        return 0;
    }
    x = (x << (8 * (8 - n))) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    x = (x * 2561) >> 8;
    x = ((x & UINT64_C(0x00FF00FF00FF00FF)) * 6553601) >> 16;
    *val = ((x & UINT64_C(0x0000FFFF0000FFFF)) * UINT64_C(42949672960001)) >> 32;
    return n;
}

static inline bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static inline const char *skip_ws(const char *p, const char *e)
{
    while (p < e && space(*p)) p++;
    return p;
}

/* p at the opening quote: the byte after the closing one. */
static inline const char *scan_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\' || c < 0x20 || c >= 0x80) return NULL;
    }
    return NULL;
}

/* Powers of ten that a double holds exactly. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A number as JSON writes it: integers of up to 18 digits (so int64 holds them), reals without
 * an exponent. A real whose digits fit 2^53 with at most 22 after the point is converted here:
 * digits / 10^k with both exact is the correctly rounded value, as strtod gives it (Clinger's
 * fast path); other reals are left to strtod when asked for. */
static const char *scan_number(const char *p, const char *e, wl_json_member *m)
{
    const char *s = p;
    bool minus = *p == '-';
    if (minus && ++p >= e) return NULL;
    uint64_t v = 0;
    int nd = 0;
    if (*p == '0') {
        p++, nd = 1;
    } else if (digit(*p)) {
        for (; p < e && digit(*p); p++, nd++)
            if (nd < 19) v = v * 10 + (uint64_t)(*p - '0');
    } else {
        return NULL;
    }
    if (p < e && *p == '.') {
        if (++p >= e || !digit(*p)) return NULL;
        int nf = 0;
        for (; p < e && digit(*p); p++, nd++, nf++)
            if (nd < 19) v = v * 10 + (uint64_t)(*p - '0');
        if ((p < e && (*p == 'e' || *p == 'E')) || p - s > 40) return NULL;
        m->type = 'n';
        m->exact = nd <= 18 && v <= (UINT64_C(1) << 53) && nf <= 22;
        if (m->exact) m->v.d = minus ? -((double)v / pow10_exact[nf]) : (double)v / pow10_exact[nf];
        return p;
    }
    if ((p < e && (*p == 'e' || *p == 'E')) || nd > 18) return NULL;
    m->type = 'i';
    m->v.i = minus ? -(int64_t)v : (int64_t)v;
    return p;
}

/* An array of integers, decoded into j->ints from *ni on. Its closing bracket is found first: a
 * valid array of integers holds no other ']', and every loop below stops at it, so none needs a
 * bounds check (a nested array or a string inside sends the line to jansson). */
static const char *scan_array(wl_json *j, const char *p, const char *e, wl_json_member *m, size_t *ni)
{
    const char *close = memchr(p, ']', (size_t)(e - p));
    if (!close) return NULL;
    size_t room = *ni + (size_t)(close - p) / 2 + 1; /* k integers take at least 2k - 1 bytes */
    if (room > j->ints_cap) j->ints = fs_xgrow(j->ints, &j->ints_cap, room, sizeof *j->ints);
    uint64_t *out = j->ints + *ni, *first = out;
    bool neg = false;
    for (p++; space(*p); p++) {}
    if (p < close) {
        for (;;) {
            bool minus = *p == '-';
            const char *d = p += minus;
            uint64_t v = 0;
            for (int k = 8; k == 8 && close - p >= 8;) { /* eight bytes to read before the bracket */
                uint64_t chunk;
                k = digits8(p, &chunk);
                v = v * pow10_u64[k] + chunk;
                p += k;
            }
            while (digit(*p)) v = v * 10 + (uint64_t)(*p++ - '0');
            if (p == d || p - d > 18 || (*d == '0' && p - d > 1)) return NULL;
            *out++ = v;
            neg |= minus && v != 0; /* -0 is the integer 0, for jansson too */
            while (space(*p)) p++;
            if (*p == ']') break;
            if (*p != ',') return NULL;
            for (p++; space(*p); p++) {}
        }
    }
    m->type = 'a';
    m->neg = neg;
    m->v.a.off = (uint32_t)*ni;
    m->v.a.n = (uint32_t)(out - first);
    *ni += m->v.a.n;
    return close + 1;
}

static inline const char *scan_literal(const char *p, const char *e, const char *lit, size_t n)
{
    return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static bool scan(wl_json *j, const char *s, size_t n)
{
    const char *p = skip_ws(s, s + n), *e = s + n;
    size_t ni = 0;
    j->n = 0;
    if (p >= e || *p != '{') return false;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}') return skip_ws(p + 1, e) == e;
    for (;;) {
        if (j->n == WL_JSON_MEMBERS || p >= e || *p != '"') return false;
        wl_json_member *m = &j->m[j->n++];
        const char *k = p;
        if (!(p = scan_string(p, e))) return false;
        m->key = k + 1;
        m->klen = (uint32_t)(p - k - 2);
        p = skip_ws(p, e);
        if (p >= e || *p != ':') return false;
        p = skip_ws(p + 1, e);
        if (p >= e) return false;
        const char *v = p;
        switch (*p) {
        case '"': p = scan_string(p, e), m->type = 's'; break;
        case '[': p = scan_array(j, p, e, m, &ni); break;
        case 't': p = scan_literal(p, e, "true", 4), m->type = 't'; break;
        case 'f': p = scan_literal(p, e, "false", 5), m->type = 'f'; break;
        case 'n': p = scan_literal(p, e, "null", 4), m->type = 'z'; break;
        default: p = scan_number(p, e, m);
        }
        if (!p) return false;
        m->val = v;
        m->vlen = (uint32_t)(p - v);
        p = skip_ws(p, e);
        if (p >= e) return false;
        if (*p == '}') return skip_ws(p + 1, e) == e;
        if (*p != ',') return false;
        p = skip_ws(p + 1, e);
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

int wl_json_parse(wl_json *j, const char *s, size_t n, bool slow, char *why, size_t why_len, int *col)
{
    if (j->root) {
        json_decref(j->root);
        j->root = NULL;
    }
    if (!slow && scan(j, s, n)) return 0;
    j->n = 0;
    json_error_t je;
    j->root = json_loadb(s, n, JSON_DECODE_ANY, &je);
    if (!j->root) {
        snprintf(why, why_len, "invalid JSON: %s", je.text);
        *col = je.column > 0 ? je.column : 0;
        return -1;
    }
    if (!json_is_object(j->root)) {
        snprintf(why, why_len, "expected a JSON object per line, got %s", type_name(j->root));
        *col = 1;
        return -1;
    }
    return 0;
}

void wl_json_fini(wl_json *j)
{
    if (j->root) json_decref(j->root);
    free(j->ints);
    memset(j, 0, sizeof *j);
}

/* ---- getters ---- */

static const wl_json_member *member(const wl_json *j, const char *key)
{
    size_t kl = strlen(key);
    for (int i = j->n; i-- > 0;) /* the last of duplicates wins, as in jansson */
        if (j->m[i].klen == kl && memcmp(j->m[i].key, key, kl) == 0) return &j->m[i];
    return NULL;
}

/* jansson's member, or NULL when absent or null. */
static json_t *slow_member(const wl_json *j, const char *key)
{
    json_t *v = json_object_get(j->root, key);
    return v && !json_is_null(v) ? v : NULL;
}

int wl_json_num(wl_json *j, const char *key, double *out)
{
    if (j->root) {
        json_t *v = slow_member(j, key);
        if (!v) return 0;
        if (!json_is_number(v)) return -1;
        *out = json_number_value(v);
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type == 'i') {
        *out = (double)m->v.i;
    } else if (m->type == 'n' && m->exact) {
        *out = m->v.d;
    } else if (m->type == 'n') {
        char buf[48]; /* the scanner let through at most 40 characters */
        memcpy(buf, m->val, m->vlen);
        buf[m->vlen] = '\0';
        *out = strtod(buf, NULL);
    } else {
        return -1;
    }
    return 1;
}

int wl_json_int(wl_json *j, const char *key, int64_t *out)
{
    if (j->root) {
        json_t *v = slow_member(j, key);
        if (!v) return 0;
        if (!json_is_integer(v)) return -1;
        *out = json_integer_value(v);
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type != 'i') return -1;
    *out = m->v.i;
    return 1;
}

int wl_json_str(wl_json *j, const char *key, const char **out, size_t *len)
{
    if (j->root) {
        json_t *v = slow_member(j, key);
        if (!v) return 0;
        if (!json_is_string(v)) return -1;
        *out = json_string_value(v);
        *len = json_string_length(v);
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type != 's') return -1;
    *out = m->val + 1;
    *len = m->vlen - 2;
    return 1;
}

int wl_json_uints(wl_json *j, const char *key, const uint64_t **out, size_t *n)
{
    if (j->root) {
        json_t *v = slow_member(j, key), *x;
        if (!v) return 0;
        if (!json_is_array(v)) return -1;
        size_t i, k = json_array_size(v);
        if (k > j->ints_cap) j->ints = fs_xgrow(j->ints, &j->ints_cap, k, sizeof *j->ints);
        json_array_foreach(v, i, x) {
            if (!json_is_integer(x) || json_integer_value(x) < 0) return -1;
            j->ints[i] = (uint64_t)json_integer_value(x);
        }
        *out = j->ints;
        *n = k;
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type != 'a' || m->neg) return -1;
    *out = j->ints ? j->ints + m->v.a.off : NULL;
    *n = m->v.a.n;
    return 1;
}

void wl_json_show(wl_json *j, const char *key, char *out, size_t n)
{
    double d;
    int64_t i;
    const char *s;
    size_t len;
    const uint64_t *a;
    if (wl_json_int(j, key, &i) == 1) {
        snprintf(out, n, "%lld", (long long)i);
    } else if (wl_json_num(j, key, &d) == 1) {
        int k = snprintf(out, n, "%.17g", d);
        if (k > 0 && (size_t)k + 2 < n && !strpbrk(out, ".eni")) snprintf(out + k, n - (size_t)k, ".0"); /* a real */
    } else if (wl_json_str(j, key, &s, &len) == 1) {
        snprintf(out, n, "\"%.*s%s\"", (int)(len > 40 ? 40 : len), s, len > 40 ? "..." : "");
    } else if (wl_json_uints(j, key, &a, &len) == 1) {
        snprintf(out, n, "an array of %zu integers", len);
    } else {
        const char *what;
        if (j->root) {
            json_t *v = json_object_get(j->root, key);
            what = !v ? "(absent)" : json_is_array(v) ? "an array holding more than integers >= 0" : type_name(v);
        } else {
            const wl_json_member *m = member(j, key);
            what = !m ? "(absent)" : m->type == 'z' ? "null" : m->type == 't' ? "true" : m->type == 'f' ? "false"
                   : "an array holding more than integers >= 0";
        }
        snprintf(out, n, "%s", what);
    }
}
