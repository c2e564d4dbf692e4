/* dist.c: MPI behind dist.h, or single-rank stubs without SDLM_MPI.
 *
 * Counts are size_t; MPI's are int, so large blocks go in pieces of at most
 * INT_MAX / 2 elements. Errors inside MPI keep MPI's default handler
 * (MPI_ERRORS_ARE_FATAL): a rank that dies or loses its network ends the job,
 * and mpirun names the rank. */
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef SDLM_MPI
#include <limits.h>
#include <mpi.h>

/* Set by dist_init: MPI_Comm_rank and MPI_Comm_size are asked once, on the
 * main thread, so the main thread never calls MPI while the trainer's does. */
static int joined, rank, size = 1;

static int live(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

int dist_init(Err *e) {
    if (live()) return 0; /* joined already (or by someone else's MPI_Init: then one rank here) */
    int provided = MPI_THREAD_SINGLE;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return err_set(e, "MPI_Init_thread failed: is this the mpirun of the MPI sdlm was built with?");
    joined = 1;
    if (provided < MPI_THREAD_SERIALIZED) {
        dist_finalize();
        return err_set(e, "this MPI does not allow calls from a thread other than main (MPI_THREAD_SERIALIZED)");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return 0;
}

void dist_finalize(void) {
    if (joined && live()) MPI_Finalize();
    joined = 0, rank = 0, size = 1;
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }

enum { PIECE = INT_MAX / 2 };

static void sum(void *x, size_t n, size_t elem, MPI_Datatype type) {
    if (dist_size() == 1) return;
    for (size_t off = 0; off < n; off += PIECE) {
        int k = (int)(n - off < PIECE ? n - off : PIECE);
        MPI_Allreduce(MPI_IN_PLACE, (char *)x + off * elem, k, type, MPI_SUM, MPI_COMM_WORLD);
    }
}

void dist_sum_floats(float *x, size_t n) { sum(x, n, sizeof *x, MPI_FLOAT); }
void dist_sum_doubles(double *x, size_t n) { sum(x, n, sizeof *x, MPI_DOUBLE); }

int dist_any(int flag) {
    int v = flag != 0;
    if (dist_size() > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

void dist_bcast(void *buf, size_t bytes) {
    if (dist_size() == 1) return;
    for (size_t off = 0; off < bytes; off += PIECE) {
        int k = (int)(bytes - off < PIECE ? bytes - off : PIECE);
        MPI_Bcast((char *)buf + off, k, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

_Noreturn void dist_abort(const char *msg) {
    int n = dist_size();
    fprintf(stderr, "sdlm: rank %d of %d: %s; ending the job\n", dist_rank(), n, msg);
    fflush(stderr);
    if (n > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

#else /* one rank */

int dist_init(Err *e) {
    (void)e;
    return 0;
}
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
void dist_sum_floats(float *x, size_t n) { (void)x, (void)n; }
void dist_sum_doubles(double *x, size_t n) { (void)x, (void)n; }
int dist_any(int flag) { return flag != 0; }
void dist_bcast(void *buf, size_t bytes) { (void)buf, (void)bytes; }

_Noreturn void dist_abort(const char *msg) {
    fprintf(stderr, "sdlm: %s\n", msg);
    exit(1);
}

#endif
