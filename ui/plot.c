/* plot.c: a curve against step as Unicode block columns (eighths), with its
 * title, last value and range. Used by the training screen (live curves) and
 * the history's runs view (recorded curves). Values that are not finite are
 * skipped. */
#include <curses.h>
#include <math.h>
#include <stdio.h>

#include "plot.h"

void plot_draw(int y, int x, int h, int w, const char *title, const double *v, int n, int logy) {
    static const char *const blocks[9] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    if (h < 3 || w < 12) return;
    double lo = INFINITY, hi = -INFINITY, last = NAN;
    for (int i = 0; i < n; i++) {
        double t = v[i];
        if (!isfinite(t) || (logy && t <= 0)) continue;
        if (logy) t = log10(t);
        lo = t < lo ? t : lo, hi = t > hi ? t : hi;
        last = v[i];
    }
    char head[160];
    if (isfinite(last)) snprintf(head, sizeof head, "%s %.4g", title, last);
    else snprintf(head, sizeof head, "%s -", title);
    draw_text(y, x, head, w, A_BOLD);
    if (!isfinite(lo)) {
        draw_text(y + 1, x, "(no data yet)", w, color_attr(C_DIM));
        return;
    }
    char range[64];
    snprintf(range, sizeof range, "%.3g..%.3g", logy ? pow(10, lo) : lo, logy ? pow(10, hi) : hi);
    int rw = text_width(range);
    if (text_width(head) + rw + 2 <= w) draw_text(y, x + w - rw, range, rw, color_attr(C_DIM));
    int ph = h - 1, pw = w;
    if (hi - lo < 1e-12) hi = lo + 1e-12;
    int attr = color_attr(C_PLOT);
    for (int c = 0; c < pw; c++) {
        /* the column's value: the mean of the points that fall into it */
        int a = (int)((long)c * n / pw), b = (int)((long)(c + 1) * n / pw);
        if (b <= a) b = a + 1;
        if (a >= n) break;
        double s = 0;
        int k = 0;
        for (int i = a; i < b && i < n; i++) {
            double t = v[i];
            if (!isfinite(t) || (logy && t <= 0)) continue;
            s += logy ? log10(t) : t, k++;
        }
        if (!k) continue;
        double f = (s / k - lo) / (hi - lo);
        int eighths = (int)lround(f * (ph * 8 - 1)) + 1;
        for (int r = 0; r < ph; r++) {
            int level = eighths - r * 8;
            if (level <= 0) break;
            draw_text(y + ph - r, x + c, blocks[level > 8 ? 8 : level], 1, attr);
        }
    }
}
