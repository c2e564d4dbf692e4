/* opts.c: the flag parser behind every command's table. */
#include "opts.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "models.h"
#include "paths.h"

/* Does arg (up to '=' if any) equal one of the '|'-separated names? */
static int name_matches(const char *names, const char *arg, size_t arglen) {
    const char *p = names;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == arglen && !strncmp(p, arg, len)) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

static int set_value(const Opt *o, const char *flag, const char *v, Err *e) {
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_STR: *(const char **)o->dst = v; return 0;
    case OPT_FLAG: *(int *)o->dst = 1; return 0;
    case OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-')
            return err_set(e, "%s needs a non-negative integer, not \"%s\"", flag, v);
        *(uint64_t *)o->dst = x;
        return 0;
    }
    case OPT_INT:
    case OPT_FLOAT: {
        double x = o->kind == OPT_INT ? (double)strtoll(v, &end, 10) : strtod(v, &end);
        if (errno || end == v || *end || x != x)
            return err_set(e, "%s needs %s, not \"%s\"", flag, o->kind == OPT_INT ? "an integer" : "a number", v);
        if (o->kind == OPT_INT && (x < INT_MIN || x > INT_MAX)) return err_set(e, "%s: %s is out of range", flag, v);
        if (o->min != o->max && x < o->min && o->kind == OPT_INT && o->max >= INT_MAX) /* no upper bound to speak of */
            return err_set(e, "%s must be %.0f or more, not %s", flag, o->min, v);
        if (o->min != o->max && (x < o->min || x > o->max) && o->kind == OPT_INT) /* whole bounds, not 1.04858e+06 */
            return err_set(e, "%s must be between %.0f and %.0f, not %s", flag, o->min, o->max, v);
        if (o->min != o->max && (x < o->min || x > o->max))
            return err_set(e, "%s must be between %g and %g, not %s", flag, o->min, o->max, v);
        if (o->kind == OPT_INT) *(int *)o->dst = (int)x;
        else *(float *)o->dst = (float)x;
        return 0;
    }
    }
    return -1;
}

int opts_parse(const Opt *opts, int n, int argc, char **argv, const char **pos, int maxpos, int *npos, Err *e) {
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (a[0] != '-' || !a[1] || !strcmp(a, "--")) {
            if (!strcmp(a, "--") && i + 1 < argc) a = argv[++i];
            if (*npos >= maxpos) return err_set(e, "unexpected argument \"%s\"", a);
            pos[(*npos)++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const Opt *o = NULL;
        for (int k = 0; k < n && !o; k++)
            if (name_matches(opts[k].names, a, len)) o = &opts[k];
        if (!o) return err_set(e, "unknown flag \"%.*s\" (try --help)", (int)len, a);
        char flag[64];
        snprintf(flag, sizeof flag, "%.*s", (int)len, a);
        const char *v = NULL;
        if (o->kind == OPT_FLAG) {
            if (eq) return err_set(e, "%s takes no value", flag);
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return err_set(e, "%s needs a value", flag);
        }
        if (set_value(o, flag, v, e)) return -1;
        if (o->seen) *o->seen = 1;
    }
    return 0;
}

void opts_usage(FILE *out, const char *synopsis, const char *about, const Opt *opts, int n) {
    fprintf(out, "usage: %s\n%s\n", synopsis, about);
    fprintf(out, "\noptions:\n");
    for (int k = 0; k < n; k++) {
        char left[96];
        snprintf(left, sizeof left, "%s%s%s", opts[k].names, opts[k].metavar ? " " : "",
                 opts[k].metavar ? opts[k].metavar : "");
        for (char *p = left; *p; p++)
            if (*p == '|') *p = ',';
        const char *h = opts[k].help, *nl;
        fprintf(out, "  %-28s ", left);
        for (; (nl = strchr(h, '\n')); h = nl + 1) fprintf(out, "%.*s\n%31s", (int)(nl - h), h, ""); /* aligned below */
        fprintf(out, "%s\n", h);
    }
    fprintf(out, "  %-28s %s\n", "-h,--help", "show this help"); /* opts_parse answers them before the table */
}

int opts_command(const OptCommand *c, int argc, char **argv, const char **pos, int *npos, int *status) {
    Err e;
    int rc = opts_parse(c->opts, c->nopts, argc, argv, pos, c->maxpos, npos, &e);
    if (rc == 1) opts_usage(stdout, c->synopsis, c->about, c->opts, c->nopts), *status = EXIT_OK;
    else if (rc) *status = cli_fail(c->cmd, EXIT_USAGE, "%s", e.msg);
    return rc != 0;
}

int opts_model(const char *cmd, const char *given, char *out, size_t cap) {
    Err e;
    const char *why;
    if (given) {
        snprintf(out, cap, "%s", given);
        return 0;
    }
    if (models_default(out, cap, &why, &e))
        return fprintf(stderr, "%s: no model: %s (give one with -ckpt FILE)\n", cmd, e.msg), -1;
    fprintf(stderr, "%s: using %s (%s; -ckpt FILE picks another)\n", cmd, out, why);
    return 0;
}

int opts_db(const char *given, char *out, size_t cap, Err *e) {
    if (!given) return paths_default_db(out, cap, e);
    if ((size_t)snprintf(out, cap, "%s", given) >= cap)
        return err_set(e, "--db %.200s...: the path is too long", given);
    return 0;
}
