/* 1x1 kernels on weights like a trained uint8 layer's: w - zw fits a signed
 * byte but for a few extremes, which the AVX-512 VNNI kernel stores clamped
 * and adds back as residual dot products (q8_vnni_pointwise.c). Every fast
 * kernel set against the reference, bit for bit: extremes on the first and
 * last channel of vectors, 32-blocks, 24-channel pairs and the all-channel
 * tiles, on the first and the last (partial) input group, several sharing an
 * input or a vector, more extremes than the residual list holds and a
 * residual of 128 (both back to the input sums), per-tensor and per-channel,
 * pixel counts off the tiles, split in two calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "int8/q8_kernels.h"
#include "q8_test_run.h"
#include "test_util.h"

static mnet_q8_conv_params residual_params(test_rng *r, int zw, mnet_requant *rq, int out_c,
                                           int per_channel) {
    mnet_activation acts[3] = {MNET_ACT_NONE, MNET_ACT_RELU, MNET_ACT_RELU6};
    int out_zero_point = test_rng_int(r, 0, 2) == 0 ? 0 : test_rng_int(r, 0, 255);
    mnet_q8_conv_params p = mnet_q8_conv_params_init(
        test_rng_float(r, 0.005f, 0.1f), test_rng_int(r, 0, 255), test_rng_float(r, 0.001f, 0.05f),
        zw, test_rng_float(r, 0.02f, 0.6f), out_zero_point, acts[test_rng_int(r, 0, 2)]);
    if (per_channel) {
        for (int c = 0; c < out_c; c++)
            rq[c] = mnet_requant_from_real(
                ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, c % 9 == 4 ? -3 : -20, -6)));
        p.channel_requant = rq;
    }
    return p;
}

/* One case: weights zw + d (|d| <= 100), then `extremes` weights at 0 or
 * 255 (whichever is farther from zw) at channels and inputs drawn from the
 * edges: channel 0, 15, 16, 31, 63, 64, out_c - 1 or random, input 0,
 * in_c - 1, or the input of the previous extreme (shared entries). */
static void check_case(const mnet_q8_kernels *k, test_rng *r, int in_c, int out_c, int pixels,
                       int zw, int extremes, int per_channel) {
    mnet_requant *rq = malloc((size_t)out_c * sizeof *rq);
    mnet_q8_conv_params p = residual_params(r, zw, rq, out_c, per_channel);
    uint8_t *in = malloc((size_t)pixels * in_c), *w = malloc((size_t)in_c * out_c);
    int32_t *bias = malloc((size_t)out_c * 4);
    for (size_t i = 0; i < (size_t)pixels * in_c; i++) in[i] = (uint8_t)test_rng_int(r, 0, 255);
    for (size_t i = 0; i < (size_t)in_c * out_c; i++) {
        int v = zw + test_rng_int(r, -100, 100);
        w[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    for (int o = 0; o < out_c; o++) bias[o] = test_rng_int(r, -60000, 60000);
    int far = zw < 128 ? 255 : 0, last_i = 0;
    static const int edge_channels[] = {0, 15, 16, 31, 63, 64, 8, 23};
    for (int e = 0; e < extremes; e++) {
        int pick = test_rng_int(r, 0, 10), o, i;
        if (pick < 8)
            o = edge_channels[pick] < out_c ? edge_channels[pick] : out_c - 1;
        else
            o = pick == 8 ? out_c - 1 : test_rng_int(r, 0, out_c - 1);
        pick = test_rng_int(r, 0, 3);
        i = pick == 0   ? 0
            : pick == 1 ? in_c - 1
            : pick == 2 ? last_i
                        : test_rng_int(r, 0, in_c - 1);
        w[(size_t)o * in_c + i] = (uint8_t)(test_rng_int(r, 0, 4) ? far : 255 - far);
        last_i = i;
    }
    int split[1];
    CHECK_MSG(q8_pointwise_agrees(k, r, in_c, out_c, &p, in, w, bias, pixels, split),
              "%s pointwise %d->%d x %d px, zw %d, %d extremes, per-channel %d", k->isa, in_c,
              out_c, pixels, zw, extremes, per_channel);
    free(rq), free(in), free(w), free(bias);
}

static void check_set(const mnet_q8_kernels *k, test_rng *r) {
    /* every tile shape: 16-vectors (out 16, 8), 24-channel pairs (24, 21,
     * 88), 32-blocks (32, 60), 48 (40), all-channel tiles (72, 96, 144,
     * 130), 64-blocks and their tails (64, 112, 160, 192, 200); K small but
     * not a multiple of 8, or large, with a partial last input group */
    static const int outs[] = {16, 8, 24, 21, 88, 32, 60, 40, 72, 96, 144, 130, 64, 112, 160,
                               192, 200};
    static const int ins[] = {12, 20, 36, 96, 144, 13, 150, 61};
    int n_outs = (int)(sizeof outs / sizeof outs[0]), n_ins = (int)(sizeof ins / sizeof ins[0]);
    for (int t = 0; t < 204; t++) {
        int out_c = outs[t % n_outs], in_c = ins[(t / n_outs + t) % n_ins];
        int zw = test_rng_int(r, 0, 1) ? test_rng_int(r, 100, 126) : test_rng_int(r, 130, 156);
        int extremes = t % 6 == 5 ? test_rng_int(r, 9, 14) : test_rng_int(r, 1, 4);
        int pixels = t % 4 == 3 ? test_rng_int(r, 1, 7) : test_rng_int(r, 8, 260);
        check_case(k, r, in_c, out_c, pixels, zw, extremes, t % 3 == 1);
    }
    /* a residual of 128 (w 255, zw 0) and weights without extremes */
    for (int t = 0; t < 12; t++) {
        int out_c = outs[test_rng_int(r, 0, n_outs - 1)], in_c = ins[t % n_ins];
        check_case(k, r, in_c, out_c, test_rng_int(r, 1, 90), t % 2 ? 0 : 128 + t,
                   t % 2 ? 2 : 0, t % 3 == 0);
    }
}

int main(void) {
    test_rng rng = {0x9E3779B97F4A7C15ull};
    q8_for_each_fast_set(check_set, &rng);
    TEST_MAIN_END();
}
