/*
 * The Azure LLM inference trace (Splitwise, ISCA'24; the 2024 week-long traces have the same
 * columns): TIMESTAMP,ContextTokens,GeneratedTokens.
 *
 * Streaming: the file is read in 64 KiB blocks and fed to libcsv one physical line at a time,
 * so a row's line number is known (libcsv counts none) and wl_next returns as soon as one row
 * is complete. Memory is constant in the trace length.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "wl_internal.h"

#define AZ_BLOCK (64 * 1024)
#define AZ_FIELDS 3
#define AZ_FIELD_MAX 64
#define AZ_MAX_TOKENS 1000000000L

typedef struct azure {
    wl_source base;
    FILE *f;
    char *path;
    struct csv_parser csv;
    char buf[AZ_BLOCK];
    size_t pos, len;
    bool eof, finished;
    long line;          /* physical line being fed */
    long row_line;      /* line where the current row began */
    int nfields;
    unsigned too_long;  /* bit i: field i was cut at AZ_FIELD_MAX */
    bool row_ended_by_newline;
    char field[AZ_FIELDS][AZ_FIELD_MAX];
    bool row_ready;
    uint32_t target;
    uint64_t next_id;
    int64_t t0_ns;      /* first row's timestamp */
    fs_time last;
} azure;

static const char *const az_columns[AZ_FIELDS] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};

static void on_field(void *data, size_t len, void *ctx)
{
    azure *a = ctx;
    if (a->nfields == 0) a->row_line = a->line;
    if (a->nfields < AZ_FIELDS) {
        if (len >= AZ_FIELD_MAX) {
            a->too_long |= 1u << a->nfields;
            len = AZ_FIELD_MAX - 1;
        }
        memcpy(a->field[a->nfields], data, len);
        a->field[a->nfields][len] = '\0';
    }
    a->nfields++;
}

static void on_row(int c, void *ctx)
{
    azure *a = ctx;
    a->row_ready = true;
    a->row_ended_by_newline = c != -1; /* -1: the file ended inside the row */
}

/* For errors in the last row of a file that does not end with a line end. */
static const char *truncation_hint(const azure *a)
{
    return a->row_ended_by_newline ? "" : " (the last line has no line end: is the file truncated?)";
}

/* Feed libcsv until one row is complete or the file ends. Returns 1 (row), 0 (end), -1. */
static int read_row(azure *a, fs_error *err)
{
    a->row_ready = false;
    a->nfields = 0;
    a->too_long = 0;
    while (!a->row_ready) {
        if (a->pos == a->len) {
            if (a->eof) {
                if (a->finished) return 0;
                a->finished = true;
                /* a last line without newline */
                if (csv_fini(&a->csv, on_field, on_row, a) != 0)
                    return fs_error_set(err, a->path, (int)a->line, 0, "malformed CSV at the end of "
                                        "the file: %s (is the file truncated?)",
                                        csv_strerror(csv_error(&a->csv)));
                if (a->row_ready) break;
                return 0;
            }
            a->len = fread(a->buf, 1, sizeof a->buf, a->f);
            a->pos = 0;
            if (a->len == 0) {
                if (ferror(a->f))
                    return fs_error_set(err, a->path, (int)a->line, 0, "read failed: %s", strerror(errno));
                a->eof = true;
            }
            continue;
        }
        const char *start = a->buf + a->pos;
        const char *nl = memchr(start, '\n', a->len - a->pos);
        size_t n = nl ? (size_t)(nl - start) + 1 : a->len - a->pos;
        if (csv_parse(&a->csv, start, n, on_field, on_row, a) != n)
            return fs_error_set(err, a->path, (int)a->line, 0, "malformed CSV: %s",
                                csv_strerror(csv_error(&a->csv)));
        a->pos += n;
        if (nl) a->line++;
    }
    if (a->nfields != AZ_FIELDS)
        return fs_error_set(err, a->path, (int)a->row_line, 0,
                            "expected %d columns (TIMESTAMP,ContextTokens,GeneratedTokens), found %d%s",
                            AZ_FIELDS, a->nfields, truncation_hint(a));
    return 1;
}

