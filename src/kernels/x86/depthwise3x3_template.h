/* 3x3 depthwise convolution, stride 1 or 2 without dilation (MobileNet),
 * or stride 1 with dilation (DeepLab's atrous MobileNet V2); included by
 * depthwise_template.h. Same packed weights and the same
 * per-pixel sum order (bias, then taps in (ky, kx) order, taps outside the
 * input skipped) as the general path, so both give identical values.
 *
 * The general path reloads a weight vector for every tap of every pixel
 * run. Here a row is swept one channel vector at a time with its nine
 * weights and bias held in registers, so the loop body is input loads and
 * FMAs only, DW3_OXB output pixels per step (each input load is shared by
 * up to three neighbouring pixels at stride 1). Border pixels take the same
 * tile with one pixel and their valid horizontal taps.
 *
 * With dilation d >= 2 (stride 1) a pixel's taps lie d columns apart, so
 * neighbouring pixels rarely share an input column within a tile; each tap
 * of each pixel is loaded straight into its FMA instead, which costs no
 * extra instruction. Rows and columns then step by the dilation. */

/* The tile loops must unroll completely so that the weight and sum arrays
 * become registers. */
#define DW3_UNROLL _Pragma("GCC unroll 16")

typedef struct dw3_row {
    const float *rows[3]; /* input row of each ky at this output row's channel c, or NULL */
    float *out;           /* output row at channel c */
    size_t cs;            /* floats per pixel */
    int stride, pad_left, in_w;
    int dil; /* horizontal dilation */
    vmask tail_mask;
    vec lo, hi;
} dw3_row;

/* Dilated taps (stride 1): for each tap in (ky, kx) order, every pixel's
 * input is loaded into its FMA. */
X86_INLINE void dw3_dilated_taps(const int n, const int masked, const dw3_row *r,
                                 const vec *w, vec *acc, ptrdiff_t ix0, int kx_lo, int kx_hi) {
    const ptrdiff_t cs = (ptrdiff_t)r->cs, tap_step = (ptrdiff_t)r->dil * cs;
    DW3_UNROLL
    for (int ky = 0; ky < 3; ky++) {
        const float *q = r->rows[ky];
        if (q == NULL) continue;
        q += (ix0 + kx_lo * (ptrdiff_t)r->dil) * cs;
        DW3_UNROLL
        for (int kx = kx_lo; kx < kx_hi; kx++, q += tap_step) {
            X86_OPAQUE(q);
            DW3_UNROLL
            for (int j = 0; j < n; j++) {
                const vec x =
                    masked ? vec_load_mask(q + j * cs, r->tail_mask) : vec_load(q + j * cs);
                acc[j] = vec_fma(x, w[ky * 3 + kx], acc[j]);
            }
        }
    }
}

/* Undilated taps at stride s: input columns left to right, each loaded
 * once and fed to every pixel whose window holds it; a pixel still sees kx
 * ascending. */
X86_INLINE void dw3_shared_columns(const int n, const int s, const int masked, const dw3_row *r,
                                   const vec *w, vec *acc, ptrdiff_t ix0, int kx_lo,
                                   int kx_hi) {
    const ptrdiff_t cs = (ptrdiff_t)r->cs;
    DW3_UNROLL
    for (int ky = 0; ky < 3; ky++) {
        const float *q = r->rows[ky];
        if (q == NULL) continue;
        q += (ix0 + kx_lo) * cs;
        DW3_UNROLL
        for (int i = kx_lo; i <= (n - 1) * s + kx_hi - 1; i++, q += cs) {
            X86_OPAQUE(q);
            vec x = masked ? vec_load_mask(q, r->tail_mask) : vec_load(q);
            /* one load per column: without this the load is folded into
             * each of the up to three FMAs that use it */
            __asm__("" : "+v"(x));
            DW3_UNROLL
            for (int j = 0; j < n; j++) {
                const int kx = i - j * s;
                if (kx >= kx_lo && kx < kx_hi) acc[j] = vec_fma(x, w[ky * 3 + kx], acc[j]);
            }
        }
    }
}

/* The stride argument of the tiles and sweeps that selects dilated taps. */
#define DW3_DILATED 0

