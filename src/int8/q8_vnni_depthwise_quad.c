/* AVX-512 VNNI 3x3 depthwise by vertical quads: one vpdpbusd per input
 * column and 16 channels. A channel's dword holds the bytes of the column's
 * 3 rows and a 0, (x0, x1, x2, 0), and meets the weights of that kernel
 * column as signed bytes (vpdpbusd takes unsigned activations and signed
 * weights): (w0 - zw, w1 - zw, w2 - zw, 0) in a block (of 16, 32 or 64
 * channels) where every w - zw fits a signed byte, else (w0 - 128,
 * w1 - 128, w2 - 128, 0), which always fit, and with K = 128 - zw:
 *   sum x (w - zw) = sum x (w - 128) + K sum x
 * K sum x is, per output, 3 more vpdpbusd of the same quads against the
 * constant (K, K, K, 0) (zw 0, K 128: (64, 64, 64, 0) twice). Symmetric
 * weights (zw 128) never need it; with a zero point only the channels
 * holding the weight range's extremes overflow (in the published uint8
 * models 0 to 2 a layer), so most blocks skip the K sums, and a 64-block
 * holding a few such weights stores them clamped to a signed byte plus
 * residual weights (dwq_pack64): per output and entry (a vector whose
 * lanes each take one kernel column) 2 blends and 1 vpdpbusd more per
 * row, where the K sums took 12 per 64 outputs. Only a w - zw of 255 or
 * more than DWQ_RES entries still need the K sums. Each column's
 * quads are built once and shared by the 3 outputs that read the column:
 * stride 1 builds one column per output, stride 2 two. Per 64 outputs at
 * stride 1: 12 vpdpbusd (+ 12 with K sums) and 6 byte unpacks, where the
 * tap pairs (q8_vnni_depthwise.c's dw_row3x3) need 20 vpdpwssd and 12.
 *
 * Blocks and layouts as the tap pairs (q8_vnni_common.h): full 64-blocks
 * in lane order, then 32-blocks and a last vector of 16 (pos_channel
 * order), whose quads come from the same unpacks on row vectors whose
 * 128-bit lanes were broadcast first, then blended. 16 or 32 channels: 4
 * or 2 pixels per 64-lane block (dwq_run_px). Stride 1 with dilation d
 * runs d interleaved streams of outputs (ox = r, r + d, ...), each of which
 * slides over columns d apart like an undilated row.
 *
 * Stride 1 without dilation runs two output rows per pass (dwq_pair64,
 * dwq_pair_px_body): their 4 input rows in one quad, (x0, x1, x2, x3),
 * meet the weights (w0, w1, w2, 0) and (0, w0, w1, w2): half the loads and
 * unpacks per output. The 16 or 32 channels after the full 64-blocks run
 * as 4 or 2 pixels per block (the pixel tail, also at stride 2).
 *
 * Padded taps read the input zero point (whose part is folded into the
 * bias, as for the tap pairs), so borders run the same arithmetic. */
#include "int8/q8_vnni_depthwise_quad.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

int mnet_q8_vnni_dwq_ok(const mnet_conv_geometry *g) {
    if (g->kernel_h != 3 || g->kernel_w != 3 || g->stride_h != g->stride_w ||
        g->dilation_h != g->dilation_w || g->stride_w > 2)
        return 0;
    return g->stride_w == 1 || g->dilation_w == 1;
}

/* 16 or 32 channels at stride 1 without dilation: 4 or 2 pixels per
 * 64-lane block (dwq_run_px). */
static int dwq_pixels(const mnet_conv_geometry *g) {
    return (g->out_c == 16 || g->out_c == 32) && g->stride_w == 1 && g->dilation_w == 1;
}

/* 33 to 63 channels: one masked 64-block (measured faster than a 32-block
 * and a 16-vector; with fewer, the wasted lanes cost more), and 16 or 32
 * channels outside dwq_pixels (the tap pairs pack those in pixel groups,
 * so the quads need their own bias and table anyway). */
int mnet_q8_vnni_dwq_masked(const mnet_conv_geometry *g) {
    int c = g->out_c;
    return mnet_q8_vnni_dwq_ok(g) && !dwq_pixels(g) &&
           ((c > 32 && c < BLOCK) || c == 16 || c == 32);
}

/* One 64-block: several pixels, or masked. */
static int dwq_one_block(const mnet_conv_geometry *g) {
    return dwq_pixels(g) || mnet_q8_vnni_dwq_masked(g);
}

/* Positions: one 64-block (dwq_one_block), else channels rounded up to
 * 16; DWQ_SETS int32 each: one quad per kernel column, a flag, nonzero in
 * the blocks that need the K sums, then (used by 64-blocks only) two sets
 * of residual weights (dwq_pack64): at vector DWQ_RES_AT of the block a
 * header (dwq_res_of), then per entry its weight vector for row oy,
 * (r0, r1, r2, 0), and the same shifted a byte for row oy + 1. */
enum { DWQ_SETS = 6, DWQ_RES = 3, DWQ_RES_AT = 16 };
static int dwq_padded(const mnet_conv_geometry *g) {
    return dwq_one_block(g) ? BLOCK : round_up(g->out_c, 16);
}

size_t mnet_q8_vnni_dwq_masked_offset(const mnet_conv_geometry *g) {
    return (size_t)dwq_padded(g) * DWQ_SETS * 4;
}

static int dwq_ptail_np(const mnet_conv_geometry *g);
static void dwq_ptail_pack(const mnet_conv_geometry *g, const uint8_t *w_ohwi, int zw,
                           int32_t *quads);

size_t mnet_q8_vnni_dwq_bytes(const mnet_conv_geometry *g) {
    if (!mnet_q8_vnni_dwq_ok(g)) return 0;
    /* the pixel tail: quads and flags, bias, table of one 64-block */
    return mnet_q8_vnni_dwq_ptail_offset(g) +
           (dwq_ptail_np(g) ? BLOCK * DWQ_SETS * 4 + BLOCK * 4 + mnet_q8_rqtable_bytes(BLOCK)
                            : 0);
}

/* Block of position pos: its start and vector count (64-, 32-, 16-block). */
static void dwq_block_of(const mnet_conv_geometry *g, int pos, int *start, int *nv) {
    int out_c = g->out_c, one = dwq_one_block(g);
    int full = one ? BLOCK : out_c / BLOCK * BLOCK;
    int tail32 = one ? 0 : tail32_vectors(out_c) * 16;
    if (pos < full) *start = pos / BLOCK * BLOCK, *nv = 4;
    else if (pos - full < tail32) *start = full + (pos - full) / 32 * 32, *nv = 2;
    else *start = pos / 16 * 16, *nv = 1;
}

/* The channel at position pos, or -1 (padding). */
static int dwq_channel(const mnet_conv_geometry *g, int pos) {
    int c = g->out_c;
    int ch = dwq_pixels(g)                ? pos_channel(pos, BLOCK) % c
             : mnet_q8_vnni_dwq_masked(g) ? pos_channel(pos, BLOCK)
                                          : pos_channel(pos, c);
    return ch < c ? ch : -1;
}

/* 1 when every w - zw of the block at start (nv vectors) fits a signed byte. */
static int dwq_block_fits(const mnet_conv_geometry *g, const uint8_t *w_ohwi, int zw, int start,
                          int nv) {
    for (int pos = start; pos < start + 16 * nv; pos++) {
        int ch = dwq_channel(g, pos);
        for (int t = 0; t < 9 && ch >= 0; t++) {
            int d = (int)w_ohwi[(size_t)ch * 9 + t] - zw;
            if (d < -128 || d > 127) return 0;
        }
    }
    return 1;
}

static int dwq_clamp_byte(int d) { return d < -128 ? -128 : d > 127 ? 127 : d; }

/* Residual kinds of a 64-block: none, entries all of vector v
 * (DWQ_RES_V0 + v), or of several vectors. */
enum { DWQ_RES_NONE = 0, DWQ_RES_V0 = 1, DWQ_RES_ANY = 5 };

/* The residual header's int32 lanes: entry count, kind, then per entry
 * its vector and its two lane masks (below). */
enum { DWQ_RH_N = 0, DWQ_RH_KIND = 1, DWQ_RH_V = 2, DWQ_RH_M1 = 2 + DWQ_RES,
       DWQ_RH_M2 = 2 + 2 * DWQ_RES };

/* A 64-block's quads, flag and residual (q: its DWQ_SETS x 4 vectors; its
 * channels ch[pos], -1: padding). Where every w - zw fits a signed byte,
 * the quads hold them; where some do not (a trained layer's extreme
 * weights), w - zw = c + r with c clamped to a signed byte and the
 * residual r in [-127, 127]: x c + x r = x (w - zw) exactly, every int32
 * lane summing a few more products of at most 255 x 127 (no overflow where
 * the true sum has none). A residual entry belongs to one vector v and
 * gives each of its lanes one kernel column (lane masks m1: column >= 1,
 * m2: column 2, which blend that column's quads out of the three) and that
 * column's residual bytes: lanes with residuals in two columns need two
 * entries. More than DWQ_RES entries, or a residual beyond a signed byte
 * (w - zw = 255), and the block takes the K sums instead (w - 128). */
