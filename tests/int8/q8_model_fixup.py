"""Copies a bundled model, adding the quantization the int8 path needs but
the bundled file may lack: for MobileNet V2 blocks with a residual add, the
projection's own output ("block{i}/project", before the ADD). The bundled
converter records only the ADD's output under "block{i}/output". Values come
from the original .tflite through tools/convert's reader; tensor data are
copied unchanged, only the header's metadata grows."""

import json
import os
import struct
import sys


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def quantization(path):
    """The model's "mnet.quantization" metadata (scales and zero points), parsed."""
    header, _ = read_header(path)
    return json.loads(header["__metadata__"]["mnet.quantization"])


def write_model(path, header, data):
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)


def projection_quantization(tflite_path, source_dir):
    sys.path.insert(0, os.path.join(source_dir, "tools", "convert"))
    import tflite_graph
    import tflite_reader
    graph = tflite_graph.recognize(tflite_reader.read_tflite(tflite_path))
    out = {}
    for layer in graph.layers:
        if layer.name.endswith(".project"):
            block = int(layer.name.split(".")[1])
            if block in graph.residual_outputs:
                q = layer.output.quantization
                out["block%d/project" % block] = {"scale": float(q.scale[0]),
                                                  "zero_point": int(q.zero_point[0])}
    return out


def needs_fixup(model_path):
    header, _ = read_header(model_path)
    meta = header["__metadata__"]
    if "mnet.quantization" not in meta:
        return False
    config = json.loads(meta["mnet.config"])
    if config["architecture"] != "mobilenet_v2":
        return False
    acts = json.loads(meta["mnet.quantization"])["activations"]
    return not any(k.endswith("/project") for k in acts)


def fixup(model_path, tflite_path, out_path, source_dir):
    header, data = read_header(model_path)
    meta = header["__metadata__"]
    q = json.loads(meta["mnet.quantization"])
    q["activations"].update(projection_quantization(tflite_path, source_dir))
    meta["mnet.quantization"] = json.dumps(q)
    write_model(out_path, header, data)
