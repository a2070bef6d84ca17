/* uint8 softmax: TFLite's fixed-point reference and the float arithmetic of
 * Arm NN CpuRef. See q8_softmax.h; the fixed-point constants are gemmlowp's
 * (fixedpoint.h), written here as plain int32 operations on raw values. */
#include "int8/q8_softmax.h"

#include <math.h>

#include "int8/requant.h"

/* The scaled differences are Q5.26 (5 integer bits), the sum Q12.19. */
#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

int mnet_q8_softmax_params_init(float input_scale, int32_t input_zero_point, float beta,
                                mnet_q8_softmax_params *out) {
    out->input_scale = input_scale;
    out->input_zero_point = input_zero_point;
    out->beta = beta;
    /* PreprocessSoftmaxScaling: beta * scale as a Q5.26 multiplier, capped
     * below 2^31, split by QuantizeMultiplierGreaterThanOne */
    double real = (double)beta * (double)input_scale *
                  (double)(1 << (31 - SCALED_DIFF_INTEGER_BITS));
    if (!isfinite(real) || !(real > 1.0)) return -1;
    if (real > 2147483647.0) real = 2147483647.0;
    int exponent = 0;
    double mantissa = frexp(real, &exponent);
    int64_t q = (int64_t)round(mantissa * 2147483648.0);
    if (q == (int64_t)1 << 31) {
        q /= 2;
        exponent++;
    }
    out->input_multiplier = (int32_t)q;
    out->input_left_shift = exponent;
    /* CalculateInputRadius: a larger difference would overflow Q5.26 */
    double radius = (double)((1 << SCALED_DIFF_INTEGER_BITS) - 1) *
                    (double)((int64_t)1 << (31 - SCALED_DIFF_INTEGER_BITS)) /
                    ldexp(1.0, exponent);
    out->diff_min = -(int32_t)floor(radius);
    return 0;
}

/* SaturatingRoundingMultiplyByPOT with a positive exponent. */
static int32_t saturating_shift_left(int32_t x, int exponent) {
    int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a Q0.31 value a in [-1/4, 0): Taylor series around -1/8. */
static int32_t exp_on_quarter_interval(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;
    int32_t x = a + (1 << 28); /* a + 1/8 */
    int32_t x2 = mnet_srdhm(x, x);
    int32_t x3 = mnet_srdhm(x2, x);
    int32_t x4 = mnet_srdhm(x2, x2);
    int32_t x4_over_4 = mnet_rounding_divide_by_pot(x4, 2);
    int32_t series =
        mnet_rounding_divide_by_pot(mnet_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + mnet_srdhm(exp_minus_one_eighth, x + series);
}

/* exp(a) in Q0.31 for a Q5.26 value a <= 0 (gemmlowp's
 * exp_on_negative_values): the fraction modulo 1/4 by the series, then one
 * constant factor exp(-2^k) per set bit of the rest. */
static int32_t exp_on_negative_values(int32_t a) {
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242}; /* exp(-2^k), k=-2..4 */
    const int fraction_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fraction_bits - 2);
    int32_t a_mod_quarter_minus_quarter =
        (int32_t)((uint32_t)a & (uint32_t)(one_quarter - 1)) - one_quarter;
    int32_t result = exp_on_quarter_interval(
        saturating_shift_left(a_mod_quarter_minus_quarter, SCALED_DIFF_INTEGER_BITS));
    int32_t rest = a_mod_quarter_minus_quarter - a; /* >= 0, a multiple of 1/4 */
    for (int k = 0; k < 7; k++)
        if ((uint32_t)rest & ((uint32_t)1 << (fraction_bits - 2 + k)))
            result = mnet_srdhm(result, factors[k]);
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1) in Q0.31: Newton-Raphson from 48/17 - 32/17 d
 * on d = (1 + x) / 2, iterates in Q2.29. */
static int32_t one_over_one_plus_x(int32_t x) {
    int64_t sum = (int64_t)x + INT32_MAX;
    int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t forty_eight_17ths = 1515870810, minus_thirty_two_17ths = -1010580540;
    int32_t r = forty_eight_17ths + mnet_srdhm(half_denominator, minus_thirty_two_17ths);
    for (int i = 0; i < 3; i++) {
        int32_t one_minus_dr = (1 << 29) - mnet_srdhm(half_denominator, r);
        r = r + saturating_shift_left(mnet_srdhm(r, one_minus_dr), 2);
    }
    return saturating_shift_left(r, 1); /* r / 2 in Q1.30 -> Q0.31 */
}

