/* store_impl.h: what store.c and store_rows.c share. Not for other modules:
 * they use store.h. */
#ifndef SDLM_STORE_IMPL_H
#define SDLM_STORE_IMPL_H

#include <sqlite3.h>

#include "store.h"

struct Store {
    sqlite3 *db;
    char *path;         /* as given to store_open, for messages */
    int readonly;       /* opened read-only, or the file is not writable */
    int version;        /* schema version after migration */
    char host[256];     /* this host, to tell our runs from others' */
    long long pid_start;/* this process's start time (clock ticks since boot), -1 unknown */
};

/* Fills e from the connection's last error (rc its result code) with the
 * database path in front; returns -1. */
int store_fail(Store *s, Err *e, int rc);
/* -1 with the read-only message if writes are unavailable, else 0. */
int store_writable(Store *s, Err *e);
int store_begin(Store *s, Err *e);   /* BEGIN IMMEDIATE */
int store_commit(Store *s, Err *e);  /* COMMIT, rolling back if that fails */
void store_rollback(Store *s);
int store_prepare(Store *s, const char *sql, sqlite3_stmt **st, Err *e);

double store_now(void);
/* Grows *v (of *cap elements of size sz) to hold cnt + 1; -1 on OOM. */
int store_grow(void **v, int *cap, int cnt, size_t sz);
/* Column readers tolerant of any stored type: NULL reads as NULL / NAN. */
char *store_col_text(sqlite3_stmt *st, int col, int *oom);
double store_col_real(sqlite3_stmt *st, int col);
/* Double parameters: NaN and infinities go in as NULL. */
int store_bind_real(sqlite3_stmt *st, int idx, double v);
int store_bind_text(sqlite3_stmt *st, int idx, const char *v); /* NULL as NULL */
/* realpath() of p into a malloc'd string, or a copy of p when it does not resolve. */
char *store_canon_path(const char *p);

#endif
