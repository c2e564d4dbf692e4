/* editor.c: the editor screen: the text with its spans, laid out and drawn
 * from the Doc each frame, the live infill drawn into the spans in place,
 * each token coloured by its confidence; motions, edits and the mouse.
 *
 * A span's fill is shown while the text has as many spans, of the same
 * sizes, as the run had; editing text around the spans keeps it. Not here:
 * the text model itself (doc.c), running the infill (editor_run.c) and the
 * keys' table (keymap.c). */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "app.h"
#include "editor.h"

static int conf_role(float c) { return c < 0.34f ? C_LOW : c < 0.67f ? C_MID : C_HIGH; }

/* Whether the span at cell i starts a line or follows a blank: then its first piece's space is not drawn
 * (the piece carries the space a word has inside a line; infill.c). */
int editor_span_after_blank(const Doc *d, int i) {
    return i == 0 || d->cells[i - 1].cp == ' ' || d->cells[i - 1].cp == '\t' || d->cells[i - 1].cp == '\n';
}

/* The pieces span k is drawn as; returns its width in columns. */
static int span_segments(App *a, int k, int slots, int after_blank, Seg *seg, int *nseg, char *numbuf) {
    EditorState *ed = &a->editor;
    int n = 0, w = 0, span = color_attr(C_SPAN);
    seg[n++] = (Seg){"[", span};
    w++;
    if (ed->fill_ok) {
        const int32_t *ids = editor_fill_ids(a);
        const float *cf = editor_fill_conf(a);
        for (int j = 0; j < ed->span_len[k] && n < SEGS - 2; j++) {
            int i = ed->span_start[k] + j;
            const char *p = a->view->masked[i] ? app_piece(a, ids[i]) : "";
            int hidden = a->view->masked[i] && cf[i] < 0; /* a masked model's slot not yet revealed */
            if (hidden) p = HIDDEN_SLOT;
            if (after_blank && *p == ' ') p++;
            if (!*p) continue;
            after_blank = 0;
            seg[n++] = (Seg){p, color_attr(hidden ? C_SPAN : conf_role(cf[i]))};
            w += text_width(p);
        }
        seg[n++] = (Seg){"]", span};
        w++;
    } else {
        static const char under[] = "________________";
        int u = slots < 16 ? slots : 16;
        seg[n++] = (Seg){under + 16 - u, span};
        snprintf(numbuf, 16, " %d]", slots);
        seg[n++] = (Seg){numbuf, span};
        w += u + (int)strlen(numbuf);
    }
    *nseg = n;
    return w;
}

/* ---- layout ---- */

static int cell_width(const Cell *c) {
    if (c->cp >= 0x20 && c->cp < 0x7f) return 1; /* most text: no wcwidth call (half of a layout's time) */
    int w = wcwidth((wchar_t)c->cp);
    return w < 0 ? 1 : w;
}

/* Lays the whole text out: O(text), so it runs once a frame (editor_draw)
 * and before what needs rows (vertical motions, the mouse), never once a key. */
