/* 256-bit stem: the dense 3x3 convolution on a 3-channel image (stride 1
 * or 2, up to 32 output channels), bit-identical to mnet_q8_ref_conv,
 * without gathering patches, for both 256-bit sets (AVX-VNNI and plain
 * AVX2).
 *
 * The design is q8_vnni_stem.c's (read its top comment) at half the width:
 * the 27 inputs of an output pixel are 3 input rows x 9 contiguous bytes;
 * bytes 0-7 of each row are broadcast as 2 dwords straight from the input,
 * the rows' ninth bytes form a seventh dword: 7 dot-product steps per
 * pixel and vector of 8 channels (VNNI: vpdpbusd; plain AVX2: two vpmaddwd
 * on the even / odd bytes, weights as int16, as dot4).
 *
 * Arithmetic: sum (x - zx)(w - zw) = sum x (w - o) + (o - zw) sum x
 * - zx sum (w - zw). Plain AVX2 stores w - zw as int16 (o = zw: no input
 * sums). VNNI stores w - o as int8, o = zw when every w - zw fits or all
 * that do not are at one tap that splits into two bytes (the second one in
 * step 6's spare byte, mnet_q8_stem_spare_tap), else o = 128 and each pixel
 * adds (o - zw) times the sum of its 27 real bytes (computed on general
 * registers, overlapping the vector work). The last
 * term is in the packed bias; a kernel row above or below the image is
 * skipped and zx sum (w - zw) over its taps added back to the bias of that
 * output row. Pixels whose taps touch a padded column read a copy of their
 * 9 bytes per row, padded with the input zero point. Only the taps' own
 * bytes are read.
 *
 * Channels: nv = 1, 2 or 4 vectors of 8 (9-16 channels use 2, 17-32 use
 * 4, padded with zero weights). Position pos (vector j = pos / 8, 128-bit
 * lane i = pos % 8 / 4, element k = pos % 4) holds channel 4 nv i + 4 j + k,
 * the order in which packs_epi32 / packus_epi16 leave a pixel's nv vectors
 * (one permute more for nv 1 and 2). The requantization table is per
 * vector of 8 positions, as fill_table8's.
 *
 * Included by q8_avx2_template.h before its table (so under its macros,
 * and with its requantization and packing helpers). */

enum {
    Q8_NAME(STEM_VBYTES) = 32 * Q8_NAME(WBYTES), /* weight bytes per step and vector */
};

/* Header (int32): any_short, sum_scale (o - zw), nv, the spare tap (-1:
 * none). */
enum {
    Q8_NAME(STEM_HDR_ANY_SHORT),
    Q8_NAME(STEM_HDR_SUM_SCALE),
    Q8_NAME(STEM_HDR_NV),
    Q8_NAME(STEM_HDR_SPARE),
    Q8_NAME(STEM_HDR_COUNT)
};

static int Q8_NAME(stem_nv)(int out_c) { return out_c <= 8 ? 1 : out_c <= 16 ? 2 : 4; }

static int Q8_NAME(stem_pos_channel)(int pos, int nv) {
    int j = pos / 8, i = pos % 8 / 4, k = pos % 4;
    return 4 * nv * i + 4 * j + k;
}

static int Q8_NAME(stem_covers)(const mnet_conv_geometry *g) {
    return g->in_c == 3 && g->groups == 1 && g->kernel_h == 3 && g->kernel_w == 3 &&
           g->dilation_h == 1 && g->dilation_w == 1 && g->stride_h == g->stride_w &&
           (g->stride_w == 1 || g->stride_w == 2) && g->out_c >= 1 && g->out_c <= 32 &&
           g->pad_top >= 0 && g->pad_left >= 0 && g->in_h >= 1 && g->in_w >= 1;
}

static size_t Q8_NAME(stem_weight_bytes)(int nv) {
    return (size_t)MNET_Q8_STEM_STEPS * (size_t)nv * Q8_NAME(STEM_VBYTES);
}

