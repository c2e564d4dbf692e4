/* paths.h: where sdlm keeps its data and where it finds the data it ships.
 *
 *   data dir   $XDG_DATA_HOME/sdlm, or $HOME/.local/share/sdlm when XDG_DATA_HOME
 *              is unset, empty or relative (the XDG spec says relative values are
 *              invalid). Created with mode 0700, parents too; an existing directory
 *              keeps its mode. Holds sdlm.db and checkpoints.
 *   default db <data dir>/sdlm.db
 *   share dir  the shipped corpus, tokenizer and default model, looked up in order:
 *              1. $SDLM_SHARE when set and non-empty (used as given, not checked);
 *              2. <dir of /proc/self/exe>/share if it holds one of the marker
 *                 files sdlm-default.safetensors, corpus.txt, tokenizer.model
 *                 (running from the source tree);
 *              3. <dir of exe>/../share/sdlm if it is a directory (installed
 *                 with PREFIX, wherever the tree was moved);
 *              4. SDLM_DATADIR, fixed at compile time ($(PREFIX)/share/sdlm).
 *
 * All functions write a NUL-terminated path into out[cap] and return 0, or
 * return -1 with e naming what failed (no HOME, path too long, mkdir refused). */
#ifndef SDLM_PATHS_H
#define SDLM_PATHS_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

int paths_data_dir(char *out, size_t cap, Err *e);
int paths_default_db(char *out, size_t cap, Err *e);
int paths_share_dir(char *out, size_t cap, Err *e);

/* The share-dir search of step 2-4 for a given executable path (so tests need
 * not move the binary). */
int paths_share_dir_for_exe(const char *exe, char *out, size_t cap, Err *e);

/* mkdir -p with this mode for every directory it creates. */
int paths_mkdir_p(const char *dir, mode_t mode, Err *e);

#endif
