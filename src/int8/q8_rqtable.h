/* Per-output-channel requantization constants in the form the vector
 * kernels use, built at pack time (from channel_requant, or the per-tensor
 * requant repeated) and stored after the packed weights.
 *
 * The arithmetic is requant.h's single rounding, y = (x * q + 2^(t-1)) >> t
 * with t = 31 - shift in 1..62, on 64-bit products: vpmuldq multiplies the
 * even int32 lanes (and, after a 64-bit shift by 32, the odd ones) into
 * int64, the rounding nudge is added as int64, and the shift is split in
 * two, both exact:
 *   s1 = min(t, 32): a logical 64-bit shift of a by s1 keeping the low 32 bits
 *                    (for t <= 32 these are the result's low 32 bits; for
 *                    t > 32 they are floor(a / 2^32), which fits int32
 *                    because |a| < 2^63)
 *   s2 = t - s1:     an arithmetic 32-bit shift of that (floor(floor(a/2^32)
 *                    / 2^s2) = floor(a / 2^t))
 * Both run on AVX2 (which has no 64-bit arithmetic shift). The odd lanes
 * take their 32 bits as the HIGH half of a << (32 - s1), already in place
 * for the blend with the even lanes.
 *
 * Rows of `padded` int32 each (padded: out_c rounded up to the kernels'
 * channel block, an even number; extra channels get multiplier 0). Some
 * rows hold one int64 per pair of positions (2k, 2k + 1), read as a 64-bit
 * lane by the vector code (little endian: low half at 2k):
 *   mult       Q0.31 multiplier of each position
 *   mult_odd   at 2k: the multiplier of 2k + 1 (at 2k + 1: 0)
 *   round_even int64 2^(t-1) of position 2k
 *   round_odd  int64 2^(t-1) of position 2k + 1
 *   shr_even   at 2k: s1 of 2k (at 2k + 1: 0, so the int64 count is s1)
 *   shl_odd    at 2k: 32 - s1 of 2k + 1 (at 2k + 1: 0)
 *   shift2     s2 of each position
 *   round32    2^(s2-1) of each position (0 where s2 = 0)
 *
 * Long shifts (t >= 33 for every channel, the usual case: multipliers below
 * 1/2) take a shorter route: the nudge moves after the first shift, as the
 * int32 2^(s2-1) added to floor(x q / 2^32), which is exact because
 * floor((floor(a / 2^32) + 2^(s2-1)) / 2^s2) = floor((a + 2^(t-1)) / 2^t) for
 * an integer nudge; it saves the two 64-bit adds (mnet_q8_rqtable_apply_long). */
#ifndef MNET_INT8_Q8_RQTABLE_H
#define MNET_INT8_Q8_RQTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "int8/q8_ref.h"

enum { MNET_Q8_RQ_MULT, MNET_Q8_RQ_MULT_ODD, MNET_Q8_RQ_ROUND_EVEN, MNET_Q8_RQ_ROUND_ODD,
       MNET_Q8_RQ_SHR_EVEN, MNET_Q8_RQ_SHL_ODD, MNET_Q8_RQ_SHIFT2, MNET_Q8_RQ_ROUND32,
       MNET_Q8_RQ_ROWS };

static inline size_t mnet_q8_rqtable_bytes(int padded) {
    return (size_t)MNET_Q8_RQ_ROWS * (size_t)padded * sizeof(int32_t);
}

/* The constants of padding positions: multiplier 0 with t = 32 (result 0,
 * and no variable shift needed). */
static inline mnet_requant mnet_q8_rqtable_pad(void) {
    mnet_requant r = {0, -1};
    return r;
}

/* Whether r needs the general route: t <= 32 (shift >= -1), where the
 * kernels use the variable 64-bit shifts and the int64 nudge; a table of
 * channels that all have t >= 33 runs the long-shift route. */
static inline int mnet_q8_rqtable_short(mnet_requant r) { return r.shift >= -1; }

/* Sets the constants of position pos (kernels may store channels
 * permuted); writes only cells that belong to pos. */
void mnet_q8_rqtable_set(int32_t *table, int padded, int pos, mnet_requant r);

/* Fills the table for out_c channels of p in channel order; returns 1 if any
 * channel needs the general route (mnet_q8_rqtable_short). */
int mnet_q8_rqtable_fill(int32_t *table, int padded, int out_c, const mnet_q8_conv_params *p);

static inline int64_t mnet_q8_rqtable_i64(const int32_t *row, int pair) {
    return (int64_t)((uint64_t)(uint32_t)row[pair] | ((uint64_t)(uint32_t)row[pair + 1] << 32));
}

/* One value through the table's arithmetic, step by step as the vector code
 * does it (the scalar twin; tests check it against mnet_requant_apply). */
static inline int32_t mnet_q8_rqtable_apply(int32_t x, const int32_t *table, int padded, int c) {
    int pair = c & ~1;
    uint32_t lo32;
    if (c % 2 == 0) {
        uint64_t a = (uint64_t)((int64_t)x * table[MNET_Q8_RQ_MULT * padded + c]) +
                     (uint64_t)mnet_q8_rqtable_i64(table + MNET_Q8_RQ_ROUND_EVEN * padded, pair);
        lo32 = (uint32_t)(a >> mnet_q8_rqtable_i64(table + MNET_Q8_RQ_SHR_EVEN * padded, pair));
    } else {
        uint64_t a = (uint64_t)((int64_t)x * table[MNET_Q8_RQ_MULT_ODD * padded + pair]) +
                     (uint64_t)mnet_q8_rqtable_i64(table + MNET_Q8_RQ_ROUND_ODD * padded, pair);
        lo32 = (uint32_t)((a << mnet_q8_rqtable_i64(table + MNET_Q8_RQ_SHL_ODD * padded, pair)) >> 32);
    }
    int32_t h = (int32_t)lo32;
    int s2 = table[MNET_Q8_RQ_SHIFT2 * padded + c];
    return h >= 0 ? h >> s2 : ~(~h >> s2); /* arithmetic shift, portably */
}

/* The long-shift route (every real channel t >= 33) for one value: the high
 * half of the product, the int32 nudge, the arithmetic shift. */
static inline int32_t mnet_q8_rqtable_apply_long(int32_t x, const int32_t *table, int padded, int c) {
    int64_t prod = (int64_t)x * table[MNET_Q8_RQ_MULT * padded + c];
    int32_t hi = (int32_t)(prod >= 0 ? prod >> 32 : ~(~prod >> 32)); /* |prod| < 2^62: fits */
    int32_t h = hi + table[MNET_Q8_RQ_ROUND32 * padded + c];          /* |hi| < 2^30 */
    int s2 = table[MNET_Q8_RQ_SHIFT2 * padded + c];
    return h >= 0 ? h >> s2 : ~(~h >> s2);
}

#endif
