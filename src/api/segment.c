/* Semantic segmentation: the class mask at the caller's image size, straight
 * from the low-resolution logits. Each image pixel is mapped back through
 * the preprocessing into the logit grid and the logits are interpolated
 * bilinearly, as the model's own final resize would; where the four
 * surrounding logit cells agree on their best class, that class wins the
 * interpolation too (a convex combination keeps the order), so only pixels
 * near class boundaries interpolate all channels. */
#include <math.h>
#include <string.h>

#include "api/model_internal.h"

typedef struct mask_job {
    const float *logits;
    const unsigned char *best;  /* argmax per logit cell */
    int lo_h, lo_w, classes;
    int net_w, net_h;
    int align_corners;
    double ixx, ixy, iyx, iyy, x0, y0; /* inverse of the preprocessing map */
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

static uint8_t pixel_class(const mask_job *j, double sx, double sy) {
    double dx = sx - j->x0, dy = sy - j->y0;
    double u = j->ixx * dx + j->ixy * dy, v = j->iyx * dx + j->iyy * dy;
    double lx = logit_coord(u, j->lo_w, j->net_w, j->align_corners);
    double ly = logit_coord(v, j->lo_h, j->net_h, j->align_corners);
    int x0 = (int)lx, y0 = (int)ly;
    int x1 = x0 + 1 < j->lo_w ? x0 + 1 : x0, y1 = y0 + 1 < j->lo_h ? y0 + 1 : y0;
    size_t c00 = (size_t)y0 * j->lo_w + x0, c01 = (size_t)y0 * j->lo_w + x1;
    size_t c10 = (size_t)y1 * j->lo_w + x0, c11 = (size_t)y1 * j->lo_w + x1;
    uint8_t k = j->best[c00];
    if (j->best[c01] == k && j->best[c10] == k && j->best[c11] == k) return k;
    float fx = (float)(lx - x0), fy = (float)(ly - y0);
    const float *a = j->logits + c00 * j->classes, *b = j->logits + c01 * j->classes;
    const float *c = j->logits + c10 * j->classes, *d = j->logits + c11 * j->classes;
    int best = 0;
    float best_v = -INFINITY;
    for (int i = 0; i < j->classes; i++) {
        float top = a[i] + (b[i] - a[i]) * fx;
        float bottom = c[i] + (d[i] - c[i]) * fx;
        float v = top + (bottom - top) * fy;
        if (v > best_v) {
            best_v = v;
            best = i;
        }
    }
    return (uint8_t)best;
}

static void mask_rows(void *arg, int thread, int threads) {
    const mask_job *j = arg;
    int begin = (int)((long long)j->height * thread / threads);
    int end = (int)((long long)j->height * (thread + 1) / threads);
    for (int y = begin; y < end; y++) {
        uint8_t *row = j->mask + (size_t)y * j->stride;
        for (int x = 0; x < j->width; x++) row[x] = pixel_class(j, x + 0.5, y + 0.5);
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
    mask_job j;
    j.logits = session->arena + session->offsets[plan->output];
    j.lo_h = lt->h;
    j.lo_w = lt->w;
    j.classes = lt->c;
    size_t cells = (size_t)lt->h * lt->w;
    for (size_t i = 0; i < cells; i++) {
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
    mnet_threadpool_run(session->pool, mask_rows, &j);
    return MNET_OK;
}
