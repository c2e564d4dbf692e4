/* samplerun.h: a finished sampling run into the history.
 *
 * A run samples `cands` sequences side by side and keeps every pass: the ids
 * and confidences [passes][cands][len] and the times [passes]. Each candidate
 * is saved as one Sample (store.h) with its own trajectory cut from those
 * arrays, with the settings of the run and the model it ran on. `sdlm infill`,
 * `sdlm sample` and the editor's session all save their runs this way.
 *
 * Not here: opening the history, or what a failure to save means (a warning
 * for the commands, a note in the editor's view). */
#ifndef SDLM_SAMPLERUN_H
#define SDLM_SAMPLERUN_H

#include <stdint.h>

#include "diffusion.h"
#include "err.h"
#include "modelfile.h"
#include "store.h"

typedef struct {
    const ModelFile *mf;       /* the model: its path and description are saved */
    SampleMode mode;           /* SAMPLE_INFILL or SAMPLE_FREE */
    const char *template_text; /* as saved ("{}" written as the length it had); "" for free samples */
    SamplerKind sampler;       /* as it ran (after sampler_fit) */
    int steps, clamp;
    uint64_t seed;
    double time;               /* when it ran, seconds since the epoch, one for all candidates; NAN: now */
    double elapsed_s;          /* how long the sampling took */
    int passes, cands, len;
    const int32_t *ids;        /* [passes, cands, len] */
    const float *conf;         /* [passes, cands, len] */
    const float *t;            /* [passes] */
    const uint8_t *known;      /* [len] 1 at the given positions, which were not sampled; NULL: none */
} SampleRun;

/* Saves column `col` of the run, with its final text, as candidate `cand`
 * (its place among the run's candidates, e.g. its rank). *id gets the row's
 * id (id may be NULL). Returns 0, or -1 with e filled. */
int samplerun_save(Store *st, const SampleRun *r, int col, int cand, const char *text, int64_t *id, Err *e);

#endif
