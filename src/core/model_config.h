/* The parsed mnet.config / mnet.labels / mnet.quantization metadata of a
 * model file (docs/MODEL_FORMAT.md): everything about a model except its
 * weights. */
#ifndef MNET_CORE_MODEL_CONFIG_H
#define MNET_CORE_MODEL_CONFIG_H

#include "core/error.h"
#include "core/safetensors.h"

typedef enum mnet_arch {
    MNET_ARCH_MOBILENET_V1 = 1,
    MNET_ARCH_MOBILENET_V2
} mnet_arch;

/* Upper bounds that keep a hostile file from requesting absurd work. */
#define MNET_MAX_INPUT_SIDE 4096
#define MNET_MAX_CLASSES 100000
#define MNET_MAX_LABEL_BYTES 1024

typedef struct mnet_model_config {
    mnet_arch arch;
    char *name;                 /* "" when absent */
    float depth_multiplier;     /* (0, 4] */
    int last_channels;          /* V2: resolved width of conv_last; 0 = none */
    mnet_padding padding;       /* MNET_PAD_TF_SAME or MNET_PAD_SYMMETRIC */
    int input_h, input_w, input_c;
    int bgr;                    /* network expects BGR channel order */
    float mean[3], std[3];
    mnet_fit fit;               /* never MNET_FIT_MODEL_DEFAULT */
    float crop_fraction;        /* (0, 1] */
    int num_classes;            /* 0 = no classifier head */
    char **labels;              /* num_labels strings, or NULL */
    int num_labels;
    char *provenance;           /* JSON text, "" when absent */
    char *quantization;         /* JSON text, NULL when absent */
} mnet_model_config;

/* Reads and validates the metadata (types, ranges, label count equal to
 * num_classes when labels are present). On failure the config is left
 * zeroed and nothing needs freeing. */
mnet_status mnet_model_config_parse(const mnet_safetensors *st, mnet_model_config *config,
                                    mnet_error *error);
void mnet_model_config_free(mnet_model_config *config);

const char *mnet_arch_name(mnet_arch arch);

#endif
