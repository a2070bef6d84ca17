"""The bundled classifiers on the ImageNet dev images, against independent
implementations of the original models:

* the two TFLite-derived models (MobileNet V1 1.0, V2 1.0) against the
  original uint8 .tflite files run by Arm NN's CpuRef backend (fixtures in
  tests/fixtures/armnn, made by tools/oracle/armnn_fixtures.py);
* the Keras MobileNet V1 0.75 against a PyTorch forward pass written here from
  the original TF.js weight shards (BatchNorm unfolded, TF SAME padding), fed
  the same PIL-preprocessed images as the Arm NN fixtures.

mnet runs through the CLI with its own decoding and preprocessing (center
crop 0.875, antialiased bilinear). Required: top-1 agreement with the oracle
on >= 98 % of the images. Accuracies are written to
$MNET_BUILD_DIR/accuracy.json for bench/RESULTS.md.
"""
import csv
import json
import os
import subprocess
import sys

import numpy as np

from cli_harness import ARMNN_FIXTURES, MNET, MODELS, SHARED, SOURCE, report_and_exit, skip

sys.path.insert(0, os.path.join(SOURCE, "tools", "oracle"))
from fixture_codec import b64_array  # noqa: E402

DATA = os.path.join(SHARED, "data", "imagenet-dev")
MIN_AGREEMENT = 0.98


def labels_1001():
    with open(os.path.join(DATA, "labels.csv")) as f:
        return {row["file"]: int(row["class_index_1001_with_background"]) for row in csv.DictReader(f)}


def mnet_top1(model, files):
    out = subprocess.run([MNET, "classify", "-m", model, "-k", "1", "--json"] +
                         [os.path.join(DATA, f) for f in files],
                         capture_output=True, text=True, check=True, timeout=900)
    result = {}
    for line in out.stdout.splitlines():
        record = json.loads(line)
        result[os.path.basename(record["image"])] = record["top"][0]["index"]
    return result


def armnn_best(record):
    """Indices sharing the maximal uint8 score (the quantized softmax often ties)."""
    scores = b64_array(record["output_uint8_b64"], np.uint8)
    return {int(i) for i in np.flatnonzero(scores == scores.max())}


def check_against_armnn(model_file, fixture_file, truth, report):
    with open(os.path.join(ARMNN_FIXTURES, fixture_file)) as f:
        fixture = json.load(f)
    records = fixture["images"]
    files = [r["file"] for r in records]
    mine = mnet_top1(os.path.join(MODELS, model_file), files)
    agree = sum(1 for r in records if mine[r["file"]] in armnn_best(r))
    armnn_correct = sum(1 for r in records if truth[r["file"]] in armnn_best(r))
    mnet_correct = sum(1 for f in files if mine[f] == truth[f])
    n = len(records)
    report[model_file] = {"images": n, "agreement_top1": agree / n, "mnet_top1": mnet_correct / n,
                          "oracle": "Arm NN CpuRef on the original .tflite",
                          "oracle_top1": armnn_correct / n}
    print("%s: top-1 agrees with Arm NN on %d/%d; top-1 accuracy mnet %.1f %%, Arm NN %.1f %%" %
          (model_file, agree, n, 100.0 * mnet_correct / n, 100.0 * armnn_correct / n))
    return agree / n >= MIN_AGREEMENT


