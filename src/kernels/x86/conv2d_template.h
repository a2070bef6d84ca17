/* Generic convolution (groups == 1), NHWC, vectorized over output
 * channels; meant for the stem (3x3 s2, 3 -> 32) and other dense
 * non-1x1 layers. Included by f32_conv2d_<isa>.c after simd_<isa>.h, with
 * X86_FN(name) naming the exported functions for that ISA.
 *
 * Packed weights: output channels in blocks of up to CONV_NRV_MAX vectors
 * (fewer for the last block, so a 16- or 48-channel stem wastes no FMAs),
 * each block [kh][kw][in_c][block width], the block's last vector
 * zero-filled past out_c.
 *
 * Tiling: CONV_OXB_<nrv> output pixels x the block's nrv vectors of
 * accumulators; each input value is broadcast and multiplied by the
 * block's weight vectors. Interior pixels step CONV_OXB_<nrv> at a time,
 * border pixels one at a time,
 * skipping taps outside the input. Taps are visited in (ky, kx, ci) order
 * on both paths, so results do not depend on the path or row range.
 * Grouped convolutions (groups > 1) keep the OHWI weights and run the
 * reference loop. */
#include <stddef.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/x86/template_common.h"


/* The pixel and vector loops of a tile must unroll completely so that the
 * accumulator array becomes registers. */
#define CONV_UNROLL _Pragma("GCC unroll 16")

typedef struct conv_row {
    const mnet_conv_geometry *g;
    const float *in;
    const float *w;    /* this output block's packed weights */
    const float *bias; /* at the block's first channel, or NULL */
    float *out;        /* output row, at the block's first channel */
    int lanes[CONV_NRV_MAX]; /* output channels held by each vector of the block */
    int iy0, ky_lo, ky_hi;
    vec lo, hi;
} conv_row;

X86_INLINE void conv_pixels(const int n, const int nrv, const conv_row *r, int ox, int kx_lo,
                            int kx_hi) {
    const mnet_conv_geometry *g = r->g;
    const size_t ic = (size_t)g->in_c;
    const size_t step = (size_t)g->stride_w * ic;
    const size_t nr = (size_t)nrv * VLEN;
    vec acc[CONV_OXB_MAX][CONV_NRV_MAX];
    CONV_UNROLL
    for (int v = 0; v < nrv; v++) {
        vec b = vec_zero();
        if (r->bias != NULL && r->lanes[v] > 0)
            b = vec_load_mask(r->bias + v * VLEN, vec_mask_first(r->lanes[v]));
        CONV_UNROLL
        for (int j = 0; j < n; j++) acc[j][v] = b;
    }
    for (int ky = r->ky_lo; ky < r->ky_hi; ky++) {
        const size_t iy = (size_t)(r->iy0 + ky * g->dilation_h);
        for (int kx = kx_lo; kx < kx_hi; kx++) {
            const ptrdiff_t ix =
                (ptrdiff_t)ox * g->stride_w - g->pad_left + (ptrdiff_t)kx * g->dilation_w;
            const float *px = r->in + (ptrdiff_t)(iy * (size_t)g->in_w) * (ptrdiff_t)ic + ix * (ptrdiff_t)ic;
            const float *wt = r->w + ((size_t)ky * g->kernel_w + (size_t)kx) * ic * nr;
            for (size_t ci = 0; ci < ic; ci++) {
                vec wv[CONV_NRV_MAX];
                CONV_UNROLL
                for (int v = 0; v < nrv; v++) wv[v] = vec_load(wt + ci * nr + v * VLEN);
                CONV_UNROLL
                for (int j = 0; j < n; j++) {
                    const vec xv = vec_bcast(px + j * step + ci);
                    CONV_UNROLL
                    for (int v = 0; v < nrv; v++) acc[j][v] = vec_fma(xv, wv[v], acc[j][v]);
                }
            }
        }
    }
    CONV_UNROLL
    for (int j = 0; j < n; j++) {
        float *o = r->out + (size_t)(ox + j) * g->out_c;
        CONV_UNROLL
        for (int v = 0; v < nrv; v++) {
            const vec y = vec_clamp(acc[j][v], r->lo, r->hi);
            if (r->lanes[v] == VLEN) vec_store(o + v * VLEN, y);
            else if (r->lanes[v] > 0) vec_store_mask(o + v * VLEN, y, vec_mask_first(r->lanes[v]));
        }
    }
}

X86_INLINE int conv_pixels_per_step(const int nrv) {
#if CONV_NRV_MAX >= 3
    if (nrv == 3) return CONV_OXB_3;
#endif
    return nrv == 1 ? CONV_OXB_1 : CONV_OXB_2;
}

/* One output row of one block of nrv vectors: interior columns
 * [ox_lo, ox_hi) in runs of CONV_OXB_<nrv>, border columns one at a time. */
