/* Sessions: the per-thread arena and the raw run entry points. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "int8/q8_session.h" /* int8 hook */

/* Detections one call can return at least (COCO evaluation keeps 100). */
#define MNET_DETECT_MIN_CAPACITY 100

mnet_status mnet_session_fail(mnet_session *s, mnet_status status, const char *fmt, ...) {
    s->error.status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error.message, sizeof s->error.message, fmt, ap);
    va_end(ap);
    return status;
}

static void *alloc_floats(size_t n) {
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

/* Which blocks run fused (none of their inner tensors is a kept tap, and
 * MNET_FUSE is not "0") and which tensors are therefore never written. */
static void choose_fusion(const mnet_plan *plan, const unsigned char *keep, unsigned char *fuse,
                          unsigned char *skip) {
    const char *env = getenv("MNET_FUSE");
    int allowed = !(env && strcmp(env, "0") == 0);
    for (int b = 0; b < plan->num_blocks; b++) {
        const mnet_fused_block *blk = &plan->blocks[b];
        int ok = allowed;
        int last_step = blk->first_step + blk->num_steps - 1;
        for (int i = 0; i + 1 < blk->num_steps; i++) {
            int inner = plan->steps[blk->first_step + i].output;
            /* kept as a tap, or read after the block (SSD heads on an
             * expansion): it must be written to memory */
            if (keep[inner] || plan->tensors[inner].last_use > last_step ||
                plan->tensors[inner].is_output)
                ok = 0;
        }
        fuse[b] = (unsigned char)ok;
        for (int i = 0; ok && i + 1 < blk->num_steps; i++)
            skip[plan->steps[blk->first_step + i].output] = 1;
    }
}

static mnet_status resolve_taps(mnet_session *s, const mnet_session_options *options,
                                unsigned char *keep, mnet_error *error) {
    int num_taps = options ? options->num_taps : 0;
    if (num_taps <= 0) return MNET_OK;
    s->taps = calloc((size_t)num_taps, sizeof *s->taps);
    if (!s->taps) return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    s->num_taps = num_taps;
    for (int i = 0; i < num_taps; i++) {
        int t = mnet_model_find_tap(s->model, options->taps[i]);
        if (t < 0)
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "unknown feature tap '%s' (see mnet_model_tap_name)",
                             options->taps[i] ? options->taps[i] : "(null)");
        keep[s->taps[i] = t] = 1;
    }
    return MNET_OK;
}

static mnet_status allocate(mnet_session *s, const unsigned char *keep, unsigned char *skip,
                            mnet_error *error) {
    const mnet_model *model = s->model;
    const mnet_plan *plan = &model->plan;
    int classes = model->config.num_classes;
    int threads = model->threads > 0 ? model->threads : mnet_cpu_count();
    s->offsets = calloc((size_t)plan->num_tensors, sizeof *s->offsets);
    s->fuse = calloc((size_t)(plan->num_blocks ? plan->num_blocks : 1), 1);
    s->scores = alloc_floats((size_t)classes);
    s->order = calloc((size_t)(classes ? classes : 1), sizeof *s->order);
    if (!s->offsets || !s->fuse || !s->scores || !s->order)
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    choose_fusion(plan, keep, s->fuse, skip);
    s->arena_floats = mnet_plan_layout(plan, keep, skip, s->fuse, s->offsets);
    s->scratch_floats = mnet_image_scratch_floats(&model->input_spec);
    s->block_scratch_stride = mnet_plan_scratch_floats(plan);
    s->num_threads = threads;
    if (plan->detector.num_layers > 0) {
        /* room for the model's maximum or a COCO-style 100, whichever is more */
        mnet_nms_params nms = model->config.ssd.nms;
        if (nms.max_detections < MNET_DETECT_MIN_CAPACITY) nms.max_detections = MNET_DETECT_MIN_CAPACITY;
        s->max_detections = nms.max_detections;
        s->detect_scratch_bytes = mnet_ssd_detect_scratch_bytes(plan->detector.num_anchors, &nms);
    }
    if (model->config.arch == MNET_ARCH_DEEPLAB_V3) {
        const mnet_plan_tensor *lt = &plan->tensors[plan->output];
        s->segment_cells = (size_t)lt->h * lt->w;
    }
    if (model->q8) /* int8 hook: the uint8 arena and buffers come on top */
        s->q8_planned_bytes = mnet_q8_session_planned_bytes(model->q8, plan, keep, threads);
    size_t need = mnet_session_memory(s);
    if (model->max_session_bytes && need > model->max_session_bytes)
        return mnet_fail(error, MNET_ERR_LIMIT,
                         "a session needs %zu bytes, above the limit of %zu bytes", need,
                         model->max_session_bytes);
    if (s->dry_run) return MNET_OK;
    s->arena = alloc_floats(s->arena_floats);
    s->scratch = alloc_floats(s->scratch_floats);
    s->block_scratch = alloc_floats(s->block_scratch_stride * (size_t)threads);
    if (s->segment_cells) s->segment_best = malloc(s->segment_cells);
    if (s->max_detections > 0) {
        s->detect_scratch = malloc(s->detect_scratch_bytes ? s->detect_scratch_bytes : 1);
        s->raw_detections = calloc((size_t)s->max_detections, sizeof *s->raw_detections);
    }
    if (!s->arena || !s->scratch || !s->block_scratch || (s->segment_cells && !s->segment_best) ||
        (s->max_detections > 0 && (!s->detect_scratch || !s->raw_detections)))
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY,
                         "out of memory for a %zu-byte session", need);
    /* Touch every page now, so that the first run does not pay for the
     * page faults of a fresh arena (it would be twice as slow). */
    memset(s->arena, 0, s->arena_floats * sizeof(float));
    memset(s->scratch, 0, s->scratch_floats * sizeof(float));
    memset(s->block_scratch, 0, s->block_scratch_stride * (size_t)threads * sizeof(float));
    mnet_status status = mnet_threadpool_create(threads, &s->pool, error);
    if (status != MNET_OK) return status;
    s->exec.base = s->arena;
    s->exec.offsets = s->offsets;
    s->exec.pool = s->pool;
    s->exec.fuse = s->fuse;
    s->exec.scratch = s->block_scratch;
    s->exec.scratch_stride = s->block_scratch_stride;
    return MNET_OK;
}

