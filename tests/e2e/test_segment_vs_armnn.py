"""The bundled DeepLab segmenters on the PASCAL VOC dev images against the
original .tflite files run by Arm NN's CpuRef backend (fixtures in
tests/fixtures/armnn, tools/oracle/armnn_fixtures.py).

Model equivalence: mnet is given the same pixels Arm NN was given (the
513x513 images; for the 257 model, the image PIL-resized to 257 as the fixture
was made) and its mask, at that size, must agree with Arm NN's on >= 99 % of
the pixels. Then mIoU against the ground truth (labels_513, 255 ignored) for
mnet producing its mask straight at 513 from the 513 image (for the 257 model
too: its logits are interpolated to the caller's size) and for Arm NN (its
257 mask nearest-upsampled), written to $MNET_BUILD_DIR/segmentation_miou.json.
"""
import ctypes
import json
import os
import sys

import numpy as np
from PIL import Image

from cli_harness import ARMNN_FIXTURES, BUILD, SHARED, SOURCE, report_and_exit, skip

VOC = os.path.join(SHARED, "data", "voc-dev")
sys.path.insert(0, os.path.join(SOURCE, "tests", "models"))
sys.path.insert(0, os.path.join(SOURCE, "tools", "oracle"))

import mnet_ctypes  # noqa: E402
from fixture_codec import zlib_array  # noqa: E402

MIN_AGREEMENT = 0.99
MODELS = (("deeplabv3_mnv2_dm1.0_pascal.safetensors", "deeplabv3_mnv2_pascal_quant.json", 513),
          ("deeplabv3_mnv2_dm0.5_pascal.safetensors", "deeplabv3_mnv2_dm05_pascal_quant.json", 513),
          ("deeplabv3_mnv2_dm0.5_257_pascal.safetensors", "deeplabv3_257_mv_gpu.json", 257))


def mask(session, rgb):
    """mnet_segment on a packed RGB image: the class mask at the image's size."""
    image, rgb = mnet_ctypes.rgb_image(rgb)
    h, w, _ = rgb.shape
    out = np.zeros((h, w), np.uint8)
    session.check(session.lib.mnet_segment(session.handle, ctypes.byref(image), None,
                                           out.ctypes.data, w), "mnet_segment")
    return out


def miou(pred, truth, classes=21):
    valid = truth != 255
    ious = []
    for c in range(classes):
        p, t = (pred == c) & valid, (truth == c) & valid
        if t.sum() == 0:
            continue  # over the classes present in the ground truth
        ious.append((p & t).sum() / float((p | t).sum()))
    return float(np.mean(ious)), float(((pred == truth) & valid).sum() / valid.sum())


def main():
    lib_path = os.path.join(BUILD, "libmnet.so")
    if not os.path.exists(lib_path):
        skip("libmnet.so missing")
    if not os.path.isdir(VOC):
        skip("%s missing (the shared dev data)" % VOC)
    binding = mnet_ctypes.Mnet(lib_path)
    report, results = {}, []
    for model_file, fixture_file, size in MODELS:
        model = os.path.join(SOURCE, "models", model_file)
        fixture_path = os.path.join(ARMNN_FIXTURES, fixture_file)
        if not os.path.exists(model) or not os.path.exists(fixture_path):
            print("SKIP %s: model or fixture missing" % model_file)
            continue
        with open(fixture_path) as f:
            fixture = json.load(f)
        agree = total = 0
        scores = {"mnet": [], "armnn": []}
        with binding.session(model) as seg:
            for r in fixture["images"]:
                name = r["file"]
                image = Image.open(os.path.join(VOC, "images_513", name)).convert("RGB")
                fed = image if size == 513 else image.resize((size, size), Image.BILINEAR)
                ref = zlib_array(r["mask_zlib_b64"], np.uint8, r["mask_shape"])
                mine = mask(seg, np.asarray(fed))
                agree += int((mine == ref).sum())
                total += ref.size
                truth = np.asarray(Image.open(os.path.join(VOC, "labels_513",
                                                           os.path.splitext(name)[0] + ".png")))
                full = mask(seg, np.asarray(image)) if size != 513 else mine
                ref_full = ref if size == 513 else np.asarray(
                    Image.fromarray(ref).resize((513, 513), Image.NEAREST))
                scores["mnet"].append(miou(full, truth))
                scores["armnn"].append(miou(ref_full, truth))
        fraction = agree / total
        entry = {"images": len(fixture["images"]), "pixel_agreement": fraction}
        for who in ("mnet", "armnn"):
            entry[who + "_mIoU"] = float(np.mean([s[0] for s in scores[who]]))
            entry[who + "_pixel_accuracy"] = float(np.mean([s[1] for s in scores[who]]))
        report[model_file] = entry
        print("%s: masks agree with Arm NN on %.3f %% of pixels; mIoU mnet %.3f / Arm NN %.3f, "
              "pixel accuracy mnet %.3f / Arm NN %.3f" % (
                  model_file, 100 * fraction, entry["mnet_mIoU"], entry["armnn_mIoU"],
                  entry["mnet_pixel_accuracy"], entry["armnn_pixel_accuracy"]))
        results.append(fraction >= MIN_AGREEMENT)
    if not results:
        skip("no segmenter model with a fixture")
    report_and_exit(results, report, "segmentation_miou.json")


if __name__ == "__main__":
    main()
