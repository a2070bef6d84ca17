/* Per-step timing of a model's plan (min over runs), to see where the time
 * of a network goes. Internal tool: links the static library and its
 * internal headers.  usage: layer_profile MODEL [runs] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api/model_internal.h"
#include "tool_common.h"

/* CPU time (tool_cpu_ms): steady minima on a shared machine. */
static double now_ms(void) { return tool_cpu_ms(); }

/* Each inverted residual block run fused (as a session without taps runs
 * it), against the sum of its unfused steps. */
static void profile_fused_blocks(const mnet_plan *p, float *arena, const size_t *offsets,
                                 const double *step_best, int runs) {
    if (p->num_blocks == 0) return;
    size_t scratch_n = mnet_plan_scratch_floats(p);
    float *scratch = aligned_alloc(64, (scratch_n + 16) * sizeof(float));
    double fused_total = 0, unfused_total = 0;
    printf("\n%-10s %6s %10s %10s\n", "block", "tile", "fused ms", "steps ms");
    for (int i = 0; i < p->num_blocks; i++) {
        const mnet_fused_block *blk = &p->blocks[i];
        if (blk->kind != MNET_BLOCK_INVRES) continue;
        const mnet_step *last = &p->steps[blk->first_step + blk->num_steps - 1];
        const mnet_invres b = mnet_block_invres(p, blk);
        const float *in = arena + offsets[p->steps[blk->first_step].input];
        const float *res = last->residual >= 0 ? arena + offsets[last->residual] : NULL;
        float *out = arena + offsets[last->output];
        double best = 1e9, unfused = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = now_ms();
            mnet_invres_rows(p->kernels, &b, in, res, out, 0, b.project.out_h, scratch);
            double t = now_ms() - t0;
            if (t < best) best = t;
        }
        for (int j = 0; j < blk->num_steps; j++) unfused += step_best[blk->first_step + j];
        printf("block%-5d %6d %10.4f %10.4f\n", i, b.tile_rows, best, unfused);
        fused_total += best;
        unfused_total += unfused;
    }
    printf("blocks: fused %.3f ms, unfused steps %.3f ms\n", fused_total, unfused_total);
    free(scratch);
}

int main(int argc, char **argv) {
    int runs;
    mnet_options opt;
    if (!tool_profile_args(argc, argv, &runs, &opt)) return 2;
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
    const mnet_plan_tensor *it = &p->tensors[p->input];
    tool_fill_test_input(s->arena + s->offsets[p->input], (size_t)it->h * it->w * it->c);
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
    profile_fused_blocks(p, s->arena, s->offsets, best, runs);
    free(best);
    free(taps);
    mnet_session_destroy(s);
    mnet_model_destroy(m);
    return 0;
}
