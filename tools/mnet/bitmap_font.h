/* A small built-in bitmap font for labels drawn on output pictures:
 * printable ASCII, 5 pixels wide and 8 high (7 above the baseline, 1 for
 * descenders), drawn in cells of BITMAP_FONT_ADVANCE x BITMAP_FONT_LINE. */
#ifndef MNET_TOOLS_BITMAP_FONT_H
#define MNET_TOOLS_BITMAP_FONT_H

#define BITMAP_FONT_WIDTH 5
#define BITMAP_FONT_HEIGHT 8
#define BITMAP_FONT_ADVANCE 6 /* glyph plus one column of spacing */
#define BITMAP_FONT_LINE 9    /* glyph plus one row of spacing */

/* Row r (0 = top) of the glyph of c as 5 bits, bit 4 the leftmost pixel.
 * Characters outside printable ASCII are drawn as '?'. */
unsigned bitmap_font_row(unsigned char c, int r);

#endif
