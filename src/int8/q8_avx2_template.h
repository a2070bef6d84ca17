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
 * Pointwise: tiles of 3 pixels x 32 channels (x fewer vectors for the
 * channel-ordered tail), accumulators in named variables, any_short a
 * compile-time constant per tile function.
 *
 * Depthwise: 3x3 stride 1/2 without dilation, and 3x3 stride 1 with
 * dilation d, 32+ channels and rows of 8+ outputs (per stream) run a row
 * kernel (dw_row3x3_half: each input column widened once for every output
 * it feeds, as q8_vnni_depthwise.c's dw_row3x3), the rest a per-pixel
 * kernel over tap pairs (dw_block). Stride 1 with dilation d runs d
 * interleaved streams of outputs (ox = r, r + d, ...), each of which slides
 * over input columns d apart exactly like an undilated row (as
 * q8_vnni_depthwise_quad.c's streams).
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

/* --- pointwise ------------------------------------------------------------------ */

/* Weights per block of up to 32 positions (nv vectors of 8), per group of 4
 * input channels: VNNI: nv x 32 bytes (lane = 4 bytes w - 128); plain AVX2:
 * nv x 64 bytes, the even bytes (i0, i2) then the odd ones (i1, i3) of every
 * lane as int16 pairs, so that two vpmaddwd give the 4-term dot product. */
enum { Q8_NAME(WBYTES) = Q8_VNNI ? 1 : 2 };

static size_t Q8_NAME(pw_weight_bytes)(int in_c, int out_c) {
    return (size_t)round_up8(out_c) * (size_t)((in_c + 3) / 4 * 4) * Q8_NAME(WBYTES);
}

static size_t Q8_NAME(pw_pack_bytes)(int in_c, int out_c) {
    return Q8_HEADER_BYTES + Q8_NAME(pw_weight_bytes)(in_c, out_c) +
           mnet_q8_rqtable_bytes(round_up8(out_c));
}

static void Q8_NAME(pw_pack)(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                             const int32_t *bias, void *packed, int32_t *packed_bias) {
    int in4 = (in_c + 3) / 4 * 4, cp = round_up8(out_c);
    memset(packed, 0, Q8_NAME(pw_pack_bytes)(in_c, out_c));
    int8_t *dst = (int8_t *)packed + Q8_HEADER_BYTES;
    int32_t any_short =
        fill_table8((int32_t *)(dst + Q8_NAME(pw_weight_bytes)(in_c, out_c)), cp, out_c, p);
    memcpy(packed, &any_short, sizeof any_short);
    for (int pos = 0; pos < cp; pos++) {
        int o = pos_channel8(pos, out_c);
        int block = pos / 32 * 32, nv = (cp - block) >= 32 ? 4 : (cp - block) / 8;
        int v = (pos - block) / 8, l = pos % 8;
        int64_t wsum = 0;
        for (int i = 0; i < in_c && o < out_c; i++) {
            int w = w_oi[(size_t)o * in_c + i];
            wsum += w;
            size_t group = (size_t)block * in4 * Q8_NAME(WBYTES) +
                           ((size_t)(i / 4) * nv + v) * 32 * Q8_NAME(WBYTES);
            if (Q8_VNNI) {
                dst[group + l * 4 + i % 4] = (int8_t)(w - 128);
            } else {
                int16_t w16 = (int16_t)(w - 128);
                int k = i % 4; /* even half: k 0, 2; odd half: k 1, 3 */
                size_t at = group + (size_t)(k % 2) * 32 + (size_t)l * 4 + (size_t)(k / 2) * 2;
                memcpy(dst + at, &w16, 2);
            }
        }
        int64_t b = o < out_c ? (int64_t)(bias ? bias[o] : 0) - (int64_t)p->input_zero_point * wsum +
                                    (int64_t)in_c * p->input_zero_point * p->weight_zero_point
                              : 0;
        packed_bias[pos] = (int32_t)(uint32_t)(uint64_t)b;
    }
}

Q8_INLINE int32_t Q8_NAME(byte_sum)(const uint8_t *x, int n) {
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 32 <= n; i += 32)
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(x + i)),
                                                    _mm256_setzero_si256()));
    __m128i a = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    /* small K (16-24 channels): 16 and 8 bytes at once, not byte by byte */
    __m128i z = _mm_setzero_si128();
    if (i + 16 <= n) {
        a = _mm_add_epi64(a, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(x + i)), z));
        i += 16;
    }
    if (i + 8 <= n) {
        a = _mm_add_epi64(a, _mm_sad_epu8(_mm_loadl_epi64((const __m128i *)(x + i)), z));
        i += 8;
    }
    int32_t s = (int32_t)(_mm_cvtsi128_si64(a) + _mm_extract_epi64(a, 1));
    for (; i < n; i++) s += x[i];
    return s;
}

Q8_INLINE __m256i Q8_NAME(bcast4)(const uint8_t *x, int i, int in_c) {
    int32_t d = 0;
    if (i + 4 <= in_c) {
        memcpy(&d, x + i, 4);
    } else {
        uint8_t b[4] = {0, 0, 0, 0};
        for (int k = 0; i + k < in_c; k++) b[k] = x[i + k];
        memcpy(&d, b, 4);
    }
    return _mm256_set1_epi32(d);
}

/* 4 input bytes at x + i, all inside the row. */
Q8_INLINE __m256i Q8_NAME(bcast4_full)(const uint8_t *x, int i, int in_c) {
    (void)in_c;
    int32_t d;
    memcpy(&d, x + i, 4);
    return _mm256_set1_epi32(d);
}

/* acc += the 4-term dot products of the broadcast input group xv with the
 * packed weights at w (one vector's worth). */
Q8_INLINE __m256i Q8_NAME(dot4)(__m256i acc, __m256i xv, __m256i x_even, __m256i x_odd,
                                const int8_t *w) {
#if Q8_VNNI
    (void)x_even;
    (void)x_odd;
    /* in place: GCC 12 copies accumulators around the intrinsic */
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(xv), "m"(*(const __m256i *)w));
    return acc;
#else
    (void)xv;
    __m256i e = _mm256_madd_epi16(x_even, _mm256_loadu_si256((const __m256i *)w));
    __m256i o = _mm256_madd_epi16(x_odd, _mm256_loadu_si256((const __m256i *)(w + 32)));
    return _mm256_add_epi32(acc, _mm256_add_epi32(e, o));
#endif
}

enum { Q8_NAME(PW_TILE) = 3 };

/* P (1 or 3) pixels x NV vectors (a 32-block, or the channel-ordered
 * tail), accumulators in named variables (GCC keeps an array of them in
 * memory), whole 4-byte input groups broadcast by one load (bcast4, which
 * handles the row's end, only for the last group). */
