/* AVX-512 VBMI + VNNI stem rows: 16 output pixels per pass, one pixel per
 * 32-bit lane, bit-identical to mnet_q8_ref_conv (through q8_vnni_stem.c,
 * which packs the weights and handles everything but the direct pixels).
 *
 * What bounds the stem on Zen 5 (measured): vpdpbusd, vpmuldq and FMA share
 * two pipes, and a pixel needs 14 vpdpbusd (27 bytes x 32 channels) plus
 * its requantization's multiplies; byte shuffles partly compete too.
 * Pixels in the lanes: the 7 input vectors of 16 pixels (4 bytes of each
 * pixel's 27 + the spare byte per lane, step k as in q8_stem_common.h) are
 * built once by byte permutes (vpermt2b over the up to 128 input bytes of a
 * row that the 16 pixels read; neighbours share their overlapping column)
 * and each channel's 4 weight bytes come in as the broadcast memory operand
 * of vpdpbusd: 7 instructions per channel and 16 pixels, no broadcasts to
 * registers and no ninth-byte preparation in memory (q8_vnni_stem.c's
 * tiles need both). Input sums, when the weights need them, are 7 more
 * vpdpbusd (weights 1) per 16 pixels, folded into the accumulators' start.
 *
 * Requantization, per-tensor, three routes: the float one
 * (q8_float_requant.h: one FMA per 16 values instead of two
 * vpmuldq, proven exact at pack time, zero point in its offset), the word
 * one (long shifts with s2 <= 7: the nudge, s2 and the zero point after the
 * saturating pack to int16), else q8_vnni_common.h's requant_r. Then the
 * bytes (4 channels x 4 pixels per 128-bit lane) are transposed to 2 pixels
 * x 32 channels per vector by three levels of vpermt2b and stored. */
#include "int8/q8_vnni_stem_wide.h"

#include "int8/q8_float_requant.h"
#include "int8/q8_vnni_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <cpuid.h>

int mnet_q8_stem_wide_cpu(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (int)((c >> 1) & 1); /* CPUID.(7,0):ECX bit 1, AVX512_VBMI */
}

#define MNET_VBMI \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi")))
#define INLINE_VBMI MNET_VBMI static inline __attribute__((always_inline))

/* acc += x (unsigned bytes) . the dword at wp broadcast (signed bytes) */
#define WIDE_DP(acc, x, wp) \
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(x), "m"(*(wp)))

typedef struct wide_consts {
    __m512i half0, half1, ninth, spare; /* vpermt2b indices (below) */
    __m512i tr[3][2];                   /* vpermt2b: the transpose (wide_transpose) */
    __mmask64 lo_mask, hi_mask;         /* the bytes of a row the 16 pixels read */
    rq_ctx rq;
    rq_vec r;
    int word_route; /* requantization finished on int16 (wide_pack4) */
    int float_route;
    __m512 scale, offset;
    __m512i word_add;
    __m128i word_shift;
    int spare_row;
} wide_consts;

/* The 16 pixels' 4-byte groups of step k (lane p = pixel p): bytes
 * 4h..4h+3 of each pixel's row bytes (half h = k % 2, row k / 2); ninth:
 * byte 8 of a row (its lanes' byte r taken from row r); spare: byte j of
 * the spare tap's row, in byte 3. */
