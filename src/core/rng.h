/*
 * rng.h: a small explicit random number generator (xoshiro256**, seeded through
 * splitmix64). Its state lives in the object that uses it, never in a global, so
 * runs are reproducible from their seed and objects stay independent.
 */
#ifndef DSC_RNG_H
#define DSC_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dsc__rng {
    uint64_t s[4];
} dsc__rng;

static inline uint64_t dsc__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void dsc__rng_seed(dsc__rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = dsc__splitmix64(&seed);
}

static inline uint64_t dsc__rng_next(dsc__rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t out = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return out;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double dsc__rng_uniform(dsc__rng *r)
{
    return (double)(dsc__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), 0 < n < 2^53 (scaling 53 uniform bits; the bias is
 * below n / 2^53, negligible for the sizes we shuffle). */
static inline size_t dsc__rng_below(dsc__rng *r, size_t n)
{
    size_t k = (size_t)(dsc__rng_uniform(r) * (double)n);
    return k < n ? k : n - 1;
}

/* Standard normal by Box-Muller (one value per call; simplicity over speed, it
 * only runs at initialisation). */
static inline double dsc__rng_normal(dsc__rng *r)
{
    double u1 = 1.0 - dsc__rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = dsc__rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fisher-Yates shuffle of n indices. */
static inline void dsc__rng_shuffle(dsc__rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = dsc__rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

#endif
