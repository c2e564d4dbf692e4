/* cmd_eval.c: `sdlm eval -d HELDOUT -ckpt FILE [--json]`: masked-token
 * accuracy and cross-entropy on held-out lines by gap size, the one-step
 * curve by noise level, the most-frequent-piece baseline, the trigram anchor
 * and the fused sampler beside the model, and the fluency of the fills (see
 * session/eval.h). One JSON line with --json. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "eval.h"
#include "ngram.h"
#include "opts.h"
#include "store.h"

#define EVAL_DEFAULT_FUSE 1.0f /* the better of 0.3 and 1 on the shipped model (64 held-out lines, 10 steps) */

static void show_progress(void *ctx, int done, int total) {
    (void)ctx;
    fprintf(stderr, "\reval: %d/%d batches", done, total);
    if (done == total) fprintf(stderr, "\r\033[K");
}

/* A number, or null when absent or not finite: the JSON stays valid. */
static void json_number(const char *key, double v, int present) {
    if (present && isfinite(v)) printf(",\"%s\":%.4f", key, v);
    else printf(",\"%s\":null", key);
}

static void print_json(const char *ckpt, const EvalConfig *c, const EvalResult *r, int quick) {
    printf("{\"checkpoint\":\"%s\",\"lines\":%d,\"sampler\":\"%s\",\"steps\":%d,\"seed\":%llu", ckpt, r->lines,
           sampler_name(c->sampler), c->steps, (unsigned long long)c->seed);
    if (c->candidates > 1) printf(",\"candidates\":%d", c->candidates);
    if (!quick) {
        json_number("masked_token_accuracy", r->mean_accuracy, 1);
        json_number("trigram_accuracy", r->mean_trigram, r->has_trigram);
        json_number("fused_accuracy", r->mean_fused, r->has_fused);
        json_number("fuse", c->fuse, r->has_fused);
        json_number("cross_entropy", r->mean_cross_entropy, 1);
        json_number("baseline_accuracy", r->mean_baseline, 1);
        printf(",\"by_gap\":{");
        for (int g = 0; g < EVAL_GAPS; g++) {
            printf("%s\"%s\":{\"masked\":%ld", g ? "," : "", eval_gap_names[g], r->masked[g]);
            json_number("accuracy", r->accuracy[g], 1);
            json_number("trigram", r->trigram[g], r->has_trigram);
            json_number("fused", r->fused[g], r->has_fused);
            json_number("cross_entropy", r->cross_entropy[g], 1);
            json_number("baseline", r->baseline[g], 1);
            if (c->candidates > 1) {
                json_number("first_accuracy", r->first_accuracy[g], 1);
                json_number("oracle_accuracy", r->oracle_accuracy[g], 1);
            }
            printf("}");
        }
        printf("}");
        json_number("word_share", r->word_share, 1);
        json_number("repeat_share", r->repeat_share, 1);
    }
    printf(",\"t_curve\":[");
    for (int k = 0; k < EVAL_TBUCKETS; k++) {
        printf("%s{\"t\":%.2f", k ? "," : "", (k + 0.5) / EVAL_TBUCKETS);
        json_number("accuracy", r->t_accuracy[k], 1);
        json_number("cross_entropy", r->t_cross_entropy[k], 1);
        printf("}");
    }
    printf("],\"seconds\":%.1f}\n", r->seconds);
}

/* A percentage in a column of 10, or "-" when absent. */
static void print_share(double v, int present) {
    if (present) printf(" %9.1f%%", 100 * v);
    else printf(" %10s", "-");
}

static void print_gaps(const EvalConfig *c, const EvalResult *r) {
    printf("\n%-9s %8s %10s %10s %10s %10s %14s", "gap", "masked", "accuracy", "trigram", "fused", "baseline",
           "cross-entropy");
    if (c->candidates > 1) printf(" %10s %10s", "first", "oracle");
    printf("\n");
    for (int g = 0; g < EVAL_GAPS; g++) {
        printf("%-9s %8ld", eval_gap_names[g], r->masked[g]);
        print_share(r->accuracy[g], 1), print_share(r->trigram[g], r->has_trigram);
        print_share(r->fused[g], r->has_fused);
        print_share(r->baseline[g], 1);
        printf(" %14.3f", r->cross_entropy[g]);
        if (c->candidates > 1) print_share(r->first_accuracy[g], 1), print_share(r->oracle_accuracy[g], 1);
        printf("\n");
    }
    printf("%-9s %8s", "mean", "");
    print_share(r->mean_accuracy, 1), print_share(r->mean_trigram, r->has_trigram);
    print_share(r->mean_fused, r->has_fused);
    print_share(r->mean_baseline, 1);
    printf(" %14.3f\n", r->mean_cross_entropy);
    if (c->candidates > 1)
        printf("(%d candidates per gap: accuracy of the best-scored, of the first, and of the best of them)\n",
               c->candidates);
    if (r->has_fused)
        printf("(trigram: its own beam-search fills; fused: the model with lambda %g x the trigram's "
               "log-probabilities)\n",
               (double)c->fuse);
}

