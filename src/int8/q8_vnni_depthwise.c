/* AVX-512 VNNI depthwise convolution (any kernel, stride, dilation); the
 * arithmetic and layouts are in q8_vnni_common.h. 3x3 kernels run by rows
 * (at stride 1 two at a time): the vertical quads of
 * q8_vnni_depthwise_quad.c, and, with a weight zero point, the tap pairs of
 * dw_row3x3 for the full 64-blocks that need the quads' K sums
 * (dw_use_quads; since the quads' residual weights, only blocks with a
 * w - zw of 255 or extremes in more than 3 vector-column entries). */
#include "int8/q8_vnni_common.h"
#include "int8/q8_vnni_depthwise_quad.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

/* Weights: per block of up to 64 positions (nv vectors), per tap pair,
 * nv vectors of 16 int32 lanes = int16 (w_a - zw, w_b - zw); the second
 * tap of an odd last pair is 0. */
static int dw_pairs(const mnet_conv_geometry *g) { return (g->kernel_h * g->kernel_w + 1) / 2; }

/* 16 or 32 channels: several output pixels share one 64-lane block (their
 * bytes are adjacent in the output), with the channels' weights repeated:
 * this many pixels per block, or 1. */
static int dw_pixels_per_block(const mnet_conv_geometry *g) {
    int taps = g->kernel_h * g->kernel_w;
    return (g->out_c == 16 || g->out_c == 32) && taps <= 64 ? BLOCK / g->out_c : 1;
}

/* Packed positions: channels rounded up to 16, or one 64-block. */
static int dw_padded(const mnet_conv_geometry *g) {
    return dw_pixels_per_block(g) > 1 ? BLOCK : round_up(g->out_c, 16);
}

/* 3x3 without dilation, stride 1 or 2, 64 channels or more: the full
 * 64-blocks can run the tap-pair row kernel (dw_row3x3), which needs its own
 * weight pairs; the channels after them run dw_row3x3_tail or the quads. */
static int dw_row3x3_ok(const mnet_conv_geometry *g) {
    return g->kernel_h == 3 && g->kernel_w == 3 && g->dilation_h == 1 && g->dilation_w == 1 &&
           g->stride_h == g->stride_w && g->stride_w <= 2 && g->out_c >= BLOCK;
}

/* The positions the row kernel covers: the full 64-blocks. */
static int dw_row3x3_positions(const mnet_conv_geometry *g) {
    return g->out_c / BLOCK * BLOCK;
}

/* Weight pair sets of the row kernel, per full 64-block (4 vectors each). */
enum { DW_ROW_SETS = 5 };

static size_t dw_pair_bytes(const mnet_conv_geometry *g) {
    return (size_t)dw_pairs(g) * dw_padded(g) * 4;
}

/* Channels after the last full 64-block, more than 16 of them (32 at
 * stride 2): with a weight zero point (dw_use_quads) the row kernel runs
 * them as one more 64-block, the LAST 64 channels (overlapping the previous
 * block, whose outputs it rewrites with the same values), with its own
 * weight sets (after the full blocks'), bias and table: measured faster
 * than their quads with K sums (32 channels at stride 1: ~8 %). Fewer run
 * the quads: at stride 2 their 32-block (2 K sums per output) measured
 * 4-7 % faster than the 64-block (96, 160 channels). Exactly 16 or 32 run
 * the quads' pixel tail (mnet_q8_vnni_dwq_ptail: 2 or 4 pixels per block;
 * 12-35 % faster for the whole layer). */
static int dw_row3x3_tail(const mnet_conv_geometry *g) {
    return dw_row3x3_ok(g) && g->out_c % BLOCK > (g->stride_w == 2 ? 32 : 16) &&
           !mnet_q8_vnni_dwq_ptail(g);
}

static size_t dw_row_bytes(const mnet_conv_geometry *g) {
    if (!dw_row3x3_ok(g)) return 0;
    return (size_t)(dw_row3x3_positions(g) + (dw_row3x3_tail(g) ? BLOCK : 0)) * DW_ROW_SETS * 4;
}

/* The tail block's bias (BLOCK int32) and requantization table. */
static size_t dw_tail_bytes(const mnet_conv_geometry *g) {
    return dw_row3x3_tail(g) ? BLOCK * 4 + mnet_q8_rqtable_bytes(BLOCK) : 0;
}

static size_t dw_weight_bytes(const mnet_conv_geometry *g) {
    return dw_pair_bytes(g) + dw_row_bytes(g) + dw_tail_bytes(g) + mnet_q8_vnni_dwq_bytes(g);
}

/* The quad kernel's weights (q8_vnni_depthwise_quad.c), after the others. */
static size_t dw_quad_offset(const mnet_conv_geometry *g) {
    return dw_pair_bytes(g) + dw_row_bytes(g) + dw_tail_bytes(g);
}

/* The row kernel's 5 weight pair sets of channel weights wc (3x3) at
 * position start + 16 v + l of its 64-block at start. */
static void dw_row_sets(const mnet_conv_geometry *g, int16_t *row, int start, int v, int l,
                        const uint8_t *wc, int wz) {
    int sets[DW_ROW_SETS][2] = {{wc[0] - wz, wc[3] - wz}, {wc[1] - wz, wc[4] - wz},
                                {wc[2] - wz, wc[5] - wz}, {wc[6] - wz, wc[7] - wz},
                                {0, wc[8] - wz}};
    if (g->stride_w == 2) sets[4][0] = wc[8] - wz, sets[4][1] = 0;
    for (int s = 0; s < DW_ROW_SETS; s++)
        for (int h = 0; h < 2; h++)
            row[((size_t)start * DW_ROW_SETS + ((size_t)s * 4 + v) * 16 + l) * 2 + h] =
                (int16_t)sets[s][h];
}

/* Bias with the padded taps' -zx * sum (w - zw) folded in (padded taps read
 * zx, so every pixel's sum holds it). */
