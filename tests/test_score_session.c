/* test_score_session.c: the editor's session ranks a run's candidates by the
 * model's own score (session/score.h): after a run the view's scores are
 * finite and sorted best first, each is what score_fills gives the shown
 * fill, the trajectories and the history follow the new order, and a
 * re-rolled candidate is scored again in its place. On the shipped model. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "score.h"
#include "session.h"
#include "store.h"
#include "tmpdir.h"

static int wait_done(Session *s, InfillView *v) {
    for (int i = 0; i < 6000; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        session_infill_view(s, v);
        if (!v->active && (v->finished || v->stopped || v->error[0])) return v->finished;
    }
    return 0;
}

int main(void) {
    char *d = tmpdir_make("score-session"), db[700];
    snprintf(db, sizeof db, "%s/h.db", d);
    const char *ckpt = "share/sdlm-default.safetensors";
    SessionConfig cfg = {ckpt, NULL, db, -1};
    Session *s;
    Err e;
    if (session_open(&s, &cfg, &e)) {
        check_ok(0, "session_open: %s", e.msg);
        return check_done();
    }
    static InfillView v, before;
    InfillSettings set = infill_defaults();
    set.steps = 20, set.candidates = 4, set.random_seed = 0, set.seed = 3;
    check_ok(!session_infill_start(s, "The {3} sat on the {4}.", &set, &e), "an infill of 4 candidates starts");
    session_infill_view(s, &v);
    int unscored = 1;
    for (int c = 0; c < 4; c++) unscored &= isnan(v.score[c]);
    check_ok(unscored, "while it runs, no candidate has a score");
    check_ok(wait_done(s, &v), "it finishes");
    int sorted = 1, finite = 1;
    for (int c = 0; c < 4; c++) finite &= isfinite(v.score[c]) && v.score[c] > 0;
    for (int c = 1; c < 4; c++) sorted &= v.score[c - 1] <= v.score[c];
    check_ok(finite && sorted, "scores finite and best first: %.3f %.3f %.3f %.3f", (double)v.score[0],
             (double)v.score[1], (double)v.score[2], (double)v.score[3]);

    /* each score is the model's score of the fill now shown as that candidate */
    ModelFile mf;
    if (!modelfile_open(&mf, ckpt, NULL, 1, &e)) {
        static int32_t ids[4 * INFILL_MAX_LEN];
        static uint8_t known[4 * INFILL_MAX_LEN];
        float want[4];
        for (int c = 0; c < 4; c++)
            for (int i = 0; i < v.len; i++) ids[c * v.len + i] = v.ids[c][i], known[c * v.len + i] = !v.masked[i];
        int rc = score_fills(&mf, ids, known, NULL, 4, v.len, want, &e);
        check_ok(!rc, "score_fills on the view: %s", rc ? e.msg : "ok");
        if (!rc) check_close("the view's scores are score_fills of its fills", v.score, want, 4, 1e-4, 1e-4);
        modelfile_close(&mf);
    } else {
        check_ok(0, "open %s: %s", ckpt, e.msg);
    }

    /* the trajectories and the history follow the rank order */
    int traj_ok = 1;
    for (int c = 0; c < 4; c++) {
        int32_t *ti;
        float *tc, *tt;
        int passes = session_infill_trajectory(s, c, &ti, &tc, &tt);
        traj_ok &= passes >= 1 && !memcmp(ti + (long)(passes - 1) * v.len, v.ids[c], sizeof(int32_t) * v.len);
        if (passes) free(ti), free(tc), free(tt);
    }
    check_ok(traj_ok, "each candidate's trajectory ends in its fill");
    Store *st;
    int hist_ok = 0;
    if (!store_open(&st, db, 1, &e)) {
        hist_ok = 1;
        for (int c = 0; c < 4; c++) {
            Sample smp;
            if (store_get_sample(st, v.sample_id[c], &smp, &e)) {
                hist_ok = 0;
                break;
            }
            int same = 1;
            const uint32_t *last = smp.traj.ids + (long)(smp.traj.steps - 1) * v.len;
            for (int i = 0; i < v.len; i++) same &= last[i] == (uint32_t)v.ids[c][i];
            hist_ok &= smp.candidate == c && same;
            sample_free(&smp);
        }
        store_close(st);
    }
    check_ok(hist_ok, "the history saves candidate k as the k-th best, with its own trajectory");

    /* a re-roll: scored again, in its place; the others keep theirs */
    before = v;
    check_ok(!session_infill_reroll(s, 2, 1, &e), "a re-roll of candidate 3's second span starts");
    check_ok(wait_done(s, &v), "it finishes");
    int kept = 1;
    for (int c = 0; c < 4; c++)
        if (c != 2) kept &= v.score[c] == before.score[c] && !memcmp(v.ids[c], before.ids[c], sizeof(int32_t) * v.len);
    check_ok(kept && isfinite(v.score[2]), "the re-rolled candidate is scored again (%.3f, was %.3f), the others kept",
             (double)v.score[2], (double)before.score[2]);
    session_close(s);
    tmpdir_remove(d);
    free(d);
    return check_done();
}
