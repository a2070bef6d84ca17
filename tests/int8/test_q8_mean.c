/* The quantized global MEAN (q8_mean.c): hand-worked cases of TFLite's
 * rounding, the 64-bit definition of q8_test_defs.h on random shapes, the
 * real-valued mean within one step, and the int8 -> uint8 (+128) shift
 * leaving every output unchanged. */
#include <string.h>

#include "int8/q8_mean.h"
#include "q8_test_defs.h"
#include "test_util.h"

static int64_t def_mean(const uint8_t *in, int count, int c, int ch, const mnet_q8_mean_params *p) {
    int64_t sum = 0;
    for (int i = 0; i < count; i++) sum += (int64_t)in[i * c + ch] - p->input_zero_point;
    int64_t r = def_requant((int32_t)sum, p->requant.multiplier, p->requant.shift);
    int64_t mag = r < 0 ? -r : r;
    int64_t q = (mag + count / 2) / count; /* half away from zero */
    int64_t v = (r < 0 ? -q : q) + p->output_zero_point;
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

int main(void) {
    /* 2x2, one channel, same scales: sums 6 and -6 over 4 round away from zero */
    mnet_q8_mean_params same = mnet_q8_mean_params_init(0.5f, 128, 0.5f, 100);
    uint8_t up[4] = {130, 131, 129, 128}, down[4] = {126, 125, 127, 128}, out = 0;
    mnet_q8_ref_mean(2, 2, 1, &same, up, &out);
    CHECK_MSG(out == 102, "mean of +6/4 -> %d", out);
    mnet_q8_ref_mean(2, 2, 1, &same, down, &out);
    CHECK_MSG(out == 98, "mean of -6/4 -> %d", out);
    /* rescaling before the division: scale ratio 2 doubles the mean */
    mnet_q8_mean_params twice = mnet_q8_mean_params_init(1.0f, 128, 0.5f, 128);
    mnet_q8_ref_mean(2, 2, 1, &twice, up, &out);
    CHECK_MSG(out == 131, "2 * 6/4 -> %d", out);
    /* clamping */
    uint8_t high[4] = {255, 255, 255, 255};
    mnet_q8_mean_params big = mnet_q8_mean_params_init(4.0f, 0, 0.5f, 0);
    mnet_q8_ref_mean(2, 2, 1, &big, high, &out);
    CHECK(out == 255);

    test_rng rng = {0x243f6a8885a308d3ull};
    for (int iter = 0; iter < 300; iter++) {
        int h = test_rng_int(&rng, 1, 12), w = test_rng_int(&rng, 1, 12);
        int c = test_rng_int(&rng, 1, 70);
        float in_scale = test_rng_float(&rng, 0.005f, 0.2f);
        float out_scale = in_scale * test_rng_float(&rng, 0.3f, 3.0f);
        int32_t in_zp = test_rng_int(&rng, 0, 255), out_zp = test_rng_int(&rng, 0, 255);
        mnet_q8_mean_params p = mnet_q8_mean_params_init(in_scale, in_zp, out_scale, out_zp);
        int count = h * w;
        uint8_t *in = malloc((size_t)count * c), *res = malloc((size_t)c);
        for (int i = 0; i < count * c; i++) in[i] = (uint8_t)test_rng_int(&rng, 1, 255);
        mnet_q8_ref_mean(h, w, c, &p, in, res);
        for (int ch = 0; ch < c; ch++) {
            int64_t want = def_mean(in, count, c, ch, &p);
            CHECK_MSG(res[ch] == want, "%dx%dx%d ch %d: %d, definition %lld", h, w, c, ch,
                      res[ch], (long long)want);
            double sum = 0;
            for (int i = 0; i < count; i++) sum += (double)in[i * c + ch] - in_zp;
            double real = (double)in_scale * sum / count / (double)out_scale + out_zp;
            if (real > 0.5 && real < 254.5)
                CHECK_MSG(fabs((double)res[ch] - real) <= 1.0, "ch %d: %d vs real %f", ch,
                          res[ch], real);
        }
        /* an int8 tensor (values and zero point in -128..127) runs as uint8
         * shifted by +128: q - zero_point, hence the output, is unchanged */
        {
            uint8_t *low = malloc((size_t)count * c), *high = malloc((size_t)count * c);
            uint8_t *res_low = malloc((size_t)c), *res_high = malloc((size_t)c);
            for (int i = 0; i < count * c; i++) {
                low[i] = (uint8_t)(in[i] >> 1);
                high[i] = (uint8_t)(low[i] + 128);
            }
            mnet_q8_mean_params pl = mnet_q8_mean_params_init(in_scale, in_zp >> 1, out_scale, out_zp);
            mnet_q8_mean_params ph =
                mnet_q8_mean_params_init(in_scale, (in_zp >> 1) + 128, out_scale, out_zp);
            mnet_q8_ref_mean(h, w, c, &pl, low, res_low);
            mnet_q8_ref_mean(h, w, c, &ph, high, res_high);
            CHECK(memcmp(res_low, res_high, (size_t)c) == 0);
            free(low);
            free(high);
            free(res_low);
            free(res_high);
        }
        free(in);
        free(res);
    }
    TEST_MAIN_END();
}
