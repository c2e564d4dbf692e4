/* trainer_prepare.c: what a run needs before its first step: the tokenizer
 * (given, inside the resumed checkpoint, or trained on the corpus), the model
 * (new, or resumed with its moments, position and settings), the buffers of
 * one step, every rank's copy of rank 0's state, and the run in the history.
 *
 * Not here: the corpus index (corpus.c) and the order of these steps
 * (trainer.c's prepare). */
#include "trainer_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "paths.h"
#include "fileguard.h"

static int prepare_tokenizer(Trainer *t, const Checkpoint *resume, Err *e) {
    const TrainConfig *c = &t->cfg;
    if (c->spm) {
        if (!(t->spm = spm_load(c->spm, e))) return -1;
        snprintf(t->spm_path, sizeof t->spm_path, "%s", c->spm);
    } else if (resume && resume->spm) {
        if (!(t->spm = spm_load_bytes(resume->spm, resume->spm_len, e)))
            return err_wrap(e, "the tokenizer inside %s", t->ckpt_path);
        snprintf(t->spm_path, sizeof t->spm_path, "(inside %.1000s)", t->ckpt_path);
    } else if (c->vocab > 0 && t->ranks > 1) { /* every rank would write the same files */
        return err_set(e, "no tokenizer: under mpirun give -spm MODEL (make one with sdlm tokenizer, or by a "
                       "one-rank run)");
    } else if (c->vocab > 0) {
        char prefix[1100];
        snprintf(prefix, sizeof prefix, "%s.tokenizer", t->ckpt_path);
        trainer_set_state(t, TRAIN_PREPARING, "training a %d-piece tokenizer on %s", c->vocab, t->corpus_path);
        SpmTrainInfo info;
        if (spm_train_corpus(&t->corpus, prefix, c->vocab, &info, e)) return -1;
        snprintf(t->spm_path, sizeof t->spm_path, "%.1000s.model", prefix);
        if (!(t->spm = spm_load(t->spm_path, e))) return -1;
    } else {
        return err_set(e, "no tokenizer: give -spm MODEL (or train one with sdlm tokenizer)");
    }
    if (spm_eos_id(t->spm) < 0 || spm_pad_id(t->spm) < 0)
        return err_set(e, "tokenizer %s has no %s piece; batches need pad and EOS (sdlm tokenizer makes both)",
                       t->spm_path, spm_eos_id(t->spm) < 0 ? "EOS" : "pad");
    return 0;
}

static int64_t meta_i64(const Checkpoint *ck, const char *key, int64_t dflt) {
    const char *v = ckpt_meta(ck, key);
    return v ? strtoll(v, NULL, 10) : dflt;
}

/* The model's config: the resumed checkpoint's (whose tokenizer must match), or a new one of
 * the flags' size. The flags' dropout applies either way. */
static int model_config(Trainer *t, const Checkpoint *ck, Config *cfg, Err *e) {
    const TrainConfig *c = &t->cfg;
    int V = spm_vocab_size(t->spm);
    if (ck) {
        *cfg = ck->table.cfg;
        if (cfg->V != V)
            return err_set(e, "tokenizer %s has %d pieces but %s was trained with %d: give the tokenizer it was "
                           "trained with",
                           t->spm_path, V, t->ckpt_path, cfg->V);
        if (c->spm && ck->spm && ckptguard_same_tokenizer(t->spm, c->spm, ck->spm, ck->spm_len, t->ckpt_path, e))
            return -1;
    } else {
        *cfg = config_default(V);
        cfg->E = c->E, cfg->D = c->D, cfg->NL = c->NL, cfg->F = 4 * c->D;
        cfg->R = c->D / cfg->H < 32 ? c->D / cfg->H - (c->D / cfg->H) % 2 : 32;
        cfg->film_one_plus = c->film_one_plus;
        cfg->masked = c->masked;
    }
    cfg->dropout = c->dropout;
    cfg->layerdrop = c->layerdrop;
    return 0;
}

