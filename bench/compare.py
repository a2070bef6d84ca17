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

The engine mnet_int8 (classifier rows whose original quantized model is
bundled in models/: MobileNet V1 1.0 and V2 1.0 224) times mnet's uint8 path
on that model (same architecture, the original TFLite quantization; ONNX
Runtime's fp32 time of the random-weight network is the honest reference
since the work per inference does not depend on the weights); it is
reported as int8/ORT against the int8 goals (0.35 / 0.30).

For the detection and segmentation rows mnet is timed on its whole task
(mnet_detect / mnet_segment on an 8-bit image of the network's size:
preprocessing, network, NMS or the full-size mask), the other engines on
the network alone; the share of mnet's post-processing is reported.
"""
import argparse
import ctypes
import datetime
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

import converted_model  # noqa: E402
import torch_convert  # noqa: E402
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

# Rows with a bundled quantized model for mnet_int8, and the goals
# for int8 time / ONNX Runtime fp32 time.
INT8_MODELS = {"mobilenet_v1_1.0_224": 0.35, "mobilenet_v2_1.0_224": 0.30}


class MnetLib:
    """The few public entry points of libmnet.so the benchmark needs."""

    class Options(ctypes.Structure):
        _fields_ = [("threads", ctypes.c_int), ("isa", ctypes.c_char_p),
                    ("precision", ctypes.c_int), ("max_session_bytes", ctypes.c_size_t)]

    class Error(ctypes.Structure):
        _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 512)]

    class Tensor(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char_p), ("height", ctypes.c_int), ("width", ctypes.c_int),
                    ("channels", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float))]

    class Image(ctypes.Structure):
        _fields_ = [("format", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                    ("planes", ctypes.c_void_p * 3), ("strides", ctypes.c_size_t * 3)]

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
        """timed(count) -> ms per call, output() -> output 0. "run" times
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
        return timed, output, network_only


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
            timed, output, network_only = mnet.runner(session, x.permute(0, 2, 3, 1).numpy(),
                                                      net.task, net.side)
            engines["mnet"] = timed
            outputs["mnet"] = output
        int8_path = os.path.join(ROOT, "models", name + ".safetensors")
        if "mnet_int8" in args.engines and name in INT8_MODELS and os.path.exists(int8_path):
            _, session8 = mnet.open(int8_path, args.threads, precision=2)
            timed8, _, _ = mnet.runner(session8, x.permute(0, 2, 3, 1).numpy(), "run", net.side)
            engines["mnet_int8"] = timed8
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
        if "mnet" in times and "ort" in times:
            row["ratio_min"] = row["engines"]["mnet"]["min_ms"] / row["engines"]["ort"]["min_ms"]
            row["ratio_median"] = (row["engines"]["mnet"]["median_ms"] /
                                   row["engines"]["ort"]["median_ms"])
        if "mnet_int8" in times and "ort" in times:
            row["int8_ratio_min"] = (row["engines"]["mnet_int8"]["min_ms"] /
                                     row["engines"]["ort"]["min_ms"])
            row["int8_ratio_median"] = (row["engines"]["mnet_int8"]["median_ms"] /
                                        row["engines"]["ort"]["median_ms"])
            row["int8_goal"] = INT8_MODELS[name]
        rows.append(row)
        print(json.dumps(row), flush=True)
    if ort:
        ort.close()
    meta = {"date": datetime.date.today().isoformat(), "machine": machine_description(),
            "threads": args.threads, "rounds": args.rounds, "block": args.block,
            "torch": torch.__version__}
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


def markdown_table(meta, rows):
    engines = [e for e in ("mnet", "mnet_int8", "ort", "torch_jit")
               if any(e in r["engines"] for r in rows)]
    int8 = any("int8_ratio_min" in r for r in rows)
    head = "| network | " + " | ".join("%s min / median ms" % e for e in engines)
    head += " | mnet/ORT min | mnet/ORT median | goal |"
    if int8:
        head += " int8/ORT min | int8/ORT median | int8 goal |"
    head += "\n" + "|---" * (len(engines) + 4 + (3 if int8 else 0)) + "|\n"
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
            name += " (mnet: whole %s, post-processing %.0f %%)" % (
                r["mnet_task"], 100 * r.get("mnet_post_share", 0))
        line = "| %s | %s | %s | %s | %s |" % (name, " | ".join(cells), ratio[0], ratio[1], goal)
        if int8:
            if "int8_ratio_min" in r:
                met = "met" if r["int8_ratio_min"] <= r["int8_goal"] else "missed"
                line += " %.2f | %.2f | ≤ %.2f (%s) |" % (r["int8_ratio_min"],
                                                         r["int8_ratio_median"], r["int8_goal"], met)
            else:
                line += " - | - | - |"
        lines.append(line)
    note = ("%s, %s, %d thread(s), %d rounds x %d runs per engine, interleaved; torch %s" %
            (meta["date"], meta["machine"], meta["threads"], meta["rounds"], meta["block"],
             meta["torch"]))
    return note + "\n\n" + head + "\n".join(lines) + "\n"


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