Q8_INLINE void Q8_NAME(pw_tile)(const int P, const int NV, const uint8_t *const *x, int in_c,
                                const int8_t *wb, const int32_t *pbias, const int32_t *corr,
                                const Q8_NAME(rq) *rq, uint8_t *const *dst, int pos,
                                int lane_ordered, int valid) {
    enum { WB = Q8_NAME(WBYTES) };
    __m256i zero = _mm256_setzero_si256();
    __m256i b0 = _mm256_loadu_si256((const __m256i *)pbias);
    __m256i b1 = NV > 1 ? _mm256_loadu_si256((const __m256i *)(pbias + 8)) : zero;
    __m256i b2 = NV > 2 ? _mm256_loadu_si256((const __m256i *)(pbias + 16)) : zero;
    __m256i b3 = NV > 3 ? _mm256_loadu_si256((const __m256i *)(pbias + 24)) : zero;
    __m256i a00 = zero, a01 = zero, a02 = zero, a03 = zero, a10 = zero, a11 = zero, a12 = zero;
    __m256i a13 = zero, a20 = zero, a21 = zero, a22 = zero, a23 = zero;
#define Q8_T_INIT(p)                                                                        \
    if (P > p) {                                                                            \
        __m256i c = _mm256_set1_epi32(corr[p]);                                             \
        a##p##0 = _mm256_add_epi32(b0, c), a##p##1 = _mm256_add_epi32(b1, c);               \
        a##p##2 = _mm256_add_epi32(b2, c), a##p##3 = _mm256_add_epi32(b3, c);               \
    }
#define Q8_T_DOT(p, LOAD)                                                                   \
    if (P > p) {                                                                            \
        __m256i xv = LOAD(x[p], i, in_c);                                                   \
        __m256i xe = _mm256_and_si256(xv, low16), xo = _mm256_srli_epi16(xv, 8);            \
        a##p##0 = Q8_NAME(dot4)(a##p##0, xv, xe, xo, w);                                    \
        if (NV > 1) a##p##1 = Q8_NAME(dot4)(a##p##1, xv, xe, xo, w + 32 * WB);              \
        if (NV > 2) a##p##2 = Q8_NAME(dot4)(a##p##2, xv, xe, xo, w + 64 * WB);              \
        if (NV > 3) a##p##3 = Q8_NAME(dot4)(a##p##3, xv, xe, xo, w + 96 * WB);              \
    }
#define Q8_T_STORE(p)                                                                       \
    if (P > p) {                                                                            \
        if (lane_ordered) {                                                                 \
            Q8_NAME(store_block32)(dst[p], a##p##0, a##p##1, a##p##2, a##p##3, rq, pos);    \
        } else {                                                                            \
            Q8_NAME(store_vec8)(dst[p], a##p##0, rq, pos, valid);                           \
            if (NV > 1) Q8_NAME(store_vec8)(dst[p] + 8, a##p##1, rq, pos + 8, valid - 8);   \
            if (NV > 2) Q8_NAME(store_vec8)(dst[p] + 16, a##p##2, rq, pos + 16, valid - 16); \
            if (NV > 3) Q8_NAME(store_vec8)(dst[p] + 24, a##p##3, rq, pos + 24, valid - 24); \
        }                                                                                   \
    }
    Q8_T_INIT(0) Q8_T_INIT(1) Q8_T_INIT(2)
    __m256i low16 = _mm256_set1_epi16(0x00FF);
    const int8_t *w = wb;
    int i = 0;
    for (; i + 4 <= in_c; i += 4, w += NV * 32 * WB) {
        Q8_T_DOT(0, Q8_NAME(bcast4_full))
        Q8_T_DOT(1, Q8_NAME(bcast4_full))
        Q8_T_DOT(2, Q8_NAME(bcast4_full))
    }
    if (i < in_c) {
        Q8_T_DOT(0, Q8_NAME(bcast4))
        Q8_T_DOT(1, Q8_NAME(bcast4))
        Q8_T_DOT(2, Q8_NAME(bcast4))
    }
    Q8_T_STORE(0) Q8_T_STORE(1) Q8_T_STORE(2)
#undef Q8_T_INIT
#undef Q8_T_DOT
#undef Q8_T_STORE
}

/* The main tile, 3 pixels x 32 lane-ordered channels, with named
 * accumulators (GCC keeps an array of them in memory). */
#define Q8_ROW_INIT(p)                                                   \
    __m256i a##p##0, a##p##1, a##p##2, a##p##3;                          \
    {                                                                    \
        __m256i c = _mm256_set1_epi32(corr[p]);                          \
        a##p##0 = _mm256_add_epi32(b0, c);                               \
        a##p##1 = _mm256_add_epi32(b1, c);                               \
        a##p##2 = _mm256_add_epi32(b2, c);                               \
        a##p##3 = _mm256_add_epi32(b3, c);                               \
    }
#define Q8_ROW_DOT(p, LOAD)                                              \
    {                                                                    \
        __m256i xv = LOAD(x[p], i, in_c);                                \
        __m256i xe = _mm256_and_si256(xv, low16), xo = _mm256_srli_epi16(xv, 8); \
        a##p##0 = Q8_NAME(dot4)(a##p##0, xv, xe, xo, w);                 \
        a##p##1 = Q8_NAME(dot4)(a##p##1, xv, xe, xo, w + 32 * WB);       \
        a##p##2 = Q8_NAME(dot4)(a##p##2, xv, xe, xo, w + 64 * WB);       \
        a##p##3 = Q8_NAME(dot4)(a##p##3, xv, xe, xo, w + 96 * WB);       \
    }
#define Q8_ROW_STORE(p) Q8_NAME(store_block32)(dst[p], a##p##0, a##p##1, a##p##2, a##p##3, rq, pos)

Q8_INLINE void Q8_NAME(pw_tile_3x32_body)(const uint8_t *const *x, int in_c, const int8_t *wb,
                                          const int32_t *pbias, const int32_t *corr,
                                          const Q8_NAME(rq) *rq, uint8_t *const *dst, int pos) {
    enum { WB = Q8_NAME(WBYTES) };
    __m256i b0 = _mm256_loadu_si256((const __m256i *)pbias);
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(pbias + 8));
    __m256i b2 = _mm256_loadu_si256((const __m256i *)(pbias + 16));
    __m256i b3 = _mm256_loadu_si256((const __m256i *)(pbias + 24));
    Q8_ROW_INIT(0) Q8_ROW_INIT(1) Q8_ROW_INIT(2)
    __m256i low16 = _mm256_set1_epi16(0x00FF);
    const int8_t *w = wb;
    int i = 0;
    for (; i + 4 <= in_c; i += 4, w += 128 * WB) {
        Q8_ROW_DOT(0, Q8_NAME(bcast4_full))
        Q8_ROW_DOT(1, Q8_NAME(bcast4_full))
        Q8_ROW_DOT(2, Q8_NAME(bcast4_full))
    }
    if (i < in_c) {
        Q8_ROW_DOT(0, Q8_NAME(bcast4))
        Q8_ROW_DOT(1, Q8_NAME(bcast4))
        Q8_ROW_DOT(2, Q8_NAME(bcast4))
    }
    Q8_ROW_STORE(0);
    Q8_ROW_STORE(1);
    Q8_ROW_STORE(2);
}
#undef Q8_ROW_INIT
#undef Q8_ROW_DOT
#undef Q8_ROW_STORE

/* pw_tile_3x32 with any_short a constant (_s: 1, _l: 0, the long-shift
 * route): no short-shift loads or tests among the 12 requantizations. */
#define Q8_PW_TILE_3X32_FN(SUFFIX, AS)                                                          \
    Q8_FN void Q8_NAME(pw_tile_3x32_##SUFFIX)(const uint8_t *const *x, int in_c,                \
                                             const int8_t *wb, const int32_t *pbias,            \
                                             const int32_t *corr, const Q8_NAME(rq) *rq,        \
                                             uint8_t *const *dst, int pos, int lane_ordered,    \
                                             int valid) {                                       \
        (void)lane_ordered, (void)valid;                                                        \
        Q8_NAME(rq) r = *rq;                                                                    \
        r.any_short = AS;                                                                       \
        Q8_NAME(pw_tile_3x32_body)(x, in_c, wb, pbias, corr, &r, dst, pos);                     \
    }
Q8_PW_TILE_3X32_FN(s, 1)
Q8_PW_TILE_3X32_FN(l, 0)
#undef Q8_PW_TILE_3X32_FN

/* The other tiles, any_short a constant too (AS: 1 = s, 0 = l). */
#define Q8_PW_TILE_FN(P, NV, SUFFIX, AS)                                                         \
    Q8_FN void Q8_NAME(pw_tile_##P##_##NV##SUFFIX)(const uint8_t *const *x, int in_c,             \
                                                   const int8_t *wb, const int32_t *pbias,       \
                                                   const int32_t *corr, const Q8_NAME(rq) *rq,   \
                                                   uint8_t *const *dst, int pos,                 \
                                                   int lane_ordered, int valid) {                \
        Q8_NAME(rq) r = *rq;                                                                     \
        r.any_short = AS;                                                                        \
        Q8_NAME(pw_tile)(P, NV, x, in_c, wb, pbias, corr, &r, dst, pos, lane_ordered, valid);    \
    }
#define Q8_PW_TILE_FNS(SUFFIX, AS)                                                               \
    Q8_PW_TILE_FN(3, 4, SUFFIX, AS) Q8_PW_TILE_FN(3, 3, SUFFIX, AS)                              \
    Q8_PW_TILE_FN(3, 2, SUFFIX, AS) Q8_PW_TILE_FN(3, 1, SUFFIX, AS)                              \
    Q8_PW_TILE_FN(1, 4, SUFFIX, AS) Q8_PW_TILE_FN(1, 3, SUFFIX, AS)                              \
    Q8_PW_TILE_FN(1, 2, SUFFIX, AS) Q8_PW_TILE_FN(1, 1, SUFFIX, AS)
Q8_PW_TILE_FNS(s, 1)
Q8_PW_TILE_FNS(l, 0)
#undef Q8_PW_TILE_FNS
#undef Q8_PW_TILE_FN

typedef void (*Q8_NAME(pw_tile_fn))(const uint8_t *const *, int, const int8_t *, const int32_t *,
                                    const int32_t *, const Q8_NAME(rq) *, uint8_t *const *, int,
                                    int, int);

/* [any_short][3 pixels][vectors - 1] */
static const Q8_NAME(pw_tile_fn) Q8_NAME(pw_tiles)[2][2][4] = {
    {{Q8_NAME(pw_tile_1_1l), Q8_NAME(pw_tile_1_2l), Q8_NAME(pw_tile_1_3l), Q8_NAME(pw_tile_1_4l)},
     {Q8_NAME(pw_tile_3_1l), Q8_NAME(pw_tile_3_2l), Q8_NAME(pw_tile_3_3l), Q8_NAME(pw_tile_3_4l)}},
    {{Q8_NAME(pw_tile_1_1s), Q8_NAME(pw_tile_1_2s), Q8_NAME(pw_tile_1_3s), Q8_NAME(pw_tile_1_4s)},
     {Q8_NAME(pw_tile_3_1s), Q8_NAME(pw_tile_3_2s), Q8_NAME(pw_tile_3_3s), Q8_NAME(pw_tile_3_4s)}},
};

Q8_FN void Q8_NAME(pw_run)(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *in,
                           const void *packed, const int32_t *packed_bias, uint8_t *out,
                           int pixel_begin, int pixel_end) {
    const int8_t *wp = (const int8_t *)packed + Q8_HEADER_BYTES;
    int in4 = (in_c + 3) / 4 * 4, cp = round_up8(out_c), full = out_c / 32 * 32;
    int32_t any_short;
    memcpy(&any_short, packed, sizeof any_short);
    Q8_NAME(rq) rq = {(const int32_t *)(wp + Q8_NAME(pw_weight_bytes)(in_c, out_c)), any_short,
                      p->output_zero_point, p->out_min, p->out_max};
    int32_t sum_scale = 128 - p->weight_zero_point;
    enum { T = Q8_NAME(PW_TILE) };
    Q8_NAME(pw_tile_fn) tile_3x32 = any_short ? Q8_NAME(pw_tile_3x32_s) : Q8_NAME(pw_tile_3x32_l);
    for (int px = pixel_begin; px < pixel_end;) {
        int P = pixel_end - px >= T ? T : 1;
        const uint8_t *x[T];
        uint8_t *dst[T];
        int32_t corr[T];
        for (int k = 0; k < P; k++) {
            x[k] = in + (size_t)(px + k) * in_c;
            corr[k] = sum_scale ? sum_scale * Q8_NAME(byte_sum)(x[k], in_c) : 0;
        }
        for (int block = 0; block < cp; block += 32) {
            int nv = cp - block >= 32 ? 4 : (cp - block) / 8;
            for (int k = 0; k < P; k++) dst[k] = out + (size_t)(px + k) * out_c + block;
            Q8_NAME(pw_tile_fn) tile = P == T && block < full
                                           ? tile_3x32
                                           : Q8_NAME(pw_tiles)[any_short != 0][P == T][nv - 1];
            tile(x, in_c, wp + (size_t)block * in4 * Q8_NAME(WBYTES), packed_bias + block, corr,
                 &rq, dst, block, block < full, out_c - block);
        }
        px += P;
    }
}

/* --- depthwise ------------------------------------------------------------------ */

/* Weights per block of up to 32 positions, per tap pair: nv vectors of 8
 * int32 lanes = int16 (w_a - zw, w_b - zw). 3x3 kernels of the row path
 * (dw_row_ok) add the row kernel's constants after them (dw_row_bytes). */
static size_t Q8_NAME(dw_pair_bytes)(const mnet_conv_geometry *g) {
    return (size_t)((g->kernel_h * g->kernel_w + 1) / 2) * round_up8(g->out_c) * 4;
}

/* 3x3 without dilation at stride 1 or 2, or dilated at stride 1, at least
 * one full 32-block, streams (d of them per row, see the top comment) of
 * at least DW_ROW_MIN_W outputs: every output row runs the row kernel
 * (dw_row3x3) over 32-channel blocks, the channels after the last full
 * block as one more block over the LAST 32 channels (overlapping the
 * previous one, whose outputs it rewrites with the same values). Shorter
 * rows stay per pixel: the row kernel's per-row set-up (5 widened columns
 * per half block) is paid over too few outputs (measured: 4x4x960 and
 * smaller, 14x14x576 at stride 2 slower; 7x7x960 mixed). */
enum { Q8_NAME(DW_ROW_MIN_W) = 8 };

/* 16 or 24 channels (narrow): one block whose 32-byte columns reach into
 * the next pixel; its lanes past the channels compute nothing useful and
 * are not stored, and the input's last row is read from a copy padded by
 * 32 bytes (DW_ROW_PAD_ROW bytes at most) so that no load leaves the
 * tensor. */
enum { Q8_NAME(DW_ROW_PAD_ROW) = 8192 };

static int Q8_NAME(dw_row_ok)(const mnet_conv_geometry *g) {
    int c = g->out_c;
    int narrow_ok = (c == 16 || c == 24) && (size_t)g->in_w * c <= Q8_NAME(DW_ROW_PAD_ROW);
    int d = g->dilation_w;
    return g->kernel_h == 3 && g->kernel_w == 3 && g->dilation_h == d && d >= 1 &&
           g->stride_h == g->stride_w && g->stride_w <= 2 && (d == 1 || g->stride_w == 1) &&
           (c >= 32 || narrow_ok) && g->in_c == c && g->out_w / d >= Q8_NAME(DW_ROW_MIN_W);
}

static int Q8_NAME(dw_row_tail)(const mnet_conv_geometry *g) {
    return Q8_NAME(dw_row_ok)(g) && g->out_c > 32 && g->out_c % 32 != 0;
}

/* The row kernel's constants, per 32-block (the full ones, then the tail
 * block), per half H (the lane-ordered vectors 2 H, 2 H + 1, see
 * dw_row3x3_half), as 8-lane vectors in the order the loop reads them at
 * fixed offsets from one pointer: 5 weight pair sets (vector 2 s + j), the
 * bias (10 + j), the requantization rows of q8_rqtable.h (12 + 2 row + j). */
enum { Q8_NAME(DW_ROW_BIAS) = 10, Q8_NAME(DW_ROW_RQ) = 12,
       Q8_NAME(DW_ROW_HALF) = 12 + 2 * MNET_Q8_RQ_ROWS };

static size_t Q8_NAME(dw_row_bytes)(const mnet_conv_geometry *g) {
    if (!Q8_NAME(dw_row_ok)(g)) return 0;
    size_t blocks = g->out_c < 32 ? 1 : (size_t)(g->out_c / 32) + (Q8_NAME(dw_row_tail)(g) ? 1 : 0);
    return blocks * 2 * Q8_NAME(DW_ROW_HALF) * 32;
}

static size_t Q8_NAME(dw_weight_bytes)(const mnet_conv_geometry *g) {
    return Q8_NAME(dw_pair_bytes)(g) + Q8_NAME(dw_row_bytes)(g);
}

/* Bias with the padded taps' -zx * sum (w - zw) folded in (padded taps read
 * zx, so every pixel's sum holds it). */
static int32_t Q8_NAME(dw_bias)(const mnet_q8_conv_params *p, const uint8_t *w_ohwi,
                                const int32_t *bias, int ch, int taps) {
    int64_t wsum = 0;
    for (int t = 0; t < taps; t++) wsum += (int)w_ohwi[(size_t)ch * taps + t] - p->weight_zero_point;
    int64_t b = (int64_t)(bias ? bias[ch] : 0) - (int64_t)p->input_zero_point * wsum;
    return (int32_t)(uint32_t)(uint64_t)b;
}

/* The row kernel's constants of vector v of the 32-block numbered b, whose
 * lane l holds channel ch[l]: the weight pairs (minus the zero point) of
 * rows 0 and 1 vertically per column, row 2 as (w20, w21), the last as
 * (0, w22) at stride 1 or (w22, 0) at stride 2 (see dw_row3x3_half); the
 * bias; the requantization constants (a whole vector at once: an odd
 * lane's constants sit partly in the even lane before it). */
static void Q8_NAME(dw_row_fill)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                 const uint8_t *w_ohwi, const int32_t *bias, int32_t *row, int b,
                                 int v, const int *ch) {
    /* (the memset of dw_pack left the pad lanes' weights and bias 0) */
    int wz = p->weight_zero_point, j = v % 2;
    int32_t *half = row + ((size_t)b * 2 + v / 2) * Q8_NAME(DW_ROW_HALF) * 8;
    int32_t t[MNET_Q8_RQ_ROWS * 8];
    memset(t, 0, sizeof t);
    for (int l = 0; l < 8; l++) {
        if (ch[l] >= g->out_c) { /* a lane past the channels (16-31 channels): all 0 */
            mnet_q8_rqtable_set(t, 8, l, mnet_q8_rqtable_pad());
            continue;
        }
        const uint8_t *wc = w_ohwi + (size_t)ch[l] * 9;
        int sets[5][2] = {{wc[0] - wz, wc[3] - wz}, {wc[1] - wz, wc[4] - wz},
                          {wc[2] - wz, wc[5] - wz}, {wc[6] - wz, wc[7] - wz}, {0, wc[8] - wz}};
        if (g->stride_w == 2) sets[4][0] = wc[8] - wz, sets[4][1] = 0;
        for (int s = 0; s < 5; s++) {
            int16_t pair[2] = {(int16_t)sets[s][0], (int16_t)sets[s][1]};
            memcpy(&half[(2 * s + j) * 8 + l], pair, 4);
        }
        half[(Q8_NAME(DW_ROW_BIAS) + j) * 8 + l] = Q8_NAME(dw_bias)(p, w_ohwi, bias, ch[l], 9);
        mnet_q8_rqtable_set(t, 8, l, mnet_q8_channel_requant(p, ch[l]));
    }
    for (int r = 0; r < MNET_Q8_RQ_ROWS; r++)
        memcpy(&half[(Q8_NAME(DW_ROW_RQ) + 2 * r + j) * 8], &t[r * 8], 32);
}

static size_t Q8_NAME(dw_pack_bytes)(const mnet_conv_geometry *g) {
    return Q8_HEADER_BYTES + Q8_NAME(dw_weight_bytes)(g) + mnet_q8_rqtable_bytes(round_up8(g->out_c));
}

static void Q8_NAME(dw_pack)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                             const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                             int32_t *packed_bias) {
    int c = g->out_c, cp = round_up8(c), taps = g->kernel_h * g->kernel_w, pairs = (taps + 1) / 2;
    memset(packed, 0, Q8_NAME(dw_pack_bytes)(g));
    int16_t *dst = (int16_t *)((uint8_t *)packed + Q8_HEADER_BYTES);
    int32_t any_short = fill_table8((int32_t *)((uint8_t *)dst + Q8_NAME(dw_weight_bytes)(g)), cp, c, p);
    memcpy(packed, &any_short, sizeof any_short);
    int32_t *row = (int32_t *)(void *)((uint8_t *)dst + Q8_NAME(dw_pair_bytes)(g));
    int row_ok = Q8_NAME(dw_row_ok)(g), full = c / 32 * 32;
    for (int pos = 0; pos < cp; pos++) {
        int ch = pos_channel8(pos, c);
        int block = pos / 32 * 32, nv = (cp - block) >= 32 ? 4 : (cp - block) / 8;
        int v = (pos - block) / 8, l = pos % 8;
        for (int t = 0; t < taps && ch < c; t++) {
            int w = (int)w_ohwi[(size_t)ch * taps + t] - p->weight_zero_point;
            size_t lane = (size_t)block * pairs + ((size_t)(t / 2) * nv + v) * 8 + l;
            dst[lane * 2 + t % 2] = (int16_t)w;
        }
        packed_bias[pos] = ch < c ? Q8_NAME(dw_bias)(p, w_ohwi, bias, ch, taps) : 0;
    }
    /* the full blocks, then the last 32 channels as one more block */
    int row_blocks = !row_ok ? 0 : c < 32 ? 1 : full / 32 + (Q8_NAME(dw_row_tail)(g) ? 1 : 0);
    for (int b = 0; b < row_blocks; b++)
        for (int v = 0; v < 4; v++) {
            int ch[8];
            for (int l = 0; l < 8; l++)
                ch[l] = b * 32 < full ? pos_channel8(b * 32 + v * 8 + l, c)
                        : c < 32      ? pos_channel8(v * 8 + l, 32) /* narrow: >= c is a pad */
                                      : c - 32 + pos_channel8(v * 8 + l, 32);
            Q8_NAME(dw_row_fill)(g, p, w_ohwi, bias, row, b, v, ch);
        }
}

Q8_INLINE __m256i Q8_NAME(dot2)(__m256i acc, __m256i pair, const __m256i *w) {
#if Q8_VNNI
    __asm__("%{vex%} vpdpwssd %2, %1, %0" : "+x"(acc) : "x"(pair), "m"(*w));
    return acc;
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pair, _mm256_loadu_si256(w)));
#endif
}

