/* test_models.c: which model sdlm uses when none is named (session/models.h)
 * and what the model picker lists: the shipped model until the user chooses
 * one, the choice kept across processes and dropped when its file is gone;
 * the list with steps, recipe, family and the newest eval figure of the
 * history, without a checkpoint that never trained a step; and the eval
 * rows themselves (store_add_eval / store_latest_eval). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ckpt.h"
#include "models.h"
#include "paths.h"
#include "store.h"
#include "tmpdir.h"

static char *dir;

static void write_ckpt(const char *path, const char *step, const char *family) {
    Config c = {.V = 10, .E = 4, .D = 16, .NL = 2, .H = 8, .R = 2, .F = 32, .film_one_plus = 0,
                .masked = family && !strcmp(family, "masked")}; /* ckpt_save writes the family from the config */
    Checkpoint ck;
    Err e;
    int rc = ckpt_alloc(&ck, &c, 0, 0, &e);
    if (!rc && step) rc = ckpt_set_meta(&ck, "step", step, &e);
    if (!rc) rc = ckpt_set_meta(&ck, "recipe", "sdlm", &e);
    if (!rc) rc = ckpt_save(path, &ck, ST_F32, &e);
    check_ok(rc == 0, "fixture %s %s", path, rc ? e.msg : "");
    ckpt_free(&ck);
}

static const ModelEntry *find(const ModelEntry *v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) return &v[i];
    return NULL;
}

static void test_default_and_choice(const char *shipped, const char *mine) {
    char got[1024];
    const char *why = NULL;
    Err e;
    int rc = models_default(got, sizeof got, &why, &e);
    check_ok(rc == 0 && !strcmp(got, shipped) && !strcmp(why, "the shipped model"), "no choice: the shipped model (%s)", got);
    rc = models_choose(mine, &e);
    check_ok(rc == 0, "the choice is saved %s", rc ? e.msg : "");
    rc = models_default(got, sizeof got, &why, &e);
    check_ok(rc == 0 && !strcmp(got, mine) && strstr(why, "chosen"), "the choice is the default (%s)", got);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s/data/gone.safetensors", dir);
    write_ckpt(tmp, "5", NULL);
    models_choose(tmp, &e);
    unlink(tmp);
    rc = models_default(got, sizeof got, &why, &e);
    check_ok(rc == 0 && !strcmp(got, shipped), "a chosen file that is gone: the shipped model again (%s)", got);
    check_ok(models_choose("/no/such/model.safetensors", &e) < 0 && strstr(e.msg, "/no/such"), "choosing a missing file fails: %s",
             e.msg);
    models_choose(mine, &e);
}

static void test_list(const char *db, const char *mine) {
    Store *s;
    Err e;
    int rc = store_open(&s, db, 0, &e);
    check_ok(rc == 0, "history %s", rc ? e.msg : "");
    if (rc) return;
    EvalRecord old = {.path = (char *)mine, .time = 1000, .lines = 10, .accuracy = 0.05, .accuracy_1tok = 0.1,
                      .cross_entropy = 6, .sampler = "difflm", .steps = 5};
    EvalRecord new = old;
    new.time = 2000, new.accuracy = 0.25, new.accuracy_1tok = 0.5;
    rc = store_add_eval(s, &new, &e) || store_add_eval(s, &old, &e);
    check_ok(rc == 0, "evals stored %s", rc ? e.msg : "");
    EvalRecord got;
    int found = 0;
    rc = store_latest_eval(s, mine, &got, &found, &e);
    check_ok(rc == 0 && found && got.accuracy == 0.25 && got.lines == 10 && !strcmp(got.sampler, "difflm"),
             "the newest eval by time comes back (%g)", found ? got.accuracy : NAN);
    if (found) eval_record_free(&got);
    rc = store_latest_eval(s, "/nowhere.safetensors", &got, &found, &e);
    check_ok(rc == 0 && !found, "no eval for another path");
    store_close(s);

    ModelEntry *v;
    int n;
    rc = models_list(db, &v, &n, &e);
    check_ok(rc == 0, "models_list %s", rc ? e.msg : "");
    if (rc) return;
    check_ok(n == 3 && v[0].shipped && !strcmp(v[0].name, "sdlm-default.safetensors"), "the shipped model first, then %d", n - 1);
    const ModelEntry *m = find(v, n, "mine.safetensors"), *mk = find(v, n, "masked.safetensors");
    check_ok(m && m->steps == 1200 && !strcmp(m->recipe, "sdlm") && !strcmp(m->family, "continuous") && m->params > 0,
             "a checkpoint: steps, recipe, family (absent: continuous), size");
    check_ok(m && m->has_eval && m->eval_accuracy == 0.25 && m->eval_accuracy_1tok == 0.5, "with its newest eval figure");
    check_ok(mk && !strcmp(mk->family, "masked") && !mk->has_eval, "the family key is read; no eval: none shown");
    check_ok(!find(v, n, "untrained.safetensors"), "a checkpoint of step 0 is not offered");
    free(v);
}

int main(void) {
    dir = tmpdir_make("models");
    check_ok(dir != NULL, "scratch directory");
    if (!dir) return check_done();
    char share[700], data[700], shipped[800], mine[800], p[800], db[800];
    snprintf(share, sizeof share, "%s/share", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(share, 0700);
    setenv("SDLM_SHARE", share, 1);
    setenv("XDG_DATA_HOME", data, 1);
    snprintf(p, sizeof p, "%s/sdlm/models", data);
    Err e;
    paths_mkdir_p(p, 0700, &e);
    snprintf(shipped, sizeof shipped, "%s/sdlm-default.safetensors", share);
    write_ckpt(shipped, "8000", NULL);
    snprintf(mine, sizeof mine, "%s/sdlm/models/mine.safetensors", data);
    write_ckpt(mine, "1200", NULL);
    snprintf(p, sizeof p, "%s/sdlm/models/masked.safetensors", data);
    write_ckpt(p, "700", "masked");
    snprintf(p, sizeof p, "%s/sdlm/untrained.safetensors", data);
    write_ckpt(p, "0", NULL);
    snprintf(db, sizeof db, "%s/sdlm/sdlm.db", data);
    test_default_and_choice(shipped, mine);
    test_list(db, mine);
    tmpdir_remove(dir);
    free(dir);
    return check_done();
}
