/* check.h: the little test harness every test program includes.
 *
 * Each check prints "ok - NAME" or "not ok - NAME: why"; check_done() returns
 * the exit status (non-zero if anything failed), so a test cannot pass silently. */
#ifndef SDLM_CHECK_H
#define SDLM_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int check_fails, check_oks;

static void check_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static void check_ok(int cond, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf(cond ? "ok - " : "not ok - ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (cond) check_oks++;
    else check_fails++;
}

/* |got - want| <= atol + rtol * |want| for every element; reports the worst. */
static int check_close(const char *name, const float *got, const float *want, long n, double atol,
                       double rtol) __attribute__((unused));
static int check_close(const char *name, const float *got, const float *want, long n, double atol,
                       double rtol) {
    long worst = -1;
    double worst_excess = 0, worst_err = 0;
    for (long i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double excess = err - (atol + rtol * fabs((double)want[i]));
        if (!(err == err) || excess > worst_excess || worst < 0) {
            if (worst < 0 || !(err == err) || excess > worst_excess) {
                worst = i;
                worst_excess = err == err ? excess : INFINITY;
                worst_err = err;
            }
        }
    }
    int good = n == 0 || worst_excess <= 0;
    if (good)
        check_ok(1, "%s (worst abs err %.3g)", name, worst_err);
    else
        check_ok(0, "%s: element %ld got %.8g want %.8g (abs err %.3g, atol %.3g rtol %.3g)", name, worst,
                 (double)got[worst], (double)want[worst], worst_err, atol, rtol);
    return good;
}

static int check_done(void) __attribute__((unused));
static int check_done(void) {
    fprintf(stderr, "%d passed, %d failed\n", check_oks, check_fails);
    return check_fails ? 1 : 0;
}

#endif