static size_t Q8_NAME(stem_rowconst_bytes)(int nv) {
    return (size_t)3 * 8 * (size_t)nv * sizeof(int32_t);
}

static size_t Q8_NAME(stem_pack_bytes)(const mnet_conv_geometry *g) {
    if (!Q8_NAME(stem_covers)(g)) return 0;
    int nv = Q8_NAME(stem_nv)(g->out_c);
    return Q8_HEADER_BYTES + Q8_NAME(stem_weight_bytes)(nv) + Q8_NAME(stem_rowconst_bytes)(nv) +
           mnet_q8_rqtable_bytes(8 * nv);
}

static void Q8_NAME(stem_pack)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                               const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                               int32_t *packed_bias) {
    size_t bytes = Q8_NAME(stem_pack_bytes)(g);
    if (!bytes) return;
    int out_c = g->out_c, nv = Q8_NAME(stem_nv)(out_c), padded = 8 * nv;
    memset(packed, 0, bytes);
    uint8_t *base = packed;
    int8_t *wdst = (int8_t *)(base + Q8_HEADER_BYTES);
    int32_t *rowconst = (int32_t *)(base + Q8_HEADER_BYTES + Q8_NAME(stem_weight_bytes)(nv));
    int32_t *table = (int32_t *)((uint8_t *)rowconst + Q8_NAME(stem_rowconst_bytes)(nv));
    int32_t zw = p->weight_zero_point, zx = p->input_zero_point;

    /* plain AVX2 stores int16 weights: w - zw always fits */
    int fits = !Q8_VNNI || mnet_q8_stem_weights_fit_int8(w_ohwi, out_c * MNET_Q8_STEM_TAPS, zw);
    int spare = fits ? -1 : mnet_q8_stem_spare_tap(w_ohwi, out_c, zw);
    int32_t offset = fits || spare >= 0 ? zw : 128;
    int32_t any_short = 0;
    for (int pos = 0; pos < padded; pos++)
        any_short |= set_table8(table, pos, Q8_NAME(stem_pos_channel)(pos, nv), out_c, p);
    int32_t header[Q8_NAME(STEM_HDR_COUNT)];
    header[Q8_NAME(STEM_HDR_ANY_SHORT)] = any_short;
    header[Q8_NAME(STEM_HDR_SUM_SCALE)] = offset - zw;
    header[Q8_NAME(STEM_HDR_NV)] = nv;
    header[Q8_NAME(STEM_HDR_SPARE)] = spare;
    memcpy(base, header, sizeof header);

    for (int pos = 0; pos < padded; pos++) {
        int o = Q8_NAME(stem_pos_channel)(pos, nv), v = pos / 8, l = pos % 8;
        if (o >= out_c) {
            packed_bias[pos] = 0;
            continue;
        }
        const uint8_t *w = w_ohwi + (size_t)o * MNET_Q8_STEM_TAPS;
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 9; j++) {
                int step, at, value = w[r * 9 + j] - offset;
                mnet_q8_stem_slot(r, j, &step, &at);
                size_t vec = ((size_t)step * nv + v) * Q8_NAME(STEM_VBYTES);
                if (Q8_VNNI) {
                    int8_t main_byte, rest;
                    mnet_q8_stem_split(value, &main_byte, &rest);
                    wdst[vec + (size_t)l * 4 + at] = main_byte;
                    /* the remainder (0 unless spare) in step 6's fourth byte */
                    size_t step6 = ((size_t)6 * nv + v) * Q8_NAME(STEM_VBYTES);
                    if (r * 9 + j == spare) wdst[step6 + (size_t)l * 4 + 3] = rest;
                } else { /* even half: bytes 0, 2; odd half: 1, 3 (see dot4) */
                    int16_t w16 = (int16_t)value;
                    memcpy(wdst + vec + (size_t)(at % 2) * 32 + (size_t)l * 4 + (size_t)(at / 2) * 2,
                           &w16, 2);
                }
            }
        mnet_q8_stem_channel_constants(w, bias ? bias[o] : 0, zx, zw, padded, pos, rowconst,
                                       packed_bias);
    }
}

