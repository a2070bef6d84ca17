/* Reference channel concatenation of HWC tensors. */
#include <stddef.h>
#include <string.h>

#include "kernels/ref/ref_kernels.h"

void mnet_ref_concat_channels_f32(size_t pixels, int n, const int *channels,
                                  const float *const *inputs, float *out) {
    size_t out_c = 0;
    for (int t = 0; t < n; t++) out_c += (size_t)channels[t];
    for (size_t p = 0; p < pixels; p++) {
        float *dst = out + p * out_c;
        for (int t = 0; t < n; t++) {
            const size_t c = (size_t)channels[t];
            memcpy(dst, inputs[t] + p * c, c * sizeof(float));
            dst += c;
        }
    }
}
