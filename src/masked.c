/* masked.c: the masked-diffusion family's loss, mask draws and samplers
 * (masked.h). The network is model.c's, unchanged; what differs from the
 * continuous family (diffusion.c) is only what goes into its input channels
 * and what the output is trained on. */
#include "masked.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* ---- training masks ---------------------------------------------------------------- */

/* Hides `k` positions among the n in-length ones of visible[] (all 1 on entry) as one or two runs. */
static void hide_spans(Rng *r, uint8_t *visible, const int *pos, int n, int k) {
    int runs = k >= 2 && rng_uniform(r) < 0.5 ? 2 : 1;
    int first = runs == 2 ? 1 + (int)rng_below(r, (uint64_t)(k - 1)) : k; /* lengths first, k - first */
    int free_slots = n - k;                                          /* shown positions to place around them */
    int before = (int)rng_below(r, (uint64_t)free_slots + 1), between = 0;
    if (runs == 2 && free_slots - before > 0) between = 1 + (int)rng_below(r, (uint64_t)(free_slots - before));
    int at = before;
    for (int j = 0; j < first; j++) visible[pos[at++]] = 0;
    at += between;
    for (int j = first; j < k && at < n; j++) visible[pos[at++]] = 0;
}

int masked_draw(Rng *r, const uint8_t *len_mask, int L, float t, MaskDraw kind, uint8_t *visible) {
    int pos[L > 0 ? L : 1], n = 0;
    for (int l = 0; l < L; l++) {
        visible[l] = 0;
        if (len_mask[l]) visible[l] = 1, pos[n++] = l;
    }
    if (!n) return 0;
    int hidden = 0;
    if (kind == MASKDRAW_SPANS) {
        int k = (int)lroundf(t * (float)n);
        k = k < 1 ? 1 : k > n ? n : k;
        hide_spans(r, visible, pos, n, k);
        hidden = k;
    } else {
        for (int j = 0; j < n; j++)
            if (rng_uniform(r) < t) visible[pos[j]] = 0, hidden++;
        if (!hidden) visible[pos[rng_below(r, (uint64_t)n)]] = 0, hidden = 1;
    }
    return hidden;
}

/* ---- the loss ------------------------------------------------------------------------ */

/* h_in for the masked family: [MASK] in the noised channel where hidden, the token in the known channel where
 * visible, nothing outside the length; ws->x0 holds LN_affine(embedding[ids_in]). */
static void masked_inputs(const Model *m, Workspace *ws, const int32_t *ids, const uint8_t *len_mask,
                          const uint8_t *visible, int N) {
    const int E = m->cfg.E, V = m->cfg.V;
    for (int i = 0; i < N; i++) ws->ids_in[i] = len_mask[i] && !visible[i] ? V : ids[i];
    diffusion_embed(m, ws, ws->ids_in, N);
    for (long i = 0; i < N; i++) {
        float *h = ws->h_in + i * 3 * E;
        const float *x0 = ws->x0 + i * E;
        int hidden = len_mask[i] && !visible[i], shown = len_mask[i] && visible[i];
        for (int c = 0; c < E; c++) {
            h[c] = hidden ? x0[c] : 0.0f;
            h[E + c] = shown ? x0[c] : 0.0f;
            h[2 * E + c] = 0.0f;
        }
    }
}

void masked_loss(const Model *m, Params *g, Workspace *ws, const LossInput *in, float grad_scale, Rng *rng,
                 LossStats *out) {
    const int B = in->B, L = in->L, N = B * L, E = m->cfg.E;
    masked_inputs(m, ws, in->ids, in->len_mask, in->cond, N);
    for (int b = 0; b < B; b++) ws->t[b] = in->t[b];
    long n = diffusion_loss_rows(ws, in);
    model_forward(m, ws, B, L, in->len_mask, rng);
    model_logits(m, ws, ws->loss_rows, (int)n);
    double ce, correct;
    diffusion_ce(m, ws, in, n, grad_scale, g != NULL, &ce, &correct);
    *out = (LossStats){.loss = n ? ce / n : 0, .mse = 0, .ce = n ? ce / n : 0, .accuracy = n ? correct / n : 0,
                       .targets = n};
    if (!g) return;

    memset(ws->d_x_est, 0, sizeof(float) * N * E); /* no MSE term: the estimator's out layer gets no gradient */
    model_backward(m, g, ws, in->len_mask);
    /* h = [MASK] row where hidden, the token where shown: each channel's gradient goes to the row it embedded */
    for (long i = 0; i < N; i++) {
        const float *dh = ws->d_h_in + i * 3 * E;
        float *dx0 = ws->d_x0 + i * E;
        int hidden = in->len_mask[i] && !in->cond[i], shown = in->len_mask[i] && in->cond[i];
        for (int c = 0; c < E; c++) dx0[c] = hidden ? dh[c] : shown ? dh[E + c] : 0.0f;
    }
    diffusion_embed_backward(m, g, ws, ws->ids_in, N);
}

/* ---- sampling ------------------------------------------------------------------------ */

