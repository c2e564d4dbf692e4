/* test_spm.c: the SentencePiece shim: training on the committed tiny corpus,
 * exact round trips, the id layout, reproducible subword sampling, and errors
 * (not crashes) for bad ids, bad bytes and bad training requests. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "corpus.h"
#include "rng.h"
#include "spm.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

static char dir[] = "/tmp/sdlm-test-spm-XXXXXX";
static char prefix[256], model_path[300];

static const char *samples[] = {
    "The kettle began to sing.",
    "  two  spaces\tand a tab, then trailing spaces  ",
    "\ttab first",
    " leading space",
    "caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e, na\xC3\xAFve",
    "\xE6\x97\xA5\xE6\x9C\xAC (Japan) and \xE6\x9D\xB1\xE4\xBA\xAC",
    "emoji \xF0\x9F\x98\x80\xF0\x9F\x8E\x89 and \xE2\x99\xA5",
    "a line\nwith a newline inside",
    "\xEF\xBC\xA1\xEF\xBC\xA2 full-width, \xE2\x80\x94 dash, \xC2\xA0nbsp",
    "x",
    "    ",
};

static void train_tiny(void) {
    SpmTrainInfo info;
    Corpus c;
    Err e = {{0}};
    check_ok(corpus_open(&c, TEST_DATA "/tiny-corpus.txt", &e) == 0, "tiny corpus opens %s", e.msg);
    /* Watch fd 2 during training: the trainer must say nothing there. */
    char errpath[300];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    int rc = spm_train_corpus(&c, prefix, 1000, &info, &e);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    corpus_close(&c);
    check_ok(rc == 0, "training on the tiny corpus (%s)", rc ? e.msg : "ok");
    check_ok(info.pieces > 259 && info.pieces <= 1000 && info.lines_used == info.lines_total && info.lines_used > 300,
             "%d pieces from %ld lines in %.2f s", info.pieces, info.lines_used, info.seconds);
    struct stat st;
    check_ok(stat(errpath, &st) == 0 && st.st_size == 0, "training wrote nothing to stderr (%ld bytes)",
             (long)st.st_size);
    char vocab[300];
    snprintf(vocab, sizeof vocab, "%s.vocab", prefix);
    check_ok(stat(model_path, &st) == 0 && stat(vocab, &st) == 0, "PREFIX.model and PREFIX.vocab written");
}

static void test_layout(const Spm *s) {
    char p[64];
    Err e = {{0}};
    check_ok(spm_pad_id(s) == SPM_PAD_ID && spm_unk_id(s) == SPM_UNK_ID && spm_eos_id(s) == SPM_EOS_ID,
             "pad %d, unk %d, eos %d", spm_pad_id(s), spm_unk_id(s), spm_eos_id(s));
    spm_piece(s, 0, p, sizeof p, &e);
    check_ok(!strcmp(p, "<pad>"), "piece 0 is <pad>");
    spm_piece(s, 2, p, sizeof p, &e);
    check_ok(!strcmp(p, "</s>"), "piece 2 is </s>");
    spm_piece(s, 3, p, sizeof p, &e);
    int b0 = !strcmp(p, "<0x00>");
    spm_piece(s, 258, p, sizeof p, &e);
    check_ok(b0 && !strcmp(p, "<0xFF>"), "pieces 3..258 are the bytes");
}

static void test_round_trips(const Spm *s) {
    int V = spm_vocab_size(s);
    int ids[512];
    char out[1024];
    Err e = {{0}};
    for (size_t k = 0; k < sizeof samples / sizeof *samples; k++) {
        const char *t = samples[k];
        int n = -1;
        int rc = spm_encode(s, t, strlen(t), ids, 512, &n, &e);
        int in_range = rc == 0 && n > 0 && n <= 512;
        for (int i = 0; in_range && i < n; i++) in_range = ids[i] >= 3 && ids[i] < V;
        size_t len = 0;
        rc |= spm_decode(s, ids, n, out, sizeof out, &len, &e);
        check_ok(rc == 0 && in_range && len == strlen(t) && !strcmp(out, t),
                 "round trip #%zu (%d ids, no pad/unk/eos, got '%s')", k, n, out);
    }
    const char *t = samples[0];
    int n = 0;
    spm_encode(s, t, strlen(t), ids, 512, &n, &e);
    ids[n] = SPM_EOS_ID, ids[n + 1] = SPM_PAD_ID, ids[n + 2] = SPM_PAD_ID;
    spm_decode(s, ids, n + 3, out, sizeof out, NULL, &e);
    check_ok(!strcmp(out, t), "EOS and pads decode to nothing");
    int few[2], total = 0;
    int rc = spm_encode(s, t, strlen(t), few, 2, &total, &e);
    check_ok(rc == 0 && total == n && few[0] == ids[0],
             "a short id buffer gets the first ids and the full count (%d)", total);
    check_ok(spm_encode(s, "", 0, ids, 512, &total, &e) == 0 && total == 0, "empty text encodes to nothing");
    /* Decoding into a small buffer cuts at a character boundary. */
    const char *jp = "\xE6\x97\xA5\xE6\x9C\xAC";
    spm_encode(s, jp, strlen(jp), ids, 512, &n, &e);
    size_t len = 0;
    spm_decode(s, ids, n, out, 5, &len, &e);
    check_ok(len == 6 && !strcmp(out, "\xE6\x97\xA5"), "decode into 5 bytes keeps one whole character");
}