MNET_VBMI static void wide_consts_init(wide_consts *k, const mnet_q8_stem_wide *w) {
    uint8_t h0[64], h1[64], n9[64], sp[64], tr[3][2][64];
    int spare_j = w->spare >= 0 ? w->spare % 9 : 0;
    for (int p = 0; p < 16; p++)
        for (int b = 0; b < 4; b++) {
            int at = w->step * p;
            h0[4 * p + b] = (uint8_t)(at + b);
            h1[4 * p + b] = (uint8_t)(at + 4 + b);
            n9[4 * p + b] = (uint8_t)(at + 8);
            sp[4 * p + b] = (uint8_t)(at + spare_j);
        }
    /* the transpose (wide_transpose): output byte b of each level, from
     * the first source (0-63) or the second (64-127) */
    for (int q = 0; q < 2; q++)
        for (int b = 0; b < 64; b++) {
            /* level 1: pixel 8q + b / 8, channel b % 8 of the pair; in g,
             * byte 16 (p / 4) + 4 (c % 4) + p % 4 */
            int p = 8 * q + b / 8, c = b % 8;
            tr[0][q][b] = (uint8_t)(64 * (c / 4) + 16 * (p / 4) + 4 * (c % 4) + p % 4);
            /* level 2 (u = q): pixel 4u + b / 16 of the 8, channel b % 16 */
            c = b % 16;
            tr[1][q][b] = (uint8_t)(64 * (c / 8) + 8 * (4 * q + b / 16) + c % 8);
            /* level 3 (v = q): pixel 2v + b / 32 of the 4, channel b % 32 */
            c = b % 32;
            tr[2][q][b] = (uint8_t)(64 * (c / 16) + 16 * (2 * q + b / 32) + c % 16);
        }
    k->half0 = _mm512_loadu_si512(h0);
    k->half1 = _mm512_loadu_si512(h1);
    k->ninth = _mm512_loadu_si512(n9);
    k->spare = _mm512_loadu_si512(sp);
    for (int l = 0; l < 3; l++)
        for (int q = 0; q < 2; q++) k->tr[l][q] = _mm512_loadu_si512(tr[l][q]);
    int need = w->step * 15 + 9; /* 54 or 99 */
    k->lo_mask = need >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << need) - 1;
    k->hi_mask = need <= 64 ? 0 : ((__mmask64)1 << (need - 64)) - 1;
    k->rq = (rq_ctx){.table = w->table,
                     .padded = w->padded,
                     .any_short = w->any_short,
                     .uniform = 1,
                     .zero_point = w->zero_point,
                     .out_min = w->out_min,
                     .out_max = w->out_max};
    k->r = rq_load(&k->rq, 0);
    /* the word route: for the long-shift route with s2 <= 7, the nudge
     * 2^(s2-1), the shift s2 and the zero point move after the saturating
     * pack to int16, as one saturating add of 2^(s2-1) + zp 2^s2 and one
     * 16-bit shift. Exact where it matters: without saturation it is the
     * same integer arithmetic; a value saturated high (low) ends at least
     * 2^(15-s2) - 1 >= 255 (at most zp - 2^(15-s2) < 0) whatever it was,
     * which packus and the clamps turn into the same byte as the int32
     * route's. */
    int32_t s2 = w->table[MNET_Q8_RQ_SHIFT2 * w->padded];
    int32_t r32 = w->table[MNET_Q8_RQ_ROUND32 * w->padded];
    k->word_route = !w->any_short && s2 >= 0 && s2 <= 7;
    k->word_add = _mm512_set1_epi16((int16_t)(r32 + w->zero_point * (1 << (s2 & 7))));
    k->word_shift = _mm_cvtsi32_si128(s2 & 7);
    k->float_route = w->float_route;
    k->scale = _mm512_set1_ps(w->scale);
    k->offset = _mm512_set1_ps(w->offset);
    k->spare_row = w->spare >= 0 ? w->spare / 9 : -1;
}

/* The high halves of the 64-bit products acc * mult, int32 per lane (the
 * long-shift route before its nudge and s2). */
INLINE_VBMI __m512i wide_high(__m512i acc, __m512i mult) {
    __m512i pe = _mm512_mul_epi32(acc, mult);
    __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), mult);
    return _mm512_mask_shuffle_epi32(po, 0x5555, pe, _MM_PERM_CDAB);
}

/* Four accumulators (channels 4g..4g+3) requantized to bytes; 128-bit lane
 * i: channel 4g + m of pixel 4i + j in byte 4m + j. */
