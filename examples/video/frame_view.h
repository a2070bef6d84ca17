/* Decoded frames as mnet images: YUV 4:2:0 frames (I420, NV12, NV21) are
 * viewed in place with their own strides, matrix and range; any other
 * layout is first converted to I420 with libswscale. */
#ifndef VIDEO_FRAME_VIEW_H
#define VIDEO_FRAME_VIEW_H

#include <libavutil/frame.h>

#include "mnet.h"

typedef struct frame_converter {
    struct SwsContext *scaler;
    AVFrame *converted;
} frame_converter;

/* The mnet pixel format of an FFmpeg pixel format mnet reads directly, or 0. */
mnet_pixel_format frame_mnet_format(int av_pixel_format);

/* Returns the frame to run mnet on and to draw into: `decoded` itself or a
 * converted copy owned by the converter. NULL on error (printed). */
AVFrame *frame_converter_usable(frame_converter *converter, AVFrame *decoded);

/* The matrix and range of a usable frame, as mnet_preprocess wants them. */
void frame_yuv_encoding(const AVFrame *frame, mnet_yuv_matrix *matrix, mnet_yuv_range *range);

/* A view of a usable frame's planes (no copy). */
mnet_image frame_image(const AVFrame *frame);

void frame_converter_free(frame_converter *converter);

#endif
