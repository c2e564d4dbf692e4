/* diffusion.c: schedule, training loss with self-conditioning, and the
 * samplers (difflm, ddim, ddpm, unmask), unconditional and infilling; the
 * sampler's entry points also run the masked family's (masked.c). Legend as
 * in diffusion.h. The network itself is model.c. */
#include "diffusion.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "masked.h"
#include "ops.h"
#include "par.h"

float diffusion_gamma(float t) {
    /* float32, rounded op by op in the seed's order: gamma(0) must be 0.99999988f */
    float a = ((t + 0.0002f) / 1.00025f) * 3.14159265f / 2.0f;
    float c = cosf(a);
    return c * c;
}

float diffusion_gamma_shift(float t, float shift) {
    float g = diffusion_gamma(t);
    if (shift <= 0 || shift == 1.0f) return g;
    /* snr' = snr * shift^2;  g' = snr' / (1 + snr') */
    double snr = (double)g / (1.0 - (double)g) * shift * shift;
    return (float)(snr / (1.0 + snr));
}

/* x0 = LN_affine(embedding[ids]) into ws->x0, keeping the raw rows and stats. */
void diffusion_embed(const Model *m, Workspace *ws, const int32_t *ids, int N) {
    const int E = m->cfg.E;
    for (int i = 0; i < N; i++) memcpy(ws->emb_raw + (long)i * E, m->p.embedding + (long)ids[i] * E, sizeof(float) * E);
    layernorm_forward(ws->x0, ws->emb_mean, ws->emb_rstd, ws->emb_raw, m->p.norm_w, m->p.norm_b, N, E);
}

/* x0 = LN_affine(embedding[ids]), backward: from ws->d_x0 into the norm's gradient and the embedding rows. */
void diffusion_embed_backward(const Model *m, Params *g, Workspace *ws, const int32_t *ids, int N) {
    const int E = m->cfg.E;
    memset(ws->d_emb, 0, sizeof(float) * N * E);
    layernorm_backward(ws->d_emb, g->norm_w, g->norm_b, ws->d_x0, ws->emb_raw, ws->emb_mean, ws->emb_rstd,
                       m->p.norm_w, N, E);
    for (long i = 0; i < N; i++) {
        float *dst = g->embedding + (long)ids[i] * E;
        for (int c = 0; c < E; c++) dst[c] += ws->d_emb[i * E + c];
    }
}

/* Index of the largest of x[n] (the first on ties, as torch.argmax). */
static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* ---- training loss ---------------------------------------------------------------- */

/* x_t = sqrt(g) x0 + sqrt(1-g) z; x_noised = x_t off the known positions, x_cond = x0 on them, x_sc = 0 */
static void noised_inputs(const Model *m, Workspace *ws, const LossInput *in) {
    const int B = in->B, L = in->L, E = m->cfg.E;
    for (int b = 0; b < B; b++) {
        ws->t[b] = in->t[b];
        float gm = diffusion_gamma_shift(in->t[b], in->shift), sg = sqrtf(gm), sn = sqrtf(1.0f - gm);
        for (int l = 0; l < L; l++) {
            long i = (long)b * L + l;
            const float *x0 = ws->x0 + i * E, *z = in->z + i * E;
            float *h = ws->h_in + i * 3 * E;
            int known = in->cond[i] != 0;
            for (int c = 0; c < E; c++) {
                h[c] = known ? 0.0f : sg * x0[c] + sn * z[c];
                h[E + c] = known ? x0[c] : 0.0f;
                h[2 * E + c] = 0.0f;
            }
        }
    }
}

/* Its backward: x_noised = (sqrt(g) x0 + sqrt(1-g) z) off known;  x_cond = x0 on known;  x0 = LN_affine(emb[ids]) */
static void noised_inputs_backward(const Model *m, Params *g, Workspace *ws, const LossInput *in) {
    const int B = in->B, L = in->L, E = m->cfg.E;
    for (int b = 0; b < B; b++) {
        float sg = sqrtf(diffusion_gamma_shift(in->t[b], in->shift));
        for (int l = 0; l < L; l++) {
            long i = (long)b * L + l;
            const float *dh = ws->d_h_in + i * 3 * E;
            float *dx0 = ws->d_x0 + i * E;
            for (int c = 0; c < E; c++) dx0[c] = in->cond[i] ? dh[E + c] : sg * dh[c];
        }
    }
    diffusion_embed_backward(m, g, ws, in->ids, B * L);
}