static void dwq_pack64(const uint8_t *w_ohwi, int zw, const int *ch, int32_t *q) {
    int cols[BLOCK] = {0}, n = 0, kind = DWQ_RES_NONE, k_sums = 0;
    for (int pos = 0; pos < BLOCK; pos++) /* per lane, the columns with residuals */
        for (int t = 0; t < 9 && ch[pos] >= 0; t++) {
            int d = (int)w_ohwi[(size_t)ch[pos] * 9 + t] - zw, r = d - dwq_clamp_byte(d);
            cols[pos] |= (r != 0) << t % 3;
            k_sums |= r > 127;
        }
    int32_t *hdr = q + DWQ_RES_AT * 16;
    memset(hdr, 0, (size_t)(DWQ_SETS * 4 - DWQ_RES_AT) * 16 * sizeof *hdr);
    for (int v = 0; v < 4 && !k_sums; v++)
        for (int round = 0; round < 3; round++) { /* the lanes' first, second, third column */
            int m1 = 0, m2 = 0, any = 0;
            for (int l = 0; l < 16; l++) {
                int pos = 16 * v + l, kx = 0, seen = 0;
                for (; kx < 3; kx++)
                    if (cols[pos] >> kx & 1 && seen++ == round) break;
                if (kx == 3) continue;
                any = 1, m1 |= (kx >= 1) << l, m2 |= (kx == 2) << l;
                uint32_t rd = 0;
                for (int ky = 0; ky < 3; ky++) {
                    int d = (int)w_ohwi[(size_t)ch[pos] * 9 + ky * 3 + kx] - zw;
                    rd |= (uint32_t)(uint8_t)(int8_t)(d - dwq_clamp_byte(d)) << (8 * ky);
                }
                if (n < DWQ_RES) {
                    q[(DWQ_RES_AT + 1 + 2 * n) * 16 + l] = (int32_t)rd;
                    q[(DWQ_RES_AT + 2 + 2 * n) * 16 + l] = (int32_t)(rd << 8);
                }
            }
            if (!any) continue;
            if (n == DWQ_RES) k_sums = 1;
            else hdr[DWQ_RH_V + n] = v, hdr[DWQ_RH_M1 + n] = m1, hdr[DWQ_RH_M2 + n] = m2;
            kind = kind == DWQ_RES_NONE || kind == DWQ_RES_V0 + v ? DWQ_RES_V0 + v : DWQ_RES_ANY;
            n++;
        }
    if (k_sums) /* no residual: the K sums */
        memset(hdr, 0, (size_t)(DWQ_SETS * 4 - DWQ_RES_AT) * 16 * sizeof *hdr);
    else
        hdr[DWQ_RH_N] = n, hdr[DWQ_RH_KIND] = kind;
    int wz = k_sums ? 128 : zw;
    for (int pos = 0; pos < BLOCK; pos++) {
        int v = pos / 16, l = pos % 16;
        for (int kx = 0; kx < 3; kx++) {
            uint32_t d = 0;
            for (int ky = 0; ky < 3 && ch[pos] >= 0; ky++) {
                int w = (int)w_ohwi[(size_t)ch[pos] * 9 + ky * 3 + kx] - wz;
                d |= (uint32_t)(uint8_t)(int8_t)dwq_clamp_byte(w) << (8 * ky);
            }
            q[(kx * 4 + v) * 16 + l] = (int32_t)d;
        }
        q[(3 * 4 + v) * 16 + l] = k_sums;
    }
}

void mnet_q8_vnni_dwq_pack(const mnet_conv_geometry *g, const uint8_t *w_ohwi, int zw,
                           int32_t *quads) {
    int padded = dwq_padded(g);
    for (int pos = 0; pos < padded; pos++) {
        int start, nv;
        dwq_block_of(g, pos, &start, &nv);
        if (nv == 4) { /* 64-blocks: with residual weights where they fit */
            int ch[BLOCK];
            for (int i = 0; i < BLOCK; i++) ch[i] = dwq_channel(g, start + i);
            dwq_pack64(w_ohwi, zw, ch, quads + (size_t)start * DWQ_SETS);
            pos = start + BLOCK - 1;
            continue;
        }
        int ch = dwq_channel(g, pos); /* padding: zero weights */
        int fits = dwq_block_fits(g, w_ohwi, zw, start, nv), wz = fits ? zw : 128;
        int v = (pos - start) / 16, l = pos % 16;
        for (int kx = 0; kx < 3; kx++) {
            uint32_t d = 0;
            for (int ky = 0; ky < 3 && ch >= 0; ky++) {
                int w = (int)w_ohwi[(size_t)ch * 9 + ky * 3 + kx] - wz;
                d |= (uint32_t)(uint8_t)(int8_t)w << (8 * ky);
            }
            quads[(size_t)start * DWQ_SETS + ((size_t)kx * nv + v) * 16 + l] = (int32_t)d;
        }
        quads[(size_t)start * DWQ_SETS + ((size_t)3 * nv + v) * 16 + l] = !fits;
    }
    if (dwq_ptail_np(g))
        dwq_ptail_pack(g, w_ohwi, zw,
                       (int32_t *)((uint8_t *)quads + mnet_q8_vnni_dwq_ptail_offset(g)));
}

/* vpdpbusd accumulating in place (see DPBUSD in q8_vnni_pointwise.c) */
#define DPBUSD(acc, x, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w))

/* The residual entries of a 64-block (w: its quads; dwq_pack64). */
typedef struct dwq_res {
    int n, kind, v[DWQ_RES];
    __mmask16 m1[DWQ_RES], m2[DWQ_RES];
    const dw_u512 *r; /* entry e: r[2 e] for row oy, r[2 e + 1] for row oy + 1 */
} dwq_res;

static inline dwq_res dwq_res_of(const dw_u512 *w) {
    const int32_t *hdr = (const int32_t *)(const void *)(w + DWQ_RES_AT);
    dwq_res r;
    r.n = hdr[DWQ_RH_N], r.kind = hdr[DWQ_RH_KIND], r.r = w + DWQ_RES_AT + 1;
    for (int e = 0; e < DWQ_RES; e++)
        r.v[e] = hdr[DWQ_RH_V + e], r.m1[e] = (__mmask16)hdr[DWQ_RH_M1 + e],
        r.m2[e] = (__mmask16)hdr[DWQ_RH_M2 + e];
    return r;
}

static inline int dwq_res_kind(const dw_u512 *w) {
    return ((const int32_t *)(const void *)(w + DWQ_RES_AT))[DWQ_RH_KIND];
}

/* Entry i's products onto vector v of one output row's accumulators a (and
 * with two, the next row's, e): the lanes' kernel columns blended out of
 * the quads q0, q1, q2. */
#define DWQ_RES_ONE(v)                                                                   \
    {                                                                                    \
        __m512i s_ = _mm512_mask_blend_epi32(res->m1[i], q0[v], q1[v]);                  \
        s_ = _mm512_mask_blend_epi32(res->m2[i], s_, q2[v]);                             \
        DPBUSD(a[v], s_, res->r[2 * i]);                                                 \
        if (two) DPBUSD(e[v], s_, res->r[2 * i + 1]);                                    \
    }

/* A block's residual products (kind constant: with DWQ_RES_V0 + v every
 * index is constant, so the vectors stay in registers; DWQ_RES_ANY
 * switches on each entry's vector). */
INLINE_VNNI void dwq_res_add(const dwq_res *res, int kind, int two, __m512i *a, __m512i *e,
                             const __m512i *q0, const __m512i *q1, const __m512i *q2) {
    for (int i = 0; i < DWQ_RES && kind != DWQ_RES_NONE; i++) {
        if (i >= res->n) break;
        if (kind != DWQ_RES_ANY) {
            DWQ_RES_ONE(kind - DWQ_RES_V0)
            continue;
        }
        switch (res->v[i]) {
        case 0: DWQ_RES_ONE(0) break;
        case 1: DWQ_RES_ONE(1) break;
        case 2: DWQ_RES_ONE(2) break;
        default: DWQ_RES_ONE(3) break;
        }
    }
}
#undef DWQ_RES_ONE

/* BODY(kind) with the block's residual kind as a constant: none, or any
 * (right for every kind), or when all, the kinds of one vector by VCALL, a
 * function of their own (DWQ_RES_V_CASES; in one function, the bodies'
 * frames, unoptimized under AddressSanitizer, added up past 8 MB). */
#define DWQ_RES_CASES(kind, all, BODY, VCALL)                                             \
    if ((kind) == DWQ_RES_NONE) BODY(DWQ_RES_NONE);                                       \
    else if ((all) && (kind) != DWQ_RES_ANY) VCALL;                                       \
    else BODY(DWQ_RES_ANY);
