/* test_store.c: the history database, one process: create, migrate from a
 * hand-made v1 file, every API round trip, search, stale runs, read-only and
 * locked databases, files that are not databases. Several processes (and
 * kill -9) are in test_store_procs.c. */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store.h"

static char dir[] = "/tmp/sdlm-test-store-XXXXXX";

static const char *tmp(const char *name) {
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static void raw_exec(const char *path, const char *sql) {
    sqlite3 *db;
    char *msg = NULL;
    sqlite3_open(path, &db);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) check_ok(0, "raw sql on %s: %s", path, msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -999;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *path, const char *sql, char *out, size_t cap) {
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = 0;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static Trajectory small_traj(int S, int L, uint32_t V) {
    Trajectory t;
    Err e;
    traj_alloc(&t, S, L, V, &e);
    for (int s = 0; s < S; s++) {
        t.t[s] = 1.0f - (float)s / S;
        for (int i = 0; i < L; i++) {
            t.ids[s * L + i] = (uint32_t)((s * 7919u + i * 104729u) % V);
            t.conf[s * L + i] = (float)i / L;
        }
    }
    t.masked[L / 2] = 1;
    return t;
}

/* The v1 schema exactly as sdlm 0.1 shipped it: a migration test must not
 * borrow the DDL from the code under test. */
static const char v1_ddl[] =
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, created REAL NOT NULL, started REAL, ended REAL,"
    " status TEXT NOT NULL DEFAULT 'running'"
    "  CHECK (status IN ('running','finished','stopped','failed','crashed')),"
    " config TEXT NOT NULL DEFAULT '{}', recipe TEXT, corpus_path TEXT, corpus_bytes INTEGER,"
    " corpus_lines INTEGER, tokenizer_path TEXT, checkpoint_path TEXT, seed INTEGER,"
    " ranks INTEGER NOT NULL DEFAULT 1, notes TEXT, pid INTEGER, pid_start INTEGER, host TEXT,"
    " heartbeat REAL);"
    "CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " step INTEGER NOT NULL, epoch INTEGER, loss REAL, mse REAL, ce REAL, accuracy REAL, lr REAL,"
    " grad_norm REAL, tokens_per_s REAL, wall_s REAL, skipped INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (run_id, step)) WITHOUT ROWID;"
    "CREATE TABLE checkpoints (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id) ON DELETE"
    " CASCADE, step INTEGER NOT NULL, path TEXT NOT NULL, time REAL NOT NULL, bytes INTEGER,"
    " eval_loss REAL, eval_accuracy REAL);"
    "CREATE INDEX checkpoints_run ON checkpoints(run_id, step);"
    "CREATE TABLE samples (id INTEGER PRIMARY KEY, time REAL NOT NULL,"
    " mode TEXT NOT NULL CHECK (mode IN ('infill','sample')), template TEXT, result TEXT,"
    " candidate INTEGER NOT NULL DEFAULT 0, sampler TEXT, steps INTEGER, seed INTEGER,"
    " clamp INTEGER NOT NULL DEFAULT 0, checkpoint_path TEXT, model TEXT, trajectory BLOB);"
    "PRAGMA user_version = 1;";

static void test_create(void) {
    Store *s;
    Err e;
    const char *p = tmp("new.db");
    int rc = store_open(&s, p, 0, &e);
    check_ok(rc == 0, "create a new database %s", rc ? e.msg : "");
    if (rc) return;
    check_ok(store_schema_version(s) == STORE_SCHEMA_VERSION && !store_readonly(s), "new database is v%d, writable",
             STORE_SCHEMA_VERSION);
    store_close(s);
    char mode[32];
    raw_text(p, "PRAGMA journal_mode", mode, sizeof mode);
    check_ok(!strcmp(mode, "wal"), "journal_mode is wal (got %s)", mode);
    check_ok(raw_int(p, "PRAGMA user_version") == STORE_SCHEMA_VERSION, "user_version on disk is %d",
             STORE_SCHEMA_VERSION);
    check_ok(raw_int(p, "SELECT count(*) FROM sqlite_master WHERE name = 'samples_time'") == 1,
             "v2 index samples_time exists");
    /* Opening again changes nothing. */
    rc = store_open(&s, p, 0, &e);
    check_ok(rc == 0 && store_schema_version(s) == STORE_SCHEMA_VERSION, "reopen %s", rc ? e.msg : "");
    if (!rc) store_close(s);
}

static void test_migrate_v1(void) {
    const char *p = tmp("v1.db");
    raw_exec(p, v1_ddl);
    raw_exec(p, "INSERT INTO runs (id, created, status, recipe, host) VALUES (1, 1700000000, 'finished', 'tiny', 'h');"
                "INSERT INTO metrics (run_id, step, loss) VALUES (1, 0, 5.5), (1, 1, 5.25);"
                "INSERT INTO samples (time, mode, template, result) VALUES (1700000001, 'infill', 'a {1} c', 'a b c');");
    check_ok(raw_int(p, "PRAGMA user_version") == 1, "hand-made database is v1");
    Store *s;
    Err e;
    int rc = store_open(&s, p, 1, &e);
    check_ok(rc == -1 && strstr(e.msg, "needs upgrading") && strstr(e.msg, p),
             "a v1 file opened read-only says it needs upgrading: %s", e.msg);
    rc = store_open(&s, p, 0, &e);
    check_ok(rc == 0, "open migrates v1 -> v%d %s", STORE_SCHEMA_VERSION, rc ? e.msg : "");
    if (rc) return;
    check_ok(raw_int(p, "PRAGMA user_version") == STORE_SCHEMA_VERSION, "user_version is now %d", STORE_SCHEMA_VERSION);
    check_ok(raw_int(p, "SELECT count(*) FROM pragma_table_info('samples') WHERE name = 'elapsed_s'") == 1,
             "samples.elapsed_s added");
    check_ok(raw_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN ('samples_time','checkpoints_path')") == 2,
             "v2 indexes added");
    Sample *v;
    int n;
    rc = store_list_samples(s, NULL, 10, 0, &v, &n, &e);
    check_ok(rc == 0 && n == 1 && !strcmp(v[0].result, "a b c") && isnan(v[0].elapsed_s) && v[0].traj.steps == 0,
             "old sample survives, elapsed unknown %s", rc ? e.msg : "");
    if (!rc) samples_free(v, n);
    Run r;
    rc = store_get_run(s, 1, &r, &e);
    check_ok(rc == 0 && r.status == RUN_FINISHED && r.n_metrics == 2 && r.last_step == 1 && r.last_loss == 5.25,
             "old run and metrics survive %s", rc ? e.msg : "");
    if (!rc) run_free(&r);
    Sample add = {.mode = SAMPLE_FREE, .result = "new", .elapsed_s = 1.5};
    int64_t id;
    rc = store_add_sample(s, &add, &id, &e);
    Sample got;
    if (!rc) rc = store_get_sample(s, id, &got, &e);
    check_ok(rc == 0 && got.elapsed_s == 1.5 && got.mode == SAMPLE_FREE, "new column round-trips %s", rc ? e.msg : "");
    if (!rc) sample_free(&got);
    store_close(s);

    /* A failed migration leaves v1 intact: make step v1->v2 collide. */
    const char *q = tmp("v1-broken.db");
    raw_exec(q, v1_ddl);
    raw_exec(q, "CREATE TABLE samples_time_blocker (x); CREATE INDEX samples_time ON samples_time_blocker(x);");
    rc = store_open(&s, q, 0, &e);
    check_ok(rc == -1 && strstr(e.msg, "migrating the history schema from v1 to v2"),
             "a failing migration step reports itself: %s", e.msg);
    check_ok(raw_int(q, "PRAGMA user_version") == 1 &&
                 raw_int(q, "SELECT count(*) FROM pragma_table_info('samples') WHERE name = 'elapsed_s'") == 0,
             "and rolls back: still v1, no half-added column");
}

static void test_bad_files(void) {
    Store *s;
    Err e;
    const char *p = tmp("notes.txt");
    write_file(p, "these are my notes, not a database, but long enough to look like a header of one........\n");
    int rc = store_open(&s, p, 0, &e);
    check_ok(rc == -1 && strstr(e.msg, "file is not a database") && strstr(e.msg, p), "text file: %s", e.msg);
    const char *q = tmp("newer.db");
    raw_exec(q, "PRAGMA user_version = 99");
    rc = store_open(&s, q, 0, &e);
    check_ok(rc == -1 && strstr(e.msg, "newer than this sdlm"), "schema from the future: %s", e.msg);
    const char *f = tmp("foreign.db");
    raw_exec(f, "CREATE TABLE photos (id)");
    rc = store_open(&s, f, 0, &e);
    check_ok(rc == -1 && strstr(e.msg, "not an sdlm database"), "someone else's database: %s", e.msg);
    check_ok(raw_int(f, "SELECT count(*) FROM sqlite_master") == 1, "and it is left untouched");
    rc = store_open(&s, tmp("no/such/dir/x.db"), 0, &e);
    check_ok(rc == -1 && strstr(e.msg, "unable to open"), "missing directory: %s", e.msg);
    rc = store_open(&s, tmp("absent.db"), 1, &e);
    check_ok(rc == -1 && strstr(e.msg, "absent.db"), "read-only open of a missing file: %s", e.msg);
}

static void test_runs_metrics_checkpoints(void) {
    Store *s;
    Err e;
    if (store_open(&s, tmp("api.db"), 0, &e)) {
        check_ok(0, "open: %s", e.msg);
        return;
    }
    Run spec = {.config = "{\"lr\":0.0001,\"L\":64}", .recipe = "tiny", .corpus_path = "/data/c.txt",
                .corpus_bytes = 12345, .corpus_lines = 99, .tokenizer_path = "/data/t.model",
                .seed = 0xfedcba9876543210ull, .ranks = 2, .notes = "first try"};
    int64_t run = 0, run2 = 0;
    int rc = store_run_begin(s, &spec, &run, &e);
    check_ok(rc == 0 && run > 0, "run_begin gives id %lld %s", (long long)run, rc ? e.msg : "");
    Run r;
    rc = store_get_run(s, run, &r, &e);
    check_ok(rc == 0 && r.status == RUN_RUNNING && !strcmp(r.config, spec.config) && !strcmp(r.recipe, "tiny") &&
                 r.corpus_bytes == 12345 && r.corpus_lines == 99 && r.seed == spec.seed && r.ranks == 2 &&
                 !strcmp(r.notes, "first try") && r.pid == getpid() && isnan(r.ended) && r.created > 1.6e9 &&
                 r.n_metrics == 0 && r.last_step == -1 && isnan(r.last_loss),
             "run round trip (64-bit seed, config JSON, pid) %s", rc ? e.msg : "");
    if (!rc) run_free(&r);

    Metric m[100];
    for (int i = 0; i < 100; i++)
        m[i] = (Metric){.step = i, .epoch = i / 50, .loss = 10.0 - i * 0.05, .mse = 1, .ce = 2, .accuracy = i / 100.0,
                        .lr = 1e-4, .grad_norm = 0.5, .tokens_per_s = 5000, .wall_s = i * 0.1};
    m[37].loss = NAN;
    m[37].skipped = 1;
    rc = store_add_metrics(s, run, m, 100, &e);
    check_ok(rc == 0, "add 100 metrics in one batch %s", rc ? e.msg : "");
    Metric *got;
    int n;
    rc = store_run_metrics(s, run, 1, &got, &n, &e);
    int same = rc == 0 && n == 100;
    for (int i = 0; same && i < 100; i++)
        same = got[i].step == i && got[i].epoch == i / 50 && got[i].skipped == (i == 37) &&
               (i == 37 ? isnan(got[i].loss) : got[i].loss == m[i].loss) && got[i].wall_s == m[i].wall_s &&
               got[i].accuracy == m[i].accuracy;
    check_ok(same, "metrics round trip, NaN loss of the skipped step reads NaN");
    if (!rc) free(got);
    rc = store_run_metrics(s, run, 10, &got, &n, &e);
    same = rc == 0 && n == 11;
    for (int i = 0; same && i < 10; i++) same = got[i].step == i * 10;
    check_ok(same && got[10].step == 99, "every 10th row plus the last: %d rows, last step %lld", n,
             n ? (long long)got[n - 1].step : -1LL);
    if (!rc) free(got);
    rc = store_run_metrics(s, run, 3, &got, &n, &e);
    check_ok(rc == 0 && n == 34 && got[33].step == 99, "every 3rd: 34 rows ending at step 99 (last is on the stride)");
    if (!rc) free(got);
    Metric again = {.step = 99, .loss = 1.25};
    rc = store_add_metrics(s, run, &again, 1, &e);
    rc |= store_run_metrics(s, run, 1, &got, &n, &e);
    check_ok(rc == 0 && n == 100 && got[99].loss == 1.25, "a step logged again replaces the row (resume)");
    if (!rc) free(got);
    rc = store_run_metrics(s, 12345, 1, &got, &n, &e);
    check_ok(rc == 0 && n == 0 && got == NULL, "metrics of an unknown run: none");
    rc = store_add_metrics(s, 12345, m, 2, &e);
    check_ok(rc == -1 && strstr(e.msg, "FOREIGN KEY"), "metrics for an unknown run are refused: %s", e.msg);

    /* Checkpoints: files that exist, newest wins, a deleted file is skipped. */
    const char *c1 = tmp("ckpt-500.safetensors"), *c2 = tmp("ckpt-1000.safetensors");
    write_file(c1, "x");
    write_file(c2, "y");
    CkptRecord ck1 = {.run_id = run, .step = 500, .path = (char *)c1, .time = 1000, .bytes = 1,
                      .eval_loss = NAN, .eval_accuracy = NAN};
    CkptRecord ck2 = {.run_id = run, .step = 1000, .path = (char *)c2, .time = 2000, .bytes = 1,
                      .eval_loss = 3.5, .eval_accuracy = 0.25};
    int64_t cid;
    rc = store_add_checkpoint(s, &ck2, &cid, &e);
    if (!rc) rc = store_add_checkpoint(s, &ck1, &cid, &e);
    check_ok(rc == 0, "add checkpoints %s", rc ? e.msg : "");
    CkptRecord *cv;
    rc = store_list_checkpoints(s, run, &cv, &n, &e);
    check_ok(rc == 0 && n == 2 && cv[0].step == 500 && isnan(cv[0].eval_loss) && cv[1].eval_loss == 3.5 &&
                 cv[1].eval_accuracy == 0.25 && !strcmp(cv[1].path, c2),
             "list checkpoints by step, eval figures optional");
    if (!rc) checkpoints_free(cv, n);
    char *newest;
    rc = store_newest_checkpoint(s, &newest, &e);
    check_ok(rc == 0 && newest && !strcmp(newest, c2), "newest checkpoint is the step-1000 file (%s)",
             newest ? newest : "none");
    free(newest);
    unlink(c2);
    rc = store_newest_checkpoint(s, &newest, &e);
    check_ok(rc == 0 && newest && !strcmp(newest, c1), "with it deleted, the older file that exists (%s)",
             newest ? newest : "none");
    free(newest);

    /* Resume: find the run by its checkpoint, also through another spelling of the path. */
    int64_t found;
    char other[600];
    snprintf(other, sizeof other, "%s/./ckpt-500.safetensors", dir);
    rc = store_run_resume_find(s, other, &found, &e);
    check_ok(rc == 0 && found == run, "resume_find by checkpoint path (%s) -> run %lld", other, (long long)found);
    rc = store_run_resume_find(s, "/nowhere.safetensors", &found, &e);
    check_ok(rc == 0 && found == 0, "resume_find of an unknown checkpoint -> 0");
    rc = store_run_end(s, run, RUN_STOPPED, &e);
    rc |= store_get_run(s, run, &r, &e);
    check_ok(rc == 0 && r.status == RUN_STOPPED && r.ended >= r.started && r.n_checkpoints == 2 &&
                 !strcmp(r.checkpoint_path, c1),
             "run_end(stopped); latest checkpoint recorded on the run %s", rc ? e.msg : "");
    if (!rc) run_free(&r);
    rc = store_run_resume(s, run, &e);
    rc |= store_get_run(s, run, &r, &e);
    check_ok(rc == 0 && r.status == RUN_RUNNING && isnan(r.ended), "run_resume: running again");
    if (!rc) run_free(&r);
    rc = store_run_end(s, run, RUN_RUNNING, &e);
    check_ok(rc == -1, "run_end(running) is refused: %s", e.msg);
    rc = store_run_end(s, 999, RUN_FINISHED, &e);
    check_ok(rc == -1 && strstr(e.msg, "run 999 not found"), "ending an unknown run: %s", e.msg);
    rc = store_run_heartbeat(s, run, &e);
    check_ok(rc == 0, "heartbeat %s", rc ? e.msg : "");
    Run spec2 = {.recipe = "seed", .corpus_bytes = -1, .corpus_lines = -1};
    rc = store_run_begin(s, &spec2, &run2, &e);
    store_run_end(s, run2, RUN_FINISHED, &e);
    Run *rv;
    rc |= store_list_runs(s, &rv, &n, &e);
    check_ok(rc == 0 && n == 2 && rv[0].id == run2 && rv[1].id == run && !strcmp(rv[0].config, "{}") &&
                 rv[0].corpus_bytes == -1 && rv[1].n_metrics == 100 && rv[1].last_step == 99 && rv[1].last_loss == 1.25,
             "list_runs newest first with summaries");
    if (!rc) runs_free(rv, n);
    rc = store_get_run(s, 777, &r, &e);
    check_ok(rc == -1 && strstr(e.msg, "run 777 not found") && strstr(e.msg, "api.db"), "unknown run: %s", e.msg);
    store_close(s);
}

static void test_samples(void) {
    Store *s;
    Err e;
    if (store_open(&s, tmp("samples.db"), 0, &e)) {
        check_ok(0, "open: %s", e.msg);
        return;
    }
    const char *texts[][2] = {
        {"The {1} sat on the mat", "The cat sat on the mat"},
        {"A {1} of tea", "A cup of tea"},
        {"100% {1}", "100% sure"},
        {"snake_case {1}", "snake_case names"},
        {NULL, "Once upon a time a CAT"},
    };
    int64_t ids[5];
    Trajectory t16 = small_traj(4, 6, 32000), t32 = small_traj(3, 5, 250000);
    int rc = 0;
    for (int i = 0; i < 5; i++) {
        Sample smp = {.time = 1000 + i, .mode = texts[i][0] ? SAMPLE_INFILL : SAMPLE_FREE,
                      .template_text = (char *)texts[i][0], .result = (char *)texts[i][1], .candidate = i % 2,
                      .sampler = "ddim", .steps = 200, .seed = 1234567890123ull + i, .clamp = i % 2,
                      .checkpoint_path = "/m/ckpt.safetensors", .model = "tiny 4L 256D", .elapsed_s = NAN};
        if (i == 0) smp.traj = t16;
        if (i == 4) smp.traj = t32;
        rc |= store_add_sample(s, &smp, &ids[i], &e);
    }
    check_ok(rc == 0, "add 5 samples %s", rc ? e.msg : "");
    Sample *v;
    int n;
    rc = store_list_samples(s, NULL, 0, 0, &v, &n, &e);
    check_ok(rc == 0 && n == 5 && v[0].id == ids[4] && v[4].id == ids[0] && v[0].traj.steps == 0,
             "list all: newest first, no trajectories loaded");
    if (!rc) samples_free(v, n);
    rc = store_list_samples(s, "cat", 10, 0, &v, &n, &e);
    check_ok(rc == 0 && n == 2 && v[0].id == ids[4] && v[1].id == ids[0], "search 'cat' finds template or result, any case");
    if (!rc) samples_free(v, n);
    rc = store_list_samples(s, "%", 10, 0, &v, &n, &e);
    check_ok(rc == 0 && n == 1 && v[0].id == ids[2], "search '%%' is literal (1 hit, got %d)", n);
    if (!rc) samples_free(v, n);
    rc = store_list_samples(s, "e_c", 10, 0, &v, &n, &e);
    check_ok(rc == 0 && n == 1 && v[0].id == ids[3], "search 'e_c' is literal (1 hit, got %d)", n);
    if (!rc) samples_free(v, n);
    rc = store_list_samples(s, NULL, 2, 1, &v, &n, &e);
    check_ok(rc == 0 && n == 2 && v[0].id == ids[3] && v[1].id == ids[2], "limit 2 offset 1");
    if (!rc) samples_free(v, n);
    int64_t cnt;
    rc = store_count_samples(s, "CAT", &cnt, &e);
    check_ok(rc == 0 && cnt == 2, "count 'CAT' = 2 (got %lld)", (long long)cnt);

    Sample got;
    rc = store_get_sample(s, ids[0], &got, &e);
    int ok = rc == 0 && got.mode == SAMPLE_INFILL && !strcmp(got.template_text, texts[0][0]) &&
             !strcmp(got.result, texts[0][1]) && got.candidate == 0 && !strcmp(got.sampler, "ddim") &&
             got.steps == 200 && got.seed == 1234567890123ull && got.clamp == 0 &&
             !strcmp(got.model, "tiny 4L 256D") && isnan(got.elapsed_s) && got.time == 1000;
    check_ok(ok, "get_sample fields %s", rc ? e.msg : "");
    ok = rc == 0 && got.traj.steps == 4 && got.traj.len == 6 && got.traj.vocab == 32000 &&
         !memcmp(got.traj.ids, t16.ids, 24 * sizeof(uint32_t)) && got.traj.masked[3] == 1 && got.traj.t[2] == t16.t[2] &&
         fabsf(got.traj.conf[5] - t16.conf[5]) <= 0.5f / 255 + 1e-6f;
    check_ok(ok, "trajectory with uint16 ids round trips through the database");
    if (!rc) sample_free(&got);
    rc = store_get_sample(s, ids[4], &got, &e);
    ok = rc == 0 && got.mode == SAMPLE_FREE && got.template_text == NULL && got.traj.vocab == 250000 &&
         !memcmp(got.traj.ids, t32.ids, 15 * sizeof(uint32_t)) && got.clamp == 0;
    check_ok(ok, "trajectory with uint32 ids (V=250000) round trips; NULL template stays NULL");
    if (!rc) sample_free(&got);
    rc = store_get_sample(s, 424242, &got, &e);
    check_ok(rc == -1 && strstr(e.msg, "sample 424242 not found"), "unknown sample: %s", e.msg);

    /* An invalid trajectory is refused on write, and a damaged blob on read. */
    Sample bad = {.mode = SAMPLE_INFILL, .result = "x", .traj = t16};
    t16.ids[0] = 40000;
    rc = store_add_sample(s, &bad, NULL, &e);
    check_ok(rc == -1 && strstr(e.msg, "not below vocab"), "a bad trajectory is not stored: %s", e.msg);
    t16.ids[0] = 0;
    store_close(s);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE samples SET trajectory = substr(trajectory, 1, 30) WHERE id = %lld",
             (long long)ids[0]);
    raw_exec(tmp("samples.db"), sql);
    rc = store_open(&s, tmp("samples.db"), 0, &e);
    check_ok(rc == 0, "a file with a truncated blob opens: %s", rc ? e.msg : "ok");
    if (!rc) {
        rc = store_get_sample(s, ids[0], &got, &e);
        check_ok(rc == -1 && strstr(e.msg, "trajectory blob") && strstr(e.msg, "samples.db") && got.result == NULL,
                 "a truncated blob in the file: %s", e.msg);
        store_close(s);
    }
    /* a row that breaks the schema's CHECK is damage the open's quick_check finds: the file is refused */
    snprintf(sql, sizeof sql, "UPDATE samples SET mode = 'dream' WHERE id = %lld", (long long)ids[1]);
    sqlite3 *db;
    sqlite3_open(tmp("samples.db"), &db);
    sqlite3_exec(db, "PRAGMA ignore_check_constraints = ON", 0, 0, 0);
    sqlite3_exec(db, sql, 0, 0, 0);
    sqlite3_close(db);
    rc = store_open(&s, tmp("samples.db"), 0, &e);
    check_ok(rc == -1 && strstr(e.msg, "samples.db"), "an unknown mode in the file: refused at open: %s", e.msg);
    if (!rc) store_close(s);
    traj_free(&t16);
    traj_free(&t32);
}

static void test_stale_runs(void) {
    const char *p = tmp("stale.db");
    Store *s;
    Err e;
    int64_t mine = 0, dead = 0, remote_old = 0, remote_new = 0;
    if (store_open(&s, p, 0, &e)) {
        check_ok(0, "open: %s", e.msg);
        return;
    }
    Run spec = {.recipe = "tiny", .corpus_bytes = -1, .corpus_lines = -1};
    store_run_begin(s, &spec, &mine, &e);
    store_run_begin(s, &spec, &remote_old, &e);
    store_run_begin(s, &spec, &remote_new, &e);
    store_close(s);
    /* A child process starts a run and dies without ending it. */
    pid_t pid = fork();
    if (pid == 0) {
        Store *c;
        Err ce;
        int64_t id;
        if (store_open(&c, p, 0, &ce) || store_run_begin(c, &spec, &id, &ce)) _exit(1);
        _exit(0); /* no store_run_end, no store_close */
    }
    int status;
    waitpid(pid, &status, 0);
    check_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child started a run and exited");
    dead = remote_new + 1;
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE runs SET host = 'elsewhere', heartbeat = %f WHERE id = %lld;"
             "UPDATE runs SET host = 'elsewhere', heartbeat = %f WHERE id = %lld;",
             (double)time(NULL) - 2 * STORE_REMOTE_STALE_S, (long long)remote_old, (double)time(NULL) - 10.0,
             (long long)remote_new);
    raw_exec(p, sql);
    /* Read-only: not written, but reads already tell the truth. */
    int rc = store_open(&s, p, 1, &e);
    Run r;
    rc |= store_get_run(s, dead, &r, &e);
    check_ok(rc == 0 && r.status == RUN_CRASHED, "read-only: the dead child's run reads crashed");
    if (!rc) run_free(&r);
    store_close(s);
    snprintf(sql, sizeof sql, "SELECT status FROM runs WHERE id = %lld", (long long)dead);
    char st[32];
    raw_text(p, sql, st, sizeof st);
    check_ok(!strcmp(st, "running"), "read-only open left the row alone (%s)", st);

    rc = store_open(&s, p, 0, &e);
    check_ok(rc == 0, "open read-write %s", rc ? e.msg : "");
    if (rc) return;
    raw_text(p, sql, st, sizeof st);
    check_ok(!strcmp(st, "crashed"), "open marked the dead child's run crashed on disk (%s)", st);
    const int64_t want_ids[] = {mine, remote_old, remote_new};
    const RunStatus want[] = {RUN_RUNNING, RUN_CRASHED, RUN_RUNNING};
    const char *what[] = {"this process's run stays running", "another host's run silent for 2 h is crashed",
                          "another host's run with a fresh heartbeat stays running"};
    for (int i = 0; i < 3; i++) {
        rc = store_get_run(s, want_ids[i], &r, &e);
        check_ok(rc == 0 && r.status == want[i], "%s (%s)", what[i], rc ? e.msg : run_status_name(r.status));
        if (!rc) run_free(&r);
    }
    rc = store_run_heartbeat(s, remote_old, &e);
    rc |= store_get_run(s, remote_old, &r, &e);
    check_ok(rc == 0 && r.status == RUN_RUNNING, "a heartbeat revives a run marked crashed by mistake");
    if (!rc) run_free(&r);
    int marked = -1;
    rc = store_mark_stale_runs(s, &marked, &e);
    check_ok(rc == 0 && marked == 0, "nothing left to mark (%d)", marked);
    store_close(s);
}

