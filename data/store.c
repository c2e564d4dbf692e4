/* store.c: opening the history database, its schema and migrations, error
 * messages, and the runs table. Metrics, checkpoints and samples are in
 * store_rows.c, eval figures in store_evals.c. Not here: file formats (traj.c), paths (paths.c).
 *
 * Schema changes are steps in `migrations` below, applied in order from the
 * file's PRAGMA user_version up to STORE_SCHEMA_VERSION inside one BEGIN
 * IMMEDIATE transaction: a crash mid-migration leaves the old version intact.
 * Never edit a step that has shipped; add one. */
#include "store_impl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* migrations[v] takes a database from version v to v + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    /* v0 -> v1: the tables. */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  created REAL NOT NULL,"
    "  started REAL,"
    "  ended REAL,"
    "  status TEXT NOT NULL DEFAULT 'running'"
    "    CHECK (status IN ('running','finished','stopped','failed','crashed')),"
    "  config TEXT NOT NULL DEFAULT '{}',"
    "  recipe TEXT,"
    "  corpus_path TEXT,"
    "  corpus_bytes INTEGER,"
    "  corpus_lines INTEGER,"
    "  tokenizer_path TEXT,"
    "  checkpoint_path TEXT,"
    "  seed INTEGER,"
    "  ranks INTEGER NOT NULL DEFAULT 1,"
    "  notes TEXT,"
    "  pid INTEGER,"
    "  pid_start INTEGER,"
    "  host TEXT,"
    "  heartbeat REAL"
    ");"
    "CREATE TABLE metrics ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  step INTEGER NOT NULL,"
    "  epoch INTEGER,"
    "  loss REAL, mse REAL, ce REAL, accuracy REAL,"
    "  lr REAL, grad_norm REAL, tokens_per_s REAL, wall_s REAL,"
    "  skipped INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (run_id, step)"
    ") WITHOUT ROWID;"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
    "  step INTEGER NOT NULL,"
    "  path TEXT NOT NULL,"
    "  time REAL NOT NULL,"
    "  bytes INTEGER,"
    "  eval_loss REAL,"
    "  eval_accuracy REAL"
    ");"
    "CREATE INDEX checkpoints_run ON checkpoints(run_id, step);"
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY,"
    "  time REAL NOT NULL,"
    "  mode TEXT NOT NULL CHECK (mode IN ('infill','sample')),"
    "  template TEXT,"
    "  result TEXT,"
    "  candidate INTEGER NOT NULL DEFAULT 0,"
    "  sampler TEXT,"
    "  steps INTEGER,"
    "  seed INTEGER,"
    "  clamp INTEGER NOT NULL DEFAULT 0,"
    "  checkpoint_path TEXT,"
    "  model TEXT,"
    "  trajectory BLOB"
    ");",
    /* v1 -> v2: how long a sample took (shown by `sdlm samples --show`), the
     * newest-first sample list without a sort, and checkpoint lookup by path
     * for resuming and start-up. */
    "ALTER TABLE samples ADD COLUMN elapsed_s REAL;"
    "CREATE INDEX samples_time ON samples(time);"
    "CREATE INDEX checkpoints_path ON checkpoints(path);",
    /* v2 -> v3: what `sdlm eval` measured, by checkpoint path (any file, not
     * only those a recorded run wrote), for the editor's model picker. */
    "CREATE TABLE evals ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL,"
    "  time REAL NOT NULL,"
    "  lines INTEGER,"
    "  accuracy REAL,"
    "  accuracy_1tok REAL,"
    "  cross_entropy REAL,"
    "  sampler TEXT,"
    "  steps INTEGER"
    ");"
    "CREATE INDEX evals_path ON evals(path, time);",
};

static const char *const status_names[] = {"running", "finished", "stopped", "failed", "crashed"};

const char *run_status_name(RunStatus st) {
    return (unsigned)st < sizeof status_names / sizeof *status_names ? status_names[st] : "?";
}