static void print_text(const char *heldout, const ModelFile *mf, const EvalConfig *c, const EvalResult *r, int quick) {
    printf("%s: %d held-out lines; %s, %s %d steps, seed %llu\n", heldout, r->lines, mf->description,
           sampler_name(c->sampler), c->steps, (unsigned long long)c->seed);
    if (!quick) {
        print_gaps(c, r);
        printf("\nfills of 25%% gaps: %.1f%% of %ld filled pieces form corpus words, %.1f%% repeat the piece before\n",
               100 * r->word_share, r->filled_pieces, 100 * r->repeat_share);
        for (int i = 0; i < r->nexamples; i++)
            printf("  truth: %s\n  fill:  %s\n", r->example_truth[i], r->example_fill[i]);
    }
    printf("\none-step denoising of 25%% gaps by noise level t (accuracy, cross-entropy):\n");
    for (int k = 0; k < EVAL_TBUCKETS; k++)
        printf("  t=%.2f %6.1f%% %7.3f%s", (k + 0.5) / EVAL_TBUCKETS, 100 * r->t_accuracy[k], r->t_cross_entropy[k],
               k % 2 ? "\n" : "   ");
    printf("(%.1f s)\n", r->seconds);
}

/* The trigram anchor for eval: from --train (an error when unreadable), else
 * from the corpus the model records (a warning when absent or unreadable).
 * Returns 0, or -1 with e filled. */
static int eval_trigram(const ModelFile *mf, const char *train, Ngram **ng, Err *e) {
    if (modelfile_trigram(mf, train, ng, e)) {
        if (train) return -1;
        fprintf(stderr, "sdlm eval: no trigram anchor: %s (give --train FILE, the model's training lines)\n", e->msg);
    } else if (!*ng) {
        fprintf(stderr, "sdlm eval: no trigram anchor: %s records no training corpus (give --train FILE)\n", mf->path);
    } else {
        char about[160];
        ngram_describe(*ng, about, sizeof about);
        fprintf(stderr, "sdlm eval: %s (%s)\n", about, train ? train : mf->corpus);
    }
    return 0;
}

/* The mean and 1-token accuracy into the history, by checkpoint path, for
 * the editor's model picker. A history that cannot be written is a warning. */
static void save_eval(const char *db_arg, const char *ckpt, const EvalConfig *c, const EvalResult *r) {
    char db[1024];
    Err e;
    Store *st;
    if (opts_db(db_arg, db, sizeof db, &e) || store_open(&st, db, 0, &e)) goto fail;
    EvalRecord rec = {.path = (char *)ckpt, .lines = r->lines, .accuracy = r->mean_accuracy,
                      .accuracy_1tok = r->accuracy[0], .cross_entropy = r->mean_cross_entropy,
                      .sampler = (char *)sampler_name(c->sampler), .steps = c->steps};
    int rc = store_add_eval(st, &rec, &e);
    store_close(st);
    if (!rc) return;
fail:
    fprintf(stderr, "sdlm eval: warning: not saved in the history: %s\n", e.msg);
}

/* The command line. */
typedef struct {
    const char *heldout, *ckpt, *spm, *sampler, *train, *db;
    char model[1024]; /* the checkpoint used: -ckpt, or the editor's */
    int json, no_ema, quick, no_save;
    EvalConfig c;
} EvalArgs;

static const char EVAL_ABOUT[] =
    "Fills a gap of 1 token, 10%, 25% and 50% of each held-out line (positions from --seed) and\n"
    "reports masked-token accuracy and cross-entropy, the most-frequent-piece baseline, one-step\n"
    "denoising by noise level t, and how many filled pieces form corpus words. With --candidates N\n"
    "each gap is filled N times and ranked by the model's own score: the accuracy of the best-scored\n"
    "fill is reported beside the first fill's (unranked) and the best of the N (an oracle).\n"
    "Beside the model stand a trigram over the same pieces, fitted on --train FILE (default: the\n"
    "corpus the checkpoint records), filling the same gaps by beam search, and the model fused with\n"
    "it (--fuse LAMBDA adds LAMBDA x the trigram's log-probabilities to the model's logits).";

/* Parses and checks the flags and picks the model. Returns 0 to go on, or 1
 * with *status the exit status. */
