/* AVX-512 VNNI stem: the dense 3x3 convolution on a 3-channel image (stride
 * 1 or 2, up to 32 output channels), bit-identical to mnet_q8_ref_conv,
 * without gathering patches.
 *
 * The 27 inputs of an output pixel are 3 input rows x 9 contiguous bytes
 * (3 pixels x 3 channels). Bytes 0-7 of each row are read as 2 dwords
 * straight from the input, and the three rows' ninth bytes form a seventh
 * dword (built for 8 pixels at once by word permutes of the rows); each
 * dword is broadcast to the vpdpbusd of 16 output channels: 7 steps per
 * pixel (the minimum for 27 bytes). Tiles of 8 pixels x 32 channels keep 16
 * accumulators in registers; 16 channels (depth multiplier 0.5) use one
 * vector per pixel, other counts up to 32 are padded with zero weights.
 *
 * Arithmetic (vpdpbusd: unsigned x times signed weight). With zx / zw the
 * zero points and o the weight offset:
 *   sum (x - zx)(w - zw) = sum x (w - o) + (o - zw) sum x - zx sum (w - zw)
 * The weights are stored as w - o (int8): o = zw when every w - zw fits
 * int8 (always for per-channel int8 weights, zw = 128) or when those that
 * do not are all at one tap (the published uint8 MobileNet V2: one weight
 * of 864, 255 with zw = 122): that tap's input then also goes into the
 * spare fourth byte of the ninth-byte dword, with the remainder
 * (w - zw) - clamp(w - zw) as its weight (mnet_q8_stem_spare_tap); else
 * o = 128. The last term goes into the packed bias; (o - zw) sum x over the
 * 27 real bytes is added per pixel when o != zw; the sums of 8 pixels are
 * computed at once, their bytes moved into the lanes by word permutes of
 * the input rows.
 *
 * With 32 channels, per-tensor requantization and VBMI, the direct
 * pixels (all taps inside the image) of each row run through
 * q8_vnni_stem_wide.c instead (pixels in the lanes, 16 per pass: no
 * broadcasts); the tiles here do the pixels with padded columns and every
 * other case. Per-tensor requantization takes q8_float_requant.h's float route
 * (one FMA per 16 values instead of two vpmuldq) where the pack proved it
 * exact.
 *
 * Padding: a kernel row above or below the image contributes
 * zx sum (w - zw) over its 9 taps, a per-channel constant added to the bias
 * of that output row (the row is skipped; its ninth byte reads as 0).
 * Pixels whose taps touch a padded column run the same tiles on copies of
 * their rows, padded with the input zero point. Only the taps' own bytes
 * are read from the input (the sums and ninth bytes through masked loads).
 *
 * Channels are in q8_vnni_common.h's pos_channel order (the requantization
 * table is fill_table's); the byte permute that puts the packed outputs in
 * channel order is derived from pos_channel at pack time. */
#include "int8/q8_vnni_stem.h"

#include "int8/q8_stem_common.h"
#include "int8/q8_float_requant.h"
#include "int8/q8_vnni_common.h"
#include "int8/q8_vnni_stem_wide.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

enum {
    STEM_IDX_OFFSET = HEADER_BYTES,
    STEM_WEIGHTS_OFFSET = HEADER_BYTES + 64,
};

/* Header (int32): any_short, sum_scale (o - zw), nv (vectors per pixel),
 * the spare tap (mnet_q8_stem_spare_tap; -1: none), whether the direct
 * pixels may run through q8_vnni_stem_wide.c (32 channels, per-tensor
 * requantization, no input sums, a CPU with VBMI) and whether they do. */
enum {
    HDR_ANY_SHORT,
    HDR_SUM_SCALE,
    HDR_NV,
    HDR_SPARE,
    HDR_WIDE_OK,
    HDR_WIDE,
    HDR_FLOAT_OK, /* the float requantization found (q8_float_requant.h; its */
    HDR_FLOAT,    /* scale and offset as float bits); whether it is used */
    HDR_FSCALE,
    HDR_FOFFSET,
    HDR_COUNT
};

static int stem_nv(const mnet_conv_geometry *g) { return (g->out_c + 15) / 16; }

