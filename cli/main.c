/* main.c: the sdlm command line: one table of commands, dispatched by name.
 * `sdlm` with no command opens the editor. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "ui.h"

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
    {"keys", cmd_keys, "print the editor's keys: GROUP<TAB>KEY<TAB>DESCRIPTION"},
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

int cmd_keys(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return printf("usage: sdlm keys\nPrints the editor's keys, one per line: GROUP<TAB>KEY<TAB>DESCRIPTION.\n"), EXIT_OK;
    if (argc > 1) return fprintf(stderr, "sdlm keys: takes no arguments\n"), EXIT_USAGE;
    ui_keys_print(stdout);
    return EXIT_OK;
}

/* `sdlm [-ckpt PATH] [-spm MODEL] [--db PATH]`: the editor. */
static int cmd_editor(int argc, char **argv) {
    UiOptions o = {0};
    Opt opts[] = {
        {"-ckpt|--checkpoint", OPT_STR, &o.ckpt, "FILE", "model to open (default: the newest of the history, else the shipped one)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &o.spm, "MODEL", "tokenizer for a checkpoint without one inside", 0, 0, NULL},
        {"--db", OPT_STR, &o.db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0, NULL},
    };
    int n = sizeof opts / sizeof *opts, npos;
    const char *pos[1];
    Err e;
    int rc = opts_parse(opts, n, argc, argv, pos, 0, &npos, &e);
    if (rc == 1) {
        opts_usage(stdout, "sdlm [-ckpt FILE] [-spm MODEL] [--db PATH]",
                   "Opens the editor: type text, mark gaps, watch them fill; F1 inside lists every key.", opts, n);
        return EXIT_OK;
    }
    if (rc) return fprintf(stderr, "sdlm: %s\n", e.msg), EXIT_USAGE;
    return ui_main(&o);
}

static void usage(FILE *out) {
    fprintf(out, "usage: sdlm [-ckpt FILE] [-spm MODEL] [--db PATH]   the editor\n"
                 "       sdlm COMMAND [ARGS...]\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`sdlm COMMAND --help` explains a command; `man sdlm` explains everything.\n");
}

int main(int argc, char **argv) {
    setlocale(LC_ALL, "");
    if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--version") && strcmp(argv[1], "--help") &&
                     strcmp(argv[1], "-h")))
        return cmd_editor(argc, argv);
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
