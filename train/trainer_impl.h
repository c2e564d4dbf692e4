/* trainer_impl.h: what the trainer's files share. Not for other modules:
 * they use trainer.h.
 *
 *   trainer.c          the API, the thread's outline (prepare, train, finish) and progress
 *   trainer_prepare.c  the tokenizer, the corpus, the model or its resume, the history's run
 *   trainer_step.c     one optimiser step, each rank its shard of the batch
 *   trainer_save.c     checkpoints: metadata, saving, exporting, failed saves
 *   trainer_samples.c  the samples and probe infills shown while training */
#ifndef SDLM_TRAINER_IMPL_H
#define SDLM_TRAINER_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "batch.h"
#include "batcher.h"
#include "ckpt.h"
#include "ckptguard.h"
#include "corpus.h"
#include "diffusion.h"
#include "model.h"
#include "spm.h"
#include "store.h"
#include "timewarp.h"
#include "trainer.h"

enum { CHUNK = 32, METRIC_FLUSH = 50 };
enum { ROW_T, ROW_CORRECT, ROW_TARGETS, ROW_CE, ROWSTAT }; /* rowstat columns */
/* Failures that do not stop training: each is told in the progress and the run's notes, once
 * until its message changes (trainer_problem). */
typedef enum { PROBLEM_SAMPLES, PROBLEM_PROBES, PROBLEM_KINDS } ProblemKind;

struct Trainer {
    TrainConfig cfg;
    char corpus_path[1024], spm_path[1024], ckpt_path[1024], db_path[1024], export_path[1024];
    int wake_fd;
    pthread_t thread;
    int started, joined;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* commands (under mu) */
    int want_pause, want_stop, want_save;
    /* progress (under mu) */
    TrainProgress prog;
    int hist_stride, hist_skip;
    /* the thread's own state */
    Corpus corpus;
    int corpus_open;
    Spm *spm;
    Model model;
    Workspace ws, ws_eval;
    float *grad, *adam_m, *adam_v, *ema;
    Params g;
    int64_t step;         /* training steps done (skipped updates included) */
    int64_t adam_steps_taken; /* optimiser updates applied */
    int64_t epoch, index; /* next data position */
    float *zbuf;          /* [CHUNK, crop, E] noise of one chunk */
    float tbuf[CHUNK];
    float wbuf[CHUNK];    /* --t-weight: each sequence's loss weight */
    int chunk;            /* sequences per pass (<= CHUNK) */
    int seq_correct[CHUNK], seq_targets[CHUNK];
    float seq_ce[CHUNK];
    float *rowstat;       /* [batch, ROWSTAT] per row of the global batch, summed over ranks */
    uint8_t *mvis;        /* [batch, crop] masked family: the visible positions of the global batch */
    float *mtime, *mweight; /* [batch] masked family: each row's time input (hidden share) and loss weight */
    double budget_done;   /* --decay-to-end: the share of the step or time budget spent, agreed by the ranks */
    int rank, ranks;      /* this process in the job (dist.h); 0 of 1 without MPI */
    TimeWarp warp;
    double tacc_sum[TRAIN_TBUCKETS], tacc_n[TRAIN_TBUCKETS];
    int bad_in_row;
    double step_time_avg;
    double session_start; /* now_s() when this session's thread began */
    double elapsed_before; /* training seconds of earlier sessions of this run */
    Store *store;
    int64_t run_id;
    Metric pending[METRIC_FLUSH];
    int npending;
    char last_problem[PROBLEM_KINDS][512]; /* the latest of each kind told, so a repeat is not told again */
    Batcher *batcher;
    Batch batch;
    CkptLock lock;        /* held from trainer_start to trainer_free (rank 0) */
    int save_fails;       /* periodic saves failed in a row */
    int64_t first_failed_save; /* the step of the first of them */
    Checkpoint foreign;   /* only .foreign: the resumed file's tensors of other tools, saved back as they were */
};

/* What one optimiser step did. */
typedef struct {
    LossStats loss;
    double grad_norm;
    float lr;
    long tokens;
    int skipped, epoch_ended;
} StepResult;

/* trainer.c: progress and its messages */
void trainer_wake(Trainer *t);
void trainer_set_state(Trainer *t, TrainState s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void trainer_problem(Trainer *t, ProblemKind kind, const Err *e);
/* History problems never stop training: they are reported once and recording stops. */
void trainer_history_failed(Trainer *t, const Err *e);
void trainer_flush_metrics(Trainer *t);
double trainer_elapsed(const Trainer *t); /* training seconds of this run, earlier sessions included */
int fileguard_is_regular(const char *path);

/* trainer_prepare.c: every rank prepares, or none trains (dist_any) */
int trainer_prepare_model(Trainer *t, Err *e);
void trainer_share_state(Trainer *t);
int trainer_prepare_history(Trainer *t, Err *e);

/* trainer_step.c: runs `accum` batches and one update; holds BLAS */
int trainer_step(Trainer *t, StepResult *res, Err *e);

/* trainer_save.c */
int trainer_untrained(const Trainer *t); /* no step trained: nothing to save */
int trainer_save(Trainer *t, Err *e);
/* A periodic save failed: told at once; -1 (e saying why the run stops) after too many in a row. */
int trainer_save_failed(Trainer *t, Err *e);
int trainer_export(Trainer *t, Err *e);
uint64_t trainer_ckpt_bytes(const Trainer *t); /* about what a checkpoint of this run takes on disk */

/* trainer_samples.c: rank 0 makes them (the others return 0); a failure is the caller's to tell */
int trainer_make_samples(Trainer *t, Err *e);
int trainer_run_probes(Trainer *t, Err *e);

#endif