/* --- kernel ------------------------------------------------------------------ */

typedef struct Q8_NAME(stem_ctx) {
    const int8_t *weights;
    Q8_NAME(rq) rq;
    int out_c, step;        /* step: input bytes between adjacent output pixels */
    int spare_row, spare_j; /* the spare tap's row and byte (row -1: none) */
    int32_t sum_scale;
} Q8_NAME(stem_ctx);

Q8_INLINE __m256i Q8_NAME(stem_bcast)(const uint8_t *x) {
    int32_t d;
    memcpy(&d, x, 4);
    return _mm256_set1_epi32(d);
}

/* The rows' ninth bytes and the spare byte as one dword (a padded row
 * reads 0). */
Q8_INLINE int32_t Q8_NAME(stem_ninth)(const Q8_NAME(stem_ctx) *c, const uint8_t *const rows[3],
                                      size_t at) {
    uint32_t d = 0;
    for (int r = 0; r < 3; r++)
        if (rows[r]) d |= (uint32_t)rows[r][at + 8] << (8 * r);
    if (c->spare_row >= 0 && rows[c->spare_row])
        d |= (uint32_t)rows[c->spare_row][at + (size_t)c->spare_j] << 24;
    return (int32_t)d;
}

/* The sum of a pixel's real bytes (9 per row that is not padded): bytes
 * 0-7 of the rows summed as 16-bit fields (each <= 6 x 255), folded by a
 * multiply. */
Q8_INLINE int32_t Q8_NAME(stem_pixel_sum)(const uint8_t *const rows[3], size_t at) {
    const uint64_t m = 0x00FF00FF00FF00FFull;
    uint64_t f = 0;
    int32_t s = 0;
    for (int r = 0; r < 3; r++) {
        if (!rows[r]) continue;
        uint64_t v;
        memcpy(&v, rows[r] + at, 8);
        f += (v & m) + ((v >> 8) & m);
        s += rows[r][at + 8];
    }
    return s + (int32_t)((f * 0x0001000100010001ull) >> 48);
}

/* One pixel's NV requantized vectors -> its out_c bytes at dst. full:
 * the whole vector width may be written (the bytes past out_c belong to
 * pixels of the same tile stored later). */
Q8_INLINE void Q8_NAME(stem_store_pixel)(const int NV, const Q8_NAME(rq) *rq, __m256i a0,
                                         __m256i a1, __m256i a2, __m256i a3, uint8_t *dst,
                                         int out_c, int full) {
    enum { G = MNET_Q8_RQ_ROWS * 8 };
    const int32_t *t = rq->table;
    __m256i q0 = Q8_NAME(requant8g)(a0, rq, t), q1 = q0, q2 = q0, q3 = q0;
    if (NV > 1) q1 = Q8_NAME(requant8g)(a1, rq, t + G);
    if (NV > 2) {
        q2 = Q8_NAME(requant8g)(a2, rq, t + 2 * G);
        q3 = Q8_NAME(requant8g)(a3, rq, t + 3 * G);
    }
    __m256i w01 = Q8_NAME(add_zero_point16)(_mm256_packs_epi32(q0, q1), rq);
    __m256i w23 = NV > 2 ? Q8_NAME(add_zero_point16)(_mm256_packs_epi32(q2, q3), rq) : w01;
    __m256i b = Q8_NAME(clamp_bytes)(_mm256_packus_epi16(w01, w23), rq);
    if (NV == 4) {
        if (out_c == 32 || full) {
            _mm256_storeu_si256((__m256i *)dst, b);
            return;
        }
    } else if (NV == 2) {
        /* lane i bytes 0-7: channels 8 i .. 8 i + 7 */
        __m128i c = _mm256_castsi256_si128(_mm256_permute4x64_epi64(b, 0x08));
        if (out_c == 16 || full) {
            _mm_storeu_si128((__m128i *)dst, c);
            return;
        }
        b = _mm256_castsi128_si256(c);
    } else {
        /* lane i bytes 0-3: channels 4 i .. 4 i + 3 */
        __m128i c = _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
        if (out_c == 8 || full) {
            _mm_storel_epi64((__m128i *)dst, c);
            return;
        }
        b = _mm256_castsi128_si256(c);
    }
    uint8_t tmp[32];
    _mm256_storeu_si256((__m256i *)tmp, b);
    memcpy(dst, tmp, (size_t)out_c);
}

