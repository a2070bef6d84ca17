/* The fused inverted residual block against the same table's kernels run
 * one after the other through full intermediate tensors: random block
 * shapes (MobileNet V2 and DeepLab's dilated ones among them), both padding
 * rules, with and without expansion and residual, linear or ReLU6
 * projection (V1 blocks), random tile sizes and row
 * splits, for every kernel table this CPU runs. The fused path must give
 * exactly the unfused bits. */
#include <stdlib.h>
#include <string.h>

#include "kernels/invres.h"
#include "test_util.h"

static void unfused(const mnet_kernels *k, const mnet_invres *b, const float *in,
                    const float *residual, float *out) {
    const mnet_conv_geometry *dw = &b->depthwise;
    size_t exp_n = (size_t)dw->in_h * dw->in_w * dw->in_c;
    float *expanded = malloc(exp_n * sizeof(float));
    float *dwo = malloc((size_t)dw->out_h * dw->out_w * dw->out_c * sizeof(float));
    const float *dw_in = in;
    if (b->has_expand) {
        k->pointwise(b->expand.in_c, b->expand.out_c, in, b->expand_w, b->expand_b, NULL,
                     b->expand_act, expanded, 0, dw->in_h * dw->in_w);
        dw_in = expanded;
    }
    k->depthwise(dw, dw_in, b->dw_w, b->dw_b, b->dw_act, dwo, 0, dw->out_h);
    k->pointwise(b->project.in_c, b->project.out_c, dwo, b->project_w, b->project_b, residual,
                 b->project_act, out, 0, dw->out_h * dw->out_w);
    free(expanded);
    free(dwo);
}

static float *packed_pointwise(const mnet_kernels *k, test_rng *rng, int in_c, int out_c,
                               float scale) {
    size_t n = (size_t)in_c * out_c;
    float *w = malloc(n * sizeof(float));
    test_rng_fill(rng, w, n, -scale, scale);
    float *p = aligned_alloc(64, (k->pointwise_packed_size(in_c, out_c) * sizeof(float) + 63) / 64 * 64);
    k->pointwise_pack(in_c, out_c, w, p);
    free(w);
    return p;
}

static float *random_vec(test_rng *rng, size_t n, float lo, float hi) {
    float *v = malloc((n ? n : 1) * sizeof(float));
    test_rng_fill(rng, v, n, lo, hi);
    return v;
}

