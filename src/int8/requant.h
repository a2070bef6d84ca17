/* TFLite's integer requantization arithmetic in its single-rounding form
 * (TFLite built with TFLITE_SINGLE_ROUNDING), so that quantized layers give
 * the bits of TFLite's reference kernels in that build:
 *
 *   real multiplier M (a double) = q * 2^shift, q a Q0.31 value in [0.5, 1)
 *   total = 31 - shift                                   (1 .. 62)
 *   y = (int64(x) * q + 2^(total - 1)) >> total          (arithmetic shift)
 *
 * i.e. x * M rounded once, halves up. TFLite's default build rounds twice
 * (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT); the single
 * rounding is the correctly rounded value, which is what float references
 * such as Arm NN's CpuRef compute (docs/INT8.md has the measured agreement).
 * The gemmlowp helpers stay: the fixed-point softmax uses them.
 *
 * The helpers are static inline because every output value of every
 * quantized layer goes through them. */
#ifndef MNET_INT8_REQUANT_H
#define MNET_INT8_REQUANT_H

#include <stdint.h>

typedef struct mnet_requant {
    int32_t multiplier; /* Q0.31, 0 or in [2^30, 2^31) */
    int shift;          /* power of two: positive = left */
} mnet_requant;

/* Splits a non-negative real multiplier into Q0.31 and a shift, rounding the
 * mantissa half away from zero (as TFLite's QuantizeMultiplier). Multipliers
 * too small to represent become 0. */
mnet_requant mnet_requant_from_real(double real);

/* (a * b * 2) >> 32 rounded to nearest, ties away from zero... as gemmlowp:
 * the nudge is +2^30 for non-negative products, 1 - 2^30 otherwise, and the
 * division truncates. The only overflow case (both INT32_MIN) saturates. */
static inline int32_t mnet_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero (0 <= exponent <= 31). */
static inline int32_t mnet_rounding_divide_by_pot(int32_t x, int exponent) {
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* arithmetic shift of a negative value: implementation-defined in C11,
     * arithmetic on every compiler mnet supports; written as a floor division
     * to stay portable */
    int32_t floor_div = (int32_t)(x >= 0 ? x >> exponent : ~(~x >> exponent));
    return floor_div + (remainder > threshold ? 1 : 0);
}

/* x * M rounded once: floor((x * q + 2^(total - 1)) / 2^total). The exact
 * value fits int64 (|x * q| < 2^62, the nudge is at most 2^61); it fits
 * int32 whenever shift <= 0. For multipliers above 1 and large x it may not:
 * TFLite casts (two's complement wrap); so does this, taking the low 32 bits. */
static inline int32_t mnet_requant_apply(int32_t x, mnet_requant r) {
    int total = 31 - r.shift;
    int64_t a = (int64_t)x * r.multiplier + ((int64_t)1 << (total - 1));
    /* floor division by 2^total, written without shifting a negative value */
    int64_t q = a >= 0 ? a >> total : ~(~a >> total);
    return (int32_t)(uint32_t)(uint64_t)q;
}

/* When x is a multiple of 2^low_zero_bits and r multiplies by exactly a
 * power of two (q = 2^30) no smaller than 2^-low_zero_bits, x * M is an
 * integer: mnet_requant_apply(x, r) is then x shifted left by the returned
 * count (modulo 2^32, as the apply), with no rounding. -1 otherwise. */
static inline int mnet_requant_exact_shift(mnet_requant r, int low_zero_bits) {
    int shift = 30 + low_zero_bits - (31 - r.shift); /* 2^30 * 2^low_zero_bits / 2^total */
    return r.multiplier == (int32_t)1 << 30 && shift >= 0 && shift <= 31 ? shift : -1;
}

static inline int32_t mnet_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

#endif
