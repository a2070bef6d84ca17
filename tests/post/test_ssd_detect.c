/* mnet_ssd_detect and its NMS on hand-made scenes whose answer is known:
 * IoU exactly at the threshold, ties, fast vs regular class handling,
 * thresholds, max_detections, activations, scratch checks. Boxes are given
 * as anchors with zero encodings, so the decoded box is the anchor. */
#include <stdint.h>
#include <string.h>

#include "post/detection.h"
#include "test_util.h"

#define MAX_N 16
#define MAX_COLS 8

typedef struct scene {
    int n, columns;
    mnet_anchor_box anchors[MAX_N];
    float enc[MAX_N * 4];
    float scores[MAX_N * MAX_COLS];
} scene;

static const mnet_box_coder coder = {10.0f, 10.0f, 5.0f, 5.0f, 0, 0.0f};

static void set_box(scene *s, int i, float y0, float x0, float y1, float x1) {
    s->anchors[i].yc = (y0 + y1) / 2;
    s->anchors[i].xc = (x0 + x1) / 2;
    s->anchors[i].h = y1 - y0;
    s->anchors[i].w = x1 - x0;
    if (i >= s->n) s->n = i + 1;
}

static mnet_nms_params fast_params(int classes, int background) {
    mnet_nms_params p;
    memset(&p, 0, sizeof p);
    p.num_classes = classes;
    p.background_columns = background;
    p.activation = MNET_SCORE_IDENTITY;
    p.score_threshold = 0.1f;
    p.iou_threshold = 0.5f;
    p.max_detections = 10;
    p.max_classes_per_detection = 1;
    p.detections_per_class = 10;
    return p;
}

/* Runs on one layer with exactly the scratch asked for; -2 if that size is 0. */
static int run(const scene *s, const mnet_nms_params *p, mnet_raw_detection *out) {
    size_t bytes = mnet_ssd_detect_scratch_bytes((size_t)s->n, p);
    if (bytes == 0) return -2;
    void *scratch = malloc(bytes);
    const float *enc = s->enc, *scores = s->scores;
    size_t count = (size_t)s->n;
    int r = mnet_ssd_detect(1, &enc, &scores, &count, s->anchors, &coder, p, scratch, bytes, out);
    free(scratch);
    return r;
}

static void test_iou(void) {
    const float unit[4] = {0, 0, 1, 1}, left[4] = {0, 0, 1, 0.5f}, right[4] = {0, 0.5f, 1, 1};
    const float quarter[4] = {0.5f, 0.5f, 1.5f, 1.5f}, flat[4] = {0, 0, 0, 1};
    const float inverted[4] = {1, 1, 0, 0}, far[4] = {3, 3, 4, 4};
    CHECK(mnet_box_iou(unit, unit) == 1.0f);
    CHECK(mnet_box_iou(unit, left) == 0.5f);
    CHECK(mnet_box_iou(left, right) == 0.0f);       /* touching edges */
    CHECK(mnet_box_iou(unit, quarter) == 0.25f / 1.75f);
    CHECK(mnet_box_iou(quarter, unit) == mnet_box_iou(unit, quarter));
    CHECK(mnet_box_iou(unit, flat) == 0.0f);        /* zero area */
    CHECK(mnet_box_iou(inverted, unit) == 0.0f);    /* negative area */
    CHECK(mnet_box_iou(unit, far) == 0.0f);
}

static void test_threshold_edges(void) {
    /* IoU(A, B) is exactly 0.5: strict > keeps B at threshold 0.5 and
     * suppresses it at 0.49. */
    scene s = {0};
    s.columns = 1;
    set_box(&s, 0, 0, 0, 1, 1);
    set_box(&s, 1, 0, 0, 1, 0.5f);
    s.scores[0] = 0.9f;
    s.scores[1] = 0.8f;
    mnet_nms_params p = fast_params(1, 0);
    mnet_raw_detection out[16];
    CHECK(run(&s, &p, out) == 2);
    p.iou_threshold = 0.49f;
    CHECK(run(&s, &p, out) == 1);
    CHECK(out[0].anchor == 0);
    p.regular = 1;
    CHECK(run(&s, &p, out) == 1);
    p.iou_threshold = 0.5f;
    CHECK(run(&s, &p, out) == 2);

    /* A score equal to the threshold passes (>=); one just below does not. */
    p = fast_params(1, 0);
    p.score_threshold = 0.8f;
    CHECK(run(&s, &p, out) == 2);
    p.score_threshold = nextafterf(0.8f, 1.0f);
    CHECK(run(&s, &p, out) == 1);
    p.score_threshold = 0.95f;
    CHECK(run(&s, &p, out) == 0);  /* all below threshold */
    p.regular = 1;
    CHECK(run(&s, &p, out) == 0);
}

