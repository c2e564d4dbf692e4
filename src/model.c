/* model.c: the estimator (time MLP, input projection, FiLM pre-norm encoder
 * layers with rotary attention, output projection), lm_head and
 * interpolation, forward and backward. The backward pass is the forward pass
 * read in reverse; each step quotes the forward line it differentiates.
 * Legend as in model.h. Not here: noise, losses and samplers (diffusion.c). */
#include "model.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "par.h"

int model_alloc(Model *m, const Config *cfg, Err *e) {
    memset(m, 0, sizeof *m);
    if (param_table_build(&m->table, cfg, e)) return -1;
    m->cfg = *cfg;
    m->w = calloc(m->table.total, sizeof(float));
    if (!m->w || params_bind(&m->p, &m->table, m->w)) {
        size_t total = m->table.total; /* model_free clears it */
        model_free(m);
        return err_set(e, "out of memory for a model of %zu parameters", total);
    }
    /* The forward and backward treat w_q, w_k, w_v as one [3D, D] matrix: the table lists them
     * one after the other, so they are (in weights, gradients and moments alike). */
    const long DD = (long)cfg->D * cfg->D;
    for (int l = 0; l < cfg->NL; l++)
        if (m->p.layer[l].wk != m->p.layer[l].wq + DD || m->p.layer[l].wv != m->p.layer[l].wk + DD) {
            model_free(m);
            return err_set(e, "internal: w_q, w_k, w_v of layer %d are not one block", l);
        }
    return 0;
}

void model_free(Model *m) {
    params_unbind(&m->p);
    free(m->w);
    param_table_free(&m->table);
    memset(m, 0, sizeof *m);
}

/* ---- workspace ------------------------------------------------------------- */

/* One list of every buffer: X(field, count, type). Sizes for train and eval. */
#define WS_BUFFERS(X)                                                          \
    X(h_in, N * 3 * E, float)                                                  \
    X(t, B, float)                                                             \
    X(len_mask, N, uint8_t)                                                    \
    X(tfeat, B * 2 * TIME_FREQS, float)                                        \
    X(th_pre, B * TIME_HIDDEN, float)                                          \
    X(th, B * TIME_HIDDEN, float)                                              \
    X(tg_pre, B * G, float)                                                    \
    X(tg, B * G, float)                                                        \
    X(x_res, (NL + 1) * N * D, float)                                          \
    X(ln1_mean, PS * N, float)                                                 \
    X(ln1_rstd, PS * N, float)                                                 \
    X(ln2_mean, PS * N, float)                                                 \
    X(ln2_rstd, PS * N, float)                                                 \
    X(x_mid, PS * N * D, float)                                                \
    X(qkv, PL * N * 3 * D, float)                                              \
    X(probs, PL * B * H * L * L, float)                                        \
    X(att, PL * N * D, float)                                                  \
    X(f1, PL * N * F, float)                                                   \
    X(drop_key, 3 + 2 * NL, uint32_t)                                          \
    X(skip, NL, uint8_t)                                                       \
    X(emb_raw, N * E, float)                                                   \
    X(x0, N * E, float)                                                        \
    X(emb_mean, N, float)                                                      \
    X(emb_rstd, N, float)                                                      \
    X(d_x0, T * N * E, float)                                                  \
    X(d_emb, T * N * E, float)                                                 \
    X(x_est, N * E, float)                                                     \
    X(lm_rows, N, int32_t)                                                     \
    X(ids_in, N, int32_t)                                                      \
    X(loss_rows, N, int32_t)                                                   \
    X(ce_lse, N, float)                                                        \
    X(ce_target, N, float)                                                     \
    X(ce_best, N, int32_t)                                                     \
    X(logits, ARENA, float)                                                    \
    X(interp, N * E, float)                                                    \
    X(lat, N * D, float)                                                       \
    X(rot_cos, L * (R / 2 + 1), float)                                         \
    X(rot_sin, L * (R / 2 + 1), float)                                         \
    X(emb_norm, V * E, float)                                                  \
    X(d_x_est, T * N * E, float)                                               \
    X(d_res, T * N * D, float)                                                 \
    X(d_a, T * N * D, float)                                                   \
    X(d_att_scratch, T * PAR_MAX_THREADS * L * (L + D / H), float)             \
    X(d_h_in, T * N * 3 * E, float)                                            \
    X(d_tg, T * B * G, float)                                                  \
    X(d_th, T * B * TIME_HIDDEN, float)                                        \
    X(d_tfeat, T * B * 2 * TIME_FREQS, float)

