/*
 * evq.h — the discrete-event queue: pending events ordered by (time, seq).
 *
 * Order. Events pop in increasing time; events at the same time pop in the order they were
 * pushed (seq is an insertion counter), so a run never depends on pointers or heap layout.
 *
 * Structure. A 4-ary min-heap of 16-byte keys (time, tag) over a pool of event records; tag =
 * seq << EVQ_SLOT_BITS | slot, so comparing tags compares seqs (every seq is unique) and one
 * 128-bit comparison orders two keys. A 4-ary heap keeps the four children of a node in one
 * cache line; push is O(log4 n) (O(1) on average for random times), pop O(log4 n). A radix or
 * ladder queue would be faster at 10^6 pending events but needs more care to keep the exact
 * (time, seq) order; tests/bench/bench_evq.c measures the hold model this was chosen on.
 *
 * Records come from a pool with a free list: pushing allocates nothing once the pool has grown
 * to the largest number of pending events. Cancellation leaves a tombstone (redis' ae.c does the
 * same with timers): the key stays in the heap and is skipped when it reaches the top.
 *
 * Ownership. The queue owns its arrays; `obj` pointers are the caller's and are never
 * dereferenced here. An evq_handle stays valid until its event pops or is cancelled; using it
 * after that is harmless (evq_cancel returns false, unless 2^32 later uses of the same pool
 * record brought its use counter round to the same value).
 *
 * Limits. 2^26 events pending at once (a bug in the caller if ever reached: the queue panics).
 * seq has 38 bits; when it runs out the pending events are renumbered in order, a rare O(n log n)
 * step that keeps the order exact.
 */
#ifndef FS_EVQ_H
#define FS_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_time.h"

typedef struct evq evq;
typedef uint64_t evq_handle;

/* An event's action: ctx is the queue owner's context (the simulation), obj and arg are what
 * the pusher gave. */
typedef void (*evq_fn)(void *ctx, void *obj, uint64_t arg);

typedef struct evq_event {
    fs_time time;
    evq_fn fn;
    void *obj;
    uint64_t arg;
} evq_event;

evq *evq_new(void);
void evq_free(evq *q);

/* Schedule fn(ctx, obj, arg) at time t (t >= 0). Returns a handle for evq_cancel. */
evq_handle evq_push(evq *q, fs_time t, evq_fn fn, void *obj, uint64_t arg);

/* Tombstone a pending event. Returns false when it already popped or was cancelled. */
bool evq_cancel(evq *q, evq_handle h);

/* Remove the earliest live event into *out; false when none is pending. */
bool evq_pop(evq *q, evq_event *out);

/* Time of the earliest live event, or FS_TIME_MAX when none. */
fs_time evq_peek_time(evq *q);

/* Live events pending (tombstones excluded). */
size_t evq_size(const evq *q);

/* For tests of the renumbering path only: make the next push use this seq. It must not be
 * lower than any seq already used (the queue checks). */
void evq_test_set_next_seq(evq *q, uint64_t seq);

#endif
