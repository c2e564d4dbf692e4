/* corpus.c: one example per line, indexed in one streaming pass (see corpus.h).
 *
 * One cleaner, LineScan, is fed the bytes of a line in pieces (a line may
 * span reads) and both counts (at open) and copies out (corpus_line), so a
 * line is judged the same way both times. The file is read with read()/pread()
 * into a small buffer, never mmap'd: touched pages of a mapping would count
 * toward RSS, the page cache does not.
 *
 * Measured with tests/perf/big-corpus.sh on the 2-core, 24 GB dev machine: a
 * 1,081,368,941-byte file (10,900,011 kept lines, 112,372 blank, 43,427 CRLF,
 * 11 over 16 KB) opened in 0.79 s with the file in the page cache and 1.53 s
 * after its pages were dropped (posix_fadvise DONTNEED); peak RSS of the whole
 * test process 12-13 MB; 681,260 marks (10.4 MB); 10,000 random corpus_line
 * calls 0.045-0.055 s. `sdlm tokenizer` on a file from the same generator
 * (1M lines sampled): 182.5 s and 2.3 GB peak RSS, nearly all of it
 * SentencePiece's trainer. */
#include "corpus.h"
#include "fileguard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    FIX_CRLF = 1,
    FIX_CR = 2,
    FIX_NUL = 4,
    FIX_UTF8 = 8,
    FIX_LONG = 16,
    OPEN_CHUNK = 1 << 20,     /* read size while indexing */
    LINE_CHUNK = 16384,       /* pread size in corpus_line (on the stack) */
    MARKS_THIN_AT = 1 << 20,  /* 16 MB of marks: thin them */
};
#define MARK_FORCED (1ull << 63)

/* The state of one line being cleaned. */
typedef struct {
    uint64_t clean;    /* cleaned bytes so far, whole line */
    uint64_t kept;     /* of those, the prefix of whole characters within CORPUS_LINE_MAX */
    uint64_t bad;      /* bytes dropped as NUL or invalid UTF-8 */
    int capped;        /* a character did not fit: nothing more is kept */
    int content;       /* a non-whitespace character within the kept prefix */
    int flags;         /* FIX_* */
    int pending_cr;    /* the last byte was a CR: CRLF or stray, we will see */
    unsigned char seq[4];
    int seq_len, seq_need;    /* a UTF-8 sequence in progress */
    unsigned char lo, hi;     /* allowed range of its second byte */
    char *out;         /* optional copy of the kept text */
    size_t out_cap, out_len;  /* out_cap excludes the NUL */
    int out_full;
} LineScan;

static void scan_reset(LineScan *s, char *out, size_t out_cap) {
    memset(s, 0, sizeof *s);
    s->out = out;
    s->out_cap = out_cap;
}

static int is_space(unsigned char b) { return b == ' ' || b == '\t' || b == '\v' || b == '\f'; }

/* Emits one whole, valid character of k bytes. */
static void scan_emit(LineScan *s, const unsigned char *p, size_t k) {
    s->clean += k;
    if (s->capped) return;
    if (s->kept + k > CORPUS_LINE_MAX) {
        s->capped = 1;
        s->flags |= FIX_LONG;
        return;
    }
    s->kept += k;
    if (!s->content && !(k == 1 && is_space(p[0]))) s->content = 1;
    if (s->out && !s->out_full) {
        if (s->out_len + k <= s->out_cap) {
            memcpy(s->out + s->out_len, p, k);
            s->out_len += k;
        } else {
            s->out_full = 1;
        }
    }
}

/* Emits a run of k printable ASCII bytes (or tabs) at once. */
static void scan_emit_ascii(LineScan *s, const unsigned char *p, size_t k) {
    s->clean += k;
    if (s->capped) return;
    if (s->kept + k > CORPUS_LINE_MAX) {
        k = CORPUS_LINE_MAX - s->kept;
        s->capped = 1;
        s->flags |= FIX_LONG;
    }
    s->kept += k;
    for (size_t i = 0; i < k && !s->content; i++)
        if (!is_space(p[i])) s->content = 1;
    if (s->out && !s->out_full) {
        size_t room = s->out_cap - s->out_len;
        if (k > room) {
            k = room;
            s->out_full = 1;
        }
        memcpy(s->out + s->out_len, p, k);
        s->out_len += k;
    }
}

