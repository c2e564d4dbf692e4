/* app.c: the one UI loop.
 *
 * The loop poll()s the keyboard and the session's wake pipe, reads keys
 * (tty.c), dispatches them through the keymap (keymap.c) to the current
 * screen, refreshes the session's snapshots when woken, and repaints from
 * state, at most FRAME_S apart. Resizing is handled here, once, and so are
 * the "terminal too small" screen, the title tabs, the status bar with its
 * fading message, and asking before quitting. Not here: the terminal's
 * set-up and restoring (tty.c), any screen's content. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "paths.h"
#include "tty.h"
#include "ui.h"

/* BURST_KEYS: keys waiting at once, more than anyone types; KEYS_MAX: read at most this many before a frame */
enum { MIN_COLS = 60, MIN_ROWS = 14, BURST_KEYS = 64, KEYS_MAX = 4096 };
#define FRAME_S (1.0 / 120)   /* at most this often: steps faster than that are merged */
#define BURST_GAP_S 0.25      /* a burst goes on while its keys come less than this apart */
#define BRAND " sdlm "        /* the title line's first word, when there is room */

/* ---- messages, snapshots ---- */

void app_message(App *a, int error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_time = now_s();
    a->msg_error = error;
    a->redraw = 1;
    fprintf(stderr, "%s%s\n", error ? "error: " : "", a->msg); /* the log */
}

void app_show(App *a, ScreenId s) {
    if (s == a->screen) return;
    if (s == SCR_HELP || s == SCR_SETTINGS) {
        if (a->screen != SCR_HELP && a->screen != SCR_SETTINGS) a->back = a->screen;
    }
    a->screen = s;
    if (a->screens[s]->enter) a->screens[s]->enter(a);
    a->redraw = 1;
}

int app_run_busy(const App *a) { return a->view->active; }

int app_text_unsaved(const App *a) { return a->doc.n > 0 && a->doc.version != a->doc_saved_version; }

static int training_busy(const App *a) {
    TrainState st = a->train->state;
    return st == TRAIN_PREPARING || st == TRAIN_RUNNING || st == TRAIN_PAUSED || st == TRAIN_STOPPING;
}

void app_ask_quit(App *a) {
    if (app_run_busy(a) || app_text_unsaved(a) || training_busy(a)) a->asking_quit = 1;
    else a->quit = 1;
    a->redraw = 1;
}

