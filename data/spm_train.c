/* spm_train.c: feeding a Corpus to the tokenizer trainer (spm_train_lines).
 *
 * What it is for: choose which lines SentencePiece sees (all of them, or a
 * uniform sample of SPM_TRAIN_MAX_LINES drawn with a fixed seed, kept in
 * corpus order) and stream them one at a time, so a corpus of any size trains
 * in bounded memory and the same corpus always gives the same tokenizer.
 * What it is not: the SentencePiece calls themselves (spm.cc). */
#include "corpus.h"
#include "rng.h"
#include "spm.h"
#include "clock.h"

#include <stdlib.h>
#include <time.h>

enum { SAMPLE_SEED = 0x5d1e };

typedef struct {
    const Corpus *c;
    Rng rng;
    long next;   /* next line to consider */
    long want;   /* lines still to pick */
    char *buf;   /* CORPUS_LINE_MAX + 1 */
} Feed;

/* Selection sampling (Knuth's algorithm S): line i is taken with probability
 * (lines still wanted) / (lines still left), which picks exactly `want` lines,
 * every subset equally likely, in one forward pass. */
static int feed_next(void *ctx, const char **line, size_t *len, Err *e) {
    Feed *f = ctx;
    long n = corpus_count(f->c);
    while (f->want > 0 && f->next < n) {
        long i = f->next++;
        long left = n - i;
        if (f->want < left && rng_uniform(&f->rng) * (double)left >= (double)f->want) continue;
        f->want--;
        long got = corpus_line(f->c, i, f->buf, CORPUS_LINE_MAX + 1, e);
        if (got < 0) return -1;
        *line = f->buf;
        *len = (size_t)got;
        return 1;
    }
    return 0;
}

int spm_train_corpus(const Corpus *c, const char *prefix, int vocab, SpmTrainInfo *info, Err *e) {
    double t0 = now_s();
    Feed f = {.c = c, .next = 0};
    long n = corpus_count(c);
    f.want = n < SPM_TRAIN_MAX_LINES ? n : SPM_TRAIN_MAX_LINES;
    rng_seed(&f.rng, SAMPLE_SEED);
    f.buf = malloc(CORPUS_LINE_MAX + 1);
    if (!f.buf) return err_set(e, "training tokenizer: out of memory");
    SpmTrainInfo got = {0};
    int rc = spm_train_lines(feed_next, &f, prefix, vocab, &got, e);
    free(f.buf);
    if (rc < 0) return -1;
    got.lines_total = n;
    got.seconds = now_s() - t0;
    if (info) *info = got;
    return 0;
}

int spm_train(const char *corpus_path, const char *prefix, int vocab, Err *e) {
    Corpus c;
    if (corpus_open(&c, corpus_path, e) < 0) return -1;
    int rc = spm_train_corpus(&c, prefix, vocab, NULL, e);
    corpus_close(&c);
    return rc;
}
