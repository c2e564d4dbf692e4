/* train_settings.h: every training setting, listed once.
 *
 * TRAIN_SETTINGS names each setting of a training run with its type, its
 * default under each recipe, where it is kept (the checkpoint's metadata, the
 * history's run config), how a resumed run takes it back, and its flag with
 * its help. From this one list come the TrainConfig struct, the defaults
 * (trainer_defaults, trainer_apply_recipe), the flags and --help of
 * `sdlm train`, the checkpoint metadata, the history's JSON, and the reading
 * back on resume and by modelfile_open: adding a setting is one entry.
 *
 * Not here: the model's shape beyond -edim/-mdim/-numl (heads, rotary dims:
 * the Config of src/params.h, which the checkpoint keeps under its own keys),
 * and the run's position (step, epoch, index, elapsed time), which the
 * trainer writes beside these settings. */
#ifndef SDLM_TRAIN_SETTINGS_H
#define SDLM_TRAIN_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"

typedef enum { RECIPE_SEED, RECIPE_SDLM } Recipe;
/* The masked family's loss: ELBO weights a sequence's hidden cross-entropy by 1/t, which with t its hidden
 * share averages each sequence over its own hidden positions; mean averages every hidden token alike. */
enum { MASK_LOSS_ELBO, MASK_LOSS_MEAN };

/* The recipe `sdlm train` uses when --recipe is not given (the editor's too). */
#define TRAIN_DEFAULT_RECIPE "sdlm"

/* X(kind, field, seed, sdlm, family, key, json, resume,
 *   flags, metavar, lo, hi, choices, help)
 *
 * kind     the C type, and how its flag reads: STR (const char *), INT, U64, I64 (given as a
 *          non-negative integer), F32, F64 (given as a float), FLAG (an int its flag sets to 1),
 *          OFF (no field of its own: its flag sets the FLAG of the same field to 0; giving both
 *          is an error), CHOICE (an int given by name, kept by name), CHOICE_NUM (given by name,
 *          kept by its number, as `masks` always was)
 * seed, sdlm  the default under each recipe; trainer_apply_recipe sets those that differ
 * family   ANY; MASKED: the masked family's alone, left out of a continuous model's metadata;
 *          CONTINUOUS: the continuous family's noise schedule, which a masked model leaves at
 *          the seed's value
 * key      its checkpoint metadata key (NULL: not kept); a value a resume reads back is written
 *          with 9 digits so it reads back bit for bit, the others with %g
 * json     its key in the history's run config (NULL: not there); numbers and CHOICEs only
 * resume   where a resumed run takes it from: FLAGS (this session's flags), CKPT (the checkpoint's
 *          value when it has one it can take, else the flags'), CKPT_OR_SEED (the checkpoint's, else
 *          the seed's: a checkpoint from before the setting trained without it), MODEL (the
 *          checkpoint's model config, which src/ckpt.c keeps)
 * flags    "-b|--batch_size" for `sdlm train`; metavar, lo..hi (lo == hi: no range), choices
 *          ("seed|sdlm", in the order of their values) and help, as --help prints them
 *
 * The values from other headers (MASK_SEED, BATCHER_BUCKET_MAX) are needed only where the list
 * is expanded into values, train_settings.c: this header stays light for the editor's files. */
