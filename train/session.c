/* session.c: the editor's engine: one model for infilling on the session's
 * thread, one optional background training run, the history. The UI thread
 * calls the functions of session.h; everything it reads comes from snapshots
 * copied under the mutex. A byte on wake_fd tells it something changed. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_lock.h"
#include "infill.h"
#include "modelfile.h"
#include "models.h"
#include "ngram.h"
#include "paths.h"
#include "score.h"
#include "store.h"
#include "template.h"
#include "traj.h"
#include "clock.h"

enum { JOB_NONE, JOB_INFILL, JOB_REROLL };
#define INFILL_SLICE_S 0.03 /* longest hold of the engine by an infill between turns */

struct Session {
    SessionConfig cfg;
    char db_path[1024];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
    /* the model (replaced only when no job runs) */
    ModelFile mf;
    int loaded;
    char load_error[512];
    char db_error[512];
    /* the job queued or running */
    int job, running, stop;
    InfillSettings set;
    Template tmpl;
    InfillSeq seq;
    int reroll_cand, reroll_span;
    char template_text[8192];
    /* what the UI sees */
    InfillView view;
    /* the last run's trajectory: [passes][cand][len] */
    int32_t *traj_ids;
    float *traj_conf, *traj_t;
    int traj_passes, traj_cap;
    Store *store; /* the session thread's own connection */
    Trainer *trainer;
    TrainProgress *train_last; /* the final progress of a finished run, kept for the view */
    /* the trigram for fusion: fitted lazily on the session thread, dropped with its model */
    Ngram *trigram;
    NgramFusion fusion;
    int trigram_tried;
    char trigram_error[512];
};

/* The shipped model is masked, so reveal (a continuous model runs difflm instead: sampler_fit); fusion with
 * the trigram at 1 fills above both the model alone and the trigram on every gap size (docs/quality.md). */
InfillSettings infill_defaults(void) {
    return (InfillSettings){.sampler = SAMPLER_REVEAL, .steps = 200, .seed = 0, .random_seed = 1, .candidates = 1,
                            .clamp = 0, .fuse = 1.0f};
}

static void wake(Session *s) {
    if (s->cfg.wake_fd >= 0) {
        char c = 's';
        ssize_t rc = write(s->cfg.wake_fd, &c, 1);
        (void)rc; /* a full pipe already holds a wake-up */
    }
}

/* ---- the model -------------------------------------------------------------------- */

static void describe(Session *s, SessionModel *m) {
    memset(m, 0, sizeof *m);
    m->loaded = s->loaded;
    snprintf(m->path, sizeof m->path, "%s", s->mf.path[0] ? s->mf.path : "");
    snprintf(m->error, sizeof m->error, "%s", s->load_error);
    snprintf(m->db_error, sizeof m->db_error, "%s", s->db_error);
    if (!s->loaded) return;
    const Config *c = &s->mf.model.cfg;
    m->V = c->V, m->E = c->E, m->D = c->D, m->NL = c->NL;
    m->max_len = INFILL_MAX_LEN;
    m->params = (long)s->mf.model.table.total;
    m->steps = s->mf.steps;
    snprintf(m->description, sizeof m->description, "%s", s->mf.description);
}

void session_model(Session *s, SessionModel *out) {
    pthread_mutex_lock(&s->mu);
    describe(s, out);
    pthread_mutex_unlock(&s->mu);
}

/* Forgets the trigram of the model being replaced (no job runs). */
static void drop_trigram(Session *s) {
    if (s->trigram) ngram_fusion_free(&s->fusion), ngram_free(s->trigram);
    s->trigram = NULL;
    s->trigram_tried = 0;
    s->trigram_error[0] = 0;
}

/* The fusion for a run at lambda, fitting the model's trigram the first time
 * (on the session thread: no BLAS, so without the engine lock). NULL when it
 * cannot be had; trigram_error says why. */
