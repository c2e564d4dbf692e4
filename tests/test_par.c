/* test_par.c: the fork-join pool (par.h) and the kernels that use it. par_for
 * must run every index exactly once, in ranges on grain bounds, whatever the
 * thread count; and every split kernel, and a whole training step, must give
 * the one-thread result bit for bit with 2 and 3 threads, on sizes that do not
 * divide by the thread count or are smaller than it (the grain is capped so
 * small test arrays split at odd places). */
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "check.h"
#include "diffusion.h"
#include "model.h"
#include "ops.h"
#include "par.h"
#include "rng.h"

static Rng rng;

static float *randn(long n, float std) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    rng_fill_normal(&rng, x, n, std);
    return x;
}

static float *copy(const float *x, long n) {
    float *y = malloc(sizeof(float) * (n ? n : 1));
    memcpy(y, x, sizeof(float) * n);
    return y;
}

/* ---- par_for itself ---- */

typedef struct {
    int *hits;
    long grain, n;
    int bad_bound, calls;
} Cover;

static void cover_fn(void *p, long b, long e) {
    Cover *c = p;
    __atomic_fetch_add(&c->calls, 1, __ATOMIC_SEQ_CST);
    if ((b % c->grain) || (e != c->n && e % c->grain) || b >= e) c->bad_bound = 1;
    for (long i = b; i < e; i++) __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_SEQ_CST);
}

static void test_cover(void) {
    const int threads[] = {1, 2, 3, 5};
    const long sizes[] = {0, 1, 2, 3, 4, 7, 16, 17, 100, 1001, 4097};
    const long grains[] = {1, 3, 16, 64};
    int ok = 1, bounds = 1, calls = 1;
    for (int t = 0; t < 4; t++) {
        par_set_threads(threads[t]);
        for (int s = 0; s < 11; s++)
            for (int g = 0; g < 4; g++) {
                long n = sizes[s];
                Cover c = {.hits = calloc(n + 1, sizeof(int)), .grain = grains[g], .n = n};
                par_for(n, grains[g], cover_fn, &c);
                for (long i = 0; i < n; i++) ok &= c.hits[i] == 1;
                bounds &= !c.bad_bound;
                /* four ranges per thread, as blocks of grain allow (one when n < 2 grain or one thread) */
                long blocks = (n + grains[g] - 1) / grains[g], most = 4L * threads[t];
                long want = n == 0 ? 0 : n < 2 * grains[g] || threads[t] == 1 ? 1 : blocks < most ? blocks : most;
                calls &= c.calls == want;
                free(c.hits);
            }
    }
    check_ok(ok, "par_for runs every index exactly once (1, 2, 3, 5 threads; n 0 .. 4097; grains 1 .. 64)");
    check_ok(bounds, "par_for ranges start and end on grain bounds (or at n)");
    check_ok(calls, "par_for splits into min(4 x threads, blocks) ranges, one below two grains");
    par_set_threads(0);
    check_ok(par_threads() >= 1, "par_threads follows OpenBLAS again after par_set_threads(0): %d", par_threads());
}

/* ---- each kernel: n threads against one ---- */

