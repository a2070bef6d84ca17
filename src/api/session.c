/* Sessions: the per-thread arena and the raw run entry points. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"

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

mnet_status mnet_session_create(const mnet_model *model, const mnet_session_options *options,
                                mnet_session **session, mnet_error *user_error) {
    mnet_error local, *error = user_error ? user_error : &local;
    mnet_error_clear(error);
    if (!session) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "session pointer is NULL");
    *session = NULL;
    if (!model) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "model is NULL");
    int num_taps = options ? options->num_taps : 0;
    if (num_taps < 0 || (num_taps > 0 && !options->taps))
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "num_taps %d with taps %s", num_taps,
                         options && options->taps ? "set" : "NULL");
    const mnet_plan *plan = &model->plan;
    mnet_session *s = calloc(1, sizeof *s);
    unsigned char *keep = calloc((size_t)plan->num_tensors, 1);
    if (!s || !keep) {
        free(s);
        free(keep);
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory creating a session");
    }
    s->model = model;
    mnet_status status = MNET_OK;
    if (num_taps > 0) {
        s->taps = calloc((size_t)num_taps, sizeof *s->taps);
        if (!s->taps) status = mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
        for (int i = 0; status == MNET_OK && i < num_taps; i++) {
            int t = mnet_model_find_tap(model, options->taps[i]);
            if (t < 0)
                status = mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                                   "unknown feature tap '%s' (see mnet_model_tap_name)",
                                   options->taps[i] ? options->taps[i] : "(null)");
            else
                keep[s->taps[i] = t] = 1;
        }
        s->num_taps = num_taps;
    }
    if (status == MNET_OK) {
        s->offsets = calloc((size_t)plan->num_tensors, sizeof *s->offsets);
        int classes = model->config.num_classes;
        s->scores = alloc_floats((size_t)classes);
        s->order = calloc((size_t)(classes ? classes : 1), sizeof *s->order);
        if (!s->offsets || !s->scores || !s->order)
            status = mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (status == MNET_OK) {
        s->arena_floats = mnet_plan_layout(plan, keep, s->offsets);
        s->scratch_floats = mnet_image_scratch_floats(&model->input_spec);
        size_t need = mnet_session_memory(s);
        if (model->max_session_bytes && need > model->max_session_bytes)
            status = mnet_fail(error, MNET_ERR_LIMIT,
                               "a session needs %zu bytes, above the limit of %zu bytes", need,
                               model->max_session_bytes);
    }
    if (status == MNET_OK) {
        s->arena = alloc_floats(s->arena_floats);
        s->scratch = alloc_floats(s->scratch_floats);
        if (!s->arena || !s->scratch)
            status = mnet_fail(error, MNET_ERR_OUT_OF_MEMORY,
                               "out of memory for a %zu-byte session arena",
                               s->arena_floats * sizeof(float));
    }
    free(keep);
    if (status == MNET_OK) {
        int threads = model->threads > 0 ? model->threads : mnet_cpu_count();
        status = mnet_threadpool_create(threads, &s->pool, error);
    }
    if (status != MNET_OK) {
        mnet_session_destroy(s);
        return status;
    }
    *session = s;
    return MNET_OK;
}

void mnet_session_destroy(mnet_session *session) {
    if (!session) return;
    mnet_threadpool_destroy(session->pool);
    free(session->arena);
    free(session->scratch);
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
           (session->arena_floats + session->scratch_floats + classes) * sizeof(float) +
           classes * sizeof(int) + (size_t)m->plan.num_tensors * sizeof(size_t) +
           (size_t)session->num_taps * sizeof(int);
}

static float *tensor_data(const mnet_session *s, int tensor) {
    return s->arena + s->offsets[tensor];
}

static size_t tensor_count(const mnet_plan_tensor *t) {
    return (size_t)t->h * (size_t)t->w * (size_t)t->c;
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
    memcpy(tensor_data(session, plan->input), input, input_count * sizeof(float));
    mnet_plan_execute(plan, session->arena, session->offsets, session->pool);
    session->has_run = 1;
    return MNET_OK;
}

mnet_status mnet_session_run_image(mnet_session *s, const mnet_image *image,
                                   const mnet_preprocess *preprocess,
                                   mnet_image_transform *transform) {
    mnet_error_clear(&s->error);
    const mnet_plan *plan = &s->model->plan;
    mnet_status status =
        mnet_image_to_input(image, preprocess, &s->model->input_spec,
                            tensor_data(s, plan->input), s->scratch, s->scratch_floats,
                            transform, &s->error);
    if (status != MNET_OK) return status;
    mnet_plan_execute(plan, s->arena, s->offsets, s->pool);
    s->has_run = 1;
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
