/* Drawing into a YUV 4:2:0 frame in place: one luma plane and two chroma
 * sample grids at half resolution, either planar (I420/YV12) or interleaved
 * (NV12/NV21). Every primitive clips to the frame. */
#ifndef VIDEO_YUV_CANVAS_H
#define VIDEO_YUV_CANVAS_H

#include <stddef.h>
#include <stdint.h>

#include "mnet.h"

typedef struct yuv_canvas {
    int width, height;
    uint8_t *y;
    size_t y_stride;
    uint8_t *u, *v;       /* first chroma sample of each component */
    size_t chroma_stride;
    int chroma_step;      /* bytes between horizontally adjacent samples */
    mnet_yuv_matrix matrix;
    mnet_yuv_range range;
} yuv_canvas;

typedef struct yuv_color {
    uint8_t y, u, v;
} yuv_color;

/* planes/strides as in mnet_image; format one of the four YUV 4:2:0 ones. */
yuv_canvas yuv_canvas_make(mnet_pixel_format format, int width, int height,
                           uint8_t *const planes[3], const size_t strides[3],
                           mnet_yuv_matrix matrix, mnet_yuv_range range);

/* An sRGB colour (0..255) in the canvas's matrix and range. */
yuv_color yuv_canvas_color(const yuv_canvas *canvas, int r, int g, int b);

void yuv_fill_rect(yuv_canvas *canvas, int x0, int y0, int x1, int y1, yuv_color color);

/* Outline of the box [x0, x1) x [y0, y1), `thickness` pixels inside it. */
void yuv_outline_rect(yuv_canvas *canvas, int x0, int y0, int x1, int y1,
                      int thickness, yuv_color color);

/* Text with the 5x7 font, each font pixel `scale` x `scale` frame pixels,
 * top-left corner at (x, y). Only the luma of the glyph pixels is written:
 * chroma is shared by 2x2 pixels, so text thinner than that would smear the
 * colour of whatever lies under it; draw a background box first. */
void yuv_draw_text(yuv_canvas *canvas, int x, int y, int scale, const char *text,
                   uint8_t luma);

/* Frame pixels the text takes: width and height. */
int yuv_text_width(const char *text, int scale);
int yuv_text_height(int scale);

/* Moves the chroma sample at chroma coordinates (cx, cy) towards color by
 * `amount` in 0..1, leaving luma (the picture's detail) untouched. */
void yuv_tint_chroma_sample(yuv_canvas *canvas, int cx, int cy, yuv_color color,
                            float amount);

#endif
