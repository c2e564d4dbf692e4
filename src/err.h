/* err.h: errors as values.
 *
 * Functions that can fail return 0 on success and -1 on failure, filling an
 * Err with one line that names the file, tensor or line and says what is wrong.
 * Only main and the UI decide what to do with it. */
#ifndef SDLM_ERR_H
#define SDLM_ERR_H

typedef struct {
    char msg[512];
} Err;

/* Formats into e->msg (if e is not NULL) and returns -1, so callers can write
 * `return err_set(e, "...", ...);`. */
int err_set(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes e->msg with more context ("while loading X: <old msg>"); returns -1. */
int err_wrap(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
