#define _GNU_SOURCE
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* Spin iterations before a worker goes to sleep on the condition variable. */
#define MNET_SPIN_ROUNDS 20000

struct mnet_threadpool {
    int threads;              /* participants including the caller */
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    pthread_cond_t done;
    atomic_uint generation;   /* bumped for every job */
    atomic_int pending;       /* workers still running the current job */
    atomic_int stop;
    mnet_parallel_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    mnet_threadpool *pool;
    int index;
} worker_arg;

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    mnet_threadpool *pool = arg.pool;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
               !atomic_load(&pool->stop) && spins < MNET_SPIN_ROUNDS)
            spins++;
        if (gen == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->mutex);
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = gen;
        pool->fn(pool->ctx, arg.index, pool->threads);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

int mnet_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

mnet_status mnet_threadpool_create(int threads, mnet_threadpool **out, mnet_error *error) {
    *out = NULL;
    if (threads < 1) threads = 1;
    if (threads > 256) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "%d threads is too many (max 256)", threads);
    mnet_threadpool *pool = calloc(1, sizeof *pool);
    if (!pool) return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory for a thread pool");
    pool->threads = threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (threads > 1) {
        pool->workers = calloc((size_t)threads - 1, sizeof *pool->workers);
        if (!pool->workers) {
            mnet_threadpool_destroy(pool);
            return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory for a thread pool");
        }
        for (int i = 1; i < threads; i++) {
            worker_arg *arg = malloc(sizeof *arg);
            if (arg) {
                arg->pool = pool;
                arg->index = i;
            }
            if (!arg || pthread_create(&pool->workers[i - 1], NULL, worker_main, arg) != 0) {
                free(arg);
                pool->threads = i; /* only the workers that exist get joined */
                mnet_threadpool_destroy(pool);
                return mnet_fail(error, MNET_ERR_INTERNAL, "could not start worker thread %d", i);
            }
        }
    }
    *out = pool;
    return MNET_OK;
}

void mnet_threadpool_destroy(mnet_threadpool *pool) {
    if (!pool) return;
    if (pool->workers) {
        pthread_mutex_lock(&pool->mutex);
        atomic_store(&pool->stop, 1);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
        for (int i = 1; i < pool->threads; i++) pthread_join(pool->workers[i - 1], NULL);
        free(pool->workers);
    }
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

int mnet_threadpool_size(const mnet_threadpool *pool) { return pool ? pool->threads : 1; }

void mnet_threadpool_run(mnet_threadpool *pool, mnet_parallel_fn fn, void *ctx) {
    if (!pool || pool->threads <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store(&pool->pending, pool->threads - 1);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    fn(ctx, 0, pool->threads);
    int spins = 0;
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0 &&
           spins < MNET_SPIN_ROUNDS)
        spins++;
    if (atomic_load(&pool->pending) > 0) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load(&pool->pending) > 0) pthread_cond_wait(&pool->done, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
    }
}
