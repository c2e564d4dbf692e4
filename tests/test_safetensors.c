/* test_safetensors.c: the safetensors reader and writer.
 *
 * Round trips of every dtype and shape kind, the 16-bit float conversions
 * against known bit patterns (and exhaustively), every validation rule with a
 * crafted bad file, truncation at every offset and random damage (no crash,
 * one clear line), and the atomic writer failing part way (old file intact,
 * no temp file left). */
#include <errno.h>
#include <float.h>
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
#include "rng.h"
#include "safetensors.h"
#include "tmpdir.h"

/* The fuzz harness itself, so the seed corpus and every input the fuzzer ever
 * crashed on (tests/fuzz/regress/ckpt) replay through exactly its code. */
#define LLVMFuzzerTestOneInput fuzz_ckpt_one_input
#include "fuzz/fuzz_ckpt.c"

static uint32_t bits_of(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static float float_of(uint32_t b) {
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* ---- crafted files ---------------------------------------------------------- */

/* 8-byte length, the header text as given (no padding), then dlen data bytes
 * (data, or a counting pattern when data is NULL). Malloc'd to the exact size
 * so AddressSanitizer sees any read past the end. */
static unsigned char *craft(const char *json, const void *data, size_t dlen, size_t *len) {
    size_t n = strlen(json);
    *len = 8 + n + dlen;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> 8 * i);
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < dlen; i++) b[8 + n + i] = data ? ((const unsigned char *)data)[i] : (unsigned char)i;
    return b;
}

/* Opens buf; if it is valid, reads every tensor, so a bad data pointer would show. */
static int open_and_touch(const unsigned char *buf, size_t len, Err *e) {
    StFile f;
    if (st_open_mem(&f, buf, len, e)) return -1;
    for (int i = 0; i < f.count; i++) {
        const StTensor *t = &f.tensors[i];
        if (t->count > (1 << 20)) continue;
        void *out = malloc((size_t)t->count * 8 + 8);
        Err e2;
        if (t->dtype <= ST_F64) st_read_f32(&f, t->name, out, t->count, &e2);
        else st_read_i64(&f, t->name, out, t->count, &e2);
        free(out);
    }
    st_close(&f);
    return 0;
}

static void expect_bad_buf(const char *what, const unsigned char *buf, size_t len, const char *needle) {
    Err e = {{0}};
    int rc = open_and_touch(buf, len, &e);
    check_ok(rc == -1 && strstr(e.msg, needle) && !strchr(e.msg, '\n'), "rejects %s (\"%s\")", what,
             rc ? e.msg : "accepted");
}

static void expect_bad(const char *what, const char *json, size_t dlen, const char *needle) {
    size_t len;
    unsigned char *b = craft(json, NULL, dlen, &len);
    expect_bad_buf(what, b, len, needle);
    free(b);
}

static void expect_good(const char *what, const char *json, size_t dlen) {
    size_t len;
    unsigned char *b = craft(json, NULL, dlen, &len);
    Err e = {{0}};
    int rc = open_and_touch(b, len, &e);
    check_ok(rc == 0, "accepts %s%s%s", what, rc ? ": " : "", rc ? e.msg : "");
    free(b);
}

/* ---- conversions ------------------------------------------------------------- */

