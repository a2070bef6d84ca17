/* 256-bit uint8 depthwise convolutions, part of q8_avx2_template.h
 * (included by it, under its macros; read its top comment first).
 *
 * 3x3 stride 1/2 without dilation, and 3x3 stride 1 with dilation d, 32+
 * channels and rows of 8+ outputs (per stream) run a row kernel (dw_row3x3_half: each input column widened once for every output
 * it feeds, as q8_vnni_depthwise.c's dw_row3x3), the rest a per-pixel
 * kernel over tap pairs (dw_block). Stride 1 with dilation d runs d
 * interleaved streams of outputs (ox = r, r + d, ...), each of which slides
 * over input columns d apart exactly like an undilated row (as
 * q8_vnni_depthwise_quad.c's streams). */

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
