/* safetensors.c: the safetensors reader (mmap + full validation), dtypes
 * and the 16-bit float conversions. The writer is safetensors_write.c.
 *
 * The reader trusts nothing in the file: every length is checked against the
 * bytes really present before anything is touched, every product against
 * overflow, and the tensors must tile the data section exactly. It never
 * assumes alignment: data is read byte-wise as little-endian.
 *
 * Not here: what any tensor means (ckpt.c). */
#include "safetensors.h"
#include "fileguard.h"
#include "safetensors_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const dtype_names[ST_DTYPE_COUNT] = {"F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL"};
static const size_t dtype_sizes[ST_DTYPE_COUNT] = {4, 2, 2, 8, 8, 4, 1, 1};

const char *st_dtype_name(StDtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtype_names[d] : "?"; }
size_t st_dtype_size(StDtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtype_sizes[d] : 0; }

/* ---- small helpers ------------------------------------------------------ */

static uint16_t rd_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd_u64(const unsigned char *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

/* ---- 16-bit floats ------------------------------------------------------ */

static float from_bits(uint32_t b) {
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return from_bits(sign | 0x7f800000u | man << 13); /* inf; NaN keeps its payload */
    if (exp) return from_bits(sign | (exp + 112) << 23 | man << 13);  /* 112 = 127 - 15 */
    if (!man) return from_bits(sign);
    /* Subnormal, man * 2^-24: shift the leading one up to the implicit bit. */
    uint32_t shift = 0;
    while (!(man & 0x400)) man <<= 1, shift++;
    return from_bits(sign | (113 - shift) << 23 | (man & 0x3ff) << 13);
}

float st_bf16_to_f32(uint16_t b) { return from_bits((uint32_t)b << 16); }

/* Rounds away the low `shift` bits of v to nearest, ties to even. */
static uint32_t round_shift(uint32_t v, unsigned shift) {
    uint32_t kept = v >> shift, rest = v & ((1u << shift) - 1), half = 1u << (shift - 1);
    return kept + (rest > half || (rest == half && (kept & 1)));
}

uint16_t st_f32_to_f16(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    uint16_t sign = (uint16_t)(b >> 16 & 0x8000);
    uint32_t exp = b >> 23 & 0xff, man = b & 0x7fffff;
    if (exp == 0xff) return sign | 0x7c00 | (man ? 0x200 | man >> 13 : 0); /* NaN stays a (quiet) NaN */
    int e = (int)exp - 127 + 15;
    if (e >= 0x1f) return sign | 0x7c00;
    if (e <= 0) {                  /* an F16 subnormal (or zero), in units of 2^-24 */
        if (e < -10) return sign;  /* below half the smallest subnormal */
        return sign | (uint16_t)round_shift(man | 0x800000, (unsigned)(14 - e));
    }
    /* A carry out of the mantissa bumps the exponent, up to infinity: both right. */
    return sign | (uint16_t)round_shift((uint32_t)e << 23 | man, 13);
}

uint16_t st_f32_to_bf16(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    if ((b & 0x7fffffff) > 0x7f800000) return (uint16_t)(b >> 16 | 0x40); /* quiet NaN */
    return (uint16_t)round_shift(b, 16);
}

/* ---- reader ------------------------------------------------------------- */

typedef struct {
    uint64_t begin, end;
    int index;
} Span;

static int parse_dtype(const char *s, StDtype *d) {
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (!strcmp(s, dtype_names[i])) return *d = (StDtype)i, 0;
    return -1;
}

static int get_index(json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* One tensor's header entry into t and its byte span; data is resolved later. */
static int parse_tensor(const StFile *f, const char *name, json_t *v, uint64_t data_len, StTensor *t, Span *span,
                        Err *e) {
    Shown shown_name = shown(name);
    const char *nm = shown_name.s;
    if (!json_is_object(v)) return err_set(e, "%s: tensor %s: header entry is not a JSON object", f->path, nm);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd)) return err_set(e, "%s: tensor %s: \"dtype\" is missing or not a string", f->path, nm);
    if (parse_dtype(json_string_value(jd), &t->dtype))
        return err_set(e, "%s: tensor %s: dtype \"%s\" is not supported (F32 F16 BF16 F64 I64 I32 U8 BOOL)", f->path,
                       nm, shown(json_string_value(jd)).s);
    if (!json_is_array(js)) return err_set(e, "%s: tensor %s: \"shape\" is missing or not an array", f->path, nm);
    if (json_array_size(js) > ST_MAX_DIMS)
        return err_set(e, "%s: tensor %s: shape has %zu dimensions; at most %d are supported", f->path, nm,
                       json_array_size(js), ST_MAX_DIMS);
    t->ndim = (int)json_array_size(js);
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(js, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return err_set(e, "%s: tensor %s: shape entry %d is not a non-negative integer", f->path, nm, i);
        t->shape[i] = json_integer_value(d);
    }
    t->count = shape_count(t->ndim, t->shape);
    uint64_t nbytes;
    if (t->count < 0 || __builtin_mul_overflow((uint64_t)t->count, st_dtype_size(t->dtype), &nbytes))
        return err_set(e, "%s: tensor %s: shape %s is too large", f->path, nm, shape_text(t->ndim, t->shape).s);
    if (!json_is_array(jo) || json_array_size(jo) != 2 || get_index(json_array_get(jo, 0), &span->begin) ||
        get_index(json_array_get(jo, 1), &span->end))
        return err_set(e, "%s: tensor %s: \"data_offsets\" is not a pair of non-negative integers", f->path, nm);
    if (span->end < span->begin)
        return err_set(e, "%s: tensor %s: data_offsets [%llu, %llu] end before they begin", f->path, nm,
                       (unsigned long long)span->begin, (unsigned long long)span->end);
    if (span->end - span->begin != nbytes)
        return err_set(e, "%s: tensor %s: data_offsets [%llu, %llu] hold %llu bytes but %s %s needs %llu", f->path, nm,
                       (unsigned long long)span->begin, (unsigned long long)span->end,
                       (unsigned long long)(span->end - span->begin), dtype_names[t->dtype],
                       shape_text(t->ndim, t->shape).s, (unsigned long long)nbytes);
    if (span->end > data_len) {
        uint64_t header_end = f->len - data_len;
        return err_set(e, "%s: tensor %s: data ends at byte %llu but the file has %zu", f->path, nm,
                       (unsigned long long)(header_end + span->end), f->len);
    }
    t->nbytes = (size_t)nbytes;
    return 0;
}

