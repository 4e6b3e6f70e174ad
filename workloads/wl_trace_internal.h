/*
 * wl_trace_internal.h — the shared trace reader and what a trace format plugs into it; private to
 * workloads/.
 *
 * wl_trace.c does everything formats have in common: reading (plain or gzip, from a file or
 * memory) in blocks, splitting lines and counting them, a UTF-8 byte order mark, CRLF, blank
 * lines, CSV records (libcsv), JSON lines (wl_json.h), skipping bad rows, the time-order check or
 * the bounded reorder window, arrivals relative to the earliest request, ids and stats. A format
 * only maps one row to one request:
 *
 *   header  (CSV formats) sees the header row: find the columns, tell versions apart;
 *   row     sees a data row (r->f / r->nf for CSV, r->json for JSON lines) and fills a request
 *           whose arrival is absolute, in ns of any fixed origin. It returns WL_ROW_OK,
 *           WL_ROW_DROP (a row the format leaves out on purpose, counted by it in r->stats) or
 *           WL_ROW_BAD (err set through wl_row_error, naming line, column and value).
 *
 * Ownership: the reader owns its buffers and the format's state (fmt_state, state_size bytes,
 * zeroed at open and at every rewind, released by the optional fini).
 */
#ifndef FS_WL_TRACE_INTERNAL_H
#define FS_WL_TRACE_INTERNAL_H

#include <stdarg.h>

#include "wl_internal.h"
#include "wl_json.h"

enum { WL_ROW_BAD = -1, WL_ROW_DROP = 0, WL_ROW_OK = 1 };

#define WL_MAX_TOKENS 1000000000LL /* the largest token count a row may give */
#define WL_MAX_FIELDS 64

typedef struct wl_field {
    const char *s; /* NUL-terminated */
    size_t n;
} wl_field;

typedef struct wl_reader wl_reader;

typedef struct wl_format_ops {
    const char *name;
    bool csv;
    int (*header)(wl_reader *r, fs_error *err); /* CSV: the header is in r->f / r->nf */
    int (*row)(wl_reader *r, wl_request *out, fs_error *err);
    void (*fini)(wl_reader *r);                 /* may be NULL */
    size_t state_size;
} wl_format_ops;

struct wl_reader {
    wl_source base;
    const wl_format_ops *fmt;
    void *fmt_state;
    wl_trace_opts opts;
    wl_trace_stats stats;
    const char *path;          /* for messages */
    long line;                 /* the line of the row being parsed (1-based) */
    bool last_line_cut;        /* that row is the file's last line and has no line end */
    /* the row: CSV fields, or a JSON line */
    wl_field f[WL_MAX_FIELDS];
    int nf;
    wl_json json;
    struct wl_reader_impl *impl;
};

/* A row error: "path:line:col: column NAME: <message>" (col 0 / name NULL: the row as a whole).
 * Adds the truncation hint on a cut last line. Returns WL_ROW_BAD. */
int wl_row_error(wl_reader *r, fs_error *err, int col, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Field parsers for CSV formats: the whole field must be the value. */
int wl_field_count(wl_reader *r, int col, const char *name, bool zero_is_one, int32_t *out, fs_error *err);
int wl_field_number(wl_reader *r, int col, const char *name, double *out, fs_error *err);
/* A time in `unit` to ns (seconds since any origin, or a date and time). */
int wl_field_time(wl_reader *r, int col, const char *name, enum wl_time_unit unit, int64_t *ns, fs_error *err);
/* The index of the header field named `name` (case-sensitive, surrounding spaces ignored), or -1. */
int wl_header_find(const wl_reader *r, const char *name);

/* The same for JSON-line formats: a member that must be a token count, or a time in `unit`. */
int wl_json_count(wl_reader *r, const char *key, bool zero_is_one, int32_t *out, fs_error *err);
int wl_json_time(wl_reader *r, const char *key, enum wl_time_unit unit, int64_t *ns, fs_error *err);

/* Seconds (or ms, us) as a double to ns, checked to be finite, >= 0 and below ~292 years. */
int wl_time_to_ns(double v, enum wl_time_unit unit, int64_t *ns);

extern const wl_format_ops wl_fmt_azure, wl_fmt_burstgpt, wl_fmt_mooncake, wl_fmt_vllm, wl_fmt_csv, wl_fmt_jsonl;

#endif