static int same(const float *a, const float *b, long n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static void test_elementwise(void) {
    const long sizes[] = {1, 2, 5, 1000, 4099};
    for (int s = 0; s < 5; s++) {
        long n = sizes[s];
        float *x = randn(n, 2.0f), *dy = randn(n, 1.0f);
        par_set_threads(1);
        float *y1 = randn(n, 1), *d1 = copy(x, n), *b1 = randn(n, 1), *m1 = copy(dy, n);
        gelu_forward(y1, x, n);
        gelu_forward_deriv(b1, d1, d1, n); /* dydx aliasing x, as the model calls it */
        float *g1 = randn(n, 1);
        gelu_backward(g1, dy, x, n);
        mul_inplace(m1, x, n);
        float *a1 = copy(x, n), *r1 = randn(n, 1), *o1 = randn(n, 1);
        add_dropout(a1, a1, dy, n, 0.0f, 0);
        add_dropout(r1, x, dy, n, 0.3f, 7);
        dropout_apply(o1, dy, n, 0.3f, 7);
        for (int t = 2; t <= 3; t++) {
            par_set_threads(t);
            float *yn = randn(n, 1), *dn = copy(x, n), *bn = randn(n, 1), *mn = copy(dy, n), *gn = copy(dy, n);
            gelu_forward(yn, x, n);
            gelu_forward_deriv(bn, dn, dn, n);
            gelu_backward(gn, gn, x, n); /* dx aliasing dy */
            mul_inplace(mn, x, n);
            float *an = copy(dy, n), *rn = copy(x, n), *on = copy(dy, n);
            add_dropout(an, x, an, n, 0.0f, 0);
            add_dropout(rn, rn, dy, n, 0.3f, 7);
            dropout_apply(on, on, n, 0.3f, 7); /* in place */
            check_ok(same(y1, yn, n) && same(b1, bn, n) && same(d1, dn, n) && same(g1, gn, n) && same(m1, mn, n) &&
                         same(a1, an, n) && same(r1, rn, n) && same(o1, on, n),
                     "gelu_forward, gelu_forward_deriv, gelu_backward, mul_inplace, add_dropout, dropout_apply: "
                     "%d threads = 1, n %ld",
                     t, n);
            free(yn), free(dn), free(bn), free(mn), free(gn), free(an), free(rn), free(on);
        }
        free(x), free(dy), free(y1), free(d1), free(b1), free(m1), free(g1), free(a1), free(r1), free(o1);
    }
}

static void test_layernorm(void) {
    const int Ns[] = {1, 2, 7, 101};
    for (int s = 0; s < 4; s++) {
        int N = Ns[s], C = 37;
        long n = (long)N * C;
        float *x = randn(n, 1.5f), *w = randn(C, 1), *b = randn(C, 1), *dy = randn(n, 1), *dx0 = randn(n, 1);
        float *y[4], *mean[4], *rstd[4], *dx[4], *dxa[4], *dw[4], *db[4];
        for (int t = 1; t <= 3; t++) {
            par_set_threads(t);
            y[t] = malloc(sizeof(float) * n), mean[t] = malloc(sizeof(float) * N), rstd[t] = malloc(sizeof(float) * N);
            dx[t] = copy(dx0, n), dxa[t] = copy(dx0, n), dw[t] = copy(w, C), db[t] = copy(b, C);
            layernorm_forward(y[t], mean[t], rstd[t], x, w, b, N, C);
            layernorm_backward(dx[t], NULL, NULL, dy, x, mean[t], rstd[t], NULL, N, C);
            layernorm_backward(dxa[t], dw[t], db[t], dy, x, mean[t], rstd[t], w, N, C);
        }
        for (int t = 2; t <= 3; t++)
            check_ok(same(y[1], y[t], n) && same(mean[1], mean[t], N) && same(rstd[1], rstd[t], N) &&
                         same(dx[1], dx[t], n) && same(dxa[1], dxa[t], n) && same(dw[1], dw[t], C) &&
                         same(db[1], db[t], C),
                     "layernorm forward and backward (with and without w): %d threads = 1, %d rows", t, N);
        for (int t = 1; t <= 3; t++) free(y[t]), free(mean[t]), free(rstd[t]), free(dx[t]), free(dxa[t]), free(dw[t]), free(db[t]);
        free(x), free(w), free(b), free(dy), free(dx0);
    }
}

static void test_film(void) {
    const int Bs[] = {1, 2, 5};
    for (int s = 0; s < 3; s++) {
        int B = Bs[s], L = 7, C = 150, G = 3 * C; /* C: two full column blocks and a part */
        long n = (long)B * L * C;
        float *xhat = randn(n, 1), *gamma = randn((long)B * G, 0.5f), *beta = randn((long)B * G, 0.5f);
        float *dy = randn(n, 1), *dg0 = randn((long)B * G, 1), *db0 = randn((long)B * G, 1);
        for (int one_plus = 0; one_plus <= 1; one_plus++) {
            float *y[4], *dx[4], *dg[4], *db[4];
            for (int t = 1; t <= 3; t++) {
                par_set_threads(t);
                y[t] = malloc(sizeof(float) * n), dx[t] = copy(dy, n);
                dg[t] = copy(dg0, (long)B * G), db[t] = copy(db0, (long)B * G);
                film_forward(y[t], xhat, gamma, beta, G, B, L, C, one_plus);
                film_backward(dx[t], dg[t], db[t], dx[t], xhat, gamma, G, B, L, C, one_plus); /* dxhat aliasing dy */
            }
            for (int t = 2; t <= 3; t++)
                check_ok(same(y[1], y[t], n) && same(dx[1], dx[t], n) && same(dg[1], dg[t], (long)B * G) &&
                             same(db[1], db[t], (long)B * G),
                         "film forward and backward%s: %d threads = 1, B %d", one_plus ? " (1+gamma)" : "", t, B);
            for (int t = 1; t <= 3; t++) free(y[t]), free(dx[t]), free(dg[t]), free(db[t]);
        }
        free(xhat), free(gamma), free(beta), free(dy), free(dg0), free(db0);
    }
}

static void test_rotary_softmax(void) {
    int B = 3, L = 11, H = 3, HD = 10, R = 8, D = H * HD, ld = 3 * D;
    long n = (long)B * L * ld;
    float *cosv = malloc(sizeof(float) * L * R / 2), *sinv = malloc(sizeof(float) * L * R / 2);
    rotary_tables(cosv, sinv, L, R);
    float *x = randn(n, 1);
    float *r[4], *s[4];
    int N = 13, C = 29;
    float *sx = randn((long)N * C, 3);
    for (int t = 1; t <= 3; t++) {
        par_set_threads(t);
        r[t] = copy(x, n);
        rotary_forward(r[t], cosv, sinv, B, L, H, HD, R, ld);
        rotary_backward(r[t] + D, cosv, sinv, B, L, H, HD, R, ld);
        s[t] = copy(sx, (long)N * C);
        softmax_rows(s[t], N, C);
    }
    for (int t = 2; t <= 3; t++) {
        check_ok(same(r[1], r[t], n), "rotary forward and backward (row stride 3D): %d threads = 1", t);
        check_ok(same(s[1], s[t], (long)N * C), "softmax_rows: %d threads = 1, %d rows", t, N);
    }
    for (int t = 1; t <= 3; t++) free(r[t]), free(s[t]);
    free(cosv), free(sinv), free(x), free(sx);
}

static void test_attention(void) {
    int B = 3, L = 21, H = 3, HD = 20, D = H * HD, ld = 3 * D; /* whole 4 x 16 tiles and remainders */
    long n = (long)B * L * ld;
    float *qkv = randn(n, 1), *dout = randn((long)B * L * D, 1), *out[4], *probs[4], *d[4];
    float *scratch = malloc(sizeof(float) * B * H * L * (L + HD));
    uint8_t lm[3 * 21];
    for (int i = 0; i < B * L; i++) lm[i] = i % L < 15 + i / L;
    for (int t = 1; t <= 3; t++) {
        par_set_threads(t);
        out[t] = malloc(sizeof(float) * B * L * D), probs[t] = malloc(sizeof(float) * B * H * L * L);
        d[t] = malloc(sizeof(float) * n);
        attention_forward(out[t], probs[t], scratch, qkv, qkv + D, qkv + 2 * D, lm, B, L, H, HD, ld);
        attention_backward(d[t], d[t] + D, d[t] + 2 * D, scratch, dout, probs[t], qkv, qkv + D, qkv + 2 * D, lm, B,
                           L, H, HD, ld);
    }
    for (int t = 2; t <= 3; t++)
        check_ok(same(out[1], out[t], (long)B * L * D) && same(probs[1], probs[t], (long)B * H * L * L) &&
                     same(d[1], d[t], n),
                 "attention forward and backward (length mask, row stride 3D): %d threads = 1", t);
    for (int t = 1; t <= 3; t++) free(out[t]), free(probs[t]), free(d[t]);
    free(qkv), free(dout), free(scratch);
}

static void test_adamw(void) {
    const long sizes[] = {1, 3, 1001};
    for (int s = 0; s < 3; s++) {
        long n = sizes[s];
        float *w0 = randn(n, 1), *g0 = randn(n, 10), *m0 = randn(n, 0.1f), *v0 = randn(n, 0.1f);
        for (long i = 0; i < n; i++) v0[i] = v0[i] * v0[i];
        float *w[4], *g[4], *m[4], *v[4];
        double norm[4];
        AdamW o = adamw_default(0.01f);
        for (int t = 1; t <= 3; t++) {
            par_set_threads(t);
            w[t] = copy(w0, n), g[t] = copy(g0, n), m[t] = copy(m0, n), v[t] = copy(v0, n);
            norm[t] = grad_clip(g[t], (size_t)n, 1.0); /* the norm is above 1: the gradient is scaled */
            adamw_step(&o, w[t], g[t], m[t], v[t], (size_t)n, 3, 1e-3f);
        }
        for (int t = 2; t <= 3; t++)
            check_ok(norm[1] == norm[t] && same(g[1], g[t], n) && same(w[1], w[t], n) && same(m[1], m[t], n) &&
                         same(v[1], v[t], n),
                     "grad_clip and adamw_step: %d threads = 1, n %ld", t, n);
        for (int t = 1; t <= 3; t++) free(w[t]), free(g[t]), free(m[t]), free(v[t]);
        free(w0), free(g0), free(m0), free(v0);
    }
}

static void test_linear_bias(void) {
    int N = 11, IN = 5, OUT = 37;
    float *x = randn((long)N * IN, 1), *w = randn((long)OUT * IN, 1), *b = randn(OUT, 1), *dy = randn((long)N * OUT, 1);
    float *y[4], *dw[4], *db[4], *dx[4];
    for (int t = 1; t <= 3; t++) {
        par_set_threads(t);
        y[t] = malloc(sizeof(float) * N * OUT), dx[t] = malloc(sizeof(float) * N * IN);
        dw[t] = copy(w, (long)OUT * IN), db[t] = copy(b, OUT);
        linear_forward(y[t], x, w, b, N, IN, OUT);
        linear_backward(dx[t], dw[t], db[t], dy, x, w, N, IN, OUT, 0);
    }
    for (int t = 2; t <= 3; t++)
        check_ok(same(y[1], y[t], (long)N * OUT) && same(db[1], db[t], OUT) && same(dw[1], dw[t], (long)OUT * IN) &&
                     same(dx[1], dx[t], (long)N * IN),
                 "linear forward (bias rows) and backward (db by columns): %d threads = 1", t);
    for (int t = 1; t <= 3; t++) free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
    free(x), free(w), free(b), free(dy);
}

/* ---- a whole training step ---- */

static void test_model_step(void) {
    Config cfg = config_default(29);
    cfg.E = 8, cfg.D = 24, cfg.NL = 2, cfg.H = 3, cfg.R = 6, cfg.F = 40, cfg.dropout = 0.1f;
    enum { B = 3, L = 7 };
    Model m;
    Workspace ws;
    Err e;
    if (model_alloc(&m, &cfg, &e) || workspace_alloc(&ws, &cfg, B, L, WS_TRAIN, &e)) {
        check_ok(0, "model step: setup: %s", e.msg);
        return;
    }
    rng_fill_normal(&rng, m.w, (long)m.table.total, 0.1f);
    size_t P = m.table.total;
    int32_t ids[B * L];
    uint8_t len_mask[B * L], cond[B * L];
    float t[B] = {0.3f, 0.7f, 0.9f}, *z = randn((long)B * L * cfg.E, 1);
    for (int i = 0; i < B * L; i++)
        ids[i] = (int32_t)rng_below(&rng, cfg.V), len_mask[i] = (i % L) < 5 + (i / L) % 3, cond[i] = i % 4 == 1;
    float *g[4];
    double loss[4];
    for (int th = 1; th <= 3; th++) {
        par_set_threads(th);
        g[th] = calloc(P, sizeof(float));
        Params gp;
        params_bind(&gp, &m.table, g[th]);
        LossInput in = {.B = B, .L = L, .ids = ids, .len_mask = len_mask, .cond = cond, .t = t, .z = z, .selfcond = 1};
        Rng r;
        rng_seed(&r, 9);
        LossStats st;
        diffusion_loss(&m, &gp, &ws, &in, 1.0f, &r, &st);
        loss[th] = st.loss;
        params_unbind(&gp);
    }
    for (int th = 2; th <= 3; th++)
        check_ok(loss[1] == loss[th] && same(g[1], g[th], (long)P),
                 "a training step (self-conditioning, dropout): loss and gradients with %d threads = 1, bit for bit",
                 th);
    for (int th = 1; th <= 3; th++) free(g[th]);
    free(z);
    workspace_free(&ws);
    model_free(&m);
}

int main(void) {
    rng_seed(&rng, 11);
    test_cover();
    par_set_grain_cap(3); /* odd range bounds, even on small arrays */
    test_elementwise();
    test_layernorm();
    test_film();
    test_rotary_softmax();
    test_attention();
    test_adamw();
    test_linear_bias();
    test_model_step();
    par_set_grain_cap(0);
    par_set_threads(0);
    return check_done();
}
