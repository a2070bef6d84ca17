/* The scalar reference kernels against definitions written differently:
 * convolution and pooling over an explicitly zero-padded copy of the input
 * with sums in double, resize as a separable tent filter, softmax in
 * double. Shapes are random (odd sizes, stride 2 on even and odd inputs,
 * dilation 2 and 4, groups 1 / C / other divisors, kernels 1/3/5, all
 * padding rules and activations, channel counts that leave SIMD tails).
 *
 * Tolerance for sums: |got - exact| <= 1e-5 * sum of |terms| (the scale at
 * which float summation errs), plus bit-exactness where the operation is a
 * single rounding (add, activation, concat) or a split of the same work
 * (row ranges of the kernel table). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ref/ref_kernels.h"
#include "test_util.h"

#define SUM_TOL 1e-5

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *random_floats(test_rng *rng, size_t n, float lo, float hi) {
    float *x = xcalloc(n, sizeof(float));
    test_rng_fill(rng, x, n, lo, hi);
    return x;
}

static double activate_exact(double x, mnet_activation act) {
    switch (act) {
    case MNET_ACT_RELU: return fmax(x, 0.0);
    case MNET_ACT_RELU6: return fmin(fmax(x, 0.0), 6.0);
    default: return x;
    }
}

static const char *padding_name(mnet_padding p) {
    return p == MNET_PAD_TF_SAME ? "same" : p == MNET_PAD_SYMMETRIC ? "symmetric" : "valid";
}

/* ---- geometry by enumeration ------------------------------------------- */

/* One spatial axis by counting window positions rather than by a closed
 * formula. For TF SAME a window exists for every stride step that starts
 * inside the input; otherwise a window must fit inside the padded input.
 * Returns 0 if no window fits. */
typedef struct axis_oracle {
    int out, before, after;
} axis_oracle;

static int axis_by_enumeration(int in, int k, int s, int d, mnet_padding pad, axis_oracle *a) {
    const int span = d * (k - 1) + 1;
    a->out = 0;
    if (pad == MNET_PAD_TF_SAME) {
        for (int start = 0; start < in; start += s) a->out++;
        const int reach = (a->out - 1) * s + span; /* input length the windows touch */
        const int total = reach > in ? reach - in : 0;
        a->before = total / 2;
        a->after = total - a->before;
    } else {
        a->before = a->after = pad == MNET_PAD_SYMMETRIC ? (span - 1) / 2 : 0;
        for (int start = 0; start + span <= in + a->before + a->after; start += s) a->out++;
    }
    return a->out > 0;
}

/* ---- mnet_conv_axis on hand-computed cases ------------------------------ */

static void check_axis(int in, int k, int s, int d, mnet_padding pad, int want_out,
                       int want_before) {
    int out = -7, before = -7;
    int rc = mnet_conv_axis(in, k, s, d, pad, &out, &before);
    CHECK_MSG(rc == 0 && out == want_out && before == want_before,
              "in %d k %d s %d d %d %s: rc %d out %d pad %d, want out %d pad %d", in, k, s, d,
              padding_name(pad), rc, out, before, want_out, want_before);
}

static void check_axis_invalid(int in, int k, int s, int d, int pad) {
    int out = 0, before = 0;
    CHECK_MSG(mnet_conv_axis(in, k, s, d, (mnet_padding)pad, &out, &before) == -1,
              "in %d k %d s %d d %d pad %d should be rejected", in, k, s, d, pad);
}