static int stem_covers(const mnet_conv_geometry *g) {
    return g->in_c == 3 && g->groups == 1 && g->kernel_h == 3 && g->kernel_w == 3 &&
           g->dilation_h == 1 && g->dilation_w == 1 && g->stride_h == g->stride_w &&
           (g->stride_w == 1 || g->stride_w == 2) && g->out_c >= 1 && g->out_c <= 32 &&
           g->pad_top >= 0 && g->pad_left >= 0 && g->in_h >= 1 && g->in_w >= 1;
}

static size_t weight_bytes(int nv) { return (size_t)MNET_Q8_STEM_STEPS * (size_t)nv * 64; }

static size_t rowconst_bytes(int nv) { return (size_t)3 * 16 * (size_t)nv * sizeof(int32_t); }

/* The wide kernel's weights (32 channels x 8 dwords), after the table. */
static size_t wide_bytes(int out_c) { return out_c == 32 ? (size_t)32 * 8 * sizeof(int32_t) : 0; }

static int store_permute(int nv, int out_c, int32_t idx[16]);

size_t mnet_q8_vnni_stem_pack_bytes(const mnet_conv_geometry *g) {
    int32_t idx[16];
    if (!stem_covers(g) || !store_permute(stem_nv(g), g->out_c, idx)) return 0;
    int nv = stem_nv(g);
    return STEM_WEIGHTS_OFFSET + weight_bytes(nv) + rowconst_bytes(nv) +
           mnet_q8_rqtable_bytes(16 * nv) + wide_bytes(g->out_c);
}

static size_t wide_offset(int nv) {
    return STEM_WEIGHTS_OFFSET + weight_bytes(nv) + rowconst_bytes(nv) +
           mnet_q8_rqtable_bytes(16 * nv);
}

int mnet_q8_vnni_stem_set_wide(void *packed, int on, int float_route) {
    int32_t header[HDR_COUNT];
    memcpy(header, packed, sizeof header);
    header[HDR_WIDE] = on && header[HDR_WIDE_OK];
    header[HDR_FLOAT] = float_route && header[HDR_FLOAT_OK];
    memcpy(packed, header, sizeof header);
    return header[HDR_WIDE] + 2 * header[HDR_FLOAT];
}

/* The dword permute that turns a packed group of 4 vectors (after two
 * packs_epi32 and one packus_epi16: 128-bit lane i holds, for slot s = 0..3,
 * the 4 bytes of that vector's lanes 4i..4i+3) into output bytes: 64 / (16
 * nv) consecutive pixels of 16 nv channel-ordered bytes each. Slot s is
 * pixel s / nv, vector s % nv. Returns 0 if pos_channel does not keep
 * groups of 4 channels together (then the shape is not packed). */
static int store_permute(int nv, int out_c, int32_t idx[16]) {
    int padded = 16 * nv, pos_of[32];
    for (int c = 0; c < padded; c++) pos_of[c] = -1;
    for (int pos = 0; pos < padded; pos++) {
        int c = pos_channel(pos, out_c);
        if (c < 0 || c >= padded || pos_of[c] >= 0) return 0;
        pos_of[c] = pos;
    }
    for (int o = 0; o < 16; o++) {
        int pixel = o / (4 * nv), c0 = 4 * (o % (4 * nv)), pos = pos_of[c0];
        if (pos % 4 != 0) return 0;
        for (int k = 1; k < 4; k++)
            if (pos_of[c0 + k] != pos + k) return 0;
        int v = pos / 16, quad = (pos % 16) / 4, slot = pixel * nv + v;
        idx[o] = 4 * quad + slot;
    }
    return 1;
}

