/* mnet_image_to_input: geometry, then one separable resampling pass that
 * reads the source directly, then channel order and normalization.
 *
 * Resampling follows PIL's Image.resize(BILINEAR) (and torchvision's
 * antialiased bilinear): output pixel k along an axis is centred at source
 * coordinate c = a (k + 0.5) + b; its taps are the source pixels p whose
 * centres p + 0.5 lie within the triangle of half-width max(1, |a|) around
 * c, weighted by the triangle and renormalized over the taps inside the
 * ROI. Upsampling is therefore plain bilinear with replicated edges, and
 * shrinking averages over the whole footprint instead of aliasing.
 *
 * The network axis that maps to source rows is walked in the outer loop:
 * for each of its pixels the vertical taps are computed, and each source
 * row they name is filtered horizontally straight into a row accumulator.
 * Scratch is thus a function of the network size only. */
#include "image/preprocess.h"

#include <math.h>
#include <string.h>

#include "image/geometry.h"
#include "image/pixel_source.h"

/* Per network pixel along the longer network side: tap descriptors plus a
 * 3-channel accumulator. */
enum { SCRATCH_FLOATS_PER_PIXEL = MNET_TAP_FLOATS + 3 };

size_t mnet_image_scratch_floats(const mnet_input_spec *spec) {
    if (!spec || spec->width <= 0 || spec->height <= 0) return 0;
    size_t longer = (size_t)(spec->width > spec->height ? spec->width : spec->height);
    return longer * SCRATCH_FLOATS_PER_PIXEL;
}

/* One axis of the resampling: output index k -> source centre a (k+0.5) + b,
 * taps restricted to source pixels [lo, hi). */
typedef struct axis_map {
    double a, b;
    int lo, hi;
    double filter_scale;
} axis_map;

static axis_map axis_make(double a, double b, int lo, int hi) {
    axis_map m = {a, b, lo, hi, fmax(1.0, fabs(a))};
    return m;
}

/* Fills the four-float tap descriptor of output index k (see pixel_source.h). */
static void axis_taps(const axis_map *m, int k, float *tap) {
    double centre = m->a * (k + 0.5) + m->b;
    double support = m->filter_scale;
    double first_d = floor(centre - support + 0.5), end_d = floor(centre + support + 0.5);
    int first = first_d < m->lo ? m->lo : (first_d > m->hi - 1 ? m->hi - 1 : (int)first_d);
    int end = end_d > m->hi ? m->hi : (end_d < first + 1 ? first + 1 : (int)end_d);
    double inv_fs = 1.0 / support, offset = centre - first, sum = 0.0;
    for (int t = 0; t < end - first; t++) {
        /* Same float arithmetic as the readers, so the weights they use sum
         * to exactly what is normalized here. */
        float w = 1.0f - fabsf(((float)t + 0.5f - (float)offset) * (float)inv_fs);
        if (w > 0.0f) sum += w;
    }
    tap[0] = (float)first;
    tap[1] = (float)(end - first);
    tap[2] = (float)offset;
    tap[3] = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
}

static int resolve_fit(const mnet_preprocess *pp, const mnet_input_spec *spec,
                       mnet_fit *fit, float *crop_fraction, mnet_error *error) {
    *fit = spec->fit;
    *crop_fraction = spec->crop_fraction;
    if (pp->fit != MNET_FIT_MODEL_DEFAULT) {
        if (pp->fit != MNET_FIT_CENTER_CROP && pp->fit != MNET_FIT_STRETCH &&
            pp->fit != MNET_FIT_LETTERBOX) {
            mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "unknown fit mode %d", (int)pp->fit);
            return 0;
        }
        *fit = pp->fit;
    }
    if (pp->crop_fraction != 0.0f) {
        if (!(pp->crop_fraction > 0.0f && pp->crop_fraction <= 1.0f)) {
            mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "crop fraction %g: must be in (0, 1]",
                      (double)pp->crop_fraction);
            return 0;
        }
        *crop_fraction = pp->crop_fraction;
    }
    return 1;
}

static mnet_status check_spec(const mnet_input_spec *spec, mnet_error *error) {
    if (!spec) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "input spec is NULL");
    if (spec->width <= 0 || spec->height <= 0 || spec->width > MNET_IMAGE_MAX_SIDE ||
        spec->height > MNET_IMAGE_MAX_SIDE)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "network input size %dx%d: each side must be in 1..%d", spec->width,
                         spec->height, MNET_IMAGE_MAX_SIDE);
    for (int c = 0; c < 3; c++)
        if (!isfinite(spec->mean[c]) || !isfinite(spec->std[c]) || spec->std[c] == 0.0f)
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "input normalization of channel %d: mean %g, std %g (need "
                             "finite values and a non-zero std)",
                             c, (double)spec->mean[c], (double)spec->std[c]);
    return MNET_OK;
}

