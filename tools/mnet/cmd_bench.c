/* `mnet bench`: how fast a model loads and runs on this machine. Times the
 * network alone (mnet_run on an already-normalized random input, no image
 * decoding or preprocessing): load, first run, warm runs, and throughput
 * with several frames in flight, plus memory. With --preprocess it also
 * times the preprocessing of a camera frame to the model's input: the
 * library's fused pass against the naive path that first converts the
 * whole frame to RGB at full resolution and then resizes that, both done
 * with the library's own optimized code. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_pipeline.h"
#include "cli_args.h"
#include "cli_exit.h"
#include "cli_model.h"
#include "cli_precision.h"
#include "cli_report.h"
#include "commands.h"
#include "json_out.h"
#include "mnet.h"
#include "raw_frame.h"

/* internal: the library's own conversion for the naive path */
#include "image/preprocess.h"

#define MAX_PATH_TEXT 4096
#define INPUT_SEED 0x6d6e6574u /* fixed: every run sees the same input */
#define DEFAULT_FRAME "nv12:1920x1080"

typedef struct bench_args {
    const char *model_path;
    int threads;
    int runs, warmup, inflight;
    mnet_precision precision;
    const char *precision_name;
    const char *isa;
    int json;
    int preprocess;
    raw_frame_spec frame;
} bench_args;

typedef struct bench_result {
    double load_ms, first_ms, min_ms, median_ms, mean_ms, max_ms;
    double fps, single_fps;
    int threads, threads_per_frame;
    double peak_rss_mb, session_mb;
    /* --preprocess: median and min of each path, naive / fused medians */
    double fused_ms, fused_min_ms, naive_ms, naive_min_ms, speedup;
    double naive_convert_ms; /* median of the naive path's RGB conversion alone */
} bench_result;

void bench_usage(FILE *out) {
    fprintf(out,
            "usage: mnet bench [-m MODEL] [--threads N] [--runs N] [--warmup N]\n"
            "                  [--inflight N] [--precision P] [--isa ISA] [--json]\n"
            "                  [--preprocess [--frame FORMAT:WxH]]\n"
            "\n"
            "Times the network on a fixed random input (no image decoding or\n"
            "preprocessing): model load, first run, --runs warm runs after --warmup\n"
            "untimed ones (min, median, mean), and throughput with --inflight frames\n"
            "in flight, each on its own session and thread; plus peak memory.\n"
            "\n"
            "  -m, --model MODEL  model file (default: %s)\n"
            "      --threads N    worker threads, 0 = all CPUs (default 0)\n"
            "      --runs N       timed runs (default 100)\n"
            "      --warmup N     untimed runs before them (default 10)\n"
            "      --inflight N   frames in flight for the throughput (default 3); the\n"
            "                     threads are shared out among them, at least one each\n"
            CLI_PRECISION_USAGE
            "      --isa ISA      kernel set: ref, avx2, avx512, ... (default: best)\n"
            "      --preprocess   also time preprocessing a camera frame to the model's\n"
            "                     input (--runs times): the fused pass against converting\n"
            "                     the whole frame to RGB first and resizing that (both\n"
            "                     with the library's own optimized code)\n"
            "      --frame F:WxH  the frame for --preprocess (default " DEFAULT_FRAME "),\n"
            "                     F one of: %s\n"
            "      --json         one JSON object\n"
            "  -h, --help         this help\n",
            CLI_DEFAULT_MODEL, raw_frame_format_names());
}

static int parse_precision(const char *value, bench_args *args) {
    if (!cli_parse_precision(value, &args->precision)) return 0;
    args->precision_name = cli_precision_name(args->precision);
    return 1;
}

