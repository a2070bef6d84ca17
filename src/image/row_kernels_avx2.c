/* AVX2 + FMA row kernels (compiled through target attributes, selected at
 * run time by row_kernels.c).
 *
 * The scalar reader decodes a source pixel once per output pixel whose taps
 * cover it (YUV: chroma neighbours, matrix and clamps per tap). Here a
 * source row is decoded once, a chunk of at most CHUNK pixels at a time,
 * into three planar float arrays on the stack (YUV 8 pixels per step), and
 * the horizontal filter then reads those: when shrinking, one output pixel
 * is a dot product over its taps, 8 taps per step (masked loads for the
 * tail, so nothing past the taps is touched); when enlarging (at most two
 * taps), output pixels are done one by one from the planar floats. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "image/row_kernels.h"

#define AVX2 __attribute__((target("avx2,fma")))

#include "image/row_chunk.h"

#define ROW_TARGET AVX2
#define ROW_ACCUMULATE accumulate_row_avx2
#define ROW_INV_VEC __m256
#define ROW_INV_SET1 _mm256_set1_ps

/* sum[c] = the taps of output pixel k applied to channel c, one vector per
 * channel (lanes still to be added up). */
AVX2 static inline __attribute__((always_inline)) void dot_taps(const planar_chunk *chunk,
                                                                 int channels, const float *tap,
                                                                 __m256 inv, __m256 sum[3]) {
    const __m256 lanes = _mm256_setr_ps(0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int base = (int)tap[0] - chunk->first, n = (int)tap[1];
    const __m256 offset = _mm256_set1_ps(tap[2]);
    sum[0] = sum[1] = sum[2] = zero;
    for (int t = 0; t < n; t += 8) {
        /* Same float steps as the scalar tap weight: (t + 0.5) - offset. */
        __m256 pos = _mm256_add_ps(_mm256_set1_ps((float)t), lanes);
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(pos, offset), inv);
        __m256 w = _mm256_max_ps(_mm256_sub_ps(one, _mm256_and_ps(d, abs_mask)), zero);
        __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - t), lane_index);
        for (int c = 0; c < channels; c++) {
            __m256 px = _mm256_maskload_ps(chunk->c[c] + base + t, live);
            sum[c] = _mm256_fmadd_ps(w, px, sum[c]);
        }
    }
}

/* Scalar decoder halves, 8-lane sums and filter_chunk (built on dot_taps). */
#include "image/row_kernels_template.h"

/* Packed 8-bit formats: R, G, B of columns [x0, x0 + n) as floats, 8
 * pixels per step (3 bytes: byte shuffles of two overlapping 16-byte loads
 * that stay inside the 24 bytes; 4 bytes: shifts of 32-bit lanes). */
AVX2 static void decode_packed(const mnet_pixel_source *s, int row, int x0, int n, float *r,
                               float *g, float *b) {
    const unsigned char *p = s->planes[0] + (size_t)row * s->strides[0] +
                             (size_t)x0 * (size_t)s->bytes_per_pixel;
    const int bpp = s->bytes_per_pixel, offsets[3] = {s->r_offset, s->g_offset, s->b_offset};
    float *out[3] = {r, g, b};
    int i = 0;
    if (bpp == 3) {
        __m128i from_lo[3], from_hi[3];
        packed3_shuffles(offsets, from_lo, from_hi);
        for (; i + 8 <= n; i += 8) {
            const unsigned char *q = p + 3 * (size_t)i;
            __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)q);
            __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(q + 8));
            for (int c = 0; c < 3; c++) {
                __m128i bytes = _mm_or_si128(_mm_shuffle_epi8(lo, from_lo[c]),
                                             _mm_shuffle_epi8(hi, from_hi[c]));
                _mm256_storeu_ps(out[c] + i, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
            }
        }
    } else if (bpp == 4) {
        const __m256i byte_mask = _mm256_set1_epi32(0xff);
        for (; i + 8 <= n; i += 8) {
            __m256i px = _mm256_loadu_si256((const __m256i *)(const void *)(p + 4 * (size_t)i));
            for (int c = 0; c < 3; c++) {
                __m256i v = _mm256_and_si256(_mm256_srlv_epi32(px, _mm256_set1_epi32(8 * offsets[c])),
                                             byte_mask);
                _mm256_storeu_ps(out[c] + i, _mm256_cvtepi32_ps(v));
            }
        }
    }
    decode_packed_tail(p, bpp, offsets, i, n, out);
}

AVX2 static void decode_gray(const mnet_pixel_source *s, int row, int x0, int n, float *out) {
    const unsigned char *p = s->planes[0] + (size_t)row * s->strides[0] + (size_t)x0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i bytes = _mm_loadl_epi64((const __m128i *)(const void *)(p + i));
        _mm256_storeu_ps(out + i, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
    }
    for (; i < n; i++) out[i] = (float)p[i];
}

