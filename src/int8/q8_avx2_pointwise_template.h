/* 256-bit uint8 1x1 convolutions (pointwise, FC, and dense convolutions
 * over gathered patches), part of q8_avx2_template.h (included by it, under
 * its macros; read its top comment first).
 *
 * Pixels go in chunks of up to 192 (at most 32 KB of input); each 32-block
 * (or the tail) runs over the whole chunk in one call, in tiles of 3 pixels
 * x 32 channels (the channel-ordered tail: 2..6 pixels x 1..4 vectors, the
 * pixels' rows packed and stored together), accumulators in named
 * variables, any_short a compile-time constant per function. Input sums
 * go 8 pixels at a time for in_c 8..32. */

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

/* Input sums of 8 consecutive pixels at once, for in_c = 8 m (m = 1..4:
 * the small K of expansions and narrow projections, where a scalar sum
 * per pixel costs about as much as its dot products). The 8 rows are m
 * contiguous vectors; vpsadbw sums each 8 bytes into a qword (pixel p's
 * parts: qwords m p .. m p + m - 1); shufps takes the low dwords of two
 * vectors' qwords, hadd sums neighbours, a last permute orders the pixels. */
Q8_INLINE __m256i Q8_NAME(sad32)(const uint8_t *x) {
    return _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)x), _mm256_setzero_si256());
}

/* per 128-bit lane: the low dwords of a's 2 qwords, then b's */
Q8_INLINE __m256i Q8_NAME(qword_lows)(__m256i a, __m256i b) {
    return _mm256_castps_si256(_mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b),
                                                 _MM_SHUFFLE(2, 0, 2, 0)));
}

