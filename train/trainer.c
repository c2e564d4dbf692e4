/* trainer.c: the training loop on its own thread, and its API.
 *
 * The thread prepares (tokenizer, corpus index, model or resume, history),
 * trains until a budget is spent or it is told to stop, saves, and tells its
 * owner how it ended. Batches come from the batcher thread; each optimiser
 * step (trainer_step.c) takes `accum` batches. Every step's randomness comes
 * from a generator seeded by (seed, step), and the batches from (seed, epoch,
 * position), so a resumed run continues exactly as an uninterrupted one. BLAS
 * is taken through engine_lock for each step. Commands and progress cross
 * under one mutex, and a byte on the wake pipe says progress changed.
 *
 * Under MPI (dist.h) every rank runs this loop on the same config, and they
 * agree at each step on whether to stop; only rank 0 writes checkpoints,
 * exports and the history and makes samples.
 *
 * Not here: the preparing (trainer_prepare.c), one step (trainer_step.c),
 * saving (trainer_save.c), samples and probes (trainer_samples.c). */
#include "trainer_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "dist.h"
#include "engine_lock.h"
#include "fileguard.h"

enum { MAX_BAD_STEPS = 20, WARP_REFIT_EVERY = 20 };

const char *train_state_name(TrainState s) {
    static const char *names[] = {"idle",     "preparing", "running", "paused",
                                  "stopping", "finished",  "stopped", "failed"};
    return s >= 0 && s <= TRAIN_FAILED ? names[s] : "?";
}

/* ---- small shared things ------------------------------------------------------------------ */

void trainer_wake(Trainer *t) {
    if (t->wake_fd >= 0) {
        char c = 't';
        ssize_t rc = write(t->wake_fd, &c, 1);
        (void)rc; /* a full pipe already holds a wake-up */
    }
}

void trainer_set_state(Trainer *t, TrainState s, const char *fmt, ...) {
    pthread_mutex_lock(&t->mu);
    t->prog.state = s;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->prog.message, sizeof t->prog.message, fmt, ap);
        va_end(ap);
    }
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    trainer_wake(t);
}

double trainer_elapsed(const Trainer *t) { return t->elapsed_before + now_s() - t->session_start; }

void trainer_history_failed(Trainer *t, const Err *e) {
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.message, sizeof t->prog.message, "history unavailable: %.480s", e->msg);
    snprintf(t->prog.history_error, sizeof t->prog.history_error, "%s", t->prog.message);
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    store_close(t->store);
    t->store = NULL;
}

void trainer_flush_metrics(Trainer *t) {
    if (!t->npending) return;
    Err e;
    if (t->store && store_add_metrics(t->store, t->run_id, t->pending, t->npending, &e)) trainer_history_failed(t, &e);
    t->npending = 0;
}

void trainer_problem(Trainer *t, ProblemKind kind, const Err *e) {
    static const char *what[PROBLEM_KINDS] = {"samples", "probe infills"};
    if (!strcmp(t->last_problem[kind], e->msg)) return; /* told already */
    snprintf(t->last_problem[kind], sizeof t->last_problem[kind], "%s", e->msg);
    char note[512];
    snprintf(note, sizeof note, "step %lld: %s failed: %.440s", (long long)t->step, what[kind], e->msg);
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.problem, sizeof t->prog.problem, "%s", note);
    t->prog.problems++;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    trainer_wake(t);
    Err he;
    if (t->store && store_run_note(t->store, t->run_id, note, &he)) trainer_history_failed(t, &he);
}

/* ---- progress ----------------------------------------------------------------------------- */

static int64_t total_steps(const Trainer *t) {
    int64_t per_epoch = batcher_per_epoch(corpus_count(&t->corpus), t->cfg.batch);
    int64_t by_epochs = (per_epoch * t->cfg.epochs + t->cfg.accum - 1) / t->cfg.accum;
    return t->cfg.max_steps > 0 && t->cfg.max_steps < by_epochs ? t->cfg.max_steps : by_epochs;
}

/* Keeps every hist_stride-th point of the curve; when full, drops every other one and doubles
 * the stride. Under the mutex. */