static int32_t dw_bias(const mnet_q8_conv_params *p, const uint8_t *w_ohwi, const int32_t *bias,
                       int ch, int taps) {
    int64_t wsum = 0;
    for (int t = 0; t < taps; t++) wsum += (int)w_ohwi[(size_t)ch * taps + t] - p->weight_zero_point;
    int64_t b = (int64_t)(bias ? bias[ch] : 0) - (int64_t)p->input_zero_point * wsum;
    return (int32_t)(uint32_t)(uint64_t)b;
}

size_t mnet_q8_vnni_dw_pack_bytes(const mnet_conv_geometry *g) {
    return HEADER_BYTES + dw_weight_bytes(g) + mnet_q8_rqtable_bytes(dw_padded(g));
}

void mnet_q8_vnni_dw_pack(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                    const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                    int32_t *packed_bias) {
    int c = g->out_c, taps = g->kernel_h * g->kernel_w, pairs = dw_pairs(g);
    int ppb = dw_pixels_per_block(g), cp = dw_padded(g);
    memset(packed, 0, mnet_q8_vnni_dw_pack_bytes(g));
    int16_t *dst = (int16_t *)((uint8_t *)packed + HEADER_BYTES);
    int32_t *table = (int32_t *)((uint8_t *)dst + dw_weight_bytes(g));
    int32_t any_short = fill_table(table, cp, c, p);
    if (ppb > 1) /* the block's positions hold channel pos_channel(pos, 64) % c */
        for (int pos = 0; pos < BLOCK; pos++)
            mnet_q8_rqtable_set(table, cp, pos, mnet_q8_channel_requant(p, pos_channel(pos, BLOCK) % c));
    memcpy(packed, &any_short, sizeof any_short);
    int full = ppb > 1 ? BLOCK : c / BLOCK * BLOCK, tail32 = tail32_vectors(c) * 16;
    for (int pos = 0; pos < cp; pos++) {
        int ch = ppb > 1 ? pos_channel(pos, BLOCK) % c : pos_channel(pos, c);
        /* the sub-block of pos: a 64-block, a 32-block or the last 16 */
        int start = pos < full ? pos / BLOCK * BLOCK
                    : pos - full < tail32 ? full + (pos - full) / 32 * 32 : pos / 16 * 16;
        int nv = pos < full ? 4 : pos - full < tail32 ? 2 : 1;
        int v = (pos - start) / 16, l = pos % 16;
        if (dw_row3x3_ok(g) && pos < full) /* the row kernel's pair sets */
            dw_row_sets(g, (int16_t *)((uint8_t *)dst + dw_pair_bytes(g)), start, v, l,
                        w_ohwi + (size_t)ch * 9, p->weight_zero_point);
        for (int t = 0; t < taps && ch < c; t++) {
            int w = (int)w_ohwi[(size_t)ch * taps + t] - p->weight_zero_point;
            size_t lane = (size_t)start * pairs + ((size_t)(t / 2) * nv + v) * 16 + l;
            dst[lane * 2 + t % 2] = (int16_t)w;
        }
        packed_bias[pos] = ch < c ? dw_bias(p, w_ohwi, bias, ch, taps) : 0;
    }
    if (mnet_q8_vnni_dwq_ok(g))
        mnet_q8_vnni_dwq_pack(g, w_ohwi, p->weight_zero_point,
                              (int32_t *)((uint8_t *)dst + dw_quad_offset(g)));
    if (mnet_q8_vnni_dwq_masked(g)) { /* the quads' one 64-block: bias, table in lane order */
        int32_t *mb = (int32_t *)((uint8_t *)dst + dw_quad_offset(g) +
                                  mnet_q8_vnni_dwq_masked_offset(g));
        for (int pos = 0; pos < BLOCK; pos++) {
            int ch = pos_channel(pos, BLOCK);
            mb[pos] = ch < c ? dw_bias(p, w_ohwi, bias, ch, taps) : 0;
            mnet_q8_rqtable_set(mb + BLOCK, BLOCK, pos,
                                ch < c ? mnet_q8_channel_requant(p, ch)
                                : p->channel_requant ? mnet_q8_rqtable_pad() : p->requant);
        }
    }
    if (mnet_q8_vnni_dwq_ptail(g)) { /* the quads' pixel tail: bias, table */
        int32_t *tb = (int32_t *)((uint8_t *)dst + dw_quad_offset(g) +
                                  mnet_q8_vnni_dwq_ptail_bias_offset(g));
        for (int pos = 0; pos < BLOCK; pos++) {
            int ch = mnet_q8_vnni_dwq_ptail_channel(g, pos);
            tb[pos] = dw_bias(p, w_ohwi, bias, ch, taps);
            mnet_q8_rqtable_set(tb + BLOCK, BLOCK, pos, mnet_q8_channel_requant(p, ch));
        }
    }
    if (dw_row3x3_tail(g)) { /* the last 64 channels as one more 64-block */
        int16_t *row = (int16_t *)((uint8_t *)dst + dw_pair_bytes(g));
        int32_t *tail_bias = (int32_t *)((uint8_t *)dst + dw_pair_bytes(g) + dw_row_bytes(g));
        for (int pos = 0; pos < BLOCK; pos++) {
            int ch = c - BLOCK + pos_channel(pos, BLOCK);
            dw_row_sets(g, row, full, pos / 16, pos % 16, w_ohwi + (size_t)ch * 9,
                        p->weight_zero_point);
            tail_bias[pos] = dw_bias(p, w_ohwi, bias, ch, taps);
            mnet_q8_rqtable_set(tail_bias + BLOCK, BLOCK, pos, mnet_q8_channel_requant(p, ch));
        }
    }
}

/* Input pointer of tap t of output pixel (oy, ox), or NULL in the padding. */
static inline const uint8_t *tap_ptr(const mnet_conv_geometry *g, const uint8_t *in, int oy,
                                     int ox, int ky, int kx) {
    int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
    int ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
    if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) return NULL;
    return in + ((size_t)iy * g->in_w + ix) * g->in_c;
}

/* vpdpwssd accumulating in place (see DPBUSD in q8_vnni_pointwise.c) */
#define DPWSSD(acc, x, w) __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w))

/* Tap pointers are gathered per output pixel in chunks of DW_CHUNK taps
 * (even, so that pairs never straddle chunks). */
enum { DW_CHUNK = 64 };

