/* doc.c: the editor's text with masked spans, its undo, and its template
 * form. Undo keeps whole copies of the cells (texts here are short: a few
 * thousand cells at most), taken before each edit; runs of typing or of
 * deleting coalesce into one step, broken at spaces and newlines. */
#include "doc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

/* ---- UTF-8 ---- */

int utf8_decode(const char *s, size_t len, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    int n = u[0] < 0x80 ? 1 : (u[0] & 0xe0) == 0xc0 ? 2 : (u[0] & 0xf0) == 0xe0 ? 3 : (u[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || (size_t)n > len) return *cp = 0xfffd, 1;
    uint32_t c = n == 1 ? u[0] : u[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) return *cp = 0xfffd, 1;
        c = c << 6 | (u[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) return *cp = 0xfffd, n;
    *cp = c;
    return n;
}

int utf8_encode(uint32_t c, char *o) {
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xc0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3f)), 2;
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 0x3f)), o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (char)(0x80 | (c >> 6 & 0x3f)), o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* ---- cells ---- */

void doc_init(Doc *d) {
    memset(d, 0, sizeof *d);
    d->anchor = -1;
}

static void state_free(DocState *s) {
    free(s->cells);
    s->cells = NULL;
}

void doc_free(Doc *d) {
    free(d->cells);
    for (int i = 0; i < d->nundo; i++) state_free(&d->undo[i]);
    for (int i = 0; i < d->nredo; i++) state_free(&d->redo[i]);
    doc_init(d);
}

static int reserve(Doc *d, int need) {
    if (need <= d->cap) return 0;
    int cap = d->cap ? d->cap : 64;
    while (cap < need) cap *= 2;
    Cell *c = realloc(d->cells, sizeof *c * cap);
    if (!c) return -1;
    d->cells = c, d->cap = cap;
    return 0;
}

static int state_take(const Doc *d, DocState *s) {
    s->cells = malloc(sizeof(Cell) * (d->n ? d->n : 1));
    if (!s->cells) return -1;
    if (d->n) memcpy(s->cells, d->cells, sizeof(Cell) * d->n); /* an empty doc may have no cells yet */
    s->n = d->n, s->cur = d->cur;
    return 0;
}

static void push(DocState *stack, int *n, DocState s) {
    if (*n == DOC_UNDO_MAX) {
        state_free(&stack[0]);
        memmove(stack, stack + 1, sizeof *stack * (DOC_UNDO_MAX - 1));
        (*n)--;
    }
    stack[(*n)++] = s;
}

/* Called before every edit: saves an undo step unless this edit continues the
 * last one: typing a word, deleting a run, or anything typed or pasted within
 * one paste (doc_paste_begin/_end; a snapshot per pasted word made a 50 KB
 * paste take seconds, and then took 200 undos to remove). */
static void before_edit(Doc *d, EditKind k, uint32_t cp) {
    int adds = k == EDIT_TYPE || k == EDIT_PASTE, added = d->last == EDIT_TYPE || d->last == EDIT_PASTE;
    int in_paste = d->pasting && adds && added;
    int in_run = k != EDIT_OTHER && k != EDIT_PASTE && k == d->last && cp != ' ' && cp != '\n';
    if (!d->nundo || !(in_paste || in_run)) {
        DocState s;
        if (!state_take(d, &s)) push(d->undo, &d->nundo, s);
    }
    for (int i = 0; i < d->nredo; i++) state_free(&d->redo[i]);
    d->nredo = 0;
    d->last = k;
    d->version++;
}

void doc_paste_begin(Doc *d) {
    d->pasting = 1;
    d->last = EDIT_OTHER; /* its first edit starts a step of its own */
}

void doc_paste_end(Doc *d) {
    d->pasting = 0;
    d->last = EDIT_OTHER; /* typing after it is a step of its own */
}

static void restore(Doc *d, DocState *s) {
    if (reserve(d, s->n)) return;
    if (s->n) memcpy(d->cells, s->cells, sizeof(Cell) * s->n);
    d->n = s->n, d->cur = s->cur < s->n ? s->cur : s->n;
    d->anchor = -1;
    d->version++;
    d->last = EDIT_OTHER;
}

int doc_undo(Doc *d) {
    if (!d->nundo) return -1;
    DocState now;
    if (state_take(d, &now)) return -1;
    DocState s = d->undo[--d->nundo];
    restore(d, &s);
    state_free(&s);
    push(d->redo, &d->nredo, now);
    return 0;
}

int doc_redo(Doc *d) {
    if (!d->nredo) return -1;
    DocState now;
    if (state_take(d, &now)) return -1;
    DocState s = d->redo[--d->nredo];
    restore(d, &s);
    state_free(&s);
    push(d->undo, &d->nundo, now);
    return 0;
}

