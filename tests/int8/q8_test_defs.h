/* Straightforward 64-bit definitions of TFLite's requantization, written
 * from the rounding rules rather than from the fixed-point code: the
 * doubling high multiply rounds x*M/2^31 half up, the power-of-two division
 * rounds half away from zero. Shared by the int8 tests as the oracle. */
#ifndef MNET_TEST_Q8_DEFS_H
#define MNET_TEST_Q8_DEFS_H

#include <stdint.h>

static int64_t def_floor_div(int64_t a, int64_t b) { /* b > 0 */
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* round(a*b / 2^31), halves up; saturates the one overflowing case */
static int64_t def_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return def_floor_div((int64_t)a * b + ((int64_t)1 << 30), (int64_t)1 << 31);
}

/* round(x / 2^e), halves away from zero */
static int64_t def_div_pot(int64_t x, int e) {
    if (e == 0) return x;
    int64_t mag = x < 0 ? -x : x;
    int64_t r = (mag + ((int64_t)1 << (e - 1))) >> e;
    return x < 0 ? -r : r;
}

static int64_t def_requant(int32_t x, int32_t multiplier, int shift) {
    int64_t shifted = shift > 0 ? (int64_t)(int32_t)((uint32_t)x << shift) : x;
    return def_div_pot(def_high_mul((int32_t)shifted, multiplier), shift > 0 ? 0 : -shift);
}

#endif
