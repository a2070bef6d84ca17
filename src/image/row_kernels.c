/* The scalar row kernels and the choice among the tables. */
#include "image/row_kernels.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/cpu_features.h"

static void add_scaled_ref(float *acc, const float *row, float weight, size_t n) {
    for (size_t i = 0; i < n; i++) acc[i] += weight * row[i];
}

static void normalize_rgb_ref(const float *rgb, float *out, size_t pixels, const float mean[3],
                              const float std[3]) {
    for (size_t k = 0; k < pixels; k++)
        for (int c = 0; c < 3; c++) out[3 * k + c] = (rgb[3 * k + c] - mean[c]) / std[c];
}

const mnet_image_row_kernels mnet_image_row_kernels_ref = {
    "ref", mnet_pixel_source_accumulate_row, add_scaled_ref, normalize_rgb_ref};

static const mnet_image_row_kernels *best(void) {
#if defined(__x86_64__) || defined(__i386__)
    mnet_cpu_features f = mnet_cpu_features_detect();
    if (mnet_cpu_can_run_avx512(&f)) return &mnet_image_row_kernels_avx512;
    if (mnet_cpu_can_run_avx2(&f)) return &mnet_image_row_kernels_avx2;
#endif
    return &mnet_image_row_kernels_ref;
}

const mnet_image_row_kernels *mnet_image_row_kernels_named(const char *name) {
    if (!name || !name[0]) return best();
    if (strcmp(name, "ref") == 0) return &mnet_image_row_kernels_ref;
#if defined(__x86_64__) || defined(__i386__)
    mnet_cpu_features f = mnet_cpu_features_detect();
    if (strcmp(name, "avx2") == 0 && mnet_cpu_can_run_avx2(&f))
        return &mnet_image_row_kernels_avx2;
    if (strcmp(name, "avx512") == 0 && mnet_cpu_can_run_avx512(&f))
        return &mnet_image_row_kernels_avx512;
#endif
    return NULL;
}

const mnet_image_row_kernels *mnet_image_row_kernels_select(void) {
    const mnet_image_row_kernels *k = mnet_image_row_kernels_named(getenv("MNET_ISA"));
    return k ? k : best();
}
