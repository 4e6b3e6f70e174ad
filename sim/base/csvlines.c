#include "csvlines.h"

#include <stdlib.h>
#include <string.h>

void csv_lines_init(csv_lines *c, const char *label, const char *data, size_t len)
{
    memset(c, 0, sizeof *c);
    c->label = label;
    c->data = data;
    c->len = len;
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) fs_oom(sizeof c->p);
}

void csv_lines_fini(csv_lines *c)
{
    csv_free(&c->p);
    free(c->buf);
    free(c->off);
    memset(c, 0, sizeof *c);
}

static void on_field(void *data, size_t len, void *ctx)
{
    csv_lines *c = ctx;
    c->buf = fs_xgrow(c->buf, &c->bcap, c->blen + len + 1, 1);
    if ((size_t)c->nf == c->off_cap) c->off = fs_xgrow(c->off, &c->off_cap, c->off_cap + 1, sizeof *c->off);
    c->off[c->nf++] = c->blen;
    if (len) memcpy(c->buf + c->blen, data, len);
    c->blen += len;
    c->buf[c->blen++] = '\0';
}

static void on_row(int ch, void *ctx)
{
    (void)ch;
    (void)ctx;
}

int csv_lines_next(csv_lines *c, fs_error *err)
{
    while (c->pos < c->len) {
        const char *s = c->data + c->pos;
        const char *nl = memchr(s, '\n', c->len - c->pos);
        size_t n = nl ? (size_t)(nl - s) : c->len - c->pos;
        c->pos += n + (nl != NULL);
        c->line++;
        if (c->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte order mark */
            s += 3;
            n -= 3;
        }
        if (n && s[n - 1] == '\r') n--;
        if (memchr(s, '\0', n))
            return fs_error_set(err, c->label, c->line, 0, "binary data (a NUL byte): expected CSV text");
        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
        if (k == n) continue;
        c->nf = 0;
        c->blen = 0;
        size_t got = csv_parse(&c->p, s, n, on_field, on_row, c);
        if (got != n || csv_fini(&c->p, on_field, on_row, c) != 0) {
            int code = csv_error(&c->p);
            if (code == CSV_ENOMEM || code == CSV_ETOOBIG) fs_oom(n);
            return fs_error_set(err, c->label, c->line, c->nf + 1, "malformed CSV: a double quote must open a "
                                "field, close it, or be doubled inside a quoted one (a record may not span lines)");
        }
        return 1;
    }
    return 0;
}
