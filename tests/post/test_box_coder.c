/* Faster R-CNN decoding on hand-worked boxes, the torchvision order and clamp,
 * and a round trip through an encoder written here from the definition. */
#include <string.h>

#include "post/detection.h"
#include "test_util.h"

static const mnet_box_coder tf_coder = {10.0f, 10.0f, 5.0f, 5.0f, 0, 0.0f};

static int box_near(const float *got, const double *want, double tol) {
    for (int i = 0; i < 4; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol)) return 0;
    return 1;
}

static void test_hand_cases(void) {
    mnet_anchor_box anchor = {0.5f, 0.4f, 0.2f, 0.1f};
    float box[4];
    /* yc = 1/10 * 0.2 + 0.5, xc = -2/10 * 0.1 + 0.4, h = 0.2, w = 2 * 0.1 */
    const float enc[4] = {1.0f, -2.0f, 0.0f, (float)(5.0 * log(2.0))};
    const double want[4] = {0.42, 0.28, 0.62, 0.48};
    mnet_decode_box(enc, &anchor, &tf_coder, box);
    CHECK_MSG(box_near(box, want, 1e-6), "got %f %f %f %f", box[0], box[1], box[2], box[3]);

    /* torchvision order (dx, dy, dw, dh) gives the same box. */
    mnet_box_coder xy = tf_coder;
    xy.xy_order = 1;
    const float enc_xy[4] = {-2.0f, 1.0f, (float)(5.0 * log(2.0)), 0.0f};
    mnet_decode_box(enc_xy, &anchor, &xy, box);
    CHECK(box_near(box, want, 1e-6));

    /* Zero encoding reproduces the anchor. */
    const float zero[4] = {0, 0, 0, 0};
    const double corners[4] = {0.4, 0.35, 0.6, 0.45};
    mnet_decode_box(zero, &anchor, &tf_coder, box);
    CHECK(box_near(box, corners, 1e-7));

    /* The clamp caps exp(th / h_scale) at 1000/16 = 62.5 anchor heights and
     * leaves sizes below it alone. */
    mnet_box_coder clipped = tf_coder;
    clipped.size_log_clip = (float)log(1000.0 / 16.0);
    const float big[4] = {0.0f, 0.0f, 50.0f, -50.0f};
    mnet_decode_box(big, &anchor, &clipped, box);
    double half_h = 0.5 * 62.5 * 0.2, half_w = 0.5 * exp(-10.0) * 0.1;
    const double want_clip[4] = {0.5 - half_h, 0.4 - half_w, 0.5 + half_h, 0.4 + half_w};
    CHECK_MSG(box_near(box, want_clip, 1e-5), "got %g %g %g %g", box[0], box[1], box[2], box[3]);
    mnet_decode_box(big, &anchor, &tf_coder, box);
    CHECK(box[2] - box[0] > 1e3f); /* unclamped: exp(10) * 0.2 */
}

/* Encoder from the definition: ty = (yc - ya) / ha * ys, th = log(h / ha) * hs. */
static void encode(const double *box, const mnet_anchor_box *a, const mnet_box_coder *c,
                   float *enc) {
    double yc = (box[0] + box[2]) / 2, xc = (box[1] + box[3]) / 2;
    double h = box[2] - box[0], w = box[3] - box[1];
    enc[0] = (float)((yc - a->yc) / a->h * c->y_scale);
    enc[1] = (float)((xc - a->xc) / a->w * c->x_scale);
    enc[2] = (float)(log(h / a->h) * c->h_scale);
    enc[3] = (float)(log(w / a->w) * c->w_scale);
}

static void test_round_trip(void) {
    test_rng rng = {0x9e3779b97f4a7c15ull};
    double worst = 0;
    for (int t = 0; t < 2000; t++) {
        mnet_anchor_box a = {test_rng_float(&rng, 0, 1), test_rng_float(&rng, 0, 1),
                             test_rng_float(&rng, 0.02f, 1), test_rng_float(&rng, 0.02f, 1)};
        mnet_box_coder c = {test_rng_float(&rng, 1, 20), test_rng_float(&rng, 1, 20),
                            test_rng_float(&rng, 1, 10), test_rng_float(&rng, 1, 10), 0, 0.0f};
        double y0 = test_rng_float(&rng, -0.2f, 0.9f), x0 = test_rng_float(&rng, -0.2f, 0.9f);
        double box[4] = {y0, x0, y0 + test_rng_float(&rng, 0.01f, 0.8f),
                         x0 + test_rng_float(&rng, 0.01f, 0.8f)};
        float enc[4], got[4];
        encode(box, &a, &c, enc);
        mnet_decode_box(enc, &a, &c, got);
        for (int i = 0; i < 4; i++) {
            double e = fabs((double)got[i] - box[i]);
            if (e > worst) worst = e;
        }
    }
    CHECK_MSG(worst < 2e-6, "round trip max error %g", worst);
}

int main(void) {
    test_hand_cases();
    test_round_trip();
    TEST_MAIN_END();
}
