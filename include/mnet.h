/*
 * mnet — fast MobileNet-family inference in C11.
 *
 * One header is all a user needs. The library depends only on libc, libm and
 * pthreads; it never aborts, exits or prints: every fallible call returns an
 * mnet_status, and a message saying what was wrong is kept in an mnet_error
 * (for loading) or in the session (for running).
 *
 * Usage (classification, error handling shortened):
 *
 *     mnet_model *model;
 *     mnet_error err;
 *     if (mnet_model_load("models/mobilenet_v2_1.0_224.safetensors", NULL,
 *                         &model, &err) != MNET_OK) {
 *         fprintf(stderr, "%s\n", err.message);
 *         return 1;
 *     }
 *     mnet_session *session;
 *     mnet_session_create(model, NULL, &session, &err);
 *
 *     mnet_image image = mnet_image_packed(MNET_PIXEL_RGB, pixels, width,
 *                                          height, width * 3);
 *     mnet_class top[5];
 *     int n = 0;
 *     if (mnet_classify(session, &image, NULL, 5, top, &n) == MNET_OK)
 *         for (int i = 0; i < n; i++)
 *             printf("%s %.3f\n", top[i].label, top[i].score);
 *     else
 *         fprintf(stderr, "%s\n", mnet_session_error(session));
 *
 *     mnet_session_destroy(session);
 *     mnet_model_destroy(model);
 *
 * Ownership: whoever creates a handle destroys it; the destroy functions
 * accept NULL, and a failed create or load sets the handle to NULL. A model
 * is immutable after loading and may be shared by any number of sessions on
 * any threads; a session belongs to one thread at a time. Results (labels, tensor views)
 * point into the model or the session and stay valid until the next call on
 * that session or until it is destroyed.
 *
 * Model files are safetensors files with the architecture, preprocessing,
 * labels and provenance in their metadata (see docs/MODEL_FORMAT.md); a user
 * never has to know how the model wants its input prepared.
 */
#ifndef MNET_H
#define MNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MNET_VERSION_MAJOR 0
#define MNET_VERSION_MINOR 1
#define MNET_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Status and errors                                                        */
/* ------------------------------------------------------------------------ */

typedef enum mnet_status {
    MNET_OK = 0,
    MNET_ERR_INVALID_ARGUMENT, /* NULL pointer, bad size, bad option */
    MNET_ERR_IO,               /* file cannot be opened, read or mapped */
    MNET_ERR_FORMAT,           /* model file malformed: header, JSON, offsets */
    MNET_ERR_MODEL,            /* well-formed file, but tensors or config do
                                  not describe a valid network */
    MNET_ERR_UNSUPPORTED,      /* valid request this build cannot do */
    MNET_ERR_OUT_OF_MEMORY,
    MNET_ERR_LIMIT,            /* a size or memory limit was exceeded */
    MNET_ERR_INTERNAL
} mnet_status;

/* A static, human-readable name of a status ("invalid argument", ...). */
const char *mnet_status_string(mnet_status status);

/* Filled by calls that can fail before a handle exists (loading, creating a
 * session). Pass NULL if the message is not wanted. */
typedef struct mnet_error {
    mnet_status status;
    char message[512];
} mnet_error;

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum mnet_precision {
    MNET_PRECISION_AUTO = 0, /* the fastest exact path for the model */
    MNET_PRECISION_FP32,
    MNET_PRECISION_INT8
} mnet_precision;

typedef struct mnet_options {
    /* Worker threads for a session; 0 = number of online CPUs. */
    int threads;
    /* Force a kernel set: "ref", "avx2", "avx512", ... NULL = best for this
     * CPU; the environment variable MNET_ISA overrides this when set. */
    const char *isa;
    mnet_precision precision;
    /* Upper bound on the memory of one session in bytes (arena + outputs);
     * 0 = no limit. Session creation fails with MNET_ERR_LIMIT above it. */
    size_t max_session_bytes;
} mnet_options;

/* Fills defaults. Always call it before setting fields, so new fields added
 * later get sensible values. */
void mnet_options_init(mnet_options *options);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct mnet_model mnet_model;

/* Maps a .safetensors model file read-only, validates every tensor the
 * architecture needs and prepares the weights. options may be NULL. */
mnet_status mnet_model_load(const char *path, const mnet_options *options,
                            mnet_model **model, mnet_error *error);

/* Same, from memory the caller keeps alive until mnet_model_destroy. */
mnet_status mnet_model_load_memory(const void *data, size_t size,
                                   const mnet_options *options,
                                   mnet_model **model, mnet_error *error);

void mnet_model_destroy(mnet_model *model);

