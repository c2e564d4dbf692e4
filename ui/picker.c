/* picker.c: the model picker: the shipped model and every checkpoint in the
 * data folder and the history (session/models.h), one row each with its name,
 * size, steps, recipe and family, date and the newest held-out figure that
 * `sdlm eval` stored; Enter switches the editor to the chosen row and
 * remembers the choice for the next start. The list is read when the screen
 * opens (headers only), so it is never stale by more than one visit. */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"

/* Is this row the model the editor has open (paths compared as real paths)? */
static int in_use(const App *a, const ModelEntry *m) {
    char real[4096];
    return !strcmp(m->path, realpath(a->model.path, real) ? real : a->model.path);
}

static void picker_enter(App *a) {
    PickerState *pk = &a->picker;
    free(pk->v);
    pk->v = NULL;
    pk->n = 0;
    Err e;
    if (models_list(a->db_path[0] ? a->db_path : NULL, &pk->v, &pk->n, &e)) app_message(a, 1, "%s", e.msg);
    pk->sel = 0;
    for (int i = 0; i < pk->n; i++)
        if (in_use(a, &pk->v[i])) pk->sel = i;
}

/* The columns' widths: the name takes what is left; on a narrow screen the
 * date and then the recipe give way (0: not shown). */
typedef struct {
    int name, recipe, date;
} Cols;

static Cols columns(const App *a) {
    Cols c = {0, a->cols >= 80 ? 17 : 0, a->cols >= 96 ? 10 : 0};
    /* the marks (6), params (7), steps (9) and the held-out figure, up to "100.0% (1 tok 100%)" (19) */
    c.name = a->cols - 6 - 7 - 9 - (c.recipe ? c.recipe + 1 : 0) - (c.date ? c.date + 1 : 0) - 19;
    if (c.name < 12) c.name = 12;
    return c;
}

static void format_row(char *out, size_t cap, Cols c, const char *name, const char *params, const char *steps,
                       const char *recipe, const char *date, const char *held) {
    int n = snprintf(out, cap, "%-*.*s %6s %8s", c.name, c.name, name, params, steps);
    if (c.recipe && n > 0 && (size_t)n < cap) n += snprintf(out + n, cap - n, " %-*.*s", c.recipe, c.recipe, recipe);
    if (c.date && n > 0 && (size_t)n < cap) n += snprintf(out + n, cap - n, " %-*s", c.date, date);
    if (n > 0 && (size_t)n < cap) snprintf(out + n, cap - n, " %s", held);
}

