/* test_template.c: the infill template syntax, round trips and every error. */
#include <string.h>

#include "check.h"
#include "template.h"

static void parses(const char *text, const char *shape, const char *roundtrip) {
    Template t;
    Err e;
    if (template_parse(&t, text, strlen(text), 5, &e)) {
        check_ok(0, "parse \"%s\": %s", text, e.msg);
        return;
    }
    char got[256] = "", part[64];
    for (int i = 0; i < t.count; i++) {
        if (t.parts[i].is_span) snprintf(part, sizeof part, "[%d]", t.parts[i].slots);
        else snprintf(part, sizeof part, "'%s'", t.parts[i].text);
        strcat(got, part);
    }
    check_ok(!strcmp(got, shape), "parse \"%s\" -> %s (want %s)", text, got, shape);
    char back[256];
    size_t n = template_format(&t, back, sizeof back);
    check_ok(n == strlen(roundtrip) && !strcmp(back, roundtrip), "format \"%s\" -> \"%s\"", text, back);
    template_free(&t);
}

static void fails(const char *text, const char *want) {
    Template t;
    Err e = {{0}};
    int rc = template_parse(&t, text, strlen(text), 5, &e);
    check_ok(rc < 0 && strstr(e.msg, want), "reject \"%s\": %s", text, e.msg);
}

int main(void) {
    parses("The {3} sat on the {}.", "'The '[3]' sat on the '[5]'.'", "The {3} sat on the {5}.");
    parses("{2}{4}", "[2][4]", "{2}{4}");
    parses("", "", "");
    parses("a {{literal}} brace", "'a {literal} brace'", "a {{literal}} brace");
    parses("héllo {1} 日本", "'héllo '[1]' 日本'", "héllo {1} 日本");
    parses("{256}", "[256]", "{256}");
    fails("open {3", "not closed");
    fails("a { b", "must be followed");
    fails("x {0} y", "1 to 256");
    fails("x {257}", "1 to 256");
    fails("x {99999999999999999999}", "at most 256");
    fails("stray } here", "without '{'");
    fails("{-1}", "must be followed");
    fails("{3 }", "must be followed");
    /* column numbers point at the problem */
    Template t;
    Err e;
    template_parse(&t, "abc {x}", 7, 5, &e);
    check_ok(strstr(e.msg, "column 5") != NULL, "errors name the column: %s", e.msg);
    /* embedded NUL bytes are text, not terminators */
    const char nul[] = "a\0b{2}";
    check_ok(!template_parse(&t, nul, sizeof nul - 1, 5, &e) && t.count == 2 && t.parts[0].len == 3 && t.spans == 1,
             "a NUL byte inside the text is kept as text");
    template_free(&t);
    /* escape writes braces doubled, and truncation still reports the full size */
    char small[4];
    size_t need = template_escape("{}{}", 4, small, sizeof small);
    check_ok(need == 8 && strlen(small) == 3, "escape reports the size it needs when truncated");
    return check_done();
}
