/* Demuxing and decoding the best video stream of a file, frame by frame. */
#ifndef VIDEO_INPUT_H
#define VIDEO_INPUT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

typedef struct video_input {
    AVFormatContext *format;
    AVCodecContext *decoder;
    AVPacket *packet;
    AVFrame *frame;
    int stream_index;
    int draining; /* the demuxer is exhausted; the decoder is being flushed */
} video_input;

/* 0 on success; on failure prints why to stderr, returns -1 and leaves
 * nothing to close. */
int video_input_open(video_input *input, const char *path);

/* Decodes the next frame into *frame (owned by input, valid until the next
 * call). Returns 1 for a frame, 0 at the end, -1 on an error (printed). */
int video_input_next(video_input *input, AVFrame **frame);

/* The stream's frame rate, or 25 fps when the file does not tell. */
AVRational video_input_frame_rate(const video_input *input);

void video_input_close(video_input *input);

#endif