#define DWQ_RES_V_CASES(kind, BODY)                                                       \
    switch (kind) {                                                                       \
    case DWQ_RES_V0: BODY(DWQ_RES_V0); break;                                             \
    case DWQ_RES_V0 + 1: BODY(DWQ_RES_V0 + 1); break;                                     \
    case DWQ_RES_V0 + 2: BODY(DWQ_RES_V0 + 2); break;                                     \
    default: BODY(DWQ_RES_V0 + 3); break;                                                 \
    }

/* The input of one block: its 3 rows from the block's first channel; a
 * padding row points at 64 bytes of the zero point with step 0. */
typedef struct dwq_src {
    const uint8_t *r[3];
    size_t step[3]; /* bytes per column: c, or 0 for a padding row */
    int in_w;
    int n; /* valid channels of a 32- or 16-block */
    __m512i zx8;
} dwq_src;

/* 1 when column x is inside the input. */
static inline int dwq_inside(const dwq_src *s, int x) {
    return x >= 0 && x < s->in_w;
}

/* Row k's bytes at column x, inside (dwq_inside), arranged for nv: 4: 64
 * bytes; 2: the 32 bytes' halves as 128-bit lanes (0, 0, 1, 1); 1: the 16
 * bytes in every lane. */
INLINE_VNNI __m512i dwq_load(const dwq_src *s, int k, int x, int nv, int masked) {
    const uint8_t *at = s->r[k] + (size_t)x * s->step[k];
    if (nv == 4 && masked) return _mm512_maskz_loadu_epi8(~(__mmask64)0 >> (BLOCK - s->n), at);
    if (nv == 4) return _mm512_loadu_si512(at);
    if (nv == 2) {
        __mmask32 m = s->n >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << s->n) - 1);
        __m512i w = _mm512_castsi256_si512(_mm256_maskz_loadu_epi8(m, at));
        return _mm512_shuffle_i64x2(w, w, _MM_SHUFFLE(1, 1, 0, 0));
    }
    return _mm512_broadcast_i32x4(_mm_maskz_loadu_epi8(tail_mask(s->n), at));
}

/* As dwq_load at any column: the zero point outside. */
INLINE_VNNI __m512i dwq_load_edge(const dwq_src *s, int k, int x, int nv, int masked) {
    /* outside: every byte the zero point, in any arrangement */
    return x >= 0 && x < s->in_w ? dwq_load(s, k, x, nv, masked) : s->zx8;
}

/* The quads of column x: nv vectors in the block's position order. */
INLINE_VNNI void dwq_build(const dwq_src *s, int x, int nv, int masked, __m512i *q) {
    __m512i a, b, c;
    if (dwq_inside(s, x)) {
        a = dwq_load(s, 0, x, nv, masked), b = dwq_load(s, 1, x, nv, masked);
        c = dwq_load(s, 2, x, nv, masked);
    } else {
        a = dwq_load_edge(s, 0, x, nv, masked), b = dwq_load_edge(s, 1, x, nv, masked);
        c = dwq_load_edge(s, 2, x, nv, masked);
    }
    __m512i zero = _mm512_setzero_si512();
    __m512i lo01 = _mm512_unpacklo_epi8(a, b), hi01 = _mm512_unpackhi_epi8(a, b);
    __m512i lo2 = _mm512_unpacklo_epi8(c, zero), hi2 = _mm512_unpackhi_epi8(c, zero);
    /* lane i of vector j: channels (lane base) + 4 j + k */
    __m512i v0 = _mm512_unpacklo_epi16(lo01, lo2), v1 = _mm512_unpackhi_epi16(lo01, lo2);
    __m512i v2 = _mm512_unpacklo_epi16(hi01, hi2), v3 = _mm512_unpackhi_epi16(hi01, hi2);
    if (nv == 4) {
        q[0] = v0, q[1] = v1, q[2] = v2, q[3] = v3;
    } else if (nv == 2) { /* lane bases 0, 0, 16, 16 */
        q[0] = _mm512_mask_blend_epi32(0xF0F0, v0, v1);
        q[1] = _mm512_mask_blend_epi32(0xF0F0, v2, v3);
    } else { /* every lane base 0: lane j from v_j */
        q[0] = _mm512_mask_blend_epi32(0xFF00, _mm512_mask_blend_epi32(0x00F0, v0, v1),
                                       _mm512_mask_blend_epi32(0xF000, v2, v3));
    }
}

INLINE_VNNI void dwq_store(uint8_t *dst, const __m512i *a, int nv, int pos, int n, int bytes,
                           const rq_ctx *rq, const rq_vec *ru) {
    if (nv == 2) {
        store_block32(dst, a[0], a[1], rq, pos, n);
    } else if (nv == 1) {
        store_vec16(dst, a[0], rq, pos, n);
    } else if (bytes < BLOCK) { /* a last block of fewer pixels (16 or 32 channels) */
        uint8_t tmp[BLOCK];
        if (rq->uniform)
            store_block64_u(tmp, a[0], a[1], a[2], a[3], ru, rq);
        else
            store_block64(tmp, a[0], a[1], a[2], a[3], rq, pos);
        memcpy(dst, tmp, (size_t)bytes);
    } else if (rq->uniform) {
        store_block64_u(dst, a[0], a[1], a[2], a[3], ru, rq);
    } else {
        store_block64(dst, a[0], a[1], a[2], a[3], rq, pos);
    }
}

/* The requantization constants of one 64-block, per kind (mult, mult_odd,
 * round_even, round_odd, shr_even, shl_odd, shift2) and vector: in locals,
 * because the byte stores may alias anything, so through rq's pointers
 * they would be reloaded per output (GCC kept 16 table pointers on the
 * stack and chased them: per-channel layers measured ~30 % slower than
 * uniform ones). */
enum { DWQ_RQ_KINDS = 7 };
INLINE_VNNI void dwq_rq_consts(const rq_ctx *rq, const rq_vec *ru, int pos, int uniform,
                               int any_short, __m512i k[DWQ_RQ_KINDS][4]) {
    __m512i zero = _mm512_setzero_si512();
    for (int v = 0; v < 4; v++) {
        if (uniform) {
            k[0][v] = ru->mult, k[1][v] = ru->mult, k[2][v] = ru->round, k[3][v] = ru->round;
            k[4][v] = ru->shr, k[5][v] = ru->shl, k[6][v] = ru->shift2;
            continue;
        }
        const int32_t *t = rq->table + pos + 16 * v;
        int n = rq->padded;
        k[0][v] = _mm512_loadu_si512(t + MNET_Q8_RQ_MULT * n);
        k[1][v] = _mm512_loadu_si512(t + MNET_Q8_RQ_MULT_ODD * n);
        k[2][v] = _mm512_loadu_si512(
            t + (any_short ? MNET_Q8_RQ_ROUND_EVEN : MNET_Q8_RQ_ROUND32) * n);
        k[3][v] = any_short ? _mm512_loadu_si512(t + MNET_Q8_RQ_ROUND_ODD * n) : zero;
        k[4][v] = any_short ? _mm512_loadu_si512(t + MNET_Q8_RQ_SHR_EVEN * n) : zero;
        k[5][v] = any_short ? _mm512_loadu_si512(t + MNET_Q8_RQ_SHL_ODD * n) : zero;
        k[6][v] = _mm512_loadu_si512(t + MNET_Q8_RQ_SHIFT2 * n);
    }
}

INLINE_VNNI void dwq_store_k(uint8_t *dst, const __m512i *a, __m512i k[DWQ_RQ_KINDS][4],
                             const rq_ctx *rq, int any_short) {
    __m512i q[4];
    for (int v = 0; v < 4; v++)
        q[v] = requant_core(a[v], k[0][v], k[1][v], k[2][v], k[3][v], k[4][v], k[5][v], k[6][v],
                            any_short);
    pack_store64(dst, q[0], q[1], q[2], q[3], rq);
}

/* count outputs of one block: output j reads columns x + j cs + {0, cs,
 * 2 cs} (adv 1) or x + 2 j + {0, 1, 2} (adv 2) and goes to dst + j step. */
typedef struct dwq_stream_args {
    int x, cs, count, pos;
    uint8_t *dst;
    size_t step;
} dwq_stream_args;

/* vpdpbusd by the intrinsic: at stride 2 with K sums GCC's code for it
 * (weights read from memory, sums not spilled) measured 10-15 % faster than
 * DPBUSD's (without K sums, 5-12 % slower). */
#define DPBUSD_I(acc, x, w) \
    acc = _mm512_dpbusd_epi32(acc, x, _mm512_loadu_si512((const void *)&(w)))

/* The K sums of a column's quads: corr vpdpbusd against (K, K, K, 0). */
INLINE_VNNI __m512i dwq_ksum(__m512i q, __m512i k1, int corr) {
    __m512i k = _mm512_setzero_si512();
    for (int r = 0; r < corr; r++) k = _mm512_dpbusd_epi32(k, q, k1);
    return k;
}

