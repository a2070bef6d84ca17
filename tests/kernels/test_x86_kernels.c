/* Every x86 kernel table this CPU can run, checked kernel by kernel against
 * the scalar reference kernels on the MobileNet V1/V2 layer shapes and on
 * random shapes with awkward tails (channel counts off the vector width,
 * odd sizes, strides and dilations, every padding rule), random data, every
 * activation, with and without bias and residual.
 *
 * Tolerance: FMA and blocking change the summation order, so a value may
 * differ from the reference by a few ulps of the magnitude of the terms it
 * sums. Each output is checked against REL_TOL times that magnitude, which
 * is computed by running the reference on the absolute values of inputs,
 * weights, bias and residual.
 *
 * Row ranges: a random split into ranges must give bit-identical results
 * to one call over all rows, and a call on one range must leave every
 * other row untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "test_util.h"

#define REL_TOL 1e-5
/* Marks output never written by a kernel. */
#define UNTOUCHED (-1234.5f)

static const mnet_activation all_acts[] = {MNET_ACT_NONE, MNET_ACT_RELU, MNET_ACT_RELU6};
static const char *act_name(mnet_activation a) {
    return a == MNET_ACT_NONE ? "none" : a == MNET_ACT_RELU ? "relu" : "relu6";
}

static float *alloc_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *random_floats(test_rng *rng, size_t n, float lo, float hi) {
    float *p = alloc_floats(n);
    test_rng_fill(rng, p, n, lo, hi);
    return p;
}

static float *abs_copy(const float *x, size_t n) {
    if (x == NULL) return NULL;
    float *p = alloc_floats(n);
    for (size_t i = 0; i < n; i++) p[i] = fabsf(x[i]);
    return p;
}

static void fill_untouched(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = UNTOUCHED;
}

/* Worst |got - want| / magnitude over n values; reports the first bad one. */
static int within_tolerance(const float *got, const float *want, const float *magnitude,
                            size_t n, const char *what) {
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double allowed = REL_TOL * ((double)magnitude[i] + 1e-6);
        if (!(err <= allowed)) {
            fprintf(stderr, "%s: value %zu: got %.9g want %.9g (magnitude %.9g)\n", what, i,
                    (double)got[i], (double)want[i], (double)magnitude[i]);
            return 0;
        }
    }
    return 1;
}

/* Cut points 0 = cut[0] < ... < cut[n] = rows, n >= 1 random ranges. */
static int random_split(test_rng *rng, int rows, int *cut, int max_ranges) {
    int n = test_rng_int(rng, 1, max_ranges < rows ? max_ranges : rows);
    cut[0] = 0;
    for (int i = 1; i < n; i++) cut[i] = test_rng_int(rng, 1, rows - 1);
    cut[n] = rows;
    /* sort and drop duplicates */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
            int t = cut[j];
            cut[j] = cut[j - 1];
            cut[j - 1] = t;
        }
    int m = 0;
    for (int i = 1; i <= n; i++)
        if (cut[i] != cut[m]) cut[++m] = cut[i];
    return m;
}

#define MAX_RANGES 8

/* A kernel writing rows [begin, end) of a tensor with `row_floats` floats
 * per row; wraps the three kernel signatures for the range checks. */
typedef struct row_kernel {
    void (*run)(const struct row_kernel *k, float *out, int begin, int end);
    const mnet_kernels *table;
    const mnet_conv_geometry *g;
    int in_c, out_c;
    const float *in, *packed, *bias, *residual;
    mnet_activation act;
} row_kernel;

/* Splits must be bit-identical to `full`; one range must not touch others. */
static void check_row_ranges(const row_kernel *k, test_rng *rng, int rows, size_t row_floats,
                             const float *full, const char *what) {
    size_t n = (size_t)rows * row_floats;
    float *out = alloc_floats(n);
    int cut[MAX_RANGES + 1];
    for (int trial = 0; trial < 2; trial++) {
        fill_untouched(out, n);
        int ranges = random_split(rng, rows, cut, MAX_RANGES);
        /* ranges run in reverse order, as threads may */
        for (int r = ranges - 1; r >= 0; r--) k->run(k, out, cut[r], cut[r + 1]);
        CHECK_MSG(memcmp(out, full, n * sizeof(float)) == 0, "%s: %d ranges differ from one call",
                  what, ranges);
    }
    fill_untouched(out, n);
    int begin = test_rng_int(rng, 0, rows - 1);
    int end = test_rng_int(rng, begin + 1, rows);
    k->run(k, out, begin, end);
    int outside_ok = 1, inside_ok = 1;
    for (size_t i = 0; i < n; i++) {
        int row = (int)(i / row_floats);
        if (row < begin || row >= end) outside_ok &= out[i] == UNTOUCHED;
        else inside_ok &= memcmp(&out[i], &full[i], sizeof(float)) == 0;
    }
    CHECK_MSG(outside_ok, "%s: range [%d,%d) wrote outside it", what, begin, end);
    CHECK_MSG(inside_ok, "%s: range [%d,%d) differs from one call", what, begin, end);
    free(out);
}