typedef struct dw_ctx {
    const mnet_conv_geometry *g;
    const uint8_t *in;
    const int16_t *wp;
    const int32_t *bias;
    rq_ctx rq;
    __m512i zx8;
    int pairs;
} dw_ctx;

/* One 64-block of one output pixel: taps [0, taps) from tp (NULL = the
 * zero point), accumulated onto *acc (4 vectors). Two taps' bytes are
 * interleaved and widened to int16 pairs by per-lane unpacks, which give
 * the lane order directly. */
INLINE_VNNI void dw_acc64(const uint8_t *const *tp, int taps, int c0, const dw_u512 *w,
                          __m512i zx8, __m512i *acc) {
    __m512i a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    __m512i zero = _mm512_setzero_si512();
    int t = 0;
    for (; t + 1 < taps; t += 2, w += 4) {
        __m512i a = tp[t] ? _mm512_loadu_si512(tp[t] + c0) : zx8;
        __m512i b = tp[t + 1] ? _mm512_loadu_si512(tp[t + 1] + c0) : zx8;
        __m512i lo = _mm512_unpacklo_epi8(a, b), hi = _mm512_unpackhi_epi8(a, b);
        DPWSSD(a0, _mm512_unpacklo_epi8(lo, zero), w[0]);
        DPWSSD(a1, _mm512_unpackhi_epi8(lo, zero), w[1]);
        DPWSSD(a2, _mm512_unpacklo_epi8(hi, zero), w[2]);
        DPWSSD(a3, _mm512_unpackhi_epi8(hi, zero), w[3]);
    }
    if (t < taps) { /* odd last tap: pairs (x, 0) */
        __m512i a = tp[t] ? _mm512_loadu_si512(tp[t] + c0) : zx8;
        __m512i lo = _mm512_unpacklo_epi8(a, zero), hi = _mm512_unpackhi_epi8(a, zero);
        DPWSSD(a0, _mm512_unpacklo_epi16(lo, zero), w[0]);
        DPWSSD(a1, _mm512_unpackhi_epi16(lo, zero), w[1]);
        DPWSSD(a2, _mm512_unpacklo_epi16(hi, zero), w[2]);
        DPWSSD(a3, _mm512_unpackhi_epi16(hi, zero), w[3]);
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* A 32-block of the tail (n channels valid): 256-bit unpacks widened to
 * 512 bits give the 32-block order of pos_channel. */
INLINE_VNNI void dw_acc32(const uint8_t *const *tp, int taps, int c0, const dw_u512 *w,
                          __m512i zx8, int n, __m512i *acc) {
    __m512i a0 = acc[0], a1 = acc[1];
    __mmask32 m = n >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << n) - 1);
    __m256i z8 = _mm512_castsi512_si256(zx8), zero = _mm256_setzero_si256();
    for (int t = 0; t < taps; t += 2, w += 2) {
        __m256i a = tp[t] ? _mm256_maskz_loadu_epi8(m, tp[t] + c0) : z8;
        __m256i b = t + 1 >= taps ? zero : tp[t + 1] ? _mm256_maskz_loadu_epi8(m, tp[t + 1] + c0) : z8;
        DPWSSD(a0, _mm512_cvtepu8_epi16(_mm256_unpacklo_epi8(a, b)), w[0]);
        DPWSSD(a1, _mm512_cvtepu8_epi16(_mm256_unpackhi_epi8(a, b)), w[1]);
    }
    acc[0] = a0, acc[1] = a1;
}

/* The last channel-ordered vector of 16 (n valid). */
INLINE_VNNI void dw_acc16(const uint8_t *const *tp, int taps, int c0, const dw_u512 *w,
                          __m512i zx8, int n, __m512i *acc) {
    __m512i a0 = acc[0];
    __mmask16 m = tail_mask(n);
    __m128i z8 = _mm512_castsi512_si128(zx8), zero = _mm_setzero_si128();
    for (int t = 0; t < taps; t += 2, w += 1) {
        __m128i a = tp[t] ? _mm_maskz_loadu_epi8(m, tp[t] + c0) : z8;
        __m128i b = t + 1 >= taps ? zero : tp[t + 1] ? _mm_maskz_loadu_epi8(m, tp[t + 1] + c0) : z8;
        __m256i ab = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(a, b)),
                                             _mm_unpackhi_epi8(a, b), 1);
        DPWSSD(a0, _mm512_cvtepu8_epi16(ab), w[0]);
    }
    acc[0] = a0;
}

/* Taps [0, taps) of one output pixel for all channel blocks, accumulated
 * onto acc (per block, its vectors at acc + pos / 16). */
INLINE_VNNI void dw_taps(const dw_ctx *d, const uint8_t *const *tp, int taps, int pair0,
                         __m512i *acc) {
    int c = d->g->out_c, cp = round_up(c, 16), full = c / BLOCK * BLOCK;
    int block = 0;
    for (; block < full; block += BLOCK) {
        const dw_u512 *w = (const dw_u512 *)(const void *)(d->wp + (size_t)block * d->pairs * 2) +
                           (size_t)pair0 * 4;
        dw_acc64(tp, taps, block, w, d->zx8, acc + block / 16);
    }
    for (; block + 32 <= cp; block += 32) {
        const dw_u512 *w = (const dw_u512 *)(const void *)(d->wp + (size_t)block * d->pairs * 2) +
                           (size_t)pair0 * 2;
        dw_acc32(tp, taps, block, w, d->zx8, c - block, acc + block / 16);
    }
    if (block < cp) {
        const dw_u512 *w = (const dw_u512 *)(const void *)(d->wp + (size_t)block * d->pairs * 2) +
                           pair0;
        dw_acc16(tp, taps, block, w, d->zx8, c - block, acc + block / 16);
    }
}

MNET_VNNI static void dw_store(const dw_ctx *d, const __m512i *acc, uint8_t *dst) {
    int c = d->g->out_c, cp = round_up(c, 16), full = c / BLOCK * BLOCK;
    int block = 0;
    for (; block < full; block += BLOCK) {
        const __m512i *a = acc + block / 16;
        store_block64(dst + block, a[0], a[1], a[2], a[3], &d->rq, block);
    }
    for (; block + 32 <= cp; block += 32)
        store_block32(dst + block, acc[block / 16], acc[block / 16 + 1], &d->rq, block, c - block);
    if (block < cp) store_vec16(dst + block, acc[block / 16], &d->rq, block, c - block);
}

