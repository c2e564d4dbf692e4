/* test_trainer.c: the training library as its clients use it: resume is
 * exact (4 steps = 2 + save + resume + 2, bit for bit), commands (pause,
 * resume, save now, stop) do what they say, a run that blows up stops with
 * its last good checkpoint intact, and bad inputs fail with a clear message. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ckpt.h"
#include "spm.h"
#include "store.h"
#include "tmpdir.h"
#include "trainer.h"

static char dir[512], tok[640], corpus[] = "tests/data/tiny-corpus.txt";

static TrainConfig tiny(const char *ckpt, const char *db) {
    TrainConfig c = trainer_defaults();
    c.corpus = corpus;
    c.spm = tok;
    c.ckpt = ckpt;
    c.db = db;
    c.batch = 8;
    c.E = 8, c.D = 32, c.NL = 1;
    c.warmup = 2;
    c.lr = 1e-3f;
    c.crop_len = 24;
    c.ngen = 1;
    c.ema = 0.9f;
    c.seed = 7;
    c.save_every = 1000;
    return c;
}

static TrainState run_to_end(const TrainConfig *c, TrainProgress *p) {
    Trainer *t;
    Err e;
    if (trainer_start(&t, c, -1, &e)) {
        check_ok(0, "trainer_start: %s", e.msg);
        return TRAIN_FAILED;
    }
    TrainState s = trainer_join(t);
    trainer_progress(t, p);
    trainer_free(t);
    return s;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until the progress satisfies cond (polling), up to 30 s. */
#define WAIT_FOR(t, p, cond)                                                 \
    for (int waited_ = 0; waited_ < 3000; waited_++) {                       \
        trainer_progress(t, &(p));                                           \
        if (cond) break;                                                     \
        sleep_ms(10);                                                        \
    }

static int same_block(const float *a, const float *b, size_t n) { return a && b && !memcmp(a, b, n * sizeof *a); }

static void test_resume_exact(void) {
    char a[700], b[700], db[700];
    snprintf(a, sizeof a, "%s/a.safetensors", dir);
    snprintf(b, sizeof b, "%s/b.safetensors", dir);
    snprintf(db, sizeof db, "%s/h.db", dir);
    static TrainProgress p;
    TrainConfig c = tiny(a, db);
    c.max_steps = 4;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 4, "4 steps in one run: %s", p.message);
    c = tiny(b, db);
    c.max_steps = 2;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 2, "2 steps, saved: %s", p.message);
    c.max_steps = 4;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 4, "resumed for 2 more: %s", p.message);
    Checkpoint ca, cb;
    Err e;
    if (ckpt_load(a, &ca, &e) || ckpt_load(b, &cb, &e)) {
        check_ok(0, "load: %s", e.msg);
        return;
    }
    size_t n = ca.table.total;
    check_ok(same_block(ca.weights, cb.weights, n), "resume: weights equal bit for bit");
    check_ok(same_block(ca.adam_m, cb.adam_m, n) && same_block(ca.adam_v, cb.adam_v, n) && ca.adam_step == cb.adam_step,
             "resume: Adam moments and step equal (step %lld)", (long long)ca.adam_step);
    check_ok(same_block(ca.ema, cb.ema, n), "resume: EMA equal");
    check_ok(cb.spm && cb.spm_len > 0, "the checkpoint carries its tokenizer");
    ckpt_free(&ca), ckpt_free(&cb);

    Store *st;
    Run *runs;
    int nr;
    if (store_open(&st, db, 1, &e) || store_list_runs(st, &runs, &nr, &e)) {
        check_ok(0, "history: %s", e.msg);
        return;
    }
    int for_b = 0;
    int64_t run_b = 0;
    for (int i = 0; i < nr; i++)
        if (strstr(runs[i].checkpoint_path, "b.safetensors")) for_b++, run_b = runs[i].id;
    check_ok(nr == 2 && for_b == 1, "the resumed run continues the same history run (%d runs)", nr);
    Metric *m;
    int nm;
    store_run_metrics(st, run_b, 1, &m, &nm, &e);
    check_ok(nm == 4 && m[0].step == 1 && m[3].step == 4, "its metrics hold steps 1..4 (%d rows)", nm);
    free(m);
    runs_free(runs, nr);
    store_close(st);
}

