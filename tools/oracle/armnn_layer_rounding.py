#!/usr/bin/python3
"""Which rounding explains Arm NN CpuRef's uint8 convolutions? For each
CONV_2D / DEPTHWISE_CONV_2D operator of a uint8 .tflite, Arm NN's own input
of that layer (the model cut after the producing operator) is put through
three arithmetics and compared with Arm NN's output of the layer:

  double   TFLite's reference requantization (mnet today): int32 accumulator,
           Q0.31 multiplier, SaturatingRoundingDoublingHighMul, then
           RoundingDivideByPOT: two roundings
  single   the same multiplier and shift, one rounding (half away from zero)
           of acc * M / 2^(31 - shift): TFLite's TFLITE_SINGLE_ROUNDING form
  float    Arm NN's ConvImpl replayed in float32: dequantized values, sum over
           input channel, kernel row, kernel column in that order, bias last,
           round(sum / scale) + zero point

  tools/oracle/armnn_layer_rounding.py --ops 0,1,2,3 [--image FILE] [--model REL]

Every layer costs two Arm NN runs of the network up to it (seconds each).
Fused ReLU/ReLU6 are applied as the clamp of the output range."""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import armnn_fixtures as af  # noqa: E402

sys.path.insert(0, os.path.join(af.REPO, "tools", "convert"))
import tflite_reader  # noqa: E402


def quantize_multiplier(real):
    mantissa, exponent = np.frexp(real)
    q = int(round(mantissa * 2 ** 31))
    if q == 2 ** 31:
        q //= 2
        exponent += 1
    return q, int(exponent)


def high_mul(a, b):
    """round(a * b / 2^31), halves up (gemmlowp SRDHM without its saturation)."""
    n = a * b + np.where(a * b >= 0, 1 << 30, 1 - (1 << 30))
    return np.where(n >= 0, n // (1 << 31), -((-n) // (1 << 31)))


def divide_pot(x, e):
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > ((mask >> 1) + (x < 0)))


def activation_range(options, scale, zero_point):
    act = options.get("fused_activation_function")
    lo, hi = 0, 255
    if act in ("RELU", "RELU6"):
        lo = max(lo, zero_point)
    if act == "RELU6":
        hi = min(hi, zero_point + int(round(6 / scale)))
    return lo, hi


def padded(x, op, out_shape, kh, kw):
    st = op.options["stride_h"]
    h, w = out_shape[0], out_shape[1]
    if op.options["padding"] == "SAME":
        ph = max((h - 1) * st + kh - x.shape[0], 0)
        pw = max((w - 1) * st + kw - x.shape[1], 0)
        return np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))), st
    return x, st


def taps(xp, st, out_shape, ky, kx):
    h, w = out_shape[0], out_shape[1]
    return xp[ky:ky + (h - 1) * st + 1:st, kx:kx + (w - 1) * st + 1:st]


def integer_outputs(op, x_q, y_shape, xq, wq, wt, bt, oq):
    w = wt.data.astype(np.int64) - wq[1]
    kh, kw = w.shape[1], w.shape[2]
    xp, st = padded(x_q.astype(np.int64) - xq[1], op, y_shape, kh, kw)
    acc = np.zeros(y_shape, np.int64)
    for ky in range(kh):
        for kx in range(kw):
            t = taps(xp, st, y_shape, ky, kx)
            acc += t * w[0, ky, kx] if op.opcode == "DEPTHWISE_CONV_2D" else t @ w[:, ky, kx, :].T
    acc += bt.data.astype(np.int64)
    q, shift = quantize_multiplier(float(np.float32(xq[0])) * float(np.float32(wq[0])) /
                                   float(np.float32(oq[0])))
    lo, hi = activation_range(op.options, oq[0], oq[1])
    double = divide_pot(high_mul(acc * (1 << max(shift, 0)), q), max(-shift, 0))
    product, total = acc * q, 31 - shift
    half = 1 << (total - 1)
    single = np.where(product >= 0, (product + half) >> total, -((-product + half) >> total))
    return np.clip(double + oq[1], lo, hi), np.clip(single + oq[1], lo, hi), shift


def float_outputs(op, x_q, y_shape, xq, wq, wt, bt, oq):
    f32 = np.float32
    x = (f32(xq[0]) * (x_q.astype(f32) - f32(xq[1]))).astype(f32)
    w = (f32(wq[0]) * (wt.data.astype(f32) - f32(wq[1]))).astype(f32)
    b = (bt.data.astype(f32) * f32(bt.quantization.scale[0])).astype(f32)
    kh, kw = w.shape[1], w.shape[2]
    xp, st = padded(x, op, y_shape, kh, kw)
    s = np.zeros(y_shape, f32)
    depthwise = op.opcode == "DEPTHWISE_CONV_2D"
    for ci in range(1 if depthwise else x.shape[2]):
        for ky in range(kh):
            for kx in range(kw):
                t = taps(xp, st, y_shape, ky, kx)
                term = w[0, ky, kx] * t if depthwise else w[:, ky, kx, ci][None, None, :] * t[:, :, ci:ci + 1]
                s = (s + term.astype(f32)).astype(f32)
    v = ((s + b).astype(f32) / f32(oq[0])).astype(f32)
    lo, hi = activation_range(op.options, oq[0], oq[1])
    return np.clip(np.sign(v) * np.floor(np.abs(v) + f32(0.5)) + oq[1], lo, hi)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite")
    ap.add_argument("--image", default="n01440764_tench.JPEG")
    ap.add_argument("--ops", required=True, help="comma-separated operator indices")
    args = ap.parse_args()
    src = os.path.join(af.SHARED, "models", args.model)
    graph = tflite_reader.read_tflite(src)
    x0 = af.classification_input(os.path.join(af.SHARED, "data", "imagenet-dev", args.image))
    producer = {op.outputs[0]: op.index for op in graph.operators}
    producer[graph.inputs[0]] = -1
    cache = {}
    with tempfile.TemporaryDirectory() as tmp:
        def armnn(o):
            if o < 0:
                return x0
            if o not in cache:
                cut = os.path.join(tmp, "cut%d.tflite" % o)
                af.truncate_graph(src, cut, o + 1, graph.operators[o].outputs[0])
                cache[o] = af.ArmnnModel(cut).run(x0[None])[0][0]
            return cache[o]
        totals = np.zeros(4, np.int64)
        for o in [int(v) for v in args.ops.split(",")]:
            op = graph.operators[o]
            if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                continue
            xt, wt, bt = (graph.tensors[i] for i in op.inputs)
            ot = graph.tensors[op.outputs[0]]
            xq, wq, oq = ((float(t.quantization.scale[0]), int(t.quantization.zero_point[0]))
                          for t in (xt, wt, ot))
            x, y = armnn(producer[op.inputs[0]]).astype(np.int64), armnn(o).astype(np.int64)
            double, single, shift = integer_outputs(op, x, y.shape, xq, wq, wt, bt, oq)
            flt = float_outputs(op, x, y.shape, xq, wq, wt, bt, oq)
            counts = [(double != y).sum(), (single != y).sum(), (flt != y).sum(), y.size]
            totals += counts
            print("op %2d %-17s shift %3d: differ from Arm NN  double %6d (%6.3f %%)  single %4d  "
                  "float %d  of %d" % (o, op.opcode, shift, counts[0], 100.0 * counts[0] / y.size,
                                        counts[1], counts[2], y.size), flush=True)
        print("all: double %d, single %d, float %d of %d values" % tuple(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
