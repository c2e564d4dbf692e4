/* test_score.c: the model's own score of a fill (session/score.h): the same
 * input gives the same score, a score does not depend on its batch, the
 * ranking is sorted best first with unscored fills last, and on the shipped
 * model the true fill of a corpus line scores better than a random one on
 * most lines (a majority over many lines, not one picked line). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "corpus.h"
#include "rng.h"
#include "score.h"

enum { LINES = 24, MAXL = 64 };

static void test_rank(void) {
    const float v[] = {2.5f, NAN, 1.0f, 3.0f, 1.0f, NAN, 0.5f};
    int n = sizeof v / sizeof *v, o[8];
    score_rank(v, n, o);
    int sorted = 1;
    for (int i = 1; i < n; i++) {
        float a = v[o[i - 1]], b = v[o[i]];
        if (isnan(a) ? !isnan(b) : !isnan(b) && b < a) sorted = 0;
    }
    check_ok(sorted && o[0] == 6 && o[1] == 2 && o[2] == 4 && isnan(v[o[5]]) && isnan(v[o[6]]),
             "score_rank: lowest first, ties in index order, NAN last (%d %d %d %d %d %d %d)", o[0], o[1], o[2],
             o[3], o[4], o[5], o[6]);
    int seen[8] = {0}, perm = 1;
    for (int i = 0; i < n; i++) perm &= !seen[o[i]]++;
    check_ok(perm, "score_rank: a permutation of the indexes");
}

int main(void) {
    test_rank();
    ModelFile mf;
    Err e;
    if (modelfile_open(&mf, "share/sdlm-default.safetensors", NULL, 1, &e)) {
        check_ok(0, "open the shipped model: %s", e.msg);
        return 1;
    }
    Corpus c;
    if (corpus_open(&c, "share/corpus.txt", &e)) {
        check_ok(0, "open share/corpus.txt: %s", e.msg);
        modelfile_close(&mf);
        return 1;
    }
    /* LINES lines spread through the corpus, each twice: the truth, then a
     * random fill of a 25% gap (pieces drawn uniformly, pad/EOS/unk excluded) */
    const int V = mf.model.cfg.V, crop = mf.crop_len < MAXL ? mf.crop_len : MAXL;
    int32_t *ids = calloc((size_t)2 * LINES * MAXL, sizeof *ids);
    uint8_t *known = calloc((size_t)2 * LINES * MAXL, 1);
    int lengths[2 * LINES], n = 0;
    char line[CORPUS_LINE_MAX + 1];
    Rng r;
    rng_seed(&r, 7);
    long count = corpus_count(&c);
    for (long li = 0; li < count && n < LINES; li += count / (LINES * 2) + 1) {
        long len = corpus_line(&c, li, line, sizeof line, &e);
        int k = 0, tok[MAXL];
        if (len < 0 || spm_encode(mf.spm, line, (size_t)len, tok, crop - 1, &k, &e)) continue;
        if (k > crop - 1) k = crop - 1;
        if (k < 8) continue; /* a gap of at least 2 pieces */
        tok[k] = spm_eos_id(mf.spm);
        int L = k + 1, g = (int)lround(0.25 * k), s = (int)rng_below(&r, (uint64_t)(k - g + 1));
        for (int v = 0; v < 2; v++) {
            int row = 2 * n + v;
            lengths[row] = L;
            for (int p = 0; p < L; p++) {
                int masked = p >= s && p < s + g, id = tok[p];
                if (masked && v == 1) {
                    do id = (int)rng_below(&r, (uint64_t)V);
                    while (id == spm_pad_id(mf.spm) || id == spm_eos_id(mf.spm) || id == spm_unk_id(mf.spm));
                }
                ids[(long)row * MAXL + p] = id;
                known[(long)row * MAXL + p] = !masked;
            }
        }
        n++;
    }
    check_ok(n == LINES, "%d corpus lines with a 25%% gap of 2 or more pieces", n);
    float a[2 * LINES], b[8], b2[8], one[2];
    int rc = score_fills(&mf, ids, known, lengths, 2 * n, MAXL, a, &e);
    check_ok(!rc, "score_fills of %d sequences: %s", 2 * n, rc ? e.msg : "ok");
    rc = score_fills(&mf, ids, known, lengths, 8, MAXL, b, &e) ||
         score_fills(&mf, ids, known, lengths, 8, MAXL, b2, &e);
    check_ok(!rc && !memcmp(b, b2, sizeof b), "the same fills score the same, bit for bit");
    check_close("8 fills scored apart from the others", b, a, 8, 1e-3, 1e-4);
    /* alone, a fill scores as in the batch (the noise is per level, not per row) */
    rc = score_fills(&mf, ids + (long)3 * MAXL, known + (long)3 * MAXL, lengths + 3, 1, MAXL, one, &e);
    check_ok(!rc && fabsf(one[0] - a[3]) <= 1e-3f + 1e-4f * fabsf(a[3]), "a fill scored alone: %.5f, in the batch %.5f",
             (double)one[0], (double)a[3]);
    int finite = 1, better = 0;
    double st = 0, sr = 0;
    for (int i = 0; i < n; i++) {
        finite &= isfinite(a[2 * i]) && isfinite(a[2 * i + 1]) && a[2 * i] > 0;
        better += a[2 * i] < a[2 * i + 1];
        st += a[2 * i], sr += a[2 * i + 1];
    }
    check_ok(finite, "every score is a finite positive number of nats");
    check_ok(better * 4 >= n * 3, "the true fill scores better than a random one on %d of %d lines (want >= 3/4); "
             "mean %.2f vs %.2f nats per filled token", better, n, st / n, sr / n);
    /* the ranking of each pair puts the truth first where it scored better */
    int agree = 1;
    for (int i = 0; i < n; i++) {
        int o[2];
        score_rank(a + 2 * i, 2, o);
        agree &= (o[0] == 0) == !(a[2 * i + 1] < a[2 * i]);
    }
    check_ok(agree, "score_rank agrees with the scores on every pair");
    /* nothing filled: no score */
    uint8_t all[MAXL];
    memset(all, 1, sizeof all);
    rc = score_fills(&mf, ids, all, lengths, 1, MAXL, one, &e);
    check_ok(!rc && isnan(one[0]), "a sequence with nothing filled has no score (NAN)");
    free(ids), free(known);
    corpus_close(&c);
    modelfile_close(&mf);
    return check_done();
}
