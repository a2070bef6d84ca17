/* `mnet segment`: the class of every pixel with a DeepLab model; prints the
 * classes present and can write the mask and an overlay picture. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "cli_exit.h"
#include "cli_model.h"
#include "cli_precision.h"
#include "cli_output.h"
#include "cli_report.h"
#include "cli_task_args.h"
#include "commands.h"
#include "image_write.h"
#include "json_out.h"
#include "mnet.h"
#include "palette.h"

#define MAX_PATH_TEXT 4096
#define MAX_CLASSES 256 /* a mask byte */

typedef struct segment_job {
    const cli_task_args *args;
    const mnet_model *model;
    mnet_session *session;
    cli_output_names names;
    unsigned char palette[256 * 3];
} segment_job;

/* Classes present in one mask, in class order. */
typedef struct class_counts {
    segment_class_summary present[MAX_CLASSES];
    int count;
} class_counts;

void segment_usage(FILE *out) {
    fprintf(out,
            "usage: mnet segment [-m MODEL] [--json] [-o OUTDIR] [--threads N]\n"
            "                    [--precision P] [--raw FORMAT:WxH] IMAGE...\n"
            "\n"
            "Labels every pixel with a DeepLab model and prints the classes present\n"
            "with their pixel counts.\n"
            "\n"
            "  -m, --model MODEL  model file (default: %s,\n"
            "                     looked up next to the mnet executable)\n"
            "      --json         one JSON object per image (JSON Lines)\n"
            "  -o, --output DIR   also write DIR/<name>_mask.png (8-bit palette PNG, pixel\n"
            "                     value = class id, PASCAL VOC colours) and\n"
            "                     DIR/<name>_overlay.png (the mask blended over the image)\n"
            "      --threads N    worker threads, 0 = all CPUs (default 0)\n"
            CLI_PRECISION_USAGE,
            CLI_DEFAULT_SEGMENT_MODEL);
    cli_input_usage(out);
    fprintf(out, "  -h, --help         this help\n");
}

static void count_classes(const segment_job *job, const uint8_t *mask, size_t pixels,
                          class_counts *counts) {
    long long histogram[MAX_CLASSES] = {0};
    for (size_t i = 0; i < pixels; i++) histogram[mask[i]]++;
    counts->count = 0;
    for (int c = 0; c < MAX_CLASSES; c++) {
        if (!histogram[c]) continue;
        const char *label = mnet_model_label(job->model, c);
        segment_class_summary *s = &counts->present[counts->count++];
        s->index = c;
        s->label = label ? label : "";
        s->pixels = histogram[c];
    }
}

static void print_json(const char *path, const mnet_image *image, const class_counts *counts,
                       const char *mask_path, const char *overlay_path) {
    fputs("{\"image\": ", stdout);
    json_write_string(stdout, path);
    printf(", \"width\": %d, \"height\": %d, \"classes\": [", image->width, image->height);
    for (int i = 0; i < counts->count; i++) {
        const segment_class_summary *s = &counts->present[i];
        printf("%s{\"class\": %d, \"label\": ", i ? ", " : "", s->index);
        json_write_string(stdout, s->label);
        printf(", \"pixels\": %lld}", s->pixels);
    }
    fputc(']', stdout);
    if (mask_path) {
        fputs(", \"mask\": ", stdout);
        json_write_string(stdout, mask_path);
        fputs(", \"overlay\": ", stdout);
        json_write_string(stdout, overlay_path);
    }
    fputs("}\n", stdout);
}

static void print_plain(const char *path, const mnet_image *image, const class_counts *counts,
                        const char *mask_path, const char *overlay_path) {
    double total = (double)image->width * (double)image->height;
    printf("%s (%dx%d)\n", path, image->width, image->height);
    for (int i = 0; i < counts->count; i++) {
        const segment_class_summary *s = &counts->present[i];
        printf("  %5.1f%%  %s (%d)  %lld pixels\n", 100.0 * (double)s->pixels / total,
               s->label[0] ? s->label : "-", s->index, s->pixels);
    }
    if (mask_path) printf("  mask: %s\n  overlay: %s\n", mask_path, overlay_path);
}

static int by_pixels_descending(const void *a, const void *b) {
    const segment_class_summary *x = a, *y = b;
    if (x->pixels != y->pixels) return x->pixels < y->pixels ? 1 : -1;
    return x->index - y->index;
}

/* Writes the mask and the overlay; returns CLI_EXIT_OK with both paths set,
 * or the exit code after a message. */
