/* A session of a model running int8 holds the uint8 arena next to the float
 * one: mnet_model_session_bytes and max_session_bytes must count it before
 * anything is allocated, and the figure must equal what the created session
 * reports. */
#include <stdlib.h>
#include <string.h>

#include "mnet.h"
#include "test_util.h"

static mnet_model *load(const char *path, mnet_precision precision, size_t limit) {
    mnet_options o;
    mnet_options_init(&o);
    o.precision = precision;
    o.threads = 2;
    o.max_session_bytes = limit;
    mnet_model *m = NULL;
    mnet_error e;
    if (mnet_model_load(path, &o, &m, &e) != MNET_OK) {
        fprintf(stderr, "%s: %s\n", path, e.message);
        return NULL;
    }
    return m;
}

int main(void) {
    const char *src = getenv("MNET_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/mobilenet_v2_1.0_224.safetensors", src ? src : ".");
    mnet_model *fp32 = load(path, MNET_PRECISION_FP32, 0);
    mnet_model *int8 = load(path, MNET_PRECISION_INT8, 0);
    CHECK(fp32 != NULL && int8 != NULL);
    if (!fp32 || !int8) {
        mnet_model_destroy(fp32);
        mnet_model_destroy(int8);
        TEST_MAIN_END();
    }
    size_t fp32_bytes = mnet_model_session_bytes(fp32, NULL);
    size_t int8_bytes = mnet_model_session_bytes(int8, NULL);
    /* the uint8 arena of V2 224 holds at least the 112x112x96 expansion */
    CHECK_MSG(int8_bytes >= fp32_bytes + 112 * 112 * 96, "int8 %zu vs fp32 %zu bytes", int8_bytes,
              fp32_bytes);

    mnet_session *s = NULL;
    mnet_error e;
    CHECK(mnet_session_create(int8, NULL, &s, &e) == MNET_OK);
    CHECK_MSG(mnet_session_memory(s) == int8_bytes, "created %zu, predicted %zu",
              mnet_session_memory(s), int8_bytes);
    mnet_session_destroy(s);
    mnet_model_destroy(int8);
    mnet_model_destroy(fp32);

    /* A limit that fits the float session but not the int8 one refuses the
     * int8 session up front. */
    mnet_model *limited = load(path, MNET_PRECISION_INT8, fp32_bytes);
    CHECK(limited != NULL);
    if (limited) {
        s = NULL;
        mnet_status st = mnet_session_create(limited, NULL, &s, &e);
        CHECK_MSG(st == MNET_ERR_LIMIT && s == NULL, "status %d: %s", (int)st, e.message);
        mnet_session_destroy(s);
        mnet_model_destroy(limited);
    }
    TEST_MAIN_END();
}