INLINE_VBMI __m512i wide_pack4(const wide_consts *k, __m512i a0, __m512i a1, __m512i a2,
                               __m512i a3) {
    int any_short = k->rq.any_short;
    if (k->float_route) { /* zero point in the offset */
        __m512i w01 = _mm512_packs_epi32(mnet_q8_float_rq(a0, k->scale, k->offset),
                                         mnet_q8_float_rq(a1, k->scale, k->offset));
        __m512i w23 = _mm512_packs_epi32(mnet_q8_float_rq(a2, k->scale, k->offset),
                                         mnet_q8_float_rq(a3, k->scale, k->offset));
        __m512i b = _mm512_packus_epi16(w01, w23);
        if (k->rq.out_min > 0) b = _mm512_max_epu8(b, _mm512_set1_epi8((char)k->rq.out_min));
        if (k->rq.out_max < 255) b = _mm512_min_epu8(b, _mm512_set1_epi8((char)k->rq.out_max));
        return b;
    }
    if (k->word_route) {
        __m512i w01 = _mm512_packs_epi32(wide_high(a0, k->r.mult), wide_high(a1, k->r.mult));
        __m512i w23 = _mm512_packs_epi32(wide_high(a2, k->r.mult), wide_high(a3, k->r.mult));
        w01 = _mm512_sra_epi16(_mm512_adds_epi16(w01, k->word_add), k->word_shift);
        w23 = _mm512_sra_epi16(_mm512_adds_epi16(w23, k->word_add), k->word_shift);
        __m512i b = _mm512_packus_epi16(w01, w23);
        if (k->rq.out_min > 0) b = _mm512_max_epu8(b, _mm512_set1_epi8((char)k->rq.out_min));
        if (k->rq.out_max < 255) b = _mm512_min_epu8(b, _mm512_set1_epi8((char)k->rq.out_max));
        return b;
    }
    __m512i w01 = _mm512_packs_epi32(requant_r(a0, &k->r, any_short),
                                     requant_r(a1, &k->r, any_short));
    __m512i w23 = _mm512_packs_epi32(requant_r(a2, &k->r, any_short),
                                     requant_r(a3, &k->r, any_short));
    if (k->rq.zero_point) {
        __m512i zp = _mm512_set1_epi16((int16_t)k->rq.zero_point);
        w01 = _mm512_adds_epi16(w01, zp);
        w23 = _mm512_adds_epi16(w23, zp);
    }
    __m512i b = _mm512_packus_epi16(w01, w23);
    if (k->rq.out_min > 0) b = _mm512_max_epu8(b, _mm512_set1_epi8((char)k->rq.out_min));
    if (k->rq.out_max < 255) b = _mm512_min_epu8(b, _mm512_set1_epi8((char)k->rq.out_max));
    return b;
}

/* The packed groups g0..g7 (wide_pack4: channels 4g..) -> 16 pixels x 32
 * channels, pixel-major, in three levels of two-source byte permutes:
 * pairs of groups -> 8 pixels x 8 channels (h), pairs of those -> 4 pixels x
 * 16 channels (i), pairs of those -> 2 pixels x 32 channels (o), stored as
 * 64 contiguous bytes. */
INLINE_VBMI void wide_transpose(const wide_consts *k, __m512i g0, __m512i g1, __m512i g2,
                                __m512i g3, __m512i g4, __m512i g5, __m512i g6, __m512i g7,
                                uint8_t *dst) {
    /* h{m}{q}: channels 8m.., pixels 8q.. */
    __m512i h00 = _mm512_permutex2var_epi8(g0, k->tr[0][0], g1);
    __m512i h01 = _mm512_permutex2var_epi8(g0, k->tr[0][1], g1);
    __m512i h10 = _mm512_permutex2var_epi8(g2, k->tr[0][0], g3);
    __m512i h11 = _mm512_permutex2var_epi8(g2, k->tr[0][1], g3);
    __m512i h20 = _mm512_permutex2var_epi8(g4, k->tr[0][0], g5);
    __m512i h21 = _mm512_permutex2var_epi8(g4, k->tr[0][1], g5);
    __m512i h30 = _mm512_permutex2var_epi8(g6, k->tr[0][0], g7);
    __m512i h31 = _mm512_permutex2var_epi8(g6, k->tr[0][1], g7);
    /* i{h}{q}{u}: channels 16h.., pixels 8q + 4u.. */
#define WIDE_LEVEL23(q, ha, hb, hc, hd)                                                  \
    for (int u = 0; u < 2; u++) {                                                        \
        __m512i i0 = _mm512_permutex2var_epi8(ha, k->tr[1][u], hb);                      \
        __m512i i1 = _mm512_permutex2var_epi8(hc, k->tr[1][u], hd);                      \
        for (int v = 0; v < 2; v++)                                                      \
            _mm512_storeu_si512(dst + 32 * (8 * (q) + 4 * u + 2 * v),                   \
                                _mm512_permutex2var_epi8(i0, k->tr[2][v], i1));          \
    }
    WIDE_LEVEL23(0, h00, h10, h20, h30)
    WIDE_LEVEL23(1, h01, h11, h21, h31)
#undef WIDE_LEVEL23
}

