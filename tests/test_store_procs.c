/* test_store_procs.c: the history database shared by processes.
 *
 * 1. Two processes write metric batches and samples into one file for two
 *    seconds while a third reads; afterwards PRAGMA integrity_check says ok and
 *    every row each writer reported is there.
 * 2. A writer is killed with SIGKILL at a random moment, 20 times over, each
 *    time continuing where the database says it stopped; after every kill the
 *    file is intact and holds exactly whole batches: a prefix of what was
 *    written, with the right values, and the killed run reads `crashed`. */
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "rng.h"
#include "store.h"

static char dir[] = "/tmp/sdlm-test-procs-XXXXXX";
static char db[600];

#define BATCH 64

static double loss_of(int64_t step) { return 10.0 / (1.0 + (double)step); }

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int integrity_ok(const char *path, char *why, size_t cap) {
    sqlite3 *h;
    sqlite3_stmt *st;
    int ok = 0;
    why[0] = 0;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(why, cap, "%s", (const char *)sqlite3_column_text(st, 0));
            ok = !strcmp(why, "ok");
        }
        sqlite3_finalize(st);
    } else {
        snprintf(why, cap, "%s", sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return ok;
}

/* Writes metric batches (steps from `from`) and one sample per batch until
 * `seconds` pass (or forever when seconds < 0). Reports counts on fd. */
static void writer(int64_t run, int64_t from, double seconds, const char *tag, int fd) {
    Store *s;
    Err e;
    if (store_open(&s, db, 0, &e)) {
        fprintf(stderr, "writer %s: %s\n", tag, e.msg);
        _exit(1);
    }
    Trajectory tr;
    traj_alloc(&tr, 8, 16, 1000, &e);
    Metric m[BATCH];
    long long batches = 0, samples = 0;
    double end = mono() + seconds;
    for (int64_t step = from; seconds < 0 || mono() < end; step += BATCH) {
        for (int i = 0; i < BATCH; i++)
            m[i] = (Metric){.step = step + i, .loss = loss_of(step + i), .wall_s = (double)(step + i)};
        if (store_add_metrics(s, run, m, BATCH, &e)) {
            fprintf(stderr, "writer %s: %s\n", tag, e.msg);
            _exit(1);
        }
        batches++;
        char result[64];
        snprintf(result, sizeof result, "%s %lld", tag, (long long)(step / BATCH));
        Sample smp = {.mode = SAMPLE_FREE, .result = result, .model = (char *)tag, .traj = tr};
        if (store_add_sample(s, &smp, NULL, &e)) {
            fprintf(stderr, "writer %s: %s\n", tag, e.msg);
            _exit(1);
        }
        samples++;
    }
    long long counts[2] = {batches, samples};
    if (fd >= 0 && write(fd, counts, sizeof counts) != sizeof counts) _exit(1);
    store_close(s);
    traj_free(&tr);
    _exit(0);
}

static int64_t count_samples(Store *s, const char *tag) {
    int64_t n = -1;
    Err e;
    char q[32];
    snprintf(q, sizeof q, "%s ", tag);
    store_count_samples(s, q, &n, &e);
    return n;
}

static void test_concurrent(void) {
    Store *s;
    Err e;
    int64_t run[2];
    Run spec = {.corpus_bytes = -1, .corpus_lines = -1};
    if (store_open(&s, db, 0, &e) || store_run_begin(s, &spec, &run[0], &e) ||
        store_run_begin(s, &spec, &run[1], &e)) {
        check_ok(0, "setup: %s", e.msg);
        return;
    }
    store_close(s);
    const char *tags[2] = {"alpha", "beta"};
    int fds[2][2];
    pid_t pid[2];
    for (int k = 0; k < 2; k++) {
        if (pipe(fds[k])) return;
        pid[k] = fork();
        if (pid[k] == 0) {
            close(fds[k][0]);
            writer(run[k], 0, 2.0, tags[k], fds[k][1]);
        }
        close(fds[k][1]);
    }
    /* Read while they write. */
    int reads = 0, read_errors = 0;
    if (store_open(&s, db, 1, &e) == 0) {
        double end = mono() + 1.8;
        while (mono() < end) {
            Run *rv;
            Sample *sv;
            int n;
            if (store_list_runs(s, &rv, &n, &e) == 0) runs_free(rv, n);
            else read_errors++;
            if (store_list_samples(s, "alpha", 20, 0, &sv, &n, &e) == 0) samples_free(sv, n);
            else read_errors++;
            reads++;
        }
        store_close(s);
    } else {
        read_errors++;
    }
    long long counts[2][2] = {{0}};
    for (int k = 0; k < 2; k++) {
        int status;
        ssize_t got = read(fds[k][0], counts[k], sizeof counts[k]);
        close(fds[k][0]);
        waitpid(pid[k], &status, 0);
        check_ok(got == sizeof counts[k] && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "writer %s finished: %lld batches, %lld samples in 2 s", tags[k], counts[k][0], counts[k][1]);
    }
    check_ok(read_errors == 0 && reads > 0, "a reader ran %d rounds alongside, %d errors", reads, read_errors);
    char why[256];
    check_ok(integrity_ok(db, why, sizeof why), "integrity_check after concurrent writers: %s", why);
    if (store_open(&s, db, 0, &e)) {
        check_ok(0, "reopen: %s", e.msg);
        return;
    }
    for (int k = 0; k < 2; k++) {
        Metric *m;
        int n;
        int rc = store_run_metrics(s, run[k], 1, &m, &n, &e);
        int ok = rc == 0 && n == counts[k][0] * BATCH;
        for (int i = 0; ok && i < n; i++) ok = m[i].step == i && m[i].loss == loss_of(i);
        check_ok(ok && counts[k][0] > 0, "every metric row of %s is there (%d of %lld)", tags[k], n,
                 counts[k][0] * BATCH);
        if (!rc) free(m);
        int64_t ns = count_samples(s, tags[k]);
        check_ok(ns == counts[k][1], "every sample of %s is there (%lld of %lld)", tags[k], (long long)ns,
                 counts[k][1]);
    }
    store_close(s);
}

static void test_kill9(void) {
    Store *s;
    Err e;
    int64_t run;
    Run spec = {.recipe = "kill9", .corpus_bytes = -1, .corpus_lines = -1};
    if (store_open(&s, db, 0, &e) || store_run_begin(s, &spec, &run, &e)) {
        check_ok(0, "setup: %s", e.msg);
        return;
    }
    store_close(s);
    Rng rng;
    rng_seed(&rng, 9);
    int bad = 0, grew = 0, crashed = 0;
    int64_t prev_rows = 0;
    char why[256] = "";
    for (int iter = 0; iter < 20; iter++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* Continue where the database says we are, like a resumed run. */
            Store *c;
            Err ce;
            Run r;
            if (store_open(&c, db, 0, &ce) || store_run_resume(c, run, &ce) || store_get_run(c, run, &r, &ce))
                _exit(1);
            int64_t next = r.last_step + 1;
            run_free(&r);
            store_close(c);
            writer(run, next, -1, "kill9", -1);
        }
        usleep((useconds_t)(20000 + rng_below(&rng, 180000))); /* 20..200 ms */
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            bad++;
            printf("# iteration %d: the writer exited on its own (status %d)\n", iter, status);
            continue;
        }
        if (!integrity_ok(db, why, sizeof why)) {
            bad++;
            printf("# iteration %d: integrity_check: %s\n", iter, why);
            continue;
        }
        if (store_open(&s, db, 0, &e)) {
            bad++;
            printf("# iteration %d: open: %s\n", iter, e.msg);
            continue;
        }
        Metric *m;
        int n;
        Run r;
        int ok = store_run_metrics(s, run, 1, &m, &n, &e) == 0 && n % BATCH == 0;
        for (int i = 0; ok && i < n; i++) ok = m[i].step == i && m[i].loss == loss_of(i) && m[i].wall_s == i;
        if (n) free(m);
        int64_t ns = count_samples(s, "kill9");
        /* A sample follows its batch in a separate transaction: each kill may
         * fall between the two and lose that batch's sample for good. */
        ok = ok && ns <= n / BATCH && ns >= n / BATCH - (iter + 1);
        if (!ok) {
            bad++;
            printf("# iteration %d: %d metric rows, %lld samples: not whole batches in order\n", iter, n,
                   (long long)ns);
        }
        if (n > prev_rows) grew++;
        prev_rows = n;
        if (store_get_run(s, run, &r, &e) == 0) {
            crashed += r.status == RUN_CRASHED;
            run_free(&r);
        }
        store_close(s);
    }
    check_ok(bad == 0, "20 SIGKILLs of a writer: integrity ok and whole batches in order every time (%d bad)", bad);
    check_ok(grew >= 10, "the writer made progress between kills in %d of 20 rounds (%lld rows in all)", grew,
             (long long)prev_rows);
    check_ok(crashed == 20, "the killed run read crashed after every kill (%d of 20)", crashed);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(db, sizeof db, "%s/shared.db", dir);
    test_concurrent();
    snprintf(db, sizeof db, "%s/kill9.db", dir);
    test_kill9();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return check_done();
}
