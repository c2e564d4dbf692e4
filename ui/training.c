/* training.c: the training screen: a corpus, a size preset and a step
 * limit; start, pause, resume, stop and save through the session; live
 * curves of loss, mse, ce, accuracy and learning rate from the trainer's
 * progress snapshots, and the one-step accuracy by noise level t (where the
 * model has learned to denoise and where not yet); tokens/s, ETA, the last
 * checkpoint and the probe infills; one key hands the newest checkpoint to
 * the editor.
 *
 * Training runs on the trainer's thread: this file only sends commands and
 * draws snapshots, so the editor keeps working while it trains. */
#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "paths.h"
#include "plot.h"

static struct {
    int editing;           /* typing the corpus path */
    char field[1024];
    size_t flen;
    /* strings the trainer keeps pointers to while it runs */
    char ckpt[1200], spm[1200], corpus[1024];
    double *series;
    int cap;
    int64_t loaded_step;   /* checkpoint step last handed to the editor */
    /* time spent paused in this run, so "elapsed" is training time */
    double paused_s, paused_since;
    double elapsed_shown;  /* elapsed when the run ended, kept on screen */
} T;

static int file_exists(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISREG(st.st_mode);
}

/* Why a corpus path cannot be read, as the screen says it: "" when it is a regular file. */
static const char *corpus_problem(const char *p) {
    struct stat st;
    if (stat(p, &st)) return "not found";
    return S_ISREG(st.st_mode) ? "" : S_ISDIR(st.st_mode) ? "a folder, not a text file" : "not a regular file";
}

static void train_init(App *a) {
    if (!a->conf.corpus[0]) {
        char share[1024];
        Err e;
        if (!paths_share_dir(share, sizeof share, &e))
            snprintf(a->conf.corpus, sizeof a->conf.corpus, "%.1000s/corpus.txt", share);
    }
}

static const char *fmt_dur(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e9) return "-";
    long n = (long)(s + 0.5);
    if (n >= 3600) snprintf(buf, cap, "%ldh%02ldm", n / 3600, n / 60 % 60);
    else if (n >= 60) snprintf(buf, cap, "%ldm%02lds", n / 60, n % 60);
    else snprintf(buf, cap, "%lds", n);
    return buf;
}

static void series(const TrainProgress *p, int which) {
    if (T.cap < p->nhistory) {
        double *s = realloc(T.series, sizeof(double) * (p->nhistory + 1));
        if (!s) return;
        T.series = s, T.cap = p->nhistory;
    }
    for (int i = 0; i < p->nhistory; i++) {
        const TrainPoint *q = &p->history[i];
        double v = which == 0 ? q->loss : which == 1 ? q->mse : which == 2 ? q->ce : which == 3 ? q->accuracy : q->lr;
        T.series[i] = q->skipped ? NAN : v;
    }
}

/* The one-step denoising accuracy by noise level t bucket: near 100% at low
 * t (little noise: the token shows through), falling towards t = 1 where the
 * fill must come from context alone. */
static void t_curve(const TrainProgress *p, int y, int x, int h, int w) {
    double v[TRAIN_TBUCKETS];
    for (int k = 0; k < TRAIN_TBUCKETS; k++)
        v[k] = p->state != TRAIN_IDLE && p->t_accuracy[k] >= 0 ? p->t_accuracy[k] : NAN; /* idle: no run, no data */
    if (h < 3) plot_buckets(y, x, h, w, w >= 70 ? "one-step accuracy by noise level t" : "accuracy by t", "t 0 → 1", v,
                            TRAIN_TBUCKETS);
    else if (w >= 46) plot_buckets(y, x, h, w, "one-step accuracy by noise level t", "t 0 → 1, %", v, TRAIN_TBUCKETS);
    else plot_buckets(y, x, h, w, "accuracy by noise t", "0 → 1, %", v, TRAIN_TBUCKETS);
}

/* Seconds trained: the trainer's wall time less the time spent paused. */
static double trained_s(const App *a) {
    double paused = T.paused_s + (T.paused_since > 0 ? a->now - T.paused_since : 0);
    double s = a->train->elapsed_s - paused;
    return s > 0 ? s : 0;
}

/* "running  step 120/21600  epoch 1/3  5120 tok/s  elapsed 1m02s  ETA 57m57s".
 * Before the first step it says it is preparing (no rate, no ETA yet); a run
 * that ended shows how long it trained, and no ETA. */
