/* cmd_eval.c: `sdlm eval -d HELDOUT -ckpt FILE [--json]`: masked-token
 * accuracy and cross-entropy on held-out lines by gap size, the one-step
 * curve by noise level, the most-frequent-piece baseline and the fluency of
 * the fills (see train/eval.h). One JSON line with --json. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "eval.h"
#include "opts.h"
#include "paths.h"
#include "store.h"

static void show_progress(void *ctx, int done, int total) {
    (void)ctx;
    fprintf(stderr, "\reval: %d/%d batches", done, total);
    if (done == total) fprintf(stderr, "\r\033[K");
}

/* The mean and 1-token accuracy into the history, by checkpoint path, for
 * the editor's model picker. A history that cannot be written is a warning. */
static void save_eval(const char *db_arg, const char *ckpt, const EvalConfig *c, const EvalResult *r) {
    char db[1024];
    Err e;
    Store *st;
    if (db_arg) snprintf(db, sizeof db, "%s", db_arg);
    else if (paths_default_db(db, sizeof db, &e)) goto fail;
    if (store_open(&st, db, 0, &e)) goto fail;
    EvalRecord rec = {.path = (char *)ckpt, .lines = r->lines, .accuracy = r->mean_accuracy, .accuracy_1tok = r->accuracy[0],
                      .cross_entropy = r->mean_cross_entropy, .sampler = (char *)sampler_name(c->sampler), .steps = c->steps};
    int rc = store_add_eval(st, &rec, &e);
    store_close(st);
    if (!rc) return;
fail:
    fprintf(stderr, "sdlm eval: warning: not saved in the history: %s\n", e.msg);
}

