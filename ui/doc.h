/* doc.h: the editor's text: a sequence of cells, each one Unicode character
 * or one masked span of N token slots, with a cursor, a selection and undo.
 *
 * It maps to and from the template syntax of data/template.h ("{N}" is a
 * span, "{{" "}}" literal braces), which is what session_infill_start takes.
 * No curses here, nothing about the screen: ui/editor.c lays it out. */
#ifndef SDLM_DOC_H
#define SDLM_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum { DOC_UNDO_MAX = 200, DOC_SPAN_MAX = 256 };

typedef struct {
    uint32_t cp; /* the character (0 on spans) */
    int slots;   /* > 0: a span of that many token slots */
} Cell;

typedef struct {
    Cell *cells;
    int n, cur;
} DocState;

typedef enum { EDIT_OTHER, EDIT_TYPE, EDIT_BACK, EDIT_DEL, EDIT_RESIZE, EDIT_PASTE } EditKind;

typedef struct {
    Cell *cells;
    int n, cap;
    int cur;            /* cursor: 0..n, before cells[cur] */
    int anchor;         /* selection from anchor to cur; -1: none */
    DocState undo[DOC_UNDO_MAX], redo[DOC_UNDO_MAX];
    int nundo, nredo;
    EditKind last;      /* for coalescing typing into one undo step */
    int pasting;        /* between doc_paste_begin and _end: everything typed or pasted is one undo step */
    uint64_t version;   /* changes with every edit */
} Doc;

void doc_init(Doc *d);
void doc_free(Doc *d);

/* Editing; each returns 0, or -1 when nothing changed (out of memory, nothing
 * to delete). A selection is replaced by what is typed or pasted. */
int doc_insert(Doc *d, uint32_t cp);
/* Inserts text at the cursor in one move of the cells after it, so a paste
 * costs O(text + len) whatever its size. One undo step, and one in all
 * between doc_paste_begin and doc_paste_end (a paste that arrives in pieces). */
int doc_insert_utf8(Doc *d, const char *s, size_t len);
/* A paste begins (a new undo step) and ends; the UI calls them around a
 * bracketed paste and around a burst of keys faster than typing. */
void doc_paste_begin(Doc *d);
void doc_paste_end(Doc *d);
int doc_backspace(Doc *d);
int doc_delete(Doc *d);
int doc_clear(Doc *d);
int doc_undo(Doc *d);
int doc_redo(Doc *d);

/* Selection [*a, *b); returns 0 when there is none. */
int doc_selection(const Doc *d, int *a, int *b);
void doc_select_none(Doc *d);

/* Spans. doc_span_make turns the selection into a span of `slots` slots, or
 * inserts an empty span at the cursor when nothing is selected. */
int doc_span_make(Doc *d, int slots);
/* The span under the cursor (the cell at it, else the one just before); -1. */
int doc_span_at_cursor(const Doc *d);
int doc_span_resize(Doc *d, int cell, int delta); /* slots stay 1..DOC_SPAN_MAX; resizes in a row: one undo step */
int doc_span_remove(Doc *d, int cell);
int doc_span_count(const Doc *d);
int doc_span_index(const Doc *d, int cell); /* 0-based order of the span at cell */
int doc_span_slots(const Doc *d, int k);    /* slots of the k-th span, -1 */
/* Replaces span k (in order) by text, for each span with texts[k] != NULL
 * (accepting a candidate). One undo step. */
int doc_fill_spans(Doc *d, const char *const *texts, int n);

/* Motions (they clear the selection unless extend). */
void doc_move(Doc *d, int to, int extend);
int doc_word_left(const Doc *d);
int doc_word_right(const Doc *d);
int doc_line_start(const Doc *d, int i);
int doc_line_end(const Doc *d, int i);

/* The template form ("The {3} sat."); returns bytes needed like snprintf. */
size_t doc_template(const Doc *d, char *out, size_t cap);
/* The text of cells [a, b) as UTF-8 (spans as "{N}"). */
size_t doc_text(const Doc *d, int a, int b, char *out, size_t cap);
/* Replaces the whole text by a template (one undo step). */
int doc_load_template(Doc *d, const char *text, Err *e);

/* UTF-8 helpers. */
int utf8_decode(const char *s, size_t len, uint32_t *cp); /* bytes used (1 on a bad byte: U+FFFD) */
int utf8_encode(uint32_t cp, char *out);                  /* 1..4 */

#endif
