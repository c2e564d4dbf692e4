/* test_ops.c: every op against a plain-loop twin (in double, from the spec's
 * formulas) and every backward against central finite differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops.h"
#include "par.h"
#include "rng.h"

static Rng rng;

static float *randn(long n, float std) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    rng_fill_normal(&rng, x, n, std);
    return x;
}

static float *zeros(long n) { return calloc(n ? n : 1, sizeof(float)); }

static double dot(const float *a, const float *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- plain-loop twins ---- */

static void ref_linear(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT) {
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OUT; o++) {
            double s = b ? b[o] : 0;
            for (int k = 0; k < IN; k++) s += (double)x[i * IN + k] * w[o * IN + k];
            y[i * OUT + o] = (float)s;
        }
}

static void ref_attention(float *out, const float *q, const float *k, const float *v, const uint8_t *lm, int B, int L,
                          int H, int HD) {
    int D = H * HD;
    double *s = malloc(sizeof(double) * L);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < L; i++) {
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < L; j++) {
                    double d = 0;
                    for (int c = 0; c < HD; c++)
                        d += (double)q[(b * L + i) * D + h * HD + c] * k[(b * L + j) * D + h * HD + c];
                    s[j] = d / sqrt((double)HD);
                    if (lm && !(lm[b * L + i] && lm[b * L + j])) s[j] = -1e9;
                    if (s[j] > mx) mx = s[j];
                }
                for (int j = 0; j < L; j++) sum += (s[j] = exp(s[j] - mx));
                for (int c = 0; c < HD; c++) {
                    double o = 0;
                    for (int j = 0; j < L; j++) o += s[j] / sum * v[(b * L + j) * D + h * HD + c];
                    out[(b * L + i) * D + h * HD + c] = (float)o;
                }
            }
    free(s);
}

static void ref_rotary(float *x, int B, int L, int H, int HD, int R) {
    for (int b = 0; b < B; b++)
        for (int p = 0; p < L; p++)
            for (int h = 0; h < H; h++)
                for (int j = 0; j < R / 2; j++) {
                    double a = p * pow(10000.0, -2.0 * j / R);
                    float *u = x + (b * L + p) * H * HD + h * HD + 2 * j;
                    double u0 = u[0], u1 = u[1];
                    u[0] = (float)(u0 * cos(a) - u1 * sin(a));
                    u[1] = (float)(u1 * cos(a) + u0 * sin(a));
                }
}

/* ---- finite differences ---- */

/* Checks an analytic gradient ga[n] of f at x[n] by central differences on
 * every element (or a sample of 64 for big n). f reads x. */
typedef double (*Fn)(void *ctx);
static void check_fd(const char *name, float *x, const float *ga, long n, Fn f, void *ctx, double tol) {
    double worst = 0, scale = 1e-12;
    long worst_i = -1;
    for (long i = 0; i < n; i++) scale = fmax(scale, fabs(ga[i]));
    long count = n < 64 ? n : 64;
    for (long s = 0; s < count; s++) {
        long i = n < 64 ? s : (long)rng_below(&rng, n);
        float keep = x[i];
        float h = 1e-2f * fmaxf(1.0f, fabsf(keep));
        x[i] = keep + h;
        double fp = f(ctx);
        x[i] = keep - h;
        double fm = f(ctx);
        x[i] = keep;
        double fd = (fp - fm) / (2 * (double)h);
        double err = fabs(fd - ga[i]) / scale;
        if (err > worst) worst = err, worst_i = i;
    }
    check_ok(worst <= tol, "%s: finite differences (worst rel err %.2e at %ld, tol %.0e)", name, worst, worst_i, tol);
}

/* Each op's scalar test loss is sum(y * wy) with fixed random wy. */
typedef struct {
    float *x, *w, *b, *y, *wy;
    int N, IN, OUT;
} LinCtx;
static double lin_f(void *c) {
    LinCtx *l = c;
    linear_forward(l->y, l->x, l->w, l->b, l->N, l->IN, l->OUT);
    return dot(l->y, l->wy, (long)l->N * l->OUT);
}

