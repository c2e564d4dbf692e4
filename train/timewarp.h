/* timewarp.h: time warping as in CDCD (Dieleman et al. 2022): learn how the
 * cross-entropy grows with the noise level t, and draw training times (and
 * place sampling steps) evenly in cross-entropy rather than in t, so steps go
 * where the model goes from sure to unsure instead of where the task is
 * trivial or hopeless.
 *
 * The curve is a running mean of the per-sequence cross-entropy in WARP_BINS
 * bins of t, made non-decreasing; its increments are the density of t (with a
 * floor, so every t keeps some share). It travels in the checkpoint's
 * metadata as text so sampling can use the same spacing. */
#ifndef SDLM_TIMEWARP_H
#define SDLM_TIMEWARP_H

#include <stddef.h>

enum { WARP_BINS = 50 };

typedef struct {
    double sum[WARP_BINS], n[WARP_BINS]; /* running sums of CE and counts */
    float cdf[WARP_BINS + 1];            /* over the bin edges, 0 .. 1; valid when ready */
    int ready;
} TimeWarp;

void warp_init(TimeWarp *w);
/* A sequence at time t had mean cross-entropy ce over its targets. */
void warp_observe(TimeWarp *w, float t, float ce);
/* Rebuilds the density from the curve; ready once every bin has data. */
void warp_refit(TimeWarp *w);
/* A training time for u ~ U(0, 1): uniform until ready. */
float warp_sample(const TimeWarp *w, double u);
/* S + 1 sampling times from 1 down to 0, evenly spaced in the warped CDF
 * (the seed's 1 - s/S when not ready). */
void warp_times(const TimeWarp *w, int S, float *times);
/* The curve as text ("ce0 ce1 ... ce49"), and back (refits). */
size_t warp_format(const TimeWarp *w, char *buf, size_t cap);
int warp_parse(TimeWarp *w, const char *text);

#endif
