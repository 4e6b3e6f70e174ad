/*
 * wl_json.h — one JSON object per line, read through typed getters.
 *
 * Two parsers behind the same getters. A scanner handles the shape trace rows have: one flat
 * object of numbers, plain strings (no escapes, ASCII), true/false/null and arrays of integers,
 * decoding numbers and arrays as it goes (one pass over the line). Whenever a line is anything
 * else — escapes, non-ASCII bytes, nested objects, exponents, integers of more than 18 digits,
 * reals of more than 40 characters, more than WL_JSON_MEMBERS members, or a syntax error — the
 * line goes to jansson, which decides (and writes the error message). So the scanner never
 * accepts what jansson would reject, and the getters answer the same for both: reals are
 * converted as strtod does (correctly rounded), duplicate keys resolve to the last one, as in
 * jansson. test_traces compares the two on every JSON-lines case, fuzz_wl_json on any input.
 *
 * Ownership: a wl_json is reused line after line; strings and arrays it returns point into the
 * line or into the wl_json, valid until the next wl_json_parse, and the line must stay put until
 * then. wl_json_fini releases it.
 */
#ifndef FS_WL_JSON_H
#define FS_WL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WL_JSON_MEMBERS 32

typedef struct wl_json_member {
    const char *key, *val; /* raw text spans in the line */
    uint32_t klen, vlen;
    char type;             /* 'n' number, 'i' integer, 's' string, 'a' array of integers, 't', 'f', 'z' (null) */
    bool exact;            /* 'n': d holds the value */
    bool neg;              /* 'a': holds a negative integer */
    union {
        int64_t i;         /* 'i' */
        double d;          /* 'n' when exact */
        struct {
            uint32_t off, n; /* 'a': its integers in ints[off .. off + n) */
        } a;
    } v;
} wl_json_member;

typedef struct wl_json {
    int n;
    wl_json_member m[WL_JSON_MEMBERS];
    json_t *root;          /* set when jansson parsed the line */
    uint64_t *ints;        /* decoded arrays */
    size_t ints_cap;
} wl_json;

/* Parse one line. 0; or -1 with `why` (jansson's message, or what the line is when it is valid
 * JSON but not an object) and *col (1-based, 0 unknown). `slow`: jansson for every line. */
int wl_json_parse(wl_json *j, const char *s, size_t n, bool slow, char *why, size_t why_len, int *col);
void wl_json_fini(wl_json *j);

/* Getters: 1 found (*out set), 0 absent (or null), -1 present with another type or out of range. */
int wl_json_num(wl_json *j, const char *key, double *out);
int wl_json_int(wl_json *j, const char *key, int64_t *out); /* an integer literal */
int wl_json_str(wl_json *j, const char *key, const char **out, size_t *len); /* not NUL-terminated */
int wl_json_uints(wl_json *j, const char *key, const uint64_t **out, size_t *n); /* integers >= 0 */
/* The member's value as text, shortened, for messages ("(absent)" when missing). */
void wl_json_show(wl_json *j, const char *key, char *out, size_t n);

#endif
