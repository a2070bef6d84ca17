#!/usr/bin/python3
"""The models shipped in models/: rebuilt from ../shared/models by
tools/convert/build_bundled_models.sh they are all byte-identical, and a
numpy forward pass of each classifier (float64, from the stored fp16 weights,
independent of the C library) puts the true class of dev-set images in its
top 5. (The detectors and segmenters are checked against Arm NN through the
C library in tests/e2e.)"""

import csv
import filecmp
import os
import subprocess
import tempfile
import unittest

import numpy as np

import convert_test_env as env
import np_mobilenet
import st_read

BUNDLED = ["mobilenet_v1_1.0_224.safetensors", "mobilenet_v2_1.0_224.safetensors",
           "mobilenet_v1_0.75_224.safetensors", "mobilenet_v2_1.0_224_ptq.safetensors"]
HEADS = ["ssd_mobilenet_v1_coco.safetensors", "ssd_mobilenet_v2_coco.safetensors",
         "ssd_mobilenet_v2_oidv4.safetensors", "deeplabv3_mnv2_dm1.0_pascal.safetensors",
         "deeplabv3_mnv2_dm0.5_pascal.safetensors", "deeplabv3_mnv2_dm0.5_257_pascal.safetensors"]
DEV = os.path.join(env.SHARED_DIR, "data", "imagenet-dev")
IMAGES_PER_MODEL = 4


def center_crop_input(path, config):
    """Center crop (crop_fraction of the shorter side), bilinear resize, then
    (pixel - mean) / std, as MODEL_FORMAT.md describes the preprocessing."""
    from PIL import Image
    image = Image.open(path).convert("RGB")
    w, h = image.size
    side = int(np.floor(config["preprocess"]["crop_fraction"] * min(w, h) + 0.5))
    left, top = (w - side) // 2, (h - side) // 2
    size = (config["input"]["width"], config["input"]["height"])
    image = image.crop((left, top, left + side, top + side)).resize(size, Image.BILINEAR)
    pixels = np.asarray(image, np.float64)
    return (pixels - np.asarray(config["input"]["mean"])) / np.asarray(config["input"]["std"])


class BundledModelsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [b for b in BUNDLED + HEADS
                   if not os.path.exists(os.path.join(env.SOURCE_DIR, "models", b))]
        if missing:
            raise AssertionError("bundled models missing: %s" % missing)
        env.skip_test_without_shared_models("mobilenet_v1", "mobilenet_v2", "ssd_mobilenet_v1_coco",
                                  "ssd_mobilenet_v2_coco", "ssd_mobilenet_v2_oidv4_fp16",
                                  "deeplabv3_mnv2_pascal")
        if not os.path.exists(os.path.join(DEV, "labels.csv")):
            print("SKIP: no imagenet-dev data")
            raise SystemExit(env.SKIPPED)

    def test_rebuild_is_byte_identical(self):
        script = os.path.join(env.CONVERTER_DIR, "build_bundled_models.sh")
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(["sh", script, env.MODELS_DIR, out], check=True, capture_output=True)
            for name in BUNDLED + HEADS:
                self.assertTrue(filecmp.cmp(os.path.join(out, name),
                                            os.path.join(env.SOURCE_DIR, "models", name),
                                            shallow=False), name)

    def test_dev_images_top5(self):
        with open(os.path.join(DEV, "labels.csv")) as f:
            rows = list(csv.DictReader(f))
        rows = rows[::len(rows) // IMAGES_PER_MODEL][:IMAGES_PER_MODEL]
        for name in BUNDLED:
            tensors, metadata, _ = st_read.read(os.path.join(env.SOURCE_DIR, "models", name))
            meta = st_read.read_json_metadata(metadata)
            config = meta["mnet.config"]
            hits = 0
            for row in rows:
                x = center_crop_input(os.path.join(DEV, row["file"]), config)
                logits = np_mobilenet.mnet_forward(tensors, config["architecture"],
                                                   config["padding"], x)
                truth = int(row["class_index_1001_with_background"]
                            if config["num_classes"] == 1001 else row["class_index_1000"])
                self.assertEqual(meta["mnet.labels"][truth], row["label"])
                hits += truth in np.argsort(-logits)[:5]
            with self.subTest(model=name):
                self.assertGreaterEqual(hits, IMAGES_PER_MODEL - 1,
                                        "%s: true class in the top 5 for %d of %d images"
                                        % (name, hits, IMAGES_PER_MODEL))


if __name__ == "__main__":
    unittest.main()
