/* Convolution geometry (the three padding rules) and the scalar reference
 * convolution. One loop nest covers dense, grouped, depthwise and 1x1. */
#include <limits.h>
#include <stddef.h>

#include "kernels/ref/ref_kernels.h"

int mnet_conv_axis(int in, int kernel, int stride, int dilation, mnet_padding padding,
                   int *out, int *pad_before) {
    if (out == NULL || pad_before == NULL) return -1;
    if (in <= 0 || kernel <= 0 || stride <= 0 || dilation <= 0) return -1;

    /* 64-bit so that absurd sizes are rejected instead of overflowing. */
    long long span = (long long)dilation * (kernel - 1) + 1; /* dilated extent */
    long long size, before;
    switch (padding) {
    case MNET_PAD_TF_SAME: {
        size = ((long long)in + stride - 1) / stride;
        long long total = (size - 1) * stride + span - in;
        if (total < 0) total = 0;
        before = total / 2; /* TF puts the odd pixel after */
        break;
    }
    case MNET_PAD_SYMMETRIC: {
        before = (span - 1) / 2;
        long long room = (long long)in + 2 * before - span;
        if (room < 0) return -1;
        size = room / stride + 1;
        break;
    }
    case MNET_PAD_VALID: {
        before = 0;
        long long room = (long long)in - span;
        if (room < 0) return -1;
        size = room / stride + 1;
        break;
    }
    default:
        return -1;
    }
    if (size <= 0 || size > INT_MAX || before > INT_MAX) return -1;
    *out = (int)size;
    *pad_before = (int)before;
    return 0;
}

int mnet_conv_geometry_init(mnet_conv_geometry *g, int in_h, int in_w, int in_c, int out_c,
                            int kernel, int stride, int dilation, int groups,
                            mnet_padding padding) {
    if (g == NULL) return -1;
    if (in_c <= 0 || out_c <= 0 || groups <= 0) return -1;
    if (in_c % groups != 0 || out_c % groups != 0) return -1;
    mnet_conv_geometry r;
    if (mnet_conv_axis(in_h, kernel, stride, dilation, padding, &r.out_h, &r.pad_top) != 0)
        return -1;
    if (mnet_conv_axis(in_w, kernel, stride, dilation, padding, &r.out_w, &r.pad_left) != 0)
        return -1;
    r.in_h = in_h;
    r.in_w = in_w;
    r.in_c = in_c;
    r.out_c = out_c;
    r.kernel_h = r.kernel_w = kernel;
    r.stride_h = r.stride_w = stride;
    r.dilation_h = r.dilation_w = dilation;
    r.groups = groups;
    *g = r;
    return 0;
}

/* One output pixel, all its channels. Taps outside the input are skipped,
 * which is the same as reading zero padding. Sum order: kh, kw, ci, then
 * bias; optimized kernels are compared with a tolerance, not bit-exactly. */
static void conv_pixel(const mnet_conv_geometry *g, const float *in, const float *w,
                       const float *bias, mnet_activation act, int oy, int ox, float *out_px) {
    const int group_in = g->in_c / g->groups;
    const int group_out = g->out_c / g->groups;
    const int y0 = oy * g->stride_h - g->pad_top;
    const int x0 = ox * g->stride_w - g->pad_left;
    for (int oc = 0; oc < g->out_c; oc++) {
        const int first_ci = (oc / group_out) * group_in;
        const float *w_oc = w + (size_t)oc * g->kernel_h * g->kernel_w * group_in;
        float acc = 0.0f;
        for (int ky = 0; ky < g->kernel_h; ky++) {
            const int iy = y0 + ky * g->dilation_h;
            if (iy < 0 || iy >= g->in_h) continue;
            for (int kx = 0; kx < g->kernel_w; kx++) {
                const int ix = x0 + kx * g->dilation_w;
                if (ix < 0 || ix >= g->in_w) continue;
                const float *in_px = in + ((size_t)iy * g->in_w + ix) * g->in_c + first_ci;
                const float *w_tap = w_oc + ((size_t)ky * g->kernel_w + kx) * group_in;
                for (int ci = 0; ci < group_in; ci++) acc += in_px[ci] * w_tap[ci];
            }
        }
        if (bias != NULL) acc += bias[oc];
        out_px[oc] = mnet_ref_activate(acc, act);
    }
}

void mnet_ref_conv2d_rows_f32(const mnet_conv_geometry *g, const float *in, const float *w,
                              const float *bias, mnet_activation act, float *out,
                              int row_begin, int row_end) {
    if (row_begin < 0) row_begin = 0;
    if (row_end > g->out_h) row_end = g->out_h;
    for (int oy = row_begin; oy < row_end; oy++)
        for (int ox = 0; ox < g->out_w; ox++)
            conv_pixel(g, in, w, bias, act, oy, ox,
                       out + ((size_t)oy * g->out_w + ox) * g->out_c);
}

void mnet_ref_conv2d_f32(const mnet_conv_geometry *g, const float *in, const float *w,
                         const float *bias, mnet_activation act, float *out) {
    mnet_ref_conv2d_rows_f32(g, in, w, bias, act, out, 0, g->out_h);
}
