/* diffusion.h: the seed's diffusion process on top of the network: the noise
 * schedule, the training loss (with the self-conditioning pass) and its
 * backward, and the reverse-diffusion samplers, unconditional and infilling.
 *
 * Legend: B batch, L tokens, N = B*L, E embedding, V vocab, S sampling steps. */
#ifndef SDLM_DIFFUSION_H
#define SDLM_DIFFUSION_H

#include <stdint.h>

#include "model.h"
#include "sampler.h"

/* gamma(t) = cos(((t + 0.0002) / 1.00025) * pi/2)^2: the signal level at time t. */
float diffusion_gamma(float t);
/* The same schedule with its signal-to-noise ratio scaled by shift^2 (Chen
 * 2023): shift < 1 makes every t noisier. shift == 1 is the seed's, exactly. */
float diffusion_gamma_shift(float t, float shift);

/* ---- training loss ---- */

typedef struct {
    int B, L;
    const int32_t *ids;       /* [B, L] */
    const uint8_t *len_mask;  /* [B, L]: 1 inside each sequence's length */
    const uint8_t *cond;      /* [B, L]: 1 where the token is given (conditional) */
    const float *t;           /* [B] in (0, 1) */
    const float *z;           /* [B, L, E] standard normal noise */
    int selfcond;             /* the coin: run the self-conditioning pass */
    const float *target;      /* optional [B, L, E] fixed MSE target; NULL: x0 (tests freeze it) */
    int *seq_correct;         /* optional output [B]: correct argmax predictions per sequence */
    int *seq_targets;         /* optional output [B]: loss positions per sequence */
    float *seq_ce;            /* optional output [B]: summed cross-entropy per sequence (needs seq_correct) */
    float shift;              /* schedule shift (0 or 1: the seed's schedule) */
    const float *seq_weight;  /* optional [B]: each sequence's positions count this many times in the gradient
                               * (not renormalised, so chunks and shards add up; the statistics stay unweighted) */
} LossInput;

typedef struct {
    double loss, mse, ce, accuracy;
    long targets; /* N in the spec: positions in the loss */
} LossStats;

/* Loss of one batch and, when g is not NULL, its gradient scaled by
 * grad_scale ACCUMULATED into g (so micro-batches can be summed). rng drives
 * dropout and layer-drop (NULL: none). ws must be a training workspace when
 * g is given. */
void diffusion_loss(const Model *m, Params *g, Workspace *ws, const LossInput *in, float grad_scale, Rng *rng,
                    LossStats *out);

/* ---- sampling ---- */

/* Whether kind samples a model of this family; and k itself when it does,
 * else the family's default (difflm, or reveal for a masked model). */
int sampler_fits(SamplerKind k, const Config *c);
SamplerKind sampler_fit(SamplerKind k, const Config *c);
/* "difflm, ddim, ddpm or unmask" or "reveal or mdlm": the names for a family, for messages. */
const char *sampler_choices(const Config *c);

/* Shallow fusion (optional): after every estimator pass, with the pass's
 * logits [B*L, V] (one row per position, in order), the current best ids
 * [B*L] (known tokens, and this pass's argmax elsewhere) and open [B*L] (1 at
 * the positions being filled), adds its own log-probabilities to the open
 * rows in place. The sampler then reads ids and confidences again from the
 * fused logits. data/ngram.h's trigram is one. */
typedef void (*LogitFusion)(void *ctx, int B, int L, int V, const int32_t *ids, const uint8_t *open, float *logits);

typedef struct {
    int B, L;
    const int32_t *ids;      /* [B, L] known tokens, read where known; NULL: unconditional */
    const uint8_t *known;    /* [B, L] or NULL */
    const int *lengths;      /* [B] each sequence's length, or NULL: no length mask (the seed) */
    SamplerKind kind;
    int steps;               /* S >= 1 */
    int clamp;               /* snap the estimate to the nearest embedding each step */
    uint64_t seed;           /* noise, unless x_T / eps are given */
    const float *x_T;        /* optional [B, L, E] starting noise */
    const float *eps;        /* optional [S, B, L, E] noise of each step */
    float shift;             /* schedule shift (0 or 1: the seed's schedule) */
    const float *times;      /* optional [S + 1] the times of the passes, falling from 1 to 0
                              * (a warped spacing), read while sampling: keep it alive until
                              * sampler_end; NULL: 1 - s/S as the seed */
    LogitFusion fuse;        /* optional, with its context */
    void *fuse_ctx;
} SampleRequest;

