/* Anchor generators against values worked out by hand from the TF OD API and
 * torchvision definitions (scales 0.2 + 0.75 k / 5, heights s / sqrt(r),
 * widths s * sqrt(r)), for the COCO SSD and SSDLite320 configurations. */
#include <string.h>

#include "post/detection.h"
#include "test_util.h"

static const int coco_maps[6] = {19, 10, 5, 3, 2, 1};

static mnet_ssd_anchor_params coco_tf_params(void) {
    mnet_ssd_anchor_params p;
    memset(&p, 0, sizeof p);
    p.num_layers = 6;
    for (int l = 0; l < 6; l++) p.feature_h[l] = p.feature_w[l] = coco_maps[l];
    p.min_scale = 0.2f;
    p.max_scale = 0.95f;
    const float ratios[5] = {1.0f, 2.0f, 0.5f, 3.0f, 0.3333f};
    memcpy(p.aspect_ratios, ratios, sizeof ratios);
    p.num_aspect_ratios = 5;
    p.interpolated_scale_aspect_ratio = 1.0f;
    p.reduce_boxes_in_lowest_layer = 1;
    p.base_anchor_height = p.base_anchor_width = 1.0f;
    p.offset = 0.5f;
    return p;
}

static int near(float a, double b) { return fabs((double)a - b) <= 2e-6; }

static void check_box(const mnet_anchor_box *b, double yc, double xc, double h, double w,
                      const char *what) {
    CHECK_MSG(near(b->yc, yc) && near(b->xc, xc) && near(b->h, h) && near(b->w, w),
              "%s: got (%.7f %.7f %.7f %.7f) want (%.7f %.7f %.7f %.7f)", what, b->yc, b->xc,
              b->h, b->w, yc, xc, h, w);
}

/* (h, w) of the six anchors at every location of TF layers 1..5, in
 * create_ssd_anchors order: ratios 1, 2, 0.5, 3, 0.3333, then the
 * interpolated scale at ratio 1. */
static const double tf_hw[5][6][2] = {
    {{0.35, 0.35}, {0.247487, 0.494975}, {0.494975, 0.247487}, {0.202073, 0.606218},
     {0.606248, 0.202062}, {0.418330, 0.418330}},
    {{0.5, 0.5}, {0.353553, 0.707107}, {0.707107, 0.353553}, {0.288675, 0.866025},
     {0.866069, 0.288661}, {0.570088, 0.570088}},
    {{0.65, 0.65}, {0.459619, 0.919239}, {0.919239, 0.459619}, {0.375278, 1.125833},
     {1.125889, 0.375259}, {0.721110, 0.721110}},
    {{0.8, 0.8}, {0.565685, 1.131371}, {1.131371, 0.565685}, {0.461880, 1.385641},
     {1.385710, 0.461857}, {0.871780, 0.871780}},
    {{0.95, 0.95}, {0.671751, 1.343503}, {1.343503, 0.671751}, {0.548483, 1.645448},
     {1.645531, 0.548455}, {0.974679, 0.974679}},
};

