/* gen_corpus.c: writes the seed corpus of fuzz_ckpt (tests/fuzz/corpus/ckpt).
 *
 * A few small valid safetensors files, checkpoint headers of a tiny config
 * without their data (the harness zero-extends them to full files), and one
 * crafted file per validation rule. Every file stays under 4 KB. Run by
 * `make fuzz-corpus`; the output is committed, so this runs only when the
 * format changes. Usage: gen_corpus DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "safetensors.h"

static const char *dir;

static const char *path_of(const char *name) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void die(const Err *e) {
    fprintf(stderr, "gen_corpus: %s\n", e->msg);
    exit(1);
}

/* Cuts a saved file down to its 8-byte length and header. */
static void keep_header(const char *name) {
    FILE *f = fopen(path_of(name), "rb");
    unsigned char len8[8];
    if (!f || fread(len8, 1, 8, f) != 8) exit(1);
    fclose(f);
    unsigned long long n = 0;
    for (int i = 0; i < 8; i++) n |= (unsigned long long)len8[i] << 8 * i;
    if (truncate(path_of(name), (off_t)(8 + n))) exit(1);
}

static void raw(const char *name, const char *json, size_t data_len) {
    FILE *f = fopen(path_of(name), "wb");
    if (!f) exit(1);
    size_t n = strlen(json);
    for (int i = 0; i < 8; i++) fputc((int)((unsigned long long)n >> 8 * i & 0xff), f);
    fwrite(json, 1, n, f);
    for (size_t i = 0; i < data_len; i++) fputc((int)(i * 37 & 0xff), f);
    if (fclose(f)) exit(1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    dir = argv[1];
    Err e;

    /* Every dtype, a scalar, an empty tensor, metadata. */
    StWriter w;
    st_writer_init(&w);
    static const float f32[3] = {1, -2, 0.5f};
    static const unsigned char bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const int64_t s3[1] = {3}, s2[1] = {2}, s0[2] = {0, 4}, s12[2] = {1, 2};
    if (st_writer_add(&w, "f32", ST_F32, 1, s3, f32, &e) || st_writer_add(&w, "u8", ST_U8, 1, s3, bytes, &e) ||
        st_writer_add(&w, "f16", ST_F16, 1, s2, bytes, &e) || st_writer_add(&w, "bf16", ST_BF16, 1, s2, bytes, &e) ||
        st_writer_add(&w, "f64", ST_F64, 1, s2, bytes, &e) || st_writer_add(&w, "i64", ST_I64, 2, s12, bytes, &e) ||
        st_writer_add(&w, "i32", ST_I32, 1, s2, bytes, &e) || st_writer_add(&w, "bool", ST_BOOL, 1, s2, bytes, &e) ||
        st_writer_add(&w, "scalar", ST_F32, 0, NULL, f32, &e) || st_writer_add(&w, "empty", ST_F32, 2, s0, NULL, &e) ||
        st_writer_meta(&w, "note", "seed", &e) || st_writer_save(&w, path_of("valid-dtypes.safetensors"), &e))
        die(&e);
    st_writer_free(&w);

    /* A tiny checkpoint: header only, with and without metadata. */
    Config c = {.V = 3, .E = 2, .D = 8, .NL = 1, .H = 8, .R = 0, .F = 4, .dropout = 0.1f};
    Checkpoint ck;
    if (ckpt_alloc(&ck, &c, 0, 0, &e) || ckpt_set_spm(&ck, "spm", 3, &e) || ckpt_set_meta(&ck, "step", "7", &e) ||
        ckpt_save(path_of("ckpt-meta.header"), &ck, ST_F16, &e))
        die(&e);
    keep_header("ckpt-meta.header");
    ckpt_free(&ck);
    ParamTable t;
    if (param_table_build(&t, &c, &e)) die(&e);
    float *zeros = calloc(t.total, sizeof *zeros);
    st_writer_init(&w);
    for (int i = 0; i < t.count; i++)
        if (st_writer_add(&w, t.info[i].name, ST_F32, t.info[i].ndim, t.info[i].shape, zeros + t.info[i].offset, &e))
            die(&e);
    if (st_writer_save(&w, path_of("ckpt-nometa.header"), &e)) die(&e);
    keep_header("ckpt-nometa.header");
    /* The same plus the start of an optimiser state (incomplete: invalid). */
    static const unsigned char step[8] = {5};
    const int64_t one[1] = {1};
    if (st_writer_add(&w, "optim.step", ST_I64, 1, one, step, &e) ||
        st_writer_add(&w, "optim.exp_avg.norm.weight", ST_F32, 1, t.info[1].shape, zeros, &e) ||
        st_writer_add(&w, "ema.norm.bias", ST_F32, 1, t.info[2].shape, zeros, &e) ||
        st_writer_save(&w, path_of("ckpt-optim-partial.header"), &e))
        die(&e);
    keep_header("ckpt-optim-partial.header");
    st_writer_free(&w);

    /* Weights plus one odd tensor each: a float optim.step, an integer
     * tokenizer, a layer index past the limit, a flat embedding. */
    static const struct {
        const char *file, *name;
        StDtype dtype;
        int ndim;
    } odd[] = {
        {"ckpt-step-f32.header", "optim.step", ST_F32, 1},
        {"ckpt-tokenizer-i32.header", "tokenizer.model", ST_I32, 1},
        {"ckpt-layer-5000.header", "estimator.encoder_layers.5000.ffn.0.bias", ST_F32, 1},
        {"ckpt-embedding-flat.header", "embedding.weight", ST_F32, 1},
    };
    for (size_t k = 0; k < sizeof odd / sizeof *odd; k++) {
        st_writer_init(&w);
        for (int i = 0; i < t.count; i++) {
            const ParamInfo *p = &t.info[i];
            if (!strcmp(p->name, odd[k].name)) continue;
            if (st_writer_add(&w, p->name, ST_F32, p->ndim, p->shape, zeros + p->offset, &e)) die(&e);
        }
        const int64_t two[1] = {2};
        if (st_writer_add(&w, odd[k].name, odd[k].dtype, odd[k].ndim, two, zeros, &e) ||
            st_writer_save(&w, path_of(odd[k].file), &e))
            die(&e);
        keep_header(odd[k].file);
        st_writer_free(&w);
    }
    free(zeros);
    param_table_free(&t);

    /* One file per validation rule. */
#define A "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
    raw("bad-duplicate.safetensors", "{" A "," A "}", 8);
    raw("bad-overlap.safetensors",
        "{" A ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
    raw("bad-gap.safetensors", "{" A ",\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[9,10]}}", 10);
    raw("bad-dtype.safetensors", "{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
    raw("bad-shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1,4294967296],\"data_offsets\":[0,8]}}", 8);
    raw("bad-past-end.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 9);
    raw("bad-metadata.safetensors", "{\"__metadata__\":{\"V\":\"x\",\"E\":4}," A "}", 8);
    raw("bad-ndim.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4);
    raw("bad-overflow.safetensors",
        "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
    raw("bad-array.safetensors", "[{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}]", 8);
    raw("bad-json.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8);
    FILE *f = fopen(path_of("bad-header-length.safetensors"), "wb");
    if (!f || fwrite("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 1, 10, f) != 10 || fclose(f)) return 1;
    return 0;
}
