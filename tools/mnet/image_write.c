/* PNG encoding. libpng reports errors by longjmp, so everything that must
 * survive it lives in a png_write_job owned by the caller's frame. */
#include "image_write.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

typedef struct png_write_job {
    FILE *file;
    png_structp png;
    png_infop info;
    char reason[256];
} png_write_job;

static void on_write_error(png_structp png, png_const_charp text) {
    png_write_job *job = png_get_error_ptr(png);
    snprintf(job->reason, sizeof job->reason, "%s", text);
    png_longjmp(png, 1);
}

static void on_write_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

/* color_type PNG_COLOR_TYPE_RGB or _PALETTE; bytes_per_pixel 3 or 1. */
static int write_png(const char *path, const unsigned char *pixels, int width, int height,
                     int color_type, const unsigned char *palette, int palette_size,
                     char *message, size_t message_size) {
    png_write_job job;
    memset(&job, 0, sizeof job);
    job.file = fopen(path, "wb");
    if (!job.file) {
        snprintf(message, message_size, "cannot create %s: %s", path, strerror(errno));
        return 0;
    }
    job.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, on_write_error,
                                      on_write_warning);
    if (job.png) job.info = png_create_info_struct(job.png);
    int ok = 0;
    if (!job.png || !job.info) {
        snprintf(job.reason, sizeof job.reason, "out of memory");
    } else if (setjmp(png_jmpbuf(job.png)) == 0) {
        size_t row_bytes = (size_t)width * (color_type == PNG_COLOR_TYPE_RGB ? 3 : 1);
        png_init_io(job.png, job.file);
        png_set_IHDR(job.png, job.info, (png_uint_32)width, (png_uint_32)height, 8, color_type,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        if (color_type == PNG_COLOR_TYPE_PALETTE) {
            png_color colors[256];
            for (int i = 0; i < palette_size; i++) {
                colors[i].red = palette[3 * i];
                colors[i].green = palette[3 * i + 1];
                colors[i].blue = palette[3 * i + 2];
            }
            png_set_PLTE(job.png, job.info, colors, palette_size);
        }
        /* Pictures for people: fast compression is plenty. */
        png_set_compression_level(job.png, 3);
        png_write_info(job.png, job.info);
        for (int y = 0; y < height; y++)
            png_write_row(job.png, (png_const_bytep)(pixels + (size_t)y * row_bytes));
        png_write_end(job.png, NULL);
        ok = 1;
    }
    png_destroy_write_struct(job.png ? &job.png : NULL, job.info ? &job.info : NULL);
    if (fclose(job.file) != 0 && ok) {
        snprintf(job.reason, sizeof job.reason, "%s", strerror(errno));
        ok = 0;
    }
    if (!ok) {
        snprintf(message, message_size, "cannot write %s: %s", path, job.reason);
        remove(path);
    }
    return ok;
}

int png_write_rgb(const char *path, const unsigned char *rgb, int width, int height,
                  char *message, size_t message_size) {
    return write_png(path, rgb, width, height, PNG_COLOR_TYPE_RGB, NULL, 0, message,
                     message_size);
}

int png_write_indexed(const char *path, const unsigned char *indices, int width, int height,
                      const unsigned char *palette, int palette_size, char *message,
                      size_t message_size) {
    if (palette_size < 1 || palette_size > 256) {
        snprintf(message, message_size, "cannot write %s: palette of %d colours", path,
                 palette_size);
        return 0;
    }
    return write_png(path, indices, width, height, PNG_COLOR_TYPE_PALETTE, palette,
                     palette_size, message, message_size);
}
