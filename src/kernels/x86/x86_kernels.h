/* The x86 kernel tables and the functions behind them. Every function is
 * compiled for one ISA (file names carry it, and the build gives those
 * files their -m flags): call one only after mnet_kernels_select chose its
 * table, i.e. after the CPU and OS were checked for that ISA.
 *
 * Packed layouts (all zero-padded, any alignment; 64 bytes is best):
 *   pointwise: out_c in blocks of up to 64 (avx512) / 16 (avx2) channels,
 *              each [in_c][block width];
 *   depthwise: [kh*kw][in_c rounded up to 16 / 8];
 *   conv2d:    out_c in blocks of up to 48 / 16 channels, each
 *              [kh][kw][in_c][block width];
 *              groups > 1 keeps OHWI and runs the reference loop. */
#ifndef MNET_X86_KERNELS_H
#define MNET_X86_KERNELS_H

#include "kernels/kernels.h"

extern const mnet_kernels mnet_kernels_avx2;
extern const mnet_kernels mnet_kernels_avx512;

#define MNET_X86_DECLARE_KERNELS(isa)                                                       \
    size_t mnet_f32_conv2d_packed_size__##isa(const mnet_conv_geometry *g);                 \
    void mnet_f32_conv2d_pack__##isa(const mnet_conv_geometry *g, const float *w_ohwi,      \
                                     float *packed);                                        \
    void mnet_f32_conv2d__##isa(const mnet_conv_geometry *g, const float *in,               \
                                const float *packed, const float *bias,                     \
                                mnet_activation act, float *out, int row_begin,             \
                                int row_end);                                               \
    size_t mnet_f32_depthwise_packed_size__##isa(const mnet_conv_geometry *g);              \
    void mnet_f32_depthwise_pack__##isa(const mnet_conv_geometry *g, const float *w_ohwi,   \
                                        float *packed);                                     \
    void mnet_f32_depthwise__##isa(const mnet_conv_geometry *g, const float *in,            \
                                   const float *packed, const float *bias,                  \
                                   mnet_activation act, float *out, int row_begin,          \
                                   int row_end);                                            \
    size_t mnet_f32_pointwise_packed_size__##isa(int in_c, int out_c);                      \
    void mnet_f32_pointwise_pack__##isa(int in_c, int out_c, const float *w_oi,             \
                                        float *packed);                                     \
    void mnet_f32_pointwise__##isa(int in_c, int out_c, const float *in,                    \
                                   const float *packed, const float *bias,                  \
                                   const float *residual, mnet_activation act, float *out,  \
                                   int pixel_begin, int pixel_end);                 \
    void mnet_f32_global_avgpool__##isa(int h, int w, int c, const float *in,               \
                                        float *out);                                        \
    void mnet_f32_mask_row__##isa(const mnet_mask_row *r, unsigned char *out);

MNET_X86_DECLARE_KERNELS(avx2)
MNET_X86_DECLARE_KERNELS(avx512)

#endif
