#include "video_output.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

static void print_av_error(const char *path, const char *what, int code) {
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, reason, sizeof reason);
    fprintf(stderr, "%s: %s: %s\n", path, what, reason);
}

int video_output_open(video_output *output, const char *path, AVRational frame_rate) {
    memset(output, 0, sizeof *output);
    output->frame_rate = frame_rate;
    int rc = avformat_alloc_output_context2(&output->format, NULL, NULL, path);
    if (rc < 0 || !output->format) {
        fprintf(stderr, "%s: cannot choose a container from the file name "
                        "(use an extension such as .mp4, .mkv or .avi)\n", path);
        return -1;
    }
    output->packet = av_packet_alloc();
    if (!output->packet) {
        fprintf(stderr, "%s: out of memory\n", path);
        video_output_close(output);
        return -1;
    }
    /* created now, so that an unwritable path fails before any decoding */
    if (!(output->format->oformat->flags & AVFMT_NOFILE) &&
        (rc = avio_open(&output->format->pb, path, AVIO_FLAG_WRITE)) < 0) {
        print_av_error(path, "cannot create", rc);
        video_output_close(output);
        return -1;
    }
    return 0;
}

static const AVCodec *choose_encoder(const AVOutputFormat *container) {
    int is_avi = strcmp(container->name, "avi") == 0;
    const AVCodec *h264 = avcodec_find_encoder_by_name("libx264");
    if (!is_avi && h264 &&
        avformat_query_codec(container, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) == 1)
        return h264;
    if (avformat_query_codec(container, AV_CODEC_ID_MPEG4, FF_COMPLIANCE_NORMAL) == 1)
        return avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    return avcodec_find_encoder(container->video_codec);
}

/* The frame's own layout when the encoder takes it, else the encoder's first. */
static enum AVPixelFormat choose_pixel_format(const AVCodec *codec, enum AVPixelFormat frame_format) {
    if (!codec->pix_fmts) return frame_format;
    for (const enum AVPixelFormat *f = codec->pix_fmts; *f != AV_PIX_FMT_NONE; f++)
        if (*f == frame_format) return frame_format;
    return codec->pix_fmts[0];
}

