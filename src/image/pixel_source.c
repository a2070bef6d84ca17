/* Pixel formats: validation and row reading. Every format is converted to
 * RGB floats on the fly while the horizontal filter reads it, so no copy of
 * the source is ever made.
 *
 * YUV 4:2:0: chroma has half the luma resolution, rounded up, and is sited
 * at the centre of each 2x2 luma block (JPEG / MPEG-1 siting). It is
 * upsampled bilinearly to every luma pixel (weights 3/4 and 1/4 per axis,
 * edges replicated), then converted with the chosen matrix and range and
 * clamped to 0..255. OpenCV's cvtColor(COLOR_YUV2RGB_NV12, ...) instead
 * replicates each chroma sample over its 2x2 block; both agree wherever the
 * chroma is locally constant. */
#include "image/pixel_source.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const char *format_name(mnet_pixel_format f) {
    switch (f) {
    case MNET_PIXEL_RGB: return "RGB";
    case MNET_PIXEL_BGR: return "BGR";
    case MNET_PIXEL_RGBA: return "RGBA";
    case MNET_PIXEL_BGRA: return "BGRA";
    case MNET_PIXEL_GRAY: return "GRAY";
    case MNET_PIXEL_RGB_F32_PLANAR: return "RGB_F32_PLANAR";
    case MNET_PIXEL_NV12: return "NV12";
    case MNET_PIXEL_NV21: return "NV21";
    case MNET_PIXEL_I420: return "I420";
    case MNET_PIXEL_YV12: return "YV12";
    }
    return "unknown";
}

static int is_yuv(mnet_pixel_format f) {
    return f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21 || f == MNET_PIXEL_I420 ||
           f == MNET_PIXEL_YV12;
}

static int plane_count(mnet_pixel_format f) {
    switch (f) {
    case MNET_PIXEL_RGB_F32_PLANAR:
    case MNET_PIXEL_I420:
    case MNET_PIXEL_YV12: return 3;
    case MNET_PIXEL_NV12:
    case MNET_PIXEL_NV21: return 2;
    default: return 1;
    }
}

/* Bytes one row of plane p needs. */
static size_t row_bytes(mnet_pixel_format f, int plane, int width) {
    size_t w = (size_t)width, chroma_w = (size_t)(width / 2 + width % 2);
    switch (f) {
    case MNET_PIXEL_RGB:
    case MNET_PIXEL_BGR: return w * 3;
    case MNET_PIXEL_RGBA:
    case MNET_PIXEL_BGRA: return w * 4;
    case MNET_PIXEL_GRAY: return w;
    case MNET_PIXEL_RGB_F32_PLANAR: return w * sizeof(float);
    case MNET_PIXEL_NV12:
    case MNET_PIXEL_NV21: return plane == 0 ? w : 2 * chroma_w;
    case MNET_PIXEL_I420:
    case MNET_PIXEL_YV12: return plane == 0 ? w : chroma_w;
    }
    return 0;
}

/* Coefficients from the luma weights Kr, Kb of the standard: R = Y + 2(1-Kr) Cr,
 * B = Y + 2(1-Kb) Cb, G = (Y - Kr R - Kb B) / Kg, with limited range
 * stretching 16..235 (luma) and 16..240 (chroma) to the full scale. */
static void set_yuv_coefficients(mnet_pixel_source *s, mnet_yuv_matrix matrix,
                                 mnet_yuv_range range) {
    double kr = matrix == MNET_YUV_BT709 ? 0.2126 : 0.299;
    double kb = matrix == MNET_YUV_BT709 ? 0.0722 : 0.114;
    double kg = 1.0 - kr - kb;
    double luma_scale = 1.0, chroma_scale = 1.0;
    s->y_offset = 0.0f;
    if (range == MNET_YUV_LIMITED) {
        luma_scale = 255.0 / 219.0;
        chroma_scale = 255.0 / 224.0;
        s->y_offset = 16.0f;
    }
    s->y_scale = (float)luma_scale;
    s->rv = (float)(2.0 * (1.0 - kr) * chroma_scale);
    s->bu = (float)(2.0 * (1.0 - kb) * chroma_scale);
    s->gu = (float)(-2.0 * kb * (1.0 - kb) / kg * chroma_scale);
    s->gv = (float)(-2.0 * kr * (1.0 - kr) / kg * chroma_scale);
}

