/*
 * The shared trace reader (see wl_trace_internal.h): bytes in blocks from a file (zlib reads plain
 * and gzip files alike) or from memory, lines with their numbers, CSV records through libcsv one
 * physical line at a time (so a record's line is known; a quoted field may span lines), JSON
 * lines through wl_json, then the time order: rows must not go back in time, or with a sort
 * window they pass through a heap that holds only the rows of the last `window` seconds (memory
 * bounded by the window, not by the file).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <zlib.h>

#include "wl_trace_internal.h"

#define BLOCK (128 * 1024)
#define MAX_LINE (16 * 1024 * 1024)

typedef struct pending {
    wl_request r;
    uint64_t seq;
    uint64_t *chain; /* owned copy */
} pending;

struct wl_reader_impl {
    gzFile gz;
    const unsigned char *mem;
    size_t memlen, mempos;
    z_stream zs;
    bool zs_on;
    char *buf;
    size_t cap, start, end;
    bool eof, done;
    long next_line;                /* number of the next physical line */
    struct csv_parser csv;
    char *fbuf;                    /* the current record's fields, NUL-separated */
    size_t fcap, flen;
    size_t foff[WL_MAX_FIELDS];
    int nfields;
    bool row_ready, row_cut;
    /* time order */
    bool have_last, have_t0;
    int64_t last, t0, window, max_seen;
    pending *heap;
    size_t nheap, heap_cap;
    uint64_t seq, next_id;
    uint64_t *chain;               /* the emitted request's chain */
    size_t chain_cap;
};

static const wl_format_ops *const formats[WL_FMT_COUNT] = {&wl_fmt_azure, &wl_fmt_burstgpt, &wl_fmt_mooncake,
                                                           &wl_fmt_vllm,  &wl_fmt_csv,      &wl_fmt_jsonl};

const char *wl_format_name(enum wl_format f) { return f < WL_FMT_COUNT ? formats[f]->name : "?"; }

int wl_format_from_name(const char *name)
{
    for (int i = 0; i < WL_FMT_COUNT; i++)
        if (strcmp(formats[i]->name, name) == 0) return i;
    return -1;
}

/* ---- bytes ---- */

static long fill(wl_reader *r, char *dst, size_t n, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    if (m->gz) {
        int got = gzread(m->gz, dst, (unsigned)n);
        if (got < 0) {
            int code;
            const char *msg = gzerror(m->gz, &code);
            return fs_error_set(err, r->path, (int)m->next_line, 0, "read failed: %s",
                                code == Z_ERRNO ? strerror(errno) : msg);
        }
        return got;
    }
    if (!m->zs_on) {
        size_t k = m->memlen - m->mempos < n ? m->memlen - m->mempos : n;
        memcpy(dst, m->mem + m->mempos, k);
        m->mempos += k;
        return (long)k;
    }
    m->zs.next_out = (unsigned char *)dst;
    m->zs.avail_out = (unsigned)n;
    while (m->zs.avail_out == (unsigned)n) {
        if (m->zs.avail_in == 0 && m->mempos < m->memlen) {
            m->zs.next_in = (unsigned char *)(m->mem + m->mempos);
            m->zs.avail_in = (unsigned)(m->memlen - m->mempos);
            m->mempos = m->memlen;
        }
        int rc = inflate(&m->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (m->zs.avail_in == 0 && m->mempos == m->memlen) break;
            inflateReset(&m->zs); /* concatenated gzip members, as gzread reads them */
            continue;
        }
        if (rc != Z_OK)
            return fs_error_set(err, r->path, (int)m->next_line, 0, "gzip data is corrupt: %s",
                                m->zs.msg ? m->zs.msg : "unexpected end");
        if (m->zs.avail_in == 0 && m->mempos == m->memlen && m->zs.avail_out == (unsigned)n)
            return fs_error_set(err, r->path, (int)m->next_line, 0, "gzip data ends early (is the file truncated?)");
    }
    return (long)(n - m->zs.avail_out);
}

/* The next physical line, its line end included (none on a last line without one). 1, 0 at the
 * end, -1. */