static void keep_curve_point(Trainer *t, const TrainPoint *p) {
    TrainProgress *g = &t->prog;
    if (++t->hist_skip < t->hist_stride) return;
    t->hist_skip = 0;
    if (g->nhistory == TRAIN_HISTORY) {
        for (int i = 0; i < TRAIN_HISTORY / 2; i++) g->history[i] = g->history[2 * i];
        g->nhistory = TRAIN_HISTORY / 2;
        t->hist_stride *= 2;
    }
    g->history[g->nhistory++] = *p;
}

/* A step's figures: into the history (in batches) and the progress. */
static void record(Trainer *t, const StepResult *r, double dt) {
    TrainPoint p = {.step = t->step, .epoch = t->epoch, .loss = r->loss.loss, .mse = r->loss.mse, .ce = r->loss.ce,
                    .accuracy = r->loss.accuracy, .lr = r->lr, .grad_norm = r->grad_norm,
                    .tokens_per_s = dt > 0 ? r->tokens / dt : 0, .wall_s = trainer_elapsed(t), .skipped = r->skipped};
    t->pending[t->npending++] = p;
    if (t->npending == METRIC_FLUSH) trainer_flush_metrics(t);
    t->step_time_avg = t->step_time_avg ? 0.9 * t->step_time_avg + 0.1 * dt : dt;

    pthread_mutex_lock(&t->mu);
    TrainProgress *g = &t->prog;
    g->step = t->step;
    g->epoch = (int)t->epoch;
    g->last = p;
    g->elapsed_s = p.wall_s;
    g->total_steps = total_steps(t);
    g->eta_s = (g->total_steps - t->step) * t->step_time_avg;
    if (t->cfg.max_minutes > 0) {
        double left = t->cfg.max_minutes * 60 - (now_s() - t->session_start);
        if (left < g->eta_s) g->eta_s = left > 0 ? left : 0;
    }
    g->nan_skips += r->skipped;
    for (int k = 0; k < TRAIN_TBUCKETS; k++)
        g->t_accuracy[k] = t->tacc_n[k] > 0 ? (float)(t->tacc_sum[k] / t->tacc_n[k]) : -1;
    keep_curve_point(t, &p);
    g->serial++;
    pthread_mutex_unlock(&t->mu);
    trainer_wake(t);
}

/* ---- the thread's outline --------------------------------------------------------------------- */

/* How the run ends: the state the owner sees, the status the history keeps, and why. */
typedef struct {
    TrainState state;
    RunStatus status;
    char why[600];
} Ending;

static void end_failed(Ending *end, const char *why) {
    end->state = TRAIN_FAILED, end->status = RUN_FAILED;
    snprintf(end->why, sizeof end->why, "%s", why);
}

/* Corpus, model (or resume), room on disk, history and batcher, then the progress's first
 * figures. Every rank prepares, or none trains (the others would wait for it forever): -1 when
 * any failed. A history that cannot be used is no failure: *running says so instead. */