static void test_conv_axis_hand_cases(void) {
    /* TF SAME: the odd padding pixel goes after. */
    check_axis(224, 3, 2, 1, MNET_PAD_TF_SAME, 112, 0); /* total 1 */
    check_axis(225, 3, 2, 1, MNET_PAD_TF_SAME, 113, 1); /* total 2 */
    check_axis(224, 3, 1, 1, MNET_PAD_TF_SAME, 224, 1);
    check_axis(513, 3, 1, 2, MNET_PAD_TF_SAME, 513, 2); /* span 5, total 4 */
    check_axis(513, 3, 2, 1, MNET_PAD_TF_SAME, 257, 1); /* total 2 */
    check_axis(65, 3, 1, 4, MNET_PAD_TF_SAME, 65, 4);   /* span 9, total 8 */
    check_axis(224, 1, 2, 1, MNET_PAD_TF_SAME, 112, 0); /* would need -1: none */
    check_axis(7, 5, 2, 1, MNET_PAD_TF_SAME, 4, 2);     /* total 4 */
    check_axis(8, 5, 2, 1, MNET_PAD_TF_SAME, 4, 1);     /* total 3: 1 before, 2 after */
    check_axis(3, 5, 1, 4, MNET_PAD_TF_SAME, 3, 8);     /* span 17, total 16 */
    check_axis(1, 3, 2, 1, MNET_PAD_TF_SAME, 1, 1);
    /* PyTorch symmetric. */
    check_axis(224, 3, 2, 1, MNET_PAD_SYMMETRIC, 112, 1);
    check_axis(225, 3, 2, 1, MNET_PAD_SYMMETRIC, 113, 1);
    check_axis(513, 3, 1, 2, MNET_PAD_SYMMETRIC, 513, 2);
    check_axis(33, 3, 1, 4, MNET_PAD_SYMMETRIC, 33, 4);
    check_axis(224, 5, 2, 1, MNET_PAD_SYMMETRIC, 112, 2);
    check_axis(1, 1, 1, 1, MNET_PAD_SYMMETRIC, 1, 0);
    check_axis(10, 4, 1, 1, MNET_PAD_SYMMETRIC, 9, 1); /* even kernel: floor */
    /* VALID. */
    check_axis(224, 3, 2, 1, MNET_PAD_VALID, 111, 0);
    check_axis(7, 7, 1, 1, MNET_PAD_VALID, 1, 0);
    check_axis(10, 3, 2, 2, MNET_PAD_VALID, 3, 0); /* span 5 */
    /* Rejected. */
    check_axis_invalid(6, 7, 1, 1, MNET_PAD_VALID);
    check_axis_invalid(4, 3, 1, 2, MNET_PAD_VALID);
    check_axis_invalid(1, 4, 1, 1, MNET_PAD_SYMMETRIC); /* pad 1, span 4 > 3 */
    check_axis_invalid(0, 3, 1, 1, MNET_PAD_TF_SAME);
    check_axis_invalid(-5, 3, 1, 1, MNET_PAD_TF_SAME);
    check_axis_invalid(8, 0, 1, 1, MNET_PAD_TF_SAME);
    check_axis_invalid(8, 3, 0, 1, MNET_PAD_TF_SAME);
    check_axis_invalid(8, 3, 1, 0, MNET_PAD_TF_SAME);
    check_axis_invalid(8, 3, 1, 1, 7);
    check_axis_invalid(2000000000, 4, 1, 2000000000, MNET_PAD_TF_SAME); /* pad > INT_MAX */
    int out;
    CHECK(mnet_conv_axis(8, 3, 1, 1, MNET_PAD_TF_SAME, &out, NULL) == -1);
    CHECK(mnet_conv_axis(8, 3, 1, 1, MNET_PAD_TF_SAME, NULL, &out) == -1);

    mnet_conv_geometry g;
    CHECK(mnet_conv_geometry_init(&g, 8, 8, 6, 4, 3, 1, 1, 4, MNET_PAD_TF_SAME) == -1);
    CHECK(mnet_conv_geometry_init(&g, 8, 8, 6, 9, 3, 1, 1, 2, MNET_PAD_TF_SAME) == -1);
    CHECK(mnet_conv_geometry_init(&g, 8, 8, 6, 6, 3, 1, 1, 0, MNET_PAD_TF_SAME) == -1);
    CHECK(mnet_conv_geometry_init(&g, 8, 8, 0, 6, 3, 1, 1, 1, MNET_PAD_TF_SAME) == -1);
    CHECK(mnet_conv_geometry_init(&g, 8, 2, 3, 6, 3, 1, 1, 1, MNET_PAD_VALID) == -1);
    CHECK(mnet_conv_geometry_init(NULL, 8, 8, 3, 6, 3, 1, 1, 1, MNET_PAD_VALID) == -1);
    CHECK(mnet_conv_geometry_init(&g, 225, 224, 3, 32, 3, 2, 1, 1, MNET_PAD_TF_SAME) == 0);
    CHECK(g.out_h == 113 && g.out_w == 112 && g.pad_top == 1 && g.pad_left == 0);
    CHECK(g.in_c == 3 && g.out_c == 32 && g.groups == 1 && g.kernel_h == 3 && g.kernel_w == 3);
    CHECK(g.stride_h == 2 && g.stride_w == 2 && g.dilation_h == 1 && g.dilation_w == 1);
}

/* ---- convolution --------------------------------------------------------- */

typedef struct conv_case {
    int in_h, in_w, in_c, out_c, kernel, stride, dilation, groups;
    mnet_padding padding;
    mnet_activation act;
    int with_bias;
} conv_case;

/* A copy of the HWC input inside a zero frame: `top`/`left` zeros before,
 * enough after that every window of the oracle geometry reads inside. */
typedef struct padded_tensor {
    int h, w, c;
    float *data;  /* zeros outside the input */
    float *valid; /* 1 where data came from the input, 0 in the frame */
} padded_tensor;

static padded_tensor pad_input(const float *in, int in_h, int in_w, int c, axis_oracle ay,
                               axis_oracle ax) {
    padded_tensor p;
    p.h = ay.before + in_h + ay.after;
    p.w = ax.before + in_w + ax.after;
    p.c = c;
    p.data = xcalloc((size_t)p.h * p.w * c, sizeof(float));
    p.valid = xcalloc((size_t)p.h * p.w, sizeof(float));
    for (int y = 0; y < in_h; y++) {
        for (int x = 0; x < in_w; x++) {
            size_t dst = (size_t)(y + ay.before) * p.w + (x + ax.before);
            memcpy(p.data + dst * c, in + ((size_t)y * in_w + x) * c, (size_t)c * sizeof(float));
            p.valid[dst] = 1.0f;
        }
    }
    return p;
}

static void padded_free(padded_tensor *p) {
    free(p->data);
    free(p->valid);
}

/* Direct definition: out[oy][ox][o] = act(b[o] + sum over the group's input
 * channels and the kernel taps of padded[oy*s + ky*d][ox*s + kx*d][ci] *
 * w[o][ky][kx][ci]), in double, loops in a different order than ref. Also
 * fills `scale` with the sum of |terms| for the tolerance. */
