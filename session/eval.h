/* eval.h: where a model stands, measured on held-out lines.
 *
 * Every line (encoded plainly, EOS appended, cropped) gets a contiguous gap
 * at a position drawn from a fixed seed, for each gap size: one token, 10%,
 * 25% and 50% of the line. The gap is filled by the sampler (infilling, the
 * training convention for known tokens); masked-token accuracy and the
 * cross-entropy of the truth under the final pass are counted over the gap,
 * beside the most-frequent-piece baseline for the same positions. Also:
 * one-step denoising accuracy and cross-entropy by noise level t (a 25% gap
 * noised at t, one estimator pass), and the fluency of the 25% fills: the
 * share of filled pieces that belong to a word of the corpus, and the share
 * that repeat the piece before them. Same lines, same seed: two models (or
 * two implementations) compare on the same numbers.
 *
 * With candidates > 1 every gap is filled that many times and the fill the
 * model scores best (session/score.h) is the one counted; the accuracy of the
 * first candidate (no ranking) and of the best of them (an oracle) are kept
 * beside it, so one run says whether ranking helps.
 *
 * With a trigram (data/ngram.h, fitted on the training lines) its beam-search
 * fills of exactly the same gaps are counted beside the model's; with fuse > 0
 * the sampler runs once more with the trigram's shallow fusion at that lambda
 * (one fill per gap, the same noise seeds) and that accuracy is counted too. */
#ifndef SDLM_EVAL_H
#define SDLM_EVAL_H

#include "diffusion.h"
#include "err.h"
#include "modelfile.h"
#include "ngram.h"

enum { EVAL_GAPS = 4, EVAL_TBUCKETS = 10, EVAL_MAX_CAND = 16 };

typedef struct {
    int lines;          /* held-out lines used (the first N; default 200) */
    int steps;          /* sampling steps per fill (default 50) */
    SamplerKind sampler;
    int clamp;
    uint64_t seed;      /* gap positions and noise (default 0) */
    int batch;          /* sequences per pass (default 32) */
    const char *words;  /* text whose words count as corpus words (NULL: the held-out file) */
    int skip_fill;      /* only the one-step curve (fast) */
    int linear_times;   /* sample at the seed's 1 - s/S even when the model has a time curve */
    int candidates;     /* fills per gap, ranked by the model's score (default 1: no ranking) */
    const Ngram *trigram; /* the anchor, fitted on the training lines (NULL: none) */
    float fuse;         /* with a trigram and fuse > 0: also the fused sampler, one fill per gap */
} EvalConfig;

typedef struct {
    int lines;
    long masked[EVAL_GAPS];
    double accuracy[EVAL_GAPS], cross_entropy[EVAL_GAPS], baseline[EVAL_GAPS];
    double first_accuracy[EVAL_GAPS], oracle_accuracy[EVAL_GAPS]; /* candidates > 1: unranked, best possible */
    double mean_accuracy, mean_cross_entropy, mean_baseline;
    int has_trigram, has_fused;
    double trigram[EVAL_GAPS], fused[EVAL_GAPS], mean_trigram, mean_fused; /* accuracies on the same gaps */
    double t_accuracy[EVAL_TBUCKETS], t_cross_entropy[EVAL_TBUCKETS], t_baseline[EVAL_TBUCKETS];
    double word_share, repeat_share; /* over the 25% fills */
    long filled_pieces;
    char example_truth[4][256], example_fill[4][256]; /* a few 25% fills to look at */
    int nexamples;
    double seconds;
} EvalResult;

extern const char *const eval_gap_names[EVAL_GAPS];

EvalConfig eval_defaults(void);
/* progress(ctx, done, total) is called as batches finish (may be NULL). */
int eval_run(const ModelFile *mf, const char *heldout, const EvalConfig *cfg, EvalResult *out,
             void (*progress)(void *ctx, int done, int total), void *ctx, Err *e);

#endif