static void test_linear(void) {
    int N = 7, IN = 13, OUT = 5;
    LinCtx c = {randn(N * IN, 1), randn(OUT * IN, 1), randn(OUT, 1), zeros(N * OUT), randn(N * OUT, 1), N, IN, OUT};
    float *want = zeros(N * OUT);
    ref_linear(want, c.x, c.w, c.b, N, IN, OUT);
    lin_f(&c);
    check_close("linear_forward vs loops", c.y, want, N * OUT, 1e-5, 1e-5);
    float *dx = zeros(N * IN), *dw = zeros(OUT * IN), *db = zeros(OUT);
    linear_backward(dx, dw, db, c.wy, c.x, c.w, N, IN, OUT, 0);
    check_fd("linear dx", c.x, dx, N * IN, lin_f, &c, 1e-3);
    check_fd("linear dw", c.w, dw, OUT * IN, lin_f, &c, 1e-3);
    check_fd("linear db", c.b, db, OUT, lin_f, &c, 1e-3);
    /* accumulate flag adds onto what is there */
    float *dx2 = zeros(N * IN);
    for (int i = 0; i < N * IN; i++) dx2[i] = 1.0f;
    linear_backward(dx2, NULL, NULL, c.wy, c.x, c.w, N, IN, OUT, 1);
    for (int i = 0; i < N * IN; i++) dx2[i] -= 1.0f;
    check_close("linear dx accumulates", dx2, dx, N * IN, 1e-5, 1e-5);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.wy), free(want), free(dx), free(dw), free(db), free(dx2);
}

typedef struct {
    float *x, *y, *wy;
    long n;
} GeluCtx;
static double gelu_f(void *c) {
    GeluCtx *g = c;
    gelu_forward(g->y, g->x, g->n);
    return dot(g->y, g->wy, g->n);
}

static void test_gelu_exp_erf(void) {
    long n = 2001;
    GeluCtx c = {zeros(n), zeros(n), randn(n, 1), n};
    for (long i = 0; i < n; i++) c.x[i] = -10.0f + 20.0f * i / (n - 1);
    float *want = zeros(n);
    for (long i = 0; i < n; i++) want[i] = (float)(0.5 * c.x[i] * (1 + erf(c.x[i] / sqrt(2.0))));
    gelu_f(&c);
    check_close("gelu_forward vs erf", c.y, want, n, 2e-7, 4e-7);
    float *dx = zeros(n);
    gelu_backward(dx, c.wy, c.x, n);
    float *wantd = zeros(n);
    for (long i = 0; i < n; i++) {
        double v = c.x[i];
        wantd[i] = (float)(c.wy[i] * (0.5 * (1 + erf(v / sqrt(2.0))) + v * exp(-0.5 * v * v) / sqrt(2 * M_PI)));
    }
    check_close("gelu_backward vs formula", dx, wantd, n, 1e-6, 1e-6);
    /* the fused pass: GELU and its derivative, the derivative written over x */
    float *y2 = zeros(n), *x2 = zeros(n);
    memcpy(x2, c.x, sizeof(float) * n);
    gelu_forward_deriv(y2, x2, x2, n);
    check_close("gelu_forward_deriv: the value", y2, want, n, 2e-7, 4e-7);
    mul_inplace(x2, c.wy, n);
    check_close("gelu_forward_deriv: the derivative (times dy)", x2, wantd, n, 1e-6, 1e-6);
    free(y2), free(x2);
    float *e = zeros(n), *we = zeros(n);
    for (long i = 0; i < n; i++) {
        float x = -87.0f + 175.0f * i / (n - 1);
        e[i] = fast_expf(x);
        we[i] = (float)exp(x);
    }
    check_close("fast_expf vs exp over [-87, 88]", e, we, n, 0, 3e-7);
    check_ok(fast_expf(-1e9f) == 0.0f && fast_expf(-100.0f) == 0.0f, "fast_expf of a masked score is exactly 0");
    for (long i = 0; i < n; i++) {
        float x = -6.0f + 12.0f * i / (n - 1);
        e[i] = fast_erff(x);
        we[i] = (float)erf(x);
    }
    check_close("fast_erff vs erf", e, we, n, 2.5e-7, 0);
    free(c.x), free(c.y), free(c.wy), free(want), free(dx), free(wantd), free(e), free(we);
}

