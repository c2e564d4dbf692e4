/* safetensors_util.h: helpers shared by safetensors.c (reader) and
 * safetensors_write.c (writer); not part of the interface.
 *
 * Names and shapes as they may appear in one-line messages. */
#ifndef SDLM_SAFETENSORS_UTIL_H
#define SDLM_SAFETENSORS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "safetensors.h"

/* A name as it may appear inside a one-line message: control bytes become
 * '?' (a file must not drive the terminal) and long names are cut. */
typedef struct {
    char s[168];
} Shown;

static inline Shown shown(const char *name) {
    Shown r;
    size_t n = 0, cap = sizeof r.s - 4;
    for (; name[n] && n < cap; n++) r.s[n] = (unsigned char)name[n] < 0x20 || name[n] == 0x7f ? '?' : name[n];
    if (name[n]) memcpy(r.s + n, "...", 3), n += 3;
    r.s[n] = 0;
    return r;
}

/* "[a, b, c]" */
typedef struct {
    char s[ST_MAX_DIMS * 22 + 4];
} ShapeText;

static inline ShapeText shape_text(int ndim, const int64_t *shape) {
    ShapeText r;
    size_t n = 0;
    r.s[n++] = '[';
    for (int i = 0; i < ndim && i < ST_MAX_DIMS; i++)
        n += (size_t)snprintf(r.s + n, sizeof r.s - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    snprintf(r.s + n, sizeof r.s - n, "]");
    return r;
}

/* Elements in a shape, or -1 when the product overflows int64. */
static inline int64_t shape_count(int ndim, const int64_t *shape) {
    int64_t count = 1;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(count, shape[i], &count)) return -1;
    return count;
}

#endif
