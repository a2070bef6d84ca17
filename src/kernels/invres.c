#include "kernels/invres.h"

#include <string.h>

/* Expanded rows + depthwise rows of one tile should stay well inside L2. */
#define MNET_INVRES_BUDGET_BYTES (256 * 1024)

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

static int max_input_rows(const mnet_invres *b, int tile) {
    const mnet_conv_geometry *dw = &b->depthwise;
    int rows = (tile - 1) * dw->stride_h + dw->dilation_h * (dw->kernel_h - 1) + 1;
    return rows < dw->in_h ? rows : dw->in_h;
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
    size_t exp = (size_t)max_input_rows(b, b->tile_rows) * exp_row_floats(b);
    size_t dwo = (size_t)b->tile_rows * b->depthwise.out_w * b->depthwise.out_c;
    /* each part rounded to 64 bytes so both start aligned */
    return (exp + 15) / 16 * 16 + (dwo + 15) / 16 * 16;
}

void mnet_invres_rows(const mnet_kernels *k, const mnet_invres *b, const float *in,
                      const float *residual, float *out, int row_begin, int row_end,
                      float *scratch) {
    const mnet_conv_geometry *dw = &b->depthwise;
    size_t exp_row = exp_row_floats(b);
    float *exp_buf = scratch;
    float *dw_buf = scratch + ((size_t)max_input_rows(b, b->tile_rows) * exp_row + 15) / 16 * 16;
    int in_w = dw->in_w, out_w = dw->out_w;
    int in_c = b->has_expand ? b->expand.in_c : dw->in_c;
    int have_first = 0, have_last = 0; /* expanded rows held in exp_buf */
    for (int r0 = row_begin; r0 < row_end; r0 += b->tile_rows) {
        int r1 = r0 + b->tile_rows < row_end ? r0 + b->tile_rows : row_end;
        int first, last;
        needed_rows(dw, r0, r1, &first, &last);
        const float *dw_in;
        if (b->has_expand) {
            /* rows the previous tile already expanded move to the front */
            int start = first;
            if (have_first <= first && have_last > first) {
                if (first > have_first)
                    memmove(exp_buf, exp_buf + (size_t)(first - have_first) * exp_row,
                            (size_t)(have_last - first) * exp_row * sizeof(float));
                start = have_last < last ? have_last : last;
            }
            if (start < last)
                k->pointwise(b->expand.in_c, b->expand.out_c, in + (size_t)start * in_w * in_c,
                             b->expand_w, b->expand_b, NULL, b->expand_act,
                             exp_buf + (size_t)(start - first) * exp_row, 0,
                             (last - start) * in_w);
            have_first = first;
            have_last = last;
            dw_in = exp_buf;
        } else {
            dw_in = in + (size_t)first * in_w * in_c;
        }
        /* depthwise over a window of input rows [first, last) producing
         * output rows [r0, r1): shift the geometry so both start at 0 */
        mnet_conv_geometry g = *dw;
        g.in_h = last - first;
        g.out_h = r1 - r0;
        g.pad_top = dw->pad_top + first - r0 * dw->stride_h;
        k->depthwise(&g, dw_in, b->dw_w, b->dw_b, b->dw_act, dw_buf, 0, r1 - r0);
        size_t pixel0 = (size_t)r0 * out_w;
        k->pointwise(b->project.in_c, b->project.out_c, dw_buf, b->project_w, b->project_b,
                     residual ? residual + pixel0 * b->project.out_c : NULL, b->project_act,
                     out + pixel0 * b->project.out_c, 0, (r1 - r0) * out_w);
    }
}
