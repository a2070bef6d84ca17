/* Fast uint8 kernels, chosen once per model from the CPU's features. Each
 * gives exactly the bits of its reference twin in q8_ref.h; a NULL entry
 * means the reference kernel runs on the raw weights. Weights are packed at
 * load (pack_bytes / pack), with the zero-point corrections the kernel needs
 * folded into a packed int32 bias. */
#ifndef MNET_INT8_Q8_KERNELS_H
#define MNET_INT8_Q8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "int8/q8_ref.h"

typedef struct mnet_q8_kernels {
    const char *isa;

    /* 1x1 convolution over pixels [pixel_begin, pixel_end). */
    size_t (*pointwise_pack_bytes)(int in_c, int out_c);
    void (*pointwise_pack)(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *w_oi,
                           const int32_t *bias, void *packed, int32_t *packed_bias);
    void (*pointwise)(int in_c, int out_c, const mnet_q8_conv_params *p, const uint8_t *in,
                      const void *packed, const int32_t *packed_bias, uint8_t *out,
                      int pixel_begin, int pixel_end);

    /* Depthwise convolution (any kernel, stride, dilation) over output rows. */
    size_t (*depthwise_pack_bytes)(const mnet_conv_geometry *g);
    void (*depthwise_pack)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                           const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                           int32_t *packed_bias);
    void (*depthwise)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                      const uint8_t *in, const void *packed, const int32_t *packed_bias,
                      uint8_t *out, int row_begin, int row_end);

    /* Optional (NULL: such convolutions run as a 1x1 over gathered
     * patches): the network stem, a dense convolution whose shape
     * stem_pack_bytes accepts (nonzero size; e.g. 3x3 over 3 channels),
     * over output rows. Weights OHWI; packed_bias holds out_c + 64. */
    size_t (*stem_pack_bytes)(const mnet_conv_geometry *g);
    void (*stem_pack)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p,
                      const uint8_t *w_ohwi, const int32_t *bias, void *packed,
                      int32_t *packed_bias);
    void (*stem)(const mnet_conv_geometry *g, const mnet_q8_conv_params *p, const uint8_t *in,
                 const void *packed, const int32_t *packed_bias, uint8_t *out, int row_begin,
                 int row_end);

    /* Elementwise residual ADD (as mnet_q8_ref_add). */
    void (*add)(const mnet_q8_add_params *p, const uint8_t *a, const uint8_t *b, uint8_t *out,
                size_t count);

    /* float -> uint8 as TFLite's QUANTIZE: round(x / scale) (halves away
     * from zero) + zero_point, clamped to 0..255 (NaN -> 0). */
    void (*quantize)(const float *in, size_t count, float scale, int32_t zero_point,
                     uint8_t *out);

    /* Optional (NULL: mnet_q8_ref_channel_sums): per-channel sums of the
     * global pools (AVERAGE_POOL_2D, MEAN). */
    mnet_q8_channel_sums_fn channel_sums;
} mnet_q8_kernels;

/* The reference twins of add / quantize (NULL table entries mean these). */
void mnet_q8_ref_quantize(const float *in, size_t count, float scale, int32_t zero_point,
                          uint8_t *out);

/* Whether x * (1 / scale) rounds like x / scale for every x: 1 / scale is
 * exact (scale a power of two) and a normal number, so both are the same
 * real number rounded once. The fast QUANTIZE kernels then multiply. */
int mnet_q8_scale_is_power_of_two(float scale);

extern const mnet_q8_kernels mnet_q8_kernels_ref;

/* NULL or "" = best for this CPU; "ref" = reference only; an x86 name
 * ("avx512", "avx2") = the best uint8 kernels that ISA level allows:
 * avx512 -> AVX-512 VNNI when the CPU has it (else as avx2), avx2 ->
 * AVX-VNNI when present, else plain AVX2. Unknown name: NULL. */
const mnet_q8_kernels *mnet_q8_kernels_select(const char *isa);

/* Every table this CPU can run, best first, the reference last (tests). */
int mnet_q8_kernels_available(const mnet_q8_kernels **out, int max);

#endif
