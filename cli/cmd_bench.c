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

int cmd_bench(int argc, char **argv) {
    const char *what = "train";
    int V = 4000, E = 64, D = 256, NL = 4, H = 8, R = 32, B = 32, L = 64, iters = 5, steps = 200, json = 0, b_seen = 0,
        recompute = 0, chunk = 0, peak_n = 2048;
    Opt opts[] = {
        {"--what", OPT_STR, &what, "train|sample|sgemm", "what to time (default train)", 0, 0, NULL},
        {"--V", OPT_INT, &V, "N", "vocabulary size (4000)", 2, 1 << 22, NULL},
        {"--E", OPT_INT, &E, "N", "embedding dim (64)", 1, 4096, NULL},
        {"--D", OPT_INT, &D, "N", "model dim (256)", 8, 16384, NULL},
        {"--layers", OPT_INT, &NL, "N", "encoder layers (4)", 1, 256, NULL},
        {"--heads", OPT_INT, &H, "N", "attention heads (8)", 1, 256, NULL},
        {"--rotary", OPT_INT, &R, "N", "rotary dims per head (32, capped at the head dim)", 0, 4096, NULL},
        {"--B", OPT_INT, &B, "N", "batch (32; sample: 1)", 1, 1 << 16, &b_seen},
        {"--L", OPT_INT, &L, "N", "tokens per sequence (64)", 1, 1 << 16, NULL},
        {"--iters", OPT_INT, &iters, "N", "timed training steps after one warm-up (5)", 1, 1 << 20, NULL},
        {"--steps", OPT_INT, &steps, "N", "sampling steps (200)", 1, 1 << 20, NULL},
        {"--recompute", OPT_FLAG, &recompute, NULL, "train: keep fewer activations, redo them in the backward pass", 0, 0, NULL},
        {"--chunk", OPT_INT, &chunk, "N", "train: sequences per pass, gradients summed over the passes (B)", 1, 1 << 16, NULL},
        {"--peak", OPT_INT, &peak_n, "N", "train: the square sgemm timed for the in-process rate (2048; 0: none)", 0, 16384, NULL},
        {"--json", OPT_FLAG, &json, NULL, "print one JSON line", 0, 0, NULL},
    };
    int nopts = sizeof opts / sizeof *opts, npos;
    const char *pos[1];
    Err e;
    int rc = opts_parse(opts, nopts, argc, argv, pos, 0, &npos, &e);
    if (rc == 1) {
        opts_usage(stdout, "sdlm bench [--what train|sample|sgemm] [shape flags] [--json]",
                   "Times the engine on random data with dropout 0, as the seed's settings, for comparison\n"
                   "with tests/ref/bench_torch.py (same flags). Uses OPENBLAS_NUM_THREADS threads.",
                   opts, nopts);
        return EXIT_OK;
    }
    if (rc) return fprintf(stderr, "sdlm bench: %s\n", e.msg), EXIT_USAGE;
    int is_train = !strcmp(what, "train"), is_sample = !strcmp(what, "sample");
    if (!strcmp(what, "sgemm")) {
        double peak = sgemm_peak(2048);
        if (json) printf("{\"impl\":\"sdlm\",\"what\":\"sgemm\",\"n\":2048,\"gflops\":%.1f}\n", peak);
        else printf("sgemm 2048^3: %.1f GFLOP/s\n", peak);
        return EXIT_OK;
    }
    if (!is_train && !is_sample) return fprintf(stderr, "sdlm bench: --what must be train, sample or sgemm\n"), EXIT_USAGE;
    if (is_sample && !b_seen) B = 1;
    if (!chunk || chunk > B) chunk = B;

    Config cfg = config_default(V);
    cfg.E = E, cfg.D = D, cfg.NL = NL, cfg.H = H, cfg.F = 4 * D, cfg.dropout = 0;
    cfg.R = R > D / H ? D / H : R;
    cfg.R -= cfg.R % 2;
    Model m;
    Workspace ws;
    if (model_alloc(&m, &cfg, &e) || workspace_alloc(&ws, &cfg, is_train ? chunk : B, L, !is_train ? WS_SAMPLE : recompute ? WS_TRAIN_RECOMPUTE : WS_TRAIN, &e))
        return fprintf(stderr, "sdlm bench: %s\n", e.msg), EXIT_USAGE;
    params_init(&m.table, m.w, 1);
    Rng r;
    rng_seed(&r, 2);
    const long N = (long)B * L;
    char shape[224];
    snprintf(shape, sizeof shape,
             "\"V\":%d,\"E\":%d,\"D\":%d,\"layers\":%d,\"B\":%d,\"L\":%d,\"params\":%zu,\"blas_core\":\"%s\","
             "\"isa\":\"%s\"",
             V, E, D, NL, B, L, m.table.total, openblas_get_corename(), ops_isa());

    if (is_train) {
        size_t P = m.table.total;
        float *g = calloc(P, sizeof(float)), *mo = calloc(P, sizeof(float)), *vo = calloc(P, sizeof(float));
        int32_t *ids = malloc(sizeof(int32_t) * N);
        uint8_t *len_mask = malloc(N), *cond = malloc(N);
        float *t = malloc(sizeof(float) * B), *z = malloc(sizeof(float) * N * E);
        Params gp;
        params_bind(&gp, &m.table, g);
        AdamW opt = adamw_default(1e-4f);
        double peak = peak_n ? sgemm_peak(peak_n) : 0; /* the machine's pace moments before the timed steps */
        double total_s = 0, total_flops = 0;
        for (int it = 0; it <= iters; it++) { /* iteration 0 is the untimed warm-up */
            for (long i = 0; i < N; i++) ids[i] = 3 + (int32_t)rng_below(&r, V - 3), len_mask[i] = 1;
            for (int b = 0; b < B; b++) bench_cond_mask(cond + (long)b * L, L, &r);
            for (int b = 0; b < B; b++) t[b] = fminf(fmaxf((float)rng_uniform(&r), 1e-5f), 1 - 1e-5f);
            rng_fill_normal(&r, z, N * E, 1.0f);
            /* The coin as bench_torch.py throws it: on for the warm-up, then on for the odd
             * timed iterations (0-based), so both time the same passes. */
            int selfcond = it == 0 || (it - 1) % 2 == 1;
            long n = 0; /* the loss's positions: lm_head runs on these rows only */
            for (long i = 0; i < N; i++) n += len_mask[i] && !cond[i];
            double t0 = now_s();
            memset(g, 0, sizeof(float) * P);
            for (int b0 = 0; b0 < B; b0 += chunk) { /* each pass weighted by its share of the targets */
                int cb = B - b0 < chunk ? B - b0 : chunk;
                long off = (long)b0 * L, nc = 0;
                for (long i = off; i < off + (long)cb * L; i++) nc += len_mask[i] && !cond[i];
                LossInput in = {.B = cb, .L = L, .ids = ids + off, .len_mask = len_mask + off, .cond = cond + off,
                                .t = t + b0, .z = z + off * E, .selfcond = selfcond};
                LossStats st;
                diffusion_loss(&m, &gp, &ws, &in, n ? (float)nc / (float)n : 0.0f, NULL, &st);
            }
            grad_clip(g, P, 1.0);
            adamw_step(&opt, m.w, g, mo, vo, P, it + 1, 1e-4f);
            double dt = now_s() - t0;
            if (it > 0) {
                total_s += dt;
                /* the main pass forward and backward; the self-conditioning pass is a forward and interp */
                total_flops += model_step_flops(&cfg, B, L, (int)n, 1);
                if (selfcond) total_flops += model_step_flops(&cfg, B, L, (int)n, 0) + 2.0 * n * V * E;
            }
        }
        double ms = total_s / iters * 1e3, tps = N * iters / total_s, gflops = total_flops / total_s / 1e9;
        if (json)
            printf("{\"impl\":\"sdlm\",\"what\":\"train\",%s,\"recompute\":%d,\"chunk\":%d,\"iters\":%d,\"ms_per_step\":%.2f,"
                   "\"tokens_per_s\":%.0f,\"gflops\":%.1f,\"sgemm_gflops\":%.1f,\"peak_rss_mb\":%.1f,\"threads\":%d}\n",
                   shape, recompute, chunk, iters, ms, tps, gflops, peak, peak_rss_mb(), openblas_get_num_threads());
        else
            printf("train %s%s: %.1f ms/step, %.0f tokens/s, %.1f GFLOP/s (sgemm %.1f), peak RSS %.1f MB\n", shape,
                   recompute ? " (recompute)" : "", ms, tps, gflops, peak, peak_rss_mb());
        params_unbind(&gp);
        free(g), free(mo), free(vo), free(ids), free(len_mask), free(cond), free(t), free(z);
    } else {
        SampleRequest rq = sample_request_defaults(B, L, SAMPLER_DIFFLM, steps, 3);
        Sampler s;
        /* as bench_torch.py: one untimed warm-up step, then all S reverse steps timed, then the
         * final t = 0 pass (counted in tokens_per_s only) */
        if (sampler_begin(&s, &m, &ws, &rq, &e)) return fprintf(stderr, "sdlm bench: %s\n", e.msg), EXIT_USAGE;
        sampler_step(&s);
        sampler_end(&s);
        if (sampler_begin(&s, &m, &ws, &rq, &e)) return fprintf(stderr, "sdlm bench: %s\n", e.msg), EXIT_USAGE;
        double t0 = now_s();
        for (int i = 0; i < steps; i++) sampler_step(&s);
        double t1 = now_s();
        sampler_step(&s); /* the final pass */
        double t2 = now_s();
        sampler_end(&s);
        double ms = (t1 - t0) / steps * 1e3, tps = N / (t2 - t0);
        double gflops = (model_step_flops(&cfg, B, L, (int)N, 0) + 2.0 * N * V * E) * steps / (t1 - t0) / 1e9;
        if (json)
            printf("{\"impl\":\"sdlm\",\"what\":\"sample\",%s,\"steps\":%d,\"ms_per_step\":%.3f,\"tokens_per_s\":%.2f,"
                   "\"gflops\":%.1f,\"peak_rss_mb\":%.1f,\"threads\":%d}\n",
                   shape, steps, ms, tps, gflops, peak_rss_mb(), openblas_get_num_threads());
        else
            printf("sample %s: %.3f ms/step (%d steps), %.2f tokens/s, %.1f GFLOP/s, peak RSS %.1f MB\n", shape, ms,
                   steps, tps, gflops, peak_rss_mb());
    }
    workspace_free(&ws);
    model_free(&m);
    return EXIT_OK;
}