static int prepare(Trainer *t, char *running, size_t cap, Err *e) {
    trainer_set_state(t, TRAIN_PREPARING, "indexing %s", t->corpus_path);
    int bad = corpus_open(&t->corpus, t->corpus_path, e);
    t->corpus_open = !bad;
    if (!bad) {
        pthread_mutex_lock(&t->mu); /* kept apart: the message below is soon replaced */
        snprintf(t->prog.corpus_summary, sizeof t->prog.corpus_summary, "%s", corpus_summary(&t->corpus));
        pthread_mutex_unlock(&t->mu);
        trainer_set_state(t, TRAIN_PREPARING, "%s", corpus_summary(&t->corpus));
    }
    if (dist_any(bad)) return -1;
    if (dist_any(trainer_prepare_model(t, e) ||
                 (t->rank == 0 && ckptguard_probe_space(t->ckpt_path, trainer_ckpt_bytes(t), e))))
        return -1;
    trainer_share_state(t);
    Err he;
    if (trainer_prepare_history(t, &he)) {
        if (t->store) store_close(t->store);
        t->store = NULL;
        snprintf(running, cap, "history unavailable: %.480s", he.msg);
        pthread_mutex_lock(&t->mu);
        snprintf(t->prog.history_error, sizeof t->prog.history_error, "%.500s", running);
        pthread_mutex_unlock(&t->mu);
    }
    BatcherConfig bc = {&t->corpus, t->spm, t->cfg.batch, t->cfg.crop_len, t->cfg.seed,
                        (MaskKind)t->cfg.masks, t->epoch, t->index, t->cfg.bucket};
    if (dist_any(batcher_start(&t->batcher, &bc, e))) return -1;
    pthread_mutex_lock(&t->mu);
    t->prog.ranks = t->ranks;
    t->prog.masked = t->model.cfg.masked;
    t->prog.run_id = t->run_id;
    t->prog.examples = corpus_count(&t->corpus);
    t->prog.epochs = t->cfg.epochs;
    t->prog.step = t->step;
    t->prog.epoch = (int)t->epoch;
    t->prog.total_steps = total_steps(t);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

/* Waits while paused (saying so once, with the metrics flushed), then takes the commands. */
static void take_commands(Trainer *t, int *stop, int *save_now) {
    pthread_mutex_lock(&t->mu);
    while (t->want_pause && !t->want_stop && !t->want_save) {
        if (t->prog.state != TRAIN_PAUSED) {
            t->prog.state = TRAIN_PAUSED;
            t->prog.serial++;
            pthread_mutex_unlock(&t->mu);
            trainer_wake(t);
            trainer_flush_metrics(t);
            pthread_mutex_lock(&t->mu);
            continue;
        }
        pthread_cond_wait(&t->cv, &t->mu);
    }
    *stop = t->want_stop, *save_now = t->want_save;
    t->want_save = 0;
    if (t->prog.state == TRAIN_PAUSED && !t->want_pause) t->prog.state = TRAIN_RUNNING, t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
}

/* The step, epoch or time budget is spent (the ranks agree on the time). */
static int budget_spent(const Trainer *t) {
    if (t->cfg.max_steps > 0 && t->step >= t->cfg.max_steps) return 1;
    if (t->epoch >= t->cfg.epochs) return 1;
    return dist_any(t->cfg.max_minutes > 0 && now_s() - t->session_start >= t->cfg.max_minutes * 60);
}

/* --decay-to-end's share of the budget spent: by steps when there is a step budget (exact on
 * resume), else by time. */
static void measure_budget(Trainer *t) {
    if (!t->cfg.decay_end) return;
    double done = t->cfg.max_steps > 0 ? (double)t->step / (double)t->cfg.max_steps
                                       : (now_s() - t->session_start) / (t->cfg.max_minutes * 60);
    dist_sum_doubles(&done, 1); /* ranks' clocks differ a little: they must use one lr */
    t->budget_done = done / t->ranks;
}

/* A save the user asked for; -1 (e filled) when failed saves end the run. */
static int save_on_request(Trainer *t, Err *e) {
    if (trainer_untrained(t)) {
        trainer_set_state(t, TRAIN_RUNNING, "not saved: no step trained yet");
        return 0;
    }
    return trainer_save(t, e) ? trainer_save_failed(t, e) : 0;
}

/* The periodic save, and the probes of what it saved; -1 (e filled) when failed saves end the run. */
static int save_on_schedule(Trainer *t, Err *e) {
    if (trainer_save(t, e)) return trainer_save_failed(t, e);
    t->save_fails = 0;
    Err pe;
    if (trainer_run_probes(t, &pe)) trainer_problem(t, PROBLEM_PROBES, &pe);
    return 0;
}

/* One step and what follows it: its record, the count of non-finite steps, the save policy,
 * the samples of a new epoch. -1 when the run ends here (end filled). */
static int train_one(Trainer *t, Ending *end, Err *e) {
    measure_budget(t);
    StepResult r;
    double t0 = now_s();
    engine_lock();
    int rc = trainer_step(t, &r, e);
    engine_unlock();
    if (rc && t->ranks > 1) dist_abort(e->msg); /* the other ranks wait in the all-reduce */
    if (rc) return end_failed(end, e->msg), -1;
    t->step++;
    if (t->cfg.time_warp && t->step % WARP_REFIT_EVERY == 0) warp_refit(&t->warp);
    record(t, &r, now_s() - t0);
    t->bad_in_row = r.skipped ? t->bad_in_row + 1 : 0;
    if (t->bad_in_row >= MAX_BAD_STEPS) { /* not saved: the weights on disk are the last good ones */
        err_set(e, "stopped after %d steps in a row with a non-finite loss or gradient; %s holds the last good weights",
                MAX_BAD_STEPS, t->ckpt_path);
        return end_failed(end, e->msg), -1;
    }
    int save_due = (t->cfg.save_every > 0 && t->step % t->cfg.save_every == 0) || r.epoch_ended;
    if (!r.skipped && save_due && save_on_schedule(t, e)) return end_failed(end, e->msg), -1;
    Err se;
    if (r.epoch_ended && trainer_make_samples(t, &se)) trainer_problem(t, PROBLEM_SAMPLES, &se);
    return 0;
}

/* Steps until a budget is spent or a stop is agreed; -1 when the run failed (end filled). */
static int train(Trainer *t, Ending *end, Err *e) {
    for (;;) {
        int stop, save_now;
        take_commands(t, &stop, &save_now);
        if (save_now && save_on_request(t, e)) return end_failed(end, e->msg), -1;
        if (dist_any(stop)) { /* a signal may reach the ranks at different steps: they stop at the same one */
            end->state = TRAIN_STOPPED, end->status = RUN_STOPPED;
            return 0;
        }
        if (budget_spent(t)) return 0;
        if (!save_now && train_one(t, end, e)) return -1;
    }
}

/* The last save, the export and the probes of the final weights. */
static void finish(Trainer *t, Ending *end, Err *e) {
    trainer_set_state(t, TRAIN_STOPPING, "saving %s", t->ckpt_path);
    if (trainer_untrained(t)) {
        snprintf(end->why, sizeof end->why, "stopped before the first step: nothing saved");
    } else if (trainer_save(t, e)) {
        char why[600];
        snprintf(why, sizeof why, "could not save: %.580s", e->msg);
        end_failed(end, why);
    } else if (t->cfg.export_path && trainer_export(t, e)) {
        end_failed(end, e->msg);
    } else {
        Err pe;
        if (trainer_run_probes(t, &pe)) trainer_problem(t, PROBLEM_PROBES, &pe);
        snprintf(end->why, sizeof end->why, "%s at step %lld; saved %.250s%s%.250s",
                 end->state == TRAIN_STOPPED ? "stopped" : "finished", (long long)t->step, t->ckpt_path,
                 t->cfg.export_path ? ", exported " : "", t->cfg.export_path ? t->cfg.export_path : "");
    }
}

/* The batcher stopped, the history told, the checkpoint free for another run, the owner told. */
static void wind_up(Trainer *t, const Ending *end) {
    batcher_stop(t->batcher);
    t->batcher = NULL;
    if (t->store) {
        Err se;
        store_run_end(t->store, t->run_id, end->status, &se);
    }
    ckptguard_unlock(&t->lock); /* nothing more is written: another run may take the checkpoint */
    trainer_set_state(t, end->state, "%s", end->why);
}

static void *run(void *arg) {
    Trainer *t = arg;
    Ending end = {TRAIN_FINISHED, RUN_FINISHED, ""};
    Err e = {{0}};
    char running[600] = "training";
    t->session_start = now_s();
    if (prepare(t, running, sizeof running, &e)) { /* this rank's error, or another's */
        end_failed(&end, e.msg[0] ? e.msg : "another rank failed to prepare (see its message)");
        wind_up(t, &end);
        return NULL;
    }
    trainer_set_state(t, TRAIN_RUNNING, "%s", running);
    Err se;
    if (trainer_make_samples(t, &se)) trainer_problem(t, PROBLEM_SAMPLES, &se);
    if (!train(t, &end, &e)) finish(t, &end, &e);
    trainer_flush_metrics(t);
    wind_up(t, &end);
    return NULL;
}

/* ---- the API ---------------------------------------------------------------------------------- */

/* The flags in range and the files usable, before a thread is started. */
static int check_config(const TrainConfig *c, Err *e) {
    if (!c->corpus || !c->corpus[0]) return err_set(e, "no corpus: give -d FILE (one example per line)");
    if (!c->ckpt || !c->ckpt[0])
        return err_set(e, "no checkpoint path: give -ckpt FILE (created, or resumed when it exists)");
    if (c->epochs < 1 || c->batch < 1 || c->accum < 1 || c->crop_len < 2 || c->crop_len > 4096)
        return err_set(e, "epochs, batch and accumulation must be >= 1 and the crop length 2..4096");
    if (!(c->lr > 0) || c->warmup < 0 || c->decay_steps < 0 || c->weight_decay < 0)
        return err_set(e, "the learning rate must be positive; warm-up, decay and weight decay not negative");
    if (c->ema < 0 || c->ema >= 1) return err_set(e, "--ema must be in [0, 1)");
    CkptPaths guard = {c->ckpt, c->corpus, c->spm, c->export_path};
    if (dist_rank() == 0 && ckptguard_preflight(&guard, e)) return -1;
    if (c->spm && !fileguard_is_regular(c->spm)) return err_set(e, "tokenizer %s: no such file", c->spm);
    struct stat st;
    if (stat(c->corpus, &st)) return err_set(e, "%s: %s", c->corpus, strerror(errno));
    return 0;
}

int trainer_start(Trainer **out, const TrainConfig *cfg, int wake_fd, Err *e) {
    *out = NULL;
    if (check_config(cfg, e)) return -1;
    Trainer *t = calloc(1, sizeof *t);
    if (!t) return err_set(e, "out of memory");
    t->cfg = *cfg;
    /* the paths are the trainer's own copies: the caller's strings may not outlive it */
    snprintf(t->corpus_path, sizeof t->corpus_path, "%s", cfg->corpus);
    snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s", cfg->ckpt);
    if (cfg->export_path) {
        snprintf(t->export_path, sizeof t->export_path, "%s", cfg->export_path);
        t->cfg.export_path = t->export_path;
    }
    t->cfg.corpus = t->corpus_path;
    t->cfg.ckpt = t->ckpt_path;
    if (!(t->cfg.mask_t_power > 0)) t->cfg.mask_t_power = 1.0f; /* 0 reads as 1: uniform rates */
    t->wake_fd = wake_fd;
    t->rank = dist_rank(), t->ranks = dist_size();
    t->lock.fd = -1;
    if (t->rank == 0 && ckptguard_lock(&t->lock, cfg->ckpt, e)) return free(t), -1;
    t->hist_stride = 1;
    for (int k = 0; k < TRAIN_TBUCKETS; k++) t->prog.t_accuracy[k] = -1;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->thread, NULL, run, t)) {
        trainer_free(t);
        return err_set(e, "cannot start the training thread");
    }
    t->started = 1;
    *out = t;
    return 0;
}

