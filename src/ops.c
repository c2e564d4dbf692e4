/* ops.c: forward and backward kernels of the network's building blocks.
 *
 * Big matrix work goes through cblas_sgemm on contiguous buffers; the
 * elementwise passes, and the attention's small per-head products, are plain
 * loops written so the compiler can vectorise them (no calls into libm in the
 * hot loops: fast_expf and fast_erff below), and split over the second core
 * by par.h's pool (helpers never call BLAS).
 * Legend as in ops.h. */
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "par.h"

#define KERNEL SDLM_KERNEL

/* ---- splitting over the pool (par.h) ---------------------------------------
 * Each public kernel below runs its serial loop on ranges of elements, rows or
 * sequences through par_for; every index is computed exactly as in one pass,
 * so results do not depend on the thread count (tests/test_par.c). Jobs
 * smaller than these (in floats touched per range) stay in the caller: a
 * helper's wake-up costs some microseconds. */
#define GRAIN_MATH 8192  /* erf / exp per element (GELU, softmax) */
#define GRAIN_MOVE 32768 /* a few flops per element (LayerNorm, FiLM, rotary, products) */
#define GRAIN_MACS 262144 /* multiply-adds of the attention's products (some microseconds) */

/* Rows per range so that a range holds at least `floats` floats of C-wide rows. */
static long rows_grain(long floats, long C) { return C >= floats ? 1 : (floats + C - 1) / C; }

/* The arrays of one elementwise call, for its range function. */
typedef struct {
    float *out, *out2;
    const float *in, *in2;
} Elem;

/* ---- elementary functions ------------------------------------------------ */

/* A float's bits, and back (memcpy: no aliasing rules broken; it compiles to nothing). */
static inline uint32_t float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline float bits_float(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Selects by bit mask, which every clone vectorises. A `c ? a : b` is a
 * branch to GCC: it threads jumps through it (a clamped input becomes a
 * constant on one side, and the code after it is duplicated per side), and
 * when a side holds arithmetic that may trap it if-converts the loop only
 * with AVX-512's masked instructions: the AVX2 and baseline clones stay scalar. */
static inline uint32_t mask_of(int c) { return 0u - (uint32_t)c; } /* all ones when c */
static inline float select_float(int c, float a, float b) { /* c ? a : b */
    uint32_t m = mask_of(c);
    return bits_float((float_bits(a) & m) | (float_bits(b) & ~m));
}
static inline float keep_or_zero(int c, float v) { return bits_float(float_bits(v) & mask_of(c)); } /* c ? v : +0 */

/* exp by range reduction x = n ln2 + r, |r| <= ln2/2, and a degree-6
 * polynomial; relative error about 2e-7. Inputs below -87.3 give 0 (softmax
 * of a -1e9 masked score must be exactly 0); NaN gives NaN. Branch-free, so
 * that every clone vectorises it: the clamps are selects between values, n
 * comes from the bits of the rounding sum (no float-to-int conversion, whose
 * NaN case would need a select), and the underflow is a bit mask. */
static inline float expf_inline(float x) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float lo = -87.3365447505531f, hi = 88.3762626647949f, round = 12582912.0f; /* 1.5 * 2^23 */
    float xc = select_float(x > hi, hi, x);
    xc = select_float(xc < lo, lo, xc);
    float nr = xc * log2e + round; /* its low mantissa bits hold 0x400000 + n */
    float n = nr - round; /* round to nearest */
    float r = xc - n * ln2_hi - n * ln2_lo;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    float scale = bits_float((float_bits(nr) + 127u) << 23); /* 2^n: the 0x4B400000 shifts out */
    return keep_or_zero(!(x < lo), p * scale);
}

/* erf from the Chebyshev fit of erfc (relative error < 1.2e-7 for erfc):
 * erf(x) = sign(x) (1 - erfc(|x|)). */
static inline float erff_inline(float x) {
    float z = fabsf(x);
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float erfc = t * expf_inline(-z * z + p);
    return copysignf(1.0f - erfc, x);
}

const char *ops_isa(void) {
#if defined(SDLM_KERNEL_CLONES) /* the resolver's order: the first clone the CPU supports */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
    if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
    return "x86-64";
#elif defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
    return "x86-64-v4";
#elif defined(__AVX2__) && defined(__FMA__)
    return "x86-64-v3";
#elif defined(__x86_64__) && defined(__SSE4_2__)
    return "x86-64-v2";
#elif defined(__x86_64__)
    return "x86-64";
#else
    return "generic";
#endif
}