/* P pixels x NV vectors, any_short a constant. rows[r]: the first pixel's
 * bytes of kernel row r (NULL: a padded row, in the bias); the next pixel
 * starts `step` bytes further. */
Q8_INLINE void Q8_NAME(stem_tile)(const int P, const int NV, const int SHORT,
                                  const Q8_NAME(stem_ctx) *c, const uint8_t *const rows[3],
                                  int step, const int32_t *bias, uint8_t *dst) {
    enum { VB = Q8_NAME(STEM_VBYTES) };
    Q8_NAME(rq) rq = c->rq;
    rq.any_short = SHORT;
    __m256i b0 = _mm256_loadu_si256((const __m256i *)bias);
    __m256i b1 = NV > 1 ? _mm256_loadu_si256((const __m256i *)(bias + 8)) : b0;
    __m256i b2 = NV > 2 ? _mm256_loadu_si256((const __m256i *)(bias + 16)) : b0;
    __m256i b3 = NV > 2 ? _mm256_loadu_si256((const __m256i *)(bias + 24)) : b0;
    __m256i low16 = _mm256_set1_epi16(0x00FF);
    (void)low16;
#define Q8_S_INIT(p)                                                                        \
    __m256i a##p##0 = b0, a##p##1 = b1, a##p##2 = b2, a##p##3 = b3;                         \
    if (P > p && c->sum_scale) {                                                            \
        __m256i k_ = _mm256_set1_epi32(                                                     \
            (int32_t)((uint32_t)c->sum_scale *                                              \
                      (uint32_t)Q8_NAME(stem_pixel_sum)(rows, (size_t)(p) * step)));        \
        a##p##0 = _mm256_add_epi32(a##p##0, k_);                                            \
        if (NV > 1) a##p##1 = _mm256_add_epi32(a##p##1, k_);                                \
        if (NV > 2) a##p##2 = _mm256_add_epi32(a##p##2, k_);                                \
        if (NV > 2) a##p##3 = _mm256_add_epi32(a##p##3, k_);                                \
    }
#define Q8_S_DOT(p, XV)                                                                     \
    if (P > p) {                                                                            \
        __m256i xv = XV;                                                                    \
        __m256i xe = _mm256_and_si256(xv, low16), xo = _mm256_srli_epi16(xv, 8);            \
        a##p##0 = Q8_NAME(dot4)(a##p##0, xv, xe, xo, w);                                    \
        if (NV > 1) a##p##1 = Q8_NAME(dot4)(a##p##1, xv, xe, xo, w + VB);                   \
        if (NV > 2) a##p##2 = Q8_NAME(dot4)(a##p##2, xv, xe, xo, w + 2 * VB);               \
        if (NV > 2) a##p##3 = Q8_NAME(dot4)(a##p##3, xv, xe, xo, w + 3 * VB);               \
    }
#define Q8_S_ROWDOT(p) Q8_S_DOT(p, Q8_NAME(stem_bcast)(x + (size_t)(p) * step))
#define Q8_S_NINTHDOT(p) \
    Q8_S_DOT(p, _mm256_set1_epi32(Q8_NAME(stem_ninth)(c, rows, (size_t)(p) * step)))
#define Q8_S_STORE(p)                                                                       \
    if (P > p)                                                                              \
        Q8_NAME(stem_store_pixel)(NV, &rq, a##p##0, a##p##1, a##p##2, a##p##3,              \
                                  dst + (size_t)(p) * c->out_c, c->out_c,                   \
                                  (p) * c->out_c + 8 * NV <= P * c->out_c);
    Q8_S_INIT(0) Q8_S_INIT(1) Q8_S_INIT(2) Q8_S_INIT(3)
    Q8_S_INIT(4) Q8_S_INIT(5) Q8_S_INIT(6) Q8_S_INIT(7)
    const int8_t *w = c->weights;
    for (int r = 0; r < 3; r++) {
        if (!rows[r]) {
            w += 2 * NV * VB;
            continue;
        }
        for (int gq = 0; gq < 2; gq++, w += NV * VB) {
            const uint8_t *x = rows[r] + 4 * gq;
            Q8_S_ROWDOT(0) Q8_S_ROWDOT(1) Q8_S_ROWDOT(2) Q8_S_ROWDOT(3)
            Q8_S_ROWDOT(4) Q8_S_ROWDOT(5) Q8_S_ROWDOT(6) Q8_S_ROWDOT(7)
        }
    }
    Q8_S_NINTHDOT(0) Q8_S_NINTHDOT(1) Q8_S_NINTHDOT(2) Q8_S_NINTHDOT(3)
    Q8_S_NINTHDOT(4) Q8_S_NINTHDOT(5) Q8_S_NINTHDOT(6) Q8_S_NINTHDOT(7)
    Q8_S_STORE(0) Q8_S_STORE(1) Q8_S_STORE(2) Q8_S_STORE(3)
    Q8_S_STORE(4) Q8_S_STORE(5) Q8_S_STORE(6) Q8_S_STORE(7)
#undef Q8_S_INIT
#undef Q8_S_DOT
#undef Q8_S_ROWDOT
#undef Q8_S_NINTHDOT
#undef Q8_S_STORE
}

