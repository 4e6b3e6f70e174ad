/*
 * The shared trace reader (see wl_trace_internal.h): bytes in blocks from a file (zlib reads plain
 * and gzip files alike) or from memory, lines with their numbers, CSV records one physical line
 * at a time (so a record's line is known; a quoted field may span lines), JSON lines through
 * wl_json, then the time order: rows must not go back in time, or with a sort window they pass
 * through a heap that holds only the rows of the last `window` seconds (memory bounded by the
 * window, not by the file).
 *
 * CSV: libcsv parses every line that holds a double quote or a carriage return other than the
 * final one. A line without either has nothing for CSV's quoting rules to decide, so it is split
 * here at its commas, with spaces and tabs around each field dropped, exactly as libcsv would
 * (test_traces compares the two on tricky lines); that fast path cuts the fields in place.
 */
#define ZLIB_CONST
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <zlib.h>

#include "rng.h"
#include "wl_trace_internal.h"

#define BLOCK (128 * 1024)
#define MAX_LINE (16 * 1024 * 1024)
#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)
#define NAME_SLOTS 16
#define NAME_LEN 56

typedef struct chain_buf {
    uint64_t *v;
    size_t cap;
} chain_buf;

typedef struct pending {
    wl_request r;
    uint64_t seq;
    chain_buf chain; /* r.chain's storage when r.nchain > 0 */
} pending;

/* A name a row gave and what it maps to (kind 0 tenant, 1 region, 2 model); w0 and w1 are its
 * first and last 8 bytes (zero-padded), which tell most names apart without a memcmp. */
typedef struct name_slot {
    uint64_t w0, w1;
    uint32_t len, value;
    char s[NAME_LEN];
} name_slot;

struct wl_reader_impl {
    /* bytes */
    gzFile gz;
    const unsigned char *mem;
    size_t memlen, mempos;
    z_stream zs;
    bool zs_on, zs_end, zs_cut; /* in-memory gzip; its end; data that ends early (reported next) */
    char *buf;                  /* cap + 1 bytes: a line without a line end can still be cut */
    size_t cap, start, end;
    bool eof, done;
    long next_line;             /* number of the next physical line */
    /* CSV */
    struct csv_parser csv;
    int csv_idle;               /* csv.pstate between records (as csv_init leaves it): libcsv has no
                                 * call for "inside a record?", so its public struct is read */
    char *fbuf;                 /* fields of a record libcsv parsed, NUL-separated */
    size_t fcap, flen;
    size_t *foff;
    size_t foff_cap, f_cap;
    int nfields;
    bool row_ready, row_extra;  /* a record is complete; something followed it on its line */
    bool rec_bad;               /* the -1 of next_record is a malformed record, not a read error */
    /* time order */
    bool have_last, have_t0, have_ref;
    int64_t last, t0, window, max_seen, ref; /* ref: the first row's arrival */
    pending *heap;
    size_t nheap, heap_cap;
    uint64_t seq, next_id;
    chain_buf out_chain;        /* the emitted request's chain, when it came through the heap */
    chain_buf *spare;           /* chain buffers to reuse */
    size_t nspare, spare_cap;
    /* names */
    name_slot names[3][NAME_SLOTS];
    uint32_t nnames[3], next_slot[3];
};

static const wl_format_ops *const formats[WL_FMT_COUNT] = {&wl_fmt_azure, &wl_fmt_burstgpt, &wl_fmt_mooncake,
                                                           &wl_fmt_vllm,  &wl_fmt_csv,      &wl_fmt_jsonl};

const char *const wl_time_unit_names[] = {"s", "ms", "us", "datetime", NULL};

const char *wl_format_name(enum wl_format f) { return f < WL_FMT_COUNT ? formats[f]->name : "?"; }

int wl_format_from_name(const char *name)
{
    for (int i = 0; i < WL_FMT_COUNT; i++)
        if (strcmp(formats[i]->name, name) == 0) return i;
    return -1;
}

/* ---- bytes ---- */

