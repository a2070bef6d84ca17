#include "video_input.h"

#include <stdio.h>
#include <string.h>

static void print_av_error(const char *path, const char *what, int code) {
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, reason, sizeof reason);
    fprintf(stderr, "%s: %s: %s\n", path, what, reason);
}

int video_input_open(video_input *input, const char *path) {
    memset(input, 0, sizeof *input);
    int rc = avformat_open_input(&input->format, path, NULL, NULL);
    if (rc < 0) {
        print_av_error(path, "cannot open", rc);
        return -1;
    }
    const AVCodec *codec = NULL;
    if ((rc = avformat_find_stream_info(input->format, NULL)) < 0) {
        print_av_error(path, "cannot read the stream information", rc);
        goto fail;
    }
    rc = av_find_best_stream(input->format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", path,
                rc == AVERROR_DECODER_NOT_FOUND ? "no decoder for its video stream"
                                                : "no video stream");
        goto fail;
    }
    input->stream_index = rc;
    AVStream *stream = input->format->streams[rc];
    input->decoder = avcodec_alloc_context3(codec);
    input->packet = av_packet_alloc();
    input->frame = av_frame_alloc();
    if (!input->decoder || !input->packet || !input->frame) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto fail;
    }
    if ((rc = avcodec_parameters_to_context(input->decoder, stream->codecpar)) < 0) {
        print_av_error(path, "bad codec parameters", rc);
        goto fail;
    }
    input->decoder->pkt_timebase = stream->time_base;
    if ((rc = avcodec_open2(input->decoder, codec, NULL)) < 0) {
        print_av_error(path, "cannot open the video decoder", rc);
        goto fail;
    }
    return 0;
fail:
    video_input_close(input);
    return -1;
}

int video_input_next(video_input *input, AVFrame **frame) {
    const char *path = input->format->url;
    for (;;) {
        int rc = avcodec_receive_frame(input->decoder, input->frame);
        if (rc == 0) {
            *frame = input->frame;
            return 1;
        }
        if (rc == AVERROR_EOF) return 0;
        if (rc != AVERROR(EAGAIN)) {
            print_av_error(path, "cannot decode a video frame", rc);
            return -1;
        }
        if (input->draining) { /* cannot happen after a flush packet */
            fprintf(stderr, "%s: the decoder wants input after the end of the file\n", path);
            return -1;
        }
        rc = av_read_frame(input->format, input->packet);
        if (rc == AVERROR_EOF) {
            input->draining = 1;
            rc = avcodec_send_packet(input->decoder, NULL);
        } else if (rc < 0) {
            print_av_error(path, "cannot read", rc);
            return -1;
        } else if (input->packet->stream_index != input->stream_index) {
            av_packet_unref(input->packet);
            continue;
        } else {
            rc = avcodec_send_packet(input->decoder, input->packet);
            av_packet_unref(input->packet);
        }
        if (rc < 0) {
            print_av_error(path, "cannot decode a video packet", rc);
            return -1;
        }
    }
}

AVRational video_input_frame_rate(const video_input *input) {
    AVStream *stream = input->format->streams[input->stream_index];
    AVRational rate = av_guess_frame_rate(input->format, stream, NULL);
    if (rate.num <= 0 || rate.den <= 0) rate = (AVRational){25, 1};
    return rate;
}

void video_input_close(video_input *input) {
    av_frame_free(&input->frame);
    av_packet_free(&input->packet);
    avcodec_free_context(&input->decoder);
    avformat_close_input(&input->format);
}
