/* Shared helpers of the x86 kernel templates. Include after simd_<isa>.h. */
#ifndef MNET_X86_TEMPLATE_COMMON_H
#define MNET_X86_TEMPLATE_COMMON_H

#include <math.h>

#include "mnet.h"

/* Tile functions take their tile sizes as arguments and are forced inline
 * into callers that pass constants: each call site becomes one fully
 * unrolled register tile, without writing every size out by hand. */
#define X86_INLINE static inline __attribute__((always_inline))

/* Clamp bounds that turn vec_clamp into the activation. With NONE the
 * bounds are infinite, so finite values and NaN pass unchanged. */
static inline vec act_lower_bound(mnet_activation act) {
    return act == MNET_ACT_NONE ? vec_set1(-INFINITY) : vec_zero();
}
static inline vec act_upper_bound(mnet_activation act) {
    return vec_set1(act == MNET_ACT_RELU6 ? 6.0f : INFINITY);
}

/* Hides how p was computed from the optimizer. Without it clang turns
 * every pixel x tap address of a tile into its own induction pointer, runs
 * out of integer registers and spills them inside the FMA loop. */
#define X86_OPAQUE(p) __asm__("" : "+r"(p))

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }

/* Taps k in [0, kernel) whose input index start + k * dilation lies in
 * [0, size) form one contiguous range; returns it as [*lo, *hi). */
static inline void valid_tap_range(int start, int kernel, int dilation, int size, int *lo,
                                   int *hi) {
    int k = 0;
    while (k < kernel && start + k * dilation < 0) k++;
    *lo = k;
    while (k < kernel && start + k * dilation < size) k++;
    *hi = k;
}

/* Output columns [*lo, *hi) whose every tap 0..kernel-1 lies inside the
 * input row (the interior, no bounds checks needed); lo <= hi <= out_w. */
static inline void interior_columns(int out_w, int in_w, int kernel, int stride, int dilation,
                                    int pad_left, int *lo, int *hi) {
    int first = 0;
    while (first < out_w && first * stride - pad_left < 0) first++;
    int last = first;
    while (last < out_w && last * stride - pad_left + (kernel - 1) * dilation < in_w) last++;
    *lo = first;
    *hi = last;
}

#endif
