/* batch.c: padding, random lengths and conditional masks (the seed's collate). */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

int batch_alloc(Batch *b, int Bcap, int Lcap, Err *e) {
    memset(b, 0, sizeof *b);
    b->Bcap = Bcap, b->Lcap = Lcap;
    long n = (long)Bcap * Lcap;
    b->ids = calloc(n, sizeof *b->ids);
    b->len_mask = calloc(n, 1);
    b->cond = calloc(n, 1);
    b->ntok = calloc(Bcap, sizeof *b->ntok);
    if (!b->ids || !b->len_mask || !b->cond || !b->ntok) {
        batch_free(b);
        return err_set(e, "out of memory for a batch of %d x %d", Bcap, Lcap);
    }
    return 0;
}

void batch_free(Batch *b) {
    free(b->ids), free(b->len_mask), free(b->cond), free(b->ntok);
    memset(b, 0, sizeof *b);
}

void batch_copy(Batch *dst, const Batch *src) {
    long n = (long)src->B * src->L;
    memcpy(dst->ids, src->ids, sizeof *dst->ids * n);
    memcpy(dst->len_mask, src->len_mask, n);
    memcpy(dst->cond, src->cond, n);
    memcpy(dst->ntok, src->ntok, sizeof *dst->ntok * src->B);
    dst->B = src->B, dst->L = src->L, dst->tokens = src->tokens, dst->epoch = src->epoch, dst->index = src->index;
}

static void shuffle(uint8_t *x, int n, Rng *r) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint64_t)i + 1);
        uint8_t t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

void cond_mask_seed(uint8_t *cond, int n, Rng *r) {
    memset(cond, 0, n);
    if (n < 1) return;
    int m = (int)rng_below(r, (uint64_t)n);               /* m ~ U{0..n-1} */
    int start = (int)rng_below(r, (uint64_t)(n - m + 1)); /* start ~ U{0..n-m} */
    memset(cond + start, 1, m);
    if (rng_uniform(r) < 0.5) shuffle(cond, n, r);
}

void cond_mask_infill(uint8_t *cond, int n, Rng *r) {
    memset(cond, 1, n);
    if (n < 1) return;
    int unknown = 1 + (int)rng_below(r, (uint64_t)n); /* 1..n positions to fill */
    int shape = (int)rng_below(r, 4);                 /* prefix, suffix, middle, several gaps */
    if (shape == 0) {
        memset(cond, 0, unknown);
    } else if (shape == 1) {
        memset(cond + n - unknown, 0, unknown);
    } else {
        int gaps = shape == 2 ? 1 : 2 + (int)rng_below(r, 2);
        if (gaps > unknown) gaps = unknown;
        int left = unknown;
        for (int g = 0; g < gaps; g++) {
            int len = g == gaps - 1 ? left : 1 + (int)rng_below(r, (uint64_t)(left - (gaps - g - 1)));
            left -= len;
            int start = (int)rng_below(r, (uint64_t)(n - len + 1));
            memset(cond + start, 0, len); /* gaps may overlap: then fewer are unknown, never more */
        }
    }
}

void batch_collate(Batch *b, const int32_t *const *seqs, const int *n, int B, int pad_id, MaskKind kind, Rng *r) {
    int longest = 1;
    for (int i = 0; i < B; i++) longest = n[i] > longest ? n[i] : longest;
    if (longest > b->Lcap) longest = b->Lcap;
    b->B = B, b->L = longest, b->tokens = 0;
    for (int i = 0; i < B; i++) {
        int ni = n[i] < longest ? n[i] : longest;
        int32_t *row = b->ids + (long)i * longest;
        uint8_t *lm = b->len_mask + (long)i * longest, *cm = b->cond + (long)i * longest;
        memcpy(row, seqs[i], sizeof *row * ni);
        for (int l = ni; l < longest; l++) row[l] = pad_id;
        int len = ni + (int)rng_below(r, (uint64_t)(longest - ni + 1)); /* U{ni..longest} */
        for (int l = 0; l < longest; l++) lm[l] = l < len;
        memset(cm, 0, longest);
        if (kind == MASK_INFILL || (kind == MASK_MIXED && rng_uniform(r) < 0.5)) cond_mask_infill(cm, ni, r);
        else cond_mask_seed(cm, ni, r);
        b->ntok[i] = ni;
        b->tokens += len;
    }
}
