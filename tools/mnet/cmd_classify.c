/* `mnet classify`: top-k ImageNet-style classes for each image given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_exit.h"
#include "cli_input.h"
#include "cli_model.h"
#include "cli_precision.h"
#include "cli_report.h"
#include "commands.h"
#include "json_out.h"
#include "mnet.h"

#define MAX_PATH_TEXT 4096

typedef struct classify_args {
    const char *model_path; /* NULL: the default model */
    int k;
    int json;
    int threads;
    mnet_precision precision; /* AUTO unless --precision */
    cli_input_options input;
    char **images;
    int num_images;
} classify_args;

void classify_usage(FILE *out) {
    fprintf(out,
            "usage: mnet classify [-m MODEL] [-k K] [--json] [--threads N]\n"
            "                     [--precision P] [--raw FORMAT:WxH] IMAGE...\n"
            "\n"
            "Prints the K most likely classes of each JPEG or PNG image (or raw frame).\n"
            "\n"
            "  -m, --model MODEL  model file (default: %s,\n"
            "                     looked up next to the mnet executable)\n"
            "  -k, --top K        number of classes per image (default 5)\n"
            "      --json         one JSON object per image (JSON Lines)\n"
            "      --threads N    worker threads, 0 = all CPUs (default 0)\n"
            CLI_PRECISION_USAGE,
            CLI_DEFAULT_MODEL);
    cli_input_usage(out);
    fprintf(out, "  -h, --help         this help\n");
}

/* Returns CLI_EXIT_OK or CLI_EXIT_USAGE (message printed); *help set for -h. */
static int parse_classify_args(int argc, char **argv, classify_args *args, int *help) {
    memset(args, 0, sizeof *args);
    args->k = 5;
    cli_input_options_init(&args->input);
    *help = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        const char *value;
        int matched;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') break; /* first image; "-" alone too */
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = 1;
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--json") == 0) {
            args->json = 1;
            continue;
        }
        if ((matched = cli_input_option(argc, argv, &i, &args->input)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, "-m", "--model", &value)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            args->model_path = value;
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, "-k", "--top", &value)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            if (!cli_parse_int(value, 1, 1000000, &args->k)) {
                cli_error("-k needs a whole number of at least 1, not '%s'", value);
                return CLI_EXIT_USAGE;
            }
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, NULL, "--threads", &value)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            if (!cli_parse_int(value, 0, 1024, &args->threads)) {
                cli_error("--threads needs a number from 0 to 1024, not '%s'", value);
                return CLI_EXIT_USAGE;
            }
            continue;
        }
        if ((matched = cli_precision_option(argc, argv, &i, &args->precision)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            continue;
        }
        cli_error("classify: unknown option '%s' (see mnet classify --help)", arg);
        return CLI_EXIT_USAGE;
    }
    args->images = argv + i;
    args->num_images = argc - i;
    if (args->num_images == 0) {
        cli_error("classify: no image given (see mnet classify --help)");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void print_plain(const char *path, const mnet_class *top, int count) {
    printf("%s\n", path);
    for (int i = 0; i < count; i++)
        printf("  %.4f  %s (%d)\n", top[i].score,
               top[i].label && top[i].label[0] ? top[i].label : "-", top[i].index);
}

static void print_json(const char *path, const mnet_class *top, int count) {
    fputs("{\"image\": ", stdout);
    json_write_string(stdout, path);
    fputs(", \"top\": [", stdout);
    for (int i = 0; i < count; i++) {
        printf("%s{\"index\": %d, \"label\": ", i ? ", " : "", top[i].index);
        json_write_string(stdout, top[i].label ? top[i].label : "");
        fputs(", \"score\": ", stdout);
        json_write_number(stdout, top[i].score);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

/* Classifies one image; returns CLI_EXIT_OK or the exit code of its failure
 * after printing one line. */
static int classify_one(mnet_session *session, const classify_args *args,
                        const char *path, mnet_class *top, int k) {
    cli_frame frame;
    int loaded = cli_frame_load(path, &args->input, &frame);
    if (loaded != CLI_EXIT_OK) return loaded;
    mnet_preprocess preprocess;
    cli_input_preprocess(&args->input, &preprocess);
    int count = 0;
    mnet_status status = mnet_classify(session, &frame.view, &preprocess, k, top, &count);
    cli_frame_free(&frame);
    if (status != MNET_OK) return cli_task_failure(path, "classification", session, status);
    if (args->json)
        print_json(path, top, count);
    else
        print_plain(path, top, count);
    /* Results appear as soon as they are known, also when piped. */
    fflush(stdout);
    return CLI_EXIT_OK;
}

int cmd_classify(int argc, char **argv) {
    classify_args args;
    int help;
    int code = parse_classify_args(argc, argv, &args, &help);
    if (help) {
        classify_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (code != CLI_EXIT_OK) return code;

    mnet_options options;
    mnet_options_init(&options);
    options.threads = args.threads;
    options.precision = args.precision;
    mnet_model *model;
    char model_path[MAX_PATH_TEXT];
    code = cli_load_model(args.model_path, &options, &model, model_path,
                          sizeof model_path);
    if (code != CLI_EXIT_OK) return code;

    mnet_model_info info;
    mnet_session *session = NULL;
    mnet_class *top = NULL;
    mnet_status status = mnet_model_get_info(model, &info);
    if (status != MNET_OK) {
        cli_error("%s: cannot describe the model: %s", model_path,
                  mnet_status_string(status));
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    if (!(info.tasks & MNET_TASK_CLASSIFY) || info.num_classes <= 0) {
        cli_error("%s: model '%s' (%s) is not a classifier", model_path,
                  info.name ? info.name : "", info.architecture ? info.architecture : "?");
        code = CLI_EXIT_BAD_MODEL;
        goto done;
    }
    mnet_error error;
    memset(&error, 0, sizeof error);
    status = mnet_session_create(model, NULL, &session, &error);
    if (status != MNET_OK) {
        session = NULL;
        cli_file_error(model_path, error.message[0] ? error.message
                                                    : mnet_status_string(status));
        code = cli_exit_for_model_status(status);
        goto done;
    }
    int k = args.k < info.num_classes ? args.k : info.num_classes;
    top = calloc((size_t)k, sizeof *top);
    if (!top) {
        cli_error("out of memory");
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    /* A bad image does not stop the others; the worst failure decides the
     * exit code (internal failures over bad inputs). */
    for (int i = 0; i < args.num_images; i++) {
        int result = classify_one(session, &args, args.images[i], top, k);
        if (result > code) code = result;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the results to standard output");
        code = CLI_EXIT_INTERNAL;
    }
done:
    free(top);
    mnet_session_destroy(session);
    mnet_model_destroy(model);
    return code;
}