static int write_pictures(segment_job *job, const char *path, const cli_frame *frame,
                          const uint8_t *mask, const class_counts *counts, char *mask_path,
                          char *overlay_path, size_t path_size) {
    char reason[512];
    int w = frame->view.width, h = frame->view.height;
    const char *suffixes[2] = {"_mask.png", "_overlay.png"};
    char *paths[2] = {mask_path, overlay_path};
    int code = cli_output_files(&job->names, job->args->output_dir, path, 2, suffixes, paths,
                                path_size);
    if (code != CLI_EXIT_OK) return code;
    if (!png_write_indexed(mask_path, mask, w, h, job->palette, 256, reason, sizeof reason)) {
        cli_error("%s", reason);
        return CLI_EXIT_INTERNAL;
    }
    unsigned char *rgb = cli_frame_rgb(frame, &job->args->input);
    if (!rgb) {
        cli_error("%s: out of memory for the overlay", path);
        return CLI_EXIT_INTERNAL;
    }
    /* the legend lists the largest regions first */
    segment_class_summary legend[MAX_CLASSES];
    memcpy(legend, counts->present, (size_t)counts->count * sizeof legend[0]);
    qsort(legend, (size_t)counts->count, sizeof legend[0], by_pixels_descending);
    canvas cv = {rgb, w, h};
    annotate_segmentation(&cv, mask, job->palette, legend, counts->count);
    return cli_output_write_rgb(overlay_path, rgb, w, h);
}

static int segment_one(segment_job *job, const char *path) {
    cli_frame frame;
    int code = cli_frame_load(path, &job->args->input, &frame);
    if (code != CLI_EXIT_OK) return code;
    size_t w = (size_t)frame.view.width, pixels = w * (size_t)frame.view.height;
    uint8_t *mask = malloc(pixels ? pixels : 1);
    if (!mask) {
        cli_error("%s: out of memory for the mask", path);
        cli_frame_free(&frame);
        return CLI_EXIT_INTERNAL;
    }
    mnet_preprocess preprocess;
    cli_input_preprocess(&job->args->input, &preprocess);
    mnet_status status = mnet_segment(job->session, &frame.view, &preprocess, mask, w);
    if (status != MNET_OK) {
        code = cli_task_failure(path, "segmentation", job->session, status);
    } else {
        class_counts *counts = malloc(sizeof *counts);
        if (!counts) {
            cli_error("out of memory");
            code = CLI_EXIT_INTERNAL;
        } else {
            count_classes(job, mask, pixels, counts);
            char mask_path[MAX_PATH_TEXT], overlay_path[MAX_PATH_TEXT];
            int have_pictures = 0;
            if (job->args->output_dir) {
                code = write_pictures(job, path, &frame, mask, counts, mask_path, overlay_path,
                                      sizeof mask_path);
                have_pictures = code == CLI_EXIT_OK;
            }
            if (job->args->json)
                print_json(path, &frame.view, counts, have_pictures ? mask_path : NULL,
                           overlay_path);
            else
                print_plain(path, &frame.view, counts, have_pictures ? mask_path : NULL,
                            overlay_path);
            fflush(stdout);
            free(counts);
        }
    }
    free(mask);
    cli_frame_free(&frame);
    return code;
}

int cmd_segment(int argc, char **argv) {
    cli_task_args args;
    const cli_task_command command = {"segment", CLI_DEFAULT_SEGMENT_MODEL, segment_usage, NULL,
                                      NULL};
    mnet_model *model;
    char model_path[MAX_PATH_TEXT];
    int code = cli_task_start(argc, argv, &command, &args, &model, model_path, sizeof model_path);
    if (code != CLI_EXIT_OK || !model) return code;

    segment_job *job = calloc(1, sizeof *job);
    if (!job) {
        cli_error("out of memory");
        mnet_model_destroy(model);
        return CLI_EXIT_INTERNAL;
    }
    job->args = &args;
    job->model = model;
    cli_output_names_init(&job->names);
    voc_colormap(job->palette);
    mnet_model_info info;
    code = cli_require_task(model, model_path, MNET_TASK_SEGMENT, "a segmenter", &info);
    if (code == CLI_EXIT_OK && info.num_classes > MAX_CLASSES) {
        cli_error("%s: %d classes do not fit in an 8-bit mask", model_path, info.num_classes);
        code = CLI_EXIT_BAD_MODEL;
    }
    if (code == CLI_EXIT_OK) code = cli_create_session(model, model_path, &job->session);
    if (code == CLI_EXIT_OK) {
        for (int i = 0; i < args.num_images; i++) {
            int result = segment_one(job, args.images[i]);
            if (result > code) code = result;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("cannot write the results to standard output");
            code = CLI_EXIT_INTERNAL;
        }
    }
    cli_output_names_free(&job->names);
    mnet_session_destroy(job->session);
    free(job);
    mnet_model_destroy(model);
    return code;
}