#define TRAIN_SETTINGS(X)                                                                                              \
    /* files */                                                                                                        \
    X(STR, corpus, NULL, NULL, ANY, NULL, NULL, FLAGS,                                                                 \
      "-d|--data_path", "FILE", 0, 0, NULL, "training text, one example per line (required)")                          \
    X(STR, spm, NULL, NULL, ANY, NULL, NULL, FLAGS, /* NULL: the one inside the checkpoint */                          \
      "-spm|--spm_model", "MODEL", 0, 0, NULL, "SentencePiece model (default: the checkpoint's, or train one)")        \
    X(STR, ckpt, NULL, NULL, ANY, NULL, NULL, FLAGS,                                                                   \
      "-ckpt|--checkpoint", "FILE", 0, 0, NULL, "checkpoint to write; resumed when it exists (required)")              \
    /* the seed's flags */                                                                                             \
    X(INT, epochs, 100, 100, ANY, "epochs", "epochs", FLAGS,                                                           \
      "-ep|--epochs", "N", 1, 1e9, NULL, "epochs (100)")                                                               \
    X(INT, batch, 256, 32, ANY, "batch", "batch", FLAGS,                                                               \
      "-b|--batch_size", "N", 1, 1 << 20, NULL, "batch size (seed 256, sdlm 32)")                                      \
    X(F32, lr, 1e-4f, 2e-3f, ANY, "lr", "lr", FLAGS,                                                                   \
      "-lr|--learning_rate", "LR", 1e-12, 10, NULL, "peak learning rate (seed 1e-4, sdlm 2e-3)")                       \
    X(INT, warmup, 2000, 200, ANY, "warmup", "warmup", FLAGS,                                                          \
      "-wup|--warmup_steps", "N", 0, 1e9, NULL, "linear warm-up updates (seed 2000, sdlm 200)")                        \
    X(INT, decay_steps, 800000, 800000, ANY, "decay_steps", "decay_steps", FLAGS,                                      \
      "-decs|--decay_steps", "N", 0, 2e9, NULL, "linear decay updates to 0.1 x lr (800000)")                           \
    X(F32, weight_decay, 1e-4f, 1e-4f, ANY, "weight_decay", "weight_decay", FLAGS,                                     \
      "-wd|--weight_decay", "W", 0, 10, NULL, "AdamW decoupled weight decay (1e-4)")                                   \
    X(INT, accum, 1, 1, ANY, "accum", "accum", FLAGS,                                                                  \
      "-acc|--accumulation_steps", "N", 1, 1 << 16, NULL, "batches per update (1)")                                    \
    /* the model's size: a resumed checkpoint keeps its own (more steps beat width at the sdlm budget) */              \
    X(INT, E, 64, 64, ANY, NULL, NULL, MODEL,                                                                          \
      "-edim|--embedding_dim", "N", 2, 4096, NULL, "embedding dim (64)")                                               \
    X(INT, D, 512, 128, ANY, NULL, NULL, MODEL,                                                                        \
      "-mdim|--model_dim", "N", 8, 16384, NULL, "model dim, a multiple of 8 (seed 512, sdlm 128)")                     \
    X(INT, NL, 8, 2, ANY, NULL, NULL, MODEL,                                                                           \
      "-numl|--num_layers", "N", 1, 256, NULL, "encoder layers (seed 8, sdlm 2)")                                      \
    X(F32, dropout, 0.1f, 0.1f, ANY, NULL, "dropout", FLAGS,                                                           \
      "-do|--dropout_prob", "P", 0, 0.99, NULL, "dropout (0.1)")                                                       \
    X(F32, layerdrop, 0.0f, 0.0f, ANY, NULL, "layerdrop", FLAGS,                                                       \
      "-ld|--layerdrop_prob", "P", 0, 0.99, NULL, "layer-drop (0.0)")                                                  \
    X(INT, crop_len, 64, 64, ANY, "crop_len", "crop_len", FLAGS,                                                       \
      "-cl|--crop_length", "N", 2, 4096, NULL, "tokens per example, EOS included (64)")                                \
    X(INT, ngen, 8, 8, ANY, NULL, NULL, FLAGS,                                                                         \
      "-ngen|--num_examples", "N", 0, 8, NULL, "samples printed at the start and after each epoch (8)")                \
    /* sdlm's */                                                                                                       \
    X(U64, seed, 0, 0, ANY, "seed", NULL, FLAGS,                                                                       \
      "--seed", "S", 0, 0, NULL, "seed of everything random (0)")                                                      \
    X(I64, max_steps, 0, 0, ANY, NULL, NULL, FLAGS, /* optimiser steps in all, over every session */                   \
      "--steps", "N", 0, 0, NULL, "stop after N training steps in all (0: no limit)")                                  \
    X(F64, max_minutes, 0, 0, ANY, NULL, NULL, FLAGS, /* wall-clock time of this session */                            \
      "--minutes", "M", 0, 1e7, NULL, "stop after M minutes of this session (0: no limit)")                            \
    X(STR, db, NULL, NULL, ANY, NULL, NULL, FLAGS, /* NULL: the default; "": none */                                   \
      "--db", "PATH", 0, 0, NULL, "history database (default $XDG_DATA_HOME/sdlm/sdlm.db; \"\" for none)")             \
    X(INT, save_every, 500, 500, ANY, NULL, "save_every", FLAGS,                                                       \
      "--save-every", "N", 1, 1e9, NULL, "checkpoint every N steps (500)")                                             \
    X(CHOICE, recipe, RECIPE_SEED, RECIPE_SDLM, ANY, "recipe", NULL, CKPT,                                             \
      "--recipe", "NAME", 0, 0, "seed|sdlm",                                                                           \
      "seed (the seed's, exactly) or sdlm (" TRAIN_DEFAULT_RECIPE "); sets the flags below, which override it")        \
    /* after warm-up the lr falls linearly to 0.1 x lr at the end of the --steps (else --minutes) budget */            \
    X(FLAG, decay_end, 0, 1, ANY, "decay_end", NULL, CKPT,                                                             \
      "--decay-to-end", NULL, 0, 0, NULL,                                                                              \
      "the lr falls to 0.1 x lr at the end of the --steps (else --minutes) budget (sdlm)")                             \
    X(OFF, decay_end, 0, 0, ANY, NULL, NULL, FLAGS,                                                                    \
      "--decay-by-decs", NULL, 0, 0, NULL, "the lr falls over -decs steps whatever the budget (the seed's)")           \
    /* 1: the masked-diffusion family (src/masked.h); 0: the seed's continuous one */                                  \
    X(CHOICE, masked, 0, 1, ANY, NULL, NULL, MODEL,                                                                    \
      "--family", "NAME", 0, 0, "continuous|masked",                                                                   \
      "continuous (the seed's embedding diffusion) or masked (hidden tokens predicted from the rest; sdlm)")           \
    X(CHOICE, mask_loss, MASK_LOSS_ELBO, MASK_LOSS_MEAN, MASKED, "mask_loss", NULL, CKPT,                              \
      "--mask-loss", "KIND", 0, 0, "elbo|mean",                                                                        \
      "masked family: elbo (each sequence averaged over its hidden tokens) or mean (every hidden token alike; sdlm)")  \
    /* training mask rates t = u^P, u uniform; 1: uniform (trainer_start reads 0 as 1) */                              \
    X(F32, mask_t_power, 1.0f, 2.0f, MASKED, "mask_t_power", NULL, CKPT,                                               \
      "--mask-t-power", "P", 0.1, 16, NULL,                                                                            \
      "masked family: training mask rates u^P for uniform u; above 1 favours light masks (sdlm: 2)")                   \
    /* 1: layers scale by 1 + gamma (the seed's by gamma, near 0 at init) */                                           \
    X(CHOICE, film_one_plus, 0, 1, ANY, NULL, NULL, MODEL,                                                             \
      "--film", "KIND", 0, 0, "gamma|one-plus", "layers scale LN(x) by gamma (seed) or 1 + gamma (one-plus; sdlm)")    \
    /* the schedule's signal-to-noise scaled by S^2 */                                                                 \
    X(F32, shift, 1.0f, 1.0f, CONTINUOUS, "shift", NULL, CKPT,                                                         \
      "--shift", "S", 0.01, 100, NULL, "noise schedule's signal-to-noise times S^2; 1 is the seed's (sdlm: 1)")        \
    /* training times drawn by the learned CE curve (CDCD) */                                                          \
    X(FLAG, time_warp, 0, 1, CONTINUOUS, "time_warp", NULL, CKPT,                                                      \
      "--time-warp", NULL, 0, 0, NULL,                                                                                 \
      "draw training t by a learned CE curve, and space sampling steps by it (sdlm)")                                  \
    X(OFF, time_warp, 0, 0, ANY, NULL, NULL, FLAGS,                                                                    \
      "--no-time-warp", NULL, 0, 0, NULL, "uniform training t, as the seed")                                           \
    /* a sequence's gradient times (P + 1) t^P */                                                                      \
    X(F32, t_weight, 0.0f, 0.0f, CONTINUOUS, "t_weight", NULL, CKPT,                                                   \
      "--t-weight", "P", 0, 8, NULL,                                                                                   \
      "weight each sequence's loss by (P+1) t^P, toward noisy times; 0: off (seed, sdlm: 0)")                          \
    /* the embedding LayerNorm's affine stays (1, 0), so clean embeddings keep norm sqrt(E) and t keeps                \
     * its noise level */                                                                                              \
    X(FLAG, fixed_norm, 0, 1, ANY, "fixed_norm", NULL, CKPT_OR_SEED,                                                   \
      "--fixed-norm", NULL, 0, 0, NULL,                                                                                \
      "keep the embedding norm's scale at 1, so a time t keeps its noise level (sdlm)")                                \
    X(OFF, fixed_norm, 0, 0, ANY, NULL, NULL, FLAGS,                                                                   \
      "--learned-norm", NULL, 0, 0, NULL, "train the embedding norm's scale and shift, as the seed")                   \
    /* batches drawn from length-sorted windows of K batches (batcher.h) */                                            \
    X(INT, bucket, 0, 8, ANY, "bucket", NULL, CKPT_OR_SEED,                                                            \
      "--bucket", "K", 0, BATCHER_BUCKET_MAX, NULL,                                                                    \
      "batches of similar length, from length-sorted windows of K batches; 0: off (seed: 0, sdlm: 8)")                 \
    X(CHOICE_NUM, masks, MASK_SEED, MASK_MIXED, ANY, "masks", NULL, CKPT, /* MaskKind */                               \
      "--masks", "KIND", 0, 0, "seed|infill|mixed",                                                                    \
      "known tokens: seed, infill (prefix/suffix/middle/gaps) or mixed (sdlm)")                                        \
    X(F32, ema, 0.0f, 0.995f, ANY, "ema_decay", "ema", FLAGS,                                                          \
      "--ema", "DECAY", 0, 0.999999, NULL,                                                                             \
      "EMA of the weights, saved and used for sampling; 0: off (seed: off, sdlm: 0.995)")                              \
    /* NULL: no export; else the sampling weights (the EMA when kept) as F16 with the tokenizer */                     \
    X(STR, export_path, NULL, NULL, ANY, NULL, NULL, FLAGS,                                                            \
      "--export", "FILE", 0, 0, NULL,                                                                                  \
      "at the end also write FILE: F16 sampling weights (the EMA when kept), no optimiser state")                      \
    /* the vocabulary when a tokenizer must be trained first (0: do not) */                                            \
    X(INT, vocab, 2000, 2000, ANY, NULL, NULL, FLAGS,                                                                  \
      "--vocab", "N", 260, 1 << 20, NULL, "pieces of the tokenizer trained when none is given (2000)")                 \
    X(FLAG, recompute, 0, 0, ANY, NULL, NULL, FLAGS,                                                                   \
      "--recompute", NULL, 0, 0, NULL,                                                                                 \
      "keep fewer activations and redo them in the backward pass (less memory, a little slower)")                      \
    X(INT, chunk, 0, 0, ANY, NULL, NULL, FLAGS, /* 0: 32 */                                                            \
      "--chunk", "N", 1, 32, NULL, "sequences per forward/backward pass, at most 32; less is less memory (32)")

