/* Runs an mnet model on every frame of a video and writes the annotated
 * video: the decoder's YUV frames go to mnet as they are (planes, strides,
 * BT.601/709, limited/full range from the stream), and the results are drawn
 * straight into the same YUV frame before it is encoded.
 *
 * usage: video IN OUT [--task classify|detect|segment] [-m MODEL] [--threads N]
 *              [--min-score S]
 *
 * Prints one line per frame with the latency of the mnet call alone, then
 * the averages and the throughput of the whole loop (decode, mnet, drawing,
 * encode). Exit status: 0 success, 1 failure, 2 usage. */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/log.h>

#include "frame_annotate.h"
#include "frame_view.h"
#include "mnet.h"
#include "model_path.h" /* the CLI's default-model lookup, tools/mnet/ */
#include "video_input.h"
#include "video_output.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

enum { MAX_DETECTIONS = 100 };

typedef struct video_args {
    const char *in, *out, *model;
    mnet_task task;
    int threads;
    float min_score;
} video_args;

static const char *const usage_text =
    "usage: video IN OUT [--task classify|detect|segment] [-m MODEL] [--threads N]\n"
    "             [--min-score S]\n"
    "  Runs mnet on every frame of the video IN and writes the annotated video\n"
    "  OUT (container from its extension: .mp4, .mkv, .avi, ...).\n"
    "  --task      what to draw (default detect)\n"
    "  -m MODEL    model file (default: the bundled model for the task)\n"
    "  --threads N mnet worker threads (default: all CPUs)\n"
    "  --min-score S  detect: keep detections scoring at least S (default 0.5;\n"
    "              -1 = the model's own threshold, often tuned for recall)\n";

static const char *task_name(mnet_task task) {
    switch (task) {
    case MNET_TASK_CLASSIFY: return "classify";
    case MNET_TASK_DETECT: return "detect";
    case MNET_TASK_SEGMENT: return "segment";
    default: return "features";
    }
}

static const char *default_model(mnet_task task) {
    switch (task) {
    case MNET_TASK_CLASSIFY: return "mobilenet_v2_1.0_224.safetensors";
    case MNET_TASK_SEGMENT: return "deeplabv3_mnv2_dm1.0_pascal.safetensors";
    default: return "ssd_mobilenet_v2_coco.safetensors";
    }
}

