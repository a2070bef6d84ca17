/* uint8 kernels: the reference ones against plain 64-bit definitions, and
 * every fast table this CPU can run against the reference, bit for bit, on
 * random shapes with channel and pixel tails, random zero points, shifts and
 * activation ranges. */
#include <string.h>

#include "int8/q8_kernels.h"
#include "int8/q8_x86.h"
#include "kernels/cpu_features.h"
#include "q8_test_defs.h"
#include "test_util.h"

static void fill_u8(test_rng *r, uint8_t *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (uint8_t)test_rng_int(r, 0, 255);
}

static void fill_i32(test_rng *r, int32_t *x, size_t n, int range) {
    for (size_t i = 0; i < n; i++) x[i] = test_rng_int(r, -range, range);
}

static mnet_q8_conv_params random_params(test_rng *r) {
    mnet_activation acts[3] = {MNET_ACT_NONE, MNET_ACT_RELU, MNET_ACT_RELU6};
    float in_scale = test_rng_float(r, 0.005f, 0.5f), w_scale = test_rng_float(r, 0.001f, 0.4f);
    float out_scale = test_rng_float(r, 0.01f, 0.6f);
    return mnet_q8_conv_params_init(in_scale, test_rng_int(r, 0, 255), w_scale,
                                    test_rng_int(r, 0, 255), out_scale, test_rng_int(r, 0, 255),
                                    acts[test_rng_int(r, 0, 2)]);
}

static uint8_t def_output(int64_t acc, const mnet_q8_conv_params *p) {
    int64_t v = def_requant((int32_t)acc, p->requant.multiplier, p->requant.shift) +
                p->output_zero_point;
    return (uint8_t)(v < p->out_min ? p->out_min : v > p->out_max ? p->out_max : v);
}

/* conv: plain definition with an explicitly zero-point-padded input */
static void check_ref_conv(test_rng *r) {
    mnet_conv_geometry g;
    int groups_dw = test_rng_int(r, 0, 1);
    int in_c = test_rng_int(r, 1, 12), k = test_rng_int(r, 1, 3) * 2 - 1;
    int out_c = groups_dw ? in_c : test_rng_int(r, 1, 12);
    int stride = test_rng_int(r, 1, 2), dil = test_rng_int(r, 1, 2);
    mnet_conv_geometry_init(&g, test_rng_int(r, 3, 9), test_rng_int(r, 3, 9), in_c, out_c, k,
                            stride, dil, groups_dw ? in_c : 1, MNET_PAD_TF_SAME);
    mnet_q8_conv_params p = random_params(r);
    int ipg = in_c / g.groups, opg = out_c / g.groups;
    size_t nin = (size_t)g.in_h * g.in_w * in_c, nw = (size_t)out_c * k * k * ipg;
    size_t nout = (size_t)g.out_h * g.out_w * out_c;
    uint8_t *in = malloc(nin), *w = malloc(nw), *out = malloc(nout);
    int32_t *bias = malloc((size_t)out_c * 4);
    fill_u8(r, in, nin);
    fill_u8(r, w, nw);
    fill_i32(r, bias, (size_t)out_c, 30000);
    mnet_q8_ref_conv(&g, &p, in, w, bias, out, 0, g.out_h);
    int bad = 0;
    for (int oy = 0; oy < g.out_h; oy++)
        for (int ox = 0; ox < g.out_w; ox++)
            for (int oc = 0; oc < out_c; oc++) {
                int64_t acc = bias[oc];
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                        for (int ic = 0; ic < ipg; ic++) {
                            int iy = oy * stride - g.pad_top + ky * dil;
                            int ix = ox * stride - g.pad_left + kx * dil;
                            int64_t x = p.input_zero_point; /* padding reads a real 0 */
                            if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w)
                                x = in[((size_t)iy * g.in_w + ix) * in_c + (oc / opg) * ipg + ic];
                            acc += (x - p.input_zero_point) *
                                   ((int64_t)w[(((size_t)oc * k + ky) * k + kx) * ipg + ic] -
                                    p.weight_zero_point);
                        }
                bad += out[((size_t)oy * g.out_w + ox) * out_c + oc] != def_output(acc, &p);
            }
    CHECK_MSG(bad == 0, "ref conv: %d values differ (k %d, groups %d)", bad, k, g.groups);
    /* a 1x1 conv and the pointwise kernel agree */
    if (k == 1 && stride == 1 && g.groups == 1) {
        uint8_t *pw = malloc(nout);
        mnet_q8_ref_pointwise(in_c, out_c, &p, in, w, bias, pw, 0, g.out_h * g.out_w);
        CHECK(memcmp(pw, out, nout) == 0);
        free(pw);
    }
    free(in), free(w), free(out), free(bias);
}

