/* test_trainer.c: the training library as its clients use it: resume is
 * exact (4 steps = 2 + save + resume + 2, bit for bit), commands (pause,
 * resume, save now, stop) do what they say, a run stopped before its first
 * step saves nothing, a run that blows up stops with
 * its last good checkpoint intact, and bad inputs fail with a clear message.
 * And the sdlm recipe's parts: the schedule shift (1 is the seed's, exactly),
 * the time warp (follows a known curve, travels exactly, spaces sampling),
 * FiLM 1 + gamma (at gamma 0, the seed's FiLM at gamma 1), the
 * recipe presets, and a whole sdlm run resumed bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "batch.h"
#include "check.h"
#include "ckpt.h"
#include "diffusion.h"
#include "modelfile.h"
#include "spm.h"
#include "store.h"
#include "timewarp.h"
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
    c.max_steps = 1000000, c.epochs = 1000000; /* it must still run when the second one comes */
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

/* A run stopped before its first step saves nothing: a checkpoint of random
 * weights would be offered as a model (issue 16). */
static void test_stop_untrained(void) {
    char ck[700];
    snprintf(ck, sizeof ck, "%s/untrained.safetensors", dir);
    TrainConfig c = tiny(ck, "");
    c.max_steps = 1000000, c.epochs = 1000000; /* it must still run when the second one comes */
    Trainer *t;
    Err e;
    static TrainProgress p;
    if (trainer_start(&t, &c, -1, &e)) {
        check_ok(0, "start: %s", e.msg);
        return;
    }
    trainer_stop(t); /* at once: the trainer is still preparing */
    TrainState s = trainer_join(t);
    trainer_progress(t, &p);
    trainer_free(t);
    FILE *f = fopen(ck, "rb");
    check_ok(s == TRAIN_STOPPED && p.step == 0 && !f && strstr(p.message, "nothing saved"),
             "stopped before the first step: no checkpoint written (%s)", p.message);
    if (f) fclose(f);
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
    check_ok(ok && atoll(ckpt_meta(&k, "step")) == 1, "and its last good checkpoint (step 1) loads%s%s", ok ? "" : ": ", ok ? "" : e.msg);
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

/* What the editor starts training with, too: a FIFO corpus is refused by
 * trainer_start at once (it used to block the thread in open(), deaf to
 * Ctrl-C and to the editor's stop), and a second trainer on one checkpoint is
 * refused while the first holds it. */
static void test_refused_at_start(void) {
    char fifo[700], ck[700];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(ck, sizeof ck, "%s/locked.safetensors", dir);
    Err e;
    Trainer *t, *second;
    TrainConfig c = tiny(ck, "");
    if (mkfifo(fifo, 0600)) {
        check_ok(0, "mkfifo: %s", strerror(errno));
        return;
    }
    c.corpus = fifo;
    check_ok(trainer_start(&t, &c, -1, &e) < 0 && strstr(e.msg, "FIFO"), "a FIFO corpus is refused at once: %s", e.msg);
    c = tiny(ck, "");
    c.max_steps = 1000000, c.epochs = 1000000; /* it must still run when the second one comes */
    if (trainer_start(&t, &c, -1, &e)) {
        check_ok(0, "trainer_start: %s", e.msg);
        return;
    }
    static TrainProgress p;
    WAIT_FOR(t, p, p.step >= 1 || p.state >= TRAIN_FINISHED); /* the first is training, not still preparing */
    check_ok(p.state == TRAIN_RUNNING || p.state == TRAIN_PAUSED, "the first trainer runs: %s", p.message);
    e.msg[0] = 0;
    second = NULL;
    int refused = trainer_start(&second, &c, -1, &e) < 0;
    check_ok(refused && strstr(e.msg, "being trained"), "a second trainer on the same checkpoint is refused: %s", e.msg);
    if (!refused) trainer_stop(second), trainer_join(second), trainer_free(second);
    trainer_stop(t);
    trainer_join(t);
    trainer_free(t);
    second = NULL;
    int again = trainer_start(&second, &c, -1, &e);
    check_ok(!again, "once the first is done, it may start%s%s", again ? ": " : "", again ? e.msg : "");
    if (second) trainer_stop(second), trainer_join(second), trainer_free(second);
}


/* ---- the recipe's parts ------------------------------------------------------------- */

static void test_shift(void) {
    int same = 1, scaled = 1;
    for (int i = 0; i <= 1000; i++) {
        float t = i / 1000.0f, g = diffusion_gamma(t);
        float g1 = diffusion_gamma_shift(t, 1.0f), g0 = diffusion_gamma_shift(t, 0.0f);
        same &= !memcmp(&g, &g1, sizeof g) && !memcmp(&g, &g0, sizeof g);
        if (g > 1e-4f && g < 1 - 1e-4f) { /* snr' = snr * s^2 */
            double snr = g / (1.0 - g), gs = diffusion_gamma_shift(t, 0.5f), snrs = gs / (1.0 - gs);
            scaled &= fabs(snrs / snr - 0.25) < 1e-3;
        }
    }
    check_ok(same, "shift 1 (and 0) is the seed's schedule bit for bit");
    check_ok(scaled, "shift 0.5 scales the signal-to-noise ratio by 0.25");
}

static void test_warp(void) {
    TimeWarp w;
    warp_init(&w);
    check_ok(warp_sample(&w, 0.3) == 0.3f && !w.ready, "warp: uniform until every bin has data");
    /* cross-entropy t^2 at every bin centre: the density is 0.8 * 2t + 0.2 (the floor), CDF 0.8 t^2 + 0.2 t */
    for (int k = 0; k < WARP_BINS; k++) {
        float t = (k + 0.5f) / WARP_BINS;
        for (int r = 0; r < 3; r++) warp_observe(&w, t, t * t);
    }
    warp_refit(&w);
    double worst = 0;
    for (int i = 1; i < 100; i++) {
        double u = i / 100.0, want = (-0.2 + sqrt(0.04 + 3.2 * u)) / 1.6; /* 0.8 t^2 + 0.2 t = u */
        double got = warp_sample(&w, u);
        worst = fabs(got - want) > worst ? fabs(got - want) : worst;
    }
    check_ok(w.ready && worst < 0.015, "warp: training times follow the inverse of a known curve (worst %.4f)", worst);
    float times[41];
    warp_times(&w, 40, times);
    int falls = times[0] == 1.0f && times[40] == 0.0f;
    for (int s = 1; s <= 40; s++) falls &= times[s] <= times[s - 1];
    check_ok(falls && times[20] > 0.5f, "warp: sampling times fall from 1 to 0, denser at high t (mid %.3f)", times[20]);
    char text[WARP_TEXT_MAX];
    size_t n = warp_format(&w, text, sizeof text);
    TimeWarp back;
    check_ok(n < sizeof text && !warp_parse(&back, text) && !memcmp(&back, &w, sizeof w),
             "warp: the whole state survives its text form exactly (%zu bytes)", n);
    check_ok(warp_parse(&back, "0.1 0.2") < 0 && !back.ready, "warp: text it did not write is refused");
    /* a falling curve is made flat: uniform */
    warp_init(&w);
    for (int k = 0; k < WARP_BINS; k++) warp_observe(&w, (k + 0.5f) / WARP_BINS, 5.0f - k * 0.1f);
    warp_refit(&w);
    check_ok(fabs(warp_sample(&w, 0.37) - 0.37) < 1e-5, "warp: a curve that never rises gives uniform times");
}

/* The network with FiLM 1 + gamma is the seed's with gamma moved by one (the
 * kernel itself is checked against loops in test_ops). */
static void test_film_one_plus(void) {
    Config cfg = config_default(50);
    cfg.E = 8, cfg.D = 32, cfg.NL = 2, cfg.F = 64, cfg.H = 4, cfg.R = 8, cfg.dropout = 0, cfg.layerdrop = 0;
    Model a = {0}, b = {0};
    Workspace wa = {0}, wb = {0};
    Err e;
    Config cb = cfg;
    cfg.film_one_plus = 1;
    enum { B = 2, L = 6 };
    if (model_alloc(&a, &cfg, &e) || model_alloc(&b, &cb, &e) || workspace_alloc(&wa, &cfg, B, L, 0, &e) ||
        workspace_alloc(&wb, &cb, B, L, 0, &e)) {
        check_ok(0, "film: %s", e.msg);
        return;
    }
    params_init(&a.table, a.w, 3);
    /* gamma = GELU(W4 h + b4): with W4's gamma rows zero, one-plus at b4 = 0 scales by 1 + GELU(0) = 1, and
     * the seed's FiLM scales by 1 where GELU(b4) = 1 */
    double lo = 0, hi = 3;
    for (int k = 0; k < 60; k++) {
        double mid = (lo + hi) / 2;
        if (0.5 * mid * (1 + erf(mid / sqrt(2.0))) < 1) lo = mid;
        else hi = mid;
    }
    for (int i = 0; i < cfg.NL; i++) /* rows 4i and 4i+1 of the time MLP's output are gamma1, gamma2 */
        for (long r = (long)4 * i * cfg.D; r < (long)(4 * i + 2) * cfg.D; r++) {
            memset(a.p.time_w4 + r * TIME_HIDDEN, 0, sizeof(float) * TIME_HIDDEN);
            a.p.time_b4[r] = 0;
        }
    memcpy(b.w, a.w, sizeof(float) * a.table.total);
    for (int i = 0; i < cfg.NL; i++)
        for (long r = (long)4 * i * cfg.D; r < (long)(4 * i + 2) * cfg.D; r++) b.p.time_b4[r] = (float)lo;
    int32_t ids[B * L];
    uint8_t lm[B * L], cond[B * L];
    float t[B] = {0.3f, 0.9f}, z[B * L * 8];
    Rng r;
    rng_seed(&r, 5);
    rng_fill_normal(&r, z, B * L * 8, 1.0f);
    for (int i = 0; i < B * L; i++) ids[i] = (int32_t)(i * 7 % 50), lm[i] = 1, cond[i] = i % 3 == 0;
    LossInput in = {.B = B, .L = L, .ids = ids, .len_mask = lm, .cond = cond, .t = t, .z = z};
    LossStats sa, sb;
    diffusion_loss(&a, NULL, &wa, &in, 1.0f, NULL, &sa);
    diffusion_loss(&b, NULL, &wb, &in, 1.0f, NULL, &sb);
    check_close("film one-plus at gamma 0 computes the seed's FiLM at gamma 1", wa.x_est, wb.x_est, B * L * 8, 1e-5, 1e-3);
    check_ok(fabs(sa.loss - sb.loss) < 1e-4 * fabs(sb.loss) + 1e-5, "film one-plus: the same loss (%g, %g)", sa.loss, sb.loss);
    workspace_free(&wa), workspace_free(&wb), model_free(&a), model_free(&b);
}

static void test_recipes(void) {
    TrainConfig d = trainer_defaults(), s = d;
    trainer_apply_recipe(&s, RECIPE_SEED);
    check_ok(!memcmp(&d, &s, sizeof d), "recipe seed changes nothing of the seed's defaults");
    check_ok(d.shift == 1.0f && d.masks == MASK_SEED && !d.time_warp && !d.film_one_plus && d.ema == 0 && !d.fixed_norm,
             "the defaults are the seed's: shift 1, seed masks, no warp, FiLM gamma, no EMA, learned norm");
    TrainConfig m = d;
    trainer_apply_recipe(&m, RECIPE_SDLM);
    check_ok(m.recipe == RECIPE_SDLM && m.film_one_plus && m.time_warp && m.fixed_norm && m.masks == MASK_MIXED && m.ema > 0,
             "recipe sdlm: FiLM 1 + gamma, time warp, fixed norm, mixed masks, EMA %g, lr %g, batch %d", m.ema, m.lr,
             m.batch);
    trainer_apply_recipe(&m, RECIPE_SEED);
    check_ok(!memcmp(&d, &m, sizeof d), "recipe seed after recipe sdlm is the seed's defaults again");
}

/* --fixed-norm keeps the embedding norm's affine at (1, 0), in the weights and the EMA; without it the
 * same run learns a scale. */
static void test_fixed_norm(void) {
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/fn1.safetensors", dir);
    snprintf(b, sizeof b, "%s/fn0.safetensors", dir);
    static TrainProgress p;
    TrainConfig c = tiny(a, "");
    trainer_apply_recipe(&c, RECIPE_SDLM);
    c.batch = 8, c.lr = 1e-2f, c.warmup = 2, c.ema = 0.9f, c.max_steps = 12, c.fixed_norm = 1;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED, "fixed-norm: 12 steps: %s", p.message);
    c.ckpt = b, c.fixed_norm = 0;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED, "learned norm: 12 steps: %s", p.message);
    Checkpoint ca, cb;
    Err e;
    if (ckpt_load(a, &ca, &e) || ckpt_load(b, &cb, &e)) {
        check_ok(0, "load: %s", e.msg);
        return;
    }
    Params pa, pe, pb;
    if (params_bind(&pa, &ca.table, ca.weights) || params_bind(&pe, &ca.table, ca.ema) ||
        params_bind(&pb, &cb.table, cb.weights)) {
        check_ok(0, "bind");
        return;
    }
    int fixed = 1, moved = 0;
    for (int i = 0; i < ca.table.cfg.E; i++) {
        fixed &= pa.norm_w[i] == 1.0f && pa.norm_b[i] == 0.0f && pe.norm_w[i] == 1.0f && pe.norm_b[i] == 0.0f;
        moved |= pb.norm_w[i] != 1.0f;
    }
    const char *v = ckpt_meta(&ca, "fixed_norm");
    check_ok(fixed && v && !strcmp(v, "1"), "fixed-norm: weight 1 and bias 0 in the weights and the EMA, kept in the metadata");
    check_ok(moved, "without it the same run moves the norm's weight");
    params_unbind(&pa), params_unbind(&pe), params_unbind(&pb);
    ckpt_free(&ca), ckpt_free(&cb);
}

