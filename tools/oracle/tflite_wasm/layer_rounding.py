#!/usr/bin/python3
"""Which arithmetic explains TFLite's (tfjs-tflite wasm, default XNNPACK
delegate) uint8 layers, and how often does mnet's single rounding differ from
it given the same layer input? For each CONV_2D / DEPTHWISE_CONV_2D / ADD of
a uint8 .tflite, TFLite's own input(s) of the layer (the graph cut after the
producing operator, armnn_fixtures.truncate_graph) and its output are
compared with replays in NumPy:

  conv  double   TFLite's reference kernels: Q0.31 multiplier,
                 SaturatingRoundingDoublingHighMul + RoundingDivideByPOT
        single   one rounding, halves away from zero (mnet, TFLITE_SINGLE_ROUNDING)
        xnnpack  XNNPACK's fp32 requantization: float32(acc) * float32 scale
                 (input_scale * kernel_scale / output_scale in float32),
                 rounded to nearest, halves to even
  add   ref      TFLite's reference uint8 ADD (left shift 20, three Q0.31
                 multiplications, each rounded)
        xnnpack  XNNPACK's scalar QU8 add as recalled from its parameter
                 setup (22-bit multipliers from the float32 scale ratios, one
                 arithmetic shift with a half-up bias; not checked against
                 XNNPACK's source here). On MobileNet V2 and DeepLab both add
                 replays match every value, so adds do not tell them apart.
  pool           a global AVERAGE_POOL_2D (TFLite builtin kernel): (sum + n/2) / n

  /usr/bin/python3 tools/oracle/tflite_wasm/layer_rounding.py [--image FILE] [--model REL] [--ops 0,1,2]
      [--input-from REL]             feed REL's output (V1 head layers after the extractor)
      [--stretch 513 --image PATH]   DeepLab: the image resized, not cropped

Each layer costs two wasm runs of the network cut after it (about a second).
The layer inputs are TFLite's, so a difference here is only that layer's
rounding, not propagated from earlier layers. A layer whose cut graph XNNPACK
refused (TFLite then falls back to its builtin kernels for the whole graph) is
skipped and said so."""
import argparse
import math
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import armnn_fixtures as af  # noqa: E402
import armnn_layer_rounding as alr  # noqa: E402  (padding, taps, TFLite's integer requantization)
import tflite_fixtures  # noqa: E402  (the wasm runner)

sys.path.insert(0, os.path.join(af.REPO, "tools", "convert"))
import tflite_reader  # noqa: E402
sys.path.insert(0, os.path.join(af.REPO, "tests", "int8"))
import test_int8_ptq_tflite_arith as arith  # noqa: E402  (TFLite's multiply_by_quantized_multiplier)

F32 = np.float32
REPLAYED = ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D")


def quant(t):
    return float(t.quantization.scale[0]), int(t.quantization.zero_point[0])


def xnn_quantize(value, scale, zero_point):
    """xnn_qu8_quantize: lrintf(value / scale) + zero point, clamped."""
    v = float(np.rint(F32(value) / F32(scale)))
    return int(min(max(v + zero_point, 0), 255))


def xnn_range(options, scale, zero_point):
    act = options.get("fused_activation_function")
    lo, hi = 0, 255
    if act in ("RELU", "RELU6"):
        lo = max(lo, xnn_quantize(0.0, scale, zero_point))
    if act == "RELU6":
        hi = min(hi, xnn_quantize(6.0, scale, zero_point))
    return lo, hi


def accumulators(op, x_q, y_shape, xq, wq, wt, bt):
    """int32 accumulators (int64 here) of a uint8 convolution, dilation included."""
    w = wt.data.astype(np.int64) - wq[1]
    kh, kw = w.shape[1], w.shape[2]
    dh, dw = op.options.get("dilation_h_factor", 1), op.options.get("dilation_w_factor", 1)
    xp, st = alr.padded(x_q.astype(np.int64) - xq[1], op, y_shape, (kh - 1) * dh + 1, (kw - 1) * dw + 1)
    acc = np.zeros(y_shape, np.int64)
    for ky in range(kh):
        for kx in range(kw):
            t = alr.taps(xp, st, y_shape, ky * dh, kx * dw)
            acc += t * w[0, ky, kx] if op.opcode == "DEPTHWISE_CONV_2D" else t @ w[:, ky, kx, :].T
    return acc + bt.data.astype(np.int64)


