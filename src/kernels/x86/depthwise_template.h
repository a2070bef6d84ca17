/* Depthwise convolution (groups == in_c == out_c), NHWC, vectorized over
 * channels. Included by f32_depthwise_<isa>.c after simd_<isa>.h, with
 * X86_FN(name) naming the exported functions for that ISA.
 *
 * Packed weights: [kh*kw][cpad], cpad = channels rounded up to a vector,
 * zero-filled, so weight loads never need a mask.
 *
 * Each output row is split into the interior columns (every horizontal tap
 * inside the input) and the border columns. Interior runs compute DW_OXB
 * pixels per channel vector so that each weight load feeds DW_OXB
 * independent FMA chains; 3x3 and 5x5 kernels get unrolled tap loops.
 * Single pixels (borders, short rows) take four channel vectors at a time
 * for the same reason, and skip the taps outside the input. All visit taps
 * in the same (ky, kx) order, so a pixel's value does not depend on the
 * path, and rows are computed independently of the requested row range. */
#include <stddef.h>

#include "kernels/kernels.h"
#include "kernels/x86/template_common.h"

typedef struct dw_row {
    const float *in;   /* input tensor */
    const float *w;    /* packed weights */
    const float *bias; /* may be NULL */
    float *out;        /* output row */
    int in_w, c, cpad, kw, stride_w, dil_w, pad_left;
    int iy0, dil_h, ky_lo, ky_hi; /* top input row and valid vertical taps */
    vmask tail_mask;              /* lanes of the last, partial channel vector */
    vec lo, hi;
} dw_row;

X86_INLINE vec dw_load(const float *p, int masked, vmask m) {
    return masked ? vec_load_mask(p, m) : vec_load(p);
}

/* The register tiles are spelled out with one named variable per
 * accumulator: compilers keep arrays of vectors in memory inconsistently.
 * dw_tile_<NPX>x<NV> computes NPX output pixels from column ox by NV channel
 * vectors from channel c (only the last vector may be masked), over taps
 * kx in [kx_lo, kx_hi) that lie inside the input for every pixel. */
#define DW_PX_1(M, a) M(0, a)
#define DW_PX_4(M, a) DW_PX_1(M, a) M(1, a) M(2, a) M(3, a)
#define DW_PX_8(M, a) DW_PX_4(M, a) M(4, a) M(5, a) M(6, a) M(7, a)
#define DW_CV_1(M, j) M(j, 0)
#define DW_CV_4(M, j) M(j, 0) M(j, 1) M(j, 2) M(j, 3)

#define DW_LAST(v) (masked && (v) == nv - 1)
#define DW_LOAD_BIAS(j, v)                                                              \
    const vec bias_##v = r->bias ? dw_load(r->bias + c + v * VLEN, DW_LAST(v), r->tail_mask) \
                                 : vec_zero();
#define DW_INIT(j, v) vec acc_##j##_##v = bias_##v;
#define DW_PX_INIT(j, NV) DW_CV_##NV(DW_INIT, j)
#define DW_LOAD_W(j, v) const vec w_##v = vec_load(wk + v * VLEN);
#define DW_FMA(j, v)                                                                     \
    acc_##j##_##v = vec_fma(dw_load(px + j * step + v * VLEN, DW_LAST(v), r->tail_mask), \
                            w_##v, acc_##j##_##v);
#define DW_PX_FMA(j, NV) DW_CV_##NV(DW_FMA, j)
#define DW_STORE(j, v)                                                                   \
    {                                                                                    \
        const vec y = vec_clamp(acc_##j##_##v, r->lo, r->hi);                            \
        if (DW_LAST(v)) vec_store_mask(o + j * cs + v * VLEN, y, r->tail_mask);          \
        else vec_store(o + j * cs + v * VLEN, y);                                        \
    }
#define DW_PX_STORE(j, NV) DW_CV_##NV(DW_STORE, j)

#define DW_DEFINE_TILE(NPX, NV) DW_DEFINE_TILE_(NPX, NV) /* expands DW_OXB first */
#define DW_DEFINE_TILE_(NPX, NV)                                                         \
    X86_INLINE void dw_tile_##NPX##x##NV(const int kw_fixed, const int masked,           \
                                         const dw_row *r, int ox, int kx_lo, int kx_hi,  \
                                         int c) {                                        \
        const int nv = NV;                                                               \
        const int kw = kw_fixed ? kw_fixed : r->kw;                                      \
        const size_t cs = (size_t)r->c;                                                  \
        const size_t step = (size_t)r->stride_w * cs;                                    \
        DW_CV_##NV(DW_LOAD_BIAS, _)                                                      \
        DW_PX_##NPX(DW_PX_INIT, NV)                                                      \
        for (int ky = r->ky_lo; ky < r->ky_hi; ky++) {                                   \
            const size_t iy = (size_t)(r->iy0 + ky * r->dil_h);                          \
            const float *row = r->in + iy * (size_t)r->in_w * cs + c;                    \
            for (int kx = kx_lo; kx < kx_hi; kx++) {                                     \
                const float *wk = r->w + ((size_t)ky * kw + kx) * r->cpad + c;           \
                const ptrdiff_t ix = (ptrdiff_t)ox * r->stride_w - r->pad_left +         \
                                     (ptrdiff_t)kx * r->dil_w;                           \
                const float *px = row + ix * (ptrdiff_t)cs;                              \
                X86_OPAQUE(px);                                                          \
                DW_CV_##NV(DW_LOAD_W, _)                                                 \
                DW_PX_##NPX(DW_PX_FMA, NV)                                               \
            }                                                                            \
        }                                                                                \
        float *o = r->out + (size_t)ox * cs + c;                                         \
        DW_PX_##NPX(DW_PX_STORE, NV)                                                     \
    }