static void free_pieces(App *a) {
    for (int i = 0; i < a->npieces; i++) free(a->pieces[i]);
    free(a->pieces);
    a->pieces = NULL;
    a->npieces = 0;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const char *app_tilde(const char *path, char *buf, size_t cap) {
    const char *home = getenv("HOME");
    size_t n = home ? strlen(home) : 0;
    if (n > 1 && !strncmp(path, home, n) && path[n] == '/') snprintf(buf, cap, "~%s", path + n);
    else snprintf(buf, cap, "%s", path);
    return buf;
}

const char *app_piece(App *a, int32_t id) {
    if (!a->pieces && a->model.loaded && a->model.V > 0) {
        a->pieces = calloc((size_t)a->model.V, sizeof *a->pieces);
        if (a->pieces) a->npieces = a->model.V;
    }
    if (id < 0 || id >= a->npieces) return "";
    if (!a->pieces[id]) {
        char buf[256];
        session_piece(a->s, id, buf, sizeof buf);
        a->pieces[id] = strdup(buf);
        if (!a->pieces[id]) return "";
    }
    return a->pieces[id];
}

void app_model_changed(App *a) {
    free_pieces(a);
    session_model(a->s, &a->model);
    a->redraw = 1;
}


int app_use_model(App *a, const char *ckpt, int chosen) {
    Err e;
    if (session_load(a->s, ckpt, &e)) {
        app_message(a, 1, "%s", e.msg);
        return -1;
    }
    app_model_changed(a);
    editor_after_model_change(a);
    if (chosen && models_choose(ckpt, &e)) {
        app_message(a, 1, "the editor uses %s, but %s", base_name(ckpt), e.msg);
        return 0;
    }
    if (a->model.steps < MODELS_YOUNG_STEPS)
        app_message(a, 0, "trained only %lld steps: fills will be noise", (long long)a->model.steps);
    else app_message(a, 0, "the editor uses %s%s", base_name(ckpt), chosen ? " (remembered for the next start)" : "");
    return 0;
}

void app_steps_text(int64_t steps, char *out, size_t cap) {
    if (steps >= 10000) snprintf(out, cap, "%.0fk", steps / 1e3);
    else if (steps >= 1000) snprintf(out, cap, "%.1fk", steps / 1e3);
    else snprintf(out, cap, "%lld", (long long)steps);
}

/* ---- the global actions ---- */

void act_help(App *a) { app_show(a, a->screen == SCR_HELP ? a->back : SCR_HELP); }
void act_editor(App *a) { app_show(a, SCR_EDITOR); }
void act_history(App *a) { app_show(a, SCR_HISTORY); }
void act_train(App *a) { app_show(a, SCR_TRAIN); }
void act_settings(App *a) { app_show(a, a->screen == SCR_SETTINGS ? a->back : SCR_SETTINGS); }
void act_quit(App *a) { app_ask_quit(a); }
void act_quit_yes(App *a) { a->quit = 1; }
void act_back(App *a) { app_show(a, a->screen == SCR_HELP || a->screen == SCR_SETTINGS ? a->back : SCR_EDITOR); }
void act_redraw(App *a) {
    clearok(curscr, TRUE);
    a->redraw = 1;
}

/* ---- drawing ---- */

/* A screen's tab: " F2 Editor " (its name and the key that shows it, from
 * the screen table and the keymap) or, when the full titles do not fit,
 * " F2 " (Help keeps its word). Tabs are in the order of the screens. */
static void tab_text(const App *a, int s, int compact, char *out, size_t cap) {
    const Screen *sc = a->screens[s];
    if (compact && s != SCR_HELP) snprintf(out, cap, " %s ", keymap_name_of(sc->action));
    else snprintf(out, cap, " %s %s ", keymap_name_of(sc->action), sc->name);
}

static int title_width(const App *a, int brand, int compact) {
    int w = brand ? text_width(BRAND) : 0;
    char buf[64];
    for (int s = 0; s < SCR_COUNT; s++) tab_text(a, s, compact, buf, sizeof buf), w += text_width(buf);
    return w;
}

/* The tabs, whole: without the brand when narrow, then as keys only. Where
 * each was drawn is kept for the mouse. */
static void draw_title(App *a) {
    int attr = color_attr(C_TITLE);
    draw_fill(0, 0, a->cols, attr);
    int brand = title_width(a, 1, 0) <= a->cols, compact = title_width(a, 0, 0) > a->cols;
    int x = brand ? draw_text(0, 0, BRAND, a->cols, attr | A_BOLD) : 0;
    for (int s = 0; s < SCR_COUNT; s++) {
        char buf[64];
        tab_text(a, s, compact, buf, sizeof buf);
        a->tab_x[s] = x;
        if (x < a->cols) x += draw_text(0, x, buf, a->cols - x, (int)a->screen == s ? color_attr(C_TAB) : attr);
        a->tab_x[s + 1] = x;
    }
}

/* The status bar: the model and the training state on the left, the latest
 * message on the right (it wins the room when both do not fit), fading. */
static void draw_status(App *a) {
    int y = a->rows - 1, attr = color_attr(C_STATUS);
    draw_fill(y, 0, a->cols, attr);
    const TrainProgress *p = a->train;
    char tr[128] = "idle";
    if (p->state != TRAIN_IDLE) {
        if (p->total_steps > 0) /* the step padded to the total's digits: the line keeps its width */
            snprintf(tr, sizeof tr, "%s %*lld/%lld", train_state_name(p->state),
                     snprintf(NULL, 0, "%lld", (long long)p->total_steps), (long long)p->step,
                     (long long)p->total_steps);
        else snprintf(tr, sizeof tr, "%s %lld", train_state_name(p->state), (long long)p->step);
    }
    double age = a->now - a->msg_time;
    const char *msg = NULL;
    char ask[160];
    int mattr = attr;
    if (a->asking_quit) {
        snprintf(ask, sizeof ask, "%s Quit? %s/%s",
                 app_run_busy(a)    ? "An infill is running."
                 : training_busy(a) ? "Training is running (it will be saved)."
                                    : "The text was not infilled or saved.",
                 keymap_name_of("quit-yes"), keymap_name_of("quit-no"));
        msg = ask;
        mattr = color_attr(C_ERROR);
    } else if (a->msg[0] && age < 6) {
        msg = a->msg;
        mattr = a->msg_error ? color_attr(C_ERROR) : age < 3 ? color_attr(C_MSG) : attr | (int)A_DIM;
    } else if (a->model.db_error[0]) {
        msg = a->model.db_error;
        mattr = color_attr(C_ERROR);
    }
    char name[300], about[160], train[200], left[700];
    snprintf(name, sizeof name, "%.290s", a->model.path[0] ? base_name(a->model.path) : "no model");
    about[0] = 0;
    int young = a->model.loaded && a->model.steps < MODELS_YOUNG_STEPS;
    if (a->model.loaded) {
        char steps[32];
        app_steps_text(a->model.steps, steps, sizeof steps);
        if (young) snprintf(about, sizeof about, "only %s steps: fills are noise", steps);
        else snprintf(about, sizeof about, "%.1fM params, %d layers x %d, %s steps", a->model.params / 1e6, a->model.NL,
                      a->model.D, steps);
    }
    snprintf(train, sizeof train, "training: %s", tr);
    int mw = msg ? text_width(msg) + 2 : 0;
    int room = a->cols - mw; /* what the left part may use: at least half when the message is long */
    if (room < a->cols / 2) room = a->cols / 2;
    const char *items[] = {name, about, train};
    /* the file name stays longest, then a young model's warning, then the training state */
    const int prio[] = {0, young ? 1 : 3, 2};
    fit_items(left, sizeof left, items, prio, 3, " │ ", room - 2);
    int x = draw_text(y, 1, left, room - 2, attr) + 2;
    if (msg) {
        char cut[sizeof a->msg + 8];
        fit_words(cut, sizeof cut, msg, a->cols - x - 2);
        draw_fill(y, x, a->cols - x, mattr);
        draw_text(y, x + 1, cut, a->cols - x - 2, mattr);
    }
}

static void draw_too_small(App *a) {
    char buf[128], need[64], quit[64];
    snprintf(buf, sizeof buf, "terminal too small: %dx%d", a->cols, a->rows);
    snprintf(need, sizeof need, "needs at least %dx%d", MIN_COLS, MIN_ROWS);
    snprintf(quit, sizeof quit, "%s quits", keymap_name_of("quit"));
    int y = a->rows / 2 - 1;
    if (y < 0) y = 0;
    draw_text(y, 0, buf, a->cols, A_BOLD);
    if (y + 1 < a->rows) draw_text(y + 1, 0, need, a->cols, 0);
    if (y + 2 < a->rows) draw_text(y + 2, 0, quit, a->cols, 0);
}

static void draw(App *a) {
    erase();
    getmaxyx(stdscr, a->rows, a->cols);
    a->too_small = a->cols < MIN_COLS || a->rows < MIN_ROWS;
    curs_set(0);
    if (a->too_small) {
        draw_too_small(a);
    } else {
        draw_title(a);
        draw_status(a);
        a->screens[a->screen]->draw(a, 1, a->rows - 2); /* may place the cursor and show it */
    }
    refresh();
    a->last_draw = now_s();
    a->draws++;
    a->redraw = 0;
}

/* ---- keys ---- */

static void on_mouse(App *a) {
    MEVENT ev;
    if (getmouse(&ev) != OK || a->too_small) return;
    int press = (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) != 0;
    int release = (ev.bstate & BUTTON1_RELEASED) != 0;
    int drag = (ev.bstate & REPORT_MOUSE_POSITION) != 0;
    int wheel = ev.bstate & BUTTON4_PRESSED ? -1 : 0;
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED) wheel = 1;
#endif
    if (ev.y == 0 && press) { /* the tabs */
        for (int s = 0; s < SCR_COUNT; s++)
            if (ev.x >= a->tab_x[s] && ev.x < a->tab_x[s + 1]) app_show(a, (ScreenId)s);
        return;
    }
    if (a->screen == SCR_EDITOR) editor_mouse(a, ev.y, ev.x, press, drag, release, wheel);
    a->redraw = 1;
}

