/* exitcode.h: the exit status of every sdlm command, in one place.
 *
 * man/sdlm.1 (EXIT STATUS) and README.md describe these same values. A
 * command's helpers return errors as values (a status or -1, and an Err); the
 * command alone turns one into a status from this list and says it, as one
 * line on stderr, through cli_fail. */
#ifndef SDLM_EXITCODE_H
#define SDLM_EXITCODE_H

enum {
    /* success; also `train` stopped by Ctrl-C or SIGTERM (it saves first) */
    EXIT_OK = 0,
    /* the command ran but its outcome failed: a parity expectation out of
     * tolerance, a training run that failed after it started (weights no
     * longer finite, saves failing) */
    EXIT_CHECK = 1,
    /* bad usage or bad input: an unknown flag or value; a missing, damaged or
     * mismatched checkpoint, tokenizer, corpus or template; a run or sample id
     * that is not in the history; for train, also a checkpoint it must not or
     * cannot write, found before the first step */
    EXIT_USAGE = 2,
    /* an I/O or resource failure: the history database cannot be opened or
     * read, or is damaged; out of memory; the editor without a terminal */
    EXIT_IO = 3,
};
/* A status above 128 is the shell's 128 + N: signal N ended sdlm. No command
 * returns one. */

/* Prints "CMD: MESSAGE" (one line) on stderr and returns status, so that a
 * command ends with `return cli_fail("sdlm eval", EXIT_USAGE, "%s", e.msg);`. */
int cli_fail(const char *cmd, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
