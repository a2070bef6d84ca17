/* 3x3 depthwise with a weight zero point whose weights mostly sit near it,
 * but for a few extreme ones (w - zw beyond a signed byte), as in trained
 * uint8 models: the AVX-512 quads store those clamped plus residual weights
 * (q8_vnni_depthwise_quad.c's dwq_pack64) instead of taking the zero-point
 * K sums. Every fast kernel set against the reference, bit for bit: the
 * extremes at block edges (first and last lanes of a 64-block, of each
 * 16-lane vector, the last channel), in one or several vectors and kernel
 * columns, one channel with extremes in two or three columns (several
 * entries), more entries than the residual holds and w - zw = 255 (the K
 * sums again); 16 and 32 channels (pixel blocks), 33-63 (one masked
 * block), 64-208 with tails of 16 and 32 (the pixel tail) and others;
 * stride 1 and 2, dilation 2; per-tensor and per-channel requantization;
 * output rows split over several calls. On AVX-512 VNNI it also checks that
 * the packing classifies the blocks as meant (residual or K sums). */
#include <math.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "int8/q8_rqtable.h"
#include "int8/q8_vnni_depthwise_quad.h"
#include "int8/q8_x86.h"
#include "q8_test_run.h"
#include "test_util.h"

static mnet_q8_conv_params random_params(test_rng *r) {
    mnet_activation acts[3] = {MNET_ACT_NONE, MNET_ACT_RELU, MNET_ACT_RELU6};
    int out_zero_point = test_rng_int(r, 0, 3) == 0 ? 0 : test_rng_int(r, 0, 255);
    return mnet_q8_conv_params_init(test_rng_float(r, 0.005f, 0.5f), test_rng_int(r, 0, 255),
                                    test_rng_float(r, 0.001f, 0.05f), test_rng_int(r, 1, 254),
                                    test_rng_float(r, 0.01f, 0.6f), out_zero_point,
                                    acts[test_rng_int(r, 0, 2)]);
}

/* Per-channel multipliers around 2^-20..2^-2 and some above 1/4 (the
 * short-shift route), written to rq. */
static void random_channel_requant(test_rng *r, mnet_q8_conv_params *p, mnet_requant *rq,
                                   int out_c) {
    for (int c = 0; c < out_c; c++) {
        double real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, -20, -2));
        if (c % 9 == 4) real = ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, -1, 3));
        rq[c] = mnet_requant_from_real(real);
    }
    p->channel_requant = rq;
}

/* A channel at a block edge (or anywhere): the first or last of a 64-block,
 * of a 16-channel group, the last channel. */
static int edge_channel(test_rng *r, int c) {
    int blocks = c / 64 > 0 ? c / 64 : 1;
    int base = 64 * test_rng_int(r, 0, blocks - 1);
    switch (test_rng_int(r, 0, 5)) {
    case 0: return base < c ? base : 0;
    case 1: return base + 63 < c ? base + 63 : c - 1;
    case 2: return c - 1;
    case 3: {
        int g = 16 * test_rng_int(r, 0, (c - 1) / 16) + (test_rng_int(r, 0, 1) ? 15 : 0);
        return g < c ? g : c - 1;
    }
    default: return test_rng_int(r, 0, c - 1);
    }
}

/* Sets weight (ch, tap) to zw + d for an extreme d (|d| > 127 one way or
 * the other, as far as a byte allows); 255 only where forced. */
static void set_extreme(test_rng *r, uint8_t *w, int ch, int tap, int zw, int force255) {
    int up = 255 - zw, down = zw; /* the room above and below the zero point */
    int v;
    if (force255) v = zw == 0 ? 255 : 0; /* w - zw = 255 or -255 */
    else if (up >= 128 && (down < 129 || test_rng_int(r, 0, 1)))
        v = zw + test_rng_int(r, 128, up < 254 ? up : 254);
    else if (down >= 129)
        v = zw - test_rng_int(r, 129, down);
    else
        v = test_rng_int(r, 0, 1) ? 255 : 0; /* zw near 128: stays in range */
    w[(size_t)ch * 9 + tap] = (uint8_t)v;
}

typedef struct residual_case {
    int c, stride, dil, per_channel;
    int extremes;   /* extreme weights placed */
    int same_lane;  /* all in one channel, different columns (several entries) */
    int force_k;    /* one w - zw = 255 (zw 0) or -255 (zw 255): K sums */
} residual_case;