void editor_layout(App *a) {
    EditorState *ed = &a->editor;
    Doc *d = &a->doc;
    a->layouts++;
    if (ed->cap < d->n + 1) {
        int cap = (d->n + 1) * 2;
        int *r = realloc(ed->row, sizeof(int) * cap), *c = r ? realloc(ed->col, sizeof(int) * cap) : NULL;
        if (r) ed->row = r;
        if (c) ed->col = c;
        int *w = c ? realloc(ed->wid, sizeof(int) * cap) : NULL;
        if (!w) return;
        ed->wid = w, ed->cap = cap;
    }
    editor_fill_check(a);
    int W = a->cols - 2 > 10 ? a->cols - 2 : 10, row = 0, col = 0, k = 0;
    ed->width = W;
    for (int i = 0; i < d->n; i++) {
        const Cell *c = &d->cells[i];
        int w;
        if (c->slots) {
            Seg seg[SEGS];
            int ns;
            char nb[16];
            w = span_segments(a, k++, c->slots, editor_span_after_blank(d, i), seg, &ns, nb);
        } else if (c->cp == '\n') {
            ed->row[i] = row, ed->col[i] = col, ed->wid[i] = 1;
            row++, col = 0;
            continue;
        } else {
            w = cell_width(c);
            /* a word that does not fit moves to the next line whole (unless it fills a line alone) */
            if (c->cp != ' ' && (i == 0 || d->cells[i - 1].cp == ' ' || d->cells[i - 1].slots) && col > 0) {
                int ww = 0;
                for (int j = i; j < d->n && ww <= W; j++) {
                    const Cell *cj = &d->cells[j];
                    if (cj->slots || cj->cp == ' ' || cj->cp == '\n') break;
                    ww += cell_width(cj);
                }
                if (col + ww > W && ww <= W) row++, col = 0;
            }
        }
        if (col + w > W && col > 0) row++, col = 0;
        ed->row[i] = row, ed->col[i] = col, ed->wid[i] = w;
        col += w;
    }
    ed->row[d->n] = row, ed->col[d->n] = col, ed->wid[d->n] = 1;
    ed->nrows = row + 1;
    if (ed->want_col < 0) ed->want_col = ed->col[d->cur]; /* the cursor moved across: its column now */
}

/* The cell index nearest to (row, col) of the layout. */
static int hit(App *a, int row, int col) {
    EditorState *ed = &a->editor;
    const Doc *d = &a->doc;
    if (row < 0) return 0;
    if (row > ed->row[d->n]) return d->n;
    int best = -1, first = -1;
    for (int i = 0; i <= d->n; i++) {
        if (ed->row[i] != row) {
            if (ed->row[i] > row) break;
            continue;
        }
        if (first < 0) first = i;
        if (ed->col[i] <= col) best = i;
    }
    if (best < 0) return first >= 0 ? first : d->n;
    int is_nl = best < d->n && d->cells[best].cp == '\n' && !d->cells[best].slots;
    if (best < d->n && !is_nl && col >= ed->col[best] + (ed->wid[best] + 1) / 2) {
        if (best + 1 <= d->n && (ed->row[best + 1] == row || best + 1 == d->n)) best++;
    }
    return best;
}

static void scroll_to_cursor(App *a) {
    EditorState *ed = &a->editor;
    int r = ed->row[a->doc.cur];
    if (r < ed->top) ed->top = r;
    if (ed->text_rows > 0 && r >= ed->top + ed->text_rows) ed->top = r - ed->text_rows + 1;
    if (ed->top < 0) ed->top = 0;
}

/* ---- drawing ---- */

static void draw_hints(App *a, int y) {
    static const char *const acts[][3] = {
        {"span", NULL, "span"},          {"span-grow", "span-shrink", "size"}, {"infill-run", NULL, "fill"},
        {"infill-stop", NULL, "stop"},   {"settings", NULL, "settings"},        {"history", NULL, "history"},
        {"training", NULL, "train"},     {"models", NULL, "models"},            {"help", NULL, "help"},
        {"quit", NULL, "quit"}};
    int x = 1;
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
        char keys[48];
        if (acts[i][1]) snprintf(keys, sizeof keys, "%s/%s", keymap_name_of(acts[i][0]), keymap_name_of(acts[i][1]));
        else snprintf(keys, sizeof keys, "%s", keymap_name_of(acts[i][0]));
        if (x + text_width(keys) + 1 + text_width(acts[i][2]) > a->cols - 1) break; /* whole hints only */
        x += draw_text(y, x, keys, a->cols - x - 1, color_attr(C_KEY));
        x += draw_text(y, x, " ", 1, 0);
        x += draw_text(y, x, acts[i][2], a->cols - x - 1, 0);
        x += draw_text(y, x, "  ", 2, 0);
    }
}

