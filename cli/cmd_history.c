/* cmd_history.c: the history commands of the sdlm command line.
 *
 *   sdlm runs    [--db PATH]                     every run, newest first
 *   sdlm history RUN [--every N] [--db PATH]     a run's settings, checkpoints, metrics
 *   sdlm samples [--search TEXT] [--limit N] [--offset N] [--db PATH]
 *   sdlm samples --show ID [--trace] [--db PATH] one sample, and its denoising steps
 *
 * Output is plain text in aligned columns for reading and for grep/awk; long
 * texts are cut to one line. Only reads (opening may upgrade the schema and
 * mark dead runs crashed, as every sdlm does). Not here: plots (the UI).
 *
 * Exit codes (commands.h): 2 for bad usage and for a RUN or ID that is not
 * there, 3 when the database cannot be opened or read. */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "paths.h"
#include "store.h"

/* ---- small formatting helpers ---- */

static const char *fmt_time(double t, char *buf, size_t cap) {
    if (!(t > -1e12 && t < 1e12)) return "-"; /* NaN, or a damaged value no time_t can hold */
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm)) return "-";
    return buf;
}

static const char *fmt_dur(double s, char *buf, size_t cap) {
    if (!(s >= 0)) return "-";
    if (s >= 1e12) {
        snprintf(buf, cap, "%.3gs", s);
        return buf;
    }
    long long n = (long long)(s + 0.5);
    if (n >= 3600) snprintf(buf, cap, "%lldh%02lldm", n / 3600, n / 60 % 60);
    else if (n >= 60) snprintf(buf, cap, "%lldm%02llds", n / 60, n % 60);
    else snprintf(buf, cap, "%.1fs", s);
    return buf;
}

static const char *fmt_num(double v, const char *fmt, char *buf, size_t cap) {
    if (!isfinite(v)) return "-";
    snprintf(buf, cap, fmt, v);
    return buf;
}

static const char *fmt_bytes(long long b, char *buf, size_t cap) {
    if (b < 0) return "-";
    if (b >= 1 << 30) snprintf(buf, cap, "%.1f GB", b / (double)(1 << 30));
    else if (b >= 1 << 20) snprintf(buf, cap, "%.1f MB", b / (double)(1 << 20));
    else if (b >= 1 << 10) snprintf(buf, cap, "%.1f kB", b / 1024.0);
    else snprintf(buf, cap, "%lld B", b);
    return buf;
}

/* Text on one line: control characters become spaces, and it is cut (on a
 * UTF-8 boundary) to max bytes with "..." when longer. */
static const char *one_line(const char *s, size_t max, char *buf, size_t cap) {
    if (!s) return "-";
    size_t n = 0;
    for (; *s && n + 4 < cap; s++) {
        if (n >= max) {
            if (((unsigned char)*s & 0xc0) == 0x80) { /* cutting inside a character: drop its start */
                while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80) n--;
                if (n > 0) n--;
            }
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
    }
    buf[n] = 0;
    return buf;
}

/* ---- options ---- */

typedef struct {
    const char *cmd;   /* for messages: "sdlm runs" */
    const char *usage; /* the --help text */
} Cmd;

static int usage_error(const Cmd *c, const char *what, const char *arg) {
    fprintf(stderr, "%s: %s '%s' (see %s --help)\n", c->cmd, what, arg, c->cmd);
    return EXIT_USAGE;
}

/* If argv[*i] is `name VALUE` or `name=VALUE`, stores VALUE and returns 1;
 * returns -1 when the value is missing, 0 when it is another argument. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n]) return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

static int parse_count(const char *s, long long min, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min) return -1;
    *out = v;
    return 0;
}

enum { SEARCH_MAX = 4096 }; /* bytes of a --search text (SQLite's LIKE patterns stop at 50000) */

/* The exit status of a failed lookup: an id that is not there is bad input
 * (2, as the store words it: "run N not found"); anything else is the
 * database failing (3). */
static int lookup_status(const Err *e) { return strstr(e->msg, " not found") ? EXIT_USAGE : EXIT_IO; }

/* Opens the database (--db or the default). *missing = 1 when the file does
 * not exist: nothing has been recorded yet. */
