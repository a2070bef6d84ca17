/* 256-bit uint8 kernels, instantiated twice by q8_avx2.c: with AVX-VNNI
 * (Q8_VNNI 1: VEX vpdpbusd / vpdpwssd) and with plain AVX2 (Q8_VNNI 0: the
 * same dot products through vpmaddwd on int16, exact because every product
 * and pair sum fits: no vpmaddubsw, whose int16 sums saturate).
 *
 * The arithmetic and layouts follow q8_vnni_common.h (read its top comment)
 * at half the width: blocks of 32 output channels = four 8-lane int32
 * vectors in lane order (vector j, 128-bit lane i, element k = channel
 * 16 i + 4 j + k), a last partial block in channel order. The
 * requantization table is stored per vector of 8 positions (fill_table8 in
 * q8_avx2.c), so that one pointer reaches a vector's constants.
 *
 * The pointwise kernels are in q8_avx2_pointwise_template.h, the depthwise
 * ones in q8_avx2_depthwise_template.h, the stem in q8_avx2_stem_template.h;
 * this file holds the requantization they share, the residual ADD, the
 * input QUANTIZE and the table.
 *
 * Expects: Q8_TARGET (the target attribute string), Q8_VNNI, Q8_NAME(x)
 * (prefixes the static names), Q8_TABLE (the table's name), Q8_ISA. */

#define Q8_FN __attribute__((target(Q8_TARGET))) static
#define Q8_INLINE __attribute__((target(Q8_TARGET), always_inline)) static inline

/* --- requantization ----------------------------------------------------------- */

typedef struct Q8_NAME(rq) {
    const int32_t *table;
    int any_short;
    int32_t zero_point, out_min, out_max;
} Q8_NAME(rq);

/* q8_rqtable.h's arithmetic on 8 lanes (see q8_vnni_common.h's
 * requant_core): 64-bit products of even and odd lanes, the int64 nudge,
 * the split shift. Without short shifts (any_short 0: every t >= 33) the
 * long-shift route: the high halves of the products plus the int32 nudge
 * 2^(s2-1), which round_even then holds (round_odd, shr, shl unused). */
Q8_INLINE __m256i Q8_NAME(requant_core)(__m256i x, __m256i mult, __m256i mult_odd,
                                        __m256i round_even, __m256i round_odd, __m256i shr_even,
                                        __m256i shl_odd, __m256i shift2, int any_short) {
    if (!any_short) {
        (void)round_odd, (void)shr_even, (void)shl_odd;
        __m256i pe = _mm256_mul_epi32(x, mult);
        __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), mult_odd);
        __m256i hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
        return _mm256_srav_epi32(_mm256_add_epi32(hi, round_even), shift2);
    }
    __m256i ae = _mm256_add_epi64(_mm256_mul_epi32(x, mult), round_even);
    __m256i ao = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mult_odd), round_odd);
    __m256i e = _mm256_srlv_epi64(ae, shr_even);
    __m256i o = _mm256_sllv_epi64(ao, shl_odd);
    return _mm256_srav_epi32(_mm256_blend_epi32(e, o, 0xAA), shift2);
}

/* The 8 positions of table group t (see fill_table8). */
Q8_INLINE __m256i Q8_NAME(requant8g)(__m256i acc, const Q8_NAME(rq) *v, const int32_t *t) {
    enum { n = 8 };
    __m256i shr = _mm256_setzero_si256(), shl = _mm256_setzero_si256();
    __m256i round_odd = _mm256_setzero_si256();
    if (v->any_short) {
        shr = _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_SHR_EVEN * n));
        shl = _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_SHL_ODD * n));
        round_odd = _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_ROUND_ODD * n));
    }
    int round_row = v->any_short ? MNET_Q8_RQ_ROUND_EVEN : MNET_Q8_RQ_ROUND32;
    return Q8_NAME(requant_core)(acc, _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_MULT * n)),
                                 _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_MULT_ODD * n)),
                                 _mm256_loadu_si256((const __m256i *)(t + round_row * n)),
                                 round_odd, shr, shl,
                                 _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_SHIFT2 * n)),
                                 v->any_short);
}

