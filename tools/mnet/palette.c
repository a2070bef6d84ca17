/* The VOC colormap and detection colours. */
#include "palette.h"

#include <math.h>

void voc_colormap(unsigned char palette[256 * 3]) {
    for (int i = 0; i < 256; i++) {
        int r = 0, g = 0, b = 0, bits = i;
        for (int shift = 7; shift >= 0; shift--) {
            r |= (bits & 1) << shift;
            g |= ((bits >> 1) & 1) << shift;
            b |= ((bits >> 2) & 1) << shift;
            bits >>= 3;
        }
        palette[3 * i] = (unsigned char)r;
        palette[3 * i + 1] = (unsigned char)g;
        palette[3 * i + 2] = (unsigned char)b;
    }
}

/* HSV with full value to RGB; h in [0, 1). */
static color hsv_color(double h, double s, double v) {
    double h6 = h * 6.0;
    int sector = (int)h6 % 6;
    double f = h6 - floor(h6);
    double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    color c = {(unsigned char)(rgb[sector][0] * 255 + 0.5),
               (unsigned char)(rgb[sector][1] * 255 + 0.5),
               (unsigned char)(rgb[sector][2] * 255 + 0.5)};
    return c;
}

color detection_class_color(int index) {
    if (index < 0) index = 0;
    const double golden = 0.6180339887498949;
    double hue = fmod(0.02 + golden * index, 1.0);
    /* alternate saturation and value a little so that hues that come back
     * close together still differ */
    double saturation = index % 2 ? 0.75 : 0.95;
    double value = index % 3 == 2 ? 0.85 : 1.0;
    return hsv_color(hue, saturation, value);
}
