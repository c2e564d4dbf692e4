/* ngram.c: the trigram anchor (see ngram.h): counting into sorted arrays,
 * interpolated Witten-Bell estimates, beam-search fills and the fusion terms.
 * Symbols: 0..nv-1 predicted, nv the start symbol; S = nv + 1 of them. */
#include "ngram.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

enum { NGRAM_BEAM = 16, NGRAM_MAX_SYMBOLS = 1 << 20 };

/* Lists of (id, weight) keyed by a pair of symbols (p * S + q), pairs sorted:
 * pair k's entries are id/wt[off[k] .. off[k+1]), ids increasing. */
typedef struct {
    uint64_t *pair; /* [npairs] */
    uint32_t *off;  /* [npairs + 1] */
    float *lam;     /* [npairs] the context's T/(n+T) (the ctx lists only) */
    int32_t *id;    /* [n] */
    float *wt;      /* [n] */
    size_t npairs, n;
} PairLists;

struct Ngram {
    int nv, end, start, S;
    long lines;
    double tokens;        /* N: predicted symbols counted */
    float *p1;            /* [nv] add-one unigram */
    float *lam1;          /* [S] bigram context v: T(v)/(n(v)+T(v)); 1 when never a context */
    size_t nbi;           /* distinct bigrams */
    uint32_t *row_off;    /* [S+1] bigrams by context v ... */
    int32_t *row_w;       /* [nbi] ... their follower w, */
    float *row_wt;        /* [nbi] c(v,w)/(n(v)+T(v)), */
    float *row_lam2;      /* [nbi] and the trigram context (v,w)'s T/(n+T) (1 when never a context) */
    uint32_t *pred_off;   /* [nv+1] the same bigrams by follower w, start symbol left out ... */
    int32_t *pred_v;      /* [<= nbi] ... their context v */
    float *pred_wt, *pred_lam2;
    PairLists ctx;        /* (u,v) -> w, c(u,v,w)/(n(u,v)+T(u,v)), lam: the context's T/(n+T) */
    PairLists skip;       /* (u,w) -> v, the same weight; v != start */
    PairLists suf;        /* (v,w) -> u, the same weight; u != start */
};

typedef struct {
    uint64_t key;
    float wt;
} KeyWt;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_keywt(const void *a, const void *b) {
    return cmp_u64(&((const KeyWt *)a)->key, &((const KeyWt *)b)->key);
}

/* ---- counting ------------------------------------------------------------------------ */

int ngram_counts_init(NgramCounts *c, int V, int end_id, Err *e) {
    memset(c, 0, sizeof *c);
    if (V < 1 || V >= NGRAM_MAX_SYMBOLS - 2) return err_set(e, "a trigram over %d pieces is not supported", V);
    if (end_id >= V) return err_set(e, "end piece %d is outside the vocabulary of %d", end_id, V);
    c->nv = end_id >= 0 ? V : V + 1;
    c->end = end_id >= 0 ? end_id : V;
    return 0;
}

void ngram_counts_free(NgramCounts *c) {
    free(c->keys);
    memset(c, 0, sizeof *c);
}

int ngram_counts_add(NgramCounts *c, const int32_t *ids, int n, Err *e) {
    const uint64_t S = (uint64_t)c->nv + 1, start = (uint64_t)c->nv;
    if (c->n + (size_t)n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1 << 16;
        while (cap < c->n + (size_t)n + 1) cap *= 2;
        uint64_t *k = realloc(c->keys, cap * sizeof *k);
        if (!k) return err_set(e, "out of memory counting trigrams (%zu)", cap);
        c->keys = k, c->cap = cap;
    }
    uint64_t u = start, v = start;
    for (int i = 0; i <= n; i++) {
        uint64_t w = i < n ? (uint64_t)ids[i] : (uint64_t)c->end;
        if (i < n && (ids[i] < 0 || ids[i] >= c->nv))
            return err_set(e, "piece id %d is not a piece of the trigram's %d", ids[i], c->nv);
        c->keys[c->n++] = (u * S + v) * S + w;
        u = v, v = w;
    }
    return 0;
}

