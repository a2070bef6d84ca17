/* The task entry points: classification and feature extraction. */
#include <string.h>

#include "api/model_internal.h"
#include "int8/q8_session.h" /* int8 hook */
#include "post/topk.h"

const uint8_t *mnet_session_q8_probabilities(const mnet_session *s, size_t *count) {
    if (count) *count = 0;
    return s && s->q8 ? mnet_q8_session_probabilities(s->q8, count) : NULL;
}

/* Top k of the uint8 softmax. Its 1/256 steps tie most classes (often all but
 * one at 0), so ties are ranked by the logits the softmax came from, then by
 * the lower index: the order the model's own probabilities would have had
 * with more bits, instead of the first class indices. */
static int ranks_before(const float *probabilities, const float *logits, int a, int b) {
    if (probabilities[a] != probabilities[b]) return probabilities[a] > probabilities[b];
    if (logits[a] != logits[b]) return logits[a] > logits[b];
    return a < b;
}

static int topk_quantized(const float *probabilities, const float *logits, int n, int k,
                          int *order) {
    if (k > n) k = n;
    /* the order is total, so the r-th class is the first among those ranked
     * after the (r-1)-th: k passes, no bookkeeping of the ones taken */
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (r > 0 && !ranks_before(probabilities, logits, order[r - 1], i)) continue;
            if (best < 0 || ranks_before(probabilities, logits, i, best)) best = i;
        }
        order[r] = best;
    }
    return k;
}

mnet_status mnet_classify(mnet_session *session, const mnet_image *image,
                          const mnet_preprocess *preprocess, int k, mnet_class *top,
                          int *count) {
    if (!session) return MNET_ERR_INVALID_ARGUMENT;
    mnet_error_clear(&session->error);
    if (count) *count = 0;
    const mnet_model *m = session->model;
    int classes = m->config.num_classes;
    if (classes <= 0 || m->config.arch != m->config.backbone)
        return mnet_session_fail(session, MNET_ERR_UNSUPPORTED,
                                 "this model is not a classifier (architecture %s%s)",
                                 mnet_arch_name(m->config.arch),
                                 classes <= 0 ? ", a feature extractor" : "");
    if (!top || !count)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT, "top or count is NULL");
    if (k <= 0)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT, "k must be positive, got %d",
                                 k);
    mnet_status status = mnet_session_run_image(session, image, preprocess, NULL);
    if (status != MNET_OK) return status;
    const mnet_plan *plan = &m->plan;
    const float *logits = session->arena + session->offsets[plan->output];
    size_t quantized_count = 0;
    const uint8_t *quantized = mnet_session_q8_probabilities(session, &quantized_count);
    int n;
    if (quantized && quantized_count == (size_t)classes) { /* int8 hook: the model's uint8 softmax */
        for (int i = 0; i < classes; i++) session->scores[i] = (float)quantized[i] / 256.0f;
        n = topk_quantized(session->scores, logits, classes, k, session->order);
    } else {
        mnet_ref_softmax_f32((size_t)classes, logits, session->scores);
        n = mnet_topk(session->scores, classes, k, session->order);
    }
    for (int i = 0; i < n; i++) {
        int idx = session->order[i];
        const char *label = mnet_model_label(m, idx);
        top[i].index = idx;
        top[i].label = label ? label : "";
        top[i].score = session->scores[idx];
    }
    *count = n;
    return MNET_OK;
}

mnet_status mnet_features(mnet_session *session, const mnet_image *image,
                          const mnet_preprocess *preprocess, mnet_tensor *tensors) {
    if (!session) return MNET_ERR_INVALID_ARGUMENT;
    mnet_error_clear(&session->error);
    if (session->num_taps == 0)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT,
                                 "no feature taps: name them in mnet_session_options");
    if (!tensors)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT, "tensors is NULL");
    mnet_status status = mnet_session_run_image(session, image, preprocess, NULL);
    if (status != MNET_OK) return status;
    for (int i = 0; i < session->num_taps; i++) mnet_session_tap(session, i, &tensors[i]);
    return MNET_OK;
}

mnet_status mnet_preprocess_image(mnet_session *session, const mnet_image *image,
                                  const mnet_preprocess *preprocess, float *input,
                                  size_t input_count) {
    if (!session) return MNET_ERR_INVALID_ARGUMENT;
    mnet_error_clear(&session->error);
    const mnet_input_spec *spec = &session->model->input_spec;
    size_t need = (size_t)spec->width * (size_t)spec->height * 3;
    if (!input || input_count != need)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT,
                                 "input buffer holds %zu floats, needs %dx%dx3 = %zu",
                                 input ? input_count : 0, spec->height, spec->width, need);
    return mnet_image_to_input_with(session->model->row_kernels, image, preprocess, spec, input,
                                    session->scratch, session->scratch_floats, NULL,
                                    &session->error);
}
