"""Raw frames on the command line: `mnet classify --raw FORMAT:WxH FILE`.

The sample JPEGs are decoded here with PIL and written as raw frames in
every accepted format; the packing and the RGB -> YCbCr conversion (BT.601
and BT.709, limited and full range, 2x2 chroma averaging) are written here
with numpy from the standards' formulas, and the BT.601 limited case is
cross-checked against OpenCV's own I420 conversion. Expected: packed
formats carrying the same pixels classify exactly like the JPEG; the four
YUV 4:2:0 layouts of one frame classify identically to each other and give
the JPEG's top-1 class (chroma subsampling moves scores a little); sizes
are validated exactly. Exits 77 without the binary or the classifier.
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image

from cli_harness import check, require_cli, run, summary, SOURCE, IMAGES, EXIT_USAGE, EXIT_BAD_IMAGE

MODEL = os.path.join(SOURCE, "models", "mobilenet_v2_1.0_224.safetensors")


def classify(paths, extra=()):
    """Top-10 lists, one per path, or None when the command failed."""
    # fp32: small input changes must show in the scores (int8's are 1/256 steps)
    result = run(["classify", "--json", "-k", "10", "--precision", "fp32", "-m", MODEL] +
                 list(extra) + list(paths))
    if result.returncode != 0:
        check(False, f"classify {list(extra)}: exit {result.returncode}: {result.err.strip()}")
        return None
    objects = [json.loads(line) for line in result.out.splitlines()]
    check([o["image"] for o in objects] == list(paths), "classify echoes the raw file names")
    return [o["top"] for o in objects]


# ----------------------------------------------------------- conversions --

MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


def rgb_to_yuv420(rgb, matrix, full_range, chroma_siting="average"):
    """Planes Y (h, w), U and V (ceil(h/2), ceil(w/2)) as uint8; chroma is
    the mean of each 2x2 block, or its top-left sample (as OpenCV does)."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    f = rgb.astype(np.float64)
    luma = kr * f[..., 0] + kg * f[..., 1] + kb * f[..., 2]
    cb = (f[..., 2] - luma) / (2.0 * (1.0 - kb))
    cr = (f[..., 0] - luma) / (2.0 * (1.0 - kr))
    if full_range:
        y, u, v = luma, cb + 128.0, cr + 128.0
    else:
        y = 16.0 + luma * 219.0 / 255.0
        u = 128.0 + cb * 224.0 / 255.0
        v = 128.0 + cr * 224.0 / 255.0
    h, w = y.shape
    ph, pw = h + h % 2, w + w % 2

    def subsample(plane):
        padded = np.pad(plane, ((0, ph - h), (0, pw - w)), mode="edge")
        if chroma_siting == "top_left":
            return padded[0::2, 0::2]
        return padded.reshape(ph // 2, 2, pw // 2, 2).mean(axis=(1, 3))

    def to_u8(plane):
        return np.clip(np.rint(plane), 0, 255).astype(np.uint8)

    return to_u8(y), to_u8(subsample(u)), to_u8(subsample(v))


def pack(rgb, fmt, matrix="bt601", full_range=False):
    if fmt == "rgb":
        return rgb.tobytes()
    if fmt == "bgr":
        return rgb[..., ::-1].tobytes()
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    if fmt == "rgba":
        return np.concatenate([rgb, alpha], axis=2).tobytes()
    if fmt == "bgra":
        return np.concatenate([rgb[..., ::-1], alpha], axis=2).tobytes()
    if fmt == "gray":
        return np.asarray(Image.fromarray(rgb).convert("L")).tobytes()
    y, u, v = rgb_to_yuv420(rgb, matrix, full_range)
    if fmt == "i420":
        return y.tobytes() + u.tobytes() + v.tobytes()
    if fmt == "yv12":
        return y.tobytes() + v.tobytes() + u.tobytes()
    first, second = (u, v) if fmt == "nv12" else (v, u)
    return y.tobytes() + np.stack([first, second], axis=2).tobytes()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


# ------------------------------------------------------------------ tests --

def test_oracle_matches_opencv(rgb):
    """Our BT.601 limited-range conversion against OpenCV's I420 (which
    keeps the top-left chroma sample of each 2x2 block)."""
    try:
        import cv2
    except ImportError:
        return
    h, w = rgb.shape[:2]
    h2, w2 = h - h % 2, w - w % 2
    even = np.ascontiguousarray(rgb[:h2, :w2])
    theirs = cv2.cvtColor(even, cv2.COLOR_RGB2YUV_I420).reshape(-1).astype(int)
    ours = np.concatenate([p.reshape(-1) for p in
                           rgb_to_yuv420(even, "bt601", False, "top_left")]).astype(int)
    diff = np.abs(theirs - ours)
    check(theirs.shape == ours.shape and diff.max() <= 1,
          f"numpy I420 differs from OpenCV by up to {diff.max()} levels")


def test_packed_formats(jpeg, rgb, scratch):
    h, w = rgb.shape[:2]
    reference = classify([jpeg])
    if reference is None:
        return
    paths = {fmt: write(os.path.join(scratch, f"frame.{fmt}"), pack(rgb, fmt))
             for fmt in ("rgb", "bgr", "rgba", "bgra")}
    for fmt, path in paths.items():
        tops = classify([path], ["--raw", f"{fmt}:{w}x{h}"])
        if tops:
            check(tops[0] == reference[0], f"raw {fmt} classified unlike the JPEG")
    # Upper-case names and the --raw=... spelling are accepted too.
    tops = classify([paths["rgb"]], [f"--raw=RGB:{w}X{h}"])
    check(tops is not None and tops[0] == reference[0], "--raw=RGB:WxH spelling")
    # Gray: the same as an 8-bit grayscale PNG of the frame (R = G = B).
    gray = write(os.path.join(scratch, "frame.gray"), pack(rgb, "gray"))
    png = os.path.join(scratch, "gray.png")
    Image.fromarray(rgb).convert("L").save(png)
    raw_top, png_top = classify([gray], ["--raw", f"gray:{w}x{h}"]), classify([png])
    check(raw_top is not None and png_top is not None and raw_top[0] == png_top[0],
          "raw gray classified unlike the same pixels as a grayscale PNG")


def top1_agrees(reference, tops, what):
    ref, got = reference[0], tops[0]
    margin = ref[0]["score"] - ref[1]["score"]
    if margin > 0.1:
        check(got[0]["index"] == ref[0]["index"],
              f"{what}: top-1 {got[0]['label']!r}, JPEG {ref[0]['label']!r}")
        check(abs(got[0]["score"] - ref[0]["score"]) < 0.15,
              f"{what}: top-1 score {got[0]['score']} vs JPEG {ref[0]['score']}")
    else:
        check(ref[0]["index"] in [e["index"] for e in got[:3]],
              f"{what}: JPEG top-1 {ref[0]['label']!r} not in its top-3")


def test_yuv_formats(jpeg, rgb, scratch):
    h, w = rgb.shape[:2]
    reference = classify([jpeg])
    if reference is None:
        return
    results = {}
    for fmt in ("nv12", "nv21", "i420", "yv12"):
        path = write(os.path.join(scratch, f"frame.{fmt}"), pack(rgb, fmt))
        results[fmt] = classify([path], ["--raw", f"{fmt}:{w}x{h}"])
    if any(r is None for r in results.values()):
        return
    for fmt in ("nv21", "i420", "yv12"):
        check(results[fmt] == results["nv12"], f"{fmt} and nv12 of one frame differ")
    top1_agrees(reference, results["nv12"], f"{os.path.basename(jpeg)} nv12")
    # Other matrices and ranges: right when told, different when not.
    for matrix, full in (("bt709", False), ("bt601", True), ("bt709", True)):
        path = write(os.path.join(scratch, f"frame_{matrix}_{full}.nv12"),
                     pack(rgb, "nv12", matrix, full))
        options = ["--raw", f"nv12:{w}x{h}", "--yuv-matrix", matrix,
                   "--yuv-range", "full" if full else "limited"]
        told = classify([path], options)
        if told:
            top1_agrees(reference, told, f"nv12 {matrix} {'full' if full else 'limited'}")
        untold = classify([path], ["--raw", f"nv12:{w}x{h}"])
        if told and untold:
            check(told[0] != untold[0], f"--yuv-matrix {matrix} / range changed nothing")


def test_odd_sizes(rgb, scratch):
    """Odd sides: chroma planes of ceil(w/2) x ceil(h/2)."""
    odd = np.ascontiguousarray(rgb[:201, :301])
    path = write(os.path.join(scratch, "odd.i420"), pack(odd, "i420"))
    check(os.path.getsize(path) == 301 * 201 + 2 * 151 * 101, "odd-size I420 packing")
    check(classify([path], ["--raw", "i420:301x201"]) is not None, "odd-size I420 accepted")


def test_size_errors(rgb, jpeg, scratch):
    h, w = rgb.shape[:2]
    good = write(os.path.join(scratch, "good.nv12"), pack(rgb, "nv12"))
    data = pack(rgb, "nv12")
    short = write(os.path.join(scratch, "short.nv12"), data[:-1])
    long = write(os.path.join(scratch, "long.nv12"), data + b"\0")
    result = run(["classify", "--json", "-m", MODEL, "--raw", f"nv12:{w}x{h}", short, good, long])
    check(result.returncode == EXIT_BAD_IMAGE,
          f"wrong raw sizes: exit {result.returncode}, expected {EXIT_BAD_IMAGE}")
    printed = [json.loads(line)["image"] for line in result.out.splitlines()]
    check(printed == [good], f"only the right-sized frame is classified, got {printed}")
    lines = result.err.splitlines()
    check(len(lines) == 2, f"one message per wrong file, got {lines}")
    expected = str(len(data))
    for path, line in zip((short, long), lines):
        check(path in line and expected in line and str(os.path.getsize(path)) in line,
              f"message {line!r} should name the file, {expected} and its size")
    # A JPEG passed as a raw frame is just a file of the wrong size.
    result = run(["classify", "-m", MODEL, "--raw", f"rgb:{w}x{h}", jpeg])
    check(result.returncode == EXIT_BAD_IMAGE, "JPEG given as a raw frame")


def test_usage_errors(rgb, scratch):
    path = write(os.path.join(scratch, "any.rgb"), pack(rgb[:2, :2], "rgb"))
    for spec in ("foo:2x2", "nv12", "nv12:2", "nv12:0x2", "nv12:2x", "nv12:2x2x2", ":2x2",
                 "rgb:-2x2", "rgb:40000x2"):
        result = run(["classify", "-m", MODEL, "--raw", spec, path])
        check(result.returncode == EXIT_USAGE and result.err.strip(),
              f"--raw {spec}: exit {result.returncode}, expected {EXIT_USAGE} with a message")
    for option in (["--yuv-matrix", "bt2020"], ["--yuv-range", "studio"], ["--raw"]):
        result = run(["classify", "-m", MODEL] + option + ([path] if len(option) > 1 else []))
        check(result.returncode == EXIT_USAGE, f"{option}: exit {result.returncode}")


def main():
    require_cli(MODEL)
    jpegs = sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES) if f.endswith(".jpg"))
    scratch = tempfile.mkdtemp(prefix="mnet-cli-raw-")
    try:
        for index, jpeg in enumerate(jpegs):
            with Image.open(jpeg) as picture:
                rgb = np.asarray(picture.convert("RGB"))
            sub = os.path.join(scratch, str(index))
            os.mkdir(sub)
            if index == 0:
                test_oracle_matches_opencv(rgb)
                test_packed_formats(jpeg, rgb, sub)
                test_odd_sizes(rgb, sub)
                test_size_errors(rgb, jpeg, sub)
                test_usage_errors(rgb, sub)
            test_yuv_formats(jpeg, rgb, sub)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