typedef void (*Q8_NAME(stem_tile_fn))(const Q8_NAME(stem_ctx) *, const uint8_t *const[3], int,
                                      const int32_t *, uint8_t *);

/* Pixels per tile for nv vectors: the accumulators and a broadcast fit
 * the 16 vector registers (the weights are memory operands). */
#define Q8_STEM_P(NV) ((NV) == 4 ? 3 : (NV) == 2 ? 6 : 8)

#define Q8_STEM_TILE_FN(P, NV, SHORT)                                                         \
    Q8_FN void Q8_NAME(stem_tile_##P##_##NV##_##SHORT)(                                       \
        const Q8_NAME(stem_ctx) *c, const uint8_t *const rows[3], int step,                   \
        const int32_t *bias, uint8_t *dst) {                                                  \
        Q8_NAME(stem_tile)(P, NV, SHORT, c, rows, step, bias, dst);                           \
    }
Q8_STEM_TILE_FN(3, 4, 0)
Q8_STEM_TILE_FN(3, 4, 1)
Q8_STEM_TILE_FN(1, 4, 0)
Q8_STEM_TILE_FN(1, 4, 1)
Q8_STEM_TILE_FN(6, 2, 0)
Q8_STEM_TILE_FN(6, 2, 1)
Q8_STEM_TILE_FN(1, 2, 0)
Q8_STEM_TILE_FN(1, 2, 1)
Q8_STEM_TILE_FN(8, 1, 0)
Q8_STEM_TILE_FN(8, 1, 1)
Q8_STEM_TILE_FN(1, 1, 0)
Q8_STEM_TILE_FN(1, 1, 1)
#undef Q8_STEM_TILE_FN

