/* fmt.h: times and durations as sdlm prints them for people, the same in
 * every command and screen. Each writes into buf[cap] and returns buf, or
 * "-" for a value that is missing (NaN) or damaged beyond printing.
 *
 * Not here: machine formats (JSON, the history's columns), which keep full
 * precision. */
#ifndef SDLM_FMT_H
#define SDLM_FMT_H

#include <stddef.h>

/* A wall-clock time (seconds since the epoch) as local "2024-05-01 14:03". */
const char *fmt_time(double t, char *buf, size_t cap);
/* A duration in seconds: "4.2s", "3m05s", "1h02m"; beyond 1e12 s "1e+300s". */
const char *fmt_dur(double s, char *buf, size_t cap);

#endif
