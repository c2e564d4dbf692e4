/* adamw.c: AdamW, gradient clipping and the learning-rate schedule. */
#include "adamw.h"

#include <math.h>

#include "ops.h" /* SDLM_KERNEL */

AdamW adamw_default(float wd) { return (AdamW){.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = wd}; }

SDLM_KERNEL double grad_norm(const float *g, size_t n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

SDLM_KERNEL static void scale(float *g, size_t n, double coef) {
    for (size_t i = 0; i < n; i++) g[i] = (float)(g[i] * coef);
}

double grad_clip(float *g, size_t n, double max_norm) {
    double norm = grad_norm(g, n);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) scale(g, n, coef);
    return norm;
}

SDLM_KERNEL void adamw_step(const AdamW *o, float *w, const float *g, float *m, float *v, size_t n, int64_t step,
                            float lr) {
    const float b1 = o->beta1, b2 = o->beta2;
    const float decay = 1.0f - lr * o->weight_decay;
    const float step_size = lr / (float)(1.0 - pow(b1, (double)step));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)step)), eps = o->eps;
    for (size_t i = 0; i < n; i++) {
        w[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

float lr_at(int64_t step, float lr, int warmup, int decay) {
    /* the seed's linear_decay_with_warmup: lr * step / warmup (0 at the first
     * update), then lr * (1 - (step - warmup) / decay), floored at 0.1 * lr */
    if (warmup > 0 && step < warmup) return lr * (float)((double)step / warmup);
    double frac = decay > 0 ? 1.0 - (double)(step - warmup) / decay : 1.0;
    return (float)(lr * (frac > 0.1 ? frac : 0.1));
}
