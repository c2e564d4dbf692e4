/* tty.c: the terminal under the UI: starting curses (newterm, so a bad
 * TERM is one line and status 3), giving the terminal back whatever happens,
 * the signals, stderr sent to a log while curses is up, and the keyboard
 * turned into the key codes of app.h.
 *
 * The terminal is restored at exit (atexit), on SIGINT/SIGTERM/SIGHUP (a
 * flag the loop sees: a clean shutdown) and on crashes (SIGSEGV, SIGBUS,
 * SIGFPE, SIGABRT: the saved termios and reset sequences are written straight
 * to the tty, then the signal is re-raised). Not here: drawing (draw.c). */
#include <curses.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "draw.h"
#include "keys.h"
#include "tty.h"

/* ---- the terminal, restored whatever happens ---- */

static struct termios saved_tio;
static int saved_tio_ok, curses_up, saved_stderr = -1;
static volatile sig_atomic_t got_signal;
static const char reset_seq[] = "\033[?1002l\033[?1006l\033[?1000l\033[?2004l\033[0m\033[?25h\033[?1049l\r\n";

void tty_restore(void) {
    if (curses_up) {
        fputs("\033[?1002l\033[?2004l", stdout);
        fflush(stdout);
        endwin();
        curses_up = 0;
    }
    if (saved_stderr >= 0) {
        dup2(saved_stderr, 2);
        close(saved_stderr);
        saved_stderr = -1;
    }
}

static void on_quit_signal(int sig) { got_signal = sig; }

int tty_signal(void) { return got_signal; }

static void on_crash(int sig) {
    /* async-signal-safe only: termios and write */
    if (saved_tio_ok) tcsetattr(0, TCSANOW, &saved_tio);
    ssize_t r = write(1, reset_seq, sizeof reset_seq - 1);
    (void)r;
    if (saved_stderr >= 0) dup2(saved_stderr, 2);
    signal(sig, SIG_DFL);
    raise(sig);
}