def integer_conv(acc, xq, wq, oq, options):
    """TFLite's requantization of the accumulators: (double rounding, single
    rounding, shift), as armnn_layer_rounding.integer_outputs."""
    q, shift = alr.quantize_multiplier(float(np.float32(xq[0])) * float(np.float32(wq[0])) /
                                       float(np.float32(oq[0])))
    lo, hi = alr.activation_range(options, oq[0], oq[1])
    double = alr.divide_pot(alr.high_mul(acc * (1 << max(shift, 0)), q), max(-shift, 0))
    product, total = acc * q, 31 - shift
    half = 1 << (total - 1)
    single = np.where(product >= 0, (product + half) >> total, -((-product + half) >> total))
    return np.clip(double + oq[1], lo, hi), np.clip(single + oq[1], lo, hi), shift


def xnnpack_conv(acc, xq, wq, oq, options):
    scale = F32(F32(xq[0]) * F32(wq[0])) / F32(oq[0])
    v = np.rint((acc.astype(F32) * scale).astype(F32)).astype(np.int64)  # rint: halves to even
    lo, hi = xnn_range(options, *oq)
    return np.clip(v + oq[1], lo, hi)


def reference_add(a, qa, b, qb, qo, options):
    twice_max = 2 * max(qa[0], qb[0])
    ma, sa = arith.quantize_multiplier(qa[0] / twice_max)
    mb, sb = arith.quantize_multiplier(qb[0] / twice_max)
    mo, so = arith.quantize_multiplier(twice_max / ((1 << 20) * qo[0]))
    # TFLite's reference ADD rounds each product twice (the non-single-rounding build)
    def mul(x, m, s):
        left, right = max(s, 0), max(-s, 0)
        return alr.divide_pot(alr.high_mul(x * (1 << left), m), right)
    va = mul((a.astype(np.int64) - qa[1]) << 20, ma, sa)
    vb = mul((b.astype(np.int64) - qb[1]) << 20, mb, sb)
    lo, hi = alr.activation_range(options, *qo)
    return np.clip(mul(va + vb, mo, so) + qo[1], lo, hi)


