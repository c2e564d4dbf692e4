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
#include "plot.h"
#include "store.h"

enum { LIST_MAX = 500 };

static struct {
    Store *st;
    char err[512];
    int runs_mode;
    Sample *v;
    int n, sel, top;
    char query[256];
    size_t qlen;
    int searching;
    Sample cur;            /* the opened sample, with its trajectory */
    int have_cur;
    double play_start;
    int playing, pos;
    Run *runs;
    int nruns, run_sel, run_top;
    int64_t metrics_run;
    double *loss, *acc;
    int nm;
    uint64_t seen_serial;
} H;

static int open_store(App *a) {
    if (H.st) return 0;
    Err e;
    if (!a->db_path[0]) return snprintf(H.err, sizeof H.err, "no history database"), -1;
    if (store_open(&H.st, a->db_path, 1, &e)) {
        snprintf(H.err, sizeof H.err, "no history yet (%.400s)", e.msg);
        H.st = NULL;
        return -1;
    }
    H.err[0] = 0;
    return 0;
}

static void reload(App *a) {
    samples_free(H.v, H.n);
    H.v = NULL, H.n = 0;
    if (open_store(a)) return;
    Err e;
    if (store_list_samples(H.st, H.query, LIST_MAX, 0, &H.v, &H.n, &e)) {
        snprintf(H.err, sizeof H.err, "%s", e.msg);
        H.v = NULL, H.n = 0;
    }
    if (H.sel >= H.n) H.sel = H.n ? H.n - 1 : 0;
    runs_free(H.runs, H.nruns);
    H.runs = NULL, H.nruns = 0;
    if (store_list_runs(H.st, &H.runs, &H.nruns, &e)) H.runs = NULL, H.nruns = 0;
    if (H.run_sel >= H.nruns) H.run_sel = H.nruns ? H.nruns - 1 : 0;
    H.metrics_run = -1;
    a->redraw = 1;
}

static void history_enter(App *a) {
    H.seen_serial = a->view->serial;
    reload(a);
}

static const char *fmt_time(double t, char *buf, size_t cap) {
    if (!(t > -1e12 && t < 1e12)) return "-";
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm)) return "-";
    return buf;
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

/* text over at most max_rows rows of width w (cut at a row's end); returns
 * the rows used. */
static int draw_wrapped(int y, int x, const char *text, int w, int max_rows, int attr) {
    int rows = 0;
    size_t len = strlen(text);
    for (size_t i = 0; i < len && rows < max_rows; rows++) {
        size_t n = 0;
        int cw = 0; /* the bytes of the next w columns */
        while (i + n < len && cw < w) {
            uint32_t cp;
            size_t k = (size_t)utf8_decode(text + i + n, len - i - n, &cp);
            char one[8] = {0};
            memcpy(one, text + i + n, k);
            cw += text_width(one);
            n += k;
        }
        char row[1024];
        snprintf(row, sizeof row, "%.*s", (int)n, text + i);
        draw_text(y + rows, x, row, w, attr);
        i += n;
    }
    return rows ? rows : 1;
}

static const char *file_name(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path ? path : "-";
}

