/* engine_lock.c: a ticket lock on a mutex and a condition variable. */
#include "engine_lock.h"

#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static unsigned long next_ticket, serving;

void engine_lock(void) {
    pthread_mutex_lock(&mu);
    unsigned long mine = next_ticket++;
    while (serving != mine) pthread_cond_wait(&turn, &mu);
    pthread_mutex_unlock(&mu);
}

void engine_unlock(void) {
    pthread_mutex_lock(&mu);
    serving++;
    pthread_cond_broadcast(&turn);
    pthread_mutex_unlock(&mu);
}