static void scan_drop_seq(LineScan *s) {
    if (s->seq_len) {
        s->bad += (uint64_t)s->seq_len;
        s->flags |= FIX_UTF8;
    }
    s->seq_len = s->seq_need = 0;
}

/* One byte that is not a plain ASCII run member, and not LF. */
static void scan_byte(LineScan *s, unsigned char b) {
    if (s->pending_cr) { /* a CR not followed by LF: a space */
        s->pending_cr = 0;
        s->flags |= FIX_CR;
        scan_emit(s, (const unsigned char *)" ", 1);
    }
    if (s->seq_need) {
        unsigned char lo = s->seq_len == 1 ? s->lo : 0x80, hi = s->seq_len == 1 ? s->hi : 0xBF;
        if (b >= lo && b <= hi) {
            s->seq[s->seq_len++] = b;
            if (--s->seq_need == 0) {
                scan_emit(s, s->seq, (size_t)s->seq_len);
                s->seq_len = 0;
            }
            return;
        }
        scan_drop_seq(s); /* then b starts afresh */
    }
    if (b < 0x80) {
        if (b == 0) {
            s->bad++;
            s->flags |= FIX_NUL;
        } else if (b == '\r') {
            s->pending_cr = 1;
        } else {
            scan_emit(s, &b, 1);
        }
        return;
    }
    int need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;      /* no overlong forms */
        else if (b == 0xED) hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;
        else if (b == 0xF4) hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        s->bad++;
        s->flags |= FIX_UTF8;
        return;
    }
    s->seq[0] = b;
    s->seq_len = 1;
    s->seq_need = need;
    s->lo = lo;
    s->hi = hi;
}

static int is_plain(unsigned char b) { return (b >= 0x20 && b < 0x7F) || b == '\t'; }

/* Feeds n bytes of the current line (no LF among them). */
static void scan_feed(LineScan *s, const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (!s->pending_cr && !s->seq_need && is_plain(p[i])) {
            size_t j = i + 1;
            while (j < n && is_plain(p[j])) j++;
            scan_emit_ascii(s, p + i, j - i);
            i = j;
        } else {
            scan_byte(s, p[i++]);
        }
    }
}

/* The line ended (at LF or at the end of the file). */
static void scan_finish(LineScan *s) {
    scan_drop_seq(s);
    if (s->pending_cr) {
        s->pending_cr = 0;
        s->flags |= FIX_CRLF;
    }
}

/* ---- opening: the index ---- */

typedef struct {
    Corpus *c;
    size_t cap;          /* marks allocated */
    size_t thin_at;
    uint64_t every;      /* current line spacing of regular marks */
    uint64_t bad;        /* bytes dropped in the whole file */
    int oom;
} Indexer;

static void add_mark(Indexer *x, uint64_t off, int forced) {
    Corpus *c = x->c;
    if (c->nmarks >= x->thin_at) {
        /* Keep the first, every byte-rule mark, and every other regular one. */
        size_t w = 1, regular = 0;
        for (size_t r = 1; r < c->nmarks; r++) {
            if (c->marks[r].line & MARK_FORCED) c->marks[w++] = c->marks[r];
            else if (regular++ % 2 == 1) c->marks[w++] = c->marks[r];
        }
        c->nmarks = w;
        x->every *= 2;
        if (c->nmarks > x->thin_at / 2) x->thin_at *= 2;
    }
    if (c->nmarks == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 4096;
        CorpusMark *m = realloc(c->marks, ncap * sizeof *m);
        if (!m) {
            x->oom = 1;
            return;
        }
        c->marks = m;
        x->cap = ncap;
    }
    c->marks[c->nmarks].off = off;
    c->marks[c->nmarks].line = (uint64_t)c->lines | (forced ? MARK_FORCED : 0);
    c->nmarks++;
}