static void conv_oracle(const conv_case *cc, const axis_oracle ay, const axis_oracle ax,
                        const padded_tensor *p, const float *w, const float *bias,
                        double *exact, double *scale) {
    const int gin = cc->in_c / cc->groups, gout = cc->out_c / cc->groups, k = cc->kernel;
    for (int grp = 0; grp < cc->groups; grp++) {
        for (int j = 0; j < gout; j++) {
            const int o = grp * gout + j;
            for (int oy = 0; oy < ay.out; oy++) {
                for (int ox = 0; ox < ax.out; ox++) {
                    double sum = bias ? bias[o] : 0.0, mag = bias ? fabs(bias[o]) : 0.0;
                    for (int ci = 0; ci < gin; ci++) {
                        for (int ky = 0; ky < k; ky++) {
                            for (int kx = 0; kx < k; kx++) {
                                int py = oy * cc->stride + ky * cc->dilation;
                                int px = ox * cc->stride + kx * cc->dilation;
                                double xv = p->data[((size_t)py * p->w + px) * p->c + grp * gin + ci];
                                double wv = w[(((size_t)o * k + ky) * k + kx) * gin + ci];
                                sum += xv * wv;
                                mag += fabs(xv * wv);
                            }
                        }
                    }
                    size_t idx = ((size_t)oy * ax.out + ox) * cc->out_c + o;
                    exact[idx] = activate_exact(sum, cc->act);
                    scale[idx] = mag;
                }
            }
        }
    }
}

static int within_sum_tolerance(const float *got, const double *exact, const double *scale,
                                size_t n, size_t *worst_at) {
    int ok = 1;
    double worst = -1;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - exact[i]);
        double allowed = SUM_TOL * scale[i] + 1e-30;
        if (!(err <= allowed)) ok = 0;
        double ratio = err / allowed;
        if (ratio > worst || ratio != ratio) {
            worst = ratio != ratio ? INFINITY : ratio;
            *worst_at = i;
        }
    }
    return ok;
}

static void describe_conv(const conv_case *cc, char *buf, size_t n) {
    snprintf(buf, n, "%dx%dx%d -> %d k%d s%d d%d g%d %s act%d bias%d", cc->in_h, cc->in_w,
             cc->in_c, cc->out_c, cc->kernel, cc->stride, cc->dilation, cc->groups,
             padding_name(cc->padding), (int)cc->act, cc->with_bias);
}

/* Splits [0, rows) into random ranges and runs the table entry on each. */
static void run_rows_split(test_rng *rng, const mnet_conv_geometry *g,
                           void (*fn)(const mnet_conv_geometry *, const float *, const float *,
                                      const float *, mnet_activation, float *, int, int),
                           const float *in, const float *w, const float *bias,
                           mnet_activation act, float *out) {
    int row = 0;
    while (row < g->out_h) {
        int end = row + test_rng_int(rng, 0, 3); /* empty ranges too */
        if (end > g->out_h) end = g->out_h;
        fn(g, in, w, bias, act, out, row, end);
        row = end;
    }
}

static void check_conv_case(test_rng *rng, const conv_case *cc) {
    char what[160];
    describe_conv(cc, what, sizeof what);
    axis_oracle ay, ax;
    int fits = axis_by_enumeration(cc->in_h, cc->kernel, cc->stride, cc->dilation, cc->padding,
                                   &ay) &&
               axis_by_enumeration(cc->in_w, cc->kernel, cc->stride, cc->dilation, cc->padding,
                                   &ax);
    mnet_conv_geometry g;
    int rc = mnet_conv_geometry_init(&g, cc->in_h, cc->in_w, cc->in_c, cc->out_c, cc->kernel,
                                     cc->stride, cc->dilation, cc->groups, cc->padding);
    CHECK_MSG(rc == (fits ? 0 : -1), "%s: init rc %d", what, rc);
    if (!fits || rc != 0) return;
    CHECK_MSG(g.out_h == ay.out && g.out_w == ax.out && g.pad_top == ay.before &&
                  g.pad_left == ax.before,
              "%s: geometry %dx%d pad %d,%d, want %dx%d pad %d,%d", what, g.out_h, g.out_w,
              g.pad_top, g.pad_left, ay.out, ax.out, ay.before, ax.before);
    if (g.out_h != ay.out || g.out_w != ax.out) return;

    const int gin = cc->in_c / cc->groups;
    const size_t in_n = (size_t)cc->in_h * cc->in_w * cc->in_c;
    const size_t w_n = (size_t)cc->out_c * cc->kernel * cc->kernel * gin;
    const size_t out_n = (size_t)g.out_h * g.out_w * g.out_c;
    float *in = random_floats(rng, in_n, -1.0f, 1.0f);
    float *w = random_floats(rng, w_n, -1.0f, 1.0f);
    float *bias = cc->with_bias ? random_floats(rng, (size_t)cc->out_c, -2.0f, 2.0f) : NULL;
    float *out = xcalloc(out_n, sizeof(float));
    double *exact = xcalloc(out_n, sizeof(double));
    double *scale = xcalloc(out_n, sizeof(double));

    mnet_ref_conv2d_f32(&g, in, w, bias, cc->act, out);
    padded_tensor p = pad_input(in, cc->in_h, cc->in_w, cc->in_c, ay, ax);
    conv_oracle(cc, ay, ax, &p, w, bias, exact, scale);
    size_t at = 0;
    int ok = within_sum_tolerance(out, exact, scale, out_n, &at);
    CHECK_MSG(ok, "%s: out[%zu] = %.9g, exact %.9g (terms %.3g)", what, at, out[at], exact[at],
              scale[at]);

    /* The table entry over random row ranges must reproduce the whole call
     * bit for bit; rows are filled with a sentinel first to catch gaps. */
    const mnet_kernels *k = &mnet_kernels_ref;
    const int depthwise = cc->groups == cc->in_c && cc->out_c == cc->in_c;
    size_t packed_n = depthwise ? k->depthwise_packed_size(&g) : k->conv2d_packed_size(&g);
    CHECK_MSG(packed_n == w_n, "%s: packed size %zu, want %zu", what, packed_n, w_n);
    float *packed = xcalloc(packed_n, sizeof(float));
    (depthwise ? k->depthwise_pack : k->conv2d_pack)(&g, w, packed);
    CHECK_MSG(memcmp(packed, w, w_n * sizeof(float)) == 0, "%s: ref pack changed weights", what);
    float *split = xcalloc(out_n, sizeof(float));
    for (size_t i = 0; i < out_n; i++) split[i] = NAN;
    run_rows_split(rng, &g, depthwise ? k->depthwise : k->conv2d, in, packed, bias, cc->act,
                   split);
    CHECK_MSG(memcmp(split, out, out_n * sizeof(float)) == 0, "%s: row split differs", what);

    /* A single middle row leaves every other row untouched. */
    for (size_t i = 0; i < out_n; i++) split[i] = -123.0f;
    int mid = g.out_h / 2;
    k->conv2d(&g, in, packed, bias, cc->act, split, mid, mid + 1);
    size_t row_n = (size_t)g.out_w * g.out_c;
    int untouched = 1;
    for (size_t i = 0; i < out_n; i++) {
        int in_row = i / row_n == (size_t)mid;
        if (!in_row && split[i] != -123.0f) untouched = 0;
        if (in_row && split[i] != out[i]) untouched = 0;
    }
    CHECK_MSG(untouched, "%s: row %d range wrote outside or differs", what, mid);

    padded_free(&p);
    free(in);
    free(w);
    free(bias);
    free(out);
    free(exact);
    free(scale);
    free(packed);
    free(split);
}

