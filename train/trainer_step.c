/* trainer_step.c: one optimiser step.
 *
 * A step takes `accum` batches, each cut into chunks of at most CHUNK
 * sequences whose losses are weighted by their share of the targets, so the
 * gradient is the seed's whatever the chunking (and the workspace stays
 * small); a non-finite loss or gradient skips the update.
 *
 * Under MPI (dist.h) every rank builds the same global batch and computes its
 * own rows (a contiguous shard); each row's t and noise come from a generator
 * seeded by (seed, step, batch, row), so a shard draws what one rank would for
 * those rows. Losses are weighted by the rows' share of the global batch's
 * targets, so summing the gradient block over ranks (one MPI_Allreduce after
 * backward) gives the one-rank gradient; the per-row statistics (t, accuracy,
 * CE) are summed too and observed in row order, so the time warp and the
 * curves are the same for any number of ranks, and so are the weights: a
 * checkpoint does not depend on the rank count. */
#include "trainer_impl.h"

#include <math.h>
#include <string.h>

#include "adamw.h"
#include "dist.h"
#include "masked.h"

/* The step's loss statistics, each times its targets, and the targets: one array for the sum
 * over ranks. */
typedef struct {
    double loss, mse, ce, accuracy, targets;
} LossTotals;
typedef union {
    LossTotals by;
    double all[sizeof(LossTotals) / sizeof(double)];
} LossSums;

/* The generator of one row's t and noise: a function of (seed, step, batch of
 * the step, row of the global batch), so any shard draws the same. */
static void row_rng(Rng *r, uint64_t seed, int64_t step, int a, int row) {
    rng_seed(r, rng_mix64(seed ^ 0x7a11ull) ^ rng_mix64((uint64_t)step + 1) ^
                    rng_mix64(((uint64_t)a << 32 | (uint32_t)row) ^ 0x50e5ull));
}

/* Rows [lo, hi) of a B-row global batch are this rank's. */
static void shard(int B, int rank, int ranks, int *lo, int *hi) {
    *lo = (int)((long)B * rank / ranks);
    *hi = (int)((long)B * (rank + 1) / ranks);
}

/* The masked family's draws for the whole global batch (every rank draws all rows alike): times spread
 * evenly over (0, 1] from one uniform u (low variance), half the rows hidden in spans as the editor's gaps
 * are and half uniformly; each row's time input is its hidden share, its weight per the loss (trainer.h). */
static void masked_batch(Trainer *t, const Batch *b, Rng *r, int a) {
    const int L = b->L;
    double u = rng_uniform(r);
    long hidden_all = 0;
    int rows = 0, hidden[b->B];
    for (int i = 0; i < b->B; i++) {
        Rng rr;
        row_rng(&rr, t->cfg.seed ^ 0x3a5cull, t->step, a, i);
        double tt = fmod(u + (double)i / b->B, 1.0);
        tt = pow(tt, t->cfg.mask_t_power); /* P > 1: more of the light masks that most gaps are */
        MaskDraw kind = rng_uniform(&rr) < 0.5 ? MASKDRAW_SPANS : MASKDRAW_UNIFORM;
        hidden[i] = masked_draw(&rr, b->len_mask + (long)i * L, L, tt < 1e-3 ? 1e-3f : (float)tt, kind,
                                t->mvis + (long)i * L);
        int n = 0;
        for (int l = 0; l < L; l++) n += b->len_mask[(long)i * L + l];
        t->mtime[i] = n ? (float)hidden[i] / (float)n : 0.0f;
        hidden_all += hidden[i], rows += hidden[i] > 0;
    }
    for (int i = 0; i < b->B; i++)
        t->mweight[i] = hidden[i] ? (float)((double)hidden_all / ((double)rows * hidden[i])) : 0.0f;
}

/* Each sequence's time, loss weight and (continuous family) noise for the chunk of rows
 * [start, start + cb) of batch a. */
