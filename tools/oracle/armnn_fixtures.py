#!/usr/bin/python3
"""Runs the original pretrained .tflite models under Arm NN's CpuRef backend
(an implementation independent of both TFLite and mnet) and stores their
outputs as small JSON test fixtures under tests/fixtures/armnn/.

Sub-commands, one per model family (run them one at a time: CpuRef is slow):
  mnv2      MobileNet V2 1.0/224 uint8 on imagenet-dev
  mnv1      MobileNet V1 1.0/224 uint8, embedding extractor -> head layers
  mnv2ptq   MobileNet V2 1.0/224 int8 per-channel PTQ (TF2), first 40 imagenet-dev
            images: uint8 output and the int8 logits before the softmax
  ssd       SSD MobileNet V1 and V2 COCO (post-processed outputs) on coco-dev
  deeplab   the three DeepLabv3 files on voc-dev/images_513

Results are appended per image to a JSON-lines work file in --work-dir, so a
re-run resumes where a crash left off; the fixture is assembled at the end.
See tools/oracle/README.md for how the committed fixtures were produced.
"""
import argparse
import csv
import datetime
import hashlib
import json
import os
import sys
import time

import numpy as np
from PIL import Image

from fixture_codec import b64, zlib_b64  # the fixtures' array encoding, shared with the tests

SHARED = os.environ.get("MNET_SHARED_DIR", "/work/shared")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE_DIR = os.path.join(REPO, "tests", "fixtures", "armnn")
ARMNN_VERSION = "Arm NN 20.08 (Debian libarmnn22 20.08-12, python3-pyarmnn), backend CpuRef"
CROP_FRACTION = 0.875
# armnn::DataType values of Arm NN 20.08 that these models use
ARMNN_DTYPES = {0: "float16", 1: "float32", 2: "uint8 (QAsymmU8)", 3: "int32", 8: "int8 (QAsymmS8)"}
INPUT_SAMPLES = 3  # images whose exact input tensor is stored as .bin


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


# ---------------------------------------------------------------- preprocessing

def center_crop_box(width, height, fraction=CROP_FRACTION):
    """Square crop of side floor(fraction * min(w, h) + 0.5), offset by
    floor((w - side) / 2) and floor((h - side) / 2): explicit half-up rounding,
    not Python's round() (which rounds halves to even)."""
    side = int(np.floor(fraction * min(width, height) + 0.5))
    left = (width - side) // 2
    top = (height - side) // 2
    return (left, top, left + side, top + side)


def classification_input(path, size=224):
    img = Image.open(path).convert("RGB")
    img = img.crop(center_crop_box(*img.size))
    img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8).copy()


def stretch_input(path, size):
    img = Image.open(path).convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8).copy()


# ---------------------------------------------------------------- Arm NN

class ArmnnModel:
    """One .tflite file loaded on CpuRef; run() maps input arrays to outputs."""

    def __init__(self, path):
        import pyarmnn as ann
        self.ann = ann
        self.parser = ann.ITfLiteParser()
        network = self.parser.CreateNetworkFromBinaryFile(path)
        self.input_names = list(self.parser.GetSubgraphInputTensorNames(0))
        self.output_names = list(self.parser.GetSubgraphOutputTensorNames(0))
        self.input_bindings = [self.parser.GetNetworkInputBindingInfo(0, n) for n in self.input_names]
        self.output_bindings = [self.parser.GetNetworkOutputBindingInfo(0, n) for n in self.output_names]
        self.runtime = ann.IRuntime(ann.CreationOptions())
        optimized, _ = ann.Optimize(network, [ann.BackendId("CpuRef")],
                                    self.runtime.GetDeviceSpec(), ann.OptimizerOptions())
        self.net_id, _ = self.runtime.LoadNetwork(optimized)

    @staticmethod
    def describe(name, binding):
        info = binding[1]
        return {
            "name": name,
            "shape": [info.GetShape()[i] for i in range(info.GetNumDimensions())],
            "dtype": ARMNN_DTYPES.get(int(info.GetDataType()), "armnn DataType %d" % int(info.GetDataType())),
            "scale": float(info.GetQuantizationScale()),
            "zero_point": int(info.GetQuantizationOffset()),
        }

    def io_description(self):
        return {
            "inputs": [self.describe(n, b) for n, b in zip(self.input_names, self.input_bindings)],
            "outputs": [self.describe(n, b) for n, b in zip(self.output_names, self.output_bindings)],
        }

    def run(self, *inputs):
        ann = self.ann
        in_tensors = ann.make_input_tensors(self.input_bindings, [np.ascontiguousarray(x) for x in inputs])
        out_tensors = ann.make_output_tensors(self.output_bindings)
        self.runtime.EnqueueWorkload(self.net_id, in_tensors, out_tensors)
        return [np.array(a) for a in ann.workload_tensors_to_ndarray(out_tensors)]


