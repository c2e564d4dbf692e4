/* cmd_generate.c: `sdlm infill` and `sdlm sample`: a model used headless.
 * Infill fills the {N} spans of a template; sample draws unconditional
 * sequences as the seed does. Both print the text (one line per candidate),
 * can trace every step, and save each result with its trajectory to the
 * history unless --no-save. Infill candidates come ranked by the model's own
 * score of them (train/score.h), best first. --fuse adds a trigram's
 * log-probabilities to the model's logits while sampling (train/ngram.h). */
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
#include "paths.h"
#include "score.h"
#include "store.h"
#include "template.h"
#include "traj.h"
#include "clock.h"

enum { MAX_CANDIDATES = 64, STDIN_TEMPLATE_MAX = 1 << 20 /* bytes of a template read from stdin */ };

typedef struct {
    const ModelFile *mf;
    const Template *tmpl;   /* NULL for unconditional samples */
    const InfillSeq *seq;
    int B, L, trace, passes;
    uint32_t *ids;          /* [passes, B, L] the trajectory */
    float *conf, *t;
    double t0;
} GenRun;

/* Text of sequence b of ids: the filled template, or the decoded sample cut at EOS. */
static void render(const GenRun *r, const int32_t *ids, char *out, size_t cap) {
    if (r->tmpl) {
        infill_render(r->mf->spm, r->tmpl, r->seq, ids, out, cap);
        return;
    }
    int n = 0, eos = spm_eos_id(r->mf->spm);
    while (n < r->L && ids[n] != eos) n++;
    if (spm_decode(r->mf->spm, (const int *)ids, n, out, cap, NULL, NULL)) snprintf(out, cap, "(undecodable)");
}

static int on_step(void *ctx, int step, int total, float t, const int32_t *ids, const float *conf) {
    GenRun *r = ctx;
    long n = (long)r->B * r->L;
    int k = step - 1;
    for (long i = 0; i < n; i++) r->ids[k * n + i] = (uint32_t)ids[i], r->conf[k * n + i] = conf[i];
    r->t[k] = t;
    r->passes = step;
    if (r->trace) {
        char text[8192];
        for (int b = 0; b < r->B; b++) {
            render(r, ids + (long)b * r->L, text, sizeof text);
            printf("step %3d/%d t=%.3f%s%d: %s\n", step, total, t, r->B > 1 ? " cand " : "", r->B > 1 ? b : 0, text);
        }
        fflush(stdout);
    }
    return 0;
}

/* Saves each candidate with its own trajectory. Failure is a warning, not an error. */
/* order: the candidates in the order saved (candidate i of the history is
 * sequence order[i]). */
static void save_history(const GenRun *r, const char *db_arg, const char *template_text, SampleMode mode,
                         SamplerKind kind, int steps, uint64_t seed, int clamp, const int32_t *final, const int *order) {
    char db[1024];
    Err e;
    Store *st = NULL;
    if (db_arg) snprintf(db, sizeof db, "%s", db_arg);
    else if (paths_default_db(db, sizeof db, &e)) goto fail;
    if (store_open(&st, db, 0, &e)) goto fail;
    double elapsed = now_s() - r->t0;
    for (int i = 0; i < r->B; i++) {
        int b = order[i];
        char text[8192];
        render(r, final + (long)b * r->L, text, sizeof text);
        Sample s = {0};
        s.time = NAN;
        s.mode = mode;
        s.template_text = (char *)template_text;
        s.result = text;
        s.candidate = i;
        s.sampler = (char *)sampler_name(kind);
        s.steps = steps;
        s.seed = seed;
        s.clamp = clamp;
        s.checkpoint_path = (char *)r->mf->path;
        s.model = (char *)r->mf->description;
        s.elapsed_s = elapsed;
        if (traj_alloc(&s.traj, r->passes, r->L, (uint32_t)r->mf->model.cfg.V, &e)) goto fail;
        for (int k = 0; k < r->passes; k++) {
            s.traj.t[k] = r->t[k];
            for (int i = 0; i < r->L; i++) {
                long src = ((long)k * r->B + b) * r->L + i;
                s.traj.ids[(long)k * r->L + i] = r->ids[src];
                s.traj.conf[(long)k * r->L + i] = r->conf[src];
            }
        }
        for (int i = 0; i < r->L; i++) s.traj.masked[i] = r->seq ? !r->seq->known[i] : 1;
        int rc = store_add_sample(st, &s, NULL, &e);
        traj_free(&s.traj);
        if (rc) goto fail;
    }
    store_close(st);
    return;
fail:
    if (st) store_close(st);
    fprintf(stderr, "sdlm: warning: not saved to the history: %s\n", e.msg);
}