mnet_status mnet_pixel_source_init(mnet_pixel_source *s, const mnet_image *image,
                                   mnet_yuv_matrix matrix, mnet_yuv_range range,
                                   mnet_error *error) {
    memset(s, 0, sizeof *s);
    if (!image) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "image is NULL");
    mnet_pixel_format f = image->format;
    if (f < MNET_PIXEL_RGB || f > MNET_PIXEL_YV12)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "unknown pixel format %d", (int)f);
    const char *name = format_name(f);
    if (image->width <= 0 || image->height <= 0 || image->width > MNET_IMAGE_MAX_SIDE ||
        image->height > MNET_IMAGE_MAX_SIDE)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "%s image size %dx%d: each side must be in 1..%d", name, image->width,
                         image->height, MNET_IMAGE_MAX_SIDE);
    if (is_yuv(f)) {
        if (matrix != MNET_YUV_BT601 && matrix != MNET_YUV_BT709)
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "unknown YUV matrix %d (expected BT601 or BT709)", (int)matrix);
        if (range != MNET_YUV_LIMITED && range != MNET_YUV_FULL)
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "unknown YUV range %d (expected LIMITED or FULL)", (int)range);
    }
    for (int p = 0; p < plane_count(f); p++) {
        if (!image->planes[p])
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "%s image: plane %d is NULL",
                             name, p);
        size_t need = row_bytes(f, p, image->width);
        if (image->strides[p] < need)
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "%s image: stride of plane %d is %zu bytes, smaller than a row "
                             "of %d pixels (%zu bytes)",
                             name, p, image->strides[p], image->width, need);
        if (f == MNET_PIXEL_RGB_F32_PLANAR &&
            (image->strides[p] % sizeof(float) != 0 ||
             (uintptr_t)image->planes[p] % _Alignof(float) != 0))
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "%s image: plane %d and its stride (%zu bytes) must be aligned "
                             "to float (%zu bytes)",
                             name, p, image->strides[p], sizeof(float));
        s->planes[p] = image->planes[p];
        s->strides[p] = image->strides[p];
    }
    s->format = f;
    s->width = image->width;
    s->height = image->height;

    switch (f) {
    case MNET_PIXEL_RGB: s->bytes_per_pixel = 3; s->r_offset = 0; s->g_offset = 1; s->b_offset = 2; break;
    case MNET_PIXEL_BGR: s->bytes_per_pixel = 3; s->r_offset = 2; s->g_offset = 1; s->b_offset = 0; break;
    case MNET_PIXEL_RGBA: s->bytes_per_pixel = 4; s->r_offset = 0; s->g_offset = 1; s->b_offset = 2; break;
    case MNET_PIXEL_BGRA: s->bytes_per_pixel = 4; s->r_offset = 2; s->g_offset = 1; s->b_offset = 0; break;
    case MNET_PIXEL_GRAY: s->bytes_per_pixel = 1; break;
    default: break;
    }
    if (is_yuv(f)) {
        s->chroma_width = image->width / 2 + image->width % 2;
        s->chroma_height = image->height / 2 + image->height % 2;
        if (f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21) {
            s->chroma_step = 2;
            s->chroma_stride = s->strides[1];
            s->u_plane = s->planes[1] + (f == MNET_PIXEL_NV21);
            s->v_plane = s->planes[1] + (f == MNET_PIXEL_NV12);
        } else {
            if (s->strides[1] != s->strides[2])
                return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                                 "%s image: the two chroma planes have different strides "
                                 "(%zu and %zu bytes)",
                                 name, s->strides[1], s->strides[2]);
            s->chroma_step = 1;
            s->chroma_stride = s->strides[1];
            s->u_plane = s->planes[f == MNET_PIXEL_I420 ? 1 : 2];
            s->v_plane = s->planes[f == MNET_PIXEL_I420 ? 2 : 1];
        }
        set_yuv_coefficients(s, matrix, range);
    }
    return MNET_OK;
}

static inline float tap_weight(int t, float centre_offset, float inv_filter_scale) {
    float w = 1.0f - fabsf(((float)t + 0.5f - centre_offset) * inv_filter_scale);
    return w > 0.0f ? w : 0.0f;
}

static void accumulate_packed(const mnet_pixel_source *s, int row, const float *taps,
                              int count, float inv_fs, float weight, float *acc) {
    const unsigned char *line = s->planes[0] + (size_t)row * s->strides[0];
    const int bpp = s->bytes_per_pixel, ro = s->r_offset, go = s->g_offset, bo = s->b_offset;
    for (int k = 0; k < count; k++, taps += MNET_TAP_FLOATS, acc += 3) {
        int first = (int)taps[0], n = (int)taps[1];
        float r = 0.0f, g = 0.0f, b = 0.0f;
        const unsigned char *p = line + (size_t)first * (size_t)bpp;
        for (int t = 0; t < n; t++, p += bpp) {
            float w = tap_weight(t, taps[2], inv_fs);
            r += w * (float)p[ro];
            g += w * (float)p[go];
            b += w * (float)p[bo];
        }
        float scale = weight * taps[3];
        acc[0] += scale * r;
        acc[1] += scale * g;
        acc[2] += scale * b;
    }
}