/* n bytes (at most 8), zero-extended to int32 lanes. */
Q8_INLINE __m256i Q8_NAME(load8_u8)(const uint8_t *src, int n) {
    if (n >= 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)src));
    uint8_t b[8] = {0};
    memcpy(b, src, (size_t)(n < 8 ? n : 8));
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b));
}

/* One output pixel, one block (see q8_vnni.c's dw_accumulate). */
Q8_INLINE void Q8_NAME(dw_block)(const int NV, const mnet_conv_geometry *g, const uint8_t *in,
                                 const uint8_t *const *taps_all,
                                 int oy, int ox, const int16_t *wb, const int32_t *bias, int block,
                                 int32_t zx, const Q8_NAME(rq) *rq, uint8_t *dst, int lane_ordered,
                                 int valid) {
    int taps = g->kernel_h * g->kernel_w;
    __m256i acc[4];
    for (int v = 0; v < NV; v++) acc[v] = _mm256_loadu_si256((const __m256i *)(bias + block + v * 8));
    const __m256i *w = (const __m256i *)(const void *)wb;
    __m256i zero = _mm256_setzero_si256(), zx8 = _mm256_set1_epi8((char)zx);
    __m256i zx32 = _mm256_set1_epi32(zx);
    (void)in, (void)oy, (void)ox;
    const uint8_t *tp[2];
    for (int t = 0; t < taps; t += 2, w += NV) {
        int has_b = t + 1 < taps;
        tp[0] = taps_all[t] ? taps_all[t] + block : NULL;
        tp[1] = has_b && taps_all[t + 1] ? taps_all[t + 1] + block : NULL;
        if (lane_ordered) {
            __m256i a = tp[0] ? _mm256_loadu_si256((const __m256i *)tp[0]) : zx8;
            __m256i b = tp[1] ? _mm256_loadu_si256((const __m256i *)tp[1]) : has_b ? zx8 : zero;
            __m256i lo = _mm256_unpacklo_epi8(a, b), hi = _mm256_unpackhi_epi8(a, b);
            acc[0] = Q8_NAME(dot2)(acc[0], _mm256_unpacklo_epi8(lo, zero), w);
            acc[1] = Q8_NAME(dot2)(acc[1], _mm256_unpackhi_epi8(lo, zero), w + 1);
            acc[2] = Q8_NAME(dot2)(acc[2], _mm256_unpacklo_epi8(hi, zero), w + 2);
            acc[3] = Q8_NAME(dot2)(acc[3], _mm256_unpackhi_epi8(hi, zero), w + 3);
        } else {
            for (int v = 0; v < NV; v++) {
                int n = valid - v * 8;
                __m256i a = tp[0] ? Q8_NAME(load8_u8)(tp[0] + v * 8, n) : zx32;
                __m256i b = tp[1] ? Q8_NAME(load8_u8)(tp[1] + v * 8, n) : has_b ? zx32 : zero;
                acc[v] = Q8_NAME(dot2)(acc[v], _mm256_or_si256(a, _mm256_slli_epi32(b, 16)), w + v);
            }
        }
    }
    if (lane_ordered)
        Q8_NAME(store_block32)(dst, acc[0], acc[1], acc[2], acc[3], rq, block);
    else
        for (int v = 0; v < NV; v++)
            Q8_NAME(store_vec8)(dst + v * 8, acc[v], rq, block + v * 8, valid - v * 8);
}