/* Positions [pos, pos + 8) (pos a multiple of 8). */
Q8_INLINE __m256i Q8_NAME(requant8)(__m256i acc, const Q8_NAME(rq) *v, int pos) {
    return Q8_NAME(requant8g)(acc, v, rq_group(v->table, pos));
}

/* Packed int16 values plus the zero point (saturating), skipped when it is
 * 0 (ReLU6 outputs of quantization-aware models); bytes clamped to
 * [out_min, out_max], each side skipped at the full range: with small K,
 * every operation beyond the multiply-adds counts. */
Q8_INLINE __m256i Q8_NAME(add_zero_point16)(__m256i w, const Q8_NAME(rq) *v) {
    return v->zero_point ? _mm256_adds_epi16(w, _mm256_set1_epi16((int16_t)v->zero_point)) : w;
}

Q8_INLINE __m256i Q8_NAME(clamp_bytes)(__m256i b, const Q8_NAME(rq) *v) {
    if (v->out_min > 0) b = _mm256_max_epu8(b, _mm256_set1_epi8((char)v->out_min));
    if (v->out_max < 255) b = _mm256_min_epu8(b, _mm256_set1_epi8((char)v->out_max));
    return b;
}

Q8_INLINE void Q8_NAME(store_block32)(uint8_t *dst, __m256i a0, __m256i a1, __m256i a2, __m256i a3,
                                      const Q8_NAME(rq) *v, int pos) {
    const int32_t *t = rq_group(v->table, pos); /* the 4 groups follow each other */
    enum { G = MNET_Q8_RQ_ROWS * 8 };
    __m256i q0 = Q8_NAME(requant8g)(a0, v, t), q1 = Q8_NAME(requant8g)(a1, v, t + G);
    __m256i q2 = Q8_NAME(requant8g)(a2, v, t + 2 * G), q3 = Q8_NAME(requant8g)(a3, v, t + 3 * G);
    __m256i w01 = Q8_NAME(add_zero_point16)(_mm256_packs_epi32(q0, q1), v);
    __m256i w23 = Q8_NAME(add_zero_point16)(_mm256_packs_epi32(q2, q3), v);
    __m256i b = Q8_NAME(clamp_bytes)(_mm256_packus_epi16(w01, w23), v);
    _mm256_storeu_si256((__m256i *)dst, b);
}

/* A channel-ordered vector of 8 (n of them valid, 1..8): a full one as
 * one 8-byte store (a variable-length copy would be a call). */
Q8_INLINE void Q8_NAME(store_vec8)(uint8_t *dst, __m256i acc, const Q8_NAME(rq) *v, int pos, int n) {
    __m256i q = Q8_NAME(requant8)(acc, v, pos);
    if (v->zero_point) q = _mm256_add_epi32(q, _mm256_set1_epi32(v->zero_point));
    /* the packs saturate to 0..255: the clamp only where the range is narrower */
    if (v->out_min > 0) q = _mm256_max_epi32(q, _mm256_set1_epi32(v->out_min));
    if (v->out_max < 255) q = _mm256_min_epi32(q, _mm256_set1_epi32(v->out_max));
    __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(q, q), _mm256_setzero_si256());
    /* bytes 0..3 of each 128-bit lane hold channels 4 i .. 4 i + 3 */
    __m128i bytes = _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    if (n >= 8) {
        _mm_storel_epi64((__m128i *)dst, bytes);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, bytes);
        memcpy(dst, tmp, (size_t)n);
    }
}

#include "int8/q8_avx2_pointwise_template.h"
#include "int8/q8_avx2_depthwise_template.h"

/* --- residual add and input quantization ------------------------------------------ */

/* mnet_requant_apply with a per-tensor multiplier on 8 lanes: requant_core
 * with broadcast constants. long_shift: r takes the long-shift route
 * (!mnet_q8_rqtable_short(r)); round then holds the int32 nudge, and
 * rq1_apply must be told so (as q8_vnni.c's rq1). */
typedef struct Q8_NAME(rq1) {
    __m256i mult, round, shr, shl, shift2;
} Q8_NAME(rq1);