/* A numeric option: 1 matched and valid, 0 not this option, -1 error. */
static int parse_bench_args(int argc, char **argv, bench_args *args, int *help) {
    memset(args, 0, sizeof *args);
    args->runs = 100;
    args->warmup = 10;
    args->inflight = 3;
    args->precision = MNET_PRECISION_AUTO; /* the library's choice, as the other commands */
    args->precision_name = "auto";
    *help = 0;
    const char *frame = DEFAULT_FRAME;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        int matched;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = 1;
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--json") == 0) {
            args->json = 1;
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, "-m", "--model", &value)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            args->model_path = value;
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, NULL, "--precision", &value)) != 0) {
            if (matched < 0 || !parse_precision(value, args)) return CLI_EXIT_USAGE;
            continue;
        }
        if (strcmp(arg, "--preprocess") == 0) {
            args->preprocess = 1;
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, NULL, "--frame", &value)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            frame = value;
            continue;
        }
        if ((matched = cli_option_value(argc, argv, &i, NULL, "--isa", &value)) != 0) {
            if (matched < 0) return CLI_EXIT_USAGE;
            args->isa = value;
            continue;
        }
        if ((matched = cli_int_option(argc, argv, &i, "--threads", 0, 1024, &args->threads)) ||
            (matched = cli_int_option(argc, argv, &i, "--runs", 1, 1000000, &args->runs)) ||
            (matched = cli_int_option(argc, argv, &i, "--warmup", 0, 1000000, &args->warmup)) ||
            (matched = cli_int_option(argc, argv, &i, "--inflight", 1, 64, &args->inflight))) {
            if (matched < 0) return CLI_EXIT_USAGE;
            continue;
        }
        cli_error("bench: unexpected argument '%s' (see mnet bench --help)", arg);
        return CLI_EXIT_USAGE;
    }
    char reason[300];
    if (!raw_frame_parse_spec(frame, &args->frame, reason, sizeof reason)) {
        cli_error("--frame %s: %s", frame, reason);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Peak resident memory of the process so far (Linux reports kilobytes). */
static double peak_rss_mb(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
    return (double)usage.ru_maxrss / 1024.0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Uniform values in [-1, 1), like a normalized image, from a fixed seed. */
static void fill_random_input(float *input, size_t count) {
    uint32_t state = INPUT_SEED;
    for (size_t i = 0; i < count; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        input[i] = (float)((double)state / 2147483648.0 - 1.0);
    }
}

/* Sorts times and reports its minimum and median. */
static void min_median(double *times, int n, double *min_ms, double *median_ms) {
    qsort(times, (size_t)n, sizeof *times, compare_doubles);
    *min_ms = times[0];
    *median_ms = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
}

static int run_failed(const char *path, mnet_session *session, mnet_status status) {
    const char *detail = mnet_session_error(session);
    cli_error("%s: run failed: %s", path, detail && detail[0] ? detail : mnet_status_string(status));
    return CLI_EXIT_INTERNAL;
}

/* The single-session measurements: first run, warm-up, timed runs. */
static int time_runs(const bench_args *args, const char *path, mnet_session *session,
                     const float *input, size_t count, bench_result *r) {
    double *times = malloc((size_t)args->runs * sizeof *times);
    if (!times) {
        cli_error("out of memory");
        return CLI_EXIT_INTERNAL;
    }
    double start = now_ms();
    mnet_status status = mnet_run(session, input, count);
    r->first_ms = now_ms() - start;
    for (int i = 0; status == MNET_OK && i < args->warmup; i++)
        status = mnet_run(session, input, count);
    double sum = 0.0;
    for (int i = 0; status == MNET_OK && i < args->runs; i++) {
        start = now_ms();
        status = mnet_run(session, input, count);
        times[i] = now_ms() - start;
        sum += times[i];
    }
    if (status != MNET_OK) {
        free(times);
        return run_failed(path, session, status);
    }
    qsort(times, (size_t)args->runs, sizeof *times, compare_doubles);
    r->min_ms = times[0];
    r->max_ms = times[args->runs - 1];
    int mid = args->runs / 2;
    r->median_ms = args->runs % 2 ? times[mid] : 0.5 * (times[mid - 1] + times[mid]);
    r->mean_ms = sum / args->runs;
    r->single_fps = r->median_ms > 0 ? 1000.0 / r->median_ms : 0.0;
    free(times);
    return CLI_EXIT_OK;
}

/* The naive path's buffers: the whole frame as normalized floats, the
 * library's scratch for that, and the frame as packed RGB bytes. */
typedef struct naive_buffers {
    mnet_input_spec whole; /* the frame's own size, 1:1 stretch, mean 0, std 1 */
    float *full;
    float *scratch;
    size_t scratch_floats;
    unsigned char *rgb;
} naive_buffers;

static int naive_buffers_init(naive_buffers *b, int width, int height) {
    memset(b, 0, sizeof *b);
    b->whole.width = width;
    b->whole.height = height;
    b->whole.fit = MNET_FIT_STRETCH;
    b->whole.crop_fraction = 1.0f;
    for (int c = 0; c < 3; c++) b->whole.std[c] = 1.0f;
    size_t values = (size_t)width * (size_t)height * 3;
    b->scratch_floats = mnet_image_scratch_floats(&b->whole);
    b->full = malloc(values * sizeof *b->full);
    b->scratch = malloc((b->scratch_floats ? b->scratch_floats : 1) * sizeof *b->scratch);
    b->rgb = malloc(values);
    return b->full && b->scratch && b->rgb;
}

static void naive_buffers_free(naive_buffers *b) {
    free(b->full);
    free(b->scratch);
    free(b->rgb);
}

/* The naive path, done with the library's own optimized code so that the
 * comparison is fair: the whole frame to RGB at full resolution (the
 * library's conversion with a 1:1 stretch, mean 0 and std 1, rounded to
 * bytes, like cv::cvtColor), then the library's resize and normalization
 * of that RGB image. */
static mnet_status preprocess_naive(mnet_session *session, const mnet_image *frame,
                                    naive_buffers *b, float *input, size_t count,
                                    double *convert_ms) {
    mnet_preprocess pp;
    mnet_preprocess_init(&pp);
    mnet_error error;
    double start = now_ms();
    mnet_status status = mnet_image_to_input(frame, &pp, &b->whole, b->full, b->scratch,
                                             b->scratch_floats, NULL, &error);
    if (status != MNET_OK) return status;
    size_t values = (size_t)frame->width * (size_t)frame->height * 3;
    /* No clamp needed: the library clamps its colour conversion to 0..255
     * and a 1:1 stretch only mixes such values with non-negative weights. */
    for (size_t i = 0; i < values; i++) b->rgb[i] = (unsigned char)(b->full[i] + 0.5f);
    *convert_ms = now_ms() - start;
    mnet_image rgb_image = mnet_image_packed(MNET_PIXEL_RGB, b->rgb, frame->width,
                                             frame->height, (size_t)frame->width * 3);
    return mnet_preprocess_image(session, &rgb_image, &pp, input, count);
}

/* Times both preprocessing paths on one random frame (fixed seed), warm-up
 * first, the two paths interleaved so that both see the same machine. */
static int time_preprocess(const bench_args *args, const char *path, mnet_session *session,
                           size_t count, bench_result *r) {
    size_t frame_bytes = raw_frame_bytes(&args->frame);
    unsigned char *frame_data = malloc(frame_bytes);
    naive_buffers buffers;
    int buffers_ok = naive_buffers_init(&buffers, args->frame.width, args->frame.height);
    double *fused = malloc((size_t)args->runs * sizeof *fused);
    double *naive = malloc((size_t)args->runs * sizeof *naive);
    double *convert = malloc((size_t)args->runs * sizeof *convert);
    float *input = malloc(count * sizeof *input);
    int code = CLI_EXIT_OK;
    if (!frame_data || !buffers_ok || !fused || !naive || !convert || !input) {
        cli_error("out of memory for a %s:%dx%d frame", args->frame.name, args->frame.width,
                  args->frame.height);
        code = CLI_EXIT_INTERNAL;
    }
    if (code == CLI_EXIT_OK) {
        uint32_t state = INPUT_SEED;
        for (size_t i = 0; i < frame_bytes; i++) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            frame_data[i] = (unsigned char)(state >> 24);
        }
        mnet_image frame = raw_frame_view(&args->frame, frame_data);
        mnet_status status = MNET_OK;
        for (int i = 0; status == MNET_OK && i < args->warmup; i++) {
            status = mnet_preprocess_image(session, &frame, NULL, input, count);
            double ignored;
            if (status == MNET_OK)
                status = preprocess_naive(session, &frame, &buffers, input, count, &ignored);
        }
        for (int i = 0; status == MNET_OK && i < args->runs; i++) {
            double start = now_ms();
            status = mnet_preprocess_image(session, &frame, NULL, input, count);
            fused[i] = now_ms() - start;
            if (status != MNET_OK) break;
            start = now_ms();
            status = preprocess_naive(session, &frame, &buffers, input, count, &convert[i]);
            naive[i] = now_ms() - start;
        }
        if (status != MNET_OK) {
            code = run_failed(path, session, status);
        } else {
            min_median(fused, args->runs, &r->fused_min_ms, &r->fused_ms);
            min_median(naive, args->runs, &r->naive_min_ms, &r->naive_ms);
            double convert_min;
            min_median(convert, args->runs, &convert_min, &r->naive_convert_ms);
            r->speedup = r->fused_ms > 0 ? r->naive_ms / r->fused_ms : 0.0;
        }
    }
    free(frame_data);
    naive_buffers_free(&buffers);
    free(fused);
    free(naive);
    free(convert);
    free(input);
    return code;
}

static void print_json(const bench_args *args, const char *path, const mnet_model_info *info,
                       const bench_result *r) {
    fputs("{\"model\": ", stdout);
    json_write_string(stdout, path);
    fputs(", \"architecture\": ", stdout);
    json_write_string(stdout, info->architecture ? info->architecture : "");
    printf(", \"input\": [%d, %d, %d], \"macs\": %lld, \"precision\": ", info->input_height,
           info->input_width, info->input_channels, (long long)info->macs);
    /* what ran, and what --precision asked for ("auto" without the flag) */
    json_write_string(stdout, info->precision ? info->precision : "fp32");
    fputs(", \"requested_precision\": ", stdout);
    json_write_string(stdout, args->precision_name);
    fputs(", \"isa\": ", stdout);
    json_write_string(stdout, args->isa ? args->isa : "auto");
    printf(", \"threads\": %d, \"runs\": %d, \"warmup\": %d, \"inflight\": %d, "
           "\"threads_per_frame\": %d",
           r->threads, args->runs, args->warmup, args->inflight, r->threads_per_frame);
    const struct {
        const char *key;
        double value;
    } numbers[] = {{"load_ms", r->load_ms},     {"first_ms", r->first_ms},
                   {"min_ms", r->min_ms},       {"median_ms", r->median_ms},
                   {"mean_ms", r->mean_ms},     {"max_ms", r->max_ms},
                   {"fps", r->fps},             {"single_fps", r->single_fps},
                   {"peak_rss_mb", r->peak_rss_mb}, {"session_mb", r->session_mb}};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        printf(", \"%s\": ", numbers[i].key);
        json_write_number(stdout, numbers[i].value);
    }
    if (args->preprocess) {
        printf(", \"preprocess_frame\": \"%s:%dx%d\"", args->frame.name, args->frame.width,
               args->frame.height);
        const struct {
            const char *key;
            double value;
        } pre[] = {{"preprocess_fused_ms", r->fused_ms},
                   {"preprocess_fused_min_ms", r->fused_min_ms},
                   {"preprocess_naive_ms", r->naive_ms},
                   {"preprocess_naive_min_ms", r->naive_min_ms},
                   {"preprocess_naive_convert_ms", r->naive_convert_ms},
                   {"preprocess_speedup", r->speedup}};
        for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
            printf(", \"%s\": ", pre[i].key);
            json_write_number(stdout, pre[i].value);
        }
    }
    fputs("}\n", stdout);
}

