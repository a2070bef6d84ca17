/* Micro-benchmark of the kernel tables on the MobileNet V1/V2 1.0 224 layer
 * shapes: GFLOP/s (2 flops per multiply-add) of the fastest of many runs,
 * one thread. Not a test: absolute numbers depend on the machine.
 *
 * Build against the static library, e.g.
 *   cc -O2 -std=c11 -Iinclude -Isrc bench/kernels/bench_kernels.c \
 *      build/libmnet.a -lm -lpthread -o bench_kernels
 * Run: bench_kernels [isa ...]   (default: every available table) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *random_buffer(size_t n, unsigned *seed) {
    /* 64-byte aligned like the session arena: split cache lines would
     * halve the load throughput of AVX-512 */
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* Runs `fn` repeatedly for about `budget` seconds, returns the fastest run. */
typedef void (*bench_fn)(void *ctx);
static double fastest_run(bench_fn fn, void *ctx, double budget) {
    fn(ctx); /* warm caches */
    double best = 1e30, start = now_seconds();
    int runs = 0;
    while (runs < 5 || (now_seconds() - start < budget && runs < 10000)) {
        double t0 = now_seconds();
        fn(ctx);
        double t = now_seconds() - t0;
        if (t < best) best = t;
        runs++;
    }
    return best;
}

typedef struct pw_ctx {
    const mnet_kernels *k;
    int pixels, in_c, out_c;
    float *in, *packed, *bias, *out;
} pw_ctx;

static void run_pw(void *p) {
    pw_ctx *c = p;
    c->k->pointwise(c->in_c, c->out_c, c->in, c->packed, c->bias, NULL, MNET_ACT_RELU6, c->out,
                    0, c->pixels);
}

typedef struct conv_ctx {
    const mnet_kernels *k;
    mnet_conv_geometry g;
    int depthwise;
    float *in, *packed, *bias, *out;
} conv_ctx;

static void run_conv(void *p) {
    conv_ctx *c = p;
    if (c->depthwise)
        c->k->depthwise(&c->g, c->in, c->packed, c->bias, MNET_ACT_RELU6, c->out, 0, c->g.out_h);
    else
        c->k->conv2d(&c->g, c->in, c->packed, c->bias, MNET_ACT_RELU6, c->out, 0, c->g.out_h);
}

static const int pw_shapes[][3] = {
    /* V1 */
    {112 * 112, 32, 64}, {56 * 56, 64, 128}, {56 * 56, 128, 128}, {28 * 28, 128, 256},
    {28 * 28, 256, 256}, {14 * 14, 256, 512}, {14 * 14, 512, 512}, {7 * 7, 512, 1024},
    {7 * 7, 1024, 1024},
    /* V2 */
    {112 * 112, 16, 96}, {56 * 56, 24, 144}, {56 * 56, 144, 24}, {28 * 28, 192, 32},
    {14 * 14, 384, 64}, {14 * 14, 96, 576}, {7 * 7, 960, 160}, {7 * 7, 320, 1280},
};

static const int dw_shapes[][3] = {
    {112, 32, 1}, {112, 64, 2}, {56, 128, 1}, {28, 256, 1}, {14, 512, 1}, {7, 1024, 1},
    {56, 144, 1}, {112, 96, 2}, {14, 576, 1}, {7, 960, 1},
};

static void bench_table(const mnet_kernels *k, double budget) {
    unsigned seed = 12345;
    printf("== %s ==\n", k->isa);
    for (size_t i = 0; i < sizeof pw_shapes / sizeof *pw_shapes; i++) {
        pw_ctx c = {k, pw_shapes[i][0], pw_shapes[i][1], pw_shapes[i][2], NULL, NULL, NULL, NULL};
        float *w = random_buffer((size_t)c.in_c * c.out_c, &seed);
        c.in = random_buffer((size_t)c.pixels * c.in_c, &seed);
        c.packed = random_buffer(k->pointwise_packed_size(c.in_c, c.out_c), &seed);
        k->pointwise_pack(c.in_c, c.out_c, w, c.packed);
        c.bias = random_buffer((size_t)c.out_c, &seed);
        c.out = random_buffer((size_t)c.pixels * c.out_c, &seed);
        double t = fastest_run(run_pw, &c, budget);
        double flops = 2.0 * c.pixels * c.in_c * c.out_c;
        printf("pointwise %5d px %4d -> %4d : %8.1f us %7.1f GFLOP/s\n", c.pixels, c.in_c,
               c.out_c, t * 1e6, flops / t * 1e-9);
        free(w), free(c.in), free(c.packed), free(c.bias), free(c.out);
    }
    for (size_t i = 0; i < sizeof dw_shapes / sizeof *dw_shapes + 1; i++) {
        conv_ctx c = {0};
        c.k = k;
        int stem = i == sizeof dw_shapes / sizeof *dw_shapes;
        c.depthwise = !stem;
        if (stem)
            mnet_conv_geometry_init(&c.g, 224, 224, 3, 32, 3, 2, 1, 1, MNET_PAD_TF_SAME);
        else
            mnet_conv_geometry_init(&c.g, dw_shapes[i][0], dw_shapes[i][0], dw_shapes[i][1],
                                    dw_shapes[i][1], 3, dw_shapes[i][2], 1, dw_shapes[i][1],
                                    MNET_PAD_TF_SAME);
        const mnet_conv_geometry *g = &c.g;
        size_t n_w = (size_t)g->out_c * 9 * (g->in_c / g->groups);
        float *w = random_buffer(n_w, &seed);
        size_t packed_n = stem ? k->conv2d_packed_size(g) : k->depthwise_packed_size(g);
        c.packed = random_buffer(packed_n, &seed);
        if (stem) k->conv2d_pack(g, w, c.packed);
        else k->depthwise_pack(g, w, c.packed);
        c.in = random_buffer((size_t)g->in_h * g->in_w * g->in_c, &seed);
        c.bias = random_buffer((size_t)g->out_c, &seed);
        c.out = random_buffer((size_t)g->out_h * g->out_w * g->out_c, &seed);
        double t = fastest_run(run_conv, &c, budget);
        double flops = 2.0 * g->out_h * g->out_w * g->out_c * 9 * (g->in_c / g->groups);
        printf("%-9s %3dx%-3d %4d s%d     : %8.1f us %7.1f GFLOP/s\n",
               stem ? "stem" : "depthwise", g->in_h, g->in_w, g->out_c, g->stride_h, t * 1e6,
               flops / t * 1e-9);
        free(w), free(c.in), free(c.packed), free(c.bias), free(c.out);
    }
}

int main(int argc, char **argv) {
    const double budget = 0.2; /* seconds per shape */
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            const mnet_kernels *k = mnet_kernels_select(argv[i]);
            if (k == NULL) printf("%s: not available (%s)\n", argv[i], mnet_kernels_available());
            else bench_table(k, budget);
        }
        return 0;
    }
    char list[64];
    snprintf(list, sizeof list, "%s", mnet_kernels_available());
    for (char *name = strtok(list, ","); name != NULL; name = strtok(NULL, ","))
        bench_table(mnet_kernels_select(name), budget);
    return 0;
}
