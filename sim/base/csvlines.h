/*
 * csvlines.h — CSV records one per line, from text in memory: for the small tables read whole
 * (profiles, placement traces), where exact line numbers in messages matter more than streaming.
 * libcsv splits each line into fields (quotes included); a record may not span lines (a line
 * with an unclosed quote is an error). Blank lines are skipped; a UTF-8 byte order mark, CRLF
 * endings and NUL bytes (an error: not text) are handled.
 *
 * Ownership: the text stays the caller's and must outlive the reader; the fields live in the
 * reader until the next csv_lines_next. csv_lines_fini releases what the reader holds.
 */
#ifndef FS_CSVLINES_H
#define FS_CSVLINES_H

#include <stddef.h>

#include <csv.h>

#include "fs_error.h"

typedef struct csv_lines {
    const char *label;   /* names the text in messages (a file name) */
    const char *data;
    size_t len, pos;
    int line;            /* the current record's line, 1-based */
    int nf;              /* its fields */
    struct csv_parser p;
    char *buf;           /* the fields, NUL-terminated one after another */
    size_t blen, bcap;
    size_t *off;         /* each field's offset in buf */
    size_t off_cap;
} csv_lines;

void csv_lines_init(csv_lines *c, const char *label, const char *data, size_t len);
void csv_lines_fini(csv_lines *c);

/* The next non-blank line's fields: 1, 0 at the end, -1 with err (file:line:column). */
int csv_lines_next(csv_lines *c, fs_error *err);

static inline const char *csv_lines_field(const csv_lines *c, int i) { return c->buf + c->off[i]; }

#endif
