/* app.h: what the UI's files share: the one App state, the screen table, the
 * key codes, the keymap and the colour roles. Only the UI thread touches any
 * of it (and curses); the engine is reached through train/session.h. */
#ifndef SDLM_APP_H
#define SDLM_APP_H

#include <stdint.h>
#include <stdio.h>

#include "doc.h"
#include "models.h"
#include "session.h"
#include "clock.h"

/* ---- keys: characters are their code point; the rest sit above Unicode ---- */
enum {
    K_FN = 0x200000,  /* K_FN | ncurses KEY_* code */
    K_ALT = 0x400000, /* K_ALT | character: Alt-x (Esc then x) */
    K_OWN = K_FN | 0x1000,
    K_CLEFT = K_OWN, K_CRIGHT, K_ALEFT, K_ARIGHT, K_SLEFT, K_SRIGHT, K_SUP, K_SDOWN, K_SHOME, K_SEND,
    K_PASTE_BEGIN, K_PASTE_END,
    K_ESC = 27, K_ENTER = 13, K_TAB = 9, K_BACKSPACE = 127,
};
#define KCTRL(c) ((c) & 0x1f)
#define KALT(c) (K_ALT | (c))

/* ---- screens ---- */
typedef enum { SCR_EDITOR, SCR_HISTORY, SCR_TRAIN, SCR_SETTINGS, SCR_HELP, SCR_MODELS, SCR_COUNT } ScreenId;
/* masks for the keymap */
enum { M_EDITOR = 1, M_HISTORY = 2, M_TRAIN = 4, M_SETTINGS = 8, M_HELP = 16, M_MODELS = 32, M_ALL = 63 };

typedef struct App App;

typedef struct {
    const char *name;                 /* "Editor": the tab title */
    void (*init)(App *a);             /* once, at start-up */
    void (*enter)(App *a);            /* each time it is shown (may be NULL) */
    void (*draw)(App *a, int top, int rows); /* the rows between the title and the status lines */
    int (*modal)(App *a, int key);    /* before the keymap: 1 = consumed (text fields, prompts) */
    int (*key)(App *a, int key);      /* after the keymap: 1 = consumed (typing) */
    int (*tick)(App *a);              /* each loop turn: 1 = keep redrawing (animating) */
} Screen;

extern const Screen screen_editor, screen_history, screen_train, screen_settings, screen_help, screen_picker;

/* ---- the keymap: one table drives dispatch, the help screen and `sdlm keys` ---- */
typedef struct {
    int screens;           /* M_* mask where the binding works */
    const char *group;     /* heading in the help screen */
    int key;
    const char *keyname;   /* as the help shows it: "Ctrl-R" */
    const char *action;    /* short name: "infill-run" */
    const char *about;
    void (*fn)(App *a);
} KeyBinding;

extern const KeyBinding keymap[];
extern const int keymap_count;
const KeyBinding *keymap_find(int screen, int key);
const char *keymap_name_of(const char *action); /* first key name bound to an action ("?" if none) */

/* ---- colours: one table of roles (ui/draw.c) ---- */
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
/* Joins items with sep into out, dropping whole items, the largest prio
 * number first, until the text fits in width columns: a line fitted to the
 * terminal never cuts a word (as htop's and lazygit's do). Empty or NULL
 * items are skipped. Returns the width used. */
/* s into out, cut after the last whole word that fits, with "…". */
int fit_words(char *out, size_t cap, const char *s, int width);
int fit_items(char *out, size_t cap, const char *const *items, const int *prio, int n, const char *sep, int width);

/* ---- the state ---- */
typedef struct {
    InfillSettings set;
    int span_slots;        /* slots of a new empty span */
    char corpus[1024];     /* the training screen's corpus */
    int preset;
    int64_t train_steps;   /* 0: no limit */
} UiConf;

