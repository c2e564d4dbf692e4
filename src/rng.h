/* rng.h: one small seeded generator for everything random in sdlm.
 *
 * xoshiro256** seeded through splitmix64. Every consumer (batches, noise,
 * dropout, sampling) owns its own Rng, so a seed reproduces a run exactly and
 * threads never share state. Not for cryptography. */
#ifndef SDLM_RNG_H
#define SDLM_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);              /* [0, 1) with 53 random bits */
uint64_t rng_below(Rng *r, uint64_t n);  /* uniform in [0, n), n > 0, unbiased */
float rng_normal(Rng *r);                /* N(0, 1) */
void rng_fill_normal(Rng *r, float *x, long n, float std);

/* splitmix64's finaliser: a seed for one purpose from a run's seed and a counter
 * (seed ^ purpose, step, row...), so streams do not overlap. */
static inline uint64_t rng_mix64(uint64_t x) {
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
