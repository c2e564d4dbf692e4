/* history.c: the history screen: saved samples (newest first, searchable
 * with /) with time, model, template and result; Enter replays a sample's
 * trajectory, e loads its template into the editor. Tab switches to the
 * training runs, each with its recorded loss and accuracy curves.
 *
 * It reads the history through its own read-only Store connection (the
 * session writes samples through its own). */
#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "clock.h"
#include "plot.h"
#include "store.h"
#include "fmt.h"

enum { LIST_MAX = 500 };

static int open_store(App *a) {
    HistoryState *h = &a->history;
    if (h->st) return 0;
    Err e;
    if (!a->db_path[0]) return snprintf(h->err, sizeof h->err, "no history database"), -1;
    if (store_open(&h->st, a->db_path, 1, &e)) {
        snprintf(h->err, sizeof h->err, "no history yet (%.400s)", e.msg);
        h->st = NULL;
        return -1;
    }
    h->err[0] = 0;
    return 0;
}

static void reload(App *a) {
    HistoryState *h = &a->history;
    samples_free(h->v, h->n);
    h->v = NULL, h->n = 0;
    if (open_store(a)) return;
    Err e;
    if (store_list_samples(h->st, h->query, LIST_MAX, 0, &h->v, &h->n, &e)) {
        snprintf(h->err, sizeof h->err, "%s", e.msg);
        h->v = NULL, h->n = 0;
    }
    if (h->sel >= h->n) h->sel = h->n ? h->n - 1 : 0;
    runs_free(h->runs, h->nruns);
    h->runs = NULL, h->nruns = 0;
    if (store_list_runs(h->st, &h->runs, &h->nruns, &e)) h->runs = NULL, h->nruns = 0;
    if (h->run_sel >= h->nruns) h->run_sel = h->nruns ? h->nruns - 1 : 0;
    h->metrics_run = -1;
    a->redraw = 1;
}

static void history_enter(App *a) {
    HistoryState *h = &a->history;
    h->seen_serial = a->view->serial;
    reload(a);
}

/* ---- samples ---- */

/* The next literal piece of a template from *t (braces unescaped, spaces
 * at both ends trimmed) into lit; *t moves past it and the span after it.
 * Returns 1 when a span follows. */
static int next_literal(const char **t, char *lit, size_t cap) {
    size_t n = 0;
    const char *p = *t;
    int span = 0;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (n + 1 < cap) lit[n++] = p[0];
            p += 2;
        } else if (*p == '{') {
            const char *close = strchr(p, '}');
            p = close ? close + 1 : p + strlen(p);
            span = 1;
            break;
        } else {
            if (n + 1 < cap) lit[n++] = *p;
            p++;
        }
    }
    lit[n] = 0;
    while (n && lit[n - 1] == ' ') lit[--n] = 0;
    size_t lead = strspn(lit, " ");
    memmove(lit, lit + lead, n - lead + 1);
    *t = p;
    return span;
}

static void append_fill(char *out, size_t cap, const char *from, size_t len) {
    while (len && *from == ' ') from++, len--;
    while (len && from[len - 1] == ' ') len--;
    size_t n = strlen(out);
    if (n + len + 4 < cap) snprintf(out + n, cap - n, "%s[%.*s]", n ? " " : "", (int)len, from);
}

/* What the spans were filled with ("[a cat] [mat]"), found between the
 * template's literal pieces in the result; the whole result when they
 * cannot be found in it (the tokenizer may have changed the spacing). */
static void sample_fills(const Sample *s, char *out, size_t cap) {
    const char *t = s->template_text, *r = s->result;
    snprintf(out, cap, "%s", r ? r : "-");
    if (!t || !r || !strchr(t, '{')) return;
    char lit[1024], fills[1024] = "";
    int span = next_literal(&t, lit, sizeof lit);
    const char *at = strstr(r, lit);
    if (!at) return;
    const char *from = at + strlen(lit);
    while (span) {
        span = next_literal(&t, lit, sizeof lit);
        if (!lit[0] && span) continue; /* spans side by side: one fill */
        const char *end = lit[0] ? strstr(from, lit) : from + strlen(from);
        if (!end) return;
        append_fill(fills, sizeof fills, from, (size_t)(end - from));
        from = end + strlen(lit);
    }
    snprintf(out, cap, "%s", fills);
}

