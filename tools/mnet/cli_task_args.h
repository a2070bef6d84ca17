/* The command line shared by the image commands (classify, detect, segment):
 *   [-m MODEL] [--json] [-o OUTDIR] [--threads N] [--precision P] [--raw ...] IMAGE...
 * (classify without -o) plus options of the command's own, parsed by a
 * callback. */
#ifndef MNET_TOOLS_CLI_TASK_ARGS_H
#define MNET_TOOLS_CLI_TASK_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "cli_input.h"
#include "mnet.h"

typedef struct cli_task_args {
    const char *model_path; /* NULL: the command's default model */
    int json;
    const char *output_dir; /* NULL: no pictures written */
    int threads;
    mnet_precision precision; /* --precision; AUTO when not given */
    cli_input_options input;
    char **images;
    int num_images;
} cli_task_args;

/* Returns 1 if argv[*index] was one of the command's options (value
 * consumed), 0 if not, -1 after printing a usage error. */
typedef int (*cli_extra_option)(int argc, char **argv, int *index, void *context);

/* takes_output_dir: whether -o/--output is an option of the command (not
 * of classify, which writes no pictures). Returns CLI_EXIT_OK (with *help
 * set for -h/--help) or CLI_EXIT_USAGE after printing a message. */
int cli_task_parse(int argc, char **argv, const char *command, int takes_output_dir,
                   cli_task_args *args, cli_extra_option extra, void *context, int *help);

/* Loads -m MODEL, or the command's default model, with --threads applied;
 * the path used goes to used_path. Returns a CLI exit code. */
int cli_task_load_model(const cli_task_args *args, const char *default_model, mnet_model **model,
                        char *used_path, size_t used_path_size);

/* What a task command (detect, segment) is. */
typedef struct cli_task_command {
    const char *name;
    const char *default_model;
    void (*usage)(FILE *out);
    cli_extra_option extra; /* the command's own options, or NULL */
    void *context;          /* for extra */
} cli_task_command;

/* The start of a task command: parses argv (usage to stdout for -h/--help),
 * creates -o's folder and loads the model. Returns CLI_EXIT_OK with *model
 * set, CLI_EXIT_OK with *model NULL after --help, or the exit code after a
 * message. */
int cli_task_start(int argc, char **argv, const cli_task_command *command, cli_task_args *args,
                   mnet_model **model, char *used_path, size_t used_path_size);

#endif
