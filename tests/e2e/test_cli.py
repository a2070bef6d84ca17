"""End-to-end contract of the `mnet` command-line tool (docs/CLI.md).

Runs $MNET_BUILD_DIR/mnet on the sample images and the bundled models and
checks what a script depending on the CLI relies on: the JSON Lines shape,
paths echoed as given, order, k, labels and scores, the default model
lookup, one-line errors with documented exit codes, and `mnet info`.
Labels and parameter counts are checked against the model files themselves,
read here with plain Python. Exits 77 (skipped) without the binary or models.
"""
import json
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

from cli_harness import (
    check, require_cli, run, summary, SOURCE, BUILD, MODELS, IMAGES, EXIT_USAGE, EXIT_BAD_IMAGE,
    EXIT_BAD_MODEL, EXIT_INTERNAL)

DEFAULT_MODEL = os.path.join(MODELS, "mobilenet_v2_1.0_224.safetensors")

# A model error must be reported at once, not after reading a device forever.
QUICK_SECONDS = 5.0


def read_safetensors_header(path):
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(length))


def model_facts(path):
    header = read_safetensors_header(path)
    metadata = header.pop("__metadata__")
    config = json.loads(metadata["mnet.config"])
    labels = json.loads(metadata["mnet.labels"]) if "mnet.labels" in metadata else []
    # Quantized models also keep the original integer tensors, and detectors
    # their anchor boxes (constants, not learned); the network's parameters
    # are the float weights and biases.
    parameters = sum(math.prod(t["shape"]) for name, t in header.items()
                     if t["dtype"] in ("F16", "F32") and name != "anchors")
    return config, labels, parameters


def parse_json_lines(text):
    lines = text.splitlines()
    return [json.loads(line) for line in lines]


# ---------------------------------------------------------------- classify --

def check_top_entries(top, labels, k, where):
    check(len(top) == k, f"{where}: {len(top)} classes instead of {k}")
    previous = math.inf
    for entry in top:
        check(set(entry) == {"index", "label", "score"}, f"{where}: entry keys {sorted(entry)}")
        index, label, score = entry.get("index"), entry.get("label"), entry.get("score")
        check(isinstance(index, int) and 0 <= index < len(labels), f"{where}: index {index}")
        check(isinstance(label, str), f"{where}: label {label!r} is not a string")
        if isinstance(index, int) and 0 <= index < len(labels):
            check(label == labels[index],
                  f"{where}: label {label!r} is not the model's label {labels[index]!r}")
        check(isinstance(score, (int, float)) and 0.0 <= score <= 1.0,
              f"{where}: score {score} outside [0, 1]")
        if isinstance(score, (int, float)):
            check(score <= previous, f"{where}: scores not descending")
            previous = score
    total = sum(e.get("score", 0) for e in top)
    check(total <= 1.0 + 1e-4, f"{where}: top-{k} scores sum to {total} > 1")


def test_json_lines(images, labels):
    rng = random.Random(20241128)
    # Relative, absolute and "./" spellings, one image twice, random order:
    # each must come back exactly as given, in the given order.
    given = [os.path.relpath(p, SOURCE) for p in images]
    given += [os.path.abspath(images[0]), "./" + os.path.relpath(images[-1], SOURCE)]
    rng.shuffle(given)
    for k in (1, 3, 7):
        result = run(["classify", "--json", "-k", str(k), "-m", DEFAULT_MODEL] + given, cwd=SOURCE)
        check(result.returncode == 0, f"classify --json -k {k}: exit {result.returncode}: {result.err}")
        check(result.err == "", f"classify --json: unexpected stderr {result.err!r}")
        try:
            objects = parse_json_lines(result.out)
        except ValueError as error:
            check(False, f"classify --json output is not JSON Lines: {error}")
            continue
        check(len(objects) == len(given), f"{len(objects)} lines for {len(given)} images")
        for path, obj in zip(given, objects):
            check(set(obj) == {"image", "top"}, f"keys {sorted(obj)}")
            check(obj.get("image") == path, f"image {obj.get('image')!r} != given {path!r}")
            check_top_entries(obj.get("top", []), labels, k, path)
    # k above the number of classes gives every class once.
    # fp32: int8 (the library's AUTO choice for a quantized model once enabled)
    # gives the model's uint8 softmax, multiples of 1/256 that need not sum to 1
    result = run(["classify", "--json", "-k", str(len(labels) + 50), "--precision", "fp32",
                  "-m", DEFAULT_MODEL, images[0]])
    objects = parse_json_lines(result.out) if result.returncode == 0 else []
    check(len(objects) == 1 and len(objects[0]["top"]) == len(labels),
          "k larger than the class count should list every class")
    if objects:
        indices = [e["index"] for e in objects[0]["top"]]
        check(sorted(indices) == list(range(len(labels))), "every class exactly once")
        total = sum(e["score"] for e in objects[0]["top"])
        check(abs(total - 1.0) < 1e-3, f"all softmax scores sum to {total}, not 1")