static int open_db(const Cmd *c, const char *db, Store **s, int *missing) {
    char def[PATH_MAX];
    Err e;
    *s = NULL;
    *missing = 0;
    if (!db) {
        if (paths_default_db(def, sizeof def, &e)) {
            fprintf(stderr, "%s: %s\n", c->cmd, e.msg);
            return EXIT_IO;
        }
        db = def;
    }
    struct stat st;
    if (stat(db, &st) != 0 && errno == ENOENT) {
        *missing = 1;
        return 0;
    }
    /* these commands only read, so a read-only file lists too; read-write only to upgrade an old schema */
    if (store_open(s, db, 1, &e) && store_open(s, db, 0, &e)) {
        fprintf(stderr, "%s: %s\n", c->cmd, e.msg);
        return EXIT_IO;
    }
    return 0;
}

/* ---- sdlm runs ---- */

int cmd_runs(int argc, char **argv) {
    Cmd c = {"sdlm runs",
             "usage: sdlm runs [--db PATH]\n"
             "Lists every training run, newest first: id, status, start, duration, last step and\n"
             "loss, the processes it last ran on (MPI ranks), recipe and corpus. `sdlm history ID` shows one run in full.\n"
             "  --db PATH   the history database (default: $XDG_DATA_HOME/sdlm/sdlm.db)\n"};
    const char *db = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(c.usage, stdout);
            return 0;
        }
        if ((r = opt_value(argc, argv, &i, "--db", &db))) {
            if (r < 0) return usage_error(&c, "missing value for", argv[i]);
            continue;
        }
        return usage_error(&c, argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
    }
    Store *s;
    int missing;
    if (open_db(&c, db, &s, &missing)) return EXIT_IO;
    if (missing) {
        printf("no runs recorded yet\n");
        return 0;
    }
    Run *runs;
    int n;
    Err e;
    if (store_list_runs(s, &runs, &n, &e)) {
        fprintf(stderr, "%s: %s\n", c.cmd, e.msg);
        store_close(s);
        return EXIT_IO;
    }
    if (!n) printf("no runs recorded yet\n");
    else
        printf("%5s  %-8s  %-16s  %8s  %9s  %8s  %5s  %-10s  %s\n", "ID", "STATUS", "STARTED", "TIME", "STEP", "LOSS",
               "RANKS", "RECIPE", "CORPUS");
    for (int i = 0; i < n; i++) {
        Run *r = &runs[i];
        char t[32], d[32], l[32], rc[32], cp[128], b[32];
        double end = isfinite(r->ended) ? r->ended : r->heartbeat;
        char step[32] = "-";
        if (r->last_step >= 0) snprintf(step, sizeof step, "%lld", (long long)r->last_step);
        printf("%5lld  %-8s  %-16s  %8s  %9s  %8s  %5d  %-10s  %s", (long long)r->id, run_status_name(r->status),
               fmt_time(r->created, t, sizeof t), fmt_dur(end - r->started, d, sizeof d), step,
               fmt_num(r->last_loss, "%.4f", l, sizeof l), r->ranks, one_line(r->recipe, 10, rc, sizeof rc),
               one_line(r->corpus_path, 60, cp, sizeof cp));
        if (r->corpus_bytes >= 0) printf(" (%s)", fmt_bytes(r->corpus_bytes, b, sizeof b));
        printf("\n");
    }
    runs_free(runs, n);
    store_close(s);
    return 0;
}

/* ---- sdlm history RUN ---- */

static void print_run(const Run *r) {
    char a[32], b[32], d[32];
    printf("run %lld: %s\n", (long long)r->id, run_status_name(r->status));
    printf("  %-11s %s\n", "created", fmt_time(r->created, a, sizeof a));
    printf("  %-11s %s\n", "started", fmt_time(r->started, a, sizeof a));
    if (isfinite(r->ended))
        printf("  %-11s %s (%s)\n", "ended", fmt_time(r->ended, a, sizeof a),
               fmt_dur(r->ended - r->started, d, sizeof d));
    else
        printf("  %-11s %s (last sign of life)\n", "heartbeat", fmt_time(r->heartbeat, a, sizeof a));
    printf("  %-11s %s\n", "recipe", r->recipe ? r->recipe : "-");
    printf("  %-11s %s", "corpus", r->corpus_path ? r->corpus_path : "-");
    if (r->corpus_bytes >= 0) printf(", %s", fmt_bytes(r->corpus_bytes, b, sizeof b));
    if (r->corpus_lines >= 0) printf(", %lld lines", (long long)r->corpus_lines);
    printf("\n");
    printf("  %-11s %s\n", "tokenizer", r->tokenizer_path ? r->tokenizer_path : "-");
    printf("  %-11s %s\n", "checkpoint", r->checkpoint_path ? r->checkpoint_path : "-");
    printf("  %-11s %llu\n", "seed", (unsigned long long)r->seed);
    printf("  %-11s %d\n", "ranks", r->ranks);
    printf("  %-11s %s, pid %lld\n", "host", r->host ? r->host : "-", (long long)r->pid);
    if (r->notes) printf("  %-11s %s\n", "notes", r->notes);
    printf("  %-11s %s\n", "config", r->config ? r->config : "{}");
}