static void chunk_draws(Trainer *t, const Batch *b, int a, int start, int cb) {
    const TrainConfig *c = &t->cfg;
    const int L = b->L, E = t->model.cfg.E;
    if (t->model.cfg.masked) {
        for (int i = 0; i < cb; i++) t->tbuf[i] = t->mtime[start + i], t->wbuf[i] = t->mweight[start + i];
        return;
    }
    for (int i = 0; i < cb; i++) {
        Rng rr;
        row_rng(&rr, c->seed, t->step, a, start + i);
        double u = rng_uniform(&rr);
        float tt = c->time_warp ? warp_sample(&t->warp, u) : (float)u; /* the inverse of the learned CDF */
        t->tbuf[i] = tt < 1e-5f ? 1e-5f : tt > 1 - 1e-5f ? 1 - 1e-5f : tt;
        /* (P + 1) t^P: mean 1 over uniform t, more weight to the noisy, hard times for P > 0 */
        t->wbuf[i] = (c->t_weight + 1) * powf(t->tbuf[i], c->t_weight);
        rng_fill_normal(&rr, t->zbuf + (long)i * L * E, (long)L * E, 1.0f);
    }
}

/* The loss and gradient of one chunk, weighted by its share of the global batch's n_total
 * targets; its statistics go to sums and its rows' to rowstat. */
static void run_chunk(Trainer *t, const Batch *b, const uint8_t *cond, int a, int start, int cb, long n_total,
                      int selfcond, LossSums *sums) {
    const TrainConfig *c = &t->cfg;
    const int L = b->L, masked = t->model.cfg.masked;
    long off = (long)start * L, n_chunk = 0;
    for (long i = 0; i < (long)cb * L; i++) n_chunk += b->len_mask[off + i] && !cond[off + i];
    chunk_draws(t, b, a, start, cb);
    /* dropout and layer-drop draw from the chunk's own generator: they depend on the sharding */
    Rng cr;
    row_rng(&cr, c->seed ^ 0xd50full, t->step, a, start);
    int weighted = masked ? c->mask_loss == MASK_LOSS_ELBO : c->t_weight > 0;
    LossInput in = {.B = cb, .L = L, .ids = b->ids + off, .len_mask = b->len_mask + off,
                    .cond = cond + off, .t = t->tbuf, .z = t->zbuf, .selfcond = selfcond,
                    .seq_correct = t->seq_correct, .seq_targets = t->seq_targets, .seq_ce = t->seq_ce,
                    .shift = c->shift, .seq_weight = weighted ? t->wbuf : NULL};
    float scale = n_total ? (float)n_chunk / (float)n_total / (float)c->accum : 0.0f;
    LossStats st;
    if (masked) masked_loss(&t->model, &t->g, &t->ws, &in, scale, &cr, &st);
    else diffusion_loss(&t->model, &t->g, &t->ws, &in, scale, &cr, &st);
    sums->by.loss += st.loss * n_chunk, sums->by.mse += st.mse * n_chunk, sums->by.ce += st.ce * n_chunk;
    sums->by.accuracy += st.accuracy * n_chunk, sums->by.targets += n_chunk;
    for (int i = 0; i < cb; i++) {
        float *row = t->rowstat + (long)(start + i) * ROWSTAT;
        row[ROW_T] = t->tbuf[i], row[ROW_CORRECT] = (float)t->seq_correct[i];
        row[ROW_TARGETS] = (float)t->seq_targets[i], row[ROW_CE] = t->seq_ce[i];
    }
}

/* Every rank sees every row of the global batch (the others' are zero before the sum), in its
 * order: the accuracy by t and the time warp's curve. */
static void observe_rows(Trainer *t, int B) {
    dist_sum_floats(t->rowstat, (size_t)B * ROWSTAT);
    for (int i = 0; i < B; i++) {
        const float *row = t->rowstat + (long)i * ROWSTAT;
        if (!row[ROW_TARGETS]) continue;
        int k = (int)(row[ROW_T] * TRAIN_TBUCKETS);
        k = k >= TRAIN_TBUCKETS ? TRAIN_TBUCKETS - 1 : k;
        /* a running mean that forgets slowly, so the curve follows training */
        t->tacc_sum[k] = 0.995 * t->tacc_sum[k] + (double)row[ROW_CORRECT] / row[ROW_TARGETS];
        t->tacc_n[k] = 0.995 * t->tacc_n[k] + 1;
        if (t->cfg.time_warp) warp_observe(&t->warp, row[ROW_T], row[ROW_CE] / row[ROW_TARGETS]);
    }
}

