#!/usr/bin/python3
"""mnet vs ONNX Runtime vs PyTorch on the same networks, interleaved in one run.

Each network is built in PyTorch with random weights (fixed seed, random BN
statistics), exported to ONNX for ONNX Runtime (npm onnxruntime-node, CPU EP)
and converted to an mnet model with the same weights; PyTorch runs it traced
and frozen. All engines get the same input. Timing: after warm-up, ROUNDS
rounds in which every engine, in a shuffled order, runs BLOCK inferences back
to back, so all engines share the same noisy window of this shared machine.
Reported: min and median per engine, and mnet's ratios to ONNX Runtime.
A sanity check compares each engine's output with PyTorch eager.

    bench/compare.py [--models NAME ...] [--threads 1] [--rounds 20 --block 5]
                     [--engines mnet mnet_int8 ort torch_jit] [--write-results]
                     [--calibration DIR --calibration-images 8]
                     [--int8-classifiers bundled|ptq]

The engine mnet_int8 times mnet's int8 path (precision int8), reported as
int8/ORT min and median. Which int8 model each row uses (the table's "int8
model" column says it):

* classifier rows whose published quantized model is bundled in models/
  (MobileNet V1 1.0 and V2 1.0 224): that model ("bundled": same
  architecture, other weights, the original TFLite uint8 quantization; ONNX
  Runtime's fp32 time of the random-weight network is the honest reference
  since the work per inference does not depend on the weights), against the
  issue's int8 goals (0.35 / 0.30);
* the detection and segmentation rows (and, with --int8-classifiers ptq,
  every classifier row): the SAME random-weight network as the fp32 mnet
  engine, quantized by `mnet_convert.py quantize` (post-training, int8 per
  channel) calibrated on the first --calibration-images images of
  --calibration ("ptq"); cached in the work folder as NAME_int8_cN_*.safetensors
  and rebuilt when the fp32 file or the quantizer is newer. Detectors and
  segmenters are timed on the whole task like the fp32 engine (mnet_detect /
  mnet_segment incl. post-processing). Rows without an int8 goal in the
  issues are "reported".

Sanity check of the int8 engine: the int8 model runs next to the same file
at fp32 (for "ptq" that is the fp32 network of the row; for "bundled" the
dequantized published weights) on the 8-bit image the detection rows are
timed on (random pixels, inside the int8 input range): the whole task, then
correlation and max relative difference of output 0 of that run, plus top-1
of mnet_classify equal (classifiers), the share
of fp32 detections that int8 finds with the same class at IoU >= 0.5
(detectors), or the share of mask pixels that agree (segmenters). Printed;
the run fails only if it is grossly wrong (output correlation < 0.9).
Random weights give near-tied class logits, so mask agreement is lower
than on a trained model.

For the detection and segmentation rows mnet is timed on its whole task
(mnet_detect / mnet_segment on an 8-bit image of the network's size:
preprocessing, network, NMS or the full-size mask), the other engines on
the network alone; the share of mnet's post-processing is reported.
"""
import argparse
import ctypes
import datetime
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "convert"))
sys.path.insert(0, os.path.join(ROOT, "tests", "models"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import mnet_library  # noqa: E402
import torch_mobilenet  # noqa: E402

import torch_case  # noqa: E402
import torch_deeplab  # noqa: E402
import torch_ssd  # noqa: E402

V1_EXTRAS = [[256, 512], [128, 256], [128, 256], [64, 128]]
V2_EXTRAS = [[256, 512], [128, 256], [128, 256], [64, 128]]


class Network:
    """A benchmark row: the PyTorch module, its input side, the mnet task
    timed (classify/detect/segment run the whole pipeline; "run" is the
    network alone), extra converter arguments, and the issue's goal ratio."""

    def __init__(self, build, side, task, goal, convert_args=(), padding="symmetric", eps=1e-5):
        self.build, self.side, self.task, self.goal = build, side, task, goal
        self.convert_args, self.padding, self.eps = list(convert_args), padding, eps


NETWORKS = {
    "mobilenet_v1_1.0_224": Network(lambda: torch_mobilenet.MobileNetV1(1.0, 1001, "symmetric"),
                                    224, "run", 0.90, eps=1e-3),
    "mobilenet_v2_1.0_224": Network(lambda: torch_mobilenet.MobileNetV2(1.0, 1001, "symmetric"),
                                    224, "run", 0.70),
    "mobilenet_v2_1.4_224": Network(lambda: torch_mobilenet.MobileNetV2(1.4, 1001, "symmetric"),
                                    224, "run", 0.70),
    "mobilenet_v1_0.5_224": Network(lambda: torch_mobilenet.MobileNetV1(0.5, 1001, "symmetric"),
                                    224, "run", 0.90, eps=1e-3),
    "ssd_mobilenet_v1_300": Network(
        lambda: torch_ssd.SSD("v1", 1.0, 91, V1_EXTRAS, [3, 6, 6, 6, 6, 6], padding="symmetric",
                              eps=1e-3), 300, "detect", 0.90, eps=1e-3),
    "ssdlite_mobilenet_v2_300": Network(
        lambda: torch_ssd.SSD("v2", 1.0, 91, V2_EXTRAS, [3, 6, 6, 6, 6, 6],
                              predictor="depthwise3x3", lite=True, padding="symmetric", eps=1e-3),
        300, "detect", 0.75, eps=1e-3),
    "deeplabv3_mobilenet_v2_513_os8": Network(
        lambda: torch_deeplab.DeepLabV3(1.0, 21, output_stride=8, padding="symmetric", eps=1e-3),
        513, "segment", 0.75, ["--output-stride", "8", "--activation", "relu",
                               "--align-corners", "true"], eps=1e-3),
    "deeplabv3_mobilenet_v2_513_os16": Network(
        lambda: torch_deeplab.DeepLabV3(1.0, 21, output_stride=16, padding="symmetric", eps=1e-3),
        513, "segment", None, ["--output-stride", "16", "--activation", "relu",
                               "--align-corners", "true"], eps=1e-3),
}
CLASSIFIERS = [n for n, v in NETWORKS.items() if v.task == "run"]

# The goals for int8 time / ONNX Runtime fp32 time; other rows are
# "reported". These two rows time the bundled published quantized model by
# default (models/NAME.safetensors).
INT8_GOALS = {"mobilenet_v1_1.0_224": 0.35, "mobilenet_v2_1.0_224": 0.30}
QUANTIZER_SOURCES = [os.path.join(ROOT, "tools", "convert", f)
                     for f in ("mnet_convert.py", "post_training_quant.py")]


class MnetLib:
    """The few public entry points of libmnet.so the benchmark needs (the
    public structs as tools/convert/mnet_library.py declares them)."""

    Options, Error = mnet_library.MnetOptions, mnet_library.MnetError
    Tensor, Image = mnet_library.MnetTensor, mnet_library.MnetImage

    class Class(ctypes.Structure):
        _fields_ = [("index", ctypes.c_int), ("label", ctypes.c_char_p), ("score", ctypes.c_float)]

    class Detection(ctypes.Structure):
        _fields_ = [("class_index", ctypes.c_int), ("label", ctypes.c_char_p),
                    ("score", ctypes.c_float), ("box", ctypes.c_float * 4)]

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.mnet_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.lib.mnet_model_load.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.c_void_p]
        self.lib.mnet_session_create.argtypes = [ctypes.c_void_p] * 4
        self.lib.mnet_output.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]

    def open(self, model_path, threads, precision=1):
        """precision: 1 = fp32 (mnet_precision), 2 = int8."""
        opts = self.Options(threads, None, precision, 0)
        err = self.Error()
        model = ctypes.c_void_p()
        if self.lib.mnet_model_load(model_path.encode(), ctypes.byref(opts), ctypes.byref(model),
                                    ctypes.byref(err)) != 0:
            raise RuntimeError(err.message.decode())
        session = ctypes.c_void_p()
        if self.lib.mnet_session_create(model, None, ctypes.byref(session), ctypes.byref(err)) != 0:
            raise RuntimeError(err.message.decode())
        return model, session

    def runner(self, session, x_nhwc, task, side):
        """timed(count) -> ms per call, output() -> output 0, network_only(count)
        -> ms of mnet_run alone, result() -> (output 0, task result) of one
        whole task on the 8-bit image: the top-1 class of mnet_classify for
        "run", a list of (class, score, box) for "detect", the mask for
        "segment". "run" times
        mnet_run on the normalized tensor; "detect"/"segment" time the whole
        task on an 8-bit RGB image of the network's size (preprocessing,
        network and post-processing: NMS or the full-size mask)."""
        buf = np.ascontiguousarray(x_nhwc, dtype=np.float32)
        ptr, n, lib = buf.ctypes.data, buf.size, self.lib
        pixels = np.random.default_rng(5).integers(0, 256, (side, side, 3), dtype=np.uint8)
        image = MnetLib.Image(1, side, side, (ctypes.c_void_p * 3)(pixels.ctypes.data, None, None),
                              (ctypes.c_size_t * 3)(side * 3, 0, 0))
        mask = np.zeros((side, side), np.uint8)
        dets = (MnetLib.Detection * 128)()
        count = ctypes.c_int()
        lib.mnet_detect.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.mnet_segment.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.c_void_p, ctypes.c_size_t]
        lib.mnet_classify.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        if task == "detect":
            call = lambda: lib.mnet_detect(session, ctypes.byref(image), None, None, dets, 128,
                                           ctypes.byref(count))
        elif task == "segment":
            call = lambda: lib.mnet_segment(session, ctypes.byref(image), None,
                                            mask.ctypes.data, side)
        else:
            call = lambda: lib.mnet_run(session, ptr, n)

        def timed(count_runs, keep_alive=(buf, pixels, mask, image, dets)):
            out = []
            for _ in range(count_runs):
                t0 = time.perf_counter()
                if call() != 0:
                    raise RuntimeError("mnet %s failed" % task)
                out.append((time.perf_counter() - t0) * 1e3)
            return out

        def network_only(count_runs, keep_alive=buf):
            out = []
            for _ in range(count_runs):
                t0 = time.perf_counter()
                lib.mnet_run(session, ptr, n)
                out.append((time.perf_counter() - t0) * 1e3)
            return out

        def output(keep_alive=buf):
            lib.mnet_run(session, ptr, n)
            t = self.Tensor()
            lib.mnet_output(session, 0, ctypes.byref(t))
            count_values = t.height * t.width * t.channels
            return np.ctypeslib.as_array(t.data, shape=(count_values,)).copy()

        def result(keep_alive=(buf, pixels, mask, image, dets)):
            # the whole task on the 8-bit image (its pixels are in the int8
            # input range, unlike the normal random tensor), then output 0
            # of that run
            top = (MnetLib.Class * 1)()
            status = (lib.mnet_classify(session, ctypes.byref(image), None, 1, top,
                                        ctypes.byref(count)) if task == "run" else call())
            if status != 0:
                raise RuntimeError("mnet %s failed" % task)
            t = self.Tensor()
            lib.mnet_output(session, 0, ctypes.byref(t))
            logits = np.ctypeslib.as_array(t.data, shape=(t.height * t.width * t.channels,)).copy()
            if task == "run":
                return logits, top[0].index
            if task == "segment":
                return logits, mask.copy()
            return logits, [(d.class_index, d.score, tuple(d.box)) for d in dets[:count.value]]
        return timed, output, network_only, result


