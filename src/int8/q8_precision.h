/* Which precision a model load runs at: the options' precision, overridden
 * by the environment variable MNET_PRECISION=int8|fp32|auto (testing). */
#ifndef MNET_INT8_Q8_PRECISION_H
#define MNET_INT8_Q8_PRECISION_H

#include "int8/q8_plan.h"
#include "mnet.h"

/* Builds the uint8 plan when the resolved precision asks for it. INT8: the
 * plan or an error. AUTO: the plan when the model is quantized and
 * MNET_Q8_AUTO_ENABLED, else *out = NULL and MNET_OK. FP32: NULL. */
mnet_status mnet_q8_prepare(const mnet_options *options, const mnet_plan *plan,
                            const mnet_safetensors *st, const mnet_model_config *config,
                            const char *isa, mnet_q8_plan **out, mnet_error *error);

#endif
