/* cmd_train.c: `sdlm train`: the seed's train.py as a thin client of the
 * trainer library: flags, a tqdm-style progress bar on stderr (one line per
 * N steps when stderr is not a terminal), samples as they come, and Ctrl-C or
 * SIGTERM finishing the step, saving and exiting 0.
 *
 * Under mpirun (an sdlm built with `make MPI=1`) every rank runs this; rank 0
 * draws the bar (which then names the ranks) and prints the samples, the
 * others print only their own failure. SIGUSR1 stops as SIGINT does: mpirun
 * passes it to every rank, while it follows SIGINT and SIGTERM by SIGKILL
 * within a second (odls_base_sigkill_timeout). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "opts.h"
#include "ckptguard.h"
#include "dist.h"
#include "trainer.h"

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) {
    (void)sig;
    interrupted++;
}

static void hms(double s, char *buf, size_t cap) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%02ld:%02ld", t / 60, t % 60);
}

/* tqdm's form: "epoch 0:  12%|█▏        | 120/1000 [00:30<03:40, 4.00it/s, loss=..., lr=...]" */
static void bar(const TrainProgress *p, char *out, size_t cap) {
    static const char *eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    double frac = p->total_steps > 0 ? (double)p->step / p->total_steps : 0;
    if (frac > 1) frac = 1;
    char cells[64] = "";
    int width = 10, full = (int)(frac * width), part = (int)((frac * width - full) * 8);
    for (int i = 0; i < width; i++) strcat(cells, i < full ? "█" : i == full ? (part ? eighths[part] : " ") : " ");
    char el[64], eta[64];
    hms(p->elapsed_s, el, sizeof el);
    hms(p->eta_s, eta, sizeof eta);
    char ranks[32] = "";
    if (p->ranks > 1) snprintf(ranks, sizeof ranks, " on %d ranks", p->ranks);
    snprintf(out, cap,
             "epoch %d: %3.0f%%|%s| %lld/%lld [%s<%s, %.0f tok/s%s, loss=%.4f, mse=%.4f, ce=%.4f, "
             "accuracy=%.3f, lr=%.2e]",
             p->epoch, frac * 100, cells, (long long)p->step, (long long)p->total_steps, el, eta,
             p->last.tokens_per_s, ranks, p->last.loss, p->last.mse, p->last.ce, p->last.accuracy, p->last.lr);
}

/* ---- flags ------------------------------------------------------------------------------- */

/* The flags: one per TRAIN_SETTINGS entry, in its order, then --log-every. A flag whose value
 * is not its field's own (a name, an OFF switch, a double) is read into its scratch, and
 * apply_flags puts it in place. */
typedef struct {
    TrainConfig c;
    Opt opts[TRAIN_NSETTINGS + 1];
    int seen[TRAIN_NSETTINGS + 1];
    struct {
        const char *name; /* CHOICE, CHOICE_NUM */
        float f;          /* F64 */
        int on;           /* OFF */
    } scratch[TRAIN_NSETTINGS];
    int log_every;
} Flags;

static Opt setting_opt(Flags *f, int i) {
    const TrainSetting *s = &train_settings[i];
    void *field = (char *)&f->c + s->offset;
    Opt o = {s->flags, OPT_STR, field, s->metavar, s->help, s->lo, s->hi, &f->seen[i]};
    switch (s->kind) {
    case TS_STR: break;
    case TS_INT: o.kind = OPT_INT; break;
    case TS_U64:
    case TS_I64: o.kind = OPT_U64; break; /* an int64_t read as a non-negative integer: the same bytes */
    case TS_F32: o.kind = OPT_FLOAT; break;
    case TS_F64: o.kind = OPT_FLOAT, o.dst = &f->scratch[i].f; break;
    case TS_FLAG: o.kind = OPT_FLAG; break;
    case TS_OFF: o.kind = OPT_FLAG, o.dst = &f->scratch[i].on; break;
    case TS_CHOICE:
    case TS_CHOICE_NUM: o.dst = &f->scratch[i].name; break;
    }
    return o;
}

