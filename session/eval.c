/* eval.c: held-out evaluation: gap fills by size, the one-step curve by t,
 * the most-frequent-piece baseline, and the fluency of the fills. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpus.h"
#include "infill.h"
#include "masked.h"
#include "ops.h"
#include "score.h"
#include "clock.h"

const char *const eval_gap_names[EVAL_GAPS] = {"1 token", "10%", "25%", "50%"};

EvalConfig eval_defaults(void) {
    return (EvalConfig){.lines = 200, .steps = 50, .sampler = SAMPLER_DIFFLM, .clamp = 0, .seed = 0, .batch = 32,
                        .candidates = 1};
}

/* ---- a set of words ------------------------------------------------------------------ */

typedef struct {
    char **slot;
    size_t cap, count;
} WordSet;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int words_has(const WordSet *w, const char *word) {
    if (!w->cap) return 0;
    for (size_t i = hash_str(word) & (w->cap - 1);; i = (i + 1) & (w->cap - 1)) {
        if (!w->slot[i]) return 0;
        if (!strcmp(w->slot[i], word)) return 1;
    }
}

static void words_add(WordSet *w, const char *word) {
    if (w->count * 2 >= w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        char **slot = calloc(cap, sizeof *slot);
        if (!slot) return;
        for (size_t i = 0; i < w->cap; i++)
            if (w->slot[i]) {
                size_t j = hash_str(w->slot[i]) & (cap - 1);
                while (slot[j]) j = (j + 1) & (cap - 1);
                slot[j] = w->slot[i];
            }
        free(w->slot);
        w->slot = slot, w->cap = cap;
    }
    size_t i = hash_str(word) & (w->cap - 1);
    while (w->slot[i]) {
        if (!strcmp(w->slot[i], word)) return;
        i = (i + 1) & (w->cap - 1);
    }
    w->slot[i] = strdup(word);
    w->count++;
}

static void words_free(WordSet *w) {
    for (size_t i = 0; i < w->cap; i++) free(w->slot[i]);
    free(w->slot);
}

/* A word as compared: ASCII lower case, punctuation at both ends removed. */
static void normalise(const char *s, size_t n, char *out, size_t cap) {
    while (n && ispunct((unsigned char)*s)) s++, n--;
    while (n && ispunct((unsigned char)s[n - 1])) n--;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) out[k++] = (char)tolower((unsigned char)s[i]);
    out[k] = 0;
}

static int load_words(WordSet *w, const char *path, Err *e) {
    Corpus c;
    if (corpus_open(&c, path, e)) return -1;
    char *line = malloc(CORPUS_LINE_MAX + 1);
    long n = corpus_count(&c);
    for (long i = 0; line && i < n && w->count < 2000000; i++) {
        long len = corpus_line(&c, i, line, CORPUS_LINE_MAX + 1, e);
        if (len < 0) break;
        for (char *p = line; *p;) {
            while (*p && isspace((unsigned char)*p)) p++;
            char *start = p;
            while (*p && !isspace((unsigned char)*p)) p++;
            char word[128];
            normalise(start, (size_t)(p - start), word, sizeof word);
            if (word[0]) words_add(w, word);
        }
    }
    free(line);
    corpus_close(&c);
    return 0;
}

/* ---- lines and gaps -------------------------------------------------------------------- */

static int gap_size(int m, int g) {
    static const double frac[EVAL_GAPS] = {0, 0.10, 0.25, 0.50};
    if (g == 0) return 1;
    int k = (int)lround(frac[g] * m);
    return k < 1 ? 1 : k > m ? m : k;
}

/* The lines, their gaps and the run's progress, shared by every measure. */
typedef struct {
    const ModelFile *mf;
    const EvalConfig *cfg;
    int n, **ids, *len, **start; /* n lines: their pieces [n][len], EOS included; start[g][line] of each gap */
    int baseline_id;             /* the most frequent piece of the lines */
    WordSet *words;
    int crop;
    void (*progress)(void *ctx, int done, int total); /* may be NULL */
    void *pctx;
    int done, total;             /* batches */
} Ctx;

