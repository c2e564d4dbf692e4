/* ops.h: the network's building blocks, forward and backward.
 *
 * Legend: N rows (tokens, B*L), C channels, IN/OUT linear sizes, B batch,
 * L tokens per sequence, H heads, HD head dim, D = H*HD row stride, R rotary
 * dims per head. Every tensor is row-major and contiguous unless a stride is
 * given.
 *
 * Argument order follows llm.c: outputs, saved buffers, inputs, weights, dims.
 * Backward functions ACCUMULATE (+=) into parameter gradients (dw, db, and
 * the FiLM dgamma/dbeta) and OVERWRITE input gradients (dx) unless their
 * comment says otherwise. Each backward quotes the forward line it
 * differentiates. BLAS-backed ops have plain-loop twins in tests/test_ops.c. */
#ifndef SDLM_OPS_H
#define SDLM_OPS_H

#include <stdint.h>

/* Hot elementwise kernels (here and in adamw.c) are compiled for AVX-512,
 * AVX2 and baseline x86-64 and the best is picked at load time (GCC function
 * multiversioning), so one binary runs everywhere and vectorises where it can.
 * Every clone must vectorise (tests/t_vector.sh): write their loops without
 * selects whose sides compute (ops.c's select_float). `make SDLM_ARCH=x86-64-v3`
 * defines SDLM_NO_CLONES and builds one version, for that instruction set. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(SDLM_NO_CLONES)
#define SDLM_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define SDLM_KERNEL_CLONES 1
#elif defined(__GNUC__) && !defined(__clang__) /* one version, kept whole and out of line as the clones are:
                                                * to be found by name in a profile or objdump */
#define SDLM_KERNEL __attribute__((noinline, noclone))
#elif defined(__GNUC__)
#define SDLM_KERNEL __attribute__((noinline))
#else
#define SDLM_KERNEL
#endif

/* The instruction set the kernels run on here: the clone this CPU picks
 * ("x86-64-v4", "x86-64-v3" or "x86-64"), or what the build targets. */
const char *ops_isa(void);

/* y[N,OUT] = x[N,IN] W^T + b, W stored [OUT,IN] as in PyTorch; b may be NULL. */
void linear_forward(float *y, const float *x, const float *w, const float *b, int N, int IN, int OUT);
/* dx[N,IN] (= or += per accumulate_dx), dw[OUT,IN] +=, db[OUT] += (db may be NULL; dx may be NULL).
 * dx may be x itself (with accumulate_dx 0): x is read for dw before dx is written. */
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int N,
                     int IN, int OUT, int accumulate_dx);

/* y = a + dropout(b) elementwise (a residual connection after dropout, as
 * dropout_apply draws it; p 0: y = a + b); y may alias a or b. */
void add_dropout(float *y, const float *a, const float *b, long n, float p, uint32_t key);

/* Exact GELU: 0.5 x (1 + erf(x / sqrt 2)), in place or out of place. */
void gelu_forward(float *y, const float *x, long n);
/* y = gelu(x) and dydx = gelu'(x) in one pass (one erf for both); dydx may alias x. */
void gelu_forward_deriv(float *y, float *dydx, const float *x, long n);
/* x *= y elementwise (a gradient times a saved derivative). */
void mul_inplace(float *x, const float *y, long n);
/* dx = dy * gelu'(x); dx may alias dy. */
void gelu_backward(float *dx, const float *dy, const float *x, long n);

/* LayerNorm over C, eps 1e-5, biased variance. w and b may be NULL (no affine).
 * Saves mean[N] and rstd[N]; y may alias x. */
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N,
                       int C);
/* From dy, the gradient of y = xhat * w + b with xhat = (x - mean) * rstd:
 * dx += (accumulates: it feeds a residual stream or an embedding gradient),
 * dw += and db += (both ignored when w is NULL). */
void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *w, int N, int C);

/* FiLM after a non-affine LayerNorm, per sequence: for token rows of sequence
 * bi (rows bi*L .. bi*L+L-1), y = (one_plus + gamma[bi]) * xhat + beta[bi].
 * gamma and beta are rows of the time MLP output with stride gstride. */
void film_forward(float *y, const float *xhat, const float *gamma, const float *beta, int gstride, int B, int L,
                  int C, int one_plus);
/* dxhat = dy * (one_plus + gamma); dgamma += sum_l dy * xhat; dbeta += sum_l dy. dxhat may alias dy. */
void film_backward(float *dxhat, float *dgamma, float *dbeta, const float *dy, const float *xhat, const float *gamma,
                   int gstride, int B, int L, int C, int one_plus);

/* Rotary position embedding on the first R features of each of H heads (head
 * dim HD, row stride ld >= H*HD), positions 0..L-1 within each of B sequences,
 * adjacent pairs (2j, 2j+1) rotated by p * 10000^(-2j/R). In place. The
 * backward rotates by the opposite angle (inverse = transpose). cos/sin
 * tables are [L, R/2], from rotary_tables. */
void rotary_tables(float *cosv, float *sinv, int L, int R);
void rotary_forward(float *x, const float *cosv, const float *sinv, int B, int L, int H, int HD, int R, int ld);
void rotary_backward(float *dx, const float *cosv, const float *sinv, int B, int L, int H, int HD, int R, int ld);

/* Multi-head attention core on q, k, v [B*L, D] with row stride ld (heads
 * side by side; ld = 3D when they are the thirds of one [B*L, 3D] block):
 * per sequence b and head h, S = q k^T / sqrt(HD); S = -1e9 where
 * !(len_mask[b,i] && len_mask[b,j]) (len_mask NULL: nothing masked);
 * P = softmax(S) saved in probs[B,H,L,L]; out[B*L, D] (stride D) = P v.
 * scratch holds B*L*D floats. The (sequence, head) pairs split over the
 * pool, their products in plain loops (ops.c says why). */
void attention_forward(float *out, float *probs, float *scratch, const float *q, const float *k, const float *v,
                       const uint8_t *len_mask, int B, int L, int H, int HD, int ld);
/* dq, dk, dv (=, row stride ld) from dout (stride D); scratch holds PAR_MAX_THREADS*L*(L + HD) floats: one block per pool thread (par_worker). */
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *probs,
                        const float *q, const float *k, const float *v, const uint8_t *len_mask, int B, int L,
                        int H, int HD, int ld);

/* Row softmax in place over C columns of N rows. */
void softmax_rows(float *x, int N, int C);
/* log(sum(exp(row))), and the index of the largest entry (first on ties). */
float row_logsumexp(const float *row, int C, int *argmax);
/* Cross-entropy gradient in place: row = (softmax(row) - onehot(target)) * scale, given lse. */
void row_softmax_grad(float *row, int C, float lse, int target, float scale);

/* y = dropout(x) with a counter-based mask: element i is kept iff a hash of
 * (key, i) is at least p * 2^32, and kept elements are scaled by 1/(1-p). The
 * same key gives the same mask, so the backward pass applies this very
 * function to the gradient and nothing is stored. y may be x. */
void dropout_apply(float *y, const float *x, long n, float p, uint32_t key);

/* Fast vectorisable exp and erf, accurate to a few ulp / 1.2e-7. */
float fast_expf(float x);
float fast_erff(float x);

#endif
