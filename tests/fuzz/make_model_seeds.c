/* Writes the seed corpus of fuzz_model_load: small valid models of every
 * family and head the library builds (each one loads and runs), plus the
 * headers of a few bundled models (real configs, labels and provenance;
 * their tensor data is cut off, so they exercise header parsing only).
 *   make_model_seeds OUT_DIR [SOURCE_DIR [--all]]
 * (--all adds a feature-only V2 and a mobile-ASPP DeepLab, left out of the
 * committed corpus for size.)
 * Built and run by scripts/fuzz.sh --seeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../robustness/model_builder.h"

static const char ssd_v1_config[] =
    "{\"architecture\": \"ssd\", \"backbone\": \"mobilenet_v1\", \"depth_multiplier\": 0.0625, "
    "\"padding\": \"tf_same\", \"input\": {\"height\": 64, \"width\": 64, \"channels\": 3, "
    "\"color\": \"rgb\", \"mean\": [128, 128, 128], \"std\": [128, 128, 128]}, "
    "\"preprocess\": {\"fit\": \"stretch\"}, \"num_classes\": 3, "
    "\"ssd\": {\"feature_taps\": [\"block10/output\", \"block12/output\"], "
    "\"extra_layers\": [[8, 16], [8, 16]], \"extra_depthwise\": false, "
    "\"predictor\": \"conv1x1\", \"anchors_per_location\": [3, 6, 6, 6], "
    "\"anchors\": {\"type\": \"tf_ssd\", \"min_scale\": 0.2, \"max_scale\": 0.95, "
    "\"aspect_ratios\": [1.0, 2.0, 0.5, 3.0, 0.3333], \"interpolated_scale_aspect_ratio\": 1.0, "
    "\"reduce_boxes_in_lowest_layer\": true}, \"box_coder\": [10.0, 10.0, 5.0, 5.0], "
    "\"box_order\": \"yxhw\", \"score\": \"sigmoid\", \"background_class\": true, "
    "\"nms\": {\"variant\": \"fast\", \"iou_threshold\": 0.6, \"score_threshold\": 0.01, "
    "\"max_detections\": 10, \"max_classes_per_detection\": 1, \"detections_per_class\": 100}}}";

static const char ssdlite_v2_config[] =
    "{\"architecture\": \"ssd\", \"backbone\": \"mobilenet_v2\", \"depth_multiplier\": 0.0625, "
    "\"last_channels\": 32, \"padding\": \"symmetric\", \"input\": {\"height\": 48, "
    "\"width\": 64, \"channels\": 3, \"color\": \"bgr\", \"mean\": [127.5, 127.5, 127.5], "
    "\"std\": [127.5, 127.5, 127.5]}, \"preprocess\": {\"fit\": \"letterbox\"}, "
    "\"num_classes\": 2, \"ssd\": {\"feature_taps\": [\"block13/expand\", \"conv_last\"], "
    "\"extra_layers\": [[8, 16]], \"extra_depthwise\": true, \"predictor\": \"depthwise3x3\", "
    "\"anchors_per_location\": [4, 6, 6], \"anchors\": {\"type\": \"torchvision\", "
    "\"aspect_ratios\": [[2], [2, 3], [2, 3]], \"min_ratio\": 0.2, \"max_ratio\": 0.95, "
    "\"clip\": true}, \"box_coder\": [10.0, 10.0, 5.0, 5.0], \"box_order\": \"xywh\", "
    "\"score\": \"softmax\", \"background_class\": true, \"nms\": {\"variant\": \"regular\", "
    "\"iou_threshold\": 0.5, \"score_threshold\": 0.01, \"max_detections\": 20, "
    "\"max_classes_per_detection\": 1, \"detections_per_class\": 10}}}";

static const char deeplab_config[] =
    "{\"architecture\": \"deeplabv3\", \"backbone\": \"mobilenet_v2\", "
    "\"depth_multiplier\": 0.0625, \"last_channels\": 0, \"output_stride\": 8, "
    "\"padding\": \"tf_same\", \"input\": {\"height\": 33, \"width\": 33, \"channels\": 3, "
    "\"color\": \"rgb\", \"mean\": [127.5, 127.5, 127.5], \"std\": [127.5, 127.5, 127.5]}, "
    "\"preprocess\": {\"fit\": \"letterbox\", \"fill\": [127.5, 127.5, 127.5]}, "
    "\"num_classes\": 4, \"deeplab\": {\"aspp\": \"full\", \"aspp_channels\": 8, "
    "\"atrous_rates\": [2, 3], \"separable\": true, \"activation\": \"relu\", "
    "\"align_corners\": true, \"decoder\": {\"low_level_tap\": \"block3/expand\", "
    "\"low_level_channels\": 8, \"channels\": 8, \"concat\": \"aspp_first\"}}}";

static const char deeplab_mobile_config[] =
    "{\"architecture\": \"deeplabv3\", \"backbone\": \"mobilenet_v2\", "
    "\"depth_multiplier\": 0.0625, \"last_channels\": 0, \"output_stride\": 16, "
    "\"padding\": \"tf_same\", \"input\": {\"height\": 40, \"width\": 24, \"channels\": 3, "
    "\"color\": \"rgb\", \"mean\": [127.5, 127.5, 127.5], \"std\": [127.5, 127.5, 127.5]}, "
    "\"preprocess\": {\"fit\": \"stretch\"}, \"num_classes\": 3, \"deeplab\": {\"aspp\": "
    "\"mobile\", \"aspp_channels\": 8, \"atrous_rates\": [], \"separable\": false, "
    "\"activation\": \"relu6\", \"align_corners\": false, \"decoder\": null}}";

static int write_file(const char *dir, const char *name, const unsigned char *bytes,
                      size_t size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, size, f) != size) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f) fclose(f);
        return 1;
    }
    fclose(f);
    printf("%-36s %8zu bytes\n", name, size);
    return 0;
}

static int build_seed(const char *dir, const char *name, const char *config, int labels,
                      uint64_t seed) {
    char why[600];
    size_t size;
    unsigned char *file = mb_build(config, labels, seed, &size, why, sizeof why);
    if (!file) {
        fprintf(stderr, "%s: cannot build: %s\n", name, why);
        return 1;
    }
    int rc = write_file(dir, name, file, size);
    free(file);
    return rc;
}

/* The 8-byte length and the JSON header of a bundled model. */
static int copy_header(const char *dir, const char *source_dir, const char *model) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s", source_dir, model);
    FILE *f = fopen(path, "rb");
    if (!f) return 0; /* bundled models are optional */
    unsigned char length[8];
    size_t n = 0;
    if (fread(length, 1, 8, f) == 8)
        for (int i = 7; i >= 0; i--) n = n << 8 | length[i];
    unsigned char *bytes = n > 0 && n < (1u << 20) ? malloc(8 + n) : NULL;
    int rc = 0;
    if (bytes) {
        memcpy(bytes, length, 8);
        if (fread(bytes + 8, 1, n, f) == n) {
            char name[256];
            snprintf(name, sizeof name, "header_%s", model);
            rc = write_file(dir, name, bytes, 8 + n);
        }
    }
    free(bytes);
    fclose(f);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [SOURCE_DIR]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char config[1024];
    int failures = 0;
    /* Widths are the smallest that still differ per layer, to keep the
     * committed corpus (and every fuzz execution) small. */
    mb_classifier_config(config, sizeof config, "mobilenet_v1", 0.125, 32, 32, 5, -1);
    failures += build_seed(dir, "v1_dm0.125_32.safetensors", config, 5, 11);
    mb_classifier_config(config, sizeof config, "mobilenet_v2", 0.125, 32, 32, 5, 16);
    failures += build_seed(dir, "v2_dm0.125_32.safetensors", config, 5, 12);
    failures += build_seed(dir, "ssd_v1_64.safetensors", ssd_v1_config, 3, 14);
    failures += build_seed(dir, "ssdlite_v2_48x64.safetensors", ssdlite_v2_config, 2, 15);
    failures += build_seed(dir, "deeplabv3plus_33.safetensors", deeplab_config, 4, 16);
    if (argc > 3 && strcmp(argv[3], "--all") == 0) {
        mb_classifier_config(config, sizeof config, "mobilenet_v2", 0.0625, 24, 40, 0, 0);
        failures += build_seed(dir, "v2_backbone_24x40.safetensors", config, 0, 13);
        failures += build_seed(dir, "deeplabv3_mobile_40x24.safetensors", deeplab_mobile_config,
                               0, 17);
    }
    if (argc > 2) {
        failures += copy_header(dir, argv[2], "ssd_mobilenet_v2_oidv4.safetensors");
        failures += copy_header(dir, argv[2], "deeplabv3_mnv2_dm0.5_257_pascal.safetensors");
    }
    return failures ? 1 : 0;
}
