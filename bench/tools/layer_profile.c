/* Per-step timing of a model's plan (min over runs), to see where the time
 * of a network goes. Internal tool: links the static library and its
 * internal headers.  usage: layer_profile MODEL [runs] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api/model_internal.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [runs]\n", argv[0]);
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    mnet_options opt;
    mnet_options_init(&opt);
    opt.threads = 1;
    mnet_model *m;
    mnet_error err;
    if (mnet_model_load(argv[1], &opt, &m, &err) != MNET_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    /* every tensor materialized: keep all taps so nothing is fused away */
    int ntaps = mnet_model_tap_count(m);
    const char **taps = calloc((size_t)ntaps, sizeof *taps);
    for (int i = 0; i < ntaps; i++) taps[i] = mnet_model_tap_name(m, i);
    mnet_session_options so = {taps, ntaps};
    mnet_session *s;
    if (mnet_session_create(m, &so, &s, &err) != MNET_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    const mnet_plan *p = &m->plan;
    float *in = s->arena + s->offsets[p->input];
    const mnet_plan_tensor *it = &p->tensors[p->input];
    for (int i = 0; i < it->h * it->w * it->c; i++) in[i] = (float)((i * 7919) % 255) / 128.0f - 1;
    double *best = calloc((size_t)p->num_steps, sizeof *best);
    for (int i = 0; i < p->num_steps; i++) best[i] = 1e9;
    mnet_plan one = *p;
    mnet_exec_context unfused = s->exec;
    unfused.pool = NULL;
    unfused.fuse = NULL;
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < p->num_steps; i++) {
            one.steps = p->steps + i;
            one.num_steps = 1;
            double t0 = now_ms();
            mnet_plan_execute_steps(&one, &unfused, 0, 1);
            double t = now_ms() - t0;
            if (t < best[i]) best[i] = t;
        }
    }
    double total = 0;
    printf("%-22s %-16s %14s %14s %9s %8s\n", "step", "op", "in", "out", "ms", "GFLOP/s");
    for (int i = 0; i < p->num_steps; i++) {
        mnet_plan_step st;
        mnet_model_plan_step(m, i, &st);
        char a[32], b[32];
        snprintf(a, sizeof a, "%dx%dx%d", st.in_h, st.in_w, st.in_c);
        snprintf(b, sizeof b, "%dx%dx%d", st.out_h, st.out_w, st.out_c);
        printf("%-22s %-16s %14s %14s %9.4f %8.1f\n", st.name, st.op, a, b, best[i],
               2.0 * st.macs / (best[i] * 1e6));
        total += best[i];
    }
    printf("sum of per-step minima: %.3f ms, %.1f GFLOP/s overall (%s kernels)\n", total,
           2.0 * p->macs / (total * 1e6), p->kernels->isa);
    free(best);
    free(taps);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return 0;
}
