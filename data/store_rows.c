/* store_rows.c: metrics, checkpoints and samples in the history database.
 * Opening, errors and runs are in store.c; the trajectory blob in traj.c.
 *
 * Readers take whatever the file holds: a column of an unexpected type is
 * converted by SQLite's rules, a NULL reads as NULL / NAN / -1, and only a
 * value that cannot mean anything (an unknown sample mode, a bad trajectory
 * blob) is an error. */
#include "store_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- metrics ---- */

/* The metrics table's columns after run_id, and their parameters, from METRIC_FIELDS. */
#define METRIC_COLUMN(type, field, kind) ", " #field
#define METRIC_PARAM(type, field, kind) ", ?"
#define METRIC_BIND_INT(st, i, v) sqlite3_bind_int64(st, i, v)
#define METRIC_BIND_REAL(st, i, v) store_bind_real(st, i, v)
#define METRIC_BIND_BOOL(st, i, v) sqlite3_bind_int(st, i, (v) ? 1 : 0)
#define METRIC_BIND(type, field, kind) METRIC_BIND_##kind(st, ++col, m->field);
#define METRIC_READ_INT(st, i) sqlite3_column_int64(st, i)
#define METRIC_READ_REAL(st, i) store_col_real(st, i)
#define METRIC_READ_BOOL(st, i) (sqlite3_column_int(st, i) != 0)
#define METRIC_READ(type, field, kind) m->field = METRIC_READ_##kind(st, ++col);

/* Binds m as parameters 2.. of st (1 is the run). */
static void bind_metric(sqlite3_stmt *st, const Metric *m) {
    int col = 1;
    METRIC_FIELDS(METRIC_BIND)
}

/* Reads m from columns 1.. of st (0 is the run). */
static void read_metric(sqlite3_stmt *st, Metric *m) {
    int col = 0;
    METRIC_FIELDS(METRIC_READ)
}

int store_add_metrics(Store *s, int64_t run, const Metric *rows, int n, Err *e) {
    sqlite3_stmt *ins = NULL, *hb = NULL;
    int rc;
    if (store_writable(s, e)) return -1;
    if (n <= 0) return 0;
    if (store_begin(s, e)) return -1;
    if (store_prepare(s,
                      "INSERT OR REPLACE INTO metrics (run_id" METRIC_FIELDS(METRIC_COLUMN) ") VALUES (?"
                      METRIC_FIELDS(METRIC_PARAM) ")",
                      &ins, e))
        goto fail;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(ins, 1, run);
        bind_metric(ins, &rows[i]);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            store_fail(s, e, rc);
            goto fail;
        }
    }
    if (store_prepare(s, "UPDATE runs SET heartbeat = ? WHERE id = ?", &hb, e)) goto fail;
    sqlite3_bind_double(hb, 1, store_now());
    sqlite3_bind_int64(hb, 2, run);
    rc = sqlite3_step(hb);
    if (rc != SQLITE_DONE) {
        store_fail(s, e, rc);
        goto fail;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(hb);
    return store_commit(s, e);
fail:
    sqlite3_finalize(ins);
    sqlite3_finalize(hb);
    store_rollback(s);
    return -1;
}

int store_run_metrics(Store *s, int64_t run, int every, Metric **out, int *n, Err *e) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (every < 1) every = 1;
    if (store_prepare(s, "SELECT run_id" METRIC_FIELDS(METRIC_COLUMN) " FROM metrics WHERE run_id = ? ORDER BY step",
                      &st, e))
        return -1;
    sqlite3_bind_int64(st, 1, run);
    Metric *v = NULL;
    int cnt = 0, cap = 0, rc, last_kept = 1;
    long long i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (store_grow((void **)&v, &cap, cnt, sizeof *v)) {
            err_set(e, "%s: out of memory reading metrics of run %lld", s->path, (long long)run);
            goto fail;
        }
        /* Read every row into the next slot; keep it only on the stride, but the
         * last row read always sits in the slot after the kept ones. */
        read_metric(st, &v[cnt]);
        last_kept = i % every == 0;
        if (last_kept) cnt++;
        i++;
    }
    if (rc != SQLITE_DONE) {
        store_fail(s, e, rc);
        goto fail;
    }
    if (!last_kept) cnt++; /* the final row, already in v[cnt] */
    sqlite3_finalize(st);
    if (!cnt) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = cnt;
    return 0;
