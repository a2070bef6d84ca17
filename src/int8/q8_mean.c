/* TFLite's quantized global MEAN: see q8_mean.h. */
#include "int8/q8_mean.h"

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
    int32_t count = h * w;
    for (int ch = 0; ch < c; ch++) {
        int32_t acc = 0;
        for (int i = 0; i < count; i++) acc += (int32_t)in[(long)i * c + ch] - p->input_zero_point;
        acc = mnet_requant_apply(acc, p->requant);
        /* C division truncates toward zero, as C++'s: half away from zero */
        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        out[ch] = (uint8_t)mnet_clamp_i32(acc + p->output_zero_point, p->out_min, p->out_max);
    }
}