int cmd_history(int argc, char **argv) {
    Cmd c = {"sdlm history",
             "usage: sdlm history RUN [--every N] [--db PATH]\n"
             "Shows one training run: its settings and config, its checkpoints, and its metrics\n"
             "as a table, one row per logged step. RUN is an id from `sdlm runs`, or `last`.\n"
             "  --every N   only every Nth metrics row (and always the last)\n"
             "  --db PATH   the history database (default: $XDG_DATA_HOME/sdlm/sdlm.db)\n"};
    const char *db = NULL, *every_s = NULL, *run_s = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(c.usage, stdout);
            return 0;
        }
        if ((r = opt_value(argc, argv, &i, "--db", &db)) || (r = opt_value(argc, argv, &i, "--every", &every_s))) {
            if (r < 0) return usage_error(&c, "missing value for", argv[i]);
            continue;
        }
        if (argv[i][0] == '-') return usage_error(&c, "unknown option", argv[i]);
        if (run_s) return usage_error(&c, "unexpected argument", argv[i]);
        run_s = argv[i];
    }
    long long every = 1, run = 0;
    if (!run_s) {
        fprintf(stderr, "%s: which run? (see sdlm runs)\n", c.cmd);
        return EXIT_USAGE;
    }
    if (strcmp(run_s, "last") && parse_count(run_s, 1, &run)) return usage_error(&c, "not a run id", run_s);
    if (every_s && (parse_count(every_s, 1, &every) || every > INT_MAX))
        return usage_error(&c, "--every wants a count of 1 or more, not", every_s);
    Store *s;
    int missing;
    Err e;
    if (open_db(&c, db, &s, &missing)) return EXIT_IO;
    if (missing) {
        fprintf(stderr, "%s: no runs recorded yet\n", c.cmd);
        return EXIT_USAGE;
    }
    int status = EXIT_USAGE, n = 0; /* until the run is found and shown */
    Run r = {0};
    CkptRecord *ck = NULL;
    Metric *m = NULL;
    if (!run) {
        Run *all;
        if (store_list_runs(s, &all, &n, &e)) goto fail;
        run = n ? all[0].id : 0;
        runs_free(all, n);
        if (!run) {
            fprintf(stderr, "%s: no runs recorded yet\n", c.cmd);
            goto done;
        }
    }
    if (store_get_run(s, run, &r, &e)) goto fail;
    print_run(&r);

    if (store_list_checkpoints(s, run, &ck, &n, &e)) goto fail;
    printf("\ncheckpoints: %d\n", n);
    if (n) printf("%9s  %-16s  %9s  %9s  %8s  %s\n", "STEP", "TIME", "SIZE", "EVAL_LOSS", "EVAL_ACC", "PATH");
    for (int i = 0; i < n; i++) {
        char t[32], b[32], l[32], a[32];
        printf("%9lld  %-16s  %9s  %9s  %8s  %s\n", (long long)ck[i].step, fmt_time(ck[i].time, t, sizeof t),
               fmt_bytes(ck[i].bytes, b, sizeof b), fmt_num(ck[i].eval_loss, "%.4f", l, sizeof l),
               fmt_num(ck[i].eval_accuracy, "%.4f", a, sizeof a), ck[i].path ? ck[i].path : "-");
    }
    checkpoints_free(ck, n);
    ck = NULL;

    if (store_run_metrics(s, run, (int)every, &m, &n, &e)) goto fail;
    if (every > 1) printf("\nmetrics: %d of %lld rows (one in %lld, and the last)\n", n, (long long)r.n_metrics, every);
    else printf("\nmetrics: %d rows\n", n);
    if (n)
        printf("%9s %6s %9s %9s %9s %7s %9s %9s %9s %8s\n", "STEP", "EPOCH", "LOSS", "MSE", "CE", "ACC", "LR",
               "GRAD_NORM", "TOK/S", "WALL");
    for (int i = 0; i < n; i++) {
        char b[10][32];
        const Metric *x = &m[i];
        if (x->skipped) {
            printf("%9lld %6lld %9s  skipped: loss or gradient not finite\n", (long long)x->step,
                   (long long)x->epoch, fmt_num(x->loss, "%.4f", b[0], 32));
            continue;
        }
        printf("%9lld %6lld %9s %9s %9s %7s %9s %9s %9s %8s\n", (long long)x->step, (long long)x->epoch,
               fmt_num(x->loss, "%.4f", b[0], 32), fmt_num(x->mse, "%.4f", b[1], 32), fmt_num(x->ce, "%.4f", b[2], 32),
               fmt_num(x->accuracy, "%.4f", b[3], 32), fmt_num(x->lr, "%.2e", b[4], 32),
               fmt_num(x->grad_norm, "%.3f", b[5], 32), fmt_num(x->tokens_per_s, "%.0f", b[6], 32),
               fmt_dur(x->wall_s, b[7], 32));
    }
    status = 0;
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", c.cmd, e.msg);
    status = lookup_status(&e);