float fast_expf(float x) { return expf_inline(x); }
float fast_erff(float x) { return erff_inline(x); }

/* ---- linear ---------------------------------------------------------------- */

typedef struct {
    float *y; /* the forward's y, the backward's db */
    const float *b; /* the forward's bias, the backward's dy */
    int N, OUT;
} BiasArgs;

/* y rows r0 .. r1-1 = b */
static void bias_rows(void *p, long r0, long r1) {
    const BiasArgs *a = p;
    for (long i = r0; i < r1; i++) memcpy(a->y + i * a->OUT, a->b, sizeof(float) * a->OUT);
}

/* db[o] += sum_i dy[i, o] for columns o0 .. o1-1, rows in order: 64 columns
 * at a time summed in registers (the same additions in the same order). */
KERNEL static void bias_grad_span(float *db, const float *dy, int N, int OUT, long o0, long o1) {
    for (long c0 = o0; c0 < o1; c0 += 64) {
        int w = o1 - c0 < 64 ? (int)(o1 - c0) : 64;
        float acc[64];
        for (int c = 0; c < w; c++) acc[c] = db[c0 + c];
        for (int i = 0; i < N; i++) {
            const float *row = dy + (long)i * OUT + c0;
            for (int c = 0; c < w; c++) acc[c] += row[c];
        }
        for (int c = 0; c < w; c++) db[c0 + c] = acc[c];
    }
}

static void bias_grad_cols(void *p, long o0, long o1) {
    const BiasArgs *a = p;
    bias_grad_span(a->y, a->b, a->N, a->OUT, o0, o1);
}

void linear_forward(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT) {
    if (b) par_for(N, rows_grain(GRAIN_MOVE, OUT), bias_rows, &(BiasArgs){.y = y, .b = b, .OUT = OUT});
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, x, IN, w, IN, b ? 1.0f : 0.0f, y, OUT);
}

void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                     int IN, int OUT, int accumulate_dx) {
    /* y = x W^T + b;  dw first, so that dx may overwrite x */
    if (dw) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, N, 1.0f, dy, OUT, x, IN, 1.0f, dw, IN);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IN, OUT, 1.0f, dy, OUT, w, IN,
                    accumulate_dx ? 1.0f : 0.0f, dx, IN);
    if (db) { /* split over columns: each sum keeps its row order (blocks of 16: whole cache lines) */
        long grain = (rows_grain(GRAIN_MOVE, N) + 15) / 16 * 16;
        par_for(OUT, grain, bias_grad_cols, &(BiasArgs){.y = db, .b = dy, .N = N, .OUT = OUT});
    }
}

/* ---- dropout and the residual sums ---------------------------------------- */

/* lowbias32 (Wellons): a cheap 32-bit mixer, good enough for dropout masks. */
static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

typedef struct {
    float *y;
    const float *a, *b; /* y = a + dropout(b), or dropout(b) alone (a NULL) */
    uint32_t threshold, k2;
    float scale;
} DropArgs;

static DropArgs dropout_args(float *y, const float *a, const float *b, float p, uint32_t key) {
    return (DropArgs){.y = y, .a = a, .b = b, .threshold = (uint32_t)((double)p * 4294967296.0),
                      .k2 = mix32(key ^ 0x9e3779b9u), .scale = 1.0f / (1.0f - p)};
}

/* Element i is kept iff the hash of (key, i) is at least p * 2^32: a mask of the index alone, so any split
 * of [0, n) draws the same one. */
static inline int dropout_keep(long i, uint32_t k2, uint32_t threshold) {
    return mix32(((uint32_t)i * 0x85ebca6bu) ^ k2) >= threshold;
}

KERNEL static void dropout_span(const DropArgs *d, long i0, long i1) {
    float *y = d->y;
    const float *b = d->b, scale = d->scale;
    const uint32_t k2 = d->k2, threshold = d->threshold;
    for (long i = i0; i < i1; i++) y[i] = keep_or_zero(dropout_keep(i, k2, threshold), b[i] * scale);
}