/* ---- building ------------------------------------------------------------------------ */

/* Lists from entries sorted by key = pair * S + id. */
static int pairs_build(PairLists *pl, const KeyWt *ent, size_t n, uint64_t S, int with_lam) {
    memset(pl, 0, sizeof *pl);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) np += !i || ent[i].key / S != ent[i - 1].key / S;
    pl->pair = malloc((np ? np : 1) * sizeof *pl->pair);
    pl->off = malloc((np + 1) * sizeof *pl->off);
    pl->lam = with_lam ? malloc((np ? np : 1) * sizeof *pl->lam) : NULL;
    pl->id = malloc((n ? n : 1) * sizeof *pl->id);
    pl->wt = malloc((n ? n : 1) * sizeof *pl->wt);
    if (!pl->pair || !pl->off || (with_lam && !pl->lam) || !pl->id || !pl->wt) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!i || ent[i].key / S != ent[i - 1].key / S) pl->pair[k] = ent[i].key / S, pl->off[k++] = (uint32_t)i;
        pl->id[i] = (int32_t)(ent[i].key % S);
        pl->wt[i] = ent[i].wt;
    }
    pl->off[np] = (uint32_t)n;
    pl->npairs = np, pl->n = n;
    return 0;
}

static void pairs_free(PairLists *pl) { free(pl->pair), free(pl->off), free(pl->lam), free(pl->id), free(pl->wt); }

/* Index of a pair, or -1. */
static long pairs_find(const PairLists *pl, uint64_t pair) {
    size_t lo = 0, hi = pl->npairs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pl->pair[mid] < pair) lo = mid + 1;
        else hi = mid;
    }
    return lo < pl->npairs && pl->pair[lo] == pair ? (long)lo : -1;
}

/* The weight of id w in the sorted run id/wt[lo .. end) (0 when absent). */
static float run_find(const int32_t *id, const float *wt, size_t lo, size_t end, int w) {
    size_t hi = end;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (id[mid] < w) lo = mid + 1;
        else hi = mid;
    }
    return lo < end && id[lo] == w ? wt[lo] : 0.0f;
}

/* 1 - the sum of a context's weights: its share left to the lower order, T/(n+T). */
static float rest_of(const float *wt, size_t lo, size_t hi) {
    double s = 0;
    for (size_t i = lo; i < hi; i++) s += wt[i];
    return (float)(1.0 - s);
}

/* The add-one unigram and the line count, from the distinct trigrams. */
static int count_unigrams(Ngram *ng, const uint64_t *key, const uint32_t *cnt, size_t nu) {
    const uint64_t S = (uint64_t)ng->S, first = (uint64_t)ng->start * S + (uint64_t)ng->start;
    double *c1 = calloc((size_t)ng->nv, sizeof *c1);
    ng->p1 = malloc(sizeof(float) * (size_t)ng->nv);
    if (!c1 || !ng->p1) return free(c1), -1;
    for (size_t i = 0; i < nu; i++) {
        c1[key[i] % S] += cnt[i];
        ng->tokens += cnt[i];
        if (key[i] / S == first) ng->lines += cnt[i];
    }
    for (int w = 0; w < ng->nv; w++) ng->p1[w] = (float)((c1[w] + 1) / (ng->tokens + ng->nv));
    free(c1);
    return 0;
}

/* The trigram contexts (u,v) -> w, with each context's weights and share. */
static int build_contexts(Ngram *ng, const uint64_t *key, const uint32_t *cnt, size_t nu) {
    const uint64_t S = (uint64_t)ng->S;
    KeyWt *ent = malloc((nu ? nu : 1) * sizeof *ent);
    if (!ent) return -1;
    for (size_t i = 0, j; i < nu; i = j) {
        double n = 0;
        for (j = i; j < nu && key[j] / S == key[i] / S; j++) n += cnt[j];
        double T = (double)(j - i);
        for (size_t k = i; k < j; k++) ent[k].key = key[k], ent[k].wt = (float)(cnt[k] / (n + T));
    }
    int rc = pairs_build(&ng->ctx, ent, nu, S, 1);
    for (size_t k = 0; !rc && k < ng->ctx.npairs; k++) ng->ctx.lam[k] = rest_of(ng->ctx.wt, ng->ctx.off[k],
                                                                                ng->ctx.off[k + 1]);
    free(ent);
    return rc;
}