/* ---- pointwise ---------------------------------------------------------- */

static void run_pointwise(const row_kernel *k, float *out, int begin, int end) {
    k->table->pointwise(k->in_c, k->out_c, k->in, k->packed, k->bias, k->residual, k->act, out,
                        begin, end);
}

static void check_pointwise(const mnet_kernels *t, test_rng *rng, int pixels, int in_c,
                            int out_c, mnet_activation act, int with_bias, int with_residual) {
    char what[160];
    snprintf(what, sizeof what, "%s pointwise %d px %d->%d act=%s bias=%d res=%d", t->isa,
             pixels, in_c, out_c, act_name(act), with_bias, with_residual);
    size_t n_in = (size_t)pixels * in_c, n_out = (size_t)pixels * out_c;
    /* weights scaled so sums are O(1) and ReLU6 clamps a fair share */
    float ws = 4.0f / sqrtf((float)in_c);
    float *in = random_floats(rng, n_in, -1.0f, 1.0f);
    float *w = random_floats(rng, (size_t)in_c * out_c, -ws, ws);
    float *bias = with_bias ? random_floats(rng, (size_t)out_c, -3.0f, 6.0f) : NULL;
    float *res = with_residual ? random_floats(rng, n_out, -2.0f, 2.0f) : NULL;
    float *packed = alloc_floats(t->pointwise_packed_size(in_c, out_c));
    t->pointwise_pack(in_c, out_c, w, packed);

    float *want = alloc_floats(n_out), *mag = alloc_floats(n_out), *got = alloc_floats(n_out);
    mnet_ref_pointwise_f32(in_c, out_c, in, w, bias, res, act, want, 0, pixels);
    float *a_in = abs_copy(in, n_in), *a_w = abs_copy(w, (size_t)in_c * out_c);
    float *a_b = abs_copy(bias, (size_t)out_c), *a_r = abs_copy(res, n_out);
    mnet_ref_pointwise_f32(in_c, out_c, a_in, a_w, a_b, a_r, MNET_ACT_NONE, mag, 0, pixels);

    fill_untouched(got, n_out);
    t->pointwise(in_c, out_c, in, packed, bias, res, act, got, 0, pixels);
    CHECK_MSG(within_tolerance(got, want, mag, n_out, what), "%s", what);

    row_kernel k = {run_pointwise, t, NULL, in_c, out_c, in, packed, bias, res, act};
    check_row_ranges(&k, rng, pixels, (size_t)out_c, got, what);

    free(in), free(w), free(bias), free(res), free(packed);
    free(want), free(mag), free(got), free(a_in), free(a_w), free(a_b), free(a_r);
}

/* ---- depthwise and generic conv ------------------------------------------ */

static void run_depthwise(const row_kernel *k, float *out, int begin, int end) {
    k->table->depthwise(k->g, k->in, k->packed, k->bias, k->act, out, begin, end);
}

static void run_conv2d(const row_kernel *k, float *out, int begin, int end) {
    k->table->conv2d(k->g, k->in, k->packed, k->bias, k->act, out, begin, end);
}

