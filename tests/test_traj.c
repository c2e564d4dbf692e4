/* test_traj.c: the trajectory blob codec: round trips with uint16 and uint32
 * ids, every malformed field, every truncation, random bytes, and the committed
 * fuzz seeds and regressions (tests/fuzz/corpus/sample, tests/fuzz/regress). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"
#include "traj.h"

static void make_traj(Trajectory *tr, int S, int L, uint32_t V, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    Err e;
    if (traj_alloc(tr, S, L, V, &e)) {
        check_ok(0, "traj_alloc: %s", e.msg);
        return;
    }
    for (int s = 0; s < S; s++) {
        tr->t[s] = 1.0f - (float)s / (float)S;
        for (int i = 0; i < L; i++) {
            tr->ids[(size_t)s * L + i] = (uint32_t)rng_below(&r, V);
            tr->conf[(size_t)s * L + i] = (float)rng_uniform(&r);
        }
    }
    for (int i = 0; i < L; i++) tr->masked[i] = rng_below(&r, 3) == 0;
}

static int same_traj(const Trajectory *a, const Trajectory *b, double conf_tol) {
    if (a->steps != b->steps || a->len != b->len || a->vocab != b->vocab) return 0;
    size_t n = (size_t)a->steps * a->len;
    for (int s = 0; s < a->steps; s++)
        if (a->t[s] != b->t[s]) return 0;
    for (size_t i = 0; i < n; i++)
        if (a->ids[i] != b->ids[i] || fabs(a->conf[i] - b->conf[i]) > conf_tol) return 0;
    for (int i = 0; i < a->len; i++)
        if (!!a->masked[i] != !!b->masked[i]) return 0;
    return 1;
}

static void round_trip(const char *name, int S, int L, uint32_t V, size_t want_len) {
    Trajectory a, b;
    Err e = {{0}};
    unsigned char *blob;
    size_t len;
    make_traj(&a, S, L, V, 42 + V);
    int rc = traj_encode(&a, &blob, &len, &e);
    check_ok(rc == 0 && len == want_len, "%s: encodes to %zu bytes (got rc %d, %zu bytes) %s", name,
             want_len, rc, len, e.msg);
    if (rc) return;
    check_ok(blob[5] == (V > 65535), "%s: id width flag is %d", name, V > 65535);
    rc = traj_decode(blob, len, &b, &e);
    check_ok(rc == 0, "%s: decodes %s", name, rc ? e.msg : "");
    if (!rc) check_ok(same_traj(&a, &b, 0.5 / 255 + 1e-6), "%s: same ids, t, mask; conf within 1/510", name);

    /* Every truncation fails with a message, and so does one byte too many. */
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        Trajectory c;
        e.msg[0] = 0;
        if (traj_decode(blob, cut, &c, &e) == 0 || !e.msg[0] || c.t || c.ids) bad++;
    }
    check_ok(bad == 0, "%s: all %zu truncations rejected (%d accepted)", name, len, bad);
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, blob, len);
    longer[len] = 0;
    Trajectory c;
    check_ok(traj_decode(longer, len + 1, &c, &e) == -1 && strstr(e.msg, "bytes"),
             "%s: trailing byte rejected: %s", name, e.msg);
    free(longer);
    free(blob);
    traj_free(&a);
    traj_free(&b);
}

/* Decoding a copy of blob with byte off set to val must fail with msg containing want. */
static void rejects(const unsigned char *blob, size_t len, size_t off, unsigned char val,
                    const char *want, const char *what) {
    unsigned char *b = malloc(len);
    memcpy(b, blob, len);
    b[off] = val;
    Trajectory t;
    Err e = {{0}};
    int rc = traj_decode(b, len, &t, &e);
    check_ok(rc == -1 && strstr(e.msg, want) && !t.ids, "rejects %s: %s", what, e.msg);
    free(b);
}

