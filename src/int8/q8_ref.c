/* Reference uint8 kernels: see q8_ref.h. */
#include "int8/q8_ref.h"

#include <math.h>

static int32_t quantize_real(float real, float scale, int32_t zero_point) {
    return zero_point + (int32_t)roundf(real / scale);
}

void mnet_q8_activation_range(mnet_activation act, float scale, int32_t zero_point,
                              int32_t *out_min, int32_t *out_max) {
    int32_t lo = 0, hi = 255;
    if (act == MNET_ACT_RELU || act == MNET_ACT_RELU6) {
        int32_t zero = quantize_real(0.0f, scale, zero_point);
        if (zero > lo) lo = zero;
    }
    if (act == MNET_ACT_RELU6) {
        int32_t six = quantize_real(6.0f, scale, zero_point);
        if (six < hi) hi = six;
    }
    *out_min = lo;
    *out_max = hi;
}

mnet_q8_conv_params mnet_q8_conv_params_init(float input_scale, int32_t input_zero_point,
                                             float weight_scale, int32_t weight_zero_point,
                                             float output_scale, int32_t output_zero_point,
                                             mnet_activation act) {
    mnet_q8_conv_params p;
    p.input_zero_point = input_zero_point;
    p.weight_zero_point = weight_zero_point;
    p.output_zero_point = output_zero_point;
    double product = (double)input_scale * (double)weight_scale;
    p.requant = mnet_requant_from_real(product / (double)output_scale);
    p.channel_requant = NULL;
    mnet_q8_activation_range(act, output_scale, output_zero_point, &p.out_min, &p.out_max);
    return p;
}

mnet_q8_add_params mnet_q8_add_params_init(float a_scale, int32_t a_zero_point, float b_scale,
                                           int32_t b_zero_point, float output_scale,
                                           int32_t output_zero_point, mnet_activation act) {
    mnet_q8_add_params p;
    p.left_shift = 20;
    p.a_zero_point = a_zero_point;
    p.b_zero_point = b_zero_point;
    p.output_zero_point = output_zero_point;
    double twice_max = 2.0 * (double)(a_scale > b_scale ? a_scale : b_scale);
    p.a_requant = mnet_requant_from_real((double)a_scale / twice_max);
    p.b_requant = mnet_requant_from_real((double)b_scale / twice_max);
    /* (1 << 20) * scale is a float product in TFLite, exact for a power of 2 */
    p.output_requant =
        mnet_requant_from_real(twice_max / ((double)(1 << p.left_shift) * (double)output_scale));
    mnet_q8_activation_range(act, output_scale, output_zero_point, &p.out_min, &p.out_max);
    return p;
}

int mnet_q8_add_shift_first(mnet_q8_add_params *p, const uint8_t **a, const uint8_t **b) {
    int shift_a = mnet_requant_exact_shift(p->a_requant, p->left_shift);
    if (shift_a >= 0) return shift_a;
    int shift_b = mnet_requant_exact_shift(p->b_requant, p->left_shift);
    if (shift_b < 0) return -1;
    const uint8_t *t = *a;
    *a = *b, *b = t;
    int32_t zp = p->a_zero_point;
    p->a_zero_point = p->b_zero_point, p->b_zero_point = zp;
    mnet_requant r = p->a_requant;
    p->a_requant = p->b_requant, p->b_requant = r;
    return shift_b;
}

void mnet_q8_ref_conv(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                      const uint8_t *in, const uint8_t *w_ohwi, const int32_t *bias,
                      uint8_t *out, int row_begin, int row_end) {
    int in_per_group = g->in_c / g->groups, out_per_group = g->out_c / g->groups;
    for (int oy = row_begin; oy < row_end; oy++)
        for (int ox = 0; ox < g->out_w; ox++)
            for (int oc = 0; oc < g->out_c; oc++) {
                int group = oc / out_per_group;
                int32_t acc = bias ? bias[oc] : 0;
                for (int ky = 0; ky < g->kernel_h; ky++) {
                    int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (int kx = 0; kx < g->kernel_w; kx++) {
                        int ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                        if (ix < 0 || ix >= g->in_w) continue;
                        const uint8_t *px =
                            in + ((size_t)iy * g->in_w + ix) * g->in_c + (size_t)group * in_per_group;
                        const uint8_t *wk =
                            w_ohwi + (((size_t)oc * g->kernel_h + ky) * g->kernel_w + kx) * in_per_group;
                        for (int ic = 0; ic < in_per_group; ic++)
                            acc += ((int32_t)px[ic] - p->input_zero_point) *
                                   ((int32_t)wk[ic] - p->weight_zero_point);
                    }
                }
                out[((size_t)oy * g->out_w + ox) * g->out_c + oc] = mnet_q8_output_channel(acc, p, oc);
            }
}

