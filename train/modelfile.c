/* modelfile.c: opening a checkpoint with its tokenizer. */
#include "modelfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "paths.h"
#include "train_settings.h"

/* The shipped model's corpus, for a shipped checkpoint whose recorded one is not here (it was trained on
 * another machine). */
static void shipped_corpus(const char *ckpt, char *out, size_t cap) {
    char share[1024], shipped[1100], a[PATH_MAX], b[PATH_MAX];
    if (paths_share_dir(share, sizeof share, NULL)) return;
    snprintf(shipped, sizeof shipped, "%s/sdlm-default.safetensors", share);
    if (realpath(ckpt, a) && realpath(shipped, b) && !strcmp(a, b)) snprintf(out, cap, "%.1000s/corpus.txt", share);
}

int modelfile_open(ModelFile *mf, const char *ckpt, const char *spm_path, int use_ema, Err *e) {
    memset(mf, 0, sizeof *mf);
    Checkpoint ck = {0};
    if (ckpt_load(ckpt, &ck, e)) return -1;
    snprintf(mf->path, sizeof mf->path, "%s", ckpt);
    if (spm_path) {
        mf->spm = spm_load(spm_path, e);
        snprintf(mf->spm_source, sizeof mf->spm_source, "%s", spm_path);
    } else if (ck.spm) {
        mf->spm = spm_load_bytes(ck.spm, ck.spm_len, e);
        if (!mf->spm) err_wrap(e, "the tokenizer inside %s", ckpt);
        snprintf(mf->spm_source, sizeof mf->spm_source, "inside %s", ckpt);
    } else {
        err_set(e, "%s has no tokenizer inside: give one with -spm MODEL", ckpt);
    }
    if (!mf->spm) {
        ckpt_free(&ck);
        return -1;
    }
    int V = spm_vocab_size(mf->spm);
    if (V != ck.table.cfg.V) {
        err_set(e, "tokenizer %s has %d pieces but %s has a vocabulary of %d: use the tokenizer it was trained with",
                mf->spm_source, V, ckpt, ck.table.cfg.V);
        goto fail;
    }
    if (spm_eos_id(mf->spm) < 0) {
        err_set(e, "tokenizer %s has no EOS piece, which sequences end with", mf->spm_source);
        goto fail;
    }
    Config cfg = ck.table.cfg;
    cfg.dropout = 0;
    cfg.layerdrop = 0;
    if (model_alloc(&mf->model, &cfg, e)) goto fail;
    mf->used_ema = use_ema && ck.ema;
    memcpy(mf->model.w, mf->used_ema ? ck.ema : ck.weights, sizeof(float) * mf->model.table.total);
    const char *v = ckpt_meta(&ck, "step");
    mf->steps = v ? strtoll(v, NULL, 10) : (ck.adam_m ? ck.adam_step : 0);
    TrainConfig trained = trainer_defaults(); /* what the checkpoint says, else the seed's */
    train_settings_from_meta(&trained, &ck, TRAIN_READ_ALL);
    mf->shift = trained.shift;
    mf->crop_len = trained.crop_len;
    v = ckpt_meta(&ck, "warp");
    if (!v || warp_parse(&mf->warp, v)) warp_init(&mf->warp); /* an unreadable curve: the seed's spacing */
    v = ckpt_meta(&ck, "corpus");
    struct stat st;
    if (v) snprintf(mf->corpus, sizeof mf->corpus, "%s", v); /* when it is gone, the trigram says so */
    if (!v || stat(v, &st) || !S_ISREG(st.st_mode)) shipped_corpus(ckpt, mf->corpus, sizeof mf->corpus);
    double mparams = mf->model.table.total / 1e6;
    char steps[32];
    if (mf->steps >= 10000) snprintf(steps, sizeof steps, "%.0fk", mf->steps / 1e3);
    else if (mf->steps >= 1000) snprintf(steps, sizeof steps, "%.1fk", mf->steps / 1e3);
    else snprintf(steps, sizeof steps, "%lld", (long long)mf->steps);
    snprintf(mf->description, sizeof mf->description, "%.1fM params, %d pieces, %d layers x %d, %s steps%s%s%s%s%s",
             mparams, cfg.V, cfg.NL, cfg.D, steps, cfg.masked ? ", masked" : "", mf->used_ema ? ", EMA" : "",
             cfg.film_one_plus ? ", FiLM 1+gamma" : "", mf->warp.ready ? ", time warp" : "",
             trained.fixed_norm ? ", fixed norm" : "");
    ckpt_free(&ck);
    return 0;
fail:
    ckpt_free(&ck);
    if (mf->spm) spm_free(mf->spm);
    model_free(&mf->model);
    memset(mf, 0, sizeof *mf);
    return -1;
}

void modelfile_close(ModelFile *mf) {
    if (mf->spm) spm_free(mf->spm);
    model_free(&mf->model);
    memset(mf, 0, sizeof *mf);
}

void schedule_as_trained(SampleRequest *rq, float shift, const TimeWarp *warp, float *times) {
    rq->shift = shift;
    rq->times = NULL;
    if (warp && warp->ready) {
        warp_times(warp, rq->steps, times);
        rq->times = times;
    }
}

void modelfile_schedule(const ModelFile *mf, SampleRequest *rq, int warp, float *times) {
    schedule_as_trained(rq, mf->shift, warp ? &mf->warp : NULL, times);
}

int modelfile_trigram(const ModelFile *mf, const char *train, Ngram **out, Err *e) {
    *out = NULL;
    const char *path = train ? train : mf->corpus;
    if (!path[0]) return 0;
    if (ngram_fit(out, mf->spm, path, mf->crop_len, e)) return err_wrap(e, "fitting the trigram");
    return 0;
}