/* The trigrams again, keyed (u,w) -> v and (v,w) -> u, for the fusion terms. */
static int build_turned(Ngram *ng) {
    const uint64_t S = (uint64_t)ng->S, start = (uint64_t)ng->start;
    const PairLists *c = &ng->ctx;
    KeyWt *skip = malloc((c->n ? c->n : 1) * sizeof *skip), *suf = malloc((c->n ? c->n : 1) * sizeof *suf);
    size_t ns = 0, nf = 0;
    int rc = -1;
    if (!skip || !suf) goto out;
    for (size_t k = 0; k < c->npairs; k++) {
        uint64_t u = c->pair[k] / S, v = c->pair[k] % S;
        for (uint32_t i = c->off[k]; i < c->off[k + 1]; i++) {
            uint64_t w = (uint64_t)c->id[i];
            if (v != start) skip[ns++] = (KeyWt){(u * S + w) * S + v, c->wt[i]};
            if (u != start) suf[nf++] = (KeyWt){(v * S + w) * S + u, c->wt[i]};
        }
    }
    qsort(skip, ns, sizeof *skip, cmp_keywt);
    qsort(suf, nf, sizeof *suf, cmp_keywt);
    rc = pairs_build(&ng->skip, skip, ns, S, 0) || pairs_build(&ng->suf, suf, nf, S, 0) ? -1 : 0;
out:
    free(skip), free(suf);
    return rc;
}

/* The distinct bigrams (v,w) with their counts (float: exact below 2^24), from the trigrams. */
static KeyWt *merge_bigrams(const Ngram *ng, const uint64_t *key, const uint32_t *cnt, size_t nu, size_t *nbi) {
    const uint64_t SS = (uint64_t)ng->S * (uint64_t)ng->S;
    KeyWt *bi = malloc((nu ? nu : 1) * sizeof *bi);
    if (!bi) return NULL;
    for (size_t i = 0; i < nu; i++) bi[i] = (KeyWt){key[i] % SS, (float)cnt[i]};
    qsort(bi, nu, sizeof *bi, cmp_keywt);
    size_t n = 0;
    for (size_t i = 0; i < nu; i++) {
        if (n && bi[n - 1].key == bi[i].key) bi[n - 1].wt += bi[i].wt;
        else bi[n++] = bi[i];
    }
    *nbi = n;
    return bi;
}