/* A request with what most runs leave alone: unconditional (ids, known and
 * lengths NULL: set them for infilling), no clamp, fresh noise from seed (no
 * x_T, no eps), the seed's schedule (shift 0, times NULL), no fusion. The
 * caller sets what differs after it. */
static inline SampleRequest sample_request_defaults(int B, int L, SamplerKind kind, int steps, uint64_t seed) {
    return (SampleRequest){.B = B, .L = L, .kind = kind, .steps = steps, .seed = seed};
}

typedef struct {
    const Model *m;
    Workspace *ws;           /* evaluation workspace with room for B x L */
    SampleRequest req;
    int B, L, N, step;       /* step: how many reverse steps are done (0..S) */
    float t;                 /* the time of the next estimator pass */
    int done;
    Rng rng;
    float *x, *x_sc, *x0_known; /* [N, E] */
    uint8_t *len_mask;       /* [N] or NULL */
    uint8_t *known;          /* [N] given or (unmask) fixed positions; NULL: none */
    int *open0;              /* [B] unmask: open positions at the start */
    int32_t *ids;            /* [N] current argmax (known tokens kept) */
    float *conf;             /* [N] top probability (1 at known positions) */
    uint8_t *open;           /* [N] fusion's scratch: the positions being filled; NULL without fusion */
    float *t_seq;            /* [B] masked family: each sequence's time input; NULL: s->t for all */
} Sampler;

/* Prepares a run; allocates the sampler's own small buffers. */
int sampler_begin(Sampler *s, const Model *m, Workspace *ws, const SampleRequest *req, Err *e);
/* One estimator pass: a reverse step while step < S, else the final pass at
 * t = 0. Updates ids/conf; returns 1 while there is more to do, 0 when done. */
int sampler_step(Sampler *s);
void sampler_end(Sampler *s);
/* The estimator passes of the whole run (the seed's: S reverse steps and the
 * final pass; masked: S, after sampler_begin clamped S to the largest gap),
 * and how many are done. */
int sampler_passes(const Sampler *s);
int sampler_passes_done(const Sampler *s);

/* Shared with masked.c: x0 = LN_affine(embedding[ids]) into ws->x0 (keeping
 * the raw rows and statistics), and one estimator pass on the sampler's
 * inputs with its ids and confidences read from the (fused) logits. */
void diffusion_embed(const Model *m, Workspace *ws, const int32_t *ids, int N);
/* Its backward, from ws->d_x0 [N, E]: accumulates into g's norm and the embedding rows of ids. */
void diffusion_embed_backward(const Model *m, Params *g, Workspace *ws, const int32_t *ids, int N);
/* The loss's positions (len_mask && !cond) into ws->loss_rows, in order; returns their count n. */
long diffusion_loss_rows(Workspace *ws, const LossInput *in);
/* Cross-entropy of ws->logits (the n rows of model_logits on ws->loss_rows) against in->ids: *ce and
 * *correct summed over the rows, in->seq_* filled; with grad each row becomes its gradient, (softmax -
 * onehot) * grad_scale / n, times its sequence's weight. The rows split over the pool; the sums stay in row order. */
void diffusion_ce(const Model *m, Workspace *ws, const LossInput *in, long n, float grad_scale, int grad, double *ce,
                  double *correct);
void sampler_estimate(Sampler *s);

/* Called after every pass with the pass number (1..S, then S+1 for the final
 * pass), the time it ran at, the argmax ids and confidences [B*L]. Returning
 * non-zero stops the run. */
typedef int (*SampleCallback)(void *ctx, int step, int total, float t, const int32_t *ids, const float *conf);

/* Runs a whole request (total in the callback is sampler_passes); ids_out
 * [B*L] gets the result. Returns 1 if stopped by the callback, 0 when
 * finished, -1 on error. */
int diffusion_sample(const Model *m, Workspace *ws, const SampleRequest *req, SampleCallback cb, void *ctx,
                     int32_t *ids_out, Err *e);

#endif
