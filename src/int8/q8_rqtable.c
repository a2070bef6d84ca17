/* Building the per-channel requantization table: see q8_rqtable.h. */
#include "int8/q8_rqtable.h"

static void set_i64(int32_t *row, int pair, int64_t v) {
    row[pair] = (int32_t)(uint32_t)((uint64_t)v & 0xFFFFFFFFu);
    row[pair + 1] = (int32_t)(uint32_t)((uint64_t)v >> 32);
}

void mnet_q8_rqtable_set(int32_t *table, int padded, int pos, mnet_requant r) {
    int t = 31 - r.shift, s1 = t < 32 ? t : 32, pair = pos & ~1;
    int64_t round = (int64_t)1 << (t - 1);
    table[MNET_Q8_RQ_MULT * padded + pos] = r.multiplier;
    table[MNET_Q8_RQ_SHIFT2 * padded + pos] = t - s1;
    table[MNET_Q8_RQ_ROUND32 * padded + pos] = t - s1 >= 1 ? (int32_t)1 << (t - s1 - 1) : 0;
    if (pos % 2 == 0) {
        set_i64(table + MNET_Q8_RQ_ROUND_EVEN * padded, pair, round);
        set_i64(table + MNET_Q8_RQ_SHR_EVEN * padded, pair, s1);
    } else {
        set_i64(table + MNET_Q8_RQ_MULT_ODD * padded, pair, r.multiplier);
        set_i64(table + MNET_Q8_RQ_ROUND_ODD * padded, pair, round);
        set_i64(table + MNET_Q8_RQ_SHL_ODD * padded, pair, 32 - s1);
    }
}

int mnet_q8_rqtable_fill(int32_t *table, int padded, int out_c, const mnet_q8_conv_params *p) {
    int any_short = 0;
    for (int c = 0; c < padded; c++) {
        mnet_requant r = c < out_c ? mnet_q8_channel_requant(p, c) : mnet_q8_rqtable_pad();
        mnet_q8_rqtable_set(table, padded, c, r);
        any_short |= c < out_c && mnet_q8_rqtable_short(r); /* padding: multiplier 0, any route */
    }
    return any_short;
}
