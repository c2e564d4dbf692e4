/* ckpt.h: checkpoints: one safetensors file holding the weights, and
 * optionally the Adam moments, EMA weights, the SentencePiece model and any
 * training state the caller keeps as metadata.
 *
 * Tensor names. Weights: the seed's state_dict keys (ParamInfo.name), F32 (or
 * F16/BF16 for a small shipped model). Ours: "optim.exp_avg.<name>" and
 * "optim.exp_avg_sq.<name>" (F32), "optim.step" (I64 [1]), "ema.<name>" (F32),
 * "tokenizer.model" (U8 [n]). Any other tensor (a parity fixture's input.* and
 * expect.*, another tool's) is kept as it is in Checkpoint.foreign and written
 * back by ckpt_save, so rewriting a checkpoint loses nothing.
 *
 * __metadata__: the Config as decimal strings under the keys the parity
 * fixtures use, "V E D layers heads rotary_dim", plus "ffn dropout layerdrop
 * film_one_plus", "family" (continuous or masked: a masked model's
 * embedding.weight has one row more than lm_head.weight, which also tells a
 * file without metadata), and "format" = "sdlm-ckpt-1"; then every key of
 * Checkpoint.meta. On load the config comes from the metadata where present
 * and from the tensor shapes otherwise (a file written by PyTorch's
 * save_file(model.state_dict()) has no metadata); the two must agree, and then
 * every expected tensor must be present with its exact shape.
 *
 * Not here: what the weights do (model.c), the optimiser's arithmetic. */
#ifndef SDLM_CKPT_H
#define SDLM_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "params.h"
#include "safetensors.h"

#define CKPT_FORMAT "sdlm-ckpt-1"

typedef struct {
    ParamTable table;             /* built from the config; table.cfg is the config */
    float *weights;               /* [table.total], one block in table order */
    float *adam_m, *adam_v;       /* [table.total] each, or both NULL */
    int64_t adam_step;            /* steps taken; meaningful when adam_m is set */
    float *ema;                   /* [table.total] or NULL */
    unsigned char *spm;           /* [spm_len] the SentencePiece model file, or NULL */
    size_t spm_len;
    StMeta *meta;                 /* [nmeta] every other __metadata__ key, owned */
    int nmeta;
    StTensor *foreign;            /* [nforeign] tensors of other tools, kept as they were: names and data owned */
    int nforeign;
} Checkpoint;

/* A zeroed checkpoint for cfg: weights, and Adam moments / EMA when asked. */
int ckpt_alloc(Checkpoint *ck, const Config *cfg, int with_adam, int with_ema, Err *e);
/* Writes through the atomic st_writer_save. weight_dtype: ST_F32, ST_F16 or
 * ST_BF16 (the weights only; moments and EMA stay F32). */
int ckpt_save(const char *path, const Checkpoint *ck, StDtype weight_dtype, Err *e);
/* Fills ck (which need not be initialised) from a file; on failure ck is empty. */
int ckpt_load(const char *path, Checkpoint *ck, Err *e);
/* The same from an open file (fixtures, fuzzing). */
int ckpt_load_file(const StFile *f, Checkpoint *ck, Err *e);
/* Only the config, from metadata and shapes, checked against each other. */
int ckpt_config_from_file(const StFile *f, Config *cfg, Err *e);

/* Training state and other strings kept beside the weights. The config keys
 * and "format" are reserved: ckpt_set_meta refuses them. */
const char *ckpt_meta(const Checkpoint *ck, const char *key); /* NULL when absent */
int ckpt_set_meta(Checkpoint *ck, const char *key, const char *value, Err *e);
/* Copies a SentencePiece model file's bytes into the checkpoint (len 0: none). */
int ckpt_set_spm(Checkpoint *ck, const void *data, size_t len, Err *e);

/* Moves src's foreign tensors to dst (whose own are freed first). */
void ckpt_move_foreign(Checkpoint *dst, Checkpoint *src);

/* Safe on a zeroed or already freed checkpoint. */
void ckpt_free(Checkpoint *ck);

#endif
