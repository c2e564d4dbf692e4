/* plot.h: block-column charts of a curve (see plot.c). */
#ifndef SDLM_PLOT_H
#define SDLM_PLOT_H

#include "draw.h"

/* Draws values v[0..n) left to right in an h x w box at (y, x): a title line
 * with the last value and the range, then h-1 rows of bars. logy: log scale. */
void plot_draw(int y, int x, int h, int w, const char *title, const double *v, int n, int logy);

/* Draws a share (0..1) in n buckets of an axis, v[k] for the k-th of n equal
 * parts of [0, 1] (not finite: no data yet), on a fixed 0..100% scale, in an
 * h x w box at (y, x): a title line with `axis` (what runs left to right),
 * h-2 rows of bars, and a line of each bucket's value in percent under its
 * bar. With h < 3 it is one line: the title, the axis, a sparkline and the
 * first and last values. */
void plot_buckets(int y, int x, int h, int w, const char *title, const char *axis, const double *v, int n);

#endif