/* The field each kind declares (OFF: none). */
#define TS_FIELD_STR(f) const char *f;
#define TS_FIELD_INT(f) int f;
#define TS_FIELD_U64(f) uint64_t f;
#define TS_FIELD_I64(f) int64_t f;
#define TS_FIELD_F32(f) float f;
#define TS_FIELD_F64(f) double f;
#define TS_FIELD_FLAG(f) int f;
#define TS_FIELD_OFF(f)
#define TS_FIELD_CHOICE(f) int f;
#define TS_FIELD_CHOICE_NUM(f) int f;
#define TS_FIELD(kind, field, ...) TS_FIELD_##kind(field)

typedef struct {
    TRAIN_SETTINGS(TS_FIELD)
} TrainConfig;

typedef enum { TS_STR, TS_INT, TS_U64, TS_I64, TS_F32, TS_F64, TS_FLAG, TS_OFF, TS_CHOICE, TS_CHOICE_NUM } SettingKind;
typedef enum { TS_ANY, TS_MASKED, TS_CONTINUOUS } SettingFamily;
typedef enum { TS_FLAGS, TS_CKPT, TS_CKPT_OR_SEED, TS_MODEL } SettingResume;

/* One entry of the list, for the loops that write, read and parse settings. */
typedef struct {
    SettingKind kind;
    const char *field;     /* the TrainConfig field's name */
    size_t offset, size;   /* of the field in TrainConfig */
    SettingFamily family;
    const char *key, *json;
    SettingResume resume;
    const char *flags, *metavar;
    double lo, hi;
    const char *choices;   /* "seed|sdlm": value 0, 1, ... */
    const char *help;
} TrainSetting;

