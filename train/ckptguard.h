/* ckptguard.h: what a training run checks before it touches a checkpoint,
 * and the lock that keeps two runs off one checkpoint.
 *
 * What it is for: refusing at once, before any step is taken, a run whose
 * checkpoint could not be saved (a missing or read-only folder, a full disk, a
 * read-only checkpoint file), whose inputs are FIFOs or devices, or whose
 * --export would replace the checkpoint; and a lock (flock on CKPT.lock, which
 * holds the pid) so a second run on the same checkpoint is refused with the
 * first one's pid.
 *
 * What it is not: the save itself (ckpt.c, safetensors_write.c). */
#ifndef SDLM_CKPTGUARD_H
#define SDLM_CKPTGUARD_H

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

typedef struct {
    int fd;          /* -1: not held */
    char path[1100]; /* CKPT.lock (beside the symlink's target) */
} CkptLock;

/* Takes the lock without waiting; a held lock is refused with its pid. */
int ckptguard_lock(CkptLock *l, const char *ckpt, Err *e);
/* Releases and removes the lock file; safe on a lock never taken. */
void ckptguard_unlock(CkptLock *l);

#endif
