/* Pointwise (1x1, stride 1) convolution as a GEMM
 * out[pixels][out_c] = act(in[pixels][in_c] * W[in_c][out_c] + bias + residual).
 *
 * Included by f32_pointwise_<isa>.c after simd_<isa>.h, with X86_FN(name)
 * naming the exported functions for that ISA.
 *
 * Packed weights: output channels in blocks of up to PW_NRV_MAX vectors;
 * each block is [in_c][block width] (one row of weights per input channel),
 * the last block's width rounded up to whole vectors and zero-filled.
 *
 * Tiling: a register tile holds MR pixels x NRV vectors of accumulators
 * (see simd_<isa>.h); per input channel it loads NRV weight vectors and
 * broadcasts MR inputs. Pixels are walked in chunks whose inputs stay in L2
 * while every output block sweeps them, so each weight block is streamed
 * from memory once per chunk. A pixel's value never depends on the tile or
 * chunk it falls in: every pixel sums its in_c products in the same order. */
#include <stddef.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/x86/template_common.h"

/* Input floats per pixel chunk (384 KiB). */
#define PW_CHUNK_FLOATS (96 * 1024)

typedef struct pw_block_args {
    int in_c, out_c;
    const float *in;       /* pixel 0 of the input */
    const float *w;        /* this block's packed weights [in_c][nrv * VLEN] */
    const float *bias;     /* at this block's first channel, or NULL */
    const float *residual; /* at this block's first channel, or NULL */
    float *out;            /* at this block's first channel */
    int last_full;         /* the block's last vector holds VLEN channels */
    vmask last_mask;       /* else the lanes it holds */
    vec lo, hi;            /* activation clamp */
} pw_block_args;

X86_INLINE void pw_tile(const int mr, const int nrv, const pw_block_args *a, int p) {
    const int nr = nrv * VLEN;
    const int in_c = a->in_c;
    const size_t out_c = (size_t)a->out_c;
    const float *x = a->in + (size_t)p * in_c;
    const float *w = a->w;

    vec bias[PW_NRV_MAX];
    for (int v = 0; v < nrv; v++) {
        const int partial = v == nrv - 1 && !a->last_full;
        if (a->bias == NULL) bias[v] = vec_zero();
        else if (partial) bias[v] = vec_load_mask(a->bias + v * VLEN, a->last_mask);
        else bias[v] = vec_load(a->bias + v * VLEN);
    }
    vec acc[PW_MR_MAX][PW_NRV_MAX];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nrv; v++) acc[i][v] = bias[v];

    for (int k = 0; k < in_c; k++) {
        vec wk[PW_NRV_MAX];
        for (int v = 0; v < nrv; v++) wk[v] = vec_load(w + (size_t)k * nr + v * VLEN);
        for (int i = 0; i < mr; i++) {
            const vec xi = vec_bcast(x + (size_t)i * in_c + k);
            for (int v = 0; v < nrv; v++) acc[i][v] = vec_fma(xi, wk[v], acc[i][v]);
        }
    }

    for (int i = 0; i < mr; i++) {
        float *o = a->out + (size_t)(p + i) * out_c;
        const float *r = a->residual ? a->residual + (size_t)(p + i) * out_c : NULL;
        for (int v = 0; v < nrv; v++) {
            const int partial = v == nrv - 1 && !a->last_full;
            vec y = acc[i][v];
            if (r != NULL)
                y = vec_add(y, partial ? vec_load_mask(r + v * VLEN, a->last_mask)
                                       : vec_load(r + v * VLEN));
            y = vec_clamp(y, a->lo, a->hi);
            if (partial) vec_store_mask(o + v * VLEN, y, a->last_mask);
            else vec_store(o + v * VLEN, y);
        }
    }
}

/* Full tiles of mr pixels over [p, p_end), then one narrower tile for the
 * remainder; the remainder's size is turned into a constant by the switch
 * so that it too is an unrolled register tile. */
