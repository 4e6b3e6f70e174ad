#include "kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

void kv_init(kv_pool *kv, int32_t nblocks, bool caching)
{
    memset(kv, 0, sizeof *kv);
    kv->n = kv->nfree = nblocks;
    kv->caching = caching;
    kv->cap = 64;
    kv->ring = fs_xmalloc(kv->cap * sizeof *kv->ring);
    if (nblocks > 0) {
        kv->ring[0] = (kv_entry){-1, (uint32_t)nblocks}; /* never-used blocks, in id order */
        kv->len = 1;
    }
}

void kv_fini(kv_pool *kv)
{
    free(kv->blocks);
    free(kv->spare);
    free(kv->ring);
    free(kv->keys);
    free(kv->vals);
    memset(kv, 0, sizeof *kv);
}

/* ---- the shared-content table ---- */

static inline uint32_t slot_of(uint64_t h, uint32_t mask) { return (uint32_t)(h ^ (h >> 29)) & mask; }

int32_t kv_lookup(const kv_pool *kv, uint64_t hash)
{
    if (kv->tcount == 0 || hash == 0) return -1;
    uint32_t mask = kv->tcap - 1;
    for (uint32_t i = slot_of(hash, mask);; i = (i + 1) & mask) {
        if (kv->keys[i] == hash) return kv->vals[i];
        if (kv->keys[i] == 0) return -1;
    }
}

static void table_put(uint64_t *keys, int32_t *vals, uint32_t mask, uint64_t hash, int32_t id)
{
    uint32_t i = slot_of(hash, mask);
    while (keys[i] != 0) i = (i + 1) & mask;
    keys[i] = hash;
    vals[i] = id;
}

static void table_grow(kv_pool *kv)
{
    uint32_t cap = kv->tcap ? kv->tcap * 2 : 64;
    uint64_t *keys = fs_xcalloc(cap, sizeof *keys);
    int32_t *vals = fs_xcalloc(cap, sizeof *vals);
    for (uint32_t i = 0; i < kv->tcap; i++)
        if (kv->keys[i]) table_put(keys, vals, cap - 1, kv->keys[i], kv->vals[i]);
    free(kv->keys);
    free(kv->vals);
    kv->keys = keys;
    kv->vals = vals;
    kv->tcap = cap;
}

/* Remove a key with backward-shift deletion (no tombstones, so lookups stay short). */
static void table_remove(kv_pool *kv, uint64_t hash)
{
    uint32_t mask = kv->tcap - 1, i = slot_of(hash, mask);
    while (kv->keys[i] != hash) {
        FS_ASSERT(kv->keys[i] != 0);
        i = (i + 1) & mask;
    }
    kv->tcount--;
    for (;;) {
        kv->keys[i] = 0;
        uint32_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            if (kv->keys[j] == 0) return;
            uint32_t home = slot_of(kv->keys[j], mask);
            /* can the key at j move back into the hole at i? (its home is not in (i, j]) */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) break;
        }
        kv->keys[i] = kv->keys[j];
        kv->vals[i] = kv->vals[j];
        i = j;
    }
}

/* ---- ids ---- */

static int32_t new_id(kv_pool *kv)
{
    int32_t id;
    if (kv->nspare > 0) {
        id = kv->spare[--kv->nspare];
    } else {
        if (kv->nids == kv->ids_cap) {
            size_t cap = (size_t)kv->ids_cap;
            kv->blocks = fs_xgrow(kv->blocks, &cap, (size_t)kv->nids + 1, sizeof *kv->blocks);
            kv->ids_cap = (int32_t)cap;
        }
        id = kv->nids++;
        memset(&kv->blocks[id], 0, sizeof kv->blocks[id]);
    }
    kv->blocks[id].ref = 1;
    return id;
}

/* The id's block left the cache (handed out as anonymous, or its content died). */
static void recycle(kv_pool *kv, int32_t id)
{
    kv_block *b = &kv->blocks[id];
    if (b->shared) table_remove(kv, b->hash);
    b->hash = 0;
    b->shared = false;
    b->ref = 0;
    b->gen++;  /* handles to it stop matching */
    b->qgen++; /* so do queue entries */
    if (kv->nspare == kv->spare_cap) {
        size_t cap = (size_t)kv->spare_cap;
        kv->spare = fs_xgrow(kv->spare, &cap, (size_t)kv->nspare + 1, sizeof *kv->spare);
        kv->spare_cap = (int32_t)cap;
    }
    kv->spare[kv->nspare++] = id;
}