KERNEL static void add_dropout_span(const DropArgs *d, long i0, long i1) {
    float *y = d->y;
    const float *a = d->a, *b = d->b, scale = d->scale;
    const uint32_t k2 = d->k2, threshold = d->threshold;
    for (long i = i0; i < i1; i++) y[i] = a[i] + keep_or_zero(dropout_keep(i, k2, threshold), b[i] * scale);
}

KERNEL static void add_span(float *y, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static void dropout_part(void *p, long i0, long i1) { dropout_span(p, i0, i1); }
static void add_dropout_part(void *p, long i0, long i1) { add_dropout_span(p, i0, i1); }
static void add_part(void *p, long i0, long i1) {
    const Elem *e = p;
    add_span(e->out + i0, e->in + i0, e->in2 + i0, i1 - i0);
}

void dropout_apply(float *y, const float *x, long n, float p, uint32_t key) {
    DropArgs d = dropout_args(y, NULL, x, p, key);
    par_for(n, GRAIN_MATH, dropout_part, &d);
}

void add_dropout(float *y, const float *a, const float *b, long n, float p, uint32_t key) {
    if (p <= 0) {
        par_for(n, GRAIN_MOVE, add_part, &(Elem){.out = y, .in = a, .in2 = b});
        return;
    }
    DropArgs d = dropout_args(y, a, b, p, key);
    par_for(n, GRAIN_MATH, add_dropout_part, &d);
}

/* ---- GELU ------------------------------------------------------------------ */

KERNEL static void gelu_forward_span(float *y, const float *x, long n) {
    const float inv_sqrt2 = 0.70710678118654752f;
    for (long i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff_inline(x[i] * inv_sqrt2));
}

KERNEL static void gelu_forward_deriv_span(float *y, float *dydx, const float *x, long n) {
    /* y = 0.5 x (1 + erf(x/sqrt2)), dydx = 0.5 (1 + erf(x/sqrt2)) + x phi(x), one erf for both */
    const float inv_sqrt2 = 0.70710678118654752f, inv_sqrt_2pi = 0.39894228040143268f;
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + erff_inline(v * inv_sqrt2));
        float pdf = inv_sqrt_2pi * expf_inline(-0.5f * v * v);
        y[i] = v * cdf;
        dydx[i] = cdf + v * pdf;
    }
}

KERNEL static void mul_inplace_span(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) x[i] *= y[i];
}

KERNEL static void gelu_backward_span(float *dx, const float *dy, const float *x, long n) {
    /* y = 0.5 x (1 + erf(x/sqrt2))  =>  y' = 0.5 (1 + erf(x/sqrt2)) + x phi(x) */
    const float inv_sqrt2 = 0.70710678118654752f, inv_sqrt_2pi = 0.39894228040143268f;
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + erff_inline(v * inv_sqrt2));
        float pdf = inv_sqrt_2pi * expf_inline(-0.5f * v * v);
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

static void gelu_forward_part(void *p, long i0, long i1) {
    const Elem *a = p;
    gelu_forward_span(a->out + i0, a->in + i0, i1 - i0);
}
static void gelu_forward_deriv_part(void *p, long i0, long i1) {
    const Elem *a = p;
    gelu_forward_deriv_span(a->out + i0, a->out2 + i0, a->in + i0, i1 - i0);
}
static void mul_inplace_part(void *p, long i0, long i1) {
    const Elem *a = p;
    mul_inplace_span(a->out + i0, a->in + i0, i1 - i0);
}
static void gelu_backward_part(void *p, long i0, long i1) {
    const Elem *a = p;
    gelu_backward_span(a->out + i0, a->in2 + i0, a->in + i0, i1 - i0);
}

void gelu_forward(float *y, const float *x, long n) {
    par_for(n, GRAIN_MATH, gelu_forward_part, &(Elem){.out = y, .in = x});
}
void gelu_forward_deriv(float *y, float *dydx, const float *x, long n) {
    par_for(n, GRAIN_MATH, gelu_forward_deriv_part, &(Elem){.out = y, .out2 = dydx, .in = x});
}
void mul_inplace(float *x, const float *y, long n) {
    par_for(n, GRAIN_MOVE, mul_inplace_part, &(Elem){.out = x, .in = y});
}
void gelu_backward(float *dx, const float *dy, const float *x, long n) {
    par_for(n, GRAIN_MATH, gelu_backward_part, &(Elem){.out = dx, .in = x, .in2 = dy});
}

