/* Decoding of JPEG and PNG files into packed 8-bit RGB or RGBA pixels for the
 * CLI and the examples. The format is recognised by its magic bytes, never by
 * the file name. Every failure leaves a one-line reason in a caller buffer
 * and frees whatever was allocated. */
#ifndef MNET_TOOLS_IMAGE_IO_H
#define MNET_TOOLS_IMAGE_IO_H

#include <stddef.h>

/* Inputs above these are refused before any pixel memory is allocated. */
#define IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)
#define IMAGE_MAX_SIDE 32768
#define IMAGE_MAX_PIXELS ((size_t)64 << 20)

typedef enum image_status {
    IMAGE_OK = 0,
    IMAGE_ERR_IO,          /* cannot open or read the file */
    IMAGE_ERR_UNKNOWN,     /* neither JPEG nor PNG */
    IMAGE_ERR_CORRUPT,     /* decoder rejected the data (truncated, bad CRC...) */
    IMAGE_ERR_UNSUPPORTED, /* valid file in a variant we do not decode */
    IMAGE_ERR_LIMIT,       /* larger than the limits above */
    IMAGE_ERR_NO_MEMORY
} image_status;

/* Pixels are row-major, tightly packed (stride = width * channels);
 * channels is 3 (RGB) or 4 (RGBA, only for PNGs with transparency). */
typedef struct decoded_image {
    int width, height, channels;
    unsigned char *pixels;
} decoded_image;

#define IMAGE_MESSAGE_SIZE 256

/* Decodes an in-memory file. On failure *image is zeroed and message holds
 * the reason (without the file name). */
image_status image_decode(const unsigned char *data, size_t size,
                          decoded_image *image, char *message,
                          size_t message_size);

/* Reads and decodes a file; message as for image_decode. */
image_status image_load(const char *path, decoded_image *image, char *message,
                        size_t message_size);

/* Reads a whole file (also a pipe or device) into a malloc'ed buffer the
 * caller frees; refuses files above IMAGE_MAX_FILE_BYTES. message as for
 * image_decode. */
image_status image_read_file(const char *path, unsigned char **data, size_t *size,
                             char *message, size_t message_size);

void decoded_image_free(decoded_image *image);

#endif