static void command(Trainer *t, int *flag, int value) {
    pthread_mutex_lock(&t->mu);
    *flag = value;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void trainer_pause(Trainer *t) { command(t, &t->want_pause, 1); }
void trainer_resume(Trainer *t) { command(t, &t->want_pause, 0); }
void trainer_save_now(Trainer *t) { command(t, &t->want_save, 1); }
void trainer_stop(Trainer *t) { command(t, &t->want_stop, 1); }

void trainer_progress(Trainer *t, TrainProgress *out) {
    pthread_mutex_lock(&t->mu);
    *out = t->prog;
    pthread_mutex_unlock(&t->mu);
}

TrainState trainer_join(Trainer *t) {
    if (t->started && !t->joined) {
        pthread_join(t->thread, NULL);
        t->joined = 1;
    }
    return t->prog.state;
}

void trainer_free(Trainer *t) {
    if (!t) return;
    if (t->started && !t->joined) {
        trainer_stop(t);
        trainer_join(t);
    }
    batcher_stop(t->batcher);
    batch_free(&t->batch);
    workspace_free(&t->ws);
    workspace_free(&t->ws_eval);
    params_unbind(&t->g);
    model_free(&t->model);
    free(t->grad), free(t->adam_m), free(t->adam_v), free(t->ema), free(t->zbuf), free(t->rowstat);
    free(t->mvis), free(t->mtime), free(t->mweight);
    if (t->spm) spm_free(t->spm);
    if (t->corpus_open) corpus_close(&t->corpus);
    if (t->store) store_close(t->store);
    ckptguard_unlock(&t->lock);
    ckpt_free(&t->foreign);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