/* The key of an action on this screen, as the keymap names it. */
static const char *key(const char *action) { return keymap_name_in(SCR_HISTORY, action); }

static const char *file_name(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path ? path : "-";
}

static void draw_trajectory(App *a, int y, int x, int h, int w) {
    const HistoryState *hs = &a->history;
    const Trajectory *t = &hs->cur.traj;
    if (!t->steps || !a->model.loaded) {
        draw_text(y, x, t->steps ? "(load a model to decode the trajectory)" : "(no trajectory recorded)", w,
                  color_attr(C_DIM));
        return;
    }
    int p = hs->pos < t->steps ? hs->pos : t->steps - 1;
    char head[200];
    int other = hs->cur.checkpoint_path && strcmp(hs->cur.checkpoint_path, a->model.path);
    snprintf(head, sizeof head, "%s step %d/%d  t=%.3f   %s replays, %s loads the template%s", hs->playing ? "▶" : "■",
             p, t->steps - 1, (double)t->t[p], key("replay"), key("load"),
             other ? "   (pieces as the current model's tokenizer reads them)" : "");
    draw_text(y, x, head, w, color_attr(C_KEY));
    int row = y + 1, col = 0;
    for (int i = 0; i < t->len && row < y + h; i++) {
        uint32_t id = t->ids[(long)p * t->len + i];
        float c = t->conf[(long)p * t->len + i];
        const char *s = t->masked[i] && c < 0 ? HIDDEN_SLOT : app_piece(a, (int32_t)id);
        int sw = text_width(s);
        if (!sw) continue;
        if (col + sw > w) row++, col = 0;
        if (row >= y + h) break;
        int attr = 0;
        if (t->masked[i]) attr = color_attr(c < 0 ? C_SPAN : c < 0.34f ? C_LOW : c < 0.67f ? C_MID : C_HIGH);
        col += draw_text(row, x + col, s, w - col, attr);
    }
}

static void draw_samples(App *a, int top, int rows) {
    HistoryState *h = &a->history;
    int W = a->cols - 2;
    char line[1024];
    if (h->searching) {
        snprintf(line, sizeof line, "search: %s", h->query);
        int w = draw_text(top, 1, line, W, color_attr(C_FIELD));
        move(top, 1 + w);
        curs_set(1);
    } else {
        snprintf(line, sizeof line, "Samples: %d%s%s%s   %s search  %s replay  %s to editor  %s runs", h->n,
                 h->query[0] ? " matching \"" : "", h->query, h->query[0] ? "\"" : "", key("search"), key("open"),
                 key("load"), key("toggle"));
        draw_text(top, 1, line, W, A_BOLD);
    }
    if (!h->n) {
        const char *none = h->query[0] ? "no samples match" : "no samples saved yet: fill a span in the editor";
        draw_text(top + 2, 2, h->err[0] ? h->err : none, W - 2, color_attr(C_DIM));
        return;
    }
    int list_h = (rows - 2) / 2;
    if (list_h < 3) list_h = 3;
    int mw = W >= 90 ? 24 : 16;
    snprintf(line, sizeof line, "%-11s  %-*s  %-2s  FILLED SPANS (%s opens the sample)", "TIME", mw, "MODEL", "#",
             key("open"));
    draw_text(top + 1, 1, line, W, color_attr(C_DIM));
    if (h->sel < h->top) h->top = h->sel;
    if (h->sel >= h->top + list_h) h->top = h->sel - list_h + 1;
    for (int r = 0; r < list_h && h->top + r < h->n; r++) {
        const Sample *s = &h->v[h->top + r];
        int y = top + 2 + r, sel = h->top + r == h->sel;
        char t[32] = "-", fills[1024];
        time_t tt = (time_t)s->time;
        struct tm tm;
        if (s->time > 0 && localtime_r(&tt, &tm)) strftime(t, sizeof t, "%m-%d %H:%M", &tm);
        sample_fills(s, fills, sizeof fills);
        int attr = sel ? A_REVERSE : 0;
        if (sel) draw_fill(y, 0, a->cols, A_REVERSE);
        snprintf(line, sizeof line, "%-11s  %-*.*s  %2d  ", t, mw, mw, file_name(s->checkpoint_path), s->candidate + 1);
        int x = 1 + draw_text(y, 1, line, W, attr);
        draw_text(y, x, fills, a->cols - x - 1, attr | color_attr(C_SPAN));
    }
    int y = top + 2 + list_h;
    draw_box_title(y, 0, a->cols, "sample", A_BOLD);
    const Sample *s = h->have_cur ? &h->cur : &h->v[h->sel];
    char t[32];
    snprintf(line, sizeof line, "#%lld  %s  %s  │ candidate %d, %s, %d steps, clamp %s, seed %llu", (long long)s->id,
             fmt_time(s->time, t, sizeof t), file_name(s->checkpoint_path), s->candidate + 1,
             s->sampler ? s->sampler : "-", s->steps, s->clamp ? "on" : "off", (unsigned long long)s->seed);
    draw_wrapped(y + 1, 1, line, W, 1, 0);
    y += 2;
    snprintf(line, sizeof line, "template: %s", s->template_text ? s->template_text : "-");
    y += draw_wrapped(y, 1, line, W, 2, 0);
    snprintf(line, sizeof line, "result:   %s", s->result ? s->result : "-");
    y += draw_wrapped(y, 1, line, W, 2, A_BOLD);
    y -= 4; /* the trajectory below, after a blank line */
    if (h->have_cur) draw_trajectory(a, y + 5, 1, top + rows - (y + 5), W);
    else {
        snprintf(line, sizeof line, "%s replays the denoising of this sample", key("open"));
        draw_text(y + 5, 1, line, W, color_attr(C_DIM));
    }
}

