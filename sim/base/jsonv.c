/* JSON validation helpers: see jsonv.h. */
#include "jsonv.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Append s to the path in out, cutting it short at JV_PATH_MAX: paths only label messages. */
static void append(char *out, const char *s)
{
    size_t n = strlen(out), k = strlen(s);
    if (k > JV_PATH_MAX - 1 - n) k = JV_PATH_MAX - 1 - n;
    memcpy(out + n, s, k);
    out[n + k] = '\0';
}

void jv_join(char *out, const char *path, const char *key)
{
    out[0] = '\0';
    append(out, path);
    if (path[0]) append(out, ".");
    append(out, key);
}

void jv_join_index(char *out, const char *path, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof idx, "[%zu]", i);
    out[0] = '\0';
    append(out, path);
    append(out, idx);
}

/* A short rendering of a JSON value for messages: -2, "abc", an object, an array. */
static const char *show(const json_t *v, char *buf, size_t size)
{
    if (json_is_object(v)) return "an object";
    if (json_is_array(v)) return json_array_size(v) ? "an array" : "an empty array";
    if (json_is_null(v)) return "null";
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) return "a value";
    if (strlen(s) > 60) snprintf(buf, size, "%.57s...", s);
    else snprintf(buf, size, "%s", s);
    free(s);
    return buf;
}

int jv_bad(jv_ctx *c, const char *path, const char *expected, const json_t *got)
{
    char buf[80];
    return fs_error_at(c->err, c->file, path, "expected %s, got %s", expected, show(got, buf, sizeof buf));
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* Every key of obj must be in `known` (NULL-terminated). */
int jv_check_keys(jv_ctx *c, const json_t *obj, const char *path, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++) ok = strcmp(*k, key) == 0;
        if (ok) continue;
        const char *best = NULL;
        size_t bd = SIZE_MAX, len = strlen(key);
        for (const char *const *k = known; *k; k++) {
            /* "ttft" for "ttft_ms": a known key that is the unknown one plus a unit suffix */
            size_t d = strncmp(*k, key, len) == 0 && (*k)[len] == '_' ? 0 : edit_distance(key, *k);
            if (d < bd) {
                bd = d;
                best = *k;
            }
        }
        char p[JV_PATH_MAX];
        jv_join(p, path, key);
        if (best && bd <= (len < 6 ? 2 : len / 3 + 1) && bd < len)
            return fs_error_at(c->err, c->file, p, "unknown key '%s'; did you mean '%s'?", key, best);
        char list[512] = "";
        for (const char *const *k = known; *k; k++) {
            strncat(list, *k, sizeof list - strlen(list) - 1);
            if (k[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        return fs_error_at(c->err, c->file, p, "unknown key '%s'; known keys here: %s", key, list);
    }
    return 0;
}

/* After check_keys: keys that exist but mean nothing for the chosen `dist` are errors too, since
 * a user who writes them expects an effect. `used` lists the keys that apply. */
int jv_check_used(jv_ctx *c, const json_t *obj, const char *path, const char *what, const char *value,
                  const char *const *used)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *k = used; *k && !ok; k++) ok = strcmp(*k, key) == 0;
        if (ok) continue;
        char p[JV_PATH_MAX], list[256] = "";
        for (const char *const *k = used; *k; k++) {
            strncat(list, *k, sizeof list - strlen(list) - 1);
            if (k[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        jv_join(p, path, key);
        return fs_error_at(c->err, c->file, p, "not used with %s \"%s\" (its keys: %s); remove it", what, value, list);
    }
    return 0;
}

/* An object member that must be an object (created empty when absent and !required). */
int jv_get_obj(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, json_t **out)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing (expected an object)");
        v = json_object();
        json_object_set_new(parent, key, v);
    }
    if (!json_is_object(v)) return jv_bad(c, p, "an object", v);
    *out = v;
    return 0;
}