static void check_ref_add_pool(test_rng *r) {
    size_t n = (size_t)test_rng_int(r, 1, 500);
    float sa = test_rng_float(r, 0.01f, 0.5f), sb = test_rng_float(r, 0.01f, 0.5f);
    float so = test_rng_float(r, 0.02f, 0.8f);
    mnet_q8_add_params p =
        mnet_q8_add_params_init(sa, test_rng_int(r, 0, 255), sb, test_rng_int(r, 0, 255), so,
                                test_rng_int(r, 0, 255), MNET_ACT_NONE);
    uint8_t a[500], b[500], out[500];
    fill_u8(r, a, n);
    fill_u8(r, b, n);
    mnet_q8_ref_add(&p, a, b, out, n);
    int bad = 0, far = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t xa = def_requant((a[i] - p.a_zero_point) * (1 << 20), p.a_requant.multiplier,
                                 p.a_requant.shift);
        int64_t xb = def_requant((b[i] - p.b_zero_point) * (1 << 20), p.b_requant.multiplier,
                                 p.b_requant.shift);
        int64_t v = def_requant((int32_t)(xa + xb), p.output_requant.multiplier,
                                p.output_requant.shift) + p.output_zero_point;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        bad += out[i] != v;
        /* and close to the real sum */
        double real = sa * (a[i] - p.a_zero_point) + sb * (b[i] - p.b_zero_point);
        double q = real / so + p.output_zero_point;
        q = q < 0 ? 0 : q > 255 ? 255 : q;
        far += fabs(out[i] - q) > 1.0;
    }
    CHECK_MSG(bad == 0, "add: %d values differ from the definition", bad);
    CHECK_MSG(far == 0, "add: %d values more than 1 from the real sum", far);

    int h = test_rng_int(r, 1, 9), w = test_rng_int(r, 1, 9), c = test_rng_int(r, 1, 40);
    uint8_t *in = malloc((size_t)h * w * c), pooled[40];
    fill_u8(r, in, (size_t)h * w * c);
    mnet_q8_ref_global_avgpool(h, w, c, 0, 255, in, pooled);
    for (int ch = 0; ch < c; ch++) {
        long sum = 0;
        for (int i = 0; i < h * w; i++) sum += in[(size_t)i * c + ch];
        CHECK(pooled[ch] == (uint8_t)floor((double)sum / (h * w) + 0.5));
    }
    free(in);
}