/* One more batch done. */
static void tick(Ctx *c) {
    if (c->progress) c->progress(c->pctx, ++c->done, c->total);
}

/* Adds the cross-entropy of the truth over each line's gap (its first candidate) under the logits in ws. */
static void gap_cross_entropy(const Ctx *c, int g, int first, int B, int C, int L, const Workspace *ws, double *ce) {
    const int V = c->mf->model.cfg.V;
    for (int b = 0; b < B; b++) {
        int i = first + b, s = c->start[g][i], k = gap_size(c->len[i] - 1, g), best;
        for (int p = s; p < s + k; p++) {
            long row = (long)b * C * L + p;
            float lse = row_logsumexp(ws->logits + row * V, V, &best);
            *ce += lse - ws->logits[row * V + c->ids[i][p]];
        }
    }
}

/* The longest of lines first .. first+B-1. */
static int batch_length(const Ctx *c, int first, int B) {
    int L = 1;
    for (int b = 0; b < B; b++) L = c->len[first + b] > L ? c->len[first + b] : L;
    return L;
}

/* R rows of length L, C per line from line `first` on: the line's pieces, its gap g open. */
static void batch_rows(const Ctx *c, int g, int first, int R, int C, int L, int32_t *ids, uint8_t *known,
                       int *lengths) {
    for (int r = 0; r < R; r++) {
        int i = first + r / C, s = c->start[g][i], k = gap_size(c->len[i] - 1, g);
        lengths[r] = c->len[i];
        for (int p = 0; p < L; p++) {
            ids[(long)r * L + p] = p < c->len[i] ? c->ids[i][p] : 0;
            known[(long)r * L + p] = !(p >= s && p < s + k);
        }
    }
}

/* The noise seed of a batch: the same for the model alone and fused. */
static uint64_t batch_seed(const Ctx *c, int g, int first) {
    return c->cfg->seed * 7919 + (uint64_t)g * 104729 + (uint64_t)first;
}

/* The request that fills R rows of length L from batch_rows, lines from
 * `first` on, gap g: the configured sampler as the model's family runs it,
 * the model's own schedule into times [steps + 1] (alive until the run ends). */
static SampleRequest fill_request(const Ctx *c, int g, int first, int R, int L, const int32_t *ids,
                                  const uint8_t *known, const int *lengths, float *times) {
    const EvalConfig *cfg = c->cfg;
    SampleRequest rq = sample_request_defaults(R, L, sampler_fit(cfg->sampler, &c->mf->model.cfg), cfg->steps,
                                               batch_seed(c, g, first));
    rq.ids = ids, rq.known = known, rq.lengths = lengths, rq.clamp = cfg->clamp;
    modelfile_schedule(c->mf, &rq, !cfg->linear_times, times);
    return rq;
}

/* The sums of one gap size's fills over every batch. */
typedef struct {
    long masked, correct, base;  /* gap positions; right in the counted fill; the baseline's right */
    long first_ok, oracle_ok;    /* right in the first candidate; in the best candidate of each gap */
    long word_hits, word_total, repeats; /* fluency of the 25% fills */
    double ce;
} FillTally;

/* One batch: B lines from `first`, each sampled C times side by side (row
 * b * C + j is line first + b's candidate j), R = B * C rows of L. */
typedef struct {
    int first, B, C, L, R;
    int32_t *ids;   /* [R, L] */
    uint8_t *known; /* [R, L] */
    int *lengths;   /* [R] */
    int *chosen;    /* [B] the row counted for each line: its best-scored candidate */
    float *nats;    /* [R] each row's score (candidates > 1) */
    float *times;   /* [steps + 1] */
    Workspace ws;
    Sampler sp;     /* sp.ids [R, L]: the fills, once run */
    int begun;
} FillBatch;

static void fill_batch_free(FillBatch *fb) {
    if (fb->begun) sampler_end(&fb->sp);
    workspace_free(&fb->ws);
    free(fb->ids), free(fb->known), free(fb->lengths), free(fb->chosen), free(fb->nats), free(fb->times);
}

