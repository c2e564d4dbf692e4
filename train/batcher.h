/* batcher.h: the worker thread that turns corpus lines into batches ahead of
 * the trainer, so the trainer never waits on tokenisation.
 *
 * Order and randomness are functions of (seed, epoch, position) only: each
 * epoch visits the lines in a permutation drawn from (seed, epoch), and each
 * batch draws its subword samples, masks and lengths from a generator seeded
 * by (seed, epoch, index of its first example). So a run resumed at a data
 * position sees exactly the batches it would have seen, and a batch can be
 * cut into shards (MPI ranks) without changing the whole.
 *
 * Length buckets (the sdlm recipe's --bucket K): lines are short and uneven,
 * and a batch of random lines pads to its longest, about twice the mean. So
 * the order is read K batches at a time; each such window's examples are
 * subword-sampled (from (seed, epoch, window)), sorted by length and cut into
 * K batches, which come out in a random order. Same visits per epoch, about
 * half the padded positions at K = 8, and still a function of the position. */
#ifndef SDLM_BATCHER_H
#define SDLM_BATCHER_H

#include <stdint.h>

#include "batch.h"
#include "corpus.h"
#include "err.h"
#include "spm.h"

typedef struct {
    const Corpus *corpus; /* borrowed, open for the batcher's lifetime */
    const Spm *spm;       /* borrowed */
    int batch;            /* examples per batch (the last of an epoch may have fewer) */
    int crop;             /* tokens per example, EOS included */
    uint64_t seed;
    MaskKind mask;
    int64_t epoch, index; /* where to start: epoch number and position in its order */
    int bucket;           /* > 1: each window of bucket x batch examples of the order is sorted by
                           * length and cut into batches, handed out in a random order, so a batch
                           * pads to about its own length (0 or 1: off, the seed's) */
} BatcherConfig;

enum { BATCHER_BUCKET_MAX = 1024 };

typedef struct Batcher Batcher;

int batcher_start(Batcher **out, const BatcherConfig *cfg, Err *e);
/* The next batch in order into out (allocated for batch x crop). Blocks while
 * the worker prepares it. Returns 0, or -1 with e (the corpus changed or could
 * not be read, the tokenizer failed). */
int batcher_next(Batcher *b, Batch *out, Err *e);
/* Joins the worker and frees everything. */
void batcher_stop(Batcher *b);

/* Encodes example `line` of the corpus as training does: subword sampling
 * from r, EOS appended, cropped. Returns the token count or -1. */
int batcher_encode(const Corpus *c, const Spm *spm, long line, int crop, Rng *r, int32_t *out, char *buf,
                   size_t bufcap, Err *e);

/* Batches per epoch for a corpus of `lines` examples. */
int64_t batcher_per_epoch(long lines, int batch);

#endif
