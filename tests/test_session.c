/* test_session.c: the editor's engine as the UI drives it: infill runs
 * animate through views and land in the history, Esc stops at once, a span
 * re-rolls alone, fusion with the trigram of the model's recorded corpus (and
 * without one, a note why not), a missing model or an unwritable history
 * still opens. */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ckpt.h"
#include "session.h"
#include "spm.h"
#include "store.h"
#include "tmpdir.h"

static char dir[512];

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A small model with random weights and the test corpus's tokenizer;
 * corpus: the training text it records (NULL: none). */
static int make_model(const char *path, const char *corpus, Err *e) {
    char prefix[600], model[640];
    snprintf(prefix, sizeof prefix, "%s/tok", dir);
    snprintf(model, sizeof model, "%s.model", prefix);
    if (spm_train("tests/data/tiny-corpus.txt", prefix, 400, e)) return -1;
    Spm *spm = spm_load(model, e);
    if (!spm) return -1;
    Config c = config_default(spm_vocab_size(spm));
    c.E = 8, c.D = 32, c.NL = 1, c.H = 4, c.R = 8, c.F = 128;
    Checkpoint ck;
    size_t n;
    const void *bytes = spm_model_bytes(spm, &n);
    int rc = ckpt_alloc(&ck, &c, 0, 0, e) || ckpt_set_spm(&ck, bytes, n, e) ||
             (corpus && ckpt_set_meta(&ck, "corpus", corpus, e));
    if (!rc) params_init(&ck.table, ck.weights, 3), rc = ckpt_save(path, &ck, ST_F32, e);
    ckpt_free(&ck);
    spm_free(spm);
    return rc ? -1 : 0;
}

static int wait_done(Session *s, InfillView *v, int pipe_fd, int *wakes) {
    for (int i = 0; i < 3000; i++) {
        struct pollfd p = {pipe_fd, POLLIN, 0};
        if (poll(&p, 1, 10) > 0) {
            char buf[256];
            ssize_t k = read(pipe_fd, buf, sizeof buf);
            if (k > 0) *wakes += (int)k;
        }
        session_infill_view(s, v);
        if (!v->active && (v->finished || v->stopped || v->error[0])) return 1;
    }
    return 0;
}

/* An infill of two candidates: every pass, the known tokens, the history,
 * the trajectory; then a re-roll of one span. */
static void test_infill(Session *s, int wake_fd, const char *db) {
    static InfillView v, before;
    Err e;
    InfillSettings set = infill_defaults();
    set.steps = 20, set.candidates = 2, set.random_seed = 0, set.seed = 5;
    int wakes = 0;
    check_ok(!session_infill_start(s, "The kettle {3} to sing {2}.", &set, &e), "infill starts");
    int done = wait_done(s, &v, wake_fd, &wakes);
    check_ok(done && v.finished && v.step == 21 && v.total == 21, "it runs every pass (%d/%d)", v.step, v.total);
    check_ok(wakes >= 20, "each pass wakes the UI (%d wake bytes)", wakes);
    check_ok(!v.error[0] && !v.score_note[0], "no error, and the candidates are scored");
    int known_kept = 1, spans = 0;
    for (int i = 0; i < v.len; i++) {
        if (!v.masked[i]) known_kept &= v.ids[0][i] == v.ids[1][i];
        spans += v.masked[i];
    }
    check_ok(known_kept && spans == 5 && v.nspans == 2, "known tokens kept, 5 slots in 2 spans");
    check_ok(v.sample_id[0] > 0 && v.sample_id[1] > 0, "both candidates are saved to the history");
    int32_t *ti;
    float *tc, *tt;
    int passes = session_infill_trajectory(s, 1, &ti, &tc, &tt);
    check_ok(passes == 21 && tt[0] == 1.0f && tt[20] == 0.0f, "the trajectory holds every pass (%d)", passes);
    if (passes) {
        int same = !memcmp(ti + 20 * v.len, v.ids[1], sizeof(int32_t) * v.len);
        check_ok(same, "its last pass is what the view shows");
        free(ti), free(tc), free(tt);
    }
    Store *st;
    Sample smp;
    if (!store_open(&st, db, 1, &e) && !store_get_sample(st, v.sample_id[1], &smp, &e)) {
        check_ok(smp.traj.steps == 21 && !strcmp(smp.template_text, "The kettle {3} to sing {2}.") &&
                     !strcmp(smp.sampler, sampler_name(v.sampler)),
                 "the history has the template, the trajectory and the sampler that ran (%s)", smp.sampler);
        sample_free(&smp);
        store_close(st);
    } else {
        check_ok(0, "history: %s", e.msg);
    }

    /* re-roll one span: the other keeps its tokens */
    before = v;
    check_ok(!session_infill_reroll(s, 0, 1, &e), "re-roll of span 2 starts");
    wait_done(s, &v, wake_fd, &wakes);
    int other_kept = 1;
    for (int i = 0; i < v.len; i++)
        if (v.span_of[i] != 1) other_kept &= v.ids[0][i] == before.ids[0][i];
    check_ok(v.finished && other_kept, "a re-roll changes only its span");
}

