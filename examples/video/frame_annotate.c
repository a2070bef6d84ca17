#include "frame_annotate.h"

#include <stdio.h>

/* Colours far apart for nearby indices: the bits of the index are spread
 * over the high bits of R, G and B (the scheme of the Pascal VOC palette,
 * so segmentation classes get their familiar colours). */
static void class_rgb(int index, int rgb[3]) {
    rgb[0] = rgb[1] = rgb[2] = 0;
    for (int shift = 7; shift >= 0 && index; shift--, index >>= 3)
        for (int channel = 0; channel < 3; channel++)
            rgb[channel] |= ((index >> channel) & 1) << shift;
}

static yuv_color class_color(const yuv_canvas *canvas, int index) {
    int rgb[3];
    class_rgb(index, rgb);
    return yuv_canvas_color(canvas, rgb[0], rgb[1], rgb[2]);
}

/* Font pixel size: readable on anything from thumbnails to 4K. */
static int text_scale(const yuv_canvas *canvas) {
    int side = canvas->width < canvas->height ? canvas->width : canvas->height;
    return 1 + side / 360;
}

/* A tag: text on a filled box of `background`, top-left at (x, y). */
static void draw_tag(yuv_canvas *canvas, int x, int y, const char *text, yuv_color background) {
    int scale = text_scale(canvas), pad = scale;
    int width = yuv_text_width(text, scale) + 2 * pad;
    int height = yuv_text_height(scale) + 2 * pad;
    if (x + width > canvas->width) x = canvas->width - width;
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    yuv_fill_rect(canvas, x, y, x + width, y + height, background);
    /* dark text on light tags, light text on dark ones */
    int dark = background.y > 128;
    uint8_t luma = canvas->range == MNET_YUV_LIMITED ? (dark ? 16 : 235) : (dark ? 0 : 255);
    yuv_draw_text(canvas, x + pad, y + pad, scale, text, luma);
}

static int round_to_int(float value) {
    return (int)(value < 0.0f ? value - 0.5f : value + 0.5f);
}

void annotate_detections(yuv_canvas *canvas, const mnet_detection *detections, int count) {
    int thickness = text_scale(canvas) + 1;
    for (int i = count - 1; i >= 0; i--) { /* best drawn last, on top */
        const mnet_detection *d = &detections[i];
        yuv_color color = class_color(canvas, d->class_index + 1);
        int x0 = round_to_int(d->box[0]), y0 = round_to_int(d->box[1]);
        int x1 = round_to_int(d->box[2]), y1 = round_to_int(d->box[3]);
        yuv_outline_rect(canvas, x0, y0, x1, y1, thickness, color);
        char text[80];
        snprintf(text, sizeof text, "%.40s %d%%", d->label[0] ? d->label : "class",
                 round_to_int(d->score * 100.0f));
        int tag_height = yuv_text_height(text_scale(canvas)) + 2 * text_scale(canvas);
        int tag_y = y0 - tag_height >= 0 ? y0 - tag_height : y0;
        draw_tag(canvas, x0, tag_y, text, color);
    }
}

void annotate_top_class(yuv_canvas *canvas, const mnet_class *best) {
    char text[80];
    snprintf(text, sizeof text, "%.60s %.2f", best->label[0] ? best->label : "class",
             (double)best->score);
    draw_tag(canvas, 0, 0, text, yuv_canvas_color(canvas, 0, 0, 0));
}

void annotate_mask(yuv_canvas *canvas, const uint8_t *mask, size_t mask_stride) {
    yuv_color colors[256];
    for (int i = 0; i < 256; i++) colors[i] = class_color(canvas, i);
    /* the class of the top-left pixel of each 2x2 block picks its chroma */
    for (int cy = 0; 2 * cy < canvas->height; cy++)
        for (int cx = 0; 2 * cx < canvas->width; cx++) {
            uint8_t id = mask[(size_t)(2 * cy) * mask_stride + (size_t)(2 * cx)];
            if (id) yuv_tint_chroma_sample(canvas, cx, cy, colors[id], 0.6f);
        }
}
