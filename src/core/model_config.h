/* The parsed mnet.config / mnet.labels / mnet.quantization metadata of a
 * model file (docs/MODEL_FORMAT.md): everything about a model except its
 * weights. */
#ifndef MNET_CORE_MODEL_CONFIG_H
#define MNET_CORE_MODEL_CONFIG_H

#include "core/error.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "post/detection.h"

typedef enum mnet_arch {
    MNET_ARCH_MOBILENET_V1 = 1,
    MNET_ARCH_MOBILENET_V2,
    MNET_ARCH_SSD,
    MNET_ARCH_DEEPLAB_V3
} mnet_arch;

#define MNET_TAP_NAME_MAX 48
#define MNET_SSD_MAX_EXTRA 6

typedef enum mnet_ssd_predictor {
    MNET_SSD_PREDICTOR_CONV1X1 = 0,
    MNET_SSD_PREDICTOR_CONV3X3,
    MNET_SSD_PREDICTOR_DEPTHWISE3X3
} mnet_ssd_predictor;

typedef enum mnet_anchor_source {
    MNET_ANCHORS_TENSOR = 0,
    MNET_ANCHORS_TF_SSD,
    MNET_ANCHORS_TORCHVISION
} mnet_anchor_source;

/* The "ssd" object of an SSD config (docs/MODEL_FORMAT.md). Feature map
 * sizes in the anchor parameters are filled in by the plan builder. */
typedef struct mnet_ssd_config {
    char feature_taps[2][MNET_TAP_NAME_MAX];
    int num_taps;
    int extra_reduce[MNET_SSD_MAX_EXTRA], extra_depth[MNET_SSD_MAX_EXTRA];
    int num_extra;
    int extra_depthwise;
    mnet_ssd_predictor predictor;
    int anchors_per_location[MNET_SSD_MAX_LAYERS];
    mnet_anchor_source anchor_source;
    mnet_ssd_anchor_params tf_anchors;
    mnet_torch_box_params torch_anchors;
    mnet_box_coder coder;
    mnet_nms_params nms;          /* num_classes and background filled */
} mnet_ssd_config;

/* Upper bounds that keep a hostile file from requesting absurd work. */
#define MNET_MAX_INPUT_SIDE 4096
#define MNET_MAX_CLASSES 100000
#define MNET_MAX_LABEL_BYTES 1024

#define MNET_DEEPLAB_MAX_RATES 4

/* The "deeplab" object of a DeepLab config (docs/MODEL_FORMAT.md). */
typedef struct mnet_deeplab_config {
    int full_aspp;                /* atrous 3x3 branches besides pool + 1x1 */
    int aspp_channels;
    int atrous_rates[MNET_DEEPLAB_MAX_RATES];
    int num_rates;
    int separable;                /* atrous and decoder 3x3 as depthwise + 1x1 */
    mnet_activation activation;
    int align_corners;
    int has_decoder;
    char low_level_tap[MNET_TAP_NAME_MAX];
    int low_level_channels, decoder_channels;
    int low_level_first;          /* decoder concat order */
} mnet_deeplab_config;

typedef struct mnet_model_config {
    mnet_arch arch;
    mnet_arch backbone;         /* the classifier arch itself, or SSD's backbone */
    char *name;                 /* "" when absent */
    float depth_multiplier;     /* (0, 4] */
    int last_channels;          /* V2: resolved width of conv_last; 0 = none */
    int output_stride;          /* backbone output stride: 32, or 16/8 dilated */
    int divisible_by;           /* V2 layer width rounding, default 8 */
    mnet_padding padding;       /* MNET_PAD_TF_SAME or MNET_PAD_SYMMETRIC */
    int input_h, input_w, input_c;
    int bgr;                    /* network expects BGR channel order */
    float mean[3], std[3];
    mnet_fit fit;               /* never MNET_FIT_MODEL_DEFAULT */
    float crop_fraction;        /* (0, 1] */
    float fill[3];              /* letterbox fill, 0..255, R G B */
    int num_classes;            /* 0 = no classifier head */
    char **labels;              /* num_labels strings, or NULL */
    int num_labels;
    char *provenance;           /* JSON text, "" when absent */
    char *quantization;         /* JSON text, NULL when absent */
    mnet_ssd_config ssd;        /* arch == MNET_ARCH_SSD */
    mnet_deeplab_config deeplab; /* arch == MNET_ARCH_DEEPLAB_V3 */
} mnet_model_config;

/* Parses "output_stride" and the "deeplab" object (arch DeepLab). */
mnet_status mnet_deeplab_config_parse(const mnet_json *config, mnet_model_config *c,
                                      mnet_error *error);

/* Parses the "ssd" object (arch SSD); called by mnet_model_config_parse. */
mnet_status mnet_ssd_config_parse(const mnet_json *config, mnet_model_config *c,
                                  mnet_error *error);

/* Reads and validates the metadata (types, ranges, label count equal to
 * num_classes when labels are present). On failure the config is left
 * zeroed and nothing needs freeing. */
mnet_status mnet_model_config_parse(const mnet_safetensors *st, mnet_model_config *config,
                                    mnet_error *error);
void mnet_model_config_free(mnet_model_config *config);

const char *mnet_arch_name(mnet_arch arch);

#endif
