/* cmd_bench.c: `sdlm bench`: times a training step, a sampling step or the
 * machine's sgemm peak on given shapes, and prints figures (one JSON line
 * with --json) to set beside the PyTorch port's (tests/ref/bench_torch.py). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "adamw.h"
#include "commands.h"
#include "diffusion.h"
#include "model.h"
#include "ops.h" /* ops_isa */
#include "opts.h"
#include "clock.h"

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* sgemm GFLOP/s on square n x n x n, best of a few runs. */
static double sgemm_peak(int n) {
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = 1e-3f * (float)(i % 97);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = now_s() - t0;
        best = fmax(best, 2.0 * n * n * (double)n / dt / 1e9);
    }
    free(a), free(b), free(c);
    return best;
}

/* The spec's conditional mask for a sequence of n tokens: a span of
 * m ~ U{0..n-1} known tokens at a random start, shuffled half the time. */
static void bench_cond_mask(uint8_t *cond, int n, Rng *r) {
    int m = (int)rng_below(r, n), start = (int)rng_below(r, n - m + 1);
    memset(cond, 0, n);
    for (int i = start; i < start + m; i++) cond[i] = 1;
    if (rng_uniform(r) < 0.5)
        for (int i = n - 1; i > 0; i--) {
            int j = (int)rng_below(r, i + 1);
            uint8_t tmp = cond[i];
            cond[i] = cond[j], cond[j] = tmp;
        }
}

typedef struct {
    const char *what;
    int V, E, D, NL, H, R, B, L, iters, steps, json, b_seen, recompute, chunk, peak_n;
} BenchArgs;

/* Returns 0 to go on, or 1 with *status the exit status. */
static int bench_args(int argc, char **argv, BenchArgs *a, int *status) {
    *a = (BenchArgs){.what = "train", .V = 4000, .E = 64, .D = 256, .NL = 4, .H = 8, .R = 32, .B = 32, .L = 64,
                     .iters = 5, .steps = 200, .peak_n = 2048};
    const Opt opts[] = {
        {"--what", OPT_STR, &a->what, "train|sample|sgemm", "what to time (default train)", 0, 0, NULL},
        {"--V", OPT_INT, &a->V, "N", "vocabulary size (4000)", 2, 1 << 22, NULL},
        {"--E", OPT_INT, &a->E, "N", "embedding dim (64)", 1, 4096, NULL},
        {"--D", OPT_INT, &a->D, "N", "model dim (256)", 8, 16384, NULL},
        {"--layers", OPT_INT, &a->NL, "N", "encoder layers (4)", 1, 256, NULL},
        {"--heads", OPT_INT, &a->H, "N", "attention heads (8)", 1, 256, NULL},
        {"--rotary", OPT_INT, &a->R, "N", "rotary dims per head (32, capped at the head dim)", 0, 4096, NULL},
        {"--B", OPT_INT, &a->B, "N", "batch (32; sample: 1)", 1, 1 << 16, &a->b_seen},
        {"--L", OPT_INT, &a->L, "N", "tokens per sequence (64)", 1, 1 << 16, NULL},
        {"--iters", OPT_INT, &a->iters, "N", "timed training steps after one warm-up (5)", 1, 1 << 20, NULL},
        {"--steps", OPT_INT, &a->steps, "N", "sampling steps (200)", 1, 1 << 20, NULL},
        {"--recompute", OPT_FLAG, &a->recompute, NULL, "train: keep fewer activations, redo them in the backward pass",
         0, 0, NULL},
        {"--chunk", OPT_INT, &a->chunk, "N", "train: sequences per pass, gradients summed over the passes (B)", 1,
         1 << 16, NULL},
        {"--peak", OPT_INT, &a->peak_n, "N", "train: the square sgemm timed for the in-process rate (2048; 0: none)",
         0, 16384, NULL},
        {"--json", OPT_FLAG, &a->json, NULL, "print one JSON line", 0, 0, NULL},
    };
    const OptCommand c = {"sdlm bench", "sdlm bench [--what train|sample|sgemm] [shape flags] [--json]",
                          "Times the engine on random data with dropout 0, as the seed's settings, for comparison\n"
                          "with tests/ref/bench_torch.py (same flags). Uses OPENBLAS_NUM_THREADS threads.",
                          opts, sizeof opts / sizeof *opts, 0};
    const char *pos[1];
    int npos;
    if (opts_command(&c, argc, argv, pos, &npos, status)) return 1;
    if (strcmp(a->what, "train") && strcmp(a->what, "sample") && strcmp(a->what, "sgemm")) {
        *status = cli_fail(c.cmd, EXIT_USAGE, "--what must be train, sample or sgemm");
        return 1;
    }
    if (!strcmp(a->what, "sample") && !a->b_seen) a->B = 1;
    if (!a->chunk || a->chunk > a->B) a->chunk = a->B;
    return 0;
}

