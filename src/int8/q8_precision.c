/* Precision choice at model load. */
#include "int8/q8_precision.h"

#include <stdlib.h>
#include <string.h>

/* AUTO picks uint8 for quantized models: it reproduces the original model's
 * integer arithmetic and, on every bundled quantized model, runs faster than
 * fp32 (bench/RESULTS.md); a file whose int8 plan cannot be built runs fp32. */
#define MNET_Q8_AUTO_ENABLED 1

static mnet_precision requested(const mnet_options *options) {
    const char *env = getenv("MNET_PRECISION");
    if (env && strcmp(env, "int8") == 0) return MNET_PRECISION_INT8;
    if (env && strcmp(env, "fp32") == 0) return MNET_PRECISION_FP32;
    if (env && strcmp(env, "auto") == 0) return MNET_PRECISION_AUTO;
    return options ? options->precision : MNET_PRECISION_AUTO;
}

mnet_status mnet_q8_prepare(const mnet_options *options, const mnet_plan *plan,
                            const mnet_safetensors *st, const mnet_model_config *config,
                            const char *isa, mnet_q8_plan **out, mnet_error *error) {
    *out = NULL;
    mnet_precision p = requested(options);
    if (p == MNET_PRECISION_FP32) return MNET_OK;
    if (p == MNET_PRECISION_AUTO && (!MNET_Q8_AUTO_ENABLED ||
                                     !mnet_st_metadata(st, "mnet.quantization")))
        return MNET_OK;
    mnet_status status = mnet_q8_plan_build(plan, st, config, isa, out, error);
    if (status != MNET_OK && p == MNET_PRECISION_AUTO) {
        mnet_error_clear(error); /* fall back to fp32 */
        return MNET_OK;
    }
    return status;
}