static void check_readonly_store(Store *s, const char *what) {
    Err e;
    Run *rv;
    int n;
    int rc = store_list_runs(s, &rv, &n, &e);
    check_ok(rc == 0 && n == 1 && store_readonly(s), "%s: reads work, store_readonly() = 1", what);
    if (!rc) runs_free(rv, n);
    Run spec = {.corpus_bytes = -1, .corpus_lines = -1};
    int64_t id;
    Metric m = {.step = 1};
    Sample smp = {.mode = SAMPLE_FREE, .result = "x"};
    rc = store_run_begin(s, &spec, &id, &e);
    check_ok(rc == -1 && strstr(e.msg, "attempt to write a readonly database") && strstr(e.msg, "ro.db"),
             "%s: run_begin fails: %s", what, e.msg);
    rc = store_add_metrics(s, 1, &m, 1, &e);
    check_ok(rc == -1 && strstr(e.msg, "readonly"), "%s: add_metrics fails: %s", what, e.msg);
    rc = store_add_sample(s, &smp, &id, &e);
    check_ok(rc == -1 && strstr(e.msg, "readonly"), "%s: add_sample fails: %s", what, e.msg);
}

static void test_readonly(void) {
    const char *p = tmp("ro.db");
    Store *s;
    Err e;
    int64_t id;
    Run spec = {.corpus_bytes = -1, .corpus_lines = -1};
    if (store_open(&s, p, 0, &e) || store_run_begin(s, &spec, &id, &e) || store_run_end(s, id, RUN_FINISHED, &e)) {
        check_ok(0, "setup: %s", e.msg);
        return;
    }
    store_close(s);
    int rc = store_open(&s, p, 1, &e);
    check_ok(rc == 0, "open with readonly=1 %s", rc ? e.msg : "");
    if (!rc) {
        check_readonly_store(s, "readonly=1");
        store_close(s);
    }
    /* A file without write permission. Root ignores permissions, so as root
     * this part runs in a child that has become nobody. */
    chmod(p, 0444);
    chmod(dir, 0777);
    pid_t pid = fork();
    if (pid == 0) {
        int fails_before = check_fails;
        if (geteuid() == 0 && (setgid(65534) || setuid(65534))) _exit(3);
        if (store_open(&s, p, 0, &e)) {
            printf("not ok - chmod 0444 file opens: %s\n", e.msg);
            _exit(1);
        }
        check_readonly_store(s, "chmod 0444 file, readonly=0");
        store_close(s);
        fflush(stdout);
        _exit(check_fails > fails_before ? 1 : 0);
    }
    int status;
    fflush(stdout);
    waitpid(pid, &status, 0);
    check_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chmod 0444 child (uid %s) exit status %d",
             geteuid() == 0 ? "nobody" : "self", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    chmod(dir, 0700);
    chmod(p, 0644);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_locked(void) {
    const char *p = tmp("locked.db");
    Store *s;
    Err e;
    int64_t run;
    Run spec = {.corpus_bytes = -1, .corpus_lines = -1};
    if (store_open(&s, p, 0, &e) || store_run_begin(s, &spec, &run, &e)) {
        check_ok(0, "setup: %s", e.msg);
        return;
    }
    store_set_busy_timeout(s, 300);
    sqlite3 *other;
    sqlite3_open(p, &other);
    int rc = sqlite3_exec(other, "BEGIN IMMEDIATE", 0, 0, 0);
    check_ok(rc == SQLITE_OK, "another connection holds BEGIN IMMEDIATE");
    Metric m = {.step = 1, .loss = 2};
    double t0 = now_s();
    rc = store_add_metrics(s, run, &m, 1, &e);
    double waited = now_s() - t0;
    check_ok(rc == -1 && strstr(e.msg, "database is locked (another sdlm is writing?)") && strstr(e.msg, "locked.db"),
             "add_metrics: %s", e.msg);
    check_ok(waited >= 0.25 && waited < 3, "it waited for the busy timeout first (%.2f s)", waited);
    Sample smp = {.mode = SAMPLE_FREE, .result = "x"};
    rc = store_add_sample(s, &smp, NULL, &e);
    check_ok(rc == -1 && strstr(e.msg, "database is locked"), "add_sample: %s", e.msg);
    Metric *got;
    int n;
    rc = store_run_metrics(s, run, 1, &got, &n, &e);
    check_ok(rc == 0 && n == 0, "reads still work while another writes (WAL)");
    sqlite3_exec(other, "COMMIT", 0, 0, 0);
    sqlite3_close(other);
    rc = store_add_metrics(s, run, &m, 1, &e);
    check_ok(rc == 0, "after the other commits, writing works %s", rc ? e.msg : "");
    store_close(s);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_create();
    test_migrate_v1();
    test_bad_files();
    test_runs_metrics_checkpoints();
    test_samples();
    test_stale_runs();
    test_readonly();
    test_locked();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return check_done();
}