/* ---- LayerNorm and FiLM ---------------------------------------------------- */

KERNEL static void layernorm_forward_rows(float *y, float *mean, float *rstd, const float *x, const float *w,
                                          const float *b, long i0, long i1, int C) {
    for (long i = i0; i < i1; i++) {
        const float *xi = x + (long)i * C;
        float *yi = y + (long)i * C;
        float m = 0, v = 0;
#pragma omp simd reduction(+ : m)
        for (int c = 0; c < C; c++) m += xi[c];
        m /= C;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) v += (xi[c] - m) * (xi[c] - m);
        v /= C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        if (w)
            for (int c = 0; c < C; c++) yi[c] = (xi[c] - m) * s * w[c] + b[c];
        else
            for (int c = 0; c < C; c++) yi[c] = (xi[c] - m) * s;
        if (mean) mean[i] = m;
        if (rstd) rstd[i] = s;
    }
}

KERNEL static void layernorm_backward_rows(float *dx, float *dw, float *db, const float *dy, const float *x,
                                           const float *mean, const float *rstd, const float *w, long i0, long i1,
                                           int C) {
    /* y = xhat * w + b, xhat = (x - mean) * rstd */
    for (long i = i0; i < i1; i++) {
        const float *xi = x + (long)i * C, *dyi = dy + (long)i * C;
        float *dxi = dx + (long)i * C;
        float m = mean[i], s = rstd[i];
        float sum_g = 0, sum_gx = 0; /* g = dxhat */
        if (w) {
#pragma omp simd reduction(+ : sum_g, sum_gx)
            for (int c = 0; c < C; c++) {
                float h = (xi[c] - m) * s, g = dyi[c] * w[c];
                sum_g += g;
                sum_gx += g * h;
                dw[c] += dyi[c] * h;
                db[c] += dyi[c];
            }
        } else {
#pragma omp simd reduction(+ : sum_g, sum_gx)
            for (int c = 0; c < C; c++) {
                float h = (xi[c] - m) * s;
                sum_g += dyi[c];
                sum_gx += dyi[c] * h;
            }
        }
        sum_g /= C;
        sum_gx /= C;
        for (int c = 0; c < C; c++) {
            float h = (xi[c] - m) * s;
            float g = w ? dyi[c] * w[c] : dyi[c];
            dxi[c] += s * (g - sum_g - h * sum_gx);
        }
    }
}

typedef struct {
    float *y, *mean, *rstd;
    const float *x, *w, *b;
    int C;
} LnArgs;

static void layernorm_forward_part(void *p, long i0, long i1) {
    const LnArgs *a = p;
    layernorm_forward_rows(a->y, a->mean, a->rstd, a->x, a->w, a->b, i0, i1, a->C);
}

void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N,
                       int C) {
    LnArgs a = {.y = y, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b, .C = C};
    par_for(N, rows_grain(GRAIN_MOVE, C), layernorm_forward_part, &a);
}

typedef struct {
    float *dx;
    const float *dy, *x, *mean, *rstd;
    int C;
} LnBackArgs;

static void layernorm_backward_part(void *p, long i0, long i1) {
    const LnBackArgs *a = p;
    layernorm_backward_rows(a->dx, NULL, NULL, a->dy, a->x, a->mean, a->rstd, NULL, i0, i1, a->C);
}

void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *w, int N, int C) {
    if (w) { /* dw and db sum over every row, in row order: one pass */
        layernorm_backward_rows(dx, dw, db, dy, x, mean, rstd, w, 0, N, C);
        return;
    }
    LnBackArgs a = {.dx = dx, .dy = dy, .x = x, .mean = mean, .rstd = rstd, .C = C};
    par_for(N, rows_grain(GRAIN_MOVE, C), layernorm_backward_part, &a);
}

typedef struct {
    float *y, *dgamma, *dbeta; /* y: the forward's output, the backward's dxhat */
    const float *xhat, *dy, *gamma, *beta;
    int gstride, L, C, one_plus;
} FilmArgs;