/* What to do first: on an empty text, and when no model is loaded. */
static void draw_intro(App *a, int top, int rows) {
    char line[800];
    if (!a->model.loaded) {
        snprintf(line, sizeof line, "No model: %.500s", a->model.error);
        draw_text(top + rows - 4, 1, line, a->cols - 2, color_attr(C_ERROR));
        snprintf(line, sizeof line,
                 "%s opens the training screen: train one on your text, then %s there loads it here.",
                 keymap_name_of("training"), keymap_name_of("train-load"));
        draw_text(top + rows - 3, 1, line, a->cols - 2, color_attr(C_HINT));
    }
    if (a->doc.n) return;
    const char *span = keymap_name_of("span");
    snprintf(line, sizeof line, "Type a sentence. Select words (%s/%s or drag) and press %s to mask them,",
             keymap_name_of("select-left"), keymap_name_of("select-right"), span);
    draw_text(top + 1, 1, line, a->cols - 2, color_attr(C_DIM));
    snprintf(line, sizeof line, "or press %s for an empty gap; then %s fills the gaps while you watch.", span,
             keymap_name_of("infill-run"));
    draw_text(top + 2, 1, line, a->cols - 2, color_attr(C_DIM));
}

static void editor_draw(App *a, int top, int rows) {
    EditorState *ed = &a->editor;
    ed->text_rows = rows - 3;
    editor_layout(a);
    scroll_to_cursor(a);
    Doc *d = &a->doc;
    if (ed->has_run && a->view->step != ed->last_drawn_step) ed->drawn++, ed->last_drawn_step = a->view->step;
    int sa = 0, sb = 0, sel = doc_selection(d, &sa, &sb);
    int cur_span = doc_span_at_cursor(d);
    int k = 0, cy = -1, cx = 0;
    draw_intro(a, top, rows);
    for (int i = 0; i <= d->n; i++) {
        int r = ed->row[i] - ed->top;
        int y = top + 1 + r, x = 1 + ed->col[i];
        if (i == d->cur) cy = y, cx = x;
        if (i == d->n) break;
        const Cell *c = &d->cells[i];
        int span_k = c->slots ? k++ : -1;
        if (r < 0 || r >= ed->text_rows) continue;
        int selected = sel && i >= sa && i < sb;
        if (c->slots) {
            Seg seg[SEGS];
            int ns;
            char nb[16];
            span_segments(a, span_k, c->slots, editor_span_after_blank(d, i), seg, &ns, nb);
            int extra = selected ? color_attr(C_SELECT) : i == cur_span ? (int)A_REVERSE : 0;
            int xx = x;
            for (int s = 0; s < ns && xx < a->cols - 1; s++)
                xx += draw_text(y, xx, seg[s].text, a->cols - 1 - xx, seg[s].attr | extra);
        } else if (c->cp != '\n') {
            char buf[8];
            buf[utf8_encode(c->cp, buf)] = 0;
            draw_text(y, x, buf, a->cols - 1 - x, selected ? color_attr(C_SELECT) : 0);
        } else if (selected) {
            draw_text(y, x, " ", 1, color_attr(C_SELECT));
        }
    }
    if (ed->top > 0) draw_text(top, a->cols - 3, "▲", 1, color_attr(C_DIM));
    if (ed->nrows - ed->top > ed->text_rows) draw_text(top + ed->text_rows, a->cols - 3, "▼", 1, color_attr(C_DIM));
    editor_draw_progress(a, top + rows - 2);
    draw_hints(a, top + rows - 1);
    if (cy >= top + 1 && cy < top + 1 + ed->text_rows && cx < a->cols) {
        move(cy, cx);
        curs_set(1);
    }
}

/* ---- actions ---- */

void editor_moved(App *a, int to, int extend, int keep_col) {
    EditorState *ed = &a->editor;
    doc_move(&a->doc, to, extend);
    if (!keep_col) ed->want_col = -1; /* taken at the next layout */
    a->redraw = 1;
}

void editor_edited(App *a) {
    a->editor.want_col = -1;
    a->redraw = 1;
}

void editor_paste(App *a, const char *text, size_t len) {
    doc_insert_utf8(&a->doc, text, len);
    editor_edited(a);
}