int doc_selection(const Doc *d, int *a, int *b) {
    if (d->anchor < 0 || d->anchor == d->cur) return 0;
    *a = d->anchor < d->cur ? d->anchor : d->cur;
    *b = d->anchor < d->cur ? d->cur : d->anchor;
    return 1;
}

void doc_select_none(Doc *d) { d->anchor = -1; }

static void cut(Doc *d, int a, int b) {
    if (b < d->n) memmove(d->cells + a, d->cells + b, sizeof(Cell) * (d->n - b));
    d->n -= b - a;
    d->cur = a;
    d->anchor = -1;
}

static int put(Doc *d, Cell c) {
    if (reserve(d, d->n + 1)) return -1;
    if (d->cur < d->n) memmove(d->cells + d->cur + 1, d->cells + d->cur, sizeof(Cell) * (d->n - d->cur));
    d->cells[d->cur++] = c;
    d->n++;
    return 0;
}

int doc_insert(Doc *d, uint32_t cp) {
    int a, b, sel = doc_selection(d, &a, &b);
    before_edit(d, sel ? EDIT_OTHER : EDIT_TYPE, cp);
    if (sel) cut(d, a, b);
    d->anchor = -1;
    return put(d, (Cell){cp, 0});
}

int doc_insert_utf8(Doc *d, const char *s, size_t len) {
    int a, b;
    if (len > (size_t)(INT_MAX / 2 - d->n)) return -1;
    before_edit(d, EDIT_PASTE, 0);
    if (doc_selection(d, &a, &b)) cut(d, a, b);
    d->anchor = -1;
    if (reserve(d, d->n + (int)len)) return -1; /* at most a cell a byte */
    /* the cells after the cursor go to the end of the room, the text is
     * decoded into the gap, then they close up behind it: two moves in all */
    int tail = d->n - d->cur, m = 0;
    Cell *at = d->cells + d->cur;
    if (tail) memmove(at + len, at, sizeof(Cell) * tail);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        if (cp == '\r') cp = '\n';
        if (cp == '\t') cp = ' ';
        if (cp < 0x20 && cp != '\n') continue;
        at[m++] = (Cell){cp, 0};
    }
    if (tail) memmove(at + m, at + len, sizeof(Cell) * tail);
    d->n += m, d->cur += m;
    return 0;
}

int doc_backspace(Doc *d) {
    int a, b;
    if (doc_selection(d, &a, &b)) {
        before_edit(d, EDIT_OTHER, 0);
        cut(d, a, b);
        return 0;
    }
    d->anchor = -1;
    if (d->cur == 0) return -1;
    before_edit(d, EDIT_BACK, d->cells[d->cur - 1].cp);
    cut(d, d->cur - 1, d->cur);
    return 0;
}

int doc_delete(Doc *d) {
    int a, b;
    if (doc_selection(d, &a, &b)) {
        before_edit(d, EDIT_OTHER, 0);
        cut(d, a, b);
        return 0;
    }
    d->anchor = -1;
    if (d->cur >= d->n) return -1;
    before_edit(d, EDIT_DEL, d->cells[d->cur].cp);
    cut(d, d->cur, d->cur + 1);
    return 0;
}

int doc_clear(Doc *d) {
    if (!d->n) return -1;
    before_edit(d, EDIT_OTHER, 0);
    d->n = d->cur = 0;
    d->anchor = -1;
    return 0;
}

/* ---- spans ---- */

int doc_span_make(Doc *d, int slots) {
    if (slots < 1) slots = 1;
    if (slots > DOC_SPAN_MAX) slots = DOC_SPAN_MAX;
    int a, b, sel = doc_selection(d, &a, &b);
    before_edit(d, EDIT_OTHER, 0);
    if (sel) cut(d, a, b);
    d->anchor = -1;
    /* the cursor lands just after the span, so typing goes on after the gap
     * and grow/shrink still act on it (doc_span_at_cursor looks behind too) */
    return put(d, (Cell){0, slots}) ? -1 : 0;
}

int doc_span_at_cursor(const Doc *d) {
    if (d->cur < d->n && d->cells[d->cur].slots) return d->cur;
    if (d->cur > 0 && d->cells[d->cur - 1].slots) return d->cur - 1;
    return -1;
}

int doc_span_resize(Doc *d, int cell, int delta) {
    if (cell < 0 || cell >= d->n || !d->cells[cell].slots) return -1;
    int s = d->cells[cell].slots + delta;
    if (s < 1 || s > DOC_SPAN_MAX) return -1;
    before_edit(d, EDIT_RESIZE, 0);
    d->cells[cell].slots = s;
    return 0;
}

int doc_span_remove(Doc *d, int cell) {
    if (cell < 0 || cell >= d->n || !d->cells[cell].slots) return -1;
    before_edit(d, EDIT_OTHER, 0);
    cut(d, cell, cell + 1);
    return 0;
}