class OrtWorker:
    def __init__(self):
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "ort_worker.js")], cwd=HERE,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error"))
        return reply

    def close(self):
        try:
            self.call(cmd="quit")
        except Exception:  # noqa: BLE001 - the worker exits on quit
            pass


class Flat(torch.nn.Module):
    """The SSD's per-map (box, class) pairs as one flat tuple, which tracing
    and ONNX export take."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        if isinstance(out, list):
            return tuple(t for pair in out for t in pair)
        return out


def prepare(name, work):
    """Torch module, ONNX file and mnet file with the same random weights."""
    net = NETWORKS[name]
    gen = torch.Generator().manual_seed(1234)
    module = torch_mobilenet.randomize(net.build(), gen).eval()
    x = torch.randn(1, 3, net.side, net.side, generator=gen)
    onnx_path = os.path.join(work, name + ".onnx")
    mnet_path = os.path.join(work, name + "_f16.safetensors")
    if not os.path.exists(onnx_path):
        torch.onnx.export(Flat(module).eval(), x, onnx_path, opset_version=13, input_names=["input"])
    if not os.path.exists(mnet_path):
        torch_case.convert(module, work, name, "f16", (net.side, net.side), net.padding, net.eps,
                           net.convert_args)
    return module, x, onnx_path, mnet_path


def reference_output(name, module, x):
    """What mnet's output 0 holds: logits, the last SSD class head, or the
    DeepLab logits, as an NHWC array."""
    with torch.no_grad():
        out = module(x)
    if NETWORKS[name].task == "detect":
        out = out[-1][1]
    out = out.numpy()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


def int8_model(name, mnet_path, args):
    """(source, path) of the int8 model mnet_int8 times for this row, or
    (None, None): "bundled" is the published quantized classifier in
    models/, "ptq" this row's own network quantized by mnet_convert.py."""
    bundled = os.path.join(ROOT, "models", name + ".safetensors")
    if NETWORKS[name].task == "run" and args.int8_classifiers == "bundled":
        return ("bundled", bundled) if name in INT8_GOALS and os.path.exists(bundled) else (None, None)
    # the calibration set is part of the cached file's name
    tag = hashlib.sha256(os.path.abspath(args.calibration).encode()).hexdigest()[:8]
    out = os.path.join(args.work, "%s_int8_c%d_%s.safetensors" % (name, args.calibration_images,
                                                                  tag))
    inputs = [mnet_path] + QUANTIZER_SOURCES
    if not os.path.exists(out) or os.path.getmtime(out) < max(map(os.path.getmtime, inputs)):
        partial = out + ".partial"
        done = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tools", "convert", "mnet_convert.py"),
             "quantize", "--calibration", args.calibration, "--images", str(args.calibration_images),
             "--library", os.path.join(args.build, "libmnet.so"), mnet_path, partial],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            print("%s: no mnet_int8 row, quantization failed: %s" % (name, done.stderr.strip()),
                  flush=True)
            return None, None
        os.replace(partial, out)
    return "ptq", out