static int parse_count(azure *a, int col, int32_t *out, fs_error *err)
{
    const char *s = a->field[col];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    bool cut = a->too_long & (1u << col);
    if (cut || s[0] == '\0' || *end != '\0' || errno != 0)
        return fs_error_set(err, a->path, (int)a->row_line, col + 1,
                            "column %s: expected a token count, got '%s%s'%s", az_columns[col], s,
                            cut ? "..." : "", truncation_hint(a));
    if (v < 0 || v > AZ_MAX_TOKENS)
        return fs_error_set(err, a->path, (int)a->row_line, col + 1,
                            "column %s: expected a token count in 0..%ld, got %ld", az_columns[col],
                            AZ_MAX_TOKENS, v);
    /* an engine always produces the first token and reads at least one: 0 is served as 1 */
    *out = v < 1 ? 1 : (int32_t)v;
    return 0;
}

static int read_header(azure *a, fs_error *err)
{
    int rc = read_row(a, err);
    if (rc < 0) return -1;
    if (rc == 0)
        return fs_error_set(err, a->path, 0, 0, "empty file: expected the header "
                            "TIMESTAMP,ContextTokens,GeneratedTokens");
    for (int i = 0; i < AZ_FIELDS; i++) {
        const char *f = a->field[i];
        if (i == 0 && (unsigned char)f[0] == 0xEF && (unsigned char)f[1] == 0xBB && (unsigned char)f[2] == 0xBF)
            f += 3; /* UTF-8 byte order mark */
        if (strcmp(f, az_columns[i]) != 0)
            return fs_error_set(err, a->path, (int)a->row_line, i + 1,
                                "expected the header TIMESTAMP,ContextTokens,GeneratedTokens, "
                                "got '%s' in column %d", a->field[i], i + 1);
    }
    return 0;
}

static int azure_next(wl_source *src, wl_request *out, fs_error *err)
{
    azure *a = (azure *)src;
    int rc = read_row(a, err);
    if (rc <= 0) return rc;
    int64_t ns;
    if ((a->too_long & 1u) || wl_parse_datetime(a->field[0], strlen(a->field[0]), &ns) != 0)
        return fs_error_set(err, a->path, (int)a->row_line, 1,
                            "column TIMESTAMP: expected a date and time such as "
                            "'2023-11-16 18:15:46.6805900', got '%s%s'%s", a->field[0],
                            (a->too_long & 1u) ? "..." : "", truncation_hint(a));
    int32_t in, outt;
    if (parse_count(a, 1, &in, err) || parse_count(a, 2, &outt, err)) return -1;
    if (a->next_id == 0) a->t0_ns = ns;
    fs_time t = ns - a->t0_ns;
    if (t < a->last)
        return fs_error_set(err, a->path, (int)a->row_line, 1,
                            "column TIMESTAMP: time goes backwards (%s is %.6f s before the "
                            "previous row)", a->field[0], fs_time_to_s(a->last - t));
    a->last = t;
    out->id = a->next_id++;
    out->arrival = t;
    out->input_tokens = in;
    out->output_tokens = outt;
    out->target = a->target;
    out->priority = 0;
    out->prefix_key = 0;
    out->prefix_tokens = 0;
    return 1;
}

static void azure_free(wl_source *src)
{
    azure *a = (azure *)src;
    if (a->f) fclose(a->f);
    csv_free(&a->csv);
    free(a->path);
    free(a);
}

static const wl_source_ops azure_ops = {azure_next, NULL, azure_free};

wl_source *wl_azure_open(const char *path, uint32_t target, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fs_error_set(err, path, 0, 0, "cannot open trace: %s", strerror(errno));
        return NULL;
    }
    azure *a = fs_xcalloc(1, sizeof *a);
    a->base.ops = &azure_ops;
    a->f = f;
    a->path = fs_xstrdup(path);
    a->line = 1;
    a->target = target;
    if (csv_init(&a->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) fs_oom(sizeof a->csv);
    if (read_header(a, err)) {
        azure_free(&a->base);
        return NULL;
    }
    return &a->base;
}
