/* AVX-512 VNNI uint8 kernels, bit-identical to q8_ref.c.
 *
 * Pointwise: vpdpbusd multiplies unsigned activations by signed weights, so
 * weights are stored as w - 128 (int8). With x the input, zx / zw the zero
 * points and n = in_c:
 *   sum (x - zx)(w - zw) = sum x (w - 128) + (128 - zw) sum x
 *                          - zx sum w + n zx zw
 * The last two terms go into the packed bias; (128 - zw) sum x is added per
 * pixel (sum x by vpsadbw). All integer, so the accumulators are exactly
 * those of the reference, and the vector requantization below reproduces
 * mnet_requant_apply lane by lane.
 *
 * Depthwise: int32 lanes, 16 channels per vector, padded taps skipped as in
 * the reference. Compiled with target attributes and chosen at run time. */
#include "int8/q8_x86.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <string.h>

#define MNET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* --- vector requantization (mnet_requant_apply + zero point + clamp) --- */

typedef struct vrequant {
    __m512i multiplier, left, right_mask, right_half, zero_point, lo, hi;
    int right;
} vrequant;

MNET_VNNI static vrequant vrequant_init(const mnet_q8_conv_params *p) {
    vrequant v;
    int left = p->requant.shift > 0 ? p->requant.shift : 0;
    v.right = p->requant.shift > 0 ? 0 : -p->requant.shift;
    int32_t mask = (int32_t)(((int64_t)1 << v.right) - 1);
    v.multiplier = _mm512_set1_epi32(p->requant.multiplier);
    v.left = _mm512_set1_epi32(left);
    v.right_mask = _mm512_set1_epi32(mask);
    v.right_half = _mm512_set1_epi32(mask >> 1);
    v.zero_point = _mm512_set1_epi32(p->output_zero_point);
    v.lo = _mm512_set1_epi32(p->out_min);
    v.hi = _mm512_set1_epi32(p->out_max);
    return v;
}

/* SaturatingRoundingDoublingHighMul on the even int32 lanes (as int64). */
MNET_VNNI static inline __m512i srdhm_even(__m512i x, __m512i m) {
    __m512i ab = _mm512_mul_epi32(x, m);
    __mmask8 neg = _mm512_cmplt_epi64_mask(ab, _mm512_setzero_si512());
    __m512i nudge = _mm512_mask_blend_epi64(neg, _mm512_set1_epi64((int64_t)1 << 30),
                                            _mm512_set1_epi64(1 - ((int64_t)1 << 30)));
    __m512i t = _mm512_add_epi64(ab, nudge);
    /* division by 2^31 truncating toward zero */
    __mmask8 tneg = _mm512_cmplt_epi64_mask(t, _mm512_setzero_si512());
    t = _mm512_mask_add_epi64(t, tneg, t, _mm512_set1_epi64(((int64_t)1 << 31) - 1));
    return _mm512_srai_epi64(t, 31);
}

MNET_VNNI static inline __m512i requant_u8(__m512i acc, const vrequant *v) {
    __m512i x = _mm512_sllv_epi32(acc, v->left);
    __m512i even = srdhm_even(x, v->multiplier);
    __m512i odd = srdhm_even(_mm512_srli_epi64(x, 32), v->multiplier);
    /* low 32 bits of each 64-bit result: even lanes in place, odd moved up */
    __m512i h = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    __m512i q = h;
    if (v->right > 0) {
        __m512i rem = _mm512_and_si512(h, v->right_mask);
        __mmask16 neg = _mm512_cmplt_epi32_mask(h, _mm512_setzero_si512());
        __m512i threshold = _mm512_mask_add_epi32(v->right_half, neg, v->right_half,
                                                  _mm512_set1_epi32(1));
        q = _mm512_sra_epi32(h, _mm_cvtsi32_si128(v->right));
        __mmask16 up = _mm512_cmpgt_epi32_mask(rem, threshold);
        q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
    }
    q = _mm512_add_epi32(q, v->zero_point);
    return _mm512_min_epi32(_mm512_max_epi32(q, v->lo), v->hi);
}

MNET_VNNI static inline void store_u8(uint8_t *dst, __m512i v, __mmask16 mask) {
    _mm_mask_storeu_epi8(dst, mask, _mm512_cvtepi32_epi8(v));
}

static __mmask16 tail_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/* --- pointwise ---------------------------------------------------------- */

/* Packed layout: per block of 16 output channels, per group of 4 input
 * channels, 64 bytes: [o0: i0 i1 i2 i3][o1: ...]...[o15]; padding 0. */
static int round_up(int v, int m) { return (v + m - 1) / m * m; }

