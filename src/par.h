/* par.h: the engine's fork-join pool, so the elementwise kernels of ops.c and
 * adamw.c, and the attention's per-head work, use the second core that
 * OpenBLAS uses for matrix products.
 *
 * par_for splits [0, n) into a few contiguous ranges per thread (par.c's
 * RANGES_PER_THREAD) that the calling thread and the helpers take in turn,
 * so a helper that wakes late costs a fraction of its share; it returns when
 * all are done. Helpers sleep on a condition variable between jobs (they do
 * not spin: they share the cores with OpenBLAS's own workers) and never call
 * BLAS: the thread that calls par_for stays the only BLAS caller.
 *
 * The thread count is OpenBLAS's (openblas_get_num_threads() when the pool
 * first starts, so OPENBLAS_NUM_THREADS=1 means no helper), or SDLM_THREADS
 * when set (SDLM_THREADS=1: every kernel in its caller). The pool starts
 * on the first par_for that can use it and its helpers live as long as the
 * process. One job runs at a time: the engine thread (the trainer's, or the
 * one running a command) is meant to be the only caller; a par_for from a
 * second thread while a job is running, or in a forked child, runs serially
 * in its caller, so it is always safe, only not parallel.
 *
 * Splitting never changes a result as long as fn computes each index the same
 * way whatever range it is in: the kernels split over elements, rows or
 * sequences and keep every sum in its serial order. */
#ifndef SDLM_PAR_H
#define SDLM_PAR_H

/* fn(ctx, begin, end) handles indices begin .. end-1. */
typedef void (*ParFn)(void *ctx, long begin, long end);

/* Runs fn over [0, n) in ranges whose bounds are multiples of grain (except n
 * itself) and that hold at least grain indices: with n < 2 grain, fn(ctx, 0, n)
 * runs in the caller alone. grain is both the smallest job worth a helper's
 * wake-up and an alignment (a multiple of 16 floats keeps ranges apart by
 * whole cache lines). */
void par_for(long n, long grain, ParFn fn, void *ctx);

/* The thread running the current range: 0 in the caller (and in any serial
 * run), 1 .. par_threads() - 1 in the helpers. A fn's ranges on one thread
 * run one after another, so it may index per-thread scratch by this
 * (PAR_MAX_THREADS slots at most). */
int par_worker(void);
/* The number of threads par_for splits over (1: serial). */
int par_threads(void);
/* Sets it (1 .. PAR_MAX_THREADS; 0: back to OpenBLAS's count), for tests and
 * measurements. Call it from the thread that calls par_for. */
void par_set_threads(int n);
#define PAR_MAX_THREADS 16
/* Caps every grain at cap (0: no cap), so tests can split small arrays at odd
 * places; a measurement knob otherwise. */
void par_set_grain_cap(long cap);

#endif
