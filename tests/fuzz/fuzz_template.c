/* fuzz_template.c: libFuzzer harness for the infill template parser
 * (data/template.h), the one parser that takes text straight from the user.
 *
 * For every input, with the first byte as the default span (0..255):
 *   - template_parse returns 0, or -1 with a one-line message that names a
 *     column inside the input;
 *   - a parsed template is consistent: spans and span_slots agree with its
 *     parts, every span has 1..TEMPLATE_MAX_SPAN slots, no text part is empty
 *     and no two text parts are adjacent;
 *   - template_format writes it back in a form that parses to the same parts
 *     (the history stores that form), and is stable when formatted again;
 *   - template_escape of the raw input parses to exactly the input as text.
 * Any difference traps. Replayed without libFuzzer by tests/test_fuzz_replay.c
 * (which is why every name here but the entry point is static). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tpl_fail(const char *why) {
    fprintf(stderr, "fuzz_template: %s\n", why);
    __builtin_trap();
}

static void tpl_check_shape(const Template *t) {
    int spans = 0, slots = 0;
    for (int i = 0; i < t->count; i++) {
        const TemplatePart *p = &t->parts[i];
        if (p->is_span) {
            if (p->slots < 1 || p->slots > TEMPLATE_MAX_SPAN) tpl_fail("span length out of range");
            spans++, slots += p->slots;
        } else {
            if (!p->text || p->len == 0) tpl_fail("empty text part");
            if (p->text[p->len]) tpl_fail("text part not NUL-terminated at len");
            if (i > 0 && !t->parts[i - 1].is_span) tpl_fail("two text parts in a row");
        }
    }
    if (spans != t->spans || slots != t->span_slots) tpl_fail("span counts disagree with the parts");
}

static int tpl_same(const Template *a, const Template *b) {
    if (a->count != b->count || a->spans != b->spans || a->span_slots != b->span_slots) return 0;
    for (int i = 0; i < a->count; i++) {
        const TemplatePart *p = &a->parts[i], *q = &b->parts[i];
        if (p->is_span != q->is_span) return 0;
        if (p->is_span ? p->slots != q->slots : p->len != q->len || memcmp(p->text, q->text, p->len)) return 0;
    }
    return 1;
}

/* Formats t into a fresh buffer (checking the snprintf-like size contract). */
static char *tpl_format(const Template *t, size_t *n) {
    *n = template_format(t, NULL, 0);
    char *s = malloc(*n + 1);
    if (!s) return NULL;
    if (template_format(t, s, *n + 1) != *n || s[*n]) tpl_fail("template_format sizes disagree");
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int def = size ? data[0] : 0;
    const char *text = size ? (const char *)data + 1 : "";
    size_t len = size ? size - 1 : 0;

    Template t;
    Err e;
    e.msg[0] = 0;
    if (template_parse(&t, text, len, def, &e)) {
        if (!e.msg[0] || strchr(e.msg, '\n')) tpl_fail("refusal without a one-line message");
        const char *col = strstr(e.msg, "column ");
        unsigned long c = col ? strtoul(col + 7, NULL, 10) : 0;
        if (col && (c < 1 || c > len)) tpl_fail("error column outside the input");
        if (t.count || t.parts) tpl_fail("a refused template keeps parts");
    } else {
        tpl_check_shape(&t);
        size_t n;
        char *s = tpl_format(&t, &n);
        if (s) {
            Template u;
            if (template_parse(&u, s, n, def, &e)) tpl_fail("formatted template does not parse");
            if (!tpl_same(&t, &u)) tpl_fail("formatted template parses differently");
            size_t m;
            char *s2 = tpl_format(&u, &m);
            if (s2 && (m != n || memcmp(s, s2, n))) tpl_fail("formatting is not stable");
            free(s2);
            template_free(&u);
            free(s);
        }
        template_free(&t);
    }

    /* Escaping any text gives a template that is exactly that text. */
    size_t n = template_escape(text, len, NULL, 0);
    char *esc = malloc(n + 1);
    if (!esc) return 0;
    if (template_escape(text, len, esc, n + 1) != n) tpl_fail("template_escape sizes disagree");
    Template u;
    if (template_parse(&u, esc, n, def, &e)) tpl_fail("escaped text does not parse");
    if (u.spans || (len && (u.count != 1 || u.parts[0].len != len || memcmp(u.parts[0].text, text, len))) ||
        (!len && u.count))
        tpl_fail("escaped text does not parse back to itself");
    template_free(&u);
    free(esc);
    return 0;
}