static int gzip_error(wl_reader *r, int code, const char *msg, fs_error *err)
{
    long line = r->impl->next_line;
    size_t n = strlen(r->path);
    if (msg && strncmp(msg, r->path, n) == 0 && strncmp(msg + n, ": ", 2) == 0) msg += n + 2; /* gzerror's prefix */
    if (code == Z_MEM_ERROR) fs_oom(BLOCK);
    if (code == Z_BUF_ERROR)
        return fs_error_set(err, r->path, (int)line, 0, "gzip data ends early (is the file truncated?)");
    if (code == Z_DATA_ERROR || code == Z_NEED_DICT || code == Z_STREAM_ERROR)
        return fs_error_set(err, r->path, (int)line, 0, "gzip data is corrupt: %s", msg ? msg : "bad data");
    return fs_error_set(err, r->path, (int)line, 0, "read failed: %s",
                        code == Z_ERRNO ? strerror(errno) : msg ? msg : "unknown error");
}

/* Give the inflater the rest of the buffer (at most what its counters hold). */
static void feed(struct wl_reader_impl *m)
{
    size_t k = m->memlen - m->mempos;
    if (k > UINT_MAX) k = UINT_MAX;
    m->zs.next_in = m->mem + m->mempos;
    m->zs.avail_in = (uInt)k;
    m->mempos += k;
}

/* Gzip data in memory, read as gzread reads a file: concatenated members, trailing bytes that
 * are not a member ignored, data that ends early an error (once what came before is out). */
static long inflate_mem(wl_reader *r, char *dst, size_t n, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    z_stream *z = &m->zs;
    if (m->zs_cut) return gzip_error(r, Z_BUF_ERROR, NULL, err);
    if (m->zs_end) return 0;
    z->next_out = (unsigned char *)dst;
    z->avail_out = (uInt)n;
    while (z->avail_out > 0) {
        if (z->avail_in == 0 && m->mempos < m->memlen) feed(m);
        int rc = inflate(z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (z->avail_in == 0 && m->mempos < m->memlen) feed(m);
            if (z->avail_in < 2 || z->next_in[0] != 0x1f || z->next_in[1] != 0x8b) {
                m->zs_end = true;
                break;
            }
            inflateReset(z);
            continue;
        }
        if (rc == Z_BUF_ERROR && z->avail_in == 0 && m->mempos == m->memlen) {
            if (z->avail_out < n) {
                m->zs_cut = true;
                break;
            }
            return gzip_error(r, Z_BUF_ERROR, NULL, err);
        }
        if (rc != Z_OK) return gzip_error(r, rc, z->msg, err);
    }
    return (long)(n - z->avail_out);
}

static long fill(wl_reader *r, char *dst, size_t n, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    if (m->gz) {
        int got = gzread(m->gz, dst, (unsigned)n), code = Z_OK;
        const char *msg = got <= 0 ? gzerror(m->gz, &code) : NULL;
        if (got < 0 || (got == 0 && code == Z_BUF_ERROR)) return gzip_error(r, code, msg, err);
        return got;
    }
    if (m->zs_on) return inflate_mem(r, dst, n, err);
    size_t k = m->memlen - m->mempos < n ? m->memlen - m->mempos : n;
    memcpy(dst, m->mem + m->mempos, k);
    m->mempos += k;
    return (long)k;
}

/* The next physical line, its line end included (none on a last line without one), writable up
 * to s[n] included. 1, 0 at the end, -1. */
static int next_line(wl_reader *r, char **s, size_t *n, fs_error *err)
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
            m->buf = fs_xrealloc(m->buf, m->cap + 1);
        }
        long got = fill(r, m->buf + m->end, m->cap - m->end, err);
        if (got < 0) return -1;
        if (got == 0) m->eof = true;
        m->end += (size_t)got;
    }
}

/* ---- CSV records ---- */

static void fields_room(wl_reader *r, int n)
{
    struct wl_reader_impl *m = r->impl;
    if ((size_t)n > m->f_cap) r->f = fs_xgrow(r->f, &m->f_cap, (size_t)n, sizeof *r->f);
}

static void csv_restart(struct wl_reader_impl *m)
{
    csv_free(&m->csv);
    if (csv_init(&m->csv, CSV_OPTIONS) != 0) fs_oom(sizeof m->csv);
    m->csv_idle = m->csv.pstate;
}

static void on_field(void *data, size_t len, void *ctx)
{
    struct wl_reader_impl *m = ctx;
    if (m->row_ready) {
        m->row_extra = true;
        return;
    }
    m->fbuf = fs_xgrow(m->fbuf, &m->fcap, m->flen + len + 1, 1);
    if ((size_t)m->nfields == m->foff_cap) m->foff = fs_xgrow(m->foff, &m->foff_cap, m->foff_cap + 1, sizeof *m->foff);
    m->foff[m->nfields++] = m->flen;
    if (len) memcpy(m->fbuf + m->flen, data, len);
    m->flen += len;
    m->fbuf[m->flen++] = '\0';
}

