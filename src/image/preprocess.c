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
 * The network axis that maps to source rows is the outer one (with a
 * rotation by 90 or 270 that is the network's x axis, written with a
 * stride). Source rows are filtered horizontally as they are read, straight
 * from the caller's pixels, and added into the network lines that need
 * them; tap tables are per network pixel. Scratch is thus a function of the
 * network size only, never of the source size. */
#include "image/preprocess.h"

#include <math.h>
#include <string.h>

#include "image/geometry.h"
#include "image/pixel_source.h"
#include "image/row_kernels.h"

/* Network lines accumulated at once while shrinking (see streaming_fits). */
enum { STREAM_LINES = 5 };

/* Per network pixel along the longer network side: tap descriptors for both
 * axes, one filtered source row and the network lines in progress. */
enum { SCRATCH_FLOATS_PER_PIXEL = 2 * MNET_TAP_FLOATS + 3 + STREAM_LINES * 3 };

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

/* Everything the resampling loops need, resolved once. */
typedef struct resample_plan {
    const mnet_pixel_source *src;
    const mnet_image_row_kernels *kernels;
    float *out;
    axis_map outer, inner;     /* outer: network axis along source rows */
    int outer_n, inner_n;      /* network pixels along each axis */
    int outer_lo, outer_hi, inner_lo, inner_hi; /* content ranges */
    size_t outer_step, inner_step; /* floats between neighbours in out */
    const float *inner_taps, *outer_taps; /* indexed by network pixel */
    float outer_inv_fs, inner_inv_fs;
    int order[3];              /* network channel c = image channel order[c] */
    float mean[3], std[3], fill[3]; /* fill already normalized */
} resample_plan;

/* Writes network line o: acc[3k..] (image RGB) for content pixels, fill
 * elsewhere; acc NULL = the whole line is fill. */
static void write_line(const resample_plan *p, int o, const float *acc) {
    float *line = p->out + (size_t)o * p->outer_step;
    const int contiguous_rgb = p->inner_step == 3 && p->order[0] == 0 && p->order[2] == 2;
    for (int k = 0; k < p->inner_n; k++) {
        if (acc && contiguous_rgb && k == p->inner_lo && p->inner_hi > k) {
            p->kernels->normalize_rgb(acc + (size_t)k * 3, line + (size_t)k * 3,
                                      (size_t)(p->inner_hi - k), p->mean, p->std);
            k = p->inner_hi - 1;
            continue;
        }
        float *px = line + (size_t)k * p->inner_step;
        if (acc && k >= p->inner_lo && k < p->inner_hi) {
            const float *v = acc + (size_t)k * 3;
            for (int c = 0; c < 3; c++) px[c] = (v[p->order[c]] - p->mean[c]) / p->std[c];
        } else {
            for (int c = 0; c < 3; c++) px[c] = p->fill[c];
        }
    }
}

static float outer_weight(const resample_plan *p, const float *tap, int row) {
    float w = 1.0f - fabsf(((float)(row - (int)tap[0]) + 0.5f - tap[2]) * p->outer_inv_fs);
    return w > 0.0f ? w * tap[3] : 0.0f;
}

/* Each network line gathers its source rows itself; source rows shared by
 * neighbouring lines are filtered again. Used when enlarging, where a line
 * needs only two or three rows. */
static void resample_direct(const resample_plan *p, float *acc) {
    const size_t lo = (size_t)p->inner_lo, n = (size_t)(p->inner_hi - p->inner_lo);
    for (int o = p->outer_lo; o < p->outer_hi; o++) {
        const float *tap = p->outer_taps + (size_t)o * MNET_TAP_FLOATS;
        memset(acc + lo * 3, 0, sizeof(float) * 3 * n);
        for (int r = (int)tap[0]; r < (int)tap[0] + (int)tap[1]; r++) {
            float w = outer_weight(p, tap, r);
            if (w == 0.0f) continue;
            p->kernels->accumulate_row(p->src, r, p->inner_taps + lo * MNET_TAP_FLOATS, (int)n,
                                       p->inner_inv_fs, w, acc + lo * 3);
        }
        write_line(p, o, acc);
    }
}

/* Content line number i in the order in which their source rows begin
 * (descending network order when the axis is flipped). */
static int line_at(const resample_plan *p, int i) {
    return p->outer.a >= 0.0 ? p->outer_lo + i : p->outer_hi - 1 - i;
}

/* Whether at most STREAM_LINES network lines ever need the same source row,
 * as when shrinking: the filter support grows with the shrink factor, so
 * a source row falls under two or three lines at most. */
static int streaming_fits(const resample_plan *p) {
    int m = p->outer_hi - p->outer_lo, oldest = 0;
    for (int i = 0; i < m; i++) {
        int first = (int)p->outer_taps[(size_t)line_at(p, i) * MNET_TAP_FLOATS];
        while (oldest < i) {
            const float *t = p->outer_taps + (size_t)line_at(p, oldest) * MNET_TAP_FLOATS;
            if ((int)t[0] + (int)t[1] > first) break;
            oldest++;
        }
        if (i - oldest + 1 > STREAM_LINES) return 0;
    }
    return 1;
}

/* Walks the source rows once: each is filtered horizontally into `row` and
 * added to the (at most STREAM_LINES) network lines whose taps include it;
 * a line is written out as soon as its last row is in. */