static void print_plain(const bench_args *args, const char *path, const mnet_model_info *info,
                        const bench_result *r) {
    printf("model       %s (%s, %dx%d, %.0f M MACs)\n", path,
           info->architecture ? info->architecture : "?", info->input_width,
           info->input_height, (double)info->macs / 1e6);
    printf("settings    %d thread%s, precision %s (requested %s), isa %s\n", r->threads,
           r->threads == 1 ? "" : "s", info->precision ? info->precision : "fp32",
           args->precision_name, args->isa ? args->isa : "auto");
    printf("load        %.2f ms\n", r->load_ms);
    printf("first run   %.2f ms\n", r->first_ms);
    printf("warm runs   %d after %d warm-up: min %.2f ms, median %.2f ms, mean %.2f ms, "
           "max %.2f ms\n",
           args->runs, args->warmup, r->min_ms, r->median_ms, r->mean_ms, r->max_ms);
    printf("throughput  %.1f frames/s with %d in flight (%d thread%s each); one at a time "
           "%.1f frames/s\n",
           r->fps, args->inflight, r->threads_per_frame, r->threads_per_frame == 1 ? "" : "s",
           r->single_fps);
    printf("memory      peak RSS %.1f MiB, session %.1f MiB\n", r->peak_rss_mb, r->session_mb);
    if (args->preprocess)
        printf("preprocess  %s:%dx%d -> %dx%d: fused min %.3f ms, median %.3f ms; convert to "
               "RGB then resize min %.3f ms, median %.3f ms (convert alone %.3f ms); fused "
               "%.2fx faster\n",
               args->frame.name, args->frame.width, args->frame.height, info->input_width,
               info->input_height, r->fused_min_ms, r->fused_ms, r->naive_min_ms, r->naive_ms,
               r->naive_convert_ms, r->speedup);
}

