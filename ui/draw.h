/* draw.h: colours from one table of roles, and UTF-8 text drawn by display
 * columns (draw.c); lines fitted to a width by whole items or words. What
 * every screen and plot.c draw with; no state of the App here. */
#ifndef SDLM_DRAW_H
#define SDLM_DRAW_H

#include <stddef.h>

/* A masked model's hidden slot while a fill runs (its confidence is reported negated). */
#define HIDDEN_SLOT "\xc2\xb7" /* a middle dot */

typedef enum {
    C_NORMAL, C_TITLE, C_TAB, C_STATUS, C_MSG, C_ERROR, C_HINT, C_SPAN, C_LOW, C_MID, C_HIGH, C_SELECT,
    C_KEY, C_PLOT, C_DIM, C_FIELD, C_COUNT
} ColorRole;

void colors_init(int enabled);
int color_attr(ColorRole r); /* attributes (pair and mono form) to draw role r */
/* Draws UTF-8 text at (y, x), at most maxw columns; returns columns used. */
int draw_text(int y, int x, const char *s, int maxw, int attr);
int text_width(const char *s); /* display columns of a UTF-8 string */
void draw_fill(int y, int x, int w, int attr);
void draw_box_title(int y, int x, int w, const char *title, int attr);
/* s drawn over at most max_lines lines of width columns, broken between words
 * (inside a word wider than a line), the last line ending in "…" if text is
 * left. Returns the lines used, at least 1. */
int draw_wrapped(int y, int x, const char *s, int width, int max_lines, int attr);
int wrapped_lines(const char *s, int width); /* the lines draw_wrapped would use, with no limit */
/* s into out, cut after the last whole word that fits, with "…". */
int fit_words(char *out, size_t cap, const char *s, int width);
/* Joins items with sep into out, dropping whole items, the largest prio
 * number first, until the text fits in width columns: a line fitted to the
 * terminal never cuts a word (as htop's and lazygit's do). Empty or NULL
 * items are skipped. Returns the width used. */
int fit_items(char *out, size_t cap, const char *const *items, const int *prio, int n, const char *sep,
              int width);

#endif
