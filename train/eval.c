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

/* The fills of one gap size over every line; accumulates into out. */
typedef struct {
    const ModelFile *mf;
    const EvalConfig *cfg;
    int n, **ids, *len, **start; /* start[g][line] */
    int baseline_id;
    WordSet *words;
    int crop;
} Ctx;

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
static void batch_rows(const Ctx *c, int g, int first, int R, int C, int L, int32_t *ids, uint8_t *known, int *lengths) {
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

static int run_fills(Ctx *c, int g, EvalResult *out, int *done, int total,
                     void (*progress)(void *, int, int), void *pctx, Err *e) {
    const int V = c->mf->model.cfg.V, Bmax = c->cfg->batch, C = c->cfg->candidates > 1 ? c->cfg->candidates : 1;
    long masked = 0, correct = 0, base = 0, word_hits = 0, word_total = 0, repeats = 0, first_ok = 0, oracle_ok = 0;
    double ce = 0;
    for (int first = 0; first < c->n; first += Bmax) {
        /* B lines, each sampled C times side by side: row b * C + j is line first + b's candidate j */
        int B = c->n - first < Bmax ? c->n - first : Bmax, L = batch_length(c, first, B), R = B * C;
        int32_t *ids = calloc((size_t)R * L, sizeof *ids);
        uint8_t *known = calloc((size_t)R * L, 1);
        int *lengths = calloc(R, sizeof *lengths), *chosen = calloc(B, sizeof *chosen);
        float *nats = calloc(R, sizeof *nats);
        Workspace ws = {0};
        if (!ids || !known || !lengths || !chosen || !nats || workspace_alloc(&ws, &c->mf->model.cfg, R, L, 0, e)) {
            free(ids), free(known), free(lengths), free(chosen), free(nats);
            return err_set(e, "out of memory for an evaluation batch of %d x %d", R, L);
        }
        batch_rows(c, g, first, R, C, L, ids, known, lengths);
        float *times = malloc(sizeof(float) * (size_t)(c->cfg->steps + 1));
        if (!times) {
            workspace_free(&ws), free(ids), free(known), free(lengths), free(chosen), free(nats);
            return err_set(e, "out of memory");
        }
        SampleRequest rq = fill_request(c, g, first, R, L, ids, known, lengths, times);
        Sampler sp;
        if (sampler_begin(&sp, &c->mf->model, &ws, &rq, e)) {
            workspace_free(&ws), free(ids), free(known), free(lengths), free(chosen), free(nats), free(times);
            return -1;
        }
        /* the masked family's cross-entropy is its first pass's, with the whole gap hidden (later passes
         * see revealed pieces); the continuous family's is its final pass's */
        int masked_family = c->mf->model.cfg.masked;
        for (int more = sampler_step(&sp); more; more = sampler_step(&sp))
            if (masked_family && sp.step == 1) gap_cross_entropy(c, g, first, B, C, L, &ws, &ce);
        if (masked_family && sp.step == 1) gap_cross_entropy(c, g, first, B, C, L, &ws, &ce); /* one pass in all */
        /* with candidates: each line's best by the model's own score; the first and the best possible beside it */
        if (C > 1 && score_fills(c->mf, sp.ids, known, lengths, R, L, nats, e)) {
            sampler_end(&sp), workspace_free(&ws);
            free(ids), free(known), free(lengths), free(chosen), free(nats), free(times);
            return -1;
        }
        for (int b = 0; b < B; b++) {
            int i = first + b, s = c->start[g][i], k = gap_size(c->len[i] - 1, g), order[EVAL_MAX_CAND], best_ok = 0;
            if (C > 1) score_rank(nats + (long)b * C, C, order);
            chosen[b] = b * C + (C > 1 ? order[0] : 0);
            for (int j = 0; j < C; j++) {
                int ok = 0;
                for (int p = s; p < s + k; p++) ok += sp.ids[((long)b * C + j) * L + p] == c->ids[i][p];
                if (j == 0) first_ok += ok;
                best_ok = ok > best_ok ? ok : best_ok;
            }
            oracle_ok += best_ok;
        }
        for (int b = 0; b < B; b++) {
            int i = first + b, s = c->start[g][i], k = gap_size(c->len[i] - 1, g), r = chosen[b];
            for (int p = s; p < s + k; p++) {
                long row = (long)r * L + p;
                int truth = c->ids[i][p], best;
                if (!masked_family) {
                    float lse = row_logsumexp(ws.logits + row * V, V, &best);
                    ce += lse - ws.logits[row * V + truth];
                }
                correct += sp.ids[row] == truth;
                base += truth == c->baseline_id;
                masked++;
            }
            if (g != 2) continue;
            /* fluency of the 25% fills: render the line, find the word around each filled piece */
            char text[4096], piece[64];
            int off[512], tl = 0;
            for (int p = 0; p < c->len[i] - 1 && p < 512; p++) {
                off[p] = tl;
                int n = infill_piece_text(c->mf->spm, sp.ids[(long)r * L + p], piece, sizeof piece);
                if (tl + n < (int)sizeof text - 1) memcpy(text + tl, piece, n), tl += n;
            }
            text[tl] = 0;
            for (int p = s; p < s + k && p < 512; p++) {
                int id = sp.ids[(long)r * L + p];
                int n = infill_piece_text(c->mf->spm, id, piece, sizeof piece);
                int q = off[p];
                while (q < off[p] + n && q < tl && isspace((unsigned char)text[q])) q++;
                if (q >= off[p] + n || q >= tl) continue; /* an empty or space-only piece */
                word_total++;
                if (p > s && id == sp.ids[(long)r * L + p - 1]) repeats++;
                int a = q, z = q;
                while (a > 0 && !isspace((unsigned char)text[a - 1])) a--;
                while (z < tl && !isspace((unsigned char)text[z])) z++;
                char word[128];
                normalise(text + a, (size_t)(z - a), word, sizeof word);
                if (!word[0] || words_has(c->words, word)) word_hits++;
            }
            if (out->nexamples < 4) {
                char truth[256], fill[256];
                if (!spm_decode(c->mf->spm, c->ids[i], c->len[i], truth, sizeof truth, NULL, NULL) &&
                    !spm_decode(c->mf->spm, (const int *)sp.ids + (long)r * L, c->len[i], fill, sizeof fill, NULL, NULL)) {
                    snprintf(out->example_truth[out->nexamples], 256, "%s", truth);
                    snprintf(out->example_fill[out->nexamples], 256, "%s", fill);
                    out->nexamples++;
                }
            }
        }
        sampler_end(&sp);
        workspace_free(&ws);
        free(ids), free(known), free(lengths), free(chosen), free(nats), free(times);
        if (progress) progress(pctx, ++*done, total);
    }
    out->masked[g] = masked;
    out->first_accuracy[g] = masked ? (double)first_ok / masked : 0;
    out->oracle_accuracy[g] = masked ? (double)oracle_ok / masked : 0;
    out->accuracy[g] = masked ? (double)correct / masked : 0;
    out->cross_entropy[g] = masked ? ce / masked : 0;
    out->baseline[g] = masked ? (double)base / masked : 0;
    if (g == 2) {
        out->filled_pieces = word_total;
        out->word_share = word_total ? (double)word_hits / word_total : 0;
        out->repeat_share = word_total ? (double)repeats / word_total : 0;
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
static int run_fused(Ctx *c, int g, NgramFusion *f, EvalResult *out, int *done, int total,
                     void (*progress)(void *, int, int), void *pctx, Err *e) {
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
        if (progress) progress(pctx, ++*done, total);
    }
    out->fused[g] = masked ? (double)correct / masked : 0;
    return 0;
}

/* The trigram's fills and, with fuse > 0, the fused sampler's, on every gap size. */
static int run_anchor(Ctx *c, EvalResult *out, int *done, int total, void (*progress)(void *, int, int), void *pctx,
                      Err *e) {
    if (!c->cfg->trigram || c->cfg->skip_fill) return 0;
    NgramFusion f;
    int fuse = c->cfg->fuse > 0;
    if (fuse && ngram_fusion_init(&f, c->cfg->trigram, c->cfg->fuse, c->mf->model.cfg.V, e)) return -1;
    int rc = 0;
    for (int g = 0; !rc && g < EVAL_GAPS; g++) {
        rc = run_trigram(c, g, out, e);
        if (!rc && fuse) rc = run_fused(c, g, &f, out, done, total, progress, pctx, e);
    }
    if (fuse) ngram_fusion_free(&f);
    out->has_trigram = !rc;
    out->has_fused = !rc && fuse;
    for (int g = 0; g < EVAL_GAPS; g++) out->mean_trigram += out->trigram[g] / EVAL_GAPS, out->mean_fused += out->fused[g] / EVAL_GAPS;
    return rc;
}

/* One-step denoising of the 25% gaps at each noise level. */
static int run_curve(Ctx *c, EvalResult *out, int *done, int total, void (*progress)(void *, int, int), void *pctx,
                     Err *e) {
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
        if (progress) progress(pctx, ++*done, total);
    }
    return 0;
}

int eval_run(const ModelFile *mf, const char *heldout, const EvalConfig *cfg, EvalResult *out,
             void (*progress)(void *ctx, int done, int total), void *pctx, Err *e) {
    memset(out, 0, sizeof *out);
    double t0 = now_s();
    if (cfg->lines < 1 || cfg->steps < 1 || cfg->batch < 1) return err_set(e, "lines, steps and batch must be >= 1");
    if (cfg->candidates > EVAL_MAX_CAND) return err_set(e, "candidates must be 1..%d, not %d", EVAL_MAX_CAND, cfg->candidates);
    Corpus corpus;
    if (corpus_open(&corpus, heldout, e)) return -1;
    int n = (int)(corpus_count(&corpus) < cfg->lines ? corpus_count(&corpus) : cfg->lines);
    int crop = mf->crop_len, V = mf->model.cfg.V, eos = spm_eos_id(mf->spm);
    Ctx c = {mf, cfg, 0, calloc(n, sizeof(int *)), calloc(n, sizeof(int)), NULL, 0, NULL, crop};
    long *freq = calloc(V, sizeof *freq);
    char *line = malloc(CORPUS_LINE_MAX + 1);
    int rc = -1;
    WordSet words = {0};
    c.words = &words;
    int *starts[EVAL_GAPS] = {0};
    c.start = starts;
    if (!c.ids || !c.len || !freq || !line) {
        err_set(e, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        long len = corpus_line(&corpus, i, line, CORPUS_LINE_MAX + 1, e);
        int k = 0;
        if (len < 0) goto out;
        if (!c.ids[c.n]) c.ids[c.n] = malloc(sizeof(int) * crop); /* reused when a line is skipped */
        if (!c.ids[c.n] || spm_encode(mf->spm, line, (size_t)len, c.ids[c.n], crop - 1, &k, e)) goto out;
        if (k > crop - 1) k = crop - 1;
        if (k < 1) continue; /* nothing to mask */
        c.ids[c.n][k] = eos;
        c.len[c.n] = k + 1;
        for (int p = 0; p < k; p++) freq[c.ids[c.n][p]]++;
        c.n++;
    }
    if (!c.n) {
        err_set(e, "%s: no line to evaluate on", heldout);
        goto out;
    }
    for (int v = 0; v < V; v++) c.baseline_id = freq[v] > freq[c.baseline_id] ? v : c.baseline_id;
    Rng r;
    rng_seed(&r, cfg->seed ^ 0xe7a1ull);
    for (int g = 0; g < EVAL_GAPS; g++) {
        if (!(starts[g] = malloc(sizeof(int) * c.n))) goto out;
        for (int i = 0; i < c.n; i++) starts[g][i] = (int)rng_below(&r, (uint64_t)(c.len[i] - 1 - gap_size(c.len[i] - 1, g) + 1));
    }
    if (!cfg->skip_fill && load_words(&words, cfg->words ? cfg->words : heldout, e)) goto out;
    int batches = (c.n + cfg->batch - 1) / cfg->batch, done = 0;
    int fused = !cfg->skip_fill && cfg->trigram && cfg->fuse > 0;
    int total = (cfg->skip_fill ? 0 : EVAL_GAPS * batches * (1 + fused)) + EVAL_TBUCKETS;
    for (int g = 0; !cfg->skip_fill && g < EVAL_GAPS; g++)
        if (run_fills(&c, g, out, &done, total, progress, pctx, e)) goto out;
    if (run_anchor(&c, out, &done, total, progress, pctx, e)) goto out;
    if (run_curve(&c, out, &done, total, progress, pctx, e)) goto out;
    double sa = 0, sc = 0, sb = 0;
    for (int g = 0; g < EVAL_GAPS; g++) sa += out->accuracy[g], sc += out->cross_entropy[g], sb += out->baseline[g];
    out->mean_accuracy = sa / EVAL_GAPS;
    out->mean_cross_entropy = sc / EVAL_GAPS;
    out->mean_baseline = sb / EVAL_GAPS;
    out->lines = c.n;
    out->seconds = now_s() - t0;
    rc = 0;
out:
    for (int i = 0; i < n && c.ids; i++) free(c.ids[i]);
    for (int g = 0; g < EVAL_GAPS; g++) free(starts[g]);
    free(c.ids), free(c.len), free(freq), free(line);
    words_free(&words);
    corpus_close(&corpus);
    return rc;
}