void mnet_q8_vnni_stem_pack(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                            const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                            int32_t *packed_bias) {
    int nv = stem_nv(g), padded = 16 * nv, out_c = g->out_c;
    int32_t idx[16];
    if (!mnet_q8_vnni_stem_pack_bytes(g) || !store_permute(nv, out_c, idx)) return;
    memset(packed, 0, mnet_q8_vnni_stem_pack_bytes(g));
    uint8_t *base = packed;
    int8_t *wdst = (int8_t *)(base + STEM_WEIGHTS_OFFSET);
    int32_t *rowconst = (int32_t *)(base + STEM_WEIGHTS_OFFSET + weight_bytes(nv));
    int32_t *table = (int32_t *)((uint8_t *)rowconst + rowconst_bytes(nv));
    int32_t zw = p->weight_zero_point, zx = p->input_zero_point;

    int fits = mnet_q8_stem_weights_fit_int8(w_ohwi, out_c * MNET_Q8_STEM_TAPS, zw);
    int spare = fits ? -1 : mnet_q8_stem_spare_tap(w_ohwi, out_c, zw);
    int32_t offset = fits || spare >= 0 ? zw : 128;
    int32_t header[HDR_COUNT];
    header[HDR_ANY_SHORT] = fill_table(table, padded, out_c, p);
    header[HDR_SUM_SCALE] = offset - zw;
    header[HDR_NV] = nv;
    header[HDR_SPARE] = spare;
    header[HDR_WIDE_OK] = header[HDR_WIDE] =
        out_c == 32 && !p->channel_requant && mnet_q8_stem_wide_cpu();
    float fscale = 0, foffset = 0;
    header[HDR_FLOAT_OK] = header[HDR_FLOAT] =
        !p->channel_requant &&
        mnet_q8_float_requant_find(p->requant, p->output_zero_point, &fscale, &foffset);
    memcpy(&header[HDR_FSCALE], &fscale, sizeof fscale);
    memcpy(&header[HDR_FOFFSET], &foffset, sizeof foffset);
    memcpy(base, header, sizeof header);
    memcpy(base + STEM_IDX_OFFSET, idx, sizeof idx);

    for (int pos = 0; pos < padded; pos++) {
        int o = pos_channel(pos, out_c), v = pos / 16, l = pos % 16;
        if (o >= out_c) {
            packed_bias[pos] = 0;
            continue;
        }
        const uint8_t *w = w_ohwi + (size_t)o * MNET_Q8_STEM_TAPS;
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 9; j++) {
                int step, at;
                int8_t main_byte, rest;
                mnet_q8_stem_slot(r, j, &step, &at);
                mnet_q8_stem_split(w[r * 9 + j] - offset, &main_byte, &rest);
                wdst[((size_t)step * nv + v) * 64 + l * 4 + at] = main_byte;
                /* the remainder (0 unless spare) in step 6's fourth byte */
                if (r * 9 + j == spare) wdst[((size_t)6 * nv + v) * 64 + l * 4 + 3] = rest;
            }
        mnet_q8_stem_channel_constants(w, bias ? bias[o] : 0, zx, zw, padded, pos, rowconst,
                                       packed_bias);
    }
    if (out_c == 32) { /* the same dwords, channel-major for the wide kernel */
        int32_t *wide = (int32_t *)(base + wide_offset(nv));
        for (int pos = 0; pos < padded; pos++) {
            int o = pos_channel(pos, out_c), v = pos / 16, l = pos % 16;
            for (int step = 0; step < MNET_Q8_STEM_STEPS; step++)
                memcpy(wide + o * 8 + step, wdst + ((size_t)step * nv + v) * 64 + l * 4, 4);
        }
    }
}

/* --- kernel ------------------------------------------------------------------ */

#define STEM_DPBUSD(acc, x, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w))

INLINE_VNNI __m512i stem_bcast(const uint8_t *x) {
    int32_t d;
    memcpy(&d, x, 4);
    return _mm512_set1_epi32(d);
}

typedef struct stem_ctx {
    const int8_t *weights;
    __m512i order; /* the output dword permute (store_permute) */
    rq_ctx rq;
    rq_vec r; /* uniform constants */
    int float_route; /* q8_float_requant.h's requantization (zero point in offset) */
    __m512 scale, offset;
    int nv, out_c, step; /* step: input bytes between adjacent output pixels */
    int spare_row;       /* the spare tap's kernel row, -1: none */
    int32_t sum_scale;
} stem_ctx;

/* Requantize (uniform or per position) one accumulator of vector v. */
INLINE_VNNI __m512i stem_requant(const stem_ctx *c, __m512i acc, int v) {
    if (c->float_route) return mnet_q8_float_rq(acc, c->scale, c->offset);
    if (c->rq.uniform) return requant_r(acc, &c->r, c->rq.any_short);
    return requant16(acc, &c->rq, 16 * v);
}

/* A group of 4 accumulators (slots: pixel s / nv, vector s % nv) -> the
 * bytes of 64 / (16 nv) consecutive pixels. */