/* The K sums: advancing 1 column, they ride in a second chain per output, 3
 * vpdpbusd of the same quads against (K, K, K, 0), added before the store
 * (measured faster than carrying per-column sums from output to output,
 * whose adds and extra live vectors cost more than the vpdpbusd they save).
 * Advancing 2, the first column's sum is the previous output's last
 * (kfirst): 2 per output instead of 3. */
INLINE_VNNI void dwq_stream(const dwq_src *s, const dwq_stream_args *a, int nv, int masked,
                            int adv, int corr, int rkind, const dw_u512 *w,
                            const int32_t *bias, __m512i k1, const rq_ctx *rqp,
                            const rq_vec *rup) {
    /* locals: through the pointers, reloaded after every (aliasing) store;
     * measured 6-25 % faster, but at stride 2 with K sums (more live
     * vectors) 2-4 % slower */
    rq_ctx rql = *rqp;
    rq_vec rul = *rup;
    int local = adv == 1 || !corr;
    const rq_ctx *rq = local ? &rql : rqp;
    const rq_vec *ru = local ? &rul : rup;
    __m512i q0[4], q1[4], q2[4], kfirst[4];
    const int32_t *b = bias + a->pos;
    dwq_res res = {0}; /* 64-blocks: the residual entries */
    if (rkind != DWQ_RES_NONE) res = dwq_res_of(w);
    int x = a->x, cs = a->cs;
    dwq_build(s, x, nv, masked, q0);
    if (adv == 1) dwq_build(s, x + cs, nv, masked, q1);
    for (int v = 0; v < nv && adv == 2 && corr; v++) kfirst[v] = dwq_ksum(q0[v], k1, corr);
    for (int j = 0; j < a->count; j++) {
        if (adv == 1) {
            dwq_build(s, x + (j + 2) * cs, nv, masked, q2);
        } else {
            dwq_build(s, x + 2 * j + 1, nv, masked, q1);
            dwq_build(s, x + 2 * j + 2, nv, masked, q2);
        }
        __m512i acc[4];
        for (int v = 0; v < nv; v++) {
            acc[v] = _mm512_loadu_si512(b + 16 * v);
            if (adv == 2 && corr) {
                __m512i k2 = dwq_ksum(q2[v], k1, corr);
                __m512i k12 = _mm512_add_epi32(dwq_ksum(q1[v], k1, corr), k2);
                acc[v] = _mm512_add_epi32(acc[v], _mm512_add_epi32(kfirst[v], k12));
                kfirst[v] = k2;
                DPBUSD_I(acc[v], q0[v], w[v]);
                DPBUSD_I(acc[v], q1[v], w[nv + v]);
                DPBUSD_I(acc[v], q2[v], w[2 * nv + v]);
                continue;
            }
            if (corr) {
                __m512i k = _mm512_setzero_si512();
                for (int r = 0; r < corr; r++) {
                    DPBUSD(k, q0[v], k1);
                    DPBUSD(k, q1[v], k1);
                    DPBUSD(k, q2[v], k1);
                }
                acc[v] = _mm512_add_epi32(acc[v], k);
            }
            DPBUSD(acc[v], q0[v], w[v]);
            DPBUSD(acc[v], q1[v], w[nv + v]);
            DPBUSD(acc[v], q2[v], w[2 * nv + v]);
        }
        dwq_res_add(&res, rkind, 0, acc, acc, q0, q1, q2);
        dwq_store(a->dst + (size_t)j * a->step, acc, nv, a->pos, s->n, masked ? s->n : BLOCK, rq,
                  ru);
        for (int v = 0; v < nv; v++) {
            if (adv == 1) q0[v] = q1[v], q1[v] = q2[v];
            else q0[v] = q2[v];
        }
    }
}
#undef DPBUSD_I

/* The specializations: nv, masked and adv constant, with and without K,
 * 64-blocks by residual kind (every kind where all). */
