#include "kernels/invres.h"

#include <string.h>

/* Expanded rows + depthwise rows of one tile should stay well inside L2. */
#define MNET_INVRES_BUDGET_BYTES (256 * 1024)

/* Row phases: a stride-1 depthwise with vertical dilation d is d
 * independent undilated convolutions, one per residue class of rows mod d
 * (output row oy reads input rows oy - pad + ky * d, all in oy - pad's
 * class). Running a block phase by phase, the rows of one phase are
 * "compact": consecutive output rows of a phase share two of their three
 * input rows, so the live expanded rows are tile + 2 instead of
 * tile + 2d (DeepLab's 65x65x960 blocks: 3 rows of 250 KB that stay in L2
 * instead of 9 streamed from L3 and reused d rows later). Every expanded
 * row belongs to exactly one phase, so nothing is computed twice. Without
 * an expansion the input rows are read in place and must stay contiguous,
 * so phases need an expansion. */
static int row_phases(const mnet_invres *b) {
    const mnet_conv_geometry *dw = &b->depthwise;
    return b->has_expand && dw->stride_h == 1 && dw->dilation_h > 1 ? dw->dilation_h : 1;
}

/* Input rows [first, last) the depthwise needs for output rows [r0, r1). */
static void needed_rows(const mnet_conv_geometry *dw, int r0, int r1, int *first, int *last) {
    int a = r0 * dw->stride_h - dw->pad_top;
    int b = (r1 - 1) * dw->stride_h - dw->pad_top + dw->dilation_h * (dw->kernel_h - 1) + 1;
    *first = a < 0 ? 0 : a;
    *last = b > dw->in_h ? dw->in_h : b;
    if (*last < *first) *last = *first;
}

static size_t exp_row_floats(const mnet_invres *b) {
    return (size_t)b->depthwise.in_w * (size_t)b->depthwise.in_c;
}

/* Expanded rows one tile reads (rows of one phase when phased). */
static int max_input_rows(const mnet_invres *b, int tile) {
    const mnet_conv_geometry *dw = &b->depthwise;
    int dil = row_phases(b) > 1 ? 1 : dw->dilation_h;
    int rows = (tile - 1) * dw->stride_h + dil * (dw->kernel_h - 1) + 1;
    return rows < dw->in_h ? rows : dw->in_h;
}

/* Rows of the expanded-row buffer. Consecutive tiles share the rows of
 * the depthwise halo; new rows are appended behind the live ones and the
 * live rows move to the front only when the buffer is full. A window of
 * twice the live rows (less one tile's step) moves each row about once
 * instead of once per tile. */
static int window_rows(const mnet_invres *b) {
    int live = max_input_rows(b, b->tile_rows);
    int step = b->tile_rows * b->depthwise.stride_h;
    int rows = live + (live > step ? live - step : 0);
    return rows < b->depthwise.in_h ? rows : b->depthwise.in_h;
}

void mnet_invres_plan_tiles(mnet_invres *b) {
    const mnet_conv_geometry *dw = &b->depthwise;
    size_t per_out_row = (size_t)dw->out_w * dw->out_c * sizeof(float) +
                         (size_t)dw->stride_h * exp_row_floats(b) * sizeof(float);
    int tile = (int)(MNET_INVRES_BUDGET_BYTES / (per_out_row ? per_out_row : 1));
    if (tile < 1) tile = 1;
    if (tile > dw->out_h) tile = dw->out_h;
    b->tile_rows = tile;
}

size_t mnet_invres_scratch_floats(const mnet_invres *b) {
    size_t exp = (size_t)window_rows(b) * exp_row_floats(b);
    size_t dwo = (size_t)b->tile_rows * b->depthwise.out_w * b->depthwise.out_c;
    /* each part rounded to 64 bytes so both start aligned */
    return (exp + 15) / 16 * 16 + (dwo + 15) / 16 * 16;
}

/* One phase of a block: output rows out_first + t * step for t in
 * [0, g->out_h), reading input rows in_first + j * step for j in
 * [0, g->in_h); g is the depthwise geometry in those compact row numbers
 * (undilated vertically). step 1 with the block's own geometry is the
 * whole block. */
typedef struct phase_rows {
    mnet_conv_geometry g;
    int in_first, out_first, step;
} phase_rows;

/* Expands compact input rows [j0, j1) into exp_buf (row j0 first). */
static void expand_rows(const mnet_kernels *k, const mnet_invres *b, const phase_rows *ph,
                        const float *in, int j0, int j1, float *exp_buf) {
    const size_t in_row = (size_t)b->depthwise.in_w * b->expand.in_c;
    const size_t exp_row = exp_row_floats(b);
    const int w = b->depthwise.in_w;
    if (ph->step == 1) {
        k->pointwise(b->expand.in_c, b->expand.out_c, in + (size_t)(ph->in_first + j0) * in_row,
                     b->expand_w, b->expand_b, NULL, b->expand_act, exp_buf, 0, (j1 - j0) * w);
        return;
    }
    for (int j = j0; j < j1; j++)
        k->pointwise(b->expand.in_c, b->expand.out_c,
                     in + (size_t)(ph->in_first + j * ph->step) * in_row, b->expand_w,
                     b->expand_b, NULL, b->expand_act, exp_buf + (size_t)(j - j0) * exp_row, 0,
                     w);
}