static int fill_batch_alloc(const Ctx *c, int g, int first, FillBatch *fb, Err *e) {
    const int Bmax = c->cfg->batch, C = c->cfg->candidates > 1 ? c->cfg->candidates : 1;
    const int B = c->n - first < Bmax ? c->n - first : Bmax, L = batch_length(c, first, B), R = B * C;
    *fb = (FillBatch){.first = first, .B = B, .C = C, .L = L, .R = R};
    fb->ids = calloc((size_t)R * L, sizeof *fb->ids);
    fb->known = calloc((size_t)R * L, 1);
    fb->lengths = calloc(R, sizeof *fb->lengths), fb->chosen = calloc(B, sizeof *fb->chosen);
    fb->nats = calloc(R, sizeof *fb->nats);
    if (!fb->ids || !fb->known || !fb->lengths || !fb->chosen || !fb->nats ||
        workspace_alloc(&fb->ws, &c->mf->model.cfg, R, L, 0, e))
        return err_set(e, "out of memory for an evaluation batch of %d x %d", R, L);
    batch_rows(c, g, first, R, C, L, fb->ids, fb->known, fb->lengths);
    if (!(fb->times = malloc(sizeof(float) * (size_t)(c->cfg->steps + 1)))) return err_set(e, "out of memory");
    return 0;
}

/* Fills the batch's gaps, adding the cross-entropy of the truth: the masked
 * family's is its first pass's, with the whole gap hidden (later passes see
 * revealed pieces); the continuous family's is counted on the chosen fills,
 * from the final pass (tally_chosen). With candidates, scores every fill. */
static int fill_batch_run(const Ctx *c, int g, FillBatch *fb, FillTally *t, Err *e) {
    SampleRequest rq = fill_request(c, g, fb->first, fb->R, fb->L, fb->ids, fb->known, fb->lengths, fb->times);
    if (sampler_begin(&fb->sp, &c->mf->model, &fb->ws, &rq, e)) return -1;
    fb->begun = 1;
    int masked_family = c->mf->model.cfg.masked;
    for (int more = sampler_step(&fb->sp); more; more = sampler_step(&fb->sp))
        if (masked_family && fb->sp.step == 1) gap_cross_entropy(c, g, fb->first, fb->B, fb->C, fb->L, &fb->ws, &t->ce);
    if (masked_family && fb->sp.step == 1) /* one pass in all */
        gap_cross_entropy(c, g, fb->first, fb->B, fb->C, fb->L, &fb->ws, &t->ce);
    if (fb->C > 1 && score_fills(c->mf, fb->sp.ids, fb->known, fb->lengths, fb->R, fb->L, fb->nats, e)) return -1;
    return 0;
}

/* With candidates: each line's best by the model's own score is the one
 * counted; the first candidate and the best possible are counted beside it. */
static void tally_candidates(const Ctx *c, int g, FillBatch *fb, FillTally *t) {
    const int C = fb->C, L = fb->L;
    for (int b = 0; b < fb->B; b++) {
        int i = fb->first + b, s = c->start[g][i], k = gap_size(c->len[i] - 1, g), order[EVAL_MAX_CAND], best_ok = 0;
        if (C > 1) score_rank(fb->nats + (long)b * C, C, order);
        fb->chosen[b] = b * C + (C > 1 ? order[0] : 0);
        for (int j = 0; j < C; j++) {
            int ok = 0;
            for (int p = s; p < s + k; p++) ok += fb->sp.ids[((long)b * C + j) * L + p] == c->ids[i][p];
            if (j == 0) t->first_ok += ok;
            best_ok = ok > best_ok ? ok : best_ok;
        }
        t->oracle_ok += best_ok;
    }
}

/* Fluency of a 25% fill of line i (gap s .. s+k-1): render the line, find the
 * word around each filled piece; count the words of the corpus and the
 * pieces that repeat the one before. */
