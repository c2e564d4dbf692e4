/* corpus.h: the training text, one example per line, read without loading it.
 *
 * What it is for: open a UTF-8 text file of any size in one streaming pass
 * that builds a small line index, then hand out cleaned lines by number.
 * What it is not: a tokenizer (spm.h) or a batcher; it never holds the text.
 *
 * Cleaning (the same every time a line is read, counted at open):
 *   - CR before LF (or before the end of the file) is removed ("CRLF");
 *     a CR anywhere else becomes a space ("stray CR").
 *   - NUL bytes are removed.
 *   - Invalid UTF-8 (stray continuation bytes, overlong forms, surrogates,
 *     code points past U+10FFFF, cut-off sequences) is dropped byte run by byte
 *     run, not replaced: the text around it joins up.
 *   - A line longer than CORPUS_LINE_MAX bytes after that is cut to the longest
 *     prefix of whole characters that fits.
 *   - A line left empty or holding only ASCII whitespace (space, tab, VT, FF)
 *     within that prefix is skipped and does not get a number.
 * The fix counts are over the kept lines. A file whose bytes are more than 10%
 * NUL or invalid UTF-8 is refused as binary; so are an empty file, a file with
 * no usable line, a directory and anything that is not a regular file.
 *
 * Index: the byte offset of every CORPUS_MARK_LINES-th kept line (and of the
 * first kept line after any CORPUS_MARK_BYTES stretch), 16 bytes per mark, so
 * memory is a few MB per GB of text; reading line i scans forward from the
 * nearest mark (a few KB). When marks pile up (very short lines) every other
 * one is dropped, keeping the index under ~16 MB at any size.
 *
 * Threads: after corpus_open the Corpus is read-only. corpus_line uses pread
 * and the caller's buffer, so any number of threads may read lines while
 * others read the counts. corpus_close must wait for all of them. */
#ifndef SDLM_CORPUS_H
#define SDLM_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CORPUS_LINE_MAX = 16384,    /* cleaned lines are cut to this many bytes */
    CORPUS_MARK_LINES = 16,     /* a mark every this many kept lines ... */
    CORPUS_MARK_BYTES = 16384,  /* ... or after this many bytes */
};

typedef struct {
    uint64_t off;   /* byte offset of the line's first byte */
    uint64_t line;  /* its number among kept lines; top bit: a byte-rule mark */
} CorpusMark;

typedef struct Corpus {
    int fd;
    uint64_t bytes;          /* file size when opened */
    long lines;              /* kept lines: the examples, numbered 0..lines-1 */
    long raw_lines;          /* lines in the file, skipped ones included */
    long skipped_empty;      /* empty or whitespace-only lines */
    long fixed_crlf;         /* kept lines that ended in CR LF */
    long fixed_cr;           /* kept lines with a stray CR */
    long fixed_nul;          /* kept lines with NUL bytes */
    long fixed_utf8;         /* kept lines with invalid UTF-8 */
    long truncated;          /* kept lines cut to CORPUS_LINE_MAX */
    CorpusMark *marks;       /* the sparse index, by increasing line */
    size_t nmarks;
    char summary[640];       /* corpus_summary's line */
} Corpus;

/* Opens and indexes path. On failure fills e with one line naming the file
 * and the problem, leaves nothing open and returns -1. */
int corpus_open(Corpus *c, const char *path, Err *e);
void corpus_close(Corpus *c);

long corpus_count(const Corpus *c); /* number of kept lines */

/* Copies kept line i, cleaned as above, into buf as a NUL-terminated string
 * (cut at a character boundary to cap-1 bytes; a buffer of CORPUS_LINE_MAX+1
 * always holds a whole line). Returns its length (>= 1, or 0 only when
 * cap == 1), or -1 with e filled (i out of range, read error, or a file that
 * changed since it was opened). */
long corpus_line(const Corpus *c, long i, char *buf, size_t cap, Err *e);

/* One line for people, e.g. "corpus.txt: 11600 lines, 1.2 MB; skipped 12
 * empty; fixed 3 CRLF, 1 with NUL bytes, 2 with invalid UTF-8, 1 over 16 KB
 * truncated". Parts that would say 0 are left out. */
const char *corpus_summary(const Corpus *c);

/* "1.2 MB" style size (1024-based) into buf. */
void corpus_format_bytes(uint64_t n, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
