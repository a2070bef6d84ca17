/* `mnet classify`: top-k ImageNet-style classes for each image given. */
#include <stdio.h>
#include <stdlib.h>

#include "cli_args.h"
#include "cli_exit.h"
#include "cli_input.h"
#include "cli_model.h"
#include "cli_precision.h"
#include "cli_report.h"
#include "cli_task_args.h"
#include "commands.h"
#include "json_out.h"
#include "mnet.h"

#define MAX_PATH_TEXT 4096

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

/* -k/--top K, classify's own option: 1 matched, 0 not, -1 after a message. */
static int top_option(int argc, char **argv, int *i, void *context) {
    int *k = context;
    const char *value;
    int matched = cli_option_value(argc, argv, i, "-k", "--top", &value);
    if (matched <= 0) return matched;
    if (!cli_parse_int(value, 1, 1000000, k)) {
        cli_error("-k needs a whole number of at least 1, not '%s'", value);
        return -1;
    }
    return 1;
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
static int classify_one(mnet_session *session, const cli_task_args *args,
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
    cli_task_args args;
    int top_k = 5, help;
    int code = cli_task_parse(argc, argv, "classify", 0, &args, top_option, &top_k, &help);
    if (help) {
        classify_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (code != CLI_EXIT_OK) return code;

    mnet_model *model;
    char model_path[MAX_PATH_TEXT];
    code = cli_task_load_model(&args, CLI_DEFAULT_MODEL, &model, model_path, sizeof model_path);
    if (code != CLI_EXIT_OK) return code;

    mnet_model_info info;
    mnet_session *session = NULL;
    mnet_class *top = NULL;
    code = cli_require_task(model, model_path, MNET_TASK_CLASSIFY, "a classifier", &info);
    if (code == CLI_EXIT_OK) code = cli_create_session(model, model_path, &session);
    if (code != CLI_EXIT_OK) goto done;
    int k = top_k < info.num_classes ? top_k : info.num_classes;
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