/* Channels per pass over a pixel's taps: the accumulators of this many
 * channels live in a stack array between the taps and the store. */
enum { DW_PASS = 256 };

/* Any kernel size: taps in chunks, channels in passes, accumulators in a
 * stack array. */
MNET_VNNI static void dw_run_general(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                     const uint8_t *in, const void *packed,
                                     const int32_t *packed_bias, uint8_t *out, int row_begin,
                                     int row_end) {
    const int16_t *wp = (const int16_t *)((const uint8_t *)packed + HEADER_BYTES);
    int c = g->out_c, cp = round_up(c, 16);
    int taps = g->kernel_h * g->kernel_w;
    dw_ctx d = {g, in, wp, packed_bias,
                {(const int32_t *)((const uint8_t *)wp + dw_weight_bytes(g)), cp,
                 read_any_short(packed), !p->channel_requant, p->output_zero_point, p->out_min,
                 p->out_max},
                _mm512_set1_epi8((char)p->input_zero_point), dw_pairs(g)};
    const uint8_t *tp[DW_CHUNK];
    __m512i acc[DW_PASS / 16];
    for (int oy = row_begin; oy < row_end; oy++)
        for (int ox = 0; ox < g->out_w; ox++) {
            uint8_t *dst = out + ((size_t)oy * g->out_w + ox) * c;
            /* channel passes of DW_PASS (a multiple of 64): each a sub-view
             * of the channels with its own full/tail split */
            for (int c0 = 0; c0 < cp; c0 += DW_PASS) {
                int cn = c - c0 < DW_PASS ? c - c0 : DW_PASS;
                mnet_conv_geometry sub = *g;
                sub.out_c = cn;
                dw_ctx ds = d;
                ds.g = &sub;
                ds.wp = wp + (size_t)c0 * d.pairs * 2;
                ds.bias = packed_bias + c0;
                ds.rq.table = d.rq.table + c0;
                int np = round_up(cn, 16) / 16;
                for (int v = 0; v < np; v++) acc[v] = _mm512_loadu_si512(ds.bias + v * 16);
                for (int t0 = 0; t0 < taps; t0 += DW_CHUNK) {
                    int n = taps - t0 < DW_CHUNK ? taps - t0 : DW_CHUNK;
                    for (int t = 0; t < n; t++)
                        tp[t] = tap_ptr(g, in, oy, ox, (t0 + t) / g->kernel_w,
                                        (t0 + t) % g->kernel_w);
                    if (c0 > 0)
                        for (int t = 0; t < n; t++)
                            if (tp[t]) tp[t] += c0;
                    dw_taps(&ds, tp, n, t0 / 2, acc);
                }
                dw_store(&ds, acc, dst + c0);
            }
        }
}
/* The input rows of output row oy's taps (NULL: padding rows). */
static inline void dw_row_bases(const mnet_conv_geometry *g, const uint8_t *in, int oy,
                                const uint8_t **rows) {
    for (int ky = 0; ky < g->kernel_h; ky++) {
        int iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
        rows[ky] = iy >= 0 && iy < g->in_h ? in + (size_t)iy * g->in_w * g->in_c : NULL;
    }
}

/* The tap pointers of output pixel ox (NULL: padding). */
static inline void dw_pixel_taps(const mnet_conv_geometry *g, const uint8_t *const *rows, int ox,
                                 const uint8_t **tp) {
    int ix0 = ox * g->stride_w - g->pad_left;
    for (int ky = 0, t = 0; ky < g->kernel_h; ky++)
        for (int kx = 0; kx < g->kernel_w; kx++, t++) {
            int ix = ix0 + kx * g->dilation_w;
            tp[t] = rows[ky] && ix >= 0 && ix < g->in_w ? rows[ky] + (size_t)ix * g->in_c : NULL;
        }
}

/* Two taps' 64-byte vectors (one channel each per byte) onto the four
 * lane-ordered accumulators. */
#define DW_PAIR(va, vb, w)                                                        \
    {                                                                             \
        __m512i lo_ = _mm512_unpacklo_epi8(va, vb), hi_ = _mm512_unpackhi_epi8(va, vb); \
        DPWSSD(a0, _mm512_unpacklo_epi8(lo_, zero), (w)[0]);                     \
        DPWSSD(a1, _mm512_unpackhi_epi8(lo_, zero), (w)[1]);                     \
        DPWSSD(a2, _mm512_unpacklo_epi8(hi_, zero), (w)[2]);                     \
        DPWSSD(a3, _mm512_unpackhi_epi8(hi_, zero), (w)[3]);                     \
    }

MNET_VNNI __attribute__((noinline)) static void dw_row3x3(
    const mnet_conv_geometry *g, const uint8_t *const *rows, int block, const dw_u512 *w,
    const int32_t *bias, const rq_ctx *rq, const rq_vec *ru, __m512i zx8, uint8_t *out);

/* 16 or 32 channels (dw_pixels_per_block): ppb output pixels per 64-lane
 * block. A tap's vector is one 64-byte load when the pixels' taps are
 * adjacent and inside (stride 1), else assembled from per-pixel pieces. */
