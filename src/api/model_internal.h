/* The model and session objects behind the public opaque handles. */
#ifndef MNET_API_MODEL_INTERNAL_H
#define MNET_API_MODEL_INTERNAL_H

#include "core/model_config.h"
#include "image/preprocess.h"
#include "models/plan.h"

struct mnet_q8_plan;    /* int8 hook: src/int8/q8_plan.h */
struct mnet_q8_session; /* int8 hook: src/int8/q8_session.h */

struct mnet_model {
    mnet_model_config config;
    mnet_plan plan;
    mnet_input_spec input_spec;
    const struct mnet_image_row_kernels *row_kernels; /* preprocessing, same ISA rule */
    const char *weights_dtype;
    int num_taps;
    const char **tap_names; /* point into plan.tensors[].name */
    int *tap_tensors;
    size_t max_session_bytes;   /* from the load options; 0 = no limit */
    int threads;                /* from the load options; 0 = all CPUs */
    struct mnet_q8_plan *q8;    /* int8 hook: non-NULL = run uint8 (src/int8) */
};

struct mnet_session {
    const mnet_model *model;
    float *arena;             /* all tensors of the plan */
    size_t arena_floats;
    size_t *offsets;          /* per plan tensor */
    float *scratch;           /* preprocessing scratch */
    size_t scratch_floats;
    unsigned char *fuse;      /* per plan block: run it fused */
    float *block_scratch;     /* threads x block_scratch_stride floats */
    size_t block_scratch_stride;
    mnet_exec_context exec;
    int num_threads;
    void *detect_scratch;     /* SSD post-processing */
    size_t detect_scratch_bytes;
    mnet_raw_detection *raw_detections;
    int max_detections;       /* most detections one call can return */
    unsigned char *segment_best; /* DeepLab: argmax per logit cell */
    size_t segment_cells;
    float *scores;            /* softmax of the logits, num_classes */
    int *order;               /* top-k work space, num_classes */
    int num_taps;
    int *taps;                /* tensor index per requested tap */
    int has_run;
    int dry_run;              /* sizing only (mnet_model_session_bytes) */
    size_t q8_planned_bytes;  /* int8 hook: the int8 session's size, known before it exists */
    mnet_threadpool *pool;
    struct mnet_q8_session *q8; /* int8 hook: set when the model runs uint8 */
    mnet_error error;
};

/* Resolves a tap name (canonical or alias) to a plan tensor; -1 if none. */
int mnet_model_find_tap(const mnet_model *model, const char *name);

/* Records a failure in the session and returns status. */
mnet_status mnet_session_fail(mnet_session *s, mnet_status status, const char *fmt, ...)
    MNET_PRINTF(3, 4);

/* int8 hook: the uint8 probabilities of the last run of an int8 classifier
 * session (the original model's SOFTMAX output, scale 1/256, zero point 0),
 * for mnet_classify, tests and tools; NULL (count 0) otherwise. */
const uint8_t *mnet_session_q8_probabilities(const mnet_session *s, size_t *count);

/* Preprocesses image into the plan's input tensor and runs the plan. */
mnet_status mnet_session_run_image(mnet_session *s, const mnet_image *image,
                                   const mnet_preprocess *preprocess,
                                   mnet_image_transform *transform);

#endif