static int next_line(wl_reader *r, const char **s, size_t *n, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    for (;;) {
        char *at = m->buf + m->start, *nl = memchr(at, '\n', m->end - m->start);
        if (nl || (m->eof && m->end > m->start)) {
            *s = at;
            *n = nl ? (size_t)(nl - at) + 1 : m->end - m->start;
            m->start += *n;
            r->last_line_cut = !nl;
            if (m->next_line == 1 && *n >= 3 && memcmp(at, "\xEF\xBB\xBF", 3) == 0) { /* byte order mark */
                *s += 3;
                *n -= 3;
            }
            m->next_line++;
            return 1;
        }
        if (m->eof) return 0;
        size_t rem = m->end - m->start;
        memmove(m->buf, m->buf + m->start, rem);
        m->start = 0;
        m->end = rem;
        if (m->cap - m->end < BLOCK / 2) {
            if (m->cap >= MAX_LINE)
                return fs_error_set(err, r->path, (int)m->next_line, 0, "line longer than %d MiB: is this a "
                                    "%s trace?", MAX_LINE >> 20, r->fmt->name);
            m->cap *= 2;
            m->buf = fs_xrealloc(m->buf, m->cap);
        }
        long got = fill(r, m->buf + m->end, m->cap - m->end, err);
        if (got < 0) return -1;
        if (got == 0) m->eof = true;
        m->end += (size_t)got;
    }
}

/* ---- CSV records ---- */

static void on_field(void *data, size_t len, void *ctx)
{
    struct wl_reader_impl *m = ctx;
    if (m->nfields < WL_MAX_FIELDS) {
        m->fbuf = fs_xgrow(m->fbuf, &m->fcap, m->flen + len + 1, 1);
        m->foff[m->nfields] = m->flen;
        if (len) memcpy(m->fbuf + m->flen, data, len);
        m->flen += len;
        m->fbuf[m->flen++] = '\0';
    }
    m->nfields++;
}

static void on_row(int c, void *ctx)
{
    struct wl_reader_impl *m = ctx;
    m->row_ready = true;
    m->row_cut = c == -1;
}

/* The next record into r->f / r->nf. 1, 0 at the end, -1. */
static int next_record(wl_reader *r, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    m->row_ready = false;
    m->nfields = 0;
    m->flen = 0;
    long first = 0;
    while (!m->row_ready) {
        const char *s;
        size_t n;
        int rc = next_line(r, &s, &n, err);
        if (rc < 0) return -1;
        if (rc == 0) {
            if (m->done) return 0;
            m->done = true;
            if (csv_fini(&m->csv, on_field, on_row, m) != 0)
                return fs_error_set(err, r->path, (int)(first ? first : m->next_line - 1), 0,
                                    "malformed CSV at the end of the file: %s (is the file truncated?)",
                                    csv_strerror(csv_error(&m->csv)));
            if (!m->row_ready) return 0;
            break;
        }
        if (!first) first = m->next_line - 1;
        if (csv_parse(&m->csv, s, n, on_field, on_row, m) != n)
            return fs_error_set(err, r->path, (int)(m->next_line - 1), 0, "malformed CSV: %s",
                                csv_strerror(csv_error(&m->csv)));
        if (!m->row_ready && m->nfields == 0) first = 0; /* a blank line */
    }
    r->line = first ? first : m->next_line - 1;
    r->nf = m->nfields < WL_MAX_FIELDS ? m->nfields : WL_MAX_FIELDS;
    for (int i = 0; i < r->nf; i++) {
        r->f[i].s = m->fbuf + m->foff[i];
        r->f[i].n = (i + 1 < r->nf ? m->foff[i + 1] : m->flen) - m->foff[i] - 1;
    }
    if (m->nfields > WL_MAX_FIELDS) r->nf = m->nfields; /* the format reports the count */
    return 1;
}

/* ---- rows ---- */

int wl_row_error(wl_reader *r, fs_error *err, int col, const char *name, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fs_error_set(err, r->path, (int)r->line, col, "%s%s%s%s", name ? "column " : "", name ? name : "",
                 name ? ": " : "", msg);
    if (r->last_line_cut && err) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (the last line has no line end: is the file truncated?)");
    }
    return WL_ROW_BAD;
}

/* The next row as a request (absolute arrival). 1, 0 at the end, -1 (err set; a bad row when
 * *bad). */
static int read_row(wl_reader *r, wl_request *out, bool *bad, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    *bad = false;
    for (;;) {
        memset(out, 0, sizeof *out);
        out->target = r->opts.target;
        int rc;
        if (r->fmt->csv) {
            rc = next_record(r, err);
            if (rc <= 0) return rc;
            if (r->nf == 1 && r->f[0].n == 0) continue; /* a blank line */
        } else {
            const char *s;
            size_t n;
            rc = next_line(r, &s, &n, err);
            if (rc <= 0) return rc;
            r->line = m->next_line - 1;
            while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
            size_t lead = 0;
            while (lead < n && (s[lead] == ' ' || s[lead] == '\t')) lead++;
            if (lead == n) continue;
            char why[160];
            int col = 0;
            if (wl_json_parse(&r->json, s, n, r->opts.json_slow, why, sizeof why, &col)) {
                *bad = true;
                wl_row_error(r, err, col, NULL, "%s", why);
                return -1;
            }
        }
        r->stats.rows++;
        rc = r->fmt->row(r, out, err);
        if (rc == WL_ROW_OK) return 1;
        if (rc == WL_ROW_BAD) {
            *bad = true;
            return -1;
        }
    }
}