done:
    free(m);
    checkpoints_free(ck, 0);
    run_free(&r);
    store_close(s);
    return status;
}

/* ---- sdlm samples ---- */

static void print_trace(const Trajectory *t) {
    int masked = 0;
    for (int i = 0; i < t->len; i++) masked += t->masked[i] != 0;
    printf("\ntrace: %d steps x %d positions (vocab %u), %d masked\n", t->steps, t->len, t->vocab, masked);
    printf("each line: the step, its t, the mean confidence over the masked positions, then\n"
           "token id/confidence%% at every masked position (all positions if none were masked)\n");
    printf("%6s %7s %5s  %s\n", "STEP", "T", "CONF", "TOKENS");
    for (int s = 0; s < t->steps; s++) {
        const uint32_t *ids = t->ids + (size_t)s * t->len;
        const float *cf = t->conf + (size_t)s * t->len;
        double sum = 0;
        int cnt = 0;
        for (int i = 0; i < t->len; i++)
            if (!masked || t->masked[i]) sum += cf[i], cnt++;
        printf("%6d %7.4f %5.2f ", s, (double)t->t[s], cnt ? sum / cnt : 0.0);
        for (int i = 0; i < t->len; i++)
            if (!masked || t->masked[i]) printf(" %u/%d", ids[i], (int)lrintf(cf[i] * 100));
        printf("\n");
    }
}

static int show_sample(const Cmd *c, Store *s, long long id, int trace) {
    Sample x;
    Err e;
    char t[32], d[32];
    if (store_get_sample(s, id, &x, &e)) {
        fprintf(stderr, "%s: %s\n", c->cmd, e.msg);
        return lookup_status(&e);
    }
    printf("sample %lld: %s, candidate %d\n", (long long)x.id, sample_mode_name(x.mode), x.candidate + 1);
    printf("  %-11s %s\n", "time", fmt_time(x.time, t, sizeof t));
    printf("  %-11s %s, %d steps, seed %llu, clamp %s\n", "sampler", x.sampler ? x.sampler : "-", x.steps,
           (unsigned long long)x.seed, x.clamp ? "on" : "off");
    printf("  %-11s %s\n", "model", x.model ? x.model : "-");
    printf("  %-11s %s\n", "checkpoint", x.checkpoint_path ? x.checkpoint_path : "-");
    printf("  %-11s %s\n", "took", fmt_dur(x.elapsed_s, d, sizeof d));
    printf("  %-11s %s\n", "template", x.template_text ? x.template_text : "-");
    printf("  %-11s %s\n", "result", x.result ? x.result : "-");
    if (x.traj.steps)
        printf("  %-11s %d steps x %d positions\n", "trajectory", x.traj.steps, x.traj.len);
    else printf("  %-11s none recorded\n", "trajectory");
    if (trace && x.traj.steps) print_trace(&x.traj);
    sample_free(&x);
    return 0;
}