struct App {
    Session *s;
    int wake_rd;
    SessionModel model;
    ScreenId screen, back;        /* back: where Esc returns from help/settings */
    const Screen *screens[SCR_COUNT];
    int rows, cols, too_small;
    int colors;
    int quit, asking_quit;
    char msg[512];
    double msg_time;
    int msg_error;
    UiConf conf;
    char conf_path[1024], data_dir[1024], db_path[1024];
    Doc doc;
    uint64_t doc_saved_version;   /* the doc as it was when last run (saved in the history) */
    InfillView *view;             /* the latest snapshot */
    TrainProgress *train;         /* the latest snapshot */
    uint64_t train_serial;
    char **pieces;                /* display text of each piece, cached: [model.V] */
    int npieces;
    int pasting;                  /* inside a bracketed paste */
    char paste[65536];            /* its text, or a burst's, on the way to the editor */
    size_t npaste;
    int bursting;                 /* keys come faster than anyone types: a paste without brackets */
    double burst_last;            /* when its last keys were read */
    long burst_keys;              /* keys read in bursts, for the log */
    int redraw;                   /* something changed: draw */
    double last_draw, now;
    long draws, layouts;          /* frames drawn, whole-text layouts made (editor.c): for the log and tests */
    /* the model picker (picker.c): the list read when it opens */
    ModelEntry *models;
    int nmodels, models_sel, models_top;
};

/* app.c */
void app_message(App *a, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void app_show(App *a, ScreenId s);
void app_ask_quit(App *a);
const char *app_piece(App *a, int32_t id); /* cached session_piece */
/* a step count as people read it: 179, 8.0k, 21k */
void app_steps_text(int64_t steps, char *out, size_t cap);
/* path with the home directory written ~, for showing (buf[cap]) */
const char *app_tilde(const char *path, char *buf, size_t cap);
void app_model_changed(App *a);
/* Opens ckpt for the editor; chosen: the user picked it, so remember it for
 * the next start (and for `sdlm infill`). Says so, and warns when it is too
 * young to fill. Returns 0, or -1 with the error shown. */
int app_use_model(App *a, const char *ckpt, int chosen);
int app_run_busy(const App *a);           /* an infill is running */
int app_text_unsaved(const App *a);

/* conf (settings.c) */
void conf_defaults(UiConf *c);
void conf_load(App *a);
void conf_save(App *a);

/* editor.c: what other screens ask of the editor */
void editor_load_template(App *a, const char *tmpl);
void editor_paste(App *a, const char *text, size_t len); /* at the cursor, as one edit */
void editor_after_model_change(App *a);

/* handlers bound in the keymap, each in its screen's file */
void act_help(App *a), act_editor(App *a), act_history(App *a), act_train(App *a), act_settings(App *a), act_models(App *a);
void act_quit(App *a), act_back(App *a), act_redraw(App *a);
void ed_left(App *a), ed_right(App *a), ed_up(App *a), ed_down(App *a), ed_home(App *a), ed_end(App *a);
void ed_sleft(App *a), ed_sright(App *a), ed_sup(App *a), ed_sdown(App *a), ed_shome(App *a), ed_send(App *a);
void ed_word_left(App *a), ed_word_right(App *a), ed_doc_start(App *a), ed_doc_end(App *a);
void ed_select_all(App *a);
void ed_newline(App *a), ed_backspace(App *a), ed_delete(App *a), ed_undo(App *a), ed_redo(App *a), ed_clear(App *a);
void ed_span(App *a), ed_span_grow(App *a), ed_span_shrink(App *a), ed_span_remove(App *a);
void ed_run(App *a), ed_stop(App *a), ed_cand_next(App *a), ed_cand_prev(App *a), ed_accept(App *a);
void ed_reroll(App *a), ed_scrub_back(App *a), ed_scrub_fwd(App *a), ed_scrub_start(App *a), ed_scrub_end(App *a);
void ed_pgup(App *a), ed_pgdn(App *a);
void help_up(App *a), help_down(App *a), help_pgup(App *a), help_pgdn(App *a);
void set_up(App *a), set_down(App *a), set_left(App *a), set_right(App *a), set_close(App *a);
void hist_up(App *a), hist_down(App *a), hist_pgup(App *a), hist_pgdn(App *a), hist_search(App *a);
void hist_open(App *a), hist_load(App *a), hist_replay(App *a), hist_toggle(App *a), hist_home(App *a), hist_end(App *a);
void tr_start(App *a), tr_pause(App *a), tr_stop(App *a), tr_save(App *a), tr_load(App *a);
void tr_corpus(App *a), tr_preset_next(App *a), tr_preset_prev(App *a), tr_steps(App *a);
void picker_up(App *a), picker_down(App *a), picker_home(App *a), picker_end(App *a), picker_use(App *a);

/* the editor uses the mouse */
void editor_mouse(App *a, int y, int x, int press, int drag, int release, int wheel);

#endif
