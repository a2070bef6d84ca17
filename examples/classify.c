/* The smallest complete use of mnet: top-5 classes of one JPEG or PNG image.
 * usage: classify_example MODEL IMAGE */
#include <stdio.h>

#include "image_io.h" /* the CLI's JPEG/PNG decoder, tools/mnet/ */
#include "mnet.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE\n", argv[0]);
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
        mnet_class top[5];
        int count = 0;
        failed = mnet_classify(session, &view, NULL, 5, top, &count) != MNET_OK;
        if (failed) fprintf(stderr, "%s\n", mnet_session_error(session));
        for (int i = 0; i < count && !failed; i++) printf("%.3f %s\n", top[i].score, top[i].label);
    }
    decoded_image_free(&image);
    mnet_session_destroy(session); /* both accept NULL */
    mnet_model_destroy(model);
    return failed;
}
