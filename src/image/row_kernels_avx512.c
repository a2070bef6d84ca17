/* AVX-512 (F + BW + DQ + VL) row kernels, compiled through target
 * attributes and selected at run time by row_kernels.c.
 *
 * Same plan as row_kernels_avx2.c, 16 floats per vector: a source row is
 * decoded once per chunk into three planar float arrays (16 pixels per
 * step), then shrinking filters take one output pixel as a dot product
 * over its taps under a lane mask (masked lanes are not read, so nothing
 * past the taps is touched): one 8-lane step for up to 8 taps, else 16 taps
 * per step, so footprints of 9 to 16 taps (shrinks of about 4x to 8x) take
 * one step where AVX2 needs two. Enlarging (at most two taps) stays one
 * output pixel at a time. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "image/row_kernels.h"

#define AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")))

#include "image/row_chunk.h"

#define ROW_TARGET AVX512
#define ROW_ACCUMULATE accumulate_row_avx512
#define ROW_INV_VEC __m512
#define ROW_INV_SET1 _mm512_set1_ps

/* Lanes [0, n) set, n clamped to [0, 16]. */
static inline __mmask16 first_lanes(int n) {
    return n >= 16 ? (__mmask16)0xffff : (n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u));
}

/* The two 8-lane halves of v added together. */
AVX512 static inline __m256 fold_halves(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

/* sum[c] = the taps of output pixel k applied to channel c, one 8-lane
 * vector per channel (lanes still to be added up). Footprints of at most 8
 * taps (most camera shrinks below 4x) take one 8-lane masked step: a
 * 16-lane step would be half empty and still need folding. Wider ones go
 * 16 taps per step and are folded to 8 lanes at the end. */
AVX512 static inline __attribute__((always_inline)) void dot_taps(const planar_chunk *chunk,
                                                                   int channels, const float *tap,
                                                                   __m512 inv, __m256 sum[3]) {
    const int base = (int)tap[0] - chunk->first, n = (int)tap[1];
    if (n <= 8) {
        const __m256 lanes = _mm256_setr_ps(0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f);
        const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
        /* Same float steps as the scalar tap weight: (t + 0.5) - offset. */
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(lanes, _mm256_set1_ps(tap[2])),
                                 _mm512_castps512_ps256(inv));
        __m256 w = _mm256_max_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(d, abs_mask)),
                                 _mm256_setzero_ps());
        const __mmask8 live = (__mmask8)first_lanes(n);
        for (int c = 0; c < channels; c++)
            sum[c] = _mm256_mul_ps(w, _mm256_maskz_loadu_ps(live, chunk->c[c] + base));
        return;
    }
    const __m512 lanes = _mm512_setr_ps(0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f, 8.5f,
                                        9.5f, 10.5f, 11.5f, 12.5f, 13.5f, 14.5f, 15.5f);
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 offset = _mm512_set1_ps(tap[2]);
    __m512 wide[3] = {zero, zero, zero};
    for (int t = 0; t < n; t += 16) {
        __m512 pos = _mm512_add_ps(_mm512_set1_ps((float)t), lanes);
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(pos, offset), inv);
        __m512 w = _mm512_max_ps(_mm512_sub_ps(one, _mm512_abs_ps(d)), zero);
        const __mmask16 live = first_lanes(n - t);
        for (int c = 0; c < channels; c++) {
            __m512 px = _mm512_maskz_loadu_ps(live, chunk->c[c] + base + t);
            wide[c] = _mm512_fmadd_ps(w, px, wide[c]);
        }
    }
    for (int c = 0; c < channels; c++) sum[c] = fold_halves(wide[c]);
}

/* Scalar decoder halves, 8-lane sums and filter_chunk (built on dot_taps). */
#include "image/row_kernels_template.h"

/* Packed 8-bit formats: R, G, B of columns [x0, x0 + n) as floats, 16
 * pixels per step. 3 bytes: two halves of 8 pixels, each gathered by byte
 * shuffles of two overlapping 16-byte loads inside its 24 bytes (VBMI's
 * cross-lane byte permute is not part of the required set); 4 bytes:
 * shifts of 32-bit lanes. */
