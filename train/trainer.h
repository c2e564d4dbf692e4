/* trainer.h: the training loop as a library. A Trainer runs on its own
 * pthread: it reads the corpus, prepares batches on a worker thread ahead of
 * it, takes optimiser steps, checkpoints atomically, and records the run in
 * the history. Its owner (`sdlm train`, or the editor's training screen)
 * sends commands and reads progress snapshots; nothing here prints or
 * touches a terminal.
 *
 * Every seed flag has a field here with the seed's default (see
 * trainer_defaults); `recipe` selects sdlm's improved recipe or the seed's.
 *
 * Under mpirun (dist.h) every rank runs a Trainer with the same config; the
 * ranks share each global batch and reach the same weights, and only rank 0
 * writes files. Pause and save-now are for a one-rank trainer (the editor). */
#ifndef SDLM_TRAINER_H
#define SDLM_TRAINER_H

#include <stdint.h>

#include "err.h"
#include "metric.h"

typedef enum { RECIPE_SEED, RECIPE_SDLM } Recipe;
/* The masked family's loss: ELBO weights a sequence's hidden cross-entropy by 1/t, which with t its hidden
 * share averages each sequence over its own hidden positions; mean averages every hidden token alike. */
enum { MASK_LOSS_ELBO, MASK_LOSS_MEAN };

typedef struct {
    /* files */
    const char *corpus;     /* -d: one example per line */
    const char *spm;        /* -spm: tokenizer model; NULL: the one inside the checkpoint */
    const char *ckpt;       /* -ckpt: checkpoint path; resumed when it exists */
    const char *db;         /* --db: history database; NULL: default; "" : none */
    /* the seed's flags */
    int epochs;             /* -ep 100 */
    int batch;              /* -b 256 */
    float lr;               /* -lr 1e-4 */
    int warmup;             /* -wup 2000 */
    int decay_steps;        /* -decs 800000 */
    float weight_decay;     /* -wd 1e-4 */
    int accum;              /* -acc 1 */
    int E, D, NL;           /* -edim 64 -mdim 512 -numl 8 */
    float dropout;          /* -do 0.1 */
    float layerdrop;        /* -ld 0.0 */
    int crop_len;           /* -cl 64 */
    int ngen;               /* -ngen 8 samples printed at start and after each epoch */
    /* sdlm's */
    uint64_t seed;          /* --seed 0 */
    int64_t max_steps;      /* --steps: stop after this many optimiser steps in total (0: no limit) */
    double max_minutes;     /* --minutes: stop after this much wall-clock time this session (0: no limit) */
    int save_every;         /* --save-every 500 */
    float ema;              /* --ema DECAY (0: off) */
    int recompute;          /* --recompute: the backward redoes each layer's products (less memory) */
    int chunk;              /* --chunk N: sequences per forward/backward pass, at most 32 (0: 32) */
    Recipe recipe;          /* --recipe sdlm|seed (sets the four below unless given) */
    int film_one_plus;      /* --film one-plus: layers scale by 1 + gamma (seed: gamma, near 0 at init) */
    float shift;            /* --shift S: the schedule's signal-to-noise scaled by S^2 (1: the seed's) */
    int time_warp;          /* --time warp: training times drawn by the learned CE curve (CDCD) */
    float t_weight;         /* --t-weight P: a sequence's gradient times (P + 1) t^P (0: off, the seed's) */
    int fixed_norm;         /* --fixed-norm: the embedding LayerNorm's affine stays (1, 0), so clean
                             * embeddings keep norm sqrt(E) and t keeps its noise level (0: learned, the seed's) */
    int masks;              /* --masks seed|infill|mixed (MaskKind) */
    int bucket;             /* --bucket K: batches drawn from length-sorted windows of K batches (batcher.h);
                             * 0: off, the seed's */
    int decay_end;          /* --decay-to-end: after warm-up the lr falls linearly to 0.1 x lr at the end of the
                             * --steps (or else --minutes) budget, instead of over -decs steps */
    int masked;             /* --family masked: the masked-diffusion family (src/masked.h); 0: the seed's */
    int mask_loss;          /* --mask-loss: MASK_LOSS_ELBO or MASK_LOSS_MEAN (masked family only) */
    float mask_t_power;     /* --mask-t-power P: training mask rates t = u^P, u uniform; 1: uniform (0 reads as 1) */
    int vocab;              /* vocabulary when a tokenizer must be trained first (0: do not) */
    const char *export_path; /* --export FILE: at the end, also write the sampling weights (the EMA when
                              * kept) as F16 with the tokenizer and metadata, no optimiser state (NULL: no) */
} TrainConfig;

