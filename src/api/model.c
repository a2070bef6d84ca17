/* Loading a model: map the file, read its metadata, build the plan for the
 * kernels of this CPU, and release the file. */
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/safetensors.h"
#include "image/row_kernels.h"
#include "int8/q8_precision.h" /* int8 hook */

static const char *isa_request(const mnet_options *options) {
    const char *env = getenv("MNET_ISA");
    if (env && env[0]) return env;
    return options ? options->isa : NULL;
}

static mnet_status build_taps(mnet_model *m, mnet_error *error) {
    const mnet_plan *p = &m->plan;
    m->tap_names = calloc((size_t)p->num_tensors, sizeof *m->tap_names);
    m->tap_tensors = calloc((size_t)p->num_tensors, sizeof *m->tap_tensors);
    if (!m->tap_names || !m->tap_tensors)
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < p->num_tensors; i++) {
        if (i == p->input) continue;
        m->tap_names[m->num_taps] = p->tensors[i].name;
        m->tap_tensors[m->num_taps++] = i;
    }
    return MNET_OK;
}

static void fill_input_spec(mnet_model *m) {
    const mnet_model_config *c = &m->config;
    mnet_input_spec *s = &m->input_spec;
    s->width = c->input_w;
    s->height = c->input_h;
    s->bgr = c->bgr;
    for (int i = 0; i < 3; i++) {
        s->mean[i] = c->mean[i];
        s->std[i] = c->std[i];
        s->fill[i] = c->fill[i];
    }
    s->fit = c->fit;
    s->crop_fraction = c->crop_fraction;
}

/* error is never NULL here. */
static mnet_status load(mnet_safetensors *st, const char *origin, const mnet_options *options,
                        mnet_model **out, mnet_error *error) {
    mnet_model *m = calloc(1, sizeof *m);
    if (!m) {
        mnet_st_close(st);
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "%s: out of memory", origin);
    }
    mnet_status status = mnet_model_config_parse(st, &m->config, error);
    if (status == MNET_OK) {
        const char *isa = isa_request(options);
        m->plan.kernels = mnet_kernels_select(isa);
        m->row_kernels = mnet_image_row_kernels_named(isa);
        if (!m->plan.kernels)
            status = mnet_fail(error, MNET_ERR_UNSUPPORTED,
                               "kernel set '%s' is unknown or not supported by this CPU "
                               "(available: %s)",
                               isa, mnet_kernels_available());
    }
    if (status == MNET_OK) {
        mnet_plan_builder b = {&m->plan, st, &m->config, error, NULL};
        int rc = -1;
        if (m->config.arch == MNET_ARCH_MOBILENET_V1)
            rc = mnet_build_mobilenet_v1(&b);
        else if (m->config.arch == MNET_ARCH_MOBILENET_V2)
            rc = mnet_build_mobilenet_v2(&b);
        else if (m->config.arch == MNET_ARCH_SSD)
            rc = mnet_build_ssd(&b);
        else if (m->config.arch == MNET_ARCH_DEEPLAB_V3)
            rc = mnet_build_deeplab(&b);
        else
            mnet_fail(error, MNET_ERR_UNSUPPORTED, "architecture not supported");
        status = rc == 0 ? MNET_OK : error->status;
        m->weights_dtype = b.weights_dtype ? b.weights_dtype : "f32";
    }
    if (status == MNET_OK) status = build_taps(m, error);
    /* int8 hook: the uint8 plan, when the precision asks for it */
    if (status == MNET_OK)
        status = mnet_q8_prepare(options, &m->plan, st, &m->config, isa_request(options), &m->q8,
                                 error);
    mnet_st_close(st);
    if (status != MNET_OK) {
        mnet_error_prefix(error, "%s: ", origin);
        mnet_model_destroy(m);
        return status;
    }
    fill_input_spec(m);
    if (options) {
        m->max_session_bytes = options->max_session_bytes;
        m->threads = options->threads;
    }
    *out = m;
    return MNET_OK;
}

mnet_status mnet_model_load(const char *path, const mnet_options *options, mnet_model **model,
                            mnet_error *user_error) {
    mnet_error local, *error = user_error ? user_error : &local;
    mnet_error_clear(error);
    if (!model) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "model pointer is NULL");
    *model = NULL;
    if (!path) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "model path is NULL");
    mnet_safetensors *st = NULL;
    mnet_status status = mnet_st_open_file(path, &st, error);
    if (status != MNET_OK) return status; /* the reader's message names the file */
    return load(st, path, options, model, error);
}

mnet_status mnet_model_load_memory(const void *data, size_t size, const mnet_options *options,
                                   mnet_model **model, mnet_error *user_error) {
    mnet_error local, *error = user_error ? user_error : &local;
    mnet_error_clear(error);
    if (!model) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "model pointer is NULL");
    *model = NULL;
    if (!data) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "model data is NULL");
    mnet_safetensors *st = NULL;
    mnet_status status = mnet_st_open_memory(data, size, &st, error);
    if (status != MNET_OK) {
        mnet_error_prefix(error, "<memory>: ");
        return status;
    }
    return load(st, "<memory>", options, model, error);
}

void mnet_model_destroy(mnet_model *model) {
    if (!model) return;
    mnet_q8_plan_free(model->q8); /* int8 hook */
    mnet_plan_free(&model->plan);
    mnet_model_config_free(&model->config);
    free(model->tap_names);
    free(model->tap_tensors);
    free(model);
}