static int random_divisor(test_rng *rng, int n) {
    int d;
    do d = test_rng_int(rng, 1, n);
    while (n % d != 0);
    return d;
}

static const int tail_channels[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 33};
#define N_TAIL_CHANNELS ((int)(sizeof tail_channels / sizeof tail_channels[0]))

static void test_conv_random(test_rng *rng) {
    static const int kernels[] = {1, 3, 5};
    static const int dilations[] = {1, 1, 2, 4};
    for (int t = 0; t < 1000; t++) {
        conv_case cc;
        cc.in_h = test_rng_int(rng, 1, 19);
        cc.in_w = test_rng_int(rng, 1, 19);
        cc.kernel = kernels[test_rng_int(rng, 0, 2)];
        cc.stride = test_rng_int(rng, 1, 2);
        cc.dilation = dilations[test_rng_int(rng, 0, 3)];
        cc.padding = (mnet_padding)test_rng_int(rng, 0, 2);
        cc.act = (mnet_activation)test_rng_int(rng, 0, 2);
        cc.with_bias = test_rng_int(rng, 0, 3) != 0;
        cc.in_c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)];
        switch (test_rng_int(rng, 0, 3)) {
        case 0: /* dense */
            cc.groups = 1;
            cc.out_c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)];
            break;
        case 1: /* depthwise */
            cc.groups = cc.in_c;
            cc.out_c = cc.in_c;
            break;
        case 2: /* depthwise with a channel multiplier */
            cc.groups = cc.in_c;
            cc.out_c = cc.in_c * test_rng_int(rng, 2, 3);
            break;
        default: /* grouped */
            cc.groups = random_divisor(rng, cc.in_c);
            cc.out_c = cc.groups * test_rng_int(rng, 1, 4);
            break;
        }
        check_conv_case(rng, &cc);
    }
}

/* Layer shapes of the real networks, at reduced channel counts to keep the
 * double-precision oracle quick. */