static void test_f16(void) {
    static const struct {
        uint16_t h;
        uint32_t f;
    } known[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3c00, 0x3f800000}, {0xc000, 0xc0000000},
        {0x7bff, 0x477fe000}, /* 65504, the largest F16 */
        {0x0001, 0x33800000}, /* 2^-24, the smallest subnormal */
        {0x03ff, 0x387fc000}, /* the largest subnormal, 1023 * 2^-24 */
        {0x0400, 0x38800000}, /* 2^-14, the smallest normal */
        {0x8001, 0xb3800000}, {0x3555, 0x3eaaa000}, /* 0.333251953125 */
        {0x7c00, 0x7f800000}, {0xfc00, 0xff800000},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        uint32_t got = bits_of(st_f16_to_f32(known[i].h));
        if (got != known[i].f) {
            check_ok(0, "f16 %04x -> f32 %08x, want %08x", known[i].h, got, known[i].f);
            bad++;
        }
        uint16_t back = st_f32_to_f16(float_of(known[i].f));
        if (back != known[i].h) {
            check_ok(0, "f32 %08x -> f16 %04x, want %04x", known[i].f, back, known[i].h);
            bad++;
        }
    }
    check_ok(!bad, "f16 <-> f32 on %zu known bit patterns", sizeof known / sizeof *known);
    check_ok(isnan(st_f16_to_f32(0x7e00)) && isnan(st_f16_to_f32(0x7c01)) && isnan(st_f16_to_f32(0xfe00)),
             "f16 NaNs (quiet, signalling, negative) read as NaN");

    /* Rounding to F16: nearest, ties to even, overflow to infinity, underflow to zero. */
    static const struct {
        float x;
        uint16_t h;
    } rounding[] = {
        {65519.0f, 0x7bff},               /* just under the halfway point to 65536 */
        {65520.0f, 0x7c00},               /* halfway: ties to even, which is infinity */
        {1e10f, 0x7c00},        {-1e10f, 0xfc00},
        {1.0f + 0x1p-11f, 0x3c00},        /* halfway between 1 and 1+2^-10: even is 1 */
        {1.0f + 3 * 0x1p-11f, 0x3c02},    /* halfway between 0x3c01 and 0x3c02: even */
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01}, /* just above halfway */
        {0x1p-25f, 0x0000},               /* halfway between 0 and 2^-24: even is 0 */
        {0x1.8p-25f, 0x0001},             /* above halfway */
        {0x1p-26f, 0x0000},      {-0x1p-26f, 0x8000},
        {3 * 0x1p-25f, 0x0002},           /* 1.5 subnormal units: ties to even, 2 */
        {0x1.ffcp-15f, 0x0400},           /* rounds up out of the subnormals into 2^-14 */
        {1e-8f, 0x0000},         {FLT_MIN / 2, 0x0000}, /* an F32 subnormal */
        {FLT_MAX, 0x7c00},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof rounding / sizeof *rounding; i++) {
        uint16_t got = st_f32_to_f16(rounding[i].x);
        if (got != rounding[i].h) {
            check_ok(0, "f32 %a -> f16 %04x, want %04x", (double)rounding[i].x, got, rounding[i].h);
            bad++;
        }
    }
    check_ok(!bad, "f32 -> f16 rounds to nearest even on %zu edge cases", sizeof rounding / sizeof *rounding);
    uint16_t nan16 = st_f32_to_f16(float_of(0x7f800001));
    check_ok((nan16 & 0x7c00) == 0x7c00 && (nan16 & 0x3ff), "f32 NaN with a low payload stays NaN in f16 (%04x)",
             nan16);

    /* Every F16 value survives a trip through F32 and back. */
    bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float x = st_f16_to_f32((uint16_t)h);
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan ? !isnan(x) : st_f32_to_f16(x) != h) bad++;
    }
    check_ok(!bad, "all 65536 f16 patterns round-trip through f32 (%d wrong)", bad);
}

