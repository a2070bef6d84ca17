/* The inputs of classify, detect and segment: JPEG/PNG files, or raw frames
 * with --raw FORMAT:WIDTHxHEIGHT, and the YUV options that go with them. */
#ifndef MNET_TOOLS_CLI_INPUT_H
#define MNET_TOOLS_CLI_INPUT_H

#include <stdio.h>

#include "mnet.h"
#include "raw_frame.h"

typedef struct cli_input_options {
    int raw;              /* every input is a raw frame of raw_spec */
    raw_frame_spec raw_spec;
    mnet_yuv_matrix yuv_matrix;
    mnet_yuv_range yuv_range;
} cli_input_options;

void cli_input_options_init(cli_input_options *options);

/* Consumes argv[*index] if it is --raw, --yuv-matrix or --yuv-range (with
 * its value). Returns 1 when matched, 0 when it is another argument, -1
 * after printing a usage error. */
int cli_input_option(int argc, char **argv, int *index, cli_input_options *options);

/* Help lines for those options. */
void cli_input_usage(FILE *out);

/* The preprocessing all commands use: model defaults plus the YUV choice. */
void cli_input_preprocess(const cli_input_options *options, mnet_preprocess *preprocess);

/* One loaded input; view points into data. */
typedef struct cli_frame {
    mnet_image view;
    unsigned char *data;
} cli_frame;

/* Loads path as the options say. Returns CLI_EXIT_OK, or the exit code
 * after printing one line that names the file. */
int cli_frame_load(const char *path, const cli_input_options *options, cli_frame *frame);

/* A packed RGB copy of the frame (width*height*3 bytes, caller frees), for
 * drawing; NULL when out of memory. */
unsigned char *cli_frame_rgb(const cli_frame *frame, const cli_input_options *options);

void cli_frame_free(cli_frame *frame);

/* Exit code and one-line message for a failed task call on an input. */
int cli_task_failure(const char *path, const char *task, mnet_session *session,
                     mnet_status status);

#endif