static void tally_fluency(const Ctx *c, int i, int s, int k, const int32_t *fill, FillTally *t) {
    char text[4096], piece[64];
    int off[512], tl = 0;
    for (int p = 0; p < c->len[i] - 1 && p < 512; p++) {
        off[p] = tl;
        int n = infill_piece_text(c->mf->spm, fill[p], piece, sizeof piece);
        if (tl + n < (int)sizeof text - 1) memcpy(text + tl, piece, n), tl += n;
    }
    text[tl] = 0;
    for (int p = s; p < s + k && p < 512; p++) {
        int n = infill_piece_text(c->mf->spm, fill[p], piece, sizeof piece);
        int q = off[p];
        while (q < off[p] + n && q < tl && isspace((unsigned char)text[q])) q++;
        if (q >= off[p] + n || q >= tl) continue; /* an empty or space-only piece */
        t->word_total++;
        if (p > s && fill[p] == fill[p - 1]) t->repeats++;
        int a = q, z = q;
        while (a > 0 && !isspace((unsigned char)text[a - 1])) a--;
        while (z < tl && !isspace((unsigned char)text[z])) z++;
        char word[128];
        normalise(text + a, (size_t)(z - a), word, sizeof word);
        if (!word[0] || words_has(c->words, word)) t->word_hits++;
    }
}

/* The first few 25% fills, beside their truth, to look at. */
static void keep_example(const Ctx *c, int i, const int32_t *fill, EvalResult *out) {
    char truth[256], text[256];
    if (out->nexamples >= 4 || spm_decode(c->mf->spm, c->ids[i], c->len[i], truth, sizeof truth, NULL, NULL) ||
        spm_decode(c->mf->spm, (const int *)fill, c->len[i], text, sizeof text, NULL, NULL))
        return;
    snprintf(out->example_truth[out->nexamples], 256, "%s", truth);
    snprintf(out->example_fill[out->nexamples], 256, "%s", text);
    out->nexamples++;
}

/* The counted fill of each line: accuracy, the continuous family's
 * cross-entropy, the baseline; for the 25% gaps fluency and examples. */
static void tally_chosen(const Ctx *c, int g, const FillBatch *fb, FillTally *t, EvalResult *out) {
    const int V = c->mf->model.cfg.V, L = fb->L;
    for (int b = 0; b < fb->B; b++) {
        int i = fb->first + b, s = c->start[g][i], k = gap_size(c->len[i] - 1, g), r = fb->chosen[b];
        for (int p = s; p < s + k; p++) {
            long row = (long)r * L + p;
            int truth = c->ids[i][p], best;
            if (!c->mf->model.cfg.masked) {
                float lse = row_logsumexp(fb->ws.logits + row * V, V, &best);
                t->ce += lse - fb->ws.logits[row * V + truth];
            }
            t->correct += fb->sp.ids[row] == truth;
            t->base += truth == c->baseline_id;
            t->masked++;
        }
        if (g != 2) continue;
        tally_fluency(c, i, s, k, fb->sp.ids + (long)r * L, t);
        keep_example(c, i, fb->sp.ids + (long)r * L, out);
    }
}

/* The fills of gap size g over every line, batch by batch, into out. */
static int run_fills(Ctx *c, int g, EvalResult *out, Err *e) {
    FillTally t = {0};
    for (int first = 0; first < c->n; first += c->cfg->batch) {
        FillBatch fb;
        int rc = fill_batch_alloc(c, g, first, &fb, e) || fill_batch_run(c, g, &fb, &t, e);
        if (!rc) tally_candidates(c, g, &fb, &t), tally_chosen(c, g, &fb, &t, out);
        fill_batch_free(&fb);
        if (rc) return -1;
        tick(c);
    }
    long m = t.masked;
    out->masked[g] = m;
    out->first_accuracy[g] = m ? (double)t.first_ok / m : 0;
    out->oracle_accuracy[g] = m ? (double)t.oracle_ok / m : 0;
    out->accuracy[g] = m ? (double)t.correct / m : 0;
    out->cross_entropy[g] = m ? t.ce / m : 0;
    out->baseline[g] = m ? (double)t.base / m : 0;
    if (g == 2) {
        out->filled_pieces = t.word_total;
        out->word_share = t.word_total ? (double)t.word_hits / t.word_total : 0;
        out->repeat_share = t.word_total ? (double)t.repeats / t.word_total : 0;
    }
    return 0;
}

