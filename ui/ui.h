/* ui.h: the terminal editor, as the command line starts it (`sdlm` with no
 * command), and its key table for `sdlm keys`. */
#ifndef SDLM_UI_H
#define SDLM_UI_H

#include <stdio.h>

typedef struct {
    const char *ckpt; /* NULL: the newest checkpoint of the history, else the shipped model */
    const char *spm;  /* tokenizer for a checkpoint without one inside */
    const char *db;   /* NULL: $XDG_DATA_HOME/sdlm/sdlm.db */
} UiOptions;

/* Runs the editor until the user quits; returns the exit status (0, or 3
 * when the terminal cannot be used, with one line on stderr). */
int ui_main(const UiOptions *o);

/* Every key binding, one a line: GROUP<TAB>KEY<TAB>DESCRIPTION. */
void ui_keys_print(FILE *out);

#endif
