/* trainer.c: the training loop on its own thread.
 *
 * Prepare (tokenizer, corpus index, model or resume, history), then step:
 * batches come from the batcher thread; each optimiser step takes `accum`
 * batches, each cut into chunks of at most CHUNK sequences whose losses are
 * weighted by their share of the targets, so the gradient is the seed's
 * whatever the chunking (and the workspace stays small); a non-finite loss
 * or gradient skips the update. Every step's randomness (t, z, the
 * self-conditioning coin, dropout) comes from a generator seeded by (seed,
 * step), and the batches from (seed, epoch, position), so a resumed run
 * continues exactly as an uninterrupted one. BLAS is taken through
 * engine_lock for each step. Commands and progress cross under one mutex.
 *
 * Under MPI (dist.h) every rank builds the same global batch and computes
 * its own rows (a contiguous shard); each row's t and noise come from a
 * generator seeded by (seed, step, batch, row), so a shard draws what one
 * rank would for those rows. Losses are weighted by the rows' share of the
 * global batch's targets, so summing the gradient block over ranks (one
 * MPI_Allreduce after backward) gives the one-rank gradient; the per-row
 * statistics (t, accuracy, CE) are summed too and observed in row order, so
 * the time warp and the curves are the same for any number of ranks, and so
 * are the weights: a checkpoint does not depend on the rank count. Only rank
 * 0 writes checkpoints, exports and the history and makes samples; stopping
 * is agreed by all ranks at each step. */
#include "trainer.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adamw.h"
#include "batcher.h"
#include "ckpt.h"
#include "ckptguard.h"
#include "diffusion.h"
#include "dist.h"
#include "engine_lock.h"
#include "infill.h"
#include "masked.h"
#include "model.h"
#include "paths.h"
#include "store.h"
#include "timewarp.h"
#include "clock.h"

enum { CHUNK = 32, MAX_BAD_STEPS = 20, SAVE_FAILS_MAX = 3, METRIC_FLUSH = 50, INFILL_PROBE_MAX = 256, WARP_REFIT_EVERY = 20 };
enum { ROW_T, ROW_CORRECT, ROW_TARGETS, ROW_CE, ROWSTAT }; /* rowstat columns */

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
    double elapsed_before; /* training seconds of earlier sessions of this run */
    Store *store;
    int64_t run_id;
    Metric pending[METRIC_FLUSH];
    int npending;
    Batcher *batcher;
    Batch batch;
    CkptLock lock;        /* held from trainer_start to trainer_free (rank 0) */
    int save_fails;       /* periodic saves failed in a row */
    int64_t first_failed_save; /* the step of the first of them */
    Checkpoint foreign;   /* only .foreign: the resumed file's tensors of other tools, saved back as they were */
};

const char *train_state_name(TrainState s) {
    static const char *names[] = {"idle", "preparing", "running", "paused", "stopping", "finished", "stopped", "failed"};
    return s >= 0 && s <= TRAIN_FAILED ? names[s] : "?";
}

static void wake(Trainer *t) {
    if (t->wake_fd >= 0) {
        char c = 't';
        ssize_t rc = write(t->wake_fd, &c, 1);
        (void)rc; /* a full pipe already holds a wake-up */
    }
}