/* The trigram's beam-search fills of the same gaps. */
static int run_trigram(Ctx *c, int g, EvalResult *out, Err *e) {
    long masked = 0, correct = 0;
    int32_t *fill = malloc(sizeof(int32_t) * (size_t)c->crop);
    if (!fill) return err_set(e, "out of memory");
    for (int i = 0; i < c->n; i++) {
        int s = c->start[g][i], k = gap_size(c->len[i] - 1, g);
        if (ngram_fill(c->cfg->trigram, (const int32_t *)c->ids[i], c->len[i], s, k, fill, e)) return free(fill), -1;
        for (int p = 0; p < k; p++) correct += fill[p] == c->ids[i][s + p];
        masked += k;
    }
    free(fill);
    out->trigram[g] = masked ? (double)correct / masked : 0;
    return 0;
}

/* The fused sampler (the model plus lambda x the trigram's log-probabilities)
 * on the same gaps with the same noise seeds, one fill per gap. */
static int run_fused(Ctx *c, int g, NgramFusion *f, EvalResult *out, Err *e) {
    long masked = 0, correct = 0;
    for (int first = 0; first < c->n; first += c->cfg->batch) {
        int B = c->n - first < c->cfg->batch ? c->n - first : c->cfg->batch, L = batch_length(c, first, B);
        int32_t *ids = calloc((size_t)B * L, sizeof *ids), *fill = calloc((size_t)B * L, sizeof *fill);
        uint8_t *known = calloc((size_t)B * L, 1);
        int *lengths = calloc(B, sizeof *lengths), rc = -1;
        float *times = malloc(sizeof(float) * (size_t)(c->cfg->steps + 1));
        Workspace ws = {0};
        int ok = ids && fill && known && lengths && times;
        if (!ok) err_set(e, "out of memory for an evaluation batch of %d x %d", B, L);
        if (ok && !workspace_alloc(&ws, &c->mf->model.cfg, B, L, 0, e)) {
            batch_rows(c, g, first, B, 1, L, ids, known, lengths);
            SampleRequest rq = fill_request(c, g, first, B, L, ids, known, lengths, times);
            rq.fuse = ngram_fuse, rq.fuse_ctx = f;
            rc = diffusion_sample(&c->mf->model, &ws, &rq, NULL, NULL, fill, e) < 0 ? -1 : 0;
        }
        for (int b = 0; !rc && b < B; b++) {
            int i = first + b, s = c->start[g][i], k = gap_size(c->len[i] - 1, g);
            for (int p = s; p < s + k; p++) correct += fill[(long)b * L + p] == c->ids[i][p];
            masked += k;
        }
        workspace_free(&ws);
        free(ids), free(fill), free(known), free(lengths), free(times);
        if (rc) return -1;
        tick(c);
    }
    out->fused[g] = masked ? (double)correct / masked : 0;
    return 0;
}

/* The trigram's fills and, with fuse > 0, the fused sampler's, on every gap size. */
static int run_anchor(Ctx *c, EvalResult *out, Err *e) {
    if (!c->cfg->trigram || c->cfg->skip_fill) return 0;
    NgramFusion f;
    int fuse = c->cfg->fuse > 0;
    if (fuse && ngram_fusion_init(&f, c->cfg->trigram, c->cfg->fuse, c->mf->model.cfg.V, e)) return -1;
    int rc = 0;
    for (int g = 0; !rc && g < EVAL_GAPS; g++) {
        rc = run_trigram(c, g, out, e);
        if (!rc && fuse) rc = run_fused(c, g, &f, out, e);
    }
    if (fuse) ngram_fusion_free(&f);
    out->has_trigram = !rc;
    out->has_fused = !rc && fuse;
    for (int g = 0; g < EVAL_GAPS; g++)
        out->mean_trigram += out->trigram[g] / EVAL_GAPS, out->mean_fused += out->fused[g] / EVAL_GAPS;
    return rc;
}

