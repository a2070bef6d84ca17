/* Clipped drawing primitives on RGB canvases. */
#include "draw.h"

#include <string.h>

#include "bitmap_font.h"

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void draw_fill(canvas *cv, int x0, int y0, int x1, int y1, color c, float alpha) {
    x0 = clamp_int(x0, 0, cv->width);
    x1 = clamp_int(x1, 0, cv->width);
    y0 = clamp_int(y0, 0, cv->height);
    y1 = clamp_int(y1, 0, cv->height);
    if (alpha > 1.0f) alpha = 1.0f;
    if (alpha <= 0.0f) return;
    float keep = 1.0f - alpha;
    for (int y = y0; y < y1; y++) {
        unsigned char *p = cv->rgb + ((size_t)y * (size_t)cv->width + (size_t)x0) * 3;
        for (int x = x0; x < x1; x++, p += 3) {
            p[0] = (unsigned char)(keep * p[0] + alpha * c.r + 0.5f);
            p[1] = (unsigned char)(keep * p[1] + alpha * c.g + 0.5f);
            p[2] = (unsigned char)(keep * p[2] + alpha * c.b + 0.5f);
        }
    }
}

void draw_outline(canvas *cv, int x0, int y0, int x1, int y1, int thickness, color c) {
    if (thickness < 1) thickness = 1;
    draw_fill(cv, x0, y0, x1 + 1, y0 + thickness, c, 1.0f);         /* top */
    draw_fill(cv, x0, y1 + 1 - thickness, x1 + 1, y1 + 1, c, 1.0f); /* bottom */
    draw_fill(cv, x0, y0, x0 + thickness, y1 + 1, c, 1.0f);         /* left */
    draw_fill(cv, x1 + 1 - thickness, y0, x1 + 1, y1 + 1, c, 1.0f); /* right */
}

void draw_text(canvas *cv, int x, int y, const char *text, int scale, color c) {
    if (scale < 1) scale = 1;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        for (int r = 0; r < BITMAP_FONT_HEIGHT; r++) {
            unsigned bits = bitmap_font_row(*s, r);
            for (int col = 0; col < BITMAP_FONT_WIDTH; col++) {
                if (!(bits & (1u << (BITMAP_FONT_WIDTH - 1 - col)))) continue;
                int px = x + col * scale, py = y + r * scale;
                draw_fill(cv, px, py, px + scale, py + scale, c, 1.0f);
            }
        }
        x += BITMAP_FONT_ADVANCE * scale;
    }
}

int draw_text_width(const char *text, int scale) {
    int n = (int)strlen(text);
    /* the spacing column after the last glyph is not part of the text */
    return n ? (n * BITMAP_FONT_ADVANCE - 1) * scale : 0;
}

int draw_text_height(int scale) { return BITMAP_FONT_HEIGHT * scale; }

color draw_contrast_color(color background) {
    /* Rec. 601 luma; light colours get black text. */
    int luma = (299 * background.r + 587 * background.g + 114 * background.b) / 1000;
    color black = {0, 0, 0}, white = {255, 255, 255};
    return luma > 140 ? black : white;
}
