/* Drawing on packed 8-bit RGB pictures: rectangles, outlines, blending and
 * text in the built-in bitmap font. Everything is clipped to the picture. */
#ifndef MNET_TOOLS_DRAW_H
#define MNET_TOOLS_DRAW_H

typedef struct canvas {
    unsigned char *rgb; /* width * height * 3 bytes, rows packed */
    int width, height;
} canvas;

typedef struct color {
    unsigned char r, g, b;
} color;

/* Fills x0 <= x < x1, y0 <= y < y1 with c blended at opacity alpha (0..1;
 * 1 paints over). */
void draw_fill(canvas *cv, int x0, int y0, int x1, int y1, color c, float alpha);

/* A rectangle outline whose inner edge is (x0, y0)-(x1, y1) inclusive,
 * thickness pixels wide, growing inwards. */
void draw_outline(canvas *cv, int x0, int y0, int x1, int y1, int thickness, color c);

/* Text with its top-left corner at (x, y), each font pixel drawn as a
 * scale x scale block. */
void draw_text(canvas *cv, int x, int y, const char *text, int scale, color c);

/* Width and height in pixels of text drawn at scale (one line). */
int draw_text_width(const char *text, int scale);
int draw_text_height(int scale);

/* Black or white, whichever reads better on background. */
color draw_contrast_color(color background);

#endif