long diffusion_loss_rows(Workspace *ws, const LossInput *in) {
    const long N = (long)in->B * in->L;
    long n = 0;
    for (long i = 0; i < N; i++)
        if (in->len_mask[i] && !in->cond[i]) ws->loss_rows[n++] = (int32_t)i;
    return n;
}

/* self-conditioning: x_sc = interp(estimator([x_noised, x_cond, 0])), no gradient, 0 on known positions
 * (and, unused by the loss, on padding) */
static void self_condition(const Model *m, Workspace *ws, const LossInput *in, long n, Rng *rng) {
    model_forward(m, ws, in->B, in->L, in->len_mask, rng);
    model_logits(m, ws, ws->loss_rows, (int)n);
    model_norm_table(m, ws);
    model_interp(m, ws, ws->h_in + 2 * m->cfg.E, 3 * m->cfg.E);
}

/* The summed mean_E((x_est - x0)^2) over the loss rows, and with grad its gradient in ws->d_x_est (0 elsewhere). */
static double mse_terms(const Model *m, Workspace *ws, const LossInput *in, long n, float grad_scale, int grad) {
    const int E = m->cfg.E, L = in->L;
    float inv_n = n ? 1.0f / (float)n : 0.0f;
    double mse = 0;
    if (grad) memset(ws->d_x_est, 0, sizeof(float) * in->B * L * E);
    for (long r = 0; r < n; r++) {
        long i = ws->lm_rows[r];
        const float *xe = ws->x_est + i * E, *x0 = (in->target ? in->target : ws->x0) + i * E;
        float w = in->seq_weight ? in->seq_weight[i / L] : 1.0f;
        double se = 0;
        for (int c = 0; c < E; c++) {
            float d = xe[c] - x0[c];
            se += (double)d * d;
            if (grad) ws->d_x_est[i * E + c] = 2.0f * d / (float)E * inv_n * grad_scale * w;
        }
        mse += se / E;
    }
    return mse;
}

typedef struct {
    Workspace *ws;
    const LossInput *in;
    int V, grad;
    float scale;
} CeArgs;

/* Loss rows r0 .. r1-1: each row's log-sum-exp, target logit and argmax, then (grad) the row becomes its gradient. */
static void ce_rows(void *p, long r0, long r1) {
    const CeArgs *a = p;
    Workspace *ws = a->ws;
    for (long r = r0; r < r1; r++) {
        long i = ws->lm_rows[r];
        float *row = ws->logits + r * a->V;
        int id = a->in->ids[i], best;
        float lse = row_logsumexp(row, a->V, &best);
        ws->ce_lse[r] = lse;
        ws->ce_target[r] = row[id];
        ws->ce_best[r] = best;
        float w = a->in->seq_weight ? a->in->seq_weight[i / a->in->L] : 1.0f;
        if (a->grad) row_softmax_grad(row, a->V, lse, id, a->scale * w); /* d logits = (softmax - onehot) / N */
    }
}

void diffusion_ce(const Model *m, Workspace *ws, const LossInput *in, long n, float grad_scale, int grad, double *ce,
                  double *correct) {
    const int V = m->cfg.V, L = in->L;
    float inv_n = n ? 1.0f / (float)n : 0.0f;
    CeArgs a = {.ws = ws, .in = in, .V = V, .grad = grad, .scale = inv_n * grad_scale};
    par_for(n, (8192 + V - 1) / V, ce_rows, &a); /* rows apart: each as in one pass */
    if (in->seq_correct)
        for (int b = 0; b < in->B; b++) in->seq_correct[b] = in->seq_targets[b] = 0;
    if (in->seq_ce)
        for (int b = 0; b < in->B; b++) in->seq_ce[b] = 0;
    *ce = *correct = 0;
    for (long r = 0; r < n; r++) { /* the sums in row order */
        long i = ws->lm_rows[r];
        int hit = ws->ce_best[r] == in->ids[i];
        *correct += hit;
        if (in->seq_correct) in->seq_correct[i / L] += hit, in->seq_targets[i / L]++;
        if (in->seq_ce) in->seq_ce[i / L] += ws->ce_lse[r] - ws->ce_target[r];
        *ce += (double)ws->ce_lse[r] - ws->ce_target[r];
    }
}

