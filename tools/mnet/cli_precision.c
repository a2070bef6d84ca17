/* Parsing --precision. */
#include "cli_precision.h"

#include <string.h>

#include "cli_args.h"
#include "cli_report.h"

int cli_parse_precision(const char *value, mnet_precision *out) {
    if (strcmp(value, "int8") == 0) *out = MNET_PRECISION_INT8;
    else if (strcmp(value, "fp32") == 0) *out = MNET_PRECISION_FP32;
    else if (strcmp(value, "auto") == 0) *out = MNET_PRECISION_AUTO;
    else {
        cli_error("--precision must be int8, fp32 or auto, not '%s'", value);
        return 0;
    }
    return 1;
}

int cli_precision_option(int argc, char **argv, int *index, mnet_precision *out) {
    const char *value;
    int matched = cli_option_value(argc, argv, index, NULL, "--precision", &value);
    if (matched <= 0) return matched;
    return cli_parse_precision(value, out) ? 1 : -1;
}

const char *cli_precision_name(mnet_precision precision) {
    switch (precision) {
    case MNET_PRECISION_INT8:
        return "int8";
    case MNET_PRECISION_FP32:
        return "fp32";
    default:
        return "auto";
    }
}
