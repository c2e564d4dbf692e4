/* ckpt.c: checkpoints on top of safetensors.c (names and metadata: ckpt.h).
 *
 * Loading checks the whole file against the config before allocating
 * anything, so the memory taken is bounded by what the file really holds,
 * and a wrong file gives one line naming the tensor and both shapes.
 *
 * Not here: the file format itself (safetensors.c). */
#include "ckpt.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ckpt_save writes the weights' memory as little-endian");

#define LAYER_PREFIX "estimator.encoder_layers."
enum { NAME_MAX_LEN = PARAM_NAME_MAX + 32, LAYER_LIMIT = 1024 };

/* The metadata keys that hold the config; ckpt_set_meta refuses them. */
static const char *const config_keys[] = {"V",   "E",       "D",         "layers",        "heads", "rotary_dim",
                                          "ffn", "dropout", "layerdrop", "film_one_plus", "family", "format"};

static int is_config_key(const char *key) {
    for (size_t i = 0; i < sizeof config_keys / sizeof *config_keys; i++)
        if (!strcmp(key, config_keys[i])) return 1;
    return 0;
}

/* A string from the file as it may appear in a message: at most 40 bytes,
 * control bytes shown as '?'. */
typedef struct {
    char s[48];
} Quoted;

static Quoted quoted(const char *str) {
    Quoted q;
    size_t n = 0;
    for (; str[n] && n < 40; n++) q.s[n] = (unsigned char)str[n] < 0x20 || str[n] == 0x7f ? '?' : str[n];
    if (str[n]) memcpy(q.s + n, "...", 3), n += 3;
    q.s[n] = 0;
    return q;
}

/* ---- numbers as metadata strings, independent of the user's locale -------- */

static locale_t c_locale(void) {
    static _Thread_local locale_t loc;
    if (!loc) loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    return loc;
}

/* The shortest decimal that reads back as exactly x ("0.1", not "0.100000001"). */
static void format_float(char *buf, size_t n, float x) {
    locale_t loc = c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, n, "%.*g", digits, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    if (loc) uselocale(old);
}

/* A whole decimal number, nothing around it, within [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, int *out) {
    if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && s[1] >= '0' && s[1] <= '9')) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, float *out) {
    if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '-')) return -1;
    locale_t loc = c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    int bad = errno || *end || !isfinite(v);
    if (loc) uselocale(old);
    if (bad) return -1;
    *out = v;
    return 0;
}

/* ---- the training state's numbers ------------------------------------------ */

/* The metadata numbers a trainer writes and a resume or a sampler reads back:
 * each must be a plain number in its range (whole: digits only), so a damaged
 * file is refused here rather than dividing by zero later. Other keys are
 * free text. */
static const struct {
    const char *key;
    double lo, hi;
    int whole;
} run_meta[] = {
    {"step", 0, 9e18, 1},          {"epoch", 0, 9e18, 1},        {"index", 0, 9e18, 1},
    {"seed", 0, 1.9e19, 1},        {"batch", 1, 2.2e9, 1},       {"lr", 0, 1e38, 0},
    {"warmup", 0, 2.2e9, 1},       {"decay_steps", 0, 2.2e9, 1}, {"weight_decay", 0, 1e38, 0},
    {"accum", 1, 2.2e9, 1},        {"crop_len", 2, 4096, 1},     {"ema_decay", 0, 1, 0},
    {"elapsed_s", 0, 1e12, 0},     {"epochs", 1, 2.2e9, 1},      {"shift", 0.01, 100, 0},
    {"masks", 0, 2, 1},            {"time_warp", 0, 1, 1},       {"t_weight", 0, 8, 0},
    {"bucket", 0, 2.2e9, 1},       {"fixed_norm", 0, 1, 1},
};

