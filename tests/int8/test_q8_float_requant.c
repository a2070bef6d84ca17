/* The float requantization (q8_float_requant.h), shared by the stems and
 * the 1x1 kernels. First its proof against brute force: random multipliers,
 * shifts and zero points; where mnet_q8_float_requant_find accepts, the
 * float route must give clamp(mnet_requant_apply(acc) + zp, 0, 255) for a
 * dense window well beyond the proof's range, the int32 extremes and random
 * int32 accumulators and a band around every output step (found
 * independently, in double); where it must refuse (short shifts,
 * multiplier 0, zero points outside 0..255) it does. Then 1x1 layers whose requantization the proof accepts, every
 * fast kernel set against the reference bit for bit: every tile shape
 * that takes the float route (16-vectors, 64-blocks, the all-channel tiles
 * of 65..96 and 129..144 channels) and those that do not, sum and residual
 * weights, zero points and clamps narrower than 0..255 (ReLU6), accumulators
 * near the output's saturation, per-tensor (float route) and per-channel
 * (integer route), pixel counts off the tiles, split in two calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "int8/q8_float_requant.h"
#include "int8/q8_kernels.h"
#include "q8_test_run.h"
#include "test_util.h"

static int32_t want_byte(int32_t acc, mnet_requant r, int32_t zp) {
    int64_t v = (int64_t)mnet_requant_apply(acc, r) + zp;
    return (int32_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

/* Number of accumulators of acc[0..n) where the float route (clamped to
 * 0..255) differs from the integer one. */
MNET_FRQ_F512 static int float_mismatches(const int32_t *acc, int n, mnet_requant r, int32_t zp,
                                          float scale, float offset) {
    int bad = 0;
    __m512 sc = _mm512_set1_ps(scale), of = _mm512_set1_ps(offset);
    for (int i = 0; i < n; i += 16) {
        int32_t in[16], got[16];
        for (int l = 0; l < 16; l++) in[l] = acc[i + l < n ? i + l : n - 1];
        __m512i y = mnet_q8_float_rq(_mm512_loadu_si512(in), sc, of);
        y = _mm512_min_epi32(_mm512_max_epi32(y, _mm512_setzero_si512()), _mm512_set1_epi32(255));
        _mm512_storeu_si512(got, y);
        for (int l = 0; l < 16 && i + l < n; l++) bad += got[l] != want_byte(in[l], r, zp);
    }
    return bad;
}

static void check_proof(test_rng *r) {
    enum { WINDOW = 1 << 16, RANDOM = 4096, BAND = 40 };
    int32_t *acc = malloc(sizeof(int32_t) * (WINDOW + RANDOM + 8 + 256 * (2 * BAND + 1)));
    int accepted = 0, accepted_wide = 0;
    for (int t = 0; t < 400; t++) {
        mnet_requant q = {test_rng_int(r, 1 << 30, 0x7FFFFFFF), -test_rng_int(r, 2, 31)};
        if (t % 5 == 0) q.multiplier = 1 << 30; /* exact powers of two */
        int32_t zp = t % 7 == 0 ? 0 : t % 7 == 1 ? 255 : test_rng_int(r, 0, 255);
        float scale = 0, offset = 0;
        int ok = mnet_q8_float_requant_find(q, zp, &scale, &offset);
        double unit = ldexp(1.0, 31 - q.shift) / q.multiplier; /* accumulators per step */
        if (!ok) continue;
        accepted++;
        accepted_wide += unit * 256 > WINDOW;
        /* a dense window covering the unsaturated range and beyond, centred
         * on where the output crosses the zero point */
        double centre = -zp * unit + 128 * unit;
        int64_t lo = (int64_t)floor(centre) - WINDOW / 2;
        int n = 0;
        for (int i = 0; i < WINDOW; i++) acc[n++] = (int32_t)(lo + i);
        for (int i = 0; i < RANDOM; i++)
            acc[n++] = (int32_t)(uint32_t)test_rng_next(r);
        double top = 257 * unit < INT32_MAX ? 257 * unit : INT32_MAX;
        int32_t edges[8] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX,
                            (int32_t)top};
        for (int i = 0; i < 8; i++) acc[n++] = edges[i];
        /* where the output steps from v - 1 to v: (v - zp - 1/2) unit */
        for (int v = 1; v <= 255; v++) {
            double a = floor((v - zp - 0.5) * unit);
            if (a < INT32_MIN + BAND || a > (double)INT32_MAX - BAND) continue;
            for (int d = -BAND; d <= BAND; d++) acc[n++] = (int32_t)a + d;
        }
        CHECK_MSG(float_mismatches(acc, n, q, zp, scale, offset) == 0,
                  "float route differs: multiplier %d shift %d zp %d (scale %a offset %a)",
                  (int)q.multiplier, q.shift, (int)zp, (double)scale, (double)offset);
    }
    printf("proof: %d of 400 accepted, %d with steps wider than the dense window\n", accepted,
           accepted_wide);
    CHECK_MSG(accepted > 60 && accepted_wide > 20, "accepted %d, wide %d", accepted,
              accepted_wide);
    /* never: short shifts (t < 33), multiplier 0, zero points outside 0..255 */
    float s, o;
    for (int shift = -1; shift <= 2; shift++)
        CHECK(!mnet_q8_float_requant_find((mnet_requant){1 << 30, shift}, 0, &s, &o));
    CHECK(!mnet_q8_float_requant_find((mnet_requant){0, -8}, 0, &s, &o));
    CHECK(!mnet_q8_float_requant_find((mnet_requant){1 << 30, -8}, -1, &s, &o));
    CHECK(!mnet_q8_float_requant_find((mnet_requant){1 << 30, -8}, 256, &s, &o));
    free(acc);
}