AVX512 static void decode_packed(const mnet_pixel_source *s, int row, int x0, int n, float *r,
                                 float *g, float *b) {
    const unsigned char *p = s->planes[0] + (size_t)row * s->strides[0] +
                             (size_t)x0 * (size_t)s->bytes_per_pixel;
    const int bpp = s->bytes_per_pixel, offsets[3] = {s->r_offset, s->g_offset, s->b_offset};
    float *out[3] = {r, g, b};
    int i = 0;
    if (bpp == 3) {
        __m128i from_lo[3], from_hi[3];
        packed3_shuffles(offsets, from_lo, from_hi);
        for (; i + 16 <= n; i += 16) {
            const unsigned char *q = p + 3 * (size_t)i;
            __m128i a_lo = _mm_loadu_si128((const __m128i *)(const void *)q);
            __m128i a_hi = _mm_loadu_si128((const __m128i *)(const void *)(q + 8));
            __m128i b_lo = _mm_loadu_si128((const __m128i *)(const void *)(q + 24));
            __m128i b_hi = _mm_loadu_si128((const __m128i *)(const void *)(q + 32));
            for (int c = 0; c < 3; c++) {
                __m128i first = _mm_or_si128(_mm_shuffle_epi8(a_lo, from_lo[c]),
                                             _mm_shuffle_epi8(a_hi, from_hi[c]));
                __m128i second = _mm_or_si128(_mm_shuffle_epi8(b_lo, from_lo[c]),
                                              _mm_shuffle_epi8(b_hi, from_hi[c]));
                __m128i bytes = _mm_unpacklo_epi64(first, second);
                _mm512_storeu_ps(out[c] + i, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)));
            }
        }
    } else if (bpp == 4) {
        const __m512i byte_mask = _mm512_set1_epi32(0xff);
        for (; i + 16 <= n; i += 16) {
            __m512i px = _mm512_loadu_si512((const void *)(p + 4 * (size_t)i));
            for (int c = 0; c < 3; c++) {
                __m512i v = _mm512_and_si512(
                    _mm512_srlv_epi32(px, _mm512_set1_epi32(8 * offsets[c])), byte_mask);
                _mm512_storeu_ps(out[c] + i, _mm512_cvtepi32_ps(v));
            }
        }
    }
    decode_packed_tail(p, bpp, offsets, i, n, out);
}

AVX512 static void decode_gray(const mnet_pixel_source *s, int row, int x0, int n, float *out) {
    const unsigned char *p = s->planes[0] + (size_t)row * s->strides[0] + (size_t)x0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        _mm512_storeu_ps(out + i, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)));
    }
    for (; i < n; i++) out[i] = (float)p[i];
}

/* YUV 4:2:0, same siting and arithmetic as the AVX2 decoder (chroma
 * blended vertically first, then horizontally). x0 is even. */
