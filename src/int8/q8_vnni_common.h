/* AVX-512 VNNI uint8 kernels, bit-identical to q8_ref.c: what the
 * pointwise (q8_vnni_pointwise.c), depthwise (q8_vnni_depthwise.c) and
 * elementwise (q8_vnni.c) files share.
 *
 * Channel order. Output channels go in blocks of 64 (four 16-lane int32
 * vectors). Inside a full block the vectors hold channels in "lane order":
 * vector j, 128-bit lane i, element k = channel 16 i + 4 j + k. Then the
 * saturating packs (int32 -> int16 -> uint8, which work per 128-bit lane)
 * give the 64 bytes in channel order with no permute, and the depthwise
 * byte unpacks (also per 128-bit lane) produce exactly this order. The
 * channels after the last full block go in 32-blocks and a last vector of
 * 16 (pos_channel), with masked stores. Weights, biases and the
 * requantization table are packed in that order.
 *
 * Pointwise: vpdpbusd multiplies unsigned activations by signed weights, so
 * weights are stored as w - 128 (int8). With x the input, zx / zw the zero
 * points and n = in_c:
 *   sum (x - zx)(w - zw) = sum x (w - 128) + (128 - zw) sum x
 *                          - zx sum w + n zx zw
 * The last two terms go into the packed bias; (128 - zw) sum x is added per
 * pixel (sum x by vpsadbw; not needed for symmetric weights, zw = 128).
 * Layers whose w - zw fit a signed byte but for a few extremes (trained
 * uint8 layers: 1-2 weights) store w - zw instead, clamped, and add the
 * extremes' residuals back by a vpdpbusd per affected vector and pixel
 * (residual mode, q8_vnni_pointwise.c): no per-pixel sums.
 * Tiles of 6 pixels x 64 channels keep 24 accumulators in registers; the
 * dot products are inline asm so that GCC accumulates in place.
 * A dense convolution runs as this kernel over gathered patches.
 *
 * Depthwise: taps in pairs through vpdpwssd (int16 pairs into int32): the
 * lane of a channel holds (x_a, x_b) and (w_a - zw, w_b - zw). Padded taps
 * read the input zero point, whose contribution -zx sum (w - zw) is folded
 * into the bias, so every output pixel runs the same code. With 16 or 32
 * channels, 4 or 2 adjacent output pixels share one 64-lane block. 3x3
 * kernels run by rows: vertical quads (q8_vnni_depthwise_quad.c: vpdpbusd
 * over one input column's rows, each column built once for the outputs that
 * read it; at stride 1 two output rows per pass from one quad of 4 input
 * rows) for every block whose weights fit w - zw in a signed byte or do
 * so but for a few extreme weights, stored clamped plus residual weights
 * (all symmetric layers, and all blocks of the published uint8 models),
 * dilation, and the channels after the full blocks; the tap-pair row kernel
 * (q8_vnni_depthwise.c's dw_row3x3, which widens each input column once)
 * for the full 64-blocks that would still need the quads' zero-point sums,
 * which cost more than they save.
 *
 * Residual ADD and input QUANTIZE are vectorized too (same arithmetic).
 *
 * Requantization: q8_rqtable.h's arithmetic (TFLite's single rounding on
 * 64-bit products: two vpmuldq, the nudge, the split shift, a blend; 6
 * operations per 16 values on the usual long-shift route, 8 otherwise),
 * then packs with saturation, zero point and clamp on bytes. */
#ifndef MNET_INT8_Q8_VNNI_COMMON_H
#define MNET_INT8_Q8_VNNI_COMMON_H

#include "int8/q8_kernels.h"
#include "int8/q8_rqtable.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <string.h>

#define MNET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define INLINE_VNNI MNET_VNNI static inline __attribute__((always_inline))

enum { HEADER_BYTES = 64, BLOCK = 64 };

static inline int round_up(int v, int m) { return (v + m - 1) / m * m; }

