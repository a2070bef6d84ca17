/* The search and proof of the stems' float requantization (q8_stem_float.h). */
#include "int8/q8_stem_float.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <math.h>
#include <stdlib.h>

/* Whether the float route with (scale, offset) gives the integer route's
 * bytes for every accumulator in [lo, hi] (and the few after hi in the last
 * vector, checked too). */
MNET_STEM_F512 static int float_route_holds(mnet_requant r, int32_t zp, float scale,
                                            float offset, int64_t lo, int64_t hi) {
    __m512 sc = _mm512_set1_ps(scale), of = _mm512_set1_ps(offset);
    __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
    for (int64_t a = lo; a <= hi; a += 16) {
        __m512i acc = _mm512_add_epi32(_mm512_set1_epi32((int32_t)a), lanes);
        __m512i y = mnet_q8_stem_float_rq(acc, sc, of);
        y = _mm512_min_epi32(_mm512_max_epi32(y, zero), top);
        int32_t got[16];
        _mm512_storeu_si512(got, y);
        for (int l = 0; l < 16; l++) {
            int64_t want = (int64_t)mnet_requant_apply((int32_t)(a + l), r) + zp;
            want = want < 0 ? 0 : want > 255 ? 255 : want;
            if (got[l] != want) return 0;
        }
    }
    return 1;
}

MNET_STEM_F512 int mnet_q8_stem_float_requant(mnet_requant r, int32_t zero_point, float *scale,
                                              float *offset) {
    int t = 31 - r.shift;
    /* long shifts only: |acc q / 2^t| < 2^29, no int32 overflow in floor */
    if (r.multiplier <= 0 || t < 33 || t > 62 || zero_point < 0 || zero_point > 255) return 0;
    double unit = ldexp(1.0, t) / (double)r.multiplier; /* accumulator per output step */
    double lo = floor((-zero_point - 2) * unit) - 2, hi = ceil((257 - zero_point) * unit) + 2;
    /* pack time bounded: at most 39 candidates x 2^18 accumulators (an
     * output step of up to ~1000 accumulator units; trained stems: 90-140) */
    if (hi - lo > (double)(1 << 18)) return 0;
    if (lo < -2147483648.0) lo = -2147483648.0;
    if (hi > 2147483647.0 - 16) hi = 2147483647.0 - 16;
    float s0 = (float)ldexp((double)r.multiplier, -t), o0 = 0.5f + (float)zero_point;
    static const int steps[] = {0, 1, -1, 2, -2, 3, -3, 4, -4, 6, -6, 8, -8};
    for (int i = 0; i < (int)(sizeof steps / sizeof steps[0]); i++)
        for (int j = 0; j < 3; j++) {
            float sc = s0, of = o0;
            for (int n = 0; n < abs(steps[i]); n++)
                sc = nextafterf(sc, steps[i] > 0 ? 1.0f : 0.0f);
            for (int n = 0; n < abs(steps[j]); n++)
                of = nextafterf(of, steps[j] > 0 ? 1e9f : -1e9f);
            if (float_route_holds(r, zero_point, sc, of, (int64_t)lo, (int64_t)hi)) {
                *scale = sc;
                *offset = of;
                return 1;
            }
        }
    return 0;
}

#else

int mnet_q8_stem_float_requant(mnet_requant r, int32_t zero_point, float *scale, float *offset) {
    (void)r, (void)zero_point, (void)scale, (void)offset;
    return 0;
}

#endif
