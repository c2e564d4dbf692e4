/* store.h: the history of runs, metrics, checkpoints and samples, in SQLite.
 *
 * One Store is one connection: open one per thread that needs it (the trainer
 * thread writes metrics, the UI thread writes samples and reads history). The
 * database is in WAL mode with synchronous=NORMAL, foreign keys on and a busy
 * timeout (5 s by default), so several sdlm processes can share one file; every
 * write is one BEGIN IMMEDIATE transaction, so a process killed at any moment
 * leaves whole transactions or nothing. Big things (checkpoints) stay files;
 * the database holds their paths.
 *
 * Ownership: strings in structs passed *in* are borrowed and never freed;
 * structs passed *out* are owned by the caller and released with the matching
 * *_free. Timestamps are unix seconds (double); a value that is not known is
 * NAN (doubles) or -1 (integers). NaN metrics are stored as NULL and read back
 * as NAN.
 *
 * Errors are one line naming the database file, e.g.
 *   "/home/u/.local/share/sdlm/sdlm.db: database is locked (another sdlm is writing?)"
 * A database that can only be read (opened with readonly=1, or a file without
 * write permission) still opens; store_readonly() says so and every write fails
 * with "...: attempt to write a readonly database (writes are unavailable)". */
#ifndef SDLM_STORE_H
#define SDLM_STORE_H

#include <stdint.h>

#include "err.h"
#include "metric.h"
#include "traj.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_BUSY_TIMEOUT_MS 5000
/* A run on another host counts as crashed after this long without a heartbeat
 * (on this host, whether its process still exists decides). */
#define STORE_REMOTE_STALE_S 3600.0

typedef struct Store Store;

/* Opens (creating if needed, unless readonly) and migrates the schema to
 * STORE_SCHEMA_VERSION in one transaction. On a writable database, runs left
 * `running` by a process that no longer exists are marked `crashed`. */
int store_open(Store **out, const char *path, int readonly, Err *e);
void store_close(Store *s);
int store_readonly(const Store *s);   /* 1 when writes are unavailable */
const char *store_path(const Store *s);
int store_schema_version(const Store *s);
void store_set_busy_timeout(Store *s, int ms);
/* Marks dead `running` runs `crashed`; *marked (may be NULL) gets the count.
 * store_open calls it; a long-lived UI may call it again. */
int store_mark_stale_runs(Store *s, int *marked, Err *e);

/* ---- runs ---- */

typedef enum { RUN_RUNNING, RUN_FINISHED, RUN_STOPPED, RUN_FAILED, RUN_CRASHED } RunStatus;
const char *run_status_name(RunStatus st);
int run_status_parse(const char *name, RunStatus *st); /* 0, or -1 if unknown */

typedef struct {
    int64_t id;
    double created;        /* first store_run_begin */
    double started;        /* latest begin or resume */
    double ended;          /* latest store_run_end; NAN while running */
    double heartbeat;      /* latest sign of life */
    RunStatus status;      /* as read: a `running` run whose process is gone reads `crashed` */
    char *config;          /* JSON text ("{}" when none given) */
    char *recipe;          /* e.g. "seed" or "tiny" */
    char *corpus_path;
    int64_t corpus_bytes;
    int64_t corpus_lines;
    char *tokenizer_path;
    char *checkpoint_path; /* latest checkpoint written (or resumed from) */
    uint64_t seed;
    int ranks;             /* processes of its latest session (mpirun -np; 1 without MPI) */
    char *notes;
    int64_t pid;           /* process that wrote it last */
    char *host;
    /* Summary, filled by store_get_run and store_list_runs (ignored on input). */
    int64_t n_metrics, last_step, n_checkpoints;
    double last_loss;
} Run;

/* Records a new run from spec's config..notes fields (others ignored), status
 * running, owned by this process. */
int store_run_begin(Store *s, const Run *spec, int64_t *id, Err *e);
int store_run_heartbeat(Store *s, int64_t run, Err *e);
/* status is finished, stopped, failed or crashed. */
int store_run_end(Store *s, int64_t run, RunStatus status, Err *e);
/* The run that wrote (or started from) this checkpoint file, newest first;
 * *run = 0 when none. Paths are compared after realpath() when it resolves. */
