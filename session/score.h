/* score.h: the model's own score of a fill, to rank candidates.
 *
 * A filled sequence is noised again off its known positions, at a few fixed
 * noise levels, and denoised in one pass with the known tokens given through
 * the conditional channel, exactly as in training (diffusion_loss, no
 * gradient). The score is the cross-entropy of the filled tokens under that
 * pass, in nats per filled token, averaged over the levels: lower is better
 * (exp of it is a per-token perplexity). The noise comes from a fixed seed and
 * is the same for every sequence at a level, so candidates are compared on
 * the same draw and a score does not depend on what else is in the batch.
 *
 * Used by `sdlm infill -n K`, the editor's session and `sdlm eval
 * --candidates`. It calls BLAS: callers with threads take the engine lock. */
#ifndef SDLM_SCORE_H
#define SDLM_SCORE_H

#include <stdint.h>

#include "err.h"
#include "modelfile.h"

enum { SCORE_LEVELS = 4 };
/* The noise levels t: 0.8, 0.9, 0.95, 1. High on purpose: at low t a fill
 * shows through its own noise and the model reads it back (its own samples
 * score near 0 nats there, whatever they say), so only levels where the
 * tokens must come from the context tell fills apart. */
extern const float score_levels[SCORE_LEVELS];

/* Scores B filled sequences ids [B, L]; known [B, L] is 1 where the token was
 * given and 0 where it was filled; lengths [B] (NULL: L each). nats [B] gets
 * each sequence's score, NAN for one with nothing filled. Allocates its own
 * workspace. */
int score_fills(const ModelFile *mf, const int32_t *ids, const uint8_t *known, const int *lengths, int B, int L,
                float *nats, Err *e);

/* order [n] = the indexes of nats from the best (lowest) score to the worst;
 * NAN scores last; ties keep index order. */
void score_rank(const float *nats, int n, int *order);

#endif