/* A training batch of random data as the spec draws it: ids, full lengths,
 * conditional masks, times in (0, 1), noise. */
typedef struct {
    int32_t *ids;        /* [B, L] */
    uint8_t *len_mask;   /* [B, L] */
    uint8_t *cond;       /* [B, L] */
    float *t;            /* [B] */
    float *z;            /* [B, L, E] */
} BenchBatch;

static void bench_batch_draw(BenchBatch *d, const Config *cfg, int B, int L, Rng *r) {
    const long N = (long)B * L;
    for (long i = 0; i < N; i++) d->ids[i] = 3 + (int32_t)rng_below(r, cfg->V - 3), d->len_mask[i] = 1;
    for (int b = 0; b < B; b++) bench_cond_mask(d->cond + (long)b * L, L, r);
    for (int b = 0; b < B; b++) d->t[b] = fminf(fmaxf((float)rng_uniform(r), 1e-5f), 1 - 1e-5f);
    rng_fill_normal(r, d->z, N * cfg->E, 1.0f);
}

/* One optimiser step on batch d in passes of `chunk` sequences, each weighted
 * by its share of the loss's n positions (lm_head runs on these rows only). */
static void bench_step(const BenchArgs *a, Model *m, Params *gp, float *g, float *mo, float *vo, Workspace *ws,
                       const BenchBatch *d, int selfcond, long n, int step) {
    const int B = a->B, L = a->L, E = m->cfg.E;
    const size_t P = m->table.total;
    AdamW opt = adamw_default(1e-4f);
    memset(g, 0, sizeof(float) * P);
    for (int b0 = 0; b0 < B; b0 += a->chunk) {
        int cb = B - b0 < a->chunk ? B - b0 : a->chunk;
        long off = (long)b0 * L, nc = 0;
        for (long i = off; i < off + (long)cb * L; i++) nc += d->len_mask[i] && !d->cond[i];
        LossInput in = {.B = cb, .L = L, .ids = d->ids + off, .len_mask = d->len_mask + off, .cond = d->cond + off,
                        .t = d->t + b0, .z = d->z + off * E, .selfcond = selfcond};
        LossStats st;
        diffusion_loss(m, gp, ws, &in, n ? (float)nc / (float)n : 0.0f, NULL, &st);
    }
    grad_clip(g, P, 1.0);
    adamw_step(&opt, m->w, g, mo, vo, P, step, 1e-4f);
}

/* Training steps: one untimed warm-up, then --iters timed, as bench_torch.py. */
static void bench_train(const BenchArgs *a, Model *m, Workspace *ws, const char *shape) {
    const Config *cfg = &m->cfg;
    const int B = a->B, L = a->L;
    const long N = (long)B * L;
    const size_t P = m->table.total;
    float *g = calloc(P, sizeof(float)), *mo = calloc(P, sizeof(float)), *vo = calloc(P, sizeof(float));
    BenchBatch d = {.ids = malloc(sizeof(int32_t) * N), .len_mask = malloc(N), .cond = malloc(N),
                    .t = malloc(sizeof(float) * B), .z = malloc(sizeof(float) * N * cfg->E)};
    Params gp;
    params_bind(&gp, &m->table, g);
    Rng r;
    rng_seed(&r, 2);
    double peak = a->peak_n ? sgemm_peak(a->peak_n) : 0; /* the machine's pace moments before the timed steps */
    double total_s = 0, total_flops = 0;
    for (int it = 0; it <= a->iters; it++) { /* iteration 0 is the untimed warm-up */
        bench_batch_draw(&d, cfg, B, L, &r);
        /* The coin as bench_torch.py throws it: on for the warm-up, then on for the odd
         * timed iterations (0-based), so both time the same passes. */
        int selfcond = it == 0 || (it - 1) % 2 == 1;
        long n = 0; /* the loss's positions */
        for (long i = 0; i < N; i++) n += d.len_mask[i] && !d.cond[i];
        double t0 = now_s();
        bench_step(a, m, &gp, g, mo, vo, ws, &d, selfcond, n, it + 1);
        double dt = now_s() - t0;
        if (it == 0) continue;
        total_s += dt;
        /* the main pass forward and backward; the self-conditioning pass is a forward and interp */
        total_flops += model_step_flops(cfg, B, L, (int)n, 1);
        if (selfcond) total_flops += model_step_flops(cfg, B, L, (int)n, 0) + 2.0 * n * cfg->V * cfg->E;
    }
    double ms = total_s / a->iters * 1e3, tps = N * a->iters / total_s, gflops = total_flops / total_s / 1e9;
    if (a->json)
        printf("{\"impl\":\"sdlm\",\"what\":\"train\",%s,\"recompute\":%d,\"chunk\":%d,\"iters\":%d,"
               "\"ms_per_step\":%.2f,\"tokens_per_s\":%.0f,\"gflops\":%.1f,\"sgemm_gflops\":%.1f,\"peak_rss_mb\":%.1f,"
               "\"threads\":%d}\n",
               shape, a->recompute, a->chunk, a->iters, ms, tps, gflops, peak, peak_rss_mb(),
               openblas_get_num_threads());
    else
        printf("train %s%s: %.1f ms/step, %.0f tokens/s, %.1f GFLOP/s (sgemm %.1f), peak RSS %.1f MB\n", shape,
               a->recompute ? " (recompute)" : "", ms, tps, gflops, peak, peak_rss_mb());
    params_unbind(&gp);
    free(g), free(mo), free(vo), free(d.ids), free(d.len_mask), free(d.cond), free(d.t), free(d.z);
}