/* Token rows r0 .. r1-1 (row r is position r % L of sequence r / L). */
KERNEL static void film_forward_rows(const FilmArgs *a, long r0, long r1) {
    const int L = a->L, C = a->C, one_plus = a->one_plus;
    float *y = a->y;
    const float *xhat = a->xhat;
    for (long r = r0; r < r1; r++) {
        const float *g = a->gamma + r / L * a->gstride, *be = a->beta + r / L * a->gstride;
        long row = r * C;
        for (int c = 0; c < C; c++) y[row + c] = (one_plus + g[c]) * xhat[row + c] + be[c];
    }
}

static void film_forward_part(void *p, long r0, long r1) { film_forward_rows(p, r0, r1); }

void film_forward(float *y, const float *xhat, const float *gamma, const float *beta, int gstride, int B, int L, int C,
                  int one_plus) {
    FilmArgs a = {.y = y, .xhat = xhat, .gamma = gamma, .beta = beta, .gstride = gstride, .L = L, .C = C,
                  .one_plus = one_plus};
    par_for((long)B * L, rows_grain(GRAIN_MOVE, C), film_forward_part, &a);
}

/* The backward splits over (sequence, block of FILM_COLS columns): dgamma and
 * dbeta of one sequence and column sum over its L rows, in row order, in one range. */
#define FILM_COLS 64

/* Items t0 .. t1-1: item t is sequence t / nblk, columns from (t % nblk) * FILM_COLS. */
KERNEL static void film_backward_items(const FilmArgs *a, long t0, long t1) {
    const int L = a->L, C = a->C, one_plus = a->one_plus, nblk = (C + FILM_COLS - 1) / FILM_COLS;
    float *dxhat = a->y;
    const float *dy = a->dy, *xhat = a->xhat;
    for (long t = t0; t < t1; t++) {
        long b = t / nblk;
        int c0 = (int)(t % nblk) * FILM_COLS, c1 = c0 + FILM_COLS < C ? c0 + FILM_COLS : C;
        const float *g = a->gamma + b * a->gstride;
        float *dg = a->dgamma + b * a->gstride, *dbe = a->dbeta + b * a->gstride;
        /* the sums in registers (the same additions in the same order): dg and dbe
         * could alias anything, and the loop would not vectorise with them */
        float acc_g[FILM_COLS], acc_b[FILM_COLS], gain[FILM_COLS];
        for (int c = 0; c < c1 - c0; c++) {
            acc_g[c] = dg[c0 + c];
            acc_b[c] = dbe[c0 + c];
            gain[c] = one_plus + g[c0 + c];
        }
        for (int l = 0; l < L; l++) {
            long row = (b * L + l) * C + c0;
            for (int c = 0; c < c1 - c0; c++) {
                float d = dy[row + c];
                acc_g[c] += d * xhat[row + c];
                acc_b[c] += d;
                dxhat[row + c] = d * gain[c];
            }
        }
        for (int c = 0; c < c1 - c0; c++) {
            dg[c0 + c] = acc_g[c];
            dbe[c0 + c] = acc_b[c];
        }
    }
}

static void film_backward_part(void *p, long t0, long t1) { film_backward_items(p, t0, t1); }

void film_backward(float *dxhat, float *dgamma, float *dbeta, const float *dy, const float *xhat, const float *gamma,
                   int gstride, int B, int L, int C, int one_plus) {
    /* y = (one_plus + gamma) * xhat + beta */
    FilmArgs a = {.y = dxhat, .dgamma = dgamma, .dbeta = dbeta, .xhat = xhat, .dy = dy, .gamma = gamma,
                  .gstride = gstride, .L = L, .C = C, .one_plus = one_plus};
    long nblk = (C + FILM_COLS - 1) / FILM_COLS;
    par_for(B * nblk, rows_grain(GRAIN_MOVE, (long)L * FILM_COLS), film_backward_part, &a);
}

/* ---- rotary ---------------------------------------------------------------- */

void rotary_tables(float *cosv, float *sinv, int L, int R) {
    int half = R / 2;
    for (int j = 0; j < half; j++) {
        /* As the seed: inverse frequencies and angles in float32. */
        float inv = 1.0f / powf(10000.0f, (float)(2 * j) / (float)R);
        for (int p = 0; p < L; p++) {
            float angle = (float)p * inv;
            cosv[p * half + j] = (float)cos((double)angle);
            sinv[p * half + j] = (float)sin((double)angle);
        }
    }
}

typedef struct {
    float *x;
    const float *cosv, *sinv;
    int L, H, HD, R, ld;
    float sign;
} RotArgs;

