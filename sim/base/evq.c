#include "evq.h"

#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

/*
 * Layout: a two-tier calendar queue (a simplified ladder queue).
 *
 *   near      a 4-ary min-heap of the keys with time < near_end: small, stays in cache;
 *   buckets   the current "epoch" [base, base + nb * width): unsorted arrays, one per
 *             width-wide slice of time; bucket j holds times in [base + j*width, +width);
 *   overflow  an unsorted array of keys with time >= epoch end.
 *
 * Invariants: buckets before `cursor` are empty; near_end = base + cursor * width; every key in
 * a bucket or in overflow is >= near_end, every key in near is < near_end. So when near runs
 * dry, the next bucket holds the smallest keys; it is heapified into near. When the epoch runs
 * out, a new one is laid over the overflow, with about EVQ_PER_BUCKET keys a bucket over the
 * middle of the pending times; keys past the epoch's end stay in the overflow.
 *
 * Every comparison uses the whole (time, tag) key, so the order is exactly (time, seq). Pushes
 * are O(1) appends (mostly into memory the core can fetch in parallel) and pops are O(log4 k)
 * in a heap of k ~ EVQ_PER_BUCKET; a heap of 10^6 keys instead costs a chain of cache misses
 * per pop. When many keys share one bucket (a burst at one instant, or a far outlier that
 * stretched the width) near simply grows: the queue degrades to a plain heap, never to wrong
 * order.
 */

#define EVQ_SLOT_BITS 26
#define EVQ_SLOT_MASK ((UINT64_C(1) << EVQ_SLOT_BITS) - 1)
#define EVQ_LATE (UINT64_C(1) << 63) /* the class bit of a tag */
#define EVQ_SEQ_LIMIT (UINT64_C(1) << (63 - EVQ_SLOT_BITS))
#define EVQ_PER_BUCKET 4
#define EVQ_MAX_BUCKETS (1u << 22)

__extension__ typedef unsigned __int128 key128;

/* A pool record. fn == NULL marks a free record or a tombstone. `gen` counts the record's uses,
 * so a handle (gen << 32 | slot) from an earlier use does not match; it is independent of seq,
 * so handles survive renumbering. A slot returns to the free stack only when its key leaves
 * the queue, tombstone or not. */
typedef struct record {
    uint32_t gen;
    evq_fn fn;
    void *obj;
    uint64_t arg;
} record;

typedef struct keyvec {
    key128 *v;
    size_t n, cap;
} keyvec;

/* A bucket: 16 bytes, so the bucket array of a 10^6-event queue stays small. */
typedef struct bucket {
    key128 *v;
    uint32_t n, cap;
} bucket;

struct evq {
    keyvec near;       /* 4-ary heap */
    bucket *buckets;   /* nb of them in use, nb_cap allocated (arrays kept across epochs) */
    size_t nb, nb_cap, cursor;
    keyvec overflow;
    fs_time base, width, near_end, epoch_end;
    fs_time over_min, over_max;

    record *pool;
    uint32_t *free_slots; /* stack of free pool indices */
    size_t nfree, pool_cap;
    uint64_t next_seq;
    size_t live; /* pending minus tombstones */
};

static inline key128 make_key(fs_time t, uint64_t tag) { return ((key128)(uint64_t)t << 64) | tag; }
static inline fs_time key_time(key128 k) { return (fs_time)(uint64_t)(k >> 64); }
static inline uint64_t key_slot(key128 k) { return (uint64_t)k & EVQ_SLOT_MASK; }

static inline void vec_push(keyvec *v, key128 k)
{
    if (__builtin_expect(v->n == v->cap, 0)) v->v = fs_xgrow(v->v, &v->cap, v->n + 1, sizeof *v->v);
    v->v[v->n++] = k;
}

static void bucket_grow(bucket *b)
{
    size_t cap = b->cap;
    if (cap >= UINT32_MAX / 2) fs_panic(__FILE__, __LINE__, "event queue: bucket overflow");
    b->v = fs_xgrow(b->v, &cap, (size_t)b->n + 1, sizeof *b->v);
    b->cap = (uint32_t)cap;
}

