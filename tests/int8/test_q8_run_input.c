/* mnet_run at int8 quantizes the caller's input where it is (no float copy
 * into the arena): a run must depend on its own input only, whatever ran
 * before on the session, and the input must stay untouched. */
#include <stdlib.h>
#include <string.h>

#include "mnet.h"
#include "test_util.h"

enum { SIDE = 224, COUNT = SIDE * SIDE * 3, CLASSES = 1001 };

/* Runs x, copies output 0 to out; 0 on failure. */
static int run(mnet_session *s, const float *x, float *out) {
    mnet_tensor t;
    if (mnet_run(s, x, COUNT) != MNET_OK || mnet_output(s, 0, &t) != MNET_OK) return 0;
    if ((size_t)t.height * t.width * t.channels != CLASSES) return 0;
    memcpy(out, t.data, CLASSES * sizeof(float));
    return 1;
}

int main(void) {
    const char *src = getenv("MNET_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/mobilenet_v2_1.0_224.safetensors", src ? src : ".");
    mnet_options o;
    mnet_options_init(&o);
    o.precision = MNET_PRECISION_INT8;
    o.threads = 1;
    mnet_model *m = NULL;
    mnet_error e;
    if (mnet_model_load(path, &o, &m, &e) != MNET_OK) {
        fprintf(stderr, "%s: %s\n", path, e.message);
        CHECK(0);
        TEST_MAIN_END();
    }
    mnet_session *first = NULL, *second = NULL;
    CHECK(mnet_session_create(m, NULL, &first, &e) == MNET_OK);
    CHECK(mnet_session_create(m, NULL, &second, &e) == MNET_OK);
    float *x1 = malloc(COUNT * sizeof(float)), *x2 = malloc(COUNT * sizeof(float));
    float *keep = malloc(COUNT * sizeof(float));
    float a1[CLASSES], a2[CLASSES], b1[CLASSES], b2[CLASSES];
    test_rng r = {17};
    if (first && second && x1 && x2 && keep) {
        test_rng_fill(&r, x1, COUNT, -1.0f, 1.0f);
        test_rng_fill(&r, x2, COUNT, -1.0f, 1.0f);
        memcpy(keep, x1, COUNT * sizeof(float));
        /* the two sessions see the inputs in opposite orders */
        CHECK(run(first, x1, a1) && run(first, x2, a2));
        CHECK(run(second, x2, b2) && run(second, x1, b1));
        CHECK_MSG(memcmp(a1, b1, sizeof a1) == 0, "input 1: the output depends on the run before");
        CHECK_MSG(memcmp(a2, b2, sizeof a2) == 0, "input 2: the output depends on the run before");
        CHECK_MSG(memcmp(a1, a2, sizeof a1) != 0, "two random inputs gave the same output");
        CHECK_MSG(memcmp(keep, x1, COUNT * sizeof(float)) == 0, "mnet_run changed its input");
    }
    free(keep);
    free(x1);
    free(x2);
    mnet_session_destroy(first);
    mnet_session_destroy(second);
    mnet_model_destroy(m);
    TEST_MAIN_END();
}