static NgramFusion *fusion_for(Session *s, float lambda) {
    if (lambda <= 0) return NULL;
    if (!s->trigram_tried) {
        Err e;
        s->trigram_tried = 1;
        if (modelfile_trigram(&s->mf, NULL, &s->trigram, &e)) snprintf(s->trigram_error, sizeof s->trigram_error, "%s", e.msg);
        else if (!s->trigram) snprintf(s->trigram_error, sizeof s->trigram_error, "the model records no training corpus");
        else if (ngram_fusion_init(&s->fusion, s->trigram, lambda, s->mf.model.cfg.V, &e)) {
            snprintf(s->trigram_error, sizeof s->trigram_error, "%s", e.msg);
            ngram_free(s->trigram), s->trigram = NULL;
        }
    }
    if (!s->trigram) return NULL;
    s->fusion.lambda = lambda;
    return &s->fusion;
}

int session_load(Session *s, const char *ckpt, Err *e) {
    pthread_mutex_lock(&s->mu);
    int busy = s->job || s->running;
    pthread_mutex_unlock(&s->mu);
    if (busy) return err_set(e, "an infill is running: stop it (Esc) before changing models");
    ModelFile mf;
    if (modelfile_open(&mf, ckpt, s->cfg.spm, 1, e)) return -1;
    pthread_mutex_lock(&s->mu);
    if (s->loaded) modelfile_close(&s->mf);
    drop_trigram(s);
    s->mf = mf;
    s->loaded = 1;
    s->load_error[0] = 0;
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return 0;
}

/* ---- the tokenizer --------------------------------------------------------------------- */

int session_encode(Session *s, const char *text, int32_t *ids, int cap, Err *e) {
    if (!s->loaded) return err_set(e, "no model is loaded");
    int n = 0;
    if (spm_encode(s->mf.spm, text, strlen(text), (int *)ids, cap, &n, e)) return -1;
    return n;
}

int session_piece(Session *s, int32_t id, char *buf, int cap) {
    if (cap > 0) buf[0] = 0;
    return s->loaded ? infill_piece_text(s->mf.spm, id, buf, cap) : 0;
}

int session_decode(Session *s, const int32_t *ids, int n, char *buf, int cap) {
    if (cap > 0) buf[0] = 0;
    if (!s->loaded || cap < 1) return 0;
    size_t len = 0;
    if (spm_decode(s->mf.spm, (const int *)ids, n, buf, (size_t)cap, &len, NULL)) return 0;
    return (int)(len < (size_t)cap ? len : (size_t)cap - 1);
}

/* ---- infilling ----------------------------------------------------------------------- */

static int check_settings(const InfillSettings *set, Err *e) {
    if (set->sampler < 0 || set->sampler >= SAMPLER_COUNT) return err_set(e, "unknown sampler");
    if (set->steps < 1 || set->steps > 10000) return err_set(e, "steps must be 1..10000, not %d", set->steps);
    if (set->candidates < 1 || set->candidates > INFILL_MAX_CAND)
        return err_set(e, "candidates must be 1..%d, not %d", INFILL_MAX_CAND, set->candidates);
    if (!(set->fuse >= 0 && set->fuse <= 100)) return err_set(e, "fusion must be 0..100, not %g", (double)set->fuse);
    return 0;
}

int session_infill_start(Session *s, const char *template_text, const InfillSettings *set, Err *e) {
    if (!s->loaded) return err_set(e, "no model is loaded: %s", s->load_error[0] ? s->load_error : "open one first");
    if (check_settings(set, e)) return -1;
    pthread_mutex_lock(&s->mu);
    int busy = s->job || s->running;
    pthread_mutex_unlock(&s->mu);
    if (busy) return err_set(e, "an infill is already running");
    Template t;
    InfillSeq seq;
    if (template_parse(&t, template_text, strlen(template_text), 0, e)) return -1;
    if (!t.spans) {
        template_free(&t);
        return err_set(e, "there is no span to fill: mark one first");
    }
    if (infill_build(s->mf.spm, &t, INFILL_MAX_LEN, &seq, e)) {
        template_free(&t);
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    template_free(&s->tmpl);
    infill_seq_free(&s->seq);
    s->tmpl = t;
    s->seq = seq;
    s->set = *set;
    if (set->random_seed) s->set.seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)(now_s() * 1e6);
    snprintf(s->template_text, sizeof s->template_text, "%s", template_text);
    s->job = JOB_INFILL;
    s->stop = 0;
    InfillView *v = &s->view;
    memset(v, 0, sizeof *v);
    v->active = 1;
    v->total = s->set.steps + 1;
    v->sampler = sampler_fit(s->set.sampler, &s->mf.model.cfg); /* as the job will run it */
    v->seed = s->set.seed;
    v->candidates = s->set.candidates;
    v->len = seq.len;
    v->nspans = t.spans;
    for (int c = 0; c < INFILL_MAX_CAND; c++) v->score[c] = NAN, v->sampled_as[c] = c;
    for (int i = 0; i < seq.len; i++) {
        v->masked[i] = !seq.known[i];
        v->span_of[i] = seq.span_of[i];
        for (int c = 0; c < v->candidates; c++) v->ids[c][i] = seq.ids[i], v->conf[c][i] = seq.known[i] ? 1 : 0;
    }
    v->serial++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return 0;
}