void diffusion_loss(const Model *m, Params *g, Workspace *ws, const LossInput *in, float grad_scale, Rng *rng,
                    LossStats *out) {
    diffusion_embed(m, ws, in->ids, in->B * in->L);
    noised_inputs(m, ws, in);
    long n = diffusion_loss_rows(ws, in);
    if (in->selfcond) self_condition(m, ws, in, n, rng);

    model_forward(m, ws, in->B, in->L, in->len_mask, rng);
    model_logits(m, ws, ws->loss_rows, (int)n);

    /* mse (mean over E) + cross-entropy, each averaged over the n target positions */
    double mse = mse_terms(m, ws, in, n, grad_scale, g != NULL), ce, correct;
    diffusion_ce(m, ws, in, n, grad_scale, g != NULL, &ce, &correct);
    out->targets = n;
    out->mse = n ? mse / n : 0;
    out->ce = n ? ce / n : 0;
    out->accuracy = n ? correct / n : 0;
    out->loss = out->mse + out->ce;
    if (!g) return;

    model_backward(m, g, ws, in->len_mask);
    noised_inputs_backward(m, g, ws, in);
}

/* ---- samplers ---------------------------------------------------------------------- */

static const char *sampler_names[SAMPLER_COUNT] = {"difflm", "ddim", "ddpm", "unmask", "reveal", "mdlm"};

const char *sampler_name(SamplerKind k) { return k >= 0 && k < SAMPLER_COUNT ? sampler_names[k] : "?"; }

int sampler_fits(SamplerKind k, const Config *c) {
    int masked_kind = k == SAMPLER_REVEAL || k == SAMPLER_MDLM;
    return k >= 0 && k < SAMPLER_COUNT && masked_kind == (c->masked != 0);
}

SamplerKind sampler_fit(SamplerKind k, const Config *c) {
    return sampler_fits(k, c) ? k : c->masked ? SAMPLER_REVEAL : SAMPLER_DIFFLM;
}

const char *sampler_choices(const Config *c) { return c->masked ? "reveal or mdlm" : "difflm, ddim, ddpm or unmask"; }

int sampler_parse(const char *name, SamplerKind *k) {
    for (int i = 0; i < SAMPLER_COUNT; i++)
        if (!strcmp(name, sampler_names[i])) {
            *k = (SamplerKind)i;
            return 0;
        }
    return -1;
}

/* A position the sampler still has to fill: not known or fixed, inside its sequence's length. */
static int is_open(const Sampler *s, long i) { return !s->known[i] && (!s->len_mask || s->len_mask[i]); }

