"""Layer by layer, mnet's int8 path on the per-channel int8 MobileNet V2
(models/mobilenet_v2_1.0_224_ptq.safetensors) computes exactly TFLite's
integer arithmetic. mnet runs the whole network with every layer's output
exported as a tap; each layer is then recomputed here in NumPy from mnet's
own input to that layer with TFLite's int8 reference arithmetic (written from
its specification: int32 accumulation, per-channel QuantizeMultiplier from
double(input_scale) * double(weight_scale[c]) / double(output_scale),
the accumulator times that multiplier rounded once (TFLite's
TFLITE_SINGLE_ROUNDING form of MultiplyByQuantizedMultiplier), fused
ReLU6 clamp; ADD with left shift 20; MEAN's rescale then division rounding
half away from zero), and must match on every value.

This is the exactness claim; the comparison against Arm NN
(test_int8_ptq_vs_armnn.py) cannot be exact because Arm NN's reference
backend requantizes in float."""

import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tools", "convert"))

MODEL = os.path.join(SOURCE, "models", "mobilenet_v2_1.0_224_ptq.safetensors")
INPUTS = os.path.join(SOURCE, "tests", "fixtures", "armnn", "inputs")
SAMPLES = ["imagenet_224_n01440764_tench.bin", "imagenet_224_n01530575_brambling.bin"]


# ------------------------------------------------ TFLite integer arithmetic