static void test_conv_network_shapes(test_rng *rng) {
    const conv_case cases[] = {
        {224, 224, 3, 8, 3, 2, 1, 1, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 1},   /* V1/V2 stem */
        {225, 225, 3, 8, 3, 2, 1, 1, MNET_PAD_SYMMETRIC, MNET_ACT_RELU, 1},
        {56, 56, 24, 24, 3, 2, 1, 24, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 1},  /* dw s2 */
        {33, 33, 16, 16, 3, 1, 2, 16, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 1},  /* atrous dw */
        {33, 33, 16, 16, 3, 1, 4, 16, MNET_PAD_SYMMETRIC, MNET_ACT_RELU6, 1},
        {19, 19, 32, 12, 1, 1, 1, 1, MNET_PAD_TF_SAME, MNET_ACT_NONE, 1},    /* SSD head */
        {10, 10, 16, 24, 3, 1, 1, 1, MNET_PAD_TF_SAME, MNET_ACT_NONE, 1},
        {7, 7, 40, 40, 5, 1, 1, 40, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 0},
        {65, 65, 8, 8, 3, 1, 4, 8, MNET_PAD_TF_SAME, MNET_ACT_RELU6, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_conv_case(rng, &cases[i]);
}

/* ---- pointwise (table) and fully connected ------------------------------- */

static void test_pointwise(test_rng *rng) {
    const mnet_kernels *k = &mnet_kernels_ref;
    for (int t = 0; t < 120; t++) {
        int in_c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)] +
                   test_rng_int(rng, 0, 1) * 32;
        int out_c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)];
        int pixels = test_rng_int(rng, 1, 70);
        mnet_activation act = (mnet_activation)test_rng_int(rng, 0, 2);
        int with_bias = test_rng_int(rng, 0, 3) != 0, with_res = test_rng_int(rng, 0, 1);
        float *in = random_floats(rng, (size_t)pixels * in_c, -1.0f, 1.0f);
        float *w = random_floats(rng, (size_t)in_c * out_c, -1.0f, 1.0f);
        float *bias = with_bias ? random_floats(rng, (size_t)out_c, -1.0f, 1.0f) : NULL;
        float *res = with_res ? random_floats(rng, (size_t)pixels * out_c, -3.0f, 3.0f) : NULL;
        size_t out_n = (size_t)pixels * out_c;
        CHECK(k->pointwise_packed_size(in_c, out_c) == (size_t)in_c * out_c);
        float *packed = xcalloc((size_t)in_c * out_c, sizeof(float));
        k->pointwise_pack(in_c, out_c, w, packed);
        float *whole = xcalloc(out_n, sizeof(float));
        float *split = xcalloc(out_n, sizeof(float));
        double *exact = xcalloc(out_n, sizeof(double));
        double *scale = xcalloc(out_n, sizeof(double));
        k->pointwise(in_c, out_c, in, packed, bias, res, act, whole, 0, pixels);
        for (int p = 0; p < pixels; p++) {
            for (int o = 0; o < out_c; o++) {
                double sum = 0, mag = 0;
                for (int i = 0; i < in_c; i++) {
                    double term = (double)w[(size_t)o * in_c + i] * in[(size_t)p * in_c + i];
                    sum += term;
                    mag += fabs(term);
                }
                if (bias) sum += bias[o], mag += fabs(bias[o]);
                if (res) sum += res[(size_t)p * out_c + o], mag += fabs(res[(size_t)p * out_c + o]);
                exact[(size_t)p * out_c + o] = activate_exact(sum, act);
                scale[(size_t)p * out_c + o] = mag;
            }
        }
        size_t at = 0;
        CHECK_MSG(within_sum_tolerance(whole, exact, scale, out_n, &at),
                  "pointwise %d px %d->%d res %d: out[%zu] %.9g exact %.9g", pixels, in_c, out_c,
                  with_res, at, whole[at], exact[at]);
        for (size_t i = 0; i < out_n; i++) split[i] = NAN;
        for (int p = 0; p < pixels;) {
            int end = p + test_rng_int(rng, 0, 9);
            if (end > pixels) end = pixels;
            k->pointwise(in_c, out_c, in, packed, bias, res, act, split, p, end);
            p = end;
        }
        CHECK_MSG(memcmp(split, whole, out_n * sizeof(float)) == 0,
                  "pointwise %d px %d->%d: split differs", pixels, in_c, out_c);
        if (!res) {
            /* Without residual it is the 1x1 convolution, bit for bit. */
            mnet_conv_geometry g;
            CHECK(mnet_conv_geometry_init(&g, 1, pixels, in_c, out_c, 1, 1, 1, 1,
                                          MNET_PAD_VALID) == 0);
            mnet_ref_conv2d_f32(&g, in, w, bias, act, split);
            CHECK_MSG(memcmp(split, whole, out_n * sizeof(float)) == 0,
                      "pointwise %d px %d->%d differs from 1x1 conv", pixels, in_c, out_c);
        }
        free(in), free(w), free(bias), free(res), free(packed);
        free(whole), free(split), free(exact), free(scale);
    }
}

static void test_fully_connected(test_rng *rng) {
    for (int t = 0; t < 60; t++) {
        int in_n = test_rng_int(rng, 1, 1280), out_n = test_rng_int(rng, 1, 40);
        if (t == 0) in_n = 1024, out_n = 1001;
        mnet_activation act = (mnet_activation)test_rng_int(rng, 0, 2);
        float *in = random_floats(rng, (size_t)in_n, -1.0f, 1.0f);
        float *w = random_floats(rng, (size_t)in_n * out_n, -0.5f, 0.5f);
        float *bias = test_rng_int(rng, 0, 3) ? random_floats(rng, (size_t)out_n, -1, 1) : NULL;
        float *out = xcalloc((size_t)out_n, sizeof(float));
        double *exact = xcalloc((size_t)out_n, sizeof(double));
        double *scale = xcalloc((size_t)out_n, sizeof(double));
        mnet_ref_fully_connected_f32(in_n, out_n, in, w, bias, act, out);
        for (int o = 0; o < out_n; o++) {
            double sum = bias ? bias[o] : 0.0, mag = bias ? fabs(bias[o]) : 0.0;
            for (int i = 0; i < in_n; i++) {
                double term = (double)in[i] * w[(size_t)o * in_n + i];
                sum += term;
                mag += fabs(term);
            }
            exact[o] = activate_exact(sum, act);
            scale[o] = mag;
        }
        size_t at = 0;
        CHECK_MSG(within_sum_tolerance(out, exact, scale, (size_t)out_n, &at),
                  "fc %d->%d: out[%zu] %.9g exact %.9g", in_n, out_n, at, out[at], exact[at]);
        free(in), free(w), free(bias), free(out), free(exact), free(scale);
    }
}

/* ---- pooling ------------------------------------------------------------- */

