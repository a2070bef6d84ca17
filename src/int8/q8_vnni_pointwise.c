/* AVX-512 VNNI 1x1 convolution (pointwise, FC, and dense convolutions over
 * gathered patches); the arithmetic and layouts are in q8_vnni_common.h.
 * Pixels go in chunks of up to 192 (32 tiles of 6, 32 KB of input); each
 * 64-channel block (or tail) runs over the whole chunk in one call. Narrow tails have their own
 * shapes: the last 16 channels 4 pixels at a time, stored together; 17..24
 * channels (N = 24) in pixel pairs of 3 vectors instead of 4. Narrow
 * layers of 65..80, 81..96 and 129..144 channels run all their blocks in one
 * tile (pw_tile_wide), each input broadcast feeding every vector.
 * Per-channel requantization goes vector by vector over a tile's pixels
 * (each position's constants loaded once). Per-tensor layers whose float
 * requantization (q8_float_requant.h: 1 FMA per 16 outputs instead of 2
 * vpmuldq, which share the vpdpbusd pipes) the pack proved exact take it in
 * the 64-blocks, the all-channel tiles (without residual entries) and the
 * 16-channel groups; 10-16 % off V2's 16 -> 96, 24 -> 144, 32 -> 192. */
#include "int8/q8_vnni_common.h"
#include "int8/q8_float_requant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

enum {
    PW_TILE = 6,                /* pixels per tile */
    CHUNK_TILES = 32,           /* tiles per chunk at most (192 pixels, 12 x 16 input sums) */
    CHUNK_INPUT_BYTES = 32768   /* and at most this much input (in L1 for every block) */
};

/* Weights: per block of up to 64 positions (nv vectors), per group of 4
 * input channels, nv x 64 bytes: lane l of vector v = position
 * block + 16 v + l, its 4 bytes the 4 input channels (0 padding), each
 * w - zw clamped to a signed byte (residual mode) or w - 128 (sum mode).
 *
 * Residual mode. With the weights stored as w - zw, no per-pixel input sum
 * is needed: sum x (w - zw) - zx sum (w - zw) = sum (x - zx)(w - zw), the
 * second term in the packed bias. A trained uint8 layer's weights fit
 * w - zw in a signed byte but for its 1-2 extremes; those are stored
 * clamped, and their residual r = (w - zw) - clamp(w - zw) (|r| <= 127) is
 * added to the accumulator of its position as r x[k], one vpdpbusd per
 * pixel: the input byte x[k] broadcast to every byte, the residual vector
 * holding r in byte 0 of the position's lane (0 elsewhere). Residuals of
 * one input k and one packed vector share an entry. A layer with more than
 * PW_MAX_RESIDUALS entries (or r = 128: w 255, zw 0), or with a small K
 * (at most 32, a multiple of 8: see pw_pack) keeps the sum mode:
 * weights w - 128 and (128 - zw) sum x added per pixel. Either way the
 * int32 sum is the reference's, wrapping alike. */
enum { PW_MAX_RESIDUALS = 8 };
/* int32 header cells; HDR_FLOAT: the float requantization (q8_float_requant.h)
 * proved exact for the layer, its float scale and offset (zero point
 * included) in the next two cells */
enum { HDR_ANY_SHORT, HDR_RESIDUAL_MODE, HDR_RESIDUALS, HDR_FLOAT, HDR_FSCALE, HDR_FOFFSET,
       HDR_CELLS };

static size_t pw_weight_bytes(int in_c, int out_c) {
    return (size_t)round_up(out_c, 16) * (size_t)round_up(in_c, 4);
}

/* After the table: PW_MAX_RESIDUALS residual vectors of 64 bytes, then
 * int32 k[PW_MAX_RESIDUALS] and vector[PW_MAX_RESIDUALS]. */
static size_t pw_residual_offset(int in_c, int out_c) {
    return HEADER_BYTES + pw_weight_bytes(in_c, out_c) + mnet_q8_rqtable_bytes(round_up(out_c, 16));
}

size_t mnet_q8_vnni_pw_pack_bytes(int in_c, int out_c) {
    return pw_residual_offset(in_c, out_c) + PW_MAX_RESIDUALS * (64 + 2 * sizeof(int32_t));
}

/* The residual entries of a layer with weights stored as w - zw: returns
 * their count, or -1 when the layer must keep the sum mode. */
static int pw_find_residuals(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                             int8_t res_w[][64], int32_t *res_k, int32_t *res_v) {
    int cp = round_up(out_c, 16), n = 0;
    for (int pos = 0; pos < cp; pos++) {
        int o = pos_channel(pos, out_c);
        for (int i = 0; i < in_c && o < out_c; i++) {
            int d = (int)w_oi[(size_t)o * in_c + i] - p->weight_zero_point;
            int r = d - (d < -128 ? -128 : d > 127 ? 127 : d);
            if (r == 0) continue;
            if (r > 127) return -1;
            int e = 0;
            while (e < n && (res_k[e] != i || res_v[e] != pos / 16)) e++;
            if (e == n) {
                if (n == PW_MAX_RESIDUALS) return -1;
                memset(res_w[n], 0, 64);
                res_k[n] = i;
                res_v[n] = pos / 16;
                n++;
            }
            res_w[e][(pos % 16) * 4] = (int8_t)r;
        }
    }
    return n;
}

void mnet_q8_vnni_pw_pack(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                    const int32_t *bias, void *packed, int32_t *packed_bias) {
    int in4 = round_up(in_c, 4), cp = round_up(out_c, 16);
    memset(packed, 0, mnet_q8_vnni_pw_pack_bytes(in_c, out_c));
    int8_t *dst = (int8_t *)packed + HEADER_BYTES;
    int8_t *res_at = (int8_t *)packed + pw_residual_offset(in_c, out_c);
    int8_t(*res_w)[64] = (int8_t(*)[64])res_at;
    int32_t res_k[PW_MAX_RESIDUALS] = {0}, res_v[PW_MAX_RESIDUALS] = {0};
    /* small K in multiples of 8 keeps the sums (16 pixels' at once, cheaper
     * there than the residual dot products: V2's 16 -> 96, 24 -> 144 and
     * 32 -> 16 ran 2-8 % slower in residual mode) */
    int nres = in_c % 8 == 0 && in_c <= 32 && p->weight_zero_point != 128
                   ? -1
                   : pw_find_residuals(in_c, out_c, p, w_oi, res_w, res_k, res_v);
    int residual_mode = nres >= 0;
    if (!residual_mode) {
        memset(res_at, 0, PW_MAX_RESIDUALS * 64);
        nres = 0;
    }
    memcpy(res_at + PW_MAX_RESIDUALS * 64, res_k, sizeof res_k);
    memcpy(res_at + PW_MAX_RESIDUALS * 64 + sizeof res_k, res_v, sizeof res_v);
    int32_t header[HDR_CELLS] = {
        fill_table((int32_t *)(dst + pw_weight_bytes(in_c, out_c)), cp, out_c, p), residual_mode,
        nres};
    /* The float requantization, per-tensor, where a kernel takes it: full
     * 64-blocks (pw_tile_6x64_f), the all-channel tiles of 65..96 and
     * 129..144 channels without residual entries (pw_tile_wide), a last
     * 16-vector (pw_tiles_6x16_f: out_c 16 and the tails of 16) */
    float fscale = 0, foffset = 0;
    header[HDR_FLOAT] = (out_c >= BLOCK || out_c == 16) && !p->channel_requant &&
                        mnet_q8_float_requant_find(p->requant, p->output_zero_point, &fscale,
                                                   &foffset);
    memcpy(&header[HDR_FSCALE], &fscale, sizeof fscale);
    memcpy(&header[HDR_FOFFSET], &foffset, sizeof foffset);
    memcpy(packed, header, sizeof header);
    int offset = residual_mode ? p->weight_zero_point : 128;
    for (int pos = 0; pos < cp; pos++) {
        int o = pos_channel(pos, out_c);
        int block = pos / BLOCK * BLOCK, nv = (cp - block) >= BLOCK ? 4 : (cp - block) / 16;
        int v = (pos - block) / 16, l = pos % 16;
        int64_t wsum = 0;
        for (int i = 0; i < in_c && o < out_c; i++) {
            int d = (int)w_oi[(size_t)o * in_c + i] - offset;
            wsum += d;
            size_t at = (size_t)block * in4 + ((size_t)(i / 4) * nv + v) * 64 + l * 4 + i % 4;
            dst[at] = (int8_t)(d < -128 ? -128 : d > 127 ? 127 : d);
        }
        /* sum (x - zx)(w - zw) = sum x (w - o) + (o - zw) sum x - zx sum (w - zw)
         * with o the offset: the last term here (wsum is sum (w - o));
         * the reference accumulates in int32: wrap the same way */
        int64_t b = o < out_c ? (int64_t)(bias ? bias[o] : 0) -
                                    (int64_t)p->input_zero_point *
                                        (wsum + (int64_t)in_c * (offset - p->weight_zero_point))
                              : 0;
        packed_bias[pos] = (int32_t)(uint32_t)(uint64_t)b;
    }
}

/* A tile's residual entries: those of its vectors, v relative to its first. */
typedef struct pw_res {
    int n;
    int k[PW_MAX_RESIDUALS], v[PW_MAX_RESIDUALS];
    const int8_t *w[PW_MAX_RESIDUALS];
} pw_res;

