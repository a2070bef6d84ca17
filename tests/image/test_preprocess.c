/* Preprocessing properties that need no outside oracle:
 *  - same-size stretch is the identity: exactly (p - mean) / std;
 *  - every packed format (and planar float) of one picture gives one tensor,
 *    with and without padded strides; GRAY equals RGB with R = G = B, and
 *    full-range YUV with neutral chroma equals GRAY;
 *  - geometry: a bright marker put at a known spot, preprocessed under every
 *    rotation, mirror, fit and a random ROI, is found in the output where the
 *    returned transform says (within 1/4 source pixel; the brief asks for 1);
 *  - letterbox borders hold exactly the normalized fill;
 *  - bad arguments are rejected with a message, never a crash.
 * The comparisons against PIL and OpenCV are in test_preprocess_vs_pil.py. */
#include <string.h>

#include "image/preprocess.h"
#include "test_util.h"

static float *run_scratch;
static size_t run_scratch_floats;

static mnet_input_spec make_spec(int w, int h, int bgr, test_rng *rng) {
    mnet_input_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.width = w;
    spec.height = h;
    spec.bgr = bgr;
    for (int c = 0; c < 3; c++) {
        spec.mean[c] = test_rng_float(rng, 0.0f, 200.0f);
        spec.std[c] = test_rng_float(rng, 0.5f, 100.0f);
    }
    spec.fit = MNET_FIT_STRETCH;
    spec.crop_fraction = 0.875f;
    return spec;
}

static mnet_status run(const mnet_image *image, const mnet_preprocess *pp,
                       const mnet_input_spec *spec, float *out, mnet_image_transform *t,
                       mnet_error *err) {
    size_t need = mnet_image_scratch_floats(spec);
    if (need > run_scratch_floats) {
        free(run_scratch);
        run_scratch = malloc(need * sizeof(float));
        run_scratch_floats = need;
    }
    return mnet_image_to_input(image, pp, spec, out, run_scratch, need, t, err);
}

static unsigned char *random_bytes(test_rng *rng, size_t n) {
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)test_rng_int(rng, 0, 255);
    return p;
}

static void test_identity(test_rng *rng) {
    for (int iter = 0; iter < 6; iter++) {
        int w = test_rng_int(rng, 1, 90), h = test_rng_int(rng, 1, 90);
        int pad = test_rng_int(rng, 0, 7), bgr = iter & 1;
        size_t stride = (size_t)w * 3 + (size_t)pad;
        unsigned char *px = random_bytes(rng, stride * (size_t)h);
        mnet_input_spec spec = make_spec(w, h, bgr, rng);
        mnet_image image = mnet_image_packed(MNET_PIXEL_RGB, px, w, h, stride);
        float *out = malloc(sizeof(float) * (size_t)w * (size_t)h * 3);
        mnet_error err;
        mnet_status st = run(&image, NULL, &spec, out, NULL, &err);
        CHECK_MSG(st == MNET_OK, "%s", err.message);
        int exact = 1;
        for (int y = 0; y < h && st == MNET_OK; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    int src_c = bgr ? 2 - c : c;
                    float p = (float)px[(size_t)y * stride + (size_t)x * 3 + (size_t)src_c];
                    float want = (p - spec.mean[c]) / spec.std[c];
                    if (out[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] != want) exact = 0;
                }
        CHECK_MSG(exact, "identity %dx%d bgr=%d is not exactly (p - mean) / std", w, h, bgr);
        free(out);
        free(px);
    }
}

/* One picture in every packed layout, with padded strides; all must give
 * bit-identical tensors (same arithmetic on the same values). */
