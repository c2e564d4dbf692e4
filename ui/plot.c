/* plot.c: a curve against step as Unicode block columns (eighths), with its
 * title, last value and range. Used by the training screen (live curves) and
 * the history's runs view (recorded curves). Values that are not finite are
 * skipped. Also a share by bucket of an axis (the training screen's accuracy
 * by noise level t): bars on a fixed 0..100% scale with their values. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot.h"

static const char *const blocks[9] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

void plot_draw(int y, int x, int h, int w, const char *title, const double *v, int n, int logy) {
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

void plot_buckets(int y, int x, int h, int w, const char *title, const char *axis, const double *v, int n) {
    if (n < 1 || w < 12) return;
    int have = 0;
    for (int k = 0; k < n; k++) have += isfinite(v[k]);
    int attr = color_attr(C_PLOT), dim = color_attr(C_DIM);
    if (h < 3) { /* one line: "title (axis) ▇▇▆▅▃▁ 97% → 4%" */
        char head[200], ends[48];
        snprintf(head, sizeof head, "%s (%s)", title, axis);
        int used = draw_text(y, x, head, w, A_BOLD);
        if (used + 2 + n > w) return;
        for (int k = 0; k < n; k++) {
            int e = isfinite(v[k]) ? (int)lround((v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k]) * 7) + 1 : 0;
            draw_text(y, x + used + 1 + k, e ? blocks[e] : "·", 1, e ? attr : dim);
        }
        if (isfinite(v[0]) && isfinite(v[n - 1])) {
            snprintf(ends, sizeof ends, "%d%% → %d%%", (int)lround(100 * v[0]), (int)lround(100 * v[n - 1]));
            if (used + 3 + n + text_width(ends) <= w) draw_text(y, x + used + 2 + n, ends, w - used - 2 - n, 0);
        }
        return;
    }
    int used = draw_text(y, x, title, w, A_BOLD);
    int aw = text_width(axis);
    if (used + 2 + aw <= w) draw_text(y, x + w - aw, axis, aw, dim);
    if (!have) {
        draw_text(y + 1, x, "(no data yet)", w, dim);
        return;
    }
    /* each bucket: bw columns, the bar one narrower (a gap), its value centred under it */
    int bw = w / n, ph = h - 2;
    if (bw < 1) return;
    int bar = bw > 2 ? bw - 1 : bw;
    for (int k = 0; k < n; k++) {
        int cx = x + k * bw;
        char val[16];
        if (!isfinite(v[k])) {
            draw_text(y + ph, cx, "·", 1, dim);
            snprintf(val, sizeof val, "-");
        } else {
            double f = v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k];
            int eighths = (int)lround(f * ph * 8);
            for (int r = 0; r < ph; r++) {
                int level = eighths - r * 8;
                if (level <= 0) {
                    if (r == 0) for (int c = 0; c < bar; c++) draw_text(y + ph, cx + c, "▁", 1, dim); /* 0%: a floor */
                    break;
                }
                for (int c = 0; c < bar; c++) draw_text(y + ph - r, cx + c, blocks[level > 8 ? 8 : level], 1, attr);
            }
            snprintf(val, sizeof val, "%d", (int)lround(100 * f));
        }
        int vw = (int)strlen(val);
        if (vw <= bw) draw_text(y + ph + 1, cx + (bar - vw + 1) / 2, val, vw, 0);
    }
}
