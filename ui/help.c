/* help.c: the help screen: every row of the keymap (keymap.c), grouped as
 * the table groups them, the keys of one action on one line; it scrolls,
 * and uses two columns on a wide terminal. The lines are made once, at
 * start-up, into App.help. Not here: the table itself. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

/* The keymap as lines of h: a heading for each group, then the keys of
 * each action (its rows next to each other) and what they do. */
static void help_init(App *a) {
    HelpState *h = &a->help;
    const char *group = NULL;
    h->n = 0, h->keys_w = 0;
    for (int i = 0; i < keymap_count && h->n < HELP_LINES - 2; i++) {
        const KeyBinding *b = &keymap[i];
        if (!group || strcmp(group, b->group)) {
            if (group) h->keys[h->n][0] = 0, h->about[h->n++] = NULL;
            snprintf(h->keys[h->n], sizeof h->keys[0], "%s", b->group);
            h->about[h->n++] = NULL;
            group = b->group;
        }
        char *keys = h->keys[h->n];
        snprintf(keys, sizeof h->keys[0], "%s", b->keyname);
        while (i + 1 < keymap_count && !strcmp(keymap[i + 1].action, b->action) &&
               !strcmp(keymap[i + 1].group, b->group)) {
            i++;
            size_t k = strlen(keys);
            snprintf(keys + k, sizeof h->keys[0] - k, ", %s", keymap[i].keyname);
        }
        h->about[h->n++] = b->about;
        if (text_width(keys) > h->keys_w) h->keys_w = text_width(keys);
    }
}

/* The lines entry i takes with its description aw columns wide. */
static int entry_lines(const HelpState *h, int i, int aw) { return h->about[i] ? wrapped_lines(h->about[i], aw) : 1; }

static void help_draw(App *a, int top, int rows) {
    HelpState *h = &a->help;
    int cols = a->cols;
    char head[200], close[64];
    keymap_names_in(SCR_HELP, "back", " or ", close, sizeof close);
    snprintf(head, sizeof head, "Every key, by screen:  %s/%s/%s/%s scroll,  %s close",
             keymap_name_in(SCR_HELP, "up"), keymap_name_in(SCR_HELP, "down"), keymap_name_in(SCR_HELP, "page-up"),
             keymap_name_in(SCR_HELP, "page-down"), close);
    draw_wrapped(top, 1, head, cols - 2, 1, color_attr(C_HINT));
    int body = rows - 1;
    /* two columns when wide; a description wraps under itself, so the
     * screen scrolls by entries */
    int ncol = cols >= 150 ? 2 : 1, colw = cols / ncol, kw = h->keys_w + 2, aw = colw - kw - 3;
    int last_top = h->n, used = 0; /* the first entry of the last screenful */
    while (last_top > 0 && (used += entry_lines(h, last_top - 1, aw)) <= body * ncol) last_top--;
    if (h->top > last_top) h->top = last_top;
    if (h->top < 0) h->top = 0;
    for (int c = 0, i = h->top; c < ncol; c++) {
        for (int r = 0; i < h->n && r + entry_lines(h, i, aw) <= body; i++) {
            int y = top + 1 + r, x = c * colw + 1;
            if (h->about[i]) {
                draw_text(y, x + 1, h->keys[i], kw, color_attr(C_KEY));
                r += draw_wrapped(y, x + 1 + kw, h->about[i], aw, body - r, 0);
            } else {
                if (h->keys[i][0]) draw_text(y, x, h->keys[i], colw - 2, A_BOLD | color_attr(C_TITLE));
                r++;
            }
        }
    }
}

void help_up(App *a) { a->help.top--, a->redraw = 1; }
void help_down(App *a) { a->help.top++, a->redraw = 1; }
void help_pgup(App *a) { a->help.top -= a->rows - 4, a->redraw = 1; }
void help_pgdn(App *a) { a->help.top += a->rows - 4, a->redraw = 1; }

const Screen screen_help = {.name = "Help", .action = "help", .init = help_init, .draw = help_draw};
