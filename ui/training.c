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
#include "fileguard.h"

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

/* Curve `which` (0 loss, 1 mse, 2 ce, 3 accuracy, 4 lr) of the progress into t->series. */
static void series(TrainScreenState *t, const TrainProgress *p, int which) {
    if (t->cap < p->nhistory) {
        double *s = realloc(t->series, sizeof(double) * (p->nhistory + 1));
        if (!s) return;
        t->series = s, t->cap = p->nhistory;
    }
    for (int i = 0; i < p->nhistory; i++) {
        const TrainPoint *q = &p->history[i];
        double v = which == 0 ? q->loss : which == 1 ? q->mse : which == 2 ? q->ce : which == 3 ? q->accuracy : q->lr;
        t->series[i] = q->skipped ? NAN : v;
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
    const TrainScreenState *t = &a->training;
    double paused = t->paused_s + (t->paused_since > 0 ? a->now - t->paused_since : 0);
    double s = a->train->elapsed_s - paused;
    return s > 0 ? s : 0;
}

/* "running  step 120/21600  epoch 1/3  5120 tok/s  elapsed 1m02s  ETA 57m57s".
 * Before the first step it says it is preparing (no rate, no ETA yet); a run
 * that ended shows how long it trained, and no ETA. */
static void state_line(App *a, char *line, size_t cap, int width) {
    const TrainProgress *p = a->train;
    char state[32], stp[64], epoch[32], tok[32] = "", el[48], eta[48] = "", d[32];
    if (p->state == TRAIN_IDLE) {
        snprintf(line, cap, "not training: press %s to start", keymap_name_of("train-start"));
        return;
    }
    if (p->state == TRAIN_PREPARING || (p->state == TRAIN_RUNNING && p->last.tokens_per_s <= 0)) {
        snprintf(line, cap, "preparing: reading the corpus and taking the first step");
        return;
    }
    int done = p->state >= TRAIN_FINISHED;
    snprintf(state, sizeof state, "%s", train_state_name(p->state));
    if (p->total_steps > 0) snprintf(stp, sizeof stp, "step %lld/%lld", (long long)p->step, (long long)p->total_steps);
    else snprintf(stp, sizeof stp, "step %lld", (long long)p->step);
    snprintf(epoch, sizeof epoch, "epoch %d/%d", p->epoch, p->epochs);
    if (!done) {
        snprintf(tok, sizeof tok, "%.0f tok/s", p->last.tokens_per_s);
        snprintf(eta, sizeof eta, "ETA %s", fmt_dur(p->eta_s, d, sizeof d));
    }
    snprintf(el, sizeof el, "%s %s", done ? "trained" : "elapsed",
             fmt_dur(done ? a->training.elapsed_shown : trained_s(a), d, sizeof d));
    const char *items[] = {state, stp, epoch, tok, el, eta};
    static const int prio[] = {0, 0, 3, 4, 2, 1};
    fit_items(line, cap, items, prio, 6, "  ", width);
}

/* "Corpus  ~/text.txt": the path, what is wrong with it, or the field being typed. */
static void draw_corpus(App *a, int y, int x, int W) {
    const TrainScreenState *t = &a->training;
    draw_text(y, x, "Corpus  ", 8, A_BOLD);
    if (t->editing) {
        draw_fill(y, x + 8, W - 8, color_attr(C_FIELD));
        int start = (int)t->flen > W - 10 ? (int)t->flen - (W - 10) : 0;
        int w = draw_text(y, x + 8, t->field + start, W - 9, color_attr(C_FIELD));
        move(y, x + 8 + w);
        curs_set(1);
        return;
    }
    char shown[1100], line[1400];
    const char *why = corpus_problem(a->conf.corpus);
    snprintf(line, sizeof line, "%s%s%s%s", app_tilde(a->conf.corpus, shown, sizeof shown), *why ? "  (" : "", why,
             *why ? ")" : "");
    draw_text(y, x + 8, line, W - 8, fileguard_is_regular(a->conf.corpus) ? 0 : color_attr(C_ERROR));
}

/* The corpus, the preset and step limit, the state, the trainer's message
 * and the last checkpoint, a row each from y; returns the row after them. */
static int draw_setup(App *a, int y, int x, int W) {
    const TrainProgress *p = a->train;
    int n;
    const TrainPreset *pr = train_presets(&n);
    const TrainPreset *cur = &pr[a->conf.preset < n ? a->conf.preset : 0];
    char line[1400], lim[32];
    draw_corpus(a, y++, x, W);
    if (a->conf.train_steps) snprintf(lim, sizeof lim, "%lld", (long long)a->conf.train_steps);
    else snprintf(lim, sizeof lim, "none");
    char name[48], lr[32], limit[48];
    snprintf(name, sizeof name, "‹ %s ›", cur->name);
    snprintf(lr, sizeof lr, "lr %g", (double)cur->lr);
    snprintf(limit, sizeof limit, "step limit: %s", lim);
    const char *items[] = {name, cur->about, lr, limit};
    static const int prio[] = {0, 2, 3, 1};
    fit_items(line, sizeof line, items, prio, 4, "  ", W - 8);
    draw_text(y, x, "Preset  ", 8, A_BOLD);
    draw_text(y++, x + 8, line, W - 8, 0);
    state_line(a, line, sizeof line, W - 8);
    draw_text(y, x, "State   ", 8, A_BOLD);
    int attr = p->state == TRAIN_FAILED ? color_attr(C_ERROR) : p->state == TRAIN_RUNNING ? color_attr(C_KEY) : 0;
    draw_text(y++, x + 8, line, W - 8, attr);
    if (p->message[0] && p->state != TRAIN_IDLE) draw_wrapped(y, x + 8, p->message, W - 8, 1, color_attr(C_HINT));
    y++;
    if (p->last_ckpt[0]) {
        char shown[1100];
        snprintf(line, sizeof line, "checkpoint: %s (step %lld)", app_tilde(p->last_ckpt, shown, sizeof shown),
                 (long long)p->last_ckpt_step);
        draw_text(y, x + 8, line, W - 8, 0);
    }
    return y + 1;
}

/* The curves in two columns, the t curve last, in the rows from y that the
 * probes (below them) leave before the hints; without room for plots, the
 * t curve as one line. Returns the row after them. */
static int draw_plots(App *a, int y, int x, int W, int hints) {
    TrainScreenState *t = &a->training;
    const TrainProgress *p = a->train;
    int probes = p->nprobes > 0 ? p->nprobes + 1 : 0;
    int avail = hints - y - probes;
    /* the series by metric (0 loss, 1 mse, 2 ce, 3 accuracy, 4 lr) and 5 the t curve; a masked
     * run's loss is its cross-entropy and it has no mse, so it shows neither twice nor empty */
    static const int all[] = {0, 1, 2, 3, 4, 5}, masked[] = {2, 3, 4, 5};
    const int *shown = p->masked ? masked : all;
    int cols = 2, pw = (W - 2) / cols, nplots = p->masked ? 4 : 6, prow = (nplots + cols - 1) / cols;
    int ph = avail / prow;
    if (ph > 10) ph = 10;
    if (ph < 4) { /* a title and at least two rows of bars each, or the one line */
        if (p->state != TRAIN_IDLE && y < hints) t_curve(p, y++, x, 1, W);
        return y;
    }
    static const char *const names[] = {"loss", "mse", "ce", "accuracy", "lr"};
    for (int i = 0; i < nplots; i++) {
        int r = i / cols, c = i % cols, m = shown[i];
        if (m == 5) {
            t_curve(p, y + r * ph, x + c * (pw + 2), ph - 1, pw);
            continue;
        }
        series(t, p, m);
        plot_draw(y + r * ph, x + c * (pw + 2), ph - 1, pw, names[m], t->series, t->series ? p->nhistory : 0, 0);
    }
    return y + prow * ph;
}

/* The probe infills at the last checkpoint and the latest samples, from y, above the hints. */
static void draw_probes(const TrainProgress *p, int y, int x, int W, int hints) {
    char line[1400];
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
}

/* The keys of this screen, from the keymap, as many as fit, the least needed dropped first. */
static void draw_hints(App *a, int y) {
    static const char *const hint[][3] = {
        {"train-start", NULL, "start"},         {"train-pause", NULL, "pause/resume"},
        {"train-stop", NULL, "stop"},           {"train-save", NULL, "save now"},
        {"train-load", NULL, "use in the editor"}, {"corpus", NULL, "corpus"},
        {"preset-prev", "preset-next", "preset"}, {"steps", NULL, "step limit"},
        {"models", NULL, "models"},
    };
    enum { NHINTS = sizeof hint / sizeof *hint };
    static const int prio[NHINTS] = {0, 1, 0, 2, 1, 3, 3, 4, 2};
    char hk[NHINTS][64], line[1024];
    const char *items[NHINTS];
    for (int i = 0; i < NHINTS; i++) {
        const char *k = keymap_name_in(SCR_TRAIN, hint[i][0]);
        if (hint[i][1]) snprintf(hk[i], sizeof hk[i], "%s/%s %s", k, keymap_name_in(SCR_TRAIN, hint[i][1]), hint[i][2]);
        else snprintf(hk[i], sizeof hk[i], "%s %s", k, hint[i][2]);
        items[i] = hk[i];
    }
    fit_items(line, sizeof line, items, prio, NHINTS, "  ", a->cols - 2);
    draw_text(y, 1, line, a->cols - 2, color_attr(C_HINT));
}

static void train_draw(App *a, int top, int rows) {
    int x = 2, W = a->cols - 4, hints = top + rows - 1;
    int y = draw_setup(a, top + 1, x, W);
    y = draw_plots(a, y, x, W, hints);
    draw_probes(a->train, y, x, W, hints);
    draw_hints(a, hints);
}

static int running(const App *a) {
    TrainState s = a->train->state;
    return s == TRAIN_PREPARING || s == TRAIN_RUNNING || s == TRAIN_PAUSED || s == TRAIN_STOPPING;
}

void tr_start(App *a) {
    TrainScreenState *t = &a->training;
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
    snprintf(t->corpus, sizeof t->corpus, "%s", a->conf.corpus);
    c.corpus = t->corpus;
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
    snprintf(t->ckpt, sizeof t->ckpt, "%.1100s/%s-%s.safetensors", dir, stamp, pr->name);
    c.ckpt = t->ckpt;
    /* the shipped tokenizer fits the shipped corpus; another corpus gets its own */
    char share[1024];
    c.spm = NULL;
    if (!paths_share_dir(share, sizeof share, &e)) {
        snprintf(t->spm, sizeof t->spm, "%.1000s/tokenizer.model", share);
        char shipped[1100];
        snprintf(shipped, sizeof shipped, "%.1000s/corpus.txt", share);
        if (fileguard_is_regular(t->spm) && !strcmp(shipped, t->corpus)) c.spm = t->spm;
    }
    if (a->db_path[0]) c.db = a->db_path;
    if (session_train_start(a->s, &c, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    t->paused_s = t->paused_since = t->elapsed_shown = 0;
    app_message(a, 0, "training %s on %s", pr->name, t->corpus);
    fprintf(stderr, "training: %s -> %s\n", t->corpus, t->ckpt);
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
    TrainScreenState *t = &a->training;
    const char *p = a->train->last_ckpt;
    if (!p[0]) {
        app_message(a, 0, "no checkpoint yet (%s saves one now)", keymap_name_of("train-save"));
        return;
    }
    if (!app_use_model(a, p, 1)) t->loaded_step = a->train->last_ckpt_step;
}

void tr_corpus(App *a) {
    TrainScreenState *t = &a->training;
    t->editing = 1;
    snprintf(t->field, sizeof t->field, "%s", a->conf.corpus);
    t->flen = strlen(t->field);
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

/* A key of the keymap that quits and cannot be typed (Ctrl-Q, F10): it leaves the field and quits. */
static int quit_key(int key) {
    const KeyBinding *b = keymap_find(M_TRAIN, key);
    return b && !strcmp(b->action, "quit") && (key < 0x20 || key >= K_FN);
}

/* the corpus field */
static int train_modal(App *a, int key) {
    TrainScreenState *t = &a->training;
    if (!t->editing) return 0;
    a->redraw = 1;
    if (key == K_ENTER) {
        snprintf(a->conf.corpus, sizeof a->conf.corpus, "%s", t->field);
        t->editing = 0;
        conf_save(a);
        if (!fileguard_is_regular(a->conf.corpus))
            app_message(a, 1, "%s: %s", a->conf.corpus, corpus_problem(a->conf.corpus));
    } else if (key == K_ESC) {
        t->editing = 0;
    } else if (key == K_BACKSPACE) {
        while (t->flen > 0 && ((unsigned char)t->field[t->flen - 1] & 0xc0) == 0x80) t->flen--;
        if (t->flen > 0) t->flen--;
        t->field[t->flen] = 0;
    } else if (key == KCTRL('u')) {
        t->flen = 0, t->field[0] = 0;
    } else if (key >= 0x20 && key < K_FN && t->flen + 5 < sizeof t->field) {
        t->flen += utf8_encode((uint32_t)key, t->field + t->flen);
        t->field[t->flen] = 0;
    } else if (quit_key(key)) {
        t->editing = 0;
        return 0;
    }
    return 1;
}

/* a run ending says so wherever the user is */
static int train_tick(App *a) {
    TrainScreenState *t = &a->training;
    TrainState st = a->train->state, last = t->last_state;
    if (st == TRAIN_PAUSED && last != TRAIN_PAUSED) t->paused_since = a->now;
    if (st != TRAIN_PAUSED && t->paused_since > 0) t->paused_s += a->now - t->paused_since, t->paused_since = 0;
    if (st < TRAIN_FINISHED) t->elapsed_shown = trained_s(a);
    if (st != last && st >= TRAIN_FINISHED) {
        if (st == TRAIN_FAILED) app_message(a, 1, "training failed: %s", a->train->message);
        else if (!a->train->last_ckpt[0]) /* stopped before its first step: nothing to load */
            app_message(a, 0, "training %s at step %lld: nothing saved", train_state_name(st), (long long)a->train->step);
        else
            app_message(a, 0, "training %s at step %lld: %s on the training screen loads it", train_state_name(st),
                        (long long)a->train->step, keymap_name_of("train-load"));
    }
    t->last_state = st;
    return 0;
}

static void train_done(App *a) {
    free(a->training.series);
    a->training.series = NULL, a->training.cap = 0;
}

const Screen screen_train = {
    .name = "Training", .action = "training", .init = train_init, .done = train_done,
    .draw = train_draw, .modal = train_modal, .tick = train_tick,
};
