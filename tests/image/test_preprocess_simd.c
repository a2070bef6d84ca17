/* Every SIMD row-kernel table against the scalar one: random pixel formats,
 * image sizes (including rows wider than one decoded chunk and footprints
 * too wide for one), padded strides, ROIs, rotations, mirrors, fits, channel
 * orders and normalizations. The tables differ only in float summation
 * order, so the normalized outputs must agree to 1e-4 (absolute), and the
 * returned transforms exactly. ISAs this CPU lacks are skipped. */
#include <string.h>

#include "image/preprocess.h"
#include "image/row_kernels.h"
#include "test_util.h"

enum { CASES = 400 };
static const double TOLERANCE = 1e-4;

typedef struct test_image {
    mnet_image image;
    unsigned char *memory[3];
} test_image;

static unsigned char *random_plane(test_rng *rng, size_t bytes) {
    unsigned char *p = malloc(bytes ? bytes : 1);
    for (size_t i = 0; i < bytes; i++) p[i] = (unsigned char)test_rng_int(rng, 0, 255);
    return p;
}

static size_t packed_bytes(mnet_pixel_format f) {
    switch (f) {
    case MNET_PIXEL_RGB:
    case MNET_PIXEL_BGR: return 3;
    case MNET_PIXEL_RGBA:
    case MNET_PIXEL_BGRA: return 4;
    default: return 1;
    }
}

static test_image make_image(test_rng *rng, mnet_pixel_format f, int w, int h) {
    test_image t;
    memset(&t, 0, sizeof t);
    t.image.format = f;
    t.image.width = w;
    t.image.height = h;
    size_t cw = (size_t)(w + 1) / 2, chh = (size_t)(h + 1) / 2;
    if (f == MNET_PIXEL_RGB_F32_PLANAR) {
        for (int p = 0; p < 3; p++) {
            size_t stride = (size_t)(w + test_rng_int(rng, 0, 5));
            float *plane = malloc(stride * (size_t)h * sizeof(float));
            for (size_t i = 0; i < stride * (size_t)h; i++)
                plane[i] = test_rng_float(rng, -20.0f, 280.0f);
            t.memory[p] = (unsigned char *)plane;
            t.image.planes[p] = plane;
            t.image.strides[p] = stride * sizeof(float);
        }
    } else if (f >= MNET_PIXEL_NV12) {
        size_t y_stride = (size_t)w + (size_t)test_rng_int(rng, 0, 9);
        int interleaved = f == MNET_PIXEL_NV12 || f == MNET_PIXEL_NV21;
        size_t c_stride = (interleaved ? 2 * cw : cw) + (size_t)test_rng_int(rng, 0, 9);
        t.memory[0] = random_plane(rng, y_stride * (size_t)h);
        t.image.planes[0] = t.memory[0];
        t.image.strides[0] = y_stride;
        for (int p = 1; p < (interleaved ? 2 : 3); p++) {
            t.memory[p] = random_plane(rng, c_stride * chh);
            t.image.planes[p] = t.memory[p];
            t.image.strides[p] = c_stride;
        }
    } else {
        size_t stride = (size_t)w * packed_bytes(f) + (size_t)test_rng_int(rng, 0, 9);
        t.memory[0] = random_plane(rng, stride * (size_t)h);
        t.image.planes[0] = t.memory[0];
        t.image.strides[0] = stride;
    }
    return t;
}

static void free_image(test_image *t) {
    for (int p = 0; p < 3; p++) free(t->memory[p]);
}

static int random_side(test_rng *rng) {
    switch (test_rng_int(rng, 0, 5)) {
    case 0: return test_rng_int(rng, 1, 8);
    case 1: return test_rng_int(rng, 1100, 2600); /* several decoded chunks */
    default: return test_rng_int(rng, 9, 400);
    }
}