static void test_avgpool(test_rng *rng) {
    static const int kernels[] = {1, 2, 3, 5, 7};
    for (int t = 0; t < 600; t++) {
        int in_h = test_rng_int(rng, 1, 17), in_w = test_rng_int(rng, 1, 17);
        int c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)];
        int k = kernels[test_rng_int(rng, 0, 4)], s = test_rng_int(rng, 1, 3);
        int d = test_rng_int(rng, 0, 4) == 0 ? 2 : 1;
        mnet_padding pad = (mnet_padding)test_rng_int(rng, 0, 2);
        int count_pad = test_rng_int(rng, 0, 1);
        axis_oracle ay, ax;
        if (!axis_by_enumeration(in_h, k, s, d, pad, &ay) ||
            !axis_by_enumeration(in_w, k, s, d, pad, &ax))
            continue;
        mnet_conv_geometry g;
        int rc = mnet_conv_geometry_init(&g, in_h, in_w, c, c, k, s, d, 1, pad);
        CHECK(rc == 0);
        if (rc != 0) continue;
        float *in = random_floats(rng, (size_t)in_h * in_w * c, -4.0f, 4.0f);
        size_t out_n = (size_t)ay.out * ax.out * c;
        float *out = xcalloc(out_n, sizeof(float));
        double *exact = xcalloc(out_n, sizeof(double));
        double *scale = xcalloc(out_n, sizeof(double));
        mnet_ref_avgpool_f32(&g, count_pad, in, out);
        /* Mean over the window of the padded copy; the divisor counts the
         * taps that read real input (TF) or all taps (padding counts). */
        padded_tensor p = pad_input(in, in_h, in_w, c, ay, ax);
        for (int oy = 0; oy < ay.out; oy++) {
            for (int ox = 0; ox < ax.out; ox++) {
                for (int ch = 0; ch < c; ch++) {
                    double sum = 0, mag = 0, real_taps = 0;
                    for (int ky = 0; ky < k; ky++) {
                        for (int kx = 0; kx < k; kx++) {
                            size_t px = (size_t)(oy * s + ky * d) * p.w + (ox * s + kx * d);
                            sum += p.data[px * c + ch];
                            mag += fabs(p.data[px * c + ch]);
                            real_taps += p.valid[px];
                        }
                    }
                    double divisor = count_pad ? (double)(k * k) : real_taps;
                    size_t idx = ((size_t)oy * ax.out + ox) * c + ch;
                    exact[idx] = divisor > 0 ? sum / divisor : 0.0;
                    scale[idx] = divisor > 0 ? mag / divisor : 0.0;
                }
            }
        }
        size_t at = 0;
        CHECK_MSG(within_sum_tolerance(out, exact, scale, out_n, &at),
                  "avgpool %dx%dx%d k%d s%d d%d %s count_pad %d: out[%zu] %.9g exact %.9g", in_h,
                  in_w, c, k, s, d, padding_name(pad), count_pad, at, out[at], exact[at]);
        padded_free(&p);
        free(in), free(out), free(exact), free(scale);
    }
}

static void test_global_avgpool(test_rng *rng) {
    for (int t = 0; t < 40; t++) {
        int h = test_rng_int(rng, 1, 33), w = test_rng_int(rng, 1, 33);
        int c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)] * test_rng_int(rng, 1, 4);
        float *in = random_floats(rng, (size_t)h * w * c, -2.0f, 3.0f);
        float *out = xcalloc((size_t)c, sizeof(float));
        double *exact = xcalloc((size_t)c, sizeof(double));
        double *scale = xcalloc((size_t)c, sizeof(double));
        mnet_ref_global_avgpool_f32(h, w, c, in, out);
        for (size_t i = 0; i < (size_t)h * w * c; i++) {
            exact[i % (size_t)c] += in[i] / ((double)h * w);
            scale[i % (size_t)c] += fabs(in[i]) / ((double)h * w);
        }
        size_t at = 0;
        CHECK_MSG(within_sum_tolerance(out, exact, scale, (size_t)c, &at),
                  "global avgpool %dx%dx%d: out[%zu] %.9g exact %.9g", h, w, c, at, out[at],
                  exact[at]);
        free(in), free(out), free(exact), free(scale);
    }
}

/* ---- element-wise -------------------------------------------------------- */

static float clamp_independent(float x, mnet_activation act) {
    if (act == MNET_ACT_RELU) return fmaxf(x, 0.0f);
    if (act == MNET_ACT_RELU6) return fminf(fmaxf(x, 0.0f), 6.0f);
    return x;
}

