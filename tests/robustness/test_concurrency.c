/* One model shared by several threads, each with its own session, must give
 * every thread exactly the results of a single-threaded run: the model is
 * immutable after loading and sessions share nothing. Run under
 * ThreadSanitizer by scripts/sanitizers.sh; here it checks the results bit
 * for bit.
 *
 * Phases: (1) four threads load the same file at once; (2) four threads
 * share one model, single-threaded sessions, and create a fresh session now
 * and then; (3) the same with sessions that run two worker threads each.
 * For each task: the bundled MobileNet V2 (classify), SSD MobileNet V2
 * (detect) and DeepLabv3 dm 0.5 (segment) from $MNET_SOURCE_DIR (each
 * skipped if absent). MNET_CONCURRENCY_ITERATIONS sets the passes per
 * thread (default 3). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnet.h"
#include "test_util.h"

#define NUM_THREADS 4
#define NUM_IMAGES 3
#define TOP_K 5
#define MAX_SIDE 640

/* The task of the model under test; set before any thread starts and only
 * read afterwards. */
static mnet_task task = MNET_TASK_CLASSIFY;

typedef struct test_image {
    int width, height;
    unsigned char *pixels;
} test_image;

#define MAX_DETECTIONS 100

/* What one run produced: the task's answer (top-k, detections or the mask)
 * and the network's raw output 0. */
typedef struct result {
    mnet_class top[TOP_K];
    mnet_detection detections[MAX_DETECTIONS];
    int count;
    unsigned char *mask;
    size_t mask_size;
    float *logits;
    int num_logits;
} result;

typedef struct worker {
    int index;
    const mnet_model *model;
    const test_image *images;
    const result *expected;
    int iterations;
    int mismatches;
    int failures;
    char first_error[600];
} worker;

/* Smooth random content (sums of a few gradients plus noise), so that the
 * network's output depends on every part of the image. */
static void make_image(test_image *im, int width, int height, test_rng *rng) {
    im->width = width;
    im->height = height;
    im->pixels = malloc((size_t)width * height * 3);
    float a[3], b[3];
    for (int c = 0; c < 3; c++) {
        a[c] = test_rng_float(rng, -1.0f, 1.0f);
        b[c] = test_rng_float(rng, -1.0f, 1.0f);
    }
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < 3; c++) {
                float v = 128.0f + 90.0f * (a[c] * (float)x / (float)width +
                                            b[c] * (float)y / (float)height) +
                          test_rng_float(rng, -30.0f, 30.0f);
                v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
                im->pixels[((size_t)y * width + x) * 3 + c] = (unsigned char)v;
            }
}

/* Runs the model's task and copies its answer and output 0; 0 on success. */
static int classify(mnet_session *session, const test_image *im, result *out, char *why,
                    size_t why_size) {
    mnet_image view = mnet_image_packed(MNET_PIXEL_RGB, im->pixels, im->width, im->height,
                                        (size_t)im->width * 3);
    mnet_status st;
    if (task == MNET_TASK_DETECT) {
        mnet_detect_options options;
        mnet_detect_options_init(&options);
        options.score_threshold = 0.05f;
        st = mnet_detect(session, &view, NULL, &options, out->detections, MAX_DETECTIONS,
                         &out->count);
    } else if (task == MNET_TASK_SEGMENT) {
        out->mask_size = (size_t)im->width * im->height;
        if (!out->mask) out->mask = malloc((size_t)MAX_SIDE * MAX_SIDE);
        st = mnet_segment(session, &view, NULL, out->mask, (size_t)im->width);
    } else {
        st = mnet_classify(session, &view, NULL, TOP_K, out->top, &out->count);
    }
    if (st != MNET_OK) {
        snprintf(why, why_size, "task: %.200s", mnet_session_error(session));
        return -1;
    }
    mnet_tensor logits;
    if (mnet_output(session, 0, &logits) != MNET_OK) {
        snprintf(why, why_size, "mnet_output failed");
        return -1;
    }
    out->num_logits = logits.height * logits.width * logits.channels;
    if (!out->logits) out->logits = malloc((size_t)out->num_logits * sizeof(float));
    memcpy(out->logits, logits.data, (size_t)out->num_logits * sizeof(float));
    return 0;
}

