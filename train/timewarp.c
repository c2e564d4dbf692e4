/* timewarp.c: the learned density of training times (see timewarp.h). */
#include "timewarp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARP_TAG "warp1"

void warp_init(TimeWarp *w) { memset(w, 0, sizeof *w); }

void warp_observe(TimeWarp *w, float t, float ce) {
    if (!isfinite(ce) || !(t >= 0)) return;
    int k = (int)(t * WARP_BINS);
    k = k < 0 ? 0 : k >= WARP_BINS ? WARP_BINS - 1 : k;
    /* a running mean that forgets, as the model changes */
    w->sum[k] = 0.99 * w->sum[k] + ce;
    w->n[k] = 0.99 * w->n[k] + 1;
}

double warp_mean(const TimeWarp *w, int k) { return w->n[k] > 1e-9 ? w->sum[k] / w->n[k] : -1; }

void warp_refit(TimeWarp *w) {
    double m[WARP_BINS], d[WARP_BINS], total = 0;
    for (int k = 0; k < WARP_BINS; k++) {
        if (w->n[k] < 1e-9) return; /* not every t seen yet: keep the CDF as it is */
        m[k] = w->sum[k] / w->n[k];
        if (k && m[k] < m[k - 1]) m[k] = m[k - 1]; /* the curve may only rise with noise */
    }
    for (int k = 0; k < WARP_BINS; k++) total += d[k] = k ? m[k] - m[k - 1] : 0;
    /* a floor: a fifth of the mass stays uniform, so no t is ever abandoned */
    double floor = total > 0 ? 0.25 * total / WARP_BINS : 1.0;
    double sum = 0, cum[WARP_BINS + 1] = {0};
    for (int k = 0; k < WARP_BINS; k++) sum += d[k] + floor, cum[k + 1] = sum;
    for (int k = 0; k <= WARP_BINS; k++) w->cdf[k] = (float)(cum[k] / sum);
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
    for (int s = 1; s <= S; s++) /* never rising, whatever rounding did */
        if (times[s] > times[s - 1]) times[s] = times[s - 1];
}

/* "warp1 READY" then sum and n of every bin (%.17g: doubles exactly), then the CDF (%.9g: floats exactly). */
size_t warp_format(const TimeWarp *w, char *buf, size_t cap) {
    size_t n = 0;
#define PUT(...)                                                                 \
    do {                                                                         \
        int len_ = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, __VA_ARGS__); \
        n += len_ > 0 ? (size_t)len_ : 0;                                        \
    } while (0)
    if (cap) buf[0] = 0;
    PUT("%s %d", WARP_TAG, w->ready);
    for (int k = 0; k < WARP_BINS; k++) PUT(" %.17g %.17g", w->sum[k], w->n[k]);
    for (int k = 0; k <= WARP_BINS; k++) PUT(" %.9g", (double)w->cdf[k]);
#undef PUT
    return n;
}

static int number(const char **p, double *x) {
    char *end;
    *x = strtod(*p, &end);
    if (end == *p || !isfinite(*x)) return -1;
    *p = end;
    return 0;
}

int warp_parse(TimeWarp *w, const char *text) {
    warp_init(w);
    size_t tag = strlen(WARP_TAG);
    if (strncmp(text, WARP_TAG, tag) || text[tag] != ' ') return -1;
    const char *p = text + tag;
    double x;
    if (number(&p, &x) || (x != 0 && x != 1)) goto bad;
    w->ready = (int)x;
    for (int k = 0; k < WARP_BINS; k++) {
        if (number(&p, &w->sum[k]) || number(&p, &w->n[k]) || w->n[k] < 0) goto bad;
    }
    for (int k = 0; k <= WARP_BINS; k++) {
        if (number(&p, &x) || x < 0 || x > 1 || (k && x < w->cdf[k - 1])) goto bad;
        w->cdf[k] = (float)x;
    }
    while (*p == ' ') p++;
    if (*p) goto bad;
    return 0;
bad:
    warp_init(w);
    return -1;
}