int sampler_begin(Sampler *s, const Model *m, Workspace *ws, const SampleRequest *req, Err *e) {
    memset(s, 0, sizeof *s);
    const int B = req->B, L = req->L, N = B * L, E = m->cfg.E;
    if (B < 1 || L < 1 || B > ws->Bcap || L > ws->Lcap)
        return err_set(e, "cannot sample %d x %d with a workspace of %d x %d", B, L, ws->Bcap, ws->Lcap);
    if (req->steps < 1) return err_set(e, "sampling needs at least one step, not %d", req->steps);
    if (req->kind < 0 || req->kind >= SAMPLER_COUNT) return err_set(e, "unknown sampler %d", req->kind);
    if (!sampler_fits(req->kind, &m->cfg))
        return err_set(e, "sampler %s does not fit a %s model: use %s", sampler_name(req->kind),
                       m->cfg.masked ? "masked" : "continuous", sampler_choices(&m->cfg));
    if (req->known && !req->ids) return err_set(e, "known positions given without their tokens");
    if (req->times)
        for (int k = 0; k <= req->steps; k++)
            if (!(req->times[k] >= 0 && req->times[k] <= 1) || (k && req->times[k] > req->times[k - 1]))
                return err_set(e, "sampling time %d (%g) is not in [0, 1] or rises: times must fall from 1 to 0", k,
                               (double)req->times[k]);
    s->m = m;
    s->ws = ws;
    s->req = *req;
    s->B = B;
    s->L = L;
    s->N = N;
    s->t = req->times ? req->times[0] : 1.0f;
    rng_seed(&s->rng, req->seed);
    s->x = calloc((size_t)N * E, sizeof(float));
    s->x_sc = calloc((size_t)N * E, sizeof(float));
    s->x0_known = calloc((size_t)N * E, sizeof(float));
    s->ids = calloc((size_t)N, sizeof(int32_t));
    s->conf = calloc((size_t)N, sizeof(float));
    s->len_mask = req->lengths ? calloc((size_t)N, 1) : NULL;
    int unmask = req->kind == SAMPLER_UNMASK || m->cfg.masked; /* both fix positions as they go */
    s->known = req->known || unmask ? calloc((size_t)N, 1) : NULL;
    s->open0 = unmask ? calloc((size_t)B, sizeof(int)) : NULL;
    s->open = req->fuse ? calloc((size_t)N, 1) : NULL;
    if (!s->x || !s->x_sc || !s->x0_known || !s->ids || !s->conf || (req->lengths && !s->len_mask) ||
        ((req->known || unmask) && !s->known) || (unmask && !s->open0) || (req->fuse && !s->open)) {
        sampler_end(s);
        return err_set(e, "out of memory for sampling %d x %d", B, L);
    }
    if (req->lengths)
        for (int b = 0; b < B; b++)
            for (int l = 0; l < L; l++) s->len_mask[(long)b * L + l] = l < req->lengths[b];
    if (req->x_T) memcpy(s->x, req->x_T, sizeof(float) * N * E);
    else rng_fill_normal(&s->rng, s->x, (long)N * E, 1.0f);
    if (req->known) {
        for (long i = 0; i < N; i++) {
            if (!req->known[i]) continue;
            if (req->ids[i] < 0 || req->ids[i] >= m->cfg.V) {
                sampler_end(s);
                return err_set(e, "known token id %d is outside the vocabulary of %d", req->ids[i], m->cfg.V);
            }
            s->ids[i] = req->ids[i];
            s->conf[i] = 1.0f;
            s->known[i] = 1;
        }
        diffusion_embed(m, ws, s->ids, N); /* unknown positions embed id 0 and are not used */
        for (long i = 0; i < N; i++)
            if (req->known[i]) {
                memcpy(s->x0_known + i * E, ws->x0 + i * E, sizeof(float) * E);
                memset(s->x + i * E, 0, sizeof(float) * E);
            }
    }
    if (m->cfg.masked) {
        if (masked_sampler_begin(s, e)) return sampler_end(s), -1;
        return 0;
    }
    if (unmask)
        for (long i = 0; i < N; i++) s->open0[i / L] += is_open(s, i);
    model_norm_table(m, ws);
    return 0;
}

/* Argmax and top probability of rows i0 .. i1-1 of the logits (not modified). */
static void predictions_rows(void *p, long i0, long i1) {
    Sampler *s = p;
    const int V = s->m->cfg.V;
    for (long i = i0; i < i1; i++) {
        if (s->known && s->known[i]) continue;
        int best;
        float lse = row_logsumexp(s->ws->logits + i * V, V, &best);
        s->ids[i] = best;
        s->conf[i] = expf(s->ws->logits[i * V + best] - lse);
    }
}

static void read_predictions(Sampler *s) { par_for(s->N, (8192 + s->m->cfg.V - 1) / s->m->cfg.V, predictions_rows, s); }

