/* The pictures -o writes for people: detections drawn on the image, and a
 * segmentation mask blended over it. */
#ifndef MNET_TOOLS_ANNOTATE_H
#define MNET_TOOLS_ANNOTATE_H

#include <stdint.h>

#include "draw.h"
#include "mnet.h"

/* Text scale (font pixel size) that stays readable at the picture's size. */
int annotate_text_scale(int width, int height);

/* Boxes in a per-class colour, each with a "label 0.87" tag in the same
 * colour; the best detections are drawn last, on top. */
void annotate_detections(canvas *cv, const mnet_detection *detections, int count);

typedef struct segment_class_summary {
    int index;
    const char *label;
    long long pixels;
} segment_class_summary;

/* Blends palette colours of the classes other than 0 (background) over the
 * picture, traces the class boundaries in white and lists the classes
 * present with their colours and share of the picture in a legend. */
void annotate_segmentation(canvas *cv, const uint8_t *mask, const unsigned char *palette,
                           const segment_class_summary *classes, int num_classes);

#endif