/* The entries of vectors [v0, v0 + nv) of the layer (NULL when none). */
static const pw_res *pw_res_select(const void *packed, int in_c, int out_c, int v0, int nv,
                                   pw_res *out) {
    int32_t header[3];
    memcpy(header, packed, sizeof header);
    const int8_t *at = (const int8_t *)packed + pw_residual_offset(in_c, out_c);
    out->n = 0;
    for (int e = 0; e < header[HDR_RESIDUALS]; e++) {
        int32_t k, v;
        memcpy(&k, at + PW_MAX_RESIDUALS * 64 + e * sizeof(int32_t), sizeof k);
        memcpy(&v, at + PW_MAX_RESIDUALS * (64 + sizeof(int32_t)) + e * sizeof(int32_t), sizeof v);
        if (v < v0 || v >= v0 + nv) continue;
        out->k[out->n] = k;
        out->v[out->n] = v - v0;
        out->w[out->n] = at + e * 64;
        out->n++;
    }
    return out->n ? out : NULL;
}

/* The float requantization's scale and offset of a layer whose header has
 * HDR_FLOAT, found from its context (the table follows the weights). */
INLINE_VNNI void pw_float_consts(const rq_ctx *rq, int in_c, int out_c, __m512 *scale,
                                 __m512 *offset) {
    const int8_t *packed =
        (const int8_t *)rq->table - pw_weight_bytes(in_c, out_c) - HEADER_BYTES;
    float fs, fo;
    memcpy(&fs, packed + HDR_FSCALE * sizeof(int32_t), sizeof fs);
    memcpy(&fo, packed + HDR_FOFFSET * sizeof(int32_t), sizeof fo);
    *scale = _mm512_set1_ps(fs);
    *offset = _mm512_set1_ps(fo);
}

/* The input sum correction of pixel p in every lane; corr is a constant
 * NULL in residual mode, where this is 0 and the adds fold away. */
INLINE_VNNI __m512i corr_bcast(const int32_t *corr, int p) {
    return corr ? _mm512_set1_epi32(corr[p]) : _mm512_setzero_si512();
}

/* Sum mode's callers: corr is never NULL there, and the compiler must know
 * it for corr_bcast's test to fold away (it cost 3 % in 32 -> 16). */
#define CORR_NONNULL(corr)                 \
    do {                                   \
        if (!(corr)) __builtin_unreachable(); \
    } while (0)

/* corr + p, or NULL (no offset on a null pointer) */
static inline const int32_t *corr_at(const int32_t *corr, int p) { return corr ? corr + p : NULL; }

/* acc += r x[k] of the entry's position, x[k] in every byte. */
#define RES_DOT(acc, px, res, e) DPBUSD(acc, _mm512_set1_epi8((char)(px)[(res)->k[e]]), rw)

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

/* Input sums of 16 consecutive pixels at once, for in_c = 8 m (m = 1..4:
 * the small K of expansions and narrow projections, where a scalar sum per
 * pixel costs about as much as its dot products). The 16 rows are 2 m
 * contiguous vectors; vpsadbw sums each 8 bytes into a qword, pixel p of a
 * group of 8 owning qwords m p .. m p + m - 1 of m vectors, which qword
 * permutes gather (one per part, two sources each) and add. */
INLINE_VNNI __m512i qword_pair_sums(__m512i a, __m512i b) { /* qwords 2k + 2k+1 of a:b */
    const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    return _mm512_add_epi64(_mm512_permutex2var_epi64(a, even, b),
                            _mm512_permutex2var_epi64(a, odd, b));
}

/* 8 pixels of 8 m bytes at x -> 8 qword sums. */
INLINE_VNNI __m512i pixel_sums8(const uint8_t *x, int m) {
    __m512i s[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                    _mm512_setzero_si512()};
    for (int j = 0; j < m; j++)
        s[j] = _mm512_sad_epu8(_mm512_loadu_si512(x + 64 * j), _mm512_setzero_si512());
    if (m == 1) return s[0];
    if (m == 2) return qword_pair_sums(s[0], s[1]);
    if (m == 4) return qword_pair_sums(qword_pair_sums(s[0], s[1]), qword_pair_sums(s[2], s[3]));
    /* m == 3: part j of pixel p is qword 3 p + j; below 16 in s0:s1, else
     * in s2 (the same index: the one-source permute reads its low 3 bits) */
    __m512i sum = _mm512_setzero_si512();
    for (int j = 0; j < 3; j++) {
        __m512i idx = _mm512_setr_epi64(j, 3 + j, 6 + j, 9 + j, 12 + j, 15 + j, 18 + j, 21 + j);
        __m512i part = _mm512_permutex2var_epi64(s[0], idx, s[1]);
        part = _mm512_mask_permutexvar_epi64(part, j == 0 ? 0xC0 : 0xE0, idx, s[2]);
        sum = _mm512_add_epi64(sum, part);
    }
    return sum;
}

/* corr[0..15] = scale * (sum of the in_c = 8 m bytes of pixel p). */
INLINE_VNNI void pixel_corrections16(const uint8_t *x, int m, int32_t scale, int32_t *corr) {
    const __m512i low_dwords = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                                 26, 28, 30);
    __m512i sums = _mm512_permutex2var_epi32(pixel_sums8(x, m), low_dwords,
                                             pixel_sums8(x + 64 * m, m));
    _mm512_storeu_si512(corr, _mm512_mullo_epi32(sums, _mm512_set1_epi32(scale)));
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

/* Pixel p of a tile: rows of in_c inputs and out_c outputs. */
#define PX_IN(p) (x + (size_t)(p) * in_c)
#define PX_DST(p) (dst + (size_t)(p) * out_c)

/* A run of tiles' own copy of the requantization context: through the
 * pointer, GCC reloads its fields after every store (dst might alias them);
 * a local copy lets it keep the per-store tests (zero point, clamp) in
 * registers. */
#define RQ_LOCAL(name, shared) const rq_ctx name##_copy = *(shared), *name = &name##_copy

/* P pixels x NV vectors of one block. */
INLINE_VNNI void pw_tile(const int P, const int NV, const uint8_t *x, int in_c, const int8_t *wb,
                         const int32_t *pbias, const int32_t *corr, const pw_res *res,
                         const rq_ctx *rq, uint8_t *dst, int out_c, int pos, int lane_ordered,
                         int valid) {
    __m512i acc[PW_TILE][4];
    for (int p = 0; p < P; p++) {
        __m512i c = corr_bcast(corr, p);
        for (int v = 0; v < NV; v++)
            acc[p][v] = _mm512_add_epi32(_mm512_loadu_si512(pbias + v * 16), c);
    }
    int full4 = in_c & ~3;
    const int8_t *w = wb;
    for (int i = 0; i < full4; i += 4, w += NV * 64) {
        __m512i wv[4];
        for (int v = 0; v < NV; v++) wv[v] = _mm512_loadu_si512(w + v * 64);
        for (int p = 0; p < P; p++) {
            __m512i xv = bcast4(PX_IN(p) + i);
            for (int v = 0; v < NV; v++) DPBUSD(acc[p][v], xv, wv[v]);
        }
    }
    if (full4 < in_c) {
        for (int p = 0; p < P; p++) {
            __m512i xv = bcast_tail(PX_IN(p), full4, in_c);
            for (int v = 0; v < NV; v++) DPBUSD(acc[p][v], xv, _mm512_loadu_si512(w + v * 64));
        }
    }
    if (res)
        for (int e = 0; e < res->n; e++) {
            __m512i rw = _mm512_loadu_si512(res->w[e]);
            for (int v = 0; v < NV; v++)
                if (res->v[e] == v)
                    for (int p = 0; p < P; p++) RES_DOT(acc[p][v], PX_IN(p), res, e);
        }
    if (lane_ordered) {
        for (int p = 0; p < P; p++)
            store_block64(PX_DST(p), acc[p][0], acc[p][NV > 1 ? 1 : 0], acc[p][NV > 2 ? 2 : 0],
                          acc[p][NV > 3 ? 3 : 0], rq, pos);
    } else if (rq->uniform) { /* the constants once, in registers */
        rq_vec r = rq_load(rq, 0);
        int pairs = NV / 2;
        for (int p = 0; p < P; p++) {
            for (int v = 0; v < 2 * pairs; v += 2)
                store_block32_u(PX_DST(p) + v * 16, acc[p][v], acc[p][v + 1 < NV ? v + 1 : v], &r,
                                rq, valid - v * 16);
            if (NV % 2)
                store_vec16_u(PX_DST(p) + (NV - 1) * 16, acc[p][NV - 1], &r, rq,
                              valid - (NV - 1) * 16);
        }
    } else {
        /* tail: 32-blocks (NV >= 2), then maybe one channel-ordered vector */
        int pairs = NV / 2;
        for (int p = 0; p < P; p++) {
            for (int v = 0; v < 2 * pairs; v += 2)
                store_block32(PX_DST(p) + v * 16, acc[p][v], acc[p][v + 1 < NV ? v + 1 : v], rq,
                              pos + v * 16, valid - v * 16);
            if (NV % 2)
                store_vec16(PX_DST(p) + (NV - 1) * 16, acc[p][NV - 1], rq, pos + (NV - 1) * 16,
                            valid - (NV - 1) * 16);
        }
    }
}

/* The main tile, 6 pixels x 64 lane-ordered channels, written out with
 * named accumulators: GCC keeps an array of vectors on the stack; 6 pixels (24 accumulators) spill. */
