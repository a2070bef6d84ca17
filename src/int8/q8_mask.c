/* uint8 DeepLab masks (see q8_mask.h). Each float operation is its own
 * statement, as in q8_ops_ref.c, so that no compiler fuses a multiply and an
 * add: the reference rounds after each. */
#include "int8/q8_mask.h"

#include <math.h>
#include <string.h>

#include "int8/q8_ops.h"
#include "kernels/cpu_features.h"

#define NOT_SURE 255

/* Image columns handled together without rotation: their taps and the
 * logits interpolated along x live on the stack (2 rows x 32 classes x
 * 128 floats = 32 KiB). */
#define COLUMN_CHUNK 128
#define BLOCK 16
#define BLOCKS (COLUMN_CHUNK / BLOCK)
#define MAX_BLOCK_CLASSES 32

/* Arm NN's lerp(a, b, w) = w * b + (1 - w) * a, rounded as q8_ops_ref.c. */
static inline float lerp(float a, float b, float w) {
    float wb = w * b;
    float rest = 1.0f - w;
    float ra = rest * a;
    return wb + ra;
}

/* mnet_q8_quantize inlined, with truncf as a round trip through int32
 * (exact below 2^23; larger magnitudes are integers already); a -0 where
 * truncf gives -0 and this +0 changes neither the remainder nor the sum
 * with the zero point. */
static inline int quantize(float v, float scale, int32_t zero_point) {
    float scaled = v / scale;
    float t = fabsf(scaled) < 8388608.0f ? (float)(int32_t)scaled : scaled;
    float rest = scaled - t;
    if (rest >= 0.5f)
        t = t + 1.0f;
    else if (rest <= -0.5f)
        t = t - 1.0f;
    float q = t + (float)zero_point;
    return q < 0.0f ? 0 : q > 255.0f ? 255 : (int)q;
}

/* Per pixel: the interpolated value of every class first; the
 * quantization is monotonic, so the largest value gives the largest uint8
 * value q, and only classes within a step and a quarter of it can also
 * reach q (float error is ~1e-4 steps); the first of those that does wins. */
void mnet_q8_mask_block_scalar(const float *top, const float *bottom, size_t stride, int classes,
                               int count, float wy, float scale, int32_t zero_point,
                               uint8_t *out) {
    float v[MAX_BLOCK_CLASSES];
    for (int u = 0; u < count; u++) {
        float v_max = -INFINITY;
        for (int k = 0; k < classes && k < MAX_BLOCK_CLASSES; k++) {
            v[k] = lerp(top[(size_t)k * stride + u], bottom[(size_t)k * stride + u], wy);
            v_max = v[k] > v_max ? v[k] : v_max;
        }
        int q_max = quantize(v_max, scale, zero_point);
        float steps_below = (float)(q_max - zero_point) - 1.25f;
        float lower = q_max > 0 ? steps_below * scale : -INFINITY; /* 0: clamped from below */
        int best = 0;
        for (int k = 0; k < classes && k < MAX_BLOCK_CLASSES; k++)
            if (v[k] >= lower && quantize(v[k], scale, zero_point) == q_max) {
                best = k;
                break;
            }
        out[u] = (uint8_t)best;
    }
}

mnet_q8_mask_kernels mnet_q8_mask_kernels_select(int allow_avx512) {
    mnet_q8_mask_kernels k = {mnet_q8_argmax_at, mnet_q8_mask_block_scalar};
    if (allow_avx512 && mnet_q8_mask_avx512_compiled()) {
        mnet_cpu_features f = mnet_cpu_features_detect();
        if (mnet_cpu_can_run_avx512(&f) && f.avx512bw && f.avx512vl && f.avx512dq) {
            k.argmax = mnet_q8_mask_argmax_avx512;
            k.block = mnet_q8_mask_block_avx512;
        }
    }
    return k;
}

void mnet_q8_mask_prepare(mnet_q8_mask_job *j) {
    size_t cells = (size_t)j->lo_h * j->lo_w;
    for (size_t i = 0; i < cells; i++) {
        const uint8_t *l = j->logits + i * (size_t)j->classes;
        int best = 0, second = -1;
        for (int c = 1; c < j->classes; c++) {
            if (l[c] > l[best]) {
                second = l[best];
                best = c;
            } else if (l[c] > second) {
                second = l[c];
            }
        }
        /* a class better by two steps at all four corners stays strictly
         * best after interpolation and rounding (the interpolated difference
         * is at least two steps less float error) */
        int sure = j->classes < NOT_SURE && (j->classes == 1 || l[best] - second >= 2);
        j->cell_best[i] = (uint8_t)(sure ? best : NOT_SURE);
    }
}

