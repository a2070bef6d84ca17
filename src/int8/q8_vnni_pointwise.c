/* AVX-512 VNNI 1x1 convolution (pointwise, FC, and dense convolutions over
 * gathered patches); the arithmetic and layouts are in q8_vnni_common.h. */
#include "int8/q8_vnni_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

enum { PW_TILE = 6 }; /* pixels per tile */

/* Weights: per block of up to 64 positions (nv vectors), per group of 4
 * input channels, nv x 64 bytes: lane l of vector v = position
 * block + 16 v + l, its 4 bytes the 4 input channels (w - 128; 0 padding). */
static size_t pw_weight_bytes(int in_c, int out_c) {
    return (size_t)round_up(out_c, 16) * (size_t)round_up(in_c, 4);
}

size_t mnet_q8_vnni_pw_pack_bytes(int in_c, int out_c) {
    return HEADER_BYTES + pw_weight_bytes(in_c, out_c) + mnet_q8_rqtable_bytes(round_up(out_c, 16));
}

void mnet_q8_vnni_pw_pack(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                    const int32_t *bias, void *packed, int32_t *packed_bias) {
    int in4 = round_up(in_c, 4), cp = round_up(out_c, 16);
    memset(packed, 0, mnet_q8_vnni_pw_pack_bytes(in_c, out_c));
    int8_t *dst = (int8_t *)packed + HEADER_BYTES;
    int32_t any_short = fill_table((int32_t *)(dst + pw_weight_bytes(in_c, out_c)), cp, out_c, p);
    memcpy(packed, &any_short, sizeof any_short);
    for (int pos = 0; pos < cp; pos++) {
        int o = pos_channel(pos, out_c);
        int block = pos / BLOCK * BLOCK, nv = (cp - block) >= BLOCK ? 4 : (cp - block) / 16;
        int v = (pos - block) / 16, l = pos % 16;
        int64_t wsum = 0;
        for (int i = 0; i < in_c && o < out_c; i++) {
            int w = w_oi[(size_t)o * in_c + i];
            wsum += w;
            size_t at = (size_t)block * in4 + ((size_t)(i / 4) * nv + v) * 64 + l * 4 + i % 4;
            dst[at] = (int8_t)(w - 128);
        }
        /* the reference accumulates in int32: wrap the same way */
        int64_t b = o < out_c ? (int64_t)(bias ? bias[o] : 0) - (int64_t)p->input_zero_point * wsum +
                                    (int64_t)in_c * p->input_zero_point * p->weight_zero_point
                              : 0;
        packed_bias[pos] = (int32_t)(uint32_t)(uint64_t)b;
    }
}

INLINE_VNNI int32_t byte_sum(const uint8_t *x, int n) {
    if (n <= 32) { /* small K (expansions): narrower vectors, a shorter reduction */
        __m256i s = _mm256_sad_epu8(
            _mm256_maskz_loadu_epi8(n >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1), x),
            _mm256_setzero_si256());
        __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        return (int32_t)_mm_cvtsi128_si64(_mm_add_epi64(t, _mm_unpackhi_epi64(t, t)));
    }
    __m512i acc = _mm512_setzero_si512();
    int i = 0;
    for (; i + 64 <= n; i += 64)
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_loadu_si512(x + i), _mm512_setzero_si512()));
    if (i < n) {
        __mmask64 m = ((__mmask64)1 << (n - i)) - 1;
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(m, x + i),
                                                    _mm512_setzero_si512()));
    }
    return (int32_t)_mm512_reduce_add_epi64(acc);
}

/* 4 input bytes from x + i, fewer at the end of the row (no overread). */
INLINE_VNNI __m512i bcast_tail(const uint8_t *x, int i, int in_c) {
    uint8_t b[4] = {0, 0, 0, 0};
    for (int k = 0; i + k < in_c && k < 4; k++) b[k] = x[i + k];
    int32_t d;
    memcpy(&d, b, 4);
    return _mm512_set1_epi32(d);
}

