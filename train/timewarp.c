/* timewarp.c: the learned density of training times (see timewarp.h). */
#include "timewarp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void warp_init(TimeWarp *w) { memset(w, 0, sizeof *w); }

void warp_observe(TimeWarp *w, float t, float ce) {
    int k = (int)(t * WARP_BINS);
    k = k < 0 ? 0 : k >= WARP_BINS ? WARP_BINS - 1 : k;
    /* a running mean that forgets, as the model changes */
    w->sum[k] = 0.99 * w->sum[k] + ce;
    w->n[k] = 0.99 * w->n[k] + 1;
}

void warp_refit(TimeWarp *w) {
    double m[WARP_BINS], d[WARP_BINS], total = 0;
    for (int k = 0; k < WARP_BINS; k++) {
        if (w->n[k] < 1e-9) {
            w->ready = 0;
            return;
        }
        m[k] = w->sum[k] / w->n[k];
        if (k && m[k] < m[k - 1]) m[k] = m[k - 1]; /* the curve may only rise with noise */
    }
    for (int k = 0; k < WARP_BINS; k++) total += d[k] = k ? m[k] - m[k - 1] : 0;
    /* a floor: a fifth of the mass stays uniform, so no t is ever abandoned */
    double floor = total > 0 ? 0.25 * total / WARP_BINS : 1.0;
    double sum = 0;
    w->cdf[0] = 0;
    for (int k = 0; k < WARP_BINS; k++) sum += d[k] + floor, w->cdf[k + 1] = (float)sum;
    for (int k = 1; k <= WARP_BINS; k++) w->cdf[k] /= (float)sum;
    w->cdf[WARP_BINS] = 1.0f;
    w->ready = 1;
}

/* t with cdf(t) = u, linear inside a bin. */
static float inverse(const TimeWarp *w, double u) {
    int k = 0;
    while (k < WARP_BINS - 1 && w->cdf[k + 1] <= u) k++;
    double width = w->cdf[k + 1] - w->cdf[k];
    double frac = width > 0 ? (u - w->cdf[k]) / width : 0.5;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    return (float)((k + frac) / WARP_BINS);
}

float warp_sample(const TimeWarp *w, double u) { return w->ready ? inverse(w, u) : (float)u; }

void warp_times(const TimeWarp *w, int S, float *times) {
    for (int s = 0; s <= S; s++) times[s] = w->ready ? inverse(w, 1.0 - (double)s / S) : (float)(1.0 - (double)s / S);
    times[0] = 1.0f, times[S] = 0.0f;
}

size_t warp_format(const TimeWarp *w, char *buf, size_t cap) {
    size_t n = 0;
    if (cap) buf[0] = 0;
    for (int k = 0; k < WARP_BINS; k++) {
        double m = w->n[k] > 1e-9 ? w->sum[k] / w->n[k] : -1;
        int len = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "%s%.4f", k ? " " : "", m);
        n += len > 0 ? (size_t)len : 0;
    }
    return n;
}

int warp_parse(TimeWarp *w, const char *text) {
    warp_init(w);
    const char *p = text;
    for (int k = 0; k < WARP_BINS; k++) {
        char *end;
        double m = strtod(p, &end);
        if (end == p || m != m) return -1;
        if (m >= 0) w->sum[k] = m, w->n[k] = 1;
        p = end;
    }
    warp_refit(w);
    return 0;
}