static void check_conv(const mnet_kernels *t, test_rng *rng, int depthwise, int in_h, int in_w,
                       int in_c, int out_c, int kernel, int stride, int dilation, int groups,
                       mnet_padding pad, mnet_activation act, int with_bias) {
    mnet_conv_geometry g;
    if (mnet_conv_geometry_init(&g, in_h, in_w, in_c, out_c, kernel, stride, dilation, groups,
                                pad) != 0)
        return; /* the random shape has no valid output */
    char what[200];
    snprintf(what, sizeof what,
             "%s %s %dx%dx%d->%dx%dx%d k%d s%d d%d g%d pad=%d act=%s bias=%d", t->isa,
             depthwise ? "depthwise" : "conv2d", in_h, in_w, in_c, g.out_h, g.out_w, out_c,
             kernel, stride, dilation, groups, (int)pad, act_name(act), with_bias);
    size_t n_in = (size_t)in_h * in_w * in_c, n_out = (size_t)g.out_h * g.out_w * out_c;
    size_t n_w = (size_t)out_c * kernel * kernel * (in_c / groups);
    float ws = 4.0f / sqrtf((float)(kernel * kernel * (in_c / groups)));
    float *in = random_floats(rng, n_in, -1.0f, 1.0f);
    float *w = random_floats(rng, n_w, -ws, ws);
    float *bias = with_bias ? random_floats(rng, (size_t)out_c, -3.0f, 6.0f) : NULL;
    size_t packed_n = depthwise ? t->depthwise_packed_size(&g) : t->conv2d_packed_size(&g);
    float *packed = alloc_floats(packed_n);
    if (depthwise) t->depthwise_pack(&g, w, packed);
    else t->conv2d_pack(&g, w, packed);

    float *want = alloc_floats(n_out), *mag = alloc_floats(n_out), *got = alloc_floats(n_out);
    mnet_ref_conv2d_f32(&g, in, w, bias, act, want);
    float *a_in = abs_copy(in, n_in), *a_w = abs_copy(w, n_w), *a_b = abs_copy(bias, (size_t)out_c);
    mnet_ref_conv2d_f32(&g, a_in, a_w, a_b, MNET_ACT_NONE, mag);

    row_kernel k = {depthwise ? run_depthwise : run_conv2d, t, &g, in_c, out_c, in, packed, bias,
                    NULL, act};
    fill_untouched(got, n_out);
    k.run(&k, got, 0, g.out_h);
    CHECK_MSG(within_tolerance(got, want, mag, n_out, what), "%s", what);
    check_row_ranges(&k, rng, g.out_h, (size_t)g.out_w * out_c, got, what);

    free(in), free(w), free(bias), free(packed);
    free(want), free(mag), free(got), free(a_in), free(a_w), free(a_b);
}

/* ---- shapes --------------------------------------------------------------- */

typedef struct pw_shape {
    int pixels, in_c, out_c;
} pw_shape;

/* MobileNet V1 1.0 224 and V2 1.0 224 pointwise layers, and the classifier
 * as a 1x1 conv on one pixel. */
static const pw_shape mobilenet_pointwise[] = {
    {112 * 112, 32, 64},  {56 * 56, 64, 128},   {56 * 56, 128, 128}, {28 * 28, 128, 256},
    {28 * 28, 256, 256},  {14 * 14, 256, 512},  {14 * 14, 512, 512}, {7 * 7, 512, 1024},
    {7 * 7, 1024, 1024},  {1, 1024, 1001},      {112 * 112, 32, 16}, {112 * 112, 16, 96},
    {56 * 56, 96, 24},    {56 * 56, 24, 144},   {56 * 56, 144, 24},  {28 * 28, 144, 32},
    {28 * 28, 32, 192},   {28 * 28, 192, 32},   {14 * 14, 192, 64},  {14 * 14, 64, 384},
    {14 * 14, 384, 64},   {14 * 14, 384, 96},   {14 * 14, 96, 576},  {14 * 14, 576, 96},
    {7 * 7, 576, 160},    {7 * 7, 160, 960},    {7 * 7, 960, 160},   {7 * 7, 960, 320},
    {7 * 7, 320, 1280},   {1, 1280, 1001},
};

typedef struct dw_shape {
    int size, channels, stride;
} dw_shape;

static const dw_shape mobilenet_depthwise[] = {
    {112, 32, 1}, {112, 64, 2}, {56, 128, 1}, {56, 128, 2}, {28, 256, 1}, {28, 256, 2},
    {14, 512, 1}, {14, 512, 2}, {7, 1024, 1}, {112, 96, 2}, {56, 144, 1}, {56, 144, 2},
    {28, 192, 1}, {28, 192, 2}, {14, 384, 1}, {14, 576, 1}, {14, 576, 2}, {7, 960, 1},
};

typedef struct dilated_shape {
    int size, channels, dilation;
} dilated_shape;

static const dilated_shape deeplab_depthwise[] = {
    {65, 960, 4}, {65, 576, 2}, {65, 384, 2}, {33, 960, 2}, {33, 576, 2}, {65, 960, 2},
};