static void check_fast(const mnet_q8_kernels *k, test_rng *r) {
    /* pointwise: channel counts around the 4- and 16-wide steps */
    for (int t = 0; t < 60; t++) {
        int in_c = test_rng_int(r, 1, 150), out_c = test_rng_int(r, 1, 150);
        int pixels = test_rng_int(r, 1, 23);
        if (t < 4) in_c = 960, out_c = 160 + t, pixels = 49;
        mnet_q8_conv_params p = random_params(r);
        uint8_t *in = malloc((size_t)pixels * in_c), *w = malloc((size_t)in_c * out_c);
        uint8_t *a = malloc((size_t)pixels * out_c), *b = malloc((size_t)pixels * out_c);
        int32_t *bias = malloc((size_t)out_c * 4), *pb = malloc(((size_t)out_c + 64) * 4);
        void *packed = malloc(k->pointwise_pack_bytes(in_c, out_c));
        fill_u8(r, in, (size_t)pixels * in_c);
        fill_u8(r, w, (size_t)in_c * out_c);
        fill_i32(r, bias, (size_t)out_c, 50000);
        k->pointwise_pack(in_c, out_c, &p, w, bias, packed, pb);
        mnet_q8_ref_pointwise(in_c, out_c, &p, in, w, bias, a, 0, pixels);
        memset(b, 0xA5, (size_t)pixels * out_c);
        int split = test_rng_int(r, 0, pixels);
        k->pointwise(in_c, out_c, &p, in, packed, pb, b, 0, split);
        k->pointwise(in_c, out_c, &p, in, packed, pb, b, split, pixels);
        CHECK_MSG(memcmp(a, b, (size_t)pixels * out_c) == 0, "%s pointwise %d->%d x %d px",
                  k->isa, in_c, out_c, pixels);
        free(in), free(w), free(a), free(b), free(bias), free(pb), free(packed);
    }
    /* depthwise: 3x3 strides 1/2, dilation, channel tails */
    for (int t = 0; t < 40; t++) {
        mnet_conv_geometry g;
        int c = test_rng_int(r, 1, 70), kk = t % 5 == 4 ? 5 : 3;
        mnet_conv_geometry_init(&g, test_rng_int(r, 1, 15), test_rng_int(r, 1, 15), c, c, kk,
                                test_rng_int(r, 1, 2), test_rng_int(r, 1, 2), c,
                                t % 2 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC);
        if (g.out_h <= 0 || g.out_w <= 0) continue;
        mnet_q8_conv_params p = random_params(r);
        size_t nin = (size_t)g.in_h * g.in_w * c, nout = (size_t)g.out_h * g.out_w * c;
        uint8_t *in = malloc(nin), *w = malloc((size_t)c * kk * kk), *a = malloc(nout),
                *b = malloc(nout);
        int32_t *bias = malloc((size_t)c * 4), *pb = malloc(((size_t)c + 64) * 4);
        void *packed = malloc(k->depthwise_pack_bytes(&g));
        fill_u8(r, in, nin);
        fill_u8(r, w, (size_t)c * kk * kk);
        fill_i32(r, bias, (size_t)c, 50000);
        k->depthwise_pack(&g, &p, w, bias, packed, pb);
        mnet_q8_ref_conv(&g, &p, in, w, bias, a, 0, g.out_h);
        memset(b, 0x5A, nout);
        int split = test_rng_int(r, 0, g.out_h);
        k->depthwise(&g, &p, in, packed, pb, b, 0, split);
        k->depthwise(&g, &p, in, packed, pb, b, split, g.out_h);
        CHECK_MSG(memcmp(a, b, nout) == 0, "%s depthwise c %d %dx%d s%d d%d", k->isa, c, g.in_h,
                  g.in_w, g.stride_h, g.dilation_h);
        free(in), free(w), free(a), free(b), free(bias), free(pb), free(packed);
    }
}

int main(void) {
    test_rng rng = {0x2545F4914F6CDD1Dull};
    for (int i = 0; i < 200; i++) check_ref_conv(&rng);
    for (int i = 0; i < 100; i++) check_ref_add_pool(&rng);
    mnet_cpu_features f = mnet_cpu_features_detect();
    if (mnet_cpu_can_run_avx512(&f) && f.avx512vnni && mnet_q8_kernels_avx512vnni.pointwise)
        check_fast(&mnet_q8_kernels_avx512vnni, &rng);
    else
        printf("avx512vnni: not available on this CPU, not tested\n");
    CHECK(mnet_q8_kernels_select("ref") == &mnet_q8_kernels_ref);
    TEST_MAIN_END();
}
