/* spm.h: the tokenizer, a plain C face on SentencePiece (C++ behind it, in spm.cc).
 *
 * What it is for: load a SentencePiece model (from a file, or from the bytes a
 * checkpoint embeds), turn text into ids plainly or with subword sampling, turn
 * ids back into text, and train a new model in-process. Every SentencePiece
 * error or C++ exception stops at this boundary and comes back as an Err.
 * What it is not: the corpus reader (corpus.h) or batching (the trainer).
 *
 * Id layout of the models spm_train writes (a loaded model reports its own
 * through spm_pad_id/spm_unk_id/spm_eos_id; -1 means "none"):
 *     0 <pad>   padding of batches; decodes to nothing
 *     1 <unk>   never produced by encoding, since byte fallback covers every byte
 *     2 </s>    end of sequence, appended to each training example; decodes to nothing
 *     3..258    <0x00>..<0xFF> byte pieces (byte fallback)
 *     259..     learned pieces, most probable first
 *   There is no BOS (bos_id = -1).
 * With identity normalisation, whitespace kept and byte fallback, decoding the
 * ids of any valid UTF-8 text gives back exactly that text (tabs, runs of
 * spaces, leading/trailing spaces, any script, emoji).
 *
 * Threads: a loaded Spm may be used by several threads at once for encoding
 * and decoding (SentencePiece's encoders are const); loading and freeing are
 * not concurrent with use. spm_train redirects the process's stderr (fd 2)
 * while it runs, see there. */
#ifndef SDLM_SPM_H
#define SDLM_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SPM_PAD_ID = 0,          /* ids as spm_train lays them out (see above) */
    SPM_UNK_ID = 1,
    SPM_EOS_ID = 2,
    SPM_BYTE_PIECES = 256,   /* <0x00>..<0xFF> */
    SPM_SAMPLE_NBEST = 5,    /* the seed's subword sampling: nbest 5 ... */
    SPM_DEFAULT_VOCAB = 2000 /* see spm_train */
};
#define SPM_SAMPLE_ALPHA 0.1f /* ... and alpha 0.1 */

typedef struct Spm Spm;

/* Loading. Both return NULL and fill e on failure (missing file, not a
 * SentencePiece model, a model without pieces). */
Spm *spm_load(const char *path, Err *e);
Spm *spm_load_bytes(const void *data, size_t n, Err *e);
void spm_free(Spm *s);

/* The model as serialized bytes (what a checkpoint embeds and spm_load_bytes
 * takes back). Owned by s, valid until spm_free. */
const void *spm_model_bytes(const Spm *s, size_t *n);

int spm_vocab_size(const Spm *s); /* V: number of pieces */
int spm_pad_id(const Spm *s);     /* -1 when the model has no such piece */
int spm_unk_id(const Spm *s);
int spm_eos_id(const Spm *s);

/* Encoding `len` bytes of `text` (need not be NUL-terminated). Like snprintf:
 * at most `cap` ids are stored in `ids`, and *n receives the full count, so
 * *n > cap means the output was cut (callers that crop to L can ignore that).
 * No EOS is added. Returns 0, or -1 with e filled.
 *   spm_encode: the single best segmentation (infilling, display).
 *   spm_encode_sample: subword sampling as the seed trains with it
 *     (SentencePiece's SampleEncode with nbest 5, alpha 0.1): one of the 5 best
 *     segmentations, drawn with probability proportional to exp(alpha * score).
 *     The draw uses the caller's Rng (one rng_uniform per call with non-empty
 *     text), so the same Rng state gives the same ids, in any thread, whatever
 *     else the process has encoded. SentencePiece's own generator is not used:
 *     in 0.1.97 it is a per-thread mt19937 seeded once, at a thread's first
 *     draw, and SetRandomGeneratorSeed after that has no effect on it. */
int spm_encode(const Spm *s, const char *text, size_t len, int *ids, int cap, int *n, Err *e);
int spm_encode_sample(const Spm *s, const char *text, size_t len, Rng *rng, int *ids, int cap,
                      int *n, Err *e);

/* Decoding ids into `buf` (NUL-terminated, cut to cap-1 bytes at a UTF-8
 * character boundary; cap >= 1). *len (if not NULL) receives the full decoded
 * length, so *len >= cap means the text was cut. Pad and EOS decode to
 * nothing. An id outside [0, V) is an error naming it, not a crash. */
int spm_decode(const Spm *s, const int *ids, int n, char *buf, size_t cap, size_t *len, Err *e);

/* The piece text of one id (e.g. "\xe2\x96\x81the" for "_the", "<0x0A>", "</s>"),
 * NUL-terminated and cut to cap-1 bytes. An id outside [0, V) is an error. */
int spm_piece(const Spm *s, int id, char *buf, size_t cap, Err *e);

/* Training.
 *
 * Trains a unigram model (what subword sampling needs) with the id layout
 * above, identity normalisation, whitespace kept and byte fallback, and writes
 * PREFIX.model (atomically: temp file, fsync, rename) and PREFIX.vocab (piece
 * TAB score per line, for people). The vocab size is a soft limit: a small
 * corpus gives fewer pieces rather than an error; a vocab too small for the
 * corpus's characters (it needs 259 + the characters that cover 99.95% of the
 * text) is an error that says how large it must be.
 * SPM_DEFAULT_VOCAB (2000) suits the small CPU-trained models sdlm is for:
 * the output layer (V x D) and its softmax stay cheap, and 1741 learned pieces
 * cover common English words whole.
 *
 * Big corpora: at most SPM_TRAIN_MAX_LINES lines are used, a uniform sample
 * (without replacement, kept in corpus order) drawn with a fixed seed, so the
 * same corpus gives the same tokenizer; lines longer than
 * SPM_TRAIN_MAX_LINE_BYTES are cut (at a character boundary) for training.
 *
 * The trainer writes its log to stderr, including a "Running command" line no
 * log level silences; it must never reach a terminal curses owns. So fd 2 is
 * pointed at /dev/null for the duration of the call (for the whole process:
 * other threads' stderr is lost meanwhile) and restored after; on failure
 * the message in e is SentencePiece's own error, shortened. Training runs on a
 * fresh thread so SentencePiece's per-thread generator is seeded anew each time
 * (the same input gives the same model bytes). */
enum { SPM_TRAIN_MAX_LINES = 1000000, SPM_TRAIN_MAX_LINE_BYTES = 4096 };

typedef struct {
    int pieces;        /* pieces in the trained model (V) */
    long lines_used;   /* corpus lines fed to the trainer */
    long lines_total;  /* usable lines in the corpus */
    double seconds;    /* wall time of the whole call */
} SpmTrainInfo;

/* Supplies training lines: returns 1 with *line and *len set (valid until the next
 * call), 0 at the end, -1 on error (with e filled). */
typedef int (*SpmLineFn)(void *ctx, const char **line, size_t *len, Err *e);

struct Corpus;
int spm_train(const char *corpus_path, const char *prefix, int vocab, Err *e);
int spm_train_corpus(const struct Corpus *c, const char *prefix, int vocab, SpmTrainInfo *info,
                     Err *e);
/* The core the two above use: trains on the lines `next` supplies and writes
 * PREFIX.model / PREFIX.vocab; info->pieces filled. */
int spm_train_lines(SpmLineFn next, void *ctx, const char *prefix, int vocab, SpmTrainInfo *info,
                    Err *e);

#ifdef __cplusplus
}
#endif

#endif
