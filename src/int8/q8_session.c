/* Running the uint8 plan: one kernel call per step, split over threads by
 * output rows (or pixels); every row is computed the same way whatever the
 * split, so results do not depend on the thread count. */
#include "int8/q8_session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mnet_q8_session {
    const mnet_q8_plan *q;
    const mnet_plan *plan;
    uint8_t *arena;
    size_t arena_bytes;
    size_t *offsets;          /* bytes, per float plan tensor */
    uint8_t *preadd;          /* conv output before a residual add */
    unsigned char *exported;  /* per tensor: dequantized after the run */
    uint8_t *patches;         /* per thread: a band of conv patches */
    int threads;
    uint8_t *probabilities;   /* the output softmax (plan has_softmax), else NULL */
    size_t num_probabilities;
};

/* The sizes of a session's parts (exported tensors, arena layout, thread
 * count) without its buffers; 0 when out of memory. */
static int size_session(mnet_q8_session *s, const mnet_q8_plan *q, const mnet_plan *plan,
                        const unsigned char *keep, int threads) {
    s->q = q;
    s->plan = plan;
    s->offsets = calloc((size_t)plan->num_tensors, sizeof *s->offsets);
    s->exported = calloc((size_t)plan->num_tensors, 1);
    if (!s->offsets || !s->exported) return 0;
    for (int i = 0; i < plan->num_tensors; i++)
        s->exported[i] = (unsigned char)((keep && keep[i]) || plan->tensors[i].is_output ||
                                         i == plan->output);
    /* The float layout in units of "elements" is a valid byte layout:
     * sizes and offsets scale together. */
    s->arena_bytes = mnet_plan_layout(plan, s->exported, NULL, NULL, s->offsets);
    s->threads = threads > 1 ? threads : 1;
    if (q->has_softmax) {
        const mnet_plan_tensor *o = &plan->tensors[plan->output];
        s->num_probabilities = (size_t)o->h * (size_t)o->w * (size_t)o->c;
    }
    return 1;
}

size_t mnet_q8_session_planned_bytes(const mnet_q8_plan *q, const mnet_plan *plan,
                                     const unsigned char *keep, int threads) {
    mnet_q8_session s = {0};
    size_t bytes = size_session(&s, q, plan, keep, threads) ? mnet_q8_session_bytes(&s) : 0;
    free(s.offsets);
    free(s.exported);
    return bytes;
}

mnet_status mnet_q8_session_create(const mnet_q8_plan *q, const mnet_plan *plan,
                                   const unsigned char *keep, int threads,
                                   mnet_q8_session **out, mnet_error *error) {
    *out = NULL;
    mnet_q8_session *s = calloc(1, sizeof *s);
    if (!s) return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    if (!size_session(s, q, plan, keep, threads)) goto oom;
    s->arena = aligned_alloc(64, (s->arena_bytes + 64) / 64 * 64);
    s->preadd = aligned_alloc(64, (q->preadd_bytes + 64) / 64 * 64);
    s->patches = aligned_alloc(64, (q->patch_bytes + 64) / 64 * 64 * (size_t)s->threads);
    if (!s->arena || !s->preadd || !s->patches) goto oom;
    /* Touch every page now, as the float session does, so that the first
     * run does not pay for the page faults of fresh buffers. */
    memset(s->arena, 0, s->arena_bytes);
    memset(s->preadd, 0, q->preadd_bytes);
    memset(s->patches, 0, q->patch_bytes * (size_t)s->threads);
    if (s->num_probabilities) {
        s->probabilities = malloc(s->num_probabilities);
        if (!s->probabilities) goto oom;
    }
    *out = s;
    return MNET_OK;
oom:
    mnet_q8_session_destroy(s);
    return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory for the int8 session");
}

void mnet_q8_session_destroy(mnet_q8_session *s) {
    if (!s) return;
    free(s->arena);
    free(s->preadd);
    free(s->patches);
    free(s->probabilities);
    free(s->offsets);
    free(s->exported);
    free(s);
}

size_t mnet_q8_session_bytes(const mnet_q8_session *s) {
    if (!s) return 0;
    return sizeof *s + s->arena_bytes + s->q->preadd_bytes +
           s->q->patch_bytes * (size_t)s->threads +
           (size_t)s->plan->num_tensors * (sizeof(size_t) + 1) + s->num_probabilities;
}

const uint8_t *mnet_q8_session_probabilities(const mnet_q8_session *s, size_t *count) {
    if (count) *count = s ? s->num_probabilities : 0;
    return s ? s->probabilities : NULL;
}

const uint8_t *mnet_q8_session_tensor(const mnet_q8_session *s, int t) {
    if (!s || t < 0 || t >= s->plan->num_tensors || !s->exported[t]) return NULL;
    return s->arena + s->offsets[t];
}

static size_t tensor_count(const mnet_plan_tensor *t) {
    return (size_t)t->h * (size_t)t->w * (size_t)t->c;
}