/* dot2 for the row kernel: the intrinsic, whose memory operand GCC folds
 * at a fixed offset (the asm "m" operand makes it keep a register per
 * address, which spill). */
Q8_INLINE __m256i Q8_NAME(dot2k)(__m256i acc, __m256i pair, const __m256i *w) {
#if Q8_VNNI
    return _mm256_dpwssd_avx_epi32(acc, pair, _mm256_loadu_si256(w));
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pair, _mm256_loadu_si256(w)));
#endif
}

/* One stream of one output row: count outputs, output j at input column
 * x + j cs (x: its first kernel column) written to dst + j step. Without
 * dilation one stream: x = -pad_left, cs 1, every output, step c. */
typedef struct Q8_NAME(dw_stream) {
    int x, cs, count;
    uint8_t *dst;
    size_t step;
} Q8_NAME(dw_stream);

/* 3x3 (dw_row_ok), one half of one 32-block of one output row: the channels
 * from byte offset block of every pixel, of the lane-ordered vectors 2 H and
 * 2 H + 1 (channels 16 i + 8 H + 0..7, i = 0, 1; with 16 or 24 channels
 * only those below out_c are stored); k: the block's constants (weight
 * pairs, bias, requantization: DW_ROW_HALF vectors per half). As in
 * q8_vnni_depthwise.c's dw_row3x3, each input column is widened once and
 * reused by every output it feeds: rows 0 and 1 as vertical pairs
 * V(x) = (r0[x], r1[x]), row 2 as horizontal pairs H(x) = (r2[x], r2[x+1]);
 * the output at input column x (x = ox * stride - pad) is
 *   V(x) w(0,0|1,0) + V(x+1) w(0,1|1,1) + V(x+2) w(0,2|1,2) + H(x) w(2,0|2,1)
 * plus, at stride 1, H(x+1) w(0|2,2) (V(x+1), V(x+2), H(x+1) are the next
 * output's), or, at stride 2, H(x+2) w(2,2|0) (V(x+2), H(x+2) are the next
 * output's). Dilated (stride 1, dilation d): the same over the stream's
 * columns d apart (st->cs), x + 1 and x + 2 read as x + d and x + 2 d. A
 * whole block's 5 widened columns (20 vectors) do not fit in the 16 ymm
 * registers, a half's (10) do, and the halves share no unpack: each block
 * row runs twice, once per half, over inputs still in L1. */
