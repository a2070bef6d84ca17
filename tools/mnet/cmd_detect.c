/* `mnet detect`: objects found by an SSD model in each image, optionally
 * drawn onto a copy of the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "cli_args.h"
#include "cli_exit.h"
#include "cli_model.h"
#include "cli_precision.h"
#include "cli_output.h"
#include "cli_report.h"
#include "cli_task_args.h"
#include "commands.h"
#include "json_out.h"
#include "mnet.h"

#define MAX_PATH_TEXT 4096
#define DEFAULT_THRESHOLD 0.5
/* First guess of the result buffer when --max is not given; grown and the
 * image run again if the model's own maximum is larger. */
#define INITIAL_CAPACITY 256

typedef struct detect_settings {
    double threshold;
    int max; /* 0: the model's own maximum */
} detect_settings;

typedef struct detect_job {
    const cli_task_args *args;
    const detect_settings *settings;
    mnet_session *session;
    cli_output_names names;
    mnet_detection *detections;
    int capacity;
} detect_job;

void detect_usage(FILE *out) {
    fprintf(out,
            "usage: mnet detect [-m MODEL] [--threshold T] [--max N] [--json] [-o OUTDIR]\n"
            "                   [--threads N] [--precision P] [--raw FORMAT:WxH] IMAGE...\n"
            "\n"
            "Finds objects with an SSD model: class, score and box (x0, y0, x1, y1 in\n"
            "pixels of the original image) of each detection, best first.\n"
            "\n"
            "  -m, --model MODEL  model file (default: %s,\n"
            "                     looked up next to the mnet executable)\n"
            "      --threshold T  keep detections scoring at least T, 0..1 (default %.1f,\n"
            "                     for display; use a low value such as 0.05 for mAP)\n"
            "      --max N        at most N detections per image (default: the model's own\n"
            "                     maximum)\n"
            "      --json         one JSON object per image (JSON Lines)\n"
            "  -o, --output DIR   also write DIR/<name>_detect.png with the boxes drawn\n"
            "      --threads N    worker threads, 0 = all CPUs (default 0)\n"
            CLI_PRECISION_USAGE,
            CLI_DEFAULT_DETECT_MODEL, DEFAULT_THRESHOLD);
    cli_input_usage(out);
    fprintf(out, "  -h, --help         this help\n");
}

static int detect_option(int argc, char **argv, int *i, void *context) {
    detect_settings *settings = context;
    const char *value;
    int matched;
    if ((matched = cli_option_value(argc, argv, i, NULL, "--threshold", &value)) != 0) {
        if (matched < 0) return -1;
        if (!cli_parse_float(value, 0.0, 1.0, &settings->threshold)) {
            cli_error("--threshold needs a number from 0 to 1, not '%s'", value);
            return -1;
        }
        return 1;
    }
    return cli_int_option(argc, argv, i, "--max", 1, 100000, &settings->max);
}

static void print_box_json(const float *box) {
    fputc('[', stdout);
    for (int k = 0; k < 4; k++) {
        if (k) fputs(", ", stdout);
        json_write_number(stdout, box[k]);
    }
    fputc(']', stdout);
}

static void print_json(const char *path, const mnet_image *image, const mnet_detection *d,
                       int count, const char *annotated) {
    fputs("{\"image\": ", stdout);
    json_write_string(stdout, path);
    printf(", \"width\": %d, \"height\": %d, \"detections\": [", image->width, image->height);
    for (int i = 0; i < count; i++) {
        fputs(i ? ", {\"label\": " : "{\"label\": ", stdout);
        json_write_string(stdout, d[i].label ? d[i].label : "");
        printf(", \"class\": %d, \"score\": ", d[i].class_index);
        json_write_number(stdout, d[i].score);
        fputs(", \"box\": ", stdout);
        print_box_json(d[i].box);
        fputc('}', stdout);
    }
    fputc(']', stdout);
    if (annotated) {
        fputs(", \"annotated\": ", stdout);
        json_write_string(stdout, annotated);
    }
    fputs("}\n", stdout);
}

static void print_plain(const char *path, const mnet_image *image, const mnet_detection *d,
                        int count, const char *annotated) {
    printf("%s (%dx%d): %d detection%s\n", path, image->width, image->height, count,
           count == 1 ? "" : "s");
    for (int i = 0; i < count; i++)
        printf("  %.4f  %s (%d)  [%.1f, %.1f, %.1f, %.1f]\n", d[i].score,
               d[i].label && d[i].label[0] ? d[i].label : "-", d[i].class_index,
               d[i].box[0], d[i].box[1], d[i].box[2], d[i].box[3]);
    if (annotated) printf("  annotated: %s\n", annotated);
}