/* One-step denoising of the 25% gaps at each noise level. */
static int run_curve(Ctx *c, EvalResult *out, Err *e) {
    const int E = c->mf->model.cfg.E, Bmax = c->cfg->batch;
    for (int k = 0; k < EVAL_TBUCKETS; k++) {
        double acc = 0, ce = 0, base = 0;
        long n_all = 0;
        Rng r;
        rng_seed(&r, c->cfg->seed * 31 + (uint64_t)k);
        for (int first = 0; first < c->n; first += Bmax) {
            int B = c->n - first < Bmax ? c->n - first : Bmax, L = 1;
            for (int b = 0; b < B; b++) L = c->len[first + b] > L ? c->len[first + b] : L;
            int32_t *ids = calloc((size_t)B * L, sizeof *ids);
            uint8_t *lm = calloc((size_t)B * L, 1), *cond = calloc((size_t)B * L, 1);
            float *t = malloc(sizeof(float) * B), *z = malloc(sizeof(float) * B * L * E);
            Workspace ws = {0};
            if (!ids || !lm || !cond || !t || !z || workspace_alloc(&ws, &c->mf->model.cfg, B, L, 0, e)) {
                free(ids), free(lm), free(cond), free(t), free(z);
                return err_set(e, "out of memory for an evaluation batch");
            }
            long nb = 0, nbase = 0;
            int masked_family = c->mf->model.cfg.masked;
            for (int b = 0; b < B; b++) {
                int i = first + b, s = c->start[2][i], g = gap_size(c->len[i] - 1, 2), hidden = 0;
                t[b] = (k + 0.5f) / EVAL_TBUCKETS;
                for (int p = 0; p < L; p++) {
                    long row = (long)b * L + p;
                    ids[row] = p < c->len[i] ? c->ids[i][p] : 0;
                    lm[row] = p < c->len[i];
                    /* masked: a gap position is hidden with probability t (the first one always), else noised */
                    int in_gap = p >= s && p < s + g;
                    int hide = in_gap && (!masked_family || p == s || rng_uniform(&r) < t[b]);
                    cond[row] = lm[row] && !hide;
                    if (lm[row] && !cond[row]) nb++, hidden++, nbase += ids[row] == c->baseline_id;
                }
                if (masked_family) t[b] = (float)hidden / (float)c->len[i]; /* its time input: the hidden share */
            }
            rng_fill_normal(&r, z, (long)B * L * E, 1.0f);
            LossInput in = {.B = B, .L = L, .ids = ids, .len_mask = lm, .cond = cond, .t = t, .z = z,
                            .shift = c->mf->shift};
            LossStats st;
            if (masked_family) masked_loss(&c->mf->model, NULL, &ws, &in, 1.0f, NULL, &st);
            else diffusion_loss(&c->mf->model, NULL, &ws, &in, 1.0f, NULL, &st);
            acc += st.accuracy * nb, ce += st.ce * nb, base += nbase, n_all += nb;
            workspace_free(&ws);
            free(ids), free(lm), free(cond), free(t), free(z);
        }
        out->t_accuracy[k] = n_all ? acc / n_all : 0;
        out->t_cross_entropy[k] = n_all ? ce / n_all : 0;
        out->t_baseline[k] = n_all ? base / n_all : 0;
        tick(c);
    }
    return 0;
}

/* The first n lines of the corpus, encoded plainly, cropped, EOS appended
 * (a line with nothing to mask is skipped); freq [V] counts their pieces. */
static int read_lines(Ctx *c, Corpus *corpus, int n, long *freq, Err *e) {
    const int crop = c->crop, eos = spm_eos_id(c->mf->spm);
    char *line = malloc(CORPUS_LINE_MAX + 1);
    if (!line) return err_set(e, "out of memory");
    for (int i = 0; i < n; i++) {
        long len = corpus_line(corpus, i, line, CORPUS_LINE_MAX + 1, e);
        int k = 0;
        if (len < 0) return free(line), -1;
        if (!c->ids[c->n]) c->ids[c->n] = malloc(sizeof(int) * crop); /* reused when a line is skipped */
        if (!c->ids[c->n]) return free(line), err_set(e, "out of memory");
        if (spm_encode(c->mf->spm, line, (size_t)len, c->ids[c->n], crop - 1, &k, e)) return free(line), -1;
        if (k > crop - 1) k = crop - 1;
        if (k < 1) continue; /* nothing to mask */
        c->ids[c->n][k] = eos;
        c->len[c->n] = k + 1;
        for (int p = 0; p < k; p++) freq[c->ids[c->n][p]]++;
        c->n++;
    }
    free(line);
    return 0;
}

