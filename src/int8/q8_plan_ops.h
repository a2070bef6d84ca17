/* Building the uint8 plan's CONCAT and RESIZE steps and the SSD export
 * tables (q8_plan.c calls these; the operators are in q8_ops.h). */
#ifndef MNET_INT8_Q8_PLAN_OPS_H
#define MNET_INT8_Q8_PLAN_OPS_H

#include "core/json.h"
#include "int8/q8_plan.h"

/* Memory owned (and freed) by the plan, 64-byte aligned; NULL when out of
 * memory. Defined in q8_plan.c. */
void *mnet_q8_plan_own(mnet_q8_plan *q, size_t bytes);

/* 0, or -1 with the error set. */
int mnet_q8_build_concat(mnet_q8_plan *q, const mnet_plan *plan, const mnet_step *s,
                         mnet_q8_step *qs, mnet_error *error);
int mnet_q8_build_resize(mnet_q8_plan *q, const mnet_plan *plan, const mnet_step *s,
                         mnet_q8_step *qs, mnet_error *error);

/* For an SSD: the predictors of the original TFLite model are reshaped and
 * concatenated (activations 'box_encodings' and 'class_predictions', which
 * requantize), and the class logits go through a quantized LOGISTIC
 * ('scores'); the post-process operator dequantizes both. Sets the plan's
 * export tables of the head tensors so that the float post-processing reads
 * exactly those values (and scores_activated when 'scores' is there). A
 * detector without those activations keeps plain dequantization. */
int mnet_q8_build_ssd_exports(mnet_q8_plan *q, const mnet_plan *plan,
                              const mnet_json *activations, mnet_error *error);

#endif