static int vertical(App *a, int drow) {
    EditorState *ed = &a->editor;
    editor_layout(a);
    int r = ed->row[a->doc.cur] + drow;
    if (r < 0) return 0;
    if (r > ed->row[a->doc.n]) return a->doc.n;
    return hit(a, r, ed->want_col);
}

void ed_left(App *a) {
    int a0, b0;
    if (doc_selection(&a->doc, &a0, &b0)) editor_moved(a, a0, 0, 0);
    else editor_moved(a, a->doc.cur - 1, 0, 0);
}
void ed_right(App *a) {
    int a0, b0;
    if (doc_selection(&a->doc, &a0, &b0)) editor_moved(a, b0, 0, 0);
    else editor_moved(a, a->doc.cur + 1, 0, 0);
}
void ed_up(App *a) { editor_moved(a, vertical(a, -1), 0, 1); }
void ed_down(App *a) { editor_moved(a, vertical(a, 1), 0, 1); }
static int page_rows(const App *a) { return a->editor.text_rows > 2 ? a->editor.text_rows - 1 : 1; }
void ed_pgup(App *a) { editor_moved(a, vertical(a, -page_rows(a)), 0, 1); }
void ed_pgdn(App *a) { editor_moved(a, vertical(a, page_rows(a)), 0, 1); }
void ed_home(App *a) { editor_moved(a, doc_line_start(&a->doc, a->doc.cur), 0, 0); }
void ed_end(App *a) { editor_moved(a, doc_line_end(&a->doc, a->doc.cur), 0, 0); }
void ed_sleft(App *a) { editor_moved(a, a->doc.cur - 1, 1, 0); }
void ed_sright(App *a) { editor_moved(a, a->doc.cur + 1, 1, 0); }
void ed_sup(App *a) { editor_moved(a, vertical(a, -1), 1, 1); }
void ed_sdown(App *a) { editor_moved(a, vertical(a, 1), 1, 1); }
void ed_shome(App *a) { editor_moved(a, doc_line_start(&a->doc, a->doc.cur), 1, 0); }
void ed_send(App *a) { editor_moved(a, doc_line_end(&a->doc, a->doc.cur), 1, 0); }
void ed_word_left(App *a) { editor_moved(a, doc_word_left(&a->doc), 0, 0); }
void ed_word_right(App *a) { editor_moved(a, doc_word_right(&a->doc), 0, 0); }
void ed_doc_start(App *a) { editor_moved(a, 0, 0, 0); }
void ed_doc_end(App *a) { editor_moved(a, a->doc.n, 0, 0); }
void ed_select_all(App *a) {
    doc_move(&a->doc, 0, 0);
    doc_move(&a->doc, a->doc.n, 1);
    editor_edited(a);
}

void ed_newline(App *a) {
    doc_insert(&a->doc, '\n');
    editor_edited(a);
}
void ed_backspace(App *a) {
    doc_backspace(&a->doc);
    editor_edited(a);
}
void ed_delete(App *a) {
    doc_delete(&a->doc);
    editor_edited(a);
}
void ed_undo(App *a) {
    if (doc_undo(&a->doc)) app_message(a, 0, "nothing to undo");
    editor_edited(a);
}
void ed_redo(App *a) {
    if (doc_redo(&a->doc)) app_message(a, 0, "nothing to redo");
    editor_edited(a);
}
void ed_clear(App *a) {
    if (!doc_clear(&a->doc)) app_message(a, 0, "text cleared (%s brings it back)", keymap_name_of("undo"));
    editor_edited(a);
}