static int check_run_meta(const StFile *f, Err *e) {
    for (size_t i = 0; i < sizeof run_meta / sizeof *run_meta; i++) {
        const char *s = st_meta(f, run_meta[i].key);
        if (!s) continue;
        int ok = s[0] != 0;
        for (const char *p = s; ok && run_meta[i].whole && *p; p++) ok = *p >= '0' && *p <= '9';
        double v = 0;
        locale_t loc = c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
        char *end = NULL;
        if (ok) v = strtod(s, &end), ok = *end == 0 && isfinite(v) && v >= run_meta[i].lo && v <= run_meta[i].hi;
        if (loc) uselocale(old);
        if (!ok)
            return err_set(e, "%s: metadata %s=\"%s\" is not a %snumber from %g to %g", f->path, run_meta[i].key,
                           quoted(s).s, run_meta[i].whole ? "whole " : "", run_meta[i].lo, run_meta[i].hi);
    }
    return 0;
}

/* ---- the config ------------------------------------------------------------ */

/* One dimension of a 2-D tensor as an int, or 0 when absent (*found = 0). */
static int shape_dim(const StFile *f, const char *name, int axis, int *value, int *found, Err *e) {
    const StTensor *t = st_find(f, name);
    *found = 0;
    if (!t) return 0;
    if (t->ndim != 2)
        return err_set(e, "%s: tensor %s has %d dimension%s, expected 2", f->path, name, t->ndim,
                       t->ndim == 1 ? "" : "s");
    if (t->shape[axis] < 1 || t->shape[axis] > INT_MAX)
        return err_set(e, "%s: tensor %s has dimension %lld, not a usable model size", f->path, name,
                       (long long)t->shape[axis]);
    *value = (int)t->shape[axis];
    *found = 1;
    return 0;
}

/* Encoder layers by the highest "estimator.encoder_layers.{i}." present, +1. */
static int count_layers(const StFile *f, int *nl, Err *e) {
    size_t plen = strlen(LAYER_PREFIX);
    *nl = 0;
    for (int i = 0; i < f->count; i++) {
        const char *name = f->tensors[i].name, *p = name + plen;
        if (strncmp(name, LAYER_PREFIX, plen)) continue;
        long idx = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++) idx = idx > LAYER_LIMIT ? idx : idx * 10 + (*p - '0');
        if (!digits || *p != '.') continue; /* not a layer tensor's name: ignored like any other */
        if (idx >= LAYER_LIMIT)
            return err_set(e, "%s: tensor %.*s...: layer index beyond the limit of %d layers", f->path,
                           (int)(p - name) < 60 ? (int)(p - name) : 60, name, LAYER_LIMIT);
        if (idx + 1 > *nl) *nl = (int)idx + 1;
    }
    return 0;
}

typedef struct {
    const char *key;
    int *field, min;
    int inferred, have_inferred; /* from the shapes */
    const char *source;          /* what the inferred value came from, for messages */
} IntKey;