static int sample_run(const Spm *s, uint64_t seed, int *ids, int count) {
    const char *t = "The children built a fort out of chairs, blankets and cushions.";
    Rng r;
    rng_seed(&r, seed);
    Err e;
    int at = 0;
    for (int k = 0; k < count; k++) {
        int n = 0;
        if (spm_encode_sample(s, t, strlen(t), &r, ids + at + 1, 64, &n, &e) < 0) return -1;
        ids[at] = n;
        at += n + 1;
    }
    return at;
}

typedef struct {
    const Spm *s;
    int ids[40 * 65];
    int n;
} SampleJob;

static void *sample_thread(void *arg) {
    SampleJob *j = arg;
    j->n = sample_run(j->s, 11, j->ids, 40);
    return NULL;
}

static void test_sampling(const Spm *s) {
    static int a[40 * 65], b[40 * 65], c[40 * 65];
    int na = sample_run(s, 11, a, 40), nb = sample_run(s, 11, b, 40), nc = sample_run(s, 12, c, 40);
    check_ok(na > 0 && na == nb && !memcmp(a, b, (size_t)na * sizeof *a), "same seed, same 40 sampled encodings");
    check_ok(na != nc || memcmp(a, c, (size_t)na * sizeof *a), "another seed, other encodings");
    SampleJob j = {.s = s};
    pthread_t t;
    pthread_create(&t, NULL, sample_thread, &j);
    pthread_join(t, NULL);
    check_ok(j.n == na && !memcmp(j.ids, a, (size_t)na * sizeof *a), "same seed in another thread, same encodings");
    /* Sampling varies the segmentation but every one decodes to the text. */
    const char *t0 = "The children built a fort out of chairs, blankets and cushions.";
    int distinct = 0, exact = 1, V = spm_vocab_size(s);
    for (int at = 0, k = 0; at < na; at += a[at] + 1, k++) {
        char out[256];
        Err e;
        for (int i = 0; i < a[at]; i++) exact &= a[at + 1 + i] >= 0 && a[at + 1 + i] < V;
        exact &= spm_decode(s, a + at + 1, a[at], out, sizeof out, NULL, &e) == 0 && !strcmp(out, t0);
        if (at > 0 && (a[at] != a[0] || memcmp(a + at + 1, a + 1, (size_t)a[0] * sizeof *a))) distinct = 1;
    }
    check_ok(exact, "every sampled encoding is in range and decodes to the text");
    check_ok(distinct, "sampling gives more than one segmentation");
    Rng r;
    rng_seed(&r, 1);
    int ids[4], n = -1;
    Err e;
    check_ok(spm_encode_sample(s, "", 0, &r, ids, 4, &n, &e) == 0 && n == 0, "empty text samples to nothing");
}

static void test_errors(const Spm *s) {
    int V = spm_vocab_size(s);
    char out[64];
    Err e = {{0}};
    int bad[][2] = {{5, -1}, {5, V}, {1 << 30, 5}, {-2147483647 - 1, 5}};
    int all = 1;
    for (int k = 0; k < 4; k++) {
        e.msg[0] = 0;
        all &= spm_decode(s, bad[k], 2, out, sizeof out, NULL, &e) < 0 && strstr(e.msg, "outside") != NULL;
    }
    check_ok(all, "out-of-range ids give an error (%s)", e.msg);
    check_ok(spm_piece(s, V, out, sizeof out, &e) < 0 && spm_piece(s, -1, out, sizeof out, &e) < 0,
             "out-of-range piece id gives an error (%s)", e.msg);
    check_ok(spm_load_bytes("garbage bytes \x01\x02\x03", 17, &e) == NULL && strstr(e.msg, "not a SentencePiece"),
             "garbage bytes: %s", e.msg);
    unsigned char rnd[4096];
    Rng r;
    rng_seed(&r, 5);
    int refused = 1;
    for (int k = 0; k < 50; k++) {
        for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (unsigned char)rng_u64(&r);
        Spm *g = spm_load_bytes(rnd, 1 + rng_below(&r, sizeof rnd), &e);
        if (g) refused = 0, spm_free(g);
    }
    check_ok(refused, "50 random byte strings refused");
    check_ok(spm_load_bytes("", 0, &e) == NULL, "empty bytes: %s", e.msg);
    check_ok(spm_load("/nonexistent/x.model", &e) == NULL && strstr(e.msg, "No such file"), "missing: %s", e.msg);
    check_ok(spm_load(dir, &e) == NULL && strstr(e.msg, "directory"), "directory: %s", e.msg);
    check_ok(spm_load(TEST_DATA "/tiny-corpus.txt", &e) == NULL, "a text file is not a model: %s", e.msg);
    /* Truncated model bytes. */
    size_t n;
    const char *bytes = spm_model_bytes(s, &n);
    Spm *cut = spm_load_bytes(bytes, n / 2, &e);
    check_ok(cut == NULL, "half a model refused: %s", e.msg);
    spm_free(cut);
}