Q8_FN Q8_NAME(rq1) Q8_NAME(rq1_init)(mnet_requant r, int long_shift) {
    Q8_NAME(rq1) v;
    int t = 31 - r.shift, s1 = t < 32 ? t : 32;
    v.mult = _mm256_set1_epi32(r.multiplier);
    v.round = long_shift ? _mm256_set1_epi32((int32_t)1 << (t - 33))
                         : _mm256_set1_epi64x((int64_t)1 << (t - 1));
    v.shr = _mm256_set1_epi64x(s1);
    v.shl = _mm256_set1_epi64x(32 - s1);
    v.shift2 = _mm256_set1_epi32(t - s1);
    return v;
}

Q8_INLINE __m256i Q8_NAME(rq1_apply)(__m256i x, const Q8_NAME(rq1) *v, int long_shift) {
    return Q8_NAME(requant_core)(x, v->mult, v->mult, v->round, v->round, v->shr, v->shl,
                                 v->shift2, !long_shift);
}

/* out_long: the output requantization's route, a constant per call so that
 * each variant compiles without the test; a_exact: a's rescale is the exact
 * left shift a_shift (mnet_q8_add_shift_first), as in q8_vnni.c. */
Q8_INLINE void Q8_NAME(add_loop)(const mnet_q8_add_params *p, const uint8_t *a, const uint8_t *b,
                                 uint8_t *out, size_t count, const int out_long,
                                 const int a_exact, int a_shift) {
    Q8_NAME(rq1) ra = Q8_NAME(rq1_init)(p->a_requant, 0), rb = Q8_NAME(rq1_init)(p->b_requant, 0);
    Q8_NAME(rq1) ro = Q8_NAME(rq1_init)(p->output_requant, out_long);
    __m256i za = _mm256_set1_epi32(p->a_zero_point), zb = _mm256_set1_epi32(p->b_zero_point);
    __m256i zo = _mm256_set1_epi32(p->output_zero_point);
    __m256i lo = _mm256_set1_epi32(p->out_min), hi = _mm256_set1_epi32(p->out_max);
    __m128i ls = _mm_cvtsi32_si128(p->left_shift), as = _mm_cvtsi32_si128(a_shift);
    for (size_t i = 0; i < count; i += 8) {
        int n = count - i >= 8 ? 8 : (int)(count - i);
        __m256i xa = Q8_NAME(load8_u8)(a + i, n), xb = Q8_NAME(load8_u8)(b + i, n);
        __m256i sa = a_exact ? _mm256_sll_epi32(_mm256_sub_epi32(xa, za), as)
                             : Q8_NAME(rq1_apply)(_mm256_sll_epi32(_mm256_sub_epi32(xa, za), ls),
                                                  &ra, 0);
        xb = _mm256_sll_epi32(_mm256_sub_epi32(xb, zb), ls);
        __m256i sum = _mm256_add_epi32(sa, Q8_NAME(rq1_apply)(xb, &rb, 0));
        __m256i v = _mm256_add_epi32(Q8_NAME(rq1_apply)(sum, &ro, out_long), zo);
        v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
        __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(v, v), _mm256_setzero_si256());
        uint32_t l0 = (uint32_t)_mm256_extract_epi32(bytes, 0), l1 = (uint32_t)_mm256_extract_epi32(bytes, 4);
        uint8_t tmp[8];
        memcpy(tmp, &l0, 4);
        memcpy(tmp + 4, &l1, 4);
        memcpy(out + i, tmp, (size_t)n);
    }
}

Q8_FN void Q8_NAME(add_run)(const mnet_q8_add_params *params, const uint8_t *a, const uint8_t *b,
                            uint8_t *out, size_t count) {
    mnet_q8_add_params p = *params;
    int a_shift = mnet_q8_add_shift_first(&p, &a, &b);
    int out_long = !mnet_q8_rqtable_short(p.output_requant);
    if (a_shift >= 0) {
        if (out_long) Q8_NAME(add_loop)(&p, a, b, out, count, 1, 1, a_shift);
        else Q8_NAME(add_loop)(&p, a, b, out, count, 0, 1, a_shift);
    } else {
        if (out_long) Q8_NAME(add_loop)(&p, a, b, out, count, 1, 0, 0);
        else Q8_NAME(add_loop)(&p, a, b, out, count, 0, 0, 0);
    }
}

