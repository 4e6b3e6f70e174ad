#include "rng.h"

#include <string.h>

typedef struct xoshiro {
    uint64_t s[4];
} xoshiro;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t fs_hash64(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b * UINT64_C(0x9e3779b97f4a7c15));
    splitmix64(&x);
    return splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void xo_set(void *state, unsigned long seed)
{
    xoshiro *st = state;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) st->s[i] = splitmix64(&x);
}

static inline uint64_t xo_next(xoshiro *st)
{
    uint64_t *s = st->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static unsigned long xo_get(void *state) { return (unsigned long)xo_next(state); }

/* 53 random bits scaled into [0, 1), as GSL expects of get_double. */
static double xo_get_double(void *state) { return (double)(xo_next(state) >> 11) * 0x1.0p-53; }

_Static_assert(sizeof(unsigned long) == 8, "fleetsim needs a 64-bit unsigned long (LP64)");

static const gsl_rng_type xoshiro_type = {
    "xoshiro256**", 0xffffffffffffffffUL, 0, sizeof(xoshiro), xo_set, xo_get, xo_get_double,
};
const gsl_rng_type *fs_rng_xoshiro256ss = &xoshiro_type;

fs_rng *fs_rng_new(uint64_t seed, enum fs_stream purpose, uint64_t entity)
{
    gsl_rng *r = gsl_rng_alloc(fs_rng_xoshiro256ss);
    if (!r) return NULL;
    gsl_rng_set(r, (unsigned long)fs_hash64(fs_hash64(seed, (uint64_t)purpose), entity));
    return r;
}

void fs_rng_free(fs_rng *r)
{
    if (r) gsl_rng_free(r);
}