int run_status_parse(const char *name, RunStatus *st) {
    for (unsigned i = 0; name && i < sizeof status_names / sizeof *status_names; i++)
        if (!strcmp(name, status_names[i])) {
            *st = (RunStatus)i;
            return 0;
        }
    return -1;
}

/* ---- small helpers shared with store_rows.c ---- */

double store_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int store_fail(Store *s, Err *e, int rc) {
    const char *p = s->path;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return err_set(e, "%s: database is locked (another sdlm is writing?)", p);
    case SQLITE_READONLY: return err_set(e, "%s: attempt to write a readonly database", p);
    case SQLITE_NOTADB: return err_set(e, "%s: file is not a database", p);
    case SQLITE_CORRUPT: return err_set(e, "%s: database disk image is malformed", p);
    case SQLITE_FULL: return err_set(e, "%s: database or disk is full", p);
    case SQLITE_NOMEM: return err_set(e, "%s: out of memory", p);
    case SQLITE_IOERR: /* say what the system said: "No space left on device", not "disk I/O error" */
        if (s->db && sqlite3_system_errno(s->db))
            return err_set(e, "%s: disk I/O error: %s", p, strerror(sqlite3_system_errno(s->db)));
        return err_set(e, "%s: %s", p, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    case SQLITE_CANTOPEN:
        return err_set(e, "%s: unable to open database file (is its directory there, and readable?)", p);
    default:
        return err_set(e, "%s: %s", p, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    }
}

int store_writable(Store *s, Err *e) {
    if (!s->readonly) return 0;
    return err_set(e, "%s: attempt to write a readonly database (writes are unavailable)", s->path);
}

int store_prepare(Store *s, const char *sql, sqlite3_stmt **st, Err *e) {
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return store_fail(s, e, rc);
    }
    return 0;
}

int store_begin(Store *s, Err *e) {
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_fail(s, e, rc);
}

void store_rollback(Store *s) {
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_commit(Store *s, Err *e) {
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return 0;
    store_fail(s, e, rc);
    store_rollback(s);
    return -1;
}

char *store_col_text(sqlite3_stmt *st, int col, int *oom) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return NULL;
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    char *r = malloc((size_t)n + 1);
    if (!r || (!t && n)) {
        free(r);
        *oom = 1;
        return NULL;
    }
    if (n) memcpy(r, t, (size_t)n);
    r[n] = 0;
    return r;
}

double store_col_real(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

int store_bind_real(sqlite3_stmt *st, int idx, double v) {
    return isfinite(v) ? sqlite3_bind_double(st, idx, v) : sqlite3_bind_null(st, idx);
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *v) {
    return v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
}

char *store_canon_path(const char *p) {
    if (!p) return NULL;
    char *r = realpath(p, NULL);
    return r ? r : strdup(p);
}

/* ---- processes: is the writer of a `running` run still there? ---- */

/* Start time (field 22 of /proc/PID/stat) of a live process, -1 if it is gone
 * or a zombie. */
static long long proc_start_time(long long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *q = strrchr(buf, ')'); /* the command name may hold spaces and parens */
    if (!q || q[1] != ' ' || !q[2]) return -1;
    q += 2; /* field 3, the state */
    if (*q == 'Z' || *q == 'X' || *q == 'x') return -1;
    for (int field = 3; field < 22; q++) {
        if (!*q) return -1;
        if (*q == ' ') field++;
    }
    return strtoll(q, NULL, 10);
}

static int run_alive(const Store *s, long long pid, long long pid_start, const char *host,
                     double heartbeat, double now) {
    if (host && !strcmp(host, s->host) && pid > 0) {
        if (pid == (long long)getpid()) return 1;
        long long st = proc_start_time(pid);
        if (st < 0) return 0;
        return pid_start <= 0 || st == pid_start; /* a reused pid is another process */
    }
    return isfinite(heartbeat) && heartbeat > now - STORE_REMOTE_STALE_S;
}

/* ---- open, migrate ---- */

static int read_version(Store *s, int *v, Err *e) {
    sqlite3_stmt *st;
    if (store_prepare(s, "PRAGMA user_version", &st, e)) return -1;
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_fail(s, e, rc);
}

/* PRAGMA quick_check at open (fast at a history's size): a damaged file is
 * refused, so nothing more is written into it, with how to recover it. */
static int check_intact(Store *s, Err *e) {
    sqlite3_stmt *st;
    if (store_prepare(s, "PRAGMA quick_check(1)", &st, e)) return -1;
    int rc = sqlite3_step(st);
    char said[160] = "";
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0), *main = "*** in database main ***\n";
        if (text && !strncmp(text, main, strlen(main))) text += strlen(main);
        snprintf(said, sizeof said, "%s", text ? text : "");
        for (char *p = said; *p; p++) *p = *p == '\n' ? ' ' : *p; /* one line */
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW && !strcmp(said, "ok")) return 0;
    if (rc != SQLITE_ROW && (rc & 0xff) != SQLITE_CORRUPT) return store_fail(s, e, rc);
    return err_set(e, "%s is damaged (quick_check: %.100s): nothing more is written to it; move it aside "
                      "(mv it to a .bad name: sdlm starts a new one) or recover it with "
                      "sqlite3 %s .recover | sqlite3 new.db", s->path, said[0] ? said : "malformed", s->path);
}