/* Channel counts around vector widths plus MobileNet oddities. */
static const int tail_channels[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40, 47, 63, 65, 72, 1001};

static int pick_channels(test_rng *rng) {
    if (test_rng_int(rng, 0, 1))
        return tail_channels[test_rng_int(rng, 0, (int)(sizeof tail_channels / sizeof(int)) - 2)];
    return test_rng_int(rng, 1, 80);
}

/* ---- global average pooling --------------------------------------------- */

/* Same per-channel sum order as the reference: the bits must agree. */
static void check_global_pool(const mnet_kernels *t, test_rng *rng, int h, int w, int c) {
    size_t n = (size_t)h * w * c;
    float *in = random_floats(rng, n, -3.0f, 5.0f);
    float *want = alloc_floats((size_t)c + 1), *got = alloc_floats((size_t)c + 1);
    fill_untouched(got, (size_t)c + 1);
    mnet_ref_global_avgpool_f32(h, w, c, in, want);
    t->global_avgpool(h, w, c, in, got);
    CHECK_MSG(memcmp(got, want, (size_t)c * sizeof(float)) == 0,
              "%s global_avgpool %dx%dx%d differs from ref", t->isa, h, w, c);
    CHECK_MSG(got[c] == UNTOUCHED, "%s global_avgpool %dx%dx%d wrote past out[c - 1]", t->isa,
              h, w, c);
    free(in);
    free(want);
    free(got);
}

static void test_table(const mnet_kernels *t, test_rng *rng) {
    check_global_pool(t, rng, 7, 7, 1024);
    check_global_pool(t, rng, 7, 7, 1280);
    check_global_pool(t, rng, 7, 7, 1792);
    for (int trial = 0; trial < 40; trial++) {
        int h = test_rng_int(rng, 1, 12);
        int w = test_rng_int(rng, 1, 12);
        check_global_pool(t, rng, h, w, pick_channels(rng));
    }
    /* real MobileNet shapes: each with a random activation, bias and residual */
    for (size_t i = 0; i < sizeof mobilenet_pointwise / sizeof *mobilenet_pointwise; i++) {
        const pw_shape *s = &mobilenet_pointwise[i];
        mnet_activation act = all_acts[test_rng_int(rng, 0, 2)];
        int with_residual = test_rng_int(rng, 0, 1);
        check_pointwise(t, rng, s->pixels, s->in_c, s->out_c, act, 1, with_residual);
    }
    for (size_t i = 0; i < sizeof mobilenet_depthwise / sizeof *mobilenet_depthwise; i++) {
        const dw_shape *s = &mobilenet_depthwise[i];
        mnet_padding pad = i % 2 ? MNET_PAD_SYMMETRIC : MNET_PAD_TF_SAME;
        check_conv(t, rng, 1, s->size, s->size, s->channels, s->channels, 3, s->stride, 1, s->channels,
                   pad, all_acts[test_rng_int(rng, 0, 2)], 1);
    }
    /* stems: V1/V2 224 (TF SAME and symmetric), odd input, 0.35 width */
    check_conv(t, rng, 0, 224, 224, 3, 32, 3, 2, 1, 1, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 1);
    check_conv(t, rng, 0, 224, 224, 3, 32, 3, 2, 1, 1, MNET_PAD_SYMMETRIC, MNET_ACT_RELU, 1);
    check_conv(t, rng, 0, 225, 193, 3, 16, 3, 2, 1, 1, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 1);
    /* DeepLab V3 MobileNet V2 dilated depthwise (output stride 8 and 16),
     * both padding rules */
    for (size_t i = 0; i < sizeof deeplab_depthwise / sizeof *deeplab_depthwise; i++) {
        const dilated_shape *s = &deeplab_depthwise[i];
        mnet_padding pad = i % 2 ? MNET_PAD_TF_SAME : MNET_PAD_SYMMETRIC;
        check_conv(t, rng, 1, s->size, s->size, s->channels, s->channels, 3, 1, s->dilation,
                   s->channels, pad, all_acts[test_rng_int(rng, 0, 2)], 1);
    }
    check_conv(t, rng, 1, 17, 17, 40, 40, 3, 1, 4, 40, MNET_PAD_TF_SAME, MNET_ACT_NONE, 1);
    /* 3x3 stride 1 dilated: channel tails, odd and rectangular sizes, maps
     * narrower than the dilated kernel (no interior, both borders at once) */
    for (int trial = 0; trial < 80; trial++) {
        int c = pick_channels(rng);
        int h = test_rng_int(rng, 1, 40);
        int w = test_rng_int(rng, 1, 40);
        int dilation = test_rng_int(rng, 2, 6);
        mnet_padding pad = (mnet_padding)test_rng_int(rng, 0, 2);
        check_conv(t, rng, 1, h, w, c, c, 3, 1, dilation, c, pad, all_acts[trial % 3],
                   (trial / 3) % 2);
    }

    /* random small shapes, every activation, with and without bias/residual */
    for (int trial = 0; trial < 120; trial++) {
        mnet_activation act = all_acts[trial % 3];
        int with_bias = (trial / 3) % 2, with_res = (trial / 6) % 2;
        /* drawn one per statement: argument order would differ by compiler */
        int pixels = test_rng_int(rng, 1, 150);
        int in_c = pick_channels(rng);
        int out_c = pick_channels(rng);
        check_pointwise(t, rng, pixels, in_c, out_c, act, with_bias, with_res);
    }
    static const int kernels[] = {1, 2, 3, 3, 3, 4, 5, 5, 7};
    for (int trial = 0; trial < 150; trial++) {
        mnet_activation act = all_acts[trial % 3];
        int c = pick_channels(rng);
        if (c > 100) c = 100;
        int h = test_rng_int(rng, 1, 23);
        int w = test_rng_int(rng, 1, 23);
        int kernel = kernels[test_rng_int(rng, 0, 8)];
        int stride = test_rng_int(rng, 1, 3);
        int dilation = test_rng_int(rng, 1, 3);
        mnet_padding pad = (mnet_padding)test_rng_int(rng, 0, 2);
        check_conv(t, rng, 1, h, w, c, c, kernel, stride, dilation, c, pad, act, (trial / 3) % 2);
    }
    for (int trial = 0; trial < 90; trial++) {
        mnet_activation act = all_acts[trial % 3];
        int in_c = test_rng_int(rng, 1, 20), out_c = test_rng_int(rng, 1, 70);
        int groups = 1;
        if (trial % 10 == 9) { /* grouped: the reference fallback path */
            groups = test_rng_int(rng, 2, 4);
            in_c = groups * test_rng_int(rng, 1, 5);
            out_c = groups * test_rng_int(rng, 1, 9);
        }
        int h = test_rng_int(rng, 1, 19);
        int w = test_rng_int(rng, 1, 19);
        int kernel = kernels[test_rng_int(rng, 0, 8)];
        int stride = test_rng_int(rng, 1, 3);
        int dilation = test_rng_int(rng, 1, 2);
        mnet_padding pad = (mnet_padding)test_rng_int(rng, 0, 2);
        check_conv(t, rng, 0, h, w, in_c, out_c, kernel, stride, dilation, groups, pad, act,
                   (trial / 3) % 2);
    }
}