/* A position still hidden: not known, not revealed, inside its sequence's length. */
static int is_hidden(const Sampler *s, long i) { return !s->known[i] && (!s->len_mask || s->len_mask[i]); }

static int hidden_in(const Sampler *s, int b) {
    int n = 0;
    for (long i = (long)b * s->L; i < (long)(b + 1) * s->L; i++) n += is_hidden(s, i);
    return n;
}

int masked_sampler_begin(Sampler *s, Err *e) {
    const Model *m = s->m;
    const int E = m->cfg.E, V = m->cfg.V;
    if (s->req.kind != SAMPLER_REVEAL && s->req.kind != SAMPLER_MDLM)
        return err_set(e, "sampler %s is for the continuous family; this model is masked (reveal or mdlm)",
                       sampler_name(s->req.kind));
    s->t_seq = calloc((size_t)s->B, sizeof(float));
    if (!s->t_seq) return err_set(e, "out of memory for sampling");
    float mean, rstd, *mask_row = s->x_sc; /* x_sc stays 0 in this family: borrow its first row */
    layernorm_forward(mask_row, &mean, &rstd, m->p.embedding + (long)V * E, m->p.norm_w, m->p.norm_b, 1, E);
    for (long i = s->N - 1; i >= 0; i--) {
        if (is_hidden(s, i)) memcpy(s->x + i * E, mask_row, sizeof(float) * E);
        else memset(s->x + i * E, 0, sizeof(float) * E);
    }
    memset(mask_row, 0, sizeof(float) * E);
    int most = 1;
    for (int b = 0; b < s->B; b++) {
        s->open0[b] = hidden_in(s, b);
        most = s->open0[b] > most ? s->open0[b] : most;
    }
    if (s->req.steps > most) s->req.steps = most; /* a step that reveals nothing changes nothing */
    return 0;
}

/* Shows position i as token id: the known channel gets its embedding, the noised channel is cleared. */
static void reveal(Sampler *s, long i, int id, float p) {
    const int E = s->m->cfg.E;
    float mean, rstd;
    s->known[i] = 1;
    s->ids[i] = id;
    s->conf[i] = p;
    layernorm_forward(s->x0_known + i * E, &mean, &rstd, s->m->p.embedding + (long)id * E, s->m->p.norm_w,
                      s->m->p.norm_b, 1, E);
    memset(s->x + i * E, 0, sizeof(float) * E);
}

/* Draws a piece from row's softmax (row unchanged); *p gets its probability. */
static int draw_piece(Rng *r, const float *row, int V, float *p) {
    int best;
    float lse = row_logsumexp(row, V, &best);
    double u = rng_uniform(r), acc = 0;
    for (int v = 0; v < V; v++) {
        float q = expf(row[v] - lse);
        acc += q;
        if (u < acc) return *p = q, v;
    }
    return *p = expf(row[best] - lse), best;
}

/* Reveals the k hidden positions of sequence b with the highest confidence, perturbed by Gumbel noise that
 * fades as the gap fills (so candidates differ early and agree on what is sure). */
static void reveal_surest(Sampler *s, int b, int k, float t) {
    const long lo = (long)b * s->L, hi = lo + s->L;
    float key[s->L];
    for (long i = lo; i < hi; i++) {
        double u = rng_uniform(&s->rng);
        float g = (float)-log(-log(u + 1e-12) + 1e-12);
        key[i - lo] = is_hidden(s, i) ? logf(s->conf[i] + 1e-30f) + t * g : -INFINITY;
    }
    for (; k > 0; k--) {
        long best = -1;
        for (long i = lo; i < hi; i++)
            if (is_hidden(s, i) && (best < 0 || key[i - lo] > key[best - lo])) best = i;
        if (best < 0) return;
        reveal(s, best, s->ids[best], s->conf[best]);
    }
}

int masked_sampler_step(Sampler *s) {
    if (s->done) return 0;
    const int S = s->req.steps, left = S - s->step, V = s->m->cfg.V;
    for (int b = 0; b < s->B; b++) s->t_seq[b] = s->open0[b] ? (float)hidden_in(s, b) / (float)s->open0[b] : 0.0f;
    sampler_estimate(s);
    for (int b = 0; b < s->B; b++) {
        int hidden = hidden_in(s, b);
        if (s->req.kind == SAMPLER_REVEAL) {
            reveal_surest(s, b, (hidden + left - 1) / left, s->t_seq[b]);
            continue;
        }
        for (long i = (long)b * s->L; i < (long)(b + 1) * s->L; i++) /* MDLM: t -> s reveals (t - s) / t */
            if (is_hidden(s, i) && (left == 1 || rng_uniform(&s->rng) * left < 1.0)) {
                float p;
                int id = draw_piece(&s->rng, s->ws->logits + i * V, V, &p);
                reveal(s, i, id, p);
            }
    }
    s->step++;
    s->t = (float)(S - s->step) / (float)S;
    for (long i = 0; i < s->N; i++)
        if (is_hidden(s, i)) s->conf[i] = -s->conf[i];
    if (s->step == S) s->done = 1;
    return !s->done;
}