static int migrate(Store *s, Err *e) {
    int v, rc;
    if (store_begin(s, e)) return -1;
    if (read_version(s, &v, e)) goto fail;
    if (v == 0) {
        /* A version-0 file must be empty, or it is someone else's database. */
        sqlite3_stmt *st;
        if (store_prepare(s, "SELECT count(*) FROM sqlite_master", &st, e)) goto fail;
        rc = sqlite3_step(st);
        int n = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) {
            store_fail(s, e, rc);
            goto fail;
        }
        if (n) {
            err_set(e, "%s: not an sdlm database (it has tables but no sdlm schema version)", s->path);
            goto fail;
        }
    }
    for (; v < STORE_SCHEMA_VERSION; v++) {
        rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            store_fail(s, e, rc);
            err_wrap(e, "migrating the history schema from v%d to v%d", v, v + 1);
            goto fail;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        store_fail(s, e, rc);
        goto fail;
    }
    return store_commit(s, e);
fail:
    store_rollback(s);
    return -1;
}

/* A WAL database in a directory sdlm cannot write (a read-only mount, a
 * colleague's files) cannot even be read normally: SQLite needs to create its
 * -shm file. Such a file cannot change under us (nobody can write there), so it
 * is opened again as immutable, read-only. Returns 1 when it did. */
static int reopen_immutable(Store *s, const char *path) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir) return 0;
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    if (access(path, R_OK) != 0 || access(dir, W_OK) == 0) return 0;
    char uri[3 * PATH_MAX + 32], *u = uri;
    u += sprintf(u, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((size_t)(u - uri) > sizeof uri - 16) return 0;
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p >= 0x7f) u += sprintf(u, "%%%02X", *p);
        else *u++ = (char)*p;
    }
    strcpy(u, "?immutable=1");
    sqlite3_close(s->db);
    s->db = NULL;
    if (sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        return 0;
    sqlite3_extended_result_codes(s->db, 1);
    s->readonly = 1;
    return 1;
}

