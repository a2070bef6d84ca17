/* libFuzzer target: a whole model file from memory, as an application gets
 * it from a user: load, inspect (info, plan, taps, labels), create a session
 * with a tap, run on a deterministic random input and run the model's task
 * on a small image. Anything the library accepts must work to the end.
 *
 * Inputs above MAX_MODEL_BYTES and models whose one inference costs more
 * than MAX_MACS are skipped after loading, so that every execution stays in
 * the millisecond range; sessions are capped to MAX_SESSION_BYTES through
 * the public limit. Built by scripts/fuzz.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mnet.h"

#define MAX_MODEL_BYTES (1u << 20)
#define MAX_MACS 20000000
#define MAX_SESSION_BYTES (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Reads every value so that ASan sees the whole buffer. Values are not
 * judged: fuzzed weights may legitimately overflow to inf or NaN. */
static float touch(const float *values, size_t count) {
    float sum = 0.0f;
    for (size_t i = 0; i < count; i++) sum += values[i] * 0.0f;
    return sum;
}

static void inspect(const mnet_model *model) {
    mnet_model_info info;
    if (mnet_model_get_info(model, &info) != MNET_OK) abort();
    if (!info.architecture || !info.name || !info.provenance || !info.weights_dtype) abort();
    size_t total = strlen(info.architecture) + strlen(info.name) + strlen(info.provenance);
    for (int i = 0; i < info.num_classes; i++) {
        const char *label = mnet_model_label(model, i);
        if (label) total += strlen(label);
    }
    int steps = mnet_model_plan_size(model);
    for (int i = 0; i < steps; i++) {
        mnet_plan_step step;
        if (mnet_model_plan_step(model, i, &step) != MNET_OK) abort();
        total += strlen(step.name) + strlen(step.op) + strlen(step.activation);
    }
    for (int i = 0; i < mnet_model_tap_count(model); i++) total += strlen(mnet_model_tap_name(model, i));
    (void)total;
}

static void run_task(mnet_session *session, const mnet_model_info *info, uint64_t *rng) {
    enum { W = 23, H = 17 };
    static unsigned char pixels[W * H * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (unsigned char)next_random(rng);
    mnet_image image = mnet_image_packed(MNET_PIXEL_RGB, pixels, W, H, W * 3);
    if (info->tasks & MNET_TASK_CLASSIFY) {
        mnet_class top[5];
        int n = -1;
        if (mnet_classify(session, &image, NULL, 5, top, &n) == MNET_OK) {
            if (n < 0 || n > 5) abort();
            for (int i = 0; i < n; i++)
                if (!top[i].label || top[i].index < 0 || top[i].index >= info->num_classes) abort();
        }
    }
    if (info->tasks & MNET_TASK_DETECT) {
        mnet_detection found[8];
        int n = -1;
        if (mnet_detect(session, &image, NULL, NULL, found, 8, &n) == MNET_OK) {
            if (n < 0 || n > 8) abort();
            for (int i = 0; i < n; i++)
                if (!found[i].label || found[i].class_index < 0 ||
                    found[i].class_index >= info->num_classes)
                    abort();
        }
    }
    if (info->tasks & MNET_TASK_SEGMENT) {
        static uint8_t mask[W * H];
        if (mnet_segment(session, &image, NULL, mask, W) == MNET_OK)
            for (size_t i = 0; i < sizeof mask; i++)
                if (info->num_classes > 0 && mask[i] >= info->num_classes) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > MAX_MODEL_BYTES) return 0;
    mnet_options options;
    mnet_options_init(&options);
    options.threads = 1;
    options.max_session_bytes = MAX_SESSION_BYTES;
    mnet_model *model = NULL;
    mnet_error error;
    if (mnet_model_load_memory(data, size, &options, &model, &error) != MNET_OK) {
        if (model || error.message[0] == '\0') abort();
        return 0;
    }
    inspect(model);
    mnet_model_info info;
    mnet_model_get_info(model, &info);
    if (info.macs < 0 || info.macs > MAX_MACS) {
        mnet_model_destroy(model);
        return 0;
    }
    const char *tap = mnet_model_tap_count(model) > 0 ? mnet_model_tap_name(model, 0) : NULL;
    mnet_session_options session_options = {&tap, tap ? 1 : 0};
    mnet_session *session = NULL;
    if (mnet_session_create(model, &session_options, &session, &error) == MNET_OK) {
        size_t count = (size_t)info.input_width * (size_t)info.input_height *
                       (size_t)info.input_channels;
        float *input = malloc((count ? count : 1) * sizeof(float));
        uint64_t rng = 0x9E3779B97F4A7C15ull ^ size;
        for (size_t i = 0; input && i < count; i++)
            input[i] = (float)(int64_t)(next_random(&rng) % 512) / 128.0f - 2.0f;
        if (input && mnet_run(session, input, count) == MNET_OK) {
            mnet_tensor out;
            if (mnet_output(session, 0, &out) != MNET_OK) abort();
            touch(out.data, (size_t)out.height * out.width * out.channels);
            if (tap) {
                mnet_tensor t;
                if (mnet_session_tap(session, 0, &t) != MNET_OK) abort();
                touch(t.data, (size_t)t.height * t.width * t.channels);
            }
        }
        free(input);
        run_task(session, &info, &rng);
        mnet_session_destroy(session);
    } else if (error.message[0] == '\0') {
        abort();
    }
    mnet_model_destroy(model);
    return 0;
}
