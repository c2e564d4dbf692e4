/* keymap.c: every key of the editor in one table. The loop dispatches
 * through it (keymap_find), the help screen (help.c) is drawn from it,
 * every key name a screen shows comes from it (keymap_name_of), and
 * `sdlm keys` prints it for the man page, so none of them can drift.
 * Rows for the same action in a row (Ctrl-Z and Ctrl-U: undo) are shown as
 * one line in the help. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "ui.h"

#define F(n) (K_FN | KEY_F(n))
#define FN(k) (K_FN | (k))

const KeyBinding keymap[] = {
    /* global */
    {M_ALL, "global", F(1), "F1", "help", "show every key (this screen); again to close", act_help},
    {M_HISTORY | M_TRAIN | M_HELP | M_MODELS, "global", '?', "?", "help", "help, on screens without typing", act_help},
    {M_ALL, "global", F(2), "F2", "editor", "the editor", act_editor},
    {M_ALL, "global", F(3), "F3", "history", "the history: saved samples and runs", act_history},
    {M_ALL, "global", F(4), "F4", "training", "the training screen", act_train},
    {M_ALL, "global", F(6), "F6", "settings", "infill settings: sampler, steps, seed, candidates, clamp", act_settings},
    {M_ALL, "global", KCTRL('o'), "Ctrl-O", "settings", "infill settings", act_settings},
    {M_ALL, "global", F(9), "F9", "models", "the model picker: the shipped model and your checkpoints", act_models},
    {M_ALL, "global", KCTRL('q'), "Ctrl-Q", "quit",
     "quit (asks first when a run or unsaved text would be lost)", act_quit},
    {M_ALL, "global", KCTRL('c'), "Ctrl-C", "quit", "quit, the same", act_quit},
    {M_ALL, "global", F(10), "F10", "quit", "quit, as in htop and mc", act_quit},
    {M_HISTORY | M_TRAIN | M_MODELS, "global", 'q', "q", "quit", "quit, on screens without typing", act_quit},
    {M_HISTORY | M_TRAIN | M_HELP | M_SETTINGS | M_MODELS, "global", K_ESC, "Esc", "back",
     "back to the editor", act_back},
    {M_ALL, "global", KCTRL('l'), "Ctrl-L", "redraw", "redraw the screen", act_redraw},
    {M_ASK, "global", 'y', "y", "quit-yes", "when asked before quitting: quit", act_quit_yes},
    {M_ASK, "global", 'Y', "Y", "quit-yes", "when asked before quitting: quit", act_quit_yes},
    {M_ASK, "global", 0, "n", "quit-no", "when asked before quitting: any other key does not quit", NULL},

    /* editor: moving and selecting */
    {M_EDITOR, "editor: move", FN(KEY_LEFT), "Left", "left", "one character left", ed_left},
    {M_EDITOR, "editor: move", FN(KEY_RIGHT), "Right", "right", "one character right", ed_right},
    {M_EDITOR, "editor: move", FN(KEY_UP), "Up", "up", "one line up", ed_up},
    {M_EDITOR, "editor: move", FN(KEY_DOWN), "Down", "down", "one line down", ed_down},
    {M_EDITOR, "editor: move", FN(KEY_HOME), "Home", "line-start", "start of the line", ed_home},
    {M_EDITOR, "editor: move", FN(KEY_END), "End", "line-end", "end of the line", ed_end},
    {M_EDITOR, "editor: move", K_CLEFT, "Ctrl-Left", "word-left", "one word left", ed_word_left},
    {M_EDITOR, "editor: move", KALT('b'), "Alt-b", "word-left", "one word left", ed_word_left},
    {M_EDITOR, "editor: move", K_CRIGHT, "Ctrl-Right", "word-right", "one word right", ed_word_right},
    {M_EDITOR, "editor: move", KALT('f'), "Alt-f", "word-right", "one word right", ed_word_right},
    {M_EDITOR, "editor: move", FN(KEY_PPAGE), "PgUp", "page-up", "one screen up", ed_pgup},
    {M_EDITOR, "editor: move", FN(KEY_NPAGE), "PgDn", "page-down", "one screen down", ed_pgdn},
    {M_EDITOR, "editor: move", K_SLEFT, "Shift-Left", "select-left", "select: extend left", ed_sleft},
    {M_EDITOR, "editor: move", K_SRIGHT, "Shift-Right", "select-right", "select: extend right", ed_sright},
    {M_EDITOR, "editor: move", K_SUP, "Shift-Up", "select-up", "select: extend up", ed_sup},
    {M_EDITOR, "editor: move", K_SDOWN, "Shift-Down", "select-down", "select: extend down", ed_sdown},
    {M_EDITOR, "editor: move", K_SHOME, "Shift-Home", "select-line-start", "select to the start of the line", ed_shome},
    {M_EDITOR, "editor: move", K_SEND, "Shift-End", "select-line-end", "select to the end of the line", ed_send},
    {M_EDITOR, "editor: move", KCTRL('a'), "Ctrl-A", "select-all", "select all the text", ed_select_all},
    {M_EDITOR, "editor: move", 0, "mouse", "mouse", "click places the cursor, drag selects, wheel scrolls", NULL},

    /* editor: editing */
    {M_EDITOR, "editor: edit", K_ENTER, "Enter", "newline", "new line", ed_newline},
    {M_EDITOR, "editor: edit", K_BACKSPACE, "Backspace", "backspace",
     "delete before the cursor (or the selection)", ed_backspace},
    {M_EDITOR, "editor: edit", FN(KEY_DC), "Delete", "delete", "delete at the cursor (or the selection)", ed_delete},
    {M_EDITOR, "editor: edit", KCTRL('z'), "Ctrl-Z", "undo", "undo", ed_undo},
    {M_EDITOR, "editor: edit", KCTRL('u'), "Ctrl-U", "undo", "undo", ed_undo},
    {M_EDITOR, "editor: edit", KALT('z'), "Alt-z", "redo", "redo", ed_redo},
    {M_EDITOR, "editor: edit", KCTRL('k'), "Ctrl-K", "clear", "clear all the text (undo brings it back)", ed_clear},
    {M_EDITOR, "editor: edit", 0, "paste", "paste", "the terminal's paste inserts text as it is", NULL},

    /* editor: spans */
    {M_EDITOR, "editor: spans", KCTRL('t'), "Ctrl-T", "span",
     "turn the selection into a span, or insert an empty span", ed_span},
    {M_EDITOR, "editor: spans", KALT('='), "Alt-=", "span-grow",
     "one more slot in the span at the cursor", ed_span_grow},
    {M_EDITOR, "editor: spans", KALT('+'), "Alt-+", "span-grow", "one more slot", ed_span_grow},
    {M_EDITOR, "editor: spans", F(8), "F8", "span-grow", "one more slot", ed_span_grow},
    {M_EDITOR, "editor: spans", KALT('-'), "Alt--", "span-shrink",
     "one slot fewer in the span at the cursor", ed_span_shrink},
    {M_EDITOR, "editor: spans", F(7), "F7", "span-shrink", "one slot fewer", ed_span_shrink},
    {M_EDITOR, "editor: spans", KCTRL('d'), "Ctrl-D", "span-remove", "remove the span at the cursor", ed_span_remove},

    /* editor: infilling */
    {M_EDITOR, "editor: infill", KCTRL('r'), "Ctrl-R", "infill-run", "fill the spans: watch them denoise", ed_run},
    {M_EDITOR, "editor: infill", F(5), "F5", "infill-run", "fill the spans", ed_run},
    {M_EDITOR, "editor: infill", K_ESC, "Esc", "infill-stop", "stop the run at once", ed_stop},
    {M_EDITOR, "editor: infill", KCTRL('n'), "Ctrl-N", "candidate-next", "show the next candidate", ed_cand_next},
    {M_EDITOR, "editor: infill", KCTRL('p'), "Ctrl-P", "candidate-prev", "show the previous candidate", ed_cand_prev},
    {M_EDITOR, "editor: infill", KCTRL('y'), "Ctrl-Y", "accept", "accept the shown fill into the text", ed_accept},
    {M_EDITOR, "editor: infill", KCTRL('g'), "Ctrl-G", "reroll",
     "re-roll the span at the cursor, keep the others", ed_reroll},
    {M_EDITOR, "editor: infill", K_ALEFT, "Alt-Left", "scrub-back", "trajectory: one step back", ed_scrub_back},
    {M_EDITOR, "editor: infill", KALT(','), "Alt-,", "scrub-back", "trajectory: one step back", ed_scrub_back},
    {M_EDITOR, "editor: infill", K_ARIGHT, "Alt-Right", "scrub-forward", "trajectory: one step forward", ed_scrub_fwd},
    {M_EDITOR, "editor: infill", KALT('.'), "Alt-.", "scrub-forward", "trajectory: one step forward", ed_scrub_fwd},
    {M_EDITOR, "editor: infill", KALT('<'), "Alt-<", "scrub-start",
     "trajectory: the first step (pure noise)", ed_scrub_start},
    {M_EDITOR, "editor: infill", KALT('>'), "Alt->", "scrub-end",
     "trajectory: the last step (the result)", ed_scrub_end},

    /* history */
    {M_HISTORY, "history", FN(KEY_UP), "Up", "up", "previous row", hist_up},
    {M_HISTORY, "history", FN(KEY_DOWN), "Down", "down", "next row", hist_down},
    {M_HISTORY, "history", FN(KEY_PPAGE), "PgUp", "page-up", "one page up", hist_pgup},
    {M_HISTORY, "history", FN(KEY_NPAGE), "PgDn", "page-down", "one page down", hist_pgdn},
    {M_HISTORY, "history", FN(KEY_HOME), "Home", "first", "the newest", hist_home},
    {M_HISTORY, "history", FN(KEY_END), "End", "last", "the oldest", hist_end},
    {M_HISTORY, "history", '/', "/", "search", "search templates and results (Enter keeps, Esc clears)", hist_search},
    {M_HISTORY, "history", K_ENTER, "Enter", "open", "open the sample: replay its denoising", hist_open},
    {M_HISTORY, "history", 'r', "r", "replay", "replay the sample's trajectory again", hist_replay},
    {M_HISTORY, "history", 'e', "e", "load", "load the sample's template into the editor", hist_load},
    {M_HISTORY, "history", K_TAB, "Tab", "toggle", "samples / training runs with their curves", hist_toggle},

    /* training */
    {M_TRAIN, "training", 's', "s", "train-start", "start training with the corpus and preset shown", tr_start},
    {M_TRAIN, "training", ' ', "Space", "train-pause", "pause / resume", tr_pause},
    {M_TRAIN, "training", 'x', "x", "train-stop", "stop (saves a checkpoint first)", tr_stop},
    {M_TRAIN, "training", 'w', "w", "train-save", "save a checkpoint now", tr_save},
    {M_TRAIN, "training", 'l', "l", "train-load",
     "the editor uses this run's checkpoint (remembered, as in the model picker)", tr_load},
    {M_TRAIN, "training", 'c', "c", "corpus", "type the corpus path (Enter keeps, Esc cancels)", tr_corpus},
    {M_TRAIN, "training", 'p', "p", "preset-next", "next size preset", tr_preset_next},
    {M_TRAIN, "training", FN(KEY_RIGHT), "Right", "preset-next", "next size preset", tr_preset_next},
    {M_TRAIN, "training", FN(KEY_LEFT), "Left", "preset-prev", "previous size preset", tr_preset_prev},
    {M_TRAIN, "training", 'n', "n", "steps", "cycle the step limit (none, 100, 1k, 10k, 100k)", tr_steps},

    /* the model picker */
    {M_MODELS, "models", FN(KEY_UP), "Up", "model-up", "previous model", picker_up},
    {M_MODELS, "models", FN(KEY_DOWN), "Down", "model-down", "next model", picker_down},
    {M_MODELS, "models", FN(KEY_HOME), "Home", "model-first", "the first (the shipped model)", picker_home},
    {M_MODELS, "models", FN(KEY_END), "End", "model-last", "the last", picker_end},
    {M_MODELS, "models", K_ENTER, "Enter", "model-use",
     "the editor uses this model from now on (remembered)", picker_use},

    /* settings */
    {M_SETTINGS, "settings", FN(KEY_UP), "Up", "field-prev", "previous setting", set_up},
    {M_SETTINGS, "settings", FN(KEY_DOWN), "Down", "field-next", "next setting", set_down},
    {M_SETTINGS, "settings", FN(KEY_LEFT), "Left", "value-down", "smaller / previous value", set_left},
    {M_SETTINGS, "settings", FN(KEY_RIGHT), "Right", "value-up", "larger / next value", set_right},
    {M_SETTINGS, "settings", K_ENTER, "Enter", "close",
     "keep the settings and go back (they are remembered)", set_close},
    {M_SETTINGS, "settings", 0, "0-9", "digits", "type a number into steps, seed, candidates or span size", NULL},

    /* help */
    {M_HELP, "help", FN(KEY_UP), "Up", "up", "scroll up", help_up},
    {M_HELP, "help", FN(KEY_DOWN), "Down", "down", "scroll down", help_down},
    {M_HELP, "help", FN(KEY_PPAGE), "PgUp", "page-up", "one page up", help_pgup},
    {M_HELP, "help", FN(KEY_NPAGE), "PgDn", "page-down", "one page down", help_pgdn},
    {M_HELP, "help", 'q', "q", "back", "close the help", act_back},
};