int store_run_resume_find(Store *s, const char *checkpoint_path, int64_t *run, Err *e);
/* Marks an existing run running again, owned by this process. */
int store_run_resume(Store *s, int64_t run, Err *e);
/* A resumed run's ranks: those of the session now writing it. */
int store_run_set_ranks(Store *s, int64_t run, int ranks, Err *e);
/* Adds a line to the run's notes (a failed save, say). */
int store_run_note(Store *s, int64_t run, const char *line, Err *e);
int store_get_run(Store *s, int64_t run, Run *out, Err *e);
int store_list_runs(Store *s, Run **out, int *n, Err *e); /* newest first */
void run_free(Run *r);
void runs_free(Run *r, int n);

/* ---- metrics ---- */


/* Writes n rows in one transaction (and a heartbeat). A step already present
 * for the run is replaced, so a resumed run can log steps again. */
int store_add_metrics(Store *s, int64_t run, const Metric *rows, int n, Err *e);
/* Rows in step order; every > 1 keeps rows 0, every, 2*every, ... and the last.
 * *out is one malloc'd array (free()); NULL when n is 0. */
int store_run_metrics(Store *s, int64_t run, int every, Metric **out, int *n, Err *e);

/* ---- checkpoints ---- */

typedef struct {
    int64_t id;
    int64_t run_id;         /* 0: not from a recorded run */
    int64_t step;
    char *path;
    double time;            /* on input: NAN or <= 0 means now */
    int64_t bytes;          /* -1 unknown */
    double eval_loss;       /* NAN when not evaluated */
    double eval_accuracy;
} CkptRecord;

int store_add_checkpoint(Store *s, const CkptRecord *c, int64_t *id, Err *e);
int store_list_checkpoints(Store *s, int64_t run, CkptRecord **out, int *n, Err *e); /* by step */
/* Newest checkpoint (by time) whose file still exists; *path = NULL if none.
 * free() the path. */
int store_newest_checkpoint(Store *s, char **path, Err *e);
void checkpoints_free(CkptRecord *c, int n);

/* ---- samples ---- */

typedef enum { SAMPLE_INFILL, SAMPLE_FREE } SampleMode; /* stored as "infill", "sample" */
const char *sample_mode_name(SampleMode m);

typedef struct {
    int64_t id;
    double time;            /* on input: NAN or <= 0 means now */
    SampleMode mode;
    char *template_text;    /* the prompt with masked spans written {N} */
    char *result;
    int candidate;          /* index among the candidates of one request */
    char *sampler;          /* difflm, ddim, ddpm, unmask */
    int steps;
    uint64_t seed;
    int clamp;
    char *checkpoint_path;
    char *model;            /* one-line description of the model */
    double elapsed_s;       /* time the sampling took; NAN unknown (schema v2) */
    Trajectory traj;        /* traj.steps == 0: none */
} Sample;

int store_add_sample(Store *s, const Sample *smp, int64_t *id, Err *e);
/* Newest first (the candidates of one request, saved with one time, by
 * candidate: best first); query (NULL or "" for all) matches a substring of the template
 * or the result, ASCII case-insensitively (LIKE, with % and _ taken literally).
 * Trajectories are not loaded. */
int store_list_samples(Store *s, const char *query, int limit, int offset, Sample **out, int *n,
                       Err *e);
int store_count_samples(Store *s, const char *query, int64_t *count, Err *e);
/* One sample with its trajectory decoded; an undecodable blob is an error. */
int store_get_sample(Store *s, int64_t id, Sample *out, Err *e);
void sample_free(Sample *smp);
void samples_free(Sample *smp, int n);

/* ---- eval figures (store_evals.c) ---- */

typedef struct {
    char *path;             /* the checkpoint, canonical (realpath) when it resolves */
    double time;            /* on input: NAN or <= 0 means now */
    int lines;              /* held-out lines measured */
    double accuracy;        /* mean masked-token accuracy over the gap sizes */
    double accuracy_1tok;   /* the 1-token gap's */
    double cross_entropy;   /* mean, nats */
    char *sampler;
    int steps;
} EvalRecord;

int store_add_eval(Store *s, const EvalRecord *r, Err *e);
/* The newest eval of the checkpoint at path; *found = 0 (out untouched) when
 * none. Free with eval_record_free. */
int store_latest_eval(Store *s, const char *path, EvalRecord *out, int *found, Err *e);
void eval_record_free(EvalRecord *r);

#endif
