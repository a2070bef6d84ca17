/* TF-slim endpoint names as aliases of mnet's tap names, so users coming
 * from TensorFlow can name feature maps the way their papers do. */
#include <stdio.h>
#include <string.h>

#include "models/plan.h"

/* Parses "<prefix><number><rest>" with an exact prefix; returns the number
 * (or -1) and points *rest past it. */
static int number_after(const char *name, const char *prefix, const char **rest) {
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0) return -1;
    const char *p = name + n;
    if (*p < '0' || *p > '9') return -1;
    int v = 0;
    while (*p >= '0' && *p <= '9' && v < 1000) v = v * 10 + (*p++ - '0');
    *rest = p;
    return v;
}

int mnet_tap_alias(mnet_arch arch, const char *name, char *out, size_t out_size) {
    const char *rest;
    int i;
    if (arch == MNET_ARCH_MOBILENET_V1) {
        if (strcmp(name, "Conv2d_0") == 0) return snprintf(out, out_size, "conv0") > 0 ? 0 : -1;
        if ((i = number_after(name, "Conv2d_", &rest)) >= 1 && i <= 13) {
            if (strcmp(rest, "_depthwise") == 0)
                return snprintf(out, out_size, "block%d/depthwise", i - 1) > 0 ? 0 : -1;
            if (strcmp(rest, "_pointwise") == 0)
                return snprintf(out, out_size, "block%d/output", i - 1) > 0 ? 0 : -1;
        }
        return -1;
    }
    if (strcmp(name, "Conv") == 0) return snprintf(out, out_size, "conv0") > 0 ? 0 : -1;
    if (strcmp(name, "Conv_1") == 0) return snprintf(out, out_size, "conv_last") > 0 ? 0 : -1;
    if (strncmp(name, "expanded_conv/", 14) == 0)
        return snprintf(out, out_size, "block0/%s", name + 14) > 0 ? 0 : -1;
    if ((i = number_after(name, "expanded_conv_", &rest)) >= 1 && i <= 16 && rest[0] == '/')
        return snprintf(out, out_size, "block%d/%s", i, rest + 1) > 0 ? 0 : -1;
    return -1;
}