typedef enum mnet_task {
    MNET_TASK_CLASSIFY = 1,
    MNET_TASK_DETECT = 2,
    MNET_TASK_SEGMENT = 4,
    MNET_TASK_FEATURES = 8
} mnet_task;

/* What a model is; all strings belong to the model. */
typedef struct mnet_model_info {
    const char *architecture;  /* "mobilenet_v1", "mobilenet_v2", ... */
    const char *name;          /* from the metadata, may be "" */
    int tasks;                 /* bitwise OR of mnet_task */
    float depth_multiplier;
    int input_width, input_height, input_channels;
    const char *color_order;   /* "rgb" or "bgr" */
    float mean[3], std[3];     /* network input = (pixel - mean) / std */
    const char *padding;       /* "tf_same" or "symmetric" */
    int num_classes;           /* 0 for a pure feature extractor */
    int64_t parameters;        /* number of weights and biases */
    int64_t macs;              /* multiply-accumulates of one inference */
    const char *provenance;    /* JSON text from the metadata, may be "" */
    const char *weights_dtype; /* dtype of the stored weights: "f16", ... */
    const char *precision;     /* what the model runs at: "int8" (the uint8
                                  plan) or "fp32", after AUTO is resolved */
    float score_threshold;     /* detectors: the model's own score threshold
                                  (what mnet_detect_options_init leaves to the
                                  model); 0 for other architectures */
    int max_detections;        /* detectors: the model's own maximum number of
                                  detections; 0 for other architectures */
} mnet_model_info;

mnet_status mnet_model_get_info(const mnet_model *model, mnet_model_info *info);

/* Class labels; NULL if index is out of range or the model has none. */
const char *mnet_model_label(const mnet_model *model, int index);

/* The execution plan, one step per fused layer, for inspection
 * (`mnet info`) and for tools that follow the graph (post-training
 * quantization). Returns the number of steps; fills *step for index i.
 * Strings belong to the model. */
#define MNET_PLAN_STEP_MAX_INPUTS 6
typedef struct mnet_plan_step {
    const char *name;   /* e.g. "block3/expand"; also the name of its output */
    const char *op;     /* "conv2d", "depthwise", "pointwise", "add", ... */
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int kernel, stride, dilation;
    const char *activation; /* "none", "relu", "relu6" */
    int64_t macs;
    int64_t parameters;
    /* what the step reads: the names of earlier steps' outputs, or "input"
     * for the model input; a concatenation has several, in order */
    int num_inputs;
    const char *inputs[MNET_PLAN_STEP_MAX_INPUTS];
    const char *residual; /* output added to this step's result (MobileNet V2), or NULL */
    const char *weights;  /* prefix of its tensors in the model file: "<weights>.weight",
                             "<weights>.bias"; NULL for steps without weights */
} mnet_plan_step;

int mnet_model_plan_size(const mnet_model *model);
mnet_status mnet_model_plan_step(const mnet_model *model, int index,
                                 mnet_plan_step *step);

/* Named feature taps the model offers to mnet_features: every block output
 * ("block3/output"), V2 expansion outputs ("block13/expand"), ... TF-slim
 * endpoint names ("expanded_conv_13/expand", "Conv2d_11_pointwise") are
 * accepted as aliases. Returns the count; *name valid for the model's life. */
int mnet_model_tap_count(const mnet_model *model);
const char *mnet_model_tap_name(const mnet_model *model, int index);

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct mnet_session mnet_session;

typedef struct mnet_session_options {
    /* Feature taps that mnet_features will read; their buffers are kept
     * out of the arena's reuse. NULL/0 = none. */
    const char *const *taps;
    int num_taps;
} mnet_session_options;

/* Creates the per-thread state: one arena sized at creation, so running
 * allocates nothing. options may be NULL. */
mnet_status mnet_session_create(const mnet_model *model,
                                const mnet_session_options *options,
                                mnet_session **session, mnet_error *error);
void mnet_session_destroy(mnet_session *session);

/* Message of the last failed call on this session ("" if none). */
const char *mnet_session_error(const mnet_session *session);

/* Bytes this session holds (arena, outputs, scratch). */
size_t mnet_session_memory(const mnet_session *session);

/* Bytes a session of this model would hold, computed at load time without
 * creating it (0 on bad arguments). options may be NULL. */
size_t mnet_model_session_bytes(const mnet_model *model,
                                const mnet_session_options *options);