/* ---- runs ---- */

static void load_metrics(HistoryState *h) {
    if (!h->nruns || h->metrics_run == h->runs[h->run_sel].id) return;
    h->metrics_run = h->runs[h->run_sel].id;
    free(h->loss), free(h->acc);
    h->loss = h->acc = NULL, h->nm = 0;
    Metric *m;
    int n;
    Err e;
    if (store_run_metrics(h->st, h->metrics_run, 1, &m, &n, &e) || !n) return;
    h->loss = malloc(sizeof(double) * n), h->acc = malloc(sizeof(double) * n);
    if (h->loss && h->acc) {
        for (int i = 0; i < n; i++) h->loss[i] = m[i].skipped ? NAN : m[i].loss, h->acc[i] = m[i].accuracy;
        h->nm = n;
    }
    free(m);
}

static void draw_runs(App *a, int top, int rows) {
    HistoryState *h = &a->history;
    char line[512];
    snprintf(line, sizeof line, "Training runs   %s/%s choose   %s samples", key("up"), key("down"), key("toggle"));
    draw_text(top, 1, line, a->cols - 2, A_BOLD);
    if (!h->nruns) {
        snprintf(line, sizeof line, "no training runs yet: %s opens the training screen", keymap_name_of("training"));
        draw_text(top + 2, 2, h->err[0] ? h->err : line, a->cols - 4, color_attr(C_DIM));
        return;
    }
    int lw = a->cols / 2 - 1, list_h = rows - 2;
    snprintf(line, sizeof line, "%4s %-9s %8s %8s  %s", "ID", "STATUS", "STEP", "LOSS", "CORPUS");
    draw_text(top + 1, 1, line, lw, color_attr(C_DIM));
    if (h->run_sel < h->run_top) h->run_top = h->run_sel;
    if (h->run_sel >= h->run_top + list_h) h->run_top = h->run_sel - list_h + 1;
    for (int r = 0; r < list_h && h->run_top + r < h->nruns; r++) {
        const Run *u = &h->runs[h->run_top + r];
        const char *corpus = u->corpus_path ? strrchr(u->corpus_path, '/') : NULL;
        corpus = corpus ? corpus + 1 : u->corpus_path ? u->corpus_path : "-";
        snprintf(line, sizeof line, "%4lld %-9s %8lld %8.4f  %s", (long long)u->id, run_status_name(u->status),
                 (long long)u->last_step, u->last_loss, corpus);
        int sel = h->run_top + r == h->run_sel;
        draw_text(top + 2 + r, 1, line, lw, sel ? A_REVERSE : 0);
    }
    load_metrics(h);
    int px = lw + 2, pw = a->cols - px - 1, ph = (rows - 1) / 2;
    plot_draw(top + 1, px, ph - 1, pw, "loss", h->loss, h->nm, 0);
    plot_draw(top + 1 + ph, px, ph - 1, pw, "accuracy", h->acc, h->nm, 0);
}

static void history_draw(App *a, int top, int rows) {
    HistoryState *h = &a->history;
    if (h->runs_mode) draw_runs(a, top + 1, rows - 1);
    else draw_samples(a, top + 1, rows - 1);
}

