/* MobileNet V2 (Sandler et al. 2018): a 3x3 stride-2 stem, 17 inverted
 * residual blocks (1x1 expansion + ReLU6, 3x3 depthwise + ReLU6, linear 1x1
 * projection, residual add when the shape is kept), a final 1x1 convolution,
 * global average pooling and a fully connected classifier. */
#include <stdio.h>

#include "core/channels.h"
#include "models/plan.h"

typedef struct v2_stage {
    int expansion, width, repeats, stride;
} v2_stage;

static const v2_stage v2_stages[7] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

/* Layer widths are rounded to multiples of `divisible_by` (8 in the
 * classifiers; TF DeepLab uses 1 for depth multipliers other than 1), never
 * below 8; expansion widths always round to multiples of 8. */
static int layer_width(float v, int divisible_by) {
    int w = mnet_make_divisible(v, divisible_by);
    return w < 8 ? 8 : w;
}

int mnet_build_v2_backbone(mnet_plan_builder *b) {
    const mnet_model_config *cfg = b->config;
    float dm = cfg->depth_multiplier;
    int x = mnet_plan_add_input(b, cfg->input_h, cfg->input_w, cfg->input_c);
    if (x < 0) return -1;
    int c = layer_width(32.0f * dm, cfg->divisible_by);
    x = mnet_plan_add_conv(b, "conv0", "conv0", x, c, 3, 2, 1, 1, MNET_ACT_RELU6, -1);
    if (x < 0) return -1;
    /* Output stride below 32 (DeepLab): once the network has reached it,
     * later stride-2 blocks keep stride 1 and the depthwise convolutions
     * after them are dilated by the strides removed so far (TF-slim). */
    int current_stride = 2, rate = 1;
    int block = 0;
    for (int s = 0; s < 7; s++) {
        const v2_stage *st = &v2_stages[s];
        int out_c = layer_width((float)st->width * dm, cfg->divisible_by);
        for (int r = 0; r < st->repeats; r++, block++) {
            int stride = r == 0 ? st->stride : 1;
            int dilation = 1;
            if (current_stride == cfg->output_stride) {
                dilation = rate;
                rate *= stride;
                stride = 1;
            } else {
                current_stride *= stride;
            }
            int block_in = x;
            char tap[MNET_NAME_MAX], prefix[64];
            int exp_c = c;
            if (st->expansion != 1) {
                exp_c = mnet_make_divisible((float)(c * st->expansion), 8);
                snprintf(tap, sizeof tap, "block%d/expand", block);
                snprintf(prefix, sizeof prefix, "blocks.%d.expand", block);
                x = mnet_plan_add_conv(b, tap, prefix, x, exp_c, 1, 1, 1, 1, MNET_ACT_RELU6, -1);
                if (x < 0) return -1;
            }
            snprintf(tap, sizeof tap, "block%d/depthwise", block);
            snprintf(prefix, sizeof prefix, "blocks.%d.dw", block);
            x = mnet_plan_add_conv(b, tap, prefix, x, exp_c, 3, stride, dilation, exp_c,
                                   MNET_ACT_RELU6, -1);
            if (x < 0) return -1;
            /* the published networks add a residual where the block kept its
             * shape before any stride was removed */
            int kept_shape = (r > 0 || st->stride == 1) && c == out_c;
            int residual = kept_shape ? block_in : -1;
            snprintf(tap, sizeof tap, "block%d/output", block);
            snprintf(prefix, sizeof prefix, "blocks.%d.project", block);
            x = mnet_plan_add_conv(b, tap, prefix, x, out_c, 1, 1, 1, 1, MNET_ACT_NONE, residual);
            if (x < 0 || mnet_plan_mark_block(b, st->expansion != 1 ? 3 : 2) != 0) return -1;
            c = out_c;
        }
    }
    if (cfg->last_channels > 0) {
        x = mnet_plan_add_conv(b, "conv_last", "conv_last", x, cfg->last_channels, 1, 1, 1, 1,
                               MNET_ACT_RELU6, -1);
        if (x < 0) return -1;
    }
    return x;
}

int mnet_build_mobilenet_v2(mnet_plan_builder *b) {
    int x = mnet_build_v2_backbone(b);
    return x < 0 ? -1 : mnet_plan_add_classifier(b, x);
}
