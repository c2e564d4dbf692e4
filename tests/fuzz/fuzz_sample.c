/* fuzz_sample.c: libFuzzer harness for what the history reads back.
 *
 * Every input is first decoded as a trajectory blob; a blob that decodes must
 * re-encode to the same bytes (the format has one spelling per trajectory).
 *
 * An input starting with "ROW:" is also a row: the next byte picks a table
 * (samples, runs, metrics, checkpoints) and the rest gives each column a value
 * of any SQLite type (a type byte, then the value). The row is written with a
 * plain connection, CHECK constraints off, into a database made by store_open;
 * then the store's readers (get, list, search, newest checkpoint) must return
 * a value or an Err, never crash. This is what a damaged or hand-edited
 * sdlm.db looks like to sdlm.
 *
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined). Replayed by
 * tests/test_fuzz_replay.c in `make test` without libFuzzer. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "traj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_traj(const uint8_t *data, size_t size) {
    Trajectory t;
    Err e;
    if (traj_decode(data, size, &t, &e)) return;
    unsigned char *blob;
    size_t len;
    if (traj_encode(&t, &blob, &len, &e) || len != size || memcmp(blob, data, size)) {
        fprintf(stderr, "fuzz_sample: a decoded trajectory does not re-encode to the same bytes\n");
        abort();
    }
    free(blob);
    traj_free(&t);
}

typedef struct {
    const uint8_t *p;
    size_t n;
} Cursor;

static unsigned take(Cursor *c, size_t k, const uint8_t **out) {
    if (k > c->n) k = c->n;
    *out = c->p;
    c->p += k;
    c->n -= k;
    return (unsigned)k;
}

/* One value of any type from the cursor, bound to parameter idx. */
static void bind_any(sqlite3_stmt *st, int idx, Cursor *c) {
    const uint8_t *b;
    if (!take(c, 1, &b)) {
        sqlite3_bind_null(st, idx);
        return;
    }
    unsigned type = b[0] % 6, k;
    int64_t i = 0;
    double d = 0;
    switch (type) {
    case 0: sqlite3_bind_null(st, idx); break;
    case 1:
        k = take(c, 8, &b);
        memcpy(&i, b, k);
        sqlite3_bind_int64(st, idx, i);
        break;
    case 2:
        k = take(c, 8, &b);
        memcpy(&d, b, k);
        sqlite3_bind_double(st, idx, d);
        break;
    case 3: /* small int: steps, flags, ids that exist */
        k = take(c, 1, &b);
        sqlite3_bind_int(st, idx, k ? (int)b[0] - 8 : 0);
        break;
    case 4:
    case 5: {
        const uint8_t *lb;
        unsigned len = take(c, 2, &lb) == 2 ? (unsigned)lb[0] | (unsigned)lb[1] << 8 : 0;
        if (!len || len > c->n) len = (unsigned)c->n; /* the rest */
        k = take(c, len, &b);
        if (type == 4) sqlite3_bind_text(st, idx, (const char *)b, (int)k, SQLITE_TRANSIENT);
        else sqlite3_bind_blob(st, idx, b, (int)k, SQLITE_TRANSIENT);
        break;
    }
    }
}

static const char *const tables[4][2] = {
    {"samples", "id, time, mode, template, result, candidate, sampler, steps, seed, clamp,"
                " checkpoint_path, model, elapsed_s, trajectory"},
    {"runs", "id, created, started, ended, status, config, recipe, corpus_path, corpus_bytes,"
             " corpus_lines, tokenizer_path, checkpoint_path, seed, ranks, notes, pid, pid_start, host,"
             " heartbeat"},
    {"metrics", "run_id, step, epoch, loss, mse, ce, accuracy, lr, grad_norm, tokens_per_s, wall_s, skipped"},
    {"checkpoints", "id, run_id, step, path, time, bytes, eval_loss, eval_accuracy"},
};

static Store *store;
static sqlite3 *raw;
static char fuzz_dir[] = "/tmp/sdlm-fuzz-XXXXXX";

static void teardown(void) {
    char path[96];
    store_close(store);
    sqlite3_close(raw);
    const char *files[] = {"sdlm.db", "sdlm.db-wal", "sdlm.db-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, files[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

static int setup(void) {
    char path[96];
    Err e;
    if (!mkdtemp(fuzz_dir)) return -1;
    atexit(teardown);
    snprintf(path, sizeof path, "%s/sdlm.db", fuzz_dir);
    if (store_open(&store, path, 0, &e)) {
        fprintf(stderr, "fuzz_sample: %s\n", e.msg);
        return -1;
    }
    if (sqlite3_open(path, &raw) != SQLITE_OK) return -1;
    sqlite3_exec(raw, "PRAGMA ignore_check_constraints = ON; PRAGMA synchronous = OFF", 0, 0, 0);
    return 0;
}

static void fuzz_row(const uint8_t *data, size_t size) {
    if (!store && setup()) abort();
    Cursor c = {data, size};
    const uint8_t *b;
    if (!take(&c, 1, &b)) return;
    unsigned t = b[0] % 4;
    sqlite3_exec(raw, "DELETE FROM metrics; DELETE FROM checkpoints; DELETE FROM samples; DELETE FROM runs;",
                 0, 0, 0);
    int ncol = 1;
    for (const char *p = tables[t][1]; *p; p++) ncol += *p == ',';
    char sql[1024];
    int off = snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (?", tables[t][0], tables[t][1]);
    for (int i = 1; i < ncol; i++) off += snprintf(sql + off, sizeof sql - (size_t)off, ",?");
    snprintf(sql + off, sizeof sql - (size_t)off, ")");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(raw, sql, -1, &st, NULL) != SQLITE_OK) abort();
    for (int i = 1; i <= ncol; i++) bind_any(st, i, &c);
    sqlite3_step(st); /* constraint failures are fine: the readers see an empty table */
    sqlite3_finalize(st);

    Err e;
    Sample *sv, one;
    Run *rv, r;
    Metric *mv;
    CkptRecord *cv;
    char *path;
    int n;
    int64_t cnt;
    if (!store_list_samples(store, NULL, 10, 0, &sv, &n, &e)) samples_free(sv, n);
    if (!store_list_samples(store, "a%_\\", 10, 0, &sv, &n, &e)) samples_free(sv, n);
    store_count_samples(store, "x", &cnt, &e);
    for (int64_t id = -1; id <= 1; id++) {
        if (!store_get_sample(store, id, &one, &e)) sample_free(&one);
        if (!store_get_run(store, id, &r, &e)) run_free(&r);
        if (!store_run_metrics(store, id, 2, &mv, &n, &e)) free(mv);
        if (!store_list_checkpoints(store, id, &cv, &n, &e)) checkpoints_free(cv, n);
    }
    /* Any id the row ended up with. */
    sqlite3_int64 last = sqlite3_last_insert_rowid(raw);
    if (!store_get_sample(store, last, &one, &e)) sample_free(&one);
    if (!store_get_run(store, last, &r, &e)) run_free(&r);
    if (!store_list_runs(store, &rv, &n, &e)) runs_free(rv, n);
    if (!store_newest_checkpoint(store, &path, &e)) free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_traj(data, size);
    if (size >= 4 && !memcmp(data, "ROW:", 4)) fuzz_row(data + 4, size - 4);
    return 0;
}