/* ---- time order ---- */

static bool pend_before(const pending *a, const pending *b)
{
    return a->r.arrival < b->r.arrival || (a->r.arrival == b->r.arrival && a->seq < b->seq);
}

static void heap_push(struct wl_reader_impl *m, const wl_request *r)
{
    m->heap = fs_xgrow(m->heap, &m->heap_cap, m->nheap + 1, sizeof *m->heap);
    pending p = {*r, m->seq++, NULL};
    if (r->nchain > 0) {
        p.chain = fs_xmalloc((size_t)r->nchain * sizeof *p.chain);
        memcpy(p.chain, r->chain, (size_t)r->nchain * sizeof *p.chain);
        p.r.chain = p.chain;
    }
    size_t i = m->nheap++;
    while (i > 0 && pend_before(&p, &m->heap[(i - 1) / 2])) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = p;
}

/* Move the earliest pending request to *out; its chain into the reader's buffer. */
static void heap_pop(struct wl_reader_impl *m, wl_request *out)
{
    pending top = m->heap[0], last = m->heap[--m->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->nheap) break;
        if (c + 1 < m->nheap && pend_before(&m->heap[c + 1], &m->heap[c])) c++;
        if (!pend_before(&m->heap[c], &last)) break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    if (m->nheap > 0) m->heap[i] = last;
    *out = top.r;
    if (top.chain) {
        m->chain = fs_xgrow(m->chain, &m->chain_cap, (size_t)top.r.nchain, sizeof *m->chain);
        memcpy(m->chain, top.chain, (size_t)top.r.nchain * sizeof *m->chain);
        out->chain = m->chain;
        free(top.chain);
    }
}

static int emit(wl_reader *r, wl_request *out)
{
    struct wl_reader_impl *m = r->impl;
    if (!m->have_t0) {
        m->t0 = out->arrival;
        m->have_t0 = true;
    }
    m->last = out->arrival;
    m->have_last = true;
    out->arrival -= m->t0;
    out->id = m->next_id++;
    return 1;
}

static int trace_next(wl_source *src, wl_request *out, fs_error *err)
{
    wl_reader *r = (wl_reader *)src;
    struct wl_reader_impl *m = r->impl;
    for (;;) {
        if (m->nheap > 0 && (m->done || m->max_seen - m->heap[0].r.arrival > m->window)) {
            heap_pop(m, out);
            return emit(r, out);
        }
        if (m->done) return 0;
        bool bad;
        int rc = read_row(r, out, &bad, err);
        if (rc < 0 && bad && r->opts.skip_bad_rows) {
            r->stats.bad++;
            continue;
        }
        if (rc < 0) return -1;
        if (rc == 0) {
            m->done = true;
            continue;
        }
        if (m->have_last && out->arrival < m->last) {
            if (r->opts.sort_window > 0)
                return wl_row_error(r, err, 0, NULL, "arrives %.6f s before a request already passed on: more out of "
                                    "order than the sort window (%g s) allows", fs_time_to_s(m->last - out->arrival),
                                    r->opts.sort_window);
            return wl_row_error(r, err, 0, NULL, "time goes backwards (%.6f s before the previous row); "
                                "--sort SECONDS reorders rows within a window", fs_time_to_s(m->last - out->arrival));
        }
        if (r->opts.sort_window <= 0) return emit(r, out);
        if (m->nheap == 0 || out->arrival > m->max_seen) m->max_seen = out->arrival;
        heap_push(m, out);
    }
}

/* ---- opening ---- */

static void trace_free(wl_source *src)
{
    wl_reader *r = (wl_reader *)src;
    struct wl_reader_impl *m = r->impl;
    if (r->fmt->fini) r->fmt->fini(r);
    free(r->fmt_state);
    if (m->gz) gzclose(m->gz);
    if (m->zs_on) inflateEnd(&m->zs);
    csv_free(&m->csv);
    for (size_t i = 0; i < m->nheap; i++) free(m->heap[i].chain);
    free(m->heap);
    free(m->chain);
    free(m->buf);
    free(m->fbuf);
    wl_json_fini(&r->json);
    free((char *)r->path);
    free(m);
    free(r);
}