int store_open(Store **out, const char *path, int readonly, Err *e) {
    *out = NULL;
    Store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return err_set(e, "%s: out of memory", path);
    }
    int flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY
                                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) goto fail_rc;
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    if (gethostname(s->host, sizeof s->host - 1)) strcpy(s->host, "?");
    s->pid_start = proc_start_time(getpid());
    s->readonly = readonly || sqlite3_db_readonly(s->db, "main") == 1;

    int v;
    if (read_version(s, &v, e)) { /* the first read: "not a database" shows here */
        if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_CANTOPEN || !reopen_immutable(s, path) || read_version(s, &v, e))
            goto fail;
    }
    if (check_intact(s, e)) goto fail;
    if (v > STORE_SCHEMA_VERSION) {
        err_set(e, "%s: history schema v%d is newer than this sdlm understands (v%d); upgrade sdlm",
                path, v, STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (!s->readonly) {
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK) goto fail_rc;
    }
    rc = sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) goto fail_rc;
    if (v < STORE_SCHEMA_VERSION) {
        if (s->readonly) {
            if (v == 0)
                err_set(e, "%s: no sdlm history in this file, and it is read-only", path);
            else
                err_set(e, "%s: history schema v%d needs upgrading to v%d, but the database is read-only"
                        " (open it once with write access)", path, v, STORE_SCHEMA_VERSION);
            goto fail;
        }
        if (migrate(s, e)) goto fail;
    }
    s->version = STORE_SCHEMA_VERSION;
    if (!s->readonly) {
        Err ignored;
        store_mark_stale_runs(s, NULL, &ignored); /* best effort: a busy database can wait */
    }
    *out = s;
    return 0;
fail_rc:
    store_fail(s, e, rc);
fail:
    store_close(s);
    return -1;
}

void store_close(Store *s) {
    if (!s) return;
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int store_readonly(const Store *s) { return s->readonly; }
const char *store_path(const Store *s) { return s->path; }
int store_schema_version(const Store *s) { return s->version; }
void store_set_busy_timeout(Store *s, int ms) { sqlite3_busy_timeout(s->db, ms); }

int store_mark_stale_runs(Store *s, int *marked, Err *e) {
    if (marked) *marked = 0;
    if (store_writable(s, e)) return -1;
    /* Look first without a write lock: usually nothing is stale. */
    sqlite3_stmt *st;
    if (store_prepare(s, "SELECT id, pid, pid_start, host, heartbeat FROM runs WHERE status = 'running'",
                      &st, e))
        return -1;
    int64_t dead[64];
    int ndead = 0, rc;
    double now = store_now();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && ndead < 64) {
        const char *host = (const char *)sqlite3_column_text(st, 3);
        if (!run_alive(s, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), host,
                       store_col_real(st, 4), now))
            dead[ndead++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_fail(s, e, rc);
    if (!ndead) return 0;
    if (store_begin(s, e)) return -1;
    if (store_prepare(s, "UPDATE runs SET status = 'crashed', ended = heartbeat "
                         "WHERE id = ? AND status = 'running'", &st, e))
        goto fail;
    for (int i = 0; i < ndead; i++) {
        sqlite3_bind_int64(st, 1, dead[i]);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(st);
            store_fail(s, e, rc);
            goto fail;
        }
        if (marked) *marked += sqlite3_changes(s->db);
    }
    sqlite3_finalize(st);
    return store_commit(s, e);
fail:
    store_rollback(s);
    return -1;
}

/* ---- runs ---- */