const int keymap_count = sizeof keymap / sizeof *keymap;

const KeyBinding *keymap_find(int mask, int key) {
    for (int i = 0; i < keymap_count; i++)
        if (keymap[i].fn && keymap[i].key == key && (keymap[i].screens & mask)) return &keymap[i];
    return NULL;
}

static const char *name_in(int mask, const char *action) {
    for (int i = 0; i < keymap_count; i++)
        if ((keymap[i].screens & mask) && !strcmp(keymap[i].action, action)) return keymap[i].keyname;
    return "?";
}

const char *keymap_name_of(const char *action) { return name_in(~0, action); }

const char *keymap_name_in(ScreenId s, const char *action) { return name_in(1 << s, action); }

size_t keymap_names_in(ScreenId s, const char *action, const char *sep, char *out, size_t cap) {
    size_t n = 0;
    if (cap) out[0] = 0;
    for (int i = 0; i < keymap_count; i++) {
        if (!(keymap[i].screens & (1 << s)) || strcmp(keymap[i].action, action)) continue;
        int m = snprintf(out + n, cap > n ? cap - n : 0, "%s%s", n ? sep : "", keymap[i].keyname);
        if (m > 0) n += (size_t)m;
    }
    return n;
}

void ui_keys_print(FILE *out) {
    for (int i = 0; i < keymap_count; i++)
        fprintf(out, "%s\t%s\t%s\n", keymap[i].group, keymap[i].keyname, keymap[i].about);
}
