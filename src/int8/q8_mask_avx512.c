/* The per-pixel class choice of the uint8 DeepLab mask on AVX-512: 16
 * classes per vector, every class interpolated and quantized with exactly
 * the float operations of the reference (q8_ops_ref.c: dequantize, Arm NN's
 * lerp along x then y, divide by the scale, round half away from zero, add
 * the zero point, clamp), each operation a separate intrinsic so that no
 * multiply and add fuse, then the first class with the largest value. Its
 * scalar twin is mnet_q8_argmax_at. */
#include "int8/q8_mask.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define MASK512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/* scale * ((float)q - (float)zero_point) on 16 bytes (masked lanes read 0) */
MASK512 static inline __m512 dequantize16(const uint8_t *p, __mmask16 m, __m512 zp, __m512 scale) {
    __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p)));
    __m512 centred = _mm512_sub_ps(q, zp);
    return _mm512_mul_ps(centred, scale);
}

/* Arm NN's lerp(a, b, w) = w * b + (1 - w) * a, rest = 1 - w given */
MASK512 static inline __m512 lerp16(__m512 a, __m512 b, __m512 w, __m512 rest) {
    __m512 wb = _mm512_mul_ps(w, b);
    __m512 ra = _mm512_mul_ps(rest, a);
    return _mm512_add_ps(wb, ra);
}

/* Lanes [0, n) of 16 (n >= 1). */
static inline __mmask16 first_lanes16(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* The uint8 value of v as float: divided by the scale, rounded half away
 * from zero as q8_ops_ref.c (trunc, then the exact remainder decides), plus
 * the zero point, clamped to [0, 255]. */
MASK512 static inline __m512 quantize16(__m512 v, __m512 scale, __m512 zp) {
    const __m512 half = _mm512_set1_ps(0.5f), minus_half = _mm512_set1_ps(-0.5f);
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 scaled = _mm512_div_ps(v, scale);
    __m512 t = _mm512_roundscale_ps(scaled, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 rest = _mm512_sub_ps(scaled, t);
    t = _mm512_mask_add_ps(t, _mm512_cmp_ps_mask(rest, half, _CMP_GE_OQ), t, one);
    t = _mm512_mask_sub_ps(t, _mm512_cmp_ps_mask(rest, minus_half, _CMP_LE_OQ), t, one);
    __m512 q = _mm512_add_ps(t, zp);
    return _mm512_min_ps(_mm512_max_ps(q, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
}

MASK512 int mnet_q8_mask_argmax_avx512(const uint8_t *logits, int lo_w, int classes, float scale,
                                       int32_t zero_point, mnet_q8_tap ty, mnet_q8_tap tx) {
    const uint8_t *p00 = logits + ((size_t)ty.i0 * lo_w + tx.i0) * classes;
    const uint8_t *p01 = logits + ((size_t)ty.i0 * lo_w + tx.i1) * classes;
    const uint8_t *p10 = logits + ((size_t)ty.i1 * lo_w + tx.i0) * classes;
    const uint8_t *p11 = logits + ((size_t)ty.i1 * lo_w + tx.i1) * classes;
    const __m512 vscale = _mm512_set1_ps(scale), vzp = _mm512_set1_ps((float)zero_point);
    const __m512 wx = _mm512_set1_ps(tx.w), rx = _mm512_set1_ps(1.0f - tx.w);
    const __m512 wy = _mm512_set1_ps(ty.w), ry = _mm512_set1_ps(1.0f - ty.w);
    int best = 0, best_q = -1;
    for (int k = 0; k < classes; k += 16) {
        __mmask16 m = first_lanes16(classes - k);
        __m512 a = dequantize16(p00 + k, m, vzp, vscale);
        __m512 b = dequantize16(p01 + k, m, vzp, vscale);
        __m512 c = dequantize16(p10 + k, m, vzp, vscale);
        __m512 d = dequantize16(p11 + k, m, vzp, vscale);
        __m512 top = lerp16(a, b, wx, rx);
        __m512 bottom = lerp16(c, d, wx, rx);
        __m512 q = quantize16(lerp16(top, bottom, wy, ry), vscale, vzp);
        __m512i qi = _mm512_mask_mov_epi32(_mm512_set1_epi32(-1), m, _mm512_cvttps_epi32(q));
        int chunk_max = _mm512_reduce_max_epi32(qi);
        if (chunk_max > best_q) { /* strictly larger: earlier chunks keep ties */
            __mmask16 at = _mm512_cmpeq_epi32_mask(qi, _mm512_set1_epi32(chunk_max));
            best_q = chunk_max;
            best = k + __builtin_ctz((unsigned)at);
        }
    }
    return best;
}

#define MNET_Q8_MASK_HAVE_AVX512 1
#endif

#ifndef MNET_Q8_MASK_HAVE_AVX512
/* not compiled for this target: never selected (see mnet_q8_mask_argmax_select) */
int mnet_q8_mask_argmax_avx512(const uint8_t *logits, int lo_w, int classes, float scale,
                               int32_t zero_point, mnet_q8_tap ty, mnet_q8_tap tx) {
    return mnet_q8_argmax_at(logits, lo_w, classes, scale, zero_point, ty, tx);
}
#endif

int mnet_q8_mask_avx512_compiled(void) {
#ifdef MNET_Q8_MASK_HAVE_AVX512
    return 1;
#else
    return 0;
#endif
}

#ifdef MNET_Q8_MASK_HAVE_AVX512
/* 16 pixels of a row at once, one lane each: the classes in order, a lane
 * taking class k only when its value is strictly larger, so ties keep the
 * lowest class as ARG_MAX does. */
MASK512 void mnet_q8_mask_block_avx512(const float *top, const float *bottom, size_t stride,
                                       int classes, int count, float wy, float scale,
                                       int32_t zero_point, uint8_t *out) {
    const __mmask16 m = first_lanes16(count);
    const __m512 vscale = _mm512_set1_ps(scale), vzp = _mm512_set1_ps((float)zero_point);
    const __m512 w = _mm512_set1_ps(wy), rest_w = _mm512_set1_ps(1.0f - wy);
    __m512 best_q = _mm512_set1_ps(-1.0f);
    __m512i best = _mm512_setzero_si512();
    for (int k = 0; k < classes; k++) {
        __m512 t0 = _mm512_maskz_loadu_ps(m, top + (size_t)k * stride);
        __m512 b0 = _mm512_maskz_loadu_ps(m, bottom + (size_t)k * stride);
        __m512 q = quantize16(lerp16(t0, b0, w, rest_w), vscale, vzp);
        __mmask16 better = _mm512_cmp_ps_mask(q, best_q, _CMP_GT_OQ);
        best_q = _mm512_mask_mov_ps(best_q, better, q);
        best = _mm512_mask_mov_epi32(best, better, _mm512_set1_epi32(k));
    }
    _mm512_mask_cvtepi32_storeu_epi8(out, m, best);
}
#else
void mnet_q8_mask_block_avx512(const float *top, const float *bottom, size_t stride, int classes,
                               int count, float wy, float scale, int32_t zero_point,
                               uint8_t *out) {
    mnet_q8_mask_block_scalar(top, bottom, stride, classes, count, wy, scale, zero_point, out);
}
#endif