/* A selection becomes a span of as many slots as its text has tokens. */
void ed_span(App *a) {
    int s0, s1, slots = a->conf.span_slots;
    if (doc_selection(&a->doc, &s0, &s1)) {
        char text[8192];
        doc_text(&a->doc, s0, s1, text, sizeof text);
        int32_t ids[INFILL_MAX_LEN];
        Err e;
        int n = a->model.loaded ? session_encode(a->s, text, ids, INFILL_MAX_LEN, &e) : -1;
        slots = n > 0 ? n : (int)(text_width(text) + 3) / 4;
        if (slots < 1) slots = 1;
    }
    doc_span_make(&a->doc, slots);
    app_message(a, 0, "a span of %d slot%s: %s / %s change its size, %s fills", slots, slots == 1 ? "" : "s",
                keymap_name_of("span-grow"), keymap_name_of("span-shrink"), keymap_name_of("infill-run"));
    editor_edited(a);
}

static void resize_span(App *a, int delta) {
    int c = doc_span_at_cursor(&a->doc);
    if (c < 0) {
        app_message(a, 0, "no span at the cursor");
        return;
    }
    if (!doc_span_resize(&a->doc, c, delta))
        app_message(a, 0, "a span of %d slot%s", a->doc.cells[c].slots, a->doc.cells[c].slots == 1 ? "" : "s");
    editor_edited(a);
}
void ed_span_grow(App *a) { resize_span(a, 1); }
void ed_span_shrink(App *a) { resize_span(a, -1); }
void ed_span_remove(App *a) {
    int c = doc_span_at_cursor(&a->doc);
    if (c < 0) app_message(a, 0, "no span at the cursor");
    else doc_span_remove(&a->doc, c);
    editor_edited(a);
}

/* typing */
static int editor_key(App *a, int key) {
    if (key == K_TAB) key = ' ';
    if (key >= 0x20 && key < K_FN && key != 0x7f) {
        doc_insert(&a->doc, (uint32_t)key);
        editor_edited(a);
        return 1;
    }
    return 0;
}

void editor_mouse(App *a, int y, int x, int press, int drag, int release, int wheel) {
    EditorState *ed = &a->editor;
    editor_layout(a);
    if (wheel) {
        ed->top += 3 * wheel;
        if (ed->top > ed->nrows - 1) ed->top = ed->nrows - 1;
        if (ed->top < 0) ed->top = 0;
        int r = ed->row[a->doc.cur];
        if (r < ed->top) editor_moved(a, hit(a, ed->top, ed->want_col), 0, 1);
        else if (r >= ed->top + ed->text_rows) editor_moved(a, hit(a, ed->top + ed->text_rows - 1, ed->want_col), 0, 1);
        return;
    }
    int row = y - 2 + ed->top, col = x - 1; /* text starts at screen row 2 (title, blank) and column 1 */
    if (y - 2 >= ed->text_rows && !ed->dragging) return;
    int at = hit(a, row, col);
    if (press) {
        editor_moved(a, at, 0, 0);
        ed->dragging = 1;
    } else if ((drag || release) && ed->dragging) {
        editor_moved(a, at, 1, 0);
        if (release) ed->dragging = 0;
    }
}

void editor_load_template(App *a, const char *tmpl) {
    EditorState *ed = &a->editor;
    Err e;
    if (doc_load_template(&a->doc, tmpl, &e)) {
        app_message(a, 1, "cannot load the template: %s", e.msg);
        return;
    }
    ed->has_run = 0;
    editor_traj_drop(ed);
    a->doc_saved_version = a->doc.version;
    app_show(a, SCR_EDITOR);
    app_message(a, 0, "template loaded: %s fills it", keymap_name_of("infill-run"));
    editor_edited(a);
}

void editor_after_model_change(App *a) {
    EditorState *ed = &a->editor;
    ed->has_run = 0;
    editor_traj_drop(ed);
    a->redraw = 1;
}

static void editor_init(App *a) { a->editor.pos = -1; }

static void editor_done(App *a) {
    EditorState *ed = &a->editor;
    editor_traj_drop(ed);
    free(ed->run_text), free(ed->row), free(ed->col), free(ed->wid);
    memset(ed, 0, sizeof *ed);
}

const Screen screen_editor = {
    .name = "Editor", .action = "editor", .init = editor_init, .done = editor_done,
    .draw = editor_draw, .key = editor_key, .tick = editor_tick,
};
