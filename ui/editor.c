/* editor.c: the editor screen: the text with its spans, laid out and drawn
 * from the Doc each frame; the live infill drawn into the spans in place,
 * each token coloured by its confidence; candidates, accepting, re-rolling
 * and the trajectory scrubber.
 *
 * A span's fill is shown while the text has as many spans, of the same
 * sizes, as the run had; editing text around the spans keeps it. Not here:
 * the text model itself (doc.c) and the keys' table (keymap.c). */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "app.h"

enum { SEGS = 300, MAX_SPANS = 512 };

typedef struct {
    const char *text;
    int attr;
} Seg;

static struct {
    int top;           /* first text row shown */
    int want_col;      /* column kept by Up/Down */
    int cand;          /* candidate shown */
    int has_run;       /* the view belongs to a run started from this text */
    int was_active;
    int dragging;
    /* scrubber: the shown candidate's trajectory, pos -1 = live view */
    int32_t *traj_ids;
    float *traj_conf, *traj_t;
    int passes, pos;
    /* layout of the last frame: cells 0..n */
    int *row, *col, *wid;
    int cap, nrows, width, text_rows;
    int span_start[MAX_SPANS], span_len[MAX_SPANS];
    int fill_ok;
    /* the last run's pace, for the log: steps drawn while it ran */
    double run_start;
    int drawn, last_drawn_step;
} E;

/* ---- which tokens fill the spans ---- */

static void traj_drop(void) {
    free(E.traj_ids), free(E.traj_conf), free(E.traj_t);
    E.traj_ids = NULL, E.traj_conf = NULL, E.traj_t = NULL;
    E.passes = 0, E.pos = -1;
}

/* Does the view's run match the text's spans? Fills span_start/len. */
static int fill_check(App *a) {
    const InfillView *v = a->view;
    E.fill_ok = 0;
    if (!E.has_run || v->len <= 0 || v->nspans <= 0 || v->nspans > MAX_SPANS) return 0;
    if (v->nspans != doc_span_count(&a->doc)) return 0;
    for (int k = 0; k < v->nspans; k++) E.span_start[k] = -1, E.span_len[k] = 0;
    for (int i = 0; i < v->len; i++) {
        int k = v->span_of[i];
        if (k < 0 || k >= v->nspans) continue;
        if (E.span_start[k] < 0) E.span_start[k] = i;
        E.span_len[k]++;
    }
    for (int k = 0; k < v->nspans; k++)
        if (E.span_len[k] != doc_span_slots(&a->doc, k)) return 0;
    if (E.cand >= v->candidates) E.cand = 0;
    return E.fill_ok = 1;
}

static const int32_t *fill_ids(App *a) {
    if (E.pos >= 0 && E.traj_ids) return E.traj_ids + (long)E.pos * a->view->len;
    return a->view->ids[E.cand];
}

static const float *fill_conf(App *a) {
    if (E.pos >= 0 && E.traj_conf) return E.traj_conf + (long)E.pos * a->view->len;
    return a->view->conf[E.cand];
}

static int conf_role(float c) { return c < 0.34f ? C_LOW : c < 0.67f ? C_MID : C_HIGH; }