/* Each line's gap of every size, at a position drawn from the seed. */
static int draw_gaps(Ctx *c, Err *e) {
    Rng r;
    rng_seed(&r, c->cfg->seed ^ 0xe7a1ull);
    for (int g = 0; g < EVAL_GAPS; g++) {
        if (!(c->start[g] = malloc(sizeof(int) * c->n))) return err_set(e, "out of memory");
        for (int i = 0; i < c->n; i++)
            c->start[g][i] = (int)rng_below(&r, (uint64_t)(c->len[i] - 1 - gap_size(c->len[i] - 1, g) + 1));
    }
    return 0;
}

/* Every measure in turn: the fills, the trigram and fused anchors, the curve by t. */
static int measure(Ctx *c, EvalResult *out, Err *e) {
    const EvalConfig *cfg = c->cfg;
    int batches = (c->n + cfg->batch - 1) / cfg->batch;
    int fused = !cfg->skip_fill && cfg->trigram && cfg->fuse > 0;
    c->total = (cfg->skip_fill ? 0 : EVAL_GAPS * batches * (1 + fused)) + EVAL_TBUCKETS;
    for (int g = 0; !cfg->skip_fill && g < EVAL_GAPS; g++)
        if (run_fills(c, g, out, e)) return -1;
    if (run_anchor(c, out, e) || run_curve(c, out, e)) return -1;
    for (int g = 0; g < EVAL_GAPS; g++) {
        out->mean_accuracy += out->accuracy[g] / EVAL_GAPS;
        out->mean_cross_entropy += out->cross_entropy[g] / EVAL_GAPS;
        out->mean_baseline += out->baseline[g] / EVAL_GAPS;
    }
    out->lines = c->n;
    return 0;
}

int eval_run(const ModelFile *mf, const char *heldout, const EvalConfig *cfg, EvalResult *out,
             void (*progress)(void *ctx, int done, int total), void *pctx, Err *e) {
    memset(out, 0, sizeof *out);
    double t0 = now_s();
    if (cfg->lines < 1 || cfg->steps < 1 || cfg->batch < 1) return err_set(e, "lines, steps and batch must be >= 1");
    if (cfg->candidates > EVAL_MAX_CAND)
        return err_set(e, "candidates must be 1..%d, not %d", EVAL_MAX_CAND, cfg->candidates);
    Corpus corpus;
    if (corpus_open(&corpus, heldout, e)) return -1;
    const int n = (int)(corpus_count(&corpus) < cfg->lines ? corpus_count(&corpus) : cfg->lines);
    const int V = mf->model.cfg.V;
    WordSet words = {0};
    int *starts[EVAL_GAPS] = {0};
    Ctx c = {.mf = mf, .cfg = cfg, .ids = calloc(n, sizeof(int *)), .len = calloc(n, sizeof(int)), .start = starts,
             .words = &words, .crop = mf->crop_len, .progress = progress, .pctx = pctx};
    long *freq = calloc(V, sizeof *freq);
    int rc = !c.ids || !c.len || !freq ? err_set(e, "out of memory") : read_lines(&c, &corpus, n, freq, e);
    if (!rc && !c.n) rc = err_set(e, "%s: no line to evaluate on", heldout);
    for (int v = 0; !rc && v < V; v++) c.baseline_id = freq[v] > freq[c.baseline_id] ? v : c.baseline_id;
    if (!rc) rc = draw_gaps(&c, e);
    if (!rc && !cfg->skip_fill) rc = load_words(&words, cfg->words ? cfg->words : heldout, e);
    if (!rc) rc = measure(&c, out, e);
    out->seconds = now_s() - t0;
    for (int i = 0; i < n && c.ids; i++) free(c.ids[i]);
    for (int g = 0; g < EVAL_GAPS; g++) free(starts[g]);
    free(c.ids), free(c.len), free(freq);
    words_free(&words);
    corpus_close(&corpus);
    return rc ? -1 : 0;
}