def keras_v1_oracle(files):
    """Top-1 of the original Keras MobileNet V1 0.75 weights, in PyTorch."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image

    folder = os.path.join(SHARED, "models", "mobilenet_v1", "tfjs_keras_mobilenet_v1_0.75_224")
    with open(os.path.join(folder, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    weights = {}
    for group in manifest:
        raw = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            weights[w["name"]] = np.frombuffer(raw, "<f4", count, offset).reshape(w["shape"])
            offset += 4 * count

    def same_pad(x, k, s):
        pads = []
        for size in (x.shape[3], x.shape[2]):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    def bn_relu6(x, name):
        g, b, m, v = (torch.from_numpy(weights["%s/%s" % (name, p)].copy())
                      for p in ("gamma", "beta", "moving_mean", "moving_variance"))
        x = (x - m[None, :, None, None]) / torch.sqrt(v[None, :, None, None] + 1e-3)
        return torch.clamp(x * g[None, :, None, None] + b[None, :, None, None], 0, 6)

    def conv(x, name, stride):
        w = torch.from_numpy(weights[name + "/kernel"].transpose(3, 2, 0, 1).copy())  # HWIO->OIHW
        return F.conv2d(same_pad(x, w.shape[2], stride), w, stride=stride)

    def depthwise(x, name, stride):
        w = weights[name + "/depthwise_kernel"]  # [3, 3, C, 1]
        w = torch.from_numpy(w.transpose(2, 3, 0, 1).copy())  # -> [C, 1, 3, 3]
        return F.conv2d(same_pad(x, 3, stride), w, stride=stride, groups=w.shape[0])

    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    result = {}
    for name in files:
        img = Image.open(os.path.join(DATA, name)).convert("RGB")
        w, h = img.size
        side = int(0.875 * min(w, h) + 0.5)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((224, 224), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
        with torch.no_grad():
            x = bn_relu6(conv(x, "conv1", 2), "conv1_bn")
            for i, s in enumerate(strides, 1):
                x = bn_relu6(depthwise(x, "conv_dw_%d" % i, s), "conv_dw_%d_bn" % i)
                x = bn_relu6(conv(x, "conv_pw_%d" % i, 1), "conv_pw_%d_bn" % i)
            x = x.mean((2, 3))
            k = torch.from_numpy(weights["conv_preds/kernel"].reshape(-1, 1000).copy())
            logits = x @ k + torch.from_numpy(weights["conv_preds/bias"].copy())
        result[name] = int(logits.argmax()) + 1  # Keras class k = 1001-way index k+1
    return result


def check_keras(truth, report):
    files = sorted(truth)
    oracle = keras_v1_oracle(files)
    mine = mnet_top1(os.path.join(MODELS, "mobilenet_v1_0.75_224.safetensors"), files)
    n = len(files)
    agree = sum(1 for f in files if mine[f] + 1 == oracle[f])
    mnet_correct = sum(1 for f in files if mine[f] + 1 == truth[f])
    oracle_correct = sum(1 for f in files if oracle[f] == truth[f])
    report["mobilenet_v1_0.75_224.safetensors"] = {
        "images": n, "agreement_top1": agree / n, "mnet_top1": mnet_correct / n,
        "oracle": "PyTorch forward of the original TF.js weights (unfolded BN)",
        "oracle_top1": oracle_correct / n}
    print("mobilenet_v1_0.75_224: top-1 agrees with the Keras-weights oracle on %d/%d; "
          "top-1 accuracy mnet %.1f %%, oracle %.1f %%" %
          (agree, n, 100.0 * mnet_correct / n, 100.0 * oracle_correct / n))
    return agree / n >= MIN_AGREEMENT


def main():
    if not os.path.exists(MNET):
        skip("build/mnet is missing")
    if not os.path.isdir(DATA):
        skip("imagenet-dev is missing")
    truth = labels_1001()
    report = {}
    results = []
    for model, fixture in (("mobilenet_v2_1.0_224.safetensors", "mobilenet_v2_1.0_224_quant.json"),
                           ("mobilenet_v1_1.0_224.safetensors", "mobilenet_v1_1.0_224_quant.json")):
        if not os.path.exists(os.path.join(ARMNN_FIXTURES, fixture)):
            print("FAIL: fixture %s is missing" % fixture)
            results.append(False)
            continue
        results.append(check_against_armnn(model, fixture, truth, report))
    results.append(check_keras(truth, report))
    report_and_exit(results, report, "accuracy.json")


if __name__ == "__main__":
    main()