/* The masked family (the sdlm recipe's) resumes bit for bit: its mask draws, times and loss weights
 * are functions of the step, and --decay-to-end's lr of the step budget. */
static void test_masked_run(void) {
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/ma.safetensors", dir);
    snprintf(b, sizeof b, "%s/mb.safetensors", dir);
    static TrainProgress p;
    Err e;
    TrainConfig c = tiny(a, "");
    trainer_apply_recipe(&c, RECIPE_SDLM);
    c.batch = 8, c.warmup = 2, c.ema = 0.9f, c.E = 8, c.D = 32, c.NL = 1;
    TrainConfig c0 = c;
    c.max_steps = 30;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 30, "masked: 30 steps: %s", p.message);
    float lr_end = p.last.lr;
    c = c0, c.ckpt = b, c.max_steps = 30; /* the same budget, stopped on the way (wherever it stops) */
    Trainer *t;
    if (trainer_start(&t, &c, -1, &e)) {
        check_ok(0, "trainer_start: %s", e.msg);
        return;
    }
    WAIT_FOR(t, p, p.step >= 10);
    trainer_stop(t);
    check_ok(trainer_join(t) == TRAIN_STOPPED, "masked: stopped on the way and saved");
    trainer_progress(t, &p);
    int stopped_at = (int)p.step;
    trainer_free(t);
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 30, "masked: resumed from %d to 30: %s", stopped_at,
             p.message);
    Checkpoint ca, cb;
    if (ckpt_load(a, &ca, &e) || ckpt_load(b, &cb, &e)) {
        check_ok(0, "load: %s", e.msg);
        return;
    }
    check_ok(ca.table.cfg.masked && same_block(ca.weights, cb.weights, ca.table.total) &&
                 same_block(ca.ema, cb.ema, ca.table.total),
             "masked: resume is exact (weights and EMA bit for bit)");
    check_ok(fabsf(lr_end - 0.1f * c0.lr) < 0.05f * c0.lr, "--decay-to-end: the last step's lr is near 0.1 x lr (%g)",
             (double)lr_end);
    ckpt_free(&ca), ckpt_free(&cb);
}