/* Named accumulators (GCC keeps arrays of vectors on the stack). */
#define WIDE_INIT(c)                                                                \
    __m512i a##c = SUMS ? _mm512_add_epi32(corr, _mm512_set1_epi32(bias[base + c]))  \
                        : _mm512_set1_epi32(bias[base + c]);
/* step k of channel c: weights[c][k] */
#define WIDE_DPC(c, k) WIDE_DP(a##c, x##k, w->weights + (size_t)(base + c) * 8 + k);
/* step k for all 16 channels: step-major, so that the 16 chains of
 * dependent multiply-adds advance together */
#define WIDE_STEP(k)                                                                       \
    WIDE_DPC(0, k) WIDE_DPC(1, k) WIDE_DPC(2, k) WIDE_DPC(3, k) WIDE_DPC(4, k)             \
    WIDE_DPC(5, k) WIDE_DPC(6, k) WIDE_DPC(7, k) WIDE_DPC(8, k) WIDE_DPC(9, k)             \
    WIDE_DPC(10, k) WIDE_DPC(11, k) WIDE_DPC(12, k) WIDE_DPC(13, k) WIDE_DPC(14, k)        \
    WIDE_DPC(15, k)

#define WIDE_HALF(g0, g1, g2, g3)                                                             \
    {                                                                                         \
        WIDE_INIT(0) WIDE_INIT(1) WIDE_INIT(2) WIDE_INIT(3) WIDE_INIT(4) WIDE_INIT(5)         \
        WIDE_INIT(6) WIDE_INIT(7) WIDE_INIT(8) WIDE_INIT(9) WIDE_INIT(10) WIDE_INIT(11)       \
        WIDE_INIT(12) WIDE_INIT(13) WIDE_INIT(14) WIDE_INIT(15)                               \
        WIDE_STEP(0) WIDE_STEP(1) WIDE_STEP(2) WIDE_STEP(3) WIDE_STEP(4) WIDE_STEP(5)         \
        WIDE_STEP(6)                                                                          \
        g0 = wide_pack4(k, a0, a1, a2, a3);                                                   \
        g1 = wide_pack4(k, a4, a5, a6, a7);                                                   \
        g2 = wide_pack4(k, a8, a9, a10, a11);                                                 \
        g3 = wide_pack4(k, a12, a13, a14, a15);                                               \
    }

/* 16 pixels whose row bytes start at rows[r] + at; 512 bytes to dst.
 * SUMS: add (o - zw) sum x per pixel (the sum of its 27 bytes by 7 more
 * multiply-adds with weights 1, the ninth-byte dword's fourth byte being 0
 * then), folded into the accumulators' start. */
