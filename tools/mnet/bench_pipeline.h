/* Throughput of `mnet bench` with several frames in flight: `inflight`
 * sessions, each driven by its own thread and each with a share of the
 * worker threads (threads / inflight, at least one), run the network until
 * `frames` runs are done in total - like a camera pipeline that keeps
 * several frames in progress (the original library's triple buffering). */
#ifndef MNET_TOOLS_BENCH_PIPELINE_H
#define MNET_TOOLS_BENCH_PIPELINE_H

#include <stddef.h>

#include "mnet.h"

typedef struct bench_pipeline_request {
    const mnet_model *model;       /* loaded from `path` with `options` */
    const char *path;
    const mnet_options *options;   /* to load a copy with fewer threads */
    int threads;                   /* worker threads in all */
    int inflight;
    int frames;
    const float *input;
    size_t input_count;
} bench_pipeline_request;

typedef struct bench_pipeline_result {
    double fps;
    int threads_per_frame;
} bench_pipeline_result;

/* 1 on success; 0 with the reason in message. */
int bench_pipeline_run(const bench_pipeline_request *request, bench_pipeline_result *result,
                       char *message, size_t message_size);

#endif
