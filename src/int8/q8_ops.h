/* uint8 operators besides the convolutions, for the detectors and
 * segmenters: channel concatenation (with requantization of inputs whose
 * scale or zero point differ from the output's), bilinear resize, and the
 * lookup tables that turn a uint8 tensor into the float values the float
 * post-processing reads (plain dequantization, or requantization followed by
 * the model's own quantized sigmoid).
 *
 * Everything that is not a convolution is specified as Arm NN's reference
 * backend (the oracle of tests/int8) computes it on uint8 tensors: each
 * value dequantized to float, scale * (q - zero_point), the operator in
 * float, the result quantized with round-half-away(v / scale) + zero_point,
 * clamped to 0..255. For concatenation and requantization this is also what
 * TFLite's reference kernels compute (float rescale, std::round). */
#ifndef MNET_INT8_Q8_OPS_H
#define MNET_INT8_Q8_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include "kernels/ref/ref_kernels.h"

#define MNET_Q8_OP_MAX_INPUTS 6

/* The state of one CONCAT or RESIZE step, built once with the plan. */
typedef struct mnet_q8_op {
    /* CONCAT: tensors in order, their channels, and per input a requantizing
     * table (NULL when the input already has the output's quantization) */
    int num_inputs;
    int inputs[MNET_Q8_OP_MAX_INPUTS];
    int channels[MNET_Q8_OP_MAX_INPUTS];
    const uint8_t *requant[MNET_Q8_OP_MAX_INPUTS];
    /* RESIZE */
    mnet_resize_mode mode;
    int in_h, in_w, out_h, out_w, c;
    float in_scale, out_scale;
    int32_t in_zero_point, out_zero_point;
} mnet_q8_op;

/* Arm NN's Quantize: round(v / scale) + zero_point (float division, ties
 * away from zero), clamped to 0..255. */
uint8_t mnet_q8_quantize(float v, float scale, int32_t zero_point);

/* Arm NN's Dequantize: scale * (q - zero_point) in float. */
static inline float mnet_q8_dequantize(uint8_t q, float scale, int32_t zero_point) {
    return scale * ((float)q - (float)zero_point);
}

/* table[q] = the value q requantized from (in_scale, in_zp) to (out_scale,
 * out_zp) through float, as Arm NN's QUANTIZE and CONCATENATION do. */
void mnet_q8_requant_table(float in_scale, int32_t in_zero_point, float out_scale,
                           int32_t out_zero_point, uint8_t table[256]);

/* Export tables (q -> float) for the float post-processing:
 * dequantization, optionally after a requantization table (NULL: none) and
 * then the quantized sigmoid of TFLite SSDs (LOGISTIC to scale 1/256, zero
 * point 0: the float sigmoid of the dequantized value, quantized). */
void mnet_q8_export_table(const uint8_t *requant, float scale, int32_t zero_point, int logistic,
                          float table[256]);

/* Concatenation over pixels [pixel_begin, pixel_end) of op->num_inputs HWC
 * tensors into out (op->channels summed per pixel). */
void mnet_q8_concat(const mnet_q8_op *op, const uint8_t *const *inputs, uint8_t *out,
                    int pixel_begin, int pixel_end);

/* Bilinear resize of output rows [row_begin, row_end), Arm NN's reference
 * arithmetic: source coordinate y * scale (align corners: (in-1)/(out-1) in
 * float; half-pixel: (y + 0.5) * in/out - 0.5), weights from its floor,
 * lerp(a, b, w) = w * b + (1 - w) * a along x then y on dequantized values,
 * quantized to the output parameters. A 1x1 input broadcasts. */
void mnet_q8_resize(const mnet_q8_op *op, const uint8_t *in, uint8_t *out, int row_begin,
                    int row_end);

/* One output coordinate of a resize along an axis: the two source indices
 * and the weight of the second, as mnet_q8_resize computes them. */
typedef struct mnet_q8_tap {
    int i0, i1;
    float w;
} mnet_q8_tap;

/* The scale from output to input coordinates of a resize axis. */
static inline float mnet_q8_axis_scale(int in, int out, mnet_resize_mode mode) {
    if (mode == MNET_RESIZE_ALIGN_CORNERS && out > 1) return (float)(in - 1) / (float)(out - 1);
    return (float)in / (float)out;
}

static inline mnet_q8_tap mnet_q8_axis_tap(int o, int in, float scale, mnet_resize_mode mode) {
    mnet_q8_tap t;
    float src;
    if (mode == MNET_RESIZE_HALF_PIXEL) {
        float centre = (float)o + 0.5f;
        float scaled = centre * scale;
        src = scaled - 0.5f;
    } else {
        src = (float)o * scale;
    }
    float f = floorf(src);
    t.i0 = f > 0.0f ? (int)f : 0;
    t.w = src - f;
    if (mode == MNET_RESIZE_HALF_PIXEL) {
        float c = ceilf(src);
        t.i1 = c > 0.0f ? (int)c : 0;
    } else {
        t.i1 = t.i0 + 1;
    }
    if (t.i0 > in - 1) t.i0 = in - 1;
    if (t.i1 > in - 1) t.i1 = in - 1;
    return t;
}

mnet_q8_tap mnet_q8_resize_tap(int o, int in, int out, mnet_resize_mode mode);

/* The first class with the largest uint8 value of the logits interpolated
 * at taps (ty, tx) and quantized (see mnet_q8_resized_argmax). */
int mnet_q8_argmax_at(const uint8_t *logits, int lo_w, int classes, float scale,
                      int32_t zero_point, mnet_q8_tap ty, mnet_q8_tap tx);

/* The class of one pixel of the model's own final RESIZE_BILINEAR of the
 * uint8 logits (lo_h x lo_w x classes, quantization scale/zp) to
 * net_h x net_w followed by ARG_MAX: the logits interpolated at net pixel
 * (px, py) as mnet_q8_resize does, quantized, and the first class with the
 * largest uint8 value (ties go to the lowest index, as ARG_MAX does). */
int mnet_q8_resized_argmax(const uint8_t *logits, int lo_h, int lo_w, int classes, float scale,
                           int32_t zero_point, int net_h, int net_w, mnet_resize_mode mode,
                           int px, int py);

#endif
