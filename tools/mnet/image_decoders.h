/* The per-format decoders behind image_decode; each checks the limits of
 * image_io.h and frees everything it allocated when it fails. */
#ifndef MNET_TOOLS_IMAGE_DECODERS_H
#define MNET_TOOLS_IMAGE_DECODERS_H

#include "image_io.h"

image_status jpeg_decode_memory(const unsigned char *data, size_t size,
                                decoded_image *image, char *message,
                                size_t message_size);

image_status png_decode_memory(const unsigned char *data, size_t size,
                               decoded_image *image, char *message,
                               size_t message_size);

/* Shared limit check: 0 when width x height is acceptable, else fills
 * message. */
int image_size_exceeds_limits(size_t width, size_t height, char *message,
                              size_t message_size);

#endif