static int no_lines(void *ctx, const char **line, size_t *len, Err *e) {
    (void)ctx, (void)line, (void)len, (void)e;
    return 0;
}

static void test_train_errors(void) {
    Err e = {{0}};
    char p[300];
    snprintf(p, sizeof p, "%s/small", dir);
    check_ok(spm_train(TEST_DATA "/tiny-corpus.txt", p, 300, &e) < 0 && strstr(e.msg, "too small") &&
                 strstr(e.msg, "342"),
             "vocab too small: %s", e.msg);
    check_ok(spm_train(TEST_DATA "/tiny-corpus.txt", "/nonexistent/dir/tok", 1000, &e) < 0 &&
                 strstr(e.msg, "cannot write"),
             "unwritable prefix: %s", e.msg);
    check_ok(spm_train("/nonexistent.txt", p, 1000, &e) < 0 && strstr(e.msg, "No such file"), "missing corpus: %s",
             e.msg);
    check_ok(spm_train_lines(no_lines, NULL, p, 1000, NULL, &e) < 0 && strstr(e.msg, "no lines"), "no lines: %s",
             e.msg);
    check_ok(spm_train(TEST_DATA "/tiny-corpus.txt", p, 0, &e) < 0, "vocab 0: %s", e.msg);
    /* A big vocab on a small corpus is a soft limit, and training twice gives
     * the same bytes. */
    Spm *a = NULL, *b = NULL;
    char path[320];
    snprintf(path, sizeof path, "%s.model", p);
    if (spm_train(TEST_DATA "/tiny-corpus.txt", p, 50000, &e) == 0) a = spm_load(path, &e);
    if (spm_train(TEST_DATA "/tiny-corpus.txt", p, 50000, &e) == 0) b = spm_load(path, &e);
    check_ok(a && spm_vocab_size(a) < 50000, "vocab 50000 on a tiny corpus gives %d pieces", a ? spm_vocab_size(a) : 0);
    size_t na = 0, nb = 0;
    const void *ba = a ? spm_model_bytes(a, &na) : NULL, *bb = b ? spm_model_bytes(b, &nb) : NULL;
    check_ok(a && b && na == nb && !memcmp(ba, bb, na), "training is deterministic (%zu bytes)", na);
    spm_free(a);
    spm_free(b);
}

/* A long line sample-encoded prints nothing on stderr: SentencePiece's n-best
 * search warns ("Too big agenda size") on every such line unless the shim
 * silences it, and a corpus of them buried the progress under warnings. */
static void test_quiet_long_line(void) {
    Err e;
    Spm *s = spm_load("share/tokenizer.model", &e);
    if (!s) return (void)printf("ok - # skip: share/tokenizer.model: %s\n", e.msg);
    enum { N = 16384 };
    char *text = malloc(N);
    static int ids[N];
    for (int i = 0; i < N; i++) text[i] = "abcdefghij0123456789+/"[(i * 7919) % 22];
    Rng r;
    rng_seed(&r, 1);
    char err_path[300];
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    int n = 0, rc = spm_encode_sample(s, text, N, &r, ids, N, &n, &e);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    check_ok(rc == 0 && n > 0, "a 16 KB line sample-encodes (%d ids)", n);
    check_ok(size == 0, "and SentencePiece prints nothing on stderr (%lld bytes)", (long long)size);
    free(text);
    spm_free(s);
}

int main(void) {
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    snprintf(prefix, sizeof prefix, "%s/tok", dir);
    snprintf(model_path, sizeof model_path, "%s.model", prefix);
    train_tiny();
    Err e = {{0}};
    Spm *s = spm_load(model_path, &e);
    check_ok(s != NULL, "trained model loads (%s)", s ? "ok" : e.msg);
    if (s) {
        size_t n;
        const void *bytes = spm_model_bytes(s, &n);
        Spm *m = spm_load_bytes(bytes, n, &e);
        size_t n2 = 0;
        check_ok(m && spm_vocab_size(m) == spm_vocab_size(s) && spm_model_bytes(m, &n2) && n2 == n,
                 "model reloads from its bytes (%zu bytes, V %d)", n, spm_vocab_size(s));
        test_layout(m ? m : s);
        test_round_trips(m ? m : s);
        test_sampling(s);
        test_errors(s);
        spm_free(m);
        spm_free(s);
    }
    test_train_errors();
    test_quiet_long_line();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return check_done();
}
