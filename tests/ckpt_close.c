/* ckpt_close.c: a test helper (not a test: tests/t_mpi.sh runs it). Compares
 * two training checkpoints of the same config: the weights, the Adam moments
 * and step, the EMA, tensor by tensor with |a - b| <= atol + rtol * |b|, and
 * the data position (step, epoch, index) exactly. Prints one line naming the
 * worst element (or what differs) and exits 0 when close, 1 when not, 2 on
 * bad use or an unreadable file.
 *
 *   ckpt_close A.safetensors B.safetensors [ATOL [RTOL]]   (1e-5, 1e-4) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"

typedef struct {
    double excess, err, a, b;
    const char *block, *tensor;
    long index;
    int seen;
} Worst;

/* Folds block a against b (both [table.total]) into w, tensor by tensor. */
static void compare(Worst *w, const char *block, const ParamTable *t, const float *a, const float *b, double atol,
                    double rtol) {
    for (int k = 0; k < t->count; k++) {
        const ParamInfo *p = &t->info[k];
        for (size_t i = 0; i < p->count; i++) {
            double x = a[p->offset + i], y = b[p->offset + i], err = fabs(x - y);
            double excess = err == err ? err - (atol + rtol * fabs(y)) : INFINITY;
            if (!w->seen || excess > w->excess) *w = (Worst){excess, err, x, y, block, p->name, (long)i, 1};
        }
    }
}

static int same_meta(const Checkpoint *a, const Checkpoint *b, const char *key) {
    const char *x = ckpt_meta(a, key), *y = ckpt_meta(b, key);
    if (!x || !y || strcmp(x, y)) {
        printf("%s differs: %s vs %s\n", key, x ? x : "(none)", y ? y : "(none)");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: ckpt_close A.safetensors B.safetensors [ATOL [RTOL]]\n");
        return 2;
    }
    double atol = argc > 3 ? strtod(argv[3], NULL) : 1e-5, rtol = argc > 4 ? strtod(argv[4], NULL) : 1e-4;
    Checkpoint a = {0}, b = {0};
    Err e;
    if (ckpt_load(argv[1], &a, &e) || ckpt_load(argv[2], &b, &e)) {
        fprintf(stderr, "ckpt_close: %s\n", e.msg);
        ckpt_free(&a);
        return 2;
    }
    int good = 1;
    if (a.table.total != b.table.total || a.table.count != b.table.count) {
        printf("different models: %zu and %zu parameters\n", a.table.total, b.table.total);
        good = 0;
    }
    good = good && same_meta(&a, &b, "step") && same_meta(&a, &b, "epoch") && same_meta(&a, &b, "index");
    if (good && (!a.adam_m != !b.adam_m || !a.ema != !b.ema || a.adam_step != b.adam_step)) {
        printf("different optimiser state (Adam moments, EMA or step)\n");
        good = 0;
    }
    if (good) {
        Worst w = {0};
        compare(&w, "weights", &a.table, a.weights, b.weights, atol, rtol);
        if (a.adam_m) compare(&w, "exp_avg", &a.table, a.adam_m, b.adam_m, atol, rtol);
        if (a.adam_v) compare(&w, "exp_avg_sq", &a.table, a.adam_v, b.adam_v, atol, rtol);
        if (a.ema) compare(&w, "ema", &a.table, a.ema, b.ema, atol, rtol);
        good = w.excess <= 0;
        printf("%s: worst %s %s[%ld]: %.9g vs %.9g (abs err %.3g, atol %.3g rtol %.3g), step %s\n",
               good ? "close" : "NOT close", w.block, w.tensor, w.index, w.a, w.b, w.err, atol, rtol,
               ckpt_meta(&a, "step"));
    }
    ckpt_free(&a);
    ckpt_free(&b);
    return good ? 0 : 1;
}
