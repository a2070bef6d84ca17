/* uint8 concatenation, resize and export tables (see q8_ops.h). Each float
 * operation is its own statement so that no compiler fuses a multiply and
 * an add: the oracle rounds after each. */
#include "int8/q8_ops.h"

#include <math.h>
#include <string.h>

/* roundf (half away from zero) without the library call: x - trunc(x) is
 * exact for every float, so the comparison with 0.5 decides as roundf. */
static inline float round_half_away(float x) {
    float t = truncf(x);
    float rest = x - t;
    if (rest >= 0.5f) return t + 1.0f;
    if (rest <= -0.5f) return t - 1.0f;
    return t;
}

uint8_t mnet_q8_quantize(float v, float scale, int32_t zero_point) {
    float scaled = v / scale;
    float q = round_half_away(scaled) + (float)zero_point;
    return (uint8_t)(q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q);
}

void mnet_q8_requant_table(float in_scale, int32_t in_zero_point, float out_scale,
                           int32_t out_zero_point, uint8_t table[256]) {
    for (int q = 0; q < 256; q++)
        table[q] = mnet_q8_quantize(mnet_q8_dequantize((uint8_t)q, in_scale, in_zero_point),
                                    out_scale, out_zero_point);
}

void mnet_q8_export_table(const uint8_t *requant, float scale, int32_t zero_point, int logistic,
                          float table[256]) {
    for (int q = 0; q < 256; q++) {
        uint8_t v = requant ? requant[q] : (uint8_t)q;
        float x = mnet_q8_dequantize(v, scale, zero_point);
        if (logistic) {
            float e = expf(-x);
            float denominator = 1.0f + e;
            float p = 1.0f / denominator;
            x = mnet_q8_dequantize(mnet_q8_quantize(p, 1.0f / 256.0f, 0), 1.0f / 256.0f, 0);
        }
        table[q] = x;
    }
}

void mnet_q8_concat(const mnet_q8_op *op, const uint8_t *const *inputs, uint8_t *out,
                    int pixel_begin, int pixel_end) {
    int out_c = 0;
    for (int i = 0; i < op->num_inputs; i++) out_c += op->channels[i];
    for (int p = pixel_begin; p < pixel_end; p++) {
        uint8_t *dst = out + (size_t)p * out_c;
        for (int i = 0; i < op->num_inputs; i++) {
            int c = op->channels[i];
            const uint8_t *src = inputs[i] + (size_t)p * c;
            const uint8_t *table = op->requant[i];
            if (table)
                for (int k = 0; k < c; k++) dst[k] = table[src[k]];
            else
                memcpy(dst, src, (size_t)c);
            dst += c;
        }
    }
}

/* Arm NN's Lerp(a, b, w) = w * b + (1 - w) * a. */
static inline float lerp(float a, float b, float w) {
    float wb = w * b;
    float rest = 1.0f - w;
    float ra = rest * a;
    return wb + ra;
}

static float interpolate(const uint8_t *p00, const uint8_t *p01, const uint8_t *p10,
                         const uint8_t *p11, int k, mnet_q8_tap tx, mnet_q8_tap ty, float scale,
                         int32_t zero_point) {
    float a = mnet_q8_dequantize(p00[k], scale, zero_point);
    float b = mnet_q8_dequantize(p01[k], scale, zero_point);
    float c = mnet_q8_dequantize(p10[k], scale, zero_point);
    float d = mnet_q8_dequantize(p11[k], scale, zero_point);
    float top = lerp(a, b, tx.w);
    float bottom = lerp(c, d, tx.w);
    return lerp(top, bottom, ty.w);
}

