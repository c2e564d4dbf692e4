/* template.h: infill templates: text with masked spans.
 *
 * Syntax: "{N}" is a span of N masked token slots (1..TEMPLATE_MAX_SPAN),
 * "{}" a span of the default length, "{{" and "}}" a literal brace. So
 * "The {3} sat on the {}." has two spans. The same text form is what the
 * history stores and what `sdlm infill` takes. Parsing never crashes on any
 * input (it is fuzzed); errors name the byte column. */
#ifndef SDLM_TEMPLATE_H
#define SDLM_TEMPLATE_H

#include <stddef.h>

#include "err.h"

enum { TEMPLATE_MAX_SPAN = 256, TEMPLATE_DEFAULT_SPAN = 8 };

typedef struct {
    int is_span;
    int slots;  /* span length in tokens (spans) */
    char *text; /* literal text with braces unescaped (text parts), NUL-terminated */
    size_t len; /* bytes of text */
} TemplatePart;

typedef struct {
    TemplatePart *parts;
    int count;
    int spans;       /* how many parts are spans */
    int span_slots;  /* total masked slots */
} Template;

/* Parses text[len] (need not be NUL-terminated). default_span 0 uses
 * TEMPLATE_DEFAULT_SPAN. */
int template_parse(Template *t, const char *text, size_t len, int default_span, Err *e);
void template_free(Template *t);
/* Writes the template form back (literal braces doubled); returns bytes
 * needed (excluding the NUL), like snprintf. */
size_t template_format(const Template *t, char *out, size_t cap);
/* Appends text to out escaping braces; returns bytes needed. */
size_t template_escape(const char *text, size_t len, char *out, size_t cap);

#endif
