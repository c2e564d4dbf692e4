/* cmd_generate.c: `sdlm infill` and `sdlm sample`: a model used headless.
 * Infill fills the {N} spans of a template; sample draws unconditional
 * sequences as the seed does. Both print the text (one line per candidate),
 * can trace every step, and save each result with its trajectory to the
 * history unless --no-save. Infill candidates come ranked by the model's own
 * score of them (session/score.h), best first. --fuse adds a trigram's
 * log-probabilities to the model's logits while sampling (data/ngram.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "diffusion.h"
#include "infill.h"
#include "modelfile.h"
#include "ngram.h"
#include "opts.h"
#include "samplerun.h"
#include "score.h"
#include "store.h"
#include "template.h"
#include "clock.h"

enum { MAX_CANDIDATES = 64, STDIN_TEMPLATE_MAX = 1 << 20 /* bytes of a template read from stdin */ };

/* The command line. */
typedef struct {
    const char *cmd;       /* "sdlm infill" or "sdlm sample", for messages */
    int infill;
    const char *ckpt, *spm, *sampler, *db, *train;
    const char *text;      /* infill: the template argument ("-": standard input) */
    char model[1024];      /* the checkpoint used: -ckpt, or the editor's */
    int steps, n, trace, no_save, clamp, length, no_ema, seed_given, linear, scores, fuse_given;
    uint64_t seed;
    float fuse;
    SamplerKind kind;
} GenArgs;

/* One run: what it samples, and every pass it keeps for the history. */
typedef struct {
    const GenArgs *a;
    ModelFile mf;
    int mf_open;
    char *stdin_text;
    Template tmpl;          /* infill only */
    InfillSeq seq;          /* infill only */
    Ngram *ng;              /* --fuse: the trigram, and its fusion */
    NgramFusion fusion;
    Workspace ws;
    int B, L, passes;
    int32_t *ids, *final;   /* [B, L] the known tokens in; the result */
    uint8_t *known;         /* [B, L] */
    int *lengths;           /* [B] */
    int32_t *traj_ids;      /* [passes, B, L] the trajectory */
    float *traj_conf;       /* [passes, B, L] */
    float *traj_t;          /* [passes] */
    float *times;           /* [steps + 1] the schedule's times */
    float nats[MAX_CANDIDATES]; /* infill: each candidate's score; NAN for samples */
    int order[MAX_CANDIDATES];  /* the candidates best first (sampling order for samples) */
    double t0;
} GenRun;

/* Text of sequence ids: the filled template, or the decoded sample cut at EOS. */
static void render(const GenRun *r, const int32_t *ids, char *out, size_t cap) {
    if (r->a->infill) {
        infill_render(r->mf.spm, &r->tmpl, &r->seq, ids, out, cap);
        return;
    }
    int n = 0, eos = spm_eos_id(r->mf.spm);
    while (n < r->L && ids[n] != eos) n++;
    if (spm_decode(r->mf.spm, (const int *)ids, n, out, cap, NULL, NULL)) snprintf(out, cap, "(undecodable)");
}

/* After every pass: keep it in the trajectory, and print it with --trace. */
static int on_step(void *ctx, int step, int total, float t, const int32_t *ids, const float *conf) {
    GenRun *r = ctx;
    long n = (long)r->B * r->L;
    int k = step - 1;
    memcpy(r->traj_ids + k * n, ids, sizeof(int32_t) * n);
    memcpy(r->traj_conf + k * n, conf, sizeof(float) * n);
    r->traj_t[k] = t;
    r->passes = step;
    if (r->a->trace) {
        char text[8192];
        for (int b = 0; b < r->B; b++) {
            render(r, ids + (long)b * r->L, text, sizeof text);
            printf("step %3d/%d t=%.3f%s%d: %s\n", step, total, t, r->B > 1 ? " cand " : "", r->B > 1 ? b : 0, text);
        }
        fflush(stdout);
    }
    return 0;
}

