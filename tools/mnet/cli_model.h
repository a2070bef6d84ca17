/* Opening the model a sub-command works on, with the CLI's messages. */
#ifndef MNET_TOOLS_CLI_MODEL_H
#define MNET_TOOLS_CLI_MODEL_H

#include <stddef.h>

#include "mnet.h"

#define CLI_DEFAULT_MODEL "mobilenet_v2_1.0_224.safetensors"
#define CLI_DEFAULT_DETECT_MODEL "ssd_mobilenet_v2_coco.safetensors"
#define CLI_DEFAULT_SEGMENT_MODEL "deeplabv3_mnv2_dm1.0_pascal.safetensors"

/* Loads the model at path, or the default model next to the executable when
 * path is NULL. Checks first that the path is a regular file, so that
 * directories and devices get a clear message at once. Returns CLI_EXIT_OK,
 * or the exit code after printing one line. used_path receives the file
 * actually opened (for messages). options may be NULL. */
int cli_load_model(const char *path, const mnet_options *options,
                   mnet_model **model, char *used_path, size_t used_path_size);

/* The same with another default model file name. */
int cli_load_model_or(const char *path, const char *default_name,
                      const mnet_options *options, mnet_model **model, char *used_path,
                      size_t used_path_size);

/* Checks that the model can do task (an MNET_TASK_* bit); otherwise prints
 * "<path>: model '<name>' (<architecture>) is not <what>" and returns
 * CLI_EXIT_BAD_MODEL. *info receives the model's description. */
int cli_require_task(const mnet_model *model, const char *path, int task, const char *what,
                     mnet_model_info *info);

/* Creates a session, printing one line on failure; returns an exit code. */
int cli_create_session(const mnet_model *model, const char *path, mnet_session **session);

#endif