static void on_row(int c, void *ctx)
{
    struct wl_reader_impl *m = ctx;
    (void)c;
    if (m->row_ready) m->row_extra = true;
    m->row_ready = true;
}

static inline bool csv_space(char c) { return c == ' ' || c == '\t'; }

/* The fast path: a line with no '"' and no '\r' before its line end, split as libcsv splits it.
 * 1: a record in r->f; 0: a blank line (libcsv gives no record for it either); -1: a line for
 * libcsv. One pass finds the commas (and gives up on a quote or a carriage return before writing
 * anything), a second trims each field and cuts it in place. */
static int split_plain(wl_reader *r, char *s, size_t n)
{
    static const unsigned char special[256] = {[','] = 1, ['"'] = 2, ['\r'] = 2};
    struct wl_reader_impl *m = r->impl;
    size_t len = n;
    if (len && s[len - 1] == '\n') len--;
    if (len && s[len - 1] == '\r') len--;
    int nf = 0;
    size_t fs = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!special[c]) continue;
        if (special[c] == 2) return -1;
        if ((size_t)nf == m->f_cap) fields_room(r, nf + 1);
        r->f[nf].s = s + fs;
        r->f[nf++].n = i - fs;
        fs = i + 1;
    }
    if ((size_t)nf == m->f_cap) fields_room(r, nf + 1);
    r->f[nf].s = s + fs;
    r->f[nf++].n = len - fs;
    for (int k = 0; k < nf; k++) {
        char *a = (char *)r->f[k].s, *b = a + r->f[k].n;
        while (a < b && csv_space(*a)) a++;
        while (b > a && csv_space(b[-1])) b--;
        if (nf == 1 && a == b) return 0; /* nothing but spaces */
        *b = '\0'; /* at the comma, a trailing space, the line end, or the spare byte after the buffer */
        r->f[k].s = a;
        r->f[k].n = (size_t)(b - a);
    }
    r->nf = nf;
    return 1;
}

/* Up to 20 bytes of the line from s on (its line end left out), for messages. */
static const char *text_at(const char *s, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    while (k < n && s[k] != '\n' && s[k] != '\r') k++;
    snprintf(buf, size, "%.*s%s", (int)(k > 20 ? 20 : k), s, k > 20 ? "..." : "");
    return buf;
}

