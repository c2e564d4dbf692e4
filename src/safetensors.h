/* safetensors.h: reading and writing the safetensors format.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the data section) plus an optional "__metadata__" map of
 * strings, then the raw little-endian data.
 *
 * The reader validates everything before handing out a tensor: header length
 * sane (<= 100 MB) and inside the file, JSON well formed with no duplicate
 * names, known dtypes, shapes of non-negative integers whose product does not
 * overflow, byte size == element count x dtype size, tensors contiguous,
 * non-overlapping and exactly filling the data section. Nothing in a file can
 * make it crash; problems come back as one line naming the file and the
 * tensor ("model.safetensors: tensor lm_head.weight: data ends at byte 123456
 * but the file has 120000").
 *
 * The writer is atomic: temp file PATH.tmp.<pid> in the same directory, all
 * bytes written, fsync, rename, fsync the directory, so an existing file is
 * never damaged. A process that limits file sizes (RLIMIT_FSIZE) should ignore
 * SIGXFSZ, so an oversized write fails with EFBIG instead of killing it.
 * Reader: safetensors.c; writer: safetensors_write.c.
 *
 * Not here: what the tensors mean (ckpt.c), any dtype beyond the eight below. */
#ifndef SDLM_SAFETENSORS_H
#define SDLM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_U8, ST_BOOL, ST_DTYPE_COUNT } StDtype;

enum { ST_MAX_DIMS = 8 };
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* as the reference implementation */

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;                  /* 0 for a scalar */
    int64_t shape[ST_MAX_DIMS];
    int64_t count;             /* elements: product of shape (1 for a scalar) */
    const unsigned char *data; /* into the file's data section; may be unaligned */
    size_t nbytes;
} StTensor;

typedef struct {
    char *key, *value;
} StMeta;

typedef struct {
    char *path;                /* for messages ("<memory>" for st_open_mem) */
    const unsigned char *buf;  /* the whole file: mmap'd by st_open, borrowed by st_open_mem */
    size_t len;
    int mapped;                /* buf is ours to munmap */
    StTensor *tensors;         /* [count], in data order (= file order) */
    int count;
    int *by_name;              /* [count] indices into tensors sorted by name, for st_find */
    StMeta *meta;              /* [nmeta], the __metadata__ map in header order */
    int nmeta;
} StFile;

const char *st_dtype_name(StDtype d);
size_t st_dtype_size(StDtype d);

/* Maps the file read-only and validates it; st_close releases it. While it
 * is open, another program truncating the file in place would make reads
 * fault (SIGBUS); sdlm's own writer never does that, it renames. */
int st_open(StFile *f, const char *path, Err *e);
/* Parses a buffer the caller keeps alive until st_close (used by tests and fuzzers). */
int st_open_mem(StFile *f, const void *buf, size_t len, Err *e);
/* Safe on a zeroed or already closed StFile. */
void st_close(StFile *f);

const StTensor *st_find(const StFile *f, const char *name); /* NULL when absent */
const char *st_meta(const StFile *f, const char *key);     /* NULL when absent */

/* Copies a float tensor (F32, F16, BF16 or F64) into out[count] as F32.
 * Fails (naming file and tensor) when absent, not a float dtype, or when the
 * element count differs from count. */
int st_read_f32(const StFile *f, const char *name, float *out, int64_t count, Err *e);
/* Same for integer tensors (I64, I32, U8, BOOL) into int64_t. */
int st_read_i64(const StFile *f, const char *name, int64_t *out, int64_t count, Err *e);
/* Checks presence and the exact shape:
 * "FILE: tensor X has shape [a, b], expected [c, d]". */
int st_check_shape(const StFile *f, const char *name, int ndim, const int64_t *shape, Err *e);

/* Exact conversions between the 16-bit float formats and F32. To 16 bits:
 * round to nearest even, overflow to infinity, NaN stays NaN. */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t b);
uint16_t st_f32_to_f16(float x);
uint16_t st_f32_to_bf16(float x);

/* Writer: collect tensors (name and data are borrowed until st_writer_save
 * returns), then save. Data is the tensor's little-endian bytes, count x dtype
 * size of them; tensors are laid out in the order they were added. */
typedef struct {
    const char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} StEntry;

typedef struct {
    StEntry *entries;
    int count, cap;
    StMeta *meta;              /* owned copies; written as __metadata__ when nmeta > 0 */
    int nmeta, metacap;
} StWriter;

void st_writer_init(StWriter *w);
/* Fails on a bad dtype, ndim outside 0..ST_MAX_DIMS, a negative dim, a size
 * that overflows, the reserved name "__metadata__" or a name already added. */
int st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                  const void *data, Err *e);
/* Both copied; setting a key again replaces its value. */
int st_writer_meta(StWriter *w, const char *key, const char *value, Err *e);
/* Atomic: PATH.tmp.<pid> in the same directory, fsync, rename, fsync dir. On
 * failure the temp file is removed, an existing PATH is untouched, and e says
 * which step failed and why (strerror). */
int st_writer_save(const StWriter *w, const char *path, Err *e);
void st_writer_free(StWriter *w);

#endif
