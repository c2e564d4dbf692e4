/* trainer_samples.c: what a run shows of its model while it trains: ngen
 * unconditional samples at the start and after each epoch (as the seed prints
 * them), and probe infills of fixed templates at each checkpoint. Both sample
 * with the EMA weights when kept, on the schedule the run trains with, and
 * only rank 0 makes them. A failure here never stops training: it is returned
 * for trainer.c to tell. */
#include "trainer_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_lock.h"
#include "infill.h"
#include "modelfile.h"
#include "template.h"

enum { SAMPLE_STEPS = 200, PROBE_STEPS = 50, PROBE_SEED = 1234, INFILL_PROBE_MAX = 256 };

static const char *probe_templates[TRAIN_PROBES] = {
    "the {2} of the {2}.",
    "i {3} you.",
    "{4} is the best {1}.",
    "when the {3} comes, {4}.",
};

/* A Model over the weights to sample with: the EMA when kept. Free with params_unbind(&view->p). */
static int sampling_model(Trainer *t, Model *view, Err *e) {
    *view = t->model;
    view->w = t->ema ? t->ema : t->model.w;
    if (params_bind(&view->p, &t->model.table, view->w)) return err_set(e, "out of memory");
    return 0;
}

/* The run's schedule: its shift, and its warped step spacing once the curve is fitted. */
static void sampling_schedule(const Trainer *t, SampleRequest *rq, float *times) {
    schedule_as_trained(rq, t->cfg.shift, t->cfg.time_warp ? &t->warp : NULL, times);
}

/* Decoded samples into the progress. */
static void publish_samples(Trainer *t, const int32_t *ids, int n, int L) {
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < n; i++) {
        size_t len;
        if (spm_decode(t->spm, (const int *)ids + i * L, L, t->prog.samples[i], sizeof t->prog.samples[i], &len, NULL))
            snprintf(t->prog.samples[i], sizeof t->prog.samples[i], "(undecodable)");
    }
    t->prog.nsamples = n;
    t->prog.samples_round++;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    trainer_wake(t);
}

int trainer_make_samples(Trainer *t, Err *e) {
    int n = t->cfg.ngen;
    if (n <= 0 || t->rank != 0) return 0;
    if (n > TRAIN_SAMPLES) n = TRAIN_SAMPLES;
    int L = t->cfg.crop_len;
    int32_t *ids = malloc(sizeof(int32_t) * n * L);
    if (!ids) return err_set(e, "out of memory for %d samples", n);
    Model view;
    if (sampling_model(t, &view, e)) return free(ids), -1;
    float times[SAMPLE_STEPS + 1];
    SampleRequest rq = sample_request_defaults(n, L, sampler_fit(SAMPLER_DIFFLM, &t->model.cfg), SAMPLE_STEPS,
                                               rng_mix64(t->cfg.seed ^ (uint64_t)t->step));
    sampling_schedule(t, &rq, times);
    engine_lock();
    int rc = diffusion_sample(&view, &t->ws_eval, &rq, NULL, NULL, ids, e);
    engine_unlock();
    params_unbind(&view.p);
    if (rc >= 0) publish_samples(t, ids, n, L); /* (1 would be a stop by a callback: there is none) */
    free(ids);
    return rc < 0 ? -1 : 0;
}

/* One probe infill of tmpl into result: 0, 1 when the template is longer than the model's
 * sequences (a run on short lines shows the probes that fit), or -1 (e filled). */
static int probe(Trainer *t, Model *view, const char *tmpl, char *result, size_t cap, Err *e) {
    Template tp;
    InfillSeq seq;
    if (template_parse(&tp, tmpl, strlen(tmpl), 0, e)) return err_wrap(e, "probe \"%s\"", tmpl);
    if (infill_build(t->spm, &tp, INFILL_PROBE_MAX, &seq, e)) {
        template_free(&tp);
        return err_wrap(e, "probe \"%s\"", tmpl);
    }
    int rc = 1;
    if (seq.len <= t->cfg.crop_len) {
        int32_t out[INFILL_PROBE_MAX];
        int lengths[1] = {seq.len};
        float times[PROBE_STEPS + 1];
        SampleRequest rq = sample_request_defaults(1, seq.len, sampler_fit(SAMPLER_DIFFLM, &t->model.cfg),
                                                   PROBE_STEPS, PROBE_SEED);
        rq.ids = seq.ids, rq.known = seq.known, rq.lengths = lengths;
        sampling_schedule(t, &rq, times);
        engine_lock();
        rc = diffusion_sample(view, &t->ws_eval, &rq, NULL, NULL, out, e) ? -1 : 0;
        engine_unlock();
        if (rc == 0) infill_render(t->spm, &tp, &seq, out, result, cap);
    }
    infill_seq_free(&seq);
    template_free(&tp);
    return rc;
}

int trainer_run_probes(Trainer *t, Err *e) {
    if (t->rank != 0) return 0;
    Model view;
    if (sampling_model(t, &view, e)) return -1;
    int done = 0, failed = 0;
    char tmpl[TRAIN_PROBES][128], result[TRAIN_PROBES][256];
    for (int p = 0; p < TRAIN_PROBES; p++) {
        Err pe;
        snprintf(tmpl[done], sizeof tmpl[done], "%s", probe_templates[p]);
        int rc = probe(t, &view, probe_templates[p], result[done], sizeof result[done], &pe);
        if (rc == 0) done++;
        else if (rc < 0 && !failed++) *e = pe; /* the first failure is told; the probes that worked are shown */
    }
    params_unbind(&view.p);
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < done; i++) {
        memcpy(t->prog.probe_template[i], tmpl[i], sizeof tmpl[i]);
        memcpy(t->prog.probe_result[i], result[i], sizeof result[i]);
    }
    t->prog.nprobes = done;
    t->prog.serial++;
    pthread_mutex_unlock(&t->mu);
    trainer_wake(t);
    return failed ? -1 : 0;
}