static void test_commands(void) {
    char ck[700];
    snprintf(ck, sizeof ck, "%s/c.safetensors", dir);
    TrainConfig c = tiny(ck, "");
    c.max_steps = 1000000;
    Trainer *t;
    Err e;
    static TrainProgress p;
    if (trainer_start(&t, &c, -1, &e)) {
        check_ok(0, "start: %s", e.msg);
        return;
    }
    WAIT_FOR(t, p, p.step >= 3);
    trainer_pause(t);
    WAIT_FOR(t, p, p.state == TRAIN_PAUSED);
    int64_t at = p.step;
    sleep_ms(300);
    trainer_progress(t, &p);
    check_ok(p.state == TRAIN_PAUSED && p.step == at, "pause holds the step (%lld)", (long long)at);
    trainer_save_now(t);
    WAIT_FOR(t, p, p.last_ckpt_step == at);
    check_ok(p.last_ckpt_step == at, "save now while paused writes step %lld", (long long)at);
    trainer_resume(t);
    WAIT_FOR(t, p, p.step >= at + 3);
    check_ok(p.state == TRAIN_RUNNING && p.step >= at + 3, "resume continues");
    check_ok(p.nhistory > 0 && p.history[p.nhistory - 1].step <= p.step, "progress keeps a curve (%d points)", p.nhistory);
    trainer_stop(t);
    TrainState s = trainer_join(t);
    trainer_progress(t, &p);
    trainer_free(t);
    Checkpoint ck2;
    int loads = !ckpt_load(ck, &ck2, &e);
    const char *step = loads ? ckpt_meta(&ck2, "step") : NULL;
    check_ok(s == TRAIN_STOPPED && loads && step && atoll(step) == p.step,
             "stop finishes the step and saves it (step %lld): %s", (long long)p.step, p.message);
    if (loads) ckpt_free(&ck2);
}

static void test_blow_up(void) {
    char ck[700];
    snprintf(ck, sizeof ck, "%s/nan.safetensors", dir);
    TrainConfig c = tiny(ck, "");
    c.lr = 1e30f; /* the first update makes the weights overflow every later step */
    c.warmup = 0;
    c.save_every = 1;
    c.max_steps = 100;
    c.ema = 0;
    static TrainProgress p;
    TrainState s = run_to_end(&c, &p);
    check_ok(s == TRAIN_FAILED && p.nan_skips == 20 && strstr(p.message, "non-finite"),
             "a run whose loss stays non-finite stops after 20 skips: %s", p.message);
    Checkpoint k;
    Err e;
    int ok = !ckpt_load(ck, &k, &e);
    check_ok(ok && atoll(ckpt_meta(&k, "step")) == 1, "and its last good checkpoint (step 1) loads");
    if (ok) ckpt_free(&k);
}

static void test_bad_inputs(void) {
    char ck[700], empty[700], other[700];
    snprintf(ck, sizeof ck, "%s/bad.safetensors", dir);
    Err e;
    Trainer *t;
    TrainConfig c = tiny(ck, "");
    c.corpus = "/nonexistent/corpus.txt";
    check_ok(trainer_start(&t, &c, -1, &e) < 0 && strstr(e.msg, "No such file"), "missing corpus: %s", e.msg);
    snprintf(empty, sizeof empty, "%s/empty.txt", dir);
    FILE *f = fopen(empty, "w");
    fputs("\n\n   \n", f);
    fclose(f);
    c = tiny(ck, "");
    c.corpus = empty;
    static TrainProgress p;
    check_ok(run_to_end(&c, &p) == TRAIN_FAILED && p.message[0], "a corpus without a line fails: %s", p.message);
    /* a tokenizer of another size than the checkpoint's */
    snprintf(other, sizeof other, "%s/other", dir);
    if (spm_train(corpus, other, 360, &e)) {
        check_ok(0, "spm_train: %s", e.msg);
        return;
    }
    char ck2[700], othermodel[760];
    snprintf(ck2, sizeof ck2, "%s/a.safetensors", dir); /* trained with the 400-piece tokenizer */
    snprintf(othermodel, sizeof othermodel, "%s.model", other);
    c = tiny(ck2, "");
    c.spm = othermodel;
    c.max_steps = 10;
    check_ok(run_to_end(&c, &p) == TRAIN_FAILED && strstr(p.message, "pieces"),
             "a tokenizer whose vocabulary differs from the checkpoint's: %s", p.message);
}

int main(void) {
    char *d = tmpdir_make("trainer");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    char prefix[560];
    snprintf(prefix, sizeof prefix, "%s/tok", dir);
    snprintf(tok, sizeof tok, "%s.model", prefix);
    Err e;
    if (spm_train(corpus, prefix, 400, &e)) {
        check_ok(0, "tokenizer: %s", e.msg);
        return check_done();
    }
    test_resume_exact();
    test_commands();
    test_blow_up();
    test_bad_inputs();
    tmpdir_remove(dir);
    return check_done();
}
