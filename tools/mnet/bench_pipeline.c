/* Several sessions running the same model at once, one driver thread each. */
#define _POSIX_C_SOURCE 200809L

#include "bench_pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct pipeline_shared {
    pthread_mutex_t lock;
    pthread_cond_t go_changed;
    int go;              /* set once every driver exists (or none will run) */
    int remaining;       /* frames not yet claimed */
    mnet_status failure; /* first failure, MNET_OK if none */
    char message[512];
    const float *input;
    size_t input_count;
} pipeline_shared;

typedef struct pipeline_worker {
    pipeline_shared *shared;
    mnet_session *session;
    pthread_t thread;
} pipeline_worker;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits for the start, then claims one frame; 0 when all are taken or a
 * driver failed. */
static int claim_frame(pipeline_shared *shared) {
    pthread_mutex_lock(&shared->lock);
    while (!shared->go) pthread_cond_wait(&shared->go_changed, &shared->lock);
    int ok = shared->remaining > 0 && shared->failure == MNET_OK;
    if (ok) shared->remaining--;
    pthread_mutex_unlock(&shared->lock);
    return ok;
}

static void *drive_session(void *arg) {
    pipeline_worker *worker = arg;
    pipeline_shared *shared = worker->shared;
    while (claim_frame(shared)) {
        mnet_status status = mnet_run(worker->session, shared->input, shared->input_count);
        if (status == MNET_OK) continue;
        pthread_mutex_lock(&shared->lock);
        if (shared->failure == MNET_OK) {
            shared->failure = status;
            const char *detail = mnet_session_error(worker->session);
            snprintf(shared->message, sizeof shared->message, "run failed: %s",
                     detail && detail[0] ? detail : mnet_status_string(status));
        }
        pthread_mutex_unlock(&shared->lock);
        break;
    }
    return NULL;
}

static void release(pipeline_shared *shared, int run_frames) {
    pthread_mutex_lock(&shared->lock);
    if (!run_frames) shared->remaining = 0;
    shared->go = 1;
    pthread_cond_broadcast(&shared->go_changed);
    pthread_mutex_unlock(&shared->lock);
}

/* Starts the drivers and times them from the common start to the last
 * one's end; 1, or 0 with message. */
static int run_workers(pipeline_shared *shared, pipeline_worker *workers, int count,
                       double *seconds, char *message, size_t message_size) {
    int started = 0;
    while (started < count &&
           pthread_create(&workers[started].thread, NULL, drive_session, &workers[started]) == 0)
        started++;
    double start = now_seconds();
    release(shared, started == count);
    for (int i = 0; i < started; i++) pthread_join(workers[i].thread, NULL);
    *seconds = now_seconds() - start;
    if (started < count) {
        snprintf(message, message_size, "cannot start %d benchmark threads", count);
        return 0;
    }
    if (shared->failure != MNET_OK) {
        snprintf(message, message_size, "%s", shared->message);
        return 0;
    }
    return 1;
}

int bench_pipeline_run(const bench_pipeline_request *request, bench_pipeline_result *result,
                       char *message, size_t message_size) {
    memset(result, 0, sizeof *result);
    int inflight = request->inflight > 0 ? request->inflight : 1;
    int per_frame = request->threads / inflight;
    if (per_frame < 1) per_frame = 1;
    result->threads_per_frame = per_frame;

    /* Threads are a model option: a copy of the model with each session's
     * share, unless the caller's already has it. */
    const mnet_model *model = request->model;
    mnet_model *copy = NULL;
    mnet_error error;
    memset(&error, 0, sizeof error);
    if (per_frame != request->threads) {
        mnet_options options = *request->options;
        options.threads = per_frame;
        if (mnet_model_load(request->path, &options, &copy, &error) != MNET_OK) {
            snprintf(message, message_size, "%s", error.message);
            return 0;
        }
        model = copy;
    }
    pipeline_worker *workers = calloc((size_t)inflight, sizeof *workers);
    pipeline_shared shared;
    memset(&shared, 0, sizeof shared);
    shared.remaining = request->frames > inflight ? request->frames : inflight;
    shared.input = request->input;
    shared.input_count = request->input_count;
    int frames = shared.remaining;
    int ok = workers != NULL;
    if (!ok) snprintf(message, message_size, "out of memory");
    for (int i = 0; ok && i < inflight; i++) {
        workers[i].shared = &shared;
        if (mnet_session_create(model, NULL, &workers[i].session, &error) != MNET_OK) {
            snprintf(message, message_size, "%s", error.message);
            ok = 0;
        }
    }
    if (ok) {
        pthread_mutex_init(&shared.lock, NULL);
        pthread_cond_init(&shared.go_changed, NULL);
        double seconds = 0.0;
        ok = run_workers(&shared, workers, inflight, &seconds, message, message_size);
        if (ok) result->fps = seconds > 0 ? frames / seconds : 0.0;
        pthread_cond_destroy(&shared.go_changed);
        pthread_mutex_destroy(&shared.lock);
    }
    for (int i = 0; workers && i < inflight; i++) mnet_session_destroy(workers[i].session);
    free(workers);
    mnet_model_destroy(copy);
    return ok;
}
