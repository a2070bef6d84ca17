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
