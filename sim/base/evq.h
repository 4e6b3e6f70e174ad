/*
 * evq.h — the discrete-event queue: pending events ordered by (time, seq).
 *
 * Order. Events pop in increasing time; at the same time, events pushed with evq_push_late come
 * after all others, and within each class events pop in the order they were pushed (seq is an
 * insertion counter), so a run never depends on pointers or heap layout.
 *
 * Structure. Keys are 128-bit (time, tag) with tag = late << 63 | seq << EVQ_SLOT_BITS | slot,
 * so comparing tags compares (class, seq) (every seq is unique) and one comparison orders two
 * keys. They live in a
 * two-tier calendar queue (evq.c): a small 4-ary heap for the current time slice, unsorted
 * buckets for the rest of the current epoch, and an overflow beyond it. Push is an O(1) append
 * (or an O(log k) heap insert into the current slice of k keys); pop is O(log k) plus, amortised,
 * the moves between tiers (a handful per key when pending times are spread smoothly; far outliers
 * wait in the overflow and are rescanned once per epoch). A plain heap of 10^6 keys costs a chain of
 * cache misses per pop; tests/bench/bench_evq.c measures the hold model this was chosen on, and
 * tests/test_evq.c checks the exact order against a reference, outliers and ties included.
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
/* The same, to pop after every evq_push event of the same time (a replica's wake-up, which
 * must see whatever else happens at that instant, however the events were pushed). */
evq_handle evq_push_late(evq *q, fs_time t, evq_fn fn, void *obj, uint64_t arg);

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
