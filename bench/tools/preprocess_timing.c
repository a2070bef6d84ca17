/* Preprocessing timings per row-kernel table (scalar "ref" vs "avx2") on
 * camera-like cases, plus the naive path done entirely with the library:
 * the whole frame to RGB at full resolution (a 1:1 stretch, mean 0, std 1,
 * rounded to bytes) and then the resize of that RGB image. Minimum of
 * REPEATS runs each; random pixels from a fixed seed.
 *
 * Build from the repository root (not part of the CMake build):
 *   gcc -std=c11 -O2 -Iinclude -Isrc src/image/[a-z]*.c src/kernels/cpu_features.c \
 *       src/core/error.c bench/tools/preprocess_timing.c -o /tmp/preprocess_timing -lm
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/preprocess.h"
#include "image/row_kernels.h"

enum { REPEATS = 15 };

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

typedef struct scratch {
    float *data;
    size_t floats;
} scratch;

static float *scratch_for(scratch *s, const mnet_input_spec *spec) {
    size_t need = mnet_image_scratch_floats(spec);
    if (need > s->floats) {
        free(s->data);
        s->data = malloc(need * sizeof(float));
        s->floats = need;
    }
    return s->data;
}

static mnet_input_spec make_spec(int w, int h, mnet_fit fit, float mean, float std) {
    mnet_input_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.width = w;
    spec.height = h;
    for (int c = 0; c < 3; c++) {
        spec.mean[c] = mean;
        spec.std[c] = std;
    }
    spec.fit = fit;
    spec.crop_fraction = 0.875f;
    return spec;
}

/* Library-only naive path: full-size RGB floats, bytes, then the resize. */
static mnet_status naive(const mnet_image_row_kernels *k, const mnet_image *frame,
                  const mnet_input_spec *net, float *out, scratch *s, float *full,
                  unsigned char *rgb) {
    mnet_input_spec whole = make_spec(frame->width, frame->height, MNET_FIT_STRETCH, 0.0f, 1.0f);
    float *work = scratch_for(s, &whole);
    mnet_status st = mnet_image_to_input_with(k, frame, NULL, &whole, full, work, s->floats,
                                              NULL, NULL);
    size_t n = (size_t)frame->width * (size_t)frame->height * 3;
    for (size_t i = 0; i < n; i++) rgb[i] = (unsigned char)(full[i] + 0.5f);
    mnet_image packed = mnet_image_packed(MNET_PIXEL_RGB, rgb, frame->width, frame->height,
                                          (size_t)frame->width * 3);
    work = scratch_for(s, net);
    if (st == MNET_OK)
        st = mnet_image_to_input_with(k, &packed, NULL, net, out, work, s->floats, NULL, NULL);
    return st;
}

static void run_case(const char *label, mnet_pixel_format format, int w, int h, int nw, int nh,
                     mnet_fit fit) {
    size_t bytes = (size_t)w * (size_t)h * 3;
    unsigned char *pixels = malloc(bytes), *rgb = malloc(bytes);
    float *full = malloc(bytes * sizeof(float)), *out = malloc((size_t)nw * nh * 3 * sizeof(float));
    uint32_t state = 0x6d6e6574u;
    for (size_t i = 0; i < bytes; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        pixels[i] = (unsigned char)(state >> 24);
    }
    mnet_image frame;
    memset(&frame, 0, sizeof frame);
    frame.format = format;
    frame.width = w;
    frame.height = h;
    frame.planes[0] = pixels;
    if (format == MNET_PIXEL_NV12) {
        frame.strides[0] = (size_t)w;
        frame.planes[1] = pixels + (size_t)w * (size_t)h;
        frame.strides[1] = (size_t)(w + (w & 1));
    } else {
        frame.strides[0] = (size_t)w * 3;
    }
    mnet_input_spec net = make_spec(nw, nh, fit, 127.5f, 127.5f);
    scratch s = {NULL, 0};
    const char *names[] = {"ref", "avx2", "avx512"};
    for (int i = 0; i < 3; i++) {
        const mnet_image_row_kernels *k = mnet_image_row_kernels_named(names[i]);
        if (!k) continue;
        double fused = 1e30, slow = 1e30;
        for (int r = 0; r < REPEATS; r++) {
            float *work = scratch_for(&s, &net);
            double t = now_ms();
            mnet_status st = mnet_image_to_input_with(k, &frame, NULL, &net, out, work, s.floats,
                                                      NULL, NULL);
            t = now_ms() - t;
            fused = t < fused ? t : fused;
            t = now_ms();
            if (st == MNET_OK) st = naive(k, &frame, &net, out, &s, full, rgb);
            t = now_ms() - t;
            if (st != MNET_OK) {
                fprintf(stderr, "%s: preprocessing failed (status %d)\n", label, (int)st);
                exit(1);
            }
            slow = t < slow ? t : slow;
        }
        printf("%-34s %-6s fused %8.3f ms   naive %8.3f ms   naive/fused %5.2fx\n", label,
               names[i], fused, slow, slow / fused);
    }
    free(pixels);
    free(rgb);
    free(full);
    free(out);
    free(s.data);
}

int main(void) {
    run_case("nv12 1920x1080 -> 224 center crop", MNET_PIXEL_NV12, 1920, 1080, 224, 224,
             MNET_FIT_CENTER_CROP);
    run_case("nv12 1920x1080 -> 300 stretch", MNET_PIXEL_NV12, 1920, 1080, 300, 300,
             MNET_FIT_STRETCH);
    run_case("nv12 1920x1080 -> 513 letterbox", MNET_PIXEL_NV12, 1920, 1080, 513, 513,
             MNET_FIT_LETTERBOX);
    run_case("rgb 1280x720 -> 224 center crop", MNET_PIXEL_RGB, 1280, 720, 224, 224,
             MNET_FIT_CENTER_CROP);
    run_case("rgb 1280x720 -> 300 stretch", MNET_PIXEL_RGB, 1280, 720, 300, 300,
             MNET_FIT_STRETCH);
    run_case("rgb 513x513 -> 513 identity", MNET_PIXEL_RGB, 513, 513, 513, 513,
             MNET_FIT_STRETCH);
    return 0;
}
