/* keys.h: the editor's key codes and its one keymap table (keymap.c). The
 * table drives dispatch (app.c), the help screen (help.c), every key name
 * the screens show (keymap_name_of, never typed out) and `sdlm keys` for
 * the man page, so none of them can drift. No curses and no state here:
 * tty.c turns the keyboard into these codes, the screens bind them. */
#ifndef SDLM_KEYS_H
#define SDLM_KEYS_H

#include <stddef.h>

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

/* ---- screens, in the order of their tabs ---- */
typedef enum { SCR_EDITOR, SCR_HISTORY, SCR_TRAIN, SCR_SETTINGS, SCR_MODELS, SCR_HELP, SCR_COUNT } ScreenId;
/* where a binding works: masks of screens, and the question before quitting (on any screen) */
enum {
    M_EDITOR = 1 << SCR_EDITOR, M_HISTORY = 1 << SCR_HISTORY, M_TRAIN = 1 << SCR_TRAIN,
    M_SETTINGS = 1 << SCR_SETTINGS, M_MODELS = 1 << SCR_MODELS, M_HELP = 1 << SCR_HELP,
    M_ALL = (1 << SCR_COUNT) - 1,
    M_ASK = 1 << SCR_COUNT,
};

typedef struct App App;

typedef struct {
    int screens;           /* M_* mask where the binding works */
    const char *group;     /* heading in the help screen and the man page */
    int key;
    const char *keyname;   /* as the help shows it: "Ctrl-R" */
    const char *action;    /* short name: "infill-run" */
    const char *about;
    void (*fn)(App *a);    /* NULL: a row that only documents (the mouse, paste, digits) */
} KeyBinding;

extern const KeyBinding keymap[];
extern const int keymap_count;
const KeyBinding *keymap_find(int mask, int key);         /* the binding of key where mask is, or NULL */
const char *keymap_name_of(const char *action);           /* first key name bound to an action ("?" if none) */
const char *keymap_name_in(ScreenId s, const char *action); /* the same, among screen s's bindings */
/* Every key name bound to an action on screen s, joined by sep ("q or Esc"); returns the length like snprintf. */
size_t keymap_names_in(ScreenId s, const char *action, const char *sep, char *out, size_t cap);

/* handlers bound in the keymap, each in its screen's file */
void act_help(App *a), act_editor(App *a), act_history(App *a), act_train(App *a), act_settings(App *a);
void act_models(App *a), act_quit(App *a), act_quit_yes(App *a), act_back(App *a), act_redraw(App *a);
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
void hist_open(App *a), hist_load(App *a), hist_replay(App *a), hist_toggle(App *a), hist_home(App *a);
void hist_end(App *a);
void tr_start(App *a), tr_pause(App *a), tr_stop(App *a), tr_save(App *a), tr_load(App *a);
void tr_corpus(App *a), tr_preset_next(App *a), tr_preset_prev(App *a), tr_steps(App *a);
void picker_up(App *a), picker_down(App *a), picker_home(App *a), picker_end(App *a), picker_use(App *a);

#endif
