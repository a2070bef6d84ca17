"""mnet's TF SSD anchor generator against the constant anchor tensors of the
two TFLite COCO SSD files (read with tools/convert/tflite_reader.py), and its
torchvision generator against torchvision's DefaultBoxGenerator for the
SSDLite320 configuration. Exit 77 = skipped (no library or model files)."""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE, "..", "shared"))
sys.path.insert(0, os.path.join(SOURCE, "tools", "convert"))
sys.path.insert(0, HERE)

import post_ctypes  # noqa: E402

TFLITE_MODELS = [
    "models/ssd_mobilenet_v1_coco/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite",
    "models/ssd_mobilenet_v2_coco/ssd_mobilenet_v2_coco_quant_postprocess.tflite",
]
COCO_MAPS = [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
COCO_RATIOS = [1.0, 2.0, 0.5, 3.0, 0.3333]

failures = []


def check(cond, message):
    print(("ok   " if cond else "FAIL ") + message)
    if not cond:
        failures.append(message)


def stored_anchors(path):
    """The dequantized constant third input of TFLite_Detection_PostProcess."""
    import tflite_reader
    model = tflite_reader.read_tflite(path)
    ops = [op for op in model.operators if op.opcode == "CUSTOM:TFLite_Detection_PostProcess"]
    if len(ops) != 1:
        raise ValueError("%s: expected one TFLite_Detection_PostProcess, found %d" % (path, len(ops)))
    tensor = model.tensors[ops[0].inputs[2]]
    if tensor.data is None or tensor.quantization is None:
        raise ValueError("%s: %s is not a quantized constant" % (path, tensor.describe()))
    scale = float(tensor.quantization.scale[0])
    zero = int(tensor.quantization.zero_point[0])
    return (tensor.data.astype(np.float64) - zero) * scale, scale


def test_tflite_anchors(post):
    ours = post.tf_anchors(COCO_MAPS, 0.2, 0.95, COCO_RATIOS).astype(np.float64)
    check(ours.shape == (1917, 4), "COCO TF generator gives 1917 anchors")
    for rel in TFLITE_MODELS:
        path = os.path.join(SHARED, rel)
        if not os.path.exists(path):
            print("skip %s (missing)" % rel)
            continue
        stored, scale = stored_anchors(path)
        check(stored.shape == ours.shape, "%s: anchor tensor shape %s" % (rel, stored.shape))
        if stored.shape != ours.shape:
            continue
        # Values above 255 steps saturate in uint8; compare those to the cap.
        expected = np.minimum(ours, 255 * scale)
        err = np.abs(stored - expected)
        worst = int(np.argmax(err.max(axis=1)))
        check(err.max() <= scale,
              "%s: max |stored - mnet| = %.6f (%.2f steps of %.9f), worst anchor %d"
              % (rel, err.max(), err.max() / scale, scale, worst))
        # Rounding to nearest should put nearly all within half a step.
        within_half = np.mean(err <= 0.5 * scale + 1e-7)
        check(within_half > 0.99, "%s: %.4f of values within half a step" % (rel, within_half))


def test_torchvision_boxes(post):
    try:
        import torch
        from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
        from torchvision.models.detection.image_list import ImageList
    except ImportError as e:
        print("skip torchvision comparison: %s" % e)
        return
    maps = [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    ratios = [[2, 3] for _ in maps]
    rng = np.random.default_rng(7)
    cases = [(maps, ratios, 0.2, 0.95, True, 320, 320),           # SSDLite320
             (maps, ratios, 0.2, 0.95, False, 320, 320)]
    # A random non-square configuration with uneven ratio lists.
    rmaps = [(int(rng.integers(1, 12)), int(rng.integers(1, 12))) for _ in range(4)]
    rratios = [[float(r) for r in rng.uniform(1.2, 4.0, size=int(rng.integers(0, 4)))]
               for _ in range(4)]
    cases.append((rmaps, rratios, 0.1, 0.9, True, 240, 400))
    for maps_, ratios_, lo, hi, clip, img_h, img_w in cases:
        gen = DefaultBoxGenerator(ratios_, min_ratio=lo, max_ratio=hi, clip=clip)
        images = ImageList(torch.zeros(1, 3, img_h, img_w), [(img_h, img_w)])
        feats = [torch.zeros(1, 8, h, w) for h, w in maps_]
        with torch.no_grad():
            corners = gen(images, feats)[0].double().numpy()  # x1 y1 x2 y2 pixels
        ours = post.torch_boxes(maps_, ratios_, lo, hi, clip).astype(np.float64)
        yc, xc, h, w = ours.T
        mine = np.stack([(xc - w / 2) * img_w, (yc - h / 2) * img_h,
                         (xc + w / 2) * img_w, (yc + h / 2) * img_h], axis=1)
        label = "torchvision maps %s ratios %s clip %s" % (maps_, ratios_, clip)
        check(mine.shape == corners.shape, label + ": count %d vs %d" % (len(mine), len(corners)))
        if mine.shape == corners.shape:
            err = np.abs(mine - corners).max()
            check(err <= 1e-3, label + ": max corner error %.2e px" % err)
        # The normalized (cx, cy, w, h) boxes before scaling agree to float32
        # rounding: 2 ulp, as mnet receives min/max ratios as float32 where
        # torchvision keeps Python doubles.
        grid = gen._grid_default_boxes([list(m) for m in maps_], [img_h, img_w]).numpy()
        if grid.shape[0] == ours.shape[0]:
            rel = np.abs(ours[:, [1, 0, 3, 2]] - grid) / np.maximum(np.abs(grid), 1.0)
            check(rel.max() <= 2.4e-7,
                  label + ": normalized boxes max error %.2e (relative)" % rel.max())


def main():
    post = post_ctypes.load_or_skip()
    test_tflite_anchors(post)
    test_torchvision_boxes(post)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
