/*
 * kvcache.h — a replica's paged KV cache: fixed-size blocks, a free queue, and prefix caching.
 *
 * Semantics follow vLLM V1's block pool. Blocks are handed out from the head of the free queue
 * (least recently freed first; blocks never used come first, in id order). A block whose tokens
 * are all computed is tagged with the hash of its content (a chained hash: equal hashes mean
 * equal prefixes); when its last user frees it, it joins the tail of the free queue but keeps its
 * tag, so a later request with the same content can take it back (a prefix-cache hit) until it
 * is handed out again and the tag is evicted. A request frees its blocks in reverse order, so its
 * tail blocks are evicted first.
 *
 * Only blocks of shared content (a common prefix) go into the hash table, since only they can be
 * found by another request. A request's private blocks can only be hit by the request itself,
 * after a preemption: it remembers their ids and checks the tag (kv_holds), with the same result
 * as a global lookup and no table traffic per block.
 *
 * Costs: every operation is O(1) amortised (open-addressing table that grows, backward-shift
 * deletion, intrusive doubly linked free queue). Memory grows with the blocks actually used:
 * never-used blocks stay untouched (zeroed pages from calloc are not committed).
 *
 * Ownership: the pool owns its arrays (kv_fini releases them). Block ids are 0..n-1.
 */
#ifndef FS_KVCACHE_H
#define FS_KVCACHE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kv_block {
    uint64_t hash;      /* content tag; 0: none */
    int32_t ref;        /* users; 0 means free */
    int32_t prev, next; /* free-queue links (-1 at the ends) */
    int32_t shared;     /* the tag is in the hash table */
} kv_block;

typedef struct kv_pool {
    kv_block *blocks;
    int32_t n, nfree;
    int32_t fresh;       /* blocks 0..fresh-1 have been handed out at least once */
    int32_t head, tail;  /* free queue of blocks used before */
    bool caching;
    uint64_t *keys;      /* hash table of shared tags: hash -> block (0 key = empty slot) */
    int32_t *vals;
    uint32_t cap, count;
    uint64_t evictions;
} kv_pool;

void kv_init(kv_pool *kv, int32_t nblocks, bool caching);
void kv_fini(kv_pool *kv);

static inline int32_t kv_free_count(const kv_pool *kv) { return kv->nfree; }

/* Take the next free block (evicting its tag). The caller checks kv_free_count first; taking
 * from an empty pool is a bug. */
int32_t kv_alloc(kv_pool *kv);

/* Drop one use of a block; at zero it joins the tail of the free queue, keeping its tag. */
void kv_release(kv_pool *kv, int32_t block);

/* Tag a full block with its content hash; shared content also goes into the table (unless that
 * content is already registered to another block: the first one stays). No-op without caching. */
void kv_register(kv_pool *kv, int32_t block, uint64_t hash, bool shared);

/* The block holding shared content `hash`, or -1. */
int32_t kv_lookup(const kv_pool *kv, uint64_t hash);

/* Does `block` still hold content `hash`? (For a request's own blocks after preemption.) */
static inline bool kv_holds(const kv_pool *kv, int32_t block, uint64_t hash)
{
    return kv->caching && block >= 0 && block < kv->n && hash != 0 && kv->blocks[block].hash == hash;
}

/* Take a use of a cached block (leaving the free queue if it was there). */
void kv_touch(kv_pool *kv, int32_t block);

#endif
