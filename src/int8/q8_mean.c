/* TFLite's quantized global MEAN: see q8_mean.h. */
#include "int8/q8_mean.h"

#include "int8/q8_ref.h"

mnet_q8_mean_params mnet_q8_mean_params_init(float input_scale, int32_t input_zero_point,
                                             float output_scale, int32_t output_zero_point) {
    mnet_q8_mean_params p;
    p.input_zero_point = input_zero_point;
    p.output_zero_point = output_zero_point;
    p.requant = mnet_requant_from_real((double)input_scale / (double)output_scale);
    p.out_min = 0;
    p.out_max = 255;
    return p;
}

void mnet_q8_ref_mean(int h, int w, int c, const mnet_q8_mean_params *p, const uint8_t *in,
                      uint8_t *out) {
    mnet_q8_mean(h, w, c, p, in, out, NULL);
}

void mnet_q8_mean(int h, int w, int c, const mnet_q8_mean_params *p, const uint8_t *in,
                  uint8_t *out, mnet_q8_channel_sums_fn sums_fn) {
    if (!sums_fn) sums_fn = mnet_q8_ref_channel_sums;
    int32_t count = h * w;
    int32_t sums[MNET_Q8_POOL_CHANNEL_CHUNK];
    for (int c0 = 0; c0 < c; c0 += MNET_Q8_POOL_CHANNEL_CHUNK) {
        int n = c - c0 < MNET_Q8_POOL_CHANNEL_CHUNK ? c - c0 : MNET_Q8_POOL_CHANNEL_CHUNK;
        sums_fn(in + c0, count, c, n, p->input_zero_point, sums);
        for (int j = 0; j < n; j++) {
            int32_t acc = mnet_requant_apply(sums[j], p->requant);
            /* C division truncates toward zero, as C++'s: half away from zero */
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
            out[c0 + j] =
                (uint8_t)mnet_clamp_i32(acc + p->output_zero_point, p->out_min, p->out_max);
        }
    }
}
