/* test_ckpt.c: checkpoints.
 *
 * Round trips (F32/F16/BF16 weights, Adam moments, EMA, tokenizer, metadata),
 * the config inferred from a metadata-free PyTorch-style file, every way a
 * file can disagree with itself or the config (one line naming the tensor),
 * an atomic save that fails part way, header damage, and the seed's parity
 * fixture when it is present. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ckpt.h"
#include "params.h"
#include "rng.h"
#include "safetensors.h"
#include "tmpdir.h"

/* The fixture lives in the shared folder beside the project (../shared), or
 * wherever $SDLM_SHARED points. */
static const char *find_fixture(void) {
    static char path[4096];
    const char *roots[] = {getenv("SDLM_SHARED"), "../shared", "/work/shared"};
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        if (!roots[i] || !roots[i][0]) continue;
        snprintf(path, sizeof path, "%s/fixtures/seed-parity-l2.safetensors", roots[i]);
        if (!access(path, R_OK)) return path;
    }
    return NULL;
}

static char path_buf[4096];
static const char *dir;

static const char *in_dir(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

static Config small_config(void) {
    return (Config){.V = 10, .E = 4, .D = 16, .NL = 2, .H = 8, .R = 2, .F = 32,
                    .dropout = 0.25f, .layerdrop = 0.05f, .film_one_plus = 1};
}

static int same_config(const Config *a, const Config *b) {
    return a->V == b->V && a->E == b->E && a->D == b->D && a->NL == b->NL && a->H == b->H && a->R == b->R &&
           a->F == b->F && a->dropout == b->dropout && a->layerdrop == b->layerdrop &&
           a->film_one_plus == b->film_one_plus;
}

static void fill(float *x, size_t n, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    rng_fill_normal(&r, x, (long)n, 1.0f);
}

/* A checkpoint of the small config with everything in it. */
static int make_full(Checkpoint *ck, Err *e) {
    Config c = small_config();
    if (ckpt_alloc(ck, &c, 1, 1, e)) return -1;
    params_init(&ck->table, ck->weights, 7);
    fill(ck->adam_m, ck->table.total, 8);
    fill(ck->adam_v, ck->table.total, 9);
    fill(ck->ema, ck->table.total, 10);
    ck->adam_step = 123456789012LL;
    static const unsigned char spm[5] = {0, 1, 2, 0xfe, 0xff};
    if (ckpt_set_spm(ck, spm, sizeof spm, e) || ckpt_set_meta(ck, "train.step", "500", e) ||
        ckpt_set_meta(ck, "train.data", "/data/corpus \xe2\x80\x94 v2.txt", e))
        return -1;
    return 0;
}

/* ---- round trips ------------------------------------------------------------ */

static void test_round_trip(void) {
    Checkpoint ck, back;
    Err e;
    if (make_full(&ck, &e)) {
        check_ok(0, "make a checkpoint: %s", e.msg);
        return;
    }
    size_t bytes = ck.table.total * sizeof(float);
    int rc = ckpt_save(in_dir("full.safetensors"), &ck, ST_F32, &e);
    check_ok(rc == 0, "save F32 with Adam, EMA, tokenizer and metadata%s%s", rc ? ": " : "", rc ? e.msg : "");
    rc = ckpt_load(in_dir("full.safetensors"), &back, &e);
    check_ok(rc == 0, "load it back%s%s", rc ? ": " : "", rc ? e.msg : "");
    if (!rc) {
        check_ok(same_config(&ck.table.cfg, &back.table.cfg), "config round-trips (dropout %g, layerdrop %g)",
                 (double)back.table.cfg.dropout, (double)back.table.cfg.layerdrop);
        check_ok(back.table.total == ck.table.total && !memcmp(back.weights, ck.weights, bytes),
                 "weights are bit-identical");
        check_ok(back.adam_m && back.adam_v && !memcmp(back.adam_m, ck.adam_m, bytes) &&
                     !memcmp(back.adam_v, ck.adam_v, bytes) && back.adam_step == 123456789012LL,
                 "Adam moments and step are bit-identical");
        check_ok(back.ema && !memcmp(back.ema, ck.ema, bytes), "EMA weights are bit-identical");
        check_ok(back.spm_len == 5 && !memcmp(back.spm, ck.spm, 5), "tokenizer bytes round-trip");
        const char *s = ckpt_meta(&back, "train.step"), *d = ckpt_meta(&back, "train.data");
        check_ok(s && !strcmp(s, "500") && d && !strcmp(d, "/data/corpus \xe2\x80\x94 v2.txt") && back.nmeta == 2,
                 "metadata round-trips, config keys kept out of it (nmeta %d)", back.nmeta);
        ckpt_free(&back);
    }

    /* The file carries the fixture's metadata keys and ours. */
    StFile f;
    if (!st_open(&f, in_dir("full.safetensors"), &e)) {
        const char *v = st_meta(&f, "V"), *l = st_meta(&f, "layers"), *r = st_meta(&f, "rotary_dim"),
                   *dr = st_meta(&f, "dropout"), *fm = st_meta(&f, "format");
        check_ok(v && !strcmp(v, "10") && l && !strcmp(l, "2") && r && !strcmp(r, "2") && dr && !strcmp(dr, "0.25") &&
                     fm && !strcmp(fm, CKPT_FORMAT),
                 "metadata holds the config as decimal strings (dropout \"%s\")", dr ? dr : "?");
        const StTensor *t = st_find(&f, "optim.step"), *m = st_find(&f, "optim.exp_avg_sq.lm_head.bias"),
                       *em = st_find(&f, "ema.norm.weight"), *tok = st_find(&f, "tokenizer.model");
        check_ok(t && t->dtype == ST_I64 && t->ndim == 1 && t->shape[0] == 1 && m && m->dtype == ST_F32 && em &&
                     tok && tok->dtype == ST_U8 && tok->shape[0] == 5,
                 "tensor names and dtypes as documented");
        st_close(&f);
    }

    /* F16 and BF16 weights: the stored values are the rounded ones, moments stay exact. */
    StDtype halfs[2] = {ST_F16, ST_BF16};
    for (int h = 0; h < 2; h++) {
        rc = ckpt_save(in_dir("half.safetensors"), &ck, halfs[h], &e) || ckpt_load(in_dir("half.safetensors"), &back, &e);
        if (rc) {
            check_ok(0, "save and load %s weights: %s", st_dtype_name(halfs[h]), e.msg);
            continue;
        }
        int bad = 0;
        for (size_t i = 0; i < ck.table.total; i++) {
            float want = halfs[h] == ST_F16 ? st_f16_to_f32(st_f32_to_f16(ck.weights[i]))
                                            : st_bf16_to_f32(st_f32_to_bf16(ck.weights[i]));
            bad += back.weights[i] != want;
        }
        check_ok(!bad && !memcmp(back.adam_m, ck.adam_m, bytes) && !memcmp(back.ema, ck.ema, bytes),
                 "%s weights load as their rounded values, moments and EMA exact (%d wrong)",
                 st_dtype_name(halfs[h]), bad);
        ckpt_free(&back);
    }
    check_ok(ckpt_save(in_dir("x.safetensors"), &ck, ST_I64, &e) && strstr(e.msg, "not I64"), "%s", e.msg);

    /* Weights only. */
    float *adam_m = ck.adam_m, *adam_v = ck.adam_v, *ema = ck.ema;
    unsigned char *spm = ck.spm;
    ck.adam_m = ck.adam_v = ck.ema = NULL;
    ck.spm = NULL;
    rc = ckpt_save(in_dir("bare.safetensors"), &ck, ST_F32, &e) || ckpt_load(in_dir("bare.safetensors"), &back, &e);
    check_ok(!rc && !back.adam_m && !back.adam_v && !back.ema && !back.spm && !memcmp(back.weights, ck.weights, bytes),
             "a weights-only checkpoint loads with no moments, EMA or tokenizer%s%s", rc ? ": " : "", rc ? e.msg : "");
    if (!rc) ckpt_free(&back);
    ck.adam_m = adam_m, ck.adam_v = adam_v, ck.ema = ema, ck.spm = spm;
    ckpt_free(&ck);
    ckpt_free(&ck); /* twice is harmless */
    Checkpoint empty = {0};
    check_ok(ckpt_save(in_dir("x.safetensors"), &empty, ST_F32, &e) && strstr(e.msg, "empty"), "%s", e.msg);
}

static void test_meta_api(void) {
    Checkpoint ck;
    Err e;
    Config c = small_config();
    if (ckpt_alloc(&ck, &c, 0, 0, &e)) return;
    check_ok(!ckpt_meta(&ck, "a"), "absent metadata is NULL");
    check_ok(!ckpt_set_meta(&ck, "a", "1", &e) && !ckpt_set_meta(&ck, "a", "2", &e) && ck.nmeta == 1 &&
                 !strcmp(ckpt_meta(&ck, "a"), "2"),
             "ckpt_set_meta replaces a value");
    check_ok(ckpt_set_meta(&ck, "layers", "3", &e) && strstr(e.msg, "reserved"), "%s", e.msg);
    check_ok(ckpt_set_meta(&ck, "format", "x", &e) && strstr(e.msg, "reserved"), "%s", e.msg);
    check_ok(!ckpt_set_spm(&ck, "abc", 3, &e) && !ckpt_set_spm(&ck, NULL, 0, &e) && !ck.spm && !ck.spm_len,
             "ckpt_set_spm copies and clears");
    ckpt_free(&ck);
    Config bad = c;
    bad.D = 15;
    check_ok(ckpt_alloc(&ck, &bad, 0, 0, &e) && strstr(e.msg, "not a multiple of 8 heads"), "ckpt_alloc: %s", e.msg);
}

/* ---- files written by hand: PyTorch-style and broken ones ------------------------ */

typedef struct {
    const char *skip;              /* not written */
    const char *reshape;           /* written with shape2 instead */
    int64_t shape2[2];
    const char *retype;            /* written as dtype2 */
    StDtype dtype2;
    const char *meta[6][2];        /* __metadata__, none when empty */
    const char *extra[4];          /* more tensors (F32 [1]) */
} Variant;

/* The small config's weights under the seed's names, altered as v says. */
static int write_variant(const char *path, const Variant *v, Err *e) {
    Config c = small_config();
    ParamTable t;
    if (param_table_build(&t, &c, e)) return -1;
    float *w = calloc(t.total + 64, sizeof *w);
    params_init(&t, w, 7);
    StWriter wr;
    st_writer_init(&wr);
    int rc = 0;
    for (int i = 0; i < t.count && !rc; i++) {
        const ParamInfo *p = &t.info[i];
        if (v->skip && !strcmp(p->name, v->skip)) continue;
        if (v->reshape && !strcmp(p->name, v->reshape)) {
            float *z = calloc((size_t)(v->shape2[0] * v->shape2[1]) + 1, sizeof *z);
            rc = st_writer_add(&wr, p->name, ST_F32, 2, v->shape2, z, e) || st_writer_save(&wr, path, e);
            free(z);
            goto out; /* the reshaped tensor is written last, data freed right after */
        }
        StDtype d = v->retype && !strcmp(p->name, v->retype) ? v->dtype2 : ST_F32;
        rc = st_writer_add(&wr, p->name, d, p->ndim, p->shape, w + p->offset, e);
    }
    static const float one = 1;
    static const int64_t s1[1] = {1};
    for (int i = 0; i < 4 && v->extra[i] && !rc; i++) rc = st_writer_add(&wr, v->extra[i], ST_F32, 1, s1, &one, e);
    for (int i = 0; i < 6 && v->meta[i][0] && !rc; i++) rc = st_writer_meta(&wr, v->meta[i][0], v->meta[i][1], e);
    if (!rc) rc = st_writer_save(&wr, path, e);
out:
    st_writer_free(&wr);
    free(w);
    param_table_free(&t);
    return rc;
}

static void expect_load_fails(const char *what, const Variant *v, const char *needle) {
    Err e;
    Checkpoint ck;
    const char *path = in_dir("variant.safetensors");
    if (write_variant(path, v, &e)) {
        check_ok(0, "%s: writing the file failed: %s", what, e.msg);
        return;
    }
    int rc = ckpt_load(path, &ck, &e);
    check_ok(rc == -1 && strstr(e.msg, needle) && strstr(e.msg, "variant.safetensors") && !ck.weights &&
                 !ck.table.info,
             "rejects %s: %s", what, rc ? e.msg : "accepted");
    if (!rc) ckpt_free(&ck);
}

static void test_pytorch_style(void) {
    Variant v = {.extra = {"input.x_T", "expect.loss"}};
    Err e;
    Checkpoint ck;
    const char *path = in_dir("torch.safetensors");
    int rc = write_variant(path, &v, &e) || ckpt_load(path, &ck, &e);
    check_ok(rc == 0, "loads a file with no metadata%s%s", rc ? ": " : "", rc ? e.msg : "");
    if (rc) return;
    Config c = ck.table.cfg;
    check_ok(c.V == 10 && c.E == 4 && c.D == 16 && c.NL == 2 && c.F == 32 && c.H == 8 && c.R == 2 &&
                 c.dropout == 0.1f && c.layerdrop == 0 && c.film_one_plus == 0,
             "config inferred from shapes: V=%d E=%d D=%d NL=%d F=%d, seed defaults H=%d R=%d dropout %g", c.V, c.E,
             c.D, c.NL, c.F, c.H, c.R, (double)c.dropout);
    ParamTable t;
    param_table_build(&t, &c, &e);
    float *w = calloc(t.total, sizeof *w);
    params_init(&t, w, 7);
    check_ok(!memcmp(w, ck.weights, t.total * sizeof *w) && !ck.adam_m && !ck.ema && ck.nmeta == 0,
             "weights match; extra input.*/expect.* tensors are ignored");
    free(w);
    param_table_free(&t);
    ckpt_free(&ck);

    /* Metadata that agrees with the shapes, as in a parity fixture, plus keys we keep. */
    Variant m = {.meta = {{"V", "10"}, {"E", "4"}, {"D", "16"}, {"layers", "2"}, {"heads", "4"}, {"sampler", "ddim"}}};
    rc = write_variant(path, &m, &e) || ckpt_load(path, &ck, &e);
    check_ok(!rc && ck.table.cfg.H == 4 && ck.table.cfg.R == 4 && ckpt_meta(&ck, "sampler") &&
                 !strcmp(ckpt_meta(&ck, "sampler"), "ddim") && !ckpt_meta(&ck, "V"),
             "partial metadata: heads from it (rotary follows: R=%d), the rest inferred%s%s", ck.table.cfg.R,
             rc ? ": " : "", rc ? e.msg : "");
    if (!rc) ckpt_free(&ck);
}

static void test_bad_files(void) {
    expect_load_fails("a missing tensor", &(Variant){.skip = "estimator.encoder_layers.1.ffn.2.bias"},
                      "tensor estimator.encoder_layers.1.ffn.2.bias is missing");
    expect_load_fails("a missing embedding and no metadata", &(Variant){.skip = "embedding.weight"},
                      "cannot tell the vocabulary size");
    expect_load_fails("a wrong shape", &(Variant){.reshape = "lm_head.weight", .shape2 = {10, 17}},
                      "tensor lm_head.weight has shape [10, 17], expected [10, 16]");
    expect_load_fails("a transposed weight", &(Variant){.reshape = "estimator.out.weight", .shape2 = {16, 4}},
                      "tensor estimator.out.weight has shape [16, 4], expected [4, 16]");
    expect_load_fails("an integer weight", &(Variant){.retype = "norm.bias", .dtype2 = ST_I32},
                      "tensor norm.bias has dtype I32, expected F32, F16 or BF16");
    expect_load_fails("metadata E contradicting embedding.weight", &(Variant){.meta = {{"E", "8"}}},
                      "metadata says E=8 but tensor embedding.weight says 4");
    expect_load_fails("metadata layers contradicting the layer tensors", &(Variant){.meta = {{"layers", "3"}}},
                      "metadata says layers=3 but the encoder layer tensors says 2");
    expect_load_fails("metadata ffn contradicting ffn.0.weight", &(Variant){.meta = {{"ffn", "64"}}},
                      "metadata says ffn=64");
    expect_load_fails("metadata heads that do not divide D", &(Variant){.meta = {{"heads", "3"}}},
                      "config: model dim 16 is not a multiple of 3 heads");
    expect_load_fails("metadata rotary_dim over the head dim", &(Variant){.meta = {{"rotary_dim", "4"}}},
                      "rotary dims 4 must be even and at most the head dim 2");
    expect_load_fails("a non-numeric metadata value", &(Variant){.meta = {{"D", "16x"}}},
                      "metadata D=\"16x\" is not a whole number");
    expect_load_fails("a padded metadata value", &(Variant){.meta = {{"D", " 16"}}}, "not a whole number");
    expect_load_fails("a negative metadata value", &(Variant){.meta = {{"V", "-10"}}}, "not a whole number");
    expect_load_fails("a zero layer count", &(Variant){.meta = {{"layers", "0"}}},
                      "metadata layers=\"0\" is not a whole number >= 1");
    expect_load_fails("a huge metadata value", &(Variant){.meta = {{"V", "99999999999999999999"}}},
                      "not a whole number");
    expect_load_fails("a bad dropout", &(Variant){.meta = {{"dropout", "lots"}}}, "metadata dropout=\"lots\" is not a number");
    expect_load_fails("a dropout of 1", &(Variant){.meta = {{"dropout", "1"}}}, "dropout 1 must be in [0, 1)");
    expect_load_fails("a film_one_plus of 2", &(Variant){.meta = {{"film_one_plus", "2"}}}, "must be 0 or 1");
    expect_load_fails("another format", &(Variant){.meta = {{"format", "sdlm-ckpt-9"}}},
                      "checkpoint format \"sdlm-ckpt-9\" is not one this build reads");
    expect_load_fails("a layer index past the limit",
                      &(Variant){.extra = {"estimator.encoder_layers.5000.attention.w_q.weight"}},
                      "layer index beyond the limit of 1024 layers");
    expect_load_fails("a layer index with many digits",
                      &(Variant){.extra = {"estimator.encoder_layers.123456789012345678901234567890.x"}},
                      "tensor estimator.encoder_layers.123456789012345678901234567890...: layer index beyond");
    expect_load_fails("a stray higher layer", &(Variant){.extra = {"estimator.encoder_layers.2.junk"}},
                      "tensor estimator.encoder_layers.2.attention.w_q.weight is missing");
    expect_load_fails("optimiser state without optim.step", &(Variant){.extra = {"optim.exp_avg.norm.weight"}},
                      "tensor optim.step is missing");
}

/* Files that need more than write_variant can express. */
static void test_bad_files_by_hand(void) {
    Checkpoint ck, bad;
    Err e;
    if (make_full(&ck, &e)) return;
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir("hand.safetensors"));
    StWriter w;

    /* Adam moments present but one exp_avg_sq missing. */
    ckpt_save(path, &ck, ST_F32, &e);
    StFile f;
    if (!st_open(&f, path, &e)) {
        st_writer_init(&w);
        for (int i = 0; i < f.count; i++) {
            const StTensor *t = &f.tensors[i];
            if (!strcmp(t->name, "optim.exp_avg_sq.estimator.out.bias")) continue;
            if (!strcmp(t->name, "optim.step")) {
                static const float step = 3;
                static const int64_t s1[1] = {1};
                st_writer_add(&w, t->name, ST_F32, 1, s1, &step, &e); /* wrong dtype too: reported first */
                continue;
            }
            if (!strcmp(t->name, "tokenizer.model")) {
                st_writer_add(&w, t->name, ST_I64, 0, NULL, "12345678", &e);
                continue;
            }
            st_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data, &e);
        }
        for (int i = 0; i < f.nmeta; i++) st_writer_meta(&w, f.meta[i].key, f.meta[i].value, &e);
        int rc = st_writer_save(&w, in_dir("hand2.safetensors"), &e);
        st_writer_free(&w);
        st_close(&f);
        check_ok(!rc && ckpt_load(in_dir("hand2.safetensors"), &bad, &e) &&
                     strstr(e.msg, "tensor optim.step must be one I64, found F32"),
                 "rejects an F32 optim.step: %s", e.msg);
    }

    /* Only the missing moment. */
    if (!st_open(&f, path, &e)) {
        st_writer_init(&w);
        for (int i = 0; i < f.count; i++) {
            const StTensor *t = &f.tensors[i];
            if (strcmp(t->name, "optim.exp_avg_sq.estimator.out.bias") && strcmp(t->name, "ema.lm_head.bias"))
                st_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data, &e);
        }
        st_writer_save(&w, in_dir("hand3.safetensors"), &e);
        st_writer_free(&w);
        st_close(&f);
        check_ok(ckpt_load(in_dir("hand3.safetensors"), &bad, &e) &&
                     strstr(e.msg, "tensor optim.exp_avg_sq.estimator.out.bias is missing"),
                 "rejects a missing Adam moment: %s", e.msg);
    }
    if (!st_open(&f, path, &e)) {
        st_writer_init(&w);
        for (int i = 0; i < f.count; i++) {
            const StTensor *t = &f.tensors[i];
            if (!strcmp(t->name, "ema.lm_head.bias")) continue;
            if (!strcmp(t->name, "embedding.weight")) { /* one-dimensional */
                const int64_t flat[1] = {t->count};
                st_writer_add(&w, "embedding.weight.flat", t->dtype, 1, flat, t->data, &e);
                continue;
            }
            st_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data, &e);
        }
        for (int i = 0; i < f.nmeta; i++) st_writer_meta(&w, f.meta[i].key, f.meta[i].value, &e);
        st_writer_save(&w, in_dir("hand4.safetensors"), &e);
        st_writer_free(&w);
        st_close(&f);
        check_ok(ckpt_load(in_dir("hand4.safetensors"), &bad, &e) && strstr(e.msg, "tensor embedding.weight is missing"),
                 "with metadata, a missing embedding is named: %s", e.msg);
    }
    if (!st_open(&f, path, &e)) {
        st_writer_init(&w);
        for (int i = 0; i < f.count; i++) {
            const StTensor *t = &f.tensors[i];
            if (!strcmp(t->name, "ema.lm_head.bias")) continue;
            if (!strcmp(t->name, "embedding.weight")) {
                const int64_t flat[1] = {t->count};
                st_writer_add(&w, t->name, t->dtype, 1, flat, t->data, &e);
                continue;
            }
            st_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data, &e);
        }
        st_writer_save(&w, in_dir("hand5.safetensors"), &e);
        st_writer_free(&w);
        st_close(&f);
        check_ok(ckpt_load(in_dir("hand5.safetensors"), &bad, &e) &&
                     strstr(e.msg, "tensor embedding.weight has 1 dimension, expected 2"),
                 "rejects a 1-d embedding: %s", e.msg);
    }
    if (!st_open(&f, path, &e)) {
        st_writer_init(&w);
        for (int i = 0; i < f.count; i++) {
            const StTensor *t = &f.tensors[i];
            if (strcmp(t->name, "ema.lm_head.bias")) st_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data, &e);
        }
        st_writer_save(&w, in_dir("hand6.safetensors"), &e);
        st_writer_free(&w);
        st_close(&f);
        check_ok(ckpt_load(in_dir("hand6.safetensors"), &bad, &e) && strstr(e.msg, "tensor ema.lm_head.bias is missing"),
                 "rejects a missing EMA tensor: %s", e.msg);
    }
    ckpt_free(&ck);
}