static int count_leading_zeros(uint32_t x) {
    int n = 0;
    while (n < 32 && !(x & ((uint32_t)1 << (31 - n)))) n++;
    return n;
}

/* The difference q - max in Q5.26 (MultiplyByQuantizedMultiplierGreaterThanOne). */
static int32_t scaled_difference(const mnet_q8_softmax_params *p, int32_t diff) {
    /* |diff| <= -diff_min keeps diff * 2^shift inside int32 */
    int32_t shifted = (int32_t)((int64_t)diff * ((int64_t)1 << p->input_left_shift));
    return mnet_srdhm(shifted, p->input_multiplier);
}

void mnet_q8_softmax_fixed(const mnet_q8_softmax_params *p, const uint8_t *in, size_t n,
                           uint8_t *out) {
    int32_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] > max) max = in[i];
    int32_t sum = 0; /* Q12.19; each term <= 2^19, n <= 4095 */
    for (size_t i = 0; i < n; i++) {
        int32_t diff = (int32_t)in[i] - max;
        if (diff >= p->diff_min)
            sum += mnet_rounding_divide_by_pot(exp_on_negative_values(scaled_difference(p, diff)),
                                               ACCUM_INTEGER_BITS);
    }
    /* sum >= 1.0 (the maximum contributes exp(0)), so headroom <= 12 */
    int headroom = count_leading_zeros((uint32_t)sum);
    int bits_over_unit = ACCUM_INTEGER_BITS - headroom;
    int32_t sum_minus_one = (int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31));
    int32_t reciprocal = one_over_one_plus_x(sum_minus_one); /* 2^bits_over_unit / sum */
    int exponent = bits_over_unit + 31 - 8;
    for (size_t i = 0; i < n; i++) {
        int32_t diff = (int32_t)in[i] - max;
        int32_t v = 0;
        /* exponent > 31 (a sum of exps of 256 or more) leaves every
         * probability below half a step: 0. TFLite's int32 shift is
         * undefined there. */
        if (diff >= p->diff_min && exponent <= 31) {
            int32_t e = exp_on_negative_values(scaled_difference(p, diff));
            v = mnet_rounding_divide_by_pot(mnet_srdhm(reciprocal, e), exponent);
        }
        out[i] = (uint8_t)mnet_clamp_i32(v, 0, 255);
    }
}

/* Arm NN's Dequantize: scale * (q - offset) in float. */
static float dequantize(const mnet_q8_softmax_params *p, uint8_t q) {
    float centered = (float)q - (float)p->input_zero_point;
    return p->input_scale * centered;
}

/* expf((x - max) * beta) */
static float shifted_exp(const mnet_q8_softmax_params *p, uint8_t q, float max) {
    float shifted = dequantize(p, q) - max;
    float scaled = shifted * p->beta;
    return expf(scaled);
}

/* Every step is a function of the input byte alone (the maximum is the
 * dequantized largest byte: dequantize is monotonic), so the exps and the
 * final bytes are computed once per byte value present, not per element:
 * the same float operations on the same values, so the same bits, with
 * 256 expf at most instead of 2 per element (2002 for a 1001-class row). The
 * sum still runs over the elements in index order. */
void mnet_q8_softmax_float(const mnet_q8_softmax_params *p, const uint8_t *in, size_t n,
                           uint8_t *out) {
    int lo = 255, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] < lo) lo = in[i];
        if (in[i] > hi) hi = in[i];
    }
    float max = dequantize(p, (uint8_t)hi);
    float exps[256];
    for (int q = lo; q <= hi; q++) exps[q] = shifted_exp(p, (uint8_t)q, max);
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += exps[in[i]];
    uint8_t bytes[256];
    for (int q = lo; q <= hi; q++) {
        float probability = exps[q] / sum;
        /* Arm NN's Quantize: round(value / scale) + offset, clamped */
        float steps = roundf(probability / (1.0f / 256.0f));
        bytes[q] = (uint8_t)(steps < 0.0f ? 0.0f : steps > 255.0f ? 255.0f : steps);
    }
    for (size_t i = 0; i < n; i++) out[i] = bytes[in[i]];
}