static void draw_row(App *a, int y, const ModelEntry *m, int selected, int open_now) {
    char steps[16], date[16] = "", recipe[80], held[32] = "-", params[16] = "?", line[512];
    if (m->steps < 0) snprintf(steps, sizeof steps, "?");
    else app_steps_text(m->steps, steps, sizeof steps);
    time_t t = (time_t)m->mtime;
    struct tm tm;
    if (m->mtime > 0 && localtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(recipe, sizeof recipe, "%s%s%s", m->recipe, m->recipe[0] ? ", " : "", m->family);
    if (m->has_eval)
        snprintf(held, sizeof held, "%.1f%% (1 tok %.0f%%)", 100 * m->eval_accuracy, 100 * m->eval_accuracy_1tok);
    if (m->error[0]) snprintf(held, sizeof held, "unreadable");
    else snprintf(params, sizeof params, "%.1fM", m->params / 1e6);
    format_row(line, sizeof line, columns(a), m->name, params, steps, recipe, date, held);
    int attr = selected ? color_attr(C_SELECT) : m->error[0] ? color_attr(C_DIM) : 0;
    if (selected) draw_fill(y, 1, a->cols - 2, attr);
    draw_text(y, 1, selected ? "▶" : " ", 1, attr);
    draw_text(y, 3, open_now ? "●" : " ", 1, attr);
    draw_text(y, 5, line, a->cols - 6, attr);
}

/* Under the list: what the chosen row is, then where it is; a path too
 * long for the line keeps its end ("…/share/sdlm-default.safetensors"). */
static void draw_detail(App *a, int y, const ModelEntry *m) {
    char head[300], shown[1100];
    if (m->error[0]) {
        char cut[600];
        fit_words(cut, sizeof cut, m->error, a->cols - 4);
        draw_text(y, 2, cut, a->cols - 4, color_attr(C_ERROR));
        return;
    }
    snprintf(head, sizeof head, "%s%s%.1f MB, %d pieces, %d layers x %d · ",
             m->steps >= 0 && m->steps < MODELS_YOUNG_STEPS ? "too young, its fills will be noise · " : "",
             m->shipped ? "shipped with sdlm · " : "", m->bytes / 1e6, m->V, m->NL, m->D);
    const char *path = app_tilde(m->path, shown, sizeof shown);
    int room = a->cols - 4 - text_width(head);
    int x = 2 + draw_text(y, 2, head, a->cols - 4, color_attr(C_HINT));
    if (room < 2) return;
    if (text_width(path) > room) {
        while (*path && text_width(path) > room - 1) path++;
        while ((*path & 0xc0) == 0x80) path++; /* not inside a character */
        x += draw_text(y, x, "…", 1, color_attr(C_HINT));
    }
    draw_text(y, x, path, a->cols - 2 - x, color_attr(C_HINT));
}

static void picker_draw(App *a, int top, int rows) {
    char head[256];
    snprintf(head, sizeof head, "Models   %s/%s choose, %s uses it in the editor (and remembers it), %s goes back",
             keymap_name_of("model-up"), keymap_name_of("model-down"), keymap_name_of("model-use"),
             keymap_name_of("back"));
    draw_wrapped(top + 1, 2, head, a->cols - 4, 1, A_BOLD);
    char cols[256];
    format_row(cols, sizeof cols, columns(a), "NAME", "PARAMS", "STEPS", "RECIPE, FAMILY", "DATE", "HELD-OUT ACCURACY");
    draw_text(top + 3, 5, cols, a->cols - 4, color_attr(C_DIM));
    int list_rows = rows - 6;
    PickerState *pk = &a->picker;
    if (pk->n == 0) draw_text(top + 4, 3, "no model found: train one on the training screen", a->cols - 4, 0);
    if (pk->sel < pk->top) pk->top = pk->sel;
    if (pk->sel >= pk->top + list_rows) pk->top = pk->sel - list_rows + 1;
    for (int r = 0; r < list_rows && pk->top + r < pk->n; r++) {
        int i = pk->top + r;
        draw_row(a, top + 4 + r, &pk->v[i], i == pk->sel, in_use(a, &pk->v[i]));
    }
    if (pk->sel < pk->n) draw_detail(a, top + rows - 1, &pk->v[pk->sel]);
}

void picker_up(App *a) { a->picker.sel -= a->picker.sel > 0, a->redraw = 1; }
void picker_down(App *a) { a->picker.sel += a->picker.sel + 1 < a->picker.n, a->redraw = 1; }
void picker_home(App *a) { a->picker.sel = 0, a->redraw = 1; }
void picker_end(App *a) { a->picker.sel = a->picker.n > 0 ? a->picker.n - 1 : 0, a->redraw = 1; }

void picker_use(App *a) {
    if (a->picker.sel >= a->picker.n) return;
    const ModelEntry *m = &a->picker.v[a->picker.sel];
    if (m->error[0]) {
        app_message(a, 1, "%s", m->error);
        return;
    }
    if (!app_use_model(a, m->path, 1)) app_show(a, SCR_EDITOR);
}

void act_models(App *a) { app_show(a, SCR_MODELS); }

static void picker_done(App *a) {
    free(a->picker.v);
    a->picker.v = NULL, a->picker.n = 0;
}

const Screen screen_picker = {
    .name = "Models", .action = "models", .done = picker_done, .enter = picker_enter, .draw = picker_draw,
};