/* The channel at packed position pos (pos < round_up(out_c, 16)). Full
 * blocks of 64: lane order (top comment). The rest: blocks of 32 in which
 * vector j, lane l holds channel 16 (l / 8) + 8 j + l % 8 (the order of a
 * 256-bit byte unpack widened to int16 pairs), then at most one vector of
 * 16 in channel order. */
static inline int pos_channel(int pos, int out_c) {
    int full = out_c / BLOCK * BLOCK;
    if (pos < full) {
        int r = pos % BLOCK, j = r / 16, i = (r % 16) / 4, k = r % 4;
        return pos - r + 16 * i + 4 * j + k;
    }
    int tail32 = (round_up(out_c, 16) - full) / 32 * 32;
    int r = pos - full;
    if (r >= tail32) return pos;
    int q = r % 32, j = q / 16, l = q % 16;
    return full + r - q + 16 * (l / 8) + 8 * j + l % 8;
}

/* Vectors of the tail [full, cp) that form 32-blocks (the rest: one
 * channel-ordered vector). */
static inline int tail32_vectors(int out_c) {
    int full = out_c / BLOCK * BLOCK;
    return (round_up(out_c, 16) - full) / 32 * 2;
}

/* Packed blob: HEADER_BYTES (int32 any_short), the weights, the table. */
static inline int fill_table(int32_t *table, int padded, int out_c, const mnet_q8_conv_params *p) {
    int any_short = 0;
    for (int pos = 0; pos < padded; pos++) {
        int c = pos_channel(pos, out_c);
        /* padding positions: 0, or the per-tensor constants (which the
         * uniform path loads from any position) */
        mnet_requant r = c < out_c ? mnet_q8_channel_requant(p, c)
                         : p->channel_requant ? mnet_q8_rqtable_pad() : p->requant;
        mnet_q8_rqtable_set(table, padded, pos, r);
        any_short |= c < out_c && mnet_q8_rqtable_short(r); /* padding: any route */
    }
    return any_short;
}

static inline int32_t read_any_short(const void *packed) {
    int32_t v;
    memcpy(&v, packed, sizeof v);
    return v;
}

/* --- requantization -------------------------------------------------------- */

typedef struct rq_ctx {
    const int32_t *table;
    int padded, any_short;
    int uniform; /* one requantization for all channels (no channel_requant) */
    int32_t zero_point, out_min, out_max;
} rq_ctx;

/* The constants of 16 positions, in registers, when they are the same for
 * every channel (uniform): then the even and odd lanes share them. */
typedef struct rq_vec {
    __m512i mult, round, shr, shl, shift2;
} rq_vec;

INLINE_VNNI rq_vec rq_load(const rq_ctx *v, int pos) {
    const int32_t *t = v->table + pos;
    rq_vec r;
    r.mult = _mm512_loadu_si512(t + MNET_Q8_RQ_MULT * v->padded);
    r.round = _mm512_loadu_si512(
        t + (v->any_short ? MNET_Q8_RQ_ROUND_EVEN : MNET_Q8_RQ_ROUND32) * v->padded);
    r.shr = v->any_short ? _mm512_loadu_si512(t + MNET_Q8_RQ_SHR_EVEN * v->padded)
                         : _mm512_setzero_si512();
    r.shl = v->any_short ? _mm512_loadu_si512(t + MNET_Q8_RQ_SHL_ODD * v->padded)
                         : _mm512_setzero_si512();
    r.shift2 = _mm512_loadu_si512(t + MNET_Q8_RQ_SHIFT2 * v->padded);
    return r;
}

/* q8_rqtable.h's arithmetic on 16 lanes: 64-bit products of the even lanes
 * and of the odd lanes (shifted down), the int64 nudge, then the split
 * shift. Without short shifts (any_short 0) every t is at least 33: the
 * long-shift route, where round_even is the int32 nudge 2^(s2-1) of every
 * lane (round_odd unused), added to the high halves of the products (the
 * even lanes take them, the odd ones are already in place). */