static mnet_preprocess random_preprocess(test_rng *rng, int w, int h) {
    mnet_preprocess pp;
    mnet_preprocess_init(&pp);
    pp.fit = (mnet_fit)test_rng_int(rng, 0, 3);
    if (test_rng_int(rng, 0, 2) == 0) pp.crop_fraction = test_rng_float(rng, 0.3f, 1.0f);
    pp.rotation = 90 * test_rng_int(rng, 0, 3);
    pp.mirror = test_rng_int(rng, 0, 1);
    pp.yuv_matrix = (mnet_yuv_matrix)test_rng_int(rng, 0, 1);
    pp.yuv_range = (mnet_yuv_range)test_rng_int(rng, 0, 1);
    if (test_rng_int(rng, 0, 1)) {
        pp.roi.width = test_rng_int(rng, 1, w);
        pp.roi.height = test_rng_int(rng, 1, h);
        pp.roi.x = test_rng_int(rng, 0, w - pp.roi.width);
        pp.roi.y = test_rng_int(rng, 0, h - pp.roi.height);
    }
    for (int c = 0; c < 3; c++) pp.fill[c] = test_rng_float(rng, 0.0f, 255.0f);
    return pp;
}

static mnet_input_spec random_spec(test_rng *rng) {
    mnet_input_spec spec;
    memset(&spec, 0, sizeof spec);
    int square = test_rng_int(rng, 0, 1);
    spec.width = test_rng_int(rng, 1, 3) == 1 ? test_rng_int(rng, 1, 4) : test_rng_int(rng, 5, 320);
    spec.height = square ? spec.width : test_rng_int(rng, 1, 320);
    spec.bgr = test_rng_int(rng, 0, 1);
    for (int c = 0; c < 3; c++) {
        spec.mean[c] = test_rng_float(rng, 0.0f, 200.0f);
        spec.std[c] = test_rng_float(rng, 1.0f, 128.0f);
        spec.fill[c] = test_rng_float(rng, 0.0f, 255.0f);
    }
    spec.fit = (mnet_fit)test_rng_int(rng, 1, 3);
    spec.crop_fraction = test_rng_float(rng, 0.5f, 1.0f);
    return spec;
}

static int same_transform(const mnet_image_transform *a, const mnet_image_transform *b) {
    return memcmp(a, b, sizeof *a) == 0;
}

/* Runs CASES random cases through the scalar table and `simd`; returns the
 * largest difference seen. */
static double compare_table(const mnet_image_row_kernels *simd, uint64_t seed) {
    test_rng rng = {seed};
    double worst = 0.0;
    for (int i = 0; i < CASES; i++) {
        mnet_pixel_format f = (mnet_pixel_format)test_rng_int(&rng, MNET_PIXEL_RGB,
                                                               MNET_PIXEL_YV12);
        int w = random_side(&rng), h = random_side(&rng);
        if ((size_t)w * (size_t)h > 1200000) h = 1200000 / w; /* keep the test quick */
        test_image img = make_image(&rng, f, w, h);
        mnet_preprocess pp = random_preprocess(&rng, w, h);
        mnet_input_spec spec = random_spec(&rng);
        if (i % 6 == 0 && w <= 600 && h <= 600) { /* identity size: the 1:1 fast paths */
            int quarter = pp.rotation == 90 || pp.rotation == 270;
            int rw = pp.roi.width ? pp.roi.width : w, rh = pp.roi.height ? pp.roi.height : h;
            spec.width = quarter ? rh : rw;
            spec.height = quarter ? rw : rh;
            pp.fit = MNET_FIT_STRETCH;
        }
        size_t count = (size_t)spec.width * (size_t)spec.height * 3;
        size_t scratch_floats = mnet_image_scratch_floats(&spec);
        float *want = malloc(count * sizeof(float)), *got = malloc(count * sizeof(float));
        float *scratch = malloc(scratch_floats * sizeof(float));
        for (size_t j = 0; j < count; j++) want[j] = got[j] = -12345.0f;
        mnet_image_transform t_want, t_got;
        mnet_error err;
        memset(&err, 0, sizeof err);
        mnet_status s_want =
            mnet_image_to_input_with(&mnet_image_row_kernels_ref, &img.image, &pp, &spec,
                                     want, scratch, scratch_floats, &t_want, &err);
        mnet_status s_got = mnet_image_to_input_with(simd, &img.image, &pp, &spec, got, scratch,
                                                     scratch_floats, &t_got, &err);
        CHECK_MSG(s_want == MNET_OK && s_got == MNET_OK, "case %d: status %d / %d: %s", i,
                  (int)s_want, (int)s_got, err.message);
        if (s_want == MNET_OK && s_got == MNET_OK) {
            double diff = 0.0;
            size_t at = 0;
            for (size_t j = 0; j < count; j++) {
                double d = fabs((double)want[j] - (double)got[j]);
                if (!(d <= diff)) { /* NaN counts as a failure */
                    diff = isnan(d) ? INFINITY : d;
                    at = j;
                }
            }
            CHECK_MSG(diff <= TOLERANCE,
                      "%s case %d: format %d %dx%d -> %dx%d fit %d rot %d mirror %d roi "
                      "%d,%d %dx%d: |diff| %g at %zu (%g vs %g)",
                      simd->name, i, (int)f, w, h, spec.width, spec.height, (int)pp.fit,
                      pp.rotation, pp.mirror, pp.roi.x, pp.roi.y, pp.roi.width,
                      pp.roi.height, diff, at, (double)want[at], (double)got[at]);
            CHECK_MSG(same_transform(&t_want, &t_got), "%s case %d: transforms differ",
                      simd->name, i);
            if (diff > worst) worst = diff;
        }
        free(want);
        free(got);
        free(scratch);
        free_image(&img);
    }
    return worst;
}

