/* The reference kernel table: weights stay in their model layout (OHWI,
 * and [out_c][in_c] for 1x1) and the compute entries are the ref kernels. */
#include <string.h>

#include "kernels/kernels.h"

static size_t ref_conv2d_packed_size(const mnet_conv_geometry *g) {
    return (size_t)g->out_c * g->kernel_h * g->kernel_w * (size_t)(g->in_c / g->groups);
}

static void ref_conv2d_pack(const mnet_conv_geometry *g, const float *w_ohwi, float *packed) {
    memcpy(packed, w_ohwi, ref_conv2d_packed_size(g) * sizeof(float));
}

static size_t ref_pointwise_packed_size(int in_c, int out_c) {
    return (size_t)in_c * (size_t)out_c;
}

static void ref_pointwise_pack(int in_c, int out_c, const float *w_oi, float *packed) {
    memcpy(packed, w_oi, ref_pointwise_packed_size(in_c, out_c) * sizeof(float));
}

/* Depthwise is the groups == channels case of the general convolution, so
 * it shares its entries. */
const mnet_kernels mnet_kernels_ref = {
    .isa = "ref",
    .conv2d_packed_size = ref_conv2d_packed_size,
    .conv2d_pack = ref_conv2d_pack,
    .conv2d = mnet_ref_conv2d_rows_f32,
    .depthwise_packed_size = ref_conv2d_packed_size,
    .depthwise_pack = ref_conv2d_pack,
    .depthwise = mnet_ref_conv2d_rows_f32,
    .pointwise_packed_size = ref_pointwise_packed_size,
    .pointwise_pack = ref_pointwise_pack,
    .pointwise = mnet_ref_pointwise_f32,
    .global_avgpool = mnet_ref_global_avgpool_f32,
    .mask_row = mnet_ref_mask_row_f32,
};