/* YUV 4:2:0, same siting and arithmetic as pixel_source.c (chroma blended
 * vertically first, then horizontally; the scalar reader does the reverse,
 * a rounding-level difference). x0 is even. */
AVX2 static void decode_yuv(const mnet_pixel_source *s, int row, int x0, int n, float *r,
                            float *g, float *b) {
    /* Chroma samples m0 - 1 .. m_end + 1, blended vertically. */
    float cu[CHUNK / 2 + 4], cv[CHUNK / 2 + 4];
    blend_chroma_rows(s, row, x0, n, cu, cv);
    const unsigned char *luma = s->planes[0] + (size_t)row * s->strides[0] + (size_t)x0;
    const __m256 y_off = _mm256_set1_ps(s->y_offset), y_scale = _mm256_set1_ps(s->y_scale);
    const __m256 rv = _mm256_set1_ps(s->rv), gu = _mm256_set1_ps(s->gu);
    const __m256 gv = _mm256_set1_ps(s->gv), bu = _mm256_set1_ps(s->bu);
    const __m256 zero = _mm256_setzero_ps(), top255 = _mm256_set1_ps(255.0f);
    const __m128 quarter = _mm_set1_ps(0.25f), three_quarters = _mm_set1_ps(0.75f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        /* Luma columns x0+i .. x0+i+7 (x0 + i even) use chroma samples
         * j-1 .. j+4 of the buffer, j = i/2 + 1. */
        const int j = i / 2 + 1;
        __m256 uv[2];
        const float *c_arr[2] = {cu, cv};
        for (int q = 0; q < 2; q++) {
            __m128 prev = _mm_loadu_ps(c_arr[q] + j - 1);
            __m128 cur = _mm_loadu_ps(c_arr[q] + j);
            __m128 next = _mm_loadu_ps(c_arr[q] + j + 1);
            __m128 even = _mm_add_ps(_mm_mul_ps(quarter, prev), _mm_mul_ps(three_quarters, cur));
            __m128 odd = _mm_add_ps(_mm_mul_ps(three_quarters, cur), _mm_mul_ps(quarter, next));
            uv[q] = _mm256_set_m128(_mm_unpackhi_ps(even, odd), _mm_unpacklo_ps(even, odd));
        }
        __m128i bytes = _mm_loadl_epi64((const __m128i *)(const void *)(luma + i));
        __m256 y = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
        y = _mm256_mul_ps(_mm256_sub_ps(y, y_off), y_scale);
        __m256 rr = _mm256_fmadd_ps(rv, uv[1], y);
        __m256 gg = _mm256_fmadd_ps(gv, uv[1], _mm256_fmadd_ps(gu, uv[0], y));
        __m256 bb = _mm256_fmadd_ps(bu, uv[0], y);
        _mm256_storeu_ps(r + i, _mm256_min_ps(_mm256_max_ps(rr, zero), top255));
        _mm256_storeu_ps(g + i, _mm256_min_ps(_mm256_max_ps(gg, zero), top255));
        _mm256_storeu_ps(b + i, _mm256_min_ps(_mm256_max_ps(bb, zero), top255));
    }
    decode_yuv_tail(s, luma, cu, cv, i, n, r, g, b);
}

#include "image/row_chunk_template.h"

AVX2 static void add_scaled_avx2(float *acc, const float *row, float weight, size_t n) {
    const __m256 w = _mm256_set1_ps(weight);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(acc + i,
                         _mm256_fmadd_ps(w, _mm256_loadu_ps(row + i), _mm256_loadu_ps(acc + i)));
    for (; i < n; i++) acc[i] += weight * row[i];
}

/* 8 pixels = 24 floats = three vectors whose channel pattern repeats with
 * period 3: (0 1 2 0 1 2 0 1), (2 0 1 2 0 1 2 0), (1 2 0 1 2 0 1 2). */
AVX2 static void normalize_rgb_avx2(const float *rgb, float *out, size_t pixels,
                                    const float mean[3], const float std[3]) {
    __m256 m[3], d[3];
    for (int v = 0; v < 3; v++) {
        float mv[8], dv[8];
        for (int l = 0; l < 8; l++) {
            mv[l] = mean[(v * 8 + l) % 3];
            dv[l] = std[(v * 8 + l) % 3];
        }
        m[v] = _mm256_loadu_ps(mv);
        d[v] = _mm256_loadu_ps(dv);
    }
    size_t k = 0;
    for (; k + 8 <= pixels; k += 8)
        for (int v = 0; v < 3; v++) {
            const float *src = rgb + 3 * k + 8 * (size_t)v;
            _mm256_storeu_ps(out + 3 * k + 8 * (size_t)v,
                             _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(src), m[v]), d[v]));
        }
    normalize_rgb_tail(rgb, out, k, pixels, mean, std);
}

const mnet_image_row_kernels mnet_image_row_kernels_avx2 = {
    "avx2", accumulate_row_avx2, add_scaled_avx2, normalize_rgb_avx2};

#endif