static void test_suppression_chain(void) {
    /* A suppresses B (IoU 0.43), B would suppress C (0.43) but C overlaps A
     * only by 0.11: as in TFLite, a suppressed box suppresses nothing, so A
     * and C are kept. */
    scene s = {0};
    s.columns = 1;
    set_box(&s, 0, 0, 0.0f, 1, 1.0f);
    set_box(&s, 1, 0, 0.4f, 1, 1.4f);
    set_box(&s, 2, 0, 0.8f, 1, 1.8f);
    s.scores[0] = 0.9f, s.scores[1] = 0.8f, s.scores[2] = 0.7f;
    mnet_nms_params p = fast_params(1, 0);
    p.iou_threshold = 0.4f;
    mnet_raw_detection out[16];
    for (int regular = 0; regular < 2; regular++) {
        p.regular = regular;
        CHECK(run(&s, &p, out) == 2);
        CHECK(out[0].anchor == 0 && out[1].anchor == 2);
    }
}

static void test_nan_scores(void) {
    /* NaN scores never pass, even a threshold of -inf; a NaN class next to
     * a real one does not hide it. */
    scene s = {0};
    s.columns = 2;
    set_box(&s, 0, 0.0f, 0.0f, 0.2f, 0.2f);
    set_box(&s, 1, 0.5f, 0.5f, 0.7f, 0.7f);
    s.scores[0] = NAN, s.scores[1] = NAN;
    s.scores[2] = NAN, s.scores[3] = 0.25f;
    mnet_nms_params p = fast_params(2, 0);
    p.score_threshold = -INFINITY;
    mnet_raw_detection out[16];
    for (int regular = 0; regular < 2; regular++) {
        p.regular = regular;
        CHECK(run(&s, &p, out) == 1);
        CHECK(out[0].anchor == 1 && out[0].class_index == 1 && out[0].score == 0.25f);
    }
}

static void test_ties(void) {
    /* Three identical boxes with equal scores: the lowest anchor survives. */
    scene s = {0};
    s.columns = 2;
    for (int i = 0; i < 3; i++) set_box(&s, i, 0.1f, 0.1f, 0.6f, 0.6f);
    for (int i = 0; i < 3; i++) s.scores[i * 2 + 0] = s.scores[i * 2 + 1] = 0.7f;
    mnet_nms_params p = fast_params(2, 0);
    mnet_raw_detection out[16];
    CHECK(run(&s, &p, out) == 1);
    CHECK(out[0].anchor == 0 && out[0].class_index == 0);
    /* Two classes per box, tied: lower class first. */
    p.max_classes_per_detection = 2;
    CHECK(run(&s, &p, out) == 2);
    CHECK(out[0].anchor == 0 && out[0].class_index == 0 && out[1].class_index == 1);
    /* Regular: one per class, ties ordered by anchor then class. */
    p.regular = 1;
    CHECK(run(&s, &p, out) == 2);
    CHECK(out[0].anchor == 0 && out[0].class_index == 0);
    CHECK(out[1].anchor == 0 && out[1].class_index == 1);
    /* Disjoint boxes with tied scores come out by anchor. */
    set_box(&s, 1, 0.7f, 0.7f, 0.9f, 0.9f);
    p = fast_params(2, 0);
    s.scores[1 * 2 + 1] = 0.75f;  /* anchor 1's best is class 1 */
    CHECK(run(&s, &p, out) == 2);
    CHECK(out[0].anchor == 1 && out[0].class_index == 1 && out[0].score == 0.75f);
    CHECK(out[1].anchor == 0 && out[1].class_index == 0);
}

