/* Reference uint8 kernels with TFLite's quantized arithmetic (asymmetric
 * per-tensor): int32 accumulation of (q_in - zp_in) * (q_w - zp_w), int32
 * bias, fixed-point requantization, output zero point, clamp to the fused
 * activation's range. Plain loops: they are the oracle of the fast kernels.
 * Tensors are NHWC, batch 1; weights OHWI as in the model file. */
#ifndef MNET_INT8_Q8_REF_H
#define MNET_INT8_Q8_REF_H

#include <stdint.h>

#include "int8/requant.h"
#include "kernels/ref/ref_kernels.h"

/* Requantization of one convolution-like layer (conv, depthwise, 1x1, FC). */
typedef struct mnet_q8_conv_params {
    int32_t input_zero_point, weight_zero_point, output_zero_point;
    mnet_requant requant; /* input_scale * weight_scale / output_scale */
    /* out_c entries (one per output channel), or NULL: `requant` for all.
     * Per-channel int8 weights are symmetric, stored as uint8 w + 128 with
     * weight_zero_point 128, so only the multiplier varies per channel.
     * The array is owned by whoever builds the params; fast kernels copy it
     * into their packed weights at pack time. */
    const mnet_requant *channel_requant;
    int32_t out_min, out_max; /* activation range, inside 0..255 */
} mnet_q8_conv_params;

/* Elementwise ADD of two uint8 tensors, TFLite style: both inputs shifted
 * left by left_shift, rescaled to twice the larger input scale, summed,
 * rescaled to the output. */
typedef struct mnet_q8_add_params {
    int32_t a_zero_point, b_zero_point, output_zero_point;
    mnet_requant a_requant, b_requant, output_requant;
    int left_shift;
    int32_t out_min, out_max;
} mnet_q8_add_params;

/* Range [min, max] of a fused activation on a uint8 tensor with this scale
 * and zero point (TFLite's CalculateActivationRangeQuantized). */
void mnet_q8_activation_range(mnet_activation act, float scale, int32_t zero_point,
                              int32_t *out_min, int32_t *out_max);

/* Conv parameters from the float32 scales (as TFLite: the product of the
 * input and weight scales in double, divided by the output scale). */
mnet_q8_conv_params mnet_q8_conv_params_init(float input_scale, int32_t input_zero_point,
                                             float weight_scale, int32_t weight_zero_point,
                                             float output_scale, int32_t output_zero_point,
                                             mnet_activation act);

mnet_q8_add_params mnet_q8_add_params_init(float a_scale, int32_t a_zero_point, float b_scale,
                                           int32_t b_zero_point, float output_scale,
                                           int32_t output_zero_point, mnet_activation act);

/* Orders an ADD's inputs (swapping *a and *b, and their parameters in *p)
 * so that a's rescale is an exact left shift when either input's is (the
 * larger-scale input's multiplier is exactly 1/2 with the parameters of
 * mnet_q8_add_params_init), and returns that shift, or -1 when neither
 * is. The sum, and so the result, does not depend on the order. */
int mnet_q8_add_shift_first(mnet_q8_add_params *p, const uint8_t **a, const uint8_t **b);

/* The requantization of output channel oc. */
static inline mnet_requant mnet_q8_channel_requant(const mnet_q8_conv_params *p, int oc) {
    return p->channel_requant ? p->channel_requant[oc] : p->requant;
}

/* Requantizes one int32 accumulator (bias included) to uint8 with the
 * per-tensor multiplier (p->requant). */
static inline uint8_t mnet_q8_output(int32_t acc, const mnet_q8_conv_params *p) {
    int32_t v = mnet_requant_apply(acc, p->requant) + p->output_zero_point;
    return (uint8_t)mnet_clamp_i32(v, p->out_min, p->out_max);
}

/* The same for output channel oc (honours channel_requant). */
static inline uint8_t mnet_q8_output_channel(int32_t acc, const mnet_q8_conv_params *p, int oc) {
    int32_t v = mnet_requant_apply(acc, mnet_q8_channel_requant(p, oc)) + p->output_zero_point;
    return (uint8_t)mnet_clamp_i32(v, p->out_min, p->out_max);
}

/* Any convolution (groups, stride, dilation, padding): output rows
 * [row_begin, row_end). Padded taps are skipped, i.e. they read a real 0. */
void mnet_q8_ref_conv(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                      const uint8_t *in, const uint8_t *w_ohwi, const int32_t *bias,
                      uint8_t *out, int row_begin, int row_end);

/* 1x1 convolution / fully connected over pixels [pixel_begin, pixel_end). */
void mnet_q8_ref_pointwise(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *in,
                           const uint8_t *w_oi, const int32_t *bias, uint8_t *out,
                           int pixel_begin, int pixel_end);

void mnet_q8_ref_add(const mnet_q8_add_params *p, const uint8_t *a, const uint8_t *b,
                     uint8_t *out, size_t count);

/* Global average pooling with input and output sharing scale and zero point
 * (TFLite's AVERAGE_POOL_2D: sum, rounded division by the count). */
/* Per-channel sums of (x - zero_point) over count pixels of n channels
 * (pixel i at in + i * stride), into sums[n]. The pooling kernels run it in
 * chunks of MNET_Q8_POOL_CHANNEL_CHUNK channels. */
enum { MNET_Q8_POOL_CHANNEL_CHUNK = 256 };
void mnet_q8_ref_channel_sums(const uint8_t *in, int count, int stride, int n,
                              int32_t zero_point, int32_t *sums);
typedef void (*mnet_q8_channel_sums_fn)(const uint8_t *in, int count, int stride, int n,
                                        int32_t zero_point, int32_t *sums);

void mnet_q8_ref_global_avgpool(int h, int w, int c, int32_t out_min, int32_t out_max,
                                const uint8_t *in, uint8_t *out);
/* The same with the channel sums of a kernel table (sums; NULL: the reference). */
void mnet_q8_global_avgpool(int h, int w, int c, int32_t out_min, int32_t out_max,
                            const uint8_t *in, uint8_t *out, mnet_q8_channel_sums_fn sums);

#endif