int ckpt_config_from_file(const StFile *f, Config *cfg, Err *e) {
    Config c = {0};
    int v_ok, lm_ok, e_ok, d_ok, f_ok, V = 0, Vlm = 0, E = 0, D = 0, F = 0, NL = 0;
    char ffn_name[NAME_MAX_LEN];
    snprintf(ffn_name, sizeof ffn_name, LAYER_PREFIX "0.ffn.0.weight");
    if (shape_dim(f, "embedding.weight", 0, &V, &v_ok, e) || shape_dim(f, "embedding.weight", 1, &E, &e_ok, e) ||
        shape_dim(f, "lm_head.weight", 0, &Vlm, &lm_ok, e) ||
        shape_dim(f, "estimator.project.0.weight", 0, &D, &d_ok, e) || shape_dim(f, ffn_name, 0, &F, &f_ok, e) ||
        count_layers(f, &NL, e))
        return -1;
    /* the family: from metadata, else from the shapes (a masked model embeds one row more than it predicts) */
    const char *fam = st_meta(f, "family");
    if (fam && strcmp(fam, "continuous") && strcmp(fam, "masked"))
        return err_set(e, "%s: metadata family=\"%s\" is neither continuous nor masked", f->path, quoted(fam).s);
    c.masked = fam ? !strcmp(fam, "masked") : v_ok && lm_ok && V == Vlm + 1;
    if (v_ok && lm_ok && V != Vlm + c.masked)
        return err_set(e, "%s: embedding.weight has %d rows and lm_head.weight %d: a %s model needs %s", f->path,
                       V, Vlm,
                       c.masked ? "masked" : "continuous", c.masked ? "one more (the [MASK] row)" : "the same");
    if (v_ok) V -= c.masked; /* the vocabulary: [MASK] is not a piece */

    const char *fmt = st_meta(f, "format");
    if (fmt && strcmp(fmt, CKPT_FORMAT))
        return err_set(e, "%s: checkpoint format \"%s\" is not one this build reads (%s)", f->path, quoted(fmt).s,
                       CKPT_FORMAT);

    IntKey keys[] = {
        {"V", &c.V, 1, V, v_ok, "tensor embedding.weight"},
        {"E", &c.E, 1, E, e_ok, "tensor embedding.weight"},
        {"D", &c.D, 1, D, d_ok, "tensor estimator.project.0.weight"},
        {"layers", &c.NL, 1, NL, NL > 0, "the encoder layer tensors"},
        {"ffn", &c.F, 1, F, f_ok, "tensor " LAYER_PREFIX "0.ffn.0.weight"},
        {"heads", &c.H, 1, 0, 0, NULL},
        {"rotary_dim", &c.R, 0, 0, 0, NULL},
        {"film_one_plus", &c.film_one_plus, 0, 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        IntKey *k = &keys[i];
        const char *s = st_meta(f, k->key);
        if (!s) {
            *k->field = k->inferred; /* 0 when neither source has it: defaults below */
            continue;
        }
        if (parse_int(s, k->min, INT_MAX, k->field))
            return err_set(e, "%s: metadata %s=\"%s\" is not a whole number >= %d", f->path, k->key, quoted(s).s,
                           k->min);
        if (k->have_inferred && *k->field != k->inferred)
            return err_set(e, "%s: metadata says %s=%d but %s says %d", f->path, k->key, *k->field, k->source,
                           k->inferred);
    }
    if (!c.V) return err_set(e, "%s: cannot tell the vocabulary size: no V metadata and no embedding.weight", f->path);
    if (!c.E) return err_set(e, "%s: cannot tell the embedding dim: no E metadata and no embedding.weight", f->path);
    if (!c.D)
        return err_set(e, "%s: cannot tell the model dim: no D metadata and no estimator.project.0.weight", f->path);
    if (!c.NL)
        return err_set(e, "%s: cannot tell the layer count: no layers metadata and no %s* tensors", f->path,
                       LAYER_PREFIX);
    if (!st_meta(f, "heads")) c.H = 8; /* hard-coded in the seed */
    if (!st_meta(f, "rotary_dim")) {
        int hd = c.H ? c.D / c.H : 0;
        c.R = (hd < 32 ? hd : 32) & ~1;
    }
    if (!c.F) c.F = 4 * c.D;
    if (c.film_one_plus > 1)
        return err_set(e, "%s: metadata film_one_plus=%d must be 0 or 1", f->path, c.film_one_plus);

    struct {
        const char *key;
        float *field, fallback;
    } fkeys[] = {{"dropout", &c.dropout, 0.1f}, {"layerdrop", &c.layerdrop, 0.0f}};
    for (size_t i = 0; i < sizeof fkeys / sizeof *fkeys; i++) {
        const char *s = st_meta(f, fkeys[i].key);
        *fkeys[i].field = fkeys[i].fallback;
        if (s && parse_float(s, fkeys[i].field))
            return err_set(e, "%s: metadata %s=\"%s\" is not a number", f->path, fkeys[i].key, quoted(s).s);
    }
    if (config_validate(&c, e)) return err_wrap(e, "%s: config", f->path);
    *cfg = c;
    return 0;
}

/* ---- checking a file against the table, before anything is allocated ------ */

static int is_float(StDtype d) { return d == ST_F32 || d == ST_F16 || d == ST_BF16 || d == ST_F64; }

static int has_prefix(const StFile *f, const char *prefix) {
    size_t n = strlen(prefix);
    for (int i = 0; i < f->count; i++)
        if (!strncmp(f->tensors[i].name, prefix, n)) return 1;
    return 0;
}

/* Every tensor of the table under prefix+name, float, with its exact shape.
 * Layer tensors go first: when the layer count is off, the message then names
 * the missing layer rather than time_mlp.4's shape, which follows from it. */
static int check_set(const StFile *f, const ParamTable *t, const char *prefix, Err *e) {
    char name[NAME_MAX_LEN];
    for (int k = 0; k < 2 * t->count; k++) {
        const ParamInfo *p = &t->info[k % t->count];
        if ((k < t->count) != !strncmp(p->name, LAYER_PREFIX, strlen(LAYER_PREFIX))) continue;
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        if (st_check_shape(f, name, p->ndim, p->shape, e)) return -1;
        const StTensor *st = st_find(f, name);
        if (!is_float(st->dtype))
            return err_set(e, "%s: tensor %s has dtype %s, expected F32, F16 or BF16", f->path, name,
                           st_dtype_name(st->dtype));
    }
    return 0;
}

/* Index of the first NaN or infinity in x[n], or -1. */
static long first_non_finite(const float *x, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= !isfinite(x[i]);
    if (!bad) return -1;
    size_t i = 0;
    while (isfinite(x[i])) i++;
    return (long)i;
}

/* Reads every tensor of the set; a NaN or infinity anywhere refuses the file
 * (it would sample nothing but NaN, and say nothing). */
static int read_set(const StFile *f, const ParamTable *t, const char *prefix, float *block, Err *e) {
    char name[NAME_MAX_LEN];
    for (int i = 0; i < t->count; i++) {
        const ParamInfo *p = &t->info[i];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        if (st_read_f32(f, name, block + p->offset, (int64_t)p->count, e)) return -1;
        long bad = first_non_finite(block + p->offset, p->count);
        if (bad >= 0)
            return err_set(e, "%s: tensor %s holds a non-finite value (%g at element %ld): the weights are damaged; "
                              "use an earlier checkpoint", f->path, name, (double)block[p->offset + bad], bad);
    }
    return 0;
}

static int check_file(const StFile *f, const ParamTable *t, int *has_adam, int *has_ema, Err *e) {
    if (check_set(f, t, "", e)) return -1;
    *has_adam = has_prefix(f, "optim.");
    if (*has_adam) {
        const StTensor *s = st_find(f, "optim.step");
        if (!s) return err_set(e, "%s: tensor optim.step is missing (the file has other optim.* tensors)", f->path);
        if (s->count != 1 || s->ndim > 1 || (s->dtype != ST_I64 && s->dtype != ST_I32))
            return err_set(e, "%s: tensor optim.step must be one I64, found %s with %lld elements", f->path,
                           st_dtype_name(s->dtype), (long long)s->count);
        if (check_set(f, t, "optim.exp_avg.", e) || check_set(f, t, "optim.exp_avg_sq.", e)) return -1;
    }
    *has_ema = has_prefix(f, "ema.");
    if (*has_ema && check_set(f, t, "ema.", e)) return -1;
    const StTensor *spm = st_find(f, "tokenizer.model");
    if (spm && (spm->dtype != ST_U8 || spm->ndim != 1))
        return err_set(e, "%s: tensor tokenizer.model must be a U8 vector, found %s with %d dimension%s", f->path,
                       st_dtype_name(spm->dtype), spm->ndim, spm->ndim == 1 ? "" : "s");
    return 0;
}

/* ---- tensors of other tools ------------------------------------------------ */

/* Whether name is one of ours: a table tensor (under one of our prefixes),
 * optim.step or tokenizer.model. */
static int is_ours(const ParamTable *t, const char *name) {
    static const char *const prefixes[] = {"optim.exp_avg_sq.", "optim.exp_avg.", "ema.", ""};
    if (!strcmp(name, "optim.step") || !strcmp(name, "tokenizer.model")) return 1;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(name, prefixes[i], n) && param_table_find(t, name + n) >= 0) return 1;
    }
    return 0;
}

