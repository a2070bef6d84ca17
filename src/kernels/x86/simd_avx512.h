/* The vector vocabulary the x86 kernel templates are written in, for
 * AVX-512 (16 floats per vector, 32 vector registers), plus the tile sizes
 * tuned for that register file. Include in exactly one ISA per file. */
#ifndef MNET_SIMD_AVX512_H
#define MNET_SIMD_AVX512_H

#include <immintrin.h>

#define VLEN 16
typedef __m512 vec;
typedef __mmask16 vmask;

/* Pointwise register tile: up to 4 vectors (64 outputs) by PW_MR_<n> pixels
 * (6, 8 or 12), about 24 accumulators + weights + one broadcast in 32 registers. */
#define PW_NRV_MAX 4
#define PW_MR_1 12
#define PW_MR_2 12
#define PW_MR_3 8
#define PW_MR_4 6
/* Depthwise: output pixels per step that share one weight load. */
#define DW_OXB 8
/* 3x3 depthwise: output pixels per step with the nine weights in registers. */
#define DW3_OXB 8
/* Generic conv: most output vectors per block, and pixels per step. */
#define CONV_NRV_MAX 3
#define CONV_OXB_1 16 /* pixels per step by block width, about 24 sums */
#define CONV_OXB_2 12
#define CONV_OXB_3 8
#define CONV_OXB_MAX 16

static inline vec vec_zero(void) { return _mm512_setzero_ps(); }
static inline vec vec_set1(float x) { return _mm512_set1_ps(x); }
static inline vec vec_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vec_store(float *p, vec v) { _mm512_storeu_ps(p, v); }
static inline vec vec_bcast(const float *p) { return _mm512_set1_ps(*p); }
static inline vec vec_fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline vec vec_add(vec a, vec b) { return _mm512_add_ps(a, b); }
static inline vec vec_div(vec a, vec b) { return _mm512_div_ps(a, b); }
/* max/min keep the second operand when one is NaN, so NaN passes a clamp
 * written as min(hi, max(lo, x)), as in the reference activation. */
static inline vec vec_clamp(vec x, vec lo, vec hi) {
    return _mm512_min_ps(hi, _mm512_max_ps(lo, x));
}
/* Mask of the first n lanes, 0 <= n <= VLEN. */
static inline vmask vec_mask_first(int n) { return (vmask)((1u << n) - 1u); }
/* Masked-off lanes are neither read nor faulted on. */
static inline vec vec_load_mask(const float *p, vmask m) { return _mm512_maskz_loadu_ps(m, p); }
static inline void vec_store_mask(float *p, vec v, vmask m) { _mm512_mask_storeu_ps(p, m, v); }

#endif