/* n output pixels from column ox, horizontal taps [kx_lo, kx_hi) valid for
 * all of them; w[ky * 3 + kx] are the channel vector's weights. */
X86_INLINE void dw3_tile(const int n, const int s, const int masked, const dw3_row *r,
                         const vec *w, vec bias, int ox, int kx_lo, int kx_hi) {
    vec acc[DW3_OXB];
    DW3_UNROLL
    for (int j = 0; j < n; j++) acc[j] = bias;
    const ptrdiff_t ix0 = (ptrdiff_t)ox * (s == DW3_DILATED ? 1 : s) - r->pad_left;
    if (s == DW3_DILATED) dw3_dilated_taps(n, masked, r, w, acc, ix0, kx_lo, kx_hi);
    else dw3_shared_columns(n, s, masked, r, w, acc, ix0, kx_lo, kx_hi);
    DW3_UNROLL
    for (int j = 0; j < n; j++) {
        const vec y = vec_clamp(acc[j], r->lo, r->hi);
        float *o = r->out + (size_t)(ox + j) * r->cs;
        if (masked) vec_store_mask(o, y, r->tail_mask);
        else vec_store(o, y);
    }
}

X86_INLINE void dw3_border(const int s, const int masked, const dw3_row *r, const vec *w,
                           vec bias, int ox) {
    int kx_lo, kx_hi;
    const int ix0 = ox * (s == DW3_DILATED ? 1 : s) - r->pad_left;
    valid_tap_range(ix0, 3, r->dil, r->in_w, &kx_lo, &kx_hi);
    /* constant tap ranges let the tile unroll and keep w in registers */
    switch (kx_lo * 4 + kx_hi) {
    case 1 * 4 + 3: dw3_tile(1, s, masked, r, w, bias, ox, 1, 3); break;
    case 0 * 4 + 2: dw3_tile(1, s, masked, r, w, bias, ox, 0, 2); break;
    case 1 * 4 + 2: dw3_tile(1, s, masked, r, w, bias, ox, 1, 2); break;
    case 0 * 4 + 3: dw3_tile(1, s, masked, r, w, bias, ox, 0, 3); break;
    default: dw3_tile(1, s, masked, r, w, bias, ox, kx_lo, kx_hi); break;
    }
}

/* One output row for one channel vector: the output columns split as
 * [0, lo) border, [lo, hi) interior, [hi, out_w) border. */
X86_INLINE void dw3_sweep(const int s, const int masked, const dw3_row *r, const float *wp,
                          size_t cpad, const float *bias, int out_w, int lo, int hi) {
    vec w[9];
    DW3_UNROLL
    for (int t = 0; t < 9; t++) w[t] = vec_load(wp + (size_t)t * cpad);
    const vec b = bias == NULL ? vec_zero()
                  : masked     ? vec_load_mask(bias, r->tail_mask)
                               : vec_load(bias);
    int ox = 0;
    for (; ox < lo; ox++) dw3_border(s, masked, r, w, b, ox);
    for (; ox + DW3_OXB <= hi; ox += DW3_OXB) dw3_tile(DW3_OXB, s, masked, r, w, b, ox, 0, 3);
    for (; ox + 4 <= hi; ox += 4) dw3_tile(4, s, masked, r, w, b, ox, 0, 3);
    for (; ox < hi; ox++) dw3_tile(1, s, masked, r, w, b, ox, 0, 3);
    for (; ox < out_w; ox++) dw3_border(s, masked, r, w, b, ox);
}

static void dw3_sweep_s1(const dw3_row *r, const float *wp, size_t cpad, const float *bias,
                         int out_w, int lo, int hi) {
    dw3_sweep(1, 0, r, wp, cpad, bias, out_w, lo, hi);
}
static void dw3_sweep_s1_masked(const dw3_row *r, const float *wp, size_t cpad,
                                const float *bias, int out_w, int lo, int hi) {
    dw3_sweep(1, 1, r, wp, cpad, bias, out_w, lo, hi);
}
static void dw3_sweep_s2(const dw3_row *r, const float *wp, size_t cpad, const float *bias,
                         int out_w, int lo, int hi) {
    dw3_sweep(2, 0, r, wp, cpad, bias, out_w, lo, hi);
}
static void dw3_sweep_s2_masked(const dw3_row *r, const float *wp, size_t cpad,
                                const float *bias, int out_w, int lo, int hi) {
    dw3_sweep(2, 1, r, wp, cpad, bias, out_w, lo, hi);
}

