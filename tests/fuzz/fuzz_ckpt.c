/* fuzz_ckpt.c: libFuzzer harness for the safetensors reader and the
 * checkpoint loader (st_open_mem + ckpt_load_file).
 *
 * Each input runs twice: as it is, and with its data section zero-extended to
 * the size its own header asks for (at most 1 MB), so that a small input
 * holding only a checkpoint's header still reaches the checks that need a
 * complete file (config inference, shapes, optimiser and EMA sets).
 *
 * Beyond "no crash", every failure must come with a one-line message. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "safetensors.h"

enum { EXTEND_CAP = 1 << 20 };

static void check_message(const Err *e) {
    if (!e->msg[0] || strchr(e->msg, '\n')) abort();
}

static void run(const uint8_t *data, size_t size) {
    StFile f;
    Err e;
    e.msg[0] = 0;
    if (st_open_mem(&f, data, size, &e)) {
        check_message(&e);
        return;
    }
    /* Read every tensor, so a wrong data pointer or length shows up under ASan. */
    static float fbuf[EXTEND_CAP / 2];
    static int64_t ibuf[EXTEND_CAP];
    for (int i = 0; i < f.count; i++) {
        const StTensor *t = &f.tensors[i];
        if (t->count > EXTEND_CAP / 2) continue;
        int rc = t->dtype <= ST_F64 ? st_read_f32(&f, t->name, fbuf, t->count, &e)
                                    : st_read_i64(&f, t->name, ibuf, t->count, &e);
        if (rc || st_find(&f, t->name) != t) abort(); /* names are unique: the lookup finds this one */
    }
    Checkpoint ck;
    e.msg[0] = 0;
    if (ckpt_load_file(&f, &ck, &e)) check_message(&e);
    else ckpt_free(&ck);
    st_close(&f);
}

/* 8 + header + the largest data_offsets end, when that is more than size and
 * within the cap; 0 otherwise. */
static size_t wanted_size(const uint8_t *data, size_t size) {
    if (size < 8) return 0;
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)data[i] << 8 * i;
    if (n > size - 8 || n > EXTEND_CAP) return 0;
    json_t *root = json_loadb((const char *)data + 8, (size_t)n, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    json_int_t end = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        json_t *e = json_array_get(json_object_get(v, "data_offsets"), 1);
        if (json_is_integer(e) && json_integer_value(e) > end) end = json_integer_value(e);
    }
    json_decref(root);
    uint64_t want = 8 + n + (uint64_t)end;
    return end <= EXTEND_CAP && want > size && want <= EXTEND_CAP ? (size_t)want : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    run(data, size);
    size_t want = wanted_size(data, size);
    if (want) {
        uint8_t *buf = calloc(want, 1);
        if (!buf) return 0;
        memcpy(buf, data, size);
        run(buf, want);
        free(buf);
    }
    return 0;
}