/* x_sc = the nearest row of the normalised embedding table (Diffusion-LM's clamping). */
static void clamp_to_embeddings(Sampler *s) {
    const int V = s->m->cfg.V, E = s->m->cfg.E;
    Workspace *ws = s->ws;
    /* argmin_v |x - e_v|^2 = argmax_v (2 x.e_v - |e_v|^2); logits is free scratch here */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->N, V, E, 2.0f, s->x_sc, E, ws->emb_norm, E, 0.0f,
                ws->logits, V);
    for (long i = 0; i < s->N; i++) {
        float *row = ws->logits + i * V;
        for (int v = 0; v < V; v++) {
            const float *ev = ws->emb_norm + (long)v * E;
            float n2 = 0;
            for (int c = 0; c < E; c++) n2 += ev[c] * ev[c];
            row[v] -= n2;
        }
        memcpy(s->x_sc + i * E, ws->emb_norm + (long)argmax(row, V) * E, sizeof(float) * E);
    }
}

/* One estimator pass on [x, x_cond, x_sc] at s->t (or each sequence's s->t_seq). */
void sampler_estimate(Sampler *s) {
    const int E = s->m->cfg.E, N = s->N;
    Workspace *ws = s->ws;
    for (long i = 0; i < N; i++) {
        float *h = ws->h_in + i * 3 * E;
        memcpy(h, s->x + i * E, sizeof(float) * E);
        memcpy(h + E, s->x0_known + i * E, sizeof(float) * E);
        memcpy(h + 2 * E, s->x_sc + i * E, sizeof(float) * E);
    }
    for (int b = 0; b < s->B; b++) ws->t[b] = s->t_seq ? s->t_seq[b] : s->t;
    model_forward(s->m, ws, s->B, s->L, s->len_mask, NULL);
    model_logits(s->m, ws, NULL, N);
    read_predictions(s);
    if (s->req.fuse) { /* the neighbours of a position are this pass's best guesses; then read again */
        for (long i = 0; i < N; i++) s->open[i] = !(s->known && s->known[i]) && (!s->len_mask || s->len_mask[i]);
        s->req.fuse(s->req.fuse_ctx, s->B, s->L, s->m->cfg.V, s->ids, s->open, ws->logits);
        read_predictions(s);
    }
}

/* unmask: fix the most confident open positions of sequence b until `target` of its open0 are fixed. */
static void unmask_fix(Sampler *s, int b, int target) {
    const int L = s->L, E = s->m->cfg.E;
    int open = 0;
    for (long i = (long)b * L; i < (long)(b + 1) * L; i++) open += is_open(s, i);
    for (int todo = target - (s->open0[b] - open); todo > 0; todo--) {
        long best = -1;
        for (long i = (long)b * L; i < (long)(b + 1) * L; i++)
            if (is_open(s, i) && (best < 0 || s->conf[i] > s->conf[best])) best = i;
        if (best < 0) return;
        s->known[best] = 1;
        float mean, rstd; /* the conditional channel's x0 = LN_affine(embedding[id]) */
        layernorm_forward(s->x0_known + best * E, &mean, &rstd, s->m->p.embedding + (long)s->ids[best] * E,
                          s->m->p.norm_w, s->m->p.norm_b, 1, E);
        memset(s->x + best * E, 0, sizeof(float) * E);
        memset(s->x_sc + best * E, 0, sizeof(float) * E);
    }
}

static int unmask_step(Sampler *s) {
    const int E = s->m->cfg.E, N = s->N, S = s->req.steps;
    if (s->step == S) { /* every open position is fixed: nothing left to estimate */
        s->t = 0;
        s->done = 1;
        return 0;
    }
    /* a pass at t = 1 from fresh noise on the open positions, self-conditioned on the last step's estimate */
    const float *eps = s->req.eps ? s->req.eps + (long)s->step * N * E : NULL;
    for (long i = 0; i < N; i++)
        for (int c = 0; c < E; c++)
            s->x[i * E + c] = s->known[i] ? 0.0f : eps ? eps[i * E + c] : rng_normal(&s->rng);
    s->t = 1.0f;
    sampler_estimate(s);
    model_interp(s->m, s->ws, s->x_sc, E);
    for (long i = 0; i < N; i++)
        if (s->known[i]) memset(s->x_sc + i * E, 0, sizeof(float) * E);
    /* then at t = 0 on that estimate, as the other samplers' last pass: its argmax and confidence decide */
    for (long i = 0; i < N; i++)
        if (!s->known[i]) memcpy(s->x + i * E, s->x_sc + i * E, sizeof(float) * E);
    s->t = 0.0f;
    sampler_estimate(s);
    s->step++;
    for (int b = 0; b < s->B; b++) unmask_fix(s, b, (int)(((long)s->open0[b] * s->step + S - 1) / S));
    s->t = 1.0f;
    return 1;
}