fail:
    sqlite3_finalize(st);
    free(v);
    return -1;
}

/* ---- checkpoints ---- */

int store_add_checkpoint(Store *s, const CkptRecord *c, int64_t *id, Err *e) {
    sqlite3_stmt *ins = NULL, *upd = NULL;
    int rc;
    if (id) *id = 0;
    if (store_writable(s, e)) return -1;
    if (!c->path || !c->path[0]) return err_set(e, "%s: a checkpoint needs a path", s->path);
    char *path = store_canon_path(c->path);
    if (!path) return err_set(e, "%s: out of memory", s->path);
    if (store_begin(s, e)) {
        free(path);
        return -1;
    }
    if (store_prepare(s,
                      "INSERT INTO checkpoints (run_id, step, path, time, bytes, eval_loss, eval_accuracy)"
                      " VALUES (?,?,?,?,?,?,?)",
                      &ins, e))
        goto fail;
    if (c->run_id > 0) sqlite3_bind_int64(ins, 1, c->run_id);
    sqlite3_bind_int64(ins, 2, c->step);
    sqlite3_bind_text(ins, 3, path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 4, c->time > 0 ? c->time : store_now());
    if (c->bytes >= 0) sqlite3_bind_int64(ins, 5, c->bytes);
    store_bind_real(ins, 6, c->eval_loss);
    store_bind_real(ins, 7, c->eval_accuracy);
    rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE) {
        store_fail(s, e, rc);
        goto fail;
    }
    if (id) *id = sqlite3_last_insert_rowid(s->db);
    if (c->run_id > 0) {
        if (store_prepare(s, "UPDATE runs SET checkpoint_path = ?, heartbeat = ? WHERE id = ?", &upd, e))
            goto fail;
        sqlite3_bind_text(upd, 1, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(upd, 2, store_now());
        sqlite3_bind_int64(upd, 3, c->run_id);
        rc = sqlite3_step(upd);
        if (rc != SQLITE_DONE) {
            store_fail(s, e, rc);
            goto fail;
        }
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    free(path);
    return store_commit(s, e);
fail:
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    free(path);
    store_rollback(s);
    return -1;
}

int store_list_checkpoints(Store *s, int64_t run, CkptRecord **out, int *n, Err *e) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (store_prepare(s,
                      "SELECT id, run_id, step, path, time, bytes, eval_loss, eval_accuracy FROM checkpoints"
                      " WHERE run_id = ? ORDER BY step, id",
                      &st, e))
        return -1;
    sqlite3_bind_int64(st, 1, run);
    CkptRecord *v = NULL;
    int cnt = 0, cap = 0, rc, oom = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (store_grow((void **)&v, &cap, cnt, sizeof *v)) {
            oom = 1;
            break;
        }
        CkptRecord *c = &v[cnt++];
        c->id = sqlite3_column_int64(st, 0);
        c->run_id = sqlite3_column_int64(st, 1);
        c->step = sqlite3_column_int64(st, 2);
        c->path = store_col_text(st, 3, &oom);
        c->time = store_col_real(st, 4);
        c->bytes = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
        c->eval_loss = store_col_real(st, 6);
        c->eval_accuracy = store_col_real(st, 7);
        if (oom) break;
    }
    sqlite3_finalize(st);
    if (oom || (rc != SQLITE_DONE && rc != SQLITE_ROW)) {
        checkpoints_free(v, cnt);
        if (oom) return err_set(e, "%s: out of memory listing checkpoints", s->path);
        return store_fail(s, e, rc);
    }
    *out = v;
    *n = cnt;
    return 0;
}

