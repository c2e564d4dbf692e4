/* test_opts.c: the command-line plumbing every command shares: the flag
 * table parser (forms, ranges, messages), opts_command's statuses, the
 * help layout, cli_fail, and the small helpers beside them (fmt.h,
 * fileguard_is_regular). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "exitcode.h"
#include "fileguard.h"
#include "fmt.h"
#include "opts.h"

typedef struct {
    int n, flag, seen_n;
    float x;
    const char *s;
    uint64_t u;
} Vals;

/* Parses the words of args (space-separated) against a small table. */
static int parse(const char *args, Vals *v, const char **pos, int *npos, Err *e) {
    static char buf[512];
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", args);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " ")) argv[argc++] = t;
    *v = (Vals){.n = 7};
    const Opt opts[] = {
        {"-n|--number", OPT_INT, &v->n, "N", "a count", 1, INT_MAX, &v->seen_n},
        {"--x", OPT_FLOAT, &v->x, "X", "a number", 0, 2, NULL},
        {"--flag", OPT_FLAG, &v->flag, NULL, "a flag", 0, 0, NULL},
        {"--s", OPT_STR, &v->s, "TEXT", "a text", 0, 0, NULL},
        {"--u", OPT_U64, &v->u, "U", "a seed", 0, 0, NULL},
    };
    return opts_parse(opts, sizeof opts / sizeof *opts, argc, argv, pos, 1, npos, e);
}

static void test_parse(void) {
    Vals v;
    const char *pos[1] = {NULL};
    int npos;
    Err e;
    int rc = parse("cmd -n 3 --x=1.5 --flag --s hello --u 42 FILE", &v, pos, &npos, &e);
    check_ok(!rc && v.n == 3 && v.seen_n && v.x == 1.5f && v.flag && !strcmp(v.s, "hello") && v.u == 42 && npos == 1 &&
                 !strcmp(pos[0], "FILE"),
             "every kind of value, in both forms, and a positional");
    rc = parse("cmd --number=9", &v, pos, &npos, &e);
    check_ok(!rc && v.n == 9 && npos == 0, "a long name with =");
    check_ok(parse("cmd --help", &v, pos, &npos, &e) == 1 && parse("cmd -h", &v, pos, &npos, &e) == 1,
             "--help and -h ask for the usage");
    struct {
        const char *args, *want;
    } bad[] = {
        {"cmd --bogus", "unknown flag \"--bogus\""},
        {"cmd -n", "-n needs a value"},
        {"cmd -n 0", "-n must be 1 or more, not 0"},
        {"cmd -n 99999999999", "out of range"},
        {"cmd -n 3x", "-n needs an integer, not \"3x\""},
        {"cmd --x 3", "--x must be between 0 and 2, not 3"},
        {"cmd --flag=1", "--flag takes no value"},
        {"cmd --u -1", "--u needs a non-negative integer"},
        {"cmd A B", "unexpected argument \"B\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.msg[0] = 0;
        rc = parse(bad[i].args, &v, pos, &npos, &e);
        check_ok(rc == -1 && strstr(e.msg, bad[i].want), "'%s' is refused: %s", bad[i].args, e.msg);
    }
}

/* opts_command's status and what it prints, stdout and stderr captured. */
static void test_command(void) {
    char path[] = "/tmp/sdlm-test-opts-XXXXXX";
    int fd = mkstemp(path);
    int n = 0, status = -1, npos;
    const Opt opts[] = {
        {"-n|--number", OPT_INT, &n, "N", "a count,\nover two lines", 0, 10, NULL},
    };
    const OptCommand c = {"sdlm test", "sdlm test [-n N]", "Tests.", opts, 1, 0};
    const char *pos[1];
    char *help[] = {"test", "--help", NULL}, *bad[] = {"test", "-n", "11", NULL}, *good[] = {"test", "-n", "4", NULL};
    fflush(stdout);
    int so = dup(1), se = dup(2);
    dup2(fd, 1), dup2(fd, 2);
    int r1 = opts_command(&c, 2, help, pos, &npos, &status), s1 = status;
    int r2 = opts_command(&c, 3, bad, pos, &npos, &status), s2 = status;
    int r3 = opts_command(&c, 3, good, pos, &npos, &status);
    int r4 = cli_fail("sdlm test", EXIT_IO, "it broke: %d", 3);
    fflush(stdout), fflush(stderr);
    dup2(so, 1), dup2(se, 2);
    close(so), close(se);
    char text[2048] = "";
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[len] = 0;
    if (f) fclose(f);
    close(fd), unlink(path);
    check_ok(r1 == 1 && s1 == EXIT_OK && strstr(text, "usage: sdlm test [-n N]\nTests.\n") &&
                 strstr(text, "  -h,--help                    show this help\n"),
             "--help: usage (listing -h,--help too), status 0");
    char want[128];
    snprintf(want, sizeof want, "  %-28s a count,\n%31sover two lines\n", "-n,--number N", "");
    check_ok(strstr(text, want) != NULL, "a help of two lines is aligned under its first");
    check_ok(r2 == 1 && s2 == EXIT_USAGE && strstr(text, "sdlm test: -n must be between 0 and 10, not 11\n"),
             "a bad value: one line naming the command, status 2");
    check_ok(r3 == 0 && n == 4, "good flags: go on");
    check_ok(r4 == EXIT_IO && strstr(text, "sdlm test: it broke: 3\n"),
             "cli_fail says CMD: MESSAGE and returns the status");
}

static void test_helpers(void) {
    char buf[64];
    check_ok(!strcmp(fmt_dur(4.24, buf, sizeof buf), "4.2s") && !strcmp(fmt_dur(185, buf, sizeof buf), "3m05s") &&
                 !strcmp(fmt_dur(3720, buf, sizeof buf), "1h02m") &&
                 !strcmp(fmt_dur(1e300, buf, sizeof buf), "1e+300s"),
             "fmt_dur: seconds, minutes, hours, and a damaged value as it is");
    check_ok(!strcmp(fmt_dur(NAN, buf, sizeof buf), "-") && !strcmp(fmt_dur(-1, buf, sizeof buf), "-"),
             "fmt_dur: missing or negative is -");
    check_ok(!strcmp(fmt_time(NAN, buf, sizeof buf), "-") && !strcmp(fmt_time(1e300, buf, sizeof buf), "-") &&
                 strlen(fmt_time(1.7e9, buf, sizeof buf)) == 16,
             "fmt_time: YYYY-MM-DD HH:MM, or - (%s)", buf);
    check_ok(fileguard_is_regular("tests/test_opts.c") && !fileguard_is_regular("tests") &&
                 !fileguard_is_regular("tests/none") && !fileguard_is_regular(NULL),
             "fileguard_is_regular: a file yes; a folder, nothing or NULL no");
}

int main(void) {
    test_parse();
    test_command();
    test_helpers();
    return check_done();
}