static size_t pw_pack_bytes(int in_c, int out_c) {
    return (size_t)round_up(out_c, 16) * (size_t)round_up(in_c, 4);
}

static void pw_pack(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                    const int32_t *bias, void *packed, int32_t *packed_bias) {
    int in4 = round_up(in_c, 4), outp = round_up(out_c, 16);
    int8_t *dst = packed;
    memset(dst, 0, pw_pack_bytes(in_c, out_c));
    for (int o = 0; o < outp; o++) {
        int64_t wsum = 0;
        for (int i = 0; i < in_c && o < out_c; i++) {
            int w = w_oi[(size_t)o * in_c + i];
            wsum += w;
            size_t at = (size_t)(o / 16) * 16 * in4 + (size_t)(i / 4) * 64 + (o % 16) * 4 + i % 4;
            dst[at] = (int8_t)(w - 128);
        }
        int64_t b = o < out_c ? (int64_t)(bias ? bias[o] : 0) - (int64_t)p->input_zero_point * wsum +
                                    (int64_t)in_c * p->input_zero_point * p->weight_zero_point
                              : 0;
        packed_bias[o] = (int32_t)b; /* the reference accumulates in int32 too */
    }
}

MNET_VNNI static inline __m512i load_group(const uint8_t *x, int i, int in_c) {
    if (i + 4 <= in_c) {
        int32_t d;
        memcpy(&d, x + i, 4);
        return _mm512_set1_epi32(d);
    }
    uint8_t b[4] = {0, 0, 0, 0};
    for (int k = 0; i + k < in_c; k++) b[k] = x[i + k];
    int32_t d;
    memcpy(&d, b, 4);
    return _mm512_set1_epi32(d);
}

MNET_VNNI static int32_t byte_sum(const uint8_t *x, int n) {
    __m512i acc = _mm512_setzero_si512();
    int i = 0;
    for (; i + 64 <= n; i += 64)
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_loadu_si512(x + i), _mm512_setzero_si512()));
    if (i < n) {
        __mmask64 m = n - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(m, x + i),
                                                    _mm512_setzero_si512()));
    }
    return (int32_t)_mm512_reduce_add_epi64(acc);
}

/* 4 pixels x 64 output channels: 16 accumulators held in registers (only
 * constant indices, so the compiler keeps them out of memory). */
