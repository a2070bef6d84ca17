/* Reference average pooling (windowed and global). */
#include <stddef.h>

#include "kernels/ref/ref_kernels.h"

/* The window of every output lies inside the padded input for all three
 * padding rules, so counting padded taps means dividing by the full window
 * size. A window made only of padding (possible with dilation) yields 0. */
void mnet_ref_avgpool_f32(const mnet_conv_geometry *g, int count_pad, const float *in,
                          float *out) {
    const int c = g->in_c;
    const float full_window = (float)(g->kernel_h * g->kernel_w);
    for (int oy = 0; oy < g->out_h; oy++) {
        for (int ox = 0; ox < g->out_w; ox++) {
            const int y0 = oy * g->stride_h - g->pad_top;
            const int x0 = ox * g->stride_w - g->pad_left;
            float *out_px = out + ((size_t)oy * g->out_w + ox) * c;
            for (int ch = 0; ch < c; ch++) {
                float sum = 0.0f;
                int inside = 0;
                for (int ky = 0; ky < g->kernel_h; ky++) {
                    const int iy = y0 + ky * g->dilation_h;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (int kx = 0; kx < g->kernel_w; kx++) {
                        const int ix = x0 + kx * g->dilation_w;
                        if (ix < 0 || ix >= g->in_w) continue;
                        sum += in[((size_t)iy * g->in_w + ix) * c + ch];
                        inside++;
                    }
                }
                const float divisor = count_pad ? full_window : (float)inside;
                out_px[ch] = inside > 0 ? sum / divisor : 0.0f;
            }
        }
    }
}

void mnet_ref_global_avgpool_f32(int h, int w, int c, const float *in, float *out) {
    const size_t pixels = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++) {
        float sum = 0.0f;
        for (size_t p = 0; p < pixels; p++) sum += in[p * (size_t)c + ch];
        out[ch] = pixels > 0 ? sum / (float)pixels : 0.0f;
    }
}