Q8_INLINE void Q8_NAME(dw_row3x3_half)(const int H, const int any_short,
                                       const mnet_conv_geometry *g, const uint8_t *const *rows,
                                       int block, const __m256i *k, const Q8_NAME(rq) *rq,
                                       __m256i zx8, const Q8_NAME(dw_stream) *st) {
    const size_t c = (size_t)g->out_c, ostep = st->step;
    const int in_w = g->in_w, out_w = st->count, x0 = st->x, cs = st->cs;
    k += (size_t)H * Q8_NAME(DW_ROW_HALF);
    /* padding rows read zx8 from a buffer at column step 0: no NULL tests */
    uint8_t pad[32];
    _mm256_storeu_si256((__m256i *)pad, zx8);
    const uint8_t *r0 = rows[0] ? rows[0] + block : pad, *r1 = rows[1] ? rows[1] + block : pad;
    const uint8_t *r2 = rows[2] ? rows[2] + block : pad;
    size_t s0 = rows[0] ? c : 0, s1 = rows[1] ? c : 0, s2 = rows[2] ? c : 0;
    __m256i zero = _mm256_setzero_si256();
    __m256i zp = _mm256_set1_epi16((int16_t)rq->zero_point);
    __m256i lo8 = _mm256_set1_epi8((char)rq->out_min), hi8 = _mm256_set1_epi8((char)rq->out_max);
    __m256i v00, v01, v10, v11, v20, v21, h00, h01, h10, h11;
    uint8_t *dst = st->dst + block + 8 * H;
    /* lane 1 (channels 16 + 8 H + 0..7) is stored when they exist (narrow) */
    const int store_hi = 24 + 8 * H <= (int)c;
#define Q8_WIDEN(a, b, o)                                                                   \
    {                                                                                       \
        __m256i x_ = H ? _mm256_unpackhi_epi8(a, b) : _mm256_unpacklo_epi8(a, b);           \
        o##0 = _mm256_unpacklo_epi8(x_, zero);                                              \
        o##1 = _mm256_unpackhi_epi8(x_, zero);                                              \
    }
/* column x of row k (0..2), checked against the row's ends or not */
#define Q8_LD(k, x) _mm256_loadu_si256((const __m256i *)(r##k + (size_t)(x) * s##k))
#define Q8_COL(k, x) ((x) >= 0 && (x) < in_w ? Q8_LD(k, x) : zx8)
#define Q8_K(row, j) _mm256_loadu_si256(k + Q8_NAME(DW_ROW_RQ) + 2 * (row) + (j))
#define Q8_RQ(acc, j)                                                                       \
    Q8_NAME(requant_core)(acc, Q8_K(MNET_Q8_RQ_MULT, j), Q8_K(MNET_Q8_RQ_MULT_ODD, j),     \
                          any_short ? Q8_K(MNET_Q8_RQ_ROUND_EVEN, j)                        \
                                    : Q8_K(MNET_Q8_RQ_ROUND32, j),                          \
                          Q8_K(MNET_Q8_RQ_ROUND_ODD, j),                                    \
                          Q8_K(MNET_Q8_RQ_SHR_EVEN, j), Q8_K(MNET_Q8_RQ_SHL_ODD, j),        \
                          Q8_K(MNET_Q8_RQ_SHIFT2, j), any_short)
#define Q8_OUT()                                                                            \
    {                                                                                       \
        __m256i a0 = _mm256_loadu_si256(k + Q8_NAME(DW_ROW_BIAS));                          \
        __m256i a1 = _mm256_loadu_si256(k + Q8_NAME(DW_ROW_BIAS) + 1);                      \
        a0 = Q8_NAME(dot2k)(a0, v00, k + 0), a1 = Q8_NAME(dot2k)(a1, v01, k + 1);             \
        a0 = Q8_NAME(dot2k)(a0, v10, k + 2), a1 = Q8_NAME(dot2k)(a1, v11, k + 3);             \
        a0 = Q8_NAME(dot2k)(a0, v20, k + 4), a1 = Q8_NAME(dot2k)(a1, v21, k + 5);             \
        a0 = Q8_NAME(dot2k)(a0, h00, k + 6), a1 = Q8_NAME(dot2k)(a1, h01, k + 7);           \
        a0 = Q8_NAME(dot2k)(a0, h10, k + 8), a1 = Q8_NAME(dot2k)(a1, h11, k + 9);           \
        /* lane i: channels 16 i + 8 H + 0..7 as bytes 0..7 */                              \
        __m256i b_ = _mm256_packs_epi32(Q8_RQ(a0, 0), Q8_RQ(a1, 1));                        \
        if (rq->zero_point) b_ = _mm256_adds_epi16(b_, zp);                                 \
        b_ = _mm256_packus_epi16(b_, b_);                                                   \
        if (rq->out_min > 0) b_ = _mm256_max_epu8(b_, lo8);                                 \
        if (rq->out_max < 255) b_ = _mm256_min_epu8(b_, hi8);                               \
        _mm_storel_epi64((__m128i *)dst, _mm256_castsi256_si128(b_));                       \
        if (store_hi) _mm_storel_epi64((__m128i *)(dst + 16), _mm256_extracti128_si256(b_, 1)); \
        dst += ostep;                                                                       \
    }
    Q8_WIDEN(Q8_COL(0, x0), Q8_COL(1, x0), v0)
    if (g->stride_w == 1) {
        Q8_WIDEN(Q8_COL(0, x0 + cs), Q8_COL(1, x0 + cs), v1)
        __m256i r2p = Q8_COL(2, x0 + cs);
        Q8_WIDEN(Q8_COL(2, x0), r2p, h0)
        /* outputs [lo, inner) of the stream: those whose new column
         * xn + ox cs is inside the row (lo 0 without dilation: xn >= 1) */
        const int xn = x0 + 2 * cs;
        const int lo = xn >= 0 ? 0 : (-xn + cs - 1) / cs;
        int inner = xn >= in_w ? 0 : (in_w - 1 - xn) / cs + 1;
        if (inner > out_w) inner = out_w;
        const uint8_t *p0 = r0, *p1 = r1, *p2 = r2;
        if (lo < inner) {
            size_t x = (size_t)(xn + lo * cs);
            p0 = r0 + x * s0, p1 = r1 + x * s1, p2 = r2 + x * s2;
        }
        const size_t ps0 = (size_t)cs * s0, ps1 = (size_t)cs * s1, ps2 = (size_t)cs * s2;
        for (int ox = 0; ox < out_w; ox++) {
            __m256i r0n = zx8, r1n = zx8, r2n = zx8;
            if (ox >= lo && ox < inner) {
                r0n = _mm256_loadu_si256((const __m256i *)p0);
                r1n = _mm256_loadu_si256((const __m256i *)p1);
                r2n = _mm256_loadu_si256((const __m256i *)p2);
                p0 += ps0, p1 += ps1, p2 += ps2;
            }
            Q8_WIDEN(r0n, r1n, v2)
            Q8_WIDEN(r2p, r2n, h1)
            Q8_OUT()
            v00 = v10, v01 = v11, v10 = v20, v11 = v21, h00 = h10, h01 = h11;
            r2p = r2n;
        }
    } else {
        Q8_WIDEN(Q8_COL(2, x0), Q8_COL(2, x0 + 1), h0)
        /* outputs whose columns up to x0 + 2 ox + 3 are inside (x0 + 1 >= 0) */
        int inner = in_w - x0 - 3 > 0 ? (in_w - x0 - 3 + 1) / 2 : 0;
        if (inner > out_w) inner = out_w;
        const uint8_t *p0 = r0 + (size_t)(x0 + 1) * s0, *p1 = r1 + (size_t)(x0 + 1) * s1;
        const uint8_t *p2 = r2 + (size_t)(x0 + 2) * s2;
        for (int ox = 0; ox < out_w; ox++) {
            __m256i c01, c11, c02, c12, c22, c23;
            if (ox < inner) {
                c01 = _mm256_loadu_si256((const __m256i *)p0);
                c02 = _mm256_loadu_si256((const __m256i *)(p0 + s0));
                c11 = _mm256_loadu_si256((const __m256i *)p1);
                c12 = _mm256_loadu_si256((const __m256i *)(p1 + s1));
                c22 = _mm256_loadu_si256((const __m256i *)p2);
                c23 = _mm256_loadu_si256((const __m256i *)(p2 + s2));
                p0 += 2 * s0, p1 += 2 * s1, p2 += 2 * s2;
            } else {
                int x = x0 + 2 * ox;
                c01 = Q8_COL(0, x + 1), c11 = Q8_COL(1, x + 1), c02 = Q8_COL(0, x + 2);
                c12 = Q8_COL(1, x + 2), c22 = Q8_COL(2, x + 2), c23 = Q8_COL(2, x + 3);
            }
            Q8_WIDEN(c01, c11, v1)
            Q8_WIDEN(c02, c12, v2)
            Q8_WIDEN(c22, c23, h1)
            Q8_OUT()
            v00 = v20, v01 = v21, h00 = h10, h01 = h11;
        }
    }
#undef Q8_WIDEN
#undef Q8_LD
#undef Q8_COL
#undef Q8_K
#undef Q8_RQ
#undef Q8_OUT
}