#define DWQ_STREAM_RES(rkind) dwq_stream(s, a, nv_, masked_, adv_, 0, rkind, w, bias, k1, rq, ru)
#define DWQ_VARIANT(name, nv, masked, adv, all)                                             \
    MNET_VNNI __attribute__((noinline, unused)) static void name##_v(                      \
        const dwq_src *s, const dwq_stream_args *a, const dw_u512 *w, const int32_t *bias,  \
        __m512i k1, const rq_ctx *rq, const rq_vec *ru) {                                  \
        enum { nv_ = nv, masked_ = masked, adv_ = adv };                                   \
        DWQ_RES_V_CASES(dwq_res_kind(w), DWQ_STREAM_RES)                                   \
    }                                                                                      \
    MNET_VNNI static void name(const dwq_src *s, const dwq_stream_args *a, int corr,       \
                               const dw_u512 *w, const int32_t *bias, __m512i k1,          \
                               const rq_ctx *rq, const rq_vec *ru) {                       \
        enum { nv_ = nv, masked_ = masked, adv_ = adv };                                   \
        if (corr == 0 && nv == 4) {                                                        \
            DWQ_RES_CASES(dwq_res_kind(w), all, DWQ_STREAM_RES,                            \
                          name##_v(s, a, w, bias, k1, rq, ru))                             \
        } else if (corr == 0) {                                                            \
            dwq_stream(s, a, nv, masked, adv, 0, DWQ_RES_NONE, w, bias, k1, rq, ru);       \
        } else if (corr == 1) {                                                            \
            dwq_stream(s, a, nv, masked, adv, 1, DWQ_RES_NONE, w, bias, k1, rq, ru);       \
        } else {                                                                           \
            dwq_stream(s, a, nv, masked, adv, 2, DWQ_RES_NONE, w, bias, k1, rq, ru);       \
        }                                                                                  \
    }
DWQ_VARIANT(dwq_run64_a1, 4, 0, 1, 0)
DWQ_VARIANT(dwq_run64_a2, 4, 0, 2, 1)
DWQ_VARIANT(dwq_run32_a1, 2, 0, 1, 0)
DWQ_VARIANT(dwq_run32_a2, 2, 0, 2, 0)
DWQ_VARIANT(dwq_run16_a1, 1, 0, 1, 0)
DWQ_VARIANT(dwq_run16_a2, 1, 0, 2, 0)
DWQ_VARIANT(dwq_runm_a1, 4, 1, 1, 0)
DWQ_VARIANT(dwq_runm_a2, 4, 1, 2, 0)
#undef DWQ_VARIANT
#undef DWQ_STREAM_RES

/* 16 or 32 channels: np = 4 or 2 pixels per 64-lane block (pixel i in
 * lanes 4 i / np on). The quads of the np pixels from y on, Q(y), are built
 * once per np pixels; the windows Q(y + 1), Q(y + 2) that the same outputs
 * read are lane shifts (valignd) of Q(y) and Q(y + np). */
INLINE_VNNI __m512i dwq_load_px(const dwq_src *s, int k, int y, int np) {
    size_t c = BLOCK / (size_t)np;
    if (y >= 0 && y + np - 1 < s->in_w) return _mm512_loadu_si512(s->r[k] + (size_t)y * s->step[k]);
    uint8_t tmp[BLOCK]; /* the row's edge: the zero point outside */
    _mm512_storeu_si512(tmp, s->zx8);
    for (int i = 0; i < np; i++)
        if (y + i >= 0 && y + i < s->in_w)
            memcpy(tmp + c * i, s->r[k] + (size_t)(y + i) * s->step[k], c);
    return _mm512_loadu_si512(tmp);
}

INLINE_VNNI void dwq_build_px(const dwq_src *s, int y, int np, __m512i *q) {
    __m512i a = dwq_load_px(s, 0, y, np), b = dwq_load_px(s, 1, y, np);
    __m512i c = dwq_load_px(s, 2, y, np), zero = _mm512_setzero_si512();
    __m512i lo01 = _mm512_unpacklo_epi8(a, b), hi01 = _mm512_unpackhi_epi8(a, b);
    __m512i lo2 = _mm512_unpacklo_epi8(c, zero), hi2 = _mm512_unpackhi_epi8(c, zero);
    q[0] = _mm512_unpacklo_epi16(lo01, lo2), q[1] = _mm512_unpackhi_epi16(lo01, lo2);
    q[2] = _mm512_unpacklo_epi16(hi01, hi2), q[3] = _mm512_unpackhi_epi16(hi01, hi2);
}

/* Q(y + k) for k = 1, 2 from qc = Q(y) and qn = Q(y + np). */
INLINE_VNNI __m512i dwq_shift(__m512i qn, __m512i qc, int k, int np) {
    if (k == np) return qn;
    return k * 16 / np == 4 ? _mm512_alignr_epi32(qn, qc, 4)
           : k * 16 / np == 8 ? _mm512_alignr_epi32(qn, qc, 8)
                              : _mm512_alignr_epi32(qn, qc, 12);
}

INLINE_VNNI void dwq_run_px(const dwq_src *s, int np, int x0, int out_w, int corr,
                            int rkind, const dw_u512 *w, const int32_t *bias, __m512i k1, const rq_ctx *rq,
                            const rq_vec *ru, uint8_t *out_row) {
    __m512i qc[4], qn[4], q1[4], q2[4];
    dwq_res res = {0};
    if (rkind != DWQ_RES_NONE) res = dwq_res_of(w);
    dwq_build_px(s, x0, np, qc);
    for (int ox = 0; ox < out_w; ox += np) {
        dwq_build_px(s, x0 + ox + np, np, qn);
        __m512i acc[4];
        for (int v = 0; v < 4; v++) {
            acc[v] = _mm512_loadu_si512(bias + 16 * v);
            q1[v] = dwq_shift(qn[v], qc[v], 1, np), q2[v] = dwq_shift(qn[v], qc[v], 2, np);
            if (corr) { /* the K sums in a second chain */
                __m512i k = _mm512_setzero_si512();
                for (int r = 0; r < corr; r++) {
                    DPBUSD(k, qc[v], k1);
                    DPBUSD(k, q1[v], k1);
                    DPBUSD(k, q2[v], k1);
                }
                acc[v] = _mm512_add_epi32(acc[v], k);
            }
            DPBUSD(acc[v], qc[v], w[v]);
            DPBUSD(acc[v], q1[v], w[4 + v]);
            DPBUSD(acc[v], q2[v], w[8 + v]);
        }
        dwq_res_add(&res, rkind, 0, acc, acc, qc, q1, q2);
        int n = out_w - ox < np ? out_w - ox : np;
        dwq_store(out_row + (size_t)ox * (BLOCK / np), acc, 4, 0, 0, n * (BLOCK / np), rq, ru);
        for (int v = 0; v < 4; v++) qc[v] = qn[v];
    }
}

/* One function per pixel count and K case, kept out of line. */
#define DWQ_PX_VARIANT(name, np)                                                             \
    MNET_VNNI __attribute__((noinline)) static void name(                                   \
        const dwq_src *s, int x0, int out_w, int corr, const dw_u512 *w, const int32_t *bias, \
        __m512i k1, const rq_ctx *rq, const rq_vec *ru, uint8_t *out_row) {                  \
        if (corr == 0 && dwq_res_kind(w) != DWQ_RES_NONE)                                    \
            dwq_run_px(s, np, x0, out_w, 0, DWQ_RES_ANY, w, bias, k1, rq, ru, out_row);      \
        else if (corr == 0) dwq_run_px(s, np, x0, out_w, 0, 0, w, bias, k1, rq, ru, out_row); \
        else if (corr == 1) dwq_run_px(s, np, x0, out_w, 1, 0, w, bias, k1, rq, ru, out_row); \
        else dwq_run_px(s, np, x0, out_w, 2, 0, w, bias, k1, rq, ru, out_row);              \
    }
DWQ_PX_VARIANT(dwq_row16, 4)
DWQ_PX_VARIANT(dwq_row32, 2)
#undef DWQ_PX_VARIANT

/* 1 when a block's flags (nv vectors at flag) are not all 0: its K sums
 * are needed. */
INLINE_VNNI int dwq_needs_k(const dw_u512 *flag, int nv) {
    __m512i any = _mm512_setzero_si512();
    for (int v = 0; v < nv; v++)
        any = _mm512_or_si512(any, _mm512_loadu_si512((const void *)&flag[v]));
    return _mm512_test_epi32_mask(any, any) != 0;
}

MNET_VNNI void mnet_q8_vnni_dwq_row(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                    const uint8_t *const *rows, const int32_t *wq,
                                    const int32_t *bias, const rq_ctx *rq, const rq_vec *ru,
                                    uint8_t *out_row, int first, int skip) {
    int c = g->out_c, k = 128 - p->weight_zero_point;
    int corr_k = k == 0 ? 0 : k == 128 ? 2 : 1; /* when a block needs the K sums */
    int kb = k == 128 ? 64 : k;
    __m512i k1 = _mm512_set1_epi32((int)((uint32_t)(uint8_t)(int8_t)kb * 0x010101u));
    uint8_t zx_row[BLOCK];
    memset(zx_row, p->input_zero_point, sizeof zx_row);
    dwq_src s = {{rows[0], rows[1], rows[2]}, {0, 0, 0}, g->in_w, 0,
                 _mm512_set1_epi8((char)p->input_zero_point)};
    for (int r = 0; r < 3; r++) {
        s.r[r] = rows[r] ? rows[r] : zx_row;
        s.step[r] = rows[r] ? (size_t)c : 0;
    }
    const dw_u512 *w = (const dw_u512 *)(const void *)wq;
    if (dwq_pixels(g)) { /* 4 or 2 pixels a block */
        int corr = dwq_needs_k(w + 12, 4) ? corr_k : 0;
        if (c == 16) dwq_row16(&s, -g->pad_left, g->out_w, corr, w, bias, k1, rq, ru, out_row);
        else dwq_row32(&s, -g->pad_left, g->out_w, corr, w, bias, k1, rq, ru, out_row);
        return;
    }
    int masked = mnet_q8_vnni_dwq_masked(g); /* one 64-block of c channels */
    int full = masked ? BLOCK : c / BLOCK * BLOCK, cp = round_up(c, 16), d = g->dilation_w;
    int end = skip & MNET_DWQ_SKIP_TAIL ? full : cp;
    for (int block = first; block < end;) {
        int nv = block < full ? 4 : block + 32 <= cp ? 2 : 1;
        for (int r = 0; r < 3; r++) s.r[r] = rows[r] ? rows[r] + block : zx_row;
        s.n = c - block;
        const dw_u512 *wb = w + (size_t)block * DWQ_SETS / 16;
        int needs_k = dwq_needs_k(wb + 3 * nv, nv), corr = needs_k ? corr_k : 0;
        if (skip & MNET_DWQ_SKIP_K && needs_k && nv == 4 && !masked) { /* the caller's */
            block += BLOCK;
            continue;
        }
        if (g->stride_w == 2) {
            dwq_stream_args a = {-g->pad_left, 1, g->out_w, block, out_row + block, (size_t)c};
            if (masked) dwq_runm_a2(&s, &a, corr, wb, bias, k1, rq, ru);
            else if (nv == 4) dwq_run64_a2(&s, &a, corr, wb, bias, k1, rq, ru);
            else if (nv == 2) dwq_run32_a2(&s, &a, corr, wb, bias, k1, rq, ru);
            else dwq_run16_a2(&s, &a, corr, wb, bias, k1, rq, ru);
        } else {
            for (int r = 0; r < d && r < g->out_w; r++) {
                dwq_stream_args a = {r - g->pad_left, d, (g->out_w - r + d - 1) / d, block,
                                     out_row + (size_t)r * c + block, (size_t)d * c};
                if (masked) dwq_runm_a1(&s, &a, corr, wb, bias, k1, rq, ru);
                else if (nv == 4) dwq_run64_a1(&s, &a, corr, wb, bias, k1, rq, ru);
                else if (nv == 2) dwq_run32_a1(&s, &a, corr, wb, bias, k1, rq, ru);
                else dwq_run16_a1(&s, &a, corr, wb, bias, k1, rq, ru);
            }
        }
        block += nv * 16;
    }
}

/* --- two output rows per pass -------------------------------------------- */

/* Stride 1 without dilation, full 64-blocks: output rows oy and oy + 1 read
 * input rows 0-2 and 1-3 of the same 4, so one column's quads hold all 4
 * rows, (x0, x1, x2, x3), and meet (w0, w1, w2, 0) for row oy and the same
 * weights shifted up one byte, (0, w0, w1, w2), for row oy + 1: per 64
 * outputs 12 vpdpbusd, 4 byte unpacks and 2 loads (one row: 12, 8 and 3).
 * Only blocks without K sums (their 4th byte would need its own). */
int mnet_q8_vnni_dwq_pair_ok(const mnet_conv_geometry *g) {
    return mnet_q8_vnni_dwq_ok(g) && g->stride_w == 1 && g->dilation_w == 1 &&
           g->out_c >= BLOCK;
}

MNET_VNNI int mnet_q8_vnni_dwq_block_k(const int32_t *wq, int block) {
    const dw_u512 *w = (const dw_u512 *)(const void *)wq + (size_t)block * DWQ_SETS / 16;
    return dwq_needs_k(w + 12, 4);
}

/* The 4 input rows of a row pair (padding: the zero-point row, step 0). */
typedef struct dwq_pair_src {
    const uint8_t *r[4];
    size_t step[4];
    int in_w;
    const uint8_t *zx; /* BLOCK bytes of the zero point (pixel kernels) */
    __m512i zx8;
} dwq_pair_src;

/* The 4-row quads of column x (lane order). */
INLINE_VNNI void dwq_build4(const dwq_pair_src *s, int x, __m512i *q) {
    __m512i a = s->zx8, b = s->zx8, c = s->zx8, d = s->zx8;
    if (x >= 0 && x < s->in_w) {
        a = _mm512_loadu_si512(s->r[0] + (size_t)x * s->step[0]);
        b = _mm512_loadu_si512(s->r[1] + (size_t)x * s->step[1]);
        c = _mm512_loadu_si512(s->r[2] + (size_t)x * s->step[2]);
        d = _mm512_loadu_si512(s->r[3] + (size_t)x * s->step[3]);
    }
    __m512i lo01 = _mm512_unpacklo_epi8(a, b), hi01 = _mm512_unpackhi_epi8(a, b);
    __m512i lo23 = _mm512_unpacklo_epi8(c, d), hi23 = _mm512_unpackhi_epi8(c, d);
    q[0] = _mm512_unpacklo_epi16(lo01, lo23), q[1] = _mm512_unpackhi_epi16(lo01, lo23);
    q[2] = _mm512_unpacklo_epi16(hi01, hi23), q[3] = _mm512_unpackhi_epi16(hi01, hi23);
}

/* One 64-block (positions pos..pos + 63) of two output rows; uniform and
 * any_short constant (dwq_pair64's variants). */
INLINE_VNNI void dwq_pair64_body(const dwq_pair_src *src, int x0, int out_w, const dw_u512 *w,
                                 const int32_t *bias, int pos, const rq_ctx *rqp,
                                 const rq_vec *rup, uint8_t *o0, uint8_t *o1, size_t c,
                                 int uniform, int any_short, int rkind) {
    dwq_pair_src s = *src;
    rq_ctx rq = *rqp;
    __m512i k[DWQ_RQ_KINDS][4];
    dwq_rq_consts(&rq, rup, pos, uniform, any_short, k);
    __m512i ws[12]; /* row oy + 1's weights: (0, w0, w1, w2) */
    for (int i = 0; i < 12; i++)
        ws[i] = _mm512_slli_epi32(_mm512_loadu_si512((const void *)&w[i]), 8);
    const int32_t *b = bias + pos;
    dwq_res res = {0};
    if (rkind != DWQ_RES_NONE) res = dwq_res_of(w);
    __m512i q0[4], q1[4], q2[4];
    dwq_build4(&s, x0, q0);
    dwq_build4(&s, x0 + 1, q1);
    for (int ox = 0; ox < out_w; ox++) {
        dwq_build4(&s, x0 + ox + 2, q2);
        __m512i a[4], e[4];
        for (int v = 0; v < 4; v++) a[v] = _mm512_loadu_si512(b + 16 * v), e[v] = a[v];
        for (int v = 0; v < 4; v++) {
            DPBUSD(a[v], q0[v], w[v]);
            DPBUSD(e[v], q0[v], ws[v]);
        }
        for (int v = 0; v < 4; v++) {
            DPBUSD(a[v], q1[v], w[4 + v]);
            DPBUSD(e[v], q1[v], ws[4 + v]);
        }
        for (int v = 0; v < 4; v++) {
            DPBUSD(a[v], q2[v], w[8 + v]);
            DPBUSD(e[v], q2[v], ws[8 + v]);
        }
        dwq_res_add(&res, rkind, 1, a, e, q0, q1, q2);
        dwq_store_k(o0 + (size_t)ox * c, a, k, &rq, any_short);
        dwq_store_k(o1 + (size_t)ox * c, e, k, &rq, any_short);
        for (int v = 0; v < 4; v++) q0[v] = q1[v], q1[v] = q2[v];
    }
}

/* Per requantization kind, with and without residual weights (as
 * DWQ_RES_ANY: the per-vector specializations measured no faster here, 2-5 %
 * slower on V2's 28x28 and 14x14 layers, unlike the pixel blocks'). */
#define DWQ_PAIR_RES(rkind) \
    dwq_pair64_body(s, x0, out_w, w, bias, pos, rq, ru, o0, o1, c, uniform_, any_short_, rkind)
#define DWQ_PAIR_VARIANT(name, uniform, any_short)                                          \
    MNET_VNNI __attribute__((noinline)) static void name(                                  \
        const dwq_pair_src *s, int x0, int out_w, const dw_u512 *w, const int32_t *bias,    \
        int pos, const rq_ctx *rq, const rq_vec *ru, uint8_t *o0, uint8_t *o1, size_t c) { \
        enum { uniform_ = uniform, any_short_ = any_short };                                \
        DWQ_RES_CASES(dwq_res_kind(w), 0, DWQ_PAIR_RES, (void)0)                            \
    }
DWQ_PAIR_VARIANT(dwq_pair64_u, 1, 0)
DWQ_PAIR_VARIANT(dwq_pair64_us, 1, 1)
DWQ_PAIR_VARIANT(dwq_pair64_t, 0, 0)
DWQ_PAIR_VARIANT(dwq_pair64_ts, 0, 1)
#undef DWQ_PAIR_VARIANT
#undef DWQ_PAIR_RES

MNET_VNNI void mnet_q8_vnni_dwq_pair(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                                     const uint8_t *const *rows, const int32_t *wq,
                                     const int32_t *bias, const rq_ctx *rq, const rq_vec *ru,
                                     uint8_t *out_row0, uint8_t *out_row1) {
    size_t c = (size_t)g->out_c;
    int full = g->out_c / BLOCK * BLOCK;
    uint8_t zx_row[BLOCK];
    memset(zx_row, p->input_zero_point, sizeof zx_row);
    dwq_pair_src s;
    s.in_w = g->in_w;
    s.zx = zx_row;
    s.zx8 = _mm512_set1_epi8((char)p->input_zero_point);
    void (*run)(const dwq_pair_src *, int, int, const dw_u512 *, const int32_t *, int,
                const rq_ctx *, const rq_vec *, uint8_t *, uint8_t *, size_t) =
        rq->uniform ? (rq->any_short ? dwq_pair64_us : dwq_pair64_u)
                    : (rq->any_short ? dwq_pair64_ts : dwq_pair64_t);
    for (int block = 0; block < full; block += BLOCK) {
        const dw_u512 *w = (const dw_u512 *)(const void *)wq + (size_t)block * DWQ_SETS / 16;
        if (dwq_needs_k(w + 12, 4)) continue; /* the caller's */
        for (int r = 0; r < 4; r++) {
            s.r[r] = rows[r] ? rows[r] + block : zx_row;
            s.step[r] = rows[r] ? c : 0;
        }
        run(&s, -g->pad_left, g->out_w, w, bias, block, rq, ru, out_row0 + block,
            out_row1 + block, c);
    }
}

/* 16 or 32 channels (dwq_pixels) two output rows at a time: np pixels per
 * 64-lane block as dwq_run_px, each column's quads of 4 input rows as
 * dwq_pair64; the K sums (when the block needs them) against (K, K, K, 0)
 * for row oy and (0, K, K, K) for row oy + 1. The same kernel runs the
 * pixel tail (dwq_ptail): the 16 or 32 channels after the full 64-blocks
 * of np pixels gathered into one block (gather: pixels step bytes apart
 * rather than adjacent), which measured as costly as a whole 64-block by
 * single rows of 16-channel quads. */
INLINE_VNNI __m512i dwq_load_px4(const dwq_pair_src *s, int k, int y, int np, int gather) {
    /* gather 0: np adjacent pixels' bytes; 1: the pixels y, y + 1, ...;
     * 2: y, y + 2, ... (stride 2) */
    size_t st = s->step[k];
    int ps = gather == 2 ? 2 : 1;
    if (y >= 0 && y + ps * (np - 1) < s->in_w) {
        const uint8_t *at = s->r[k] + (size_t)y * st;
        size_t pst = (size_t)ps * st;
        if (!gather) return _mm512_loadu_si512(at);
        if (st == 0) return s->zx8; /* a padding row */
        if (np == 2)
            return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)at)),
                                      _mm256_loadu_si256((const void *)(at + pst)), 1);
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const void *)at));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const void *)(at + pst)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const void *)(at + 2 * pst)), 2);
        return _mm512_inserti32x4(v, _mm_loadu_si128((const void *)(at + 3 * pst)), 3);
    }
    /* the row's edge: the pixels outside read the zero point (by pieces:
     * assembling them in a stack buffer stalled its load on the stores) */
    const uint8_t *at[4];
    for (int i = 0; i < np; i++) {
        int x = y + ps * i;
        at[i] = x >= 0 && x < s->in_w ? s->r[k] + (size_t)x * st : s->zx;
    }
    if (np == 2)
        return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)at[0])),
                                  _mm256_loadu_si256((const void *)at[1]), 1);
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const void *)at[0]));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const void *)at[1]), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const void *)at[2]), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const void *)at[3]), 3);
}

