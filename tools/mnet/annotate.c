/* Drawing detections and segmentation overlays. */
#include "annotate.h"

#include <math.h>
#include <stdio.h>

#include "palette.h"

int annotate_text_scale(int width, int height) {
    int side = width < height ? width : height;
    return 1 + side / 400;
}

static int box_thickness(int width, int height) {
    int side = width < height ? width : height;
    int t = side / 160;
    return t < 2 ? 2 : t;
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The box as inclusive pixel bounds inside the canvas. */
static void box_pixels(const canvas *cv, const float *box, int *x0, int *y0, int *x1, int *y1) {
    *x0 = clamp_int((int)floorf(box[0]), 0, cv->width - 1);
    *y0 = clamp_int((int)floorf(box[1]), 0, cv->height - 1);
    *x1 = clamp_int((int)ceilf(box[2]) - 1, *x0, cv->width - 1);
    *y1 = clamp_int((int)ceilf(box[3]) - 1, *y0, cv->height - 1);
}

static void draw_tag(canvas *cv, const mnet_detection *d, int scale, int thickness) {
    char text[96];
    if (d->label && d->label[0])
        snprintf(text, sizeof text, "%.80s %.2f", d->label, (double)d->score);
    else
        snprintf(text, sizeof text, "class %d %.2f", d->class_index, (double)d->score);
    int x0, y0, x1, y1;
    box_pixels(cv, d->box, &x0, &y0, &x1, &y1);
    int pad = scale + 1;
    int tag_w = draw_text_width(text, scale) + 2 * pad;
    int tag_h = draw_text_height(scale) + 2 * pad;
    /* above the box when there is room, else just inside its top edge */
    int ty = y0 - tag_h >= 0 ? y0 - tag_h : y0 + thickness;
    int tx = x0;
    if (tx + tag_w > cv->width) tx = cv->width - tag_w;
    if (tx < 0) tx = 0;
    color c = detection_class_color(d->class_index);
    draw_fill(cv, tx, ty, tx + tag_w, ty + tag_h, c, 1.0f);
    draw_text(cv, tx + pad, ty + pad, text, scale, draw_contrast_color(c));
}

void annotate_detections(canvas *cv, const mnet_detection *detections, int count) {
    if (cv->width <= 0 || cv->height <= 0) return;
    int scale = annotate_text_scale(cv->width, cv->height);
    int thickness = box_thickness(cv->width, cv->height);
    color shadow = {0, 0, 0};
    /* Boxes first, then every tag, so that no box line crosses a tag. */
    for (int i = count - 1; i >= 0; i--) {
        int x0, y0, x1, y1;
        box_pixels(cv, detections[i].box, &x0, &y0, &x1, &y1);
        /* a thin dark rim keeps pale boxes visible on pale backgrounds */
        draw_outline(cv, x0 - 1, y0 - 1, x1 + 1, y1 + 1, thickness + 2, shadow);
        draw_outline(cv, x0, y0, x1, y1, thickness, detection_class_color(detections[i].class_index));
    }
    for (int i = count - 1; i >= 0; i--) draw_tag(cv, &detections[i], scale, thickness);
}

static void blend_classes(canvas *cv, const uint8_t *mask, const unsigned char *palette) {
    const float alpha = 0.55f;
    size_t pixels = (size_t)cv->width * (size_t)cv->height;
    for (size_t i = 0; i < pixels; i++) {
        if (mask[i] == 0) continue;
        const unsigned char *c = palette + 3 * (size_t)mask[i];
        unsigned char *p = cv->rgb + 3 * i;
        for (int k = 0; k < 3; k++) p[k] = (unsigned char)((1 - alpha) * p[k] + alpha * c[k] + 0.5f);
    }
}

static void trace_boundaries(canvas *cv, const uint8_t *mask) {
    int w = cv->width, h = cv->height;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            uint8_t k = row[x];
            int edge = (x > 0 && row[x - 1] != k) || (x + 1 < w && row[x + 1] != k) ||
                       (y > 0 && row[x - w] != k) || (y + 1 < h && row[x + w] != k);
            if (!edge) continue;
            unsigned char *p = cv->rgb + 3 * ((size_t)y * (size_t)w + (size_t)x);
            p[0] = p[1] = p[2] = 255;
        }
    }
}

static void draw_legend(canvas *cv, const unsigned char *palette,
                        const segment_class_summary *classes, int num_classes) {
    int scale = annotate_text_scale(cv->width, cv->height);
    int line = draw_text_height(scale) + 3 * scale + 2;
    int swatch = draw_text_height(scale);
    int pad = 2 * scale + 2;
    double total = (double)cv->width * (double)cv->height;
    /* only the rows that fit on the picture */
    int fit = (cv->height - 2 * pad + (line - swatch)) / line;
    if (num_classes > fit) num_classes = fit;
    if (num_classes > 256) num_classes = 256;
    if (num_classes <= 0) return;
    char text[256][112];
    int width = 0;
    for (int i = 0; i < num_classes; i++) {
        const char *label = classes[i].label && classes[i].label[0] ? classes[i].label : "class";
        int percent = (int)(100.0 * (double)classes[i].pixels / total + 0.5);
        if (percent == 0)
            snprintf(text[i], sizeof text[i], "%.80s <1%%", label);
        else
            snprintf(text[i], sizeof text[i], "%.80s %d%%", label, percent);
        int w = draw_text_width(text[i], scale);
        if (w > width) width = w;
    }
    int panel_w = pad * 2 + swatch + 2 * scale + width;
    int panel_h = pad * 2 + line * num_classes - (line - swatch);
    color dark = {0, 0, 0}, white = {255, 255, 255};
    draw_fill(cv, 0, 0, panel_w, panel_h, dark, 0.6f);
    for (int i = 0; i < num_classes; i++) {
        int y = pad + i * line;
        const unsigned char *p = palette + 3 * (size_t)classes[i].index;
        color c = {p[0], p[1], p[2]};
        draw_fill(cv, pad - 1, y - 1, pad + swatch + 1, y + swatch + 1, white, 1.0f);
        draw_fill(cv, pad, y, pad + swatch, y + swatch, c, 1.0f);
        draw_text(cv, pad + swatch + 2 * scale, y, text[i], scale, white);
    }
}

void annotate_segmentation(canvas *cv, const uint8_t *mask, const unsigned char *palette,
                           const segment_class_summary *classes, int num_classes) {
    if (cv->width <= 0 || cv->height <= 0) return;
    blend_classes(cv, mask, palette);
    trace_boundaries(cv, mask);
    if (num_classes > 0) draw_legend(cv, palette, classes, num_classes);
}