static void test_formats_agree(test_rng *rng) {
    int w = test_rng_int(rng, 20, 120), h = test_rng_int(rng, 20, 120);
    int nw = test_rng_int(rng, 10, 150), nh = test_rng_int(rng, 10, 150);
    unsigned char *rgb = random_bytes(rng, (size_t)w * (size_t)h * 3);
    mnet_input_spec spec = make_spec(nw, nh, 0, rng);
    mnet_preprocess pp;
    mnet_preprocess_init(&pp);
    pp.fit = MNET_FIT_CENTER_CROP;
    pp.rotation = 90;
    pp.mirror = 1;
    size_t n = (size_t)nw * (size_t)nh * 3;
    float *want = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    mnet_error err;
    mnet_image image = mnet_image_packed(MNET_PIXEL_RGB, rgb, w, h, (size_t)w * 3);
    CHECK_MSG(run(&image, &pp, &spec, want, NULL, &err) == MNET_OK, "%s", err.message);

    const mnet_pixel_format packed[] = {MNET_PIXEL_BGR, MNET_PIXEL_RGBA, MNET_PIXEL_BGRA};
    for (int f = 0; f < 3; f++) {
        int bpp = packed[f] == MNET_PIXEL_BGR ? 3 : 4;
        int swap = packed[f] != MNET_PIXEL_RGBA;
        size_t stride = (size_t)w * (size_t)bpp + (size_t)test_rng_int(rng, 1, 13);
        unsigned char *buf = random_bytes(rng, stride * (size_t)h); /* random alpha, padding */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    buf[(size_t)y * stride + (size_t)x * (size_t)bpp + (size_t)(swap ? 2 - c : c)] =
                        rgb[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
        mnet_image im = mnet_image_packed(packed[f], buf, w, h, stride);
        CHECK_MSG(run(&im, &pp, &spec, got, NULL, &err) == MNET_OK, "%s", err.message);
        CHECK_MSG(memcmp(want, got, n * sizeof(float)) == 0, "format %d differs from RGB",
                  (int)packed[f]);
        free(buf);
    }

    /* Planar float with padded rows. */
    size_t fstride = (size_t)w + (size_t)test_rng_int(rng, 1, 5);
    float *planes = malloc(sizeof(float) * fstride * (size_t)h * 3);
    for (size_t i = 0; i < fstride * (size_t)h * 3; i++) planes[i] = -1e30f; /* padding poison */
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                planes[(size_t)c * fstride * (size_t)h + (size_t)y * fstride + (size_t)x] =
                    rgb[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
    mnet_image fim;
    memset(&fim, 0, sizeof fim);
    fim.format = MNET_PIXEL_RGB_F32_PLANAR;
    fim.width = w;
    fim.height = h;
    for (int c = 0; c < 3; c++) {
        fim.planes[c] = planes + (size_t)c * fstride * (size_t)h;
        fim.strides[c] = fstride * sizeof(float);
    }
    CHECK_MSG(run(&fim, &pp, &spec, got, NULL, &err) == MNET_OK, "%s", err.message);
    CHECK_MSG(memcmp(want, got, n * sizeof(float)) == 0, "planar float differs from RGB");

    /* GRAY vs RGB with equal channels vs full-range YUV with neutral chroma. */
    size_t gstride = (size_t)w + 3;
    unsigned char *gray = random_bytes(rng, gstride * (size_t)h);
    unsigned char *grgb = malloc((size_t)w * (size_t)h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                grgb[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = gray[(size_t)y * gstride + (size_t)x];
    mnet_image gim = mnet_image_packed(MNET_PIXEL_GRAY, gray, w, h, gstride);
    mnet_image rim = mnet_image_packed(MNET_PIXEL_RGB, grgb, w, h, (size_t)w * 3);
    CHECK_MSG(run(&rim, &pp, &spec, want, NULL, &err) == MNET_OK, "%s", err.message);
    CHECK_MSG(run(&gim, &pp, &spec, got, NULL, &err) == MNET_OK, "%s", err.message);
    CHECK_MSG(memcmp(want, got, n * sizeof(float)) == 0, "GRAY differs from RGB with R=G=B");

    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    unsigned char *chroma = malloc((size_t)cw * 2 * (size_t)ch);
    memset(chroma, 128, (size_t)cw * 2 * (size_t)ch);
    mnet_image yim;
    memset(&yim, 0, sizeof yim);
    yim.format = MNET_PIXEL_NV12;
    yim.width = w;
    yim.height = h;
    yim.planes[0] = gray;
    yim.strides[0] = gstride;
    yim.planes[1] = chroma;
    yim.strides[1] = (size_t)cw * 2;
    pp.yuv_range = MNET_YUV_FULL;
    CHECK_MSG(run(&yim, &pp, &spec, got, NULL, &err) == MNET_OK, "%s", err.message);
    CHECK_MSG(test_max_rel_err(got, want, n, 1.0) < 1e-5,
              "full-range NV12 with neutral chroma differs from GRAY");
    free(chroma);
    free(gray);
    free(grgb);
    free(planes);
    free(want);
    free(got);
    free(rgb);
}

/* Direction of rotation and mirror, at scale 1 where resampling is exact:
 * clockwise by 90 puts the left column on top, read bottom to top. */
static void test_rotation_direction(test_rng *rng) {
    int w = test_rng_int(rng, 2, 9), h = test_rng_int(rng, 2, 9);
    unsigned char *px = random_bytes(rng, (size_t)w * (size_t)h * 3);
    mnet_image image = mnet_image_packed(MNET_PIXEL_RGB, px, w, h, (size_t)w * 3);
    float out[9 * 9 * 3];
    for (int rotation = 0; rotation < 360; rotation += 90)
        for (int mirror = 0; mirror < 2; mirror++) {
            int uw = rotation % 180 ? h : w, uh = rotation % 180 ? w : h;
            mnet_input_spec spec = make_spec(uw, uh, 0, rng);
            for (int c = 0; c < 3; c++) spec.mean[c] = 0.0f, spec.std[c] = 1.0f;
            mnet_preprocess pp;
            mnet_preprocess_init(&pp);
            pp.fit = MNET_FIT_STRETCH;
            pp.rotation = rotation;
            pp.mirror = mirror;
            mnet_error err;
            CHECK_MSG(run(&image, &pp, &spec, out, NULL, &err) == MNET_OK, "%s", err.message);
            int same = 1;
            for (int v = 0; v < uh; v++)
                for (int u0 = 0; u0 < uw; u0++) {
                    int u = mirror ? uw - 1 - u0 : u0, x, y;
                    if (rotation == 0) x = u, y = v;
                    else if (rotation == 90) x = v, y = h - 1 - u;
                    else if (rotation == 180) x = w - 1 - u, y = h - 1 - v;
                    else x = w - 1 - v, y = u;
                    for (int c = 0; c < 3; c++)
                        if (out[((size_t)v * (size_t)uw + (size_t)u0) * 3 + (size_t)c] !=
                            (float)px[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c])
                            same = 0;
                }
            CHECK_MSG(same, "rotation %d mirror %d of a %dx%d image is not the rotated picture",
                      rotation, mirror, w, h);
        }
    free(px);
}

/* Centroid of the marker's response in the output (network coordinates,
 * pixel centres at +0.5): the difference of the outputs with and without the
 * marker, which is the marker alone since resampling is linear. 0 if none. */
static int find_marker(const float *with, const float *without, const mnet_input_spec *spec,
                       double *cx, double *cy) {
    double sx = 0, sy = 0, sw = 0;
    for (int y = 0; y < spec->height; y++)
        for (int x = 0; x < spec->width; x++) {
            size_t i = ((size_t)y * (size_t)spec->width + (size_t)x) * 3 + 1;
            double w = ((double)with[i] - (double)without[i]) * spec->std[1];
            if (w <= 1e-3) continue;
            sx += w * (x + 0.5);
            sy += w * (y + 0.5);
            sw += w;
        }
    if (sw <= 1.0) return 0;
    *cx = sx / sw;
    *cy = sy / sw;
    return 1;
}

static void test_marker_geometry(test_rng *rng) {
    const mnet_fit fits[] = {MNET_FIT_CENTER_CROP, MNET_FIT_STRETCH, MNET_FIT_LETTERBOX};
    int worst_case = 0;
    double worst = 0;
    for (int iter = 0; iter < 96; iter++) {
        int rotation = 90 * (iter % 4), mirror = (iter / 4) % 2;
        mnet_fit fit = fits[(iter / 8) % 3];
        int use_roi = (iter / 24) % 2, shrink = (iter / 48) % 2;
        int w = test_rng_int(rng, 80, 260), h = test_rng_int(rng, 80, 260);
        unsigned char *px = malloc((size_t)w * (size_t)h * 3);
        for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++)
            px[i] = (unsigned char)test_rng_int(rng, 0, 40);
        mnet_rect roi = {0, 0, 0, 0};
        int rx = 0, ry = 0, rw = w, rh = h;
        if (use_roi) {
            rw = test_rng_int(rng, 60, w);
            rh = test_rng_int(rng, 60, h);
            rx = test_rng_int(rng, 0, w - rw);
            ry = test_rng_int(rng, 0, h - rh);
            roi.x = rx, roi.y = ry, roi.width = rw, roi.height = rh;
        }
        /* A 5x5 marker well inside the central part of the ROI, which every
         * crop below keeps. */
        int mx = rx + test_rng_int(rng, rw * 2 / 5, rw * 3 / 5 - 5);
        int my = ry + test_rng_int(rng, rh * 2 / 5, rh * 3 / 5 - 5);
        int base = shrink ? test_rng_int(rng, 40, 70) : test_rng_int(rng, 260, 400);
        int nw = base, nh = (int)(base * test_rng_float(rng, 0.6f, 1.6f));
        mnet_input_spec spec = make_spec(nw, nh, iter % 3 == 0, rng);
        mnet_preprocess pp;
        mnet_preprocess_init(&pp);
        pp.fit = fit;
        pp.crop_fraction = test_rng_float(rng, 0.8f, 1.0f);
        pp.roi = roi;
        pp.rotation = rotation;
        pp.mirror = mirror;
        /* half the cases leave the fill to the model (negative = spec's) */
        for (int c = 0; c < 3; c++) {
            spec.fill[c] = test_rng_float(rng, 0.0f, 255.0f);
            pp.fill[c] = iter % 2 ? -1.0f : test_rng_float(rng, 0.0f, 50.0f);
        }
        float *out = malloc(sizeof(float) * (size_t)nw * (size_t)nh * 3);
        mnet_image_transform t;
        mnet_error err;
        float *plain = malloc(sizeof(float) * (size_t)nw * (size_t)nh * 3);
        mnet_image image = mnet_image_packed(MNET_PIXEL_RGB, px, w, h, (size_t)w * 3);
        mnet_status st = run(&image, &pp, &spec, plain, NULL, &err);
        CHECK_MSG(st == MNET_OK, "%s", err.message);
        for (int y = my; y < my + 5; y++)
            for (int x = mx; x < mx + 5; x++)
                for (int c = 0; c < 3; c++) px[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = 255;
        st = run(&image, &pp, &spec, out, &t, &err);
        CHECK_MSG(st == MNET_OK, "%s", err.message);
        double cx = 0, cy = 0;
        int found = st == MNET_OK && find_marker(out, plain, &spec, &cx, &cy);
        CHECK_MSG(found, "case %d: marker not found", iter);
        if (found) {
            double sx = t.xx * cx + t.xy * cy + t.x0, sy = t.yx * cx + t.yy * cy + t.y0;
            double e = fmax(fabs(sx - (mx + 2.5)), fabs(sy - (my + 2.5)));
            if (e > worst) worst = e, worst_case = iter;
            CHECK_MSG(e <= 0.25,
                      "case %d (rotation %d mirror %d fit %d roi %d, %dx%d -> %dx%d): marker at "
                      "(%.1f, %.1f) maps back to (%.2f, %.2f), off by %.2f px",
                      iter, rotation, mirror, (int)fit, use_roi, w, h, nw, nh, mx + 2.5, my + 2.5,
                      sx, sy, e);
        }
        /* The content rectangle maps onto the ROI (stretch, letterbox) or
         * inside it (center crop). */
        double corners[2][2] = {{t.content_left, t.content_top}, {t.content_right, t.content_bottom}};
        double minx = 1e30, maxx = -1e30, miny = 1e30, maxy = -1e30;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double x = t.xx * corners[i][0] + t.xy * corners[j][1] + t.x0;
                double y = t.yx * corners[i][0] + t.yy * corners[j][1] + t.y0;
                minx = fmin(minx, x), maxx = fmax(maxx, x), miny = fmin(miny, y), maxy = fmax(maxy, y);
            }
        double tol = 1e-6 * (w + h);
        if (fit == MNET_FIT_CENTER_CROP)
            CHECK_MSG(minx >= rx - tol && maxx <= rx + rw + tol && miny >= ry - tol &&
                          maxy <= ry + rh + tol,
                      "case %d: crop box (%g,%g)-(%g,%g) leaves the ROI", iter, minx, miny, maxx, maxy);
        else
            CHECK_MSG(fabs(minx - rx) < tol && fabs(maxx - rx - rw) < tol &&
                          fabs(miny - ry) < tol && fabs(maxy - ry - rh) < tol,
                      "case %d: content maps to (%g,%g)-(%g,%g), ROI is (%d,%d)-(%d,%d)", iter,
                      minx, miny, maxx, maxy, rx, ry, rx + rw, ry + rh);
        /* Letterbox borders hold the fill exactly; content fills the rest. */
        if (fit == MNET_FIT_LETTERBOX) {
            int border_ok = 1, bordered = 0;
            for (int y = 0; y < nh; y++)
                for (int x = 0; x < nw; x++) {
                    int inside = x >= t.content_left && x < t.content_right && y >= t.content_top &&
                                 y < t.content_bottom;
                    if (inside) continue;
                    bordered = 1;
                    for (int c = 0; c < 3; c++) {
                        int k = spec.bgr ? 2 - c : c;
                        float fill = pp.fill[k] < 0.0f ? spec.fill[k] : pp.fill[k];
                        float want = (fill - spec.mean[c]) / spec.std[c];
                        if (out[((size_t)y * (size_t)nw + (size_t)x) * 3 + (size_t)c] != want) border_ok = 0;
                    }
                }
            CHECK_MSG(border_ok, "case %d: letterbox border differs from the fill", iter);
            double content_aspect = (t.content_right - t.content_left) /
                                    (t.content_bottom - t.content_top);
            double roi_aspect = (rotation % 180 ? (double)rh / rw : (double)rw / rh);
            CHECK_MSG(bordered || fabs(content_aspect - roi_aspect) < 0.05,
                      "case %d: letterbox without border but aspect %g vs %g", iter,
                      content_aspect, roi_aspect);
            CHECK_MSG(t.content_right - t.content_left == nw || t.content_bottom - t.content_top == nh,
                      "case %d: letterbox content touches no side", iter);
        }
        free(plain);
        free(out);
        free(px);
    }
    printf("marker geometry: worst error %.3f source px (case %d)\n", worst, worst_case);
}

/* Every invalid argument is rejected with INVALID_ARGUMENT and a message. */
static void test_bad_inputs(test_rng *rng) {
    enum { W = 16, H = 12 };
    unsigned char *px = random_bytes(rng, W * H * 4);
    float out[8 * 8 * 3], scratch[1024];
    mnet_input_spec spec = make_spec(8, 8, 0, rng);
    mnet_image good = mnet_image_packed(MNET_PIXEL_RGB, px, W, H, W * 3);
    mnet_preprocess pp;
    mnet_error err;

    struct {
        const char *what;
        mnet_image image;
        int pp_case;
    } cases[20];
    int n = 0;
#define ADD_IMAGE(desc, expr)                 \
    do {                                      \
        cases[n].what = desc;                 \
        cases[n].image = good;                \
        cases[n].pp_case = 0;                 \
        { mnet_image *im = &cases[n].image; expr; } \
        n++;                                  \
    } while (0)
    ADD_IMAGE("NULL plane", im->planes[0] = NULL);
    ADD_IMAGE("zero width", im->width = 0);
    ADD_IMAGE("negative height", im->height = -3);
    ADD_IMAGE("width > 65536", im->width = 65537);
    ADD_IMAGE("stride smaller than a row", im->strides[0] = W * 3 - 1);
    ADD_IMAGE("unknown format", im->format = (mnet_pixel_format)77);
    ADD_IMAGE("RGBA stride for RGB rows", (im->format = MNET_PIXEL_RGBA, im->strides[0] = W * 3));
    ADD_IMAGE("NV12 without chroma plane", (im->format = MNET_PIXEL_NV12, im->strides[0] = W));
    ADD_IMAGE("NV12 odd width, chroma stride not rounded up",
              (im->format = MNET_PIXEL_NV12, im->width = 15, im->strides[0] = 15,
               im->planes[1] = px, im->strides[1] = 14));
    ADD_IMAGE("I420 missing V plane",
              (im->format = MNET_PIXEL_I420, im->strides[0] = W, im->planes[1] = px,
               im->strides[1] = W / 2));
    ADD_IMAGE("float plane misaligned",
              (im->format = MNET_PIXEL_RGB_F32_PLANAR, im->planes[0] = px + 1,
               im->planes[1] = px, im->planes[2] = px, im->strides[0] = W * 4,
               im->strides[1] = W * 4, im->strides[2] = W * 4));
    ADD_IMAGE("float stride not a multiple of 4",
              (im->format = MNET_PIXEL_RGB_F32_PLANAR, im->planes[1] = px, im->planes[2] = px,
               im->strides[0] = W * 4 + 2, im->strides[1] = W * 4, im->strides[2] = W * 4));
    for (int i = 0; i < n; i++) {
        memset(&err, 0, sizeof err);
        mnet_status st = mnet_image_to_input(&cases[i].image, NULL, &spec, out, scratch, 1024,
                                             NULL, &err);
        CHECK_MSG(st == MNET_ERR_INVALID_ARGUMENT && err.message[0] != '\0',
                  "%s: status %d", cases[i].what, (int)st);
        printf("  rejected %-45s -> %s\n", cases[i].what, err.message);
    }

    /* Preprocess options. */
    const char *pp_names[] = {"ROI outside the image", "ROI negative x", "empty ROI (height 0)",
                              "rotation 45", "crop fraction 1.5", "crop fraction -0.2",
                              "unknown fit", "unknown YUV matrix (on NV12)", "NaN fill"};
    for (int i = 0; i < 9; i++) {
        mnet_preprocess_init(&pp);
        mnet_image image = good;
        switch (i) {
        case 0: pp.roi = (mnet_rect){10, 5, 7, 4}; break;
        case 1: pp.roi = (mnet_rect){-1, 0, 4, 4}; break;
        case 2: pp.roi = (mnet_rect){1, 1, 4, 0}; break;
        case 3: pp.rotation = 45; break;
        case 4: pp.fit = MNET_FIT_CENTER_CROP, pp.crop_fraction = 1.5f; break;
        case 5: pp.crop_fraction = -0.2f; break;
        case 6: pp.fit = (mnet_fit)9; break;
        case 7:
            image.format = MNET_PIXEL_NV12, image.strides[0] = W, image.planes[1] = px;
            image.strides[1] = W;
            pp.yuv_matrix = (mnet_yuv_matrix)5;
            break;
        case 8: pp.fill[1] = NAN; break;
        }
        memset(&err, 0, sizeof err);
        mnet_status st = mnet_image_to_input(&image, &pp, &spec, out, scratch, 1024, NULL, &err);
        CHECK_MSG(st == MNET_ERR_INVALID_ARGUMENT && err.message[0] != '\0', "%s: status %d",
                  pp_names[i], (int)st);
        printf("  rejected %-45s -> %s\n", pp_names[i], err.message);
    }

    /* NULLs, scratch, spec. */
    size_t need = mnet_image_scratch_floats(&spec);
    CHECK(need > 0 && need <= 1024);
    struct {
        const char *what;
        mnet_status st;
    } more[7];
    more[0].what = "NULL image";
    more[0].st = mnet_image_to_input(NULL, NULL, &spec, out, scratch, need, NULL, &err);
    more[1].what = "NULL out";
    more[1].st = mnet_image_to_input(&good, NULL, &spec, NULL, scratch, need, NULL, &err);
    more[2].what = "NULL scratch";
    more[2].st = mnet_image_to_input(&good, NULL, &spec, out, NULL, need, NULL, &err);
    more[3].what = "scratch too small";
    more[3].st = mnet_image_to_input(&good, NULL, &spec, out, scratch, need - 1, NULL, &err);
    more[4].what = "NULL spec";
    more[4].st = mnet_image_to_input(&good, NULL, NULL, out, scratch, need, NULL, &err);
    mnet_input_spec bad = spec;
    bad.std[2] = 0.0f;
    more[5].what = "zero std";
    more[5].st = mnet_image_to_input(&good, NULL, &bad, out, scratch, need, NULL, &err);
    bad = spec;
    bad.fit = MNET_FIT_CENTER_CROP;
    bad.crop_fraction = 0.0f;
    more[6].what = "model crop fraction 0";
    more[6].st = mnet_image_to_input(&good, NULL, &bad, out, scratch, need, NULL, &err);
    for (int i = 0; i < 7; i++)
        CHECK_MSG(more[i].st == MNET_ERR_INVALID_ARGUMENT, "%s: status %d", more[i].what,
                  (int)more[i].st);
    /* A NULL error pointer is allowed. */
    CHECK(mnet_image_to_input(NULL, NULL, &spec, out, scratch, need, NULL, NULL) ==
          MNET_ERR_INVALID_ARGUMENT);
    /* And the good image does go through with the same buffers. */
    CHECK(mnet_image_to_input(&good, NULL, &spec, out, scratch, need, NULL, &err) == MNET_OK);
    free(px);
}

/* Odd-sized YUV frames with padded strides are read within their planes
 * (ASan catches an overread) and give in-range values. */
static void test_yuv_odd_sizes(test_rng *rng) {
    const mnet_pixel_format formats[] = {MNET_PIXEL_NV12, MNET_PIXEL_NV21, MNET_PIXEL_I420,
                                         MNET_PIXEL_YV12};
    for (int f = 0; f < 4; f++) {
        int w = test_rng_int(rng, 1, 40) | 1, h = test_rng_int(rng, 1, 40) | 1;
        int cw = (w + 1) / 2, ch = (h + 1) / 2, nv = f < 2;
        size_t ystride = (size_t)w + 1, cstride = (size_t)cw * (nv ? 2 : 1);
        /* Exactly sized allocations: the last row has no padding. */
        unsigned char *y = random_bytes(rng, ystride * (size_t)(h - 1) + (size_t)w);
        unsigned char *c1 = random_bytes(rng, cstride * (size_t)ch);
        unsigned char *c2 = random_bytes(rng, cstride * (size_t)ch);
        mnet_image im;
        memset(&im, 0, sizeof im);
        im.format = formats[f];
        im.width = w;
        im.height = h;
        im.planes[0] = y;
        im.strides[0] = ystride;
        im.planes[1] = c1;
        im.strides[1] = cstride;
        if (!nv) {
            im.planes[2] = c2;
            im.strides[2] = cstride;
        }
        mnet_input_spec spec = make_spec(test_rng_int(rng, 1, 50), test_rng_int(rng, 1, 50), 0, rng);
        for (int c = 0; c < 3; c++) spec.mean[c] = 0.0f, spec.std[c] = 1.0f;
        mnet_preprocess pp;
        mnet_preprocess_init(&pp);
        pp.rotation = 270;
        pp.yuv_matrix = MNET_YUV_BT709;
        float *out = malloc(sizeof(float) * (size_t)spec.width * (size_t)spec.height * 3);
        mnet_error err;
        CHECK_MSG(run(&im, &pp, &spec, out, NULL, &err) == MNET_OK, "%s", err.message);
        int in_range = 1;
        for (size_t i = 0; i < (size_t)spec.width * (size_t)spec.height * 3; i++)
            if (!(out[i] >= -1e-3f && out[i] <= 255.001f)) in_range = 0;
        CHECK_MSG(in_range, "format %d %dx%d: values outside 0..255", (int)formats[f], w, h);
        free(out);
        free(y);
        free(c1);
        free(c2);
    }
}

int main(void) {
    test_rng rng = {0x5eed1234abcdULL};
    test_identity(&rng);
    test_formats_agree(&rng);
    test_rotation_direction(&rng);
    test_marker_geometry(&rng);
    test_bad_inputs(&rng);
    test_yuv_odd_sizes(&rng);
    free(run_scratch);
    TEST_MAIN_END();
}