INLINE_VNNI __m512i stem_pack_group(const stem_ctx *c, __m512i a0, __m512i a1, __m512i a2,
                                    __m512i a3, int nv) {
    __m512i q0 = stem_requant(c, a0, 0), q1 = stem_requant(c, a1, nv == 2 ? 1 : 0);
    __m512i q2 = stem_requant(c, a2, 0), q3 = stem_requant(c, a3, nv == 2 ? 1 : 0);
    __m512i w01 = _mm512_packs_epi32(q0, q1), w23 = _mm512_packs_epi32(q2, q3);
    /* zero point (saturating, on int16; the float route has it in its
     * offset) and clamp (on bytes), skipped when they change nothing (ReLU6
     * outputs with zero point 0) */
    if (c->rq.zero_point && !c->float_route) {
        __m512i zp = _mm512_set1_epi16((int16_t)c->rq.zero_point);
        w01 = _mm512_adds_epi16(w01, zp);
        w23 = _mm512_adds_epi16(w23, zp);
    }
    __m512i b = _mm512_packus_epi16(w01, w23);
    if (c->rq.out_min > 0) b = _mm512_max_epu8(b, _mm512_set1_epi8((char)c->rq.out_min));
    if (c->rq.out_max < 255) b = _mm512_min_epu8(b, _mm512_set1_epi8((char)c->rq.out_max));
    return _mm512_permutexvar_epi32(c->order, b);
}

/* Stores a packed group of `pixels` pixels. */
INLINE_VNNI void stem_store_group(const stem_ctx *c, uint8_t *dst, int pixels, __m512i b, int nv) {
    int chunk = 16 * nv;
    if (c->out_c == chunk) { /* the pixels' bytes are contiguous */
        int n = pixels * chunk;
        if (n >= 64) { /* a plain store: masked ones cost more on AMD */
            _mm512_storeu_si512(dst, b);
            return;
        }
        _mm512_mask_storeu_epi8(dst, ((__mmask64)1 << n) - 1, b);
        return;
    }
    if (nv == 2) {
        __mmask32 m = (__mmask32)((1u << c->out_c) - 1); /* out_c < 32 here */
        _mm256_mask_storeu_epi8(dst, m, _mm512_castsi512_si256(b));
        if (pixels > 1)
            _mm256_mask_storeu_epi8(dst + c->out_c, m, _mm512_extracti64x4_epi64(b, 1));
        return;
    }
    __mmask16 m = (__mmask16)((1u << c->out_c) - 1); /* out_c < 16 here */
    _mm_mask_storeu_epi8(dst, m, _mm512_castsi512_si128(b));
    if (pixels > 1) _mm_mask_storeu_epi8(dst + c->out_c, m, _mm512_extracti32x4_epi32(b, 1));
    if (pixels > 2) _mm_mask_storeu_epi8(dst + 2 * c->out_c, m, _mm512_extracti32x4_epi32(b, 2));
    if (pixels > 3) _mm_mask_storeu_epi8(dst + 3 * c->out_c, m, _mm512_extracti32x4_epi32(b, 3));
}

/* Named accumulators (GCC keeps arrays of vectors on the stack): pixel p,
 * vectors 0 and 1. */
#define ACC_INIT(p)                                                              \
    __m512i a##p##0 = b0, a##p##1 = b1;
/* the input sums are added last, as long as possible after stem_prep8
 * stored them (read at once, they waited for the store: 15 % slower) */
#define ACC_CORR(p)                                                              \
    if (P > p) {                                                                 \
        __m512i k = _mm512_set1_epi32(corr[p]);                                  \
        a##p##0 = _mm512_add_epi32(a##p##0, k);                                  \
        if (NV == 2) a##p##1 = _mm512_add_epi32(a##p##1, k);                     \
    }
