/* What the stem kernels (q8_vnni_stem.c, q8_avx2_stem_template.h) pack for
 * the dense 3x3 convolution over 3 channels, whatever their vector width.
 * An output pixel's 27 inputs are 3 kernel rows of 9 contiguous bytes (3
 * pixels x 3 channels), read as 7 dot-product steps of 4 bytes: steps
 * 2r and 2r + 1 are bytes 0-3 and 4-7 of row r, step 6 the three rows'
 * ninth bytes and a 0. */
#ifndef MNET_INT8_Q8_STEM_PACK_H
#define MNET_INT8_Q8_STEM_PACK_H

#include <stdint.h>

enum { MNET_Q8_STEM_STEPS = 7, MNET_Q8_STEM_TAPS = 27 };

/* Whether every w - zw of the n weights fits a signed byte (then the
 * weights are stored as w - zw and no per-pixel input sums are needed). */
static inline int mnet_q8_stem_weights_fit_int8(const uint8_t *w, int n, int32_t zw) {
    for (int i = 0; i < n; i++) {
        int d = (int)w[i] - zw;
        if (d < -128 || d > 127) return 0;
    }
    return 1;
}

/* The step and the byte in it (0-3) of kernel row r's byte j (0-8). */
static inline void mnet_q8_stem_slot(int r, int j, int *step, int *at) {
    *step = j < 8 ? 2 * r + j / 4 : 6;
    *at = j < 8 ? j % 4 : r;
}

/* One output channel's constants at packed position pos, from its 27
 * weights w (OHWI): rowconst[r * padded + pos] = zx sum (w - zw) over
 * kernel row r (what a row in the padding adds, reading zx at its taps),
 * and packed_bias[pos] = bias - zx sum (w - zw) over all 27; both wrap to
 * int32 as the reference's int32 accumulation does. */
static inline void mnet_q8_stem_channel_constants(const uint8_t *w, int32_t bias, int32_t zx,
                                                  int32_t zw, int padded, int pos,
                                                  int32_t *rowconst, int32_t *packed_bias) {
    int64_t total = 0;
    for (int r = 0; r < 3; r++) {
        int64_t row = 0;
        for (int j = 0; j < 9; j++) row += (int64_t)w[r * 9 + j] - zw;
        rowconst[r * padded + pos] = (int32_t)(uint32_t)(uint64_t)(zx * row);
        total += row;
    }
    packed_bias[pos] = (int32_t)(uint32_t)(uint64_t)((int64_t)bias - (int64_t)zx * total);
}

#endif