static void state_line(App *a, char *line, size_t cap) {
    const TrainProgress *p = a->train;
    char stp[64], d1[32], d2[32];
    if (p->state == TRAIN_IDLE) {
        snprintf(line, cap, "not training: %s starts", keymap_name_of("train-start"));
        return;
    }
    int preparing = p->state == TRAIN_PREPARING || (p->state == TRAIN_RUNNING && p->last.tokens_per_s <= 0);
    if (p->total_steps > 0) snprintf(stp, sizeof stp, "%lld/%lld", (long long)p->step, (long long)p->total_steps);
    else snprintf(stp, sizeof stp, "%lld", (long long)p->step);
    if (preparing)
        snprintf(line, cap, "preparing: reading the corpus and taking the first step");
    else if (p->state >= TRAIN_FINISHED)
        snprintf(line, cap, "%s  step %s  epoch %d/%d  trained %s", train_state_name(p->state), stp, p->epoch, p->epochs,
                 fmt_dur(T.elapsed_shown, d1, sizeof d1));
    else
        snprintf(line, cap, "%s  step %s  epoch %d/%d  %.0f tok/s  elapsed %s  ETA %s", train_state_name(p->state), stp,
                 p->epoch, p->epochs, p->last.tokens_per_s, fmt_dur(trained_s(a), d1, sizeof d1), fmt_dur(p->eta_s, d2, sizeof d2));
}

static void train_draw(App *a, int top, int rows) {
    const TrainProgress *p = a->train;
    int n;
    const TrainPreset *pr = train_presets(&n);
    const TrainPreset *cur = &pr[a->conf.preset < n ? a->conf.preset : 0];
    int y = top + 1, x = 2, W = a->cols - 4;
    char line[1400];
    draw_text(y, x, "Corpus  ", 8, A_BOLD);
    if (T.editing) {
        draw_fill(y, x + 8, W - 8, color_attr(C_FIELD));
        int start = (int)T.flen > W - 10 ? (int)T.flen - (W - 10) : 0;
        int w = draw_text(y, x + 8, T.field + start, W - 9, color_attr(C_FIELD));
        move(y, x + 8 + w);
        curs_set(1);
    } else {
        char shown[1100];
        const char *why = corpus_problem(a->conf.corpus);
        snprintf(line, sizeof line, "%s%s%s%s", app_tilde(a->conf.corpus, shown, sizeof shown), *why ? "  (" : "", why,
                 *why ? ")" : "");
        draw_text(y, x + 8, line, W - 8, file_exists(a->conf.corpus) ? 0 : color_attr(C_ERROR));
    }
    y++;
    char lim[32];
    if (a->conf.train_steps) snprintf(lim, sizeof lim, "%lld", (long long)a->conf.train_steps);
    else snprintf(lim, sizeof lim, "none");
    snprintf(line, sizeof line, "‹ %s › %s, lr %g   │ step limit: %s", cur->name, cur->about, (double)cur->lr, lim);
    draw_text(y, x, "Preset  ", 8, A_BOLD);
    draw_text(y, x + 8, line, W - 8, 0);
    y++;
    state_line(a, line, sizeof line);
    draw_text(y, x, "State   ", 8, A_BOLD);
    int attr = p->state == TRAIN_FAILED ? color_attr(C_ERROR) : p->state == TRAIN_RUNNING ? color_attr(C_KEY) : 0;
    draw_text(y, x + 8, line, W - 8, attr);
    y++;
    if (p->message[0] && p->state != TRAIN_IDLE) draw_text(y, x + 8, p->message, W - 8, color_attr(C_HINT));
    y++;
    if (p->last_ckpt[0]) {
        char shown[1100];
        snprintf(line, sizeof line, "checkpoint: %s (step %lld)", app_tilde(p->last_ckpt, shown, sizeof shown),
                 (long long)p->last_ckpt_step);
        draw_text(y, x + 8, line, W - 8, 0);
    }
    y++;
    /* the plots, two columns, and the probes */
    int hints = top + rows - 1;
    int probes = p->nprobes > 0 ? p->nprobes + 1 : 0;
    int avail = hints - y - probes;
    int cols = 2, pw = (W - 2) / cols, nplots = 6, prow = (nplots + cols - 1) / cols;
    int ph = avail / prow;
    if (ph > 10) ph = 10;
    if (ph >= 4) { /* a title and at least two rows of bars each */
        static const char *const names[] = {"loss", "mse", "ce", "accuracy", "lr"};
        for (int i = 0; i < nplots; i++) {
            int r = i / cols, c = i % cols;
            if (i == 5) {
                t_curve(p, y + r * ph, x + c * (pw + 2), ph - 1, pw);
                continue;
            }
            series(p, i);
            plot_draw(y + r * ph, x + c * (pw + 2), ph - 1, pw, names[i], T.series, T.series ? p->nhistory : 0, 0);
        }
        y += prow * ph;
    } else if (p->state != TRAIN_IDLE && y < hints) {
        t_curve(p, y++, x, 1, W); /* no room for plots: the t curve as one line, before the last probe */
    }
    if (p->nprobes > 0 && y < hints) {
        draw_text(y++, x, "probe infills at the last checkpoint:", W, A_BOLD);
        for (int i = 0; i < p->nprobes && y < hints; i++, y++) {
            snprintf(line, sizeof line, "%s  →  %s", p->probe_template[i], p->probe_result[i]);
            draw_text(y, x + 2, line, W - 2, 0);
        }
    }
    if (p->nsamples > 0 && y + 1 < hints) {
        draw_text(y++, x, "latest samples:", W, A_BOLD);
        for (int i = 0; i < p->nsamples && y < hints; i++, y++) draw_text(y, x + 2, p->samples[i], W - 2, 0);
    }
    static const char *const hint[][2] = {{"train-start", "start"}, {"train-pause", "pause/resume"}, {"train-stop", "stop"},
                                          {"train-save", "save now"}, {"train-load", "use in the editor"},
                                          {"corpus", "corpus"}, {"preset-prev", "preset"}, {"steps", "step limit"},
                                          {"models", "models"}};
    static const int prio[] = {0, 1, 0, 2, 1, 3, 3, 4, 2};
    char hk[9][64];
    const char *items[9];
    for (int i = 0; i < 9; i++) {
        if (!strcmp(hint[i][0], "preset-prev"))
            snprintf(hk[i], sizeof hk[i], "%s/%s %s", keymap_name_of("preset-prev"), keymap_name_of("preset-next"), hint[i][1]);
        else snprintf(hk[i], sizeof hk[i], "%s %s", keymap_name_of(hint[i][0]), hint[i][1]);
        items[i] = hk[i];
    }
    fit_items(line, sizeof line, items, prio, 9, "  ", a->cols - 2);
    draw_text(hints, 1, line, a->cols - 2, color_attr(C_HINT));
}