def test_plain_matches_json(images):
    plain = run(["classify", "-k", "4", "-m", DEFAULT_MODEL] + images)
    as_json = run(["classify", "--json", "-k", "4", "-m", DEFAULT_MODEL] + images)
    check(plain.returncode == 0 and as_json.returncode == 0, "plain/json classify failed")
    lines = plain.out.splitlines()
    check(len(lines) == 5 * len(images), f"plain output has {len(lines)} lines")
    row = re.compile(r"^  (\d\.\d{4})  (.+) \((\d+)\)$")
    for i, obj in enumerate(parse_json_lines(as_json.out)):
        block = lines[5 * i:5 * i + 5]
        if len(block) < 5:
            break
        check(block[0] == images[i], f"plain output names {block[0]!r}, not {images[i]!r}")
        for line, entry in zip(block[1:], obj["top"]):
            match = row.match(line)
            check(match is not None, f"plain line {line!r} does not read '  score  label (index)'")
            if match:
                check(int(match.group(3)) == entry["index"] and match.group(2) == entry["label"],
                      f"plain {line!r} disagrees with JSON {entry}")
                check(abs(float(match.group(1)) - entry["score"]) <= 5e-5, "plain score rounding")


def test_threads_do_not_change_results(images):
    one = run(["classify", "--json", "--threads", "1", "-m", DEFAULT_MODEL] + images)
    many = run(["classify", "--json", "--threads", "3", "-m", DEFAULT_MODEL] + images)
    check(one.returncode == 0 and one.out == many.out, "--threads 1 and 3 give different results")


def test_recognises_sample_objects():
    # What the photos show (COCO annotations, looked at by a person), not
    # what mnet once printed; top-5 leaves room for near-synonyms.
    expected = {"banana.jpg": "banana", "goose.jpg": "goose", "hotdog.jpg": "hotdog",
                "tennis.jpg": "racket"}
    paths = [os.path.join(IMAGES, name) for name in expected]
    result = run(["classify", "--json", "-m", DEFAULT_MODEL] + paths)
    if result.returncode != 0:
        check(False, f"classify of the samples failed: {result.err}")
        return
    for name, obj in zip(expected, parse_json_lines(result.out)):
        labels = [e["label"] for e in obj["top"]]
        check(any(expected[name] in label for label in labels),
              f"{name}: '{expected[name]}' not in top-5 {labels}")


def test_default_model_from_elsewhere(images):
    explicit = run(["classify", "--json", "-m", DEFAULT_MODEL] + images)
    with tempfile.TemporaryDirectory() as cwd:
        # Decoys: a model of the default name in the working directory and in
        # ./models must never be picked up.
        os.mkdir(os.path.join(cwd, "models"))
        for decoy in ("mobilenet_v2_1.0_224.safetensors", "models/mobilenet_v2_1.0_224.safetensors"):
            with open(os.path.join(cwd, decoy), "wb") as f:
                f.write(b"not a model")
        implicit = run(["classify", "--json"] + images, cwd=cwd)
    check(implicit.returncode == 0, f"default model from another directory: exit "
          f"{implicit.returncode}: {implicit.err}")
    check(implicit.out == explicit.out, "default model differs from -m " + DEFAULT_MODEL)


