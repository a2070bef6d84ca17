/* Reference bilinear resize (the network layer used by DeepLab). Source
 * coordinates are computed in float the way TensorFlow and PyTorch do, so
 * the fractional weights match theirs to the last bits. */
#include <stddef.h>

#include "kernels/ref/ref_kernels.h"

/* Where output index dst samples the input axis, as the two neighbours and
 * the weight of the second one. */
typedef struct resize_tap {
    int lo, hi;
    float frac;
} resize_tap;

static resize_tap resize_axis_tap(int in, int out, int dst, mnet_resize_mode mode) {
    float src;
    switch (mode) {
    case MNET_RESIZE_ALIGN_CORNERS:
        src = out > 1 ? (float)(in - 1) / (float)(out - 1) * (float)dst : 0.0f;
        break;
    case MNET_RESIZE_HALF_PIXEL:
        src = (float)in / (float)out * ((float)dst + 0.5f) - 0.5f;
        if (src < 0.0f) src = 0.0f;
        break;
    case MNET_RESIZE_ASYMMETRIC:
    default:
        src = (float)in / (float)out * (float)dst;
        break;
    }
    resize_tap t;
    t.lo = (int)src; /* src >= 0, so truncation is floor */
    if (t.lo > in - 1) t.lo = in - 1;
    t.hi = t.lo < in - 1 ? t.lo + 1 : t.lo;
    t.frac = src - (float)t.lo;
    if (t.frac > 1.0f) t.frac = 1.0f;
    return t;
}

void mnet_ref_resize_bilinear_f32(int in_h, int in_w, int c, int out_h, int out_w,
                                  mnet_resize_mode mode, const float *in, float *out) {
    for (int oy = 0; oy < out_h; oy++) {
        const resize_tap ty = resize_axis_tap(in_h, out_h, oy, mode);
        const float *row_lo = in + (size_t)ty.lo * in_w * c;
        const float *row_hi = in + (size_t)ty.hi * in_w * c;
        for (int ox = 0; ox < out_w; ox++) {
            const resize_tap tx = resize_axis_tap(in_w, out_w, ox, mode);
            const size_t a = (size_t)tx.lo * c, b = (size_t)tx.hi * c;
            float *dst = out + ((size_t)oy * out_w + ox) * c;
            for (int ch = 0; ch < c; ch++) {
                const float top = (1.0f - tx.frac) * row_lo[a + ch] + tx.frac * row_lo[b + ch];
                const float bottom =
                    (1.0f - tx.frac) * row_hi[a + ch] + tx.frac * row_hi[b + ch];
                dst[ch] = (1.0f - ty.frac) * top + ty.frac * bottom;
            }
        }
    }
}