int store_newest_checkpoint(Store *s, char **path, Err *e) {
    sqlite3_stmt *st;
    *path = NULL;
    if (store_prepare(s, "SELECT path FROM checkpoints ORDER BY time DESC, id DESC", &st, e)) return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        struct stat sb;
        if (p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            *path = strdup(p);
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_fail(s, e, rc);
    if (rc == SQLITE_ROW && !*path) return err_set(e, "%s: out of memory", s->path);
    return 0;
}

void checkpoints_free(CkptRecord *c, int n) {
    for (int i = 0; c && i < n; i++) free(c[i].path);
    free(c);
}

/* ---- samples ---- */

const char *sample_mode_name(SampleMode m) { return m == SAMPLE_INFILL ? "infill" : "sample"; }

int store_add_sample(Store *s, const Sample *smp, int64_t *id, Err *e) {
    sqlite3_stmt *st = NULL;
    unsigned char *blob = NULL;
    size_t blen = 0;
    if (id) *id = 0;
    if (store_writable(s, e)) return -1;
    if (smp->mode != SAMPLE_INFILL && smp->mode != SAMPLE_FREE)
        return err_set(e, "%s: sample mode %d is neither infill nor sample", s->path, (int)smp->mode);
    if (smp->traj.steps > 0 && traj_encode(&smp->traj, &blob, &blen, e))
        return err_wrap(e, "%s: sample not saved", s->path);
    if (store_prepare(s,
                      "INSERT INTO samples (time, mode, template, result, candidate, sampler, steps, seed,"
                      " clamp, checkpoint_path, model, trajectory, elapsed_s)"
                      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &st, e)) {
        free(blob);
        return -1;
    }
    sqlite3_bind_double(st, 1, smp->time > 0 ? smp->time : store_now());
    sqlite3_bind_text(st, 2, sample_mode_name(smp->mode), -1, SQLITE_STATIC);
    store_bind_text(st, 3, smp->template_text);
    store_bind_text(st, 4, smp->result);
    sqlite3_bind_int(st, 5, smp->candidate);
    store_bind_text(st, 6, smp->sampler);
    sqlite3_bind_int(st, 7, smp->steps);
    sqlite3_bind_int64(st, 8, (int64_t)smp->seed);
    sqlite3_bind_int(st, 9, smp->clamp ? 1 : 0);
    store_bind_text(st, 10, smp->checkpoint_path);
    store_bind_text(st, 11, smp->model);
    if (blob) sqlite3_bind_blob64(st, 12, blob, blen, SQLITE_STATIC); /* outlives the step */
    store_bind_real(st, 13, smp->elapsed_s);
    /* A single INSERT outside BEGIN is its own transaction; IMMEDIATE is not
     * needed as nothing is read first. */
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(blob);
    if (rc != SQLITE_DONE) return store_fail(s, e, rc);
    if (id) *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

#define SAMPLE_COLUMNS                                                                              \
    "id, time, mode, template, result, candidate, sampler, steps, seed, clamp, checkpoint_path, "  \
    "model, elapsed_s"

static int read_sample(Store *s, sqlite3_stmt *st, Sample *smp, Err *e) {
    int oom = 0;
    memset(smp, 0, sizeof *smp);
    smp->id = sqlite3_column_int64(st, 0);
    smp->time = store_col_real(st, 1);
    const char *mode = (const char *)sqlite3_column_text(st, 2);
    if (mode && !strcmp(mode, "infill")) smp->mode = SAMPLE_INFILL;
    else if (mode && !strcmp(mode, "sample")) smp->mode = SAMPLE_FREE;
    else return err_set(e, "%s: sample %lld has an unknown mode", s->path, (long long)smp->id);
    smp->template_text = store_col_text(st, 3, &oom);
    smp->result = store_col_text(st, 4, &oom);
    smp->candidate = sqlite3_column_int(st, 5);
    smp->sampler = store_col_text(st, 6, &oom);
    smp->steps = sqlite3_column_int(st, 7);
    smp->seed = (uint64_t)sqlite3_column_int64(st, 8);
    smp->clamp = sqlite3_column_int(st, 9) != 0;
    smp->checkpoint_path = store_col_text(st, 10, &oom);
    smp->model = store_col_text(st, 11, &oom);
    smp->elapsed_s = store_col_real(st, 12);
    if (oom) {
        sample_free(smp);
        return err_set(e, "%s: out of memory reading sample %lld", s->path,
                       (long long)sqlite3_column_int64(st, 0));
    }
    return 0;
}

/* The LIKE pattern %query% with \ escaping %, _ and \ in the query. */
static char *like_pattern(const char *q) {
    size_t n = strlen(q);
    char *p = malloc(2 * n + 3), *w = p;
    if (!p) return NULL;
    *w++ = '%';
    for (const char *c = q; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') *w++ = '\\';
        *w++ = *c;
    }
    *w++ = '%';
    *w = 0;
    return p;
}

static const char sample_where[] =
    " WHERE ?1 IS NULL OR template LIKE ?1 ESCAPE '\\' OR result LIKE ?1 ESCAPE '\\'";

static int bind_query(Store *s, sqlite3_stmt *st, const char *query, Err *e) {
    if (!query || !query[0]) return 0;
    char *pat = like_pattern(query);
    if (!pat) return err_set(e, "%s: out of memory", s->path);
    sqlite3_bind_text(st, 1, pat, -1, SQLITE_TRANSIENT);
    free(pat);
    return 0;
}

int store_list_samples(Store *s, const char *query, int limit, int offset, Sample **out, int *n,
                       Err *e) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " SAMPLE_COLUMNS " FROM samples%s ORDER BY time DESC, candidate, id DESC"
             " LIMIT ?2 OFFSET ?3", sample_where);
    if (store_prepare(s, sql, &st, e)) return -1;
    if (bind_query(s, st, query, e)) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
    sqlite3_bind_int(st, 3, offset > 0 ? offset : 0);
    Sample *v = NULL;
    int cnt = 0, cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (store_grow((void **)&v, &cap, cnt, sizeof *v)) {
            err_set(e, "%s: out of memory listing samples", s->path);
            goto fail;
        }
        if (read_sample(s, st, &v[cnt], e)) goto fail;
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
    samples_free(v, cnt);
    return -1;
}