/* As bench_torch.py: one untimed warm-up step, then all S reverse steps
 * timed, then the final t = 0 pass (counted in tokens_per_s only). */
static int bench_sample(const BenchArgs *a, Model *m, Workspace *ws, const char *shape, Err *e) {
    const Config *cfg = &m->cfg;
    const int B = a->B, L = a->L, steps = a->steps;
    const long N = (long)B * L;
    SampleRequest rq = sample_request_defaults(B, L, SAMPLER_DIFFLM, steps, 3);
    Sampler s;
    if (sampler_begin(&s, m, ws, &rq, e)) return -1;
    sampler_step(&s);
    sampler_end(&s);
    if (sampler_begin(&s, m, ws, &rq, e)) return -1;
    double t0 = now_s();
    for (int i = 0; i < steps; i++) sampler_step(&s);
    double t1 = now_s();
    sampler_step(&s); /* the final pass */
    double t2 = now_s();
    sampler_end(&s);
    double ms = (t1 - t0) / steps * 1e3, tps = N / (t2 - t0);
    double gflops = (model_step_flops(cfg, B, L, (int)N, 0) + 2.0 * N * cfg->V * cfg->E) * steps / (t1 - t0) / 1e9;
    if (a->json)
        printf("{\"impl\":\"sdlm\",\"what\":\"sample\",%s,\"steps\":%d,\"ms_per_step\":%.3f,\"tokens_per_s\":%.2f,"
               "\"gflops\":%.1f,\"peak_rss_mb\":%.1f,\"threads\":%d}\n",
               shape, steps, ms, tps, gflops, peak_rss_mb(), openblas_get_num_threads());
    else
        printf("sample %s: %.3f ms/step (%d steps), %.2f tokens/s, %.1f GFLOP/s, peak RSS %.1f MB\n", shape, ms,
               steps, tps, gflops, peak_rss_mb());
    return 0;
}

/* The model of the given shape, dropout 0, random weights (seed 1), and a
 * workspace for one training pass of `chunk` sequences or for sampling B. */
static int bench_model(const BenchArgs *a, int train, Model *m, Workspace *ws, Err *e) {
    Config cfg = config_default(a->V);
    cfg.E = a->E, cfg.D = a->D, cfg.NL = a->NL, cfg.H = a->H, cfg.F = 4 * a->D, cfg.dropout = 0;
    cfg.R = a->R > a->D / a->H ? a->D / a->H : a->R;
    cfg.R -= cfg.R % 2;
    if (model_alloc(m, &cfg, e)) return -1;
    int kind = !train ? WS_SAMPLE : a->recompute ? WS_TRAIN_RECOMPUTE : WS_TRAIN;
    if (workspace_alloc(ws, &cfg, train ? a->chunk : a->B, a->L, kind, e)) return model_free(m), -1;
    params_init(&m->table, m->w, 1);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    BenchArgs a;
    int status;
    if (bench_args(argc, argv, &a, &status)) return status;
    if (!strcmp(a.what, "sgemm")) {
        double peak = sgemm_peak(2048);
        if (a.json) printf("{\"impl\":\"sdlm\",\"what\":\"sgemm\",\"n\":2048,\"gflops\":%.1f}\n", peak);
        else printf("sgemm 2048^3: %.1f GFLOP/s\n", peak);
        return EXIT_OK;
    }
    int train = !strcmp(a.what, "train");
    Model m;
    Workspace ws;
    Err e;
    if (bench_model(&a, train, &m, &ws, &e)) return cli_fail("sdlm bench", EXIT_USAGE, "%s", e.msg);
    char shape[224];
    snprintf(shape, sizeof shape,
             "\"V\":%d,\"E\":%d,\"D\":%d,\"layers\":%d,\"B\":%d,\"L\":%d,\"params\":%zu,\"blas_core\":\"%s\","
             "\"isa\":\"%s\"",
             a.V, a.E, a.D, a.NL, a.B, a.L, m.table.total, openblas_get_corename(), ops_isa());
    status = EXIT_OK;
    if (train) bench_train(&a, &m, &ws, shape);
    else if (bench_sample(&a, &m, &ws, shape, &e)) status = cli_fail("sdlm bench", EXIT_USAGE, "%s", e.msg);
    workspace_free(&ws);
    model_free(&m);
    return status;
}