def box_iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def check_int8(task, fp32_out, fp32_result, int8_out, int8_result):
    """How close the int8 run is to the fp32 run of the same file, both on
    the benchmark's 8-bit image: output 0 and the task's result."""
    scale = float(np.abs(fp32_out).max()) or 1.0
    check = {"correlation": float(np.corrcoef(fp32_out, int8_out)[0, 1]),
             "max_rel_diff": float(np.abs(int8_out - fp32_out).max() / scale)}
    if task == "run":
        check["top1_equal"] = bool(fp32_result == int8_result)
    elif task == "detect":
        found = sum(any(c8 == c and box_iou(b, b8) >= 0.5 for c8, _, b8 in int8_result)
                    for c, _, b in fp32_result)
        check.update(fp32_detections=len(fp32_result), int8_detections=len(int8_result),
                     fp32_found_by_int8=found)
    else:
        check["mask_agreement"] = float(np.mean(fp32_result == int8_result))
    return check


def describe_check(c):
    text = "output 0 correlation %.4f, max rel diff %.3f" % (c["correlation"], c["max_rel_diff"])
    if "top1_equal" in c:
        text += ", top-1 %s" % ("equal" if c["top1_equal"] else "DIFFERENT")
    if "fp32_detections" in c:
        text += ", %d of %d fp32 detections found (%d int8)" % (
            c["fp32_found_by_int8"], c["fp32_detections"], c["int8_detections"])
    if "mask_agreement" in c:
        text += ", masks agree on %.1f %% of pixels" % (100 * c["mask_agreement"])
    return text


