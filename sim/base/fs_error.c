#include "fs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fs_error_clear(fs_error *err)
{
    if (err) memset(err, 0, sizeof *err);
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int fs_error_set(fs_error *err, const char *source, int line, int column, const char *fmt, ...)
{
    if (!err) return -1;
    fs_error_clear(err);
    copy(err->source, sizeof err->source, source);
    err->line = line;
    err->column = column;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int fs_error_at(fs_error *err, const char *source, const char *path, const char *fmt, ...)
{
    if (!err) return -1;
    fs_error_clear(err);
    copy(err->source, sizeof err->source, source);
    copy(err->path, sizeof err->path, path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

const char *fs_error_format(const fs_error *err, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
#define PUT(...)                                                           \
    do {                                                                   \
        int k = snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__);   \
        if (k > 0) n += (size_t)k;                                         \
    } while (0)
    if (err->source[0]) {
        PUT("%s", err->source);
        if (err->line > 0) PUT(":%d", err->line);
        if (err->line > 0 && err->column > 0) PUT(":%d", err->column);
        PUT(": ");
    }
    if (err->path[0]) PUT("%s: ", err->path);
    PUT("%s", err->msg[0] ? err->msg : "unknown error");
#undef PUT
    return buf;
}

void fs_oom(size_t size)
{
    fprintf(stderr, "fleetsim: out of memory (allocating %zu bytes)\n", size);
    abort();
}

void *fs_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) fs_oom(size);
    return p;
}

void *fs_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) fs_oom(count * size);
    return p;
}

void *fs_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) fs_oom(size);
    return q;
}

char *fs_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = fs_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void *fs_xgrow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > ((size_t)-1) / 2 / elem) fs_oom(need * elem);
        c *= 2;
    }
    *cap = c;
    return fs_xrealloc(p, c * elem);
}

void fs_panic(const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "fleetsim: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
