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
#include "batch.h"
#include "batcher.h"
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
             "epoch %d: %3.0f%%|%s| %lld/%lld [%s<%s, %.0f tok/s%s, loss=%.4f, mse=%.4f, ce=%.4f, accuracy=%.3f, lr=%.2e]",
             p->epoch, frac * 100, cells, (long long)p->step, (long long)p->total_steps, el, eta,
             p->last.tokens_per_s, ranks, p->last.loss, p->last.mse, p->last.ce, p->last.accuracy, p->last.lr);
}

/* The recipe `sdlm train` uses when --recipe is not given. */
#define DEFAULT_RECIPE "sdlm"

static int parse_recipe(const char *name, Recipe *r) {
    if (!strcmp(name, "seed")) *r = RECIPE_SEED;
    else if (!strcmp(name, "sdlm")) *r = RECIPE_SDLM;
    else return -1;
    return 0;
}

/* A resumed checkpoint keeps its own model size: say which flags given it overrides. */
static void tell_overridden_dims(const TrainConfig *c, const int dims_given[3]) {
    const int given[3] = {c->E, c->D, c->NL};
    unsigned mask = (dims_given[0] ? 1u : 0) | (dims_given[1] ? 2u : 0) | (dims_given[2] ? 4u : 0);
    char note[512];
    if (dist_rank() == 0 && ckptguard_dims_note(c->ckpt, given, mask, note, sizeof note))
        fprintf(stderr, "sdlm train: %s\n", note);
}