/* Both halves of one 32-block of one output row (see dw_row3x3_half), for
 * each of its d streams (stride 1 with dilation d; one stream otherwise). */
Q8_FN void Q8_NAME(dw_row3x3)(const mnet_conv_geometry *g, const uint8_t *const *rows, int block,
                              const __m256i *k, const Q8_NAME(rq) *rq, __m256i zx8,
                              uint8_t *orow) {
    const int d = g->dilation_w;
    const size_t c = (size_t)g->out_c;
    for (int h = 0; h < 2; h++)
        for (int r = 0; r < d && r < g->out_w; r++) {
            Q8_NAME(dw_stream) st = {r - g->pad_left, d, (g->out_w - r + d - 1) / d,
                                     orow + (size_t)r * c, (size_t)d * c};
            /* any_short and H as constants: no short-shift loads or tests in the loop */
            if (rq->any_short) {
                if (h) Q8_NAME(dw_row3x3_half)(1, 1, g, rows, block, k, rq, zx8, &st);
                else Q8_NAME(dw_row3x3_half)(0, 1, g, rows, block, k, rq, zx8, &st);
            } else {
                if (h) Q8_NAME(dw_row3x3_half)(1, 0, g, rows, block, k, rq, zx8, &st);
                else Q8_NAME(dw_row3x3_half)(0, 0, g, rows, block, k, rq, zx8, &st);
            }
        }
}

