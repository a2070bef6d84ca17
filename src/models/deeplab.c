/* DeepLabv3 / v3+ (Chen et al. 2017, 2018) on a dilated MobileNet V2:
 * atrous spatial pyramid pooling (image pooling + 1x1, plus atrous 3x3
 * branches in the full form), projection, the optional v3+ decoder that
 * refines with low-level features, and 1x1 logits. The plan stops at the
 * low-resolution logits: mnet_segment interpolates them straight to the
 * caller's image size. */
#include <stdio.h>

#include "models/plan.h"

/* A 3x3 convolution with dilation, or its separable form (depthwise 3x3 +
 * activation, then 1x1) under `<prefix>.dw` / `<prefix>.pw`. */
static int conv3x3(mnet_plan_builder *b, const char *tap, const char *prefix, int x, int out_c,
                   int dilation) {
    const mnet_deeplab_config *d = &b->config->deeplab;
    if (!d->separable)
        return mnet_plan_add_conv(b, tap, prefix, x, out_c, 3, 1, dilation, 1, d->activation, -1);
    char dw_tap[MNET_NAME_MAX], dw_prefix[96], pw_prefix[96];
    int c = b->plan->tensors[x].c;
    snprintf(dw_tap, sizeof dw_tap, "%s_dw", tap);
    snprintf(dw_prefix, sizeof dw_prefix, "%s.dw", prefix);
    snprintf(pw_prefix, sizeof pw_prefix, "%s.pw", prefix);
    x = mnet_plan_add_conv(b, dw_tap, dw_prefix, x, c, 3, 1, dilation, c, d->activation, -1);
    if (x < 0) return -1;
    return mnet_plan_add_conv(b, tap, pw_prefix, x, out_c, 1, 1, 1, 1, d->activation, -1);
}

static int find_tap(mnet_plan_builder *b, const char *name) {
    int t = mnet_plan_find_tensor(b->plan, name);
    if (t < 0) {
        char canonical[MNET_NAME_MAX];
        if (mnet_tap_alias(MNET_ARCH_MOBILENET_V2, name, canonical, sizeof canonical) == 0)
            t = mnet_plan_find_tensor(b->plan, canonical);
    }
    if (t < 0 || t == b->plan->input) {
        mnet_fail(b->error, MNET_ERR_MODEL,
                  "deeplab.decoder.low_level_tap: the backbone has no tap '%s'", name);
        return -1;
    }
    return t;
}

static int aspp(mnet_plan_builder *b, int features) {
    const mnet_deeplab_config *d = &b->config->deeplab;
    const mnet_plan_tensor *f = &b->plan->tensors[features];
    int fh = f->h, fw = f->w, ch = d->aspp_channels;
    mnet_resize_mode mode = d->align_corners ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL;
    int branches[2 + MNET_DEEPLAB_MAX_RATES];
    int n = 0;
    /* the 1x1 branch first, so that the broadcast, the concatenation and
     * the projection are consecutive steps (a pooled projection block) */
    int conv0 = mnet_plan_add_conv(b, "aspp/conv0", "aspp.conv0", features, ch, 1, 1, 1, 1,
                                   d->activation, -1);
    if (conv0 < 0) return -1;
    int x = mnet_plan_add_global_pool(b, "aspp/pool", features);
    if (x >= 0) x = mnet_plan_add_conv(b, "aspp/pool_conv", "aspp.pool", x, ch, 1, 1, 1, 1,
                                       d->activation, -1);
    if (x < 0) return -1;
    int pooled = x;
    branches[n++] = -1; /* the broadcast, added last */
    branches[n++] = conv0;
    for (int i = 0; d->full_aspp && i < d->num_rates; i++) {
        char tap[MNET_NAME_MAX], prefix[64];
        snprintf(tap, sizeof tap, "aspp/atrous%d", i);
        snprintf(prefix, sizeof prefix, "aspp.atrous%d", i);
        x = conv3x3(b, tap, prefix, features, ch, d->atrous_rates[i]);
        if (x < 0) return -1;
        branches[n++] = x;
    }
    branches[0] = mnet_plan_add_resize(b, "aspp/pool_broadcast", pooled, fh, fw, mode);
    if (branches[0] < 0) return -1;
    x = mnet_plan_add_concat(b, "aspp/concat", branches, n);
    if (x < 0) return -1;
    x = mnet_plan_add_conv(b, "aspp/output", "aspp.project", x, ch, 1, 1, 1, 1, d->activation,
                           -1);
    if (x < 0 || mnet_plan_mark_pooled_projection(b, "aspp.project") != 0) return -1;
    return x;
}

static int decoder(mnet_plan_builder *b, int x) {
    const mnet_deeplab_config *d = &b->config->deeplab;
    int low = find_tap(b, d->low_level_tap);
    if (low < 0) return -1;
    mnet_resize_mode mode = d->align_corners ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL;
    int reduced = mnet_plan_add_conv(b, "decoder/reduce", "decoder.reduce", low,
                                     d->low_level_channels, 1, 1, 1, 1, d->activation, -1);
    if (reduced < 0) return -1;
    const mnet_plan_tensor *l = &b->plan->tensors[low];
    int up = mnet_plan_add_resize(b, "decoder/upsample", x, l->h, l->w, mode);
    if (up < 0) return -1;
    int parts[2] = {up, reduced};
    if (d->low_level_first) {
        parts[0] = reduced;
        parts[1] = up;
    }
    x = mnet_plan_add_concat(b, "decoder/concat", parts, 2);
    if (x >= 0) x = conv3x3(b, "decoder/conv0", "decoder.conv0", x, d->decoder_channels, 1);
    if (x >= 0) x = conv3x3(b, "decoder/output", "decoder.conv1", x, d->decoder_channels, 1);
    return x;
}

int mnet_build_deeplab(mnet_plan_builder *b) {
    int x = mnet_build_v2_backbone(b);
    if (x >= 0) x = aspp(b, x);
    if (x >= 0 && b->config->deeplab.has_decoder) x = decoder(b, x);
    if (x >= 0)
        x = mnet_plan_add_conv(b, "logits", "logits", x, b->config->num_classes, 1, 1, 1, 1,
                               MNET_ACT_NONE, -1);
    if (x < 0) return -1;
    b->plan->output = x;
    return 0;
}
