"""End-to-end contract of `mnet detect` and `mnet segment` (docs/CLI.md).

Runs $MNET_BUILD_DIR/mnet on the sample images, the COCO and VOC dev images
and the bundled SSD and DeepLab models. Checks the JSON Lines shapes and
field names, the echoed paths, boxes inside the image, --threshold and
--max, the -o pictures (read back with PIL: sizes, palette, mask values,
pixel counts against the JSON, the blend of the overlay), raw frames, the
default models, and the errors and exit codes. Independent oracles: labels
from the model files' own metadata, COCO box annotations and VOC label
masks of the dev sets, the VOC colormap computed here from its definition
and compared with the palette of the VOC label files. Pieces whose model
is not bundled are skipped; exit 77 when none can run.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from cli_harness import (
    box_iou, check, require_cli, run, summary, SOURCE, BUILD, SHARED, MODELS, IMAGES, EXIT_USAGE,
    EXIT_BAD_IMAGE, EXIT_BAD_MODEL)

DETECT_MODEL = os.path.join(MODELS, "ssd_mobilenet_v2_coco.safetensors")
SEGMENT_MODEL = os.path.join(MODELS, "deeplabv3_mnv2_dm1.0_pascal.safetensors")
OTHER_SEGMENT_MODELS = [os.path.join(MODELS, name) for name in
                        ("deeplabv3_mnv2_dm0.5_pascal.safetensors",
                         "deeplabv3_mnv2_dm0.5_257_pascal.safetensors")]
CLASSIFIER = os.path.join(MODELS, "mobilenet_v2_1.0_224.safetensors")
COCO = os.path.join(SHARED, "data", "coco-dev")
VOC = os.path.join(SHARED, "data", "voc-dev")


def json_lines(result, what):
    try:
        return [json.loads(line) for line in result.out.splitlines()]
    except ValueError as error:
        check(False, f"{what}: output is not JSON Lines: {error}")
        return []


def model_labels(path):
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        metadata = json.loads(f.read(length))["__metadata__"]
    config = json.loads(metadata["mnet.config"])
    labels = json.loads(metadata["mnet.labels"]) if "mnet.labels" in metadata else []
    return config["num_classes"], labels


def image_size(path):
    with Image.open(path) as picture:
        return picture.size


def check_one_line_error(result, expected_code, names, what):
    check(result.returncode == expected_code,
          f"{what}: exit {result.returncode}, expected {expected_code}: {result.err.strip()}")
    lines = result.err.splitlines()
    check(len(lines) == 1 and all(n in lines[0] for n in names),
          f"{what}: expected one stderr line naming {names}, got {lines}")


# ------------------------------------------------------------------ detect --

def check_detection_line(obj, path, labels, threshold, where):
    check(set(obj) >= {"image", "width", "height", "detections"} and
          set(obj) <= {"image", "width", "height", "detections", "annotated"},
          f"{where}: keys {sorted(obj)}")
    check(obj.get("image") == path, f"{where}: image {obj.get('image')!r} != {path!r}")
    if not os.path.isabs(path):
        path = os.path.join(SOURCE, path)
    width, height = image_size(path) if os.path.exists(path) else (obj["width"], obj["height"])
    check((obj.get("width"), obj.get("height")) == (width, height),
          f"{where}: size {obj.get('width')}x{obj.get('height')}, image is {width}x{height}")
    previous = float("inf")
    for d in obj.get("detections", []):
        check(set(d) == {"label", "class", "score", "box"}, f"{where}: detection keys {sorted(d)}")
        c, score, box = d.get("class"), d.get("score"), d.get("box")
        check(isinstance(c, int) and 0 <= c < len(labels) and d.get("label") == labels[c],
              f"{where}: class {c} label {d.get('label')!r} is not the model's")
        check(isinstance(score, (int, float)) and threshold <= score <= 1.0,
              f"{where}: score {score} outside [{threshold}, 1]")
        check(score <= previous, f"{where}: detections not best first")
        previous = score
        check(isinstance(box, list) and len(box) == 4, f"{where}: box {box}")
        if isinstance(box, list) and len(box) == 4:
            x0, y0, x1, y1 = box
            check(0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height,
                  f"{where}: box {box} not inside {width}x{height} with x0<=x1, y0<=y1")


def test_detect_json(samples, labels):
    rng = random.Random(11)
    given = [os.path.relpath(p, SOURCE) for p in samples]
    given += [os.path.abspath(samples[0]), "./" + os.path.relpath(samples[-1], SOURCE)]
    rng.shuffle(given)
    for threshold in (0.0, 0.05, 0.3, 0.5, 0.9, 1.0):
        result = run(["detect", "--json", "--threshold", str(threshold), "-m", DETECT_MODEL]
                     + given, cwd=SOURCE)
        check(result.returncode == 0 and result.err == "",
              f"detect --threshold {threshold}: exit {result.returncode}: {result.err.strip()}")
        objects = json_lines(result, "detect --json")
        check(len(objects) == len(given), f"{len(objects)} lines for {len(given)} images")
        for path, obj in zip(given, objects):
            check_detection_line(obj, path, labels, threshold, f"T={threshold} {path}")


def detections(paths, extra=()):
    result = run(["detect", "--json", "-m", DETECT_MODEL] + list(extra) + list(paths))
    check(result.returncode == 0, f"detect {list(extra)}: exit {result.returncode}: "
          f"{result.err.strip()}")
    return [o["detections"] for o in json_lines(result, "detect")]


def same_detection(a, b):
    return a["class"] == b["class"] and abs(a["score"] - b["score"]) < 1e-5 and \
        max(abs(p - q) for p, q in zip(a["box"], b["box"])) < 1e-3


def test_threshold_and_max(samples):
    low = detections(samples, ["--threshold", "0.05"])
    high = detections(samples, ["--threshold", "0.4"])
    for path, every, strong in zip(samples, low, high):
        # NMS only lets stronger boxes suppress weaker ones, so a higher
        # threshold keeps exactly the strong part of the low-threshold list
        # (unless the low list was cut by the maximum count).
        expected = [d for d in every if d["score"] >= 0.4]
        check(len(strong) == len(expected) and all(map(same_detection, strong, expected)),
              f"{os.path.basename(path)}: T=0.4 is not the T=0.05 list cut at 0.4")
    for n in (1, 2, 3):
        capped = detections(samples, ["--threshold", "0.05", "--max", str(n)])
        for path, every, few in zip(samples, low, capped):
            check(len(few) == min(n, len(every)), f"{os.path.basename(path)}: --max {n} gave "
                  f"{len(few)} of {len(every)}")
            check(all(map(same_detection, few, every[:n])),
                  f"{os.path.basename(path)}: --max {n} is not the best {n}")
    # The default threshold is 0.5.
    default = detections(samples)
    for every, shown in zip(low, default):
        check(len(shown) == len([d for d in every if d["score"] >= 0.5]),
              "default threshold is not 0.5")


def test_detect_finds_objects(samples):
    # What the photos show (a person looked at them), not what mnet printed.
    expected = {"banana.jpg": "banana", "dog.jpg": "dog", "goose.jpg": "bird",
                "hotdog.jpg": "hot dog", "tennis.jpg": "person"}
    paths = [p for p in samples if os.path.basename(p) in expected]
    for path, found in zip(paths, detections(paths, ["--threshold", "0.3"])):
        labels = [d["label"] for d in found]
        check(expected[os.path.basename(path)] in labels,
              f"{os.path.basename(path)}: {expected[os.path.basename(path)]!r} not in {labels}")


def test_detect_vs_coco_annotations():
    """Confident detections on COCO dev images mostly match an annotated
    object of the same category (IoU >= 0.5)."""
    annotations = os.path.join(COCO, "instances_train2017_subset.json")
    if not os.path.exists(annotations):
        return
    with open(annotations) as f:
        gt = json.load(f)
    names = {c["id"]: c["name"] for c in gt["categories"]}
    images = sorted(gt["images"], key=lambda i: i["file_name"])[:16]
    paths = [os.path.join(COCO, "images", i["file_name"]) for i in images]
    confident = matched = 0
    for image, found in zip(images, detections(paths, ["--threshold", "0.5"])):
        truth = [(names[a["category_id"]], [a["bbox"][0], a["bbox"][1],
                                            a["bbox"][0] + a["bbox"][2],
                                            a["bbox"][1] + a["bbox"][3]])
                 for a in gt["annotations"] if a["image_id"] == image["id"]]
        for d in found:
            confident += 1
            matched += any(name == d["label"] and box_iou(box, d["box"]) >= 0.5
                           for name, box in truth)
    check(confident >= 10, f"only {confident} confident detections on 16 COCO images")
    check(matched >= 0.7 * confident,
          f"{matched} of {confident} confident detections match a COCO annotation")


def test_detect_plain(samples):
    plain = run(["detect", "-m", DETECT_MODEL, "--threshold", "0.3"] + samples)
    as_json = json_lines(run(["detect", "--json", "-m", DETECT_MODEL, "--threshold", "0.3"]
                             + samples), "detect")
    check(plain.returncode == 0, f"plain detect: exit {plain.returncode}")
    lines = plain.out.splitlines()
    expected = sum(1 + len(o["detections"]) for o in as_json)
    check(len(lines) == expected, f"plain detect has {len(lines)} lines, expected {expected}")
    for obj in as_json:
        header = [line for line in lines if line.startswith(obj["image"] + " ")]
        check(len(header) == 1, f"plain output has no header line for {obj['image']}")
        for d in obj["detections"]:
            check(any(f"  {d['label']} ({d['class']})" in line for line in lines),
                  f"plain output lacks {d['label']} ({d['class']})")


def unchanged_fraction(a, b):
    return float(np.mean(np.all(a == b, axis=2)))


def test_detect_annotated(samples, scratch):
    out = os.path.join(scratch, "boxes", "nested")  # -o creates missing folders
    twin_dir = os.path.join(scratch, "twin")
    os.mkdir(twin_dir)
    twin = os.path.join(twin_dir, os.path.basename(samples[0]))
    shutil.copy(samples[0], twin)
    given = samples + [twin]
    result = run(["detect", "--json", "-m", DETECT_MODEL, "--threshold", "0.3", "-o", out] + given)
    check(result.returncode == 0, f"detect -o: exit {result.returncode}: {result.err.strip()}")
    objects = json_lines(result, "detect -o")
    written = [o.get("annotated") for o in objects]
    check(all(written) and len(set(written)) == len(given),
          f"every image needs its own annotated file: {written}")
    for path, obj in zip(given, objects):
        annotated = obj.get("annotated")
        if not annotated:
            continue
        check(os.path.dirname(os.path.abspath(annotated)) == os.path.abspath(out),
              f"{annotated} is not in {out}")
        check(os.path.isfile(annotated), f"{annotated} missing")
        if not os.path.isfile(annotated):
            continue
        with Image.open(annotated) as picture:
            check(picture.format in ("PNG", "JPEG") and picture.size == image_size(path),
                  f"{annotated}: {picture.format} {picture.size}, input {image_size(path)}")
            drawn = np.asarray(picture.convert("RGB"))
        with Image.open(path) as picture:
            original = np.asarray(picture.convert("RGB"))
        if drawn.shape != original.shape:
            continue
        same = unchanged_fraction(drawn, original)
        if obj["detections"]:
            check(same < 0.999, f"{annotated}: nothing drawn for {len(obj['detections'])} boxes")
            # Box edges: pixels along each box's left edge were painted.
            for d in obj["detections"]:
                x0, y0, x1, y1 = (int(v) for v in d["box"])
                x0 = min(x0, original.shape[1] - 1)
                column = slice(max(y0, 0), max(y1, y0 + 1))
                changed = np.mean(np.any(drawn[column, x0] != original[column, x0], axis=1))
                check(changed > 0.5, f"{annotated}: left edge of {d['label']} box not drawn")
        check(same > 0.5, f"{annotated}: only {same:.0%} of the picture left as it was")


def test_wrong_models(sample, scratch):
    garbage = os.path.join(scratch, "garbage.safetensors")
    with open(garbage, "wb") as f:
        f.write(random.Random(3).randbytes(2048))
    cases = [("detect", CLASSIFIER), ("detect", SEGMENT_MODEL), ("segment", CLASSIFIER),
             ("segment", DETECT_MODEL), ("classify", DETECT_MODEL), ("classify", SEGMENT_MODEL),
             ("detect", garbage), ("segment", garbage),
             ("detect", os.path.join(scratch, "missing.safetensors")), ("segment", scratch)]
    bundled = (CLASSIFIER, DETECT_MODEL, SEGMENT_MODEL)
    for command, model in cases:
        if model in bundled and not os.path.exists(model):
            continue
        result = run([command, "-m", model, sample])
        check_one_line_error(result, EXIT_BAD_MODEL, [model], f"{command} -m {model}")
        check(result.out == "", f"{command} -m {model}: printed results anyway")


def test_bad_images(command, model, samples, scratch):
    text = os.path.join(scratch, "notes.jpg")
    with open(text, "w") as f:
        f.write("not an image\n")
    missing = os.path.join(scratch, "missing.png")
    given = [samples[0], text, samples[1], missing]
    result = run([command, "--json", "-m", model] + given)
    check(result.returncode == EXIT_BAD_IMAGE, f"{command} bad images: exit {result.returncode}")
    printed = [o["image"] for o in json_lines(result, command)]
    check(printed == [samples[0], samples[1]], f"{command}: good images printed {printed}")
    lines = result.err.splitlines()
    check(len(lines) == 2 and text in lines[0] and missing in lines[1],
          f"{command}: expected one line per bad file, got {lines}")


def test_usage_errors(sample):
    for args in (["detect"], ["detect", "--threshold", "1.5", sample],
                 ["detect", "--threshold", "-0.1", sample], ["detect", "--threshold", "x", sample],
                 ["detect", "--threshold", "nan", sample], ["detect", "--max", "0", sample],
                 ["detect", "--max", "two", sample], ["detect", "--bogus", sample],
                 ["detect", "-o"], ["segment"], ["segment", "--threshold", "0.5", sample],
                 ["segment", "--bogus", sample], ["segment", "--threads", "-1", sample]):
        result = run(args)
        check(result.returncode == EXIT_USAGE and result.err.strip(),
              f"mnet {args}: exit {result.returncode}, expected {EXIT_USAGE} with a message")
    for command in ("detect", "segment"):
        check(run([command, "--help"]).returncode == 0 and run(["help", command]).returncode == 0,
              f"{command} --help")


def test_default_model(command, model, samples):
    explicit = run([command, "--json", "-m", model] + samples)
    with tempfile.TemporaryDirectory() as cwd:
        os.mkdir(os.path.join(cwd, "models"))
        with open(os.path.join(cwd, "models", os.path.basename(model)), "wb") as f:
            f.write(b"decoy, never read")
        implicit = run([command, "--json"] + samples, cwd=cwd)
    check(implicit.returncode == 0 and implicit.out == explicit.out,
          f"{command} without -m differs from -m {model}: {implicit.err.strip()}")


# ----------------------------------------------------------------- segment --

def voc_colormap():
    """The VOC devkit's colormap: bit k of each of the three lowest bit
    groups of the class id goes to bit 7-k of red, green and blue."""
    colors = np.zeros((256, 3), np.uint8)
    for index in range(256):
        c, r, g, b = index, 0, 0, 0
        for k in range(8):
            r |= ((c >> 0) & 1) << (7 - k)
            g |= ((c >> 1) & 1) << (7 - k)
            b |= ((c >> 2) & 1) << (7 - k)
            c >>= 3
        colors[index] = (r, g, b)
    return colors


def check_segment_line(obj, path, num_classes, labels, where):
    check(set(obj) in ({"image", "width", "height", "classes"},
                       {"image", "width", "height", "classes", "mask", "overlay"}),
          f"{where}: keys {sorted(obj)}")
    check(obj.get("image") == path, f"{where}: image {obj.get('image')!r} != {path!r}")
    width, height = image_size(path)
    check((obj.get("width"), obj.get("height")) == (width, height), f"{where}: size")
    classes = obj.get("classes", [])
    ids = [c.get("class") for c in classes]
    check(ids == sorted(set(ids)), f"{where}: classes {ids} not in increasing order")
    for c in classes:
        check(set(c) == {"class", "label", "pixels"}, f"{where}: class keys {sorted(c)}")
        check(isinstance(c["class"], int) and 0 <= c["class"] < num_classes,
              f"{where}: class {c['class']}")
        if labels and 0 <= c["class"] < len(labels):
            check(c["label"] == labels[c["class"]], f"{where}: label {c['label']!r}")
        check(isinstance(c["pixels"], int) and c["pixels"] > 0, f"{where}: pixels {c['pixels']}")
    check(sum(c.get("pixels", 0) for c in classes) == width * height,
          f"{where}: pixel counts do not add up to {width}x{height}")


def test_segment(samples, scratch, model):
    num_classes, labels = model_labels(model)
    out = os.path.join(scratch, "masks")
    name = os.path.basename(model)
    result = run(["segment", "--json", "-m", model, "-o", out] + samples)
    check(result.returncode == 0, f"{name} segment -o: exit {result.returncode}: {result.err}")
    objects = json_lines(result, "segment")
    check(len(objects) == len(samples), f"{name}: {len(objects)} lines for {len(samples)}")
    palette = voc_colormap()
    for path, obj in zip(samples, objects):
        where = f"{name} {os.path.basename(path)}"
        check_segment_line(obj, path, num_classes, labels, where)
        mask_path, overlay_path = obj.get("mask"), obj.get("overlay")
        if not (mask_path and overlay_path and os.path.isfile(mask_path)
                and os.path.isfile(overlay_path)):
            check(False, f"{where}: mask/overlay not written: {mask_path}, {overlay_path}")
            continue
        with Image.open(mask_path) as picture:
            check(picture.format == "PNG" and picture.mode == "P",
                  f"{where}: mask is {picture.format} mode {picture.mode}, not 8-bit palette PNG")
            check(picture.size == image_size(path), f"{where}: mask size {picture.size}")
            mask = np.asarray(picture)
            stored = np.frombuffer(bytes(picture.getpalette()), np.uint8).reshape(-1, 3)
        check(mask.dtype == np.uint8 and int(mask.max()) < num_classes,
              f"{where}: mask values up to {mask.max()}, model has {num_classes} classes")
        check(stored.shape[0] >= num_classes and
              np.array_equal(stored[:num_classes], palette[:num_classes]),
              f"{where}: mask palette is not the VOC colormap")
        counts = {c["class"]: c["pixels"] for c in obj["classes"]}
        ids, found = np.unique(mask, return_counts=True)
        check(dict(zip(ids.tolist(), found.tolist())) == counts,
              f"{where}: mask histogram differs from the JSON pixel counts")
        check_overlay(path, overlay_path, mask, palette, where)


def check_overlay(path, overlay_path, mask, palette, where):
    with Image.open(overlay_path) as picture:
        check(picture.size == image_size(path), f"{where}: overlay size {picture.size}")
        overlay = np.asarray(picture.convert("RGB")).astype(int)
    with Image.open(path) as picture:
        original = np.asarray(picture.convert("RGB")).astype(int)
    if overlay.shape != original.shape:
        return
    # Pixels whose 3x3 neighbourhood is one class, outside the legend in the
    # top-left corner: background as it was, other classes blended with
    # their colour.
    h, w = mask.shape
    inner = np.zeros_like(mask, bool)
    inner[1:-1, 1:-1] = True
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            inner[1:-1, 1:-1] &= mask[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] == mask[1:-1, 1:-1]
    inner[:h // 4, :w // 2] = False
    background = inner & (mask == 0)
    if background.any():
        same = np.mean(np.all(overlay[background] == original[background], axis=1))
        check(same > 0.99, f"{where}: background changed in {1 - same:.1%} of its pixels")
    objects = inner & (mask != 0)
    if objects.any():
        colors = palette[mask[objects]].astype(int)
        # any visible blend: the overlay lies between the picture and the
        # class colour, clearly away from the picture
        lo, hi = np.minimum(original[objects], colors), np.maximum(original[objects], colors)
        between = np.mean(np.all((overlay[objects] >= lo - 1) & (overlay[objects] <= hi + 1), axis=1))
        check(between > 0.99, f"{where}: overlay is not a blend of picture and class colour")
        moved = np.abs(overlay[objects] - original[objects]).sum(axis=1)
        reachable = np.abs(colors - original[objects]).sum(axis=1)
        check(np.mean(moved >= 0.3 * reachable) > 0.95,
              f"{where}: class colours are too faint in the overlay")
    boundary = mask != np.roll(mask, 1, axis=1)
    boundary[:, 0] = False
    boundary[:h // 4, :w // 2] = False
    if boundary.any():
        check(np.mean(np.all(overlay[boundary] == 255, axis=1)) > 0.9,
              f"{where}: class boundaries are not traced")


def test_segment_vs_voc_labels(model, scratch):
    """Pixel accuracy and mean IoU against the VOC dev label masks."""
    names = sorted(f for f in os.listdir(os.path.join(VOC, "images_513")) if f.endswith(".png"))
    paths = [os.path.join(VOC, "images_513", f) for f in names]
    out = os.path.join(scratch, "voc-" + os.path.basename(model))
    result = run(["segment", "--json", "-m", model, "-o", out] + paths)
    objects = json_lines(result, "segment voc")
    if result.returncode != 0 or len(objects) != len(paths):
        check(False, f"segment on VOC dev: exit {result.returncode}: {result.err.strip()}")
        return
    correct = total = 0
    inter, union = {}, {}
    for name, obj in zip(names, objects):
        with Image.open(os.path.join(VOC, "labels_513", name)) as picture:
            truth = np.asarray(picture)
            voc_palette = np.frombuffer(bytes(picture.getpalette()), np.uint8).reshape(-1, 3)
        with Image.open(obj["mask"]) as picture:
            mask = np.asarray(picture)
        check(np.array_equal(voc_palette[:21], voc_colormap()[:21]),
              "the colormap computed here is not VOC's")
        valid = truth != 255
        correct += int(np.sum((mask == truth) & valid))
        total += int(np.sum(valid))
        for c in np.unique(truth[valid]):
            inter[c] = inter.get(c, 0) + int(np.sum((mask == c) & (truth == c) & valid))
            union[c] = union.get(c, 0) + int(np.sum(((mask == c) | (truth == c)) & valid))
    accuracy = correct / total
    mean_iou = np.mean([inter[c] / union[c] for c in inter])
    print(f"{os.path.basename(model)}: VOC dev pixel accuracy {accuracy:.3f}, mIoU {mean_iou:.3f}")
    check(accuracy > 0.85, f"{os.path.basename(model)}: VOC pixel accuracy {accuracy:.3f}")
    check(mean_iou > 0.5, f"{os.path.basename(model)}: VOC mean IoU {mean_iou:.3f}")


def test_segment_finds_objects(model):
    expected = {"dog.jpg": {"dog", "person"}, "tennis.jpg": {"person"}, "goose.jpg": {"bird"}}
    paths = [os.path.join(IMAGES, name) for name in expected]
    result = run(["segment", "--json", "-m", model] + paths)
    for path, obj in zip(paths, json_lines(result, "segment")):
        total = obj["width"] * obj["height"]
        present = {c["label"] for c in obj["classes"] if c["pixels"] > 0.02 * total}
        check(expected[os.path.basename(path)] <= present,
              f"{os.path.basename(path)}: {expected[os.path.basename(path)]} not all in {present}")


def test_segment_raw(sample, scratch):
    """A raw RGB copy segments exactly like the JPEG, overlay included; an
    NV12 copy agrees on nearly every pixel."""
    with Image.open(sample) as picture:
        rgb = np.asarray(picture.convert("RGB"))
    h, w = rgb.shape[:2]
    raw = os.path.join(scratch, "frame.rgb")
    rgb.tofile(raw)
    out_jpeg, out_raw = os.path.join(scratch, "seg_jpeg"), os.path.join(scratch, "seg_raw")
    jpeg = json_lines(run(["segment", "--json", "-m", SEGMENT_MODEL, "-o", out_jpeg, sample]), "")
    mine = run(["segment", "--json", "-m", SEGMENT_MODEL, "-o", out_raw, "--raw",
                f"rgb:{w}x{h}", raw])
    check(mine.returncode == 0, f"segment --raw: exit {mine.returncode}: {mine.err.strip()}")
    objects = json_lines(mine, "segment --raw")
    if not jpeg or not objects:
        return
    check(objects[0]["classes"] == jpeg[0]["classes"], "raw RGB segments unlike the JPEG")
    for key in ("mask", "overlay"):
        with Image.open(objects[0][key]) as a, Image.open(jpeg[0][key]) as b:
            check(np.array_equal(np.asarray(a), np.asarray(b)), f"raw RGB {key} differs")
    # NV12, BT.601 limited, chroma averaged over 2x2 blocks.
    f = rgb.astype(np.float64)
    luma = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    y = np.clip(np.rint(16 + luma * 219 / 255), 0, 255).astype(np.uint8)
    he, we = h - h % 2, w - w % 2
    u = 128 + (f[..., 2] - luma) / 1.772 * 224 / 255
    v = 128 + (f[..., 0] - luma) / 1.402 * 224 / 255

    def half(plane):
        return plane[:he, :we].reshape(he // 2, 2, we // 2, 2).mean(axis=(1, 3))

    uv = np.clip(np.rint(np.stack([half(u), half(v)], axis=2)), 0, 255).astype(np.uint8)
    nv12 = os.path.join(scratch, "frame.nv12")
    with open(nv12, "wb") as file:
        file.write(np.ascontiguousarray(y[:he, :we]).tobytes() + uv.tobytes())
    out_nv12 = os.path.join(scratch, "seg_nv12")
    result = run(["segment", "--json", "-m", SEGMENT_MODEL, "-o", out_nv12, "--raw",
                  f"nv12:{we}x{he}", nv12])
    objects = json_lines(result, "segment nv12")
    check(result.returncode == 0 and objects, f"segment nv12: {result.err.strip()}")
    if objects:
        with Image.open(objects[0]["mask"]) as a, Image.open(jpeg[0]["mask"]) as b:
            agree = np.mean(np.asarray(a) == np.asarray(b)[:he, :we])
        check(agree > 0.97, f"NV12 mask agrees with the JPEG's on only {agree:.1%} of pixels")
        with Image.open(objects[0]["overlay"]) as picture:
            check(picture.size == (we, he), "NV12 overlay size")


def test_detect_raw(sample, scratch):
    with Image.open(sample) as picture:
        rgb = np.asarray(picture.convert("RGB"))
    h, w = rgb.shape[:2]
    raw = os.path.join(scratch, "frame.bgr")
    np.ascontiguousarray(rgb[..., ::-1]).tofile(raw)
    out = os.path.join(scratch, "raw_boxes")
    jpeg = detections([sample], ["--threshold", "0.3"])
    result = run(["detect", "--json", "-m", DETECT_MODEL, "--threshold", "0.3", "-o", out,
                  "--raw", f"bgr:{w}x{h}", raw])
    objects = json_lines(result, "detect --raw")
    check(result.returncode == 0 and objects and jpeg and objects[0]["detections"] == jpeg[0],
          "raw BGR detects unlike the JPEG")
    if objects and objects[0].get("annotated"):
        with Image.open(objects[0]["annotated"]) as picture:
            check(picture.size == (w, h), "raw annotated size")


def test_detect_example(sample):
    """examples/detect.c, built as detect_example, agrees with the CLI."""
    example = os.path.join(BUILD, "detect_example")
    if not os.path.exists(example):
        return
    result = subprocess.run([example, DETECT_MODEL, sample, "0.3"], capture_output=True,
                            timeout=120)
    lines = result.stdout.decode().splitlines()
    cli = detections([sample], ["--threshold", "0.3"])
    check(result.returncode == 0 and cli and len(lines) == len(cli[0]),
          f"detect_example: exit {result.returncode}, {len(lines)} lines")
    for line, d in zip(lines, cli[0] if cli else []):
        expected = "%.3f %s [%s]" % (d["score"], d["label"],
                                     " ".join("%.0f" % v for v in d["box"]))
        check(line == expected, f"detect_example printed {line!r}, CLI says {expected!r}")


def main():
    require_cli()
    have_detect, have_segment = os.path.exists(DETECT_MODEL), os.path.exists(SEGMENT_MODEL)
    if not have_detect and not have_segment:
        print("skipped: neither the SSD nor the DeepLab model is bundled", file=sys.stderr)
        return 77
    samples = sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES) if f.endswith(".jpg"))
    scratch = tempfile.mkdtemp(prefix="mnet-cli-ds-")
    try:
        if have_detect:
            _, labels = model_labels(DETECT_MODEL)
            test_detect_json(samples, labels)
            test_threshold_and_max(samples)
            test_detect_finds_objects(samples)
            test_detect_vs_coco_annotations()
            test_detect_plain(samples)
            test_detect_annotated(samples, scratch)
            test_bad_images("detect", DETECT_MODEL, samples, scratch)
            test_default_model("detect", DETECT_MODEL, samples[:2])
            test_detect_raw(samples[0], scratch)
            test_detect_example(samples[-1])
        else:
            print(f"skipped detect: {DETECT_MODEL} missing", file=sys.stderr)
        if have_segment:
            for model in [SEGMENT_MODEL] + [m for m in OTHER_SEGMENT_MODELS if os.path.exists(m)]:
                test_segment(samples, os.path.join(scratch, os.path.basename(model)), model)
                if os.path.isdir(VOC):
                    test_segment_vs_voc_labels(model, scratch)
            test_segment_finds_objects(SEGMENT_MODEL)
            test_bad_images("segment", SEGMENT_MODEL, samples, scratch)
            test_default_model("segment", SEGMENT_MODEL, samples[:2])
            test_segment_raw(samples[1], scratch)
        else:
            print(f"skipped segment: {SEGMENT_MODEL} missing", file=sys.stderr)
        test_wrong_models(samples[0], scratch)
        test_usage_errors(samples[0])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
