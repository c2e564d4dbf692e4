/* adamw.c: AdamW, gradient clipping and the learning-rate schedule. The
 * elementwise passes split over the pool (par.h); the norm's sum stays one
 * serial pass, in index order. */
#include "adamw.h"

#include <math.h>

#include "ops.h" /* SDLM_KERNEL */
#include "par.h"

/* Floats per range of a split pass (smaller jobs stay in the caller). */
#define GRAIN 32768

AdamW adamw_default(float wd) { return (AdamW){.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = wd}; }

SDLM_KERNEL double grad_norm(const float *g, size_t n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

typedef struct {
    float *g;
    double coef;
} ScaleArgs;

SDLM_KERNEL static void scale_span(float *g, long n, double coef) {
    for (long i = 0; i < n; i++) g[i] = (float)(g[i] * coef);
}

static void scale_part(void *p, long i0, long i1) {
    const ScaleArgs *a = p;
    scale_span(a->g + i0, i1 - i0, a->coef);
}

double grad_clip(float *g, size_t n, double max_norm) {
    double norm = grad_norm(g, n);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) par_for((long)n, GRAIN, scale_part, &(ScaleArgs){.g = g, .coef = coef});
    return norm;
}

typedef struct {
    float *w, *m, *v;
    const float *g;
    float b1, b2, decay, step_size, bc2_sqrt, eps;
} StepArgs;

SDLM_KERNEL static void adamw_span(const StepArgs *a, long i0, long i1) {
    float *w = a->w, *m = a->m, *v = a->v;
    const float *g = a->g;
    const float b1 = a->b1, b2 = a->b2, decay = a->decay, step_size = a->step_size, bc2_sqrt = a->bc2_sqrt,
                eps = a->eps;
    for (long i = i0; i < i1; i++) {
        w[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

static void adamw_part(void *p, long i0, long i1) { adamw_span(p, i0, i1); }

void adamw_step(const AdamW *o, float *w, const float *g, float *m, float *v, size_t n, int64_t step, float lr) {
    StepArgs a = {.w = w, .m = m, .v = v, .g = g, .b1 = o->beta1, .b2 = o->beta2,
                  .decay = 1.0f - lr * o->weight_decay,
                  .step_size = lr / (float)(1.0 - pow(o->beta1, (double)step)),
                  .bc2_sqrt = (float)sqrt(1.0 - pow(o->beta2, (double)step)), .eps = o->eps};
    par_for((long)n, GRAIN, adamw_part, &a);
}

float lr_at(int64_t step, float lr, int warmup, int decay) {
    /* the seed's linear_decay_with_warmup: lr * step / warmup (0 at the first
     * update), then lr * (1 - (step - warmup) / decay), floored at 0.1 * lr */
    if (warmup > 0 && step < warmup) return lr * (float)((double)step / warmup);
    double frac = decay > 0 ? 1.0 - (double)(step - warmup) / decay : 1.0;
    return (float)(lr * (frac > 0.1 ? frac : 0.1));
}