int cmd_eval(int argc, char **argv) {
    const char *heldout = NULL, *ckpt = NULL, *spm = NULL, *sampler = "difflm";
    const char *db = NULL;
    int json = 0, no_ema = 0, quick = 0, no_save = 0;
    EvalConfig c = eval_defaults();
    Opt opts[] = {
        {"-d|--data_path", OPT_STR, &heldout, "FILE", "held-out lines (required)", 0, 0, NULL},
        {"-ckpt|--checkpoint", OPT_STR, &ckpt, "FILE", "the model (default: the one the editor opens)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &spm, "MODEL", "tokenizer, for a checkpoint without one inside", 0, 0, NULL},
        {"--lines", OPT_INT, &c.lines, "N", "held-out lines used, from the top (200)", 1, 1 << 24, NULL},
        {"--steps", OPT_INT, &c.steps, "N", "sampling steps per fill (50)", 1, 10000, NULL},
        {"--sampler", OPT_STR, &sampler, "NAME", "difflm, ddim, ddpm or unmask (difflm)", 0, 0, NULL},
        {"--clamp", OPT_FLAG, &c.clamp, NULL, "snap estimates to the nearest embedding while filling", 0, 0, NULL},
        {"--seed", OPT_U64, &c.seed, "S", "gap positions and noise (0)", 0, 0, NULL},
        {"--batch", OPT_INT, &c.batch, "N", "sequences per pass (32)", 1, 4096, NULL},
        {"--words", OPT_STR, &c.words, "FILE", "text whose words count as corpus words (the held-out file)", 0, 0, NULL},
        {"--candidates", OPT_INT, &c.candidates, "N", "fills per gap, the model's best-scored one counted (1)", 1, EVAL_MAX_CAND, NULL},
        {"--quick", OPT_FLAG, &quick, NULL, "only the one-step curve by t (fast)", 0, 0, NULL},
        {"--linear-times", OPT_FLAG, &c.linear_times, NULL, "space steps 1 - s/S even when the model has a time curve", 0, 0, NULL},
        {"--no-ema", OPT_FLAG, &no_ema, NULL, "use the raw weights even when the checkpoint keeps an EMA", 0, 0, NULL},
        {"--json", OPT_FLAG, &json, NULL, "print one JSON line", 0, 0, NULL},
        {"--no-save", OPT_FLAG, &no_save, NULL, "do not keep the figures in the history (the model picker shows them)", 0, 0, NULL},
        {"--db", OPT_STR, &db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0, NULL},
    };
    int n = sizeof opts / sizeof *opts, npos;
    const char *pos[1];
    Err e;
    int rc = opts_parse(opts, n, argc, argv, pos, 0, &npos, &e);
    if (rc == 1) {
        opts_usage(stdout, "sdlm eval -d HELDOUT [-ckpt FILE] [flags]",
                   "Fills a gap of 1 token, 10%, 25% and 50% of each held-out line (positions from --seed) and\n"
                   "reports masked-token accuracy and cross-entropy, the most-frequent-piece baseline, one-step\n"
                   "denoising by noise level t, and how many filled pieces form corpus words. With --candidates N\n"
                   "each gap is filled N times and ranked by the model's own score: the accuracy of the best-scored\n"
                   "fill is reported beside the first fill's (unranked) and the best of the N (an oracle).",
                   opts, n);
        return EXIT_OK;
    }
    if (rc) return fprintf(stderr, "sdlm eval: %s\n", e.msg), EXIT_USAGE;
    if (!heldout) return fprintf(stderr, "sdlm eval: needs -d HELDOUT (try sdlm eval --help)\n"), EXIT_USAGE;
    if (sampler_parse(sampler, &c.sampler))
        return fprintf(stderr, "sdlm eval: --sampler must be difflm, ddim, ddpm or unmask, not \"%s\"\n", sampler), EXIT_USAGE;
    c.skip_fill = quick;
    char model[1024];
    if (opts_model("sdlm eval", ckpt, model, sizeof model)) return EXIT_USAGE;
    ckpt = model;
    ModelFile mf;
    if (modelfile_open(&mf, ckpt, spm, !no_ema, &e)) return fprintf(stderr, "sdlm eval: %s\n", e.msg), EXIT_USAGE;
    EvalResult r;
    rc = eval_run(&mf, heldout, &c, &r, isatty(2) ? show_progress : NULL, NULL, &e);
    if (rc) {
        modelfile_close(&mf);
        return fprintf(stderr, "sdlm eval: %s\n", e.msg), EXIT_USAGE;
    }
    if (!quick && !no_save) save_eval(db, mf.path, &c, &r);
    if (json) {
        printf("{\"checkpoint\":\"%s\",\"lines\":%d,\"sampler\":\"%s\",\"steps\":%d,\"seed\":%llu", ckpt, r.lines,
               sampler_name(c.sampler), c.steps, (unsigned long long)c.seed);
        if (c.candidates > 1) printf(",\"candidates\":%d", c.candidates);
        if (!quick) {
            printf(",\"masked_token_accuracy\":%.4f,\"cross_entropy\":%.4f,\"baseline_accuracy\":%.4f", r.mean_accuracy,
                   r.mean_cross_entropy, r.mean_baseline);
            printf(",\"by_gap\":{");
            for (int g = 0; g < EVAL_GAPS; g++)
            {
                printf("%s\"%s\":{\"masked\":%ld,\"accuracy\":%.4f,\"cross_entropy\":%.4f,\"baseline\":%.4f", g ? "," : "",
                       eval_gap_names[g], r.masked[g], r.accuracy[g], r.cross_entropy[g], r.baseline[g]);
                if (c.candidates > 1)
                    printf(",\"first_accuracy\":%.4f,\"oracle_accuracy\":%.4f", r.first_accuracy[g], r.oracle_accuracy[g]);
                printf("}");
            }
            printf("},\"word_share\":%.4f,\"repeat_share\":%.4f", r.word_share, r.repeat_share);
        }
        printf(",\"t_curve\":[");
        for (int k = 0; k < EVAL_TBUCKETS; k++)
            printf("%s{\"t\":%.2f,\"accuracy\":%.4f,\"cross_entropy\":%.4f}", k ? "," : "", (k + 0.5) / EVAL_TBUCKETS,
                   r.t_accuracy[k], r.t_cross_entropy[k]);
        printf("],\"seconds\":%.1f}\n", r.seconds);
    } else {
        printf("%s: %d held-out lines; %s, %s %d steps, seed %llu\n", heldout, r.lines, mf.description,
               sampler_name(c.sampler), c.steps, (unsigned long long)c.seed);
        if (!quick) {
            printf("\n%-9s %8s %10s %10s %14s", "gap", "masked", "accuracy", "baseline", "cross-entropy");
            if (c.candidates > 1) printf(" %10s %10s", "first", "oracle");
            printf("\n");
            for (int g = 0; g < EVAL_GAPS; g++) {
                printf("%-9s %8ld %9.1f%% %9.1f%% %14.3f", eval_gap_names[g], r.masked[g], 100 * r.accuracy[g],
                       100 * r.baseline[g], r.cross_entropy[g]);
                if (c.candidates > 1) printf(" %9.1f%% %9.1f%%", 100 * r.first_accuracy[g], 100 * r.oracle_accuracy[g]);
                printf("\n");
            }
            if (c.candidates > 1)
                printf("(%d candidates per gap: accuracy of the best-scored, of the first, and of the best of them)\n",
                       c.candidates);
            printf("%-9s %8s %9.1f%% %9.1f%% %14.3f\n", "mean", "", 100 * r.mean_accuracy, 100 * r.mean_baseline,
                   r.mean_cross_entropy);
            printf("\nfills of 25%% gaps: %.1f%% of %ld filled pieces form corpus words, %.1f%% repeat the piece before\n",
                   100 * r.word_share, r.filled_pieces, 100 * r.repeat_share);
            for (int i = 0; i < r.nexamples; i++) printf("  truth: %s\n  fill:  %s\n", r.example_truth[i], r.example_fill[i]);
        }
        printf("\none-step denoising of 25%% gaps by noise level t (accuracy, cross-entropy):\n");
        for (int k = 0; k < EVAL_TBUCKETS; k++)
            printf("  t=%.2f %6.1f%% %7.3f%s", (k + 0.5) / EVAL_TBUCKETS, 100 * r.t_accuracy[k], r.t_cross_entropy[k],
                   k % 2 ? "\n" : "   ");
        printf("(%.1f s)\n", r.seconds);
    }
    modelfile_close(&mf);
    return EXIT_OK;
}