INLINE_VNNI __m512i requant_core(__m512i x, __m512i mult, __m512i mult_odd, __m512i round_even,
                                 __m512i round_odd, __m512i shr_even, __m512i shl_odd,
                                 __m512i shift2, int any_short) {
    if (!any_short) {
        /* one masked dword swap moves the even products' high halves down
         * into the even lanes (instead of a 64-bit shift and a blend) */
        (void)round_odd;
        (void)shr_even;
        (void)shl_odd;
        __m512i pe = _mm512_mul_epi32(x, mult);
        __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_odd);
        __m512i hi = _mm512_mask_shuffle_epi32(po, 0x5555, pe, _MM_PERM_CDAB);
        return _mm512_srav_epi32(_mm512_add_epi32(hi, round_even), shift2);
    }
    __m512i ae = _mm512_add_epi64(_mm512_mul_epi32(x, mult), round_even);
    __m512i ao = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_odd), round_odd);
    __m512i e = _mm512_srlv_epi64(ae, shr_even);
    __m512i o = _mm512_sllv_epi64(ao, shl_odd);
    return _mm512_srav_epi32(_mm512_mask_blend_epi32(0xAAAA, e, o), shift2);
}

/* Accumulators -> requantized int32 (no zero point) with uniform constants r. */
INLINE_VNNI __m512i requant_r(__m512i acc, const rq_vec *r, int any_short) {
    return requant_core(acc, r->mult, r->mult, r->round, r->round, r->shr, r->shl, r->shift2,
                        any_short);
}

/* Positions [pos, pos + 16): accumulators -> requantized int32 (no zero
 * point), the constants loaded from the table. */
INLINE_VNNI __m512i requant16(__m512i acc, const rq_ctx *v, int pos) {
    const int32_t *t = v->table + pos;
    int n = v->padded;
    __m512i shr = _mm512_setzero_si512(), shl = _mm512_setzero_si512();
    if (v->any_short) {
        shr = _mm512_loadu_si512(t + MNET_Q8_RQ_SHR_EVEN * n);
        shl = _mm512_loadu_si512(t + MNET_Q8_RQ_SHL_ODD * n);
    }
    __m512i round_even, round_odd = _mm512_setzero_si512();
    if (v->any_short) {
        round_even = _mm512_loadu_si512(t + MNET_Q8_RQ_ROUND_EVEN * n);
        round_odd = _mm512_loadu_si512(t + MNET_Q8_RQ_ROUND_ODD * n);
    } else {
        round_even = _mm512_loadu_si512(t + MNET_Q8_RQ_ROUND32 * n);
    }
    return requant_core(acc, _mm512_loadu_si512(t + MNET_Q8_RQ_MULT * n),
                        _mm512_loadu_si512(t + MNET_Q8_RQ_MULT_ODD * n), round_even, round_odd,
                        shr, shl, _mm512_loadu_si512(t + MNET_Q8_RQ_SHIFT2 * n), v->any_short);
}

/* Packed int16 values (requantized, saturated) -> with the zero point
 * (saturating). Skipped when it is 0: ReLU6 outputs of quantization-aware
 * models have zero point 0, and at 2-3 operations per 16 values beyond the
 * multiply-adds every one counts for small K. */
INLINE_VNNI __m512i add_zero_point16(__m512i w, const rq_ctx *v) {
    return v->zero_point ? _mm512_adds_epi16(w, _mm512_set1_epi16((int16_t)v->zero_point)) : w;
}

/* Bytes (saturated to 0..255) -> clamped to [out_min, out_max]; nothing to
 * do for the full range (linear and ReLU6 outputs of those models). */
INLINE_VNNI __m512i clamp_bytes(__m512i b, const rq_ctx *v) {
    if (v->out_min > 0) b = _mm512_max_epu8(b, _mm512_set1_epi8((char)v->out_min));
    if (v->out_max < 255) b = _mm512_min_epu8(b, _mm512_set1_epi8((char)v->out_max));
    return b;
}

