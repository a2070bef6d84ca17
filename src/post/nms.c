/* IoU and greedy non-maximum suppression as TFLite's DetectionPostProcess
 * defines them: a box with area <= 0 overlaps nothing, and a candidate is
 * suppressed only when IoU is strictly above the threshold. Keeping a
 * candidate unless it overlaps an already kept box is the same selection as
 * TFLite's "suppress every later box a selected box overlaps", and costs
 * O(n * kept) instead of O(n^2). */
#include <stdlib.h>

#include "post/detection.h"

static float max_f(float a, float b) { return a > b ? a : b; }
static float min_f(float a, float b) { return a < b ? a : b; }

float mnet_box_iou(const float *a, const float *b) {
    float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if (!(area_a > 0) || !(area_b > 0)) return 0.0f;
    float inter_h = max_f(min_f(a[2], b[2]) - max_f(a[0], b[0]), 0.0f);
    float inter_w = max_f(min_f(a[3], b[3]) - max_f(a[1], b[1]), 0.0f);
    float inter = inter_h * inter_w;
    return inter / (area_a + area_b - inter);
}

static int candidate_order(const void *pa, const void *pb) {
    const mnet_nms_candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->anchor != b->anchor) return a->anchor < b->anchor ? -1 : 1;
    if (a->class_index != b->class_index) return a->class_index < b->class_index ? -1 : 1;
    return 0;
}

void mnet_nms_sort(mnet_nms_candidate *c, size_t n) {
    if (n > 1) qsort(c, n, sizeof *c, candidate_order);
}

int mnet_nms_greedy(const mnet_nms_candidate *sorted, size_t n, const float *boxes,
                    float iou_threshold, int max_keep, mnet_nms_candidate *kept) {
    int count = 0;
    for (size_t i = 0; i < n && count < max_keep; i++) {
        const float *box = boxes + 4 * (size_t)sorted[i].anchor;
        int suppressed = 0;
        for (int k = 0; k < count && !suppressed; k++)
            suppressed = mnet_box_iou(boxes + 4 * (size_t)kept[k].anchor, box) > iou_threshold;
        if (!suppressed) kept[count++] = sorted[i];
    }
    return count;
}

/* a goes before b in mnet_nms_sort's order */
static int ranks_before(const mnet_nms_candidate *a, const mnet_nms_candidate *b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->anchor != b->anchor) return a->anchor < b->anchor;
    return a->class_index < b->class_index;
}

/* Restores the heap (best candidate at the root) below node i of c[0, n). */
static void sift_down(mnet_nms_candidate *c, size_t n, size_t i) {
    mnet_nms_candidate x = c[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && ranks_before(&c[child + 1], &c[child])) child++;
        if (!ranks_before(&c[child], &x)) break;
        c[i] = c[child];
        i = child;
    }
    c[i] = x;
}

static int suppressed_by(const mnet_nms_candidate *kept, int count, const float *boxes,
                         const float *box, float iou_threshold) {
    for (int k = 0; k < count; k++)
        if (mnet_box_iou(boxes + 4 * (size_t)kept[k].anchor, box) > iou_threshold) return 1;
    return 0;
}

int mnet_nms_greedy_unsorted(mnet_nms_candidate *c, size_t n, const float *boxes,
                             float iou_threshold, int max_keep, mnet_nms_candidate *kept) {
    int count = 0;
    if (max_keep <= 0) return 0;
    for (size_t i = n / 2; i-- > 0;) sift_down(c, n, i);
    while (n > 0 && count < max_keep) {
        mnet_nms_candidate best = c[0];
        c[0] = c[--n];
        if (n > 0) sift_down(c, n, 0);
        if (!suppressed_by(kept, count, boxes, boxes + 4 * (size_t)best.anchor, iou_threshold))
            kept[count++] = best;
    }
    return count;
}