def summarize(ms):
    return {"min_ms": min(ms), "median_ms": statistics.median(ms), "runs": len(ms)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="*", default=list(NETWORKS))
    ap.add_argument("--engines", nargs="*", default=["mnet", "mnet_int8", "ort", "torch_jit"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--block", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default=os.path.join(HERE, "onnx"))
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--calibration", default=os.path.join(ROOT, "..", "shared", "data", "coco-dev",
                                                          "images"),
                    help="images for the post-training quantization of the mnet_int8 models")
    ap.add_argument("--calibration-images", type=int, default=8,
                    help="how many of them (the first by name)")
    ap.add_argument("--int8-classifiers", choices=["bundled", "ptq"], default="bundled",
                    help="classifier rows' int8 model: the bundled published quantized model "
                         "where there is one (default), or this row's network quantized")
    ap.add_argument("--write-results", action="store_true",
                    help="replace the generated table in bench/RESULTS.md")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(args.threads)
    random.seed(0)
    mnet = MnetLib(os.path.join(args.build, "libmnet.so"))
    ort = OrtWorker() if "ort" in args.engines else None
    rows = []
    for name in args.models:
        module, x, onnx_path, mnet_path = prepare(name, args.work)
        raw = os.path.join(args.work, name + ".input.bin")
        x.numpy().astype("<f4").tofile(raw)
        net = NETWORKS[name]
        engines, outputs = {}, {}
        reference = reference_output(name, module, x)
        network_only = None
        if "mnet" in args.engines:
            _, session = mnet.open(mnet_path, args.threads)
            timed, output, network_only, _ = mnet.runner(session, x.permute(0, 2, 3, 1).numpy(),
                                                         net.task, net.side)
            engines["mnet"] = timed
            outputs["mnet"] = output
        int8_network_only, int8_check = None, None
        int8_source, int8_path = (int8_model(name, mnet_path, args) if "mnet_int8" in args.engines
                                  else (None, None))
        if int8_path:
            x_nhwc = x.permute(0, 2, 3, 1).numpy()
            _, session8 = mnet.open(int8_path, args.threads, precision=2)
            timed8, _, int8_network_only, result8 = mnet.runner(session8, x_nhwc, net.task,
                                                                net.side)
            engines["mnet_int8"] = timed8
            _, session8_fp32 = mnet.open(int8_path, args.threads, precision=1)
            _, _, _, result8_fp32 = mnet.runner(session8_fp32, x_nhwc, net.task, net.side)
            int8_check = check_int8(net.task, *result8_fp32(), *result8())
            print("%s int8 (%s) vs fp32: %s" % (name, int8_source, describe_check(int8_check)),
                  flush=True)
            if int8_check["correlation"] < 0.9:
                raise RuntimeError("%s: int8 output grossly wrong (correlation %.3f with fp32)"
                                   % (name, int8_check["correlation"]))
        if ort:
            ort.call(cmd="load", key=name, path=onnx_path, threads=args.threads, input=raw,
                     dims=list(x.shape))
            engines["ort"] = lambda n, key=name: ort.call(cmd="run", key=key, n=n)["ms"]
            if net.task == "run":  # the other graphs' output order is the exporter's
                outputs["ort"] = lambda key=name: np.array(
                    ort.call(cmd="output", key=key)["outputs"][0]["data"], dtype=np.float32)
        if "torch_jit" in args.engines:
            with torch.no_grad():
                jit = torch.jit.optimize_for_inference(
                    torch.jit.freeze(torch.jit.trace(Flat(module).eval(), x)))

            def torch_timed(n, jit=jit):
                out = []
                with torch.inference_mode():
                    for _ in range(n):
                        t0 = time.perf_counter()
                        jit(x)
                        out.append((time.perf_counter() - t0) * 1e3)
                return out
            engines["torch_jit"] = torch_timed
        reference = reference.reshape(-1)
        scale = float(np.abs(reference).max())
        agreement = {e: float(np.abs(f().reshape(-1) - reference).max() / scale)
                     for e, f in outputs.items()}
        for run in engines.values():
            run(args.warmup)
        times = {e: [] for e in engines}
        for _ in range(args.rounds):
            order = list(engines)
            random.shuffle(order)
            for e in order:
                times[e] += engines[e](args.block)
        row = {"model": name, "threads": args.threads, "mnet_task": net.task,
               "engines": {e: summarize(t) for e, t in times.items()},
               "max_rel_diff_vs_torch": agreement, "goal": net.goal}
        if network_only and net.task != "run":
            # the post-processing share: the whole task vs the network alone
            alone = summarize(network_only(args.rounds * args.block))
            row["mnet_network_only"] = alone
            row["mnet_post_share"] = 1.0 - alone["min_ms"] / row["engines"]["mnet"]["min_ms"]
        if int8_network_only and net.task != "run":
            alone = summarize(int8_network_only(args.rounds * args.block))
            row["mnet_int8_network_only"] = alone
            row["mnet_int8_post_share"] = (1.0 - alone["min_ms"] /
                                           row["engines"]["mnet_int8"]["min_ms"])
        if int8_path:
            row["int8_model"] = int8_source
            row["int8_check"] = int8_check
        if "mnet" in times and "ort" in times:
            row["ratio_min"] = row["engines"]["mnet"]["min_ms"] / row["engines"]["ort"]["min_ms"]
            row["ratio_median"] = (row["engines"]["mnet"]["median_ms"] /
                                   row["engines"]["ort"]["median_ms"])
        if "mnet_int8" in times and "ort" in times:
            row["int8_ratio_min"] = (row["engines"]["mnet_int8"]["min_ms"] /
                                     row["engines"]["ort"]["min_ms"])
            row["int8_ratio_median"] = (row["engines"]["mnet_int8"]["median_ms"] /
                                        row["engines"]["ort"]["median_ms"])
            row["int8_goal"] = INT8_GOALS.get(name)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if ort:
        ort.close()
    meta = {"date": datetime.date.today().isoformat(), "machine": machine_description(),
            "threads": args.threads, "rounds": args.rounds, "block": args.block,
            "torch": torch.__version__}
    if any(r.get("int8_model") == "ptq" for r in rows):
        meta["int8_calibration"] = "first %d images of %s" % (
            args.calibration_images, os.path.relpath(os.path.abspath(args.calibration), ROOT))
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    table = markdown_table(meta, rows)
    print(table)
    if args.write_results:
        write_results(table)


