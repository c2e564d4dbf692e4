/* ckpt_close.c: a test helper (not a test: tests/t_mpi.sh runs it). Compares
 * two training checkpoints of the same config: the weights, the Adam moments
 * and step, the EMA, tensor by tensor with |a - b| <= atol + rtol * |b|; the
 * time warp's state (the "warp" metadata: its ready flag exactly, its numbers
 * within the same tolerance); and the data position (step, epoch, index)
 * exactly. Prints one line naming the
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

/* The time warp's text (timewarp.c: a tag, the ready flag, then numbers):
 * the same tag and flag, every number close. */
static int same_warp(const Checkpoint *a, const Checkpoint *b, double atol, double rtol) {
    const char *x = ckpt_meta(a, "warp"), *y = ckpt_meta(b, "warp");
    if (!x && !y) return 1;
    if (!x || !y) return printf("one checkpoint has a time warp, the other not\n"), 0;
    const char *sx = strchr(x, ' '), *sy = strchr(y, ' ');
    if (!sx || !sy || sx - x != sy - y || strncmp(x, y, (size_t)(sx - x)))
        return printf("time warp: different formats\n"), 0;
    for (int k = 0;; k++) {
        char *ex, *ey;
        double u = strtod(sx, &ex), v = strtod(sy, &ey);
        if (ex == sx || ey == sy) {
            if (ex == sx && ey == sy) return 1;
            return printf("time warp: different lengths\n"), 0;
        }
        if (k == 0 ? u != v : !(fabs(u - v) <= atol + rtol * fabs(v)))
            return printf("time warp: number %d is %.17g vs %.17g\n", k, u, v), 0;
        sx = ex, sy = ey;
    }
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
    good = good && same_warp(&a, &b, atol, rtol);
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
