/* Colours of classes in output pictures. */
#ifndef MNET_TOOLS_PALETTE_H
#define MNET_TOOLS_PALETTE_H

#include "draw.h"

/* The PASCAL VOC colormap: 256 RGB triples, class i's colour built from the
 * bits of i (bits 0, 1, 2 feed red, green, blue, most significant first,
 * three bits of i per round). Class 0 is black, 1 dark red, 15 (person)
 * pinkish, 255 (VOC's "void") cream. */
void voc_colormap(unsigned char palette[256 * 3]);

/* A bright colour for detection class index, well apart from the colours
 * of nearby indices (golden-ratio steps around the hue circle). */
color detection_class_color(int index);

#endif
