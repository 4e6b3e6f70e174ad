/*
 * wl_trace_internal.h — the shared trace reader and what a trace format plugs into it; private to
 * workloads/.
 *
 * wl_trace.c does everything formats have in common: reading (plain or gzip, from a file or
 * memory) in blocks, splitting lines and counting them, a UTF-8 byte order mark, CRLF, blank
 * lines, CSV records (libcsv, with a fast path for lines that hold no quote), JSON lines
 * (wl_json.h), skipping bad rows, the time-order check or the bounded reorder window, arrivals
 * relative to the earliest request, ids and stats. A format only maps one row to one request:
 *
 *   header  CSV formats: sees the header row (r->f / r->nf): find the columns, tell versions
 *           apart. JSON-line formats: NULL, or called at open (and rewind) before any line is
 *           read, to check the options (r->nf is 0). A failure fails wl_trace_open.
 *   row     sees a data row (r->f / r->nf for CSV, r->json for JSON lines) and fills a request
 *           whose arrival is absolute, in ns of any fixed origin. The request comes zeroed, with
 *           target = opts.target. It returns WL_ROW_OK, WL_ROW_DROP (a row the format leaves out
 *           on purpose, counted by it in r->stats) or WL_ROW_BAD (err set through wl_row_error,
 *           naming line, column and value).
 *
 * Stats: r->stats.rows counts every data row the reader looked at (blank lines excepted), so
 * rows = requests + bad + failed + filtered once a trace is read to its end.
 *
 * Ownership: the reader owns its buffers and the format's state (fmt_state, state_size bytes,
 * zeroed at open and at every rewind). The optional fini releases what the state holds; it runs
 * at wl_free and at every rewind, before the state is zeroed again. A row's fields and JSON
 * values point into the reader's buffers: valid while the format looks at that row. A request's
 * chain must stay valid until the next row is read (the format's state is the place for it).
 */
#ifndef FS_WL_TRACE_INTERNAL_H
#define FS_WL_TRACE_INTERNAL_H

#include <stdarg.h>

#include "wl_internal.h"
#include "wl_json.h"

enum { WL_ROW_BAD = -1, WL_ROW_DROP = 0, WL_ROW_OK = 1 };

#define WL_MAX_TOKENS 1000000000LL /* the largest token count a row may give */
#define WL_MAX_PRIORITY 1000000    /* priorities are integers in -WL_MAX_PRIORITY..WL_MAX_PRIORITY */

typedef struct wl_field {
    const char *s; /* NUL-terminated */
    size_t n;
} wl_field;

typedef struct wl_reader wl_reader;

typedef struct wl_format_ops {
    const char *name;
    bool csv;
    int (*header)(wl_reader *r, fs_error *err); /* see above; NULL only for JSON-line formats */
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
    /* the row: CSV fields (any number), or a JSON line */
    wl_field *f;
    int nf;
    wl_json json;
    struct wl_reader_impl *impl;
};

/* A row error: "path:line:col: column NAME: <message>" (col 0 / name NULL: the row as a whole).
 * Adds the truncation hint on a cut last line. Returns WL_ROW_BAD. */
int wl_row_error(wl_reader *r, fs_error *err, int col, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Field parsers for CSV formats (col is 0-based, messages show it 1-based): the whole field
 * must be the value. 0, or WL_ROW_BAD with err. */
int wl_field_count(wl_reader *r, int col, const char *name, bool zero_is_one, int32_t *out, fs_error *err);
int wl_field_number(wl_reader *r, int col, const char *name, double *out, fs_error *err);
int wl_field_int(wl_reader *r, int col, const char *name, int64_t lo, int64_t hi, int64_t *out, fs_error *err);
/* A time in `unit` to ns (seconds since any origin, or a date and time). */
int wl_field_time(wl_reader *r, int col, const char *name, enum wl_time_unit unit, int64_t *ns, fs_error *err);
/* The index of the header field named `name` (case-sensitive, surrounding spaces ignored), or -1. */
int wl_header_find(const wl_reader *r, const char *name);
/* The header's names as "a, b, c" (shortened to fit), for messages. Returns buf. */
const char *wl_header_list(const wl_reader *r, char *buf, size_t n);

/* The same for JSON-line formats. A token count member (required); a time member in `unit`
 * (required; a number, or a date-time string for WL_UNIT_DATETIME): 0, or WL_ROW_BAD. */
int wl_json_count(wl_reader *r, const char *key, bool zero_is_one, int32_t *out, fs_error *err);
int wl_json_time(wl_reader *r, const char *key, enum wl_time_unit unit, int64_t *ns, fs_error *err);
/* Optional members: 1 found, 0 absent or null, WL_ROW_BAD. An integer in lo..hi; a name: a
 * string, or an integer written in decimal into buf (24 bytes), as (*s, *n), not NUL-terminated. */
int wl_json_int_in(wl_reader *r, const char *key, int64_t lo, int64_t hi, int64_t *out, fs_error *err);
int wl_json_name(wl_reader *r, const char *key, char *buf, const char **s, size_t *n, fs_error *err);

/* Seconds (or ms, us) as a double to ns, checked to be finite, >= 0 and below ~292 years. */
int wl_time_to_ns(double v, enum wl_time_unit unit, int64_t *ns);

/* Names in rows. wl_map_model: the deployment serving model (s, n) through opts.names (which the
 * format's header check made sure exists); an empty name means opts.target. 0, or -1 with `why`.
 * wl_map_name: tenant (kind 0) or region (kind 1) to a 1-based index; 0 for an empty name or
 * without opts.names. Both remember recent answers (names map the same way for a whole run). */
int wl_map_model(wl_reader *r, const char *s, size_t n, uint32_t *target, char *why, size_t why_len);
uint32_t wl_map_name(wl_reader *r, int kind, const char *s, size_t n);
/* A session id's text to a 64-bit key, the same on every platform: 0 for the empty text, never 0
 * otherwise. */
uint64_t wl_hash_text(const char *s, size_t n);

extern const wl_format_ops wl_fmt_azure, wl_fmt_burstgpt, wl_fmt_mooncake, wl_fmt_vllm, wl_fmt_csv, wl_fmt_jsonl;

#endif