typedef struct {
    float *x, *w, *b, *y, *wy;
    int N, C;
} LnCtx;
static double ln_f(void *c) {
    LnCtx *l = c;
    layernorm_forward(l->y, NULL, NULL, l->x, l->w, l->b, l->N, l->C);
    return dot(l->y, l->wy, (long)l->N * l->C);
}

static void test_layernorm(void) {
    int N = 5, C = 16;
    LnCtx c = {randn(N * C, 2), randn(C, 1), randn(C, 1), zeros(N * C), randn(N * C, 1), N, C};
    for (int i = 0; i < N * C; i++) c.x[i] += 3.0f; /* a mean far from 0 */
    float *want = zeros(N * C), *mean = zeros(N), *rstd = zeros(N);
    for (int i = 0; i < N; i++) {
        double m = 0, v = 0;
        for (int k = 0; k < C; k++) m += c.x[i * C + k];
        m /= C;
        for (int k = 0; k < C; k++) v += (c.x[i * C + k] - m) * (c.x[i * C + k] - m);
        v /= C;
        for (int k = 0; k < C; k++) want[i * C + k] = (float)((c.x[i * C + k] - m) / sqrt(v + 1e-5) * c.w[k] + c.b[k]);
    }
    layernorm_forward(c.y, mean, rstd, c.x, c.w, c.b, N, C);
    check_close("layernorm_forward vs loops", c.y, want, N * C, 1e-5, 1e-5);
    float *dx = zeros(N * C), *dw = zeros(C), *db = zeros(C);
    layernorm_backward(dx, dw, db, c.wy, c.x, mean, rstd, c.w, N, C);
    check_fd("layernorm dx", c.x, dx, N * C, ln_f, &c, 2e-3);
    check_fd("layernorm dw", c.w, dw, C, ln_f, &c, 2e-3);
    check_fd("layernorm db", c.b, db, C, ln_f, &c, 2e-3);
    /* without affine */
    float *w = c.w, *b = c.b;
    c.w = c.b = NULL;
    memset(dx, 0, sizeof(float) * N * C);
    layernorm_forward(c.y, mean, rstd, c.x, NULL, NULL, N, C);
    layernorm_backward(dx, NULL, NULL, c.wy, c.x, mean, rstd, NULL, N, C);
    check_fd("layernorm (no affine) dx", c.x, dx, N * C, ln_f, &c, 2e-3);
    free(c.x), free(w), free(b), free(c.y), free(c.wy), free(want), free(mean), free(rstd), free(dx), free(dw), free(db);
}

typedef struct {
    float *xhat, *gamma, *beta, *y, *wy;
    int B, L, C, G, one_plus;
} FilmCtx;
static double film_f(void *c) {
    FilmCtx *f = c;
    film_forward(f->y, f->xhat, f->gamma, f->beta, f->G, f->B, f->L, f->C, f->one_plus);
    return dot(f->y, f->wy, (long)f->B * f->L * f->C);
}

static void test_film(void) {
    for (int one_plus = 0; one_plus <= 1; one_plus++) {
        int B = 3, L = 4, C = 6, G = 20;
        FilmCtx c = {randn(B * L * C, 1), randn(B * G, 1), randn(B * G, 1), zeros(B * L * C), randn(B * L * C, 1),
                     B, L, C, G, one_plus};
        float *want = zeros(B * L * C);
        for (int b = 0; b < B; b++)
            for (int l = 0; l < L; l++)
                for (int k = 0; k < C; k++) {
                    int i = (b * L + l) * C + k;
                    want[i] = (one_plus + c.gamma[b * G + k]) * c.xhat[i] + c.beta[b * G + k];
                }
        film_f(&c);
        check_close(one_plus ? "film (1+gamma) vs loops" : "film vs loops", c.y, want, B * L * C, 1e-6, 1e-6);
        float *dx = zeros(B * L * C), *dg = zeros(B * G), *dbe = zeros(B * G);
        film_backward(dx, dg, dbe, c.wy, c.xhat, c.gamma, G, B, L, C, one_plus);
        check_fd("film dxhat", c.xhat, dx, B * L * C, film_f, &c, 1e-3);
        check_fd("film dgamma", c.gamma, dg, B * G, film_f, &c, 1e-3);
        check_fd("film dbeta", c.beta, dbe, B * G, film_f, &c, 1e-3);
        free(c.xhat), free(c.gamma), free(c.beta), free(c.y), free(c.wy), free(want), free(dx), free(dg), free(dbe);
    }
}