static void test_bf16(void) {
    static const struct {
        uint16_t b;
        uint32_t f;
    } known[] = {
        {0x3f80, 0x3f800000}, {0xbf80, 0xbf800000}, {0x0000, 0x00000000}, {0x8000, 0x80000000},
        {0x0001, 0x00010000}, /* subnormal */
        {0x7f7f, 0x7f7f0000}, /* the largest BF16 */
        {0x7f80, 0x7f800000}, {0xff80, 0xff800000},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (bits_of(st_bf16_to_f32(known[i].b)) != known[i].f || st_f32_to_bf16(float_of(known[i].f)) != known[i].b)
            bad++;
    check_ok(!bad, "bf16 <-> f32 on known bit patterns (%d wrong)", bad);
    check_ok(isnan(st_bf16_to_f32(0x7fc0)) && isnan(st_bf16_to_f32(0x7f81)), "bf16 NaNs read as NaN");
    check_ok(st_f32_to_bf16(float_of(0x3f808000)) == 0x3f80 && st_f32_to_bf16(float_of(0x3f818000)) == 0x3f82 &&
                 st_f32_to_bf16(float_of(0x3f808001)) == 0x3f81,
             "f32 -> bf16 rounds to nearest even");
    check_ok(st_f32_to_bf16(FLT_MAX) == 0x7f80, "f32 max rounds to bf16 infinity");
    uint16_t n = st_f32_to_bf16(float_of(0x7f800001));
    check_ok((n & 0x7f80) == 0x7f80 && (n & 0x7f), "f32 NaN with a low payload stays NaN in bf16 (%04x)", n);
    bad = 0;
    for (uint32_t b = 0; b < 0x10000; b++) {
        float x = st_bf16_to_f32((uint16_t)b);
        int is_nan = (b & 0x7f80) == 0x7f80 && (b & 0x7f);
        if (is_nan ? !isnan(x) : st_f32_to_bf16(x) != b) bad++;
    }
    check_ok(!bad, "all 65536 bf16 patterns round-trip through f32 (%d wrong)", bad);
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/all.safetensors", dir);
    float f32[6] = {1.5f, -2.25f, 0.0f, 1e-30f, INFINITY, 3.0f};
    uint16_t f16[3] = {st_f32_to_f16(0.5f), st_f32_to_f16(-65504.0f), 0x0001};
    uint16_t bf16[2] = {st_f32_to_bf16(1.0f), st_f32_to_bf16(-3.5f)};
    double f64[2] = {0.1, -1e300};
    int64_t i64[3] = {INT64_MIN, -1, INT64_MAX};
    int32_t i32[2] = {INT32_MIN, 7};
    uint8_t u8[3] = {0, 200, 255}; /* odd length: the next tensor's data is unaligned */
    uint8_t bools[2] = {1, 0};
    float scalar = 42.0f;
    const int64_t s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s0[1] = {0}, s203[3] = {2, 0, 3};

    StWriter w;
    Err e = {{0}};
    st_writer_init(&w);
    int rc = st_writer_add(&w, "f32", ST_F32, 2, s23, f32, &e);
    rc |= st_writer_add(&w, "u8", ST_U8, 1, s3, u8, &e);
    rc |= st_writer_add(&w, "f16", ST_F16, 1, s3, f16, &e);
    rc |= st_writer_add(&w, "bf16", ST_BF16, 1, s2, bf16, &e);
    rc |= st_writer_add(&w, "f64", ST_F64, 1, s2, f64, &e);
    rc |= st_writer_add(&w, "i64", ST_I64, 1, s3, i64, &e);
    rc |= st_writer_add(&w, "i32", ST_I32, 1, s2, i32, &e);
    rc |= st_writer_add(&w, "bool", ST_BOOL, 1, s2, bools, &e);
    rc |= st_writer_add(&w, "scalar", ST_F32, 0, NULL, &scalar, &e);
    rc |= st_writer_add(&w, "empty", ST_F32, 1, s0, NULL, &e);
    rc |= st_writer_add(&w, "empty3d", ST_I64, 3, s203, NULL, &e);
    rc |= st_writer_meta(&w, "note", "h\xc3\xa9llo \"quoted\"", &e);
    rc |= st_writer_meta(&w, "step", "1", &e);
    rc |= st_writer_meta(&w, "step", "2", &e); /* replaces */
    rc |= st_writer_save(&w, path, &e);
    st_writer_free(&w);
    check_ok(rc == 0, "writer saves every dtype, a scalar and empty tensors%s%s", rc ? ": " : "", rc ? e.msg : "");

    size_t len = 0;
    unsigned char *raw = file_read_all(path, &len);
    uint64_t hlen = 0;
    for (int i = 0; raw && len >= 8 && i < 8; i++) hlen |= (uint64_t)raw[i] << 8 * i;
    check_ok(raw && hlen % 8 == 0 && 8 + hlen <= len && raw[8 + hlen - 1] != 0, "header is padded to a multiple of 8 (%llu bytes)",
             (unsigned long long)hlen);
    free(raw);

    StFile f;
    rc = st_open(&f, path, &e);
    check_ok(rc == 0, "st_open reads it back%s%s", rc ? ": " : "", rc ? e.msg : "");
    if (rc) return;
    check_ok(f.count == 11, "11 tensors (got %d)", f.count);
    static const char *const order[] = {"f32", "u8", "f16", "bf16", "f64", "i64", "i32", "bool", "scalar", "empty", "empty3d"};
    int in_order = f.count == 11;
    for (int i = 0; in_order && i < 9; i++) in_order = !strcmp(f.tensors[i].name, order[i]);
    /* The two empty tensors share an offset, so either may come first. */
    in_order = in_order && strstr(f.tensors[9].name, "empty") && strstr(f.tensors[10].name, "empty");
    check_ok(in_order, "tensors come back in file order");

    const StTensor *t = st_find(&f, "f32");
    check_ok(t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->count == 6 &&
                 t->nbytes == 24 && !memcmp(t->data, f32, 24),
             "F32 [2, 3] is byte-identical");
    float got[6];
    check_ok(!st_read_f32(&f, "f32", got, 6, &e) && !memcmp(got, f32, sizeof got), "st_read_f32 of F32");
    check_ok(!st_read_f32(&f, "f16", got, 3, &e) && got[0] == 0.5f && got[1] == -65504.0f && got[2] == 0x1p-24f,
             "st_read_f32 of F16 (incl. a subnormal)");
    check_ok(!st_read_f32(&f, "bf16", got, 2, &e) && got[0] == 1.0f && got[1] == -3.5f, "st_read_f32 of BF16");
    check_ok(!st_read_f32(&f, "f64", got, 2, &e) && got[0] == 0.1f && isinf(got[1]) && got[1] < 0,
             "st_read_f32 of F64 (overflow goes to -inf)");
    check_ok(!st_read_f32(&f, "scalar", got, 1, &e) && got[0] == 42.0f && st_find(&f, "scalar")->ndim == 0,
             "a 0-d scalar round-trips");
    int64_t ints[3];
    check_ok(!st_read_i64(&f, "i64", ints, 3, &e) && ints[0] == INT64_MIN && ints[1] == -1 && ints[2] == INT64_MAX,
             "st_read_i64 of I64 keeps the extremes");
    check_ok(!st_read_i64(&f, "i32", ints, 2, &e) && ints[0] == INT32_MIN && ints[1] == 7, "st_read_i64 of I32");
    check_ok(!st_read_i64(&f, "u8", ints, 3, &e) && ints[0] == 0 && ints[1] == 200 && ints[2] == 255,
             "st_read_i64 of U8");
    check_ok(!st_read_i64(&f, "bool", ints, 2, &e) && ints[0] == 1 && ints[1] == 0, "st_read_i64 of BOOL");
    t = st_find(&f, "empty3d");
    check_ok(t && t->ndim == 3 && t->shape[1] == 0 && t->count == 0 && t->nbytes == 0, "empty [2, 0, 3] tensor");
    check_ok(st_find(&f, "empty") && st_find(&f, "empty")->count == 0 && !st_read_f32(&f, "empty", got, 0, &e),
             "empty [0] tensor reads as nothing");
    const char *note = st_meta(&f, "note"), *step = st_meta(&f, "step");
    check_ok(note && !strcmp(note, "h\xc3\xa9llo \"quoted\"") && step && !strcmp(step, "2") && f.nmeta == 2,
             "metadata round-trips (UTF-8, quotes, a replaced value)");
    check_ok(!st_find(&f, "nope") && !st_meta(&f, "nope"), "absent tensor and key give NULL");

    /* Errors from the accessors. */
    check_ok(st_read_f32(&f, "nope", got, 1, &e) && strstr(e.msg, "tensor nope is missing"), "missing: %s", e.msg);
    check_ok(st_read_f32(&f, "f32", got, 5, &e) && strstr(e.msg, "has 6 elements (shape [2, 3]), expected 5"),
             "count mismatch: %s", e.msg);
    check_ok(st_read_f32(&f, "i64", got, 3, &e) && strstr(e.msg, "dtype I64, expected a float type"), "%s", e.msg);
    check_ok(st_read_i64(&f, "f32", ints, 6, &e) == -1 && strstr(e.msg, "dtype F32, expected an integer type"),
             "%s", e.msg);
    const int64_t want[2] = {3, 2};
    check_ok(st_check_shape(&f, "f32", 2, want, &e) && strstr(e.msg, "tensor f32 has shape [2, 3], expected [3, 2]") &&
                 strstr(e.msg, path),
             "%s", e.msg);
    check_ok(!st_check_shape(&f, "f32", 2, s23, &e), "st_check_shape accepts the right shape");
    st_close(&f);
    st_close(&f); /* twice is harmless */

    /* No tensors at all. */
    snprintf(path, sizeof path, "%s/none.safetensors", dir);
    st_writer_init(&w);
    rc = st_writer_save(&w, path, &e);
    st_writer_free(&w);
    rc |= st_open(&f, path, &e);
    check_ok(rc == 0 && f.count == 0 && f.nmeta == 0, "a file with no tensors round-trips");
    st_close(&f);
}

/* ---- validation ------------------------------------------------------------- */

#define T1 "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void test_validation(void) {
    /* Lengths. */
    for (size_t n = 0; n < 8; n++) {
        unsigned char b[8] = {0};
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, b, n);
        Err e = {{0}};
        StFile f;
        int rc = st_open_mem(&f, p, n, &e);
        if (rc != -1 || !strstr(e.msg, "too short")) check_ok(0, "%zu-byte file: %s", n, e.msg);
        free(p);
    }
    check_ok(1, "files under 8 bytes are too short");
    {
        unsigned char b[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
        expect_bad_buf("header length 2^64-1", b, sizeof b, "over the 100 MB limit");
        uint64_t n = ST_MAX_HEADER + 1;
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> 8 * i);
        expect_bad_buf("header length 100 MB + 1", b, sizeof b, "over the 100 MB limit");
        n = 9;
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> 8 * i);
        expect_bad_buf("header length past the end", b, sizeof b, "header length 9 runs past the end of the file (16 bytes)");
    }
    expect_good("a one-tensor file", "{" T1 "}", 8);
    expect_good("header padded with spaces", "{" T1 "}      ", 8);
    expect_good("zero-size tensors sharing an offset",
                "{\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}," T1
                ",\"z2\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[8,8]}}",
                8);
    expect_good("unknown keys in a tensor entry (ignored, as the reference does)",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8);
    expect_bad("empty header", "", 0, "malformed");
    expect_bad("truncated JSON", "{" T1, 8, "malformed");
    expect_bad("trailing garbage after the JSON", "{" T1 "} x", 8, "malformed");
    expect_bad("a JSON array", "[1, 2]", 0, "not a JSON object");
    {
        unsigned char b[8 + 4] = {4, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0};
        expect_bad_buf("NUL bytes in the header", b, sizeof b, "malformed");
        unsigned char c[8 + 8] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '"', 0xff, 0xfe, '"', ':', '1', '}'};
        expect_bad_buf("invalid UTF-8 in the header", c, sizeof c, "malformed");
    }
    expect_bad("a NUL in a name", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
               "malformed");
    expect_bad("duplicate tensor names", "{" T1 "," T1 "}", 8, "duplicate");
    expect_bad("duplicate __metadata__", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate");
    expect_bad("duplicate key inside an entry",
               "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "duplicate");
    expect_bad("an entry that is not an object", "{\"a\":[1]}", 0, "tensor a: header entry is not a JSON object");
    expect_bad("an unknown dtype", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
               "tensor a: dtype \"F8_E4M3\" is not supported");
    expect_bad("a lower-case dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               "not supported");
    expect_bad("a missing dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"dtype\" is missing");
    expect_bad("a numeric dtype", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "not a string");
    expect_bad("a missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "\"shape\" is missing");
    expect_bad("a negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
               "shape entry 0 is not a non-negative integer");
    expect_bad("a fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
               "not a non-negative integer");
    expect_bad("a string dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
               "not a non-negative integer");
    expect_bad("nine dims", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               "9 dimensions; at most 8");
    expect_bad("a shape whose product overflows",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0,
               "shape [4294967296, 4294967296] is too large");
    expect_bad("a shape whose byte size overflows",
               "{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0, "too large");
    expect_bad("a dim too big for JSON integers",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8, "malformed");
    expect_bad("missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "\"data_offsets\" is not a pair");
    expect_bad("three data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8,
               "not a pair");
    expect_bad("negative data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8,
               "not a pair");
    expect_bad("data_offsets ending before they begin",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "end before they begin");
    expect_bad("a byte size that disagrees with the shape",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
               "tensor a: data_offsets [0, 4] hold 4 bytes but F32 [2] needs 8");
    {
        const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        char needle[128];
        snprintf(needle, sizeof needle, "<memory>: tensor a: data ends at byte %zu but the file has %zu",
                 8 + strlen(json) + 16, 8 + strlen(json) + 12);
        expect_bad("data past the end of the file", json, 12, needle);
    }
    expect_bad("a gap between tensors",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               12, "tensor b: data_offsets start at 8 but the data before ends at 4 (tensor a): 4 bytes belong to no tensor");
    expect_bad("a first tensor not at 0", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
               "data_offsets start at 4 but the data before ends at 0");
    expect_bad("overlapping tensors",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, "tensor b: data_offsets [4, 12] overlap tensor a [0, 8]");
    expect_bad("two tensors on the same bytes",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, "overlap");
    expect_bad("bytes after the last tensor", "{" T1 "}", 12,
               "the tensors use 8 bytes of data but the file has 12 after the header");
    expect_bad("data but no tensors", "{}", 3, "the tensors use 0 bytes of data but the file has 3");
    expect_bad("__metadata__ not an object", "{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not a JSON object");
    expect_bad("a numeric metadata value", "{\"__metadata__\":{\"step\":5}}", 0,
               "__metadata__ value of \"step\" is not a string");
    expect_bad("a control character in a name shown safely",
               "{\"\\u001b[31mred\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor ?[31mred:");
    expect_bad("deeply nested JSON", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0,
               "tensor a: header entry is not a JSON object");
    {
        /* 5000 levels of nesting: past jansson's depth limit, and no stack overflow. */
        size_t depth = 5000, n = 2 * depth + 8;
        char *json = malloc(n + 1);
        size_t k = 0;
        k += (size_t)sprintf(json, "{\"a\":");
        for (size_t i = 0; i < depth; i++) json[k++] = '[';
        for (size_t i = 0; i < depth; i++) json[k++] = ']';
        json[k++] = '}';
        json[k] = 0;
        expect_bad("5000-deep nesting", json, 0, "malformed");
        free(json);
    }
}

/* Every prefix of a valid file is rejected with a message; none crashes. */
static void test_truncation(void) {
    size_t len;
    unsigned char *b = craft("{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}   ",
                             NULL, 11, &len);
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, b, n);
        Err e = {{0}};
        e.msg[0] = 0;
        if (open_and_touch(p, n, &e) != -1 || !e.msg[0] || strchr(e.msg, '\n')) bad++;
        free(p);
    }
    Err e;
    check_ok(!bad && open_and_touch(b, len, &e) == 0, "all %zu truncations of a valid file are rejected (%d not)", len,
             bad);
    free(b);
}

/* Random bytes and random damage to a valid file: no crash, and either a
 * clean open or one line of error. Under ASan this is a small fuzzer. */
static void test_random(void) {
    Rng r;
    rng_seed(&r, 20240601);
    int bad = 0, opened = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = (size_t)rng_below(&r, 300);
        unsigned char *p = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) p[i] = (unsigned char)rng_u64(&r);
        if (n >= 8 && it % 2) { /* a plausible header length, so the JSON parser runs */
            uint64_t h = rng_below(&r, n - 7);
            for (int i = 0; i < 8; i++) p[i] = (unsigned char)(h >> 8 * i);
            if (n > 8) p[8] = '{';
        }
        Err e = {{0}};
        int rc = open_and_touch(p, n, &e);
        if (rc) bad += !e.msg[0] || strchr(e.msg, '\n') != NULL;
        else opened++;
        free(p);
    }
    check_ok(!bad, "3000 random buffers: no crash, every rejection has one line (%d valid)", opened);

    size_t len;
    unsigned char *b = craft("{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]},"
                             "\"c\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[11,19]}}",
                             NULL, 19, &len);
    static const char interesting[] = "0123456789[]{},:\"-. eE";
    bad = opened = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned char *p = malloc(len);
        memcpy(p, b, len);
        int flips = 1 + (int)rng_below(&r, 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)rng_below(&r, len);
            p[at] = rng_below(&r, 2) ? (unsigned char)interesting[rng_below(&r, sizeof interesting - 1)]
                                     : (unsigned char)rng_u64(&r);
        }
        Err e = {{0}};
        int rc = open_and_touch(p, len, &e);
        if (rc) bad += !e.msg[0] || strchr(e.msg, '\n') != NULL;
        else opened++;
        free(p);
    }
    check_ok(!bad, "20000 damaged copies of a valid file: no crash, one-line errors (%d still valid)", opened);
    free(b);
}

