#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fs_read_file(const char *path, char **data, size_t *len, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fs_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        buf = fs_xgrow(buf, &cap, n + 65536 + 1, 1);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return fs_error_set(err, path, 0, 0, "cannot read: %s", strerror(saved));
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}
