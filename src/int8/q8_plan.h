/* The uint8 plan: the float plan's steps and tensors, run on uint8 tensors
 * with the original model's quantization (mnet.quantization metadata and the
 * raw `<name>.q` tensors). Built once at model load next to the float plan;
 * each session then owns a uint8 arena and runs this plan instead, writing
 * dequantized outputs and taps to where the float path leaves them. */
#ifndef MNET_INT8_Q8_PLAN_H
#define MNET_INT8_Q8_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "int8/q8_kernels.h"
#include "int8/q8_mean.h"
#include "int8/q8_ops.h"
#include "int8/q8_softmax.h"
#include "models/plan.h"

typedef struct mnet_q8_quant {
    float scale;
    int32_t zero_point;
} mnet_q8_quant;

typedef struct mnet_q8_step {
    mnet_step_kind kind;
    int input, output, residual;   /* float plan tensor indices */
    mnet_conv_geometry geom;
    mnet_q8_conv_params conv;      /* CONV, DEPTHWISE, POINTWISE, FC */
    const uint8_t *weights;        /* raw OHWI */
    const int32_t *bias;           /* raw */
    const void *packed;            /* fast kernel layout; NULL = ref */
    const int32_t *packed_bias;
    mnet_q8_add_params add;        /* POINTWISE with residual: conv output + residual */
    int32_t out_min, out_max;      /* GLOBAL_POOL */
    int pool_is_mean;              /* GLOBAL_POOL as TFLite's MEAN (own output scale) */
    mnet_q8_mean_params mean;
    const mnet_q8_op *op;          /* CONCAT, RESIZE (q8_ops.h) */
    int64_t macs;
} mnet_q8_step;

typedef struct mnet_q8_plan {
    mnet_q8_step *steps;
    int num_steps;
    mnet_q8_quant *quant;          /* per float plan tensor */
    int num_tensors;
    size_t preadd_bytes;           /* largest conv output feeding a residual add */
    size_t patch_bytes;            /* one band of patches of a packed CONV */
    const mnet_q8_kernels *kernels;
    /* per float plan tensor: q -> float written at export instead of the
     * plain dequantization (SSD heads: the requantization of the original
     * model's concatenation, and its quantized sigmoid); NULL = plain */
    const float **export_table;
    int scores_activated;          /* SSD class tensors export probabilities */
    /* classifiers: the original model's final uint8 SOFTMAX (metadata
     * "probabilities"), applied to the plan output after a run */
    int has_softmax;
    mnet_q8_softmax_params softmax;
    void **owned;                  /* weights, biases, packed copies */
    int num_owned, cap_owned;
} mnet_q8_plan;

/* Builds the uint8 plan of `plan` from the file's quantization. Fails with
 * MNET_ERR_UNSUPPORTED (and a message naming what is missing) when the file
 * has no usable uint8 quantization for every step. isa as for the float
 * kernels ("ref" forces the reference kernels). */
mnet_status mnet_q8_plan_build(const mnet_plan *plan, const mnet_safetensors *st,
                               const mnet_model_config *config, const char *isa,
                               mnet_q8_plan **out, mnet_error *error);

void mnet_q8_plan_free(mnet_q8_plan *q);

/* Output rows whose patches a dense convolution gathers for one 1x1 call:
 * enough pixels for several full tiles, since every tile streams all the
 * weights (1.2 MB for SSD's 3x3 256 -> 512 extra layer at 5x5), and a
 * band of one row per tile would read them once per pixel. */
int mnet_q8_patch_band_rows(const mnet_conv_geometry *g);

#endif