static void test_selection(void) {
    const char *available = mnet_kernels_available();
    printf("available kernel tables: %s\n", available);
    CHECK(strncmp(available, "ref", 3) == 0);
    CHECK(mnet_kernels_select("ref") == &mnet_kernels_ref);
    CHECK(mnet_kernels_select("no-such-isa") == NULL);
    const mnet_kernels *best = mnet_kernels_select(NULL);
    CHECK(best != NULL && mnet_kernels_select("") == best);
    /* the best table is the last one listed */
    const char *last = strrchr(available, ',');
    last = last ? last + 1 : available;
    CHECK_MSG(best != NULL && strcmp(best->isa, last) == 0, "best %s, available %s",
              best ? best->isa : "NULL", available);
}

int main(void) {
    test_selection();
    static const char *const isas[] = {"avx2", "avx512"};
    for (int i = 0; i < 2; i++) {
        const char *available = mnet_kernels_available();
        const mnet_kernels *t = mnet_kernels_select(isas[i]);
        if (t == NULL) {
            printf("skipping %s: this CPU/OS cannot run it (available: %s)\n", isas[i], available);
            continue;
        }
        CHECK(strcmp(t->isa, isas[i]) == 0);
        test_rng rng = {0x9E3779B97F4A7C15ull + (uint64_t)i};
        int before = test_failures;
        test_table(t, &rng);
        printf("%s: %s\n", isas[i], test_failures == before ? "matches ref" : "FAILED");
    }
    TEST_MAIN_END();
}
