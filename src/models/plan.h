/* An execution plan: the network as data. A model file's config is turned
 * into a list of fused steps (conv + bias + activation, pointwise + residual
 * add, ...) over a list of tensors; weights are converted to float and packed
 * once, for the kernel table chosen at load. Printing the plan is what
 * `mnet info` shows; running it is a loop over the steps.
 *
 * Tensor memory is not part of the plan: each session lays its tensors out
 * in one arena (mnet_plan_layout), keeping the tensors it was asked to keep
 * (feature taps) and reusing the memory of the others. */
#ifndef MNET_MODELS_PLAN_H
#define MNET_MODELS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/model_config.h"
#include "core/threadpool.h"
#include "core/safetensors.h"
#include "kernels/invres.h"
#include "kernels/kernels.h"

#define MNET_NAME_MAX 48

typedef enum mnet_step_kind {
    MNET_STEP_CONV = 1,    /* generic convolution (the stem) */
    MNET_STEP_DEPTHWISE,
    MNET_STEP_POINTWISE,   /* 1x1 stride 1, optional residual add */
    MNET_STEP_GLOBAL_POOL, /* mean over H, W */
    MNET_STEP_FC,          /* fully connected, run as a 1-pixel pointwise */
    MNET_STEP_RESIZE,      /* bilinear resize (DeepLab) */
    MNET_STEP_CONCAT       /* channel concatenation of several tensors */
} mnet_step_kind;

#define MNET_MAX_CONCAT 6
#define MNET_PREFIX_MAX 64 /* weight tensor prefixes, "heads.5.box_encodings_dw" */

typedef struct mnet_plan_tensor {
    char name[MNET_NAME_MAX]; /* tap name of the producing step, "input" */
    int h, w, c;
    int is_output;  /* read after the run (detector heads): never reused */
    int producer;   /* step index, -1 for the input */
    int last_use;   /* last step reading it, -1 if none */
} mnet_plan_tensor;

typedef struct mnet_step {
    mnet_step_kind kind;
    int input, output, residual;  /* tensor indices; residual -1 if none */
    mnet_conv_geometry geom;
    mnet_activation act;
    int inputs[MNET_MAX_CONCAT];  /* CONCAT: all inputs in order */
    int num_inputs;
    mnet_resize_mode resize_mode; /* RESIZE */
    int gemm;                     /* CONV run as im2col tiles through the
                                     pointwise kernel; weights packed as a
                                     [out_c][k*k*in_c] pointwise */
    size_t weights_offset;        /* floats into the plan's weight block */
    size_t bias_offset;
    char weights[MNET_PREFIX_MAX]; /* the file's tensors <weights>.weight and
                                      <weights>.bias ("" without weights): the
                                      int8 plan finds their quantized forms */
    int64_t macs, parameters;
} mnet_step;

/* What a fused block computes. */
typedef enum mnet_block_kind {
    MNET_BLOCK_INVRES = 0,        /* inverted residual (or V1) block */
    /* DeepLab's ASPP projection: [RESIZE of a 1x1 pooled vector to the map,
     * CONCAT(that broadcast, one branch), 1x1 POINTWISE]. The broadcast
     * part of every pixel's input is the same vector, so its share of the
     * projection is a constant that joins the bias: the 1x1 runs over the
     * branch alone (half the MACs) and the broadcast and the concatenation
     * are never written. */
    MNET_BLOCK_POOLED_PROJECTION
} mnet_block_kind;

/* Consecutive steps [first_step, first_step + num_steps) forming one
 * inverted residual block (expand?, depthwise, project), which a session may
 * run fused when it keeps none of the block's inner tensors. */
typedef struct mnet_fused_block {
    int first_step, num_steps;
    mnet_invres geometry;         /* weight pointers unset: plan.weights moves */
    mnet_block_kind kind;
    /* POOLED_PROJECTION: the projection's weights split by input channel,
     * each packed as a pointwise: [out_c][pooled channels], [out_c][rest] */
    size_t pooled_weights_offset, rest_weights_offset;
} mnet_fused_block;

/* An SSD's heads: per feature map the box-encoding and class-score tensors
 * (HWC with A*4 and A*(classes+background) channels, so flattening them
 * gives anchors in (y, x, anchor) order) and the anchors themselves. */
typedef struct mnet_detector {
    int num_layers;
    int box_tensor[MNET_SSD_MAX_LAYERS], class_tensor[MNET_SSD_MAX_LAYERS];
    size_t layer_anchors[MNET_SSD_MAX_LAYERS];
    mnet_anchor_box *anchors;
    size_t num_anchors;
} mnet_detector;

typedef struct mnet_plan {
    mnet_step *steps;
    int num_steps, cap_steps;
    mnet_plan_tensor *tensors;
    int num_tensors, cap_tensors;
    int input;                    /* tensor index of the network input */
    int output;                   /* tensor index of output 0 */
    mnet_fused_block *blocks;
    int num_blocks, cap_blocks;
    float *weights;               /* packed weights and biases, 64-aligned */
    size_t weights_floats, cap_weights;
    int64_t macs, parameters;
    const mnet_kernels *kernels;
    mnet_detector detector;       /* num_layers 0 unless an SSD */
} mnet_plan;

/* Context of one plan build: where weights come from, where errors go. */
typedef struct mnet_plan_builder {
    mnet_plan *plan;
    const mnet_safetensors *st;
    const mnet_model_config *config;
    mnet_error *error;
    const char *weights_dtype;    /* first weight dtype seen: "f16", "f32" */
} mnet_plan_builder;

