/* A small fork-join thread pool owned by one session: the calling thread and
 * n-1 workers each run one slice of a parallel loop, then meet at a barrier.
 * Workers spin briefly before sleeping, because MobileNet layers are short
 * (tens of microseconds) and a sleep/wake per layer would cost more than the
 * layer. */
#ifndef MNET_CORE_THREADPOOL_H
#define MNET_CORE_THREADPOOL_H

#include "core/error.h"

typedef struct mnet_threadpool mnet_threadpool;

/* fn(ctx, thread_index, num_threads): the job of one participant. */
typedef void (*mnet_parallel_fn)(void *ctx, int thread_index, int num_threads);

/* threads <= 1 creates no workers (run executes inline). */
mnet_status mnet_threadpool_create(int threads, mnet_threadpool **pool, mnet_error *error);
void mnet_threadpool_destroy(mnet_threadpool *pool);
int mnet_threadpool_size(const mnet_threadpool *pool);

/* Runs fn on every participant and returns when all are done. */
void mnet_threadpool_run(mnet_threadpool *pool, mnet_parallel_fn fn, void *ctx);

/* Number of online CPUs (at least 1). */
int mnet_cpu_count(void);

#endif