/* Runs the detector, growing the result buffer while it comes back full
 * and no --max bounds it. */
static mnet_status run_detect(detect_job *job, const cli_frame *frame,
                              const mnet_preprocess *preprocess, int *count) {
    mnet_detect_options options;
    mnet_detect_options_init(&options);
    options.score_threshold = (float)job->settings->threshold;
    options.max_detections = job->settings->max;
    for (;;) {
        mnet_status status = mnet_detect(job->session, &frame->view, preprocess, &options,
                                         job->detections, job->capacity, count);
        if (status != MNET_OK || job->settings->max > 0 || *count < job->capacity)
            return status;
        int grown = job->capacity * 4;
        mnet_detection *bigger = realloc(job->detections, (size_t)grown * sizeof *bigger);
        if (!bigger) return MNET_ERR_OUT_OF_MEMORY;
        job->detections = bigger;
        job->capacity = grown;
    }
}

/* Draws the detections on an RGB copy and writes it; returns CLI_EXIT_OK
 * with the file's path in annotated, or the exit code after a message. */
static int write_annotated(detect_job *job, const char *path, const cli_frame *frame,
                           int count, char *annotated, size_t annotated_size) {
    const char *suffix = "_detect.png";
    int code = cli_output_files(&job->names, job->args->output_dir, path, 1, &suffix,
                                &annotated, annotated_size);
    if (code != CLI_EXIT_OK) return code;
    unsigned char *rgb = cli_frame_rgb(frame, &job->args->input);
    if (!rgb) {
        cli_error("%s: out of memory for the annotated copy", path);
        return CLI_EXIT_INTERNAL;
    }
    canvas cv = {rgb, frame->view.width, frame->view.height};
    annotate_detections(&cv, job->detections, count);
    return cli_output_write_rgb(annotated, rgb, cv.width, cv.height);
}

static int detect_one(detect_job *job, const char *path) {
    cli_frame frame;
    int code = cli_frame_load(path, &job->args->input, &frame);
    if (code != CLI_EXIT_OK) return code;
    mnet_preprocess preprocess;
    cli_input_preprocess(&job->args->input, &preprocess);
    int count = 0;
    mnet_status status = run_detect(job, &frame, &preprocess, &count);
    if (status != MNET_OK) {
        code = cli_task_failure(path, "detection", job->session, status);
        cli_frame_free(&frame);
        return code;
    }
    char annotated[MAX_PATH_TEXT];
    int have_picture = 0;
    if (job->args->output_dir) {
        code = write_annotated(job, path, &frame, count, annotated, sizeof annotated);
        have_picture = code == CLI_EXIT_OK;
    }
    if (job->args->json)
        print_json(path, &frame.view, job->detections, count, have_picture ? annotated : NULL);
    else
        print_plain(path, &frame.view, job->detections, count, have_picture ? annotated : NULL);
    /* Results appear as soon as they are known, also when piped. */
    fflush(stdout);
    cli_frame_free(&frame);
    return code;
}

int cmd_detect(int argc, char **argv) {
    cli_task_args args;
    detect_settings settings = {DEFAULT_THRESHOLD, 0};
    const cli_task_command command = {"detect", CLI_DEFAULT_DETECT_MODEL, detect_usage,
                                      detect_option, &settings};
    mnet_model *model;
    char model_path[MAX_PATH_TEXT];
    int code = cli_task_start(argc, argv, &command, &args, &model, model_path, sizeof model_path);
    if (code != CLI_EXIT_OK || !model) return code;

    detect_job job;
    memset(&job, 0, sizeof job);
    job.args = &args;
    job.settings = &settings;
    cli_output_names_init(&job.names);
    mnet_model_info info;
    code = cli_require_task(model, model_path, MNET_TASK_DETECT, "a detector", &info);
    if (code == CLI_EXIT_OK) code = cli_create_session(model, model_path, &job.session);
    if (code == CLI_EXIT_OK) {
        job.capacity = settings.max > 0 ? settings.max : INITIAL_CAPACITY;
        job.detections = calloc((size_t)job.capacity, sizeof *job.detections);
        if (!job.detections) {
            cli_error("out of memory");
            code = CLI_EXIT_INTERNAL;
        }
    }
    if (code == CLI_EXIT_OK) {
        /* A bad image does not stop the others; the worst failure decides
         * the exit code (internal failures over bad inputs). */
        for (int i = 0; i < args.num_images; i++) {
            int result = detect_one(&job, args.images[i]);
            if (result > code) code = result;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("cannot write the results to standard output");
            code = CLI_EXIT_INTERNAL;
        }
    }
    free(job.detections);
    cli_output_names_free(&job.names);
    mnet_session_destroy(job.session);
    mnet_model_destroy(model);
    return code;
}
