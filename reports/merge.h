/*
 * merge.h — combining results databases into one: the shards of a sweep run on several
 * machines, the per-process files of `fleetsim sweep -j N`, or any runs.
 *
 * store_merge appends every run of the inputs (whatever its status) with its metrics, requests,
 * time series and points rows to the output, created if missing, in one transaction: all the
 * inputs' runs go in, or nothing does. Runs already in the output keep their ids; the merged runs
 * get new ids, max(id) + 1 onwards, in this order:
 *
 *     runs outside any sweep first, by input (in the order given), then their id in it;
 *     then sweep runs by (sweep name, point, seed_index), then input, then id
 *     (names compared as bytes)
 *
 * and their rows are written run by run in that order. So merging the shards of a sweep into a
 * new file gives the same rows, in the same order and with the same run ids, as the unsharded
 * sweep writes into a new file, whatever the shard count or order of inputs; only
 * runs.started_at and runs.ended_at (wall-clock times) differ.
 *
 * Refused, with nothing written (STORE_MERGE_BAD_INPUT):
 *   - an input that cannot be opened read-only, is not SQLite, or is not a results database
 *     (no table `runs`), or whose schema version is newer than this build's;
 *   - a table whose columns differ from the output's (conflicting schemas); a database from
 *     before the points table (schema 1) is fine and has no sweep runs;
 *   - the output given as an input, or an input given twice;
 *   - two runs that ended 'ok' for the same (sweep, point, seed_index), among the inputs or
 *     against the output (the same shard merged twice); failed runs may repeat.
 *
 * Ownership: nothing is kept; the inputs are only read.
 */
#ifndef FS_MERGE_H
#define FS_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "fs_error.h"
#include "store.h"

typedef struct store_merge_input {
    const char *path;
    /* NULL: the file's own points rows place its runs. Non-NULL: the file holds at most one run,
     * and it is this replication of a sweep point (its own points rows are ignored): how
     * `fleetsim sweep` merges the file each child process wrote. */
    const store_point *point;
} store_merge_input;

typedef struct store_merge_result {
    size_t runs;                /* runs merged */
    int64_t first_id, last_id;  /* their new ids (0 when none) */
} store_merge_result;

enum {
    STORE_MERGE_OK = 0,
    STORE_MERGE_BAD_INPUT = -1,  /* an input or the output is not what it should be */
    STORE_MERGE_FAILED = -2,     /* reading or writing failed part-way (nothing was committed) */
};

/* Merge nin inputs into the database at out. Returns a STORE_MERGE_* code; err filled on error. */
int store_merge(const char *out, const store_merge_input *in, size_t nin, store_merge_result *res, fs_error *err);

#endif
