/* libFuzzer target: the image-view path (mnet_image_to_input, what
 * mnet_preprocess_image and every task run first) with formats, sizes,
 * strides, plane offsets, ROIs, rotations, mirroring, fits, crop fractions,
 * YUV settings, network sizes and normalizations all taken from the fuzz
 * bytes, valid or not. Each plane is allocated to exactly the bytes the view
 * claims ((rows - 1) * stride + one row), scratch and output to exactly
 * what the API documents, so any read or write past them is an ASan error.
 * An accepted call must write every output value, and finite ones for 8-bit
 * pixels and finite normalization. Built by scripts/fuzz.sh. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/preprocess.h"
#include "mnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Planes bigger than this are not allocated (the call is skipped). */
#define MAX_PLANE_BYTES ((size_t)1 << 20)

typedef struct byte_reader {
    const uint8_t *data;
    size_t size, at;
} byte_reader;

/* Little-endian unsigned of n bytes; zeros once the input is used up. */
static uint32_t take(byte_reader *r, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint32_t)(r->at < r->size ? r->data[r->at++] : 0) << (8 * i);
    return v;
}

static int take_range(byte_reader *r, int lo, int hi) {
    return lo + (int)(take(r, 2) % (uint32_t)(hi - lo + 1));
}

/* Mostly plausible values, sometimes the edge cases a caller gets wrong. */
static int take_side(byte_reader *r, int typical) {
    switch (take(r, 1) % 16) {
    case 0: return 0;
    case 1: return -take_range(r, 1, 70000);
    case 2: return 65536;
    case 3: return 65537;
    case 4: return 1;
    default: return take_range(r, 1, typical);
    }
}

