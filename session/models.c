/* models.c: the default model (the user's choice, else the shipped one) and
 * the list the model picker shows; rules in models.h. Headers only: no
 * weights are loaded here. */
#include "models.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "params.h"
#include "paths.h"
#include "safetensors.h"
#include "store.h"

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int models_shipped(char *out, size_t cap, Err *e) {
    char share[PATH_MAX];
    if (paths_share_dir(share, sizeof share, e)) return -1;
    if ((size_t)snprintf(out, cap, "%s/sdlm-default.safetensors", share) >= cap)
        return err_set(e, "%s: path too long", share);
    return 0;
}

int models_choice_file(char *out, size_t cap, Err *e) {
    char dir[PATH_MAX];
    if (paths_data_dir(dir, sizeof dir, e)) return -1;
    if ((size_t)snprintf(out, cap, "%s/model", dir) >= cap) return err_set(e, "%s: path too long", dir);
    return 0;
}

/* The chosen path, or "" when there is no choice or its file is gone;
 * returns 1 when a choice was made but its file is gone. */
static int read_choice(char *out, size_t cap) {
    char file[PATH_MAX];
    Err e;
    out[0] = 0;
    if (models_choice_file(file, sizeof file, &e)) return 0;
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    if (!fgets(out, (int)cap, f)) out[0] = 0;
    fclose(f);
    out[strcspn(out, "\n")] = 0;
    if (!out[0] || is_file(out)) return 0;
    out[0] = 0;
    return 1;
}

int models_default(char *out, size_t cap, const char **why, Err *e) {
    int gone = read_choice(out, cap);
    if (out[0]) {
        if (why) *why = "chosen in the model picker";
        return 0;
    }
    if (why) *why = gone ? MODELS_RULE_GONE : "the shipped model";
    return models_shipped(out, cap, e);
}

int models_choose(const char *path, Err *e) {
    char file[PATH_MAX], tmp[PATH_MAX + 32], abs[PATH_MAX];
    if (!realpath(path, abs)) return err_set(e, "%s: %s", path, strerror(errno));
    if (models_choice_file(file, sizeof file, e)) return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return err_set(e, "cannot write %s: %s", tmp, strerror(errno));
    int bad = fprintf(f, "%s\n", abs) < 0;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, file)) {
        int err = errno;
        unlink(tmp);
        return err_set(e, "cannot save the model choice in %s: %s", file, strerror(err));
    }
    return 0;
}

/* ---- the list ---- */

static int64_t meta_steps(const StFile *f) {
    const char *v = st_meta(f, "step");
    if (v) return strtoll(v, NULL, 10);
    int64_t s;
    Err e;
    if (st_find(f, "optim.step") && !st_read_i64(f, "optim.step", &s, 1, &e)) return s;
    return -1;
}

void models_read_entry(const char *path, ModelEntry *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", path);
    const char *slash = strrchr(path, '/');
    snprintf(m->name, sizeof m->name, "%s", slash ? slash + 1 : path);
    snprintf(m->family, sizeof m->family, "continuous");
    m->steps = -1;
    struct stat sb;
    if (!stat(path, &sb)) m->bytes = sb.st_size, m->mtime = (double)sb.st_mtime;
    StFile f;
    Err e;
    Config cfg;
    if (st_open(&f, path, &e) || ckpt_config_from_file(&f, &cfg, &e)) {
        snprintf(m->error, sizeof m->error, "%.250s", e.msg);
        st_close(&f);
        return;
    }
    m->steps = meta_steps(&f);
    const char *v = st_meta(&f, "recipe");
    if (v) snprintf(m->recipe, sizeof m->recipe, "%s", v);
    if ((v = st_meta(&f, "family"))) snprintf(m->family, sizeof m->family, "%s", v);
    m->V = cfg.V, m->D = cfg.D, m->NL = cfg.NL;
    ParamTable t;
    if (!param_table_build(&t, &cfg, &e)) {
        m->params = (long)t.total;
        param_table_free(&t);
    }
    st_close(&f);
}

typedef struct {
    ModelEntry *v;
    int n, cap;
} EntryList;

static int seen(const EntryList *l, const char *abs) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].path, abs)) return 1;
    return 0;
}

/* Adds a checkpoint once (by real path); untrained ones are left out. */
static int add_entry(EntryList *l, const char *path, int shipped, Err *e) {
    char abs[PATH_MAX];
    if (!realpath(path, abs) || !is_file(abs) || seen(l, abs)) return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        ModelEntry *v = realloc(l->v, sizeof *v * (size_t)cap);
        if (!v) return err_set(e, "out of memory listing models");
        l->v = v, l->cap = cap;
    }
    ModelEntry *m = &l->v[l->n];
    models_read_entry(abs, m);
    m->shipped = shipped;
    if (!shipped && m->steps == 0) return 0; /* never offer a model that has not trained a step */
    l->n++;
    return 0;
}

static int add_dir(EntryList *l, const char *dir, Err *e) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 12 || strcmp(de->d_name + n - 12, ".safetensors")) continue;
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) < sizeof p) rc = add_entry(l, p, 0, e);
    }
    closedir(d);
    return rc;
}

/* Checkpoints the history's runs wrote, wherever they are, and eval figures. */
static void add_from_history(EntryList *l, const char *db) {
    Store *s;
    Err e;
    if (store_open(&s, db, 1, &e)) return;
    Run *runs;
    int nr;
    if (!store_list_runs(s, &runs, &nr, &e)) {
        for (int i = 0; i < nr; i++)
            if (runs[i].checkpoint_path) add_entry(l, runs[i].checkpoint_path, 0, &e);
        runs_free(runs, nr);
    }
    for (int i = 0; i < l->n; i++) {
        EvalRecord r;
        int found;
        if (store_latest_eval(s, l->v[i].path, &r, &found, &e) || !found) continue;
        l->v[i].has_eval = 1;
        l->v[i].eval_accuracy = r.accuracy;
        l->v[i].eval_accuracy_1tok = r.accuracy_1tok;
        eval_record_free(&r);
    }
    store_close(s);
}

static int newest_first(const void *a, const void *b) {
    const ModelEntry *x = a, *y = b;
    if (x->shipped != y->shipped) return y->shipped - x->shipped;
    return (x->mtime < y->mtime) - (x->mtime > y->mtime);
}

int models_list(const char *db, ModelEntry **out, int *n, Err *e) {
    EntryList l = {0};
    char p[PATH_MAX], dir[PATH_MAX], dbp[PATH_MAX];
    *out = NULL, *n = 0;
    if (!models_shipped(p, sizeof p, e) && add_entry(&l, p, 1, e)) goto fail;
    if (!paths_data_dir(dir, sizeof dir, e)) {
        if (add_dir(&l, dir, e)) goto fail;
        snprintf(p, sizeof p, "%.4000s/models", dir);
        if (add_dir(&l, p, e)) goto fail;
    }
    if (!db && !paths_default_db(dbp, sizeof dbp, e)) db = dbp;
    if (db) add_from_history(&l, db);
    qsort(l.v, (size_t)l.n, sizeof *l.v, newest_first);
    *out = l.v, *n = l.n;
    return 0;
fail:
    free(l.v);
    return -1;
}