static int exec_run_update(Store *s, const char *sql, int64_t run, int status_param, RunStatus status,
                           Err *e) {
    sqlite3_stmt *st;
    if (store_writable(s, e) || store_prepare(s, sql, &st, e)) return -1;
    double now = store_now();
    sqlite3_bind_double(st, 1, now);
    sqlite3_bind_int64(st, 2, run);
    if (status_param) sqlite3_bind_text(st, 3, run_status_name(status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, getpid());
    sqlite3_bind_int64(st, 5, s->pid_start);
    sqlite3_bind_text(st, 6, s->host, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return store_fail(s, e, rc);
    if (sqlite3_changes(s->db) != 1) return err_set(e, "%s: run %lld not found", s->path, (long long)run);
    return 0;
}

int store_run_begin(Store *s, const Run *spec, int64_t *id, Err *e) {
    sqlite3_stmt *st;
    *id = 0;
    if (store_writable(s, e)) return -1;
    if (store_prepare(s,
                      "INSERT INTO runs (created, started, heartbeat, status, config, recipe, corpus_path,"
                      " corpus_bytes, corpus_lines, tokenizer_path, checkpoint_path, seed, ranks, notes,"
                      " pid, pid_start, host) VALUES (?1, ?1, ?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                      " ?9, ?10, ?11, ?12, ?13, ?14)",
                      &st, e))
        return -1;
    char *ckpt = store_canon_path(spec->checkpoint_path);
    sqlite3_bind_double(st, 1, store_now());
    sqlite3_bind_text(st, 2, spec->config && spec->config[0] ? spec->config : "{}", -1, SQLITE_TRANSIENT);
    store_bind_text(st, 3, spec->recipe);
    store_bind_text(st, 4, spec->corpus_path);
    if (spec->corpus_bytes >= 0) sqlite3_bind_int64(st, 5, spec->corpus_bytes);
    if (spec->corpus_lines >= 0) sqlite3_bind_int64(st, 6, spec->corpus_lines);
    store_bind_text(st, 7, spec->tokenizer_path);
    store_bind_text(st, 8, ckpt);
    sqlite3_bind_int64(st, 9, (int64_t)spec->seed);
    sqlite3_bind_int(st, 10, spec->ranks > 0 ? spec->ranks : 1);
    store_bind_text(st, 11, spec->notes);
    sqlite3_bind_int64(st, 12, getpid());
    sqlite3_bind_int64(st, 13, s->pid_start);
    sqlite3_bind_text(st, 14, s->host, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(ckpt);
    if (rc != SQLITE_DONE) return store_fail(s, e, rc);
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_run_heartbeat(Store *s, int64_t run, Err *e) {
    /* A run marked crashed by mistake (another host, a long silence) comes back. */
    return exec_run_update(s,
                           "UPDATE runs SET heartbeat = ?1, status = 'running', ended = NULL"
                           " WHERE id = ?2 AND status IN ('running', 'crashed')",
                           run, 0, RUN_RUNNING, e);
}

int store_run_end(Store *s, int64_t run, RunStatus status, Err *e) {
    if (status == RUN_RUNNING || !strcmp(run_status_name(status), "?"))
        return err_set(e, "%s: run %lld cannot end as '%s'", s->path, (long long)run, run_status_name(status));
    return exec_run_update(s, "UPDATE runs SET ended = ?1, heartbeat = ?1, status = ?3 WHERE id = ?2", run,
                           1, status, e);
}

int store_run_resume(Store *s, int64_t run, Err *e) {
    return exec_run_update(s,
                           "UPDATE runs SET started = ?1, heartbeat = ?1, ended = NULL, status = 'running',"
                           " pid = ?4, pid_start = ?5, host = ?6 WHERE id = ?2",
                           run, 0, RUN_RUNNING, e);
}

int store_run_set_ranks(Store *s, int64_t run, int ranks, Err *e) {
    sqlite3_stmt *st;
    if (store_writable(s, e) || store_prepare(s, "UPDATE runs SET ranks = ?2 WHERE id = ?1", &st, e)) return -1;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int(st, 2, ranks > 0 ? ranks : 1);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return store_fail(s, e, rc);
    if (sqlite3_changes(s->db) != 1) return err_set(e, "%s: run %lld not found", s->path, (long long)run);
    return 0;
}

int store_run_note(Store *s, int64_t run, const char *line, Err *e) {
    sqlite3_stmt *st;
    if (store_writable(s, e) ||
        store_prepare(s, "UPDATE runs SET notes = CASE WHEN coalesce(notes, '') = '' THEN ?2 "
                         "ELSE notes || char(10) || ?2 END WHERE id = ?1", &st, e))
        return -1;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, line, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, e, rc);
}

int store_run_resume_find(Store *s, const char *checkpoint_path, int64_t *run, Err *e) {
    *run = 0;
    char *canon = store_canon_path(checkpoint_path);
    if (!canon) return err_set(e, "%s: out of memory", s->path);
    const char *sql[2] = {
        "SELECT run_id FROM checkpoints WHERE path = ?1 AND run_id IS NOT NULL ORDER BY time DESC, id DESC"
        " LIMIT 1",
        "SELECT id FROM runs WHERE checkpoint_path = ?1 ORDER BY id DESC LIMIT 1",
    };
    int result = 0;
    for (int i = 0; i < 2 && !*run && !result; i++) {
        sqlite3_stmt *st;
        if (store_prepare(s, sql[i], &st, e)) {
            result = -1;
            break;
        }
        sqlite3_bind_text(st, 1, canon, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) *run = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE) result = store_fail(s, e, rc);
        sqlite3_finalize(st);
    }
    free(canon);
    return result;
}

/* The columns a Run is read from, after r.id (column 0): X(name, sql). read_run reads each
 * by its RUN_COL_ name, so the list and the reading cannot drift apart. */
#define RUN_COLUMNS(X)                                                                          \
    X(CREATED, "r.created")                                                                     \
    X(STARTED, "r.started")                                                                     \
    X(ENDED, "r.ended")                                                                         \
    X(HEARTBEAT, "r.heartbeat")                                                                 \
    X(STATUS, "r.status")                                                                       \
    X(CONFIG, "r.config")                                                                       \
    X(RECIPE, "r.recipe")                                                                       \
    X(CORPUS_PATH, "r.corpus_path")                                                             \
    X(CORPUS_BYTES, "r.corpus_bytes")                                                           \
    X(CORPUS_LINES, "r.corpus_lines")                                                           \
    X(TOKENIZER_PATH, "r.tokenizer_path")                                                       \
    X(CHECKPOINT_PATH, "r.checkpoint_path")                                                     \
    X(SEED, "r.seed")                                                                           \
    X(RANKS, "r.ranks")                                                                         \
    X(NOTES, "r.notes")                                                                         \
    X(PID, "r.pid")                                                                             \
    X(PID_START, "r.pid_start")                                                                 \
    X(HOST, "r.host")                                                                           \
    X(N_METRICS, "(SELECT count(*) FROM metrics m WHERE m.run_id = r.id)")                      \
    X(LAST_STEP, "(SELECT max(step) FROM metrics m WHERE m.run_id = r.id)")                     \
    X(LAST_LOSS, "(SELECT loss FROM metrics m WHERE m.run_id = r.id ORDER BY step DESC LIMIT 1)") \
    X(N_CHECKPOINTS, "(SELECT count(*) FROM checkpoints c WHERE c.run_id = r.id)")

#define RUN_COL_ENUM(name, sql) RUN_COL_##name,
#define RUN_COL_SQL(name, sql) ", " sql
enum { RUN_COL_ID, RUN_COLUMNS(RUN_COL_ENUM) };
#define RUN_SELECT "SELECT r.id" RUN_COLUMNS(RUN_COL_SQL) " FROM runs r"

static int64_t col_int_or(sqlite3_stmt *st, int col, int64_t dflt) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, col);
}