AVX512 static void decode_yuv(const mnet_pixel_source *s, int row, int x0, int n, float *r,
                              float *g, float *b) {
    /* Chroma samples m0 - 1 .. m_end + 1, blended vertically. */
    float cu[CHUNK / 2 + 4], cv[CHUNK / 2 + 4];
    blend_chroma_rows(s, row, x0, n, cu, cv);
    const unsigned char *luma = s->planes[0] + (size_t)row * s->strides[0] + (size_t)x0;
    const __m512 y_off = _mm512_set1_ps(s->y_offset), y_scale = _mm512_set1_ps(s->y_scale);
    const __m512 rv = _mm512_set1_ps(s->rv), gu = _mm512_set1_ps(s->gu);
    const __m512 gv = _mm512_set1_ps(s->gv), bu = _mm512_set1_ps(s->bu);
    const __m512 zero = _mm512_setzero_ps(), top255 = _mm512_set1_ps(255.0f);
    const __m256 quarter = _mm256_set1_ps(0.25f), three_quarters = _mm256_set1_ps(0.75f);
    /* Lane 2k takes even[k], lane 2k + 1 takes odd[k] (index 16 + k). */
    const __m512i interleave = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                                 22, 7, 23);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        /* Luma columns x0+i .. x0+i+15 (x0 + i even) use chroma samples
         * j-1 .. j+8 of the buffer, j = i/2 + 1. */
        const int j = i / 2 + 1;
        __m512 uv[2];
        const float *c_arr[2] = {cu, cv};
        for (int q = 0; q < 2; q++) {
            __m256 prev = _mm256_loadu_ps(c_arr[q] + j - 1);
            __m256 cur = _mm256_loadu_ps(c_arr[q] + j);
            __m256 next = _mm256_loadu_ps(c_arr[q] + j + 1);
            __m256 even =
                _mm256_add_ps(_mm256_mul_ps(quarter, prev), _mm256_mul_ps(three_quarters, cur));
            __m256 odd =
                _mm256_add_ps(_mm256_mul_ps(three_quarters, cur), _mm256_mul_ps(quarter, next));
            uv[q] = _mm512_permutex2var_ps(_mm512_castps256_ps512(even), interleave,
                                           _mm512_castps256_ps512(odd));
        }
        __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)(luma + i));
        __m512 y = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
        y = _mm512_mul_ps(_mm512_sub_ps(y, y_off), y_scale);
        __m512 rr = _mm512_fmadd_ps(rv, uv[1], y);
        __m512 gg = _mm512_fmadd_ps(gv, uv[1], _mm512_fmadd_ps(gu, uv[0], y));
        __m512 bb = _mm512_fmadd_ps(bu, uv[0], y);
        _mm512_storeu_ps(r + i, _mm512_min_ps(_mm512_max_ps(rr, zero), top255));
        _mm512_storeu_ps(g + i, _mm512_min_ps(_mm512_max_ps(gg, zero), top255));
        _mm512_storeu_ps(b + i, _mm512_min_ps(_mm512_max_ps(bb, zero), top255));
    }
    decode_yuv_tail(s, luma, cu, cv, i, n, r, g, b);
}

#include "image/row_chunk_template.h"

/* The tail goes through a lane mask, so every element takes the same fused
 * multiply-add. */
AVX512 static void add_scaled_avx512(float *acc, const float *row, float weight, size_t n) {
    const __m512 w = _mm512_set1_ps(weight);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(acc + i,
                         _mm512_fmadd_ps(w, _mm512_loadu_ps(row + i), _mm512_loadu_ps(acc + i)));
    if (i < n) {
        const __mmask16 live = first_lanes((int)(n - i));
        __m512 sum = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(live, row + i),
                                     _mm512_maskz_loadu_ps(live, acc + i));
        _mm512_mask_storeu_ps(acc + i, live, sum);
    }
}

/* 16 pixels = 48 floats = three vectors whose channel pattern repeats with
 * period 3: vector v, lane l holds channel (16 v + l) mod 3. */
AVX512 static void normalize_rgb_avx512(const float *rgb, float *out, size_t pixels,
                                        const float mean[3], const float std[3]) {
    __m512 m[3], d[3];
    for (int v = 0; v < 3; v++) {
        float mv[16], dv[16];
        for (int l = 0; l < 16; l++) {
            mv[l] = mean[(v * 16 + l) % 3];
            dv[l] = std[(v * 16 + l) % 3];
        }
        m[v] = _mm512_loadu_ps(mv);
        d[v] = _mm512_loadu_ps(dv);
    }
    size_t k = 0;
    for (; k + 16 <= pixels; k += 16)
        for (int v = 0; v < 3; v++) {
            const float *src = rgb + 3 * k + 16 * (size_t)v;
            _mm512_storeu_ps(out + 3 * k + 16 * (size_t)v,
                             _mm512_div_ps(_mm512_sub_ps(_mm512_loadu_ps(src), m[v]), d[v]));
        }
    normalize_rgb_tail(rgb, out, k, pixels, mean, std);
}

const mnet_image_row_kernels mnet_image_row_kernels_avx512 = {
    "avx512", accumulate_row_avx512, add_scaled_avx512, normalize_rgb_avx512};

#endif
