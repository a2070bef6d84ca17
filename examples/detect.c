/* Object detection in a few lines: the objects an SSD model finds in one
 * JPEG or PNG image, with their boxes in the image's own pixels.
 * usage: detect_example MODEL IMAGE [THRESHOLD] */
#include <stdio.h>
#include <stdlib.h>

#include "image_io.h" /* the CLI's JPEG/PNG decoder, tools/mnet/ */
#include "mnet.h"

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s MODEL IMAGE [THRESHOLD]\n", argv[0]);
        return 2;
    }
    mnet_model *model = NULL;
    mnet_session *session = NULL;
    mnet_error error;
    decoded_image image = {0};
    char reason[IMAGE_MESSAGE_SIZE];
    int failed = 1;
    if (mnet_model_load(argv[1], NULL, &model, &error) != MNET_OK ||
        mnet_session_create(model, NULL, &session, &error) != MNET_OK) {
        fprintf(stderr, "%s\n", error.message);
    } else if (image_load(argv[2], &image, reason, sizeof reason) != IMAGE_OK) {
        fprintf(stderr, "%s: %s\n", argv[2], reason);
    } else {
        mnet_image view = mnet_image_packed(image.channels == 4 ? MNET_PIXEL_RGBA : MNET_PIXEL_RGB,
                                            image.pixels, image.width, image.height,
                                            (size_t)image.width * (size_t)image.channels);
        mnet_detect_options options;
        mnet_detect_options_init(&options); /* the model's own settings */
        options.score_threshold = argc == 4 ? strtof(argv[3], NULL) : 0.5f;
        mnet_detection found[100];
        int count = 0;
        failed = mnet_detect(session, &view, NULL, &options, found, 100, &count) != MNET_OK;
        if (failed) fprintf(stderr, "%s\n", mnet_session_error(session));
        for (int i = 0; i < count && !failed; i++)
            printf("%.3f %s [%.0f %.0f %.0f %.0f]\n", found[i].score, found[i].label,
                   found[i].box[0], found[i].box[1], found[i].box[2], found[i].box[3]);
    }
    decoded_image_free(&image);
    mnet_session_destroy(session); /* both accept NULL */
    mnet_model_destroy(model);
    return failed;
}
