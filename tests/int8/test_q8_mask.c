/* The uint8 DeepLab mask (src/int8/q8_mask.h) against a direct model of
 * what the TFLite graph computes: the whole network-size uint8 resize by
 * mnet_q8_resize, ARG_MAX with ties to the lowest class, and each image
 * pixel reading the network pixel its centre maps to. Random logit grids,
 * class counts (1 to 40: the block path up to 32 classes, the per-pixel
 * path above), network sizes, image sizes smaller and larger than the
 * network, flips, offsets that clamp at the borders, rotations, thread
 * splits, and logits drawn from a few close values so that most pixels are
 * decided by ties and near ties. Every kernel set this CPU runs is checked,
 * and the AVX-512 kernels are also compared with their scalar twins
 * directly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "int8/q8_mask.h"
#include "int8/q8_ops.h"
#include "kernels/cpu_features.h"
#include "test_util.h"

static int avx512_runs(void) {
    mnet_q8_mask_kernels k = mnet_q8_mask_kernels_select(1);
    return k.block == mnet_q8_mask_block_avx512;
}

/* Logits from a narrow band (many exact ties and near ties), sometimes
 * with a dominant class per region (the sure shortcut), sometimes at the
 * ends of the uint8 range (quantization clamps). Never zero. */
static void random_logits(test_rng *r, uint8_t *l, int cells, int classes) {
    int style = test_rng_int(r, 0, 3);
    int base = style == 2 ? 1 : style == 3 ? 250 : test_rng_int(r, 20, 200);
    int spread = style == 2 || style == 3 ? 5 : test_rng_int(r, 1, 6);
    for (int i = 0; i < cells; i++) {
        int lead = test_rng_int(r, 0, classes - 1);
        for (int c = 0; c < classes; c++) {
            int v = base + test_rng_int(r, 0, spread - 1);
            if (style == 1 && c == lead) v += test_rng_int(r, 0, 4);
            l[(size_t)i * classes + c] = (uint8_t)(v < 1 ? 1 : v > 255 ? 255 : v);
        }
    }
}

/* The model: resize everything, ARG_MAX, sample. */
static void reference_mask(const mnet_q8_mask_job *j, uint8_t *want) {
    mnet_q8_op op;
    memset(&op, 0, sizeof op);
    op.mode = j->mode;
    op.in_h = j->lo_h;
    op.in_w = j->lo_w;
    op.out_h = j->net_h;
    op.out_w = j->net_w;
    op.c = j->classes;
    op.in_scale = op.out_scale = j->scale;
    op.in_zero_point = op.out_zero_point = j->zero_point;
    size_t net_pixels = (size_t)j->net_h * j->net_w;
    uint8_t *resized = malloc(net_pixels * j->classes), *net_class = malloc(net_pixels);
    mnet_q8_resize(&op, j->logits, resized, 0, j->net_h);
    for (size_t p = 0; p < net_pixels; p++) {
        const uint8_t *v = resized + p * j->classes;
        int best = 0;
        for (int c = 1; c < j->classes; c++)
            if (v[c] > v[best]) best = c;
        net_class[p] = (uint8_t)best;
    }
    for (int y = 0; y < j->height; y++)
        for (int x = 0; x < j->width; x++) {
            double dx = x + 0.5 - j->x0, dy = y + 0.5 - j->y0;
            int px = (int)floor(j->ixx * dx + j->ixy * dy);
            int py = (int)floor(j->iyx * dx + j->iyy * dy);
            px = px < 0 ? 0 : px >= j->net_w ? j->net_w - 1 : px;
            py = py < 0 ? 0 : py >= j->net_h ? j->net_h - 1 : py;
            want[(size_t)y * j->width + x] = net_class[(size_t)py * j->net_w + px];
        }
    free(resized);
    free(net_class);
}

