/* template.c: parsing and writing infill templates ("The {3} sat."). */
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_part(Template *t, int is_span, int slots, const char *text, size_t len) {
    TemplatePart *p = realloc(t->parts, sizeof *p * (t->count + 1));
    if (!p) return -1;
    t->parts = p;
    p = &t->parts[t->count];
    memset(p, 0, sizeof *p);
    p->is_span = is_span;
    p->slots = slots;
    if (!is_span) {
        if (!(p->text = malloc(len + 1))) return -1;
        memcpy(p->text, text, len);
        p->text[len] = 0;
        p->len = len;
    } else {
        t->spans++;
        t->span_slots += slots;
    }
    t->count++;
    return 0;
}

int template_parse(Template *t, const char *text, size_t len, int default_span, Err *e) {
    memset(t, 0, sizeof *t);
    if (default_span <= 0) default_span = TEMPLATE_DEFAULT_SPAN;
    char *buf = malloc(len + 1); /* the current literal run, unescaped */
    size_t blen = 0;
    if (!buf) return err_set(e, "out of memory for a template of %zu bytes", len);
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '{' && i + 1 < len && text[i + 1] == '{') {
            buf[blen++] = '{', i++;
        } else if (c == '}' && i + 1 < len && text[i + 1] == '}') {
            buf[blen++] = '}', i++;
        } else if (c == '}') {
            template_free(t), free(buf);
            return err_set(e, "template column %zu: '}' without '{' (write }} for a literal brace)", i + 1);
        } else if (c == '{') {
            size_t j = i + 1;
            long n = 0;
            while (j < len && text[j] >= '0' && text[j] <= '9' && n <= TEMPLATE_MAX_SPAN) n = n * 10 + (text[j++] - '0');
            if (j >= len || text[j] != '}') {
                template_free(t), free(buf);
                if (j < len && text[j] >= '0' && text[j] <= '9')
                    return err_set(e, "template column %zu: a span has at most %d tokens", i + 1, TEMPLATE_MAX_SPAN);
                if (j >= len)
                    return err_set(e, "template column %zu: '{' is not closed (write {{ for a literal brace)", i + 1);
                return err_set(e, "template column %zu: '{' must be followed by a number and '}' (write {{ for "
                               "a literal brace)",
                               i + 1);
            }
            if (j == i + 1) n = default_span;
            if (n < 1 || n > TEMPLATE_MAX_SPAN) {
                template_free(t), free(buf);
                return err_set(e, "template column %zu: a span needs 1 to %d tokens, not %ld", i + 1,
                               TEMPLATE_MAX_SPAN, n);
            }
            if ((blen && add_part(t, 0, 0, buf, blen)) || add_part(t, 1, (int)n, NULL, 0)) {
                template_free(t), free(buf);
                return err_set(e, "out of memory parsing a template");
            }
            blen = 0;
            i = j;
        } else {
            buf[blen++] = c;
        }
    }
    if (blen && add_part(t, 0, 0, buf, blen)) {
        template_free(t), free(buf);
        return err_set(e, "out of memory parsing a template");
    }
    free(buf);
    return 0;
}

void template_free(Template *t) {
    for (int i = 0; i < t->count; i++) free(t->parts[i].text);
    free(t->parts);
    memset(t, 0, sizeof *t);
}

size_t template_escape(const char *text, size_t len, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int twice = text[i] == '{' || text[i] == '}';
        for (int k = 0; k <= twice; k++, n++)
            if (n + 1 < cap) out[n] = text[i];
    }
    if (cap) out[n < cap ? n : cap - 1] = 0;
    return n;
}

size_t template_format(const Template *t, char *out, size_t cap) {
    size_t n = 0;
    if (cap) out[0] = 0;
    for (int i = 0; i < t->count; i++) {
        const TemplatePart *p = &t->parts[i];
        if (p->is_span) {
            char tmp[16];
            int k = snprintf(tmp, sizeof tmp, "{%d}", p->slots);
            if (n + k < cap) memcpy(out + n, tmp, k + 1);
            n += k;
        } else {
            n += template_escape(p->text, p->len, n < cap ? out + n : NULL, n < cap ? cap - n : 0);
        }
    }
    if (cap) out[n < cap ? n : cap - 1] = 0;
    return n;
}