#else

static void check_proof(test_rng *r) { (void)r; }

#endif

/* A per-tensor 1x1 layer whose requantization the proof accepts (drawn
 * again until it does), or a per-channel one. */
static mnet_q8_conv_params layer_params(test_rng *r, int zw, mnet_requant *rq, int out_c,
                                        int per_channel) {
    mnet_activation acts[3] = {MNET_ACT_NONE, MNET_ACT_RELU, MNET_ACT_RELU6};
    for (;;) {
        int zo = test_rng_int(r, 0, 2) == 0 ? 0 : test_rng_int(r, 0, 255);
        mnet_q8_conv_params p = mnet_q8_conv_params_init(
            test_rng_float(r, 0.01f, 0.1f), test_rng_int(r, 0, 255),
            test_rng_float(r, 0.002f, 0.05f), zw, test_rng_float(r, 0.01f, 0.3f), zo,
            acts[test_rng_int(r, 0, 2)]);
        if (per_channel) {
            for (int c = 0; c < out_c; c++)
                rq[c] = mnet_requant_from_real(
                    ldexp(test_rng_float(r, 0.5f, 1.0f), test_rng_int(r, -12, -3)));
            p.channel_requant = rq;
            return p;
        }
        float s, o;
        if (mnet_q8_float_requant_find(p.requant, p.output_zero_point, &s, &o)) return p;
    }
}

/* Weights: full 0..255 (input sums), or zw + d, |d| <= 100, with a couple of
 * extremes (residual mode for larger K); biases centred so that the
 * outputs cross the whole range, saturating at both ends. */
static void check_case(const mnet_q8_kernels *k, test_rng *r, int in_c, int out_c, int pixels,
                       int full_weights, int per_channel) {
    int zw = test_rng_int(r, 0, 3) == 0 ? 128 : test_rng_int(r, 90, 160);
    mnet_requant *rq = malloc((size_t)out_c * sizeof *rq);
    mnet_q8_conv_params p = layer_params(r, zw, rq, out_c, per_channel);
    uint8_t *in = malloc((size_t)pixels * in_c), *w = malloc((size_t)in_c * out_c);
    int32_t *bias = malloc((size_t)out_c * 4);
    for (size_t i = 0; i < (size_t)pixels * in_c; i++) in[i] = (uint8_t)test_rng_int(r, 0, 255);
    for (size_t i = 0; i < (size_t)in_c * out_c; i++) {
        int v = full_weights ? test_rng_int(r, 0, 255) : zw + test_rng_int(r, -100, 100);
        w[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (!full_weights)
        for (int e = 0; e < 2; e++)
            w[(size_t)test_rng_int(r, 0, out_c - 1) * in_c + test_rng_int(r, 0, in_c - 1)] =
                (uint8_t)(zw < 128 ? 255 : 0);
    /* the accumulator of one output step, so that the bias moves the
     * outputs over the whole range */
    for (int o = 0; o < out_c; o++) {
        mnet_requant q = per_channel ? rq[o] : p.requant;
        double step = ldexp(1.0, 31 - q.shift) / q.multiplier;
        bias[o] = (int32_t)(test_rng_float(r, -200.0f, 200.0f) * step);
    }
    int split[1];
    CHECK_MSG(q8_pointwise_agrees(k, r, in_c, out_c, &p, in, w, bias, pixels, split),
              "%s pointwise %d->%d x %d px, zw %d, full weights %d, per-channel %d, zo %d, "
              "clamp %d..%d",
              k->isa, in_c, out_c, pixels, zw, full_weights, per_channel,
              (int)p.output_zero_point, (int)p.out_min, (int)p.out_max);
    free(rq), free(in), free(w), free(bias);
}

static void check_set(const mnet_q8_kernels *k, test_rng *r) {
    /* float-route shapes: 16 (and 80 = 64 + 16 beyond the all-channel
     * tiles' K), 64-blocks (64, 192, 200, 384), all-channel tiles (72, 96,
     * 144, 130); others (24, 32, 40) stay on the integer route */
    static const int outs[] = {16, 96, 144, 192, 64, 72, 130, 200, 80, 384, 24, 32, 40};
    static const int ins[] = {16, 24, 32, 8, 12, 64, 13, 96, 150};
    int n_outs = (int)(sizeof outs / sizeof outs[0]), n_ins = (int)(sizeof ins / sizeof ins[0]);
    for (int t = 0; t < 160; t++) {
        int out_c = outs[t % n_outs], in_c = ins[(t / n_outs + t) % n_ins];
        int pixels = t % 5 == 4 ? test_rng_int(r, 1, 9) : test_rng_int(r, 10, 300);
        check_case(k, r, in_c, out_c, pixels, t % 2, t % 4 == 3);
    }
}

int main(void) {
    test_rng rng = {0x2545F4914F6CDD1Dull};
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) check_proof(&rng);
#endif
    q8_for_each_fast_set(check_set, &rng);
    TEST_MAIN_END();
}
