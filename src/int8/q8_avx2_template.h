/* 256-bit uint8 kernels, instantiated twice by q8_avx2.c: with AVX-VNNI
 * (Q8_VNNI 1: VEX vpdpbusd / vpdpwssd) and with plain AVX2 (Q8_VNNI 0: the
 * same dot products through vpmaddwd on int16, exact because every product
 * and pair sum fits: no vpmaddubsw, whose int16 sums saturate).
 *
 * The arithmetic and layouts follow q8_vnni.c (read its top comment) at
 * half the width: blocks of 32 output channels = four 8-lane int32 vectors
 * in lane order (vector j, 128-bit lane i, element k = channel
 * 16 i + 4 j + k), a last partial block in channel order.
 *
 * Expects: Q8_TARGET (the target attribute string), Q8_VNNI, Q8_NAME(x)
 * (prefixes the static names), Q8_TABLE (the table's name), Q8_ISA. */

#define Q8_FN __attribute__((target(Q8_TARGET))) static
#define Q8_INLINE __attribute__((target(Q8_TARGET), always_inline)) static inline

/* --- requantization ----------------------------------------------------------- */

typedef struct Q8_NAME(rq) {
    const int32_t *table;
    int padded, any_short;
    int32_t zero_point, out_min, out_max;
} Q8_NAME(rq);

/* q8_rqtable.h's arithmetic on 8 lanes (see q8_vnni_common.h's
 * requant_core): 64-bit products of even and odd lanes, the int64 nudge,
 * the split shift (s1 = 32 everywhere unless any_short). */
Q8_INLINE __m256i Q8_NAME(requant_core)(__m256i x, __m256i mult, __m256i mult_odd,
                                        __m256i round_even, __m256i round_odd, __m256i shr_even,
                                        __m256i shl_odd, __m256i shift2, int any_short) {
    __m256i ae = _mm256_add_epi64(_mm256_mul_epi32(x, mult), round_even);
    __m256i ao = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mult_odd), round_odd);
    __m256i e = any_short ? _mm256_srlv_epi64(ae, shr_even) : _mm256_srli_epi64(ae, 32);
    __m256i o = any_short ? _mm256_sllv_epi64(ao, shl_odd) : ao;
    return _mm256_srav_epi32(_mm256_blend_epi32(e, o, 0xAA), shift2);
}

Q8_INLINE __m256i Q8_NAME(requant8)(__m256i acc, const Q8_NAME(rq) *v, int pos) {
    const int32_t *t = v->table + pos;
    int n = v->padded;
    __m256i shr = _mm256_setzero_si256(), shl = _mm256_setzero_si256();
    if (v->any_short) {
        shr = _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_SHR_EVEN * n));
        shl = _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_SHL_ODD * n));
    }
    return Q8_NAME(requant_core)(acc, _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_MULT * n)),
                                 _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_MULT_ODD * n)),
                                 _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_ROUND_EVEN * n)),
                                 _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_ROUND_ODD * n)),
                                 shr, shl,
                                 _mm256_loadu_si256((const __m256i *)(t + MNET_Q8_RQ_SHIFT2 * n)),
                                 v->any_short);
}

Q8_INLINE void Q8_NAME(store_block32)(uint8_t *dst, __m256i a0, __m256i a1, __m256i a2, __m256i a3,
                                      const Q8_NAME(rq) *v, int pos) {
    __m256i q0 = Q8_NAME(requant8)(a0, v, pos), q1 = Q8_NAME(requant8)(a1, v, pos + 8);
    __m256i q2 = Q8_NAME(requant8)(a2, v, pos + 16), q3 = Q8_NAME(requant8)(a3, v, pos + 24);
    __m256i zp = _mm256_set1_epi16((int16_t)v->zero_point);
    __m256i w01 = _mm256_adds_epi16(_mm256_packs_epi32(q0, q1), zp);
    __m256i w23 = _mm256_adds_epi16(_mm256_packs_epi32(q2, q3), zp);
    __m256i b = _mm256_packus_epi16(w01, w23);
    b = _mm256_max_epu8(b, _mm256_set1_epi8((char)v->out_min));
    b = _mm256_min_epu8(b, _mm256_set1_epi8((char)v->out_max));
    _mm256_storeu_si256((__m256i *)dst, b);
}