static void dw3_sweep_dilated(const dw3_row *r, const float *wp, size_t cpad,
                              const float *bias, int out_w, int lo, int hi) {
    dw3_sweep(DW3_DILATED, 0, r, wp, cpad, bias, out_w, lo, hi);
}
static void dw3_sweep_dilated_masked(const dw3_row *r, const float *wp, size_t cpad,
                                     const float *bias, int out_w, int lo, int hi) {
    dw3_sweep(DW3_DILATED, 1, r, wp, cpad, bias, out_w, lo, hi);
}

/* Input bytes of a band of dilated rows: about the L2 of one core. */
#define DW3_BAND_BYTES ((size_t)2 << 20)

/* Vertical dilation only moves the input rows, so any is fine. */
static int dw3_applies(const mnet_conv_geometry *g) {
    if (g->kernel_h != 3 || g->kernel_w != 3 || g->dilation_h < 1) return 0;
    if (g->dilation_w == 1) return g->stride_w == 1 || g->stride_w == 2;
    return g->dilation_w >= 2 && g->stride_w == 1;
}

static void dw3_rows(const mnet_conv_geometry *g, const float *in, const float *packed,
                     const float *bias, mnet_activation act, float *out, int row_begin,
                     int row_end) {
    const size_t cs = (size_t)g->out_c, cpad = dw_cpad(g->out_c);
    const size_t in_row = (size_t)g->in_w * cs;
    dw3_row r;
    r.cs = cs;
    r.stride = g->stride_w;
    r.pad_left = g->pad_left;
    r.in_w = g->in_w;
    r.dil = g->dilation_w;
    r.tail_mask = vec_mask_first(g->out_c % VLEN);
    r.lo = act_lower_bound(act);
    r.hi = act_upper_bound(act);
    const int dilated = g->dilation_w > 1;
    void (*full)(const dw3_row *, const float *, size_t, const float *, int, int, int) =
        dilated ? dw3_sweep_dilated : g->stride_w == 1 ? dw3_sweep_s1 : dw3_sweep_s2;
    void (*tail)(const dw3_row *, const float *, size_t, const float *, int, int, int) =
        dilated ? dw3_sweep_dilated_masked
                : g->stride_w == 1 ? dw3_sweep_s1_masked : dw3_sweep_s2_masked;
    int lo, hi;
    interior_columns(g->out_w, g->in_w, 3, g->stride_w, g->dilation_w, g->pad_left, &lo, &hi);
    /* Channel vectors outermost: consecutive output rows of one channel
     * vector share two of their three input rows (one at stride 2), which
     * are then still in L1, so each input line comes from L2 about once.
     * Dilated rows share input rows only d rows apart, and DeepLab's wide
     * maps make a pass over all rows per channel vector stream the tensor
     * from memory again and again (measured 2x slower at 960 channels), so
     * there the rows go in bands whose input fits in L2. */
    int band = row_end - row_begin;
    if (dilated) band = max_int(1, (int)(DW3_BAND_BYTES / (in_row * sizeof(float))));
    for (int band_begin = row_begin; band_begin < row_end; band_begin += band) {
        const int band_end = min_int(band_begin + band, row_end);
        for (int c = 0; c < g->out_c; c += VLEN) {
            const float *b = bias ? bias + c : NULL;
            for (int oy = band_begin; oy < band_end; oy++) {
                const int iy0 = oy * g->stride_h - g->pad_top;
                for (int ky = 0; ky < 3; ky++) {
                    const int iy = iy0 + ky * g->dilation_h;
                    r.rows[ky] = iy >= 0 && iy < g->in_h ? in + (size_t)iy * in_row + c : NULL;
                }
                r.out = out + (size_t)oy * g->out_w * cs + c;
                if (c + VLEN <= g->out_c) full(&r, packed + c, cpad, b, g->out_w, lo, hi);
                else tail(&r, packed + c, cpad, b, g->out_w, lo, hi);
            }
        }
    }
}
