/* The AVX-512 VNNI uint8 kernel table: pointwise (q8_vnni_pointwise.c) and
 * depthwise (q8_vnni_depthwise.c) kernels, and here the residual ADD and the
 * input QUANTIZE, vectorized with the reference's arithmetic. The design is
 * described in q8_vnni_common.h. */
#include "int8/q8_x86.h"


#include "int8/q8_vnni_common.h"
#include "int8/q8_vnni_stem.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

/* --- residual add ----------------------------------------------------------- */

/* mnet_requant_apply with a per-tensor multiplier on 16 lanes: the
 * arithmetic of q8_rqtable.h with broadcast constants. */
typedef struct rq1 {
    __m512i mult, round, shr, shl, shift2;
} rq1;

/* long_shift: r takes the long-shift route (!mnet_q8_rqtable_short(r));
 * round then holds the int32 nudge, and rq1_apply must be told so. */
MNET_VNNI static rq1 rq1_init(mnet_requant r, int long_shift) {
    rq1 v;
    int t = 31 - r.shift, s1 = t < 32 ? t : 32;
    v.mult = _mm512_set1_epi32(r.multiplier);
    v.round = long_shift ? _mm512_set1_epi32((int32_t)1 << (t - 33))
                         : _mm512_set1_epi64((int64_t)1 << (t - 1));
    v.shr = _mm512_set1_epi64(s1);
    v.shl = _mm512_set1_epi64(32 - s1);
    v.shift2 = _mm512_set1_epi32(t - s1);
    return v;
}

INLINE_VNNI __m512i rq1_apply(__m512i x, const rq1 *v, int long_shift) {
    return requant_core(x, v->mult, v->mult, v->round, v->round, v->shr, v->shl, v->shift2,
                        !long_shift);
}

/* out_long: whether the output requantization takes the long-shift route
 * (a constant per call, so that each variant compiles without the test).
 * a_shift >= 0 (a_exact): a's rescale is that exact left shift
 * (mnet_q8_add_shift_first), 2 operations per 16 values instead of 10. */
INLINE_VNNI void add_loop(const mnet_q8_add_params *p, const uint8_t *a, const uint8_t *b,
                          uint8_t *out, size_t count, const int out_long, const int a_exact,
                          int a_shift) {
    rq1 ra = rq1_init(p->a_requant, 0), rb = rq1_init(p->b_requant, 0);
    rq1 ro = rq1_init(p->output_requant, out_long);
    __m512i za = _mm512_set1_epi32(p->a_zero_point), zb = _mm512_set1_epi32(p->b_zero_point);
    __m512i zo = _mm512_set1_epi32(p->output_zero_point);
    __m512i lo = _mm512_set1_epi32(p->out_min), hi = _mm512_set1_epi32(p->out_max);
    __m128i ls = _mm_cvtsi32_si128(p->left_shift), as = _mm_cvtsi32_si128(a_shift);
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 m = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512i xa = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, a + i));
        __m512i xb = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, b + i));
        __m512i sa = a_exact ? _mm512_sll_epi32(_mm512_sub_epi32(xa, za), as)
                             : rq1_apply(_mm512_sll_epi32(_mm512_sub_epi32(xa, za), ls), &ra, 0);
        xb = _mm512_sll_epi32(_mm512_sub_epi32(xb, zb), ls);
        __m512i sum = _mm512_add_epi32(sa, rq1_apply(xb, &rb, 0));
        __m512i v = _mm512_add_epi32(rq1_apply(sum, &ro, out_long), zo);
        v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
        _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(v));
    }
}

MNET_VNNI static void add_run(const mnet_q8_add_params *params, const uint8_t *a,
                              const uint8_t *b, uint8_t *out, size_t count) {
    mnet_q8_add_params p = *params;
    int a_shift = mnet_q8_add_shift_first(&p, &a, &b);
    int out_long = !mnet_q8_rqtable_short(p.output_requant);
    if (a_shift >= 0) {
        if (out_long) add_loop(&p, a, b, out, count, 1, 1, a_shift);
        else add_loop(&p, a, b, out, count, 0, 1, a_shift);
    } else {
        if (out_long) add_loop(&p, a, b, out, count, 1, 0, 0);
        else add_loop(&p, a, b, out, count, 0, 0, 0);
    }
}

