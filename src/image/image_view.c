/* The small public constructors for image views and preprocessing options. */
#include <string.h>

#include "mnet.h"

mnet_image mnet_image_packed(mnet_pixel_format format, const void *data, int width,
                             int height, size_t stride) {
    mnet_image image;
    memset(&image, 0, sizeof image);
    image.format = format;
    image.width = width;
    image.height = height;
    image.planes[0] = data;
    image.strides[0] = stride;
    return image;
}

/* Model defaults for fit and crop; whole image, upright; letterbox pads
 * black; camera YUV is assumed BT.601 limited range, the common default of
 * phone camera frames and of OpenCV's YUV420 conversions. */
void mnet_preprocess_init(mnet_preprocess *preprocess) {
    if (!preprocess) return;
    memset(preprocess, 0, sizeof *preprocess);
    preprocess->fit = MNET_FIT_MODEL_DEFAULT;
    preprocess->crop_fraction = 0.0f;
    preprocess->rotation = 0;
    preprocess->mirror = 0;
    preprocess->yuv_matrix = MNET_YUV_BT601;
    preprocess->yuv_range = MNET_YUV_LIMITED;
    for (int c = 0; c < 3; c++) preprocess->fill[c] = -1.0f; /* the model's own */
}