static void test_add_and_activation(test_rng *rng) {
    for (int t = 0; t < 60; t++) {
        size_t n = (size_t)test_rng_int(rng, 1, 300);
        mnet_activation act = (mnet_activation)test_rng_int(rng, 0, 2);
        float *a = random_floats(rng, n, -8.0f, 8.0f);
        float *b = random_floats(rng, n, -8.0f, 8.0f);
        float *out = xcalloc(n, sizeof(float));
        float *want = xcalloc(n, sizeof(float));
        /* A float sum is one correctly rounded operation: exact match. */
        for (size_t i = 0; i < n; i++) want[i] = clamp_independent((float)((double)a[i] + b[i]), act);
        mnet_ref_add_f32(n, a, b, act, out);
        CHECK_MSG(memcmp(out, want, n * sizeof(float)) == 0, "add n %zu act %d", n, (int)act);
        float *alias = xcalloc(n, sizeof(float));
        memcpy(alias, a, n * sizeof(float));
        mnet_ref_add_f32(n, alias, b, act, alias);
        CHECK_MSG(memcmp(alias, want, n * sizeof(float)) == 0, "add aliasing a");
        memcpy(alias, b, n * sizeof(float));
        mnet_ref_add_f32(n, a, alias, act, alias);
        CHECK_MSG(memcmp(alias, want, n * sizeof(float)) == 0, "add aliasing b");

        memcpy(alias, a, n * sizeof(float));
        mnet_ref_activation_f32(n, act, alias);
        int ok = 1;
        for (size_t i = 0; i < n; i++)
            if (alias[i] != clamp_independent(a[i], act)) ok = 0;
        CHECK_MSG(ok, "activation %d n %zu", (int)act, n);
        free(a), free(b), free(out), free(want), free(alias);
    }
    /* Boundary values of ReLU6. */
    float edge[] = {-0.0f, 0.0f, 6.0f, 6.0000005f, -1e-30f, 1e30f, -1e30f, 5.9999995f};
    float want6[] = {0.0f, 0.0f, 6.0f, 6.0f, 0.0f, 6.0f, 0.0f, 5.9999995f};
    mnet_ref_activation_f32(8, MNET_ACT_RELU6, edge);
    for (int i = 0; i < 8; i++) CHECK_MSG(edge[i] == want6[i], "relu6 edge %d: %g", i, edge[i]);
}

static void check_softmax(size_t n, const float *in, const char *what) {
    float *out = xcalloc(n, sizeof(float));
    mnet_ref_softmax_f32(n, in, out);
    double max = -INFINITY, denom = 0;
    for (size_t i = 0; i < n; i++) max = fmax(max, in[i]);
    for (size_t i = 0; i < n; i++) denom += exp((double)in[i] - max);
    double worst = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        double want = exp((double)in[i] - max) / denom;
        double rel = fabs(out[i] - want) / want;
        if (!(rel <= worst)) worst = rel != rel ? INFINITY : rel;
        total += out[i];
    }
    CHECK_MSG(worst <= 1e-5, "softmax %s n %zu: rel err %.3g", what, n, worst);
    CHECK_MSG(fabs(total - 1.0) <= 1e-5, "softmax %s n %zu: sums to %.9g", what, n, total);
    float *alias = xcalloc(n, sizeof(float));
    memcpy(alias, in, n * sizeof(float));
    mnet_ref_softmax_f32(n, alias, alias);
    CHECK_MSG(memcmp(alias, out, n * sizeof(float)) == 0, "softmax %s in place differs", what);
    free(out);
    free(alias);
}

static void test_softmax(test_rng *rng) {
    static const size_t sizes[] = {1, 2, 3, 7, 16, 21, 91, 1000, 1001};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        float *x = random_floats(rng, n, -12.0f, 12.0f);
        check_softmax(n, x, "random");
        /* Large logits overflow a naive expf: the max shift must hold. */
        for (size_t i = 0; i < n; i++) x[i] = 1000.0f + test_rng_float(rng, -20.0f, 20.0f);
        check_softmax(n, x, "large");
        for (size_t i = 0; i < n; i++) x[i] = -1000.0f + test_rng_float(rng, -20.0f, 20.0f);
        check_softmax(n, x, "very negative");
        free(x);
    }
    mnet_ref_softmax_f32(0, NULL, NULL); /* n = 0 touches nothing */
}

/* ---- resize -------------------------------------------------------------- */

/* Exact source coordinate of output index dst, clamped to the input. */
static double resize_source(int in, int out, int dst, mnet_resize_mode mode) {
    double src;
    if (mode == MNET_RESIZE_ALIGN_CORNERS)
        src = out == 1 ? 0.0 : dst * ((double)(in - 1) / (out - 1));
    else if (mode == MNET_RESIZE_HALF_PIXEL)
        src = (dst + 0.5) * ((double)in / out) - 0.5;
    else
        src = dst * ((double)in / out);
    return fmin(fmax(src, 0.0), in - 1.0);
}

/* Bilinear as a tent filter: weight max(0, 1 - |src - i|) for every input
 * index i; two of them are non-zero. */
static void tent_weights(int in, double src, double *weight) {
    for (int i = 0; i < in; i++) weight[i] = fmax(0.0, 1.0 - fabs(src - i));
}

