/* models.h: which model sdlm uses when none is named, and the models a user
 * can choose from. One rule for the editor and for `sdlm infill`, `sample`
 * and `eval`:
 *
 *   1. the model the user chose (the editor's model picker, or "use this
 *      checkpoint" on the training screen), kept as one line in
 *      <data dir>/model, while that file still exists;
 *   2. else the shipped model, <share dir>/sdlm-default.safetensors.
 *
 * Training never changes the choice by itself. The list for the picker is
 * the shipped model and every checkpoint in the data folder (<data dir>/
 * models/ and <data dir>/ itself) and in the history, read from their
 * headers only (no weights loaded), with the newest `sdlm eval` figure the
 * history holds for each. Checkpoints that have not trained a step are left
 * out: they would only fill noise. */
#ifndef SDLM_MODELS_H
#define SDLM_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Below this many steps a model's fills are noise: the editor says so. */
#define MODELS_YOUNG_STEPS 500

typedef struct {
    char path[1024];
    char name[256];          /* the file name */
    int shipped;
    int64_t bytes;
    double mtime;            /* unix seconds */
    int64_t steps;           /* -1 unknown */
    long params;
    int V, D, NL;
    char recipe[32];         /* "sdlm", "seed", "" when not recorded */
    char family[32];         /* "continuous" (also when not recorded) or "masked" */
    int has_eval;
    double eval_accuracy;    /* mean masked-token accuracy of the newest eval */
    double eval_accuracy_1tok;
    char error[256];         /* non-empty: the file could not be read (listed anyway) */
} ModelEntry;

/* The shipped model's path. */
int models_shipped(char *out, size_t cap, Err *e);
/* The model to use when none is named (rule above); *why (may be NULL) gets
 * a short phrase: "chosen in the model picker", "the shipped model", or the
 * shipped model because the chosen file is gone. */
int models_default(char *out, size_t cap, const char **why, Err *e);
#define MODELS_RULE_GONE "the shipped model: the one chosen in the model picker is gone" /* a *why */
/* Remembers path (made absolute) as the user's choice; atomic. */
int models_choose(const char *path, Err *e);
/* The choice file's path: <data dir>/model. */
int models_choice_file(char *out, size_t cap, Err *e);

/* Reads one checkpoint's header into m (m->error says what failed). */
void models_read_entry(const char *path, ModelEntry *m);
/* The shipped model first, then checkpoints newest first. db: the history
 * for eval figures and recorded checkpoints (NULL: the default one). */
int models_list(const char *db, ModelEntry **out, int *n, Err *e);

#endif