INLINE_VNNI __m512i bcast4(const uint8_t *x) {
    int32_t d;
    memcpy(&d, x, 4);
    return _mm512_set1_epi32(d);
}

/* vpdpbusd accumulating in place (GCC 12 copies the accumulators around
 * the intrinsic in this loop, spilling most of them) */
#define DPBUSD(acc, x, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w))

/* Tail stores with one set of constants r for all channels (uniform), the
 * bytes narrowed by saturating packs as in pack_store64 (zero point added
 * on int16 with saturation, clamp on bytes: the same results as
 * store_block32's int32 clamp, since out_min >= 0 and out_max <= 255). */

/* A 32-block (pos_channel order) -> 32 bytes, n of them valid. After the
 * packs, 128-bit lane i holds dwords (q0 lanes 4i..4i+3, q1 lanes 4i..4i+3):
 * channels (0-3, 8-11), (4-7, 12-15), (16-19, 24-27), (20-23, 28-31); one
 * dword permute puts them in channel order. */
INLINE_VNNI void store_block32_u(uint8_t *dst, __m512i a0, __m512i a1, const rq_vec *r,
                                 const rq_ctx *v, int n) {
    __m512i w = add_zero_point16(
        _mm512_packs_epi32(requant_r(a0, r, v->any_short), requant_r(a1, r, v->any_short)), v);
    __m512i b = clamp_bytes(_mm512_packus_epi16(w, w), v);
    const __m512i order = _mm512_setr_epi32(0, 4, 1, 5, 8, 12, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    __mmask32 m = n >= 32 ? (__mmask32)0xFFFFFFFFu : n <= 0 ? 0 : (__mmask32)((1u << n) - 1);
    _mm256_mask_storeu_epi8(dst, m, _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, b)));
}

/* A channel-ordered vector of 16, n of them valid: after the packs the
 * first dword of each 128-bit lane holds 4 consecutive channels. */
INLINE_VNNI void store_vec16_u(uint8_t *dst, __m512i acc, const rq_vec *r, const rq_ctx *v,
                               int n) {
    __m512i q = requant_r(acc, r, v->any_short);
    __m512i w = add_zero_point16(_mm512_packs_epi32(q, q), v);
    __m512i b = clamp_bytes(_mm512_packus_epi16(w, w), v);
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm_mask_storeu_epi8(dst, tail_mask(n), _mm512_castsi512_si128(_mm512_permutexvar_epi32(order, b)));
}

/* A tile's own copy of the requantization context: through the pointer,
 * GCC reloads its fields after every store (dst might alias them); a local
 * copy lets it keep the per-store tests (zero point, clamp) in registers. */
#define RQ_LOCAL(name, shared) const rq_ctx name##_copy = *(shared), *name = &name##_copy

