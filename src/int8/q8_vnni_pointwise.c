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

/* P pixels x NV vectors of one block. */
INLINE_VNNI void pw_tile(const int P, const int NV, const uint8_t *const *x, int in_c,
                         const int8_t *wb, const int32_t *pbias, const int32_t *corr,
                         const rq_ctx *rq, uint8_t *const *dst, int pos, int lane_ordered,
                         int valid) {
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
                                   const int32_t *pbias, const int32_t *corr, const rq_ctx *rq,
                                   uint8_t *const *dst, int pos, int lane_ordered, int valid) {
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

MNET_VNNI static void pw_tile_6x32(const uint8_t *const *x, int in_c, const int8_t *wb,
                                   const int32_t *pbias, const int32_t *corr, const rq_ctx *rq,
                                   uint8_t *const *dst, int pos, int lane_ordered, int valid) {
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

#define PW_TILE_FN(P, NV)                                                                         \
    MNET_VNNI static void pw_tile_##P##_##NV(const uint8_t *const *x, int in_c, const int8_t *wb, \
                                             const int32_t *pbias, const int32_t *corr,           \
                                             const rq_ctx *rq, uint8_t *const *dst, int pos,      \
                                             int lane_ordered, int valid) {                       \
        pw_tile(P, NV, x, in_c, wb, pbias, corr, rq, dst, pos, lane_ordered, valid);              \
    }
PW_TILE_FN(6, 4)
PW_TILE_FN(6, 3)
PW_TILE_FN(6, 2)
PW_TILE_FN(6, 1)
PW_TILE_FN(1, 4)
PW_TILE_FN(1, 3)
PW_TILE_FN(1, 2)
PW_TILE_FN(1, 1)

typedef void (*pw_tile_fn)(const uint8_t *const *, int, const int8_t *, const int32_t *,
                           const int32_t *, const rq_ctx *, uint8_t *const *, int, int, int);

static const pw_tile_fn pw_tiles[2][4] = {
    {pw_tile_1_1, pw_tile_1_2, pw_tile_1_3, pw_tile_1_4},
    {pw_tile_6_1, pw_tile_6_2, pw_tile_6_3, pw_tile_6_4},
};

MNET_VNNI void mnet_q8_vnni_pw_run(int in_c, int out_c, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int pixel_begin, int pixel_end) {
    const int8_t *wp = (const int8_t *)packed + HEADER_BYTES;
    int in4 = round_up(in_c, 4), cp = round_up(out_c, 16), full = out_c / BLOCK * BLOCK;
    rq_ctx rq = {(const int32_t *)(wp + pw_weight_bytes(in_c, out_c)), cp, read_any_short(packed),
                 !p->channel_requant, p->output_zero_point, p->out_min, p->out_max};
    int32_t sum_scale = 128 - p->weight_zero_point;
    for (int px = pixel_begin; px < pixel_end;) {
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
