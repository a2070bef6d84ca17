/* Model resolution and loading for the sub-commands. */
#define _POSIX_C_SOURCE 200809L

#include "cli_model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_exit.h"
#include "cli_report.h"
#include "model_path.h"

int cli_load_model(const char *path, const mnet_options *options,
                   mnet_model **model, char *used_path, size_t used_path_size) {
    return cli_load_model_or(path, CLI_DEFAULT_MODEL, options, model, used_path,
                             used_path_size);
}

int cli_load_model_or(const char *path, const char *default_name,
                      const mnet_options *options, mnet_model **model, char *used_path,
                      size_t used_path_size) {
    *model = NULL;
    if (path) {
        snprintf(used_path, used_path_size, "%s", path);
    } else {
        int found = model_default_path(default_name, used_path, used_path_size);
        if (found < 0) {
            cli_error("cannot locate the default model %s (the executable's "
                      "directory is unknown); pass -m MODEL",
                      default_name);
            return CLI_EXIT_BAD_MODEL;
        }
        if (found == 0) {
            cli_error("%s: default model not found; pass -m MODEL", used_path);
            return CLI_EXIT_BAD_MODEL;
        }
    }
    struct stat info;
    if (stat(used_path, &info) != 0) {
        cli_error("%s: cannot open model: %s", used_path, strerror(errno));
        return CLI_EXIT_BAD_MODEL;
    }
    if (S_ISDIR(info.st_mode)) {
        cli_error("%s: model is a directory, not a file", used_path);
        return CLI_EXIT_BAD_MODEL;
    }
    if (!S_ISREG(info.st_mode)) {
        cli_error("%s: model is not a regular file", used_path);
        return CLI_EXIT_BAD_MODEL;
    }
    mnet_error error;
    memset(&error, 0, sizeof error);
    mnet_status status = mnet_model_load(used_path, options, model, &error);
    if (status != MNET_OK && status == MNET_ERR_UNSUPPORTED && options &&
        options->precision == MNET_PRECISION_INT8) {
        *model = NULL;
        cli_error("--precision int8 is not available: %s",
                  error.message[0] ? error.message : mnet_status_string(status));
        return CLI_EXIT_PRECISION;
    }
    if (status != MNET_OK) {
        *model = NULL;
        cli_file_error(used_path, error.message[0] ? error.message
                                                   : mnet_status_string(status));
        return cli_exit_for_model_status(status);
    }
    return CLI_EXIT_OK;
}

int cli_require_task(const mnet_model *model, const char *path, int task, const char *what,
                     mnet_model_info *info) {
    memset(info, 0, sizeof *info);
    mnet_status status = mnet_model_get_info(model, info);
    if (status != MNET_OK) {
        cli_error("%s: cannot describe the model: %s", path, mnet_status_string(status));
        return CLI_EXIT_INTERNAL;
    }
    if (!(info->tasks & task) || info->num_classes <= 0) {
        cli_error("%s: model '%s' (%s) is not %s", path, info->name ? info->name : "",
                  info->architecture ? info->architecture : "?", what);
        return CLI_EXIT_BAD_MODEL;
    }
    return CLI_EXIT_OK;
}

int cli_create_session(const mnet_model *model, const char *path, mnet_session **session) {
    mnet_error error;
    memset(&error, 0, sizeof error);
    mnet_status status = mnet_session_create(model, NULL, session, &error);
    if (status != MNET_OK) {
        *session = NULL;
        cli_file_error(path, error.message[0] ? error.message : mnet_status_string(status));
        return cli_exit_for_model_status(status);
    }
    return CLI_EXIT_OK;
}
