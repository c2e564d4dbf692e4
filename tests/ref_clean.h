/* ref_clean.h: corpus.h's cleaning rules written again, plainly, over a whole
 * buffer in memory: the oracle that test_corpus and the fuzzer compare the
 * streaming reader against. Slow and simple on purpose; tests only. */
#ifndef SDLM_REF_CLEAN_H
#define SDLM_REF_CLEAN_H

#include <stdlib.h>
#include <string.h>

#include "corpus.h"

typedef struct {
    char **line; /* kept lines, cleaned, NUL-terminated */
    long n, raw, empty, crlf, cr, nul, utf8, trunc;
    size_t bad;  /* bytes dropped as NUL or invalid UTF-8, whole file */
} RefCorpus;

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when there
 * is none; *used gets the bytes that belong to the (maybe broken) sequence. */
static size_t ref_utf8(const unsigned char *p, size_t n, size_t *used) {
    unsigned char b = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) need = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4) need = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else {
        *used = 1;
        return 0;
    }
    size_t k = 1;
    while (k <= need && k < n) {
        unsigned char c = p[k];
        if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
        k++;
    }
    *used = k;
    return k == need + 1 ? k : 0;
}

static void ref_line(RefCorpus *r, const unsigned char *p, size_t n) {
    int crlf = 0, cr = 0, nul = 0, utf8 = 0, trunc = 0, content = 0;
    r->raw++;
    if (n > 0 && p[n - 1] == '\r') crlf = 1, n--;
    char *out = malloc(n + 1);
    size_t len = 0;
    int full = 0;
    for (size_t i = 0; i < n;) {
        unsigned char b = p[i];
        unsigned char ch[4];
        size_t k = 0;
        if (b == 0) nul = 1, r->bad++, i++;
        else if (b == '\r') cr = 1, ch[0] = ' ', k = 1, i++;
        else if (b < 0x80) ch[0] = b, k = 1, i++;
        else {
            size_t used;
            k = ref_utf8(p + i, n - i, &used);
            if (k) memcpy(ch, p + i, k);
            else utf8 = 1, r->bad += used;
            i += used;
        }
        if (!k) continue;
        if (full || len + k > CORPUS_LINE_MAX) {
            full = trunc = 1;
            continue;
        }
        memcpy(out + len, ch, k);
        len += k;
        if (!(k == 1 && (ch[0] == ' ' || ch[0] == '\t' || ch[0] == '\v' || ch[0] == '\f'))) content = 1;
    }
    out[len] = '\0';
    if (!content) {
        r->empty++;
        free(out);
        return;
    }
    if ((r->n & (r->n - 1)) == 0) /* at 0, 1, 2, 4, ...: double */
        r->line = realloc(r->line, (size_t)(r->n ? 2 * r->n : 1) * sizeof *r->line);
    r->line[r->n++] = out;
    r->crlf += crlf, r->cr += cr, r->nul += nul, r->utf8 += utf8, r->trunc += trunc;
}

static void ref_clean(RefCorpus *r, const unsigned char *p, size_t n) {
    memset(r, 0, sizeof *r);
    size_t start = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n') {
            ref_line(r, p + start, i - start);
            start = i + 1;
        }
    if (start < n) ref_line(r, p + start, n - start);
}

/* Whether corpus_open should accept this file, by the rules in corpus.h. */
static int ref_accepts(const RefCorpus *r, size_t n) { return n > 0 && r->bad * 10 <= n && r->n > 0; }

static void ref_free(RefCorpus *r) {
    for (long i = 0; i < r->n; i++) free(r->line[i]);
    free(r->line);
    memset(r, 0, sizeof *r);
}

/* Whether s[0..n) is valid UTF-8 without NUL or CR (checked independently). */
static int ref_valid_text(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] == 0 || p[i] == '\r' || p[i] == '\n') return 0;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t used, k = ref_utf8(p + i, n - i, &used);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

#endif
