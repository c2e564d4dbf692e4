/* test_batcher.c: the batcher thread on a real corpus and tokenizer. With
 * length buckets (--bucket K) an epoch still visits every line exactly once,
 * each window's batches are runs of one length order, a batch pads to far
 * fewer positions than random lines do, and a batcher started at a data
 * position mid-window hands out exactly the batches of the uninterrupted one. */
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "check.h"
#include "spm.h"
#include "tmpdir.h"

enum { BATCH = 8, CROP = 128 };
static const char corpus_path[] = "tests/data/tiny-corpus.txt";

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A batcher over the corpus from its start and a batch for it; NULL (reported) when either fails. */
static Batcher *start(const Corpus *c, const Spm *spm, uint64_t seed, MaskKind mask, int bucket, Batch *b) {
    BatcherConfig cfg = {c, spm, BATCH, CROP, seed, mask, 0, 0, bucket};
    Batcher *bt = NULL;
    Err e;
    if (batch_alloc(b, BATCH, CROP, &e) || batcher_start(&bt, &cfg, &e)) check_ok(0, "bucket %d: batcher: %s", bucket, e.msg);
    return bt;
}

/* Every example of one epoch, decoded, against every corpus line encoded the plain way and decoded. */
static void test_visits(const Corpus *c, const Spm *spm, int bucket) {
    long n = corpus_count(c);
    Batch b;
    Batcher *bt = start(c, spm, 7, MASK_SEED, bucket, &b);
    if (!bt) return;
    Err e;
    char **got = calloc(n, sizeof *got), **want = calloc(n, sizeof *want), line[CORPUS_LINE_MAX + 1], text[4096];
    int ids[CROP];
    long seen = 0, padded = 0, batches = 0;
    int ok = 1;
    while (seen < n && ok) {
        ok = batcher_next(bt, &b, &e) == 0 && b.epoch == 0;
        for (int i = 0; ok && i < b.B && seen < n; i++) {
            int k = b.ntok[i] - 1; /* without its EOS */
            ok = spm_decode(spm, b.ids + (long)i * b.L, k, text, sizeof text, NULL, &e) == 0;
            got[seen++] = strdup(text);
        }
        padded += (long)b.B * b.L, batches++;
    }
    for (long i = 0; ok && i < n; i++) {
        int k = 0;
        long len = corpus_line(c, i, line, sizeof line, &e);
        ok = len > 0 && spm_encode(spm, line, (size_t)len, ids, CROP, &k, &e) == 0 &&
             spm_decode(spm, ids, k, text, sizeof text, NULL, &e) == 0;
        want[i] = strdup(text);
    }
    if (ok) {
        qsort(got, n, sizeof *got, cmp_str), qsort(want, n, sizeof *want, cmp_str);
        for (long i = 0; i < n && ok; i++) ok = !strcmp(got[i], want[i]);
    }
    check_ok(ok && batches == batcher_per_epoch(n, BATCH), "bucket %d: one epoch is %lld batches visiting each of %ld lines once",
             bucket, (long long)batcher_per_epoch(n, BATCH), n);
    printf("# bucket %d: %.1f padded positions per example\n", bucket, (double)padded / n);
    for (long i = 0; i < n; i++) free(got[i]), free(want[i]);
    free(got), free(want);
    batcher_stop(bt);
    batch_free(&b);
}

/* Pad positions per example (past its own length, up to its batch's). */
static double pads_per_example(const Corpus *c, const Spm *spm, int bucket, long examples) {
    Batch b;
    Batcher *bt = start(c, spm, 3, MASK_SEED, bucket, &b);
    Err e;
    if (!bt) return -1;
    long seen = 0, pads = 0;
    while (seen < examples && batcher_next(bt, &b, &e) == 0)
        for (int i = 0; i < b.B; i++) seen++, pads += b.L - b.ntok[i];
    batcher_stop(bt);
    batch_free(&b);
    return (double)pads / seen;
}

/* Within a window of K batches the examples are sorted by length: laid side by side in order of their
 * shortest example, no batch's longest exceeds the next one's shortest. */
