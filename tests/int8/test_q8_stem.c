/* The uint8 stem kernel (3x3 convolution over 3 channels, q8_vnni_stem.c,
 * q8_avx2_stem_template.h) of every kernel table this CPU runs that has
 * one (plain AVX2 too, called directly), bit for bit against
 * mnet_q8_ref_conv: random image sizes (odd widths and heights, images
 * narrower than a tile), strides 1 and 2, TF SAME and symmetric padding,
 * 1..32 output channels, per-tensor and per-channel requantization, random
 * zero points, weights whose w - zw fit int8 or not, accumulators near the
 * int32 limits, random row splits; then the bundled models' stem shapes,
 * and the stem output of the bundled detectors and segmenters at int8
 * (isas avx512 and avx2 against ref, through the plan and session).
 * Buffers are allocated to their exact sizes (ASan catches over-reads). */
#include <math.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "mnet.h"
#include "int8/q8_stem_common.h"
#include "int8/q8_float_requant.h"
#include "int8/q8_vnni_stem.h"
#include "int8/q8_vnni_stem_wide.h"
#include "int8/q8_x86.h"
#include "test_util.h"

static void fill_u8(test_rng *r, uint8_t *x, size_t n, int lo, int hi) {
    for (size_t i = 0; i < n; i++) x[i] = (uint8_t)test_rng_int(r, lo, hi);
}

/* Weight styles: full 0..255 range (per-pixel input sums needed), w - zw
 * inside int8 (no sums), symmetric int8 stored + 128 (zero point 128), w - zw
 * inside int8 but at one random tap, where some channels go past it (the
 * spare byte, as trained uint8 stems; sometimes by up to 254 - zw, the
 * most the split covers, sometimes to 255, which it does not). */
enum { W_FULL, W_FITS, W_SYMMETRIC, W_SPARE, W_STYLES };

/* wide: for the AVX-512 table, -1 leaves the routes the pack chose, else
 * bit 0 turns the VBMI direct-pixel kernel on (off if clear), bit 1 the float
 * requantization (each where the pack allows it). */
static void check_case(const mnet_q8_kernels *k, test_rng *r, int in_h, int in_w, int out_c,
                       int stride, mnet_padding pad, int per_channel, int wstyle, int extreme,
                       int wide) {
    mnet_conv_geometry g;
    if (mnet_conv_geometry_init(&g, in_h, in_w, 3, out_c, 3, stride, 1, 1, pad) != 0 ||
        g.out_h <= 0 || g.out_w <= 0)
        return;
    mnet_activation acts[3] = {MNET_ACT_NONE, MNET_ACT_RELU, MNET_ACT_RELU6};
    int zw = wstyle == W_SYMMETRIC                               ? 128
             : wstyle == W_SPARE && test_rng_int(r, 0, 4) == 0 ? 0
                                                               : test_rng_int(r, 0, 255);
    int zo = test_rng_int(r, 0, 3) == 0 ? 0 : test_rng_int(r, 0, 255);
    mnet_q8_conv_params p = mnet_q8_conv_params_init(
        test_rng_float(r, 0.005f, 0.5f), test_rng_int(r, 0, 255), test_rng_float(r, 0.001f, 0.4f),
        zw, test_rng_float(r, 0.01f, 0.6f), zo, acts[test_rng_int(r, 0, 2)]);
    mnet_requant rq[32];
    if (per_channel) {
        int with_large = test_rng_int(r, 0, 1);
        for (int c = 0; c < out_c; c++) {
            double real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, -20, -2));
            if (with_large && c % 7 == 3)
                real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, 1, 6));
            rq[c] = mnet_requant_from_real(real);
        }
        p.channel_requant = rq;
    }
    size_t nin = (size_t)g.in_h * g.in_w * 3, nw = (size_t)out_c * 27;
    size_t nout = (size_t)g.out_h * g.out_w * out_c;
    uint8_t *in = malloc(nin), *w = malloc(nw), *want = malloc(nout), *got = malloc(nout);
    int32_t *bias = malloc((size_t)out_c * 4), *pb = malloc(((size_t)out_c + 64) * 4);
    fill_u8(r, in, nin, 0, 255);
    if (wstyle == W_FULL) {
        fill_u8(r, w, nw, 0, 255);
        w[test_rng_int(r, 0, (int)nw - 1)] = zw < 128 ? 255 : 0; /* some w - zw outside int8 */
    } else if (wstyle == W_FITS) {
        fill_u8(r, w, nw, zw - 128 < 0 ? 0 : zw - 128, zw + 127 > 255 ? 255 : zw + 127);
    } else if (wstyle == W_SYMMETRIC) {
        fill_u8(r, w, nw, 1, 255); /* int8 -127..127 + 128 */
    } else {
        fill_u8(r, w, nw, zw - 128 < 0 ? 0 : zw - 128, zw + 127 > 255 ? 255 : zw + 127);
        int tap = test_rng_int(r, 0, 26), top = test_rng_int(r, 0, 3) == 0 ? 255 : 254;
        for (int o = 0; o < out_c; o++) {
            if (test_rng_int(r, 0, 2) == 0) continue;
            if (zw <= 126 && test_rng_int(r, 0, 1)) /* above zw + 127 */
                w[o * 27 + tap] = (uint8_t)test_rng_int(r, zw + 128, top < zw + 128 ? 255 : top);
            else if (zw >= 129) /* below zw - 128 */
                w[o * 27 + tap] = (uint8_t)test_rng_int(r, 0, zw - 129);
        }
    }
    for (int o = 0; o < out_c; o++)
        bias[o] = extreme ? (int32_t)(uint32_t)test_rng_next(r) / 2
                          : test_rng_int(r, -50000, 50000);
    size_t bytes = k->stem_pack_bytes(&g);
    CHECK_MSG(bytes > 0, "%s stem does not cover %dx%d -> %d s%d", k->isa, in_h, in_w, out_c,
              stride);
    if (bytes > 0) {
        void *packed = malloc(bytes);
        k->stem_pack(&g, &p, w, bias, packed, pb);
        if (wide >= 0 && k == &mnet_q8_kernels_avx512vnni) {
            int allowed = out_c == 32 && !per_channel && mnet_q8_stem_wide_cpu();
            float sc, of;
            int with_float = (wide & 2) && !per_channel &&
                             mnet_q8_float_requant_find(p.requant, p.output_zero_point, &sc, &of);
            int want_route = ((wide & 1) && allowed) + 2 * with_float;
            int route = mnet_q8_vnni_stem_set_wide(packed, wide & 1, wide & 2);
            CHECK_MSG(route == want_route, "wide route %d, wanted %d", route, want_route);
        }
        mnet_q8_ref_conv(&g, &p, in, w, bias, want, 0, g.out_h);
        memset(got, 0xA5, nout);
        int split = test_rng_int(r, 0, g.out_h);
        /* the later rows first: a write past the end of row split - 1
         * would show */
        k->stem(&g, &p, in, packed, pb, got, split, g.out_h);
        k->stem(&g, &p, in, packed, pb, got, 0, split);
        size_t bad = 0;
        while (bad < nout && want[bad] == got[bad]) bad++;
        if (bad < nout)
            fprintf(stderr, "first difference: row %zu column %zu channel %zu: %d, want %d\n",
                    bad / out_c / g.out_w, bad / out_c % g.out_w, bad % out_c, got[bad],
                    want[bad]);
        CHECK_MSG(bad == nout,
                  "%s stem %dx%d -> %d s%d pad %d (%d,%d), per-channel %d, weights %d, extreme %d, "
                  "wide %d",
                  k->isa, in_h, in_w, out_c, stride, (int)pad, g.pad_top, g.pad_left,
                  per_channel, wstyle, extreme, wide);
        free(packed);
    }
    free(in), free(w), free(want), free(got), free(bias), free(pb);
}