/* 0 on success, 2 (printed) on a usage error, 1 for --help. */
static int parse_args(int argc, char **argv, video_args *args) {
    memset(args, 0, sizeof *args);
    args->task = MNET_TASK_DETECT;
    args->min_score = 0.5f;
    const char *positional[2] = {NULL, NULL};
    int npositional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 1;
        } else if (!strcmp(a, "--task") && has_value) {
            const char *t = argv[++i];
            if (!strcmp(t, "classify")) args->task = MNET_TASK_CLASSIFY;
            else if (!strcmp(t, "detect")) args->task = MNET_TASK_DETECT;
            else if (!strcmp(t, "segment")) args->task = MNET_TASK_SEGMENT;
            else {
                fprintf(stderr, "video: unknown task '%s' (classify, detect or segment)\n", t);
                return 2;
            }
        } else if (!strcmp(a, "-m") && has_value) {
            args->model = argv[++i];
        } else if (!strcmp(a, "--threads") && has_value) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || n < 0 || n > 1024) {
                fprintf(stderr, "video: --threads wants a number in 0..1024, not '%s'\n", argv[i]);
                return 2;
            }
            args->threads = (int)n;
        } else if (!strcmp(a, "--min-score") && has_value) {
            char *end;
            float score = strtof(argv[++i], &end);
            if (*end || end == argv[i] || !(score <= 1.0f)) {
                fprintf(stderr, "video: --min-score wants a number <= 1, not '%s'\n", argv[i]);
                return 2;
            }
            args->min_score = score;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "video: unknown option or missing value: %s\n%s", a, usage_text);
            return 2;
        } else if (npositional < 2) {
            positional[npositional++] = a;
        } else {
            fprintf(stderr, "video: unexpected argument '%s'\n%s", a, usage_text);
            return 2;
        }
    }
    if (npositional != 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    args->in = positional[0];
    args->out = positional[1];
    return 0;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Loads the model and checks it can do the task; 0 or -1 (printed). */
static int load_model(const video_args *args, mnet_model **model, mnet_session **session) {
    char found[PATH_MAX];
    const char *path = args->model;
    if (!path) {
        if (model_default_path(default_model(args->task), found, sizeof found) < 0) {
            fprintf(stderr, "video: cannot locate the default model %s; pass -m MODEL\n",
                    default_model(args->task));
            return -1;
        }
        path = found;
    }
    mnet_options options;
    mnet_options_init(&options);
    options.threads = args->threads;
    mnet_error error;
    if (mnet_model_load(path, &options, model, &error) != MNET_OK) {
        fprintf(stderr, "video: %s\n", error.message);
        return -1;
    }
    mnet_model_info info;
    if (mnet_model_get_info(*model, &info) != MNET_OK || !(info.tasks & (int)args->task)) {
        fprintf(stderr, "video: %s: this model cannot %s (pick another with -m)\n", path,
                task_name(args->task));
        return -1;
    }
    if (mnet_session_create(*model, NULL, session, &error) != MNET_OK) {
        fprintf(stderr, "video: %s\n", error.message);
        return -1;
    }
    return 0;
}

/* Per-frame results of the task, kept between frames. */
typedef struct task_state {
    mnet_task task;
    mnet_detect_options detect_options;
    mnet_class best;
    mnet_detection detections[MAX_DETECTIONS];
    int detection_count;
    uint8_t *mask;
    int mask_width, mask_height;
} task_state;

/* Runs the task on the frame; the caller times this call alone. */
static mnet_status run_task(mnet_session *session, task_state *state, const mnet_image *image,
                            const mnet_preprocess *preprocess) {
    int count = 0;
    switch (state->task) {
    case MNET_TASK_CLASSIFY:
        return mnet_classify(session, image, preprocess, 1, &state->best, &count);
    case MNET_TASK_DETECT: {
        mnet_status status = mnet_detect(session, image, preprocess, &state->detect_options,
                                         state->detections,
                                         MAX_DETECTIONS, &count);
        state->detection_count = status == MNET_OK ? count : 0;
        return status;
    }
    default:
        return mnet_segment(session, image, preprocess, state->mask, (size_t)image->width);
    }
}

static void draw_results(const task_state *state, yuv_canvas *canvas) {
    switch (state->task) {
    case MNET_TASK_CLASSIFY: annotate_top_class(canvas, &state->best); break;
    case MNET_TASK_DETECT:
        annotate_detections(canvas, state->detections, state->detection_count);
        break;
    default: annotate_mask(canvas, state->mask, (size_t)canvas->width); break;
    }
}

static void print_frame(const task_state *state, long index, double ms) {
    printf("frame %ld: %.2f ms", index, ms);
    switch (state->task) {
    case MNET_TASK_CLASSIFY:
        printf("  %s %.3f\n", state->best.label, (double)state->best.score);
        break;
    case MNET_TASK_DETECT:
        printf("  %d detections%s%s\n", state->detection_count,
               state->detection_count ? ", best: " : "",
               state->detection_count ? state->detections[0].label : "");
        break;
    default: printf("\n"); break;
    }
}

/* The decode -> mnet -> draw -> encode loop; 0 or -1 (printed). */
static int process(const video_args *args, mnet_session *session, video_input *input,
                   video_output *output, task_state *state) {
    frame_converter converter = {0};
    long frames = 0;
    double mnet_total = 0.0, mnet_min = 0.0, mnet_max = 0.0;
    double started = now_seconds();
    int rc = 0;
    for (;;) {
        AVFrame *decoded = NULL;
        int got = video_input_next(input, &decoded);
        if (got <= 0) {
            rc = got;
            break;
        }
        AVFrame *frame = frame_converter_usable(&converter, decoded);
        if (!frame) { rc = -1; break; }
        if (state->task == MNET_TASK_SEGMENT && !state->mask) {
            state->mask = malloc((size_t)frame->width * (size_t)frame->height);
            state->mask_width = frame->width;
            state->mask_height = frame->height;
            if (!state->mask) {
                fprintf(stderr, "video: out of memory for a %dx%d mask\n", frame->width,
                        frame->height);
                rc = -1;
                break;
            }
        }
        if (state->mask && (frame->width != state->mask_width ||
                            frame->height != state->mask_height)) {
            fprintf(stderr, "%s: the frame size changed from %dx%d to %dx%d; not supported\n",
                    args->in, state->mask_width, state->mask_height, frame->width, frame->height);
            rc = -1;
            break;
        }
        mnet_preprocess preprocess;
        mnet_preprocess_init(&preprocess);
        frame_yuv_encoding(frame, &preprocess.yuv_matrix, &preprocess.yuv_range);
        mnet_image image = frame_image(frame);

        double t0 = now_seconds();
        mnet_status status = run_task(session, state, &image, &preprocess);
        double ms = (now_seconds() - t0) * 1e3;
        if (status != MNET_OK) {
            fprintf(stderr, "video: frame %ld: %s\n", frames, mnet_session_error(session));
            rc = -1;
            break;
        }
        mnet_total += ms;
        mnet_min = frames == 0 || ms < mnet_min ? ms : mnet_min;
        mnet_max = ms > mnet_max ? ms : mnet_max;
        print_frame(state, frames, ms);

        /* decoders keep reference frames: draw into a private copy if shared */
        if (av_frame_make_writable(frame) < 0) {
            fprintf(stderr, "video: out of memory copying frame %ld\n", frames);
            rc = -1;
            break;
        }
        image = frame_image(frame);
        yuv_canvas canvas = yuv_canvas_make(image.format, image.width, image.height,
                                            frame->data, image.strides, preprocess.yuv_matrix,
                                            preprocess.yuv_range);
        draw_results(state, &canvas);
        if (video_output_write(output, frame) < 0) { rc = -1; break; }
        frames++;
    }
    if (rc == 0 && frames == 0) {
        fprintf(stderr, "%s: no video frames\n", args->in);
        rc = -1;
    }
    if (rc == 0) rc = video_output_finish(output);
    double elapsed = now_seconds() - started;
    frame_converter_free(&converter);
    if (rc == 0) {
        printf("%ld frames, %s; mnet latency mean %.2f ms (min %.2f, max %.2f), "
               "%.1f FPS of mnet calls; overall %.1f FPS (decode, mnet, draw, encode)\n",
               frames, task_name(state->task), mnet_total / (double)frames, mnet_min, mnet_max,
               1e3 * (double)frames / mnet_total, (double)frames / elapsed);
    }
    return rc;
}

int main(int argc, char **argv) {
    video_args args;
    int parsed = parse_args(argc, argv, &args);
    if (parsed) return parsed == 1 ? 0 : 2;
    av_log_set_level(AV_LOG_ERROR);

    mnet_model *model = NULL;
    mnet_session *session = NULL;
    video_input input;
    video_output output;
    task_state *state = calloc(1, sizeof *state);
    int input_open = 0, output_open = 0, failed = 1;
    if (!state) {
        fprintf(stderr, "video: out of memory\n");
    } else if (load_model(&args, &model, &session) == 0 &&
               (input_open = video_input_open(&input, args.in) == 0) &&
               (output_open = video_output_open(&output, args.out,
                                                video_input_frame_rate(&input)) == 0)) {
        state->task = args.task;
        mnet_detect_options_init(&state->detect_options);
        state->detect_options.score_threshold = args.min_score;
        failed = process(&args, session, &input, &output, state) != 0;
    }
    if (output_open) video_output_close(&output);
    if (input_open) video_input_close(&input);
    if (state) free(state->mask);
    free(state);
    mnet_session_destroy(session);
    mnet_model_destroy(model);
    return failed;
}
