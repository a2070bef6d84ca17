/* TFLite's integer requantization arithmetic (gemmlowp fixed point), so that
 * quantized layers give the bits of TFLite's reference kernels:
 *
 *   real multiplier M (a double) = q * 2^shift, q a Q0.31 value in [0.5, 1)
 *   y = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(shift,0), q),
 *                           max(-shift, 0))
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

static inline int32_t mnet_requant_apply(int32_t x, mnet_requant r) {
    int left = r.shift > 0 ? r.shift : 0;
    int right = r.shift > 0 ? 0 : -r.shift;
    /* x * 2^left may overflow int32 in TFLite too; it wraps there (two's
     * complement), so do the same through unsigned arithmetic */
    int32_t shifted = (int32_t)((uint32_t)x << left);
    return mnet_rounding_divide_by_pot(mnet_srdhm(shifted, r.multiplier), right);
}

static inline int32_t mnet_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

#endif
