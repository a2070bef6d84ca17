/* uint8 kernels: the reference ones against plain 64-bit definitions, and
 * every fast table this CPU can run against the reference, bit for bit, on
 * random shapes with channel and pixel tails, random zero points, shifts and
 * activation ranges. */
#include <math.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "int8/q8_rqtable.h"
#include "int8/q8_x86.h"
#include "kernels/cpu_features.h"
#include "q8_test_defs.h"
#include "q8_test_run.h"
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
    /* a quarter of the cases with output zero point 0 (ReLU6 outputs of
     * quantization-aware models: the kernels skip the zero point and, with
     * ReLU, the clamp) */
    int out_zero_point = test_rng_int(r, 0, 3) == 0 ? 0 : test_rng_int(r, 0, 255);
    return mnet_q8_conv_params_init(in_scale, test_rng_int(r, 0, 255), w_scale,
                                    test_rng_int(r, 0, 255), out_scale, out_zero_point,
                                    acts[test_rng_int(r, 0, 2)]);
}

/* Per-channel multipliers and shifts for out_c channels (written to rq):
 * random reals around the per-tensor one, in half of the calls including
 * multipliers > 1 (left shifts), so that shifts differ between channels and
 * both requantization routes of the kernels run (q8_rqtable.h). */
static const mnet_requant *random_channel_requant(test_rng *r, mnet_q8_conv_params *p,
                                                  mnet_requant *rq, int out_c) {
    int with_large = test_rng_int(r, 0, 1);
    for (int c = 0; c < out_c; c++) {
        double real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, -20, -2));
        if (with_large && c % 7 == 3)
            real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, 1, 6));
        else if (with_large && c % 7 == 5)
            real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, -1, 3));
        rq[c] = mnet_requant_from_real(real);
    }
    p->channel_requant = rq;
    return rq;
}

static uint8_t def_output(int64_t acc, const mnet_q8_conv_params *p, int oc) {
    mnet_requant rq = p->channel_requant ? p->channel_requant[oc] : p->requant;
    int64_t v = def_requant((int32_t)acc, rq.multiplier, rq.shift) + p->output_zero_point;
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
    mnet_requant rq[12];
    if (test_rng_int(r, 0, 1)) random_channel_requant(r, &p, rq, out_c);
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
                bad += out[((size_t)oy * g.out_w + ox) * out_c + oc] != def_output(acc, &p, oc);
            }
    CHECK_MSG(bad == 0, "ref conv: %d values differ (k %d, groups %d, per-channel %d)", bad, k,
              g.groups, p.channel_requant != NULL);
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

/* One pointwise case against the reference; extreme: few inputs and
 * |bias| ~ 2^30 (accumulators near the int32 limits, saturating packs). */
static void check_pointwise_case(const mnet_q8_kernels *k, test_rng *r, int in_c, int out_c,
                                 int pixels, int per_channel, int symmetric, int extreme) {
    if (extreme) in_c = in_c % 4 + 1; /* before the allocations: it may grow a K of 1..3 */
    mnet_q8_conv_params p = random_params(r);
    mnet_requant *rq = malloc((size_t)out_c * sizeof *rq);
    if (per_channel) random_channel_requant(r, &p, rq, out_c);
    if (symmetric) p.weight_zero_point = 128; /* symmetric int8 weights stored + 128 */
    uint8_t *in = malloc((size_t)pixels * in_c), *w = malloc((size_t)in_c * out_c);
    int32_t *bias = malloc((size_t)out_c * 4);
    fill_u8(r, in, (size_t)pixels * in_c);
    fill_u8(r, w, (size_t)in_c * out_c);
    fill_i32(r, bias, (size_t)out_c, 50000);
    if (extreme)
        for (int o = 0; o < out_c; o++) bias[o] = (int32_t)(uint32_t)test_rng_next(r) / 2;
    int split[1];
    CHECK_MSG(q8_pointwise_agrees(k, r, in_c, out_c, &p, in, w, bias, pixels, split),
              "%s pointwise %d->%d x %d px, per-channel %d", k->isa, in_c, out_c, pixels,
              p.channel_requant != NULL);
    free(rq), free(in), free(w), free(bias);
}

