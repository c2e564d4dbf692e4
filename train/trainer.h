/* trainer.h: the training loop as a library. A Trainer runs on its own
 * pthread: it reads the corpus, prepares batches on a worker thread ahead of
 * it, takes optimiser steps, checkpoints atomically, and records the run in
 * the history. Its owner (`sdlm train`, or the editor's training screen)
 * sends commands and reads progress snapshots; nothing here prints or
 * touches a terminal.
 *
 * Every setting (the seed's flags with their defaults, sdlm's own, the recipe
 * that sets several at once) is one entry of TRAIN_SETTINGS in
 * train_settings.h, which makes the TrainConfig struct.
 *
 * Under mpirun (dist.h) every rank runs a Trainer with the same config; the
 * ranks share each global batch and reach the same weights, and only rank 0
 * writes files. Pause and save-now are for a one-rank trainer (the editor). */
#ifndef SDLM_TRAINER_H
#define SDLM_TRAINER_H

#include <stdint.h>

#include "err.h"
#include "metric.h"
#include "train_settings.h"

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
    int masked;             /* the masked family: its loss is the cross-entropy, it has no mse */
    TrainPoint last;        /* the latest step */
    double elapsed_s, eta_s;
    char last_ckpt[1024];
    int64_t last_ckpt_step;
    char corpus_summary[512]; /* the corpus as indexed: lines, size, what was repaired ("fixed 3 with invalid UTF-8") */
    char save_error[512];   /* the latest failed save: "step N: saving failed: why" */
    int save_errors;        /* failed saves so far: a change means a new one to tell */
    char problem[512];      /* the latest failure that did not stop training: "step N: samples failed: why" */
    int problems;           /* such failures told so far: a change means a new one to tell */
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