# ---------------------------------------------------------------- incremental work file

class WorkLog:
    """JSON-lines file of finished per-image records, keyed by file name."""

    def __init__(self, path):
        self.path = path
        self.done = {}
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        rec = json.loads(line)
                        self.done[rec["file"]] = rec

    def add(self, rec):
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.done[rec["file"]] = rec


def write_fixture(name, obj):
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    path = os.path.join(FIXTURE_DIR, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
    log("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def write_input_sample(name, tensor):
    d = os.path.join(FIXTURE_DIR, "inputs")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    data = tensor.tobytes()
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() != data:
                raise RuntimeError("input sample %s differs from the one already stored" % path)
        return
    with open(path, "wb") as f:
        f.write(data)


def common_header(model_rel, data_dir, preprocessing):
    header = {
        "generator": "tools/oracle/armnn_fixtures.py",
        "runtime": ARMNN_VERSION,
        "date": datetime.date.today().isoformat(),
        "model": model_rel,
        "data": os.path.relpath(data_dir, SHARED),
        "preprocessing": preprocessing,
    }
    if os.path.exists(os.path.join(SHARED, "models", model_rel)):  # not for a chain of files
        header["model_sha256"] = sha256_file(os.path.join(SHARED, "models", model_rel))
    return header


# ---------------------------------------------------------------- classification

CLASSIFICATION_PREPROCESSING = (
    "PIL Image.open().convert('RGB'); center crop box: side = floor(0.875*min(w,h)+0.5), "
    "left = (w-side)//2, top = (h-side)//2, crop (left, top, left+side, top+side); "
    "Image.resize((224,224), Image.BILINEAR) (PIL's antialiased bilinear); uint8 HWC RGB, "
    "fed unchanged to the uint8 model input")


TOP5_RULE = "indices by descending uint8 score, ties broken by lower index"
CLASSIFIER_OUTPUT = "output_uint8_b64: base64 of the raw uint8 output vector (1001 values, index 0 = background)"


def top_k(vector, k=5):
    """Indices by descending score, ties broken by lower index (stable)."""
    order = sorted(range(len(vector)), key=lambda i: (-int(vector[i]), i))
    return order[:k]


def imagenet_images():
    data_dir = os.path.join(SHARED, "data", "imagenet-dev")
    labels = {}
    with open(os.path.join(data_dir, "labels.csv")) as f:
        for row in csv.DictReader(f):
            labels[row["file"]] = int(row["class_index_1001_with_background"])
    files = sorted(labels)
    return data_dir, files, labels


def accuracy(records):
    """Top-1 and top-5 of classification records against their labels."""
    n = len(records)
    return {"images": n, "top1": sum(r["top5"][0] == r["label"] for r in records) / n,
            "top5": sum(r["label"] in r["top5"] for r in records) / n,
            "labels": "labels.csv column class_index_1001_with_background"}


def classify_images(fixture_name, files, work_dir, outputs):
    """Each imagenet-dev image of `files`, preprocessed to x [1, 224, 224, 3]
    (the first INPUT_SAMPLES stored as .bin), through outputs(x) -> (uint8
    output vector, {further fields}): per image a record of the file, its
    input_sha256, the output (base64), the fields, top-5 and label, kept in the
    resumable work file. Returns the records in the order of `files`."""
    data_dir, _, labels = imagenet_images()
    work = WorkLog(os.path.join(work_dir, fixture_name + ".jsonl"))
    for n, fname in enumerate(files):
        if fname in work.done:
            continue
        t0 = time.time()
        x = classification_input(os.path.join(data_dir, fname))[None]
        if n < INPUT_SAMPLES:
            write_input_sample("imagenet_224_%s.bin" % os.path.splitext(fname)[0], x)
        out, fields = outputs(x)
        rec = {"file": fname, "input_sha256": sha256_bytes(x.tobytes()),
               "output_uint8_b64": b64(out.tobytes()), **fields, "top5": top_k(out),
               "label": labels[fname]}
        work.add(rec)
        log("%s %d/%d %s top1=%d label=%d %.1fs" % (fixture_name, n + 1, len(files), fname,
                                                    rec["top5"][0], labels[fname], time.time() - t0))
    return [work.done[f] for f in files]


def finish_classifier_header(header, files, records, output_encoding):
    """The fields every classification fixture ends with, the records last."""
    header["input_samples"] = ["inputs/imagenet_224_%s.bin" % os.path.splitext(f)[0]
                               for f in files[:INPUT_SAMPLES]]
    header["output_encoding"] = output_encoding
    header["top5_rule"] = TOP5_RULE
    header["accuracy"] = accuracy(records)
    header["images"] = records


def run_classifier(fixture_name, model_rels, work_dir, limit):
    data_dir, files, _ = imagenet_images()
    if limit:
        files = files[:limit]
    models = [ArmnnModel(os.path.join(SHARED, "models", m)) for m in model_rels]

    def outputs(x):
        tensor, fields = x, {}
        for i, m in enumerate(models):
            tensor = m.run(tensor)[0]
            if i + 1 < len(models):
                fields["seam_sha256"] = sha256_bytes(tensor.tobytes())
        return tensor.reshape(-1).astype(np.uint8), fields

    records = classify_images(fixture_name, files, work_dir, outputs)
    header = common_header(model_rels[0] if len(model_rels) == 1 else " -> ".join(model_rels),
                           data_dir, CLASSIFICATION_PREPROCESSING)
    header["models"] = [{"model": m, "sha256": sha256_file(os.path.join(SHARED, "models", m)),
                         **mod.io_description()} for m, mod in zip(model_rels, models)]
    finish_classifier_header(header, files, records, CLASSIFIER_OUTPUT)
    write_fixture(fixture_name + ".json", header)
    log("%s top1=%.3f top5=%.3f" % (fixture_name, header["accuracy"]["top1"], header["accuracy"]["top5"]))


def cmd_mnv2(args):
    run_classifier("mobilenet_v2_1.0_224_quant", ["mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"],
                   args.work_dir, args.limit)


def cmd_mnv1(args):
    run_classifier("mobilenet_v1_1.0_224_quant",
                   ["mobilenet_v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
                    "mobilenet_v1/mobilenet_quant_v1_224_head_layers.tflite"],
                   args.work_dir, args.limit)


# ---------------------------------------------------------------- int8 PTQ MobileNet V2

PTQ_MODEL = "mobilenet_v2/tf2_mobilenet_v2_1.0_224_ptq.tflite"
PTQ_IMAGES = 40


def truncate_graph(src, dst, keep_ops, output_tensor):
    """Writes a copy of a one-subgraph, one-output TFLite file that keeps only
    its first `keep_ops` operators and outputs tensor `output_tensor` instead
    (in-place flatbuffer edit: shrink the operators vector, overwrite the
    one-element outputs vector)."""
    import struct
    buf = bytearray(open(src, "rb").read())
    model = _fb_table(buf, struct.unpack_from("<I", buf, 0)[0])
    subgraphs_start, _, nsub = _fb_vector(model, 2)
    if nsub != 1:
        raise RuntimeError("expected 1 subgraph, found %d" % nsub)
    sg = _fb_table(buf, model.Indirect(subgraphs_start))
    _, ops_len_pos, nops = _fb_vector(sg, 3)
    out_start, _, nout = _fb_vector(sg, 2)
    if nout != 1 or not 0 < keep_ops <= nops:
        raise RuntimeError("cannot truncate %s to %d of %d operators" % (src, keep_ops, nops))
    struct.pack_into("<i", buf, out_start, output_tensor)
    struct.pack_into("<I", buf, ops_len_pos, keep_ops)
    with open(dst, "wb") as f:
        f.write(buf)


def ptq_logits_operator(path):
    """(index, output tensor) of the RESHAPE feeding the final SOFTMAX."""
    sys.path.insert(0, os.path.join(REPO, "tools", "convert"))
    import tflite_reader
    graph = tflite_reader.read_tflite(path)
    softmax = [op for op in graph.operators if op.opcode == "SOFTMAX"]
    if len(softmax) != 1:
        raise RuntimeError("%s: expected one SOFTMAX" % path)
    source = [op for op in graph.operators if softmax[0].inputs[0] in op.outputs][0]
    return source.index, source.outputs[0], graph.tensors[source.outputs[0]].quantization


def cmd_mnv2ptq(args):
    fixture_name = "mobilenet_v2_1.0_224_ptq"
    src = os.path.join(SHARED, "models", PTQ_MODEL)
    op_index, logits_tensor, logits_q = ptq_logits_operator(src)
    truncated = os.path.join(args.work_dir, fixture_name + "_logits.tflite")
    truncate_graph(src, truncated, op_index + 1, logits_tensor)
    data_dir, files, _ = imagenet_images()
    files = files[:args.limit or PTQ_IMAGES]
    full, logits_model = ArmnnModel(src), ArmnnModel(truncated)

    def outputs(x):
        out = full.run(x)[0].reshape(-1).astype(np.uint8)
        logits = logits_model.run(x)[0].reshape(-1).astype(np.int8)
        return out, {"logits_int8_b64": b64(logits.tobytes())}

    records = classify_images(fixture_name, files, args.work_dir, outputs)
    header = common_header(PTQ_MODEL, data_dir, CLASSIFICATION_PREPROCESSING)
    header["models"] = [{"model": PTQ_MODEL, "sha256": sha256_file(src), **full.io_description()}]
    header["logits"] = {**logits_model.io_description()["outputs"][0],
                        "note": "a temporary copy (never stored) truncated after operator %d "
                                "(the RESHAPE before SOFTMAX), its output made the graph output"
                                % op_index,
                        "file_scale": float(logits_q.scale[0]),
                        "file_zero_point": int(logits_q.zero_point[0])}
    finish_classifier_header(header, files, records,
                             "output_uint8_b64: base64 of the raw uint8 model output (1001 values, "
                             "index 0 = background); logits_int8_b64: base64 of the int8 logits")
    write_fixture(fixture_name + ".json", header)


# ---------------------------------------------------------------- SSD

SSD_MODELS = {
    "ssd_mobilenet_v1_coco": "ssd_mobilenet_v1_coco/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite",
    "ssd_mobilenet_v2_coco": "ssd_mobilenet_v2_coco/ssd_mobilenet_v2_coco_quant_postprocess.tflite",
}
SSD_PREPROCESSING = ("PIL Image.open().convert('RGB'); Image.resize((300,300), Image.BILINEAR) "
                     "(stretch, aspect ratio not kept; PIL's antialiased bilinear); uint8 HWC RGB fed unchanged")
SSD_INPUT_SAMPLES = 1


def run_ssd(fixture_name, model_rel, work_dir, limit):
    data_dir = os.path.join(SHARED, "data", "coco-dev", "images")
    files = sorted(f for f in os.listdir(data_dir) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if limit:
        files = files[:limit]
    model = ArmnnModel(os.path.join(SHARED, "models", model_rel))
    work = WorkLog(os.path.join(work_dir, fixture_name + ".jsonl"))
    for n, fname in enumerate(files):
        if fname in work.done:
            continue
        t0 = time.time()
        x = stretch_input(os.path.join(data_dir, fname), 300)[None]
        if n < SSD_INPUT_SAMPLES:
            write_input_sample("coco_300_%s.bin" % os.path.splitext(fname)[0], x)
        boxes, classes, scores, count = model.run(x)
        k = int(round(float(np.asarray(count).reshape(-1)[0])))
        rec = {
            "file": fname,
            "input_sha256": sha256_bytes(x.tobytes()),
            "count": k,
            "boxes": [[float(v) for v in b] for b in boxes.reshape(-1, 4)[:k]],
            "classes": [int(round(float(c))) for c in classes.reshape(-1)[:k]],
            "scores": [float(s) for s in scores.reshape(-1)[:k]],
        }
        work.add(rec)
        log("%s %d/%d %s count=%d best=%s %.1fs" % (fixture_name, n + 1, len(files), fname, k,
                                                    rec["scores"][:1], time.time() - t0))
    header = common_header(model_rel, data_dir, SSD_PREPROCESSING)
    header.update(model.io_description())
    header["input_samples"] = ["inputs/coco_300_%s.bin" % os.path.splitext(f)[0]
                               for f in files[:SSD_INPUT_SAMPLES]]
    header["output_encoding"] = ("post-processed outputs of TFLite_Detection_PostProcess as run by Arm NN: "
                                 "first `count` rows of boxes [ymin,xmin,ymax,xmax] normalized to [0,1], "
                                 "classes 0-based (COCO category_id = class+1), scores (float32 printed as double)")
    header["images"] = [work.done[f] for f in files]
    write_fixture(fixture_name + ".json", header)


def cmd_ssd(args):
    for name, rel in SSD_MODELS.items():
        run_ssd(name, rel, args.work_dir, args.limit)


# ---------------------------------------------------------------- DeepLab

DEEPLAB_MODELS = {
    # name: (model, input size, float input?)
    "deeplabv3_257_mv_gpu": ("deeplabv3_mnv2_pascal/deeplabv3_257_mv_gpu.tflite", 257, True),
    "deeplabv3_mnv2_dm05_pascal_quant": ("deeplabv3_mnv2_pascal/deeplabv3_mnv2_dm05_pascal_quant.tflite", 513, False),
    "deeplabv3_mnv2_pascal_quant": ("deeplabv3_mnv2_pascal/deeplabv3_mnv2_pascal_quant.tflite", 513, False),
}
DEEPLAB_SAMPLE_STRIDE = 16  # logits kept at every 16th pixel row/column (from 0)
TFLITE_ARG_MAX = 56


def _fb_table(buf, pos):
    from flatbuffers.table import Table
    return Table(buf, pos)


def _fb_field(table, index):
    """Absolute position of a table field, or 0 when absent."""
    o = table.Offset(4 + 2 * index)
    return table.Pos + o if o else 0


def _fb_vector(table, index):
    """(position of first element, length position, length) of a vector field."""
    o = table.Offset(4 + 2 * index)
    start = table.Vector(o)
    return start, start - 4, table.VectorLen(o)


def strip_final_arg_max(src, dst):
    """Writes a copy of a TFLite file whose last operator ARG_MAX is dropped and
    whose single subgraph output becomes that operator's input (the uint8
    logits). In-place flatbuffer edit: shrink the operators vector by one and
    overwrite the one-element outputs vector. Returns the logits tensor index."""
    import struct
    from flatbuffers import number_types as N
    buf = bytearray(open(src, "rb").read())
    model = _fb_table(buf, struct.unpack_from("<I", buf, 0)[0])
    codes_start, _, ncodes = _fb_vector(model, 1)
    subgraphs_start, _, nsub = _fb_vector(model, 2)
    if nsub != 1:
        raise RuntimeError("expected 1 subgraph, found %d" % nsub)
    sg = _fb_table(buf, model.Indirect(subgraphs_start))
    ops_start, ops_len_pos, nops = _fb_vector(sg, 3)
    last = _fb_table(buf, sg.Indirect(ops_start + 4 * (nops - 1)))
    code_pos = _fb_field(last, 0)
    code_index = last.Get(N.Uint32Flags, code_pos) if code_pos else 0
    code = _fb_table(buf, model.Indirect(codes_start + 4 * code_index))
    builtin = max(code.Get(N.Int8Flags, _fb_field(code, 0)) if _fb_field(code, 0) else 0,
                  code.Get(N.Int32Flags, _fb_field(code, 3)) if _fb_field(code, 3) else 0)
    if builtin != TFLITE_ARG_MAX:
        raise RuntimeError("last operator of %s is builtin %d, not ARG_MAX" % (src, builtin))
    op_inputs_start, _, _ = _fb_vector(last, 1)
    logits = last.Get(N.Int32Flags, op_inputs_start)
    out_start, _, nout = _fb_vector(sg, 2)
    if nout != 1:
        raise RuntimeError("expected 1 subgraph output, found %d" % nout)
    struct.pack_into("<i", buf, out_start, logits)
    struct.pack_into("<I", buf, ops_len_pos, nops - 1)
    with open(dst, "wb") as f:
        f.write(buf)
    return logits


def deeplab_record(file, input_sha256, logits, float_logits):
    """A DeepLab fixture record of one image's HxWxC logits (float32 or uint8)
    and the argmax mask it gives (ties -> lowest class): (record, mask)."""
    mask = np.argmax(logits, axis=-1).astype(np.uint8)
    top2 = np.sort(logits, axis=-1)[:, :, -2:]
    sampled = np.ascontiguousarray(logits[::DEEPLAB_SAMPLE_STRIDE, ::DEEPLAB_SAMPLE_STRIDE, :])
    rec = {
        "file": file,
        "input_sha256": input_sha256,
        "mask_shape": list(mask.shape),
        "mask_zlib_b64": zlib_b64(mask),
        "class_pixel_counts": [int(c) for c in np.bincount(mask.reshape(-1), minlength=logits.shape[-1])],
        "tie_pixels": int(np.count_nonzero(top2[:, :, 0] == top2[:, :, 1])),
        "logits_sha256": sha256_bytes(np.ascontiguousarray(logits).tobytes()),
        "sampled_logits_shape": list(sampled.shape),
    }
    if float_logits:
        rec["sampled_logits_f32_zlib_b64"] = zlib_b64(sampled.astype("<f4"))
    else:
        rec["sampled_logits_u8_zlib_b64"] = zlib_b64(sampled.astype(np.uint8))
    return rec, mask


def run_deeplab(fixture_name, model_rel, size, float_input, work_dir):
    data_dir = os.path.join(SHARED, "data", "voc-dev", "images_513")
    files = sorted(f for f in os.listdir(data_dir) if f.endswith(".png"))
    src = os.path.join(SHARED, "models", model_rel)
    note = None
    if float_input:
        path = src
    else:
        path = os.path.join(work_dir, fixture_name + "_no_argmax.tflite")
        logits_index = strip_final_arg_max(src, path)
        note = ("Arm NN 20.08 has no ARG_MAX: a temporary copy (never stored) had its final ARG_MAX removed "
                "and tensor %d (uint8 logits) made the output; argmax taken in NumPy (ties -> lowest class)"
                % logits_index)
    model = ArmnnModel(path)
    work = WorkLog(os.path.join(work_dir, fixture_name + ".jsonl"))
    for fname in files:
        if fname in work.done:
            continue
        t0 = time.time()
        x = stretch_input(os.path.join(data_dir, fname), size)[None]
        fed = ((x.astype(np.float32) - 127.5) / 127.5) if float_input else x
        logits = model.run(fed)[0].reshape(size, size, -1)
        rec, _ = deeplab_record(fname, sha256_bytes(x.tobytes()), logits, float_input)
        work.add(rec)
        log("%s %s counts=%s ties=%d %.1fs" % (fixture_name, fname, rec["class_pixel_counts"],
                                              rec["tie_pixels"], time.time() - t0))
    prep = "PIL Image.open().convert('RGB') of the 513x513 PNG"
    if size != 513:
        prep += "; Image.resize((%d,%d), Image.BILINEAR) (PIL's antialiased bilinear)" % (size, size)
    prep += ("; float32 (p - 127.5) / 127.5 HWC RGB" if float_input else "; uint8 HWC RGB fed unchanged")
    header = common_header(model_rel, data_dir, prep)
    header.update(model.io_description())
    if note:
        header["note"] = note
    header["output_encoding"] = (
        "mask: argmax over the %s logits (ties -> lowest class index), uint8 HxW row-major, zlib + base64; "
        "class_pixel_counts: pixels per class 0..20; tie_pixels: pixels whose two best logits are equal; "
        "logits_sha256: of the full logits tensor as produced (%s, HxWxC); sampled logits: "
        "logits[::%d, ::%d, :] zlib + base64 (%s)" % (
            "float32" if float_input else "uint8", "float32" if float_input else "uint8",
            DEEPLAB_SAMPLE_STRIDE, DEEPLAB_SAMPLE_STRIDE, "little-endian float32" if float_input else "uint8"))
    header["images"] = [work.done[f] for f in files]
    write_fixture(fixture_name + ".json", header)


def cmd_deeplab(args):
    for name, (rel, size, float_input) in DEEPLAB_MODELS.items():
        run_deeplab(name, rel, size, float_input, args.work_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", default="/tmp/oracle_work",
                    help="per-image JSON-lines results (resume state); not committed")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (0 = all)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fn in COMMANDS.items():
        sub.add_parser(name).set_defaults(fn=fn)
    args = ap.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    args.fn(args)


COMMANDS = {"mnv2": cmd_mnv2, "mnv1": cmd_mnv1, "mnv2ptq": cmd_mnv2ptq, "ssd": cmd_ssd, "deeplab": cmd_deeplab}

if __name__ == "__main__":
    main()
