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
#include "samplerun.h"
#include "score.h"
#include "store.h"
#include "template.h"
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
    int choice_gone;          /* the default rule fell back: the chosen file is gone (until another model loads) */
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
    m->choice_gone = s->choice_gone;
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
        char *why = s->trigram_error;
        if (modelfile_trigram(&s->mf, NULL, &s->trigram, &e)) snprintf(why, sizeof s->trigram_error, "%s", e.msg);
        else if (!s->trigram) snprintf(why, sizeof s->trigram_error, "the model records no training corpus");
        else if (ngram_fusion_init(&s->fusion, s->trigram, lambda, s->mf.model.cfg.V, &e)) {
            snprintf(why, sizeof s->trigram_error, "%s", e.msg);
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
    s->choice_gone = 0;
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
    v->total = 0; /* set once the sampler has begun: a masked run is as long as its largest gap */
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
    s->view.score_note[0] = 0;
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

/* Saves each finished candidate final [B, L] (first_cand on: a re-roll saves
 * its one) with its trajectory; problems go to db_error. */
static void save_samples(Session *s, const int32_t *final, int B, int L, int first_cand, SamplerKind ran,
                         double elapsed) {
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
    SampleRun run = {.mf = &s->mf, .mode = SAMPLE_INFILL, .template_text = tmpl, .sampler = ran,
                     .steps = s->set.steps, .clamp = s->set.clamp, .seed = s->set.seed,
                     /* one time for the run: the history lists its best first */
                     .time = now.tv_sec + now.tv_nsec * 1e-9,
                     .elapsed_s = elapsed, .passes = s->traj_passes, .cands = s->view.candidates, .len = L,
                     .ids = s->traj_ids, .conf = s->traj_conf, .t = s->traj_t, .known = s->seq.known};
    for (int b = 0; b < B; b++) {
        int cand = first_cand + b;
        char text[8192];
        int64_t id = 0;
        infill_render(s->mf.spm, &s->tmpl, &s->seq, final + (long)b * L, text, sizeof text);
        if (samplerun_save(s->store, &run, cand, cand, text, &id, &e)) goto fail;
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

/* The model's score of each fill final [B, L] into nats (on this thread,
 * under the engine lock). */
static int score_candidates(Session *s, const int32_t *final, int B, int L, float *nats, Err *e) {
    uint8_t *known = malloc((size_t)B * L);
    if (!known) return err_set(e, "out of memory");
    for (int b = 0; b < B; b++) memcpy(known + (long)b * L, s->seq.known, (size_t)L);
    engine_lock();
    int rc = score_fills(&s->mf, final, known, NULL, B, L, nats, e);
    engine_unlock();
    free(known);
    return rc;
}

/* Rows x [B][L] (of `size` bytes each element) put in `order`, through tmp. */
static void reorder_rows(void *x, void *tmp, const int *order, int B, int L, size_t size) {
    size_t row = size * L;
    memcpy(tmp, x, row * B);
    for (int i = 0; i < B; i++) memcpy((char *)x + row * i, (char *)tmp + row * order[i], row);
}

/* A new run's candidates best first by nats: the final ids, the view and the
 * trajectory alike; under the mutex. */
static int put_best_first(Session *s, int32_t *final, int B, int L, const float *nats) {
    InfillView *v = &s->view;
    int order[INFILL_MAX_CAND];
    void *tmp = malloc(sizeof(int32_t) * B * INFILL_MAX_LEN); /* B rows of int32_t or float, L <= INFILL_MAX_LEN */
    if (!tmp) return -1;
    score_rank(nats, B, order);
    reorder_rows(final, tmp, order, B, L, sizeof(int32_t));
    reorder_rows(v->ids, tmp, order, B, INFILL_MAX_LEN, sizeof(int32_t));
    reorder_rows(v->conf, tmp, order, B, INFILL_MAX_LEN, sizeof(float));
    for (int i = 0; i < B; i++) v->score[i] = nats[order[i]], v->sampled_as[i] = order[i];
    for (int p = 0; p < s->traj_passes; p++) {
        reorder_rows(s->traj_ids + (long)p * B * L, tmp, order, B, L, sizeof(int32_t));
        reorder_rows(s->traj_conf + (long)p * B * L, tmp, order, B, L, sizeof(float));
    }
    free(tmp);
    return 0;
}

/* Scores the finished fills final [B, L] with the model and puts a new run's
 * candidates best first. A re-roll's one candidate is scored again in its
 * place. A failure to score leaves NAN scores, the sampling order and a
 * score_note in the view saying why. */
static void rank_candidates(Session *s, int32_t *final, int B, int L, int job, int cand) {
    float nats[INFILL_MAX_CAND];
    Err e;
    int rc = score_candidates(s, final, B, L, nats, &e);
    pthread_mutex_lock(&s->mu);
    InfillView *v = &s->view;
    if (!rc && job == JOB_REROLL) v->score[cand] = nats[0];
    else if (!rc && put_best_first(s, final, B, L, nats)) rc = err_set(&e, "out of memory to rank the candidates");
    if (rc) snprintf(v->score_note, sizeof v->score_note, "not scored: %.480s", e.msg);
    v->serial++;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the job: one infill or re-roll, run on the session thread -------------------------- */

typedef struct {
    int job, cand, span;     /* JOB_INFILL, or JOB_REROLL of candidate cand's span */
    InfillSettings set;      /* set.sampler: as it runs (sampler_fit) once begun */
    int B, L, cands, passes; /* sequences sampled, their length, candidates shown, passes kept */
    int32_t *ids, *final;    /* [B, L] the sequences it starts from; the result */
    uint8_t *known;          /* [B, L] */
    int *lengths;            /* [B] */
    float *times;            /* [steps + 1] the schedule's times */
    Workspace ws;
    Sampler sp;
    int begun;               /* sp needs sampler_end */
    Err e;
} Job;

/* The queued job's settings, under the mutex; the session is running from here. */
static void job_take(Session *s, Job *j) {
    pthread_mutex_lock(&s->mu);
    *j = (Job){.job = s->job, .cand = s->reroll_cand, .span = s->reroll_span, .set = s->set, .L = s->seq.len,
               .cands = s->view.candidates};
    j->B = j->job == JOB_REROLL ? 1 : j->cands;
    j->passes = j->set.steps + 1;
    s->running = 1;
    pthread_mutex_unlock(&s->mu);
}

/* Room for the trajectory of `passes` passes of cands x L; under the mutex. */
static int traj_reserve(Session *s, int passes, int cands, int L) {
    free(s->traj_ids), free(s->traj_conf), free(s->traj_t);
    s->traj_ids = malloc(sizeof(int32_t) * passes * cands * L);
    s->traj_conf = malloc(sizeof(float) * passes * cands * L);
    s->traj_t = malloc(sizeof(float) * passes);
    s->traj_cap = passes * cands * L;
    s->traj_passes = 0;
    return s->traj_ids && s->traj_conf && s->traj_t ? 0 : -1;
}

/* The job's buffers, the trajectory's room (a new run starts it afresh, a
 * re-roll keeps it when it fits) and the sequences it starts from: the
 * template's, or for a re-roll the candidate with its one span open. */
static int job_buffers(Session *s, Job *j) {
    const int B = j->B, L = j->L;
    j->ids = malloc(sizeof(int32_t) * B * L), j->final = malloc(sizeof(int32_t) * B * L);
    j->known = malloc((size_t)B * L), j->lengths = malloc(sizeof(int) * B);
    int ok = j->ids && j->final && j->known && j->lengths;
    pthread_mutex_lock(&s->mu);
    if (ok && (j->job == JOB_INFILL || s->traj_cap < j->passes * j->cands * L))
        ok = !traj_reserve(s, j->passes, j->cands, L);
    for (int b = 0; ok && b < B; b++) {
        j->lengths[b] = L;
        for (int i = 0; i < L; i++) {
            long k = (long)b * L + i;
            if (j->job == JOB_REROLL) /* keep every token but the span's */
                j->ids[k] = s->view.ids[j->cand][i], j->known[k] = s->seq.span_of[i] != j->span;
            else j->ids[k] = s->seq.ids[i], j->known[k] = s->seq.known[i];
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok) return err_set(&j->e, "out of memory for an infill of %d x %d", B, L);
    j->times = malloc(sizeof(float) * ((size_t)j->set.steps + 1));
    if (!j->times) return err_set(&j->e, "out of memory for %d sampling steps", j->set.steps);
    return 0;
}

/* The workspace, the fusion (the view says whether it is on), the request,
 * and the sampler begun: the run is ready to step. */
static int job_begin(Session *s, Job *j) {
    if (workspace_alloc(&j->ws, &s->mf.model.cfg, j->B, j->L, 0, &j->e)) return -1;
    NgramFusion *fusion = fusion_for(s, j->set.fuse);
    pthread_mutex_lock(&s->mu);
    s->view.fuse = fusion ? j->set.fuse : 0;
    snprintf(s->view.fuse_note, sizeof s->view.fuse_note, "%s", j->set.fuse > 0 && !fusion ? s->trigram_error : "");
    pthread_mutex_unlock(&s->mu);
    j->set.sampler = sampler_fit(j->set.sampler, &s->mf.model.cfg); /* a setting for the other family: its default */
    SampleRequest rq = sample_request_defaults(j->B, j->L, j->set.sampler, j->set.steps, j->set.seed);
    rq.ids = j->ids, rq.known = j->known, rq.lengths = j->lengths, rq.clamp = j->set.clamp;
    if (fusion) rq.fuse = ngram_fuse, rq.fuse_ctx = fusion;
    /* sample as the model was trained: its schedule shift and time curve, as `sdlm infill` does */
    modelfile_schedule(&s->mf, &rq, 1, j->times);
    engine_lock();
    j->begun = !sampler_begin(&j->sp, &s->mf.model, &j->ws, &rq, &j->e);
    engine_unlock();
    if (!j->begun) return -1;
    pthread_mutex_lock(&s->mu); /* a masked model's run is as long as its largest gap */
    s->view.total = sampler_passes(&j->sp), s->view.sampler = j->set.sampler;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The pass just run, at time t, into the view (a re-roll changes only its
 * span) and into the trajectory. */
static void show_pass(Session *s, const Job *j, float t, double ms_avg) {
    const int L = j->L;
    pthread_mutex_lock(&s->mu);
    InfillView *v = &s->view;
    int p = sampler_passes_done(&j->sp) - 1; /* pass index 0..passes-1 */
    v->step = p + 1;
    v->t = t;
    v->ms_per_step = ms_avg;
    for (int b = 0; b < j->B; b++) {
        int c = j->job == JOB_REROLL ? j->cand : b;
        for (int i = 0; i < L; i++) {
            if (j->job == JOB_REROLL && s->seq.span_of[i] != j->span) continue;
            v->ids[c][i] = j->sp.ids[(long)b * L + i];
            v->conf[c][i] = j->sp.conf[(long)b * L + i];
        }
    }
    if (p < j->passes) {
        s->traj_t[p] = t;
        for (int c = 0; c < j->cands; c++) {
            memcpy(s->traj_ids + ((long)p * j->cands + c) * L, v->ids[c], sizeof(int32_t) * L);
            memcpy(s->traj_conf + ((long)p * j->cands + c) * L, v->conf[c], sizeof(float) * L);
        }
        if (p + 1 > s->traj_passes) s->traj_passes = p + 1;
    }
    v->serial++;
    pthread_mutex_unlock(&s->mu);
}

/* Steps the sampler to its end or until stopped, showing every pass.
 * Returns 1 when stopped. The engine is held for a slice of passes rather
 * than one: a training step beside it may take 100 ms, and one pass per turn
 * would crawl. The slice keeps the time about evenly shared. */
static int job_passes(Session *s, Job *j) {
    int holding = 0, more = 1, stopped = 0;
    double ms_avg = 0, slice_start = 0;
    while (more) {
        pthread_mutex_lock(&s->mu);
        stopped = s->stop || s->quit;
        pthread_mutex_unlock(&s->mu);
        if (stopped) break;
        float t = j->sp.t;
        if (!holding) engine_lock(), holding = 1, slice_start = now_s();
        double t0 = now_s();
        more = sampler_step(&j->sp);
        double ms = (now_s() - t0) * 1e3;
        if (!more || now_s() - slice_start > INFILL_SLICE_S) engine_unlock(), holding = 0;
        ms_avg = ms_avg ? 0.8 * ms_avg + 0.2 * ms : ms;
        show_pass(s, j, t, ms_avg);
        wake(s);
    }
    if (holding) engine_unlock();
    return stopped;
}

/* The result, and for a run that was not stopped its ranking and saving,
 * done before the view says finished so the ids are there when it does. */
static void job_finish(Session *s, Job *j, int stopped, double start) {
    memcpy(j->final, j->sp.ids, sizeof(int32_t) * j->B * j->L);
    sampler_end(&j->sp), j->begun = 0;
    workspace_free(&j->ws);
    if (stopped) return;
    if (j->job == JOB_REROLL) {
        pthread_mutex_lock(&s->mu);
        memcpy(j->final, s->view.ids[j->cand], sizeof(int32_t) * j->L);
        pthread_mutex_unlock(&s->mu);
    }
    rank_candidates(s, j->final, j->B, j->L, j->job, j->cand);
    save_samples(s, j->final, j->B, j->L, j->job == JOB_REROLL ? j->cand : 0, j->set.sampler, now_s() - start);
}

/* The view says how the job ended; the session is free for the next. */
static void job_end(Session *s, Job *j, int ok, int stopped) {
    if (j->begun) sampler_end(&j->sp);
    workspace_free(&j->ws);
    pthread_mutex_lock(&s->mu);
    InfillView *v = &s->view;
    v->active = 0;
    v->finished = ok && !stopped;
    v->stopped = ok && stopped;
    if (!ok) snprintf(v->error, sizeof v->error, "%s", j->e.msg);
    s->running = 0;
    s->job = JOB_NONE;
    v->serial++;
    pthread_mutex_unlock(&s->mu);
    wake(s);
    free(j->ids), free(j->final), free(j->known), free(j->lengths), free(j->times);
}

/* Runs the queued job to its end or until stopped; called without the mutex. */
static void run_job(Session *s) {
    Job j;
    job_take(s, &j);
    int ok = !job_buffers(s, &j) && !job_begin(s, &j), stopped = 0;
    if (ok) {
        double start = now_s();
        stopped = job_passes(s, &j);
        job_finish(s, &j, stopped, start);
    }
    job_end(s, &j, ok, stopped);
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
    else if (paths_default_db(s->db_path, sizeof s->db_path, e))
        snprintf(s->db_error, sizeof s->db_error, "%s", e->msg);
    if (s->cfg.wake_fd >= 0) fcntl(s->cfg.wake_fd, F_SETFL, fcntl(s->cfg.wake_fd, F_GETFL) | O_NONBLOCK);
    char path[1024];
    const char *rule = "";
    Err le;
    if (cfg->ckpt) snprintf(path, sizeof path, "%s", cfg->ckpt);
    else if (models_default(path, sizeof path, &rule, &le)) path[0] = 0; /* the rule `sdlm infill` follows too */
    s->choice_gone = !strcmp(rule, MODELS_RULE_GONE);
    if (!path[0]) snprintf(s->load_error, sizeof s->load_error, "no model found: train one (training screen)");
    else if (modelfile_open(&s->mf, path, cfg->spm, 1, &le))
        snprintf(s->load_error, sizeof s->load_error, "%s", le.msg);
    else s->loaded = 1;
    if (!s->loaded) snprintf(s->mf.path, sizeof s->mf.path, "%s", path);
    /* the history: check it opens, so the editor can say so at once */
    Store *st;
    if (s->db_path[0] && !store_open(&st, s->db_path, 0, &le)) {
        if (store_readonly(st))
            snprintf(s->db_error, sizeof s->db_error, "%.400s is read-only: samples are not saved", s->db_path);
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
    {"tiny", "2 layers x 128: learns a small corpus in minutes", 64, 128, 2, 32, 2e-3f},
    {"small", "4 layers x 256: the shipped model's size, for longer runs", 64, 256, 4, 32, 1e-3f},
    {"seed", "8 layers x 512, batch 256: the seed's defaults (slow on a CPU)", 64, 512, 8, 256, 1e-4f},
};

const TrainPreset *train_presets(int *count) {
    *count = sizeof presets / sizeof *presets;
    return presets;
}
