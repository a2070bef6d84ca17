#!/usr/bin/python3
"""Runs the original pretrained .tflite models with the TFLite interpreter
compiled to WebAssembly (npm @tensorflow/tfjs-tflite, run by Node through
tools/oracle/tflite_wasm/run_tflite.js) and stores their outputs as JSON test
fixtures under tests/fixtures/tflite/, a second oracle next to Arm NN's.

The inputs are the exact tensors of the Arm NN fixtures: every image of
tests/fixtures/armnn/<fixture>.json is rebuilt with armnn_fixtures.py's
preprocessing and its sha256 must equal that fixture's input_sha256.

Caveat: the tfjs-tflite interpreter applies TFLite's default XNNPACK delegate
(QU8/QS8 convolutions with fp32 requantization) and offers no switch to turn
it off, so this oracle is "TFLite 2.x as shipped in tfjs-tflite, default
XNNPACK delegate", not TFLite's reference or optimized integer kernels.

Sub-commands: mnv2 | mnv1 | mnv2ptq | ssd | deeplab | all (a few minutes in
all; needs `npm install` in tools/oracle/tflite_wasm first). See
tools/oracle/README.md.
"""
import argparse
import datetime
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

import armnn_fixtures as A  # preprocessing, flatbuffer helpers, graph truncation, records
from fixture_codec import b64, zlib_b64

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "tflite_wasm", "run_tflite.js")
FIXTURE_DIR = os.path.join(A.REPO, "tests", "fixtures", "tflite")
ARMNN_DIR = A.FIXTURE_DIR
SHARED = A.SHARED
DTYPES = {"uint8": np.uint8, "int8": np.int8, "int16": np.int16, "int32": np.int32,
          "uint32": np.uint32, "float32": np.float32, "float64": np.float64, "bool": np.bool_}
TENSOR_TYPE_INT32, TENSOR_TYPE_INT64 = 2, 4  # tflite::TensorType
XNNPACK_CAVEAT = ("TFLite's default XNNPACK delegate is applied by this build and cannot be turned off: "
                  "delegated uint8/int8 operators run XNNPACK's QU8/QS8 kernels (fp32 requantization), "
                  "the rest TFLite's builtin kernels; not TFLite's reference kernels")


def log(msg):
    A.log(msg)


# ---------------------------------------------------------------- running the wasm interpreter

class TfliteRun:
    """All outputs of one model on a stack of input tensors."""

    def __init__(self, model_path, tensors, work_dir, profile=False, require_delegate=True):
        tensors = np.ascontiguousarray(tensors)
        fd, inputs = tempfile.mkstemp(suffix=".bin", dir=work_dir)
        os.close(fd)
        out = inputs[:-4] + "_out"
        try:
            tensors.tofile(inputs)
            cmd = ["node", RUNNER, model_path, inputs, out] + (["--profile"] if profile else [])
            subprocess.run(cmd, check=True)
            with open(out + ".json") as f:
                self.meta = json.load(f)
            raw = np.fromfile(out + ".bin", np.uint8)
        finally:
            for p in (inputs, out + ".json", out + ".bin"):
                if os.path.exists(p):
                    os.remove(p)
        self.delegated = self.meta["xnnpack_created"] and not self.meta["delegate_fallback"]
        if require_delegate and not self.delegated:
            raise RuntimeError("%s: TFLite did not apply its XNNPACK delegate (log: %s)"
                               % (model_path, self.meta["log"]))
        per_run = sum(o["bytes"] for o in self.meta["outputs"])
        if self.meta["runs"] != len(tensors) or raw.size != per_run * len(tensors):
            raise RuntimeError("%s: %d runs, %d output bytes for %d inputs"
                               % (model_path, self.meta["runs"], raw.size, len(tensors)))
        self.runs = []
        for n in range(len(tensors)):
            chunk, pos, outs = raw[n * per_run:(n + 1) * per_run], 0, []
            for o in self.meta["outputs"]:
                if o["dtype"] not in DTYPES:
                    raise RuntimeError("%s: output %s has dtype %s" % (model_path, o["name"], o["dtype"]))
                a = chunk[pos:pos + o["bytes"]].copy().view(DTYPES[o["dtype"]]).reshape(o["shape"])
                outs.append(a)
                pos += o["bytes"]
            self.runs.append(outs)


