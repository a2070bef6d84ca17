/* The float route of a requantization to uint8 (AVX-512): one FMA per 16
 * values where the integer route (q8_rqtable.h) needs two vpmuldq, which
 * compete with the multiply-adds (vpdpbusd) for the same two pipes. Used
 * where the pack proved it exact (mnet_q8_float_requant_find): the stems
 * (q8_vnni_stem.c, q8_vnni_stem_wide.c) and the 1x1 kernels
 * (q8_vnni_pointwise.c); they and the proof run the same mnet_q8_float_rq. */
#ifndef MNET_INT8_Q8_FLOAT_REQUANT_H
#define MNET_INT8_Q8_FLOAT_REQUANT_H

#include <stdint.h>

#include "int8/requant.h"

/* The float route of the requantization (fewer multiplies than the
 * integer one, whose two vpmuldq per 16 values compete with the
 * multiply-adds): out = clamp(floor(fma(float(acc), scale, offset)), 0,
 * 255), every step with its own fixed rounding (whatever the caller's
 * MXCSR). Searches scale (near multiplier / 2^t) and offset (near 0.5 + zp)
 * for which that equals clamp(mnet_requant_apply(acc, r) + zp, 0, 255) for
 * EVERY int32 acc. Both sides are monotonic non-decreasing in acc (each
 * step of the float route is: the conversion, the fma with scale > 0, both
 * rounded to nearest, the floor), so they are equal everywhere when they
 * are equal at both ends of every run of accumulators where the integer
 * side is constant: the proof checks the 2 accumulators at each of its 255
 * steps (found by bisection), whatever the multiplier (its pack time does
 * not grow with the accumulator range). 0 if none (short shifts, no pair
 * found: the integer route then). Needs AVX-512F. */
int mnet_q8_float_requant_find(mnet_requant r, int32_t zero_point, float *scale, float *offset);


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define MNET_FRQ_F512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/* The float route (mnet_q8_float_requant_find): floor(fma(float(acc),
 * scale, offset)) as int32, each rounding fixed in the instruction. */
MNET_FRQ_F512 static inline __attribute__((always_inline)) __m512i
mnet_q8_float_rq(__m512i acc, __m512 scale, __m512 offset) {
    __m512 x = _mm512_cvt_roundepi32_ps(acc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f =
        _mm512_fmadd_round_ps(x, scale, offset, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

#endif

#endif