/* The tables must not be trivially equal: a case where the scalar result is
 * known to be non-constant proves the comparison sees real data. */
static void test_outputs_vary(void) {
    test_rng rng = {77};
    test_image img = make_image(&rng, MNET_PIXEL_NV12, 640, 480);
    mnet_input_spec spec = random_spec(&rng);
    spec.width = spec.height = 32;
    size_t count = 32 * 32 * 3, scratch_floats = mnet_image_scratch_floats(&spec);
    float *out = malloc(count * sizeof(float)), *scratch = malloc(scratch_floats * sizeof(float));
    mnet_error err;
    CHECK(mnet_image_to_input_with(&mnet_image_row_kernels_ref, &img.image, NULL, &spec, out,
                                   scratch, scratch_floats, NULL, &err) == MNET_OK);
    float lo = out[0], hi = out[0];
    for (size_t j = 1; j < count; j++) {
        lo = out[j] < lo ? out[j] : lo;
        hi = out[j] > hi ? out[j] : hi;
    }
    CHECK(hi - lo > 0.01f);
    free(out);
    free(scratch);
    free_image(&img);
}

int main(void) {
    test_outputs_vary();
    CHECK(mnet_image_row_kernels_named("ref") == &mnet_image_row_kernels_ref);
    CHECK(mnet_image_row_kernels_named("no-such-isa") == NULL);
    /* Ordered from least to most capable: the default must be the last available. */
    const char *isas[] = {"avx2", "avx512"};
    const mnet_image_row_kernels *most_capable = &mnet_image_row_kernels_ref;
    for (int i = 0; i < 2; i++) {
        const mnet_image_row_kernels *k = mnet_image_row_kernels_named(isas[i]);
        if (!k) {
            printf("%s: not available on this CPU, skipped\n", isas[i]);
            continue;
        }
        /* A request served by another ISA's table would leave this one untested. */
        CHECK_MSG(strcmp(k->name, isas[i]) == 0, "request %s got table %s", isas[i], k->name);
        most_capable = k;
        double worst = compare_table(k, 0x5eed0000u + (uint64_t)i);
        printf("%s (table %s): %d cases, max |diff| vs ref %.3g\n", isas[i], k->name, CASES,
               worst);
    }
    CHECK_MSG(mnet_image_row_kernels_named(NULL) == most_capable, "default table %s, want %s",
              mnet_image_row_kernels_named(NULL)->name, most_capable->name);
    TEST_MAIN_END();
}