static int history_tick(App *a) {
    HistoryState *h = &a->history;
    if (a->screen == SCR_HISTORY && !a->view->active && a->view->serial != h->seen_serial) {
        h->seen_serial = a->view->serial; /* a run ended: it may have saved samples */
        reload(a);
    }
    if (!h->playing || !h->have_cur) return 0;
    int S = h->cur.traj.steps;
    int p = (int)((a->now - h->play_start) / 2.0 * S); /* every replay takes 2 s */
    if (p >= S - 1) p = S - 1, h->playing = 0;
    if (p != h->pos) h->pos = p, a->redraw = 1;
    return h->playing;
}

static int history_modal(App *a, int key) {
    HistoryState *h = &a->history;
    if (!h->searching) return 0;
    a->redraw = 1;
    if (key == K_ENTER) {
        h->searching = 0;
    } else if (key == K_ESC) {
        h->searching = 0, h->qlen = 0, h->query[0] = 0;
        reload(a);
    } else if (key == K_BACKSPACE) {
        while (h->qlen > 0 && ((unsigned char)h->query[h->qlen - 1] & 0xc0) == 0x80) h->qlen--;
        if (h->qlen > 0) h->qlen--;
        h->query[h->qlen] = 0;
        h->sel = 0;
        reload(a);
    } else if (key >= 0x20 && key < K_FN && h->qlen + 5 < sizeof h->query) {
        h->qlen += utf8_encode((uint32_t)key, h->query + h->qlen);
        h->query[h->qlen] = 0;
        h->sel = 0;
        reload(a);
    } else {
        return 0;
    }
    return 1;
}

static void select_row(App *a, int to) {
    HistoryState *h = &a->history;
    if (h->runs_mode) {
        h->run_sel = to < 0 ? 0 : to >= h->nruns ? h->nruns - 1 : to;
        if (h->run_sel < 0) h->run_sel = 0;
    } else {
        h->sel = to < 0 ? 0 : to >= h->n ? h->n - 1 : to;
        if (h->sel < 0) h->sel = 0;
        if (h->have_cur) sample_free(&h->cur), h->have_cur = 0, h->playing = 0;
    }
    a->redraw = 1;
}

static int cur_row(const HistoryState *h) { return h->runs_mode ? h->run_sel : h->sel; }
void hist_up(App *a) { select_row(a, cur_row(&a->history) - 1); }
void hist_down(App *a) { select_row(a, cur_row(&a->history) + 1); }
void hist_pgup(App *a) { select_row(a, cur_row(&a->history) - 10); }
void hist_pgdn(App *a) { select_row(a, cur_row(&a->history) + 10); }
void hist_home(App *a) { select_row(a, 0); }
void hist_end(App *a) { select_row(a, 1 << 30); }
void hist_search(App *a) {
    HistoryState *h = &a->history;
    h->searching = 1, h->runs_mode = 0;
    a->redraw = 1;
}
void hist_toggle(App *a) {
    HistoryState *h = &a->history;
    h->runs_mode = !h->runs_mode;
    a->redraw = 1;
}

void hist_open(App *a) {
    HistoryState *h = &a->history;
    if (h->runs_mode || !h->n) return;
    if (h->have_cur) sample_free(&h->cur), h->have_cur = 0;
    Err e;
    if (store_get_sample(h->st, h->v[h->sel].id, &h->cur, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    h->have_cur = 1;
    h->playing = h->cur.traj.steps > 0;
    h->pos = 0;
    h->play_start = now_s();
    a->redraw = 1;
}

void hist_replay(App *a) { hist_open(a); }

void hist_load(App *a) {
    HistoryState *h = &a->history;
    if (h->runs_mode || !h->n) return;
    const char *t = h->v[h->sel].template_text;
    if (t) editor_load_template(a, t);
}

static void history_done(App *a) {
    HistoryState *h = &a->history;
    samples_free(h->v, h->n);
    runs_free(h->runs, h->nruns);
    if (h->have_cur) sample_free(&h->cur);
    free(h->loss), free(h->acc);
    if (h->st) store_close(h->st);
    memset(h, 0, sizeof *h);
}

const Screen screen_history = {
    .name = "History", .action = "history", .done = history_done, .enter = history_enter,
    .draw = history_draw, .modal = history_modal, .tick = history_tick,
};
