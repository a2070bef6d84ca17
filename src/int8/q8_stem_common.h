/* What the stem kernels (q8_vnni_stem.c, q8_avx2_stem_template.h) share for
 * the dense 3x3 convolution over 3 channels, whatever their vector width:
 * the packing and the per-row setup.
 * An output pixel's 27 inputs are 3 kernel rows of 9 contiguous bytes (3
 * pixels x 3 channels), read as 7 dot-product steps of 4 bytes: steps
 * 2r and 2r + 1 are bytes 0-3 and 4-7 of row r, step 6 the three rows'
 * ninth bytes and a spare byte (0, or a second copy of one tap: see
 * mnet_q8_stem_spare_tap). */
#ifndef MNET_INT8_Q8_STEM_COMMON_H
#define MNET_INT8_Q8_STEM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "int8/q8_kernels.h"

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

/* The tap (r * 9 + j: kernel row r, byte j) holding every weight whose
 * w - zw does not fit a signed byte, when there is exactly one such tap and
 * each of its weights splits into two signed bytes (w - zw in -255..254):
 * then the spare fourth byte of step 6 carries that tap's input a second
 * time, with weight (w - zw) - clamp(w - zw) (mnet_q8_stem_split), and no
 * per-pixel input sums are needed (trained uint8 stems: a handful of
 * weights just past zw + 127, all at one tap). -1 otherwise. */
static inline int mnet_q8_stem_spare_tap(const uint8_t *w, int out_c, int32_t zw) {
    int tap = -1;
    for (int o = 0; o < out_c; o++)
        for (int t = 0; t < 27; t++) {
            int d = (int)w[o * 27 + t] - zw;
            if (d >= -128 && d <= 127) continue;
            if (d > 254 || (tap >= 0 && tap != t)) return -1;
            tap = t;
        }
    return tap;
}

/* w - zw as its main signed byte (clamped) and the spare remainder. */
static inline void mnet_q8_stem_split(int d, int8_t *main_byte, int8_t *spare) {
    int m = d < -128 ? -128 : d > 127 ? 127 : d;
    *main_byte = (int8_t)m;
    *spare = (int8_t)(d - m);
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

/* Output row oy: its three input rows (NULL for a row in the padding,
 * which is skipped) and its bias[padded]: packed_bias plus the constants of
 * the padded rows (wrapping as the reference's int32 accumulation). */
static inline void mnet_q8_stem_row(const mnet_conv_geometry *g, const uint8_t *in, int oy,
                                    const int32_t *packed_bias, const int32_t *rowconst,
                                    int padded, const uint8_t **rows, int32_t *bias) {
    for (int k = 0; k < padded; k++) bias[k] = packed_bias[k];
    for (int r = 0; r < 3; r++) {
        int iy = oy * g->stride_h - g->pad_top + r;
        if (iy < 0 || iy >= g->in_h) {
            rows[r] = NULL;
            for (int k = 0; k < padded; k++)
                bias[k] = (int32_t)((uint32_t)bias[k] + (uint32_t)rowconst[r * padded + k]);
        } else {
            rows[r] = in + (size_t)iy * (size_t)g->in_w * 3;
        }
    }
}

/* The output columns [*first, *last) whose taps are all inside the row
 * (the rest read padding); empty when there are none. */
static inline void mnet_q8_stem_direct_columns(const mnet_conv_geometry *g, int *first,
                                               int *last) {
    int s = g->stride_w;
    int lo = (g->pad_left + s - 1) / s;
    int hi = g->in_w - 3 + g->pad_left < 0 ? 0 : (g->in_w - 3 + g->pad_left) / s + 1;
    if (hi > g->out_w) hi = g->out_w;
    if (lo > hi) lo = hi;
    *first = lo;
    *last = hi;
}

#endif
