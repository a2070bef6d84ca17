/* Building the uint8 plan from the float plan and the file's quantization. */
#include "int8/q8_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "int8/q8_plan_ops.h"

typedef struct q8_builder {
    mnet_q8_plan *q;
    const mnet_plan *plan;
    const mnet_safetensors *st;
    const mnet_model_config *config;
    const mnet_json *tensors, *activations;
    mnet_error *error;
    /* 128 for the int8_per_channel scheme: int8 activations run as uint8
     * (values and zero points + 128), which leaves q - zero_point unchanged */
    int32_t zero_point_offset;
    int pool_is_mean; /* the global pooling is TFLite's MEAN */
} q8_builder;

static void *own(q8_builder *b, size_t bytes) {
    mnet_q8_plan *q = b->q;
    if (q->num_owned == q->cap_owned) {
        int cap = q->cap_owned ? q->cap_owned * 2 : 64;
        void **p = realloc(q->owned, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        q->owned = p;
        q->cap_owned = cap;
    }
    void *m = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (m) q->owned[q->num_owned++] = m;
    return m;
}

static int read_quant(q8_builder *b, const mnet_json *node, const char *what, mnet_q8_quant *out) {
    int ok_s = 0, ok_z = 0;
    double scale = mnet_json_number(mnet_json_get(node, "scale"), &ok_s);
    double zp = mnet_json_number(mnet_json_get(node, "zero_point"), &ok_z);
    double lo = -b->zero_point_offset, hi = 255 - b->zero_point_offset;
    if (!node || !ok_s || !ok_z || !(scale > 0) || zp < lo || zp > hi || zp != (int)zp) {
        mnet_fail(b->error, MNET_ERR_UNSUPPORTED,
                  "mnet.quantization: %s has no valid %s scale and zero_point", what,
                  b->zero_point_offset ? "int8" : "uint8");
        return -1;
    }
    out->scale = (float)scale; /* the file's scales are float32 values */
    out->zero_point = (int32_t)zp + b->zero_point_offset;
    return 0;
}

static int activation_quant(q8_builder *b, const char *key, mnet_q8_quant *out) {
    const mnet_json *node = mnet_json_get(b->activations, key);
    char what[96];
    snprintf(what, sizeof what, "activation '%s'%s", key, node ? "" : " (missing)");
    return read_quant(b, node, what, out);
}

/* The raw tensor `<prefix>.<kind>` and its parameters: one scale, or one per
 * output channel (`channels` of them, axis 0). Weights are U8 with a zero
 * point in 0..255, or I8 symmetric (zero point 0, returned as 128: they run
 * as uint8 w + 128); biases I32 with zero point 0. *scales receives the JSON
 * array of scales and *num_scales its size. */
static const mnet_st_tensor *raw_tensor(q8_builder *b, const char *prefix, const char *kind,
                                        int is_weight, int64_t count, int channels,
                                        mnet_q8_quant *quant, const mnet_json **scales,
                                        int *num_scales) {
    char key[MNET_PREFIX_MAX + 16];
    snprintf(key, sizeof key, "%s.%s", prefix, kind);
    const mnet_json *entry = mnet_json_get(b->tensors, key);
    const mnet_json *raw = mnet_json_get(entry, "raw");
    *scales = mnet_json_get(entry, "scale");
    const mnet_json *zps = mnet_json_get(entry, "zero_point");
    size_t n = mnet_json_size(*scales);
    if (!raw || mnet_json_type_of(raw) != MNET_JSON_STRING ||
        mnet_json_type_of(*scales) != MNET_JSON_ARRAY ||
        mnet_json_type_of(zps) != MNET_JSON_ARRAY || mnet_json_size(zps) != n ||
        (n != 1 && n != (size_t)channels)) {
        mnet_fail(b->error, MNET_ERR_UNSUPPORTED,
                  "mnet.quantization: tensor '%s' lacks a raw tensor with one scale and zero "
                  "point, or one per output channel (%d)", key, channels);
        return NULL;
    }
    *num_scales = (int)n;
    const char *raw_name = mnet_json_string(raw);
    const mnet_st_tensor *t = mnet_st_find(b->st, raw_name);
    mnet_dtype dtype = !is_weight ? MNET_DTYPE_I32
                       : (t && t->dtype == MNET_DTYPE_I8) ? MNET_DTYPE_I8 : MNET_DTYPE_U8;
    if (!t || t->dtype != dtype || t->count != count) {
        mnet_fail(b->error, MNET_ERR_FORMAT,
                  "raw tensor '%s': expected %s with %lld values, found %s", raw_name,
                  is_weight ? "U8 or I8" : "I32", (long long)count,
                  t ? mnet_dtype_name(t->dtype) : "nothing");
        if (t) snprintf(b->error->message + strlen(b->error->message),
                        sizeof b->error->message - strlen(b->error->message),
                        " with %lld values", (long long)t->count);
        return NULL;
    }
    /* Per-channel weights must share one zero point (only the multiplier
     * varies per channel); I8 weights and all biases are symmetric. */
    int ok_z = 0;
    double zp0 = mnet_json_number(mnet_json_at(zps, 0), &ok_z);
    for (size_t i = 0; i < n && ok_z; i++) {
        int ok_s = 0, ok = 0;
        double scale = mnet_json_number(mnet_json_at(*scales, i), &ok_s);
        double zp = mnet_json_number(mnet_json_at(zps, i), &ok);
        int zp_ok = dtype == MNET_DTYPE_U8 ? (zp >= 0 && zp <= 255 && zp == (int)zp) : zp == 0;
        if (!ok_s || !ok || !(scale > 0) || !zp_ok || zp != zp0) ok_z = 0;
    }
    if (!ok_z) {
        mnet_fail(b->error, MNET_ERR_UNSUPPORTED,
                  "mnet.quantization: tensor '%s' has an invalid scale or zero point (%s)", key,
                  dtype == MNET_DTYPE_U8 ? "uint8: one zero point in 0..255"
                                         : "symmetric: zero point 0");
        return NULL;
    }
    int ok_s = 0;
    quant->scale = (float)mnet_json_number(mnet_json_at(*scales, 0), &ok_s);
    quant->zero_point = dtype == MNET_DTYPE_I8 ? 128 : (int32_t)zp0;
    return t;
}

/* Per output channel multipliers input_scale * weight_scale[c] /
 * output_scale, computed in double from the float32 scales as TFLite's
 * PopulateConvolutionQuantizationParams does for per-channel weights. */
static const mnet_requant *channel_requants(q8_builder *b, const mnet_json *scales, int channels,
                                            float input_scale, float output_scale) {
    mnet_requant *r = own(b, (size_t)channels * sizeof *r);
    if (!r) return NULL;
    for (int c = 0; c < channels; c++) {
        int ok = 0;
        float weight_scale = (float)mnet_json_number(mnet_json_at(scales, (size_t)c), &ok);
        r[c] = mnet_requant_from_real((double)input_scale * (double)weight_scale /
                                      (double)output_scale);
    }
    return r;
}


/* 36 pixels: six 6-pixel tiles */
enum { PATCH_BAND_PIXELS = 36 };

int mnet_q8_patch_band_rows(const mnet_conv_geometry *g) {
    int rows = (PATCH_BAND_PIXELS + g->out_w - 1) / g->out_w;
    return rows < 1 ? 1 : rows > g->out_h ? g->out_h : rows;
}

static int build_conv_step(q8_builder *b, const mnet_step *s, mnet_q8_step *qs) {
    mnet_q8_plan *q = b->q;
    const char *tap = b->plan->tensors[s->output].name;
    const char *prefix = s->weights;
    const mnet_conv_geometry *g = &s->geom;
    int64_t wcount = (int64_t)g->out_c * g->kernel_h * g->kernel_w * (g->in_c / g->groups);
    mnet_q8_quant wq, bq;
    const mnet_json *wscales, *bscales;
    int num_wscales, num_bscales;
    const mnet_st_tensor *w = raw_tensor(b, prefix, "weight", 1, wcount, g->out_c, &wq,
                                         &wscales, &num_wscales);
    if (!w) return -1;
    const mnet_st_tensor *bias = raw_tensor(b, prefix, "bias", 0, g->out_c, g->out_c, &bq,
                                            &bscales, &num_bscales);
    if (!bias) return -1;
    uint8_t *wcopy = own(b, (size_t)wcount);
    int32_t *bcopy = own(b, (size_t)g->out_c * sizeof(int32_t));
    if (!wcopy || !bcopy) {
        mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory for int8 weights");
        return -1;
    }
    if (w->dtype == MNET_DTYPE_I8) { /* symmetric int8 -> uint8 w + 128, zero point 128 */
        const int8_t *src = w->data;
        for (int64_t i = 0; i < wcount; i++) wcopy[i] = (uint8_t)(src[i] + 128);
    } else {
        memcpy(wcopy, w->data, (size_t)wcount);
    }
    memcpy(bcopy, bias->data, (size_t)g->out_c * sizeof(int32_t)); /* file is little-endian */
    qs->weights = wcopy;
    qs->bias = bcopy;

    mnet_q8_quant in = q->quant[s->input], out = q->quant[s->output];
    if (s->residual >= 0) {
        /* the projection has its own output quantization before the ADD */
        char key[MNET_NAME_MAX + 16];
        int block = -1;
        if (sscanf(tap, "block%d/", &block) != 1) block = -1;
        snprintf(key, sizeof key, "block%d/project", block);
        mnet_q8_quant pre;
        if (activation_quant(b, key, &pre) != 0) {
            mnet_error_prefix(b->error, "layer '%s' has a residual add: ", tap);
            return -1;
        }
        qs->add = mnet_q8_add_params_init(pre.scale, pre.zero_point, q->quant[s->residual].scale,
                                          q->quant[s->residual].zero_point, out.scale,
                                          out.zero_point, MNET_ACT_NONE);
        size_t bytes = (size_t)g->out_h * g->out_w * g->out_c;
        if (bytes > q->preadd_bytes) q->preadd_bytes = bytes;
        out = pre;
    }
    qs->conv = mnet_q8_conv_params_init(in.scale, in.zero_point, wq.scale, wq.zero_point,
                                        out.scale, out.zero_point, s->act);
    if (num_wscales > 1) {
        qs->conv.channel_requant = channel_requants(b, wscales, g->out_c, in.scale, out.scale);
        if (!qs->conv.channel_requant) goto oom;
    }

    const mnet_q8_kernels *k = q->kernels;
    int is_pointwise = s->kind == MNET_STEP_POINTWISE || s->kind == MNET_STEP_FC;
    /* a dense convolution runs as a 1x1 over its patches (OHWI = patch order),
     * unless the table has a kernel for its shape (the stem) */
    int patch = g->kernel_h * g->kernel_w * g->in_c;
    int as_patches = s->kind == MNET_STEP_CONV && g->groups == 1;
    size_t stem_bytes = as_patches && k->stem_pack_bytes ? k->stem_pack_bytes(g) : 0;
    if (stem_bytes) {
        void *packed = own(b, stem_bytes);
        int32_t *pb = own(b, (size_t)(g->out_c + 64) * sizeof(int32_t));
        if (!packed || !pb) goto oom;
        k->stem_pack(g, &qs->conv, wcopy, bcopy, packed, pb);
        qs->packed = packed;
        qs->packed_bias = pb;
    } else if ((is_pointwise || as_patches) && k->pointwise_pack) {
        int in_c = is_pointwise ? g->in_c : patch;
        void *packed = own(b, k->pointwise_pack_bytes(in_c, g->out_c));
        int32_t *pb = own(b, (size_t)(g->out_c + 64) * sizeof(int32_t));
        if (!packed || !pb) goto oom;
        k->pointwise_pack(in_c, g->out_c, &qs->conv, wcopy, bcopy, packed, pb);
        size_t band_bytes = (size_t)patch * g->out_w * (size_t)mnet_q8_patch_band_rows(g);
        if (as_patches && band_bytes > q->patch_bytes) q->patch_bytes = band_bytes;
        qs->packed = packed;
        qs->packed_bias = pb;
    } else if (s->kind == MNET_STEP_DEPTHWISE && k->depthwise_pack) {
        void *packed = own(b, k->depthwise_pack_bytes(g));
        int32_t *pb = own(b, (size_t)(g->out_c + 64) * sizeof(int32_t));
        if (!packed || !pb) goto oom;
        k->depthwise_pack(g, &qs->conv, wcopy, bcopy, packed, pb);
        qs->packed = packed;
        qs->packed_bias = pb;
    }
    return 0;
oom:
    mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory packing int8 weights");
    return -1;
}

static int build_step(q8_builder *b, const mnet_step *s, mnet_q8_step *qs) {
    mnet_q8_plan *q = b->q;
    memset(qs, 0, sizeof *qs);
    qs->kind = s->kind;
    qs->input = s->input;
    qs->output = s->output;
    qs->residual = s->residual;
    qs->geom = s->geom;
    qs->macs = s->macs;
    switch (s->kind) {
    case MNET_STEP_CONV:
    case MNET_STEP_DEPTHWISE:
    case MNET_STEP_POINTWISE:
    case MNET_STEP_FC:
        return build_conv_step(b, s, qs);
    case MNET_STEP_GLOBAL_POOL: {
        mnet_q8_quant in = q->quant[s->input], out = q->quant[s->output];
        if (b->pool_is_mean) {
            qs->pool_is_mean = 1;
            qs->mean = mnet_q8_mean_params_init(in.scale, in.zero_point, out.scale,
                                                out.zero_point);
            return 0;
        }
        if (in.scale != out.scale || in.zero_point != out.zero_point) {
            mnet_fail(b->error, MNET_ERR_UNSUPPORTED,
                      "int8: global pooling '%s' changes quantization (%g, %d) -> (%g, %d)",
                      b->plan->tensors[s->output].name, (double)in.scale, (int)in.zero_point,
                      (double)out.scale, (int)out.zero_point);
            return -1;
        }
        mnet_q8_activation_range(s->act, out.scale, out.zero_point, &qs->out_min, &qs->out_max);
        return 0;
    }
    case MNET_STEP_CONCAT: /* q8_plan_ops.c */
        return mnet_q8_build_concat(q, b->plan, s, qs, b->error);
    case MNET_STEP_RESIZE:
        return mnet_q8_build_resize(q, b->plan, s, qs, b->error);
    default:
        mnet_fail(b->error, MNET_ERR_UNSUPPORTED, "int8: step '%s' (kind %d) is not supported yet",
                  b->plan->tensors[s->output].name, (int)s->kind);
        return -1;
    }
}

static int load_tensor_quant(q8_builder *b, const mnet_json *root) {
    const mnet_plan *plan = b->plan;
    for (int i = 0; i < plan->num_tensors; i++) {
        if (i == plan->input) {
            if (read_quant(b, mnet_json_get(root, "input"), "'input'", &b->q->quant[i]) != 0)
                return -1;
        } else if (activation_quant(b, plan->tensors[i].name, &b->q->quant[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* A classifier's final uint8 SOFTMAX ("probabilities" in the metadata) on
 * the plan output. Only the form TFLite produces (scale 1/256, zero point 0
 * once in the uint8 domain, beta 1 as in every bundled model) is taken;
 * anything else leaves the probabilities to the float softmax of the API. */
static void build_softmax(q8_builder *b, const mnet_json *node) {
    const mnet_model_config *c = b->config;
    if (!node || c->num_classes <= 0 || c->arch != c->backbone) return;
    int ok_s = 0, ok_z = 0;
    double scale = mnet_json_number(mnet_json_get(node, "scale"), &ok_s);
    double zp = mnet_json_number(mnet_json_get(node, "zero_point"), &ok_z);
    const mnet_plan_tensor *t = &b->plan->tensors[b->plan->output];
    size_t n = (size_t)t->h * (size_t)t->w * (size_t)t->c;
    mnet_q8_quant in = b->q->quant[b->plan->output];
    if (ok_s && ok_z && (float)scale == 1.0f / 256.0f && zp + b->zero_point_offset == 0 &&
        n == (size_t)c->num_classes && n <= MNET_Q8_SOFTMAX_MAX_ROW &&
        mnet_q8_softmax_params_init(in.scale, in.zero_point, 1.0f, &b->q->softmax) == 0)
        b->q->has_softmax = 1;
}

static mnet_status build(q8_builder *b, const char *text) {
    mnet_json_doc *doc = NULL;
    mnet_status status = mnet_json_parse(text, strlen(text), &doc, b->error);
    if (status != MNET_OK) {
        mnet_error_prefix(b->error, "mnet.quantization: ");
        return status;
    }
    const mnet_json *root = mnet_json_root(doc);
    const char *scheme = mnet_json_string(mnet_json_get(root, "scheme"));
    b->tensors = mnet_json_get(root, "tensors");
    b->activations = mnet_json_get(root, "activations");
    const char *pool_op = mnet_json_string(mnet_json_get(root, "pool_op"));
    b->pool_is_mean = pool_op && strcmp(pool_op, "mean") == 0;
    if (scheme && strcmp(scheme, "int8_per_channel") == 0) b->zero_point_offset = 128;
    if (!scheme || (strcmp(scheme, "uint8_asymmetric") != 0 && !b->zero_point_offset)) {
        status = mnet_fail(b->error, MNET_ERR_UNSUPPORTED,
                           "int8: quantization scheme '%s' is not supported (uint8_asymmetric and "
                           "int8_per_channel are)", scheme ? scheme : "(none)");
    } else if (pool_op && !b->pool_is_mean && strcmp(pool_op, "average_pool") != 0) {
        status = mnet_fail(b->error, MNET_ERR_UNSUPPORTED,
                           "mnet.quantization: pool_op '%s' is not 'mean' or 'average_pool'",
                           pool_op);
    } else if (mnet_json_type_of(b->tensors) != MNET_JSON_OBJECT ||
               mnet_json_type_of(b->activations) != MNET_JSON_OBJECT) {
        status = mnet_fail(b->error, MNET_ERR_FORMAT,
                           "mnet.quantization: 'tensors' and 'activations' must be objects");
    } else if (load_tensor_quant(b, root) != 0) {
        status = b->error->status;
    } else {
        for (int i = 0; i < b->plan->num_steps && status == MNET_OK; i++)
            if (build_step(b, &b->plan->steps[i], &b->q->steps[i]) != 0) status = b->error->status;
        if (status == MNET_OK &&
            mnet_q8_build_ssd_exports(b->q, b->plan, b->activations, b->error) != 0)
            status = b->error->status;
        if (status == MNET_OK) build_softmax(b, mnet_json_get(root, "probabilities"));
    }
    mnet_json_free(doc);
    return status;
}

mnet_status mnet_q8_plan_build(const mnet_plan *plan, const mnet_safetensors *st,
                               const mnet_model_config *config, const char *isa,
                               mnet_q8_plan **out, mnet_error *error) {
    *out = NULL;
    const char *text = mnet_st_metadata(st, "mnet.quantization");
    if (!text)
        return mnet_fail(error, MNET_ERR_UNSUPPORTED,
                         "int8: the model has no mnet.quantization (it was not converted from "
                         "a quantized model)");
    const mnet_q8_kernels *kernels = mnet_q8_kernels_select(isa);
    if (!kernels)
        return mnet_fail(error, MNET_ERR_UNSUPPORTED, "int8: kernel set '%s' is not available",
                         isa ? isa : "");
    mnet_q8_plan *q = calloc(1, sizeof *q);
    if (!q) return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    q->kernels = kernels;
    q->num_steps = plan->num_steps;
    q->num_tensors = plan->num_tensors;
    q->steps = calloc((size_t)(plan->num_steps ? plan->num_steps : 1), sizeof *q->steps);
    q->quant = calloc((size_t)(plan->num_tensors ? plan->num_tensors : 1), sizeof *q->quant);
    if (!q->steps || !q->quant) {
        mnet_q8_plan_free(q);
        return mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory");
    }
    q8_builder b = {q, plan, st, config, NULL, NULL, error, 0, 0};
    mnet_status status = build(&b, text);
    if (status != MNET_OK) {
        mnet_q8_plan_free(q);
        return status;
    }
    *out = q;
    return MNET_OK;
}

void *mnet_q8_plan_own(mnet_q8_plan *q, size_t bytes) {
    q8_builder b = {0};
    b.q = q;
    return own(&b, bytes);
}

void mnet_q8_plan_free(mnet_q8_plan *q) {
    if (!q) return;
    for (int i = 0; i < q->num_owned; i++) free(q->owned[i]);
    free(q->owned);
    free(q->steps);
    free(q->quant);
    free(q);
}
