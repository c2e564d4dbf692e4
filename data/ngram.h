/* ngram.h: the trigram anchor: a count-based trigram over the model's own
 * SentencePiece pieces, the yardstick a diffusion model's fills are held
 * against (`sdlm eval`), and a shallow-fusion term for its sampler.
 *
 * What it is for: fit p(w | u, v) on training lines (each line: two start
 * symbols, its pieces, one end symbol, which is the tokenizer's EOS piece, so
 * the sequences the samplers fill read the same), fill a gap by beam search,
 * and add lambda * log p(piece | its neighbours) to a model's logits.
 * What it is not: a language model for generation (no sampling, no pruning),
 * nor a store of text: only counts are kept.
 *
 * Estimates: interpolated Witten-Bell, trigram over bigram over an add-one
 * unigram, so no piece of the vocabulary ever gets probability 0:
 *   p1(w)       = (c(w) + 1) / (N + nv)
 *   p2(w|v)     = (c(v,w) + T(v) p1(w)) / (n(v) + T(v))     (p1 when v was never a context)
 *   p3(w|u,v)   = (c(u,v,w) + T(u,v) p2(w|v)) / (n(u,v) + T(u,v))
 * where n(.) counts a context's followers and T(.) its distinct followers.
 * Symbols: 0..nv-1 are predicted (the pieces, the end symbol among them);
 * the start symbol is nv and only ever a context.
 *
 * Storage: sorted arrays only (counts are gathered as one array of 64-bit
 * keys, sorted and run-length merged): each bigram and trigram is held three
 * times, in the orders the fusion terms read them, as an id and a float.
 *
 * Threads: a built Ngram is read-only; any number of threads may query it. */
#ifndef SDLM_NGRAM_H
#define SDLM_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spm.h"

typedef struct Ngram Ngram;

/* ---- fitting ---- */

/* Counts gathered line by line, then built into an Ngram. */
typedef struct {
    int nv, end;       /* predicted symbols; the end symbol's id */
    uint64_t *keys;    /* one key per trigram occurrence */
    size_t n, cap;
} NgramCounts;

/* V pieces; end_id: the piece that ends a line (EOS), or -1 for an end
 * symbol of its own (id V, so nv = V + 1). */
int ngram_counts_init(NgramCounts *c, int V, int end_id, Err *e);
/* Adds one line's pieces (without its end symbol), each in [0, V). */
int ngram_counts_add(NgramCounts *c, const int32_t *ids, int n, Err *e);
/* Builds the model and frees the counts (also on failure). */
int ngram_build(Ngram **out, NgramCounts *c, Err *e);
void ngram_counts_free(NgramCounts *c);

/* Fits on every line of a corpus file, each encoded as `sdlm eval` encodes a
 * held-out line (plain encoding, at most crop - 1 pieces, then EOS; crop <= 1:
 * no crop). The tokenizer must have an EOS piece. */
int ngram_fit(Ngram **out, const Spm *spm, const char *corpus_path, int crop, Err *e);
void ngram_free(Ngram *ng);

/* "trigram over 160.3k pieces of 6901 lines, 48.1k distinct trigrams" */
void ngram_describe(const Ngram *ng, char *buf, size_t cap);
int ngram_symbols(const Ngram *ng);   /* nv: ids 0..nv-1 are predicted */
int ngram_end(const Ngram *ng);       /* the end symbol's id */
int ngram_start(const Ngram *ng);     /* the start symbol's id (nv) */

/* ---- queries ---- */

/* p(w | u, v): u, v in [0, nv] (the start symbol allowed), w in [0, nv).
 * Out-of-range ids count as never seen. Never 0. */
float ngram_prob(const Ngram *ng, int u, int v, int w);
/* The same for every w at once: p[w] = p(w | u, v), w in [0, nv). */
void ngram_next_dist(const Ngram *ng, int u, int v, float *p);

/* Fills seq[start .. start+k) of a sequence of len pieces: beam search (16
 * beams) with log p(w | previous two), each beam's end scored with the right
 * context's next two pieces (positions past len are the end symbol; nothing
 * is scored after an end symbol); the best goes to out [k]. Positions before
 * 0 are the start symbol. The start and end symbols are never filled in. */
int ngram_fill(const Ngram *ng, const int32_t *seq, int len, int start, int k, int32_t *out, Err *e);

/* ---- shallow fusion ---- */

/* The fusion terms at one position with neighbours a = x(i-2), b = x(i-1),
 * c = x(i+1), d = x(i+2): out[w] = log p(w|a,b) + log p(c|b,w) + log p(d|w,c)
 * for w in [0, nv); the last term is left out when c is the end symbol.
 * O(nv + the sparse lists of b and c), no per-w lookups. scratch: 3 * nv floats. */
void ngram_fusion_terms(const Ngram *ng, int a, int b, int c, int d, float *out, float *scratch);

/* A LogitFusion (src/diffusion.h) with its context: at every open position
 * adds lambda * ngram_fusion_terms to the model's logits. Neighbours outside
 * the sequence are the start symbol (left) and the end symbol (right). */
typedef struct {
    const Ngram *ng;
    float lambda;
    float *buf;         /* [4 * nv] terms and scratch */
} NgramFusion;

/* V: the model's vocabulary, which must be the trigram's pieces. */
int ngram_fusion_init(NgramFusion *f, const Ngram *ng, float lambda, int V, Err *e);
void ngram_fusion_free(NgramFusion *f);
void ngram_fuse(void *ctx, int B, int L, int V, const int32_t *ids, const uint8_t *open, float *logits);

#endif
