/* Encoding annotated frames into a video file. The container follows the
 * extension of the path (.mp4, .mkv, .mov, .avi, ...); the codec is H.264
 * (libx264) where the container takes it, except in .avi, and MPEG-4 part 2
 * otherwise. Frames are numbered 0, 1, 2, ... at the input's frame rate, so
 * the output has exactly as many frames as were written. An odd width or
 * height loses its last column or row, as 4:2:0 encoders need even sizes. */
#ifndef VIDEO_OUTPUT_H
#define VIDEO_OUTPUT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

typedef struct video_output {
    AVFormatContext *format;
    AVCodecContext *encoder; /* opened with the first frame */
    AVStream *stream;
    AVPacket *packet;
    struct SwsContext *scaler; /* only when the encoder wants another layout */
    AVFrame *converted;
    AVFrame *cropped; /* a reference to the frame being written, even-sized */
    AVRational frame_rate;
    int64_t frames;
    int header_written;
} video_output;

/* Chooses the container and creates the file; the encoder is set up from
 * the first frame. 0 or -1 (printed). */
int video_output_open(video_output *output, const char *path, AVRational frame_rate);

/* Encodes one frame (its pts is replaced); 0 or -1 (printed). */
int video_output_write(video_output *output, AVFrame *frame);

/* Flushes the encoder and finishes the file; 0 or -1 (printed). */
int video_output_finish(video_output *output);

void video_output_close(video_output *output);

#endif