static int read_run(Store *s, sqlite3_stmt *st, Run *r, double now, Err *e) {
    int oom = 0;
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, RUN_COL_ID);
    r->created = store_col_real(st, RUN_COL_CREATED);
    r->started = store_col_real(st, RUN_COL_STARTED);
    r->ended = store_col_real(st, RUN_COL_ENDED);
    r->heartbeat = store_col_real(st, RUN_COL_HEARTBEAT);
    const char *status = (const char *)sqlite3_column_text(st, RUN_COL_STATUS);
    if (run_status_parse(status, &r->status))
        return err_set(e, "%s: run %lld has an unknown status '%s'", s->path, (long long)r->id,
                       status ? status : "(null)");
    r->config = store_col_text(st, RUN_COL_CONFIG, &oom);
    r->recipe = store_col_text(st, RUN_COL_RECIPE, &oom);
    r->corpus_path = store_col_text(st, RUN_COL_CORPUS_PATH, &oom);
    r->corpus_bytes = col_int_or(st, RUN_COL_CORPUS_BYTES, -1);
    r->corpus_lines = col_int_or(st, RUN_COL_CORPUS_LINES, -1);
    r->tokenizer_path = store_col_text(st, RUN_COL_TOKENIZER_PATH, &oom);
    r->checkpoint_path = store_col_text(st, RUN_COL_CHECKPOINT_PATH, &oom);
    r->seed = (uint64_t)sqlite3_column_int64(st, RUN_COL_SEED);
    r->ranks = sqlite3_column_int(st, RUN_COL_RANKS);
    r->notes = store_col_text(st, RUN_COL_NOTES, &oom);
    r->pid = col_int_or(st, RUN_COL_PID, -1);
    long long pid_start = col_int_or(st, RUN_COL_PID_START, -1);
    r->host = store_col_text(st, RUN_COL_HOST, &oom);
    r->n_metrics = sqlite3_column_int64(st, RUN_COL_N_METRICS);
    r->last_step = col_int_or(st, RUN_COL_LAST_STEP, -1);
    r->last_loss = store_col_real(st, RUN_COL_LAST_LOSS);
    r->n_checkpoints = sqlite3_column_int64(st, RUN_COL_N_CHECKPOINTS);
    if (oom) {
        int64_t id = r->id;
        run_free(r);
        return err_set(e, "%s: out of memory reading run %lld", s->path, (long long)id);
    }
    if (r->status == RUN_RUNNING && !run_alive(s, r->pid, pid_start, r->host, r->heartbeat, now))
        r->status = RUN_CRASHED;
    return 0;
}