/* --- input quantization ------------------------------------------------------- */

MNET_VNNI static void quantize_run(const float *in, size_t count, float scale, int32_t zero_point,
                                   uint8_t *out) {
    /* x / scale is correctly rounded; so is x * (1 / scale), to the same real
     * number, when 1 / scale is exact: a power-of-two scale (1/128: the
     * published uint8 models). The multiply is several times cheaper. */
    int power_of_two = mnet_q8_scale_is_power_of_two(scale);
    __m512 inverse = _mm512_set1_ps(power_of_two ? 1.0f / scale : 0.0f);
    __m512 s = _mm512_set1_ps(scale), zp = _mm512_set1_ps((float)zero_point);
    __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 m = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, in + i);
        __m512 v = power_of_two ? _mm512_mul_ps(x, inverse) : _mm512_div_ps(x, s);
        /* roundf: truncate, then step away from zero when |fraction| >= 0.5
         * (v - trunc(v) is exact) */
        __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __mmask16 away = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
        __m512 step = _mm512_or_ps(one, _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
        t = _mm512_mask_add_ps(t, away, t, step);
        t = _mm512_add_ps(t, zp);
        /* max/min return the second operand for NaN: NaN -> 0 */
        t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
        _mm_mask_storeu_epi8(out + i, m, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(t)));
    }
}

/* --- global pooling sums ------------------------------------------------------ */

/* mnet_q8_ref_channel_sums on 64 channels at a time: each pixel's bytes
 * widened to int32 and added (4 + 4 operations per 64 bytes), the zero
 * point subtracted once per channel at the end (the same int32 sums). */
MNET_VNNI static void channel_sums_run(const uint8_t *in, int count, int stride, int n,
                                       int32_t zero_point, int32_t *sums) {
    for (int j = 0; j < n; j += 64) {
        int m = n - j < 64 ? n - j : 64;
        __mmask64 mask = m == 64 ? ~(__mmask64)0 : (((__mmask64)1 << m) - 1);
        __m512i s[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
        const uint8_t *px = in + j;
        for (int i = 0; i < count; i++, px += stride) {
            __m512i x = _mm512_maskz_loadu_epi8(mask, px);
            s[0] = _mm512_add_epi32(s[0], _mm512_cvtepu8_epi32(_mm512_castsi512_si128(x)));
            s[1] = _mm512_add_epi32(s[1], _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(x, 1)));
            s[2] = _mm512_add_epi32(s[2], _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(x, 2)));
            s[3] = _mm512_add_epi32(s[3], _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(x, 3)));
        }
        __m512i offset = _mm512_set1_epi32((int32_t)((uint32_t)count * (uint32_t)zero_point));
        for (int v = 0; v < 4 && 16 * v < m; v++)
            _mm512_mask_storeu_epi32(sums + j + 16 * v, tail_mask(m - 16 * v),
                                     _mm512_sub_epi32(s[v], offset));
    }
}

const mnet_q8_kernels mnet_q8_kernels_avx512vnni = {
    .isa = "avx512vnni",
    .pointwise_pack_bytes = mnet_q8_vnni_pw_pack_bytes,
    .pointwise_pack = mnet_q8_vnni_pw_pack,
    .pointwise = mnet_q8_vnni_pw_run,
    .depthwise_pack_bytes = mnet_q8_vnni_dw_pack_bytes,
    .depthwise_pack = mnet_q8_vnni_dw_pack,
    .depthwise = mnet_q8_vnni_dw_run,
    .stem_pack_bytes = mnet_q8_vnni_stem_pack_bytes,
    .stem_pack = mnet_q8_vnni_stem_pack,
    .stem = mnet_q8_vnni_stem_run,
    .add = add_run,
    .quantize = quantize_run,
    .channel_sums = channel_sums_run,
};

#else

const mnet_q8_kernels mnet_q8_kernels_avx512vnni = {.isa = "avx512vnni"};

#endif