static void check_fast(const mnet_q8_kernels *k, test_rng *r) {
    /* pointwise: channel counts around the 4- and 16-wide steps */
    for (int t = 0; t < 60; t++) {
        int in_c = test_rng_int(r, 1, 150), out_c = test_rng_int(r, 1, 150);
        int pixels = test_rng_int(r, 1, 23);
        if (t < 4) in_c = 960, out_c = 160 + t, pixels = 49;
        check_pointwise_case(k, r, in_c, out_c, pixels, t % 2, t % 5 == 2, t >= 4 && t < 14);
    }
    /* small K (expansions) and narrow outputs (projections): every tail
     * tile (16/32/48 channels after the 64-blocks, partly filled), per-tensor
     * and per-channel, with and without extreme accumulators */
    for (int t = 0; t < 48; t++) {
        int in_c = t % 3 == 0 ? test_rng_int(r, 8, 40) : test_rng_int(r, 80, 160);
        int out_c = 16 * test_rng_int(r, 1, 10) - test_rng_int(r, 0, 15);
        check_pointwise_case(k, r, in_c, out_c, test_rng_int(r, 6, 40), t % 2, t % 7 == 3,
                             t % 5 == 4);
    }
    /* runs of pixel chunks (up to 192) over narrow outputs: input sums 16
     * pixels at a time (in_c 8..32, multiples of 8), 16-channel vectors in
     * groups of 4 pixels (out_c 16: one store; 8, 144: per row), 24-channel
     * pixel pairs (out_c 24: one store; 88, 21: per row, partly filled),
     * 32-blocks in pixel pairs (out_c 32: one store; 60: per row), 40;
     * pixel counts off the chunk and tile sizes, split in two calls */
    static const int narrow_out[] = {16, 24, 8, 40, 88, 144, 21, 32, 60};
    for (int t = 0; t < 54; t++) {
        int in_c = t % 6 == 5 ? test_rng_int(r, 1, 150) : 8 * test_rng_int(r, 1, 4);
        check_pointwise_case(k, r, in_c, narrow_out[t % 9], test_rng_int(r, 41, 420), t % 3 == 2,
                             t % 4 == 1, t % 11 == 10);
    }
    /* whole-width tiles of narrow expansions (out_c 65..80: 4 + 2 pixels x
     * 5 vectors; 81..96: x 6 vectors; 129..144: 2 pixels x 9 vectors) next
     * to the block-wise widths around them (112, 160); K 8..64, sometimes
     * not a multiple of 4; pixel counts off the tiles and chunks */
    static const int wide_out[] = {96, 144, 81, 130, 90, 137, 80, 72, 65, 112, 160, 96, 144};
    for (int t = 0; t < 52; t++) {
        int in_c = t % 4 == 3 ? test_rng_int(r, 8, 64) : 8 * test_rng_int(r, 1, 8);
        check_pointwise_case(k, r, in_c, wide_out[t % 13], test_rng_int(r, 6, 400), t % 3 == 1,
                             t % 4 == 2, t % 7 == 5);
    }
    /* depthwise: 3x3 strides 1/2, dilation, channel tails, 5x5, one 9x9
     * (more taps than a kernel gathers at once), then 3x3 cases of the
     * AVX-512 row kernel and of the 256-bit one */
    for (int t = 0; t < 170; t++) {
        mnet_conv_geometry g;
        int c = test_rng_int(r, 1, 140), kk = t % 5 == 4 ? 5 : t == 7 ? 9 : 3;
        int stride = test_rng_int(r, 1, 2), dil = test_rng_int(r, 1, 2);
        if (t < 16 && t != 7) c = t % 2 ? 32 : 16; /* several pixels per 64-lane block */
        if (t == 12 || t == 13) stride = 1, dil = 1; /* pixel groups with zw 0 (below) */
        if (t == 7) c = 300; /* 9x9: more taps and channels than one pass holds */
        if (t >= 60) { /* 3x3 stride 1/2 over 64-blocks (+ tails), 32 channels at
                        * stride 1: the AVX-512 row kernel */
            kk = 3, stride = t % 3 == 0 ? 2 : 1, dil = 1;
            c = 64 * test_rng_int(r, 1, 3) + (t % 4 == 0 ? 0 : test_rng_int(r, 0, 40));
            if (t % 5 == 0) c = 32, stride = 1;
        }
        if (t >= 90) { /* 3x3 stride 1/2, 16, 24 or 32+ channels (tails of 1..31), rows of
                        * 4..40 outputs: the 256-bit row kernel and its short-row fallback */
            kk = 3, stride = t % 2 ? 2 : 1, dil = 1;
            c = t % 3 == 0 ? 32 : (t / 2) % 4 == 1 ? 16 : (t / 2) % 4 == 2 ? 24
                                                          : test_rng_int(r, 33, 200);
        }
        if (t >= 130) { /* 3x3 dilated 2..4 (DeepLab), 8..200 channels: the AVX-512
                         * quad kernel's interleaved streams */
            kk = 3, dil = test_rng_int(r, 2, 4), stride = t % 5 == 0 ? 2 : 1;
            c = t % 7 == 0 ? 32 : test_rng_int(r, 8, 200);
        }
        mnet_conv_geometry_init(&g, test_rng_int(r, 1, 15),
                                t >= 90 ? test_rng_int(r, 8, 40) : test_rng_int(r, 1, 15), c, c, kk,
                                stride, dil, c, t % 2 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC);
        if (g.out_h <= 0 || g.out_w <= 0) continue;
        mnet_q8_conv_params p = random_params(r);
        /* symmetric weights (no zero-point sums in the quad kernel), and the
         * extreme zero points (0: K = 128, beyond a signed byte) */
        if (t % 4 == 1) p.weight_zero_point = 128;
        if (t % 9 == 2) p.weight_zero_point = t % 2 ? 0 : 255;
        if (t == 12 || t == 13) p.weight_zero_point = 0;
        mnet_requant rq[300];
        if (t % 3 != 0) random_channel_requant(r, &p, rq, c);
        size_t nin = (size_t)g.in_h * g.in_w * c;
        uint8_t *in = malloc(nin), *w = malloc((size_t)c * kk * kk);
        int32_t *bias = malloc((size_t)c * 4);
        fill_u8(r, in, nin);
        fill_u8(r, w, (size_t)c * kk * kk);
        /* weights near the zero point but for one channel, as in trained
         * uint8 models: quad blocks with and without K sums */
        if (t % 4 == 3 && p.weight_zero_point != 128) {
            for (int i = 0; i < c * kk * kk; i++) {
                int v = p.weight_zero_point + w[i] % 201 - 100;
                w[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
            w[(size_t)test_rng_int(r, 0, c - 1) * kk * kk] = p.weight_zero_point < 128 ? 255 : 0;
        }
        fill_i32(r, bias, (size_t)c, 50000);
        int split[2];
        CHECK_MSG(q8_depthwise_agrees(k, r, &g, &p, in, w, bias, split),
                  "%s depthwise c %d %dx%d s%d d%d, per-channel %d, split %d %d", k->isa, c,
                  g.in_h, g.in_w, g.stride_h, g.dilation_h, p.channel_requant != NULL, split[0],
                  split[1]);
        free(in), free(w), free(bias);
    }
}

/* 3x3 depthwise over row ranges as threads split them: at stride 1 the
 * AVX-512 kernels run two output rows at a time (a last odd row alone),
 * with 16 or 32 channels after the full 64-blocks as pixel groups (at
 * stride 2 too), and blocks that need the zero-point K sums by single rows;
 * channels 16, 32 (pixel blocks), 64..208 with tails of 0, 16, 32 or
 * others; weights near the zero point with one extreme channel, symmetric,
 * or uniform random. */
static void check_depthwise_row_ranges(const mnet_q8_kernels *k, test_rng *r) {
    static const int chans[] = {16, 32, 64, 80, 96, 144, 160, 192, 208, 100, 128};
    for (int t = 0; t < 88; t++) {
        int c = chans[t % 11], stride = t % 3 == 0 ? 2 : 1;
        mnet_conv_geometry g;
        /* stride 2: rows of up to 20 outputs (the quads by rows from 14) */
        int in_w = stride == 2 ? test_rng_int(r, 20, 40) : test_rng_int(r, 1, 20);
        mnet_conv_geometry_init(&g, test_rng_int(r, 1, 9), in_w, c, c, 3, stride, 1, c,
                                t % 2 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC);
        if (g.out_h <= 0 || g.out_w <= 0) continue;
        mnet_q8_conv_params p = random_params(r);
        if (t % 3 == 1) p.weight_zero_point = 128;
        mnet_requant rq[208];
        if (t % 4 >= 2) random_channel_requant(r, &p, rq, c);
        size_t nin = (size_t)g.in_h * g.in_w * c;
        uint8_t *in = malloc(nin), *w = malloc((size_t)c * 9);
        int32_t *bias = malloc((size_t)c * 4);
        fill_u8(r, in, nin);
        fill_u8(r, w, (size_t)c * 9);
        if (t % 3 != 2 && p.weight_zero_point != 128) { /* near the zero point, one extreme */
            for (int i = 0; i < c * 9; i++) {
                int v = p.weight_zero_point + w[i] % 201 - 100;
                w[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
            if (t % 2) /* a K block: in the full blocks or the tail */
                w[(size_t)test_rng_int(r, 0, c - 1) * 9 + test_rng_int(r, 0, 8)] =
                    p.weight_zero_point < 128 ? 255 : 0;
        }
        fill_i32(r, bias, (size_t)c, 50000);
        int split[2];
        CHECK_MSG(q8_depthwise_agrees(k, r, &g, &p, in, w, bias, split),
                  "%s depthwise rows c %d %dx%d s%d split %d %d, zw %d", k->isa, c, g.in_h,
                  g.in_w, stride, split[0], split[1], p.weight_zero_point);
        free(in), free(w), free(bias);
    }
}

static void check_fast_add_quantize(const mnet_q8_kernels *k, test_rng *r) {
    int routes[2] = {0, 0}; /* output requantizations by route: long, short */
    int exact[2] = {0, 0};  /* cases without, with an input rescale that is a shift */
    for (int t = 0; t < 100; t++) {
        size_t n = (size_t)test_rng_int(r, 1, 300);
        float sa = test_rng_float(r, 0.01f, 0.5f), sb = test_rng_float(r, 0.01f, 0.5f);
        float so = test_rng_float(r, 0.005f, 0.8f);
        /* every fifth an output scale so much finer than the inputs' that
         * the output multiplier is at least 1/4: the short-shift route */
        if (t % 5 == 4)
            so = (sa > sb ? sa : sb) * ldexpf(test_rng_float(r, 1.0f, 2.0f), -test_rng_int(r, 17, 19));
        mnet_activation act = t % 3 == 0 ? MNET_ACT_RELU6 : MNET_ACT_NONE;
        mnet_q8_add_params p =
            mnet_q8_add_params_init(sa, test_rng_int(r, 0, 255), sb, test_rng_int(r, 0, 255), so,
                                    test_rng_int(r, 0, 255), act);
        /* the larger-scale input's rescale is an exact shift (multiplier
         * 1/2), which the kernels apply as one; every fourth case moves it
         * off the power of two so that the general rescale of both runs too */
        if (t % 4 == 1) {
            mnet_requant *larger = sa > sb ? &p.a_requant : &p.b_requant;
            larger->multiplier += test_rng_int(r, 1, 1 << 20);
        }
        {
            mnet_q8_add_params ordered = p;
            const uint8_t *first = NULL, *second = NULL;
            exact[mnet_q8_add_shift_first(&ordered, &first, &second) >= 0]++;
        }
        uint8_t a[300], b[300], want[300], got[300];
        fill_u8(r, a, n);
        fill_u8(r, b, n);
        routes[mnet_q8_rqtable_short(p.output_requant)]++;
        mnet_q8_ref_add(&p, a, b, want, n);
        memset(got, 0x3C, sizeof got);
        k->add(&p, a, b, got, n);
        CHECK_MSG(memcmp(want, got, n) == 0, "%s add n %zu", k->isa, n);
        CHECK_MSG(got[n < 300 ? n : 299] == (n < 300 ? 0x3C : got[299]), "%s add wrote past n",
                  k->isa);
    }
    for (int t = 0; t < 50; t++) {
        size_t n = (size_t)test_rng_int(r, 1, 400);
        float in[400];
        /* every third case a power-of-two scale (1/128 in the published
         * models), which the kernels may multiply by instead of dividing */
        float scale = t % 3 == 0 ? ldexpf(1.0f, test_rng_int(r, -9, -3))
                                 : test_rng_float(r, 0.002f, 0.1f);
        int32_t zp = test_rng_int(r, 0, 255);
        for (size_t i = 0; i < n; i++) in[i] = test_rng_float(r, -4.0f, 4.0f);
        /* exact halves, both signs, huge values and NaN */
        for (size_t i = 0; i + 4 < n; i += 7) {
            in[i] = ((float)test_rng_int(r, -300, 300) + 0.5f) * scale;
            in[i + 1] = (float)test_rng_int(r, -300, 300) * scale;
            in[i + 2] = i % 2 ? 3e9f : -3e9f;
            in[i + 3] = nextafterf(in[i], 0.0f); /* just inside a half */
        }
        if (n > 3) in[3] = NAN;
        uint8_t want[400], got[400];
        mnet_q8_ref_quantize(in, n, scale, zp, want);
        k->quantize(in, n, scale, zp, got);
        CHECK_MSG(memcmp(want, got, n) == 0, "%s quantize n %zu", k->isa, n);
    }
    CHECK_MSG(routes[0] > 0 && routes[1] > 0, "add cases cover both requantization routes (%d, %d)",
              routes[0], routes[1]);
    CHECK_MSG(exact[0] > 0 && exact[1] > 0, "add cases cover both input rescales (%d, %d)",
              exact[0], exact[1]);
    /* power-of-two scales whose reciprocal is not a normal float (or is
     * one): the multiply must not be used where it would differ */
    const float edge_scales[] = {ldexpf(1.0f, -130), ldexpf(1.0f, -127), ldexpf(1.0f, -126),
                                 ldexpf(1.0f, 126), ldexpf(1.0f, 127), 0.75f};
    for (size_t e = 0; e < sizeof edge_scales / sizeof edge_scales[0]; e++) {
        float scale = edge_scales[e], in[37];
        for (int i = 0; i < 37; i++)
            in[i] = i % 4 == 0 ? 0.0f : ldexpf(test_rng_float(r, -2.0f, 2.0f), test_rng_int(r, -140, 140));
        uint8_t want[37], got[37];
        mnet_q8_ref_quantize(in, 37, scale, 77, want);
        k->quantize(in, 37, scale, 77, got);
        CHECK_MSG(memcmp(want, got, 37) == 0, "%s quantize, scale %g", k->isa, (double)scale);
    }
}

int main(void) {
    test_rng rng = {0x2545F4914F6CDD1Dull};
    for (int i = 0; i < 200; i++) check_ref_conv(&rng);
    for (int i = 0; i < 100; i++) check_ref_add_pool(&rng);
    /* every fast table this CPU runs, each explicitly (plain AVX2 too on a
     * VNNI CPU) */
    const mnet_q8_kernels *sets[8];
    int n = mnet_q8_kernels_available(sets, 8);
    for (int i = 0; i < n; i++) {
        if (sets[i] == &mnet_q8_kernels_ref) continue;
        printf("testing %s\n", sets[i]->isa);
        check_fast(sets[i], &rng);
        check_depthwise_row_ranges(sets[i], &rng);
        if (sets[i]->add && sets[i]->quantize) check_fast_add_quantize(sets[i], &rng);
        else CHECK_MSG(0, "%s lacks add or quantize", sets[i]->isa);
    }
    const mnet_q8_kernels *x86[3] = {&mnet_q8_kernels_avx512vnni, &mnet_q8_kernels_avxvnni,
                                     &mnet_q8_kernels_avx2};
    for (int i = 0; i < 3; i++) {
        int found = 0;
        for (int j = 0; j < n; j++) found |= sets[j] == x86[i];
        if (!found) printf("%s: not available on this CPU, not tested\n", x86[i]->isa);
    }
    CHECK(mnet_q8_kernels_select("ref") == &mnet_q8_kernels_ref);
    CHECK(mnet_q8_kernels_select("sse9") == NULL);
    CHECK(mnet_q8_kernels_select(NULL) == sets[0]);
    CHECK(mnet_q8_kernels_select("avx512") == sets[0]);
    mnet_cpu_features f = mnet_cpu_features_detect();
    if (mnet_cpu_can_run_avx2(&f) && f.avxvnni && mnet_q8_kernels_avxvnni.pointwise)
        CHECK(mnet_q8_kernels_select("avx2") == &mnet_q8_kernels_avxvnni);
    TEST_MAIN_END();
}