/* Back to the first line: reset everything that reading changed, then read the header again. */
static int start(wl_reader *r, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    m->start = m->end = 0;
    m->eof = m->done = false;
    m->next_line = 1;
    m->have_last = m->have_t0 = false;
    m->next_id = m->seq = 0;
    for (size_t i = 0; i < m->nheap; i++) free(m->heap[i].chain);
    m->nheap = 0;
    memset(&r->stats, 0, sizeof r->stats);
    if (r->fmt_state) memset(r->fmt_state, 0, r->fmt->state_size);
    csv_free(&m->csv);
    if (csv_init(&m->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) fs_oom(sizeof m->csv);
    if (!r->fmt->csv) return 0;
    int rc = next_record(r, err);
    if (rc < 0) return -1;
    if (rc == 0) return fs_error_set(err, r->path, 0, 0, "empty file: expected a %s header row", r->fmt->name);
    return r->fmt->header(r, err);
}

static int trace_rewind(wl_source *src, fs_error *err)
{
    wl_reader *r = (wl_reader *)src;
    struct wl_reader_impl *m = r->impl;
    if (m->gz) {
        if (gzrewind(m->gz) != 0) return fs_error_set(err, r->path, 0, 0, "cannot read the trace again");
    } else {
        m->mempos = 0;
        if (m->zs_on) inflateReset(&m->zs);
        m->zs.avail_in = 0;
    }
    return start(r, err);
}

static void trace_stats(wl_source *src, wl_trace_stats *out) { *out = ((wl_reader *)src)->stats; }

static const wl_source_ops trace_ops = {trace_next, NULL, trace_free, trace_rewind, trace_stats};

static wl_source *open_common(const char *name, gzFile gz, const void *data, size_t len, const wl_trace_opts *o,
                              fs_error *err)
{
    wl_reader *r = fs_xcalloc(1, sizeof *r);
    struct wl_reader_impl *m = fs_xcalloc(1, sizeof *m);
    r->base.ops = &trace_ops;
    r->impl = m;
    r->opts = *o;
    r->fmt = formats[o->format];
    r->path = fs_xstrdup(name);
    r->fmt_state = r->fmt->state_size ? fs_xcalloc(1, r->fmt->state_size) : NULL;
    m->gz = gz;
    m->mem = data;
    m->memlen = len;
    if (!gz && len >= 2 && m->mem[0] == 0x1f && m->mem[1] == 0x8b) {
        if (inflateInit2(&m->zs, 15 + 32) != Z_OK) fs_oom(sizeof m->zs);
        m->zs_on = true;
    }
    m->cap = BLOCK;
    m->buf = fs_xmalloc(m->cap);
    m->window = o->sort_window > 0 ? fs_time_from_s(o->sort_window) : 0;
    if (csv_init(&m->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) fs_oom(sizeof m->csv);
    if (start(r, err)) {
        trace_free(&r->base);
        return NULL;
    }
    return &r->base;
}

wl_source *wl_trace_open(const char *path, const wl_trace_opts *o, fs_error *err)
{
    FS_ASSERT(o->format < WL_FMT_COUNT);
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        fs_error_set(err, path, 0, 0, "cannot open trace: %s", errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    gzbuffer(gz, BLOCK);
    return open_common(path, gz, NULL, 0, o, err);
}

wl_source *wl_trace_open_buffer(const char *name, const void *data, size_t len, const wl_trace_opts *o,
                                fs_error *err)
{
    FS_ASSERT(o->format < WL_FMT_COUNT);
    return open_common(name, NULL, data, len, o, err);
}

/* ---- field parsers ---- */

int wl_header_find(const wl_reader *r, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < r->nf && i < WL_MAX_FIELDS; i++) {
        const char *s = r->f[i].s;
        size_t k = r->f[i].n;
        while (k && (*s == ' ' || *s == '\t')) s++, k--;
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r')) k--;
        if (k == n && memcmp(s, name, n) == 0) return i;
    }
    return -1;
}

static const char *shown(const wl_field *f, char *buf, size_t n)
{
    snprintf(buf, n, "%.40s%s", f->s, f->n > 40 ? "..." : "");
    return buf;
}

int wl_field_count(wl_reader *r, int col, const char *name, bool zero_is_one, int32_t *out, fs_error *err)
{
    const wl_field *f = &r->f[col];
    const char *s = f->s, *e = f->s + f->n;
    while (s < e && *s == ' ') s++;
    while (e > s && e[-1] == ' ') e--;
    long long v = 0;
    const char *p = s;
    while (p < e && *p >= '0' && *p <= '9' && v <= WL_MAX_TOKENS) v = v * 10 + (*p++ - '0');
    char buf[64];
    if (p == s && s < e && *s == '-')
        return wl_row_error(r, err, col + 1, name, "expected a token count in 0..%lld, got '%s'", WL_MAX_TOKENS,
                            shown(f, buf, sizeof buf));
    if (p != e || p == s)
        return wl_row_error(r, err, col + 1, name, "expected a token count, got '%s'", shown(f, buf, sizeof buf));
    if (v > WL_MAX_TOKENS)
        return wl_row_error(r, err, col + 1, name, "expected a token count in 0..%lld, got '%s'", WL_MAX_TOKENS,
                            shown(f, buf, sizeof buf));
    *out = v < 1 && zero_is_one ? 1 : (int32_t)v; /* an engine reads and produces at least one token */
    return 0;
}

int wl_field_number(wl_reader *r, int col, const char *name, double *out, fs_error *err)
{
    const wl_field *f = &r->f[col];
    char *end = (char *)f->s, buf[64];
    errno = 0;
    double v = f->n ? strtod(f->s, &end) : NAN;
    while (*end == ' ') end++;
    if (!f->n || end == f->s || *end != '\0' || !isfinite(v) || errno == ERANGE)
        return wl_row_error(r, err, col + 1, name, "expected a number, got '%s'", shown(f, buf, sizeof buf));
    *out = v;
    return 0;
}

int wl_time_to_ns(double v, enum wl_time_unit unit, int64_t *ns)
{
    double scale = unit == WL_UNIT_MS ? 1e6 : unit == WL_UNIT_US ? 1e3 : 1e9;
    double x = v * scale;
    if (!isfinite(x) || x < 0 || x > 9.2e18) return -1;
    *ns = (int64_t)llround(x);
    return 0;
}

int wl_field_time(wl_reader *r, int col, const char *name, enum wl_time_unit unit, int64_t *ns, fs_error *err)
{
    const wl_field *f = &r->f[col];
    char buf[64];
    if (unit == WL_UNIT_DATETIME) {
        if (wl_parse_datetime(f->s, f->n, ns) != 0)
            return wl_row_error(r, err, col + 1, name, "expected a date and time such as "
                                "'2023-11-16 18:15:46.6805900', got '%s'", shown(f, buf, sizeof buf));
        return 0;
    }
    double v;
    if (wl_field_number(r, col, name, &v, err)) return WL_ROW_BAD;
    if (wl_time_to_ns(v, unit, ns))
        return wl_row_error(r, err, col + 1, name, "expected a time >= 0 %s, got '%s'",
                            unit == WL_UNIT_MS ? "in ms" : unit == WL_UNIT_US ? "in us" : "in seconds",
                            shown(f, buf, sizeof buf));
    return 0;
}

/* A token count member: "missing", wrong type and range are errors. */
int wl_json_count(wl_reader *r, const char *key, bool zero_is_one, int32_t *out, fs_error *err)
{
    int64_t v = 0;
    int rc = wl_json_int(&r->json, key, &v);
    char shown[64];
    if (rc == 0) return wl_row_error(r, err, 0, NULL, "missing \"%s\" (expected a token count)", key);
    if (rc < 0 || v < 0 || v > WL_MAX_TOKENS) {
        wl_json_show(&r->json, key, shown, sizeof shown);
        return wl_row_error(r, err, 0, NULL, "\"%s\": expected a token count in 0..%lld, got %s", key,
                            WL_MAX_TOKENS, shown);
    }
    *out = v < 1 && zero_is_one ? 1 : (int32_t)v; /* an engine reads and produces at least one token */
    return 0;
}

/* A time member in `unit`. */
int wl_json_time(wl_reader *r, const char *key, enum wl_time_unit unit, int64_t *ns, fs_error *err)
{
    double v = 0;
    int rc = wl_json_num(&r->json, key, &v);
    char shown[64];
    if (rc == 0) return wl_row_error(r, err, 0, NULL, "missing \"%s\" (expected a time)", key);
    if (rc < 0 || wl_time_to_ns(v, unit, ns)) {
        wl_json_show(&r->json, key, shown, sizeof shown);
        return wl_row_error(r, err, 0, NULL, "\"%s\": expected a time >= 0 %s, got %s", key,
                            unit == WL_UNIT_MS ? "in ms" : unit == WL_UNIT_US ? "in us" : "in seconds", shown);
    }
    return 0;
}
