"""Contract of `mnet bench` (docs/CLI.md): one JSON line with the timing and
memory fields, all positive and consistent with each other (min <= median
<= max, mean within [min, max], throughput not above what the runs allow
for the threads used), plain text output, --precision (fp32 accepted; int8 on a
float model refused with exit 6), and exit codes. Run counts are kept small:
this checks the tool, not the speed. Exits 77 without the binary or the
bundled classifier.
"""
import json
import os
import random
import sys
import tempfile

from cli_harness import check, require_cli, run, summary, MODELS, EXIT_USAGE, EXIT_BAD_MODEL

CLASSIFIER = os.path.join(MODELS, "mobilenet_v2_1.0_224.safetensors")
OTHERS = [os.path.join(MODELS, name) for name in ("ssd_mobilenet_v2_coco.safetensors",
                                                  "deeplabv3_mnv2_dm1.0_pascal.safetensors")]
REQUIRED = ("min_ms", "median_ms", "mean_ms", "max_ms", "load_ms", "first_ms", "fps",
            "peak_rss_mb", "session_mb")


def bench_json(args, what):
    result = run(["bench", "--json"] + args)
    check(result.returncode == 0, f"{what}: exit {result.returncode}: {result.err.strip()}")
    lines = result.out.splitlines()
    check(len(lines) == 1, f"{what}: {len(lines)} lines instead of one")
    try:
        return json.loads(lines[0]) if lines else None
    except ValueError:
        check(False, f"{what}: not JSON: {lines[0]!r}")
        return None


def check_fields(data, model, runs, what):
    if data is None:
        return
    for key in REQUIRED:
        value = data.get(key)
        check(isinstance(value, (int, float)) and value > 0, f"{what}: {key} = {value!r}")
    if not all(isinstance(data.get(k), (int, float)) and data[k] > 0 for k in REQUIRED):
        return
    check(data["min_ms"] <= data["median_ms"] <= data["max_ms"],
          f"{what}: min {data['min_ms']} <= median {data['median_ms']} <= max {data['max_ms']}")
    check(data["min_ms"] <= data["mean_ms"] <= data["max_ms"], f"{what}: mean outside [min, max]")
    check(data.get("runs") == runs, f"{what}: runs {data.get('runs')} != {runs}")
    check(data.get("model") == model, f"{what}: model {data.get('model')!r}")
    # Each frame in flight runs on at most the threads of the timed runs, so
    # none finishes faster than the fastest timed run: throughput is at most
    # inflight frames per min_ms (20 % slack for timing noise).
    inflight = data.get("inflight")
    check(isinstance(inflight, int) and inflight >= 1, f"{what}: inflight {inflight!r}")
    check(isinstance(data.get("threads"), int) and data["threads"] >= 1,
          f"{what}: threads {data.get('threads')!r}")
    if isinstance(inflight, int) and inflight >= 1:
        ceiling = 1.2 * inflight * 1000.0 / data["min_ms"]
        check(data["fps"] <= ceiling, f"{what}: fps {data['fps']} above {ceiling:.0f}")
    # The process holds at least the session's memory.
    check(data["peak_rss_mb"] >= data["session_mb"], f"{what}: peak RSS below session memory")


def test_json(model):
    data = bench_json(["-m", model, "--runs", "7", "--warmup", "2", "--threads", "1"],
                      os.path.basename(model))
    check_fields(data, model, 7, os.path.basename(model))
    if data:
        check(data.get("threads") == 1, "--threads 1 is reported")


def test_options():
    data = bench_json(["-m", CLASSIFIER, "--runs", "4", "--warmup", "0", "--inflight", "2",
                       "--precision", "fp32", "--isa", "ref"], "bench --isa ref")
    check_fields(data, CLASSIFIER, 4, "bench --isa ref")
    if data:
        check(data.get("inflight") == 2 and data.get("precision") == "fp32" and
              data.get("isa") == "ref", f"options not reported: {data}")
    plain = run(["bench", "-m", CLASSIFIER, "--runs", "3", "--warmup", "1"])
    check(plain.returncode == 0 and "median" in plain.out and "MiB" in plain.out,
          f"plain bench: exit {plain.returncode}: {plain.out!r} {plain.err.strip()}")


PREPROCESS = ("preprocess_fused_ms", "preprocess_fused_min_ms", "preprocess_naive_ms",
              "preprocess_naive_min_ms", "preprocess_naive_convert_ms", "preprocess_speedup")


