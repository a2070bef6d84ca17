/* SSD post-processing: anchor generation (TF Object Detection API and
 * torchvision conventions), box decoding with the Faster R-CNN coder, score
 * activation, thresholding before decoding, and non-maximum suppression in
 * TFLite's "fast" and "regular" variants. Nothing here allocates: callers
 * size scratch with the *_scratch_bytes functions once, at session creation.
 *
 * Boxes are normalized to the network input, [ymin, xmin, ymax, xmax];
 * anchors are [y_center, x_center, height, width] (the layout of the anchor
 * tensor inside TFLite SSD files). */
#ifndef MNET_POST_DETECTION_H
#define MNET_POST_DETECTION_H

#include <stddef.h>

#define MNET_SSD_MAX_LAYERS 8
#define MNET_SSD_MAX_RATIOS 8

typedef struct mnet_anchor_box {
    float yc, xc, h, w;
} mnet_anchor_box;

/* TF OD API `ssd_anchor_generator` (MultipleGridAnchorGenerator): per layer
 * scales interpolated between min_scale and max_scale, one anchor per aspect
 * ratio plus one of scale sqrt(s_k * s_k+1) at interpolated_scale_aspect_ratio,
 * the lowest layer reduced to (0.1, 1), (s0, 2), (s0, 0.5) when asked;
 * anchors ordered layer, y, x, anchor. Needs num_layers >= 2 (TF divides by
 * num_layers - 1). For a non-square input TF scales the base anchor size by
 * min(H, W) / H and min(H, W) / W: pass that in base_anchor_height/width. */
typedef struct mnet_ssd_anchor_params {
    int num_layers;
    int feature_h[MNET_SSD_MAX_LAYERS], feature_w[MNET_SSD_MAX_LAYERS];
    float min_scale, max_scale;
    float aspect_ratios[MNET_SSD_MAX_RATIOS];
    int num_aspect_ratios;
    float interpolated_scale_aspect_ratio; /* 1.0 in the zoo configs; 0 = off */
    int reduce_boxes_in_lowest_layer;
    float base_anchor_height, base_anchor_width; /* 1.0 */
    float offset;                          /* centre offset in strides, 0.5 */
} mnet_ssd_anchor_params;

/* Anchors per location of layer i; 0 on invalid parameters. */
int mnet_ssd_anchors_per_location(const mnet_ssd_anchor_params *p, int layer);
/* Total anchors; 0 on invalid parameters. */
size_t mnet_ssd_anchor_count(const mnet_ssd_anchor_params *p);
/* Writes mnet_ssd_anchor_count(p) anchors; returns 0, or -1 if invalid. */
int mnet_ssd_anchors(const mnet_ssd_anchor_params *p, mnet_anchor_box *out);

/* torchvision DefaultBoxGenerator (SSD / SSDLite): per layer k, scales
 * s_k = min_ratio + (max_ratio - min_ratio) * k / (L - 1) (plus the extra
 * 1.0 at the end), boxes (s_k, s_k), (sqrt(s_k s_k+1),...), and for each
 * ratio r: (s_k sqrt(r), s_k / sqrt(r)) and its transpose; centres
 * ((x + 0.5) / fw, (y + 0.5) / fh); clipped to [0, 1] when clip is set.
 * Written here in the same [yc, xc, h, w] layout. */
typedef struct mnet_torch_box_params {
    int num_layers;
    int feature_h[MNET_SSD_MAX_LAYERS], feature_w[MNET_SSD_MAX_LAYERS];
    float ratios[MNET_SSD_MAX_LAYERS][MNET_SSD_MAX_RATIOS]; /* per layer, r > 1 given once */
    int num_ratios[MNET_SSD_MAX_LAYERS];
    float min_ratio, max_ratio;
    int clip;
} mnet_torch_box_params;

size_t mnet_torch_box_count(const mnet_torch_box_params *p);
int mnet_torch_boxes(const mnet_torch_box_params *p, mnet_anchor_box *out);

/* Faster R-CNN box coder: encodings (ty, tx, th, tw) divided by the scales
 * (TF order; torchvision's (dx, dy, dw, dh) is the same with x/y swapped:
 * set xy_order). */
typedef struct mnet_box_coder {
    float y_scale, x_scale, h_scale, w_scale;
    int xy_order;  /* encodings are (tx, ty, tw, th) */
    /* > 0: th / h_scale and tw / w_scale are clamped to at most this before
     * exp (torchvision's BoxCoder uses log(1000 / 16)); 0: no clamp (TF). */
    float size_log_clip;
} mnet_box_coder;

/* box = [ymin, xmin, ymax, xmax]:
 * yc = ty / y_scale * ha + ya, xc = tx / x_scale * wa + xa,
 * h = exp(th / h_scale) * ha, w = exp(tw / w_scale) * wa,
 * box = (yc - h/2, xc - w/2, yc + h/2, xc + w/2), computed in double like
 * TFLite. */
