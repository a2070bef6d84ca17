/* From a caller's image to the network input tensor in one pass: pixel
 * format decode (packed RGB/BGR/RGBA/BGRA/GRAY, planar float, YUV 4:2:0),
 * region of interest, rotation and mirroring, fit (center crop, stretch,
 * letterbox), bilinear resampling (antialiased when shrinking, like PIL's
 * and torchvision's antialiased bilinear), channel order and normalization.
 *
 * The mapping is also returned as an affine transform so that detections
 * and masks can be mapped back into the caller's original image. */
#ifndef MNET_IMAGE_PREPROCESS_H
#define MNET_IMAGE_PREPROCESS_H

#include <stddef.h>

#include "core/error.h"

/* What the network wants; filled from the model config. */
typedef struct mnet_input_spec {
    int width, height;      /* network input size */
    int bgr;                /* channel order of the network input */
    float mean[3], std[3];  /* per network channel, pixel scale 0..255 */
    mnet_fit fit;           /* model default (never MNET_FIT_MODEL_DEFAULT) */
    float crop_fraction;    /* model default for center crop */
    float fill[3];          /* model default letterbox fill, R, G, B, 0..255 */
} mnet_input_spec;

/* Maps network-input pixel coordinates (continuous, pixel centers at +0.5)
 * to coordinates in the caller's original image:
 *   src_x = xx * net_x + xy * net_y + x0
 *   src_y = yx * net_x + yy * net_y + y0
 * (rotation makes the cross terms non-zero). */
typedef struct mnet_image_transform {
    double xx, xy, x0;
    double yx, yy, y0;
    /* The part of the network input covered by image content (letterbox
     * leaves borders), in network pixels: [left, right) x [top, bottom). */
    double content_left, content_top, content_right, content_bottom;
} mnet_image_transform;

/* Floats of scratch memory mnet_image_to_input needs for a network input of
 * this spec (independent of the source image size). */
size_t mnet_image_scratch_floats(const mnet_input_spec *spec);

/* Validates image and preprocess (NULL = defaults) and writes
 * spec->height x spec->width x 3 normalized floats (HWC) to out.
 * transform may be NULL. Errors: MNET_ERR_INVALID_ARGUMENT with a message
 * (NULL planes, non-positive or huge sizes (> 1<<16 per side), strides too
 * small, odd formats, ROI outside the image, bad rotation). */
mnet_status mnet_image_to_input(const mnet_image *image, const mnet_preprocess *preprocess,
                                const mnet_input_spec *spec, float *out, float *scratch,
                                size_t scratch_floats, mnet_image_transform *transform,
                                mnet_error *error);

/* mnet_image_to_input with the given row kernels (image/row_kernels.h)
 * instead of the ones MNET_ISA and the CPU select; for tests and benches. */
struct mnet_image_row_kernels;
mnet_status mnet_image_to_input_with(const struct mnet_image_row_kernels *kernels,
                                     const mnet_image *image, const mnet_preprocess *preprocess,
                                     const mnet_input_spec *spec, float *out, float *scratch,
                                     size_t scratch_floats, mnet_image_transform *transform,
                                     mnet_error *error);

#endif
