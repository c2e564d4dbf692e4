/* err.c: formatting of Err messages. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(Err *e, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int err_wrap(Err *e, const char *fmt, ...) {
    if (!e) return -1;
    char prefix[256], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* "prefix: old", cut to fit (written by hand: snprintf would warn about truncation) */
    size_t np = strlen(prefix), no = strlen(old), cap = sizeof e->msg - 1;
    if (np > cap) np = cap;
    memcpy(e->msg, prefix, np);
    size_t n = np;
    for (const char *sep = ": "; *sep && n < cap; sep++) e->msg[n++] = *sep;
    if (no > cap - n) no = cap - n;
    memcpy(e->msg + n, old, no);
    e->msg[n + no] = 0;
    return -1;
}