static int parse_meta(StFile *f, json_t *m, Err *e) {
    if (!json_is_object(m)) return err_set(e, "%s: __metadata__ is not a JSON object", f->path);
    f->meta = calloc(json_object_size(m) + 1, sizeof *f->meta);
    if (!f->meta) return err_set(e, "%s: out of memory for the metadata", f->path);
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        if (!json_is_string(v))
            return err_set(e, "%s: __metadata__ value of \"%s\" is not a string", f->path, shown(key).s);
        StMeta *s = &f->meta[f->nmeta];
        s->key = strdup(key);
        s->value = strdup(json_string_value(v));
        f->nmeta++;
        if (!s->key || !s->value) return err_set(e, "%s: out of memory for the metadata", f->path);
    }
    return 0;
}

static int span_cmp(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

typedef struct {
    const char *name;
    int index;
} NameIndex;

static int name_cmp(const void *a, const void *b) {
    return strcmp(((const NameIndex *)a)->name, ((const NameIndex *)b)->name);
}

/* f->by_name: tensor indices in name order, for st_find's binary search. */
static int build_index(StFile *f, Err *e) {
    NameIndex *ni = calloc((size_t)f->count + 1, sizeof *ni);
    f->by_name = calloc((size_t)f->count + 1, sizeof *f->by_name);
    if (!ni || !f->by_name) {
        free(ni);
        return err_set(e, "%s: out of memory for the tensor index", f->path);
    }
    for (int i = 0; i < f->count; i++) ni[i] = (NameIndex){f->tensors[i].name, i};
    qsort(ni, (size_t)f->count, sizeof *ni, name_cmp);
    for (int i = 0; i < f->count; i++) f->by_name[i] = ni[i].index;
    free(ni);
    return 0;
}

/* Orders the tensors by their data and checks that they tile [0, data_len). */
static int check_layout(StFile *f, Span *spans, uint64_t data_len, Err *e) {
    qsort(spans, (size_t)f->count, sizeof *spans, span_cmp);
    StTensor *sorted = calloc((size_t)f->count + 1, sizeof *sorted);
    if (!sorted) return err_set(e, "%s: out of memory for the tensor list", f->path);
    for (int i = 0; i < f->count; i++) sorted[i] = f->tensors[spans[i].index];
    free(f->tensors);
    f->tensors = sorted;

    const unsigned char *data = f->buf + (f->len - data_len);
    uint64_t pos = 0;
    for (int i = 0; i < f->count; i++) {
        const Span *s = &spans[i];
        Shown shown_name = shown(sorted[i].name);
        const char *nm = shown_name.s;
        if (s->begin > pos)
            return err_set(e, "%s: tensor %s: data_offsets start at %llu but the data before ends at %llu%s%s%s: "
                           "%llu bytes belong to no tensor", f->path, nm, (unsigned long long)s->begin,
                           (unsigned long long)pos, i ? " (tensor " : "", i ? shown(sorted[i - 1].name).s : "",
                           i ? ")" : "", (unsigned long long)(s->begin - pos));
        if (s->begin < pos)
            return err_set(e, "%s: tensor %s: data_offsets [%llu, %llu] overlap tensor %s [%llu, %llu]", f->path, nm,
                           (unsigned long long)s->begin, (unsigned long long)s->end, shown(sorted[i - 1].name).s,
                           (unsigned long long)spans[i - 1].begin, (unsigned long long)spans[i - 1].end);
        sorted[i].data = data + s->begin;
        pos = s->end;
    }
    if (pos != data_len)
        return err_set(e, "%s: the tensors use %llu bytes of data but the file has %llu after the header", f->path,
                       (unsigned long long)pos, (unsigned long long)data_len);
    return 0;
}

static int st_parse(StFile *f, Err *e) {
    if (f->len < 8)
        return err_set(e, "%s: file is %zu bytes, too short for a safetensors header", f->path, f->len);
    uint64_t n = rd_u64(f->buf);
    if (n > ST_MAX_HEADER)
        return err_set(e, "%s: header length %llu is over the 100 MB limit: not a safetensors file?", f->path,
                       (unsigned long long)n);
    if (n > f->len - 8)
        return err_set(e, "%s: header length %llu runs past the end of the file (%zu bytes)", f->path,
                       (unsigned long long)n, f->len);
    json_error_t je;
    json_t *root = json_loadb((const char *)f->buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(e, "%s: header JSON is malformed at byte %lld: %s", f->path, 8 + (long long)je.position,
                       shown(je.text).s);
    int rc = -1;
    uint64_t data_len = f->len - 8 - n;
    Span *spans = NULL;
    if (!json_is_object(root)) {
        err_set(e, "%s: header is not a JSON object", f->path);
        goto done;
    }
    size_t nkeys = json_object_size(root);
    if (nkeys > INT32_MAX) {
        err_set(e, "%s: header has too many entries", f->path);
        goto done;
    }
    f->tensors = calloc(nkeys + 1, sizeof *f->tensors);
    spans = calloc(nkeys + 1, sizeof *spans);
    if (!f->tensors || !spans) {
        err_set(e, "%s: out of memory for %zu header entries", f->path, nkeys);
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (parse_meta(f, v, e)) goto done;
            continue;
        }
        StTensor *t = &f->tensors[f->count];
        if (parse_tensor(f, key, v, data_len, t, &spans[f->count], e)) goto done;
        if (!(t->name = strdup(key))) {
            err_set(e, "%s: out of memory for tensor names", f->path);
            goto done;
        }
        spans[f->count].index = f->count;
        f->count++;
    }
    if (check_layout(f, spans, data_len, e) || build_index(f, e)) goto done;
    rc = 0;
done:
    free(spans);
    json_decref(root);
    return rc;
}

static int open_finish(StFile *f, Err *e) {
    if (st_parse(f, e)) {
        st_close(f);
        return -1;
    }
    return 0;
}

int st_open_mem(StFile *f, const void *buf, size_t len, Err *e) {
    memset(f, 0, sizeof *f);
    f->path = strdup("<memory>");
    if (!f->path) return err_set(e, "out of memory");
    f->buf = buf;
    f->len = len;
    return open_finish(f, e);
}

int st_open(StFile *f, const char *path, Err *e) {
    memset(f, 0, sizeof *f);
    int fd = fileguard_open_regular(path, "a .safetensors checkpoint", e);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st)) {
        int err = errno;
        close(fd);
        return err_set(e, "%s: cannot stat: %s", path, strerror(err));
    }
    if (st.st_size < 8) {
        close(fd);
        return err_set(e, "%s: file is %lld bytes, too short for a safetensors header", path, (long long)st.st_size);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return err_set(e, "%s: file is too large to map", path);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (m == MAP_FAILED) return err_set(e, "%s: cannot map %lld bytes: %s", path, (long long)st.st_size, strerror(err));
    f->buf = m;
    f->len = (size_t)st.st_size;
    f->mapped = 1;
    if (!(f->path = strdup(path))) {
        st_close(f);
        return err_set(e, "%s: out of memory", path);
    }
    return open_finish(f, e);
}

