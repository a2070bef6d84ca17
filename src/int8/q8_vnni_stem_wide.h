/* AVX-512 VBMI + VNNI stem rows (q8_vnni_stem_wide.c): the direct pixels
 * (every tap inside the image row) of one output row of the 3x3, 3 -> 32
 * channel stem, 16 pixels per pass with the pixels in the vector lanes;
 * q8_vnni_stem.c calls it for per-tensor requantization on CPUs with VBMI
 * and does the rest (padded pixels, other shapes) itself. */
#ifndef MNET_INT8_Q8_VNNI_STEM_WIDE_H
#define MNET_INT8_Q8_VNNI_STEM_WIDE_H

#include <stdint.h>

typedef struct mnet_q8_stem_wide {
    const int32_t *weights; /* [32][8]: channel c's step k dword (4 signed bytes), k < 7 */
    const int32_t *table;   /* the requantization table (uniform: any position) */
    int padded, any_short;
    int32_t zero_point, out_min, out_max;
    int step;  /* input bytes between adjacent output pixels (3 x stride) */
    int spare; /* the spare tap (r * 9 + j), or -1 */
    int32_t sum_scale; /* o - zw: (o - zw) sum x added per pixel (q8_vnni_stem.c), or 0 */
    int float_route; /* requantize as mnet_q8_float_requant_find found */
    float scale, offset;
} mnet_q8_stem_wide;

/* Whether this CPU has AVX-512 VBMI (the byte permutes this kernel uses). */
int mnet_q8_stem_wide_cpu(void);

/* count >= 16 adjacent direct output pixels, the first one's taps from
 * byte `start` of each row (rows[r] NULL: a padded row, whose share is in
 * bias), bias: the row's per-channel bias (channel order); 32 bytes per
 * pixel to dst. Reads only the taps' bytes. */
void mnet_q8_stem_wide_row(const mnet_q8_stem_wide *w, const uint8_t *const rows[3], long start,
                           int count, const int32_t bias[32], uint8_t *dst);

#endif
