/* The float route of the stems' per-tensor requantization (AVX-512): one
 * FMA per 16 values where the integer route (q8_rqtable.h) needs two
 * vpmuldq, which compete with the stem's vpdpbusd for the same two pipes.
 * Used where the pack proved it exact (mnet_q8_stem_float_requant); the
 * kernels that use it (q8_vnni_stem.c, q8_vnni_stem_wide.c) and the proof
 * run the same mnet_q8_stem_float_rq. */
#ifndef MNET_INT8_Q8_STEM_FLOAT_H
#define MNET_INT8_Q8_STEM_FLOAT_H

#include <stdint.h>

#include "int8/requant.h"

/* The float route of the requantization (fewer multiplies than the
 * integer one, whose two vpmuldq per 16 values compete with the
 * multiply-adds): out = clamp(floor(fma(float(acc), scale, offset)), 0,
 * 255), every step with its own fixed rounding (whatever the caller's
 * MXCSR). Searches scale (near multiplier / 2^t) and offset (near 0.5 + zp)
 * for which that equals clamp(mnet_requant_apply(acc, r) + zp, 0, 255) for
 * EVERY int32 acc, checked on all accumulators in the range where the output
 * is not saturated and one step beyond each side (both sides monotonic:
 * outside, both saturate alike). 0 if none (short shifts, too wide a range,
 * no pair found: the integer route then). Needs AVX-512F. */
int mnet_q8_stem_float_requant(mnet_requant r, int32_t zero_point, float *scale, float *offset);


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define MNET_STEM_F512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/* The float route (mnet_q8_stem_float_requant): floor(fma(float(acc),
 * scale, offset)) as int32, each rounding fixed in the instruction. */
MNET_STEM_F512 static inline __attribute__((always_inline)) __m512i
mnet_q8_stem_float_rq(__m512i acc, __m512 scale, __m512 offset) {
    __m512 x = _mm512_cvt_roundepi32_ps(acc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f =
        _mm512_fmadd_round_ps(x, scale, offset, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

#endif

#endif
