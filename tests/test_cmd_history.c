/* test_cmd_history.c: `sdlm runs`, `sdlm history`, `sdlm samples` on a
 * database made with the store API: what they print, that tables line up, and
 * the exit status and one-line message of every kind of mistake. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "commands.h"
#include "store.h"

static char dir[] = "/tmp/sdlm-test-cmd-XXXXXX";
static char db[600], notdb[600];
static char out[1 << 16], err[4096];

/* Runs fn(argv) with stdout and stderr captured into out and err. */
static int run(int (*fn)(int, char **), const char *args) {
    char buf[1024], *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", args);
    for (char *tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
        argv[argc++] = !strcmp(tok, "DB") ? db : !strcmp(tok, "NOTDB") ? notdb : tok;
    argv[argc] = NULL;
    char po[700], pe[700];
    snprintf(po, sizeof po, "%s/out", dir);
    snprintf(pe, sizeof pe, "%s/err", dir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_CREAT | O_TRUNC | O_WRONLY, 0600), fe = open(pe, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so), close(se), close(fo), close(fe);
    FILE *f = fopen(po, "r");
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    f = fopen(pe, "r");
    n = fread(err, 1, sizeof err - 1, f);
    err[n] = 0;
    fclose(f);
    return rc;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The line of out starting with prefix (after leading spaces), copied into line. */
static int find_line(const char *prefix, char *line, size_t cap) {
    for (const char *p = out; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *q = p;
        while (*q == ' ') q++;
        if (!strncmp(q, prefix, strlen(prefix)) && len < cap) {
            memcpy(line, p, len);
            line[len] = 0;
            return 1;
        }
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static void fill(void) {
    Store *s;
    Err e;
    if (store_open(&s, db, 0, &e)) {
        check_ok(0, "open: %s", e.msg);
        exit(1);
    }
    Run spec = {.config = "{\"lr\":0.0001}", .recipe = "tiny", .corpus_path = "/data/corpus.txt",
                .corpus_bytes = 2 << 20, .corpus_lines = 1000, .seed = 7, .ranks = 1};
    int64_t r1, r2;
    store_run_begin(s, &spec, &r1, &e);
    Metric m[25];
    for (int i = 0; i < 25; i++)
        m[i] = (Metric){.step = i * 100, .epoch = i / 10, .loss = 8 - i * 0.1, .mse = 1, .ce = 7 - i * 0.1,
                        .accuracy = 0.01 * i, .lr = 1e-4, .grad_norm = 0.8, .tokens_per_s = 12000, .wall_s = i * 30.0};
    m[3].skipped = 1;
    m[3].loss = NAN;
    store_add_metrics(s, r1, m, 25, &e);
    CkptRecord ck = {.run_id = r1, .step = 2000, .path = "/ckpt/step2000.safetensors", .time = 0, .bytes = 5 << 20,
                     .eval_loss = 5.5, .eval_accuracy = NAN};
    store_add_checkpoint(s, &ck, NULL, &e);
    store_run_end(s, r1, RUN_FINISHED, &e);
    Run spec2 = {.recipe = "seed", .corpus_bytes = -1, .corpus_lines = -1};
    store_run_begin(s, &spec2, &r2, &e);
    Trajectory t;
    traj_alloc(&t, 3, 4, 100, &e);
    for (int i = 0; i < 12; i++) t.ids[i] = (uint32_t)(10 + i), t.conf[i] = 0.5f;
    t.masked[1] = t.masked[2] = 1;
    Sample a = {.mode = SAMPLE_INFILL, .template_text = "the {1} sat", .result = "the cat sat", .sampler = "ddim",
                .steps = 3, .seed = 5, .elapsed_s = 1.5, .traj = t};
    Sample b = {.mode = SAMPLE_FREE, .result = "once upon a time\nthere was a line break", .sampler = "difflm",
                .steps = 200, .elapsed_s = NAN};
    /* 3-byte characters: a cut at 100 bytes would fall inside one. */
    char utf8[400] = "";
    for (int i = 0; i < 60; i++) strcat(utf8, "\xe2\x82\xac"); /* the euro sign */
    Sample c = {.mode = SAMPLE_FREE, .result = utf8, .time = 1, .elapsed_s = 1e300};
    store_add_sample(s, &a, NULL, &e);
    store_add_sample(s, &b, NULL, &e);
    store_add_sample(s, &c, NULL, &e);
    traj_free(&t);
    store_close(s);
}

/* Every command on a database that does not exist yet. */
static void test_empty(void) {
    int rc = run(cmd_runs, "runs --db DB");
    check_ok(rc == 0 && strstr(out, "no runs recorded yet"), "runs on a missing database: %s", out);
    rc = run(cmd_samples, "samples --db=DB");
    check_ok(rc == 0 && strstr(out, "no samples saved yet"), "samples on a missing database: %s", out);
    rc = run(cmd_history, "history 1 --db DB");
    check_ok(rc == 2 && count_lines(err) == 1 && strstr(err, "no runs recorded"), "history on a missing database: %s",
             err);
}

/* sdlm runs and sdlm history on the filled database. */
static void test_runs_history(void) {
    char line[1024], head[1024];
    int rc;
    rc = run(cmd_runs, "runs --db DB");
    check_ok(rc == 0 && count_lines(out) == 3, "runs: header and 2 rows (rc %d)", rc);
    int ok = find_line("ID", head, sizeof head) && find_line("1 ", line, sizeof line);
    check_ok(ok && strstr(line, "finished") && strstr(line, "2400") && strstr(line, "5.6000") &&
                 strstr(line, "/data/corpus.txt (2.0 MB)"),
             "runs row 1: %s", line);
    check_ok(ok && strstr(line, "tiny") - line == strstr(head, "RECIPE") - head &&
                 strstr(line, "finished") - line == strstr(head, "STATUS") - head,
             "runs columns line up under the header");
    check_ok(find_line("2 ", line, sizeof line) && strstr(line, "running") && strstr(line, " - "),
             "runs row 2 (running, no steps): %s", line);

    rc = run(cmd_history, "history 1 --db DB");
    check_ok(rc == 0 && strstr(out, "run 1: finished") && strstr(out, "{\"lr\":0.0001}") &&
                 strstr(out, "1000 lines") && strstr(out, "metrics: 25 rows"),
             "history 1: settings, config and 25 metric rows");
    check_ok(strstr(out, "checkpoints: 1") && find_line("2000 ", line, sizeof line) &&
                 strstr(line, "5.0 MB") && strstr(line, "5.5000") && strstr(line, "/ckpt/step2000.safetensors"),
             "history 1: the checkpoint row: %s", line);
    /* The metrics header is the line with GRAD_NORM; every row under it that
     * is not a skipped step is exactly as wide. */
    const char *hdr = strstr(out, "GRAD_NORM");
    while (hdr && hdr > out && hdr[-1] != '\n') hdr--;
    size_t head_len = hdr ? strcspn(hdr, "\n") : 0;
    int aligned = hdr != NULL, rows = 0;
    for (const char *p = hdr ? strchr(hdr, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
        size_t len = strcspn(p + 1, "\n");
        char row[256];
        snprintf(row, sizeof row, "%.*s", (int)len, p + 1);
        if (!strstr(row, "skipped")) aligned &= len == head_len;
        rows++;
    }
    check_ok(aligned && rows == 25, "history metrics: every row as wide as the header (%d rows)", rows);
    check_ok(find_line("300 ", line, sizeof line) && strstr(line, "skipped"), "the skipped step says so: %s", line);
    check_ok(find_line("2400 ", line, sizeof line) && strstr(line, "12m00s") && strstr(line, "1.00e-04"),
             "last metrics row: %s", line);
    rc = run(cmd_history, "history 1 --every 10 --db DB");
    check_ok(rc == 0 && strstr(out, "metrics: 4 of 25 rows") && find_line("1000 ", line, sizeof line) &&
                 find_line("2400 ", line, sizeof line),
             "history --every 10: steps 0, 1000, 2000 and the last (2400)");
    rc = run(cmd_history, "history last --db DB");
    check_ok(rc == 0 && strstr(out, "run 2: running"), "history last -> run 2");

}

/* sdlm samples: the list, --search, --limit, --show and --trace. */
static void test_samples(void) {
    char line[1024];
    int rc;
    rc = run(cmd_samples, "samples --db DB");
    check_ok(rc == 0 && count_lines(out) == 4 && find_line("2 ", line, sizeof line) &&
                 strstr(line, "once upon a time there was") && strstr(line, "sample"),
             "samples: newest first, line break flattened: %s", line);
    const char *euros = find_line("3 ", line, sizeof line) ? strstr(line, "\xe2\x82\xac") : NULL;
    const char *dots = euros ? strstr(euros, "...") : NULL;
    check_ok(dots && (dots - euros) % 3 == 0 && (dots - euros) <= 100 && !dots[3],
             "a long UTF-8 result is cut between characters (%d bytes kept)", dots ? (int)(dots - euros) : -1);
    rc = run(cmd_samples, "samples --search CAT --db DB");
    check_ok(rc == 0 && count_lines(out) == 2 && strstr(out, "the cat sat"), "samples --search CAT");
    rc = run(cmd_samples, "samples --limit 1 --db DB");
    check_ok(rc == 0 && strstr(out, "(1-1 of 3)"), "samples --limit 1 says which part: %s", out);
    rc = run(cmd_samples, "samples --show 1 --db DB");
    check_ok(rc == 0 && strstr(out, "sample 1: infill") && strstr(out, "the {1} sat") && strstr(out, "1.5s") &&
                 strstr(out, "3 steps x 4 positions") && !strstr(out, "trace:"),
             "samples --show 1");
    rc = run(cmd_samples, "samples --show 3 --db DB");
    check_ok(rc == 0 && strstr(out, "1e+300s") && strstr(out, "1970-01-01"),
             "damaged figures print without overflow (took 1e300 s, time 1 s)");
    rc = run(cmd_samples, "samples --show 1 --trace --db DB");
    check_ok(rc == 0 && strstr(out, "trace: 3 steps x 4 positions (vocab 100), 2 masked") &&
                 find_line("2  ", line, sizeof line) && strstr(line, " 19/50 20/50") && !strstr(line, " 18/"),
             "samples --trace: masked positions of the last step: %s", line);

}

static void test_mistakes(void) {
    int rc;
    /* Mistakes: one line, non-zero. */
    struct {
        int (*fn)(int, char **);
        const char *args, *want;
        int rc;
    } bad[] = {
        {cmd_history, "history 99 --db DB", "run 99 not found", 2},
        {cmd_history, "history x --db DB", "not a run id", 2},
        {cmd_history, "history 1 --every 0 --db DB", "--every", 2},
        {cmd_history, "history 1 2 --db DB", "unexpected argument", 2},
        {cmd_samples, "samples --show 77 --db DB", "sample 77 not found", 2},
        {cmd_samples, "samples --trace --db DB", "--trace needs --show", 2},
        {cmd_samples, "samples --limit -3 --db DB", "--limit", 2},
        {cmd_samples, "samples --db", "--db needs a value", 2},
        {cmd_runs, "runs --frobnicate", "unknown flag \"--frobnicate\"", 2},
        {cmd_runs, "runs --db NOTDB", "file is not a database", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = run(bad[i].fn, bad[i].args);
        check_ok(rc == bad[i].rc && count_lines(err) == 1 && strstr(err, bad[i].want) && !out[0],
                 "'%s' -> exit %d: %.*s", bad[i].args, rc, (int)strcspn(err, "\n"), err);
    }
    const char *helps[] = {"runs --help", "history --help", "samples -h"};
    int (*fns[])(int, char **) = {cmd_runs, cmd_history, cmd_samples};
    for (int i = 0; i < 3; i++) {
        rc = run(fns[i], helps[i]);
        check_ok(rc == 0 && !strncmp(out, "usage: sdlm ", 12) && strstr(out, "--db PATH"), "%s", helps[i]);
    }
}

int main(void) {
    if (!mkdtemp(dir)) return 2;
    setenv("TZ", "UTC0", 1); /* times print in local time */
    tzset();
    snprintf(db, sizeof db, "%s/h.db", dir);
    snprintf(notdb, sizeof notdb, "%s/notes.txt", dir);
    FILE *f = fopen(notdb, "w");
    fputs("plain text, not a database; long enough to be read as a header of one.............\n", f);
    fclose(f);
    test_empty();
    fill();
    test_runs_history();
    test_samples();
    test_mistakes();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) printf("# could not remove %s\n", dir);
    return check_done();
}