/* 4 requantized vectors (lane ordered) -> 64 bytes in channel order. */
INLINE_VNNI void pack_store64(uint8_t *dst, __m512i q0, __m512i q1, __m512i q2, __m512i q3,
                              const rq_ctx *v) {
    __m512i w01 = add_zero_point16(_mm512_packs_epi32(q0, q1), v);
    __m512i w23 = add_zero_point16(_mm512_packs_epi32(q2, q3), v);
    _mm512_storeu_si512(dst, clamp_bytes(_mm512_packus_epi16(w01, w23), v));
}

/* A full block with one set of constants for all 64 channels (uniform). */
INLINE_VNNI void store_block64_u(uint8_t *dst, __m512i a0, __m512i a1, __m512i a2, __m512i a3,
                                 const rq_vec *r, const rq_ctx *v) {
    pack_store64(dst, requant_r(a0, r, v->any_short), requant_r(a1, r, v->any_short),
                 requant_r(a2, r, v->any_short), requant_r(a3, r, v->any_short), v);
}

/* A full lane-ordered block: 4 vectors -> 64 bytes in channel order. */
INLINE_VNNI void store_block64(uint8_t *dst, __m512i a0, __m512i a1, __m512i a2, __m512i a3,
                               const rq_ctx *v, int pos) {
    pack_store64(dst, requant16(a0, v, pos), requant16(a1, v, pos + 16),
                 requant16(a2, v, pos + 32), requant16(a3, v, pos + 48), v);
}

static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* A channel-ordered vector of 16 (n of them valid). */
INLINE_VNNI void store_vec16(uint8_t *dst, __m512i acc, const rq_ctx *v, int pos, int n) {
    __m512i q = _mm512_add_epi32(requant16(acc, v, pos), _mm512_set1_epi32(v->zero_point));
    q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(v->out_min)),
                         _mm512_set1_epi32(v->out_max));
    _mm_mask_storeu_epi8(dst, tail_mask(n), _mm512_cvtepi32_epi8(q));
}

/* A 32-block (see pos_channel): 2 vectors -> 32 bytes, n of them valid. */
INLINE_VNNI void store_block32(uint8_t *dst, __m512i a0, __m512i a1, const rq_ctx *v, int pos,
                               int n) {
    __m512i zp = _mm512_set1_epi32(v->zero_point);
    __m512i lo = _mm512_set1_epi32(v->out_min), hi = _mm512_set1_epi32(v->out_max);
    __m512i q0 = _mm512_add_epi32(requant16(a0, v, pos), zp);
    __m512i q1 = _mm512_add_epi32(requant16(a1, v, pos + 16), zp);
    __m128i b0 = _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(q0, lo), hi));
    __m128i b1 = _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(q1, lo), hi));
    /* b0: channels 0-7, 16-23; b1: 8-15, 24-31 */
    _mm_mask_storeu_epi8(dst, tail_mask(n), _mm_unpacklo_epi64(b0, b1));
    _mm_mask_storeu_epi8(dst + 16, tail_mask(n - 16), _mm_unpackhi_epi64(b0, b1));
}


/* The kernels q8_vnni.c's table points at. */
size_t mnet_q8_vnni_pw_pack_bytes(int in_c, int out_c);
void mnet_q8_vnni_pw_pack(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                          const int32_t *bias, void *packed, int32_t *packed_bias);
void mnet_q8_vnni_pw_run(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *in,
                         const void *packed, const int32_t *packed_bias, uint8_t *out,
                         int pixel_begin, int pixel_end);
size_t mnet_q8_vnni_dw_pack_bytes(const mnet_conv_geometry *g);
void mnet_q8_vnni_dw_pack(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                          const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                          int32_t *packed_bias);
void mnet_q8_vnni_dw_run(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                         const uint8_t *in, const void *packed, const int32_t *packed_bias,
                         uint8_t *out, int row_begin, int row_end);

#endif

#endif
