"""mnet's int8 path against the original TFLite runtime: the committed
fixtures in tests/fixtures/tflite (tools/oracle/tflite_fixtures.py) hold
TFLite's outputs of the original .tflite files on exactly the input tensors
of the Arm NN fixtures (tests/fixtures/armnn). Node is not needed here.

The oracle is TFLite 2.x as compiled to WebAssembly in the npm package
@tensorflow/tfjs-tflite 0.0.1-alpha.10. That build applies TFLite's default
XNNPACK delegate (QU8/QS8 kernels, fp32 requantization) and has no switch to
turn it off, so it is "TFLite with its default delegate", not TFLite's
reference integer kernels: it rounds differently from both Arm NN CpuRef
(float32 layer, one rounding) and mnet (TFLite's integer arithmetic with one
rounding of the Q0.31 multiplier product).

Checks (limits a little under what the committed fixtures measure; the
measured numbers are in the comments next to the limits):
* Classifiers (every fixture image, input rebuilt with the oracle's PIL
  preprocessing and its sha256 checked): uint8 softmax outputs equal on >=
  exact_min, max diff <= max_diff, top-1 identical on all but top1_misses of
  the images whose TFLite maximum is not tied. V2 PTQ: the int8 logits
  (mean |diff|, share within 2 steps, top-1 of the logits).
* SSD: of TFLite's detections with score > 0.5, the share that `mnet detect
  --precision int8` matches with the same class, IoU >= 0.9 and a score
  within 3/256 (strict: IoU >= 0.99, 1/256 is printed).
* DeepLab 513 uint8: the 33x33x21 uint8 logits (the sample points of the
  align-corners resize are exactly the model's low-resolution logits) and
  the masks of `mnet segment --precision int8` against TFLite's own ARG_MAX.
The same numbers between TFLite and Arm NN (from the two fixture sets) and
between mnet and Arm NN are printed, not checked, to show the three-way
picture."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np

import test_int8_vs_armnn as C   # Runner, model_file, quantization, top1; sets sys.path
import test_int8_detect_segment_vs_armnn as D  # iou, mnet_cli, model_and_data, int8_session, quant_of
from test_int8_vs_armnn import SHARED, SOURCE

TFLITE = os.path.join(SOURCE, "tests", "fixtures", "tflite")
ARMNN = os.path.join(SOURCE, "tests", "fixtures", "armnn")

# name, fixture, source .tflite for q8_model_fixup, limits
CLASSIFIERS = [
    ("mobilenet_v1_1.0_224", "mobilenet_v1_1.0_224_quant.json", None,
     {"exact_min": 0.9975, "max_diff": 16, "top1_misses": 1}),  # 99.801 %, 13, 97/98
    ("mobilenet_v2_1.0_224", "mobilenet_v2_1.0_224_quant.json",
     "mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite",
     {"exact_min": 0.9985, "max_diff": 12, "top1_misses": 1}),  # 99.878 %, 8, 100/100
]
PTQ = ("mobilenet_v2_1.0_224_ptq", "mobilenet_v2_1.0_224_ptq.json",
       {"logits_mean_diff_max": 0.80, "logits_within_2": 0.975, "top1_misses": 1,  # 0.730, 98.15 %, 39/40
        "output_exact_min": 0.995, "output_max_diff": 20})  # uint8 outputs: 99.653 %, 17
# name, fixture, loose match rate of TFLite's detections with score > 0.5
SSD = [("ssd_mobilenet_v1_coco", "ssd_mobilenet_v1_coco.json", 0.97),   # 322/327 = 98.5 %
       ("ssd_mobilenet_v2_coco", "ssd_mobilenet_v2_coco.json", 0.85)]   # 161/184 = 87.5 %
SCORE_MIN = 0.5
# name, fixture, (uint8 logits equal, max logit difference, mask pixels equal)
# measured: dm1.0 41.92 %, 4, 99.792 %; dm0.5 53.47 %, 4, 99.812 %
DEEPLAB = [("deeplabv3_mnv2_dm1.0_pascal", "deeplabv3_mnv2_pascal_quant.json", (0.40, 5, 0.997)),
           ("deeplabv3_mnv2_dm0.5_pascal", "deeplabv3_mnv2_dm05_pascal_quant.json", (0.51, 5, 0.997))]
MIN_IMAGES = 90  # classifier fixture images whose exact input must be rebuilt

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def load(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def b64_array(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype)


def zlib_array(text, dtype, shape):
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype).reshape(shape)


class Agreement:
    """Element-wise agreement of uint8/int8 vectors and of their top-1."""

    def __init__(self):
        self.equal = self.within1 = self.within2 = self.total = self.worst = self.abs_sum = 0
        self.top_same = self.top_compared = 0

    def add(self, a, b, compare_top1=True):
        d = np.abs(a.astype(np.int64) - b.astype(np.int64))
        self.equal += int((d == 0).sum())
        self.within1 += int((d <= 1).sum())
        self.within2 += int((d <= 2).sum())
        self.abs_sum += int(d.sum())
        self.total += d.size
        self.worst = max(self.worst, int(d.max()))
        if compare_top1:
            self.top_compared += 1
            self.top_same += int(C.top1(a) == C.top1(b))

    def rate(self):
        return self.equal / max(self.total, 1)

    def text(self):
        n = max(self.total, 1)
        return ("equal %.3f %%, within 1 %.3f %%, max diff %d, top-1 same %d/%d"
                % (100 * self.equal / n, 100 * self.within1 / n, self.worst, self.top_same,
                   self.top_compared))


def untied(v):
    return int((v == v.max()).sum()) == 1


def check_classifier(wrapper, name, fixture_name, tflite, limits, tmp):
    import armnn_fixtures
    tfl, arm = load(TFLITE, fixture_name), load(ARMNN, fixture_name)
    path = C.model_file(name, tflite, tmp)
    data_dir = os.path.join(SHARED, "data", "imagenet-dev")
    if tfl is None or arm is None or path is None or not os.path.isdir(data_dir):
        print("%s: fixtures, model, source .tflite or imagenet-dev missing, skipped" % name)
        return False
    arm_by_file = {r["file"]: r for r in arm["images"]}
    in_q = C.quantization(path)["input"]
    mnet_tfl, mnet_arm, tfl_arm = Agreement(), Agreement(), Agreement()
    with C.Runner(wrapper, path) as runner:
        for rec in tfl["images"]:
            pixels = armnn_fixtures.classification_input(os.path.join(data_dir, rec["file"]))
            if armnn_fixtures.sha256_bytes(pixels[None].tobytes()) != rec["input_sha256"]:
                print("  %s: PIL no longer gives the fixture's input tensor, skipped" % rec["file"])
                continue
            theirs = b64_array(rec["output_uint8_b64"], np.uint8)
            mine, _ = runner.run_pixels(pixels, in_q)
            mnet_tfl.add(mine, theirs, untied(theirs))
            a = arm_by_file.get(rec["file"])
            if a is not None and a["input_sha256"] == rec["input_sha256"]:
                armnn = b64_array(a["output_uint8_b64"], np.uint8)
                mnet_arm.add(mine, armnn, untied(armnn))
                tfl_arm.add(theirs, armnn, untied(armnn))
    images = mnet_tfl.total // 1001
    print("%s, %d images (uint8 softmax outputs):" % (name, images))
    print("  mnet   vs TFLite: %s" % mnet_tfl.text())
    print("  TFLite vs Arm NN: %s" % tfl_arm.text())
    print("  mnet   vs Arm NN: %s" % mnet_arm.text())
    check(images >= MIN_IMAGES, "%s: only %d fixture inputs rebuilt" % (name, images))
    check(mnet_tfl.rate() >= limits["exact_min"] and mnet_tfl.worst <= limits["max_diff"],
          "%s: mnet vs TFLite equal %.3f %% (min %.2f %%), max diff %d (max %d)"
          % (name, 100 * mnet_tfl.rate(), 100 * limits["exact_min"], mnet_tfl.worst, limits["max_diff"]))
    check(mnet_tfl.top_compared > 0 and
          mnet_tfl.top_compared - mnet_tfl.top_same <= limits["top1_misses"],
          "%s: top-1 differs from TFLite on %d of %d untied images"
          % (name, mnet_tfl.top_compared - mnet_tfl.top_same, mnet_tfl.top_compared))
    return True


def check_ptq(wrapper, tmp):
    import armnn_fixtures
    name, fixture_name, limits = PTQ
    tfl, arm = load(TFLITE, fixture_name), load(ARMNN, fixture_name)
    model_path = os.path.join(SOURCE, "models", name + ".safetensors")
    data_dir = os.path.join(SHARED, "data", "imagenet-dev")
    if tfl is None or arm is None or not os.path.exists(model_path) or not os.path.isdir(data_dir):
        print("%s: fixtures, model or imagenet-dev missing, skipped" % name)
        return False
    quant = C.quantization(model_path)
    out_q, model_in = quant["output"], quant["model_input"]
    check(tfl["logits"]["scale"] == out_q["scale"] and tfl["logits"]["zero_point"] == out_q["zero_point"],
          "%s: fixture logits quantization %s, model %s" % (name, tfl["logits"], out_q))
    arm_by_file = {r["file"]: r for r in arm["images"]}
    logits = {"mnet vs TFLite": Agreement(), "TFLite vs Arm NN": Agreement(),
              "mnet vs Arm NN": Agreement()}
    outputs = {"mnet vs TFLite": Agreement(), "TFLite vs Arm NN": Agreement(),
               "mnet vs Arm NN": Agreement()}
    with C.Runner(wrapper, model_path) as runner:
        for rec in tfl["images"]:
            pixels = armnn_fixtures.classification_input(os.path.join(data_dir, rec["file"]))
            if hashlib.sha256(pixels.tobytes()).hexdigest() != rec["input_sha256"]:
                print("  %s: PIL no longer gives the fixture's input tensor, skipped" % rec["file"])
                continue
            normalized = (pixels.astype(np.float32) - model_in["zero_point"]) * np.float32(model_in["scale"])
            probabilities, _ = runner.run(normalized.reshape(-1))  # the session's uint8 output
            f = runner.session.output(0).reshape(-1)  # its float logits
            mine = (np.round(f / out_q["scale"]) + out_q["zero_point"]).astype(np.int64)
            theirs = b64_array(rec["logits_int8_b64"], np.int8)
            logits["mnet vs TFLite"].add(mine, theirs, untied(theirs))
            their_output = b64_array(rec["output_uint8_b64"], np.uint8)
            outputs["mnet vs TFLite"].add(probabilities, their_output, untied(their_output))
            a = arm_by_file.get(rec["file"])
            if a is not None:
                armnn = b64_array(a["logits_int8_b64"], np.int8)
                logits["TFLite vs Arm NN"].add(theirs, armnn, untied(armnn))
                logits["mnet vs Arm NN"].add(mine, armnn, untied(armnn))
                arm_output = b64_array(a["output_uint8_b64"], np.uint8)
                outputs["TFLite vs Arm NN"].add(their_output, arm_output, untied(arm_output))
                outputs["mnet vs Arm NN"].add(probabilities, arm_output, untied(arm_output))
    m = logits["mnet vs TFLite"]
    images = m.total // 1001
    print("%s, %d images (int8 logits before the softmax):" % (name, images))
    for key, ag in logits.items():
        print("  %-16s: %s, within 2 %.2f %%, mean |diff| %.3f"
              % (key, ag.text(), 100 * ag.within2 / max(ag.total, 1), ag.abs_sum / max(ag.total, 1)))
    print("%s, uint8 model outputs (softmax, then QUANTIZE to uint8):" % name)
    for key, ag in outputs.items():
        print("  %-16s: %s" % (key, ag.text()))
    if images == 0:
        return False
    check(m.abs_sum / m.total <= limits["logits_mean_diff_max"] and
          m.within2 >= limits["logits_within_2"] * m.total,
          "%s: logits mean |diff| %.3f, %.2f %% within 2 steps"
          % (name, m.abs_sum / m.total, 100 * m.within2 / m.total))
    o = outputs["mnet vs TFLite"]
    check(o.rate() >= limits["output_exact_min"] and o.worst <= limits["output_max_diff"],
          "%s: uint8 outputs equal to TFLite's on %.3f %%, max diff %d" % (name, 100 * o.rate(), o.worst))
    check(m.top_compared - m.top_same <= limits["top1_misses"],
          "%s: logits top-1 differs from TFLite on %d of %d images"
          % (name, m.top_compared - m.top_same, m.top_compared))
    return True


class DetectionMatch:
    """Of `reference`'s detections with score > SCORE_MIN, how many `other`
    has with the same class: loose (IoU >= 0.9, score within 3/256) and
    strict (IoU >= 0.99, score within 1/256)."""

    def __init__(self):
        self.total = self.loose = self.strict = 0

    def add(self, reference, other):
        for cls, box, score in reference:
            if score <= SCORE_MIN:
                continue
            overlaps = [(D.iou(b, box), abs(s - score)) for c, b, s in other if c == cls]
            self.total += 1
            self.loose += any(o >= 0.9 and ds <= 3 * D.STEP + 1e-6 for o, ds in overlaps)
            self.strict += any(o >= 0.99 and ds <= D.STEP + 1e-6 for o, ds in overlaps)

    def rate(self):
        return self.loose / max(self.total, 1)

    def text(self):
        n = max(self.total, 1)
        return "%d detections > %.1f: %d (%.1f %%) loose, %d (%.1f %%) strict" % (
            self.total, SCORE_MIN, self.loose, 100 * self.loose / n, self.strict, 100 * self.strict / n)


def fixture_detections(rec):
    return [(c, [min(max(v, 0.0), 1.0) for v in b], s)
            for c, b, s in zip(rec["classes"], rec["boxes"], rec["scores"])]


def check_ssd(name, fixture_name, loose_min, tmp):
    tfl, arm = load(TFLITE, fixture_name), load(ARMNN, fixture_name)
    found = D.model_and_data(name, os.path.join("coco-dev", "images"), "COCO dev images")
    if tfl is None or arm is None or found is None:
        return False
    model, data_dir = found
    runs = D.mnet_detections(name, model, data_dir, tfl["images"], tmp)
    if not runs:
        return False
    arm_by_file = {r["file"]: r for r in arm["images"]}
    mnet_tfl, tfl_arm, arm_tfl, mnet_arm = (DetectionMatch() for _ in range(4))
    for rec, mine in runs:
        theirs = fixture_detections(rec)
        mnet_tfl.add(theirs, mine)
        a = arm_by_file.get(rec["file"])
        if a is not None:
            armnn = fixture_detections(a)
            tfl_arm.add(theirs, armnn)
            arm_tfl.add(armnn, theirs)
            mnet_arm.add(armnn, mine)
    print("%s, %d images:" % (name, len(runs)))
    print("  TFLite's detections found by mnet int8: %s" % mnet_tfl.text())
    print("  TFLite's detections found by Arm NN:    %s" % tfl_arm.text())
    print("  Arm NN's detections found by TFLite:    %s" % arm_tfl.text())
    print("  Arm NN's detections found by mnet int8: %s" % mnet_arm.text())
    check(mnet_tfl.total > 0 and mnet_tfl.rate() >= loose_min,
          "%s: %.1f %% of TFLite's detections matched (min %.0f %%)"
          % (name, 100 * mnet_tfl.rate(), 100 * loose_min))
    return True


def check_deeplab(lib, name, fixture_name, limits, tmp):
    from PIL import Image
    logits_min, max_diff, mask_min = limits
    tfl, arm = load(TFLITE, fixture_name), load(ARMNN, fixture_name)
    found = D.model_and_data(name, os.path.join("voc-dev", "images_513"), "VOC dev images")
    if tfl is None or arm is None or found is None:
        return False
    model, data_dir = found
    quant = D.quant_of(model)
    in_q, out_q = quant["input"], quant["activations"]["logits"]
    arm_by_file = {r["file"]: r for r in arm["images"]}
    logit_ag = {"mnet vs TFLite": Agreement(), "TFLite vs Arm NN": Agreement(),
                "mnet vs Arm NN": Agreement()}
    paths, records = [], []
    with D.int8_session(lib, model) as session:
        for rec in tfl["images"]:
            path = os.path.join(data_dir, rec["file"])
            if not os.path.exists(path):
                continue
            pixels = np.asarray(Image.open(path).convert("RGB"), np.uint8)
            if hashlib.sha256(pixels.tobytes()).hexdigest() != rec["input_sha256"]:
                check(False, "%s: %s differs from the fixture's input" % (name, rec["file"]))
                continue
            session.run((pixels.astype(np.float32) - in_q["zero_point"]) * np.float32(in_q["scale"]))
            mine = (np.round(session.output(0) / np.float32(out_q["scale"])) + out_q["zero_point"])
            theirs = zlib_array(rec["sampled_logits_u8_zlib_b64"], np.uint8, rec["sampled_logits_shape"])
            if mine.shape != theirs.shape:
                check(False, "%s: logits %s, fixture %s" % (name, mine.shape, theirs.shape))
                continue
            logit_ag["mnet vs TFLite"].add(mine.reshape(-1), theirs.reshape(-1), False)
            a = arm_by_file.get(rec["file"])
            if a is not None:
                armnn = zlib_array(a["sampled_logits_u8_zlib_b64"], np.uint8, a["sampled_logits_shape"])
                logit_ag["TFLite vs Arm NN"].add(theirs.reshape(-1), armnn.reshape(-1), False)
                logit_ag["mnet vs Arm NN"].add(mine.reshape(-1), armnn.reshape(-1), False)
            paths.append(path)
            records.append(rec)
    if not paths:
        return False
    result = subprocess.run([D.mnet_cli(), "segment", "-m", model, "--precision", "int8", "--json",
                             "-o", os.path.join(tmp, name), "--threads", "1"] + paths,
                            capture_output=True, text=True)
    check(result.returncode == 0, "%s: mnet segment exit %d: %s"
          % (name, result.returncode, result.stderr.strip()))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    masks = {"mnet vs TFLite": [0, 0], "TFLite vs Arm NN": [0, 0], "mnet vs Arm NN": [0, 0]}

    def count(key, x, y):
        masks[key][0] += int((x == y).sum())
        masks[key][1] += x.size

    for line, rec in zip(lines, records):
        mine = np.asarray(Image.open(line["mask"]))
        theirs = zlib_array(rec["mask_zlib_b64"], np.uint8, rec["mask_shape"])
        if mine.shape != theirs.shape:
            check(False, "%s: mask %s, fixture %s" % (name, mine.shape, theirs.shape))
            continue
        count("mnet vs TFLite", mine, theirs)
        a = arm_by_file.get(rec["file"])
        if a is not None:
            armnn = zlib_array(a["mask_zlib_b64"], np.uint8, a["mask_shape"])
            count("TFLite vs Arm NN", theirs, armnn)
            count("mnet vs Arm NN", mine, armnn)
    print("%s, %d images (uint8 logits at the 33x33 sample points; 513x513 masks):" % (name, len(lines)))
    for key in logit_ag:
        ag, (same, total) = logit_ag[key], masks[key]
        print("  %-16s: logits equal %.3f %%, within 1 %.3f %%, max diff %d; mask pixels equal %.4f %%"
              % (key, 100 * ag.rate(), 100 * ag.within1 / max(ag.total, 1), ag.worst,
                 100 * same / max(total, 1)))
    m = logit_ag["mnet vs TFLite"]
    check(m.total > 0 and m.rate() >= logits_min and m.worst <= max_diff,
          "%s: logits equal to TFLite's on %.3f %%, max diff %d" % (name, 100 * m.rate(), m.worst))
    same, total = masks["mnet vs TFLite"]
    check(total > 0 and same >= mask_min * total,
          "%s: masks equal to TFLite's on %.4f %%" % (name, 100 * same / max(total, 1)))
    return True


def print_float_deeplab():
    """The float 257 model (not an int8 path of mnet): TFLite vs Arm NN only."""
    name = "deeplabv3_257_mv_gpu.json"
    tfl, arm = load(TFLITE, name), load(ARMNN, name)
    if tfl is None or arm is None:
        return
    same = total = 0
    worst = 0.0
    for t, a in zip(tfl["images"], arm["images"]):
        x = zlib_array(t["mask_zlib_b64"], np.uint8, t["mask_shape"])
        y = zlib_array(a["mask_zlib_b64"], np.uint8, a["mask_shape"])
        same += int((x == y).sum())
        total += x.size
        lt = zlib_array(t["sampled_logits_f32_zlib_b64"], "<f4", t["sampled_logits_shape"])
        la = zlib_array(a["sampled_logits_f32_zlib_b64"], "<f4", a["sampled_logits_shape"])
        worst = max(worst, float(np.abs(lt - la).max()))
    print("deeplabv3_257_mv_gpu (float32), TFLite vs Arm NN: mask pixels equal %.4f %%, sampled logits "
          "max |diff| %.2e" % (100 * same / max(total, 1), worst))


def main():
    if not D.mnet_cli():
        print("mnet CLI not built: skipped")
        return 77
    try:
        wrapper = C.mnet_ctypes.Mnet()
    except OSError as e:
        print("libmnet.so not found (%s): skipped" % e)
        return 77
    try:
        import armnn_fixtures  # noqa: F401  (the oracle's PIL preprocessing)
    except ImportError as e:
        print("PIL missing (%s): skipped" % e)
        return 77
    print("oracle: TFLite as compiled into npm @tensorflow/tfjs-tflite 0.0.1-alpha.10 (default XNNPACK "
          "delegate, cannot be turned off), fixtures in tests/fixtures/tflite")
    ran = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, fixture, tflite, limits in CLASSIFIERS:
            ran += check_classifier(wrapper, name, fixture, tflite, limits, tmp)
        ran += check_ptq(wrapper, tmp)
        for name, fixture, loose_min in SSD:
            ran += check_ssd(name, fixture, loose_min, tmp)
        for name, fixture, limits in DEEPLAB:
            ran += check_deeplab(wrapper, name, fixture, limits, tmp)
    print_float_deeplab()
    if ran == 0:
        return 77
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
