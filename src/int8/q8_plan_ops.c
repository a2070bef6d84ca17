/* Plan building for the uint8 CONCAT and RESIZE steps and the SSD exports. */
#include "int8/q8_plan_ops.h"

#include <string.h>

static int fail_oom(mnet_error *error) {
    mnet_fail(error, MNET_ERR_OUT_OF_MEMORY, "out of memory for the int8 plan");
    return -1;
}

static mnet_q8_op *new_op(mnet_q8_plan *q, mnet_q8_step *qs, mnet_error *error) {
    mnet_q8_op *op = mnet_q8_plan_own(q, sizeof *op);
    if (!op) {
        fail_oom(error);
        return NULL;
    }
    memset(op, 0, sizeof *op);
    qs->op = op;
    return op;
}

/* A requantization table from tensor `from` to quantization `to`, or NULL
 * in *table when they agree. */
static int requant_table(mnet_q8_plan *q, mnet_q8_quant from, mnet_q8_quant to,
                         const uint8_t **table, mnet_error *error) {
    *table = NULL;
    if (from.scale == to.scale && from.zero_point == to.zero_point) return 0;
    uint8_t *t = mnet_q8_plan_own(q, 256);
    if (!t) return fail_oom(error);
    mnet_q8_requant_table(from.scale, from.zero_point, to.scale, to.zero_point, t);
    *table = t;
    return 0;
}

int mnet_q8_build_concat(mnet_q8_plan *q, const mnet_plan *plan, const mnet_step *s,
                         mnet_q8_step *qs, mnet_error *error) {
    if (s->num_inputs < 1 || s->num_inputs > MNET_Q8_OP_MAX_INPUTS) {
        mnet_fail(error, MNET_ERR_UNSUPPORTED, "int8: concatenation '%s' of %d inputs",
                  plan->tensors[s->output].name, s->num_inputs);
        return -1;
    }
    mnet_q8_op *op = new_op(q, qs, error);
    if (!op) return -1;
    op->num_inputs = s->num_inputs;
    op->out_h = plan->tensors[s->output].h; /* pixels = out_h * out_w */
    op->out_w = plan->tensors[s->output].w;
    for (int i = 0; i < s->num_inputs; i++) {
        int t = s->inputs[i];
        op->inputs[i] = t;
        op->channels[i] = plan->tensors[t].c;
        if (requant_table(q, q->quant[t], q->quant[s->output], &op->requant[i], error) != 0)
            return -1;
    }
    return 0;
}

int mnet_q8_build_resize(mnet_q8_plan *q, const mnet_plan *plan, const mnet_step *s,
                         mnet_q8_step *qs, mnet_error *error) {
    mnet_q8_op *op = new_op(q, qs, error);
    if (!op) return -1;
    const mnet_plan_tensor *in = &plan->tensors[s->input], *out = &plan->tensors[s->output];
    op->mode = s->resize_mode;
    op->in_h = in->h;
    op->in_w = in->w;
    op->out_h = out->h;
    op->out_w = out->w;
    op->c = in->c;
    op->in_scale = q->quant[s->input].scale;
    op->in_zero_point = q->quant[s->input].zero_point;
    op->out_scale = q->quant[s->output].scale;
    op->out_zero_point = q->quant[s->output].zero_point;
    return 0;
}

static int optional_quant(const mnet_json *activations, const char *key, mnet_q8_quant *out) {
    const mnet_json *node = mnet_json_get(activations, key);
    int ok_s = 0, ok_z = 0;
    double scale = mnet_json_number(mnet_json_get(node, "scale"), &ok_s);
    double zp = mnet_json_number(mnet_json_get(node, "zero_point"), &ok_z);
    if (!node || !ok_s || !ok_z || !(scale > 0) || zp < 0 || zp > 255 || zp != (int)zp) return -1;
    out->scale = (float)scale;
    out->zero_point = (int32_t)zp;
    return 0;
}

static int export_head(mnet_q8_plan *q, int t, mnet_q8_quant concat, int logistic,
                       mnet_error *error) {
    const uint8_t *table = NULL;
    if (requant_table(q, q->quant[t], concat, &table, error) != 0) return -1;
    float *values = mnet_q8_plan_own(q, 256 * sizeof(float));
    if (!values) return fail_oom(error);
    mnet_q8_export_table(table, concat.scale, concat.zero_point, logistic, values);
    q->export_table[t] = values;
    return 0;
}

int mnet_q8_build_ssd_exports(mnet_q8_plan *q, const mnet_plan *plan,
                              const mnet_json *activations, mnet_error *error) {
    const mnet_detector *d = &plan->detector;
    mnet_q8_quant boxes, classes, scores;
    int have_boxes = optional_quant(activations, "box_encodings", &boxes) == 0;
    int have_classes = optional_quant(activations, "class_predictions", &classes) == 0;
    int have_scores = optional_quant(activations, "scores", &scores) == 0;
    if (d->num_layers == 0 || (!have_boxes && !have_classes)) return 0;
    /* the quantized sigmoid is the only score activation TFLite SSDs have,
     * and its output scale is 1/256, zero point 0 (checked: anything else
     * keeps the float activation) */
    int logistic = have_classes && have_scores && scores.scale == 1.0f / 256.0f &&
                   scores.zero_point == 0;
    const float **tables = mnet_q8_plan_own(q, (size_t)plan->num_tensors * sizeof *tables);
    if (!tables) return fail_oom(error);
    memset(tables, 0, (size_t)plan->num_tensors * sizeof *tables);
    q->export_table = tables;
    for (int l = 0; l < d->num_layers; l++) {
        if (have_boxes && export_head(q, d->box_tensor[l], boxes, 0, error) != 0) return -1;
        if (have_classes &&
            export_head(q, d->class_tensor[l], classes, logistic, error) != 0)
            return -1;
    }
    q->scores_activated = logistic;
    return 0;
}
