/* MobileNet as the base of your own model: a pretrained MobileNet V2 gives
 * the feature map at one of its taps, and a small head of our own, made of
 * mnet's building blocks, turns it into 4 outputs per image:
 *
 *   block13/expand (14x14x576 at 224x224 input)
 *     -> 1x1 conv to 32 channels + ReLU          (mnet_conv2d)
 *     -> 3x3 depthwise conv + ReLU6, SAME padding (mnet_conv2d, groups = 32)
 *     -> global average pool + fully connected 4 (mnet_global_pool_fc)
 *
 * The head's weights stand in for trained ones: fixed pseudo-random numbers
 * from a 32-bit linear congruential generator, drawn in the order the layers
 * are listed (weights, then bias, per layer), so anyone can regenerate them.
 *
 * usage: custom_head MODEL IMAGE...   (MobileNet V2 model, JPEG/PNG images)
 * prints: IMAGE: out0 out1 out2 out3 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "image_io.h" /* the CLI's JPEG/PNG decoder, tools/mnet/ */
#include "mnet.h"

#define TAP "block13/expand"
enum { HIDDEN = 32, OUTPUTS = 4, SEED = 20240611 };

/* Uniform in [-scale, scale): the top 24 bits of the LCG state. */
static float next_weight(uint32_t *state, float scale) {
    *state = *state * 1664525u + 1013904223u;
    return scale * ((float)(*state >> 8) * (2.0f / 16777216.0f) - 1.0f);
}

static void fill(float *values, size_t count, uint32_t *state, float scale) {
    for (size_t i = 0; i < count; i++) values[i] = next_weight(state, scale);
}

typedef struct head {
    int in_channels;
    float *pointwise_w, pointwise_b[HIDDEN]; /* [HIDDEN][1][1][in_channels] */
    float depthwise_w[HIDDEN * 9], depthwise_b[HIDDEN]; /* [HIDDEN][3][3][1] */
    float fc_w[OUTPUTS * HIDDEN], fc_b[OUTPUTS];
    float *hidden, *hidden2; /* activations of the two convolutions */
    size_t hidden_count;
} head;

static void head_free(head *h) {
    free(h->pointwise_w);
    free(h->hidden);
    free(h->hidden2);
    h->pointwise_w = h->hidden = h->hidden2 = NULL;
}

static int head_init(head *h, const mnet_tensor *features) {
    uint32_t state = SEED;
    h->in_channels = features->channels;
    h->hidden_count = (size_t)features->height * (size_t)features->width * HIDDEN;
    h->pointwise_w = malloc(sizeof(float) * HIDDEN * (size_t)features->channels);
    h->hidden = malloc(sizeof(float) * h->hidden_count);
    h->hidden2 = malloc(sizeof(float) * h->hidden_count);
    if (!h->pointwise_w || !h->hidden || !h->hidden2) {
        head_free(h);
        return -1;
    }
    fill(h->pointwise_w, (size_t)HIDDEN * (size_t)features->channels, &state, 0.1f);
    fill(h->pointwise_b, HIDDEN, &state, 0.1f);
    fill(h->depthwise_w, HIDDEN * 9, &state, 0.5f);
    fill(h->depthwise_b, HIDDEN, &state, 0.1f);
    fill(h->fc_w, OUTPUTS * HIDDEN, &state, 0.5f);
    fill(h->fc_b, OUTPUTS, &state, 0.1f);
    return 0;
}

static mnet_status head_run(head *h, const mnet_tensor *features, float out[OUTPUTS]) {
    mnet_conv2d_params pointwise = {HIDDEN, 1, 1, 1, 1, MNET_PAD_TF_SAME, MNET_ACT_RELU,
                                    h->pointwise_w, h->pointwise_b};
    mnet_conv2d_params depthwise = {HIDDEN, 3, 1, 1, HIDDEN, MNET_PAD_TF_SAME, MNET_ACT_RELU6,
                                    h->depthwise_w, h->depthwise_b};
    mnet_tensor hidden = {"head/pointwise", features->height, features->width, HIDDEN, h->hidden};
    mnet_tensor hidden2 = {"head/depthwise", features->height, features->width, HIDDEN,
                           h->hidden2};
    mnet_status s = mnet_conv2d(&pointwise, features, h->hidden, h->hidden_count);
    if (s == MNET_OK) s = mnet_conv2d(&depthwise, &hidden, h->hidden2, h->hidden_count);
    if (s == MNET_OK) s = mnet_global_pool_fc(&hidden2, OUTPUTS, h->fc_w, h->fc_b, out);
    return s;
}

/* Backbone features of one image file, then the head; 0 or 1 (printed). */
static int run_image(mnet_session *session, head *h, const char *path) {
    decoded_image image = {0};
    char reason[IMAGE_MESSAGE_SIZE];
    if (image_load(path, &image, reason, sizeof reason) != IMAGE_OK) {
        fprintf(stderr, "%s: %s\n", path, reason);
        return 1;
    }
    mnet_image view = mnet_image_packed(image.channels == 4 ? MNET_PIXEL_RGBA : MNET_PIXEL_RGB,
                                        image.pixels, image.width, image.height,
                                        (size_t)image.width * (size_t)image.channels);
    mnet_tensor features;
    float out[OUTPUTS];
    mnet_status s = mnet_features(session, &view, NULL, &features);
    if (s == MNET_OK && !h->hidden && head_init(h, &features) != 0) s = MNET_ERR_OUT_OF_MEMORY;
    if (s == MNET_OK) s = head_run(h, &features, out);
    decoded_image_free(&image);
    if (s != MNET_OK) {
        const char *message = mnet_session_error(session);
        fprintf(stderr, "%s: %s\n", path, message[0] ? message : mnet_status_string(s));
        return 1;
    }
    printf("%s:", path);
    for (int i = 0; i < OUTPUTS; i++) printf(" %.7g", (double)out[i]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    const char *taps[] = {TAP};
    mnet_session_options session_options = {taps, 1};
    mnet_model *model = NULL;
    mnet_session *session = NULL;
    mnet_error error;
    head h = {0};
    int failed = 1;
    if (mnet_model_load(argv[1], NULL, &model, &error) != MNET_OK ||
        mnet_session_create(model, &session_options, &session, &error) != MNET_OK) {
        fprintf(stderr, "%s\n", error.message);
    } else {
        failed = 0;
        for (int i = 2; i < argc; i++) failed |= run_image(session, &h, argv[i]);
    }
    head_free(&h);
    mnet_session_destroy(session);
    mnet_model_destroy(model);
    return failed;
}