static void test_tf_coco(void) {
    mnet_ssd_anchor_params p = coco_tf_params();
    CHECK(mnet_ssd_anchor_count(&p) == 1917);
    CHECK(mnet_ssd_anchors_per_location(&p, 0) == 3);
    CHECK(mnet_ssd_anchors_per_location(&p, 1) == 6);
    CHECK(mnet_ssd_anchors_per_location(&p, 6) == 0);
    static mnet_anchor_box a[1917];
    CHECK(mnet_ssd_anchors(&p, a) == 0);

    /* Lowest layer: (0.1, 1), (0.2, 2), (0.2, 0.5) at centre (0.5/19, 0.5/19),
     * then the next x position, then after 19 positions the next row. */
    double c0 = 0.5 / 19, c1 = 1.5 / 19;
    check_box(&a[0], c0, c0, 0.1, 0.1, "layer 0 anchor 0");
    check_box(&a[1], c0, c0, 0.141421, 0.282843, "layer 0 anchor 1");
    check_box(&a[2], c0, c0, 0.282843, 0.141421, "layer 0 anchor 2");
    check_box(&a[3], c0, c1, 0.1, 0.1, "layer 0 x=1");
    check_box(&a[19 * 3], c1, c0, 0.1, 0.1, "layer 0 y=1");
    check_box(&a[19 * 19 * 3 - 1], 18.5 / 19, 18.5 / 19, 0.282843, 0.141421, "layer 0 last");

    size_t start = 19 * 19 * 3;
    for (int l = 1; l < 6; l++) {
        int fm = coco_maps[l];
        double first = 0.5 / fm, last = (fm - 0.5) / fm;
        for (int k = 0; k < 6; k++) {
            char what[64];
            snprintf(what, sizeof what, "layer %d anchor %d", l, k);
            check_box(&a[start + (size_t)k], first, first, tf_hw[l - 1][k][0], tf_hw[l - 1][k][1],
                      what);
            size_t end = start + (size_t)fm * fm * 6;
            check_box(&a[end - 6 + (size_t)k], last, last, tf_hw[l - 1][k][0],
                      tf_hw[l - 1][k][1], what);
        }
        start += (size_t)fm * fm * 6;
    }
    CHECK(start == 1917);
}

static void test_tf_variants(void) {
    mnet_ssd_anchor_params p = coco_tf_params();
    /* Without the reduced lowest layer and the interpolated anchor: five
     * anchors everywhere, the first layer at scale 0.2. */
    p.reduce_boxes_in_lowest_layer = 0;
    p.interpolated_scale_aspect_ratio = 0.0f;
    CHECK(mnet_ssd_anchor_count(&p) == (size_t)(361 + 100 + 25 + 9 + 4 + 1) * 5);
    static mnet_anchor_box a[2500];
    CHECK(mnet_ssd_anchors(&p, a) == 0);
    check_box(&a[0], 0.5 / 19, 0.5 / 19, 0.2, 0.2, "unreduced layer 0 ratio 1");
    check_box(&a[3], 0.5 / 19, 0.5 / 19, 0.11547, 0.34641, "unreduced layer 0 ratio 3");

    /* Non-square map, offset 0 and a base anchor of 0.5 x 2. */
    p = coco_tf_params();
    p.num_layers = 2;
    p.feature_h[0] = 4, p.feature_w[0] = 8;
    p.feature_h[1] = 2, p.feature_w[1] = 3;
    p.offset = 0.0f;
    p.base_anchor_height = 0.5f, p.base_anchor_width = 2.0f;
    CHECK(mnet_ssd_anchor_count(&p) == 4 * 8 * 3 + 2 * 3 * 6);
    CHECK(mnet_ssd_anchors(&p, a) == 0);
    /* Two layers: scales 0.2 and 0.95, then 1.0. */
    check_box(&a[1], 0.0, 0.0, 0.2 / sqrt(2.0) * 0.5, 0.2 * sqrt(2.0) * 2.0, "base size");
    check_box(&a[3 * 9], 0.25, 0.125, 0.05, 0.2, "y=1 x=1 on 4x8");
    size_t l1 = 4 * 8 * 3;
    check_box(&a[l1 + 6 * 5 + 5], 0.5, 2.0 / 3.0, sqrt(0.95) * 0.5, sqrt(0.95) * 2.0,
              "layer 1 last interpolated");

    /* Invalid parameters. */
    p = coco_tf_params();
    p.num_layers = 1;
    CHECK(mnet_ssd_anchor_count(&p) == 0);
    CHECK(mnet_ssd_anchors(&p, a) == -1);
    p = coco_tf_params();
    p.feature_w[3] = 0;
    CHECK(mnet_ssd_anchor_count(&p) == 0);
    p = coco_tf_params();
    p.num_aspect_ratios = MNET_SSD_MAX_RATIOS + 1;
    CHECK(mnet_ssd_anchors(&p, a) == -1);
    CHECK(mnet_ssd_anchors(NULL, a) == -1);
    CHECK(mnet_ssd_anchors_per_location(NULL, 0) == 0);
}