INLINE_VNNI void dwq_build_px4(const dwq_pair_src *s, int y, int np, int gather, __m512i *q) {
    __m512i a = dwq_load_px4(s, 0, y, np, gather), b = dwq_load_px4(s, 1, y, np, gather);
    __m512i c = dwq_load_px4(s, 2, y, np, gather), d = dwq_load_px4(s, 3, y, np, gather);
    __m512i lo01 = _mm512_unpacklo_epi8(a, b), hi01 = _mm512_unpackhi_epi8(a, b);
    __m512i lo23 = _mm512_unpacklo_epi8(c, d), hi23 = _mm512_unpackhi_epi8(c, d);
    q[0] = _mm512_unpacklo_epi16(lo01, lo23), q[1] = _mm512_unpackhi_epi16(lo01, lo23);
    q[2] = _mm512_unpacklo_epi16(hi01, hi23), q[3] = _mm512_unpackhi_epi16(hi01, hi23);
}

/* 4 accumulators -> the block's 64 bytes (channel order), uniform constants
 * ru or per-position constants k. */
INLINE_VNNI __m512i dwq_bytes(const __m512i *a, __m512i k[DWQ_RQ_KINDS][4], const rq_vec *ru,
                              const rq_ctx *rq, int uniform) {
    __m512i q[4];
    for (int v = 0; v < 4; v++)
        q[v] = uniform ? requant_r(a[v], ru, rq->any_short)
                       : requant_core(a[v], k[0][v], k[1][v], k[2][v], k[3][v], k[4][v], k[5][v],
                                      k[6][v], rq->any_short);
    __m512i w01 = add_zero_point16(_mm512_packs_epi32(q[0], q[1]), rq);
    __m512i w23 = add_zero_point16(_mm512_packs_epi32(q[2], q[3]), rq);
    return clamp_bytes(_mm512_packus_epi16(w01, w23), rq);
}

