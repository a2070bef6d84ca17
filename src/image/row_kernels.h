/* The inner loops of preprocessing, one table per instruction set: the
 * horizontal filter over one source row (which also decodes the pixel
 * format), the vertical accumulation of filtered rows, and the final
 * normalization of a network line. Every table honours the same contracts;
 * they differ only in float summation order (max difference well below
 * 1e-4 on the normalized output, see tests/image/test_preprocess_simd.c). */
#ifndef MNET_IMAGE_ROW_KERNELS_H
#define MNET_IMAGE_ROW_KERNELS_H

#include <stddef.h>

#include "image/pixel_source.h"

typedef struct mnet_image_row_kernels {
    const char *name;
    /* Contract of mnet_pixel_source_accumulate_row. */
    void (*accumulate_row)(const mnet_pixel_source *src, int row, const float *taps, int count,
                           float inv_filter_scale, float weight, float *acc);
    /* acc[i] += weight * row[i] for i in [0, n). */
    void (*add_scaled)(float *acc, const float *row, float weight, size_t n);
    /* out[3k + c] = (rgb[3k + c] - mean[c]) / std[c] for k in [0, pixels):
     * channel order kept, network pixels contiguous. */
    void (*normalize_rgb)(const float *rgb, float *out, size_t pixels, const float mean[3],
                          const float std[3]);
} mnet_image_row_kernels;

extern const mnet_image_row_kernels mnet_image_row_kernels_ref;
#if defined(__x86_64__) || defined(__i386__)
extern const mnet_image_row_kernels mnet_image_row_kernels_avx2;
extern const mnet_image_row_kernels mnet_image_row_kernels_avx512;
#endif

/* The table named "ref", "avx2" or "avx512", NULL if unknown or not
 * runnable on this CPU. NULL or "" = the best for this CPU. */
const mnet_image_row_kernels *mnet_image_row_kernels_named(const char *name);

/* What mnet_image_to_input uses: the environment variable MNET_ISA (same
 * rule as model loading) when set, else the best for this CPU; an unknown
 * or unrunnable request falls back to the best available. */
const mnet_image_row_kernels *mnet_image_row_kernels_select(void);

#endif