/* Updates the progress under the mutex: call with a function that edits it. */
static void set_state(Trainer *t, TrainState s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_state(Trainer *t, TrainState s, const char *fmt, ...) {
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
    wake(t);
}

static int file_exists(const char *p) {
    struct stat st;
    return p && !stat(p, &st) && S_ISREG(st.st_mode);
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A Model struct over another block with the same table (the EMA weights). */
static void model_view(Model *view, const Model *m, float *block) {
    *view = *m;
    view->w = block;
    params_bind(&view->p, &m->table, block);
}

/* ---- preparing -------------------------------------------------------------------- */

static int prepare_tokenizer(Trainer *t, const Checkpoint *resume, Err *e) {
    const TrainConfig *c = &t->cfg;
    if (c->spm) {
        if (!(t->spm = spm_load(c->spm, e))) return -1;
        snprintf(t->spm_path, sizeof t->spm_path, "%s", c->spm);
    } else if (resume && resume->spm) {
        if (!(t->spm = spm_load_bytes(resume->spm, resume->spm_len, e)))
            return err_wrap(e, "the tokenizer inside %s", t->ckpt_path);
        snprintf(t->spm_path, sizeof t->spm_path, "(inside %.1000s)", t->ckpt_path);
    } else if (c->vocab > 0 && t->ranks > 1) { /* every rank would write the same files */
        return err_set(e, "no tokenizer: under mpirun give -spm MODEL (make one with sdlm tokenizer, or by a one-rank run)");
    } else if (c->vocab > 0) {
        char prefix[1100];
        snprintf(prefix, sizeof prefix, "%s.tokenizer", t->ckpt_path);
        set_state(t, TRAIN_PREPARING, "training a %d-piece tokenizer on %s", c->vocab, t->corpus_path);
        SpmTrainInfo info;
        if (spm_train_corpus(&t->corpus, prefix, c->vocab, &info, e)) return -1;
        snprintf(t->spm_path, sizeof t->spm_path, "%.1000s.model", prefix);
        if (!(t->spm = spm_load(t->spm_path, e))) return -1;
    } else {
        return err_set(e, "no tokenizer: give -spm MODEL (or train one with sdlm tokenizer)");
    }
    if (spm_eos_id(t->spm) < 0 || spm_pad_id(t->spm) < 0)
        return err_set(e, "tokenizer %s has no %s piece; batches need pad and EOS (sdlm tokenizer makes both)",
                       t->spm_path, spm_eos_id(t->spm) < 0 ? "EOS" : "pad");
    return 0;
}

static int64_t meta_i64(const Checkpoint *ck, const char *key, int64_t dflt) {
    const char *v = ckpt_meta(ck, key);
    return v ? strtoll(v, NULL, 10) : dflt;
}

/* A resumed run continues with the settings it was started with (TRAIN_SETTINGS' resume column);
 * film_one_plus and the family come with the checkpoint's config. */
static void resume_recipe(Trainer *t, const Checkpoint *ck) {
    TrainConfig *c = &t->cfg;
    const char *v;
    train_settings_from_meta(c, ck, TRAIN_READ_RESUMED);
    c->film_one_plus = ck->table.cfg.film_one_plus;
    c->masked = ck->table.cfg.masked;
    warp_init(&t->warp);
    if (c->time_warp && (v = ckpt_meta(ck, "warp"))) warp_parse(&t->warp, v); /* bad text: start the curve anew */
}

static int prepare_model(Trainer *t, Err *e) {
    const TrainConfig *c = &t->cfg;
    Checkpoint ck = {0};
    int resuming = file_exists(t->ckpt_path);
    if (resuming && ckpt_load(t->ckpt_path, &ck, e)) return err_wrap(e, "cannot resume");
    if (prepare_tokenizer(t, resuming ? &ck : NULL, e)) return ckpt_free(&ck), -1;
    int V = spm_vocab_size(t->spm);
    Config cfg;
    if (resuming) {
        cfg = ck.table.cfg;
        if (cfg.V != V) {
            ckpt_free(&ck);
            return err_set(e, "tokenizer %s has %d pieces but %s was trained with %d: give the tokenizer it was trained with",
                           t->spm_path, V, t->ckpt_path, cfg.V);
        }
        if (c->spm && ck.spm && ckptguard_same_tokenizer(t->spm, c->spm, ck.spm, ck.spm_len, t->ckpt_path, e))
            return ckpt_free(&ck), -1;
    } else {
        cfg = config_default(V);
        cfg.E = c->E, cfg.D = c->D, cfg.NL = c->NL, cfg.F = 4 * c->D;
        cfg.R = c->D / cfg.H < 32 ? c->D / cfg.H - (c->D / cfg.H) % 2 : 32;
        cfg.film_one_plus = c->film_one_plus;
        cfg.masked = c->masked;
    }
    cfg.dropout = c->dropout;
    cfg.layerdrop = c->layerdrop;
    if (config_validate(&cfg, e) || model_alloc(&t->model, &cfg, e)) return ckpt_free(&ck), -1;
    size_t P = t->model.table.total;
    t->grad = calloc(P, sizeof(float));
    t->adam_m = calloc(P, sizeof(float));
    t->adam_v = calloc(P, sizeof(float));
    t->ema = c->ema > 0 ? calloc(P, sizeof(float)) : NULL;
    if (!t->grad || !t->adam_m || !t->adam_v || (c->ema > 0 && !t->ema)) {
        ckpt_free(&ck);
        return err_set(e, "out of memory for a model of %zu parameters", P);
    }
    params_bind(&t->g, &t->model.table, t->grad);
    if (resuming) {
        memcpy(t->model.w, ck.weights, sizeof(float) * P);
        if (ck.adam_m) {
            memcpy(t->adam_m, ck.adam_m, sizeof(float) * P);
            memcpy(t->adam_v, ck.adam_v, sizeof(float) * P);
        }
        t->step = meta_i64(&ck, "step", ck.adam_m ? ck.adam_step : 0);
        t->epoch = meta_i64(&ck, "epoch", 0);
        t->index = meta_i64(&ck, "index", 0);
        resume_recipe(t, &ck);
        const char *el = ckpt_meta(&ck, "elapsed_s");
        t->elapsed_before = el ? strtod(el, NULL) : 0;
        if (t->ema) memcpy(t->ema, ck.ema ? ck.ema : ck.weights, sizeof(float) * P);
    } else {
        params_init(&t->model.table, t->model.w, c->seed);
        if (t->ema) memcpy(t->ema, t->model.w, sizeof(float) * P);
    }
    t->adam_steps_taken = resuming && ck.adam_m ? ck.adam_step : 0;
    train_settings_for_family(&t->cfg, cfg.masked); /* a masked model has no noise schedule to set */
    ckpt_move_foreign(&t->foreign, &ck);
    ckpt_free(&ck);
    t->chunk = c->chunk > 0 && c->chunk < CHUNK ? c->chunk : CHUNK;
    if (t->chunk > c->batch) t->chunk = c->batch;
    int chunk = t->chunk;
    int ngen = c->ngen > 0 ? c->ngen : 1;
    if (workspace_alloc(&t->ws, &cfg, chunk, c->crop_len, c->recompute ? WS_TRAIN_RECOMPUTE : WS_TRAIN, e) ||
        workspace_alloc(&t->ws_eval, &cfg, ngen > TRAIN_PROBES ? ngen : TRAIN_PROBES, c->crop_len, 0, e))
        return -1;
    if (batch_alloc(&t->batch, c->batch, c->crop_len, e)) return -1;
    t->zbuf = malloc(sizeof(float) * (size_t)chunk * c->crop_len * cfg.E);
    t->rowstat = malloc(sizeof(float) * (size_t)c->batch * ROWSTAT);
    t->mvis = malloc((size_t)c->batch * c->crop_len);
    t->mtime = malloc(sizeof(float) * (size_t)c->batch);
    t->mweight = malloc(sizeof(float) * (size_t)c->batch);
    if (!t->zbuf || !t->rowstat || !t->mvis || !t->mtime || !t->mweight) return err_set(e, "out of memory");
    return 0;
}

/* Every rank starts from rank 0's state, whatever each read from disk. */
static void share_state(Trainer *t) {
    size_t bytes = sizeof(float) * t->model.table.total;
    dist_bcast(t->model.w, bytes);
    dist_bcast(t->adam_m, bytes);
    dist_bcast(t->adam_v, bytes);
    if (t->ema) dist_bcast(t->ema, bytes);
    int64_t pos[4] = {t->step, t->adam_steps_taken, t->epoch, t->index};
    dist_bcast(pos, sizeof pos);
    t->step = pos[0], t->adam_steps_taken = pos[1], t->epoch = pos[2], t->index = pos[3];
    dist_bcast(&t->warp, sizeof t->warp);
    dist_bcast(&t->elapsed_before, sizeof t->elapsed_before);
}

static int prepare_history(Trainer *t, Err *e) {
    const TrainConfig *c = &t->cfg;
    if (c->db && !c->db[0]) return 0; /* --db "": no history */
    if (t->rank != 0) return 0;        /* rank 0 records the run */
    if (c->db) snprintf(t->db_path, sizeof t->db_path, "%s", c->db);
    else if (paths_default_db(t->db_path, sizeof t->db_path, e)) return -1;
    if (store_open(&t->store, t->db_path, 0, e)) return -1;
    if (store_readonly(t->store)) {
        store_close(t->store);
        t->store = NULL;
        return err_set(e, "%s is read-only", t->db_path);
    }
    int64_t run = 0;
    if (file_exists(t->ckpt_path) && store_run_resume_find(t->store, t->ckpt_path, &run, e)) return -1;
    if (run) {
        if (store_run_resume(t->store, run, e) || store_run_set_ranks(t->store, run, t->ranks, e)) return -1;
    } else {
        char config[1024], recipe[16] = "?";
        if (train_settings_to_json(c, &t->model.cfg, config, sizeof config))
            return err_set(e, "the run's settings do not fit in %zu bytes of JSON", sizeof config);
        train_choice_name(TRAIN_SETTING(recipe), c->recipe, recipe, sizeof recipe);
        Run spec = {0};
        spec.config = config;
        spec.recipe = recipe;
        spec.corpus_path = t->corpus_path;
        spec.corpus_bytes = (int64_t)t->corpus.bytes;
        spec.corpus_lines = corpus_count(&t->corpus);
        spec.tokenizer_path = t->spm_path;
        spec.checkpoint_path = t->ckpt_path;
        spec.seed = c->seed;
        spec.ranks = t->ranks;
        spec.notes = (char *)"";
        if (store_run_begin(t->store, &spec, &run, e)) return -1;
    }
    t->run_id = run;
    return 0;
}

/* History problems never stop training: they are reported once and recording stops. */
static void history_failed(Trainer *t, const Err *e) {
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.message, sizeof t->prog.message, "history unavailable: %.480s", e->msg);
    snprintf(t->prog.history_error, sizeof t->prog.history_error, "%s", t->prog.message);
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    store_close(t->store);
    t->store = NULL;
}

static void flush_metrics(Trainer *t) {
    if (!t->npending) return;
    Err e;
    if (t->store && store_add_metrics(t->store, t->run_id, t->pending, t->npending, &e)) history_failed(t, &e);
    t->npending = 0;
}

/* ---- checkpoints, samples, probes -------------------------------------------------- */

static double elapsed_total(Trainer *t, double session_start) { return t->elapsed_before + now_s() - session_start; }

/* The checkpoint's metadata: the run's position, its settings (TRAIN_SETTINGS' keys), the corpus
 * and the time curve; kv and warp hold the strings. Returns the count, or -1 (e filled). */
enum { META_MAX = 40 };
static int save_meta(Trainer *t, double session_start, StMeta *meta, char (*kv)[TRAIN_META_VALUE], char *warp, Err *e) {
    int n = 0;
#define META(k, fmt, ...) (meta[n].key = (char *)(k), snprintf(kv[n], TRAIN_META_VALUE, fmt, __VA_ARGS__), meta[n].value = kv[n], n++)
    META("step", "%lld", (long long)t->step);
    META("epoch", "%lld", (long long)t->epoch);
    META("index", "%lld", (long long)t->index);
    META("elapsed_s", "%.1f", elapsed_total(t, session_start));
    int settings = train_settings_to_meta(&t->cfg, t->model.cfg.masked, meta + n, kv + n, META_MAX - n - 2);
    if (settings < 0) return err_set(e, "the settings need more than %d metadata keys (raise META_MAX)", META_MAX);
    n += settings;
    char corpus_abs[PATH_MAX]; /* eval's default for the trigram it fits beside the model; left out if too long */
    if (realpath(t->corpus_path, corpus_abs) && strlen(corpus_abs) < TRAIN_META_VALUE) META("corpus", "%.127s", corpus_abs);
#undef META
    if (t->cfg.time_warp) { /* the whole curve, so a resumed run draws the same times and sampling spaces by it */
        warp_format(&t->warp, warp, WARP_TEXT_MAX);
        meta[n].key = (char *)"warp", meta[n].value = warp, n++;
    }
    return n;
}

/* --export: the weights a user samples with, small: F16, no moments, no second block. */
static int export_model(Trainer *t, double session_start, Err *e) {
    if (t->rank != 0) return 0;
    char kv[META_MAX][TRAIN_META_VALUE], warp[WARP_TEXT_MAX];
    StMeta meta[META_MAX];
    int n = save_meta(t, session_start, meta, kv, warp, e);
    if (n < 0) return -1;
    Checkpoint ck = {0};
    ck.table = t->model.table;
    ck.weights = t->ema ? t->ema : t->model.w;
    ck.spm = (unsigned char *)spm_model_bytes(t->spm, &ck.spm_len);
    ck.meta = meta;
    ck.nmeta = n;
    if (ckpt_save(t->cfg.export_path, &ck, ST_F16, e)) return err_wrap(e, "exporting %s", t->cfg.export_path);
    return 0;
}

/* No step trained: a checkpoint would hold random weights, which the editor
 * could later offer as a model. Nothing is saved then. */
static int untrained(const Trainer *t) { return t->step == 0; }

static int save(Trainer *t, double session_start, Err *e) {
    if (t->rank != 0) return 0; /* the other ranks hold the same weights */
    for (size_t i = 0; i < t->model.table.total; i++)
        if (!isfinite(t->model.w[i]))
            return err_set(e, "not saving: the weights are no longer finite (try a lower learning rate)");
    char kv[META_MAX][TRAIN_META_VALUE], warp[WARP_TEXT_MAX];
    StMeta meta[META_MAX];
    int n = save_meta(t, session_start, meta, kv, warp, e);
    if (n < 0) return -1;
    Checkpoint ck = {0};
    ck.table = t->model.table;
    ck.weights = t->model.w;
    ck.adam_m = t->adam_m;
    ck.adam_v = t->adam_v;
    ck.adam_step = t->adam_steps_taken;
    ck.ema = t->ema;
    ck.spm = (unsigned char *)spm_model_bytes(t->spm, &ck.spm_len);
    ck.meta = meta;
    ck.nmeta = n;
    ck.foreign = t->foreign.foreign, ck.nforeign = t->foreign.nforeign;
    if (ckpt_save(t->ckpt_path, &ck, ST_F32, e)) return -1;
    struct stat st;
    CkptRecord rec = {0};
    rec.run_id = t->run_id;
    rec.step = t->step;
    rec.path = t->ckpt_path;
    rec.time = NAN;
    rec.bytes = stat(t->ckpt_path, &st) ? -1 : (int64_t)st.st_size;
    rec.eval_loss = rec.eval_accuracy = NAN;
    Err he;
    flush_metrics(t);
    if (t->store && store_add_checkpoint(t->store, &rec, NULL, &he)) history_failed(t, &he);
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.last_ckpt, sizeof t->prog.last_ckpt, "%s", t->ckpt_path);
    t->prog.last_ckpt_step = t->step;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    wake(t);
    return 0;
}

