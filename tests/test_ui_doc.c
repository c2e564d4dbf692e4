/* test_ui_doc.c: the editor's text model without a terminal: typing,
 * deleting, UTF-8, undo and redo, spans made from selections or empty,
 * resized and removed, the template form both ways, accepting fills, and
 * a big paste arriving in pieces (exact, and one undo step). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "doc.h"

static void type(Doc *d, const char *s) {
    for (size_t i = 0, n = strlen(s); i < n;) {
        uint32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
        doc_insert(d, cp);
    }
}

static int tmpl_is(const Doc *d, const char *want) {
    char buf[1024];
    doc_template(d, buf, sizeof buf);
    if (strcmp(buf, want)) printf("# template \"%s\", want \"%s\"\n", buf, want);
    return !strcmp(buf, want);
}

/* 50 KB pasted in pieces of 1000 bytes (as a burst of keys arrives), into
 * the middle of a text: exactly in the text, one undo step, and typing
 * after the paste ends is a step of its own. */
static void test_big_paste(void) {
    enum { N = 50000, PIECE = 1000 };
    char *text = malloc(N + 1), *got = malloc(N + 64);
    if (!text || !got) return;
    for (int i = 0; i < N; i++) text[i] = i % 61 == 60 ? '\n' : i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    text[N] = 0;
    Doc d;
    doc_init(&d);
    type(&d, "<>");
    doc_move(&d, 1, 0);
    doc_paste_begin(&d);
    for (int i = 0; i < N; i += PIECE) doc_insert_utf8(&d, text + i, PIECE);
    doc_insert(&d, '!'); /* a key typed within the burst joins it */
    doc_paste_end(&d);
    doc_text(&d, 0, d.n, got, N + 64);
    check_ok(d.n == N + 3 && got[0] == '<' && !memcmp(got + 1, text, N) && !strcmp(got + 1 + N, "!>"),
             "a 50 KB paste in 50 pieces is exactly in the text, before the cell after the cursor");
    check_ok(d.cur == N + 2, "the cursor ends after the paste (%d)", d.cur);
    check_ok(d.nundo == 2, "the paste is one undo step (%d steps in all, with the typing before it)", d.nundo);
    type(&d, "x");
    doc_undo(&d);
    doc_text(&d, 0, d.n, got, N + 64);
    check_ok(d.n == N + 3 && got[N + 1] == '!', "typing after the paste ended is a step of its own");
    doc_undo(&d);
    check_ok(tmpl_is(&d, "<>"), "one undo removes the whole paste");
    doc_redo(&d);
    check_ok(d.n == N + 3, "and redo brings it back");
    doc_free(&d);
    free(text), free(got);
}