/* ---- the command line ---- */

static const char INFILL_ABOUT[] =
    "Fills the masked spans of TEXT: {N} is a span of N tokens, {} one of 8, {{ and }} are\n"
    "literal braces; TEXT - reads standard input. Prints one filled text per candidate, best first:\n"
    "ranked by the model's own score, the cross-entropy of the filled tokens when they are\n"
    "noised again and denoised in one pass at t = 0.8, 0.9, 0.95, 1 (nats per filled token,\n"
    "lower is better; --scores prints it).";

/* Parses and checks the flags and picks the model and seed. Returns 0 to go
 * on, or 1 with *status the exit status. */
static int gen_args(int argc, char **argv, int infill, GenArgs *a, int *status) {
    /* infill fuses as the editor does by default; sample, which has no neighbours to read, does not */
    *a = (GenArgs){.cmd = infill ? "sdlm infill" : "sdlm sample", .infill = infill, .steps = 200, .n = 1,
                   .fuse = infill ? 1 : 0};
    Opt opts[] = {
        {"-ckpt|--checkpoint", OPT_STR, &a->ckpt, "FILE", "the model (default: the one the editor opens)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &a->spm, "MODEL", "tokenizer, for a checkpoint without one inside", 0, 0, NULL},
        {"--sampler", OPT_STR, &a->sampler, "NAME",
         "difflm, ddim, ddpm or unmask; a masked model: reveal or mdlm (difflm, reveal)", 0, 0, NULL},
        {"--steps", OPT_INT, &a->steps, "N", "reverse diffusion steps (200)", 1, 100000, NULL},
        {"--seed", OPT_U64, &a->seed, "S", "noise seed (default: a fresh one, reported with --trace)", 0, 0,
         &a->seed_given},
        {"-n", OPT_INT, &a->n, "K", "candidates (1)", 1, MAX_CANDIDATES, NULL},
        {"--clamp", OPT_FLAG, &a->clamp, NULL, "snap each estimate to the nearest token embedding", 0, 0, NULL},
        {"--length", OPT_INT, &a->length, "L", "sample: tokens per sequence (the training crop length)", 1, 4096, NULL},
        {"--no-ema", OPT_FLAG, &a->no_ema, NULL, "use the raw weights even when the checkpoint keeps an EMA", 0, 0,
         NULL},
        {"--trace", OPT_FLAG, &a->trace, NULL, "print every step", 0, 0, NULL},
        {"--no-save", OPT_FLAG, &a->no_save, NULL, "do not save to the history", 0, 0, NULL},
        {"--db", OPT_STR, &a->db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0, NULL},
        {"--linear-times", OPT_FLAG, &a->linear, NULL, "space steps 1 - s/S even when the model has a time curve", 0,
         0, NULL},
        {"--fuse", OPT_FLOAT, &a->fuse, "LAMBDA",
         "add LAMBDA x a trigram's log-probabilities to the model's logits (0: off; infill: 1, as the editor, "
         "when the model's training lines are found)", 0, 100, &a->fuse_given},
        {"--train", OPT_STR, &a->train, "FILE", "lines the --fuse trigram is fitted on (the model's recorded corpus)",
         0, 0, NULL},
        {"--scores", OPT_FLAG, &a->scores, NULL,
         "infill: print each candidate's score (nats per filled token) before it", 0, 0, NULL},
    };
    int nopts = sizeof opts / sizeof *opts, npos;
    if (infill) nopts--, memmove(&opts[7], &opts[8], sizeof *opts * (nopts - 7)); /* no --length for infill */
    else nopts--;                                                                  /* no --scores for sample */
    const OptCommand c = {a->cmd, infill ? "sdlm infill [-ckpt FILE] [flags] TEXT" : "sdlm sample [-ckpt FILE] [flags]",
                          infill ? INFILL_ABOUT
                                 : "Draws unconditional samples, as the seed does; each is printed up to its EOS.",
                          opts, nopts, infill ? 1 : 0};
    const char *pos[1] = {NULL};
    if (opts_command(&c, argc, argv, pos, &npos, status)) return 1;
    a->kind = SAMPLER_DIFFLM;
    a->text = pos[0];
    *status = EXIT_USAGE;
    if (a->sampler && sampler_parse(a->sampler, &a->kind))
        return cli_fail(a->cmd, EXIT_USAGE, "--sampler must be difflm, ddim, ddpm, unmask, reveal or mdlm, not \"%s\"",
                        a->sampler), 1;
    if (infill && !npos) return cli_fail(a->cmd, EXIT_USAGE, "needs the TEXT to fill (try %s --help)", a->cmd), 1;
    if (opts_model(a->cmd, a->ckpt, a->model, sizeof a->model)) return 1;
    if (!a->seed_given) a->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    return 0;
}

/* ---- preparing a run ---- */

/* The template given as "-": standard input, read in chunks into a buffer of
 * STDIN_TEMPLATE_MAX bytes, so an endless stream (yes, /dev/zero) is refused
 * as soon as it passes the bound or shows a NUL byte, not after it ends.
 * Trailing newlines are dropped. Returns 0, or the exit code with e filled. */
static int read_stdin_template(char **out, Err *e) {
    size_t len = 0, k;
    char *text = malloc(STDIN_TEMPLATE_MAX + 2);
    *out = NULL;
    if (!text) return err_set(e, "out of memory reading standard input"), EXIT_IO;
    while ((k = fread(text + len, 1, STDIN_TEMPLATE_MAX + 1 - len, stdin)) > 0) {
        const char *nul = memchr(text + len, 0, k); /* the text would end there, silently */
        if (nul) {
            err_set(e, "standard input has a NUL byte at byte %zu: give text, not binary data", (size_t)(nul - text));
            return free(text), EXIT_USAGE;
        }
        len += k;
        if (len > STDIN_TEMPLATE_MAX) {
            err_set(e, "standard input is over %d KB: a template must be shorter", STDIN_TEMPLATE_MAX / 1024);
            return free(text), EXIT_USAGE;
        }
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    text[len] = 0;
    *out = text;
    return 0;
}

/* The template of an infill (from the argument or standard input), parsed,
 * with one span at least. Returns 0, or an exit status with e filled. */
static int gen_template(GenRun *r, Err *e) {
    const char *text = r->a->text;
    if (!strcmp(text, "-")) {
        int bad = read_stdin_template(&r->stdin_text, e);
        if (bad) return bad;
        text = r->stdin_text;
    }
    if (template_parse(&r->tmpl, text, strlen(text), 0, e)) return EXIT_USAGE;
    if (!r->tmpl.spans)
        return err_set(e, "the text has no span to fill: mark one with {N}, e.g. \"The {3} sat.\""), EXIT_USAGE;
    return 0;
}

/* The model, checked against --sampler, and the sequence it samples: the
 * template's, or --length tokens (the training crop length). */
static int gen_model(GenRun *r, GenArgs *a, Err *e) {
    if (modelfile_open(&r->mf, a->model, a->spm, !a->no_ema, e)) return EXIT_USAGE;
    r->mf_open = 1;
    const Config *cfg = &r->mf.model.cfg;
    if (a->sampler && !sampler_fits(a->kind, cfg))
        return err_set(e, "--sampler %s does not fit this %s model: use %s", a->sampler,
                       cfg->masked ? "masked" : "continuous", sampler_choices(cfg)),
               EXIT_USAGE;
    a->kind = sampler_fit(a->kind, cfg);
    r->L = a->length ? a->length : r->mf.crop_len;
    if (a->infill) {
        if (infill_build(r->mf.spm, &r->tmpl, 4096, &r->seq, e)) return EXIT_USAGE;
        r->L = r->seq.len;
    }
    return 0;
}

/* Every buffer of the run, the template's tokens copied into each candidate. */
static int gen_buffers(GenRun *r, Err *e) {
    const int B = r->B, L = r->L, S = r->a->steps;
    const size_t N = (size_t)B * L;
    r->ids = malloc(sizeof(int32_t) * N), r->final = malloc(sizeof(int32_t) * N);
    r->known = malloc(N), r->lengths = malloc(sizeof(int) * B);
    r->traj_ids = malloc(sizeof(int32_t) * (S + 1) * N), r->traj_conf = malloc(sizeof(float) * (S + 1) * N);
    r->traj_t = malloc(sizeof(float) * (S + 1)), r->times = malloc(sizeof(float) * (S + 1));
    if (!r->ids || !r->final || !r->known || !r->lengths || !r->traj_ids || !r->traj_conf || !r->traj_t ||
        !r->times || workspace_alloc(&r->ws, &r->mf.model.cfg, B, L, 0, e))
        return err_set(e, "out of memory for %d x %d tokens", B, L), EXIT_IO;
    for (int b = 0; b < B; b++) {
        if (r->a->infill) memcpy(r->ids + (long)b * L, r->seq.ids, sizeof(int32_t) * L);
        if (r->a->infill) memcpy(r->known + (long)b * L, r->seq.known, L);
        r->lengths[b] = L;
    }
    return 0;
}

/* Shallow fusion with the trigram over the model's pieces, fitted on --train
 * or the model's recorded corpus; says on stderr that it is on when asked for
 * (infill's default, as the editor's, goes without saying). */
static int gen_fusion(GenRun *r, Err *e) {
    const GenArgs *a = r->a;
    if (modelfile_trigram(&r->mf, a->train, &r->ng, e)) return err_wrap(e, "--fuse"), EXIT_USAGE;
    if (!r->ng)
        return err_set(e, "--fuse needs the model's training lines: %s records none, give --train FILE", r->mf.path),
               EXIT_USAGE;
    if (ngram_fusion_init(&r->fusion, r->ng, a->fuse, r->mf.model.cfg.V, e)) {
        ngram_free(r->ng), r->ng = NULL;
        return err_wrap(e, "--fuse"), EXIT_USAGE;
    }
    char about[160];
    ngram_describe(r->ng, about, sizeof about);
    if (a->fuse_given || a->train)
        fprintf(stderr, "%s: fusion on: lambda %g x the %s (%s)\n", a->cmd, (double)a->fuse, about,
                a->train ? a->train : r->mf.corpus);
    return 0;
}

static int gen_prepare(GenRun *r, GenArgs *a, Err *e) {
    int status;
    r->a = a;
    r->B = a->n;
    if (a->infill && (status = gen_template(r, e))) return status;
    if ((status = gen_model(r, a, e))) return status;
    r->t0 = now_s(); /* the time a sample took counts from here, the model loaded */
    if ((status = gen_buffers(r, e))) return status;
    if (a->fuse > 0 && (status = gen_fusion(r, e))) {
        if (a->fuse_given || a->train) return status; /* asked for by name: a refusal, not a fallback */
        a->fuse = 0; /* the default without the model's lines (as the editor): the model alone */
    }
    return 0;
}

/* ---- running, printing, saving ---- */

/* Samples every candidate; an infill's are then scored and ranked. */
static int gen_sample(GenRun *r, Err *e) {
    const GenArgs *a = r->a;
    if (a->trace)
        printf("%s: %s, %s, %d steps, seed %llu\n", r->mf.path, r->mf.description, sampler_name(a->kind), a->steps,
               (unsigned long long)a->seed);
    SampleRequest rq = sample_request_defaults(r->B, r->L, a->kind, a->steps, a->seed);
    if (a->infill) rq.ids = r->ids, rq.known = r->known, rq.lengths = r->lengths;
    rq.clamp = a->clamp;
    if (r->ng) rq.fuse = ngram_fuse, rq.fuse_ctx = &r->fusion;
    modelfile_schedule(&r->mf, &rq, !a->linear, r->times);
    if (diffusion_sample(&r->mf.model, &r->ws, &rq, on_step, r, r->final, e) < 0) return EXIT_USAGE;
    for (int b = 0; b < r->B; b++) r->order[b] = b, r->nats[b] = NAN;
    if (!a->infill) return 0;
    if (score_fills(&r->mf, r->final, r->known, r->lengths, r->B, r->L, r->nats, e)) return EXIT_IO;
    score_rank(r->nats, r->B, r->order);
    return 0;
}

/* One line per candidate, best first (--scores: its score before it). */
static void gen_print(const GenRun *r) {
    char out[8192];
    for (int i = 0; i < r->B; i++) {
        int b = r->order[i];
        render(r, r->final + (long)b * r->L, out, sizeof out);
        if (r->a->trace && r->a->infill)
            printf("candidate %d (sampled as %d): %.3f nats per filled token\n", i, b, (double)r->nats[b]);
        if (r->a->scores) printf("%.3f\t", (double)r->nats[b]);
        printf("%s\n", out);
    }
    fflush(stdout);
}

/* Saves each candidate, best first, with its own trajectory. A history that
 * cannot be written is a warning, not an error. */
static void gen_save(const GenRun *r) {
    const GenArgs *a = r->a;
    char db[1024], tmpl[8192] = "";
    Err e;
    Store *st = NULL;
    if (a->infill) template_format(&r->tmpl, tmpl, sizeof tmpl); /* "{}" saved as the length it had */
    SampleRun run = {.mf = &r->mf, .mode = a->infill ? SAMPLE_INFILL : SAMPLE_FREE, .template_text = tmpl,
                     .sampler = a->kind, .steps = a->steps, .clamp = a->clamp, .seed = a->seed, .time = NAN,
                     .elapsed_s = now_s() - r->t0, .passes = r->passes, .cands = r->B, .len = r->L,
                     .ids = r->traj_ids, .conf = r->traj_conf, .t = r->traj_t,
                     .known = a->infill ? r->seq.known : NULL};
    int bad = opts_db(a->db, db, sizeof db, &e) || store_open(&st, db, 0, &e);
    for (int i = 0; !bad && i < r->B; i++) {
        char text[8192];
        render(r, r->final + (long)r->order[i] * r->L, text, sizeof text);
        bad = samplerun_save(st, &run, r->order[i], i, text, NULL, &e);
    }
    if (st) store_close(st);
    if (bad) fprintf(stderr, "sdlm: warning: not saved to the history: %s\n", e.msg);
}

static void gen_free(GenRun *r) {
    if (r->ng) ngram_fusion_free(&r->fusion), ngram_free(r->ng);
    workspace_free(&r->ws);
    free(r->ids), free(r->final), free(r->known), free(r->lengths);
    free(r->traj_ids), free(r->traj_conf), free(r->traj_t), free(r->times);
    infill_seq_free(&r->seq);
    template_free(&r->tmpl);
    if (r->mf_open) modelfile_close(&r->mf);
    free(r->stdin_text);
}

static int generate(int argc, char **argv, int infill) {
    GenArgs a;
    GenRun r = {0};
    Err e;
    int status;
    if (gen_args(argc, argv, infill, &a, &status)) return status;
    if ((status = gen_prepare(&r, &a, &e)) || (status = gen_sample(&r, &e))) {
        cli_fail(a.cmd, status, "%s", e.msg);
    } else {
        gen_print(&r);
        if (!a.no_save) gen_save(&r);
    }
    gen_free(&r);
    return status;
}

int cmd_infill(int argc, char **argv) { return generate(argc, argv, 1); }
int cmd_sample(int argc, char **argv) { return generate(argc, argv, 0); }