/* Bigram rows by context, their shares, and the same bigrams by follower. */
static int build_bigrams(Ngram *ng, const uint64_t *key, const uint32_t *cnt, size_t nu) {
    const uint64_t S = (uint64_t)ng->S;
    size_t n = 0;
    KeyWt *bi = merge_bigrams(ng, key, cnt, nu, &n);
    ng->nbi = n;
    ng->lam1 = malloc(sizeof(float) * S);
    ng->row_off = calloc(S + 1, sizeof *ng->row_off);
    ng->pred_off = calloc((size_t)ng->nv + 1, sizeof *ng->pred_off);
    size_t m = n ? n : 1;
    ng->row_w = malloc(m * sizeof *ng->row_w), ng->pred_v = malloc(m * sizeof *ng->pred_v);
    ng->row_wt = malloc(m * sizeof(float)), ng->row_lam2 = malloc(m * sizeof(float));
    ng->pred_wt = malloc(m * sizeof(float)), ng->pred_lam2 = malloc(m * sizeof(float));
    if (!bi || !ng->lam1 || !ng->row_off || !ng->pred_off || !ng->row_w || !ng->pred_v || !ng->row_wt ||
        !ng->row_lam2 || !ng->pred_wt || !ng->pred_lam2)
        return free(bi), -1;
    for (size_t i = 0; i < n; i++) ng->row_off[bi[i].key / S + 1]++;
    for (uint64_t v = 0; v < S; v++) ng->row_off[v + 1] += ng->row_off[v];
    for (uint64_t v = 0; v < S; v++) {
        double tot = 0;
        uint32_t lo = ng->row_off[v], hi = ng->row_off[v + 1];
        for (uint32_t i = lo; i < hi; i++) tot += bi[i].wt;
        for (uint32_t i = lo; i < hi; i++) {
            ng->row_w[i] = (int32_t)(bi[i].key % S);
            ng->row_wt[i] = (float)(bi[i].wt / (tot + (hi - lo)));
            long k = pairs_find(&ng->ctx, bi[i].key);
            ng->row_lam2[i] = k < 0 ? 1.0f : ng->ctx.lam[k];
        }
        ng->lam1[v] = rest_of(ng->row_wt, lo, hi);
    }
    /* by follower: a counting sort, contexts increasing within each follower */
    for (size_t i = 0; i < n; i++)
        if (bi[i].key / S != (uint64_t)ng->start) ng->pred_off[bi[i].key % S + 1]++;
    for (int w = 0; w < ng->nv; w++) ng->pred_off[w + 1] += ng->pred_off[w];
    uint32_t *fill = malloc(sizeof(uint32_t) * (size_t)(ng->nv + 1));
    if (!fill) return free(bi), -1;
    memcpy(fill, ng->pred_off, sizeof(uint32_t) * (size_t)(ng->nv + 1));
    for (size_t i = 0; i < n; i++) {
        if (bi[i].key / S == (uint64_t)ng->start) continue;
        uint32_t j = fill[bi[i].key % S]++;
        ng->pred_v[j] = (int32_t)(bi[i].key / S), ng->pred_wt[j] = ng->row_wt[i], ng->pred_lam2[j] = ng->row_lam2[i];
    }
    free(fill), free(bi);
    return 0;
}

int ngram_build(Ngram **out, NgramCounts *c, Err *e) {
    *out = NULL;
    Ngram *ng = calloc(1, sizeof *ng);
    uint32_t *cnt = malloc((c->n ? c->n : 1) * sizeof *cnt);
    int rc = -1;
    if (!ng || !cnt || !c->nv) goto out;
    ng->nv = c->nv, ng->end = c->end, ng->start = c->nv, ng->S = c->nv + 1;
    qsort(c->keys, c->n, sizeof *c->keys, cmp_u64);
    size_t nu = 0; /* run-length: the distinct trigrams and their counts, in place */
    for (size_t i = 0; i < c->n; i++) {
        if (nu && c->keys[nu - 1] == c->keys[i]) cnt[nu - 1]++;
        else c->keys[nu] = c->keys[i], cnt[nu++] = 1;
    }
    rc = count_unigrams(ng, c->keys, cnt, nu) || build_contexts(ng, c->keys, cnt, nu) ||
                 build_bigrams(ng, c->keys, cnt, nu) || build_turned(ng)
             ? -1
             : 0;
out:
    free(cnt);
    ngram_counts_free(c);
    if (rc) {
        ngram_free(ng);
        return err_set(e, "out of memory building the trigram");
    }
    *out = ng;
    return 0;
}

void ngram_free(Ngram *ng) {
    if (!ng) return;
    free(ng->p1), free(ng->lam1);
    free(ng->row_off), free(ng->row_w), free(ng->row_wt), free(ng->row_lam2);
    free(ng->pred_off), free(ng->pred_v), free(ng->pred_wt), free(ng->pred_lam2);
    pairs_free(&ng->ctx), pairs_free(&ng->skip), pairs_free(&ng->suf);
    free(ng);
}

