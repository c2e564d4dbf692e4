/* score.c: the cross-entropy a model gives its own fills (see score.h).
 *
 * Each sequence becomes SCORE_LEVELS rows of one batch, one per noise level;
 * a chunk of sequences goes through diffusion_loss at a time, so memory stays
 * bounded however many candidates there are. A masked model's level is the
 * share of the filled pieces hidden again (by a fixed draw, at least one),
 * scored by masked_loss. */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "masked.h"
#include "rng.h"

const float score_levels[SCORE_LEVELS] = {0.8f, 0.9f, 0.95f, 1.0f};

enum { SCORE_CHUNK = 16 };                 /* sequences per diffusion_loss call */
#define SCORE_SEED 0x5c0e5eedull           /* the noise: fixed, so scores are reproducible */

/* One chunk's rows: each sequence's K noise levels side by side. */
typedef struct {
    int32_t *ids;          /* [R, W] */
    uint8_t *lm, *cond;    /* [R, W] length mask; given (not scored) */
    float *t;              /* [R] time input */
    float *z;              /* [R, W, E] */
    const float *zl;       /* [K, L, E] the noise of each level */
} Rows;

/* Sequence s's K rows of width W, from row `row0` on: its pieces, the filled
 * ones noised again at each level (a masked model's hidden again with the
 * level's probability, one at least, its time input the hidden share).
 * Returns the positions scored over the K rows. */
static int level_rows(const ModelFile *mf, const int32_t *ids, const uint8_t *known, int s, int len, int L, int W,
                      long row0, Rows *x) {
    const int E = mf->model.cfg.E, masked = mf->model.cfg.masked;
    int filled = 0;
    for (int k = 0; k < SCORE_LEVELS; k++) {
        long row = row0 + k;
        x->t[row] = score_levels[k];
        int hidden = 0, last = -1;
        Rng hide; /* the same positions hidden for every candidate of a template, whatever its batch */
        rng_seed(&hide, SCORE_SEED + 7919u * (uint64_t)(k + 1));
        for (int p = 0; p < W; p++) {
            long i = row * W + p, src = (long)s * L + p;
            x->ids[i] = p < len ? ids[src] : 0;
            x->lm[i] = p < len;
            x->cond[i] = p < len && known[src];
            if (masked && x->lm[i] && !x->cond[i]) { /* hidden again with the level's probability */
                last = p;
                x->cond[i] = rng_uniform(&hide) >= score_levels[k];
            }
            hidden += x->lm[i] && !x->cond[i];
        }
        if (masked && !hidden && last >= 0) x->cond[row * W + last] = 0, hidden = 1;
        if (masked && len) x->t[row] = (float)hidden / (float)len; /* the time input: the hidden share */
        filled += hidden;
        memcpy(x->z + row * W * E, x->zl + (size_t)k * L * E, sizeof(float) * (size_t)W * E);
    }
    return filled;
}

int score_fills(const ModelFile *mf, const int32_t *ids, const uint8_t *known, const int *lengths, int B, int L,
                float *nats, Err *e) {
    if (B < 1 || L < 1) return err_set(e, "nothing to score (%d sequences of %d tokens)", B, L);
    const int E = mf->model.cfg.E, K = SCORE_LEVELS;
    const int cmax = B < SCORE_CHUNK ? B : SCORE_CHUNK, R = cmax * K; /* R rows per call */
    float *zl = malloc(sizeof(float) * (size_t)K * L * E);
    Rows x = {.ids = calloc((size_t)R * L, sizeof(int32_t)), .lm = calloc((size_t)R * L, 1),
              .cond = calloc((size_t)R * L, 1), .t = malloc(sizeof(float) * R),
              .z = malloc(sizeof(float) * (size_t)R * L * E), .zl = zl};
    float *ce = malloc(sizeof(float) * R);
    int *correct = malloc(sizeof(int) * R), *targets = malloc(sizeof(int) * R);
    Workspace ws = {0};
    int rc = -1;
    if (!x.ids || !x.lm || !x.cond || !x.t || !zl || !x.z || !ce || !correct || !targets) {
        err_set(e, "out of memory to score %d sequences of %d tokens", B, L);
        goto out;
    }
    if (workspace_alloc(&ws, &mf->model.cfg, R, L, 0, e)) goto out;
    for (int k = 0; k < K; k++) {
        Rng r;
        rng_seed(&r, SCORE_SEED + (uint64_t)k);
        rng_fill_normal(&r, zl + (size_t)k * L * E, (long)L * E, 1.0f);
    }
    for (int first = 0; first < B; first += cmax) {
        int cb = B - first < cmax ? B - first : cmax, filled = 0, W = 1; /* W: the chunk's longest sequence */
        for (int b = 0; b < cb; b++) {
            int len = lengths ? lengths[first + b] : L;
            W = len > W ? (len < L ? len : L) : W;
        }
        for (int b = 0; b < cb; b++)
            filled += level_rows(mf, ids, known, first + b, lengths ? lengths[first + b] : L, L, W, (long)b * K, &x);
        if (filled) {
            LossInput in = {.B = cb * K, .L = W, .ids = x.ids, .len_mask = x.lm, .cond = x.cond, .t = x.t, .z = x.z,
                            .selfcond = 1, .seq_correct = correct, .seq_targets = targets, .seq_ce = ce,
                            .shift = mf->shift};
            LossStats st;
            if (mf->model.cfg.masked) masked_loss(&mf->model, NULL, &ws, &in, 1.0f, NULL, &st);
            else diffusion_loss(&mf->model, NULL, &ws, &in, 1.0f, NULL, &st);
        }
        for (int b = 0; b < cb; b++) {
            double sum = 0;
            long n = 0;
            for (int k = 0; filled && k < K; k++) sum += ce[b * K + k], n += targets[b * K + k];
            nats[first + b] = n ? (float)(sum / n) : NAN;
        }
    }
    rc = 0;
out:
    workspace_free(&ws);
    free(x.ids), free(x.lm), free(x.cond), free(x.t), free(zl), free(x.z), free(ce), free(correct), free(targets);
    return rc;
}

void score_rank(const float *nats, int n, int *order) {
    for (int i = 0; i < n; i++) order[i] = i;
    /* insertion sort: n is a handful of candidates, and it is stable */
    for (int i = 1; i < n; i++) {
        int o = order[i], j = i;
        float v = nats[o];
        while (j > 0) {
            float u = nats[order[j - 1]];
            int worse = isnan(u) ? !isnan(v) : !isnan(v) && v < u;
            if (!worse) break;
            order[j] = order[j - 1], j--;
        }
        order[j] = o;
    }
}
