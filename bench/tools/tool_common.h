/* What the timing tools in bench/tools share: clocks, opening a model with a
 * session, and a deterministic non-zero input. Header-only so that each tool
 * stays one `cc` command (see each tool's header comment). */
#ifndef MNET_BENCH_TOOL_COMMON_H
#define MNET_BENCH_TOOL_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mnet.h"

static inline double tool_clock_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wall-clock time: what a caller waits. */
static inline double tool_wall_ms(void) { return tool_clock_ms(CLOCK_MONOTONIC); }

/* CPU time of this thread: on a machine shared with other jobs, time slices
 * lost to them do not count, so minima are more stable than wall-clock
 * minima (cache contention still shows). */
static inline double tool_cpu_ms(void) { return tool_clock_ms(CLOCK_THREAD_CPUTIME_ID); }

/* The profilers' command line, MODEL [runs] (default 50), and options for
 * one thread. Returns 1, or 0 after printing the usage. */
static inline int tool_profile_args(int argc, char **argv, int *runs, mnet_options *opt) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [runs]\n", argv[0]);
        return 0;
    }
    *runs = argc > 2 ? atoi(argv[2]) : 50;
    mnet_options_init(opt);
    opt->threads = 1;
    return 1;
}

/* Loads path with opt and creates a session (session_options may be NULL).
 * Returns 1, or 0 after printing the library's message. */
static inline int tool_open(const char *path, const mnet_options *opt,
                            const mnet_session_options *session_options, mnet_model **model,
                            mnet_session **session) {
    mnet_error err;
    if (mnet_model_load(path, opt, model, &err) != MNET_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 0;
    }
    if (mnet_session_create(*model, session_options, session, &err) != MNET_OK) {
        fprintf(stderr, "%s\n", err.message);
        mnet_model_destroy(*model);
        return 0;
    }
    return 1;
}

/* Fills in[0..n) with floats in [-1, 1) in a fixed pseudo-random pattern
 * (never all zeros: kernels may take shortcuts on zeros). */
static inline void tool_fill_test_input(float *in, size_t n) {
    for (size_t i = 0; i < n; i++) in[i] = (float)((i * 7919) % 255) / 128.0f - 1.0f;
}

/* n floats of tool_fill_test_input's pattern; NULL when out of memory. */
static inline float *tool_test_input(size_t n) {
    float *in = malloc((n ? n : 1) * sizeof *in);
    if (in) tool_fill_test_input(in, n);
    return in;
}

#endif