static void check_table(const mnet_q8_kernels *k, test_rng *r) {
    /* shapes it must decline: the plan then gathers patches */
    mnet_conv_geometry g;
    mnet_conv_geometry_init(&g, 9, 9, 3, 33, 3, 2, 1, 1, MNET_PAD_TF_SAME);
    CHECK(k->stem_pack_bytes(&g) == 0);
    mnet_conv_geometry_init(&g, 9, 9, 4, 32, 3, 2, 1, 1, MNET_PAD_TF_SAME);
    CHECK(k->stem_pack_bytes(&g) == 0);
    mnet_conv_geometry_init(&g, 9, 9, 3, 32, 3, 3, 1, 1, MNET_PAD_TF_SAME);
    CHECK(k->stem_pack_bytes(&g) == 0);
    mnet_conv_geometry_init(&g, 9, 9, 3, 32, 3, 1, 2, 1, MNET_PAD_TF_SAME);
    CHECK(k->stem_pack_bytes(&g) == 0);
    mnet_conv_geometry_init(&g, 9, 9, 3, 32, 5, 2, 1, 1, MNET_PAD_TF_SAME);
    CHECK(k->stem_pack_bytes(&g) == 0);

    for (int t = 0; t < 600; t++) {
        int in_h = test_rng_int(r, 1, 40), in_w = test_rng_int(r, 1, 40);
        if (t % 4 == 0) in_w = test_rng_int(r, 1, 7); /* narrower than a tile */
        int out_c = t % 5 == 0 ? 32 : t % 5 == 1 ? 16 : test_rng_int(r, 1, 32);
        check_case(k, r, in_h, in_w, out_c, test_rng_int(r, 1, 2),
                   t % 3 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC, t % 2, t / 4 % W_STYLES,
                   t % 7 == 3, t % 4 == 1 ? 1 : -1); /* 1: the integer requantization */
    }
    /* 32 channels with per-tensor requantization: the direct pixels of rows
     * of 16 or more (blocks of 16, the last one overlapping) through the
     * VBMI kernel or the tiles, each with the integer or the float
     * requantization; every weight style (input sums or not), all
     * requantization routes (random scales) */
    for (int t = 0; t < 240; t++) {
        int in_h = test_rng_int(r, 1, 9), in_w = test_rng_int(r, 30, 140);
        check_case(k, r, in_h, in_w, 32, test_rng_int(r, 1, 2),
                   t % 3 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC, 0, t % W_STYLES, t % 7 == 3,
                   t / 4 % 4);
    }
    /* the bundled models' stems: MobileNet 224 (32), SSD 300 (24 and 32),
     * DeepLab 513 and 257 (32, 16 at depth multiplier 0.5) */
    const int shapes[][3] = {{224, 224, 32}, {300, 300, 24}, {300, 300, 32},
                             {513, 513, 32}, {257, 257, 16}, {225, 223, 32}};
    for (int i = 0; i < 6; i++)
        for (int style = 0; style < W_STYLES; style++)
            check_case(k, r, shapes[i][0], shapes[i][1], shapes[i][2], 2, MNET_PAD_TF_SAME,
                       style == W_SYMMETRIC, style, 0, -1);
}