static inline void bucket_push(bucket *b, key128 k)
{
    if (__builtin_expect(b->n == b->cap, 0)) bucket_grow(b);
    b->v[b->n++] = k;
}

evq *evq_new(void)
{
    evq *q = fs_xcalloc(1, sizeof *q);
    q->epoch_end = 0; /* no epoch yet: every push goes to overflow until the first pop */
    return q;
}

void evq_free(evq *q)
{
    if (!q) return;
    free(q->near.v);
    for (size_t i = 0; i < q->nb_cap; i++) free(q->buckets[i].v);
    free(q->buckets);
    free(q->overflow.v);
    free(q->pool);
    free(q->free_slots);
    free(q);
}

/* ---- the near heap ---- */

static void heap_up(key128 *h, size_t i, key128 k)
{
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (h[parent] <= k) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = k;
}

/* Place k at hole i and sift it down within n keys. */
static void heap_down(key128 *h, size_t n, size_t i, key128 k)
{
    for (;;) {
        size_t c = i * 4 + 1, m;
        if (c + 4 <= n) {
            /* a tournament: the selections compile to conditional moves */
            size_t a = c + (h[c + 1] < h[c]);
            size_t b = c + 2 + (h[c + 3] < h[c + 2]);
            m = h[b] < h[a] ? b : a;
        } else if (c < n) {
            m = c;
            for (size_t j = c + 1; j < n; j++)
                if (h[j] < h[m]) m = j;
        } else {
            break;
        }
        if (k <= h[m]) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = k;
}

static void heap_remove_top(keyvec *v)
{
    size_t n = --v->n;
    if (n > 0) heap_down(v->v, n, 0, v->v[n]);
}

static void heapify(keyvec *v)
{
    if (v->n < 2) return;
    for (size_t i = (v->n - 2) / 4 + 1; i-- > 0;) heap_down(v->v, v->n, i, v->v[i]);
}

/* ---- epochs ---- */

static int cmp_time(const void *a, const void *b)
{
    fs_time x = *(const fs_time *)a, y = *(const fs_time *)b;
    return (x > y) - (x < y);
}

/* Bucket width for n pending keys: from the spread of the middle 80% of a sample of their times
 * (64 keys evenly spaced in the array: deterministic), so that a few far-future events do not
 * stretch every bucket; or from min..max when that spread is 0 or there are few keys. */
static uint64_t epoch_width(const evq *q, size_t n, size_t nb)
{
    uint64_t span = (uint64_t)q->over_max - (uint64_t)q->over_min + 1;
    uint64_t width = span / nb + (span % nb != 0);
    if (n < 256) return width;
    fs_time t[64];
    for (size_t i = 0; i < 64; i++) t[i] = key_time(q->overflow.v[i * (n / 64)]);
    qsort(t, 64, sizeof *t, cmp_time);
    uint64_t middle = (uint64_t)(t[57] - t[6]); /* about the 10th to 90th percentile */
    uint64_t w = middle / (nb * 8 / 10);
    return w > 0 && w < width ? w : width;
}

/* Lay a new epoch over the overflow keys (near and all buckets are empty). Keys past the epoch
 * (rare outliers) stay in the overflow for the next one. */
static void new_epoch(evq *q)
{
    size_t n = q->overflow.n;
    size_t nb = n / EVQ_PER_BUCKET;
    if (nb < 1) nb = 1;
    if (nb > EVQ_MAX_BUCKETS) nb = EVQ_MAX_BUCKETS;
    uint64_t width = epoch_width(q, n, nb);
    uint64_t span = (uint64_t)q->over_max - (uint64_t)q->over_min + 1, need = span / width + (span % width != 0);
    size_t cap = 4 * nb > EVQ_MAX_BUCKETS ? EVQ_MAX_BUCKETS : 4 * nb; /* the bucket array stays O(n) */
    nb = need < cap ? (size_t)need : cap;
    if (nb > q->nb_cap) {
        q->buckets = fs_xrealloc(q->buckets, nb * sizeof *q->buckets);
        memset(q->buckets + q->nb_cap, 0, (nb - q->nb_cap) * sizeof *q->buckets);
        q->nb_cap = nb;
    }
    q->nb = nb;
    q->cursor = 0;
    q->base = q->over_min;
    q->width = (fs_time)width;
    q->near_end = q->base;
    /* base + nb * width may pass FS_TIME_MAX only for times near the end of int64 */
    uint64_t end = (uint64_t)q->base + width * nb;
    q->epoch_end = end > (uint64_t)FS_TIME_MAX ? FS_TIME_MAX : (fs_time)end;
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        key128 k = q->overflow.v[i];
        fs_time t = key_time(k);
        if (t >= q->epoch_end) { /* past this epoch: stays, in order of arrival */
            if (keep == 0 || t < q->over_min) q->over_min = t;
            q->overflow.v[keep++] = k;
            continue;
        }
        bucket_push(&q->buckets[(uint64_t)(t - q->base) / width], k);
    }
    q->overflow.n = keep; /* over_max is unchanged: the largest key stays when any does */
}