/* About what a checkpoint of this run takes on disk: the weights, the Adam
 * moments, the EMA, the tokenizer and a header. */
static uint64_t ckpt_bytes(const Trainer *t) {
    size_t spm_len = 0;
    spm_model_bytes(t->spm, &spm_len);
    return (uint64_t)t->model.table.total * sizeof(float) * (t->ema ? 4 : 3) + spm_len + (1 << 20);
}

/* A periodic save failed: the owner is told at once (progress and the run's
 * notes in the history). Training goes on while the last good checkpoint is
 * recent: after SAVE_FAILS_MAX failures in a row it returns -1 with e saying
 * why the run stops and what is on disk. */
static int save_failed(Trainer *t, Err *e) {
    char note[512], since[64] = "";
    if (!t->save_fails) t->first_failed_save = t->step;
    else snprintf(since, sizeof since, " again (failing since step %lld)", (long long)t->first_failed_save);
    snprintf(note, sizeof note, "step %lld: saving failed%s: %.420s", (long long)t->step, since, e->msg);
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.save_error, sizeof t->prog.save_error, "%s", note);
    snprintf(t->prog.message, sizeof t->prog.message, "%s", note);
    t->prog.save_errors++;
    t->prog.serial++;
    int64_t good = t->prog.last_ckpt[0] ? t->prog.last_ckpt_step : -1;
    pthread_mutex_unlock(&t->mu);
    wake(t);
    Err he;
    if (t->store && store_run_note(t->store, t->run_id, note, &he)) history_failed(t, &he);
    if (++t->save_fails < SAVE_FAILS_MAX) return 0;
    if (t->ranks > 1) dist_abort(note); /* the other ranks would wait for rank 0 in the next all-reduce */
    char kept[200], why[300];
    snprintf(why, sizeof why, "%.299s", e->msg);
    if (good >= 0) snprintf(kept, sizeof kept, "it keeps step %lld, the last good checkpoint", (long long)good);
    else snprintf(kept, sizeof kept, "%s", file_exists(t->ckpt_path) ? "it keeps the checkpoint this run resumed from"
                                                                        : "nothing was saved");
    return err_set(e, "stopped at step %lld: every save of %.200s since step %lld failed (%d in a row; the last: %.200s); %s",
                   (long long)t->step, t->ckpt_path, (long long)t->first_failed_save, SAVE_FAILS_MAX, why, kept);
}

