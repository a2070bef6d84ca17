/* Softmax of a row of uint8 logits into uint8 probabilities with scale
 * 1/256 and zero point 0 (the only output quantization TFLite accepts for a
 * uint8 SOFTMAX), in two arithmetics:
 *
 * - fixed: TFLite's reference kernel (reference_ops::Softmax for uint8):
 *   differences to the row maximum scaled by input_multiplier and
 *   input_left_shift into Q5.26, gemmlowp's exp_on_negative_values, a Q12.19
 *   sum, a Newton-Raphson reciprocal, one rounding division per output;
 *   differences below diff_min give 0.
 * - float: dequantize, expf of (x - max) * beta, a float sum in index order,
 *   divide, round half away from zero. This is Arm NN CpuRef's Softmax on
 *   QAsymmU8 (decode to float, compute, encode), and within float rounding
 *   TFLite's optimized uint8 kernel (a float exp table).
 *
 * The two differ by at most a step or two on a few values of a row (see
 * docs/INT8.md); the int8 session uses `float`, the one that reproduces the
 * Arm NN oracle bit for bit on identical logits. */
#ifndef MNET_INT8_Q8_SOFTMAX_H
#define MNET_INT8_Q8_SOFTMAX_H

#include <stddef.h>
#include <stdint.h>

/* The fixed-point sum of exps is Q12.19 (below 2^31): at most this many values a row. */
#define MNET_Q8_SOFTMAX_MAX_ROW 4095

typedef struct mnet_q8_softmax_params {
    float input_scale, beta;
    int32_t input_zero_point;
    /* TFLite's PreprocessSoftmaxScaling and CalculateInputRadius */
    int32_t input_multiplier; /* Q0.31 of beta * scale * 2^26 */
    int input_left_shift;     /* its power of two, >= 1 */
    int32_t diff_min;         /* smallest q - max that contributes */
} mnet_q8_softmax_params;

/* Returns 0, or -1 when beta * input_scale is not positive and finite or too
 * small for TFLite's scaling (beta * scale * 2^26 must exceed 1). */
int mnet_q8_softmax_params_init(float input_scale, int32_t input_zero_point, float beta,
                                mnet_q8_softmax_params *out);

/* n in [1, MNET_Q8_SOFTMAX_MAX_ROW]; in and out may not overlap. */
void mnet_q8_softmax_fixed(const mnet_q8_softmax_params *p, const uint8_t *in, size_t n,
                           uint8_t *out);

/* n >= 1; in and out may not overlap. */
void mnet_q8_softmax_float(const mnet_q8_softmax_params *p, const uint8_t *in, size_t n,
                           uint8_t *out);

#endif
