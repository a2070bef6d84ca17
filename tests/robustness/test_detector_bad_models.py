"""Detector and segmenter files that do not describe a consistent network are
refused at load with a message naming what is wrong: inconsistent anchor
counts, class counts, missing predictor tensors, a missing anchor tensor.

Each case edits the JSON header of a bundled model (the tensor bytes stay as
they are) and runs `mnet info` on the result: exit status 4 (invalid model)
and a one-line message naming the tensor or field."""
import json
import os
import struct
import subprocess
import sys
import tempfile

SRC = os.environ.get("MNET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MNET_BUILD_DIR", os.path.join(SRC, "build"))
CLI = os.path.join(BUILD, "mnet")
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def write(path, header, body):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def edit_config(header, fn):
    config = json.loads(header["__metadata__"]["mnet.config"])
    fn(config)
    header["__metadata__"]["mnet.config"] = json.dumps(config)


def expect_refused(folder, name, model, edit, needle):
    header, body = read(model)
    edit(header)
    path = os.path.join(folder, name + ".safetensors")
    write(path, header, body)
    out = subprocess.run([CLI, "info", path], capture_output=True, text=True, timeout=60)
    message = out.stderr.strip()
    check(out.returncode == 4, "%s: exit %d (want 4): %s" % (name, out.returncode, message))
    check(needle in message, "%s: message %r lacks %r" % (name, message, needle))
    check(message.count("\n") == 0, "%s: message is not one line: %r" % (name, message))


def main():
    ssd = os.path.join(SRC, "models", "ssd_mobilenet_v2_coco.safetensors")
    deeplab = os.path.join(SRC, "models", "deeplabv3_mnv2_dm1.0_pascal.safetensors")
    if not os.path.exists(CLI) or not os.path.exists(ssd) or not os.path.exists(deeplab):
        print("SKIP: build/mnet or the bundled detector/segmenter missing")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as folder:
        # more anchors per location than the predictors were trained for
        expect_refused(folder, "anchors_per_location", ssd,
                       lambda h: edit_config(h, lambda c: c["ssd"].__setitem__(
                           "anchors_per_location", [6, 6, 6, 6, 6, 6])), "heads.0.box.weight")
        # a class count the class predictors do not have
        expect_refused(folder, "num_classes", ssd,
                       lambda h: edit_config(h, lambda c: (c.__setitem__("num_classes", 80))),
                       "labels")
        # a missing predictor
        expect_refused(folder, "missing_head", ssd,
                       lambda h: h.pop("heads.3.class.weight"), "heads.3.class.weight")
        # no anchors although the config says the file has them
        expect_refused(folder, "missing_anchors", ssd,
                       lambda h: h.__setitem__("anchorz", h.pop("anchors")), "anchors")
        # an anchor tensor that does not fit the predictors
        def short_anchors(h):
            a = h["anchors"]
            begin = a["data_offsets"][0]
            a["shape"] = [1000, 4]
            a["data_offsets"] = [begin, begin + 1000 * 4 * 4]
        expect_refused(folder, "anchor_count", ssd, short_anchors, "anchors")
        # a feature tap the backbone does not have
        expect_refused(folder, "feature_tap", ssd,
                       lambda h: edit_config(h, lambda c: c["ssd"].__setitem__(
                           "feature_taps", ["block99/expand", "conv_last"])), "block99/expand")
        # segmenter: a class count the logits do not have (labels dropped too)
        def fewer_classes(h):
            edit_config(h, lambda c: c.__setitem__("num_classes", 20))
            h["__metadata__"].pop("mnet.labels", None)
        expect_refused(folder, "deeplab_classes", deeplab, fewer_classes, "logits.weight")
        expect_refused(folder, "deeplab_stride", deeplab,
                       lambda h: edit_config(h, lambda c: c.__setitem__("output_stride", 12)),
                       "output_stride")
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