MNET_VNNI static inline void pw_tile_4x64(const uint8_t *const *x, int in_c, int in4,
                                          const int8_t *wb, const int32_t *pbias,
                                          const int32_t *sums, const vrequant *vr,
                                          int32_t sum_scale, uint8_t *const *dst, int out_rem) {
    __m512i acc[4][4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m512i corr = _mm512_set1_epi32(sum_scale * sums[k]);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            acc[k][j] = _mm512_add_epi32(_mm512_loadu_si512(pbias + j * 16), corr);
    }
    size_t stride = (size_t)16 * in4;
    for (int i = 0; i < in4; i += 4) {
        __m512i w0 = _mm512_loadu_si512(wb + (size_t)i * 16);
        __m512i w1 = _mm512_loadu_si512(wb + stride + (size_t)i * 16);
        __m512i w2 = _mm512_loadu_si512(wb + 2 * stride + (size_t)i * 16);
        __m512i w3 = _mm512_loadu_si512(wb + 3 * stride + (size_t)i * 16);
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m512i xv = load_group(x[k], i, in_c);
            acc[k][0] = _mm512_dpbusd_epi32(acc[k][0], xv, w0);
            acc[k][1] = _mm512_dpbusd_epi32(acc[k][1], xv, w1);
            acc[k][2] = _mm512_dpbusd_epi32(acc[k][2], xv, w2);
            acc[k][3] = _mm512_dpbusd_epi32(acc[k][3], xv, w3);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            store_u8(dst[k] + j * 16, requant_u8(acc[k][j], vr), tail_mask(out_rem - j * 16));
}

/* 1 pixel x 16 output channels: the tails. */
MNET_VNNI static inline void pw_tile_1x16(const uint8_t *x, int in_c, int in4, const int8_t *wb,
                                          const int32_t *pbias, int32_t sum, const vrequant *vr,
                                          int32_t sum_scale, uint8_t *dst, int out_rem) {
    __m512i acc = _mm512_add_epi32(_mm512_loadu_si512(pbias), _mm512_set1_epi32(sum_scale * sum));
    for (int i = 0; i < in4; i += 4)
        acc = _mm512_dpbusd_epi32(acc, load_group(x, i, in_c), _mm512_loadu_si512(wb + (size_t)i * 16));
    store_u8(dst, requant_u8(acc, vr), tail_mask(out_rem));
}

MNET_VNNI static void pw_run(int in_c, int out_c, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int pixel_begin, int pixel_end) {
    const int8_t *wp = packed;
    int in4 = round_up(in_c, 4), blocks = round_up(out_c, 16) / 16;
    vrequant vr = vrequant_init(p);
    int32_t sum_scale = 128 - p->weight_zero_point;
    int px = pixel_begin;
    for (; px + 4 <= pixel_end; px += 4) {
        const uint8_t *x[4];
        uint8_t *dst[4];
        int32_t sums[4];
        for (int k = 0; k < 4; k++) {
            x[k] = in + (size_t)(px + k) * in_c;
            sums[k] = byte_sum(x[k], in_c);
        }
        int b = 0;
        for (; b + 4 <= blocks; b += 4) {
            for (int k = 0; k < 4; k++) dst[k] = out + (size_t)(px + k) * out_c + b * 16;
            pw_tile_4x64(x, in_c, in4, wp + (size_t)b * 16 * in4, packed_bias + b * 16, sums, &vr,
                         sum_scale, dst, out_c - b * 16);
        }
        for (; b < blocks; b++)
            for (int k = 0; k < 4; k++)
                pw_tile_1x16(x[k], in_c, in4, wp + (size_t)b * 16 * in4, packed_bias + b * 16,
                             sums[k], &vr, sum_scale, out + (size_t)(px + k) * out_c + b * 16,
                             out_c - b * 16);
    }
    for (; px < pixel_end; px++) {
        const uint8_t *x = in + (size_t)px * in_c;
        int32_t sum = byte_sum(x, in_c);
        for (int b = 0; b < blocks; b++)
            pw_tile_1x16(x, in_c, in4, wp + (size_t)b * 16 * in4, packed_bias + b * 16, sum, &vr,
                         sum_scale, out + (size_t)px * out_c + b * 16, out_c - b * 16);
    }
}

/* --- depthwise ---------------------------------------------------------- */

/* Packed: per tap, the channels' (w - zw) as int32, channels padded to 16. */
static size_t dw_pack_bytes(const mnet_conv_geometry *g) {
    return (size_t)g->kernel_h * g->kernel_w * round_up(g->out_c, 16) * sizeof(int32_t);
}

static void dw_pack(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                    const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                    int32_t *packed_bias) {
    int cp = round_up(g->out_c, 16), taps = g->kernel_h * g->kernel_w;
    int32_t *dst = packed;
    memset(dst, 0, dw_pack_bytes(g));
    for (int c = 0; c < g->out_c; c++)
        for (int t = 0; t < taps; t++)
            dst[(size_t)t * cp + c] = (int32_t)w_ohwi[(size_t)c * taps + t] - p->weight_zero_point;
    for (int c = 0; c < cp; c++) packed_bias[c] = c < g->out_c && bias ? bias[c] : 0;
}

MNET_VNNI static void dw_run(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int row_begin, int row_end) {
    const int32_t *wp = packed;
    int cp = round_up(g->out_c, 16), c = g->in_c;
    vrequant vr = vrequant_init(p);
    __m512i zx = _mm512_set1_epi32(p->input_zero_point);
    for (int oy = row_begin; oy < row_end; oy++)
        for (int ox = 0; ox < g->out_w; ox++) {
            uint8_t *dst = out + ((size_t)oy * g->out_w + ox) * c;
            for (int c0 = 0; c0 < c; c0 += 16) {
                __mmask16 m = tail_mask(c - c0);
                __m512i acc = _mm512_loadu_si512(packed_bias + c0);
                for (int ky = 0; ky < g->kernel_h; ky++) {
                    int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (int kx = 0; kx < g->kernel_w; kx++) {
                        int ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                        if (ix < 0 || ix >= g->in_w) continue;
                        const uint8_t *src = in + ((size_t)iy * g->in_w + ix) * c + c0;
                        __m512i xv = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, src));
                        __m512i w = _mm512_loadu_si512(wp + (size_t)(ky * g->kernel_w + kx) * cp + c0);
                        acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_sub_epi32(xv, zx), w));
                    }
                }
                store_u8(dst + c0, requant_u8(acc, &vr), m);
            }
        }
}

const mnet_q8_kernels mnet_q8_kernels_avx512vnni = {
    "avx512vnni", pw_pack_bytes, pw_pack, pw_run, dw_pack_bytes, dw_pack, dw_run,
};

#else

const mnet_q8_kernels mnet_q8_kernels_avx512vnni = {"avx512vnni", NULL, NULL, NULL,
                                                     NULL, NULL, NULL};

#endif