TrainConfig trainer_defaults(void);
/* Sets the recipe's choices on c: FiLM, shift, time warp, masks, EMA, and
 * the batch, learning rate and warm-up (seed: its defaults; sdlm: presets
 * for a CPU). Call it before setting individual fields, which then override. */
void trainer_apply_recipe(TrainConfig *c, Recipe r);

typedef enum {
    TRAIN_IDLE, TRAIN_PREPARING, TRAIN_RUNNING, TRAIN_PAUSED, TRAIN_STOPPING, TRAIN_FINISHED, TRAIN_STOPPED,
    TRAIN_FAILED
} TrainState;

const char *train_state_name(TrainState s);

/* One step's figures, as the history keeps them (metric.h). */
typedef Metric TrainPoint;

enum { TRAIN_HISTORY = 4096, TRAIN_SAMPLES = 8, TRAIN_PROBES = 4, TRAIN_TBUCKETS = 10 };

typedef struct {
    TrainState state;
    char message[512];      /* what is happening, or why it failed */
    char history_error[512];/* why the run is not being recorded in the history; "" while it is */
    int64_t run_id;         /* in the history, 0 when none */
    int64_t step, total_steps;
    int epoch, epochs;
    int64_t examples;       /* corpus lines */
    int ranks;              /* processes training data-parallel (mpirun -np N; 1 without MPI) */
    TrainPoint last;        /* the latest step */
    double elapsed_s, eta_s;
    char last_ckpt[1024];
    int64_t last_ckpt_step;
    char corpus_summary[512]; /* the corpus as indexed: lines, size, what was repaired ("fixed 3 with invalid UTF-8") */
    char save_error[512];   /* the latest failed save: "step N: saving failed: why" */
    int save_errors;        /* failed saves so far: a change means a new one to tell */
    int nan_skips;
    /* the curve for plots: up to TRAIN_HISTORY points, thinned evenly as it grows */
    TrainPoint history[TRAIN_HISTORY];
    int nhistory;
    char samples[TRAIN_SAMPLES][256]; /* the latest samples printed (start, each epoch) */
    int nsamples;
    int samples_round;      /* incremented whenever new samples are made */
    /* probe infills of fixed templates, re-run at each checkpoint */
    char probe_template[TRAIN_PROBES][128], probe_result[TRAIN_PROBES][256];
    int nprobes;
    /* one-step denoising accuracy by t bucket [0,0.1) .. [0.9,1], running mean (-1: no data yet) */
    float t_accuracy[TRAIN_TBUCKETS];
    uint64_t serial;        /* changes whenever progress does */
} TrainProgress;

typedef struct Trainer Trainer;

/* Validates cfg (files readable, flags in range), then starts the thread,
 * which prepares (tokenizer, corpus index, model or resume) and trains. */
int trainer_start(Trainer **out, const TrainConfig *cfg, int wake_fd, Err *e);
void trainer_pause(Trainer *t);
void trainer_resume(Trainer *t);
void trainer_save_now(Trainer *t);
/* Finishes the current step, saves, records and ends the thread. */
void trainer_stop(Trainer *t);
/* Copies the progress (under the trainer's mutex). */
void trainer_progress(Trainer *t, TrainProgress *out);
/* Waits for the thread to end; returns the final state. */
TrainState trainer_join(Trainer *t);
void trainer_free(Trainer *t);

#endif
