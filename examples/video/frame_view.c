#include "frame_view.h"

#include <stdio.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

mnet_pixel_format frame_mnet_format(int av_pixel_format) {
    switch (av_pixel_format) {
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P: return MNET_PIXEL_I420;
    case AV_PIX_FMT_NV12: return MNET_PIXEL_NV12;
    case AV_PIX_FMT_NV21: return MNET_PIXEL_NV21;
    default: return (mnet_pixel_format)0;
    }
}

static int is_full_range(int av_pixel_format, enum AVColorRange range) {
    return range == AVCOL_RANGE_JPEG || av_pixel_format == AV_PIX_FMT_YUVJ420P ||
           av_pixel_format == AV_PIX_FMT_YUVJ422P || av_pixel_format == AV_PIX_FMT_YUVJ444P;
}

/* Untagged video is BT.601 in standard definition and BT.709 in HD, the
 * convention players follow. BT.2020 and others are read as BT.709, the
 * nearest mnet offers. */
static mnet_yuv_matrix matrix_of(const AVFrame *frame) {
    switch (frame->colorspace) {
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
    case AVCOL_SPC_FCC: return MNET_YUV_BT601;
    case AVCOL_SPC_UNSPECIFIED:
    case AVCOL_SPC_RGB:
    case AVCOL_SPC_RESERVED: return frame->height >= 720 ? MNET_YUV_BT709 : MNET_YUV_BT601;
    default: return MNET_YUV_BT709;
    }
}

void frame_yuv_encoding(const AVFrame *frame, mnet_yuv_matrix *matrix, mnet_yuv_range *range) {
    *matrix = matrix_of(frame);
    *range = is_full_range(frame->format, frame->color_range) ? MNET_YUV_FULL : MNET_YUV_LIMITED;
}

static int usable_as_is(const AVFrame *frame) {
    if (!frame_mnet_format(frame->format)) return 0;
    for (int p = 0; p < 3 && frame->data[p]; p++)
        if (frame->linesize[p] <= 0) return 0; /* bottom-up frames */
    return 1;
}

/* Converts to I420 keeping the source's matrix (YUV sources) or producing
 * BT.601 (RGB sources) and keeping its range, so that frame_yuv_encoding of
 * the copy describes it. */
static int convert(frame_converter *c, const AVFrame *decoded) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(decoded->format);
    if (!desc) {
        fprintf(stderr, "decoded frame has an unknown pixel format %d\n", decoded->format);
        return -1;
    }
    int rgb_source = (desc->flags & AV_PIX_FMT_FLAG_RGB) != 0;
    AVFrame *out = c->converted;
    if (!out || out->width != decoded->width || out->height != decoded->height) {
        av_frame_free(&c->converted);
        out = c->converted = av_frame_alloc();
        if (!out) goto out_of_memory;
        out->format = AV_PIX_FMT_YUV420P;
        out->width = decoded->width;
        out->height = decoded->height;
        if (av_frame_get_buffer(out, 0) < 0) goto out_of_memory;
    }
    c->scaler = sws_getCachedContext(c->scaler, decoded->width, decoded->height, decoded->format,
                                     out->width, out->height, AV_PIX_FMT_YUV420P,
                                     SWS_BILINEAR, NULL, NULL, NULL);
    if (!c->scaler) {
        fprintf(stderr, "cannot convert %s frames to yuv420p\n", desc->name);
        return -1;
    }
    /* the encoder may still hold a reference to the previous frame */
    if (av_frame_make_writable(out) < 0) goto out_of_memory;

    mnet_yuv_matrix matrix = rgb_source ? MNET_YUV_BT601 : matrix_of(decoded);
    int full = !rgb_source && is_full_range(decoded->format, decoded->color_range);
    const int *coefficients = sws_getCoefficients(matrix == MNET_YUV_BT709 ? SWS_CS_ITU709
                                                                            : SWS_CS_ITU601);
    sws_setColorspaceDetails(c->scaler, coefficients, rgb_source ? 1 : full, coefficients, full,
                             0, 1 << 16, 1 << 16);
    sws_scale(c->scaler, (const uint8_t *const *)decoded->data, decoded->linesize, 0,
              decoded->height, out->data, out->linesize);
    if (av_frame_copy_props(out, decoded) < 0) goto out_of_memory;
    out->colorspace = matrix == MNET_YUV_BT709 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    out->color_range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    return 0;
out_of_memory:
    fprintf(stderr, "out of memory converting a %dx%d frame\n", decoded->width, decoded->height);
    return -1;
}

AVFrame *frame_converter_usable(frame_converter *converter, AVFrame *decoded) {
    if (usable_as_is(decoded)) return decoded;
    return convert(converter, decoded) == 0 ? converter->converted : NULL;
}

mnet_image frame_image(const AVFrame *frame) {
    mnet_image image = {0};
    image.format = frame_mnet_format(frame->format);
    image.width = frame->width;
    image.height = frame->height;
    for (int p = 0; p < 3; p++) {
        image.planes[p] = frame->data[p];
        image.strides[p] = frame->linesize[p] > 0 ? (size_t)frame->linesize[p] : 0;
    }
    return image;
}

void frame_converter_free(frame_converter *converter) {
    sws_freeContext(converter->scaler);
    converter->scaler = NULL;
    av_frame_free(&converter->converted);
}
