/* Segmentation mask row (see mnet_mask_row in ref_kernels.h), vectorized
 * over classes. Included by f32_mask_<isa>.c after simd_<isa>.h.
 *
 * A pixel needing interpolation computes its class vectors with the same
 * three exact FMAs per class as the reference, keeps a running vector max
 * that skips NaN, reduces it, and takes the first class equal to it: the
 * reference's first strict maximum, so the bits agree. */
#include <stddef.h>

#include "kernels/kernels.h"
#include "kernels/x86/template_common.h"

/* Largest class count: the mask stores classes in bytes. */
#define MASK_MAX_CLASSES 256

#if VLEN == 16
static inline vec mask_sub(vec a, vec b) { return _mm512_sub_ps(a, b); }
/* second operand where either is NaN */
static inline vec mask_max(vec a, vec b) { return _mm512_max_ps(a, b); }
static inline vec mask_keep_lanes(vec v, vmask m) {
    return _mm512_mask_mov_ps(vec_set1(-INFINITY), m, v);
}
static inline float mask_hmax(vec v) { return _mm512_reduce_max_ps(v); }
static inline unsigned mask_equal_bits(vec v, float x) {
    return (unsigned)_mm512_cmp_ps_mask(v, vec_set1(x), _CMP_EQ_OQ);
}
#else
static inline vec mask_sub(vec a, vec b) { return _mm256_sub_ps(a, b); }
static inline vec mask_max(vec a, vec b) { return _mm256_max_ps(a, b); }
static inline vec mask_keep_lanes(vec v, vmask m) {
    return _mm256_blendv_ps(vec_set1(-INFINITY), v, _mm256_castsi256_ps(m));
}
static inline float mask_hmax(vec v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static inline unsigned mask_equal_bits(vec v, float x) {
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, vec_set1(x), _CMP_EQ_OQ));
}
#endif

static inline vec mask_lerp(vec a, vec b, vec w) {
    return vec_fma(mask_sub(b, a), w, a);
}

static unsigned char mask_interpolated_argmax(const mnet_mask_row *r, int x, vmask tail) {
    const size_t cs = (size_t)r->classes;
    const float *a0 = r->top + (size_t)r->x0[x] * cs, *a1 = r->top + (size_t)r->x1[x] * cs;
    const float *b0 = r->bottom + (size_t)r->x0[x] * cs;
    const float *b1 = r->bottom + (size_t)r->x1[x] * cs;
    const vec fx = vec_set1(r->fx[x]), fy = vec_set1(r->fy);
    vec values[MASK_MAX_CLASSES / VLEN];
    vec run_max = vec_set1(-INFINITY);
    int nv = 0;
    for (int c = 0; c < r->classes; c += VLEN, nv++) {
        vec t, u;
        if (c + VLEN <= r->classes) {
            t = mask_lerp(vec_load(a0 + c), vec_load(a1 + c), fx);
            u = mask_lerp(vec_load(b0 + c), vec_load(b1 + c), fx);
        } else {
            t = mask_lerp(vec_load_mask(a0 + c, tail), vec_load_mask(a1 + c, tail), fx);
            u = mask_lerp(vec_load_mask(b0 + c, tail), vec_load_mask(b1 + c, tail), fx);
        }
        vec v = mask_lerp(t, u, fy);
        if (c + VLEN > r->classes) v = mask_keep_lanes(v, tail);
        values[nv] = v;
        /* v first: where it is NaN the running max is kept */
        run_max = mask_max(v, run_max);
    }
    const float m = mask_hmax(run_max);
    if (!(m > -INFINITY)) return 0;
    for (int i = 0; i < nv; i++) {
        unsigned bits = mask_equal_bits(values[i], m);
        if (bits) return (unsigned char)(i * VLEN + __builtin_ctz(bits));
    }
    return 0; /* unreachable: m is one of the values */
}

void X86_FN(mnet_f32_mask_row)(const mnet_mask_row *r, unsigned char *out) {
    const vmask tail = vec_mask_first(r->classes % VLEN);
    for (int x = 0; x < r->width; x++) {
        const int c0 = r->x0[x], c1 = r->x1[x];
        const unsigned char k = r->best_top[c0];
        if (r->best_top[c1] == k && r->best_bottom[c0] == k && r->best_bottom[c1] == k)
            out[x] = k;
        else
            out[x] = mask_interpolated_argmax(r, x, tail);
    }
}