def machine_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, %s" % (model, os.cpu_count() or 0, platform.machine())



def share_text(share):
    """The post-processing share, measured as whole task minus the network
    alone in separate windows: below 1 % it is within the noise (it can even
    come out negative), so it is reported as such."""
    return "< 1 %%" if share < 0.01 else "%.0f %%" % (100 * share)

def markdown_table(meta, rows):
    engines = [e for e in ("mnet", "mnet_int8", "ort", "torch_jit")
               if any(e in r["engines"] for r in rows)]
    int8 = any("int8_ratio_min" in r for r in rows)
    head = "| network | " + " | ".join("%s min / median ms" % e for e in engines)
    head += " | mnet/ORT min | mnet/ORT median | goal |"
    if int8:
        head += " int8 model | int8/ORT min | int8/ORT median | int8 goal | int8 vs fp32 |"
    head += "\n" + "|---" * (len(engines) + 4 + (5 if int8 else 0)) + "|\n"
    lines = []
    for r in rows:
        cells = []
        for e in engines:
            s = r["engines"].get(e)
            cells.append("%.2f / %.2f" % (s["min_ms"], s["median_ms"]) if s else "-")
        ratio = ("%.2f" % r["ratio_min"], "%.2f" % r["ratio_median"]) if "ratio_min" in r else ("-", "-")
        if r["goal"] is None:
            goal = "reported"
        else:
            met = "met" if "ratio_min" in r and r["ratio_min"] <= r["goal"] else "missed"
            goal = "≤ %.2f (%s)" % (r["goal"], met)
        name = r["model"]
        if r.get("mnet_task", "run") != "run":
            name += " (mnet: whole %s, post-processing %s" % (
                r["mnet_task"], share_text(r.get("mnet_post_share", 0)))
            if "mnet_int8_post_share" in r:
                name += ", int8 %s" % share_text(r["mnet_int8_post_share"])
            name += ")"
        line = "| %s | %s | %s | %s | %s |" % (name, " | ".join(cells), ratio[0], ratio[1], goal)
        if int8:
            if "int8_ratio_min" in r:
                if r["int8_goal"] is None:
                    goal = "reported"
                else:
                    met = "met" if r["int8_ratio_min"] <= r["int8_goal"] else "missed"
                    goal = "≤ %.2f (%s)" % (r["int8_goal"], met)
                model = {"bundled": "bundled published (models/, other weights)",
                         "ptq": "this network, PTQ"}.get(r.get("int8_model"), "-")
                line += " %s | %.2f | %.2f | %s | %s |" % (
                    model, r["int8_ratio_min"], r["int8_ratio_median"], goal,
                    short_check(r.get("int8_check")))
            else:
                line += " - | - | - | - | - |"
        lines.append(line)
    note = ("%s, %s, %d thread(s), %d rounds x %d runs per engine, interleaved; torch %s" %
            (meta["date"], meta["machine"], meta["threads"], meta["rounds"], meta["block"],
             meta["torch"]))
    if "int8_calibration" in meta:
        note += "; int8 PTQ calibrated on the %s" % meta["int8_calibration"]
    return note + "\n\n" + head + "\n".join(lines) + "\n"


def short_check(c):
    """The int8 sanity check in a table cell."""
    if not c:
        return "-"
    text = "corr %.4f" % c["correlation"]
    if "top1_equal" in c:
        text += ", top-1 %s" % ("equal" if c["top1_equal"] else "differs")
    if "fp32_detections" in c:
        text += ", %d/%d dets" % (c["fp32_found_by_int8"], c["fp32_detections"])
    if "mask_agreement" in c:
        text += ", mask %.1f %%" % (100 * c["mask_agreement"])
    return text


BEGIN = "<!-- compare:begin -->"
END = "<!-- compare:end -->"


def write_results(table):
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Results\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN not in text:
        text += "\n%s\n%s\n" % (BEGIN, END)
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    text = text[:start] + "\n" + table + text[end:]
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