#define TS_COUNT(...) +1
enum { TRAIN_NSETTINGS = 0 TRAIN_SETTINGS(TS_COUNT) };
extern const TrainSetting train_settings[TRAIN_NSETTINGS];

/* The entry of a field (its first: an OFF entry follows its FLAG); NULL if none. */
const TrainSetting *train_setting_of(size_t offset);
#define TRAIN_SETTING(field) train_setting_of(offsetof(TrainConfig, field))

/* The seed's defaults (recipe seed). */
TrainConfig trainer_defaults(void);
/* Sets every setting on which the two recipes differ to recipe r's value (the model size, FiLM,
 * time warp, masks, EMA, the batch, lr and warm-up, the family...), the others untouched. Call it
 * before setting individual fields, which then override it. */
void trainer_apply_recipe(TrainConfig *c, Recipe r);

/* A CHOICE's name for value, written into out (NULL when out of range), and the value of a name
 * (-1 when none): TRAIN_SETTING(recipe) is the one recipe name <-> Recipe mapping. */
const char *train_choice_name(const TrainSetting *s, int value, char *out, size_t cap);
int train_choice_value(const TrainSetting *s, const char *name);
/* "seed, infill or mixed", for messages. */
void train_choices_text(const TrainSetting *s, char *out, size_t cap);

/* A masked model runs the continuous family's settings at the seed's values. */
void train_settings_for_family(TrainConfig *c, int masked);

enum { TRAIN_META_VALUE = 128 };
/* The settings a checkpoint keeps (for a masked model or not), as metadata: each entry's key, its
 * value written into values[i]. Returns how many (at most max), or -1 when max is too small. */
int train_settings_to_meta(const TrainConfig *c, int masked, StMeta *meta, char (*values)[TRAIN_META_VALUE], int max);
/* The history's run config: the model's shape, then the settings it keeps, as one JSON object. */
int train_settings_to_json(const TrainConfig *c, const Config *model, char *out, size_t cap);

/* Reads settings from a checkpoint's metadata into c. TRAIN_READ_RESUMED: those a resumed run
 * takes back (CKPT, CKPT_OR_SEED); TRAIN_READ_ALL: every kept one, a value it cannot take leaving
 * c's (call it on trainer_defaults() for what the checkpoint says, else the seed's). */
typedef enum { TRAIN_READ_RESUMED, TRAIN_READ_ALL } TrainRead;
void train_settings_from_meta(TrainConfig *c, const Checkpoint *ck, TrainRead which);

#endif