/* The logits share one arena with the scratch of model_forward and
 * model_backward (xhat, act, tmp [N, D]; gl [N, F], which the backward
 * reuses for d_gl [N, F] and then d_qkv [N, 3D]): the logits are made after
 * the forward's last use of its scratch and read for the last time by the
 * backward's first step. ARENA is the larger of the two uses. */
#define WS_SCRATCH(N, D, F, T) (3 * (N) * (D) + ((T) && 3 * (D) > (F) ? 3 * (N) * (D) : (N) * (F)))

/* PS: layers whose inputs and norms are kept (all when training); PL: layers
 * whose attention and feed-forward activations are kept (all when training
 * without recomputation). */
#define WS_DIMS(c, Bcap, Lcap, mode)                                                               \
    const long B = (Bcap), L = (Lcap), N = B * L, E = (c)->E, D = (c)->D, F = (c)->F, V = (c)->V, \
               H = (c)->H, R = (c)->R, NL = (c)->NL, G = NL * 4 * D, T = (mode) != WS_SAMPLE ? 1 : 0, \
               PS = T ? NL : 1, PL = (mode) == WS_TRAIN ? NL : 1,                                \
               ARENA = N * V > WS_SCRATCH(N, D, F, T) ? N * V : WS_SCRATCH(N, D, F, T);           \
    (void)B, (void)L, (void)N, (void)E, (void)D, (void)F, (void)V, (void)H, (void)R, (void)G, (void)T, (void)PS, \
        (void)PL, (void)ARENA

size_t workspace_bytes(const Config *c, int Bcap, int Lcap, int mode) {
    WS_DIMS(c, Bcap, Lcap, mode);
    size_t bytes = 0;
#define WS_SIZE(field, count, type) bytes += (size_t)(count) * sizeof(type);
    WS_BUFFERS(WS_SIZE)
    return bytes;
}

int workspace_alloc(Workspace *ws, const Config *c, int Bcap, int Lcap, int mode, Err *e) {
    memset(ws, 0, sizeof *ws);
    if (Bcap < 1 || Lcap < 1) return err_set(e, "workspace needs at least one sequence of one token");
    if (mode != WS_SAMPLE && mode != WS_TRAIN && mode != WS_TRAIN_RECOMPUTE)
        return err_set(e, "internal: unknown workspace mode %d", mode);
    WS_DIMS(c, Bcap, Lcap, mode);
    ws->Bcap = Bcap;
    ws->Lcap = Lcap;
    ws->train = mode != WS_SAMPLE;
    ws->recompute = mode == WS_TRAIN_RECOMPUTE;
#define WS_ALLOC(field, count, type)                                                  \
    if ((count) > 0 && !(ws->field = calloc((size_t)(count), sizeof(type)))) {        \
        workspace_free(ws);                                                           \
        return err_set(e, "out of memory for a %s workspace of %d x %d (%.0f MB)",    \
                       T ? "training" : "sampling", Bcap, Lcap,                       \
                       workspace_bytes(c, Bcap, Lcap, mode) / 1e6);                   \
    }
    WS_BUFFERS(WS_ALLOC)
    ws->xhat = ws->logits;
    ws->act = ws->xhat + N * D;
    ws->tmp = ws->act + N * D;
    ws->gl = ws->tmp + N * D;
    if (T) ws->d_gl = ws->d_qkv = ws->gl; /* the backward's d_gl, then d_qkv, once gl is read */
    rotary_tables(ws->rot_cos, ws->rot_sin, Lcap, c->R); /* position p's row is the same for every L */
    return 0;
}

void workspace_free(Workspace *ws) {
#define WS_FREE(field, count, type) free(ws->field);
    WS_BUFFERS(WS_FREE)
    memset(ws, 0, sizeof *ws);
}

double model_step_flops(const Config *c, int B, int L, int lm_rows, int backward) {
    double N = (double)B * L, D = c->D, F = c->F, E = c->E, V = c->V, G = 4.0 * c->NL * c->D;
    double per_layer = N * (4 * D * D + 2 * D * F) /* q k v o, ffn */ + 2.0 * B * L * L * D /* q k^T, P v */;
    double macs = c->NL * per_layer + N * (3 * E * D + D * E) /* project, out */ + (double)lm_rows * D * V +
                  B * (2.0 * TIME_FREQS * TIME_HIDDEN + TIME_HIDDEN * G) /* time MLP */;
    return 2 * macs * (backward ? 3 : 1);
}