INLINE_VBMI void wide_block(const int SUMS, const mnet_q8_stem_wide *w, const wide_consts *k,
                            const uint8_t *const rows[3], long at, const int32_t *bias,
                            uint8_t *dst) {
    __m512i lo[3], hi[3];
    for (int r = 0; r < 3; r++) {
        /* a padded row reads as zeros: its share is in the bias */
        lo[r] = rows[r] ? _mm512_maskz_loadu_epi8(k->lo_mask, rows[r] + at)
                        : _mm512_setzero_si512();
        hi[r] = rows[r] && k->hi_mask ? _mm512_maskz_loadu_epi8(k->hi_mask, rows[r] + at + 64)
                                      : _mm512_setzero_si512();
    }
    __m512i x0 = _mm512_permutex2var_epi8(lo[0], k->half0, hi[0]);
    __m512i x1 = _mm512_permutex2var_epi8(lo[0], k->half1, hi[0]);
    __m512i x2 = _mm512_permutex2var_epi8(lo[1], k->half0, hi[1]);
    __m512i x3 = _mm512_permutex2var_epi8(lo[1], k->half1, hi[1]);
    __m512i x4 = _mm512_permutex2var_epi8(lo[2], k->half0, hi[2]);
    __m512i x5 = _mm512_permutex2var_epi8(lo[2], k->half1, hi[2]);
    const __mmask64 byte0 = 0x1111111111111111ull;
    __m512i x6 = _mm512_maskz_permutex2var_epi8(byte0, lo[0], k->ninth, hi[0]);
    x6 = _mm512_or_si512(x6, _mm512_maskz_permutex2var_epi8(byte0 << 1, lo[1], k->ninth, hi[1]));
    x6 = _mm512_or_si512(x6, _mm512_maskz_permutex2var_epi8(byte0 << 2, lo[2], k->ninth, hi[2]));
    if (k->spare_row >= 0) {
        int s = k->spare_row;
        x6 = _mm512_or_si512(x6,
                             _mm512_maskz_permutex2var_epi8(byte0 << 3, lo[s], k->spare, hi[s]));
    }
    __m512i corr = _mm512_setzero_si512();
    if (SUMS) {
        __m512i ones = _mm512_set1_epi8(1), sum = _mm512_setzero_si512();
        sum = _mm512_dpbusd_epi32(sum, x0, ones);
        sum = _mm512_dpbusd_epi32(sum, x1, ones);
        sum = _mm512_dpbusd_epi32(sum, x2, ones);
        sum = _mm512_dpbusd_epi32(sum, x3, ones);
        sum = _mm512_dpbusd_epi32(sum, x4, ones);
        sum = _mm512_dpbusd_epi32(sum, x5, ones);
        sum = _mm512_dpbusd_epi32(sum, x6, ones);
        corr = _mm512_mullo_epi32(sum, _mm512_set1_epi32(w->sum_scale));
    }
    __m512i g0, g1, g2, g3, g4, g5, g6, g7;
    {
        const int base = 0;
        WIDE_HALF(g0, g1, g2, g3)
    }
    {
        const int base = 16;
        WIDE_HALF(g4, g5, g6, g7)
    }
    wide_transpose(k, g0, g1, g2, g3, g4, g5, g6, g7, dst);
}

MNET_VBMI void mnet_q8_stem_wide_row(const mnet_q8_stem_wide *w, const uint8_t *const rows[3],
                                     long start, int count, const int32_t bias[32],
                                     uint8_t *dst) {
    wide_consts k;
    wide_consts_init(&k, w);
    /* blocks of 16; the last one moves back over pixels already written
     * (same values) when count is not a multiple of 16 */
    for (int done = 0; done < count;) {
        int p = count - done >= 16 ? done : count - 16;
        if (w->sum_scale)
            wide_block(1, w, &k, rows, start + (long)p * w->step, bias, dst + (size_t)p * 32);
        else
            wide_block(0, w, &k, rows, start + (long)p * w->step, bias, dst + (size_t)p * 32);
        done = p + 16;
    }
}

#else

int mnet_q8_stem_wide_cpu(void) { return 0; }

void mnet_q8_stem_wide_row(const mnet_q8_stem_wide *w, const uint8_t *const rows[3], long start,
                           int count, const int32_t bias[32], uint8_t *dst) {
    (void)w, (void)rows, (void)start, (void)count, (void)bias, (void)dst;
}

#endif
