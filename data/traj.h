/* traj.h: the denoising trajectory of one infill or sample, and its blob format.
 *
 * A Trajectory records, for each of S sampling steps, the diffusion time t and
 * for each of the L positions the token the model would pick and how sure it
 * was; plus which positions were masked (to be filled) in the template. It is
 * stored in the samples table as one blob. This file is the codec only: no
 * SQLite, no tokenizer.
 *
 * Blob format, version 1 (all integers little-endian):
 *
 *   offset size  field
 *   0      4     magic "SDTJ"
 *   4      1     version = 1
 *   5      1     flags: bit 0 = ids are uint32 (set exactly when vocab > 65535,
 *                else ids are uint16); other bits 0
 *   6      2     reserved, 0
 *   8      4     S, steps, 1 .. TRAJ_MAX_STEPS
 *   12     4     L, positions, 1 .. TRAJ_MAX_LEN
 *   16     4     V, vocabulary size, >= 1; every id is < V
 *   20     ceil(L/8)  masked bitmap: position i is bit (i % 8) of byte i / 8;
 *                unused high bits of the last byte are 0
 *   then S records, one per step, each
 *          4     t, IEEE float32, finite
 *          L*w   ids, w = 2 or 4 bytes by the flag
 *          L     confidences, uint8: round(c * 255) with c clamped to [0, 1]
 *
 * The blob is exactly that long: trailing bytes are an error. Size per step is
 * 4 + 3L bytes for vocabularies up to 65535 (200 steps x 64 positions: 38 KB).
 * The decoder checks every field and every length with overflow-safe
 * arithmetic and returns an Err for anything else; it never reads past len. */
#ifndef SDLM_TRAJ_H
#define SDLM_TRAJ_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TRAJ_VERSION 1
#define TRAJ_MAX_STEPS 100000
#define TRAJ_MAX_LEN 65536

typedef struct {
    int steps;              /* S */
    int len;                /* L */
    uint32_t vocab;         /* V: ids are < V */
    float *t;               /* [S] diffusion time at each step */
    uint32_t *ids;          /* [S, L] token chosen at each position after each step */
    float *conf;            /* [S, L] confidence in [0, 1] (stored to 1/255) */
    unsigned char *masked;  /* [L] 1 where the template had a masked span, else 0 */
} Trajectory;

/* Allocates the arrays of an S x L trajectory (zeroed); free with traj_free. */
int traj_alloc(Trajectory *tr, int steps, int len, uint32_t vocab, Err *e);
void traj_free(Trajectory *tr);

/* Encodes tr into a malloc'd blob (free it with free()). Fails on shapes out of
 * range, non-finite t or ids >= vocab. */
int traj_encode(const Trajectory *tr, unsigned char **blob, size_t *len, Err *e);

/* Decodes a blob into tr (owned by the caller, traj_free). On failure tr is
 * left zeroed and e says which field is wrong. */
int traj_decode(const void *blob, size_t len, Trajectory *tr, Err *e);

#endif
