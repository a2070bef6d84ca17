/* A 5x7 pixel bitmap font for short labels drawn into video frames. */
#ifndef VIDEO_FONT5X7_H
#define VIDEO_FONT5X7_H

#include <stdint.h>

enum { FONT_GLYPH_WIDTH = 5, FONT_GLYPH_HEIGHT = 7, FONT_ADVANCE = 6 };

/* Seven rows of the glyph for c, top first; bit 4 of a row is the leftmost
 * column. Lower case is drawn as upper case; characters the font lacks are
 * drawn as '?'. */
const uint8_t *font_glyph(char c);

#endif
