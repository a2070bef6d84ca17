/* 256-bit uint8 1x1 convolutions (pointwise, FC, and dense convolutions
 * over gathered patches), part of q8_avx2_template.h (included by it, under
 * its macros; read its top comment first).
 *
 * Tiles of 3 pixels x 32 channels (x fewer vectors for the channel-ordered
 * tail), accumulators in named variables, any_short a compile-time constant
 * per tile function. */

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