static void accumulate_planar_float(const mnet_pixel_source *s, int row, const float *taps,
                                    int count, float inv_fs, float weight, float *acc) {
    const float *planes[3];
    for (int c = 0; c < 3; c++)
        planes[c] = (const float *)(const void *)(s->planes[c] + (size_t)row * s->strides[c]);
    for (int k = 0; k < count; k++, taps += MNET_TAP_FLOATS, acc += 3) {
        int first = (int)taps[0], n = (int)taps[1];
        float sum[3] = {0.0f, 0.0f, 0.0f};
        for (int t = 0; t < n; t++) {
            float w = tap_weight(t, taps[2], inv_fs);
            for (int c = 0; c < 3; c++) sum[c] += w * planes[c][first + t];
        }
        float scale = weight * taps[3];
        for (int c = 0; c < 3; c++) acc[c] += scale * sum[c];
    }
}

static inline float clamp255(float v) {
    return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
}

/* Luma pixel i sits at chroma coordinate i/2 - 1/4: between chroma samples
 * lo and hi with weights w_lo and 1 - w_lo. */
static inline void chroma_neighbours(int i, int size, int *lo, int *hi, float *w_lo) {
    int half = i >> 1;
    if (i & 1) {
        *lo = half;
        *hi = half + 1 < size ? half + 1 : size - 1;
        *w_lo = 0.75f;
    } else {
        *lo = half > 0 ? half - 1 : 0;
        *hi = half;
        *w_lo = 0.25f;
    }
}

static void accumulate_yuv(const mnet_pixel_source *s, int row, const float *taps, int count,
                           float inv_fs, float weight, float *acc) {
    const unsigned char *luma = s->planes[0] + (size_t)row * s->strides[0];
    int top, bottom;
    float w_top;
    chroma_neighbours(row, s->chroma_height, &top, &bottom, &w_top);
    const float w_bottom = 1.0f - w_top;
    const size_t top_off = (size_t)top * s->chroma_stride;
    const size_t bottom_off = (size_t)bottom * s->chroma_stride;
    const unsigned char *u_top = s->u_plane + top_off, *u_bottom = s->u_plane + bottom_off;
    const unsigned char *v_top = s->v_plane + top_off, *v_bottom = s->v_plane + bottom_off;
    const size_t step = (size_t)s->chroma_step;
    for (int k = 0; k < count; k++, taps += MNET_TAP_FLOATS, acc += 3) {
        int first = (int)taps[0], n = (int)taps[1];
        float r = 0.0f, g = 0.0f, b = 0.0f;
        for (int t = 0; t < n; t++) {
            float w = tap_weight(t, taps[2], inv_fs);
            if (w == 0.0f) continue;
            int x = first + t, left, right;
            float w_left;
            chroma_neighbours(x, s->chroma_width, &left, &right, &w_left);
            size_t l = (size_t)left * step, rr = (size_t)right * step;
            float w_right = 1.0f - w_left;
            float u = w_top * (w_left * u_top[l] + w_right * u_top[rr]) +
                      w_bottom * (w_left * u_bottom[l] + w_right * u_bottom[rr]) - 128.0f;
            float v = w_top * (w_left * v_top[l] + w_right * v_top[rr]) +
                      w_bottom * (w_left * v_bottom[l] + w_right * v_bottom[rr]) - 128.0f;
            float y = ((float)luma[x] - s->y_offset) * s->y_scale;
            r += w * clamp255(y + s->rv * v);
            g += w * clamp255(y + s->gu * u + s->gv * v);
            b += w * clamp255(y + s->bu * u);
        }
        float scale = weight * taps[3];
        acc[0] += scale * r;
        acc[1] += scale * g;
        acc[2] += scale * b;
    }
}

void mnet_pixel_source_accumulate_row(const mnet_pixel_source *s, int row, const float *taps,
                                      int count, float inv_filter_scale, float weight,
                                      float *acc) {
    switch (s->format) {
    case MNET_PIXEL_RGB_F32_PLANAR:
        accumulate_planar_float(s, row, taps, count, inv_filter_scale, weight, acc);
        break;
    case MNET_PIXEL_NV12:
    case MNET_PIXEL_NV21:
    case MNET_PIXEL_I420:
    case MNET_PIXEL_YV12:
        accumulate_yuv(s, row, taps, count, inv_filter_scale, weight, acc);
        break;
    default:
        accumulate_packed(s, row, taps, count, inv_filter_scale, weight, acc);
        break;
    }
}
