/* Writing the CLI's output pictures as PNG files with libpng. */
#ifndef MNET_TOOLS_IMAGE_WRITE_H
#define MNET_TOOLS_IMAGE_WRITE_H

#include <stddef.h>

/* Writes packed 8-bit RGB (stride = width * 3). Returns 1, or 0 with the
 * reason in message (the file is removed). */
int png_write_rgb(const char *path, const unsigned char *rgb, int width, int height,
                  char *message, size_t message_size);

/* Writes an 8-bit palette PNG: one index byte per pixel (stride = width)
 * and palette_size RGB triples (at most 256). */
int png_write_indexed(const char *path, const unsigned char *indices, int width, int height,
                      const unsigned char *palette, int palette_size, char *message,
                      size_t message_size);

#endif
