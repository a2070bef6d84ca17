/* The kernel table: one struct of function pointers per ISA, chosen once
 * (mnet_kernels_select) from the CPU's features or a forced name. Nothing
 * else in the library asks about the CPU.
 *
 * Weight-consuming kernels come with a pack step run once at model load:
 * the plan stores weights in whatever layout the chosen table wants, and
 * `packed_size` tells how many floats that takes. The ref table "packs" by
 * copying the OHWI weights unchanged.
 *
 * Row ranges let the executor split one layer across threads: a kernel
 * writes output rows [row_begin, row_end) only, and the result of a row
 * never depends on how rows were split (bit-identical for any thread
 * count). */
#ifndef MNET_KERNELS_H
#define MNET_KERNELS_H

#include <stddef.h>

#include "kernels/ref/ref_kernels.h"

typedef struct mnet_kernels {
    const char *isa; /* "ref", "avx2", "avx512" */

    /* Generic convolution (stem, odd shapes): OHWI weights, packed by
     * conv2d_pack into conv2d_packed_size(g) floats. */
    size_t (*conv2d_packed_size)(const mnet_conv_geometry *g);
    void (*conv2d_pack)(const mnet_conv_geometry *g, const float *w_ohwi, float *packed);
    void (*conv2d)(const mnet_conv_geometry *g, const float *in, const float *packed,
                   const float *bias, mnet_activation act, float *out, int row_begin,
                   int row_end);

    /* Depthwise (groups == in_c == out_c, any kernel/stride/dilation). */
    size_t (*depthwise_packed_size)(const mnet_conv_geometry *g);
    void (*depthwise_pack)(const mnet_conv_geometry *g, const float *w_ohwi, float *packed);
    void (*depthwise)(const mnet_conv_geometry *g, const float *in, const float *packed,
                      const float *bias, mnet_activation act, float *out, int row_begin,
                      int row_end);

    /* 1x1 stride-1 convolution = [pixels x in_c] * [in_c x out_c]. Rows are
     * pixels here. residual (may be NULL) is added after bias, before act,
     * with the output's layout: out = act(in*W + bias + residual). */
    size_t (*pointwise_packed_size)(int in_c, int out_c);
    void (*pointwise_pack)(int in_c, int out_c, const float *w_oi, float *packed);
    void (*pointwise)(int in_c, int out_c, const float *in, const float *packed,
                      const float *bias, const float *residual, mnet_activation act,
                      float *out, int pixel_begin, int pixel_end);

    /* Mean over H and W of an h x w x c tensor: out[c]. Every table gives
     * the reference's bits (per channel, pixels summed in order, one
     * division). */
    void (*global_avgpool)(int h, int w, int c, const float *in, float *out);

    /* One row of a segmentation mask from low-resolution logits (see
     * mnet_mask_row); every table gives the reference's bits. */
    void (*mask_row)(const mnet_mask_row *r, unsigned char *out);
} mnet_kernels;

/* name NULL or "" = best for this CPU (respecting MNET_ISA when set by the
 * caller). Returns NULL if the named ISA is unknown or the CPU lacks it. */
const mnet_kernels *mnet_kernels_select(const char *name);

/* Comma-separated list of ISAs this CPU can run, e.g. "ref,avx2,avx512". */
const char *mnet_kernels_available(void);

extern const mnet_kernels mnet_kernels_ref;

#endif