X86_INLINE void pw_block(const int mr, const int nrv, const pw_block_args *a, int p, int p_end) {
    for (; p + mr <= p_end; p += mr) pw_tile(mr, nrv, a, p);
    switch (p_end - p) {
#define PW_REMAINDER(n) \
    case n:             \
        if (n < mr) pw_tile(n, nrv, a, p); \
        break;
        PW_REMAINDER(1) PW_REMAINDER(2) PW_REMAINDER(3) PW_REMAINDER(4)
        PW_REMAINDER(5) PW_REMAINDER(6) PW_REMAINDER(7) PW_REMAINDER(8)
        PW_REMAINDER(9) PW_REMAINDER(10) PW_REMAINDER(11)
#undef PW_REMAINDER
    default:
        break;
    }
}

static void pw_block_1(const pw_block_args *a, int p, int e) { pw_block(PW_MR_1, 1, a, p, e); }
static void pw_block_2(const pw_block_args *a, int p, int e) { pw_block(PW_MR_2, 2, a, p, e); }
#if PW_NRV_MAX >= 3
static void pw_block_3(const pw_block_args *a, int p, int e) { pw_block(PW_MR_3, 3, a, p, e); }
#endif
#if PW_NRV_MAX >= 4
static void pw_block_4(const pw_block_args *a, int p, int e) { pw_block(PW_MR_4, 4, a, p, e); }
#endif

static void (*const pw_blocks[PW_NRV_MAX + 1])(const pw_block_args *, int, int) = {
    NULL, pw_block_1, pw_block_2,
#if PW_NRV_MAX >= 3
    pw_block_3,
#endif
#if PW_NRV_MAX >= 4
    pw_block_4,
#endif
};

/* Vectors in the block starting at output channel ob. */
static int pw_block_vectors(int out_c, int ob) {
    return min_int(PW_NRV_MAX, (out_c - ob + VLEN - 1) / VLEN);
}

size_t X86_FN(mnet_f32_pointwise_packed_size)(int in_c, int out_c) {
    return (size_t)in_c * (size_t)((out_c + VLEN - 1) / VLEN * VLEN);
}

void X86_FN(mnet_f32_pointwise_pack)(int in_c, int out_c, const float *w_oi, float *packed) {
    for (int ob = 0; ob < out_c;) {
        const int nr = pw_block_vectors(out_c, ob) * VLEN;
        for (int k = 0; k < in_c; k++)
            for (int j = 0; j < nr; j++)
                *packed++ = ob + j < out_c ? w_oi[(size_t)(ob + j) * in_c + k] : 0.0f;
        ob += nr;
    }
}

void X86_FN(mnet_f32_pointwise)(int in_c, int out_c, const float *in, const float *packed,
                                const float *bias, const float *residual,
                                mnet_activation act, float *out, int pixel_begin,
                                int pixel_end) {
    int mr_lcm = 24; /* every PW_MR_<n> divides it: chunks hold whole tiles */
    int chunk = max_int(mr_lcm, PW_CHUNK_FLOATS / max_int(in_c, 1) / mr_lcm * mr_lcm);
    if (pixel_begin < 0) pixel_begin = 0;
    pw_block_args a;
    a.in_c = in_c;
    a.out_c = out_c;
    a.in = in;
    a.lo = act_lower_bound(act);
    a.hi = act_upper_bound(act);
    for (int p0 = pixel_begin; p0 < pixel_end; p0 += chunk) {
        const int p1 = min_int(pixel_end, p0 + chunk);
        const float *w = packed;
        for (int ob = 0; ob < out_c;) {
            const int nrv = pw_block_vectors(out_c, ob);
            const int last_lanes = out_c - ob - (nrv - 1) * VLEN;
            a.w = w;
            a.bias = bias ? bias + ob : NULL;
            a.residual = residual ? residual + ob : NULL;
            a.out = out + ob;
            a.last_full = last_lanes >= VLEN;
            a.last_mask = vec_mask_first(min_int(last_lanes, VLEN));
            pw_blocks[nrv](&a, p0, p1);
            w += (size_t)in_c * nrv * VLEN;
            ob += nrv * VLEN;
        }
    }
}