static int same_result(const result *a, const result *b) {
    if (a->count != b->count || a->num_logits != b->num_logits) return 0;
    if (task == MNET_TASK_DETECT)
        for (int i = 0; i < a->count; i++)
            if (a->detections[i].class_index != b->detections[i].class_index ||
                memcmp(&a->detections[i].score, &b->detections[i].score, sizeof(float)) != 0 ||
                memcmp(a->detections[i].box, b->detections[i].box, sizeof a->detections[i].box))
                return 0;
    if (task == MNET_TASK_SEGMENT &&
        (a->mask_size != b->mask_size || memcmp(a->mask, b->mask, a->mask_size) != 0))
        return 0;
    for (int i = 0; task == MNET_TASK_CLASSIFY && i < a->count; i++)
        if (a->top[i].index != b->top[i].index ||
            memcmp(&a->top[i].score, &b->top[i].score, sizeof(float)) != 0 ||
            strcmp(a->top[i].label, b->top[i].label) != 0)
            return 0;
    return memcmp(a->logits, b->logits, (size_t)a->num_logits * sizeof(float)) == 0;
}

static void *work(void *arg) {
    worker *w = arg;
    mnet_session *session = NULL;
    mnet_error error;
    result got;
    memset(&got, 0, sizeof got);
    for (int it = 0; it < w->iterations; it++) {
        /* Sessions come and go while others run on the same model. */
        if (!session || it % 2 == 1) {
            mnet_session_destroy(session);
            if (mnet_session_create(w->model, NULL, &session, &error) != MNET_OK) {
                snprintf(w->first_error, sizeof w->first_error, "session: %.200s", error.message);
                w->failures++;
                break;
            }
        }
        for (int i = 0; i < NUM_IMAGES; i++) {
            /* Threads visit the images in different orders. */
            int k = (i + it + w->index) % NUM_IMAGES;
            char why[256];
            if (classify(session, &w->images[k], &got, why, sizeof why) != 0) {
                if (!w->failures) snprintf(w->first_error, sizeof w->first_error, "%s", why);
                w->failures++;
            } else if (!same_result(&got, &w->expected[k])) {
                w->mismatches++;
            }
        }
    }
    mnet_session_destroy(session);
    free(got.logits);
    free(got.mask);
    return NULL;
}

typedef struct loader {
    const char *path;
    mnet_model *model;
    char message[512];
} loader;

static void *load(void *arg) {
    loader *l = arg;
    mnet_options options;
    mnet_options_init(&options);
    options.threads = 1;
    mnet_error error;
    if (mnet_model_load(l->path, &options, &l->model, &error) != MNET_OK)
        snprintf(l->message, sizeof l->message, "%s", error.message);
    return NULL;
}

/* Four threads load the file at once; each model must classify like the
 * reference. */
static void phase_concurrent_loads(const char *path, const test_image *images,
                                   const result *expected) {
    pthread_t threads[NUM_THREADS];
    loader loaders[NUM_THREADS];
    memset(loaders, 0, sizeof loaders);
    for (int t = 0; t < NUM_THREADS; t++) {
        loaders[t].path = path;
        CHECK(pthread_create(&threads[t], NULL, load, &loaders[t]) == 0);
    }
    for (int t = 0; t < NUM_THREADS; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < NUM_THREADS; t++) {
        CHECK_MSG(loaders[t].model != NULL, "concurrent load %d: %s", t, loaders[t].message);
        if (!loaders[t].model) continue;
        mnet_session *session = NULL;
        CHECK(mnet_session_create(loaders[t].model, NULL, &session, NULL) == MNET_OK);
        result got;
        memset(&got, 0, sizeof got);
        char why[256] = "";
        CHECK_MSG(session && classify(session, &images[t % NUM_IMAGES], &got, why, sizeof why) == 0,
                  "%s", why);
        CHECK_MSG(same_result(&got, &expected[t % NUM_IMAGES]),
                  "model loaded by thread %d classifies differently", t);
        free(got.logits);
        free(got.mask);
        mnet_session_destroy(session);
        mnet_model_destroy(loaders[t].model);
    }
}