/* Finds tensor `name` in the file, checks F32/F16 dtype and exact shape and
 * returns it as floats in a malloc'd buffer (NULL with the error set). */
float *mnet_plan_load_tensor(mnet_plan_builder *b, const char *name, const int64_t *shape,
                             int rank);

/* Adds the network input tensor (h x w x c); returns its index or -1. */
int mnet_plan_add_input(mnet_plan_builder *b, int h, int w, int c);

/* Adds a convolution step reading tensor `input`, with weights
 * `<prefix>.weight` [out_c, k, k, in_c/groups] and `<prefix>.bias` [out_c]
 * from the file, checked for shape and dtype. Chooses CONV, DEPTHWISE or
 * POINTWISE from the shape. Returns the new output tensor or -1 (error set). */
int mnet_plan_add_conv(mnet_plan_builder *b, const char *tap, const char *prefix, int input,
                       int out_c, int kernel, int stride, int dilation, int groups,
                       mnet_activation act, int residual);

/* Global average pooling of `input` to 1 x 1 x c. */
int mnet_plan_add_global_pool(mnet_plan_builder *b, const char *tap, int input);

/* Bilinear resize of `input` to out_h x out_w. */
int mnet_plan_add_resize(mnet_plan_builder *b, const char *tap, int input, int out_h, int out_w,
                         mnet_resize_mode mode);

/* Concatenation along channels of n tensors of the same height and width. */
int mnet_plan_add_concat(mnet_plan_builder *b, const char *tap, const int *inputs, int n);

/* Fully connected layer `<prefix>.weight` [out_n, c], `<prefix>.bias`. */
int mnet_plan_add_fc(mnet_plan_builder *b, const char *tap, const char *prefix, int input,
                     int out_n, mnet_activation act);

/* Marks the last num_steps steps (2 or 3) as one inverted residual block. */
int mnet_plan_mark_block(mnet_plan_builder *b, int num_steps);

/* Marks the last three steps (RESIZE of a 1x1 tensor, CONCAT of its output
 * and one more tensor, POINTWISE with weights `<prefix>.weight`) as a
 * pooled projection block. Does nothing (returns 0) when they have another
 * form; -1 on errors. */
int mnet_plan_mark_pooled_projection(mnet_plan_builder *b, const char *prefix);

void mnet_plan_free(mnet_plan *plan);

/* Finds a tensor by tap name; -1 if none. */
int mnet_plan_find_tensor(const mnet_plan *plan, const char *name);

/* Arena layout for one session: offsets (in floats, 16-float aligned) of
 * every tensor, given which tensors must survive the whole run (keep[i]
 * non-zero), which are never materialized (skip[i], offset SIZE_MAX) and
 * which blocks run fused (fuse[b]); skip and fuse may be NULL. Returns the
 * arena size in floats. */
size_t mnet_plan_layout(const mnet_plan *plan, const unsigned char *keep,
                        const unsigned char *skip, const unsigned char *fuse, size_t *offsets);

/* Per-session execution state besides the tensors. */
typedef struct mnet_exec_context {
    float *base;                  /* arena */
    const size_t *offsets;        /* per tensor */
    mnet_threadpool *pool;        /* NULL: one thread */
    const unsigned char *fuse;    /* per plan block: run fused; NULL = never */
    float *scratch;               /* threads x scratch_stride floats */
    size_t scratch_stride;
} mnet_exec_context;

/* Floats of per-thread scratch one step needs (im2col tiles). */
size_t mnet_step_scratch_floats(const mnet_step *s);

/* Floats of per-thread scratch the fused blocks and steps need. */
size_t mnet_plan_scratch_floats(const mnet_plan *plan);

/* Runs all steps, each split over the pool's threads. */
void mnet_plan_execute(const mnet_plan *plan, const mnet_exec_context *ctx);

/* An INVRES block's geometry with its weights and activations taken from
 * its steps in plan (blocks store no weight pointers: plan.weights moves). */
mnet_invres mnet_block_invres(const mnet_plan *plan, const mnet_fused_block *blk);

/* Runs steps [first, last) unfused (tools and tests). */
void mnet_plan_execute_steps(const mnet_plan *plan, const mnet_exec_context *ctx, int first,
                             int last);

/* Global average pooling + the `classifier` FC on `features` when the
 * config has classes; sets the plan's output either way. 0 or -1. */
int mnet_plan_add_classifier(mnet_plan_builder *b, int features);

/* Backbones: input, stem and blocks (V2: and conv_last when configured);
 * return the last tensor or -1 with the error set. */
int mnet_build_v1_backbone(mnet_plan_builder *b);
int mnet_build_v2_backbone(mnet_plan_builder *b);

/* Architecture builders: fill the plan from the config and the file's
 * tensors; 0 on success, -1 with the error set. */
int mnet_build_mobilenet_v1(mnet_plan_builder *b);
int mnet_build_mobilenet_v2(mnet_plan_builder *b);
int mnet_build_ssd(mnet_plan_builder *b);
int mnet_build_deeplab(mnet_plan_builder *b);

/* TF-slim endpoint names -> mnet tap names ("expanded_conv_13/expand" ->
 * "block13/expand"); writes the canonical name to out. Returns 0 when name
 * was an alias that could be translated, -1 otherwise. */
int mnet_tap_alias(mnet_arch arch, const char *name, char *out, size_t out_size);

#endif
