/* infill.c: template -> token sequence -> filled text. */
#include "infill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Literal part i, encoded as it would be inside a whole training line. Alone,
 * "there is no " ends in a bare "\u2581" piece and " like home." starts with
 * one, which a line never holds before a word the vocabulary knows (training
 * puts the space in the word's own piece, "\u2581place"), so the model would
 * fill the gap with the few pieces that follow a bare one. So the blanks next
 * to a span are left to the span (its first piece carries the space), and a
 * part glued to the span's end loses the bare piece the encoder puts first. */
static int encode_part(const Spm *spm, const Template *t, int i, int *ids, int cap, int *n, Err *e) {
    const TemplatePart *p = &t->parts[i];
    size_t b = 0, end = p->len;
    int after_span = i > 0 && t->parts[i - 1].is_span, before_span = i + 1 < t->count && t->parts[i + 1].is_span;
    if (after_span)
        while (b < end && is_blank(p->text[b])) b++;
    if (before_span)
        while (end > b && is_blank(p->text[end - 1])) end--;
    *n = 0;
    if (b == end) return 0;
    int tmp[4096], k = 0;
    if (spm_encode(spm, p->text + b, end - b, tmp, 4096, &k, e)) return -1;
    if (k > 4096) return err_set(e, "a literal part of the template is too long (%d tokens)", k);
    int skip = 0;
    if (after_span && b == 0 && k > 0) {
        char piece[16];
        skip = !spm_piece(spm, tmp[0], piece, sizeof piece, NULL) && !strcmp(piece, "\xe2\x96\x81");
    }
    *n = k - skip;
    if (ids) memcpy(ids, tmp + skip, sizeof *ids * (size_t)(*n < cap ? *n : cap));
    return 0;
}

int infill_build(const Spm *spm, const Template *t, int max_len, InfillSeq *out, Err *e) {
    memset(out, 0, sizeof *out);
    /* count first: encode each literal part */
    int total = 1; /* EOS */
    int *counts = calloc(t->count ? t->count : 1, sizeof *counts);
    if (!counts) return err_set(e, "out of memory");
    for (int i = 0; i < t->count; i++) {
        if (t->parts[i].is_span) {
            counts[i] = t->parts[i].slots;
        } else if (encode_part(spm, t, i, NULL, 0, &counts[i], e)) {
            free(counts);
            return -1;
        }
        total += counts[i];
    }
    if (total > max_len) {
        free(counts);
        return err_set(e, "the text needs %d tokens with its spans and EOS; this model samples at most %d", total,
                       max_len);
    }
    out->len = total;
    out->ids = calloc(total, sizeof *out->ids);
    out->known = calloc(total, 1);
    out->span_of = calloc(total, sizeof *out->span_of);
    if (!out->ids || !out->known || !out->span_of) {
        free(counts);
        infill_seq_free(out);
        return err_set(e, "out of memory");
    }
    int pos = 0, span = 0, pad = spm_pad_id(spm) >= 0 ? spm_pad_id(spm) : 0;
    for (int i = 0; i < t->count; i++) {
        const TemplatePart *p = &t->parts[i];
        if (p->is_span) {
            for (int k = 0; k < p->slots; k++, pos++)
                out->ids[pos] = pad, out->known[pos] = 0, out->span_of[pos] = span;
            span++;
        } else {
            int n = 0;
            if (encode_part(spm, t, i, (int *)out->ids + pos, counts[i], &n, e)) {
                free(counts);
                infill_seq_free(out);
                return -1;
            }
            for (int k = 0; k < n; k++, pos++) out->known[pos] = 1, out->span_of[pos] = -1;
        }
    }
    out->ids[pos] = spm_eos_id(spm);
    out->known[pos] = 1;
    out->span_of[pos] = -1;
    free(counts);
    return 0;
}

void infill_seq_free(InfillSeq *s) {
    free(s->ids), free(s->known), free(s->span_of);
    memset(s, 0, sizeof *s);
}

int infill_piece_text(const Spm *spm, int32_t id, char *buf, int cap) {
    if (cap < 1) return 0;
    buf[0] = 0;
    if (id < 0 || id >= spm_vocab_size(spm) || id == spm_pad_id(spm) || id == spm_eos_id(spm) || id == spm_unk_id(spm))
        return 0;
    char piece[256];
    if (spm_piece(spm, id, piece, sizeof piece, NULL)) return 0;
    unsigned byte;
    if (strlen(piece) == 6 && sscanf(piece, "<0x%2X>", &byte) == 1) {
        if (cap < 2) return 0;
        buf[0] = (char)byte, buf[1] = 0;
        return 1;
    }
    int n = 0;
    for (const char *p = piece; *p && n < cap - 1;) {
        if (!strncmp(p, "\xe2\x96\x81", 3)) buf[n++] = ' ', p += 3;
        else buf[n++] = *p++;
    }
    buf[n] = 0;
    return n;
}

static size_t append(char *out, size_t cap, size_t n, const char *s, size_t len) {
    if (n < cap) {
        size_t k = len < cap - n - 1 ? len : cap - n - 1;
        memcpy(out + n, s, k);
        out[n + k] = 0;
    }
    return n + len;
}

size_t infill_render_span(const Spm *spm, const InfillSeq *s, const int32_t *ids, int k, char *out, size_t cap) {
    size_t n = 0;
    if (cap) out[0] = 0;
    char piece[64];
    for (int i = 0; i < s->len; i++) {
        if (s->span_of[i] != k) continue;
        int len = infill_piece_text(spm, ids[i], piece, sizeof piece);
        n = append(out, cap, n, piece, (size_t)len);
    }
    return n;
}

size_t infill_render(const Spm *spm, const Template *t, const InfillSeq *s, const int32_t *ids, char *out,
                     size_t cap) {
    size_t n = 0;
    int span = 0, at_start = 1, after_blank = 0;
    if (cap) out[0] = 0;
    for (int i = 0; i < t->count; i++) {
        if (t->parts[i].is_span) {
            char buf[4096];
            size_t len = infill_render_span(spm, s, ids, span++, buf, sizeof buf);
            len = len < sizeof buf ? len : sizeof buf - 1;
            /* the span's first piece carries its space: one is enough, none at the start */
            int skip = len && buf[0] == ' ' && (at_start || after_blank);
            n = append(out, cap, n, buf + skip, len - skip);
            if (len > (size_t)skip) at_start = 0, after_blank = is_blank(buf[len - 1]);
        } else {
            n = append(out, cap, n, t->parts[i].text, t->parts[i].len);
            if (t->parts[i].len) at_start = 0, after_blank = is_blank(t->parts[i].text[t->parts[i].len - 1]);
        }
    }
    return n;
}