static void line_done(Indexer *x, LineScan *s, uint64_t start) {
    Corpus *c = x->c;
    scan_finish(s);
    c->raw_lines++;
    x->bad += s->bad;
    if (!s->content) {
        c->skipped_empty++;
        return;
    }
    if (c->nmarks == 0) {
        add_mark(x, start, 0);
    } else {
        const CorpusMark *last = &c->marks[c->nmarks - 1];
        if (start - last->off >= CORPUS_MARK_BYTES) add_mark(x, start, 1);
        else if ((uint64_t)c->lines - (last->line & ~MARK_FORCED) >= x->every) add_mark(x, start, 0);
    }
    c->lines++;
    if (s->flags & FIX_CRLF) c->fixed_crlf++;
    if (s->flags & FIX_CR) c->fixed_cr++;
    if (s->flags & FIX_NUL) c->fixed_nul++;
    if (s->flags & FIX_UTF8) c->fixed_utf8++;
    if (s->flags & FIX_LONG) c->truncated++;
}

void corpus_format_bytes(uint64_t n, char *buf, size_t cap) {
    if (n < 1024) snprintf(buf, cap, "%llu bytes", (unsigned long long)n);
    else if (n < 1024ull * 1024) snprintf(buf, cap, "%.1f KB", n / 1024.0);
    else if (n < 1024ull * 1024 * 1024) snprintf(buf, cap, "%.1f MB", n / (1024.0 * 1024));
    else snprintf(buf, cap, "%.1f GB", n / (1024.0 * 1024 * 1024));
}

static void make_summary(Corpus *c, const char *path) {
    char size[32], *p = c->summary;
    size_t room = sizeof c->summary;
    int w;
#define PUT(...)                                   \
    do {                                           \
        w = snprintf(p, room, __VA_ARGS__);        \
        if (w < 0 || (size_t)w >= room) return;    \
        p += w;                                    \
        room -= (size_t)w;                         \
    } while (0)
    corpus_format_bytes(c->bytes, size, sizeof size);
    PUT("%s: %ld line%s, %s", path, c->lines, c->lines == 1 ? "" : "s", size);
    if (c->skipped_empty) PUT("; skipped %ld empty", c->skipped_empty);
    const char *sep = "; fixed ";
    if (c->fixed_crlf) { PUT("%s%ld CRLF", sep, c->fixed_crlf); sep = ", "; }
    if (c->fixed_cr) { PUT("%s%ld with stray CR", sep, c->fixed_cr); sep = ", "; }
    if (c->fixed_nul) { PUT("%s%ld with NUL bytes", sep, c->fixed_nul); sep = ", "; }
    if (c->fixed_utf8) { PUT("%s%ld with invalid UTF-8", sep, c->fixed_utf8); sep = ", "; }
    if (c->truncated) PUT("%s%ld over %d KB truncated", sep, c->truncated, CORPUS_LINE_MAX / 1024);
#undef PUT
}