#define ACC_DOT(p, src)                                                          \
    if (P > p) {                                                                 \
        __m512i xb = stem_bcast(src);                                            \
        STEM_DPBUSD(a##p##0, xb, w0);                                            \
        if (NV == 2) STEM_DPBUSD(a##p##1, xb, w1);                               \
    }

/* P pixels (1, 4 or 8) x NV vectors. rows[r]: the first pixel's bytes of
 * kernel row r (NULL: a padded row, in the bias); ninth: per pixel, the
 * dword of the rows' ninth bytes; corr: per pixel (o - zw) sum x, or NULL. */
INLINE_VNNI void stem_tile(const int P, const int NV, const stem_ctx *c,
                           const uint8_t *const rows[3], int step, const int32_t *bias,
                           const int32_t *ninth, const int32_t *corr, uint8_t *dst) {
    __m512i b0 = _mm512_loadu_si512(bias), b1 = NV == 2 ? _mm512_loadu_si512(bias + 16) : b0;
    ACC_INIT(0) ACC_INIT(1) ACC_INIT(2) ACC_INIT(3) ACC_INIT(4) ACC_INIT(5) ACC_INIT(6) ACC_INIT(7)
    const int8_t *w = c->weights;
    for (int r = 0; r < 3; r++) {
        if (!rows[r]) {
            w += 2 * NV * 64;
            continue;
        }
        for (int gq = 0; gq < 2; gq++, w += NV * 64) {
            const uint8_t *x = rows[r] + 4 * gq;
            __m512i w0 = _mm512_loadu_si512(w), w1 = NV == 2 ? _mm512_loadu_si512(w + 64) : w0;
            ACC_DOT(0, x) ACC_DOT(1, x + step) ACC_DOT(2, x + 2 * step) ACC_DOT(3, x + 3 * step)
            ACC_DOT(4, x + 4 * step) ACC_DOT(5, x + 5 * step) ACC_DOT(6, x + 6 * step)
            ACC_DOT(7, x + 7 * step)
        }
    }
    {
        const uint8_t *e = (const uint8_t *)ninth;
        __m512i w0 = _mm512_loadu_si512(w), w1 = NV == 2 ? _mm512_loadu_si512(w + 64) : w0;
        ACC_DOT(0, e) ACC_DOT(1, e + 4) ACC_DOT(2, e + 8) ACC_DOT(3, e + 12) ACC_DOT(4, e + 16)
        ACC_DOT(5, e + 20) ACC_DOT(6, e + 24) ACC_DOT(7, e + 28)
    }
    if (corr) {
        ACC_CORR(0) ACC_CORR(1) ACC_CORR(2) ACC_CORR(3) ACC_CORR(4) ACC_CORR(5) ACC_CORR(6)
        ACC_CORR(7)
    }
    /* every group packed before the first store: the stores could alias
     * the requantization table and c, which would then be reloaded */
    int out_c = c->out_c;
    if (NV == 2) {
        __m512i g0 = stem_pack_group(c, a00, a01, a10, a11, 2), g1 = g0, g2 = g0, g3 = g0;
        if (P > 2) g1 = stem_pack_group(c, a20, a21, a30, a31, 2);
        if (P > 4) {
            g2 = stem_pack_group(c, a40, a41, a50, a51, 2);
            g3 = stem_pack_group(c, a60, a61, a70, a71, 2);
        }
        stem_store_group(c, dst, P > 1 ? 2 : 1, g0, 2);
        if (P > 2) stem_store_group(c, dst + 2 * out_c, 2, g1, 2);
        if (P > 4) {
            stem_store_group(c, dst + 4 * out_c, 2, g2, 2);
            stem_store_group(c, dst + 6 * out_c, 2, g3, 2);
        }
    } else {
        __m512i g0 = stem_pack_group(c, a00, a10, a20, a30, 1), g1 = g0;
        if (P > 4) g1 = stem_pack_group(c, a40, a50, a60, a70, 1);
        stem_store_group(c, dst, P < 4 ? P : 4, g0, 1);
        if (P > 4) stem_store_group(c, dst + 4 * out_c, 4, g1, 1);
    }
}
#undef ACC_INIT
#undef ACC_CORR
#undef ACC_DOT

#define STEM_TILE_FN(P, NV)                                                                       \
    MNET_VNNI static void stem_tile_##P##_##NV(const stem_ctx *c, const uint8_t *const rows[3],   \
                                               int step, const int32_t *bias,                     \
                                               const int32_t *ninth, const int32_t *corr,         \
                                               uint8_t *dst) {                                    \
        stem_tile(P, NV, c, rows, step, bias, ninth, corr, dst);                                  \
    }
STEM_TILE_FN(8, 2)
STEM_TILE_FN(4, 2)
STEM_TILE_FN(1, 2)
STEM_TILE_FN(8, 1)
STEM_TILE_FN(4, 1)
STEM_TILE_FN(1, 1)

typedef void (*stem_tile_fn)(const stem_ctx *, const uint8_t *const[3], int, const int32_t *,
                             const int32_t *, const int32_t *, uint8_t *);

/* Word permutes over a row's first 64 bytes widened to words, for 8
 * pixels at `step` bytes from each other: ninth puts pixel p's ninth byte
 * in the low word of dword p, spare its byte j of the spare tap's row; for
 * the input sums, A holds the word pairs (0,1) of the pixels in dwords 0-7
 * and (2,3) in dwords 8-15, B pairs (4,5) and (6,7), and the ninth bytes
 * complete them. */
typedef struct stem_prep_idx {
    __m512i ninth, spare, a, b;
} stem_prep_idx;

MNET_VNNI static stem_prep_idx stem_prep_idx_init(int step, int spare_j) {
    int16_t e[32], sj[32], a[32], b[32];
    for (int d = 0; d < 16; d++) {
        int sp = step * (d % 8), first = d < 8 ? 0 : 2;
        e[2 * d] = (int16_t)(sp + 8);
        e[2 * d + 1] = 0;
        sj[2 * d] = (int16_t)(sp + spare_j);
        sj[2 * d + 1] = 0;
        a[2 * d] = (int16_t)(sp + first);
        a[2 * d + 1] = (int16_t)(sp + first + 1);
        b[2 * d] = (int16_t)(sp + 4 + first);
        b[2 * d + 1] = (int16_t)(sp + 5 + first);
    }
    stem_prep_idx v = {_mm512_loadu_si512(e), _mm512_loadu_si512(sj), _mm512_loadu_si512(a),
                       _mm512_loadu_si512(b)};
    return v;
}

/* For n <= 8 adjacent direct pixels: the dwords of their rows' ninth bytes
 * (0 for padded rows) and spare byte (the spare tap's input, 0 for none or
 * in a padded row) and, if the weights need it (never with a spare tap),
 * (o - zw) sum x over their 27 bytes. Masked loads: nothing past the last
 * byte the pixels use is read.
 * (Vector code: gathering the ninth bytes with scalar loads measured
 * slower.) */
MNET_VNNI static void stem_prep8(const stem_ctx *c, const stem_prep_idx *ix,
                                 const uint8_t *const rows[3], int n, int32_t *ninth,
                                 int32_t *corr) {
    int need = c->step * (n - 1) + 9; /* <= 51 */
    __mmask32 m0 = need >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << need) - 1);
    __mmask32 m1 = need <= 32 ? 0 : (__mmask32)((1u << (need - 32)) - 1);
    __m512i t0 = _mm512_setzero_si512(), t1 = _mm512_setzero_si512();
    __m512i e = _mm512_setzero_si512();
    for (int r = 0; r < 3; r++) {
        if (!rows[r]) continue;
        __m512i lo = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m0, rows[r]));
        __m512i hi = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m1, rows[r] + 32));
        __m512i er = _mm512_maskz_permutex2var_epi16(0x55555555u, lo, ix->ninth, hi);
        e = _mm512_or_si512(e, _mm512_slli_epi32(er, 8 * r));
        if (r == c->spare_row) {
            __m512i es = _mm512_maskz_permutex2var_epi16(0x55555555u, lo, ix->spare, hi);
            e = _mm512_or_si512(e, _mm512_slli_epi32(es, 24));
        }
        t0 = _mm512_add_epi16(t0, lo);
        t1 = _mm512_add_epi16(t1, hi);
    }
    _mm256_storeu_si256((__m256i *)ninth, _mm512_castsi512_si256(e));
    if (!c->sum_scale) return;
    /* bytes 0-7: words <= 3 x 255, sums of two fit int16 */
    __m512i w = _mm512_add_epi16(_mm512_permutex2var_epi16(t0, ix->a, t1),
                                 _mm512_permutex2var_epi16(t0, ix->b, t1));
    __m512i d = _mm512_madd_epi16(w, _mm512_set1_epi16(1));
    __m256i sum = _mm256_add_epi32(_mm512_castsi512_si256(d), _mm512_extracti64x4_epi64(d, 1));
    /* the ninth bytes: the three rows' in bytes 0-2 of each dword */
    __m256i n9 = _mm512_castsi512_si256(e), ff = _mm256_set1_epi32(0xFF);
    n9 = _mm256_add_epi32(_mm256_add_epi32(_mm256_and_si256(n9, ff),
                                           _mm256_and_si256(_mm256_srli_epi32(n9, 8), ff)),
                          _mm256_srli_epi32(n9, 16));
    sum = _mm256_add_epi32(sum, n9);
    _mm256_storeu_si256((__m256i *)corr,
                        _mm256_mullo_epi32(sum, _mm256_set1_epi32(c->sum_scale)));
}