/* Projects depthwise rows of compact output rows [t0, t1). */
static void project_rows(const mnet_kernels *k, const mnet_invres *b, const phase_rows *ph,
                         const float *dw_buf, const float *residual, float *out, int t0,
                         int t1) {
    const int out_w = b->depthwise.out_w, oc = b->project.out_c;
    const int runs = ph->step == 1 ? 1 : t1 - t0;      /* contiguous runs of rows */
    const int run_rows = ph->step == 1 ? t1 - t0 : 1;
    for (int r = 0; r < runs; r++) {
        size_t pixel0 = (size_t)(ph->out_first + (t0 + r) * ph->step) * out_w;
        k->pointwise(b->project.in_c, oc, dw_buf + (size_t)r * out_w * b->project.in_c,
                     b->project_w, b->project_b, residual ? residual + pixel0 * oc : NULL,
                     b->project_act, out + pixel0 * oc, 0, run_rows * out_w);
    }
}

static void run_phase(const mnet_kernels *k, const mnet_invres *b, const phase_rows *ph,
                      const float *in, const float *residual, float *out, float *scratch) {
    const mnet_conv_geometry *dw = &ph->g;
    size_t exp_row = exp_row_floats(b);
    const int window = window_rows(b);
    float *exp_buf = scratch;
    float *dw_buf = scratch + ((size_t)window * exp_row + 15) / 16 * 16;
    int have_first = 0, have_last = 0; /* expanded rows held in exp_buf */
    int base = 0;                      /* the input row at exp_buf's row 0 */
    for (int r0 = 0; r0 < dw->out_h; r0 += b->tile_rows) {
        int r1 = r0 + b->tile_rows < dw->out_h ? r0 + b->tile_rows : dw->out_h;
        int first, last;
        needed_rows(dw, r0, r1, &first, &last);
        const float *dw_in;
        if (b->has_expand) {
            /* rows [first, start) the previous tile already expanded are
             * reused; new rows go behind them while the window has room */
            int start = first;
            if (have_first <= first && have_last > first)
                start = have_last < last ? have_last : last;
            else
                base = first;
            if (last - base > window) {
                if (start > first)
                    memmove(exp_buf, exp_buf + (size_t)(first - base) * exp_row,
                            (size_t)(start - first) * exp_row * sizeof(float));
                base = first;
            }
            if (start < last)
                expand_rows(k, b, ph, in, start, last, exp_buf + (size_t)(start - base) * exp_row);
            have_first = first;
            have_last = last;
            dw_in = exp_buf + (size_t)(first - base) * exp_row;
        } else {
            dw_in = in + (size_t)first * exp_row;
        }
        /* depthwise over a window of input rows [first, last) producing
         * output rows [r0, r1): shift the geometry so both start at 0 */
        mnet_conv_geometry g = *dw;
        g.in_h = last - first;
        g.out_h = r1 - r0;
        g.pad_top = dw->pad_top + first - r0 * dw->stride_h;
        k->depthwise(&g, dw_in, b->dw_w, b->dw_b, b->dw_act, dw_buf, 0, r1 - r0);
        project_rows(k, b, ph, dw_buf, residual, out, r0, r1);
    }
}

void mnet_invres_rows(const mnet_kernels *k, const mnet_invres *b, const float *in,
                      const float *residual, float *out, int row_begin, int row_end,
                      float *scratch) {
    const mnet_conv_geometry *dw = &b->depthwise;
    const int d = row_phases(b);
    if (row_end <= row_begin) return;
    if (d == 1) {
        phase_rows ph = {*dw, 0, row_begin, 1};
        ph.g.out_h = row_end - row_begin;
        ph.g.pad_top = dw->pad_top - row_begin * dw->stride_h;
        /* rows before the range are not needed: keep input rows absolute */
        run_phase(k, b, &ph, in, residual, out, scratch);
        return;
    }
    for (int p = 0; p < d && row_begin + p < row_end; p++) {
        phase_rows ph;
        ph.g = *dw;
        ph.step = d;
        ph.out_first = row_begin + p;
        /* input rows of this phase: iy = oy - pad_top + ky * d, all in the
         * residue class of oy - pad_top; the first one at or above 0 */
        int residue = ((ph.out_first - dw->pad_top) % d + d) % d;
        ph.in_first = residue;
        ph.g.in_h = residue < dw->in_h ? (dw->in_h - residue + d - 1) / d : 0;
        ph.g.out_h = (row_end - ph.out_first + d - 1) / d;
        ph.g.dilation_h = 1;
        /* compact output row t reads compact rows t - pad .. t - pad + 2 */
        ph.g.pad_top = (residue - (ph.out_first - dw->pad_top)) / d;
        run_phase(k, b, &ph, in, residual, out, scratch);
    }
}