/* A paste goes on while a bracketed paste or a burst does: the doc makes
 * it one undo step, whichever ends first. */
static void paste_state(App *a, int bracketed, int bursting) {
    int was = a->pasting || a->bursting, now = bracketed || bursting;
    a->pasting = bracketed, a->bursting = bursting;
    if (now && !was) doc_paste_begin(&a->doc);
    if (!now && was) doc_paste_end(&a->doc);
}

/* The paste gathered in a->paste: into the editor, or typed into the
 * current screen's text field (settings, search, corpus path). */
static void paste_flush(App *a) {
    if (a->screen == SCR_EDITOR) {
        editor_paste(a, a->paste, a->npaste);
    } else {
        for (size_t i = 0; i < a->npaste;) {
            uint32_t cp;
            i += utf8_decode(a->paste + i, a->npaste - i, &cp);
            if (cp >= 0x20 && a->screens[a->screen]->modal) a->screens[a->screen]->modal(a, (int)cp);
        }
    }
    a->npaste = 0;
    a->redraw = 1;
}

static void dispatch(App *a, int key) {
    a->redraw = 1;
    if (key == (K_FN | KEY_RESIZE)) return; /* draw() reads the new size */
    if (key == (K_FN | KEY_MOUSE)) {
        on_mouse(a);
        return;
    }
    if (a->asking_quit) { /* the question's keys are the keymap's M_ASK rows; any other says no */
        a->asking_quit = 0;
        const KeyBinding *b = keymap_find(M_ASK, key);
        if (b) b->fn(a);
        else app_message(a, 0, "not quitting");
        return;
    }
    if (key == K_PASTE_BEGIN) {
        paste_state(a, 1, a->bursting);
        a->npaste = 0;
        return;
    }
    if (a->pasting) { /* bracketed paste: text, whatever the keys */
        if (key == K_PASTE_END || a->npaste + 8 >= sizeof a->paste) {
            paste_flush(a);
            if (key == K_PASTE_END) {
                paste_state(a, 0, a->bursting);
                return;
            }
        }
        if (key == K_ENTER) key = '\n';
        if (key == K_TAB) key = ' ';
        if (key < K_FN && (key >= 0x20 || key == '\n')) a->npaste += utf8_encode((uint32_t)key, a->paste + a->npaste);
        return;
    }
    const KeyBinding *b = keymap_find(1 << a->screen, key);
    if (a->too_small) { /* nothing to see: only the quit keys work */
        if (b && !strcmp(b->action, "quit")) b->fn(a);
        return;
    }
    const Screen *sc = a->screens[a->screen];
    if (sc->modal && sc->modal(a, key)) return;
    if (b) {
        b->fn(a);
        return;
    }
    if (sc->key && sc->key(a, key)) return;
}

