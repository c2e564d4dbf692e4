/* trainer_save.c: the run's checkpoints. A checkpoint holds the weights, the
 * Adam moments, the EMA, the tokenizer and, in its metadata, the run's
 * position and settings (TRAIN_SETTINGS' keys), so a resume continues exactly.
 * Saves are atomic (ckpt_save); a failed periodic save is told at once and
 * training goes on while the last good checkpoint is recent.
 *
 * Not here: when to save (trainer.c's save policy). */
#include "trainer_impl.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dist.h"
#include "fileguard.h"

enum { SAVE_FAILS_MAX = 3, META_MAX = 40 };

/* The checkpoint's metadata: the run's position, its settings, the corpus and the time curve. */
typedef struct {
    StMeta meta[META_MAX];
    char values[META_MAX][TRAIN_META_VALUE];
    char warp[WARP_TEXT_MAX];
    int n;
} SaveMeta;

static void add_meta(SaveMeta *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_meta(SaveMeta *m, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->values[m->n], sizeof m->values[m->n], fmt, ap);
    va_end(ap);
    m->meta[m->n].key = (char *)key, m->meta[m->n].value = m->values[m->n];
    m->n++;
}

static int save_meta(Trainer *t, SaveMeta *m, Err *e) {
    m->n = 0;
    add_meta(m, "step", "%lld", (long long)t->step);
    add_meta(m, "epoch", "%lld", (long long)t->epoch);
    add_meta(m, "index", "%lld", (long long)t->index);
    add_meta(m, "elapsed_s", "%.1f", trainer_elapsed(t));
    int n = train_settings_to_meta(&t->cfg, t->model.cfg.masked, m->meta + m->n, m->values + m->n, META_MAX - m->n - 2);
    if (n < 0) return err_set(e, "the settings need more than %d metadata keys (raise META_MAX)", META_MAX);
    m->n += n;
    char corpus_abs[PATH_MAX]; /* eval's default for the trigram it fits beside the model; left out if too long */
    if (realpath(t->corpus_path, corpus_abs) && strlen(corpus_abs) < TRAIN_META_VALUE)
        add_meta(m, "corpus", "%.127s", corpus_abs);
    if (t->cfg.time_warp) { /* the whole curve, so a resumed run draws the same times and sampling spaces by it */
        warp_format(&t->warp, m->warp, WARP_TEXT_MAX);
        m->meta[m->n].key = (char *)"warp", m->meta[m->n].value = m->warp, m->n++;
    }
    return 0;
}

int trainer_export(Trainer *t, Err *e) {
    if (t->rank != 0) return 0;
    SaveMeta m;
    if (save_meta(t, &m, e)) return -1;
    Checkpoint ck = {0}; /* the weights a user samples with, small: F16, no moments, no second block */
    ck.table = t->model.table;
    ck.weights = t->ema ? t->ema : t->model.w;
    ck.spm = (unsigned char *)spm_model_bytes(t->spm, &ck.spm_len);
    ck.meta = m.meta;
    ck.nmeta = m.n;
    if (ckpt_save(t->cfg.export_path, &ck, ST_F16, e)) return err_wrap(e, "exporting %s", t->cfg.export_path);
    return 0;
}

/* No step trained: a checkpoint would hold random weights, which the editor
 * could later offer as a model. Nothing is saved then. */
int trainer_untrained(const Trainer *t) { return t->step == 0; }

/* The saved checkpoint in the history and the progress. */
static void tell_saved(Trainer *t) {
    struct stat st;
    CkptRecord rec = {0};
    rec.run_id = t->run_id;
    rec.step = t->step;
    rec.path = t->ckpt_path;
    rec.time = NAN;
    rec.bytes = stat(t->ckpt_path, &st) ? -1 : (int64_t)st.st_size;
    rec.eval_loss = rec.eval_accuracy = NAN;
    Err he;
    trainer_flush_metrics(t);
    if (t->store && store_add_checkpoint(t->store, &rec, NULL, &he)) trainer_history_failed(t, &he);
    pthread_mutex_lock(&t->mu);
    snprintf(t->prog.last_ckpt, sizeof t->prog.last_ckpt, "%s", t->ckpt_path);
    t->prog.last_ckpt_step = t->step;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    trainer_wake(t);
}

int trainer_save(Trainer *t, Err *e) {
    if (t->rank != 0) return 0; /* the other ranks hold the same weights */
    for (size_t i = 0; i < t->model.table.total; i++)
        if (!isfinite(t->model.w[i]))
            return err_set(e, "not saving: the weights are no longer finite (try a lower learning rate)");
    SaveMeta m;
    if (save_meta(t, &m, e)) return -1;
    Checkpoint ck = {0};
    ck.table = t->model.table;
    ck.weights = t->model.w;
    ck.adam_m = t->adam_m;
    ck.adam_v = t->adam_v;
    ck.adam_step = t->adam_steps_taken;
    ck.ema = t->ema;
    ck.spm = (unsigned char *)spm_model_bytes(t->spm, &ck.spm_len);
    ck.meta = m.meta;
    ck.nmeta = m.n;
    ck.foreign = t->foreign.foreign, ck.nforeign = t->foreign.nforeign;
    if (ckpt_save(t->ckpt_path, &ck, ST_F32, e)) return -1;
    tell_saved(t);
    return 0;
}

uint64_t trainer_ckpt_bytes(const Trainer *t) {
    size_t spm_len = 0;
    spm_model_bytes(t->spm, &spm_len);
    return (uint64_t)t->model.table.total * sizeof(float) * (t->ema ? 4 : 3) + spm_len + (1 << 20);
}

/* The owner is told at once (progress and the run's notes in the history). Training goes on
 * while the last good checkpoint is recent: after SAVE_FAILS_MAX failures in a row it returns -1
 * with e saying why the run stops and what is on disk. */
int trainer_save_failed(Trainer *t, Err *e) {
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
    trainer_wake(t);
    Err he;
    if (t->store && store_run_note(t->store, t->run_id, note, &he)) trainer_history_failed(t, &he);
    if (++t->save_fails < SAVE_FAILS_MAX) return 0;
    if (t->ranks > 1) dist_abort(note); /* the other ranks would wait for rank 0 in the next all-reduce */
    char kept[200], why[300];
    snprintf(why, sizeof why, "%.299s", e->msg);
    if (good >= 0) snprintf(kept, sizeof kept, "it keeps step %lld, the last good checkpoint", (long long)good);
    else snprintf(kept, sizeof kept, "%s",
                  fileguard_is_regular(t->ckpt_path) ? "it keeps the checkpoint this run resumed from"
                                                                                : "nothing was saved");
    return err_set(e, "stopped at step %lld: every save of %.200s since step %lld failed (%d in a row; the "
                   "last: %.200s); %s",
                   (long long)t->step, t->ckpt_path, (long long)t->first_failed_save, SAVE_FAILS_MAX, why, kept);
}