Q8_FN void Q8_NAME(stem_run)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int row_begin, int row_end) {
    const uint8_t *base = packed;
    int32_t header[Q8_NAME(STEM_HDR_COUNT)];
    memcpy(header, base, sizeof header);
    int nv = header[Q8_NAME(STEM_HDR_NV)], padded = 8 * nv;
    int any_short = header[Q8_NAME(STEM_HDR_ANY_SHORT)];
    const int32_t *rowconst =
        (const int32_t *)(base + Q8_HEADER_BYTES + Q8_NAME(stem_weight_bytes)(nv));
    Q8_NAME(stem_ctx) c;
    c.weights = (const int8_t *)(base + Q8_HEADER_BYTES);
    c.rq = (Q8_NAME(rq)){(const int32_t *)((const uint8_t *)rowconst +
                                           Q8_NAME(stem_rowconst_bytes)(nv)),
                         any_short, p->output_zero_point, p->out_min, p->out_max};
    c.out_c = g->out_c;
    c.step = 3 * g->stride_w;
    c.sum_scale = header[Q8_NAME(STEM_HDR_SUM_SCALE)];
    c.spare_row = header[Q8_NAME(STEM_HDR_SPARE)] >= 0 ? header[Q8_NAME(STEM_HDR_SPARE)] / 9 : -1;
    c.spare_j = header[Q8_NAME(STEM_HDR_SPARE)] >= 0 ? header[Q8_NAME(STEM_HDR_SPARE)] % 9 : 0;
    Q8_NAME(stem_tile_fn) big, one;
    int P = Q8_STEM_P(nv);
    if (nv == 4) {
        big = any_short ? Q8_NAME(stem_tile_3_4_1) : Q8_NAME(stem_tile_3_4_0);
        one = any_short ? Q8_NAME(stem_tile_1_4_1) : Q8_NAME(stem_tile_1_4_0);
    } else if (nv == 2) {
        big = any_short ? Q8_NAME(stem_tile_6_2_1) : Q8_NAME(stem_tile_6_2_0);
        one = any_short ? Q8_NAME(stem_tile_1_2_1) : Q8_NAME(stem_tile_1_2_0);
    } else {
        big = any_short ? Q8_NAME(stem_tile_8_1_1) : Q8_NAME(stem_tile_8_1_0);
        one = any_short ? Q8_NAME(stem_tile_1_1_1) : Q8_NAME(stem_tile_1_1_0);
    }
    int s = g->stride_w, out_c = g->out_c, out_w = g->out_w;
    long row_bytes = (long)g->in_w * 3;
    int32_t zx = p->input_zero_point;
    int lo, hi;
    mnet_q8_stem_direct_columns(g, &lo, &hi);
    for (int oy = row_begin; oy < row_end; oy++) {
        uint8_t *orow = out + (size_t)oy * out_w * out_c;
        const uint8_t *rows[3];
        int32_t bias[32];
        mnet_q8_stem_row(g, in, oy, packed_bias, rowconst, padded, rows, bias);
        /* direct tiles; the last partial one moves back over pixels
         * already written (same values) when the span is long enough */
        for (int ox = lo; ox < hi;) {
            int n = hi - ox;
            if (n < P && hi - lo >= P) ox = hi - P, n = P;
            long start = (long)(ox * s - g->pad_left) * 3;
            const uint8_t *at[3];
            for (int r = 0; r < 3; r++) at[r] = rows[r] ? rows[r] + start : NULL;
            if (n >= P) {
                big(&c, at, c.step, bias, orow + (size_t)ox * out_c);
                ox += P;
            } else {
                one(&c, at, c.step, bias, orow + (size_t)ox * out_c);
                ox += 1;
            }
        }
        /* pixels with padded columns: their 9 bytes per row copied, the
         * padding as the input zero point */
        for (int ox = 0; ox < out_w; ox++) {
            if (ox == lo) ox = hi;
            if (ox >= out_w) break;
            long start = (long)(ox * s - g->pad_left) * 3;
            uint8_t buf[3][12];
            const uint8_t *at[3];
            for (int r = 0; r < 3; r++) {
                at[r] = rows[r] ? buf[r] : NULL;
                if (!rows[r]) continue;
                memset(buf[r], zx, sizeof buf[r]);
                for (long b = 0; b < 9; b++)
                    if (start + b >= 0 && start + b < row_bytes) buf[r][b] = rows[r][start + b];
            }
            one(&c, at, c.step, bias, orow + (size_t)ox * out_c);
        }
    }
}

#undef Q8_STEM_P
