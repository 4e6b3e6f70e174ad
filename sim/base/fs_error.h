/*
 * fs_error.h — how fleetsim reports bad input, and where it dies on a bug or out of memory.
 *
 * Three kinds of failure (see STYLE.md):
 *   - bad input or environment: a function returns -1 (or NULL) and fills a caller-owned
 *     fs_error with where (file, line, column, or a JSON path) and what was expected vs found;
 *   - a bug: FS_ASSERT aborts, printing file:line and the condition;
 *   - out of memory: fs_xmalloc and friends abort in one place, never return NULL.
 *
 * An fs_error is plain storage owned by the caller; nothing inside it is heap-allocated, so it
 * needs no release. fs_error_format() writes the one-line message users see on stderr:
 *     "scenario.json:12:7: expected ..."        (source with line and column)
 *     "scenario.json: deployments[0].replicas: expected an integer >= 1, got -2"  (JSON path)
 */
#ifndef FS_ERROR_H
#define FS_ERROR_H

#include <stddef.h>

typedef struct fs_error {
    char source[256]; /* file name, or "" */
    int line;         /* 1-based, 0 when unknown */
    int column;       /* 1-based, 0 when unknown */
    char path[256];   /* JSON path such as "deployments[0].replicas", or "" */
    char msg[768];    /* what was expected and what was found */
} fs_error;

void fs_error_clear(fs_error *err);

/* Fill err (which may be NULL) and return -1, so a failing path reads
 * `return fs_error_set(err, file, line, col, "expected ..., got '%s'", s);` */
int fs_error_set(fs_error *err, const char *source, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Same, for a semantic error at a JSON path inside `source`. */
int fs_error_at(fs_error *err, const char *source, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "source:line:col: path: msg" with the parts that are known; returns buf. */
const char *fs_error_format(const fs_error *err, char *buf, size_t size);

/* Allocation that never returns NULL: out of memory prints and aborts here, in one place. */
void *fs_xmalloc(size_t size);
void *fs_xcalloc(size_t count, size_t size);
void *fs_xrealloc(void *p, size_t size);
char *fs_xstrdup(const char *s);
/* Grow *cap geometrically until it holds `need` elements of `elem` bytes; returns the block. */
void *fs_xgrow(void *p, size_t *cap, size_t need, size_t elem);

/* Report that `size` bytes could not be had and abort (for allocators other than malloc). */
void fs_oom(size_t size) __attribute__((noreturn));

/* A bug, not bad input: print where and abort. */
void fs_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
#define FS_ASSERT(cond)                                                                  \
    do {                                                                                 \
        if (__builtin_expect(!(cond), 0)) fs_panic(__FILE__, __LINE__, "assertion failed: %s", #cond); \
    } while (0)

#endif