static int keep_foreign(const StFile *f, Checkpoint *ck, Err *e) {
    for (int i = 0; i < f->count; i++) {
        const StTensor *src = &f->tensors[i];
        if (is_ours(&ck->table, src->name)) continue;
        StTensor *grown = realloc(ck->foreign, (size_t)(ck->nforeign + 1) * sizeof *grown);
        if (!grown) return err_set(e, "%s: out of memory for tensor %s", f->path, quoted(src->name).s);
        ck->foreign = grown;
        StTensor *dst = &ck->foreign[ck->nforeign];
        *dst = *src;
        unsigned char *data = malloc(src->nbytes ? src->nbytes : 1);
        if (!(dst->name = strdup(src->name)) || !data) {
            free(dst->name), free(data);
            return err_set(e, "%s: out of memory for tensor %s", f->path, quoted(src->name).s);
        }
        memcpy(data, src->data, src->nbytes);
        dst->data = data;
        ck->nforeign++;
    }
    return 0;
}

static void free_foreign(Checkpoint *ck) {
    for (int i = 0; i < ck->nforeign; i++) free(ck->foreign[i].name), free((void *)ck->foreign[i].data);
    free(ck->foreign);
    ck->foreign = NULL;
    ck->nforeign = 0;
}

void ckpt_move_foreign(Checkpoint *dst, Checkpoint *src) {
    free_foreign(dst);
    dst->foreign = src->foreign, dst->nforeign = src->nforeign;
    src->foreign = NULL, src->nforeign = 0;
}

