/* Raw frame specifications, plane layout and a small RGB converter. */
#include "raw_frame.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

typedef struct format_entry {
    const char *name;
    mnet_pixel_format format;
} format_entry;

static const format_entry formats[] = {
    {"nv12", MNET_PIXEL_NV12}, {"nv21", MNET_PIXEL_NV21}, {"i420", MNET_PIXEL_I420},
    {"yv12", MNET_PIXEL_YV12}, {"rgb", MNET_PIXEL_RGB},   {"bgr", MNET_PIXEL_BGR},
    {"rgba", MNET_PIXEL_RGBA}, {"bgra", MNET_PIXEL_BGRA}, {"gray", MNET_PIXEL_GRAY},
};
#define NUM_FORMATS ((int)(sizeof formats / sizeof formats[0]))

const char *raw_frame_format_names(void) {
    return "nv12 nv21 i420 yv12 rgb bgr rgba bgra gray";
}

static int is_yuv420(mnet_pixel_format f) {
    return f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21 || f == MNET_PIXEL_I420 ||
           f == MNET_PIXEL_YV12;
}

static int packed_channels(mnet_pixel_format f) {
    switch (f) {
    case MNET_PIXEL_RGB:
    case MNET_PIXEL_BGR: return 3;
    case MNET_PIXEL_RGBA:
    case MNET_PIXEL_BGRA: return 4;
    case MNET_PIXEL_GRAY: return 1;
    default: return 0;
    }
}

/* A whole positive decimal number, at most IMAGE_MAX_SIDE; *end after it. */
static int parse_side(const char *text, const char **end, int *out) {
    if (!isdigit((unsigned char)*text)) return 0;
    char *stop;
    errno = 0;
    long value = strtol(text, &stop, 10);
    if (errno || value < 1 || value > IMAGE_MAX_SIDE) return 0;
    *end = stop;
    *out = (int)value;
    return 1;
}

int raw_frame_parse_spec(const char *text, raw_frame_spec *spec, char *message,
                         size_t message_size) {
    memset(spec, 0, sizeof *spec);
    const char *colon = strchr(text, ':');
    if (!colon) {
        snprintf(message, message_size,
                 "--raw needs FORMAT:WIDTHxHEIGHT (e.g. nv12:640x480), not '%s'", text);
        return 0;
    }
    size_t name_length = (size_t)(colon - text);
    for (int i = 0; i < NUM_FORMATS; i++) {
        if (strlen(formats[i].name) != name_length) continue;
        size_t k = 0;
        while (k < name_length && tolower((unsigned char)text[k]) == formats[i].name[k]) k++;
        if (k == name_length) {
            spec->format = formats[i].format;
            spec->name = formats[i].name;
        }
    }
    if (!spec->name) {
        snprintf(message, message_size, "--raw: unknown pixel format '%.*s' (one of %s)",
                 (int)name_length, text, raw_frame_format_names());
        return 0;
    }
    const char *p = colon + 1, *end;
    if (!parse_side(p, &end, &spec->width) || (*end != 'x' && *end != 'X') ||
        !parse_side(end + 1, &end, &spec->height) || *end != '\0') {
        snprintf(message, message_size,
                 "--raw: size must be WIDTHxHEIGHT with sides from 1 to %d, not '%s'",
                 IMAGE_MAX_SIDE, p);
        return 0;
    }
    if ((size_t)spec->width * (size_t)spec->height > IMAGE_MAX_PIXELS) {
        snprintf(message, message_size, "--raw: %dx%d is above the limit of %zu pixels",
                 spec->width, spec->height, IMAGE_MAX_PIXELS);
        return 0;
    }
    return 1;
}

static size_t chroma_side(int luma_side) { return (size_t)(luma_side / 2 + luma_side % 2); }

size_t raw_frame_bytes(const raw_frame_spec *spec) {
    size_t luma = (size_t)spec->width * (size_t)spec->height;
    if (is_yuv420(spec->format))
        return luma + 2 * chroma_side(spec->width) * chroma_side(spec->height);
    return luma * (size_t)packed_channels(spec->format);
}

