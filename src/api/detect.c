/* Object detection: run the SSD, decode and suppress, and map the boxes
 * back through the preprocessing into the caller's image. */
#include <math.h>
#include <string.h>

#include "api/model_internal.h"
#include "int8/q8_plan.h" /* int8 hook */

void mnet_detect_options_init(mnet_detect_options *options) {
    if (!options) return;
    options->score_threshold = -1.0f;
    options->max_detections = 0;
    options->iou_threshold = 0.0f;
}

/* The network-normalized box [ymin, xmin, ymax, xmax] as [x0, y0, x1, y1]
 * in source pixels: the four corners through the affine map, then their
 * bounding box (rotation by 90 degrees swaps axes), clipped to the image. */
static void to_source(const mnet_image_transform *t, const float *box, int net_w, int net_h,
                      int img_w, int img_h, float *out) {
    double xs[2] = {box[1] * (double)net_w, box[3] * (double)net_w};
    double ys[2] = {box[0] * (double)net_h, box[2] * (double)net_h};
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double sx = t->xx * xs[i] + t->xy * ys[j] + t->x0;
            double sy = t->yx * xs[i] + t->yy * ys[j] + t->y0;
            x0 = fmin(x0, sx);
            x1 = fmax(x1, sx);
            y0 = fmin(y0, sy);
            y1 = fmax(y1, sy);
        }
    out[0] = (float)fmin(fmax(x0, 0.0), img_w);
    out[1] = (float)fmin(fmax(y0, 0.0), img_h);
    out[2] = (float)fmin(fmax(x1, 0.0), img_w);
    out[3] = (float)fmin(fmax(y1, 0.0), img_h);
}

mnet_status mnet_detect(mnet_session *session, const mnet_image *image,
                        const mnet_preprocess *preprocess, const mnet_detect_options *options,
                        mnet_detection *detections, int capacity, int *count) {
    if (!session) return MNET_ERR_INVALID_ARGUMENT;
    mnet_error_clear(&session->error);
    if (count) *count = 0;
    const mnet_model *m = session->model;
    const mnet_detector *d = &m->plan.detector;
    if (d->num_layers == 0)
        return mnet_session_fail(session, MNET_ERR_UNSUPPORTED,
                                 "this model is not a detector (architecture %s)",
                                 mnet_arch_name(m->config.arch));
    if (!count || (!detections && capacity > 0) || capacity < 0)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT,
                                 "detections/count NULL or negative capacity");
    mnet_nms_params nms = m->config.ssd.nms;
    /* int8 hook: the uint8 run exports the model's own quantized sigmoid */
    if (session->q8 && m->q8->scores_activated) nms.activation = MNET_SCORE_IDENTITY;
    if (options) {
        if (!(options->score_threshold <= 1.0f) || !(options->iou_threshold <= 1.0f) ||
            options->max_detections < 0)
            return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT,
                                     "detect options out of range: threshold %g, iou %g, max %d",
                                     (double)options->score_threshold,
                                     (double)options->iou_threshold, options->max_detections);
        if (options->score_threshold >= 0.0f && options->score_threshold > nms.score_threshold)
            nms.score_threshold = options->score_threshold;
        if (options->iou_threshold > 0.0f) nms.iou_threshold = options->iou_threshold;
        if (options->max_detections > 0) nms.max_detections = options->max_detections;
    }
    if (nms.max_detections > session->max_detections) nms.max_detections = session->max_detections;
    mnet_image_transform transform;
    mnet_status status = mnet_session_run_image(session, image, preprocess, &transform);
    if (status != MNET_OK) return status;
    const float *enc[MNET_SSD_MAX_LAYERS], *scores[MNET_SSD_MAX_LAYERS];
    for (int l = 0; l < d->num_layers; l++) {
        enc[l] = session->arena + session->offsets[d->box_tensor[l]];
        scores[l] = session->arena + session->offsets[d->class_tensor[l]];
    }
    int n = mnet_ssd_detect(d->num_layers, enc, scores, d->layer_anchors, d->anchors,
                            &m->config.ssd.coder, &nms, session->detect_scratch,
                            session->detect_scratch_bytes, session->raw_detections);
    if (n < 0)
        return mnet_session_fail(session, MNET_ERR_INTERNAL, "detection scratch too small");
    if (n > capacity) n = capacity;
    for (int i = 0; i < n; i++) {
        const mnet_raw_detection *r = &session->raw_detections[i];
        const char *label = mnet_model_label(m, r->class_index);
        detections[i].class_index = r->class_index;
        detections[i].label = label ? label : "";
        detections[i].score = r->score;
        to_source(&transform, r->box, m->input_spec.width, m->input_spec.height, image->width,
                  image->height, detections[i].box);
    }
    *count = n;
    return MNET_OK;
}