static void test_windows(const Corpus *c, const Spm *spm, int K) {
    long n = corpus_count(c);
    Batch b;
    Batcher *bt = start(c, spm, 5, MASK_MIXED, K, &b);
    if (!bt) return;
    Err e;
    int ok = 1, windows = 0, lo[K], hi[K];
    for (long start = 0; start + (long)K * BATCH <= n && ok; start += (long)K * BATCH, windows++) {
        for (int k = 0; k < K && ok; k++) {
            ok = batcher_next(bt, &b, &e) == 0 && b.B == BATCH;
            lo[k] = CROP, hi[k] = 0;
            for (int i = 0; i < b.B; i++) {
                if (b.ntok[i] < lo[k]) lo[k] = b.ntok[i];
                if (b.ntok[i] > hi[k]) hi[k] = b.ntok[i];
            }
            ok &= b.L == hi[k];
        }
        for (int x = 0; x < K && ok; x++)
            for (int y = 0; y < K && ok; y++)
                if (lo[x] < lo[y]) ok = hi[x] <= lo[y];
    }
    check_ok(ok && windows > 3, "bucket %d: each of %d windows is %d runs of one length order", K, windows, K);
    batcher_stop(bt);
    batch_free(&b);
}

/* A batcher started at the data position of batch j hands out batches j, j+1, ... bit for bit. */
static void test_resume(const Corpus *c, const Spm *spm, int K) {
    enum { TOTAL = 90, FROM = 43 };
    BatcherConfig cfg = {c, spm, BATCH, CROP, 9, MASK_MIXED, 0, 0, K};
    Batcher *whole, *late;
    static Batch ref[TOTAL];
    Batch b;
    Err e;
    int ok = batch_alloc(&b, BATCH, CROP, &e) == 0 && batcher_start(&whole, &cfg, &e) == 0;
    for (int j = 0; ok && j < TOTAL; j++) ok = batch_alloc(&ref[j], BATCH, CROP, &e) == 0 && batcher_next(whole, &ref[j], &e) == 0;
    if (ok) batcher_stop(whole);
    cfg.epoch = ref[FROM].epoch, cfg.index = ref[FROM].index;
    ok = ok && batcher_start(&late, &cfg, &e) == 0;
    int same = ok, crossed = 0;
    for (int j = FROM; same && j < TOTAL; j++) {
        same = batcher_next(late, &b, &e) == 0 && b.B == ref[j].B && b.L == ref[j].L && b.epoch == ref[j].epoch &&
               b.index == ref[j].index && !memcmp(b.ids, ref[j].ids, sizeof *b.ids * b.B * b.L) &&
               !memcmp(b.len_mask, ref[j].len_mask, (size_t)b.B * b.L) && !memcmp(b.cond, ref[j].cond, (size_t)b.B * b.L);
        crossed |= ref[j].epoch > ref[FROM].epoch;
    }
    check_ok(same && crossed && ref[FROM].index % ((long)K * BATCH) != 0,
             "bucket %d: started mid-window at epoch %lld index %lld, the same %d batches bit for bit, into the next epoch",
             K, (long long)ref[FROM].epoch, (long long)ref[FROM].index, TOTAL - FROM);
    if (ok) batcher_stop(late);
    for (int j = 0; j < TOTAL; j++) batch_free(&ref[j]);
    batch_free(&b);
}

int main(void) {
    char *dir = tmpdir_make("batcher"), prefix[600], model[640];
    snprintf(prefix, sizeof prefix, "%s/tok", dir);
    snprintf(model, sizeof model, "%s.model", prefix);
    Err e;
    Corpus c;
    Spm *spm = NULL;
    if (corpus_open(&c, corpus_path, &e) || spm_train(corpus_path, prefix, 400, &e) || !(spm = spm_load(model, &e))) {
        check_ok(0, "setup: %s", e.msg);
        return check_done();
    }
    test_visits(&c, spm, 0);
    test_visits(&c, spm, 4);
    test_visits(&c, spm, 1000); /* a window larger than the corpus: the whole epoch sorted */
    double plain = pads_per_example(&c, spm, 0, 3000), bucketed = pads_per_example(&c, spm, 8, 3000);
    check_ok(plain > 0 && bucketed >= 0 && bucketed < 0.4 * plain,
             "bucket 8: %.1f pads per example, random lines %.1f", bucketed, plain);
    test_windows(&c, spm, 4);
    test_resume(&c, spm, 4);
    BatcherConfig bad = {&c, spm, BATCH, CROP, 1, MASK_SEED, 0, 0, BATCHER_BUCKET_MAX + 1};
    Batcher *bt = NULL;
    check_ok(batcher_start(&bt, &bad, &e) < 0 && !bt && strstr(e.msg, "bucket"), "too many buckets is refused: %s", e.msg);
    spm_free(spm);
    corpus_close(&c);
    tmpdir_remove(dir);
    free(dir);
    return check_done();
}
