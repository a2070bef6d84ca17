/* SSD post-processing in TFLite DetectionPostProcess order: activate scores,
 * keep anchors whose best foreground score reaches the threshold, decode only
 * those boxes, then fast (class-agnostic) or regular (per class) NMS.
 *
 * Scratch, carved from the caller's buffer (16-byte aligned pieces):
 *   best     num_anchors floats      best activated foreground score
 *   boxes    4 * num_anchors floats  decoded boxes, valid where best passes
 *   stats    2 * num_anchors floats  softmax row max and sum (regular only)
 *   cands    num_anchors candidates  one class's (or the fast) candidates
 *   kept     max_detections candidates (+ one class's limit, regular)
 *   row      columns floats          one activated score row
 *   order    num_classes ints        top-k work space */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "post/detection.h"
#include "post/topk.h"

#define SCRATCH_ALIGN 16

typedef struct scratch_plan {
    size_t best, boxes, stats, cands, kept, row, order, total;
} scratch_plan;

static int params_valid(const mnet_nms_params *p) {
    if (!p || p->num_classes < 1 || p->num_classes > INT_MAX - 1) return 0;
    if (p->background_columns != 0 && p->background_columns != 1) return 0;
    if (p->activation != MNET_SCORE_SIGMOID && p->activation != MNET_SCORE_SOFTMAX &&
        p->activation != MNET_SCORE_IDENTITY)
        return 0;
    if (p->max_detections < 0) return 0;
    if (p->regular) return p->detections_per_class >= 1;
    return p->max_classes_per_detection >= 1;
}

static int classes_per_box(const mnet_nms_params *p) {
    return p->max_classes_per_detection < p->num_classes ? p->max_classes_per_detection
                                                         : p->num_classes;
}

/* Detections one class can contribute: more than max_detections can never
 * survive the merge, so this also bounds the scratch. */
static int per_class_limit(const mnet_nms_params *p) {
    return p->detections_per_class < p->max_detections ? p->detections_per_class
                                                       : p->max_detections;
}

