/* batcher.c: a worker thread filling a small ring of ready batches. */
#include "batcher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { RING = 4 };

struct Batcher {
    BatcherConfig cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    Batch ring[RING];
    int head, count; /* ring[head] is the next to hand out */
    int quit, failed;
    Err err;
    /* worker-only state */
    uint32_t *order;  /* [lines] this epoch's permutation */
    int64_t order_epoch;
    int64_t epoch, index;
    int32_t *seq;     /* [batch, crop] encoded examples */
    int *nseq;
    char *line;       /* CORPUS_LINE_MAX + 1 */
    /* length buckets (cfg.bucket > 1): the window of bucket x batch examples holding the position */
    int64_t win_epoch;
    long win_start, win_n;
    int32_t *wseq;    /* [bucket * batch, crop] the window's examples, encoded */
    uint64_t *wkey;   /* [bucket * batch] length << 32 | window slot: sorted, shortest first */
    int *wchunk;      /* [bucket] which run of `batch` sorted examples each batch of the window takes */
};

int64_t batcher_per_epoch(long lines, int batch) { return (lines + batch - 1) / batch; }

static void make_order(Batcher *b, int64_t epoch) {
    long n = corpus_count(b->cfg.corpus);
    Rng r;
    rng_seed(&r, rng_mix64(b->cfg.seed ^ 0x5eed0000ull) ^ rng_mix64((uint64_t)epoch + 1));
    for (long i = 0; i < n; i++) b->order[i] = (uint32_t)i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)rng_below(&r, (uint64_t)i + 1);
        uint32_t t = b->order[i];
        b->order[i] = b->order[j], b->order[j] = t;
    }
    b->order_epoch = epoch;
}

int batcher_encode(const Corpus *c, const Spm *spm, long line, int crop, Rng *r, int32_t *out, char *buf,
                   size_t bufcap, Err *e) {
    long len = corpus_line(c, line, buf, bufcap, e);
    if (len < 0) return -1;
    int n = 0;
    /* spm takes int ids; int32_t is int on every platform sdlm builds on */
    if (spm_encode_sample(spm, buf, (size_t)len, r, (int *)out, crop - 1, &n, e)) return -1;
    if (n > crop - 1) n = crop - 1; /* EOS appended, then cropped: a long line keeps crop-1 pieces and EOS */
    out[n++] = spm_eos_id(spm);
    return n;
}