static int eval_args(int argc, char **argv, EvalArgs *a, int *status) {
    *a = (EvalArgs){.c = eval_defaults()};
    EvalConfig *c = &a->c;
    c->fuse = EVAL_DEFAULT_FUSE;
    const Opt opts[] = {
        {"-d|--data_path", OPT_STR, &a->heldout, "FILE", "held-out lines (required)", 0, 0, NULL},
        {"-ckpt|--checkpoint", OPT_STR, &a->ckpt, "FILE", "the model (default: the one the editor opens)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &a->spm, "MODEL", "tokenizer, for a checkpoint without one inside", 0, 0, NULL},
        {"--lines", OPT_INT, &c->lines, "N", "held-out lines used, from the top (200)", 1, 1 << 24, NULL},
        {"--steps", OPT_INT, &c->steps, "N", "sampling steps per fill (50)", 1, 10000, NULL},
        {"--sampler", OPT_STR, &a->sampler, "NAME",
         "difflm, ddim, ddpm or unmask; a masked model: reveal or mdlm (difflm, reveal)", 0, 0, NULL},
        {"--clamp", OPT_FLAG, &c->clamp, NULL, "snap estimates to the nearest embedding while filling", 0, 0, NULL},
        {"--seed", OPT_U64, &c->seed, "S", "gap positions and noise (0)", 0, 0, NULL},
        {"--batch", OPT_INT, &c->batch, "N", "sequences per pass (32)", 1, 4096, NULL},
        {"--words", OPT_STR, &c->words, "FILE", "text whose words count as corpus words (the held-out file)", 0, 0,
         NULL},
        {"--train", OPT_STR, &a->train, "FILE", "lines the trigram anchor is fitted on (the model's recorded corpus)",
         0, 0, NULL},
        {"--fuse", OPT_FLOAT, &c->fuse, "LAMBDA", "also fill with the trigram fused at LAMBDA; 0: no fused run (1)", 0,
         100, NULL},
        {"--candidates", OPT_INT, &c->candidates, "N", "fills per gap, the model's best-scored one counted (1)", 1,
         EVAL_MAX_CAND, NULL},
        {"--quick", OPT_FLAG, &a->quick, NULL, "only the one-step curve by t (fast)", 0, 0, NULL},
        {"--linear-times", OPT_FLAG, &c->linear_times, NULL,
         "space steps 1 - s/S even when the model has a time curve", 0, 0, NULL},
        {"--no-ema", OPT_FLAG, &a->no_ema, NULL, "use the raw weights even when the checkpoint keeps an EMA", 0, 0,
         NULL},
        {"--json", OPT_FLAG, &a->json, NULL, "print one JSON line", 0, 0, NULL},
        {"--no-save", OPT_FLAG, &a->no_save, NULL,
         "do not keep the figures in the history (the model picker shows them)", 0, 0, NULL},
        {"--db", OPT_STR, &a->db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0, NULL},
    };
    const OptCommand oc = {"sdlm eval", "sdlm eval -d HELDOUT [-ckpt FILE] [flags]", EVAL_ABOUT, opts,
                           sizeof opts / sizeof *opts, 0};
    const char *pos[1];
    int npos;
    if (opts_command(&oc, argc, argv, pos, &npos, status)) return 1;
    *status = EXIT_USAGE;
    if (!a->heldout) return cli_fail(oc.cmd, EXIT_USAGE, "needs -d HELDOUT (try sdlm eval --help)"), 1;
    if (a->sampler && sampler_parse(a->sampler, &c->sampler))
        return cli_fail(oc.cmd, EXIT_USAGE, "--sampler must be difflm, ddim, ddpm, unmask, reveal or mdlm, not \"%s\"",
                        a->sampler), 1;
    c->skip_fill = a->quick;
    if (opts_model(oc.cmd, a->ckpt, a->model, sizeof a->model)) return 1;
    return 0;
}

/* Fits the sampler and the trigram to the model, and measures. Returns 0,
 * or an exit status with e filled. */
static int eval_measure(EvalArgs *a, const ModelFile *mf, Ngram **ng, EvalResult *r, Err *e) {
    EvalConfig *c = &a->c;
    if (a->sampler && !sampler_fits(c->sampler, &mf->model.cfg))
        return err_set(e, "--sampler %s does not fit this %s model: use %s", a->sampler,
                       mf->model.cfg.masked ? "masked" : "continuous", sampler_choices(&mf->model.cfg)),
               EXIT_USAGE;
    c->sampler = sampler_fit(c->sampler, &mf->model.cfg);
    if (!a->quick && eval_trigram(mf, a->train, ng, e)) return EXIT_USAGE;
    c->trigram = *ng;
    if (eval_run(mf, a->heldout, c, r, isatty(2) ? show_progress : NULL, NULL, e)) return EXIT_USAGE;
    return 0;
}

int cmd_eval(int argc, char **argv) {
    EvalArgs a;
    ModelFile mf;
    Ngram *ng = NULL;
    EvalResult r;
    Err e;
    int status;
    if (eval_args(argc, argv, &a, &status)) return status;
    if (modelfile_open(&mf, a.model, a.spm, !a.no_ema, &e)) return cli_fail("sdlm eval", EXIT_USAGE, "%s", e.msg);
    if ((status = eval_measure(&a, &mf, &ng, &r, &e))) {
        cli_fail("sdlm eval", status, "%s", e.msg);
    } else {
        if (!a.quick && !a.no_save) save_eval(a.db, mf.path, &a.c, &r);
        if (a.json) print_json(a.model, &a.c, &r, a.quick);
        else print_text(a.heldout, &mf, &a.c, &r, a.quick);
    }
    ngram_free(ng);
    modelfile_close(&mf);
    return status;
}
