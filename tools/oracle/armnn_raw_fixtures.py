#!/usr/bin/python3
"""Raw uint8 outputs of the quantized SSD detectors under Arm NN CpuRef, as a
small fixture for exact element comparisons of mnet's int8 path
(tests/int8/test_int8_detect_segment_vs_armnn.py).

For each model, two truncated copies of the .tflite (as
armnn_fixtures.truncate_graph, with the outputs vector cut to one) end at the tensors the post-process operator
reads: the concatenated box encodings (the RESHAPE "Squeeze") and the scores
(the LOGISTIC output). The first IMAGES COCO dev images, stretched to 300x300
as in armnn_fixtures.py, go through both; the uint8 tensors are stored zlib +
base64 in tests/fixtures/armnn/<model>_raw.json.

Usage: /usr/bin/python3 tools/oracle/armnn_raw_fixtures.py [IMAGES]
Arm NN's reference backend takes several seconds per run."""
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "convert"))

import armnn_fixtures as af  # noqa: E402
from fixture_codec import zlib_b64  # noqa: E402
import tflite_reader  # noqa: E402

MODELS = [("ssd_mobilenet_v1_coco_raw.json",
           "ssd_mobilenet_v1_coco/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite"),
          ("ssd_mobilenet_v2_coco_raw.json",
           "ssd_mobilenet_v2_coco/ssd_mobilenet_v2_coco_quant_postprocess.tflite")]


def cut_points(path):
    """(ops to keep, tensor) for the box encodings and the scores."""
    model = tflite_reader.read_tflite(path)
    post = [op for op in model.operators if op.opcode == "CUSTOM:TFLite_Detection_PostProcess"][0]
    boxes, scores = post.inputs[0], post.inputs[1]
    producer = {o: op.index for op in model.operators for o in op.outputs}
    return (producer[boxes] + 1, boxes), (producer[scores] + 1, scores)


def truncate(src, dst, keep_ops, output_tensor):
    """armnn_fixtures.truncate_graph for a graph with several outputs: the
    outputs vector is cut to one element as well."""
    import struct
    buf = bytearray(open(src, "rb").read())
    model = af._fb_table(buf, struct.unpack_from("<I", buf, 0)[0])
    subgraphs_start, _, nsub = af._fb_vector(model, 2)
    if nsub != 1:
        raise RuntimeError("expected 1 subgraph, found %d" % nsub)
    sg = af._fb_table(buf, model.Indirect(subgraphs_start))
    _, ops_len_pos, nops = af._fb_vector(sg, 3)
    out_start, out_len_pos, nout = af._fb_vector(sg, 2)
    if nout < 1 or not 0 < keep_ops <= nops:
        raise RuntimeError("cannot truncate %s to %d of %d operators" % (src, keep_ops, nops))
    struct.pack_into("<i", buf, out_start, output_tensor)
    struct.pack_into("<I", buf, out_len_pos, 1)
    struct.pack_into("<I", buf, ops_len_pos, keep_ops)
    with open(dst, "wb") as f:
        f.write(buf)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    data_dir = os.path.join(af.SHARED, "data", "coco-dev", "images")
    files = sorted(f for f in os.listdir(data_dir) if f.lower().endswith((".jpg", ".jpeg")))[:count]
    for fixture, rel in MODELS:
        src = os.path.join(af.SHARED, "models", rel)
        header = af.common_header(rel, data_dir, af.SSD_PREPROCESSING)
        header["generator"] = "tools/oracle/armnn_raw_fixtures.py"
        header["output_encoding"] = ("uint8 inputs of TFLite_Detection_PostProcess as Arm NN "
                                     "computes them: box encodings [anchors, 4] and scores (the "
                                     "LOGISTIC output) [anchors, classes + 1], zlib + base64")
        images = []
        with tempfile.TemporaryDirectory() as tmp:
            runners = []
            for name, (keep, tensor) in zip(("boxes", "scores"), cut_points(src)):
                path = os.path.join(tmp, name + ".tflite")
                truncate(src, path, keep, tensor)
                runners.append((name, af.ArmnnModel(path)))
            header["outputs"] = [m.describe(m.output_names[0], m.output_bindings[0])
                                 for _, m in runners]
            for fname in files:
                t0 = time.time()
                x = af.stretch_input(os.path.join(data_dir, fname), 300)[None]
                rec = {"file": fname, "input_sha256": af.sha256_bytes(x.tobytes())}
                for name, m in runners:
                    (out,) = m.run(x)
                    out = np.asarray(out, np.uint8)
                    rec[name + "_shape"] = list(out.shape[1:])
                    rec[name + "_u8_zlib_b64"] = zlib_b64(out)
                images.append(rec)
                af.log("%s %s %.1fs" % (fixture, fname, time.time() - t0))
        header["images"] = images
        af.write_fixture(fixture, header)


if __name__ == "__main__":
    main()