/* Make near hold the smallest keys, if any are pending. Returns false when empty. */
static bool refill(evq *q)
{
    while (q->near.n == 0) {
        if (q->cursor < q->nb) {
            bucket *b = &q->buckets[q->cursor++];
            q->near_end += q->width;
            if (b->n == 0) continue;
            /* swap arrays when the heap's is no larger: the bucket's keys become the heap, the
             * old heap array the bucket's spare capacity; else copy */
            if (q->near.cap <= b->cap) {
                key128 *v = q->near.v;
                uint32_t cap = (uint32_t)q->near.cap;
                q->near.v = b->v;
                q->near.cap = b->cap;
                q->near.n = b->n;
                b->v = v;
                b->cap = cap;
            } else {
                memcpy(q->near.v, b->v, b->n * sizeof *b->v);
                q->near.n = b->n;
            }
            b->n = 0;
            heapify(&q->near);
            /* these records are read soon and sit at random places in the pool */
            for (size_t i = 0; i < q->near.n; i++)
                __builtin_prefetch(&q->pool[key_slot(q->near.v[i])]);
        } else if (q->overflow.n > 0) {
            new_epoch(q);
        } else {
            return false;
        }
    }
    return true;
}

/* ---- the pool ---- */

/* Grow the pool by doubling; new records go onto the free stack highest-first, so slots are
 * handed out in increasing order (independent of anything but counts). */
static void grow_pool(evq *q)
{
    size_t old = q->pool_cap, cap = old ? old * 2 : 256;
    if (cap > EVQ_SLOT_MASK + 1) cap = EVQ_SLOT_MASK + 1;
    if (cap == old)
        fs_panic(__FILE__, __LINE__, "event queue: more than %llu events pending",
                 (unsigned long long)EVQ_SLOT_MASK + 1);
    q->pool = fs_xrealloc(q->pool, cap * sizeof *q->pool);
    q->free_slots = fs_xrealloc(q->free_slots, cap * sizeof *q->free_slots);
    memset(q->pool + old, 0, (cap - old) * sizeof *q->pool);
    for (size_t i = cap; i > old; i--) q->free_slots[q->nfree++] = (uint32_t)(i - 1);
    q->pool_cap = cap;
}

static void place(evq *q, key128 k);

static int cmp_key(const void *a, const void *b)
{
    key128 x = *(const key128 *)a, y = *(const key128 *)b;
    return (x > y) - (x < y);
}

/* Rare path: seq ran out of bits. Gather every pending key, sort, and give them seqs 0..n-1 in
 * that order; every later push gets a larger seq, so the (time, seq) order of all events,
 * pending and future, is unchanged. */
