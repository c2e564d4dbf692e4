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
 * Exit statuses (exitcode.h): 2 for bad usage and for a RUN or ID that is not
 * there, 3 when the database cannot be opened or read. */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fmt.h"
#include "opts.h"
#include "store.h"

/* ---- small formatting helpers ---- */

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

/* ---- the database ---- */

enum { SEARCH_MAX = 4096 }; /* bytes of a --search text (SQLite's LIKE patterns stop at 50000) */

/* --db, the flag all three commands take. */
static Opt db_opt(const char **db) {
    return (Opt){"--db", OPT_STR, db, "PATH", "the history database (default: $XDG_DATA_HOME/sdlm/sdlm.db)", 0, 0,
                 NULL};
}

/* The exit status of a failed lookup: an id that is not there is bad input
 * (2, as the store words it: "run N not found"); anything else is the
 * database failing (3). */
static int lookup_status(const Err *e) { return strstr(e->msg, " not found") ? EXIT_USAGE : EXIT_IO; }

/* Opens the database (--db or the default). *missing = 1 when the file does
 * not exist: nothing has been recorded yet. Returns 0, or an exit status
 * after saying why. */
static int open_db(const char *cmd, const char *db_arg, Store **s, int *missing) {
    char db[PATH_MAX];
    Err e;
    *s = NULL;
    *missing = 0;
    if (opts_db(db_arg, db, sizeof db, &e)) return cli_fail(cmd, EXIT_IO, "%s", e.msg);
    struct stat st;
    if (stat(db, &st) != 0 && errno == ENOENT) {
        *missing = 1;
        return 0;
    }
    /* these commands only read, so a read-only file lists too; read-write only to upgrade an old schema */
    if (store_open(s, db, 1, &e) && store_open(s, db, 0, &e)) return cli_fail(cmd, EXIT_IO, "%s", e.msg);
    return 0;
}

/* ---- sdlm runs ---- */