def runtime_fields(meta):
    r = meta["runtime"]
    text = ("TFLite 2.x interpreter compiled to WebAssembly, npm %s@%s (%s, no SIMD, no threads; "
            "numThreads=%d), run by Node %s through tools/oracle/tflite_wasm/run_tflite.js; %s"
            % (r["package"], r["version"], r["wasm"], r["num_threads"], r["node"], XNNPACK_CAVEAT))
    return {"runtime": text, "runtime_details": dict(r)}


def io_description(model_path, meta):
    """Inputs/outputs as the interpreter reports them, with the quantization
    read from the .tflite file (the wasm API does not expose it)."""
    sys.path.insert(0, os.path.join(A.REPO, "tools", "convert"))
    import tflite_reader
    graph = tflite_reader.read_tflite(model_path)
    by_name = {t.name: t for t in graph.tensors}

    def describe(info):
        d = {"name": info["name"], "shape": info["shape"], "dtype": info["dtype"]}
        t = by_name.get(info["name"])
        if t is not None and t.quantization is not None and t.quantization.scale.size == 1:
            d["scale"] = float(t.quantization.scale[0])
            d["zero_point"] = int(t.quantization.zero_point[0])
        return d
    return {"inputs": [describe(i) for i in meta["inputs"]],
            "outputs": [describe(o) for o in meta["outputs"]]}


def delegated_summary(meta):
    """Which operators the interpreter ran (from its profiler), as counts:
    e.g. {"TfLiteXNNPackDelegate": 2, "SOFTMAX": 1}."""
    counts = {}
    seen = set()
    for p in meta.get("profile", []):
        key = (p["type"], p["name"])
        if key in seen:
            continue
        seen.add(key)
        counts[p["type"]] = counts.get(p["type"], 0) + 1
    return counts


# ---------------------------------------------------------------- inputs = the Arm NN fixture's

def armnn_fixture(name):
    with open(os.path.join(ARMNN_DIR, name + ".json")) as f:
        return json.load(f)


def exact_inputs(fixture, data_dir, build):
    """The fixture's images rebuilt with `build`, each checked against the
    fixture's input_sha256; returns (records, stacked uint8 tensors)."""
    tensors = []
    for rec in fixture["images"]:
        x = build(os.path.join(data_dir, rec["file"]))
        digest = A.sha256_bytes(x[None].tobytes())
        if digest != rec["input_sha256"]:
            raise RuntimeError("%s: rebuilt input sha256 %s, Arm NN fixture %s"
                               % (rec["file"], digest, rec["input_sha256"]))
        tensors.append(x)
    return fixture["images"], np.stack(tensors)


def header(fixture_name, model_rel, armnn, meta, model_path):
    h = {"generator": "tools/oracle/tflite_fixtures.py"}
    h.update(runtime_fields(meta))
    h.update({
        "date": datetime.date.today().isoformat(),
        "model": model_rel,
        "data": armnn["data"],
        "inputs_from": "tests/fixtures/armnn/%s.json (same images, same order; every input tensor's "
                       "sha256 checked equal to its input_sha256)" % fixture_name,
        "preprocessing": armnn["preprocessing"],
    })
    if os.path.exists(os.path.join(SHARED, "models", model_rel)):
        h["model_sha256"] = A.sha256_file(os.path.join(SHARED, "models", model_rel))
    h.update(io_description(model_path, meta))
    ops = delegated_summary(meta)
    if ops:
        h["operators_run"] = ops
    return h


