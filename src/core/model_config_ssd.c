/* The "ssd" object of an SSD model's config: feature taps, extra layers,
 * predictors, anchors, box coder, scores and NMS (docs/MODEL_FORMAT.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/config_fields.h"
#include "core/model_config.h"

static mnet_status read_float(const mnet_json *object, const char *key, const char *field,
                              double lo, double hi, float fallback, float *out,
                              mnet_error *error) {
    const mnet_json *node = mnet_json_get(object, key);
    if (!node) {
        *out = fallback;
        return MNET_OK;
    }
    int ok;
    double v = mnet_json_number(node, &ok);
    if (!ok || !isfinite(v) || v < lo || v > hi)
        return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: '%s' must be a number in [%g, %g]",
                         field, lo, hi);
    *out = (float)v;
    return MNET_OK;
}

/* An array of 1..max numbers in [lo, hi]. */
static mnet_status read_floats(const mnet_json *node, const char *field, int max, double lo,
                               double hi, float *out, int *count, mnet_error *error) {
    size_t n = mnet_json_size(node);
    if (mnet_json_type_of(node) != MNET_JSON_ARRAY || n < 1 || n > (size_t)max)
        return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: '%s' must be an array of 1..%d numbers",
                         field, max);
    for (size_t i = 0; i < n; i++) {
        int ok;
        double v = mnet_json_number(mnet_json_at(node, i), &ok);
        if (!ok || !isfinite(v) || v < lo || v > hi)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: '%s[%zu]' must be a number in [%g, %g]", field, i, lo,
                             hi);
        out[i] = (float)v;
    }
    *count = (int)n;
    return MNET_OK;
}

static mnet_status read_taps(const mnet_json *ssd, mnet_ssd_config *s, mnet_error *error) {
    const mnet_json *taps = mnet_json_get(ssd, "feature_taps");
    size_t n = mnet_json_size(taps);
    if (mnet_json_type_of(taps) != MNET_JSON_ARRAY || n < 1 || n > 2)
        return mnet_cfg_bad_field(error, "ssd.feature_taps", "an array of 1 or 2 tap names");
    for (size_t i = 0; i < n; i++) {
        const char *name = mnet_json_string(mnet_json_at(taps, i));
        if (!name || !name[0] || strlen(name) >= MNET_TAP_NAME_MAX)
            return mnet_cfg_bad_field(error, "ssd.feature_taps", "an array of tap names");
        snprintf(s->feature_taps[i], sizeof s->feature_taps[i], "%s", name);
    }
    s->num_taps = (int)n;
    return MNET_OK;
}

static mnet_status read_extras(const mnet_json *ssd, mnet_ssd_config *s, mnet_error *error) {
    const mnet_json *extras = mnet_json_get(ssd, "extra_layers");
    if (!extras) return MNET_OK;
    size_t n = mnet_json_size(extras);
    if (mnet_json_type_of(extras) != MNET_JSON_ARRAY || n > MNET_SSD_MAX_EXTRA)
        return mnet_cfg_bad_field(error, "ssd.extra_layers", "an array of at most 6 [reduce, depth]");
    for (size_t i = 0; i < n; i++) {
        const mnet_json *pair = mnet_json_at(extras, i);
        int ok1 = 0, ok2 = 0;
        double r = 0, d = 0;
        if (mnet_json_type_of(pair) == MNET_JSON_ARRAY && mnet_json_size(pair) == 2) {
            r = mnet_json_number(mnet_json_at(pair, 0), &ok1);
            d = mnet_json_number(mnet_json_at(pair, 1), &ok2);
        }
        if (!ok1 || !ok2 || r != floor(r) || d != floor(d) || r < 1 || d < 1 || r > 65536 ||
            d > 65536)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: 'ssd.extra_layers[%zu]' must be [reduce, depth] with "
                             "integers in 1..65536",
                             i);
        s->extra_reduce[i] = (int)r;
        s->extra_depth[i] = (int)d;
    }
    s->num_extra = (int)n;
    return MNET_OK;
}

