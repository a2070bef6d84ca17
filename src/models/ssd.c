/* SSD and SSDLite (Liu et al. 2016; Sandler et al. 2018) as the TensorFlow
 * Object Detection API builds them on MobileNets: feature maps tapped from
 * the backbone, extra stride-2 layers down to 1x1, and per feature map a
 * box-encoding and a class-score predictor. The anchors come from the file
 * (the TFLite models carry theirs) or from a generator evaluated on the
 * feature map sizes of this input size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/plan.h"

static int find_tap(mnet_plan_builder *b, const char *name) {
    int t = mnet_plan_find_tensor(b->plan, name);
    if (t < 0) {
        char canonical[MNET_NAME_MAX];
        if (mnet_tap_alias(b->config->backbone, name, canonical, sizeof canonical) == 0)
            t = mnet_plan_find_tensor(b->plan, canonical);
    }
    if (t < 0 || t == b->plan->input)
        mnet_fail(b->error, MNET_ERR_MODEL, "ssd.feature_taps: the %s backbone has no tap '%s'",
                  mnet_arch_name(b->config->backbone), name);
    return t == b->plan->input ? -1 : t;
}

/* One extra feature map: 1x1 reduce, then a stride-2 3x3 (regular, or
 * depthwise + 1x1 for SSDLite), ReLU6 after each. */
static int add_extra(mnet_plan_builder *b, int i, int x) {
    const mnet_ssd_config *ssd = &b->config->ssd;
    char tap[MNET_NAME_MAX], prefix[64];
    snprintf(tap, sizeof tap, "extra%d/reduce", i);
    snprintf(prefix, sizeof prefix, "extras.%d.reduce", i);
    int r = ssd->extra_reduce[i];
    x = mnet_plan_add_conv(b, tap, prefix, x, r, 1, 1, 1, 1, MNET_ACT_RELU6, -1);
    if (x < 0) return -1;
    snprintf(tap, sizeof tap, "extra%d/output", i);
    if (!ssd->extra_depthwise) {
        snprintf(prefix, sizeof prefix, "extras.%d.conv", i);
        return mnet_plan_add_conv(b, tap, prefix, x, ssd->extra_depth[i], 3, 2, 1, 1,
                                  MNET_ACT_RELU6, -1);
    }
    char dw_tap[MNET_NAME_MAX];
    snprintf(dw_tap, sizeof dw_tap, "extra%d/depthwise", i);
    snprintf(prefix, sizeof prefix, "extras.%d.dw", i);
    x = mnet_plan_add_conv(b, dw_tap, prefix, x, r, 3, 2, 1, r, MNET_ACT_RELU6, -1);
    if (x < 0) return -1;
    snprintf(prefix, sizeof prefix, "extras.%d.pw", i);
    return mnet_plan_add_conv(b, tap, prefix, x, ssd->extra_depth[i], 1, 1, 1, 1, MNET_ACT_RELU6,
                              -1);
}

/* A predictor with `out` channels on feature map x: name is "box"/"class". */
static int add_predictor(mnet_plan_builder *b, int layer, const char *name, int x, int out) {
    const mnet_ssd_config *ssd = &b->config->ssd;
    char tap[MNET_NAME_MAX], prefix[64];
    snprintf(tap, sizeof tap, "head%d/%s", layer, name);
    snprintf(prefix, sizeof prefix, "heads.%d.%s", layer, name);
    if (ssd->predictor == MNET_SSD_PREDICTOR_DEPTHWISE3X3) {
        char dw_tap[MNET_NAME_MAX], dw_prefix[64];
        int c = b->plan->tensors[x].c;
        snprintf(dw_tap, sizeof dw_tap, "head%d/%s_dw", layer, name);
        snprintf(dw_prefix, sizeof dw_prefix, "heads.%d.%s_dw", layer, name);
        x = mnet_plan_add_conv(b, dw_tap, dw_prefix, x, c, 3, 1, 1, c, MNET_ACT_RELU6, -1);
        if (x < 0) return -1;
    }
    int k = ssd->predictor == MNET_SSD_PREDICTOR_CONV3X3 ? 3 : 1;
    int t = mnet_plan_add_conv(b, tap, prefix, x, out, k, 1, 1, 1, MNET_ACT_NONE, -1);
    if (t >= 0) b->plan->tensors[t].is_output = 1;
    return t;
}

