/* fileguard.h: opening and replacing the user's files without surprises.
 *
 * What it is for: every input file (checkpoint, tokenizer, corpus) is opened
 * through fileguard_open_regular, which never blocks (a FIFO or a device is
 * refused at once, not waited on); fileguard_same_file tells whether two paths
 * name one file (by device and inode, so "x" and "./x" or a hard link match);
 * fileguard_target resolves the symlink a save must write through, and
 * fileguard_mode gives the mode a replacement must keep; fileguard_is_regular
 * asks only whether a path is a regular file (before offering it).
 *
 * What it is not: the atomic save itself (safetensors_write.c) or the
 * checkpoint lock (train/ckptguard.c). */
#ifndef SDLM_FILEGUARD_H
#define SDLM_FILEGUARD_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Opens path read-only, without blocking, and returns the descriptor (blocking
 * again, close-on-exec), or -1 with e filled ("PATH: not a regular file (a
 * FIFO)..."). what names the file for the message ("a tokenizer model"). */
int fileguard_open_regular(const char *path, const char *what, Err *e);
/* 1 when both paths exist and are the same file, else 0. */
int fileguard_same_file(const char *a, const char *b);
/* 1 when path (not NULL) names a regular file, following symlinks; else 0. */
int fileguard_is_regular(const char *path);
/* What kind of thing path is when it exists but is not a regular file
 * ("a FIFO", "a directory", "a character device"...), or NULL. */
const char *fileguard_odd_kind(const char *path);
/* The path a save must replace: path itself, or the file its symlink chain
 * ends at (a dangling link's target too). Returns 0, or -1 with e filled. */
int fileguard_target(const char *path, char *out, size_t cap, Err *e);
/* The permission bits of an existing file (-1 when there is none). */
int fileguard_mode(const char *path);

#endif