static mnet_status read_anchors(const mnet_json *ssd, mnet_ssd_config *s, int layers,
                                mnet_error *error) {
    const mnet_json *node = mnet_json_get(ssd, "anchors");
    const char *text = mnet_json_string(node);
    if (!node || (text && strcmp(text, "tensor") == 0)) {
        s->anchor_source = MNET_ANCHORS_TENSOR;
        return MNET_OK;
    }
    if (mnet_json_type_of(node) != MNET_JSON_OBJECT)
        return mnet_cfg_bad_field(error, "ssd.anchors", "\"tensor\" or a generator object");
    static const char *const types[] = {"tf_ssd", "torchvision", NULL};
    int type = 0;
    if (!mnet_json_get(node, "type"))
        return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: 'ssd.anchors.type' missing");
    mnet_status st = mnet_cfg_read_choice(node, "type", "ssd.anchors.type", types, 0, &type, error);
    if (st != MNET_OK) return st;
    if (type == 0) {
        mnet_ssd_anchor_params *p = &s->tf_anchors;
        s->anchor_source = MNET_ANCHORS_TF_SSD;
        p->num_layers = layers;
        st = read_float(node, "min_scale", "ssd.anchors.min_scale", 1e-4, 10, 0.2f, &p->min_scale, error);
        if (st == MNET_OK)
            st = read_float(node, "max_scale", "ssd.anchors.max_scale", 1e-4, 10, 0.95f,
                            &p->max_scale, error);
        const mnet_json *ratios = mnet_json_get(node, "aspect_ratios");
        if (st == MNET_OK && ratios)
            st = read_floats(ratios, "ssd.anchors.aspect_ratios", MNET_SSD_MAX_RATIOS, 1e-3, 1e3,
                             p->aspect_ratios, &p->num_aspect_ratios, error);
        else if (st == MNET_OK) {
            static const float defaults[5] = {1.0f, 2.0f, 0.5f, 3.0f, 0.3333f};
            memcpy(p->aspect_ratios, defaults, sizeof defaults);
            p->num_aspect_ratios = 5;
        }
        if (st == MNET_OK)
            st = read_float(node, "interpolated_scale_aspect_ratio",
                            "ssd.anchors.interpolated_scale_aspect_ratio", 0, 1e3, 1.0f,
                            &p->interpolated_scale_aspect_ratio, error);
        int reduce = 1;
        const mnet_json *r = mnet_json_get(node, "reduce_boxes_in_lowest_layer");
        if (r) {
            mnet_json_type t = mnet_json_type_of(r);
            if (t != MNET_JSON_TRUE && t != MNET_JSON_FALSE)
                return mnet_cfg_bad_field(error, "ssd.anchors.reduce_boxes_in_lowest_layer",
                                          "true or false");
            reduce = t == MNET_JSON_TRUE;
        }
        p->reduce_boxes_in_lowest_layer = reduce;
        p->base_anchor_height = p->base_anchor_width = 1.0f;
        if (st == MNET_OK)
            st = read_float(node, "offset", "ssd.anchors.offset", 0, 1, 0.5f, &p->offset, error);
        return st;
    }
    mnet_torch_box_params *p = &s->torch_anchors;
    s->anchor_source = MNET_ANCHORS_TORCHVISION;
    p->num_layers = layers;
    st = read_float(node, "min_ratio", "ssd.anchors.min_ratio", 1e-4, 10, 0.2f, &p->min_ratio, error);
    if (st == MNET_OK)
        st = read_float(node, "max_ratio", "ssd.anchors.max_ratio", 1e-4, 10, 0.95f, &p->max_ratio,
                        error);
    const mnet_json *ratios = mnet_json_get(node, "aspect_ratios");
    if (st == MNET_OK) {
        if (mnet_json_type_of(ratios) != MNET_JSON_ARRAY || mnet_json_size(ratios) != (size_t)layers)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: 'ssd.anchors.aspect_ratios' must hold one array per "
                             "feature map (%d)",
                             layers);
        for (int l = 0; l < layers && st == MNET_OK; l++)
            st = read_floats(mnet_json_at(ratios, (size_t)l), "ssd.anchors.aspect_ratios[]",
                             MNET_SSD_MAX_RATIOS, 1e-3, 1e3, p->ratios[l], &p->num_ratios[l], error);
    }
    const mnet_json *clip = mnet_json_get(node, "clip");
    p->clip = clip ? mnet_json_type_of(clip) == MNET_JSON_TRUE : 1;
    return st;
}

