/* Semantic segmentation: the class mask at the caller's image size, straight
 * from the low-resolution logits. Each image pixel is mapped back through
 * the preprocessing into the logit grid and the logits are interpolated
 * bilinearly, as the model's own final resize would; where the four
 * surrounding logit cells agree on their best class, that class wins the
 * interpolation too (a convex combination keeps the order), so only pixels
 * near class boundaries interpolate all channels. The per-pixel work is the
 * kernel table's mask_row; without rotation a pixel's logit column depends
 * on its image column only, so the columns are mapped once per call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "int8/q8_mask.h"    /* int8 hook */
#include "int8/q8_session.h" /* int8 hook */

typedef struct mask_job {
    const mnet_kernels *kernels;
    const float *logits;
    const unsigned char *best;  /* argmax per logit cell */
    int lo_h, lo_w, classes;
    int net_w, net_h;
    int align_corners;
    double ixx, ixy, iyx, iyy, x0, y0; /* inverse of the preprocessing map */
    const int *col_x0, *col_x1;  /* per image column (no rotation), else NULL */
    const float *col_fx;
    uint8_t *mask;
    size_t stride;
    int width, height;
} mask_job;

static double logit_coord(double net, int lo, int net_size, int align_corners) {
    double c;
    if (align_corners)
        c = net_size > 1 ? (net - 0.5) * (lo - 1) / (net_size - 1) : 0.0;
    else
        c = net * lo / net_size - 0.5;
    return c < 0 ? 0 : c > lo - 1 ? lo - 1 : c;
}

/* Cells and weight of the interpolation along one axis. */
static void axis_cells(double coord, int lo, int *c0, int *c1, float *w) {
    int a = (int)coord;
    *c0 = a;
    *c1 = a + 1 < lo ? a + 1 : a;
    *w = (float)(coord - a);
}

/* The logit rows around ly and their weight, into a kernel call. */
static void set_logit_rows(const mask_job *j, double ly, mnet_mask_row *r) {
    int y0, y1;
    axis_cells(ly, j->lo_h, &y0, &y1, &r->fy);
    size_t cells = (size_t)j->lo_w;
    r->top = j->logits + (size_t)y0 * cells * j->classes;
    r->bottom = j->logits + (size_t)y1 * cells * j->classes;
    r->best_top = j->best + (size_t)y0 * cells;
    r->best_bottom = j->best + (size_t)y1 * cells;
}

static void mask_rows(void *arg, int thread, int threads) {
    const mask_job *j = arg;
    int begin = (int)((long long)j->height * thread / threads);
    int end = (int)((long long)j->height * (thread + 1) / threads);
    mnet_mask_row r;
    r.classes = j->classes;
    for (int y = begin; y < end; y++) {
        uint8_t *row = j->mask + (size_t)y * j->stride;
        double dy = y + 0.5 - j->y0;
        if (j->col_x0) {
            set_logit_rows(j, logit_coord(j->iyy * dy, j->lo_h, j->net_h, j->align_corners), &r);
            r.width = j->width;
            r.x0 = j->col_x0;
            r.x1 = j->col_x1;
            r.fx = j->col_fx;
            j->kernels->mask_row(&r, row);
            continue;
        }
        /* rotated: every pixel has its own cells */
        for (int x = 0; x < j->width; x++) {
            double dx = x + 0.5 - j->x0;
            double u = j->ixx * dx + j->ixy * dy, v = j->iyx * dx + j->iyy * dy;
            int c0, c1;
            float fx;
            axis_cells(logit_coord(u, j->lo_w, j->net_w, j->align_corners), j->lo_w, &c0, &c1,
                       &fx);
            set_logit_rows(j, logit_coord(v, j->lo_h, j->net_h, j->align_corners), &r);
            r.width = 1;
            r.x0 = &c0;
            r.x1 = &c1;
            r.fx = &fx;
            j->kernels->mask_row(&r, row + x);
        }
    }
}