def write_fixture(name, obj):
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    path = os.path.join(FIXTURE_DIR, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    log("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def model_path(rel):
    return os.path.join(SHARED, "models", rel)


# ---------------------------------------------------------------- classifiers

def classification_records(records, outputs, labels_key="label"):
    out = []
    for rec, o in zip(records, outputs):
        v = o.reshape(-1).astype(np.uint8)
        out.append({"file": rec["file"], "label": rec[labels_key], "input_sha256": rec["input_sha256"],
                    "output_uint8_b64": b64(v.tobytes()), "top5": A.top_k(v)})
    return out


def classifier_fixture(name, model_rel, args):
    armnn = armnn_fixture(name)
    data_dir = os.path.join(SHARED, "data", "imagenet-dev")
    records, x = exact_inputs(armnn, data_dir, A.classification_input)
    run = TfliteRun(model_path(model_rel), x, args.work_dir, profile=True)
    h = header(name, model_rel, armnn, run.meta, model_path(model_rel))
    h["output_encoding"] = A.CLASSIFIER_OUTPUT
    h["top5_rule"] = A.TOP5_RULE
    recs = classification_records(records, [o[0] for o in run.runs])
    h["accuracy"] = A.accuracy(recs)
    h["images"] = recs
    return h, run


def cmd_mnv2(args):
    h, _ = classifier_fixture("mobilenet_v2_1.0_224_quant", "mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite",
                              args)
    write_fixture("mobilenet_v2_1.0_224_quant", h)


def cmd_mnv1(args):
    name = "mobilenet_v1_1.0_224_quant"
    first = "mobilenet_v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
    second = "mobilenet_v1/mobilenet_quant_v1_224_head_layers.tflite"
    armnn = armnn_fixture(name)
    data_dir = os.path.join(SHARED, "data", "imagenet-dev")
    records, x = exact_inputs(armnn, data_dir, A.classification_input)
    run1 = TfliteRun(model_path(first), x, args.work_dir, profile=True)
    seams = np.stack([o[0] for o in run1.runs])
    run2 = TfliteRun(model_path(second), seams, args.work_dir, profile=True)
    h = header(name, first + " -> " + second, armnn, run1.meta, model_path(first))
    del h["inputs"], h["outputs"], h["operators_run"]
    h["models"] = [{"model": rel, "sha256": A.sha256_file(model_path(rel)),
                    **io_description(model_path(rel), r.meta), "operators_run": delegated_summary(r.meta)}
                   for rel, r in ((first, run1), (second, run2))]
    h["seam"] = ("TFLite's own uint8 output of the first file is fed unchanged to the second; its sha256 is "
                 "seam_sha256, seam_equals_armnn says whether Arm NN's seam tensor was the same")
    h["output_encoding"] = A.CLASSIFIER_OUTPUT
    h["top5_rule"] = A.TOP5_RULE
    recs = classification_records(records, [o[0] for o in run2.runs])
    for r, a, s in zip(recs, records, seams):
        r["seam_sha256"] = A.sha256_bytes(s.tobytes())
        r["seam_equals_armnn"] = r["seam_sha256"] == a["seam_sha256"]
    h["seams_equal_to_armnn"] = sum(r["seam_equals_armnn"] for r in recs)
    h["accuracy"] = A.accuracy(recs)
    h["images"] = recs
    write_fixture(name, h)


def cmd_mnv2ptq(args):
    name = "mobilenet_v2_1.0_224_ptq"
    armnn = armnn_fixture(name)
    src = model_path(A.PTQ_MODEL)
    op_index, logits_tensor, logits_q = A.ptq_logits_operator(src)
    truncated = os.path.join(args.work_dir, name + "_logits.tflite")
    A.truncate_graph(src, truncated, op_index + 1, logits_tensor)
    data_dir = os.path.join(SHARED, "data", "imagenet-dev")
    records, x = exact_inputs(armnn, data_dir, A.classification_input)
    full = TfliteRun(src, x, args.work_dir, profile=True)
    logits = TfliteRun(truncated, x, args.work_dir)
    h = header(name, A.PTQ_MODEL, armnn, full.meta, src)
    lq = io_description(truncated, logits.meta)["outputs"][0]
    h["logits"] = {**lq, "note": "a temporary copy (never stored) truncated after operator %d (the RESHAPE "
                                 "before SOFTMAX), its output made the graph output (armnn_fixtures."
                                 "truncate_graph, as for the Arm NN fixture)" % op_index,
                   "file_scale": float(logits_q.scale[0]), "file_zero_point": int(logits_q.zero_point[0])}
    h["output_encoding"] = ("output_uint8_b64: base64 of the raw uint8 model output (1001 values, "
                            "index 0 = background); logits_int8_b64: base64 of the int8 logits")
    h["top5_rule"] = A.TOP5_RULE
    recs = classification_records(records, [o[0] for o in full.runs])
    for r, o in zip(recs, logits.runs):
        r["logits_int8_b64"] = b64(o[0].reshape(-1).astype(np.int8).tobytes())
    h["accuracy"] = A.accuracy(recs)
    h["images"] = recs
    write_fixture(name, h)


# ---------------------------------------------------------------- SSD

def cmd_ssd(args):
    data_dir = os.path.join(SHARED, "data", "coco-dev", "images")
    for name, rel in A.SSD_MODELS.items():
        armnn = armnn_fixture(name)
        records, x = exact_inputs(armnn, data_dir, lambda p: A.stretch_input(p, 300))
        run = TfliteRun(model_path(rel), x, args.work_dir, profile=True)
        names = [o["name"] for o in run.meta["outputs"]]
        h = header(name, rel, armnn, run.meta, model_path(rel))
        h["output_encoding"] = (
            "post-processed outputs of TFLite_Detection_PostProcess as run by TFLite (outputs %s): first "
            "`count` rows of boxes [ymin,xmin,ymax,xmax] normalized, classes 0-based (COCO category_id = "
            "class+1), scores (float32 printed as double)" % names)
        recs = []
        for rec, (boxes, classes, scores, count) in zip(records, run.runs):
            k = int(round(float(count.reshape(-1)[0])))
            recs.append({"file": rec["file"], "input_sha256": rec["input_sha256"], "count": k,
                         "boxes": [[float(v) for v in b] for b in boxes.reshape(-1, 4)[:k]],
                         "classes": [int(round(float(c))) for c in classes.reshape(-1)[:k]],
                         "scores": [float(s) for s in scores.reshape(-1)[:k]]})
        h["images"] = recs
        write_fixture(name, h)


# ---------------------------------------------------------------- DeepLab

def arg_max_as_int32(src, dst):
    """Copy of a TFLite file whose final ARG_MAX outputs int32 instead of
    int64 (the wasm API cannot read int64 tensors; class indices < 21 are the
    same in both). In-place flatbuffer edit of two one-byte fields: the
    ArgMaxOptions output_type and the output tensor's type."""
    from flatbuffers import number_types as N
    buf = bytearray(open(src, "rb").read())
    model = A._fb_table(buf, struct.unpack_from("<I", buf, 0)[0])
    subgraphs_start, _, _ = A._fb_vector(model, 2)
    sg = A._fb_table(buf, model.Indirect(subgraphs_start))
    ops_start, _, nops = A._fb_vector(sg, 3)
    last = A._fb_table(buf, sg.Indirect(ops_start + 4 * (nops - 1)))
    options = A._fb_table(buf, last.Indirect(A._fb_field(last, 4)))
    out_start, _, _ = A._fb_vector(last, 2)
    out_index = last.Get(N.Int32Flags, out_start)
    tensors_start, _, _ = A._fb_vector(sg, 0)
    tensor = A._fb_table(buf, sg.Indirect(tensors_start + 4 * out_index))
    for table, field in ((options, 0), (tensor, 1)):
        pos = A._fb_field(table, field)
        if not pos or buf[pos] != TENSOR_TYPE_INT64:
            raise RuntimeError("%s: the final operator's output is not an int64 ARG_MAX" % src)
        buf[pos] = TENSOR_TYPE_INT32
    with open(dst, "wb") as f:
        f.write(buf)


def deeplab_record(rec, logits, float_logits):
    return A.deeplab_record(rec["file"], rec["input_sha256"], logits, float_logits)


def cmd_deeplab(args):
    data_dir = os.path.join(SHARED, "data", "voc-dev", "images_513")
    for name, (rel, size, float_input) in A.DEEPLAB_MODELS.items():
        armnn = armnn_fixture(name)
        records, x = exact_inputs(armnn, data_dir, lambda p: A.stretch_input(p, size))
        src = model_path(rel)
        if float_input:
            fed = ((x.astype(np.float32) - 127.5) / 127.5).astype(np.float32)
            run = TfliteRun(src, fed, args.work_dir, profile=True)
            h = header(name, rel, armnn, run.meta, src)
            recs = [deeplab_record(r, o[0].reshape(size, size, -1), True)[0] for r, o in zip(records, run.runs)]
            h["output_encoding"] = ("mask: NumPy argmax over the float32 logits (ties -> lowest class), uint8 "
                                    "HxW row-major, zlib + base64; class_pixel_counts, tie_pixels, "
                                    "logits_sha256 and sampled logits logits[::16, ::16, :] (little-endian "
                                    "float32, zlib + base64) as in the Arm NN fixture")
        else:
            stripped = os.path.join(args.work_dir, name + "_no_argmax.tflite")
            logits_index = A.strip_final_arg_max(src, stripped)
            int32_copy = os.path.join(args.work_dir, name + "_argmax_int32.tflite")
            arg_max_as_int32(src, int32_copy)
            logits_run = TfliteRun(stripped, x, args.work_dir, profile=True)
            mask_run = TfliteRun(int32_copy, x, args.work_dir)
            h = header(name, rel, armnn, mask_run.meta, int32_copy)
            h["logits"] = io_description(stripped, logits_run.meta)["outputs"][0]
            h["operators_run"] = delegated_summary(logits_run.meta)
            h["note"] = (
                "two temporary copies of the file (never stored): (1) the final ARG_MAX's output type "
                "changed from int64 to int32 (two one-byte flatbuffer fields; the wasm API cannot read "
                "int64 tensors), giving TFLite's own ARG_MAX mask; (2) the ARG_MAX removed and tensor %d "
                "(uint8 logits) made the output (armnn_fixtures.strip_final_arg_max, as for the Arm NN "
                "fixture), giving the logits" % logits_index)
            h["output_encoding"] = (
                "mask_zlib_b64: TFLite's ARG_MAX output (uint8 HxW row-major, zlib + base64); "
                "logits_argmax_equal_pixels: pixels where NumPy's argmax of the logits (ties -> lowest "
                "class) equals it; class_pixel_counts of the ARG_MAX mask; tie_pixels, logits_sha256 and "
                "sampled logits logits[::16, ::16, :] (uint8, zlib + base64) as in the Arm NN fixture")
            recs = []
            for r, lo, mo in zip(records, logits_run.runs, mask_run.runs):
                rec, np_mask = deeplab_record(r, lo[0].reshape(size, size, -1), False)
                mask = mo[0].reshape(size, size)
                if mask.min() < 0 or mask.max() >= lo[0].shape[-1]:
                    raise RuntimeError("%s: ARG_MAX output out of range" % r["file"])
                mask = mask.astype(np.uint8)
                rec["mask_zlib_b64"] = zlib_b64(mask)
                rec["class_pixel_counts"] = [int(c) for c in np.bincount(mask.reshape(-1),
                                                                         minlength=lo[0].shape[-1])]
                rec["logits_argmax_equal_pixels"] = int((mask == np_mask).sum())
                recs.append(rec)
        h["images"] = recs
        write_fixture(name, h)


COMMANDS = {"mnv2": cmd_mnv2, "mnv1": cmd_mnv1, "mnv2ptq": cmd_mnv2ptq, "ssd": cmd_ssd, "deeplab": cmd_deeplab}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", default="/tmp/tflite_oracle_work",
                    help="temporary model copies and tensor files (not committed)")
    ap.add_argument("cmd", choices=list(COMMANDS) + ["all"])
    args = ap.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    for name in (COMMANDS if args.cmd == "all" else [args.cmd]):
        log("%s ..." % name)
        COMMANDS[name](args)


if __name__ == "__main__":
    main()