int cmd_samples(int argc, char **argv) {
    Cmd c = {"sdlm samples",
             "usage: sdlm samples [--search TEXT] [--limit N] [--offset N] [--db PATH]\n"
             "       sdlm samples --show ID [--trace] [--db PATH]\n"
             "Lists saved infills and samples, newest first, or shows one in full.\n"
             "  --search TEXT  only those whose template or result contains TEXT (any case)\n"
             "  --limit N      at most N rows (default 20; 0 for all)\n"
             "  --offset N     skip the first N rows\n"
             "  --show ID      one sample: settings, template, result\n"
             "  --trace        with --show: every denoising step, token ids and confidences\n"
             "  --db PATH      the history database (default: $XDG_DATA_HOME/sdlm/sdlm.db)\n"};
    const char *db = NULL, *search = NULL, *limit_s = NULL, *offset_s = NULL, *show_s = NULL;
    int trace = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(c.usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--trace")) {
            trace = 1;
            continue;
        }
        if ((r = opt_value(argc, argv, &i, "--db", &db)) || (r = opt_value(argc, argv, &i, "--search", &search)) ||
            (r = opt_value(argc, argv, &i, "--limit", &limit_s)) ||
            (r = opt_value(argc, argv, &i, "--offset", &offset_s)) ||
            (r = opt_value(argc, argv, &i, "--show", &show_s))) {
            if (r < 0) return usage_error(&c, "missing value for", argv[i]);
            continue;
        }
        return usage_error(&c, argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
    }
    long long limit = 20, offset = 0, show = 0;
    if (limit_s && (parse_count(limit_s, 0, &limit) || limit > INT_MAX))
        return usage_error(&c, "--limit wants a count, not", limit_s);
    if (offset_s && (parse_count(offset_s, 0, &offset) || offset > INT_MAX))
        return usage_error(&c, "--offset wants a count, not", offset_s);
    if (show_s && parse_count(show_s, 1, &show)) return usage_error(&c, "--show wants a sample id, not", show_s);
    if (trace && !show_s) return usage_error(&c, "--trace needs --show ID, given", "--trace");
    if (search && strlen(search) > SEARCH_MAX) { /* SQLite would say "LIKE or GLOB pattern too complex" */
        fprintf(stderr, "%s: --search is %zu bytes long: give at most %d\n", c.cmd, strlen(search), SEARCH_MAX);
        return EXIT_USAGE;
    }
    if (show_s && (search || limit_s || offset_s))
        return usage_error(&c, "--show takes no list options, given", search ? "--search" : limit_s ? "--limit" : "--offset");

    Store *s;
    int missing;
    if (open_db(&c, db, &s, &missing)) return EXIT_IO;
    if (missing) {
        if (show_s) {
            fprintf(stderr, "%s: no samples saved yet\n", c.cmd);
            return EXIT_USAGE;
        }
        printf("no samples saved yet\n");
        return 0;
    }
    int status;
    if (show_s) {
        status = show_sample(&c, s, show, trace);
    } else {
        Sample *v;
        int n;
        int64_t total = 0;
        Err e;
        if (store_list_samples(s, search, (int)limit, (int)offset, &v, &n, &e) ||
            store_count_samples(s, search, &total, &e)) {
            fprintf(stderr, "%s: %s\n", c.cmd, e.msg);
            store_close(s);
            return EXIT_IO;
        }
        if (!n) printf(search ? "no samples match\n" : "no samples saved yet\n");
        else printf("%6s  %-16s  %-6s  %4s  %-7s  %5s  %s\n", "ID", "TIME", "MODE", "CAND", "SAMPLER", "STEPS", "RESULT");
        for (int i = 0; i < n; i++) {
            char t[32], sm[32], res[160];
            printf("%6lld  %-16s  %-6s  %4d  %-7s  %5d  %s\n", (long long)v[i].id, fmt_time(v[i].time, t, sizeof t),
                   sample_mode_name(v[i].mode), v[i].candidate + 1, one_line(v[i].sampler, 7, sm, sizeof sm), v[i].steps,
                   one_line(v[i].result, 100, res, sizeof res));
        }
        if (n && (offset > 0 || n < total))
            printf("(%lld-%lld of %lld)\n", offset + 1, offset + n, (long long)total);
        samples_free(v, n);
        status = 0;
    }
    store_close(s);
    return status;
}
