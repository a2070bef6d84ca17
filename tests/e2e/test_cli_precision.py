"""The --precision contract of the CLI (docs/CLI.md): `classify`, `detect`,
`segment` and `bench` accept --precision int8|fp32|auto; on the bundled
quantized models both precisions give results that agree where the answer
is clear (int8 top-1 equal to fp32's where fp32's margin is large, the
confident fp32 detections found again in int8, masks mostly equal); `bench
--json` and `mnet info` say which precision actually runs; a model without
quantization refuses int8 with exit code 6 and a message naming int8; an
unknown value is a usage error. No timing is checked. Exits 77 without the
binary, the bundled models or the dev images."""
import json
import os
import sys
import tempfile

from cli_harness import box_iou, check, run, summary, MNET, MODELS, EXIT_USAGE, SHARED

EXIT_PRECISION = 6
DATA = os.path.join(SHARED, "data")
CLASSIFIERS = ["mobilenet_v1_1.0_224", "mobilenet_v2_1.0_224"]
DETECTOR = "ssd_mobilenet_v1_coco"
SEGMENTER = "deeplabv3_mnv2_dm0.5_pascal"
# float models (no mnet.quantization) per command
FLOAT_MODELS = {"classify": "mobilenet_v1_0.75_224", "detect": "ssd_mobilenet_v2_oidv4",
                "segment": "deeplabv3_mnv2_dm0.5_257_pascal", "bench": "mobilenet_v1_0.75_224"}
MARGIN = 0.2          # fp32 top-1 minus top-2 probability for a "clear" image
CONFIDENT = 0.5       # fp32 detections that int8 must find again
MASK_EQUAL_MIN = 0.97
DETECT_FOUND_MIN = 0.95   # of the confident fp32 detections, found again in int8


def model(name):
    return os.path.join(MODELS, name + ".safetensors")


def files(folder, count, suffixes=(".jpg", ".jpeg", ".png")):
    if not os.path.isdir(folder):
        return []
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(suffixes))
    return [os.path.join(folder, f) for f in names[:count]]


def json_lines(args, what):
    result = run(args)
    check(result.returncode == 0, f"{what}: exit {result.returncode}: {result.err.strip()}")
    try:
        return [json.loads(line) for line in result.out.splitlines()]
    except ValueError:
        check(False, f"{what}: output is not JSON Lines")
        return []


def test_classify():
    images = files(os.path.join(DATA, "imagenet-dev"), 12, (".jpeg", ".jpg", ".png"))
    for name in CLASSIFIERS:
        runs = {p: json_lines(["classify", "-m", model(name), "--json", "-k", "2",
                               "--precision", p] + images, f"classify {name} {p}")
                for p in ("fp32", "int8")}
        clear = same = 0
        for f, q in zip(runs["fp32"], runs["int8"]):
            top_f, top_q = f["top"], q["top"]
            if len(top_f) < 2 or not top_q or top_f[0]["score"] - top_f[1]["score"] < MARGIN:
                continue
            clear += 1
            same += top_f[0]["index"] == top_q[0]["index"]
        check(len(runs["int8"]) == len(images), f"classify {name} int8: one line per image")
        check(clear > 0 and same == clear,
              f"classify {name}: int8 top-1 equals fp32's on {same}/{clear} clear images")


def test_detect():
    # 40 images (~160 confident detections): with 8 (35 detections) one or two
    # borderline boxes (IoU near 0.7, scores near 0.5) decided the check
    images = files(os.path.join(DATA, "coco-dev", "images"), 40)
    # int8 with a lower threshold: a score near the cut may move by a step
    runs = {p: json_lines(["detect", "-m", model(DETECTOR), "--json", "--threshold", t,
                           "--precision", p] + images, f"detect {p}")
            for p, t in (("fp32", "0.3"), ("int8", "0.1"))}
    confident = found = 0
    for f, q in zip(runs["fp32"], runs["int8"]):
        for d in f["detections"]:
            if d["score"] < CONFIDENT:
                continue
            confident += 1
            found += any(e["class"] == d["class"] and box_iou(e["box"], d["box"]) >= 0.7
                         for e in q["detections"])
    check(len(runs["int8"]) == len(images), "detect int8: one line per image")
    check(confident > 0 and found >= DETECT_FOUND_MIN * confident,
          f"detect: int8 finds {found}/{confident} of fp32's detections scoring >= {CONFIDENT}")