static int train(int argc, char **argv) {
    TrainConfig c = trainer_defaults();
    const char *recipe = DEFAULT_RECIPE, *film = NULL, *masks = NULL, *family = NULL, *mask_loss = NULL;
    int log_every = 50, warp_on = 0, warp_off = 0, norm_fixed = 0, norm_learned = 0, decay_end = 0, decay_decs = 0;
    uint64_t steps = 0;
    float minutes = 0;
    int dims_given[3] = {0, 0, 0}; /* -edim -mdim -numl */
    Opt opts[] = {
        {"-d|--data_path", OPT_STR, &c.corpus, "FILE", "training text, one example per line (required)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &c.spm, "MODEL", "SentencePiece model (default: the checkpoint's, or train one)", 0, 0, NULL},
        {"-ckpt|--checkpoint", OPT_STR, &c.ckpt, "FILE", "checkpoint to write; resumed when it exists (required)", 0, 0, NULL},
        {"-ep|--epochs", OPT_INT, &c.epochs, "N", "epochs (100)", 1, 1e9, NULL},
        {"-b|--batch_size", OPT_INT, &c.batch, "N", "batch size (seed 256, sdlm 32)", 1, 1 << 20, NULL},
        {"-lr|--learning_rate", OPT_FLOAT, &c.lr, "LR", "peak learning rate (seed 1e-4, sdlm 2e-3)", 1e-12, 10, NULL},
        {"-wup|--warmup_steps", OPT_INT, &c.warmup, "N", "linear warm-up updates (seed 2000, sdlm 200)", 0, 1e9, NULL},
        {"-decs|--decay_steps", OPT_INT, &c.decay_steps, "N", "linear decay updates to 0.1 x lr (800000)", 0, 2e9, NULL},
        {"-wd|--weight_decay", OPT_FLOAT, &c.weight_decay, "W", "AdamW decoupled weight decay (1e-4)", 0, 10, NULL},
        {"-acc|--accumulation_steps", OPT_INT, &c.accum, "N", "batches per update (1)", 1, 1 << 16, NULL},
        {"-edim|--embedding_dim", OPT_INT, &c.E, "N", "embedding dim (64)", 2, 4096, &dims_given[0]},
        {"-mdim|--model_dim", OPT_INT, &c.D, "N", "model dim, a multiple of 8 (seed 512, sdlm 128)", 8, 16384, &dims_given[1]},
        {"-numl|--num_layers", OPT_INT, &c.NL, "N", "encoder layers (seed 8, sdlm 2)", 1, 256, &dims_given[2]},
        {"-do|--dropout_prob", OPT_FLOAT, &c.dropout, "P", "dropout (0.1)", 0, 0.99, NULL},
        {"-ld|--layerdrop_prob", OPT_FLOAT, &c.layerdrop, "P", "layer-drop (0.0)", 0, 0.99, NULL},
        {"-cl|--crop_length", OPT_INT, &c.crop_len, "N", "tokens per example, EOS included (64)", 2, 4096, NULL},
        {"-ngen|--num_examples", OPT_INT, &c.ngen, "N", "samples printed at the start and after each epoch (8)", 0, 8, NULL},
        {"--seed", OPT_U64, &c.seed, "S", "seed of everything random (0)", 0, 0, NULL},
        {"--steps", OPT_U64, &steps, "N", "stop after N training steps in all (0: no limit)", 0, 0, NULL},
        {"--minutes", OPT_FLOAT, &minutes, "M", "stop after M minutes of this session (0: no limit)", 0, 1e7, NULL},
        {"--db", OPT_STR, &c.db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db; \"\" for none)", 0, 0, NULL},
        {"--save-every", OPT_INT, &c.save_every, "N", "checkpoint every N steps (500)", 1, 1e9, NULL},
        {"--recipe", OPT_STR, &recipe, "NAME", "seed (the seed's, exactly) or sdlm (" DEFAULT_RECIPE "); sets the flags below, which override it", 0, 0, NULL},
        {"--decay-to-end", OPT_FLAG, &decay_end, NULL, "the lr falls to 0.1 x lr at the end of the --steps (else --minutes) budget (sdlm)", 0, 0, NULL},
        {"--decay-by-decs", OPT_FLAG, &decay_decs, NULL, "the lr falls over -decs steps whatever the budget (the seed's)", 0, 0, NULL},
        {"--family", OPT_STR, &family, "NAME", "continuous (the seed's embedding diffusion) or masked (hidden tokens predicted from the rest; sdlm)", 0, 0, NULL},
        {"--mask-loss", OPT_STR, &mask_loss, "KIND", "masked family: elbo (each sequence averaged over its hidden tokens) or mean (every hidden token alike; sdlm)", 0, 0, NULL},
        {"--mask-t-power", OPT_FLOAT, &c.mask_t_power, "P", "masked family: training mask rates u^P for uniform u; above 1 favours light masks (sdlm: 2)", 0.1, 16, NULL},
        {"--film", OPT_STR, &film, "KIND", "layers scale LN(x) by gamma (seed) or 1 + gamma (one-plus; sdlm)", 0, 0, NULL},
        {"--shift", OPT_FLOAT, &c.shift, "S", "noise schedule's signal-to-noise times S^2; 1 is the seed's (sdlm: 1)", 0.01, 100, NULL},
        {"--time-warp", OPT_FLAG, &warp_on, NULL, "draw training t by a learned CE curve, and space sampling steps by it (sdlm)", 0, 0, NULL},
        {"--no-time-warp", OPT_FLAG, &warp_off, NULL, "uniform training t, as the seed", 0, 0, NULL},
        {"--t-weight", OPT_FLOAT, &c.t_weight, "P", "weight each sequence's loss by (P+1) t^P, toward noisy times; 0: off (seed, sdlm: 0)", 0, 8, NULL},
        {"--fixed-norm", OPT_FLAG, &norm_fixed, NULL, "keep the embedding norm's scale at 1, so a time t keeps its noise level (sdlm)", 0, 0, NULL},
        {"--learned-norm", OPT_FLAG, &norm_learned, NULL, "train the embedding norm's scale and shift, as the seed", 0, 0, NULL},
        {"--bucket", OPT_INT, &c.bucket, "K", "batches of similar length, from length-sorted windows of K batches; 0: off (seed: 0, sdlm: 8)", 0, BATCHER_BUCKET_MAX, NULL},
        {"--masks", OPT_STR, &masks, "KIND", "known tokens: seed, infill (prefix/suffix/middle/gaps) or mixed (sdlm)", 0, 0, NULL},
        {"--ema", OPT_FLOAT, &c.ema, "DECAY", "EMA of the weights, saved and used for sampling; 0: off (seed: off, sdlm: 0.995)", 0, 0.999999, NULL},
        {"--export", OPT_STR, &c.export_path, "FILE", "at the end also write FILE: F16 sampling weights (the EMA when kept), no optimiser state", 0, 0, NULL},
        {"--vocab", OPT_INT, &c.vocab, "N", "pieces of the tokenizer trained when none is given (2000)", 260, 1 << 20, NULL},
        {"--recompute", OPT_FLAG, &c.recompute, NULL, "keep fewer activations and redo them in the backward pass (less memory, a little slower)", 0, 0, NULL},
        {"--chunk", OPT_INT, &c.chunk, "N", "sequences per forward/backward pass, at most 32; less is less memory (32)", 1, 32, NULL},
        {"--log-every", OPT_INT, &log_every, "N", "when stderr is not a terminal, a line every N steps (50)", 1, 1e9, NULL},
    };
    int n = sizeof opts / sizeof *opts, npos;
    const char *pos[1];
    Err e;
    /* twice: the first pass finds --recipe, whose choices the flags given then override */
    int rc = opts_parse(opts, n, argc, argv, pos, 0, &npos, &e);
    Recipe r = RECIPE_SEED;
    if (rc == 0) {
        if (parse_recipe(recipe, &r))
            return fprintf(stderr, "sdlm train: --recipe must be seed or sdlm, not \"%s\"\n", recipe), EXIT_USAGE;
        c = trainer_defaults();
        trainer_apply_recipe(&c, r);
        rc = opts_parse(opts, n, argc, argv, pos, 0, &npos, &e);
    }
    if (rc == 1) {
        opts_usage(stdout, "sdlm train -d CORPUS -ckpt FILE [-spm MODEL] [flags]",
                   "Trains a diffusion LM on CORPUS (the seed's train.py flags), resuming FILE when it exists\n"
                   "(a resumed run keeps its recipe). --recipe sdlm is the default; --recipe seed is the seed's, exactly.\n"
                   "Ctrl-C, SIGTERM or SIGUSR1 finishes the step, saves and exits 0. Built with make MPI=1,\n"
                   "mpirun -np N sdlm train ... trains one model data-parallel (man sdlm).",
                   opts, n);
        return EXIT_OK;
    }
    if (rc) return fprintf(stderr, "sdlm train: %s\n", e.msg), EXIT_USAGE;
    if (film) {
        if (!strcmp(film, "gamma")) c.film_one_plus = 0;
        else if (!strcmp(film, "one-plus")) c.film_one_plus = 1;
        else return fprintf(stderr, "sdlm train: --film must be gamma or one-plus, not \"%s\"\n", film), EXIT_USAGE;
    }
    if (family) {
        if (!strcmp(family, "continuous")) c.masked = 0;
        else if (!strcmp(family, "masked")) c.masked = 1;
        else return fprintf(stderr, "sdlm train: --family must be continuous or masked, not \"%s\"\n", family), EXIT_USAGE;
    }
    if (mask_loss) {
        if (!strcmp(mask_loss, "elbo")) c.mask_loss = MASK_LOSS_ELBO;
        else if (!strcmp(mask_loss, "mean")) c.mask_loss = MASK_LOSS_MEAN;
        else return fprintf(stderr, "sdlm train: --mask-loss must be elbo or mean, not \"%s\"\n", mask_loss), EXIT_USAGE;
    }
    if (masks) {
        static const char *names[MASK_KINDS] = {"seed", "infill", "mixed"};
        int k = 0;
        while (k < MASK_KINDS && strcmp(masks, names[k])) k++;
        if (k == MASK_KINDS)
            return fprintf(stderr, "sdlm train: --masks must be seed, infill or mixed, not \"%s\"\n", masks), EXIT_USAGE;
        c.masks = k;
    }
    if (warp_on && warp_off) return fprintf(stderr, "sdlm train: --time-warp and --no-time-warp contradict\n"), EXIT_USAGE;
    if (warp_on) c.time_warp = 1;
    if (warp_off) c.time_warp = 0;
    if (norm_fixed && norm_learned) return fprintf(stderr, "sdlm train: --fixed-norm and --learned-norm contradict\n"), EXIT_USAGE;
    if (norm_fixed) c.fixed_norm = 1;
    if (decay_end && decay_decs) return fprintf(stderr, "sdlm train: --decay-to-end and --decay-by-decs contradict\n"), EXIT_USAGE;
    if (decay_end) c.decay_end = 1;
    if (decay_decs) c.decay_end = 0;
    if (norm_learned) c.fixed_norm = 0;
    c.max_steps = (int64_t)steps;
    c.max_minutes = minutes;

    tell_overridden_dims(&c, dims_given);
    Trainer *t;
    if (trainer_start(&t, &c, -1, &e)) return fprintf(stderr, "sdlm train: %s\n", e.msg), EXIT_USAGE;
    int quiet = dist_rank() != 0; /* rank 0 speaks for the job */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL); /* mpirun passes SIGUSR1 on; SIGINT and SIGTERM it follows with SIGKILL */

    int tty = isatty(2), samples_round = 0, stop_sent = 0, history_told = 0, save_errors_told = 0, corpus_told = 0;
    int64_t next_log = 0;
    char msg[512] = "", line[512];
    TrainProgress *p = calloc(1, sizeof *p);
    for (;;) {
        if (interrupted && !stop_sent) {
            trainer_stop(t);
            stop_sent = 1;
            if (!quiet) {
                if (tty) fprintf(stderr, "\n");
                fprintf(stderr, "sdlm train: stopping after this step (saving %s)\n", c.ckpt);
                if (p->ranks > 1 && p->last_ckpt[0]) /* mpirun may be ending the job: say what is on disk */
                    fprintf(stderr, "sdlm train: if mpirun ends the job first (a rank died, or SIGKILL follows), %s keeps step %lld\n",
                            c.ckpt, (long long)p->last_ckpt_step);
                else if (p->ranks > 1)
                    fprintf(stderr, "sdlm train: if mpirun ends the job first (a rank died, or SIGKILL follows), %s stays as it was\n",
                            c.ckpt);
            }
        }
        trainer_progress(t, p);
        if (!quiet && p->history_error[0] && !history_told) { /* told once: it never stops training */
            fprintf(stderr, "%ssdlm train: %s\n", tty ? "\r\033[K" : "", p->history_error);
            history_told = 1;
        }
        /* once, even when preparing went by unseen; not while preparing, when training a tokenizer
         * sends stderr to /dev/null (spm.h) */
        if (!quiet && p->corpus_summary[0] && !corpus_told && p->state != TRAIN_PREPARING) {
            if (strcmp(msg, p->corpus_summary)) fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", p->corpus_summary);
            corpus_told = 1; /* (or it was, as the message) */
        }
        if (!quiet && p->save_errors != save_errors_told) { /* at once: the run may be losing its work */
            fprintf(stderr, "%ssdlm train: %s\n", tty ? "\r\033[K" : "", p->save_error);
            save_errors_told = p->save_errors;
        }
        if (!quiet && strcmp(msg, p->message) && p->state != TRAIN_RUNNING) {
            snprintf(msg, sizeof msg, "%s", p->message);
            if (msg[0] && p->state < TRAIN_FINISHED) fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", msg);
        }
        if (!quiet && p->samples_round != samples_round) {
            samples_round = p->samples_round;
            if (tty) fprintf(stderr, "\r\033[K");
            for (int i = 0; i < p->nsamples; i++) printf("%s\n", p->samples[i]);
            fflush(stdout);
        }
        if (!quiet && p->step > 0 && (p->state == TRAIN_RUNNING || p->state == TRAIN_PAUSED)) {
            bar(p, line, sizeof line);
            if (tty) {
                fprintf(stderr, "\r%s\033[K", line);
            } else if (p->step >= next_log) { /* the first step, then one line every log_every */
                fprintf(stderr, "%s\n", line);
                next_log = (p->step / log_every + 1) * log_every;
            }
        }
        if (p->state >= TRAIN_FINISHED) {
            if (!quiet && !tty && !next_log && p->step > 0) { /* a run shorter than one poll still shows its line */
                bar(p, line, sizeof line);
                fprintf(stderr, "%s\n", line);
            }
            break;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!quiet && tty && p->step > 0) fprintf(stderr, "\n");
    TrainState final = trainer_join(t);
    trainer_progress(t, p);
    if (!quiet && p->history_error[0] && !history_told) fprintf(stderr, "sdlm train: %s\n", p->history_error);
    if (!quiet) fprintf(stderr, "sdlm train: %s\n", p->message);
    else if (final == TRAIN_FAILED) fprintf(stderr, "sdlm train: rank %d: %s\n", dist_rank(), p->message);
    int64_t done = p->step;
    free(p);
    trainer_free(t);
    if (final == TRAIN_FAILED) return done > 0 ? EXIT_CHECK : EXIT_USAGE;
    return EXIT_OK;
}

int cmd_train(int argc, char **argv) {
    Err e;
    if (dist_init(&e)) return fprintf(stderr, "sdlm train: %s\n", e.msg), EXIT_USAGE;
    int rc = train(argc, argv);
    dist_finalize();
    return rc;
}
