/* Straightforward 64-bit definitions of TFLite's fixed-point arithmetic,
 * written from the rounding rules rather than from the fixed-point code: the
 * doubling high multiply rounds x*M/2^31 half up, the power-of-two division
 * rounds half away from zero (both used by the softmax), and the
 * requantization in TFLite's single-rounding form rounds x*M once, half up.
 * Shared by the int8 tests as the oracle. */
#ifndef MNET_TEST_Q8_DEFS_H
#define MNET_TEST_Q8_DEFS_H

#include <stdint.h>

static inline int64_t def_floor_div(int64_t a, int64_t b) { /* b > 0 */
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* round(a*b / 2^31), halves up; saturates the one overflowing case */
static inline int64_t def_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return def_floor_div((int64_t)a * b + ((int64_t)1 << 30), (int64_t)1 << 31);
}

/* round(x / 2^e), halves away from zero */
static inline int64_t def_div_pot(int64_t x, int e) {
    if (e == 0) return x;
    int64_t mag = x < 0 ? -x : x;
    int64_t r = (mag + ((int64_t)1 << (e - 1))) >> e;
    return x < 0 ? -r : r;
}

/* TFLite's MultiplyByQuantizedMultiplier under TFLITE_SINGLE_ROUNDING:
 * x * multiplier / 2^(31 - shift) rounded to the nearest integer, halves up,
 * by an exact floor division (|x * multiplier| < 2^62 fits int64); TFLite's
 * cast to int32 wraps (two's complement) when the value does not fit. */
static inline int64_t def_requant(int32_t x, int32_t multiplier, int shift) {
    int64_t d = (int64_t)1 << (31 - shift);
    int64_t v = def_floor_div((int64_t)x * multiplier + d / 2, d);
    return (int64_t)(int32_t)(uint32_t)(uint64_t)v;
}

#endif