static void test_class_handling(void) {
    /* Two heavily overlapping boxes, one per class. Fast NMS is class
     * agnostic and keeps one; regular NMS keeps both. The background column
     * is ignored even when it scores highest. */
    scene s = {0};
    s.columns = 3;
    set_box(&s, 0, 0.2f, 0.2f, 0.6f, 0.6f);
    set_box(&s, 1, 0.22f, 0.2f, 0.6f, 0.62f);
    const float rows[2][3] = {{0.99f, 0.9f, 0.05f}, {0.99f, 0.02f, 0.8f}};
    memcpy(s.scores, rows, sizeof rows);
    mnet_nms_params p = fast_params(2, 1);
    mnet_raw_detection out[16];
    CHECK(run(&s, &p, out) == 1);
    CHECK(out[0].anchor == 0 && out[0].class_index == 0 && out[0].score == 0.9f);
    CHECK(fabs(out[0].box[0] - 0.2) < 1e-6 && fabs(out[0].box[3] - 0.6) < 1e-6);
    p.regular = 1;
    CHECK(run(&s, &p, out) == 2);
    CHECK(out[0].anchor == 0 && out[0].class_index == 0);
    CHECK(out[1].anchor == 1 && out[1].class_index == 1 && out[1].score == 0.8f);

    /* max_classes_per_detection 3 with 2 classes: each box emits 2 entries,
     * the second one even below the score threshold (TFLite does). */
    p = fast_params(2, 1);
    p.max_classes_per_detection = 3;
    CHECK(run(&s, &p, out) == 2);
    CHECK(out[0].class_index == 0 && out[1].class_index == 1 && out[1].score == 0.05f);
    CHECK(out[1].anchor == 0 && memcmp(out[0].box, out[1].box, sizeof out[0].box) == 0);
    /* Rows stop at max_detections, inside a box if need be. */
    set_box(&s, 2, 0.7f, 0.7f, 0.9f, 0.9f);
    s.scores[2 * 3 + 1] = 0.3f, s.scores[2 * 3 + 2] = 0.4f;
    p.max_detections = 3;
    CHECK(run(&s, &p, out) == 3);
    CHECK(out[2].anchor == 2 && out[2].class_index == 1 && out[2].score == 0.4f);
    p.max_detections = 1;
    CHECK(run(&s, &p, out) == 1);
}

static void test_max_detections(void) {
    scene s = {0};
    s.columns = 1;
    const float score[6] = {0.3f, 0.9f, 0.5f, 0.7f, 0.2f, 0.8f};
    for (int i = 0; i < 6; i++) {
        float x = 0.15f * (float)i;
        set_box(&s, i, 0.0f, x, 0.1f, x + 0.1f);
        s.scores[i] = score[i];
    }
    mnet_nms_params p = fast_params(1, 0);
    p.max_detections = 3;
    mnet_raw_detection out[16];
    for (int regular = 0; regular < 2; regular++) {
        p.regular = regular;
        CHECK(run(&s, &p, out) == 3);
        CHECK(out[0].anchor == 1 && out[1].anchor == 5 && out[2].anchor == 3);
    }
    /* detections_per_class cuts each class in regular mode. */
    p.max_detections = 10;
    p.detections_per_class = 2;
    CHECK(run(&s, &p, out) == 2);
    p.max_detections = 0;
    CHECK(run(&s, &p, out) == 0);
}

static void test_activations(void) {
    scene s = {0};
    s.columns = 3;
    set_box(&s, 0, 0.1f, 0.1f, 0.3f, 0.3f);
    set_box(&s, 1, 0.5f, 0.5f, 0.9f, 0.9f);
    const float logits[2][3] = {{2.0f, 0.5f, -1.0f}, {-3.0f, -2.0f, 1.5f}};
    memcpy(s.scores, logits, sizeof logits);
    mnet_nms_params p = fast_params(2, 1);
    p.activation = MNET_SCORE_SIGMOID;
    p.score_threshold = 0.5f;
    mnet_raw_detection out[16];
    /* sigmoid: anchor 0 best 0.5 -> 0.62; anchor 1 best 1.5 -> 0.82. */
    CHECK(run(&s, &p, out) == 2);
    CHECK(out[0].anchor == 1 && out[0].class_index == 1);
    CHECK(fabs(out[0].score - 1.0 / (1.0 + exp(-1.5))) < 1e-6);
    CHECK(fabs(out[1].score - 1.0 / (1.0 + exp(-0.5))) < 1e-6);
    /* softmax over the whole row, background included: anchor 0 class 0 is
     * e^0.5 / (e^2 + e^0.5 + e^-1) = 0.18, below 0.5; anchor 1 class 1 is
     * e^1.5 / (e^-3 + e^-2 + e^1.5) = 0.96. */
    p.activation = MNET_SCORE_SOFTMAX;
    for (int regular = 0; regular < 2; regular++) {
        p.regular = regular;
        CHECK(run(&s, &p, out) == 1);
        CHECK(out[0].anchor == 1 && out[0].class_index == 1);
        double want = exp(1.5) / (exp(-3.0) + exp(-2.0) + exp(1.5));
        CHECK(fabs(out[0].score - want) < 1e-6);
    }
    p.score_threshold = 0.15f;
    p.regular = 1;
    CHECK(run(&s, &p, out) == 2);
    CHECK(fabs(out[1].score - exp(0.5) / (exp(2.0) + exp(0.5) + exp(-1.0))) < 1e-6);
}

