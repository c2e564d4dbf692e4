/* metric.h: one training step's figures, as the history keeps them and the
 * trainer's progress shows them. Apart from store.h so the trainer's header
 * (which the editor's curses files include) does not bring in the store. */
#ifndef SDLM_METRIC_H
#define SDLM_METRIC_H

#include <stdint.h>

/* One step's figures: X(type, field, kind), field also the column's name in the metrics
 * table; kind INT (int64), REAL (NaN stored as NULL) or BOOL. The struct, the SQL and its binds
 * and reads all come from this list. */
#define METRIC_FIELDS(X)                                                                        \
    X(int64_t, step, INT)                                                                       \
    X(int64_t, epoch, INT)                                                                      \
    X(double, loss, REAL)                                                                       \
    X(double, mse, REAL)                                                                        \
    X(double, ce, REAL)                                                                         \
    X(double, accuracy, REAL)                                                                   \
    X(double, lr, REAL)                                                                         \
    X(double, grad_norm, REAL)    /* before clipping */                                         \
    X(double, tokens_per_s, REAL)                                                               \
    X(double, wall_s, REAL)       /* seconds since the run started */                           \
    X(int, skipped, BOOL)         /* 1: the step was skipped (non-finite loss or gradient) */

#define METRIC_FIELD(type, field, kind) type field;
typedef struct {
    METRIC_FIELDS(METRIC_FIELD)
} Metric;

#endif