mnet_status mnet_segment(mnet_session *session, const mnet_image *image,
                         const mnet_preprocess *preprocess, uint8_t *mask, size_t mask_stride) {
    if (!session) return MNET_ERR_INVALID_ARGUMENT;
    mnet_error_clear(&session->error);
    const mnet_model *m = session->model;
    if (m->config.arch != MNET_ARCH_DEEPLAB_V3)
        return mnet_session_fail(session, MNET_ERR_UNSUPPORTED,
                                 "this model is not a segmenter (architecture %s)",
                                 mnet_arch_name(m->config.arch));
    if (!mask || !image)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT, "image or mask is NULL");
    if (image->width > 0 && mask_stride < (size_t)image->width)
        return mnet_session_fail(session, MNET_ERR_INVALID_ARGUMENT,
                                 "mask stride %zu is less than the image width %d", mask_stride,
                                 image->width);
    mnet_image_transform t;
    mnet_status status = mnet_session_run_image(session, image, preprocess, &t);
    if (status != MNET_OK) return status;
    const mnet_plan *plan = &m->plan;
    const mnet_plan_tensor *lt = &plan->tensors[plan->output];
    if (lt->c < 1 || lt->c > 256)
        return mnet_session_fail(session, MNET_ERR_UNSUPPORTED,
                                 "a mask holds at most 256 classes; this model has %d", lt->c);
    mask_job j;
    j.logits = session->arena + session->offsets[plan->output];
    j.lo_h = lt->h;
    j.lo_w = lt->w;
    j.classes = lt->c;
    size_t cells = (size_t)lt->h * lt->w;
    for (size_t i = 0; i < cells && !session->q8; i++) {
        const float *l = j.logits + i * (size_t)lt->c;
        int best = 0;
        for (int c = 1; c < lt->c; c++)
            if (l[c] > l[best]) best = c;
        session->segment_best[i] = (unsigned char)best;
    }
    j.best = session->segment_best;
    j.net_w = m->input_spec.width;
    j.net_h = m->input_spec.height;
    j.align_corners = m->config.deeplab.align_corners;
    double det = t.xx * t.yy - t.xy * t.yx;
    if (!(fabs(det) > 0))
        return mnet_session_fail(session, MNET_ERR_INTERNAL, "degenerate image transform");
    j.ixx = t.yy / det;
    j.ixy = -t.xy / det;
    j.iyx = -t.yx / det;
    j.iyy = t.xx / det;
    j.x0 = t.x0;
    j.y0 = t.y0;
    j.mask = mask;
    j.stride = mask_stride;
    j.width = image->width;
    j.height = image->height;
    if (session->q8) { /* int8 hook: the model's own uint8 resize and ARG_MAX */
        mnet_q8_mask_job q = {mnet_q8_session_tensor(session->q8, plan->output), j.lo_h, j.lo_w,
                              j.classes, m->q8->quant[plan->output].scale,
                              m->q8->quant[plan->output].zero_point, j.net_w, j.net_h,
                              j.align_corners ? MNET_RESIZE_ALIGN_CORNERS : MNET_RESIZE_HALF_PIXEL,
                              j.ixx, j.ixy, j.iyx, j.iyy, j.x0, j.y0, session->segment_best, mask,
                              mask_stride, image->width, image->height};
        mnet_q8_mask_prepare(&q);
        mnet_threadpool_run(session->pool, mnet_q8_mask_rows, &q);
        return MNET_OK;
    }
    j.kernels = plan->kernels;
    j.col_x0 = j.col_x1 = NULL;
    j.col_fx = NULL;
    void *columns = NULL;
    if (j.ixy == 0 && j.iyx == 0 && j.width > 0) {
        /* no rotation: the logit column of a pixel depends on x only */
        size_t w = (size_t)j.width;
        columns = malloc(w * (2 * sizeof(int) + sizeof(float)));
        if (!columns)
            return mnet_session_fail(session, MNET_ERR_OUT_OF_MEMORY,
                                     "out of memory for the mask columns");
        int *x0 = columns, *x1 = x0 + w;
        float *fx = (float *)(void *)(x1 + w);
        for (size_t x = 0; x < w; x++)
            axis_cells(logit_coord(j.ixx * ((double)x + 0.5 - j.x0), j.lo_w, j.net_w,
                                   j.align_corners),
                       j.lo_w, &x0[x], &x1[x], &fx[x]);
        j.col_x0 = x0;
        j.col_x1 = x1;
        j.col_fx = fx;
    }
    mnet_threadpool_run(session->pool, mask_rows, &j);
    free(columns);
    return MNET_OK;
}