/* The pieces span k is drawn as; returns its width in columns. */
static int span_segments(App *a, int k, int slots, Seg *seg, int *nseg, char *numbuf) {
    int n = 0, w = 0, span = color_attr(C_SPAN);
    seg[n++] = (Seg){"[", span};
    w++;
    if (E.fill_ok) {
        const int32_t *ids = fill_ids(a);
        const float *cf = fill_conf(a);
        for (int j = 0; j < E.span_len[k] && n < SEGS - 2; j++) {
            int i = E.span_start[k] + j;
            const char *p = a->view->masked[i] ? app_piece(a, ids[i]) : "";
            if (!*p) continue;
            seg[n++] = (Seg){p, color_attr(conf_role(cf[i]))};
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
    int w = wcwidth((wchar_t)c->cp);
    return w < 0 ? 1 : w;
}

static void layout(App *a) {
    Doc *d = &a->doc;
    if (E.cap < d->n + 1) {
        int cap = (d->n + 1) * 2;
        int *r = realloc(E.row, sizeof(int) * cap), *c = r ? realloc(E.col, sizeof(int) * cap) : NULL;
        if (r) E.row = r;
        if (c) E.col = c;
        int *w = c ? realloc(E.wid, sizeof(int) * cap) : NULL;
        if (!w) return;
        E.wid = w, E.cap = cap;
    }
    fill_check(a);
    int W = a->cols - 2 > 10 ? a->cols - 2 : 10, row = 0, col = 0, k = 0;
    E.width = W;
    for (int i = 0; i < d->n; i++) {
        const Cell *c = &d->cells[i];
        int w;
        if (c->slots) {
            Seg seg[SEGS];
            int ns;
            char nb[16];
            w = span_segments(a, k++, c->slots, seg, &ns, nb);
        } else if (c->cp == '\n') {
            E.row[i] = row, E.col[i] = col, E.wid[i] = 1;
            row++, col = 0;
            continue;
        } else {
            w = cell_width(c);
            /* a word that does not fit moves to the next line whole (unless it fills a line alone) */
            if (c->cp != ' ' && (i == 0 || d->cells[i - 1].cp == ' ' || d->cells[i - 1].slots) && col > 0) {
                int ww = 0;
                for (int j = i; j < d->n && !d->cells[j].slots && d->cells[j].cp != ' ' && d->cells[j].cp != '\n' && ww <= W; j++)
                    ww += cell_width(&d->cells[j]);
                if (col + ww > W && ww <= W) row++, col = 0;
            }
        }
        if (col + w > W && col > 0) row++, col = 0;
        E.row[i] = row, E.col[i] = col, E.wid[i] = w;
        col += w;
    }
    E.row[d->n] = row, E.col[d->n] = col, E.wid[d->n] = 1;
    E.nrows = row + 1;
}

/* The cell index nearest to (row, col) of the layout. */
static int hit(App *a, int row, int col) {
    const Doc *d = &a->doc;
    if (row < 0) return 0;
    if (row > E.row[d->n]) return d->n;
    int best = -1, first = -1;
    for (int i = 0; i <= d->n; i++) {
        if (E.row[i] != row) {
            if (E.row[i] > row) break;
            continue;
        }
        if (first < 0) first = i;
        if (E.col[i] <= col) best = i;
    }
    if (best < 0) return first >= 0 ? first : d->n;
    int is_nl = best < d->n && d->cells[best].cp == '\n' && !d->cells[best].slots;
    if (best < d->n && !is_nl && col >= E.col[best] + (E.wid[best] + 1) / 2) {
        if (best + 1 <= d->n && (E.row[best + 1] == row || best + 1 == d->n)) best++;
    }
    return best;
}

static void scroll_to_cursor(App *a) {
    int r = E.row[a->doc.cur];
    if (r < E.top) E.top = r;
    if (E.text_rows > 0 && r >= E.top + E.text_rows) E.top = r - E.text_rows + 1;
    if (E.top < 0) E.top = 0;
}

/* ---- drawing ---- */

static void draw_progress(App *a, int y) {
    const InfillView *v = a->view;
    char line[512];
    int attr = color_attr(C_HINT);
    if (v->error[0] && E.has_run) {
        snprintf(line, sizeof line, "infill failed: %.480s", v->error);
        attr = color_attr(C_ERROR);
    } else if (E.has_run && v->active) {
        int bw = 20, filled = v->total ? v->step * bw / v->total : 0;
        char bar[128] = "";
        for (int i = 0; i < bw; i++) strcat(bar, i < filled ? "█" : "·");
        snprintf(line, sizeof line, "▶ step %d/%d  t=%.3f  %s  %.1f ms/step  %s  %s stops   seed %llu", v->step, v->total,
                 (double)v->t, sampler_name(v->sampler), v->ms_per_step, bar, keymap_name_of("infill-stop"),
                 (unsigned long long)v->seed);
        attr = color_attr(C_KEY);
    } else if (E.has_run && E.pos >= 0 && E.passes > 0) {
        snprintf(line, sizeof line, "⟲ trajectory step %d/%d  t=%.3f  candidate %d/%d  │ %s/%s step  %s/%s first/last  %s live",
                 E.pos + 1, E.passes, (double)E.traj_t[E.pos], E.cand + 1, v->candidates, keymap_name_of("scrub-back"),
                 keymap_name_of("scrub-forward"), keymap_name_of("scrub-start"), keymap_name_of("scrub-end"),
                 keymap_name_of("infill-stop"));
    } else if (E.has_run && (v->finished || v->stopped) && E.fill_ok) {
        snprintf(line, sizeof line, "%s %d/%d · %.1f ms/step · candidate %d/%d │ %s accept  %s/%s candidates  %s re-roll  %s/%s scrub",
                 v->finished ? "✓ filled" : "■ stopped", v->step, v->total, v->ms_per_step, E.cand + 1, v->candidates,
                 keymap_name_of("accept"), keymap_name_of("candidate-next"), keymap_name_of("candidate-prev"),
                 keymap_name_of("reroll"), keymap_name_of("scrub-back"), keymap_name_of("scrub-forward"));
        attr = v->finished ? color_attr(C_HIGH) & ~(int)A_UNDERLINE : color_attr(C_MID) & ~(int)A_UNDERLINE;
    } else {
        int spans = doc_span_count(&a->doc), slots = 0;
        for (int k = 0; k < spans; k++) slots += doc_span_slots(&a->doc, k);
        const InfillSettings *s = &a->conf.set;
        snprintf(line, sizeof line, "%d span%s, %d slots  │ %s, %d steps, seed %s, %d candidate%s, clamp %s (%s)", spans,
                 spans == 1 ? "" : "s", slots, sampler_name(s->sampler), s->steps, s->random_seed ? "random" : "fixed",
                 s->candidates, s->candidates == 1 ? "" : "s", s->clamp ? "on" : "off", keymap_name_of("settings"));
    }
    draw_fill(y, 0, a->cols, 0);
    draw_text(y, 1, line, a->cols - 2, attr);
}

static void draw_hints(App *a, int y) {
    static const char *const acts[][3] = {
        {"span", NULL, "span"},          {"span-grow", "span-shrink", "size"}, {"infill-run", NULL, "fill"},
        {"infill-stop", NULL, "stop"},   {"settings", NULL, "settings"},        {"history", NULL, "history"},
        {"training", NULL, "train"},     {"help", NULL, "help"},                {"quit", NULL, "quit"}};
    int x = 1;
    for (size_t i = 0; i < sizeof acts / sizeof *acts && x < a->cols - 2; i++) {
        char keys[48];
        if (acts[i][1]) snprintf(keys, sizeof keys, "%s/%s", keymap_name_of(acts[i][0]), keymap_name_of(acts[i][1]));
        else snprintf(keys, sizeof keys, "%s", keymap_name_of(acts[i][0]));
        x += draw_text(y, x, keys, a->cols - x - 1, color_attr(C_KEY));
        x += draw_text(y, x, " ", 1, 0);
        x += draw_text(y, x, acts[i][2], a->cols - x - 1, 0);
        x += draw_text(y, x, "  ", 2, 0);
    }
}

static void editor_draw(App *a, int top, int rows) {
    E.text_rows = rows - 3;
    layout(a);
    scroll_to_cursor(a);
    Doc *d = &a->doc;
    if (E.has_run && a->view->step != E.last_drawn_step) E.drawn++, E.last_drawn_step = a->view->step;
    int sa = 0, sb = 0, sel = doc_selection(d, &sa, &sb);
    int cur_span = doc_span_at_cursor(d);
    int k = 0, cy = -1, cx = 0;
    if (!a->model.loaded) {
        char line[800];
        snprintf(line, sizeof line, "No model: %.500s", a->model.error);
        draw_text(top + rows - 4, 1, line, a->cols - 2, color_attr(C_ERROR));
        snprintf(line, sizeof line, "%s opens the training screen: train one on your text, then %s there loads it here.",
                 keymap_name_of("training"), keymap_name_of("train-load"));
        draw_text(top + rows - 3, 1, line, a->cols - 2, color_attr(C_HINT));
    }
    if (!d->n) {
        draw_text(top + 1, 1, "Type a sentence. Select words (Shift-arrows or drag) and press Ctrl-T to mask them,",
                  a->cols - 2, color_attr(C_DIM));
        draw_text(top + 2, 1, "or press Ctrl-T for an empty gap; then Ctrl-R fills the gaps while you watch.", a->cols - 2,
                  color_attr(C_DIM));
    }
    for (int i = 0; i <= d->n; i++) {
        int r = E.row[i] - E.top;
        int y = top + 1 + r, x = 1 + E.col[i];
        if (i == d->cur) cy = y, cx = x;
        if (i == d->n) break;
        const Cell *c = &d->cells[i];
        int span_k = c->slots ? k++ : -1;
        if (r < 0 || r >= E.text_rows) continue;
        int selected = sel && i >= sa && i < sb;
        if (c->slots) {
            Seg seg[SEGS];
            int ns;
            char nb[16];
            span_segments(a, span_k, c->slots, seg, &ns, nb);
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
    if (E.top > 0) draw_text(top, a->cols - 3, "▲", 1, color_attr(C_DIM));
    if (E.nrows - E.top > E.text_rows) draw_text(top + E.text_rows, a->cols - 3, "▼", 1, color_attr(C_DIM));
    draw_progress(a, top + rows - 2);
    draw_hints(a, top + rows - 1);
    if (cy >= top + 1 && cy < top + 1 + E.text_rows && cx < a->cols) {
        move(cy, cx);
        curs_set(1);
    }
}

/* ---- ticks: a run ending ---- */

static int editor_tick(App *a) {
    const InfillView *v = a->view;
    if (E.was_active && !v->active && E.has_run) {
        if (v->error[0]) app_message(a, 1, "infill: %s", v->error);
        else if (v->finished)
            app_message(a, 0, "filled%s: %d steps, %.1f ms/step, seed %llu",
                        v->sample_id[0] || v->sample_id[E.cand] ? ", saved in the history" : "", v->total, v->ms_per_step,
                        (unsigned long long)v->seed);
        else if (v->stopped) app_message(a, 0, "stopped at step %d/%d", v->step, v->total);
        double s = app_now() - E.run_start;
        fprintf(stderr, "infill pace: %d steps in %.3f s (%.1f steps/s), %d of them drawn (%.1f redrawn steps/s), %d tokens\n",
                v->step, s, v->step / s, E.drawn, E.drawn / s, v->len);
        a->redraw = 1;
    }
    E.was_active = v->active;
    return 0;
}

/* ---- actions ---- */

static void moved(App *a, int to, int extend, int keep_col) {
    doc_move(&a->doc, to, extend);
    layout(a);
    if (!keep_col) E.want_col = E.col[a->doc.cur];
    a->redraw = 1;
}

static void edited(App *a) {
    layout(a);
    E.want_col = E.col[a->doc.cur];
    a->redraw = 1;
}

static int vertical(App *a, int drow) {
    layout(a);
    int r = E.row[a->doc.cur] + drow;
    if (r < 0) return 0;
    if (r > E.row[a->doc.n]) return a->doc.n;
    return hit(a, r, E.want_col);
}

void ed_left(App *a) {
    int a0, b0;
    if (doc_selection(&a->doc, &a0, &b0)) moved(a, a0, 0, 0);
    else moved(a, a->doc.cur - 1, 0, 0);
}
void ed_right(App *a) {
    int a0, b0;
    if (doc_selection(&a->doc, &a0, &b0)) moved(a, b0, 0, 0);
    else moved(a, a->doc.cur + 1, 0, 0);
}
void ed_up(App *a) { moved(a, vertical(a, -1), 0, 1); }
void ed_down(App *a) { moved(a, vertical(a, 1), 0, 1); }
void ed_pgup(App *a) { moved(a, vertical(a, -(E.text_rows > 2 ? E.text_rows - 1 : 1)), 0, 1); }
void ed_pgdn(App *a) { moved(a, vertical(a, E.text_rows > 2 ? E.text_rows - 1 : 1), 0, 1); }
void ed_home(App *a) { moved(a, doc_line_start(&a->doc, a->doc.cur), 0, 0); }
void ed_end(App *a) { moved(a, doc_line_end(&a->doc, a->doc.cur), 0, 0); }
void ed_sleft(App *a) { moved(a, a->doc.cur - 1, 1, 0); }
void ed_sright(App *a) { moved(a, a->doc.cur + 1, 1, 0); }
void ed_sup(App *a) { moved(a, vertical(a, -1), 1, 1); }
void ed_sdown(App *a) { moved(a, vertical(a, 1), 1, 1); }
void ed_shome(App *a) { moved(a, doc_line_start(&a->doc, a->doc.cur), 1, 0); }
void ed_send(App *a) { moved(a, doc_line_end(&a->doc, a->doc.cur), 1, 0); }
void ed_word_left(App *a) { moved(a, doc_word_left(&a->doc), 0, 0); }
void ed_word_right(App *a) { moved(a, doc_word_right(&a->doc), 0, 0); }
void ed_doc_start(App *a) { moved(a, 0, 0, 0); }
void ed_doc_end(App *a) { moved(a, a->doc.n, 0, 0); }
void ed_select_all(App *a) {
    doc_move(&a->doc, 0, 0);
    doc_move(&a->doc, a->doc.n, 1);
    edited(a);
}

void ed_newline(App *a) {
    doc_insert(&a->doc, '\n');
    edited(a);
}
void ed_backspace(App *a) {
    doc_backspace(&a->doc);
    edited(a);
}
void ed_delete(App *a) {
    doc_delete(&a->doc);
    edited(a);
}
void ed_undo(App *a) {
    if (doc_undo(&a->doc)) app_message(a, 0, "nothing to undo");
    edited(a);
}
void ed_redo(App *a) {
    if (doc_redo(&a->doc)) app_message(a, 0, "nothing to redo");
    edited(a);
}
void ed_clear(App *a) {
    if (!doc_clear(&a->doc)) app_message(a, 0, "text cleared (%s brings it back)", keymap_name_of("undo"));
    edited(a);
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
    app_message(a, 0, "span of %d slots: %s / %s change its size, %s fills", slots, keymap_name_of("span-grow"),
                keymap_name_of("span-shrink"), keymap_name_of("infill-run"));
    edited(a);
}

static void resize_span(App *a, int delta) {
    int c = doc_span_at_cursor(&a->doc);
    if (c < 0) {
        app_message(a, 0, "no span at the cursor");
        return;
    }
    if (!doc_span_resize(&a->doc, c, delta)) app_message(a, 0, "span of %d slots", a->doc.cells[c].slots);
    edited(a);
}
void ed_span_grow(App *a) { resize_span(a, 1); }
void ed_span_shrink(App *a) { resize_span(a, -1); }
void ed_span_remove(App *a) {
    int c = doc_span_at_cursor(&a->doc);
    if (c < 0) app_message(a, 0, "no span at the cursor");
    else doc_span_remove(&a->doc, c);
    edited(a);
}

void ed_run(App *a) {
    if (a->view->active) {
        app_message(a, 0, "a run is going: %s stops it", keymap_name_of("infill-stop"));
        return;
    }
    char tmpl[16384];
    if (doc_template(&a->doc, tmpl, sizeof tmpl) >= sizeof tmpl) {
        app_message(a, 1, "the text is too long to infill");
        return;
    }
    Err e;
    if (session_infill_start(a->s, tmpl, &a->conf.set, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    traj_drop();
    E.has_run = 1, E.cand = 0, E.was_active = 1;
    E.run_start = app_now(), E.drawn = 0, E.last_drawn_step = -1;
    a->doc_saved_version = a->doc.version;
    session_infill_view(a->s, a->view);
    fprintf(stderr, "infill: %s\n", tmpl);
    a->redraw = 1;
}

void ed_stop(App *a) {
    if (a->view->active) {
        session_infill_stop(a->s);
        app_message(a, 0, "stopping");
    } else if (E.pos >= 0) {
        traj_drop();
    } else {
        doc_select_none(&a->doc);
    }
    a->redraw = 1;
}

static void flip(App *a, int dir) {
    fill_check(a);
    int n = a->view->candidates;
    if (!E.fill_ok || n < 2) {
        app_message(a, 0, n < 2 ? "one candidate: ask for more in the settings (%s)" : "no fill to flip",
                    keymap_name_of("settings"));
        return;
    }
    E.cand = (E.cand + n + dir) % n;
    int scrubbing = E.pos >= 0;
    traj_drop();
    if (scrubbing && !a->view->active) {
        E.passes = session_infill_trajectory(a->s, E.cand, &E.traj_ids, &E.traj_conf, &E.traj_t);
        E.pos = E.passes - 1;
    }
    app_message(a, 0, "candidate %d of %d", E.cand + 1, n);
    edited(a);
}
void ed_cand_next(App *a) { flip(a, 1); }
void ed_cand_prev(App *a) { flip(a, -1); }

void ed_accept(App *a) {
    fill_check(a);
    if (!E.fill_ok || a->view->active) {
        app_message(a, 0, a->view->active ? "wait for the run to end (or stop it)" : "no fill to accept: %s fills the spans",
                    keymap_name_of("infill-run"));
        return;
    }
    int n = a->view->nspans;
    char **texts = calloc((size_t)n, sizeof *texts);
    if (!texts) return;
    const int32_t *ids = fill_ids(a);
    for (int k = 0; k < n; k++) {
        size_t cap = 64 * (size_t)E.span_len[k] + 1, len = 0;
        texts[k] = calloc(cap, 1);
        for (int j = 0; texts[k] && j < E.span_len[k]; j++) {
            const char *p = app_piece(a, ids[E.span_start[k] + j]);
            size_t pl = strlen(p);
            if (len + pl < cap) memcpy(texts[k] + len, p, pl), len += pl;
        }
    }
    doc_fill_spans(&a->doc, (const char *const *)texts, n);
    for (int k = 0; k < n; k++) free(texts[k]);
    free(texts);
    traj_drop(); /* has_run stays: undo brings the spans, and so their fill, back */
    a->doc_saved_version = a->doc.version; /* what was accepted is in the history */
    app_message(a, 0, "accepted candidate %d into the text (%s undoes)", E.cand + 1, keymap_name_of("undo"));
    edited(a);
}

void ed_reroll(App *a) {
    fill_check(a);
    int c = doc_span_at_cursor(&a->doc);
    if (!E.fill_ok || c < 0) {
        app_message(a, 0, !E.fill_ok ? "fill the spans first (%s)" : "put the cursor on a span to re-roll it",
                    keymap_name_of("infill-run"));
        return;
    }
    Err e;
    if (session_infill_reroll(a->s, E.cand, doc_span_index(&a->doc, c), &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    traj_drop();
    E.was_active = 1;
    session_infill_view(a->s, a->view);
    a->redraw = 1;
}

static void scrub(App *a, int to_rel, int absolute) {
    fill_check(a);
    if (!E.fill_ok || a->view->active) {
        app_message(a, 0, a->view->active ? "the trajectory can be scrubbed when the run ends" : "no run to replay");
        return;
    }
    if (!E.traj_ids) {
        E.passes = session_infill_trajectory(a->s, E.cand, &E.traj_ids, &E.traj_conf, &E.traj_t);
        E.pos = E.passes - 1;
        if (E.passes <= 0) {
            traj_drop();
            app_message(a, 0, "no trajectory recorded");
            return;
        }
    }
    int p = absolute ? to_rel : E.pos + to_rel;
    if (p < 0) p = 0;
    if (p >= E.passes) p = E.passes - 1;
    E.pos = p;
    edited(a);
}
void ed_scrub_back(App *a) { scrub(a, -1, 0); }
void ed_scrub_fwd(App *a) { scrub(a, 1, 0); }
void ed_scrub_start(App *a) { scrub(a, 0, 1); }
void ed_scrub_end(App *a) { scrub(a, 1 << 30, 1); }

/* typing */
static int editor_key(App *a, int key) {
    if (key == K_TAB) key = ' ';
    if (key >= 0x20 && key < K_FN && key != 0x7f) {
        doc_insert(&a->doc, (uint32_t)key);
        edited(a);
        return 1;
    }
    return 0;
}

void editor_mouse(App *a, int y, int x, int press, int drag, int release, int wheel) {
    layout(a);
    if (wheel) {
        E.top += 3 * wheel;
        if (E.top > E.nrows - 1) E.top = E.nrows - 1;
        if (E.top < 0) E.top = 0;
        int r = E.row[a->doc.cur];
        if (r < E.top) moved(a, hit(a, E.top, E.want_col), 0, 1);
        else if (r >= E.top + E.text_rows) moved(a, hit(a, E.top + E.text_rows - 1, E.want_col), 0, 1);
        return;
    }
    int row = y - 2 + E.top, col = x - 1; /* text starts at screen row 2 (title, blank) and column 1 */
    if (y - 2 >= E.text_rows && !E.dragging) return;
    int at = hit(a, row, col);
    if (press) {
        moved(a, at, 0, 0);
        E.dragging = 1;
    } else if ((drag || release) && E.dragging) {
        moved(a, at, 1, 0);
        if (release) E.dragging = 0;
    }
}

void editor_load_template(App *a, const char *tmpl) {
    Err e;
    if (doc_load_template(&a->doc, tmpl, &e)) {
        app_message(a, 1, "cannot load the template: %s", e.msg);
        return;
    }
    E.has_run = 0;
    traj_drop();
    a->doc_saved_version = a->doc.version;
    app_show(a, SCR_EDITOR);
    app_message(a, 0, "template loaded: %s fills it", keymap_name_of("infill-run"));
    edited(a);
}

void editor_after_model_change(App *a) {
    E.has_run = 0;
    traj_drop();
    a->redraw = 1;
}

static void editor_init(App *a) {
    (void)a;
    E.pos = -1;
}

const Screen screen_editor = {"Editor", editor_init, NULL, editor_draw, NULL, editor_key, editor_tick};