/* A channel-ordered vector of 8 (n of them valid, 1..8). */
Q8_INLINE void Q8_NAME(store_vec8)(uint8_t *dst, __m256i acc, const Q8_NAME(rq) *v, int pos, int n) {
    __m256i q = _mm256_add_epi32(Q8_NAME(requant8)(acc, v, pos), _mm256_set1_epi32(v->zero_point));
    q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(v->out_min)),
                         _mm256_set1_epi32(v->out_max));
    __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(q, q), _mm256_setzero_si256());
    /* bytes 0..3 of each 128-bit lane hold channels 4 i .. 4 i + 3 */
    uint32_t lo = (uint32_t)_mm256_extract_epi32(b, 0), hi = (uint32_t)_mm256_extract_epi32(b, 4);
    uint8_t tmp[8];
    memcpy(tmp, &lo, 4);
    memcpy(tmp + 4, &hi, 4);
    memcpy(dst, tmp, (size_t)(n < 8 ? n : 8));
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
    int32_t s = (int32_t)(_mm256_extract_epi64(acc, 0) + _mm256_extract_epi64(acc, 1) +
                          _mm256_extract_epi64(acc, 2) + _mm256_extract_epi64(acc, 3));
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

Q8_INLINE void Q8_NAME(pw_tile)(const int P, const int NV, const uint8_t *const *x, int in_c,
                                const int8_t *wb, const int32_t *pbias, const int32_t *corr,
                                const Q8_NAME(rq) *rq, uint8_t *const *dst, int pos,
                                int lane_ordered, int valid) {
    __m256i acc[3][4];
    for (int p = 0; p < P; p++) {
        __m256i c = _mm256_set1_epi32(corr[p]);
        for (int v = 0; v < NV; v++)
            acc[p][v] = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(pbias + v * 8)), c);
    }
    const int8_t *w = wb;
    __m256i low16 = _mm256_set1_epi16(0x00FF);
    for (int i = 0; i < in_c; i += 4, w += NV * 32 * Q8_NAME(WBYTES)) {
        for (int p = 0; p < P; p++) {
            __m256i xv = Q8_NAME(bcast4)(x[p], i, in_c);
            __m256i xe = _mm256_and_si256(xv, low16), xo = _mm256_srli_epi16(xv, 8);
            for (int v = 0; v < NV; v++)
                acc[p][v] = Q8_NAME(dot4)(acc[p][v], xv, xe, xo, w + v * 32 * Q8_NAME(WBYTES));
        }
    }
    if (lane_ordered) {
        for (int p = 0; p < P; p++)
            Q8_NAME(store_block32)(dst[p], acc[p][0], acc[p][NV > 1 ? 1 : 0], acc[p][NV > 2 ? 2 : 0],
                                   acc[p][NV > 3 ? 3 : 0], rq, pos);
    } else {
        for (int p = 0; p < P; p++)
            for (int v = 0; v < NV; v++)
                Q8_NAME(store_vec8)(dst[p] + v * 8, acc[p][v], rq, pos + v * 8, valid - v * 8);
    }
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

Q8_FN void Q8_NAME(pw_tile_3x32)(const uint8_t *const *x, int in_c, const int8_t *wb,
                                 const int32_t *pbias, const int32_t *corr, const Q8_NAME(rq) *rq,
                                 uint8_t *const *dst, int pos, int lane_ordered, int valid) {
    (void)lane_ordered;
    (void)valid;
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

#define Q8_PW_TILE_FN(P, NV)                                                                     \
    Q8_FN void Q8_NAME(pw_tile_##P##_##NV)(const uint8_t *const *x, int in_c, const int8_t *wb,   \
                                           const int32_t *pbias, const int32_t *corr,             \
                                           const Q8_NAME(rq) *rq, uint8_t *const *dst, int pos,   \
                                           int lane_ordered, int valid) {                         \
        Q8_NAME(pw_tile)(P, NV, x, in_c, wb, pbias, corr, rq, dst, pos, lane_ordered, valid);     \
    }
Q8_PW_TILE_FN(3, 4)
Q8_PW_TILE_FN(3, 3)
Q8_PW_TILE_FN(3, 2)
Q8_PW_TILE_FN(3, 1)
Q8_PW_TILE_FN(1, 4)
Q8_PW_TILE_FN(1, 3)
Q8_PW_TILE_FN(1, 2)
Q8_PW_TILE_FN(1, 1)
#undef Q8_PW_TILE_FN

typedef void (*Q8_NAME(pw_tile_fn))(const uint8_t *const *, int, const int8_t *, const int32_t *,
                                    const int32_t *, const Q8_NAME(rq) *, uint8_t *const *, int,
                                    int, int);

static const Q8_NAME(pw_tile_fn) Q8_NAME(pw_tiles)[2][4] = {
    {Q8_NAME(pw_tile_1_1), Q8_NAME(pw_tile_1_2), Q8_NAME(pw_tile_1_3), Q8_NAME(pw_tile_1_4)},
    {Q8_NAME(pw_tile_3_1), Q8_NAME(pw_tile_3_2), Q8_NAME(pw_tile_3_3), Q8_NAME(pw_tile_3_4)},
};

Q8_FN void Q8_NAME(pw_run)(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *in,
                           const void *packed, const int32_t *packed_bias, uint8_t *out,
                           int pixel_begin, int pixel_end) {
    const int8_t *wp = (const int8_t *)packed + Q8_HEADER_BYTES;
    int in4 = (in_c + 3) / 4 * 4, cp = round_up8(out_c), full = out_c / 32 * 32;
    int32_t any_short;
    memcpy(&any_short, packed, sizeof any_short);
    Q8_NAME(rq) rq = {(const int32_t *)(wp + Q8_NAME(pw_weight_bytes)(in_c, out_c)), cp, any_short,
                      p->output_zero_point, p->out_min, p->out_max};
    int32_t sum_scale = 128 - p->weight_zero_point;
    enum { T = Q8_NAME(PW_TILE) };
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
            Q8_NAME(pw_tile_fn) tile = P == T && block < full ? Q8_NAME(pw_tile_3x32)
                                                               : Q8_NAME(pw_tiles)[P == T][nv - 1];
            tile(x, in_c, wp + (size_t)block * in4 * Q8_NAME(WBYTES), packed_bias + block, corr,
                 &rq, dst, block, block < full, out_c - block);
        }
        px += P;
    }
}