def test_segment(scratch):
    from PIL import Image
    import numpy as np
    images = files(os.path.join(DATA, "voc-dev", "images_513"), 2)
    masks = {}
    for p in ("fp32", "int8"):
        out = os.path.join(scratch, p)
        lines = json_lines(["segment", "-m", model(SEGMENTER), "--json", "-o", out,
                            "--precision", p] + images, f"segment {p}")
        masks[p] = [np.asarray(Image.open(line["mask"])) for line in lines if "mask" in line]
    check(len(masks["int8"]) == len(images), "segment int8: one mask per image")
    for i, (f, q) in enumerate(zip(masks["fp32"], masks["int8"])):
        rate = float((f == q).mean()) if f.shape == q.shape else 0.0
        check(rate >= MASK_EQUAL_MIN,
              f"segment image {i}: int8 and fp32 masks agree on {100 * rate:.2f} % of pixels")


def bench_precision(name, extra):
    lines = json_lines(["bench", "-m", model(name), "--json", "--runs", "2", "--warmup", "1",
                        "--inflight", "1"] + extra, f"bench {name} {extra}")
    return lines[0] if lines else {}


def info_precision(name):
    lines = json_lines(["info", "--json", model(name)], f"info {name}")
    return lines[0].get("precision") if lines else None


def test_bench_and_info():
    for name in (CLASSIFIERS[0], DETECTOR):
        for p in ("int8", "fp32"):
            data = bench_precision(name, ["--precision", p])
            check(data.get("precision") == p and data.get("requested_precision") == p,
                  f"bench {name} --precision {p}: precision {data.get('precision')!r}, "
                  f"requested {data.get('requested_precision')!r}")
        # without the flag the library's AUTO decides; bench and info agree on it
        data = bench_precision(name, [])
        auto = info_precision(name)
        check(data.get("requested_precision") == "auto" and auto in ("int8", "fp32") and
              data.get("precision") == auto,
              f"bench {name} without --precision runs {data.get('precision')!r}, info says "
              f"{auto!r}")
    check(info_precision(FLOAT_MODELS["classify"]) == "fp32", "info: a float model runs fp32")


def test_refusals():
    image = files(os.path.join(DATA, "imagenet-dev"), 1, (".jpeg", ".jpg", ".png"))
    for command, name in FLOAT_MODELS.items():
        args = [command, "-m", model(name), "--precision", "int8"]
        if command == "bench":
            args += ["--runs", "1", "--warmup", "0"]
        else:
            args += image
        result = run(args)
        check(result.returncode == EXIT_PRECISION and "int8" in result.err,
              f"{command} --precision int8 on {name}: exit {result.returncode}, message "
              f"{result.err.strip()!r}")
    for command in ("classify", "detect", "segment", "bench"):
        result = run([command, "--precision", "fp64"] + image)
        check(result.returncode == EXIT_USAGE and "precision" in result.err,
              f"{command} --precision fp64: exit {result.returncode}")


def main():
    os.environ.pop("MNET_PRECISION", None)  # it would override --precision
    needed = [model(n) for n in CLASSIFIERS + [DETECTOR, SEGMENTER] + list(FLOAT_MODELS.values())]
    if not os.path.exists(MNET) or not all(os.path.exists(m) for m in needed) or \
            not os.path.isdir(DATA):
        print("mnet, a bundled model or the dev images missing: skipped")
        return 77
    test_classify()
    test_detect()
    with tempfile.TemporaryDirectory() as scratch:
        test_segment(scratch)
    test_bench_and_info()
    test_refusals()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
