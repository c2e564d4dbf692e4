/* dist.h: the ranks of a data-parallel run (MPI), as a handful of calls.
 *
 * Built with `make MPI=1` (SDLM_MPI), these are thin wrappers over MPI on
 * MPI_COMM_WORLD; otherwise, and in an MPI build started without mpirun
 * (or before dist_init), they are the single-rank identities: rank 0 of 1,
 * sums and broadcasts that leave their buffers as they are.
 *
 * Every call except dist_rank, dist_size and dist_abort is collective: all
 * ranks make the same calls in the same order. Only one thread calls them
 * (the trainer's), which dist_init asks MPI to allow (MPI_THREAD_SERIALIZED);
 * dist_rank and dist_size only read what dist_init asked, so any thread may.
 * Not here: what is reduced or why (trainer.c). */
#ifndef SDLM_DIST_H
#define SDLM_DIST_H

#include <stddef.h>

#include "err.h"

/* Joins the job (MPI_Init_thread) when built with MPI; 0, or -1 with e. */
int dist_init(Err *e);
/* Leaves it (MPI_Finalize); nothing when dist_init was not called. */
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
/* x[0..n-1] = the sum over ranks of x, in place, on every rank. */
void dist_sum_floats(float *x, size_t n);
void dist_sum_doubles(double *x, size_t n);
/* 1 on every rank when flag is non-zero on any rank. */
int dist_any(int flag);
/* Rank 0's bytes into buf on every rank. */
void dist_bcast(void *buf, size_t bytes);
/* Prints "sdlm: rank R of N: msg" on stderr and ends every rank of the job
 * (MPI_Abort); in a single-rank run, exits with status 1. For failures that
 * would leave the other ranks waiting forever in a collective call. */
_Noreturn void dist_abort(const char *msg);

#endif
