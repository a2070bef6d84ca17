/* Raw camera frames for `--raw FORMAT:WIDTHxHEIGHT`: tightly packed planes
 * (no row padding) in the format's own order, e.g. NV12 = W*H luma bytes
 * then ceil(W/2)*ceil(H/2) interleaved U,V pairs. */
#ifndef MNET_TOOLS_RAW_FRAME_H
#define MNET_TOOLS_RAW_FRAME_H

#include <stddef.h>

#include "mnet.h"

typedef struct raw_frame_spec {
    mnet_pixel_format format;
    const char *name; /* "nv12", ... as the user spells it in lower case */
    int width, height;
} raw_frame_spec;

/* Parses "nv12:640x480" (format names are case-insensitive). Returns 1, or
 * 0 with the reason in message. */
int raw_frame_parse_spec(const char *text, raw_frame_spec *spec, char *message,
                         size_t message_size);

/* The format names accepted, for help texts: "nv12 nv21 ...". */
const char *raw_frame_format_names(void);

/* Exact byte size of one frame of spec. */
size_t raw_frame_bytes(const raw_frame_spec *spec);

/* A view of a frame stored tightly packed at data (raw_frame_bytes long). */
mnet_image raw_frame_view(const raw_frame_spec *spec, const unsigned char *data);

/* Converts any 8-bit view (packed or YUV 4:2:0) to packed RGB for drawing:
 * width*height*3 bytes at rgb. YUV uses the given matrix and range with each
 * chroma sample replicated over its 2x2 block (good enough for pictures
 * meant for people; the network input is converted by the library). */
void raw_frame_to_rgb(const mnet_image *image, mnet_yuv_matrix matrix, mnet_yuv_range range,
                      unsigned char *rgb);

#endif