static void build_opts(Flags *f) {
    for (int i = 0; i < TRAIN_NSETTINGS; i++) f->opts[i] = setting_opt(f, i);
    f->opts[TRAIN_NSETTINGS] = (Opt){"--log-every", OPT_INT, &f->log_every, "N",
                                     "when stderr is not a terminal, a line every N steps (50)", 1, 1e9,
                                     &f->seen[TRAIN_NSETTINGS]};
}

/* The last of a flag's names ("-b|--batch_size": --batch_size), for messages. */
static const char *flag_name(const TrainSetting *s) {
    const char *last = strrchr(s->flags, '|');
    return last ? last + 1 : s->flags;
}

/* A CHOICE flag's value by name; -1 after saying which names it takes. */
static int choice_value(const TrainSetting *s, const char *name) {
    int v = train_choice_value(s, name);
    if (v < 0) {
        char names[128];
        train_choices_text(s, names, sizeof names);
        fprintf(stderr, "sdlm train: %s must be %s, not \"%s\"\n", flag_name(s), names, name);
    }
    return v;
}

/* Puts the flags read into scratch in place; -1 after saying what is wrong. */
static int apply_flags(Flags *f) {
    for (int i = 0; i < TRAIN_NSETTINGS; i++) {
        const TrainSetting *s = &train_settings[i];
        void *field = (char *)&f->c + s->offset;
        if (!f->seen[i]) continue;
        if (s->kind == TS_CHOICE || s->kind == TS_CHOICE_NUM) {
            int v = choice_value(s, f->scratch[i].name);
            if (v < 0) return -1;
            *(int *)field = v;
        } else if (s->kind == TS_OFF) {
            const TrainSetting *on = train_setting_of(s->offset);
            if (f->seen[on - train_settings])
                return fprintf(stderr, "sdlm train: %s and %s contradict\n", on->flags, s->flags), -1;
            *(int *)field = 0;
        } else if (s->kind == TS_F64) {
            *(double *)field = f->scratch[i].f;
        }
    }
    return 0;
}

/* The recipe the flags name (TRAIN_DEFAULT_RECIPE when none); -1 after saying it is unknown. */
static int flags_recipe(const Flags *f, Recipe *r) {
    const TrainSetting *s = TRAIN_SETTING(recipe);
    int i = (int)(s - train_settings);
    int v = choice_value(s, f->seen[i] ? f->scratch[i].name : TRAIN_DEFAULT_RECIPE);
    if (v < 0) return -1;
    *r = (Recipe)v;
    return 0;
}

/* Reads the flags over the recipe's defaults. Returns 0 to train, or -1 to exit with *status
 * (--help: 0; a bad flag: EXIT_USAGE, said on stderr). */
static int parse_flags(Flags *f, int argc, char **argv, int *status) {
    memset(f, 0, sizeof *f);
    f->c = trainer_defaults();
    f->log_every = 50;
    build_opts(f);
    int n = TRAIN_NSETTINGS + 1, npos;
    const char *pos[1];
    Err e;
    /* twice: the first pass finds --recipe, whose choices the flags given then override */
    int rc = opts_parse(f->opts, n, argc, argv, pos, 0, &npos, &e);
    if (rc == 0) {
        Recipe r;
        if (flags_recipe(f, &r)) return *status = EXIT_USAGE, -1;
        f->c = trainer_defaults();
        trainer_apply_recipe(&f->c, r);
        memset(f->seen, 0, sizeof f->seen);
        rc = opts_parse(f->opts, n, argc, argv, pos, 0, &npos, &e);
    }
    if (rc == 1) {
        opts_usage(stdout, "sdlm train -d CORPUS -ckpt FILE [-spm MODEL] [flags]",
                   "Trains a diffusion LM on CORPUS (the seed's train.py flags), resuming FILE when it exists\n"
                   "(a resumed run keeps its recipe). --recipe sdlm is the default; --recipe seed is the "
                   "seed's, exactly.\n"
                   "Ctrl-C, SIGTERM or SIGUSR1 finishes the step, saves and exits 0. Built with make MPI=1,\n"
                   "mpirun -np N sdlm train ... trains one model data-parallel (man sdlm).",
                   f->opts, n);
        return *status = EXIT_OK, -1;
    }
    if (rc) return fprintf(stderr, "sdlm train: %s\n", e.msg), *status = EXIT_USAGE, -1;
    if (apply_flags(f)) return *status = EXIT_USAGE, -1;
    return 0;
}