mnet_status mnet_session_create(const mnet_model *model, const mnet_session_options *options,
                                mnet_session **session, mnet_error *user_error) {
    mnet_error local, *error = user_error ? user_error : &local;
    mnet_error_clear(error);
    if (!session) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "session pointer is NULL");
    *session = NULL;
    if (!model) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "model is NULL");
    if (options && (options->num_taps < 0 || (options->num_taps > 0 && !options->taps)))
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "num_taps %d with taps %s",
                         options->num_taps, options->taps ? "set" : "NULL");
    const mnet_plan *plan = &model->plan;
    mnet_session *s = calloc(1, sizeof *s);
    unsigned char *keep = calloc((size_t)plan->num_tensors, 2);
    if (!s || !keep) {
        free(s);
        free(keep);
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory creating a session");
    }
    s->model = model;
    mnet_status status = resolve_taps(s, options, keep, error);
    if (status == MNET_OK) status = allocate(s, keep, keep + plan->num_tensors, error);
    if (status == MNET_OK && model->q8) /* int8 hook */
        status = mnet_q8_session_create(model->q8, plan, keep, s->num_threads, &s->q8,
                                        error);
    free(keep);
    if (status != MNET_OK) {
        mnet_session_destroy(s);
        return status;
    }
    *session = s;
    return MNET_OK;
}

size_t mnet_model_session_bytes(const mnet_model *model, const mnet_session_options *options) {
    if (!model || (options && (options->num_taps < 0 || (options->num_taps > 0 && !options->taps))))
        return 0;
    const mnet_plan *plan = &model->plan;
    mnet_session *s = calloc(1, sizeof *s);
    unsigned char *keep = calloc((size_t)plan->num_tensors, 2);
    size_t bytes = 0;
    mnet_error error;
    if (s && keep) {
        s->model = model;
        s->dry_run = 1;
        if (resolve_taps(s, options, keep, &error) == MNET_OK &&
            allocate(s, keep, keep + plan->num_tensors, &error) == MNET_OK)
            bytes = mnet_session_memory(s);
    }
    free(keep);
    mnet_session_destroy(s);
    return bytes;
}

void mnet_session_destroy(mnet_session *session) {
    if (!session) return;
    mnet_threadpool_destroy(session->pool);
    mnet_q8_session_destroy(session->q8); /* int8 hook */
    free(session->arena);
    free(session->scratch);
    free(session->fuse);
    free(session->detect_scratch);
    free(session->segment_best);
    free(session->raw_detections);
    free(session->block_scratch);
    free(session->offsets);
    free(session->scores);
    free(session->order);
    free(session->taps);
    free(session);
}

