#include "kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "fs_error.h"

void kv_init(kv_pool *kv, int32_t nblocks, bool caching)
{
    memset(kv, 0, sizeof *kv);
    kv->n = nblocks;
    kv->caching = caching;
    kv->blocks = fs_xcalloc((size_t)nblocks, sizeof *kv->blocks);
    for (int32_t i = 0; i < nblocks; i++) {
        kv->blocks[i].prev = i - 1;
        kv->blocks[i].next = i + 1 < nblocks ? i + 1 : -1;
    }
    kv->head = nblocks ? 0 : -1;
    kv->tail = nblocks - 1;
    kv->nfree = nblocks;
    if (caching) {
        uint32_t cap = 16;
        while (cap < 2u * (uint32_t)nblocks) cap *= 2;
        kv->keys = fs_xcalloc(cap, sizeof *kv->keys);
        kv->vals = fs_xcalloc(cap, sizeof *kv->vals);
        kv->mask = cap - 1;
    }
}

void kv_fini(kv_pool *kv)
{
    free(kv->blocks);
    free(kv->keys);
    free(kv->vals);
    memset(kv, 0, sizeof *kv);
}

static inline uint32_t slot_of(const kv_pool *kv, uint64_t h) { return (uint32_t)(h ^ (h >> 29)) & kv->mask; }

int32_t kv_lookup(const kv_pool *kv, uint64_t hash)
{
    if (!kv->caching || hash == 0) return -1;
    for (uint32_t i = slot_of(kv, hash);; i = (i + 1) & kv->mask) {
        if (kv->keys[i] == hash) return kv->vals[i];
        if (kv->keys[i] == 0) return -1;
    }
}

/* Remove a key with backward-shift deletion (no tombstones, so lookups stay short). */
static void table_remove(kv_pool *kv, uint64_t hash)
{
    uint32_t i = slot_of(kv, hash);
    while (kv->keys[i] != hash) {
        FS_ASSERT(kv->keys[i] != 0);
        i = (i + 1) & kv->mask;
    }
    for (;;) {
        kv->keys[i] = 0;
        uint32_t j = i;
        for (;;) {
            j = (j + 1) & kv->mask;
            if (kv->keys[j] == 0) return;
            uint32_t home = slot_of(kv, kv->keys[j]);
            /* can the key at j move back into the hole at i? (its home is not in (i, j]) */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) break;
        }
        kv->keys[i] = kv->keys[j];
        kv->vals[i] = kv->vals[j];
        i = j;
    }
}

void kv_register(kv_pool *kv, int32_t block, uint64_t hash)
{
    if (!kv->caching || hash == 0 || kv->blocks[block].hash != 0) return;
    uint32_t i = slot_of(kv, hash);
    while (kv->keys[i] != 0) {
        if (kv->keys[i] == hash) return; /* another block holds this content already */
        i = (i + 1) & kv->mask;
    }
    kv->keys[i] = hash;
    kv->vals[i] = block;
    kv->blocks[block].hash = hash;
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
    int32_t b = kv->head;
    FS_ASSERT(b >= 0);
    unlink_free(kv, b);
    kv_block *x = &kv->blocks[b];
    if (x->hash) {
        table_remove(kv, x->hash);
        x->hash = 0;
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
    kv->hits_blocks++;
}