int session_infill_reroll(Session *s, int cand, int span, Err *e) {
    pthread_mutex_lock(&s->mu);
    int busy = s->job || s->running, ok = s->view.finished || s->view.stopped;
    int cands = s->view.candidates, spans = s->view.nspans;
    pthread_mutex_unlock(&s->mu);
    if (busy) return err_set(e, "an infill is already running");
    if (!ok) return err_set(e, "fill the spans first");
    if (cand < 0 || cand >= cands || span < 0 || span >= spans)
        return err_set(e, "no span %d in candidate %d", span + 1, cand + 1);
    pthread_mutex_lock(&s->mu);
    s->job = JOB_REROLL;
    s->reroll_cand = cand;
    s->reroll_span = span;
    s->stop = 0;
    if (s->set.random_seed) s->set.seed = (uint64_t)(now_s() * 1e6) * 2654435761u;
    else s->set.seed++;
    s->view.active = 1;
    s->view.finished = s->view.stopped = 0;
    s->view.step = 0;
    s->view.error[0] = 0;
    s->view.seed = s->set.seed;
    s->view.score[cand] = NAN;
    s->view.serial++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return 0;
}

void session_infill_stop(Session *s) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
}

void session_infill_view(Session *s, InfillView *out) {
    pthread_mutex_lock(&s->mu);
    memcpy(out, &s->view, sizeof *out);
    pthread_mutex_unlock(&s->mu);
}

