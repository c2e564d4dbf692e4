/* test_ui_draw.c: the drawing helpers on a curses screen that writes to
 * /dev/null, read back cell by cell: UTF-8 text by display columns (wide
 * characters, clipping, control bytes), the colour table's form without
 * colour, the block charts of plot.c, lines fitted to a width by whole
 * items or words, and the training screen's state line (preparing before
 * the first step; no ETA once a run ended). */
#include <curses.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "app.h"
#include "check.h"
#include "plot.h"

static wchar_t cell(int y, int x) {
    cchar_t c;
    wchar_t wch[CCHARW_MAX + 1] = {0};
    attr_t at;
    short pair;
    if (mvin_wch(y, x, &c) == ERR) return 0;
    getcchar(&c, wch, &at, &pair, NULL);
    return wch[0];
}

static attr_t cell_attr(int y, int x) {
    cchar_t c;
    wchar_t wch[CCHARW_MAX + 1] = {0};
    attr_t at = 0;
    short pair;
    if (mvin_wch(y, x, &c) == ERR) return 0;
    getcchar(&c, wch, &at, &pair, NULL);
    return at;
}

/* Row y as UTF-8, trailing blanks dropped. */
static void row_text(int y, char *out, size_t cap) {
    size_t n = 0;
    for (int x = 0; x < COLS && n + 8 < cap; x++) {
        wchar_t c = cell(y, x);
        int k = c ? wctomb(out + n, c) : 0;
        if (k > 0) n += (size_t)k;
    }
    while (n && out[n - 1] == ' ') n--;
    out[n] = 0;
}

static void test_fitting(void) {
    const char *items[] = {"▶ step 12/200", "t=0.500", "difflm", "seed 123456789"};
    const int prio[] = {0, 2, 1, 3};
    char out[256];
    int w = fit_items(out, sizeof out, items, prio, 4, "  ", 80);
    check_ok(!strcmp(out, "▶ step 12/200  t=0.500  difflm  seed 123456789") && w == text_width(out), "all items fit: %s", out);
    fit_items(out, sizeof out, items, prio, 4, "  ", 35);
    check_ok(!strcmp(out, "▶ step 12/200  t=0.500  difflm"), "the least important item goes whole: %s", out);
    fit_items(out, sizeof out, items, prio, 4, "  ", 22);
    check_ok(!strcmp(out, "▶ step 12/200  difflm"), "then the next, keeping the order: %s", out);
    fit_items(out, sizeof out, items, prio, 4, "  ", 5);
    check_ok(!strcmp(out, ""), "nothing fits: nothing, never half an item");
    fit_words(out, sizeof out, "a span of 4 slots: Alt-= grows it", 20);
    check_ok(!strcmp(out, "a span of 4 slots:…"), "a message is cut after a whole word: %s", out);
    fit_words(out, sizeof out, "short", 20);
    check_ok(!strcmp(out, "short"), "a message that fits is left alone");
}

/* Descriptions and hints wrap between words, never inside one, and say "…"
 * when the lines allowed run out. */
static void test_wrapping(void) {
    char line[256];
    erase();
    int n = draw_wrapped(0, 0, "quit (asks first when a run or unsaved text would be lost)", 30, 5, 0);
    row_text(0, line, sizeof line);
    check_ok(n == 2 && !strcmp(line, "quit (asks first when a run"), "wrapped between words: %s", line);
    row_text(1, line, sizeof line);
    check_ok(!strcmp(line, "or unsaved text would be lost)"), "the rest on the next line: %s", line);
    check_ok(wrapped_lines("quit (asks first when a run or unsaved text would be lost)", 30) == 2,
             "wrapped_lines counts what draw_wrapped draws");
    erase();
    n = draw_wrapped(0, 0, "one two three four five six", 10, 2, 0);
    row_text(1, line, sizeof line);
    check_ok(n == 2 && !strcmp(line, "three…"), "out of lines: the last ends in an ellipsis: %s", line);
    erase();
    n = draw_wrapped(0, 0, "abcdefghijklmnop qr", 8, 5, 0);
    row_text(1, line, sizeof line);
    check_ok(n == 3 && !strcmp(line, "ijklmnop"), "a word wider than a line is cut, not lost: %s", line);
    check_ok(wrapped_lines("", 10) == 1, "empty text still takes its line");
}

