/* libFuzzer target: the CLI's JPEG and PNG decoders (tools/mnet/image_io.h)
 * on arbitrary bytes, as `mnet classify` gets them from a user. A decoded
 * image must be exactly as large as it says, within the documented limits,
 * and every pixel readable; a failure must say why. Built by
 * scripts/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decoded_image image;
    char message[IMAGE_MESSAGE_SIZE];
    message[0] = '\0';
    image_status status = image_decode(data, size, &image, message, sizeof message);
    if (status != IMAGE_OK) {
        if (image.pixels || image.width || image.height || message[0] == '\0') abort();
        return 0;
    }
    if (image.width <= 0 || image.height <= 0 || image.width > IMAGE_MAX_SIDE ||
        image.height > IMAGE_MAX_SIDE ||
        (size_t)image.width * (size_t)image.height > IMAGE_MAX_PIXELS ||
        (image.channels != 3 && image.channels != 4) || !image.pixels)
        abort();
    size_t bytes = (size_t)image.width * (size_t)image.height * (size_t)image.channels;
    unsigned sum = 0;
    for (size_t i = 0; i < bytes; i++) sum += image.pixels[i];
    decoded_image_free(&image);
    if (image.pixels) abort();
    return (int)(sum & 0);
}