typedef struct stem_tiles {
    stem_tile_fn t8, t4, t1;
    stem_prep_idx idx;
} stem_tiles;

/* A span of n <= 8 adjacent output pixels of one row, prepared
 * (stem_prep8) one span ahead of its tiles: the multiply-adds of a span
 * overlap the preparation of the next, and the tiles read ninth and corr
 * long after they were stored. at[r]: row r of the first pixel (NULL:
 * padded row), in the input or, for pixels with padded columns, in buf. */
typedef struct stem_pending {
    const uint8_t *at[3];
    uint8_t *dst;
    int n;
    int32_t ninth[8], corr[8];
    uint8_t buf[3][64];
} stem_pending;

/* The span's pixels in the largest tiles that fit. */
MNET_VNNI static void stem_span_run(const stem_ctx *c, const stem_tiles *t,
                                    const stem_pending *sp, const int32_t *bias) {
    for (int done = 0; done < sp->n;) {
        int left = sp->n - done, P = left == 8 ? 8 : left >= 4 ? 4 : 1;
        const uint8_t *tr[3];
        for (int r = 0; r < 3; r++) tr[r] = sp->at[r] ? sp->at[r] + (size_t)done * c->step : NULL;
        (P == 8 ? t->t8 : P == 4 ? t->t4 : t->t1)(c, tr, c->step, bias, sp->ninth + done,
                                                  c->sum_scale ? sp->corr + done : NULL,
                                                  sp->dst + (size_t)done * c->out_c);
        done += P;
    }
}