/* ---- forward ---------------------------------------------------------------- */

/* Layer l's buffer: SAVED (inputs, norms) keeps every layer when training;
 * PER_LAYER (attention, feed-forward) too unless the backward recomputes
 * them; otherwise one buffer is reused by every layer. */
#define SAVED(ws, buf, l, size) ((ws)->buf + ((ws)->train ? (long)(l) * (size) : 0))
#define PER_LAYER(ws, buf, l, size) ((ws)->buf + ((ws)->train && !(ws)->recompute ? (long)(l) * (size) : 0))

enum { KEY_TIME, KEY_PROJ, KEY_LM, KEY_LAYERS }; /* then attn, ffn for each layer */
#define KEY_ATTN(l) (KEY_LAYERS + 2 * (l))
#define KEY_FFN(l) (KEY_LAYERS + 2 * (l) + 1)

static void time_features(float *tfeat, const float *t, const float *freq, int B) {
    const float two_pi = 6.28318530717958648f;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < TIME_FREQS; j++) {
            float f = t[b] * freq[j] * two_pi;
            tfeat[b * 2 * TIME_FREQS + j] = sinf(f);
            tfeat[b * 2 * TIME_FREQS + TIME_FREQS + j] = cosf(f);
        }
}

/* LN without affine into ws->xhat, then FiLM into out. */
static void norm_film(Workspace *ws, float *out, float *mean, float *rstd, const float *x, const float *gamma,
                      const float *beta, int gstride, int B, int L, int D, int one_plus) {
    layernorm_forward(ws->xhat, mean, rstd, x, NULL, NULL, B * L, D);
    film_forward(out, ws->xhat, gamma, beta, gstride, B, L, D, one_plus);
}

