/* samplerun.c: one candidate of a sampling run into the history (samplerun.h). */
#include "samplerun.h"

#include "traj.h"

/* Column col of the run's passes as a trajectory of its own. */
static int cut_trajectory(const SampleRun *r, int col, Trajectory *tr, Err *e) {
    const int L = r->len;
    if (traj_alloc(tr, r->passes, L, (uint32_t)r->mf->model.cfg.V, e)) return -1;
    for (int p = 0; p < r->passes; p++) {
        long src = ((long)p * r->cands + col) * L, dst = (long)p * L;
        tr->t[p] = r->t[p];
        for (int i = 0; i < L; i++) tr->ids[dst + i] = (uint32_t)r->ids[src + i], tr->conf[dst + i] = r->conf[src + i];
    }
    for (int i = 0; i < L; i++) tr->masked[i] = r->known ? !r->known[i] : 1;
    return 0;
}

int samplerun_save(Store *st, const SampleRun *r, int col, int cand, const char *text, int64_t *id, Err *e) {
    Sample s = {
        .time = r->time,
        .mode = r->mode,
        .template_text = (char *)r->template_text,
        .result = (char *)text,
        .candidate = cand,
        .sampler = (char *)sampler_name(r->sampler),
        .steps = r->steps,
        .seed = r->seed,
        .clamp = r->clamp,
        .checkpoint_path = (char *)r->mf->path,
        .model = (char *)r->mf->description,
        .elapsed_s = r->elapsed_s,
    };
    if (cut_trajectory(r, col, &s.traj, e)) return -1;
    int rc = store_add_sample(st, &s, id, e);
    traj_free(&s.traj);
    return rc;
}