/* ---- load ------------------------------------------------------------------ */

int ckpt_load_file(const StFile *f, Checkpoint *ck, Err *e) {
    memset(ck, 0, sizeof *ck);
    Config cfg;
    ParamTable t;
    int has_adam = 0, has_ema = 0;
    if (ckpt_config_from_file(f, &cfg, e) || check_run_meta(f, e)) return -1;
    if (param_table_build(&t, &cfg, e)) return err_wrap(e, "%s", f->path);
    int rc = check_file(f, &t, &has_adam, &has_ema, e);
    param_table_free(&t);
    if (rc || ckpt_alloc(ck, &cfg, has_adam, has_ema, e)) return -1;

    if (read_set(f, &ck->table, "", ck->weights, e)) goto fail;
    if (has_adam) {
        if (read_set(f, &ck->table, "optim.exp_avg.", ck->adam_m, e) ||
            read_set(f, &ck->table, "optim.exp_avg_sq.", ck->adam_v, e) ||
            st_read_i64(f, "optim.step", &ck->adam_step, 1, e))
            goto fail;
        if (ck->adam_step < 0) {
            err_set(e, "%s: tensor optim.step is negative (%lld)", f->path, (long long)ck->adam_step);
            goto fail;
        }
    }
    if (has_ema && read_set(f, &ck->table, "ema.", ck->ema, e)) goto fail;
    const StTensor *spm = st_find(f, "tokenizer.model");
    if (spm && ckpt_set_spm(ck, spm->data, spm->nbytes, e)) goto fail;
    for (int i = 0; i < f->nmeta; i++)
        if (!is_config_key(f->meta[i].key) && ckpt_set_meta(ck, f->meta[i].key, f->meta[i].value, e)) goto fail;
    if (keep_foreign(f, ck, e)) goto fail;
    return 0;
fail:
    ckpt_free(ck);
    return -1;
}

