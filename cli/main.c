/* main.c: the sdlm command line: one table of commands, dispatched by name.
 * `sdlm` with no command opens the editor. */
#include <cblas.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
        return printf("usage: sdlm keys\nPrints the editor's keys, one per line: GROUP<TAB>KEY<TAB>DESCRIPTION.\n"),
               EXIT_OK;
    if (argc > 1) return cli_fail("sdlm keys", EXIT_USAGE, "takes no arguments");
    ui_keys_print(stdout);
    return EXIT_OK;
}

/* `sdlm [-ckpt PATH] [-spm MODEL] [--db PATH]`: the editor. */
static int cmd_editor(int argc, char **argv) {
    UiOptions o = {0};
    const Opt opts[] = {
        {"-ckpt|--checkpoint", OPT_STR, &o.ckpt, "FILE",
         "model to open (default: the newest of the history, else the shipped one)", 0, 0, NULL},
        {"-spm|--spm_model", OPT_STR, &o.spm, "MODEL", "tokenizer for a checkpoint without one inside", 0, 0, NULL},
        {"--db", OPT_STR, &o.db, "PATH", "history database (default $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0, NULL},
    };
    const OptCommand c = {"sdlm", "sdlm [-ckpt FILE] [-spm MODEL] [--db PATH]",
                          "Opens the editor: type text, mark gaps, watch them fill; F1 inside lists every key.", opts,
                          sizeof opts / sizeof *opts, 0};
    const char *pos[1];
    int npos, status;
    if (opts_command(&c, argc, argv, pos, &npos, &status)) return status;
    return ui_main(&o);
}

static void usage(FILE *out) {
    fprintf(out, "usage: sdlm [-ckpt FILE] [-spm MODEL] [--db PATH]   the editor\n"
                 "       sdlm COMMAND [ARGS...]\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`sdlm COMMAND --help` explains a command; `man sdlm` explains everything.\n");
}

/* OpenBLAS picks its kernels by CPUID when it loads and falls back to
 * Prescott's (SSE3, 3-5x slower here) on a CPU model it does not know, as on
 * some virtual machines that report a plain "Intel Xeon". On such a CPU with
 * AVX2 and FMA, when the user chose no core, start again with the kernels
 * OpenBLAS has for it (the variable is read only at load time). Not under
 * valgrind, whose /proc/self/exe is valgrind itself. */
static void blas_kernels_fix(char **argv) {
    const char *core = openblas_get_corename(), *preload = getenv("LD_PRELOAD");
    if (getenv("OPENBLAS_CORETYPE") || !core || strcasecmp(core, "prescott")) return;
    if (preload && strstr(preload, "vgpreload")) return;
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f")                                    ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "Haswell"
                                                                                          : NULL;
    if (!want || setenv("OPENBLAS_CORETYPE", want, 1)) return;
    execv("/proc/self/exe", argv); /* returns only on failure: go on with the slow kernels */
}

int main(int argc, char **argv) {
    blas_kernels_fix(argv);
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
    return cli_fail("sdlm", EXIT_USAGE, "unknown command \"%s\" (try sdlm --help)", argv[1]);
}
