/* safetensors.h: reading and writing the safetensors format.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the data section) plus an optional "__metadata__" map of
 * strings, then the raw little-endian data.
 *
 * The reader validates everything before handing out a tensor: header length
 * sane (<= 100 MB) and inside the file, JSON well formed with no duplicate
 * names, known dtypes, byte size == element count x dtype size, tensors
 * contiguous, non-overlapping and exactly filling the data section. Nothing
 * in a file can make it crash; problems come back as an Err naming the file
 * and the tensor. The writer is atomic: temp file in the same directory,
 * fsync, rename, fsync the directory, so an existing file is never damaged. */
#ifndef SDLM_SAFETENSORS_H
#define SDLM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_U8, ST_BOOL, ST_DTYPE_COUNT } StDtype;

enum { ST_MAX_DIMS = 8 };

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t count;          /* elements */
    const unsigned char *data; /* points into the file's data section */
    size_t nbytes;
} StTensor;

typedef struct {
    char *key, *value;
} StMeta;

typedef struct {
    char *path;             /* for messages ("<memory>" for st_open_mem) */
    unsigned char *buf;     /* whole file (read or mmap'd) */
    size_t len;
    int mapped;
    StTensor *tensors;      /* in file order */
    int count;
    StMeta *meta;
    int nmeta;
} StFile;

const char *st_dtype_name(StDtype d);
size_t st_dtype_size(StDtype d);

int st_open(StFile *f, const char *path, Err *e);
/* Parses a buffer the caller keeps alive until st_close (used by the fuzzers). */
int st_open_mem(StFile *f, const void *buf, size_t len, Err *e);
void st_close(StFile *f);

const StTensor *st_find(const StFile *f, const char *name);
const char *st_meta(const StFile *f, const char *key); /* NULL when absent */

/* Copies a float tensor into out[count], converting F16/BF16/F64 to F32.
 * Fails (naming file and tensor) when absent, not a float dtype, or when
 * the element count differs from count. */
int st_read_f32(const StFile *f, const char *name, float *out, int64_t count, Err *e);
/* Same for integer tensors (I64/I32/U8/BOOL) into int64_t. */
int st_read_i64(const StFile *f, const char *name, int64_t *out, int64_t count, Err *e);
/* Checks the shape exactly: "tensor X in FILE has shape [a, b], expected [c, d]". */
int st_check_shape(const StFile *f, const char *name, int ndim, const int64_t *shape, Err *e);

/* Writer: collect tensors (data is borrowed until st_writer_save returns), then save. */
typedef struct {
    const char *name;       /* borrowed */
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;       /* borrowed */
    size_t nbytes;
} StEntry;

typedef struct {
    StEntry *entries;
    int count, cap;
    StMeta *meta;
    int nmeta, metacap;
} StWriter;

void st_writer_init(StWriter *w);
int st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                  const void *data, Err *e);
int st_writer_meta(StWriter *w, const char *key, const char *value, Err *e); /* both copied */
/* Atomic: PATH.tmp.<pid> in the same directory, fsync, rename, fsync dir. On
 * failure the temp file is removed and an existing PATH is untouched. */
int st_writer_save(StWriter *w, const char *path, Err *e);
void st_writer_free(StWriter *w);

#endif