def test_preprocess():
    """--preprocess adds the fused and naive preprocessing timings; the
    speed-up is their ratio, each min is at most its median, and the naive
    path includes its own conversion step."""
    for frame in (None, "rgb:640x480", "i420:333x201"):
        extra = ["--frame", frame] if frame else []
        what = f"bench --preprocess {frame or '(default frame)'}"
        data = bench_json(["-m", CLASSIFIER, "--runs", "3", "--warmup", "1", "--threads", "1",
                           "--inflight", "1", "--preprocess"] + extra, what)
        if data is None:
            continue
        # the network timings are checked by test_json; here only that they are kept
        check(all(isinstance(data.get(k), (int, float)) for k in REQUIRED),
              f"{what}: network fields missing")
        values = [data.get(k) for k in PREPROCESS]
        check(all(isinstance(v, (int, float)) and v > 0 for v in values),
              f"{what}: preprocessing fields {dict(zip(PREPROCESS, values))}")
        if not all(isinstance(v, (int, float)) and v > 0 for v in values):
            continue
        check(data.get("preprocess_frame") == (frame or "nv12:1920x1080"),
              f"{what}: frame reported as {data.get('preprocess_frame')!r}")
        check(data["preprocess_fused_min_ms"] <= data["preprocess_fused_ms"] and
              data["preprocess_naive_min_ms"] <= data["preprocess_naive_ms"],
              f"{what}: a min above its median")
        check(data["preprocess_naive_convert_ms"] <= data["preprocess_naive_ms"] * 1.05,
              f"{what}: conversion alone slower than the whole naive path")
        ratio = data["preprocess_naive_ms"] / data["preprocess_fused_ms"]
        check(abs(data["preprocess_speedup"] - ratio) <= 1e-3 * ratio,
              f"{what}: speedup {data['preprocess_speedup']} != naive / fused {ratio}")
    plain = run(["bench", "-m", CLASSIFIER, "--runs", "2", "--warmup", "0", "--preprocess",
                 "--frame", "nv21:64x48"])
    check(plain.returncode == 0 and "preprocess" in plain.out and "nv21:64x48" in plain.out,
          f"plain bench --preprocess: exit {plain.returncode}: {plain.out!r} {plain.err.strip()}")
    without = bench_json(["-m", CLASSIFIER, "--runs", "2", "--warmup", "0"], "bench")
    check(without is None or not any(k in without for k in PREPROCESS),
          "preprocessing fields without --preprocess")
    for frame in ("nv12", "nv12:0x10", "yuyv:64x48", "rgb:64"):
        result = run(["bench", "-m", CLASSIFIER, "--preprocess", "--frame", frame])
        check(result.returncode == EXIT_USAGE and result.err.strip(),
              f"bench --frame {frame}: exit {result.returncode}, expected {EXIT_USAGE}")


def test_default_model():
    with tempfile.TemporaryDirectory() as cwd:
        result = run(["bench", "--json", "--runs", "2", "--warmup", "0"], cwd=cwd)
    check(result.returncode == 0, f"bench without -m: exit {result.returncode}: {result.err}")
    if result.returncode == 0:
        model = json.loads(result.out)["model"]
        # next to the executable, so not necessarily this source tree's copy
        check(os.path.basename(model) == os.path.basename(CLASSIFIER) and
              os.path.getsize(model) == os.path.getsize(CLASSIFIER),
              f"default bench model is {model}")


def test_errors(scratch):
    # int8 on a model without quantization: its own exit code (test_cli_precision.py
    # covers int8 on the quantized models)
    result = run(["bench", "-m", os.path.join(MODELS, "mobilenet_v1_0.75_224.safetensors"),
                  "--precision", "int8", "--runs", "1", "--warmup", "0"])
    check(result.returncode == 6 and "int8" in result.err,
          f"--precision int8 on a float model: exit {result.returncode}, message "
          f"{result.err.strip()!r}")
    for args in (["--precision", "fp64"], ["--runs", "0"], ["--runs", "x"], ["--warmup", "-1"],
                 ["--inflight", "0"], ["--threads", "-2"], ["--bogus"], ["extra-argument"],
                 ["--runs"]):
        result = run(["bench", "-m", CLASSIFIER] + args)
        check(result.returncode == EXIT_USAGE and result.err.strip(),
              f"bench {args}: exit {result.returncode}, expected {EXIT_USAGE}")
    garbage = os.path.join(scratch, "garbage.safetensors")
    with open(garbage, "wb") as f:
        f.write(random.Random(5).randbytes(1024))
    for model in (garbage, os.path.join(scratch, "missing.safetensors")):
        result = run(["bench", "--json", "-m", model])
        lines = result.err.splitlines()
        check(result.returncode == EXIT_BAD_MODEL and len(lines) == 1 and model in lines[0]
              and result.out == "", f"bench -m {model}: exit {result.returncode}, {lines}")
    check(run(["bench", "--help"]).returncode == 0, "bench --help")


def main():
    require_cli(CLASSIFIER)
    with tempfile.TemporaryDirectory() as scratch:
        for model in [CLASSIFIER] + [m for m in OTHERS if os.path.exists(m)]:
            test_json(model)
        test_options()
        test_preprocess()
        test_default_model()
        test_errors(scratch)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