/* A resumed checkpoint keeps its own model size: say which flags given it overrides. */
static void tell_overridden_dims(const Flags *f) {
    const TrainSetting *dims[3] = {TRAIN_SETTING(E), TRAIN_SETTING(D), TRAIN_SETTING(NL)};
    const int given[3] = {f->c.E, f->c.D, f->c.NL};
    unsigned mask = 0;
    for (int k = 0; k < 3; k++) mask |= f->seen[dims[k] - train_settings] ? 1u << k : 0;
    char note[512];
    if (dist_rank() == 0 && ckptguard_dims_note(f->c.ckpt, given, mask, note, sizeof note))
        fprintf(stderr, "sdlm train: %s\n", note);
}

/* ---- watching the run ------------------------------------------------------------------------ */

/* What has been told of the run on stderr (rank 0; the other ranks stay quiet). */
typedef struct {
    int quiet, tty, log_every;
    const char *ckpt;
    int samples_round, stop_sent, history_told, save_errors_told, problems_told, corpus_told;
    int64_t next_log;
    char msg[512];
} Watch;

/* Ctrl-C, SIGTERM or SIGUSR1: the trainer finishes its step and saves. */
static void ask_stop(Trainer *t, Watch *w, const TrainProgress *p) {
    trainer_stop(t);
    w->stop_sent = 1;
    if (w->quiet) return;
    if (w->tty) fprintf(stderr, "\n");
    fprintf(stderr, "sdlm train: stopping after this step (saving %s)\n", w->ckpt);
    if (p->ranks > 1 && p->last_ckpt[0]) /* mpirun may be ending the job: say what is on disk */
        fprintf(stderr, "sdlm train: if mpirun ends the job first (a rank died, or SIGKILL follows), %s keeps "
                "step %lld\n",
                w->ckpt, (long long)p->last_ckpt_step);
    else if (p->ranks > 1)
        fprintf(stderr, "sdlm train: if mpirun ends the job first (a rank died, or SIGKILL follows), %s stays "
                "as it was\n",
                w->ckpt);
}

/* What changed since the last look: a history that stopped, the corpus, failures, messages, samples. */
static void tell_news(Watch *w, const TrainProgress *p) {
    const char *clear = w->tty ? "\r\033[K" : "";
    if (p->history_error[0] && !w->history_told) { /* told once: it never stops training */
        fprintf(stderr, "%ssdlm train: %s\n", clear, p->history_error);
        w->history_told = 1;
    }
    /* once, even when preparing went by unseen; not while preparing, when training a tokenizer
     * sends stderr to /dev/null (spm.h) */
    if (p->corpus_summary[0] && !w->corpus_told && p->state != TRAIN_PREPARING) {
        if (strcmp(w->msg, p->corpus_summary)) fprintf(stderr, "%s%s\n", clear, p->corpus_summary);
        w->corpus_told = 1; /* (or it was, as the message) */
    }
    if (p->save_errors != w->save_errors_told) { /* at once: the run may be losing its work */
        fprintf(stderr, "%ssdlm train: %s\n", clear, p->save_error);
        w->save_errors_told = p->save_errors;
    }
    if (p->problems != w->problems_told) {
        fprintf(stderr, "%ssdlm train: %s\n", clear, p->problem);
        w->problems_told = p->problems;
    }
    if (strcmp(w->msg, p->message) && p->state != TRAIN_RUNNING) {
        snprintf(w->msg, sizeof w->msg, "%s", p->message);
        if (w->msg[0] && p->state < TRAIN_FINISHED) fprintf(stderr, "%s%s\n", clear, w->msg);
    }
    if (p->samples_round != w->samples_round) {
        w->samples_round = p->samples_round;
        fprintf(stderr, "%s", clear);
        for (int i = 0; i < p->nsamples; i++) printf("%s\n", p->samples[i]);
        fflush(stdout);
    }
}