/* The first n of the block's np pixels to dst, pixels step bytes apart
 * (gather) or adjacent. */
INLINE_VNNI void dwq_store_px(uint8_t *dst, __m512i b, int np, int n, int gather, size_t step) {
    if (!gather) {
        if (n == np) _mm512_storeu_si512(dst, b);
        else _mm512_mask_storeu_epi8(dst, ~(__mmask64)0 >> (BLOCK - n * (BLOCK / np)), b);
        return;
    }
    if (np == 2) {
        _mm256_storeu_si256((void *)dst, _mm512_castsi512_si256(b));
        if (n > 1) _mm256_storeu_si256((void *)(dst + step), _mm512_extracti64x4_epi64(b, 1));
        return;
    }
    _mm_storeu_si128((void *)dst, _mm512_castsi512_si128(b));
    if (n > 1) _mm_storeu_si128((void *)(dst + step), _mm512_extracti32x4_epi32(b, 1));
    if (n > 2) _mm_storeu_si128((void *)(dst + 2 * step), _mm512_extracti32x4_epi32(b, 2));
    if (n > 3) _mm_storeu_si128((void *)(dst + 3 * step), _mm512_extracti32x4_epi32(b, 3));
}

/* bias and rq: the block's (positions from 0); o0 / o1: the first pixel's
 * bytes of the two output rows, the next pixel ostep bytes on. two = 0:
 * one output row (o1 unused; the 4th input row only meets zero weights),
 * and with gather 2 at stride 2: the pixels' first taps are the columns
 * y, y + 2, ... (Q(y)), the second taps Q(y + 1), built too, the third
 * Q(y) shifted one pixel on into the next Q(y + 2 np). */
INLINE_VNNI void dwq_pair_px_body(const dwq_pair_src *src, int np, int gather, int x0,
                                  int out_w, int corr, const dw_u512 *w, const int32_t *bias,
                                  __m512i k1, const rq_ctx *rqp, const rq_vec *rup, uint8_t *o0,
                                  uint8_t *o1, size_t ostep, int uniform, int two, int rkind) {
    dwq_pair_src s = *src;
    rq_ctx rq = *rqp;
    rq_vec ru = *rup;
    __m512i rk[DWQ_RQ_KINDS][4]; /* per-channel constants (not uniform) */
    if (!uniform) dwq_rq_consts(&rq, &ru, 0, 0, rq.any_short, rk);
    __m512i ws[12]; /* row oy + 1's weights: (0, w0, w1, w2) */
    for (int i = 0; i < 12; i++)
        ws[i] = _mm512_slli_epi32(_mm512_loadu_si512((const void *)&w[i]), 8);
    __m512i k1s = _mm512_slli_epi32(k1, 8);
    __m512i qc[4], qn[4];
    int s2 = gather == 2;
    __m512i qm[4]; /* stride 2: Q(y + 1) */
    __m512i q1[4], q2[4];
    dwq_res res = {0};
    if (rkind != DWQ_RES_NONE) res = dwq_res_of(w);
    dwq_build_px4(&s, x0, np, gather, qc);
    for (int ox = 0; ox < out_w; ox += np) {
        int y = s2 ? x0 + 2 * ox : x0 + ox;
        dwq_build_px4(&s, y + (s2 ? 2 * np : np), np, gather, qn);
        if (s2) dwq_build_px4(&s, y + 1, np, gather, qm);
        __m512i a[4], e[4];
        for (int v = 0; v < 4; v++) {
            a[v] = _mm512_loadu_si512(bias + 16 * v), e[v] = a[v];
            q1[v] = s2 ? qm[v] : dwq_shift(qn[v], qc[v], 1, np);
            q2[v] = dwq_shift(qn[v], qc[v], s2 ? 1 : 2, np);
            if (!two) { /* one row */
                if (corr) {
                    __m512i ka = _mm512_setzero_si512();
                    for (int r = 0; r < corr; r++) {
                        DPBUSD(ka, qc[v], k1);
                        DPBUSD(ka, q1[v], k1);
                        DPBUSD(ka, q2[v], k1);
                    }
                    a[v] = _mm512_add_epi32(a[v], ka);
                }
                DPBUSD(a[v], qc[v], w[v]);
                DPBUSD(a[v], q1[v], w[4 + v]);
                DPBUSD(a[v], q2[v], w[8 + v]);
                continue;
            }
            if (corr) { /* the K sums in second chains */
                __m512i ka = _mm512_setzero_si512(), kb = _mm512_setzero_si512();
                for (int r = 0; r < corr; r++) {
                    DPBUSD(ka, qc[v], k1);
                    DPBUSD(kb, qc[v], k1s);
                    DPBUSD(ka, q1[v], k1);
                    DPBUSD(kb, q1[v], k1s);
                    DPBUSD(ka, q2[v], k1);
                    DPBUSD(kb, q2[v], k1s);
                }
                a[v] = _mm512_add_epi32(a[v], ka), e[v] = _mm512_add_epi32(e[v], kb);
            }
            DPBUSD(a[v], qc[v], w[v]);
            DPBUSD(e[v], qc[v], ws[v]);
            DPBUSD(a[v], q1[v], w[4 + v]);
            DPBUSD(e[v], q1[v], ws[4 + v]);
            DPBUSD(a[v], q2[v], w[8 + v]);
            DPBUSD(e[v], q2[v], ws[8 + v]);
        }
        dwq_res_add(&res, rkind, two, a, e, qc, q1, q2);
        int n = out_w - ox < np ? out_w - ox : np;
        if (!two) {
            dwq_store_px(o0 + (size_t)ox * ostep, dwq_bytes(a, rk, rup, &rq, uniform), np, n,
                         gather, ostep);
        } else if (uniform && !gather) {
            dwq_store(o0 + (size_t)ox * ostep, a, 4, 0, 0, n * (BLOCK / np), &rq, &ru);
            dwq_store(o1 + (size_t)ox * ostep, e, 4, 0, 0, n * (BLOCK / np), &rq, &ru);
        } else {
            dwq_store_px(o0 + (size_t)ox * ostep, dwq_bytes(a, rk, rup, &rq, uniform), np, n,
                         gather, ostep);
            dwq_store_px(o1 + (size_t)ox * ostep, dwq_bytes(e, rk, rup, &rq, uniform), np, n,
                         gather, ostep);
        }
        for (int v = 0; v < 4; v++) qc[v] = qn[v];
    }
}

typedef void dwq_pair_px_fn(const dwq_pair_src *s, int x0, int out_w, int corr, const dw_u512 *w,
                            const int32_t *bias, __m512i k1, const rq_ctx *rq, const rq_vec *ru,
                            uint8_t *o0, uint8_t *o1, size_t ostep);

#define DWQ_PX_BODY(np, gather, u, two, cr, rkind) \
    dwq_pair_px_body(s, np, gather, x0, out_w, cr, w, bias, k1, rq, ru, o0, o1, ostep, u, two, rkind)
