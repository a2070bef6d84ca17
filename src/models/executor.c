/* Running a plan: one kernel call per step over the session's arena, or one
 * fused call per inverted residual block. Work is split into contiguous row
 * (or pixel) ranges, one per thread; kernels compute each row the same way
 * whatever the split, so results are bit-identical for any thread count. */
#include "models/plan.h"

typedef struct step_job {
    const mnet_plan *plan;
    const mnet_exec_context *ctx;
    const mnet_step *step;        /* unfused step, or */
    const mnet_fused_block *block;/* a fused block */
} step_job;

/* Rows a step is split over: output rows, or pixels for 1x1 steps. */
static int step_rows(const mnet_step *s) {
    if (s->kind == MNET_STEP_POINTWISE || s->kind == MNET_STEP_CONCAT)
        return s->geom.out_h * s->geom.out_w;
    if (s->kind == MNET_STEP_CONV || s->kind == MNET_STEP_DEPTHWISE) return s->geom.out_h;
    return 1;
}

static void run_step_rows(const step_job *job, int begin, int end) {
    const mnet_plan *plan = job->plan;
    const mnet_step *s = job->step;
    const mnet_kernels *k = plan->kernels;
    float *base = job->ctx->base;
    const size_t *offsets = job->ctx->offsets;
    const float *in = base + offsets[s->input];
    float *out = base + offsets[s->output];
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
        const float *res = s->residual >= 0 ? base + offsets[s->residual] : NULL;
        if (s->kind == MNET_STEP_FC) begin = 0, end = g->out_h * g->out_w;
        k->pointwise(g->in_c, g->out_c, in, w, bias, res, s->act, out, begin, end);
        break;
    }
    case MNET_STEP_GLOBAL_POOL:
        k->global_avgpool(g->in_h, g->in_w, g->in_c, in, out);
        break;
    case MNET_STEP_RESIZE:
        mnet_ref_resize_bilinear_f32(g->in_h, g->in_w, g->in_c, g->out_h, g->out_w,
                                     s->resize_mode, in, out);
        break;
    case MNET_STEP_CONCAT: {
        const float *parts[MNET_MAX_CONCAT];
        int channels[MNET_MAX_CONCAT];
        for (int i = 0; i < s->num_inputs; i++) {
            channels[i] = plan->tensors[s->inputs[i]].c;
            parts[i] = base + offsets[s->inputs[i]] + (size_t)begin * channels[i];
        }
        mnet_ref_concat_channels_f32((size_t)(end - begin), s->num_inputs, channels, parts,
                                     out + (size_t)begin * g->out_c);
        break;
    }
    }
}

static void run_block_rows(const step_job *job, int thread, int begin, int end) {
    const mnet_plan *plan = job->plan;
    const mnet_fused_block *blk = job->block;
    const mnet_step *first = &plan->steps[blk->first_step];
    const mnet_step *last = &plan->steps[blk->first_step + blk->num_steps - 1];
    mnet_invres b = blk->geometry;
    const mnet_step *s = first;
    if (b.has_expand) {
        b.expand_w = plan->weights + s->weights_offset;
        b.expand_b = plan->weights + s->bias_offset;
        b.expand_act = s->act;
        s++;
    }
    b.dw_w = plan->weights + s->weights_offset;
    b.dw_b = plan->weights + s->bias_offset;
    b.dw_act = s->act;
    s++;
    b.project_w = plan->weights + s->weights_offset;
    b.project_b = plan->weights + s->bias_offset;
    b.project_act = s->act;
    float *base = job->ctx->base;
    const size_t *offsets = job->ctx->offsets;
    const float *residual = last->residual >= 0 ? base + offsets[last->residual] : NULL;
    mnet_invres_rows(plan->kernels, &b, base + offsets[first->input], residual,
                     base + offsets[last->output], begin, end,
                     job->ctx->scratch + (size_t)thread * job->ctx->scratch_stride);
}

static int job_rows(const step_job *job) {
    return job->block ? job->block->geometry.project.out_h : step_rows(job->step);
}

static void run_slice(void *arg, int thread, int threads) {
    const step_job *job = arg;
    int rows = job_rows(job);
    int begin = (int)((long long)rows * thread / threads);
    int end = (int)((long long)rows * (thread + 1) / threads);
    if (begin >= end) return;
    if (job->block)
        run_block_rows(job, thread, begin, end);
    else
        run_step_rows(job, begin, end);
}

/* Below this many MACs work runs on the calling thread: waking the others
 * would cost more than it saves. */
#define MNET_PARALLEL_MIN_MACS 200000

static void run_job(const step_job *job, int64_t macs) {
    mnet_threadpool *pool = job->ctx->pool;
    if (mnet_threadpool_size(pool) > 1 && job_rows(job) > 1 && macs >= MNET_PARALLEL_MIN_MACS)
        mnet_threadpool_run(pool, run_slice, (void *)job);
    else
        run_slice((void *)job, 0, 1);
}

size_t mnet_plan_scratch_floats(const mnet_plan *plan) {
    size_t most = 0;
    for (int i = 0; i < plan->num_blocks; i++) {
        size_t n = mnet_invres_scratch_floats(&plan->blocks[i].geometry);
        if (n > most) most = n;
    }
    return (most + 15) / 16 * 16;
}

void mnet_plan_execute_steps(const mnet_plan *plan, const mnet_exec_context *ctx, int first,
                             int last) {
    for (int i = first; i < last; i++) {
        step_job job = {plan, ctx, &plan->steps[i], NULL};
        run_job(&job, plan->steps[i].macs);
    }
}

void mnet_plan_execute(const mnet_plan *plan, const mnet_exec_context *ctx) {
    int next_block = 0;
    for (int i = 0; i < plan->num_steps;) {
        while (next_block < plan->num_blocks && plan->blocks[next_block].first_step < i)
            next_block++;
        const mnet_fused_block *blk = next_block < plan->num_blocks ? &plan->blocks[next_block] : NULL;
        if (blk && blk->first_step == i && ctx->fuse && ctx->fuse[next_block]) {
            step_job job = {plan, ctx, NULL, blk};
            int64_t macs = 0;
            for (int s = 0; s < blk->num_steps; s++) macs += plan->steps[i + s].macs;
            run_job(&job, macs);
            i += blk->num_steps;
        } else {
            mnet_plan_execute_steps(plan, ctx, i, i + 1);
            i++;
        }
    }
}
