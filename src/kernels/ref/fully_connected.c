/* Reference matrix-vector kernels: fully connected and 1x1 convolution. */
#include <stddef.h>

#include "kernels/ref/ref_kernels.h"

void mnet_ref_fully_connected_f32(int in_n, int out_n, const float *in, const float *w,
                                  const float *bias, mnet_activation act, float *out) {
    for (int o = 0; o < out_n; o++) {
        const float *w_row = w + (size_t)o * in_n;
        float acc = 0.0f;
        for (int i = 0; i < in_n; i++) acc += w_row[i] * in[i];
        if (bias != NULL) acc += bias[o];
        out[o] = mnet_ref_activate(acc, act);
    }
}

/* Same sum order as mnet_ref_conv2d_f32 with a 1x1 kernel (ci, then bias),
 * so the two agree bit for bit; the residual comes after the bias. */
void mnet_ref_pointwise_f32(int in_c, int out_c, const float *in, const float *w_oi,
                            const float *bias, const float *residual, mnet_activation act,
                            float *out, int pixel_begin, int pixel_end) {
    for (int p = pixel_begin < 0 ? 0 : pixel_begin; p < pixel_end; p++) {
        const float *in_px = in + (size_t)p * in_c;
        float *out_px = out + (size_t)p * out_c;
        for (int o = 0; o < out_c; o++) {
            const float *w_row = w_oi + (size_t)o * in_c;
            float acc = 0.0f;
            for (int i = 0; i < in_c; i++) acc += in_px[i] * w_row[i];
            if (bias != NULL) acc += bias[o];
            if (residual != NULL) acc += residual[(size_t)p * out_c + o];
            out_px[o] = mnet_ref_activate(acc, act);
        }
    }
}