/* A resumed run continues with the settings it was started with (TRAIN_SETTINGS' resume column),
 * at its position, with its time curve. */
static void resume_from(Trainer *t, const Checkpoint *ck) {
    size_t P = t->model.table.total;
    memcpy(t->model.w, ck->weights, sizeof(float) * P);
    if (ck->adam_m) {
        memcpy(t->adam_m, ck->adam_m, sizeof(float) * P);
        memcpy(t->adam_v, ck->adam_v, sizeof(float) * P);
    }
    if (t->ema) memcpy(t->ema, ck->ema ? ck->ema : ck->weights, sizeof(float) * P);
    t->adam_steps_taken = ck->adam_m ? ck->adam_step : 0;
    t->step = meta_i64(ck, "step", t->adam_steps_taken);
    t->epoch = meta_i64(ck, "epoch", 0);
    t->index = meta_i64(ck, "index", 0);
    const char *v = ckpt_meta(ck, "elapsed_s");
    t->elapsed_before = v ? strtod(v, NULL) : 0;
    TrainConfig *c = &t->cfg;
    train_settings_from_meta(c, ck, TRAIN_READ_RESUMED);
    c->film_one_plus = ck->table.cfg.film_one_plus; /* the MODEL settings: the checkpoint's config */
    c->masked = ck->table.cfg.masked;
    warp_init(&t->warp);
    if (c->time_warp && (v = ckpt_meta(ck, "warp"))) warp_parse(&t->warp, v); /* bad text: start the curve anew */
}

/* The weights, gradient, moments and EMA blocks. */
static int alloc_blocks(Trainer *t, const Config *cfg, Err *e) {
    if (model_alloc(&t->model, cfg, e)) return -1;
    size_t P = t->model.table.total;
    int with_ema = t->cfg.ema > 0;
    t->grad = calloc(P, sizeof(float));
    t->adam_m = calloc(P, sizeof(float));
    t->adam_v = calloc(P, sizeof(float));
    t->ema = with_ema ? calloc(P, sizeof(float)) : NULL;
    if (!t->grad || !t->adam_m || !t->adam_v || (with_ema && !t->ema))
        return err_set(e, "out of memory for a model of %zu parameters", P);
    params_bind(&t->g, &t->model.table, t->grad);
    return 0;
}

/* The workspaces and buffers of one step, for chunks of at most CHUNK sequences. */
static int alloc_step_buffers(Trainer *t, const Config *cfg, Err *e) {
    const TrainConfig *c = &t->cfg;
    t->chunk = c->chunk > 0 && c->chunk < CHUNK ? c->chunk : CHUNK;
    if (t->chunk > c->batch) t->chunk = c->batch;
    int chunk = t->chunk;
    int ngen = c->ngen > 0 ? c->ngen : 1;
    if (workspace_alloc(&t->ws, cfg, chunk, c->crop_len, c->recompute ? WS_TRAIN_RECOMPUTE : WS_TRAIN, e) ||
        workspace_alloc(&t->ws_eval, cfg, ngen > TRAIN_PROBES ? ngen : TRAIN_PROBES, c->crop_len, 0, e))
        return -1;
    if (batch_alloc(&t->batch, c->batch, c->crop_len, e)) return -1;
    t->zbuf = malloc(sizeof(float) * (size_t)chunk * c->crop_len * cfg->E);
    t->rowstat = malloc(sizeof(float) * (size_t)c->batch * ROWSTAT);
    t->mvis = malloc((size_t)c->batch * c->crop_len);
    t->mtime = malloc(sizeof(float) * (size_t)c->batch);
    t->mweight = malloc(sizeof(float) * (size_t)c->batch);
    if (!t->zbuf || !t->rowstat || !t->mvis || !t->mtime || !t->mweight) return err_set(e, "out of memory");
    return 0;
}