void mnet_q8_resize(const mnet_q8_op *op, const uint8_t *in, uint8_t *out, int row_begin,
                    int row_end) {
    int c = op->c;
    size_t row_bytes = (size_t)op->out_w * c;
    int same = op->in_scale == op->out_scale && op->in_zero_point == op->out_zero_point;
    if (op->in_h == 1 && op->in_w == 1 && same) {
        /* every tap reads the one pixel: lerp(a, a, w) is a within a few ulps,
         * a / scale is then within ulps of an integer, and rounding gives back
         * the input value */
        for (int y = row_begin; y < row_end; y++)
            for (int x = 0; x < op->out_w; x++)
                memcpy(out + (size_t)y * row_bytes + (size_t)x * c, in, (size_t)c);
        return;
    }
    float sy = mnet_q8_axis_scale(op->in_h, op->out_h, op->mode);
    float sx = mnet_q8_axis_scale(op->in_w, op->out_w, op->mode);
    for (int y = row_begin; y < row_end; y++) {
        mnet_q8_tap ty = mnet_q8_axis_tap(y, op->in_h, sy, op->mode);
        const uint8_t *r0 = in + (size_t)ty.i0 * op->in_w * c;
        const uint8_t *r1 = in + (size_t)ty.i1 * op->in_w * c;
        for (int x = 0; x < op->out_w; x++) {
            mnet_q8_tap tx = mnet_q8_axis_tap(x, op->in_w, sx, op->mode);
            const uint8_t *p00 = r0 + (size_t)tx.i0 * c, *p01 = r0 + (size_t)tx.i1 * c;
            const uint8_t *p10 = r1 + (size_t)tx.i0 * c, *p11 = r1 + (size_t)tx.i1 * c;
            uint8_t *dst = out + (size_t)y * row_bytes + (size_t)x * c;
            for (int k = 0; k < c; k++)
                dst[k] = mnet_q8_quantize(interpolate(p00, p01, p10, p11, k, tx, ty, op->in_scale,
                                                      op->in_zero_point),
                                          op->out_scale, op->out_zero_point);
        }
    }
}

mnet_q8_tap mnet_q8_resize_tap(int o, int in, int out, mnet_resize_mode mode) {
    return mnet_q8_axis_tap(o, in, mnet_q8_axis_scale(in, out, mode), mode);
}

int mnet_q8_argmax_at(const uint8_t *logits, int lo_w, int classes, float scale,
                      int32_t zero_point, mnet_q8_tap ty, mnet_q8_tap tx) {
    const uint8_t *p00 = logits + ((size_t)ty.i0 * lo_w + tx.i0) * classes;
    const uint8_t *p01 = logits + ((size_t)ty.i0 * lo_w + tx.i1) * classes;
    const uint8_t *p10 = logits + ((size_t)ty.i1 * lo_w + tx.i0) * classes;
    const uint8_t *p11 = logits + ((size_t)ty.i1 * lo_w + tx.i1) * classes;
    /* The interpolation is a convex combination of the four corners, so a
     * class whose largest corner is more than a step below some class's
     * smallest corner cannot reach that class after rounding: only the
     * others are interpolated. */
    int floor_best = 0;
    for (int k = 0; k < classes; k++) {
        int lo = p00[k] < p01[k] ? p00[k] : p01[k];
        int lo2 = p10[k] < p11[k] ? p10[k] : p11[k];
        if (lo2 < lo) lo = lo2;
        if (lo > floor_best) floor_best = lo;
    }
    int best = 0, best_q = -1;
    for (int k = 0; k < classes; k++) {
        int hi = p00[k] > p01[k] ? p00[k] : p01[k];
        int hi2 = p10[k] > p11[k] ? p10[k] : p11[k];
        if ((hi > hi2 ? hi : hi2) + 1 < floor_best) continue;
        int q = mnet_q8_quantize(interpolate(p00, p01, p10, p11, k, tx, ty, scale, zero_point),
                                 scale, zero_point);
        if (q > best_q) {
            best_q = q;
            best = k;
        }
    }
    return best;
}

int mnet_q8_resized_argmax(const uint8_t *logits, int lo_h, int lo_w, int classes, float scale,
                           int32_t zero_point, int net_h, int net_w, mnet_resize_mode mode,
                           int px, int py) {
    return mnet_q8_argmax_at(logits, lo_w, classes, scale, zero_point,
                             mnet_q8_resize_tap(py, lo_h, net_h, mode),
                             mnet_q8_resize_tap(px, lo_w, net_w, mode));
}