MNET_VNNI static void dw_run_grouped(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                     const uint8_t *in, const void *packed,
                                     const int32_t *packed_bias, uint8_t *out, int row_begin,
                                     int row_end) {
    const dw_u512 *wp = (const dw_u512 *)(const void *)((const uint8_t *)packed + HEADER_BYTES);
    int c = g->out_c, ppb = BLOCK / c, taps = g->kernel_h * g->kernel_w;
    rq_ctx rq = {(const int32_t *)((const uint8_t *)wp + dw_weight_bytes(g)), BLOCK,
                 read_any_short(packed), !p->channel_requant, p->output_zero_point, p->out_min,
                 p->out_max};
    __m512i zx8 = _mm512_set1_epi8((char)p->input_zero_point), zero = _mm512_setzero_si512();
    __m256i zx32 = _mm512_castsi512_si256(zx8);
    __m128i zx16 = _mm512_castsi512_si128(zx8);
    __m512i b0 = _mm512_loadu_si512(packed_bias), b1 = _mm512_loadu_si512(packed_bias + 16);
    __m512i b2 = _mm512_loadu_si512(packed_bias + 32), b3 = _mm512_loadu_si512(packed_bias + 48);
    int span = (g->kernel_w - 1) * g->dilation_w;
    int ox_lo = (g->pad_left + g->stride_w - 1) / g->stride_w;
    int ox_hi = g->in_w - 1 - span + g->pad_left >= 0
                    ? (g->in_w - 1 - span + g->pad_left) / g->stride_w + 1 : 0;
    const uint8_t *tp[4][DW_CHUNK];
    __m512i tv[DW_CHUNK + 1];
    const uint8_t *rows[DW_CHUNK];
    for (int oy = row_begin; oy < row_end; oy++) {
        dw_row_bases(g, in, oy, rows);
        for (int ox0 = 0; ox0 < g->out_w; ox0 += ppb) {
            int n = g->out_w - ox0 < ppb ? g->out_w - ox0 : ppb;
            int inside = n == ppb && ox0 >= ox_lo && ox0 + ppb - 1 < ox_hi;
            int adjacent = inside && g->stride_w == 1; /* the pixels' taps: one 64-byte load */
            int gathered = adjacent ? 1 : n;
            for (int j = 0; j < gathered; j++) dw_pixel_taps(g, rows, ox0 + j, tp[j]);
            if (adjacent) {
                __m512i acc[4] = {b0, b1, b2, b3};
                dw_acc64(tp[0], taps, 0, wp, zx8, acc);
                store_block64(out + ((size_t)oy * g->out_w + ox0) * c, acc[0], acc[1], acc[2],
                              acc[3], &rq, 0);
                continue;
            }
            for (int t = 0; t < taps; t++) {
                if (c == 32) {
                    __m256i q0 = tp[0][t] ? _mm256_loadu_si256((const __m256i *)tp[0][t]) : zx32;
                    __m256i q1 = n > 1 && tp[1][t] ? _mm256_loadu_si256((const __m256i *)tp[1][t]) : zx32;
                    tv[t] = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
                } else {
                    __m128i q[4];
                    for (int j = 0; j < 4; j++)
                        q[j] = j < n && tp[j][t] ? _mm_loadu_si128((const __m128i *)tp[j][t]) : zx16;
                    __m512i v = _mm512_castsi128_si512(q[0]);
                    v = _mm512_inserti32x4(v, q[1], 1);
                    v = _mm512_inserti32x4(v, q[2], 2);
                    tv[t] = _mm512_inserti32x4(v, q[3], 3);
                }
            }
            tv[taps] = zero;
            __m512i a0 = b0, a1 = b1, a2 = b2, a3 = b3;
            const dw_u512 *w = wp;
            int t = 0;
            for (; t + 1 < taps; t += 2, w += 4) DW_PAIR(tv[t], tv[t + 1], w)
            if (t < taps) { /* odd last tap: pairs (x, 0) */
                __m512i lo = _mm512_unpacklo_epi8(tv[t], zero), hi = _mm512_unpackhi_epi8(tv[t], zero);
                DPWSSD(a0, _mm512_unpacklo_epi16(lo, zero), w[0]);
                DPWSSD(a1, _mm512_unpackhi_epi16(lo, zero), w[1]);
                DPWSSD(a2, _mm512_unpacklo_epi16(hi, zero), w[2]);
                DPWSSD(a3, _mm512_unpackhi_epi16(hi, zero), w[3]);
            }
            uint8_t *dst = out + ((size_t)oy * g->out_w + ox0) * c;
            if (n == ppb) {
                store_block64(dst, a0, a1, a2, a3, &rq, 0);
            } else {
                uint8_t tmp[BLOCK];
                store_block64(tmp, a0, a1, a2, a3, &rq, 0);
                memcpy(dst, tmp, (size_t)n * c);
            }
        }
    }
}
#undef DW_PAIR

/* Two 64-byte vectors (a, b) -> the four lane-ordered int16 pair vectors
 * (a_c, b_c) that vpdpwssd takes. */
#define DW_WIDEN(a, b, o)                                                         \
    {                                                                             \
        __m512i lo_ = _mm512_unpacklo_epi8(a, b), hi_ = _mm512_unpackhi_epi8(a, b); \
        o[0] = _mm512_unpacklo_epi8(lo_, zero);                                   \
        o[1] = _mm512_unpackhi_epi8(lo_, zero);                                   \
        o[2] = _mm512_unpacklo_epi8(hi_, zero);                                   \
        o[3] = _mm512_unpackhi_epi8(hi_, zero);                                   \
    }

/* The input's 64 bytes at column ix of an input row (NULL or outside: the
 * zero point). */
INLINE_VNNI __m512i dw_col(const uint8_t *row, int ix, int in_w, size_t c, __m512i zx8) {
    if (!row) return zx8;
    return ix >= 0 && ix < in_w ? _mm512_loadu_si512(row + (size_t)ix * c) : zx8;
}

/* 3x3, one full 64-block of one output row (dw_row3x3_ok): the channels
 * from byte offset block of every pixel; w, bias and rq->table start at the
 * block's own position. Each input
 * column is widened once and reused by every output it feeds: rows 0 and 1
 * as vertical pairs V(x) = (r0[x], r1[x]), row 2 as horizontal pairs
 * H(x) = (r2[x], r2[x + 1]). The output at input column x (x = ox * stride
 * - pad) is
 *   V(x) w(0,0|1,0) + V(x+1) w(0,1|1,1) + V(x+2) w(0,2|1,2) + H(x) w(2,0|2,1)
 * plus, advancing 1 column per step, H(x+1) w(0|2,2) (V(x+1), V(x+2),
 * H(x+1) are the next output's), or, advancing 2, H(x+2) w(2,2|0) (V(x+2),
 * H(x+2) are the next output's). Per 64 outputs: 20 vpdpwssd and 12 or 18
 * unpacks (the per-pixel pairing: 30). Not inlined: inlined into its one
 * caller, GCC's code for it measured 5-10 % slower. */
