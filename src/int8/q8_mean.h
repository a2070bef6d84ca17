/* Global mean over height and width of a uint8 tensor whose output has its
 * own scale and zero point: TFLite's quantized MEAN (int8 reference kernel,
 * the global pooling of post-training quantized models). Unlike
 * AVERAGE_POOL_2D, it sums (q - input_zero_point), rescales the sum by
 * input_scale / output_scale with the fixed-point multiplier, then divides by
 * the element count rounding half away from zero.
 *
 * int8 tensors run as uint8 with every value and zero point shifted by 128,
 * which leaves q - zero_point, and so the result, unchanged. */
#ifndef MNET_INT8_Q8_MEAN_H
#define MNET_INT8_Q8_MEAN_H

#include <stdint.h>

#include "int8/q8_ref.h"
#include "int8/requant.h"

typedef struct mnet_q8_mean_params {
    int32_t input_zero_point, output_zero_point;
    mnet_requant requant; /* input_scale / output_scale, as doubles */
    int32_t out_min, out_max;
} mnet_q8_mean_params;

/* Zero points in the uint8 domain (0..255); the output is clamped to 0..255. */
mnet_q8_mean_params mnet_q8_mean_params_init(float input_scale, int32_t input_zero_point,
                                             float output_scale, int32_t output_zero_point);

/* in: h x w x c (NHWC, batch 1); out: c values. */
void mnet_q8_ref_mean(int h, int w, int c, const mnet_q8_mean_params *p, const uint8_t *in,
                      uint8_t *out);
/* The same with the channel sums of a kernel table (sums; NULL: the reference). */
void mnet_q8_mean(int h, int w, int c, const mnet_q8_mean_params *p, const uint8_t *in,
                  uint8_t *out, mnet_q8_channel_sums_fn sums);

#endif