/* A number in [min, max] (min exclusive when min_open). Absent: `def` when !required. */
int jv_get_num(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required,
                   double def, double min, bool min_open, double max, double *out)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing");
        *out = def;
        json_object_set_new(parent, key, json_real(def));
        return 0;
    }
    char want[96];
    if (max < INFINITY) snprintf(want, sizeof want, "a number %s %g and <= %g", min_open ? ">" : ">=", min, max);
    else snprintf(want, sizeof want, "a number %s %g", min_open ? ">" : ">=", min);
    if (!json_is_number(v)) return jv_bad(c, p, want, v);
    double x = json_number_value(v);
    if (!isfinite(x) || (min_open ? x <= min : x < min) || x > max) return jv_bad(c, p, want, v);
    *out = x;
    return 0;
}

/* A span of time: a number in seconds (scale 1e9) or milliseconds (scale 1e6) that must be > 0
 * (or >= 0 when zero_ok) and at least 1 ns after rounding, so that a tiny positive value never
 * turns into 0, which means "none" for SLOs and sampling. Absent: def (in the same unit). */
int jv_get_span(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, double def,
                    bool zero_ok, double scale, fs_time *out)
{
    double x = 0, max = FS_TIME_INPUT_MAX_S * 1e9 / scale;
    if (jv_get_num(c, parent, path, key, required, def, 0, !zero_ok, max, &x)) return -1;
    fs_time t = (fs_time)llround(x * scale);
    if (t == 0 && x > 0) {
        char p[JV_PATH_MAX];
        jv_join(p, path, key);
        return fs_error_at(c->err, c->file, p, "expected at least 1 ns (%g %s), got %g", 1e9 / scale * 1e-9,
                           scale == 1e9 ? "s" : "ms", x);
    }
    *out = t;
    return 0;
}

/* An integer in [min, max]. */
int jv_get_int(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required,
                   long long def, long long min, long long max, long long *out)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing (expected an integer >= %lld)", min);
        *out = def;
        json_object_set_new(parent, key, json_integer(def));
        return 0;
    }
    char want[96];
    if (max < LLONG_MAX) snprintf(want, sizeof want, "an integer in %lld..%lld", min, max);
    else snprintf(want, sizeof want, "an integer >= %lld", min);
    long long x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        x = (long long)json_real_value(v); /* 4.0 is accepted as 4 */
    } else {
        return jv_bad(c, p, want, v);
    }
    if (x < min || x > max) return jv_bad(c, p, want, v);
    *out = x;
    return 0;
}

/* A string; with `choices` (NULL-terminated) one of them. Returns a pointer into the JSON. */
int jv_get_str(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required,
                   const char *def, const char *const *choices, const char **out)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (required) return fs_error_at(c->err, c->file, p, "required key is missing (expected a string)");
        json_object_set_new(parent, key, json_string(def));
        v = json_object_get(parent, key);
    }
    char want[256] = "a string";
    if (choices) {
        snprintf(want, sizeof want, "one of ");
        for (const char *const *k = choices; *k; k++) {
            strncat(want, "\"", sizeof want - strlen(want) - 1);
            strncat(want, *k, sizeof want - strlen(want) - 1);
            strncat(want, k[1] ? "\", " : "\"", sizeof want - strlen(want) - 1);
        }
    }
    if (!json_is_string(v)) return jv_bad(c, p, want, v);
    const char *s = json_string_value(v);
    if (choices) {
        bool ok = false;
        for (const char *const *k = choices; *k && !ok; k++) ok = strcmp(*k, s) == 0;
        if (!ok) return jv_bad(c, p, want, v);
    } else if (s[0] == '\0') {
        return jv_bad(c, p, "a non-empty string", v);
    }
    *out = s;
    return 0;
}

int jv_choice_index(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0) return i;
    return -1;
}

int jv_get_bool(jv_ctx *c, json_t *parent, const char *path, const char *key, bool def, bool *out)
{
    char p[JV_PATH_MAX];
    jv_join(p, path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        *out = def;
        json_object_set_new(parent, key, json_boolean(def));
        return 0;
    }
    if (!json_is_boolean(v)) return jv_bad(c, p, "true or false", v);
    *out = json_is_true(v);
    return 0;
}