int session_infill_trajectory(Session *s, int cand, int32_t **ids, float **conf, float **t) {
    *ids = NULL, *conf = NULL, *t = NULL;
    pthread_mutex_lock(&s->mu);
    int passes = s->traj_passes, len = s->view.len, cands = s->view.candidates;
    if (s->running || cand < 0 || cand >= cands || passes < 1) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    *ids = malloc(sizeof(int32_t) * passes * len);
    *conf = malloc(sizeof(float) * passes * len);
    *t = malloc(sizeof(float) * passes);
    if (!*ids || !*conf || !*t) {
        free(*ids), free(*conf), free(*t);
        *ids = NULL, *conf = NULL, *t = NULL;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    for (int p = 0; p < passes; p++) {
        memcpy(*ids + (long)p * len, s->traj_ids + ((long)p * cands + cand) * len, sizeof(int32_t) * len);
        memcpy(*conf + (long)p * len, s->traj_conf + ((long)p * cands + cand) * len, sizeof(float) * len);
        (*t)[p] = s->traj_t[p];
    }
    pthread_mutex_unlock(&s->mu);
    return passes;
}

/* Saves each finished candidate with its trajectory; problems go to db_error. */
static void save_samples(Session *s, const int32_t *final, int B, int L, int first_cand, double elapsed) {
    Err e;
    if (!s->store && store_open(&s->store, s->db_path, 0, &e)) goto fail;
    if (store_readonly(s->store)) {
        err_set(&e, "%.400s is read-only: samples are not saved", s->db_path);
        goto fail;
    }
    char tmpl[8192];
    template_format(&s->tmpl, tmpl, sizeof tmpl);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (int b = 0; b < B; b++) {
        int cand = first_cand + b;
        char text[8192];
        infill_render(s->mf.spm, &s->tmpl, &s->seq, final + (long)b * L, text, sizeof text);
        Sample smp = {0};
        smp.time = now.tv_sec + now.tv_nsec * 1e-9; /* one time for the run: the history lists its best first */
        smp.mode = SAMPLE_INFILL;
        smp.template_text = tmpl;
        smp.result = text;
        smp.candidate = cand;
        smp.sampler = (char *)sampler_name(s->set.sampler);
        smp.steps = s->set.steps;
        smp.seed = s->set.seed;
        smp.clamp = s->set.clamp;
        smp.checkpoint_path = s->mf.path;
        smp.model = s->mf.description;
        smp.elapsed_s = elapsed;
        int passes = s->traj_passes, cands = s->view.candidates;
        if (traj_alloc(&smp.traj, passes, L, (uint32_t)s->mf.model.cfg.V, &e)) goto fail;
        for (int p = 0; p < passes; p++) {
            smp.traj.t[p] = s->traj_t[p];
            for (int i = 0; i < L; i++) {
                smp.traj.ids[(long)p * L + i] = (uint32_t)s->traj_ids[((long)p * cands + cand) * L + i];
                smp.traj.conf[(long)p * L + i] = s->traj_conf[((long)p * cands + cand) * L + i];
            }
        }
        for (int i = 0; i < L; i++) smp.traj.masked[i] = !s->seq.known[i];
        int64_t id = 0;
        int rc = store_add_sample(s->store, &smp, &id, &e);
        traj_free(&smp.traj);
        if (rc) goto fail;
        pthread_mutex_lock(&s->mu);
        s->view.sample_id[cand] = id;
        s->view.serial++;
        pthread_mutex_unlock(&s->mu);
    }
    return;
fail:
    pthread_mutex_lock(&s->mu);
    snprintf(s->db_error, sizeof s->db_error, "%s", e.msg);
    pthread_mutex_unlock(&s->mu);
}

/* Scores the finished fills final [B, L] with the model (on this thread,
 * under the engine lock) and puts a new run's candidates best first: the
 * final ids, the view and the trajectory alike. A re-roll's one candidate
 * is scored again in its place. A failure to score leaves NAN scores and
 * the sampling order. */
static void rank_candidates(Session *s, int32_t *final, int B, int L, int job, int cand) {
    float nats[INFILL_MAX_CAND];
    int order[INFILL_MAX_CAND];
    uint8_t *known = malloc((size_t)B * L);
    int32_t *tmp = malloc(sizeof(int32_t) * B * L);
    float *ftmp = malloc(sizeof(float) * B * L);
    Err e;
    int rc = -1;
    if (known && tmp && ftmp) {
        for (int b = 0; b < B; b++) memcpy(known + (long)b * L, s->seq.known, (size_t)L);
        engine_lock();
        rc = score_fills(&s->mf, final, known, NULL, B, L, nats, &e);
        engine_unlock();
        if (rc) fprintf(stderr, "infill: not scored: %s\n", e.msg);
    }
    pthread_mutex_lock(&s->mu);
    InfillView *v = &s->view;
    if (!rc && job == JOB_REROLL) {
        v->score[cand] = nats[0];
    } else if (!rc) {
        score_rank(nats, B, order);
        memcpy(tmp, final, sizeof(int32_t) * B * L);
        for (int i = 0; i < B; i++) memcpy(final + (long)i * L, tmp + (long)order[i] * L, sizeof(int32_t) * L);
        for (int i = 0; i < B; i++) memcpy(tmp + (long)i * L, v->ids[order[i]], sizeof(int32_t) * L);
        for (int i = 0; i < B; i++) memcpy(v->ids[i], tmp + (long)i * L, sizeof(int32_t) * L);
        for (int i = 0; i < B; i++) memcpy(ftmp + (long)i * L, v->conf[order[i]], sizeof(float) * L);
        for (int i = 0; i < B; i++) memcpy(v->conf[i], ftmp + (long)i * L, sizeof(float) * L);
        for (int i = 0; i < B; i++) v->score[i] = nats[order[i]], v->sampled_as[i] = order[i];
        for (int p = 0; p < s->traj_passes; p++) {
            int32_t *ti = s->traj_ids + (long)p * B * L;
            float *tc = s->traj_conf + (long)p * B * L;
            memcpy(tmp, ti, sizeof(int32_t) * B * L);
            memcpy(ftmp, tc, sizeof(float) * B * L);
            for (int i = 0; i < B; i++) {
                memcpy(ti + (long)i * L, tmp + (long)order[i] * L, sizeof(int32_t) * L);
                memcpy(tc + (long)i * L, ftmp + (long)order[i] * L, sizeof(float) * L);
            }
        }
    }
    v->serial++;
    pthread_mutex_unlock(&s->mu);
    free(known), free(tmp), free(ftmp);
}

/* Runs the queued job to its end or until stopped; called without the mutex. */
static void run_job(Session *s) {
    pthread_mutex_lock(&s->mu);
    int job = s->job, cand = s->reroll_cand, span = s->reroll_span;
    InfillSettings set = s->set;
    int L = s->seq.len, cands = s->view.candidates;
    int B = job == JOB_REROLL ? 1 : cands;
    s->running = 1;
    pthread_mutex_unlock(&s->mu);

    int32_t *ids = malloc(sizeof(int32_t) * B * L), *final = malloc(sizeof(int32_t) * B * L);
    uint8_t *known = malloc((size_t)B * L);
    int *lengths = malloc(sizeof(int) * B);
    int passes = set.steps + 1;
    Workspace ws = {0};
    Err e = {{0}};
    int ok = ids && final && known && lengths;
    pthread_mutex_lock(&s->mu);
    if (ok && (job == JOB_INFILL || s->traj_cap < passes * cands * L)) {
        free(s->traj_ids), free(s->traj_conf), free(s->traj_t);
        s->traj_ids = malloc(sizeof(int32_t) * passes * cands * L);
        s->traj_conf = malloc(sizeof(float) * passes * cands * L);
        s->traj_t = malloc(sizeof(float) * passes);
        s->traj_cap = passes * cands * L;
        s->traj_passes = 0;
        ok = s->traj_ids && s->traj_conf && s->traj_t;
    }
    for (int b = 0; ok && b < B; b++) {
        lengths[b] = L;
        for (int i = 0; i < L; i++) {
            if (job == JOB_REROLL) { /* keep every token but the span's */
                ids[(long)b * L + i] = s->view.ids[cand][i];
                known[(long)b * L + i] = s->seq.span_of[i] != span;
            } else {
                ids[(long)b * L + i] = s->seq.ids[i];
                known[(long)b * L + i] = s->seq.known[i];
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok) err_set(&e, "out of memory for an infill of %d x %d", B, L);
    if (ok) ok = !workspace_alloc(&ws, &s->mf.model.cfg, B, L, 0, &e);
    NgramFusion *fusion = ok ? fusion_for(s, set.fuse) : NULL;
    pthread_mutex_lock(&s->mu);
    s->view.fuse = fusion ? set.fuse : 0;
    snprintf(s->view.fuse_note, sizeof s->view.fuse_note, "%s", set.fuse > 0 && !fusion ? s->trigram_error : "");
    pthread_mutex_unlock(&s->mu);
    set.sampler = sampler_fit(set.sampler, &s->mf.model.cfg); /* a setting for the other family: this one's default */
    SampleRequest rq = sample_request_defaults(B, L, set.sampler, set.steps, set.seed);
    rq.ids = ids, rq.known = known, rq.lengths = lengths, rq.clamp = set.clamp;
    if (fusion) rq.fuse = ngram_fuse, rq.fuse_ctx = fusion;
    /* sample as the model was trained: its schedule shift and time curve, as `sdlm infill` does */
    float *times = ok ? malloc(sizeof(float) * ((size_t)set.steps + 1)) : NULL;
    if (ok && !times) ok = 0, err_set(&e, "out of memory for %d sampling steps", set.steps);
    if (ok) modelfile_schedule(&s->mf, &rq, 1, times);
    Sampler sp;
    if (ok) {
        engine_lock();
        ok = !sampler_begin(&sp, &s->mf.model, &ws, &rq, &e);
        engine_unlock();
    }
    if (ok) { /* a masked model's run is as long as its largest gap */
        pthread_mutex_lock(&s->mu);
        s->view.total = sampler_passes(&sp), s->view.sampler = set.sampler;
        pthread_mutex_unlock(&s->mu);
    }
    int stopped = 0, holding = 0;
    double start = now_s(), ms_avg = 0, slice_start = 0;
    while (ok) {
        pthread_mutex_lock(&s->mu);
        stopped = s->stop || s->quit;
        pthread_mutex_unlock(&s->mu);
        if (stopped) break;
        float t = sp.t;
        /* The engine is held for a slice of passes rather than one: a
         * training step beside it may take 100 ms, and one pass per turn
         * would crawl. The slice keeps the time about evenly shared. */
        if (!holding) engine_lock(), holding = 1, slice_start = now_s();
        double t0 = now_s();
        int more = sampler_step(&sp);
        double ms = (now_s() - t0) * 1e3;
        if (!more || now_s() - slice_start > INFILL_SLICE_S) engine_unlock(), holding = 0;
        ms_avg = ms_avg ? 0.8 * ms_avg + 0.2 * ms : ms;
        pthread_mutex_lock(&s->mu);
        InfillView *v = &s->view;
        int p = sampler_passes_done(&sp) - 1; /* pass index 0..passes-1 */
        v->step = p + 1;
        v->t = t;
        v->ms_per_step = ms_avg;
        for (int b = 0; b < B; b++) {
            int c = job == JOB_REROLL ? cand : b;
            for (int i = 0; i < L; i++) {
                if (job == JOB_REROLL && s->seq.span_of[i] != span) continue;
                v->ids[c][i] = sp.ids[(long)b * L + i];
                v->conf[c][i] = sp.conf[(long)b * L + i];
            }
        }
        if (p < passes) {
            s->traj_t[p] = t;
            for (int c = 0; c < cands; c++) {
                memcpy(s->traj_ids + ((long)p * cands + c) * L, v->ids[c], sizeof(int32_t) * L);
                memcpy(s->traj_conf + ((long)p * cands + c) * L, v->conf[c], sizeof(float) * L);
            }
            if (p + 1 > s->traj_passes) s->traj_passes = p + 1;
        }
        v->serial++;
        pthread_mutex_unlock(&s->mu);
        wake(s);
        if (!more) break;
    }
    if (holding) engine_unlock();
    if (ok) {
        memcpy(final, sp.ids, sizeof(int32_t) * B * L);
        sampler_end(&sp);
    }
    workspace_free(&ws);
    if (ok && !stopped) { /* saved before the view says finished, so the ids are there when it does */
        if (job == JOB_REROLL) {
            pthread_mutex_lock(&s->mu);
            memcpy(final, s->view.ids[cand], sizeof(int32_t) * L);
            pthread_mutex_unlock(&s->mu);
        }
        rank_candidates(s, final, B, L, job, cand);
        save_samples(s, final, B, L, job == JOB_REROLL ? cand : 0, now_s() - start);
    }
    pthread_mutex_lock(&s->mu);
    InfillView *v = &s->view;
    v->active = 0;
    v->finished = ok && !stopped;
    v->stopped = ok && stopped;
    if (!ok) snprintf(v->error, sizeof v->error, "%s", e.msg);
    s->running = 0;
    s->job = JOB_NONE;
    v->serial++;
    pthread_mutex_unlock(&s->mu);
    wake(s);
    free(ids), free(final), free(known), free(lengths), free(times);
}

static void *session_thread(void *arg) {
    Session *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->quit) {
        if (s->job && !s->running) {
            pthread_mutex_unlock(&s->mu);
            run_job(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- opening and closing ------------------------------------------------------------- */

int session_open(Session **out, const SessionConfig *cfg, Err *e) {
    *out = NULL;
    Session *s = calloc(1, sizeof *s);
    if (!s) return err_set(e, "out of memory");
    s->cfg = *cfg;
    if (cfg->db) snprintf(s->db_path, sizeof s->db_path, "%s", cfg->db);
    else if (paths_default_db(s->db_path, sizeof s->db_path, e)) snprintf(s->db_error, sizeof s->db_error, "%s", e->msg);
    if (s->cfg.wake_fd >= 0) fcntl(s->cfg.wake_fd, F_SETFL, fcntl(s->cfg.wake_fd, F_GETFL) | O_NONBLOCK);
    char path[1024];
    Err le;
    if (cfg->ckpt) snprintf(path, sizeof path, "%s", cfg->ckpt);
    else if (models_default(path, sizeof path, NULL, &le)) path[0] = 0; /* the rule `sdlm infill` follows too */
    if (!path[0]) snprintf(s->load_error, sizeof s->load_error, "no model found: train one (training screen)");
    else if (modelfile_open(&s->mf, path, cfg->spm, 1, &le)) snprintf(s->load_error, sizeof s->load_error, "%s", le.msg);
    else s->loaded = 1;
    if (!s->loaded) snprintf(s->mf.path, sizeof s->mf.path, "%s", path);
    /* the history: check it opens, so the editor can say so at once */
    Store *st;
    if (s->db_path[0] && !store_open(&st, s->db_path, 0, &le)) {
        if (store_readonly(st)) snprintf(s->db_error, sizeof s->db_error, "%.400s is read-only: samples are not saved", s->db_path);
        store_close(st);
    } else if (s->db_path[0]) {
        snprintf(s->db_error, sizeof s->db_error, "%s", le.msg);
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, session_thread, s)) {
        if (s->loaded) modelfile_close(&s->mf);
        free(s);
        return err_set(e, "cannot start the session thread");
    }
    *out = s;
    return 0;
}

void session_close(Session *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->trainer) {
        trainer_stop(s->trainer);
        trainer_join(s->trainer);
        trainer_free(s->trainer);
    }
    pthread_join(s->thread, NULL);
    if (s->store) store_close(s->store);
    if (s->loaded) modelfile_close(&s->mf);
    drop_trigram(s);
    template_free(&s->tmpl);
    infill_seq_free(&s->seq);
    free(s->traj_ids), free(s->traj_conf), free(s->traj_t);
    free(s->train_last);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ---- training ------------------------------------------------------------------------- */

int session_train_start(Session *s, const TrainConfig *cfg, Err *e) {
    if (s->trainer) {
        TrainProgress p;
        trainer_progress(s->trainer, &p);
        if (p.state < TRAIN_FINISHED) return err_set(e, "a training run is already going: stop it first");
        trainer_join(s->trainer);
        trainer_free(s->trainer);
        s->trainer = NULL;
    }
    TrainConfig c = *cfg;
    if (!c.db) c.db = s->db_path;
    return trainer_start(&s->trainer, &c, s->cfg.wake_fd, e);
}

void session_train_command(Session *s, TrainCommand c) {
    if (!s->trainer) return;
    switch (c) {
    case TRAIN_CMD_PAUSE: trainer_pause(s->trainer); break;
    case TRAIN_CMD_RESUME: trainer_resume(s->trainer); break;
    case TRAIN_CMD_SAVE: trainer_save_now(s->trainer); break;
    case TRAIN_CMD_STOP: trainer_stop(s->trainer); break;
    }
}

void session_train_view(Session *s, TrainProgress *out) {
    if (!s->trainer) {
        memset(out, 0, sizeof *out);
        out->state = TRAIN_IDLE;
        return;
    }
    trainer_progress(s->trainer, out);
}

static const TrainPreset presets[] = {
    {"tiny", "2 layers x 128: the shipped model's size", 64, 128, 2, 32, 2e-3f},
    {"small", "4 layers x 256: slower steps, for longer runs", 64, 256, 4, 32, 1e-3f},
    {"seed", "8 layers x 512, batch 256: the seed's defaults (slow on a CPU)", 64, 512, 8, 256, 1e-4f},
};

const TrainPreset *train_presets(int *count) {
    *count = sizeof presets / sizeof *presets;
    return presets;
}
