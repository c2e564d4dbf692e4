/* model.h: the seed's network (the estimator, lm_head and interpolation),
 * forward and backward, over one weight block and a workspace.
 *
 * Legend: B batch, L tokens, N = B*L rows, E embedding, D model, F ffn hidden,
 * V vocab, NL layers, H heads, HD head dim, G = NL*4*D time-MLP outputs.
 *
 * Weights live in one block (Model.w) bound to a Params struct. A Workspace
 * holds every activation for at most (B, L) sequences; made for training it
 * keeps what the backward pass needs for all layers, for sampling one
 * layer's worth, reused. Training with recomputation keeps only each layer's
 * input, attention residual and norms, and the backward redoes the layer's
 * matrix products from them: about a third of the activation memory for
 * about a sixth more work. Nothing here allocates after workspace_alloc. */
#ifndef SDLM_MODEL_H
#define SDLM_MODEL_H

#include <stdint.h>

#include "err.h"
#include "params.h"
#include "rng.h"

typedef struct {
    Config cfg;
    ParamTable table;
    float *w; /* [table.total] */
    Params p; /* bound to w */
} Model;

/* Allocates a model for cfg with zero weights (params_init fills them). */
int model_alloc(Model *m, const Config *cfg, Err *e);
void model_free(Model *m);

/* Workspace modes: what workspace_alloc sizes it for. */
enum { WS_SAMPLE = 0, WS_TRAIN = 1, WS_TRAIN_RECOMPUTE = 2 };

typedef struct {
    int Bcap, Lcap, train, recompute;
    int B, L; /* the shape of the current pass */
    /* inputs of the estimator */
    float *h_in;      /* [N, 3E]: x_noised | x_cond | x_selfcond */
    float *t;         /* [B] */
    uint8_t *len_mask; /* [N] or unused when the caller passes NULL */
    /* time MLP */
    float *tfeat;     /* [B, 128] sin | cos */
    float *th_pre;    /* [B, 128] */
    float *th;        /* [B, 128] after GELU and dropout */
    float *tg_pre;    /* [B, G] */
    float *tg;        /* [B, G]: gamma1 gamma2 beta1 beta2 rows per layer */
    /* residual stream at each layer's input; x_res + NL*N*D is the latent */
    float *x_res;     /* [(NL+1), N, D] */
    /* per layer: NL of each when training (x_mid and the norms) or training
     * without recomputation (the rest), else 1 */
    float *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd; /* [N] */
    float *qkv;        /* [N, 3D] rows q | k | v, q and k after rotary */
    float *probs;      /* [B, H, L, L] */
    float *att;        /* [N, D] heads concatenated, before w_o */
    float *x_mid;      /* [N, D] after the attention residual */
    float *f1;         /* [N, F] before GELU (the backward turns it into GELU') */
    uint32_t *drop_key;  /* [3 + 2 NL] dropout mask keys: time, project, lm_head, then attn/ffn per layer */
    uint8_t *skip;       /* [NL] layer-drop */
    int dropout_on;      /* the keys hold this pass's masks */
    /* embeddings (diffusion.c) */
    float *emb_raw;   /* [N, E] embedding rows of the batch's ids */
    float *x0;        /* [N, E] LN_affine(emb_raw) */
    float *emb_mean, *emb_rstd; /* [N] */
    float *d_x0;      /* [N, E] */
    float *d_emb;     /* [N, E] */
    /* outputs */
    float *x_est;      /* [N, E] */
    int32_t *lm_rows;  /* [N] the token rows model_logits ran on, in order */
    int32_t *ids_in;   /* [N] masked family: the ids embedded, [MASK] (V) where hidden (masked.c) */
    int lm_nrows;
    int32_t *loss_rows; /* [N] the positions of the loss (diffusion.c) */
    float *ce_lse, *ce_target; /* [N] per loss row: log-sum-exp of its logits, its target's logit (diffusion.c) */
    int32_t *ce_best;          /* [N] per loss row: the argmax */
    float *logits;     /* [lm_nrows, V]; softmax or d_logits in place later. Valid until the
                        * next model_forward or model_backward, whose scratch shares its memory */
    /* scratch (inside the logits' memory, see model.c) */
    float *xhat, *act, *tmp; /* [N, D] */
    float *gl;               /* [N, F] */
    float *lat;              /* [N, D] the rows lm_head ran on */
    float *rot_cos, *rot_sin;      /* [Lcap, R/2], filled by workspace_alloc */
    float *emb_norm;               /* [V, E] LN_affine(embedding.weight) for interp */
    float *interp;                 /* [N, E] interpolated rows before they are scattered */
    /* backward */
    float *d_x_est;   /* [N, E] input of model_backward */
    float *d_res, *d_a; /* [N, D] */
    float *d_qkv;       /* [N, 3D] (scratch, inside the logits' memory; the same as gl) */
    float *d_gl;        /* [N, F] (scratch, inside the logits' memory; the same as gl) */
    float *d_att_scratch; /* [PAR_MAX_THREADS, L, L + HD] attention_backward's, one block per pool thread */
    float *d_h_in;    /* [N, 3E] output of model_backward */
    float *d_tg, *d_th, *d_tfeat; /* [B, G], [B, 128], [B, 128] */
} Workspace;

/* mode: WS_SAMPLE, WS_TRAIN or WS_TRAIN_RECOMPUTE (the same gradients, bit for bit). */
int workspace_alloc(Workspace *ws, const Config *c, int Bcap, int Lcap, int mode, Err *e);
void workspace_free(Workspace *ws);
/* Bytes the workspace holds (for the benchmark's memory report). */
size_t workspace_bytes(const Config *c, int Bcap, int Lcap, int mode);

/* Estimator on ws->h_in at times ws->t for B sequences of L tokens: fills
 * the latent (ws->x_res + NL*N*D) and ws->x_est. rng != NULL means training
 * mode (dropout and layer-drop drawn from it); NULL is evaluation. len_mask
 * [B, L] or NULL (nothing masked). */
void model_forward(const Model *m, Workspace *ws, int B, int L, const uint8_t *len_mask, Rng *rng);

/* ws->logits = lm_head(dropout(latent)) for the token rows listed (NULL:
 * all B*L rows in order). The loss needs logits only where it has targets,
 * which saves about half of the vocabulary projection. */
void model_logits(const Model *m, Workspace *ws, const int32_t *rows, int nrows);

/* Backward of the last model_forward + model_logits (train workspace) from
 * ws->d_x_est [N, E] and the gradient of the logits held in ws->logits:
 * accumulates parameter gradients into g and writes ws->d_h_in. It uses up
 * some saved activations (f1), so it runs once per forward. */
void model_backward(const Model *m, Params *g, Workspace *ws, const uint8_t *len_mask);

/* ws->emb_norm = LN_affine(embedding.weight), for interpolation. */
void model_norm_table(const Model *m, Workspace *ws);
/* For each row of the last model_logits: softmax(logits) @ ws->emb_norm,
 * written to out + row * out_stride (other rows untouched). Leaves the
 * probabilities in ws->logits. Call model_norm_table first. */
void model_interp(const Model *m, Workspace *ws, float *out, int out_stride);

/* Floating-point operations (2 per multiply-add) of the matrix products of
 * one pass over B x L tokens with lm_head on lm_rows of them: the forward, or
 * with backward = 1 the forward and its backward (each product twice more:
 * the input and the weight gradients). Elementwise work is not counted. For
 * the benchmark's GFLOP/s. */
double model_step_flops(const Config *c, int B, int L, int lm_rows, int backward);

#endif