static void check_masks(test_rng *r) {
    mnet_q8_mask_kernels sets[2] = {mnet_q8_mask_kernels_select(0),
                                    mnet_q8_mask_kernels_select(1)};
    int num_sets = avx512_runs() ? 2 : 1;
    for (int t = 0; t < 300; t++) {
        mnet_q8_mask_job j;
        memset(&j, 0, sizeof j);
        j.lo_h = test_rng_int(r, 1, 12);
        j.lo_w = test_rng_int(r, 1, 12);
        j.classes = t % 10 == 0 ? test_rng_int(r, 33, 40) : test_rng_int(r, 1, 32);
        j.scale = test_rng_float(r, 0.01f, 0.5f);
        j.zero_point = test_rng_int(r, 0, 255);
        j.net_w = test_rng_int(r, 1, 70);
        j.net_h = test_rng_int(r, 1, 70);
        j.mode = test_rng_int(r, 0, 1) ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL;
        /* image smaller or larger than the network, often not a multiple */
        j.width = test_rng_int(r, 1, 150);
        j.height = test_rng_int(r, 1, 150);
        double fx = (double)j.net_w / j.width * test_rng_float(r, 0.8f, 1.25f);
        double fy = (double)j.net_h / j.height * test_rng_float(r, 0.8f, 1.25f);
        j.ixx = test_rng_int(r, 0, 7) == 0 ? -fx : fx; /* sometimes mirrored */
        j.iyy = fy;
        if (t % 7 == 3) { /* a small rotation: the per-pixel path */
            j.ixy = test_rng_float(r, -0.2f, 0.2f);
            j.iyx = test_rng_float(r, -0.2f, 0.2f);
        }
        j.x0 = test_rng_float(r, -4.0f, 4.0f) + (j.ixx < 0 ? j.width : 0);
        j.y0 = test_rng_float(r, -4.0f, 4.0f);
        size_t cells = (size_t)j.lo_h * j.lo_w, pixels = (size_t)j.width * j.height;
        uint8_t *logits = malloc(cells * j.classes), *best = malloc(cells);
        uint8_t *want = malloc(pixels), *got = malloc(pixels);
        random_logits(r, logits, (int)cells, j.classes);
        j.logits = logits;
        j.cell_best = best;
        j.mask = got;
        j.stride = (size_t)j.width;
        reference_mask(&j, want);
        mnet_q8_mask_prepare(&j);
        for (int s = 0; s < num_sets; s++) {
            memset(got, 0xEE, pixels);
            int threads = test_rng_int(r, 1, 4);
            for (int th = threads - 1; th >= 0; th--) mnet_q8_mask_rows_with(&j, &sets[s], th, threads);
            size_t bad = 0, first = 0;
            for (size_t p = 0; p < pixels; p++)
                if (got[p] != want[p] && bad++ == 0) first = p;
            CHECK_MSG(bad == 0,
                      "case %d kernels %d: %zu of %zu pixels differ, first (%zu,%zu) %d vs %d "
                      "(lo %dx%d, %d classes, net %dx%d, image %dx%d)",
                      t, s, bad, pixels, first % j.width, first / j.width, got[first],
                      want[first], j.lo_w, j.lo_h, j.classes, j.net_w, j.net_h, j.width,
                      j.height);
        }
        free(logits);
        free(best);
        free(want);
        free(got);
    }
}

/* One of a few dequantized values, or a lerp between two: the inputs the
 * block kernel sees, with many equal values. */
static float along_x_value(test_rng *r, float scale, int zp, int base) {
    float a = mnet_q8_dequantize((uint8_t)(base + test_rng_int(r, 0, 3)), scale, zp);
    float b = mnet_q8_dequantize((uint8_t)(base + test_rng_int(r, 0, 3)), scale, zp);
    float w = test_rng_int(r, 0, 2) == 0 ? 0.5f : test_rng_float(r, 0.0f, 1.0f);
    return w * b + (1.0f - w) * a;
}

static void check_kernel_twins(test_rng *r) {
    if (!avx512_runs()) return;
    enum { STRIDE_MAX = 40, CLASSES_MAX = 32 };
    float top[CLASSES_MAX * STRIDE_MAX], bottom[CLASSES_MAX * STRIDE_MAX];
    for (int t = 0; t < 3000; t++) {
        int classes = test_rng_int(r, 1, CLASSES_MAX), count = test_rng_int(r, 1, 16);
        int stride = test_rng_int(r, count, STRIDE_MAX);
        float scale = test_rng_float(r, 0.01f, 0.5f);
        int zp = test_rng_int(r, 0, 255), base = test_rng_int(r, 1, 252);
        for (int i = 0; i < classes * stride; i++) {
            top[i] = along_x_value(r, scale, zp, base);
            bottom[i] = along_x_value(r, scale, zp, base);
        }
        float wy = test_rng_int(r, 0, 3) == 0 ? 0.5f : test_rng_float(r, 0.0f, 1.0f);
        uint8_t want[16], got[16 + 1];
        got[count] = 0xAB; /* must stay */
        mnet_q8_mask_block_scalar(top, bottom, (size_t)stride, classes, count, wy, scale, zp, want);
        mnet_q8_mask_block_avx512(top, bottom, (size_t)stride, classes, count, wy, scale, zp, got);
        CHECK(memcmp(want, got, (size_t)count) == 0 && got[count] == 0xAB);
    }
    for (int t = 0; t < 3000; t++) {
        int lo_h = test_rng_int(r, 1, 5), lo_w = test_rng_int(r, 1, 5);
        int classes = test_rng_int(r, 1, 60);
        uint8_t logits[25 * 60];
        random_logits(r, logits, lo_h * lo_w, classes);
        float scale = test_rng_float(r, 0.01f, 0.5f);
        int zp = test_rng_int(r, 0, 255);
        mnet_resize_mode mode = t % 2 ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL;
        int net_h = test_rng_int(r, 1, 40), net_w = test_rng_int(r, 1, 40);
        mnet_q8_tap ty = mnet_q8_resize_tap(test_rng_int(r, 0, net_h - 1), lo_h, net_h, mode);
        mnet_q8_tap tx = mnet_q8_resize_tap(test_rng_int(r, 0, net_w - 1), lo_w, net_w, mode);
        int want = mnet_q8_argmax_at(logits, lo_w, classes, scale, zp, ty, tx);
        int got = mnet_q8_mask_argmax_avx512(logits, lo_w, classes, scale, zp, ty, tx);
        CHECK_MSG(want == got, "argmax %d vs %d (%d classes)", got, want, classes);
    }
}

int main(void) {
    test_rng rng = {0x9a5c0de11ull};
    if (!avx512_runs()) printf("AVX-512 not available: scalar kernels only\n");
    check_masks(&rng);
    check_kernel_twins(&rng);
    TEST_MAIN_END();
}