typedef struct q8_job {
    mnet_q8_session *s;
    const mnet_q8_step *step;
} q8_job;

static int step_rows(const mnet_q8_step *st) {
    if (st->kind == MNET_STEP_POINTWISE) return st->geom.out_h * st->geom.out_w;
    if (st->kind == MNET_STEP_CONV || st->kind == MNET_STEP_DEPTHWISE) return st->geom.out_h;
    if (st->kind == MNET_STEP_RESIZE) return st->op->out_h;                 /* q8_ops.h */
    if (st->kind == MNET_STEP_CONCAT) return st->op->out_h * st->op->out_w; /* pixels */
    return 1;
}

/* n bytes, n small: fixed-size (inlined) copies instead of a memcpy call;
 * 8 <= n <= 16 as two overlapping 8-byte moves. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
    if (n >= 8 && n <= 16) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n < 8) {
        for (size_t i = 0; i < n; i++) dst[i] = src[i];
    } else {
        memcpy(dst, src, n);
    }
}

/* The k x k x in_c patches of output row oy, padding filled with the input
 * zero point (a real 0, as the reference's skipped taps). A kernel row
 * with dilation 1 fully inside the input is one contiguous copy. */
static void gather_patches(const mnet_conv_geometry *g, int32_t zero_point, const uint8_t *in,
                           int oy, uint8_t *dst) {
    size_t row_bytes = (size_t)g->kernel_w * g->in_c;
    for (int ox = 0; ox < g->out_w; ox++) {
        int ix0 = ox * g->stride_w - g->pad_left;
        int row_inside = g->dilation_w == 1 && ix0 >= 0 && ix0 + g->kernel_w <= g->in_w;
        for (int ky = 0; ky < g->kernel_h; ky++, dst += row_bytes) {
            int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
            if (iy < 0 || iy >= g->in_h) {
                memset(dst, zero_point, row_bytes);
            } else if (row_inside) {
                copy_bytes(dst, in + ((size_t)iy * g->in_w + ix0) * g->in_c, row_bytes);
            } else {
                for (int kx = 0; kx < g->kernel_w; kx++) {
                    int ix = ix0 + kx * g->dilation_w;
                    uint8_t *d = dst + (size_t)kx * g->in_c;
                    if (ix < 0 || ix >= g->in_w)
                        memset(d, zero_point, (size_t)g->in_c);
                    else
                        copy_bytes(d, in + ((size_t)iy * g->in_w + ix) * g->in_c, (size_t)g->in_c);
                }
            }
        }
    }
}

/* Pixels per pointwise call before its residual ADD (keeps the pre-add
 * bytes in L1: 48 pixels x up to 320 channels = 15 KB). */
#define MNET_Q8_ADD_CHUNK_PIXELS 48

static void run_rows(const q8_job *job, int thread, int begin, int end) {
    mnet_q8_session *s = job->s;
    const mnet_q8_step *st = job->step;
    const mnet_q8_kernels *k = s->q->kernels;
    const mnet_conv_geometry *g = &st->geom;
    const uint8_t *in = s->arena + s->offsets[st->input];
    uint8_t *out = s->arena + s->offsets[st->output];
    switch (st->kind) {
    case MNET_STEP_CONV:
        /* packed for the table's stem kernel (as q8_plan.c decided) */
        if (st->packed && k->stem_pack_bytes && k->stem_pack_bytes(g)) {
            k->stem(g, &st->conv, in, st->packed, st->packed_bias, out, begin, end);
        } else if (st->packed) {
            uint8_t *patches = s->patches + (size_t)thread * s->q->patch_bytes;
            size_t patch = (size_t)g->kernel_h * g->kernel_w * g->in_c;
            int band = mnet_q8_patch_band_rows(g);
            for (int oy = begin; oy < end; oy += band) {
                int rows = end - oy < band ? end - oy : band;
                for (int r = 0; r < rows; r++)
                    gather_patches(g, st->conv.input_zero_point, in, oy + r,
                                   patches + (size_t)r * g->out_w * patch);
                k->pointwise((int)patch, g->out_c, &st->conv, patches, st->packed, st->packed_bias,
                             out + (size_t)oy * g->out_w * g->out_c, 0, rows * g->out_w);
            }
        } else {
            mnet_q8_ref_conv(g, &st->conv, in, st->weights, st->bias, out, begin, end);
        }
        break;
    case MNET_STEP_DEPTHWISE:
        if (st->packed)
            k->depthwise(g, &st->conv, in, st->packed, st->packed_bias, out, begin, end);
        else
            mnet_q8_ref_conv(g, &st->conv, in, st->weights, st->bias, out, begin, end);
        break;
    case MNET_STEP_POINTWISE:
    case MNET_STEP_FC: {
        /* with a residual ADD: the projection in chunks of pixels whose
         * pre-add values are still in L1 when the ADD reads them */
        int chunk = st->residual >= 0 ? MNET_Q8_ADD_CHUNK_PIXELS : end - begin;
        for (int b0 = begin; b0 < end; b0 += chunk) {
            int b1 = end - b0 < chunk ? end : b0 + chunk;
            uint8_t *dst = st->residual >= 0 ? s->preadd : out;
            if (st->packed)
                k->pointwise(g->in_c, g->out_c, &st->conv, in, st->packed, st->packed_bias, dst,
                             b0, b1);
            else
                mnet_q8_ref_pointwise(g->in_c, g->out_c, &st->conv, in, st->weights, st->bias,
                                      dst, b0, b1);
            if (st->residual >= 0) {
                size_t first = (size_t)b0 * g->out_c, n = (size_t)(b1 - b0) * g->out_c;
                (k->add ? k->add : mnet_q8_ref_add)(&st->add, s->preadd + first,
                                                    s->arena + s->offsets[st->residual] + first,
                                                    out + first, n);
            }
        }
        break;
    }
    case MNET_STEP_GLOBAL_POOL:
        if (st->pool_is_mean)
            mnet_q8_mean(g->in_h, g->in_w, g->in_c, &st->mean, in, out,
                         s->q->kernels->channel_sums);
        else
            mnet_q8_global_avgpool(g->in_h, g->in_w, g->in_c, st->out_min, st->out_max, in, out,
                                   s->q->kernels->channel_sums);
        break;
    case MNET_STEP_RESIZE: /* q8_ops.h */
        mnet_q8_resize(st->op, in, out, begin, end);
        break;
    case MNET_STEP_CONCAT: {
        const uint8_t *parts[MNET_Q8_OP_MAX_INPUTS];
        for (int i = 0; i < st->op->num_inputs; i++)
            parts[i] = s->arena + s->offsets[st->op->inputs[i]];
        mnet_q8_concat(st->op, parts, out, begin, end);
        break;
    }
    default:
        break; /* the builder accepts no other kind */
    }
}

