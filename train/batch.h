/* batch.h: the seed's training batches, from token sequences.
 *
 * Each example arrives encoded (subword-sampled), EOS appended and cropped to
 * the crop length. A batch pads them to its longest with the pad id, gives
 * each a length drawn uniformly from [its own length, the longest] (so pads
 * inside the length are targets and the model learns to end a span early),
 * and draws each example's conditional (known-token) mask. Pure functions of
 * their inputs and one Rng: the trainer's batcher thread calls them.
 * Legend: B sequences, L tokens. */
#ifndef SDLM_BATCH_H
#define SDLM_BATCH_H

#include <stdint.h>

#include "err.h"
#include "rng.h"

/* Shapes of the conditional mask. MASK_SEED is the seed's: a span of
 * m ~ U{0..n-1} known tokens at a uniform start, shuffled to random positions
 * half of the time. The others are sdlm recipe options (issue: infill-shaped
 * masks): the UNKNOWN part is a prefix, a suffix, a middle gap or several gaps. */
typedef enum { MASK_SEED, MASK_INFILL, MASK_MIXED, MASK_KINDS } MaskKind; /* mixed: each example one or the other */

typedef struct {
    int Bcap, Lcap;
    int B, L;           /* this batch: sequences, and its length (the longest example) */
    int32_t *ids;       /* [B, L], pad-filled past each example */
    uint8_t *len_mask;  /* [B, L]: 1 inside each sequence's drawn length */
    uint8_t *cond;      /* [B, L]: 1 on known (conditional) tokens */
    int *ntok;          /* [B]: tokens of each example (EOS included, cropped) */
    long tokens;        /* sum of the drawn lengths */
    int64_t epoch, index; /* data position of the batch's first example */
} Batch;

int batch_alloc(Batch *b, int Bcap, int Lcap, Err *e);
void batch_free(Batch *b);
void batch_copy(Batch *dst, const Batch *src); /* same capacities */

/* The seed's conditional mask over n tokens (cond[0..n-1]). */
void cond_mask_seed(uint8_t *cond, int n, Rng *r);
/* An infill-shaped mask: known everywhere except one to three gaps (prefix,
 * suffix or middle), of total length drawn like the seed's unknown part. */
void cond_mask_infill(uint8_t *cond, int n, Rng *r);

/* Collates B examples seqs[i][0..n[i]-1] (EOS-terminated, cropped, each
 * n[i] >= 1) into b: padding, lengths, masks of the given kind. */
void batch_collate(Batch *b, const int32_t *const *seqs, const int *n, int B, int pad_id, MaskKind kind, Rng *r);

#endif