/* ------------------------------------------------------------------------ */
/* Images                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum mnet_pixel_format {
    MNET_PIXEL_RGB = 1,   /* packed u8 */
    MNET_PIXEL_BGR,
    MNET_PIXEL_RGBA,
    MNET_PIXEL_BGRA,
    MNET_PIXEL_GRAY,      /* one u8 plane; replicated to 3 channels */
    MNET_PIXEL_RGB_F32_PLANAR, /* three float planes R, G, B; values on the
                                  0..255 scale of 8-bit pixels */
    MNET_PIXEL_NV12,      /* Y plane + interleaved UV plane, 4:2:0 */
    MNET_PIXEL_NV21,      /* Y plane + interleaved VU plane, 4:2:0 */
    MNET_PIXEL_I420,      /* Y, U, V planes, 4:2:0 */
    MNET_PIXEL_YV12       /* Y, V, U planes, 4:2:0 */
} mnet_pixel_format;

/* A view of caller memory; nothing is copied. strides are in bytes. Packed
 * formats use plane 0 only. */
typedef struct mnet_image {
    mnet_pixel_format format;
    int width, height;
    const void *planes[3];
    size_t strides[3];
} mnet_image;

/* A view of one packed (single-plane) image. */
mnet_image mnet_image_packed(mnet_pixel_format format, const void *data,
                             int width, int height, size_t stride);

/* How an image is mapped onto the network input. */
typedef enum mnet_fit {
    MNET_FIT_MODEL_DEFAULT = 0, /* what the model's metadata says */
    MNET_FIT_CENTER_CROP,       /* crop the central part with the network's
                                   aspect ratio (crop_fraction of the shorter
                                   side), then resize */
    MNET_FIT_STRETCH,           /* resize the whole image, aspect not kept */
    MNET_FIT_LETTERBOX          /* resize keeping aspect, pad with fill */
} mnet_fit;

typedef enum mnet_yuv_matrix { MNET_YUV_BT601 = 0, MNET_YUV_BT709 } mnet_yuv_matrix;
typedef enum mnet_yuv_range { MNET_YUV_LIMITED = 0, MNET_YUV_FULL } mnet_yuv_range;

typedef struct mnet_rect {
    int x, y, width, height;
} mnet_rect;

/* Per-call preprocessing; NULL or mnet_preprocess_init() = model defaults.
 *
 * Order of operations: ROI, then rotation, then mirroring, then the fit into
 * the network size. Center crop snaps its box to whole source pixels (size
 * rounded half up, offset rounded down), as the reference evaluation crops
 * do. Resampling is bilinear with half-pixel centres, antialiased (triangle
 * filter widened by the scale) when shrinking, like PIL's BILINEAR resize.
 * YUV 4:2:0 chroma is upsampled bilinearly with centred (JPEG) siting; the
 * default matrix is BT.601 limited range. */
typedef struct mnet_preprocess {
    mnet_fit fit;
    float crop_fraction;   /* center crop: 0 = model default, else (0, 1] */
    float fill[3];         /* letterbox padding in R, G, B order, 0..255;
                              negative (the default) = the model's own
                              fill, black unless its metadata says */
    mnet_rect roi;         /* region of interest in original pixels; width
                              and height both 0 = the whole image */
    int rotation;          /* 0, 90, 180, 270: clockwise rotation applied to
                              the image (after the ROI) to make it upright */
    int mirror;            /* non-zero: mirror horizontally after rotation */
    mnet_yuv_matrix yuv_matrix;
    mnet_yuv_range yuv_range;
} mnet_preprocess;

void mnet_preprocess_init(mnet_preprocess *preprocess);

/* Writes the network input tensor (NHWC float, normalized as the model
 * wants, input_height x input_width x 3) for an image; what every task does
 * first, exposed for custom pipelines and tests. */
mnet_status mnet_preprocess_image(mnet_session *session, const mnet_image *image,
                                  const mnet_preprocess *preprocess,
                                  float *input, size_t input_count);

/* ------------------------------------------------------------------------ */
/* Tensors and raw inference                                                */
/* ------------------------------------------------------------------------ */

/* A dense float tensor, NHWC with N = 1, channels fastest. */
typedef struct mnet_tensor {
    const char *name;
    int height, width, channels;
    const float *data;
} mnet_tensor;

/* Runs the network on an already-normalized input tensor (NHWC float,
 * input_height x input_width x input_channels values). */
mnet_status mnet_run(mnet_session *session, const float *input,
                     size_t input_count);

/* The tap tensors named in the session options (index in that order), as
 * left by the last run of any kind (mnet_run or a task). */
mnet_status mnet_session_tap(const mnet_session *session, int index, mnet_tensor *tensor);