MNET_VNNI __attribute__((noinline)) static void dw_row3x3(
    const mnet_conv_geometry *g, const uint8_t *const *rows, int block, const dw_u512 *w,
    const int32_t *bias, const rq_ctx *rq, const rq_vec *ru, __m512i zx8, uint8_t *out) {
    size_t c = (size_t)g->out_c;
    int in_w = g->in_w, x0 = -g->pad_left;
    const uint8_t *r0 = rows[0] ? rows[0] + block : NULL, *r1 = rows[1] ? rows[1] + block : NULL;
    const uint8_t *r2 = rows[2] ? rows[2] + block : NULL;
    __m512i zero = _mm512_setzero_si512();
    __m512i b0 = _mm512_loadu_si512(bias), b1 = _mm512_loadu_si512(bias + 16);
    __m512i b2 = _mm512_loadu_si512(bias + 32), b3 = _mm512_loadu_si512(bias + 48);
    __m512i v0[4], v1[4], v2[4], h0[4], h1[4];
    /* row 2's products go into a second chain, added at the end: shorter
     * dependency chains (measured ~3 % faster) */
#define DW_OUT(hn)                                                                  \
    __m512i a0 = b0, a1 = b1, a2 = b2, a3 = b3;                                     \
    DPWSSD(a0, v0[0], w[0]); DPWSSD(a1, v0[1], w[1]);                               \
    DPWSSD(a2, v0[2], w[2]); DPWSSD(a3, v0[3], w[3]);                               \
    DPWSSD(a0, v1[0], w[4]); DPWSSD(a1, v1[1], w[5]);                               \
    DPWSSD(a2, v1[2], w[6]); DPWSSD(a3, v1[3], w[7]);                               \
    DPWSSD(a0, v2[0], w[8]); DPWSSD(a1, v2[1], w[9]);                               \
    DPWSSD(a2, v2[2], w[10]); DPWSSD(a3, v2[3], w[11]);                             \
    __m512i e0 = zero, e1 = zero, e2 = zero, e3 = zero;                             \
    DPWSSD(e0, h0[0], w[12]); DPWSSD(e1, h0[1], w[13]);                             \
    DPWSSD(e2, h0[2], w[14]); DPWSSD(e3, h0[3], w[15]);                             \
    DPWSSD(e0, hn[0], w[16]); DPWSSD(e1, hn[1], w[17]);                             \
    DPWSSD(e2, hn[2], w[18]); DPWSSD(e3, hn[3], w[19]);                             \
    a0 = _mm512_add_epi32(a0, e0), a1 = _mm512_add_epi32(a1, e1);                   \
    a2 = _mm512_add_epi32(a2, e2), a3 = _mm512_add_epi32(a3, e3);
#define DW_COL(r, x) dw_col(r, x, in_w, c, zx8)
    DW_WIDEN(DW_COL(r0, x0), DW_COL(r1, x0), v0)
    if (g->stride_w == 1) {
        DW_WIDEN(DW_COL(r0, x0 + 1), DW_COL(r1, x0 + 1), v1)
        __m512i r2p = DW_COL(r2, x0 + 1);
        DW_WIDEN(DW_COL(r2, x0), r2p, h0)
        for (int ox = 0; ox < g->out_w; ox++) {
            int xn = x0 + ox + 2;
            __m512i r2n = DW_COL(r2, xn);
            DW_WIDEN(DW_COL(r0, xn), DW_COL(r1, xn), v2)
            DW_WIDEN(r2p, r2n, h1)
            DW_OUT(h1)
            uint8_t *dst = out + (size_t)ox * c + block;
            if (rq->uniform)
                store_block64_u(dst, a0, a1, a2, a3, ru, rq);
            else
                store_block64(dst, a0, a1, a2, a3, rq, 0);
            for (int k = 0; k < 4; k++) v0[k] = v1[k], v1[k] = v2[k], h0[k] = h1[k];
            r2p = r2n;
        }
        return;
    }
    DW_WIDEN(DW_COL(r2, x0), DW_COL(r2, x0 + 1), h0)
    for (int ox = 0; ox < g->out_w; ox++) {
        int x = x0 + ox * g->stride_w;
        DW_WIDEN(DW_COL(r0, x + 1), DW_COL(r1, x + 1), v1)
        DW_WIDEN(DW_COL(r0, x + 2), DW_COL(r1, x + 2), v2)
        DW_WIDEN(DW_COL(r2, x + 2), DW_COL(r2, x + 3), h1)
        DW_OUT(h1)
        uint8_t *dst = out + (size_t)ox * c + block;
        if (rq->uniform) {
            store_block64_u(dst, a0, a1, a2, a3, ru, rq);
        } else {
            store_block64(dst, a0, a1, a2, a3, rq, 0);
        }
        for (int k = 0; k < 4; k++) v0[k] = v2[k], h0[k] = h1[k];
    }
#undef DW_COL
#undef DW_OUT
}
#undef DW_WIDEN

/* 1 when no full 64-block needs the quads' K sums. */
static int dw_no_k(const int32_t *wq, int full) {
    for (int block = 0; block < full; block += BLOCK)
        if (mnet_q8_vnni_dwq_block_k(wq, block)) return 0;
    return 1;
}

/* The quad path: rows oy and oy + 1 by the row pairs
 * (mnet_q8_vnni_dwq_pair) at stride 1 without dilation when no full block
 * needs the K sums (with symmetric weights, always). */
static int dw_pair_ok(const mnet_conv_geometry *g, const int32_t *wq, int full) {
    return mnet_q8_vnni_dwq_pair_ok(g) && dw_no_k(wq, full);
}

/* The 4 input rows of output rows oy and oy + 1 (3x3, stride 1, no
 * dilation; NULL: padding). */
