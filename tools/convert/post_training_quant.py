"""Post-training quantization of a float mnet model (MobileNet V1/V2
classifiers, SSD / SSDLite detectors, DeepLabv3 and v3+; fp32 or fp16
weights) into the int8_per_channel scheme of
docs/MODEL_FORMAT.md, following TFLite's post-training conventions:

* weights: int8 symmetric, one scale per output channel,
  scale = max|w_c| / 127 (1e-6 for an all-zero channel), q = round(w / scale);
* biases: int32, scale = input scale x weight scale (float32 product);
* activations: int8 asymmetric, from the values that mnet's own float path
  produces on the calibration images; the range is widened to include 0, the
  zero point is nudged to an integer (TFLite's ChooseQuantizationParams).
  ReLU6 outputs therefore get [0, max <= 6]; the projection of a residual
  block before its ADD gets the range of output - residual input. Which
  range (--method): "minmax" (TFLite's converter: the extremes), "percentile"
  (each tail clipped at the given percentile of the calibration values) or
  "mse" (the clipping that minimizes the expected squared quantization error
  over the calibration values' histogram: rounding noise inside the range
  plus clipping outside; a few outliers then no longer coarsen the step of
  every other value);
* the global pooling runs as TFLite's MEAN with its own output range;
* a classifier's softmax output: scale 1/256, zero point -128 (TFLite's);
* the model input: the range the normalization maps 0..255 to.

The layers, what each reads and its weight names come from the library's own
plan (mnet_model_plan_step), so every network mnet builds is covered.

The float weights are kept unchanged, so the output file runs at fp32 exactly
as before and at int8 with the new parameters."""

import json
import os
import struct

import numpy as np

import mnet_library
import safetensors_writer

QMIN, QMAX = -128, 127
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_DTYPES = {"F32": "<f4", "F16": "<f2", "I8": "i1", "U8": "u1", "I32": "<i4"}


class QuantizeError(ValueError):
    pass