#define ROW_INIT(p)                                                      \
    __m512i a##p##0, a##p##1, a##p##2, a##p##3;                          \
    {                                                                    \
        __m512i c = corr_bcast(corr, p);                          \
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
#define ROW_RQ(v)                                                                        \
    a0##v = requant16(a0##v, rq, pos + 16 * v), a1##v = requant16(a1##v, rq, pos + 16 * v), \
    a2##v = requant16(a2##v, rq, pos + 16 * v), a3##v = requant16(a3##v, rq, pos + 16 * v), \
    a4##v = requant16(a4##v, rq, pos + 16 * v), a5##v = requant16(a5##v, rq, pos + 16 * v);
/* A residual entry of output vector v over a tile's 6 pixels (the switches
 * of the 64- and 48-channel tiles). */
#define RES_6PX(v)                                                                           \
    case v:                                                                                  \
        RES_DOT(a0##v, x0, res, e); RES_DOT(a1##v, x1, res, e); RES_DOT(a2##v, x2, res, e);  \
        RES_DOT(a3##v, x3, res, e); RES_DOT(a4##v, x4, res, e); RES_DOT(a5##v, x5, res, e);  \
        break;
#define ROW_FRQ(p)                                                                        \
    a##p##0 = mnet_q8_float_rq(a##p##0, fs, fo), a##p##1 = mnet_q8_float_rq(a##p##1, fs, fo), \
    a##p##2 = mnet_q8_float_rq(a##p##2, fs, fo), a##p##3 = mnet_q8_float_rq(a##p##3, fs, fo);
#define ROW_STORE_Q(p) pack_store64(PX_DST(p), a##p##0, a##p##1, a##p##2, a##p##3, rq)
#define ROW_STORE_U(p) store_block64_u(PX_DST(p), a##p##0, a##p##1, a##p##2, a##p##3, &r, rq)

/* uniform: a constant (pw_tile_6x64_u / _c), each variant its own function:
 * in one, GCC's allocation for the per-channel part slowed the uniform part
 * by 2-5 %. uniform 2 (pw_tile_6x64_f): the float requantization
 * (q8_float_requant.h; rq's zero point 0, it is in the offset). */
INLINE_VNNI void pw_tile_6x64_body(const uint8_t *x, int in_c, const int8_t *wb,
                                   const int32_t *pbias, const int32_t *corr, const pw_res *res,
                                   const rq_ctx *rq, uint8_t *dst, int out_c, int pos,
                                   const int uniform) {
    __m512i b0 = _mm512_loadu_si512(pbias), b1 = _mm512_loadu_si512(pbias + 16);
    __m512i b2 = _mm512_loadu_si512(pbias + 32), b3 = _mm512_loadu_si512(pbias + 48);
    ROW_INIT(0) ROW_INIT(1) ROW_INIT(2) ROW_INIT(3) ROW_INIT(4) ROW_INIT(5)
    const uint8_t *x0 = x, *x1 = x0 + in_c, *x2 = x1 + in_c, *x3 = x2 + in_c, *x4 = x3 + in_c,
                  *x5 = x4 + in_c;
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
    if (res)
        for (int e = 0; e < res->n; e++) {
            __m512i rw = _mm512_loadu_si512(res->w[e]);
            switch (res->v[e]) { RES_6PX(0) RES_6PX(1) RES_6PX(2) RES_6PX(3) }
        }
    if (uniform == 1) { /* the constants once, in registers, for all 24 vectors */
        rq_vec r = rq_load(rq, 0);
        ROW_STORE_U(0);
        ROW_STORE_U(1);
        ROW_STORE_U(2);
        ROW_STORE_U(3);
        ROW_STORE_U(4);
        ROW_STORE_U(5);
        return;
    }
    if (uniform == 2) { /* float route: all 24 vectors requantized, then stored */
        __m512 fs, fo;
        pw_float_consts(rq, in_c, out_c, &fs, &fo);
        ROW_FRQ(0) ROW_FRQ(1) ROW_FRQ(2) ROW_FRQ(3) ROW_FRQ(4) ROW_FRQ(5)
    } else {
        /* per channel: vector by vector, each position's constants loaded
         * once for the 6 pixels (before any store: the byte stores could
         * alias the table, so that stores in between make GCC load them
         * again per pixel); 5-25 % faster for per-channel expansions than
         * pixel by pixel */
        ROW_RQ(0) ROW_RQ(1) ROW_RQ(2) ROW_RQ(3)
    }
    ROW_STORE_Q(0);
    ROW_STORE_Q(1);
    ROW_STORE_Q(2);
    ROW_STORE_Q(3);
    ROW_STORE_Q(4);
    ROW_STORE_Q(5);
}

/* Not inlined into its run loop: inlined, with 24 accumulators and the
 * loop's state, GCC's code kept more on the stack and the 7x7 expansions
 * (K = 160..320, 15-20 blocks) ran 1-2 % slower than with a call per tile. */
#define PW_TILE_6X64_FN(name, uniform)                                                         \
    MNET_VNNI static __attribute__((noinline)) void name(                                      \
        const uint8_t *x, int in_c, const int8_t *wb, const int32_t *pbias,                    \
        const int32_t *corr, const pw_res *res, const rq_ctx *rq, uint8_t *dst, int out_c,     \
        int pos, int lane_ordered, int valid) {                                                \
        (void)lane_ordered;                                                                    \
        (void)valid;                                                                           \
        if (res) /* residual mode: no input sums */                                            \
            pw_tile_6x64_body(x, in_c, wb, pbias, NULL, res, rq, dst, out_c, pos, uniform);    \
        else {                                                                                 \
            CORR_NONNULL(corr);                                                                \
            pw_tile_6x64_body(x, in_c, wb, pbias, corr, NULL, rq, dst, out_c, pos, uniform);   \
        }                                                                                      \
    }
PW_TILE_6X64_FN(pw_tile_6x64_u, 1)
PW_TILE_6X64_FN(pw_tile_6x64_c, 0)
PW_TILE_6X64_FN(pw_tile_6x64_f, 2)
#undef PW_TILE_6X64_FN
#undef ROW_FRQ
#undef ROW_INIT
#undef ROW_DOT
#undef ROW_RQ
#undef ROW_STORE_Q
#undef ROW_STORE_U

/* Tail tiles: 6 pixels x 2 or 1 vectors, named accumulators too. */
#define T2_INIT(p)                                                       \
    __m512i a##p##0, a##p##1;                                            \
    {                                                                    \
        __m512i c = corr_bcast(corr, p);                          \
        a##p##0 = _mm512_add_epi32(b0, c);                               \
        a##p##1 = _mm512_add_epi32(b1, c);                               \
    }
#define T2_DOT(p, xv)                                                    \
    {                                                                    \
        __m512i xb = (xv);                                               \
        DPBUSD(a##p##0, xb, w0);                                         \
        DPBUSD(a##p##1, xb, w1);                                         \
    }
#define T2_RQ(v)                                                                         \
    a0##v = requant16(a0##v, rq, pos + 16 * v), a1##v = requant16(a1##v, rq, pos + 16 * v), \
    a2##v = requant16(a2##v, rq, pos + 16 * v), a3##v = requant16(a3##v, rq, pos + 16 * v), \
    a4##v = requant16(a4##v, rq, pos + 16 * v), a5##v = requant16(a5##v, rq, pos + 16 * v);
#define T2_RES(v)                                                                            \
    case v:                                                                                  \
        RES_DOT(a0##v, x0, res, e); RES_DOT(a1##v, x1, res, e); RES_DOT(a2##v, x2, res, e);  \
        RES_DOT(a3##v, x3, res, e); RES_DOT(a4##v, x4, res, e); RES_DOT(a5##v, x5, res, e);  \
        break;
#define T2_STORE_Q2(p, q) \
    store_block32_pair_q(PX_DST(p), out_c, a##p##0, a##p##1, a##q##0, a##q##1, rq, valid)
#define T2_STORE_U2(p, q) \
    store_block32_pair_u(PX_DST(p), out_c, a##p##0, a##p##1, a##q##0, a##q##1, &r, rq, valid)

/* Two pixels' 32-blocks (pos_channel order), uniform: one byte pack for
 * both. After the packs, 128-bit lane i holds dwords (first pixel's vector
 * 0 lanes 4i..4i+3, its vector 1 lanes 4i..4i+3, then the second pixel's):
 * one dword permute gives the first row's 32 bytes, then the second's. */
INLINE_VNNI void store_block32_pair_q(uint8_t *dst, int out_c, __m512i q0, __m512i q1, __m512i c0,
                                      __m512i c1, const rq_ctx *v, int n) {
    __m512i wa = add_zero_point16(_mm512_packs_epi32(q0, q1), v);
    __m512i wc = add_zero_point16(_mm512_packs_epi32(c0, c1), v);
    const __m512i order = _mm512_setr_epi32(0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15);
    __m512i rows = _mm512_permutexvar_epi32(order, clamp_bytes(_mm512_packus_epi16(wa, wc), v));
    if (out_c == 32) { /* the two rows are 64 contiguous bytes */
        _mm512_storeu_si512(dst, rows);
        return;
    }
    __mmask32 m = n >= 32 ? (__mmask32)0xFFFFFFFFu : n <= 0 ? 0 : (__mmask32)((1u << n) - 1);
    _mm256_mask_storeu_epi8(dst, m, _mm512_castsi512_si256(rows));
    _mm256_mask_storeu_epi8(dst + out_c, m, _mm512_extracti64x4_epi64(rows, 1));
}

INLINE_VNNI void store_block32_pair_u(uint8_t *dst, int out_c, __m512i a0, __m512i a1, __m512i c0,
                                      __m512i c1, const rq_vec *r, const rq_ctx *v, int n) {
    store_block32_pair_q(dst, out_c, requant_r(a0, r, v->any_short), requant_r(a1, r, v->any_short),
                         requant_r(c0, r, v->any_short), requant_r(c1, r, v->any_short), v, n);
}

INLINE_VNNI void pw_tile_6x32_one(const uint8_t *x, int in_c, const int8_t *wb,
                                  const int32_t *pbias, const int32_t *corr, const pw_res *res,
                                  const rq_ctx *rq,
                                  uint8_t *dst, int out_c, int pos, int lane_ordered, int valid) {
    (void)lane_ordered;
    __m512i b0 = _mm512_loadu_si512(pbias), b1 = _mm512_loadu_si512(pbias + 16);
    T2_INIT(0) T2_INIT(1) T2_INIT(2) T2_INIT(3) T2_INIT(4) T2_INIT(5)
    const uint8_t *x0 = x, *x1 = x0 + in_c, *x2 = x1 + in_c, *x3 = x2 + in_c, *x4 = x3 + in_c,
                  *x5 = x4 + in_c;
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
    if (res)
        for (int e = 0; e < res->n; e++) {
            __m512i rw = _mm512_loadu_si512(res->w[e]);
            switch (res->v[e]) { T2_RES(0) T2_RES(1) }
        }
    if (rq->uniform) { /* the constants once, in registers */
        rq_vec r = rq_load(rq, 0);
        T2_STORE_U2(0, 1);
        T2_STORE_U2(2, 3);
        T2_STORE_U2(4, 5);
        return;
    }
    /* per channel: vector by vector (each position's constants loaded once
     * for the 6 pixels, as in the 64-blocks), then pairs of rows */
    T2_RQ(0) T2_RQ(1)
    T2_STORE_Q2(0, 1);
    T2_STORE_Q2(2, 3);
    T2_STORE_Q2(4, 5);
}
#undef T2_INIT
#undef T2_DOT
#undef T2_RQ
#undef T2_RES
#undef T2_STORE_Q2
#undef T2_STORE_U2

/* A 48-channel tail (a 32-block and one vector of 16), 6 pixels: named
 * accumulators (the generic pw_tile's array stays on the stack). */
#define T3_INIT(p)                                                       \
    __m512i a##p##0, a##p##1, a##p##2;                                   \
    {                                                                    \
        __m512i c = corr_bcast(corr, p);                          \
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
        store_block32_u(PX_DST(p), a##p##0, a##p##1, &r, rq, valid);                     \
        store_vec16_u(PX_DST(p) + 32, a##p##2, &r, rq, valid - 32);                      \
    } else {                                                                          \
        store_block32(PX_DST(p), a##p##0, a##p##1, rq, pos, valid);                      \
        store_vec16(PX_DST(p) + 32, a##p##2, rq, pos + 32, valid - 32);                  \
    }

INLINE_VNNI void pw_tile_6x48_one(const uint8_t *x, int in_c, const int8_t *wb,
                                  const int32_t *pbias, const int32_t *corr, const pw_res *res,
                                  const rq_ctx *rq,
                                  uint8_t *dst, int out_c, int pos, int lane_ordered, int valid) {
    (void)lane_ordered;
    __m512i b0 = _mm512_loadu_si512(pbias), b1 = _mm512_loadu_si512(pbias + 16);
    __m512i b2 = _mm512_loadu_si512(pbias + 32);
    T3_INIT(0) T3_INIT(1) T3_INIT(2) T3_INIT(3) T3_INIT(4) T3_INIT(5)
    const uint8_t *x0 = x, *x1 = x0 + in_c, *x2 = x1 + in_c, *x3 = x2 + in_c, *x4 = x3 + in_c,
                  *x5 = x4 + in_c;
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
    if (res)
        for (int e = 0; e < res->n; e++) {
            __m512i rw = _mm512_loadu_si512(res->w[e]);
            switch (res->v[e]) { RES_6PX(0) RES_6PX(1) RES_6PX(2) }
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
#undef RES_6PX
#undef T3_STORE

/* 4 pixels' channel-ordered vectors of 16 (requantized) -> bytes, pixel p's
 * 16 in 128-bit lane p. After the packs, lane i holds channels 4i..4i+3 of
 * pixels 0..3 (a dword each); one dword permute transposes. */
INLINE_VNNI __m512i pack_4x16(__m512i q0, __m512i q1, __m512i q2, __m512i q3, const rq_ctx *rq) {
    __m512i w01 = add_zero_point16(_mm512_packs_epi32(q0, q1), rq);
    __m512i w23 = add_zero_point16(_mm512_packs_epi32(q2, q3), rq);
    __m512i b = clamp_bytes(_mm512_packus_epi16(w01, w23), rq);
    const __m512i transpose =
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_epi32(transpose, b);
}

/* The last 16 channels, 4 pixels, stored together: with out_c 16 the 4
 * rows are one 64-byte store; else 4 masked stores of a lane each. With one
 * vector per pixel, 4 dependent vpdpbusd chains would leave the unit idle
 * (latency bound): even and odd groups of 4 inputs go to two accumulators
 * per pixel, added at the end (int32 sums wrap: the order does not matter). */
#define Q1_INIT(p)                                                       \
    __m512i a##p = _mm512_add_epi32(b0, corr_bcast(corr, p));     \
    __m512i s##p = _mm512_setzero_si512();
#define Q1_DOT2(p)                                                       \
    DPBUSD(a##p, bcast4(x##p + i), w0);                                  \
    DPBUSD(s##p, bcast4(x##p + i + 4), w1);
#define Q1_REQUANT(p)                                                             \
    (FLOAT        ? mnet_q8_float_rq(_mm512_add_epi32(a##p, s##p), fs, fo)          \
     : rq->uniform ? requant_r(_mm512_add_epi32(a##p, s##p), &r, rq->any_short) \
                   : requant16(_mm512_add_epi32(a##p, s##p), rq, pos))

/* FLOAT (a constant): the float requantization with fs, fo (rq's zero
 * point 0: it is in fo). */
INLINE_VNNI void pw_tile_4x16_one(const uint8_t *x, int in_c, const int8_t *wb,
                                  const int32_t *pbias, const int32_t *corr, const pw_res *res,
                                  const rq_ctx *rq, const int FLOAT, __m512 fs, __m512 fo,
                                  uint8_t *dst, int out_c, int pos, int valid) {
    __m512i b0 = _mm512_loadu_si512(pbias);
    Q1_INIT(0) Q1_INIT(1) Q1_INIT(2) Q1_INIT(3)
    const uint8_t *x0 = x, *x1 = x0 + in_c, *x2 = x1 + in_c, *x3 = x2 + in_c;
    int full4 = in_c & ~3, i = 0;
    const int8_t *w = wb;
    for (; i + 8 <= full4; i += 8, w += 128) {
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        Q1_DOT2(0) Q1_DOT2(1) Q1_DOT2(2) Q1_DOT2(3)
    }
    if (i < full4) {
        __m512i w0 = _mm512_loadu_si512(w);
        DPBUSD(a0, bcast4(x0 + i), w0);
        DPBUSD(a1, bcast4(x1 + i), w0);
        DPBUSD(a2, bcast4(x2 + i), w0);
        DPBUSD(a3, bcast4(x3 + i), w0);
        w += 64;
    }
    if (full4 < in_c) {
        __m512i w0 = _mm512_loadu_si512(w);
        DPBUSD(s0, bcast_tail(x0, full4, in_c), w0);
        DPBUSD(s1, bcast_tail(x1, full4, in_c), w0);
        DPBUSD(s2, bcast_tail(x2, full4, in_c), w0);
        DPBUSD(s3, bcast_tail(x3, full4, in_c), w0);
    }
    if (res) /* every entry is of vector 0 */
        for (int e = 0; e < res->n; e++) {
            __m512i rw = _mm512_loadu_si512(res->w[e]);
            RES_DOT(a0, x0, res, e);
            RES_DOT(a1, x1, res, e);
            RES_DOT(a2, x2, res, e);
            RES_DOT(a3, x3, res, e);
        }
    rq_vec r = rq_load(rq, 0); /* used only if uniform; position 0 always exists */
    __m512i rows = pack_4x16(Q1_REQUANT(0), Q1_REQUANT(1), Q1_REQUANT(2), Q1_REQUANT(3), rq);
    if (out_c == 16) {
        _mm512_storeu_si512(dst, rows);
        return;
    }
    __mmask16 m = tail_mask(valid);
    _mm_mask_storeu_epi8(PX_DST(0), m, _mm512_castsi512_si128(rows));
    _mm_mask_storeu_epi8(PX_DST(1), m, _mm512_extracti32x4_epi32(rows, 1));
    _mm_mask_storeu_epi8(PX_DST(2), m, _mm512_extracti32x4_epi32(rows, 2));
    _mm_mask_storeu_epi8(PX_DST(3), m, _mm512_extracti32x4_epi32(rows, 3));
}
#undef Q1_INIT
#undef Q1_DOT2
#undef Q1_REQUANT

/* 17..24 channels after the full blocks (N = 24: V2's 96 -> 24 and
 * 144 -> 24 projections), uniform requantization. As a 32-block a pixel
 * takes 2 vectors, one of them at least half padding; here pixels go in
 * pairs of 3 vectors: A = channels 0-15 of each pixel, B = channels 16-23
 * of the first pixel (lanes 0-7) and of the second (lanes 8-15), its input
 * broadcast blended from the two pixels' own: a quarter fewer dot products
 * and requantizations. The A and B weights (and biases) come from the
 * packed 32-block by permutes: its vector 0 holds channels 0-7 and 16-23,
 * vector 1 channels 8-15 and 24-31 (pos_channel). */
#define P24_HALF_SPLIT 0xFF00
INLINE_VNNI __m512i p24_low_halves(__m512i v0, __m512i v1) { /* channels 0-15 */
    const __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    return _mm512_permutex2var_epi32(v0, idx, v1);
}
INLINE_VNNI __m512i p24_high_twice(__m512i v0) { /* channels 16-23, twice */
    return _mm512_shuffle_i64x2(v0, v0, _MM_SHUFFLE(3, 2, 3, 2));
}

/* Pair q: accumulators a (pixel 2q), b (pixel 2q+1), c (their B). */
#define P24_INIT(q)                                                                       \
    __m512i a##q = _mm512_add_epi32(bias_a, corr_bcast(corr, 2 * (q)));           \
    __m512i b##q = _mm512_add_epi32(bias_a, corr_bcast(corr, 2 * (q) + 1));       \
    __m512i c##q = _mm512_add_epi32(                                                      \
        bias_b, _mm512_mask_blend_epi32(P24_HALF_SPLIT, corr_bcast(corr, 2 * (q)),       \
                                        corr_bcast(corr, 2 * (q) + 1)));
#define P24_DOT(q, xa, xb)                                                    \
    {                                                                         \
        __m512i va = (xa), vb = (xb);                                         \
        DPBUSD(a##q, va, wa);                                                 \
        DPBUSD(b##q, vb, wa);                                                 \
        DPBUSD(c##q, _mm512_mask_blend_epi32(P24_HALF_SPLIT, va, vb), wb2);   \
    }
#define P24_STEP(q) P24_DOT(q, bcast4(PX_IN(2 * (q)) + i), bcast4(PX_IN(2 * (q) + 1) + i))
#define P24_TAIL(q) \
    P24_DOT(q, bcast_tail(PX_IN(2 * (q)), full4, in_c), bcast_tail(PX_IN(2 * (q) + 1), full4, in_c))
/* a residual entry of vector 0 (channels 0-7 and 16-23) or 1 (8-15): its
 * parts in A (ra) and B (rb) as the weights' */
#define P24_RES(q)                                                                        \
    {                                                                                     \
        __m512i xa = _mm512_set1_epi8((char)PX_IN(2 * (q))[res->k[e]]);                   \
        __m512i xb = _mm512_set1_epi8((char)PX_IN(2 * (q) + 1)[res->k[e]]);               \
        DPBUSD(a##q, xa, ra);                                                             \
        DPBUSD(b##q, xb, ra);                                                             \
        DPBUSD(c##q, _mm512_mask_blend_epi32(P24_HALF_SPLIT, xa, xb), rb);                \
    }
#define P24_STORE(q) p24_store(PX_DST(2 * (q)), out_c, a##q, b##q, c##q, &r, rq, valid);

/* One pair's 3 vectors -> its two rows of `valid` bytes. */
INLINE_VNNI void p24_store(uint8_t *dst, int out_c, __m512i a, __m512i b, __m512i c,
                           const rq_vec *r, const rq_ctx *rq, int valid) {
    __m512i qc = requant_r(c, r, rq->any_short);
    /* lane 0: first pixel's channels 0-15, lane 1: the second's, lane 2:
     * channels 16-23 of the first, then of the second */
    __m512i rows = pack_4x16(requant_r(a, r, rq->any_short), requant_r(b, r, rq->any_short), qc,
                             qc, rq);
    if (out_c == 24) { /* the two rows are 48 contiguous bytes */
        const __m512i order = _mm512_setr_epi64(0, 1, 4, 2, 3, 5, 6, 7);
        _mm512_mask_storeu_epi64(dst, 0x3F, _mm512_permutexvar_epi64(order, rows));
        return;
    }
    __m128i high = _mm512_extracti32x4_epi32(rows, 2);
    __mmask16 m = tail_mask(valid - 16);
    _mm_storeu_si128((__m128i *)dst, _mm512_castsi512_si128(rows));
    _mm_mask_storeu_epi8(dst + 16, m, high);
    _mm_storeu_si128((__m128i *)(dst + out_c), _mm512_extracti32x4_epi32(rows, 1));
    _mm_mask_storeu_epi8(dst + out_c + 16, m, _mm_srli_si128(high, 8));
}

/* 8 pixels (4 pairs) or 2 (1 pair). */
#define P24_TILE_FN(name, FOR_PAIRS)                                                            \
    INLINE_VNNI void name(const uint8_t *x, int in_c, const int8_t *wb, const int32_t *pbias,   \
                          const int32_t *corr, const pw_res *res, const rq_ctx *rq,             \
                          uint8_t *dst, int out_c, int valid) {                                 \
        __m512i pb0 = _mm512_loadu_si512(pbias), pb1 = _mm512_loadu_si512(pbias + 16);         \
        __m512i bias_a = p24_low_halves(pb0, pb1), bias_b = p24_high_twice(pb0);                \
        FOR_PAIRS(P24_INIT)                                                                     \
        int full4 = in_c & ~3, i = 0;                                                           \
        const int8_t *w = wb;                                                                   \
        for (; i < full4; i += 4, w += 128) {                                                   \
            __m512i w0 = _mm512_loadu_si512(w);                                                 \
            __m512i wa = p24_low_halves(w0, _mm512_loadu_si512(w + 64)), wb2 = p24_high_twice(w0); \
            FOR_PAIRS(P24_STEP)                                                                 \
        }                                                                                       \
        if (full4 < in_c) {                                                                     \
            __m512i w0 = _mm512_loadu_si512(w);                                                 \
            __m512i wa = p24_low_halves(w0, _mm512_loadu_si512(w + 64)), wb2 = p24_high_twice(w0); \
            FOR_PAIRS(P24_TAIL)                                                                 \
        }                                                                                       \
        if (res) /* entries of one input next to each other: one pass (V2's 144 -> 24) */    \
            for (int e = 0, next; e < res->n; e = next) {                                      \
                __m512i zero = _mm512_setzero_si512(), ra = zero, rb = zero;                    \
                for (next = e; next < res->n && res->k[next] == res->k[e]; next++) {            \
                    __m512i r0 = _mm512_loadu_si512(res->w[next]);                              \
                    ra = _mm512_add_epi32(ra, res->v[next] ? p24_low_halves(zero, r0)           \
                                                           : p24_low_halves(r0, zero));         \
                    rb = _mm512_add_epi32(rb, res->v[next] ? zero : p24_high_twice(r0));        \
                }                                                                               \
                FOR_PAIRS(P24_RES)                                                              \
            }                                                                                   \
        rq_vec r = rq_load(rq, 0);                                                              \
        FOR_PAIRS(P24_STORE)                                                                    \
    }
#define P24_FOR4(M) M(0) M(1) M(2) M(3)
#define P24_FOR1(M) M(0)
P24_TILE_FN(pw_tile_8x24_one, P24_FOR4)
P24_TILE_FN(pw_tile_2x24_one, P24_FOR1)
#undef P24_TILE_FN
#undef P24_FOR4
#undef P24_FOR1
#undef P24_INIT
#undef P24_DOT
#undef P24_STEP
#undef P24_TAIL
#undef P24_RES
#undef P24_STORE

/* Narrow expansions: every channel of a few pixels in one tile, so that
 * each input broadcast feeds all the layer's vectors and no tail block
 * makes its own, less efficient pass over the chunk. Three shapes:
 *  - out_c 65..80 (DeepLab dm 0.5's 12 -> 72 at 129x129): a 64-block and
 *    a 16-vector, 4 pixels (20 accumulators), then pairs;
 *  - out_c 81..96 (V2's 16 -> 96 at 112x112): a 64-block and a 32-block,
 *    4 pixels (24 accumulators), then pairs;
 *  - out_c 129..144 (V2's 24 -> 144 at 56x56), per-tensor only: two
 *    64-blocks and a 16-vector, pixel pairs (18 accumulators and the 9
 *    weight vectors in registers; 3 pixels, with 5 of the weight vectors
 *    read from memory, measured 5-8 % slower; per-channel, this tile was
 *    15-30 % slower than the blocks).
 * One function for all three, its counts constants at every call: the
 * loops over pixels and vectors unroll completely and the accumulator
 * array becomes registers (checked in the assembly of both compilers: no
 * stack access in the dot product loop, which is as long as the former
 * hand-written tiles'). The weights stay in the packed layout: block b's
 * at wp + 64 b in4 (256 bytes per 4 inputs), the tail's at wt (64 bytes
 * per tail vector and 4 inputs). */
enum { WIDE_MAX_PX = 4, WIDE_MAX_BLOCKS = 2, WIDE_MAX_TAIL = 2, WIDE_MAX_VECS = 9 };

/* for (int i = 0; i < n; i++), unrolled, n a constant once inlined. The
 * loop runs to the constant max, skipping the iterations from n on: clang
 * unrolls an inline function's loops before inlining it, when n is not yet
 * known, and would otherwise leave the accumulators in a stack array. Its
 * body is one statement or a block, never followed by an else (the macro
 * ends in an if). */
#if defined(__clang__)
#define WIDE_UNROLL _Pragma("unroll")
#else
#define WIDE_UNROLL _Pragma("GCC unroll 16")
#endif
#define WIDE_FOR(i, n, max) WIDE_UNROLL for (int i = 0; i < (max); i++) if (i < (n))

/* The weights of inputs i..i+3: NBLK blocks of 4 vectors, then TAILV. */
INLINE_VNNI void wide_weights(const int NBLK, const int TAILV, __m512i *w, const int8_t *wp,
                              const int8_t *wt, int in4, int i) {
    WIDE_FOR (b, NBLK, WIDE_MAX_BLOCKS)
        WIDE_UNROLL for (int v = 0; v < 4; v++)
            w[4 * b + v] =
                _mm512_loadu_si512(wp + (size_t)b * BLOCK * in4 + (size_t)i * 64 + v * 64);
    WIDE_FOR (v, TAILV, WIDE_MAX_TAIL)
        w[4 * NBLK + v] = _mm512_loadu_si512(wt + (size_t)i * 16 * TAILV + v * 64);
}

/* The NPX pixels' requantized 16-vectors (channel ordered) -> one pack, a
 * 128-bit lane per pixel row (valid bytes each), stored at dst, the next
 * row out_c on. 2 pixels: q2, q3 repeat q0, q1, their lanes not stored. */
INLINE_VNNI void wide_store16(const int NPX, __m512i q0, __m512i q1, __m512i q2, __m512i q3,
                              uint8_t *dst, int out_c, int valid, const rq_ctx *rq) {
    __m512i rows = pack_4x16(q0, q1, q2, q3, rq);
    __mmask16 m = tail_mask(valid);
    _mm_mask_storeu_epi8(dst, m, _mm512_castsi512_si128(rows));
    _mm_mask_storeu_epi8(dst + (size_t)out_c, m, _mm512_extracti32x4_epi32(rows, 1));
    if (NPX == 4) {
        _mm_mask_storeu_epi8(dst + 2 * (size_t)out_c, m, _mm512_extracti32x4_epi32(rows, 2));
        _mm_mask_storeu_epi8(dst + 3 * (size_t)out_c, m, _mm512_extracti32x4_epi32(rows, 3));
    }
}

/* NPX pixels (4 or 2) x NBLK 64-blocks and a tail of TAILV vectors (2: a
 * 32-block, 1: a 16-vector, channel ordered). UNIFORM (per-tensor
 * requantization) is a constant too, so that each variant is its own
 * function: sharing one, GCC's allocation for the per-channel part made
 * the uniform one 10-14 % slower. FLOAT (a constant): the float
 * requantization with fscale, foffset (q8_float_requant.h, the zero point
 * in foffset: rq's is 0), proved exact at pack time. */
INLINE_VNNI void pw_tile_wide(const int NPX, const int NBLK, const int TAILV, const int UNIFORM,
                              const int FLOAT, __m512 fscale, __m512 foffset,
                              const uint8_t *x, int in_c, const int8_t *wp, const int8_t *wt,
                              const int32_t *pbias, const int32_t *corr, const pw_res *res,
                              const rq_ctx *rq, uint8_t *dst, int out_c) {
    const int NV = 4 * NBLK + TAILV, tail = NBLK * BLOCK;
    __m512i acc[WIDE_MAX_PX][WIDE_MAX_VECS];
    WIDE_FOR (p, NPX, WIDE_MAX_PX) {
        __m512i c = corr_bcast(corr, p);
        WIDE_FOR (v, NV, WIDE_MAX_VECS)
            acc[p][v] = _mm512_add_epi32(_mm512_loadu_si512(pbias + 16 * v), c);
    }
    int in4 = round_up(in_c, 4), full4 = in_c & ~3;
    for (int i = 0; i < full4; i += 4) {
        __m512i w[WIDE_MAX_VECS];
        wide_weights(NBLK, TAILV, w, wp, wt, in4, i);
        WIDE_FOR (p, NPX, WIDE_MAX_PX) {
            __m512i xb = bcast4(PX_IN(p) + i);
            WIDE_FOR (v, NV, WIDE_MAX_VECS) DPBUSD(acc[p][v], xb, w[v]);
        }
    }
    if (full4 < in_c) {
        __m512i w[WIDE_MAX_VECS];
        wide_weights(NBLK, TAILV, w, wp, wt, in4, full4);
        WIDE_FOR (p, NPX, WIDE_MAX_PX) {
            __m512i xb = bcast_tail(PX_IN(p), full4, in_c);
            WIDE_FOR (v, NV, WIDE_MAX_VECS) DPBUSD(acc[p][v], xb, w[v]);
        }
    }
    if (res)
        for (int e = 0; e < res->n; e++) {
            __m512i rw = _mm512_loadu_si512(res->w[e]);
            WIDE_FOR (v, NV, WIDE_MAX_VECS)
                if (res->v[e] == v) {
                    WIDE_FOR (p, NPX, WIDE_MAX_PX) RES_DOT(acc[p][v], PX_IN(p), res, e);
                }
        }
    if (UNIFORM && !FLOAT) { /* the constants once, in registers, for every vector */
        rq_vec r = rq_load(rq, 0);
        if (TAILV == 1) { /* the 16-vectors first: 1-2 % faster for 12 -> 72 than last */
            WIDE_FOR (p, NPX, WIDE_MAX_PX)
                acc[p][NV - 1] = requant_r(acc[p][NV - 1], &r, rq->any_short);
            wide_store16(NPX, acc[0][NV - 1], acc[1][NV - 1], acc[NPX - 2][NV - 1],
                         acc[NPX - 1][NV - 1], dst + tail, out_c, out_c - tail, rq);
        }
        WIDE_FOR (p, NPX, WIDE_MAX_PX)
            WIDE_FOR (b, NBLK, WIDE_MAX_BLOCKS)
                store_block64_u(PX_DST(p) + b * BLOCK, acc[p][4 * b], acc[p][4 * b + 1],
                                acc[p][4 * b + 2], acc[p][4 * b + 3], &r, rq);
        if (TAILV == 2) {
            WIDE_FOR (q, NPX / 2, WIDE_MAX_PX / 2)
                store_block32_pair_u(PX_DST(2 * q) + tail, out_c, acc[2 * q][NV - 2],
                                     acc[2 * q][NV - 1], acc[2 * q + 1][NV - 2],
                                     acc[2 * q + 1][NV - 1], &r, rq, out_c - tail);
        }
    } else {
        /* per channel: vector by vector, each position's constants loaded
         * once for all pixels (before any store: the byte stores could
         * alias the table); V2 PTQ's 16 -> 96: a quarter faster than pixel
         * by pixel */
        if (FLOAT) {
            WIDE_FOR (v, NV, WIDE_MAX_VECS)
                WIDE_FOR (p, NPX, WIDE_MAX_PX)
                    acc[p][v] = mnet_q8_float_rq(acc[p][v], fscale, foffset);
        } else {
            WIDE_FOR (v, NV, WIDE_MAX_VECS)
                WIDE_FOR (p, NPX, WIDE_MAX_PX) acc[p][v] = requant16(acc[p][v], rq, 16 * v);
        }
        WIDE_FOR (p, NPX, WIDE_MAX_PX)
            WIDE_FOR (b, NBLK, WIDE_MAX_BLOCKS)
                pack_store64(PX_DST(p) + b * BLOCK, acc[p][4 * b], acc[p][4 * b + 1],
                             acc[p][4 * b + 2], acc[p][4 * b + 3], rq);
        if (TAILV == 2) {
            WIDE_FOR (q, NPX / 2, WIDE_MAX_PX / 2)
                store_block32_pair_q(PX_DST(2 * q) + tail, out_c, acc[2 * q][NV - 2],
                                     acc[2 * q][NV - 1], acc[2 * q + 1][NV - 2],
                                     acc[2 * q + 1][NV - 1], rq, out_c - tail);
        } else {
            wide_store16(NPX, acc[0][NV - 1], acc[1][NV - 1], acc[NPX - 2][NV - 1],
                         acc[NPX - 1][NV - 1], dst + tail, out_c, out_c - tail, rq);
        }
    }
}

/* A chunk of n pixels (a multiple of 2): tiles of NPX pixels, then pairs. */
INLINE_VNNI void wide_chunk(const int NPX, const int NBLK, const int TAILV, const int UNIFORM,
                            const int FLOAT, __m512 fscale, __m512 foffset, const uint8_t *x, int in_c, const int8_t *wp, const int32_t *pbias,
                            const int32_t *corr, const pw_res *res, const rq_ctx *rq,
                            uint8_t *dst, int out_c, int n) {
    const int8_t *wt = wp + (size_t)NBLK * BLOCK * round_up(in_c, 4);
    int p = 0;
    if (NPX > 2)
        for (; p + NPX <= n; p += NPX)
            pw_tile_wide(NPX, NBLK, TAILV, UNIFORM, FLOAT, fscale, foffset, x + (size_t)p * in_c, in_c, wp, wt, pbias,
                         corr_at(corr, p), res, rq, dst + (size_t)p * out_c, out_c);
    for (; p < n; p += 2)
        pw_tile_wide(2, NBLK, TAILV, UNIFORM, FLOAT, fscale, foffset, x + (size_t)p * in_c, in_c, wp, wt, pbias,
                     corr_at(corr, p), res, rq, dst + (size_t)p * out_c, out_c);
}

/* The chunk with its own copy of the requantization context (as RQ_LOCAL),
 * twice: any_short is a constant in each, so that no requantization tests
 * it. With the test in every one, GCC laid the common route (no short
 * shifts) out of line in these tiles: 16 -> 96 2-3 % slower; per-channel
 * 12 -> 72 and 16 -> 96 are 3-4 % faster with the constant. */
INLINE_VNNI void pw_run_wide(const int NPX, const int NBLK, const int TAILV, const int UNIFORM,
                             const int PLAIN, const int FLOAT, const uint8_t *x, int in_c, const int8_t *wp,
                             const int32_t *pbias, const int32_t *corr, const pw_res *res,
                             const rq_ctx *rq_shared, uint8_t *dst, int out_c, int n) {
    rq_ctx rq = *rq_shared;
    if (PLAIN) { /* (the caller checked) no zero point, no clamp: constants too */
        rq.zero_point = 0;
        rq.out_min = 0;
        rq.out_max = 255;
    }
    if (FLOAT) { /* the caller checked the header's HDR_FLOAT */
        int32_t header[HDR_CELLS];
        memcpy(header, wp - HEADER_BYTES, sizeof header);
        float fs, fo;
        memcpy(&fs, &header[HDR_FSCALE], sizeof fs);
        memcpy(&fo, &header[HDR_FOFFSET], sizeof fo);
        rq.zero_point = 0; /* in the offset */
        wide_chunk(NPX, NBLK, TAILV, UNIFORM, 1, _mm512_set1_ps(fs), _mm512_set1_ps(fo), x, in_c,
                   wp, pbias, corr, res, &rq, dst, out_c, n);
    } else if (rq.any_short) {
        rq.any_short = 1;
        wide_chunk(NPX, NBLK, TAILV, UNIFORM, 0, _mm512_setzero_ps(), _mm512_setzero_ps(), x,
                   in_c, wp, pbias, corr, res, &rq, dst, out_c, n);
    } else {
        rq.any_short = 0;
        wide_chunk(NPX, NBLK, TAILV, UNIFORM, 0, _mm512_setzero_ps(), _mm512_setzero_ps(), x,
                   in_c, wp, pbias, corr, res, &rq, dst, out_c, n);
    }
}

/* One function per shape and requantization, called once per chunk; one
 * more with residual entries (name_res), the other's residual code gone
 * with its constant NULL (with the test in its tiles, and even as a third
 * copy in the same function, 24 -> 144 ran 7-8 % slower). WIDE_RUN_ONE is
 * one such function: PLAIN (no zero point, no clamp), FLOAT (the float
 * requantization), RES (residual mode: no input sums, corr unused). */
#define WIDE_RUN_ONE(fname, NPX, NBLK, TAILV, UNIFORM, PLAIN, FLOAT, RES)                        \
    MNET_VNNI static __attribute__((noinline)) void fname(                                       \
        const uint8_t *x, int in_c, const int8_t *wp, const int32_t *pbias, const int32_t *corr, \
        const pw_res *res, const rq_ctx *rq, uint8_t *dst, int out_c, int n) {                   \
        if (!(RES)) CORR_NONNULL(corr);                                                          \
        pw_run_wide(NPX, NBLK, TAILV, UNIFORM, PLAIN, FLOAT, x, in_c, wp, pbias,                 \
                    (RES) ? NULL : corr, (RES) ? res : NULL, rq, dst, out_c, n);                 \
    }
#define WIDE_RUN_FN(name, NPX, NBLK, TAILV, UNIFORM)                     \
    WIDE_RUN_ONE(name, NPX, NBLK, TAILV, UNIFORM, 0, 0, 0)               \
    WIDE_RUN_ONE(name##_plain, NPX, NBLK, TAILV, UNIFORM, 1, 0, 0)       \
    WIDE_RUN_ONE(name##_res, NPX, NBLK, TAILV, UNIFORM, 0, 0, 1)
/* The float requantization's two (uniform layers only, input sums): with
 * and without zero point and clamp. */
#define WIDE_FLOAT_FN(name, NPX, NBLK, TAILV)                   \
    WIDE_RUN_ONE(name##_float, NPX, NBLK, TAILV, 1, 0, 1, 0)    \
    WIDE_RUN_ONE(name##_float_plain, NPX, NBLK, TAILV, 1, 1, 1, 0)
WIDE_FLOAT_FN(pw_run_n80_u, 4, 1, 1)
WIDE_FLOAT_FN(pw_run_n96_u, 4, 1, 2)
WIDE_FLOAT_FN(pw_run_n144, 2, 2, 1)
#undef WIDE_FLOAT_FN
WIDE_RUN_FN(pw_run_n80_u, 4, 1, 1, 1)
WIDE_RUN_FN(pw_run_n80_c, 4, 1, 1, 0)
WIDE_RUN_FN(pw_run_n96_u, 4, 1, 2, 1)
WIDE_RUN_FN(pw_run_n96_c, 4, 1, 2, 0)
WIDE_RUN_FN(pw_run_n144, 2, 2, 1, 1)
#undef WIDE_RUN_FN
#undef WIDE_RUN_ONE
typedef void (*wide_fn)(const uint8_t *, int, const int8_t *, const int32_t *, const int32_t *,
                        const pw_res *, const rq_ctx *, uint8_t *, int, int);
/* [uniform][residuals, plain, other, float plain, float other] (the float
 * route is never proved for per-channel layers: their rows repeat the
 * integer ones) */
static const wide_fn wide_n80[2][5] = {
    {pw_run_n80_c_res, pw_run_n80_c_plain, pw_run_n80_c, pw_run_n80_c_plain, pw_run_n80_c},
    {pw_run_n80_u_res, pw_run_n80_u_plain, pw_run_n80_u, pw_run_n80_u_float_plain,
     pw_run_n80_u_float}};
static const wide_fn wide_n96[2][5] = {
    {pw_run_n96_c_res, pw_run_n96_c_plain, pw_run_n96_c, pw_run_n96_c_plain, pw_run_n96_c},
    {pw_run_n96_u_res, pw_run_n96_u_plain, pw_run_n96_u, pw_run_n96_u_float_plain,
     pw_run_n96_u_float}};
static const wide_fn wide_n144[5] = {pw_run_n144_res, pw_run_n144_plain, pw_run_n144,
                                     pw_run_n144_float_plain, pw_run_n144_float};
#undef WIDE_FOR
#undef WIDE_UNROLL

/* A run of tiles, pixel after pixel (x, dst, corr advance by the tile):
 * one call per chunk of pixels and block, the constants set up once. */
typedef void (*pw_tile_fn)(const uint8_t *, int, const int8_t *, const int32_t *,
                           const int32_t *, const pw_res *, const rq_ctx *, uint8_t *, int, int,
                           int, int, int);

#define PW_TILES_FN(name, P, one)                                                                  \
    MNET_VNNI static void name(const uint8_t *x, int in_c, const int8_t *wb, const int32_t *pbias, \
                               const int32_t *corr, const pw_res *res, const rq_ctx *rq_shared,    \
                               uint8_t *dst, int out_c, int pos, int lane_ordered, int valid,      \
                               int tiles) {                                                        \
        RQ_LOCAL(rq, rq_shared);                                                                   \
        if (res) /* else a constant NULL: no residual code in the loop */                          \
            for (int t = 0; t < tiles; t++) /* residual mode: no input sums */                     \
                one(x + (size_t)t * (P) * in_c, in_c, wb, pbias, NULL, res, rq,                    \
                    dst + (size_t)t * (P) * out_c, out_c, pos, lane_ordered, valid);              \
        else {                                                                                     \
            CORR_NONNULL(corr);                                                                    \
            for (int t = 0; t < tiles; t++)                                                        \
                one(x + (size_t)t * (P) * in_c, in_c, wb, pbias, corr + t * (P), NULL, rq,         \
                    dst + (size_t)t * (P) * out_c, out_c, pos, lane_ordered, valid);              \
        }                                                                                          \
    }
#define PW_TILE_1(NV)                                                                              \
    INLINE_VNNI void pw_tile_1x##NV##_one(const uint8_t *x, int in_c, const int8_t *wb,            \
                                          const int32_t *pbias, const int32_t *corr,               \
                                          const pw_res *res, const rq_ctx *rq, uint8_t *dst,       \
                                          int out_c, int pos, int lane_ordered, int valid) {       \
        pw_tile(1, NV, x, in_c, wb, pbias, corr, res, rq, dst, out_c, pos, lane_ordered, valid);   \
    }                                                                                              \
    PW_TILES_FN(pw_tiles_1x##NV, 1, pw_tile_1x##NV##_one)
PW_TILE_1(1)
PW_TILE_1(2)
PW_TILE_1(3)
PW_TILE_1(4)
/* 64 channels after the full blocks (two 32-blocks, partly filled) */
INLINE_VNNI void pw_tile_6x4_tail_one(const uint8_t *x, int in_c, const int8_t *wb,
                                      const int32_t *pbias, const int32_t *corr, const pw_res *res,
                                      const rq_ctx *rq, uint8_t *dst, int out_c, int pos,
                                      int lane_ordered, int valid) {
    pw_tile(PW_TILE, 4, x, in_c, wb, pbias, corr, res, rq, dst, out_c, pos, lane_ordered, valid);
}
PW_TILES_FN(pw_tiles_6x4_tail, PW_TILE, pw_tile_6x4_tail_one)
/* The last 16 channels of the tiles' pixels: groups of 4 (pw_tile_4x16_one),
 * then 2 single pixels where the count is not a multiple of 4 (FLOAT: the
 * groups with the float requantization, the single pixels without). */
INLINE_VNNI void pw_tiles_6x16_body(const uint8_t *x, int in_c, const int8_t *wb,
                                     const int32_t *pbias, const int32_t *corr, const pw_res *res,
                                     const rq_ctx *rq, const int FLOAT, uint8_t *dst, int out_c,
                                     int pos, int lane_ordered, int valid, int tiles) {
    int n = tiles * PW_TILE, p = 0;
    rq_ctx rq_float = *rq; /* the zero point in the float route's offset */
    rq_float.zero_point = 0;
    __m512 fs = _mm512_setzero_ps(), fo = _mm512_setzero_ps();
    if (FLOAT) pw_float_consts(rq, in_c, out_c, &fs, &fo);
    for (; p + 4 <= n; p += 4)
        pw_tile_4x16_one(x + (size_t)p * in_c, in_c, wb, pbias, corr_at(corr, p), res,
                         FLOAT ? &rq_float : rq, FLOAT, fs, fo, dst + (size_t)p * out_c, out_c,
                         pos, valid);
    for (; p < n; p++)
        pw_tile_1x1_one(x + (size_t)p * in_c, in_c, wb, pbias, corr_at(corr, p), res, rq,
                        dst + (size_t)p * out_c, out_c, pos, lane_ordered, valid);
}
/* Three functions (as the other runs of tiles): the residual-free ones with
 * res a constant NULL, integer (pw_tiles_6x16) or float requantization
 * (pw_tiles_6x16_f, header HDR_FLOAT), and the residual one with corr a
 * constant NULL. */
#define PW_TILES_6X16_FN(name, FLOAT)                                                           \
    MNET_VNNI static void name(const uint8_t *x, int in_c, const int8_t *wb,                     \
                               const int32_t *pbias, const int32_t *corr, const pw_res *res,     \
                               const rq_ctx *rq_shared, uint8_t *dst, int out_c, int pos,        \
                               int lane_ordered, int valid, int tiles) {                         \
        RQ_LOCAL(rq, rq_shared);                                                                 \
        (void)res;                                                                               \
        CORR_NONNULL(corr);                                                                      \
        pw_tiles_6x16_body(x, in_c, wb, pbias, corr, NULL, rq, FLOAT, dst, out_c, pos,           \
                           lane_ordered, valid, tiles);                                          \
    }
PW_TILES_6X16_FN(pw_tiles_6x16, 0)
PW_TILES_6X16_FN(pw_tiles_6x16_f, 1)
MNET_VNNI static void pw_tiles_6x16_res(const uint8_t *x, int in_c, const int8_t *wb,
                                        const int32_t *pbias, const int32_t *corr,
                                        const pw_res *res, const rq_ctx *rq_shared, uint8_t *dst,
                                        int out_c, int pos, int lane_ordered, int valid,
                                        int tiles) {
    RQ_LOCAL(rq, rq_shared);
    (void)corr; /* residual mode: no input sums */
    pw_tiles_6x16_body(x, in_c, wb, pbias, NULL, res, rq, 0, dst, out_c, pos, lane_ordered,
                       valid, tiles);
}
PW_TILES_FN(pw_tiles_6x32, PW_TILE, pw_tile_6x32_one)
/* 17..24 channels after the full blocks, uniform requantization: 8 pixels
 * at a time, then pairs (6 tiles x 6 pixels: always an even count). */
INLINE_VNNI void pw_tiles_pairs24_body(const uint8_t *x, int in_c, const int8_t *wb,
                                        const int32_t *pbias, const int32_t *corr,
                                        const pw_res *res, const rq_ctx *rq, uint8_t *dst,
                                        int out_c, int valid, int tiles) {
    int n = tiles * PW_TILE, p = 0;
    for (; p + 8 <= n; p += 8)
        pw_tile_8x24_one(x + (size_t)p * in_c, in_c, wb, pbias, corr_at(corr, p), res, rq,
                         dst + (size_t)p * out_c, out_c, valid);
    for (; p < n; p += 2)
        pw_tile_2x24_one(x + (size_t)p * in_c, in_c, wb, pbias, corr_at(corr, p), res, rq,
                         dst + (size_t)p * out_c, out_c, valid);
}
MNET_VNNI static void pw_tiles_pairs24(const uint8_t *x, int in_c, const int8_t *wb,
                                       const int32_t *pbias, const int32_t *corr,
                                       const pw_res *res, const rq_ctx *rq_shared, uint8_t *dst,
                                       int out_c, int pos, int lane_ordered, int valid,
                                       int tiles) {
    RQ_LOCAL(rq, rq_shared);
    (void)pos;
    (void)lane_ordered;
    if (res) /* residual mode: no input sums */
        pw_tiles_pairs24_body(x, in_c, wb, pbias, NULL, res, rq, dst, out_c, valid, tiles);
    else {
        CORR_NONNULL(corr);
        pw_tiles_pairs24_body(x, in_c, wb, pbias, corr, NULL, rq, dst, out_c, valid, tiles);
    }
}
PW_TILES_FN(pw_tiles_6x48, PW_TILE, pw_tile_6x48_one)
PW_TILES_FN(pw_tiles_6x64_u, PW_TILE, pw_tile_6x64_u)
PW_TILES_FN(pw_tiles_6x64_c, PW_TILE, pw_tile_6x64_c)
PW_TILES_FN(pw_tiles_6x64_f, PW_TILE, pw_tile_6x64_f)
#undef PW_TILE_1
#undef PW_TILES_FN

/* by the number of 16-lane vectors in the block */
static const pw_tile_fn pw_tiles_1px[4] = {pw_tiles_1x1, pw_tiles_1x2, pw_tiles_1x3, pw_tiles_1x4};
static const pw_tile_fn pw_tiles_6px[4] = {pw_tiles_6x16, pw_tiles_6x32, pw_tiles_6x48,
                                           pw_tiles_6x64_u};

MNET_VNNI void mnet_q8_vnni_pw_run(int in_c, int out_c, const mnet_q8_conv_params *p,
                             const uint8_t *in, const void *packed, const int32_t *packed_bias,
                             uint8_t *out, int pixel_begin, int pixel_end) {
    const int8_t *wp = (const int8_t *)packed + HEADER_BYTES;
    int in4 = round_up(in_c, 4), cp = round_up(out_c, 16), full = out_c / BLOCK * BLOCK;
    rq_ctx rq = {(const int32_t *)(wp + pw_weight_bytes(in_c, out_c)), cp, read_any_short(packed),
                 !p->channel_requant, p->output_zero_point, p->out_min, p->out_max};
    int32_t header[HDR_CELLS];
    memcpy(header, packed, sizeof header);
    int32_t sum_scale = header[HDR_RESIDUAL_MODE] ? 0 : 128 - p->weight_zero_point;
    /* The last 1-5 pixels of a range of at least 6 run as one 6-pixel tile
     * ending at pixel_end, recomputing a few pixels (the same values) rather
     * than as single-pixel tiles at a third of the speed; only where the
     * output cannot overlap the input it would read again. */
    uintptr_t in_lo = (uintptr_t)(in + (size_t)pixel_begin * in_c);
    uintptr_t in_hi = (uintptr_t)(in + (size_t)pixel_end * in_c);
    uintptr_t out_lo = (uintptr_t)(out + (size_t)pixel_begin * out_c);
    uintptr_t out_hi = (uintptr_t)(out + (size_t)pixel_end * out_c);
    int overlap_tail = pixel_end - pixel_begin >= PW_TILE && (out_hi <= in_lo || in_hi <= out_lo);
    /* Chunks of tiles, each block over the whole chunk in one call: the
     * per-tile setup (constants, pointers, the call) was a quarter of a
     * small-K layer's time, and a block's weights are read once per chunk.
     * For small K the input sums are taken 16 pixels at a time. */
    int sums16 = sum_scale && in_c % 8 == 0 && in_c <= 32;
    int chunk_tiles = CHUNK_INPUT_BYTES / (PW_TILE * in_c);
    chunk_tiles = chunk_tiles < 1 ? 1 : chunk_tiles > CHUNK_TILES ? CHUNK_TILES : chunk_tiles;
    int32_t corr[CHUNK_TILES * PW_TILE];
    if (!sum_scale) memset(corr, 0, sizeof corr);
    /* outputs without zero point or clamp (ReLU6 of quantization-aware
     * models) run variants where both are constants */
    int plain = rq.zero_point == 0 && rq.out_min <= 0 && rq.out_max >= 255;
    rq_ctx rq_float = rq; /* the float route's: the zero point is in its offset */
    rq_float.zero_point = 0;
    /* residual entries: all of them for the all-channel tiles, a block's
     * own for the blocks */
    int res_n = header[HDR_RESIDUALS];
    pw_res res_all_entries, res_block;
    const pw_res *res_all =
        res_n ? pw_res_select(packed, in_c, out_c, 0, cp / 16, &res_all_entries) : NULL;
    for (int px = pixel_begin; px < pixel_end;) {
        int left = pixel_end - px, P = PW_TILE, tiles;
        if (left >= PW_TILE) {
            tiles = left / PW_TILE < chunk_tiles ? left / PW_TILE : chunk_tiles;
        } else if (overlap_tail) {
            px = pixel_end - PW_TILE;
            tiles = 1;
        } else {
            P = 1;
            tiles = left;
        }
        int n = P * tiles, k = 0;
        const uint8_t *x = in + (size_t)px * in_c;
        /* residual mode and symmetric weights (zw 128, per-channel int8)
         * need no input sum: corr stays 0 (a test per pixel instead let
         * GCC take every sum and multiply it by 0) */
        if (sum_scale) {
            if (sums16)
                for (; k + 16 <= n; k += 16)
                    pixel_corrections16(x + (size_t)k * in_c, in_c / 8, sum_scale, corr + k);
            for (; k < n; k++) corr[k] = sum_scale * byte_sum(x + (size_t)k * in_c, in_c);
        }
        /* the all-channel tiles: [uniform][residuals, plain, other, float
         * plain, float other] */
        wide_fn wide = NULL;
        int variant = res_all ? 0 : (header[HDR_FLOAT] ? 3 : 1) + !plain;
        if (P == PW_TILE && full == BLOCK && cp == 80) /* out_c 65..80 */
            wide = wide_n80[rq.uniform][variant];
        else if (P == PW_TILE && full == BLOCK && cp == 96) /* out_c 81..96 */
            wide = wide_n96[rq.uniform][variant];
        else if (P == PW_TILE && full == 2 * BLOCK && cp == 144 && rq.uniform) /* 129..144 */
            wide = wide_n144[variant];
        if (wide) {
            wide(x, in_c, wp, packed_bias, corr, res_all, &rq, out + (size_t)px * out_c, out_c, n);
            px += n;
            continue;
        }
        for (int block = 0; block < cp; block += BLOCK) {
            int nv = cp - block >= BLOCK ? 4 : (cp - block) / 16;
            int valid = out_c - block;
            pw_tile_fn tile = pw_tiles_6px[nv - 1];
            if (P < PW_TILE)
                tile = pw_tiles_1px[nv - 1];
            else if (nv == 4 && block >= full) /* two 32-blocks */
                tile = pw_tiles_6x4_tail;
            else if (nv == 2 && rq.uniform && valid > 16 && valid <= 24)
                tile = pw_tiles_pairs24;
            else if (nv == 4 && !rq.uniform)
                tile = pw_tiles_6x64_c;
            else if (nv == 4 && header[HDR_FLOAT])
                tile = pw_tiles_6x64_f;
            const pw_res *bres =
                res_n ? pw_res_select(packed, in_c, out_c, block / 16, nv, &res_block) : NULL;
            if (bres && tile == pw_tiles_6x16) tile = pw_tiles_6x16_res;
            else if (tile == pw_tiles_6x16 && header[HDR_FLOAT] && rq.uniform)
                tile = pw_tiles_6x16_f;
            tile(x, in_c, wp + (size_t)block * in4, packed_bias + block, corr, bres,
                 tile == pw_tiles_6x64_f ? &rq_float : &rq,
                 out + (size_t)px * out_c + block, out_c, block, block < full, valid, tiles);
        }
        px += n;
    }
}

#endif
