/* End-to-end latency of one model through the public API (single thread by
 * default): min and median of mnet_run over many runs. Quicker than
 * bench/compare.py for trying kernel changes; compare.py stays the judge.
 * usage: run_bench MODEL [runs] [threads]   (MNET_FUSE=0 to run unfused) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tool_common.h"


static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [runs] [threads]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 100;
    if (runs < 1) runs = 1;
    mnet_options opt;
    mnet_options_init(&opt);
    opt.threads = argc > 3 ? atoi(argv[3]) : 1;
    mnet_model *m;
    mnet_session *s;
    if (!tool_open(argv[1], &opt, NULL, &m, &s)) return 1;
    mnet_model_info info;
    mnet_model_get_info(m, &info);
    size_t n = (size_t)info.input_height * info.input_width * info.input_channels;
    float *in = tool_test_input(n);
    double *t = malloc((size_t)runs * sizeof *t);
    for (int r = 0; r < 5; r++) mnet_run(s, in, n);
    for (int r = 0; r < runs; r++) {
        double t0 = tool_wall_ms();
        mnet_run(s, in, n);
        t[r] = tool_wall_ms() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, by_value);
    printf("%s: min %.3f ms, median %.3f ms over %d runs\n", argv[1], t[0], t[runs / 2], runs);
    free(t);
    free(in);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return 0;
}
