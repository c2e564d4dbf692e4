/* params.h: the model's configuration and its one tensor table.
 *
 * Dimension legend used across src/:
 *   B batch, L tokens, E embedding, D model, V vocab, NL layers, H heads,
 *   HD = D/H head dim, R rotary dims per head, F feed-forward hidden (4D),
 *   TF = 64 time frequencies, TH = 128 time hidden.
 *
 * Every parameter is listed once below, with the seed's PyTorch state_dict
 * key, its shape from the Config and its initialisation. The Params struct of
 * pointers, the checkpoint names, the optimiser and the test labels all come
 * from this table, so adding a tensor is one line. Parameters, gradients and
 * each Adam moment are one contiguous block each, laid out by the table. */
#ifndef SDLM_PARAMS_H
#define SDLM_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum { TIME_FREQS = 64, TIME_HIDDEN = 128, PARAM_NAME_MAX = 96 };

typedef struct {
    int V;             /* vocabulary size (SentencePiece pieces) */
    int E;             /* embedding dim */
    int D;             /* model dim */
    int NL;            /* encoder layers */
    int H;             /* attention heads */
    int R;             /* rotary dims per head (even, <= D/H) */
    int F;             /* feed-forward hidden, 4*D in the seed */
    float dropout;     /* training only */
    float layerdrop;   /* training only: probability of skipping a layer */
    int film_one_plus; /* recipe: scale by (1+gamma) instead of gamma; 0 in the seed */
    int masked;        /* the masked-diffusion family (masked.h): embedding row V is [MASK]; 0: the seed's */
} Config;

/* The seed's defaults for a vocabulary of V pieces. */
Config config_default(int V);
/* Checks the dimensions against each other; fills e on the first problem. */
int config_validate(const Config *c, Err *e);

/* X(field, name, ndim, d0, d1, init, std):
 *   init: INIT_NORMAL (std), INIT_ONE, INIT_ZERO. d1 is ignored when ndim == 1. */
#define GLOBAL_PARAMS_HEAD(X)                                                                   \
    X(embedding, "embedding.weight", 2, c->V + c->masked, c->E, INIT_NORMAL, 0.001f)            \
    X(norm_w, "norm.weight", 1, c->E, 0, INIT_ONE, 0)                                           \
    X(norm_b, "norm.bias", 1, c->E, 0, INIT_ZERO, 0)                                            \
    X(time_freq, "estimator.time_mlp.0.weights", 1, TIME_FREQS, 0, INIT_NORMAL, 1.0f)           \
    X(time_w1, "estimator.time_mlp.1.weight", 2, TIME_HIDDEN, 2 * TIME_FREQS, INIT_NORMAL, 0.02f) \
    X(time_b1, "estimator.time_mlp.1.bias", 1, TIME_HIDDEN, 0, INIT_ZERO, 0)                    \
    X(time_w4, "estimator.time_mlp.4.weight", 2, c->NL * 4 * c->D, TIME_HIDDEN, INIT_NORMAL, 0.02f) \
    X(time_b4, "estimator.time_mlp.4.bias", 1, c->NL * 4 * c->D, 0, INIT_ZERO, 0)               \
    X(proj_w, "estimator.project.0.weight", 2, c->D, 3 * c->E, INIT_NORMAL, 0.02f)              \
    X(proj_b, "estimator.project.0.bias", 1, c->D, 0, INIT_ZERO, 0)

/* Per layer; the name is "estimator.encoder_layers.{i}." followed by this suffix. */
#define LAYER_PARAMS(X)                                                           \
    X(wq, "attention.w_q.weight", 2, c->D, c->D, INIT_NORMAL, 0.02f)              \
    X(wk, "attention.w_k.weight", 2, c->D, c->D, INIT_NORMAL, 0.02f)              \
    X(wv, "attention.w_v.weight", 2, c->D, c->D, INIT_NORMAL, 0.02f)              \
    X(wo, "attention.w_o.weight", 2, c->D, c->D, INIT_NORMAL, 0.02f)              \
    X(bo, "attention.w_o.bias", 1, c->D, 0, INIT_ZERO, 0)                         \
    X(ffn_w1, "ffn.0.weight", 2, c->F, c->D, INIT_NORMAL, 0.02f)                  \
    X(ffn_b1, "ffn.0.bias", 1, c->F, 0, INIT_ZERO, 0)                             \
    X(ffn_w2, "ffn.2.weight", 2, c->D, c->F, INIT_NORMAL, 0.02f)                  \
    X(ffn_b2, "ffn.2.bias", 1, c->D, 0, INIT_ZERO, 0)

#define GLOBAL_PARAMS_TAIL(X)                                                     \
    X(out_w, "estimator.out.weight", 2, c->E, c->D, INIT_NORMAL, 0.02f)           \
    X(out_b, "estimator.out.bias", 1, c->E, 0, INIT_ZERO, 0)                      \
    X(lm_w, "lm_head.weight", 2, c->V, c->D, INIT_NORMAL, 0.02f)                  \
    X(lm_b, "lm_head.bias", 1, c->V, 0, INIT_ZERO, 0)

enum { INIT_ZERO, INIT_ONE, INIT_NORMAL };

#define PARAMS_FIELD(field, name, ndim, d0, d1, init, std) float *field;

typedef struct {
    LAYER_PARAMS(PARAMS_FIELD)
} LayerParams;

/* Pointers into one block; the same struct serves weights, gradients and moments. */
typedef struct {
    GLOBAL_PARAMS_HEAD(PARAMS_FIELD)
    GLOBAL_PARAMS_TAIL(PARAMS_FIELD)
    LayerParams *layer; /* [NL] */
} Params;

/* One row of the table, resolved for a Config. */
typedef struct {
    char name[PARAM_NAME_MAX];
    int ndim;
    int64_t shape[2];
    size_t offset; /* in floats from the start of the block */
    size_t count;
    int init;
    float std;
} ParamInfo;

/* The resolved table: every tensor in checkpoint order, and the total size. */
typedef struct {
    Config cfg;
    int count;
    ParamInfo *info; /* [count] */
    size_t total;    /* floats in one block */
} ParamTable;

int param_table_build(ParamTable *t, const Config *c, Err *e);
void param_table_free(ParamTable *t);
/* Index of a tensor by its checkpoint name, or -1. */
int param_table_find(const ParamTable *t, const char *name);

/* Points p's fields into block (t->total floats). p->layer is malloc'd; free with params_unbind. */
int params_bind(Params *p, const ParamTable *t, float *block);
void params_unbind(Params *p);

/* Fills block with the seed's initialisation, drawn from seed. */
void params_init(const ParamTable *t, float *block, uint64_t seed);

#endif