/* The pairs (2j, 2j+1) of one head's first 2 * half features, rotated by cs, sign * sn. */
static inline void rotate_pairs(float *hx, const float *cs, const float *sn, int half, float sign) {
    for (int j = 0; j < half; j++) {
        float u = hx[2 * j], v = hx[2 * j + 1], s = sign * sn[j];
        hx[2 * j] = u * cs[j] - v * s;
        hx[2 * j + 1] = v * cs[j] + u * s;
    }
}

/* Token rows r0 .. r1-1 (row r is position r % L of sequence r / L). */
KERNEL static void rotate_rows(const RotArgs *a, long r0, long r1) {
    const int half = a->R / 2, H = a->H, HD = a->HD;
    const float sign = a->sign;
    for (long r = r0; r < r1; r++) {
        int p = (int)(r % a->L);
        const float *cs = a->cosv + p * half, *sn = a->sinv + p * half;
        float *row = a->x + r * a->ld;
        for (int h = 0; h < H; h++) rotate_pairs(row + h * HD, cs, sn, half, sign);
    }
}

static void rotate_part(void *p, long r0, long r1) { rotate_rows(p, r0, r1); }

static void rotate(float *x, const float *cosv, const float *sinv, int B, int L, int H, int HD, int R, int ld,
                   float sign) {
    if (R < 2) return; /* no rotary dims (a head dim of 1): nothing turns */
    RotArgs a = {.x = x, .cosv = cosv, .sinv = sinv, .L = L, .H = H, .HD = HD, .R = R, .ld = ld, .sign = sign};
    par_for((long)B * L, rows_grain(GRAIN_MOVE, (long)H * R), rotate_part, &a);
}

void rotary_forward(float *x, const float *cosv, const float *sinv, int B, int L, int H, int HD, int R, int ld) {
    rotate(x, cosv, sinv, B, L, H, HD, R, ld, 1.0f);
}

void rotary_backward(float *dx, const float *cosv, const float *sinv, int B, int L, int H, int HD, int R, int ld) {
    /* x' = Rot(p) x is orthogonal, so dx = Rot(p)^T dx' = Rot(-p) dx' */
    rotate(dx, cosv, sinv, B, L, H, HD, R, ld, -1.0f);
}

/* ---- softmax and attention -------------------------------------------------- */

KERNEL static void softmax_rows_range(float *x, long i0, long i1, int C) {
    for (long i = i0; i < i1; i++) {
        float *row = x + (long)i * C;
        float mx = row[0], sum = 0;
#pragma omp simd reduction(max : mx)
        for (int c = 0; c < C; c++) mx = row[c] > mx ? row[c] : mx;
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < C; c++) {
            row[c] = expf_inline(row[c] - mx);
            sum += row[c];
        }
        float inv = 1.0f / sum;
        for (int c = 0; c < C; c++) row[c] *= inv;
    }
}

typedef struct {
    float *x;
    int C;
} SoftmaxArgs;

static void softmax_rows_part(void *p, long i0, long i1) {
    const SoftmaxArgs *a = p;
    softmax_rows_range(a->x, i0, i1, a->C);
}

void softmax_rows(float *x, int N, int C) {
    par_for(N, rows_grain(GRAIN_MATH, C), softmax_rows_part, &(SoftmaxArgs){.x = x, .C = C});
}

KERNEL float row_logsumexp(const float *row, int C, int *argmax) {
    /* the max as a vector reduction, then the first index that holds it */
    float mx = row[0];
#pragma omp simd reduction(max : mx)
    for (int c = 0; c < C; c++) mx = row[c] > mx ? row[c] : mx;
    int best = 0;
    while (best < C && row[best] != mx) best++;
    if (best == C) best = 0; /* a NaN in the row: nothing equals the max */
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < C; c++) sum += expf_inline(row[c] - mx);
    if (argmax) *argmax = best;
    return mx + logf(sum);
}

KERNEL void row_softmax_grad(float *row, int C, float lse, int target, float scale) {
    /* loss = lse - row[target]:  d row = (softmax(row) - onehot(target)) * scale */
    for (int c = 0; c < C; c++) row[c] = expf_inline(row[c] - lse) * scale;
    row[target] -= scale;
}

