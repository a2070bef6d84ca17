/* Reading image files and choosing the decoder from the first bytes. */
#include "image_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_decoders.h"

int image_size_exceeds_limits(size_t width, size_t height, char *message,
                              size_t message_size) {
    if (width == 0 || height == 0) {
        snprintf(message, message_size, "image has no pixels (%zux%zu)", width, height);
        return 1;
    }
    if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE ||
        width * height > IMAGE_MAX_PIXELS) {
        snprintf(message, message_size,
                 "image of %zux%zu pixels is above the limit (%d per side, %zu in all)",
                 width, height, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
        return 1;
    }
    return 0;
}

static int starts_with(const unsigned char *data, size_t size, const char *magic,
                       size_t magic_size) {
    return size >= magic_size && memcmp(data, magic, magic_size) == 0;
}

/* Names formats people commonly try, so the message says what the file is. */
static const char *other_format_name(const unsigned char *data, size_t size) {
    if (starts_with(data, size, "GIF8", 4)) return "GIF";
    if (starts_with(data, size, "BM", 2)) return "BMP";
    if (size >= 12 && starts_with(data, size, "RIFF", 4) &&
        memcmp(data + 8, "WEBP", 4) == 0)
        return "WebP";
    if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4))
        return "TIFF";
    if (size >= 12 && memcmp(data + 4, "ftyp", 4) == 0) return "HEIF/AVIF/MP4";
    return NULL;
}

image_status image_decode(const unsigned char *data, size_t size,
                          decoded_image *image, char *message,
                          size_t message_size) {
    memset(image, 0, sizeof *image);
    if (size == 0) {
        snprintf(message, message_size, "empty file");
        return IMAGE_ERR_UNKNOWN;
    }
    if (size > IMAGE_MAX_FILE_BYTES) {
        snprintf(message, message_size, "file larger than %zu bytes",
                 IMAGE_MAX_FILE_BYTES);
        return IMAGE_ERR_LIMIT;
    }
    if (starts_with(data, size, "\xff\xd8\xff", 3))
        return jpeg_decode_memory(data, size, image, message, message_size);
    if (starts_with(data, size, "\x89PNG\r\n\x1a\n", 8))
        return png_decode_memory(data, size, image, message, message_size);
    const char *other = other_format_name(data, size);
    if (other)
        snprintf(message, message_size, "%s images are not supported (only JPEG and PNG)",
                 other);
    else
        snprintf(message, message_size, "not a JPEG or PNG image");
    return IMAGE_ERR_UNKNOWN;
}

/* Reads the whole file, also from pipes and devices, refusing anything
 * above IMAGE_MAX_FILE_BYTES without reading further. */
image_status image_read_file(const char *path, unsigned char **data, size_t *size,
                             char *message, size_t message_size) {
    *data = NULL;
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(message, message_size, "cannot open: %s", strerror(errno));
        return IMAGE_ERR_IO;
    }
    size_t capacity = 0, used = 0;
    unsigned char *buffer = NULL;
    image_status status = IMAGE_OK;
    for (;;) {
        if (used > IMAGE_MAX_FILE_BYTES) {
            snprintf(message, message_size, "file larger than %zu bytes",
                     IMAGE_MAX_FILE_BYTES);
            status = IMAGE_ERR_LIMIT;
            break;
        }
        if (used == capacity) {
            /* One byte past the limit is enough to know it is too large. */
            size_t grown = capacity ? capacity * 2 : (size_t)1 << 16;
            if (grown > IMAGE_MAX_FILE_BYTES + 1) grown = IMAGE_MAX_FILE_BYTES + 1;
            unsigned char *bigger = realloc(buffer, grown);
            if (!bigger) {
                snprintf(message, message_size, "out of memory reading the file");
                status = IMAGE_ERR_NO_MEMORY;
                break;
            }
            buffer = bigger;
            capacity = grown;
        }
        size_t got = fread(buffer + used, 1, capacity - used, file);
        used += got;
        if (got == 0) {
            if (ferror(file)) {
                snprintf(message, message_size, "cannot read: %s", strerror(errno));
                status = IMAGE_ERR_IO;
            }
            break;
        }
    }
    fclose(file);
    if (status != IMAGE_OK) {
        free(buffer);
        return status;
    }
    *data = buffer;
    *size = used;
    return IMAGE_OK;
}

image_status image_load(const char *path, decoded_image *image, char *message,
                        size_t message_size) {
    memset(image, 0, sizeof *image);
    unsigned char *data;
    size_t size;
    image_status status = image_read_file(path, &data, &size, message, message_size);
    if (status != IMAGE_OK) return status;
    status = image_decode(data, size, image, message, message_size);
    free(data);
    return status;
}

void decoded_image_free(decoded_image *image) {
    if (!image) return;
    free(image->pixels);
    image->pixels = NULL;
    image->width = image->height = image->channels = 0;
}
