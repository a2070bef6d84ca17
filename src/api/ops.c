/* Building blocks on user tensors, for custom heads on top of features.
 * They run the reference kernels: user weights come unpacked, and packing
 * them on every call would cost more than it saves for head-sized layers. */
#include <stdint.h>
#include <stdlib.h>

#include "kernels/ref/ref_kernels.h"

static int valid_act(mnet_activation a) {
    return a == MNET_ACT_NONE || a == MNET_ACT_RELU || a == MNET_ACT_RELU6;
}

static int valid_padding(mnet_padding p) {
    return p == MNET_PAD_TF_SAME || p == MNET_PAD_SYMMETRIC || p == MNET_PAD_VALID;
}

static mnet_status geometry(const mnet_conv2d_params *p, int in_h, int in_w, int in_c,
                            mnet_conv_geometry *g) {
    if (!p || in_h <= 0 || in_w <= 0 || in_c <= 0) return MNET_ERR_INVALID_ARGUMENT;
    if (p->out_channels <= 0 || p->kernel <= 0 || p->stride <= 0 || p->dilation <= 0 ||
        p->groups <= 0 || p->kernel > 64 || p->stride > 64 || p->dilation > 64)
        return MNET_ERR_INVALID_ARGUMENT;
    if (in_c % p->groups || p->out_channels % p->groups) return MNET_ERR_INVALID_ARGUMENT;
    if (!valid_act(p->activation) || !valid_padding(p->padding)) return MNET_ERR_INVALID_ARGUMENT;
    if (in_h > 65536 || in_w > 65536 || in_c > 65536 || p->out_channels > 65536)
        return MNET_ERR_LIMIT;
    if (mnet_conv_geometry_init(g, in_h, in_w, in_c, p->out_channels, p->kernel, p->stride,
                                p->dilation, p->groups, p->padding) != 0)
        return MNET_ERR_INVALID_ARGUMENT;
    return MNET_OK;
}

mnet_status mnet_conv2d_output_size(const mnet_conv2d_params *params, int in_height,
                                    int in_width, int *out_height, int *out_width) {
    if (!out_height || !out_width) return MNET_ERR_INVALID_ARGUMENT;
    mnet_conv_geometry g;
    int in_c = params ? params->groups : 1; /* any channel count divisible by groups */
    mnet_status s = geometry(params, in_height, in_width, in_c > 0 ? in_c : 1, &g);
    if (s != MNET_OK) return s;
    *out_height = g.out_h;
    *out_width = g.out_w;
    return MNET_OK;
}

mnet_status mnet_conv2d(const mnet_conv2d_params *params, const mnet_tensor *input,
                        float *output, size_t output_count) {
    if (!params || !input || !input->data || !output || !params->weights)
        return MNET_ERR_INVALID_ARGUMENT;
    mnet_conv_geometry g;
    mnet_status s = geometry(params, input->height, input->width, input->channels, &g);
    if (s != MNET_OK) return s;
    if (output_count != (size_t)g.out_h * (size_t)g.out_w * (size_t)g.out_c)
        return MNET_ERR_INVALID_ARGUMENT;
    mnet_ref_conv2d_f32(&g, input->data, params->weights, params->bias, params->activation,
                        output);
    return MNET_OK;
}

mnet_status mnet_global_pool_fc(const mnet_tensor *input, int out, const float *weights,
                                const float *bias, float *output) {
    if (!input || !input->data || !weights || !output || out <= 0 || input->height <= 0 ||
        input->width <= 0 || input->channels <= 0 || input->channels > 65536 || out > 1000000)
        return MNET_ERR_INVALID_ARGUMENT;
    float *pooled = malloc((size_t)input->channels * sizeof(float));
    if (!pooled) return MNET_ERR_OUT_OF_MEMORY;
    mnet_ref_global_avgpool_f32(input->height, input->width, input->channels, input->data,
                                pooled);
    mnet_ref_fully_connected_f32(input->channels, out, pooled, weights, bias, MNET_ACT_NONE,
                                 output);
    free(pooled);
    return MNET_OK;
}