/* Batch a of the step: this rank's shard of it, chunk by chunk; moves the data position on. */
static int run_batch(Trainer *t, int a, Rng *r, StepResult *res, LossSums *sums, Err *e) {
    if (batcher_next(t->batcher, &t->batch, e)) return -1;
    Batch *b = &t->batch;
    int selfcond = rng_uniform(r) < 0.5; /* the seed's self-conditioning coin, one per batch */
    if (t->model.cfg.masked) masked_batch(t, b, r, a);
    const uint8_t *cond = t->model.cfg.masked ? t->mvis : b->cond; /* the masked family: what is shown */
    long n_total = 0; /* the global batch's targets */
    for (long i = 0; i < (long)b->B * b->L; i++) n_total += b->len_mask[i] && !cond[i];
    int lo, hi;
    shard(b->B, t->rank, t->ranks, &lo, &hi);
    memset(t->rowstat, 0, sizeof(float) * (size_t)b->B * ROWSTAT);
    for (int start = lo; start < hi; start += t->chunk)
        run_chunk(t, b, cond, a, start, hi - start < t->chunk ? hi - start : t->chunk, n_total, selfcond, sums);
    observe_rows(t, b->B);
    res->tokens += (long)b->B * b->L; /* the global batch's */
    t->epoch = b->epoch;
    t->index = b->index + b->B;
    if (t->index >= corpus_count(&t->corpus)) t->epoch++, t->index = 0, res->epoch_ended = 1;
    return 0;
}

/* The update from the summed gradient: clipped AdamW at the step's lr, the fixed norm put back,
 * the EMA moved. */
static void update(Trainer *t, float lr) {
    const TrainConfig *c = &t->cfg;
    size_t P = t->model.table.total;
    grad_clip(t->grad, P, 1.0);
    AdamW opt = adamw_default(c->weight_decay);
    adamw_step(&opt, t->model.w, t->grad, t->adam_m, t->adam_v, P, ++t->adam_steps_taken, lr);
    if (c->fixed_norm) /* undo the step on the embedding norm's affine: its learned scale grows the signal */
        for (int i = 0; i < t->model.cfg.E; i++) t->model.p.norm_w[i] = 1.0f, t->model.p.norm_b[i] = 0.0f;
    if (t->ema) {
        /* the decay warms up (as most diffusion trainers do), so early weights do not linger */
        float k = (float)t->adam_steps_taken, d = fminf(c->ema, (1 + k) / (10 + k)), *w = t->model.w;
        for (size_t i = 0; i < P; i++) t->ema[i] = d * t->ema[i] + (1 - d) * w[i];
    }
}

/* The step's lr: the seed's warm-up and decay over -decs steps, or --decay-to-end's fall over the
 * budget after warm-up. */
static float step_lr(const Trainer *t) {
    const TrainConfig *c = &t->cfg;
    float lr = lr_at(t->adam_steps_taken, c->lr, c->warmup, c->decay_steps);
    if (c->decay_end && (c->max_steps > 0 || c->max_minutes > 0) && t->adam_steps_taken >= c->warmup)
        lr = c->lr * (float)(1.0 - 0.9 * fmin(fmax(t->budget_done, 0.0), 1.0));
    return lr;
}

int trainer_step(Trainer *t, StepResult *res, Err *e) {
    size_t P = t->model.table.total;
    memset(res, 0, sizeof *res);
    memset(t->grad, 0, sizeof(float) * P);
    Rng r; /* the step's own draws: one self-conditioning coin per batch */
    rng_seed(&r, rng_mix64(t->cfg.seed ^ 0x7a11ull) ^ rng_mix64((uint64_t)t->step + 1));
    LossSums sums = {{0}};
    for (int a = 0; a < t->cfg.accum; a++)
        if (run_batch(t, a, &r, res, &sums, e)) return -1;
    /* one all-reduce of the whole gradient block after backward: the shards' weighted sum is the mean */
    dist_sum_floats(t->grad, P);
    dist_sum_doubles(sums.all, sizeof sums.all / sizeof *sums.all);
    LossTotals s = sums.by;
    long targets = (long)s.targets;
    if (targets) s.loss /= targets, s.mse /= targets, s.ce /= targets, s.accuracy /= targets;
    res->loss = (LossStats){.loss = s.loss, .mse = s.mse, .ce = s.ce, .accuracy = s.accuracy, .targets = targets};
    res->grad_norm = grad_norm(t->grad, P);
    res->lr = step_lr(t);
    if (!isfinite(s.loss) || !isfinite(res->grad_norm)) {
        res->skipped = 1; /* never let a non-finite update reach the weights */
        return 0;
    }
    update(t, res->lr);
    return 0;
}