void mnet_decode_box(const float *encoding, const mnet_anchor_box *anchor,
                     const mnet_box_coder *coder, float *box);

typedef enum mnet_score_activation {
    MNET_SCORE_SIGMOID = 0,
    MNET_SCORE_SOFTMAX,   /* over all columns of an anchor, background included */
    MNET_SCORE_IDENTITY   /* already probabilities */
} mnet_score_activation;

typedef struct mnet_nms_params {
    int num_classes;             /* foreground classes */
    int background_columns;      /* leading score columns to ignore (0 or 1) */
    mnet_score_activation activation;
    float score_threshold;       /* kept when activated score >= threshold (TFLite) */
    float iou_threshold;         /* suppressed when IoU > threshold (TFLite) */
    int max_detections;
    int max_classes_per_detection; /* fast variant */
    int detections_per_class;      /* regular variant */
    int regular;                   /* 0 = fast (TFLite default), 1 = regular */
} mnet_nms_params;

typedef struct mnet_raw_detection {
    int class_index;  /* 0-based foreground class */
    float score;
    float box[4];     /* ymin, xmin, ymax, xmax, normalized */
    int anchor;
} mnet_raw_detection;

/* Scratch bytes mnet_ssd_detect needs for these sizes; 0 when the
 * parameters are invalid (see mnet_ssd_detect). */
size_t mnet_ssd_detect_scratch_bytes(size_t num_anchors, const mnet_nms_params *p);

/* Scores and box encodings are given per layer, in anchor order, as the
 * predictors produce them (layer l holds layer_anchors[l] anchors, rows of
 * 4 encodings / num_classes + background_columns scores).
 *
 * TFLite DetectionPostProcess semantics, activation applied here first:
 * - fast: per anchor, the best foreground score is compared with the
 *   threshold; surviving anchors go through class-agnostic greedy NMS
 *   ordered by that score. Each kept box emits its
 *   min(max_classes_per_detection, num_classes) best classes, best first,
 *   consecutively, whatever their score, as TFLite does; rows stop at
 *   max_detections. TFLite instead keeps max_detections boxes and returns
 *   max_detections * k rows (num_detections counting boxes): since greedy
 *   NMS keeps a prefix, passing max_detections * k here gives exactly
 *   TFLite's rows for max_detections boxes.
 * - regular: per class, greedy NMS over anchors whose score passes keeps at
 *   most detections_per_class; the union is sorted and cut to
 *   max_detections.
 * Only boxes of anchors that pass the threshold are decoded. Writes at most
 * p->max_detections detections into out; returns their count,
 * or -1 if scratch is too small or the parameters are invalid (num_classes <
 * 1, background_columns not 0/1, max_detections < 0, fast with
 * max_classes_per_detection < 1, regular with detections_per_class < 1).
 * Ties keep the lower anchor, then the lower class (TFLite's stable sort for
 * NMS order; its partial sorts leave ties unspecified). */
int mnet_ssd_detect(int num_layers, const float *const *encodings,
                    const float *const *scores, const size_t *layer_anchors,
                    const mnet_anchor_box *anchors, const mnet_box_coder *coder,
                    const mnet_nms_params *p, void *scratch, size_t scratch_bytes,
                    mnet_raw_detection *out);

/* Intersection over union of two [ymin, xmin, ymax, xmax] boxes (0 when
 * either has area <= 0), in TFLite's float arithmetic. */
float mnet_box_iou(const float *a, const float *b);

/* ---- building blocks of mnet_ssd_detect (nms.c), exposed for tests ---- */

typedef struct mnet_nms_candidate {
    float score;
    int anchor;
    int class_index;
} mnet_nms_candidate;

/* Sorts best first: higher score, then lower anchor, then lower class.
 * Scores must not be NaN (mnet_ssd_detect never passes one). */
void mnet_nms_sort(mnet_nms_candidate *c, size_t n);

/* Greedy NMS over candidates sorted best first: a candidate is kept unless
 * its box overlaps a kept one with IoU > iou_threshold; stops after max_keep.
 * boxes[4 * anchor] is a candidate's box. Writes the kept candidates in order
 * to kept (not aliasing sorted); returns their count. */
int mnet_nms_greedy(const mnet_nms_candidate *sorted, size_t n, const float *boxes,
                    float iou_threshold, int max_keep, mnet_nms_candidate *kept);

/* The same selection as mnet_nms_sort + mnet_nms_greedy, for candidates in
 * any order: they are ordered lazily (a heap; c is reordered in place), so
 * when max_keep is reached early only the candidates looked at are sorted.
 * With thousands of low-threshold candidates and 100 kept this skips most
 * of the sort. */
int mnet_nms_greedy_unsorted(mnet_nms_candidate *c, size_t n, const float *boxes,
                             float iou_threshold, int max_keep, mnet_nms_candidate *kept);

#endif
