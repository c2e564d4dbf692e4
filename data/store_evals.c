/* store_evals.c: what `sdlm eval` measured, kept by checkpoint path, so the
 * editor's model picker can show a held-out figure beside each model. Any
 * checkpoint file can have evals, recorded by a run or not. Not here: the
 * measuring (eval.c), the schema (store.c). */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

int store_add_eval(Store *s, const EvalRecord *r, Err *e) {
    if (store_writable(s, e)) return -1;
    char *canon = store_canon_path(r->path);
    if (!canon) return err_set(e, "%s: out of memory", s->path);
    sqlite3_stmt *st;
    if (store_prepare(s,
                      "INSERT INTO evals (path, time, lines, accuracy, accuracy_1tok, cross_entropy, sampler, steps)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      &st, e)) {
        free(canon);
        return -1;
    }
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, r->time > 0 ? r->time : store_now());
    sqlite3_bind_int(st, 3, r->lines);
    store_bind_real(st, 4, r->accuracy);
    store_bind_real(st, 5, r->accuracy_1tok);
    store_bind_real(st, 6, r->cross_entropy);
    store_bind_text(st, 7, r->sampler);
    sqlite3_bind_int(st, 8, r->steps);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(canon);
    return rc == SQLITE_DONE ? 0 : store_fail(s, e, rc);
}

int store_latest_eval(Store *s, const char *path, EvalRecord *out, int *found, Err *e) {
    *found = 0;
    char *canon = store_canon_path(path);
    if (!canon) return err_set(e, "%s: out of memory", s->path);
    sqlite3_stmt *st;
    if (store_prepare(s,
                      "SELECT path, time, lines, accuracy, accuracy_1tok, cross_entropy, sampler, steps FROM evals"
                      " WHERE path = ? ORDER BY time DESC, id DESC LIMIT 1",
                      &st, e)) {
        free(canon);
        return -1;
    }
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st), oom = 0;
    free(canon);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->path = store_col_text(st, 0, &oom);
        out->time = store_col_real(st, 1);
        out->lines = sqlite3_column_int(st, 2);
        out->accuracy = store_col_real(st, 3);
        out->accuracy_1tok = store_col_real(st, 4);
        out->cross_entropy = store_col_real(st, 5);
        out->sampler = store_col_text(st, 6, &oom);
        out->steps = sqlite3_column_int(st, 7);
        *found = 1;
    }
    sqlite3_finalize(st);
    if (oom) {
        eval_record_free(out);
        *found = 0;
        return err_set(e, "%s: out of memory reading an eval", s->path);
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(s, e, rc);
}

void eval_record_free(EvalRecord *r) {
    if (!r) return;
    free(r->path), free(r->sampler);
    r->path = r->sampler = NULL;
}
