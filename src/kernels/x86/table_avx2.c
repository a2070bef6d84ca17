/* The AVX2 kernel table. */
#include "kernels/x86/x86_kernels.h"

const mnet_kernels mnet_kernels_avx2 = {
    .isa = "avx2",
    .conv2d_packed_size = mnet_f32_conv2d_packed_size__avx2,
    .conv2d_pack = mnet_f32_conv2d_pack__avx2,
    .conv2d = mnet_f32_conv2d__avx2,
    .depthwise_packed_size = mnet_f32_depthwise_packed_size__avx2,
    .depthwise_pack = mnet_f32_depthwise_pack__avx2,
    .depthwise = mnet_f32_depthwise__avx2,
    .pointwise_packed_size = mnet_f32_pointwise_packed_size__avx2,
    .pointwise_pack = mnet_f32_pointwise_pack__avx2,
    .pointwise = mnet_f32_pointwise__avx2,
    .global_avgpool = mnet_f32_global_avgpool__avx2,
    .mask_row = mnet_f32_mask_row__avx2,
};
