/* The uint8 operators of the detectors and segmenters (src/int8/q8_ops.h,
 * q8_mask.h) against direct double-precision definitions on random shapes
 * and data: requantization tables, concatenation, bilinear resize (align
 * corners and half-pixel, 1x1 broadcast), the export tables with the
 * quantized sigmoid, and the uint8 DeepLab mask, whose shortcut for cells
 * with a sure winner must give the class of the full interpolation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "int8/q8_mask.h"
#include "int8/q8_ops.h"
#include "test_util.h"

/* round(v / scale) + zp, clamped: ties cannot occur in double here except
 * where float would decide differently, so tolerate 1 step at ties. */
static int quantize_double(double v, double scale, int zp) {
    double q = floor(v / scale + 0.5) + zp;
    return q < 0 ? 0 : q > 255 ? 255 : (int)q;
}

static void random_bytes(test_rng *r, uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)test_rng_int(r, 1, 255);
}

static void check_tables(test_rng *rng) {
    for (int t = 0; t < 200; t++) {
        float s_in = test_rng_float(rng, 0.005f, 0.5f), s_out = test_rng_float(rng, 0.005f, 0.5f);
        int z_in = test_rng_int(rng, 0, 255), z_out = test_rng_int(rng, 0, 255);
        uint8_t table[256];
        mnet_q8_requant_table(s_in, z_in, s_out, z_out, table);
        for (int q = 0; q < 256; q++) {
            int want = quantize_double((double)s_in * (q - z_in), s_out, z_out);
            CHECK_MSG(abs(table[q] - want) <= 1, "requant %d: %d vs %d", q, table[q], want);
        }
        float values[256];
        mnet_q8_export_table(table, s_out, z_out, 1, values);
        for (int q = 0; q < 256; q++) {
            double p = 1.0 / (1.0 + exp(-(double)s_out * (table[q] - z_out)));
            double want = quantize_double(p, 1.0 / 256, 0) / 256.0;
            CHECK_MSG(fabs(values[q] - want) <= 1.0 / 256 + 1e-9 &&
                          values[q] == floorf(values[q] * 256.0f) / 256.0f,
                      "logistic %d: %g vs %g", q, (double)values[q], want);
        }
        mnet_q8_export_table(NULL, s_in, z_in, 0, values);
        for (int q = 0; q < 256; q++) CHECK(values[q] == s_in * ((float)q - (float)z_in));
    }
}

static void check_concat(test_rng *rng) {
    for (int t = 0; t < 50; t++) {
        mnet_q8_op op;
        memset(&op, 0, sizeof op);
        op.num_inputs = test_rng_int(rng, 1, MNET_Q8_OP_MAX_INPUTS);
        int pixels = test_rng_int(rng, 1, 40), out_c = 0;
        uint8_t *inputs[MNET_Q8_OP_MAX_INPUTS], tables[MNET_Q8_OP_MAX_INPUTS][256];
        for (int i = 0; i < op.num_inputs; i++) {
            op.channels[i] = test_rng_int(rng, 1, 37);
            out_c += op.channels[i];
            inputs[i] = malloc((size_t)pixels * op.channels[i]);
            random_bytes(rng, inputs[i], (size_t)pixels * op.channels[i]);
            if (test_rng_int(rng, 0, 1)) {
                mnet_q8_requant_table(test_rng_float(rng, 0.01f, 0.2f), test_rng_int(rng, 0, 255),
                                      test_rng_float(rng, 0.01f, 0.2f), test_rng_int(rng, 0, 255),
                                      tables[i]);
                op.requant[i] = tables[i];
            }
        }
        uint8_t *out = malloc((size_t)pixels * out_c);
        int split = test_rng_int(rng, 0, pixels);
        mnet_q8_concat(&op, (const uint8_t *const *)inputs, out, 0, split);
        mnet_q8_concat(&op, (const uint8_t *const *)inputs, out, split, pixels);
        for (int p = 0; p < pixels; p++) {
            int c0 = 0;
            for (int i = 0; i < op.num_inputs; i++) {
                for (int c = 0; c < op.channels[i]; c++) {
                    uint8_t v = inputs[i][(size_t)p * op.channels[i] + c];
                    uint8_t want = op.requant[i] ? op.requant[i][v] : v;
                    CHECK(out[(size_t)p * out_c + c0 + c] == want);
                }
                c0 += op.channels[i];
            }
        }
        for (int i = 0; i < op.num_inputs; i++) free(inputs[i]);
        free(out);
    }
}

/* Source coordinate in double as TF defines the two conventions. */
static double source(int o, int in, int out, mnet_resize_mode mode) {
    if (mode == MNET_RESIZE_ALIGN_CORNERS)
        return out > 1 ? (double)o * (in - 1) / (out - 1) : 0.0;
    double s = ((double)o + 0.5) * in / out - 0.5;
    return s < 0 ? 0 : s;
}