DW_DEFINE_TILE(DW_OXB, 1)
#define DW_TILE_NAME(n) DW_TILE_NAME_(n)
#define DW_TILE_NAME_(n) dw_tile_##n##x1
#define DW_TILE_OXB DW_TILE_NAME(DW_OXB)
DW_DEFINE_TILE(1, 4)
DW_DEFINE_TILE(1, 1)

/* A run of DW_OXB pixels: one weight load feeds DW_OXB FMA chains. */
X86_INLINE void dw_pixel_run(const int kw_fixed, const dw_row *r, int ox) {
    const int kw = kw_fixed ? kw_fixed : r->kw;
    int c = 0;
    for (; c + VLEN <= r->c; c += VLEN) DW_TILE_OXB(kw_fixed, 0, r, ox, 0, kw, c);
    if (c < r->c) DW_TILE_OXB(kw_fixed, 1, r, ox, 0, kw, c);
}

/* One pixel: four channel vectors at a time keep four FMA chains busy. */
X86_INLINE void dw_pixel(const int kw_fixed, const dw_row *r, int ox, int kx_lo, int kx_hi) {
    int c = 0;
    for (; c + 4 * VLEN <= r->c; c += 4 * VLEN) dw_tile_1x4(kw_fixed, 0, r, ox, kx_lo, kx_hi, c);
    for (; c + VLEN <= r->c; c += VLEN) dw_tile_1x1(kw_fixed, 0, r, ox, kx_lo, kx_hi, c);
    if (c < r->c) dw_tile_1x1(kw_fixed, 1, r, ox, kx_lo, kx_hi, c);
}

/* Interior columns [ox, ox_end) with a fixed kernel width (0 = any). */
X86_INLINE void dw_interior(const int kw_fixed, const dw_row *r, int ox, int ox_end) {
    const int kw = kw_fixed ? kw_fixed : r->kw;
    for (; ox + DW_OXB <= ox_end; ox += DW_OXB) dw_pixel_run(kw_fixed, r, ox);
    for (; ox < ox_end; ox++) dw_pixel(kw_fixed, r, ox, 0, kw);
}

static void dw_interior_k3(const dw_row *r, int ox, int e) { dw_interior(3, r, ox, e); }
static void dw_interior_k5(const dw_row *r, int ox, int e) { dw_interior(5, r, ox, e); }
static void dw_interior_any(const dw_row *r, int ox, int e) { dw_interior(0, r, ox, e); }

static void dw_border_pixel(const dw_row *r, int ox) {
    int kx_lo, kx_hi;
    valid_tap_range(ox * r->stride_w - r->pad_left, r->kw, r->dil_w, r->in_w, &kx_lo, &kx_hi);
    dw_pixel(0, r, ox, kx_lo, kx_hi);
}

static size_t dw_cpad(int c) { return (size_t)((c + VLEN - 1) / VLEN * VLEN); }

#include "kernels/x86/depthwise3x3_template.h"

size_t X86_FN(mnet_f32_depthwise_packed_size)(const mnet_conv_geometry *g) {
    return (size_t)g->kernel_h * g->kernel_w * dw_cpad(g->out_c);
}

void X86_FN(mnet_f32_depthwise_pack)(const mnet_conv_geometry *g, const float *w_ohwi,
                                     float *packed) {
    const size_t taps = (size_t)g->kernel_h * g->kernel_w, cpad = dw_cpad(g->out_c);
    for (size_t t = 0; t < taps; t++)
        for (size_t c = 0; c < cpad; c++)
            packed[t * cpad + c] = c < (size_t)g->out_c ? w_ohwi[c * taps + t] : 0.0f;
}

void X86_FN(mnet_f32_depthwise)(const mnet_conv_geometry *g, const float *in,
                                const float *packed, const float *bias, mnet_activation act,
                                float *out, int row_begin, int row_end) {
    if (row_begin < 0) row_begin = 0;
    if (row_end > g->out_h) row_end = g->out_h;
    if (dw3_applies(g)) {
        dw3_rows(g, in, packed, bias, act, out, row_begin, row_end);
        return;
    }
    dw_row r;
    r.in = in;
    r.w = packed;
    r.bias = bias;
    r.in_w = g->in_w;
    r.c = g->out_c;
    r.cpad = (int)dw_cpad(g->out_c);
    r.kw = g->kernel_w;
    r.stride_w = g->stride_w;
    r.dil_w = g->dilation_w;
    r.pad_left = g->pad_left;
    r.dil_h = g->dilation_h;
    r.tail_mask = vec_mask_first(g->out_c % VLEN);
    r.lo = act_lower_bound(act);
    r.hi = act_upper_bound(act);
    void (*interior)(const dw_row *, int, int) =
        g->kernel_w == 3 ? dw_interior_k3 : g->kernel_w == 5 ? dw_interior_k5 : dw_interior_any;
    if (row_begin < 0) row_begin = 0;
    if (row_end > g->out_h) row_end = g->out_h;
    int ox_lo, ox_hi;
    interior_columns(g->out_w, g->in_w, g->kernel_w, g->stride_w, g->dilation_w, g->pad_left,
                     &ox_lo, &ox_hi);
    for (int oy = row_begin; oy < row_end; oy++) {
        r.iy0 = oy * g->stride_h - g->pad_top;
        valid_tap_range(r.iy0, g->kernel_h, g->dilation_h, g->in_h, &r.ky_lo, &r.ky_hi);
        r.out = out + (size_t)oy * g->out_w * g->out_c;
        for (int ox = 0; ox < ox_lo; ox++) dw_border_pixel(&r, ox);
        interior(&r, ox_lo, ox_hi);
        for (int ox = ox_hi; ox < g->out_w; ox++) dw_border_pixel(&r, ox);
    }
}