static float take_float(byte_reader *r, float lo, float hi) {
    switch (take(r, 1) % 32) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return 0.0f;
    case 3: return -1.0f;
    case 4: {
        uint32_t bits = take(r, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    default: return lo + (hi - lo) * (float)take(r, 2) / 65535.0f;
    }
}

static int plane_count(mnet_pixel_format f) {
    if (f == MNET_PIXEL_RGB_F32_PLANAR || f == MNET_PIXEL_I420 || f == MNET_PIXEL_YV12) return 3;
    if (f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21) return 2;
    return 1;
}

/* Bytes of one row of plane p as the caller would size it (the library's
 * documented layout); 0 for an unknown format. */
static size_t row_bytes(mnet_pixel_format f, int p, size_t w) {
    size_t cw = (w + 1) / 2;
    switch (f) {
    case MNET_PIXEL_RGB:
    case MNET_PIXEL_BGR: return 3 * w;
    case MNET_PIXEL_RGBA:
    case MNET_PIXEL_BGRA: return 4 * w;
    case MNET_PIXEL_GRAY: return w;
    case MNET_PIXEL_RGB_F32_PLANAR: return 4 * w;
    case MNET_PIXEL_NV12:
    case MNET_PIXEL_NV21: return p == 0 ? w : 2 * cw;
    case MNET_PIXEL_I420:
    case MNET_PIXEL_YV12: return p == 0 ? w : cw;
    }
    return w;
}

static size_t plane_rows(mnet_pixel_format f, int p, size_t h) {
    int yuv = f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21 || f == MNET_PIXEL_I420 ||
              f == MNET_PIXEL_YV12;
    return yuv && p > 0 ? (h + 1) / 2 : h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    byte_reader r = {data, size, 0};
    mnet_image image;
    memset(&image, 0, sizeof image);
    image.format = (mnet_pixel_format)take_range(&r, 0, 11);
    image.width = take_side(&r, 80);
    image.height = take_side(&r, 80);
    int float_pixels = image.format == MNET_PIXEL_RGB_F32_PLANAR;

    mnet_input_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.width = take_range(&r, 0, 64) + (take(&r, 1) % 8 == 0 ? take_range(&r, 0, 300) : 0);
    spec.height = take_range(&r, 0, 64) + (take(&r, 1) % 8 == 0 ? take_range(&r, 0, 300) : 0);
    spec.bgr = (int)(take(&r, 1) & 1);
    int finite_norm = 1;
    for (int c = 0; c < 3; c++) {
        spec.mean[c] = take_float(&r, 0.0f, 255.0f);
        spec.std[c] = take_float(&r, 0.01f, 255.0f);
        spec.fill[c] = take_float(&r, 0.0f, 255.0f);
        if (!isfinite(spec.mean[c]) || !isfinite(spec.std[c]) || !isfinite(spec.fill[c]) ||
            fabsf(spec.std[c]) < 1e-3f || fabsf(spec.mean[c]) > 1e6f || fabsf(spec.fill[c]) > 1e6f)
            finite_norm = 0;
    }
    spec.fit = (mnet_fit)take_range(&r, 0, 4);
    spec.crop_fraction = take_float(&r, 0.05f, 1.0f);

    mnet_preprocess pp;
    mnet_preprocess_init(&pp);
    if (take(&r, 1) & 1) {
        pp.fit = (mnet_fit)take_range(&r, 0, 4);
        pp.crop_fraction = take(&r, 1) & 1 ? take_float(&r, 0.0f, 1.2f) : 0.0f;
        for (int c = 0; c < 3; c++) {
            pp.fill[c] = take(&r, 1) & 1 ? take_float(&r, -1.0f, 255.0f) : -1.0f;
            if (!isfinite(pp.fill[c]) || fabsf(pp.fill[c]) > 1e6f) finite_norm = 0;
        }
        if (take(&r, 1) & 1) {
            int w = image.width > 0 ? image.width : 1, h = image.height > 0 ? image.height : 1;
            pp.roi.x = take_range(&r, -3, w + 3);
            pp.roi.y = take_range(&r, -3, h + 3);
            pp.roi.width = take_range(&r, -2, w + 3);
            pp.roi.height = take_range(&r, -2, h + 3);
        }
        static const int rotations[8] = {0, 90, 180, 270, 45, -90, 360, 0};
        pp.rotation = rotations[take(&r, 1) % 8];
        pp.mirror = (int)(take(&r, 1) % 3);
        pp.yuv_matrix = (mnet_yuv_matrix)take_range(&r, 0, 2);
        pp.yuv_range = (mnet_yuv_range)take_range(&r, 0, 2);
    }

    /* Planes: exact size, stride = one row + slack, or too small. */
    unsigned char *blocks[3] = {NULL, NULL, NULL};
    int skip = 0;
    size_t w = image.width > 0 ? (size_t)image.width : 1;
    size_t h = image.height > 0 ? (size_t)image.height : 1;
    for (int p = 0; p < plane_count(image.format); p++) {
        size_t row = row_bytes(image.format, p, w);
        size_t slack = take(&r, 1) % 20;
        size_t stride = row + slack;
        if (take(&r, 1) % 16 == 0 && row > 0) stride = row - 1 - (take(&r, 1) % row);
        size_t rows = plane_rows(image.format, p, h);
        size_t bytes = (rows - 1) * stride + row;
        if (bytes > MAX_PLANE_BYTES) {
            skip = 1;
            break;
        }
        /* Float planes are sometimes misaligned on purpose. */
        size_t shift = float_pixels && take(&r, 1) % 8 == 0 ? 1 + take(&r, 1) % 3 : 0;
        blocks[p] = malloc(bytes + shift);
        if (!blocks[p]) {
            skip = 1;
            break;
        }
        unsigned char *plane = blocks[p] + shift;
        /* Pixels: the fuzz bytes repeated. */
        for (size_t i = 0; i < bytes;) {
            size_t n = r.size < bytes - i ? r.size : bytes - i;
            if (n == 0) {
                memset(plane, 0x5A, bytes);
                break;
            }
            memcpy(plane + i, r.data, n);
            i += n;
        }
        if (float_pixels && shift == 0)
            for (size_t i = 0; i + 4 <= bytes; i += 4) {
                /* Mostly pixel-like floats, with the raw bits kept now and then. */
                if (plane[i] % 8) {
                    float v = (float)plane[i + 1] + (float)plane[i + 2] / 256.0f;
                    memcpy(plane + i, &v, sizeof v);
                }
            }
        image.planes[p] = take(&r, 1) % 64 == 0 ? NULL : plane;
        image.strides[p] = stride;
    }

    if (!skip) {
        size_t out_count = spec.width > 0 && spec.height > 0
                               ? (size_t)spec.width * (size_t)spec.height * 3
                               : 1;
        size_t scratch_count = mnet_image_scratch_floats(&spec);
        float *out = malloc(out_count * sizeof(float));
        float *scratch = malloc((scratch_count ? scratch_count : 1) * sizeof(float));
        if (out && scratch) {
            /* A sentinel no normalized value can equal, to find unwritten outputs. */
            const uint32_t sentinel_bits = 0x7FC0DEADu;
            for (size_t i = 0; i < out_count; i++) memcpy(&out[i], &sentinel_bits, 4);
            mnet_image_transform transform;
            mnet_error error;
            error.message[0] = '\0';
            mnet_status status = mnet_image_to_input(&image, take(&r, 1) % 8 ? &pp : NULL, &spec,
                                                     out, scratch, scratch_count, &transform,
                                                     &error);
            if (status != MNET_OK) {
                if (error.message[0] == '\0') abort();
            } else {
                for (size_t i = 0; i < out_count; i++) {
                    uint32_t bits;
                    memcpy(&bits, &out[i], 4);
                    if (bits == sentinel_bits) abort();
                    if (!float_pixels && finite_norm && !isfinite(out[i])) abort();
                }
                if (!(transform.content_left >= 0.0 && transform.content_top >= 0.0 &&
                      transform.content_right <= spec.width &&
                      transform.content_bottom <= spec.height))
                    abort();
            }
        }
        free(out);
        free(scratch);
    }
    for (int p = 0; p < 3; p++) free(blocks[p]);
    return 0;
}
