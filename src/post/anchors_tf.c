/* TF Object Detection API `ssd_anchor_generator`: create_ssd_anchors builds
 * the per-layer (scale, aspect ratio) lists, MultipleGridAnchorGenerator
 * tiles them with GridAnchorGenerator's tile_anchors. TF evaluates the tiling
 * in float32 (scales come from Python doubles), so this does the same to stay
 * within rounding of the anchors stored in the exported TFLite files. */
#include <math.h>

#include "post/detection.h"

static int params_valid(const mnet_ssd_anchor_params *p) {
    if (!p || p->num_layers < 2 || p->num_layers > MNET_SSD_MAX_LAYERS) return 0;
    if (p->num_aspect_ratios < 1 || p->num_aspect_ratios > MNET_SSD_MAX_RATIOS) return 0;
    if (!(p->min_scale > 0) || !(p->max_scale > 0)) return 0;
    if (!(p->base_anchor_height > 0) || !(p->base_anchor_width > 0)) return 0;
    if (!(p->interpolated_scale_aspect_ratio >= 0)) return 0;
    if (!(p->offset >= 0 && p->offset <= 1)) return 0;
    for (int i = 0; i < p->num_aspect_ratios; i++)
        if (!(p->aspect_ratios[i] > 0)) return 0;
    for (int l = 0; l < p->num_layers; l++)
        if (p->feature_h[l] < 1 || p->feature_w[l] < 1 || p->feature_h[l] > 65536 ||
            p->feature_w[l] > 65536)
            return 0;
    return 1;
}

static int reduced_layer(const mnet_ssd_anchor_params *p, int layer) {
    return layer == 0 && p->reduce_boxes_in_lowest_layer;
}

/* Layer k's scale; layer num_layers is the trailing 1.0 that only feeds the
 * interpolated anchor of the last layer. */
static double layer_scale(const mnet_ssd_anchor_params *p, int k) {
    if (k >= p->num_layers) return 1.0;
    return (double)p->min_scale +
           ((double)p->max_scale - (double)p->min_scale) * k / (p->num_layers - 1);
}

int mnet_ssd_anchors_per_location(const mnet_ssd_anchor_params *p, int layer) {
    if (!params_valid(p) || layer < 0 || layer >= p->num_layers) return 0;
    if (reduced_layer(p, layer)) return 3;
    return p->num_aspect_ratios + (p->interpolated_scale_aspect_ratio > 0 ? 1 : 0);
}

size_t mnet_ssd_anchor_count(const mnet_ssd_anchor_params *p) {
    if (!params_valid(p)) return 0;
    size_t total = 0;
    for (int l = 0; l < p->num_layers; l++)
        total += (size_t)p->feature_h[l] * (size_t)p->feature_w[l] *
                 (size_t)mnet_ssd_anchors_per_location(p, l);
    return total;
}

/* The (scale, aspect ratio) pairs of one layer, in create_ssd_anchors order:
 * the given ratios, then the interpolated scale; or the fixed reduced trio. */
static int layer_specs(const mnet_ssd_anchor_params *p, int layer, float *scales, float *ratios) {
    float s = (float)layer_scale(p, layer);
    if (reduced_layer(p, layer)) {
        scales[0] = 0.1f, ratios[0] = 1.0f;
        scales[1] = s, ratios[1] = 2.0f;
        scales[2] = s, ratios[2] = 0.5f;
        return 3;
    }
    int n = 0;
    for (int i = 0; i < p->num_aspect_ratios; i++, n++) {
        scales[n] = s;
        ratios[n] = p->aspect_ratios[i];
    }
    if (p->interpolated_scale_aspect_ratio > 0) {
        scales[n] = (float)sqrt(layer_scale(p, layer) * layer_scale(p, layer + 1));
        ratios[n++] = p->interpolated_scale_aspect_ratio;
    }
    return n;
}

int mnet_ssd_anchors(const mnet_ssd_anchor_params *p, mnet_anchor_box *out) {
    if (!params_valid(p) || !out) return -1;
    size_t k = 0;
    for (int l = 0; l < p->num_layers; l++) {
        float scales[MNET_SSD_MAX_RATIOS + 1], ratios[MNET_SSD_MAX_RATIOS + 1];
        float heights[MNET_SSD_MAX_RATIOS + 1], widths[MNET_SSD_MAX_RATIOS + 1];
        int per_location = layer_specs(p, l, scales, ratios);
        for (int a = 0; a < per_location; a++) {
            float root = sqrtf(ratios[a]);
            heights[a] = scales[a] / root * p->base_anchor_height;
            widths[a] = scales[a] * root * p->base_anchor_width;
        }
        /* Default strides are 1/fm and offsets half a stride, both as
         * float32 tensors, so centres are i * stride + offset * stride. */
        float stride_y = 1.0f / (float)p->feature_h[l];
        float stride_x = 1.0f / (float)p->feature_w[l];
        float offset_y = p->offset * stride_y, offset_x = p->offset * stride_x;
        for (int y = 0; y < p->feature_h[l]; y++) {
            float yc = (float)y * stride_y + offset_y;
            for (int x = 0; x < p->feature_w[l]; x++) {
                float xc = (float)x * stride_x + offset_x;
                for (int a = 0; a < per_location; a++, k++) {
                    out[k].yc = yc;
                    out[k].xc = xc;
                    out[k].h = heights[a];
                    out[k].w = widths[a];
                }
            }
        }
    }
    return 0;
}