mnet_status mnet_image_to_input(const mnet_image *image, const mnet_preprocess *preprocess,
                                const mnet_input_spec *spec, float *out, float *scratch,
                                size_t scratch_floats, mnet_image_transform *transform,
                                mnet_error *error) {
    mnet_status st = check_spec(spec, error);
    if (st != MNET_OK) return st;
    if (!out) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "output tensor is NULL");
    size_t need = mnet_image_scratch_floats(spec);
    if (!scratch || scratch_floats < need)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "preprocessing scratch holds %zu floats%s, %zu needed for a %dx%d "
                         "input",
                         scratch ? scratch_floats : (size_t)0, scratch ? "" : " (NULL)", need,
                         spec->width, spec->height);
    mnet_preprocess defaults;
    mnet_preprocess_init(&defaults);
    const mnet_preprocess *pp = preprocess ? preprocess : &defaults;

    mnet_pixel_source src;
    st = mnet_pixel_source_init(&src, image, pp->yuv_matrix, pp->yuv_range, error);
    if (st != MNET_OK) return st;
    mnet_fit fit;
    float crop_fraction;
    if (!resolve_fit(pp, spec, &fit, &crop_fraction, error)) return MNET_ERR_INVALID_ARGUMENT;
    for (int c = 0; c < 3; c++)
        if (!isfinite(pp->fill[c]))
            return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                             "letterbox fill of channel %d is not finite", c);
    mnet_image_geometry g;
    st = mnet_image_geometry_compute(src.width, src.height, pp->roi, pp->rotation, pp->mirror,
                                     fit, crop_fraction, spec->width, spec->height, &g, error);
    if (st != MNET_OK) return st;
    if (transform) *transform = g.transform;

    /* Outer network axis: the one that maps to source rows. */
    const mnet_image_transform *t = &g.transform;
    const int outer_is_y = pp->rotation == 0 || pp->rotation == 180;
    const mnet_rect roi = g.roi;
    axis_map outer, inner;
    int outer_n, inner_n, outer_lo, outer_hi, inner_lo, inner_hi;
    size_t outer_step, inner_step; /* floats between neighbours in out */
    if (outer_is_y) {
        outer = axis_make(t->yy, t->y0, roi.y, roi.y + roi.height);
        inner = axis_make(t->xx, t->x0, roi.x, roi.x + roi.width);
        outer_n = spec->height;
        inner_n = spec->width;
        outer_lo = g.content_top, outer_hi = g.content_bottom;
        inner_lo = g.content_left, inner_hi = g.content_right;
        outer_step = (size_t)spec->width * 3;
        inner_step = 3;
    } else {
        outer = axis_make(t->yx, t->y0, roi.y, roi.y + roi.height);
        inner = axis_make(t->xy, t->x0, roi.x, roi.x + roi.width);
        outer_n = spec->width;
        inner_n = spec->height;
        outer_lo = g.content_left, outer_hi = g.content_right;
        inner_lo = g.content_top, inner_hi = g.content_bottom;
        outer_step = 3;
        inner_step = (size_t)spec->width * 3;
    }

    /* Network channel c reads image channel order[c]. */
    const int order[3] = {spec->bgr ? 2 : 0, 1, spec->bgr ? 0 : 2};
    float fill[3];
    for (int c = 0; c < 3; c++) fill[c] = (pp->fill[order[c]] - spec->mean[c]) / spec->std[c];

    float *taps = scratch;
    float *acc = scratch + (size_t)(outer_n > inner_n ? outer_n : inner_n) * MNET_TAP_FLOATS;
    for (int k = inner_lo; k < inner_hi; k++) axis_taps(&inner, k, taps + (size_t)k * MNET_TAP_FLOATS);
    const float inner_inv_fs = (float)(1.0 / inner.filter_scale);
    const float outer_inv_fs = (float)(1.0 / outer.filter_scale);

    for (int o = 0; o < outer_n; o++) {
        float *line = out + (size_t)o * outer_step;
        const int has_content = o >= outer_lo && o < outer_hi;
        if (has_content) {
            float vtap[MNET_TAP_FLOATS];
            axis_taps(&outer, o, vtap);
            float *row_acc = acc + (size_t)inner_lo * 3;
            memset(row_acc, 0, sizeof(float) * 3 * (size_t)(inner_hi - inner_lo));
            const int first = (int)vtap[0], n = (int)vtap[1];
            for (int r = 0; r < n; r++) {
                float w = 1.0f - fabsf(((float)r + 0.5f - vtap[2]) * outer_inv_fs);
                if (w <= 0.0f) continue;
                mnet_pixel_source_accumulate_row(&src, first + r,
                                                 taps + (size_t)inner_lo * MNET_TAP_FLOATS,
                                                 inner_hi - inner_lo, inner_inv_fs,
                                                 w * vtap[3], row_acc);
            }
        }
        for (int k = 0; k < inner_n; k++) {
            float *px = line + (size_t)k * inner_step;
            if (has_content && k >= inner_lo && k < inner_hi) {
                const float *v = acc + (size_t)k * 3;
                for (int c = 0; c < 3; c++) px[c] = (v[order[c]] - spec->mean[c]) / spec->std[c];
            } else {
                for (int c = 0; c < 3; c++) px[c] = fill[c];
            }
        }
    }
    return MNET_OK;
}