int trainer_prepare_model(Trainer *t, Err *e) {
    Checkpoint ck = {0};
    int resuming = fileguard_is_regular(t->ckpt_path);
    if (resuming && ckpt_load(t->ckpt_path, &ck, e)) return err_wrap(e, "cannot resume");
    Config cfg;
    if (prepare_tokenizer(t, resuming ? &ck : NULL, e) || model_config(t, resuming ? &ck : NULL, &cfg, e) ||
        config_validate(&cfg, e) || alloc_blocks(t, &cfg, e)) {
        ckpt_free(&ck);
        return -1;
    }
    if (resuming) {
        resume_from(t, &ck);
    } else {
        params_init(&t->model.table, t->model.w, t->cfg.seed);
        if (t->ema) memcpy(t->ema, t->model.w, sizeof(float) * t->model.table.total);
    }
    train_settings_for_family(&t->cfg, cfg.masked); /* a masked model has no noise schedule to set */
    ckpt_move_foreign(&t->foreign, &ck);
    ckpt_free(&ck);
    return alloc_step_buffers(t, &cfg, e);
}

void trainer_share_state(Trainer *t) {
    size_t bytes = sizeof(float) * t->model.table.total;
    dist_bcast(t->model.w, bytes);
    dist_bcast(t->adam_m, bytes);
    dist_bcast(t->adam_v, bytes);
    if (t->ema) dist_bcast(t->ema, bytes);
    int64_t pos[4] = {t->step, t->adam_steps_taken, t->epoch, t->index};
    dist_bcast(pos, sizeof pos);
    t->step = pos[0], t->adam_steps_taken = pos[1], t->epoch = pos[2], t->index = pos[3];
    dist_bcast(&t->warp, sizeof t->warp);
    dist_bcast(&t->elapsed_before, sizeof t->elapsed_before);
}

/* A new run in the history: its settings as JSON, the corpus, tokenizer and checkpoint. */
static int begin_run(Trainer *t, int64_t *run, Err *e) {
    const TrainConfig *c = &t->cfg;
    char config[1024], recipe[16] = "?";
    if (train_settings_to_json(c, &t->model.cfg, config, sizeof config))
        return err_set(e, "the run's settings do not fit in %zu bytes of JSON", sizeof config);
    train_choice_name(TRAIN_SETTING(recipe), c->recipe, recipe, sizeof recipe);
    Run spec = {0};
    spec.config = config;
    spec.recipe = recipe;
    spec.corpus_path = t->corpus_path;
    spec.corpus_bytes = (int64_t)t->corpus.bytes;
    spec.corpus_lines = corpus_count(&t->corpus);
    spec.tokenizer_path = t->spm_path;
    spec.checkpoint_path = t->ckpt_path;
    spec.seed = c->seed;
    spec.ranks = t->ranks;
    spec.notes = (char *)"";
    return store_run_begin(t->store, &spec, run, e);
}

int trainer_prepare_history(Trainer *t, Err *e) {
    const TrainConfig *c = &t->cfg;
    if (c->db && !c->db[0]) return 0; /* --db "": no history */
    if (t->rank != 0) return 0;        /* rank 0 records the run */
    if (c->db) snprintf(t->db_path, sizeof t->db_path, "%s", c->db);
    else if (paths_default_db(t->db_path, sizeof t->db_path, e)) return -1;
    if (store_open(&t->store, t->db_path, 0, e)) return -1;
    if (store_readonly(t->store)) {
        store_close(t->store);
        t->store = NULL;
        return err_set(e, "%s is read-only", t->db_path);
    }
    int64_t run = 0; /* a resumed checkpoint continues its run */
    if (fileguard_is_regular(t->ckpt_path) && store_run_resume_find(t->store, t->ckpt_path, &run, e)) return -1;
    if (run) {
        if (store_run_resume(t->store, run, e) || store_run_set_ranks(t->store, run, t->ranks, e)) return -1;
    } else if (begin_run(t, &run, e)) {
        return -1;
    }
    t->run_id = run;
    return 0;
}
