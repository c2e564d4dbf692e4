/* exitcode.c: how a command says why it stops (exitcode.h). */
#include "exitcode.h"

#include <stdarg.h>
#include <stdio.h>

int cli_fail(const char *cmd, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}