/* Shallow fusion with the trigram over the model's pieces, fitted on --train
 * or the model's recorded corpus; says on stderr that it is on. */
static int setup_fusion(const char *cmd, const ModelFile *mf, const char *train, float lambda, Ngram **ng,
                        NgramFusion *f) {
    Err e;
    if (modelfile_trigram(mf, train, ng, &e)) return fprintf(stderr, "%s: --fuse: %s\n", cmd, e.msg), EXIT_USAGE;
    if (!*ng)
        return fprintf(stderr, "%s: --fuse needs the model's training lines: %s records none, give --train FILE\n", cmd,
                       mf->path),
               EXIT_USAGE;
    if (ngram_fusion_init(f, *ng, lambda, mf->model.cfg.V, &e)) {
        ngram_free(*ng), *ng = NULL;
        return fprintf(stderr, "%s: --fuse: %s\n", cmd, e.msg), EXIT_USAGE;
    }
    char about[160];
    ngram_describe(*ng, about, sizeof about);
    fprintf(stderr, "%s: fusion on: lambda %g x the %s (%s)\n", cmd, (double)lambda, about, train ? train : mf->corpus);
    return EXIT_OK;
}

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

static int generate(int argc, char **argv, int infill) {
    const char *ckpt = NULL, *spm = NULL, *sampler = NULL, *db = NULL;
    int steps = 200, n = 1, trace = 0, no_save = 0, clamp = 0, length = 0, no_ema = 0, seed_given = 0, linear = 0;
    int scores = 0;
    uint64_t seed = 0;
    float fuse = 0;
    const char *train = NULL;
    Opt opts[] = {
        {"-ckpt|--checkpoint", OPT_STR, &ckpt, "FILE", "the model (default: the one the editor opens)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &spm, "MODEL", "tokenizer, for a checkpoint without one inside", 0, 0, NULL},
        {"--sampler", OPT_STR, &sampler, "NAME", "difflm, ddim, ddpm or unmask; a masked model: reveal or mdlm (difflm, reveal)", 0, 0, NULL},
        {"--steps", OPT_INT, &steps, "N", "reverse diffusion steps (200)", 1, 100000, NULL},
        {"--seed", OPT_U64, &seed, "S", "noise seed (default: a fresh one, reported with --trace)", 0, 0, &seed_given},
        {"-n", OPT_INT, &n, "K", "candidates (1)", 1, MAX_CANDIDATES, NULL},
        {"--clamp", OPT_FLAG, &clamp, NULL, "snap each estimate to the nearest token embedding", 0, 0, NULL},
        {"--length", OPT_INT, &length, "L", "sample: tokens per sequence (the training crop length)", 1, 4096, NULL},
        {"--no-ema", OPT_FLAG, &no_ema, NULL, "use the raw weights even when the checkpoint keeps an EMA", 0, 0, NULL},
        {"--trace", OPT_FLAG, &trace, NULL, "print every step", 0, 0, NULL},
        {"--no-save", OPT_FLAG, &no_save, NULL, "do not save to the history", 0, 0, NULL},
        {"--db", OPT_STR, &db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0, NULL},
        {"--linear-times", OPT_FLAG, &linear, NULL, "space steps 1 - s/S even when the model has a time curve", 0, 0, NULL},
        {"--fuse", OPT_FLOAT, &fuse, "LAMBDA", "add LAMBDA x a trigram's log-probabilities to the model's logits (0: off)", 0, 100, NULL},
        {"--train", OPT_STR, &train, "FILE", "lines the --fuse trigram is fitted on (the model's recorded corpus)", 0, 0, NULL},
        {"--scores", OPT_FLAG, &scores, NULL, "infill: print each candidate's score (nats per filled token) before it", 0, 0, NULL},
    };
    int nopts = sizeof opts / sizeof *opts, npos;
    if (infill) nopts--, memmove(&opts[7], &opts[8], sizeof *opts * (nopts - 7)); /* no --length for infill */
    else nopts--;                                                                  /* no --scores for sample */
    const char *pos[1] = {NULL};
    const char *cmd = infill ? "sdlm infill" : "sdlm sample";
    Err e;
    int rc = opts_parse(opts, nopts, argc, argv, pos, infill ? 1 : 0, &npos, &e);
    if (rc == 1) {
        if (infill)
            opts_usage(stdout, "sdlm infill [-ckpt FILE] [flags] TEXT",
                       "Fills the masked spans of TEXT: {N} is a span of N tokens, {} one of 8, {{ and }} are\n"
                       "literal braces; TEXT - reads standard input. Prints one filled text per candidate, best first:\n"
                       "ranked by the model's own score, the cross-entropy of the filled tokens when they are\n"
                       "noised again and denoised in one pass at t = 0.8, 0.9, 0.95, 1 (nats per filled token,\n"
                       "lower is better; --scores prints it).",
                       opts, nopts);
        else
            opts_usage(stdout, "sdlm sample [-ckpt FILE] [flags]",
                       "Draws unconditional samples, as the seed does; each is printed up to its EOS.", opts, nopts);
        return EXIT_OK;
    }
    if (rc) return fprintf(stderr, "%s: %s\n", cmd, e.msg), EXIT_USAGE;
    SamplerKind kind = SAMPLER_DIFFLM;
    if (sampler && sampler_parse(sampler, &kind))
        return fprintf(stderr, "%s: --sampler must be difflm, ddim, ddpm, unmask, reveal or mdlm, not \"%s\"\n", cmd,
                       sampler), EXIT_USAGE;
    if (infill && !npos) return fprintf(stderr, "%s: needs the TEXT to fill (try %s --help)\n", cmd, cmd), EXIT_USAGE;
    char model[1024];
    if (opts_model(cmd, ckpt, model, sizeof model)) return EXIT_USAGE;
    ckpt = model;
    if (!seed_given) seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

    char *stdin_text = NULL;
    const char *text = pos[0];
    if (infill && !strcmp(text, "-")) {
        int bad = read_stdin_template(&stdin_text, &e);
        if (bad) return fprintf(stderr, "%s: %s\n", cmd, e.msg), bad;
        text = stdin_text;
    }
    Template tmpl = {0};
    if (infill && template_parse(&tmpl, text, strlen(text), 0, &e)) {
        free(stdin_text);
        return fprintf(stderr, "%s: %s\n", cmd, e.msg), EXIT_USAGE;
    }
    if (infill && !tmpl.spans) {
        template_free(&tmpl), free(stdin_text);
        return fprintf(stderr, "%s: the text has no span to fill: mark one with {N}, e.g. \"The {3} sat.\"\n", cmd),
               EXIT_USAGE;
    }
    ModelFile mf;
    if (modelfile_open(&mf, ckpt, spm, !no_ema, &e)) {
        template_free(&tmpl), free(stdin_text);
        return fprintf(stderr, "%s: %s\n", cmd, e.msg), EXIT_USAGE;
    }
    if (sampler && !sampler_fits(kind, &mf.model.cfg)) {
        fprintf(stderr, "%s: --sampler %s does not fit this %s model: use %s\n", cmd, sampler,
                mf.model.cfg.masked ? "masked" : "continuous", sampler_choices(&mf.model.cfg));
        modelfile_close(&mf), template_free(&tmpl), free(stdin_text);
        return EXIT_USAGE;
    }
    kind = sampler_fit(kind, &mf.model.cfg);
    InfillSeq seq = {0};
    int L = length ? length : mf.crop_len;
    if (infill) {
        if (infill_build(mf.spm, &tmpl, 4096, &seq, &e)) {
            modelfile_close(&mf), template_free(&tmpl), free(stdin_text);
            return fprintf(stderr, "%s: %s\n", cmd, e.msg), EXIT_USAGE;
        }
        L = seq.len;
    }
    int B = n;
    Workspace ws = {0};
    int32_t *ids = malloc(sizeof(int32_t) * B * L), *final = malloc(sizeof(int32_t) * B * L);
    uint8_t *known = malloc((size_t)B * L);
    int *lengths = malloc(sizeof(int) * B);
    GenRun r = {&mf, infill ? &tmpl : NULL, infill ? &seq : NULL, B, L, trace, 0, NULL, NULL, NULL, now_s()};
    r.ids = malloc(sizeof(uint32_t) * (size_t)(steps + 1) * B * L);
    r.conf = malloc(sizeof(float) * (size_t)(steps + 1) * B * L);
    r.t = malloc(sizeof(float) * (steps + 1));
    float *times = malloc(sizeof(float) * (steps + 1));
    int status = EXIT_OK;
    Ngram *ng = NULL;
    NgramFusion fusion = {0};
    if (!ids || !final || !known || !lengths || !r.ids || !r.conf || !r.t || !times ||
        workspace_alloc(&ws, &mf.model.cfg, B, L, 0, &e)) {
        fprintf(stderr, "%s: out of memory for %d x %d tokens\n", cmd, B, L);
        status = EXIT_IO;
        goto out;
    }
    for (int b = 0; b < B; b++) {
        if (infill) memcpy(ids + (long)b * L, seq.ids, sizeof(int32_t) * L), memcpy(known + (long)b * L, seq.known, L);
        lengths[b] = L;
    }
    if (fuse > 0 && (status = setup_fusion(cmd, &mf, train, fuse, &ng, &fusion))) goto out;
    if (trace) printf("%s: %s, %s, %d steps, seed %llu\n", mf.path, mf.description, sampler_name(kind), steps,
                      (unsigned long long)seed);
    SampleRequest rq = sample_request_defaults(B, L, kind, steps, seed);
    if (infill) rq.ids = ids, rq.known = known, rq.lengths = lengths;
    rq.clamp = clamp;
    if (ng) rq.fuse = ngram_fuse, rq.fuse_ctx = &fusion;
    modelfile_schedule(&mf, &rq, !linear, times);
    if (diffusion_sample(&mf.model, &ws, &rq, on_step, &r, final, &e) < 0) {
        fprintf(stderr, "%s: %s\n", cmd, e.msg);
        status = EXIT_USAGE;
        goto out;
    }
    /* infill candidates best first, by the model's own score */
    float nats[MAX_CANDIDATES];
    int order[MAX_CANDIDATES];
    for (int b = 0; b < B; b++) order[b] = b, nats[b] = NAN;
    if (infill) {
        if (score_fills(&mf, final, known, lengths, B, L, nats, &e)) {
            fprintf(stderr, "%s: %s\n", cmd, e.msg);
            status = EXIT_IO;
            goto out;
        }
        score_rank(nats, B, order);
    }
    char out[8192];
    for (int i = 0; i < B; i++) {
        int b = order[i];
        render(&r, final + (long)b * L, out, sizeof out);
        if (trace && infill) printf("candidate %d (sampled as %d): %.3f nats per filled token\n", i, b, (double)nats[b]);
        if (scores) printf("%.3f\t", (double)nats[b]);
        printf("%s\n", out);
    }
    fflush(stdout);
    char normal[8192] = "";
    if (infill) template_format(&tmpl, normal, sizeof normal); /* "{}" saved as the length it had */
    if (!no_save) save_history(&r, db, normal, infill ? SAMPLE_INFILL : SAMPLE_FREE, kind, steps, seed, clamp, final, order);
out:
    if (ng) ngram_fusion_free(&fusion), ngram_free(ng);
    workspace_free(&ws);
    free(ids), free(final), free(known), free(lengths), free(r.ids), free(r.conf), free(r.t), free(times);
    infill_seq_free(&seq);
    template_free(&tmpl);
    modelfile_close(&mf);
    free(stdin_text);
    return status;
}

int cmd_infill(int argc, char **argv) { return generate(argc, argv, 1); }
int cmd_sample(int argc, char **argv) { return generate(argc, argv, 0); }