static inline void dw_row4(const mnet_conv_geometry *g, const uint8_t *in, int oy,
                           const uint8_t **rows) {
    for (int k = 0; k < 4; k++) {
        int iy = oy - g->pad_top + k;
        rows[k] = iy >= 0 && iy < g->in_h ? in + (size_t)iy * g->in_w * g->in_c : NULL;
    }
}

/* 3x3 by vertical quads (q8_vnni_depthwise_quad.c) for every channel:
 * with symmetric weights (no K sums; measured up to 50 % faster than the
 * tap pairs, within 3 % where slower), or where the tap-pair row kernel
 * does not run (dilation, fewer than 64 channels). With a weight zero point
 * the row kernel's path (below) still gives the quads every full 64-block
 * without K sums, two rows at a time at stride 1 (the published uint8
 * MobileNet V2's layers: 13-22 % faster than the tap pairs, whose 20
 * vpdpwssd per output measured faster than one row of quads), by rows at
 * stride 2 on rows of 14 or more (within 5 %, up to 9 % faster without K
 * sums), and the tap
 * pairs only the blocks that need the K sums (a 64-block of quads with
 * them measured 10-20 % slower than the tap pairs). */
static int dw_use_quads(const mnet_conv_geometry *g, const mnet_q8_conv_params *p) {
    if (!mnet_q8_vnni_dwq_ok(g)) return 0;
    return p->weight_zero_point == 128 || !dw_row3x3_ok(g);
}

/* Kernels of up to DW_CHUNK taps: tap pointers stepped along the row,
 * every block's accumulators in registers from bias to store. */