/* corr[0..7] = scale * (sum of the in_c = 8 m bytes of pixel p). */
Q8_INLINE void Q8_NAME(pixel_corrections8)(const uint8_t *x, int m, int32_t scale, int32_t *corr) {
    __m256i sums;
    if (m == 1) { /* dwords p0 p1 p4 p5 | p2 p3 p6 p7 */
        sums = Q8_NAME(qword_lows)(Q8_NAME(sad32)(x), Q8_NAME(sad32)(x + 32));
        sums = _mm256_permutevar8x32_epi32(sums, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
    } else if (m == 2) { /* a vector = 2 pixels, one per lane; hadd: p0 p2 p4 p6 | p1 p3 p5 p7 */
        __m256i c01 = Q8_NAME(qword_lows)(Q8_NAME(sad32)(x), Q8_NAME(sad32)(x + 32));
        __m256i c23 = Q8_NAME(qword_lows)(Q8_NAME(sad32)(x + 64), Q8_NAME(sad32)(x + 96));
        sums = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(c01, c23),
                                           _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    } else if (m == 3) {
        /* pixel pair k (a, b at x + 48 k): qwords a0 a1 a2 b0 at +0, a2 b0 b1 b2
         * at +16; [a0 a1 | b1 b2] (hadd: p0 p2 p4 p6 | p1 p3 p5 p7), plus the
         * a2, b0 left over (lane 0 of the second) */
        __m256i ab[4], rest[4];
        for (int k = 0; k < 4; k++) {
            rest[k] = Q8_NAME(sad32)(x + 48 * k + 16);
            ab[k] = _mm256_blend_epi32(Q8_NAME(sad32)(x + 48 * k), rest[k], 0xF0);
        }
        __m256i h = _mm256_hadd_epi32(Q8_NAME(qword_lows)(ab[0], ab[1]),
                                      Q8_NAME(qword_lows)(ab[2], ab[3]));
        __m256i r = _mm256_permute2x128_si256(Q8_NAME(qword_lows)(rest[0], rest[1]),
                                              Q8_NAME(qword_lows)(rest[2], rest[3]), 0x20);
        r = _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
        sums = _mm256_permutevar8x32_epi32(_mm256_add_epi32(h, r),
                                           _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    } else { /* m == 4, a vector = 1 pixel; hadd: parts 0+1 of p0..p3 | parts 2+3 */
        __m256i h[2];
        for (int k = 0; k < 2; k++) {
            const uint8_t *xk = x + 128 * k;
            __m256i c01 = Q8_NAME(qword_lows)(Q8_NAME(sad32)(xk), Q8_NAME(sad32)(xk + 32));
            __m256i c23 = Q8_NAME(qword_lows)(Q8_NAME(sad32)(xk + 64), Q8_NAME(sad32)(xk + 96));
            h[k] = _mm256_hadd_epi32(c01, c23);
        }
        sums = _mm256_add_epi32(_mm256_permute2x128_si256(h[0], h[1], 0x20),
                                _mm256_permute2x128_si256(h[0], h[1], 0x31));
    }
    _mm256_storeu_si256((__m256i *)corr, _mm256_mullo_epi32(sums, _mm256_set1_epi32(scale)));
}

/* Pixels per tile, by block: the full 32-block (12 accumulators) and the
 * channel-ordered tails of 1, 2, 3 vectors. Plain AVX2 needs more registers
 * per dot product (the even and odd input halves, the vpmaddwd results):
 * there 2 pixels of 3 vectors ran 11-20 % faster than 4 (144 -> 24), 3
 * pixels of 2 vectors 1-9 % faster than 6 (32 -> 16). */
enum {
    Q8_NAME(PW_P32) = 3,
    Q8_NAME(PW_P1) = 6,
    Q8_NAME(PW_P2) = Q8_VNNI ? 6 : 3,
    Q8_NAME(PW_P3) = Q8_VNNI ? 4 : 2,
    Q8_NAME(PW_CHUNK) = 192,        /* pixels per chunk at most (a multiple of 6 and 8) */
    Q8_NAME(PW_CHUNK_INPUT) = 32768 /* and at most this many input bytes (in L1 for every block) */
};

/* Pixel p of a tile or chunk: rows of in_c inputs and out_c outputs. */
#define Q8_PX_IN(p) (x + (size_t)(p) * in_c)
#define Q8_PX_DST(p) (dst + (size_t)(p) * out_c)

/* 4 requantized channel-ordered vectors -> their 32 bytes in order (q0's
 * 8, then q1's, ...). After the packs, 128-bit lane i holds channels
 * 4 i .. 4 i + 3 of q0..q3 (a dword each); one dword permute orders them. */
Q8_INLINE __m256i Q8_NAME(pack_4x8)(__m256i q0, __m256i q1, __m256i q2, __m256i q3,
                                    const Q8_NAME(rq) *rq) {
    __m256i w01 = Q8_NAME(add_zero_point16)(_mm256_packs_epi32(q0, q1), rq);
    __m256i w23 = Q8_NAME(add_zero_point16)(_mm256_packs_epi32(q2, q3), rq);
    __m256i b = Q8_NAME(clamp_bytes)(_mm256_packus_epi16(w01, w23), rq);
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* n (1..16) bytes of b at dst: a 16-byte store if n is 16 (a
 * variable-length copy would be a call). */
Q8_INLINE void Q8_NAME(store_bytes16)(uint8_t *dst, __m128i b, int n) {
    if (n >= 16) {
        _mm_storeu_si128((__m128i *)dst, b);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, b);
        memcpy(dst, tmp, (size_t)n);
    }
}

/* Rows of the channel-ordered tail packed together (pack_4x8), 16 or 8
 * channels per row: with out_c equal to the tail (out_c 16 or 8: the rows
 * are contiguous) whole vectors at once, else row by row, `valid` bytes. */
Q8_INLINE void Q8_NAME(store_rows16)(uint8_t *dst, int out_c, __m256i rows, int nrows, int valid) {
    if (out_c == 16 && nrows == 2) {
        _mm256_storeu_si256((__m256i *)dst, rows);
        return;
    }
    Q8_NAME(store_bytes16)(dst, _mm256_castsi256_si128(rows), valid);
    if (nrows == 2) Q8_NAME(store_bytes16)(dst + out_c, _mm256_extracti128_si256(rows, 1), valid);
}

Q8_INLINE void Q8_NAME(store_rows8)(uint8_t *dst, int out_c, __m256i rows, int nrows, int valid) {
    if (out_c == 8 && nrows == 4) {
        _mm256_storeu_si256((__m256i *)dst, rows);
        return;
    }
    __m128i lo = _mm256_castsi256_si128(rows), hi = _mm256_extracti128_si256(rows, 1);
    __m128i r[4] = {lo, _mm_unpackhi_epi64(lo, lo), hi, _mm_unpackhi_epi64(hi, hi)};
    for (int k = 0; k < nrows; k++) {
        if (valid >= 8) {
            _mm_storel_epi64((__m128i *)(dst + (size_t)k * out_c), r[k]);
        } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, r[k]);
            memcpy(dst + (size_t)k * out_c, tmp, (size_t)valid);
        }
    }
}

/* P (1..6) pixels x NV vectors (a 32-block, or the channel-ordered tail),
 * accumulators in named variables (GCC keeps an array of them in memory),
 * whole 4-byte input groups broadcast by one load (bcast4, which handles
 * the row's end, only for the last group). A channel-ordered tail of 1 or
 * 2 vectors stores 4 or 2 pixels' rows from one pack (pack_4x8); 3 vectors
 * with out_c 24 (the rows contiguous) 2 pixels in 48 bytes. */
