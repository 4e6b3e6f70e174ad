#include "wl_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

/* ---- the scanner: returns NULL whenever jansson should decide ---- */

static inline bool digit(char c) { return c >= '0' && c <= '9'; }

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static const char *scan_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\' || c < 0x20 || c >= 0x80) return NULL;
    }
    return NULL;
}

/* A number as JSON writes it; integers of up to 18 digits, reals without an exponent. */
static const char *scan_number(const char *p, const char *e, char *type)
{
    const char *s = p;
    if (p < e && *p == '-') p++;
    if (p >= e) return NULL;
    if (*p == '0') p++;
    else if (digit(*p))
        while (p < e && digit(*p)) p++;
    else return NULL;
    *type = 'i';
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !digit(*p)) return NULL;
        while (p < e && digit(*p)) p++;
        *type = 'n';
    }
    if (p < e && (*p == 'e' || *p == 'E')) return NULL;
    if (p - s > (*type == 'i' ? 18 : 40)) return NULL;
    return p;
}

static const char *scan_literal(const char *p, const char *e, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *scan_int_array(const char *p, const char *e)
{
    p = skip_ws(p + 1, e);
    if (p < e && *p == ']') return p + 1;
    for (;;) {
        char t;
        p = scan_number(p, e, &t);
        if (!p || t != 'i') return NULL;
        p = skip_ws(p, e);
        if (p >= e) return NULL;
        if (*p == ']') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, e);
    }
}

static bool scan(wl_json *j, const char *s, size_t n)
{
    const char *p = skip_ws(s, s + n), *e = s + n;
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
        case '[': p = scan_int_array(p, e), m->type = 'a'; break;
        case 't': p = scan_literal(p, e, "true"), m->type = 't'; break;
        case 'f': p = scan_literal(p, e, "false"), m->type = 'f'; break;
        case 'n': p = scan_literal(p, e, "null"), m->type = 'z'; break;
        default: p = scan_number(p, e, &m->type);
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

int wl_json_parse(wl_json *j, const char *s, size_t n, bool slow, char *why, size_t why_len, int *col)
{
    if (j->root) {
        json_decref(j->root);
        j->root = NULL;
    }
    if (!slow && scan(j, s, n)) return 0;
    j->n = 0;
    json_error_t je;
    j->root = json_loadb(s, n, 0, &je);
    if (!j->root) {
        snprintf(why, why_len, "invalid JSON: %s", je.text);
        *col = je.column > 0 ? je.column : 0;
        return -1;
    }
    if (!json_is_object(j->root)) {
        snprintf(why, why_len, "expected a JSON object per line");
        *col = 1;
        return -1;
    }
    return 0;
}

void wl_json_fini(wl_json *j)
{
    if (j->root) json_decref(j->root);
    free(j->ints);
    free(j->str);
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

/* The scanned text of a number, NUL-terminated in a small buffer. */
static const char *number_text(const wl_json_member *m, char *buf, size_t n)
{
    size_t len = m->vlen < n - 1 ? m->vlen : n - 1;
    memcpy(buf, m->val, len);
    buf[len] = '\0';
    return buf;
}

int wl_json_num(wl_json *j, const char *key, double *out)
{
    if (j->root) {
        json_t *v = json_object_get(j->root, key);
        if (!v || json_is_null(v)) return 0;
        if (!json_is_number(v)) return -1;
        *out = json_number_value(v);
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type != 'n' && m->type != 'i') return -1;
    char buf[48];
    if (m->type == 'i') *out = (double)strtoll(number_text(m, buf, sizeof buf), NULL, 10);
    else *out = strtod(number_text(m, buf, sizeof buf), NULL);
    return 1;
}

int wl_json_int(wl_json *j, const char *key, int64_t *out)
{
    if (j->root) {
        json_t *v = json_object_get(j->root, key);
        if (!v || json_is_null(v)) return 0;
        if (!json_is_integer(v)) return -1;
        *out = json_integer_value(v);
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type != 'i') return -1;
    char buf[48];
    *out = strtoll(number_text(m, buf, sizeof buf), NULL, 10);
    return 1;
}

int wl_json_str(wl_json *j, const char *key, const char **out, size_t *len)
{
    if (j->root) {
        json_t *v = json_object_get(j->root, key);
        if (!v || json_is_null(v)) return 0;
        if (!json_is_string(v)) return -1;
        *out = json_string_value(v);
        *len = json_string_length(v);
        return 1;
    }
    const wl_json_member *m = member(j, key);
    if (!m || m->type == 'z') return 0;
    if (m->type != 's') return -1;
    size_t n = m->vlen - 2;
    j->str = fs_xgrow(j->str, &j->str_cap, n + 1, 1);
    memcpy(j->str, m->val + 1, n);
    j->str[n] = '\0';
    *out = j->str;
    *len = n;
    return 1;
}

static void push_int(wl_json *j, size_t *n, uint64_t v)
{
    j->ints = fs_xgrow(j->ints, &j->ints_cap, *n + 1, sizeof *j->ints);
    j->ints[(*n)++] = v;
}

int wl_json_uints(wl_json *j, const char *key, const uint64_t **out, size_t *n)
{
    size_t k = 0;
    if (j->root) {
        json_t *v = json_object_get(j->root, key), *x;
        if (!v || json_is_null(v)) return 0;
        if (!json_is_array(v)) return -1;
        size_t i;
        json_array_foreach(v, i, x) {
            if (!json_is_integer(x) || json_integer_value(x) < 0) return -1;
            push_int(j, &k, (uint64_t)json_integer_value(x));
        }
    } else {
        const wl_json_member *m = member(j, key);
        if (!m || m->type == 'z') return 0;
        if (m->type != 'a') return -1;
        const char *p = m->val + 1, *e = m->val + m->vlen - 1;
        while (p < e) {
            p = skip_ws(p, e);
            if (p >= e) break;
            if (*p == '-') return -1;
            uint64_t v = 0;
            while (p < e && digit(*p)) v = v * 10 + (uint64_t)(*p++ - '0');
            push_int(j, &k, v);
            p = skip_ws(p, e);
            if (p < e && *p == ',') p++;
        }
    }
    *out = j->ints;
    *n = k;
    return 1;
}

void wl_json_show(wl_json *j, const char *key, char *out, size_t n)
{
    double d;
    int64_t i;
    const char *s;
    size_t len;
    const uint64_t *a;
    if (wl_json_int(j, key, &i) == 1) snprintf(out, n, "%lld", (long long)i);
    else if (wl_json_num(j, key, &d) == 1) snprintf(out, n, "%.17g", d);
    else if (wl_json_str(j, key, &s, &len) == 1) snprintf(out, n, "\"%.40s%s\"", s, len > 40 ? "..." : "");
    else if (wl_json_uints(j, key, &a, &len) == 1) snprintf(out, n, "an array of %zu integers", len);
    else {
        const char *what = "(absent)";
        if (j->root) {
            json_t *v = json_object_get(j->root, key);
            what = !v ? "(absent)" : json_is_null(v) ? "null" : json_is_true(v) ? "true" : json_is_false(v) ? "false"
                   : json_is_array(v) ? "an array" : json_is_object(v) ? "an object" : "a string";
        } else {
            const wl_json_member *m = member(j, key);
            what = !m ? "(absent)" : m->type == 'z' ? "null" : m->type == 't' ? "true" : m->type == 'f' ? "false"
                   : "an array";
        }
        snprintf(out, n, "%s", what);
    }
}