static int open_encoder(video_output *output, const AVFrame *first) {
    const char *path = output->format->url;
    const AVCodec *codec = choose_encoder(output->format->oformat);
    if (!codec) {
        fprintf(stderr, "%s: no video encoder for this container\n", path);
        return -1;
    }
    AVCodecContext *enc = output->encoder = avcodec_alloc_context3(codec);
    output->stream = avformat_new_stream(output->format, NULL);
    if (!enc || !output->stream) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    enc->width = first->width & ~1;
    enc->height = first->height & ~1;
    if (enc->width == 0 || enc->height == 0) {
        fprintf(stderr, "%s: a %dx%d video cannot be encoded\n", path, first->width,
                first->height);
        return -1;
    }
    enc->pix_fmt = choose_pixel_format(codec, first->format);
    enc->sample_aspect_ratio = first->sample_aspect_ratio;
    enc->framerate = output->frame_rate;
    enc->time_base = av_inv_q(output->frame_rate);
    enc->color_range = first->color_range;
    enc->colorspace = first->colorspace;
    enc->color_primaries = first->color_primaries;
    enc->color_trc = first->color_trc;
    if (codec->id == AV_CODEC_ID_H264) {
        av_opt_set(enc->priv_data, "preset", "veryfast", 0);
    } else { /* constant quality instead of the default 200 kbit/s */
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = FF_QP2LAMBDA * 4;
    }
    if (output->format->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0) {
        char reason[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(rc, reason, sizeof reason);
        fprintf(stderr, "%s: cannot open the %s encoder for %dx%d %s frames: %s\n", path,
                codec->name, enc->width, enc->height, av_get_pix_fmt_name(enc->pix_fmt), reason);
        return -1;
    }
    if ((rc = avcodec_parameters_from_context(output->stream->codecpar, enc)) < 0) {
        print_av_error(path, "bad encoder parameters", rc);
        return -1;
    }
    output->stream->time_base = enc->time_base;
    output->stream->sample_aspect_ratio = enc->sample_aspect_ratio;
    if ((rc = avformat_write_header(output->format, NULL)) < 0) {
        print_av_error(path, "cannot write the header", rc);
        return -1;
    }
    output->header_written = 1;
    return 0;
}

/* Sends frame (NULL = flush) and writes every packet the encoder has ready. */
static int encode(video_output *output, const AVFrame *frame) {
    const char *path = output->format->url;
    int rc = avcodec_send_frame(output->encoder, frame);
    if (rc < 0) {
        print_av_error(path, "cannot encode a frame", rc);
        return -1;
    }
    for (;;) {
        rc = avcodec_receive_packet(output->encoder, output->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
        if (rc < 0) {
            print_av_error(path, "cannot encode a frame", rc);
            return -1;
        }
        /* every frame lasts one tick; without a duration, .mp4 cuts the
         * last frame off with its edit list */
        if (output->packet->duration <= 0) output->packet->duration = 1;
        av_packet_rescale_ts(output->packet, output->encoder->time_base, output->stream->time_base);
        output->packet->stream_index = output->stream->index;
        rc = av_interleaved_write_frame(output->format, output->packet);
        if (rc < 0) {
            print_av_error(path, "cannot write a packet", rc);
            return -1;
        }
    }
}

/* The frame in the encoder's layout: itself, or a converted copy. */
static AVFrame *in_encoder_layout(video_output *output, AVFrame *frame) {
    AVCodecContext *enc = output->encoder;
    if (frame->format == enc->pix_fmt) return frame;
    if (!output->converted) {
        output->converted = av_frame_alloc();
        if (!output->converted) return NULL;
        output->converted->format = enc->pix_fmt;
        output->converted->width = enc->width;
        output->converted->height = enc->height;
        if (av_frame_get_buffer(output->converted, 0) < 0) return NULL;
    }
    output->scaler = sws_getCachedContext(output->scaler, frame->width, frame->height,
                                          frame->format, enc->width, enc->height, enc->pix_fmt,
                                          SWS_BILINEAR, NULL, NULL, NULL);
    if (!output->scaler || av_frame_make_writable(output->converted) < 0) return NULL;
    sws_scale(output->scaler, (const uint8_t *const *)frame->data, frame->linesize, 0,
              frame->height, output->converted->data, output->converted->linesize);
    return output->converted;
}

int video_output_write(video_output *output, AVFrame *frame) {
    const char *path = output->format->url;
    if (!output->encoder && open_encoder(output, frame) < 0) return -1;
    AVCodecContext *enc = output->encoder;
    if ((frame->width & ~1) != enc->width || (frame->height & ~1) != enc->height) {
        fprintf(stderr, "%s: the frame size changed from %dx%d to %dx%d; not supported\n", path,
                enc->width, enc->height, frame->width, frame->height);
        return -1;
    }
    /* 4:2:0 encoders want even sizes: an odd last column or row is cropped
     * off, which for these layouts only means a smaller width or height */
    if (!output->cropped && !(output->cropped = av_frame_alloc())) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    if (av_frame_ref(output->cropped, frame) < 0) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    output->cropped->width = enc->width;
    output->cropped->height = enc->height;
    AVFrame *encoded = in_encoder_layout(output, output->cropped);
    int rc = -1;
    if (!encoded) {
        fprintf(stderr, "%s: cannot convert a frame to %s for the encoder\n", path,
                av_get_pix_fmt_name(enc->pix_fmt));
    } else {
        encoded->pts = output->frames++;
        encoded->pict_type = AV_PICTURE_TYPE_NONE; /* let the encoder choose */
        rc = encode(output, encoded);
    }
    av_frame_unref(output->cropped);
    return rc;
}

int video_output_finish(video_output *output) {
    const char *path = output->format->url;
    if (!output->encoder) {
        fprintf(stderr, "%s: no frames to write\n", path);
        return -1;
    }
    if (encode(output, NULL) < 0) return -1;
    int rc = av_write_trailer(output->format);
    if (rc < 0) {
        print_av_error(path, "cannot finish the file", rc);
        return -1;
    }
    return 0;
}

void video_output_close(video_output *output) {
    if (output->format && output->format->pb &&
        !(output->format->oformat->flags & AVFMT_NOFILE))
        avio_closep(&output->format->pb);
    avformat_free_context(output->format);
    output->format = NULL;
    avcodec_free_context(&output->encoder);
    av_packet_free(&output->packet);
    sws_freeContext(output->scaler);
    output->scaler = NULL;
    av_frame_free(&output->converted);
    av_frame_free(&output->cropped);
}