def xnnpack_add(a, qa, b, qb, qo, options):
    a_scale, b_scale = F32(F32(qa[0]) / F32(qo[0])), F32(F32(qb[0]) / F32(qo[0]))
    exponent = math.frexp(float(max(a_scale, b_scale)))[1] - 1
    shift = 20 - exponent
    am = int(np.rint(F32(a_scale * F32(2.0 ** shift))))
    bm = int(np.rint(F32(b_scale * F32(2.0 ** shift))))
    bias = (1 << (shift - 1)) - am * qa[1] - bm * qb[1]
    acc = bias + a.astype(np.int64) * am + b.astype(np.int64) * bm
    lo, hi = xnn_range(options, *qo)
    return np.clip((acc >> shift) + qo[1], lo, hi)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite")
    ap.add_argument("--image", default="n01440764_tench.JPEG")
    ap.add_argument("--ops", default="", help="comma-separated operator indices (default: all)")
    ap.add_argument("--input-from", default="",
                    help="a model (REL) run first on the image, its output fed to --model (V1 head layers)")
    ap.add_argument("--show", type=int, default=3, help="differing values printed per layer")
    ap.add_argument("--stretch", type=int, default=0,
                    help="feed --image (a path) resized to this square size, no crop (DeepLab: 513)")
    args = ap.parse_args()
    src = os.path.join(af.SHARED, "models", args.model)
    graph = tflite_reader.read_tflite(src)
    if args.stretch:
        x0 = af.stretch_input(args.image, args.stretch)
    else:
        x0 = af.classification_input(os.path.join(af.SHARED, "data", "imagenet-dev", args.image))
    if args.input_from:
        with tempfile.TemporaryDirectory() as tmp:
            first = os.path.join(af.SHARED, "models", args.input_from)
            x0 = tflite_fixtures.TfliteRun(first, x0[None], tmp).runs[0][0][0]
    producer = {op.outputs[0]: op.index for op in graph.operators}
    producer[graph.inputs[0]] = -1
    ops = [int(v) for v in args.ops.split(",")] if args.ops else range(len(graph.operators))
    cache = {}
    names = ("double", "single", "xnnpack")
    totals = {"conv": np.zeros(4, np.int64), "add": np.zeros(3, np.int64)}
    single_vs_xnn = 0
    with tempfile.TemporaryDirectory() as tmp:
        def tflite(o):
            """TFLite's output of operator o (the graph cut after it), or None
            when XNNPACK refused the cut graph and TFLite ran its builtin kernels."""
            if o < 0:
                return x0
            if o not in cache:
                cut = os.path.join(tmp, "cut%d.tflite" % o)
                af.truncate_graph(src, cut, o + 1, graph.operators[o].outputs[0])
                run = tflite_fixtures.TfliteRun(cut, x0[None], tmp, require_delegate=False)
                cache[o] = run.runs[0][0][0] if run.delegated else None
            return cache[o]
        for o in ops:
            op = graph.operators[o]
            if op.opcode not in REPLAYED:
                continue
            if any(tflite(k) is None for k in [o] + [producer[i] for i in op.inputs if i in producer]):
                print("op %2d %-17s: skipped, XNNPACK's delegate failed on a cut graph (TFLite fell back "
                      "to its builtin kernels)" % (o, op.opcode), flush=True)
                continue
            if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                xt, wt, bt = (graph.tensors[i] for i in op.inputs)
                ot = graph.tensors[op.outputs[0]]
                xq, wq, oq = quant(xt), quant(wt), quant(ot)
                x, y = tflite(producer[op.inputs[0]]).astype(np.int64), tflite(o).astype(np.int64)
                acc = accumulators(op, x, y.shape, xq, wq, wt, bt)
                double, single, shift = integer_conv(acc, xq, wq, oq, op.options)
                xnn = xnnpack_conv(acc, xq, wq, oq, op.options)
                for at in list(zip(*np.nonzero(single != xnn)))[:args.show]:
                    scale32 = F32(F32(xq[0]) * F32(wq[0])) / F32(oq[0])
                    q, _ = alr.quantize_multiplier(float(F32(xq[0])) * float(F32(wq[0])) / float(F32(oq[0])))
                    print("    at %s: acc %d, acc * Q0.31 multiplier = %.9f (mnet rounds to %d), float32 "
                          "acc * scale = %.9f (XNNPACK rounds to %d), TFLite %d"
                          % (tuple(int(v) for v in at), acc[at], acc[at] * q / 2.0 ** (31 - shift),
                             single[at] - oq[1], float(F32(acc[at]) * scale32), xnn[at] - oq[1],
                             y[at] - oq[1]))
                counts = [(double != y).sum(), (single != y).sum(), (xnn != y).sum(), y.size]
                totals["conv"] += counts
                single_vs_xnn += int((single != xnn).sum())
                print("op %2d %-17s shift %3d: differ from TFLite  double %5d (%6.3f %%)  single (mnet) "
                      "%5d (%6.3f %%)  xnnpack-fp32 %d  of %d"
                      % (o, op.opcode, shift, counts[0], 100.0 * counts[0] / y.size, counts[1],
                         100.0 * counts[1] / y.size, counts[2], y.size), flush=True)
            elif op.opcode == "AVERAGE_POOL_2D" and op.options["padding"] == "VALID":
                x = tflite(producer[op.inputs[0]]).astype(np.int64)
                y = tflite(o).astype(np.int64)
                if (op.options["filter_height"], op.options["filter_width"]) != x.shape[:2]:
                    continue
                count = x.shape[0] * x.shape[1]
                ref = (x.sum(axis=(0, 1)) + count // 2) // count  # TFLite's reference uint8 average
                print("op %2d AVERAGE_POOL_2D (global)     : differ from TFLite  (sum + n/2) / n %d of %d"
                      % (o, int((ref != y.reshape(-1)).sum()), y.size), flush=True)
            elif op.opcode == "ADD":
                at, bt = (graph.tensors[i] for i in op.inputs)
                ot = graph.tensors[op.outputs[0]]
                a = tflite(producer[op.inputs[0]]).astype(np.int64)
                b = tflite(producer[op.inputs[1]]).astype(np.int64)
                y = tflite(o).astype(np.int64)
                ref = reference_add(a, quant(at), b, quant(bt), quant(ot), op.options)
                xnn = xnnpack_add(a, quant(at), b, quant(bt), quant(ot), op.options)
                counts = [(ref != y).sum(), (xnn != y).sum(), y.size]
                totals["add"] += counts
                print("op %2d ADD                         : differ from TFLite  reference %5d (%6.3f %%)  "
                      "xnnpack %d  of %d" % (o, counts[0], 100.0 * counts[0] / y.size, counts[1], y.size),
                      flush=True)
    c, a = totals["conv"], totals["add"]
    print("convolutions: %s differ from TFLite on %d / %d / %d of %d values; mnet's single rounding differs "
          "from the XNNPACK replay on %d" % ("/".join(names), c[0], c[1], c[2], c[3], single_vs_xnn))
    print("adds: reference %d, xnnpack %d of %d values" % tuple(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