static void check_resize(test_rng *rng, int in_h, int in_w, int c, int out_h, int out_w,
                         mnet_resize_mode mode) {
    float *in = random_floats(rng, (size_t)in_h * in_w * c, -5.0f, 5.0f);
    size_t out_n = (size_t)out_h * out_w * c;
    float *out = xcalloc(out_n, sizeof(float));
    double *wy = xcalloc((size_t)in_h, sizeof(double)), *wx = xcalloc((size_t)in_w, sizeof(double));
    mnet_ref_resize_bilinear_f32(in_h, in_w, c, out_h, out_w, mode, in, out);
    /* Source coordinates are computed in float by design (as TF and PyTorch
     * do), which moves them by up to ~2 ulp of the input size; allow that
     * shift times the local value range on top of the summation tolerance. */
    const double coord_slack = 4.0 * FLT_EPSILON * (in_h > in_w ? in_h : in_w);
    int ok = 1;
    double worst = 0;
    size_t worst_at = 0;
    double worst_want = 0;
    for (int oy = 0; oy < out_h; oy++) {
        double sy = resize_source(in_h, out_h, oy, mode);
        tent_weights(in_h, sy, wy);
        for (int ox = 0; ox < out_w; ox++) {
            double sx = resize_source(in_w, out_w, ox, mode);
            tent_weights(in_w, sx, wx);
            for (int ch = 0; ch < c; ch++) {
                double want = 0, mag = 0, local_max = 0;
                /* The tent is zero beyond distance 1; scan distance 2 so the
                 * local range also covers a coordinate that moved. */
                for (int y = (int)sy - 2; y <= (int)sy + 3; y++) {
                    if (y < 0 || y >= in_h) continue;
                    for (int x = (int)sx - 2; x <= (int)sx + 3; x++) {
                        if (x < 0 || x >= in_w) continue;
                        double v = in[((size_t)y * in_w + x) * c + ch];
                        local_max = fmax(local_max, fabs(v));
                        if (wy[y] == 0.0 || wx[x] == 0.0) continue;
                        want += wy[y] * wx[x] * v;
                        mag += wy[y] * wx[x] * fabs(v);
                    }
                }
                size_t idx = ((size_t)oy * out_w + ox) * c + ch;
                double err = fabs(out[idx] - want);
                double allowed = SUM_TOL * mag + 2.0 * coord_slack * local_max;
                if (!(err <= allowed)) ok = 0;
                if (err / allowed > worst) worst = err / allowed, worst_at = idx, worst_want = want;
            }
        }
    }
    CHECK_MSG(ok, "resize %dx%dx%d -> %dx%d mode %d: out[%zu] %.9g want %.9g", in_h, in_w, c,
              out_h, out_w, (int)mode, worst_at, out[worst_at], worst_want);
    free(in), free(out), free(wy), free(wx);
}

static void test_resize(test_rng *rng) {
    for (int mode = 0; mode < 3; mode++) {
        /* DeepLab: logits 33x33 (OS 16) or 65x65 (OS 8) up to 513. */
        check_resize(rng, 33, 33, 3, 513, 513, (mnet_resize_mode)mode);
        check_resize(rng, 65, 65, 2, 257, 257, (mnet_resize_mode)mode);
        check_resize(rng, 1, 1, 5, 4, 3, (mnet_resize_mode)mode);
        check_resize(rng, 4, 5, 3, 1, 1, (mnet_resize_mode)mode);
        check_resize(rng, 7, 9, 4, 7, 9, (mnet_resize_mode)mode); /* identity size */
        for (int t = 0; t < 40; t++) {
            int in_h = test_rng_int(rng, 1, 20), in_w = test_rng_int(rng, 1, 20);
            int out_h = test_rng_int(rng, 1, 40), out_w = test_rng_int(rng, 1, 40);
            int c = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)];
            check_resize(rng, in_h, in_w, c, out_h, out_w, (mnet_resize_mode)mode);
        }
    }
    /* Same size under align-corners and half-pixel is the identity. */
    float src[2 * 3 * 2] = {1.5f, -2, 3, 4.25f, 5, -6, 7, 8, 9.5f, 10, -11, 12};
    float dst[12];
    mnet_ref_resize_bilinear_f32(2, 3, 2, 2, 3, MNET_RESIZE_ALIGN_CORNERS, src, dst);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    mnet_ref_resize_bilinear_f32(2, 3, 2, 2, 3, MNET_RESIZE_HALF_PIXEL, src, dst);
    CHECK(memcmp(src, dst, sizeof src) == 0);
}

/* ---- concat -------------------------------------------------------------- */

static void test_concat(test_rng *rng) {
    for (int t = 0; t < 40; t++) {
        int n = test_rng_int(rng, 1, 5);
        size_t pixels = (size_t)test_rng_int(rng, 1, 50);
        int channels[5], total = 0;
        float *inputs[5];
        for (int i = 0; i < n; i++) {
            channels[i] = tail_channels[test_rng_int(rng, 0, N_TAIL_CHANNELS - 1)];
            inputs[i] = random_floats(rng, pixels * channels[i], -1.0f, 1.0f);
            total += channels[i];
        }
        float *out = xcalloc(pixels * total, sizeof(float));
        mnet_ref_concat_channels_f32(pixels, n, channels, (const float *const *)inputs, out);
        int ok = 1;
        for (size_t p = 0; p < pixels; p++) {
            for (int oc = 0; oc < total; oc++) {
                int which = 0, ch = oc;
                while (ch >= channels[which]) ch -= channels[which++];
                if (out[p * total + oc] != inputs[which][p * channels[which] + ch]) ok = 0;
            }
        }
        CHECK_MSG(ok, "concat of %d tensors, %zu pixels", n, pixels);
        for (int i = 0; i < n; i++) free(inputs[i]);
        free(out);
    }
}

int main(void) {
    test_rng rng = {0x9e3779b97f4a7c15ull};
    CHECK(strcmp(mnet_kernels_ref.isa, "ref") == 0);
    CHECK(mnet_kernels_select("ref") == &mnet_kernels_ref);
    test_conv_axis_hand_cases();
    test_conv_random(&rng);
    test_conv_network_shapes(&rng);
    test_pointwise(&rng);
    test_fully_connected(&rng);
    test_avgpool(&rng);
    test_global_avgpool(&rng);
    test_add_and_activation(&rng);
    test_softmax(&rng);
    test_resize(&rng);
    test_concat(&rng);
    TEST_MAIN_END();
}