int ckpt_load(const char *path, Checkpoint *ck, Err *e) {
    StFile f;
    memset(ck, 0, sizeof *ck);
    if (st_open(&f, path, e)) return -1;
    int rc = ckpt_load_file(&f, ck, e);
    st_close(&f);
    return rc;
}

/* ---- save ------------------------------------------------------------------ */

/* Adds every table tensor under prefix+name; names go into names[t->count]. */
static int add_set(StWriter *w, const ParamTable *t, const char *prefix, char (*names)[NAME_MAX_LEN],
                   StDtype dtype, const void *block, Err *e) {
    size_t esize = st_dtype_size(dtype);
    for (int i = 0; i < t->count; i++) {
        const ParamInfo *p = &t->info[i];
        snprintf(names[i], NAME_MAX_LEN, "%s%s", prefix, p->name);
        if (st_writer_add(w, names[i], dtype, p->ndim, p->shape, (const char *)block + p->offset * esize, e))
            return -1;
    }
    return 0;
}

static int add_config_meta(StWriter *w, const Config *c, Err *e) {
    const struct {
        const char *key;
        int value;
    } ints[] = {{"V", c->V},     {"E", c->E},          {"D", c->D},   {"layers", c->NL},
                {"heads", c->H}, {"rotary_dim", c->R}, {"ffn", c->F}, {"film_one_plus", c->film_one_plus}};
    char buf[32];
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        snprintf(buf, sizeof buf, "%d", ints[i].value);
        if (st_writer_meta(w, ints[i].key, buf, e)) return -1;
    }
    format_float(buf, sizeof buf, c->dropout);
    if (st_writer_meta(w, "dropout", buf, e)) return -1;
    format_float(buf, sizeof buf, c->layerdrop);
    if (st_writer_meta(w, "layerdrop", buf, e)) return -1;
    if (st_writer_meta(w, "family", c->masked ? "masked" : "continuous", e)) return -1;
    return st_writer_meta(w, "format", CKPT_FORMAT, e);
}

int ckpt_save(const char *path, const Checkpoint *ck, StDtype weight_dtype, Err *e) {
    const ParamTable *t = &ck->table;
    if (!t->count || !ck->weights) return err_set(e, "saving %s: the checkpoint is empty", path);
    if (weight_dtype != ST_F32 && weight_dtype != ST_F16 && weight_dtype != ST_BF16)
        return err_set(e, "saving %s: weights can be saved as F32, F16 or BF16, not %s", path,
                       st_dtype_name(weight_dtype));
    StWriter w;
    st_writer_init(&w);
    int rc = -1;
    char(*names)[NAME_MAX_LEN] = calloc((size_t)t->count * 4, sizeof *names);
    uint16_t *half = NULL;
    if (!names) {
        err_set(e, "saving %s: out of memory", path);
        goto done;
    }
    const void *weights = ck->weights;
    if (weight_dtype != ST_F32) {
        if (!(half = malloc(t->total * sizeof *half))) {
            err_set(e, "saving %s: out of memory for the %s weights", path, st_dtype_name(weight_dtype));
            goto done;
        }
        for (size_t i = 0; i < t->total; i++)
            half[i] = weight_dtype == ST_F16 ? st_f32_to_f16(ck->weights[i]) : st_f32_to_bf16(ck->weights[i]);
        weights = half;
    }
    unsigned char step_le[8];
    for (int i = 0; i < 8; i++) step_le[i] = (unsigned char)((uint64_t)ck->adam_step >> 8 * i);
    const int64_t one = 1, spm_shape = (int64_t)ck->spm_len;
    if (add_set(&w, t, "", names, weight_dtype, weights, e)) goto fail;
    if (ck->adam_m && ck->adam_v &&
        (add_set(&w, t, "optim.exp_avg.", names + t->count, ST_F32, ck->adam_m, e) ||
         add_set(&w, t, "optim.exp_avg_sq.", names + 2 * t->count, ST_F32, ck->adam_v, e) ||
         st_writer_add(&w, "optim.step", ST_I64, 1, &one, step_le, e)))
        goto fail;
    if (ck->ema && add_set(&w, t, "ema.", names + 3 * t->count, ST_F32, ck->ema, e)) goto fail;
    if (ck->spm && st_writer_add(&w, "tokenizer.model", ST_U8, 1, &spm_shape, ck->spm, e)) goto fail;
    for (int i = 0; i < ck->nforeign; i++) {
        const StTensor *x = &ck->foreign[i];
        if (st_writer_add(&w, x->name, x->dtype, x->ndim, x->shape, x->data, e)) goto fail;
    }
    if (add_config_meta(&w, &t->cfg, e)) goto fail;
    for (int i = 0; i < ck->nmeta; i++)
        if (st_writer_meta(&w, ck->meta[i].key, ck->meta[i].value, e)) goto fail;
    rc = st_writer_save(&w, path, e);
    goto done;
fail:
    err_wrap(e, "saving %s", path);
done:
    st_writer_free(&w);
    free(names);
    free(half);
    return rc;
}

