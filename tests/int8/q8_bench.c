/* Times one model at fp32 and int8 through the public API (mnet_run on a
 * fixed random input), best and median of N runs after a warm-up.
 * Build: cc -O2 -Iinclude tests/int8/q8_bench.c <build>/libmnet.a -lm -lpthread
 * Usage: q8_bench model.safetensors [runs] [threads] */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mnet.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench(const char *path, mnet_precision precision, int runs, int threads) {
    mnet_options o;
    mnet_options_init(&o);
    o.precision = precision;
    o.threads = threads;
    mnet_model *m = NULL;
    mnet_session *s = NULL;
    mnet_error e;
    if (mnet_model_load(path, &o, &m, &e) != MNET_OK) {
        fprintf(stderr, "load: %s\n", e.message);
        return 1;
    }
    if (mnet_session_create(m, NULL, &s, &e) != MNET_OK) {
        fprintf(stderr, "session: %s\n", e.message);
        return 1;
    }
    mnet_model_info info;
    mnet_model_get_info(m, &info);
    size_t n = (size_t)info.input_width * info.input_height * 3;
    float *in = malloc(n * sizeof *in);
    unsigned seed = 1;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        in[i] = (float)((seed >> 16) % 256) / 128.0f - 1.0f;
    }
    double *t = malloc((size_t)runs * sizeof *t);
    for (int i = 0; i < 3; i++) mnet_run(s, in, n);
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        mnet_run(s, in, n);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    printf("%-5s threads %d: best %.3f ms, median %.3f ms\n",
           precision == MNET_PRECISION_INT8 ? "int8" : "fp32", threads, t[0], t[runs / 2]);
    free(t);
    free(in);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.safetensors [runs] [threads]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 50, threads = argc > 3 ? atoi(argv[3]) : 1;
    if (runs < 1) runs = 1;
    return bench(argv[1], MNET_PRECISION_FP32, runs, threads) ||
           bench(argv[1], MNET_PRECISION_INT8, runs, threads);
}
