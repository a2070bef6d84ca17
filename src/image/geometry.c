/* Composition order, from the network input back to the original image:
 *   network pixel --fit--> upright, mirrored image --mirror--> upright image
 *   --undo rotation--> ROI --offset--> original image.
 * Every step is affine, so the product is too; with rotations by multiples
 * of 90 degrees each network axis depends on exactly one source axis. */
#include "image/geometry.h"

#include <math.h>
#include <string.h>

/* x' = m[0] x + m[1] y + m[2];  y' = m[3] x + m[4] y + m[5] */
typedef struct affine {
    double m[6];
} affine;

/* The map "first a, then b". */
static affine affine_then(affine a, affine b) {
    affine r;
    r.m[0] = b.m[0] * a.m[0] + b.m[1] * a.m[3];
    r.m[1] = b.m[0] * a.m[1] + b.m[1] * a.m[4];
    r.m[2] = b.m[0] * a.m[2] + b.m[1] * a.m[5] + b.m[2];
    r.m[3] = b.m[3] * a.m[0] + b.m[4] * a.m[3];
    r.m[4] = b.m[3] * a.m[1] + b.m[4] * a.m[4];
    r.m[5] = b.m[3] * a.m[2] + b.m[4] * a.m[5] + b.m[5];
    return r;
}

static affine affine_make(double xx, double xy, double x0, double yx, double yy, double y0) {
    affine a = {{xx, xy, x0, yx, yy, y0}};
    return a;
}

/* Upright coordinates (u, v) to ROI coordinates for a clockwise rotation
 * that made the ROI (w x h) upright: rotating clockwise by 90 moves the
 * ROI's bottom-left corner to the upright top-left. */
static affine undo_rotation(int rotation, double w, double h) {
    switch (rotation) {
    case 90: return affine_make(0, 1, 0, -1, 0, h);
    case 180: return affine_make(-1, 0, w, 0, -1, h);
    case 270: return affine_make(0, -1, w, 1, 0, 0);
    default: return affine_make(1, 0, 0, 0, 1, 0);
    }
}

static int round_to_int(double v) {
    return (int)floor(v + 0.5);
}

mnet_status mnet_image_geometry_compute(int image_width, int image_height, mnet_rect roi,
                                        int rotation, int mirror, mnet_fit fit,
                                        float crop_fraction, int net_width, int net_height,
                                        mnet_image_geometry *g, mnet_error *error) {
    memset(g, 0, sizeof *g);
    if (roi.width == 0 && roi.height == 0) {
        roi.x = 0;
        roi.y = 0;
        roi.width = image_width;
        roi.height = image_height;
    }
    if (roi.width <= 0 || roi.height <= 0)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "ROI %dx%d is empty (width and height must both be positive, or "
                         "both 0 for the whole image)",
                         roi.width, roi.height);
    if (roi.x < 0 || roi.y < 0 || (long long)roi.x + roi.width > image_width ||
        (long long)roi.y + roi.height > image_height)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "ROI x=%d y=%d %dx%d is not inside the %dx%d image", roi.x, roi.y,
                         roi.width, roi.height, image_width, image_height);
    if (rotation != 0 && rotation != 90 && rotation != 180 && rotation != 270)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "rotation %d: must be 0, 90, 180 or 270 (degrees clockwise)",
                         rotation);
    if (fit != MNET_FIT_CENTER_CROP && fit != MNET_FIT_STRETCH && fit != MNET_FIT_LETTERBOX)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "unknown fit mode %d", (int)fit);
    if (fit == MNET_FIT_CENTER_CROP && !(crop_fraction > 0.0f && crop_fraction <= 1.0f))
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "crop fraction %g: must be in (0, 1]", (double)crop_fraction);

    const double roi_w = roi.width, roi_h = roi.height;
    const int quarter = rotation == 90 || rotation == 270;
    const double up_w = quarter ? roi_h : roi_w, up_h = quarter ? roi_w : roi_h;
    const double nw = net_width, nh = net_height;

    int left = 0, top = 0, right = net_width, bottom = net_height;
    affine fit_map;
    if (fit == MNET_FIT_STRETCH) {
        fit_map = affine_make(up_w / nw, 0, 0, 0, up_h / nh, 0);
    } else if (fit == MNET_FIT_LETTERBOX) {
        /* Whole content pixels, so every network pixel is either image or fill. */
        double scale = fmin(nw / up_w, nh / up_h);
        int cw = round_to_int(up_w * scale), ch = round_to_int(up_h * scale);
        cw = cw < 1 ? 1 : (cw > net_width ? net_width : cw);
        ch = ch < 1 ? 1 : (ch > net_height ? net_height : ch);
        left = (net_width - cw) / 2;
        top = (net_height - ch) / 2;
        right = left + cw;
        bottom = top + ch;
        double sx = up_w / cw, sy = up_h / ch;
        fit_map = affine_make(sx, 0, -left * sx, 0, sy, -top * sy);
    } else {
        /* The crop has the network's aspect ratio and its shorter side is
         * crop_fraction of the image's shorter side; if that would not fit
         * (image and network of opposite orientation), it shrinks until it
         * does. The box is then snapped to whole pixels (size rounded half
         * up, offset rounded down), as the reference evaluation pipelines
         * (TF-slim, PIL/torchvision crops) do, so mnet sees the same pixels
         * they saw. */
        double aspect = nw / nh;
        double shorter = crop_fraction * fmin(up_w, up_h);
        double cw = aspect >= 1.0 ? shorter * aspect : shorter;
        double ch = aspect >= 1.0 ? shorter : shorter / aspect;
        double shrink = fmin(1.0, fmin(up_w / cw, up_h / ch));
        cw = fmax(1.0, fmin(up_w, floor(cw * shrink + 0.5)));
        ch = fmax(1.0, fmin(up_h, floor(ch * shrink + 0.5)));
        fit_map = affine_make(cw / nw, 0, floor((up_w - cw) / 2), 0, ch / nh,
                              floor((up_h - ch) / 2));
    }
    affine mirror_map = mirror ? affine_make(-1, 0, up_w, 0, 1, 0) : affine_make(1, 0, 0, 0, 1, 0);
    affine offset = affine_make(1, 0, roi.x, 0, 1, roi.y);
    affine total = affine_then(affine_then(affine_then(fit_map, mirror_map),
                                           undo_rotation(rotation, roi_w, roi_h)),
                               offset);

    g->roi = roi;
    g->content_left = left;
    g->content_top = top;
    g->content_right = right;
    g->content_bottom = bottom;
    mnet_image_transform *t = &g->transform;
    t->xx = total.m[0];
    t->xy = total.m[1];
    t->x0 = total.m[2];
    t->yx = total.m[3];
    t->yy = total.m[4];
    t->y0 = total.m[5];
    t->content_left = left;
    t->content_top = top;
    t->content_right = right;
    t->content_bottom = bottom;
    return MNET_OK;
}