static void resample_streaming(const resample_plan *p, float *row, float *lines) {
    const size_t lo = (size_t)p->inner_lo, n = (size_t)(p->inner_hi - p->inner_lo);
    const size_t line_floats = (size_t)p->inner_n * 3;
    const int m = p->outer_hi - p->outer_lo;
    if (m <= 0) return;
    const float *first_tap = p->outer_taps + (size_t)line_at(p, 0) * MNET_TAP_FLOATS;
    const float *last_tap = p->outer_taps + (size_t)line_at(p, m - 1) * MNET_TAP_FLOATS;
    int started = 0, finished = 0;
    for (int r = (int)first_tap[0]; r < (int)last_tap[0] + (int)last_tap[1]; r++) {
        while (started < m &&
               (int)p->outer_taps[(size_t)line_at(p, started) * MNET_TAP_FLOATS] <= r) {
            memset(lines + (size_t)(started % STREAM_LINES) * line_floats + lo * 3, 0,
                   sizeof(float) * 3 * n);
            started++;
        }
        if (finished < started) {
            memset(row + lo * 3, 0, sizeof(float) * 3 * n);
            p->kernels->accumulate_row(p->src, r, p->inner_taps + lo * MNET_TAP_FLOATS, (int)n,
                                       p->inner_inv_fs, 1.0f, row + lo * 3);
            for (int i = finished; i < started; i++) {
                const float *tap = p->outer_taps + (size_t)line_at(p, i) * MNET_TAP_FLOATS;
                if (r >= (int)tap[0] + (int)tap[1]) continue;
                float w = outer_weight(p, tap, r);
                if (w == 0.0f) continue;
                float *acc = lines + (size_t)(i % STREAM_LINES) * line_floats;
                p->kernels->add_scaled(acc + lo * 3, row + lo * 3, w, n * 3);
            }
        }
        while (finished < started) {
            int o = line_at(p, finished);
            const float *tap = p->outer_taps + (size_t)o * MNET_TAP_FLOATS;
            if ((int)tap[0] + (int)tap[1] > r + 1) break;
            write_line(p, o, lines + (size_t)(finished % STREAM_LINES) * line_floats);
            finished++;
        }
    }
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
    if (spec->fit != MNET_FIT_CENTER_CROP && spec->fit != MNET_FIT_STRETCH &&
        spec->fit != MNET_FIT_LETTERBOX)
        return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT,
                         "the model's default fit mode %d is not center crop, stretch or "
                         "letterbox",
                         (int)spec->fit);
    return MNET_OK;
}

mnet_status mnet_image_to_input(const mnet_image *image, const mnet_preprocess *preprocess,
                                const mnet_input_spec *spec, float *out, float *scratch,
                                size_t scratch_floats, mnet_image_transform *transform,
                                mnet_error *error) {
    return mnet_image_to_input_with(mnet_image_row_kernels_select(), image, preprocess, spec,
                                    out, scratch, scratch_floats, transform, error);
}

mnet_status mnet_image_to_input_with(const mnet_image_row_kernels *kernels,
                                     const mnet_image *image, const mnet_preprocess *preprocess,
                                     const mnet_input_spec *spec, float *out, float *scratch,
                                     size_t scratch_floats, mnet_image_transform *transform,
                                     mnet_error *error) {
    if (!kernels) return mnet_fail(error, MNET_ERR_INVALID_ARGUMENT, "row kernels are NULL");
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

    resample_plan plan;
    plan.src = &src;
    plan.kernels = kernels;
    plan.out = out;
    plan.outer = outer;
    plan.inner = inner;
    plan.outer_n = outer_n, plan.inner_n = inner_n;
    plan.outer_lo = outer_lo, plan.outer_hi = outer_hi;
    plan.inner_lo = inner_lo, plan.inner_hi = inner_hi;
    plan.outer_step = outer_step, plan.inner_step = inner_step;
    plan.outer_inv_fs = (float)(1.0 / outer.filter_scale);
    plan.inner_inv_fs = (float)(1.0 / inner.filter_scale);
    /* Network channel c reads image channel order[c]. */
    for (int c = 0; c < 3; c++) {
        plan.order[c] = c == 1 ? 1 : (spec->bgr ? 2 - c : c);
        plan.mean[c] = spec->mean[c];
        plan.std[c] = spec->std[c];
        float fill = pp->fill[plan.order[c]];
        if (fill < 0.0f) fill = spec->fill[plan.order[c]]; /* negative: the model's own */
        plan.fill[c] = (fill - spec->mean[c]) / spec->std[c];
    }
    const size_t longer = (size_t)(outer_n > inner_n ? outer_n : inner_n);
    float *inner_taps = scratch, *outer_taps = inner_taps + longer * MNET_TAP_FLOATS;
    float *rows = outer_taps + longer * MNET_TAP_FLOATS;
    for (int k = inner_lo; k < inner_hi; k++)
        axis_taps(&inner, k, inner_taps + (size_t)k * MNET_TAP_FLOATS);
    for (int o = outer_lo; o < outer_hi; o++)
        axis_taps(&outer, o, outer_taps + (size_t)o * MNET_TAP_FLOATS);
    plan.inner_taps = inner_taps;
    plan.outer_taps = outer_taps;

    for (int o = 0; o < outer_n; o++)
        if (o < outer_lo || o >= outer_hi) write_line(&plan, o, NULL);
    /* 1:1 rows (identity-size fits): each line takes exactly one source row
     * with weight 1, so filtering it straight into the line is cheapest. */
    const int outer_one_to_one = fabs(outer.a) == 1.0 && outer.b == floor(outer.b);
    if (!outer_one_to_one && streaming_fits(&plan))
        resample_streaming(&plan, rows, rows + longer * 3);
    else
        resample_direct(&plan, rows);
    return MNET_OK;
}
