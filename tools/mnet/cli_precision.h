/* --precision int8|fp32|auto, shared by classify, detect, segment and bench. */
#ifndef MNET_TOOLS_CLI_PRECISION_H
#define MNET_TOOLS_CLI_PRECISION_H

#include "mnet.h"

#define CLI_PRECISION_USAGE \
    "      --precision P  int8, fp32 or auto (default: auto, the library's choice)\n"

/* Parses "int8", "fp32" or "auto"; 0 after printing a message otherwise. */
int cli_parse_precision(const char *value, mnet_precision *out);

/* 1 if argv[*index] is --precision (value consumed and valid), 0 if not,
 * -1 after printing a usage error. */
int cli_precision_option(int argc, char **argv, int *index, mnet_precision *out);

/* "int8", "fp32" or "auto". */
const char *cli_precision_name(mnet_precision precision);

#endif
