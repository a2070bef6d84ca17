/* The vector vocabulary the x86 kernel templates are written in, for
 * AVX2 + FMA (8 floats per vector, 16 vector registers), plus the tile
 * sizes tuned for that register file. Include in exactly one ISA per file. */
#ifndef MNET_SIMD_AVX2_H
#define MNET_SIMD_AVX2_H

#include <immintrin.h>

#define VLEN 8
typedef __m256 vec;
typedef __m256i vmask;

/* Pointwise register tile: up to 2 vectors (16 outputs) by PW_MR_<n> pixels
 * (6, 8 or 12), 12 accumulators + weights + one broadcast in 16 registers. */
#define PW_NRV_MAX 2
#define PW_MR_1 12
#define PW_MR_2 6
#define DW_OXB 4
#define DW3_OXB 4 /* 9 weights + 4 sums + input + clamp bounds = 16 registers */
#define CONV_NRV_MAX 2
#define CONV_OXB_1 12 /* pixels per step by block width, 12 sums */
#define CONV_OXB_2 6
#define CONV_OXB_MAX 12

static inline vec vec_zero(void) { return _mm256_setzero_ps(); }
static inline vec vec_set1(float x) { return _mm256_set1_ps(x); }
static inline vec vec_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vec_store(float *p, vec v) { _mm256_storeu_ps(p, v); }
static inline vec vec_bcast(const float *p) { return _mm256_broadcast_ss(p); }
static inline vec vec_fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline vec vec_add(vec a, vec b) { return _mm256_add_ps(a, b); }
static inline vec vec_div(vec a, vec b) { return _mm256_div_ps(a, b); }
/* max/min keep the second operand when one is NaN, so NaN passes a clamp
 * written as min(hi, max(lo, x)), as in the reference activation. */
static inline vec vec_clamp(vec x, vec lo, vec hi) {
    return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
}
/* Mask of the first n lanes, 0 <= n <= VLEN. */
static inline vmask vec_mask_first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* Masked-off lanes are neither read nor faulted on. */
static inline vec vec_load_mask(const float *p, vmask m) { return _mm256_maskload_ps(p, m); }
static inline void vec_store_mask(float *p, vec v, vmask m) { _mm256_maskstore_ps(p, m, v); }

#endif
