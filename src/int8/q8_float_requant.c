/* The search and proof of the float requantization (q8_float_requant.h). */
#include "int8/q8_float_requant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <math.h>
#include <stdlib.h>

/* The integer side, clamped: what the float route must give. */
static int32_t want_byte(int32_t acc, mnet_requant r, int32_t zp) {
    int64_t v = (int64_t)mnet_requant_apply(acc, r) + zp;
    return (int32_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The least int32 accumulator whose clamped integer output is at least v
 * (1 <= v <= 255), by bisection (the output is monotonic in acc); 0 when
 * no int32 reaches v. */
static int first_reaching(mnet_requant r, int32_t zp, int32_t v, int64_t *at) {
    int64_t lo = INT32_MIN, hi = INT32_MAX;
    if (want_byte(INT32_MAX, r, zp) < v) return 0;
    while (lo < hi) { /* invariant: the answer is in [lo, hi] */
        int64_t mid = lo + (hi - lo) / 2;
        if (want_byte((int32_t)mid, r, zp) >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    *at = lo;
    return 1;
}

/* Whether the float route with (scale, offset) gives the integer route's
 * bytes at every one of the n check points (both ends of each constant
 * run of the integer side; see q8_float_requant.h). */
MNET_FRQ_F512 static int float_route_holds(mnet_requant r, int32_t zp, float scale,
                                           float offset, const int32_t *points, int n) {
    __m512 sc = _mm512_set1_ps(scale), of = _mm512_set1_ps(offset);
    __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
    for (int i = 0; i < n; i += 16) {
        int32_t acc[16], got[16];
        for (int l = 0; l < 16; l++) acc[l] = points[i + l < n ? i + l : n - 1];
        __m512i y = mnet_q8_float_rq(_mm512_loadu_si512(acc), sc, of);
        _mm512_storeu_si512(got, _mm512_min_epi32(_mm512_max_epi32(y, zero), top));
        for (int l = 0; l < 16; l++)
            if (got[l] != want_byte(acc[l], r, zp)) return 0;
    }
    return 1;
}

MNET_FRQ_F512 int mnet_q8_float_requant_find(mnet_requant r, int32_t zero_point, float *scale,
                                             float *offset) {
    int t = 31 - r.shift;
    /* long shifts only: |acc q / 2^t| < 2^29, so that neither side
     * overflows (the integer side wraps for multipliers above 1, the
     * float conversion saturates) and both stay monotonic on all int32 */
    if (r.multiplier <= 0 || t < 33 || t > 62 || zero_point < 0 || zero_point > 255) return 0;
    /* the check points: the int32 extremes, and for each output v the
     * first accumulator reaching it and the one before (the ends of the
     * constant runs); monotonic both sides, agreeing there means agreeing
     * on every accumulator in between */
    int32_t points[2 + 2 * 255];
    int n = 0;
    points[n++] = INT32_MIN;
    points[n++] = INT32_MAX;
    for (int32_t v = 1; v <= 255; v++) {
        int64_t a;
        if (!first_reaching(r, zero_point, v, &a)) break;
        points[n++] = (int32_t)a;
        if (a > INT32_MIN) points[n++] = (int32_t)(a - 1);
    }
    float s0 = (float)ldexp((double)r.multiplier, -t), o0 = 0.5f + (float)zero_point;
    static const int steps[] = {0, 1, -1, 2, -2, 3, -3, 4, -4, 6, -6, 8, -8};
    for (int i = 0; i < (int)(sizeof steps / sizeof steps[0]); i++)
        for (int j = 0; j < 3; j++) {
            float sc = s0, of = o0;
            for (int k = 0; k < abs(steps[i]); k++)
                sc = nextafterf(sc, steps[i] > 0 ? 1.0f : 0.0f);
            for (int k = 0; k < abs(steps[j]); k++)
                of = nextafterf(of, steps[j] > 0 ? 1e9f : -1e9f);
            if (float_route_holds(r, zero_point, sc, of, points, n)) {
                *scale = sc;
                *offset = of;
                return 1;
            }
        }
    return 0;
}

#else

int mnet_q8_float_requant_find(mnet_requant r, int32_t zero_point, float *scale, float *offset) {
    (void)r, (void)zero_point, (void)scale, (void)offset;
    return 0;
}

#endif
