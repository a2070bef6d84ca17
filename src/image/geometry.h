/* The geometric half of preprocessing: region of interest, rotation,
 * mirror and fit, composed into one affine map from network pixels to
 * pixels of the caller's original image. */
#ifndef MNET_IMAGE_GEOMETRY_H
#define MNET_IMAGE_GEOMETRY_H

#include "core/error.h"
#include "image/preprocess.h"

typedef struct mnet_image_geometry {
    mnet_rect roi;              /* resolved: never empty, inside the image */
    mnet_image_transform transform;
    /* Network pixels covered by image content (letterbox leaves borders):
     * [left, right) x [top, bottom), integers. */
    int content_left, content_top, content_right, content_bottom;
} mnet_image_geometry;

/* Validates the ROI, rotation, fit and crop fraction (already resolved from
 * the model defaults: fit is never MNET_FIT_MODEL_DEFAULT and crop_fraction
 * is the one to use) for an image of image_width x image_height and a
 * network input of net_width x net_height, and composes the transform. */
mnet_status mnet_image_geometry_compute(int image_width, int image_height, mnet_rect roi,
                                        int rotation, int mirror, mnet_fit fit,
                                        float crop_fraction, int net_width, int net_height,
                                        mnet_image_geometry *geometry, mnet_error *error);

#endif