void model_forward(const Model *m, Workspace *ws, int B, int L, const uint8_t *len_mask, Rng *rng) {
    const Config *c = &m->cfg;
    const Params *p = &m->p;
    const int N = B * L, D = c->D, E = c->E, F = c->F, H = c->H, HD = D / H, G = c->NL * 4 * D;
    const float pd = c->dropout;
    int drop = rng && pd > 0 && ws->train;
    ws->B = B;
    ws->L = L;
    ws->dropout_on = drop;

    /* time: s = [sin f, cos f], h = dropout(GELU(W1 s + b1)), g = GELU(W4 h + b4) */
    time_features(ws->tfeat, ws->t, p->time_freq, B);
    linear_forward(ws->th_pre, ws->tfeat, p->time_w1, p->time_b1, B, 2 * TIME_FREQS, TIME_HIDDEN);
    gelu_forward(ws->th, ws->th_pre, (long)B * TIME_HIDDEN);
    if (drop)
        for (int i = 0; i < KEY_LAYERS + 2 * c->NL; i++) ws->drop_key[i] = (uint32_t)rng_u64(rng);
    if (drop) dropout_apply(ws->th, ws->th, (long)B * TIME_HIDDEN, pd, ws->drop_key[KEY_TIME]);
    linear_forward(ws->tg_pre, ws->th, p->time_w4, p->time_b4, B, TIME_HIDDEN, G);
    gelu_forward(ws->tg, ws->tg_pre, (long)B * G);

    /* x = dropout(project([x_noised, x_cond, x_sc])) */
    linear_forward(ws->x_res, ws->h_in, p->proj_w, p->proj_b, N, 3 * E, D);
    if (drop) dropout_apply(ws->x_res, ws->x_res, (long)N * D, pd, ws->drop_key[KEY_PROJ]);

    for (int l = 0; l < c->NL; l++) {
        const LayerParams *lp = &p->layer[l];
        const float *x = ws->x_res + (long)l * N * D;
        float *y = ws->x_res + (long)(l + 1) * N * D;
        ws->skip[l] = rng && ws->train && c->layerdrop > 0 && rng_uniform(rng) < c->layerdrop;
        if (ws->skip[l]) {
            memcpy(y, x, sizeof(float) * N * D);
            continue;
        }
        const float *gamma1 = ws->tg + 4L * l * D, *gamma2 = gamma1 + D, *beta1 = gamma1 + 2 * D,
                    *beta2 = gamma1 + 3 * D;
        float *qkv = PER_LAYER(ws, qkv, l, 3L * N * D), *q = qkv, *k = qkv + D, *v = qkv + 2 * D; /* rows [q|k|v] */
        float *probs = PER_LAYER(ws, probs, l, (long)B * H * L * L), *att = PER_LAYER(ws, att, l, N * D);
        float *x_mid = SAVED(ws, x_mid, l, N * D), *f1 = PER_LAYER(ws, f1, l, (long)N * F);

        /* a = gamma1 * LN(x) + beta1;  x = x + dropout(MHA(a)) */
        norm_film(ws, ws->act, SAVED(ws, ln1_mean, l, N), SAVED(ws, ln1_rstd, l, N), x, gamma1, beta1, G, B, L, D,
                  c->film_one_plus);
        linear_forward(qkv, ws->act, lp->wq, NULL, N, D, 3 * D); /* [q|k|v] = a [Wq; Wk; Wv]^T */
        rotary_forward(q, ws->rot_cos, ws->rot_sin, B, L, 2 * H, HD, c->R, 3 * D); /* q's heads, then k's */
        attention_forward(att, probs, ws->tmp, q, k, v, len_mask, B, L, H, HD, 3 * D);
        linear_forward(ws->tmp, att, lp->wo, lp->bo, N, D, D);
        add_dropout(x_mid, x, ws->tmp, (long)N * D, drop ? pd : 0, ws->drop_key[KEY_ATTN(l)]);

        /* c = gamma2 * LN(x) + beta2;  x = x + dropout(W2 GELU(W1 c + b1) + b2) */
        norm_film(ws, ws->act, SAVED(ws, ln2_mean, l, N), SAVED(ws, ln2_rstd, l, N), x_mid, gamma2, beta2, G, B,
                  L, D, c->film_one_plus);
        linear_forward(f1, ws->act, lp->ffn_w1, lp->ffn_b1, N, D, F);
        gelu_forward(ws->gl, f1, (long)N * F);
        linear_forward(ws->tmp, ws->gl, lp->ffn_w2, lp->ffn_b2, N, F, D);
        add_dropout(y, x_mid, ws->tmp, (long)N * D, drop ? pd : 0, ws->drop_key[KEY_FFN(l)]);
    }

    /* x_est = out(latent) */
    const float *latent = ws->x_res + (long)c->NL * N * D;
    linear_forward(ws->x_est, latent, p->out_w, p->out_b, N, D, E);
}

void model_logits(const Model *m, Workspace *ws, const int32_t *rows, int nrows) {
    const int D = m->cfg.D, N = ws->B * ws->L;
    const float *latent = ws->x_res + (long)m->cfg.NL * N * D;
    if (!rows) nrows = N;
    ws->lm_nrows = nrows;
    /* logits = lm_head(dropout(latent)) on the gathered rows */
    for (int r = 0; r < nrows; r++) {
        ws->lm_rows[r] = rows ? rows[r] : r;
        memcpy(ws->lat + (long)r * D, latent + (long)ws->lm_rows[r] * D, sizeof(float) * D);
    }
    if (ws->dropout_on) dropout_apply(ws->lat, ws->lat, (long)nrows * D, m->cfg.dropout, ws->drop_key[KEY_LM]);
    linear_forward(ws->logits, ws->lat, m->p.lm_w, m->p.lm_b, nrows, D, m->cfg.V);
}

/* ---- interpolation ------------------------------------------------------------ */

void model_norm_table(const Model *m, Workspace *ws) {
    layernorm_forward(ws->emb_norm, NULL, NULL, m->p.embedding, m->p.norm_w, m->p.norm_b, m->cfg.V, m->cfg.E);
}

