/* Drawing mnet's results into the frame they were computed from. */
#ifndef VIDEO_FRAME_ANNOTATE_H
#define VIDEO_FRAME_ANNOTATE_H

#include <stddef.h>
#include <stdint.h>

#include "mnet.h"
#include "yuv_canvas.h"

/* Box outlines in a colour per class, each with a "label 87%" tag. */
void annotate_detections(yuv_canvas *canvas, const mnet_detection *detections, int count);

/* "label 0.87" of the best class in the top-left corner. */
void annotate_top_class(yuv_canvas *canvas, const mnet_class *best);

/* Tints the chroma of every pixel whose class is not 0 (background) with
 * that class's colour; mask is canvas->width x canvas->height class ids. */
void annotate_mask(yuv_canvas *canvas, const uint8_t *mask, size_t mask_stride);

#endif