/* Every prefix of a checkpoint, and random damage to its header, in memory. */
static void test_damage(void) {
    Checkpoint ck, back;
    Err e;
    if (make_full(&ck, &e) || ckpt_save(in_dir("dmg.safetensors"), &ck, ST_F16, &e)) {
        check_ok(0, "make a checkpoint to damage: %s", e.msg);
        return;
    }
    ckpt_free(&ck);
    size_t len;
    unsigned char *b = file_read_all(in_dir("dmg.safetensors"), &len);
    if (!b) return;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)b[i] << 8 * i;
    int bad = 0, tried = 0;
    for (size_t cut = 0; cut < len; cut += cut < 8 + hlen + 64 ? 1 : 997) {
        unsigned char *p = malloc(cut ? cut : 1);
        memcpy(p, b, cut);
        StFile f;
        e.msg[0] = 0;
        if (!st_open_mem(&f, p, cut, &e)) {
            if (!ckpt_load_file(&f, &back, &e)) bad++, ckpt_free(&back);
            st_close(&f);
        }
        bad += !e.msg[0];
        tried++;
        free(p);
    }
    check_ok(!bad, "%d truncations of a checkpoint are rejected with a message (%d not)", tried, bad);

    Rng r;
    rng_seed(&r, 99);
    int opened = 0;
    bad = 0;
    static const char interesting[] = "0123456789[]{},:\"-. ";
    for (int it = 0; it < 3000; it++) {
        unsigned char *p = malloc(len);
        memcpy(p, b, len);
        for (int k = 0; k < 3; k++) p[8 + rng_below(&r, hlen)] = (unsigned char)interesting[rng_below(&r, sizeof interesting - 1)];
        StFile f;
        e.msg[0] = 0;
        if (!st_open_mem(&f, p, len, &e)) {
            if (!ckpt_load_file(&f, &back, &e)) opened++, ckpt_free(&back);
            else bad += !e.msg[0];
            st_close(&f);
        } else {
            bad += !e.msg[0];
        }
        free(p);
    }
    check_ok(!bad, "3000 damaged checkpoint headers: no crash, errors have messages (%d still load)", opened);
    free(b);
}