static double bilinear(const uint8_t *in, int h, int w, int c, int k, double sy, double sx,
                       double scale, int zp) {
    int y0 = (int)floor(sy), x0 = (int)floor(sx);
    int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
    if (y0 > h - 1) y0 = h - 1;
    if (x0 > w - 1) x0 = w - 1;
    double fy = sy - floor(sy), fx = sx - floor(sx);
#define AT(y, x) (scale * ((double)in[((size_t)(y) * w + (x)) * c + k] - zp))
    double top = AT(y0, x0) + (AT(y0, x1) - AT(y0, x0)) * fx;
    double bottom = AT(y1, x0) + (AT(y1, x1) - AT(y1, x0)) * fx;
#undef AT
    return top + (bottom - top) * fy;
}

static void check_resize(test_rng *rng) {
    for (int t = 0; t < 60; t++) {
        mnet_q8_op op;
        memset(&op, 0, sizeof op);
        op.mode = t % 2 ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL;
        int broadcast = t % 5 == 0;
        op.in_h = broadcast ? 1 : test_rng_int(rng, 1, 9);
        op.in_w = broadcast ? 1 : test_rng_int(rng, 1, 9);
        op.out_h = test_rng_int(rng, 1, 23);
        op.out_w = test_rng_int(rng, 1, 23);
        op.c = test_rng_int(rng, 1, 19);
        op.in_scale = test_rng_float(rng, 0.01f, 0.3f);
        op.in_zero_point = test_rng_int(rng, 0, 255);
        int same = broadcast || t % 3 == 0;
        op.out_scale = same ? op.in_scale : test_rng_float(rng, 0.01f, 0.3f);
        op.out_zero_point = same ? op.in_zero_point : test_rng_int(rng, 0, 255);
        size_t n_in = (size_t)op.in_h * op.in_w * op.c, n_out = (size_t)op.out_h * op.out_w * op.c;
        uint8_t *in = malloc(n_in), *out = malloc(n_out);
        random_bytes(rng, in, n_in);
        int split = test_rng_int(rng, 0, op.out_h);
        mnet_q8_resize(&op, in, out, 0, split);
        mnet_q8_resize(&op, in, out, split, op.out_h);
        int off = 0;
        for (int y = 0; y < op.out_h; y++)
            for (int x = 0; x < op.out_w; x++)
                for (int k = 0; k < op.c; k++) {
                    double v = bilinear(in, op.in_h, op.in_w, op.c, k,
                                        source(y, op.in_h, op.out_h, op.mode),
                                        source(x, op.in_w, op.out_w, op.mode), op.in_scale,
                                        op.in_zero_point);
                    int want = quantize_double(v, op.out_scale, op.out_zero_point);
                    int got = out[((size_t)y * op.out_w + x) * op.c + k];
                    double steps = v / op.out_scale, frac = steps - floor(steps);
                    int near_tie = fabs(frac - 0.5) < 1e-3; /* float may fall either side */
                    off += got != want && !near_tie;
                    CHECK_MSG(abs(got - want) <= 1, "resize %d,%d,%d: %d vs %d", y, x, k, got,
                              want);
                }
        /* a step apart only at float-vs-double ties */
        CHECK_MSG(off == 0, "%d of %zu resized values differ away from ties", off, n_out);
        free(in);
        free(out);
    }
}

static void check_mask(test_rng *rng) {
    for (int t = 0; t < 12; t++) {
        int lo = test_rng_int(rng, 2, 9), classes = test_rng_int(rng, 2, 21);
        int net = (lo - 1) * test_rng_int(rng, 2, 8) + 1;
        size_t cells = (size_t)lo * lo;
        uint8_t *logits = malloc(cells * classes), *best = malloc(cells);
        /* a few classes dominate regions, with ties and near ties */
        for (size_t i = 0; i < cells; i++)
            for (int c = 0; c < classes; c++)
                logits[i * classes + c] = (uint8_t)(c == (int)(i / 5) % classes
                                                        ? test_rng_int(rng, 150, 160)
                                                        : test_rng_int(rng, 100, 152));
        uint8_t *mask = malloc((size_t)net * net);
        mnet_q8_mask_job j = {logits, lo, lo, classes, 0.2f, 36, net, net,
                              t % 2 ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL,
                              1, 0, 0, 1, 0, 0, best, mask, (size_t)net, net, net};
        mnet_q8_mask_prepare(&j);
        mnet_q8_mask_rows(&j, 0, 1);
        for (int y = 0; y < net; y++)
            for (int x = 0; x < net; x++) {
                int want = mnet_q8_resized_argmax(logits, lo, lo, classes, 0.2f, 36, net, net,
                                                  j.mode, x, y);
                CHECK_MSG(mask[(size_t)y * net + x] == want, "mask %d,%d: %d vs %d", y, x,
                          mask[(size_t)y * net + x], want);
            }
        /* ties between equal uint8 values go to the lowest class */
        memset(logits, 7, cells * classes);
        CHECK(mnet_q8_resized_argmax(logits, lo, lo, classes, 0.2f, 36, net, net, j.mode, 1, 1) ==
              0);
        free(logits);
        free(best);
        free(mask);
    }
}

int main(void) {
    test_rng rng = {0x51ed2701f00dull};
    check_tables(&rng);
    check_concat(&rng);
    check_resize(&rng);
    check_mask(&rng);
    TEST_MAIN_END();
}
