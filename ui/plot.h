/* plot.h: block-column charts of a curve (see plot.c). */
#ifndef SDLM_PLOT_H
#define SDLM_PLOT_H

#include "app.h"

/* Draws values v[0..n) left to right in an h x w box at (y, x): a title line
 * with the last value and the range, then h-1 rows of bars. logy: log scale. */
void plot_draw(int y, int x, int h, int w, const char *title, const double *v, int n, int logy);

#endif
