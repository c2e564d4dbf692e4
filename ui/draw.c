/* draw.c: colours from one table, and UTF-8 text drawn by display columns.
 *
 * Every role has a colour form (the 8 basic colours only, so 8-colour
 * terminals look the same) and a form without colour (attributes only), used
 * when NO_COLOR is set or the terminal has no colours. So spans, confidence
 * and selections stay visible either way. */
#include <curses.h>
#include <string.h>
#include <wchar.h>

#include "doc.h"
#include "draw.h"

typedef struct {
    ColorRole role;
    short fg, bg;
    int attr;      /* with colour */
    int mono;      /* without */
} ColorSpec;

static const ColorSpec palette[C_COUNT] = {
    {C_NORMAL, -1, -1, 0, 0},
    {C_TITLE, COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
    {C_TAB, COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD},
    {C_STATUS, COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE},
    {C_MSG, COLOR_BLUE, COLOR_WHITE, A_BOLD, A_REVERSE | A_BOLD},
    {C_ERROR, COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},
    {C_HINT, COLOR_CYAN, -1, 0, A_DIM},
    {C_SPAN, COLOR_MAGENTA, -1, A_UNDERLINE | A_BOLD, A_UNDERLINE | A_BOLD},
    {C_LOW, COLOR_RED, -1, A_UNDERLINE, A_UNDERLINE | A_DIM},
    {C_MID, COLOR_YELLOW, -1, A_UNDERLINE, A_UNDERLINE},
    {C_HIGH, COLOR_GREEN, -1, A_UNDERLINE | A_BOLD, A_UNDERLINE | A_BOLD},
    {C_SELECT, COLOR_BLACK, COLOR_YELLOW, 0, A_REVERSE},
    {C_KEY, COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    {C_PLOT, COLOR_GREEN, -1, 0, 0},
    {C_DIM, COLOR_BLUE, -1, A_BOLD, A_DIM},
    {C_FIELD, COLOR_WHITE, COLOR_BLUE, 0, A_UNDERLINE},
};

static int use_color;

void colors_init(int enabled) {
    use_color = enabled && has_colors() && start_color() == OK;
    if (!use_color) return;
    int defaults = use_default_colors() == OK; /* else -1 (the terminal's own) is not allowed */
    for (int r = 1; r < C_COUNT; r++) {
        short fg = palette[r].fg, bg = palette[r].bg;
        if (!defaults) fg = fg < 0 ? COLOR_WHITE : fg, bg = bg < 0 ? COLOR_BLACK : bg;
        init_pair((short)r, fg, bg);
    }
}

int color_attr(ColorRole r) {
    if (r <= C_NORMAL || r >= C_COUNT) return A_NORMAL;
    return use_color ? (int)COLOR_PAIR(r) | palette[r].attr : palette[r].mono;
}

int text_width(const char *s) {
    int w = 0;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        int cw = wcwidth((wchar_t)cp);
        w += cw < 0 ? 1 : cw;
    }
    return w;
}

int draw_text(int y, int x, const char *s, int maxw, int attr) {
    int w = 0;
    size_t len = strlen(s);
    attr_t old;
    short pair;
    attr_get(&old, &pair, NULL);
    attrset(attr);
    move(y, x);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        if (cp < 0x20 || cp == 0x7f) cp = ' ';
        int cw = wcwidth((wchar_t)cp);
        if (cw < 0) cp = 0xfffd, cw = 1;
        if (w + cw > maxw) break;
        wchar_t wc[2] = {(wchar_t)cp, 0};
        addnwstr(wc, 1);
        w += cw;
    }
    attr_set(old, pair, NULL);
    return w;
}

void draw_fill(int y, int x, int w, int attr) {
    if (w <= 0) return;
    attr_t old;
    short pair;
    attr_get(&old, &pair, NULL);
    attrset(attr);
    mvhline(y, x, ' ', w);
    attr_set(old, pair, NULL);
}