/* The next record into r->f / r->nf. 1, 0 at the end, -1 (a malformed record when m->rec_bad). */
static int next_record(wl_reader *r, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    m->row_ready = m->row_extra = m->rec_bad = false;
    m->nfields = 0;
    m->flen = 0;
    long first = 0; /* the record's first line, once libcsv has seen it */
    while (!m->row_ready) {
        char *s;
        size_t n;
        int rc = next_line(r, &s, &n, err);
        if (rc < 0) return -1;
        if (rc == 0) {
            if (m->done) return 0;
            m->done = true;
            if (csv_fini(&m->csv, on_field, on_row, m) != 0) {
                r->line = first ? first : m->next_line - 1;
                m->rec_bad = true;
                csv_restart(m);
                return wl_row_error(r, err, 0, NULL, "malformed CSV at the end of the file: a quoted field is not "
                                    "closed%s", r->last_line_cut ? "" : " (is the file truncated?)");
            }
            if (!m->row_ready) return 0;
            break;
        }
        if (!first) {
            int k = split_plain(r, s, n);
            if (k > 0) {
                r->line = m->next_line - 1;
                return 1;
            }
            if (k == 0) continue;
            first = m->next_line - 1;
        }
        size_t got = csv_parse(&m->csv, s, n, on_field, on_row, m);
        if (got != n) {
            r->line = m->next_line - 1;
            m->rec_bad = true;
            int code = csv_error(&m->csv);
            csv_restart(m);
            if (code != CSV_EPARSE) fs_oom(n);
            char at[32];
            return wl_row_error(r, err, 0, NULL, "malformed CSV at '%s': a double quote must open a field, close "
                                "it, or be doubled inside a quoted one", text_at(s + got, n - got, at, sizeof at));
        }
        if (m->row_ready && (m->row_extra || m->csv.pstate != m->csv_idle)) {
            r->line = m->next_line - 1;
            m->rec_bad = true;
            csv_restart(m);
            return wl_row_error(r, err, 0, NULL, "a carriage return ends a CSV record in the middle of the line "
                                "(expected \\n or \\r\\n line ends)");
        }
        if (!m->row_ready && m->nfields == 0 && m->csv.pstate == m->csv_idle) first = 0; /* a blank line */
    }
    r->line = first ? first : m->next_line - 1;
    r->nf = m->nfields;
    fields_room(r, r->nf);
    for (int i = 0; i < r->nf; i++) {
        r->f[i].s = m->fbuf + m->foff[i];
        r->f[i].n = (i + 1 < r->nf ? m->foff[i + 1] : m->flen) - m->foff[i] - 1;
    }
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

/* Every arrival within SPAN of the first row's (both ways, for the sort window), so that any two
 * are less than 2 x SPAN apart: differences and relative arrivals hold in fs_time. */
#define SPAN ((int64_t)(FS_TIME_INPUT_MAX_S * 1e9))

static int check_span(wl_reader *r, int64_t arrival, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    int64_t d;
    if (!m->have_ref) {
        m->ref = arrival;
        m->have_ref = true;
    }
    if (!__builtin_sub_overflow(arrival, m->ref, &d) && d <= SPAN && d >= -SPAN) return WL_ROW_OK;
    return wl_row_error(r, err, 0, NULL, "arrives %.4g years %s the first row: a trace may span at most %.0f years "
                        "(is the time unit right?)", fabs(((double)arrival - (double)m->ref) / 1e9 / 86400 / 365.25),
                        arrival > m->ref ? "after" : "before", FS_TIME_INPUT_MAX_S / 86400 / 365.25);
}

/* The next row as a request (absolute arrival). 1, 0 at the end, -1 (err set; a bad row when
 * *bad). */
static int read_row(wl_reader *r, wl_request *out, bool *bad, fs_error *err)
{
    struct wl_reader_impl *m = r->impl;
    *bad = false;
    for (;;) {
        if (r->fmt->csv) {
            int rc = next_record(r, err);
            if (rc == 0) return 0;
            if (rc < 0) {
                if (m->rec_bad) { /* a malformed record is a row too, and skippable */
                    r->stats.rows++;
                    *bad = true;
                }
                return -1;
            }
            if (r->nf == 1 && r->f[0].n == 0) continue; /* "" alone: as blank as a blank line */
            r->stats.rows++;
        } else {
            char *s;
            size_t n;
            int rc = next_line(r, &s, &n, err);
            if (rc <= 0) return rc;
            r->line = m->next_line - 1;
            while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
            size_t lead = 0;
            while (lead < n && (s[lead] == ' ' || s[lead] == '\t')) lead++;
            if (lead == n) continue;
            r->stats.rows++;
            char why[200];
            int col = 0;
            if (wl_json_parse(&r->json, s, n, r->opts.json_slow, why, sizeof why, &col)) {
                *bad = true;
                return wl_row_error(r, err, col, NULL, "%s", why);
            }
        }
        memset(out, 0, sizeof *out);
        out->target = r->opts.target;
        int rc = r->fmt->row(r, out, err);
        if (rc == WL_ROW_OK) rc = check_span(r, out->arrival, err);
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
    if (m->nheap == m->heap_cap) m->heap = fs_xgrow(m->heap, &m->heap_cap, m->nheap + 1, sizeof *m->heap);
    pending p = {*r, m->seq++, {NULL, 0}};
    if (r->nchain > 0) { /* the format's buffer is reused for the next row: copy into a spare one */
        if (m->nspare > 0) p.chain = m->spare[--m->nspare];
        if (p.chain.cap < (size_t)r->nchain) p.chain.v = fs_xgrow(p.chain.v, &p.chain.cap, (size_t)r->nchain, sizeof *p.chain.v);
        memcpy(p.chain.v, r->chain, (size_t)r->nchain * sizeof *p.chain.v);
        p.r.chain = p.chain.v;
    }
    size_t i = m->nheap++;
    while (i > 0 && pend_before(&p, &m->heap[(i - 1) / 2])) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = p;
}

static void spare_put(struct wl_reader_impl *m, chain_buf b)
{
    if (!b.v) return;
    if (m->nspare == m->spare_cap) m->spare = fs_xgrow(m->spare, &m->spare_cap, m->nspare + 1, sizeof *m->spare);
    m->spare[m->nspare++] = b;
}

/* Move the earliest pending request to *out; its chain stays valid until the next pop. */
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
    if (top.chain.v) {
        spare_put(m, m->out_chain);
        m->out_chain = top.chain;
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
        if (m->have_last && out->arrival < m->last && !r->opts.unordered) {
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

static void drop_pending(struct wl_reader_impl *m)
{
    for (size_t i = 0; i < m->nheap; i++) spare_put(m, m->heap[i].chain);
    m->nheap = 0;
}

static void trace_free(wl_source *src)
{
    wl_reader *r = (wl_reader *)src;
    struct wl_reader_impl *m = r->impl;
    if (r->fmt->fini) r->fmt->fini(r);
    free(r->fmt_state);
    if (m->gz) gzclose(m->gz);
    if (m->zs_on) inflateEnd(&m->zs);
    csv_free(&m->csv);
    drop_pending(m);
    for (size_t i = 0; i < m->nspare; i++) free(m->spare[i].v);
    free(m->spare);
    free(m->out_chain.v);
    free(m->heap);
    free(m->buf);
    free(m->fbuf);
    free(m->foff);
    free(r->f);
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
    m->have_last = m->have_t0 = m->have_ref = false;
    m->next_id = m->seq = 0;
    drop_pending(m);
    memset(&r->stats, 0, sizeof r->stats);
    if (r->fmt_state) memset(r->fmt_state, 0, r->fmt->state_size);
    csv_restart(m);
    r->nf = 0;
    r->line = 0;
    r->last_line_cut = false;
    if (!r->fmt->csv) return r->fmt->header ? r->fmt->header(r, err) : 0;
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
        m->zs_end = m->zs_cut = false;
    }
    if (r->fmt->fini) r->fmt->fini(r);
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
    m->buf = fs_xmalloc(m->cap + 1);
    m->window = o->sort_window > 0 ? fs_time_from_s(o->sort_window) : 0;
    if (start(r, err)) {
        trace_free(&r->base);
        return NULL;
    }
    return &r->base;
}

wl_source *wl_trace_open(const char *path, const wl_trace_opts *o, fs_error *err)
{
    FS_ASSERT(o->format < WL_FMT_COUNT);
    errno = 0;
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
    for (int i = 0; i < r->nf; i++) {
        const char *s = r->f[i].s;
        size_t k = r->f[i].n;
        while (k && (*s == ' ' || *s == '\t')) s++, k--;
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r')) k--;
        if (k == n && memcmp(s, name, n) == 0) return i;
    }
    return -1;
}

const char *wl_header_list(const wl_reader *r, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->nf; i++) {
        int k = snprintf(buf + len, n - len, "%s'%s'", i ? ", " : "", r->f[i].s);
        if (k < 0 || (size_t)k >= n - len) { /* cut: end with an ellipsis */
            if (n >= 4) memcpy(buf + n - 4, "...", 4);
            break;
        }
        len += (size_t)k;
    }
    return buf;
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
    while (p < e && *p >= '0' && *p <= '9') {
        if (v <= WL_MAX_TOKENS) v = v * 10 + (*p - '0'); /* past the range, the digits still count */
        p++;
    }
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

int wl_field_int(wl_reader *r, int col, const char *name, int64_t lo, int64_t hi, int64_t *out, fs_error *err)
{
    const wl_field *f = &r->f[col];
    const char *s = f->s, *e = f->s + f->n;
    while (s < e && *s == ' ') s++;
    while (e > s && e[-1] == ' ') e--;
    bool minus = s < e && *s == '-';
    if (s < e && (*s == '-' || *s == '+')) s++;
    const char *d = s;
    int64_t v = 0;
    while (s < e && *s >= '0' && *s <= '9' && v <= INT64_MAX / 100) v = v * 10 + (*s++ - '0');
    if (minus) v = -v;
    char buf[64];
    if (s != e || s == d || v < lo || v > hi)
        return wl_row_error(r, err, col + 1, name, "expected an integer in %lld..%lld, got '%s'", (long long)lo,
                            (long long)hi, shown(f, buf, sizeof buf));
    *out = v;
    return 0;
}

/* Decimal text ([-]digits[.digits]) to a double exactly as strtod gives it, without its cost:
 * with at most 18 digits whose value fits 2^53, digits / 10^k with both exact is the correctly
 * rounded quotient (Clinger's fast path). false: strtod must decide. */
static bool plain_decimal(const char *s, const char *e, double *out)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    bool minus = *s == '-';
    s += minus;
    const char *d = s;
    uint64_t v = 0;
    while (s < e && *s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
    size_t nd = (size_t)(s - d), nf = 0;
    if (s < e && *s == '.') {
        const char *f = ++s;
        while (s < e && *s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
        nf = (size_t)(s - f);
        if (nf == 0) return false;
    }
    if (s != e || nd + nf == 0 || nd + nf > 18 || v > (UINT64_C(1) << 53)) return false;
    double x = (double)v / p10[nf];
    *out = minus ? -x : x;
    return true;
}

int wl_field_number(wl_reader *r, int col, const char *name, double *out, fs_error *err)
{
    const wl_field *f = &r->f[col];
    if (f->n && plain_decimal(f->s, f->s + f->n, out)) return 0;
    char *end = (char *)f->s, buf[64];
    const char *first = f->s;
    while (*first == ' ') first++;
    /* decimal only: strtod would also take hex ("0x10"), inf and nan */
    bool decimal = (*first >= '0' && *first <= '9') || *first == '-' || *first == '+' || *first == '.';
    bool hex = decimal && strpbrk(f->s, "xX") != NULL;
    errno = 0;
    double v = f->n && decimal && !hex ? strtod(f->s, &end) : NAN;
    while (*end == ' ') end++;
    if (!f->n || end == f->s || end != f->s + f->n || !isfinite(v) || errno == ERANGE)
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

static const char *unit_words(enum wl_time_unit unit)
{
    return unit == WL_UNIT_MS ? "in ms" : unit == WL_UNIT_US ? "in us" : "in seconds";
}

#define DATETIME_EXAMPLE "'2023-11-16 18:15:46.6805900'"

int wl_field_time(wl_reader *r, int col, const char *name, enum wl_time_unit unit, int64_t *ns, fs_error *err)
{
    const wl_field *f = &r->f[col];
    char buf[64];
    if (unit == WL_UNIT_DATETIME) {
        if (wl_parse_datetime(f->s, f->n, ns) != 0)
            return wl_row_error(r, err, col + 1, name, "expected a date and time such as " DATETIME_EXAMPLE ", got '%s'",
                                shown(f, buf, sizeof buf));
        return 0;
    }
    double v;
    if (wl_field_number(r, col, name, &v, err)) return WL_ROW_BAD;
    if (wl_time_to_ns(v, unit, ns))
        return wl_row_error(r, err, col + 1, name, "expected a time >= 0 %s, got '%s'", unit_words(unit),
                            shown(f, buf, sizeof buf));
    return 0;
}

/* A token count member: "missing", wrong type and range are errors. */
int wl_json_count(wl_reader *r, const char *key, bool zero_is_one, int32_t *out, fs_error *err)
{
    int64_t v = 0;
    int rc = wl_json_int(&r->json, key, &v);
    char shown_v[64];
    if (rc == 0) return wl_row_error(r, err, 0, NULL, "missing \"%s\" (expected a token count)", key);
    if (rc < 0 || v < 0 || v > WL_MAX_TOKENS) {
        wl_json_show(&r->json, key, shown_v, sizeof shown_v);
        return wl_row_error(r, err, 0, NULL, "\"%s\": expected a token count in 0..%lld, got %s", key,
                            WL_MAX_TOKENS, shown_v);
    }
    *out = v < 1 && zero_is_one ? 1 : (int32_t)v; /* an engine reads and produces at least one token */
    return 0;
}

/* A time member in `unit`. */
int wl_json_time(wl_reader *r, const char *key, enum wl_time_unit unit, int64_t *ns, fs_error *err)
{
    char shown_v[64];
    if (unit == WL_UNIT_DATETIME) {
        const char *s;
        size_t n;
        int rc = wl_json_str(&r->json, key, &s, &n);
        if (rc == 0) return wl_row_error(r, err, 0, NULL, "missing \"%s\" (expected a date and time)", key);
        if (rc < 0 || wl_parse_datetime(s, n, ns) != 0) {
            wl_json_show(&r->json, key, shown_v, sizeof shown_v);
            return wl_row_error(r, err, 0, NULL, "\"%s\": expected a date and time such as " DATETIME_EXAMPLE ", got %s",
                                key, shown_v);
        }
        return 0;
    }
    double v = 0;
    int rc = wl_json_num(&r->json, key, &v);
    if (rc == 0) return wl_row_error(r, err, 0, NULL, "missing \"%s\" (expected a time)", key);
    if (rc < 0 || wl_time_to_ns(v, unit, ns)) {
        wl_json_show(&r->json, key, shown_v, sizeof shown_v);
        return wl_row_error(r, err, 0, NULL, "\"%s\": expected a time >= 0 %s, got %s", key, unit_words(unit), shown_v);
    }
    return 0;
}

int wl_json_int_in(wl_reader *r, const char *key, int64_t lo, int64_t hi, int64_t *out, fs_error *err)
{
    int rc = wl_json_int(&r->json, key, out);
    if (rc == 0) return 0;
    if (rc < 0 || *out < lo || *out > hi) {
        char shown_v[64];
        wl_json_show(&r->json, key, shown_v, sizeof shown_v);
        return wl_row_error(r, err, 0, NULL, "\"%s\": expected an integer in %lld..%lld, got %s", key, (long long)lo,
                            (long long)hi, shown_v);
    }
    return 1;
}

int wl_json_name(wl_reader *r, const char *key, char *buf, const char **s, size_t *n, fs_error *err)
{
    int rc = wl_json_str(&r->json, key, s, n);
    if (rc >= 0) return rc;
    int64_t v;
    if (wl_json_int(&r->json, key, &v) == 1) {
        *n = (size_t)snprintf(buf, 24, "%lld", (long long)v);
        *s = buf;
        return 1;
    }
    char shown_v[64];
    wl_json_show(&r->json, key, shown_v, sizeof shown_v);
    return wl_row_error(r, err, 0, NULL, "\"%s\": expected a string or an integer, got %s", key, shown_v);
}

/* ---- names ---- */

static void name_words(const char *s, size_t n, uint64_t *w0, uint64_t *w1)
{
    *w0 = *w1 = 0;
    memcpy(w0, s, n < 8 ? n : 8);
    if (n > 8) memcpy(w1, s + n - 8, 8);
}

static bool name_cached(struct wl_reader_impl *m, int kind, const char *s, size_t n, uint32_t *value)
{
    uint64_t w0, w1;
    name_words(s, n, &w0, &w1);
    for (uint32_t i = 0; i < m->nnames[kind]; i++) {
        const name_slot *e = &m->names[kind][i];
        if (e->w0 == w0 && e->w1 == w1 && e->len == n && (n <= 16 || memcmp(e->s, s, n) == 0)) {
            *value = e->value;
            return true;
        }
    }
    return false;
}

static void name_remember(struct wl_reader_impl *m, int kind, const char *s, size_t n, uint32_t value)
{
    if (n > NAME_LEN) return;
    uint32_t i = m->nnames[kind] < NAME_SLOTS ? m->nnames[kind]++ : m->next_slot[kind]++ % NAME_SLOTS;
    name_slot *e = &m->names[kind][i];
    name_words(s, n, &e->w0, &e->w1);
    e->len = (uint32_t)n;
    e->value = value;
    memcpy(e->s, s, n);
}

int wl_map_model(wl_reader *r, const char *s, size_t n, uint32_t *target, char *why, size_t why_len)
{
    struct wl_reader_impl *m = r->impl;
    if (n == 0) {
        *target = r->opts.target;
        return 0;
    }
    if (name_cached(m, 2, s, n, target)) return 0;
    const wl_names *names = r->opts.names;
    if (names->model(names->ctx, s, n, target, why, why_len) != 0) return -1;
    name_remember(m, 2, s, n, *target);
    return 0;
}

uint32_t wl_map_name(wl_reader *r, int kind, const char *s, size_t n)
{
    struct wl_reader_impl *m = r->impl;
    const wl_names *names = r->opts.names;
    uint32_t v;
    if (n == 0 || !names || !names->intern) return 0;
    if (name_cached(m, kind, s, n, &v)) return v;
    v = names->intern(names->ctx, kind, s, n);
    name_remember(m, kind, s, n, v);
    return v;
}

uint64_t wl_hash_text(const char *s, size_t n)
{
    if (n == 0) return 0;
    uint64_t h = fs_hash64(UINT64_C(0x53455353494f4e), n); /* "SESSION", then the length */
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        for (size_t k = 0; k < 8 && i + k < n; k++) w |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
        h = fs_hash64(h, w);
    }
    return h ? h : 1;
}
