/* Scalar reference kernels: plain, obviously correct loops over NHWC float
 * tensors (batch 1, channels fastest). They are the oracle every optimized
 * kernel is tested against, so clarity beats speed here. */
#ifndef MNET_KERNELS_REF_H
#define MNET_KERNELS_REF_H

#include <stddef.h>

#include "mnet.h"

/* Geometry of one 2-D convolution (also depthwise and 1x1). Padding is
 * resolved to explicit before-amounts; the after-amounts follow from the
 * output size. */
typedef struct mnet_conv_geometry {
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    int pad_top, pad_left;
    int groups;               /* in_c % groups == 0 && out_c % groups == 0 */
} mnet_conv_geometry;

/* Output size and before-padding of one spatial axis under a padding rule.
 * Returns 0 on success, -1 if the sizes are invalid (non-positive output). */
int mnet_conv_axis(int in, int kernel, int stride, int dilation, mnet_padding padding,
                   int *out, int *pad_before);

/* Fills geometry from input size and layer parameters; -1 if invalid. */
int mnet_conv_geometry_init(mnet_conv_geometry *g, int in_h, int in_w, int in_c, int out_c,
                            int kernel, int stride, int dilation, int groups,
                            mnet_padding padding);

/* out = act(conv(in, w) + bias). w is OHWI [out_c][kh][kw][in_c/groups];
 * bias may be NULL. Covers depthwise (groups == in_c == out_c) and 1x1. */
void mnet_ref_conv2d_f32(const mnet_conv_geometry *g, const float *in, const float *w,
                         const float *bias, mnet_activation act, float *out);

/* mnet_ref_conv2d_f32 restricted to output rows [row_begin, row_end): the
 * other rows of out are not touched. A row's values do not depend on the
 * range it was computed in, so any split is bit-identical to one call. */
void mnet_ref_conv2d_rows_f32(const mnet_conv_geometry *g, const float *in, const float *w,
                              const float *bias, mnet_activation act, float *out,
                              int row_begin, int row_end);

/* 1x1 stride-1 convolution over pixels [pixel_begin, pixel_end) of an
 * [pixels][in_c] tensor with weights [out_c][in_c]:
 * out = act(in * W^T + bias + residual). bias and residual ([pixels][out_c])
 * may be NULL. Without residual it is bit-identical to mnet_ref_conv2d_f32
 * with a 1x1 kernel. */
void mnet_ref_pointwise_f32(int in_c, int out_c, const float *in, const float *w_oi,
                            const float *bias, const float *residual, mnet_activation act,
                            float *out, int pixel_begin, int pixel_end);

/* The activation every ref kernel applies last. NaN passes through ReLU
 * unchanged so that broken inputs stay visible. */
static inline float mnet_ref_activate(float x, mnet_activation act) {
    if (act == MNET_ACT_NONE) return x;
    if (x < 0.0f) return 0.0f;
    if (act == MNET_ACT_RELU6 && x > 6.0f) return 6.0f;
    return x;
}

/* Average pooling, window kh x kw; with count_pad = 0 padded taps are left
 * out of the divisor (TensorFlow), with 1 they count (PyTorch default). */
void mnet_ref_avgpool_f32(const mnet_conv_geometry *g, int count_pad, const float *in,
                          float *out);

/* One output row of a segmentation mask from low-resolution logits: each
 * pixel's class is the argmax of the logits interpolated bilinearly between
 * two cells of the top and two of the bottom logit row,
 *   t = fma(A1 - A0, fx, A0), u = fma(B1 - B0, fx, B0), v = fma(u - t, fy, t)
 * (the first class wins ties; NaN never wins; 0 if nothing beats -inf).
 * Where the four cells' own best classes agree, that class is the answer
 * without interpolating (a convex combination keeps their common order).
 * Exact FMAs make every ISA's table give the reference's bits. */
typedef struct mnet_mask_row {
    int classes;                  /* 1..256: floats per logit cell */
    int width;                    /* output pixels */
    const float *top, *bottom;    /* the two logit rows, cells x classes */
    const unsigned char *best_top, *best_bottom; /* argmax of each cell */
    const int *x0, *x1;           /* left and right cell of each output pixel */
    const float *fx;              /* weight of the right cell, per pixel */
    float fy;                     /* weight of the bottom row */
} mnet_mask_row;

void mnet_ref_mask_row_f32(const mnet_mask_row *r, unsigned char *out);

/* Mean over H and W: out[c]. */
void mnet_ref_global_avgpool_f32(int h, int w, int c, const float *in, float *out);

/* out[o] = act(sum_i w[o][i] * in[i] + bias[o]); bias may be NULL. */
void mnet_ref_fully_connected_f32(int in_n, int out_n, const float *in, const float *w,
                                  const float *bias, mnet_activation act, float *out);

/* out = act(a + b), n elements; out may alias a or b. */
void mnet_ref_add_f32(size_t n, const float *a, const float *b, mnet_activation act,
                      float *out);

/* In place ReLU / ReLU6 over n elements. */
void mnet_ref_activation_f32(size_t n, mnet_activation act, float *x);

/* Numerically stable softmax over n values (out may alias in). */
void mnet_ref_softmax_f32(size_t n, const float *in, float *out);

typedef enum mnet_resize_mode {
    MNET_RESIZE_ALIGN_CORNERS = 0, /* src = dst * (in-1)/(out-1) */
    MNET_RESIZE_HALF_PIXEL,        /* src = (dst+0.5)*in/out - 0.5, clamped */
    MNET_RESIZE_ASYMMETRIC         /* src = dst * in/out (TF legacy) */
} mnet_resize_mode;

/* Bilinear resize of an HWC tensor (no antialiasing: this is the network
 * layer, not image preprocessing). */
void mnet_ref_resize_bilinear_f32(int in_h, int in_w, int c, int out_h, int out_w,
                                  mnet_resize_mode mode, const float *in, float *out);

/* Concatenation along channels of n HWC tensors with the same H*W = pixels. */
void mnet_ref_concat_channels_f32(size_t pixels, int n, const int *channels,
                                  const float *const *inputs, float *out);

#endif
