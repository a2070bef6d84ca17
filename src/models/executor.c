/* Running a plan: one kernel call per step over the session's arena, or one
 * fused call per inverted residual block. Work is split into contiguous row
 * (or pixel) ranges, one per thread; kernels compute each row the same way
 * whatever the split, so results are bit-identical for any thread count. */
#include <string.h>

#include "models/plan.h"

typedef struct step_job {
    const mnet_plan *plan;
    const mnet_exec_context *ctx;
    const mnet_step *step;        /* unfused step, or */
    const mnet_fused_block *block;/* a fused block */
} step_job;

/* Rows a step is split over: output rows, or pixels for 1x1 steps. */
static int step_rows(const mnet_step *s) {
    if (s->kind == MNET_STEP_POINTWISE || s->kind == MNET_STEP_CONCAT || s->gemm)
        return s->geom.out_h * s->geom.out_w;
    if (s->kind == MNET_STEP_CONV || s->kind == MNET_STEP_DEPTHWISE) return s->geom.out_h;
    return 1;
}

/* Output pixels per im2col tile: a multiple of the pointwise kernels'
 * 6-pixel register tile, as many as fit in about 512 KB of patches: the
 * weights of these layers are large (up to several MB) and are streamed
 * once per tile, so few big tiles beat many small ones. */
static int gemm_tile_pixels(const mnet_conv_geometry *g) {
    int k = g->kernel_h * g->kernel_w * g->in_c;
    int tiles = 131072 / (6 * k);
    tiles = tiles < 1 ? 1 : tiles > 64 ? 64 : tiles;
    return 6 * tiles;
}

/* A regular convolution as GEMM: the input patches of a tile of output
 * pixels are gathered into rows of k*k*in_c values (zeros where the window
 * leaves the input), which the pointwise kernel multiplies by the weights
 * packed as [out_c][k*k*in_c]. Each output pixel is one row of that
 * product, computed the same way whatever the tiling. */
static void conv_gemm_rows(const mnet_kernels *k, const mnet_step *s, const float *in,
                           const float *w, const float *bias, float *out, int begin, int end,
                           float *patches) {
    const mnet_conv_geometry *g = &s->geom;
    const int row_len = g->kernel_h * g->kernel_w * g->in_c;
    const int tile = gemm_tile_pixels(g);
    const size_t taps = (size_t)g->in_c * sizeof(float);
    for (int p0 = begin; p0 < end; p0 += tile) {
        int n = end - p0 < tile ? end - p0 : tile;
        for (int t = 0; t < n; t++) {
            int oy = (p0 + t) / g->out_w, ox = (p0 + t) % g->out_w;
            float *row = patches + (size_t)t * row_len;
            for (int ky = 0; ky < g->kernel_h; ky++) {
                int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                for (int kx = 0; kx < g->kernel_w; kx++, row += g->in_c) {
                    int ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                    if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                        memset(row, 0, taps);
                    else
                        memcpy(row, in + ((size_t)iy * g->in_w + ix) * g->in_c, taps);
                }
            }
        }
        k->pointwise(row_len, g->out_c, patches, w, bias, NULL, s->act,
                     out + (size_t)p0 * g->out_c, 0, n);
    }
}

size_t mnet_step_scratch_floats(const mnet_step *s) {
    if (!s->gemm) return 0;
    const mnet_conv_geometry *g = &s->geom;
    return (size_t)gemm_tile_pixels(g) * g->kernel_h * g->kernel_w * g->in_c;
}

static void run_step_rows(const step_job *job, int thread, int begin, int end) {
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
        if (s->gemm)
            conv_gemm_rows(k, s, in, w, bias, out, begin, end,
                           job->ctx->scratch + (size_t)thread * job->ctx->scratch_stride);
        else
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

/* Pooled projection (see mnet_block_kind): the pooled vector's share of
 * the projection plus the bias, then the 1x1 over the other branch with
 * that as its bias. Each thread computes the (small) shared part itself. */
static void run_pooled_projection(const step_job *job, int thread, int begin, int end) {
    const mnet_plan *plan = job->plan;
    const mnet_fused_block *blk = job->block;
    const mnet_step *resize = &plan->steps[blk->first_step];
    const mnet_step *concat = resize + 1, *proj = resize + 2;
    const mnet_kernels *k = plan->kernels;
    float *base = job->ctx->base;
    const size_t *offsets = job->ctx->offsets;
    int pooled_c = plan->tensors[resize->input].c, out_c = proj->geom.out_c;
    float *bias = job->ctx->scratch + (size_t)thread * job->ctx->scratch_stride;
    k->pointwise(pooled_c, out_c, base + offsets[resize->input],
                 plan->weights + blk->pooled_weights_offset, plan->weights + proj->bias_offset,
                 NULL, MNET_ACT_NONE, bias, 0, 1);
    k->pointwise(proj->geom.in_c - pooled_c, out_c, base + offsets[concat->inputs[1]],
                 plan->weights + blk->rest_weights_offset, bias, NULL, proj->act,
                 base + offsets[proj->output], begin, end);
}

mnet_invres mnet_block_invres(const mnet_plan *plan, const mnet_fused_block *blk) {
    mnet_invres b = blk->geometry;
    const mnet_step *s = &plan->steps[blk->first_step];
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
    return b;
}

static void run_block_rows(const step_job *job, int thread, int begin, int end) {
    const mnet_plan *plan = job->plan;
    const mnet_fused_block *blk = job->block;
    if (blk->kind == MNET_BLOCK_POOLED_PROJECTION) {
        run_pooled_projection(job, thread, begin, end);
        return;
    }
    const mnet_step *first = &plan->steps[blk->first_step];
    const mnet_step *last = &plan->steps[blk->first_step + blk->num_steps - 1];
    const mnet_invres b = mnet_block_invres(plan, blk);
    float *base = job->ctx->base;
    const size_t *offsets = job->ctx->offsets;
    const float *residual = last->residual >= 0 ? base + offsets[last->residual] : NULL;
    mnet_invres_rows(plan->kernels, &b, base + offsets[first->input], residual,
                     base + offsets[last->output], begin, end,
                     job->ctx->scratch + (size_t)thread * job->ctx->scratch_stride);
}

static int job_rows(const step_job *job) {
    if (!job->block) return step_rows(job->step);
    if (job->block->kind == MNET_BLOCK_POOLED_PROJECTION)
        return step_rows(&job->plan->steps[job->block->first_step + 2]);
    return job->block->geometry.project.out_h;
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
        run_step_rows(job, thread, begin, end);
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
        const mnet_fused_block *blk = &plan->blocks[i];
        size_t n = blk->kind == MNET_BLOCK_POOLED_PROJECTION
                       ? (size_t)plan->steps[blk->first_step + 2].geom.out_c
                       : mnet_invres_scratch_floats(&blk->geometry);
        if (n > most) most = n;
    }
    for (int i = 0; i < plan->num_steps; i++) {
        size_t n = mnet_step_scratch_floats(&plan->steps[i]);
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
