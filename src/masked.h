/* masked.h: the masked-diffusion family (MDLM, Sahoo et al. 2024) on the
 * seed's backbone: the training loss, the draw of its masks, and the two
 * samplers that reveal a gap step by step.
 *
 * A hidden position enters the estimator as LN_affine(embedding[V]), the
 * [MASK] row, in the first (noised) channel; a visible one as
 * LN_affine(embedding[id]) in the second (known) channel, as known tokens do
 * in the continuous family; the third channel stays 0 (no self-conditioning).
 * The time input is the share of a sequence's maskable positions still
 * hidden. lm_head keeps V logits: [MASK] is never predicted, and visible
 * tokens are copied through.
 *
 * Legend: B batch, L tokens, N = B*L, E embedding, V vocab. */
#ifndef SDLM_MASKED_H
#define SDLM_MASKED_H

#include <stdint.h>

#include "diffusion.h"

/* How a sequence's hidden positions are drawn for training. */
typedef enum { MASKDRAW_UNIFORM, MASKDRAW_SPANS } MaskDraw;

/* Hides positions of one sequence (len_mask [L]) at rate t: uniform hides
 * each in-length position with probability t; spans hides round(t * n) of
 * them as one or two contiguous runs, as the editor's gaps are. At least one
 * is hidden. Writes visible [L] (1: shown; positions outside the length are
 * 0) and returns the hidden count. */
int masked_draw(Rng *r, const uint8_t *len_mask, int L, float t, MaskDraw kind, uint8_t *visible);

/* The loss of one batch: in->cond marks the visible positions, and the
 * hidden ones are len_mask && !cond; in->t is each sequence's time input (its
 * hidden share); in->z and in->selfcond are unused. Cross-entropy at the
 * hidden positions, averaged over them, each sequence's positions weighted
 * by in->seq_weight when given. out->mse is 0 and out->loss the
 * cross-entropy. Gradient accumulation as diffusion_loss. */
void masked_loss(const Model *m, Params *g, Workspace *ws, const LossInput *in, float grad_scale, Rng *rng,
                 LossStats *out);

/* The sampler's masked-family half (diffusion.c dispatches to it). begin:
 * hides every open position and clamps the step count to the largest gap;
 * step: one estimator pass, then reveals positions, most confident first
 * (SAMPLER_REVEAL) or each with probability 1 / steps left, its token drawn
 * from the model (SAMPLER_MDLM). A hidden position's confidence is reported
 * negated (-p of its current best guess), so a view can draw it apart. */
int masked_sampler_begin(Sampler *s, Err *e);
int masked_sampler_step(Sampler *s);

#endif