int corpus_open(Corpus *c, const char *path, Err *e) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int fd = fileguard_open_regular(path, "a text file with one example per line", e);
    if (fd < 0) return -1;
    unsigned char *buf = malloc(OPEN_CHUNK);
    if (!buf) {
        close(fd);
        return err_set(e, "%s: out of memory", path);
    }
    c->fd = fd;
    Indexer x = {.c = c, .thin_at = MARKS_THIN_AT, .every = CORPUS_MARK_LINES};
    LineScan s;
    scan_reset(&s, NULL, 0);
    uint64_t pos = 0, start = 0; /* file offset of buf[0]; start of the current line */
    for (;;) {
        ssize_t r = read(fd, buf, OPEN_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            err_set(e, "%s: read error at byte %llu: %s", path, (unsigned long long)pos, strerror(errno));
            goto fail;
        }
        if (r == 0) break;
        const unsigned char *p = buf, *end = buf + r;
        while (p < end) {
            const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
            scan_feed(&s, p, (size_t)((lf ? lf : end) - p));
            if (!lf) break;
            line_done(&x, &s, start);
            scan_reset(&s, NULL, 0);
            start = pos + (uint64_t)(lf - buf) + 1;
            p = lf + 1;
        }
        pos += (uint64_t)r;
        if (x.oom) {
            err_set(e, "%s: out of memory for the line index", path);
            goto fail;
        }
    }
    if (pos > start) line_done(&x, &s, start); /* no newline at the end */
    if (x.oom) {
        err_set(e, "%s: out of memory for the line index", path);
        goto fail;
    }
    c->bytes = pos;
    free(buf);
    buf = NULL;
    if (pos == 0) {
        err_set(e, "%s: the file is empty; give a text file with one example per line", path);
        goto fail;
    }
    if (x.bad * 10 > pos) {
        err_set(e, "%s: looks like a binary file (%llu%% of its bytes are NUL or invalid UTF-8); "
                "give a UTF-8 text file with one example per line",
                path, (unsigned long long)(x.bad * 100 / pos));
        goto fail;
    }
    if (c->lines == 0) {
        err_set(e, "%s: no usable lines (%ld line%s, all empty or whitespace)", path, c->raw_lines,
                c->raw_lines == 1 ? "" : "s");
        goto fail;
    }
    make_summary(c, path);
    return 0;
fail:
    free(buf);
    corpus_close(c);
    return -1;
}

void corpus_close(Corpus *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->marks);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

long corpus_count(const Corpus *c) { return c->lines; }

const char *corpus_summary(const Corpus *c) { return c->summary; }

/* ---- reading a line ---- */

long corpus_line(const Corpus *c, long i, char *buf, size_t cap, Err *e) {
    if (!buf || cap < 1) return err_set(e, "corpus line %ld: no buffer", i);
    buf[0] = '\0';
    if (i < 0 || i >= c->lines) return err_set(e, "corpus line %ld: out of range [0, %ld)", i, c->lines);
    /* The last mark at or before line i. */
    size_t lo = 0, hi = c->nmarks; /* marks[lo].line <= i < marks[hi].line */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((c->marks[mid].line & ~MARK_FORCED) <= (uint64_t)i) lo = mid;
        else hi = mid;
    }
    long at = (long)(c->marks[lo].line & ~MARK_FORCED);
    uint64_t pos = c->marks[lo].off;
    unsigned char chunk[LINE_CHUNK];
    LineScan s;
    scan_reset(&s, buf, cap - 1);
    int in_line = 0; /* bytes of the current line seen */
    for (;;) {
        ssize_t r = pread(c->fd, chunk, sizeof chunk, (off_t)pos);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return err_set(e, "corpus line %ld: read error: %s", i, strerror(errno));
        if (r == 0) {
            if (in_line) {
                scan_finish(&s);
                if (s.content && at == i) break;
            }
            return err_set(e, "corpus line %ld: the file ended early; did it change since it was opened?", i);
        }
        const unsigned char *p = chunk, *end = chunk + r;
        while (p < end) {
            const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
            scan_feed(&s, p, (size_t)((lf ? lf : end) - p));
            in_line = 1;
            /* The wanted line, kept for sure and with nothing more to copy:
             * no need to read the rest of a long line. */
            if (at == i && s.content && (s.capped || s.out_full)) goto done;
            if (!lf) break;
            scan_finish(&s);
            if (s.content) {
                if (at == i) goto done;
                at++;
            }
            scan_reset(&s, buf, cap - 1);
            in_line = 0;
            p = lf + 1;
        }
        pos += (uint64_t)r;
    }
done:
    buf[s.out_len] = '\0';
    return (long)s.out_len;
}
