/* Building the per-channel requantization table: see q8_rqtable.h. */
#include "int8/q8_rqtable.h"

void mnet_q8_rqtable_set(int32_t *table, int padded, int pos, mnet_requant r) {
    int left = r.shift > 0 ? r.shift : 0, right = r.shift > 0 ? 0 : -r.shift;
    table[MNET_Q8_RQ_MULT * padded + pos] = r.multiplier;
    table[MNET_Q8_RQ_LEFT * padded + pos] = left;
    table[MNET_Q8_RQ_RIGHT * padded + pos] = right;
    table[MNET_Q8_RQ_MASK * padded + pos] = (int32_t)(((int64_t)1 << right) - 1);
    table[MNET_Q8_RQ_THR * padded + pos] =
        right > 0 ? (int32_t)(((int64_t)1 << (right - 1)) - 1) : 0;
}

int mnet_q8_rqtable_fill(int32_t *table, int padded, int out_c, const mnet_q8_conv_params *p) {
    int any_left = 0;
    for (int c = 0; c < padded; c++) {
        mnet_requant r = c < out_c ? mnet_q8_channel_requant(p, c) : (mnet_requant){0, 0};
        mnet_q8_rqtable_set(table, padded, c, r);
        any_left |= r.shift > 0;
    }
    return any_left;
}