/* The weights to sample with: the EMA when kept. */
static void sampling_model(Trainer *t, Model *view) {
    if (t->ema) model_view(view, &t->model, t->ema);
    else model_view(view, &t->model, t->model.w);
}

/* The run's schedule shift, and its warped step spacing once the curve is
 * fitted; times has room for rq->steps + 1. */
static void sampling_schedule(const Trainer *t, SampleRequest *rq, float *times) {
    rq->shift = t->cfg.shift;
    if (t->cfg.time_warp && t->warp.ready) {
        warp_times(&t->warp, rq->steps, times);
        rq->times = times;
    }
}

/* ngen unconditional samples, as the seed prints at the start and after each epoch. */
static void make_samples(Trainer *t) {
    int n = t->cfg.ngen;
    if (n <= 0 || t->rank != 0) return;
    if (n > TRAIN_SAMPLES) n = TRAIN_SAMPLES;
    Model view;
    sampling_model(t, &view);
    int L = t->cfg.crop_len;
    int32_t *ids = malloc(sizeof(int32_t) * n * L);
    if (!ids) return;
    float times[201];
    SampleRequest rq = {.B = n, .L = L, .ids = NULL, .known = NULL, .lengths = NULL, .kind = sampler_fit(SAMPLER_DIFFLM, &t->model.cfg), .steps = 200, .clamp = 0, .seed = mix64(t->cfg.seed ^ (uint64_t)t->step), .x_T = NULL, .eps = NULL};
    sampling_schedule(t, &rq, times);
    Err e;
    engine_lock();
    int rc = diffusion_sample(&view, &t->ws_eval, &rq, NULL, NULL, ids, &e);
    engine_unlock();
    params_unbind(&view.p);
    if (rc < 0) {
        free(ids);
        return;
    }
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < n; i++) {
        size_t len;
        if (spm_decode(t->spm, (int *)ids + i * L, L, t->prog.samples[i], sizeof t->prog.samples[i], &len, NULL))
            snprintf(t->prog.samples[i], sizeof t->prog.samples[i], "(undecodable)");
    }
    t->prog.nsamples = n;
    t->prog.samples_round++;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    wake(t);
    free(ids);
}

static const char *probe_templates[TRAIN_PROBES] = {
    "the {2} of the {2}.",
    "i {3} you.",
    "{4} is the best {1}.",
    "when the {3} comes, {4}.",
};