void model_interp(const Model *m, Workspace *ws, float *out, int out_stride) {
    const int V = m->cfg.V, E = m->cfg.E, n = ws->lm_nrows;
    softmax_rows(ws->logits, n, V);
    /* out = softmax(logits) @ LN_affine(embedding.weight) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, E, V, 1.0f, ws->logits, V, ws->emb_norm, E, 0.0f,
                ws->interp, E);
    for (int r = 0; r < n; r++)
        memcpy(out + (long)ws->lm_rows[r] * out_stride, ws->interp + (long)r * E, sizeof(float) * E);
}

/* ---- backward ------------------------------------------------------------------ */

/* The gradient at a dropout's input, from d at its output: d itself when p is 0, else dropout(d) in buf. */
static const float *through_dropout(float *buf, const float *d, long n, float p, uint32_t key) {
    if (p <= 0) return d;
    dropout_apply(buf, d, n, p, key);
    return buf;
}

void model_backward(const Model *m, Params *g, Workspace *ws, const uint8_t *len_mask) {
    const Config *c = &m->cfg;
    const Params *p = &m->p;
    const int B = ws->B, L = ws->L, N = B * L, D = c->D, E = c->E, F = c->F, V = c->V, H = c->H, HD = D / H,
              G = c->NL * 4 * D;
    const float pd = c->dropout;
    const int drop = ws->dropout_on;
    float *d_res = ws->d_res;
    const float *latent = ws->x_res + (long)c->NL * N * D;

    /* logits = lm_head(dropout(latent[rows])): ws->logits holds d_logits */
    const int nrows = ws->lm_nrows;
    memset(d_res, 0, sizeof(float) * N * D);
    linear_backward(ws->d_a, g->lm_w, g->lm_b, ws->logits, ws->lat, p->lm_w, nrows, D, V, 0);
    if (drop) dropout_apply(ws->d_a, ws->d_a, (long)nrows * D, pd, ws->drop_key[KEY_LM]);
    for (int r = 0; r < nrows; r++) {
        float *dst = d_res + (long)ws->lm_rows[r] * D, *src = ws->d_a + (long)r * D;
        for (int k = 0; k < D; k++) dst[k] += src[k];
    }
    /* x_est = out(latent) */
    linear_backward(d_res, g->out_w, g->out_b, ws->d_x_est, latent, p->out_w, N, D, E, 1);

    memset(ws->d_tg, 0, sizeof(float) * B * G);
    int last = c->NL - 1; /* the last layer run still holds its activations when they are recomputed */
    while (last > 0 && ws->skip[last]) last--;
    for (int l = c->NL - 1; l >= 0; l--) {
        if (ws->skip[l]) continue; /* y = x: the gradient passes through */
        const int redo = ws->recompute && l != last;
        const LayerParams *lp = &p->layer[l];
        LayerParams *lg = &g->layer[l];
        const float *x = ws->x_res + (long)l * N * D;
        const float *gamma1 = ws->tg + 4L * l * D, *gamma2 = gamma1 + D, *beta1 = gamma1 + 2 * D,
                    *beta2 = gamma1 + 3 * D;
        float *dgamma1 = ws->d_tg + 4L * l * D, *dgamma2 = dgamma1 + D, *dbeta1 = dgamma1 + 2 * D,
              *dbeta2 = dgamma1 + 3 * D;
        float *qkv = PER_LAYER(ws, qkv, l, 3L * N * D), *q = qkv, *k = qkv + D, *v = qkv + 2 * D;
        float *probs = PER_LAYER(ws, probs, l, (long)B * H * L * L), *att = PER_LAYER(ws, att, l, N * D);
        const float *x_mid = SAVED(ws, x_mid, l, N * D);
        float *f1 = PER_LAYER(ws, f1, l, (long)N * F); /* becomes GELU'(f1) below */
        float *dq = ws->d_qkv, *dk = ws->d_qkv + D, *dv = ws->d_qkv + 2 * D;
        const float *mean1 = SAVED(ws, ln1_mean, l, N), *rstd1 = SAVED(ws, ln1_rstd, l, N);
        const float *mean2 = SAVED(ws, ln2_mean, l, N), *rstd2 = SAVED(ws, ln2_rstd, l, N);

        /* y = x_mid + dropout(W2 GELU(W1 c + b1) + b2), c = gamma2 * LN(x_mid) + beta2 */
        const float *dy = through_dropout(ws->tmp, d_res, (long)N * D, drop ? pd : 0, ws->drop_key[KEY_FFN(l)]);
        norm_film(ws, ws->act, NULL, NULL, x_mid, gamma2, beta2, G, B, L, D, c->film_one_plus); /* recompute c */
        if (redo) linear_forward(f1, ws->act, lp->ffn_w1, lp->ffn_b1, N, D, F);
        gelu_forward_deriv(ws->gl, f1, f1, (long)N * F); /* recompute GELU(f1); f1 := GELU'(f1) */
        linear_backward(ws->d_gl, lg->ffn_w2, lg->ffn_b2, dy, ws->gl, lp->ffn_w2, N, F, D, 0); /* d_gl is gl */
        mul_inplace(ws->d_gl, f1, (long)N * F);
        linear_backward(ws->d_a, lg->ffn_w1, lg->ffn_b1, ws->d_gl, ws->act, lp->ffn_w1, N, D, F, 0);
        film_backward(ws->d_a, dgamma2, dbeta2, ws->d_a, ws->xhat, gamma2, G, B, L, D, c->film_one_plus);
        layernorm_backward(d_res, NULL, NULL, ws->d_a, x_mid, mean2, rstd2, NULL, N, D);

        /* x_mid = x + dropout(w_o(attention(q, k, v)) + b_o), q k v = a Wq^T, a Wk^T, a Wv^T */
        norm_film(ws, ws->act, NULL, NULL, x, gamma1, beta1, G, B, L, D, c->film_one_plus); /* recompute a */
        if (redo) { /* the forward's lines again, as they were */
            linear_forward(qkv, ws->act, lp->wq, NULL, N, D, 3 * D);
            rotary_forward(q, ws->rot_cos, ws->rot_sin, B, L, 2 * H, HD, c->R, 3 * D);
            attention_forward(att, probs, ws->tmp, q, k, v, len_mask, B, L, H, HD, 3 * D);
        }
        dy = through_dropout(ws->tmp, d_res, (long)N * D, drop ? pd : 0, ws->drop_key[KEY_ATTN(l)]);
        linear_backward(ws->d_a, lg->wo, lg->bo, dy, att, lp->wo, N, D, D, 0);
        attention_backward(dq, dk, dv, ws->d_att_scratch, ws->d_a, probs, q, k, v, len_mask, B, L, H, HD, 3 * D);
        rotary_backward(dq, ws->rot_cos, ws->rot_sin, B, L, 2 * H, HD, c->R, 3 * D); /* dq's heads, then dk's */
        linear_backward(ws->d_a, lg->wq, NULL, ws->d_qkv, ws->act, lp->wq, N, D, 3 * D, 0); /* Wq|Wk|Wv as one */
        film_backward(ws->d_a, dgamma1, dbeta1, ws->d_a, ws->xhat, gamma1, G, B, L, D, c->film_one_plus);
        layernorm_backward(d_res, NULL, NULL, ws->d_a, x, mean1, rstd1, NULL, N, D);
    }

    /* x = dropout(project(h_in)) */
    if (drop) dropout_apply(d_res, d_res, (long)N * D, pd, ws->drop_key[KEY_PROJ]);
    linear_backward(ws->d_h_in, g->proj_w, g->proj_b, d_res, ws->h_in, p->proj_w, N, 3 * E, D, 0);

    /* g = GELU(W4 h + b4) */
    gelu_backward(ws->d_tg, ws->d_tg, ws->tg_pre, (long)B * G);
    linear_backward(ws->d_th, g->time_w4, g->time_b4, ws->d_tg, ws->th, p->time_w4, B, TIME_HIDDEN, G, 0);
    /* h = dropout(GELU(W1 s + b1)) */
    if (drop) dropout_apply(ws->d_th, ws->d_th, (long)B * TIME_HIDDEN, pd, ws->drop_key[KEY_TIME]);
    gelu_backward(ws->d_th, ws->d_th, ws->th_pre, (long)B * TIME_HIDDEN);
    linear_backward(ws->d_tfeat, g->time_w1, g->time_b1, ws->d_th, ws->tfeat, p->time_w1, B, 2 * TIME_FREQS,
                    TIME_HIDDEN, 0);
    /* s = [sin f, cos f], f = t * w * 2 pi:  dw += (ds cos f - dc sin f) * 2 pi t */
    const float two_pi = 6.28318530717958648f;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < TIME_FREQS; j++) {
            float s = ws->tfeat[b * 2 * TIME_FREQS + j], co = ws->tfeat[b * 2 * TIME_FREQS + TIME_FREQS + j];
            float ds = ws->d_tfeat[b * 2 * TIME_FREQS + j], dc = ws->d_tfeat[b * 2 * TIME_FREQS + TIME_FREQS + j];
            g->time_freq[j] += (ds * co - dc * s) * two_pi * ws->t[b];
        }
}
