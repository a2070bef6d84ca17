/* uint8 DeepLab masks (see q8_mask.h). */
#include "int8/q8_mask.h"

#include <math.h>

#include "int8/q8_ops.h"

#define NOT_SURE 255

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

/* The class of network pixel (px, py): the class of its four logit cells
 * when they agree surely, else the full interpolation. */
static int pixel_class(const mnet_q8_mask_job *j, int px, int py, float sx, float sy) {
    mnet_q8_tap ty = mnet_q8_axis_tap(py, j->lo_h, sy, j->mode);
    mnet_q8_tap tx = mnet_q8_axis_tap(px, j->lo_w, sx, j->mode);
    const uint8_t *r0 = j->cell_best + (size_t)ty.i0 * j->lo_w;
    const uint8_t *r1 = j->cell_best + (size_t)ty.i1 * j->lo_w;
    int k = r0[tx.i0];
    if (k != NOT_SURE && r0[tx.i1] == k && r1[tx.i0] == k && r1[tx.i1] == k) return k;
    return mnet_q8_argmax_at(j->logits, j->lo_w, j->classes, j->scale, j->zero_point, ty, tx);
}

void mnet_q8_mask_rows(void *arg, int thread, int threads) {
    const mnet_q8_mask_job *j = arg;
    int begin = (int)((long long)j->height * thread / threads);
    int end = (int)((long long)j->height * (thread + 1) / threads);
    float sx = mnet_q8_axis_scale(j->lo_w, j->net_w, j->mode);
    float sy = mnet_q8_axis_scale(j->lo_h, j->net_h, j->mode);
    for (int y = begin; y < end; y++) {
        uint8_t *row = j->mask + (size_t)y * j->stride;
        double dy = y + 0.5 - j->y0;
        for (int x = 0; x < j->width; x++) {
            double dx = x + 0.5 - j->x0;
            double u = j->ixx * dx + j->ixy * dy, v = j->iyx * dx + j->iyy * dy;
            int px = (int)floor(u), py = (int)floor(v);
            px = px < 0 ? 0 : px >= j->net_w ? j->net_w - 1 : px;
            py = py < 0 ? 0 : py >= j->net_h ? j->net_h - 1 : py;
            row[x] = (uint8_t)pixel_class(j, px, py, sx, sy);
        }
    }
}