/* Esc, templates refused at once, and the tokenizer calls of the UI thread. */
static void test_stop_and_refusals(Session *s, int wake_fd) {
    static InfillView v;
    Err e;
    InfillSettings set = infill_defaults();
    set.steps = 5000, set.candidates = 2, set.random_seed = 0, set.seed = 5;
    int wakes = 0;
    session_infill_start(s, "{8} and {8}", &set, &e);
    for (int i = 0; i < 500; i++) {
        session_infill_view(s, &v);
        if (v.step >= 3) break;
        sleep_ms(5);
    }
    session_infill_stop(s);
    wait_done(s, &v, wake_fd, &wakes);
    check_ok(v.stopped && v.step < 5000, "stop ends a run early (at pass %d)", v.step);

    check_ok(session_infill_start(s, "no spans here", &set, &e) < 0, "a text without spans: %s", e.msg);
    check_ok(session_infill_start(s, "bad {x", &set, &e) < 0 && strstr(e.msg, "column"), "a bad template: %s", e.msg);
    char longt[4000] = "";
    for (int i = 0; i < 60; i++) strcat(longt, "{10} ");
    check_ok(session_infill_start(s, longt, &set, &e) < 0 && strstr(e.msg, "at most"), "too long: %s", e.msg);
    char piece[64];
    int32_t ids[16];
    int n = session_encode(s, "kettle", ids, 16, &e);
    session_piece(s, ids[0], piece, sizeof piece);
    check_ok(n > 0 && piece[0], "encode and pieces for the UI (\"%s\")", piece);
}

/* Fusion: without a recorded corpus the fill runs alone and says why; with one it is fused. */
static void test_fusion(Session *s, int wake_fd) {
    static InfillView v;
    Err e;
    InfillSettings set = infill_defaults();
    set.steps = 10, set.candidates = 1, set.random_seed = 0, set.seed = 5, set.fuse = 0.5f;
    int wakes = 0;
    session_infill_start(s, "The {2}.", &set, &e);
    wait_done(s, &v, wake_fd, &wakes);
    check_ok(v.finished && v.fuse == 0 && strstr(v.fuse_note, "corpus"), "fusion without a corpus: runs alone (%s)",
             v.fuse_note);
    char corpus[PATH_MAX], fused[720];
    snprintf(fused, sizeof fused, "%s/fused.safetensors", dir);
    if (!realpath("tests/data/tiny-corpus.txt", corpus) || make_model(fused, corpus, &e) ||
        session_load(s, fused, &e)) {
        check_ok(0, "a model that records its corpus: %s", e.msg);
        return;
    }
    session_infill_start(s, "The {2}.", &set, &e);
    wait_done(s, &v, wake_fd, &wakes);
    check_ok(v.finished && v.fuse == 0.5f && !v.fuse_note[0], "fusion with the recorded corpus's trigram is on");
    set.fuse = 0;
    session_infill_start(s, "The {2}.", &set, &e);
    wait_done(s, &v, wake_fd, &wakes);
    check_ok(v.finished && v.fuse == 0 && !v.fuse_note[0], "fusion 0 is off, silently");
    set.fuse = -1;
    check_ok(session_infill_start(s, "The {2}.", &set, &e) < 0, "a negative fusion is refused: %s", e.msg);
}

/* A missing model still opens, with the reason; a history that cannot be
 * written is reported, and infill still works. */
static void test_degraded(const char *ckpt, const char *db, int wake_fd) {
    static InfillView v;
    Session *s;
    SessionModel m;
    Err e;
    InfillSettings set = infill_defaults();
    set.steps = 5, set.candidates = 1, set.random_seed = 0, set.seed = 5, set.fuse = 0;
    SessionConfig bad = {"/nonexistent/model.safetensors", NULL, db, -1};
    if (!session_open(&s, &bad, &e)) {
        session_model(s, &m);
        check_ok(!m.loaded && m.error[0], "a missing model opens the session anyway: %s", m.error);
        check_ok(session_infill_start(s, "a {2}", &set, &e) < 0, "and infill says why: %s", e.msg);
        session_close(s);
    }
    char ro[760];
    snprintf(ro, sizeof ro, "%s/nodir/h.db", dir);
    SessionConfig rocfg = {ckpt, NULL, ro, -1};
    if (!session_open(&s, &rocfg, &e)) {
        session_model(s, &m);
        check_ok(m.db_error[0] != 0, "an unusable history is reported: %s", m.db_error);
        session_infill_start(s, "The {2}.", &set, &e);
        int wk = 0;
        wait_done(s, &v, wake_fd, &wk);
        check_ok(v.finished, "and infill still works");
        session_close(s);
    }
}

int main(void) {
    char *d = tmpdir_make("session");
    snprintf(dir, sizeof dir, "%s", d);
    free(d);
    char ckpt[700], db[700];
    snprintf(ckpt, sizeof ckpt, "%s/m.safetensors", dir);
    snprintf(db, sizeof db, "%s/h.db", dir);
    Err e;
    if (make_model(ckpt, NULL, &e)) {
        check_ok(0, "model: %s", e.msg);
        return check_done();
    }
    int fds[2];
    if (pipe(fds)) return 1;
    SessionConfig cfg = {ckpt, NULL, db, fds[1]};
    Session *s;
    if (session_open(&s, &cfg, &e)) {
        check_ok(0, "session_open: %s", e.msg);
        return check_done();
    }
    SessionModel m;
    session_model(s, &m);
    check_ok(m.loaded && m.V > 0 && strstr(m.description, "pieces"), "the model loads: %s", m.description);
    test_infill(s, fds[0], db);
    test_stop_and_refusals(s, fds[0]);
    test_fusion(s, fds[0]);
    session_close(s);
    test_degraded(ckpt, db, fds[0]);
    tmpdir_remove(dir);
    return check_done();
}