/* ---- files on disk ------------------------------------------------------------ */

static void test_open_errors(const char *dir) {
    char path[4096];
    Err e;
    StFile f;
    snprintf(path, sizeof path, "%s/absent.safetensors", dir);
    check_ok(st_open(&f, path, &e) && strstr(e.msg, "absent.safetensors: No such file"), "%s", e.msg);
    check_ok(st_open(&f, dir, &e) && strstr(e.msg, "not a regular file"), "%s", e.msg);
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    file_write_all(path, "", 0);
    check_ok(st_open(&f, path, &e) && strstr(e.msg, "empty.safetensors: file is 0 bytes, too short"), "%s", e.msg);

    /* A valid file cut short on disk: the message names file, tensor and both sizes. */
    size_t len;
    unsigned char *b = craft("{\"lm_head.weight\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]}}", NULL,
                             64, &len);
    snprintf(path, sizeof path, "%s/cut.safetensors", dir);
    file_write_all(path, b, len - 10);
    char want[4400];
    snprintf(want, sizeof want, "%s: tensor lm_head.weight: data ends at byte %zu but the file has %zu", path, len,
             len - 10);
    check_ok(st_open(&f, path, &e) && !strcmp(e.msg, want), "truncated file on disk: %s", e.msg);
    free(b);
}

