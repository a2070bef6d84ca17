#!/usr/bin/python3
"""End-to-end test of examples/custom_head (MobileNet V2 features + a small
head of mnet building blocks).

Images: the sample JPEGs, randomly cropped and resized, plus one random-noise
image, all saved as PNG so that this test (PIL) and the example (libpng)
read identical pixels. $MNET_BUILD_DIR/custom_head prints 4 outputs per
image; they must be finite and differ between images, and match a float64
numpy recomputation of the head:

    1x1 conv 576->32 + ReLU, 3x3 depthwise conv + ReLU6 (TF SAME, stride 1),
    global average pool, fully connected 32->4,

applied to the block13/expand feature map that libmnet.so's public API
(mnet_session_create with a tap, mnet_features) returns for the same image
through ctypes, with the weights regenerated from the LCG documented in
custom_head.c (state = state * 1664525 + 1013904223 mod 2^32, weight =
scale * (2 * (state >> 8) / 2^24 - 1), seed 20240611, layer order
pointwise w, b (scale 0.1, 0.1), depthwise w, b (0.5, 0.1), fc w, b (0.5,
0.1)). Tolerance: |example - numpy| <= 1e-4 * max(1, max |numpy|) per image:
float32 arithmetic on sums of at most 576 terms, printed with 7 digits.
The tap must be 14x14x576, the shape of MobileNet V2 1.0's block 13
expansion at 224x224 input. Exits 77 without the executable, library or model.
"""
import ctypes
import math
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from cli_harness import check, summary, SOURCE, BUILD, IMAGES

# the public structs of include/mnet.h, declared once for the Python tools
sys.path.insert(0, os.path.join(SOURCE, "tools", "convert"))
from mnet_library import (MnetError as Error, MnetImage as ImageView,  # noqa: E402
                          MnetSessionOptions as SessionOptions, MnetTensor as Tensor)

SKIPPED = 77
EXAMPLE = os.path.join(BUILD, "custom_head")
LIBRARY = os.path.join(BUILD, "libmnet.so")
MODEL = os.path.join(SOURCE, "models", "mobilenet_v2_1.0_224.safetensors")
TAP = b"block13/expand"
HIDDEN, OUTPUTS, SEED = 32, 4, 20240611
TOLERANCE = 1e-4
MNET_PIXEL_RGB = 1


class FeatureExtractor:
    """mnet_model_load + a session with one tap + mnet_features, via ctypes."""

    def __init__(self, library, model_path, tap):
        lib = self.lib = ctypes.CDLL(library)
        p = ctypes.c_void_p
        lib.mnet_model_load.argtypes = [ctypes.c_char_p, p, ctypes.POINTER(p),
                                        ctypes.POINTER(Error)]
        lib.mnet_session_create.argtypes = [p, ctypes.POINTER(SessionOptions), ctypes.POINTER(p),
                                            ctypes.POINTER(Error)]
        lib.mnet_features.argtypes = [p, ctypes.POINTER(ImageView), p, ctypes.POINTER(Tensor)]
        lib.mnet_session_error.argtypes = [p]
        lib.mnet_session_error.restype = ctypes.c_char_p
        lib.mnet_session_destroy.argtypes = [p]
        lib.mnet_model_destroy.argtypes = [p]
        self.model, self.session, error = p(), p(), Error()
        if lib.mnet_model_load(model_path.encode(), None, ctypes.byref(self.model),
                               ctypes.byref(error)):
            raise RuntimeError(error.message.decode())
        self.taps = (ctypes.c_char_p * 1)(tap)
        options = SessionOptions(self.taps, 1)
        if lib.mnet_session_create(self.model, ctypes.byref(options), ctypes.byref(self.session),
                                   ctypes.byref(error)):
            raise RuntimeError(error.message.decode())

    def features(self, rgb):
        rgb = np.ascontiguousarray(rgb, np.uint8)
        h, w, _ = rgb.shape
        view = ImageView(MNET_PIXEL_RGB, w, h)
        view.planes[0] = rgb.ctypes.data
        view.strides[0] = w * 3
        tensor = Tensor()
        if self.lib.mnet_features(self.session, ctypes.byref(view), None, ctypes.byref(tensor)):
            raise RuntimeError(self.lib.mnet_session_error(self.session).decode())
        shape = (tensor.height, tensor.width, tensor.channels)
        return np.ctypeslib.as_array(tensor.data, (math.prod(shape),)).reshape(shape).astype(
            np.float64)

    def close(self):
        self.lib.mnet_session_destroy(self.session)
        self.lib.mnet_model_destroy(self.model)