static void one_case(const mnet_kernels *k, test_rng *rng, int h, int w, int in_c, int t,
                     int out_c, int stride, int dilation, mnet_padding pad, int residual) {
    mnet_invres b;
    memset(&b, 0, sizeof b);
    b.has_expand = t != 1;
    b.expand_act = MNET_ACT_RELU6;
    b.dw_act = MNET_ACT_RELU6;
    /* V2 projections are linear; V1 blocks (no expansion) end in ReLU6 */
    b.project_act = !b.has_expand && test_rng_int(rng, 0, 1) ? MNET_ACT_RELU6 : MNET_ACT_NONE;
    int exp_c = b.has_expand ? in_c * t : in_c;
    if (b.has_expand)
        CHECK(mnet_conv_geometry_init(&b.expand, h, w, in_c, exp_c, 1, 1, 1, 1, pad) == 0);
    CHECK(mnet_conv_geometry_init(&b.depthwise, h, w, exp_c, exp_c, 3, stride, dilation, exp_c,
                                  pad) == 0);
    int oh = b.depthwise.out_h, ow = b.depthwise.out_w;
    CHECK(mnet_conv_geometry_init(&b.project, oh, ow, exp_c, out_c, 1, 1, 1, 1, pad) == 0);
    float *ew = b.has_expand ? packed_pointwise(k, rng, in_c, exp_c, 1.5f / sqrtf((float)in_c)) : NULL;
    float *eb = random_vec(rng, (size_t)exp_c, -0.3f, 0.5f);
    size_t dwn = (size_t)exp_c * 9;
    float *dw_raw = random_vec(rng, dwn, -0.5f, 0.5f);
    float *dww = aligned_alloc(64, (k->depthwise_packed_size(&b.depthwise) * sizeof(float) + 63) / 64 * 64);
    k->depthwise_pack(&b.depthwise, dw_raw, dww);
    float *dwb = random_vec(rng, (size_t)exp_c, -0.3f, 0.3f);
    float *pw = packed_pointwise(k, rng, exp_c, out_c, 1.0f / sqrtf((float)exp_c));
    float *pb = random_vec(rng, (size_t)out_c, -0.2f, 0.2f);
    b.expand_w = ew;
    b.expand_b = eb;
    b.dw_w = dww;
    b.dw_b = dwb;
    b.project_w = pw;
    b.project_b = pb;
    float *in = random_vec(rng, (size_t)h * w * in_c, -2, 2);
    size_t out_n = (size_t)oh * ow * out_c;
    float *res = residual ? random_vec(rng, out_n, -1, 1) : NULL;
    float *want = malloc(out_n * sizeof(float));
    float *got = malloc(out_n * sizeof(float));
    unfused(k, &b, in, res, want);
    for (int trial = 0; trial < 3; trial++) {
        if (trial == 0)
            mnet_invres_plan_tiles(&b);
        else
            b.tile_rows = test_rng_int(rng, 1, oh);
        float *scratch = malloc(mnet_invres_scratch_floats(&b) * sizeof(float));
        memset(got, 0xff, out_n * sizeof(float));
        /* a random split into up to 3 row ranges, as threads would do */
        int cut1 = test_rng_int(rng, 0, oh), cut2 = test_rng_int(rng, cut1, oh);
        mnet_invres_rows(k, &b, in, res, got, 0, cut1, scratch);
        mnet_invres_rows(k, &b, in, res, got, cut1, cut2, scratch);
        mnet_invres_rows(k, &b, in, res, got, cut2, oh, scratch);
        CHECK_MSG(memcmp(got, want, out_n * sizeof(float)) == 0,
                  "%s: %dx%dx%d t%d -> %d s%d d%d pad%d res%d act%d tile %d split %d/%d: max rel err %g",
                  k->isa, h, w, in_c, t, out_c, stride, dilation, (int)pad, residual,
                  (int)b.project_act, b.tile_rows,
                  cut1, cut2, test_max_rel_err(got, want, out_n, 1e-3));
        free(scratch);
    }
    free(ew);
    free(eb);
    free(dw_raw);
    free(dww);
    free(dwb);
    free(pw);
    free(pb);
    free(in);
    free(res);
    free(want);
    free(got);
}

int main(void) {
    test_rng rng = {0x1234567887654321ull};
    const char *isas[] = {"ref", "avx2", "avx512"};
    for (int i = 0; i < 3; i++) {
        const mnet_kernels *k = mnet_kernels_select(isas[i]);
        if (!k) {
            printf("skipping %s: not supported by this CPU\n", isas[i]);
            continue;
        }
        /* real MobileNet V2 / DeepLab blocks, smaller spatial sizes for speed */
        one_case(k, &rng, 56, 56, 24, 6, 24, 1, 1, MNET_PAD_TF_SAME, 1);
        one_case(k, &rng, 28, 28, 32, 6, 64, 2, 1, MNET_PAD_TF_SAME, 0);
        one_case(k, &rng, 29, 31, 16, 6, 24, 2, 1, MNET_PAD_SYMMETRIC, 0);
        one_case(k, &rng, 17, 17, 32, 1, 16, 1, 1, MNET_PAD_TF_SAME, 0);
        one_case(k, &rng, 33, 33, 40, 6, 40, 1, 2, MNET_PAD_TF_SAME, 1);
        one_case(k, &rng, 33, 33, 80, 6, 80, 1, 4, MNET_PAD_TF_SAME, 1);
        for (int n = 0; n < 25; n++) {
            int h = test_rng_int(&rng, 1, 23), w = test_rng_int(&rng, 1, 23);
            int in_c = test_rng_int(&rng, 1, 40);
            int t = test_rng_int(&rng, 0, 3) == 0 ? 1 : test_rng_int(&rng, 2, 6);
            int stride = test_rng_int(&rng, 1, 2), dil = stride == 1 ? test_rng_int(&rng, 1, 3) : 1;
            int out_c = test_rng_int(&rng, 1, 48);
            int residual = stride == 1 && test_rng_int(&rng, 0, 1);
            mnet_padding pad = test_rng_int(&rng, 0, 1) ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC;
            one_case(k, &rng, h, w, in_c, t, out_c, stride, dil, pad, residual);
        }
    }
    TEST_MAIN_END();
}
