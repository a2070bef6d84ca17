/* JPEG decoding with libjpeg(-turbo). libjpeg reports fatal errors through a
 * callback that must not return, so it longjmps back into jpeg_run. To keep
 * that well defined, every value that lives across the setjmp sits in a
 * jpeg_job owned by the caller (jpeg_decode_memory), never in a local of
 * the function that calls setjmp. */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image_decoders.h"

/* A progressive JPEG can hold thousands of tiny scans that each cost a pass
 * over the whole image; real encoders write at most a few dozen. */
#define JPEG_MAX_SCANS 500

typedef struct jpeg_job {
    struct jpeg_decompress_struct info;
    struct jpeg_error_mgr errors;
    struct jpeg_progress_mgr progress;
    jmp_buf on_error;
    int corrupt_data_warning; /* libjpeg only warns about damaged data */
    int too_many_scans;
    char warning[JMSG_LENGTH_MAX];
    unsigned char *pixels;
    unsigned char *cmyk_row;
} jpeg_job;

static void jpeg_on_error(j_common_ptr common) {
    jpeg_job *job = (jpeg_job *)common->client_data;
    longjmp(job->on_error, 1);
}

/* Warnings that mean the pixels are partly invented (truncated file, bad
 * entropy data) make the decode fail; harmless ones (extra bytes between
 * markers, odd JFIF versions) are ignored, as every viewer does. */
static void jpeg_on_message(j_common_ptr common, int level) {
    jpeg_job *job = (jpeg_job *)common->client_data;
    if (level >= 0 || job->corrupt_data_warning) return;
    switch (common->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_MUST_RESYNC:
        job->corrupt_data_warning = 1;
        common->err->format_message(common, job->warning);
        break;
    default:
        break;
    }
}

static void jpeg_on_progress(j_common_ptr common) {
    jpeg_job *job = (jpeg_job *)common->client_data;
    if (job->info.input_scan_number > JPEG_MAX_SCANS) {
        job->too_many_scans = 1;
        longjmp(job->on_error, 1);
    }
}

/* Adobe writes CMYK JPEGs with inverted values (0 = full ink); others store
 * plain ink amounts. Both become RGB through the usual naive formula. */
static void cmyk_row_to_rgb(const unsigned char *cmyk, unsigned char *rgb,
                            size_t width, int inverted) {
    for (size_t x = 0; x < width; x++) {
        unsigned c = cmyk[4 * x], m = cmyk[4 * x + 1], y = cmyk[4 * x + 2],
                 k = cmyk[4 * x + 3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        rgb[3 * x] = (unsigned char)((c * k + 127) / 255);
        rgb[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
        rgb[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
    }
}

static image_status jpeg_run(jpeg_job *job, const unsigned char *data,
                             size_t size, decoded_image *image, char *message,
                             size_t message_size) {
    if (setjmp(job->on_error)) {
        if (job->too_many_scans) {
            snprintf(message, message_size,
                     "progressive JPEG with more than %d scans", JPEG_MAX_SCANS);
            return IMAGE_ERR_LIMIT;
        }
        char reason[JMSG_LENGTH_MAX];
        job->errors.format_message((j_common_ptr)&job->info, reason);
        snprintf(message, message_size, "invalid JPEG: %s", reason);
        return job->errors.msg_code == JERR_OUT_OF_MEMORY ? IMAGE_ERR_NO_MEMORY
                                                          : IMAGE_ERR_CORRUPT;
    }
    jpeg_create_decompress(&job->info);
    job->info.client_data = job;
    job->progress.progress_monitor = jpeg_on_progress;
    job->info.progress = &job->progress;
    /* size fits: image_decode refused files above IMAGE_MAX_FILE_BYTES. */
    jpeg_mem_src(&job->info, data, (unsigned long)size);
    jpeg_read_header(&job->info, TRUE);

    int cmyk = 0;
    switch (job->info.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        job->info.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        job->info.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        snprintf(message, message_size, "JPEG colour space %d is not supported",
                 (int)job->info.jpeg_color_space);
        return IMAGE_ERR_UNSUPPORTED;
    }
    size_t width = job->info.image_width, height = job->info.image_height;
    if (image_size_exceeds_limits(width, height, message, message_size))
        return IMAGE_ERR_LIMIT;

    jpeg_start_decompress(&job->info);
    if (job->info.output_width != width || job->info.output_height != height ||
        job->info.output_components != (cmyk ? 4 : 3)) {
        snprintf(message, message_size, "JPEG decoder produced an unexpected layout");
        return IMAGE_ERR_UNSUPPORTED;
    }
    size_t stride = width * 3;
    job->pixels = malloc(stride * height);
    if (cmyk) job->cmyk_row = malloc(width * 4);
    if (!job->pixels || (cmyk && !job->cmyk_row)) {
        snprintf(message, message_size, "out of memory for %zux%zu pixels", width,
                 height);
        return IMAGE_ERR_NO_MEMORY;
    }
    while (job->info.output_scanline < job->info.output_height) {
        size_t y = job->info.output_scanline;
        JSAMPROW row = cmyk ? job->cmyk_row : job->pixels + y * stride;
        if (jpeg_read_scanlines(&job->info, &row, 1) != 1) {
            snprintf(message, message_size, "invalid JPEG: no data for row %zu", y);
            return IMAGE_ERR_CORRUPT;
        }
        if (cmyk)
            cmyk_row_to_rgb(job->cmyk_row, job->pixels + y * stride, width,
                            job->info.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&job->info);
    if (job->corrupt_data_warning) {
        snprintf(message, message_size, "invalid JPEG: %s", job->warning);
        return IMAGE_ERR_CORRUPT;
    }
    image->width = (int)width;
    image->height = (int)height;
    image->channels = 3;
    image->pixels = job->pixels;
    job->pixels = NULL;
    return IMAGE_OK;
}

image_status jpeg_decode_memory(const unsigned char *data, size_t size,
                                decoded_image *image, char *message,
                                size_t message_size) {
    jpeg_job *job = calloc(1, sizeof *job);
    if (!job) {
        snprintf(message, message_size, "out of memory");
        return IMAGE_ERR_NO_MEMORY;
    }
    /* The error manager must exist before jpeg_create_decompress, which can
     * already fail; client_data is set here for the same reason. */
    job->info.err = jpeg_std_error(&job->errors);
    job->errors.error_exit = jpeg_on_error;
    job->errors.emit_message = jpeg_on_message;
    job->info.client_data = job;
    image_status status = jpeg_run(job, data, size, image, message, message_size);
    /* Safe even if creation failed half-way: it only frees what exists. */
    jpeg_destroy_decompress(&job->info);
    free(job->pixels);
    free(job->cmyk_row);
    free(job);
    return status;
}
