/* traj.c: encode and decode trajectory blobs (format in traj.h).
 *
 * The decoder is the part that matters: blobs come from a database that may be
 * damaged or hand-edited, and it is fuzzed (tests/fuzz/fuzz_sample.c). Every
 * read goes through a cursor that knows how many bytes are left. */
#include "traj.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TRAJ_HEADER 20

static const unsigned char traj_magic[4] = {'S', 'D', 'T', 'J'};

static void put_u16(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Bytes of a whole blob for these dimensions, or 0 if it would not fit a size_t.
 * steps and len are already range-checked, so the products cannot overflow on a
 * 64-bit size_t; the checks keep 32-bit builds honest. */
static size_t traj_blob_size(uint32_t steps, uint32_t len, int wide) {
    size_t per_pos = wide ? 5 : 3;
    size_t bitmap = ((size_t)len + 7) / 8;
    if ((size_t)len > (SIZE_MAX - 4) / per_pos) return 0;
    size_t per_step = 4 + per_pos * len;
    if ((size_t)steps > (SIZE_MAX - TRAJ_HEADER - bitmap) / per_step) return 0;
    return TRAJ_HEADER + bitmap + per_step * steps;
}

int traj_alloc(Trajectory *tr, int steps, int len, uint32_t vocab, Err *e) {
    memset(tr, 0, sizeof *tr);
    if (steps < 1 || steps > TRAJ_MAX_STEPS || len < 1 || len > TRAJ_MAX_LEN || vocab < 1)
        return err_set(e, "trajectory: %d steps x %d positions (vocab %u) is out of range", steps, len,
                       vocab);
    size_t n = (size_t)steps * (size_t)len;
    tr->t = calloc((size_t)steps, sizeof *tr->t);
    tr->ids = calloc(n, sizeof *tr->ids);
    tr->conf = calloc(n, sizeof *tr->conf);
    tr->masked = calloc((size_t)len, 1);
    if (!tr->t || !tr->ids || !tr->conf || !tr->masked) {
        traj_free(tr);
        return err_set(e, "trajectory: out of memory for %d steps x %d positions", steps, len);
    }
    tr->steps = steps;
    tr->len = len;
    tr->vocab = vocab;
    return 0;
}

void traj_free(Trajectory *tr) {
    if (!tr) return;
    free(tr->t);
    free(tr->ids);
    free(tr->conf);
    free(tr->masked);
    memset(tr, 0, sizeof *tr);
}

int traj_encode(const Trajectory *tr, unsigned char **blob, size_t *len, Err *e) {
    *blob = NULL;
    *len = 0;
    if (tr->steps < 1 || tr->steps > TRAJ_MAX_STEPS || tr->len < 1 || tr->len > TRAJ_MAX_LEN ||
        tr->vocab < 1)
        return err_set(e, "trajectory: %d steps x %d positions (vocab %u) is out of range", tr->steps,
                       tr->len, tr->vocab);
    if (!tr->t || !tr->ids || !tr->conf || !tr->masked)
        return err_set(e, "trajectory: missing arrays");
    uint32_t S = (uint32_t)tr->steps, L = (uint32_t)tr->len;
    int wide = tr->vocab > 65535;
    size_t n = traj_blob_size(S, L, wide);
    if (!n) return err_set(e, "trajectory: %u steps x %u positions is too large", S, L);
    for (uint32_t s = 0; s < S; s++) {
        if (!isfinite(tr->t[s])) return err_set(e, "trajectory: step %u has a non-finite t", s);
        for (uint32_t i = 0; i < L; i++)
            if (tr->ids[(size_t)s * L + i] >= tr->vocab)
                return err_set(e, "trajectory: step %u position %u: id %u is not below vocab %u", s, i,
                               tr->ids[(size_t)s * L + i], tr->vocab);
    }
    unsigned char *b = calloc(n, 1), *p = b;
    if (!b) return err_set(e, "trajectory: out of memory for a %zu-byte blob", n);
    memcpy(p, traj_magic, 4);
    p[4] = TRAJ_VERSION;
    p[5] = (unsigned char)(wide ? 1 : 0);
    put_u32(p + 8, S);
    put_u32(p + 12, L);
    put_u32(p + 16, tr->vocab);
    p += TRAJ_HEADER;
    for (uint32_t i = 0; i < L; i++)
        if (tr->masked[i]) p[i / 8] |= (unsigned char)(1u << (i % 8));
    p += (L + 7) / 8;
    for (uint32_t s = 0; s < S; s++) {
        put_u32(p, float_bits(tr->t[s]));
        p += 4;
        const uint32_t *ids = tr->ids + (size_t)s * L;
        for (uint32_t i = 0; i < L; i++, p += wide ? 4 : 2) {
            if (wide) put_u32(p, ids[i]);
            else put_u16(p, ids[i]);
        }
        const float *c = tr->conf + (size_t)s * L;
        for (uint32_t i = 0; i < L; i++) {
            float v = c[i];
            if (!(v > 0)) v = 0; /* NaN and negatives */
            if (v > 1) v = 1;
            *p++ = (unsigned char)lrintf(v * 255.0f);
        }
    }
    *blob = b;
    *len = n;
    return 0;
}

int traj_decode(const void *blob, size_t len, Trajectory *tr, Err *e) {
    const unsigned char *b = blob;
    memset(tr, 0, sizeof *tr);
    if (!b || len < TRAJ_HEADER)
        return err_set(e, "trajectory blob: %zu bytes is shorter than its %d-byte header", len,
                       TRAJ_HEADER);
    if (memcmp(b, traj_magic, 4)) return err_set(e, "trajectory blob: bad magic (not an SDTJ blob)");
    if (b[4] != TRAJ_VERSION)
        return err_set(e, "trajectory blob: version %u is not %d (written by a newer sdlm?)", b[4],
                       TRAJ_VERSION);
    if (b[5] & ~1u) return err_set(e, "trajectory blob: unknown flags 0x%02x", b[5]);
    if (b[6] || b[7]) return err_set(e, "trajectory blob: reserved bytes are not zero");
    uint32_t S = get_u32(b + 8), L = get_u32(b + 12), V = get_u32(b + 16);
    int wide = b[5] & 1;
    if (S < 1 || S > TRAJ_MAX_STEPS)
        return err_set(e, "trajectory blob: %u steps is outside 1..%d", S, TRAJ_MAX_STEPS);
    if (L < 1 || L > TRAJ_MAX_LEN)
        return err_set(e, "trajectory blob: %u positions is outside 1..%d", L, TRAJ_MAX_LEN);
    if (V < 1) return err_set(e, "trajectory blob: vocabulary size is 0");
    if (wide != (V > 65535))
        return err_set(e, "trajectory blob: id width flag %d does not match vocabulary size %u", wide, V);
    size_t want = traj_blob_size(S, L, wide);
    if (!want || want != len)
        return err_set(e, "trajectory blob: %zu bytes, but %u steps x %u positions need %zu", len, S, L,
                       want);
    const unsigned char *p = b + TRAJ_HEADER;
    if (L % 8 && p[L / 8] >> (L % 8))
        return err_set(e, "trajectory blob: mask bits set past position %u", L);
    if (traj_alloc(tr, (int)S, (int)L, V, e)) return -1;
    for (uint32_t i = 0; i < L; i++) tr->masked[i] = (p[i / 8] >> (i % 8)) & 1;
    p += (L + 7) / 8;
    for (uint32_t s = 0; s < S; s++) {
        float t = bits_float(get_u32(p));
        p += 4;
        if (!isfinite(t)) {
            traj_free(tr);
            return err_set(e, "trajectory blob: step %u has a non-finite t", s);
        }
        tr->t[s] = t;
        uint32_t *ids = tr->ids + (size_t)s * L;
        for (uint32_t i = 0; i < L; i++, p += wide ? 4 : 2) {
            ids[i] = wide ? get_u32(p) : get_u16(p);
            if (ids[i] >= V) {
                uint32_t bad = ids[i];
                traj_free(tr);
                return err_set(e, "trajectory blob: step %u position %u: id %u is not below vocab %u", s,
                               i, bad, V);
            }
        }
        float *c = tr->conf + (size_t)s * L;
        for (uint32_t i = 0; i < L; i++) c[i] = (float)*p++ / 255.0f;
    }
    return 0;
}