X86_INLINE void conv_row_block(const int nrv, const conv_row *r, int ox_lo, int ox_hi) {
    const mnet_conv_geometry *g = r->g;
    const int kw = g->kernel_w;
    const int oxb = conv_pixels_per_step(nrv);
    for (int ox = 0; ox < g->out_w; ox++) {
        if (ox == ox_lo) {
            for (; ox + oxb <= ox_hi; ox += oxb) conv_pixels(oxb, nrv, r, ox, 0, kw);
            for (; ox < ox_hi; ox++) conv_pixels(1, nrv, r, ox, 0, kw);
            if (ox >= g->out_w) break;
        }
        int kx_lo, kx_hi;
        valid_tap_range(ox * g->stride_w - g->pad_left, kw, g->dilation_w, g->in_w, &kx_lo,
                        &kx_hi);
        conv_pixels(1, nrv, r, ox, kx_lo, kx_hi);
    }
}

static void conv_row_block_1(const conv_row *r, int lo, int hi) { conv_row_block(1, r, lo, hi); }
static void conv_row_block_2(const conv_row *r, int lo, int hi) { conv_row_block(2, r, lo, hi); }
#if CONV_NRV_MAX >= 3
static void conv_row_block_3(const conv_row *r, int lo, int hi) { conv_row_block(3, r, lo, hi); }
#endif

static void (*const conv_row_blocks[CONV_NRV_MAX + 1])(const conv_row *, int, int) = {
    NULL, conv_row_block_1, conv_row_block_2,
#if CONV_NRV_MAX >= 3
    conv_row_block_3,
#endif
};

/* Vectors in the block starting at output channel ob. */
static int conv_block_vectors(int out_c, int ob) {
    return min_int(CONV_NRV_MAX, (out_c - ob + VLEN - 1) / VLEN);
}

static size_t conv_filter_floats(const mnet_conv_geometry *g) {
    return (size_t)g->kernel_h * g->kernel_w * g->in_c;
}

static size_t conv_ohwi_floats(const mnet_conv_geometry *g) {
    return (size_t)g->out_c * g->kernel_h * g->kernel_w * (g->in_c / g->groups);
}

size_t X86_FN(mnet_f32_conv2d_packed_size)(const mnet_conv_geometry *g) {
    if (g->groups != 1) return conv_ohwi_floats(g);
    return (size_t)((g->out_c + VLEN - 1) / VLEN * VLEN) * conv_filter_floats(g);
}

void X86_FN(mnet_f32_conv2d_pack)(const mnet_conv_geometry *g, const float *w_ohwi,
                                  float *packed) {
    if (g->groups != 1) {
        memcpy(packed, w_ohwi, conv_ohwi_floats(g) * sizeof(float));
        return;
    }
    const size_t per_out = conv_filter_floats(g); /* one OHWI filter */
    for (int ob = 0; ob < g->out_c;) {
        const int nr = conv_block_vectors(g->out_c, ob) * VLEN;
        for (size_t t = 0; t < per_out; t++)
            for (int j = 0; j < nr; j++)
                *packed++ = ob + j < g->out_c ? w_ohwi[(size_t)(ob + j) * per_out + t] : 0.0f;
        ob += nr;
    }
}

void X86_FN(mnet_f32_conv2d)(const mnet_conv_geometry *g, const float *in, const float *packed,
                             const float *bias, mnet_activation act, float *out, int row_begin,
                             int row_end) {
    if (g->groups != 1) {
        mnet_ref_conv2d_rows_f32(g, in, packed, bias, act, out, row_begin, row_end);
        return;
    }
    conv_row r;
    r.g = g;
    r.in = in;
    r.lo = act_lower_bound(act);
    r.hi = act_upper_bound(act);
    if (row_begin < 0) row_begin = 0;
    if (row_end > g->out_h) row_end = g->out_h;
    int ox_lo, ox_hi;
    interior_columns(g->out_w, g->in_w, g->kernel_w, g->stride_w, g->dilation_w, g->pad_left,
                     &ox_lo, &ox_hi);
    for (int oy = row_begin; oy < row_end; oy++) {
        r.iy0 = oy * g->stride_h - g->pad_top;
        valid_tap_range(r.iy0, g->kernel_h, g->dilation_h, g->in_h, &r.ky_lo, &r.ky_hi);
        for (int ob = 0; ob < g->out_c;) {
            const int nrv = conv_block_vectors(g->out_c, ob);
            r.w = packed + (size_t)ob * conv_filter_floats(g);
            r.bias = bias ? bias + ob : NULL;
            r.out = out + (size_t)oy * g->out_w * g->out_c + ob;
            for (int v = 0; v < CONV_NRV_MAX; v++)
                r.lanes[v] = max_int(0, min_int(VLEN, g->out_c - ob - v * VLEN));
            conv_row_blocks[nrv](&r, ox_lo, ox_hi);
            ob += nrv * VLEN;
        }
    }
}