Q8_FN void Q8_NAME(quantize_run)(const float *in, size_t count, float scale, int32_t zero_point,
                                 uint8_t *out) {
    /* a multiply by 1 / scale where that is exact (power-of-two scales), as
     * in q8_vnni.c's quantize_run */
    int power_of_two = mnet_q8_scale_is_power_of_two(scale);
    __m256 inverse = _mm256_set1_ps(power_of_two ? 1.0f / scale : 0.0f);
    __m256 s = _mm256_set1_ps(scale), zp = _mm256_set1_ps((float)zero_point);
    __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 x = _mm256_loadu_ps(in + i);
        __m256 v = power_of_two ? _mm256_mul_ps(x, inverse) : _mm256_div_ps(x, s);
        __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
        __m256 step = _mm256_or_ps(one, _mm256_and_ps(v, sign));
        t = _mm256_add_ps(t, _mm256_and_ps(away, step));
        t = _mm256_add_ps(t, zp);
        t = _mm256_min_ps(_mm256_max_ps(t, lo), hi); /* NaN -> 0 (second operand) */
        __m256i q = _mm256_cvttps_epi32(t);
        __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(q, q), _mm256_setzero_si256());
        uint32_t l0 = (uint32_t)_mm256_extract_epi32(bytes, 0), l1 = (uint32_t)_mm256_extract_epi32(bytes, 4);
        memcpy(out + i, &l0, 4);
        memcpy(out + i + 4, &l1, 4);
    }
    if (i < count) mnet_q8_ref_quantize(in + i, count - i, scale, zero_point, out + i);
}

#include "int8/q8_avx2_stem_template.h"

/* mnet_q8_ref_channel_sums 32 channels at a time (as q8_vnni.c's), the
 * last n % 32 channels by the reference. */
Q8_FN void Q8_NAME(channel_sums_run)(const uint8_t *in, int count, int stride, int n,
                                     int32_t zero_point, int32_t *sums) {
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        const uint8_t *px = in + j;
        for (int i = 0; i < count; i++, px += stride) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)px);
            __m128i lo = _mm256_castsi256_si128(x), hi = _mm256_extracti128_si256(x, 1);
            s0 = _mm256_add_epi32(s0, _mm256_cvtepu8_epi32(lo));
            s1 = _mm256_add_epi32(s1, _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
            s2 = _mm256_add_epi32(s2, _mm256_cvtepu8_epi32(hi));
            s3 = _mm256_add_epi32(s3, _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
        }
        __m256i offset = _mm256_set1_epi32((int32_t)((uint32_t)count * (uint32_t)zero_point));
        _mm256_storeu_si256((__m256i *)(void *)(sums + j), _mm256_sub_epi32(s0, offset));
        _mm256_storeu_si256((__m256i *)(void *)(sums + j + 8), _mm256_sub_epi32(s1, offset));
        _mm256_storeu_si256((__m256i *)(void *)(sums + j + 16), _mm256_sub_epi32(s2, offset));
        _mm256_storeu_si256((__m256i *)(void *)(sums + j + 24), _mm256_sub_epi32(s3, offset));
    }
    if (j < n) mnet_q8_ref_channel_sums(in + j, count, stride, n - j, zero_point, sums + j);
}

const mnet_q8_kernels Q8_TABLE = {
    .isa = Q8_ISA,
    .pointwise_pack_bytes = Q8_NAME(pw_pack_bytes),
    .pointwise_pack = Q8_NAME(pw_pack),
    .pointwise = Q8_NAME(pw_run),
    .depthwise_pack_bytes = Q8_NAME(dw_pack_bytes),
    .depthwise_pack = Q8_NAME(dw_pack),
    .depthwise = Q8_NAME(dw_run),
    .stem_pack_bytes = Q8_NAME(stem_pack_bytes),
    .stem_pack = Q8_NAME(stem_pack),
    .stem = Q8_NAME(stem_run),
    .add = Q8_NAME(add_run),
    .quantize = Q8_NAME(quantize_run),
    .channel_sums = Q8_NAME(channel_sums_run),
};

#undef Q8_FN
#undef Q8_INLINE
