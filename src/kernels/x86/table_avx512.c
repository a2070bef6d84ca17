/* The AVX-512 kernel table. */
#include "kernels/x86/x86_kernels.h"

const mnet_kernels mnet_kernels_avx512 = {
    .isa = "avx512",
    .conv2d_packed_size = mnet_f32_conv2d_packed_size__avx512,
    .conv2d_pack = mnet_f32_conv2d_pack__avx512,
    .conv2d = mnet_f32_conv2d__avx512,
    .depthwise_packed_size = mnet_f32_depthwise_packed_size__avx512,
    .depthwise_pack = mnet_f32_depthwise_pack__avx512,
    .depthwise = mnet_f32_depthwise__avx512,
    .pointwise_packed_size = mnet_f32_pointwise_packed_size__avx512,
    .pointwise_pack = mnet_f32_pointwise_pack__avx512,
    .pointwise = mnet_f32_pointwise__avx512,
    .global_avgpool = mnet_f32_global_avgpool__avx512,
    .mask_row = mnet_f32_mask_row__avx512,
};