static void run_case(const mnet_q8_kernels *k, test_rng *r, const residual_case *rc,
                     int *residual_blocks, int *k_blocks) {
    mnet_conv_geometry g;
    int c = rc->c;
    int in_w = rc->stride == 2 ? test_rng_int(r, 14, 40) : test_rng_int(r, 3, 24);
    mnet_conv_geometry_init(&g, test_rng_int(r, 2, 9), in_w, c, c, 3, rc->stride, rc->dil, c,
                            test_rng_int(r, 0, 1) ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC);
    if (g.out_h <= 0 || g.out_w <= 0) return;
    mnet_q8_conv_params p = random_params(r);
    if (rc->force_k) p.weight_zero_point = test_rng_int(r, 0, 1) ? 0 : 255;
    mnet_requant rq[256];
    if (rc->per_channel) random_channel_requant(r, &p, rq, c);
    int zw = p.weight_zero_point;
    size_t nin = (size_t)g.in_h * g.in_w * c;
    uint8_t *in = malloc(nin), *w = malloc((size_t)c * 9);
    int32_t *bias = malloc((size_t)c * 4);
    for (size_t i = 0; i < nin; i++) in[i] = (uint8_t)test_rng_int(r, 0, 255);
    for (int i = 0; i < c * 9; i++) { /* near the zero point: w - zw in [-100, 100] */
        int v = zw + test_rng_int(r, -100, 100);
        w[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    int lane_ch = edge_channel(r, c);
    for (int e = 0; e < rc->extremes; e++) {
        int ch = rc->same_lane ? lane_ch : edge_channel(r, c);
        int tap = rc->same_lane ? 3 * test_rng_int(r, 0, 2) + e % 3 : test_rng_int(r, 0, 8);
        set_extreme(r, w, ch, tap, zw, 0);
    }
    if (rc->force_k) set_extreme(r, w, edge_channel(r, c), test_rng_int(r, 0, 8), zw, 1);
    for (int i = 0; i < c; i++) bias[i] = test_rng_int(r, -50000, 50000);
    int split[2];
    CHECK_MSG(q8_depthwise_agrees(k, r, &g, &p, in, w, bias, split),
              "%s depthwise c %d %dx%d s%d d%d zw %d per-channel %d extremes %d%s%s split %d %d",
              k->isa, c, g.in_h, g.in_w, rc->stride, rc->dil, zw, rc->per_channel, rc->extremes,
              rc->same_lane ? " in one channel" : "", rc->force_k ? " + K" : "", split[0], split[1]);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* the packing's classification of the full 64-blocks */
    if (k == &mnet_q8_kernels_avx512vnni && mnet_q8_vnni_dwq_ok(&g) && c >= 64) {
        int32_t *wq = malloc(mnet_q8_vnni_dwq_bytes(&g));
        mnet_q8_vnni_dwq_pack(&g, w, zw, wq);
        for (int block = 0; block + 64 <= c; block += 64) {
            int extreme = 0, beyond = 0; /* w - zw outside a signed byte; = +-255 */
            for (int ch = block; ch < block + 64; ch++)
                for (int t = 0; t < 9; t++) {
                    int d = (int)w[(size_t)ch * 9 + t] - zw;
                    extreme |= d < -128 || d > 127;
                    beyond |= d == 255;
                }
            int is_k = mnet_q8_vnni_dwq_block_k(wq, block);
            /* at most 3 extremes, w - zw within -255..254: always residual */
            if (extreme && !beyond && rc->extremes + rc->force_k <= 3)
                CHECK_MSG(!is_k, "c %d block %d: K sums for at most 3 extremes", c, block);
            if (beyond) CHECK_MSG(is_k, "c %d block %d: w - zw = 255 without K", c, block);
            if (!extreme) CHECK_MSG(!is_k, "c %d block %d: K without extremes", c, block);
            *residual_blocks += extreme && !is_k;
            *k_blocks += is_k;
        }
        free(wq);
    }
#endif
    free(in), free(w), free(bias);
}

int main(void) {
    test_rng rng = {0x9E3779B97F4A7C15ull};
    static const int chans[] = {16, 32, 48, 64, 80, 96, 128, 144, 160, 192, 208, 100, 40};
    const int nchans = (int)(sizeof chans / sizeof chans[0]);
    const mnet_q8_kernels *sets[8];
    int n = mnet_q8_kernels_available(sets, 8);
    for (int i = 0; i < n; i++) {
        if (sets[i] == &mnet_q8_kernels_ref) continue;
        printf("testing %s\n", sets[i]->isa);
        int residual_blocks = 0, k_blocks = 0;
        for (int t = 0; t < 260; t++) {
            residual_case rc;
            rc.c = chans[t % nchans];
            rc.stride = t % 3 == 0 ? 2 : 1;
            rc.dil = t % 11 == 5 ? 2 : 1;
            if (rc.dil == 2) rc.stride = 1;
            rc.per_channel = (t / 2) % 2;
            rc.extremes = 1 + t % 5;   /* 4 and 5: maybe more entries than held */
            rc.same_lane = t % 7 == 3; /* one channel, several columns */
            rc.force_k = t % 13 == 6;
            run_case(sets[i], &rng, &rc, &residual_blocks, &k_blocks);
        }
        if (sets[i] == &mnet_q8_kernels_avx512vnni)
            CHECK_MSG(residual_blocks > 50 && k_blocks > 5,
                      "cases cover residual blocks (%d) and K blocks (%d)", residual_blocks,
                      k_blocks);
    }
    TEST_MAIN_END();
}
