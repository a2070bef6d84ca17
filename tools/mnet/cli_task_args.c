/* Option parsing shared by the image task commands. */
#include "cli_task_args.h"

#include <string.h>

#include "cli_args.h"
#include "cli_exit.h"
#include "cli_model.h"
#include "cli_output.h"
#include "cli_precision.h"
#include "cli_report.h"

/* 1 matched, 0 not, -1 error: the options every task command has (-o only
 * where takes_output_dir). */
static int common_option(int argc, char **argv, int *i, const char *command,
                         int takes_output_dir, cli_task_args *args) {
    const char *arg = argv[*i], *value;
    int matched;
    if (strcmp(arg, "--json") == 0) {
        args->json = 1;
        return 1;
    }
    if ((matched = cli_input_option(argc, argv, i, &args->input)) != 0) return matched;
    if ((matched = cli_precision_option(argc, argv, i, &args->precision)) != 0) return matched;
    if ((matched = cli_option_value(argc, argv, i, "-m", "--model", &value)) != 0) {
        if (matched > 0) args->model_path = value;
        return matched;
    }
    if (takes_output_dir &&
        (matched = cli_option_value(argc, argv, i, "-o", "--output", &value)) != 0) {
        if (matched < 0) return -1;
        if (!*value) {
            cli_error("%s: -o needs a folder name", command);
            return -1;
        }
        args->output_dir = value;
        return 1;
    }
    if ((matched = cli_option_value(argc, argv, i, NULL, "--threads", &value)) != 0) {
        if (matched < 0) return -1;
        if (!cli_parse_int(value, 0, 1024, &args->threads)) {
            cli_error("--threads needs a number from 0 to 1024, not '%s'", value);
            return -1;
        }
        return 1;
    }
    return 0;
}

int cli_task_parse(int argc, char **argv, const char *command, int takes_output_dir,
                   cli_task_args *args, cli_extra_option extra, void *context, int *help) {
    memset(args, 0, sizeof *args);
    cli_input_options_init(&args->input);
    *help = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') break; /* first image; "-" alone too */
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = 1;
            return CLI_EXIT_OK;
        }
        int matched = common_option(argc, argv, &i, command, takes_output_dir, args);
        if (matched == 0 && extra) matched = extra(argc, argv, &i, context);
        if (matched < 0) return CLI_EXIT_USAGE;
        if (matched > 0) continue;
        cli_error("%s: unknown option '%s' (see mnet %s --help)", command, arg, command);
        return CLI_EXIT_USAGE;
    }
    args->images = argv + i;
    args->num_images = argc - i;
    if (args->num_images == 0) {
        cli_error("%s: no image given (see mnet %s --help)", command, command);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cli_task_load_model(const cli_task_args *args, const char *default_model, mnet_model **model,
                        char *used_path, size_t used_path_size) {
    mnet_options options;
    mnet_options_init(&options);
    options.threads = args->threads;
    options.precision = args->precision;
    return cli_load_model_or(args->model_path, default_model, &options, model, used_path,
                             used_path_size);
}

int cli_task_start(int argc, char **argv, const cli_task_command *command, cli_task_args *args,
                   mnet_model **model, char *used_path, size_t used_path_size) {
    *model = NULL;
    int help;
    int code = cli_task_parse(argc, argv, command->name, 1, args, command->extra,
                              command->context, &help);
    if (help) {
        command->usage(stdout);
        return CLI_EXIT_OK;
    }
    if (code != CLI_EXIT_OK) return code;
    if (args->output_dir && (code = cli_output_prepare_dir(args->output_dir)) != CLI_EXIT_OK)
        return code;
    return cli_task_load_model(args, command->default_model, model, used_path, used_path_size);
}
