/* Reference segmentation mask row: see mnet_mask_row in ref_kernels.h. */
#include <math.h>

#include "kernels/ref/ref_kernels.h"

static unsigned char interpolated_argmax(const mnet_mask_row *r, int x) {
    const size_t c = (size_t)r->classes;
    const float *a0 = r->top + (size_t)r->x0[x] * c, *a1 = r->top + (size_t)r->x1[x] * c;
    const float *b0 = r->bottom + (size_t)r->x0[x] * c, *b1 = r->bottom + (size_t)r->x1[x] * c;
    const float fx = r->fx[x];
    int best = 0;
    float best_v = -INFINITY;
    for (int k = 0; k < r->classes; k++) {
        float t = fmaf(a1[k] - a0[k], fx, a0[k]);
        float u = fmaf(b1[k] - b0[k], fx, b0[k]);
        float v = fmaf(u - t, r->fy, t);
        if (v > best_v) {
            best_v = v;
            best = k;
        }
    }
    return (unsigned char)best;
}

void mnet_ref_mask_row_f32(const mnet_mask_row *r, unsigned char *out) {
    for (int x = 0; x < r->width; x++) {
        int c0 = r->x0[x], c1 = r->x1[x];
        unsigned char k = r->best_top[c0];
        if (r->best_top[c1] == k && r->best_bottom[c0] == k && r->best_bottom[c1] == k)
            out[x] = k;
        else
            out[x] = interpolated_argmax(r, x);
    }
}