Q8_INLINE void Q8_NAME(pw_tile)(const int P, const int NV, const uint8_t *x, int in_c,
                                const int8_t *wb, const int32_t *pbias, const int32_t *corr,
                                const Q8_NAME(rq) *rq, uint8_t *dst, int out_c, int pos,
                                const int lane_ordered, int valid) {
    enum { WB = Q8_NAME(WBYTES) };
    __m256i zero = _mm256_setzero_si256();
    __m256i b0 = _mm256_loadu_si256((const __m256i *)pbias);
    __m256i b1 = NV > 1 ? _mm256_loadu_si256((const __m256i *)(pbias + 8)) : zero;
    __m256i b2 = NV > 2 ? _mm256_loadu_si256((const __m256i *)(pbias + 16)) : zero;
    __m256i b3 = NV > 3 ? _mm256_loadu_si256((const __m256i *)(pbias + 24)) : zero;
#define Q8_T_DECL(p) __m256i a##p##0 = zero, a##p##1 = zero, a##p##2 = zero, a##p##3 = zero;
#define Q8_T_INIT(p)                                                                        \
    if (P > p) {                                                                            \
        __m256i c = _mm256_set1_epi32(corr[p]);                                             \
        a##p##0 = _mm256_add_epi32(b0, c), a##p##1 = _mm256_add_epi32(b1, c);               \
        a##p##2 = _mm256_add_epi32(b2, c), a##p##3 = _mm256_add_epi32(b3, c);               \
    }
#define Q8_T_DOT(p, LOAD)                                                                   \
    if (P > p) {                                                                            \
        __m256i xv = LOAD(Q8_PX_IN(p), i, in_c);                                            \
        __m256i xe = _mm256_and_si256(xv, low16), xo = _mm256_srli_epi16(xv, 8);            \
        a##p##0 = Q8_NAME(dot4)(a##p##0, xv, xe, xo, w);                                    \
        if (NV > 1) a##p##1 = Q8_NAME(dot4)(a##p##1, xv, xe, xo, w + 32 * WB);              \
        if (NV > 2) a##p##2 = Q8_NAME(dot4)(a##p##2, xv, xe, xo, w + 64 * WB);              \
        if (NV > 3) a##p##3 = Q8_NAME(dot4)(a##p##3, xv, xe, xo, w + 96 * WB);              \
    }
#define Q8_T_FOR(M) M(0) M(1) M(2) M(3) M(4) M(5)
    Q8_T_FOR(Q8_T_DECL)
    Q8_T_FOR(Q8_T_INIT)
    __m256i low16 = _mm256_set1_epi16(0x00FF);
    const int8_t *w = wb;
    int i = 0;
    for (; i + 4 <= in_c; i += 4, w += NV * 32 * WB) {
#define Q8_T_DOT_FULL(p) Q8_T_DOT(p, Q8_NAME(bcast4_full))
        Q8_T_FOR(Q8_T_DOT_FULL)
    }
    if (i < in_c) {
#define Q8_T_DOT_TAIL(p) Q8_T_DOT(p, Q8_NAME(bcast4))
        Q8_T_FOR(Q8_T_DOT_TAIL)
    }
#define Q8_T_RQ(p, v) Q8_NAME(requant8)(a##p##v, rq, pos + 8 * v)
    /* pixel q's vector v if the tile has pixel q, else pixel p's */
#define Q8_T_RQ_OR(q, p, v) (P > q ? Q8_T_RQ(q, v) : Q8_T_RQ(p, v))
#define Q8_T_STORE(p)                                                                            \
    if (P > p) {                                                                                 \
        uint8_t *d = Q8_PX_DST(p);                                                               \
        if (lane_ordered) {                                                                      \
            Q8_NAME(store_block32)(d, a##p##0, a##p##1, a##p##2, a##p##3, rq, pos);              \
        } else {                                                                                 \
            Q8_NAME(store_vec8)(d, a##p##0, rq, pos, valid);                                     \
            if (NV > 1) Q8_NAME(store_vec8)(d + 8, a##p##1, rq, pos + 8, valid - 8);             \
            if (NV > 2) Q8_NAME(store_vec8)(d + 16, a##p##2, rq, pos + 16, valid - 16);          \
            if (NV > 3) Q8_NAME(store_vec8)(d + 24, a##p##3, rq, pos + 24, valid - 24);          \
        }                                                                                        \
    }
    /* pixels p, q (just p where the tile ends there) of a 2-vector tail */
#define Q8_T_STORE16(p, q)                                                                       \
    if (P > p)                                                                                   \
        Q8_NAME(store_rows16)(Q8_PX_DST(p), out_c,                                               \
                              Q8_NAME(pack_4x8)(Q8_T_RQ(p, 0), Q8_T_RQ(p, 1),                    \
                                                Q8_T_RQ_OR(q, p, 0), Q8_T_RQ_OR(q, p, 1), rq),   \
                              P > q ? 2 : 1, valid);
    /* pixels p..p+3 (as many as P has; the others repeat p) of a 1-vector tail */
#define Q8_T_STORE8(p, q1, q2, q3)                                                               \
    if (P > p)                                                                                   \
        Q8_NAME(store_rows8)(Q8_PX_DST(p), out_c,                                                \
                             Q8_NAME(pack_4x8)(Q8_T_RQ(p, 0), Q8_T_RQ_OR(q1, p, 0),              \
                                               Q8_T_RQ_OR(q2, p, 0), Q8_T_RQ_OR(q3, p, 0), rq),  \
                             P - p < 4 ? P - p : 4, valid);
    /* pixels p, q (just p where the tile ends there) of a 3-vector tail, out_c 24: 48 bytes */
#define Q8_T_STORE24(p, q)                                                                       \
    if (P > p) {                                                                                 \
        __m256i q0 = Q8_T_RQ(p, 0), q1 = Q8_T_RQ(p, 1), q2 = Q8_T_RQ(p, 2);                      \
        __m256i lo = Q8_NAME(pack_4x8)(q0, q1, q2, P > q ? Q8_T_RQ(q, 0) : q2, rq);              \
        if (P > q) {                                                                             \
            __m256i hi = Q8_NAME(pack_4x8)(Q8_T_RQ(q, 1), Q8_T_RQ(q, 2), q0, q0, rq);            \
            _mm256_storeu_si256((__m256i *)Q8_PX_DST(p), lo);                                    \
            _mm_storeu_si128((__m128i *)(Q8_PX_DST(p) + 32), _mm256_castsi256_si128(hi));        \
        } else {                                                                                 \
            _mm_storeu_si128((__m128i *)Q8_PX_DST(p), _mm256_castsi256_si128(lo));               \
            _mm_storel_epi64((__m128i *)(Q8_PX_DST(p) + 16), _mm256_extracti128_si256(lo, 1));   \
        }                                                                                        \
    }
    if (!lane_ordered && NV == 2) {
        Q8_T_STORE16(0, 1) Q8_T_STORE16(2, 3) Q8_T_STORE16(4, 5)
    } else if (!lane_ordered && NV == 1 && P > 1) {
        Q8_T_STORE8(0, 1, 2, 3) Q8_T_STORE8(4, 5, 5, 5)
    } else if (!lane_ordered && NV == 3 && out_c == 24) {
        Q8_T_STORE24(0, 1) Q8_T_STORE24(2, 3) Q8_T_STORE24(4, 5)
    } else {
        Q8_T_FOR(Q8_T_STORE)
    }
#undef Q8_T_DECL
#undef Q8_T_INIT
#undef Q8_T_DOT
#undef Q8_T_FOR
#undef Q8_T_DOT_FULL
#undef Q8_T_DOT_TAIL
#undef Q8_T_RQ
#undef Q8_T_STORE
#undef Q8_T_STORE16
#undef Q8_T_RQ_OR
#undef Q8_T_STORE8
#undef Q8_T_STORE24
}

/* One block (a lane-ordered 32-block, NV 4, or the channel-ordered tail of
 * NV vectors) over n consecutive pixels: P-pixel tiles, then a pair, then a
 * single pixel. One call per chunk of pixels and block: the context copy
 * and the call once, not per tile; any_short a constant (AS: 1 = _s, 0 =
 * _l, the long-shift route: no short-shift loads or tests among the
 * requantizations). A local copy of the context: through the pointer, GCC
 * reloads its fields after every store (dst might alias them). */
#define Q8_PW_TILES_FN(SUFFIX, P, NV, LANE_ORDERED, AS)                                          \
    Q8_FN void Q8_NAME(pw_tiles_##SUFFIX)(const uint8_t *x, int in_c, const int8_t *wb,           \
                                          const int32_t *pbias, const int32_t *corr,              \
                                          const Q8_NAME(rq) *rq_shared, uint8_t *dst, int out_c, \
                                          int pos, int valid, int n) {                            \
        Q8_NAME(rq) rq = *rq_shared;                                                             \
        rq.any_short = AS;                                                                       \
        int p = 0;                                                                               \
        for (; p + (P) <= n; p += (P))                                                           \
            Q8_NAME(pw_tile)(P, NV, Q8_PX_IN(p), in_c, wb, pbias, corr + p, &rq, Q8_PX_DST(p),   \
                             out_c, pos, LANE_ORDERED, valid);                                   \
        for (; p + 2 <= n; p += 2)                                                               \
            Q8_NAME(pw_tile)(2, NV, Q8_PX_IN(p), in_c, wb, pbias, corr + p, &rq, Q8_PX_DST(p),   \
                             out_c, pos, LANE_ORDERED, valid);                                   \
        if (p < n)                                                                               \
            Q8_NAME(pw_tile)(1, NV, Q8_PX_IN(p), in_c, wb, pbias, corr + p, &rq, Q8_PX_DST(p),   \
                             out_c, pos, LANE_ORDERED, valid);                                   \
    }
#define Q8_PW_TILES_FNS(S, AS)                                                                   \
    Q8_PW_TILES_FN(32##S, Q8_NAME(PW_P32), 4, 1, AS)                                             \
    Q8_PW_TILES_FN(tail1##S, Q8_NAME(PW_P1), 1, 0, AS)                                           \
    Q8_PW_TILES_FN(tail2##S, Q8_NAME(PW_P2), 2, 0, AS)                                           \
    Q8_PW_TILES_FN(tail3##S, Q8_NAME(PW_P3), 3, 0, AS)                                           \
    Q8_PW_TILES_FN(tail4##S, Q8_NAME(PW_P32), 4, 0, AS)
Q8_PW_TILES_FNS(s, 1)
Q8_PW_TILES_FNS(l, 0)
#undef Q8_PW_TILES_FNS
#undef Q8_PW_TILES_FN

typedef void (*Q8_NAME(pw_tiles_fn))(const uint8_t *, int, const int8_t *, const int32_t *,
                                     const int32_t *, const Q8_NAME(rq) *, uint8_t *, int, int,
                                     int, int);

/* [any_short][0: a full 32-block, else the tail's vectors] */
static const Q8_NAME(pw_tiles_fn) Q8_NAME(pw_tiles)[2][5] = {
    {Q8_NAME(pw_tiles_32l), Q8_NAME(pw_tiles_tail1l), Q8_NAME(pw_tiles_tail2l),
     Q8_NAME(pw_tiles_tail3l), Q8_NAME(pw_tiles_tail4l)},
    {Q8_NAME(pw_tiles_32s), Q8_NAME(pw_tiles_tail1s), Q8_NAME(pw_tiles_tail2s),
     Q8_NAME(pw_tiles_tail3s), Q8_NAME(pw_tiles_tail4s)},
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
    const Q8_NAME(pw_tiles_fn) *tiles = Q8_NAME(pw_tiles)[any_short != 0];
    int32_t sum_scale = 128 - p->weight_zero_point;
    /* Chunks of pixels, each block over the whole chunk in one call: the
     * per-tile setup (pointers, constants, the call) weighs most with small
     * K, and a block's weights are read once per chunk. Symmetric weights
     * (zw 128, per-channel int8) need no input sums. */
    int sums8 = sum_scale && in_c % 8 == 0 && in_c <= 32 ? in_c / 8 : 0;
    int chunk = Q8_NAME(PW_CHUNK_INPUT) / in_c;
    chunk = chunk >= Q8_NAME(PW_CHUNK) ? Q8_NAME(PW_CHUNK) : chunk < 6 ? 6 : chunk / 6 * 6;
    int32_t corr[Q8_NAME(PW_CHUNK)];
    for (int px = pixel_begin; px < pixel_end;) {
        int n = pixel_end - px < chunk ? pixel_end - px : chunk, k = 0;
        const uint8_t *x = in + (size_t)px * in_c;
        if (sums8)
            for (; k + 8 <= n; k += 8)
                Q8_NAME(pixel_corrections8)(x + (size_t)k * in_c, sums8, sum_scale, corr + k);
        for (; k < n; k++)
            corr[k] = sum_scale ? sum_scale * Q8_NAME(byte_sum)(x + (size_t)k * in_c, in_c) : 0;
        for (int block = 0; block < cp; block += 32) {
            int nv = block < full ? 0 : (cp - block) / 8;
            tiles[nv](x, in_c, wp + (size_t)block * in4 * Q8_NAME(WBYTES), packed_bias + block,
                      corr, &rq, out + (size_t)px * out_c + block, out_c, block, out_c - block, n);
        }
        px += n;
    }
}

#undef Q8_PX_IN
#undef Q8_PX_DST