/* dS = P * (dP - rowsum(dP * P)), zero at masked pairs; dS holds dP on entry. */
KERNEL static void softmax_backward_rows(float *dS, const float *P, const uint8_t *lm, int L) {
    for (int i = 0; i < L; i++) {
        float *row = dS + (long)i * L;
        const float *prow = P + (long)i * L;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int j = 0; j < L; j++) dot += row[j] * prow[j];
        if (lm && !lm[i]) { /* a padding query: its whole row was masked */
            memset(row, 0, sizeof(float) * L);
        } else if (lm) {
            for (int j = 0; j < L; j++) row[j] = keep_or_zero(lm[j] != 0, prow[j] * (row[j] - dot));
        } else {
            for (int j = 0; j < L; j++) row[j] = prow[j] * (row[j] - dot);
        }
    }
}

/* S[i, j] = -1e9 where !(lm[i] && lm[j]), for the L x L scores of one head. */
KERNEL static void mask_scores(float *S, const uint8_t *lm, int L) {
    for (int i = 0; i < L; i++) {
        float *row = S + (long)i * L;
        const int query = lm[i] != 0;
        for (int j = 0; j < L; j++) row[j] = select_float(query & (lm[j] != 0), row[j], -1e9f);
    }
}

/* ---- attention: one (sequence, head) pair at a time, on the pool -----------------
 * A head's products are small (L x L x HD: 64 x 64 x 32 at the small size), too
 * small for OpenBLAS to split, and it has no batched product: called per head
 * from the BLAS thread they kept one core busy while the other waited. Here
 * each pair is one item of a par_for, its products plain loops beside its mask
 * and softmax, so the heads spread over every core. The products sum over k in
 * order, each in one thread: results do not depend on the thread count. */

#define TILE_ROWS 4
#define TILE_COLS 16

/* The products' c += a * b as one fused multiply-add where the clone has FMA, as OpenBLAS's kernels do:
 * CPUs whose multiplies and adds share two FMA ports (Intel's AVX2 ones) run it at twice the rate of a
 * multiply and an add. ISO C mode leaves contraction off, and the rest of ops.c keeps it so. */
#if defined(__GNUC__) && !defined(__clang__)
#define FMA_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define FMA_CONTRACT
#endif

/* C[M, N] (row stride ldc) = alpha * sum_k A(i, k) B[k, :], with A(i, k) = A[i * ars + k * acs] (a
 * row-major matrix: ars its stride, acs 1; or the transpose of one: ars 1) and B row-major (stride ldb).
 * A tile of 4 rows x 16 columns keeps its sums in registers over all of k; the rest goes a row or an
 * element at a time. */
KERNEL FMA_CONTRACT static void head_product(float *restrict C, long ldc, const float *restrict A, long ars,
                                             long acs, const float *restrict B, long ldb, int M, int N, int K,
                                             float alpha) {
    int j = 0;
    for (; j + TILE_COLS <= N; j += TILE_COLS) {
        int i = 0;
        for (; i + TILE_ROWS <= M; i += TILE_ROWS) {
            float c[TILE_ROWS][TILE_COLS] = {{0}};
            for (int k = 0; k < K; k++) {
                const float *b = B + k * ldb + j;
                for (int r = 0; r < TILE_ROWS; r++) {
                    float a = A[(i + r) * ars + k * acs];
#pragma omp simd
                    for (int x = 0; x < TILE_COLS; x++) c[r][x] += a * b[x];
                }
            }
            for (int r = 0; r < TILE_ROWS; r++)
                for (int x = 0; x < TILE_COLS; x++) C[(i + r) * ldc + j + x] = alpha * c[r][x];
        }
        for (; i < M; i++) {
            float c[TILE_COLS] = {0};
            for (int k = 0; k < K; k++) {
                float a = A[i * ars + k * acs];
                for (int x = 0; x < TILE_COLS; x++) c[x] += a * B[k * ldb + j + x];
            }
            for (int x = 0; x < TILE_COLS; x++) C[i * ldc + j + x] = alpha * c[x];
        }
    }
    for (int i = 0; j < N && i < M; i++) /* the last N % 16 columns */
        for (int jj = j; jj < N; jj++) {
            float sum = 0;
            for (int k = 0; k < K; k++) sum += A[i * ars + k * acs] * B[k * ldb + jj];
            C[i * ldc + jj] = alpha * sum;
        }
}