/* ckpt_save over an existing checkpoint with a write that fails part way. */
static void test_atomic_save(void) {
    Checkpoint ck;
    Err e;
    const char *p = in_dir("atomic.safetensors");
    char path[4096];
    snprintf(path, sizeof path, "%s", p);
    if (make_full(&ck, &e) || ckpt_save(path, &ck, ST_F16, &e)) {
        check_ok(0, "write the old checkpoint: %s", e.msg);
        return;
    }
    size_t old_len, new_len;
    unsigned char *old = file_read_all(path, &old_len);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {.rlim_cur = old_len, .rlim_max = old_len};
        setrlimit(RLIMIT_FSIZE, &rl);
        Err ce;
        int rc = ckpt_save(path, &ck, ST_F32, &ce); /* about 4x the F16 file with moments */
        _exit(rc == -1 && strstr(ce.msg, strerror(EFBIG)) ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    unsigned char *now = file_read_all(path, &new_len);
    check_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ckpt_save past the file size limit fails with EFBIG");
    check_ok(old && now && old_len == new_len && !memcmp(old, now, old_len) && tmpdir_count(dir, ".tmp.") == 0,
             "the old checkpoint is byte-identical and no temp file is left");
    Checkpoint back;
    check_ok(!ckpt_load(path, &back, &e), "and it still loads");
    ckpt_free(&back);
    free(old);
    free(now);
    ckpt_free(&ck);
}

/* Nothing the user owns is lost: another tool's tensors survive a load and
 * save, a mode-600 file stays 600, a symlink stays a link to the new file. */
static void test_keeps_what_it_found(void) {
    Checkpoint ck, back, again;
    Err e;
    char path[4096], link[4096];
    snprintf(path, sizeof path, "%s", in_dir("kept.safetensors"));
    snprintf(link, sizeof link, "%s", in_dir("kept-link.safetensors"));
    if (make_full(&ck, &e)) {
        check_ok(0, "make a checkpoint: %s", e.msg);
        return;
    }
    static const unsigned char extra[6] = {1, 2, 3, 4, 5, 6};
    StTensor foreign = {.name = (char *)"other_tool.scale", .dtype = ST_U8, .ndim = 1, .shape = {6}, .count = 6,
                        .data = extra, .nbytes = 6};
    ck.foreign = &foreign, ck.nforeign = 1; /* borrowed for the save */
    int rc = ckpt_save(path, &ck, ST_F32, &e);
    ck.foreign = NULL, ck.nforeign = 0;
    check_ok(!rc && !ckpt_load(path, &back, &e), "a checkpoint with another tool's tensor loads: %s", rc ? e.msg : "");
    check_ok(back.nforeign == 1 && !strcmp(back.foreign[0].name, "other_tool.scale") &&
                 back.foreign[0].nbytes == 6 && !memcmp(back.foreign[0].data, extra, 6),
             "its tensor is kept on load (%d foreign)", back.nforeign);
    chmod(path, 0600);
    check_ok(!symlink("kept.safetensors", link), "a symlink to it");
    rc = ckpt_save(link, &back, ST_F32, &e); /* saved again through the link */
    struct stat st, lst;
    check_ok(!rc && !lstat(link, &lst) && S_ISLNK(lst.st_mode), "saving through a symlink keeps the link: %s",
             rc ? e.msg : "");
    int stat_rc = stat(path, &st);
    check_ok(!stat_rc && (st.st_mode & 0777) == 0600, "the replaced file keeps mode 600 (has %03o)",
             (unsigned)(st.st_mode & 0777));
    check_ok(!ckpt_load(link, &again, &e) && again.nforeign == 1 && again.foreign[0].nbytes == 6,
             "the rewritten file still holds the other tool's tensor");
    ckpt_free(&again);
    ckpt_free(&back);
    ckpt_free(&ck);
}

/* Weights that are not finite, and run metadata that is not a number in its
 * range, are refused at load with one line naming them. */
static void test_refuses_bad_numbers(void) {
    Checkpoint ck, back;
    Err e;
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir("numbers.safetensors"));
    if (make_full(&ck, &e)) {
        check_ok(0, "make a checkpoint: %s", e.msg);
        return;
    }
    ck.ema[5] = NAN;
    check_ok(!ckpt_save(path, &ck, ST_F32, &e) && ckpt_load(path, &back, &e) && strstr(e.msg, "non-finite") &&
                 strstr(e.msg, "ema."),
             "a NaN in the EMA is refused: %s", e.msg);
    ck.ema[5] = 0;
    ck.weights[3] = INFINITY;
    check_ok(!ckpt_save(path, &ck, ST_F32, &e) && ckpt_load(path, &back, &e) && strstr(e.msg, "non-finite"),
             "an infinite weight is refused: %s", e.msg);
    ck.weights[3] = 0;
    const char *bad[][2] = {{"crop_len", "0"}, {"step", "-1"}, {"shift", "nan"}, {"masks", "7"}, {"lr", "-1"},
                            {"crop_len", "16x"}, {"epoch", "1.5"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Checkpoint v;
        if (make_full(&v, &e) || ckpt_set_meta(&v, bad[i][0], bad[i][1], &e) || ckpt_save(path, &v, ST_F32, &e)) {
            check_ok(0, "write metadata %s: %s", bad[i][0], e.msg);
            ckpt_free(&v);
            continue;
        }
        check_ok(ckpt_load(path, &back, &e) && strstr(e.msg, bad[i][0]), "metadata %s=\"%s\" is refused: %s",
                 bad[i][0], bad[i][1], e.msg);
        ckpt_free(&v);
    }
    ckpt_free(&ck);
}

/* Metadata numbers do not follow the user's locale ("0,25" would not load elsewhere). */
static void test_locale(void) {
    static const char *const comma_locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE.utf8", "nl_NL.UTF-8"};
    const char *used = NULL;
    for (size_t i = 0; i < sizeof comma_locales / sizeof *comma_locales && !used; i++)
        if (setlocale(LC_NUMERIC, comma_locales[i])) used = comma_locales[i];
    if (!used) {
        check_ok(1, "metadata numbers ignore a comma-decimal locale (skipped: none installed)");
        return;
    }
    Checkpoint ck, back;
    Err e;
    Config c = small_config();
    int rc = ckpt_alloc(&ck, &c, 0, 0, &e) || ckpt_save(in_dir("locale.safetensors"), &ck, ST_F32, &e);
    StFile f;
    rc = rc || st_open(&f, in_dir("locale.safetensors"), &e);
    const char *d = rc ? NULL : st_meta(&f, "dropout");
    check_ok(d && !strcmp(d, "0.25"), "under %s dropout is written \"%s\"", used, d ? d : "?");
    if (!rc) st_close(&f);
    rc = rc || ckpt_load(in_dir("locale.safetensors"), &back, &e);
    check_ok(!rc && back.table.cfg.dropout == 0.25f, "and read back as 0.25");
    if (!rc) ckpt_free(&back);
    ckpt_free(&ck);
    setlocale(LC_NUMERIC, "C");
}

/* ---- the seed's parity fixture ----------------------------------------------- */

static uint32_t bits(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static void test_fixture(void) {
    const char *fixture = find_fixture();
    if (!fixture) {
        check_ok(1, "parity fixture loads (skipped: fixture absent)");
        return;
    }
    Checkpoint ck;
    Err e;
    int rc = ckpt_load(fixture, &ck, &e);
    check_ok(rc == 0, "the parity fixture %s loads with ckpt_load%s%s", fixture, rc ? ": " : "", rc ? e.msg : "");
    if (rc) return;
    Config c = ck.table.cfg;
    check_ok(c.V == 64 && c.E == 16 && c.D == 256 && c.NL == 2 && c.H == 8 && c.R == 32 && c.F == 1024,
             "fixture config V=%d E=%d D=%d layers=%d heads=%d rotary_dim=%d ffn=%d", c.V, c.E, c.D, c.NL, c.H, c.R,
             c.F);
    Params p;
    params_bind(&p, &ck.table, ck.weights);
    /* Bit patterns read from the file with Python's struct module. */
    check_ok(bits(p.embedding[0]) == 0xbbe9ee6d && bits(p.embedding[1]) == 0xbbdb19c7 &&
                 bits(p.embedding[1023]) == 0x3cf3fa74,
             "embedding.weight [0], [1], [1023]");
    check_ok(bits(p.lm_b[0]) == 0xbe83077a && bits(p.lm_b[63]) == 0x3b77d899, "lm_head.bias [0], [63]");
    check_ok(bits(p.layer[1].ffn_w2[0]) == 0x3d152b85 && bits(p.layer[1].ffn_w2[262143]) == 0x3ce1184a,
             "encoder_layers.1.ffn.2.weight first and last");
    check_ok(bits(p.time_freq[0]) == 0xc01c004c && bits(p.time_freq[5]) == 0x3fc4a967,
             "estimator.time_mlp.0.weights [0], [5]");
    params_unbind(&p);
    const char *sampler = ckpt_meta(&ck, "sampler");
    check_ok(!ck.adam_m && !ck.ema && !ck.spm && sampler && !strcmp(sampler, "difflm") && !ckpt_meta(&ck, "V"),
             "no optimiser or EMA; fixture keys other than the config kept as metadata");

    /* Saved by us and read again: the same weights. */
    Checkpoint back;
    rc = ckpt_save(in_dir("fixture-copy.safetensors"), &ck, ST_F32, &e) ||
         ckpt_load(in_dir("fixture-copy.safetensors"), &back, &e);
    check_ok(!rc && !memcmp(back.weights, ck.weights, ck.table.total * sizeof(float)),
             "fixture weights survive a save and load%s%s", rc ? ": " : "", rc ? e.msg : "");
    if (!rc) ckpt_free(&back);
    ckpt_free(&ck);
}

int main(void) {
    char *d = tmpdir_make("ckpt");
    if (!d) {
        check_ok(0, "make a temp directory: %s", strerror(errno));
        return check_done();
    }
    dir = d;
    test_round_trip();
    test_meta_api();
    test_pytorch_style();
    test_bad_files();
    test_bad_files_by_hand();
    test_damage();
    test_atomic_save();
    test_keeps_what_it_found();
    test_refuses_bad_numbers();
    test_locale();
    test_fixture();
    tmpdir_remove(d);
    free(d);
    return check_done();
}