/* Every output row of [row_begin, row_end) by dw_row3x3 (dw_row_ok). */
Q8_FN void Q8_NAME(dw_run_rows)(const mnet_conv_geometry *g, const uint8_t *in, const void *packed,
                                const Q8_NAME(rq) *rq, int32_t zx, uint8_t *out, int row_begin,
                                int row_end) {
    int c = g->out_c, full = c / 32 * 32;
    const uint8_t *wp = (const uint8_t *)packed + Q8_HEADER_BYTES;
    const __m256i *krow = (const __m256i *)(const void *)(wp + Q8_NAME(dw_pair_bytes)(g));
    __m256i zx8 = _mm256_set1_epi8((char)zx);
    enum { BLOCK_VECTORS = 2 * Q8_NAME(DW_ROW_HALF) };
    /* narrow: the input's last row, padded (see DW_ROW_PAD_ROW) */
    uint8_t last_row[Q8_NAME(DW_ROW_PAD_ROW) + 32];
    const uint8_t *last = in + (size_t)(g->in_h - 1) * g->in_w * c;
    if (c < 32) {
        memcpy(last_row, last, (size_t)g->in_w * c);
        memset(last_row + (size_t)g->in_w * c, 0, 32);
    }
    for (int oy = row_begin; oy < row_end; oy++) {
        const uint8_t *rows[3];
        for (int ky = 0; ky < 3; ky++) {
            int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
            rows[ky] = iy >= 0 && iy < g->in_h ? in + (size_t)iy * g->in_w * c : NULL;
            if (c < 32 && iy == g->in_h - 1) rows[ky] = last_row;
        }
        uint8_t *orow = out + (size_t)oy * g->out_w * c;
        for (int block = 0; block < full; block += 32)
            Q8_NAME(dw_row3x3)(g, rows, block, krow + (size_t)block / 32 * BLOCK_VECTORS, rq, zx8,
                               orow);
        if (c < 32) /* narrow */
            Q8_NAME(dw_row3x3)(g, rows, 0, krow, rq, zx8, orow);
        else if (full < c)
            Q8_NAME(dw_row3x3)(g, rows, c - 32, krow + (size_t)full / 32 * BLOCK_VECTORS, rq, zx8,
                               orow);
    }
}

/* More than 64 taps: plain scalar arithmetic on the packed weights (no
 * bundled model has such a kernel; kept exact, not fast). */
Q8_FN void Q8_NAME(dw_run_big)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                               const uint8_t *in, const void *packed, const int32_t *packed_bias,
                               uint8_t *out, int row_begin, int row_end) {
    const int16_t *wp = (const int16_t *)((const uint8_t *)packed + Q8_HEADER_BYTES);
    int c = g->out_c, cp = round_up8(c), full = c / 32 * 32;
    int taps = g->kernel_h * g->kernel_w, pairs = (taps + 1) / 2;
    const int32_t *table = (const int32_t *)((const uint8_t *)wp + Q8_NAME(dw_weight_bytes)(g));
    for (int pos = 0; pos < cp; pos++) {
        int ch = pos_channel8(pos, c);
        if (ch >= c) continue;
        int block = pos / 32 * 32, nv = (cp - block) >= 32 ? 4 : (cp - block) / 8;
        int v = (pos - block) / 8, l = pos % 8;
        (void)full;
        for (int oy = row_begin; oy < row_end; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                int32_t acc = packed_bias[pos];
                for (int t = 0; t < taps; t++) {
                    int iy = oy * g->stride_h - g->pad_top + (t / g->kernel_w) * g->dilation_h;
                    int ix = ox * g->stride_w - g->pad_left + (t % g->kernel_w) * g->dilation_w;
                    int32_t x = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w
                                    ? in[((size_t)iy * g->in_w + ix) * c + ch] : p->input_zero_point;
                    size_t lane = (size_t)block * pairs + ((size_t)(t / 2) * nv + v) * 8 + l;
                    acc = (int32_t)((uint32_t)acc + (uint32_t)(x * wp[lane * 2 + t % 2]));
                }
                int32_t q = mnet_q8_rqtable_apply(acc, rq_group(table, pos), 8, pos % 8) +
                            p->output_zero_point;
                out[((size_t)oy * g->out_w + ox) * c + ch] =
                    (uint8_t)(q < p->out_min ? p->out_min : q > p->out_max ? p->out_max : q);
            }
    }
}

