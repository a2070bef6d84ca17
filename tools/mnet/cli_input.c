/* Input options and loading of image files and raw frames. */
#include "cli_input.h"

#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_exit.h"
#include "cli_report.h"
#include "image_io.h"

void cli_input_options_init(cli_input_options *options) {
    memset(options, 0, sizeof *options);
    options->yuv_matrix = MNET_YUV_BT601;
    options->yuv_range = MNET_YUV_LIMITED;
}

int cli_input_option(int argc, char **argv, int *index, cli_input_options *options) {
    const char *value;
    int matched;
    if ((matched = cli_option_value(argc, argv, index, NULL, "--raw", &value)) != 0) {
        if (matched < 0) return -1;
        char reason[256];
        if (!raw_frame_parse_spec(value, &options->raw_spec, reason, sizeof reason)) {
            cli_error("%s", reason);
            return -1;
        }
        options->raw = 1;
        return 1;
    }
    if ((matched = cli_option_value(argc, argv, index, NULL, "--yuv-matrix", &value)) != 0) {
        if (matched < 0) return -1;
        if (strcmp(value, "bt601") == 0) {
            options->yuv_matrix = MNET_YUV_BT601;
        } else if (strcmp(value, "bt709") == 0) {
            options->yuv_matrix = MNET_YUV_BT709;
        } else {
            cli_error("--yuv-matrix must be bt601 or bt709, not '%s'", value);
            return -1;
        }
        return 1;
    }
    if ((matched = cli_option_value(argc, argv, index, NULL, "--yuv-range", &value)) != 0) {
        if (matched < 0) return -1;
        if (strcmp(value, "limited") == 0) {
            options->yuv_range = MNET_YUV_LIMITED;
        } else if (strcmp(value, "full") == 0) {
            options->yuv_range = MNET_YUV_FULL;
        } else {
            cli_error("--yuv-range must be limited or full, not '%s'", value);
            return -1;
        }
        return 1;
    }
    return 0;
}

void cli_input_usage(FILE *out) {
    fprintf(out,
            "      --raw FMT:WxH  inputs are raw frames of this format and size, planes\n"
            "                     tightly packed; FMT: %s\n"
            "      --yuv-matrix M bt601 (default) or bt709, for YUV frames\n"
            "      --yuv-range R  limited (default) or full, for YUV frames\n",
            raw_frame_format_names());
}

void cli_input_preprocess(const cli_input_options *options, mnet_preprocess *preprocess) {
    mnet_preprocess_init(preprocess);
    preprocess->yuv_matrix = options->yuv_matrix;
    preprocess->yuv_range = options->yuv_range;
}

static int load_raw(const char *path, const cli_input_options *options, cli_frame *frame) {
    char reason[IMAGE_MESSAGE_SIZE];
    unsigned char *data;
    size_t size;
    image_status status = image_read_file(path, &data, &size, reason, sizeof reason);
    if (status != IMAGE_OK) {
        cli_error("%s: %s", path, reason);
        return status == IMAGE_ERR_NO_MEMORY ? CLI_EXIT_INTERNAL : CLI_EXIT_BAD_IMAGE;
    }
    const raw_frame_spec *spec = &options->raw_spec;
    size_t expected = raw_frame_bytes(spec);
    if (size != expected) {
        cli_error("%s: a raw %s %dx%d frame is %zu bytes, the file has %zu", path, spec->name,
                  spec->width, spec->height, expected, size);
        free(data);
        return CLI_EXIT_BAD_IMAGE;
    }
    frame->data = data;
    frame->view = raw_frame_view(spec, data);
    return CLI_EXIT_OK;
}

int cli_frame_load(const char *path, const cli_input_options *options, cli_frame *frame) {
    memset(frame, 0, sizeof *frame);
    if (options->raw) return load_raw(path, options, frame);
    decoded_image image;
    char reason[IMAGE_MESSAGE_SIZE];
    image_status loaded = image_load(path, &image, reason, sizeof reason);
    if (loaded != IMAGE_OK) {
        cli_error("%s: %s", path, reason);
        return loaded == IMAGE_ERR_NO_MEMORY ? CLI_EXIT_INTERNAL : CLI_EXIT_BAD_IMAGE;
    }
    frame->data = image.pixels;
    frame->view = mnet_image_packed(image.channels == 4 ? MNET_PIXEL_RGBA : MNET_PIXEL_RGB,
                                    image.pixels, image.width, image.height,
                                    (size_t)image.width * (size_t)image.channels);
    return CLI_EXIT_OK;
}

unsigned char *cli_frame_rgb(const cli_frame *frame, const cli_input_options *options) {
    size_t bytes = (size_t)frame->view.width * (size_t)frame->view.height * 3;
    unsigned char *rgb = malloc(bytes ? bytes : 1);
    if (rgb) raw_frame_to_rgb(&frame->view, options->yuv_matrix, options->yuv_range, rgb);
    return rgb;
}

void cli_frame_free(cli_frame *frame) {
    free(frame->data);
    memset(frame, 0, sizeof *frame);
}

int cli_task_failure(const char *path, const char *task, mnet_session *session,
                     mnet_status status) {
    const char *detail = mnet_session_error(session);
    cli_error("%s: %s failed: %s", path, task,
              detail && detail[0] ? detail : mnet_status_string(status));
    /* Refusals about the input (size, aspect) are the image's fault. */
    return status == MNET_ERR_INVALID_ARGUMENT || status == MNET_ERR_LIMIT ||
                   status == MNET_ERR_UNSUPPORTED
               ? CLI_EXIT_BAD_IMAGE
               : CLI_EXIT_INTERNAL;
}