/* A run with every sdlm option resumes bit for bit, and its checkpoint says how to sample it. */
static void test_sdlm_run(void) {
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/sa.safetensors", dir);
    snprintf(b, sizeof b, "%s/sb.safetensors", dir);
    static TrainProgress p;
    TrainConfig c = tiny(a, "");
    trainer_apply_recipe(&c, RECIPE_SDLM);
    c.batch = 8, c.lr = 1e-3f, c.warmup = 2, c.ema = 0.9f, c.shift = 0.7f;
    c.masked = 0, c.decay_end = 0; /* the recipe's continuous options: the masked family's is test_masked_run */
    TrainConfig c0 = c;
    c.max_steps = 44;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 44, "sdlm recipe: 44 steps: %s", p.message);
    c = c0, c.ckpt = b, c.max_steps = 21;
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED, "sdlm recipe: 21 steps, saved");
    c = tiny(b, ""), c.max_steps = 44; /* seed flags: a resumed run keeps the recipe it was started with */
    check_ok(run_to_end(&c, &p) == TRAIN_FINISHED && p.step == 44, "sdlm recipe: resumed to 44: %s", p.message);
    Checkpoint ca, cb;
    Err e;
    if (ckpt_load(a, &ca, &e) || ckpt_load(b, &cb, &e)) {
        check_ok(0, "load: %s", e.msg);
        return;
    }
    size_t n = ca.table.total;
    check_ok(same_block(ca.weights, cb.weights, n) && same_block(ca.ema, cb.ema, n),
             "sdlm recipe: resume is exact (weights and EMA bit for bit, warp included)");
    const char *wa = ckpt_meta(&ca, "warp"), *wb = ckpt_meta(&cb, "warp"), *sh = ckpt_meta(&ca, "shift");
    check_ok(ca.table.cfg.film_one_plus == 1 && wa && wb && !strcmp(wa, wb) && sh && strtof(sh, NULL) == 0.7f,
             "the checkpoint keeps film_one_plus, the shift and the time curve");
    ckpt_free(&ca), ckpt_free(&cb);
    ModelFile mf;
    if (modelfile_open(&mf, a, NULL, 1, &e)) {
        check_ok(0, "modelfile: %s", e.msg);
        return;
    }
    check_ok(mf.model.cfg.film_one_plus == 1 && mf.shift == 0.7f && mf.used_ema,
             "a loaded model runs the same network: FiLM 1 + gamma, shift 0.7, EMA (%s)", mf.description);
    /* sampling: the seed spacing given explicitly is the default, bit for bit; the warp's differs */
    enum { S = 12, LEN = 10 };
    int32_t ids[LEN], o1[LEN], o2[LEN], o3[LEN];
    uint8_t known[LEN];
    int lengths[1] = {LEN};
    for (int i = 0; i < LEN; i++) ids[i] = 5 + i, known[i] = i < 3 || i > 6;
    Workspace ws = {0};
    workspace_alloc(&ws, &mf.model.cfg, 1, LEN, 0, &e);
    float lin[S + 1], warped[S + 1];
    for (int k = 0; k <= S; k++) lin[k] = (float)fmax(1.0 - (double)k / S, 0.0);
    SampleRequest rq = {.B = 1, .L = LEN, .ids = ids, .known = known, .lengths = lengths, .kind = SAMPLER_DDPM,
                        .steps = S, .seed = 9, .shift = 0.7f};
    diffusion_sample(&mf.model, &ws, &rq, NULL, NULL, o1, &e);
    rq.times = lin;
    diffusion_sample(&mf.model, &ws, &rq, NULL, NULL, o2, &e);
    check_ok(!memcmp(o1, o2, sizeof o1), "sampling at 1 - s/S given as times equals the default spacing");
    SampleRequest wq = rq;
    modelfile_schedule(&mf, &wq, 1, warped);
    check_ok(wq.shift == 0.7f && (mf.warp.ready ? wq.times == warped : wq.times == NULL),
             "modelfile_schedule: the model's shift, and its warped spacing when fitted (%s)",
             mf.warp.ready ? "fitted" : "not yet");
    if (wq.times) check_ok(diffusion_sample(&mf.model, &ws, &wq, NULL, NULL, o3, &e) == 0, "warped sampling runs");
    float bad[S + 1];
    memcpy(bad, lin, sizeof bad);
    bad[3] = 0.99f;
    rq.times = bad;
    check_ok(diffusion_sample(&mf.model, &ws, &rq, NULL, NULL, o3, &e) < 0 && strstr(e.msg, "fall"),
             "rising sampling times are refused: %s", e.msg);
    workspace_free(&ws);
    modelfile_close(&mf);
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
    test_stop_untrained();
    test_blow_up();
    test_bad_inputs();
    test_refused_at_start();
    test_shift();
    test_warp();
    test_film_one_plus();
    test_recipes();
    test_fixed_norm();
    test_sdlm_run();
    test_masked_run();
    tmpdir_remove(dir);
    return check_done();
}
