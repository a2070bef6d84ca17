/* AVX-512 VNNI stem convolution (q8_vnni_stem.c): a dense 3x3 convolution
 * with 3 input channels, stride 1 or 2, 1 to 32 output channels, any
 * padding; bit-identical to mnet_q8_ref_conv. */
#ifndef MNET_INT8_Q8_VNNI_STEM_H
#define MNET_INT8_Q8_VNNI_STEM_H

#include <stddef.h>
#include <stdint.h>

#include "int8/q8_ref.h"

/* Bytes of the packed weights, or 0 if this kernel does not cover g. */
size_t mnet_q8_vnni_stem_pack_bytes(const mnet_conv_geometry *g);

/* Packs OHWI weights and the bias (packed_bias: 32 int32 at least) for a
 * shape with a nonzero pack size. */
void mnet_q8_vnni_stem_pack(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                            const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                            int32_t *packed_bias);

/* Output rows [row_begin, row_end). */
void mnet_q8_vnni_stem_run(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                           const uint8_t *in, const void *packed, const int32_t *packed_bias,
                           uint8_t *out, int row_begin, int row_end);

/* Turns the direct pixels' VBMI kernel (q8_vnni_stem_wide.c) of a packed
 * stem on or off (on only where the pack allowed it: 32 channels, per-tensor
 * requantization, w - zw in int8 or one spare tap, a CPU with VBMI), and
 * its float requantization (where the pack found one); returns 0 (off),
 * 1 (on, integer requantization) or 2 (on, float). For tests, which check
 * every route. */
int mnet_q8_vnni_stem_set_wide(void *packed, int on, int float_route);

#endif