/* Probe infills of fixed templates with the current weights, at each checkpoint. */
static void run_probes(Trainer *t) {
    if (t->rank != 0) return;
    Model view;
    sampling_model(t, &view);
    int done = 0;
    char tmpl[TRAIN_PROBES][128], result[TRAIN_PROBES][256];
    for (int p = 0; p < TRAIN_PROBES; p++) {
        Template tp;
        InfillSeq seq;
        Err e;
        snprintf(tmpl[done], sizeof tmpl[done], "%s", probe_templates[p]);
        if (template_parse(&tp, probe_templates[p], strlen(probe_templates[p]), 0, &e)) continue;
        if (infill_build(t->spm, &tp, t->cfg.crop_len, &seq, &e)) {
            template_free(&tp);
            continue;
        }
        int32_t out[INFILL_PROBE_MAX];
        int lengths[1] = {seq.len};
        float times[51];
        SampleRequest rq = {.B = 1, .L = seq.len, .ids = seq.ids, .known = seq.known, .lengths = lengths, .kind = sampler_fit(SAMPLER_DIFFLM, &t->model.cfg), .steps = 50, .clamp = 0, .seed = 1234, .x_T = NULL, .eps = NULL};
        sampling_schedule(t, &rq, times);
        engine_lock();
        int rc = seq.len <= INFILL_PROBE_MAX ? diffusion_sample(&view, &t->ws_eval, &rq, NULL, NULL, out, &e) : -1;
        engine_unlock();
        if (rc == 0) {
            infill_render(t->spm, &tp, &seq, out, result[done], sizeof result[done]);
            done++;
        }
        infill_seq_free(&seq);
        template_free(&tp);
    }
    params_unbind(&view.p);
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < done; i++) {
        memcpy(t->prog.probe_template[i], tmpl[i], sizeof tmpl[i]);
        memcpy(t->prog.probe_result[i], result[i], sizeof result[i]);
    }
    t->prog.nprobes = done;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    wake(t);
}

/* ---- one optimiser step ------------------------------------------------------------ */

typedef struct {
    LossStats loss;
    double grad_norm;
    float lr;
    long tokens;
    int skipped, epoch_ended;
} StepResult;

/* The generator of one row's t and noise: a function of (seed, step, batch of
 * the step, row of the global batch), so any shard draws the same. */
static void row_rng(Rng *r, uint64_t seed, int64_t step, int a, int row) {
    rng_seed(r, mix64(seed ^ 0x7a11ull) ^ mix64((uint64_t)step + 1) ^ mix64(((uint64_t)a << 32 | (uint32_t)row) ^ 0x50e5ull));
}

/* The masked family's draws for the whole global batch (every rank draws all rows alike): times spread
 * evenly over (0, 1] from one uniform u (low variance), half the rows hidden in spans as the editor's gaps
 * are and half uniformly; each row's time input is its hidden share, its weight per the loss (trainer.h). */
static void masked_batch(Trainer *t, const Batch *b, Rng *r, int a) {
    const int L = b->L;
    double u = rng_uniform(r);
    long hidden_all = 0;
    int rows = 0, hidden[b->B];
    for (int i = 0; i < b->B; i++) {
        Rng rr;
        row_rng(&rr, t->cfg.seed ^ 0x3a5cull, t->step, a, i);
        double tt = fmod(u + (double)i / b->B, 1.0);
        tt = pow(tt, t->cfg.mask_t_power); /* P > 1: more of the light masks that most gaps are */
        MaskDraw kind = rng_uniform(&rr) < 0.5 ? MASKDRAW_SPANS : MASKDRAW_UNIFORM;
        hidden[i] = masked_draw(&rr, b->len_mask + (long)i * L, L, tt < 1e-3 ? 1e-3f : (float)tt, kind,
                                t->mvis + (long)i * L);
        int n = 0;
        for (int l = 0; l < L; l++) n += b->len_mask[(long)i * L + l];
        t->mtime[i] = n ? (float)hidden[i] / (float)n : 0.0f;
        hidden_all += hidden[i], rows += hidden[i] > 0;
    }
    for (int i = 0; i < b->B; i++)
        t->mweight[i] = hidden[i] ? (float)((double)hidden_all / ((double)rows * hidden[i])) : 0.0f;
}

/* Rows [lo, hi) of a B-row global batch are this rank's. */
static void shard(int B, int rank, int ranks, int *lo, int *hi) {
    *lo = (int)((long)B * rank / ranks);
    *hi = (int)((long)B * (rank + 1) / ranks);
}

/* Runs `accum` batches, each rank its shard of each in chunks, sums the
 * gradient and statistics over ranks, then clips and updates. Holds BLAS. */