/* t[HD, L] = x[L, HD]^T for one head (x's row stride ld). */
static void head_transpose(float *t, const float *x, int L, int HD, long ld) {
    for (int j = 0; j < L; j++)
        for (int c = 0; c < HD; c++) t[(long)c * L + j] = x[j * ld + c];
}

typedef struct {
    float *out, *probs, *scratch; /* the forward's outputs; each pair's scratch (both ways) */
    float *dq, *dk, *dv;          /* the backward's */
    const float *q, *k, *v, *dout, *P;
    const uint8_t *len_mask;
    int L, H, HD, ld;
    float scale;
} AttArgs;

/* Pairs t0 .. t1-1 (pair t is sequence t / H, head t % H). */
static void attention_forward_items(void *p, long t0, long t1) {
    const AttArgs *a = p;
    const int L = a->L, HD = a->HD, D = a->H * HD;
    for (long t = t0; t < t1; t++) {
        long b = t / a->H, in = b * L * a->ld + t % a->H * HD;
        float *P = a->probs + t * L * L, *kt = a->scratch + t * HD * L;
        head_transpose(kt, a->k + in, L, HD, a->ld);
        head_product(P, L, a->q + in, a->ld, 1, kt, L, L, L, HD, a->scale); /* S = q k^T / sqrt(HD) */
        if (a->len_mask) mask_scores(P, a->len_mask + b * L, L);         /* S = -1e9 where masked */
        softmax_rows_range(P, 0, L, L);                                   /* P = softmax(S) */
        head_product(a->out + b * L * D + t % a->H * HD, D, P, L, 1, a->v + in, a->ld, L, HD, L, 1.0f); /* out = P v */
    }
}

void attention_forward(float *out, float *probs, float *scratch, const float *q, const float *k, const float *v,
                       const uint8_t *len_mask, int B, int L, int H, int HD, int ld) {
    AttArgs a = {.out = out, .probs = probs, .scratch = scratch, .q = q, .k = k, .v = v, .len_mask = len_mask,
                 .L = L, .H = H, .HD = HD, .ld = ld, .scale = 1.0f / sqrtf((float)HD)};
    par_for((long)B * H, rows_grain(GRAIN_MACS, 2L * L * L * HD), attention_forward_items, &a);
}

static void attention_backward_items(void *p, long t0, long t1) {
    const AttArgs *a = p;
    const int L = a->L, HD = a->HD, D = a->H * HD;
    for (long t = t0; t < t1; t++) {
        long b = t / a->H, in = b * L * a->ld + t % a->H * HD;
        const float *P = a->P + t * L * L, *dout = a->dout + b * L * D + t % a->H * HD;
        float *dS = a->scratch + (long)par_worker() * L * (L + HD), *vt = dS + L * L; /* this thread's */
        float *dq = a->dq + in, *dk = a->dk + in, *dv = a->dv + in;
        /* out = P v:  dP = dout v^T,  dv = P^T dout */
        head_transpose(vt, a->v + in, L, HD, a->ld);
        head_product(dS, L, dout, D, 1, vt, L, L, L, HD, 1.0f);
        head_product(dv, a->ld, P, 1, L, dout, D, L, HD, L, 1.0f);
        /* P = softmax(S):  dS = P * (dP - sum_j dP P);  masked scores were constants: dS = 0 there */
        softmax_backward_rows(dS, P, a->len_mask ? a->len_mask + b * L : NULL, L);
        /* S = q k^T * scale:  dq = dS k * scale,  dk = dS^T q * scale */
        head_product(dq, a->ld, dS, L, 1, a->k + in, a->ld, L, HD, L, a->scale);
        head_product(dk, a->ld, dS, 1, L, a->q + in, a->ld, L, HD, L, a->scale);
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *probs,
                        const float *q, const float *k, const float *v, const uint8_t *len_mask, int B, int L,
                        int H, int HD, int ld) {
    AttArgs a = {.dq = dq, .dk = dk, .dv = dv, .scratch = scratch, .q = q, .k = k, .v = v, .dout = dout, .P = probs,
                 .len_mask = len_mask, .L = L, .H = H, .HD = HD, .ld = ld, .scale = 1.0f / sqrtf((float)HD)};
    par_for((long)B * H, rows_grain(GRAIN_MACS, 4L * L * L * HD), attention_backward_items, &a);
}