int doc_span_count(const Doc *d) {
    int k = 0;
    for (int i = 0; i < d->n; i++) k += d->cells[i].slots > 0;
    return k;
}

int doc_span_index(const Doc *d, int cell) {
    if (cell < 0 || cell >= d->n || !d->cells[cell].slots) return -1;
    int k = 0;
    for (int i = 0; i < cell; i++) k += d->cells[i].slots > 0;
    return k;
}

int doc_span_slots(const Doc *d, int k) {
    for (int i = 0; i < d->n; i++)
        if (d->cells[i].slots && k-- == 0) return d->cells[i].slots;
    return -1;
}

int doc_fill_spans(Doc *d, const char *const *texts, int n) {
    before_edit(d, EDIT_OTHER, 0);
    int k = doc_span_count(d) - 1;
    for (int i = d->n - 1; i >= 0; i--) { /* from the end, so earlier cells keep their places */
        if (!d->cells[i].slots) continue;
        const char *t = k < n ? texts[k] : NULL;
        k--;
        if (!t) continue;
        cut(d, i, i + 1);
        d->cur = i;
        for (size_t j = 0, len = strlen(t); j < len;) {
            uint32_t cp;
            j += utf8_decode(t + j, len - j, &cp);
            if (cp < 0x20 && cp != '\n') cp = ' ';
            if (put(d, (Cell){cp, 0})) return -1;
        }
    }
    d->cur = d->n;
    d->anchor = -1;
    return 0;
}

/* ---- motions ---- */

void doc_move(Doc *d, int to, int extend) {
    if (to < 0) to = 0;
    if (to > d->n) to = d->n;
    if (extend && d->anchor < 0) d->anchor = d->cur;
    if (!extend) d->anchor = -1;
    d->cur = to;
    d->last = EDIT_OTHER;
}

static int is_word(const Cell *c) {
    if (c->slots) return 1;
    uint32_t x = c->cp;
    return x > 0x7f || (x >= '0' && x <= '9') || (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || x == '_';
}

int doc_word_left(const Doc *d) {
    int i = d->cur;
    while (i > 0 && !is_word(&d->cells[i - 1])) i--;
    while (i > 0 && is_word(&d->cells[i - 1])) i--;
    return i;
}

int doc_word_right(const Doc *d) {
    int i = d->cur;
    while (i < d->n && !is_word(&d->cells[i])) i++;
    while (i < d->n && is_word(&d->cells[i])) i++;
    return i;
}

int doc_line_start(const Doc *d, int i) {
    while (i > 0 && !(d->cells[i - 1].cp == '\n' && !d->cells[i - 1].slots)) i--;
    return i;
}

int doc_line_end(const Doc *d, int i) {
    while (i < d->n && !(d->cells[i].cp == '\n' && !d->cells[i].slots)) i++;
    return i;
}

/* ---- text and templates ---- */

static size_t text_of(const Doc *d, int a, int b, int escape, char *out, size_t cap) {
    size_t n = 0;
    char buf[16];
    for (int i = a; i < b; i++) {
        const Cell *c = &d->cells[i];
        int k;
        if (c->slots) k = snprintf(buf, sizeof buf, "{%d}", c->slots);
        else if (escape && (c->cp == '{' || c->cp == '}')) buf[0] = buf[1] = (char)c->cp, k = 2;
        else k = utf8_encode(c->cp, buf);
        if (n + k < cap) memcpy(out + n, buf, k);
        n += k;
    }
    if (cap) out[n < cap ? n : cap - 1] = 0;
    return n;
}

size_t doc_template(const Doc *d, char *out, size_t cap) { return text_of(d, 0, d->n, 1, out, cap); }

size_t doc_text(const Doc *d, int a, int b, char *out, size_t cap) { return text_of(d, a, b, 0, out, cap); }

int doc_load_template(Doc *d, const char *text, Err *e) {
    Template t;
    if (template_parse(&t, text, strlen(text), 0, e)) return -1;
    before_edit(d, EDIT_OTHER, 0);
    d->n = d->cur = 0;
    d->anchor = -1;
    for (int p = 0; p < t.count; p++) {
        const TemplatePart *tp = &t.parts[p];
        if (tp->is_span) {
            put(d, (Cell){0, tp->slots});
            continue;
        }
        for (size_t j = 0; j < tp->len;) {
            uint32_t cp;
            j += utf8_decode(tp->text + j, tp->len - j, &cp);
            if (cp == '\t') cp = ' ';
            if (cp < 0x20 && cp != '\n') continue;
            put(d, (Cell){cp, 0});
        }
    }
    template_free(&t);
    d->cur = d->n;
    return 0;
}