static void renumber(evq *q)
{
    keyvec all = {0};
    for (size_t i = 0; i < q->near.n; i++) vec_push(&all, q->near.v[i]);
    for (size_t b = q->cursor; b < q->nb; b++)
        for (size_t i = 0; i < q->buckets[b].n; i++) vec_push(&all, q->buckets[b].v[i]);
    for (size_t i = 0; i < q->overflow.n; i++) vec_push(&all, q->overflow.v[i]);
    q->near.n = q->overflow.n = 0;
    for (size_t b = 0; b < q->nb; b++) q->buckets[b].n = 0;
    q->nb = q->cursor = 0;
    q->epoch_end = q->near_end = 0;
    qsort(all.v, all.n, sizeof *all.v, cmp_key);
    for (size_t i = 0; i < all.n; i++) {
        uint64_t slot = key_slot(all.v[i]), late = (uint64_t)all.v[i] & EVQ_LATE;
        place(q, make_key(key_time(all.v[i]), late | ((uint64_t)i << EVQ_SLOT_BITS) | slot));
    }
    free(all.v);
    q->next_seq = all.n;
}

/* ---- the API ---- */

static void place(evq *q, key128 k)
{
    fs_time t = key_time(k);
    if (t < q->near_end) {
        vec_push(&q->near, k);
        heap_up(q->near.v, q->near.n - 1, k);
    } else if (t < q->epoch_end) {
        bucket_push(&q->buckets[(uint64_t)(t - q->base) / (uint64_t)q->width], k);
    } else {
        if (q->overflow.n == 0 || t < q->over_min) q->over_min = t;
        if (q->overflow.n == 0 || t > q->over_max) q->over_max = t;
        vec_push(&q->overflow, k);
    }
}

static inline evq_handle push(evq *q, fs_time t, evq_fn fn, void *obj, uint64_t arg, uint64_t late)
{
    FS_ASSERT(t >= 0 && fn != NULL);
    if (__builtin_expect(q->nfree == 0, 0)) grow_pool(q);
    if (__builtin_expect(q->next_seq == EVQ_SEQ_LIMIT, 0)) renumber(q);

    uint32_t slot = q->free_slots[--q->nfree];
    uint64_t tag = late | (q->next_seq++ << EVQ_SLOT_BITS) | slot;
    record *r = &q->pool[slot];
    r->gen++;
    r->fn = fn;
    r->obj = obj;
    r->arg = arg;
    place(q, make_key(t, tag));
    q->live++;
    return (uint64_t)r->gen << 32 | slot;
}

evq_handle evq_push(evq *q, fs_time t, evq_fn fn, void *obj, uint64_t arg) { return push(q, t, fn, obj, arg, 0); }

evq_handle evq_push_late(evq *q, fs_time t, evq_fn fn, void *obj, uint64_t arg)
{
    return push(q, t, fn, obj, arg, EVQ_LATE);
}

bool evq_cancel(evq *q, evq_handle h)
{
    uint64_t slot = h & 0xffffffffu;
    if (slot >= q->pool_cap) return false;
    record *r = &q->pool[slot];
    if (r->fn == NULL || r->gen != (uint32_t)(h >> 32)) return false;
    r->fn = NULL; /* tombstone: the key is dropped when it reaches the top */
    q->live--;
    return true;
}

/* Drop tombstones from the top; true when a live event is on top. */
static bool settle(evq *q)
{
    for (;;) {
        if (!refill(q)) return false;
        uint64_t slot = key_slot(q->near.v[0]);
        if (q->pool[slot].fn != NULL) return true;
        heap_remove_top(&q->near);
        q->free_slots[q->nfree++] = (uint32_t)slot;
    }
}

bool evq_pop(evq *q, evq_event *out)
{
    if (!settle(q)) return false;
    key128 k = q->near.v[0];
    uint64_t slot = key_slot(k);
    record *r = &q->pool[slot];
    heap_remove_top(&q->near);
    out->time = key_time(k);
    out->fn = r->fn;
    out->obj = r->obj;
    out->arg = r->arg;
    r->fn = NULL;
    q->free_slots[q->nfree++] = (uint32_t)slot;
    q->live--;
    return true;
}

fs_time evq_peek_time(evq *q)
{
    return settle(q) ? key_time(q->near.v[0]) : FS_TIME_MAX;
}

size_t evq_size(const evq *q) { return q->live; }

void evq_test_set_next_seq(evq *q, uint64_t seq)
{
    FS_ASSERT(seq >= q->next_seq && seq <= EVQ_SEQ_LIMIT);
    q->next_seq = seq;
}
