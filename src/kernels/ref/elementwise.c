/* Reference element-wise kernels: add, activation, softmax. */
#include <math.h>
#include <stddef.h>

#include "kernels/ref/ref_kernels.h"

void mnet_ref_add_f32(size_t n, const float *a, const float *b, mnet_activation act,
                      float *out) {
    for (size_t i = 0; i < n; i++) out[i] = mnet_ref_activate(a[i] + b[i], act);
}

void mnet_ref_activation_f32(size_t n, mnet_activation act, float *x) {
    for (size_t i = 0; i < n; i++) x[i] = mnet_ref_activate(x[i], act);
}

/* Subtracting the maximum keeps expf in range; the normalizing sum is kept
 * in double because a classifier has up to ~1000 terms of mixed size. */
void mnet_ref_softmax_f32(size_t n, const float *in, float *out) {
    if (n == 0) return;
    float max = in[0];
    for (size_t i = 1; i < n; i++)
        if (in[i] > max) max = in[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        out[i] = expf(in[i] - max);
        sum += out[i];
    }
    for (size_t i = 0; i < n; i++) out[i] = (float)((double)out[i] / sum);
}
