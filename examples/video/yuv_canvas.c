#include "yuv_canvas.h"

#include <math.h>
#include <string.h>

#include "font5x7.h"

yuv_canvas yuv_canvas_make(mnet_pixel_format format, int width, int height,
                           uint8_t *const planes[3], const size_t strides[3],
                           mnet_yuv_matrix matrix, mnet_yuv_range range) {
    yuv_canvas c;
    memset(&c, 0, sizeof c);
    c.width = width;
    c.height = height;
    c.y = planes[0];
    c.y_stride = strides[0];
    c.chroma_stride = strides[1];
    c.matrix = matrix;
    c.range = range;
    switch (format) {
    case MNET_PIXEL_NV12: c.u = planes[1]; c.v = planes[1] + 1; c.chroma_step = 2; break;
    case MNET_PIXEL_NV21: c.v = planes[1]; c.u = planes[1] + 1; c.chroma_step = 2; break;
    case MNET_PIXEL_YV12: c.v = planes[1]; c.u = planes[2]; c.chroma_step = 1; break;
    default: c.u = planes[1]; c.v = planes[2]; c.chroma_step = 1; break;
    }
    return c;
}

static uint8_t to_byte(double value) {
    if (value < 0.0) return 0;
    if (value > 255.0) return 255;
    return (uint8_t)lrint(value);
}

/* The inverse of the decoding mnet applies (src/image/pixel_source.c). */
yuv_color yuv_canvas_color(const yuv_canvas *canvas, int r, int g, int b) {
    double kr = canvas->matrix == MNET_YUV_BT709 ? 0.2126 : 0.299;
    double kb = canvas->matrix == MNET_YUV_BT709 ? 0.0722 : 0.114;
    double luma = kr * r + (1.0 - kr - kb) * g + kb * b;
    double cb = (b - luma) / (2.0 * (1.0 - kb));
    double cr = (r - luma) / (2.0 * (1.0 - kr));
    yuv_color color;
    if (canvas->range == MNET_YUV_LIMITED) {
        color.y = to_byte(16.0 + luma * 219.0 / 255.0);
        color.u = to_byte(128.0 + cb * 224.0 / 255.0);
        color.v = to_byte(128.0 + cr * 224.0 / 255.0);
    } else {
        color.y = to_byte(luma);
        color.u = to_byte(128.0 + cb);
        color.v = to_byte(128.0 + cr);
    }
    return color;
}

static int clamp_int(int value, int low, int high) {
    return value < low ? low : value > high ? high : value;
}

/* Clips the box to the frame; 0 if nothing is left. */
static int clip_box(const yuv_canvas *canvas, int *x0, int *y0, int *x1, int *y1) {
    *x0 = clamp_int(*x0, 0, canvas->width);
    *x1 = clamp_int(*x1, 0, canvas->width);
    *y0 = clamp_int(*y0, 0, canvas->height);
    *y1 = clamp_int(*y1, 0, canvas->height);
    return *x0 < *x1 && *y0 < *y1;
}

static void fill_luma(yuv_canvas *canvas, int x0, int y0, int x1, int y1, uint8_t luma) {
    for (int row = y0; row < y1; row++)
        memset(canvas->y + (size_t)row * canvas->y_stride + x0, luma, (size_t)(x1 - x0));
}

void yuv_fill_rect(yuv_canvas *canvas, int x0, int y0, int x1, int y1, yuv_color color) {
    if (!clip_box(canvas, &x0, &y0, &x1, &y1)) return;
    fill_luma(canvas, x0, y0, x1, y1, color.y);
    /* every chroma sample the rectangle touches */
    for (int cy = y0 / 2; cy <= (y1 - 1) / 2; cy++) {
        size_t line = (size_t)cy * canvas->chroma_stride;
        for (int cx = x0 / 2; cx <= (x1 - 1) / 2; cx++) {
            size_t at = line + (size_t)cx * (size_t)canvas->chroma_step;
            canvas->u[at] = color.u;
            canvas->v[at] = color.v;
        }
    }
}

void yuv_outline_rect(yuv_canvas *canvas, int x0, int y0, int x1, int y1,
                      int thickness, yuv_color color) {
    if (x0 >= x1 || y0 >= y1 || thickness <= 0) return;
    int t = thickness;
    yuv_fill_rect(canvas, x0, y0, x1, y0 + t, color);
    yuv_fill_rect(canvas, x0, y1 - t, x1, y1, color);
    yuv_fill_rect(canvas, x0, y0, x0 + t, y1, color);
    yuv_fill_rect(canvas, x1 - t, y0, x1, y1, color);
}

int yuv_text_width(const char *text, int scale) {
    size_t n = strlen(text);
    return n ? (int)n * FONT_ADVANCE * scale - scale : 0;
}

int yuv_text_height(int scale) {
    return FONT_GLYPH_HEIGHT * scale;
}

void yuv_draw_text(yuv_canvas *canvas, int x, int y, int scale, const char *text,
                   uint8_t luma) {
    for (const char *c = text; *c; c++, x += FONT_ADVANCE * scale) {
        const uint8_t *rows = font_glyph(*c);
        for (int gy = 0; gy < FONT_GLYPH_HEIGHT; gy++)
            for (int gx = 0; gx < FONT_GLYPH_WIDTH; gx++)
                if (rows[gy] & (0x10 >> gx)) {
                    int x0 = x + gx * scale, y0 = y + gy * scale;
                    int x1 = x0 + scale, y1 = y0 + scale;
                    if (clip_box(canvas, &x0, &y0, &x1, &y1))
                        fill_luma(canvas, x0, y0, x1, y1, luma);
                }
    }
}

void yuv_tint_chroma_sample(yuv_canvas *canvas, int cx, int cy, yuv_color color,
                            float amount) {
    size_t at = (size_t)cy * canvas->chroma_stride + (size_t)cx * (size_t)canvas->chroma_step;
    float keep = 1.0f - amount;
    canvas->u[at] = (uint8_t)lrintf(keep * (float)canvas->u[at] + amount * (float)color.u);
    canvas->v[at] = (uint8_t)lrintf(keep * (float)canvas->v[at] + amount * (float)color.v);
}
