/*
 * jsonv.h — validating JSON documents (scenarios, catalogs) with messages users can act on.
 *
 * Each getter reads one member of an object, checks its type and range, and on failure fills
 * the context's fs_error with the file, the JSON path ("deployments[0].replicas"), what was
 * expected and what was found, and returns -1. When an optional member is absent the getter
 * writes its default back into the object, so the tree that remains is the resolved document.
 * jv_check_keys rejects unknown keys and names the nearest known one.
 *
 * Pointers returned by jv_get_str point into the JSON tree and live as long as it does. Paths
 * longer than JV_PATH_MAX are cut short: they only label messages.
 */
#ifndef FS_JSONV_H
#define FS_JSONV_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "fs_error.h"
#include "fs_time.h"

#define JV_PATH_MAX 256

typedef struct jv_ctx {
    const char *file; /* for messages */
    fs_error *err;
} jv_ctx;

void jv_join(char *out, const char *path, const char *key);   /* out: JV_PATH_MAX bytes */
void jv_join_index(char *out, const char *path, size_t i);

/* "expected <expected>, got <a rendering of got>" at path; returns -1. */
int jv_bad(jv_ctx *c, const char *path, const char *expected, const json_t *got);

/* Every key of obj must be in `known` (NULL-terminated). */
int jv_check_keys(jv_ctx *c, const json_t *obj, const char *path, const char *const *known);
/* Keys that exist but do not apply to a choice made in the object (`what` = `value`, e.g. dist
 * "fixed"; the keys that apply are `used`) are errors: a user who writes them expects an effect. */
int jv_check_used(jv_ctx *c, const json_t *obj, const char *path, const char *what, const char *value,
                  const char *const *used);

/* A member that must be an object; created empty when absent and !required. */
int jv_get_obj(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, json_t **out);
/* A number in [min, max] (min exclusive when min_open). */
int jv_get_num(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, double def,
               double min, bool min_open, double max, double *out);
/* A span of time in seconds (scale 1e9) or milliseconds (scale 1e6): > 0 (>= 0 with zero_ok)
 * and at least 1 ns once rounded. */
int jv_get_span(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, double def,
                bool zero_ok, double scale, fs_time *out);
/* An integer in [min, max]; 4.0 counts as 4. */
int jv_get_int(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, long long def,
               long long min, long long max, long long *out);
/* A non-empty string; with `choices` (NULL-terminated), one of them. */
int jv_get_str(jv_ctx *c, json_t *parent, const char *path, const char *key, bool required, const char *def,
               const char *const *choices, const char **out);
int jv_get_bool(jv_ctx *c, json_t *parent, const char *path, const char *key, bool def, bool *out);
/* Index of s in choices, or -1. */
int jv_choice_index(const char *const *choices, const char *s);

#endif