/* A key that types text in the editor (Enter a newline, Tab a space): what a paste is made of. */
static int text_key(int key) {
    return key == K_ENTER || key == K_TAB || (key >= 0x20 && key < K_FN && key != 0x7f);
}

/* A burst's keys: runs of text go into the editor as one paste each (one
 * move of the text after the cursor, laid out at the next frame); any other
 * key, or any key elsewhere, is dispatched as typed. */
static void dispatch_burst(App *a, const int *keys, int n) {
    for (int i = 0; i < n;) {
        if (a->screen != SCR_EDITOR || a->pasting || a->asking_quit || a->too_small || !text_key(keys[i])) {
            dispatch(a, keys[i++]);
            continue;
        }
        a->npaste = 0;
        for (; i < n && text_key(keys[i]) && a->npaste + 8 < sizeof a->paste; i++) {
            int k = keys[i] == K_ENTER ? '\n' : keys[i] == K_TAB ? ' ' : keys[i];
            a->npaste += utf8_encode((uint32_t)k, a->paste + a->npaste);
        }
        paste_flush(a);
    }
}

/* Reads every key waiting (up to KEYS_MAX) and handles them, before the
 * next frame. Keys faster than anyone types (BURST_KEYS waiting at once,
 * then whatever follows within BURST_GAP_S: a paste without bracketed paste)
 * are a burst: one undo step, its text inserted in runs, the text laid out
 * once a frame rather than once a key (a 50 KB paste took 9 s of CPU). */