static void test_writer_errors(const char *dir) {
    StWriter w;
    Err e;
    float x[2] = {1, 2};
    const int64_t s2[1] = {2}, neg[1] = {-1}, big[2] = {INT64_MAX, 2}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    st_writer_init(&w);
    check_ok(st_writer_add(&w, "__metadata__", ST_F32, 1, s2, x, &e) && strstr(e.msg, "__metadata__"), "%s", e.msg);
    check_ok(st_writer_add(&w, "n", ST_F32, 1, neg, x, &e) && strstr(e.msg, "negative"), "%s", e.msg);
    check_ok(st_writer_add(&w, "n", ST_F32, 2, big, x, &e) && strstr(e.msg, "too large"), "%s", e.msg);
    check_ok(st_writer_add(&w, "n", ST_F32, 9, nine, x, &e) && strstr(e.msg, "9 dimensions"), "%s", e.msg);
    check_ok(st_writer_add(&w, "n", ST_DTYPE_COUNT, 1, s2, x, &e) && strstr(e.msg, "bad dtype"), "%s", e.msg);
    check_ok(st_writer_add(&w, "n", ST_F32, 1, s2, NULL, &e) && strstr(e.msg, "no data"), "%s", e.msg);
    check_ok(w.count == 0, "rejected tensors are not added");

    char path[4096];
    snprintf(path, sizeof path, "%s/dup.safetensors", dir);
    st_writer_add(&w, "a", ST_F32, 1, s2, x, &e);
    st_writer_add(&w, "a", ST_F32, 1, s2, x, &e);
    check_ok(st_writer_save(&w, path, &e) && strstr(e.msg, "tensor a was added twice") && access(path, F_OK),
             "%s", e.msg);
    st_writer_free(&w);

    st_writer_init(&w);
    st_writer_add(&w, "bad\xff", ST_F32, 1, s2, x, &e);
    check_ok(st_writer_save(&w, path, &e) && strstr(e.msg, "not valid UTF-8"), "%s", e.msg);
    st_writer_free(&w);

    st_writer_init(&w);
    st_writer_add(&w, "a", ST_F32, 1, s2, x, &e);
    snprintf(path, sizeof path, "%s/no/such/dir.safetensors", dir);
    check_ok(st_writer_save(&w, path, &e) && strstr(e.msg, "creating the temp file") && strstr(e.msg, "No such file"),
             "%s", e.msg);

    /* Renaming onto a directory fails after everything was written: temp file removed. */
    snprintf(path, sizeof path, "%s/isdir", dir);
    mkdir(path, 0700);
    check_ok(st_writer_save(&w, path, &e) && strstr(e.msg, "renaming the temp file") && tmpdir_count(dir, ".tmp.") == 0,
             "failed rename leaves no temp file: %s", e.msg);
    rmdir(path);
    st_writer_free(&w);
}