mnet_image raw_frame_view(const raw_frame_spec *spec, const unsigned char *data) {
    if (!is_yuv420(spec->format))
        return mnet_image_packed(spec->format, data, spec->width, spec->height,
                                 (size_t)spec->width * (size_t)packed_channels(spec->format));
    mnet_image image;
    memset(&image, 0, sizeof image);
    image.format = spec->format;
    image.width = spec->width;
    image.height = spec->height;
    size_t luma = (size_t)spec->width * (size_t)spec->height;
    size_t cw = chroma_side(spec->width), ch = chroma_side(spec->height);
    image.planes[0] = data;
    image.strides[0] = (size_t)spec->width;
    image.planes[1] = data + luma;
    if (spec->format == MNET_PIXEL_NV12 || spec->format == MNET_PIXEL_NV21) {
        image.strides[1] = 2 * cw;
    } else {
        image.strides[1] = cw;
        image.planes[2] = data + luma + cw * ch;
        image.strides[2] = cw;
    }
    return image;
}

static unsigned char to_byte(double v) {
    return (unsigned char)(v < 0.0 ? 0 : v > 255.0 ? 255 : (int)(v + 0.5));
}

static void yuv_to_rgb(const mnet_image *image, mnet_yuv_matrix matrix, mnet_yuv_range range,
                       unsigned char *rgb) {
    double kr = matrix == MNET_YUV_BT709 ? 0.2126 : 0.299;
    double kb = matrix == MNET_YUV_BT709 ? 0.0722 : 0.114;
    double kg = 1.0 - kr - kb;
    double y_scale = range == MNET_YUV_LIMITED ? 255.0 / 219.0 : 1.0;
    double c_scale = range == MNET_YUV_LIMITED ? 255.0 / 224.0 : 1.0;
    double y_offset = range == MNET_YUV_LIMITED ? 16.0 : 0.0;
    const unsigned char *luma = image->planes[0];
    const unsigned char *u_plane, *v_plane;
    size_t step;
    mnet_pixel_format f = image->format;
    if (f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21) {
        step = 2;
        u_plane = (const unsigned char *)image->planes[1] + (f == MNET_PIXEL_NV21);
        v_plane = (const unsigned char *)image->planes[1] + (f == MNET_PIXEL_NV12);
    } else {
        step = 1;
        u_plane = image->planes[f == MNET_PIXEL_I420 ? 1 : 2];
        v_plane = image->planes[f == MNET_PIXEL_I420 ? 2 : 1];
    }
    size_t u_stride = image->strides[f == MNET_PIXEL_YV12 ? 2 : 1];
    size_t v_stride = image->strides[f == MNET_PIXEL_I420 ? 2 : 1];
    for (int y = 0; y < image->height; y++) {
        const unsigned char *row = luma + (size_t)y * image->strides[0];
        const unsigned char *u_row = u_plane + (size_t)(y / 2) * u_stride;
        const unsigned char *v_row = v_plane + (size_t)(y / 2) * v_stride;
        unsigned char *out = rgb + (size_t)y * (size_t)image->width * 3;
        for (int x = 0; x < image->width; x++) {
            double l = (row[x] - y_offset) * y_scale;
            double u = (u_row[(size_t)(x / 2) * step] - 128.0) * c_scale;
            double v = (v_row[(size_t)(x / 2) * step] - 128.0) * c_scale;
            out[3 * x + 0] = to_byte(l + 2.0 * (1.0 - kr) * v);
            out[3 * x + 1] = to_byte(l - (2.0 * kb * (1.0 - kb) * u + 2.0 * kr * (1.0 - kr) * v) / kg);
            out[3 * x + 2] = to_byte(l + 2.0 * (1.0 - kb) * u);
        }
    }
}

void raw_frame_to_rgb(const mnet_image *image, mnet_yuv_matrix matrix, mnet_yuv_range range,
                      unsigned char *rgb) {
    if (is_yuv420(image->format)) {
        yuv_to_rgb(image, matrix, range, rgb);
        return;
    }
    int channels = packed_channels(image->format);
    int swap = image->format == MNET_PIXEL_BGR || image->format == MNET_PIXEL_BGRA;
    for (int y = 0; y < image->height; y++) {
        const unsigned char *row = (const unsigned char *)image->planes[0] + (size_t)y * image->strides[0];
        unsigned char *out = rgb + (size_t)y * (size_t)image->width * 3;
        for (int x = 0; x < image->width; x++) {
            const unsigned char *p = row + (size_t)x * (size_t)channels;
            if (channels == 1) {
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = p[0];
            } else {
                /* Transparency is ignored, as the network ignores it. */
                out[3 * x + 0] = p[swap ? 2 : 0];
                out[3 * x + 1] = p[1];
                out[3 * x + 2] = p[swap ? 0 : 2];
            }
        }
    }
}