static int ascending(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Encodes the window starting at order position start, sorts it by length and
 * draws the order of its batches. Only full runs of `batch` are shuffled: a
 * short run (the epoch's last) stays last, so every batch of the window
 * starts at start + k * batch, as without buckets. */
static int fill_window(Batcher *b, long start, Err *e) {
    long n = corpus_count(b->cfg.corpus), W = (long)b->cfg.bucket * b->cfg.batch;
    long m = n - start < W ? n - start : W;
    Rng r;
    rng_seed(&r, rng_mix64(b->cfg.seed ^ 0xb0c4e7ull) ^ rng_mix64(((uint64_t)b->epoch << 40) ^ (uint64_t)start));
    for (long i = 0; i < m; i++) {
        int k = batcher_encode(b->cfg.corpus, b->cfg.spm, b->order[start + i], b->cfg.crop, &r,
                               b->wseq + i * b->cfg.crop, b->line, CORPUS_LINE_MAX + 1, e);
        if (k < 0) return b->win_epoch = -1, -1;
        b->wkey[i] = (uint64_t)k << 32 | (uint64_t)i;
    }
    qsort(b->wkey, (size_t)m, sizeof *b->wkey, ascending);
    int full = (int)(m / b->cfg.batch), runs = (int)((m + b->cfg.batch - 1) / b->cfg.batch);
    for (int k = 0; k < runs; k++) b->wchunk[k] = k;
    for (int k = full - 1; k > 0; k--) {
        int j = (int)rng_below(&r, (uint64_t)k + 1), t = b->wchunk[k];
        b->wchunk[k] = b->wchunk[j], b->wchunk[j] = t;
    }
    b->win_epoch = b->epoch, b->win_start = start, b->win_n = m;
    return 0;
}

/* Prepares the batch at the worker's position into out and advances. */
static int produce(Batcher *b, Batch *out, Err *e) {
    long n = corpus_count(b->cfg.corpus);
    if (b->index >= n) b->epoch++, b->index = 0;
    if (b->order_epoch != b->epoch) make_order(b, b->epoch);
    int B = (int)(n - b->index < b->cfg.batch ? n - b->index : b->cfg.batch);
    Rng r;
    rng_seed(&r, rng_mix64(b->cfg.seed) ^ rng_mix64(((uint64_t)b->epoch << 40) ^ (uint64_t)b->index ^ 0xba7c4ull));
    const int32_t *seqs[B > 0 ? B : 1];
    if (b->cfg.bucket > 1) {
        long W = (long)b->cfg.bucket * b->cfg.batch, start = b->index / W * W;
        if ((b->win_epoch != b->epoch || b->win_start != start) && fill_window(b, start, e)) return -1;
        long first = (long)b->wchunk[(b->index - start) / b->cfg.batch] * b->cfg.batch;
        B = (int)(b->win_n - first < b->cfg.batch ? b->win_n - first : b->cfg.batch);
        for (int i = 0; i < B; i++) {
            uint64_t key = b->wkey[first + i];
            b->nseq[i] = (int)(key >> 32);
            seqs[i] = b->wseq + (long)(key & 0xffffffffu) * b->cfg.crop;
        }
    } else {
        for (int i = 0; i < B; i++) {
            int32_t *dst = b->seq + (long)i * b->cfg.crop;
            int k = batcher_encode(b->cfg.corpus, b->cfg.spm, b->order[b->index + i], b->cfg.crop, &r, dst, b->line,
                                   CORPUS_LINE_MAX + 1, e);
            if (k < 0) return -1;
            b->nseq[i] = k;
            seqs[i] = dst;
        }
    }
    batch_collate(out, seqs, b->nseq, B, spm_pad_id(b->cfg.spm) >= 0 ? spm_pad_id(b->cfg.spm) : 0, b->cfg.mask, &r);
    out->epoch = b->epoch;
    out->index = b->index;
    b->index += B;
    return 0;
}

static void *worker(void *arg) {
    Batcher *b = arg;
    pthread_mutex_lock(&b->mu);
    while (!b->quit && !b->failed) {
        if (b->count == RING) {
            pthread_cond_wait(&b->cv, &b->mu);
            continue;
        }
        int slot = (b->head + b->count) % RING;
        pthread_mutex_unlock(&b->mu);
        Err e;
        int rc = produce(b, &b->ring[slot], &e);
        pthread_mutex_lock(&b->mu);
        if (rc) {
            b->failed = 1;
            b->err = e;
        } else {
            b->count++;
        }
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int batcher_start(Batcher **out, const BatcherConfig *cfg, Err *e) {
    *out = NULL;
    long n = corpus_count(cfg->corpus);
    if (n < 1) return err_set(e, "the corpus has no examples");
    if (cfg->batch < 1 || cfg->crop < 2) return err_set(e, "batch must be >= 1 and the crop length >= 2");
    if (cfg->bucket < 0 || cfg->bucket > BATCHER_BUCKET_MAX)
        return err_set(e, "--bucket must be 0 to %d batches, not %d", BATCHER_BUCKET_MAX, cfg->bucket);
    Batcher *b = calloc(1, sizeof *b);
    if (!b) return err_set(e, "out of memory for the batcher");
    b->cfg = *cfg;
    b->epoch = cfg->epoch;
    b->index = cfg->index;
    b->order_epoch = -1;
    b->win_epoch = -1;
    b->order = malloc(sizeof *b->order * n);
    b->seq = malloc(sizeof *b->seq * (size_t)cfg->batch * cfg->crop);
    b->nseq = malloc(sizeof *b->nseq * cfg->batch);
    b->line = malloc(CORPUS_LINE_MAX + 1);
    int bad = !b->order || !b->seq || !b->nseq || !b->line;
    if (cfg->bucket > 1) {
        size_t W = (size_t)cfg->bucket * cfg->batch;
        b->wseq = malloc(sizeof *b->wseq * W * cfg->crop);
        b->wkey = malloc(sizeof *b->wkey * W);
        b->wchunk = malloc(sizeof *b->wchunk * cfg->bucket);
        bad |= !b->wseq || !b->wkey || !b->wchunk;
    }
    for (int i = 0; i < RING && !bad; i++) bad = batch_alloc(&b->ring[i], cfg->batch, cfg->crop, e) != 0;
    if (bad) {
        batcher_stop(b);
        return err_set(e, "out of memory for the batcher (%ld lines, batch %d)", n, cfg->batch);
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->thread, NULL, worker, b)) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
        b->thread = 0;
        batcher_stop(b);
        return err_set(e, "cannot start the batch thread");
    }
    *out = b;
    return 0;
}

int batcher_next(Batcher *b, Batch *out, Err *e) {
    pthread_mutex_lock(&b->mu);
    while (!b->count && !b->failed) pthread_cond_wait(&b->cv, &b->mu);
    if (!b->count) {
        *e = b->err;
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    batch_copy(out, &b->ring[b->head]);
    b->head = (b->head + 1) % RING;
    b->count--;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

void batcher_stop(Batcher *b) {
    if (!b) return;
    if (b->thread) {
        pthread_mutex_lock(&b->mu);
        b->quit = 1;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
    }
    for (int i = 0; i < RING; i++) batch_free(&b->ring[i]);
    free(b->order), free(b->seq), free(b->nseq), free(b->line);
    free(b->wseq), free(b->wkey), free(b->wchunk);
    free(b);
}