static void draw_trajectory(App *a, int y, int x, int h, int w) {
    const Trajectory *t = &H.cur.traj;
    if (!t->steps || !a->model.loaded) {
        draw_text(y, x, t->steps ? "(load a model to decode the trajectory)" : "(no trajectory recorded)", w,
                  color_attr(C_DIM));
        return;
    }
    int p = H.pos < t->steps ? H.pos : t->steps - 1;
    char head[200];
    int other = H.cur.checkpoint_path && strcmp(H.cur.checkpoint_path, a->model.path);
    snprintf(head, sizeof head, "%s step %d/%d  t=%.3f   r replays, e loads the template%s", H.playing ? "▶" : "■", p,
             t->steps - 1, (double)t->t[p], other ? "   (pieces as the current model's tokenizer reads them)" : "");
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
    int W = a->cols - 2;
    char line[1024];
    if (H.searching) {
        snprintf(line, sizeof line, "search: %s", H.query);
        int w = draw_text(top, 1, line, W, color_attr(C_FIELD));
        move(top, 1 + w);
        curs_set(1);
    } else {
        snprintf(line, sizeof line, "Samples: %d%s%s%s   / search  Enter replay  e to editor  Tab runs", H.n,
                 H.query[0] ? " matching \"" : "", H.query, H.query[0] ? "\"" : "");
        draw_text(top, 1, line, W, A_BOLD);
    }
    if (!H.n) {
        draw_text(top + 2, 2, H.err[0] ? H.err : H.query[0] ? "no samples match" : "no samples saved yet: fill a span in the editor",
                  W - 2, color_attr(C_DIM));
        return;
    }
    int list_h = (rows - 2) / 2;
    if (list_h < 3) list_h = 3;
    int mw = W >= 90 ? 24 : 16;
    snprintf(line, sizeof line, "%-11s  %-*s  %-2s  %s", "TIME", mw, "MODEL", "#", "FILLED SPANS (Enter opens the sample)");
    draw_text(top + 1, 1, line, W, color_attr(C_DIM));
    if (H.sel < H.top) H.top = H.sel;
    if (H.sel >= H.top + list_h) H.top = H.sel - list_h + 1;
    for (int r = 0; r < list_h && H.top + r < H.n; r++) {
        const Sample *s = &H.v[H.top + r];
        int y = top + 2 + r, sel = H.top + r == H.sel;
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
    const Sample *s = H.have_cur ? &H.cur : &H.v[H.sel];
    char t[32];
    snprintf(line, sizeof line, "#%lld  %s  %s, %d steps, seed %llu, clamp %s, candidate %d  │ %s", (long long)s->id,
             fmt_time(s->time, t, sizeof t), s->sampler ? s->sampler : "-", s->steps, (unsigned long long)s->seed,
             s->clamp ? "on" : "off", s->candidate + 1, file_name(s->checkpoint_path));
    draw_text(y + 1, 1, line, W, 0);
    y += 2;
    snprintf(line, sizeof line, "template: %s", s->template_text ? s->template_text : "-");
    y += draw_wrapped(y, 1, line, W, 2, 0);
    snprintf(line, sizeof line, "result:   %s", s->result ? s->result : "-");
    y += draw_wrapped(y, 1, line, W, 2, A_BOLD);
    y -= 4; /* the trajectory below, after a blank line */
    if (H.have_cur) draw_trajectory(a, y + 5, 1, top + rows - (y + 5), W);
    else draw_text(y + 5, 1, "Enter replays the denoising of this sample", W, color_attr(C_DIM));
}

/* ---- runs ---- */

static void load_metrics(void) {
    if (!H.nruns || H.metrics_run == H.runs[H.run_sel].id) return;
    H.metrics_run = H.runs[H.run_sel].id;
    free(H.loss), free(H.acc);
    H.loss = H.acc = NULL, H.nm = 0;
    Metric *m;
    int n;
    Err e;
    if (store_run_metrics(H.st, H.metrics_run, 1, &m, &n, &e) || !n) return;
    H.loss = malloc(sizeof(double) * n), H.acc = malloc(sizeof(double) * n);
    if (H.loss && H.acc) {
        for (int i = 0; i < n; i++) H.loss[i] = m[i].skipped ? NAN : m[i].loss, H.acc[i] = m[i].accuracy;
        H.nm = n;
    }
    free(m);
}

static void draw_runs(App *a, int top, int rows) {
    char line[512];
    draw_text(top, 1, "Training runs   Up/Down choose   Tab samples", a->cols - 2, A_BOLD);
    if (!H.nruns) {
        draw_text(top + 2, 2, H.err[0] ? H.err : "no training runs yet: F4 opens the training screen", a->cols - 4,
                  color_attr(C_DIM));
        return;
    }
    int lw = a->cols / 2 - 1, list_h = rows - 2;
    snprintf(line, sizeof line, "%4s %-9s %8s %8s  %s", "ID", "STATUS", "STEP", "LOSS", "CORPUS");
    draw_text(top + 1, 1, line, lw, color_attr(C_DIM));
    if (H.run_sel < H.run_top) H.run_top = H.run_sel;
    if (H.run_sel >= H.run_top + list_h) H.run_top = H.run_sel - list_h + 1;
    for (int r = 0; r < list_h && H.run_top + r < H.nruns; r++) {
        const Run *u = &H.runs[H.run_top + r];
        const char *corpus = u->corpus_path ? strrchr(u->corpus_path, '/') : NULL;
        corpus = corpus ? corpus + 1 : u->corpus_path ? u->corpus_path : "-";
        snprintf(line, sizeof line, "%4lld %-9s %8lld %8.4f  %s", (long long)u->id, run_status_name(u->status),
                 (long long)u->last_step, u->last_loss, corpus);
        int sel = H.run_top + r == H.run_sel;
        draw_text(top + 2 + r, 1, line, lw, sel ? A_REVERSE : 0);
    }
    load_metrics();
    int px = lw + 2, pw = a->cols - px - 1, ph = (rows - 1) / 2;
    plot_draw(top + 1, px, ph - 1, pw, "loss", H.loss, H.nm, 0);
    plot_draw(top + 1 + ph, px, ph - 1, pw, "accuracy", H.acc, H.nm, 0);
}

static void history_draw(App *a, int top, int rows) {
    if (H.runs_mode) draw_runs(a, top + 1, rows - 1);
    else draw_samples(a, top + 1, rows - 1);
}

static int history_tick(App *a) {
    if (a->screen == SCR_HISTORY && !a->view->active && a->view->serial != H.seen_serial) {
        H.seen_serial = a->view->serial; /* a run ended: it may have saved samples */
        reload(a);
    }
    if (!H.playing || !H.have_cur) return 0;
    int S = H.cur.traj.steps;
    int p = (int)((a->now - H.play_start) / 2.0 * S); /* every replay takes 2 s */
    if (p >= S - 1) p = S - 1, H.playing = 0;
    if (p != H.pos) H.pos = p, a->redraw = 1;
    return H.playing;
}

static int history_modal(App *a, int key) {
    if (!H.searching) return 0;
    a->redraw = 1;
    if (key == K_ENTER) {
        H.searching = 0;
    } else if (key == K_ESC) {
        H.searching = 0, H.qlen = 0, H.query[0] = 0;
        reload(a);
    } else if (key == K_BACKSPACE) {
        while (H.qlen > 0 && ((unsigned char)H.query[H.qlen - 1] & 0xc0) == 0x80) H.qlen--;
        if (H.qlen > 0) H.qlen--;
        H.query[H.qlen] = 0;
        H.sel = 0;
        reload(a);
    } else if (key >= 0x20 && key < K_FN && H.qlen + 5 < sizeof H.query) {
        H.qlen += utf8_encode((uint32_t)key, H.query + H.qlen);
        H.query[H.qlen] = 0;
        H.sel = 0;
        reload(a);
    } else {
        return 0;
    }
    return 1;
}

static void select_row(App *a, int to) {
    if (H.runs_mode) {
        H.run_sel = to < 0 ? 0 : to >= H.nruns ? H.nruns - 1 : to;
        if (H.run_sel < 0) H.run_sel = 0;
    } else {
        H.sel = to < 0 ? 0 : to >= H.n ? H.n - 1 : to;
        if (H.sel < 0) H.sel = 0;
        if (H.have_cur) sample_free(&H.cur), H.have_cur = 0, H.playing = 0;
    }
    a->redraw = 1;
}

static int cur_row(void) { return H.runs_mode ? H.run_sel : H.sel; }
void hist_up(App *a) { select_row(a, cur_row() - 1); }
void hist_down(App *a) { select_row(a, cur_row() + 1); }
void hist_pgup(App *a) { select_row(a, cur_row() - 10); }
void hist_pgdn(App *a) { select_row(a, cur_row() + 10); }
void hist_home(App *a) { select_row(a, 0); }
void hist_end(App *a) { select_row(a, 1 << 30); }
void hist_search(App *a) {
    H.searching = 1, H.runs_mode = 0;
    a->redraw = 1;
}
void hist_toggle(App *a) {
    H.runs_mode = !H.runs_mode;
    a->redraw = 1;
}

void hist_open(App *a) {
    if (H.runs_mode || !H.n) return;
    if (H.have_cur) sample_free(&H.cur), H.have_cur = 0;
    Err e;
    if (store_get_sample(H.st, H.v[H.sel].id, &H.cur, &e)) {
        app_message(a, 1, "%s", e.msg);
        return;
    }
    H.have_cur = 1;
    H.playing = H.cur.traj.steps > 0;
    H.pos = 0;
    H.play_start = now_s();
    a->redraw = 1;
}

void hist_replay(App *a) { hist_open(a); }

void hist_load(App *a) {
    if (H.runs_mode || !H.n) return;
    const char *t = H.v[H.sel].template_text;
    if (t) editor_load_template(a, t);
}

const Screen screen_history = {"History", NULL, history_enter, history_draw, history_modal, NULL, history_tick};
