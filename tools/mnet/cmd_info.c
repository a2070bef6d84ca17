/* `mnet info`: what a model file holds and how mnet will run it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli_exit.h"
#include "cli_model.h"
#include "cli_report.h"
#include "commands.h"
#include "json_out.h"
#include "mnet.h"

#define MAX_PATH_TEXT 4096

void info_usage(FILE *out) {
    fprintf(out,
            "usage: mnet info [--json] MODEL\n"
            "\n"
            "Describes a model: architecture, input and preprocessing, classes,\n"
            "size and cost, provenance, the fused layers mnet runs and the\n"
            "feature taps it offers.\n"
            "\n"
            "      --json   one JSON object instead of text\n"
            "  -h, --help   this help\n");
}

static const char *text_or_empty(const char *text) { return text ? text : ""; }

static const char *const task_names[] = {"classify", "detect", "segment", "features"};
static const int task_bits[] = {MNET_TASK_CLASSIFY, MNET_TASK_DETECT, MNET_TASK_SEGMENT,
                                MNET_TASK_FEATURES};
#define NUM_TASKS ((int)(sizeof task_bits / sizeof task_bits[0]))

/* Plain-text helpers ------------------------------------------------------ */

static void print_tasks_plain(int tasks) {
    int first = 1;
    for (int i = 0; i < NUM_TASKS; i++) {
        if (!(tasks & task_bits[i])) continue;
        printf("%s%s", first ? "" : ", ", task_names[i]);
        first = 0;
    }
    if (first) printf("none");
    printf("\n");
}

/* 3504872 -> "3.50 M"; keeps the table narrow while staying exact enough. */
static void format_count(int64_t value, char *out, size_t out_size) {
    if (value >= 1000000000)
        snprintf(out, out_size, "%.2f G", (double)value / 1e9);
    else if (value >= 1000000)
        snprintf(out, out_size, "%.2f M", (double)value / 1e6);
    else if (value >= 1000)
        snprintf(out, out_size, "%.1f k", (double)value / 1e3);
    else
        snprintf(out, out_size, "%" PRId64, value);
}

static void print_plan_plain(const mnet_model *model) {
    int steps = mnet_model_plan_size(model);
    printf("\nplan (%d fused steps)\n", steps > 0 ? steps : 0);
    printf("  %3s  %-24s %-13s %-15s %-15s %2s %2s %2s %-6s %10s %10s\n", "#", "name", "op",
           "input", "output", "k", "s", "d", "act", "MACs", "params");
    for (int i = 0; i < steps; i++) {
        mnet_plan_step step;
        memset(&step, 0, sizeof step);
        if (mnet_model_plan_step(model, i, &step) != MNET_OK) {
            printf("  %3d  (not available)\n", i);
            continue;
        }
        char in[40], out[40], macs[32], params[32];
        snprintf(in, sizeof in, "%dx%dx%d", step.in_h, step.in_w, step.in_c);
        snprintf(out, sizeof out, "%dx%dx%d", step.out_h, step.out_w, step.out_c);
        format_count(step.macs, macs, sizeof macs);
        format_count(step.parameters, params, sizeof params);
        printf("  %3d  %-24s %-13s %-15s %-15s %2d %2d %2d %-6s %10s %10s\n", i,
               text_or_empty(step.name), text_or_empty(step.op), in, out, step.kernel,
               step.stride, step.dilation, text_or_empty(step.activation), macs, params);
    }
}

static void print_taps_plain(const mnet_model *model) {
    int taps = mnet_model_tap_count(model);
    printf("\nfeature taps (%d)\n", taps > 0 ? taps : 0);
    for (int i = 0; i < taps; i++) printf("  %s\n", text_or_empty(mnet_model_tap_name(model, i)));
}

static void print_info_plain(const char *path, const mnet_model *model,
                             const mnet_model_info *info) {
    char parameters[32], macs[32];
    format_count(info->parameters, parameters, sizeof parameters);
    format_count(info->macs, macs, sizeof macs);
    printf("file          %s\n", path);
    printf("name          %s\n", text_or_empty(info->name));
    printf("architecture  %s, depth multiplier %g\n", text_or_empty(info->architecture),
           info->depth_multiplier);
    printf("tasks         ");
    print_tasks_plain(info->tasks);
    printf("input         %dx%dx%d (height x width x channels), %s\n", info->input_height,
           info->input_width, info->input_channels, text_or_empty(info->color_order));
    printf("normalize     (pixel - [%g, %g, %g]) / [%g, %g, %g]\n", info->mean[0],
           info->mean[1], info->mean[2], info->std[0], info->std[1], info->std[2]);
    printf("padding       %s\n", text_or_empty(info->padding));
    printf("classes       %d\n", info->num_classes);
    printf("parameters    %" PRId64 " (%s)\n", info->parameters, parameters);
    printf("MACs          %" PRId64 " (%s)\n", info->macs, macs);
    printf("weights       %s\n", text_or_empty(info->weights_dtype));
    printf("precision     %s (what runs by default; --precision of the task commands)\n",
           text_or_empty(info->precision));
    if (info->tasks & MNET_TASK_DETECT)
        printf("detections    at most %d, score threshold %g (the model's own settings)\n",
               info->max_detections, info->score_threshold);
    printf("session       %.1f MB per session (arena, scratch, outputs; 1 thread)\n",
           (double)mnet_model_session_bytes(model, NULL) / 1e6);
    printf("provenance    %s\n", info->provenance && info->provenance[0] ? info->provenance : "-");
    print_plan_plain(model);
    print_taps_plain(model);
}