static void phase_shared_model(const mnet_model *model, const test_image *images,
                               const result *expected, int iterations, const char *name) {
    pthread_t threads[NUM_THREADS];
    worker workers[NUM_THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < NUM_THREADS; t++) {
        workers[t].index = t;
        workers[t].model = model;
        workers[t].images = images;
        workers[t].expected = expected;
        workers[t].iterations = iterations + t % 2; /* threads finish at different times */
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    int runs = 0;
    for (int t = 0; t < NUM_THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK_MSG(workers[t].failures == 0, "%s, thread %d: %d failures, first: %s", name, t,
                  workers[t].failures, workers[t].first_error);
        CHECK_MSG(workers[t].mismatches == 0,
                  "%s, thread %d: %d results differ from the single-threaded run", name, t,
                  workers[t].mismatches);
        runs += workers[t].iterations * NUM_IMAGES;
    }
    printf("%s: %d runs on %d threads, all bit-identical: %s\n", name, runs, NUM_THREADS,
           test_failures ? "no" : "yes");
}

static mnet_model *load_with_threads(const char *path, int threads) {
    mnet_options options;
    mnet_options_init(&options);
    options.threads = threads;
    mnet_model *model = NULL;
    mnet_error error;
    if (mnet_model_load(path, &options, &model, &error) != MNET_OK)
        fprintf(stderr, "%s\n", error.message);
    return model;
}

static void test_model(const char *source, const char *file, mnet_task model_task,
                       const test_image *images, int iterations) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s", source, file);
    if (access(path, R_OK) != 0) {
        printf("skipped: %s not found\n", path);
        return;
    }
    task = model_task;
    mnet_model *single = load_with_threads(path, 1);
    CHECK(single != NULL);
    if (!single) return;

    /* The reference: one session, one thread, images in order. */
    result expected[NUM_IMAGES];
    memset(expected, 0, sizeof expected);
    mnet_session *session = NULL;
    CHECK(mnet_session_create(single, NULL, &session, NULL) == MNET_OK);
    for (int i = 0; i < NUM_IMAGES && session; i++) {
        char why[256] = "";
        CHECK_MSG(classify(session, &images[i], &expected[i], why, sizeof why) == 0, "%s", why);
    }
    mnet_session_destroy(session);
    /* Different images must give different outputs, or a mix-up between
     * sessions could go unnoticed. */
    CHECK(!same_result(&expected[0], &expected[1]) && !same_result(&expected[1], &expected[2]));

    phase_concurrent_loads(path, images, expected);
    phase_shared_model(single, images, expected, iterations, file);
    mnet_model *dual = load_with_threads(path, 2);
    CHECK(dual != NULL);
    if (dual) phase_shared_model(dual, images, expected, iterations, file);

    mnet_model_destroy(dual);
    mnet_model_destroy(single);
    for (int i = 0; i < NUM_IMAGES; i++) {
        free(expected[i].logits);
        free(expected[i].mask);
    }
}

int main(void) {
    const char *source = getenv("MNET_SOURCE_DIR");
    if (!source) source = ".";
    const char *env = getenv("MNET_CONCURRENCY_ITERATIONS");
    int iterations = env && atoi(env) > 0 ? atoi(env) : 3;

    test_rng rng = {0xC0C0A5EEDull};
    test_image images[NUM_IMAGES];
    make_image(&images[0], 224, 224, &rng);
    make_image(&images[1], 173, 301, &rng);
    make_image(&images[2], MAX_SIDE, 97, &rng);

    test_model(source, "mobilenet_v2_1.0_224.safetensors", MNET_TASK_CLASSIFY, images, iterations);
    test_model(source, "ssd_mobilenet_v2_coco.safetensors", MNET_TASK_DETECT, images, iterations);
    test_model(source, "deeplabv3_mnv2_dm0.5_pascal.safetensors", MNET_TASK_SEGMENT, images,
               iterations > 1 ? iterations - 1 : 1);
    for (int i = 0; i < NUM_IMAGES; i++) free(images[i].pixels);
    TEST_MAIN_END();
}
