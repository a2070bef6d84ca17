/* Per-output-channel requantization constants in the form the vector
 * kernels use, built at pack time (from channel_requant, or the per-tensor
 * requant repeated) and stored after the packed weights.
 *
 * Rows of `padded` int32 each (padded: out_c rounded up to the kernels'
 * channel block, extra channels get multiplier 0):
 *   mult   Q0.31 multiplier
 *   left   left shift  max(shift, 0)
 *   right  right shift max(-shift, 0)
 *   mask   (1 << right) - 1
 *   thr    right > 0 ? (1 << (right - 1)) - 1 : 0
 * With h = SaturatingRoundingDoublingHighMul(x << left, mult), computed as
 * floor((h64 + 2^30) / 2^31) (equal to gemmlowp's for every multiplier but
 * INT32_MIN, which a Q0.31 value in [2^30, 2^31) never is), the rounding
 * division by 2^right is
 *   (h >> right) + ((h & mask) + (h >> 31) > thr)
 * i.e. halves away from zero, without the overflow of h + 2^(right-1). */
#ifndef MNET_INT8_Q8_RQTABLE_H
#define MNET_INT8_Q8_RQTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "int8/q8_ref.h"

enum { MNET_Q8_RQ_MULT, MNET_Q8_RQ_LEFT, MNET_Q8_RQ_RIGHT, MNET_Q8_RQ_MASK, MNET_Q8_RQ_THR,
       MNET_Q8_RQ_ROWS };

static inline size_t mnet_q8_rqtable_bytes(int padded) {
    return (size_t)MNET_Q8_RQ_ROWS * (size_t)padded * sizeof(int32_t);
}

/* Sets the constants at position pos (kernels may store channels permuted). */
void mnet_q8_rqtable_set(int32_t *table, int padded, int pos, mnet_requant r);

/* Fills the table for out_c channels of p in channel order; returns 1 if any channel shifts
 * left (the kernels skip the variable left shift otherwise). */
int mnet_q8_rqtable_fill(int32_t *table, int padded, int out_c, const mnet_q8_conv_params *p);

/* One value through the table's arithmetic (the scalar twin of the vector
 * code; tests check it against mnet_requant_apply). */
static inline int32_t mnet_q8_rqtable_apply(int32_t x, const int32_t *table, int padded, int c) {
    const int32_t *t = table + c;
    int32_t shifted = (int32_t)((uint32_t)x << t[MNET_Q8_RQ_LEFT * padded]);
    int64_t prod = (int64_t)shifted * t[MNET_Q8_RQ_MULT * padded] + ((int64_t)1 << 30);
    /* floor division by 2^31 (prod < 0 -> rounds toward minus infinity) */
    int32_t h = (int32_t)(prod >= 0 ? prod / ((int64_t)1 << 31)
                                    : -((-prod + ((int64_t)1 << 31) - 1) / ((int64_t)1 << 31)));
    int right = t[MNET_Q8_RQ_RIGHT * padded];
    int32_t floor_div = h >= 0 ? h >> right : ~(~h >> right);
    int32_t sign = h < 0 ? -1 : 0;
    return floor_div + ((h & t[MNET_Q8_RQ_MASK * padded]) + sign > t[MNET_Q8_RQ_THR * padded]);
}

#endif
