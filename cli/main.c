/* main.c: the sdlm command line: one table of commands, dispatched by name.
 * `sdlm` with no command opens the editor. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"parity", cmd_parity, "check the engine against a PyTorch parity fixture"},
    {"bench", cmd_bench, "time training and sampling steps"},
    {"train", cmd_train, "train a model on a text file (the seed's train.py)"},
    {"infill", cmd_infill, "fill the {N} spans of a text"},
    {"sample", cmd_sample, "draw unconditional samples"},
    {"eval", cmd_eval, "measure a model on held-out lines"},
    {"tokenizer", cmd_tokenizer, "train a SentencePiece tokenizer on a corpus"},
    {"runs", cmd_runs, "list the training runs in the history"},
    {"history", cmd_history, "show one run's configuration and metrics"},
    {"samples", cmd_samples, "list, search and show saved samples"},
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

static void usage(FILE *out) {
    fprintf(out, "usage: sdlm [COMMAND] [ARGS...]\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`sdlm COMMAND --help` explains a command; `man sdlm` explains everything.\n");
}

int main(int argc, char **argv) {
    setlocale(LC_ALL, "");
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("sdlm %s\n", SDLM_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sdlm: unknown command \"%s\" (try sdlm --help)\n", argv[1]);
    return EXIT_USAGE;
}
