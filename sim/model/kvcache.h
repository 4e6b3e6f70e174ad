/*
 * kvcache.h — a replica's paged KV cache: fixed-size blocks, a free queue, and prefix caching.
 *
 * Semantics follow vLLM V1's block pool. Blocks are handed out from the head of the free queue
 * (least recently freed first). A block whose tokens are all computed may be registered under the
 * hash of its content (a chained hash: equal hashes mean equal prefixes); when its last user
 * frees it, it joins the tail of the free queue but keeps its hash, so a later request with the
 * same prefix can take it back (a prefix-cache hit) until it is handed out again and its hash is
 * evicted. A request frees its blocks in reverse order, so its tail blocks are evicted first.
 *
 * Costs: every operation is O(1) (open-addressing hash table with backward-shift deletion,
 * intrusive doubly linked free queue); no allocation after kv_init.
 *
 * Ownership: the pool owns its arrays (kv_fini releases them). Block ids are 0..n-1.
 */
#ifndef FS_KVCACHE_H
#define FS_KVCACHE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kv_block {
    uint64_t hash;      /* 0: not registered */
    int32_t ref;        /* users; 0 means in the free queue */
    int32_t prev, next; /* free-queue links (-1 at the ends) */
} kv_block;

typedef struct kv_pool {
    kv_block *blocks;
    int32_t n, nfree;
    int32_t head, tail;  /* free queue */
    bool caching;
    uint64_t *keys;      /* hash table: hash -> block (0 key = empty slot) */
    int32_t *vals;
    uint32_t mask;
    uint64_t hits_blocks, evictions;
} kv_pool;

void kv_init(kv_pool *kv, int32_t nblocks, bool caching);
void kv_fini(kv_pool *kv);

static inline int32_t kv_free_count(const kv_pool *kv) { return kv->nfree; }

/* Take the block at the head of the free queue (evicting its hash). The caller checks
 * kv_free_count first; taking from an empty queue is a bug. */
int32_t kv_alloc(kv_pool *kv);

/* Drop one use of a block; at zero it joins the tail of the free queue, still cached. */
void kv_release(kv_pool *kv, int32_t block);

/* Register a full block under its content hash (no-op without caching, or when the hash is
 * already registered to another block: the first one stays). */
void kv_register(kv_pool *kv, int32_t block, uint64_t hash);

/* The block registered under hash, or -1. */
int32_t kv_lookup(const kv_pool *kv, uint64_t hash);

/* Take a use of a cached block found by kv_lookup (leaving the free queue if it was there). */
void kv_touch(kv_pool *kv, int32_t block);

#endif