int ngram_fit(Ngram **out, const Spm *spm, const char *corpus_path, int crop, Err *e) {
    *out = NULL;
    int V = spm_vocab_size(spm), eos = spm_eos_id(spm);
    if (eos < 0) return err_set(e, "the tokenizer has no EOS piece to end the trigram's lines with");
    Corpus corpus;
    NgramCounts c;
    if (corpus_open(&corpus, corpus_path, e)) return -1;
    if (ngram_counts_init(&c, V, eos, e)) return corpus_close(&corpus), -1;
    int cap = crop > 1 ? crop - 1 : CORPUS_LINE_MAX + 1; /* a piece holds at least one byte */
    char *line = malloc(CORPUS_LINE_MAX + 1);
    int *ids = malloc(sizeof(int) * (size_t)cap);
    int rc = line && ids ? 0 : err_set(e, "out of memory");
    for (long i = 0; !rc && i < corpus_count(&corpus); i++) {
        long len = corpus_line(&corpus, i, line, CORPUS_LINE_MAX + 1, e);
        int k = 0;
        rc = len < 0 || spm_encode(spm, line, (size_t)len, ids, cap, &k, e) ? -1 : 0;
        if (!rc) rc = ngram_counts_add(&c, (const int32_t *)ids, k < cap ? k : cap, e);
    }
    free(line), free(ids);
    corpus_close(&corpus);
    if (rc) {
        ngram_counts_free(&c);
        return -1;
    }
    return ngram_build(out, &c, e);
}

void ngram_describe(const Ngram *ng, char *buf, size_t cap) {
    snprintf(buf, cap, "trigram over %.1fk pieces of %ld lines, %.1fk distinct trigrams", ng->tokens / 1e3, ng->lines,
             ng->ctx.n / 1e3);
}

int ngram_symbols(const Ngram *ng) { return ng->nv; }
int ngram_end(const Ngram *ng) { return ng->end; }
int ngram_start(const Ngram *ng) { return ng->start; }

/* ---- queries ------------------------------------------------------------------------- */

static int in_range(int x, int hi) { return x >= 0 && x < hi; }

float ngram_prob(const Ngram *ng, int u, int v, int w) {
    if (!in_range(w, ng->nv)) return (float)(1.0 / (ng->tokens + ng->nv)); /* never seen */
    float p = ng->p1[w];
    if (!in_range(v, ng->S)) return p;
    p = ng->lam1[v] * p + run_find(ng->row_w, ng->row_wt, ng->row_off[v], ng->row_off[v + 1], w);
    long k = in_range(u, ng->S) ? pairs_find(&ng->ctx, (uint64_t)u * ng->S + (uint64_t)v) : -1;
    if (k < 0) return p;
    return ng->ctx.lam[k] * p + run_find(ng->ctx.id, ng->ctx.wt, ng->ctx.off[k], ng->ctx.off[k + 1], w);
}

void ngram_next_dist(const Ngram *ng, int u, int v, float *p) {
    const int nv = ng->nv;
    if (!in_range(v, ng->S)) {
        memcpy(p, ng->p1, sizeof(float) * (size_t)nv);
        return;
    }
    const float l1 = ng->lam1[v];
    for (int w = 0; w < nv; w++) p[w] = l1 * ng->p1[w];
    for (uint32_t i = ng->row_off[v]; i < ng->row_off[v + 1]; i++) p[ng->row_w[i]] += ng->row_wt[i];
    long k = in_range(u, ng->S) ? pairs_find(&ng->ctx, (uint64_t)u * ng->S + (uint64_t)v) : -1;
    if (k < 0) return;
    const float l2 = ng->ctx.lam[k];
    for (int w = 0; w < nv; w++) p[w] *= l2;
    for (uint32_t i = ng->ctx.off[k]; i < ng->ctx.off[k + 1]; i++) p[ng->ctx.id[i]] += ng->ctx.wt[i];
}

/* q[w] = p(c | b, w) for every w: the bigram p(c|w) from c's predecessor
 * list, scaled where (b,w) is a context, plus the trigrams (b,w,c). */
static void prob_of_next(const Ngram *ng, int b, int c, float *q) {
    const float pc = ng->p1[c];
    for (int w = 0; w < ng->nv; w++) q[w] = ng->lam1[w] * pc;
    for (uint32_t i = ng->pred_off[c]; i < ng->pred_off[c + 1]; i++) q[ng->pred_v[i]] += ng->pred_wt[i];
    if (!in_range(b, ng->S)) return;
    for (uint32_t i = ng->row_off[b]; i < ng->row_off[b + 1]; i++) q[ng->row_w[i]] *= ng->row_lam2[i];
    long k = pairs_find(&ng->skip, (uint64_t)b * ng->S + (uint64_t)c);
    if (k < 0) return;
    for (uint32_t i = ng->skip.off[k]; i < ng->skip.off[k + 1]; i++) q[ng->skip.id[i]] += ng->skip.wt[i];
}