def read_model(path):
    """(ordered tensors name -> array, metadata dict of strings)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise QuantizeError("%s: not a safetensors file" % path)
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], _DTYPES[info["dtype"]]).reshape(
            info["shape"])
    return tensors, metadata


def round_half_away(x):
    """std::round (TFLite's rounding), not NumPy's / Python's half to even."""
    x = np.asarray(x, np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def choose_activation_params(rmin, rmax):
    """TFLite's ChooseQuantizationParams for int8: (float32 scale, zero point)."""
    rmin, rmax = min(float(rmin), 0.0), max(float(rmax), 0.0)
    if rmax == rmin:  # an all-zero tensor
        return 1.0, 0
    scale = (rmax - rmin) / (QMAX - QMIN)
    zp_from_min, zp_from_max = QMIN - rmin / scale, QMAX - rmax / scale
    err_min = abs(QMIN) + abs(rmin / scale)
    err_max = abs(QMAX) + abs(rmax / scale)
    zp = zp_from_min if err_min < err_max else zp_from_max
    zp = QMIN if zp < QMIN else QMAX if zp > QMAX else int(round_half_away(zp))
    return float(np.float32(scale)), int(zp)


def quantize_weights(w):
    """Per output channel (axis 0) symmetric int8: (int8 array, float32 scales)."""
    flat = np.asarray(w, np.float64).reshape(w.shape[0], -1)
    maxabs = np.abs(flat).max(axis=1)
    scales = np.where(maxabs > 0, maxabs / 127.0, 1e-6).astype(np.float32)
    q = np.clip(round_half_away(flat / scales.astype(np.float64)[:, None]), -127, 127)
    return q.astype(np.int8).reshape(w.shape), scales


def quantize_bias(b, input_scale, weight_scales):
    scales = (np.float32(input_scale) * weight_scales).astype(np.float32)
    q = round_half_away(np.asarray(b, np.float64) / scales.astype(np.float64))
    return np.clip(q, -2 ** 31, 2 ** 31 - 1).astype(np.int32), scales


def preadd_key(step):
    """The activation key of a residual step's result before its ADD
    ("block5/output" -> "block5/project"; src/int8/q8_plan.c reads it)."""
    return step.name.split("/")[0] + "/project"


def calibration_images(directory, count):
    files = sorted(f for f in os.listdir(directory) if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise QuantizeError("no .jpg/.png images in %s" % directory)
    return [os.path.join(directory, f) for f in (files[:count] if count else files)]


def load_rgb(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), np.uint8)


def tap_values(model, images, steps):
    """(activation key, float array) of every tap on every image, plus the
    pre-ADD result of residual steps (output - residual input: the projection
    before its ADD)."""
    for path in images:
        taps = model.features(load_rgb(path))
        for name, array in taps.items():
            yield name, array
        for step in steps:
            if step.residual:
                yield preadd_key(step), taps[step.name] - taps[step.residual]


def calibrate(model, images, steps):
    """{activation key: [min, max]} over the images."""
    ranges = {}
    for key, array in tap_values(model, images, steps):
        lo, hi = float(array.min()), float(array.max())
        if key in ranges:
            ranges[key][0] = min(ranges[key][0], lo)
            ranges[key][1] = max(ranges[key][1], hi)
        else:
            ranges[key] = [lo, hi]
    return ranges


HISTOGRAM_BINS = 2048
METHODS = ("minmax", "percentile", "mse")


def histograms(model, images, steps, ranges):
    """{key: counts of the nonzero values over HISTOGRAM_BINS bins of [min,
    max]}: a second pass over the images once the extremes are known. Exact
    zeros (most ReLU outputs) are left out: 0 is always representable, so they
    never add quantization error whatever the range."""
    hist = {}
    for key, array in tap_values(model, images, steps):
        lo, hi = ranges[key]
        counts = np.histogram(array[array != 0], HISTOGRAM_BINS,
                              (lo, hi if hi > lo else lo + 1.0))[0].astype(np.int64)
        hist[key] = hist[key] + counts if key in hist else counts
    return hist


def percentile_range(counts, lo, hi, percentile):
    """Each tail beyond the given percentile of the nonzero values clipped."""
    edges = np.linspace(lo, hi, len(counts) + 1)
    total = counts.sum()
    if total == 0:
        return lo, hi
    cdf = np.cumsum(counts) / float(total)
    tail = (100.0 - percentile) / 100.0
    first = int(np.searchsorted(cdf, tail, side="right"))
    last = int(np.searchsorted(cdf, 1.0 - tail, side="left"))
    return float(edges[min(first, len(counts) - 1)]), float(edges[min(last, len(counts) - 1) + 1])


def mse_range(counts, lo, hi, steps=48):
    """The [l, h] among a grid of clippings of [lo, hi] (each end scaled by
    1/steps .. 1, independently) with the least expected squared error over
    the histogram: step^2 / 12 for values inside, the distance to the range
    for clipped ones. The range always spans 0, as the quantized one will."""
    edges = np.linspace(lo, hi, len(counts) + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    counts = counts.astype(np.float64)
    fractions = np.arange(1, steps + 1) / float(steps)
    lows = np.unique(np.minimum(lo, 0.0) * fractions)
    highs = np.unique(np.maximum(hi, 0.0) * fractions)
    best, best_range = None, (lo, hi)
    for low in lows:
        below = np.where(centers < low, (low - centers) ** 2, 0.0)
        for high in highs:
            if high <= low:
                continue
            step = (high - low) / (QMAX - QMIN)
            inside = (centers >= low) & (centers <= high)
            error = np.dot(counts, np.where(inside, step * step / 12.0,
                                            below + np.where(centers > high,
                                                             (centers - high) ** 2, 0.0)))
            if best is None or error < best:
                best, best_range = error, (float(low), float(high))
    return best_range


def choose_ranges(model, images, steps, method, percentile):
    """{activation key: (min, max)} to quantize each activation with."""
    ranges = calibrate(model, images, steps)
    if method == "minmax":
        return ranges
    hist = histograms(model, images, steps, ranges)
    chosen = {}
    for key, (lo, hi) in ranges.items():
        counts = hist[key]
        if method == "percentile":
            chosen[key] = percentile_range(counts, lo, hi, percentile)
        else:
            chosen[key] = mse_range(counts, lo, hi)
    return chosen


def input_params(config):
    """The normalized input's range for pixels 0..255, all channels."""
    mean = np.asarray(config["input"]["mean"], np.float64)
    std = np.asarray(config["input"]["std"], np.float64)
    return choose_activation_params(((0.0 - mean) / std).min(), ((255.0 - mean) / std).max())


def quantize_model(in_path, out_path, calibration_dir, num_images=0, library=None,
                   log=print, method="minmax", percentile=99.99):
    tensors, metadata = read_model(in_path)
    config = json.loads(metadata.get("mnet.config", "{}"))
    arch = config.get("architecture")
    if arch not in ("mobilenet_v1", "mobilenet_v2", "ssd", "deeplabv3"):
        raise QuantizeError("%s: post-training quantization supports MobileNet V1/V2 "
                            "classifiers, SSD and DeepLabv3; this is %s" % (in_path, arch))
    lib = mnet_library.Library(library)
    if method not in METHODS:
        raise QuantizeError("unknown calibration method %r (one of %s)"
                            % (method, ", ".join(METHODS)))
    if not 50.0 < percentile <= 100.0:
        raise QuantizeError("--percentile must be in (50, 100], not %r" % percentile)
    images = calibration_images(calibration_dir, num_images)
    with mnet_library.Model(lib, in_path, mnet_library.PRECISION_FP32, threads=1) as probe:
        steps = probe.plan()
    taps = [s.name for s in steps]
    with mnet_library.Model(lib, in_path, mnet_library.PRECISION_FP32, taps=taps) as model:
        ranges = choose_ranges(model, images, steps, method, percentile)
    how = "percentile %g" % percentile if method == "percentile" else method
    log("calibrated %d activations on %d images from %s (%s)" % (len(ranges), len(images),
                                                                  calibration_dir, how))

    activations = {}
    for key, (lo, hi) in ranges.items():
        scale, zp = choose_activation_params(lo, hi)
        activations[key] = {"scale": scale, "zero_point": zp}
    in_scale, in_zp = input_params(config)
    quant_tensors, raw = {}, {}
    scale_of = dict((k, v["scale"]) for k, v in activations.items())
    scale_of["input"] = in_scale
    for step in steps:
        if not step.weights:  # pooling, resize, concatenation
            continue
        prefix = step.weights
        w = tensors.get(prefix + ".weight")
        b = tensors.get(prefix + ".bias")
        if w is None or b is None or len(step.inputs) != 1:
            raise QuantizeError("%s: no %s.weight / .bias for layer %s" % (in_path, prefix,
                                                                          step.name))
        qw, wscales = quantize_weights(w.astype(np.float32))
        qb, bscales = quantize_bias(b.astype(np.float32), scale_of[step.inputs[0]], wscales)
        raw[prefix + ".weight.q"] = qw
        raw[prefix + ".bias.q"] = qb
        quant_tensors[prefix + ".weight"] = {"raw": prefix + ".weight.q",
                                             "scale": [float(s) for s in wscales],
                                             "zero_point": [0] * len(wscales), "axis": 0}
        quant_tensors[prefix + ".bias"] = {"raw": prefix + ".bias.q",
                                           "scale": [float(s) for s in bscales],
                                           "zero_point": [0] * len(bscales), "axis": 0}
    quantization = {
        "scheme": "int8_per_channel",
        "source": "post-training quantization by tools/convert (mnet_convert.py quantize), "
                  "%s over %d calibration images" % (how, len(images)),
        "input": {"scale": in_scale, "zero_point": in_zp},
        "pool_op": "mean",
        "tensors": quant_tensors,
        "activations": activations,
    }
    if "logits" in activations:
        quantization["output"] = activations["logits"]
    if arch in ("mobilenet_v1", "mobilenet_v2") and config.get("num_classes", 0) > 0:
        # TFLite's post-training convention for a classifier's softmax: int8 with scale
        # 1/256 and zero point -128; mnet then runs the quantized softmax, as for the
        # converted TFLite classifiers
        quantization["probabilities"] = {"scale": 1.0 / 256.0, "zero_point": -128}
    out_tensors = {k: v for k, v in tensors.items() if not k.endswith(".q")}
    out_tensors.update(raw)
    out_meta = dict(metadata)
    out_meta["mnet.quantization"] = json.dumps(quantization)
    if "name" in config and "int8 PTQ" not in config["name"]:
        config["name"] += " [int8 PTQ, calibrated on %d images]" % len(images)
        out_meta["mnet.config"] = json.dumps(config)
    size = safetensors_writer.write_safetensors(out_path, out_tensors, out_meta)
    log("%s: %s int8 per-channel, %d quantized layers, %d bytes"
        % (out_path, arch, len(raw) // 2, size))
    return size