static int bench_model(const bench_args *args, const mnet_options *options, mnet_model *model,
                       const char *path, bench_result *r) {
    mnet_model_info info;
    memset(&info, 0, sizeof info);
    mnet_status status = mnet_model_get_info(model, &info);
    if (status != MNET_OK) {
        cli_error("%s: cannot describe the model: %s", path, mnet_status_string(status));
        return CLI_EXIT_INTERNAL;
    }
    size_t count = (size_t)info.input_height * (size_t)info.input_width *
                   (size_t)info.input_channels;
    float *input = malloc((count ? count : 1) * sizeof *input);
    if (!input) {
        cli_error("out of memory");
        return CLI_EXIT_INTERNAL;
    }
    fill_random_input(input, count);
    mnet_session *session = NULL;
    int code = cli_create_session(model, path, &session);
    if (code == CLI_EXIT_OK) {
        r->session_mb = (double)mnet_session_memory(session) / (1024.0 * 1024.0);
        code = time_runs(args, path, session, input, count, r);
        if (code == CLI_EXIT_OK && args->preprocess)
            code = time_preprocess(args, path, session, count, r);
    }
    /* Before the throughput phase, which holds more sessions (and maybe a
     * second copy of the model): the memory of one model and one session. */
    r->peak_rss_mb = peak_rss_mb();
    mnet_session_destroy(session);
    if (code == CLI_EXIT_OK) {
        bench_pipeline_request request = {model, path, options, r->threads, args->inflight,
                                          args->runs, input, count};
        bench_pipeline_result throughput;
        char reason[600];
        if (!bench_pipeline_run(&request, &throughput, reason, sizeof reason)) {
            cli_file_error(path, reason);
            code = CLI_EXIT_INTERNAL;
        } else {
            r->fps = throughput.fps;
            r->threads_per_frame = throughput.threads_per_frame;
        }
    }
    if (code == CLI_EXIT_OK) {
        if (args->json)
            print_json(args, path, &info, r);
        else
            print_plain(args, path, &info, r);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("cannot write to standard output");
            code = CLI_EXIT_INTERNAL;
        }
    }
    free(input);
    return code;
}

int cmd_bench(int argc, char **argv) {
    bench_args args;
    int help;
    int code = parse_bench_args(argc, argv, &args, &help);
    if (help) {
        bench_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (code != CLI_EXIT_OK) return code;
    mnet_options options;
    mnet_options_init(&options);
    options.threads = args.threads;
    options.precision = args.precision;
    options.isa = args.isa;

    bench_result result;
    memset(&result, 0, sizeof result);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    result.threads = args.threads > 0 ? args.threads : (cpus > 0 ? (int)cpus : 1);
    mnet_model *model;
    char model_path[MAX_PATH_TEXT];
    double start = now_ms();
    code = cli_load_model(args.model_path, &options, &model, model_path, sizeof model_path);
    result.load_ms = now_ms() - start;
    if (code != CLI_EXIT_OK) return code;
    code = bench_model(&args, &options, model, model_path, &result);
    mnet_model_destroy(model);
    return code;
}
