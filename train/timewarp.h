/* timewarp.h: time warping as in CDCD (Dieleman et al. 2022): learn how the
 * cross-entropy grows with the noise level t, and draw training times (and
 * place sampling steps) evenly in cross-entropy rather than in t, so steps go
 * where the model goes from sure to unsure instead of where the task is
 * trivial or hopeless.
 *
 * The curve is a running mean of the per-sequence cross-entropy in WARP_BINS
 * bins of t, made non-decreasing; its increments are the density of t (with a
 * floor, so every t keeps a fifth of the mass spread evenly). The trainer
 * observes every sequence and refits every few steps; the whole state travels
 * in the checkpoint's metadata as text (exactly, so a resumed run draws the
 * same times), and sampling reads the same CDF for its step spacing.
 *
 * Not here: where t comes from (the trainer's generator) or what it means
 * (diffusion.c's schedule). */
#ifndef SDLM_TIMEWARP_H
#define SDLM_TIMEWARP_H

#include <stddef.h>

enum { WARP_BINS = 50, WARP_TEXT_MAX = 4096 };

typedef struct {
    double sum[WARP_BINS], n[WARP_BINS]; /* running sums of CE and counts, forgetting 1% per observation */
    float cdf[WARP_BINS + 1];            /* over the bin edges, 0 .. 1; valid when ready */
    int ready;
} TimeWarp;

void warp_init(TimeWarp *w);
/* A sequence at time t had mean cross-entropy ce over its targets. */
void warp_observe(TimeWarp *w, float t, float ce);
/* Rebuilds the density from the curve; ready once every bin has data (until
 * then the CDF stays as it was). */
void warp_refit(TimeWarp *w);
/* A training time for u ~ U(0, 1): u itself until ready, else the inverse CDF. */
float warp_sample(const TimeWarp *w, double u);
/* S + 1 sampling times falling from 1 to 0, evenly spaced in the warped CDF
 * (the seed's 1 - s/S when not ready). */
void warp_times(const TimeWarp *w, int S, float *times);
/* The mean cross-entropy of bin k (-1 without data). */
double warp_mean(const TimeWarp *w, int k);
/* The whole state as one line of text (under WARP_TEXT_MAX bytes), and back,
 * exactly. warp_parse returns -1 on text it did not write (w is then reset). */
size_t warp_format(const TimeWarp *w, char *buf, size_t cap);
int warp_parse(TimeWarp *w, const char *text);

#endif