/* ---- the struct ------------------------------------------------------------ */

int ckpt_alloc(Checkpoint *ck, const Config *cfg, int with_adam, int with_ema, Err *e) {
    memset(ck, 0, sizeof *ck);
    if (param_table_build(&ck->table, cfg, e)) return -1;
    size_t n = ck->table.total;
    ck->weights = calloc(n, sizeof *ck->weights);
    if (with_adam) {
        ck->adam_m = calloc(n, sizeof *ck->adam_m);
        ck->adam_v = calloc(n, sizeof *ck->adam_v);
    }
    if (with_ema) ck->ema = calloc(n, sizeof *ck->ema);
    if (!ck->weights || (with_adam && (!ck->adam_m || !ck->adam_v)) || (with_ema && !ck->ema)) {
        ckpt_free(ck);
        return err_set(e, "out of memory for a checkpoint of %zu parameters", n);
    }
    return 0;
}

const char *ckpt_meta(const Checkpoint *ck, const char *key) {
    for (int i = 0; i < ck->nmeta; i++)
        if (!strcmp(ck->meta[i].key, key)) return ck->meta[i].value;
    return NULL;
}

int ckpt_set_meta(Checkpoint *ck, const char *key, const char *value, Err *e) {
    if (is_config_key(key)) return err_set(e, "metadata key \"%s\" is reserved for the model config", key);
    char *v = strdup(value);
    if (!v) return err_set(e, "out of memory for metadata");
    for (int i = 0; i < ck->nmeta; i++)
        if (!strcmp(ck->meta[i].key, key)) {
            free(ck->meta[i].value);
            ck->meta[i].value = v;
            return 0;
        }
    StMeta *m = realloc(ck->meta, (size_t)(ck->nmeta + 1) * sizeof *m);
    char *k = strdup(key);
    if (m) ck->meta = m;
    if (!m || !k) {
        free(v), free(k);
        return err_set(e, "out of memory for metadata");
    }
    ck->meta[ck->nmeta++] = (StMeta){k, v};
    return 0;
}

int ckpt_set_spm(Checkpoint *ck, const void *data, size_t len, Err *e) {
    unsigned char *copy = NULL;
    if (len && !(copy = malloc(len))) return err_set(e, "out of memory for the tokenizer model (%zu bytes)", len);
    if (len) memcpy(copy, data, len);
    free(ck->spm);
    ck->spm = copy;
    ck->spm_len = len;
    return 0;
}

void ckpt_free(Checkpoint *ck) {
    param_table_free(&ck->table);
    free(ck->weights);
    free(ck->adam_m);
    free(ck->adam_v);
    free(ck->ema);
    free(ck->spm);
    for (int i = 0; i < ck->nmeta; i++) free(ck->meta[i].key), free(ck->meta[i].value);
    free(ck->meta);
    free_foreign(ck);
    memset(ck, 0, sizeof *ck);
}