/* r[w] = p(d | w, c) for every w: p(d|c) scaled where (w,c) is a context,
 * plus the trigrams (w,c,d). */
static void prob_of_after_next(const Ngram *ng, int c, int d, float *r) {
    const float pd = ngram_prob(ng, -1, c, d); /* the bigram p(d|c) */
    for (int w = 0; w < ng->nv; w++) r[w] = pd;
    for (uint32_t i = ng->pred_off[c]; i < ng->pred_off[c + 1]; i++) r[ng->pred_v[i]] = ng->pred_lam2[i] * pd;
    long k = pairs_find(&ng->suf, (uint64_t)c * ng->S + (uint64_t)d);
    if (k < 0) return;
    for (uint32_t i = ng->suf.off[k]; i < ng->suf.off[k + 1]; i++) r[ng->suf.id[i]] += ng->suf.wt[i];
}

void ngram_fusion_terms(const Ngram *ng, int a, int b, int c, int d, float *out, float *scratch) {
    const int nv = ng->nv;
    float *p = scratch, *q = scratch + nv, *r = scratch + 2 * nv;
    ngram_next_dist(ng, a, b, p);
    int has_c = in_range(c, nv), has_d = has_c && c != ng->end && in_range(d, nv);
    if (has_c) prob_of_next(ng, b, c, q);
    if (has_d) prob_of_after_next(ng, c, d, r);
    /* one log per piece; each factor is >= ~1e-9 even on large corpora, the floor only guards underflow */
    for (int w = 0; w < nv; w++) {
        float prod = p[w] * (has_c ? q[w] : 1.0f) * (has_d ? r[w] : 1.0f);
        out[w] = logf(fmaxf(prod, FLT_MIN));
    }
}

/* ---- filling a gap ------------------------------------------------------------------- */

typedef struct {
    const Ngram *ng;
    const int32_t *seq;
    int len, start, k;
} Gap;

/* The symbol at position pos of the sequence as beam `hist` [k] fills the gap. */
static int gap_symbol(const Gap *g, const int32_t *hist, int pos) {
    if (pos < 0) return g->ng->start;
    if (pos >= g->start && pos < g->start + g->k) return hist[pos - g->start];
    return pos < g->len ? g->seq[pos] : g->ng->end;
}

/* The NGRAM_BEAM most probable pieces of p (the start and end symbols left
 * out), most probable first; returns how many. */
static int top_pieces(const Ngram *ng, const float *p, int *w_out, float *p_out) {
    int m = 0;
    for (int w = 0; w < ng->nv; w++) {
        if (w == ng->end || (m == NGRAM_BEAM && p[w] <= p_out[m - 1])) continue;
        int j = m < NGRAM_BEAM ? m++ : m - 1;
        for (; j > 0 && p_out[j - 1] < p[w]; j--) w_out[j] = w_out[j - 1], p_out[j] = p_out[j - 1];
        w_out[j] = w, p_out[j] = p[w];
    }
    return m;
}

typedef struct {
    double score;
    int parent, w;
} Cand;

static int cmp_cand(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->parent != y->parent ? x->parent - y->parent : x->w - y->w;
}

/* One step of the beam: extends every beam by its best pieces and keeps the best NGRAM_BEAM. */
static int beam_step(const Gap *g, int j, int32_t *hist, int32_t *next, double *score, int nb, float *p) {
    Cand cand[NGRAM_BEAM * NGRAM_BEAM];
    int nc = 0, w[NGRAM_BEAM];
    float pw[NGRAM_BEAM];
    for (int b = 0; b < nb; b++) {
        const int32_t *h = hist + (long)b * g->k;
        ngram_next_dist(g->ng, gap_symbol(g, h, g->start + j - 2), gap_symbol(g, h, g->start + j - 1), p);
        int m = top_pieces(g->ng, p, w, pw);
        for (int i = 0; i < m; i++) cand[nc++] = (Cand){score[b] + log(pw[i]), b, w[i]};
    }
    qsort(cand, nc, sizeof *cand, cmp_cand);
    int keep = nc < NGRAM_BEAM ? nc : NGRAM_BEAM;
    for (int i = 0; i < keep; i++) {
        memcpy(next + (long)i * g->k, hist + (long)cand[i].parent * g->k, sizeof(int32_t) * (size_t)j);
        next[(long)i * g->k + j] = cand[i].w;
        score[i] = cand[i].score;
    }
    return keep;
}