def quantize_multiplier(real):
    """(Q0.31 multiplier, shift) as TFLite's QuantizeMultiplier."""
    if real == 0:
        return 0, 0
    mantissa, exponent = math.frexp(real)
    q = int(round(mantissa * (1 << 31)))
    if q == 1 << 31:
        q //= 2
        exponent += 1
    if exponent < -31:
        return 0, 0
    return q, exponent


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite's MultiplyByQuantizedMultiplier in its single-rounding form
    (TFLITE_SINGLE_ROUNDING): x * multiplier / 2^(31 - shift) rounded once to
    the nearest integer, halves up. Elementwise; multiplier and shift
    broadcast (per channel = last axis). Exact: |x * multiplier| < 2^62."""
    x = np.asarray(x, np.int64)
    multiplier = np.asarray(multiplier, np.int64)
    divisor = np.int64(2) ** (31 - np.asarray(shift, np.int64))
    v = np.floor_divide(x * multiplier + divisor // 2, divisor)
    return ((v + 2 ** 31) % 2 ** 32) - 2 ** 31  # TFLite's cast to int32 wraps


def activation_range(act, scale, zero_point):
    lo, hi = -128, 127
    if act in ("relu", "relu6"):
        lo = max(lo, zero_point + int(np.round(np.float32(0))))
    if act == "relu6":
        v = np.float32(6.0) / np.float32(scale)
        hi = min(hi, zero_point + int(math.copysign(math.floor(abs(float(v)) + 0.5), float(v))))
    return lo, hi


def tf_same_pads(size, kernel, stride):
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def conv_accumulators(x, zp_in, w, bias, stride, depthwise):
    """x: int (H, W, Cin); w: int OHWI. Returns int64 (OH, OW, Cout)."""
    h, wd, cin = x.shape
    cout, kh, kw, _ = w.shape
    oh, top, bottom = tf_same_pads(h, kh, stride)
    ow, left, right = tf_same_pads(wd, kw, stride)
    padded = np.pad(x.astype(np.int64) - zp_in, ((top, bottom), (left, right), (0, 0)))
    acc = np.zeros((oh, ow, cout), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            patch = padded[ky:ky + (oh - 1) * stride + 1:stride, kx:kx + (ow - 1) * stride + 1:stride]
            if depthwise:
                acc += patch * w[:, ky, kx, 0].astype(np.int64)
            else:
                acc += patch @ w[:, ky, kx, :].astype(np.int64).T
    return acc + bias.astype(np.int64)


def requantize(acc, in_scale, w_scales, out_scale, out_zp, act):
    pairs = [quantize_multiplier(float(np.float64(in_scale) * np.float64(ws) /
                                       np.float64(out_scale))) for ws in w_scales]
    mult = np.array([p[0] for p in pairs], np.int64)
    shift = np.array([p[1] for p in pairs], np.int64)
    lo, hi = activation_range(act, out_scale, out_zp)
    return np.clip(multiply_by_quantized_multiplier(acc, mult, shift) + out_zp, lo, hi)


def add(a, qa, b, qb, qout):
    twice_max = 2 * max(float(qa["scale"]), float(qb["scale"]))
    ma, sa = quantize_multiplier(float(qa["scale"]) / twice_max)
    mb, sb = quantize_multiplier(float(qb["scale"]) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << 20) * float(qout["scale"])))
    va = multiply_by_quantized_multiplier((a.astype(np.int64) - qa["zero_point"]) << 20, ma, sa)
    vb = multiply_by_quantized_multiplier((b.astype(np.int64) - qb["zero_point"]) << 20, mb, sb)
    return np.clip(multiply_by_quantized_multiplier(va + vb, mo, so) + qout["zero_point"], -128, 127)


def mean(x, qin, qout):
    count = x.shape[0] * x.shape[1]
    acc = (x.astype(np.int64) - qin["zero_point"]).sum(axis=(0, 1))
    m, s = quantize_multiplier(float(qin["scale"]) / float(qout["scale"]))
    acc = multiply_by_quantized_multiplier(acc, m, s)
    acc = np.where(acc > 0, (acc + count // 2) // count, -((-acc + count // 2) // count))
    return np.clip(acc + qout["zero_point"], -128, 127)


# ------------------------------------------------ the check

def main():
    try:
        import mnet_library
        import post_training_quant
        lib = mnet_library.Library()
    except Exception as exc:  # noqa: BLE001
        print("libmnet.so not loadable (%s): skipped" % exc)
        return 77
    if not os.path.exists(MODEL):
        print("model missing: skipped")
        return 77
    tensors, metadata = post_training_quant.read_model(MODEL)
    quant = json.loads(metadata["mnet.quantization"])
    acts, qt = quant["activations"], quant["tensors"]
    with mnet_library.Model(lib, MODEL, mnet_library.PRECISION_FP32, threads=1) as probe:
        steps = probe.plan()
    names = [s.name for s in steps]
    failures, checked = [], 0
    with mnet_library.Model(lib, MODEL, mnet_library.PRECISION_INT8, taps=names,
                            threads=1) as model:
        for sample in SAMPLES:
            pixels = np.fromfile(os.path.join(INPUTS, sample), np.uint8).reshape(224, 224, 3)
            mi = quant["model_input"]
            normalized = (pixels.astype(np.float32) - mi["zero_point"]) * np.float32(mi["scale"])
            logits, taps = model.run_normalized(normalized)
            taps["logits"] = logits.reshape(1, 1, -1)

            def q(name):
                a = acts[name]
                return np.round(taps[name] / np.float32(a["scale"])).astype(np.int64) + a["zero_point"]

            # TFLite's QUANTIZE uint8 (zero point 127) -> int8 (zero point -1), same scale
            prev_q = pixels.astype(np.int64) - 128
            prev_quant = quant["input"]
            for step in steps:
                name, op, act, stride = step.name, step.op, step.activation, step.stride
                out_q = acts[name]
                if op == "global_avgpool":
                    want = mean(prev_q, prev_quant, out_q)
                else:
                    prefix = step.weights
                    w = tensors[qt[prefix + ".weight"]["raw"]]
                    b = tensors[qt[prefix + ".bias"]["raw"]]
                    ws = qt[prefix + ".weight"]["scale"]
                    if w.ndim == 2:  # classifier
                        w = w.reshape(w.shape[0], 1, 1, w.shape[1])
                        prev_in = prev_q.reshape(1, 1, -1)
                    else:
                        prev_in = prev_q
                    acc = conv_accumulators(prev_in, prev_quant["zero_point"], w, b, stride,
                                            op == "depthwise")
                    if step.residual:
                        pq = acts[post_training_quant.preadd_key(step)]
                        projected = requantize(acc, prev_quant["scale"], ws, pq["scale"],
                                               pq["zero_point"], act)
                        res = step.residual
                        want = add(projected, pq, q(res), acts[res], out_q)
                    else:
                        want = requantize(acc, prev_quant["scale"], ws, out_q["scale"],
                                          out_q["zero_point"], act)
                got = q(name)
                want = want.reshape(got.shape)
                diff = int((got != want).sum())
                checked += got.size
                if diff:
                    failures.append("%s %s: %d of %d values differ (max %d)"
                                    % (sample, name, diff, got.size, int(np.abs(got - want).max())))
                prev_q, prev_quant = got, out_q
    print("%d values of %d layers x %d images recomputed with TFLite's integer arithmetic"
          % (checked, len(steps), len(SAMPLES)))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