def test_bad_images_among_good(images, scratch):
    text = os.path.join(scratch, "notes.jpg")
    with open(text, "w") as f:
        f.write("this is text, not a JPEG\n")
    truncated = os.path.join(scratch, "cut.jpg")
    with open(images[1], "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[:len(data) // 2])
    missing = os.path.join(scratch, "missing.png")
    given = [images[0], text, images[1], truncated, missing, images[2]]
    result = run(["classify", "--json", "-m", DEFAULT_MODEL] + given)
    check(result.returncode == EXIT_BAD_IMAGE,
          f"bad images: exit {result.returncode}, expected {EXIT_BAD_IMAGE}")
    good = [images[0], images[1], images[2]]
    printed = [obj["image"] for obj in parse_json_lines(result.out)]
    check(printed == good, f"good images printed {printed}, expected {good}")
    messages = result.err.splitlines()
    check(len(messages) == 3, f"expected one stderr line per bad file, got {messages}")
    for bad, message in zip([text, truncated, missing], messages):
        check(bad in message, f"message {message!r} does not name {bad}")


def test_png_same_as_jpeg(images, scratch):
    """A lossless copy of a JPEG's pixels, as RGB PNG and as RGBA PNG with an
    opaque alpha channel, must classify exactly like the JPEG (PIL decodes
    with libjpeg as well, with the same default DCT)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(images[0]) as picture:
        rgb = picture.convert("RGB")
    as_rgb = os.path.join(scratch, "copy.png")
    as_rgba = os.path.join(scratch, "copy_rgba.png")
    rgb.save(as_rgb)
    rgb.convert("RGBA").save(as_rgba)
    result = run(["classify", "--json", "-k", "10", "-m", DEFAULT_MODEL, images[0], as_rgb, as_rgba])
    check(result.returncode == 0, f"PNG copies: exit {result.returncode}: {result.err}")
    if result.returncode == 0:
        tops = [obj["top"] for obj in parse_json_lines(result.out)]
        check(tops[0] == tops[1], "RGB PNG copy classified differently from its JPEG")
        check(tops[0] == tops[2], "RGBA PNG copy classified differently from its JPEG")


def test_model_errors(scratch, images):
    garbage = os.path.join(scratch, "garbage.safetensors")
    with open(garbage, "wb") as f:
        f.write(random.Random(7).randbytes(4096))
    empty = os.path.join(scratch, "empty.safetensors")
    open(empty, "wb").close()
    half = os.path.join(scratch, "half.safetensors")
    with open(DEFAULT_MODEL, "rb") as f:
        data = f.read()
    with open(half, "wb") as f:
        f.write(data[:len(data) // 2])
    cases = [os.path.join(scratch, "no-such-model.safetensors"), scratch, "/dev/zero",
             garbage, empty, half]
    for model in cases:
        for command in (["classify", "-m", model, images[0]], ["info", model]):
            result = run(command)
            name = " ".join(command)
            check(result.returncode == EXIT_BAD_MODEL,
                  f"{name}: exit {result.returncode}, expected {EXIT_BAD_MODEL}")
            lines = result.err.splitlines()
            check(len(lines) == 1 and model in lines[0],
                  f"{name}: expected one line naming the model, got {lines}")
            check(result.out == "", f"{name}: printed results anyway")
            check(result.seconds < QUICK_SECONDS, f"{name}: took {result.seconds:.1f} s")


def test_usage_errors(images):
    for args in ([], ["frobnicate"], ["classify"], ["classify", "-k", "0", images[0]],
                 ["classify", "-k", "three", images[0]], ["classify", "--bogus", images[0]],
                 ["classify", "-m"], ["info"], ["info", "a", "b"]):
        result = run(args)
        check(result.returncode == EXIT_USAGE, f"mnet {args}: exit {result.returncode}, expected 2")
        check(len(result.err.strip()) > 0, f"mnet {args}: no message")
    check(run(["help"]).returncode == 0 and run(["classify", "--help"]).returncode == 0,
          "help should succeed")


def test_write_error(images):
    if not os.path.exists("/dev/full"):
        return
    with open("/dev/full", "wb") as full:
        result = run(["classify", "-m", DEFAULT_MODEL, images[0]], stdout=full)
    check(result.returncode == EXIT_INTERNAL, f"writing to /dev/full: exit {result.returncode}")


# ------------------------------------------------------------------- info --

def test_info(models):
    for model in models:
        config, labels, parameters = model_facts(model)
        plain = run(["info", model])
        check(plain.returncode == 0, f"info {model}: exit {plain.returncode}: {plain.err}")
        check(config["architecture"] in plain.out and "plan" in plain.out,
              f"info {model}: plain text lacks the architecture or the plan")
        result = run(["info", "--json", model])
        check(result.returncode == 0, f"info --json {model}: exit {result.returncode}")
        try:
            info = json.loads(result.out)
        except ValueError:
            check(False, f"info --json {model}: not JSON")
            continue
        name = os.path.basename(model)
        check(info["architecture"] == config["architecture"], f"{name}: architecture")
        check(info["input"]["height"] == config["input"]["height"]
              and info["input"]["width"] == config["input"]["width"], f"{name}: input size")
        check(info["num_classes"] == config["num_classes"], f"{name}: classes")
        if config["architecture"] == "ssd":
            nms = config["ssd"]["nms"]
            check(info.get("max_detections") == nms["max_detections"]
                  and abs(info.get("score_threshold", -1) - nms["score_threshold"])
                  <= 1e-6 * max(1.0, nms["score_threshold"]),
                  f"{name}: detector defaults {info.get('max_detections')}, "
                  f"{info.get('score_threshold')} vs the file's {nms}")
        else:
            check("max_detections" not in info, f"{name}: detector fields on a non-detector")
        if labels:
            check(len(labels) == info["num_classes"], f"{name}: label count")
        check(info["parameters"] == parameters,
              f"{name}: {info['parameters']} parameters, file holds {parameters}")
        plan = info["plan"]
        check(len(plan) > 10, f"{name}: plan of {len(plan)} steps")
        check(sum(s["parameters"] for s in plan) == info["parameters"],
              f"{name}: plan parameters do not add up")
        check(sum(s["macs"] for s in plan) == info["macs"] and info["macs"] > 0,
              f"{name}: plan MACs do not add up")
        check(plan[0]["input"] == [config["input"]["height"], config["input"]["width"], 3],
              f"{name}: first step input {plan[0]['input']}")
        # the graph: every step reads the input or earlier steps; weights name file tensors
        seen = {"input"}
        for s in plan:
            check(s["reads"] and all(r in seen for r in s["reads"]),
                  f"{name}: step {s['name']} reads {s['reads']}")
            check(s["residual"] is None or s["residual"] in seen, f"{name}: {s['name']} residual")
            check((s["weights"] is None) == (s["parameters"] == 0),
                  f"{name}: {s['name']} weights {s['weights']}")
            seen.add(s["name"])
        check(any(s["residual"] for s in plan) == (config["architecture"] == "mobilenet_v2"
                                                   or config.get("backbone") == "mobilenet_v2"),
              f"{name}: residual steps")
        check(len(info["taps"]) > 0 and all(isinstance(t, str) and t for t in info["taps"]),
              f"{name}: taps")


def test_example_program(images):
    example = os.path.join(BUILD, "classify_example")
    if not os.path.exists(example):
        return
    result = subprocess.run([example, DEFAULT_MODEL, images[0]], capture_output=True, timeout=60)
    lines = result.stdout.decode().splitlines()
    check(result.returncode == 0 and len(lines) == 5, f"classify_example: {result}")


def main():
    require_cli(DEFAULT_MODEL)
    images = sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES) if f.endswith(".jpg"))
    models = sorted(os.path.join(MODELS, f) for f in os.listdir(MODELS)
                    if f.endswith(".safetensors"))
    _, labels, _ = model_facts(DEFAULT_MODEL)
    scratch = tempfile.mkdtemp(prefix="mnet-cli-test-")
    try:
        test_json_lines(images, labels)
        test_plain_matches_json(images)
        test_threads_do_not_change_results(images)
        test_recognises_sample_objects()
        test_default_model_from_elsewhere(images)
        test_bad_images_among_good(images, scratch)
        test_png_same_as_jpeg(images, scratch)
        test_model_errors(scratch, images)
        test_usage_errors(images)
        test_write_error(images)
        test_info(models)
        test_example_program(images)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