void st_close(StFile *f) {
    if (f->mapped && f->buf) munmap((void *)f->buf, f->len);
    for (int i = 0; i < f->count; i++) free(f->tensors[i].name);
    for (int i = 0; i < f->nmeta; i++) free(f->meta[i].key), free(f->meta[i].value);
    free(f->tensors);
    free(f->by_name);
    free(f->meta);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name) {
    int lo = 0, hi = f->count - 1;
    while (lo <= hi && f->by_name) {
        int mid = lo + (hi - lo) / 2, c = strcmp(name, f->tensors[f->by_name[mid]].name);
        if (!c) return &f->tensors[f->by_name[mid]];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const char *st_meta(const StFile *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

static const StTensor *find_counted(const StFile *f, const char *name, int64_t count, Err *e) {
    const StTensor *t = st_find(f, name);
    if (!t) return err_set(e, "%s: tensor %s is missing", f->path, shown(name).s), NULL;
    if (t->count != count)
        return err_set(e, "%s: tensor %s has %lld elements (shape %s), expected %lld", f->path, shown(name).s,
                       (long long)t->count, shape_text(t->ndim, t->shape).s, (long long)count),
               NULL;
    return t;
}

int st_read_f32(const StFile *f, const char *name, float *out, int64_t count, Err *e) {
    const StTensor *t = find_counted(f, name, count, e);
    if (!t) return -1;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        for (int64_t i = 0; i < count; i++) out[i] = from_bits(rd_u32(p + 4 * i));
        return 0;
    case ST_F16:
        for (int64_t i = 0; i < count; i++) out[i] = st_f16_to_f32(rd_u16(p + 2 * i));
        return 0;
    case ST_BF16:
        for (int64_t i = 0; i < count; i++) out[i] = st_bf16_to_f32(rd_u16(p + 2 * i));
        return 0;
    case ST_F64:
        for (int64_t i = 0; i < count; i++) {
            uint64_t b = rd_u64(p + 8 * i);
            double d;
            memcpy(&d, &b, sizeof d);
            out[i] = (float)d;
        }
        return 0;
    default:
        return err_set(e, "%s: tensor %s has dtype %s, expected a float type (F32, F16, BF16, F64)", f->path,
                       shown(name).s, dtype_names[t->dtype]);
    }
}

int st_read_i64(const StFile *f, const char *name, int64_t *out, int64_t count, Err *e) {
    const StTensor *t = find_counted(f, name, count, e);
    if (!t) return -1;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case ST_I64:
        for (int64_t i = 0; i < count; i++) {
            uint64_t b = rd_u64(p + 8 * i);
            memcpy(&out[i], &b, sizeof b);
        }
        return 0;
    case ST_I32:
        for (int64_t i = 0; i < count; i++) {
            uint32_t b = rd_u32(p + 4 * i);
            int32_t v;
            memcpy(&v, &b, sizeof v);
            out[i] = v;
        }
        return 0;
    case ST_U8:
    case ST_BOOL:
        for (int64_t i = 0; i < count; i++) out[i] = p[i];
        return 0;
    default:
        return err_set(e, "%s: tensor %s has dtype %s, expected an integer type (I64, I32, U8, BOOL)", f->path,
                       shown(name).s, dtype_names[t->dtype]);
    }
}

int st_check_shape(const StFile *f, const char *name, int ndim, const int64_t *shape, Err *e) {
    const StTensor *t = st_find(f, name);
    if (!t) return err_set(e, "%s: tensor %s is missing", f->path, shown(name).s);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same)
        return err_set(e, "%s: tensor %s has shape %s, expected %s", f->path, shown(name).s,
                       shape_text(t->ndim, t->shape).s, shape_text(ndim, shape).s);
    return 0;
}
