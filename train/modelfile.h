/* modelfile.h: a checkpoint opened for use: its weights (the EMA when the
 * checkpoint keeps one), its tokenizer (inside it, or given), and what it
 * says about itself. What `sdlm infill`, `sample`, `eval` and the editor
 * load. The tokenizer must match the model: a vocabulary of another size is
 * an error naming both. */
#ifndef SDLM_MODELFILE_H
#define SDLM_MODELFILE_H

#include <stdint.h>

#include "diffusion.h"
#include "err.h"
#include "model.h"
#include "ngram.h"
#include "spm.h"
#include "timewarp.h"

typedef struct {
    Model model;
    Spm *spm;
    char path[1024];
    char spm_source[1100];
    int64_t steps;      /* training steps recorded in the checkpoint (0 if unknown) */
    int used_ema;       /* the weights are the EMA */
    int crop_len;       /* the length it was trained at (64 when unknown) */
    float shift;        /* the schedule shift it was trained with (1: the seed's) */
    TimeWarp warp;      /* its learned time curve; warp.ready when it has one */
    char corpus[1024];  /* the text it was trained on (metadata `corpus`; share/corpus.txt for the
                         * shipped model when it records none); "" when unknown */
    char description[160];
} ModelFile;

/* spm_path NULL: the tokenizer inside the checkpoint. use_ema: prefer EMA weights. */
int modelfile_open(ModelFile *mf, const char *ckpt, const char *spm_path, int use_ema, Err *e);
void modelfile_close(ModelFile *mf);
/* Fills rq's schedule as the model was trained: its shift and, when it has a
 * time curve and warp is set, step times spaced by it (times: room for
 * rq->steps + 1, alive while sampling). Otherwise the seed's spacing. */
void modelfile_schedule(const ModelFile *mf, SampleRequest *rq, int warp, float *times);
/* The same for a model being trained: its shift and, when warp is not NULL and fitted, step
 * times spaced by it. */
void schedule_as_trained(SampleRequest *rq, float shift, const TimeWarp *warp, float *times);
/* The trigram anchor over the model's pieces (data/ngram.h), fitted on
 * `train`, or when that is NULL on mf->corpus. *out stays NULL (and 0 is
 * returned) when neither names a file; a file that cannot be read is an error. */
int modelfile_trigram(const ModelFile *mf, const char *train, Ngram **out, Err *e);

#endif