int sampler_step(Sampler *s) {
    if (s->done) return 0;
    if (s->m->cfg.masked) return masked_sampler_step(s);
    if (s->req.kind == SAMPLER_UNMASK) return unmask_step(s);
    const int E = s->m->cfg.E, N = s->N, S = s->req.steps;
    Workspace *ws = s->ws;
    sampler_estimate(s);
    if (s->step == S) { /* the final pass at t = 0: ids are read, nothing else to do */
        s->done = 1;
        return 0;
    }
    model_interp(s->m, ws, s->x_sc, E);
    if (s->req.clamp) clamp_to_embeddings(s);
    if (s->known)
        for (long i = 0; i < N; i++)
            if (s->known[i]) memset(s->x_sc + i * E, 0, sizeof(float) * E);

    /* as the seed: times from the step index in double, stored as float32 (or the given spacing) */
    float t_next = s->req.times ? s->req.times[s->step + 1] : (float)fmax(1.0 - (double)(s->step + 1) / S, 0.0);
    float g_now = diffusion_gamma_shift(s->t, s->req.shift), g_next = diffusion_gamma_shift(t_next, s->req.shift);
    const float *eps = s->req.eps ? s->req.eps + (long)s->step * N * E : NULL;
    float sq_next = sqrtf(g_next), sn_next = sqrtf(1.0f - g_next), sq_now = sqrtf(g_now), sn_now = sqrtf(1.0f - g_now);
    float a = g_now / g_next;
    for (long i = 0; i < (long)N * E; i++) {
        float noise = 0;
        if (s->req.kind != SAMPLER_DDIM) noise = eps ? eps[i] : rng_normal(&s->rng);
        float x = s->x[i], xs = s->x_sc[i];
        switch (s->req.kind) {
        case SAMPLER_DIFFLM: x = sq_next * xs + sn_next * noise; break;
        case SAMPLER_DDIM: {
            float e = (x - sq_now * xs) / sn_now;
            x = sq_next * xs + sn_next * e;
            break;
        }
        default: {
            float e = (x - sq_now * xs) / sn_now;
            x = (x - (1.0f - a) * e / sn_now) / sqrtf(a) + sqrtf(1.0f - a) * noise;
            break;
        }
        }
        s->x[i] = x;
    }
    if (s->known)
        for (long i = 0; i < N; i++)
            if (s->known[i]) memset(s->x + i * E, 0, sizeof(float) * E);
    s->t = t_next;
    s->step++;
    return 1;
}

void sampler_end(Sampler *s) {
    free(s->x);
    free(s->x_sc);
    free(s->x0_known);
    free(s->ids);
    free(s->conf);
    free(s->len_mask);
    free(s->known);
    free(s->open0);
    free(s->open);
    free(s->t_seq);
    s->open = NULL;
    s->t_seq = NULL;
    s->known = NULL;
    s->open0 = NULL;
    s->x = s->x_sc = s->x0_known = s->conf = NULL;
    s->ids = NULL;
    s->len_mask = NULL;
}

int sampler_passes(const Sampler *s) { return s->req.steps + !s->m->cfg.masked; }

int sampler_passes_done(const Sampler *s) { return s->done && !s->m->cfg.masked ? s->req.steps + 1 : s->step; }

int diffusion_sample(const Model *m, Workspace *ws, const SampleRequest *req, SampleCallback cb, void *ctx,
                     int32_t *ids_out, Err *e) {
    Sampler s;
    if (sampler_begin(&s, m, ws, req, e)) return -1;
    int stopped = 0;
    for (;;) {
        float t = s.t;
        int more = sampler_step(&s);
        if (cb && cb(ctx, sampler_passes_done(&s), sampler_passes(&s), t, s.ids, s.conf)) {
            stopped = 1;
            break;
        }
        if (!more) break;
    }
    if (ids_out) memcpy(ids_out, s.ids, sizeof(int32_t) * s.N);
    sampler_end(&s);
    return stopped;
}
