/* test_batch.c: the collate rules of model-spec.md, measured over many draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "check.h"

static int contiguous(const uint8_t *c, int n) {
    int runs = 0;
    for (int i = 0; i < n; i++) runs += c[i] && (i == 0 || !c[i - 1]);
    return runs <= 1;
}

int main(void) {
    Err e;
    Rng r;
    rng_seed(&r, 11);
    /* the seed's mask: m ~ U{0..n-1}, a contiguous span, shuffled half the time */
    enum { n = 9, TRIALS = 40000 };
    long count_m[n + 1] = {0}, contig_nonempty = 0, nonempty = 0;
    uint8_t c[n];
    for (int t = 0; t < TRIALS; t++) {
        cond_mask_seed(c, n, &r);
        int m = 0;
        for (int i = 0; i < n; i++) m += c[i];
        count_m[m]++;
        if (m > 1 && m < n - 1) nonempty++, contig_nonempty += contiguous(c, n);
    }
    int uniform = count_m[n] == 0;
    for (int m = 0; m < n; m++) uniform &= labs(count_m[m] - TRIALS / n) < TRIALS / n / 10;
    check_ok(uniform, "seed mask: known count uniform over 0..n-1, never all of them");
    /* an unshuffled span of m in [2, n-2] is contiguous; a shuffled one is contiguous by chance less often */
    double frac = (double)contig_nonempty / nonempty;
    check_ok(frac > 0.5 && frac < 0.7, "seed mask: contiguous in about half the draws plus chance (%.2f)", frac);

    /* infill masks leave at least one unknown token */
    int ok = 1;
    for (int t = 0; t < 5000; t++) {
        int len = 1 + (int)rng_below(&r, n);
        cond_mask_infill(c, len, &r);
        int unknown = 0;
        for (int i = 0; i < len; i++) unknown += !c[i];
        ok &= unknown >= 1;
    }
    check_ok(ok, "infill mask: at least one position to fill");

    /* mixed masks: each example draws the seed's or an infill mask. The share of known sets that are one
     * span touching an end tells them apart (infill: its prefix and suffix shapes; the seed: by chance). */
    {
        int32_t seq9[9] = {3, 4, 5, 6, 7, 8, 9, 10, 2};
        const int32_t *one9[] = {seq9};
        int len9 = 9;
        Batch m;
        batch_alloc(&m, 1, 9, &e);
        double share[MASK_KINDS];
        for (int kind = 0; kind < MASK_KINDS; kind++) {
            long hits = 0;
            for (int t = 0; t < 20000; t++) {
                batch_collate(&m, one9, &len9, 1, 0, (MaskKind)kind, &r);
                int known = 0;
                for (int i = 0; i < 9; i++) known += m.cond[i];
                hits += known >= 1 && known <= 8 && contiguous(m.cond, 9) && (m.cond[0] || m.cond[8]);
            }
            share[kind] = hits / 20000.0;
        }
        double mid = (share[MASK_SEED] + share[MASK_INFILL]) / 2;
        check_ok(share[MASK_INFILL] > share[MASK_SEED] + 0.15 && fabs(share[MASK_MIXED] - mid) < 0.02,
                 "mixed masks draw both kinds, half each (end spans: seed %.3f, infill %.3f, mixed %.3f)",
                 share[MASK_SEED], share[MASK_INFILL], share[MASK_MIXED]);
        batch_free(&m);
    }

    /* collate: padding, lengths in [own, longest], masks only on real tokens */
    Batch b;
    batch_alloc(&b, 4, 16, &e);
    int32_t s0[] = {5, 6, 7, 2}, s1[] = {8, 2}, s2[] = {9, 10, 11, 12, 13, 2}, s3[] = {2};
    const int32_t *seqs[] = {s0, s1, s2, s3};
    int lens[] = {4, 2, 6, 1};
    long hist[7] = {0};
    int rules = 1;
    for (int t = 0; t < 7000; t++) {
        batch_collate(&b, seqs, lens, 4, 0, MASK_SEED, &r);
        rules &= b.B == 4 && b.L == 6;
        long tokens = 0;
        for (int i = 0; i < 4; i++) {
            int len = 0;
            for (int l = 0; l < b.L; l++) {
                int32_t id = b.ids[i * b.L + l];
                rules &= l < lens[i] ? id == seqs[i][l] : id == 0;
                rules &= !(b.cond[i * b.L + l] && l >= lens[i]); /* no known pads */
                rules &= !(b.len_mask[i * b.L + l] && l > 0 && !b.len_mask[i * b.L + l - 1]);
                len += b.len_mask[i * b.L + l];
            }
            rules &= len >= lens[i] && len <= b.L;
            tokens += len;
            if (i == 1) hist[len]++;
        }
        rules &= tokens == b.tokens;
    }
    check_ok(rules, "collate: pad ids past each example, lengths in [own, longest], no known pads");
    int spread = 1;
    for (int len = 2; len <= 6; len++) spread &= labs(hist[len] - 7000 / 5) < 7000 / 5 / 8;
    check_ok(spread && hist[0] == 0 && hist[1] == 0, "collate: a length is uniform over [own, longest]");

    /* the same generator state gives the same batch */
    Batch b2;
    batch_alloc(&b2, 4, 16, &e);
    Rng r1, r2;
    rng_seed(&r1, 5), rng_seed(&r2, 5);
    batch_collate(&b, seqs, lens, 4, 0, MASK_INFILL, &r1);
    batch_collate(&b2, seqs, lens, 4, 0, MASK_INFILL, &r2);
    check_ok(!memcmp(b.ids, b2.ids, sizeof(int32_t) * 24) && !memcmp(b.cond, b2.cond, 24) &&
                 !memcmp(b.len_mask, b2.len_mask, 24),
             "collate is a function of the generator state");
    /* examples longer than the capacity are cut to it */
    int32_t longseq[20];
    for (int i = 0; i < 20; i++) longseq[i] = 3 + i;
    const int32_t *one[] = {longseq};
    int nlong = 20;
    batch_collate(&b, one, &nlong, 1, 0, MASK_SEED, &r);
    check_ok(b.L == 16 && b.ntok[0] == 16, "an example longer than the crop is cut to it");
    batch_free(&b), batch_free(&b2);
    return check_done();
}