/* The network pixel image pixel (x, y) falls in, clamped to the network. */
static void network_pixel(const mnet_q8_mask_job *j, int x, int y, int *px, int *py) {
    double dy = y + 0.5 - j->y0, dx = x + 0.5 - j->x0;
    double u = j->ixx * dx + j->ixy * dy, v = j->iyx * dx + j->iyy * dy;
    int ix = (int)floor(u), iy = (int)floor(v);
    *px = ix < 0 ? 0 : ix >= j->net_w ? j->net_w - 1 : ix;
    *py = iy < 0 ? 0 : iy >= j->net_h ? j->net_h - 1 : iy;
}

/* The class of the four logit cells of taps (ty, tx) when they agree
 * surely, else NOT_SURE. r0/r1: cell_best rows ty.i0/ty.i1. */
static inline int sure_class(const uint8_t *r0, const uint8_t *r1, mnet_q8_tap tx) {
    int k = r0[tx.i0];
    return k != NOT_SURE && r0[tx.i1] == k && r1[tx.i0] == k && r1[tx.i1] == k ? k : NOT_SURE;
}

/* Any transform: each pixel mapped on its own; neighbours that fall in the
 * same network pixel share its class. */
static void rows_per_pixel(const mnet_q8_mask_job *j, mnet_q8_mask_argmax_fn argmax, int begin,
                           int end, float sx, float sy) {
    int last_px = -1, last_py = -1, last_k = 0;
    for (int y = begin; y < end; y++) {
        uint8_t *row = j->mask + (size_t)y * j->stride;
        for (int x = 0; x < j->width; x++) {
            int px, py;
            network_pixel(j, x, y, &px, &py);
            if (px != last_px || py != last_py) {
                mnet_q8_tap ty = mnet_q8_axis_tap(py, j->lo_h, sy, j->mode);
                mnet_q8_tap tx = mnet_q8_axis_tap(px, j->lo_w, sx, j->mode);
                const uint8_t *r0 = j->cell_best + (size_t)ty.i0 * j->lo_w;
                const uint8_t *r1 = j->cell_best + (size_t)ty.i1 * j->lo_w;
                last_k = sure_class(r0, r1, tx);
                if (last_k == NOT_SURE)
                    last_k = argmax(j->logits, j->lo_w, j->classes, j->scale, j->zero_point, ty,
                                    tx);
                last_px = px;
                last_py = py;
            }
            row[x] = (uint8_t)last_k;
        }
    }
}

/* One chunk of image columns without rotation: the distinct network
 * columns they sample (col_of: image column -> distinct column), and per
 * logit row the logits interpolated along x at those columns, class-major,
 * filled a block of 16 columns at a time when a pixel needs it. */
typedef struct column_chunk {
    int n, distinct;
    int col_of[COLUMN_CHUNK];
    mnet_q8_tap tap[COLUMN_CHUNK];
    int row_of[2];            /* logit row held in each slot, -1: none */
    uint8_t ready[2][BLOCKS]; /* block filled for that row */
    float along_x[2][MAX_BLOCK_CLASSES * COLUMN_CHUNK];
} column_chunk;

static int slot_for_row(column_chunk *c, int row, int keep) {
    if (c->row_of[0] == row) return 0;
    if (c->row_of[1] == row) return 1;
    int s = c->row_of[0] == keep ? 1 : 0;
    c->row_of[s] = row;
    memset(c->ready[s], 0, sizeof c->ready[s]);
    return s;
}

static void fill_along_x(const mnet_q8_mask_job *j, column_chunk *c, int slot, int row, int block,
                         const float dequantized[256]) {
    const uint8_t *logit_row = j->logits + (size_t)row * j->lo_w * j->classes;
    int u_end = (block + 1) * BLOCK < c->distinct ? (block + 1) * BLOCK : c->distinct;
    for (int u = block * BLOCK; u < u_end; u++) {
        const uint8_t *a = logit_row + (size_t)c->tap[u].i0 * j->classes;
        const uint8_t *b = logit_row + (size_t)c->tap[u].i1 * j->classes;
        for (int k = 0; k < j->classes; k++)
            c->along_x[slot][k * COLUMN_CHUNK + u] =
                lerp(dequantized[a[k]], dequantized[b[k]], c->tap[u].w);
    }
    c->ready[slot][block] = 1;
}

