/* torchvision DefaultBoxGenerator (models/detection/anchor_utils.py), with
 * steps unset (centres from the feature map size). torchvision computes the
 * scales and width/height pairs in Python doubles and stores them as float32;
 * centres are (i + 0.5) / f in float32. Its `clip` clamps the width and
 * height to [0, 1], not the box corners. */
#include <math.h>

#include "post/detection.h"

static int params_valid(const mnet_torch_box_params *p) {
    if (!p || p->num_layers < 1 || p->num_layers > MNET_SSD_MAX_LAYERS) return 0;
    if (!(p->min_ratio > 0) || !(p->max_ratio > 0)) return 0;
    for (int l = 0; l < p->num_layers; l++) {
        if (p->feature_h[l] < 1 || p->feature_w[l] < 1 || p->feature_h[l] > 65536 ||
            p->feature_w[l] > 65536)
            return 0;
        if (p->num_ratios[l] < 0 || p->num_ratios[l] > MNET_SSD_MAX_RATIOS) return 0;
        for (int r = 0; r < p->num_ratios[l]; r++)
            if (!(p->ratios[l][r] > 0)) return 0;
    }
    return 1;
}

/* torchvision: one output layer gets scales [min, max]; several get a linear
 * ramp from min to max plus a trailing 1.0. */
static double torch_scale(const mnet_torch_box_params *p, int k) {
    if (p->num_layers == 1) return k == 0 ? p->min_ratio : p->max_ratio;
    if (k >= p->num_layers) return 1.0;
    double range = (double)p->max_ratio - (double)p->min_ratio;
    return (double)p->min_ratio + range * k / (p->num_layers - 1.0);
}

static size_t boxes_per_location(const mnet_torch_box_params *p, int layer) {
    return 2 + 2 * (size_t)p->num_ratios[layer];
}

size_t mnet_torch_box_count(const mnet_torch_box_params *p) {
    if (!params_valid(p)) return 0;
    size_t total = 0;
    for (int l = 0; l < p->num_layers; l++)
        total += (size_t)p->feature_h[l] * (size_t)p->feature_w[l] * boxes_per_location(p, l);
    return total;
}

static float clip_unit(float v, int clip) {
    if (!clip) return v;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

int mnet_torch_boxes(const mnet_torch_box_params *p, mnet_anchor_box *out) {
    if (!params_valid(p) || !out) return -1;
    size_t k = 0;
    for (int l = 0; l < p->num_layers; l++) {
        /* (w, h) pairs in torchvision's order: (s, s), (s', s'), then per
         * ratio r: (s sqrt r, s / sqrt r) and its transpose. */
        float w[2 + 2 * MNET_SSD_MAX_RATIOS], h[2 + 2 * MNET_SSD_MAX_RATIOS];
        double s = torch_scale(p, l);
        double s_prime = sqrt(s * torch_scale(p, l + 1));
        int n = 0;
        w[n] = h[n] = (float)s, n++;
        w[n] = h[n] = (float)s_prime, n++;
        for (int r = 0; r < p->num_ratios[l]; r++) {
            double root = sqrt((double)p->ratios[l][r]);
            float wide = (float)(s * root), tall = (float)(s / root);
            w[n] = wide, h[n] = tall, n++;
            w[n] = tall, h[n] = wide, n++;
        }
        for (int i = 0; i < n; i++) {
            w[i] = clip_unit(w[i], p->clip);
            h[i] = clip_unit(h[i], p->clip);
        }
        for (int y = 0; y < p->feature_h[l]; y++) {
            float yc = ((float)y + 0.5f) / (float)p->feature_h[l];
            for (int x = 0; x < p->feature_w[l]; x++) {
                float xc = ((float)x + 0.5f) / (float)p->feature_w[l];
                for (int i = 0; i < n; i++, k++) {
                    out[k].yc = yc;
                    out[k].xc = xc;
                    out[k].h = h[i];
                    out[k].w = w[i];
                }
            }
        }
    }
    return 0;
}
