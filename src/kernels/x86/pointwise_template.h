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

/* Bias of vector v of the block (zero without bias). */
X86_INLINE vec pw_bias(const pw_block_args *a, int v, int last) {
    if (a->bias == NULL) return vec_zero();
    if (last && !a->last_full) return vec_load_mask(a->bias + v * VLEN, a->last_mask);
    return vec_load(a->bias + v * VLEN);
}

/* Residual, activation and store of vector v of pixel p. */
X86_INLINE void pw_store(const pw_block_args *a, int p, int v, int last, vec y) {
    const size_t at = (size_t)p * (size_t)a->out_c + (size_t)v * VLEN;
    const int partial = last && !a->last_full;
    if (a->residual != NULL)
        y = vec_add(y, partial ? vec_load_mask(a->residual + at, a->last_mask)
                               : vec_load(a->residual + at));
    y = vec_clamp(y, a->lo, a->hi);
    if (partial) vec_store_mask(a->out + at, y, a->last_mask);
    else vec_store(a->out + at, y);
}

/* The register tile is spelled out with one named variable per
 * accumulator: compilers keep arrays of vectors in memory inconsistently
 * (gcc for some shapes, clang for others), which halves the speed.
 * PW_ROWS_<n>(M, arg) expands M(i, arg) for rows i < n, PW_VECS_<n>(M, i)
 * expands M(i, v) for vectors v < n. */
#define PW_ROWS_1(M, a) M(0, a)
#define PW_ROWS_2(M, a) PW_ROWS_1(M, a) M(1, a)
#define PW_ROWS_4(M, a) PW_ROWS_2(M, a) M(2, a) M(3, a)
#define PW_ROWS_6(M, a) PW_ROWS_4(M, a) M(4, a) M(5, a)
#define PW_ROWS_8(M, a) PW_ROWS_6(M, a) M(6, a) M(7, a)
#define PW_ROWS_12(M, a) PW_ROWS_8(M, a) M(8, a) M(9, a) M(10, a) M(11, a)
#define PW_VECS_1(M, i) M(i, 0)
#define PW_VECS_2(M, i) PW_VECS_1(M, i) M(i, 1)
#define PW_VECS_3(M, i) PW_VECS_2(M, i) M(i, 2)
#define PW_VECS_4(M, i) PW_VECS_3(M, i) M(i, 3)

#define PW_LOAD_BIAS(i, v) const vec bias_##v = pw_bias(a, v, v == nrv - 1);
#define PW_INIT(i, v) vec acc_##i##_##v = bias_##v;
#define PW_ROW_INIT(i, NRV) PW_VECS_##NRV(PW_INIT, i)
#define PW_LOAD_W(i, v) const vec w_##v = vec_load(w + v * VLEN);
#define PW_FMA(i, v) acc_##i##_##v = vec_fma(x_##i, w_##v, acc_##i##_##v);
#define PW_ROW_FMA(i, NRV)                                      \
    {                                                           \
        const vec x_##i = vec_bcast(x + (size_t)i * in_c + k);  \
        PW_VECS_##NRV(PW_FMA, i)                                \
    }
#define PW_STORE(i, v) pw_store(a, p + i, v, v == nrv - 1, acc_##i##_##v);
#define PW_ROW_STORE(i, NRV) PW_VECS_##NRV(PW_STORE, i)

/* pw_tile_<MR>x<NRV>: pixels [p, p + MR) of one block. */
#define PW_DEFINE_TILE(MR, NRV)                                                       \
    static inline __attribute__((unused)) void pw_tile_##MR##x##NRV(                  \
        const pw_block_args *a, int p) {                                              \
        const int nrv = NRV;                                                          \
        const size_t in_c = (size_t)a->in_c;                                          \
        const float *x = a->in + (size_t)p * in_c;                                    \
        const float *w = a->w;                                                        \
        PW_VECS_##NRV(PW_LOAD_BIAS, _)                                                \
        PW_ROWS_##MR(PW_ROW_INIT, NRV)                                                \
        for (size_t k = 0; k < in_c; k++, w += NRV * VLEN) {                          \
            PW_VECS_##NRV(PW_LOAD_W, _)                                               \
            PW_ROWS_##MR(PW_ROW_FMA, NRV)                                             \
        }                                                                             \
        PW_ROWS_##MR(PW_ROW_STORE, NRV)                                               \
    }
#define PW_DEFINE_TILES(NRV)                                                          \
    PW_DEFINE_TILE(1, NRV) PW_DEFINE_TILE(2, NRV) PW_DEFINE_TILE(4, NRV)              \
    PW_DEFINE_TILE(6, NRV) PW_DEFINE_TILE(8, NRV) PW_DEFINE_TILE(12, NRV)

/* pw_block_<NRV>: full MR-pixel tiles over [p, end), then the remainder in
 * tiles of 8, 4, 2, 1 (MR is one of 6, 8, 12, so any remainder fits). */
#define PW_DEFINE_BLOCK(NRV, MR) PW_DEFINE_BLOCK_(NRV, MR)
#define PW_DEFINE_BLOCK_(NRV, MR)                                                     \
    static void pw_block_##NRV(const pw_block_args *a, int p, int end) {              \
        for (; p + MR <= end; p += MR) pw_tile_##MR##x##NRV(a, p);                    \
        if (MR > 8 && p + 8 <= end) pw_tile_8x##NRV(a, p), p += 8;                    \
        if (MR > 4 && p + 4 <= end) pw_tile_4x##NRV(a, p), p += 4;                    \
        if (MR > 2 && p + 2 <= end) pw_tile_2x##NRV(a, p), p += 2;                    \
        if (p < end) pw_tile_1x##NRV(a, p);                                           \
    }

PW_DEFINE_TILES(1)
PW_DEFINE_TILES(2)
PW_DEFINE_BLOCK(1, PW_MR_1)
PW_DEFINE_BLOCK(2, PW_MR_2)
#if PW_NRV_MAX >= 3
PW_DEFINE_TILES(3)
PW_DEFINE_BLOCK(3, PW_MR_3)
#endif
#if PW_NRV_MAX >= 4
PW_DEFINE_TILES(4)
PW_DEFINE_BLOCK(4, PW_MR_4)
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
    for (int p0 = pixel_begin, p1; p0 < pixel_end; p0 = p1) {
        p1 = min_int(pixel_end, p0 + chunk);
        /* A short tail joins this chunk: another pass over all the weights
         * (MBs for SSD heads and 1024-channel layers at 10x10) costs more
         * than the inputs overflowing L2 a little. */
        if (pixel_end - p1 < chunk / 2) p1 = pixel_end;
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