static mnet_status read_nms(const mnet_json *ssd, mnet_ssd_config *s, mnet_error *error) {
    const mnet_json *nms;
    mnet_status st = mnet_cfg_optional_object(ssd, "nms", &nms, error);
    if (st != MNET_OK) return st;
    mnet_nms_params *p = &s->nms;
    static const char *const variants[] = {"fast", "regular", NULL};
    st = mnet_cfg_read_choice(nms, "variant", "ssd.nms.variant", variants, 0, &p->regular, error);
    if (st == MNET_OK)
        st = read_float(nms, "iou_threshold", "ssd.nms.iou_threshold", 0, 1, 0.6f,
                        &p->iou_threshold, error);
    if (st == MNET_OK)
        st = read_float(nms, "score_threshold", "ssd.nms.score_threshold", 0, 1, 1e-8f,
                        &p->score_threshold, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(nms, "max_detections", "ssd.nms.max_detections", 0, 1, 10000, 100,
                               &p->max_detections, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(nms, "max_classes_per_detection",
                               "ssd.nms.max_classes_per_detection", 0, 1, 100, 1,
                               &p->max_classes_per_detection, error);
    if (st == MNET_OK)
        st = mnet_cfg_read_int(nms, "detections_per_class", "ssd.nms.detections_per_class", 0,
                               p->regular ? 1 : 0, 10000, 100, &p->detections_per_class, error);
    return st;
}

mnet_status mnet_ssd_config_parse(const mnet_json *config, mnet_model_config *c,
                                  mnet_error *error) {
    const mnet_json *ssd;
    mnet_status st = mnet_cfg_optional_object(config, "ssd", &ssd, error);
    if (st != MNET_OK) return st;
    if (!ssd) return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: 'ssd' missing");
    if (c->num_classes < 1)
        return mnet_fail(error, MNET_ERR_MODEL, "mnet.config: an SSD needs 'num_classes' >= 1");
    mnet_ssd_config *s = &c->ssd;
    st = read_taps(ssd, s, error);
    if (st == MNET_OK) st = read_extras(ssd, s, error);
    int layers = s->num_taps + s->num_extra;
    if (st == MNET_OK) {
        const mnet_json *dw = mnet_json_get(ssd, "extra_depthwise");
        s->extra_depthwise = dw && mnet_json_type_of(dw) == MNET_JSON_TRUE;
        static const char *const predictors[] = {"conv1x1", "conv3x3", "depthwise3x3", NULL};
        int pred = 0;
        st = mnet_cfg_read_choice(ssd, "predictor", "ssd.predictor", predictors, 0, &pred, error);
        s->predictor = (mnet_ssd_predictor)pred;
    }
    if (st == MNET_OK) {
        const mnet_json *apl = mnet_json_get(ssd, "anchors_per_location");
        if (mnet_json_type_of(apl) != MNET_JSON_ARRAY || mnet_json_size(apl) != (size_t)layers)
            return mnet_fail(error, MNET_ERR_MODEL,
                             "mnet.config: 'ssd.anchors_per_location' must hold %d integers (one "
                             "per feature map)",
                             layers);
        for (int l = 0; l < layers; l++) {
            int ok;
            double v = mnet_json_number(mnet_json_at(apl, (size_t)l), &ok);
            if (!ok || v != floor(v) || v < 1 || v > 64)
                return mnet_cfg_bad_field(error, "ssd.anchors_per_location", "integers in 1..64");
            s->anchors_per_location[l] = (int)v;
        }
    }
    if (st == MNET_OK) st = read_anchors(ssd, s, layers, error);
    if (st == MNET_OK) {
        const mnet_json *coder = mnet_json_get(ssd, "box_coder");
        float scales[4] = {10, 10, 5, 5};
        int n = 4;
        if (coder) st = read_floats(coder, "ssd.box_coder", 4, 1e-6, 1e6, scales, &n, error);
        if (st == MNET_OK && n != 4) st = mnet_cfg_bad_field(error, "ssd.box_coder", "4 numbers");
        s->coder.y_scale = scales[0];
        s->coder.x_scale = scales[1];
        s->coder.h_scale = scales[2];
        s->coder.w_scale = scales[3];
    }
    int order = 0, score = 0;
    if (st == MNET_OK) {
        static const char *const orders[] = {"yxhw", "xywh", NULL};
        st = mnet_cfg_read_choice(ssd, "box_order", "ssd.box_order", orders, 0, &order, error);
        s->coder.xy_order = order;
        /* torchvision clamps decoded log-sizes at log(1000 / 16); TF does not */
        s->coder.size_log_clip = order ? logf(1000.0f / 16.0f) : 0.0f;
    }
    if (st == MNET_OK) {
        static const char *const scores[] = {"sigmoid", "softmax", NULL};
        st = mnet_cfg_read_choice(ssd, "score", "ssd.score", scores, 0, &score, error);
        s->nms.activation = score ? MNET_SCORE_SOFTMAX : MNET_SCORE_SIGMOID;
    }
    if (st == MNET_OK) {
        const mnet_json *bg = mnet_json_get(ssd, "background_class");
        s->nms.background_columns = !bg || mnet_json_type_of(bg) == MNET_JSON_TRUE;
        s->nms.num_classes = c->num_classes;
        st = read_nms(ssd, s, error);
    }
    return st;
}