static int running(const App *a) {
    TrainState s = a->train->state;
    return s == TRAIN_PREPARING || s == TRAIN_RUNNING || s == TRAIN_PAUSED || s == TRAIN_STOPPING;
}

void tr_start(App *a) {
    if (running(a)) {
        app_message(a, 0, "already training: %s stops", keymap_name_of("train-stop"));
        return;
    }
    int n;
    const TrainPreset *pr = &train_presets(&n)[a->conf.preset < n ? a->conf.preset : 0];
    TrainConfig c = trainer_defaults();
    trainer_apply_recipe(&c, RECIPE_SDLM);
    c.E = pr->E, c.D = pr->D, c.NL = pr->NL, c.batch = pr->batch, c.lr = pr->lr;
    c.max_steps = a->conf.train_steps;
    c.ngen = 4;
    snprintf(T.corpus, sizeof T.corpus, "%s", a->conf.corpus);
    c.corpus = T.corpus;
    /* a new checkpoint under the data dir, named by time and preset */
    char dir[1100];
    Err e;
    snprintf(dir, sizeof dir, "%s/models", a->data_dir[0] ? a->data_dir : ".");
    if (paths_mkdir_p(dir, 0700, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(T.ckpt, sizeof T.ckpt, "%.1100s/%s-%s.safetensors", dir, stamp, pr->name);
    c.ckpt = T.ckpt;
    /* the shipped tokenizer fits the shipped corpus; another corpus gets its own */
    char share[1024];
    c.spm = NULL;
    if (!paths_share_dir(share, sizeof share, &e)) {
        snprintf(T.spm, sizeof T.spm, "%.1000s/tokenizer.model", share);
        char shipped[1100];
        snprintf(shipped, sizeof shipped, "%.1000s/corpus.txt", share);
        if (file_exists(T.spm) && !strcmp(shipped, T.corpus)) c.spm = T.spm;
    }
    if (a->db_path[0]) c.db = a->db_path;
    if (session_train_start(a->s, &c, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    T.paused_s = T.paused_since = T.elapsed_shown = 0;
    app_message(a, 0, "training %s on %s", pr->name, T.corpus);
    fprintf(stderr, "training: %s -> %s\n", T.corpus, T.ckpt);
}

void tr_pause(App *a) {
    if (a->train->state == TRAIN_PAUSED) {
        session_train_command(a->s, TRAIN_CMD_RESUME);
        app_message(a, 0, "resumed");
    } else if (running(a)) {
        session_train_command(a->s, TRAIN_CMD_PAUSE);
        app_message(a, 0, "paused (%s resumes)", keymap_name_of("train-pause"));
    } else {
        app_message(a, 0, "not training");
    }
}

void tr_stop(App *a) {
    if (!running(a)) {
        app_message(a, 0, "not training");
        return;
    }
    session_train_command(a->s, TRAIN_CMD_STOP);
    app_message(a, 0, "stopping: saving a checkpoint");
}

void tr_save(App *a) {
    if (!running(a)) {
        app_message(a, 0, "not training");
        return;
    }
    session_train_command(a->s, TRAIN_CMD_SAVE);
    app_message(a, 0, "saving a checkpoint");
}

void tr_load(App *a) {
    const char *p = a->train->last_ckpt;
    if (!p[0]) {
        app_message(a, 0, "no checkpoint yet (%s saves one now)", keymap_name_of("train-save"));
        return;
    }
    if (!app_use_model(a, p, 1)) T.loaded_step = a->train->last_ckpt_step;
}

void tr_corpus(App *a) {
    T.editing = 1;
    snprintf(T.field, sizeof T.field, "%s", a->conf.corpus);
    T.flen = strlen(T.field);
    a->redraw = 1;
}

void tr_preset_next(App *a) {
    int n;
    train_presets(&n);
    if (a->conf.preset + 1 < n) a->conf.preset++;
    else app_message(a, 0, "%s is the largest preset", train_presets(&n)[n - 1].name);
    a->redraw = 1;
}

void tr_preset_prev(App *a) {
    int n;
    train_presets(&n);
    if (a->conf.preset > 0 && a->conf.preset < n) a->conf.preset--;
    else app_message(a, 0, "%s is the smallest preset", train_presets(&n)[0].name);
    a->redraw = 1;
}

void tr_steps(App *a) {
    static const int64_t ladder[] = {0, 100, 1000, 10000, 100000};
    int i = 0;
    while (i < 5 && ladder[i] != a->conf.train_steps) i++;
    a->conf.train_steps = ladder[(i + 1) % 5];
    a->redraw = 1;
}

/* the corpus field */
static int train_modal(App *a, int key) {
    if (!T.editing) return 0;
    a->redraw = 1;
    if (key == K_ENTER) {
        snprintf(a->conf.corpus, sizeof a->conf.corpus, "%s", T.field);
        T.editing = 0;
        conf_save(a);
        if (!file_exists(a->conf.corpus)) app_message(a, 1, "%s: %s", a->conf.corpus, corpus_problem(a->conf.corpus));
    } else if (key == K_ESC) {
        T.editing = 0;
    } else if (key == K_BACKSPACE) {
        while (T.flen > 0 && ((unsigned char)T.field[T.flen - 1] & 0xc0) == 0x80) T.flen--;
        if (T.flen > 0) T.flen--;
        T.field[T.flen] = 0;
    } else if (key == KCTRL('u')) {
        T.flen = 0, T.field[0] = 0;
    } else if (key >= 0x20 && key < K_FN && T.flen + 5 < sizeof T.field) {
        T.flen += utf8_encode((uint32_t)key, T.field + T.flen);
        T.field[T.flen] = 0;
    } else if (key == KCTRL('q') || key == KCTRL('c')) {
        T.editing = 0;
        return 0;
    }
    return 1;
}

/* a run ending says so wherever the user is */
static int train_tick(App *a) {
    static TrainState last = TRAIN_IDLE;
    TrainState st = a->train->state;
    if (st == TRAIN_PAUSED && last != TRAIN_PAUSED) T.paused_since = a->now;
    if (st != TRAIN_PAUSED && T.paused_since > 0) T.paused_s += a->now - T.paused_since, T.paused_since = 0;
    if (st < TRAIN_FINISHED) T.elapsed_shown = trained_s(a);
    if (st != last && st >= TRAIN_FINISHED) {
        if (st == TRAIN_FAILED) app_message(a, 1, "training failed: %s", a->train->message);
        else
            app_message(a, 0, "training %s at step %lld: %s on the training screen loads it", train_state_name(st),
                        (long long)a->train->step, keymap_name_of("train-load"));
    }
    last = st;
    return 0;
}

const Screen screen_train = {"Training", train_init, NULL, train_draw, train_modal, NULL, train_tick};