/* Saves a file of `floats` floats at path; returns 0 on success, message in e. */
static int save_floats(const char *path, size_t floats, float value, Err *e) {
    float *x = malloc(floats * sizeof *x);
    for (size_t i = 0; i < floats; i++) x[i] = value + (float)i;
    StWriter w;
    st_writer_init(&w);
    const int64_t shape[1] = {(int64_t)floats};
    int rc = st_writer_add(&w, "x", ST_F32, 1, shape, x, e);
    rc = rc ? rc : st_writer_meta(&w, "who", "old", e);
    rc = rc ? rc : st_writer_save(&w, path, e);
    st_writer_free(&w);
    free(x);
    return rc;
}

/* A write that fails part way (file size limit: EFBIG) leaves the old file
 * byte-identical and no temp file; the message names the step and errno. */
static void test_atomic(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/atomic.safetensors", dir);
    Err e;
    if (save_floats(path, 1000, 1.0f, &e)) {
        check_ok(0, "write the old file: %s", e.msg);
        return;
    }
    size_t old_len, new_len;
    unsigned char *old = file_read_all(path, &old_len);

    int pipefd[2];
    if (pipe(pipefd)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {.rlim_cur = 16384, .rlim_max = 16384};
        setrlimit(RLIMIT_FSIZE, &rl);
        Err ce = {{0}};
        int rc = save_floats(path, 100000, 2.0f, &ce); /* 400 KB: over the limit */
        if (write(pipefd[1], ce.msg, strlen(ce.msg))) {}
        _exit(rc == -1 ? 0 : 1);
    }
    close(pipefd[1]);
    char msg[600] = {0};
    size_t got = 0;
    ssize_t k;
    while ((k = read(pipefd[0], msg + got, sizeof msg - 1 - got)) > 0) got += (size_t)k;
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    check_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "save over the file size limit fails (status %d)", status);
    check_ok(strstr(msg, "writing the temp file") && strstr(msg, strerror(EFBIG)) && strstr(msg, ".tmp."),
             "the failure names the step and errno: %s", msg);
    unsigned char *now = file_read_all(path, &new_len);
    check_ok(old && now && old_len == new_len && !memcmp(old, now, old_len), "the old file is byte-identical");
    check_ok(tmpdir_count(dir, ".tmp.") == 0, "no temp file is left behind");
    free(now);

    /* A read-only directory: only meaningful when not root (root ignores modes). */
    if (geteuid() == 0) {
        check_ok(1, "save into a read-only directory (skipped: running as root)");
    } else {
        chmod(dir, 0500);
        int rc = save_floats(path, 10, 3.0f, &e);
        chmod(dir, 0700);
        now = file_read_all(path, &new_len);
        check_ok(rc && strstr(e.msg, "creating the temp file") && now && new_len == old_len &&
                     !memcmp(old, now, old_len),
                 "save into a read-only directory fails cleanly: %s", e.msg);
        free(now);
    }
    free(old);

    /* And a save that works replaces the file. */
    check_ok(!save_floats(path, 10, 5.0f, &e), "a later save succeeds");
    StFile f;
    float x[10];
    check_ok(!st_open(&f, path, &e) && !st_read_f32(&f, "x", x, 10, &e) && x[9] == 14.0f, "and replaced the file");
    st_close(&f);
}

/* Replays every file of a fuzz corpus directory (relative to the project root). */
static void test_replay(const char *corpus) {
    DIR *d = opendir(corpus);
    if (!d) {
        check_ok(1, "replay %s (skipped: directory absent)", corpus);
        return;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", corpus, de->d_name);
        unsigned char *b = file_read_all(path, &len);
        if (!b) continue;
        fuzz_ckpt_one_input(b, len); /* aborts on a bad message; ASan builds catch the rest */
        free(b);
        n++;
    }
    closedir(d);
    check_ok(1, "replayed %d inputs of %s through the fuzz harness", n, corpus);
}

int main(void) {
    char *dir = tmpdir_make("st");
    if (!dir) {
        check_ok(0, "make a temp directory: %s", strerror(errno));
        return check_done();
    }
    test_f16();
    test_bf16();
    test_round_trip(dir);
    test_validation();
    test_truncation();
    test_random();
    test_open_errors(dir);
    test_writer_errors(dir);
    test_atomic(dir);
    test_replay("tests/fuzz/corpus/ckpt");
    test_replay("tests/fuzz/regress/ckpt");
    tmpdir_remove(dir);
    free(dir);
    return check_done();
}
