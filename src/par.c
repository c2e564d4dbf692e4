/* par.c: the fork-join pool of par.h. The only threads the engine starts.
 *
 * A job is a few ranges per thread. It is published under one mutex with a
 * generation count and a broadcast; the caller and the helpers then claim
 * ranges one at a time from an atomic ticket that carries the generation (so
 * a helper waking late can neither take a range of a newer job nor hold up
 * this one: whatever it has not claimed, the caller runs). The caller waits
 * only for ranges a helper has claimed and not finished, with a short spin
 * before sleeping. Nothing is allocated per job. At exit the helpers are
 * stopped and joined (so leak checkers see nothing left). */
#include "par.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* Ranges per thread and job: a helper that wakes late, or a core shared with
 * another process, then costs a fraction of a range rather than a thread's
 * whole share. */
#define RANGES_PER_THREAD 4

typedef struct {
    ParFn fn;
    void *ctx;
    long n, grain, blocks;
    int k;        /* ranges */
    uint32_t gen; /* the generation it was published with */
} Job;

static struct {
    pthread_mutex_t lock; /* guards job, gen, started, the CPU placement */
    pthread_cond_t wake;  /* a new generation */
    pthread_cond_t done;  /* finished reached job.k */
    Job job;
    uint32_t gen;
    atomic_uint_least64_t ticket; /* gen << 32 | the next unclaimed range */
    atomic_int finished;          /* ranges of the current job done */
    int started;                  /* helpers running */
    atomic_int threads;           /* threads per job (0: not chosen yet) */
    atomic_long grain_cap;        /* 0: none */
    int forked;                   /* this is a forked child: the helpers are not here */
    atomic_int quit;              /* exiting: helpers stop, jobs run in their caller */
    uint32_t seen0[PAR_MAX_THREADS];
    pthread_t tid[PAR_MAX_THREADS];
    int cpus[PAR_MAX_THREADS], ncpus; /* CPUs this process may use (the first PAR_MAX_THREADS) */
    int caller_cpu;                   /* the CPU the helpers were placed around (-1: not yet) */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

/* Held by the thread running a job, so that a second caller runs serially. */
static pthread_mutex_t caller = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t first_start = PTHREAD_ONCE_INIT;

static void range_of(const Job *j, int i, long *begin, long *end) {
    long b0 = j->blocks * i / j->k, b1 = j->blocks * (i + 1) / j->k;
    *begin = b0 * j->grain;
    *end = b1 * j->grain < j->n ? b1 * j->grain : j->n;
}

/* The next unclaimed range of job j, or -1 when none is left (or j is over). */
static int claim(const Job *j) {
    uint_least64_t t = atomic_load(&pool.ticket);
    for (;;) {
        if ((uint32_t)(t >> 32) != j->gen || (int)(uint32_t)t >= j->k) return -1;
        if (atomic_compare_exchange_weak(&pool.ticket, &t, t + 1)) return (int)(uint32_t)t;
    }
}

/* Runs ranges of j until none is left; returns 1 if it finished the job's last one. */
static int run_ranges(const Job *j) {
    int i, last = 0;
    while ((i = claim(j)) >= 0) {
        long b, e;
        range_of(j, i, &b, &e);
        j->fn(j->ctx, b, e);
        last = atomic_fetch_add(&pool.finished, 1) + 1 == j->k;
    }
    return last;
}

static _Thread_local int worker_index; /* par_worker(): 0 but in a helper */

int par_worker(void) { return worker_index; }

static void *helper_main(void *arg) {
    const int id = (int)(intptr_t)arg;
    worker_index = id;
    pthread_mutex_lock(&pool.lock);
    uint32_t seen = pool.seen0[id];
    for (;;) {
        while (pool.gen == seen && !atomic_load(&pool.quit)) pthread_cond_wait(&pool.wake, &pool.lock);
        if (atomic_load(&pool.quit)) break;
        seen = pool.gen;
        Job j = pool.job;
        pthread_mutex_unlock(&pool.lock);
        int last = run_ranges(&j);
        pthread_mutex_lock(&pool.lock);
        if (last) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* At exit. A job still running in another thread finishes: its caller runs
 * whatever ranges the helpers leave unclaimed. */
static void stop_helpers(void) {
    if (pool.forked) return;
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.quit, 1);
    pthread_cond_broadcast(&pool.wake);
    int started = pool.started;
    pthread_mutex_unlock(&pool.lock);
    for (int id = 1; id <= started; id++) pthread_join(pool.tid[id], NULL);
}

static void in_child(void) { pool.forked = 1; }
static void at_first_start(void) {
    pthread_atfork(NULL, NULL, in_child);
    atexit(stop_helpers);
}

int par_threads(void) {
    int t = atomic_load(&pool.threads);
    if (!t) {
        const char *env = getenv("SDLM_THREADS");
        int n = env && *env ? atoi(env) : openblas_get_num_threads();
        t = n < 1 ? 1 : n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n;
        atomic_store(&pool.threads, t);
    }
    return t;
}

void par_set_threads(int n) { atomic_store(&pool.threads, n <= 0 ? 0 : n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n); }

void par_set_grain_cap(long cap) { atomic_store(&pool.grain_cap, cap > 0 ? cap : 0); }

/* Helper i goes on the i-th CPU after the caller's, so no helper shares the
 * caller's core. Left to the scheduler, a woken helper lands beside the caller
 * whenever the other core looks busy, which it does while an OpenBLAS worker
 * spins there waiting for the next product (measured: no gain at all); pinned
 * there, it takes that core from the spinning worker at once. Re-placed when
 * the caller moves; under pool.lock. */
static void place_helpers(void) {
    if (pool.ncpus < 2) return;
    int cpu = sched_getcpu(), at = -1;
    if (cpu == pool.caller_cpu) return;
    pool.caller_cpu = cpu;
    for (int i = 0; i < pool.ncpus; i++)
        if (pool.cpus[i] == cpu) at = i;
    for (int id = 1; id <= pool.started; id++) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (at < 0) /* the caller is on a CPU outside ours: any of ours */
            for (int i = 0; i < pool.ncpus; i++) CPU_SET(pool.cpus[i], &set);
        else
            CPU_SET(pool.cpus[(at + id) % pool.ncpus], &set);
        pthread_setaffinity_np(pool.tid[id], sizeof set, &set);
    }
}

static void find_cpus(void) {
    cpu_set_t set;
    pool.ncpus = 0;
    pool.caller_cpu = -1;
    if (sched_getaffinity(0, sizeof set, &set)) return;
    for (int c = 0; c < CPU_SETSIZE && pool.ncpus < PAR_MAX_THREADS; c++)
        if (CPU_ISSET(c, &set)) pool.cpus[pool.ncpus++] = c;
}

/* Starts helpers up to threads - 1 and places them (under pool.lock);
 * returns the threads there are. */
static int ensure_helpers(int threads) {
    pthread_once(&first_start, at_first_start);
    if (!pool.started) find_cpus();
    while (pool.started < threads - 1 && !atomic_load(&pool.quit)) {
        int id = pool.started + 1;
        pool.seen0[id] = pool.gen;
        pthread_t t;
        if (pthread_create(&t, NULL, helper_main, (void *)(intptr_t)id)) break; /* run with the helpers there are */
        pool.tid[id] = t;
        pool.started = id;
        pool.caller_cpu = -1; /* place the new one too */
    }
    place_helpers();
    return pool.started + 1 < threads ? pool.started + 1 : threads;
}

void par_for(long n, long grain, ParFn fn, void *ctx) {
    if (n <= 0) return;
    long cap = atomic_load(&pool.grain_cap);
    if (cap && grain > cap) grain = cap;
    if (grain < 1) grain = 1;
    int threads = par_threads();
    if (threads <= 1 || n < 2 * grain || pool.forked || atomic_load(&pool.quit) || pthread_mutex_trylock(&caller)) {
        fn(ctx, 0, n);
        return;
    }
    long blocks = (n + grain - 1) / grain;
    pthread_mutex_lock(&pool.lock);
    threads = ensure_helpers(threads);
    long k = (long)threads * RANGES_PER_THREAD < blocks ? (long)threads * RANGES_PER_THREAD : blocks;
    Job j = {.fn = fn, .ctx = ctx, .n = n, .grain = grain, .blocks = blocks, .k = threads > 1 ? (int)k : 1,
             .gen = pool.gen + 1};
    pool.job = j;
    pool.gen = j.gen;
    atomic_store(&pool.finished, 0);
    atomic_store(&pool.ticket, (uint_least64_t)j.gen << 32);
    if (j.k > 1) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_ranges(&j);
    for (int spin = 0; spin < 4096 && atomic_load(&pool.finished) < j.k; spin++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    if (atomic_load(&pool.finished) < j.k) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.finished) < j.k) pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&caller);
}