static void test_decoding_and_layers(void) {
    /* Two layers; an encoding that moves the box, and a NaN encoding on an
     * anchor below the threshold that must not matter. */
    mnet_anchor_box anchors[3] = {{0.5f, 0.5f, 0.2f, 0.2f}, {0.2f, 0.2f, 0.1f, 0.1f},
                                  {0.8f, 0.8f, 0.1f, 0.1f}};
    const float enc0[4] = {1.0f, -1.0f, 0.0f, 0.0f};
    const float enc1[8] = {NAN, NAN, NAN, NAN, 0.0f, 0.0f, 0.0f, 0.0f};
    const float sc0[1] = {0.9f}, sc1[2] = {0.01f, 0.6f};
    const float *encs[2] = {enc0, enc1}, *scores[2] = {sc0, sc1};
    size_t counts[2] = {1, 2};
    mnet_nms_params p = fast_params(1, 0);
    size_t bytes = mnet_ssd_detect_scratch_bytes(3, &p);
    unsigned char *raw = malloc(bytes + 8);
    mnet_raw_detection out[16];
    /* A scratch pointer off 16-byte alignment still works. */
    int n = mnet_ssd_detect(2, encs, scores, counts, anchors, &coder, &p, raw + 4, bytes, out);
    CHECK(n == 2);
    CHECK(out[0].anchor == 0 && out[1].anchor == 2);
    CHECK(fabs(out[0].box[0] - 0.42) < 1e-6 && fabs(out[0].box[1] - 0.38) < 1e-6);
    CHECK(fabs(out[0].box[2] - 0.62) < 1e-6 && fabs(out[0].box[3] - 0.58) < 1e-6);
    CHECK(fabs(out[1].box[0] - 0.75) < 1e-6 && fabs(out[1].box[3] - 0.85) < 1e-6);

    /* Scratch one byte short, NULL scratch, bad parameters: -1. */
    CHECK(mnet_ssd_detect(2, encs, scores, counts, anchors, &coder, &p, raw, bytes - 1, out) ==
          -1);
    CHECK(mnet_ssd_detect(2, encs, scores, counts, anchors, &coder, &p, NULL, bytes, out) == -1);
    mnet_nms_params bad = p;
    bad.background_columns = 2;
    CHECK(mnet_ssd_detect_scratch_bytes(3, &bad) == 0);
    CHECK(mnet_ssd_detect(2, encs, scores, counts, anchors, &coder, &bad, raw, bytes, out) == -1);
    bad = p;
    bad.regular = 1;
    bad.detections_per_class = 0;
    CHECK(mnet_ssd_detect_scratch_bytes(3, &bad) == 0);
    bad = p;
    bad.max_classes_per_detection = 0;
    CHECK(mnet_ssd_detect_scratch_bytes(3, &bad) == 0);
    free(raw);

    /* No anchors at all: nothing detected. */
    size_t none = 0;
    bytes = mnet_ssd_detect_scratch_bytes(0, &p);
    raw = malloc(bytes);
    CHECK(mnet_ssd_detect(1, encs, scores, &none, anchors, &coder, &p, raw, bytes, out) == 0);
    free(raw);
}

int main(void) {
    test_iou();
    test_threshold_edges();
    test_suppression_chain();
    test_nan_scores();
    test_ties();
    test_class_handling();
    test_max_detections();
    test_activations();
    test_decoding_and_layers();
    TEST_MAIN_END();
}