/* --- depthwise ------------------------------------------------------------------ */

/* Weights per block of up to 32 positions, per tap pair: nv vectors of 8
 * int32 lanes = int16 (w_a - zw, w_b - zw). */
static size_t Q8_NAME(dw_weight_bytes)(const mnet_conv_geometry *g) {
    return (size_t)((g->kernel_h * g->kernel_w + 1) / 2) * round_up8(g->out_c) * 4;
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
    for (int pos = 0; pos < cp; pos++) {
        int ch = pos_channel8(pos, c);
        int block = pos / 32 * 32, nv = (cp - block) >= 32 ? 4 : (cp - block) / 8;
        int v = (pos - block) / 8, l = pos % 8;
        int64_t wsum = 0;
        for (int t = 0; t < taps && ch < c; t++) {
            int w = (int)w_ohwi[(size_t)ch * taps + t] - p->weight_zero_point;
            wsum += w;
            size_t lane = (size_t)block * pairs + ((size_t)(t / 2) * nv + v) * 8 + l;
            dst[lane * 2 + t % 2] = (int16_t)w;
        }
        int64_t b = ch < c ? (int64_t)(bias ? bias[ch] : 0) - (int64_t)p->input_zero_point * wsum : 0;
        packed_bias[pos] = (int32_t)(uint32_t)(uint64_t)b;
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

/* n (< 8) bytes, zero-extended to int32 lanes. */
Q8_INLINE __m256i Q8_NAME(load8_u8)(const uint8_t *src, int n) {
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
                int32_t q = mnet_q8_rqtable_apply(acc, table, cp, pos) + p->output_zero_point;
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
    Q8_NAME(rq) rq = {(const int32_t *)((const uint8_t *)wp + Q8_NAME(dw_weight_bytes)(g)), cp,
                      any_short, p->output_zero_point, p->out_min, p->out_max};
    int32_t zx = p->input_zero_point;
    /* tap pointers in chunks of 64 taps, pairs never straddling chunks */
    const uint8_t *tp[64];
    int taps = g->kernel_h * g->kernel_w;
    if (taps > 64) {
        Q8_NAME(dw_run_big)(g, p, in, packed, packed_bias, out, row_begin, row_end);
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

const mnet_q8_kernels Q8_TABLE = {
    .isa = Q8_ISA,
    .pointwise_pack_bytes = Q8_NAME(pw_pack_bytes),
    .pointwise_pack = Q8_NAME(pw_pack),
    .pointwise = Q8_NAME(pw_run),
    .depthwise_pack_bytes = Q8_NAME(dw_pack_bytes),
    .depthwise_pack = Q8_NAME(dw_pack),
    .depthwise = Q8_NAME(dw_run),
    .add = Q8_NAME(add_run),
    .quantize = Q8_NAME(quantize_run),
};

#undef Q8_FN
#undef Q8_INLINE
