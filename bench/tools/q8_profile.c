/* Per-step timing of a model's uint8 plan (minimum over runs), next to the
 * whole mnet_run at int8, to see where the int8 time goes. Internal tool:
 * links the static library and its internal headers.
 *   cc -O2 -Iinclude -Isrc bench/tools/q8_profile.c <build>/libmnet.a -lm -lpthread
 *   q8_profile MODEL [runs]     (MNET_ISA picks the kernel set as usual) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api/model_internal.h"
#include "int8/q8_plan.h"
#include "int8/q8_session.h"
#include "tool_common.h"


static const char *kind_name(mnet_step_kind k) {
    switch (k) {
    case MNET_STEP_CONV: return "conv";
    case MNET_STEP_DEPTHWISE: return "depthwise";
    case MNET_STEP_POINTWISE: return "pointwise";
    case MNET_STEP_FC: return "fc";
    case MNET_STEP_GLOBAL_POOL: return "global_pool";
    default: return "other";
    }
}

int main(int argc, char **argv) {
    int runs;
    mnet_options opt;
    if (!tool_profile_args(argc, argv, &runs, &opt)) return 2;
    opt.precision = MNET_PRECISION_INT8;
    mnet_model *m;
    mnet_session *s;
    if (!tool_open(argv[1], &opt, NULL, &m, &s)) return 1;
    const mnet_plan *p = &m->plan;
    const mnet_q8_plan *q = m->q8;
    const mnet_plan_tensor *it = &p->tensors[p->input];
    size_t n = (size_t)it->h * it->w * it->c;
    float *in = tool_test_input(n);
    double whole = 1e9;
    for (int r = 0; r < runs; r++) {
        double t0 = tool_wall_ms();
        mnet_run(s, in, n);
        double t = tool_wall_ms() - t0;
        if (t < whole) whole = t;
    }
    double *best = malloc((size_t)q->num_steps * sizeof *best);
    for (int i = 0; i < q->num_steps; i++) best[i] = 1e9;
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < q->num_steps; i++) {
            double t0 = tool_wall_ms();
            mnet_q8_session_run_step(s->q8, i, NULL);
            double t = tool_wall_ms() - t0;
            if (t < best[i]) best[i] = t;
        }
    double total = 0, by_kind[16] = {0};
    int64_t macs_kind[16] = {0};
    printf("%-4s %-12s %14s %14s %9s %8s\n", "step", "kind", "in", "out", "ms", "GOP/s");
    for (int i = 0; i < q->num_steps; i++) {
        const mnet_q8_step *st = &q->steps[i];
        const mnet_conv_geometry *g = &st->geom;
        char a[32], b[32];
        snprintf(a, sizeof a, "%dx%dx%d", g->in_h, g->in_w, g->in_c);
        snprintf(b, sizeof b, "%dx%dx%d", g->out_h, g->out_w, g->out_c);
        printf("%-4d %-12s%s %14s %14s %9.4f %8.1f\n", i, kind_name(st->kind),
               st->residual >= 0 ? "+" : " ", a, b, best[i], 2.0 * st->macs / (best[i] * 1e6));
        total += best[i];
        int k = (int)st->kind & 15;
        by_kind[k] += best[i];
        macs_kind[k] += st->macs;
    }
    for (int k = 0; k < 16; k++)
        if (by_kind[k] > 0)
            printf("  %-12s %8.3f ms %8.1f GOP/s\n", kind_name((mnet_step_kind)k), by_kind[k],
                   2.0 * macs_kind[k] / (by_kind[k] * 1e6));
    printf("sum of per-step minima %.3f ms; whole mnet_run %.3f ms (%s kernels)\n", total, whole,
           q->kernels->isa);
    free(best);
    free(in);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return 0;
}
