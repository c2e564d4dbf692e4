/* tty.h: the terminal under the UI (see tty.c). */
#ifndef SDLM_TTY_H
#define SDLM_TTY_H

void tty_install_signals(void);
/* Starts curses on stdin/stdout; *colors = 0 under NO_COLOR. -1 and *why on failure. */
int tty_start(int *colors, const char **why);
void tty_restore(void); /* idempotent */
void tty_redirect_stderr(const char *data_dir); /* to <data_dir>/ui.log, else /dev/null */
int tty_read_key(void); /* one key (app.h codes), 0 when none is waiting */
int tty_signal(void);   /* the quit signal received, 0 if none */

#endif