static const char *padding_name(mnet_padding p) {
    return p == MNET_PAD_SYMMETRIC ? "symmetric" : p == MNET_PAD_VALID ? "valid" : "tf_same";
}

mnet_status mnet_model_get_info(const mnet_model *model, mnet_model_info *info) {
    if (!model || !info) return MNET_ERR_INVALID_ARGUMENT;
    const mnet_model_config *c = &model->config;
    memset(info, 0, sizeof *info);
    info->architecture = mnet_arch_name(c->arch);
    info->name = c->name ? c->name : "";
    if (c->arch == MNET_ARCH_SSD)
        info->tasks = MNET_TASK_FEATURES | MNET_TASK_DETECT;
    else if (c->arch == MNET_ARCH_DEEPLAB_V3)
        info->tasks = MNET_TASK_FEATURES | MNET_TASK_SEGMENT;
    else
        info->tasks = MNET_TASK_FEATURES | (c->num_classes > 0 ? MNET_TASK_CLASSIFY : 0);
    info->depth_multiplier = c->depth_multiplier;
    info->input_width = c->input_w;
    info->input_height = c->input_h;
    info->input_channels = c->input_c;
    info->color_order = c->bgr ? "bgr" : "rgb";
    for (int i = 0; i < 3; i++) {
        info->mean[i] = c->mean[i];
        info->std[i] = c->std[i];
    }
    info->padding = padding_name(c->padding);
    info->num_classes = c->num_classes;
    info->parameters = model->plan.parameters;
    info->macs = model->plan.macs;
    info->provenance = c->provenance ? c->provenance : "";
    info->weights_dtype = model->weights_dtype;
    info->precision = model->q8 ? "int8" : "fp32"; /* int8 hook */
    if (c->arch == MNET_ARCH_SSD) {
        info->score_threshold = c->ssd.nms.score_threshold;
        info->max_detections = c->ssd.nms.max_detections;
    }
    return MNET_OK;
}

const char *mnet_model_label(const mnet_model *model, int index) {
    if (!model || !model->config.labels || index < 0 || index >= model->config.num_labels)
        return NULL;
    return model->config.labels[index];
}

static const char *step_op(const mnet_step *s) {
    switch (s->kind) {
    case MNET_STEP_CONV: return "conv2d";
    case MNET_STEP_DEPTHWISE: return "depthwise";
    case MNET_STEP_POINTWISE: return s->residual >= 0 ? "pointwise+add" : "pointwise";
    case MNET_STEP_GLOBAL_POOL: return "global_avgpool";
    case MNET_STEP_FC: return "fully_connected";
    case MNET_STEP_RESIZE: return "resize_bilinear";
    case MNET_STEP_CONCAT: return "concat";
    }
    return "?";
}

static const char *act_name(mnet_activation a) {
    return a == MNET_ACT_RELU ? "relu" : a == MNET_ACT_RELU6 ? "relu6" : "none";
}

int mnet_model_plan_size(const mnet_model *model) { return model ? model->plan.num_steps : 0; }

_Static_assert(MNET_MAX_CONCAT <= MNET_PLAN_STEP_MAX_INPUTS, "mnet_plan_step.inputs too small");

mnet_status mnet_model_plan_step(const mnet_model *model, int index, mnet_plan_step *step) {
    if (!model || !step || index < 0 || index >= model->plan.num_steps)
        return MNET_ERR_INVALID_ARGUMENT;
    const mnet_step *s = &model->plan.steps[index];
    const mnet_conv_geometry *g = &s->geom;
    step->name = model->plan.tensors[s->output].name;
    step->op = step_op(s);
    step->in_h = g->in_h;
    step->in_w = g->in_w;
    step->in_c = g->in_c;
    step->out_h = g->out_h;
    step->out_w = g->out_w;
    step->out_c = g->out_c;
    step->kernel = g->kernel_h;
    step->stride = g->stride_h;
    step->dilation = g->dilation_h;
    step->activation = act_name(s->act);
    step->macs = s->macs;
    step->parameters = s->parameters;
    const mnet_plan_tensor *t = model->plan.tensors;
    memset(step->inputs, 0, sizeof step->inputs);
    if (s->kind == MNET_STEP_CONCAT) {
        step->num_inputs = s->num_inputs;
        for (int i = 0; i < s->num_inputs && i < MNET_PLAN_STEP_MAX_INPUTS; i++)
            step->inputs[i] = t[s->inputs[i]].name;
    } else {
        step->num_inputs = 1;
        step->inputs[0] = t[s->input].name;
    }
    step->residual = s->residual >= 0 ? t[s->residual].name : NULL;
    step->weights = s->weights[0] ? s->weights : NULL;
    return MNET_OK;
}

int mnet_model_tap_count(const mnet_model *model) { return model ? model->num_taps : 0; }

const char *mnet_model_tap_name(const mnet_model *model, int index) {
    if (!model || index < 0 || index >= model->num_taps) return NULL;
    return model->tap_names[index];
}

int mnet_model_find_tap(const mnet_model *model, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < model->num_taps; i++)
        if (strcmp(model->tap_names[i], name) == 0) return model->tap_tensors[i];
    char canonical[MNET_NAME_MAX];
    if (mnet_tap_alias(model->config.arch, name, canonical, sizeof canonical) == 0)
        for (int i = 0; i < model->num_taps; i++)
            if (strcmp(model->tap_names[i], canonical) == 0) return model->tap_tensors[i];
    return -1;
}
