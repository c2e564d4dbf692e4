/* clock.h: seconds on the monotonic clock, for durations and rates (never for
 * dates: those come from CLOCK_REALTIME where they are written). */
#ifndef SDLM_CLOCK_H
#define SDLM_CLOCK_H

#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