/* ---- the free queue ---- */

static inline bool entry_live(const kv_pool *kv, kv_entry e)
{
    return e.id < 0 || (kv->blocks[e.id].ref == 0 && kv->blocks[e.id].qgen == e.n);
}

/* Rare path: the ring is full. Drop stale entries; grow if that is not enough. */
static void ring_make_room(kv_pool *kv)
{
    size_t live = 0;
    for (size_t i = 0; i < kv->len; i++) live += entry_live(kv, kv->ring[(kv->head + i) % kv->cap]);
    size_t cap = kv->cap;
    while (live + 1 > cap / 2) cap *= 2;
    kv_entry *r = fs_xmalloc(cap * sizeof *r);
    size_t n = 0;
    for (size_t i = 0; i < kv->len; i++) {
        kv_entry e = kv->ring[(kv->head + i) % kv->cap];
        if (!entry_live(kv, e)) continue;
        if (e.id < 0 && n > 0 && r[n - 1].id < 0) r[n - 1].n += e.n;
        else r[n++] = e;
    }
    free(kv->ring);
    kv->ring = r;
    kv->cap = cap;
    kv->head = 0;
    kv->len = n;
}

static void ring_push(kv_pool *kv, kv_entry e)
{
    if (kv->len > 0) {
        kv_entry *tail = &kv->ring[(kv->head + kv->len - 1) % kv->cap];
        if (e.id < 0 && tail->id < 0) {
            tail->n += e.n;
            return;
        }
    }
    if (kv->len == kv->cap) ring_make_room(kv);
    kv->ring[(kv->head + kv->len) % kv->cap] = e;
    kv->len++;
}

/* Hand out k blocks from the head: anonymous runs shrink, identified blocks are evicted. */
static void take(kv_pool *kv, int32_t k)
{
    while (k > 0) {
        FS_ASSERT(kv->len > 0);
        kv_entry *e = &kv->ring[kv->head];
        if (e->id < 0) {
            uint32_t t = e->n < (uint32_t)k ? e->n : (uint32_t)k;
            e->n -= t;
            k -= (int32_t)t;
            if (e->n > 0) break;
        } else if (entry_live(kv, *e)) {
            if (kv->blocks[e->id].hash) kv->evictions++;
            recycle(kv, e->id);
            k--;
        }
        kv->head = (kv->head + 1) % kv->cap;
        kv->len--;
    }
}

void kv_take(kv_pool *kv, int32_t k)
{
    FS_ASSERT(k <= kv->nfree);
    kv->nfree -= k;
    take(kv, k);
}

int32_t kv_take_id(kv_pool *kv)
{
    kv_take(kv, 1);
    return new_id(kv);
}

void kv_put(kv_pool *kv, int32_t k)
{
    if (k <= 0) return;
    kv->nfree += k;
    ring_push(kv, (kv_entry){-1, (uint32_t)k});
}

void kv_put_id(kv_pool *kv, int32_t id)
{
    kv_block *b = &kv->blocks[id];
    FS_ASSERT(b->ref > 0);
    if (--b->ref > 0) return;
    b->qgen++;
    kv->nfree++;
    ring_push(kv, (kv_entry){id, b->qgen});
}

void kv_put_id_dead(kv_pool *kv, int32_t id)
{
    kv_block *b = &kv->blocks[id];
    FS_ASSERT(b->ref > 0);
    if (b->ref > 1 || b->shared) { /* others may still use or find it */
        kv_put_id(kv, id);
        return;
    }
    recycle(kv, id);
    kv_put(kv, 1);
}

int32_t kv_name(kv_pool *kv, uint64_t hash)
{
    int32_t id = new_id(kv);
    kv->blocks[id].hash = kv->caching ? hash : 0;
    return id;
}

void kv_register(kv_pool *kv, int32_t id, uint64_t hash, bool shared)
{
    kv_block *b = &kv->blocks[id];
    if (!kv->caching || hash == 0 || b->hash != 0) return;
    if (shared) {
        if (kv_lookup(kv, hash) >= 0) return; /* another block holds this content already */
        if (2 * (kv->tcount + 1) > kv->tcap) table_grow(kv);
        table_put(kv->keys, kv->vals, kv->tcap - 1, hash, id);
        kv->tcount++;
        b->shared = true;
    }
    b->hash = hash;
}

void kv_touch(kv_pool *kv, int32_t id)
{
    kv_block *b = &kv->blocks[id];
    if (b->ref == 0) kv->nfree--; /* its queue entry goes stale */
    b->ref++;
}