static int train_step(Trainer *t, StepResult *res, Err *e) {
    const TrainConfig *c = &t->cfg;
    const Config *mc = &t->model.cfg;
    const int E = mc->E;
    size_t P = t->model.table.total;
    memset(res, 0, sizeof *res);
    memset(t->grad, 0, sizeof(float) * P);
    Rng r; /* the step's own draws: one self-conditioning coin per batch */
    rng_seed(&r, mix64(c->seed ^ 0x7a11ull) ^ mix64((uint64_t)t->step + 1));
    double sums[5] = {0}; /* loss, mse, ce, accuracy (each times its targets), targets */
    for (int a = 0; a < c->accum; a++) {
        if (batcher_next(t->batcher, &t->batch, e)) return -1;
        Batch *b = &t->batch;
        const int L = b->L;
        int coin = rng_uniform(&r) < 0.5; /* the seed's self-conditioning coin, one per batch */
        if (mc->masked) masked_batch(t, b, &r, a);
        const uint8_t *cond = mc->masked ? t->mvis : b->cond; /* the masked family: what is shown */
        long n_total = 0; /* the global batch's targets */
        for (long i = 0; i < (long)b->B * L; i++) n_total += b->len_mask[i] && !cond[i];
        int lo, hi;
        shard(b->B, t->rank, t->ranks, &lo, &hi);
        memset(t->rowstat, 0, sizeof(float) * (size_t)b->B * ROWSTAT);
        for (int start = lo; start < hi; start += t->chunk) {
            int cb = hi - start < t->chunk ? hi - start : t->chunk;
            long off = (long)start * L;
            long n_chunk = 0;
            for (long i = 0; i < (long)cb * L; i++) n_chunk += b->len_mask[off + i] && !cond[off + i];
            for (int i = 0; i < cb && mc->masked; i++) t->tbuf[i] = t->mtime[start + i], t->wbuf[i] = t->mweight[start + i];
            for (int i = 0; i < cb && !mc->masked; i++) {
                Rng rr;
                row_rng(&rr, c->seed, t->step, a, start + i);
                double u = rng_uniform(&rr);
                float tt = c->time_warp ? warp_sample(&t->warp, u) : (float)u; /* the inverse of the learned CDF */
                t->tbuf[i] = tt < 1e-5f ? 1e-5f : tt > 1 - 1e-5f ? 1 - 1e-5f : tt;
                /* (P + 1) t^P: mean 1 over uniform t, more weight to the noisy, hard times for P > 0 */
                t->wbuf[i] = (c->t_weight + 1) * powf(t->tbuf[i], c->t_weight);
                rng_fill_normal(&rr, t->zbuf + (long)i * L * E, (long)L * E, 1.0f);
            }
            /* dropout and layer-drop draw from the chunk's own generator: they depend on the sharding */
            Rng cr;
            row_rng(&cr, c->seed ^ 0xd50full, t->step, a, start);
            int weighted = mc->masked ? c->mask_loss == MASK_LOSS_ELBO : c->t_weight > 0;
            LossInput in = {.B = cb, .L = L, .ids = b->ids + off, .len_mask = b->len_mask + off,
                            .cond = cond + off, .t = t->tbuf, .z = t->zbuf, .selfcond = coin,
                            .seq_correct = t->seq_correct, .seq_targets = t->seq_targets, .seq_ce = t->seq_ce,
                            .shift = c->shift, .seq_weight = weighted ? t->wbuf : NULL};
            float scale = n_total ? (float)n_chunk / (float)n_total / (float)c->accum : 0.0f;
            LossStats st;
            if (mc->masked) masked_loss(&t->model, &t->g, &t->ws, &in, scale, &cr, &st);
            else diffusion_loss(&t->model, &t->g, &t->ws, &in, scale, &cr, &st);
            sums[0] += st.loss * n_chunk, sums[1] += st.mse * n_chunk, sums[2] += st.ce * n_chunk;
            sums[3] += st.accuracy * n_chunk, sums[4] += n_chunk;
            for (int i = 0; i < cb; i++) {
                float *row = t->rowstat + (long)(start + i) * ROWSTAT;
                row[ROW_T] = t->tbuf[i], row[ROW_CORRECT] = (float)t->seq_correct[i];
                row[ROW_TARGETS] = (float)t->seq_targets[i], row[ROW_CE] = t->seq_ce[i];
            }
        }
        /* every rank sees every row (the others' are zero before the sum), in the global order */
        dist_sum_floats(t->rowstat, (size_t)b->B * ROWSTAT);
        for (int i = 0; i < b->B; i++) {
            const float *row = t->rowstat + (long)i * ROWSTAT;
            if (!row[ROW_TARGETS]) continue;
            int k = (int)(row[ROW_T] * TRAIN_TBUCKETS);
            k = k >= TRAIN_TBUCKETS ? TRAIN_TBUCKETS - 1 : k;
            /* a running mean that forgets slowly, so the curve follows training */
            t->tacc_sum[k] = 0.995 * t->tacc_sum[k] + (double)row[ROW_CORRECT] / row[ROW_TARGETS];
            t->tacc_n[k] = 0.995 * t->tacc_n[k] + 1;
            if (c->time_warp) warp_observe(&t->warp, row[ROW_T], row[ROW_CE] / row[ROW_TARGETS]);
        }
        res->tokens += (long)b->B * L; /* the global batch's */
        t->epoch = b->epoch;
        t->index = b->index + b->B;
        if (t->index >= corpus_count(&t->corpus)) t->epoch++, t->index = 0, res->epoch_ended = 1;
    }
    /* one all-reduce of the whole gradient block after backward: the shards' weighted sum is the mean */
    dist_sum_floats(t->grad, P);
    dist_sum_doubles(sums, 5);
    double loss = sums[0], mse = sums[1], ce = sums[2], acc = sums[3];
    long targets_all = (long)sums[4];
    if (targets_all) loss /= targets_all, mse /= targets_all, ce /= targets_all, acc /= targets_all;
    res->loss = (LossStats){loss, mse, ce, acc, targets_all};
    res->grad_norm = grad_norm(t->grad, P);
    res->lr = lr_at(t->adam_steps_taken, c->lr, c->warmup, c->decay_steps);
    if (c->decay_end && (c->max_steps > 0 || c->max_minutes > 0) && t->adam_steps_taken >= c->warmup)
        res->lr = c->lr * (float)(1.0 - 0.9 * fmin(fmax(t->budget_done, 0.0), 1.0));
    if (!isfinite(loss) || !isfinite(res->grad_norm)) {
        res->skipped = 1; /* never let a non-finite update reach the weights */
        return 0;
    }
    grad_clip(t->grad, P, 1.0);
    AdamW opt = adamw_default(c->weight_decay);
    adamw_step(&opt, t->model.w, t->grad, t->adam_m, t->adam_v, P, ++t->adam_steps_taken, res->lr);
    if (c->fixed_norm) /* undo the step on the embedding norm's affine: its learned scale grows the signal */
        for (int i = 0; i < t->model.cfg.E; i++) t->model.p.norm_w[i] = 1.0f, t->model.p.norm_b[i] = 0.0f;
    if (t->ema) {
        /* the decay warms up (as most diffusion trainers do), so early weights do not linger */
        float k = (float)t->adam_steps_taken, d = fminf(c->ema, (1 + k) / (10 + k)), *w = t->model.w;
        for (size_t i = 0; i < P; i++) t->ema[i] = d * t->ema[i] + (1 - d) * w[i];
    }
    return 0;
}