static void print_run_row(const Run *r) {
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

int cmd_runs(int argc, char **argv) {
    const char *db = NULL, *pos[1];
    const Opt opts[] = {db_opt(&db)};
    const OptCommand c = {
        "sdlm runs", "sdlm runs [--db PATH]",
        "Lists every training run, newest first: id, status, start, duration, last step and\n"
        "loss, the processes it last ran on (MPI ranks), recipe and corpus. `sdlm history ID` shows one run in full.",
        opts, 1, 0};
    int npos, status, missing, n;
    Store *s;
    Run *runs;
    Err e;
    if (opts_command(&c, argc, argv, pos, &npos, &status)) return status;
    if ((status = open_db(c.cmd, db, &s, &missing))) return status;
    if (missing) return printf("no runs recorded yet\n"), EXIT_OK;
    if (store_list_runs(s, &runs, &n, &e)) {
        store_close(s);
        return cli_fail(c.cmd, EXIT_IO, "%s", e.msg);
    }
    if (!n) printf("no runs recorded yet\n");
    else
        printf("%5s  %-8s  %-16s  %8s  %9s  %8s  %5s  %-10s  %s\n", "ID", "STATUS", "STARTED", "TIME", "STEP", "LOSS",
               "RANKS", "RECIPE", "CORPUS");
    for (int i = 0; i < n; i++) print_run_row(&runs[i]);
    runs_free(runs, n);
    store_close(s);
    return EXIT_OK;
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

static int print_checkpoints(Store *s, int64_t run, Err *e) {
    CkptRecord *ck;
    int n;
    if (store_list_checkpoints(s, run, &ck, &n, e)) return -1;
    printf("\ncheckpoints: %d\n", n);
    if (n) printf("%9s  %-16s  %9s  %9s  %8s  %s\n", "STEP", "TIME", "SIZE", "EVAL_LOSS", "EVAL_ACC", "PATH");
    for (int i = 0; i < n; i++) {
        char t[32], b[32], l[32], a[32];
        printf("%9lld  %-16s  %9s  %9s  %8s  %s\n", (long long)ck[i].step, fmt_time(ck[i].time, t, sizeof t),
               fmt_bytes(ck[i].bytes, b, sizeof b), fmt_num(ck[i].eval_loss, "%.4f", l, sizeof l),
               fmt_num(ck[i].eval_accuracy, "%.4f", a, sizeof a), ck[i].path ? ck[i].path : "-");
    }
    checkpoints_free(ck, n);
    return 0;
}

static void print_metric_row(const Metric *x) {
    char b[8][32];
    if (x->skipped) {
        printf("%9lld %6lld %9s  skipped: loss or gradient not finite\n", (long long)x->step, (long long)x->epoch,
               fmt_num(x->loss, "%.4f", b[0], 32));
        return;
    }
    printf("%9lld %6lld %9s %9s %9s %7s %9s %9s %9s %8s\n", (long long)x->step, (long long)x->epoch,
           fmt_num(x->loss, "%.4f", b[0], 32), fmt_num(x->mse, "%.4f", b[1], 32), fmt_num(x->ce, "%.4f", b[2], 32),
           fmt_num(x->accuracy, "%.4f", b[3], 32), fmt_num(x->lr, "%.2e", b[4], 32),
           fmt_num(x->grad_norm, "%.3f", b[5], 32), fmt_num(x->tokens_per_s, "%.0f", b[6], 32),
           fmt_dur(x->wall_s, b[7], 32));
}

/* Every `every`th metrics row of run r (and always the last). */
static int print_metrics(Store *s, const Run *r, int every, Err *e) {
    Metric *m;
    int n;
    if (store_run_metrics(s, r->id, every, &m, &n, e)) return -1;
    if (every > 1) printf("\nmetrics: %d of %lld rows (one in %d, and the last)\n", n, (long long)r->n_metrics, every);
    else printf("\nmetrics: %d rows\n", n);
    if (n)
        printf("%9s %6s %9s %9s %9s %7s %9s %9s %9s %8s\n", "STEP", "EPOCH", "LOSS", "MSE", "CE", "ACC", "LR",
               "GRAD_NORM", "TOK/S", "WALL");
    for (int i = 0; i < n; i++) print_metric_row(&m[i]);
    free(m);
    return 0;
}

/* A run id: a whole number of 1 or more. */
static int parse_run_id(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 1) return -1;
    *out = v;
    return 0;
}

/* The newest run's id into *run (0 when there is none). */
static int newest_run(Store *s, int64_t *run, Err *e) {
    Run *all;
    int n;
    if (store_list_runs(s, &all, &n, e)) return -1;
    *run = n ? all[0].id : 0;
    runs_free(all, n);
    return 0;
}

/* Shows run `run` (0: the newest) in full. Returns an exit status. */
static int show_run(const char *cmd, Store *s, int64_t run, int every) {
    Err e;
    Run r = {0};
    if (!run && newest_run(s, &run, &e)) return cli_fail(cmd, lookup_status(&e), "%s", e.msg);
    if (!run) return cli_fail(cmd, EXIT_USAGE, "no runs recorded yet");
    if (store_get_run(s, run, &r, &e)) return cli_fail(cmd, lookup_status(&e), "%s", e.msg);
    print_run(&r);
    int bad = print_checkpoints(s, run, &e) || print_metrics(s, &r, every, &e);
    run_free(&r);
    return bad ? cli_fail(cmd, lookup_status(&e), "%s", e.msg) : EXIT_OK;
}

int cmd_history(int argc, char **argv) {
    const char *db = NULL, *pos[1] = {NULL};
    int every = 1;
    const Opt opts[] = {
        {"--every", OPT_INT, &every, "N", "only every Nth metrics row (and always the last)", 1, INT_MAX, NULL},
        db_opt(&db),
    };
    const OptCommand c = {"sdlm history", "sdlm history RUN [--every N] [--db PATH]",
                          "Shows one training run: its settings and config, its checkpoints, and its metrics\n"
                          "as a table, one row per logged step. RUN is an id from `sdlm runs`, or `last`.",
                          opts, sizeof opts / sizeof *opts, 1};
    int npos, status, missing;
    long long run = 0; /* 0: last */
    if (opts_command(&c, argc, argv, pos, &npos, &status)) return status;
    if (!npos) return cli_fail(c.cmd, EXIT_USAGE, "which run? (see sdlm runs)");
    if (strcmp(pos[0], "last") && parse_run_id(pos[0], &run))
        return cli_fail(c.cmd, EXIT_USAGE, "not a run id '%s' (see %s --help)", pos[0], c.cmd);
    Store *s;
    if ((status = open_db(c.cmd, db, &s, &missing))) return status;
    if (missing) return cli_fail(c.cmd, EXIT_USAGE, "no runs recorded yet");
    status = show_run(c.cmd, s, run, every);
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

static int show_sample(const char *cmd, Store *s, int64_t id, int trace) {
    Sample x;
    Err e;
    char t[32], d[32];
    if (store_get_sample(s, id, &x, &e)) return cli_fail(cmd, lookup_status(&e), "%s", e.msg);
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
    return EXIT_OK;
}

static int list_samples(const char *cmd, Store *s, const char *search, int limit, int offset) {
    Sample *v;
    int n;
    int64_t total = 0;
    Err e;
    if (store_list_samples(s, search, limit, offset, &v, &n, &e) || store_count_samples(s, search, &total, &e))
        return cli_fail(cmd, EXIT_IO, "%s", e.msg);
    if (!n) printf(search ? "no samples match\n" : "no samples saved yet\n");
    else printf("%6s  %-16s  %-6s  %4s  %-7s  %5s  %s\n", "ID", "TIME", "MODE", "CAND", "SAMPLER", "STEPS", "RESULT");
    for (int i = 0; i < n; i++) {
        char t[32], sm[32], res[160];
        printf("%6lld  %-16s  %-6s  %4d  %-7s  %5d  %s\n", (long long)v[i].id, fmt_time(v[i].time, t, sizeof t),
               sample_mode_name(v[i].mode), v[i].candidate + 1, one_line(v[i].sampler, 7, sm, sizeof sm), v[i].steps,
               one_line(v[i].result, 100, res, sizeof res));
    }
    if (n && (offset > 0 || n < total)) printf("(%d-%d of %lld)\n", offset + 1, offset + n, (long long)total);
    samples_free(v, n);
    return EXIT_OK;
}

typedef struct {
    const char *db, *search;
    int limit, offset, trace, limit_seen, offset_seen, show_seen;
    uint64_t show;
} SamplesArgs;

/* The flags of `sdlm samples`, and the combinations they may come in.
 * Returns 0 to go on, or 1 with *status the exit status. */
static int samples_args(int argc, char **argv, SamplesArgs *a, int *status) {
    const Opt opts[] = {
        {"--search", OPT_STR, &a->search, "TEXT", "only those whose template or result contains TEXT (any case)", 0, 0,
         NULL},
        {"--limit", OPT_INT, &a->limit, "N", "at most N rows (default 20; 0 for all)", 0, INT_MAX, &a->limit_seen},
        {"--offset", OPT_INT, &a->offset, "N", "skip the first N rows", 0, INT_MAX, &a->offset_seen},
        {"--show", OPT_U64, &a->show, "ID", "one sample: settings, template, result", 0, 0, &a->show_seen},
        {"--trace", OPT_FLAG, &a->trace, NULL, "with --show: every denoising step, token ids and confidences", 0, 0,
         NULL},
        db_opt(&a->db),
    };
    const OptCommand c = {"sdlm samples",
                          "sdlm samples [--search TEXT] [--limit N] [--offset N] [--db PATH]\n"
                          "       sdlm samples --show ID [--trace] [--db PATH]",
                          "Lists saved infills and samples, newest first, or shows one in full.", opts,
                          sizeof opts / sizeof *opts, 0};
    const char *pos[1];
    int npos;
    *a = (SamplesArgs){.limit = 20};
    if (opts_command(&c, argc, argv, pos, &npos, status)) return 1;
    if (a->show_seen && (a->show < 1 || a->show > INT64_MAX))
        *status = cli_fail(c.cmd, EXIT_USAGE, "--show wants a sample id, not '%llu' (see %s --help)",
                           (unsigned long long)a->show, c.cmd);
    else if (a->trace && !a->show_seen)
        *status = cli_fail(c.cmd, EXIT_USAGE, "--trace needs --show ID (see %s --help)", c.cmd);
    else if (a->search && strlen(a->search) > SEARCH_MAX) /* SQLite would say "LIKE or GLOB pattern too complex" */
        *status = cli_fail(c.cmd, EXIT_USAGE, "--search is %zu bytes long: give at most %d", strlen(a->search),
                           SEARCH_MAX);
    else if (a->show_seen && (a->search || a->limit_seen || a->offset_seen))
        *status = cli_fail(c.cmd, EXIT_USAGE, "--show takes no list options, given '%s' (see %s --help)",
                           a->search ? "--search" : a->limit_seen ? "--limit" : "--offset", c.cmd);
    else return 0;
    return 1;
}

int cmd_samples(int argc, char **argv) {
    SamplesArgs a;
    int status, missing;
    Store *s;
    if (samples_args(argc, argv, &a, &status)) return status;
    if ((status = open_db("sdlm samples", a.db, &s, &missing))) return status;
    if (missing && a.show_seen) return cli_fail("sdlm samples", EXIT_USAGE, "no samples saved yet");
    if (missing) return printf("no samples saved yet\n"), EXIT_OK;
    if (a.show_seen) status = show_sample("sdlm samples", s, (int64_t)a.show, a.trace);
    else status = list_samples("sdlm samples", s, a.search, a.limit, a.offset);
    store_close(s);
    return status;
}