const char *mnet_session_error(const mnet_session *session) {
    return session ? session->error.message : "session is NULL";
}

size_t mnet_session_memory(const mnet_session *session) {
    if (!session) return 0;
    const mnet_model *m = session->model;
    size_t classes = (size_t)m->config.num_classes;
    return sizeof *session +
           (session->arena_floats + session->scratch_floats + classes +
            session->block_scratch_stride * (size_t)session->num_threads) * sizeof(float) +
           (size_t)m->plan.num_blocks + session->detect_scratch_bytes + session->segment_cells +
           (size_t)session->max_detections * sizeof(mnet_raw_detection) +
           classes * sizeof(int) + (size_t)m->plan.num_tensors * sizeof(size_t) +
           (size_t)session->num_taps * sizeof(int) +
           (session->q8 ? mnet_q8_session_bytes(session->q8) : session->q8_planned_bytes);
}

static float *tensor_data(const mnet_session *s, int tensor) {
    return s->arena + s->offsets[tensor];
}

static size_t tensor_count(const mnet_plan_tensor *t) {
    return (size_t)t->h * (size_t)t->w * (size_t)t->c;
}

/* Runs the plan on `input`, or when NULL on the input tensor already in the
 * arena: uint8 when the model runs int8 (int8 hook), which quantizes the
 * input where it is (the input is no feature tap, so nothing reads it from
 * the arena), float otherwise, which copies it into the arena. */
static void execute(mnet_session *s, const float *input) {
    const mnet_plan *plan = &s->model->plan;
    if (s->q8) {
        mnet_q8_session_run(s->q8, input, s->arena, s->offsets, s->pool);
        return;
    }
    if (input)
        memcpy(tensor_data(s, plan->input), input,
               tensor_count(&plan->tensors[plan->input]) * sizeof(float));
    mnet_plan_execute(plan, &s->exec);
}

mnet_status mnet_run(mnet_session *session, const float *input, size_t input_count) {
    if (!session) return MNET_ERR_INVALID_ARGUMENT;
    mnet_error_clear(&session->error);
    const mnet_plan *plan = &session->model->plan;
    const mnet_plan_tensor *in = &plan->tensors[plan->input];
    if (!input) return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT, "input is NULL");
    if (input_count != tensor_count(in))
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT,
                                 "input has %zu values, expected %dx%dx%d = %zu", input_count,
                                 in->h, in->w, in->c, tensor_count(in));
    execute(session, input);
    session->has_run = 1;
    return MNET_OK;
}

mnet_status mnet_session_run_image(mnet_session *s, const mnet_image *image,
                                   const mnet_preprocess *preprocess,
                                   mnet_image_transform *transform) {
    mnet_error_clear(&s->error);
    const mnet_plan *plan = &s->model->plan;
    mnet_status status = mnet_image_to_input_with(
        s->model->row_kernels, image, preprocess, &s->model->input_spec,
        tensor_data(s, plan->input), s->scratch, s->scratch_floats, transform, &s->error);
    if (status != MNET_OK) return status;
    execute(s, NULL);
    s->has_run = 1;
    return MNET_OK;
}

mnet_status mnet_session_tap(const mnet_session *session, int index, mnet_tensor *tensor) {
    if (!session || !tensor || index < 0 || index >= session->num_taps || !session->has_run)
        return MNET_ERR_INVALID_ARGUMENT;
    const mnet_plan_tensor *t = &session->model->plan.tensors[session->taps[index]];
    tensor->name = t->name;
    tensor->height = t->h;
    tensor->width = t->w;
    tensor->channels = t->c;
    tensor->data = tensor_data(session, session->taps[index]);
    return MNET_OK;
}

int mnet_output_count(const mnet_session *session) { return session ? 1 : 0; }

mnet_status mnet_output(const mnet_session *session, int index, mnet_tensor *tensor) {
    if (!session || !tensor || index != 0) return MNET_ERR_INVALID_ARGUMENT;
    if (!session->has_run) return MNET_ERR_INVALID_ARGUMENT;
    const mnet_plan *plan = &session->model->plan;
    const mnet_plan_tensor *t = &plan->tensors[plan->output];
    tensor->name = t->name;
    tensor->height = t->h;
    tensor->width = t->w;
    tensor->channels = t->c;
    tensor->data = tensor_data(session, plan->output);
    return MNET_OK;
}
