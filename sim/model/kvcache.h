/*
 * kvcache.h — a replica's paged KV cache: a free queue of blocks with prefix caching.
 *
 * Semantics follow vLLM V1's block pool. Free blocks wait in a queue; allocation takes from its
 * head (never-used blocks first, then the least recently freed), a release appends to its tail,
 * and a request frees its blocks in reverse order, so its tail blocks are evicted first. A full
 * block is tagged with the hash of its content (a chained hash: equal hashes mean equal
 * prefixes); a freed block keeps its tag until it is handed out again, so a later request with
 * the same content can take it back (a prefix-cache hit).
 *
 * Representation. Most free blocks hold content nobody can ever ask for again: the private
 * blocks of finished requests, partial blocks, never-used blocks. Such blocks are
 * interchangeable, so the queue holds them as anonymous runs (a count), and only blocks whose
 * content may still be hit get an identity (an id with a tag): blocks of shared content (found
 * through a hash table) and the blocks a preempted request may take back (it keeps (id, gen)
 * handles). Taking from the head consumes the same entries in the same order as vLLM's queue,
 * so evictions and hits are exactly vLLM's, while memory and work grow with the blocks that
 * matter, not with the cache size.
 *
 * Costs: O(1) amortised per block; a run of k anonymous blocks is taken or returned in O(1).
 *
 * Ownership: the pool owns its arrays (kv_fini releases them). Ids are small integers handed out
 * by the pool; a handle (id, gen) stays valid until that block is evicted.
 */
#ifndef FS_KVCACHE_H
#define FS_KVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kv_block {
    uint64_t hash;     /* content tag, 0 for none */
    int32_t ref;       /* users; 0: waiting in the free queue */
    uint32_t gen;      /* bumped when the id is recycled: stale handles stop matching */
    uint32_t qgen;     /* bumped each time it enters the queue: older queue entries are stale */
    bool shared;       /* the tag is in the hash table */
} kv_block;

typedef struct kv_entry {
    int32_t id;        /* an identified block, or -1 for an anonymous run */
    uint32_t n;        /* run length, or the block's qgen when it was queued */
} kv_entry;

typedef struct kv_pool {
    int32_t n, nfree;
    bool caching;
    kv_block *blocks;           /* identified blocks */
    int32_t nids, ids_cap;
    int32_t *spare;             /* recycled ids */
    int32_t nspare, spare_cap;
    kv_entry *ring;             /* the free queue, head at ring[head] */
    size_t head, len, cap;
    uint64_t *keys;             /* hash table of shared tags: hash -> id (0 key = empty slot) */
    int32_t *vals;
    uint32_t tcap, tcount;
    uint64_t evictions;         /* tagged blocks handed out again */
} kv_pool;

void kv_init(kv_pool *kv, int32_t nblocks, bool caching);
void kv_fini(kv_pool *kv);

static inline int32_t kv_free_count(const kv_pool *kv) { return kv->nfree; }

/* Take k blocks from the head of the queue for content that will never be asked for by tag
 * (private blocks): the caller just counts them. The caller checks kv_free_count first. */
void kv_take(kv_pool *kv, int32_t k);
/* Take one block from the head and give it an identity (for shared content); returns its id. */
int32_t kv_take_id(kv_pool *kv);

/* Return k anonymous blocks to the tail. */
void kv_put(kv_pool *kv, int32_t k);
/* Drop one use of an identified block; at zero it joins the tail, keeping its tag. */
void kv_put_id(kv_pool *kv, int32_t id);
/* Like kv_put_id, but the content is dead (its owner is gone): the id is recycled and an
 * anonymous block takes its place in the queue. */
void kv_put_id_dead(kv_pool *kv, int32_t id);

/* Give an anonymous block held by the caller an identity and a private tag (before a preempted
 * request frees it, so that it can take it back). */
int32_t kv_name(kv_pool *kv, uint64_t hash);

/* Tag an identified full block; shared content also goes into the table (unless that content is
 * already registered to another block: the first one stays). No-op without caching. */
void kv_register(kv_pool *kv, int32_t id, uint64_t hash, bool shared);

/* The block holding shared content `hash`, or -1. */
int32_t kv_lookup(const kv_pool *kv, uint64_t hash);

/* Does the block behind handle (id, gen) still hold content `hash`? */
static inline bool kv_holds(const kv_pool *kv, int32_t id, uint32_t gen, uint64_t hash)
{
    return kv->caching && id >= 0 && id < kv->nids && hash != 0 && kv->blocks[id].gen == gen &&
           kv->blocks[id].hash == hash;
}

/* Take a use of a cached block found by kv_lookup or kv_holds (leaving the queue if it was in). */
void kv_touch(kv_pool *kv, int32_t id);

#endif