static mnet_torch_box_params ssdlite320_params(void) {
    mnet_torch_box_params p;
    memset(&p, 0, sizeof p);
    p.num_layers = 6;
    const int maps[6] = {20, 10, 5, 3, 2, 1};
    for (int l = 0; l < 6; l++) {
        p.feature_h[l] = p.feature_w[l] = maps[l];
        p.ratios[l][0] = 2.0f;
        p.ratios[l][1] = 3.0f;
        p.num_ratios[l] = 2;
    }
    p.min_ratio = 0.2f;
    p.max_ratio = 0.95f;
    p.clip = 1;
    return p;
}

static void test_torch_ssdlite(void) {
    mnet_torch_box_params p = ssdlite320_params();
    CHECK(mnet_torch_box_count(&p) == (size_t)(400 + 100 + 25 + 9 + 4 + 1) * 6);
    static mnet_anchor_box a[3234];
    CHECK(mnet_torch_boxes(&p, a) == 0);
    double c = 0.5 / 20;
    /* (w, h): (s, s), (s', s'), (s sqrt2, s/sqrt2), transpose, (s sqrt3, s/sqrt3), transpose. */
    check_box(&a[0], c, c, 0.2, 0.2, "torch layer 0 box 0");
    check_box(&a[1], c, c, 0.264575, 0.264575, "torch layer 0 box 1");
    check_box(&a[2], c, c, 0.141421, 0.282843, "torch layer 0 box 2");
    check_box(&a[3], c, c, 0.282843, 0.141421, "torch layer 0 box 3");
    check_box(&a[4], c, c, 0.11547, 0.34641, "torch layer 0 box 4");
    check_box(&a[5], c, c, 0.34641, 0.11547, "torch layer 0 box 5");
    check_box(&a[6], c, 1.5 / 20, 0.2, 0.2, "torch layer 0 x=1");
    check_box(&a[20 * 6], 1.5 / 20, c, 0.2, 0.2, "torch layer 0 y=1");
    /* Layer 3 (3x3, s = 0.65): s sqrt3 = 1.1258 is clipped to 1. */
    size_t l3 = (400 + 100 + 25) * 6;
    check_box(&a[l3 + 4], 0.5 / 3, 0.5 / 3, 0.375278, 1.0, "torch layer 3 clipped w");
    check_box(&a[l3 + 5], 0.5 / 3, 0.5 / 3, 1.0, 0.375278, "torch layer 3 clipped h");
    /* Last layer: s' = sqrt(0.95 * 1.0). */
    check_box(&a[3233 - 4], 0.5, 0.5, 0.974679, 0.974679, "torch last s'");
    p.clip = 0;
    CHECK(mnet_torch_boxes(&p, a) == 0);
    check_box(&a[l3 + 4], 0.5 / 3, 0.5 / 3, 0.375278, 1.125833, "torch unclipped");

    /* One layer: scales [min, max], torchvision's special case. */
    p = ssdlite320_params();
    p.num_layers = 1;
    p.feature_h[0] = 2, p.feature_w[0] = 4;
    p.num_ratios[0] = 0;
    CHECK(mnet_torch_box_count(&p) == 16);
    CHECK(mnet_torch_boxes(&p, a) == 0);
    check_box(&a[1], 0.25, 0.125, sqrt(0.2 * 0.95), sqrt(0.2 * 0.95), "one layer s'");
    check_box(&a[15], 0.75, 0.875, sqrt(0.2 * 0.95), sqrt(0.2 * 0.95), "one layer last");

    p.num_ratios[0] = -1;
    CHECK(mnet_torch_box_count(&p) == 0);
    CHECK(mnet_torch_boxes(&p, a) == -1);
    CHECK(mnet_torch_boxes(NULL, a) == -1);
}

int main(void) {
    test_tf_coco();
    test_tf_variants();
    test_torch_ssdlite();
    TEST_MAIN_END();
}