int ngram_fill(const Ngram *ng, const int32_t *seq, int len, int start, int k, int32_t *out, Err *e) {
    if (k < 1 || start < 0 || start + k > len) return err_set(e, "no gap of %d at %d in a sequence of %d", k,
                                                              start, len);
    Gap g = {ng, seq, len, start, k};
    int32_t *base = malloc(sizeof(int32_t) * NGRAM_BEAM * (size_t)k * 2), *hist = base;
    float *p = malloc(sizeof(float) * (size_t)ng->nv);
    double score[NGRAM_BEAM] = {0};
    if (!base || !p) {
        free(base), free(p);
        return err_set(e, "out of memory filling a gap of %d", k);
    }
    int32_t *next = base + NGRAM_BEAM * (size_t)k; /* the beams and their extensions, swapped each step */
    int nb = 1;
    for (int j = 0; j < k; j++) {
        nb = beam_step(&g, j, hist, next, score, nb, p);
        int32_t *t = hist;
        hist = next, next = t;
    }
    /* each beam's end: the right context's next two pieces (none after an end symbol) */
    int best = 0;
    double best_score = -INFINITY;
    for (int b = 0; b < nb; b++) {
        const int32_t *h = hist + (long)b * k;
        int u = gap_symbol(&g, h, start + k - 2), v = gap_symbol(&g, h, start + k - 1);
        int r1 = gap_symbol(&g, h, start + k), r2 = gap_symbol(&g, h, start + k + 1);
        double s = score[b] + log(ngram_prob(ng, u, v, r1));
        if (r1 != ng->end) s += log(ngram_prob(ng, v, r1, r2));
        if (s > best_score) best_score = s, best = b;
    }
    memcpy(out, hist + (long)best * k, sizeof(int32_t) * (size_t)k);
    free(base), free(p);
    return 0;
}

/* ---- fusion -------------------------------------------------------------------------- */

int ngram_fusion_init(NgramFusion *f, const Ngram *ng, float lambda, int V, Err *e) {
    memset(f, 0, sizeof *f);
    if (V != ng->nv && !(ng->end == V && ng->nv == V + 1))
        return err_set(e, "the trigram has %d pieces but the model %d: fit it with the model's tokenizer", ng->nv, V);
    f->buf = malloc(sizeof(float) * 4 * (size_t)ng->nv);
    if (!f->buf) return err_set(e, "out of memory");
    f->ng = ng;
    f->lambda = lambda;
    return 0;
}

void ngram_fusion_free(NgramFusion *f) {
    free(f->buf);
    memset(f, 0, sizeof *f);
}

void ngram_fuse(void *ctx, int B, int L, int V, const int32_t *ids, const uint8_t *open, float *logits) {
    NgramFusion *f = ctx;
    const Ngram *ng = f->ng;
    if (f->lambda == 0) return;
    const int n = V < ng->nv ? V : ng->nv;
    float *terms = f->buf, *scratch = f->buf + ng->nv;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < L; i++) {
            long row = (long)b * L + i;
            if (!open[row]) continue;
            const int32_t *x = ids + (long)b * L;
            int a = i >= 2 ? x[i - 2] : ng->start, pb = i >= 1 ? x[i - 1] : ng->start;
            int c = i + 1 < L ? x[i + 1] : ng->end, d = i + 2 < L ? x[i + 2] : ng->end;
            ngram_fusion_terms(ng, a, pb, c, d, terms, scratch);
            float *lg = logits + row * V;
            for (int w = 0; w < n; w++) lg[w] += f->lambda * terms[w];
        }
}