static size_t align_up(size_t n) { return (n + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN; }

static int plan_scratch(size_t num_anchors, const mnet_nms_params *p, scratch_plan *s) {
    if (!params_valid(p) || num_anchors > (size_t)INT_MAX) return 0;
    size_t columns = (size_t)p->num_classes + (size_t)p->background_columns;
    size_t kept = p->regular ? (size_t)p->max_detections + (size_t)per_class_limit(p)
                             : (size_t)p->max_detections;
    int stats = p->regular && p->activation == MNET_SCORE_SOFTMAX;
    size_t at = 0;
    s->best = at, at += align_up(num_anchors * sizeof(float));
    s->boxes = at, at += align_up(num_anchors * 4 * sizeof(float));
    s->stats = at, at += align_up(stats ? num_anchors * 2 * sizeof(float) : 0);
    s->cands = at, at += align_up(num_anchors * sizeof(mnet_nms_candidate));
    s->kept = at, at += align_up(kept * sizeof(mnet_nms_candidate));
    s->row = at, at += align_up(columns * sizeof(float));
    s->order = at, at += align_up((size_t)p->num_classes * sizeof(int));
    s->total = at + SCRATCH_ALIGN; /* slack to align the caller's pointer */
    return 1;
}

size_t mnet_ssd_detect_scratch_bytes(size_t num_anchors, const mnet_nms_params *p) {
    scratch_plan s;
    return plan_scratch(num_anchors, p, &s) ? s.total : 0;
}

/* One score through the activation; softmax needs its row's max and sum. */
static float activate(mnet_score_activation act, float x, float row_max, float row_sum) {
    switch (act) {
    case MNET_SCORE_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case MNET_SCORE_SOFTMAX: return expf(x - row_max) / row_sum;
    default: return x;
    }
}

static void softmax_stats(const float *row, int columns, float *row_max, float *row_sum) {
    float m = row[0];
    for (int i = 1; i < columns; i++)
        if (row[i] > m) m = row[i];
    float sum = 0.0f;
    for (int i = 0; i < columns; i++) sum += expf(row[i] - m);
    *row_max = m;
    *row_sum = sum;
}

/* Activated foreground scores of one raw row into fg[0..num_classes). */
static void activate_row(const mnet_nms_params *p, const float *raw, float *fg) {
    int columns = p->num_classes + p->background_columns;
    float row_max = 0.0f, row_sum = 1.0f;
    if (p->activation == MNET_SCORE_SOFTMAX) softmax_stats(raw, columns, &row_max, &row_sum);
    for (int c = 0; c < p->num_classes; c++)
        fg[c] = activate(p->activation, raw[p->background_columns + c], row_max, row_sum);
}

/* Largest non-NaN value, or NaN when there is none (so it passes no
 * threshold). The main loop is a plain max (NaN compares false and is
 * skipped) that compilers turn into max instructions; this scan over every
 * score of every anchor is the hot part of the post-processing. */
static float max_of(const float *v, int n) {
    float best = -INFINITY;
    for (int i = 0; i < n; i++) best = v[i] > best ? v[i] : best;
    if (best == -INFINITY) {
        for (int i = 0; i < n; i++)
            if (v[i] == v[i]) return best;
        return NAN;
    }
    return best;
}

typedef struct detect_inputs {
    int num_layers;
    const float *const *encodings;
    const float *const *scores;
    const size_t *layer_anchors;
    const mnet_anchor_box *anchors;
    const mnet_box_coder *coder;
    const mnet_nms_params *p;
} detect_inputs;

static const float *score_row(const detect_inputs *in, size_t anchor) {
    size_t columns = (size_t)in->p->num_classes + (size_t)in->p->background_columns;
    for (int l = 0; l < in->num_layers; l++) {
        if (anchor < in->layer_anchors[l]) return in->scores[l] + anchor * columns;
        anchor -= in->layer_anchors[l];
    }
    return NULL; /* unreachable: anchors come from the scan below */
}

/* Pass over every anchor: best activated score, softmax stats when the
 * regular variant will re-activate column by column, and the decoded box of
 * each anchor that passes the threshold. The activations are monotone, so
 * the best activated score is the activation of the best raw score: one
 * exp per anchor instead of one per class (softmax needs the row sum
 * anyway). */
static void scan_anchors(const detect_inputs *in, float *best, float *boxes, float *stats) {
    const mnet_nms_params *p = in->p;
    size_t columns = (size_t)p->num_classes + (size_t)p->background_columns;
    size_t a = 0;
    for (int l = 0; l < in->num_layers; l++) {
        for (size_t r = 0; r < in->layer_anchors[l]; r++, a++) {
            const float *raw = in->scores[l] + r * columns;
            float row_max = 0.0f, row_sum = 1.0f;
            if (p->activation == MNET_SCORE_SOFTMAX) {
                softmax_stats(raw, (int)columns, &row_max, &row_sum);
                if (stats) stats[2 * a] = row_max, stats[2 * a + 1] = row_sum;
            }
            float best_raw = max_of(raw + p->background_columns, p->num_classes);
            best[a] = activate(p->activation, best_raw, row_max, row_sum);
            if (best[a] >= p->score_threshold)
                mnet_decode_box(in->encodings[l] + 4 * r, &in->anchors[a], in->coder,
                                boxes + 4 * a);
        }
    }
}

static void emit(mnet_raw_detection *d, int anchor, int class_index, float score,
                 const float *boxes) {
    d->class_index = class_index;
    d->score = score;
    d->anchor = anchor;
    memcpy(d->box, boxes + 4 * (size_t)anchor, sizeof d->box);
}

static int detect_fast(const detect_inputs *in, size_t num_anchors, const float *best,
                       const float *boxes, mnet_nms_candidate *cands, mnet_nms_candidate *kept,
                       float *row, int *order, mnet_raw_detection *out) {
    const mnet_nms_params *p = in->p;
    size_t n = 0;
    for (size_t a = 0; a < num_anchors; a++)
        if (best[a] >= p->score_threshold) {
            cands[n].score = best[a];
            cands[n].anchor = (int)a;
            cands[n].class_index = 0;
            n++;
        }
    int boxes_kept =
        mnet_nms_greedy_unsorted(cands, n, boxes, p->iou_threshold, p->max_detections, kept);
    int per_box = classes_per_box(p), count = 0;
    for (int i = 0; i < boxes_kept && count < p->max_detections; i++) {
        /* Re-activating the few kept rows is cheaper than storing the top
         * classes of every anchor. */
        activate_row(p, score_row(in, (size_t)kept[i].anchor), row);
        int k = mnet_topk(row, p->num_classes, per_box, order);
        for (int j = 0; j < k && count < p->max_detections; j++)
            emit(&out[count++], kept[i].anchor, order[j], row[order[j]], boxes);
    }
    return count;
}

static int detect_regular(const detect_inputs *in, const float *best, const float *boxes,
                          const float *stats, mnet_nms_candidate *cands,
                          mnet_nms_candidate *merged, mnet_raw_detection *out) {
    const mnet_nms_params *p = in->p;
    size_t columns = (size_t)p->num_classes + (size_t)p->background_columns;
    int merged_count = 0, limit = per_class_limit(p);
    for (int c = 0; c < p->num_classes; c++) {
        size_t n = 0, a = 0;
        for (int l = 0; l < in->num_layers; l++) {
            for (size_t r = 0; r < in->layer_anchors[l]; r++, a++) {
                /* An anchor whose best class fails cannot pass in any class. */
                if (!(best[a] >= p->score_threshold)) continue;
                float raw = in->scores[l][r * columns + (size_t)p->background_columns + (size_t)c];
                float v = stats ? activate(p->activation, raw, stats[2 * a], stats[2 * a + 1])
                                : activate(p->activation, raw, 0.0f, 1.0f);
                if (v >= p->score_threshold) {
                    cands[n].score = v;
                    cands[n].anchor = (int)a;
                    cands[n].class_index = c;
                    n++;
                }
            }
        }
        if (n == 0) continue;
        merged_count += mnet_nms_greedy_unsorted(cands, n, boxes, p->iou_threshold, limit,
                                                 merged + merged_count);
        mnet_nms_sort(merged, (size_t)merged_count);
        if (merged_count > p->max_detections) merged_count = p->max_detections;
    }
    for (int i = 0; i < merged_count; i++)
        emit(&out[i], merged[i].anchor, merged[i].class_index, merged[i].score, boxes);
    return merged_count;
}

int mnet_ssd_detect(int num_layers, const float *const *encodings,
                    const float *const *scores, const size_t *layer_anchors,
                    const mnet_anchor_box *anchors, const mnet_box_coder *coder,
                    const mnet_nms_params *p, void *scratch, size_t scratch_bytes,
                    mnet_raw_detection *out) {
    if (num_layers < 0 || (num_layers > 0 && (!encodings || !scores || !layer_anchors)) ||
        !coder || !out)
        return -1;
    size_t num_anchors = 0;
    for (int l = 0; l < num_layers; l++) {
        if (layer_anchors[l] > (size_t)INT_MAX - num_anchors) return -1;
        if (layer_anchors[l] > 0 && (!encodings[l] || !scores[l])) return -1;
        num_anchors += layer_anchors[l];
    }
    if (num_anchors > 0 && !anchors) return -1;
    scratch_plan s;
    if (!plan_scratch(num_anchors, p, &s) || !scratch || scratch_bytes < s.total) return -1;
    if (p->max_detections == 0) return 0;

    uintptr_t misalign = (uintptr_t)scratch % SCRATCH_ALIGN;
    unsigned char *base = (unsigned char *)scratch + (misalign ? SCRATCH_ALIGN - misalign : 0);
    float *best = (float *)(void *)(base + s.best);
    float *boxes = (float *)(void *)(base + s.boxes);
    int want_stats = p->regular && p->activation == MNET_SCORE_SOFTMAX;
    float *stats = want_stats ? (float *)(void *)(base + s.stats) : NULL;
    mnet_nms_candidate *cands = (mnet_nms_candidate *)(void *)(base + s.cands);
    mnet_nms_candidate *kept = (mnet_nms_candidate *)(void *)(base + s.kept);
    float *row = (float *)(void *)(base + s.row);
    int *order = (int *)(void *)(base + s.order);

    detect_inputs in = {num_layers, encodings, scores, layer_anchors, anchors, coder, p};
    scan_anchors(&in, best, boxes, stats);
    if (p->regular) return detect_regular(&in, best, boxes, stats, cands, kept, out);
    return detect_fast(&in, num_anchors, best, boxes, cands, kept, row, order, out);
}