int store_get_run(Store *s, int64_t run, Run *out, Err *e) {
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (store_prepare(s, RUN_SELECT " WHERE r.id = ?", &st, e)) return -1;
    sqlite3_bind_int64(st, 1, run);
    int rc = sqlite3_step(st), result;
    if (rc == SQLITE_ROW) result = read_run(s, st, out, store_now(), e);
    else if (rc == SQLITE_DONE) result = err_set(e, "%s: run %lld not found", s->path, (long long)run);
    else result = store_fail(s, e, rc);
    sqlite3_finalize(st);
    return result;
}

int store_grow(void **v, int *cap, int cnt, size_t sz) {
    if (cnt < *cap) return 0;
    int nc = *cap ? 2 * *cap : 16;
    void *nv = realloc(*v, (size_t)nc * sz);
    if (!nv) return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

int store_list_runs(Store *s, Run **out, int *n, Err *e) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (store_prepare(s, RUN_SELECT " ORDER BY r.id DESC", &st, e)) return -1;
    Run *v = NULL;
    int cnt = 0, cap = 0, rc;
    double now = store_now();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (store_grow((void **)&v, &cap, cnt, sizeof *v)) {
            err_set(e, "%s: out of memory listing runs", s->path);
            goto fail;
        }
        if (read_run(s, st, &v[cnt], now, e)) goto fail;
        cnt++;
    }
    if (rc != SQLITE_DONE) {
        store_fail(s, e, rc);
        goto fail;
    }
    sqlite3_finalize(st);
    *out = v;
    *n = cnt;
    return 0;
fail:
    sqlite3_finalize(st);
    runs_free(v, cnt);
    return -1;
}

void run_free(Run *r) {
    if (!r) return;
    free(r->config);
    free(r->recipe);
    free(r->corpus_path);
    free(r->tokenizer_path);
    free(r->checkpoint_path);
    free(r->notes);
    free(r->host);
    memset(r, 0, sizeof *r);
}

void runs_free(Run *r, int n) {
    for (int i = 0; r && i < n; i++) run_free(&r[i]);
    free(r);
}