void draw_box_title(int y, int x, int w, const char *title, int attr) {
    attr_t old;
    short pair;
    attr_get(&old, &pair, NULL);
    attrset(color_attr(C_DIM));
    mvhline(y, x, ACS_HLINE, w);
    attr_set(old, pair, NULL);
    if (title && w > 4) {
        mvaddch(y, x + 1, ' ');
        int n = draw_text(y, x + 2, title, w - 4, attr);
        mvaddch(y, x + 2 + n, ' ');
    }
}

int fit_items(char *out, size_t cap, const char *const *items, const int *prio, int n, const char *sep, int width) {
    enum { MAX_ITEMS = 32 };
    int on[MAX_ITEMS], total = 0, count = 0, sw = text_width(sep);
    if (n > MAX_ITEMS) n = MAX_ITEMS;
    for (int i = 0; i < n; i++) {
        on[i] = items[i] && items[i][0];
        if (on[i]) total += text_width(items[i]) + (count++ ? sw : 0);
    }
    while (total > width && count > 0) { /* drop the least important whole item (the later of equals) */
        int worst = -1;
        for (int i = 0; i < n; i++)
            if (on[i] && (worst < 0 || prio[i] >= prio[worst])) worst = i;
        on[worst] = 0;
        total -= text_width(items[worst]) + (--count ? sw : 0);
    }
    size_t len = 0;
    out[0] = 0;
    for (int i = 0, k = 0; i < n && len < cap; i++) {
        if (!on[i]) continue;
        int m = snprintf(out + len, cap - len, "%s%s", k++ ? sep : "", items[i]);
        if (m < 0) break;
        len += (size_t)m;
    }
    return total > 0 ? total : 0;
}

/* Bytes of s's longest prefix that fits in width columns, ending between
 * words where one does (at least one character, so wrapping moves on). */
static size_t wrap_cut(const char *s, int width) {
    size_t n = 0, len = strlen(s), space = 0;
    for (int w = 0; n < len;) {
        uint32_t cp;
        size_t k = (size_t)utf8_decode(s + n, len - n, &cp);
        char one[8] = {0};
        memcpy(one, s + n, k);
        if (w + text_width(one) > width) return space ? space : n ? n : k;
        if (s[n] == ' ') space = n;
        w += text_width(one), n += k;
    }
    return n;
}

/* draw_wrapped, or with draw 0 only its count of lines. */
static int wrap_lines(int y, int x, const char *s, int width, int max_lines, int attr, int draw) {
    char line[1024];
    int used = 0;
    while (*s == ' ') s++;
    while (*s && used < max_lines && width > 1) {
        size_t cut = wrap_cut(s, width);
        if (used == max_lines - 1 && s[cut]) { /* text is left over: say so */
            cut = wrap_cut(s, width - 1);
            snprintf(line, sizeof line, "%.*s…", (int)cut, s);
        } else snprintf(line, sizeof line, "%.*s", (int)cut, s);
        if (draw) draw_text(y + used, x, line, width, attr);
        used++;
        for (s += cut; *s == ' '; s++) {}
    }
    return used ? used : 1;
}

int draw_wrapped(int y, int x, const char *s, int width, int max_lines, int attr) {
    return wrap_lines(y, x, s, width, max_lines, attr, 1);
}

int wrapped_lines(const char *s, int width) { return wrap_lines(0, 0, s, width, 1 << 20, 0, 0); }

int fit_words(char *out, size_t cap, const char *s, int width) {
    snprintf(out, cap, "%s", s);
    if (text_width(out) <= width) return text_width(out);
    size_t keep = 0; /* the longest prefix ending before a space that fits with the "…" */
    for (size_t i = 0; out[i]; i++) {
        if (out[i] != ' ') continue;
        char c = out[i];
        out[i] = 0;
        int w = text_width(out);
        out[i] = c;
        if (w + 1 > width) break;
        keep = i;
    }
    if (cap - keep < 4) return text_width(out);
    memcpy(out + keep, "…", 4); /* one word too long for the width: draw_text cuts it */
    return text_width(out);
}
