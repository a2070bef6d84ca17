/* Choosing the uint8 kernel table. */
#include <math.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "int8/q8_x86.h"
#include "kernels/cpu_features.h"

const mnet_q8_kernels mnet_q8_kernels_ref = {.isa = "ref"};

void mnet_q8_ref_quantize(const float *in, size_t count, float scale, int32_t zero_point,
                          uint8_t *out) {
    for (size_t i = 0; i < count; i++) {
        float v = roundf(in[i] / scale) + (float)zero_point; /* TFLite's QUANTIZE rounding */
        out[i] = (uint8_t)(v >= 0.0f ? (v <= 255.0f ? v : 255.0f) : 0.0f); /* NaN -> 0 */
    }
}

int mnet_q8_scale_is_power_of_two(float scale) {
    int exponent;
    if (!(scale > 0.0f) || frexpf(scale, &exponent) != 0.5f) return 0;
    float inverse = 1.0f / scale;
    return isnormal(inverse);
}

static int can_avx512vnni(const mnet_cpu_features *f) {
    return mnet_cpu_can_run_avx512(f) && f->avx512vnni && mnet_q8_kernels_avx512vnni.pointwise;
}

static int can_avxvnni(const mnet_cpu_features *f) {
    return mnet_cpu_can_run_avx2(f) && f->avxvnni && mnet_q8_kernels_avxvnni.pointwise;
}

static int can_avx2(const mnet_cpu_features *f) {
    return mnet_cpu_can_run_avx2(f) && mnet_q8_kernels_avx2.pointwise;
}

const mnet_q8_kernels *mnet_q8_kernels_select(const char *isa) {
    if (isa && strcmp(isa, "ref") == 0) return &mnet_q8_kernels_ref;
    int want_any = !isa || !isa[0];
    int want_avx512 = want_any || strcmp(isa, "avx512") == 0;
    if (!want_avx512 && strcmp(isa, "avx2") != 0) return NULL;
    mnet_cpu_features f = mnet_cpu_features_detect();
    if (want_avx512 && can_avx512vnni(&f)) return &mnet_q8_kernels_avx512vnni;
    if (can_avxvnni(&f)) return &mnet_q8_kernels_avxvnni;
    if (can_avx2(&f)) return &mnet_q8_kernels_avx2;
    return &mnet_q8_kernels_ref;
}

int mnet_q8_kernels_available(const mnet_q8_kernels **out, int max) {
    mnet_cpu_features f = mnet_cpu_features_detect();
    int n = 0;
    if (n < max && can_avx512vnni(&f)) out[n++] = &mnet_q8_kernels_avx512vnni;
    if (n < max && can_avxvnni(&f)) out[n++] = &mnet_q8_kernels_avxvnni;
    if (n < max && can_avx2(&f)) out[n++] = &mnet_q8_kernels_avx2;
    if (n < max) out[n++] = &mnet_q8_kernels_ref;
    return n;
}
