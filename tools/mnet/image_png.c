/* PNG decoding with libpng. Every colour type and bit depth is turned into
 * 8-bit RGB, or RGBA when the file has transparency. As with JPEG, libpng
 * errors longjmp, so all state that outlives the setjmp lives in a png_job
 * owned by the caller. Gamma and colour profiles are ignored on purpose:
 * classifiers were trained on the stored sample values. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_decoders.h"

typedef struct png_job {
    const unsigned char *data;
    size_t size, position;
    png_structp png;
    png_infop info;
    unsigned char *pixels;
    png_bytep *rows;
    char reason[IMAGE_MESSAGE_SIZE];
} png_job;

static void png_on_error(png_structp png, png_const_charp text) {
    png_job *job = png_get_error_ptr(png);
    snprintf(job->reason, sizeof job->reason, "%s", text);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_from_memory(png_structp png, png_bytep out, png_size_t count) {
    png_job *job = png_get_io_ptr(png);
    if (count > job->size - job->position) png_error(png, "file is truncated");
    memcpy(out, job->data + job->position, count);
    job->position += count;
}

static image_status png_run(png_job *job, decoded_image *image, char *message,
                            size_t message_size) {
    if (setjmp(png_jmpbuf(job->png))) {
        snprintf(message, message_size, "invalid PNG: %s", job->reason);
        return IMAGE_ERR_CORRUPT;
    }
    /* libpng's own IHDR limit (a million per side) stays in place; ours is
     * checked right after, so that it reports IMAGE_ERR_LIMIT. */
    png_set_read_fn(job->png, job, png_read_from_memory);
    png_read_info(job->png, job->info);

    png_uint_32 width = png_get_image_width(job->png, job->info);
    png_uint_32 height = png_get_image_height(job->png, job->info);
    int color_type = png_get_color_type(job->png, job->info);
    int bit_depth = png_get_bit_depth(job->png, job->info);
    if (image_size_exceeds_limits(width, height, message, message_size))
        return IMAGE_ERR_LIMIT;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(job->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(job->png);
    if (png_get_valid(job->png, job->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(job->png);
    if (bit_depth == 16) png_set_scale_16(job->png);
    if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(job->png);
    png_set_interlace_handling(job->png);
    png_read_update_info(job->png, job->info);

    int channels = png_get_channels(job->png, job->info);
    size_t stride = (size_t)width * (size_t)channels;
    if ((channels != 3 && channels != 4) ||
        png_get_bit_depth(job->png, job->info) != 8 ||
        png_get_rowbytes(job->png, job->info) != stride) {
        snprintf(message, message_size,
                 "PNG variant not supported (colour type %d, %d bits)", color_type,
                 bit_depth);
        return IMAGE_ERR_UNSUPPORTED;
    }
    job->pixels = malloc(stride * height);
    job->rows = malloc(sizeof *job->rows * height);
    if (!job->pixels || !job->rows) {
        snprintf(message, message_size, "out of memory for %lux%lu pixels",
                 (unsigned long)width, (unsigned long)height);
        return IMAGE_ERR_NO_MEMORY;
    }
    for (size_t y = 0; y < height; y++) job->rows[y] = job->pixels + y * stride;
    /* Stops after the last image row: a file cut off after its pixel data
     * (missing IEND) still has all of its pixels. */
    png_read_image(job->png, job->rows);

    image->width = (int)width;
    image->height = (int)height;
    image->channels = channels;
    image->pixels = job->pixels;
    job->pixels = NULL;
    return IMAGE_OK;
}

image_status png_decode_memory(const unsigned char *data, size_t size,
                               decoded_image *image, char *message,
                               size_t message_size) {
    png_job job = {.data = data, .size = size};
    job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error,
                                     png_on_warning);
    if (job.png) job.info = png_create_info_struct(job.png);
    image_status status;
    if (!job.png || !job.info) {
        snprintf(message, message_size, "out of memory");
        status = IMAGE_ERR_NO_MEMORY;
    } else {
        status = png_run(&job, image, message, message_size);
    }
    png_destroy_read_struct(job.png ? &job.png : NULL, job.info ? &job.info : NULL,
                            NULL);
    free(job.pixels);
    free(job.rows);
    return status;
}