/* The raw outputs of the last run: for a classifier, output 0 is the
 * logits (1 x 1 x num_classes); for DeepLab the low-resolution logits; for
 * an SSD the class scores of its last feature map (the box and class heads
 * of every map are the taps "head<l>/box" and "head<l>/class"; a TFLite SSD
 * running int8 gives its own quantized sigmoid scores there, not logits).
 * Returns the number of outputs. */
int mnet_output_count(const mnet_session *session);
mnet_status mnet_output(const mnet_session *session, int index,
                        mnet_tensor *tensor);

/* ------------------------------------------------------------------------ */
/* Tasks                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct mnet_class {
    int index;          /* in the model's own class numbering */
    const char *label;  /* owned by the model; "" if it has no labels */
    float score;        /* softmax probability; at int8, the model's own uint8
                           softmax output / 256 (multiples of 1/256) */
} mnet_class;

/* Top-k classes, best first. *count receives min(k, num_classes). At int8,
 * classes with the same uint8 probability are ranked by their logits, then
 * by index. */
mnet_status mnet_classify(mnet_session *session, const mnet_image *image,
                          const mnet_preprocess *preprocess, int k,
                          mnet_class *top, int *count);

typedef struct mnet_detection {
    int class_index;    /* in the model's own class numbering (0-based,
                           background excluded) */
    const char *label;  /* owned by the model; "" if it has no labels */
    float score;
    float box[4];       /* x0, y0, x1, y1 in pixels of the caller's original
                           image (through ROI, rotation, crop, letterbox) */
} mnet_detection;

typedef struct mnet_detect_options {
    float score_threshold; /* keep detections scoring at least this; < 0 =
                              the model's own threshold */
    int max_detections;    /* 0 = the model's own maximum */
    float iou_threshold;   /* NMS overlap; <= 0 = the model's own */
} mnet_detect_options;

void mnet_detect_options_init(mnet_detect_options *options);

/* Object detection with an SSD model: finished detections, best first.
 * options may be NULL. Writes at most `capacity` detections; *count gets
 * their number. */
mnet_status mnet_detect(mnet_session *session, const mnet_image *image,
                        const mnet_preprocess *preprocess,
                        const mnet_detect_options *options,
                        mnet_detection *detections, int capacity, int *count);

/* Semantic segmentation with a DeepLab model: writes the class id of every
 * pixel of the caller's image (image->width x image->height bytes, rows
 * mask_stride bytes apart), mapped back through the preprocessing. The
 * low-resolution logits of the same run stay readable with mnet_output. */
mnet_status mnet_segment(mnet_session *session, const mnet_image *image,
                         const mnet_preprocess *preprocess, uint8_t *mask,
                         size_t mask_stride);

/* The feature maps at the taps named in the session options, in that order,
 * after running the network on image. tensors must hold num_taps entries. */
mnet_status mnet_features(mnet_session *session, const mnet_image *image,
                          const mnet_preprocess *preprocess,
                          mnet_tensor *tensors);

/* ------------------------------------------------------------------------ */
/* Building blocks on user tensors                                          */
/* ------------------------------------------------------------------------ */

typedef enum mnet_activation {
    MNET_ACT_NONE = 0,
    MNET_ACT_RELU,
    MNET_ACT_RELU6
} mnet_activation;

typedef enum mnet_padding {
    MNET_PAD_TF_SAME = 0, /* TensorFlow SAME: extra padding after */
    MNET_PAD_SYMMETRIC,   /* PyTorch style: dilation*(k-1)/2 on each side */
    MNET_PAD_VALID        /* no padding */
} mnet_padding;

/* A 2-D convolution on a user tensor. Weights are OHWI:
 * [out_channels][kernel][kernel][in_channels / groups]; groups equal to the
 * channel count make it depthwise. bias may be NULL. The output tensor's
 * size follows from the padding rule; use mnet_conv2d_output_size to size
 * the buffer. */
typedef struct mnet_conv2d_params {
    int out_channels;
    int kernel, stride, dilation, groups;
    mnet_padding padding;
    mnet_activation activation;
    const float *weights;
    const float *bias;
} mnet_conv2d_params;

mnet_status mnet_conv2d_output_size(const mnet_conv2d_params *params,
                                    int in_height, int in_width,
                                    int *out_height, int *out_width);

/* output must hold out_height * out_width * out_channels floats. */
mnet_status mnet_conv2d(const mnet_conv2d_params *params,
                        const mnet_tensor *input, float *output,
                        size_t output_count);

/* Global average pool + fully connected layer (a classifier head):
 * weights [out][channels], bias may be NULL, output holds out values. */
mnet_status mnet_global_pool_fc(const mnet_tensor *input, int out,
                                const float *weights, const float *bias,
                                float *output);

#ifdef __cplusplus
}
#endif

#endif /* MNET_H */
