/* session.h: what the editor talks to. A Session owns the model the editor
 * infills with, its tokenizer, the history database and (when one runs) a
 * background training run. Infill passes run on the session's own thread and
 * training steps on the trainer's; they take turns on BLAS (one at a time,
 * fairly), so the UI thread never computes and never blocks on them.
 *
 * The UI thread sends commands (these functions) and reads snapshots
 * (session_*_view) under one mutex; a byte is written to wake_fd whenever
 * something changed, so the UI can poll() it beside the keyboard. Nothing
 * here touches the terminal. */
#ifndef SDLM_SESSION_H
#define SDLM_SESSION_H

#include <stdint.h>

#include "sampler.h"
#include "err.h"
#include "trainer.h"

typedef struct Session Session;

typedef struct {
    const char *ckpt;  /* model to open; NULL: the user's choice, else the shipped model (models.h) */
    const char *spm;   /* tokenizer for a checkpoint without one inside; NULL: the one inside */
    const char *db;    /* history database; NULL: $XDG_DATA_HOME/sdlm/sdlm.db */
    int wake_fd;       /* written (one byte, non-blocking) when a view changed; -1 for none */
} SessionConfig;

/* Starts the session thread and tries to load the model. Fails only when the
 * process cannot (memory, threads); a missing or broken model or database is
 * reported in the views instead, so the editor still opens. */
int session_open(Session **out, const SessionConfig *cfg, Err *e);
/* Stops any infill, asks a training run to save and stop, joins the threads. */
void session_close(Session *s);

/* ---- the model ---- */

typedef struct {
    int loaded;                /* 0: error says why */
    char path[1024];
    char error[512];
    int V, E, D, NL, max_len;  /* max_len: the longest sequence the session samples */
    long params;
    int64_t steps;             /* optimiser steps it was trained for */
    char description[160];     /* "5.0M params, 2000 pieces, 4 layers, 1.8k steps, shipped" */
    char db_error[512];        /* non-empty when the history is unavailable (read-only, locked, corrupt) */
    int choice_gone;           /* opened the shipped model because the chosen model's file is gone */
} SessionModel;

void session_model(Session *s, SessionModel *out);
/* Loads another checkpoint for the editor (e.g. the newest of a training run).
 * Refused while an infill runs. On failure the current model stays. */
int session_load(Session *s, const char *ckpt, Err *e);

/* ---- the tokenizer (callable from the UI thread) ---- */

/* Encodes text as the model's pieces (plain encoding, no sampling); returns
 * the count, or -1 with e set. Fails when no model is loaded. */
int session_encode(Session *s, const char *text, int32_t *ids, int cap, Err *e);
/* The display text of one piece ("▁the" -> " the", byte pieces decoded, pad
 * and EOS -> ""), NUL-terminated into buf; returns its length. */
int session_piece(Session *s, int32_t id, char *buf, int cap);
/* The text of a run of pieces, as the tokenizer decodes it. */
int session_decode(Session *s, const int32_t *ids, int n, char *buf, int cap);

/* ---- infilling ---- */

typedef struct {
    SamplerKind sampler; /* default difflm */
    int steps;           /* default 200 */
    uint64_t seed;
    int random_seed;     /* 1: draw a fresh seed per run (the one used is reported) */
    int candidates;      /* 1..8 sequences sampled side by side */
    int clamp;           /* snap estimates to the nearest embedding */
    float fuse;          /* shallow fusion: lambda x the trigram of the model's corpus (0: off) */
} InfillSettings;

InfillSettings infill_defaults(void);

/* Starts filling the spans of a template ("The {3} sat on the {}."; see
 * template.h). Known text is encoded, spans become masked slots, EOS is
 * appended; the run animates through session_infill_view. Fails at once on a
 * bad template, no model, a sequence longer than the model allows, or a run
 * already going. When it finishes it is saved to the history with its
 * trajectory (unless the history is unavailable). */
int session_infill_start(Session *s, const char *template_text, const InfillSettings *set, Err *e);
/* When the run ends, its candidates are scored and put best first (see
 * InfillView.score). Re-runs one span (index among the spans) of candidate
 * `cand`, keeping the other spans as they were filled; it is scored again
 * and keeps its place. */
int session_infill_reroll(Session *s, int cand, int span, Err *e);
void session_infill_stop(Session *s); /* Esc: stops after the current pass */

enum { INFILL_MAX_CAND = 8, INFILL_MAX_LEN = 512 };

typedef struct {
    int active;              /* a run is going */
    int finished, stopped;   /* the last run ended normally / by stop */
    char error[512];
    int step, total;         /* passes done / to do (steps + the final pass) */
    float t;
    double ms_per_step;
    SamplerKind sampler;
    uint64_t seed;           /* the seed in use */
    float fuse;              /* the fusion lambda in use: 0 when off (or when no trigram could be fitted) */
    char fuse_note[512];     /* why fusion asked for is off, e.g. no corpus known; "" otherwise */
    int candidates, len;     /* sequences and their length in tokens (incl. EOS) */
    int32_t ids[INFILL_MAX_CAND][INFILL_MAX_LEN];
    float conf[INFILL_MAX_CAND][INFILL_MAX_LEN];
    uint8_t masked[INFILL_MAX_LEN];     /* 1 on span slots */
    int span_of[INFILL_MAX_LEN];        /* span index of a slot, -1 on known tokens */
    int nspans;
    int64_t sample_id[INFILL_MAX_CAND]; /* history ids once saved, else 0 */
    /* the model's own score of each finished fill (session/score.h), nats per
     * filled token, lower is better; NAN until scored. A finished run's
     * candidates are in rank order: candidate 0 is the best. */
    float score[INFILL_MAX_CAND];
    char score_note[512];    /* why a finished run's candidates are not scored (NAN), e.g. out of memory; "" */
    /* the index candidate c had while it was sampled (and animated): the
     * identity until the run is ranked */
    int sampled_as[INFILL_MAX_CAND];
    uint64_t serial;                    /* changes whenever the view does */
} InfillView;

void session_infill_view(Session *s, InfillView *out);

/* The trajectory of the last run's candidate `cand`: ids and confidences of
 * every pass, for the scrubber. Returns the pass count (0 when none); ids and
 * conf get pass-major [passes][len] arrays the caller frees. */
int session_infill_trajectory(Session *s, int cand, int32_t **ids, float **conf, float **t);

/* ---- training in the background ---- */

/* Starts a training run (one at a time) beside the editor. */
int session_train_start(Session *s, const TrainConfig *cfg, Err *e);
typedef enum { TRAIN_CMD_PAUSE, TRAIN_CMD_RESUME, TRAIN_CMD_SAVE, TRAIN_CMD_STOP } TrainCommand;
void session_train_command(Session *s, TrainCommand c);
/* Progress of the current or last run; state TRAIN_IDLE when none ran. */
void session_train_view(Session *s, TrainProgress *out);
/* Size presets for the training screen: name, E, D, NL, batch, lr. */
typedef struct {
    const char *name, *about;
    int E, D, NL, batch;
    float lr;
} TrainPreset;
const TrainPreset *train_presets(int *count);

#endif