/* ---- progress ---------------------------------------------------------------------- */

static int64_t total_steps(const Trainer *t) {
    int64_t per_epoch = batcher_per_epoch(corpus_count(&t->corpus), t->cfg.batch);
    int64_t by_epochs = (per_epoch * t->cfg.epochs + t->cfg.accum - 1) / t->cfg.accum;
    return t->cfg.max_steps > 0 && t->cfg.max_steps < by_epochs ? t->cfg.max_steps : by_epochs;
}

static void record(Trainer *t, const StepResult *r, double dt, double session_start) {
    TrainPoint p = {.step = t->step, .epoch = t->epoch, .loss = r->loss.loss, .mse = r->loss.mse, .ce = r->loss.ce,
                    .accuracy = r->loss.accuracy, .lr = r->lr, .grad_norm = r->grad_norm,
                    .tokens_per_s = dt > 0 ? r->tokens / dt : 0, .wall_s = elapsed_total(t, session_start),
                    .skipped = r->skipped};
    t->pending[t->npending++] = p;
    if (t->npending == METRIC_FLUSH) flush_metrics(t);
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
        double left = t->cfg.max_minutes * 60 - (now_s() - session_start);
        if (left < g->eta_s) g->eta_s = left > 0 ? left : 0;
    }
    g->nan_skips += r->skipped;
    for (int k = 0; k < TRAIN_TBUCKETS; k++) g->t_accuracy[k] = t->tacc_n[k] > 0 ? (float)(t->tacc_sum[k] / t->tacc_n[k]) : -1;
    /* keep every hist_stride-th point; when full, drop every other one and double the stride */
    if (++t->hist_skip >= t->hist_stride) {
        t->hist_skip = 0;
        if (g->nhistory == TRAIN_HISTORY) {
            for (int i = 0; i < TRAIN_HISTORY / 2; i++) g->history[i] = g->history[2 * i];
            g->nhistory = TRAIN_HISTORY / 2;
            t->hist_stride *= 2;
        }
        g->history[g->nhistory++] = p;
    }
    g->serial++;
    pthread_mutex_unlock(&t->mu);
    wake(t);
}

/* ---- the thread ---------------------------------------------------------------------- */

static void *run(void *arg) {
    Trainer *t = arg;
    Err e = {{0}};
    double start = now_s();
    TrainState final = TRAIN_FINISHED;
    RunStatus status = RUN_FINISHED;
    char why[600] = "";

    set_state(t, TRAIN_PREPARING, "indexing %s", t->corpus_path);
    int bad = corpus_open(&t->corpus, t->corpus_path, &e);
    t->corpus_open = !bad;
    if (!bad) {
        pthread_mutex_lock(&t->mu); /* kept apart: the message below is soon replaced */
        snprintf(t->prog.corpus_summary, sizeof t->prog.corpus_summary, "%s", corpus_summary(&t->corpus));
        pthread_mutex_unlock(&t->mu);
        set_state(t, TRAIN_PREPARING, "%s", corpus_summary(&t->corpus));
    }
    /* every rank prepares, or none trains (the others would wait for it forever) */
    if (dist_any(bad)) goto failed_agreed;
    if (dist_any(prepare_model(t, &e) || (t->rank == 0 && ckptguard_probe_space(t->ckpt_path, ckpt_bytes(t), &e))))
        goto failed_agreed;
    share_state(t);
    Err he;
    if (prepare_history(t, &he)) {
        if (t->store) store_close(t->store);
        t->store = NULL;
        snprintf(why, sizeof why, "history unavailable: %s", he.msg);
        pthread_mutex_lock(&t->mu);
        snprintf(t->prog.history_error, sizeof t->prog.history_error, "%.500s", why);
        pthread_mutex_unlock(&t->mu);
    }
    BatcherConfig bc = {&t->corpus, t->spm, t->cfg.batch, t->cfg.crop_len, t->cfg.seed,
                        (MaskKind)t->cfg.masks, t->epoch, t->index, t->cfg.bucket};
    if (dist_any(batcher_start(&t->batcher, &bc, &e))) goto failed_agreed;
    pthread_mutex_lock(&t->mu);
    t->prog.ranks = t->ranks;
    t->prog.run_id = t->run_id;
    t->prog.examples = corpus_count(&t->corpus);
    t->prog.epochs = t->cfg.epochs;
    t->prog.step = t->step;
    t->prog.epoch = (int)t->epoch;
    t->prog.total_steps = total_steps(t);
    pthread_mutex_unlock(&t->mu);
    set_state(t, TRAIN_RUNNING, "%s", why[0] ? why : "training");
    make_samples(t);

    for (;;) {
        pthread_mutex_lock(&t->mu);
        while (t->want_pause && !t->want_stop && !t->want_save) {
            if (t->prog.state != TRAIN_PAUSED) {
                t->prog.state = TRAIN_PAUSED;
                t->prog.serial++;
                pthread_mutex_unlock(&t->mu);
                wake(t);
                flush_metrics(t);
                pthread_mutex_lock(&t->mu);
                continue;
            }
            pthread_cond_wait(&t->cv, &t->mu);
        }
        int stop = t->want_stop, save_now = t->want_save;
        t->want_save = 0;
        if (t->prog.state == TRAIN_PAUSED && !t->want_pause) t->prog.state = TRAIN_RUNNING, t->prog.serial++;
        pthread_mutex_unlock(&t->mu);
        if (save_now && untrained(t)) set_state(t, TRAIN_RUNNING, "not saved: no step trained yet");
        else if (save_now && save(t, start, &e) && save_failed(t, &e)) goto failed;
        if (dist_any(stop)) { /* a signal may reach the ranks at different steps: they stop at the same one */
            final = TRAIN_STOPPED, status = RUN_STOPPED;
            break;
        }
        if (t->cfg.max_steps > 0 && t->step >= t->cfg.max_steps) break;
        if (t->epoch >= t->cfg.epochs) break;
        if (dist_any(t->cfg.max_minutes > 0 && now_s() - start >= t->cfg.max_minutes * 60)) break;
        if (save_now) continue;

        if (t->cfg.decay_end) { /* by steps when there is a step budget (exact on resume), else by time */
            double done = t->cfg.max_steps > 0 ? (double)t->step / (double)t->cfg.max_steps
                                               : (now_s() - start) / (t->cfg.max_minutes * 60);
            dist_sum_doubles(&done, 1); /* ranks' clocks differ a little: they must use one lr */
            t->budget_done = done / t->ranks;
        }
        StepResult r;
        double t0 = now_s();
        engine_lock();
        int rc = train_step(t, &r, &e);
        engine_unlock();
        if (rc && t->ranks > 1) dist_abort(e.msg); /* the other ranks wait in the all-reduce */
        if (rc) goto failed;
        t->step++;
        if (t->cfg.time_warp && t->step % WARP_REFIT_EVERY == 0) warp_refit(&t->warp);
        record(t, &r, now_s() - t0, start);
        if (r.skipped) {
            if (++t->bad_in_row >= MAX_BAD_STEPS) {
                err_set(&e, "stopped after %d steps in a row with a non-finite loss or gradient; %s holds the last good weights",
                        MAX_BAD_STEPS, t->ckpt_path);
                final = TRAIN_FAILED, status = RUN_FAILED;
                snprintf(why, sizeof why, "%s", e.msg);
                flush_metrics(t);
                goto end; /* do not save: the weights on disk are the last good ones */
            }
        } else {
            t->bad_in_row = 0;
        }
        if (!r.skipped && ((t->cfg.save_every > 0 && t->step % t->cfg.save_every == 0) || r.epoch_ended)) {
            if (!save(t, start, &e)) t->save_fails = 0, run_probes(t);
            else if (save_failed(t, &e)) goto failed;
        }
        if (r.epoch_ended) make_samples(t);
    }
    set_state(t, TRAIN_STOPPING, "saving %s", t->ckpt_path);
    if (untrained(t)) {
        snprintf(why, sizeof why, "stopped before the first step: nothing saved");
    } else if (save(t, start, &e)) {
        final = TRAIN_FAILED, status = RUN_FAILED;
        snprintf(why, sizeof why, "could not save: %s", e.msg);
    } else if (t->cfg.export_path && export_model(t, start, &e)) {
        final = TRAIN_FAILED, status = RUN_FAILED;
        snprintf(why, sizeof why, "%s", e.msg);
    } else {
        run_probes(t);
        snprintf(why, sizeof why, "%s at step %lld; saved %.250s%s%.250s", final == TRAIN_STOPPED ? "stopped" : "finished",
                 (long long)t->step, t->ckpt_path, t->cfg.export_path ? ", exported " : "",
                 t->cfg.export_path ? t->cfg.export_path : "");
    }
    flush_metrics(t);
    goto end;
failed:
    final = TRAIN_FAILED, status = RUN_FAILED;
    snprintf(why, sizeof why, "%s", e.msg);
    flush_metrics(t);
    goto end;
failed_agreed: /* this rank's error, or another's */
    if (!e.msg[0]) err_set(&e, "another rank failed to prepare (see its message)");
    final = TRAIN_FAILED, status = RUN_FAILED;
    snprintf(why, sizeof why, "%s", e.msg);
end:
    batcher_stop(t->batcher);
    t->batcher = NULL;
    if (t->store) {
        Err se;
        store_run_end(t->store, t->run_id, status, &se);
    }
    ckptguard_unlock(&t->lock); /* nothing more is written: another run may take the checkpoint */
    set_state(t, final, "%s", why);
    return NULL;
}