typedef struct {
    float *x, *y, *wy, *cosv, *sinv;
    int B, L, H, HD, R;
} RotCtx;
static double rot_f(void *c) {
    RotCtx *r = c;
    long n = (long)r->B * r->L * r->H * r->HD;
    memcpy(r->y, r->x, sizeof(float) * n);
    rotary_forward(r->y, r->cosv, r->sinv, r->B, r->L, r->H, r->HD, r->R, r->H * r->HD);
    return dot(r->y, r->wy, n);
}

static void test_rotary(void) {
    int B = 2, L = 9, H = 3, HD = 8;
    for (int R = 2; R <= HD; R += 6) { /* R smaller than the head and R equal to it */
        long n = (long)B * L * H * HD;
        RotCtx c = {randn(n, 1), zeros(n), randn(n, 1), zeros(L * R / 2), zeros(L * R / 2), B, L, H, HD, R};
        rotary_tables(c.cosv, c.sinv, L, R);
        float *want = zeros(n);
        memcpy(want, c.x, sizeof(float) * n);
        ref_rotary(want, B, L, H, HD, R);
        rot_f(&c);
        check_close(R < HD ? "rotary (R < head dim) vs formula" : "rotary (R = head dim) vs formula", c.y, want, n,
                    1e-5, 1e-5);
        float *dx = zeros(n);
        memcpy(dx, c.wy, sizeof(float) * n);
        rotary_backward(dx, c.cosv, c.sinv, B, L, H, HD, R, H * HD);
        check_fd("rotary backward", c.x, dx, n, rot_f, &c, 1e-3);
        free(c.x), free(c.y), free(c.wy), free(c.cosv), free(c.sinv), free(want), free(dx);
    }
}

typedef struct {
    float *q, *k, *v, *out, *probs, *scratch, *wy;
    uint8_t *lm;
    int B, L, H, HD;
} AttCtx;
static double att_f(void *c) {
    AttCtx *a = c;
    attention_forward(a->out, a->probs, a->scratch, a->q, a->k, a->v, a->lm, a->B, a->L, a->H, a->HD, a->H * a->HD);
    return dot(a->out, a->wy, (long)a->B * a->L * a->H * a->HD);
}

/* Shapes for the products' 4 x 16 tiles: none whole (L 6, HD 4), whole ones
 * and every remainder (L 37, HD 20), whole ones alone (L 16, HD 16). */