int store_count_samples(Store *s, const char *query, int64_t *count, Err *e) {
    sqlite3_stmt *st;
    char sql[256];
    *count = 0;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples%s", sample_where);
    if (store_prepare(s, sql, &st, e)) return -1;
    if (bind_query(s, st, query, e)) {
        sqlite3_finalize(st);
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *count = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_fail(s, e, rc);
}

int store_get_sample(Store *s, int64_t id, Sample *out, Err *e) {
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (store_prepare(s, "SELECT " SAMPLE_COLUMNS ", trajectory FROM samples WHERE id = ?", &st, e))
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st), result = 0;
    if (rc == SQLITE_DONE) {
        result = err_set(e, "%s: sample %lld not found", s->path, (long long)id);
    } else if (rc != SQLITE_ROW) {
        result = store_fail(s, e, rc);
    } else if (!(result = read_sample(s, st, out, e)) && sqlite3_column_type(st, 13) != SQLITE_NULL) {
        /* The blob pointer dies at the next step or finalize: decode (copy) now. */
        const void *b = sqlite3_column_blob(st, 13);
        size_t n = (size_t)sqlite3_column_bytes(st, 13);
        if (traj_decode(b, n, &out->traj, e)) {
            err_wrap(e, "%s: sample %lld", s->path, (long long)id);
            sample_free(out);
            result = -1;
        }
    }
    sqlite3_finalize(st);
    return result;
}

void sample_free(Sample *smp) {
    if (!smp) return;
    free(smp->template_text);
    free(smp->result);
    free(smp->sampler);
    free(smp->checkpoint_path);
    free(smp->model);
    traj_free(&smp->traj);
    memset(smp, 0, sizeof *smp);
}

void samples_free(Sample *smp, int n) {
    for (int i = 0; smp && i < n; i++) sample_free(&smp[i]);
    free(smp);
}