/* JSON ------------------------------------------------------------------ */

static void print_json_floats(const float *values, int count) {
    fputc('[', stdout);
    for (int i = 0; i < count; i++) {
        if (i) fputs(", ", stdout);
        json_write_number(stdout, values[i]);
    }
    fputc(']', stdout);
}

static void print_json_key_string(const char *key, const char *value) {
    printf(", \"%s\": ", key);
    json_write_string(stdout, text_or_empty(value));
}

static void print_info_json(const char *path, const mnet_model *model,
                            const mnet_model_info *info) {
    fputs("{\"file\": ", stdout);
    json_write_string(stdout, path);
    print_json_key_string("architecture", info->architecture);
    print_json_key_string("name", info->name);
    fputs(", \"tasks\": [", stdout);
    int first = 1;
    for (int i = 0; i < NUM_TASKS; i++) {
        if (!(info->tasks & task_bits[i])) continue;
        printf("%s\"%s\"", first ? "" : ", ", task_names[i]);
        first = 0;
    }
    fputs("], \"depth_multiplier\": ", stdout);
    json_write_number(stdout, info->depth_multiplier);
    printf(", \"input\": {\"height\": %d, \"width\": %d, \"channels\": %d, \"color\": ",
           info->input_height, info->input_width, info->input_channels);
    json_write_string(stdout, text_or_empty(info->color_order));
    fputs(", \"mean\": ", stdout);
    print_json_floats(info->mean, 3);
    fputs(", \"std\": ", stdout);
    print_json_floats(info->std, 3);
    fputc('}', stdout);
    print_json_key_string("padding", info->padding);
    printf(", \"num_classes\": %d, \"parameters\": %" PRId64 ", \"macs\": %" PRId64,
           info->num_classes, info->parameters, info->macs);
    print_json_key_string("weights_dtype", info->weights_dtype);
    print_json_key_string("precision", info->precision);
    if (info->tasks & MNET_TASK_DETECT)
        printf(", \"max_detections\": %d, \"score_threshold\": %.9g", info->max_detections,
               (double)info->score_threshold);
    printf(", \"session_bytes\": %zu", mnet_model_session_bytes(model, NULL));
    /* Kept as the metadata's JSON text: the CLI does not re-parse it. */
    print_json_key_string("provenance", info->provenance);

    fputs(", \"plan\": [", stdout);
    int steps = mnet_model_plan_size(model), written = 0;
    for (int i = 0; i < steps; i++) {
        mnet_plan_step step;
        memset(&step, 0, sizeof step);
        if (mnet_model_plan_step(model, i, &step) != MNET_OK) continue;
        fputs(written++ ? ", {\"name\": " : "{\"name\": ", stdout);
        json_write_string(stdout, text_or_empty(step.name));
        print_json_key_string("op", step.op);
        printf(", \"input\": [%d, %d, %d], \"output\": [%d, %d, %d], \"kernel\": %d, "
               "\"stride\": %d, \"dilation\": %d",
               step.in_h, step.in_w, step.in_c, step.out_h, step.out_w, step.out_c,
               step.kernel, step.stride, step.dilation);
        print_json_key_string("activation", step.activation);
        fputs(", \"reads\": [", stdout);
        for (int k = 0; k < step.num_inputs; k++) {
            if (k) fputs(", ", stdout);
            json_write_string(stdout, text_or_empty(step.inputs[k]));
        }
        fputs("], \"residual\": ", stdout);
        if (step.residual) json_write_string(stdout, step.residual);
        else fputs("null", stdout);
        fputs(", \"weights\": ", stdout);
        if (step.weights) json_write_string(stdout, step.weights);
        else fputs("null", stdout);
        printf(", \"macs\": %" PRId64 ", \"parameters\": %" PRId64 "}", step.macs,
               step.parameters);
    }
    fputs("], \"taps\": [", stdout);
    int taps = mnet_model_tap_count(model);
    for (int i = 0; i < taps; i++) {
        if (i) fputs(", ", stdout);
        json_write_string(stdout, text_or_empty(mnet_model_tap_name(model, i)));
    }
    fputs("]}\n", stdout);
}

int cmd_info(int argc, char **argv) {
    int json = 0;
    const char *path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') break;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            info_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--json") == 0) {
            json = 1;
            continue;
        }
        cli_error("info: unknown option '%s' (see mnet info --help)", arg);
        return CLI_EXIT_USAGE;
    }
    if (argc - i != 1) {
        cli_error("info: expected exactly one MODEL (see mnet info --help)");
        return CLI_EXIT_USAGE;
    }
    path = argv[i];

    mnet_options options;
    mnet_options_init(&options);
    options.threads = 1; /* nothing runs; do not start workers */
    mnet_model *model;
    char used_path[MAX_PATH_TEXT];
    int code = cli_load_model(path, &options, &model, used_path, sizeof used_path);
    if (code != CLI_EXIT_OK) return code;

    mnet_model_info info;
    memset(&info, 0, sizeof info);
    mnet_status status = mnet_model_get_info(model, &info);
    if (status != MNET_OK) {
        cli_error("%s: cannot describe the model: %s", used_path, mnet_status_string(status));
        code = CLI_EXIT_INTERNAL;
    } else {
        if (json)
            print_info_json(used_path, model, &info);
        else
            print_info_plain(used_path, model, &info);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("cannot write to standard output");
            code = CLI_EXIT_INTERNAL;
        }
    }
    mnet_model_destroy(model);
    return code;
}