void mnet_q8_ref_pointwise(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *in,
                           const uint8_t *w_oi, const int32_t *bias, uint8_t *out,
                           int pixel_begin, int pixel_end) {
    for (int px = pixel_begin; px < pixel_end; px++) {
        const uint8_t *x = in + (size_t)px * in_c;
        for (int oc = 0; oc < out_c; oc++) {
            const uint8_t *wr = w_oi + (size_t)oc * in_c;
            int32_t acc = bias ? bias[oc] : 0;
            for (int ic = 0; ic < in_c; ic++)
                acc += ((int32_t)x[ic] - p->input_zero_point) *
                       ((int32_t)wr[ic] - p->weight_zero_point);
            out[(size_t)px * out_c + oc] = mnet_q8_output_channel(acc, p, oc);
        }
    }
}

void mnet_q8_ref_add(const mnet_q8_add_params *p, const uint8_t *a, const uint8_t *b,
                     uint8_t *out, size_t count) {
    for (size_t i = 0; i < count; i++) {
        int32_t sa = ((int32_t)a[i] - p->a_zero_point) * (1 << p->left_shift);
        int32_t sb = ((int32_t)b[i] - p->b_zero_point) * (1 << p->left_shift);
        int32_t sum = mnet_requant_apply(sa, p->a_requant) + mnet_requant_apply(sb, p->b_requant);
        int32_t v = mnet_requant_apply(sum, p->output_requant) + p->output_zero_point;
        out[i] = (uint8_t)mnet_clamp_i32(v, p->out_min, p->out_max);
    }
}

void mnet_q8_ref_global_avgpool(int h, int w, int c, int32_t out_min, int32_t out_max,
                                const uint8_t *in, uint8_t *out) {
    mnet_q8_global_avgpool(h, w, c, out_min, out_max, in, out, NULL);
}

void mnet_q8_global_avgpool(int h, int w, int c, int32_t out_min, int32_t out_max,
                            const uint8_t *in, uint8_t *out, mnet_q8_channel_sums_fn sums_fn) {
    if (!sums_fn) sums_fn = mnet_q8_ref_channel_sums;
    int32_t count = h * w;
    int32_t sums[MNET_Q8_POOL_CHANNEL_CHUNK];
    /* channels in chunks, pixels in memory order: contiguous reads that the
     * compiler vectorizes, instead of one strided pass per channel */
    for (int c0 = 0; c0 < c; c0 += MNET_Q8_POOL_CHANNEL_CHUNK) {
        int n = c - c0 < MNET_Q8_POOL_CHANNEL_CHUNK ? c - c0 : MNET_Q8_POOL_CHANNEL_CHUNK;
        sums_fn(in + c0, count, c, n, 0, sums);
        for (int j = 0; j < n; j++) {
            /* sums are non-negative: C's division is the rounded one of TFLite */
            int32_t avg = (sums[j] + count / 2) / count;
            out[c0 + j] = (uint8_t)mnet_clamp_i32(avg, out_min, out_max);
        }
    }
}

void mnet_q8_ref_channel_sums(const uint8_t *in, int count, int stride, int n,
                              int32_t zero_point, int32_t *sums) {
    for (int j = 0; j < n; j++) sums[j] = 0;
    for (int i = 0; i < count; i++) {
        const uint8_t *px = in + (size_t)i * stride;
        for (int j = 0; j < n; j++) sums[j] += (int32_t)px[j] - zero_point;
    }
}