/* P pixels x NV vectors of one block. */
INLINE_VNNI void pw_tile(const int P, const int NV, const uint8_t *const *x, int in_c,
                         const int8_t *wb, const int32_t *pbias, const int32_t *corr,
                         const rq_ctx *rq_shared, uint8_t *const *dst, int pos, int lane_ordered,
                         int valid) {
    RQ_LOCAL(rq, rq_shared);
    __m512i acc[PW_TILE][4];
    for (int p = 0; p < P; p++) {
        __m512i c = _mm512_set1_epi32(corr[p]);
        for (int v = 0; v < NV; v++)
            acc[p][v] = _mm512_add_epi32(_mm512_loadu_si512(pbias + v * 16), c);
    }
    int full4 = in_c & ~3;
    const int8_t *w = wb;
    for (int i = 0; i < full4; i += 4, w += NV * 64) {
        __m512i wv[4];
        for (int v = 0; v < NV; v++) wv[v] = _mm512_loadu_si512(w + v * 64);
        for (int p = 0; p < P; p++) {
            __m512i xv = bcast4(x[p] + i);
            for (int v = 0; v < NV; v++) DPBUSD(acc[p][v], xv, wv[v]);
        }
    }
    if (full4 < in_c) {
        for (int p = 0; p < P; p++) {
            __m512i xv = bcast_tail(x[p], full4, in_c);
            for (int v = 0; v < NV; v++) DPBUSD(acc[p][v], xv, _mm512_loadu_si512(w + v * 64));
        }
    }
    if (lane_ordered) {
        for (int p = 0; p < P; p++)
            store_block64(dst[p], acc[p][0], acc[p][NV > 1 ? 1 : 0], acc[p][NV > 2 ? 2 : 0],
                          acc[p][NV > 3 ? 3 : 0], rq, pos);
    } else if (rq->uniform) { /* the constants once, in registers */
        rq_vec r = rq_load(rq, 0);
        int pairs = NV / 2;
        for (int p = 0; p < P; p++) {
            for (int v = 0; v < 2 * pairs; v += 2)
                store_block32_u(dst[p] + v * 16, acc[p][v], acc[p][v + 1 < NV ? v + 1 : v], &r, rq,
                                valid - v * 16);
            if (NV % 2)
                store_vec16_u(dst[p] + (NV - 1) * 16, acc[p][NV - 1], &r, rq, valid - (NV - 1) * 16);
        }
    } else {
        /* tail: 32-blocks (NV >= 2), then maybe one channel-ordered vector */
        int pairs = NV / 2;
        for (int p = 0; p < P; p++) {
            for (int v = 0; v < 2 * pairs; v += 2)
                store_block32(dst[p] + v * 16, acc[p][v], acc[p][v + 1 < NV ? v + 1 : v], rq,
                              pos + v * 16, valid - v * 16);
            if (NV % 2)
                store_vec16(dst[p] + (NV - 1) * 16, acc[p][NV - 1], rq, pos + (NV - 1) * 16,
                            valid - (NV - 1) * 16);
        }
    }
}

/* The main tile, 6 pixels x 64 lane-ordered channels, written out with
 * named accumulators: GCC keeps an array of vectors on the stack; 6 pixels (24 accumulators) spill. */
#define ROW_INIT(p)                                                      \
    __m512i a##p##0, a##p##1, a##p##2, a##p##3;                          \
    {                                                                    \
        __m512i c = _mm512_set1_epi32(corr[p]);                          \
        a##p##0 = _mm512_add_epi32(b0, c);                               \
        a##p##1 = _mm512_add_epi32(b1, c);                               \
        a##p##2 = _mm512_add_epi32(b2, c);                               \
        a##p##3 = _mm512_add_epi32(b3, c);                               \
    }