/* The stem output (tap conv0) of a bundled model at int8: `isa` against the
 * reference kernels, bit for bit. 1 = equal, 0 = differs, -1 = not run. */
static int model_stem_equal(const char *path, const char *isa, const float *input, size_t n) {
    float *out[2] = {NULL, NULL};
    size_t count[2] = {0, 0};
    const char *isas[2] = {"ref", isa};
    const char *tap = "conv0";
    for (int k = 0; k < 2; k++) {
        mnet_options o;
        mnet_options_init(&o);
        o.precision = MNET_PRECISION_INT8;
        o.isa = isas[k];
        o.threads = 2;
        mnet_model *m = NULL;
        mnet_session *s = NULL;
        mnet_error e;
        mnet_session_options so = {&tap, 1};
        mnet_tensor t;
        if (mnet_model_load(path, &o, &m, &e) == MNET_OK &&
            mnet_session_create(m, &so, &s, &e) == MNET_OK && mnet_run(s, input, n) == MNET_OK &&
            mnet_session_tap(s, 0, &t) == MNET_OK) {
            count[k] = (size_t)t.height * t.width * t.channels;
            out[k] = malloc(count[k] * sizeof(float));
            memcpy(out[k], t.data, count[k] * sizeof(float));
        }
        mnet_session_destroy(s);
        mnet_model_destroy(m);
    }
    int result = !out[0] || !out[1] ? -1
                 : count[0] == count[1] && memcmp(out[0], out[1], count[0] * sizeof(float)) == 0;
    free(out[0]), free(out[1]);
    return result;
}

/* The detectors', segmenters' and classifiers' stems through the whole int8
 * path (300, 513 and 224 pixels, TF SAME padding after, or on both sides;
 * 24, 32, 16 outputs; the published uint8 MobileNet V2 takes the spare
 * byte). */
static void check_models(void) {
    const char *src = getenv("MNET_SOURCE_DIR");
    const char *models[] = {"ssd_mobilenet_v1_coco",       "ssd_mobilenet_v2_coco",
                            "deeplabv3_mnv2_dm1.0_pascal", "deeplabv3_mnv2_dm0.5_pascal",
                            "mobilenet_v2_1.0_224",        "mobilenet_v1_1.0_224"};
    const int sizes[] = {300, 300, 513, 513, 224, 224};
    test_rng rng = {0x7F4A7C159E3779B9ull};
    for (int i = 0; i < 6; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s.safetensors", src ? src : ".", models[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("%s: not found, not tested\n", path);
            continue;
        }
        fclose(f);
        size_t n = (size_t)sizes[i] * sizes[i] * 3;
        float *input = malloc(n * sizeof *input);
        for (size_t k = 0; k < n; k++) input[k] = test_rng_float(&rng, -1.0f, 1.0f);
        /* avx2: AVX-VNNI where the CPU has it, else plain AVX2 */
        const char *isas[] = {"avx512", "avx2"};
        for (int k = 0; k < 2; k++) {
            int eq = model_stem_equal(path, isas[k], input, n);
            CHECK_MSG(eq == 1, "%s: stem at isa %s %s the reference", models[i], isas[k],
                      eq < 0 ? "did not run beside" : "differs from");
        }
        free(input);
    }
}

int main(void) {
    test_rng rng = {0x9E3779B97F4A7C15ull};
    const mnet_q8_kernels *sets[8];
    int n = mnet_q8_kernels_available(sets, 8), tested = 0;
    for (int i = 0; i < n; i++) {
        if (!sets[i]->stem) continue;
        CHECK(sets[i]->stem_pack_bytes && sets[i]->stem_pack);
        printf("testing %s stem\n", sets[i]->isa);
        check_table(sets[i], &rng);
        tested++;
    }
    if (!tested) printf("no kernel table with a stem kernel on this CPU\n");
    check_models();
    /* compiled in: each x86 table must have the stem */
    const mnet_q8_kernels *x86[] = {&mnet_q8_kernels_avx512vnni, &mnet_q8_kernels_avxvnni,
                                    &mnet_q8_kernels_avx2};
    for (int i = 0; i < 3; i++)
        if (x86[i]->pointwise) CHECK_MSG(x86[i]->stem != NULL, "%s has no stem", x86[i]->isa);
    TEST_MAIN_END();
}