/* ---- the API ---------------------------------------------------------------------------- */

int trainer_start(Trainer **out, const TrainConfig *cfg, int wake_fd, Err *e) {
    *out = NULL;
    const TrainConfig *c = cfg;
    if (!c->corpus || !c->corpus[0]) return err_set(e, "no corpus: give -d FILE (one example per line)");
    if (!c->ckpt || !c->ckpt[0]) return err_set(e, "no checkpoint path: give -ckpt FILE (created, or resumed when it exists)");
    if (c->epochs < 1 || c->batch < 1 || c->accum < 1 || c->crop_len < 2 || c->crop_len > 4096)
        return err_set(e, "epochs, batch and accumulation must be >= 1 and the crop length 2..4096");
    if (!(c->lr > 0) || c->warmup < 0 || c->decay_steps < 0 || c->weight_decay < 0)
        return err_set(e, "the learning rate must be positive; warm-up, decay and weight decay not negative");
    if (c->ema < 0 || c->ema >= 1) return err_set(e, "--ema must be in [0, 1)");
    CkptPaths guard = {c->ckpt, c->corpus, c->spm, c->export_path};
    if (dist_rank() == 0 && ckptguard_preflight(&guard, e)) return -1;
    if (c->spm && !file_exists(c->spm)) return err_set(e, "tokenizer %s: no such file", c->spm);
    struct stat st;
    if (stat(c->corpus, &st)) return err_set(e, "%s: %s", c->corpus, strerror(errno));
    Trainer *t = calloc(1, sizeof *t);
    if (!t) return err_set(e, "out of memory");
    t->cfg = *cfg;
    snprintf(t->corpus_path, sizeof t->corpus_path, "%s", c->corpus);
    snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s", c->ckpt);
    if (c->export_path) {
        snprintf(t->export_path, sizeof t->export_path, "%s", c->export_path);
        t->cfg.export_path = t->export_path;
    }
    t->cfg.corpus = t->corpus_path;
    t->cfg.ckpt = t->ckpt_path;
    if (!(t->cfg.mask_t_power > 0)) t->cfg.mask_t_power = 1.0f; /* 0 reads as 1: uniform rates */
    t->wake_fd = wake_fd;
    t->rank = dist_rank(), t->ranks = dist_size();
    t->lock.fd = -1;
    if (t->rank == 0 && ckptguard_lock(&t->lock, c->ckpt, e)) return free(t), -1;
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
