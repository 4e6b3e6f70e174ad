/*
 * rng.h — deterministic random-number streams, one per purpose and per entity.
 *
 * Every stream is derived from (scenario seed, purpose, entity): changing how many numbers one
 * stream draws never shifts another. That gives common random numbers across A/B runs: the
 * request stream (arrivals, lengths, prefixes) depends only on the seed and the workload, so
 * swapping the router or the fleet leaves every request as it was.
 *
 * The generator is xoshiro256** wrapped as a gsl_rng_type, so every GSL distribution
 * (gsl_ran_exponential, gsl_ran_gamma, gsl_ran_lognormal, ...) draws from it. GSL's own
 * generators take 32-bit seeds (mt19937 keeps the low 32 bits), and thousands of per-entity
 * streams would then collide by the birthday bound; xoshiro256** is seeded from 64 bits through
 * splitmix64 and costs about 1 ns a draw. The returned gsl_rng is owned by the caller:
 * release it with fs_rng_free.
 */
#ifndef FS_RNG_H
#define FS_RNG_H

#include <stdint.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

typedef gsl_rng fs_rng;

/* Purposes. Append only: reordering would change every seeded result. */
enum fs_stream {
    FS_STREAM_ARRIVALS = 1,
    FS_STREAM_LENGTHS = 2,
    FS_STREAM_PREFIXES = 3,
    FS_STREAM_ROUTING = 4,
    FS_STREAM_SERVICE = 5,
    FS_STREAM_FAILURES = 6,
    FS_STREAM_PLACEMENT = 7,
    FS_STREAM_SAMPLING = 8,
};

/* The gsl_rng_type, for code that wants gsl_rng_alloc itself. */
extern const gsl_rng_type *fs_rng_xoshiro256ss;

fs_rng *fs_rng_new(uint64_t seed, enum fs_stream purpose, uint64_t entity);
void fs_rng_free(fs_rng *r);

/* Convenience draws (all through GSL). */
static inline double fs_rng_uniform(fs_rng *r) { return gsl_rng_uniform(r); }
static inline double fs_rng_exponential(fs_rng *r, double mean) { return gsl_ran_exponential(r, mean); }

/* Mix 64-bit words into one well-spread 64-bit value (splitmix64 finaliser). */
uint64_t fs_hash64(uint64_t a, uint64_t b);

#endif