/* Copies the rows of a span with padded columns into sp->buf, the padding
 * as the input zero point. start: the row byte of the first pixel's first
 * tap (negative with left padding). */
static void stem_span_buffer(stem_pending *sp, const uint8_t *const rows[3], long start,
                             long row_bytes, int32_t zx) {
    long from = start < 0 ? 0 : start, to = start + 64 < row_bytes ? start + 64 : row_bytes;
    for (int r = 0; r < 3; r++) {
        sp->at[r] = rows[r] ? sp->buf[r] : NULL;
        if (!rows[r]) continue;
        memset(sp->buf[r], zx, sizeof sp->buf[r]);
        if (from < to) memcpy(sp->buf[r] + (from - start), rows[r] + from, (size_t)(to - from));
    }
}

MNET_VNNI void mnet_q8_vnni_stem_run(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                     const uint8_t *in, const void *packed,
                                     const int32_t *packed_bias, uint8_t *out, int row_begin,
                                     int row_end) {
    const uint8_t *base = packed;
    int32_t header[HDR_COUNT];
    memcpy(header, base, sizeof header);
    int nv = header[HDR_NV], padded = 16 * nv;
    const int32_t *rowconst = (const int32_t *)(base + STEM_WEIGHTS_OFFSET + weight_bytes(nv));
    stem_ctx c;
    c.weights = (const int8_t *)(base + STEM_WEIGHTS_OFFSET);
    c.order = _mm512_loadu_si512(base + STEM_IDX_OFFSET);
    c.rq = (rq_ctx){(const int32_t *)((const uint8_t *)rowconst + rowconst_bytes(nv)), padded,
                    header[HDR_ANY_SHORT], !p->channel_requant, p->output_zero_point, p->out_min,
                    p->out_max};
    c.r = rq_load(&c.rq, 0);
    float fscale, foffset;
    memcpy(&fscale, &header[HDR_FSCALE], sizeof fscale);
    memcpy(&foffset, &header[HDR_FOFFSET], sizeof foffset);
    c.float_route = header[HDR_FLOAT] && !p->channel_requant;
    c.scale = _mm512_set1_ps(fscale);
    c.offset = _mm512_set1_ps(foffset);
    c.nv = nv;
    c.out_c = g->out_c;
    c.step = 3 * g->stride_w;
    c.sum_scale = header[HDR_SUM_SCALE];
    c.spare_row = header[HDR_SPARE] >= 0 ? header[HDR_SPARE] / 9 : -1;
    int spare_j = header[HDR_SPARE] >= 0 ? header[HDR_SPARE] % 9 : 0;
    stem_tiles t = {nv == 2 ? stem_tile_8_2 : stem_tile_8_1,
                    nv == 2 ? stem_tile_4_2 : stem_tile_4_1,
                    nv == 2 ? stem_tile_1_2 : stem_tile_1_1, stem_prep_idx_init(c.step, spare_j)};
    int s = g->stride_w, out_c = g->out_c, out_w = g->out_w;
    /* the direct pixels through the wide kernel: its bias in channel order */
    int wide = header[HDR_WIDE] && !p->channel_requant, pos_of[32];
    mnet_q8_stem_wide wd = {.weights = (const int32_t *)(base + wide_offset(nv)),
                            .table = c.rq.table,
                            .padded = padded,
                            .any_short = c.rq.any_short,
                            .zero_point = c.rq.zero_point,
                            .out_min = c.rq.out_min,
                            .out_max = c.rq.out_max,
                            .step = c.step,
                            .spare = header[HDR_SPARE],
                            .sum_scale = c.sum_scale,
                            .float_route = c.float_route,
                            .scale = fscale,
                            .offset = foffset};
    if (wide)
        for (int pos = 0; pos < padded; pos++) pos_of[pos_channel(pos, out_c)] = pos;
    long row_bytes = (long)g->in_w * 3;
    int32_t zx = p->input_zero_point;
    int lo, hi;
    mnet_q8_stem_direct_columns(g, &lo, &hi);
    stem_pending spans[2];
    for (int oy = row_begin; oy < row_end; oy++) {
        uint8_t *orow = out + (size_t)oy * out_w * out_c;
        const uint8_t *rows[3];
        int32_t bias[32];
        mnet_q8_stem_row(g, in, oy, packed_bias, rowconst, padded, rows, bias);
        /* direct pixels: every tap inside the row; with fewer than 8 of
         * them the whole row runs through buffers */
        int begin = lo, end = hi;
        if (end - begin < 8) begin = end = out_w;
        /* the spans: [0, begin) padded, [begin, end) direct, [end, out_w)
         * padded; a partial span of 5-7 pixels (2-3) moves back over pixels
         * already written (same values) to make 8 (4) when they fit: one
         * 8-pixel tile costs less than 4 + 1 + 1 + 1 (a single pixel's 14
         * dependent multiply-adds wait on each other) */
        int slot = 0, pending = 0;
        for (int part = 0; part < 3; part++) {
            if (part == 1 && wide && end - begin >= 16) {
                int32_t bias_ch[32];
                for (int ch = 0; ch < 32; ch++) bias_ch[ch] = bias[pos_of[ch]];
                mnet_q8_stem_wide_row(&wd, rows, (long)(begin * s - g->pad_left) * 3, end - begin,
                                      bias_ch, orow + (size_t)begin * 32);
                continue;
            }
            int a = part == 0 ? 0 : part == 1 ? begin : end;
            int b = part == 0 ? begin : part == 1 ? end : out_w;
            int limit_lo = part == 1 ? begin : 0, limit_hi = part == 1 ? end : out_w;
            for (int ox = a; ox < b;) {
                int n = b - ox < 8 ? b - ox : 8;
                int want = n > 4 ? 8 : n > 1 ? 4 : n;
                if (n < want && limit_hi - limit_lo >= want) {
                    ox = ox < limit_hi - want ? ox : limit_hi - want;
                    n = want;
                }
                stem_pending *sp = &spans[slot];
                long start = (long)(ox * s - g->pad_left) * 3;
                if (part == 1) {
                    for (int r = 0; r < 3; r++) sp->at[r] = rows[r] ? rows[r] + start : NULL;
                } else {
                    stem_span_buffer(sp, rows, start, row_bytes, zx);
                }
                sp->n = n;
                sp->dst = orow + (size_t)ox * out_c;
                stem_prep8(&c, &t.idx, sp->at, n, sp->ninth, sp->corr);
                if (pending) stem_span_run(&c, &t, &spans[slot ^ 1], bias);
                pending = 1;
                slot ^= 1;
                ox += n;
            }
        }
        if (pending) stem_span_run(&c, &t, &spans[slot ^ 1], bias);
    }
}

#else

int mnet_q8_vnni_stem_set_wide(void *packed, int on, int float_route) {
    (void)packed, (void)on, (void)float_route;
    return 0;
}

#endif
