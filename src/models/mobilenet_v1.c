/* MobileNet V1 (Howard et al. 2017): a 3x3 stride-2 stem, then 13
 * depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, ReLU6 after
 * each), then global average pooling and a fully connected classifier. */
#include <stdio.h>

#include "core/channels.h"
#include "models/plan.h"

static const int v1_widths[13] = {64, 128, 128, 256, 256, 512, 512,
                                  512, 512, 512, 512, 1024, 1024};
static const int v1_strides[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};

int mnet_build_v1_backbone(mnet_plan_builder *b) {
    const mnet_model_config *cfg = b->config;
    float dm = cfg->depth_multiplier;
    int x = mnet_plan_add_input(b, cfg->input_h, cfg->input_w, cfg->input_c);
    if (x < 0) return -1;
    int c = mnet_mobilenet_v1_channels(dm, 32);
    x = mnet_plan_add_conv(b, "conv0", "conv0", x, c, 3, 2, 1, 1, MNET_ACT_RELU6, -1);
    if (x < 0) return -1;
    for (int i = 0; i < 13; i++) {
        char tap[MNET_NAME_MAX], prefix[64];
        snprintf(tap, sizeof tap, "block%d/depthwise", i);
        snprintf(prefix, sizeof prefix, "blocks.%d.dw", i);
        x = mnet_plan_add_conv(b, tap, prefix, x, c, 3, v1_strides[i], 1, c, MNET_ACT_RELU6, -1);
        if (x < 0) return -1;
        c = mnet_mobilenet_v1_channels(dm, v1_widths[i]);
        snprintf(tap, sizeof tap, "block%d/output", i);
        snprintf(prefix, sizeof prefix, "blocks.%d.pw", i);
        x = mnet_plan_add_conv(b, tap, prefix, x, c, 1, 1, 1, 1, MNET_ACT_RELU6, -1);
        /* run fused over row tiles: the depthwise rows feed the 1x1 from cache */
        if (x < 0 || mnet_plan_mark_block(b, 2) != 0) return -1;
    }
    return x;
}

int mnet_build_mobilenet_v1(mnet_plan_builder *b) {
    int x = mnet_build_v1_backbone(b);
    return x < 0 ? -1 : mnet_plan_add_classifier(b, x);
}
