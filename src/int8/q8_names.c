/* Tap name -> weight prefix. The float plan keeps only tap names; the raw
 * quantized tensors are named by layer, with the conventions of
 * docs/MODEL_FORMAT.md. */
#include <stdio.h>
#include <string.h>

#include "int8/q8_plan.h"

int mnet_q8_weight_prefix(const mnet_model_config *config, const char *tap, char *out,
                          size_t size) {
    mnet_arch arch = config->arch;
    mnet_arch backbone = config->backbone;
    int block = -1, used = 0;
    char part[MNET_NAME_MAX] = {0};
    if (strcmp(tap, "conv0") == 0 || strcmp(tap, "conv_last") == 0) {
        snprintf(out, size, "%s", tap);
        return 0;
    }
    if (strcmp(tap, "logits") == 0) {
        snprintf(out, size, "%s", arch == MNET_ARCH_DEEPLAB_V3 ? "logits" : "classifier");
        return 0;
    }
    /* SSD extra layers and predictors, DeepLab's ASPP (see ssd.c, deeplab.c) */
    if (sscanf(tap, "extra%d/%47s%n", &block, part, &used) == 2 && tap[used] == '\0') {
        const char *layer = strcmp(part, "reduce") == 0      ? "reduce"
                            : strcmp(part, "depthwise") == 0 ? "dw"
                            : strcmp(part, "output") != 0    ? NULL
                            : config->ssd.extra_depthwise    ? "pw"
                                                             : "conv";
        if (!layer) return -1;
        snprintf(out, size, "extras.%d.%s", block, layer);
        return 0;
    }
    if (sscanf(tap, "head%d/%47s%n", &block, part, &used) == 2 && tap[used] == '\0') {
        snprintf(out, size, "heads.%d.%s", block, part);
        return 0;
    }
    if (strcmp(tap, "aspp/pool_conv") == 0 || strcmp(tap, "aspp/conv0") == 0 ||
        strcmp(tap, "aspp/output") == 0) {
        snprintf(out, size, "aspp.%s",
                 tap[5] == 'p' ? "pool" : tap[5] == 'c' ? "conv0" : "project");
        return 0;
    }
    if (sscanf(tap, "block%d/%47s%n", &block, part, &used) == 2 && tap[used] == '\0') {
        const char *layer = NULL;
        if (strcmp(part, "expand") == 0) layer = "expand";
        else if (strcmp(part, "depthwise") == 0) layer = "dw";
        else if (strcmp(part, "output") == 0)
            layer = backbone == MNET_ARCH_MOBILENET_V1 ? "pw" : "project";
        if (!layer) return -1;
        snprintf(out, size, "blocks.%d.%s", block, layer);
        return 0;
    }
    return -1;
}