/* The progress bar: redrawn in place on a terminal, else the first step and one line every
 * log_every steps. */
static void tell_bar(Watch *w, const TrainProgress *p) {
    if (p->step == 0 || (p->state != TRAIN_RUNNING && p->state != TRAIN_PAUSED)) return;
    char line[512];
    bar(p, line, sizeof line);
    if (w->tty) {
        fprintf(stderr, "\r%s\033[K", line);
    } else if (p->step >= w->next_log) {
        fprintf(stderr, "%s\n", line);
        w->next_log = (p->step / w->log_every + 1) * w->log_every;
    }
}

/* Polls the trainer ten times a second until it ends; p holds its last progress. */
static void watch(Trainer *t, Watch *w, TrainProgress *p) {
    for (;;) {
        if (interrupted && !w->stop_sent) ask_stop(t, w, p);
        trainer_progress(t, p);
        if (!w->quiet) tell_news(w, p), tell_bar(w, p);
        if (p->state >= TRAIN_FINISHED) break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!w->quiet && !w->tty && !w->next_log && p->step > 0) { /* a run shorter than one poll still shows its line */
        char line[512];
        bar(p, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    if (!w->quiet && w->tty && p->step > 0) fprintf(stderr, "\n");
}

/* man sdlm, EXIT STATUS: 0 when the run finished or was stopped (and saved); 1 when it failed
 * after it started (weights no longer finite, saves failing: the outcome failed); 2 when it failed
 * before its first step, which is bad input (a corpus, tokenizer or checkpoint it cannot use). */
static int exit_status(TrainState final, int64_t steps) {
    if (final != TRAIN_FAILED) return EXIT_OK;
    return steps > 0 ? EXIT_CHECK : EXIT_USAGE;
}

/* The trainer's last word, and the status to exit with. */
static int report(Trainer *t, const Watch *w, TrainProgress *p) {
    TrainState final = trainer_join(t);
    trainer_progress(t, p);
    if (!w->quiet && p->history_error[0] && !w->history_told) fprintf(stderr, "sdlm train: %s\n", p->history_error);
    if (!w->quiet) fprintf(stderr, "sdlm train: %s\n", p->message);
    else if (final == TRAIN_FAILED) fprintf(stderr, "sdlm train: rank %d: %s\n", dist_rank(), p->message);
    return exit_status(final, p->step);
}

static void catch_stop_signals(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL); /* mpirun passes SIGUSR1 on; SIGINT and SIGTERM it follows with SIGKILL */
}

static int train(int argc, char **argv) {
    Flags f;
    int status;
    if (parse_flags(&f, argc, argv, &status)) return status;
    tell_overridden_dims(&f);
    TrainProgress *p = calloc(1, sizeof *p); /* (big: it holds the loss curve) */
    if (!p) return fprintf(stderr, "sdlm train: out of memory\n"), EXIT_IO;
    Trainer *t;
    Err e;
    if (trainer_start(&t, &f.c, -1, &e)) {
        fprintf(stderr, "sdlm train: %s\n", e.msg);
        return free(p), EXIT_USAGE;
    }
    catch_stop_signals();
    Watch w = {.quiet = dist_rank() != 0, .tty = isatty(2), .log_every = f.log_every, .ckpt = f.c.ckpt};
    watch(t, &w, p);
    status = report(t, &w, p);
    trainer_free(t);
    free(p);
    return status;
}

int cmd_train(int argc, char **argv) {
    Err e;
    if (dist_init(&e)) return fprintf(stderr, "sdlm train: %s\n", e.msg), EXIT_USAGE;
    int rc = train(argc, argv);
    dist_finalize();
    return rc;
}