static void test_attention(void) {
    const int shapes[][4] = {{2, 6, 2, 4}, {1, 37, 2, 20}, {2, 16, 1, 16}}; /* B, L, H, HD */
    for (int sh = 0; sh < 3; sh++) {
        int B = shapes[sh][0], L = shapes[sh][1], H = shapes[sh][2], HD = shapes[sh][3];
        long n = (long)B * L * H * HD;
        uint8_t *lm = malloc((size_t)B * L);
        for (int i = 0; i < B * L; i++) lm[i] = i % L < L - 2 - i / L; /* the last 2 (then 3) positions padded */
        for (int masked = 0; masked <= 1; masked++) {
            AttCtx c = {randn(n, 1), randn(n, 1), randn(n, 1), zeros(n), zeros((long)B * H * L * L), zeros(n),
                        randn(n, 1), masked ? lm : NULL, B, L, H, HD};
            float *want = zeros(n);
            ref_attention(want, c.q, c.k, c.v, c.lm, B, L, H, HD);
            att_f(&c);
            check_close(masked ? "attention (length mask) vs loops" : "attention vs loops", c.out, want, n, 1e-5,
                        1e-5);
            float *dq = zeros(n), *dk = zeros(n), *dv = zeros(n), *scratch = zeros((long)PAR_MAX_THREADS * L * (L + HD));
            attention_backward(dq, dk, dv, scratch, c.wy, c.probs, c.q, c.k, c.v, c.lm, B, L, H, HD, H * HD);
            check_fd("attention dq", c.q, dq, n, att_f, &c, 2e-3);
            check_fd("attention dk", c.k, dk, n, att_f, &c, 2e-3);
            check_fd("attention dv", c.v, dv, n, att_f, &c, 2e-3);
            free(c.q), free(c.k), free(c.v), free(c.out), free(c.probs), free(c.scratch), free(c.wy), free(want);
            free(dq), free(dk), free(dv), free(scratch);
        }
        free(lm);
    }
}

/* The model keeps q, k, v as the thirds of one [N, 3D] block: rotary and
 * attention on that layout (row stride 3D) must equal the contiguous case. */
static void test_strided_qkv(void) {
    int B = 2, L = 5, H = 2, HD = 6, R = 4, D = H * HD, N = B * L;
    uint8_t lm[10] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
    float *q = randn(N * D, 1), *k = randn(N * D, 1), *v = randn(N * D, 1), *dout = randn(N * D, 1);
    float *qkv = zeros(3L * N * D), *cosv = zeros(L * R / 2), *sinv = zeros(L * R / 2);
    rotary_tables(cosv, sinv, L, R);
    for (int i = 0; i < N; i++) {
        memcpy(qkv + 3L * i * D, q + (long)i * D, sizeof(float) * D);
        memcpy(qkv + 3L * i * D + D, k + (long)i * D, sizeof(float) * D);
        memcpy(qkv + 3L * i * D + 2 * D, v + (long)i * D, sizeof(float) * D);
    }
    rotary_forward(q, cosv, sinv, B, L, H, HD, R, D);
    rotary_forward(k, cosv, sinv, B, L, H, HD, R, D);
    rotary_forward(qkv, cosv, sinv, B, L, H, HD, R, 3 * D);
    rotary_forward(qkv + D, cosv, sinv, B, L, H, HD, R, 3 * D);
    float *out = zeros(N * D), *out3 = zeros(N * D), *P = zeros(B * H * L * L), *P3 = zeros(B * H * L * L);
    float *sc = zeros((long)B * H * L * (L + HD));
    attention_forward(out, P, sc, q, k, v, lm, B, L, H, HD, D);
    attention_forward(out3, P3, sc, qkv, qkv + D, qkv + 2 * D, lm, B, L, H, HD, 3 * D);
    check_close("attention with row stride 3D = contiguous", out3, out, N * D, 0, 0);
    float *dq = zeros(N * D), *dk = zeros(N * D), *dv = zeros(N * D), *d3 = zeros(3L * N * D);
    attention_backward(dq, dk, dv, sc, dout, P, q, k, v, lm, B, L, H, HD, D);
    attention_backward(d3, d3 + D, d3 + 2 * D, sc, dout, P3, qkv, qkv + D, qkv + 2 * D, lm, B, L, H, HD, 3 * D);
    rotary_backward(dq, cosv, sinv, B, L, H, HD, R, D);
    rotary_backward(d3, cosv, sinv, B, L, H, HD, R, 3 * D);
    float *dq3 = zeros(N * D), *dk3 = zeros(N * D), *dv3 = zeros(N * D);
    for (int i = 0; i < N; i++) {
        memcpy(dq3 + (long)i * D, d3 + 3L * i * D, sizeof(float) * D);
        memcpy(dk3 + (long)i * D, d3 + 3L * i * D + D, sizeof(float) * D);
        memcpy(dv3 + (long)i * D, d3 + 3L * i * D + 2 * D, sizeof(float) * D);
    }
    check_close("attention backward with row stride 3D: dq (after rotary)", dq3, dq, N * D, 0, 0);
    check_close("attention backward with row stride 3D: dk", dk3, dk, N * D, 0, 0);
    check_close("attention backward with row stride 3D: dv", dv3, dv, N * D, 0, 0);
    free(q), free(k), free(v), free(dout), free(qkv), free(cosv), free(sinv), free(out), free(out3), free(P), free(P3);
    free(dq), free(dk), free(dv), free(d3), free(sc), free(dq3), free(dk3), free(dv3);
}