static void malformed(void) {
    Trajectory a;
    Err e;
    unsigned char *blob;
    size_t len;
    make_traj(&a, 3, 10, 1000, 7); /* bitmap 2 bytes at 20..21, step 0 at 22 */
    if (traj_encode(&a, &blob, &len, &e)) {
        check_ok(0, "encode: %s", e.msg);
        return;
    }
    rejects(blob, len, 0, 'X', "magic", "bad magic");
    rejects(blob, len, 4, 2, "version 2", "version 2");
    rejects(blob, len, 5, 2, "flags", "unknown flag");
    rejects(blob, len, 5, 1, "width flag", "uint32 flag with a small vocab");
    rejects(blob, len, 7, 1, "reserved", "reserved byte");
    rejects(blob, len, 8, 0, "steps", "0 steps");
    rejects(blob, len, 8, 4, "need", "steps not matching the length");
    rejects(blob, len, 12, 0, "positions", "0 positions");
    rejects(blob, len, 15, 0x80, "positions", "huge positions");
    rejects(blob, len, 21, 0x04, "mask bits", "mask padding bits");
    rejects(blob, len, 22 + 3, 0x7f, "non-finite", "infinite t"); /* t = 1.0f = 00 00 80 3f -> 0x7f800000 */
    rejects(blob, len, 22 + 4 + 1, 0xff, "not below vocab", "id >= vocab");
    unsigned char *b = malloc(len);
    memcpy(b, blob, len);
    b[16] = b[17] = b[18] = b[19] = 0;
    Trajectory t;
    check_ok(traj_decode(b, len, &t, &e) == -1 && strstr(e.msg, "vocabulary size is 0"), "rejects vocab 0: %s",
             e.msg);
    b[16] = 1;
    check_ok(traj_decode(b, len, &t, &e) == -1 && strstr(e.msg, "not below vocab 1"), "rejects ids >= vocab 1: %s",
             e.msg);
    free(b);
    check_ok(traj_decode(NULL, 0, &t, &e) == -1, "rejects NULL: %s", e.msg);

    /* The encoder refuses what the decoder would refuse. */
    a.ids[5] = 1000;
    check_ok(traj_encode(&a, &b, &len, &e) == -1 && strstr(e.msg, "not below vocab"), "encode rejects id >= vocab: %s",
             e.msg);
    a.ids[5] = 0;
    a.t[1] = INFINITY;
    check_ok(traj_encode(&a, &b, &len, &e) == -1 && strstr(e.msg, "non-finite"), "encode rejects infinite t: %s",
             e.msg);
    Trajectory z = {0};
    check_ok(traj_encode(&z, &b, &len, &e) == -1, "encode rejects an empty trajectory: %s", e.msg);
    free(blob);
    traj_free(&a);
}

static void random_bytes(void) {
    Rng r;
    rng_seed(&r, 2024);
    unsigned char buf[4096];
    int accepted = 0, deep_accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)rng_below(&r, sizeof buf + 1);
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rng_u64(&r);
        Trajectory t;
        Err e;
        if (traj_decode(buf, n, &t, &e) == 0) {
            accepted++;
            traj_free(&t);
        }
        /* Past the magic and version, with a plausible small shape: goes deep. */
        if (n >= 24) {
            memcpy(buf, "SDTJ\1\0\0\0", 8);
            buf[9] = buf[10] = buf[11] = 0;
            buf[13] = buf[14] = buf[15] = 0;
            if (traj_decode(buf, n, &t, &e) == 0) {
                deep_accepted++;
                traj_free(&t);
            }
        }
    }
    check_ok(accepted == 0, "20000 random blobs rejected (%d accepted)", accepted);
    printf("# %d random blobs with a valid header prefix happened to decode\n", deep_accepted);
}

/* Every committed fuzz input decodes or fails cleanly; seeds named valid-* decode. */
static void corpus_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        check_ok(0, "%s: cannot open", dir);
        return;
    }
    struct dirent *de;
    int files = 0, bad = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        unsigned char *buf = malloc(1 << 20);
        size_t n = fread(buf, 1, 1 << 20, f);
        fclose(f);
        Trajectory t;
        Err e;
        int rc = traj_decode(buf, n, &t, &e);
        if (rc == 0) traj_free(&t);
        if (!strncmp(de->d_name, "valid-", 6) && rc != 0) {
            bad++;
            printf("# %s: %s\n", path, e.msg);
        }
        files++;
        free(buf);
    }
    closedir(d);
    check_ok(files > 0 && bad == 0, "%s: %d files decode or fail cleanly, valid-* decode", dir, files);
}

int main(void) {
    round_trip("uint16 ids (V=32000, 5x7)", 5, 7, 32000, 20 + 1 + 5 * (4 + 3 * 7));
    round_trip("uint32 ids (V=100000, 4x9)", 4, 9, 100000, 20 + 2 + 4 * (4 + 5 * 9));
    round_trip("edge V=65535 stays uint16 (1x8)", 1, 8, 65535, 20 + 1 + 1 * (4 + 3 * 8));
    round_trip("edge V=65536 goes uint32 (2x1)", 2, 1, 65536, 20 + 1 + 2 * (4 + 5 * 1));
    round_trip("seed shape (200 steps x 64)", 200, 64, 8000, 20 + 8 + 200 * (4 + 3 * 64));
    malformed();
    random_bytes();
    corpus_dir("tests/fuzz/corpus/sample");
    corpus_dir("tests/fuzz/regress");
    return check_done();
}