static void test_training_state(void) {
    static TrainProgress p;
    App a = {0};
    a.train = &p;
    a.cols = COLS, a.rows = LINES;
    conf_defaults(&a.conf);
    char line[512];
    p.state = TRAIN_RUNNING, p.total_steps = 21600, p.eta_s = 0;
    erase();
    screen_train.draw(&a, 1, LINES - 2);
    row_text(4, line, sizeof line);
    check_ok(strstr(line, "preparing") && !strstr(line, "ETA"), "before the first step: preparing, no ETA: %s", line);
    p.step = 120, p.last.tokens_per_s = 5000, p.eta_s = 3477, p.elapsed_s = 60;
    erase();
    screen_train.draw(&a, 1, LINES - 2);
    row_text(4, line, sizeof line);
    check_ok(strstr(line, "running  step 120/21600") && strstr(line, "ETA 57m57s"), "running: step and ETA: %s", line);
    p.state = TRAIN_STOPPED;
    erase();
    screen_train.draw(&a, 1, LINES - 2);
    row_text(4, line, sizeof line);
    check_ok(strstr(line, "stopped") && !strstr(line, "ETA"), "stopped: no ETA left on screen: %s", line);
}

int main(void) {
    if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "");
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *scr = out && in ? newterm("xterm", out, in) : NULL;
    check_ok(scr != NULL, "a curses screen on /dev/null");
    if (!scr) return check_done();
    set_term(scr);
    resizeterm(24, 80);

    check_ok(text_width("abc") == 3, "ASCII is one column a character");
    check_ok(text_width("日本") == 4, "CJK characters are two columns each");
    check_ok(text_width("naïve") == 5, "a precomposed accent is one column");

    int w = draw_text(0, 0, "hello", 80, 0);
    check_ok(w == 5 && cell(0, 0) == 'h' && cell(0, 4) == 'o', "draw_text writes the text (%d columns)", w);
    w = draw_text(1, 0, "日本語", 5, 0);
    check_ok(w == 4 && cell(1, 0) == L'日' && cell(1, 2) == L'本', "a wide character that does not fit is left out (%d)", w);
    w = draw_text(2, 0, "a\tb\nc", 80, 0);
    check_ok(w == 5 && cell(2, 1) == ' ' && cell(2, 3) == ' ', "control characters draw as spaces");
    w = draw_text(3, 0, "\xff\xfe", 80, 0);
    check_ok(w == 2 && cell(3, 0) == 0xfffd, "bad UTF-8 draws as U+FFFD");

    colors_init(0); /* as under NO_COLOR */
    check_ok((color_attr(C_STATUS) & A_REVERSE) != 0, "without colour the status bar is reverse video");
    check_ok((color_attr(C_SPAN) & A_UNDERLINE) && (color_attr(C_SPAN) & A_BOLD), "spans are bold and underlined");
    check_ok((color_attr(C_LOW) & A_DIM) && (color_attr(C_HIGH) & A_BOLD), "low confidence dim, high bold");
    check_ok(PAIR_NUMBER(color_attr(C_ERROR)) == 0, "and no colour pair is used");
    draw_text(4, 0, "x", 1, color_attr(C_SPAN));
    check_ok((cell_attr(4, 0) & A_UNDERLINE) != 0, "the attribute reaches the screen");

    /* a rising curve: the last column is full height, the first the lowest */
    double v[40];
    for (int i = 0; i < 40; i++) v[i] = i;
    erase();
    plot_draw(10, 0, 6, 40, "loss", v, 40, 0);
    check_ok(cell(10, 0) == 'l', "the chart's title line");
    check_ok(cell(15, 39) == L'█' && cell(11, 39) == L'█', "the last column is full");
    check_ok(cell(15, 0) == L'▁' && cell(14, 0) == ' ', "the first is one eighth");
    v[5] = NAN;
    erase();
    plot_draw(10, 0, 6, 40, "loss", v, 40, 0);
    check_ok(cell(15, 5) == ' ' && cell(15, 6) != ' ', "a NaN point is skipped, not drawn as a spike");
    erase();
    plot_draw(10, 0, 6, 40, "empty", v, 0, 0);
    check_ok(cell(11, 1) == 'n', "no data says so");

    test_fitting();
    test_wrapping();
    resizeterm(30, 100);
    test_training_state();

    endwin();
    delscreen(scr);
    fclose(out), fclose(in);
    return check_done();
}
