/* app.h: the one App state (each screen's own state inside it, as kilo's
 * one E), the screen table, and what the screens ask of the loop and of
 * each other. Only the UI thread touches any of it (and curses); the engine
 * is reached through session/session.h, the history through data/store.h.
 * Keys and the keymap are in keys.h, colours and text drawing in draw.h. */
#ifndef SDLM_APP_H
#define SDLM_APP_H

#include <stddef.h>
#include <stdint.h>

#include "doc.h"
#include "draw.h"
#include "keys.h"
#include "models.h"
#include "session.h"
#include "store.h"

/* ---- the screen table: one dispatcher (app.c) calls these ---- */
typedef struct {
    const char *name;                 /* "Editor": its tab's title */
    const char *action;               /* the keymap action that shows it: its tab's key */
    void (*init)(App *a);             /* once, at start-up (may be NULL) */
    void (*done)(App *a);             /* once, at the end: frees what its state holds (may be NULL) */
    void (*enter)(App *a);            /* each time it is shown (may be NULL) */
    void (*draw)(App *a, int top, int rows); /* the rows between the title and the status lines */
    int (*modal)(App *a, int key);    /* before the keymap: 1 = consumed (text fields, prompts) */
    int (*key)(App *a, int key);      /* after the keymap: 1 = consumed (typing) */
    int (*tick)(App *a);              /* each loop turn: 1 = keep redrawing (animating) */
} Screen;

extern const Screen screen_editor, screen_history, screen_train, screen_settings, screen_help, screen_picker;

/* ---- the remembered settings (settings.c: ui.conf) ---- */
typedef struct {
    InfillSettings set;
    int span_slots;        /* slots of a new empty span */
    char corpus[1024];     /* the training screen's corpus */
    int preset;
    int64_t train_steps;   /* 0: no limit */
} UiConf;

/* ---- each screen's state ---- */

enum { MAX_SPANS = 512, HELP_LINES = 160 };

/* editor.c and editor_run.c */
typedef struct {
    int top;           /* first text row shown */
    int want_col;      /* column kept by Up/Down; -1: the cursor's, at the next layout */
    int cand;          /* candidate shown */
    int has_run;       /* the view belongs to a run started from this text */
    char *run_text;    /* the template the run filled: its fill shows only on exactly this text */
    int rerolling;     /* the run is a re-roll of one span (its candidate keeps its place) */
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
} EditorState;

/* history.c: samples (searchable) and training runs, through its own
 * read-only Store connection */
typedef struct {
    Store *st;
    char err[512];
    int runs_mode;         /* Tab: the training runs instead of the samples */
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
    int64_t metrics_run;   /* the run whose curves are loaded */
    double *loss, *acc;
    int nm;
    uint64_t seen_serial;  /* the infill view when last looked: a run ending may have saved samples */
} HistoryState;

/* training.c */
typedef struct {
    int editing;           /* typing the corpus path */
    char field[1024];
    size_t flen;
    /* strings the trainer keeps pointers to while it runs */
    char ckpt[1200], spm[1200], corpus[1024];
    double *series;
    int cap;
    int64_t loaded_step;   /* checkpoint step last handed to the editor */
    /* time spent paused in this run, so "elapsed" is training time */
    double paused_s, paused_since;
    double elapsed_shown;  /* elapsed when the run ended, kept on screen */
    TrainState last_state; /* at the last tick: a run ending is said once */
} TrainScreenState;

/* settings.c */
typedef struct {
    int field;
    int typing;            /* digits replace the value on the first key */
} SettingsState;

/* help.c: the keymap as lines, made once */
typedef struct {
    int top, n;
    char keys[HELP_LINES][64];     /* a group's heading, or the keys of one action: "Ctrl-Z, Ctrl-U" */
    const char *about[HELP_LINES]; /* what they do (the keymap's text); NULL on headings and blank lines */
    int keys_w;                    /* the widest keys: the column the texts start at */
} HelpState;

/* picker.c: the list read when it opens */
typedef struct {
    ModelEntry *v;
    int n, sel, top;
} PickerState;

/* ---- the state ---- */
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
    int tab_x[SCR_COUNT + 1];     /* where each tab was drawn, for the mouse */
    EditorState editor;
    HistoryState history;
    TrainScreenState training;
    SettingsState settings;
    HelpState help;
    PickerState picker;
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
/* the editor uses the mouse */
void editor_mouse(App *a, int y, int x, int press, int drag, int release, int wheel);

#endif
