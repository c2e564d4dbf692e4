/* cmd_tokenizer.c: `sdlm tokenizer -d CORPUS -o PREFIX [--vocab N]`.
 *
 * Opens the corpus (one example per line; see corpus.h for the cleaning),
 * prints its summary, trains a unigram SentencePiece model on the cleaned
 * lines (spm.h) and writes PREFIX.model and PREFIX.vocab. Every failure is one
 * line on stderr and exit 2 (commands.h): a corpus or vocabulary size that
 * cannot make a tokenizer is bad input. Not for use while curses owns the
 * terminal (it prints). */
#include "commands.h"
#include "fileguard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "spm.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: sdlm tokenizer -d CORPUS -o PREFIX [--vocab N]\n"
            "\n"
            "Trains a SentencePiece (unigram) tokenizer on CORPUS, a UTF-8 text file\n"
            "with one example per line, and writes PREFIX.model and PREFIX.vocab.\n"
            "\n"
            "  -d, --data CORPUS   the text to learn from (empty lines are skipped;\n"
            "                      at most %d lines are sampled from a bigger file)\n"
            "  -o, --out PREFIX    where to write PREFIX.model and PREFIX.vocab\n"
            "  -v, --vocab N       number of pieces, at most (default %d); 259 of them\n"
            "                      are <pad> <unk> </s> and the 256 byte pieces\n"
            "  -h, --help          show this help\n",
            SPM_TRAIN_MAX_LINES, SPM_DEFAULT_VOCAB);
}

/* Matches "-s VALUE", "--long VALUE" and "--long=VALUE"; advances *i. */
static int opt_value(int argc, char **argv, int *i, const char *s, const char *l, const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(l);
    if (!strcmp(a, s) || !strcmp(a, l)) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "sdlm tokenizer: %s needs a value (see sdlm tokenizer --help)\n", a);
            *val = NULL;
            return -1;
        }
        *val = argv[++*i];
        return 1;
    }
    if (!strncmp(a, l, n) && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    return 0;
}

enum { VOCAB_MIN = 260 };

/* PREFIX.model or PREFIX.vocab would replace the corpus: the same file by
 * device and inode, whatever the names. */
static int output_overwrites_input(const char *data, const char *prefix, Err *e) {
    static const char *const exts[] = {".model", ".vocab"};
    char path[4096];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s%s", prefix, exts[i]);
        if (fileguard_same_file(data, path))
            return err_set(e, "-o %s would write %s, which is the corpus -d %s itself: choose another prefix", prefix,
                           path, data);
    }
    return 0;
}

int cmd_tokenizer(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *vocab_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        }
        if ((m = opt_value(argc, argv, &i, "-d", "--data", &v)) != 0) {
            if (m < 0) return EXIT_USAGE;
            data = v;
        } else if ((m = opt_value(argc, argv, &i, "-o", "--out", &v)) != 0) {
            if (m < 0) return EXIT_USAGE;
            out = v;
        } else if ((m = opt_value(argc, argv, &i, "-v", "--vocab", &v)) != 0) {
            if (m < 0) return EXIT_USAGE;
            vocab_s = v;
        } else {
            fprintf(stderr, "sdlm tokenizer: unknown argument '%s' (see sdlm tokenizer --help)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!data || !out) {
        fprintf(stderr, "sdlm tokenizer: %s (see sdlm tokenizer --help)\n",
                !data ? "no corpus given: -d CORPUS" : "no output given: -o PREFIX");
        return EXIT_USAGE;
    }
    int vocab = SPM_DEFAULT_VOCAB;
    if (vocab_s) {
        char *end;
        errno = 0;
        long n = strtol(vocab_s, &end, 10);
        if (errno || end == vocab_s || *end || n < 1 || n > 1000000) {
            fprintf(stderr, "sdlm tokenizer: --vocab '%s': give a whole number from %d to 1000000\n", vocab_s, VOCAB_MIN);
            return EXIT_USAGE;
        }
        if (n < VOCAB_MIN) { /* SentencePiece's own word for 1 or 2 is a source line of its trainer */
            fprintf(stderr, "sdlm tokenizer: --vocab %ld is too small: a tokenizer needs at least %d pieces (pad, unk, "
                            "EOS and the 256 bytes, plus one for each character of the corpus)\n", n, VOCAB_MIN);
            return EXIT_USAGE;
        }
        vocab = (int)n;
    }

    Err e = {{0}};
    if (output_overwrites_input(data, out, &e)) {
        fprintf(stderr, "sdlm tokenizer: %s\n", e.msg);
        return EXIT_USAGE;
    }
    Corpus c;
    if (corpus_open(&c, data, &e) < 0) {
        fprintf(stderr, "sdlm tokenizer: %s\n", e.msg);
        return EXIT_USAGE;
    }
    printf("%s\n", corpus_summary(&c));
    fflush(stdout);
    SpmTrainInfo info;
    int rc = spm_train_corpus(&c, out, vocab, &info, &e);
    corpus_close(&c);
    if (rc < 0) { /* a corpus or --vocab that cannot make a tokenizer: bad input */
        fprintf(stderr, "sdlm tokenizer: %s\n", e.msg);
        return EXIT_USAGE;
    }
    printf("tokenizer: %s.model, %d pieces, trained on %ld of %ld lines in %.2f s\n", out, info.pieces,
           info.lines_used, info.lines_total, info.seconds);
    return 0;
}
