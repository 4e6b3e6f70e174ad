#include "kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

void kv_init(kv_pool *kv, int32_t nblocks, bool caching)
{
    memset(kv, 0, sizeof *kv);
    kv->n = nblocks;
    kv->caching = caching;
    kv->blocks = fs_xcalloc((size_t)nblocks, sizeof *kv->blocks); /* pages committed when first used */
    kv->head = kv->tail = -1;
    kv->nfree = nblocks;
}

void kv_fini(kv_pool *kv)
{
    free(kv->blocks);
    free(kv->keys);
    free(kv->vals);
    memset(kv, 0, sizeof *kv);
}

static inline uint32_t slot_of(uint64_t h, uint32_t mask) { return (uint32_t)(h ^ (h >> 29)) & mask; }

int32_t kv_lookup(const kv_pool *kv, uint64_t hash)
{
    if (kv->count == 0 || hash == 0) return -1;
    uint32_t mask = kv->cap - 1;
    for (uint32_t i = slot_of(hash, mask);; i = (i + 1) & mask) {
        if (kv->keys[i] == hash) return kv->vals[i];
        if (kv->keys[i] == 0) return -1;
    }
}

static void table_put(uint64_t *keys, int32_t *vals, uint32_t mask, uint64_t hash, int32_t block)
{
    uint32_t i = slot_of(hash, mask);
    while (keys[i] != 0) i = (i + 1) & mask;
    keys[i] = hash;
    vals[i] = block;
}

/* Keep the load at most 1/2. */
static void table_grow(kv_pool *kv)
{
    uint32_t cap = kv->cap ? kv->cap * 2 : 64;
    uint64_t *keys = fs_xcalloc(cap, sizeof *keys);
    int32_t *vals = fs_xcalloc(cap, sizeof *vals);
    for (uint32_t i = 0; i < kv->cap; i++)
        if (kv->keys[i]) table_put(keys, vals, cap - 1, kv->keys[i], kv->vals[i]);
    free(kv->keys);
    free(kv->vals);
    kv->keys = keys;
    kv->vals = vals;
    kv->cap = cap;
}

/* Remove a key with backward-shift deletion (no tombstones, so lookups stay short). */
static void table_remove(kv_pool *kv, uint64_t hash)
{
    uint32_t mask = kv->cap - 1, i = slot_of(hash, mask);
    while (kv->keys[i] != hash) {
        FS_ASSERT(kv->keys[i] != 0);
        i = (i + 1) & mask;
    }
    kv->count--;
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

void kv_register(kv_pool *kv, int32_t block, uint64_t hash, bool shared)
{
    kv_block *x = &kv->blocks[block];
    if (!kv->caching || hash == 0 || x->hash != 0) return;
    if (shared) {
        if (kv_lookup(kv, hash) >= 0) return; /* another block holds this content already */
        if (2 * (kv->count + 1) > kv->cap) table_grow(kv);
        table_put(kv->keys, kv->vals, kv->cap - 1, hash, block);
        kv->count++;
        x->shared = 1;
    }
    x->hash = hash;
}

static void unlink_free(kv_pool *kv, int32_t b)
{
    kv_block *x = &kv->blocks[b];
    if (x->prev >= 0) kv->blocks[x->prev].next = x->next;
    else kv->head = x->next;
    if (x->next >= 0) kv->blocks[x->next].prev = x->prev;
    else kv->tail = x->prev;
    x->prev = x->next = -1;
    kv->nfree--;
}

int32_t kv_alloc(kv_pool *kv)
{
    int32_t b;
    if (kv->fresh < kv->n) { /* never-used blocks sit at the head of vLLM's initial queue */
        b = kv->fresh++;
        kv->nfree--;
    } else {
        b = kv->head;
        FS_ASSERT(b >= 0);
        unlink_free(kv, b);
    }
    kv_block *x = &kv->blocks[b];
    if (x->hash) {
        if (x->shared) table_remove(kv, x->hash);
        x->hash = 0;
        x->shared = 0;
        kv->evictions++;
    }
    x->ref = 1;
    return b;
}

void kv_release(kv_pool *kv, int32_t b)
{
    kv_block *x = &kv->blocks[b];
    FS_ASSERT(x->ref > 0);
    if (--x->ref > 0) return;
    x->next = -1;
    x->prev = kv->tail;
    if (kv->tail >= 0) kv->blocks[kv->tail].next = b;
    else kv->head = b;
    kv->tail = b;
    kv->nfree++;
}

void kv_touch(kv_pool *kv, int32_t b)
{
    kv_block *x = &kv->blocks[b];
    if (x->ref == 0) unlink_free(kv, b);
    x->ref++;
}
