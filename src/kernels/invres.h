/* The MobileNet V2 inverted residual block (1x1 expansion + ReLU6, 3x3
 * depthwise + ReLU6, linear 1x1 projection, optional residual add), or a
 * MobileNet V1 block (depthwise + pointwise, each with its activation), fused
 * over tiles of output rows, on top of any kernel table: the expanded tensor,
 * six times wider than the block's input and output, never leaves the cache.
 * Expanded rows shared by consecutive tiles are kept (in a window about
 * twice the live rows, moved to its front only when it is full), not
 * recomputed. */
#ifndef MNET_KERNELS_INVRES_H
#define MNET_KERNELS_INVRES_H

#include "kernels/kernels.h"

typedef struct mnet_invres {
    mnet_conv_geometry expand;    /* valid when has_expand */
    mnet_conv_geometry depthwise;
    mnet_conv_geometry project;
    int has_expand;
    int tile_rows;                /* output rows per tile */
    mnet_activation expand_act, dw_act, project_act; /* V2: RELU6, RELU6, NONE */
    const float *expand_w, *expand_b, *dw_w, *dw_b, *project_w, *project_b;
} mnet_invres;

/* Fills tile_rows for a cache budget; geometry fields must be set. */
void mnet_invres_plan_tiles(mnet_invres *b);

/* Floats of scratch one thread needs. */
size_t mnet_invres_scratch_floats(const mnet_invres *b);

/* Computes output rows [row_begin, row_end): out = project(dw(expand(in)))
 * (+ residual when residual is not NULL). Each output value is computed
 * exactly as the unfused kernels compute it, whatever the row range. */
void mnet_invres_rows(const mnet_kernels *k, const mnet_invres *b, const float *in,
                      const float *residual, float *out, int row_begin, int row_end,
                      float *scratch);

#endif