#define ROW_DOT(p, xv)                                                   \
    {                                                                    \
        __m512i xb = (xv);                                               \
        DPBUSD(a##p##0, xb, w0);                                         \
        DPBUSD(a##p##1, xb, w1);                                         \
        DPBUSD(a##p##2, xb, w2);                                         \
        DPBUSD(a##p##3, xb, w3);                                         \
    }
#define ROW_STORE(p) store_block64(dst[p], a##p##0, a##p##1, a##p##2, a##p##3, rq, pos)
#define ROW_STORE_U(p) store_block64_u(dst[p], a##p##0, a##p##1, a##p##2, a##p##3, &r, rq)

MNET_VNNI static void pw_tile_6x64(const uint8_t *const *x, int in_c, const int8_t *wb,
                                   const int32_t *pbias, const int32_t *corr, const rq_ctx *rq_shared,
                                   uint8_t *const *dst, int pos, int lane_ordered, int valid) {
    RQ_LOCAL(rq, rq_shared);
    (void)lane_ordered;
    (void)valid;
    __m512i b0 = _mm512_loadu_si512(pbias), b1 = _mm512_loadu_si512(pbias + 16);
    __m512i b2 = _mm512_loadu_si512(pbias + 32), b3 = _mm512_loadu_si512(pbias + 48);
    ROW_INIT(0) ROW_INIT(1) ROW_INIT(2) ROW_INIT(3) ROW_INIT(4) ROW_INIT(5)
    const uint8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5];
    int full4 = in_c & ~3;
    const int8_t *w = wb;
    for (int i = 0; i < full4; i += 4, w += 256) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        __m512i w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);
        ROW_DOT(0, bcast4(x0 + i))
        ROW_DOT(1, bcast4(x1 + i))
        ROW_DOT(2, bcast4(x2 + i))
        ROW_DOT(3, bcast4(x3 + i))
        ROW_DOT(4, bcast4(x4 + i))
        ROW_DOT(5, bcast4(x5 + i))
    }
    if (full4 < in_c) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        __m512i w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);
        ROW_DOT(0, bcast_tail(x0, full4, in_c))
        ROW_DOT(1, bcast_tail(x1, full4, in_c))
        ROW_DOT(2, bcast_tail(x2, full4, in_c))
        ROW_DOT(3, bcast_tail(x3, full4, in_c))
        ROW_DOT(4, bcast_tail(x4, full4, in_c))
        ROW_DOT(5, bcast_tail(x5, full4, in_c))
    }
    if (rq->uniform) { /* the constants once, in registers, for all 24 vectors */
        rq_vec r = rq_load(rq, 0);
        ROW_STORE_U(0);
        ROW_STORE_U(1);
        ROW_STORE_U(2);
        ROW_STORE_U(3);
        ROW_STORE_U(4);
        ROW_STORE_U(5);
        return;
    }
    ROW_STORE(0);
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
    ROW_STORE(4);
    ROW_STORE(5);
}
#undef ROW_INIT
#undef ROW_DOT
#undef ROW_STORE
#undef ROW_STORE_U

/* Tail tiles: 6 pixels x 2 or 1 vectors, named accumulators too. */
#define T2_INIT(p)                                                       \
    __m512i a##p##0, a##p##1;                                            \
    {                                                                    \
        __m512i c = _mm512_set1_epi32(corr[p]);                          \
        a##p##0 = _mm512_add_epi32(b0, c);                               \
        a##p##1 = _mm512_add_epi32(b1, c);                               \
    }
#define T2_DOT(p, xv)                                                    \
    {                                                                    \
        __m512i xb = (xv);                                               \
        DPBUSD(a##p##0, xb, w0);                                         \
        DPBUSD(a##p##1, xb, w1);                                         \
    }
#define T2_STORE(p) store_block32(dst[p], a##p##0, a##p##1, rq, pos, valid)
#define T2_STORE_U(p) store_block32_u(dst[p], a##p##0, a##p##1, &r, rq, valid)

MNET_VNNI static void pw_tile_6x32(const uint8_t *const *x, int in_c, const int8_t *wb,
                                   const int32_t *pbias, const int32_t *corr, const rq_ctx *rq_shared,
                                   uint8_t *const *dst, int pos, int lane_ordered, int valid) {
    RQ_LOCAL(rq, rq_shared);
    (void)lane_ordered;
    __m512i b0 = _mm512_loadu_si512(pbias), b1 = _mm512_loadu_si512(pbias + 16);
    T2_INIT(0) T2_INIT(1) T2_INIT(2) T2_INIT(3) T2_INIT(4) T2_INIT(5)
    const uint8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5];
    int full4 = in_c & ~3;
    const int8_t *w = wb;
    for (int i = 0; i < full4; i += 4, w += 128) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        T2_DOT(0, bcast4(x0 + i))
        T2_DOT(1, bcast4(x1 + i))
        T2_DOT(2, bcast4(x2 + i))
        T2_DOT(3, bcast4(x3 + i))
        T2_DOT(4, bcast4(x4 + i))
        T2_DOT(5, bcast4(x5 + i))
    }
    if (full4 < in_c) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        T2_DOT(0, bcast_tail(x0, full4, in_c))
        T2_DOT(1, bcast_tail(x1, full4, in_c))
        T2_DOT(2, bcast_tail(x2, full4, in_c))
        T2_DOT(3, bcast_tail(x3, full4, in_c))
        T2_DOT(4, bcast_tail(x4, full4, in_c))
        T2_DOT(5, bcast_tail(x5, full4, in_c))
    }
    if (rq->uniform) { /* the constants once, in registers */
        rq_vec r = rq_load(rq, 0);
        T2_STORE_U(0);
        T2_STORE_U(1);
        T2_STORE_U(2);
        T2_STORE_U(3);
        T2_STORE_U(4);
        T2_STORE_U(5);
        return;
    }
    T2_STORE(0);
    T2_STORE(1);
    T2_STORE(2);
    T2_STORE(3);
    T2_STORE(4);
    T2_STORE(5);
}
#undef T2_INIT
#undef T2_DOT
#undef T2_STORE
#undef T2_STORE_U