MNET_VNNI void mnet_q8_vnni_dw_run(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int row_begin, int row_end) {
    int taps = g->kernel_h * g->kernel_w;
    if (taps > DW_CHUNK) {
        dw_run_general(g, p, in, packed, packed_bias, out, row_begin, row_end);
        return;
    }
    if (dw_use_quads(g, p)) { /* 3x3: vertical quads by rows (or pairs of rows) */
        const uint8_t *base = (const uint8_t *)packed + HEADER_BYTES;
        rq_ctx rq = {(const int32_t *)(const void *)(base + dw_weight_bytes(g)), dw_padded(g),
                     read_any_short(packed), !p->channel_requant, p->output_zero_point,
                     p->out_min, p->out_max};
        const int32_t *wq = (const int32_t *)(const void *)(base + dw_quad_offset(g));
        const int32_t *qbias = packed_bias;
        if (mnet_q8_vnni_dwq_masked(g)) { /* its own bias and table */
            qbias = (const int32_t *)(const void *)(base + dw_quad_offset(g) +
                                                    mnet_q8_vnni_dwq_masked_offset(g));
            rq.table = qbias + BLOCK, rq.padded = BLOCK;
        }
        rq_vec ru = rq_load(&rq, 0); /* the constants when uniform */
        const uint8_t *rows[4];
        int c = g->out_c, full = c / BLOCK * BLOCK, pair = dw_pair_ok(g, wq, full);
        int pair_px = mnet_q8_vnni_dwq_pair_px_ok(g);
        for (int oy = row_begin; oy < row_end; oy++) {
            dw_row_bases(g, in, oy, rows);
            uint8_t *orow = out + (size_t)oy * g->out_w * c;
            if (pair_px && oy + 1 < row_end) { /* 16 or 32 channels, two rows */
                dw_row4(g, in, oy, rows);
                mnet_q8_vnni_dwq_pair_px(g, p, rows, wq, qbias, &rq, &ru, orow,
                                         orow + (size_t)g->out_w * c);
                oy++;
                continue;
            }
            if (pair && oy + 1 < row_end) { /* full blocks two rows at a time */
                dw_row4(g, in, oy, rows);
                uint8_t *next = orow + (size_t)g->out_w * c;
                mnet_q8_vnni_dwq_pair(g, p, rows, wq, qbias, &rq, &ru, orow, next);
                if (mnet_q8_vnni_dwq_ptail(g)) {
                    mnet_q8_vnni_dwq_pair_tail(g, p, rows, wq, &rq, &ru, orow, next);
                } else if (full < c) {
                    mnet_q8_vnni_dwq_row(g, p, rows, wq, qbias, &rq, &ru, orow, full, 0);
                    mnet_q8_vnni_dwq_row(g, p, rows + 1, wq, qbias, &rq, &ru, next, full, 0);
                }
                oy++;
                continue;
            }
            if (mnet_q8_vnni_dwq_ptail(g)) { /* the tail as pixel groups */
                mnet_q8_vnni_dwq_row(g, p, rows, wq, qbias, &rq, &ru, orow, 0,
                                     MNET_DWQ_SKIP_TAIL);
                mnet_q8_vnni_dwq_pair_tail(g, p, rows, wq, &rq, &ru, orow, NULL);
                continue;
            }
            mnet_q8_vnni_dwq_row(g, p, rows, wq, qbias, &rq, &ru, orow, 0, 0);
        }
        return;
    }
    if (dw_pixels_per_block(g) > 1) {
        dw_run_grouped(g, p, in, packed, packed_bias, out, row_begin, row_end);
        return;
    }
    const int16_t *wp = (const int16_t *)((const uint8_t *)packed + HEADER_BYTES);
    int c = g->out_c, cp = round_up(c, 16), full = c / BLOCK * BLOCK, pairs = dw_pairs(g);
    rq_ctx rq = {(const int32_t *)((const uint8_t *)wp + dw_weight_bytes(g)), cp,
                 read_any_short(packed), !p->channel_requant, p->output_zero_point, p->out_min,
                 p->out_max};
    rq_vec ru = rq_load(&rq, 0); /* the constants when uniform */
    __m512i zx8 = _mm512_set1_epi8((char)p->input_zero_point);
    /* output columns whose taps are all inside the input horizontally */
    int span = (g->kernel_w - 1) * g->dilation_w;
    int ox_lo = (g->pad_left + g->stride_w - 1) / g->stride_w;
    int ox_hi = g->in_w - 1 - span + g->pad_left >= 0
                    ? (g->in_w - 1 - span + g->pad_left) / g->stride_w + 1 : 0;
    size_t step = (size_t)g->stride_w * c;
    const uint8_t *tp[DW_CHUNK];
    const uint8_t *rows[DW_CHUNK];
    int row3x3 = dw_row3x3_ok(g); /* full blocks by tap pairs, then the tail */
    const dw_u512 *wrow = (const dw_u512 *)(const void *)((const uint8_t *)wp + dw_pair_bytes(g));
    const int32_t *wq = (const int32_t *)(const void *)((const uint8_t *)wp + dw_quad_offset(g));
    const int32_t *tail_bias = (const int32_t *)((const uint8_t *)wrow + dw_row_bytes(g));
    rq_ctx tail_rq = rq;
    tail_rq.table = tail_bias + BLOCK, tail_rq.padded = BLOCK;
    /* The full blocks without K sums by the quads: at stride 1 two rows at
     * a time (mnet_q8_vnni_dwq_pair; a range's odd last row: the tap
     * pairs), at stride 2 by rows (dwq_row, which also runs the tail's
     * quads unless the pixel tail does; rows of 14 outputs or more); the
     * others by the tap pairs. */
    int quad_pairs = row3x3 && mnet_q8_vnni_dwq_pair_ok(g);
    int ptail = row3x3 && mnet_q8_vnni_dwq_ptail(g); /* 16 or 32 more: pixel groups */
    /* (stride 2: within 5 % of the tap pairs on the models' layers, where
     * most have K blocks; rows of 7 measured 5-8 % slower) */
    int quad_rows = row3x3 && g->stride_w == 2 && g->out_w >= 14;
    int quad_first = 0; /* stride 2: from the first full block without K sums */
    while (quad_rows && quad_first < full && mnet_q8_vnni_dwq_block_k(wq, quad_first))
        quad_first += BLOCK;
    if (quad_first == (ptail ? full : c)) quad_rows = 0; /* nothing for dwq_row */
    for (int oy = row_begin; oy < row_end; oy++) {
        int prev_interior = 0;
        dw_row_bases(g, in, oy, rows);
        if (row3x3) {
            uint8_t *orow = out + (size_t)oy * g->out_w * c;
            int n = quad_pairs && oy + 1 < row_end ? 2 : 1; /* output rows this pass */
            int quads = n == 2 || quad_rows; /* the quads run their blocks */
            if (n == 2) {
                dw_row4(g, in, oy, rows);
                mnet_q8_vnni_dwq_pair(g, p, rows, wq, packed_bias, &rq, &ru, orow,
                                      orow + (size_t)g->out_w * c);
                if (ptail)
                    mnet_q8_vnni_dwq_pair_tail(g, p, rows, wq, &rq, &ru, orow,
                                               orow + (size_t)g->out_w * c);
            }
            for (int r = 0; r < n; r++) {
                uint8_t *o = orow + (size_t)r * g->out_w * c;
                for (int block = 0; block < full; block += BLOCK) {
                    if (quads && !mnet_q8_vnni_dwq_block_k(wq, block)) continue;
                    rq_ctx brq = rq;
                    brq.table += block;
                    dw_row3x3(g, rows + r, block, wrow + (size_t)block / 16 * DW_ROW_SETS,
                              packed_bias + block, &brq, &ru, zx8, o);
                }
                if (quad_rows) /* the other full blocks (and the tail) */
                    mnet_q8_vnni_dwq_row(g, p, rows, wq, packed_bias, &rq, &ru, o, quad_first,
                                         MNET_DWQ_SKIP_K | (ptail ? MNET_DWQ_SKIP_TAIL : 0));
                if (ptail && n == 1) /* the tail's pixel groups, one row */
                    mnet_q8_vnni_dwq_pair_tail(g, p, rows, wq, &rq, &ru, o, NULL);
                if (ptail || quad_rows) continue;
                if (dw_row3x3_tail(g)) /* the last 64 channels */
                    dw_row3x3(g, rows + r, c - BLOCK, wrow + (size_t)full / 16 * DW_ROW_SETS,
                              tail_bias, &tail_rq, &ru, zx8, o);
                else if (full < c) /* the channels after the full blocks */
                    mnet_q8_vnni_dwq_row(g, p, rows + r, wq, packed_bias, &rq, &ru, o, full, 0);
            }
            oy += n - 1;
            continue;
        }
        for (int ox = 0; ox < g->out_w; ox++) {
            int interior = ox >= ox_lo && ox < ox_hi;
            if (interior && prev_interior) {
                for (int t = 0; t < taps; t++)
                    if (tp[t]) tp[t] += step;
            } else {
                dw_pixel_taps(g, rows, ox, tp);
            }
            prev_interior = interior;
            uint8_t *dst = out + ((size_t)oy * g->out_w + ox) * c;
            int block = 0;
            for (; block < full; block += BLOCK) {
                const dw_u512 *w = (const dw_u512 *)(const void *)(wp + (size_t)block * pairs * 2);
                __m512i acc[4];
                for (int v = 0; v < 4; v++) acc[v] = _mm512_loadu_si512(packed_bias + block + v * 16);
                dw_acc64(tp, taps, block, w, zx8, acc);
                if (rq.uniform)
                    store_block64_u(dst + block, acc[0], acc[1], acc[2], acc[3], &ru, &rq);
                else
                    store_block64(dst + block, acc[0], acc[1], acc[2], acc[3], &rq, block);
            }
            for (; block + 32 <= cp; block += 32) {
                const dw_u512 *w = (const dw_u512 *)(const void *)(wp + (size_t)block * pairs * 2);
                __m512i acc[2] = {_mm512_loadu_si512(packed_bias + block),
                                  _mm512_loadu_si512(packed_bias + block + 16)};
                dw_acc32(tp, taps, block, w, zx8, c - block, acc);
                store_block32(dst + block, acc[0], acc[1], &rq, block, c - block);
            }
            if (block < cp) {
                const dw_u512 *w = (const dw_u512 *)(const void *)(wp + (size_t)block * pairs * 2);
                __m512i acc[1] = {_mm512_loadu_si512(packed_bias + block)};
                dw_acc16(tp, taps, block, w, zx8, c - block, acc);
                store_vec16(dst + block, acc[0], &rq, block, c - block);
            }
        }
    }
}
#undef DPWSSD

#endif