int main(void) {
    test_big_paste();
    Doc d;
    doc_init(&d);
    type(&d, "The cat sat.");
    check_ok(tmpl_is(&d, "The cat sat."), "typing builds the text");
    check_ok(d.cur == 12, "cursor after the typed text");

    /* select "cat" and make it a span */
    doc_move(&d, 4, 0);
    doc_move(&d, 7, 1);
    int a, b;
    check_ok(doc_selection(&d, &a, &b) && a == 4 && b == 7, "shift-motion selects [4, 7)");
    doc_span_make(&d, 3);
    check_ok(tmpl_is(&d, "The {3} sat."), "a selection becomes a span of 3 slots");
    check_ok(doc_span_at_cursor(&d) == 4 && d.cur == 5, "the cursor sits just after the new span, which it acts on");
    doc_span_resize(&d, 4, 1);
    check_ok(tmpl_is(&d, "The {4} sat."), "grow the span by one slot");
    doc_span_resize(&d, 4, -2);
    check_ok(tmpl_is(&d, "The {2} sat."), "shrink it by two");
    check_ok(doc_span_resize(&d, 4, -2) == -1, "a span keeps at least one slot");

    /* an empty span at the end, then braces are escaped */
    doc_move(&d, d.n, 0);
    doc_span_make(&d, 4);
    type(&d, " {x}"); /* typing right after making a gap goes on after it */
    check_ok(tmpl_is(&d, "The {2} sat.{4} {{x}}"), "two spans and literal braces doubled");
    check_ok(doc_span_count(&d) == 2 && doc_span_slots(&d, 1) == 4, "span count and slots by order");

    /* accept fills into both spans */
    const char *fills[2] = {" dog", " Then it slept."};
    doc_fill_spans(&d, fills, 2);
    check_ok(tmpl_is(&d, "The  dog sat. Then it slept. {{x}}"), "accepting puts each fill in its span");
    doc_undo(&d);
    check_ok(tmpl_is(&d, "The {2} sat.{4} {{x}}"), "undo brings the spans back");
    doc_redo(&d);
    check_ok(tmpl_is(&d, "The  dog sat. Then it slept. {{x}}"), "redo fills again");
    doc_undo(&d);

    /* typing coalesces into one undo step per word */
    doc_clear(&d);
    check_ok(d.n == 0, "clear empties the text");
    type(&d, "hello world");
    doc_undo(&d);
    check_ok(tmpl_is(&d, "hello"), "undo removes the last word typed");
    doc_undo(&d);
    check_ok(tmpl_is(&d, ""), "undo removes the first");
    doc_undo(&d);
    check_ok(tmpl_is(&d, "The {2} sat.{4} {{x}}"), "undo brings back the cleared text");

    /* UTF-8: one cell per character, backspace removes a whole character */
    doc_clear(&d);
    type(&d, "naïve café ▁x");
    check_ok(d.n == 13, "UTF-8 text is one cell per character (%d)", d.n);
    doc_backspace(&d);
    doc_backspace(&d);
    check_ok(tmpl_is(&d, "naïve café "), "backspace deletes characters, not bytes");
    doc_move(&d, 0, 0);
    doc_delete(&d);
    check_ok(tmpl_is(&d, "aïve café "), "delete at the cursor");

    /* word motions and lines */
    doc_clear(&d);
    type(&d, "one two\nthree");
    doc_move(&d, d.n, 0);
    check_ok(doc_word_left(&d) == 8, "word left to \"three\"");
    doc_move(&d, 0, 0);
    check_ok(doc_word_right(&d) == 3, "word right past \"one\"");
    check_ok(doc_line_end(&d, 0) == 7 && doc_line_start(&d, 10) == 8, "line start and end");

    /* paste replaces the selection, keeps newlines, drops control bytes */
    doc_move(&d, 0, 0);
    doc_move(&d, 3, 1);
    doc_insert_utf8(&d, "ONE\r\x01\tX", 8);
    check_ok(tmpl_is(&d, "ONE\n X two\nthree"), "paste replaces the selection");
    doc_undo(&d);
    check_ok(tmpl_is(&d, "one two\nthree"), "a paste is one undo step");

    /* templates load back, with spans */
    Err e;
    check_ok(doc_load_template(&d, "A {3} b {{c}} {}", &e) == 0, "load a template");
    check_ok(tmpl_is(&d, "A {3} b {{c}} {8}"), "it reads back the same (default span 8)");
    check_ok(doc_load_template(&d, "bad {x", &e) == -1, "a bad template is refused: %s", e.msg);
    check_ok(tmpl_is(&d, "A {3} b {{c}} {8}"), "and the text stays");
    doc_span_remove(&d, doc_span_at_cursor(&d));
    check_ok(tmpl_is(&d, "A {3} b {{c}} "), "remove the span at the cursor");

    /* bad UTF-8 becomes U+FFFD and never reads past the end */
    uint32_t cp;
    check_ok(utf8_decode("\xe2\x82", 2, &cp) == 1 && cp == 0xfffd, "a cut sequence decodes as U+FFFD");
    check_ok(utf8_decode("\xc0\xaf", 2, &cp) == 2 && cp == 0xfffd, "an overlong form is refused");
    doc_free(&d);
    return check_done();
}