#define DWQ_PX_RES(rkind) DWQ_PX_BODY(np_, gather_, u_, two_, 0, rkind)
/* all: every residual kind (the two-row kernels of uniform layers) */
#define DWQ_PAIR_PX_VARIANT(name, np, gather, u, two, all)                                     \
    MNET_VNNI __attribute__((noinline, unused)) static void name##_v(                          \
        const dwq_pair_src *s, int x0, int out_w, const dw_u512 *w, const int32_t *bias,        \
        __m512i k1, const rq_ctx *rq, const rq_vec *ru, uint8_t *o0, uint8_t *o1,               \
        size_t ostep) {                                                                         \
        enum { np_ = np, gather_ = gather, u_ = u, two_ = two };                                \
        DWQ_RES_V_CASES(dwq_res_kind(w), DWQ_PX_RES)                                            \
    }                                                                                           \
    MNET_VNNI __attribute__((noinline)) static void name(                                      \
        const dwq_pair_src *s, int x0, int out_w, int corr, const dw_u512 *w,                   \
        const int32_t *bias, __m512i k1, const rq_ctx *rq, const rq_vec *ru, uint8_t *o0,       \
        uint8_t *o1, size_t ostep) {                                                            \
        enum { np_ = np, gather_ = gather, u_ = u, two_ = two };                                \
        if (corr == 0) {                                                                        \
            DWQ_RES_CASES(dwq_res_kind(w), all, DWQ_PX_RES,                                     \
                          name##_v(s, x0, out_w, w, bias, k1, rq, ru, o0, o1, ostep))           \
        } else if (corr == 1) {                                                                 \
            DWQ_PX_BODY(np, gather, u, two, 1, DWQ_RES_NONE);                                   \
        } else {                                                                                \
            DWQ_PX_BODY(np, gather, u, two, 2, DWQ_RES_NONE);                                   \
        }                                                                                       \
    }
DWQ_PAIR_PX_VARIANT(dwq_pair16_u, 4, 0, 1, 1, 1)
DWQ_PAIR_PX_VARIANT(dwq_pair32_u, 2, 0, 1, 1, 1)
DWQ_PAIR_PX_VARIANT(dwq_pair16_t, 4, 0, 0, 1, 0)
DWQ_PAIR_PX_VARIANT(dwq_pair32_t, 2, 0, 0, 1, 0)
DWQ_PAIR_PX_VARIANT(dwq_ptail16_u, 4, 1, 1, 1, 1)
DWQ_PAIR_PX_VARIANT(dwq_ptail32_u, 2, 1, 1, 1, 1)
DWQ_PAIR_PX_VARIANT(dwq_ptail16_t, 4, 1, 0, 1, 0)
DWQ_PAIR_PX_VARIANT(dwq_ptail32_t, 2, 1, 0, 1, 0)
/* single rows of the pixel tail: stride 1, stride 2 */
DWQ_PAIR_PX_VARIANT(dwq_tail16_u, 4, 1, 1, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail32_u, 2, 1, 1, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail16_t, 4, 1, 0, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail32_t, 2, 1, 0, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail16s2_u, 4, 2, 1, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail32s2_u, 2, 2, 1, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail16s2_t, 4, 2, 0, 0, 0)
DWQ_PAIR_PX_VARIANT(dwq_tail32s2_t, 2, 2, 0, 0, 0)
#undef DWQ_PAIR_PX_VARIANT
#undef DWQ_PX_RES
#undef DWQ_PX_BODY

int mnet_q8_vnni_dwq_pair_px_ok(const mnet_conv_geometry *g) {
    return mnet_q8_vnni_dwq_ok(g) && dwq_pixels(g);
}

/* The pair kernels' setup: the 4 rows from byte offset first, K. */
MNET_VNNI static void dwq_pair_setup(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                           const uint8_t *const *rows, int first, const uint8_t *zx_row,
                           dwq_pair_src *s, __m512i *k1, int *corr_k) {
    int k = 128 - p->weight_zero_point, kb = k == 128 ? 64 : k;
    *corr_k = k == 0 ? 0 : k == 128 ? 2 : 1;
    *k1 = _mm512_set1_epi32((int)((uint32_t)(uint8_t)(int8_t)kb * 0x010101u));
    for (int r = 0; r < 4; r++) {
        s->r[r] = rows[r] ? rows[r] + first : zx_row;
        s->step[r] = rows[r] ? (size_t)g->out_c : 0;
    }
    s->in_w = g->in_w;
    s->zx = zx_row;
    s->zx8 = _mm512_set1_epi8((char)p->input_zero_point);
}

MNET_VNNI void mnet_q8_vnni_dwq_pair_px(const mnet_conv_geometry *g,
                                        const mnet_q8_conv_params *p, const uint8_t *const *rows,
                                        const int32_t *wq, const int32_t *bias,
                                        const rq_ctx *rq, const rq_vec *ru, uint8_t *out_row0,
                                        uint8_t *out_row1) {
    int c = g->out_c, corr_k;
    uint8_t zx_row[BLOCK];
    memset(zx_row, p->input_zero_point, sizeof zx_row);
    dwq_pair_src s;
    __m512i k1;
    dwq_pair_setup(g, p, rows, 0, zx_row, &s, &k1, &corr_k);
    const dw_u512 *w = (const dw_u512 *)(const void *)wq;
    int corr = dwq_needs_k(w + 12, 4) ? corr_k : 0;
    dwq_pair_px_fn *run = c == 16 ? (rq->uniform ? dwq_pair16_u : dwq_pair16_t)
                                  : (rq->uniform ? dwq_pair32_u : dwq_pair32_t);
    run(&s, -g->pad_left, g->out_w, corr, w, bias, k1, rq, ru, out_row0, out_row1,
        (size_t)c);
}

/* --- the pixel tail ------------------------------------------------------ */

static int dwq_ptail_np(const mnet_conv_geometry *g) {
    int t = g->out_c % BLOCK;
    if (!mnet_q8_vnni_dwq_ok(g) || g->dilation_w != 1 || g->out_c < BLOCK) return 0;
    return t == 16 ? 4 : t == 32 ? 2 : 0;
}

int mnet_q8_vnni_dwq_ptail(const mnet_conv_geometry *g) { return dwq_ptail_np(g) != 0; }

size_t mnet_q8_vnni_dwq_ptail_offset(const mnet_conv_geometry *g) {
    return mnet_q8_vnni_dwq_masked_offset(g) +
           (mnet_q8_vnni_dwq_masked(g) ? BLOCK * 4 + mnet_q8_rqtable_bytes(BLOCK) : 0);
}

/* The tail's bias and table: after its quads. */
size_t mnet_q8_vnni_dwq_ptail_bias_offset(const mnet_conv_geometry *g) {
    return mnet_q8_vnni_dwq_ptail_offset(g) + (size_t)BLOCK * DWQ_SETS * 4;
}

int mnet_q8_vnni_dwq_ptail_channel(const mnet_conv_geometry *g, int pos) {
    int full = g->out_c / BLOCK * BLOCK;
    return full + pos_channel(pos, BLOCK) % (g->out_c - full);
}

/* The tail's quads, K flag and residual (DWQ_SETS x 4 vectors at quads). */
static void dwq_ptail_pack(const mnet_conv_geometry *g, const uint8_t *w_ohwi, int zw,
                           int32_t *quads) {
    int ch[BLOCK];
    for (int pos = 0; pos < BLOCK; pos++) ch[pos] = mnet_q8_vnni_dwq_ptail_channel(g, pos);
    dwq_pack64(w_ohwi, zw, ch, quads);
}

MNET_VNNI void mnet_q8_vnni_dwq_pair_tail(const mnet_conv_geometry *g,
                                          const mnet_q8_conv_params *p,
                                          const uint8_t *const *rows, const int32_t *wq,
                                          const rq_ctx *rq, const rq_vec *ru, uint8_t *out_row0,
                                          uint8_t *out_row1) {
    int c = g->out_c, full = c / BLOCK * BLOCK, np = dwq_ptail_np(g), corr_k;
    /* one row: the 4th byte meets zero weights, so a padding row (no loads) */
    const uint8_t *rows4[4] = {rows[0], rows[1], rows[2], out_row1 ? rows[3] : NULL};
    rows = rows4;
    const int32_t *tq = (const int32_t *)(const void *)((const uint8_t *)wq +
                                                        mnet_q8_vnni_dwq_ptail_offset(g));
    const int32_t *tbias = tq + BLOCK * DWQ_SETS;
    rq_ctx trq = *rq;
    trq.table = tbias + BLOCK, trq.padded = BLOCK;
    uint8_t zx_row[BLOCK];
    memset(zx_row, p->input_zero_point, sizeof zx_row);
    dwq_pair_src s;
    __m512i k1;
    dwq_pair_setup(g, p, rows, full, zx_row, &s, &k1, &corr_k);
    const dw_u512 *w = (const dw_u512 *)(const void *)tq;
    int corr = dwq_needs_k(w + 12, 4) ? corr_k : 0;
    int u = rq->uniform, s2 = g->stride_w == 2;
    dwq_pair_px_fn *run = out_row1 ? (np == 4 ? (u ? dwq_ptail16_u : dwq_ptail16_t)
                                              : (u ? dwq_ptail32_u : dwq_ptail32_t))
                          : s2 ? (np == 4 ? (u ? dwq_tail16s2_u : dwq_tail16s2_t)
                                          : (u ? dwq_tail32s2_u : dwq_tail32s2_t))
                               : (np == 4 ? (u ? dwq_tail16_u : dwq_tail16_t)
                                          : (u ? dwq_tail32_u : dwq_tail32_t));
    run(&s, -g->pad_left, g->out_w, corr, w, tbias, k1, &trq, ru, out_row0 + full,
        out_row1 ? out_row1 + full : NULL, (size_t)c);
}
#undef DPBUSD

#endif