static void read_keys(App *a) {
    int keys[KEYS_MAX], n = 0, key;
    while (n < KEYS_MAX && (key = tty_read_key())) keys[n++] = key;
    if (!n) return;
    double t = now_s();
    int burst = n >= BURST_KEYS || (a->bursting && t - a->burst_last < BURST_GAP_S);
    paste_state(a, a->pasting, burst);
    if (!burst) {
        for (int i = 0; i < n; i++) dispatch(a, keys[i]);
        return;
    }
    a->burst_last = t;
    a->burst_keys += n;
    dispatch_burst(a, keys, n);
}

/* ---- start, loop, end ---- */

static void refresh_snapshots(App *a) {
    uint64_t vs = a->view->serial;
    session_infill_view(a->s, a->view);
    if (a->view->serial != vs) a->redraw = 1;
    session_train_view(a->s, a->train);
    if (a->train->serial != a->train_serial) a->train_serial = a->train->serial, a->redraw = 1;
    SessionModel m;
    session_model(a->s, &m);
    if (strcmp(m.path, a->model.path) || m.loaded != a->model.loaded || strcmp(m.db_error, a->model.db_error)) {
        a->model = m;
        free_pieces(a);
        a->redraw = 1;
    }
}

static int event_loop(App *a) {
    struct pollfd fds[2] = {{0, POLLIN, 0}, {a->wake_rd, POLLIN, 0}};
    double last_snap = 0;
    while (!a->quit) {
        if (tty_signal()) {
            app_message(a, 0, "signal %d: quitting", tty_signal());
            break;
        }
        read_keys(a);
        a->now = now_s();
        int woken = 0;
        if (fds[1].revents & POLLIN) {
            char buf[256];
            while (read(a->wake_rd, buf, sizeof buf) > 0) woken = 1;
        }
        if (woken || a->now - last_snap > 0.5) {
            refresh_snapshots(a);
            last_snap = a->now;
        }
        int animating = 0;
        for (int i = 0; i < SCR_COUNT; i++)
            if (a->screens[i]->tick && a->screens[i]->tick(a)) animating = 1;
        if (a->msg[0] && a->now - a->msg_time < 7) a->redraw = 1; /* the message fades */
        if (a->quit) break;
        double since = a->now - a->last_draw;
        int timeout = 1000;
        if (a->redraw && since >= FRAME_S) {
            draw(a);
            read_keys(a); /* a resize queued during refresh */
            if (a->redraw) timeout = 0;
        }
        if (a->redraw) timeout = (int)((FRAME_S - (now_s() - a->last_draw)) * 1000) + 1;
        if (timeout < 0) timeout = 0;
        if (animating && timeout > 16) timeout = 16;
        if (a->msg[0] && a->now - a->msg_time < 7 && timeout > 250) timeout = 250;
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) return -1;
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) { /* the terminal went away */
            fprintf(stderr, "the terminal hung up: quitting\n");
            break;
        }
    }
    return 0;
}

static void at_exit(void) { tty_restore(); }

