/* cmd_tokenizer.c: `sdlm tokenizer -d CORPUS -o PREFIX [--vocab N]`.
 *
 * Opens the corpus (one example per line; see corpus.h for the cleaning),
 * prints its summary, trains a unigram SentencePiece model on the cleaned
 * lines (spm.h) and writes PREFIX.model and PREFIX.vocab. Every failure is one
 * line on stderr and exit 2 (exitcode.h): a corpus or vocabulary size that
 * cannot make a tokenizer is bad input. Not for use while curses owns the
 * terminal (it prints). */
#include "commands.h"

#include <stdio.h>

#include "corpus.h"
#include "fileguard.h"
#include "opts.h"
#include "spm.h"

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

/* The command line: -d, -o and --vocab (checked here, with the reason a
 * value is refused). Returns 0 to go on, or 1 with *status the exit status. */
static int parse_args(int argc, char **argv, const char **data, const char **out, int *vocab, int *status) {
    char data_help[160], vocab_help[160];
    snprintf(data_help, sizeof data_help, "the text to learn from (empty lines are skipped;\nat most %d lines are "
             "sampled from a bigger file)", SPM_TRAIN_MAX_LINES);
    snprintf(vocab_help, sizeof vocab_help, "number of pieces, at most (default %d); 259 of them\nare <pad> <unk> </s> "
             "and the 256 byte pieces", SPM_DEFAULT_VOCAB);
    const Opt opts[] = {
        {"-d|--data", OPT_STR, data, "CORPUS", data_help, 0, 0, NULL},
        {"-o|--out", OPT_STR, out, "PREFIX", "where to write PREFIX.model and PREFIX.vocab", 0, 0, NULL},
        {"-v|--vocab", OPT_INT, vocab, "N", vocab_help, 0, 0, NULL},
    };
    const OptCommand c = {"sdlm tokenizer", "sdlm tokenizer -d CORPUS -o PREFIX [--vocab N]",
                          "Trains a SentencePiece (unigram) tokenizer on CORPUS, a UTF-8 text file\n"
                          "with one example per line, and writes PREFIX.model and PREFIX.vocab.",
                          opts, sizeof opts / sizeof *opts, 0};
    const char *pos[1];
    int npos;
    *data = *out = NULL, *vocab = SPM_DEFAULT_VOCAB;
    if (opts_command(&c, argc, argv, pos, &npos, status)) return 1;
    if (!*data || !*out)
        *status = cli_fail(c.cmd, EXIT_USAGE, "%s (see sdlm tokenizer --help)",
                           !*data ? "no corpus given: -d CORPUS" : "no output given: -o PREFIX");
    else if (*vocab < 1 || *vocab > 1000000)
        *status = cli_fail(c.cmd, EXIT_USAGE, "--vocab %d: give a whole number from %d to 1000000", *vocab, VOCAB_MIN);
    else if (*vocab < VOCAB_MIN) /* SentencePiece's own word for 1 or 2 is a source line of its trainer */
        *status = cli_fail(c.cmd, EXIT_USAGE, "--vocab %d is too small: a tokenizer needs at least %d pieces (pad, "
                           "unk, EOS and the 256 bytes, plus one for each character of the corpus)", *vocab, VOCAB_MIN);
    else return 0;
    return 1;
}

int cmd_tokenizer(int argc, char **argv) {
    const char *data, *out;
    int vocab, status;
    if (parse_args(argc, argv, &data, &out, &vocab, &status)) return status;
    Err e = {{0}};
    if (output_overwrites_input(data, out, &e)) return cli_fail("sdlm tokenizer", EXIT_USAGE, "%s", e.msg);
    Corpus c;
    if (corpus_open(&c, data, &e) < 0) return cli_fail("sdlm tokenizer", EXIT_USAGE, "%s", e.msg);
    printf("%s\n", corpus_summary(&c));
    fflush(stdout);
    SpmTrainInfo info;
    int rc = spm_train_corpus(&c, out, vocab, &info, &e);
    corpus_close(&c);
    if (rc < 0) /* a corpus or --vocab that cannot make a tokenizer: bad input */
        return cli_fail("sdlm tokenizer", EXIT_USAGE, "%s", e.msg);
    printf("tokenizer: %s.model, %d pieces, trained on %ld of %ld lines in %.2f s\n", out, info.pieces,
           info.lines_used, info.lines_total, info.seconds);
    return EXIT_OK;
}
