/* Opening the model a sub-command works on, with the CLI's messages. */
#ifndef MNET_TOOLS_CLI_MODEL_H
#define MNET_TOOLS_CLI_MODEL_H

#include <stddef.h>

#include "mnet.h"

#define CLI_DEFAULT_MODEL "mobilenet_v2_1.0_224.safetensors"

/* Loads the model at path, or the default model next to the executable when
 * path is NULL. Checks first that the path is a regular file, so that
 * directories and devices get a clear message at once. Returns CLI_EXIT_OK,
 * or the exit code after printing one line. used_path receives the file
 * actually opened (for messages). options may be NULL. */
int cli_load_model(const char *path, const mnet_options *options,
                   mnet_model **model, char *used_path, size_t used_path_size);

#endif