/* Everything App holds, and App itself. */
static void app_free(App *a) {
    for (int i = 0; i < SCR_COUNT; i++)
        if (a->screens[i] && a->screens[i]->done) a->screens[i]->done(a);
    doc_free(&a->doc);
    free_pieces(a);
    free(a->view), free(a->train);
    free(a);
}

static int fail(App *a, const char *fmt, const char *what) {
    tty_restore();
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    app_free(a);
    return 3;
}

int ui_main(const UiOptions *o) {
    App *a = calloc(1, sizeof *a);
    if (!a) return fprintf(stderr, "sdlm: out of memory\n"), 3;
    a->view = calloc(1, sizeof *a->view);
    a->train = calloc(1, sizeof *a->train);
    if (!a->view || !a->train) return fail(a, "sdlm: %s", "out of memory");
    Err e;
    if (paths_data_dir(a->data_dir, sizeof a->data_dir, &e)) a->data_dir[0] = 0;
    else snprintf(a->conf_path, sizeof a->conf_path, "%.1000s/ui.conf", a->data_dir);
    if (o->db) snprintf(a->db_path, sizeof a->db_path, "%s", o->db);
    else if (paths_default_db(a->db_path, sizeof a->db_path, &e)) a->db_path[0] = 0;
    conf_defaults(&a->conf);
    conf_load(a);
    doc_init(&a->doc);
    a->screens[SCR_EDITOR] = &screen_editor;
    a->screens[SCR_HISTORY] = &screen_history;
    a->screens[SCR_TRAIN] = &screen_train;
    a->screens[SCR_SETTINGS] = &screen_settings;
    a->screens[SCR_HELP] = &screen_help;
    a->screens[SCR_MODELS] = &screen_picker;

    const char *why = NULL;
    atexit(at_exit);
    tty_install_signals();
    if (tty_start(&a->colors, &why)) return fail(a, "sdlm: %s", why);
    tty_redirect_stderr(a->data_dir);

    int pfd[2];
    if (pipe(pfd)) return fail(a, "sdlm: cannot make a pipe: %s", strerror(errno));
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    a->wake_rd = pfd[0];
    SessionConfig sc = {.ckpt = o->ckpt, .spm = o->spm, .db = a->db_path[0] ? a->db_path : NULL, .wake_fd = pfd[1]};
    if (session_open(&a->s, &sc, &e)) {
        close(pfd[0]), close(pfd[1]);
        return fail(a, "sdlm: %s", e.msg);
    }
    session_model(a->s, &a->model);
    session_train_view(a->s, a->train);
    for (int i = 0; i < SCR_COUNT; i++)
        if (a->screens[i]->init) a->screens[i]->init(a);
    if (!a->model.loaded) {
        app_message(a, 1, "%s", a->model.error);
    } else if (a->model.choice_gone) { /* the user's choice cannot be honoured: say so, not silently */
        app_message(a, 1, "the model you chose is gone (%s picks another)", keymap_name_of("models"));
    } else {
        app_message(a, 0, "%s: gap, %s: fill, %s: help", keymap_name_of("span"), keymap_name_of("infill-run"),
                     keymap_name_of("help"));
    }
    a->screen = SCR_EDITOR;
    a->back = SCR_EDITOR;
    a->redraw = 1;
    if (getenv("SDLM_UI_TEST_CRASH")) { /* tests: a crash must still give the terminal back */
        draw(a);
        raise(SIGSEGV);
    }
    int rc = event_loop(a);
    conf_save(a);
    if (training_busy(a) || app_run_busy(a)) {
        app_message(a, 0, "stopping: saving the training run...");
        draw(a);
    }
    fprintf(stderr, "%ld redraws, %ld layouts of the text, %ld keys in bursts\n", a->draws, a->layouts,
            a->burst_keys);
    session_close(a->s); /* still with stderr in the log: the trainer may speak while it saves */
    tty_restore();
    close(pfd[0]), close(pfd[1]);
    app_free(a);
    return rc ? 3 : 0;
}
