/* infill.h: between a template ("The {3} sat.") and a model's sequence.
 *
 * Known text is encoded with the tokenizer's plain encoding, each span
 * becomes its slots (masked), and EOS closes the sequence, as in training.
 * After sampling, the filled text is the template's literal text with each
 * span's tokens rendered piece by piece (so a span mid-line keeps its leading
 * space; pad and EOS inside a span render as nothing: the span ended early).
 * Used by `sdlm infill`, the trainer's probes and the editor's session. */
#ifndef SDLM_INFILL_H
#define SDLM_INFILL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spm.h"
#include "template.h"

typedef struct {
    int len;          /* tokens, EOS included */
    int32_t *ids;     /* [len]: known tokens, pad on span slots */
    uint8_t *known;   /* [len] */
    int *span_of;     /* [len]: span index of a slot, -1 on known tokens */
} InfillSeq;

/* Builds the sequence; fails when it would exceed max_len tokens. */
int infill_build(const Spm *spm, const Template *t, int max_len, InfillSeq *out, Err *e);
void infill_seq_free(InfillSeq *s);

/* Display text of one piece: "▁" becomes a space, a byte piece its byte, and
 * pad, EOS and unknown render as nothing. Returns the bytes written (<= cap-1). */
int infill_piece_text(const Spm *spm, int32_t id, char *buf, int cap);
/* The template's text with every span filled from ids (the sequence's
 * layout). Returns the full length like snprintf. */
size_t infill_render(const Spm *spm, const Template *t, const InfillSeq *s, const int32_t *ids, char *out,
                     size_t cap);
/* Just span k's text. */
size_t infill_render_span(const Spm *spm, const InfillSeq *s, const int32_t *ids, int k, char *out, size_t cap);

#endif