static void run_slice(void *arg, int thread, int threads) {
    const q8_job *job = arg;
    int rows = step_rows(job->step);
    int begin = (int)((long long)rows * thread / threads);
    int end = (int)((long long)rows * (thread + 1) / threads);
    if (begin < end) run_rows(job, thread, begin, end);
}

/* Below this many MACs a step runs on the calling thread. */
#define MNET_Q8_PARALLEL_MIN_MACS 200000

static void quantize_input(mnet_q8_session *s, const float *in) {
    int t = s->plan->input;
    mnet_q8_quant qp = s->q->quant[t];
    uint8_t *dst = s->arena + s->offsets[t];
    size_t n = tensor_count(&s->plan->tensors[t]);
    const mnet_q8_kernels *k = s->q->kernels;
    (k->quantize ? k->quantize : mnet_q8_ref_quantize)(in, n, qp.scale, qp.zero_point, dst);
}

static void dequantize(const mnet_q8_session *s, int t, float *dst) {
    mnet_q8_quant qp = s->q->quant[t];
    const uint8_t *src = s->arena + s->offsets[t];
    size_t n = tensor_count(&s->plan->tensors[t]);
    const float *table = s->q->export_table ? s->q->export_table[t] : NULL; /* SSD heads */
    if (table) {
        for (size_t i = 0; i < n; i++) dst[i] = table[src[i]];
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = qp.scale * (float)((int32_t)src[i] - qp.zero_point);
}

void mnet_q8_session_run_step(mnet_q8_session *s, int step, mnet_threadpool *pool) {
    int parallel = pool && mnet_threadpool_size(pool) > 1 &&
                   mnet_threadpool_size(pool) <= s->threads;
    q8_job job = {s, &s->q->steps[step]};
    if (parallel && step_rows(job.step) > 1 && job.step->macs >= MNET_Q8_PARALLEL_MIN_MACS)
        mnet_threadpool_run(pool, run_slice, &job);
    else
        run_slice(&job, 0, 1);
}

void mnet_q8_session_run(mnet_q8_session *s, const float *input, float *float_base,
                         const size_t *float_offsets, mnet_threadpool *pool) {
    const mnet_plan *plan = s->plan;
    quantize_input(s, input ? input : float_base + float_offsets[plan->input]);
    for (int i = 0; i < s->q->num_steps; i++) mnet_q8_session_run_step(s, i, pool);
    /* Arm NN's float arithmetic, not TFLite's fixed point: it is the one
     * that reproduces the oracle (docs/INT8.md) */
    if (s->probabilities)
        mnet_q8_softmax_float(&s->q->softmax, s->arena + s->offsets[plan->output],
                              s->num_probabilities, s->probabilities);
    for (int t = 0; t < plan->num_tensors; t++)
        if (s->exported[t] && t != plan->input && float_offsets[t] != SIZE_MAX)
            dequantize(s, t, float_base + float_offsets[t]);
}
