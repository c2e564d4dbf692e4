/* fuzz_corpus.c: libFuzzer harness for the corpus reader.
 *
 * Each input becomes a file; corpus_open must accept it exactly when the plain
 * reference cleaner (tests/ref_clean.h) says it should, agree on every count,
 * and corpus_line must give back every kept line as the reference cleans it:
 * valid UTF-8, no NUL, no CR, at most CORPUS_LINE_MAX bytes. Any difference
 * traps. Build and run: tests/fuzz/run.sh (clang, -fsanitize=fuzzer,...). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"
#include "ref_clean.h"

static char path[64];
static char line[CORPUS_LINE_MAX + 1];

static void fail(const char *why, long i) {
    fprintf(stderr, "fuzz_corpus: %s (line %ld)\n", why, i);
    __builtin_trap();
}

/* Inputs whose first byte is odd get plain text appended, nine times their
 * size in a few long lines, so the 10% binary rule lets even byte soup
 * through to line reading. */
static const unsigned char *with_filler(const uint8_t *data, size_t size, size_t *n, unsigned char **owned) {
    static const char filler[] =
        "plain filler text keeps odd bytes rare; plain filler text keeps odd bytes rare; plain filler text keeps "
        "odd bytes rare; plain filler text keeps odd bytes rare; plain filler text keeps odd bytes rare; plain "
        "filler text keeps odd bytes rare; plain filler text keeps odd bytes rare; plain filler text keeps odd "
        "bytes rare; plain filler text keeps odd bytes rare; plain filler text keeps odd bytes rare\n";
    *owned = NULL;
    *n = size;
    if (size == 0 || !(data[0] & 1)) return data;
    size_t want = size + 1 + 9 * size + sizeof filler;
    unsigned char *b = malloc(want);
    if (!b) return data;
    memcpy(b, data, size);
    size_t at = size;
    b[at++] = '\n';
    while (at + sizeof filler - 1 <= want) memcpy(b + at, filler, sizeof filler - 1), at += sizeof filler - 1;
    *owned = b;
    *n = at;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t input_size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/sdlm-fuzz-corpus-%d.txt", (int)getpid());
    }
    unsigned char *owned;
    size_t size;
    const unsigned char *data = with_filler(input, input_size, &size, &owned);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size && fwrite(data, 1, size, f) != size) fail("cannot write the input file", -1);
    fclose(f);

    RefCorpus r;
    ref_clean(&r, data, size);
    Corpus c;
    Err e;
    int opened = corpus_open(&c, path, &e) == 0;
    if (opened != ref_accepts(&r, size)) fail("accepted differently from the reference", -1);
    if (!opened) {
        if (!e.msg[0] || strchr(e.msg, '\n')) fail("refusal message is not one line", -1);
        ref_free(&r);
        free(owned);
        return 0;
    }
    if (c.lines != r.n || c.raw_lines != r.raw || c.skipped_empty != r.empty || c.fixed_crlf != r.crlf ||
        c.fixed_cr != r.cr || c.fixed_nul != r.nul || c.fixed_utf8 != r.utf8 || c.truncated != r.trunc)
        fail("counts differ from the reference", -1);
    for (long i = 0; i < c.lines; i++) {
        long len = corpus_line(&c, i, line, sizeof line, &e);
        if (len < 1 || len > CORPUS_LINE_MAX) fail("bad length", i);
        if ((size_t)len != strlen(line)) fail("length disagrees with the NUL", i);
        if (!ref_valid_text(line, (size_t)len)) fail("not valid UTF-8 without NUL/CR", i);
        if (strcmp(line, r.line[i])) fail("differs from the reference", i);
    }
    /* Out-of-range lines are errors, not crashes. */
    if (corpus_line(&c, c.lines, line, sizeof line, &e) != -1 || corpus_line(&c, -1, line, sizeof line, &e) != -1)
        fail("out-of-range line did not fail", c.lines);
    corpus_close(&c);
    ref_free(&r);
    free(owned);
    return 0;
}
