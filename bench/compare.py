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

    bench/compare [--models NAME ...] [--threads 1] [--rounds 20 --block 5]
                  [--engines mnet ort torch_jit] [--write-results]
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

# name -> (builder, input side, ORT min ms quoted in the issue, goal ratio)
NETWORKS = {
    "mobilenet_v1_1.0_224": (lambda: torch_mobilenet.MobileNetV1(1.0, 1001, "symmetric"), 224, 0.90),
    "mobilenet_v2_1.0_224": (lambda: torch_mobilenet.MobileNetV2(1.0, 1001, "symmetric"), 224, 0.70),
    "mobilenet_v2_1.4_224": (lambda: torch_mobilenet.MobileNetV2(1.4, 1001, "symmetric"), 224, 0.70),
    "mobilenet_v1_0.5_224": (lambda: torch_mobilenet.MobileNetV1(0.5, 1001, "symmetric"), 224, 0.90),
}


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

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.mnet_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.lib.mnet_model_load.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.c_void_p]
        self.lib.mnet_session_create.argtypes = [ctypes.c_void_p] * 4
        self.lib.mnet_output.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]

    def open(self, model_path, threads):
        opts = self.Options(threads, None, 1, 0)
        err = self.Error()
        model = ctypes.c_void_p()
        if self.lib.mnet_model_load(model_path.encode(), ctypes.byref(opts), ctypes.byref(model),
                                    ctypes.byref(err)) != 0:
            raise RuntimeError(err.message.decode())
        session = ctypes.c_void_p()
        if self.lib.mnet_session_create(model, None, ctypes.byref(session), ctypes.byref(err)) != 0:
            raise RuntimeError(err.message.decode())
        return model, session

    def runner(self, session, x_nhwc):
        buf = np.ascontiguousarray(x_nhwc, dtype=np.float32)
        ptr, n, run = buf.ctypes.data, buf.size, self.lib.mnet_run

        def timed(count, keep_alive=buf):
            out = []
            for _ in range(count):
                t0 = time.perf_counter()
                if run(session, ptr, n) != 0:
                    raise RuntimeError("mnet_run failed")
                out.append((time.perf_counter() - t0) * 1e3)
            return out

        def output(keep_alive=buf):
            run(session, ptr, n)
            t = self.Tensor()
            self.lib.mnet_output(session, 0, ctypes.byref(t))
            count = t.height * t.width * t.channels
            return np.ctypeslib.as_array(t.data, shape=(count,)).copy()
        return timed, output


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


def prepare(name, work):
    """Torch module, ONNX file and mnet file with the same random weights."""
    builder, side, _ = NETWORKS[name]
    gen = torch.Generator().manual_seed(1234)
    module = torch_mobilenet.randomize(builder(), gen)
    x = torch.randn(1, 3, side, side, generator=gen)
    onnx_path = os.path.join(work, name + ".onnx")
    mnet_path = os.path.join(work, name + ".safetensors")
    if not os.path.exists(onnx_path):
        torch.onnx.export(module, x, onnx_path, opset_version=13, input_names=["input"],
                          output_names=["logits"])
    if not os.path.exists(mnet_path):
        eps = 1e-3 if isinstance(module, torch_mobilenet.MobileNetV1) else 1e-5
        state = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
        model = torch_convert.convert_state_dict(state, input_size=(side, side),
                                                 padding="symmetric", eps=eps, name=name)
        converted_model.write_model(mnet_path, model, dtype="f16")
    return module, x, onnx_path, mnet_path


def summarize(ms):
    return {"min_ms": min(ms), "median_ms": statistics.median(ms), "runs": len(ms)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="*", default=list(NETWORKS))
    ap.add_argument("--engines", nargs="*", default=["mnet", "ort", "torch_jit"])
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
        engines, outputs = {}, {}
        with torch.no_grad():
            reference = module(x).numpy().reshape(-1)
        if "mnet" in args.engines:
            _, session = mnet.open(mnet_path, args.threads)
            timed, output = mnet.runner(session, x.permute(0, 2, 3, 1).numpy())
            engines["mnet"] = timed
            outputs["mnet"] = output
        if ort:
            ort.call(cmd="load", key=name, path=onnx_path, threads=args.threads, input=raw,
                     dims=list(x.shape))
            engines["ort"] = lambda n, key=name: ort.call(cmd="run", key=key, n=n)["ms"]
            outputs["ort"] = lambda key=name: np.array(
                ort.call(cmd="output", key=key)["outputs"][0]["data"], dtype=np.float32)
        if "torch_jit" in args.engines:
            with torch.no_grad():
                jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(module.eval(), x)))

            def torch_timed(n, jit=jit):
                out = []
                with torch.inference_mode():
                    for _ in range(n):
                        t0 = time.perf_counter()
                        jit(x)
                        out.append((time.perf_counter() - t0) * 1e3)
                return out
            engines["torch_jit"] = torch_timed
            outputs["torch_jit"] = lambda jit=jit: jit(x).detach().numpy().reshape(-1)
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
        row = {"model": name, "threads": args.threads,
               "engines": {e: summarize(t) for e, t in times.items()},
               "max_rel_diff_vs_torch": agreement, "goal": NETWORKS[name][2]}
        if "mnet" in times and "ort" in times:
            row["ratio_min"] = row["engines"]["mnet"]["min_ms"] / row["engines"]["ort"]["min_ms"]
            row["ratio_median"] = (row["engines"]["mnet"]["median_ms"] /
                                   row["engines"]["ort"]["median_ms"])
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
    engines = [e for e in ("mnet", "ort", "torch_jit") if any(e in r["engines"] for r in rows)]
    head = "| network | " + " | ".join("%s min / median ms" % e for e in engines)
    head += " | mnet/ORT min | mnet/ORT median | goal |\n"
    head += "|---" * (len(engines) + 4) + "|\n"
    lines = []
    for r in rows:
        cells = []
        for e in engines:
            s = r["engines"].get(e)
            cells.append("%.2f / %.2f" % (s["min_ms"], s["median_ms"]) if s else "-")
        ratio = ("%.2f" % r["ratio_min"], "%.2f" % r["ratio_median"]) if "ratio_min" in r else ("-", "-")
        met = "met" if "ratio_min" in r and r["ratio_min"] <= r["goal"] else "missed"
        lines.append("| %s | %s | %s | %s | ≤ %.2f (%s) |" % (r["model"], " | ".join(cells), ratio[0],
                                                             ratio[1], r["goal"], met))
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