/* No rotation (ixy == iyx == 0): the network column of a pixel depends on x
 * only and the row on y only (the zero term adds a signed zero, which floor
 * does not see), so an image row that falls in the network row of the one
 * above is a copy of it. */
static void rows_axis_aligned(const mnet_q8_mask_job *j, mnet_q8_mask_block_fn block_kernel,
                              int begin, int end, float sx, float sy) {
    column_chunk c;
    float dequantized[256];
    for (int q = 0; q < 256; q++)
        dequantized[q] = mnet_q8_dequantize((uint8_t)q, j->scale, j->zero_point);
    for (int x0 = 0; x0 < j->width; x0 += COLUMN_CHUNK) {
        c.n = j->width - x0 < COLUMN_CHUNK ? j->width - x0 : COLUMN_CHUNK;
        c.distinct = 0;
        int last_px = -1;
        for (int i = 0; i < c.n; i++) {
            int px, py_unused;
            network_pixel(j, x0 + i, begin, &px, &py_unused);
            if (px != last_px) {
                c.tap[c.distinct++] = mnet_q8_axis_tap(px, j->lo_w, sx, j->mode);
                last_px = px;
            }
            c.col_of[i] = c.distinct - 1;
        }
        c.row_of[0] = c.row_of[1] = -1;
        int last_py = -1;
        const uint8_t *last_row = NULL;
        for (int y = begin; y < end; y++) {
            uint8_t *row = j->mask + (size_t)y * j->stride + x0;
            int px_unused, py;
            network_pixel(j, x0, y, &px_unused, &py);
            if (py == last_py) {
                memcpy(row, last_row, (size_t)c.n);
                continue;
            }
            last_py = py;
            last_row = row;
            mnet_q8_tap ty = mnet_q8_axis_tap(py, j->lo_h, sy, j->mode);
            const uint8_t *r0 = j->cell_best + (size_t)ty.i0 * j->lo_w;
            const uint8_t *r1 = j->cell_best + (size_t)ty.i1 * j->lo_w;
            uint8_t needed[BLOCKS] = {0};
            int any = 0;
            for (int i = 0; i < c.n; i++) {
                int k = sure_class(r0, r1, c.tap[c.col_of[i]]);
                row[i] = (uint8_t)k;
                if (k == NOT_SURE) {
                    needed[c.col_of[i] / BLOCK] = 1;
                    any = 1;
                }
            }
            if (!any) continue;
            uint8_t classes_of[COLUMN_CHUNK];
            int s0 = slot_for_row(&c, ty.i0, ty.i1);
            int s1 = slot_for_row(&c, ty.i1, ty.i0);
            for (int b = 0; b < BLOCKS; b++) {
                if (!needed[b]) continue;
                if (!c.ready[s0][b]) fill_along_x(j, &c, s0, ty.i0, b, dequantized);
                if (!c.ready[s1][b]) fill_along_x(j, &c, s1, ty.i1, b, dequantized);
                int count = c.distinct - b * BLOCK < BLOCK ? c.distinct - b * BLOCK : BLOCK;
                block_kernel(c.along_x[s0] + b * BLOCK, c.along_x[s1] + b * BLOCK, COLUMN_CHUNK,
                             j->classes, count, ty.w, j->scale, j->zero_point,
                             classes_of + b * BLOCK);
            }
            for (int i = 0; i < c.n; i++)
                if (row[i] == NOT_SURE) row[i] = classes_of[c.col_of[i]];
        }
    }
}

void mnet_q8_mask_rows(void *arg, int thread, int threads) {
    mnet_q8_mask_kernels k = mnet_q8_mask_kernels_select(1);
    mnet_q8_mask_rows_with(arg, &k, thread, threads);
}

void mnet_q8_mask_rows_with(const mnet_q8_mask_job *j, const mnet_q8_mask_kernels *kernels,
                            int thread, int threads) {
    int begin = (int)((long long)j->height * thread / threads);
    int end = (int)((long long)j->height * (thread + 1) / threads);
    if (begin >= end || j->width <= 0) return;
    float sx = mnet_q8_axis_scale(j->lo_w, j->net_w, j->mode);
    float sy = mnet_q8_axis_scale(j->lo_h, j->net_h, j->mode);
    if (j->ixy == 0 && j->iyx == 0 && j->classes <= MAX_BLOCK_CLASSES)
        rows_axis_aligned(j, kernels->block, begin, end, sx, sy);
    else
        rows_per_pixel(j, kernels->argmax, begin, end, sx, sy);
}
