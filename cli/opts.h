/* opts.h: one table of flags per command drives parsing and --help.
 *
 * A flag's names are separated by '|' ("-ep|--epochs"); it takes its value as
 * "-ep 3", "-ep=3", "--epochs 3" or "--epochs=3" (the seed's argparse forms).
 * Values are range-checked; a bad value is one clear line. */
#ifndef SDLM_OPTS_H
#define SDLM_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

typedef enum { OPT_INT, OPT_FLOAT, OPT_STR, OPT_FLAG, OPT_U64 } OptKind;

typedef struct {
    const char *names;  /* "-b|--batch_size" */
    OptKind kind;
    void *dst;          /* int*, float*, const char**, int* (flag: set to 1), uint64_t* */
    const char *metavar;
    const char *help;   /* one line, or lines split by '\n' (aligned under the first) */
    double min, max;    /* for numbers; min == max means no range check */
    int *seen;          /* optional: set to 1 when given */
} Opt;

/* Parses argv[1..]; positionals go to pos[] (at most maxpos). Returns 0, or
 * -1 with e filled ("unknown flag", "--steps needs a number"), or 1 when
 * --help was asked for. */
int opts_parse(const Opt *opts, int n, int argc, char **argv, const char **pos, int maxpos, int *npos, Err *e);
void opts_usage(FILE *out, const char *synopsis, const char *about, const Opt *opts, int n);

/* A command's whole command line: its name for messages, its --help text
 * and its table. */
typedef struct {
    const char *cmd;      /* "sdlm eval" */
    const char *synopsis; /* "sdlm eval -d HELDOUT [-ckpt FILE] [flags]" */
    const char *about;    /* the paragraph under it */
    const Opt *opts;
    int nopts;
    int maxpos;           /* positional arguments it takes, at most */
} OptCommand;

/* opts_parse for a command. Returns 0 to go on (positionals in pos[maxpos],
 * *npos of them), or 1 when the command is done, with *status its exit
 * status: after the usage on stdout for --help (EXIT_OK), or after one line
 * "CMD: why" on stderr for a bad flag or value (EXIT_USAGE). */
int opts_command(const OptCommand *c, int argc, char **argv, const char **pos, int *npos, int *status);

/* The model a command uses: `given` (its -ckpt) when set, else the one the
 * editor would open (session/models.h), named on stderr as "CMD: using PATH
 * (WHY)". Returns 0, or -1 after printing why not. */
int opts_model(const char *cmd, const char *given, char *out, size_t cap);
/* The history database a command uses: `given` (its --db) when set, else the
 * default (data/paths.h). Returns 0, or -1 with e filled. */
int opts_db(const char *given, char *out, size_t cap, Err *e);

#endif
