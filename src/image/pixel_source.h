/* A validated caller image, read one source row at a time as RGB floats on
 * the 0..255 scale, whatever its pixel format. */
#ifndef MNET_IMAGE_PIXEL_SOURCE_H
#define MNET_IMAGE_PIXEL_SOURCE_H

#include <stddef.h>

#include "core/error.h"

/* The largest image side accepted, in pixels. */
#define MNET_IMAGE_MAX_SIDE 65536

typedef struct mnet_pixel_source {
    mnet_pixel_format format;
    int width, height;
    const unsigned char *planes[3];
    size_t strides[3];
    /* Packed 8-bit formats: bytes per pixel and where R, G, B sit. */
    int bytes_per_pixel, r_offset, g_offset, b_offset;
    /* YUV 4:2:0: chroma planes (NV12/NV21 interleave them, step 2). */
    const unsigned char *u_plane, *v_plane;
    size_t chroma_stride;
    int chroma_step, chroma_width, chroma_height;
    /* R = luma + rv*V', G = luma + gu*U' + gv*V', B = luma + bu*U' with
     * luma = (Y - y_offset) * y_scale and U' = U - 128, V' = V - 128. */
    float y_offset, y_scale, rv, gu, gv, bu;
} mnet_pixel_source;

/* Checks the image (format, sizes, planes, strides, alignment) and prepares
 * reading it; the YUV matrix and range only matter for YUV formats. */
mnet_status mnet_pixel_source_init(mnet_pixel_source *src, const mnet_image *image,
                                   mnet_yuv_matrix matrix, mnet_yuv_range range,
                                   mnet_error *error);

/* Horizontal resampling taps of one output pixel, four floats each:
 * first source column, number of columns, (filter centre - first column)
 * and 1 / (sum of the weights). The weight of column first + t is
 * max(0, 1 - |t + 0.5 - centre_offset| * inv_filter_scale) * norm. */
enum { MNET_TAP_FLOATS = 4 };

/* acc[3k..3k+2] += weight * (source row `row` filtered with taps[k]) for
 * k in [0, count). */
void mnet_pixel_source_accumulate_row(const mnet_pixel_source *src, int row,
                                      const float *taps, int count,
                                      float inv_filter_scale, float weight,
                                      float *acc);

#endif
