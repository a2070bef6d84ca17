/* Running a plan: one kernel call per step over the session's arena. A step
 * is split into contiguous row (or pixel) ranges, one per thread; kernels
 * compute each row the same way whatever the split, so results are
 * bit-identical for any thread count. */
#include "models/plan.h"

typedef struct step_job {
    const mnet_plan *plan;
    const mnet_step *step;
    float *base;
    const size_t *offsets;
} step_job;

/* Rows a step is split over: output rows, or pixels for 1x1 steps. */
static int step_rows(const mnet_step *s) {
    if (s->kind == MNET_STEP_POINTWISE) return s->geom.out_h * s->geom.out_w;
    if (s->kind == MNET_STEP_CONV || s->kind == MNET_STEP_DEPTHWISE) return s->geom.out_h;
    return 1;
}

static void run_rows(const step_job *job, int begin, int end) {
    const mnet_plan *plan = job->plan;
    const mnet_step *s = job->step;
    const mnet_kernels *k = plan->kernels;
    const float *in = job->base + job->offsets[s->input];
    float *out = job->base + job->offsets[s->output];
    const float *w = plan->weights + s->weights_offset;
    const float *bias = plan->weights + s->bias_offset;
    const mnet_conv_geometry *g = &s->geom;
    switch (s->kind) {
    case MNET_STEP_CONV:
        k->conv2d(g, in, w, bias, s->act, out, begin, end);
        break;
    case MNET_STEP_DEPTHWISE:
        k->depthwise(g, in, w, bias, s->act, out, begin, end);
        break;
    case MNET_STEP_POINTWISE:
    case MNET_STEP_FC: {
        const float *res = s->residual >= 0 ? job->base + job->offsets[s->residual] : NULL;
        int pixels = g->out_h * g->out_w;
        if (s->kind == MNET_STEP_FC) begin = 0, end = pixels;
        k->pointwise(g->in_c, g->out_c, in, w, bias, res, s->act, out, begin, end);
        break;
    }
    case MNET_STEP_GLOBAL_POOL:
        mnet_ref_global_avgpool_f32(g->in_h, g->in_w, g->in_c, in, out);
        break;
    }
}

static void run_slice(void *ctx, int thread, int threads) {
    const step_job *job = ctx;
    int rows = step_rows(job->step);
    int begin = (int)((long long)rows * thread / threads);
    int end = (int)((long long)rows * (thread + 1) / threads);
    if (begin < end) run_rows(job, begin, end);
}

/* Below this many MACs a step runs on the calling thread: waking the others
 * would cost more than it saves. */
#define MNET_PARALLEL_MIN_MACS 200000

void mnet_plan_execute(const mnet_plan *plan, float *base, const size_t *offsets,
                       mnet_threadpool *pool) {
    for (int i = 0; i < plan->num_steps; i++) {
        step_job job = {plan, &plan->steps[i], base, offsets};
        int rows = step_rows(job.step);
        if (mnet_threadpool_size(pool) > 1 && rows > 1 && job.step->macs >= MNET_PARALLEL_MIN_MACS)
            mnet_threadpool_run(pool, run_slice, &job);
        else
            run_rows(&job, 0, rows);
    }
}