static int load_anchors(mnet_plan_builder *b, const int *fh, const int *fw) {
    const mnet_ssd_config *ssd = &b->config->ssd;
    mnet_detector *d = &b->plan->detector;
    size_t n = d->num_anchors;
    d->anchors = malloc(n * sizeof *d->anchors);
    if (!d->anchors) {
        mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory for %zu anchors", n);
        return -1;
    }
    if (ssd->anchor_source == MNET_ANCHORS_TENSOR) {
        const mnet_st_tensor *t = mnet_st_find(b->st, "anchors");
        if (t && (t->rank != 2 || t->shape[0] != (int64_t)n || t->shape[1] != 4)) {
            mnet_fail(b->error, MNET_ERR_MODEL,
                      "tensor 'anchors' holds %lld anchors, but the predictors produce %zu "
                      "(anchors_per_location x feature map sizes)",
                      (long long)(t->rank >= 1 ? t->shape[0] : 0), n);
            return -1;
        }
        int64_t shape[2] = {(int64_t)n, 4};
        float *a = mnet_plan_load_tensor(b, "anchors", shape, 2);
        if (!a) return -1;
        for (size_t i = 0; i < n; i++) {
            d->anchors[i].yc = a[4 * i];
            d->anchors[i].xc = a[4 * i + 1];
            d->anchors[i].h = a[4 * i + 2];
            d->anchors[i].w = a[4 * i + 3];
        }
        free(a);
        return 0;
    }
    int rc;
    size_t generated;
    if (ssd->anchor_source == MNET_ANCHORS_TF_SSD) {
        mnet_ssd_anchor_params p = ssd->tf_anchors;
        for (int l = 0; l < d->num_layers; l++) {
            p.feature_h[l] = fh[l];
            p.feature_w[l] = fw[l];
        }
        for (int l = 0; l < d->num_layers; l++)
            if (mnet_ssd_anchors_per_location(&p, l) != ssd->anchors_per_location[l]) {
                mnet_fail(b->error, MNET_ERR_MODEL,
                          "ssd: the anchor generator makes %d anchors per location on feature "
                          "map %d, anchors_per_location says %d",
                          mnet_ssd_anchors_per_location(&p, l), l, ssd->anchors_per_location[l]);
                return -1;
            }
        generated = mnet_ssd_anchor_count(&p);
        rc = generated == n ? mnet_ssd_anchors(&p, d->anchors) : -1;
    } else {
        mnet_torch_box_params p = ssd->torch_anchors;
        for (int l = 0; l < d->num_layers; l++) {
            p.feature_h[l] = fh[l];
            p.feature_w[l] = fw[l];
        }
        generated = mnet_torch_box_count(&p);
        rc = generated == n ? mnet_torch_boxes(&p, d->anchors) : -1;
    }
    if (rc != 0) {
        mnet_fail(b->error, MNET_ERR_MODEL,
                  "ssd: the anchor generator makes %zu anchors, the predictors produce %zu",
                  generated, n);
        return -1;
    }
    return 0;
}

int mnet_build_ssd(mnet_plan_builder *b) {
    const mnet_model_config *cfg = b->config;
    const mnet_ssd_config *ssd = &cfg->ssd;
    int last = cfg->backbone == MNET_ARCH_MOBILENET_V1 ? mnet_build_v1_backbone(b)
                                                       : mnet_build_v2_backbone(b);
    if (last < 0) return -1;
    int maps[MNET_SSD_MAX_LAYERS];
    int layers = 0;
    for (int i = 0; i < ssd->num_taps; i++)
        if ((maps[layers++] = find_tap(b, ssd->feature_taps[i])) < 0) return -1;
    for (int i = 0; i < ssd->num_extra; i++) {
        maps[layers] = add_extra(b, i, maps[layers - 1]);
        if (maps[layers++] < 0) return -1;
    }
    mnet_detector *d = &b->plan->detector;
    d->num_layers = layers;
    int classes = cfg->num_classes + ssd->nms.background_columns;
    int fh[MNET_SSD_MAX_LAYERS], fw[MNET_SSD_MAX_LAYERS];
    for (int l = 0; l < layers; l++) {
        const mnet_plan_tensor *m = &b->plan->tensors[maps[l]];
        int a = ssd->anchors_per_location[l];
        fh[l] = m->h;
        fw[l] = m->w;
        d->box_tensor[l] = add_predictor(b, l, "box", maps[l], a * 4);
        if (d->box_tensor[l] < 0) return -1;
        d->class_tensor[l] = add_predictor(b, l, "class", maps[l], a * classes);
        if (d->class_tensor[l] < 0) return -1;
        /* m may dangle now: adding predictors can move the tensor array */
        d->layer_anchors[l] = (size_t)fh[l] * (size_t)fw[l] * (size_t)a;
        d->num_anchors += d->layer_anchors[l];
    }
    b->plan->output = d->class_tensor[layers - 1];
    return load_anchors(b, fh, fw);
}