void tty_install_signals(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_quit_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct sigaction cr = {0};
    cr.sa_handler = on_crash;
    sigemptyset(&cr.sa_mask);
    cr.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &cr, NULL);
    sigaction(SIGBUS, &cr, NULL);
    sigaction(SIGFPE, &cr, NULL);
    sigaction(SIGABRT, &cr, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Keys ncurses may not know by name: xterm's modifier sequences and
 * bracketed paste. Each gets a code above KEY_MAX mapped to ours. */
enum { OWN_BASE = 0x400 };
static const struct {
    const char *cap, *seq;
    int key;
} own_keys[] = {
    {"kLFT5", "\033[1;5D", K_CLEFT}, {"kRIT5", "\033[1;5C", K_CRIGHT}, {"kLFT3", "\033[1;3D", K_ALEFT},
    {"kRIT3", "\033[1;3C", K_ARIGHT}, {"kLFT", "\033[1;2D", K_SLEFT}, {"kRIT", "\033[1;2C", K_SRIGHT},
    {"kUP", "\033[1;2A", K_SUP}, {"kDN", "\033[1;2B", K_SDOWN}, {"kHOM", "\033[1;2H", K_SHOME},
    {"kEND", "\033[1;2F", K_SEND}, {NULL, "\033[200~", K_PASTE_BEGIN}, {NULL, "\033[201~", K_PASTE_END},
    /* Home and End as terminals send them outside keypad mode */
    {NULL, "\033[H", K_FN | KEY_HOME}, {NULL, "\033[F", K_FN | KEY_END}, {NULL, "\033OH", K_FN | KEY_HOME},
    {NULL, "\033OF", K_FN | KEY_END}, {NULL, "\033[1~", K_FN | KEY_HOME}, {NULL, "\033[4~", K_FN | KEY_END},
    {NULL, "\033[1;5H", K_FN | KEY_HOME}, {NULL, "\033[1;5F", K_FN | KEY_END},
};
enum { NOWN = sizeof own_keys / sizeof *own_keys };
static int own_code[NOWN][2]; /* ncurses code(s) for each */

static void define_keys(void) {
    for (int i = 0; i < NOWN; i++) {
        own_code[i][0] = own_code[i][1] = -1;
        if (own_keys[i].cap) {
            char *s = tigetstr((char *)own_keys[i].cap);
            if (s && s != (char *)-1) {
                int k = key_defined(s);
                if (k > 0) own_code[i][0] = k;
            }
        }
        int k = key_defined(own_keys[i].seq);
        if (k > 0) own_code[i][1] = k;
        else if (define_key(own_keys[i].seq, OWN_BASE + i) == OK) own_code[i][1] = OWN_BASE + i;
    }
}

static int map_fn_key(int ch) {
    for (int i = 0; i < NOWN; i++)
        if (ch == own_code[i][0] || ch == own_code[i][1]) return own_keys[i].key;
    switch (ch) {
    case KEY_BACKSPACE: return K_BACKSPACE;
    case KEY_ENTER: return K_ENTER;
    case KEY_SLEFT: return K_SLEFT;
    case KEY_SRIGHT: return K_SRIGHT;
    case KEY_SR: return K_SUP;
    case KEY_SF: return K_SDOWN;
    case KEY_SHOME: return K_SHOME;
    case KEY_SEND: return K_SEND;
    }
    return K_FN | ch;
}

/* One key from ncurses' queue (non-blocking); 0 when none. */
int tty_read_key(void) {
    wint_t ch;
    int r = get_wch(&ch);
    if (r == ERR) return 0;
    if (r == KEY_CODE_YES) return map_fn_key((int)ch);
    if (ch == 27) { /* Alt-x arrives as Esc x, together */
        wint_t c2;
        int r2 = get_wch(&c2);
        if (r2 == OK && c2 >= 0x20 && c2 != 0x7f) return KALT((int)c2);
        if (r2 == OK) unget_wch(c2); /* Esc then Esc (or a control key): two keys */
        if (r2 == KEY_CODE_YES) {
            int k = map_fn_key((int)c2);
            if (k == (K_FN | KEY_LEFT)) return K_ALEFT;
            if (k == (K_FN | KEY_RIGHT)) return K_ARIGHT;
            ungetch((int)c2); /* Esc, then another key (a resize): both count, the Esc first */
        }
        return K_ESC;
    }
    if (ch == 8 || ch == 127) return K_BACKSPACE;
    if (ch == 10) return K_ENTER;
    return (int)ch;
}

int tty_start(int *colors, const char **why) {
    if (!isatty(0) || !isatty(1)) {
        *why = "the editor needs a terminal (stdin and stdout must be one); see sdlm --help for the commands";
        return -1;
    }
    tcgetattr(0, &saved_tio);
    saved_tio_ok = 1;
    const char *term = getenv("TERM");
    if (!term || !*term) {
        *why = "TERM is not set: the editor cannot drive this terminal";
        return -1;
    }
    int terr = 0; /* ask terminfo first: a failed newterm leaks its half-made screen */
    if (setupterm((char *)term, 1, &terr) != OK) {
        *why = "the terminal type in TERM is unknown to curses (try TERM=xterm-256color)";
        return -1;
    }
    del_curterm(cur_term);
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        *why = "the terminal type in TERM is unknown to curses (try TERM=xterm-256color)";
        return -1;
    }
    set_term(scr);
    curses_up = 1;
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    const char *nc = getenv("NO_COLOR");
    *colors = !(nc && *nc);
    colors_init(*colors);
    mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON4_PRESSED |
#ifdef BUTTON5_PRESSED
                  BUTTON5_PRESSED |
#endif
                  REPORT_MOUSE_POSITION,
              NULL);
    mouseinterval(0);
    define_keys();
    fputs("\033[?1002h\033[?2004h", stdout); /* drags, bracketed paste */
    fflush(stdout);
    return 0;
}

/* stderr goes to <data dir>/ui.log (else /dev/null) while curses is up. */
void tty_redirect_stderr(const char *data_dir) {
    char path[1100];
    int fd = -1;
    if (data_dir[0]) {
        snprintf(path, sizeof path, "%.1000s/ui.log", data_dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
    if (fd < 0) fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
    setvbuf(stderr, NULL, _IOLBF, 0);
}