/* A 48-channel tail (a 32-block and one vector of 16), 6 pixels: named
 * accumulators (the generic pw_tile's array stays on the stack). */
#define T3_INIT(p)                                                       \
    __m512i a##p##0, a##p##1, a##p##2;                                   \
    {                                                                    \
        __m512i c = _mm512_set1_epi32(corr[p]);                          \
        a##p##0 = _mm512_add_epi32(b0, c);                               \
        a##p##1 = _mm512_add_epi32(b1, c);                               \
        a##p##2 = _mm512_add_epi32(b2, c);                               \
    }
#define T3_DOT(p, xv)                                                    \
    {                                                                    \
        __m512i xb = (xv);                                               \
        DPBUSD(a##p##0, xb, w0);                                         \
        DPBUSD(a##p##1, xb, w1);                                         \
        DPBUSD(a##p##2, xb, w2);                                         \
    }
#define T3_STORE(p)                                                                   \
    if (rq->uniform) {                                                                \
        store_block32_u(dst[p], a##p##0, a##p##1, &r, rq, valid);                     \
        store_vec16_u(dst[p] + 32, a##p##2, &r, rq, valid - 32);                      \
    } else {                                                                          \
        store_block32(dst[p], a##p##0, a##p##1, rq, pos, valid);                      \
        store_vec16(dst[p] + 32, a##p##2, rq, pos + 32, valid - 32);                  \
    }

MNET_VNNI static void pw_tile_6x48(const uint8_t *const *x, int in_c, const int8_t *wb,
                                   const int32_t *pbias, const int32_t *corr, const rq_ctx *rq_shared,
                                   uint8_t *const *dst, int pos, int lane_ordered, int valid) {
    RQ_LOCAL(rq, rq_shared);
    (void)lane_ordered;
    __m512i b0 = _mm512_loadu_si512(pbias), b1 = _mm512_loadu_si512(pbias + 16);
    __m512i b2 = _mm512_loadu_si512(pbias + 32);
    T3_INIT(0) T3_INIT(1) T3_INIT(2) T3_INIT(3) T3_INIT(4) T3_INIT(5)
    const uint8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5];
    int full4 = in_c & ~3;
    const int8_t *w = wb;
    for (int i = 0; i < full4; i += 4, w += 192) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        __m512i w2 = _mm512_loadu_si512(w + 128);
        T3_DOT(0, bcast4(x0 + i))
        T3_DOT(1, bcast4(x1 + i))
        T3_DOT(2, bcast4(x2 + i))
        T3_DOT(3, bcast4(x3 + i))
        T3_DOT(4, bcast4(x4 + i))
        T3_DOT(5, bcast4(x5 + i))
    }
    if (full4 < in_c) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        __m512i w2 = _mm512_loadu_si512(w + 128);
        T3_DOT(0, bcast_tail(x0, full4, in_c))
        T3_DOT(1, bcast_tail(x1, full4, in_c))
        T3_DOT(2, bcast_tail(x2, full4, in_c))
        T3_DOT(3, bcast_tail(x3, full4, in_c))
        T3_DOT(4, bcast_tail(x4, full4, in_c))
        T3_DOT(5, bcast_tail(x5, full4, in_c))
    }
    rq_vec r = rq_load(rq, 0); /* used only if uniform; position 0 always exists */
    T3_STORE(0)
    T3_STORE(1)
    T3_STORE(2)
    T3_STORE(3)
    T3_STORE(4)
    T3_STORE(5)
}
#undef T3_INIT
#undef T3_DOT
#undef T3_STORE

/* The last 16 channels, 6 pixels: with one vector per pixel, 6 dependent
 * vpdpbusd chains would leave the unit idle (latency bound); even and odd
 * groups of 4 inputs go to two accumulators per pixel, added at the end
 * (int32 sums wrap, so the order does not change the result). */
#define T1_INIT(p)                                                       \
    __m512i a##p = _mm512_add_epi32(b0, _mm512_set1_epi32(corr[p]));     \
    __m512i s##p = _mm512_setzero_si512();
#define T1_DOT2(p)                                                       \
    DPBUSD(a##p, bcast4(x##p + i), w0);                                  \
    DPBUSD(s##p, bcast4(x##p + i + 4), w1);
#define T1_STORE(p)                                                      \
    if (rq->uniform)                                                     \
        store_vec16_u(dst[p], _mm512_add_epi32(a##p, s##p), &r, rq, valid); \
    else                                                                 \
        store_vec16(dst[p], _mm512_add_epi32(a##p, s##p), rq, pos, valid);

MNET_VNNI static void pw_tile_6x16(const uint8_t *const *x, int in_c, const int8_t *wb,
                                   const int32_t *pbias, const int32_t *corr, const rq_ctx *rq_shared,
                                   uint8_t *const *dst, int pos, int lane_ordered, int valid) {
    RQ_LOCAL(rq, rq_shared);
    (void)lane_ordered;
    __m512i b0 = _mm512_loadu_si512(pbias);
    T1_INIT(0) T1_INIT(1) T1_INIT(2) T1_INIT(3) T1_INIT(4) T1_INIT(5)
    const uint8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5];
    int full4 = in_c & ~3, i = 0;
    const int8_t *w = wb;
    for (; i + 8 <= full4; i += 8, w += 128) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        T1_DOT2(0) T1_DOT2(1) T1_DOT2(2) T1_DOT2(3) T1_DOT2(4) T1_DOT2(5)
    }
    if (i < full4) {
        __m512i w0 = _mm512_loadu_si512(w);
        DPBUSD(a0, bcast4(x0 + i), w0);
        DPBUSD(a1, bcast4(x1 + i), w0);
        DPBUSD(a2, bcast4(x2 + i), w0);
        DPBUSD(a3, bcast4(x3 + i), w0);
        DPBUSD(a4, bcast4(x4 + i), w0);
        DPBUSD(a5, bcast4(x5 + i), w0);
        w += 64;
    }
    if (full4 < in_c) {
        __m512i w0 = _mm512_loadu_si512(w);
        DPBUSD(s0, bcast_tail(x0, full4, in_c), w0);
        DPBUSD(s1, bcast_tail(x1, full4, in_c), w0);
        DPBUSD(s2, bcast_tail(x2, full4, in_c), w0);
        DPBUSD(s3, bcast_tail(x3, full4, in_c), w0);
        DPBUSD(s4, bcast_tail(x4, full4, in_c), w0);
        DPBUSD(s5, bcast_tail(x5, full4, in_c), w0);
    }
    rq_vec r = rq_load(rq, 0); /* used only if uniform; position 0 always exists */
    T1_STORE(0)
    T1_STORE(1)
    T1_STORE(2)
    T1_STORE(3)
    T1_STORE(4)
    T1_STORE(5)
}
#undef T1_INIT
#undef T1_DOT2
#undef T1_STORE

#define PW_TILE_FN(P, NV)                                                                         \
    MNET_VNNI static void pw_tile_##P##_##NV(const uint8_t *const *x, int in_c, const int8_t *wb, \
                                             const int32_t *pbias, const int32_t *corr,           \
                                             const rq_ctx *rq, uint8_t *const *dst, int pos,      \
                                             int lane_ordered, int valid) {                       \
        pw_tile(P, NV, x, in_c, wb, pbias, corr, rq, dst, pos, lane_ordered, valid);              \
    }
PW_TILE_FN(6, 4)
PW_TILE_FN(6, 2)
PW_TILE_FN(1, 4)
PW_TILE_FN(1, 3)
PW_TILE_FN(1, 2)
PW_TILE_FN(1, 1)

typedef void (*pw_tile_fn)(const uint8_t *const *, int, const int8_t *, const int32_t *,
                           const int32_t *, const rq_ctx *, uint8_t *const *, int, int, int);

static const pw_tile_fn pw_tiles[2][4] = {
    {pw_tile_1_1, pw_tile_1_2, pw_tile_1_3, pw_tile_1_4},
    {pw_tile_6x16, pw_tile_6_2, pw_tile_6x48, pw_tile_6_4},
};

MNET_VNNI void mnet_q8_vnni_pw_run(int in_c, int out_c, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int pixel_begin, int pixel_end) {
    const int8_t *wp = (const int8_t *)packed + HEADER_BYTES;
    int in4 = round_up(in_c, 4), cp = round_up(out_c, 16), full = out_c / BLOCK * BLOCK;
    rq_ctx rq = {(const int32_t *)(wp + pw_weight_bytes(in_c, out_c)), cp, read_any_short(packed),
                 !p->channel_requant, p->output_zero_point, p->out_min, p->out_max};
    int32_t sum_scale = 128 - p->weight_zero_point;
    /* The last 1-5 pixels of a range of at least 6 run as one 6-pixel tile
     * ending at pixel_end, recomputing a few pixels (the same values) rather
     * than as single-pixel tiles at a third of the speed; only where the
     * output cannot overlap the input it would read again. */
    uintptr_t in_lo = (uintptr_t)(in + (size_t)pixel_begin * in_c);
    uintptr_t in_hi = (uintptr_t)(in + (size_t)pixel_end * in_c);
    uintptr_t out_lo = (uintptr_t)(out + (size_t)pixel_begin * out_c);
    uintptr_t out_hi = (uintptr_t)(out + (size_t)pixel_end * out_c);
    int overlap_tail = pixel_end - pixel_begin >= PW_TILE && (out_hi <= in_lo || in_hi <= out_lo);
    for (int px = pixel_begin; px < pixel_end;) {
        if (pixel_end - px < PW_TILE && overlap_tail) px = pixel_end - PW_TILE;
        int P = pixel_end - px >= PW_TILE ? PW_TILE : 1;
        const uint8_t *x[PW_TILE];
        uint8_t *dst[PW_TILE];
        int32_t corr[PW_TILE];
        for (int k = 0; k < P; k++) {
            x[k] = in + (size_t)(px + k) * in_c;
            /* symmetric weights (zw 128, per-channel int8) need no input sum */
            corr[k] = sum_scale ? sum_scale * byte_sum(x[k], in_c) : 0;
        }
        for (int block = 0; block < cp; block += BLOCK) {
            int nv = cp - block >= BLOCK ? 4 : (cp - block) / 16;
            for (int k = 0; k < P; k++) dst[k] = out + (size_t)(px + k) * out_c + block;
            pw_tile_fn tile = P < PW_TILE ? pw_tiles[0][nv - 1]
                              : block < full ? pw_tile_6x64
                              : nv == 2      ? pw_tile_6x32
                                             : pw_tiles[1][nv - 1];
            tile(x, in_c, wp + (size_t)block * in4, packed_bias + block, corr, &rq, dst, block,
                 block < full, out_c - block);
        }
        px += P;
    }
}

#endif
