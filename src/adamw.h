/* adamw.h: the optimiser: AdamW with decoupled weight decay (as
 * torch.optim.AdamW), global-norm gradient clipping (as
 * torch.nn.utils.clip_grad_norm_) and the seed's learning-rate schedule.
 * Everything is one flat loop over the contiguous parameter block. */
#ifndef SDLM_ADAMW_H
#define SDLM_ADAMW_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float beta1, beta2, eps, weight_decay;
} AdamW;

/* The seed's: betas (0.9, 0.99), eps 1e-8, weight decay wd. */
AdamW adamw_default(float wd);

/* Global 2-norm of g[n] (accumulated in double). */
double grad_norm(const float *g, size_t n);
/* Scales g so its global norm is at most max_norm; returns the norm before. */
double grad_clip(float *g, size_t n, double max_norm);
/* One step; step is 1-based (the count of steps including this one). */
void adamw_step(const AdamW *o, float *w, const float *g, float *m, float *v, size_t n, int64_t step, float lr);
/* The seed's schedule: linear warm-up from 0 over `warmup` updates, then
 * linear decay over `decay` updates to a floor of 0.1 x lr. step is the
 * number of updates already taken. */
float lr_at(int64_t step, float lr, int warmup, int decay);

#endif