/* Dropout against its definition: a kept element is scaled by 1/(1-p), the mask is the same out of place
 * and in place, and add_dropout is dropout_apply then a sum. */
static void test_dropout(void) {
    long n = 5000;
    float p = 0.3f, *x = randn(n, 1), *y = zeros(n), *z = zeros(n), *a = randn(n, 1), *s = zeros(n);
    dropout_apply(y, x, n, p, 42);
    memcpy(z, x, sizeof(float) * n);
    dropout_apply(z, z, n, p, 42);
    long kept = 0, bad = 0;
    for (long i = 0; i < n; i++) {
        kept += y[i] != 0;
        bad += y[i] != 0 && y[i] != x[i] * (1.0f / (1.0f - p));
    }
    check_ok(!bad && memcmp(y, z, sizeof(float) * n) == 0 && fabs((double)kept / n - (1 - p)) < 0.03,
             "dropout_apply: kept %.3f (want %.2f), kept ones scaled by 1/(1-p) (%ld wrong), in place = out of place",
             (double)kept / n, 1 - p, bad);
    add_dropout(s, a, x, n, p, 42);
    for (long i = 0; i < n; i++) z[i] = a[i] + y[i];
    check_close("add_dropout = a + dropout_apply(b), bit for bit", s, z, n, 0, 0);
    add_dropout(s, a, x, n, 0, 42);
    for (long i = 0; i < n; i++) z[i] = a[i] + x[i];
    check_close("add_dropout with p 0 = a + b", s, z, n, 0, 0);
    free(x), free(y), free(z), free(a), free(s);
}

static void test_logsumexp(void) {
    int C = 37;
    float *x = randn(C, 2);
    x[20] = x[7] = 9.0f; /* a tie: the first index wins, as torch.argmax */
    double mx = -INFINITY, s = 0;
    for (int c = 0; c < C; c++) mx = fmax(mx, x[c]);
    for (int c = 0; c < C; c++) s += exp(x[c] - mx);
    int best = -1;
    float lse = row_logsumexp(x, C, &best);
    check_ok(fabs(lse - (mx + log(s))) < 1e-5 && best == 7, "row_logsumexp vs loops (%g vs %g), argmax %d (want 7)",
             lse, mx + log(s), best);
    x[3] = NAN; /* a blown-up row must not send the search past its end */
    lse = row_logsumexp(x, C, &best);
    check_ok(best >= 0 && best < C, "row_logsumexp of a row with a NaN: argmax %d stays in the row", best);
    free(x);
}

static void test_softmax(void) {
    int N = 3, C = 50;
    float *x = randn(N * C, 3), *want = zeros(N * C);
    for (int i = 0; i < N; i++) {
        double mx = -INFINITY, s = 0;
        for (int c = 0; c < C; c++) mx = fmax(mx, x[i * C + c]);
        for (int c = 0; c < C; c++) s += exp(x[i * C + c] - mx);
        for (int c = 0; c < C; c++) want[i * C + c] = (float)(exp(x[i * C + c] - mx) / s);
    }
    softmax_rows(x, N, C);
    check_close("softmax_rows vs loops", x, want, N * C, 1e-7, 1e-6);
    free(x), free(want);
}

int main(void) {
    rng_seed(&rng, 1234);
    test_linear();
    test_gelu_exp_erf();
    test_layernorm();
    test_film();
    test_rotary();
    test_attention();
    test_strided_qkv();
    test_dropout();
    test_logsumexp();
    test_softmax();
    return check_done();
}
