/* test_infill.c: a template becomes the sequence a training line would be.
 * "there is no {1} like home." must hold the known pieces of "there is no
 * place like home." around its gap, with no bare "\u2581" piece on either side
 * (the bug that made every fill "between" or "each"), and the filled text
 * must have one space where the gap's first piece brings its own. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "infill.h"
#include "spm.h"

static const char bare[] = "\xe2\x96\x81";

static int has_bare(const Spm *spm, const InfillSeq *s) {
    char piece[16];
    for (int i = 0; i < s->len; i++)
        if (s->known[i] && !spm_piece(spm, s->ids[i], piece, sizeof piece, NULL) && !strcmp(piece, bare)) return 1;
    return 0;
}

/* Builds tmpl, fills its gaps with the pieces of `fill` (its best encoding, in order), renders. */
static void fill_and_render(const Spm *spm, const char *tmpl, const char *fill, const char *want) {
    Template t;
    InfillSeq s;
    Err e;
    int ids[64], n = 0;
    if (template_parse(&t, tmpl, strlen(tmpl), 0, &e) || infill_build(spm, &t, 64, &s, &e) ||
        spm_encode(spm, fill, strlen(fill), ids, 64, &n, &e)) {
        check_ok(0, "%s: %s", tmpl, e.msg);
        return;
    }
    int32_t seq[64];
    int k = 0;
    for (int i = 0; i < s.len; i++) seq[i] = s.known[i] ? s.ids[i] : k < n ? ids[k++] : spm_pad_id(spm);
    char out[256];
    infill_render(spm, &t, &s, seq, out, sizeof out);
    check_ok(!has_bare(spm, &s) && !strcmp(out, want),
             "\"%s\" filled with \"%s\": \"%s\" (want \"%s\"), no bare pieces known", tmpl, fill, out, want);
    infill_seq_free(&s);
    template_free(&t);
}

int main(void) {
    Err e;
    Spm *spm = spm_load("share/tokenizer.model", &e);
    if (!spm) {
        check_ok(0, "tokenizer: %s", e.msg);
        return check_done();
    }
    /* the known pieces are the whole line's, the gap where "place" was */
    const char line[] = "there is no place like home.", tmpl[] = "there is no {1} like home.";
    int whole[64], n = 0, place[8], np = 0;
    Template t;
    InfillSeq s;
    int ok = !spm_encode(spm, line, strlen(line), whole, 64, &n, &e) &&
             !spm_encode(spm, "place", 5, place, 8, &np, &e) && np == 1 &&
             !template_parse(&t, tmpl, strlen(tmpl), 0, &e) && !infill_build(spm, &t, 64, &s, &e);
    if (ok) {
        ok = s.len == n + 1 && s.ids[n] == spm_eos_id(spm);
        for (int i = 0; ok && i < n; i++) ok = s.known[i] ? s.ids[i] == whole[i] : whole[i] == place[0];
        infill_seq_free(&s);
        template_free(&t);
    }
    check_ok(ok, "\"%s\" is \"%s\" with its gap where \"place\" was, then EOS", tmpl, line);

    fill_and_render(spm, tmpl, "place", "there is no place like home.");
    fill_and_render(spm, "{2} is the best medicine.", "laughter", "laughter is the best medicine.");
    fill_and_render(spm, "the {3} of the world", "end of all", "the end of all of the world");
    fill_and_render(spm, "a {1} {1} day", "good long", "a good long day");
    fill_and_render(spm, "{2}", "the end", "the end");
    /* a part glued to the gap's end keeps no bare piece in front; a gap of pads renders as nothing */
    fill_and_render(spm, "walk{1}ed home", "", "walked home");
    spm_free(spm);
    return check_done();
}
