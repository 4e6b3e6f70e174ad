/*
 * readfile.h — a whole file into memory, for the small inputs read at once (profiles, placement
 * traces, exported results); streaming inputs (traces) have their own readers in workloads/.
 *
 * Ownership: *data is the caller's (free()), NUL-terminated one byte past *len.
 */
#ifndef FS_READFILE_H
#define FS_READFILE_H

#include <stddef.h>

#include "fs_error.h"

/* 0 with the contents in *data and *len, or -1 with err ("cannot open" / "cannot read": why) and
 * nothing allocated. */
int fs_read_file(const char *path, char **data, size_t *len, fs_error *err);

#endif
