/* ckptguard.h: what a training run checks before it touches a checkpoint,
 * and the lock that keeps two runs off one checkpoint.
 *
 * What it is for: refusing at once, before any step is taken, a run whose
 * checkpoint could not be saved (a missing or read-only folder, a full disk, a
 * read-only checkpoint file), whose inputs are FIFOs or devices, or whose
 * --export would replace the checkpoint; and a lock (flock on .CKPT.lock beside
 * it, which holds the pid) so a second run on the same checkpoint is refused with the
 * first one's pid; on resume, a tokenizer whose pieces differ from the one
 * inside is refused, and model size flags the checkpoint overrides are named.
 *
 * What it is not: the save itself (ckpt.c, safetensors_write.c). */
#ifndef SDLM_CKPTGUARD_H
#define SDLM_CKPTGUARD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct {
    const char *ckpt, *corpus, *spm, *export_path; /* spm and export_path may be NULL */
} CkptPaths;

/* The checks that need no model: kinds of files, the export path, a
 * read-only checkpoint, a folder where a file can be created. */
int ckptguard_preflight(const CkptPaths *p, Err *e);
/* Creates a temp file of `bytes` beside the checkpoint (its space reserved)
 * and removes it: a full disk or a quota shows here, not at the first save. */
int ckptguard_probe_space(const char *ckpt, uint64_t bytes, Err *e);

struct Spm;
/* Resuming with -spm: the given tokenizer must have exactly the pieces of the
 * one inside the checkpoint (same ids, same text), or training would go on
 * with every embedding meaning another piece. */
int ckptguard_same_tokenizer(const struct Spm *given, const char *given_path, const void *inside, size_t len,
                             const char *ckpt, Err *e);

/* The model size flags a resumed checkpoint overrides: writes a note naming
 * each flag given (given_mask bits 1 -edim, 2 -mdim, 4 -numl) that differs
 * from ckpt's, and returns 1; 0 when there is nothing to say (or no such file). */
int ckptguard_dims_note(const char *ckpt, const int given[3], unsigned given_mask, char *note, size_t cap);

typedef struct {
    int fd;          /* -1: not held */
    char path[1100]; /* DIR/.NAME.lock for DIR/NAME, the symlink's target */
} CkptLock;

/* Takes the lock without waiting; a held lock is refused with its pid. */
int ckptguard_lock(CkptLock *l, const char *ckpt, Err *e);
/* Releases and removes the lock file; safe on a lock never taken. */
void ckptguard_unlock(CkptLock *l);

#endif