def lcg_weights(state, count, scale):
    values = np.empty(count, np.float32)
    for i in range(count):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        values[i] = np.float32(scale) * (np.float32(state >> 8) * np.float32(2.0 / 16777216.0)
                                         - np.float32(1.0))
    return state, values.astype(np.float64)


def head_weights(in_channels):
    state = SEED
    state, pw = lcg_weights(state, HIDDEN * in_channels, 0.1)
    state, pb = lcg_weights(state, HIDDEN, 0.1)
    state, dw = lcg_weights(state, HIDDEN * 9, 0.5)
    state, db = lcg_weights(state, HIDDEN, 0.1)
    state, fw = lcg_weights(state, OUTPUTS * HIDDEN, 0.5)
    state, fb = lcg_weights(state, OUTPUTS, 0.1)
    return (pw.reshape(HIDDEN, in_channels), pb, dw.reshape(HIDDEN, 3, 3), db,
            fw.reshape(OUTPUTS, HIDDEN), fb)


def numpy_head(features, weights):
    pw, pb, dw, db, fw, fb = weights
    h, w, _ = features.shape
    hidden = np.maximum(features @ pw.T + pb, 0.0)
    padded = np.zeros((h + 2, w + 2, HIDDEN))
    padded[1:-1, 1:-1] = hidden  # SAME, stride 1, 3x3: one pixel on each side
    depthwise = np.zeros((h, w, HIDDEN)) + db
    for ky in range(3):
        for kx in range(3):
            depthwise += padded[ky:ky + h, kx:kx + w] * dw[:, ky, kx]
    depthwise = np.clip(depthwise, 0.0, 6.0)
    return fw @ depthwise.mean(axis=(0, 1)) + fb


def make_images(directory, rng):
    paths = []
    for name in sorted(os.listdir(IMAGES)):
        if not name.endswith(".jpg"):
            continue
        image = Image.open(os.path.join(IMAGES, name)).convert("RGB")
        w, h = image.size
        cw, ch = rng.randint(w // 2, w), rng.randint(h // 2, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        scale = rng.uniform(0.4, 1.2)
        image = image.crop((x, y, x + cw, y + ch)).resize(
            (max(1, int(cw * scale)), max(1, int(ch * scale))), Image.BILINEAR)
        path = os.path.join(directory, name.replace(".jpg", ".png"))
        image.save(path)
        paths.append(path)
    noise = np.random.default_rng(rng.randrange(1 << 30)).integers(
        0, 256, (rng.randint(60, 300), rng.randint(60, 300), 3), dtype=np.uint8)
    path = os.path.join(directory, "noise.png")
    Image.fromarray(noise).save(path)
    paths.append(path)
    return paths


def main():
    for path in (EXAMPLE, LIBRARY, MODEL):
        if not os.path.exists(path):
            print("SKIP: %s missing" % path)
            return SKIPPED
    seed = int(os.environ.get("MNET_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed", seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(tmp, rng)
        r = subprocess.run([EXAMPLE, MODEL] + paths, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
        check(r.returncode == 0, "exit status %d: %s" % (r.returncode, r.stderr))
        printed = {}
        for line in r.stdout.splitlines():
            path, _, values = line.rpartition(": ")
            printed[path] = np.array([float(v) for v in values.split()])
        check(sorted(printed) == sorted(paths), "one line per image: %r" % r.stdout)

        extractor = FeatureExtractor(LIBRARY, MODEL, TAP)
        try:
            expected = {p: extractor.features(np.asarray(Image.open(p).convert("RGB")))
                        for p in paths}
        finally:
            extractor.close()
        shapes = {f.shape for f in expected.values()}
        check(shapes == {(14, 14, 576)}, "tap shape %s, expected 14x14x576" % shapes)
        weights = head_weights(576)
        for path in paths:
            got = printed.get(path)
            if got is None:
                continue
            want = numpy_head(expected[path], weights)
            check(got.shape == (OUTPUTS,) and np.all(np.isfinite(got)),
                  "%s: outputs %s" % (path, got))
            if got.shape == want.shape:
                error = np.abs(got - want).max()
                limit = TOLERANCE * max(1.0, np.abs(want).max())
                check(error <= limit, "%s: example %s, numpy %s (error %.3g > %.3g)" %
                      (os.path.basename(path), got, want, error, limit))
        values = [printed[p] for p in paths if p in printed]
        for i in range(len(values)):
            for j in range(i):
                check(np.abs(values[i] - values[j]).max() > 1e-3,
                      "images %d and %d give the same outputs %s" % (i, j, values[i]))
        bad = subprocess.run([EXAMPLE, MODEL, os.path.join(tmp, "missing.png")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=60)
        check(bad.returncode != 0 and "missing.png" in bad.stderr,
              "a missing image: status %d, %r" % (bad.returncode, bad.stderr))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