Q8_FN void Q8_NAME(dw_run)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                           const uint8_t *in, const void *packed, const int32_t *packed_bias,
                           uint8_t *out, int row_begin, int row_end) {
    const int16_t *wp = (const int16_t *)((const uint8_t *)packed + Q8_HEADER_BYTES);
    int c = g->out_c, cp = round_up8(c), full = c / 32 * 32;
    int pairs = (g->kernel_h * g->kernel_w + 1) / 2;
    int32_t any_short;
    memcpy(&any_short, packed, sizeof any_short);
    Q8_NAME(rq) rq = {(const int32_t *)((const uint8_t *)wp + Q8_NAME(dw_weight_bytes)(g)),
                      any_short, p->output_zero_point, p->out_min, p->out_max};
    int32_t zx = p->input_zero_point;
    /* tap pointers in chunks of 64 taps, pairs never straddling chunks */
    const uint8_t *tp[64];
    int taps = g->kernel_h * g->kernel_w;
    if (taps > 64) {
        Q8_NAME(dw_run_big)(g, p, in, packed, packed_bias, out, row_begin, row_end);
        return;
    }
    if (Q8_NAME(dw_row_ok)(g)) {
        Q8_NAME(dw_run_rows)(g, in, packed, &rq, zx, out, row_begin, row_end);
        return;
    }
    for (int oy = row_begin; oy < row_end; oy++)
        for (int ox = 0; ox < g->out_w; ox++) {
            for (int ky = 0, t = 0; ky < g->kernel_h; ky++) {
                int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                for (int kx = 0; kx < g->kernel_w; kx++, t++) {
                    int ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                    tp[t] = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w
                                ? in + ((size_t)iy * g->in_w + ix) * g->in_c : NULL;
                }
            }
            uint8_t *dst = out + ((size_t)oy * g->out_w + ox) * c;
            int block = 0;
            for (; block < full; block += 32)
                Q8_NAME(dw_block)(4, g, in, tp, oy, ox, wp + (size_t)block * pairs * 2, packed_bias,
                                  block, zx, &rq, dst + block, 1, 32);
            if (block < cp) {
                int nv = (cp - block) / 8, valid = c - block;
                const int16_t *wb = wp + (size_t)block * pairs * 2;
                if (nv == 1)
                    Q8_NAME(dw_block)(1, g, in, tp, oy, ox, wb, packed_bias, block, zx, &rq, dst + block, 0, valid);
                else if (nv == 2)
                    Q8_NAME(dw_block)(2, g, in, tp, oy, ox, wb, packed_bias, block, zx, &rq, dst + block, 0, valid);
                else if (nv == 3)
                    Q8_NAME(dw_block)(3, g, in, tp, oy, ox, wb, packed_bias, block, zx, &rq, dst + block, 0, valid);
                else
                    Q8_NAME(dw_block)(4, g, in, tp, oy, ox, wb, packed_bias, block, zx, &rq, dst + block, 0, valid);
            }
        }
}

/* --- residual add and input quantization ------------------------------------------ */

/* mnet_requant_apply with a per-tensor multiplier on 8 lanes: requant_core
 * with broadcast constants. */
typedef struct Q8_NAME(rq1) {
    __m256i mult, round, shr, shl, shift2;
} Q8_NAME(rq1);

Q8_FN Q8_NAME(rq1) Q8_NAME(rq1_init)(mnet_requant r) {
    Q8_NAME(rq1) v;
    int t = 31 - r.shift, s1 = t < 32 ? t : 32;
    v.mult = _mm256_set1_epi32(r.multiplier);
    v.round = _mm256_set1_epi64x((int64_t)1 << (t - 1));
    v.shr = _mm256_set1_epi64x(s1);
    v.shl = _mm256_set1_epi64x(32 - s1);
    v.shift2 = _mm256_set1_epi32(t - s1);
    return v;
}

Q8_INLINE __m256i Q8_NAME(rq1_apply)(__m256i x, const Q8_NAME(rq1) *v) {
    return Q8_NAME(requant_core)(x, v->mult, v->mult, v->round, v->round, v->shr, v->shl,
                                 v->shift2, 1);
}

Q8_FN void Q8_NAME(add_run)(const mnet_q8_add_params *p, const uint8_t *a, const uint8_t *b,
                            uint8_t *out, size_t count) {
    Q8_NAME(rq1) ra = Q8_NAME(rq1_init)(p->a_requant), rb = Q8_NAME(rq1_init)(p->b_requant);
    Q8_NAME(rq1) ro = Q8_NAME(rq1_init)(p->output_requant);
    __m256i za = _mm256_set1_epi32(p->a_zero_point), zb = _mm256_set1_epi32(p->b_zero_point);
    __m256i zo = _mm256_set1_epi32(p->output_zero_point);
    __m256i lo = _mm256_set1_epi32(p->out_min), hi = _mm256_set1_epi32(p->out_max);
    __m128i ls = _mm_cvtsi32_si128(p->left_shift);
    for (size_t i = 0; i < count; i += 8) {
        int n = count - i >= 8 ? 8 : (int)(count - i);
        __m256i xa = Q8_NAME(load8_u8)(a + i, n), xb = Q8_NAME(load8_u8)(b + i, n);
        xa = _mm256_sll_epi32(_mm256_sub_epi32(xa, za), ls);
        xb = _mm256_sll_epi32(_mm256_sub_epi32(xb, zb), ls);
        __m256i sum = _mm256_add_epi32(Q8_NAME(rq1_apply)(xa, &ra), Q8_NAME(rq1_apply)(xb, &rb));
        __m256i v = _mm256_add_epi32(Q8_NAME(rq1_apply)(sum, &ro), zo);
        v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
        __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(v, v), _mm256_setzero_si256());
        uint32_t l0 = (uint32_t)_mm256_extract_epi32(bytes, 0), l1 = (uint32_t)_mm256_extract_epi32(bytes, 4);
        uint8_t tmp[8];
        memcpy(tmp, &l0, 4);
        memcpy(tmp + 4, &l1, 4);
        memcpy(out + i, tmp, (size_t)n);
    }
}

Q8_FN void Q8_NAME(quantize_run)(const float *in, size_t count, float scale, int32_t zero_point,
                                 uint8_t *out) {
    __m256 s = _mm256_set1_ps(scale), zp = _mm256_set1_ps((float)zero_point);
    __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(in + i), s);
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
};

#undef Q8_FN
#undef Q8_INLINE
